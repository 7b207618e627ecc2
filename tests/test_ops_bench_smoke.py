"""Smoke test of the mask-operation benchmark (benchmarks/ops.py): every case runs on two
small masks of each input, and the decode -> OpenCV -> encode path must give turborle's
pixels wherever the two compute the same thing, so the benchmark cannot rot unnoticed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("cv2")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import ops as bench  # noqa: E402

# Where the decode path is not the same computation: OpenCV orders components of equal size
# differently (largest), rounds nearest-exact in fixed point (resize), or traces contours
# (to_polygons: no mask to compare).
DIFFERENT = ("largest", "resize")

PEER_WARNINGS = pytest.mark.filterwarnings("ignore::DeprecationWarning:(rlemasklib|cv2)")


@PEER_WARNINGS
def test_every_case_runs_and_the_decode_path_agrees(tmp_path, capsys):
    out = tmp_path / "rows.json"
    assert bench.main(["--masks", "2", "--size", "48", "--repeat", "1", "--runs", "2",
                       "--json", str(out)]) == 0
    import json

    report = json.loads(out.read_text())
    rows = report["rows"]
    assert {r["input"] for r in rows} == {"sam", "noisy"}
    assert len(rows) == 2 * len(bench.cases(48))
    assert [len(run) for run in report["runs"]] == [len(rows)] * 2
    for row, first, second in zip(rows, *report["runs"]):
        assert row["turborle_1t"] > 0 and row["turborle_2t"] > 0
        # the median of two runs' times lies between them; ratios are kept per run
        assert min(first["turborle_1t"], second["turborle_1t"]) <= row["turborle_1t"] <= max(
            first["turborle_1t"], second["turborle_1t"])
        if "decode" in row:
            assert row["ratios_decode"] == [first["decode"] / first["turborle_1t"],
                                            second["decode"] / second["turborle_1t"]]
        if not row["case"].startswith(DIFFERENT):
            assert not [c for c in row["checks"] if c.startswith("decode path")], row
    assert "| operation |" in capsys.readouterr().out
