"""``turborle info`` (what is in use) and ``turborle example`` (a first look at the API)."""

from __future__ import annotations

import argparse
import time
from typing import Any, cast


def register(subparsers: Any) -> None:
    """Add ``info`` and ``example``."""
    subparsers.add_parser("info", help="version, SIMD level, threads, CUDA").set_defaults(
        handler=show_info, extra=None)
    subparsers.add_parser("example", help="encode and decode a few masks and print what "
                          "happened").set_defaults(handler=example, extra=None)


def show_info(args: argparse.Namespace) -> int:
    """Print ``turborle.info()``."""
    import turborle

    for key, value in turborle.info().items():
        print(f"{key}: {value}")
    return 0


def example(args: argparse.Namespace) -> int:
    """Encode, inspect and decode a few masks, printing what happened."""
    import numpy as np

    from turborle import mask as mask_utils

    h, w = 480, 640
    yy, xx = np.mgrid[:h, :w]
    masks = np.stack(
        [
            (xx - 200) ** 2 + (yy - 240) ** 2 < 120**2,  # a disc
            (abs(xx - 450) < 90) & (abs(yy - 200) < 150),  # a rectangle
            ((xx // 40 + yy // 40) % 2 == 0),  # a checkerboard (many runs)
        ],
        axis=-1,
    )
    masks = np.asfortranarray(masks.astype(np.uint8))
    t0 = time.perf_counter()
    rles = cast(list[mask_utils.RLE], mask_utils.encode(masks))  # 3-D input: one dict per mask
    t1 = time.perf_counter()
    back = mask_utils.decode(rles)
    t2 = time.perf_counter()
    print(f"encoded {masks.shape[2]} masks of {h}x{w} in {1e3 * (t1 - t0):.2f} ms, "
          f"decoded in {1e3 * (t2 - t1):.2f} ms; round trip exact: {np.array_equal(back, masks)}")
    areas = mask_utils.area(rles)
    boxes = mask_utils.toBbox(rles)
    for name, rle, a, b in zip(["disc", "rectangle", "checkerboard"], rles, areas, boxes):
        counts = rle["counts"]
        shown = counts if len(counts) <= 24 else counts[:24] + b"..."
        print(f"  {name:<12} area {int(a):>7}  bbox {b.tolist()}  counts {len(counts):>5} B: {shown!r}")
    ious = mask_utils.iou(rles, rles, [0, 0, 0])
    print("IoU matrix:")
    for row in ious:
        print("  " + "  ".join(f"{v:.3f}" for v in row))
    union = mask_utils.merge(rles[:2])
    print(f"union of disc and rectangle: area {int(mask_utils.area(union))}")
    return 0
