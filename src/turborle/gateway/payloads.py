"""The masks in an answer: where they are, what format they are in (sniffed), and how they
become a :class:`Segmentation`.

An answer's masks come as fal output (``rle`` text or COCO dicts, with ``scores`` and
normalised ``boxes``), COCO dicts or COCO annotations, a PNG mask, or bare fal text; inline,
base64-encoded, as a ``data:`` URI or behind a URL (:func:`payload_sources`). :func:`sniff`
tells them apart, and :func:`segmentation` parses them all into one ``RLEBatch`` at the size
of the image sent, checking sizes, counts and every RLE.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

import turborle
from turborle import RLEBatch
from turborle.gateway.datauri import parse_data_uri
from turborle.gateway.errors import InvalidResponseError, ResponseTooLargeError
from turborle.gateway.images import decode_mask_png
from turborle.gateway.settings import Settings

__all__ = ["Part", "Segmentation", "empty", "json_part", "payload_sources", "segmentation",
           "sniff"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True, eq=False, repr=False)
class Segmentation:
    """Masks returned for one image.

    Attributes
    ----------
    masks : RLEBatch
        The masks, at the height and width of the image that was sent.
    scores : (N,) float64 array or None
        The model's score per mask, when the provider sent scores.
    boxes : (N, 4) float64 array
        Pixel ``[x0, y0, x1, y1]`` boxes: the provider's boxes converted from its convention
        (fal: normalized ``[cx, cy, w, h]``; COCO annotations: pixel ``[x, y, w, h]``), or,
        where the provider sent none, the tight boxes of the masks (exclusive ends).
    request_id : str or None
        The provider's request or job id.
    raw : object
        The provider's answer as parsed JSON (the final job status for an asynchronous job).
    height, width : int
        Size of the image that was sent.
    dialect : str
        What the masks were sent as: ``"fal"``, ``"coco"``, ``"png"``, a mix joined by
        ``"+"``, or ``"none"`` for an empty result.
    """

    masks: RLEBatch
    scores: npt.NDArray[np.float64] | None
    boxes: npt.NDArray[np.float64]
    request_id: str | None
    raw: Any
    height: int
    width: int
    dialect: str

    def __len__(self) -> int:
        return len(self.masks)

    def decode(self) -> npt.NDArray[np.bool_]:
        """The masks as an (N, H, W) bool array (C order); (0, H, W) when there are none."""
        if len(self.masks) == 0:
            return np.zeros((0, self.height, self.width), dtype=np.bool_)
        return turborle.decode(self.masks)

    def __repr__(self) -> str:
        return (f"Segmentation({len(self.masks)} masks, {self.height}x{self.width} (HxW), "
                f"dialect={self.dialect!r}, request_id={self.request_id!r})")


def empty(height: int, width: int, raw: Any, request_id: str | None) -> Segmentation:
    """No masks: the result of a 422 "No masks generated"."""
    return Segmentation(masks=turborle.concat([]), scores=np.zeros(0, dtype=np.float64),
                        boxes=np.zeros((0, 4), dtype=np.float64), request_id=request_id,
                        raw=raw, height=height, width=width, dialect="none")


# -- where the masks are ------------------------------------------------------------------------

def payload_sources(obj: Any) -> list[Any]:
    """What the masks of an answer are behind: bytes, a URL, or an inline JSON payload."""
    if isinstance(obj, dict) and "data" in obj:
        data = obj["data"]
        if not isinstance(data, list):
            raise InvalidResponseError("'data' must be a list")
        sources: list[Any] = []
        for i, item in enumerate(data):
            if not isinstance(item, dict):
                raise InvalidResponseError(f"data[{i}] must be an object")
            if isinstance(item.get("b64_json"), str):
                sources.append(_b64(item["b64_json"], f"data[{i}].b64_json"))
            elif isinstance(item.get("url"), str):
                sources.append(item["url"])
            elif any(k in item for k in ("rle", "counts", "masks")):
                sources.append(item)
            else:
                raise InvalidResponseError(f"data[{i}] has neither 'b64_json' nor 'url'")
        return sources
    if isinstance(obj, dict):
        for key in ("file_url", "url"):
            if isinstance(obj.get(key), str):
                return [obj[key]]
        if isinstance(obj.get("b64_json"), str):
            return [_b64(obj["b64_json"], "b64_json")]
    return [obj]


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidResponseError(f"{what} is not valid base64") from None


def data_uri_bytes(uri: str, what: str) -> bytes:
    """The payload of a ``data:`` URI in an answer."""
    try:
        return parse_data_uri(uri).data
    except ValueError as exc:
        raise InvalidResponseError(f"{what}: {exc}") from None


# -- what format they are in, and parsing them --------------------------------------------------

@dataclass
class Part:
    """Masks of one payload, before they are parsed into a batch."""

    kind: Literal["fal", "coco", "png"]
    items: list[Any]
    scores: list[float] | None = None
    boxes: npt.NDArray[np.float64] | None = None  # pixel xyxy


def _floats(values: Any, what: str, n: int) -> list[float]:
    if not isinstance(values, list) or len(values) != n:
        got = len(values) if isinstance(values, list) else type(values).__name__
        raise InvalidResponseError(f"{what}: expected a list of {n}, got {got}")
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InvalidResponseError(f"{what} {i} is not a finite number: {v!r}")
        out.append(float(v))
    return out


def _box_array(values: Any, what: str, n: int) -> npt.NDArray[np.float64]:
    if not isinstance(values, list) or len(values) != n:
        got = len(values) if isinstance(values, list) else type(values).__name__
        raise InvalidResponseError(f"{what}: expected a list of {n} boxes, got {got}")
    rows = [_floats(box, f"{what} {i}", 4) for i, box in enumerate(values)]
    return np.array(rows, dtype=np.float64).reshape(n, 4)


def _fal_boxes(values: Any, n: int, height: int, width: int) -> npt.NDArray[np.float64]:
    """fal's normalized [cx, cy, w, h] as pixel [x0, y0, x1, y1]."""
    boxes = _box_array(values, "box", n)
    if n and (boxes.min() < -0.01 or boxes.max() > 1.01):
        raise InvalidResponseError("fal boxes must be normalized [cx, cy, w, h] in [0, 1], got "
                                   f"values from {boxes.min():g} to {boxes.max():g}")
    cx, cy, bw, bh = boxes.T
    return np.stack([(cx - bw / 2) * width, (cy - bh / 2) * height,
                     (cx + bw / 2) * width, (cy + bh / 2) * height], axis=1)


def _metadata(obj: dict[str, Any], key: str, n: int) -> Any:
    meta = obj.get("metadata")
    if not isinstance(meta, list) or len(meta) != n:
        return None
    if not all(isinstance(m, dict) and key in m for m in meta):
        return None
    return [m[key] for m in meta]


def _fal_part(obj: dict[str, Any], height: int, width: int) -> Part:
    rle = obj["rle"]
    texts = [rle] if isinstance(rle, str) else rle
    if not isinstance(texts, list):
        raise InvalidResponseError(f"'rle' must be a string or a list, got {type(rle).__name__}")
    for i, text in enumerate(texts):
        if not isinstance(text, (str, dict)):
            raise InvalidResponseError(f"mask {i}: not an RLE string or COCO dict "
                                       f"({type(text).__name__})")
    kinds = {"coco" if isinstance(text, dict) else "fal" for text in texts}
    if len(kinds) > 1:
        raise InvalidResponseError("'rle' mixes fal strings and COCO dicts")
    n = len(texts)
    scores = obj.get("scores")
    if scores is None:
        scores = _metadata(obj, "score", n)
    boxes = obj.get("boxes")
    if boxes is None:
        boxes = _metadata(obj, "box", n)
    return Part(
        kind="coco" if kinds == {"coco"} else "fal",
        items=texts,
        scores=None if scores is None else _floats(scores, "score", n),
        boxes=None if boxes is None else _fal_boxes(boxes, n, height, width),
    )


def _is_coco(obj: Any) -> bool:
    return isinstance(obj, dict) and "size" in obj and "counts" in obj


def _annotations_part(annotations: list[Any]) -> Part:
    """COCO results: [{"segmentation": {size, counts}, "score"?, "bbox"? (pixel xywh)}]."""
    segs, scores, boxes = [], [], []
    for i, ann in enumerate(annotations):
        if not isinstance(ann, dict) or not _is_coco(ann.get("segmentation")):
            raise InvalidResponseError(f"mask {i}: an annotation needs a COCO RLE 'segmentation'")
        segs.append(ann["segmentation"])
        scores.append(ann.get("score"))
        boxes.append(ann.get("bbox"))
    part = Part("coco", segs)
    if segs and all(v is not None for v in scores):
        part.scores = _floats(scores, "score", len(segs))
    if segs and all(v is not None for v in boxes):
        xywh = _box_array(boxes, "bbox", len(segs))
        part.boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
    return part


def json_part(obj: Any, height: int, width: int) -> Part:
    """The masks of a JSON payload: fal output, COCO dict(s), or COCO annotations."""
    if isinstance(obj, dict):
        if "rle" in obj:
            return _fal_part(obj, height, width)
        if _is_coco(obj):
            return Part("coco", [obj])
        for key in ("masks", "annotations", "segmentations"):
            if key in obj:
                inner = obj[key]
                part = json_part(inner if isinstance(inner, list) else [inner], height, width)
                if part.scores is None and isinstance(obj.get("scores"), list):
                    part.scores = _floats(obj["scores"], "score", len(part.items))
                return part
        keys = sorted(map(str, obj))[:8]
        raise InvalidResponseError(f"no masks in the JSON payload (keys {keys}): expected fal "
                                   "'rle', COCO 'size'/'counts', 'masks' or 'annotations'")
    if isinstance(obj, list):
        if all(isinstance(item, str) for item in obj):
            return Part("fal", obj)
        if all(_is_coco(item) for item in obj):
            return Part("coco", obj)
        if all(isinstance(item, dict) and "segmentation" in item for item in obj):
            return _annotations_part(obj)
        raise InvalidResponseError("a JSON list of masks must hold fal strings, COCO dicts or "
                                   "COCO annotations, one kind only")
    raise InvalidResponseError(f"no masks in a JSON {type(obj).__name__}")


def sniff(data: bytes, height: int, width: int, what: str) -> Part:
    """The masks in a payload whose format is not announced: PNG, JSON or bare fal text."""
    if data.startswith(_PNG_SIGNATURE):
        try:
            return Part("png", [decode_mask_png(data, height, width, what)])
        except ValueError as exc:
            raise InvalidResponseError(str(exc)) from None
    head = data.lstrip()[:1]
    if head in (b"{", b"["):
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError):
            raise InvalidResponseError(f"{what} looks like JSON but does not parse") from None
        return json_part(obj, height, width)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = None
    if text is not None and text.strip() and all(c.isdigit() or c.isspace() for c in text):
        return Part("fal", [text])
    raise InvalidResponseError(f"{what} is neither a PNG mask, JSON nor fal RLE text "
                               f"(starts {data[:16]!r})")


def _renumbered(exc: Exception, offset: int) -> str:
    """The error's message, a mask counted from the answer's first mask (the payload's
    masks start at ``offset``)."""
    if isinstance(exc, turborle.RLEError) and exc.item == "mask" and exc.index is not None:
        return f"mask {exc.index + offset}: {exc.reason}"
    return str(exc)


def _parse_part(part: Part, offset: int, height: int, width: int, s: Settings) -> RLEBatch:
    try:
        if part.kind == "fal":
            batch = turborle.from_fal(part.items, height, width, start_base=s.start_base)
        elif part.kind == "coco":
            batch = turborle.from_coco(part.items)
            for i in range(len(batch)):
                size = (int(batch.heights[i]), int(batch.widths[i]))
                if size != (height, width):
                    reason = (f"size {size[0]}x{size[1]} (HxW) is not the size of the image "
                              f"sent, {height}x{width}")
                    raise turborle.RLEError(f"mask {i}: {reason}", reason=reason,
                                            item="mask", index=i)
        else:
            batch = turborle.encode(np.stack(part.items))
    except (ValueError, TypeError) as exc:
        raise InvalidResponseError(f"malformed {part.kind} RLE in the answer: "
                                   f"{_renumbered(exc, offset)}") from None
    return batch


def segmentation(parts: list[Part], height: int, width: int, s: Settings, raw: Any,
                  request_id: str | None) -> Segmentation:
    total = sum(len(p.items) for p in parts)
    if total > s.max_response_masks:
        raise ResponseTooLargeError(f"the answer holds {total} masks, more than "
                                    f"max_response_masks={s.max_response_masks}",
                                    request_id=request_id)
    batches, scores, boxes, offset = [], [], [], 0
    for part in parts:
        batch = _parse_part(part, offset, height, width, s)
        offset += len(batch)
        batches.append(batch)
        scores.append(part.scores)
        if part.boxes is not None:
            boxes.append(part.boxes)
        elif len(batch):
            boxes.append(turborle.bbox(batch, fmt="xyxy"))
    masks = turborle.concat(batches)
    dialect = "+".join(dict.fromkeys(p.kind for p in parts if p.items)) or "none"
    have_scores = all(sc is not None for sc in scores) or total == 0
    return Segmentation(
        masks=masks,
        scores=(np.array([v for sc in scores for v in (sc or [])], dtype=np.float64)
                if have_scores else None),
        boxes=np.concatenate(boxes).astype(np.float64) if boxes
        else np.zeros((0, 4), dtype=np.float64),
        request_id=request_id,
        raw=raw,
        height=height,
        width=width,
        dialect=dialect,
    )
