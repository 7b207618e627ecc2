"""Generators of test input: masks, polygons, boxes and counts (numpy only).

Every generator draws its random choices from a *source*: a seeded
``numpy.random.Generator`` for parametrised loops, or a :class:`Picker`, through which
``turborle.testing.strategies`` drives the same code from hypothesis (so that what a strategy
draws shrinks). Generators make inputs only; expected values come from
``turborle.testing.reference``. ::

    import numpy as np
    from turborle.testing import generators as gen

    rng = np.random.default_rng(7)
    for kind in gen.MASK_KINDS:
        m = gen.random_masks(rng, 31, 17, 3, kind)       # (h, w, n), pycocotools' layout
    xy = gen.random_polygon(rng, 40, 60, "tenths")       # vertices on rounding boundaries
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, Protocol, Union

import numpy as np
import numpy.typing as npt

from turborle.testing import reference

__all__ = [
    "MASK_KINDS",
    "POLYGON_KINDS",
    "SHAPES",
    "Picker",
    "Source",
    "random_boxes",
    "random_counts",
    "random_mask",
    "random_masks",
    "random_polygon",
    "random_runs",
    "with_zero_runs",
]

SHAPES: tuple[tuple[int, int], ...] = (
    (0, 5), (5, 0), (0, 0), (1, 1), (1, 9), (9, 1), (2, 2), (3, 4), (7, 5),
    (16, 16), (31, 17), (64, 48), (100, 3), (3, 100), (128, 129),
)
"""Mask sizes ``(h, w)`` at the edges of the column-major scan: empty, one pixel, one row
or column, odd sizes, and sides on both sides of the 64-bit word."""

MASK_KINDS: tuple[str, ...] = (
    "empty", "full", "random", "sparse", "dense", "runs", "rectangles", "single", "checker",
)
"""What :func:`random_mask` can make: no foreground; all foreground; each pixel foreground
with one probability from 5% to 95%, 1% or 99%; one to three long runs of the column-major
or row-major scan (crossing columns or rows); one to three rectangles; one pixel; a
checkerboard (the most runs a mask can have)."""

POLYGON_KINDS: tuple[str, ...] = (
    "inside", "outside", "negative", "integer", "halves", "tenths", "repeated", "collinear",
    "thin",
)
"""What :func:`random_polygon` can make: vertices inside the image, far outside it, at
negative coordinates, on integer, half and tenth positions (the rounding boundaries of
COCO rasterisation), repeating their predecessor (zero-length edges), all on one segment
(zero area), or a sliver narrower than a pixel."""


class Picker(Protocol):
    """A source of random choices that is not a numpy generator (hypothesis' ``draw``)."""

    def integer(self, low: int, high: int) -> int:
        """An int in ``[low, high]`` (both included)."""
        ...

    def real(self, low: float, high: float) -> float:
        """A finite float in ``[low, high]``."""
        ...


Source = Union[np.random.Generator, Picker]
"""Where a generator takes its random choices from."""


class _RandomPicker:
    """A :class:`Picker` over a numpy generator."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def integer(self, low: int, high: int) -> int:
        return int(self._rng.integers(low, high, endpoint=True))

    def real(self, low: float, high: float) -> float:
        return float(self._rng.uniform(low, high))


def _picker(source: Source) -> Picker:
    return _RandomPicker(source) if isinstance(source, np.random.Generator) else source


def _array_rng(pick: Picker) -> np.random.Generator:
    """A numpy generator seeded by ``pick``, for choices made a whole array at a time."""
    return np.random.default_rng(pick.integer(0, 2**32 - 1))


# ---- runs and counts ---------------------------------------------------------------------------


def random_runs(source: Source, total: int, max_runs: int = 12) -> list[tuple[int, int]]:
    """Foreground runs of a scan of ``total`` pixels, drawn as cut points.

    Parameters
    ----------
    source : numpy.random.Generator or Picker
    total : int
        Pixels in the scan; may be far more than fits in memory (2**40 is cheap).
    max_runs : int, optional
        Most runs to make.

    Returns
    -------
    list of (int, int)
        Half-open 0-based ``(start, end)`` intervals: non-empty, ascending, and never
        touching (a gap of at least one pixel between two runs).
    """
    pick = _picker(source)
    if total == 0:
        return []
    cuts = sorted({pick.integer(0, total) for _ in range(pick.integer(0, 2 * max_runs))})
    if len(cuts) % 2:
        if cuts[-1] == total:
            cuts.pop()
        else:
            cuts.append(total)
    return [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts), 2)]


def random_counts(source: Source, h: int, w: int, max_runs: int = 12) -> list[int]:
    """Canonical counts of an ``h x w`` mask drawn as cut points, without a dense mask.

    Parameters
    ----------
    source : numpy.random.Generator or Picker
    h, w : int
        Size of the mask; any size (2**20 x 2**20 is cheap).
    max_runs : int, optional
        Most foreground runs.

    Returns
    -------
    list of int
        Counts summing to ``h*w``, starting with background.
    """
    return reference.runs_to_counts(random_runs(source, h * w, max_runs), h * w)


def with_zero_runs(source: Source, counts: Sequence[int]) -> list[int]:
    """``counts`` with zero-length runs inserted anywhere.

    The result holds the same mask: valid counts, but not what an encoder writes (readers
    must accept them).

    Parameters
    ----------
    source : numpy.random.Generator or Picker
    counts : sequence of int
        Counts of a mask.

    Returns
    -------
    list of int
        One to three empty pairs inserted, and possibly a trailing empty run.
    """
    pick = _picker(source)
    out = [int(c) for c in counts]
    for _ in range(pick.integer(1, 3)):
        at = pick.integer(0, len(out))
        out[at:at] = [0, 0]
    if pick.integer(0, 1):
        out.append(0)
    return out


# ---- masks -------------------------------------------------------------------------------------


def random_mask(
    source: Source, h: int, w: int, kind: str = "random", density: float | None = None
) -> npt.NDArray[np.uint8]:
    """One mask of one of :data:`MASK_KINDS`.

    Parameters
    ----------
    source : numpy.random.Generator or Picker
    h, w : int
        Size of the mask.
    kind : str, optional
        One of :data:`MASK_KINDS`.
    density : float, optional
        For kind "random": the probability of foreground (default: drawn from 5% to 95%).

    Returns
    -------
    numpy.ndarray
        C-ordered ``uint8`` array of shape ``(h, w)`` holding 0 and 1.
    """
    if kind not in MASK_KINDS:
        raise ValueError(f"kind must be one of {MASK_KINDS}, got {kind!r}")
    pick = _picker(source)
    total = h * w
    m = np.zeros((h, w), dtype=np.uint8)
    if kind == "empty" or total == 0:
        return m
    if kind == "full":
        return np.ones((h, w), dtype=np.uint8)
    if kind in ("random", "sparse", "dense"):
        if kind == "random":
            p = pick.real(0.05, 0.95) if density is None else density
        else:
            p = 0.01 if kind == "sparse" else 0.99
        return (_array_rng(pick).random((h, w)) < p).astype(np.uint8)
    if kind == "runs":
        flat = np.zeros(total, dtype=np.uint8)
        for start, end in random_runs(pick, total, max_runs=3):
            flat[start:end] = 1
        scan: Literal["C", "F"] = "F" if pick.integer(0, 1) else "C"
        return np.ascontiguousarray(flat.reshape((h, w), order=scan))
    if kind == "rectangles":
        for _ in range(pick.integer(1, 3)):
            y0, x0 = pick.integer(0, h - 1), pick.integer(0, w - 1)
            m[y0:y0 + pick.integer(1, h), x0:x0 + pick.integer(1, w)] = 1
        return m
    if kind == "single":
        m[pick.integer(0, h - 1), pick.integer(0, w - 1)] = 1
        return m
    # checker
    ys, xs = np.indices((h, w))
    return ((ys + xs + pick.integer(0, 1)) % 2).astype(np.uint8)


def random_masks(
    source: Source, h: int, w: int, n: int, kinds: str | Sequence[str] = MASK_KINDS
) -> npt.NDArray[np.uint8]:
    """``n`` masks of one size, in the layout of ``pycocotools.mask.encode``.

    Parameters
    ----------
    source : numpy.random.Generator or Picker
    h, w, n : int
        Size and number of the masks.
    kinds : str or sequence of str, optional
        The kind of every mask, or kinds given to the masks in turn (by default every kind
        of :data:`MASK_KINDS`, so a batch of 9 or more holds empty and full masks).

    Returns
    -------
    numpy.ndarray
        Fortran-ordered ``uint8`` array of shape ``(h, w, n)`` holding 0 and 1.
    """
    cycle = [kinds] if isinstance(kinds, str) else list(kinds)
    pick = _picker(source)
    out = np.zeros((h, w, n), dtype=np.uint8, order="F")
    for i in range(n):
        out[:, :, i] = random_mask(pick, h, w, cycle[i % len(cycle)])
    return out


# ---- polygons and boxes ------------------------------------------------------------------------


def random_polygon(
    source: Source, h: int, w: int, kind: str, vertices: int | None = None
) -> list[float]:
    """A polygon of one of :data:`POLYGON_KINDS` for an ``h x w`` image.

    Parameters
    ----------
    source : numpy.random.Generator or Picker
    h, w : int
        Size of the image the vertices are placed around.
    kind : str
        One of :data:`POLYGON_KINDS`.
    vertices : int, optional
        Number of vertices, at least 3 (default: drawn from 3 to 8).

    Returns
    -------
    list of float
        ``[x0, y0, x1, y1, ...]``, finite.
    """
    if kind not in POLYGON_KINDS:
        raise ValueError(f"kind must be one of {POLYGON_KINDS}, got {kind!r}")
    pick = _picker(source)
    k = pick.integer(3, 8) if vertices is None else vertices

    def reals(x_low: float, x_high: float, y_low: float, y_high: float,
              count: int) -> list[tuple[float, float]]:
        return [(pick.real(x_low, x_high), pick.real(y_low, y_high)) for _ in range(count)]

    def grid(step: int) -> list[tuple[float, float]]:
        """Vertices on multiples of 1/step, a little beyond the image."""
        return [(pick.integer(-2 * step, (w + 3) * step) / step,
                 pick.integer(-2 * step, (h + 3) * step) / step) for _ in range(k)]

    points: list[tuple[float, float]]
    if kind == "inside":
        points = reals(0, w, 0, h, k)
    elif kind == "outside":
        points = reals(-2 * w - 5, 3 * w + 5, -2 * h - 5, 3 * h + 5, k)
    elif kind == "negative":
        points = reals(-w - 3, w / 2, -h - 3, h / 2, k)
    elif kind in ("integer", "halves", "tenths"):
        points = grid({"integer": 1, "halves": 2, "tenths": 10}[kind])
    elif kind == "repeated":
        points = reals(-1, w + 1, -1, h + 1, k)
        for i in range(1, k):
            if pick.integer(0, 1):
                points[i] = points[i - 1]
    elif kind == "collinear":
        (x0, y0), (x1, y1) = reals(-1, w + 1, -1, h + 1, 2)
        ts = [pick.real(0, 1) for _ in range(k)]
        points = [(x0 + t * (x1 - x0), y0 + t * (y1 - y0)) for t in ts]
    else:  # thin: a sliver narrower than a pixel
        x = pick.real(0, w)
        points = [(x, 0.0), (x + pick.real(0, 0.4), float(h)), (x + 0.1, h / 2)]
        points += [(x, h * j / k) for j in range(3, k)]
    return [float(v) for point in points for v in point]


def _number(pick: Picker, low: float, high: float) -> float:
    """A float in ``[low, high]``: any, whole, or a multiple of 0.5 or 0.1."""
    style = pick.integer(0, 3)
    if style == 0:
        return pick.real(low, high)
    scale = (1, 2, 10)[style - 1]
    return pick.integer(math.ceil(low * scale), math.floor(high * scale)) / scale


def random_boxes(source: Source, n: int, h: int, w: int) -> npt.NDArray[np.float64]:
    """``n`` boxes ``[x, y, width, height]`` around an ``h x w`` image.

    Each number is any float, a whole number, or a multiple of 0.5 or 0.1 (the rounding
    boundaries of COCO rasterisation); boxes may lie partly or wholly outside the image and
    have zero width or height, never a negative one.

    Parameters
    ----------
    source : numpy.random.Generator or Picker
    n : int
        Number of boxes.
    h, w : int
        Size of the image.

    Returns
    -------
    numpy.ndarray
        ``float64`` array of shape ``(n, 4)``.
    """
    pick = _picker(source)
    rows = [[_number(pick, -w / 2 - 5, 1.5 * w + 5), _number(pick, -h / 2 - 5, 1.5 * h + 5),
             _number(pick, 0, w + 5), _number(pick, 0, h + 5)] for _ in range(n)]
    return np.array(rows, dtype=np.float64).reshape(n, 4)
