"""A slow, obviously-correct reference implementation of COCO run-length encoding.

Every function here works on plain Python and numpy values and is written for clarity, not
speed: it is the oracle the test suite checks ``turborle.mask`` against. Nothing here imports
the compiled core.

Conventions
-----------
A mask of height ``h`` and width ``w`` is scanned column-major: pixel ``(x, y)`` has linear
index ``x*h + y``. ``counts`` is a list of Python ints alternating background / foreground
run lengths, starting with background (the first count may be 0). Counts are Python ints,
so nothing here wraps, whatever the size of the mask.

The canonical counts of a mask have no zero-length run except possibly the first, and sum
to ``h*w``; an empty (``h*w == 0``) mask is ``[0]``. Functions that build counts return
canonical counts; functions that read counts accept zero-length runs anywhere.

Measurements and operations (``area``, ``bbox``, ``merge``, ``complement``, ``iou``) decode
their masks and apply the definition with numpy, so they suit masks of up to a few million
pixels; ``turborle.testing.runs`` computes the same on counts alone, for larger masks.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "MergeOp",
    "area",
    "bbox",
    "box_iou",
    "box_to_counts",
    "box_to_mask",
    "canonical_counts",
    "complement",
    "counts_to_string",
    "decode_counts",
    "encode_counts",
    "fal_to_mask",
    "fal_to_runs",
    "iou",
    "mask_to_fal",
    "merge",
    "poly_to_counts",
    "poly_to_mask",
    "runs_to_counts",
    "string_to_counts",
]

MergeOp = Literal["union", "intersection", "xor", "difference"]
"""The ways :func:`merge` combines masks."""

Mask = npt.NDArray[np.uint8]

# Polygon vertices are placed on a grid 5 times finer than the pixel grid.
_POLY_SCALE = 5


# ---- counts <-> dense masks -----------------------------------------------------------------


def encode_counts(mask2d: npt.ArrayLike) -> list[int]:
    """Return the canonical COCO counts of a 2-D mask.

    Parameters
    ----------
    mask2d : array_like, shape (h, w)
        Any numeric or boolean array; nonzero elements are foreground.

    Returns
    -------
    list of int
        Run lengths of the column-major scan, starting with background.
    """
    mask = np.asarray(mask2d)
    if mask.ndim != 2:
        raise ValueError(f"expected a 2-D mask, got shape {mask.shape}")
    flat = (mask != 0).ravel(order="F")
    if flat.size == 0:
        return [0]
    # Positions where the value differs from the previous pixel start a new run.
    starts = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = [0, *starts.tolist(), int(flat.size)]
    counts = [edges[i + 1] - edges[i] for i in range(len(edges) - 1)]
    if flat[0]:
        counts.insert(0, 0)  # the first run is always background
    return counts


def _check_counts(counts_in: Sequence[int], h: int, w: int) -> list[int]:
    counts = [int(c) for c in counts_in]
    if h < 0 or w < 0:
        raise ValueError(f"negative size {h}x{w}")
    if any(c < 0 for c in counts):
        raise ValueError("negative count")
    if sum(counts) != h * w:
        raise ValueError(f"counts sum to {sum(counts)}, expected h*w = {h * w}")
    return counts


def decode_counts(counts: Sequence[int], h: int, w: int) -> Mask:
    """Return the dense mask of ``counts``.

    Parameters
    ----------
    counts : sequence of int
        Run lengths starting with background; zero-length runs are allowed.
    h, w : int
        Height and width of the mask.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape ``(h, w)`` in Fortran order, 1 for foreground.

    Raises
    ------
    ValueError
        If a count is negative or the counts do not sum to ``h*w``.
    """
    counts = _check_counts(counts, h, w)
    values = np.arange(len(counts), dtype=np.int64) % 2  # 0, 1, 0, 1, ...
    flat = np.repeat(values.astype(np.uint8), counts)
    return np.asfortranarray(flat.reshape((h, w), order="F"))


def canonical_counts(counts: Sequence[int]) -> list[int]:
    """Return ``counts`` with zero-length runs removed (except a leading 0).

    Parameters
    ----------
    counts : sequence of int
        Run lengths starting with background, possibly with zero-length runs.

    Returns
    -------
    list of int
        The canonical counts of the same mask (``[0]`` for an empty mask).
    """
    out: list[int] = [0]  # background run being extended
    value = 0  # value of the run out[-1]
    for i, c in enumerate(counts):
        c = int(c)
        if c == 0:
            continue
        run_value = i % 2
        if run_value == value:
            out[-1] += c
        else:
            out.append(c)
            value = run_value
    return out


# ---- compressed strings ------------------------------------------------------------------------


def counts_to_string(counts_in: Sequence[int], *, allow_negative: bool = False) -> bytes:
    """Return the COCO compressed string of ``counts``.

    Each count ``i > 2`` is stored as its difference from ``counts[i-2]`` (counts 0, 1 and 2
    are stored as they are), in little-endian groups of 5 bits; a group carries bit 0x20 when
    more groups follow and is written as the byte ``group + 48``.

    Parameters
    ----------
    counts : sequence of int
        Non-negative run lengths.
    allow_negative : bool, optional
        Also write negative counts (a decoder must reject the string: this is for building
        malformed test input).

    Returns
    -------
    bytes
        Characters in ``'0'..'o'``.
    """
    counts = [int(c) for c in counts_in]
    if not allow_negative and any(c < 0 for c in counts):
        raise ValueError("negative count")
    out = bytearray()
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        while True:
            group = x & 0x1F
            x >>= 5  # arithmetic shift: Python ints are signed
            # The decoder sign-extends from the last group's bit 0x10, so stop only when
            # the remaining bits equal that sign.
            more = x != -1 if group & 0x10 else x != 0
            if more:
                group |= 0x20
            out.append(group + 48)
            if not more:
                break
    return bytes(out)


def string_to_counts(s: bytes | str) -> list[int]:
    """Parse a COCO compressed string.

    Parameters
    ----------
    s : bytes or str
        The compressed counts.

    Returns
    -------
    list of int
        The counts (not checked against any size).

    Raises
    ------
    ValueError
        For a byte outside ``'0'..'o'``, a string that ends inside a group, or a negative
        count.
    """
    data = s.encode("ascii") if isinstance(s, str) else bytes(s)
    counts: list[int] = []
    p = 0
    while p < len(data):
        x = 0
        k = 0
        while True:
            if p >= len(data):
                raise ValueError("string ends inside a group")
            byte = data[p]
            if not 48 <= byte <= 111:
                raise ValueError(f"byte {byte!r} at {p} is outside '0'..'o'")
            c = byte - 48
            x |= (c & 0x1F) << (5 * k)
            p += 1
            k += 1
            if not c & 0x20:
                if c & 0x10:
                    x -= 1 << (5 * k)  # sign-extend from the last group's bit 0x10
                break
        if len(counts) > 2:
            x += counts[-2]
        if x < 0:
            raise ValueError(f"count {len(counts)} is negative ({x})")
        counts.append(x)
    return counts


# ---- measurements and operations, on dense masks ---------------------------------------------
#
# Each is its definition, computed with numpy on the decoded masks: obviously right, and
# sized for masks of up to a few million pixels. turborle.testing.runs computes the same on
# counts alone, for masks too large to decode, and is tested against these.


def runs_to_counts(runs: Iterable[tuple[int, int]], total: int) -> list[int]:
    """Canonical counts of the sorted, disjoint foreground intervals ``runs``."""
    counts: list[int] = []
    pos = 0
    for start, end in runs:
        counts += [start - pos, end - start]
        pos = end
    counts.append(total - pos)
    return canonical_counts(counts)


def area(counts: Sequence[int]) -> int:
    """Return the number of foreground pixels.

    Parameters
    ----------
    counts : sequence of int
        Run lengths starting with background (zero-length runs allowed).

    Returns
    -------
    int
        The foreground pixels of the decoded scan, counted.
    """
    total = sum(int(c) for c in counts)
    return int(np.count_nonzero(decode_counts(counts, total, 1)))


def _tight_box(mask: npt.NDArray[Any]) -> list[float]:
    """``[x, y, width, height]`` of the nonzero pixels of a 2-D mask; zeros when none."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return [0.0, 0.0, 0.0, 0.0]
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
    return [float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)]


def bbox(counts: Sequence[int], h: int, w: int) -> list[float]:
    """Return the tight box ``[x, y, width, height]`` of the foreground.

    Parameters
    ----------
    counts : sequence of int
        Counts of an ``h x w`` mask.
    h, w : int
        Size of the mask.

    Returns
    -------
    list of float
        The smallest box holding every foreground pixel of the decoded mask;
        ``[0.0, 0.0, 0.0, 0.0]`` for a mask with no foreground.
    """
    return _tight_box(decode_counts(counts, h, w))


def merge(
    list_of_counts: Sequence[Sequence[int]],
    h: int,
    w: int,
    intersect: bool = False,
    *,
    op: MergeOp | None = None,
) -> list[int]:
    """Return the canonical counts of a combination of masks of one size.

    Parameters
    ----------
    list_of_counts : sequence of sequences of int
        Counts of ``h x w`` masks.
    h, w : int
        Size of every mask.
    intersect : bool, optional
        pycocotools' flag: intersection if true, union otherwise. Ignored when ``op`` is
        given.
    op : {"union", "intersection", "xor", "difference"}, optional
        How to combine the masks: a pixel is foreground in the result when it is foreground
        in any mask, in every mask, in an odd number of masks, or in the first mask and in
        none of the others ("difference": the first minus the rest). One mask gives itself.

    Returns
    -------
    list of int
        Canonical counts; ``[]`` for an empty list (pycocotools' ``merge([])`` is a 0x0 mask
        with an empty counts string).
    """
    if op is None:
        op = "intersection" if intersect else "union"
    if op not in ("union", "intersection", "xor", "difference"):
        raise ValueError(f"unknown merge op {op!r}")
    if len(list_of_counts) == 0:
        return []
    stack = np.stack([decode_counts(c, h, w) != 0 for c in list_of_counts])
    if op == "union":
        combined = np.logical_or.reduce(stack)
    elif op == "intersection":
        combined = np.logical_and.reduce(stack)
    elif op == "xor":
        combined = np.logical_xor.reduce(stack)
    else:
        combined = stack[0] & ~np.logical_or.reduce(stack[1:])
    return encode_counts(combined)


def complement(counts: Sequence[int], h: int, w: int) -> list[int]:
    """Return the canonical counts of the mask with foreground and background swapped.

    Parameters
    ----------
    counts : sequence of int
        Counts of an ``h x w`` mask (zero-length runs allowed).
    h, w : int
        Size of the mask.

    Returns
    -------
    list of int
        Canonical counts (``[0]`` for an empty mask).
    """
    return encode_counts(decode_counts(counts, h, w) == 0)


def box_iou(
    dt_boxes: npt.ArrayLike, gt_boxes: npt.ArrayLike, iscrowd: Sequence[bool] | None
) -> npt.NDArray[np.float64]:
    """Return the IoU of every pair of ``[x, y, width, height]`` boxes.

    The arithmetic is pycocotools' ``bbIou``, operation for operation in IEEE double
    precision, so the results are bit-identical: the overlap is
    ``fmin(dx+dw, gx+gw) - fmax(dx, gx)`` (and likewise in y); a pair whose overlap is not
    positive in x or in y is 0; otherwise it is ``i / u`` with ``i = ow*oh`` and
    ``u = da`` for a crowd ground truth, ``(da + ga) - i`` otherwise.

    Parameters
    ----------
    dt_boxes, gt_boxes : array_like, shape (m, 4) and (n, 4)
    iscrowd : sequence of bool, length n, or None (no crowd)

    Returns
    -------
    numpy.ndarray
        ``float64`` array of shape ``(m, n)``.
    """
    dt = np.asarray(dt_boxes, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    crowd = [False] * len(gt) if iscrowd is None else [bool(c) for c in iscrowd]
    if len(crowd) != len(gt):
        raise ValueError("iscrowd must have one entry per ground truth")
    out = np.zeros((len(dt), len(gt)), dtype=np.float64)
    with np.errstate(all="ignore"):  # C semantics: x/0 is inf or nan, no trap
        for g in range(len(gt)):
            gx, gy, gw, gh = (np.float64(v) for v in gt[g])
            ga = gw * gh
            for d in range(len(dt)):
                dx, dy, dw, dh = (np.float64(v) for v in dt[d])
                da = dw * dh
                ow = np.fmin(dw + dx, gw + gx) - np.fmax(dx, gx)
                if ow <= 0:
                    continue
                oh = np.fmin(dh + dy, gh + gy) - np.fmax(dy, gy)
                if oh <= 0:
                    continue
                i = ow * oh
                u = da if crowd[g] else da + ga - i
                out[d, g] = i / u
    return out


def iou(
    dt_list: Sequence[tuple[Sequence[int], int, int]],
    gt_list: Sequence[tuple[Sequence[int], int, int]],
    iscrowd: Sequence[bool] | None,
) -> npt.NDArray[np.float64] | list[Any]:
    """Return the IoU of every pair of masks, with pycocotools' semantics.

    For each pair, the IoU of the two masks' tight boxes (:func:`box_iou`, same crowd flag)
    is computed first; a pair whose boxes give a non-positive value keeps that value (0).
    Otherwise the pair is -1 if the two masks have different sizes, else
    ``intersection / union`` (``intersection / area(dt)`` for a crowd ground truth), and 0
    when the intersection is empty; the pixel counts are taken on the decoded masks.

    Parameters
    ----------
    dt_list, gt_list : sequence of (counts, h, w)
    iscrowd : sequence of bool, length ``len(gt_list)``, or None (no crowd)

    Returns
    -------
    numpy.ndarray or list
        ``float64`` array of shape ``(len(dt_list), len(gt_list))``, or ``[]`` when either
        list is empty (as pycocotools).
    """
    crowd = [False] * len(gt_list) if iscrowd is None else [bool(c) for c in iscrowd]
    if len(crowd) != len(gt_list):
        raise ValueError("iscrowd must have one entry per ground truth")
    if len(dt_list) == 0 or len(gt_list) == 0:
        return []
    dt = [decode_counts(c, h, w) != 0 for c, h, w in dt_list]
    gt = [decode_counts(c, h, w) != 0 for c, h, w in gt_list]
    out = box_iou([_tight_box(m) for m in dt], [_tight_box(m) for m in gt], crowd)
    for d, a in enumerate(dt):
        for g, b in enumerate(gt):
            if not out[d, g] > 0:
                continue
            if a.shape != b.shape:
                out[d, g] = -1.0
                continue
            inter = int(np.count_nonzero(a & b))
            if inter == 0:
                out[d, g] = 0.0
                continue
            union = int(np.count_nonzero(a if crowd[g] else a | b))
            out[d, g] = inter / union
    return out


# ---- polygons and boxes ---------------------------------------------------------------------


def _dda_walk(x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
    """Points of the edge (x0, y0) -> (x1, y1) on the upsampled grid, start to end.

    The walk steps one unit along the major axis (x when ``|dx| >= |dy|``) and rounds the
    minor coordinate with ``int(v + 0.5)`` (truncation toward zero). It always runs from
    the smaller to the larger major coordinate, so the two directions of one edge give the
    same points; the points are returned in the edge's own direction.
    """
    dx, dy = abs(x1 - x0), abs(y1 - y0)
    x_major = dx >= dy
    flip = (x_major and x0 > x1) or (not x_major and y0 > y1)
    if flip:
        x0, y0, x1, y1 = x1, y1, x0, y0
    points: list[tuple[int, int]] = []
    if x_major:
        slope = (y1 - y0) / dx if dx else 0.0  # a single point when dx == dy == 0
        for d in range(dx + 1):
            t = dx - d if flip else d
            points.append((t + x0, int(y0 + slope * t + 0.5)))
    else:
        slope = (x1 - x0) / dy
        for d in range(dy + 1):
            t = dy - d if flip else d
            points.append((int(x0 + slope * t + 0.5), t + y0))
    return points


def _check_polygon(xy: Sequence[float]) -> list[float]:
    coords = [float(v) for v in np.asarray(xy, dtype=np.float64).ravel()]
    if len(coords) % 2:
        raise ValueError("a polygon needs an even number of coordinates")
    if not all(math.isfinite(v) for v in coords):
        raise ValueError("polygon coordinates must be finite")
    return coords


def poly_to_counts(xy: Sequence[float], h: int, w: int) -> list[int]:
    """Rasterise a polygon exactly as pycocotools' ``frPoly`` and return canonical counts.

    Steps: each vertex is scaled by 5 and truncated with ``int(5*v + 0.5)``; the closed
    boundary is walked edge by edge on that grid (:func:`_dda_walk`); wherever two
    consecutive boundary points differ in x, the column ``u`` (the smaller x of the two
    points when x decreases, the larger minus 1 when it increases) maps to pixel column
    ``(u + 0.5)/5 - 0.5``, kept only if that is an integer in ``[0, w-1]``; the row is
    ``ceil`` of ``(min(v) + 0.5)/5 - 0.5`` clamped to ``[0, h]``. Each kept point toggles
    the mask from linear index ``x*h + y`` onwards; toggles at the same index cancel
    pairwise.

    Parameters
    ----------
    xy : sequence of float
        ``[x0, y0, x1, y1, ...]``, an even number of finite coordinates.
    h, w : int
        Size of the mask.

    Returns
    -------
    list of int
        Canonical counts of the ``h x w`` mask.
    """
    coords = _check_polygon(xy)
    if h * w == 0:
        return [0]
    k = len(coords) // 2
    if k == 0:
        return [h * w]
    xs = [int(_POLY_SCALE * coords[2 * j] + 0.5) for j in range(k)]
    ys = [int(_POLY_SCALE * coords[2 * j + 1] + 0.5) for j in range(k)]
    boundary: list[tuple[int, int]] = []
    for j in range(k):
        nxt = (j + 1) % k
        boundary += _dda_walk(xs[j], ys[j], xs[nxt], ys[nxt])

    toggles: Counter[int] = Counter()
    for (u_prev, v_prev), (u, v) in pairwise(boundary):
        if u == u_prev:
            continue
        u_col = u if u < u_prev else u - 1
        col = (u_col + 0.5) / _POLY_SCALE - 0.5
        if math.floor(col) != col or col < 0 or col > w - 1:
            continue
        row_f = (min(v, v_prev) + 0.5) / _POLY_SCALE - 0.5
        row = math.ceil(min(max(row_f, 0.0), float(h)))
        toggles[int(col) * h + row] += 1

    # Positions toggled an odd number of times; a toggle at h*w changes nothing.
    positions = sorted(p for p, n in toggles.items() if n % 2 and p < h * w)
    runs = [(positions[i], positions[i + 1] if i + 1 < len(positions) else h * w)
            for i in range(0, len(positions), 2)]
    return runs_to_counts(runs, h * w)


def poly_to_mask(xy: Sequence[float], h: int, w: int) -> Mask:
    """Dense ``uint8`` Fortran ``(h, w)`` mask of :func:`poly_to_counts`."""
    return decode_counts(poly_to_counts(xy, h, w), h, w)


def box_to_mask(x: float, y: float, bw: float, bh: float, h: int, w: int) -> Mask:
    """Rasterise the box ``[x, y, bw, bh]`` as pycocotools' ``frBbox`` does.

    pycocotools rasterises a box as the polygon of its corners (:func:`poly_to_counts`). For
    an axis-aligned rectangle that walk has a closed form, computed here without it: the
    corners ``x``, ``x + bw``, ``y``, ``y + bh`` are rounded onto the 5x grid as polygon
    vertices are (``int(5*v + 0.5)``), and pixel ``(col, row)`` is foreground when its
    centre ``(5*col + 2.5, 5*row + 2.5)`` on that grid lies strictly inside the rounded
    rectangle.

    Parameters
    ----------
    x, y, bw, bh : float
        The box; a negative ``bw`` or ``bh`` spans to the left or above ``(x, y)``.
    h, w : int
        Size of the mask.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape ``(h, w)`` in Fortran order, 1 for foreground.

    Raises
    ------
    ValueError
        If a corner is not finite.
    """
    xs, ys, xe, ye = _check_polygon([x, y, float(x) + float(bw), float(y) + float(bh)])
    gx = sorted(int(_POLY_SCALE * v + 0.5) for v in (xs, xe))
    gy = sorted(int(_POLY_SCALE * v + 0.5) for v in (ys, ye))
    centre_x = _POLY_SCALE * np.arange(w) + _POLY_SCALE / 2
    centre_y = _POLY_SCALE * np.arange(h) + _POLY_SCALE / 2
    cols = (gx[0] < centre_x) & (centre_x < gx[1])
    rows = (gy[0] < centre_y) & (centre_y < gy[1])
    return np.asfortranarray(np.outer(rows, cols).astype(np.uint8))


def box_to_counts(x: float, y: float, bw: float, bh: float, h: int, w: int) -> list[int]:
    """Canonical counts of :func:`box_to_mask`."""
    return encode_counts(box_to_mask(x, y, bw, bh, h, w))


# ---- fal / Kaggle "start length" text ---------------------------------------------------------

_FAL_SPACE = " \t\n\r\f\v"
_FAL_TOKEN = re.compile(r"[0-9]+")


def _check_fal_args(height: int, width: int, start_base: int, order: str) -> None:
    for name, value in (("height", height), ("width", width), ("start_base", start_base)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value}")
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' (row-major) or 'F' (column-major), got {order!r}")


def fal_to_runs(
    text: str | bytes,
    height: int,
    width: int,
    start_base: int = 1,
) -> list[tuple[int, int]]:
    """Parse fal / Kaggle ``start length`` text into 0-based half-open runs.

    The text is ASCII decimal integers separated by ASCII whitespace (leading and trailing
    whitespace is allowed), read as pairs ``start length``. Parsing is strict.

    Parameters
    ----------
    text : str or bytes
        The text of one mask; ``""`` is a mask without foreground.
    height, width : int
        Size of the image (the text carries none).
    start_base : int, optional
        The index the text gives the first pixel (1 for fal and Kaggle).

    Returns
    -------
    list of (int, int)
        ``(start, end)`` in the flattened scan, 0-based, ascending and disjoint (a run may
        start where the previous one ended). The scan order is not needed to parse.

    Raises
    ------
    ValueError
        For a token that is not an unsigned ASCII decimal integer (signs, decimals, exponents
        and non-ASCII digits included), an odd token count, a zero length, a start below
        ``start_base`` (with ``start_base=1``, a start of 0 is reported as 0-based data), runs
        that descend or overlap, or a run that ends past ``height * width``.
    """
    _check_fal_args(height, width, start_base, "C")
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("ascii")
        except UnicodeDecodeError as exc:
            raise ValueError(f"fal text must be ASCII: {exc}") from None
    if not isinstance(text, str):
        raise TypeError(f"fal text must be str or bytes, got {type(text).__name__}")
    stripped = text.strip(_FAL_SPACE)
    tokens = re.split(f"[{_FAL_SPACE}]+", stripped) if stripped else []
    for i, token in enumerate(tokens):
        if not _FAL_TOKEN.fullmatch(token):
            raise ValueError(f"token {i} ({token[:20]!r}) is not a non-negative integer")
    if len(tokens) % 2:
        raise ValueError(f"odd number of tokens ({len(tokens)}): the text is pairs of "
                         "'start length'")
    total = height * width
    runs: list[tuple[int, int]] = []
    previous_end = 0
    for k in range(0, len(tokens), 2):
        start, length = int(tokens[k]), int(tokens[k + 1])
        if start < start_base:
            hint = (" (the data looks 0-based: pass start_base=0)"
                    if start_base == 1 and start == 0 else "")
            raise ValueError(f"run {k // 2}: start {start} is below start_base "
                             f"{start_base}{hint}")
        if length == 0:
            raise ValueError(f"run {k // 2}: zero length")
        begin = start - start_base
        if begin < previous_end:
            raise ValueError(f"run {k // 2}: start {start} is before the end of the previous "
                             "run (runs must ascend and not overlap)")
        end = begin + length
        if end > total:
            raise ValueError(f"run {k // 2}: start {start} length {length} runs past the "
                             f"{height}x{width} = {total} pixels")
        runs.append((begin, end))
        previous_end = end
    return runs


def fal_to_mask(
    text: str | bytes,
    height: int,
    width: int,
    start_base: int = 1,
    order: Literal["C", "F"] = "C",
) -> Mask:
    """Decode fal / Kaggle ``start length`` text into a dense mask.

    Parameters
    ----------
    text : str or bytes
        The text of one mask (see :func:`fal_to_runs` for what is accepted).
    height, width : int
        Size of the image.
    start_base : int, optional
        The index the text gives the first pixel (1 for fal and Kaggle).
    order : {"C", "F"}, optional
        How the text flattens the image: row-major ("C", fal's and Kaggle's) or column-major
        ("F").

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape ``(height, width)``, 1 for foreground.

    Raises
    ------
    ValueError
        For malformed text (see :func:`fal_to_runs`).
    """
    _check_fal_args(height, width, start_base, order)
    runs = fal_to_runs(text, height, width, start_base)
    flat = np.zeros(height * width, dtype=np.uint8)
    for begin, end in runs:
        flat[begin:end] = 1
    return flat.reshape((height, width), order=order)


def mask_to_fal(
    mask: npt.ArrayLike,
    start_base: int = 1,
    order: Literal["C", "F"] = "C",
) -> str:
    """Return the fal / Kaggle ``start length`` text of a 2-D mask.

    Parameters
    ----------
    mask : array_like, shape (h, w)
        Nonzero elements are foreground.
    start_base : int, optional
        The index given to the first pixel (1 for fal and Kaggle).
    order : {"C", "F"}, optional
        Flatten row-major ("C", fal's and Kaggle's) or column-major ("F").

    Returns
    -------
    str
        ``start length`` of every maximal foreground run, ascending, separated by single
        spaces; ``""`` for a mask without foreground.
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"expected a 2-D mask, got shape {m.shape}")
    _check_fal_args(m.shape[0], m.shape[1], start_base, order)
    flat = (m != 0).ravel(order=order)
    padded = np.concatenate([[False], flat, [False]]).astype(np.int8)
    steps = np.diff(padded)
    starts = np.flatnonzero(steps == 1)
    ends = np.flatnonzero(steps == -1)
    return " ".join(f"{int(s) + start_base} {int(e - s)}" for s, e in zip(starts, ends))
