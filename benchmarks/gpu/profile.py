"""Where the time of turborle.cuda's encode and decode goes, on a GPU: for each case of
bench.py, wall-clock medians of the pieces of one call (importing the array, the native call,
building the Python result) and one call's timeline from torch's profiler (CUDA runtime calls
on the host, kernels and copies on the device, in microseconds from the call's start).
Chrome traces go to --out.

    python benchmarks/gpu/profile.py --out DIR
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile, record_function  # noqa: E402

import turborle  # noqa: E402
import turborle.cuda as tc  # noqa: E402
from benchmarks.masks import sam_like_masks  # noqa: E402


def median_us(fn: Callable[[], Any], repeats: int = 15) -> float:
    fn()
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e6)
    return statistics.median(times)


def stages_us(x: Any, threshold: float | None, repeats: int = 15) -> dict[str, float]:
    """Medians of the stages of encode(x, strings=True), timed one after the other."""
    api = tc._DEVICE.api
    times: dict[str, list[float]] = {"import the array": [], "native call": [],
                                     "Python result": []}
    for k in range(repeats + 1):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        dense = tc._DEVICE.dense(x, None, "masks")
        t1 = time.perf_counter()
        raw = api.encode_strings(*dense.args(threshold))
        t2 = time.perf_counter()
        tc._coco_dicts(raw, dense)
        t3 = time.perf_counter()
        if k:
            for name, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
                times[name].append(dt * 1e6)
    return {name: statistics.median(v) for name, v in times.items()}


def timeline(trace: Path, label: str) -> list[str]:
    """Events inside the last `label` annotation of a Chrome trace, in order."""
    events = json.loads(trace.read_text())["traceEvents"]
    marks = [e for e in events if e.get("name") == label and e.get("cat") == "user_annotation"]
    if not marks:
        return [f"(no '{label}' annotation in the trace)"]
    mark = max(marks, key=lambda e: e["ts"])
    t0, t1 = mark["ts"], mark["ts"] + mark["dur"]
    wanted = ("cuda_runtime", "cuda_driver", "kernel", "gpu_memcpy", "gpu_memset")
    rows = []
    for e in events:
        if e.get("cat") not in wanted or "ts" not in e:
            continue
        # Device work of the call may end after the annotation's host range: keep 2 ms more.
        if not (t0 <= e["ts"] <= t1 + (2000 if e["cat"] != "cuda_runtime" else 0)):
            continue
        rows.append((e["ts"] - t0, e.get("dur", 0), e["cat"], e["name"]))
    rows.sort()
    out = [f"  call: {mark['dur']:.0f} us on the host"]
    for start, dur, cat, name in rows:
        out.append(f"  {start:8.1f} {dur:8.1f}  {cat:12s} {name[:90]}")
    return out


def run_case(size: int, kind: str, out: Path, n: int) -> None:
    masks = sam_like_masks(n, size, size, seed=0)
    x = torch.from_numpy(masks.astype(bool)).cuda()
    threshold = None
    if kind == "float32":
        magnitude = torch.rand(x.shape, device="cuda") * 3.5 + 0.5
        x = torch.where(x, magnitude, -magnitude)
        threshold = 0.0
    torch.cuda.synchronize()
    dense = tc._DEVICE.dense(x, None, "masks")
    api = tc._DEVICE.api
    strings = tc.encode(x, threshold=threshold, strings=True)
    print(f"\n== {n} x {size}x{size} {kind}")
    pieces = {
        "dense (DLPack import)": lambda: tc._DEVICE.dense(x, None, "masks"),
        "native encode_strings": lambda: api.encode_strings(*dense.args(threshold)),
        "encode(strings=True)": lambda: tc.encode(x, threshold=threshold, strings=True),
        "native encode (counts)": lambda: api.encode(*dense.args(threshold)),
        "encode() -> RLEBatch": lambda: tc.encode(x, threshold=threshold),
    }
    if kind == "bool":
        pieces["decode(strings)"] = lambda: tc.decode(strings)
        batch = turborle.from_coco(strings)
        pieces["decode(RLEBatch)"] = lambda: tc.decode(batch)
    for name, fn in pieces.items():
        print(f"  {name:26s} {median_us(fn):9.1f} us")
    for name, us in stages_us(x, threshold).items():
        print(f"  stage: {name:19s} {us:9.1f} us")
    calls = [("encode", lambda: tc.encode(x, threshold=threshold, strings=True))]
    if kind == "bool":
        calls.append(("decode", lambda: tc.decode(strings)))
    for label, fn in calls:
        trace = out / f"trace_{label}_{size}_{kind}.json"
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            for _ in range(3):
                torch.cuda.synchronize()
                with record_function(label):
                    result = fn()
                torch.cuda.synchronize()
                del result
        prof.export_chrome_trace(str(trace))
        print(f"  timeline of one {label} call:")
        print("\n".join(timeline(trace, label)))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("build/gpu-profile"))
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        for kind in ("bool", "float32"):
            try:
                run_case(size, kind, args.out, args.n)
            except Exception as e:  # keep going: the other cases still say something
                print(f"  failed: {type(e).__name__}: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
