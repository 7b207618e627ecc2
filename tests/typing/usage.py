"""Typed use of turborle's public API: checked by mypy, never executed.

``tests/test_typing.py`` runs ``mypy --strict`` on this file together with the package, so the
package's annotations and the stubs of the compiled module (``_core.pyi``) are held to what a
user writes. Each function states the type a call gives (``warn_return_any`` makes an ``Any``
fail as well as a wrong type); the ``# type: ignore[...]`` lines are calls that must be
rejected (``warn_unused_ignores`` fails if a signature grows too permissive to reject them).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt

import turborle
from turborle import RLEBatch, _core
from turborle import mask as mask_utils
from turborle.dialects import Dialect, to_fal

# ---- the batch API --------------------------------------------------------------------------


def encode_masks(masks: npt.NDArray[np.bool_]) -> RLEBatch:
    turborle.encode(masks[0])  # one (H, W) mask
    turborle.encode(masks.astype(np.uint8), threads=2)
    return turborle.encode(masks)


def decode_c(batch: RLEBatch) -> npt.NDArray[np.bool_]:
    return turborle.decode(batch)


def decode_f_into(batch: RLEBatch, out: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    return turborle.decode(batch, "F", out=out, threads=1)


def decode_dicts(objs: list[dict[str, Any]]) -> npt.NDArray[np.bool_]:
    return turborle.decode(objs, "C")


def areas(batch: RLEBatch) -> npt.NDArray[np.uint64]:
    return turborle.area(batch, threads=1)


def boxes(batch: RLEBatch) -> npt.NDArray[np.float64]:
    turborle.bbox(batch, "xyxy")
    return turborle.bbox(batch, fmt="xywh", threads=1)


def ious(dt: RLEBatch, gt: list[dict[str, Any]]) -> npt.NDArray[np.float64]:
    turborle.iou(dt, gt, [False, True], threads=1)
    return turborle.iou(dt, dt)


def combine(batch: RLEBatch) -> RLEBatch:
    union: RLEBatch = turborle.merge(batch)
    both: RLEBatch = turborle.merge(batch, "intersection", threads=1)
    rest: RLEBatch = turborle.merge(batch, op="difference")
    flipped: RLEBatch = turborle.complement(batch, threads=1)
    return turborle.concat([union, both, rest, flipped, turborle.merge(batch, "xor")])


def parse_coco(objs: list[dict[str, Any]], one: dict[str, Any]) -> RLEBatch:
    turborle.from_coco(one)
    return turborle.from_coco(objs, threads=1)


def parse_fal(texts: list[str], raw: bytes) -> RLEBatch:
    turborle.from_fal(raw, 480, 640)
    turborle.from_fal(texts, 480, 640, start_base=0, order="F", threads=1)
    return turborle.from_fal(texts[0], height=480, width=640)


def parse_any(payload: object) -> tuple[RLEBatch, Dialect]:
    turborle.from_any(payload)
    batch: RLEBatch
    dialect: Dialect
    batch, dialect = turborle.from_any(payload, height=480, width=640)
    return batch, dialect


def build_info() -> dict[str, object]:
    version: str = turborle.__version__
    return turborle.info() | {"checked": version}


def batch_object(batch: RLEBatch) -> list[str]:
    counts: npt.NDArray[np.uint64] = batch.counts
    offsets: npt.NDArray[np.uint64] = batch.offsets
    heights: npt.NDArray[np.uint64] = batch.heights
    widths: npt.NDArray[np.uint64] = batch.widths
    nbytes: int = batch.nbytes
    size: int = len(batch)
    first: RLEBatch = batch[0]
    some: RLEBatch = batch[1:3]
    picked: RLEBatch = batch[np.array([0, 2])]
    kept: RLEBatch = batch[batch.heights > 10]
    each: list[RLEBatch] = list(batch)
    same: bool = batch == first
    rebuilt = RLEBatch(counts, offsets, heights, widths)
    coco: list[dict[str, Any]] = rebuilt.to_coco()
    coco = turborle.to_coco(rebuilt, threads=1)
    json.dumps(coco)
    text: str = repr(batch)
    del nbytes, size, some, picked, kept, each, same, text
    to_fal(batch, 0, "F", threads=1)
    return batch.to_fal(start_base=1, order="C")


def must_be_rejected(batch: RLEBatch, masks: npt.NDArray[np.bool_]) -> None:
    turborle.merge(batch, "unoin")  # type: ignore[arg-type]
    turborle.decode(batch, "A")  # type: ignore[arg-type]
    turborle.bbox(batch, "cxcywh")  # type: ignore[arg-type]
    turborle.encode(masks, 2)  # type: ignore[call-arg]
    turborle.area("not a batch")  # type: ignore[arg-type]
    turborle.from_fal(["1 2"], 4.0, 4)  # type: ignore[arg-type]
    batch.to_fal(order="K")  # type: ignore[arg-type]
    bad: npt.NDArray[np.float64] = turborle.area(batch)  # type: ignore[assignment]
    del bad


def post_process(batch: RLEBatch, dicts: list[dict[str, Any]]) -> RLEBatch:
    """The mask operations (issue 14): functions and methods, both results of the tuple
    returning ones, polygons and back."""
    parts: RLEBatch
    owner: npt.NDArray[np.int64]
    parts, owner = turborle.connected_components(batch, 4, threads=1)
    changed: npt.NDArray[np.bool_]
    cleaned, changed = turborle.remove_small_regions(dicts, 100, "holes")
    cleaned, changed = cleaned.remove_small_regions(100, "islands")
    filled: RLEBatch = turborle.fill_holes(cleaned, max_area=50).remove_small_islands(10)
    grown: RLEBatch = turborle.closing(filled, 5, "disk").dilate(3, "cross").erode()
    moved: RLEBatch = grown.crop((0, 0, 10, 10)).pad(1, 1, 2, 2).flip(0).transpose().rot90(3)
    small: RLEBatch = turborle.resize(moved, (64, 64)).largest_component(8)
    rings = turborle.to_polygons(small, tolerance=0.5)
    first: npt.NDArray[np.int64] = rings[0][0]
    back: RLEBatch = turborle.from_polygons(rings, small.heights.tolist(), 64)
    del parts, owner, changed, first
    return turborle.opening(back, 3).crop(np.array([[0, 0, 4, 4]] * len(back)))


def operations_must_be_rejected(batch: RLEBatch) -> None:
    turborle.dilate(batch, 3, "circle")  # type: ignore[arg-type]
    turborle.connected_components(batch, 6)  # type: ignore[arg-type]
    turborle.remove_small_regions(batch, 100, "both")  # type: ignore[arg-type]
    batch.resize(64)  # type: ignore[arg-type]


# ---- turborle.mask: the pycocotools drop-in ---------------------------------------------------


def coco_mask(bimask: npt.NDArray[np.uint8], poly: list[list[float]]) -> mask_utils.RLEs:
    rles = mask_utils.encode(bimask)
    dense: npt.NDArray[np.uint8] = mask_utils.decode(rles)
    area: Any = mask_utils.area(rles)
    box: npt.NDArray[np.float64] = mask_utils.toBbox(rles)
    overlap: Any = mask_utils.iou(rles, rles, [0])
    from_boxes: list[mask_utils.RLE] = mask_utils.frBbox(np.zeros((2, 4)), 480, 640)
    from_poly: list[mask_utils.RLE] = mask_utils.frPoly(poly, 480, 640)
    merged: mask_utils.RLE = mask_utils.merge(from_poly + from_boxes, intersect=1)
    plain: list[mask_utils.RLE] = mask_utils.frUncompressedRLE(
        [{"size": [2, 2], "counts": [0, 4]}], 2, 2)
    del dense, area, box, overlap, merged, from_boxes, from_poly, plain
    return mask_utils.frPyObjects(poly, 480, 640)


# ---- the compiled module, through its stubs ---------------------------------------------------


def core_encode(masks: npt.NDArray[np.uint8]) -> _core.RLEs:
    return _core.encode(masks, 1)


def core_columns(rles: _core.RLEs) -> tuple[npt.NDArray[np.uint64], ...]:
    return rles.arrays()


def core_mask(rles: _core.RLEs) -> int:
    return len(rles)


def core_decode(rles: _core.RLEs) -> npt.NDArray[np.uint8]:
    return _core.decode(rles, False)


def core_decode_into(rles: _core.RLEs, out: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    return _core.decode(rles, True, out)


def core_area_of_dicts(objs: list[dict[str, Any]]) -> npt.NDArray[np.uint64]:
    return _core.measure_objects(objs, True, False)[0]


def core_bbox_of_dicts(objs: list[dict[str, Any]]) -> npt.NDArray[np.float64]:
    return _core.measure_objects(objs, False, True)[1]


def core_dicts(rles: _core.RLEs) -> list[dict[str, Any]]:
    return _core.to_objects(rles, threads=1)


def core_fal(texts: list[str | bytes]) -> list[str]:
    return _core.to_fal(_core.from_fal(texts, 4, 4, 1, True, threads=1), 1, True, threads=1)


def core_runtime() -> tuple[str, str, int, int]:
    return _core.simd_level(), _core.best_simd_level(), _core.default_threads(), _core.cpu_count()


def core_must_be_rejected(rles: _core.RLEs, masks: npt.NDArray[np.uint8]) -> None:
    _core.merge(rles, "unoin")  # type: ignore[arg-type]
    _core.area(masks)  # type: ignore[arg-type]
    _core.decode(rles, False, np.empty((1, 4, 4), dtype=np.float32))  # type: ignore[type-var]
    _core.from_fal("1 2", 4, 4, 1, True)  # type: ignore[arg-type]
