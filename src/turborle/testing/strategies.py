"""Hypothesis strategies for property-based tests of code that writes or reads RLE masks.

Property-based testing with turborle.testing
--------------------------------------------
``turborle.testing`` gives other projects the generators turborle's own suite uses: dense
masks in every layout, COCO dicts, fal / Kaggle ``start length`` text, polygons, and
malformed input labelled with the reason it is invalid. Expected values come from
``turborle.testing.reference``, a slow pure-numpy oracle. A harness for your own code
(``pip install turborle hypothesis``)::

    import numpy as np, pytest, turborle
    import my_project                             # the code under test
    from hypothesis import given
    from turborle.testing import reference, strategies as rst

    @given(rst.masks(batch=True, max_side=24))
    def test_my_encoder(masks):                  # any layout, bool or uint8, empty and full
        expected = turborle.encode(masks).to_coco()
        assert my_project.encode(masks) == expected

    @given(rst.fal_strings())                     # SAM 3 / fal "start length" text
    def test_my_fal_reader(case):
        text, h, w = case
        assert np.array_equal(my_project.read_fal(text, h, w), reference.fal_to_mask(text, h, w))

    @given(rst.malformed_fal_strings())
    def test_my_fal_reader_rejects_garbage(case):
        text, h, w, reason = case
        with pytest.raises(ValueError):
            my_project.read_fal(text, h, w)

Every strategy has small defaults (sides up to 32 pixels, a few masks) so a test runs in
well under a second per hundred examples; raise ``max_side`` for bigger masks. Strategies
that build counts without a dense mask (:func:`coco_dicts`, :func:`fal_strings`) stay cheap
for sides in the tens of thousands.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Union

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import turborle
from turborle.testing import generators, reference

__all__ = [
    "COCO_REASONS",
    "FAL_REASONS",
    "boxes",
    "coco_dicts",
    "coco_masks",
    "fal_strings",
    "malformed_coco_strings",
    "malformed_fal_strings",
    "masks",
    "polygons",
    "rle_batches",
    "rle_batches_and_masks",
    "rle_counts",
]

MaskArray = npt.NDArray[Any]
"""A bool or uint8 numpy array of 0/1 values."""
CocoDict = dict[str, Any]
"""``{"size": [h, w], "counts": str | bytes | list[int]}``."""
Order = Literal["any", "C", "F"]
DType = Union[Literal["any", "bool", "uint8"], type[bool], type[np.bool_], type[np.uint8]]

COCO_REASONS: tuple[str, ...] = (
    "bad-byte",
    "ends-inside-group",
    "value-over-64-bits",
    "negative-count",
    "sum-too-small",
    "sum-too-large",
    "negative-size",
    "non-integer-size",
    "size-wrong-length",
    "size-too-large",
    "counts-wrong-type",
)
"""Every way :func:`malformed_coco_strings` makes a COCO dict invalid."""

FAL_REASONS: tuple[str, ...] = (
    "odd-token-count",
    "non-integer-token",
    "negative-token",
    "signed-token",
    "decimal-token",
    "zero-length",
    "descending-runs",
    "overlapping-runs",
    "run-past-end",
    "start-below-base",
)
"""Every way :func:`malformed_fal_strings` makes fal text invalid."""

# Masks with at most this many pixels may be drawn pixel by pixel (shrinks well).
_ELEMENTWISE_PIXELS = 64
# Above this many pixels, counts and runs are drawn as cut points, not from a dense mask.
_DENSE_PIXELS = 4096
_UINT64 = 2**64


class _DrawPicker:
    """A ``generators.Picker`` over hypothesis' ``draw``: generated values shrink."""

    def __init__(self, draw: st.DrawFn) -> None:
        self._draw = draw

    def integer(self, low: int, high: int) -> int:
        return self._draw(st.integers(low, high))

    def real(self, low: float, high: float) -> float:
        return self._draw(st.floats(low, high, allow_nan=False, allow_infinity=False))


def _side(draw: st.DrawFn, low: int, high: int) -> int:
    """A side in ``[low, high]``, as likely in each octave: large ranges give small sides too."""
    bits = draw(st.integers(low.bit_length(), high.bit_length()))
    return draw(st.integers(max(low, (1 << bits) >> 1), min(high, (1 << bits) - 1)))


def _chosen_reasons(reasons: Sequence[str] | None, known: Sequence[str]) -> tuple[str, ...]:
    """The reasons asked for (default: all known), checked against the known ones."""
    chosen = tuple(known if reasons is None else reasons)
    unknown = set(chosen) - set(known)
    if unknown or not chosen:
        raise InvalidArgument(f"reasons must be a non-empty subset of {tuple(known)}, got "
                              f"{sorted(unknown) or chosen}")
    return chosen


def _check_range(name: str, low: int, high: int, floor: int = 0) -> None:
    if low < floor:
        raise InvalidArgument(f"min_{name}={low} must be at least {floor}")
    if high < low:
        raise InvalidArgument(f"max_{name}={high} must be at least min_{name}={low}")


def _dtype(dtype: DType) -> list[type[np.bool_] | type[np.uint8]]:
    if isinstance(dtype, str):
        if dtype == "any":
            return [np.bool_, np.uint8]
        if dtype == "bool":
            return [np.bool_]
        if dtype == "uint8":
            return [np.uint8]
    elif dtype in (bool, np.bool_):
        return [np.bool_]
    elif dtype is np.uint8:
        return [np.uint8]
    raise InvalidArgument(f"dtype must be 'any', bool or numpy.uint8, got {dtype!r}")


# ---- dense masks ---------------------------------------------------------------------------------


def _draw_mask(draw: st.DrawFn, h: int, w: int, density: float | None) -> npt.NDArray[np.uint8]:
    """One C-ordered uint8 (h, w) mask of 0/1 values."""
    if density is not None:
        return generators.random_mask(_DrawPicker(draw), h, w, "random", density)
    small = h * w <= _ELEMENTWISE_PIXELS
    kind = draw(st.sampled_from((("elementwise",) if small else ()) + generators.MASK_KINDS))
    if kind == "elementwise":
        pixels = draw(st.lists(st.integers(0, 1), min_size=h * w, max_size=h * w))
        return np.array(pixels, dtype=np.uint8).reshape(h, w)
    return generators.random_mask(_DrawPicker(draw), h, w, kind)


def _layout(draw: st.DrawFn, arr: MaskArray, order: Order) -> MaskArray:
    """``arr`` (C-ordered) with the same values in a memory layout allowed by ``order``."""
    batch = arr.ndim == 3
    if order == "C":
        layouts = ["C"]
    elif order == "F":
        layouts = ["F"]
    else:
        layouts = ["C", "F", "strided", "reversed"] + (["F-whole"] if batch else [])
    layout = draw(st.sampled_from(layouts))
    if layout == "C":
        return np.ascontiguousarray(arr)
    if layout == "F":
        if not batch:
            return np.asfortranarray(arr)
        # Each mask column-major: the layout turborle.decode(..., order="F") returns.
        return np.ascontiguousarray(arr.transpose(0, 2, 1)).transpose(0, 2, 1)
    if layout == "F-whole":
        return np.asfortranarray(arr)
    if layout == "strided":
        # Every other element of a wider array: not contiguous in any order.
        wide = np.zeros((*arr.shape[:-1], 2 * arr.shape[-1]), dtype=arr.dtype)
        wide[..., ::2] = arr
        return wide[..., ::2]
    # reversed: negative strides on the last two axes.
    flipped = np.ascontiguousarray(arr[..., ::-1, ::-1])
    return flipped[..., ::-1, ::-1]


@st.composite
def _masks(
    draw: st.DrawFn,
    min_side: int,
    max_side: int,
    min_n: int,
    max_n: int,
    density: float | None,
    order: Order,
    dtypes: list[type[np.bool_] | type[np.uint8]],
    batch: bool,
    foreground: tuple[int, ...],
) -> MaskArray:
    h = draw(st.integers(min_side, max_side))
    w = draw(st.integers(min_side, max_side))
    n = draw(st.integers(min_n, max_n)) if batch else 1
    stack = np.zeros((n, h, w), dtype=np.uint8)
    for i in range(n):
        stack[i] = _draw_mask(draw, h, w, density)
    if foreground != (1,):
        # Each foreground pixel takes one of the values: runs of one value do not end
        # where the mask's runs end.
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        stack[stack != 0] = rng.choice(np.array(foreground, dtype=np.uint8),
                                       size=int(np.count_nonzero(stack)))
    dtype = draw(st.sampled_from(dtypes))
    arr: MaskArray = stack.astype(dtype) if batch else stack[0].astype(dtype)
    return _layout(draw, arr, order)


def masks(
    min_side: int = 0,
    max_side: int = 32,
    min_n: int = 1,
    max_n: int = 4,
    density: float | None = None,
    order: Order = "any",
    dtype: DType = "any",
    batch: bool = False,
    foreground: Sequence[int] = (1,),
) -> st.SearchStrategy[MaskArray]:
    """Masks: numpy arrays of shape ``(H, W)``, or ``(N, H, W)`` with ``batch=True``.

    Parameters
    ----------
    min_side, max_side : int, optional
        Range of the height and of the width (drawn independently); 0 gives masks without
        pixels.
    min_n, max_n : int, optional
        Range of the number of masks when ``batch`` is true (all of one size).
    density : float, optional
        Draw every pixel independently, foreground with this probability. By default each
        mask is drawn pixel by pixel (small masks) or is one of
        ``turborle.testing.generators.MASK_KINDS``: empty, full, random at a density from 1%
        to 99%, long runs crossing rows or columns, rectangles, one pixel, or a
        checkerboard (one run per pixel).
    order : {"any", "C", "F"}, optional
        Memory layout: "C" row-major; "F" column-major (for a batch, each mask column-major,
        the layout of ``turborle.decode(..., order="F")``); "any" also gives non-contiguous
        views (every other element of a wider array, negative strides) and, for a batch, a
        whole-array Fortran layout.
    dtype : {"any", bool, numpy.uint8}, optional
        Element type; uint8 masks hold only 0 and 1 unless ``foreground`` says otherwise.
    batch : bool, optional
        Whether to return an ``(N, H, W)`` stack.
    foreground : sequence of int, optional
        The values a foreground pixel takes, each pixel drawing one (1 to 255). Values other
        than 1 make non-binary uint8 masks, which COCO encoders must read as "nonzero is
        foreground" (pycocotools splits runs where the value changes).

    Returns
    -------
    hypothesis.strategies.SearchStrategy of numpy.ndarray
    """
    _check_range("side", min_side, max_side)
    _check_range("n", min_n, max_n)
    if density is not None and not 0.0 <= density <= 1.0:
        raise InvalidArgument(f"density must be in [0, 1], got {density}")
    if order not in ("any", "C", "F"):
        raise InvalidArgument(f"order must be 'any', 'C' or 'F', got {order!r}")
    values = tuple(foreground)
    if not values or not all(isinstance(v, int) and 1 <= v <= 255 for v in values):
        raise InvalidArgument(f"foreground must be ints from 1 to 255, got {foreground!r}")
    dtypes = _dtype(dtype)
    if values != (1,):
        if dtypes == [np.bool_]:
            raise InvalidArgument("non-binary foreground values need dtype numpy.uint8")
        dtypes = [np.uint8]
    return _masks(min_side, max_side, min_n, max_n, density, order, dtypes, batch, values)


def coco_masks(
    min_side: int = 0,
    max_side: int = 32,
    min_n: int = 1,
    max_n: int = 4,
    foreground: Sequence[int] = (1,),
) -> st.SearchStrategy[npt.NDArray[np.uint8]]:
    """Masks in the layout of ``pycocotools.mask.encode``: Fortran-ordered uint8 ``(H, W, N)``.

    Parameters
    ----------
    min_side, max_side, min_n, max_n, foreground
        As for :func:`masks`.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of numpy.ndarray
    """
    stacks = masks(min_side, max_side, min_n, max_n, order="F", dtype=np.uint8, batch=True,
                   foreground=foreground)
    # Each mask column-major in an (N, H, W) stack is (H, W, N) in Fortran order.
    return stacks.map(lambda m: m.transpose(1, 2, 0))


# ---- batches -----------------------------------------------------------------------------------


@st.composite
def _rle_batches_and_masks(
    draw: st.DrawFn, min_side: int, max_side: int, min_n: int, max_n: int, mixed_sizes: bool
) -> tuple[turborle.RLEBatch, list[npt.NDArray[np.uint8]]]:
    n = draw(st.integers(min_n, max_n))
    parts: list[turborle.RLEBatch] = []
    dense: list[npt.NDArray[np.uint8]] = []
    remaining = n
    while remaining > 0 or not parts:
        size = draw(st.integers(1, remaining)) if mixed_sizes and remaining > 0 else remaining
        stack = draw(masks(min_side, max_side, size, size, batch=True))
        parts.append(turborle.encode(stack))
        dense += [np.ascontiguousarray(m, dtype=np.uint8) for m in stack]
        remaining -= size
    batch = parts[0] if len(parts) == 1 else turborle.concat(parts)
    return batch, dense


def rle_batches_and_masks(
    min_side: int = 0,
    max_side: int = 32,
    min_n: int = 0,
    max_n: int = 4,
    mixed_sizes: bool = True,
) -> st.SearchStrategy[tuple[turborle.RLEBatch, list[npt.NDArray[np.uint8]]]]:
    """``(batch, masks)``: an ``RLEBatch`` and the C-ordered uint8 ``(h, w)`` masks it holds.

    The batch is built with ``turborle.encode`` from :func:`masks` (joined with
    ``turborle.concat`` when sizes are mixed), so ``masks`` is what it must decode to.

    Parameters
    ----------
    min_side, max_side : int, optional
        Range of each mask's height and width.
    min_n, max_n : int, optional
        Range of the number of masks (0 gives an empty batch).
    mixed_sizes : bool, optional
        Allow masks of different sizes in one batch.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of (turborle.RLEBatch, list of numpy.ndarray)
    """
    _check_range("side", min_side, max_side)
    _check_range("n", min_n, max_n)
    return _rle_batches_and_masks(min_side, max_side, min_n, max_n, mixed_sizes)


def rle_batches(
    min_side: int = 0,
    max_side: int = 32,
    min_n: int = 0,
    max_n: int = 4,
    mixed_sizes: bool = True,
) -> st.SearchStrategy[turborle.RLEBatch]:
    """``turborle.RLEBatch`` objects; see :func:`rle_batches_and_masks` for the parameters."""
    return rle_batches_and_masks(min_side, max_side, min_n, max_n, mixed_sizes).map(
        lambda pair: pair[0])


# ---- counts without a dense mask --------------------------------------------------------------


def _draw_counts(draw: st.DrawFn, h: int, w: int) -> list[int]:
    """Canonical counts of an h x w mask: of a dense mask when small, else of cut points."""
    if h * w <= _DENSE_PIXELS and draw(st.booleans()):
        return reference.encode_counts(_draw_mask(draw, h, w, None))
    return generators.random_counts(_DrawPicker(draw), h, w)


@st.composite
def _rle_counts(
    draw: st.DrawFn, min_side: int, max_side: int, min_n: int, max_n: int, canonical: bool
) -> tuple[list[list[int]], int, int]:
    h = _side(draw, min_side, max_side)
    w = _side(draw, min_side, max_side)
    out = []
    for _ in range(draw(st.integers(min_n, max_n))):
        counts = _draw_counts(draw, h, w)
        if not canonical and draw(st.booleans()):
            counts = generators.with_zero_runs(_DrawPicker(draw), counts)
        out.append(counts)
    return out, h, w


def rle_counts(
    min_side: int = 0,
    max_side: int = 32,
    min_n: int = 1,
    max_n: int = 1,
    canonical: bool = True,
) -> st.SearchStrategy[tuple[list[list[int]], int, int]]:
    """Counts of masks of one size: ``(counts_list, h, w)``.

    Each side is as likely to fall in any octave of its range, so a wide range gives small
    and huge masks alike. Masks of more than 4096 pixels are drawn as cut points, never as
    dense arrays: sides of 2**20 (counts of 2**24, 2**29, 2**32 and more) stay cheap.

    Parameters
    ----------
    min_side, max_side : int, optional
        Range of the height and width.
    min_n, max_n : int, optional
        Range of the number of masks.
    canonical : bool, optional
        When false, some counts carry zero-length runs anywhere (valid, but not what an
        encoder writes).

    Returns
    -------
    hypothesis.strategies.SearchStrategy of (list of list of int, int, int)
    """
    _check_range("side", min_side, max_side)
    _check_range("n", min_n, max_n)
    return _rle_counts(min_side, max_side, min_n, max_n, canonical)


@st.composite
def _coco_dicts(
    draw: st.DrawFn, compressed: bool | None, min_side: int, max_side: int, canonical: bool
) -> CocoDict:
    (counts,), h, w = draw(_rle_counts(min_side, max_side, 1, 1, canonical))
    as_string = draw(st.booleans()) if compressed is None else compressed
    if not as_string:
        return {"size": [h, w], "counts": counts}
    string = reference.counts_to_string(counts)
    return {"size": [h, w], "counts": _as_text(draw, string)}


def coco_dicts(
    compressed: bool | None = True,
    min_side: int = 0,
    max_side: int = 32,
    canonical: bool = True,
) -> st.SearchStrategy[CocoDict]:
    """Valid COCO RLE dicts ``{"size": [h, w], "counts": ...}``.

    Compressed counts are built with ``reference.counts_to_string``, so they do not depend
    on the code under test.

    Parameters
    ----------
    compressed : bool or None, optional
        True: ``counts`` is a compressed string, ``str`` or ``bytes``; False: a list of ints
        (uncompressed); None: either.
    min_side, max_side : int, optional
        Range of the height and width. Masks of more than 4096 pixels are built from cut
        points, never as dense arrays, so sides in the tens of thousands stay cheap.
    canonical : bool, optional
        When false, some dicts carry zero-length runs (valid, but not what an encoder
        writes).

    Returns
    -------
    hypothesis.strategies.SearchStrategy of dict
    """
    _check_range("side", min_side, max_side)
    return _coco_dicts(compressed, min_side, max_side, canonical)


def _runs_to_fal(runs: Sequence[tuple[int, int]], start_base: int) -> str:
    return " ".join(f"{start + start_base} {end - start}" for start, end in runs)


@st.composite
def _fal_strings(
    draw: st.DrawFn, min_side: int, max_side: int, start_base: int, order: Literal["C", "F"]
) -> tuple[str, int, int]:
    h = draw(st.integers(min_side, max_side))
    w = draw(st.integers(min_side, max_side))
    if h * w <= _DENSE_PIXELS and draw(st.booleans()):
        mask = _draw_mask(draw, h, w, None)
        return reference.mask_to_fal(mask, start_base, order), h, w
    return _runs_to_fal(generators.random_runs(_DrawPicker(draw), h * w), start_base), h, w


def fal_strings(
    min_side: int = 0,
    max_side: int = 32,
    start_base: int = 1,
    order: Literal["C", "F"] = "C",
) -> st.SearchStrategy[tuple[str, int, int]]:
    """Valid fal / Kaggle ``start length`` text: ``(text, height, width)``.

    The text is what ``reference.mask_to_fal(mask, start_base, order)`` writes: maximal
    foreground runs, ascending, single spaces, ``""`` for an empty mask.

    Parameters
    ----------
    min_side, max_side : int, optional
        Range of the height and width (large sizes are built from cut points).
    start_base : int, optional
        Index of the first pixel in the text (1 for fal and Kaggle).
    order : {"C", "F"}, optional
        Scan order the text is meant to be read in (only matters for how the masks look).

    Returns
    -------
    hypothesis.strategies.SearchStrategy of (str, int, int)
    """
    _check_range("side", min_side, max_side)
    if start_base not in (0, 1):
        raise InvalidArgument(f"start_base must be 0 or 1, got {start_base!r}")
    if order not in ("C", "F"):
        raise InvalidArgument(f"order must be 'C' or 'F', got {order!r}")
    return _fal_strings(min_side, max_side, start_base, order)


# ---- polygons ----------------------------------------------------------------------------------

@st.composite
def _polygons(
    draw: st.DrawFn, min_side: int, max_side: int, min_vertices: int, max_vertices: int
) -> tuple[list[float], int, int]:
    h = draw(st.integers(min_side, max_side))
    w = draw(st.integers(min_side, max_side))
    k = draw(st.integers(min_vertices, max_vertices))
    kind = draw(st.sampled_from(generators.POLYGON_KINDS))
    return generators.random_polygon(_DrawPicker(draw), h, w, kind, k), h, w


def polygons(
    min_side: int = 1,
    max_side: int = 32,
    min_vertices: int = 3,
    max_vertices: int = 8,
) -> st.SearchStrategy[tuple[list[float], int, int]]:
    """Polygons ``(xy, h, w)``: a flat list ``[x0, y0, x1, y1, ...]`` of floats and an image size.

    Vertices may lie inside the image, outside it, at negative coordinates, on integer,
    half and tenth positions (the rounding boundaries of COCO rasterisation), repeat their
    predecessor, or all lie on one line (``generators.POLYGON_KINDS``). Rasterise with
    ``reference.poly_to_counts``.

    Parameters
    ----------
    min_side, max_side : int, optional
        Range of the image height and width.
    min_vertices, max_vertices : int, optional
        Range of the number of vertices (at least 3).

    Returns
    -------
    hypothesis.strategies.SearchStrategy of (list of float, int, int)
    """
    _check_range("side", min_side, max_side)
    _check_range("vertices", min_vertices, max_vertices, floor=3)
    return _polygons(min_side, max_side, min_vertices, max_vertices)


@st.composite
def _boxes(draw: st.DrawFn, max_side: int, min_n: int, max_n: int) -> npt.NDArray[np.float64]:
    n = draw(st.integers(min_n, max_n))
    return generators.random_boxes(_DrawPicker(draw), n, max_side, max_side)


def boxes(
    max_side: int = 40, min_n: int = 1, max_n: int = 5
) -> st.SearchStrategy[npt.NDArray[np.float64]]:
    """Boxes ``[x, y, width, height]`` around a ``max_side`` square image.

    Each number is any float, a whole number, or a multiple of 0.5 or 0.1 (the rounding
    boundaries of COCO rasterisation); boxes may lie partly or wholly outside the image and
    have zero width or height (see ``generators.random_boxes``).

    Parameters
    ----------
    max_side : int, optional
        Side of the image the boxes are placed around.
    min_n, max_n : int, optional
        Range of the number of boxes.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of numpy.ndarray
        ``float64`` arrays of shape ``(n, 4)``.
    """
    _check_range("side", 0, max_side)
    _check_range("n", min_n, max_n)
    return _boxes(max_side, min_n, max_n)


# ---- malformed COCO dicts -----------------------------------------------------------------------

# Bytes and characters outside the COCO alphabet '0'..'o' (48..111).
_BAD_BYTES = st.one_of(
    st.sampled_from([0, 9, 10, 32, 47, 112, 127, 128, 255]),
    st.integers(0, 47),
    st.integers(112, 255),
)
_BAD_CHARS = st.one_of(
    st.sampled_from(["\x00", " ", "/", "p", "\x7f", "\u00e9", "\u2603", "\U0001f600", "\ufeff"]),
    st.integers(0, 0x10FFFF).filter(lambda c: not 48 <= c <= 111 and not 0xD800 <= c < 0xE000)
    .map(chr),
)
# A character whose group carries the continuation bit 0x20: 'P'..'o'.
_CONTINUATION = st.integers(0x20, 0x3F).map(lambda c: bytes([c + 48]))


def _as_text(draw: st.DrawFn, data: bytes) -> str | bytes:
    as_bytes: bool = draw(st.booleans())
    return data if as_bytes else data.decode("ascii")


@st.composite
def _malformed_coco(draw: st.DrawFn, max_side: int, reasons: tuple[str, ...]) -> tuple[CocoDict, str]:
    reason = draw(st.sampled_from(reasons))
    min_side = 1 if reason == "sum-too-small" else 0  # a mask with pixels to take some from
    (counts,), h, w = draw(_rle_counts(min_side, max_side, 1, 1, True))
    good = reference.counts_to_string(counts)
    size: Any = [h, w]
    value: Any

    if reason == "bad-byte":
        at = draw(st.integers(0, len(good)))
        if draw(st.booleans()):
            value = good[:at] + bytes([draw(_BAD_BYTES)]) + good[at:]
        else:
            text = good.decode("ascii")
            value = text[:at] + draw(_BAD_CHARS) + text[at:]
    elif reason == "ends-inside-group":
        tail = b"".join(draw(st.lists(_CONTINUATION, min_size=1, max_size=3)))
        value = _as_text(draw, good + tail)
    elif reason == "value-over-64-bits":
        # A value of more than 65 bits, written in the fewest groups (14 or more), so it can
        # not be a count of any mask whatever precedes it. Plus k * 2**64 keeps a wrapping
        # 64-bit parser's view of it plausible.
        i = draw(st.integers(0, len(counts)))
        k = draw(st.integers(2, 2**20)) * draw(st.sampled_from([1, -1]))
        big = k * _UINT64 + (counts[i] if i < len(counts) else 0)
        head = reference.counts_to_string(counts[:i])
        value = _as_text(draw, head + reference.counts_to_string([big], allow_negative=True))
    elif reason == "negative-count":
        # One count negative, another raised so that the sum is still h*w.
        bad = list(counts) if len(counts) > 1 else [*counts, 0]
        i = draw(st.integers(0, len(bad) - 1))
        j = draw(st.integers(0, len(bad) - 2))
        j = j + 1 if j >= i else j
        d = draw(st.integers(1, 2**40))
        bad[j] += bad[i] + d
        bad[i] = -d
        value = _as_text(draw, reference.counts_to_string(bad, allow_negative=True))
    elif reason == "sum-too-small":
        bad = list(counts)
        if draw(st.booleans()):
            value = _as_text(draw, b"")
        else:
            positive = [i for i, c in enumerate(bad) if c > 0]
            i = draw(st.sampled_from(positive))
            bad[i] -= draw(st.integers(1, bad[i]))
            if bad[i] == 0 and i == len(bad) - 1 and draw(st.booleans()):
                bad.pop()
            value = _as_text(draw, reference.counts_to_string(bad))
    elif reason == "sum-too-large":
        bad = list(counts)
        d = draw(st.integers(1, 2**40))
        if draw(st.booleans()):
            bad.append(d)
        else:
            bad[draw(st.integers(0, len(bad) - 1))] += d
        value = _as_text(draw, reference.counts_to_string(bad))
    elif reason == "negative-size":
        value = _as_text(draw, good)
        which = draw(st.sampled_from(["h", "w", "both"]))
        nh = -draw(st.integers(1, 2**40)) if which in ("h", "both") else h
        nw = -draw(st.integers(1, 2**40)) if which in ("w", "both") else w
        size = [nh, nw]
    elif reason == "non-integer-size":
        value = _as_text(draw, good)
        bad_side = draw(st.sampled_from([2.5, 0.5, -1.5, float("nan"), float("inf"), "2",
                                         None, [2], b"2"]))
        size = [bad_side, w] if draw(st.booleans()) else [h, bad_side]
    elif reason == "size-wrong-length":
        value = _as_text(draw, good)
        size = draw(st.sampled_from([[], [h], [h, w, 1], [h, w, h, w]]))
    elif reason == "size-too-large":
        # h*w does not fit in 64 bits (or a side alone does not).
        value = _as_text(draw, b"0")
        size = draw(st.sampled_from([
            [2**32, 2**32], [2**32 + 1, 2**32], [2**40, 2**40], [2**64 + 2, 2], [2, 2**64],
            [2**32, 5 * 2**32],
        ]))
    elif reason == "counts-wrong-type":
        value = draw(st.sampled_from([None, 5, 3.5, {"a": 1}, {"4"}]))
    else:  # pragma: no cover - reasons are validated
        raise AssertionError(reason)
    return {"size": size, "counts": value}, reason


def malformed_coco_strings(
    max_side: int = 16,
    reasons: Sequence[str] | None = None,
) -> st.SearchStrategy[tuple[CocoDict, str]]:
    """Invalid COCO RLE dicts, with the reason: ``(obj, reason)``.

    Every example is invalid in one way (``reason``, one of :data:`COCO_REASONS`); a
    validating parser must reject all of them, and none is accepted by the reference
    (``reference.string_to_counts`` plus the size check).

    ``"bad-byte"``
        A byte outside ``'0'..'o'`` (NUL, controls, space, ``'/'``, ``'p'``, bytes >= 128) in
        ``bytes`` counts, or any non-alphabet character (non-ASCII included) in ``str``.
    ``"ends-inside-group"``
        The string ends with a group that has the continuation bit 0x20 set.
    ``"value-over-64-bits"``
        A value of 14 or more groups that does not fit in 65 bits (some are ``k * 2**64``
        away from a valid count, to catch parsers that wrap).
    ``"negative-count"``
        A negative count whose mask would still sum to ``h*w``.
    ``"sum-too-small"``, ``"sum-too-large"``
        Counts that do not sum to ``h*w`` (including ``""`` for a mask with pixels).
    ``"negative-size"``, ``"non-integer-size"``, ``"size-wrong-length"``, ``"size-too-large"``
        A bad ``size`` (``h*w`` of 2**64 or more for the last).
    ``"counts-wrong-type"``
        ``counts`` is neither a string nor a list.

    Parameters
    ----------
    max_side : int, optional
        Largest side of the mask the bad string is derived from.
    reasons : sequence of str, optional
        Only these reasons (default: all of :data:`COCO_REASONS`).

    Returns
    -------
    hypothesis.strategies.SearchStrategy of (dict, str)
    """
    _check_range("side", 1, max_side)
    return _malformed_coco(max_side, _chosen_reasons(reasons, COCO_REASONS))


# ---- malformed fal text -------------------------------------------------------------------------


def _fal_tokens(runs: Sequence[tuple[int, int]]) -> list[str]:
    """Tokens of base-1 fal text of 0-based runs."""
    return [t for start, end in runs for t in (str(start + 1), str(end - start))]


@st.composite
def _malformed_fal(draw: st.DrawFn, max_side: int, reasons: tuple[str, ...]) -> tuple[str, int, int, str]:
    reason = draw(st.sampled_from(reasons))
    min_pixels = {"descending-runs": 3, "overlapping-runs": 1, "start-below-base": 1}.get(reason, 0)
    h = draw(st.integers(1 if min_pixels else 0, max_side))
    w = draw(st.integers(1 if min_pixels else 0, max_side))
    if h * w < min_pixels:
        h, w = max(h, 2), max(w, 2)
    total = h * w
    runs = generators.random_runs(_DrawPicker(draw), total)
    tokens = _fal_tokens(runs)
    some_int = st.integers(0, 2 * total + 2).map(str)

    def replace_one(bad: str) -> list[str]:
        """Tokens with one token replaced by ``bad`` (or a pair holding it appended)."""
        out = list(tokens)
        if not out:
            return [bad, "1"] if draw(st.booleans()) else ["1", bad]
        out[draw(st.integers(0, len(out) - 1))] = bad
        return out

    if reason == "odd-token-count":
        out = list(tokens)
        delete: bool = draw(st.booleans())
        if out and delete:
            del out[draw(st.integers(0, len(out) - 1))]
        else:
            out.insert(draw(st.integers(0, len(out))), draw(some_int))
    elif reason == "non-integer-token":
        bad = draw(st.sampled_from([
            "a", "x1", "1x", "0x10", "1e3", "nan", "inf", "1_000", "\u0663", "\u00b2", "\uff11",
            "1,2", "one", "\x00", "1\x002",
        ]))
        out = replace_one(bad)
    elif reason == "negative-token":
        out = replace_one("-" + draw(st.integers(0, total + 2).map(str)))
    elif reason == "signed-token":
        out = replace_one("+" + draw(st.integers(0, total + 2).map(str)))
    elif reason == "decimal-token":
        k = draw(st.integers(0, total + 2))
        out = replace_one(draw(st.sampled_from([f"{k}.0", f"{k}.5", f"{k}.", f".{k}"])))
    elif reason == "zero-length":
        in_place: bool = draw(st.booleans())
        if runs and in_place:
            out = list(tokens)
            out[2 * draw(st.integers(0, len(runs) - 1)) + 1] = "0"
        else:
            out = [str(draw(st.integers(1, max(total, 1)))), "0", *tokens]
    elif reason == "descending-runs":
        if len(runs) < 2:
            a = draw(st.integers(0, total - 3))
            b = draw(st.integers(a + 2, total - 1))
            runs = [(a, a + 1), (b, b + 1)]
        i = draw(st.integers(0, len(runs) - 2))
        runs = list(runs)
        runs[i], runs[i + 1] = runs[i + 1], runs[i]
        out = _fal_tokens(runs)
    elif reason == "overlapping-runs":
        if not runs:
            runs = [(0, total)]
        i = draw(st.integers(0, len(runs) - 1))
        s, e = runs[i]
        start = draw(st.integers(s, e - 1))
        extra = (start, start + draw(st.integers(1, total - start)))
        # The overlapping run follows run i; later runs are dropped to keep the rest valid.
        out = _fal_tokens([*runs[:i + 1], extra])
    elif reason == "run-past-end":
        runs = list(runs)
        how = draw(st.sampled_from(["length", "start", "wrap"]))
        if runs and how == "length":
            s, _ = runs[-1]
            out = _fal_tokens(runs[:-1]) + [str(s + 1), str(total - s + draw(st.integers(1, 9)))]
        elif runs and how == "wrap":
            # Lengths that wrap a 64-bit sum back inside the image.
            s, e = runs[-1]
            length = draw(st.sampled_from([_UINT64 - s, _UINT64 + (e - s), 2 * _UINT64 + 1,
                                           _UINT64 - 1]))
            out = _fal_tokens(runs[:-1]) + [str(s + 1), str(length)]
        else:
            # A run that starts past the last pixel (base 1: start > h*w).
            start = draw(st.integers(total, total + 10)) + 1
            start = draw(st.sampled_from([start, start + _UINT64, start + 10**30]))
            out = tokens + [str(start), str(draw(st.integers(1, 5)))]
    elif reason == "start-below-base":
        if not runs:
            runs = [(0, 1)]
        out = _fal_tokens(runs)
        out[0] = "0"  # base 1: a start of 0 is before the first pixel
    else:  # pragma: no cover - reasons are validated
        raise AssertionError(reason)
    return " ".join(out), h, w, reason


def malformed_fal_strings(
    max_side: int = 16,
    reasons: Sequence[str] | None = None,
) -> st.SearchStrategy[tuple[str, int, int, str]]:
    """Invalid fal / Kaggle text (base 1, any order), with the reason: ``(text, h, w, reason)``.

    Every example is invalid in one way (``reason``, one of :data:`FAL_REASONS`) for
    ``start_base=1`` in either scan order; ``reference.fal_to_mask`` rejects all of them.
    Tokens are always separated by single spaces, so parsers that accept any whitespace
    agree.

    ``"odd-token-count"``
        A token too many or too few.
    ``"non-integer-token"``, ``"negative-token"``, ``"signed-token"``, ``"decimal-token"``
        One token is not an unsigned ASCII decimal: letters, ``0x10``, ``1e3``, ``1_000``
        (which Python's ``int`` accepts), non-ASCII digits, ``-3``, ``+3``, ``3.0``.
    ``"zero-length"``
        A run of length 0.
    ``"descending-runs"``, ``"overlapping-runs"``
        A run that starts before the previous one, or inside it.
    ``"run-past-end"``
        A run past ``h*w``, including lengths and starts 2**64 away from valid ones (to
        catch parsers that wrap).
    ``"start-below-base"``
        A first start of 0 with base 1.

    Parameters
    ----------
    max_side : int, optional
        Largest side of the image.
    reasons : sequence of str, optional
        Only these reasons (default: all of :data:`FAL_REASONS`).

    Returns
    -------
    hypothesis.strategies.SearchStrategy of (str, int, int, str)
    """
    _check_range("side", 2, max_side)
    return _malformed_fal(max_side, _chosen_reasons(reasons, FAL_REASONS))
