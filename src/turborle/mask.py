"""Drop-in replacement for ``pycocotools.mask``.

Replace ``from pycocotools import mask as mask_utils`` with
``from turborle import mask as mask_utils``: the names, arguments, return types, dtypes and
``counts`` bytes are the same. Where pycocotools crashes, wraps around or returns garbage,
this module raises a ``ValueError`` / ``TypeError`` that names the problem, or does the
evidently right thing; README.md lists every such difference.

RLE objects are dicts ``{"size": [h, w], "counts": bytes}``; ``counts`` may also be ``str``
(as loaded from JSON) or, where pycocotools accepts it, a list of ints (uncompressed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from turborle import _core

__all__ = [
    "area",
    "decode",
    "encode",
    "frBbox",
    "frPoly",
    "frPyObjects",
    "frUncompressedRLE",
    "iou",
    "merge",
    "toBbox",
]

RLE = dict[str, Any]
RLEs = Union[RLE, list[RLE]]


def _checked_list(objs: Sequence[RLE]) -> Sequence[RLE]:
    if not isinstance(objs, (list, tuple)):
        raise TypeError(f"expected a list of RLE dicts, got {type(objs).__name__}")
    return objs


def _rles(objs: Sequence[RLE]) -> _core.RLEs:
    return _core.from_objects(_checked_list(objs))


def encode(bimask: npt.NDArray[Any]) -> RLEs:
    """Encode binary masks.

    Parameters
    ----------
    bimask : ndarray, shape (h, w, n) or (h, w)
        uint8 or bool (other integer dtypes are accepted; nonzero is foreground). Float
        arrays are refused with a ``TypeError``: threshold probabilities first. Fortran order
        is pycocotools' layout; C order and strided views are read in place.

    Returns
    -------
    list of dict or dict
        One ``{"size": [h, w], "counts": bytes}`` per mask (a single dict for 2-D input).
    """
    arr = np.asarray(bimask)
    if arr.ndim not in (2, 3):
        raise ValueError(f"encode expects an (h, w) or (h, w, n) array, got shape {arr.shape}")
    objs = _core.encode(arr, objects=True, hwn=True)
    return objs if arr.ndim == 3 else objs[0]


def decode(rleObjs: RLEs) -> npt.NDArray[np.uint8]:
    """Decode RLEs to a Fortran-ordered uint8 array.

    Returns shape (h, w) for a dict and (h, w, n) for a list; all masks of a list must share
    one size.
    """
    if isinstance(rleObjs, list):
        return _core.decode(_rles(rleObjs), True)
    out = _core.decode(_rles([rleObjs]), True)
    return out[:, :, 0]


def area(rleObjs: RLEs) -> Any:
    """Foreground pixel count: ``uint32`` scalar for a dict, array for a list."""
    if isinstance(rleObjs, list):
        # pycocotools' uint32; uint64 when an area of 2**32 or more would wrap there.
        return _core.area_objects(rleObjs)
    return _core.measure_one(rleObjs, False)


def toBbox(rleObjs: RLEs) -> npt.NDArray[np.float64]:
    """Tight ``[x, y, w, h]`` float64 box: shape (4,) for a dict, (n, 4) for a list."""
    if isinstance(rleObjs, list):
        return _core.measure_objects(rleObjs, False, True)[1]
    return _core.measure_one(rleObjs, True)


def _is_box(obj: Any) -> bool:
    return isinstance(obj, (list, tuple, np.ndarray)) and len(obj) == 4


def _boxes(objs: Any, what: str) -> npt.NDArray[np.float64]:
    arr = np.array(objs, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == 4:
        arr = arr[np.newaxis]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{what}: boxes must have shape (n, 4), got {arr.shape}")
    return np.ascontiguousarray(arr)


_KIND_NAMES = {"rle": "RLEs", "box": "boxes"}


def _iou_operand(objs: Any, what: str) -> tuple[str, Any, int]:
    """('box', (n, 4) array, n) or ('rle', RLEs, n)."""
    if isinstance(objs, np.ndarray):
        if objs.size == 0:
            return "empty", None, 0
        boxes = _boxes(objs, what)
        return "box", boxes, len(boxes)
    if isinstance(objs, (list, tuple)):
        if len(objs) == 0:
            return "empty", None, 0
        if all(isinstance(o, dict) for o in objs):
            rles = _core.from_objects(objs)
            return "rle", rles, len(rles)
        if all(_is_box(o) for o in objs):
            boxes = _boxes(objs, what)
            return "box", boxes, len(boxes)
        raise TypeError(f"{what}: a list must hold only RLE dicts or only [x, y, w, h] boxes")
    raise TypeError(f"{what}: expected a list of RLE dicts, a list of boxes or an (n, 4) "
                    f"array, got {type(objs).__name__}")


def iou(dt: Any, gt: Any, iscrowd: Any = None) -> Any:
    """IoU of every detection with every ground truth.

    Parameters
    ----------
    dt, gt : list of RLE dicts, or boxes as an (n, 4) xywh array / list of 4-lists
        Both sides must be of the same kind.
    iscrowd : sequence of bool, length ``len(gt)``, or None
        A crowd ground truth scores ``intersection / area(dt)``.

    Returns
    -------
    ndarray of float64, shape (len(dt), len(gt)), Fortran order (as pycocotools), or ``[]``
        when either side is empty. Pairs of masks of different sizes whose boxes overlap
        score -1.
    """
    kind_dt, a, m = _iou_operand(dt, "dt")
    kind_gt, b, n = _iou_operand(gt, "gt")
    crowd = None if iscrowd is None else np.asarray(iscrowd).ravel()  # (the core converts it)
    if crowd is not None and len(crowd) != n:  # checked first, as pycocotools does
        raise ValueError(f"iscrowd has {len(crowd)} entries but gt has {n}")
    if m == 0 or n == 0:
        return []
    if kind_dt != kind_gt:
        raise TypeError(f"dt holds {_KIND_NAMES[kind_dt]} and gt holds {_KIND_NAMES[kind_gt]}; "
                        "both must be RLEs or both boxes")
    ious = _core.iou(a, b, crowd) if kind_dt == "rle" else _core.box_iou(a, b, crowd)
    return np.asfortranarray(ious)  # pycocotools' layout


def merge(rleObjs: list[RLE], intersect: int = 0) -> RLE:
    """Union (``intersect=0``) or intersection (``intersect=1``) of same-sized masks.

    As in pycocotools, one mask comes back as it was parsed (its counts are not rewritten).
    """
    return _core.merge_objects(_checked_list(rleObjs), "intersection" if intersect else "union")


def frBbox(bb: Any, h: int, w: int) -> list[RLE]:
    """RLEs of ``[x, y, w, h]`` boxes (an (n, 4) array or a list of 4-sequences)."""
    return _core.from_boxes(_boxes(bb, "frBbox"), h, w, objects=True)


def frPoly(poly: Sequence[Any], h: int, w: int) -> list[RLE]:
    """One RLE per polygon ``[x0, y0, x1, y1, ...]`` (pycocotools' rasterisation)."""
    return _core.from_polygons(list(poly), h, w, objects=True)


def frUncompressedRLE(ucRles: Sequence[RLE], h: int, w: int) -> list[RLE]:
    """Compress RLEs whose ``counts`` are lists of ints (each uses its own ``size``)."""
    return _core.from_objects(_checked_list(ucRles), objects=True)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def frPyObjects(pyobj: Any, h: int, w: int) -> RLEs:
    """Convert COCO segmentation objects to compressed RLEs.

    Accepts what pycocotools accepts — an (n, 4) box array, a list of boxes, a list of
    polygons (one RLE per polygon), an uncompressed RLE dict or a list of them — and also a
    single flat box ``[x, y, w, h]`` or polygon, lists of box tuples, and ``[]``.
    """
    if isinstance(pyobj, np.ndarray):
        if pyobj.ndim == 1 and pyobj.shape[0] == 4:
            return frBbox(pyobj, h, w)[0]
        return frBbox(pyobj, h, w)
    if isinstance(pyobj, dict):
        if "counts" in pyobj and "size" in pyobj:
            return frUncompressedRLE([pyobj], h, w)[0]
        raise TypeError("an RLE dict needs 'counts' and 'size'")
    if isinstance(pyobj, (list, tuple)):
        if len(pyobj) == 0:
            return []
        first = pyobj[0]
        if isinstance(first, dict):
            return frUncompressedRLE(pyobj, h, w)
        if _is_number(first):  # one flat box or polygon
            if len(pyobj) == 4:
                return frBbox([pyobj], h, w)[0]
            return frPoly([pyobj], h, w)[0]
        if isinstance(first, (list, tuple, np.ndarray)):
            if len(first) == 4:
                return frBbox(pyobj, h, w)
            return frPoly(pyobj, h, w)
    raise TypeError(f"frPyObjects: unsupported input of type {type(pyobj).__name__}")
