"""turborle: fast, safe COCO run-length encoding of segmentation masks.

``turborle.mask`` is a byte-exact drop-in for ``pycocotools.mask``.
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from turborle import _core, mask
from turborle._core import RLEError
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
    to_coco,
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


def from_arrow(array: Any, *, threads: int | None = None) -> RLEBatch:
    """An ``RLEBatch`` from an Arrow column of masks (needs pyarrow: ``turborle[arrow]``; see
    ``turborle.arrow.from_arrow``)."""
    from turborle.arrow import from_arrow as from_column

    return from_column(array, threads=threads)


def read_parquet(path: str | os.PathLike[str], *, columns: list[str] | None = None) -> Any:
    """A Parquet file or dataset directory as a pyarrow Table, ``turborle.rle`` columns typed
    (needs pyarrow: ``turborle[arrow]``; see ``turborle.arrow.read_parquet``)."""
    from turborle.arrow import read_parquet as read

    return read(path, columns=columns)


def write_parquet(data: Any, path: str | os.PathLike[str], **options: Any) -> None:
    """Write an ``RLEBatch`` or a pyarrow Table to Parquet with row groups sized for streaming
    (needs pyarrow: ``turborle[arrow]``; see ``turborle.arrow.write_parquet``)."""
    from turborle.arrow import write_parquet as write

    write(data, path, **options)


def empty_cache() -> None:
    """Free the memory turborle keeps for reuse between calls.

    On Linux the last large count array (from parsing a batch of 4 MiB of counts or more) and
    the last large decode output (4 MiB or more) freed are each kept, up to 512 MiB, for the
    next of about their size: fresh memory costs page faults and the kernel's zeroing, often
    more than the parse or decode itself. This hands them back to the system.
    """
    _core.empty_cache()


def info() -> dict[str, object]:
    """What this build of turborle is and uses: version, SIMD level, threads, CUDA."""
    from turborle import cuda  # (loads the CUDA module only when asked)

    return {
        "version": __version__,
        "simd": _core.simd_level(),
        "simd_best": _core.best_simd_level(),
        "threads": _core.default_threads(),
        "cpus": _core.cpu_count(),
        "max_pixels": _core.max_pixels(),
        **cuda._info(),
    }


__all__ = [
    "RLEBatch",
    "RLEError",
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
    "empty_cache",
    "encode",
    "erode",
    "fill_holes",
    "flip",
    "from_any",
    "from_arrow",
    "from_coco",
    "from_fal",
    "from_polygons",
    "info",
    "iou",
    "largest_component",
    "mask",
    "merge",
    "read_parquet",
    "write_parquet",
    "opening",
    "pad",
    "remove_small_islands",
    "remove_small_regions",
    "resize",
    "rot90",
    "to_coco",
    "to_polygons",
    "transpose",
]
