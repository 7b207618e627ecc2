"""What the gateway commands show: a table of the masks, and an overlay PNG over the image."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from turborle.gateway import Segmentation


def load_rgb(path: str) -> Any:
    """Upright RGB pixels of an image file (EXIF orientation applied, as the fetcher sends it)."""
    import numpy as np
    from PIL import Image, ImageOps

    with Image.open(path) as img:
        return np.asarray(ImageOps.exif_transpose(img).convert("RGB"))


def print_masks(seg: Segmentation, title: str) -> None:
    """One line per mask: score, area and box."""
    import turborle

    areas = turborle.area(seg.masks)
    print(f"{title}: {len(areas)} masks at {seg.height}x{seg.width} "
          f"(sent as {seg.dialect}, request {seg.request_id or '-'})")
    print(f"  {'#':>2}  {'score':>6}  {'area':>8}  box x0, y0, x1, y1 (pixels)")
    for i, area in enumerate(areas):
        score = f"{seg.scores[i]:.3f}" if seg.scores is not None else "-"
        box = ", ".join(f"{v:.0f}" for v in seg.boxes[i])
        print(f"  {i:>2}  {score:>6}  {int(area):>8}  [{box}]")


def write_overlay(pixels: Any, seg: Segmentation, path: str) -> None:
    """The masks and boxes of ``seg`` drawn over ``pixels``, written to ``path`` as PNG."""
    from turborle.gateway.overlay import overlay, save_png

    save_png(overlay(pixels, seg.decode(), seg.boxes.tolist()), path)
    print(f"overlay written to {path}")
