"""Mask operations on run-length encoded masks: components, holes, morphology, geometry and
polygons.

Every function takes an :class:`~turborle.RLEBatch` (or a list of COCO RLE dicts) and works on
the runs of each column, never on decoded pixels: time and memory follow the number of runs
plus the mask's width, so a 20000 x 20000 mask of one run costs about as much as a small one.
The masks of a batch are processed in parallel with the GIL released. Results are new
batches in canonical form.

Semantics are those of the usual dense tools, bit for bit: ``scipy.ndimage`` for components,
hole filling and morphology, segment-anything's ``remove_small_regions`` (OpenCV), numpy for
geometry and ``torch.nn.functional.interpolate(mode="nearest-exact")`` for resizing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, Union

import numpy as np
import numpy.typing as npt

from turborle import _core
from turborle._mask_ops import Connectivity, MorphologyOp, Ring, Shape, _int
from turborle.batch import BatchLike, RLEBatch, _batch

RingLike = Union[npt.ArrayLike, Sequence[float]]


def _as_batch(batch: BatchLike) -> RLEBatch:
    return batch if isinstance(batch, RLEBatch) else RLEBatch._wrap(_batch(batch))


__all__ = [
    "closing",
    "connected_components",
    "crop",
    "dilate",
    "erode",
    "fill_holes",
    "flip",
    "from_polygons",
    "largest_component",
    "opening",
    "pad",
    "remove_small_islands",
    "remove_small_regions",
    "resize",
    "rot90",
    "to_polygons",
    "transpose",
]

# ---- connected components ----------------------------------------------------------------------


def connected_components(
    batch: BatchLike, connectivity: Connectivity = 8, *, threads: int | None = None
) -> tuple[RLEBatch, npt.NDArray[np.int64]]:
    """Every connected component of every mask, as its own mask.

    Parameters
    ----------
    batch : RLEBatch or list of COCO RLE dicts
        The masks.
    connectivity : {4, 8}
        4: pixels touching by an edge are connected; 8: also by a corner.
    threads : int, optional
        Threads to use (default: ``TURBORLE_NUM_THREADS`` or every CPU).

    Returns
    -------
    components : RLEBatch
        One mask per component, each of its mask's size. The components of a mask follow each
        other, numbered as ``scipy.ndimage.label`` numbers them (by their first pixel in
        row-major order).
    owner : ndarray of int64
        ``owner[k]`` is the index of the mask component ``k`` came from.

    Examples
    --------
    >>> import numpy as np, turborle
    >>> m = np.array([[1, 0, 1], [0, 0, 1]], bool)
    >>> parts, owner = turborle.connected_components(turborle.encode(m), connectivity=4)
    >>> turborle.area(parts).tolist(), owner.tolist()
    ([1, 2], [0, 0])
    """
    return _as_batch(batch).connected_components(connectivity, threads=threads)


def largest_component(
    batch: BatchLike, connectivity: Connectivity = 8, *, threads: int | None = None
) -> RLEBatch:
    """The largest component of each mask (empty masks stay empty).

    Among components of equal area the first in ``scipy.ndimage.label``'s order wins.
    """
    return _as_batch(batch).largest_component(connectivity, threads=threads)


def fill_holes(
    batch: BatchLike,
    max_area: float | None = None,
    connectivity: Connectivity = 4,
    *,
    threads: int | None = None,
) -> RLEBatch:
    """Fill the holes of each mask: background regions that do not touch the image border.

    Parameters
    ----------
    batch : RLEBatch or list of COCO RLE dicts
        The masks.
    max_area : number, optional
        Fill only holes of at most this many pixels (default: every hole). With no limit the
        result is ``scipy.ndimage.binary_fill_holes``.
    connectivity : {4, 8}
        Connectivity of the background regions: 4 (scipy's default structure) or 8
        (``structure=np.ones((3, 3))``).
    threads : int, optional
        Threads to use.
    """
    return _as_batch(batch).fill_holes(max_area, connectivity, threads=threads)


def remove_small_islands(
    batch: BatchLike,
    min_area: float,
    connectivity: Connectivity = 8,
    *,
    threads: int | None = None,
) -> RLEBatch:
    """Remove the components of fewer than ``min_area`` pixels from each mask."""
    return _as_batch(batch).remove_small_islands(min_area, connectivity, threads=threads)


def remove_small_regions(
    batch: BatchLike,
    area_thresh: float,
    mode: Literal["holes", "islands"],
    *,
    threads: int | None = None,
) -> tuple[RLEBatch, npt.NDArray[np.bool_]]:
    """segment-anything's ``remove_small_regions``, bit for bit, on a batch.

    Regions are 8-connected; a region of fewer than ``area_thresh`` pixels is small.

    Parameters
    ----------
    batch : RLEBatch or list of COCO RLE dicts
        The masks.
    area_thresh : number
        Size below which a region is small.
    mode : {"holes", "islands"}
        "holes": every small background region is filled, the ones touching the image border
        included. "islands": every small foreground region is removed; when all of a mask's
        regions are small, its largest one is kept (the first in OpenCV's label order among
        equals, as ``np.argmax`` picks it in segment-anything).
    threads : int, optional
        Threads to use.

    Returns
    -------
    masks : RLEBatch
        The corrected masks.
    changed : ndarray of bool
        Per mask, whether any small region was found (segment-anything's second result).
    """
    return _as_batch(batch).remove_small_regions(area_thresh, mode, threads=threads)


# ---- morphology ------------------------------------------------------------------------------


_MORPHOLOGY_DOC = """{summary}

    ``scipy.ndimage.{scipy}`` with the structuring element below and ``border_value=0``:
    outside the image is background.

    Parameters
    ----------
    batch : RLEBatch or list of COCO RLE dicts
        The masks.
    size : int
        Width of the structuring element, >= 1; even sizes are centred at ``size // 2`` as
        scipy centres them.
    shape : {{"square", "cross", "disk"}}
        "square": ``np.ones((size, size))``. "cross": the centre row and column. "disk" (odd
        sizes): the offsets within radius ``size // 2``, ``dx**2 + dy**2 <= r**2``, as
        ``skimage.morphology.disk(r)``.
    threads : int, optional
        Threads to use.

    Notes
    -----
    Squares and crosses cost about ``log2(size)`` passes over the runs; a disk costs about
    ``size`` passes.
    """


def dilate(batch: BatchLike, size: int = 3, shape: Shape = "square",
           *, threads: int | None = None) -> RLEBatch:
    return _as_batch(batch).dilate(size, shape, threads=threads)


def erode(batch: BatchLike, size: int = 3, shape: Shape = "square",
          *, threads: int | None = None) -> RLEBatch:
    return _as_batch(batch).erode(size, shape, threads=threads)


def opening(batch: BatchLike, size: int = 3, shape: Shape = "square",
            *, threads: int | None = None) -> RLEBatch:
    return _as_batch(batch).opening(size, shape, threads=threads)


def closing(batch: BatchLike, size: int = 3, shape: Shape = "square",
            *, threads: int | None = None) -> RLEBatch:
    return _as_batch(batch).closing(size, shape, threads=threads)


dilate.__doc__ = _MORPHOLOGY_DOC.format(summary="Binary dilation.", scipy="binary_dilation")
erode.__doc__ = _MORPHOLOGY_DOC.format(summary="Binary erosion.", scipy="binary_erosion")
opening.__doc__ = _MORPHOLOGY_DOC.format(
    summary="Binary opening: erosion, then dilation.", scipy="binary_opening")
closing.__doc__ = _MORPHOLOGY_DOC.format(
    summary="Binary closing: dilation, then erosion (so a mask touching the border loses "
            "pixels there, as in scipy).", scipy="binary_closing")


# ---- geometry --------------------------------------------------------------------------------


def crop(batch: BatchLike, box: npt.ArrayLike, *, threads: int | None = None) -> RLEBatch:
    """Crop every mask to a box.

    Parameters
    ----------
    batch : RLEBatch or list of COCO RLE dicts
        The masks.
    box : array_like of int, shape (4,) or (n, 4)
        ``[x, y, width, height]``: one box for every mask, or one per mask. Parts of the box
        outside the image are cut off (the result is ``mask[y:y + height, x:x + width]`` with
        negative starts clipped to 0).
    threads : int, optional
        Threads to use.

    Raises
    ------
    ValueError
        A negative width or height, or a box of positive area that does not meet the image.
    """
    return _as_batch(batch).crop(box, threads=threads)


def pad(batch: BatchLike, top: int = 0, bottom: int = 0, left: int = 0, right: int = 0,
        *, threads: int | None = None) -> RLEBatch:
    """Add background rows and columns around every mask (``np.pad`` with zeros)."""
    return _as_batch(batch).pad(top, bottom, left, right, threads=threads)


def flip(batch: BatchLike, axis: int, *, threads: int | None = None) -> RLEBatch:
    """``np.flip(mask, axis)``: axis 0 (or -2) turns masks upside down, 1 (or -1) mirrors."""
    return _as_batch(batch).flip(axis, threads=threads)


def transpose(batch: BatchLike, *, threads: int | None = None) -> RLEBatch:
    """``mask.T``: an (h, w) mask becomes (w, h)."""
    return _as_batch(batch).transpose(threads=threads)


def rot90(batch: BatchLike, k: int = 1, *, threads: int | None = None) -> RLEBatch:
    """``np.rot90(mask, k)``: ``k`` quarter turns counter-clockwise (any integer)."""
    return _as_batch(batch).rot90(k, threads=threads)


def resize(batch: BatchLike, size: tuple[int, int], *, threads: int | None = None) -> RLEBatch:
    """Resample every mask to ``size = (height, width)`` by nearest-exact sampling.

    The pixels are those of ``torch.nn.functional.interpolate(x, size, mode="nearest-exact")``:
    output row ``y`` reads input row ``floor((y + 0.5) * h_in / h)`` (clipped to the last
    row), and the same for columns, in torch's own float arithmetic (torch's CPU kernel picks
    between two roundings of that product by output size; both are reproduced). It is the
    rule of PIL's and ``scipy.ndimage.zoom``'s nearest sampling and of OpenCV's
    ``INTER_NEAREST_EXACT``. OpenCV's ``INTER_NEAREST`` and torch's ``mode="nearest"`` use
    ``floor(y * h_in / h)`` instead, which shifts the image by up to half an input pixel.

    Raises
    ------
    ValueError
        A size of 0, or of more than ``TURBORLE_MAX_PIXELS`` pixels (default 2**31).
    """
    return _as_batch(batch).resize(size, threads=threads)


# ---- polygons --------------------------------------------------------------------------------


def to_polygons(
    batch: BatchLike,
    tolerance: float = 0.0,
    connectivity: Connectivity = 8,
    *,
    threads: int | None = None,
) -> list[list[Ring]]:
    """The outline of every component of every mask, as rings along pixel edges.

    Parameters
    ----------
    batch : RLEBatch or list of COCO RLE dicts
        The masks.
    tolerance : float
        0 (default): exact rings, whose even-odd fill (:func:`from_polygons`) gives back the
        mask. Above 0: each ring simplified (Douglas-Peucker) so that no removed vertex lies
        farther than ``tolerance`` pixels from the simplified ring; at least 3 vertices stay.
    connectivity : {4, 8}
        Connectivity of the foreground: with 8 (default, as ``cv2.findContours``), pixels
        touching at a corner belong to one ring, which then touches itself at that corner.
    threads : int, optional
        Threads to use.

    Returns
    -------
    list of list of ndarray
        Per mask, its rings: each an ``(k, 2)`` int64 array of ``(x, y)`` pixel corners
        (``0 <= x <= w``, ``0 <= y <= h``), the first vertex not repeated, corners only. Per
        component, in ``scipy.ndimage.label``'s order: its outer ring, then its holes. A ring
        starts at its first vertex in row-major order. Outer rings have a positive signed
        (shoelace) area, holes a negative one: counter-clockwise and clockwise with the y
        axis pointing up (shapely's ``is_ccw``); on screen, with y down, they look the other
        way round. The signed areas of a mask's rings sum to its pixel count.

    Notes
    -----
    ``cv2.findContours`` traces the centres of boundary pixels: a one-pixel object is a single
    point and every contour encloses half a pixel less on each side; its outer contours have
    a negative signed area. These rings run along the pixel edges and enclose exactly the
    pixels. COCO polygons cannot hold holes (pycocotools' ``frPyObjects`` rasterises each
    polygon and ``annToRLE`` unites them): pass only the outer rings, flattened with
    ``ring.ravel().tolist()``; ``frPyObjects`` then gives each component with its holes
    filled, exactly.
    """
    return _as_batch(batch).to_polygons(tolerance, connectivity, threads=threads)


def _ring(ring: RingLike, where: str) -> npt.NDArray[np.float64]:
    arr = np.asarray(ring, dtype=np.float64)
    if arr.ndim == 1:
        if arr.size % 2:
            raise ValueError(f"{where}: a flat ring needs an even number of coordinates, got {arr.size}")
        arr = arr.reshape(-1, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{where}: a ring must have shape (k, 2) or be flat [x0, y0, x1, ...], "
                         f"got shape {arr.shape}")
    return arr


def from_polygons(
    polygons: Sequence[Sequence[RingLike]],
    h: int | Sequence[int],
    w: int | Sequence[int],
    *,
    threads: int | None = None,
) -> RLEBatch:
    """Masks from rings, filled with the even-odd rule at pixel centres.

    Pixel ``(x, y)`` is foreground when a ray from its centre ``(x + 0.5, y + 0.5)`` crosses
    the rings of its mask an odd number of times, so holes come out as holes whatever their
    orientation. ``from_polygons(to_polygons(batch), h, w) == batch`` (tolerance 0).

    Parameters
    ----------
    polygons : sequence of sequences of rings
        Per mask, its rings: each an ``(k, 2)`` array of ``(x, y)`` vertices or a flat
        ``[x0, y0, x1, y1, ...]`` list (a ring closes by itself). Coordinates are real numbers
        within 1e8 of the origin.
    h, w : int or sequence of int
        Size of every mask, or of each.
    threads : int, optional
        Threads to use.

    Notes
    -----
    This is not pycocotools' polygon rasterisation (``frPyObjects``, see
    ``turborle.mask``), which samples a 5x grid and never makes holes.
    """
    if isinstance(polygons, (str, bytes)) or not isinstance(polygons, Sequence):
        raise TypeError("polygons must be a sequence (one entry per mask) of sequences of rings")
    n = len(polygons)
    heights = [_int(v, "h") for v in h] if isinstance(h, (Sequence, np.ndarray)) else [_int(h, "h")] * n
    widths = [_int(v, "w") for v in w] if isinstance(w, (Sequence, np.ndarray)) else [_int(w, "w")] * n
    if len(heights) != n or len(widths) != n:
        raise ValueError(f"h and w must give one size per mask ({n}), got {len(heights)} and "
                         f"{len(widths)}")
    arrays: list[npt.NDArray[np.float64]] = []
    ring_start = [0]
    mask_start = [0]
    for i, rings in enumerate(polygons):
        if isinstance(rings, (str, bytes)) or not isinstance(rings, (Sequence, np.ndarray)):
            raise TypeError(f"mask {i}: expected a sequence of rings, got {type(rings).__name__}")
        for j, ring in enumerate(rings):
            arr = _ring(ring, f"mask {i}, ring {j}")
            arrays.append(arr)
            ring_start.append(ring_start[-1] + len(arr))
        mask_start.append(len(arrays))
    xy = np.concatenate(arrays) if arrays else np.zeros((0, 2), np.float64)
    return RLEBatch._wrap(_core.from_rings(xy, ring_start, mask_start, heights, widths, threads))
