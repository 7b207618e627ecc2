"""The oracles themselves, checked against pycocotools, golden vectors and each other.

The other test modules trust ``turborle.testing.reference`` (definitions on dense masks) and
``turborle.testing.runs`` (the same on counts alone, for huge masks); this module is why they
may.
"""

import json
import math
import pathlib
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from turborle.testing import generators as gen
from turborle.testing import reference as ref
from turborle.testing import runs as ref_runs
from turborle.testing import strategies as rst

try:
    import pycocotools._mask as pycoco_c
    import pycocotools.mask as pycoco
except ImportError:  # a test extra: the pycocotools comparisons are skipped without it
    pycoco = pycoco_c = None

needs_pycocotools = pytest.mark.skipif(pycoco is None, reason="pycocotools is not installed")


# ---- golden vectors ------------------------------------------------------------------------

GOLDEN_CODEC = [
    ([8, 12, 6, 15], b"8<63"),
    ([20], b"d0"),
    ([0, 3], b"03"),
    ([0, 1000], b"0Xo0"),
    ([0], b"0"),
]


@pytest.mark.parametrize(("counts", "string"), GOLDEN_CODEC)
def test_codec_golden(counts, string):
    assert ref.counts_to_string(counts) == string
    assert ref.string_to_counts(string) == counts
    assert ref.string_to_counts(string.decode()) == counts


def test_empty_mask_counts():
    assert ref.encode_counts(np.zeros((0, 5), np.uint8)) == [0]
    assert ref.encode_counts(np.zeros((5, 0), np.uint8)) == [0]
    assert ref.merge([], 0, 0, intersect=False) == []


def test_polygon_golden():
    counts = ref.poly_to_counts([0, 0, 10, 0, 10, 10, 0, 10], 100, 100)
    assert ref.area(counts) == 100
    assert ref.bbox(counts, 100, 100) == [0.0, 0.0, 10.0, 10.0]
    expected = np.zeros((6, 6), np.uint8)
    expected[1:4, 1:4] = 1
    square = [0.5, 0.5, 3.5, 0.5, 3.5, 3.5, 0.5, 3.5]
    np.testing.assert_array_equal(ref.poly_to_mask(square, 6, 6), expected)
    expected = np.zeros((6, 6), np.uint8)
    expected[0:3, 0:3] = 1
    np.testing.assert_array_equal(ref.box_to_mask(0.4, 0.4, 2.2, 2.2, 6, 6), expected)


def test_oracle_reproduces_golden_json():
    """The pycocotools outputs pinned in tests/data/golden.json, recomputed by the oracle."""
    golden = json.loads((pathlib.Path(__file__).parent / "data" / "golden.json").read_text())
    for case in golden["encode"]:
        m = np.array([[int(c) for c in row] for row in case["mask"]], np.uint8)
        assert ref.counts_to_string(ref.encode_counts(m)) == case["counts"].encode()
    for case in golden["poly"]:
        counts = ref.poly_to_counts(case["xy"], case["h"], case["w"])
        assert ref.counts_to_string(counts) == case["counts"].encode()
    for case in golden["box"]:
        counts = ref.box_to_counts(*case["box"], case["h"], case["w"])
        assert ref.counts_to_string(counts) == case["counts"].encode()
    for case in golden["measure"]:
        counts = ref.string_to_counts(case["counts"])
        assert ref.area(counts) == case["area"]
        assert ref.bbox(counts, case["h"], case["w"]) == case["bbox"]
    for case in golden["merge"]:
        counts = [ref.string_to_counts(s) for s in case["masks"]]
        for key, intersect in (("union", False), ("intersection", True)):
            merged = ref.merge(counts, case["h"], case["w"], intersect)
            assert ref.counts_to_string(merged) == case[key].encode()
    for case in golden["iou"]:
        dt = [(ref.string_to_counts(s), case["h"], case["w"]) for s in case["dt"]]
        gt = [(ref.string_to_counts(s), case["h"], case["w"]) for s in case["gt"]]
        assert ref.iou(dt, gt, case["iscrowd"]).tolist() == case["iou"]
    for case in golden["box_iou"]:
        assert ref.box_iou(case["dt"], case["gt"], case["iscrowd"]).tolist() == case["iou"]


# ---- the oracle against dense numpy ------------------------------------------------------------

NONBINARY = (1, 2, 7, 128, 255)


@given(rst.masks(dtype=np.uint8, foreground=NONBINARY))
def test_encode_decode_dense(mask):
    counts = ref.encode_counts(mask)
    h, w = mask.shape
    assert sum(counts) == h * w
    assert all(c > 0 for c in counts[1:])  # canonical
    decoded = ref.decode_counts(counts, h, w)
    assert decoded.dtype == np.uint8 and decoded.flags.f_contiguous
    np.testing.assert_array_equal(decoded, mask != 0)
    # Runs straight off the column-major scan, written out by hand.
    flat = (mask != 0).ravel(order="F").tolist()
    runs, value = [0], False
    for pixel in flat:
        if pixel != value:
            runs.append(0)
            value = pixel
        runs[-1] += 1
    assert counts == (runs if flat else [0])


@given(rst.masks(max_side=12))
def test_area_and_bbox_by_hand(mask):
    """The tight box and the area, from a loop over the pixels."""
    h, w = mask.shape
    counts = ref.encode_counts(mask)
    pixels = [(x, y) for y in range(h) for x in range(w) if mask[y, x]]
    assert ref.area(counts) == len(pixels)
    if pixels:
        xs, ys = [p[0] for p in pixels], [p[1] for p in pixels]
        box = [min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1]
    else:
        box = [0, 0, 0, 0]
    assert ref.bbox(counts, h, w) == [float(v) for v in box]


@given(rst.coco_masks(max_n=4, min_n=2), st.booleans())
def test_merge_and_iou_dense(m, intersect):
    h, w, n = m.shape
    counts = [ref.encode_counts(m[:, :, i]) for i in range(n)]
    combined = np.all(m, axis=2) if intersect else np.any(m, axis=2)
    assert ref.merge(counts, h, w, intersect) == ref.encode_counts(combined)
    inter = np.count_nonzero(m[:, :, 0] & m[:, :, 1])
    union = np.count_nonzero(m[:, :, 0] | m[:, :, 1])
    got = ref.iou([(counts[0], h, w)], [(counts[1], h, w)], [False])
    assert got[0, 0] == (inter / union if inter else 0.0)
    got = ref.iou([(counts[0], h, w)], [(counts[1], h, w)], [True])
    assert got[0, 0] == (inter / np.count_nonzero(m[:, :, 0]) if inter else 0.0)


# ---- the run-based oracle against the dense one -----------------------------------------------

OPS = ["union", "intersection", "xor", "difference"]


@given(rst.rle_counts(max_side=24, max_n=4, canonical=False))
def test_runs_measure_like_dense(case):
    counts_list, h, w = case
    for counts in counts_list:
        assert ref_runs.area(counts) == ref.area(counts)
        assert ref_runs.bbox(counts, h, w) == ref.bbox(counts, h, w)
        assert ref_runs.complement(counts, h, w) == ref.complement(counts, h, w)
    for op in OPS:
        assert ref_runs.merge(counts_list, h, w, op=op) == ref.merge(counts_list, h, w, op=op)
    for intersect in (False, True):
        assert ref_runs.merge(counts_list, h, w, intersect) == \
            ref.merge(counts_list, h, w, intersect)


@given(st.lists(rst.rle_counts(max_side=12, max_n=2, canonical=False), min_size=1,
                max_size=4), st.data())
def test_runs_iou_like_dense(cases, data):
    """Masks of several sizes: -1 where sizes differ and boxes overlap, crowd and not."""
    items = [(counts, h, w) for counts_list, h, w in cases for counts in counts_list]
    split = data.draw(st.integers(0, len(items)))
    dt, gt = items[:split] or items, items[split:] or items
    crowd = data.draw(st.lists(st.booleans(), min_size=len(gt), max_size=len(gt)))
    np.testing.assert_array_equal(ref_runs.iou(dt, gt, crowd), ref.iou(dt, gt, crowd))
    np.testing.assert_array_equal(ref_runs.iou(dt, gt, None), ref.iou(dt, gt, None))


def test_runs_edge_cases():
    assert ref_runs.merge([], 0, 0) == ref.merge([], 0, 0) == []
    for h, w in [(0, 0), (0, 5), (5, 0)]:
        assert ref_runs.complement([0], h, w) == ref.complement([0], h, w) == [0]
        assert ref_runs.bbox([0], h, w) == ref.bbox([0], h, w) == [0.0] * 4
        assert ref_runs.merge([[0], [0]], h, w, op="xor") == [0]
    assert ref_runs.iou([], [([4], 2, 2)], None) == ref.iou([], [([4], 2, 2)], None) == []
    for bad in ([1, 2], [5, -1]):
        for oracle in (ref, ref_runs):
            with pytest.raises(ValueError):
                oracle.bbox(bad, 2, 2)
            with pytest.raises(ValueError):
                oracle.merge([bad, [4]], 2, 2)
    with pytest.raises(ValueError, match="op"):
        ref_runs.merge([[4]], 2, 2, op="nand")  # type: ignore[arg-type]


@given(rst.boxes(max_side=30), st.integers(0, 30), st.integers(0, 30))
def test_box_is_the_polygon_of_its_corners(bb, h, w):
    """The closed-form box rasteriser agrees with the polygon walk of the box's corners
    (pycocotools rasterises boxes that way; the two are written independently)."""
    for x, y, bw, bh in bb.tolist():
        corners = [x, y, x, y + bh, x + bw, y + bh, x + bw, y]
        assert ref.box_to_counts(x, y, bw, bh, h, w) == ref.poly_to_counts(corners, h, w)


@given(rst.rle_counts(max_side=2**20))
def test_codec_round_trip_huge_counts(cs):
    (counts,), h, w = cs
    assert sum(counts) == h * w
    s = ref.counts_to_string(counts)
    assert all(48 <= b <= 111 for b in s)
    assert ref.string_to_counts(s) == counts


def test_codec_wide_values():
    # Values whose delta needs every group length from 1 to 13.
    for bits in range(64):
        for v in {2**bits - 1, 2**bits, 2**bits + 1}:
            for counts in ([v], [0, v], [1, 2, v, 3], [v, v, 1, v + 5]):
                assert ref.string_to_counts(ref.counts_to_string(counts)) == counts


def test_canonical_counts():
    assert ref.canonical_counts([2, 0, 3]) == [5]
    assert ref.canonical_counts([0, 0, 4]) == [4]
    assert ref.canonical_counts([0, 2, 0, 3, 1]) == [0, 5, 1]
    assert ref.canonical_counts([]) == [0]


@pytest.mark.parametrize(
    "bad", [b"\x01\x02", b"p", b"0 1", b"0\x000", b"0P", b"@", b"111K"]
)
def test_string_to_counts_rejects(bad):
    with pytest.raises(ValueError):
        ref.string_to_counts(bad)


def test_decode_counts_rejects():
    with pytest.raises(ValueError):
        ref.decode_counts([1, 2], 2, 2)
    with pytest.raises(ValueError):
        ref.decode_counts([5, -1], 2, 2)


# ---- the oracle against pycocotools ------------------------------------------------------------


def _fortran(m):
    return np.asfortranarray(m)


def pycoco_decode(rles):
    """pycocotools' decode, whose Masks.__array__ warns under numpy 2."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pycoco.decode(rles)


@needs_pycocotools
@pytest.mark.parametrize("kind", gen.MASK_KINDS)
@pytest.mark.parametrize("shape", gen.SHAPES)
def test_encode_matches_pycocotools(shape, kind):
    rng = np.random.default_rng(zlib.crc32(repr((shape, kind)).encode()))
    m = gen.random_masks(rng, *shape, 2, kind)
    expected = pycoco.encode(m)
    for i in range(2):
        counts = ref.encode_counts(m[:, :, i])
        assert ref.counts_to_string(counts) == expected[i]["counts"]
        assert ref.string_to_counts(expected[i]["counts"]) == counts
        if shape[0] * shape[1]:
            np.testing.assert_array_equal(
                ref.decode_counts(counts, *shape), pycoco_decode(expected[i]))
        np.testing.assert_array_equal(
            ref.bbox(counts, *shape), pycoco.toBbox(expected[i]))
        assert ref.area(counts) == pycoco.area(expected[i])


@needs_pycocotools
@settings(max_examples=max(10, settings().max_examples))
@given(rst.coco_masks(max_side=30, max_n=5, min_n=2), st.data())
def test_merge_iou_match_pycocotools(m, data):
    h, w, n = m.shape
    rles = pycoco.encode(m)
    counts = [ref.encode_counts(m[:, :, i]) for i in range(n)]
    for intersect in (0, 1):
        assert ref.counts_to_string(ref.merge(counts, h, w, intersect)) == \
            pycoco.merge(rles, intersect=intersect)["counts"]
    crowd = data.draw(st.lists(st.booleans(), min_size=n - 1, max_size=n - 1))
    expected = pycoco.iou(rles[:1], rles[1:], crowd)
    got = ref.iou([(counts[0], h, w)], [(c, h, w) for c in counts[1:]], crowd)
    np.testing.assert_array_equal(got, expected)


@needs_pycocotools
def test_iou_size_mismatch_matches_pycocotools():
    rng = np.random.default_rng(7)
    for _ in range(200):
        shapes = [(int(rng.integers(1, 12)), int(rng.integers(1, 12))) for _ in range(4)]
        ms = [gen.random_mask(rng, h, w, "rectangles") for h, w in shapes]
        rles = [pycoco.encode(_fortran(x)) for x in ms]
        items = [(ref.encode_counts(x), *x.shape) for x in ms]
        crowd = [bool(c) for c in rng.integers(0, 2, 2)]
        np.testing.assert_array_equal(
            ref.iou(items[:2], items[2:], crowd), pycoco.iou(rles[:2], rles[2:], crowd))


@needs_pycocotools
@given(st.lists(st.tuples(*[st.floats(-20, 60, allow_nan=False)] * 2,
                          *[st.floats(-5, 40, allow_nan=False)] * 2), min_size=1, max_size=4),
       st.lists(st.tuples(*[st.floats(-20, 60, allow_nan=False)] * 2,
                          *[st.floats(-5, 40, allow_nan=False)] * 2), min_size=1, max_size=4),
       st.data())
def test_box_iou_bit_identical(dt, gt, data):
    crowd = data.draw(st.lists(st.booleans(), min_size=len(gt), max_size=len(gt)))
    dt, gt = np.array(dt, np.float64), np.array(gt, np.float64)
    with np.errstate(all="ignore"):
        expected = pycoco.iou(dt, gt, crowd)
    got = ref.box_iou(dt, gt, crowd)
    np.testing.assert_array_equal(got.view(np.uint64), np.asarray(expected).view(np.uint64))


@needs_pycocotools
@pytest.mark.parametrize("kind", gen.POLYGON_KINDS)
def test_poly_matches_pycocotools(kind):
    rng = np.random.default_rng(gen.POLYGON_KINDS.index(kind))
    for _ in range(60):
        h, w = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        xy = gen.random_polygon(rng, h, w, kind)
        expected = pycoco_c.frPoly([xy], h, w)[0]["counts"]
        assert ref.counts_to_string(ref.poly_to_counts(xy, h, w)) == expected, (xy, h, w)


@needs_pycocotools
def test_box_matches_pycocotools():
    rng = np.random.default_rng(11)
    for _ in range(300):
        h, w = int(rng.integers(1, 30)), int(rng.integers(1, 30))
        b = gen.random_boxes(rng, 1, h, w)[0]
        expected = pycoco_c.frBbox(b.reshape(1, 4), h, w)[0]["counts"]
        assert ref.counts_to_string(ref.box_to_counts(*b, h, w)) == expected, (b, h, w)


def test_poly_degenerate():
    for xy in ([], [3.0, 4.0], [3.0, 4.0, 3.0, 4.0], [1.0, 1.0, 5.0, 5.0]):
        assert ref.poly_to_counts(xy, 8, 8) == [64]
    assert ref.poly_to_counts([0, 0, 5, 0, 5, 5], 0, 7) == [0]
    assert ref.poly_to_counts([0, 0, 5, 0, 5, 5], 7, 0) == [0]
    for bad in ([1.0, 2.0, 3.0], [0, 0, math.nan, 1, 2, 2], [0, 0, math.inf, 1, 2, 2]):
        with pytest.raises(ValueError):
            ref.poly_to_counts(bad, 8, 8)
