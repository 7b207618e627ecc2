"""The batch API: ``RLEBatch`` and the functions that work on it.

An ``RLEBatch`` holds many masks in columnar form — one flat ``counts`` array, ``offsets``
into it and per-mask ``heights`` and ``widths`` — so it is parsed once, kept, sliced and
handed on without a Python object per mask. Every function here gives the same results as
the pycocotools-compatible ``turborle.mask``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any, Literal, Union

import numpy as np
import numpy.typing as npt

from turborle import _core
from turborle._mask_ops import MaskOps

__all__ = [
    "RLEBatch",
    "area",
    "bbox",
    "complement",
    "concat",
    "decode",
    "encode",
    "from_coco",
    "iou",
    "merge",
]

CocoObject = dict[str, Any]
BatchLike = Union["RLEBatch", Sequence[CocoObject]]


class RLEBatch(MaskOps):
    """An immutable batch of run-length encoded masks.

    Parameters
    ----------
    counts : array of int
        All masks' COCO counts, back to back (background first, column-major runs).
    offsets : array of int, length ``n + 1``
        Mask ``i`` owns ``counts[offsets[i]:offsets[i + 1]]``.
    heights, widths : array of int, length ``n``
        Mask sizes.

    The arrays are validated (every mask's counts must sum to ``h * w``) and copied. Most
    batches come from :func:`encode` or :func:`from_coco` instead.

    Notes
    -----
    ``len``, indexing (an int gives a batch of one mask; slices, integer arrays and boolean
    masks select), iteration (batches of one mask), ``==``, pickling and :meth:`to_coco` are
    supported. The array properties are read-only views, not copies.
    """

    __slots__ = ("_rles",)
    _rles: _core.RLEs

    def __init__(self, counts: Any, offsets: Any, heights: Any, widths: Any) -> None:
        self._rles = _core.from_arrays(counts, offsets, heights, widths)

    @classmethod
    def _wrap(cls, rles: _core.RLEs) -> RLEBatch:
        batch = cls.__new__(cls)
        batch._rles = rles
        return batch

    # -- columns ----------------------------------------------------------------------------
    @property
    def counts(self) -> npt.NDArray[np.uint64]:
        """All counts, back to back (read-only view)."""
        return self._rles.arrays()[0]

    @property
    def offsets(self) -> npt.NDArray[np.uint64]:
        """Start of each mask's counts, plus the end (read-only view, length n + 1)."""
        return self._rles.arrays()[1]

    @property
    def heights(self) -> npt.NDArray[np.uint64]:
        """Height of each mask (read-only view)."""
        return self._rles.arrays()[2]

    @property
    def widths(self) -> npt.NDArray[np.uint64]:
        """Width of each mask (read-only view)."""
        return self._rles.arrays()[3]

    @property
    def nbytes(self) -> int:
        """Bytes held by the columns."""
        return sum(int(a.nbytes) for a in self._rles.arrays())

    # -- container protocol -----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._rles)

    def __getitem__(self, key: Any) -> RLEBatch:
        n = len(self)
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            i = int(key)
            if not -n <= i < n:
                raise IndexError(f"index {i} out of range for {n} masks")
            index: Any = [i % n]
        elif isinstance(key, slice):
            index = range(*key.indices(n))
        else:
            arr = np.asarray(key)
            if arr.dtype == np.bool_:
                if arr.shape != (n,):
                    raise IndexError(f"boolean index must have shape ({n},), got {arr.shape}")
                index = np.flatnonzero(arr)
            elif arr.dtype.kind in "iu" and arr.ndim == 1:
                if arr.size and (arr.min() < -n or arr.max() >= n):
                    raise IndexError(f"index out of range for {n} masks")
                index = np.where(arr < 0, arr + n, arr)
            else:
                raise TypeError(f"cannot index an RLEBatch with {type(key).__name__}")
        return RLEBatch._wrap(_core.take(self._rles, np.asarray(index, dtype=np.uint64)))

    def __iter__(self) -> Iterator[RLEBatch]:
        for i in range(len(self)):
            yield self[i]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RLEBatch):
            return NotImplemented
        return all(np.array_equal(a, b) for a, b in zip(self._rles.arrays(), other._rles.arrays()))

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (RLEBatch, tuple(np.array(a) for a in self._rles.arrays()))

    def __repr__(self) -> str:
        n = len(self)
        sizes = {(int(h), int(w)) for h, w in zip(self.heights, self.widths)}
        if not sizes:
            shown = "no masks"
        elif len(sizes) == 1:
            h, w = next(iter(sizes))
            shown = f"{n} mask{'s' if n != 1 else ''} of {h}x{w}"
        else:
            shown = f"{n} masks of {len(sizes)} sizes"
        return f"<RLEBatch: {shown}, {len(self.counts)} counts, {self.nbytes} bytes>"

    # -- conversions ------------------------------------------------------------------------
    def to_fal(self, start_base: int = 1, order: Literal["C", "F"] = "C",
               *, threads: int | None = None) -> list[str]:
        """fal / Kaggle ``start length`` text, one string per mask (see ``from_fal``)."""
        return _core.to_fal(self._rles, fal_start_base(start_base), fal_order(order), threads)

    def to_arrow(self, counts: Literal["string", "list"] = "string", *,
                 threads: int | None = None) -> Any:
        """The masks as a ``turborle.rle`` Arrow array (needs pyarrow; see ``turborle.arrow``).

        ``counts="string"``: COCO compressed strings; ``"list"``: the run lengths, shared with
        this batch without a copy.
        """
        from turborle._arrow_columns import rles_to_arrow  # (needs pyarrow)

        return rles_to_arrow(self._rles, counts, threads)

    def to_coco(self, *, threads: int | None = None) -> list[CocoObject]:
        """``[{"size": [h, w], "counts": str}, ...]``, ready for ``json.dumps``."""
        return to_coco(self, threads=threads)


def fal_order(order: str) -> bool:
    """Whether fal text is read or written row-major ('C', fal's) rather than 'F'."""
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' (row-major, fal's) or 'F' (column-major), got {order!r}")
    return order == "C"


def fal_start_base(start_base: Any) -> int:
    """The index of the first pixel in fal text: 0 or 1."""
    if isinstance(start_base, bool) or start_base not in (0, 1):
        raise ValueError(f"start_base must be 0 or 1, got {start_base!r}")
    return int(start_base)


def _batch(masks: BatchLike, what: str = "batch") -> _core.RLEs:
    if isinstance(masks, RLEBatch):
        return masks._rles
    if isinstance(masks, (list, tuple)):
        return _core.from_objects(list(masks))
    if _is_arrow(masks):  # an Arrow column of masks: parsed from its buffers in place
        from turborle._arrow_columns import rles_of

        return rles_of(masks)
    raise TypeError(f"{what} must be an RLEBatch, a list of COCO RLE dicts or an Arrow column "
                    f"of masks, got {type(masks).__name__}")


def _is_arrow(obj: Any) -> bool:
    """Whether obj is a pyarrow Array or ChunkedArray (without importing pyarrow: if it was
    never imported, obj cannot be one)."""
    pa = sys.modules.get("pyarrow")
    return pa is not None and isinstance(obj, (pa.Array, pa.ChunkedArray))


def _array(masks: Any) -> npt.NDArray[Any]:
    """A numpy view of a CPU array (numpy, the array interface, or DLPack), no copy."""
    if isinstance(masks, np.ndarray):
        return masks
    if hasattr(masks, "__dlpack__"):
        try:
            return np.from_dlpack(masks)
        except (TypeError, RuntimeError, BufferError, ValueError):
            pass  # e.g. a device array: let np.asarray say what is wrong
    return np.asarray(masks)


def from_coco(objs: CocoObject | Sequence[CocoObject], *, threads: int | None = None) -> RLEBatch:
    """Parse COCO RLE dicts (compressed ``str``/``bytes`` counts or uncompressed lists).

    Masks may have different sizes. Every string and count list is validated; a bad one
    raises ``ValueError`` naming the mask.
    """
    if isinstance(objs, dict):
        objs = [objs]
    return RLEBatch._wrap(_core.from_objects(list(objs), threads))


def encode(masks: Any, *, threads: int | None = None) -> RLEBatch:
    """Encode masks.

    Parameters
    ----------
    masks : array_like, shape (H, W) or (N, H, W)
        bool or uint8 (other integer dtypes are converted with ``!= 0``); nonzero is
        foreground. Float arrays (probabilities, logits) are refused with a ``TypeError``:
        threshold them first. Any memory order and any CPU array exposing ``__dlpack__`` or
        the array interface (torch CPU tensors included) is read in place, without a copy.
    threads : int, optional
        Threads to use (default: ``TURBORLE_NUM_THREADS`` or every CPU).
    """
    arr = _array(masks)
    if arr.ndim == 2:
        arr = arr[np.newaxis]
    if arr.ndim != 3:
        raise ValueError(f"masks must have shape (H, W) or (N, H, W), got {arr.shape}")
    return RLEBatch._wrap(_core.encode(arr, threads))


def decode(
    batch: BatchLike,
    order: Literal["C", "F"] = "C",
    *,
    out: npt.NDArray[Any] | None = None,
    threads: int | None = None,
) -> npt.NDArray[np.bool_]:
    """Decode to an (N, H, W) bool array (all masks must share one size).

    ``order="C"`` lays each mask out row by row (numpy's and torch's default); ``"F"`` column
    by column (pycocotools' layout). ``out`` is an optional preallocated array to fill: an
    (N, H, W) C-contiguous array for "C", or for "F" the transpose of an (N, W, H)
    C-contiguous array; bool or uint8.
    """
    rles = _batch(batch)
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F', got {order!r}")
    if order == "C":
        return _core.decode(rles, False, out, threads).view(np.bool_)
    # Fortran per mask: fill an (N, W, H) C array, i.e. (W, H) per mask, and transpose.
    target = None if out is None else out.transpose(0, 2, 1)
    return _core.decode(rles, False, target, threads, True).view(np.bool_).transpose(0, 2, 1)


def area(batch: BatchLike, *, threads: int | None = None) -> npt.NDArray[np.uint64]:
    """Foreground pixels of each mask, uint64."""
    return _core.area(_batch(batch), threads)


def to_coco(batch: BatchLike, *, threads: int | None = None) -> list[CocoObject]:
    """``[{"size": [h, w], "counts": str}, ...]`` of a batch, a list of COCO dicts (made
    canonical) or an Arrow column of masks (read from its buffers, validated, without a
    batch built in Python first)."""
    return _core.to_objects(_batch(batch), threads, text=True)


def bbox(batch: BatchLike, fmt: Literal["xywh", "xyxy"] = "xywh",
         *, threads: int | None = None) -> npt.NDArray[np.float64]:
    """Tight boxes, (N, 4) float64: ``[x, y, w, h]`` or ``[x0, y0, x1, y1]`` (exclusive)."""
    boxes = _core.bbox(_batch(batch), threads)
    if fmt == "xyxy":
        boxes[:, 2:] += boxes[:, :2]
    elif fmt != "xywh":
        raise ValueError(f"fmt must be 'xywh' or 'xyxy', got {fmt!r}")
    return boxes


def iou(a: BatchLike, b: BatchLike, iscrowd: Any = None,
        *, threads: int | None = None) -> npt.NDArray[np.float64]:
    """IoU of every mask of ``a`` with every mask of ``b``, (len(a), len(b)) float64.

    A crowd mask of ``b`` (``iscrowd[j]`` true) scores ``intersection / area(a[i])``. Pairs of
    different sizes whose boxes overlap score -1 (pycocotools' convention).
    """
    return _core.iou(_batch(a, "a"), _batch(b, "b"), iscrowd, threads)


def merge(batch: BatchLike, op: Literal["union", "intersection", "xor", "difference"] = "union",
          *, threads: int | None = None) -> RLEBatch:
    """Combine all masks (of one size) into one: "difference" is the first minus the rest."""
    rles = _batch(batch)
    if len(rles) == 0:
        raise ValueError("merge needs at least one mask")
    return RLEBatch._wrap(_core.merge(rles, op, threads))


def complement(batch: BatchLike, *, threads: int | None = None) -> RLEBatch:
    """Every mask with foreground and background swapped."""
    return RLEBatch._wrap(_core.complement(_batch(batch), threads))


def concat(batches: Sequence[RLEBatch]) -> RLEBatch:
    """All masks of several batches, in order."""
    parts = [_batch(b) for b in batches]
    return RLEBatch._wrap(_core.concat(parts))
