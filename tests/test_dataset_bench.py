"""Smoke test of the dataset benchmark (benchmarks/dataset_bench.py) on a tiny dataset: the
usual way and turborle's job run once each and must write the same masks, areas and boxes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("pycocotools")
pytest.importorskip("orjson")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import dataset_bench, dataset_gen  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")


@pytest.mark.parametrize("usual", ["usual", "usual-decode"])
def test_usual_way_and_turborle_agree(tmp_path, usual):
    data = tmp_path / "data"
    stats = dataset_gen.write_sa1b_like(data, 12, masks_per_image=(3, 9), pool_size=None, seed=4)
    turbo = dataset_bench.run_variant("local", str(data), str(tmp_path / "local"))
    other = dataset_bench.run_variant(usual, str(data), str(tmp_path / usual))
    assert turbo["masks"] == other["masks"] == stats["masks"]
    dataset_bench.check_same_rows(tmp_path / usual, tmp_path / "local")
    report = dataset_bench.summarize({"local": [turbo], usual: [other]}, stats)
    assert report[f"speedup_per_core_vs_{usual}"] >= 0  # (tiny inputs: no speed claim)
