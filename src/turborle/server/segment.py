"""Segmentation backends for the local reference server.

The server asks a :class:`Segmenter` for masks and encodes them with turborle; any object
with a ``name`` and a ``segment`` method of the signature below can be plugged in (a real
SAM 3 model wrapped in a few lines, for example).

The default, :class:`ClassicalSegmenter`, is a small deterministic colour segmenter that
works on the real pixels. **It is not SAM 3** and understands no concepts: it exists so that
the server returns masks that depend on the image and the prompts in a documented,
reproducible way. Its rules:

Points (pixel coordinates ``x`` = column, ``y`` = row)
    A foreground point (``label`` 1) selects the 4-connected region of pixels whose colour is
    within ``tolerance`` of the colour under the point (Chebyshev distance over R, G, B: the
    largest channel difference), i.e. a flood fill compared against the seed colour. All
    foreground points together give **one** mask (the union of their regions), from which
    the regions of background points (``label`` 0) are removed.
Boxes (pixel ``x_min, y_min, x_max, y_max``; the box covers columns ``floor(x_min)`` up to
``ceil(x_max) - 1`` and the same for rows, clipped to the image)
    One mask per box: inside the box, the pixels whose colour differs by more than
    ``tolerance`` from the box's border colour (the per-channel median of its outermost rows
    and columns), and of those the largest 4-connected region (ties: the region whose first
    pixel comes first in row-major order). A box where no pixel stands out gives no mask.
Text
    The prompt is lower-cased and split into words. The colour words ``red green blue yellow
    cyan magenta white black bright dark`` each select pixels (see ``COLOUR_RULES``);
    several words must all hold ("dark blue"). Without any colour word (for example fal's
    default prompt ``"wheel"``) the *salient regions* are used: pixels are quantised to 4
    levels per channel, the most common level among the image border pixels is the
    background, and every other level forms regions. Either way the 4-connected regions of
    at least ``min_area`` pixels (default ``max(16, h * w // 2000)``) are the instances,
    largest first. An empty prompt selects nothing.

Masks come out in the order points, boxes, text, cut to ``max_masks``. Every mask's score is
its *contrast*: the Chebyshev distance between the mean colour inside the mask and the mean
colour of the pixels just outside it (the 4-neighbour ring), divided by 255 and rounded to 4
decimals (0 for a mask that covers the whole image).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = [
    "COLOUR_RULES",
    "BoxPrompt",
    "ClassicalSegmenter",
    "PointPrompt",
    "Segment",
    "Segmenter",
    "label_regions",
]

Image = npt.NDArray[np.uint8]
"""An RGB image, shape (H, W, 3), uint8."""
Mask = npt.NDArray[np.bool_]
"""A mask, shape (H, W), bool."""


@dataclass(frozen=True)
class PointPrompt:
    """A point in pixel coordinates (``x`` column, ``y`` row); ``label`` 1 = foreground, 0 = background."""

    x: float
    y: float
    label: int = 1


@dataclass(frozen=True)
class BoxPrompt:
    """A box in pixel coordinates, corners ``(x_min, y_min)`` and ``(x_max, y_max)``."""

    x_min: float
    y_min: float
    x_max: float
    y_max: float


@dataclass(frozen=True)
class Segment:
    """One mask (H, W) bool and its score in [0, 1]."""

    mask: Mask
    score: float


@runtime_checkable
class Segmenter(Protocol):
    """What the server needs from a segmentation backend.

    ``name`` is reported in the server's ``x-turborle-segmenter`` header and on ``GET /``.
    ``segment`` gets an RGB image (H, W, 3) uint8, the text prompt (possibly empty), points
    and boxes already checked to lie on the image, and the largest number of masks wanted;
    it returns at most ``max_masks`` segments (an empty list when nothing matches: the server
    then answers 422 "No masks generated").
    """

    name: str

    def segment(self, image: Image, prompt: str, points: Sequence[PointPrompt],
                boxes: Sequence[BoxPrompt], max_masks: int) -> list[Segment]: ...


# -- connected regions ------------------------------------------------------------------------
def label_regions(valid: Mask, groups: npt.NDArray[np.integer] | None = None
                  ) -> npt.NDArray[np.int64]:
    """4-connected regions of ``valid`` pixels (that also share their ``groups`` value).

    Returns an (H, W) int64 array: for each valid pixel the row-major flat index of the first
    pixel of its region, -1 elsewhere. Pure numpy: minimum-label propagation along the edges
    with pointer jumping, repeated until nothing changes (terminates: labels only decrease).
    """
    h, w = valid.shape
    flat_valid = valid.ravel()
    index = np.arange(h * w, dtype=np.int64).reshape(h, w)
    horizontal = valid[:, :-1] & valid[:, 1:]
    vertical = valid[:-1, :] & valid[1:, :]
    if groups is not None:
        horizontal &= groups[:, :-1] == groups[:, 1:]
        vertical &= groups[:-1, :] == groups[1:, :]
    # A pixel is the first end of at most one edge per direction and the second end of at
    # most one, so each scatter below writes an index once and every write only lowers it.
    edges = [(index[:, :-1][horizontal], index[:, 1:][horizontal]),
             (index[:-1, :][vertical], index[1:, :][vertical])]
    labels = index.ravel().copy()
    while True:
        before = labels.copy()
        for a, b in edges:
            labels[a] = np.minimum(labels[a], labels[b])
            labels[b] = np.minimum(labels[b], labels[a])
        labels = labels[labels]  # pointer jumping: a label is a pixel of the same region
        labels = labels[labels]
        if np.array_equal(labels, before):
            break
    labels[~flat_valid] = -1
    return labels.reshape(h, w)


def _regions(labels: npt.NDArray[np.int64], min_area: int) -> list[Mask]:
    """Masks of the labelled regions of at least ``min_area`` pixels, largest first."""
    flat = labels.ravel()
    ids, counts = np.unique(flat[flat >= 0], return_counts=True)
    order = np.lexsort((ids, -counts))  # area descending, then first pixel
    return [labels == ids[i] for i in order if counts[i] >= min_area]


# -- colour rules -----------------------------------------------------------------------------
def _channels(image: Image) -> tuple[npt.NDArray[np.int16], ...]:
    rgb = image.astype(np.int16)
    return rgb[..., 0], rgb[..., 1], rgb[..., 2]


def _luma(image: Image) -> npt.NDArray[np.int32]:
    r, g, b = (c.astype(np.int32) for c in _channels(image))
    return (299 * r + 587 * g + 114 * b) // 1000


def _dominant(i: int) -> Callable[[Image], Mask]:
    def rule(image: Image) -> Mask:
        c = _channels(image)
        others = np.maximum(c[(i + 1) % 3], c[(i + 2) % 3])
        return np.asarray(c[i] - others >= 64)
    return rule


def _mixed(i: int, j: int) -> Callable[[Image], Mask]:
    def rule(image: Image) -> Mask:
        c = _channels(image)
        k = 3 - i - j
        return np.asarray((np.minimum(c[i], c[j]) - c[k] >= 64) & (np.abs(c[i] - c[j]) < 64))
    return rule


COLOUR_RULES: dict[str, Callable[[Image], Mask]] = {
    "red": _dominant(0),      # R exceeds both G and B by >= 64
    "green": _dominant(1),
    "blue": _dominant(2),
    "yellow": _mixed(0, 1),   # min(R, G) exceeds B by >= 64 and |R - G| < 64
    "magenta": _mixed(0, 2),
    "cyan": _mixed(1, 2),
    "white": lambda im: np.asarray(im.min(axis=2) >= 200),
    "black": lambda im: np.asarray(im.max(axis=2) < 56),
    "bright": lambda im: np.asarray(_luma(im) >= 170),  # luma = 0.299 R + 0.587 G + 0.114 B
    "dark": lambda im: np.asarray(_luma(im) < 85),
}
"""Text words the classical segmenter understands, each a pixel predicate on an RGB image."""


def _distance(image: Image, colour: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """Chebyshev colour distance of every pixel to ``colour``."""
    return np.asarray(np.abs(image.astype(np.int16) - colour).max(axis=2))


def _contrast(image: Image, mask: Mask) -> float:
    ring = np.zeros_like(mask)
    ring[1:, :] |= mask[:-1, :]
    ring[:-1, :] |= mask[1:, :]
    ring[:, 1:] |= mask[:, :-1]
    ring[:, :-1] |= mask[:, 1:]
    ring &= ~mask
    if not ring.any() or not mask.any():
        return 0.0
    inside = image[mask].mean(axis=0)
    outside = image[ring].mean(axis=0)
    return round(float(np.abs(inside - outside).max()) / 255.0, 4)


class ClassicalSegmenter:
    """Deterministic colour segmentation on the real pixels (**not SAM 3**; rules in the module doc).

    Parameters
    ----------
    tolerance : int
        Largest per-channel colour difference still counted as "the same colour" (0..255).
    min_area : int or None
        Smallest region a text prompt returns; ``None``: ``max(16, h * w // 2000)``.
    """

    name = "classical-colour-segmenter (deterministic, not SAM 3)"

    def __init__(self, tolerance: int = 40, min_area: int | None = None) -> None:
        if not 0 <= tolerance <= 255:
            raise ValueError(f"tolerance must be in 0..255, got {tolerance}")
        self.tolerance = tolerance
        self.min_area = min_area

    def segment(self, image: Image, prompt: str, points: Sequence[PointPrompt],
                boxes: Sequence[BoxPrompt], max_masks: int) -> list[Segment]:
        """Masks for the prompts, in the order points, boxes, text (see the module doc)."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be (H, W, 3) uint8, got {image.shape} {image.dtype}")
        masks: list[Mask] = []
        point_mask = self._points(image, points)
        if point_mask is not None:
            masks.append(point_mask)
        for box in boxes:
            box_mask = self._box(image, box)
            if box_mask is not None:
                masks.append(box_mask)
        if len(masks) < max_masks:
            masks.extend(self._text(image, prompt, max_masks - len(masks)))
        return [Segment(m, _contrast(image, m)) for m in masks[:max(0, max_masks)] if m.any()]

    def _fill(self, image: Image, x: float, y: float) -> Mask:
        h, w = image.shape[:2]
        row = min(max(int(math.floor(y)), 0), h - 1)
        col = min(max(int(math.floor(x)), 0), w - 1)
        similar = _distance(image, image[row, col].astype(np.int16)) <= self.tolerance
        labels = label_regions(similar)
        return np.asarray(labels == labels[row, col])

    def _points(self, image: Image, points: Sequence[PointPrompt]) -> Mask | None:
        foreground = [p for p in points if p.label == 1]
        if not foreground:
            return None
        mask = np.zeros(image.shape[:2], dtype=bool)
        for p in foreground:
            mask |= self._fill(image, p.x, p.y)
        for p in points:
            if p.label != 1:
                mask &= ~self._fill(image, p.x, p.y)
        return mask

    def _box(self, image: Image, box: BoxPrompt) -> Mask | None:
        h, w = image.shape[:2]
        c0, c1 = max(int(math.floor(box.x_min)), 0), min(int(math.ceil(box.x_max)), w)
        r0, r1 = max(int(math.floor(box.y_min)), 0), min(int(math.ceil(box.y_max)), h)
        if c1 <= c0 or r1 <= r0:
            return None
        crop = image[r0:r1, c0:c1]
        border = np.concatenate([crop[0], crop[-1], crop[:, 0], crop[:, -1]])
        colour = np.median(border, axis=0).astype(np.int16)
        labels = label_regions(_distance(crop, colour) > self.tolerance)
        regions = _regions(labels, 1)
        if not regions:
            return None
        mask = np.zeros((h, w), dtype=bool)
        mask[r0:r1, c0:c1] = regions[0]
        return mask

    def _text(self, image: Image, prompt: str, limit: int) -> list[Mask]:
        words = re.findall(r"[a-z]+", prompt.lower())
        if not words or limit <= 0:
            return []
        h, w = image.shape[:2]
        min_area = self.min_area if self.min_area is not None else max(16, h * w // 2000)
        known = [COLOUR_RULES[word] for word in words if word in COLOUR_RULES]
        if known:
            selected = np.ones((h, w), dtype=bool)
            for rule in known:
                selected &= rule(image)
            labels = label_regions(selected)
        else:
            levels = (image >> 6).astype(np.int16)
            bins = levels[..., 0] * 16 + levels[..., 1] * 4 + levels[..., 2]
            border = np.concatenate([bins[0], bins[-1], bins[:, 0], bins[:, -1]])
            values, counts = np.unique(border, return_counts=True)
            background = values[np.argmax(counts)]  # ties: the lowest level
            labels = label_regions(bins != background, bins)
        return _regions(labels, min_area)[:limit]
