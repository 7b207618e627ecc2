"""turborle.mask against pycocotools, byte for byte, on the inputs both accept.

pycocotools is a test extra; the module is skipped where it is not installed (the golden
vectors in test_golden.py then keep compatibility pinned).
"""

import warnings
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from turborle import mask as tmask
from turborle.testing import generators as gen
from turborle.testing import reference as ref
from turborle.testing import strategies as rst

pycoco = pytest.importorskip("pycocotools.mask")
pycoco_c = pytest.importorskip("pycocotools._mask")

FEW = max(10, settings().max_examples // 2)


def pycoco_decode(rles):
    """pycocotools' decode, whose Masks.__array__ warns under numpy 2."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pycoco.decode(rles)


def seeded(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def assert_rle_equal(got, expected):
    """Same dict: size as a list of two Python ints, counts as identical bytes."""
    assert isinstance(got, dict)
    assert set(got) == {"size", "counts"}
    assert got["size"] == expected["size"]
    assert all(type(v) is int for v in got["size"])
    assert type(got["counts"]) is bytes
    assert got["counts"] == expected["counts"]


def assert_rles_equal(got, expected):
    assert isinstance(got, list)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert_rle_equal(g, e)


def assert_same_array(got, expected, dtype):
    got = np.asarray(got)
    assert got.dtype == dtype
    assert got.shape == np.shape(expected)
    np.testing.assert_array_equal(got, expected)


# ---- encode ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", gen.MASK_KINDS)
@pytest.mark.parametrize("shape", gen.SHAPES, ids=str)
def test_encode_fortran(shape, kind):
    m = gen.random_masks(seeded(shape, kind), *shape, 3, kind)
    expected = pycoco.encode(m)
    assert_rles_equal(tmask.encode(m), expected)
    assert_rles_equal(tmask.encode(m.astype(bool, order="F")), expected)
    assert_rle_equal(tmask.encode(np.asfortranarray(m[:, :, 1])), expected[1])


@pytest.mark.parametrize("kind", ["random", "runs", "rectangles"])
@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (31, 17), (64, 48)], ids=str)
def test_encode_other_layouts(shape, kind):
    rng = seeded(shape, kind, "layout")
    m = gen.random_masks(rng, *shape, 4, kind)
    c3 = np.ascontiguousarray(m)
    expected = pycoco.encode(np.asfortranarray(c3))
    assert_rles_equal(tmask.encode(c3), expected)
    c2 = np.ascontiguousarray(m[:, :, 2])
    assert_rle_equal(tmask.encode(c2), pycoco.encode(np.asfortranarray(c2)))
    # Strided views of a bigger array, in every axis.
    big = gen.random_masks(rng, 2 * shape[0] + 1, 3 * shape[1] + 2, 9, kind)
    for view in (big[::2, ::3, ::3], big[1::2, 2::3, 1:8:2], big[::-2, ::3, ::4],
                 np.ascontiguousarray(big)[::2, 1::3, :3], big.transpose(1, 0, 2)[:, :, :2]):
        assert_rles_equal(tmask.encode(view), pycoco.encode(np.asfortranarray(view)))
        v2 = view[:, :, 0]
        assert_rle_equal(tmask.encode(v2), pycoco.encode(np.asfortranarray(v2)))


@settings(max_examples=FEW)
@given(rst.coco_masks(max_side=70, max_n=4))
def test_encode_hypothesis(m):
    assert_rles_equal(tmask.encode(m), pycoco.encode(m))


# ---- decode, area, toBbox ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", gen.MASK_KINDS)
@pytest.mark.parametrize("shape", [s for s in gen.SHAPES if s[0] * s[1]], ids=str)
def test_decode_area_bbox(shape, kind):
    m = gen.random_masks(seeded(shape, kind, "decode"), *shape, 3, kind)
    rles = pycoco.encode(m)
    got = tmask.decode(rles)
    assert_same_array(got, pycoco_decode(rles), np.uint8)
    assert got.flags.f_contiguous
    one = tmask.decode(rles[1])
    assert_same_array(one, pycoco_decode(rles[1]), np.uint8)
    assert one.flags.f_contiguous
    str_rles = [{"size": r["size"], "counts": r["counts"].decode()} for r in rles]
    assert_same_array(tmask.decode(str_rles), pycoco_decode(rles), np.uint8)

    assert_same_array(tmask.area(rles), pycoco.area(rles), np.uint32)
    assert_same_array(tmask.area(str_rles), pycoco.area(rles), np.uint32)
    a = tmask.area(rles[0])
    assert isinstance(a, np.uint32) and a == pycoco.area(rles[0])

    assert_same_array(tmask.toBbox(rles), pycoco.toBbox(rles), np.float64)
    assert_same_array(tmask.toBbox(str_rles), pycoco.toBbox(rles), np.float64)
    assert_same_array(tmask.toBbox(rles[2]), pycoco.toBbox(rles[2]), np.float64)


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 0)], ids=str)
def test_measure_empty_shape(shape):
    rles = pycoco.encode(np.zeros((*shape, 2), np.uint8, order="F"))
    assert_same_array(tmask.area(rles), pycoco.area(rles), np.uint32)
    assert_same_array(tmask.toBbox(rles), pycoco.toBbox(rles), np.float64)
    got = tmask.decode(rles)
    assert got.shape == (*shape, 2) and got.dtype == np.uint8


def test_measure_empty_list():
    assert_same_array(tmask.area([]), pycoco.area([]), np.uint32)
    assert_same_array(tmask.toBbox([]), pycoco.toBbox([]), np.float64)


@settings(max_examples=FEW)
@given(rst.coco_masks(max_side=50, max_n=4))
def test_decode_area_bbox_hypothesis(m):
    rles = pycoco.encode(m)
    if m.shape[0] * m.shape[1]:
        assert_same_array(tmask.decode(rles), pycoco_decode(rles), np.uint8)
    assert_same_array(tmask.area(rles), pycoco.area(rles), np.uint32)
    assert_same_array(tmask.toBbox(rles), pycoco.toBbox(rles), np.float64)


# ---- merge -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", gen.MASK_KINDS)
@pytest.mark.parametrize("shape", [(1, 1), (3, 4), (9, 1), (31, 17), (64, 48), (0, 4)], ids=str)
@pytest.mark.parametrize("n", [1, 2, 5])
def test_merge(shape, kind, n):
    rng = seeded(shape, kind, n, "merge")
    m = gen.random_masks(rng, *shape, n, [kind] * (n - 1) + ["rectangles"])
    rles = pycoco.encode(np.asfortranarray(m))
    for intersect in (0, 1, False, True):
        assert_rle_equal(tmask.merge(rles, intersect=intersect),
                         pycoco.merge(rles, intersect=int(intersect)))
    assert_rle_equal(tmask.merge(rles), pycoco.merge(rles))
    str_rles = [{"size": r["size"], "counts": r["counts"].decode()} for r in rles]
    assert_rle_equal(tmask.merge(str_rles, 1), pycoco.merge(rles, 1))


@settings(max_examples=FEW)
@given(rst.coco_masks(max_side=40, max_n=6), st.booleans())
def test_merge_hypothesis(m, intersect):
    rles = pycoco.encode(m)
    assert_rle_equal(tmask.merge(rles, intersect=intersect),
                     pycoco.merge(rles, intersect=intersect))


# ---- iou ---------------------------------------------------------------------------------------


def _masks_of_shape(rng, shape, n):
    kinds = [gen.MASK_KINDS[i] for i in rng.integers(len(gen.MASK_KINDS), size=n)]
    return gen.random_masks(rng, *shape, n, kinds)


@pytest.mark.parametrize("shape", [(1, 1), (5, 5), (17, 9), (40, 60)], ids=str)
@pytest.mark.parametrize("seed", range(4))
def test_iou_rles(shape, seed):
    rng = seeded(shape, seed, "iou")
    dt = pycoco.encode(_masks_of_shape(rng, shape, int(rng.integers(1, 6))))
    gt = pycoco.encode(_masks_of_shape(rng, shape, int(rng.integers(1, 6))))
    for crowd in ([0] * len(gt), [1] * len(gt), rng.integers(0, 2, len(gt)).tolist(),
                  [bool(c) for c in rng.integers(0, 2, len(gt))]):
        got = tmask.iou(dt, gt, crowd)
        assert_same_array(got, pycoco.iou(dt, gt, crowd), np.float64)
    crowd = rng.integers(0, 2, len(gt)).astype(np.uint8)
    assert_same_array(tmask.iou(dt, gt, crowd), pycoco.iou(dt, gt, crowd), np.float64)


def test_iou_size_mismatch():
    rng = seeded("iou-mismatch")
    for _ in range(60):
        shapes = [(int(rng.integers(1, 10)), int(rng.integers(1, 10))) for _ in range(5)]
        rles = [pycoco.encode(_masks_of_shape(rng, s, 1))[0] for s in shapes]
        crowd = rng.integers(0, 2, 3).tolist()
        assert_same_array(tmask.iou(rles[:2], rles[2:], crowd),
                          pycoco.iou(rles[:2], rles[2:], crowd), np.float64)


def test_iou_size_mismatch_overlap_and_disjoint():
    # Boxes overlap: -1. Boxes disjoint: 0 (pycocotools never compares the sizes).
    a = np.zeros((4, 4), np.uint8, order="F")
    a[0:2, 0:2] = 1
    b = np.zeros((5, 5), np.uint8, order="F")
    b[1:3, 1:3] = 1
    c = np.zeros((5, 5), np.uint8, order="F")
    c[4, 4] = 1
    ra, rb, rc = (pycoco.encode(x) for x in (a, b, c))
    expected = pycoco.iou([ra], [rb, rc], [0, 0])
    np.testing.assert_array_equal(expected, [[-1.0, 0.0]])  # what pycocotools does
    assert_same_array(tmask.iou([ra], [rb, rc], [0, 0]), expected, np.float64)


@pytest.mark.parametrize("empty", ["dt", "gt", "both"])
def test_iou_empty(empty):
    r = pycoco.encode(np.ones((3, 3), np.uint8, order="F"))
    dt = [] if empty in ("dt", "both") else [r]
    gt = [] if empty in ("gt", "both") else [r]
    crowd = [0] * len(gt)
    expected = pycoco.iou(dt, gt, crowd)
    assert expected == []
    got = tmask.iou(dt, gt, crowd)
    assert isinstance(got, list) and got == []


def test_iou_two_empty_masks():
    r = pycoco.encode(np.zeros((3, 3), np.uint8, order="F"))
    for crowd in ([0], [1]):
        assert_same_array(tmask.iou([r], [r], crowd), pycoco.iou([r], [r], crowd), np.float64)


@settings(max_examples=FEW)
@given(rst.coco_masks(max_side=30, max_n=6, min_n=2), st.data())
def test_iou_rles_hypothesis(m, data):
    rles = pycoco.encode(m)
    split = data.draw(st.integers(1, len(rles) - 1))
    dt, gt = rles[:split], rles[split:]
    crowd = data.draw(st.lists(st.integers(0, 1), min_size=len(gt), max_size=len(gt)))
    assert_same_array(tmask.iou(dt, gt, crowd), pycoco.iou(dt, gt, crowd), np.float64)


# Each pair's intersection is counted by a run sweep or by AND + popcount over bit planes
# (whose words hold rows 64k..64k+63 of a column); iou() chooses per pair. Both ways are
# forced here, on heights around the word size and runs that cross columns.
IOU_PATHS = ("sweep", "planes", "choose")


def _forced_iou(dt, gt, crowd, path):
    import turborle
    from turborle import _core
    a, b = turborle.from_coco(dt), turborle.from_coco(gt)
    return _core.iou(a._rles, b._rles, np.asarray(crowd, np.uint8), 1, path)


@pytest.mark.parametrize("path", IOU_PATHS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 200), (200, 1), (63, 5), (64, 7), (65, 9),
                                   (127, 31), (130, 70), (300, 200)], ids=str)
def test_iou_both_counting_paths(shape, path):
    rng = seeded(shape, "iou-paths")
    for _ in range(3):
        dt = pycoco.encode(_masks_of_shape(rng, shape, int(rng.integers(1, 8))))
        gt = pycoco.encode(_masks_of_shape(rng, shape, int(rng.integers(1, 8))))
        crowd = rng.integers(0, 2, len(gt)).astype(np.uint8)
        assert_same_array(_forced_iou(dt, gt, crowd, path), pycoco.iou(dt, gt, crowd),
                          np.float64)


@pytest.mark.parametrize("path", IOU_PATHS)
def test_iou_paths_on_runs_crossing_columns_and_empty_runs(path):
    # Long runs that start and end mid-column (the box then spans every row), a noisy mask
    # that has a plane, and the same counts with zero-length runs inserted.
    rng = seeded("iou-crossing")
    h, w = 70, 40
    masks = []
    for k in range(6):
        m = np.zeros(h * w, np.uint8)
        start = int(rng.integers(0, h * w // 2))
        m[start:start + int(rng.integers(h, 4 * h))] = 1
        m |= (rng.random(h * w) < 0.1 * k).astype(np.uint8)
        masks.append(m.reshape(w, h).T)
    rles = pycoco.encode(np.asfortranarray(np.stack(masks, -1)))
    with_zeros = []
    for m in masks:
        counts = gen.with_zero_runs(rng, ref.encode_counts(m))
        with_zeros.append(pycoco.frPyObjects({"size": [h, w], "counts": counts}, h, w))
    for dt, gt in ((rles, rles), (with_zeros, rles), (rles[:3], with_zeros[3:])):
        for crowd in ([0] * len(gt), [1] * len(gt)):
            assert_same_array(_forced_iou(dt, gt, crowd, path), pycoco.iou(dt, gt, crowd),
                              np.float64)


@settings(max_examples=FEW)
@given(rst.coco_masks(min_side=1, max_side=140, max_n=6, min_n=2), st.data())
def test_iou_paths_hypothesis(m, data):
    rles = pycoco.encode(m)
    split = data.draw(st.integers(1, len(rles) - 1))
    dt, gt = rles[:split], rles[split:]
    crowd = data.draw(st.lists(st.integers(0, 1), min_size=len(gt), max_size=len(gt)))
    expected = pycoco.iou(dt, gt, crowd)
    for path in IOU_PATHS:
        assert_same_array(_forced_iou(dt, gt, crowd, path), expected, np.float64)


def test_iou_path_must_be_known():
    import turborle
    from turborle import _core
    b = turborle.from_coco([{"size": [2, 2], "counts": "04"}])
    with pytest.raises(ValueError, match="path must be"):
        _core.iou(b._rles, b._rles, None, 1, "bits")


@settings(max_examples=FEW)
@given(rst.boxes(), rst.boxes(), st.data())
def test_iou_boxes_hypothesis(dt, gt, data):
    crowd = data.draw(st.lists(st.integers(0, 1), min_size=len(gt), max_size=len(gt)))
    with np.errstate(all="ignore"):
        expected = pycoco.iou(dt, gt, crowd)
    got = tmask.iou(dt, gt, crowd)
    assert_same_array(got, expected, np.float64)
    # Bit for bit, not just equal (0.0 vs -0.0, NaN payloads aside).
    np.testing.assert_array_equal(np.asarray(got).view(np.uint64),
                                  np.asarray(expected).view(np.uint64))
    # Lists of 4-lists are boxes too.
    assert_same_array(tmask.iou(dt.tolist(), gt.tolist(), crowd), expected, np.float64)


def test_iou_boxes_float_dtype_and_int_boxes():
    dt = np.array([[0, 0, 10, 10], [5, 5, 10, 10]])
    gt = np.array([[1, 1, 4, 8]], dtype=np.float32)
    for crowd in ([0], [1]):
        expected = pycoco.iou(dt, gt, crowd)
        assert_same_array(tmask.iou(dt, gt, crowd), expected, np.float64)


# ---- frPyObjects, frPoly, frBbox, frUncompressedRLE --------------------------------------------


@pytest.mark.parametrize("kind", gen.POLYGON_KINDS)
def test_frpoly(kind):
    rng = seeded(kind, "poly")
    for _ in range(25):
        h, w = int(rng.integers(1, 50)), int(rng.integers(1, 50))
        polys = [gen.random_polygon(rng, h, w, kind) for _ in range(int(rng.integers(1, 4)))]
        expected = pycoco_c.frPoly(polys, h, w)
        assert_rles_equal(tmask.frPoly(polys, h, w), expected)
        if len(polys[0]) > 4:
            assert_rles_equal(tmask.frPyObjects(polys, h, w), pycoco.frPyObjects(polys, h, w))


@settings(max_examples=FEW)
@given(rst.polygons(max_side=60))
def test_frpoly_hypothesis(case):
    xy, h, w = case
    assert_rles_equal(tmask.frPyObjects([xy], h, w), pycoco.frPyObjects([xy], h, w))


@pytest.mark.parametrize("seed", range(6))
def test_frpoly_long_steep_edges(seed):
    # Edges far steeper than wide, and long ones, on large images: the walk finds only the
    # steps where x crosses a pixel column's grid line, not every step of the edge. Vertices
    # on rounding boundaries (halves, tenths), outside the image and negative.
    rng = seeded(seed, "steep")
    for _ in range(40):
        h, w = int(rng.integers(1, 2000)), int(rng.integers(1, 1200))
        k = int(rng.integers(3, 12))
        x = rng.uniform(-0.2 * w, 1.2 * w, k)
        y = rng.uniform(-0.2 * h, 1.2 * h, k)
        if seed % 2:  # nearly vertical edges: x moves a pixel or two per edge
            x = x[0] + rng.uniform(-3, 3, k)
        x = np.round(x * rng.choice([1, 2, 10])) / rng.choice([1, 2, 10])
        y = np.round(y * 2) / 2
        poly = np.empty(2 * k)
        poly[0::2], poly[1::2] = x, y
        polys = [poly.tolist()]
        assert_rles_equal(tmask.frPyObjects(polys, h, w), pycoco.frPyObjects(polys, h, w))


def test_frpoly_numpy_polygons():
    rng = seeded("numpy-poly")
    polys = [np.array(gen.random_polygon(rng, 20, 30, "inside")) for _ in range(3)]
    expected = pycoco_c.frPoly(polys, 20, 30)
    assert_rles_equal(tmask.frPoly(polys, 20, 30), expected)
    assert_rles_equal(tmask.frPyObjects(polys, 20, 30), expected)


def test_frpoly_coco_style_integer_lists():
    # Polygons as COCO json holds them: lists mixing ints and floats.
    polys = [[10, 10, 20.5, 10, 20, 30, 10, 25]]
    assert_rles_equal(tmask.frPyObjects(polys, 40, 40), pycoco.frPyObjects(polys, 40, 40))


@pytest.mark.parametrize("seed", range(5))
def test_frbbox(seed):
    rng = seeded(seed, "bbox")
    h, w = int(rng.integers(1, 60)), int(rng.integers(1, 60))
    bb = gen.random_boxes(rng, int(rng.integers(1, 8)), h, w)
    expected = pycoco_c.frBbox(bb, h, w)
    assert_rles_equal(tmask.frBbox(bb, h, w), expected)
    assert_rles_equal(tmask.frPyObjects(bb, h, w), pycoco.frPyObjects(bb, h, w))


@settings(max_examples=FEW)
@given(rst.boxes(max_side=50, max_n=6), st.integers(1, 50), st.integers(1, 50))
def test_frbbox_hypothesis(bb, h, w):
    assert_rles_equal(tmask.frPyObjects(bb, h, w), pycoco.frPyObjects(bb, h, w))


@pytest.mark.parametrize("kind", ["random", "runs", "full", "empty"])
def test_fruncompressed(kind):
    rng = seeded(kind, "uncompressed")
    ucs = []
    for _ in range(4):
        h, w = int(rng.integers(1, 30)), int(rng.integers(1, 30))
        counts = ref.encode_counts(gen.random_mask(rng, h, w, kind))
        ucs.append({"size": [h, w], "counts": counts})
    expected = pycoco_c.frUncompressedRLE(ucs, 0, 0)
    assert_rles_equal(tmask.frUncompressedRLE(ucs, 0, 0), expected)
    assert_rles_equal(tmask.frPyObjects(ucs, 0, 0), pycoco.frPyObjects(ucs, 0, 0))
    for uc in ucs:
        h, w = uc["size"]
        assert_rle_equal(tmask.frPyObjects(uc, h, w), pycoco.frPyObjects(uc, h, w))


def test_fruncompressed_noncanonical():
    # Zero-length runs are accepted and re-encoded as given (pycocotools keeps them).
    ucs = [{"size": [3, 4], "counts": [0, 0, 5, 0, 7]},
           {"size": [2, 2], "counts": np.array([1, 2, 1], dtype=np.int64)}]
    assert_rles_equal(tmask.frUncompressedRLE(ucs, 3, 4),
                      pycoco_c.frUncompressedRLE(ucs, 3, 4))


def test_frpyobjects_polygons_of_mixed_lengths():
    # After a first polygon of more than 4 coordinates, shorter ones (a segment, a point,
    # nothing) are still polygons.
    polys = [[1, 1, 8, 1, 8, 8, 1, 8], [2, 2, 5, 5], [3, 3], [], [1, 1, 4, 1, 4, 4]]
    assert_rles_equal(tmask.frPyObjects(polys, 10, 10), pycoco.frPyObjects(polys, 10, 10))
    assert_rles_equal(tmask.frPoly(polys, 10, 10), pycoco_c.frPoly(polys, 10, 10))


# ---- the argument forms pycocotools accepts ----------------------------------------------------


def test_encode_no_masks():
    m = np.zeros((3, 4, 0), np.uint8, order="F")
    assert tmask.encode(m) == pycoco.encode(m) == []


def test_encode_read_only_and_broadcast():
    m = gen.random_masks(seeded("readonly"), 9, 7, 2, "random")
    ro = m.copy(order="F")
    ro.setflags(write=False)
    assert_rles_equal(tmask.encode(ro), pycoco.encode(m))
    b = np.broadcast_to(m[:, :, :1], (9, 7, 3))  # read-only, stride 0 along n
    assert_rles_equal(tmask.encode(b), pycoco.encode(np.asfortranarray(b)))


def test_size_forms():
    m = gen.random_masks(seeded("size-forms"), 6, 5, 2, "rectangles")
    rles = pycoco.encode(m)
    for size in ((6, 5), np.array([6, 5]), [np.int64(6), np.uint32(5)]):
        alt = [{"size": size, "counts": r["counts"]} for r in rles]
        assert_same_array(tmask.area(alt), pycoco.area(alt), np.uint32)
        assert_same_array(tmask.toBbox(alt), pycoco.toBbox(alt), np.float64)
        assert_same_array(tmask.decode(alt), pycoco_decode(alt), np.uint8)
        assert_rle_equal(tmask.merge(alt), pycoco.merge(alt))
        assert_same_array(tmask.iou(alt, alt, [0, 1]), pycoco.iou(alt, alt, [0, 1]), np.float64)


def test_numpy_int_image_size():
    poly = [[1.5, 1, 8, 1, 8, 8.5, 1, 8]]
    h, w = np.int64(10), np.int32(12)
    assert_rles_equal(tmask.frPyObjects(poly, h, w), pycoco.frPyObjects(poly, h, w))
    bb = np.array([[1.0, 2.0, 3.0, 4.0]])
    assert_rles_equal(tmask.frPyObjects(bb, h, w), pycoco.frPyObjects(bb, h, w))


def test_merge_truthy_intersect():
    m = gen.random_masks(seeded("truthy"), 8, 8, 3, "rectangles")
    rles = pycoco.encode(m)
    assert_rle_equal(tmask.merge(rles, intersect=2), pycoco.merge(rles, intersect=2))
    assert_rle_equal(tmask.merge(rles, 1), pycoco.merge(rles, 1))


def test_iscrowd_forms():
    m = gen.random_masks(seeded("crowd-forms"), 8, 8, 3, "rectangles")
    rles = pycoco.encode(m)
    expected = pycoco.iou(rles, rles[:2], [1, 0])
    for crowd in ((1, 0), np.array([True, False]), np.array([1, 0], np.uint8), [True, False]):
        assert_same_array(tmask.iou(rles, rles[:2], crowd), expected, np.float64)


def test_iou_boxes_as_1d_arrays():
    dt = [np.array([0.0, 0.0, 2.0, 2.0]), np.array([1.0, 0.5, 3.0, 2.0])]
    gt = [np.array([1.0, 1.0, 2.0, 2.0])]
    assert_same_array(tmask.iou(dt, gt, [0]), pycoco.iou(dt, gt, [0]), np.float64)
