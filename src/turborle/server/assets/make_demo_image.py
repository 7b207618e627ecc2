"""Write ``demo.png``, the bundled test image of the reference server (deterministic).

320x240 RGB, flat colours, no anti-aliasing, so that the classical segmenter's answers can be
checked against the geometry below. Run ``python3 make_demo_image.py`` to regenerate it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

WIDTH, HEIGHT = 320, 240
BACKGROUND = (235, 235, 235)
# name: (kind, Pillow xy (corners inclusive), RGB). Drawn in this order; none overlap.
SHAPES: dict[str, tuple[str, tuple[int, ...], tuple[int, int, int]]] = {
    "red_rectangle": ("rectangle", (20, 20, 110, 90), (220, 40, 40)),
    "green_disc": ("ellipse", (155, 25, 245, 115), (40, 180, 60)),
    "blue_triangle": ("polygon", (40, 220, 130, 220, 85, 130), (40, 70, 210)),
    "yellow_ellipse": ("ellipse", (160, 150, 300, 220), (240, 210, 40)),
    "black_square": ("rectangle", (260, 10, 305, 55), (30, 30, 30)),
    "wheel_tyre": ("ellipse", (255, 75, 305, 125), (50, 50, 50)),
    "wheel_hub": ("ellipse", (270, 90, 290, 110), (160, 160, 160)),
}


def make_demo_image() -> Image.Image:
    """The demo image, drawn from ``SHAPES``."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for kind, xy, colour in SHAPES.values():
        if kind == "rectangle":
            draw.rectangle(xy, fill=colour)
        elif kind == "ellipse":
            draw.ellipse(xy, fill=colour)
        else:
            draw.polygon(xy, fill=colour)
    return image


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("demo.png")
    make_demo_image().save(target, format="PNG", optimize=True)
    print(f"wrote {target} ({target.stat().st_size} bytes)")
