"""Leak check: every operation of turborle in a loop, with the resident memory measured.

Runs one round of every public operation (the pycocotools-compatible ``turborle.mask`` API
and the batch API), error paths included (malformed input raising ``ValueError``), first to
warm up (allocator pools, caches, lazily imported modules), then ``iterations`` more times,
and reports how much the resident set size grew. A leak of even a few bytes per call shows
as steady growth over a few hundred rounds; noise is a few hundred KiB.

    python3 tests/sanitize/leak_check.py [--iterations N] [--limit-kib K]

Reads RSS from /proc/self/statm (Linux); elsewhere it reports nothing and passes.
``tests/test_leaks.py`` runs the same loop briefly in the default test suite.
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

import turborle
from turborle import mask as tmask

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int | None:
    """Resident set size of this process, or None where /proc is not available."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * PAGE
    except OSError:
        return None


def _expect_value_error(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except ValueError:
        return
    raise AssertionError(f"{fn} did not raise ValueError")


def _fixtures() -> dict[str, Any]:
    rng = np.random.default_rng(7)
    masks = (rng.random((4, 37, 53)) < 0.3).astype(np.uint8)
    masks[:, 5:20, 10:40] = 1
    fortran = np.asfortranarray(masks.transpose(1, 2, 0))
    return {"masks": masks, "fortran": fortran}


def one_round(fx: dict[str, Any]) -> None:
    """One call of every operation (results are checked lightly so nothing is optimised out)."""
    masks, fortran = fx["masks"], fx["fortran"]
    h, w = masks.shape[1:]

    # pycocotools-compatible API.
    rles = tmask.encode(fortran)
    assert len(rles) == 4
    dec = tmask.decode(rles)
    assert dec.shape == (h, w, 4)
    tmask.decode(rles[0])
    tmask.area(rles)
    tmask.toBbox(rles)
    tmask.iou(rles, rles, [0, 1, 0, 1])
    tmask.iou(np.array([[1.0, 2, 3, 4]]), np.array([[2.0, 2, 3, 3], [0, 0, 1, 1]]), [0, 0])
    tmask.merge(rles)
    tmask.merge(rles, intersect=1)
    tmask.frPyObjects([[1.0, 1, 30, 2, 20, 30], [5.0, 5, 9, 5, 9, 9, 5, 9]], h, w)
    tmask.frPyObjects(np.array([[1.0, 2, 10, 12], [0, 0, 5, 5]]), h, w)
    tmask.frPyObjects([[1.0, 2, 10, 12]], h, w)
    tmask.frPyObjects({"size": [h, w], "counts": [10, 20, h * w - 30]}, h, w)
    tmask.frPyObjects([{"size": [h, w], "counts": [h * w]}], h, w)
    text = {"size": [h, w], "counts": rles[0]["counts"].decode("ascii")}
    tmask.area(text)

    # Batch API.
    b = turborle.encode(masks)
    bf = turborle.encode(fortran.transpose(2, 0, 1))
    assert b == bf
    turborle.decode(b)
    turborle.decode(b, order="F")
    out = np.empty((4, h, w), dtype=bool)
    turborle.decode(b, out=out)
    turborle.area(b)
    turborle.bbox(b)
    turborle.bbox(b, fmt="xyxy")
    turborle.iou(b, b, [0, 1, 0, 0])
    for op in ("union", "intersection", "xor", "difference"):
        turborle.merge(b, op)
    turborle.complement(b)
    coco = b.to_coco()
    back = turborle.from_coco(coco)
    assert back == b
    turborle.from_coco({"size": [h, w], "counts": [h * w]})
    fal = b.to_fal()
    assert turborle.from_fal(fal, h, w) == b
    turborle.from_fal(b.to_fal(start_base=0, order="F"), h, w, start_base=0, order="F")
    turborle.from_any(coco)
    turborle.concat([b, b[1:3]])
    list(iter(b))
    b[::2].counts  # noqa: B018
    pickle.loads(pickle.dumps(b))
    repr(b)

    # Error paths: malformed input must raise ValueError and free what it allocated.
    bad = [
        lambda: turborle.from_coco({"size": [h, w], "counts": b"\x01\x02"}),
        lambda: turborle.from_coco({"size": [h, w], "counts": b"0P"}),
        lambda: turborle.from_coco({"size": [h, w], "counts": "0" * 50}),
        lambda: turborle.from_coco({"size": [h, w], "counts": [1, 2, 3]}),
        lambda: turborle.from_coco([coco[0], {"size": [2, 2], "counts": b"o"}]),
        lambda: tmask.area({"size": [h, w], "counts": b"\x01\x02"}),
        lambda: tmask.decode([{"size": [3, 3], "counts": b"8"}]),
        lambda: turborle.from_fal("1 3 2", h, w),
        lambda: turborle.from_fal("0 3", h, w),
        lambda: turborle.from_fal("5 3 6 2", h, w),
        lambda: turborle.from_fal(["1 2", "x"], h, w),
        lambda: turborle.merge(turborle.concat([b[:1], turborle.encode(masks[:1, :5, :5])])),
        lambda: turborle.decode(turborle.concat([b[:1], turborle.encode(masks[:1, :5, :5])])),
        lambda: tmask.frPyObjects([[float("nan"), 1, 2, 3, 4, 5]], h, w),
        lambda: tmask.frPyObjects([[1e30, 1, 2, 3, 4, 5]], h, w),
        lambda: tmask.frPyObjects(np.array([[float("inf"), 0, 1, 1]]), h, w),
    ]
    for fn in bad:
        _expect_value_error(fn)


def measure(iterations: int, warmup: int = 30) -> tuple[int, int, int] | None:
    """Runs warm-up rounds, then ``iterations`` rounds; returns (rss before, after, growth)."""
    fx = _fixtures()
    for _ in range(warmup):
        one_round(fx)
    gc.collect()
    before = rss_bytes()
    if before is None:
        return None
    for _ in range(iterations):
        one_round(fx)
    gc.collect()
    after = rss_bytes()
    assert after is not None
    return before, after, after - before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--limit-kib", type=int, default=1024,
                        help="largest RSS growth accepted after warm-up (KiB)")
    args = parser.parse_args(argv)
    result = measure(args.iterations)
    if result is None:
        print("leak check: /proc/self/statm not available; skipped")
        return 0
    before, after, growth = result
    print(f"leak check: {args.iterations} rounds of every operation; RSS {before // 1024} KiB "
          f"-> {after // 1024} KiB (growth {growth // 1024} KiB, limit {args.limit_kib} KiB)")
    if growth > args.limit_kib * 1024:
        print("leak check: FAILED: resident memory grew", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
