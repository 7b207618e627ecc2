"""Type stubs for the private Cython binding ``turborle._core`` (source: ``_core.pyx``).

Keep in step with ``_core.pyx``: ``tests/test_typing.py`` runs ``mypy --strict`` over the
package and ``tests/typing/usage.py`` against these stubs, so a signature that drifts from
the Python wrappers' use of it fails the tests.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Literal, SupportsIndex, TypeAlias, TypeVar, overload

import numpy as np
import numpy.typing as npt

_U64: TypeAlias = npt.NDArray[np.uint64]
_F64: TypeAlias = npt.NDArray[np.float64]
# What decode may write into: uint8, or bool (same bytes).
_MaskScalarT = TypeVar("_MaskScalarT", np.uint8, np.bool_)

_MAX_DIM: int

# ---- errors -----------------------------------------------------------------------------------

class RLEError(ValueError):
    """Bad input; ``index``/``item``/``offset`` say which item and byte it is about."""

    reason: str
    item: str | None
    index: int | None
    offset: int | None
    def __init__(self, message: str, *, reason: str | None = ..., item: str | None = ...,
                 index: int | None = ..., offset: int | None = ...) -> None: ...

# ---- how calls run: SIMD level and threads ------------------------------------------------

def simd_level() -> str: ...
def best_simd_level() -> str: ...
def _set_simd(name: str) -> str: ...
def cpu_count() -> int: ...
def default_threads() -> int: ...
def max_pixels() -> int: ...
def pool_size() -> int: ...

# ---- the batch type -------------------------------------------------------------------------

class RLEs:
    """A batch of RLE masks held by the core in columnar form (private type)."""

    def __len__(self) -> int: ...
    def arrays(self) -> tuple[_U64, _U64, _U64, _U64]:
        """(counts, offsets, heights, widths): read-only uint64 views, no copy."""

# ---- construction and selection -------------------------------------------------------------

def from_arrays(
    counts: npt.ArrayLike, offsets: npt.ArrayLike, heights: npt.ArrayLike, widths: npt.ArrayLike
) -> RLEs: ...
def take(rles: RLEs, index: npt.ArrayLike) -> RLEs: ...
def concat(parts: list[RLEs]) -> RLEs: ...
def complement(rles: RLEs, threads: int | None = None) -> RLEs: ...

# ---- COCO dicts -----------------------------------------------------------------------------

_Dicts: TypeAlias = list[dict[str, Any]]
_Dim: TypeAlias = SupportsIndex | float

@overload
def from_objects(objs: Sequence[Mapping[str, Any]], threads: int | None = None,
                 objects: Literal[False] = False) -> RLEs: ...
@overload
def from_objects(objs: Sequence[Mapping[str, Any]], threads: int | None,
                 objects: Literal[True]) -> _Dicts: ...
@overload
def from_objects(objs: Sequence[Mapping[str, Any]], *, objects: Literal[True]) -> _Dicts: ...
@overload
def measure_one(obj: Mapping[str, Any], bbox: Literal[False]) -> np.uint32 | np.uint64: ...
@overload
def measure_one(obj: Mapping[str, Any], bbox: Literal[True]) -> _F64: ...
def coco_strings(objs: Sequence[Mapping[str, Any]]) -> tuple[bytes, _U64, _U64, _U64] | None: ...
def check_decodable(heights: npt.ArrayLike, widths: npt.ArrayLike) -> None: ...
def merge_objects(objs: Sequence[Mapping[str, Any]],
                  op: Literal["union", "intersection", "xor", "difference"],
                  threads: int | None = None) -> dict[str, Any]: ...
@overload
def measure_objects(
    objs: Sequence[Mapping[str, Any]],
    want_area: Literal[True],
    want_bbox: Literal[False],
    threads: int | None = None,
) -> tuple[_U64, None]: ...
@overload
def measure_objects(
    objs: Sequence[Mapping[str, Any]],
    want_area: Literal[False],
    want_bbox: Literal[True],
    threads: int | None = None,
) -> tuple[None, _F64]: ...
@overload
def measure_objects(
    objs: Sequence[Mapping[str, Any]],
    want_area: Literal[True],
    want_bbox: Literal[True],
    threads: int | None = None,
) -> tuple[_U64, _F64]: ...
@overload
def measure_objects(
    objs: Sequence[Mapping[str, Any]],
    want_area: bool,
    want_bbox: bool,
    threads: int | None = None,
) -> tuple[_U64 | None, _F64 | None]: ...
def area_objects(
    objs: Sequence[Mapping[str, Any]], threads: int | None = None
) -> npt.NDArray[np.uint32] | _U64: ...
def to_objects(rles: RLEs, threads: int | None = None, text: bool = False) -> list[dict[str, Any]]:
    """``[{"size": [h, w], "counts": bytes}, ...]`` (``str`` counts with ``text``)."""

# ---- fal / Kaggle "start length" text -------------------------------------------------------

def from_fal(
    texts: list[str | bytes],
    h: SupportsIndex,
    w: SupportsIndex,
    start_base: int,
    row_major: bool,
    threads: int | None = None,
) -> RLEs: ...
def to_fal(
    rles: RLEs, start_base: int, row_major: bool, threads: int | None = None
) -> list[str]: ...

# ---- dense masks ----------------------------------------------------------------------------

@overload
def encode(masks: npt.NDArray[Any], threads: int | None = None,
           objects: Literal[False] = False, hwn: bool = False) -> RLEs: ...
@overload
def encode(masks: npt.NDArray[Any], threads: int | None, objects: Literal[True],
           hwn: bool = False) -> _Dicts: ...
@overload
def encode(masks: npt.NDArray[Any], *, objects: Literal[True], hwn: bool = False) -> _Dicts: ...
@overload
def decode(
    rles: RLEs,
    fortran: bool,
    out: None = None,
    threads: int | None = None,
    transposed: bool = False,
) -> npt.NDArray[np.uint8]: ...
@overload
def decode(
    rles: RLEs,
    fortran: bool,
    out: npt.NDArray[_MaskScalarT],
    threads: int | None = None,
    transposed: bool = False,
) -> npt.NDArray[_MaskScalarT]: ...

def empty_cache() -> None: ...

# ---- measures and operations ----------------------------------------------------------------

def area(rles: RLEs, threads: int | None = None) -> _U64: ...
def bbox(rles: RLEs, threads: int | None = None) -> _F64: ...
def iou(
    dt: RLEs,
    gt: RLEs,
    crowd: npt.ArrayLike | None,
    threads: int | None = None,
    path: Literal["choose", "sweep", "planes"] = "choose",
) -> _F64: ...
def box_iou(dt: npt.ArrayLike, gt: npt.ArrayLike, crowd: npt.ArrayLike | None) -> _F64: ...
def merge(
    rles: RLEs,
    op: Literal["union", "intersection", "xor", "difference"],
    threads: int | None = None,
) -> RLEs: ...

# ---- rasterisation --------------------------------------------------------------------------

@overload
def from_polygons(polygons: list[npt.ArrayLike], h: _Dim, w: _Dim,
                  objects: Literal[False] = False) -> RLEs: ...
@overload
def from_polygons(polygons: list[npt.ArrayLike], h: _Dim, w: _Dim,
                  objects: Literal[True]) -> _Dicts: ...
@overload
def from_boxes(boxes: npt.ArrayLike, h: _Dim, w: _Dim, objects: Literal[False] = False) -> RLEs: ...
@overload
def from_boxes(boxes: npt.ArrayLike, h: _Dim, w: _Dim, objects: Literal[True]) -> _Dicts: ...

# ==== Arrow columns (turborle.arrow, turborle.datasets) ==============================


# `data`: the bytes of an Arrow string column (any buffer); `offsets`: its n + 1 int32 or int64
# offsets (validated); heights and widths per mask.

def from_strings(
    data: Any, offsets: npt.ArrayLike, heights: npt.ArrayLike, widths: npt.ArrayLike,
    threads: int | None = None,
) -> RLEs: ...
def measure_strings(
    data: Any, offsets: npt.ArrayLike, heights: npt.ArrayLike, widths: npt.ArrayLike,
    threads: int | None = None, problems: list[tuple[int, str]] | None = None,
) -> tuple[_U64, _F64]:
    """(area, bbox xywh); with `problems`, bad masks are listed there instead of raising."""
def to_strings(rles: RLEs, threads: int | None = None) -> tuple[bytes, npt.NDArray[np.int64]]:
    """(data, int64 offsets of n + 1): every mask's COCO string, back to back."""

# ---- mask operations (csrc/ops.hpp) ---------------------------------------------------------

def connected_components(
    rles: RLEs, connectivity: int, threads: int | None = None
) -> tuple[RLEs, npt.NDArray[np.int64]]: ...
def largest_component(rles: RLEs, connectivity: int, threads: int | None = None) -> RLEs: ...
def fill_holes(
    rles: RLEs, max_area: int, connectivity: int, threads: int | None = None
) -> RLEs: ...
def remove_small_islands(
    rles: RLEs, min_area: int, connectivity: int, threads: int | None = None
) -> RLEs: ...
def remove_small_regions(
    rles: RLEs, area_threshold: int, holes: bool, threads: int | None = None
) -> tuple[RLEs, npt.NDArray[np.bool_]]: ...
def morphology(
    rles: RLEs,
    op: Literal["dilate", "erode", "opening", "closing"],
    shape: Literal["square", "cross", "disk"],
    size: int,
    threads: int | None = None,
) -> RLEs: ...
def crop(rles: RLEs, boxes: npt.ArrayLike, threads: int | None = None) -> RLEs: ...
def pad(
    rles: RLEs, top: int, bottom: int, left: int, right: int, threads: int | None = None
) -> RLEs: ...
def flip(rles: RLEs, axis: int, threads: int | None = None) -> RLEs: ...
def transpose(rles: RLEs, threads: int | None = None) -> RLEs: ...
def rot90(rles: RLEs, k: int, threads: int | None = None) -> RLEs: ...
def resize(rles: RLEs, h: int, w: int, threads: int | None = None) -> RLEs: ...
def to_rings(
    rles: RLEs, connectivity: int, tolerance: float, threads: int | None = None
) -> tuple[npt.NDArray[np.int64], _U64, _U64]: ...
def from_rings(
    xy: npt.ArrayLike,
    ring_start: npt.ArrayLike,
    mask_start: npt.ArrayLike,
    heights: npt.ArrayLike,
    widths: npt.ArrayLike,
    threads: int | None = None,
) -> RLEs: ...

class AnnotationColumns:
    """The dataset import's annotation columns (csrc/sa1b_json.hpp)."""

    def __len__(self) -> int: ...
    @property
    def counts_bytes(self) -> int: ...
    def read_sa1b(self, data: bytes) -> tuple[int, str, int | None] | None: ...
    def add(self, counts: bytes | None, height: int, width: int, ann_id: int | None,
            category_id: int | None, stored_area: float | None,
            stored_bbox: Sequence[float] | None, extra: bytes | None) -> None: ...
    def take(self) -> dict[str, Any]: ...
