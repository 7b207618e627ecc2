"""Speed of turborle against pycocotools, rlemasklib, hotcoco, faster-coco-eval and
ultrafast-pycocotools (see README.md)."""

import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path


def in_place_source() -> Path | None:
    """The checkout's ``src/`` when it holds a compiled ``turborle._core`` (an in-place
    build, which the scripts then measure), else None (the installed turborle is measured).
    Only the compiled module counts: ``_core.pyx`` and a generated ``_core.cpp`` are there
    after any build from the checkout, and would shadow a working install."""
    src = Path(__file__).resolve().parents[1] / "src"
    found = any((src / "turborle" / f"_core{suffix}").exists() for suffix in EXTENSION_SUFFIXES)
    return src if found else None


def measure_in_place_build() -> None:
    """For a benchmark run as a script: put an in-place build first on ``sys.path``, so that
    it is what gets measured. Never called on import (spawned processes inherit the path)."""
    src = in_place_source()
    if src is not None and str(src) not in sys.path:
        sys.path.insert(0, str(src))
