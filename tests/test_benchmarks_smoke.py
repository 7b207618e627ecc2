"""Smoke test of the speed benchmarks (benchmarks/): every case runs once on tiny inputs.

The benchmarks themselves are not part of the default test run. This runs the same
per-library callables once each, on a few 32x48 masks, and checks every result against
pycocotools, so a benchmark cannot rot unnoticed. Libraries that are not installed (only
pycocotools is required here) are skipped; pytest-benchmark is not needed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

try:
    import pycocotools.mask  # noqa: F401
except ImportError:
    pytest.skip("pycocotools not installed", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import masks, run, suite  # noqa: E402

CASES = suite.cases("smoke")

# Deprecation warnings raised inside the peer libraries (pycocotools' decode warns under
# numpy 2) are theirs, not ours; turborle's own warnings still fail the test.
PEER_WARNINGS = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning:(pycocotools|rlemasklib|hotcoco|faster_coco_eval|ultrafast_pycocotools)")


@PEER_WARNINGS
@pytest.mark.parametrize(("op", "shape", "impl", "threads"), CASES,
                         ids=[suite.case_id(*c) for c in CASES])
def test_case_matches_pycocotools(op, shape, impl, threads):
    why = impl.unavailable(threads)
    if why:
        pytest.skip(why)
    suite.run_once(op, shape, impl, threads)  # raises AssertionError on a mismatch


@PEER_WARNINGS
def test_turborle_two_threads_match_pycocotools():
    why = suite.threads_missing()
    if why:
        pytest.skip(why)
    for op, shape, impl, threads in suite.cases("smoke", threads=(2,), only="turborle"):
        suite.run_once(op, shape, impl, threads)


def test_every_operation_has_turborle_and_a_pycocotools_path():
    for op in suite.OPERATIONS:
        keys = {impl.key for impl in op.impls}
        assert "turborle.mask" in keys, op.name
        assert "pycocotools" in keys, op.name
        assert set(suite.MODES) <= set(op.shapes), op.name


def test_check_catches_a_wrong_result():
    op = next(o for o in suite.OPERATIONS if o.name == "encode_f")
    impl = next(i for i in op.impls if i.key == "pycocotools")
    inputs = suite.inputs_for(suite.Shape(2, 32, 48))
    wrong = list(reversed(suite.load("pycocotools.mask").encode(inputs.fortran)))
    with pytest.raises(AssertionError):
        op.check(impl, inputs, wrong)


def test_touch_pages_keeps_values():
    a = np.arange(3 * 5000, dtype=np.uint8).reshape(3, 5000)
    f = np.asfortranarray(a)
    assert np.array_equal(suite.touch_pages(a.copy()), a)
    assert np.array_equal(suite.touch_pages(f.copy(order="F")), a)


def test_masks_are_deterministic_and_sam_like():
    a = masks.sam_like_masks(4, 96, 128, seed=3)
    b = masks.sam_like_masks(2, 96, 128, seed=3)
    assert a.shape == (4, 96, 128) and a.dtype == np.uint8 and a.flags.c_contiguous
    assert np.array_equal(a[:2], b)  # mask i depends only on (seed, h, w, i)
    assert set(np.unique(a)) <= {0, 1}
    assert np.array_equal(masks.sam_like_masks(4, 96, 128, seed=3, order="F"),
                          a.transpose(1, 2, 0))
    assert not np.array_equal(a, masks.sam_like_masks(4, 96, 128, seed=4))
    fill = a.reshape(4, -1).mean(axis=1)
    assert (fill > 0).all() and (fill < 0.6).all()
    # Column-major runs: more than a plain box would give, well below noise.
    flat = a.transpose(0, 2, 1).reshape(4, -1).astype(np.int8)
    runs = (np.diff(flat, axis=1) != 0).sum(axis=1) + 1
    assert (runs > 10).all() and (runs < 2000).all()


def _row(op, key, ms, threads=1, library=None, run_name="main"):
    return {"run": run_name, "operation": op, "title": op, "shape": "2x32x48", "key": key,
            "library": library or key.split(".")[0], "variant": "v", "threads": threads,
            "baseline": key == "numpy baseline", "median_ms": ms, "iqr_ms": 0.1,
            "min_ms": ms, "rounds": 3, "pixels": 3072, "gb_per_s": 3072 / ms / 1e6}


def test_report_tables(tmp_path):
    rows = [_row("encode_c", "turborle.mask", 2.0), _row("encode_c", "turborle.batch", 1.0),
            _row("encode_c", "pycocotools", 10.0), _row("encode_c", "numpy baseline", 0.5,
                                                        library="numpy"),
            _row("encode_c", "turborle.batch", 1.0, run_name="threads"),
            _row("encode_c", "turborle.batch", 0.6, threads=2, run_name="threads")]
    run.add_ratios(rows)
    assert rows[2]["x_turborle"] == pytest.approx(10.0)
    summary = run.summary_table(rows)
    assert "| encode_c | 2x32x48 |" in summary and "| 10 (10x) |" in summary
    assert "pycocotools" in run.detail_table(rows)
    assert "1.67x" in run.threads_table(rows, "")
    assert "not available" in run.threads_table(rows[:4], "not available")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        pytest.skip("matplotlib not installed")
    run.plot(rows, {"cpu_model": "test CPU"}, tmp_path / "speed.png")
    assert (tmp_path / "speed.png").stat().st_size > 1000
