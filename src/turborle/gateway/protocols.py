"""The two provider protocols, each written once as a generator of steps (see
:mod:`turborle.gateway.steps`).

- ``"aigateway"``: an OpenAI-compatible gateway. ``POST {base}/v1/images/generations`` with
  ``Authorization: Bearer <key>`` and ``{"model": "meta/sam-3-image-rle", "prompt", "n",
  "size", "response_format"}``, plus the image as ``image_url`` and fal's input fields. The
  masks come back in ``data[].b64_json`` or behind ``data[].url``; what they hold is sniffed
  (fal JSON, COCO JSON or a PNG mask). An answer ``202 {id, status: "queued", object:
  "job"}`` is an asynchronous job, polled at ``GET {base}/v1/jobs/{id}`` every
  ``poll_interval`` seconds (3 s by default) until it is final; its ``result.file_url`` holds
  the masks.
- ``"fal"``: ``POST {base}/fal-ai/sam-3/image-rle`` with ``Authorization: Key <key>``
  (synchronous), or with ``queue=True`` the queue: submit to ``{queue_base}/fal-ai/sam-3/
  image-rle``, then poll and fetch the ``status_url`` and ``response_url`` the submit call
  returned (they must share the queue's origin: the key is never sent anywhere else).

A 422 "No masks generated" (or a job that failed with it) is an empty result.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast
from urllib.parse import quote

import numpy as np

from turborle.gateway.answers import (
    NO_MASKS,
    failure_message,
    json_body,
    json_or_text,
    safe_id,
)
from turborle.gateway.datauri import is_data_uri
from turborle.gateway.errors import InvalidResponseError, JobFailedError
from turborle.gateway.images import PreparedImage, encoded_image_size, is_url
from turborle.gateway.payloads import (
    Part,
    Segmentation,
    data_uri_bytes,
    empty,
    json_part,
    payload_sources,
    segmentation,
    sniff,
)
from turborle.gateway.settings import count, origin
from turborle.gateway.steps import Call, Request, Steps, log

Point = Sequence[float]  # (x, y, label)
Box = Sequence[float]  # (x0, y0, x1, y1)

_JOB_DONE = frozenset({"succeeded", "completed", "complete", "done", "success", "finished"})
_JOB_FAILED = frozenset({"failed", "error", "errored", "cancelled", "canceled", "expired"})


# -- the request's input ------------------------------------------------------------------------

def _number(value: Any, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return int(number) if number.is_integer() else number


def fal_input(source: str, prompt: str | None, points: Iterable[Point] | None,
               boxes: Iterable[Box] | None, max_masks: int | None,
               extra: Mapping[str, Any] | None) -> dict[str, Any]:
    point_prompts = []
    for i, point in enumerate(points or ()):
        if len(point) != 3:
            raise ValueError(f"point {i} must be (x, y, label), got {point!r}")
        x, y, label = point
        if isinstance(label, bool):
            label = int(label)
        if label not in (0, 1) or not isinstance(label, (int, np.integer)):
            raise ValueError(f"point {i}: label must be 1 (foreground) or 0 (background), "
                             f"got {label!r}")
        point_prompts.append({"x": _number(x, f"point {i} x"), "y": _number(y, f"point {i} y"),
                              "label": int(label)})
    box_prompts = []
    for i, box in enumerate(boxes or ()):
        if len(box) != 4:
            raise ValueError(f"box {i} must be (x0, y0, x1, y1), got {box!r}")
        x0, y0, x1, y1 = (_number(v, f"box {i} coordinate") for v in box)
        if x1 < x0 or y1 < y0:
            raise ValueError(f"box {i} must have x0 <= x1 and y0 <= y1, got {box!r}")
        box_prompts.append({"x_min": x0, "y_min": y0, "x_max": x1, "y_max": y1})
    if prompt is not None and not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
    if not prompt and not point_prompts and not box_prompts:
        raise ValueError("give a text prompt, points or boxes (fal silently segments 'wheel' "
                         "when the prompt is left out)")
    body: dict[str, Any] = {
        "image_url": source,
        "prompt": prompt or "",  # explicit "": fal's default prompt is "wheel"
        "point_prompts": point_prompts,
        "box_prompts": box_prompts,
        "include_scores": True,
        "include_boxes": True,
    }
    if max_masks is not None:
        body["return_multiple_masks"] = True
        body["max_masks"] = count("max_masks", max_masks, 1)
    if extra:
        body.update(extra)
    return body


# -- the protocols ------------------------------------------------------------------------------

def segment_flow(call: Call, image: PreparedImage,
                 fal_input: dict[str, Any]) -> Steps[Segmentation]:
    """The steps of one segmentation: learn the image's size if needed, then the provider's
    protocol."""
    height, width = image.height, image.width
    if height is None or width is None:
        resp = yield from call.request(Request("GET", image.source, "image download"))
        try:
            height, width = encoded_image_size(resp.body)
        except ValueError as exc:
            raise ValueError(f"{exc} (downloaded to learn its size)") from None
    if call.settings.provider == "aigateway":
        return (yield from _aigateway_flow(call, fal_input, height, width))
    return (yield from _fal_flow(call, fal_input, height, width))


def _same_origin(url: Any, base: str, what: str) -> str:
    if not isinstance(url, str) or not is_url(url):
        raise InvalidResponseError(f"{what} is not an http(s) URL")
    if origin(url) != origin(base):
        raise InvalidResponseError(f"{what} points to another origin than {base}: the API key "
                                   "is not sent there")
    return url


def _fetch_payloads(call: Call, sources: list[Any], height: int, width: int) -> Steps[list[Part]]:
    parts = []
    for i, source in enumerate(sources):
        what = f"payload {i}"
        if isinstance(source, bytes):
            parts.append(sniff(source, height, width, what))
        elif isinstance(source, str) and is_data_uri(source):
            parts.append(sniff(data_uri_bytes(source, what), height, width, what))
        elif isinstance(source, str):
            if not is_url(source):
                raise InvalidResponseError(f"{what}: {source[:60]!r} is not an http(s) URL")
            resp = yield from call.request(Request("GET", source, "mask download"))
            parts.append(sniff(resp.body, height, width, what))
        else:
            parts.append(json_part(source, height, width))
    return parts


def _aigateway_flow(call: Call, fal_input: dict[str, Any], height: int,
                    width: int) -> Steps[Segmentation]:
    s = call.settings
    body = {"model": s.model, "prompt": fal_input["prompt"], "n": 1, "size": f"{width}x{height}",
            "response_format": s.response_format, **fal_input}
    resp = yield from call.request(Request(
        "POST", f"{s.base_url}/v1/images/generations", "generation", body,
        accept=frozenset({200, 201, 202}), no_masks_ok=True))
    call.request_id = resp.request_id
    if resp.status == 422:
        return empty(height, width, json_or_text(resp), call.request_id)
    obj = json_body(resp, "the gateway's answer")
    if resp.status == 202 or (isinstance(obj, dict) and obj.get("object") == "job"):
        if not isinstance(obj, dict) or safe_id(obj.get("id")) is None:
            raise InvalidResponseError("an asynchronous job answer needs an 'id'")
        job_id = cast(str, safe_id(obj["id"]))
        call.request_id = job_id
        log.info("aigateway job %s queued", job_id)
        while True:
            yield from call.wait(s.poll_interval, f"waiting for job {job_id}")
            poll = yield from call.request(Request(
                "GET", f"{s.base_url}/v1/jobs/{quote(job_id, safe='')}", "job status",
                accept=frozenset({200, 202})))
            obj = json_body(poll, "the job status")
            if not isinstance(obj, dict):
                raise InvalidResponseError("the job status is not an object")
            status = str(obj.get("status", "")).lower()
            log.debug("aigateway job %s: %s", job_id, status)
            if status in _JOB_DONE:
                break
            if status in _JOB_FAILED:
                message = failure_message(obj, s)
                if NO_MASKS in message.lower():
                    return empty(height, width, obj, job_id)
                raise JobFailedError(f"job {status}: {message}", request_id=job_id)
        result = obj.get("result")
        if result is None:
            raise InvalidResponseError("the finished job has no 'result'")
        sources = payload_sources(result)
    else:
        sources = payload_sources(obj)
    parts = yield from _fetch_payloads(call, sources, height, width)
    return segmentation(parts, height, width, s, obj, call.request_id)


def _fal_flow(call: Call, fal_input: dict[str, Any], height: int,
              width: int) -> Steps[Segmentation]:
    s = call.settings
    if not s.queue:
        resp = yield from call.request(Request("POST", f"{s.base_url}/{s.model}", "fal request",
                                               fal_input, no_masks_ok=True))
        call.request_id = resp.request_id
        if resp.status == 422:
            return empty(height, width, json_or_text(resp), call.request_id)
        obj = json_body(resp, "fal's answer")
        return segmentation([json_part(obj, height, width)], height, width, s, obj,
                            call.request_id)
    submit = yield from call.request(Request("POST", f"{s.queue_url}/{s.model}",
                                             "fal queue submit", fal_input,
                                             accept=frozenset({200, 201, 202})))
    sub = json_body(submit, "fal's queue answer")
    if not isinstance(sub, dict) or safe_id(sub.get("request_id")) is None:
        raise InvalidResponseError("fal's queue answer has no 'request_id'")
    rid = cast(str, safe_id(sub["request_id"]))
    call.request_id = rid
    log.info("fal request %s queued", rid)
    root = "/".join(s.model.split("/")[:2])  # status and result live under the app's root
    fallback = f"{s.queue_url}/{root}/requests/{quote(rid, safe='')}"
    status_url = _same_origin(sub.get("status_url", fallback + "/status"), s.queue_url,
                              "status_url")
    response_url = _same_origin(sub.get("response_url", fallback), s.queue_url, "response_url")
    while True:
        poll = yield from call.request(Request("GET", status_url, "fal queue status",
                                               accept=frozenset({200, 202})))
        obj = json_body(poll, "fal's queue status")
        status = obj.get("status") if isinstance(obj, dict) else None
        log.debug("fal request %s: %s", rid, status)
        if status == "COMPLETED":
            if obj.get("error"):
                message = failure_message(obj, s)
                if NO_MASKS in message.lower():
                    return empty(height, width, obj, rid)
                raise JobFailedError(f"fal request failed: {message}", request_id=rid)
            break
        if status not in ("IN_QUEUE", "IN_PROGRESS"):
            raise InvalidResponseError(f"unknown fal queue status {str(status)[:40]!r}",
                                       request_id=rid)
        yield from call.wait(s.poll_interval, f"waiting for fal request {rid}")
    resp = yield from call.request(Request("GET", response_url, "fal queue result",
                                           no_masks_ok=True))
    if resp.status == 422:
        return empty(height, width, json_or_text(resp), rid)
    obj = json_body(resp, "fal's result")
    return segmentation([json_part(obj, height, width)], height, width, s, obj, rid)
