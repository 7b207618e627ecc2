"""The route handlers of both protocols, and the work they share: segmenting an image into
fal output."""

from __future__ import annotations

import base64
import json
import math
import time
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

import turborle
from turborle.server.answers import ApiError, dumps, json_response
from turborle.server.config import NO_MASKS, Family
from turborle.server.inputs import (
    FalInput,
    check_on_image,
    decode_image,
    image_bytes,
    parse_fal,
    read_json,
)
from turborle.server.segment import Segment
from turborle.server.state import Job, ServerState


# -- the work ---------------------------------------------------------------------------------
def _fal_output(segments: Sequence[Segment], height: int, width: int,
                fal: FalInput) -> dict[str, Any]:
    batch = turborle.encode(np.stack([s.mask for s in segments]))
    texts = batch.to_fal()
    xywh = turborle.bbox(batch)
    boxes = [[round((x + w / 2) / width, 6), round((y + h / 2) / height, 6),
              round(w / width, 6), round(h / height, 6)] for x, y, w, h in xywh.tolist()]
    scores = [float(s.score) for s in segments]
    out: dict[str, Any] = {
        "rle": texts if fal.multiple else texts[0],
        "metadata": [{"index": i, "score": scores[i], "box": boxes[i]}
                     for i in range(len(segments))],
    }
    if fal.include_scores:
        out["scores"] = scores
    if fal.include_boxes:
        out["boxes"] = boxes
    return out


def segment_image(state: ServerState, fal: FalInput, family: Family) -> dict[str, Any] | None:
    """The fal output for ``fal``, or None when no mask was generated (blocking: run it in a
    thread)."""
    image = decode_image(image_bytes(fal.image_url, family), state, family)
    height, width = image.shape[:2]
    check_on_image(fal, height, width, family)
    wanted = fal.max_masks if fal.multiple else 1
    segments = state.segmenter.segment(image, fal.prompt, fal.points, fal.boxes, wanted)[:wanted]
    for s in segments:
        if s.mask.shape != (height, width):
            raise ApiError(500, f"segmenter returned a {s.mask.shape} mask for a "
                           f"{height}x{width} image")
    segments = [s for s in segments if s.mask.any()]
    if not segments:
        return None
    return _fal_output(segments, height, width, fal)


def _base_url(request: Request, state: ServerState) -> str:
    return (state.config.public_base_url or str(request.base_url)).rstrip("/")


def _auth(request: Request, state: ServerState, scheme: str) -> str:
    """The caller's key (checked when ``api_key`` is set); ``"anonymous"`` without one."""
    header = request.headers.get("authorization", "")
    given, _, token = header.partition(" ")
    token = token.strip() if given.lower() == scheme.lower() else ""
    expected = state.config.api_key
    if expected is not None and token != expected:
        if not header:
            message = f"missing API key: send 'Authorization: {scheme} <key>'"
        elif not token:
            message = f"malformed Authorization header: expected '{scheme} <key>'"
        else:
            message = "invalid API key"
        raise ApiError(401, message, detail=message)
    return token or "anonymous"


def _limit(state: ServerState, key: str) -> None:
    wait = state.take_rate(key)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise ApiError(429, f"rate limit of {state.config.rate_limit} requests per "
                       f"{state.config.rate_window_s:g} s exceeded; retry in {seconds} s",
                       detail="Rate limit exceeded", headers={"Retry-After": str(seconds)})


def _credit(state: ServerState) -> None:
    if not state.take_credit():
        raise ApiError(402, "insufficient credits: the wallet is empty",
                       detail="Insufficient credits")


# -- gateway handlers -------------------------------------------------------------------------
async def gateway_generate(request: Request, state: ServerState) -> Response:
    key = _auth(request, state, "Bearer")
    _limit(state, key)
    body = await read_json(request, state, "gateway")
    model = body.get("model")
    if model is None:
        raise ApiError(400, "model: field required", param="model")
    if model != state.config.model:
        raise ApiError(404, f"model {model!r} not found; this server serves "
                       f"{state.config.model!r}", code="model_not_found", param="model")
    n = body.get("n", 1)
    if n is not None and (isinstance(n, bool) or n != 1):
        raise ApiError(400, f"n: must be 1 for {state.config.model}", param="n")
    size = body.get("size")
    if size is not None and not isinstance(size, str):
        raise ApiError(400, "size: must be a string such as '1024x1024' (ignored: masks come "
                       "at the image's size)", param="size")
    response_format = body.get("response_format") or "url"
    if response_format not in ("url", "b64_json"):
        raise ApiError(400, "response_format: must be 'url' or 'b64_json'",
                       param="response_format")
    run_async = body.get("async", False)
    if not isinstance(run_async, bool):
        raise ApiError(400, "async: must be a boolean", param="async")
    run_async = run_async or state.config.gateway_async \
        or "respond-async" in request.headers.get("prefer", "").lower()
    fal = parse_fal(body, "gateway", state)
    _credit(state)
    base = _base_url(request, state)
    created = int(time.time())
    if run_async:
        job = Job(uuid.uuid4().hex, "gateway", time.monotonic(), created, 200, b"")
        try:
            output = await run_in_threadpool(segment_image, state, fal, "gateway")
        except ApiError as exc:
            output, job.status, job.error = None, exc.status, exc.body("gateway")["error"]
        if output is None and job.error is None:
            job.status = 422
            job.error = ApiError(422, NO_MASKS, code="no_masks_generated").body("gateway")["error"]
        if output is not None:
            job.output_id = state.store_output(dumps(output))
        state.add_job(job)
        return json_response(_job_object(job, state, base, model), 202)
    output = await run_in_threadpool(segment_image, state, fal, "gateway")
    if output is None:
        raise ApiError(422, NO_MASKS, code="no_masks_generated")
    data = dumps(output)
    if response_format == "b64_json":
        item = {"b64_json": base64.b64encode(data).decode("ascii")}
    else:
        item = {"url": f"{base}/v1/outputs/{state.store_output(data)}"}
    return json_response({"created": created, "data": [item]})


def _job_object(job: Job, state: ServerState, base: str, model: str) -> dict[str, Any]:
    stage = state.stage(job)
    out: dict[str, Any] = {"id": job.id, "object": "job", "created": job.created, "model": model}
    if stage == "queued":
        out["status"] = "queued"
    elif stage == "running":
        out["status"] = "in_progress"
    elif job.output_id is not None:
        out["status"] = "succeeded"
        out["result"] = {"file_url": f"{base}/v1/outputs/{job.output_id}",
                         "content_type": "application/json"}
    else:
        out["status"] = "failed"
        out["error"] = job.error
    return out


async def gateway_job(request: Request, state: ServerState) -> Response:
    _auth(request, state, "Bearer")
    job = state.job(request.path_params["job_id"], "gateway")
    return json_response(_job_object(job, state, _base_url(request, state), state.config.model))


async def gateway_output(request: Request, state: ServerState) -> Response:
    output_id = request.path_params["output_id"]
    data = state.outputs.get(output_id)
    if data is None:
        raise ApiError(404, f"output {output_id!r} not found (expired or never made)",
                       code="output_not_found")
    return Response(data, 200, media_type="application/json")


# -- fal handlers -----------------------------------------------------------------------------
async def fal_run(request: Request, state: ServerState) -> Response:
    key = _auth(request, state, "Key")
    _limit(state, key)
    body = await read_json(request, state, "fal")
    fal = parse_fal(body, "fal", state)
    _credit(state)
    output = await run_in_threadpool(segment_image, state, fal, "fal")
    if output is None:
        raise ApiError(422, NO_MASKS)
    return json_response(output, headers={"x-fal-request-id": uuid.uuid4().hex})


def _fal_urls(request: Request, state: ServerState, request_id: str) -> dict[str, str]:
    root = f"{_base_url(request, state)}/queue/{state.config.fal_app}/requests/{request_id}"
    return {"status_url": f"{root}/status", "response_url": root, "cancel_url": f"{root}/cancel"}


async def fal_submit(request: Request, state: ServerState) -> Response:
    key = _auth(request, state, "Key")
    _limit(state, key)
    body = await read_json(request, state, "fal")
    request_id = str(uuid.uuid4())
    job = Job(request_id, "fal", time.monotonic(), int(time.time()), 200, b"")
    try:  # like fal, the queue accepts the request and reports its errors at the result
        fal = parse_fal(body, "fal", state)
        _credit(state)
        output = await run_in_threadpool(segment_image, state, fal, "fal")
        if output is None:
            raise ApiError(422, NO_MASKS)
        job.body = dumps(output)
    except ApiError as exc:
        job.status, job.body = exc.status, dumps(exc.body("fal"))
        job.error = exc.body("fal")
    state.add_job(job)
    position = state.queue_position(job) if state.stage(job) == "queued" else 0
    return json_response({"request_id": request_id, **_fal_urls(request, state, request_id),
                          "queue_position": position}, headers={"x-fal-request-id": request_id})


async def fal_status(request: Request, state: ServerState) -> Response:
    _auth(request, state, "Key")
    job = state.job(request.path_params["request_id"], "fal")
    stage = state.stage(job)
    out: dict[str, Any] = {"request_id": job.id, **_fal_urls(request, state, job.id)}
    if stage == "queued":
        out.update(status="IN_QUEUE", queue_position=state.queue_position(job))
    elif stage == "running":
        out["status"] = "IN_PROGRESS"
    else:
        out["status"] = "COMPLETED"
        if job.error is not None:
            detail = job.error.get("detail")
            out["error"] = detail if isinstance(detail, str) else json.dumps(detail)
            out["error_type"] = job.error.get("error_type", "validation_error"
                                              if job.status == 422 else "runner_server_error")
    return json_response(out, headers={"x-fal-request-id": job.id})


async def fal_result(request: Request, state: ServerState) -> Response:
    _auth(request, state, "Key")
    job = state.job(request.path_params["request_id"], "fal")
    if state.stage(job) != "done":
        raise ApiError(400, "Request is still in progress")
    return Response(job.body, job.status, {"x-fal-request-id": job.id},
                    media_type="application/json")


async def fal_cancel(request: Request, state: ServerState) -> Response:
    _auth(request, state, "Key")
    job = state.job(request.path_params["request_id"], "fal")
    if state.stage(job) != "queued":
        return json_response({"status": "ALREADY_COMPLETED"}, 400)
    job.cancelled = True
    job.status = 400
    job.error = {"detail": "Request was cancelled", "error_type": "request_cancelled"}
    job.body = dumps(job.error)
    return json_response({"status": "CANCELLATION_REQUESTED"}, 202)


async def fal_wrong_root(request: Request) -> Response:
    return json_response({"detail": "Method Not Allowed: status and result live under the app root "
                          "(.../requests/{id}), not under /image-rle"}, 405)
