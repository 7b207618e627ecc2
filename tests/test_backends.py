"""Every code path of the core, checked against the numpy oracle.

The core picks its path by data and machine: SIMD level (``TURBORLE_SIMD``: scalar, avx2,
avx512, neon; read at import), thread count (``TURBORLE_NUM_THREADS``), bitmaps of 64-row
words for IoU, bit rows for C-ordered input, batch-size thresholds for threading. The
in-process tests here use shapes at the word and vector boundaries and batches past the
thresholds; the subprocess tests rerun the property and golden suites under each SIMD
level this CPU supports and under other thread counts.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from turborle import mask as tmask
from turborle.testing import generators as gen
from turborle.testing import reference as ref

# Sizes on both sides of 32, 64 and 128 (vector widths, bitmap words).
EDGES = [1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200]
EDGE_SHAPES = [(h, w) for h in EDGES for w in (1, 5, 64, 65, 130)]


def rle_of(m):
    h, w = m.shape
    return {"size": [h, w], "counts": ref.counts_to_string(ref.encode_counts(m))}


@pytest.mark.parametrize(("h", "w"), EDGE_SHAPES, ids=str)
def test_word_boundaries(h, w):
    rng = np.random.default_rng(h * 1000 + w)
    m = gen.random_masks(rng, h, w, len(gen.MASK_KINDS))  # one mask of every kind
    n = m.shape[2]
    counts = [ref.encode_counts(m[:, :, i]) for i in range(n)]
    expected = [{"size": [h, w], "counts": ref.counts_to_string(c)} for c in counts]
    # encode: Fortran stream, C-order bit rows, strided tile
    assert tmask.encode(m) == expected
    assert tmask.encode(np.ascontiguousarray(m)) == expected
    assert tmask.encode(np.ascontiguousarray(m[:, :, 0])) == expected[0]
    big = np.zeros((h, 2 * w, n), np.uint8)
    big[:, ::2] = m
    assert tmask.encode(big[:, ::2]) == expected
    # decode
    decoded = tmask.decode(expected)
    assert decoded.flags.f_contiguous
    np.testing.assert_array_equal(decoded, m)
    # measurements
    assert tmask.area(expected).tolist() == [ref.area(c) for c in counts]
    np.testing.assert_array_equal(tmask.toBbox(expected), [ref.bbox(c, h, w) for c in counts])
    # iou over the bitmap columns, crowd and not
    crowd = [i % 2 for i in range(n)]
    items = [(c, h, w) for c in counts]
    np.testing.assert_array_equal(tmask.iou(expected, expected, crowd),
                                  ref.iou(items, items, crowd))
    # merge
    for intersect in (0, 1):
        for subset in (slice(0, 2), slice(0, 4), slice(2, n)):
            got = tmask.merge(expected[subset], intersect=intersect)
            want = ref.merge(counts[subset], h, w, bool(intersect))
            assert got == {"size": [h, w], "counts": ref.counts_to_string(want)}


def test_shifted_masks_iou():
    """Masks whose boxes overlap in few columns at various offsets (bitmap column offsets)."""
    h, w = 130, 90
    rng = np.random.default_rng(99)
    ms = []
    for i in range(12):
        m = np.zeros((h, w), np.uint8, order="F")
        x0, y0 = int(rng.integers(0, w - 10)), int(rng.integers(0, h - 10))
        m[y0:y0 + int(rng.integers(1, h)), x0:x0 + int(rng.integers(1, 40))] = 1
        m &= (rng.random((h, w)) < 0.8).astype(np.uint8)
        ms.append(m)
    rles = [rle_of(m) for m in ms]
    items = [(ref.encode_counts(m), h, w) for m in ms]
    crowd = [0, 1] * 3
    np.testing.assert_array_equal(tmask.iou(rles, rles[:6], crowd),
                                  ref.iou(items, items[:6], crowd))


def test_large_batches():
    """Batches past the threading thresholds of area (4096), toBbox (1024), iou, encode."""
    rng = np.random.default_rng(5)
    n = 5000
    m = (rng.random((7, 3, n)) < 0.3).astype(np.uint8, order="F")
    m[:, :, ::7] = 0
    counts = [ref.encode_counts(m[:, :, i]) for i in range(n)]
    strings = [ref.counts_to_string(c) for c in counts]
    rles = tmask.encode(m)
    assert [r["counts"] for r in rles] == strings
    assert tmask.area(rles).tolist() == [ref.area(c) for c in counts]
    np.testing.assert_array_equal(tmask.toBbox(rles), [ref.bbox(c, 7, 3) for c in counts])
    np.testing.assert_array_equal(tmask.decode(rles), m)
    got = tmask.iou(rles[:300], rles[300:340], None)
    np.testing.assert_array_equal(
        got, ref.iou([(c, 7, 3) for c in counts[:300]], [(c, 7, 3) for c in counts[300:340]],
                     None))
    assert tmask.merge(rles[:600]) == {
        "size": [7, 3], "counts": ref.counts_to_string(ref.merge(counts[:600], 7, 3, False))}


def test_bad_item_in_large_batch_reports_first():
    """With threads, the error raised is the one of the first bad mask, and it names it."""
    good = {"size": [2, 2], "counts": b"13"}
    rles = [good] * 3000 + [{"size": [2, 2], "counts": b"5"}] + [good] * 3000 + \
        [{"size": [2, 2], "counts": b"p"}]
    for fn in (tmask.area, tmask.toBbox, tmask.decode, tmask.merge):
        with pytest.raises(ValueError, match="3000"):
            fn(rles)


# ---- the suite under every SIMD level and other thread counts ---------------------------------

HERE = os.path.dirname(os.path.abspath(__file__))
SUBSET = ["test_properties.py", "test_golden.py", "test_backends.py::test_word_boundaries",
          "test_backends.py::test_large_batches"]


def _run_suite(env_overrides):
    env = dict(os.environ, **env_overrides)
    probe = subprocess.run([sys.executable, "-c", "import turborle.mask"], env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    if probe.returncode != 0:
        if "not supported by this CPU" in probe.stderr:
            pytest.skip(f"{env_overrides} is not supported by this CPU")
        pytest.fail(probe.stderr[-3000:])
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
           *[os.path.join(HERE, t) for t in SUBSET]]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600,
                          cwd=os.path.dirname(HERE), check=False)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]


@pytest.mark.skipif(os.environ.get("TURBORLE_SIMD") is not None,
                    reason="already running under a chosen SIMD level")
@pytest.mark.parametrize("isa", ["scalar", "avx2", "avx512", "neon"])
def test_suite_under_simd_level(isa):
    _run_suite({"TURBORLE_SIMD": isa, "TURBORLE_NUM_THREADS": "3"})


@pytest.mark.skipif(os.environ.get("TURBORLE_SIMD") is not None,
                    reason="already running under a chosen SIMD level")
def test_suite_single_threaded():
    _run_suite({"TURBORLE_NUM_THREADS": "1", "TURBORLE_SIMD": ""})
