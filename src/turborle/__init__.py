"""turborle: fast, safe COCO run-length encoding of segmentation masks.

``turborle.mask`` is a byte-exact drop-in for ``pycocotools.mask``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from turborle import _core, mask
from turborle.batch import (
    RLEBatch,
    area,
    bbox,
    complement,
    concat,
    decode,
    encode,
    from_coco,
    iou,
    merge,
)
from turborle.dialects import from_any, from_fal
from turborle.ops import (
    closing,
    connected_components,
    crop,
    dilate,
    erode,
    fill_holes,
    flip,
    from_polygons,
    largest_component,
    opening,
    pad,
    remove_small_islands,
    remove_small_regions,
    resize,
    rot90,
    to_polygons,
    transpose,
)

try:
    __version__ = version("turborle")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+local"


def info() -> dict[str, object]:
    """What this build of turborle is and uses: version, SIMD level, threads, CUDA."""
    return {
        "version": __version__,
        "simd": _core.simd_level(),
        "simd_best": _core.best_simd_level(),
        "threads": _core.default_threads(),
        "cpus": _core.cpu_count(),
        "max_pixels": _core.max_pixels(),
        "cuda_built": False,
    }


__all__ = [
    "RLEBatch",
    "__version__",
    "area",
    "bbox",
    "closing",
    "complement",
    "concat",
    "connected_components",
    "crop",
    "decode",
    "dilate",
    "encode",
    "erode",
    "fill_holes",
    "flip",
    "from_any",
    "from_coco",
    "from_fal",
    "from_polygons",
    "info",
    "iou",
    "largest_component",
    "mask",
    "merge",
    "opening",
    "pad",
    "remove_small_islands",
    "remove_small_regions",
    "resize",
    "rot90",
    "to_polygons",
    "transpose",
]
