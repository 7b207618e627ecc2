"""GPU benchmark of turborle.cuda: masks already on the GPU to COCO strings on the host, and
COCO strings back to masks on the GPU.

N = 64 SAM-like masks (benchmarks/masks.py) at 1024x1024 and 2048x2048, on the GPU as bool and
as float32 logits (foreground where > 0):

  encode, GPU masks -> COCO strings on the host
    (a) SAM 3's rle_encode, written from its published source: boundaries of all masks with
        torch ops on the GPU, per-mask totals to the host (one sync), a per-mask loop of small
        device ops turning positions into run lengths, one copy of them to the host, then
        pycocotools writes each string
    (a') the older pattern of SAM 1/2 tools and transformers: the same boundaries, then per
        mask a copy of its runs to the host (one sync per mask) and pycocotools
    (b) .cpu() + turborle's CPU encode (logits are thresholded on the GPU first, so only bool
        masks cross)
    (c) turborle.cuda.encode(..., strings=True)
  decode, the same strings -> (N, H, W) bool masks on the GPU
    (d) pycocotools decode + copy to the GPU (+ transpose to (N, H, W) there)
    (e) turborle's CPU decode + copy to the GPU
    (f) turborle.cuda.decode

Every method's result is first checked against the others (equal strings, equal masks). Times
are end to end (wall clock, the GPU synchronised before and after), medians of --repeats runs
after a warm-up. The transition pass of (c) (one read of every mask element) is timed alone
with CUDA events; its bandwidth (bytes of masks read / time) is compared with the device's
measured copy bandwidth (a 2 GiB device-to-device copy, bytes read + written / time).

--dry-run runs the same code on the host, without a GPU: small sizes, torch CPU tensors, and
turborle.cuda's host build in place of the GPU (no timings worth reading); it checks that the
script works before GPU time is spent on it.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from benchmarks import measure_in_place_build  # noqa: E402

measure_in_place_build()  # (a script, never imported by the tests)

import torch  # noqa: E402

import turborle  # noqa: E402
import turborle.cuda as tc  # noqa: E402
from benchmarks.masks import sam_like_masks  # noqa: E402

try:
    from pycocotools import mask as mask_util
except ImportError:  # the bare GPU machine has none unless benchmarks/gpu/fetch_wheels.sh ran
    mask_util = None


class Device:
    """The GPU, or (dry run) the host with turborle.cuda's host build standing in for it."""

    def __init__(self, dry_run: bool) -> None:
        self.dry_run = dry_run
        self.name = "cpu" if dry_run else "cuda"
        self.impl = tc._HOST if dry_run else tc._DEVICE

    def sync(self) -> None:
        if not self.dry_run:
            torch.cuda.synchronize()

    def put(self, masks: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(masks).to(self.name)

    def encode_strings(self, x: torch.Tensor, threshold: float | None) -> list[dict[str, Any]]:
        arg: Any = x.numpy() if self.dry_run else x
        return tc._encode(self.impl, arg, threshold, None, True)  # type: ignore[no-any-return]

    def decode(self, objs: list[dict[str, Any]]) -> torch.Tensor:
        result = tc._decode(self.impl, objs, None, "C", None, None)
        return torch.from_numpy(result) if self.dry_run else torch.from_dlpack(result)


def sam3_encode(x: torch.Tensor, threshold: float | None) -> list[dict[str, Any]]:
    """(a): SAM 3's rle_encode as published: run boundaries of all masks from torch ops on the
    device, their per-mask totals to the host (one sync), a per-mask loop on the device turning
    positions into run lengths, one copy of all of them to the host, then pycocotools writes
    each string."""
    masks = x > threshold if threshold is not None else x
    n, h, w = masks.shape
    flat = masks.transpose(1, 2).reshape(n, h * w)  # column-major, as COCO scans (a copy)
    # A run starts at pixel 0 when it is foreground and wherever a pixel differs from the one
    # before it; one more boundary after the last pixel.
    edges = torch.ones(n, h * w + 1, dtype=torch.bool, device=x.device)
    edges[:, 0] = flat[:, 0]
    edges[:, 1:-1] = flat[:, 1:] != flat[:, :-1]
    _, positions = torch.where(edges)
    ends = torch.cumsum(edges.sum(-1), 0).cpu()  # the sync
    runs = positions.clone()
    for i in range(n):
        lo, hi = (0 if i == 0 else int(ends[i - 1])), int(ends[i])
        runs[lo + 1:hi] -= positions[lo:hi - 1]
    lengths = runs.tolist()  # one copy of every run length
    out = []
    for i in range(n):
        lo, hi = (0 if i == 0 else int(ends[i - 1])), int(ends[i])
        rle = mask_util.frPyObjects({"size": [h, w], "counts": lengths[lo:hi]}, h, w)
        out.append({"size": [h, w], "counts": rle["counts"].decode("ascii")})
    return out


def per_mask_sync_encode(x: torch.Tensor, threshold: float | None) -> list[dict[str, Any]]:
    """(a'): the older pattern of SAM 1/2 tools and transformers' SAM post-processing: the same
    boundaries, then per mask its boundaries to the host (a sync each) and pycocotools."""
    masks = x > threshold if threshold is not None else x
    n, h, w = masks.shape
    flat = masks.transpose(1, 2).flatten(1)
    change = (flat[:, 1:] != flat[:, :-1]).nonzero()
    out = []
    for i in range(n):
        starts = change[change[:, 0] == i, 1] + 1
        bounds = torch.cat([starts.new_zeros(1), starts, starts.new_full((1,), h * w)])
        runs = (bounds[1:] - bounds[:-1]).tolist()  # the sync
        counts = ([0] if bool(flat[i, 0]) else []) + runs
        rle = mask_util.frPyObjects({"size": [h, w], "counts": counts}, h, w)
        out.append({"size": [h, w], "counts": rle["counts"].decode("ascii")})
    return out


def cpu_encode(x: torch.Tensor, threshold: float | None) -> list[dict[str, Any]]:
    """(b): the masks to the host, then turborle's CPU encode (every CPU thread)."""
    masks = x > threshold if threshold is not None else x
    return turborle.encode(masks.cpu().numpy()).to_coco()


def pycocotools_decode(objs: list[dict[str, Any]], device: Device) -> torch.Tensor:
    """(d): pycocotools' (H, W, N) Fortran masks to the GPU, transposed to (N, H, W) there."""
    dense = mask_util.decode(objs)
    return torch.from_numpy(dense).to(device.name).permute(2, 0, 1).contiguous().bool()


def cpu_decode(objs: list[dict[str, Any]], device: Device) -> torch.Tensor:
    """(e): turborle's CPU decode to (N, H, W) C order, then to the GPU."""
    return torch.from_numpy(turborle.decode(objs)).to(device.name)


def median_ms(fn: Callable[[], Any], device: Device, repeats: int) -> float:
    device.sync()
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        device.sync()
        start = time.perf_counter()
        fn()
        device.sync()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def copy_bandwidth_gbs(device: Device) -> float | None:
    """Device-to-device copy of 2 GiB: (bytes read + written) / time, median of 10."""
    if device.dry_run:
        return None
    src = torch.empty(1 << 31, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    dst.copy_(src)
    times = []
    for _ in range(10):
        start.record()
        dst.copy_(src)
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    del src, dst
    return 2 * (1 << 31) / (statistics.median(times) * 1e-3) / 1e9


def transition_pass(x: torch.Tensor, threshold: float | None, device: Device) -> dict[str, float]:
    """The transition pass of turborle.cuda.encode alone: milliseconds (CUDA events) and the
    bandwidth of reading every mask element once."""
    if device.dry_run:
        return {}
    dense = tc._DEVICE.dense(x, None, "masks")
    ms = tc._cuda.device.transition_pass_ms(*dense.args(threshold), 20)
    nbytes = x.numel() * x.element_size()
    return {"transition_ms": ms, "transition_gbs": nbytes / (ms * 1e-3) / 1e9}


def run_case(n: int, size: int, kind: str, device: Device, repeats: int) -> dict[str, Any]:
    masks = sam_like_masks(n, size, size, seed=0)
    gpu = device.put(masks.astype(bool))
    threshold: float | None = None
    if kind == "float32 logits":
        # Smooth logits whose sign is the mask (magnitude 0.5 .. 4), as a segmenter returns.
        magnitude = torch.rand(gpu.shape, device=device.name) * 3.5 + 0.5
        gpu = torch.where(gpu, magnitude, -magnitude)
        threshold = 0.0
    device.sync()

    # Correctness first: every method gives the same strings and the same masks.
    expected = turborle.encode(masks).to_coco()
    results = {"(a)": sam3_encode(gpu, threshold) if mask_util else expected,
               "(a')": per_mask_sync_encode(gpu, threshold) if mask_util else expected,
               "(b)": cpu_encode(gpu, threshold), "(c)": device.encode_strings(gpu, threshold)}
    for name, got in results.items():
        assert got == expected, f"{name} strings differ from turborle.encode"
    truth = device.put(masks.astype(bool))
    decoded = {"(e)": cpu_decode(expected, device), "(f)": device.decode(expected)}
    if mask_util:
        decoded["(d)"] = pycocotools_decode(expected, device)
    for name, got in decoded.items():
        assert torch.equal(got, truth), f"{name} masks differ"

    row: dict[str, Any] = {"n": n, "size": f"{size}x{size}", "input": kind}
    timed = {
        "a": lambda: sam3_encode(gpu, threshold),
        "a2": lambda: per_mask_sync_encode(gpu, threshold),
        "b": lambda: cpu_encode(gpu, threshold),
        "c": lambda: device.encode_strings(gpu, threshold),
        "d": lambda: pycocotools_decode(expected, device),
        "e": lambda: cpu_decode(expected, device),
        "f": lambda: device.decode(expected),
    }
    for key, fn in timed.items():
        if key in ("a", "a2", "d") and mask_util is None:
            row[key] = None
            continue
        row[key] = median_ms(fn, device, repeats)
    row.update(transition_pass(gpu, threshold, device))
    row["runs"] = int(sum(len(o["counts"]) for o in expected))  # characters, for scale
    return row


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a and b else "-"


def table(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    lines = [
        f"GPU: {meta['gpu']} | CPU: {meta['cpu']} ({meta['threads']} threads for turborle CPU) | "
        f"torch {meta['torch']} | turborle CUDA targets {meta['cuda_targets']}",
        "",
        "encode, N masks on the GPU -> COCO strings on the host (ms, median)",
        "",
        "| masks | input | (a) SAM 3 | (a') per-mask sync | (b) .cpu() + turborle "
        "| (c) turborle.cuda | (a)/(c) | (a')/(c) | (b)/(c) | transition pass "
        "| of copy bandwidth |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    copy = meta.get("copy_gbs")
    for r in rows:
        gbs = r.get("transition_gbs")
        share = f"{gbs / copy:.0%}" if gbs and copy else "-"
        tp = f"{r['transition_ms']:.3f} ms, {gbs:.0f} GB/s" if gbs else "-"
        lines.append(f"| {r['n']} x {r['size']} | {r['input']} | {ms(r['a'])} | {ms(r['a2'])} | "
                     f"{ms(r['b'])} | {ms(r['c'])} | {ratio(r['a'], r['c'])} | "
                     f"{ratio(r['a2'], r['c'])} | {ratio(r['b'], r['c'])} | {tp} | {share} |")
    lines += [
        "",
        "decode, the same COCO strings -> (N, H, W) bool masks on the GPU (ms, median)",
        "",
        "| masks | (d) pycocotools + copy | (e) turborle CPU + copy | (f) turborle.cuda "
        "| (d)/(f) | (e)/(f) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r["input"] != "bool":
            continue
        lines.append(f"| {r['n']} x {r['size']} | {ms(r['d'])} | {ms(r['e'])} | {ms(r['f'])} | "
                     f"{ratio(r['d'], r['f'])} | {ratio(r['e'], r['f'])} |")
    if copy:
        lines += ["", f"device-to-device copy bandwidth (read + write): {copy:.0f} GB/s"]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="small sizes on the host, no GPU")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    parser.add_argument("--json", type=Path, help="also write the rows and metadata here")
    args = parser.parse_args()
    device = Device(args.dry_run)
    if args.dry_run:
        args.n, args.sizes, args.repeats = min(args.n, 4), [48, 64], min(args.repeats, 2)
    elif not torch.cuda.is_available() or not tc.is_available():
        print("no CUDA device (torch sees one: %s; turborle.cuda: %s); use --dry-run"
              % (torch.cuda.is_available(), tc.is_available()), file=sys.stderr)
        return 2
    if mask_util is None:
        print("pycocotools is not installed: (a), (a') and (d) are left out "
              "(benchmarks/gpu/fetch_wheels.sh brings a wheel)", file=sys.stderr)
    info = turborle.info()
    meta = {
        "gpu": "dry run (host)" if args.dry_run else torch.cuda.get_device_name(),
        "cpu": platform.processor() or platform.machine(),
        "threads": info["threads"],
        "torch": torch.__version__,
        "cuda_targets": info.get("cuda_targets"),
        "copy_gbs": copy_bandwidth_gbs(device),
    }
    try:
        with open("/proc/cpuinfo") as f:
            meta["cpu"] = next(line.split(":", 1)[1].strip() for line in f
                               if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    rows = []
    for size in args.sizes:
        for kind in ("bool", "float32 logits"):
            rows.append(run_case(args.n, size, kind, device, args.repeats))
            print(f"  {args.n} x {size}x{size} {kind}: done", file=sys.stderr, flush=True)
    print(table(rows, meta))
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
