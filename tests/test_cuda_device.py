"""turborle.cuda on a real GPU: what only a device can show.

tests/test_cuda.py already runs every comparison with the CPU core on the GPU (its "device"
parametrisation). This module checks the rest against the same oracle: torch and CuPy interop
(DLPack both ways, __cuda_array_interface__), streams, large masks, memory released on error
paths, devices and DeviceArray. It needs a CUDA device and torch; benchmarks/gpu/run.sh runs it
on a GPU machine (with TURBORLE_REQUIRE_GPU=1, so that nothing here can be skipped there).
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import turborle
import turborle.cuda as tc
from turborle.testing import reference as ref

if not tc.is_available():
    if os.environ.get("TURBORLE_REQUIRE_GPU") == "1":
        raise RuntimeError("TURBORLE_REQUIRE_GPU=1 but no CUDA device is available")
    pytest.skip("needs a CUDA device: run benchmarks/gpu/run.sh on a GPU machine",
                allow_module_level=True)

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.masks import sam_like_masks  # noqa: E402


def cuda(x: np.ndarray) -> Any:
    return torch.from_numpy(np.ascontiguousarray(x)).cuda()


def test_info_names_the_device() -> None:
    info = turborle.info()
    assert info["cuda_available"] is True
    assert info["cuda_devices"] and all(isinstance(n, str) and n for n in info["cuda_devices"])
    assert info["cuda_driver"]


def test_decode_hands_torch_the_same_memory() -> None:
    masks = sam_like_masks(3, 70, 90, seed=3).astype(bool)
    rles = turborle.encode(masks)
    for order in "CF":
        result = tc.decode(rles, order=order)
        tensor = torch.from_dlpack(result)
        assert tensor.dtype == torch.bool and tensor.is_cuda
        assert tensor.data_ptr() == result.ptr  # no copy
        assert torch.equal(tensor.cpu(), torch.from_numpy(masks))
        assert np.array_equal(result.get(), masks)
        if order == "F":
            assert tensor.stride() == (70 * 90, 1, 70)


def test_area_and_bbox_are_device_arrays() -> None:
    masks = sam_like_masks(4, 64, 80, seed=4)
    rles = turborle.encode(masks)
    x = cuda(masks)
    area = tc.area(x)
    assert area.dtype == "uint64" and area.shape == (4,)
    assert np.array_equal(torch.from_dlpack(area).cpu().numpy(), turborle.area(rles))
    boxes = torch.from_dlpack(tc.bbox(x, fmt="xyxy")).cpu().numpy()
    assert np.array_equal(boxes, turborle.bbox(rles, fmt="xyxy"))


def test_cupy_in_and_out() -> None:
    cupy = pytest.importorskip("cupy")
    masks = sam_like_masks(3, 50, 61, seed=5)
    rles = turborle.encode(masks)
    x = cupy.asarray(masks)
    assert tc.encode(x) == rles
    assert tc.encode(x.astype(cupy.float32) - 0.5, threshold=0.0) == rles
    back = cupy.from_dlpack(tc.decode(rles))
    assert np.array_equal(cupy.asnumpy(back), masks.astype(bool))
    via_interface = cupy.asarray(tc.decode(rles.to_coco()))  # __cuda_array_interface__
    assert np.array_equal(cupy.asnumpy(via_interface), masks.astype(bool))
    out = cupy.zeros(masks.shape, dtype=cupy.uint8)
    assert tc.decode(rles, out=out) is out
    assert np.array_equal(cupy.asnumpy(out), masks)


class InterfaceOnly:
    """Exposes a tensor through __cuda_array_interface__ alone (as numba arrays do)."""

    def __init__(self, tensor: Any) -> None:
        self.tensor = tensor
        self.__cuda_array_interface__ = tensor.__cuda_array_interface__


def test_cuda_array_interface_input() -> None:
    masks = sam_like_masks(2, 40, 33, seed=6)
    x = cuda(masks)
    assert tc.encode(InterfaceOnly(x)) == turborle.encode(masks)
    assert tc.encode(InterfaceOnly(x.float()), threshold=0.5) == turborle.encode(masks)


def test_work_follows_the_producers_stream() -> None:
    # The masks are produced on a side stream behind a long matrix product; encode on that
    # stream (explicitly, and as the current stream) must see the finished values.
    masks = sam_like_masks(8, 256, 256, seed=8)
    expected = turborle.encode(masks)
    source = cuda(masks)
    side = torch.cuda.Stream()
    big = torch.randn(4096, 4096, device="cuda")
    for use_current in (False, True):
        x = torch.zeros_like(source)
        torch.cuda.synchronize()
        with torch.cuda.stream(side):
            for _ in range(4):
                big = big @ big / 64
            x.copy_(source)
            got = tc.encode(x) if use_current else None
        if not use_current:
            got = tc.encode(x, stream=side)
        assert got == expected
    torch.cuda.synchronize()


def test_decode_result_is_ordered_before_its_consumer() -> None:
    masks = sam_like_masks(8, 512, 512, seed=9).astype(bool)
    rles = turborle.encode(masks)
    side = torch.cuda.Stream()
    result = tc.decode(rles, stream=side)  # queued on `side`, not waited for
    tensor = torch.from_dlpack(result)  # torch's current stream waits for `side`
    assert int(tensor.sum()) == int(turborle.area(rles).sum())
    assert torch.equal(tensor.cpu(), torch.from_numpy(masks))


@pytest.mark.parametrize("size", [(1024, 1024), (2048, 2048), (1080, 1920), (1000, 1333)])
def test_large_masks(size: tuple[int, int]) -> None:
    masks = sam_like_masks(4, *size, seed=10)
    expected = turborle.encode(masks)
    x = cuda(masks.astype(bool))
    assert tc.encode(x) == expected
    assert tc.encode(x, strings=True) == expected.to_coco()
    logits = torch.where(x, 3.0, -3.0).to(torch.bfloat16)
    assert tc.encode(logits, threshold=0.0) == expected
    decoded = torch.from_dlpack(tc.decode(expected.to_coco()))
    assert torch.equal(decoded, x)


def test_many_small_masks() -> None:
    rng = np.random.default_rng(12)
    masks = rng.random((3000, 9, 13)) < 0.3
    expected = turborle.encode(masks)
    assert tc.encode(cuda(masks)) == expected
    assert np.array_equal(tc.decode(expected.to_coco()).get(), masks)


def free_device_memory() -> int:
    gc.collect()
    torch.cuda.synchronize()
    return int(torch.cuda.mem_get_info()[0])


def test_device_memory_is_released_on_errors_and_with_results() -> None:
    good = turborle.encode(sam_like_masks(4, 256, 256, seed=13)).to_coco()
    payload = (good[0]["counts"] * 20000)[:4_000_000]  # megabytes of counts that do not sum
    hostile = [{"size": [256, 256], "counts": payload}] * 8

    def round_trip() -> None:
        with pytest.raises(ValueError, match="mask 0: "):
            tc.decode(hostile)
        result = tc.decode(good)
        assert result.get().any()
        del result

    round_trip()  # the stream-ordered pool may keep what one call needed: measure after it
    before = free_device_memory()
    for _ in range(10):
        round_trip()
    assert before - free_device_memory() < 64 << 20  # each call holds about 1 GB while it runs


def reference_counts(masks: np.ndarray) -> list[list[int]]:
    """Each mask's counts from the dense numpy reference (independent of the core)."""
    return [ref.encode_counts(m) for m in masks]


def batch_counts(batch: turborle.RLEBatch) -> list[list[int]]:
    counts, offsets = np.asarray(batch.counts), np.asarray(batch.offsets)
    return [counts[offsets[i]:offsets[i + 1]].tolist() for i in range(len(offsets) - 1)]


def test_pool_memory_is_kept_up_to_its_limit_and_returned() -> None:
    # 64 masks of 2048 x 2048 float32 logits: about 40 MB of buffers while encode runs.
    masks = sam_like_masks(64, 2048, 2048, seed=15)
    x = torch.where(cuda(masks.astype(bool)), 2.0, -2.0)
    expected = reference_counts(masks)
    tc.empty_cache()
    start = free_device_memory()
    for _ in range(3):
        assert batch_counts(tc.encode(x, threshold=0.0)) == expected
    kept = start - free_device_memory()
    assert kept <= (256 << 20) + (8 << 20)  # the pool's limit (+ the driver's granularity)
    tc.empty_cache()
    assert start - free_device_memory() < 8 << 20
    assert kept >= 16 << 20  # (it did keep the buffers: the next call maps nothing)


def test_torch_views_are_read_as_their_values() -> None:
    masks = sam_like_masks(3, 64, 48, seed=16)
    logits = torch.where(cuda(masks.astype(bool)), -1.5, 1.5)  # negated below
    flipped = torch._neg_view(logits)
    assert flipped.is_neg()
    expected = reference_counts(masks)
    assert batch_counts(tc.encode(flipped, threshold=0.0)) == expected
    wide = cuda(np.pad(masks, ((0, 0), (0, 0), (0, 5))))
    with pytest.raises(ValueError, match="C-contiguous"):
        tc.encode(wide[:, :, :48])
    assert batch_counts(tc.encode(wide[:, :, :48].contiguous())) == expected
    with pytest.raises(TypeError, match="int32"):
        tc.encode(cuda(masks.astype(np.int32)))


def test_devices_and_bad_devices() -> None:
    rles = turborle.encode(np.ones((1, 3, 3), bool))
    for device in (0, "cuda", "cuda:0", torch.device("cuda:0"), torch.device("cuda")):
        assert tc.decode(rles, device=device).device == 0
    with pytest.raises(ValueError, match="does not exist"):
        tc.decode(rles, device=torch.cuda.device_count())
    with pytest.raises(ValueError, match="cuda"):
        tc.decode(rles, device="cpu")


def test_host_tensors_are_refused() -> None:
    with pytest.raises(TypeError, match="host memory"):
        tc.encode(torch.zeros(2, 3, 4, dtype=torch.bool))
    with pytest.raises(TypeError, match="host memory"):
        tc.decode(turborle.encode(np.ones((1, 2, 2), bool)), out=torch.zeros(1, 2, 2,
                                                                              dtype=torch.bool))


def test_device_array_protocols() -> None:
    result = tc.decode(turborle.encode(np.eye(5, dtype=bool)[None]), order="F")
    interface = result.__cuda_array_interface__
    assert interface["shape"] == (1, 5, 5) and interface["typestr"] == "|b1"
    assert interface["strides"] == (25, 1, 5) and interface["data"][0] == result.ptr
    assert result.__dlpack_device__() == (2, 0)
    assert "DeviceArray bool shape=(1, 5, 5)" in repr(result)
    assert np.array_equal(result.get()[0], np.eye(5, dtype=bool))


def test_transition_pass_timing() -> None:
    x = cuda(sam_like_masks(4, 512, 512, seed=14))
    dense = tc._DEVICE.dense(x, None, "masks")
    ms = tc._cuda.device.transition_pass_ms(*dense.args(None), 5)
    assert 0 < ms < 1000
