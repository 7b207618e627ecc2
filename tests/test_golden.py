"""Golden vectors: exact pycocotools outputs pinned inline and in tests/data/golden.json.

These tests need neither pycocotools nor the numpy oracle, so compatibility stays pinned
wherever the suite runs. tests/data/make_golden.py regenerates the JSON.
"""

import json
import pathlib

import numpy as np
import pytest

from turborle import mask as tmask

GOLDEN = json.loads((pathlib.Path(__file__).parent / "data" / "golden.json").read_text())


def rle(counts, h, w):
    return {"size": [h, w], "counts": counts.encode() if isinstance(counts, str) else counts}


def mask_from_rows(rows):
    return np.asfortranarray(np.array([[int(c) for c in row] for row in rows], np.uint8))


# ---- codec vectors from coco-rle.md -----------------------------------------------------------

CODEC = [
    # (counts, h, w, string)
    ([8, 12, 6, 15], 41, 1, b"8<63"),
    ([20], 4, 5, b"d0"),
    ([0, 3], 3, 1, b"03"),
    ([0, 1000], 10, 100, b"0Xo0"),
]


@pytest.mark.parametrize(("counts", "h", "w", "string"), CODEC)
def test_codec_vectors(counts, h, w, string):
    got = tmask.frUncompressedRLE([{"size": [h, w], "counts": counts}], h, w)
    assert got == [{"size": [h, w], "counts": string}]
    # And back: decoding the string gives the runs.
    dense = tmask.decode(rle(string, h, w)).ravel(order="F")
    expected = np.repeat(np.arange(len(counts)) % 2, counts).astype(np.uint8)
    np.testing.assert_array_equal(dense, expected)
    assert tmask.area(rle(string, h, w)) == sum(counts[1::2])


def test_codec_vector_from_dense():
    m = np.zeros((41, 1), np.uint8, order="F")
    m[8:20] = 1
    m[26:41] = 1
    assert tmask.encode(m) == {"size": [41, 1], "counts": b"8<63"}


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 0)])
def test_empty_mask(shape):
    m = np.zeros(shape, np.uint8, order="F")
    assert tmask.encode(m) == {"size": list(shape), "counts": b"0"}
    m3 = np.zeros((*shape, 2), np.uint8, order="F")
    assert tmask.encode(m3) == [{"size": list(shape), "counts": b"0"}] * 2


def test_merge_empty_list():
    assert tmask.merge([]) == {"size": [0, 0], "counts": b""}


# ---- polygon vectors from coco-rle.md ----------------------------------------------------------


def test_polygon_square_in_large_image():
    (r,) = tmask.frPyObjects([[0, 0, 10, 0, 10, 10, 0, 10]], 100, 100)
    assert tmask.area(r) == 100
    np.testing.assert_array_equal(tmask.toBbox(r), [0.0, 0.0, 10.0, 10.0])


def test_polygon_half_pixel_square():
    (r,) = tmask.frPyObjects([[0.5, 0.5, 3.5, 0.5, 3.5, 3.5, 0.5, 3.5]], 6, 6)
    expected = np.zeros((6, 6), np.uint8)
    expected[1:4, 1:4] = 1
    np.testing.assert_array_equal(tmask.decode(r), expected)


def test_box_fractional():
    (r,) = tmask.frPyObjects(np.array([[0.4, 0.4, 2.2, 2.2]]), 6, 6)
    expected = np.zeros((6, 6), np.uint8)
    expected[0:3, 0:3] = 1
    np.testing.assert_array_equal(tmask.decode(r), expected)


# ---- vectors generated with pycocotools 2.0.11 -------------------------------------------------


@pytest.mark.parametrize("case", GOLDEN["encode"], ids=lambda c: c["counts"])
def test_encode_golden(case):
    m = mask_from_rows(case["mask"])
    h, w = m.shape
    assert tmask.encode(m) == {"size": [h, w], "counts": case["counts"].encode()}
    np.testing.assert_array_equal(tmask.decode(rle(case["counts"], h, w)), m)
    # counts given as str, as in COCO json files.
    np.testing.assert_array_equal(tmask.decode({"size": [h, w], "counts": case["counts"]}), m)


@pytest.mark.parametrize("case", GOLDEN["poly"], ids=lambda c: c["counts"])
def test_poly_golden(case):
    h, w = case["h"], case["w"]
    expected = {"size": [h, w], "counts": case["counts"].encode()}
    assert tmask.frPyObjects([case["xy"]], h, w) == [expected]
    assert tmask.frPoly([case["xy"]], h, w) == [expected]


@pytest.mark.parametrize("case", GOLDEN["box"], ids=lambda c: c["counts"])
def test_box_golden(case):
    h, w = case["h"], case["w"]
    expected = {"size": [h, w], "counts": case["counts"].encode()}
    assert tmask.frPyObjects(np.array([case["box"]]), h, w) == [expected]
    assert tmask.frBbox(np.array([case["box"]], dtype=np.float64), h, w) == [expected]


@pytest.mark.parametrize("case", GOLDEN["measure"], ids=lambda c: c["counts"])
def test_area_bbox_golden(case):
    r = rle(case["counts"], case["h"], case["w"])
    assert tmask.area(r) == case["area"]
    np.testing.assert_array_equal(tmask.toBbox(r), case["bbox"])


def test_area_bbox_golden_batch():
    rles = [rle(c["counts"], c["h"], c["w"]) for c in GOLDEN["measure"]]
    np.testing.assert_array_equal(tmask.area(rles), [c["area"] for c in GOLDEN["measure"]])
    np.testing.assert_array_equal(tmask.toBbox(rles), [c["bbox"] for c in GOLDEN["measure"]])


@pytest.mark.parametrize("case", GOLDEN["merge"], ids=lambda c: c["union"])
def test_merge_golden(case):
    h, w = case["h"], case["w"]
    rles = [rle(c, h, w) for c in case["masks"]]
    assert tmask.merge(rles) == {"size": [h, w], "counts": case["union"].encode()}
    assert tmask.merge(rles, intersect=0) == {"size": [h, w], "counts": case["union"].encode()}
    assert tmask.merge(rles, intersect=1) == \
        {"size": [h, w], "counts": case["intersection"].encode()}


@pytest.mark.parametrize("case", GOLDEN["iou"], ids=lambda c: "-".join(c["gt"]))
def test_iou_golden(case):
    h, w = case["h"], case["w"]
    dt = [rle(c, h, w) for c in case["dt"]]
    gt = [rle(c, h, w) for c in case["gt"]]
    got = tmask.iou(dt, gt, case["iscrowd"])
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, case["iou"])


@pytest.mark.parametrize("case", GOLDEN["box_iou"], ids=lambda c: str(c["iscrowd"]))
def test_box_iou_golden(case):
    got = tmask.iou(np.array(case["dt"]), np.array(case["gt"]), case["iscrowd"])
    np.testing.assert_array_equal(got, case["iou"])
