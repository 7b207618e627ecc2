"""Smoke test of the speed benchmarks (benchmarks/): every case runs once on tiny inputs.

The benchmarks themselves are not part of the default test run. This runs the same
per-library callables once each, on a few 32x48 masks of both corpora, and checks every
result against the reference (pycocotools, or numpy), so a benchmark cannot rot unnoticed;
likewise the COCOeval benchmark on three images, the one-mask calls, the profiling helper and
the report code. Libraries that are not installed (only pycocotools is required here) are
skipped; pytest-benchmark is not needed.
"""

from __future__ import annotations

import subprocess
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

from benchmarks import cocoeval, masks, profile_case, run, small_calls, suite  # noqa: E402

CASES = suite.cases("smoke")

# Deprecation warnings raised inside the peer libraries (pycocotools' decode warns under
# numpy 2) are theirs, not ours; turborle's own warnings still fail the test.
PEER_WARNINGS = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning:(pycocotools|rlemasklib|hotcoco|faster_coco_eval|ultrafast_pycocotools)")


@PEER_WARNINGS
@pytest.mark.parametrize(("op", "shape", "impl", "threads"), CASES,
                         ids=[suite.case_id(*c) for c in CASES])
def test_case_matches_reference(op, shape, impl, threads):
    why = impl.unavailable(threads)
    if why:
        pytest.skip(why)
    suite.run_once(op, shape, impl, threads)  # raises AssertionError on a mismatch


@PEER_WARNINGS
def test_turborle_two_threads_match_reference():
    why = suite.threads_missing()
    if why:
        pytest.skip(why)
    for op, shape, impl, threads in suite.cases("smoke", threads=(2,), only="turborle"):
        suite.run_once(op, shape, impl, threads)


def test_every_operation_has_turborle_every_mode_and_both_corpora():
    for op in suite.OPERATIONS:
        assert any(impl.library is suite.TURBORLE for impl in op.impls), op.name
        assert set(suite.MODES) <= set(op.shapes), op.name
        corpora = {s.corpus for s in op.shapes["default"] for s in suite._expand(s)}
        assert {"sam", "coco"} <= corpora, op.name
        if op.name != "fal":  # fal text has no peer library
            assert any(impl.library in suite.PEERS for impl in op.impls), op.name


def test_case_selection():
    ids = [suite.case_id(*c) for c in suite.cases("default", groups=("parse",), corpora=("coco",))]
    assert ids and all(i.startswith("parse-") and "-coco-" in i for i in ids)
    threaded = suite.cases("default", threads=(1, 2), only="turborle", threads_compared=True)
    assert {c[0].name for c in threaded} == {"parse", "area", "bbox"}
    assert {c[1].label for c in threaded} == {"10000 dicts @ 1024x1024"}
    with pytest.raises(ValueError):
        suite.cases("default", groups=("no-such-group",))


def test_check_catches_a_wrong_result():
    op = next(o for o in suite.OPERATIONS if o.name == "encode_f")
    impl = next(i for i in op.impls if i.key == "pycocotools")
    inputs = suite.inputs_for(suite.Shape(2, 32, 48, corpus="coco"))
    wrong = list(reversed(suite.load("pycocotools.mask").encode(inputs.fortran)))
    with pytest.raises(AssertionError):
        op.check(impl, inputs, wrong)


def test_parse_check_catches_wrong_counts():
    op = next(o for o in suite.OPERATIONS if o.name == "parse")
    impl = next(i for i in op.impls if i.key == "pycocotools")
    inputs = suite.inputs_for(suite.Shape(2, 32, 48, repeat_to=5, corpus="sam"))
    want = op.reference(inputs)
    wrong = [c.copy() for c in want[1]]
    wrong[3][1] += 1
    with pytest.raises(AssertionError):
        op.compare(wrong, want)
    with pytest.raises(AssertionError):  # the dicts form (pycocotools' parsed RLEs written back)
        op.compare(inputs.rles[1:] + inputs.rles[:1], want)


def test_repeated_dicts_are_separate_copies():
    inputs = suite.inputs_for(suite.Shape(2, 32, 48, repeat_to=6, corpus="coco"))
    rles = inputs.rles
    assert len(rles) == 6 and isinstance(rles[0]["counts"], str)
    assert rles[0]["counts"] == rles[2]["counts"] and rles[0]["counts"] is not rles[2]["counts"]
    raw = suite.inputs_for(suite.Shape(2, 32, 48, repeat_to=6, corpus="coco", counts="bytes"))
    assert isinstance(raw.rles[0]["counts"], bytes)


def test_touch_pages_keeps_values():
    a = np.arange(3 * 5000, dtype=np.uint8).reshape(3, 5000)
    f = np.asfortranarray(a)
    assert np.array_equal(suite.touch_pages(a.copy()), a)
    assert np.array_equal(suite.touch_pages(f.copy(order="F")), a)


def test_numpy_oracles():
    m = np.array([[1, 0, 0], [1, 1, 0]], np.uint8)  # column-major scan: 1 1 0 1 0 0
    assert suite.numpy_counts(m).tolist() == [0, 2, 1, 1, 2]
    assert suite.numpy_counts(1 - m).tolist() == [2, 1, 1, 2]
    assert suite.numpy_counts(np.zeros((2, 2))).tolist() == [4]
    assert suite.numpy_fal(m) == "1 1 4 2"  # row-major: 1 0 0 1 1 0, 1-based starts
    assert suite.numpy_fal(np.zeros((2, 3))) == ""


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
    runs = masks.run_counts(a)
    assert (runs > 10).all() and (runs < 2000).all()


def test_coco_like_masks_are_deterministic_and_have_more_runs():
    a = masks.corpus_masks("coco", 6, 256, 256, seed=1)
    assert a.shape == (6, 256, 256) and a.dtype == np.uint8 and set(np.unique(a)) <= {0, 1}
    assert np.array_equal(masks.corpus_masks("coco", 2, 256, 256, seed=1, first=4), a[4:])
    assert np.array_equal(masks.corpus_masks("coco", 6, 256, 256, seed=1, order="F"),
                          a.transpose(1, 2, 0))
    sam = masks.corpus_masks("sam", 6, 256, 256, seed=1)
    assert masks.run_counts(a).mean() > 2 * masks.run_counts(sam).mean()
    small = masks.corpus_masks("coco", 6, 240, 320, size=masks.SMALL)
    assert small.reshape(6, -1).mean(axis=1).max() < 0.05
    with pytest.raises(ValueError):
        masks.corpus_masks("nope", 1, 8, 8)


def test_fill_polygon_against_half_planes():
    # A triangle (counter-clockwise in image coordinates: y down) and the pixel centres
    # strictly inside all three of its edges.
    xs, ys = np.array([2.3, 17.8, 9.1]), np.array([1.2, 4.7, 13.9])
    got = masks._fill_polygon(xs, ys, 16, 20)
    yc, xc = np.mgrid[0:16, 0:20] + 0.5
    inside = np.ones((16, 20), bool)
    for i in range(3):
        x0, y0, x1, y1 = xs[i], ys[i], xs[(i + 1) % 3], ys[(i + 1) % 3]
        inside &= (x1 - x0) * (yc - y0) - (y1 - y0) * (xc - x0) > 0
    assert got.sum() > 50 and np.array_equal(got, inside)


@PEER_WARNINGS
def test_cocoeval_identical_stats_on_three_images():
    for corpus in ("sam", "coco"):
        r = cocoeval.measure(corpus, images=3, rounds=1)
        assert r["stats_equal"] and r["annotations"] > 0 and r["detections"] > 0
        assert r["turborle"]["calls"]["iou"] == r["pycocotools"]["calls"]["iou"] > 0
    assert "stats identical: yes" in cocoeval.table([r])


@PEER_WARNINGS
def test_small_calls_run():
    rows = small_calls.measure(rounds=1)
    assert {r["call"] for r in rows} >= {"iou 1x1", "merge of 2"}
    assert "| iou 1x1 |" in run.small_calls_table(rows)


def test_profile_helper_runs_a_case(capsys):
    assert profile_case.main(["encode_f-2x32x48-sam-turborle.mask-t1", "--mode", "smoke",
                              "--seconds", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "ms per call" in out and "ns per mask" in out
    with pytest.raises(SystemExit):  # ambiguous: several cases match
        profile_case.main(["encode_f", "--mode", "smoke"])


def _row(op, key, ms, threads=1, library=None, run_name="main", shape="2x32x48", corpus="sam"):
    return {"run": run_name, "operation": op, "title": op, "shape": shape, "corpus": corpus,
            "key": key, "library": library or key.split(".")[0], "variant": "v",
            "threads": threads, "baseline": key == "numpy baseline", "median_ms": ms,
            "iqr_ms": 0.1, "min_ms": ms, "rounds": 3,
            "work": {"pixels": 3072, "masks": 2, "runs": 10, "MB": 0.5},
            "gb_per_s": 3072 / ms / 1e6, "masks_per_s": 2 / ms * 1e3}


def test_report_tables(tmp_path):
    rows = [_row("encode_c", "turborle.mask", 2.0), _row("encode_c", "turborle.batch", 1.0),
            _row("encode_c", "pycocotools", 10.0),
            _row("encode_c", "numpy baseline", 0.5, library="numpy"),
            _row("encode_c", "turborle.batch", 1.0, run_name="threads"),
            _row("encode_c", "turborle.batch", 0.6, threads=2, run_name="threads")]
    run.add_ratios(rows)
    assert rows[2]["x_turborle"] == pytest.approx(10.0)
    summary = run.summary_table(rows)
    assert "| encode_c | 2x32x48 | sam | **10.00x** (pycocotools) |" in summary
    assert "| 10 (10x) |" in summary
    assert "pycocotools" in run.detail_table(rows)
    assert "1.67x" in run.threads_table(rows, "")
    assert "not available" in run.threads_table(rows[:4], "not available")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        pytest.skip("matplotlib not installed")
    run.plot(rows, {"cpu_model": "test CPU", "git": "abc"}, tmp_path / "speed.png")
    assert (tmp_path / "speed.png").stat().st_size > 1000


def test_repeated_runs_are_combined():
    runs = [[_row("area", "turborle.mask", ms)] for ms in (3.0, 1.0, 2.0)]
    for rows, low in zip(runs, (2.5, 0.5, 1.5)):
        rows[0]["min_ms"] = low
    (row,) = run.combine_runs(runs)
    assert row["median_ms"] == 2.0 and row["min_ms"] == 0.5 and row["runs"] == 3
    assert row["rounds"] == 9 and row["masks_per_s"] == pytest.approx(2 / 2.0e-3)


def test_targets_table_reads_ratios():
    dicts = run.DICTS_10K
    rows = [_row("parse", "turborle.batch", 2.0, shape=dicts),
            _row("parse", "rlemasklib", 5.0, shape=dicts),
            _row("parse", "pycocotools", 9.0, shape=dicts),
            _row("parse", "turborle.batch", 3.0, shape=dicts, corpus="coco"),
            _row("parse", "rlemasklib", 6.0, shape=dicts, corpus="coco"),
            _row("encode_c", "turborle.batch", 2.0, shape=run.TARGET),
            _row("encode_c", "numpy baseline", 1.5, library="numpy", shape=run.TARGET),
            _row("fal", "turborle.batch", 2.0, shape=run.TARGET)]
    res = {"rows": rows, "thread_speedups": [],
           "fal_previous": {"sam turborle.batch": 10 / 8.0 * 1e3}}
    md, out = run.targets_table(res)
    parse = next(t for t in out if t["target"] == "from_coco of 10k dicts")
    assert parse["sam"]["value"] == pytest.approx(2.5)  # rlemasklib 5.0 / turborle 2.0
    assert parse["coco"]["value"] == pytest.approx(2.0)
    assert parse["met"] is False and "**missed**" in md
    enc = next(t for t in out if t["target"].startswith("encode C-order"))
    assert enc["sam"]["value"] == pytest.approx(0.75) and "**75%**" in md
    fal = next(t for t in out if t["target"].startswith("from_fal"))
    assert fal["sam"]["value"] == pytest.approx(4.0)  # 5k runs/s now vs 1.25k runs/s before
    iou = next(t for t in out if t["target"] == "IoU 64x64, no crowd")
    assert iou["met"] is None


def test_history_and_readme(tmp_path):
    hist = tmp_path / "history.jsonl"
    machine = {"date": "2026-01-01T00:00:00", "git": "abc", "cpu_model": "cpu", "mode": "quick",
               "groups": "fal"}
    row = _row("fal", "turborle.batch", 4.0, shape=run.TARGET)
    run.append_history(hist, machine, run.FAL_PREVIOUS, [row])
    run.append_history(hist, machine, "", [_row("fal", "turborle.batch", 1.0, shape=run.TARGET)])
    # A baseline measured on another CPU is not this machine's baseline.
    run.append_history(hist, {**machine, "cpu_model": "other cpu"}, run.FAL_PREVIOUS,
                       [_row("fal", "turborle.batch", 0.5, shape=run.TARGET)])
    assert run.fal_previous(hist, "cpu") == {"sam turborle.batch": pytest.approx(10 / 4.0 * 1e3)}
    assert run.fal_previous(hist, "other cpu") == {"sam turborle.batch": pytest.approx(10 / 0.5 * 1e3)}
    assert run.fal_previous(hist, "a third cpu") == {}
    for ms in (2.0, 8.0):  # the previous rate is the median over the labelled runs
        run.append_history(hist, machine, run.FAL_PREVIOUS,
                           [_row("fal", "turborle.batch", ms, shape=run.TARGET)])
    assert run.fal_previous(hist, "cpu") == {"sam turborle.batch": pytest.approx(10 / 4.0 * 1e3)}
    readme = tmp_path / "README.md"
    readme.write_text(f"a\n{run.README_START}\nold\n{run.README_END}\nb\n")
    assert run.update_readme(readme, "new table")
    assert readme.read_text() == f"a\n{run.README_START}\nnew table\n{run.README_END}\nb\n"


def test_importing_the_benchmarks_leaves_sys_path_alone():
    # benchmarks/ops.py once put src/ first on sys.path at import: processes spawned later
    # in the test session imported the uncompiled source tree instead of the installed build.
    script = f"""
import sys
from collections import Counter
sys.path.insert(0, {str(ROOT)!r})
before = Counter(sys.path)
import benchmarks.ops, benchmarks.profile_case, benchmarks.run, benchmarks.small_calls
import benchmarks.cocoeval, benchmarks.dataset_bench
print(sorted(Counter(sys.path) - before))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
