"""Where turborle deliberately differs from pycocotools.

Bad input raises ValueError (TypeError for a wrong type) with a message instead of reading
uninitialised memory, wrapping or crashing; and the evidently right behaviour pycocotools
lacks is checked against the numpy oracle.
"""

import math
import warnings

import numpy as np
import pytest

from turborle import mask as tmask
from turborle.testing import reference as ref
from turborle.testing import runs as ref_runs

GOOD = {"size": [2, 2], "counts": b"13"}  # counts [1, 3]


def _entry_points(bad):
    """Every public function that parses an RLE dict, called on ``bad``."""
    return {
        "decode": lambda: tmask.decode(bad),
        "decode-list": lambda: tmask.decode([bad]),
        "area": lambda: tmask.area(bad),
        "area-list": lambda: tmask.area([GOOD, bad]),
        "toBbox": lambda: tmask.toBbox(bad),
        "toBbox-list": lambda: tmask.toBbox([bad, GOOD]),
        "iou-dt": lambda: tmask.iou([bad], [GOOD], [0]),
        "iou-gt": lambda: tmask.iou([GOOD], [GOOD, bad], [0, 1]),
        "merge-one": lambda: tmask.merge([bad]),
        "merge-union": lambda: tmask.merge([GOOD, bad]),
        "merge-intersection": lambda: tmask.merge([bad, GOOD], intersect=1),
    }


ENTRY_NAMES = list(_entry_points(GOOD))


def _raises(exc, fn):
    with pytest.raises(exc) as info:
        fn()
    assert str(info.value).strip(), "the error needs a message"


# ---- malformed counts strings ------------------------------------------------------------------

BAD_STRINGS = {
    "control-bytes": b"\x01\x02",
    "above-o": b"p",
    "space": b"0 1",
    "high-byte": b"1\xff3",
    "nul-then-valid-prefix": b"4\x00",  # '4' alone would be a valid 2x2 mask
    "embedded-nul": b"1\x003",
    "ends-in-group": b"0P",  # 'P' carries the continuation bit 0x20
    "ends-in-group-2": b"13o",
    "overflow-truncated": b"o" * 20,
    "overflow-65-bits": b"o" * 13 + b"0",
    "overflow-sign": b"_" * 13 + b"1",
    "wraps-to-4": ref.counts_to_string([4 + 2**64]),
    "sum-wraps-to-4": ref.counts_to_string([1, 3 + 2**64]),
    "above-2^63": ref.counts_to_string([4 + 2**63]),
    "too-few": b"1",  # [1]
    "too-few-2": b"11",  # [1, 1]
    "too-many": b"5",  # [5]
    "too-many-2": b"131",  # [1, 3, 1]
    "negative-first": b"@",  # [-16]
    "negative-sum-ok": b"5O",  # [5, -1]: sums to 4
    "negative-delta-sum-ok": b"321L",  # [3, 2, 1, -2]: sums to 4
    "negative-delta": b"111K",  # [1, 1, 1, -4]
    "empty": b"",  # no counts at all for a 2x2 mask
}


@pytest.mark.parametrize("entry", ENTRY_NAMES)
@pytest.mark.parametrize("name", list(BAD_STRINGS))
def test_bad_counts_string(name, entry):
    bad = {"size": [2, 2], "counts": BAD_STRINGS[name]}
    _raises(ValueError, _entry_points(bad)[entry])


@pytest.mark.parametrize(
    "name", ["above-o", "space", "ends-in-group", "too-many", "negative-sum-ok"])
def test_bad_counts_str(name):
    bad = {"size": [2, 2], "counts": BAD_STRINGS[name].decode("latin-1")}
    for fn in _entry_points(bad).values():
        _raises(ValueError, fn)


def test_non_ascii_str_counts():
    bad = {"size": [2, 2], "counts": "1\u00e93"}
    _raises((ValueError, TypeError), lambda: tmask.area(bad))


def test_overflow_not_silently_wrapped_in_big_mask():
    # 2**33 pixels: a 32-bit parser would read the count as 0 or wrap the sum.
    h = w = 2**16 + 2**15  # h*w > 2**33
    bad = {"size": [h, w], "counts": ref.counts_to_string([h * w + 2**64])}
    _raises(ValueError, lambda: tmask.area(bad))


# ---- bad sizes ---------------------------------------------------------------------------------

BAD_SIZES = {
    "negative-h": ([-1, 4], b"0"),
    "negative-w": ([2, -2], b"0"),
    "negative-both": ([-2, -2], b"4"),
    "short": ([4], b"4"),
    "long": ([2, 2, 1], b"4"),
    "empty": ([], b"0"),
    "overflow": ([2**40, 2**40], b"0"),
    "overflow-wraps-to-0": ([2**32, 5 * 2**32], b"0"),  # h*w = 5 * 2**64
    "above-uint64": ([2**64 + 2, 2], b"4"),
    "h*w-just-above-2^64": ([2**32 + 1, 2**32], b"0"),
}


@pytest.mark.parametrize("entry", ENTRY_NAMES)
@pytest.mark.parametrize("name", list(BAD_SIZES))
def test_bad_size(name, entry):
    size, counts = BAD_SIZES[name]
    bad = {"size": size, "counts": counts}
    _raises(ValueError, _entry_points(bad)[entry])


@pytest.mark.parametrize("size", [[2.5, 2], [2, 1.5], ["2", "2"], [None, 2]], ids=str)
def test_non_integer_size(size):
    bad = {"size": size, "counts": b"4"}
    for fn in _entry_points(bad).values():
        _raises((ValueError, TypeError), fn)


@pytest.mark.parametrize("counts", [5, None, 3.5, {"a": 1}], ids=str)
def test_counts_of_wrong_type(counts):
    bad = {"size": [2, 2], "counts": counts}
    for fn in _entry_points(bad).values():
        _raises((ValueError, TypeError), fn)


# ---- uncompressed counts -----------------------------------------------------------------------

BAD_UNCOMPRESSED = {
    "negative": [-1, 5],
    "negative-later": [1, 4, -1],
    "too-few": [1, 2],
    "too-many": [3, 3],
    "empty": [],
    "wraps-to-4": [4 + 2**32],
    "wraps-to-4-64": [4 + 2**64],
    "fractional": [1.5, 2.5],
    "mixed-float": [1, 2.0, 1],
    "beyond-2**62": [2**62 + 1, 3],
    "string-item": [1, "3"],
}
_TYPE_ERRORS = ("fractional", "mixed-float", "string-item")


@pytest.mark.parametrize("name", list(BAD_UNCOMPRESSED))
def test_bad_uncompressed(name):
    bad = {"size": [2, 2], "counts": BAD_UNCOMPRESSED[name]}
    exc = (ValueError, TypeError) if name in _TYPE_ERRORS else ValueError
    _raises(exc, lambda: tmask.frPyObjects(bad, 2, 2))
    _raises(exc, lambda: tmask.frPyObjects([GOOD | {"counts": [1, 3]}, bad], 2, 2))
    _raises(exc, lambda: tmask.frUncompressedRLE([bad], 2, 2))


def test_uncompressed_items_of_any_integer_type():
    """A list of Python ints, numpy integers or a mix is read as the same counts; the string
    is the reference's encoding of them."""
    counts = [0, 5, 3, 2**40, 7]
    h, w = 1, sum(counts)
    expected = ref.counts_to_string(counts)
    for items in (counts, [np.int64(c) for c in counts], [counts[0], np.uint64(5)] + counts[2:],
                  tuple(counts), np.array(counts)):
        got = tmask.frPyObjects({"size": [h, w], "counts": items}, h, w)
        assert got["counts"] == expected, type(items[1])
    # bools read as 0 and 1, as pycocotools' np.array(counts, dtype=np.uint32) reads them
    got = tmask.frPyObjects({"size": [1, 4], "counts": [False, True, 3]}, 1, 4)
    assert got["counts"] == ref.counts_to_string([0, 1, 3])


@pytest.mark.parametrize("entry", ENTRY_NAMES)
@pytest.mark.parametrize("name", list(BAD_UNCOMPRESSED))
def test_bad_uncompressed_elsewhere(name, entry):
    # pycocotools' decode/area/... take only strings; where turborle also takes list
    # counts, it must validate them just the same.
    bad = {"size": [2, 2], "counts": BAD_UNCOMPRESSED[name]}
    _raises((ValueError, TypeError), _entry_points(bad)[entry])


@pytest.mark.parametrize("name", ["negative-h", "short", "overflow"])
def test_bad_uncompressed_size(name):
    size, _ = BAD_SIZES[name]
    bad = {"size": size, "counts": [0]}
    _raises(ValueError, lambda: tmask.frPyObjects(bad, 2, 2))
    _raises(ValueError, lambda: tmask.frUncompressedRLE([bad], 2, 2))


# ---- sizes that disagree -----------------------------------------------------------------------


def test_decode_different_sizes():
    other = {"size": [1, 4], "counts": b"13"}
    _raises(ValueError, lambda: tmask.decode([GOOD, other]))
    _raises(ValueError, lambda: tmask.decode([GOOD, {"size": [4, 1], "counts": b"13"}]))


def test_decode_empty_list():
    _raises(ValueError, lambda: tmask.decode([]))


@pytest.mark.parametrize("intersect", [0, 1])
def test_merge_different_sizes(intersect):
    other = {"size": [4, 1], "counts": b"13"}
    _raises(ValueError, lambda: tmask.merge([GOOD, other], intersect=intersect))
    _raises(ValueError, lambda: tmask.merge([GOOD, GOOD, {"size": [2, 3], "counts": b"6"}],
                                            intersect=intersect))


# ---- polygons and boxes ------------------------------------------------------------------------

SQUARE = [1.0, 1.0, 5.0, 1.0, 5.0, 5.0, 1.0, 5.0]


def _with(index, value):
    p = list(SQUARE)
    p[index] = value
    return p


BAD_POLYGONS = {
    "nan-x": _with(0, math.nan),
    "nan-y": _with(5, math.nan),
    "inf": _with(2, math.inf),
    "-inf": _with(7, -math.inf),
    "odd": SQUARE + [3.0],
    "odd-7": SQUARE[:7],
    "huge": _with(4, 1e30),
    "huge-negative": _with(3, -1e30),
    "huge-all": [1e30, 1e30, -1e30, 1e30, 1e30, -1e30],
    "beyond-int32": _with(0, 2.0**31),
}


@pytest.mark.parametrize("name", list(BAD_POLYGONS))
def test_bad_polygon(name):
    poly = BAD_POLYGONS[name]
    _raises(ValueError, lambda: tmask.frPoly([poly], 8, 8))
    _raises(ValueError, lambda: tmask.frPoly([SQUARE, poly], 8, 8))
    _raises(ValueError, lambda: tmask.frPyObjects([SQUARE, poly], 8, 8))
    _raises(ValueError, lambda: tmask.frPyObjects(np.array(poly).tolist(), 8, 8))


BAD_BOXES = {
    "nan": [math.nan, 0.0, 2.0, 2.0],
    "inf-size": [0.0, 0.0, math.inf, 2.0],
    "huge": [0.0, 0.0, 1e30, 2.0],
    "huge-negative": [-1e30, 0.0, 2.0, 2.0],
}


@pytest.mark.parametrize("name", list(BAD_BOXES))
def test_bad_box(name):
    box = BAD_BOXES[name]
    _raises(ValueError, lambda: tmask.frBbox(np.array([box]), 8, 8))
    _raises(ValueError, lambda: tmask.frPyObjects(np.array([[0.0, 0.0, 1.0, 1.0], box]), 8, 8))
    _raises(ValueError, lambda: tmask.frPyObjects(box, 8, 8))


@pytest.mark.parametrize("h,w", [(-1, 8), (8, -1)])
def test_negative_image_size(h, w):
    _raises(ValueError, lambda: tmask.frPoly([SQUARE], h, w))
    _raises(ValueError, lambda: tmask.frBbox(np.array([[0.0, 0.0, 2.0, 2.0]]), h, w))


def test_bad_box_array_shape():
    _raises(ValueError, lambda: tmask.frBbox(np.zeros((2, 3)), 8, 8))
    _raises(ValueError, lambda: tmask.iou(np.zeros((2, 3)), np.zeros((2, 3)), [0, 0]))


# ---- iou arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize("crowd", [[], [0], [0, 1, 0]], ids=str)
def test_iou_iscrowd_length(crowd):
    _raises(ValueError, lambda: tmask.iou([GOOD], [GOOD, GOOD], crowd))
    boxes = np.array([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]])
    _raises(ValueError, lambda: tmask.iou(boxes, boxes, crowd))


def test_iou_mixed_types():
    box = np.array([[0.0, 0.0, 2.0, 2.0]])
    _raises((TypeError, ValueError), lambda: tmask.iou([GOOD], box, [0]))
    _raises((TypeError, ValueError), lambda: tmask.iou(box, [GOOD], [0]))
    _raises((TypeError, ValueError), lambda: tmask.iou([GOOD, [0.0, 0.0, 2.0, 2.0]], [GOOD], [0]))
    _raises((TypeError, ValueError), lambda: tmask.iou([GOOD], [[0.0, 0.0, 2.0, 2.0]], [0]))
    _raises((TypeError, ValueError), lambda: tmask.iou("abc", [GOOD], [0]))


def test_wrong_types():
    _raises((TypeError, ValueError), lambda: tmask.decode(5))
    _raises((TypeError, ValueError), lambda: tmask.area("13"))
    _raises((TypeError, ValueError), lambda: tmask.encode(np.zeros(5, np.uint8)))
    _raises((TypeError, ValueError), lambda: tmask.encode(np.zeros((2, 2, 2, 2), np.uint8)))
    _raises((TypeError, ValueError), lambda: tmask.frPyObjects(5, 2, 2))


# ---- evidently right where pycocotools is not --------------------------------------------------


def test_non_binary_mask_is_foreground_where_nonzero():
    m = np.asfortranarray(np.array([[0, 1], [2, 255]], np.uint8))
    expected = {"size": [2, 2], "counts": ref.counts_to_string(ref.encode_counts(m))}
    assert expected["counts"] == b"13"  # [1, 3]
    assert tmask.encode(m) == expected
    np.testing.assert_array_equal(tmask.decode(expected), m != 0)
    m3 = np.asfortranarray(np.stack([m, 7 - m.astype(np.int64) % 8], axis=2).astype(np.uint8))
    assert tmask.encode(m3) == [
        {"size": [2, 2], "counts": ref.counts_to_string(ref.encode_counts(m3[:, :, i]))}
        for i in range(2)
    ]


def _box_rle(box, h, w):
    return {"size": [h, w], "counts": ref.counts_to_string(ref.box_to_counts(*box, h, w))}


def _poly_rle(xy, h, w):
    return {"size": [h, w], "counts": ref.counts_to_string(ref.poly_to_counts(xy, h, w))}


def test_frpyobjects_flat_box():
    assert tmask.frPyObjects([1.5, 2, 3, 4.25], 10, 12) == _box_rle([1.5, 2, 3, 4.25], 10, 12)
    assert tmask.frPyObjects([0, 0, 5, 5], 8, 8) == _box_rle([0, 0, 5, 5], 8, 8)


def test_frpyobjects_list_of_boxes():
    boxes = [[1.5, 2, 3, 4.25], [0, 0, 5, 5], (2, 2.5, 1, 1)]
    expected = [_box_rle(b, 10, 12) for b in boxes]
    assert tmask.frPyObjects(boxes, 10, 12) == expected
    assert tmask.frPyObjects([tuple(b) for b in boxes], 10, 12) == expected
    assert tmask.frPyObjects(np.array(boxes), 10, 12) == expected


def test_frpyobjects_flat_polygon():
    xy = [1.2, 1.0, 8.5, 2.0, 6.0, 9.3, 0.5, 6.0]
    assert tmask.frPyObjects(xy, 10, 12) == _poly_rle(xy, 10, 12)
    assert tmask.frPyObjects(xy[:6], 10, 12) == _poly_rle(xy[:6], 10, 12)


def test_frpyobjects_empty_list():
    assert tmask.frPyObjects([], 10, 12) == []


def test_iou_iscrowd_none():
    rng = np.random.default_rng(3)
    m = (rng.random((9, 7, 4)) < 0.5).astype(np.uint8, order="F")
    counts = [ref.encode_counts(m[:, :, i]) for i in range(4)]
    rles = [{"size": [9, 7], "counts": ref.counts_to_string(c)} for c in counts]
    expected = ref.iou([(c, 9, 7) for c in counts[:2]], [(c, 9, 7) for c in counts[2:]], None)
    np.testing.assert_array_equal(tmask.iou(rles[:2], rles[2:], None), expected)
    np.testing.assert_array_equal(tmask.iou(rles[:2], rles[2:], iscrowd=None), expected)
    boxes = np.array([[0.0, 0.0, 4.0, 4.0], [1.0, 2.0, 5.0, 3.0]])
    np.testing.assert_array_equal(tmask.iou(boxes, boxes[::-1].copy(), None),
                                  ref.box_iou(boxes, boxes[::-1], None))


def test_area_of_many_rles():
    rng = np.random.default_rng(4)
    m = (rng.random((6, 5, 300)) < 0.5).astype(np.uint8, order="F")
    counts = [ref.encode_counts(m[:, :, i]) for i in range(300)]
    rles = [{"size": [6, 5], "counts": ref.counts_to_string(c)} for c in counts]
    got = tmask.area(rles)
    assert got.dtype == np.uint32 and got.shape == (300,)
    assert got.tolist() == [ref.area(c) for c in counts]
    np.testing.assert_array_equal(tmask.toBbox(rles), [ref.bbox(c, 6, 5) for c in counts])


@pytest.mark.parametrize(
    ("h", "w", "counts"),
    [
        (8192, 8192, [8192 * 8192]),  # needs 6 chars: pycocotools' 6*m buffer overflows
        (8192, 8192, [0, 8192 * 8192]),
        (8192, 8192, [2**24, 5, 2**26 - 2**24 - 5]),
        (2**15, 2**15, [2**29 + 3, 2**30 - 2**29 - 3]),  # 7-char groups
        (2**16, 2**16, [0, 2**32]),  # area 2**32 wraps a uint32
        (2**16 + 1, 2**16, [1, 2**32 + 2**16 - 1]),
        (2**20, 2**20, [2**39, 2**40 - 2**39 - 7, 7]),
        (2**31, 2**31, [2**61 + 5, 3, 2**61 - 8]),  # 2**62 pixels
        (2**31, 2**31, [1, 2**62 - 2, 1]),
    ],
    ids=lambda v: str(v)[:20],
)
def test_big_counts(h, w, counts):
    r = {"size": [h, w], "counts": ref.counts_to_string(counts)}
    assert tmask.frUncompressedRLE([{"size": [h, w], "counts": counts}], h, w) == [r]
    assert tmask.frPyObjects({"size": [h, w], "counts": counts}, h, w) == r
    assert tmask.merge([r]) == r  # parse + serialise round trip
    # Masks this large are measured by the run-based oracle.
    assert int(tmask.area(r)) == ref_runs.area(counts)
    assert [int(a) for a in tmask.area([r, r])] == [ref_runs.area(counts)] * 2
    # pycocotools' uint32, unless an area would wrap it.
    wide = ref_runs.area(counts) >= 2**32
    assert tmask.area([r, r]).dtype == (np.uint64 if wide else np.uint32)
    assert tmask.area(r).dtype == (np.uint64 if wide else np.uint32)
    np.testing.assert_array_equal(tmask.toBbox(r), ref_runs.bbox(counts, h, w))
    for intersect in (0, 1):
        merged = ref_runs.merge([counts, counts], h, w, bool(intersect))
        assert tmask.merge([r, r], intersect=intersect) == {
            "size": [h, w], "counts": ref.counts_to_string(merged)}
    expected_iou = ref_runs.iou([(counts, h, w)], [(counts, h, w)], [0])
    np.testing.assert_array_equal(tmask.iou([r], [r], [0]), expected_iou)


def test_empty_8192_mask_area_and_bbox_from_string():
    r = {"size": [8192, 8192], "counts": b"PPPPP2"}  # the oracle's string for [2**26]
    assert ref.string_to_counts(r["counts"]) == [8192 * 8192]
    assert int(tmask.area(r)) == 0
    np.testing.assert_array_equal(tmask.toBbox(r), [0.0, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("layout", ["C", "F", "bool-C", "bool-F", "strided", "reversed", "T"])
def test_layouts_equal_fortran_result(layout):
    rng = np.random.default_rng(5)
    base = (rng.random((13, 11, 3)) < 0.4).astype(np.uint8)
    if layout == "C":
        m = np.ascontiguousarray(base)
    elif layout == "F":
        m = np.asfortranarray(base)
    elif layout == "bool-C":
        m = np.ascontiguousarray(base, dtype=bool)
    elif layout == "bool-F":
        m = np.asfortranarray(base, dtype=bool)
    elif layout == "strided":
        big = np.zeros((26, 33, 6), np.uint8)
        big[::2, ::3, ::2] = base
        m = big[::2, ::3, ::2]
    elif layout == "reversed":
        m = np.flip(np.ascontiguousarray(np.flip(base, (0, 1))), (0, 1))
    else:
        m = np.ascontiguousarray(base.transpose(1, 0, 2)).transpose(1, 0, 2)
    expected = [{"size": [13, 11], "counts": ref.counts_to_string(ref.encode_counts(base[:, :, i]))}
                for i in range(3)]
    np.testing.assert_array_equal(m, base)
    assert tmask.encode(m) == expected
    assert tmask.encode(m[:, :, 1]) == expected[1]


def test_decode_of_giant_mask_fails_cleanly():
    # 2**62 pixels cannot be allocated: an exception, not a crash or a wrapped size.
    r = {"size": [2**31, 2**31], "counts": ref.counts_to_string([2**62])}
    with pytest.raises((MemoryError, ValueError)):
        tmask.decode(r)
    with pytest.raises((MemoryError, ValueError)):
        tmask.decode([r] * 5)  # 5 * 2**62 bytes overflows 64 bits


# ---- float masks and float sizes --------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.complex64])
def test_float_masks_are_refused_with_a_thresholding_hint(dtype):
    probabilities = np.full((4, 5, 1), 0.1, dtype=dtype)  # a SAM-style low probability
    import turborle

    for call in (lambda: tmask.encode(np.asfortranarray(probabilities)),
                 lambda: tmask.encode(probabilities[:, :, 0]),
                 lambda: turborle.encode(probabilities[:, :, 0])):
        with pytest.raises(TypeError, match="threshold"):
            call()


@pytest.mark.parametrize("h,w", [(480.0, 640.0), (np.float64(480), np.float32(640)),
                                 (np.int64(480), np.uint16(640)), (480, 640.0)], ids=str)
def test_whole_number_float_sizes_are_accepted_as_pycocotools_does(h, w):
    pycoco = pytest.importorskip("pycocotools.mask")
    poly = [[10.5, 20.0, 300.0, 40.5, 200.0, 400.0]]
    expected = pycoco.frPyObjects(poly, 480.0, 640.0)
    assert tmask.frPyObjects(poly, h, w) == expected
    assert tmask.frPyObjects(np.array([[5.0, 6.0, 70.0, 80.0]]), h, w) == \
        pycoco.frPyObjects(np.array([[5.0, 6.0, 70.0, 80.0]]), 480.0, 640.0)
    rle = {"size": [h, w], "counts": expected[0]["counts"]}
    assert tmask.area(rle) == pycoco.area(expected[0])
    np.testing.assert_array_equal(tmask.toBbox([rle]), pycoco.toBbox(expected))
    with warnings.catch_warnings():  # pycocotools' Masks.__array__ warns under numpy 2
        warnings.simplefilter("ignore", DeprecationWarning)
        dense = pycoco.decode(expected)
    np.testing.assert_array_equal(tmask.decode([rle]), dense)
    uncompressed = {"size": [h, w], "counts": [480 * 640 - 7, 7]}
    assert tmask.frPyObjects(uncompressed, h, w) == pycoco.frPyObjects(
        {"size": [480, 640], "counts": [480 * 640 - 7, 7]}, 480, 640)


@pytest.mark.parametrize("bad", [2.5, float("nan"), float("inf"), -1.0, np.float64(-0.5)],
                         ids=str)
def test_fractional_or_non_finite_sizes_are_refused(bad):
    import turborle

    with pytest.raises(ValueError, match="height") as info:
        tmask.area({"size": [bad, 4], "counts": "4"})
    assert isinstance(info.value, turborle.RLEError) and info.value.index == 0
    with pytest.raises(ValueError, match="width"):
        tmask.area([{"size": [1, 1], "counts": "01"}, {"size": [4, bad], "counts": "4"}])
    with pytest.raises(ValueError):
        tmask.frPyObjects([[1.0, 1.0, 3.0, 1.0, 3.0, 3.0]], bad, 8)


def test_iou_is_fortran_ordered_like_pycocotools():
    boxes = np.array([[0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 4.0, 4.0], [9.0, 9.0, 1.0, 1.0]])
    rles = tmask.frPyObjects(boxes, 12, 12)
    for dt, gt in ((rles, rles[:2]), (boxes, boxes[:2])):
        ious = tmask.iou(dt, gt, [0, 1])
        assert ious.shape == (3, 2) and ious.flags.f_contiguous and not ious.flags.c_contiguous


def test_iou_of_rles_against_boxes_names_both_kinds():
    box = np.array([[0.0, 0.0, 2.0, 2.0]])
    with pytest.raises(TypeError, match="dt holds RLEs and gt holds boxes"):
        tmask.iou([GOOD], box, [0])


# ---- errors carry facts as attributes ----------------------------------------------------------


def test_errors_carry_the_mask_index_and_byte_offset():
    import turborle

    objs = [GOOD, GOOD, {"size": [2, 2], "counts": b"1\xff3"}]
    with pytest.raises(turborle.RLEError) as info:
        turborle.from_coco(objs)
    e = info.value
    assert (e.index, e.item, e.offset) == (2, "mask", 1)
    assert str(e).startswith("mask 2: ") and e.reason in str(e) and "0xff" in e.reason
    with pytest.raises(turborle.RLEError) as info:
        turborle.from_fal(["1 2", "5 1 2 1"], 3, 3)
    assert (info.value.index, info.value.offset) == (1, 4)
    with pytest.raises(turborle.RLEError) as info:
        tmask.frPyObjects([[0.0, 0.0, 1.0, 1.0, 2.0, 2.0], [0.0, float("nan"), 1.0, 1.0, 2, 2]], 4, 4)
    assert (info.value.item, info.value.index) == ("polygon", 1)
    import pickle

    again = pickle.loads(pickle.dumps(e))
    assert (type(again), str(again), again.index, again.offset) == (type(e), str(e), 2, 1)
