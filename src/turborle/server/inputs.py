"""What a request holds: its JSON body, fal's input fields, and the image to segment."""

from __future__ import annotations

import io
import ipaddress
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from starlette.requests import Request

from turborle.gateway.datauri import is_data_uri, parse_data_uri
from turborle.server.answers import ApiError, invalid
from turborle.server.config import MAX_MASKS_LIMIT, Family
from turborle.server.segment import BoxPrompt, PointPrompt
from turborle.server.state import ServerState


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def read_json(request: Request, state: ServerState, family: Family) -> dict[str, Any]:
    cap = state.config.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise ApiError(413, f"request body of {declared} bytes exceeds the limit of {cap} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise ApiError(413, f"request body exceeds the limit of {cap} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        message = f"request body is not valid JSON: {exc}"
        if family == "gateway":
            raise ApiError(400, message) from None
        raise ApiError(422, message, detail=[{"loc": ["body"], "msg": message,
                                              "type": "json_invalid"}]) from None
    if not isinstance(body, dict):
        message = f"request body must be a JSON object, got {type(body).__name__}"
        if family == "gateway":
            raise ApiError(400, message)
        raise ApiError(422, message, detail=[{"loc": ["body"], "msg": message,
                                              "type": "dict_type"}])
    return body


@dataclass(frozen=True)
class FalInput:
    image_url: str
    prompt: str
    points: tuple[PointPrompt, ...]
    boxes: tuple[BoxPrompt, ...]
    multiple: bool
    max_masks: int
    include_scores: bool
    include_boxes: bool


def _number(value: Any, family: Family, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise invalid(family, where, "must be a finite number", "float_type")
    return float(value)


def _flag(body: Mapping[str, Any], name: str, family: Family) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise invalid(family, name, "must be a boolean", "bool_type")
    return value


def _prompt_list(body: Mapping[str, Any], name: str, family: Family,
                 limit: int) -> list[Mapping[str, Any]]:
    value = body.get(name, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(family, name, "must be a list", "list_type")
    if len(value) > limit:
        raise invalid(family, name, f"at most {limit} entries are accepted, got {len(value)}",
                      "too_long")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise invalid(family, f"{name}[{i}]", "must be an object", "dict_type")
    return value


def parse_fal(body: Mapping[str, Any], family: Family, state: ServerState) -> FalInput:
    image_url = body.get("image_url")
    if image_url is None:
        raise invalid(family, "image_url", "field required: this model segments an image",
                      "missing")
    if not isinstance(image_url, str) or not image_url:
        raise invalid(family, "image_url", "must be a non-empty string", "string_type")
    prompt = body.get("prompt", "wheel")  # fal's default applies when the field is missing
    if not isinstance(prompt, str):
        raise invalid(family, "prompt", "must be a string", "string_type")
    limit = state.config.max_prompts
    points: list[PointPrompt] = []
    for i, item in enumerate(_prompt_list(body, "point_prompts", family, limit)):
        where = f"point_prompts[{i}]"
        label = item.get("label", 1)
        if isinstance(label, bool) or label not in (0, 1):
            raise invalid(family, f"{where}.label", "must be 1 (foreground) or 0 (background)")
        points.append(PointPrompt(_number(item.get("x"), family, f"{where}.x"),
                                  _number(item.get("y"), family, f"{where}.y"), int(label)))
    boxes: list[BoxPrompt] = []
    for i, item in enumerate(_prompt_list(body, "box_prompts", family, limit)):
        where = f"box_prompts[{i}]"
        box = BoxPrompt(*(_number(item.get(k), family, f"{where}.{k}")
                          for k in ("x_min", "y_min", "x_max", "y_max")))
        if not (box.x_min < box.x_max and box.y_min < box.y_max):
            raise invalid(family, where, "needs x_min < x_max and y_min < y_max")
        boxes.append(box)
    max_masks = body.get("max_masks", 3)
    if isinstance(max_masks, bool) or not isinstance(max_masks, int) \
            or not 1 <= max_masks <= MAX_MASKS_LIMIT:
        raise invalid(family, "max_masks", f"must be an integer in 1..{MAX_MASKS_LIMIT}")
    return FalInput(image_url, prompt, tuple(points), tuple(boxes),
                     _flag(body, "return_multiple_masks", family), max_masks,
                     _flag(body, "include_scores", family), _flag(body, "include_boxes", family))


def check_on_image(fal: FalInput, height: int, width: int, family: Family) -> None:
    for i, p in enumerate(fal.points):
        if not (0 <= p.x < width and 0 <= p.y < height):
            raise invalid(family, f"point_prompts[{i}]",
                          f"({p.x}, {p.y}) lies outside the {width}x{height} image")
    for i, b in enumerate(fal.boxes):
        if b.x_max <= 0 or b.y_max <= 0 or b.x_min >= width or b.y_min >= height:
            raise invalid(family, f"box_prompts[{i}]",
                          f"does not overlap the {width}x{height} image")


# -- images -----------------------------------------------------------------------------------
def asset_bytes(name: str) -> bytes | None:
    """A bundled asset (``demo.png``), or None."""
    if "/" in name or "\\" in name or not name.endswith(".png"):
        return None
    resource = resources.files("turborle.server").joinpath("assets").joinpath(name)
    return resource.read_bytes() if resource.is_file() else None


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def image_bytes(url: str, family: Family) -> bytes:
    """The image behind ``image_url``: a base64 ``data:`` URI of an image, or a bundled asset."""
    if is_data_uri(url):
        try:
            uri = parse_data_uri(url)
        except ValueError as exc:
            raise invalid(family, "image_url", str(exc), "image_load_error") from None
        if not uri.base64:
            raise invalid(family, "image_url", "data: URI must be base64-encoded (;base64,)",
                          "image_load_error")
        if uri.media_type and not (uri.media_type.startswith("image/")
                                   or uri.media_type == "application/octet-stream"):
            raise invalid(family, "image_url", f"data: URI media type {uri.media_type!r} is not "
                          "an image", "image_load_error")
        return uri.data
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and is_loopback(parts.hostname) \
            and parts.path.startswith("/assets/"):
        data = asset_bytes(parts.path[len("/assets/"):])
        if data is not None:
            return data
        raise invalid(family, "image_url", f"no bundled asset at {parts.path}", "image_load_error")
    raise invalid(family, "image_url", "must be a data: URI or this server's /assets/ URL (the "
                  "local reference server fetches nothing from the network)", "image_load_error")


def decode_image(data: bytes, state: ServerState, family: Family) -> np.ndarray[Any, Any]:
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > state.config.max_image_pixels:
                raise invalid(family, "image_url", f"image of {width}x{height} exceeds the limit "
                              f"of {state.config.max_image_pixels} pixels", "image_too_large")
            if state.config.apply_exif_orientation:
                oriented = ImageOps.exif_transpose(image)
                return np.asarray(oriented.convert("RGB"), dtype=np.uint8)
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - untrusted bytes: every decoder failure is a 4xx
        raise invalid(family, "image_url", f"image could not be decoded: "
                      f"{type(exc).__name__}: {exc}", "image_load_error") from None
