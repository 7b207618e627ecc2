"""The mask operations as methods of RLEBatch (turborle.ops has the same functions, with
their documentation). Below batch.py: this module knows RLEBatch only as ``self``, so the
operations' code lives here and nothing imports upwards.
"""

from __future__ import annotations

import math
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt

from turborle import _core

Connectivity = Literal[4, 8]
Shape = Literal["square", "cross", "disk"]
MorphologyOp = Literal["dilate", "erode", "opening", "closing"]
Ring = npt.NDArray[np.int64]

_UINT64_MAX = 2**64 - 1
_MAX_DIM = 2**62


def _connectivity(value: object) -> int:
    if isinstance(value, (bool, np.bool_)) or value not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {value!r}")
    return 4 if value == 4 else 8


def _number(value: object, what: str) -> float | int:
    """An int or a real number >= 0 (not bool, not NaN)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        raise ValueError(f"{what} must be a number, got NaN")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
    return float(value) if isinstance(value, (float, np.floating)) else int(value)


def _below(value: object, what: str) -> int:
    """Threshold T for "area < value" on integer areas: area < T."""
    v = _number(value, what)
    return min(math.ceil(v) if not math.isinf(v) else _UINT64_MAX, _UINT64_MAX)


def _at_most(value: object, what: str) -> int:
    """Threshold T for "area <= value" on integer areas: area <= T."""
    v = _number(value, what)
    return min(math.floor(v) if not math.isinf(v) else _UINT64_MAX, _UINT64_MAX)


def _int(value: object, what: str, low: int = 0, high: int = _MAX_DIM) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an integer, got {type(value).__name__}")
    i = int(value)
    if i < low:
        raise ValueError(f"{what} must be at least {low}, got {i}")
    if i > high:
        raise ValueError(f"{what} = {i} is too large")
    return i


_B = TypeVar("_B", bound="MaskOps")


class MaskOps:
    """Mixin of RLEBatch: every operation of turborle.ops as a method returning a batch."""

    __slots__ = ()
    _rles: _core.RLEs

    def _like(self: _B, rles: _core.RLEs) -> _B:
        """A batch of this class holding ``rles``."""
        out = type(self).__new__(type(self))
        out._rles = rles
        return out

    def connected_components(
        self: _B,
        connectivity: Connectivity = 8,
        *,
        threads: int | None = None,
    ) -> tuple[_B, npt.NDArray[np.int64]]:
        """See :func:`turborle.connected_components`."""
        rles, owner = _core.connected_components(self._rles, _connectivity(connectivity), threads)
        return self._like(rles), owner

    def largest_component(
        self: _B,
        connectivity: Connectivity = 8,
        *,
        threads: int | None = None,
    ) -> _B:
        """See :func:`turborle.largest_component`."""
        return self._like(_core.largest_component(self._rles, _connectivity(connectivity), threads))

    def fill_holes(
        self: _B,
        max_area: float | None = None,
        connectivity: Connectivity = 4,
        *,
        threads: int | None = None,
    ) -> _B:
        """See :func:`turborle.fill_holes`."""
        limit = _UINT64_MAX if max_area is None else _at_most(max_area, "max_area")
        return self._like(_core.fill_holes(self._rles, limit, _connectivity(connectivity), threads))

    def remove_small_islands(
        self: _B,
        min_area: float,
        connectivity: Connectivity = 8,
        *,
        threads: int | None = None,
    ) -> _B:
        """See :func:`turborle.remove_small_islands`."""
        limit = _below(min_area, "min_area")
        return self._like(
            _core.remove_small_islands(self._rles, limit, _connectivity(connectivity), threads)
        )

    def remove_small_regions(
        self: _B,
        area_thresh: float,
        mode: Literal["holes", "islands"],
        *,
        threads: int | None = None,
    ) -> tuple[_B, npt.NDArray[np.bool_]]:
        """See :func:`turborle.remove_small_regions`."""
        if mode not in ("holes", "islands"):
            raise ValueError(f"mode must be 'holes' or 'islands', got {mode!r}")
        limit = _below(area_thresh, "area_thresh")
        rles, changed = _core.remove_small_regions(self._rles, limit, mode == "holes", threads)
        return self._like(rles), changed

    def _morphology(self: _B, op: MorphologyOp, size: int, shape: Shape,
                    threads: int | None) -> _B:
        if shape not in ("square", "cross", "disk"):
            raise ValueError(f"shape must be 'square', 'cross' or 'disk', got {shape!r}")
        k = _int(size, "size", low=1)
        if shape == "disk" and k % 2 == 0:
            raise ValueError(f"a disk needs an odd size (2 * radius + 1), got {k}")
        return self._like(_core.morphology(self._rles, op, shape, k, threads))

    def dilate(
        self: _B,
        size: int = 3,
        shape: Shape = "square",
        *,
        threads: int | None = None,
    ) -> _B:
        """See :func:`turborle.dilate`."""
        return self._morphology("dilate", size, shape, threads)

    def erode(
        self: _B,
        size: int = 3,
        shape: Shape = "square",
        *,
        threads: int | None = None,
    ) -> _B:
        """See :func:`turborle.erode`."""
        return self._morphology("erode", size, shape, threads)

    def opening(
        self: _B,
        size: int = 3,
        shape: Shape = "square",
        *,
        threads: int | None = None,
    ) -> _B:
        """See :func:`turborle.opening`."""
        return self._morphology("opening", size, shape, threads)

    def closing(
        self: _B,
        size: int = 3,
        shape: Shape = "square",
        *,
        threads: int | None = None,
    ) -> _B:
        """See :func:`turborle.closing`."""
        return self._morphology("closing", size, shape, threads)

    def crop(self: _B, box: npt.ArrayLike, *, threads: int | None = None) -> _B:
        """See :func:`turborle.crop`."""
        arr = np.asarray(box)
        if arr.dtype.kind not in "iu":
            if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
                arr = arr.astype(np.int64)
            else:
                raise TypeError(f"box must hold integers, got {arr.dtype}")
        if arr.size and (arr.max() > _MAX_DIM or arr.min() < -_MAX_DIM):
            raise ValueError("box coordinates must lie within +-2**62")
        return self._like(_core.crop(self._rles, arr.astype(np.int64), threads))

    def pad(
        self: _B,
        top: int = 0,
        bottom: int = 0,
        left: int = 0,
        right: int = 0,
        *,
        threads: int | None = None,
    ) -> _B:
        """See :func:`turborle.pad`."""
        return self._like(_core.pad(self._rles, _int(top, "top"), _int(bottom, "bottom"),
                                        _int(left, "left"), _int(right, "right"), threads))

    def flip(self: _B, axis: int, *, threads: int | None = None) -> _B:
        """See :func:`turborle.flip`."""
        a = _int(axis, "axis", low=-2, high=1)
        return self._like(_core.flip(self._rles, a % 2, threads))

    def transpose(self: _B, *, threads: int | None = None) -> _B:
        """See :func:`turborle.transpose`."""
        return self._like(_core.transpose(self._rles, threads))

    def rot90(self: _B, k: int = 1, *, threads: int | None = None) -> _B:
        """See :func:`turborle.rot90`."""
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"k must be an integer, got {type(k).__name__}")
        return self._like(_core.rot90(self._rles, int(k) % 4, threads))

    def resize(self: _B, size: tuple[int, int], *, threads: int | None = None) -> _B:
        """See :func:`turborle.resize`."""
        try:
            h, w = size
        except (TypeError, ValueError):
            raise TypeError(f"size must be a pair (height, width), got {size!r}") from None
        hh, ww = _int(h, "height", low=1), _int(w, "width", low=1)
        return self._like(_core.resize(self._rles, hh, ww, threads))

    def to_polygons(
        self: _B,
        tolerance: float = 0.0,
        connectivity: Connectivity = 8,
        *,
        threads: int | None = None,
    ) -> list[list[Ring]]:
        """See :func:`turborle.to_polygons`."""
        if isinstance(tolerance, (bool, np.bool_)) or not isinstance(tolerance, (int, float, np.integer, np.floating)):
            raise TypeError(f"tolerance must be a number, got {type(tolerance).__name__}")
        if not (math.isfinite(tolerance) and tolerance >= 0):
            raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance}")
        xy, ring_start, mask_start = _core.to_rings(
            self._rles, _connectivity(connectivity), float(tolerance), threads)
        starts = ring_start.tolist()
        rings = [xy[a:b] for a, b in zip(starts[:-1], starts[1:])]
        masks = mask_start.tolist()
        return [rings[a:b] for a, b in zip(masks[:-1], masks[1:])]
