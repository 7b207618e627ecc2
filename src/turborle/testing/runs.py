"""The reference's measurements and operations on counts alone, for masks too large to decode.

``turborle.testing.reference`` decodes masks and applies each definition with numpy, which
needs memory for every pixel. The functions here give the same results from the counts: the
scan is cut at every run boundary of every mask involved, so that each piece between two
consecutive cuts is uniform in every mask, and the definition is applied to the pieces, each
weighing its length. The cost follows the number of runs, whatever the size of the mask
(2**62 pixels included). The test suite checks every function here against the dense
reference on masks small enough for both.

Signatures and results are those of the functions of the same names in ``reference``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate, pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from turborle.testing import reference
from turborle.testing.reference import MergeOp

__all__ = ["area", "bbox", "complement", "iou", "merge"]

Piece = tuple[int, int]
"""A half-open interval ``[start, end)`` of the column-major scan."""

_KEEP: dict[str, Callable[[list[bool]], bool]] = {
    "union": any,
    "intersection": all,
    "xor": lambda inside: sum(inside) % 2 == 1,
    "difference": lambda inside: inside[0] and not any(inside[1:]),
}


def _pieces(list_of_counts: Sequence[Sequence[int]], total: int) -> list[tuple[Piece, list[bool]]]:
    """The scan cut at every run boundary of every mask: each non-empty piece, with whether
    it is foreground in each mask (the run it starts in has an odd index)."""
    ends = [list(accumulate(int(c) for c in counts)) for counts in list_of_counts]
    cuts = sorted({0, total, *(end for mask_ends in ends for end in mask_ends)})
    return [((start, end), [bisect_right(mask_ends, start) % 2 == 1 for mask_ends in ends])
            for start, end in pairwise(cuts)]


def _length(pieces: list[tuple[Piece, list[bool]]], keep: Callable[[list[bool]], bool]) -> int:
    """Pixels in the pieces that ``keep`` selects."""
    return sum(end - start for (start, end), inside in pieces if keep(inside))


def area(counts: Sequence[int]) -> int:
    """Return the number of foreground pixels: the sum of the foreground runs."""
    checked = reference._check_counts(counts, sum(int(c) for c in counts), 1)
    return sum(checked[1::2])


def bbox(counts: Sequence[int], h: int, w: int) -> list[float]:
    """Return the tight box ``[x, y, width, height]`` of the foreground (zeros when none).

    A foreground run ``[start, end)`` covers columns ``start // h`` to ``(end - 1) // h``;
    within one column it covers rows ``start % h`` to ``(end - 1) % h``, and a run over
    two or more columns reaches both the top and the bottom row.
    """
    pieces = _pieces([reference._check_counts(counts, h, w)], h * w)
    runs = [piece for piece, inside in pieces if inside[0]]
    if not runs:
        return [0.0, 0.0, 0.0, 0.0]
    x0, x1, y0, y1 = w, -1, h, -1
    for start, end in runs:
        first, last = divmod(start, h), divmod(end - 1, h)
        x0, x1 = min(x0, first[0]), max(x1, last[0])
        if first[0] == last[0]:
            y0, y1 = min(y0, first[1]), max(y1, last[1])
        else:
            y0, y1 = 0, h - 1
    return [float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)]


def merge(
    list_of_counts: Sequence[Sequence[int]],
    h: int,
    w: int,
    intersect: bool = False,
    *,
    op: MergeOp | None = None,
) -> list[int]:
    """Return the canonical counts of a combination of masks of one size.

    See ``reference.merge`` for the parameters: a piece is kept when it is foreground in
    any, every, an odd number of the masks, or in the first and none of the others.
    """
    if op is None:
        op = "intersection" if intersect else "union"
    if op not in _KEEP:
        raise ValueError(f"unknown merge op {op!r}")
    if len(list_of_counts) == 0:
        return []
    checked = [reference._check_counts(c, h, w) for c in list_of_counts]
    keep = _KEEP[op]
    kept = [piece for piece, inside in _pieces(checked, h * w) if keep(inside)]
    return reference.runs_to_counts(kept, h * w)


def complement(counts: Sequence[int], h: int, w: int) -> list[int]:
    """Return the canonical counts of the mask with foreground and background swapped."""
    pieces = _pieces([reference._check_counts(counts, h, w)], h * w)
    return reference.runs_to_counts([piece for piece, inside in pieces if not inside[0]], h * w)


def iou(
    dt_list: Sequence[tuple[Sequence[int], int, int]],
    gt_list: Sequence[tuple[Sequence[int], int, int]],
    iscrowd: Sequence[bool] | None,
) -> npt.NDArray[np.float64] | list[Any]:
    """Return the IoU of every pair of masks, with pycocotools' semantics.

    See ``reference.iou``: the boxes come from :func:`bbox`, and the intersection, union
    and area of a pair from the pieces of its two masks.
    """
    crowd = [False] * len(gt_list) if iscrowd is None else [bool(c) for c in iscrowd]
    if len(crowd) != len(gt_list):
        raise ValueError("iscrowd must have one entry per ground truth")
    if len(dt_list) == 0 or len(gt_list) == 0:
        return []
    out = reference.box_iou([bbox(*item) for item in dt_list],
                            [bbox(*item) for item in gt_list], crowd)
    for d, (dc, dh, dw) in enumerate(dt_list):
        for g, (gc, gh, gw) in enumerate(gt_list):
            if not out[d, g] > 0:
                continue
            if (dh, dw) != (gh, gw):
                out[d, g] = -1.0
                continue
            pieces = _pieces([dc, gc], dh * dw)
            inter = _length(pieces, all)
            if inter == 0:
                out[d, g] = 0.0
                continue
            out[d, g] = inter / _length(pieces, (lambda v: v[0]) if crowd[g] else any)
    return out
