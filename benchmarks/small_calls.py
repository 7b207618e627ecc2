"""Small calls: one mask per call, as inside COCOeval and per-image loops.

Times ``turborle.mask`` against ``pycocotools.mask`` on the calls an evaluation loop makes,
with default settings (no thread count given, no environment variables), interleaving the two
libraries round by round so that both see the same machine load, and prints the median time
per call and the ratio. Each call's result is first checked against pycocotools'.

    python benchmarks/small_calls.py [--rounds 15] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import timeit
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np


def _disc(h: int, w: int, cy: int, cx: int, r: int) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return np.asfortranarray(((yy - cy) ** 2 + (xx - cx) ** 2 < r * r).astype(np.uint8))


def calls(lib: Any) -> dict[str, Callable[[], Any]]:
    """The timed calls of one library (``pycocotools.mask`` or ``turborle.mask``)."""
    a = _disc(480, 640, 200, 300, 100)
    b = _disc(480, 640, 230, 340, 90)
    tiny = np.asfortranarray(np.ones((10, 10, 2), np.uint8))
    ra, rb = lib.encode(a), lib.encode(b)
    crowd = [0]
    polygon = [[110.0, 120.5, 300.0, 140.0, 350.5, 300.0, 200.0, 380.0, 90.0, 260.0]]
    return {
        "encode 1 mask 480x640": lambda: lib.encode(a[:, :, None]),
        "encode 10x10x2": lambda: lib.encode(tiny),
        "decode 1 mask": lambda: lib.decode(ra),
        "area 1 mask": lambda: lib.area(ra),
        "toBbox 1 mask": lambda: lib.toBbox(ra),
        "merge of 2": lambda: lib.merge([ra, rb]),
        "iou 1x1": lambda: lib.iou([ra], [rb], crowd),
        "frPyObjects 1 polygon": lambda: lib.frPyObjects(polygon, 480, 640),
    }


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return bool(np.array_equal(np.asarray(x), np.asarray(y)))
    return bool(x == y)


def measure(rounds: int) -> list[dict[str, Any]]:
    from pycocotools import mask as pycoco

    from turborle import mask as tmask

    libs = {"pycocotools": calls(pycoco), "turborle": calls(tmask)}
    rows = []
    for name in libs["turborle"]:
        fns = {lib: libs[lib][name] for lib in libs}
        with warnings.catch_warnings():  # pycocotools' decode warns under numpy 2
            warnings.simplefilter("ignore", DeprecationWarning)
            if not _same(fns["turborle"](), fns["pycocotools"]()):
                raise AssertionError(f"{name}: turborle differs from pycocotools")
            number = max(1, int(0.02 / min(timeit.repeat(fns["pycocotools"], number=1, repeat=3))))
            times: dict[str, list[float]] = {lib: [] for lib in libs}
            for _ in range(rounds):
                for lib, fn in fns.items():
                    times[lib].append(timeit.timeit(fn, number=number) / number)
        med = {lib: statistics.median(ts) for lib, ts in times.items()}
        rows.append({"call": name, "pycocotools_us": med["pycocotools"] * 1e6,
                     "turborle_us": med["turborle"] * 1e6,
                     "speedup": med["pycocotools"] / med["turborle"]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    import turborle

    rows = measure(args.rounds)
    print(f"# small calls, default settings ({platform.processor() or platform.machine()}, "
          f"turborle {turborle.__version__}, simd {turborle.info()['simd']}, "
          f"up to {turborle.info()['threads']} threads)")
    print("| call | pycocotools | turborle | speed-up |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['call']} | {r['pycocotools_us']:.2f} us | {r['turborle_us']:.2f} us | "
              f"{r['speedup']:.2f}x |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
