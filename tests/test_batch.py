"""The batch API (turborle.RLEBatch and the top-level functions) against numpy and against
turborle.mask, which the differential suite pins to pycocotools."""

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import turborle
from turborle import mask as tmask
from turborle.testing import reference as ref


def _masks(seed, n, h, w, density=0.3):
    rng = np.random.default_rng(seed)
    m = rng.random((n, h, w)) < density
    if n > 1:
        m[0] = False  # an empty mask
    if n > 2:
        m[1] = True  # a full one
    return m


@st.composite
def mask_stacks(draw, max_n=4, max_side=12):
    n = draw(st.integers(1, max_n))
    h = draw(st.integers(0, max_side))
    w = draw(st.integers(0, max_side))
    seed = draw(st.integers(0, 2**32 - 1))
    density = draw(st.sampled_from([0.0, 0.05, 0.5, 0.95, 1.0]))
    return _masks(seed, n, h, w, density)


def _coco_bytes(batch):
    return [{"size": o["size"], "counts": o["counts"].encode()} for o in batch.to_coco()]


@settings(deadline=None)
@given(mask_stacks())
def test_encode_matches_mask_module_and_reference(m):
    batch = turborle.encode(m)
    assert len(batch) == len(m)
    expected = tmask.encode(np.asfortranarray(m.transpose(1, 2, 0)))
    assert _coco_bytes(batch) == expected
    for i in range(len(m)):
        lo, hi = int(batch.offsets[i]), int(batch.offsets[i + 1])
        assert batch.counts[lo:hi].tolist() == ref.encode_counts(m[i])


@settings(deadline=None)
@given(mask_stacks())
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
def test_encode_layouts_without_difference(layout):
    m = _masks(3, 4, 21, 67)
    expected = turborle.encode(m)
    if layout == "C":
        x = np.ascontiguousarray(m)
    elif layout == "F":
        x = np.asfortranarray(m.transpose(1, 2, 0)).transpose(2, 0, 1)
    elif layout == "strided":
        big = np.zeros((4, 42, 134), bool)
        big[:, ::2, ::2] = m
        x = big[:, ::2, ::2]
    elif layout == "2d":
        assert turborle.encode(m[2]) == expected[2]
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
    assert turborle.encode(x) == expected


def test_encode_rejects_bad_shapes():
    with pytest.raises(ValueError):
        turborle.encode(np.zeros((2, 2, 2, 2), bool))
    with pytest.raises(TypeError):
        turborle.encode(np.array([["a"]]))


def test_measurements_match_mask_module():
    m = _masks(4, 9, 40, 31)
    batch = turborle.encode(m)
    coco = _coco_bytes(batch)
    assert turborle.area(batch).dtype == np.uint64
    assert np.array_equal(turborle.area(batch), tmask.area(coco))
    assert np.array_equal(turborle.bbox(batch), tmask.toBbox(coco))
    xyxy = turborle.bbox(batch, fmt="xyxy")
    assert np.array_equal(xyxy[:, :2], tmask.toBbox(coco)[:, :2])
    assert np.array_equal(xyxy[:, 2:], tmask.toBbox(coco)[:, :2] + tmask.toBbox(coco)[:, 2:])
    with pytest.raises(ValueError):
        turborle.bbox(batch, fmt="cxcywh")
    crowd = np.arange(9) % 3 == 0
    assert np.array_equal(turborle.iou(batch, batch[::-1], crowd), tmask.iou(coco, coco[::-1], crowd))
    assert turborle.iou(batch, batch[0:0]).shape == (9, 0)


@settings(deadline=None)
@given(mask_stacks(max_n=5))
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
        got = turborle.merge(batch, op)
        assert len(got) == 1
        assert got == turborle.encode(want), op  # canonical counts, not just equal pixels
    comp = turborle.complement(batch)
    assert comp == turborle.encode(~b)
    assert turborle.complement(comp) == batch


def test_merge_matches_mask_module_and_rejects_bad_input():
    m = _masks(5, 6, 30, 30)
    batch = turborle.encode(m)
    coco = _coco_bytes(batch)
    assert _coco_bytes(turborle.merge(batch)) == [tmask.merge(coco)]
    assert _coco_bytes(turborle.merge(batch, "intersection")) == [tmask.merge(coco, 1)]
    with pytest.raises(ValueError, match="op"):
        turborle.merge(batch, "nand")
    with pytest.raises(ValueError):
        turborle.merge(batch[0:0])
    mixed = turborle.concat([batch[0], turborle.encode(np.zeros((3, 3), bool))])
    with pytest.raises(ValueError, match="size"):
        turborle.merge(mixed)


def test_coco_round_trip_json_and_mixed_sizes():
    a, b = _masks(6, 2, 5, 9), _masks(7, 3, 11, 4)
    batch = turborle.concat([turborle.encode(a), turborle.encode(b)])
    objs = batch.to_coco()
    assert all(isinstance(o["counts"], str) for o in objs)
    text = json.dumps(objs)
    again = turborle.from_coco(json.loads(text))
    assert again == batch
    as_bytes = [{"size": o["size"], "counts": o["counts"].encode()} for o in objs]
    assert turborle.from_coco(as_bytes) == batch
    uncompressed = [
        {"size": o["size"], "counts": batch.counts[batch.offsets[i]:batch.offsets[i + 1]].tolist()}
        for i, o in enumerate(objs)
    ]
    assert turborle.from_coco(uncompressed) == batch
    assert turborle.from_coco(objs[0]) == batch[0]


def test_same_mask_in_every_coco_form_decodes_the_same():
    m = _masks(8, 1, 13, 17)[0]
    compressed = tmask.encode(np.asfortranarray(m))
    forms = [
        compressed,
        {"size": compressed["size"], "counts": compressed["counts"].decode()},
        {"size": compressed["size"], "counts": ref.encode_counts(m)},
    ]
    for form in forms:
        assert np.array_equal(turborle.decode(turborle.from_coco(form))[0], m)


def test_batch_container_protocol():
    m = _masks(9, 6, 7, 5)
    batch = turborle.encode(m)
    assert len(batch) == 6
    assert batch[-1] == batch[5] == turborle.encode(m[5])
    assert batch[1:4] == turborle.encode(m[1:4])
    assert batch[[5, 0, 5]] == turborle.encode(m[[5, 0, 5]])
    keep = np.array([True, False, True, False, False, True])
    assert batch[keep] == turborle.encode(m[keep])
    assert [x for x in batch] == [turborle.encode(x) for x in m]
    assert pickle.loads(pickle.dumps(batch)) == batch
    assert turborle.concat([batch[:2], batch[2:]]) == batch
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
    batch = turborle.encode(_masks(10, 3, 4, 4))
    for arr in (batch.counts, batch.offsets, batch.heights, batch.widths):
        assert arr.dtype == np.uint64 and not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[...] = 0
    rebuilt = turborle.RLEBatch(batch.counts, batch.offsets, batch.heights, batch.widths)
    assert rebuilt == batch
    c, o, h, w = (np.array(a) for a in (batch.counts, batch.offsets, batch.heights, batch.widths))
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
def test_threads_argument_gives_identical_results(threads):
    m = _masks(11, 40, 23, 19)
    batch = turborle.encode(m, threads=threads)
    assert batch == turborle.encode(m, threads=1)
    assert np.array_equal(turborle.decode(batch, threads=threads), m)
    assert np.array_equal(turborle.iou(batch, batch, threads=threads), turborle.iou(batch, batch, threads=1))
    assert turborle.merge(batch, threads=threads) == turborle.merge(batch, threads=1)
    assert turborle.from_coco(batch.to_coco(), threads=threads) == batch


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
