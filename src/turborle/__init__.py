"""turborle: fast, safe COCO run-length encoding of segmentation masks.

``turborle.mask`` is a byte-exact drop-in for ``pycocotools.mask``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from turborle import mask

try:
    __version__ = version("turborle")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+local"


def info() -> dict[str, object]:
    """What this build of turborle is and uses: version, SIMD level, threads, CUDA."""
    return {"version": __version__}


__all__ = ["__version__", "info", "mask"]
