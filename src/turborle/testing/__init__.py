"""Testing helpers for turborle, and for projects that write or read RLE masks.

``turborle.testing.reference`` is a slow, pure-numpy oracle of every operation of
``turborle.mask`` and of the fal / Kaggle dialect; the test suite checks the compiled core
against it. ``turborle.testing.strategies`` holds hypothesis strategies (masks, RLE batches,
COCO dicts, fal text, polygons, and malformed input labelled with its reason) for
property-based harnesses; its names are also available here. Importing them needs
``hypothesis``; ``reference`` does not.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from turborle.testing import reference

if TYPE_CHECKING:
    from turborle.testing import strategies
    from turborle.testing.strategies import (
        COCO_REASONS,
        FAL_REASONS,
        coco_dicts,
        fal_strings,
        malformed_coco_strings,
        malformed_fal_strings,
        masks,
        polygons,
        rle_batches,
        rle_batches_and_masks,
    )

_STRATEGIES = (
    "COCO_REASONS",
    "FAL_REASONS",
    "coco_dicts",
    "fal_strings",
    "malformed_coco_strings",
    "malformed_fal_strings",
    "masks",
    "polygons",
    "rle_batches",
    "rle_batches_and_masks",
)

__all__ = ["reference", "strategies", *_STRATEGIES]


def __getattr__(name: str) -> Any:
    # The strategies import hypothesis, a test-only dependency: load them on first use.
    if name == "strategies" or name in _STRATEGIES:
        module = importlib.import_module("turborle.testing.strategies")
        return module if name == "strategies" else getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
