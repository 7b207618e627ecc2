"""Local reference server for the hosted SAM 3 "image-rle" protocols (``turborle serve``).

It speaks both protocols a fetcher meets, with their schemas, status codes and error bodies,
on 127.0.0.1, and segments with a pluggable :class:`~turborle.gateway.segment.Segmenter`
(by default :class:`~turborle.gateway.segment.ClassicalSegmenter`, a deterministic colour
segmenter: **not SAM 3**; every answer names it in an ``x-turborle-segmenter`` header).

Routes (``{base}`` is ``http://127.0.0.1:<port>``)
------------------------------------------------
OpenAI-compatible gateway (``Authorization: Bearer <key>``; errors
``{"error": {"message", "type", "code", "param"}}``):

- ``POST {base}/v1/images/generations`` with ``model`` (``"meta/sam-3-image-rle"``), ``prompt``,
  ``n`` (1), ``size`` (ignored: masks come at the image's size), ``response_format``
  (``"url"``, the default, or ``"b64_json"``), ``image_url`` and the fal fields below. Answers
  ``{"created", "data": [{"b64_json": base64(fal JSON)} | {"url": "{base}/v1/outputs/<id>"}]}``.
  With the header ``Prefer: respond-async``, the body field ``"async": true`` or
  ``ServerConfig.gateway_async`` it answers ``202 {"id", "object": "job", "status": "queued",
  "created", "model"}`` instead (the image is then decoded with the job: its errors, and "No
  masks generated", fail the job rather than the request).
- ``GET {base}/v1/jobs/{id}``: the job; ``status`` goes ``queued`` -> ``in_progress`` ->
  ``succeeded`` (with ``result: {"file_url", "content_type"}``) or ``failed`` (with ``error``).
- ``GET {base}/v1/outputs/{id}``: the fal-style JSON behind a ``url`` or ``file_url`` (no auth).
- When nothing matches: ``422 {"error": {"message": "No masks generated", "type":
  "invalid_request_error", "code": "no_masks_generated"}}`` (a failed job carries the same).

fal (``Authorization: Key <key>``; errors ``{"detail": str | [{loc, msg, type}]}``, plus
``error_type`` for infrastructure errors; answers carry ``x-fal-request-id``):

- sync: ``POST {base}/fal-ai/sam-3/image-rle``: the output, or ``422 {"detail": "No masks
  generated"}``.
- queue (the ``queue.fal.run`` host is the path prefix ``/queue``: a client's queue base URL
  is ``{base}/queue``, ``RunningServer.fal_queue_url``):
  ``POST {base}/queue/fal-ai/sam-3/image-rle`` -> ``{request_id, status_url, response_url,
  cancel_url, queue_position}``; ``GET {base}/queue/fal-ai/sam-3/requests/{id}/status`` ->
  ``{"status": "IN_QUEUE", "queue_position"}`` | ``{"status": "IN_PROGRESS"}`` |
  ``{"status": "COMPLETED", "error"?, "error_type"?}``; ``GET .../requests/{id}`` -> the stored
  answer (its status code and body; 400 while not completed); ``PUT .../requests/{id}/cancel``
  -> ``202 {"status": "CANCELLATION_REQUESTED"}`` or ``400 {"status": "ALREADY_COMPLETED"}``.
  The same paths under ``/queue/fal-ai/sam-3/image-rle/requests/...`` answer 405, as fal does.

fal input: ``image_url`` (a ``data:`` URI with base64 data, or this server's
``/assets/<name>`` URL; the server fetches nothing from the network), ``prompt`` (``"wheel"``
when the field is missing, as fal), ``point_prompts`` ``[{x, y, label}]``, ``box_prompts``
``[{x_min, y_min, x_max, y_max}]`` (pixels), ``return_multiple_masks``, ``max_masks`` (1..32,
default 3, used only with ``return_multiple_masks``), ``include_scores``, ``include_boxes``.
Output: ``rle`` (fal / Kaggle text, row-major, 1-based; a string for one mask, a list with
``return_multiple_masks``), ``metadata`` ``[{index, score, box}]`` always, ``scores`` and
``boxes`` (normalised ``[cx, cy, w, h]``) when asked for.

Also ``GET {base}/`` (what this server is) and ``GET {base}/assets/demo.png`` (the bundled
320x240 test image).

Checks, in order: fault injection (:class:`Fault`), API key (401), per-key rate limit (429 +
``Retry-After``), body size (413) and JSON, model (404), credits (402), fields (400 gateway /
422 fal), image decoding (400 / 422).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import ipaddress
import json
import math
import socket
import threading
import time
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal
from urllib.parse import urlsplit

import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

import turborle
from turborle.gateway.segment import BoxPrompt, ClassicalSegmenter, PointPrompt, Segment, Segmenter

__all__ = [
    "ROUTES",
    "Fault",
    "RunningServer",
    "ServerConfig",
    "ServerState",
    "create_app",
    "load_faults",
    "run_server",
    "server_state",
    "start_server_thread",
]

Family = Literal["gateway", "fal"]

ROUTES: dict[str, Family] = {
    "gateway.generate": "gateway",   # POST /v1/images/generations
    "gateway.job": "gateway",        # GET /v1/jobs/{id}
    "gateway.output": "gateway",     # GET /v1/outputs/{id}
    "fal.run": "fal",                # POST /fal-ai/sam-3/image-rle
    "fal.submit": "fal",             # POST /queue/fal-ai/sam-3/image-rle
    "fal.status": "fal",             # GET /queue/fal-ai/sam-3/requests/{id}/status
    "fal.result": "fal",             # GET /queue/fal-ai/sam-3/requests/{id}
    "fal.cancel": "fal",             # PUT /queue/fal-ai/sam-3/requests/{id}/cancel
}
"""Route names for fault injection, with the protocol family of their error bodies."""

NO_MASKS = "No masks generated"
MAX_MASKS_LIMIT = 32

_GATEWAY_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                  402: "insufficient_credits", 404: "not_found", 405: "invalid_request_error",
                  413: "invalid_request_error", 422: "invalid_request_error",
                  429: "rate_limit_error", 503: "service_unavailable"}
_GATEWAY_CODES = {401: "invalid_api_key", 402: "insufficient_credits", 404: "not_found",
                  413: "request_too_large", 429: "rate_limit_exceeded",
                  500: "server_error", 503: "service_unavailable"}
_FAL_ERROR_TYPES = {408: "request_timeout", 500: "runner_server_error",
                    502: "runner_server_error", 503: "runner_unavailable",
                    504: "request_timeout"}


# -- configuration ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour, consumed by the next request to its route.

    Parameters
    ----------
    status : int or None
        Answer with this status and the route's protocol error body (``message`` or a
        default text) instead of doing the work; ``None``: do the work normally.
    delay_s : float
        Sleep this long before answering (to trip client deadlines).
    truncate_after : int or None
        Send only the first ``truncate_after`` bytes of the body.
    full_length_header : bool
        With ``truncate_after``: ``True`` declares the full ``Content-Length`` and closes the
        connection mid-body (the client sees a broken transfer); ``False`` declares the cut
        length (a complete HTTP answer whose JSON is cut short).
    retry_after : str or None
        ``Retry-After`` header to send (a 429 fault sends ``"1"`` when this is ``None``).
    headers : mapping
        Extra headers (e.g. ``{"X-Fal-Request-Timeout-Type": "user"}``).
    message : str or None
        Error message for ``status``.
    error_type : str or None
        fal ``error_type`` (default by status: 408/504 ``request_timeout``, 500/502
        ``runner_server_error``, 503 ``runner_unavailable``) or gateway ``type`` override.
    """

    status: int | None = None
    delay_s: float = 0.0
    truncate_after: int | None = None
    full_length_header: bool = True
    retry_after: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    message: str | None = None
    error_type: str | None = None

    def __post_init__(self) -> None:
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"Fault.status must be an HTTP status, got {self.status}")
        if not 0.0 <= self.delay_s <= 600.0:
            raise ValueError(f"Fault.delay_s must be in [0, 600], got {self.delay_s}")
        if self.truncate_after is not None and self.truncate_after < 0:
            raise ValueError(f"Fault.truncate_after must be >= 0, got {self.truncate_after}")


_FAULT_FIELDS = {"status", "delay_s", "truncate_after", "full_length_header", "retry_after",
                 "headers", "message", "error_type"}


def load_faults(obj: Any) -> dict[str, list[Fault]]:
    """Faults from JSON-like data: ``{"fal.run": [{"status": 503, "retry_after": "2"}, ...]}``.

    For a command line's ``--faults FILE``; keys are route names (``ROUTES``), values lists of
    :class:`Fault` fields. Raises ``ValueError`` naming the bad route, entry or field.
    """
    if not isinstance(obj, Mapping):
        raise ValueError("faults must be an object mapping route names to lists of faults")
    out: dict[str, list[Fault]] = {}
    for route, entries in obj.items():
        if route not in ROUTES:
            raise ValueError(f"unknown fault route {route!r}; known: {sorted(ROUTES)}")
        if not isinstance(entries, list):
            raise ValueError(f"faults[{route!r}] must be a list")
        out[route] = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping) or set(entry) - _FAULT_FIELDS:
                raise ValueError(f"faults[{route!r}][{i}] must be an object with fields from "
                                 f"{sorted(_FAULT_FIELDS)}")
            try:
                out[route].append(Fault(**entry))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"faults[{route!r}][{i}]: {exc}") from None
    return out


@dataclass
class ServerConfig:
    """Settings of the reference server (every field has a working default).

    Parameters
    ----------
    api_key : str or None
        Required key (``Bearer`` on the gateway, ``Key`` on fal); ``None``: no check.
    rate_limit : int or None
        Requests per ``rate_window_s`` per key on the work routes (generate, fal sync, fal
        submit); over it: 429 with ``Retry-After`` (seconds until the window ends, rounded
        up). ``None``: unlimited. Status and result polls are not counted.
    rate_window_s : float
        Length of the fixed rate-limit window.
    credits : int or None
        Work requests (that pass validation) allowed in all, then 402
        ``insufficient_credits``. ``None``: unlimited.
    faults : mapping of route name (see ``ROUTES``) to a list of :class:`Fault`
        Scripted answers, consumed in order by that route's next requests (more can be added
        while running with ``ServerState.inject``).
    queue_s, run_s : float
        How long a queued fal request or gateway job stays ``IN_QUEUE`` / ``queued`` and then
        ``IN_PROGRESS`` / ``in_progress`` (the work itself is done at submission).
    gateway_async : bool
        Answer every gateway generation with a 202 job.
    max_body_bytes : int
        Largest request body (413 above it).
    max_image_pixels : int
        Largest decoded image (height x width).
    max_prompts : int
        Largest number of point prompts and of box prompts.
    model : str
        The gateway model id (others: 404 ``not_found``).
    fal_app : str
        The fal application path (``fal-ai/sam-3``); its endpoint is ``{fal_app}/image-rle``.
    segmenter : Segmenter or None
        The backend; ``None``: ``ClassicalSegmenter()``.
    public_base_url : str or None
        Base of the URLs the server hands out (``url``, ``file_url``, ``status_url``...);
        ``None``: taken from each request's ``Host``.
    max_stored : int
        Outputs, jobs and queued requests kept in memory (oldest dropped first).
    apply_exif_orientation : bool
        Rotate images by their EXIF orientation before segmenting (off: masks follow the
        stored pixel grid).
    """

    api_key: str | None = None
    rate_limit: int | None = None
    rate_window_s: float = 60.0
    credits: int | None = None
    faults: Mapping[str, Sequence[Fault]] = field(default_factory=dict)
    queue_s: float = 0.0
    run_s: float = 0.0
    gateway_async: bool = False
    max_body_bytes: int = 16 * 1024 * 1024
    max_image_pixels: int = 4096 * 4096
    max_prompts: int = 64
    model: str = "meta/sam-3-image-rle"
    fal_app: str = "fal-ai/sam-3"
    segmenter: Segmenter | None = None
    public_base_url: str | None = None
    max_stored: int = 1024
    apply_exif_orientation: bool = False

    def __post_init__(self) -> None:
        unknown = sorted(set(self.faults) - set(ROUTES))
        if unknown:
            raise ValueError(f"unknown fault routes {unknown}; known: {sorted(ROUTES)}")
        if self.rate_limit is not None and self.rate_limit < 0:
            raise ValueError(f"rate_limit must be >= 0, got {self.rate_limit}")
        if self.rate_window_s <= 0:
            raise ValueError(f"rate_window_s must be > 0, got {self.rate_window_s}")
        if self.queue_s < 0 or self.run_s < 0:
            raise ValueError("queue_s and run_s must be >= 0")
        if self.max_body_bytes <= 0 or self.max_image_pixels <= 0 or self.max_stored <= 0:
            raise ValueError("max_body_bytes, max_image_pixels and max_stored must be > 0")


# -- errors -----------------------------------------------------------------------------------
class ApiError(Exception):
    """An error answer; rendered in the style of the route's protocol."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 param: str | None = None, detail: Any = None, error_type: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.detail = detail
        self.error_type = error_type
        self.headers = dict(headers or {})

    def body(self, family: Family) -> dict[str, Any]:
        if family == "gateway":
            kind = self.error_type or _GATEWAY_TYPES.get(
                self.status, "server_error" if self.status >= 500 else "invalid_request_error")
            return {"error": {"message": self.message, "type": kind,
                              "code": self.code or _GATEWAY_CODES.get(self.status),
                              "param": self.param}}
        out: dict[str, Any] = {"detail": self.detail if self.detail is not None else self.message}
        fal_kind = self.error_type or _FAL_ERROR_TYPES.get(self.status)
        if fal_kind is not None:
            out["error_type"] = fal_kind
        return out

    def response(self, family: Family) -> Response:
        return _json(self.body(family), self.status, self.headers)


def _json(content: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(content, separators=(",", ":"), allow_nan=False).encode(), status,
                    dict(headers or {}), media_type="application/json")


def _invalid(family: Family, field_name: str, message: str,
             kind: str = "value_error") -> ApiError:
    """A field error: 400 ``invalid_request_error`` on the gateway, 422 ``detail`` list on fal."""
    if family == "gateway":
        return ApiError(400, f"{field_name}: {message}", param=field_name)
    loc: list[Any] = ["body", *field_name.replace("]", "").replace("[", ".").split(".")]
    loc = [int(part) if isinstance(part, str) and part.isdigit() else part for part in loc]
    return ApiError(422, message, detail=[{"loc": loc, "msg": message, "type": kind}])


# -- state ------------------------------------------------------------------------------------
@dataclass
class _Job:
    id: str
    family: Family
    submitted: float          # time.monotonic()
    created: int              # unix seconds
    status: int               # HTTP status of the stored answer
    body: bytes               # the stored answer (fal: output or error body)
    error: dict[str, Any] | None = None
    output_id: str | None = None
    cancelled: bool = False


class ServerState:
    """Mutable state of one server: faults, rate windows, credits, stored answers, counters.

    Thread-safe: tests call :meth:`inject` and read :attr:`hits` from their own thread.
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.segmenter: Segmenter = config.segmenter or ClassicalSegmenter()
        self.credits = config.credits
        self.hits: Counter[str] = Counter()
        """Requests seen per route name (faulted ones included)."""
        self._lock = threading.Lock()
        self._faults: dict[str, deque[Fault]] = {r: deque(config.faults.get(r, ())) for r in ROUTES}
        self._windows: dict[str, tuple[float, int]] = {}
        self.outputs: OrderedDict[str, bytes] = OrderedDict()
        self.jobs: OrderedDict[str, _Job] = OrderedDict()

    def inject(self, route: str, *faults: Fault) -> None:
        """Queue ``faults`` for the next requests to ``route`` (a key of ``ROUTES``)."""
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; known: {sorted(ROUTES)}")
        with self._lock:
            self._faults[route].extend(faults)

    def next_fault(self, route: str) -> Fault | None:
        with self._lock:
            self.hits[route] += 1
            queue = self._faults[route]
            return queue.popleft() if queue else None

    def take_rate(self, key: str) -> float | None:
        """Count one request for ``key``; the seconds to wait when over the limit, else None."""
        limit = self.config.rate_limit
        if limit is None:
            return None
        now = time.monotonic()
        with self._lock:
            start, used = self._windows.get(key, (now, 0))
            if now - start >= self.config.rate_window_s:
                start, used = now, 0
            if used >= limit:
                return start + self.config.rate_window_s - now
            self._windows[key] = (start, used + 1)
            return None

    def take_credit(self) -> bool:
        with self._lock:
            if self.credits is None:
                return True
            if self.credits <= 0:
                return False
            self.credits -= 1
            return True

    def store_output(self, data: bytes) -> str:
        output_id = uuid.uuid4().hex
        with self._lock:
            self.outputs[output_id] = data
            while len(self.outputs) > self.config.max_stored:
                self.outputs.popitem(last=False)
        return output_id

    def add_job(self, job: _Job) -> None:
        with self._lock:
            self.jobs[job.id] = job
            while len(self.jobs) > self.config.max_stored:
                self.jobs.popitem(last=False)

    def job(self, job_id: str, family: Family) -> _Job:
        with self._lock:
            job = self.jobs.get(job_id)
        if job is None or job.family != family:
            if family == "gateway":
                raise ApiError(404, f"job {job_id!r} not found", code="job_not_found")
            raise ApiError(404, "Request not found")
        return job

    def stage(self, job: _Job) -> Literal["queued", "running", "done"]:
        if job.cancelled:
            return "done"
        elapsed = time.monotonic() - job.submitted
        if elapsed < self.config.queue_s:
            return "queued"
        if elapsed < self.config.queue_s + self.config.run_s:
            return "running"
        return "done"

    def queue_position(self, job: _Job) -> int:
        with self._lock:
            jobs = list(self.jobs.values())
        return sum(1 for other in jobs if other.family == job.family
                   and other.submitted < job.submitted and self.stage(other) == "queued")


def server_state(app: Starlette) -> ServerState:
    """The :class:`ServerState` of an app made by :func:`create_app`."""
    state = getattr(app.state, "turborle", None)
    if not isinstance(state, ServerState):
        raise TypeError("not an app made by turborle.gateway.server.create_app")
    return state


# -- request parsing --------------------------------------------------------------------------
def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def _read_json(request: Request, state: ServerState, family: Family) -> dict[str, Any]:
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
class _FalInput:
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
        raise _invalid(family, where, "must be a finite number", "float_type")
    return float(value)


def _flag(body: Mapping[str, Any], name: str, family: Family) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise _invalid(family, name, "must be a boolean", "bool_type")
    return value


def _prompt_list(body: Mapping[str, Any], name: str, family: Family,
                 limit: int) -> list[Mapping[str, Any]]:
    value = body.get(name, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise _invalid(family, name, "must be a list", "list_type")
    if len(value) > limit:
        raise _invalid(family, name, f"at most {limit} entries are accepted, got {len(value)}",
                       "too_long")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise _invalid(family, f"{name}[{i}]", "must be an object", "dict_type")
    return value


def _parse_fal(body: Mapping[str, Any], family: Family, state: ServerState) -> _FalInput:
    image_url = body.get("image_url")
    if image_url is None:
        raise _invalid(family, "image_url", "field required: this model segments an image",
                       "missing")
    if not isinstance(image_url, str) or not image_url:
        raise _invalid(family, "image_url", "must be a non-empty string", "string_type")
    prompt = body.get("prompt", "wheel")  # fal's default applies when the field is missing
    if not isinstance(prompt, str):
        raise _invalid(family, "prompt", "must be a string", "string_type")
    limit = state.config.max_prompts
    points: list[PointPrompt] = []
    for i, item in enumerate(_prompt_list(body, "point_prompts", family, limit)):
        where = f"point_prompts[{i}]"
        label = item.get("label", 1)
        if isinstance(label, bool) or label not in (0, 1):
            raise _invalid(family, f"{where}.label", "must be 1 (foreground) or 0 (background)")
        points.append(PointPrompt(_number(item.get("x"), family, f"{where}.x"),
                                  _number(item.get("y"), family, f"{where}.y"), int(label)))
    boxes: list[BoxPrompt] = []
    for i, item in enumerate(_prompt_list(body, "box_prompts", family, limit)):
        where = f"box_prompts[{i}]"
        box = BoxPrompt(*(_number(item.get(k), family, f"{where}.{k}")
                          for k in ("x_min", "y_min", "x_max", "y_max")))
        if not (box.x_min < box.x_max and box.y_min < box.y_max):
            raise _invalid(family, where, "needs x_min < x_max and y_min < y_max")
        boxes.append(box)
    max_masks = body.get("max_masks", 3)
    if isinstance(max_masks, bool) or not isinstance(max_masks, int) \
            or not 1 <= max_masks <= MAX_MASKS_LIMIT:
        raise _invalid(family, "max_masks", f"must be an integer in 1..{MAX_MASKS_LIMIT}")
    return _FalInput(image_url, prompt, tuple(points), tuple(boxes),
                     _flag(body, "return_multiple_masks", family), max_masks,
                     _flag(body, "include_scores", family), _flag(body, "include_boxes", family))


def _check_on_image(fal: _FalInput, height: int, width: int, family: Family) -> None:
    for i, p in enumerate(fal.points):
        if not (0 <= p.x < width and 0 <= p.y < height):
            raise _invalid(family, f"point_prompts[{i}]",
                           f"({p.x}, {p.y}) lies outside the {width}x{height} image")
    for i, b in enumerate(fal.boxes):
        if b.x_max <= 0 or b.y_max <= 0 or b.x_min >= width or b.y_min >= height:
            raise _invalid(family, f"box_prompts[{i}]",
                           f"does not overlap the {width}x{height} image")


# -- images -----------------------------------------------------------------------------------
def asset_bytes(name: str) -> bytes | None:
    """A bundled asset (``demo.png``), or None."""
    if "/" in name or "\\" in name or not name.endswith(".png"):
        return None
    resource = resources.files("turborle.gateway").joinpath("assets").joinpath(name)
    return resource.read_bytes() if resource.is_file() else None


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _image_bytes(url: str, family: Family) -> bytes:
    if url[:5].lower() == "data:":
        meta, comma, payload = url[5:].partition(",")
        if not comma:
            raise _invalid(family, "image_url", "malformed data: URI (no comma)", "image_load_error")
        params = [p.strip().lower() for p in meta.split(";")]
        if "base64" not in params[1:]:
            raise _invalid(family, "image_url", "data: URI must be base64-encoded (;base64,)",
                           "image_load_error")
        if params[0] and not (params[0].startswith("image/")
                              or params[0] == "application/octet-stream"):
            raise _invalid(family, "image_url", f"data: URI media type {params[0]!r} is not an "
                           "image", "image_load_error")
        try:
            return base64.b64decode("".join(payload.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _invalid(family, "image_url", f"data: URI payload is not valid base64: {exc}",
                           "image_load_error") from None
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and _is_loopback(parts.hostname) \
            and parts.path.startswith("/assets/"):
        data = asset_bytes(parts.path[len("/assets/"):])
        if data is not None:
            return data
        raise _invalid(family, "image_url", f"no bundled asset at {parts.path}", "image_load_error")
    raise _invalid(family, "image_url", "must be a data: URI or this server's /assets/ URL (the "
                   "local reference server fetches nothing from the network)", "image_load_error")


def _decode_image(data: bytes, state: ServerState, family: Family) -> np.ndarray[Any, Any]:
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > state.config.max_image_pixels:
                raise _invalid(family, "image_url", f"image of {width}x{height} exceeds the limit "
                               f"of {state.config.max_image_pixels} pixels", "image_too_large")
            if state.config.apply_exif_orientation:
                oriented = ImageOps.exif_transpose(image)
                return np.asarray(oriented.convert("RGB"), dtype=np.uint8)
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - untrusted bytes: every decoder failure is a 4xx
        raise _invalid(family, "image_url", f"image could not be decoded: "
                       f"{type(exc).__name__}: {exc}", "image_load_error") from None


# -- the work ---------------------------------------------------------------------------------
def _fal_output(segments: Sequence[Segment], height: int, width: int,
                fal: _FalInput) -> dict[str, Any]:
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


def _segment(state: ServerState, fal: _FalInput, family: Family) -> dict[str, Any] | None:
    """The fal output for ``fal``, or None when no mask was generated (blocking: run in a thread)."""
    image = _decode_image(_image_bytes(fal.image_url, family), state, family)
    height, width = image.shape[:2]
    _check_on_image(fal, height, width, family)
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
async def _gateway_generate(request: Request, state: ServerState) -> Response:
    key = _auth(request, state, "Bearer")
    _limit(state, key)
    body = await _read_json(request, state, "gateway")
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
    fal = _parse_fal(body, "gateway", state)
    _credit(state)
    base = _base_url(request, state)
    created = int(time.time())
    if run_async:
        job = _Job(uuid.uuid4().hex, "gateway", time.monotonic(), created, 200, b"")
        try:
            output = await run_in_threadpool(_segment, state, fal, "gateway")
        except ApiError as exc:
            output, job.status, job.error = None, exc.status, exc.body("gateway")["error"]
        if output is None and job.error is None:
            job.status = 422
            job.error = ApiError(422, NO_MASKS, code="no_masks_generated").body("gateway")["error"]
        if output is not None:
            job.output_id = state.store_output(_dumps(output))
        state.add_job(job)
        return _json(_job_object(job, state, base, model), 202)
    output = await run_in_threadpool(_segment, state, fal, "gateway")
    if output is None:
        raise ApiError(422, NO_MASKS, code="no_masks_generated")
    data = _dumps(output)
    if response_format == "b64_json":
        item = {"b64_json": base64.b64encode(data).decode("ascii")}
    else:
        item = {"url": f"{base}/v1/outputs/{state.store_output(data)}"}
    return _json({"created": created, "data": [item]})


def _dumps(output: Mapping[str, Any]) -> bytes:
    return json.dumps(output, separators=(",", ":"), allow_nan=False).encode()


def _job_object(job: _Job, state: ServerState, base: str, model: str) -> dict[str, Any]:
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


async def _gateway_job(request: Request, state: ServerState) -> Response:
    _auth(request, state, "Bearer")
    job = state.job(request.path_params["job_id"], "gateway")
    return _json(_job_object(job, state, _base_url(request, state), state.config.model))


async def _gateway_output(request: Request, state: ServerState) -> Response:
    output_id = request.path_params["output_id"]
    data = state.outputs.get(output_id)
    if data is None:
        raise ApiError(404, f"output {output_id!r} not found (expired or never made)",
                       code="output_not_found")
    return Response(data, 200, media_type="application/json")


# -- fal handlers -----------------------------------------------------------------------------
async def _fal_run(request: Request, state: ServerState) -> Response:
    key = _auth(request, state, "Key")
    _limit(state, key)
    body = await _read_json(request, state, "fal")
    fal = _parse_fal(body, "fal", state)
    _credit(state)
    output = await run_in_threadpool(_segment, state, fal, "fal")
    if output is None:
        raise ApiError(422, NO_MASKS)
    return _json(output, headers={"x-fal-request-id": uuid.uuid4().hex})


def _fal_urls(request: Request, state: ServerState, request_id: str) -> dict[str, str]:
    root = f"{_base_url(request, state)}/queue/{state.config.fal_app}/requests/{request_id}"
    return {"status_url": f"{root}/status", "response_url": root, "cancel_url": f"{root}/cancel"}


async def _fal_submit(request: Request, state: ServerState) -> Response:
    key = _auth(request, state, "Key")
    _limit(state, key)
    body = await _read_json(request, state, "fal")
    request_id = str(uuid.uuid4())
    job = _Job(request_id, "fal", time.monotonic(), int(time.time()), 200, b"")
    try:  # like fal, the queue accepts the request and reports its errors at the result
        fal = _parse_fal(body, "fal", state)
        _credit(state)
        output = await run_in_threadpool(_segment, state, fal, "fal")
        if output is None:
            raise ApiError(422, NO_MASKS)
        job.body = _dumps(output)
    except ApiError as exc:
        job.status, job.body = exc.status, _dumps(exc.body("fal"))
        job.error = exc.body("fal")
    state.add_job(job)
    position = state.queue_position(job) if state.stage(job) == "queued" else 0
    return _json({"request_id": request_id, **_fal_urls(request, state, request_id),
                  "queue_position": position}, headers={"x-fal-request-id": request_id})


async def _fal_status(request: Request, state: ServerState) -> Response:
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
    return _json(out, headers={"x-fal-request-id": job.id})


async def _fal_result(request: Request, state: ServerState) -> Response:
    _auth(request, state, "Key")
    job = state.job(request.path_params["request_id"], "fal")
    if state.stage(job) != "done":
        raise ApiError(400, "Request is still in progress")
    return Response(job.body, job.status, {"x-fal-request-id": job.id},
                    media_type="application/json")


async def _fal_cancel(request: Request, state: ServerState) -> Response:
    _auth(request, state, "Key")
    job = state.job(request.path_params["request_id"], "fal")
    if state.stage(job) != "queued":
        return _json({"status": "ALREADY_COMPLETED"}, 400)
    job.cancelled = True
    job.status = 400
    job.error = {"detail": "Request was cancelled", "error_type": "request_cancelled"}
    job.body = _dumps(job.error)
    return _json({"status": "CANCELLATION_REQUESTED"}, 202)


async def _fal_wrong_root(request: Request) -> Response:
    return _json({"detail": "Method Not Allowed: status and result live under the app root "
                  "(.../requests/{id}), not under /image-rle"}, 405)


# -- plumbing ---------------------------------------------------------------------------------
class _TruncatedResponse(Response):
    """Sends the first ``keep`` bytes of ``inner``'s body, then stops (see :class:`Fault`)."""

    def __init__(self, inner: Response, keep: int, full_length_header: bool) -> None:
        super().__init__(bytes(inner.body), inner.status_code)
        self.raw_headers = [(k, v) for k, v in inner.raw_headers if k != b"content-length"]
        self.keep = keep
        self.full_length_header = full_length_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = bytes(self.body)
        cut = body[:self.keep]
        declared = len(body) if self.full_length_header else len(cut)
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": [*self.raw_headers, (b"content-length", str(declared).encode())]})
        # A declared length longer than what is sent: leave the response unfinished, and the
        # server closes the connection mid-body.
        await send({"type": "http.response.body", "body": cut,
                    "more_body": len(cut) < declared})


Handler = Callable[[Request, "ServerState"], Awaitable[Response]]


def _endpoint(state: ServerState, route: str,
              handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    family = ROUTES[route]

    async def endpoint(request: Request) -> Response:
        fault = state.next_fault(route)
        if fault is not None and fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault is not None and fault.status is not None:
            headers = dict(fault.headers)
            if fault.retry_after is not None or fault.status == 429:
                headers["Retry-After"] = fault.retry_after or "1"
            message = fault.message or f"injected fault: HTTP {fault.status}"
            response = ApiError(fault.status, message, error_type=fault.error_type,
                                headers=headers).response(family)
        else:
            try:
                response = await handler(request, state)
            except ApiError as exc:
                response = exc.response(family)
            if fault is not None:
                response.headers.update(fault.headers)
                if fault.retry_after is not None:
                    response.headers["Retry-After"] = fault.retry_after
        response.headers["x-turborle-segmenter"] = state.segmenter.name
        if fault is not None and fault.truncate_after is not None:
            return _TruncatedResponse(response, fault.truncate_after, fault.full_length_header)
        return response

    return endpoint


def create_app(config: ServerConfig | None = None) -> Starlette:
    """The reference server as a Starlette app (routes in the module doc).

    The app's :class:`ServerState` is ``server_state(app)``.
    """
    config = config or ServerConfig()
    state = ServerState(config)
    app_path = "/" + config.fal_app.strip("/")
    queue = "/queue" + app_path

    async def index(request: Request) -> Response:
        return _json({
            "server": "turborle local reference server for SAM 3 image-rle protocols",
            "segmenter": state.segmenter.name,
            "model": config.model,
            "endpoints": {
                "gateway": "/v1/images/generations",
                "gateway_jobs": "/v1/jobs/{id}",
                "fal_sync": f"{app_path}/image-rle",
                "fal_queue_submit": f"{queue}/image-rle",
                "fal_queue_request": f"{queue}/requests/{{id}}",
                "demo_image": "/assets/demo.png",
            },
        }, headers={"x-turborle-segmenter": state.segmenter.name})

    async def asset(request: Request) -> Response:
        data = asset_bytes(request.path_params["name"])
        if data is None:
            return _json({"detail": "Not Found"}, 404)
        return Response(data, 200, media_type="image/png")

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        family: Family = "gateway" if request.url.path.startswith("/v1") else "fal"
        text = "Not Found" if status == 404 else "Method Not Allowed" if status == 405 \
            else "error"
        message = f"{text}: {request.method} {request.url.path}"
        headers = exc.headers if isinstance(exc, HTTPException) else None
        return ApiError(status, message, detail=text, headers=headers).response(family)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/assets/{name}", asset, methods=["GET"]),
        Route("/v1/images/generations", _endpoint(state, "gateway.generate", _gateway_generate),
              methods=["POST"]),
        Route("/v1/jobs/{job_id}", _endpoint(state, "gateway.job", _gateway_job),
              methods=["GET"]),
        Route("/v1/outputs/{output_id}", _endpoint(state, "gateway.output", _gateway_output),
              methods=["GET"]),
        Route(f"{app_path}/image-rle", _endpoint(state, "fal.run", _fal_run), methods=["POST"]),
        Route(f"{queue}/image-rle", _endpoint(state, "fal.submit", _fal_submit),
              methods=["POST"]),
        Route(f"{queue}/requests/{{request_id}}/status",
              _endpoint(state, "fal.status", _fal_status), methods=["GET"]),
        Route(f"{queue}/requests/{{request_id}}/cancel",
              _endpoint(state, "fal.cancel", _fal_cancel), methods=["PUT"]),
        Route(f"{queue}/requests/{{request_id}}", _endpoint(state, "fal.result", _fal_result),
              methods=["GET"]),
        Route(f"{queue}/image-rle/requests/{{rest:path}}", _fal_wrong_root,
              methods=["GET", "PUT", "POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={404: http_error, 405: http_error})
    app.state.turborle = state
    return app


# -- running it -------------------------------------------------------------------------------
def _check_host(host: str, config: ServerConfig) -> None:
    if not _is_loopback(host) and config.api_key is None:
        raise ValueError(f"refusing to serve on {host!r} without an API key: the reference "
                         "server is meant for 127.0.0.1 (set ServerConfig.api_key to expose it)")


def run_server(config: ServerConfig | None = None, host: str = "127.0.0.1", port: int = 8000,
               log_level: str = "info") -> None:
    """Serve until interrupted (blocking; what ``turborle serve`` runs)."""
    config = config or ServerConfig()
    _check_host(host, config)
    uvicorn.run(create_app(config), host=host, port=port, log_level=log_level, ws="none",
                lifespan="off")


@dataclass
class RunningServer:
    """A server running in a background thread (from :func:`start_server_thread`)."""

    base_url: str
    """``http://127.0.0.1:<port>``, no trailing slash."""
    state: ServerState
    app: Starlette
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def openai_base_url(self) -> str:
        """``{base_url}/v1``: the ``base_url`` of an OpenAI SDK client."""
        return f"{self.base_url}/v1"

    @property
    def fal_queue_url(self) -> str:
        """``{base_url}/queue``: the local stand-in for ``https://queue.fal.run``."""
        return f"{self.base_url}/queue"

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and join the thread (idempotent)."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server_thread(config: ServerConfig | None = None, host: str = "127.0.0.1",
                        port: int = 0, startup_timeout: float = 10.0,
                        log_level: str = "critical") -> RunningServer:
    """Start the server in a daemon thread; ``port=0`` picks a free port.

    Returns a :class:`RunningServer` (``base_url``, ``state``, ``stop()``; also a context
    manager). For tests: ``with start_server_thread(ServerConfig(api_key="k")) as srv: ...``.
    """
    config = config or ServerConfig()
    _check_host(host, config)
    app = create_app(config)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False,
                                           ws="none", lifespan="off", http="h11",
                                           timeout_graceful_shutdown=2))

    def serve() -> None:
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()

    thread = threading.Thread(target=serve, name=f"turborle-serve-{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(5.0)
            raise RuntimeError(f"the reference server did not start within {startup_timeout} s")
        time.sleep(0.01)
    shown = f"[{host}]" if ":" in host else host
    return RunningServer(f"http://{shown}:{bound_port}", server_state(app), app, server, thread)
