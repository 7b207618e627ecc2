"""Draw masks and boxes over an image, for a person to look at."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

# Distinct, colour-blind-friendly colours (Okabe-Ito), cycled.
PALETTE = np.array(
    [[230, 159, 0], [86, 180, 233], [0, 158, 115], [240, 228, 66],
     [0, 114, 178], [213, 94, 0], [204, 121, 167], [0, 0, 0]],
    dtype=np.float32,
)


def overlay(
    image: npt.NDArray[np.uint8],
    masks: npt.NDArray[np.bool_],
    boxes: Sequence[Sequence[float]] | None = None,
    alpha: float = 0.5,
) -> npt.NDArray[np.uint8]:
    """Blend each mask in its own colour over ``image`` and outline its box.

    Parameters
    ----------
    image : (H, W, 3) uint8
    masks : (N, H, W) bool
    boxes : N boxes ``[x0, y0, x1, y1]`` in pixels (exclusive end), optional
    alpha : opacity of the mask colour
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3), got {image.shape}")
    if masks.ndim != 3 or masks.shape[1:] != image.shape[:2]:
        raise ValueError(f"masks must be (N, {image.shape[0]}, {image.shape[1]}), got {masks.shape}")
    out = image.astype(np.float32)
    for i, mask in enumerate(masks):
        colour = PALETTE[i % len(PALETTE)]
        out[mask] = (1 - alpha) * out[mask] + alpha * colour
    result: npt.NDArray[np.uint8] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    h, w = image.shape[:2]
    for i, box in enumerate(boxes or []):
        colour = PALETTE[i % len(PALETTE)].astype(np.uint8)
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        x0, x1 = max(0, min(x0, w - 1)), max(0, min(x1 - 1, w - 1))
        y0, y1 = max(0, min(y0, h - 1)), max(0, min(y1 - 1, h - 1))
        if x1 < x0 or y1 < y0:
            continue
        result[y0, x0:x1 + 1] = colour
        result[y1, x0:x1 + 1] = colour
        result[y0:y1 + 1, x0] = colour
        result[y0:y1 + 1, x1] = colour
    return result


def save_png(pixels: npt.NDArray[np.uint8], path: str | Path) -> None:
    """Write an (H, W, 3) uint8 array as a PNG (needs Pillow, in the ``gateway`` extra)."""
    from PIL import Image

    Image.fromarray(np.ascontiguousarray(pixels)).save(path, format="PNG")  # (H, W, 3) uint8 is RGB
