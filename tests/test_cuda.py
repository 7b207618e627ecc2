"""turborle.cuda against the CPU core, on every target this machine has.

The GPU algorithms (csrc/cuda) are one source compiled twice: by nvcc for the GPU and by the
C++ compiler for the host (thrust's serial backend). Every test here runs on the host build
("host", always) and, where a CUDA device is present, on the GPU ("device"), through the same
Python code (turborle.cuda's argument handling, RLEBatch assembly, dict parsing). The oracle is
the CPU core (turborle.encode / decode / area / bbox / from_coco: an independent
implementation), numpy, and pycocotools-compatible golden behaviour it already pins.

benchmarks/gpu/run.sh runs this module on a GPU machine with TURBORLE_REQUIRE_GPU=1, where a
missing device is a failure rather than a narrower parametrisation.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import turborle
import turborle.cuda as tc
from turborle.testing import reference
from turborle.testing import strategies as rst

from turborle.testing.generators import MASK_KINDS as KINDS
from turborle.testing.generators import SHAPES
from turborle.testing.generators import random_masks as make_masks

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.masks import sam_like_masks  # noqa: E402

if tc._cuda is None:
    if shutil.which("nvcc") and os.environ.get("TURBORLE_CUDA", "auto") != "0":
        raise RuntimeError("nvcc is on PATH but turborle._cuda was not built: see the build log "
                           "(pip install -v), or set TURBORLE_CUDA=0 to build without it")
    pytest.skip("turborle._cuda not built (no nvcc when turborle was installed)",
                allow_module_level=True)

GPU = tc.is_available()
if os.environ.get("TURBORLE_REQUIRE_GPU") == "1" and not GPU:
    raise RuntimeError("TURBORLE_REQUIRE_GPU=1 but no CUDA device is available")


class Target:
    """Runs turborle.cuda on one target: numpy arrays in and out of the host build, or torch
    tensors on the GPU (results brought back to numpy for comparison)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.impl = tc._HOST if name == "host" else tc._DEVICE
        if name == "device":
            import torch

            self.torch = torch

    def put(self, x: np.ndarray, dtype: str | None = None) -> Any:
        """x on the target (C order); dtype "bfloat16" reads x (uint16) as bfloat16 bits."""
        if self.name == "host":
            return np.ascontiguousarray(x)
        t = self.torch.from_numpy(np.ascontiguousarray(x))
        if dtype == "bfloat16":
            t = t.view(self.torch.bfloat16)
        return t.cuda()

    def get(self, y: Any) -> np.ndarray:
        return np.asarray(y) if self.name == "host" else y.get()

    def encode(self, x: Any, threshold: float | None = None, strings: bool = False) -> Any:
        return tc._encode(self.impl, x, threshold, None, strings)

    def decode(self, rles: Any, order: str = "C", out: Any = None) -> Any:
        return tc._decode(self.impl, rles, None, order, out, None)

    def area(self, x: Any, threshold: float | None = None) -> np.ndarray:
        return self.get(tc._measure(self.impl, x, threshold, None, want_area=True))

    def bbox(self, x: Any, threshold: float | None = None, fmt: str = "xywh") -> np.ndarray:
        return self.get(tc._measure(self.impl, x, threshold, None, want_area=False,
                                    xyxy=fmt == "xyxy"))

    def raw(self) -> Any:
        """The binding's functions of this target (pointers in)."""
        return tc._cuda.host if self.name == "host" else tc._cuda.device


@pytest.fixture(params=["host", "device"] if GPU else ["host"])
def target(request: pytest.FixtureRequest) -> Target:
    return Target(request.param)


def stack(kind_masks: np.ndarray) -> np.ndarray:
    """(h, w, n) Fortran masks as an (n, h, w) C-ordered stack."""
    return np.ascontiguousarray(kind_masks.transpose(2, 0, 1))


def cpu_error(fn: Any, *args: Any, **kwargs: Any) -> tuple[type, str]:
    with pytest.raises((ValueError, TypeError)) as info:
        fn(*args, **kwargs)
    return type(info.value), str(info.value)


# ---- encode ----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES, ids=[f"{h}x{w}" for h, w in SHAPES])
def test_encode_matches_cpu_core(target: Target, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    for kind in KINDS:
        masks = stack(make_masks(rng, *shape, 3, kind))
        expected = turborle.encode(masks)
        assert target.encode(target.put(masks.astype(bool))) == expected, kind
        scaled = masks * np.uint8(rng.integers(1, 256))  # any nonzero byte is foreground
        assert target.encode(target.put(scaled)) == expected, kind
        assert target.encode(target.put(masks), strings=True) == expected.to_coco(), kind


@pytest.mark.parametrize("size", [(96, 160), (257, 131), (64, 64), (1, 300), (300, 1)])
def test_encode_sam_like_masks(target: Target, size: tuple[int, int]) -> None:
    masks = sam_like_masks(6, *size, seed=7)
    expected = turborle.encode(masks)
    assert target.encode(target.put(masks)) == expected
    assert target.encode(target.put(masks), strings=True) == expected.to_coco()


def test_encode_single_mask_empty_batch_and_no_pixels(target: Target) -> None:
    one = np.zeros((5, 7), np.uint8)
    one[2:4, 1] = 1
    assert target.encode(target.put(one)) == turborle.encode(one)
    for shape in [(0, 4, 4), (3, 0, 5), (3, 5, 0), (2, 0, 0)]:
        masks = np.zeros(shape, bool)
        expected = turborle.encode(masks)
        assert target.encode(target.put(masks)) == expected
        assert target.encode(target.put(masks), strings=True) == expected.to_coco()


@pytest.mark.parametrize("width", [16, 32, 48, 8, 4, 17])
def test_encode_reads_unaligned_data(target: Target, width: int) -> None:
    # Rows of whole 16-byte vectors are read with wide loads when the data is aligned; a view
    # one element into a buffer is not, and takes the element-wise path. Both must agree.
    rng = np.random.default_rng(width)
    for dtype in (np.uint8, np.float16, np.float32):
        masks = rng.random((3, 11, width)) < 0.5
        values = masks.astype(dtype) if dtype == np.uint8 else np.where(masks, 1, -1).astype(dtype)
        flat = np.zeros(values.size + 1, dtype)
        flat[1:] = values.ravel()
        shifted = target.put(flat)[1:].reshape(values.shape)
        threshold = None if dtype == np.uint8 else 0.0
        assert target.encode(shifted, threshold) == turborle.encode(masks)


@given(rst.masks(max_side=40, max_n=4, order="C", batch=True))
def test_encode_property(masks: np.ndarray) -> None:
    host = Target("host")
    expected = turborle.encode(masks)
    assert host.encode(np.ascontiguousarray(masks)) == expected
    assert host.encode(np.ascontiguousarray(masks), strings=True) == expected.to_coco()


# ---- float logits ----------------------------------------------------------------------------

def as_threshold(t: float, dtype: type) -> Any:
    """The threshold as the comparison sees it: rounded to float32, then to dtype (numpy's own
    conversions, the oracle of csrc/cuda's; beyond a type's range: infinity)."""
    with np.errstate(over="ignore"):
        return dtype(np.float32(t))


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_logits_threshold_matches_numpy(target: Target, dtype: type) -> None:
    rng = np.random.default_rng(3)
    logits = (rng.standard_normal((4, 37, 29)) * 3).astype(dtype)
    logits[0, :3, :3] = [[np.nan, -np.nan, np.inf], [-np.inf, 0.0, -0.0], [0.25, -0.25, 1.5]]
    thresholds = [0.0, -0.0, 0.25, -1.5, 1e-8, -1e-8, 0.1, 1e30, -1e30, np.inf, -np.inf,
                  *rng.standard_normal(6) * 3]
    x = target.put(logits)
    for t in thresholds:
        expected = turborle.encode(logits > as_threshold(t, dtype))
        assert target.encode(x, t) == expected, t
        assert target.encode(x, t, strings=True) == expected.to_coco(), t


def test_every_float16_value_against_thresholds(target: Target) -> None:
    values = np.arange(2**16, dtype=np.uint16).view(np.float16).reshape(1, 256, 256)
    x = target.put(values)
    rng = np.random.default_rng(5)
    for t in [0.0, -0.0, 65504.0, 65520.0, 65519.99, -65520.0, 6e-8, 3e-8, 2.9802322e-08,
              1.0 + 2**-11, 1.0 + 3 * 2**-11, *rng.standard_normal(4)]:
        expected = turborle.encode(values > as_threshold(t, np.float16))
        assert target.encode(x, t) == expected, t


def bfloat16_threshold(t: float) -> float:
    """t rounded to float32 and then to bfloat16 (nearest, ties to even), by comparing the two
    bfloat16 neighbours' distances exactly (not the bit trick csrc/cuda uses)."""
    with np.errstate(over="ignore"):
        f = float(np.float32(t))
    if not np.isfinite(f):
        return f
    bits = int(np.array(f, np.float32).view(np.uint32))
    low = bits & 0xFFFF0000
    candidates = [low, low + 0x10000]
    values = [float(np.array(c, np.uint32).view(np.float32)) for c in candidates]
    distances = [abs(v - f) for v in values]
    if distances[0] != distances[1]:
        return values[int(distances[1] < distances[0])]
    return values[0] if (low >> 16) % 2 == 0 else values[1]


def test_bfloat16_logits(target: Target) -> None:
    rng = np.random.default_rng(11)
    floats = (rng.standard_normal((3, 33, 24)) * 2).astype(np.float32)
    bits = (floats.view(np.uint32) >> 16).astype(np.uint16)  # bfloat16 by truncation
    bits[0, 0, :4] = [0x7FC0, 0xFF80, 0x7F80, 0x8000]  # NaN, -inf, inf, -0
    values = (bits.astype(np.uint32) << 16).view(np.float32)
    x = target.put(bits, "bfloat16")
    for t in [0.0, 0.3, -0.7, 1.00390625, 1.001953125, 3.0e38, -1e39, *rng.standard_normal(3)]:
        expected = turborle.encode(values > np.float32(bfloat16_threshold(t)))
        if target.name == "host":  # numpy has no bfloat16: give the host build the bits
            n, h, w = bits.shape
            columns = target.raw().encode(bits.ctypes.data, n, h, w, "bfloat16", t, 0, 0)
            got = turborle.RLEBatch(columns[n + 1:], columns[:n + 1], np.full(n, h), np.full(n, w))
        else:
            got = target.encode(x, t)
        assert got == expected, t


# ---- area, bbox ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES[:12], ids=[f"{h}x{w}" for h, w in SHAPES[:12]])
def test_area_and_bbox_match_cpu_core(target: Target, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(100 + sum(shape))
    for kind in KINDS:
        masks = stack(make_masks(rng, *shape, 4, kind))
        rles = turborle.encode(masks)
        x = target.put(masks)
        assert np.array_equal(target.area(x), turborle.area(rles)), kind
        assert np.array_equal(target.bbox(x), turborle.bbox(rles)), kind
        assert np.array_equal(target.bbox(x, fmt="xyxy"), turborle.bbox(rles, fmt="xyxy")), kind


def test_area_and_bbox_of_logits_and_sam_like(target: Target) -> None:
    masks = sam_like_masks(5, 130, 97, seed=2)
    rles = turborle.encode(masks)
    logits = np.where(masks > 0, 2.0, -2.0).astype(np.float32)
    for x, t in [(target.put(masks), None), (target.put(logits), 0.0)]:
        assert np.array_equal(target.area(x, t), turborle.area(rles))
        assert np.array_equal(target.bbox(x, t), turborle.bbox(rles))


# ---- decode ----------------------------------------------------------------------------------

@given(rst.rle_batches_and_masks(min_n=1, max_side=40, mixed_sizes=False), st.sampled_from("CF"))
def test_decode_property(pair: tuple[turborle.RLEBatch, list[np.ndarray]], order: str) -> None:
    batch, masks = pair
    host = Target("host")
    expected = np.stack(masks).astype(bool)
    got = host.decode(batch, order)
    assert got.dtype == np.bool_ and np.array_equal(got, expected)
    assert np.array_equal(host.decode(batch.to_coco(), order), expected)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{h}x{w}" for h, w in SHAPES])
def test_decode_matches_masks(target: Target, shape: tuple[int, int], order: str) -> None:
    rng = np.random.default_rng(200 + sum(shape))
    for kind in KINDS:
        masks = stack(make_masks(rng, *shape, 3, kind)).astype(bool)
        rles = turborle.encode(masks)
        for source in (rles, rles.to_coco(), [dict(d, counts=d["counts"].encode())
                                              for d in rles.to_coco()]):
            got = target.get(target.decode(source, order))
            assert got.shape == masks.shape and np.array_equal(got, masks), kind
            if order == "F" and min(shape) > 1:
                assert got.strides[1] < got.strides[2]  # each mask column by column


def test_decode_sam_like_into_out(target: Target) -> None:
    masks = sam_like_masks(4, 200, 333, seed=1).astype(bool)
    rles = turborle.encode(masks)
    for order in "CF":
        if target.name == "host":
            out = np.ones(masks.shape, np.uint8) if order == "C" else \
                np.ones((4, 333, 200), np.uint8).transpose(0, 2, 1)
        else:
            torch = target.torch
            out = torch.ones(masks.shape, dtype=torch.uint8, device="cuda") if order == "C" else \
                torch.ones((4, 333, 200), dtype=torch.uint8, device="cuda").transpose(1, 2)
        result = target.decode(rles.to_coco(), order, out=out)
        assert result is out
        got = out if target.name == "host" else out.cpu().numpy()
        assert np.array_equal(got, masks)


@given(st.lists(rst.coco_dicts(compressed=None, canonical=False, max_side=30), min_size=1,
                max_size=3))
def test_decode_non_canonical_dicts(objs: list[dict[str, Any]]) -> None:
    # Zero-length runs (valid, not what an encoder writes) and uncompressed counts.
    host = Target("host")
    for obj in objs:
        expected = turborle.decode([obj])
        assert np.array_equal(host.decode([obj]), expected)
        assert np.array_equal(host.decode((obj,), "F"), expected)


def parse(target: Target, objs: list[dict[str, Any]]) -> turborle.RLEBatch:
    """COCO dicts with compressed counts, parsed by the target's parser alone."""
    strings = tc._source(objs)
    assert isinstance(strings, tc._Strings)
    columns = target.raw().parse_strings(*strings.args(), 0, 0)
    n = len(objs)
    return turborle.RLEBatch(columns[n + 1:], columns[:n + 1], strings.heights, strings.widths)


@given(st.lists(rst.coco_dicts(compressed=True, canonical=False, max_side=3000), min_size=1,
                max_size=4))
def test_parse_matches_from_coco(objs: list[dict[str, Any]]) -> None:
    # Sizes up to 3000 x 3000: counts of many 5-bit groups and the delta quirk.
    assert parse(Target("host"), objs) == turborle.from_coco(objs)


# ---- hostile strings: the CPU path's errors, raised by the target's parser ----------------------

def assert_same_error(target: Target, objs: Any) -> None:
    kind, message = cpu_error(turborle.decode, objs, threads=1)
    with pytest.raises(kind) as info:
        target.decode(objs)
    assert str(info.value) == message


@given(rst.malformed_coco_strings(max_side=12), st.integers(0, 2), st.integers(0, 2))
def test_malformed_strings_raise_the_cpu_error(case: tuple[dict[str, Any], str], before: int,
                                               after: int) -> None:
    obj, _reason = case
    good = {"size": [2, 2], "counts": "04"}
    objs = [good] * before + [obj] + [good] * after
    assert_same_error(Target("host"), objs)


HOSTILE = [
    b"", b"0", b"4", b"04", b"13", b"1", b"0a", b"0\x00", b"\x00", b"\xff4", b"4\xff", b"p",
    b"/", b" 4", b"4 ", b"o", b"0o", b"0O", b"00004", b"0000004", b"01010101", b"0112",
    b"0" * 13, b"o" * 13 + b"0", b"o" * 12 + b"O", b"o" * 12 + b"?", b"o" * 12 + b"7",
    b"o" * 12 + b"8", b"o" * 12 + b"0", b"o" * 13, b"o" * 14 + b"0", b"\x00" + b"o" * 20,
    b"o" * 20 + b"\x00", b"o" * 13 + b"\x00", b"32" + b"o" * 12 + b"N", b"0" + b"o" * 12 + b"D",
    b"1" + b"_" * 12 + b"g", b"4" + b"`" * 12 + b"0", b"04:", b"043", b"0422", b"04:2",
]


@pytest.mark.parametrize("size", [[2, 2], [1, 1], [0, 3], [3, 1000], [1 << 31, 1 << 31]])
def test_hostile_strings_raise_the_cpu_error_or_parse_alike(target: Target,
                                                           size: list[int]) -> None:
    for counts in HOSTILE:
        for objs in ([{"size": size, "counts": counts}],
                     [{"size": [2, 2], "counts": b"04"}, {"size": size, "counts": counts},
                      {"size": size, "counts": b"\x00"}]):
            try:
                expected = turborle.from_coco(objs, threads=1)
            except ValueError as e:
                with pytest.raises(ValueError) as info:
                    parse(target, objs)
                assert str(info.value) == str(e), counts
            else:
                assert parse(target, objs) == expected, counts


@given(rst.coco_dicts(compressed=True, max_side=200), st.data())
def test_mutated_strings_parse_or_fail_as_on_the_cpu(obj: dict[str, Any], data: Any) -> None:
    counts = obj["counts"].encode() if isinstance(obj["counts"], str) else obj["counts"]
    edits = data.draw(st.lists(st.tuples(st.sampled_from(["set", "insert", "delete"]),
                                         st.integers(0, max(len(counts), 1)),
                                         st.sampled_from(b"0?@O_`ono\x00/p\xff47")),
                               min_size=1, max_size=3))
    raw = bytearray(counts)
    for op, at, byte in edits:
        at = min(at, len(raw))
        if op == "insert":
            raw.insert(at, byte)
        elif raw and at < len(raw):
            if op == "set":
                raw[at] = byte
            else:
                del raw[at]
    objs = [{"size": obj["size"], "counts": bytes(raw)}]
    host = Target("host")
    try:
        expected = turborle.from_coco(objs, threads=1)
    except ValueError as e:
        with pytest.raises(ValueError) as info:
            parse(host, objs)
        assert str(info.value) == str(e)
    else:
        assert parse(host, objs) == expected


def test_dict_errors_are_the_cpu_errors(target: Target) -> None:
    cases: list[Any] = [
        [], [{"size": [2, 2]}], [{"counts": "04"}], ["04"], [{"size": 4, "counts": "04"}],
        [{"size": [2], "counts": "04"}], [{"size": [2, -2], "counts": "04"}],
        [{"size": [2, True], "counts": "04"}], [{"size": [2.5, 2], "counts": "04"}],
        [{"size": [2**62 + 1, 1], "counts": "0"}], [{"size": [2**31, 2**32], "counts": "0"}],
        [{"size": [2, 2], "counts": "0é"}], [{"size": [2, 2], "counts": 4}],
        [{"size": [2, 2], "counts": "04"}, {"size": [2, 3], "counts": "06"}],
        [{"size": [2, 2], "counts": "04"}, {"size": [2, 3], "counts": "0\x00"}],
        [{"size": [1 << 20, 1 << 20], "counts": "0"}],
        [{"size": [1 << 20, 1 << 20], "counts": reference.counts_to_string([1 << 40])}],
        [{"size": [2, 2], "counts": "4\x00"}], [{"size": [2, 2], "counts": [1, -1, 4]}],
    ]
    for objs in cases:
        assert_same_error(target, objs)
    with pytest.raises(TypeError, match="RLEBatch or a list of COCO RLE dicts"):
        target.decode({"size": [2, 2], "counts": "04"})


def test_argument_errors(target: Target) -> None:
    masks = np.zeros((2, 4, 5), bool)
    logits = np.zeros((2, 4, 5), np.float32)
    with pytest.raises(ValueError, match="threshold"):
        target.encode(target.put(logits))
    with pytest.raises(ValueError, match="threshold applies to float"):
        target.encode(target.put(masks), threshold=0.5)
    with pytest.raises(ValueError, match="NaN"):
        target.encode(target.put(logits), threshold=float("nan"))
    with pytest.raises(TypeError, match="real number"):
        target.encode(target.put(logits), threshold="0.5")
    with pytest.raises(ValueError, match=r"\(H, W\) or \(N, H, W\)"):
        target.encode(target.put(np.zeros(5, bool)))
    with pytest.raises(ValueError, match=r"\(H, W\) or \(N, H, W\)"):
        target.encode(target.put(np.zeros((1, 2, 3, 4), bool)))
    with pytest.raises(TypeError, match="float64"):
        target.encode(target.put(np.zeros((2, 3), np.float64)), threshold=0.0)
    view = target.put(np.zeros((2, 6, 5), bool))[:, ::2]
    with pytest.raises(ValueError, match="C-contiguous"):
        target.encode(view)
    with pytest.raises(ValueError, match="order must be"):
        target.decode(turborle.encode(masks), order="X")
    out = target.put(np.zeros((2, 5, 4), bool))
    with pytest.raises(ValueError, match="out has shape"):
        target.decode(turborle.encode(masks), out=out)
    with pytest.raises(TypeError, match="bool or uint8"):
        target.decode(turborle.encode(masks), out=target.put(np.zeros((2, 4, 5), np.float32)))
    with pytest.raises(ValueError, match="out must be"):
        target.decode(turborle.encode(masks), order="F", out=target.put(np.zeros((2, 4, 5), bool)))


# ---- without a device ------------------------------------------------------------------------

class FakeCudaArray:
    """A __cuda_array_interface__ that is checked before any device is touched."""

    def __init__(self, shape: tuple[int, ...], typestr: str = "|b1",
                 strides: tuple[int, ...] | None = None) -> None:
        self.__cuda_array_interface__ = {"shape": shape, "typestr": typestr, "data": (1 << 40,
                                         False), "strides": strides, "version": 3}


class FakeDLPack:
    def __init__(self, device_type: int) -> None:
        self.device_type = device_type

    def __dlpack_device__(self) -> tuple[int, int]:
        return (self.device_type, 0)

    def __dlpack__(self, stream: Any = None) -> Any:
        raise AssertionError("must not be exported")


def test_arrays_are_checked_before_the_device() -> None:
    with pytest.raises(TypeError, match="in host memory"):
        tc.encode(np.zeros((2, 3), bool))
    with pytest.raises(TypeError, match="in host memory"):
        tc.area(FakeDLPack(1))
    with pytest.raises(TypeError, match="OpenCL"):
        tc.bbox(FakeDLPack(4))
    with pytest.raises(TypeError, match="CUDA array"):
        tc.encode(object())
    with pytest.raises(TypeError, match="type string '<f8'"):
        tc.encode(FakeCudaArray((2, 3), "<f8"))
    with pytest.raises(ValueError, match=r"\(H, W\) or \(N, H, W\)"):
        tc.encode(FakeCudaArray((2,)))
    with pytest.raises(ValueError, match="C-contiguous"):
        tc.encode(FakeCudaArray((2, 3, 4), strides=(12, 1, 3)))
    with pytest.raises(ValueError, match="fmt"):
        tc.bbox(FakeCudaArray((2, 3)), fmt="yxyx")


@pytest.mark.skipif(GPU, reason="checks the behaviour without a CUDA device")
def test_without_a_device_calls_say_so() -> None:
    assert not tc.is_available()
    for call in (lambda: tc.encode(FakeCudaArray((2, 3, 4))),
                 lambda: tc.area(FakeCudaArray((3, 4), "|u1")),
                 lambda: tc.decode(turborle.encode(np.zeros((1, 2, 2), bool))),
                 lambda: tc.decode([{"size": [2, 2], "counts": "04"}]),
                 tc.empty_cache):
        with pytest.raises(RuntimeError, match="no CUDA device"):
            call()
    info = turborle.info()
    assert info["cuda_built"] is True and info["cuda_available"] is False
    assert "sm_" in str(info["cuda_targets"]) or "compute_" in str(info["cuda_targets"])


def test_import_without_the_compiled_module() -> None:
    code = ("import sys; sys.modules['turborle._cuda'] = None\n"
            "import numpy as np, turborle, turborle.cuda as tc\n"
            "assert not tc.is_available()\n"
            "assert turborle.info()['cuda_built'] is False\n"
            "try:\n"
            "    tc.decode([{'size': [1, 1], 'counts': '01'}])\n"
            "except RuntimeError as e:\n"
            "    assert 'built without CUDA' in str(e), e\n"
            "else:\n"
            "    raise AssertionError('no error')\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
