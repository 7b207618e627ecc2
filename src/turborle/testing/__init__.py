"""Testing helpers for turborle, and for projects that write or read RLE masks.

``turborle.testing.reference``
    A slow, pure-numpy oracle of every operation of ``turborle.mask`` and of the fal /
    Kaggle dialect; measurements and operations are their definitions on decoded masks.
``turborle.testing.runs``
    The same measurements and operations on counts alone, for masks too large to decode.
``turborle.testing.generators``
    Seeded generators of masks, polygons, boxes and counts (numpy only).
``turborle.testing.strategies``
    Hypothesis strategies built on the generators (masks, RLE batches, COCO dicts, counts,
    fal text, polygons, boxes, and malformed input labelled with its reason); their names are
    also available here. Importing them needs ``hypothesis``; the other modules do not.

The test suite draws its input from ``generators`` and ``strategies`` and checks the compiled
core against ``reference`` (and ``runs`` where masks are too large to decode).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from turborle.testing import generators, reference, runs

if TYPE_CHECKING:
    from turborle.testing import strategies
    from turborle.testing.strategies import (
        COCO_REASONS,
        FAL_REASONS,
        boxes,
        coco_dicts,
        coco_masks,
        fal_strings,
        malformed_coco_strings,
        malformed_fal_strings,
        masks,
        polygons,
        rle_batches,
        rle_batches_and_masks,
        rle_counts,
    )

# strategies.__all__, named here so that the names resolve without importing hypothesis
# (tests/test_strategies.py checks the two lists agree)
_STRATEGIES = ("COCO_REASONS", "FAL_REASONS", "boxes", "coco_dicts", "coco_masks", "fal_strings",
               "malformed_coco_strings", "malformed_fal_strings", "masks", "polygons",
               "rle_batches", "rle_batches_and_masks", "rle_counts")

__all__ = ["generators", "reference", "runs", "strategies", *_STRATEGIES]


def __getattr__(name: str) -> Any:
    # The strategies import hypothesis, a test-only dependency: load them on first use.
    if name == "strategies" or name in _STRATEGIES:
        module = importlib.import_module("turborle.testing.strategies")
        return module if name == "strategies" else getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
