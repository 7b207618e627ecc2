"""The batch API (turborle.RLEBatch and the top-level functions) against the numpy oracle.

Every batch a test builds is checked column by column against the oracle's counts of the
dense masks it must hold (``assert_holds``), never against another turborle call.
"""

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings

import turborle
from turborle import mask as tmask
from turborle.testing import generators as gen
from turborle.testing import reference as ref
from turborle.testing import strategies as rst

def _masks(seed, n, h, w):
    """``(n, h, w)`` bool masks of every kind in turn: the first is empty, the second full."""
    stack = gen.random_masks(np.random.default_rng(seed), h, w, n).transpose(2, 0, 1)
    return np.ascontiguousarray(stack, dtype=bool)


def coco_of(masks):
    """The oracle's COCO dicts (``str`` counts) of 2-D masks."""
    return [{"size": [int(m.shape[0]), int(m.shape[1])],
             "counts": ref.counts_to_string(ref.encode_counts(m)).decode()} for m in masks]


def assert_holds(batch, masks):
    """``batch`` holds exactly ``masks``: its columns and COCO strings are the oracle's."""
    assert isinstance(batch, turborle.RLEBatch)
    assert len(batch) == len(masks)
    for i, m in enumerate(masks):
        lo, hi = int(batch.offsets[i]), int(batch.offsets[i + 1])
        assert batch.counts[lo:hi].tolist() == ref.encode_counts(m)
        assert (int(batch.heights[i]), int(batch.widths[i])) == m.shape
    assert batch.to_coco() == coco_of(masks)


@settings(deadline=None)
@given(rst.masks(batch=True, max_side=12))
def test_encode_against_reference(m):
    assert_holds(turborle.encode(m), m)


@settings(deadline=None)
@given(rst.masks(batch=True, max_side=12))
def test_decode_both_orders_round_trip(m):
    batch = turborle.encode(m)
    if m.shape[1] * m.shape[2] == 0 and len(m) == 0:
        return
    c = turborle.decode(batch)
    f = turborle.decode(batch, order="F")
    assert c.dtype == np.bool_ and c.flags.c_contiguous and c.shape == m.shape
    assert f.shape == m.shape and f.transpose(0, 2, 1).flags.c_contiguous
    assert np.array_equal(c, m) and np.array_equal(f, m)


def test_decode_into_out_writes_every_byte():
    m = _masks(1, 5, 33, 70)
    batch = turborle.encode(m)
    out = np.full(m.shape, 7, dtype=np.uint8)  # garbage that must be overwritten
    got = turborle.decode(batch, out=out)
    assert np.array_equal(out, m.astype(np.uint8)) and np.array_equal(got, m)
    out_f = np.full((5, 70, 33), 7, dtype=np.uint8).transpose(0, 2, 1)
    turborle.decode(batch, order="F", out=out_f)
    assert np.array_equal(out_f, m.astype(np.uint8))


@pytest.mark.parametrize(
    "out, exc",
    [
        (np.zeros((5, 33, 71), np.uint8), ValueError),  # shape
        (np.zeros((5, 33, 70), np.float32), TypeError),  # dtype
        (np.zeros((5, 70, 33), np.uint8).transpose(0, 2, 1), ValueError),  # not C-contiguous
        ("not an array", TypeError),
    ],
)
def test_decode_rejects_bad_out(out, exc):
    batch = turborle.encode(_masks(2, 5, 33, 70))
    with pytest.raises(exc):
        turborle.decode(batch, out=out)


def test_decode_rejects_read_only_out_and_bad_order():
    batch = turborle.encode(_masks(2, 2, 4, 4))
    out = np.zeros((2, 4, 4), np.uint8)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        turborle.decode(batch, out=out)
    with pytest.raises(ValueError, match="order"):
        turborle.decode(batch, order="X")


def test_decode_mixed_sizes_and_empty_raise():
    mixed = turborle.concat([turborle.encode(np.zeros((3, 4), bool)), turborle.encode(np.zeros((4, 3), bool))])
    with pytest.raises(ValueError, match="one size"):
        turborle.decode(mixed)
    with pytest.raises(ValueError):
        turborle.decode(mixed[0:0])


@pytest.mark.parametrize("layout", ["C", "F", "strided", "2d", "uint8", "int32", "dlpack"])
def test_encode_layouts_against_reference(layout):
    m = _masks(3, 4, 21, 67)
    if layout == "C":
        x = np.ascontiguousarray(m)
    elif layout == "F":
        x = np.asfortranarray(m.transpose(1, 2, 0)).transpose(2, 0, 1)
    elif layout == "strided":
        big = np.zeros((4, 42, 134), bool)
        big[:, ::2, ::2] = m
        x = big[:, ::2, ::2]
    elif layout == "2d":
        assert_holds(turborle.encode(m[2]), m[2:3])
        return
    elif layout == "uint8":
        x = m.astype(np.uint8) * 200
    elif layout == "int32":
        x = m.astype(np.int32) * -3
    else:

        class OnlyDLPack:  # exposes nothing but the DLPack protocol, as a torch CPU tensor can
            def __init__(self, a):
                self._a = a

            def __dlpack__(self, **kw):
                return self._a.__dlpack__(**kw)

            def __dlpack_device__(self):
                return self._a.__dlpack_device__()

        x = OnlyDLPack(m.astype(np.uint8))
    assert_holds(turborle.encode(x), m)


def test_encode_rejects_bad_shapes():
    with pytest.raises(ValueError):
        turborle.encode(np.zeros((2, 2, 2, 2), bool))
    with pytest.raises(TypeError):
        turborle.encode(np.array([["a"]]))


def test_measurements_against_reference():
    m = _masks(4, 9, 40, 31)
    batch = turborle.encode(m)
    counts = [ref.encode_counts(x) for x in m]
    assert turborle.area(batch).dtype == np.uint64
    assert turborle.area(batch).tolist() == [ref.area(c) for c in counts]
    boxes = np.array([ref.bbox(c, 40, 31) for c in counts])
    np.testing.assert_array_equal(turborle.bbox(batch), boxes)
    np.testing.assert_array_equal(turborle.bbox(batch, fmt="xyxy"),
                                  np.hstack([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]]))
    with pytest.raises(ValueError):
        turborle.bbox(batch, fmt="cxcywh")
    crowd = np.arange(9) % 3 == 0
    items = [(c, 40, 31) for c in counts]
    np.testing.assert_array_equal(turborle.iou(batch, batch[::-1], crowd),
                                  ref.iou(items, items[::-1], crowd))
    assert turborle.iou(batch, batch[0:0]).shape == (9, 0)


@settings(deadline=None)
@given(rst.masks(batch=True, max_side=12, max_n=5))
def test_merge_ops_and_complement_against_numpy(m):
    batch = turborle.encode(m)
    b = m.astype(bool)
    expected = {
        "union": np.logical_or.reduce(b),
        "intersection": np.logical_and.reduce(b),
        "xor": np.logical_xor.reduce(b),
        "difference": b[0] & ~np.logical_or.reduce(b[1:]) if len(b) > 1 else b[0],
    }
    for op, want in expected.items():
        assert_holds(turborle.merge(batch, op), [want])  # canonical counts, not just pixels
    comp = turborle.complement(batch)
    assert_holds(comp, ~b)
    assert_holds(turborle.complement(comp), b)


def test_merge_of_both_apis_against_numpy_and_bad_input():
    m = _masks(5, 6, 30, 30)
    batch = turborle.encode(m)
    coco = coco_of(m)
    for intersect, op, want in ((0, "union", m.any(axis=0)), (1, "intersection", m.all(axis=0))):
        assert_holds(turborle.merge(batch, op), [want])
        assert tmask.merge(coco, intersect)["counts"].decode() == coco_of([want])[0]["counts"]
    with pytest.raises(ValueError, match="op"):
        turborle.merge(batch, "nand")
    with pytest.raises(ValueError):
        turborle.merge(batch[0:0])
    mixed = turborle.concat([batch[0], turborle.encode(np.zeros((3, 3), bool))])
    with pytest.raises(ValueError, match="size"):
        turborle.merge(mixed)


def test_coco_round_trip_json_and_mixed_sizes():
    a, b = _masks(6, 2, 5, 9), _masks(7, 3, 11, 4)
    masks = [*a, *b]
    batch = turborle.concat([turborle.encode(a), turborle.encode(b)])
    assert_holds(batch, masks)
    objs = batch.to_coco()
    assert all(isinstance(o["counts"], str) for o in objs)
    text = json.dumps(coco_of(masks))
    assert_holds(turborle.from_coco(json.loads(text)), masks)
    as_bytes = [{"size": o["size"], "counts": o["counts"].encode()} for o in coco_of(masks)]
    assert_holds(turborle.from_coco(as_bytes), masks)
    uncompressed = [{"size": list(m.shape), "counts": ref.encode_counts(m)} for m in masks]
    assert_holds(turborle.from_coco(uncompressed), masks)
    assert_holds(turborle.from_coco(coco_of(masks)[0]), masks[:1])


def test_same_mask_in_every_coco_form_decodes_the_same():
    m = _masks(8, 1, 13, 17)[0]
    string = ref.counts_to_string(ref.encode_counts(m))
    forms = [
        {"size": [13, 17], "counts": string},
        {"size": [13, 17], "counts": string.decode()},
        {"size": [13, 17], "counts": ref.encode_counts(m)},
    ]
    for form in forms:
        assert np.array_equal(turborle.decode(turborle.from_coco(form))[0], m)


def test_batch_container_protocol():
    m = _masks(9, 6, 7, 5)
    batch = turborle.encode(m)
    assert len(batch) == 6
    assert_holds(batch[-1], m[5:])
    assert_holds(batch[5], m[5:])
    assert_holds(batch[1:4], m[1:4])
    assert_holds(batch[[5, 0, 5]], m[[5, 0, 5]])
    keep = np.array([True, False, True, False, False, True])
    assert_holds(batch[keep], m[keep])
    items = list(batch)
    assert len(items) == 6
    for item, x in zip(items, m):
        assert_holds(item, [x])
    assert_holds(pickle.loads(pickle.dumps(batch)), m)
    assert_holds(turborle.concat([batch[:2], batch[2:]]), m)
    assert batch == turborle.from_coco(coco_of(m))
    assert batch != batch[:5] and batch != "batch"
    with pytest.raises(IndexError):
        batch[6]
    with pytest.raises(IndexError):
        batch[np.array([True])]
    with pytest.raises(TypeError):
        batch["x"]
    with pytest.raises(TypeError):
        hash(batch)
    assert batch.nbytes == sum(a.nbytes for a in (batch.counts, batch.offsets, batch.heights, batch.widths))
    assert "6 masks of 7x5" in repr(batch)


def test_columns_are_read_only_views_and_constructor_validates():
    m = _masks(10, 3, 4, 4)
    batch = turborle.encode(m)
    for arr in (batch.counts, batch.offsets, batch.heights, batch.widths):
        assert arr.dtype == np.uint64 and not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[...] = 0
    counts = [ref.encode_counts(x) for x in m]
    c = np.array([v for cs in counts for v in cs], dtype=np.uint64)
    o = np.cumsum([0] + [len(cs) for cs in counts]).astype(np.uint64)
    h, w = np.full(3, 4, dtype=np.uint64), np.full(3, 4, dtype=np.uint64)
    assert_holds(turborle.RLEBatch(c, o, h, w), m)
    bad_sum = c.copy()
    bad_sum[0] += 1
    for args, match in [
        ((bad_sum, o, h, w), "sum"),
        ((c, o[:-1], h, w), "offsets"),
        ((c, o[::-1].copy(), h, w), "offsets"),
        ((c, o, h, w[:-1]), "widths"),
        ((c, o, h.astype(np.int64) * -1, w), "negative"),
    ]:
        with pytest.raises(ValueError, match=match):
            turborle.RLEBatch(*args)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threads_argument_against_reference(threads):
    m = _masks(11, 40, 23, 19)
    batch = turborle.encode(m, threads=threads)
    assert_holds(batch, m)
    assert np.array_equal(turborle.decode(batch, threads=threads), m)
    items = [(ref.encode_counts(x), 23, 19) for x in m]
    np.testing.assert_array_equal(turborle.iou(batch, batch, threads=threads),
                                  ref.iou(items, items, None))
    assert_holds(turborle.merge(batch, threads=threads), [m.any(axis=0)])
    assert_holds(turborle.from_coco(coco_of(m), threads=threads), m)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_thread_counts_raise(bad):
    with pytest.raises(ValueError, match="threads"):
        turborle.encode(np.zeros((2, 2), bool), threads=bad)


def test_bad_thread_environment_raises(monkeypatch):
    monkeypatch.setenv("TURBORLE_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="TURBORLE_NUM_THREADS"):
        turborle.encode(np.zeros((2, 2), bool))
    monkeypatch.setenv("TURBORLE_NUM_THREADS", "3")
    assert turborle.info()["threads"] == 3


def test_info_reports_build():
    info = turborle.info()
    assert info["version"] == turborle.__version__
    assert info["simd"] in ("scalar", "neon", "avx2", "avx512")
    # (the CUDA fields are checked in tests/test_cuda.py)
    assert isinstance(info["cuda_built"], bool) and isinstance(info["cuda_available"], bool)
    assert isinstance(info["threads"], int) and info["threads"] >= 1


def test_command_line_info_and_example():
    out = subprocess.run([sys.executable, "-m", "turborle", "info"], capture_output=True,
                         text=True, check=True).stdout
    assert "simd:" in out and "version:" in out
    out = subprocess.run([sys.executable, "-m", "turborle", "example"], capture_output=True,
                         text=True, check=True).stdout
    assert "round trip exact: True" in out
