"""Fetch SAM 3 masks from a hosted "image-rle" endpoint: :class:`Gateway`, :class:`AsyncGateway`.

Two providers speak the same model:

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

Failures: 401, 402, 403 and 404 raise their own exception classes at once; 429 waits
``Retry-After`` (at most ``max_retry_after`` seconds, else :class:`RateLimitError` at once)
and retries; 408, 500, 502, 503 and 504 retry with exponential backoff and jitter, except a
504 marked ``X-Fal-Request-Timeout-Type: user``. Connection failures are retried; a read
timeout or dropped connection after a ``POST`` was sent is not (a synchronous fal call is
billed even when the answer is lost). Every call runs under one overall ``deadline``. A 422
"No masks generated" is an empty result. Bodies are streamed and refused past
``max_response_bytes``; more than ``max_response_masks`` masks are refused; malformed RLE
raises :class:`InvalidResponseError` (a ``ValueError``) naming the mask.

The API key is sent only to the provider's own origin and never appears in an exception, a
log record or a ``repr`` (a server that echoes it back has it replaced by ``[redacted]``).
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
import logging
import math
import os
import random
import re
import time
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Generic, Literal, TypeVar, Union, cast
from urllib.parse import quote, urlsplit

import httpx
import numpy as np
import numpy.typing as npt

import turborle
from turborle import RLEBatch
from turborle.gateway.errors import (
    AuthenticationError,
    BadRequestError,
    DeadlineExceededError,
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
    InsufficientCreditsError,
    InvalidResponseError,
    JobFailedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
    UserTimeoutError,
)
from turborle.gateway.images import (
    PreparedImage,
    decode_mask_png,
    encoded_image_size,
    is_url,
    prepare_image,
)

__all__ = ["AsyncGateway", "Gateway", "Segmentation"]

_log = logging.getLogger("turborle.gateway")

Provider = Literal["aigateway", "fal"]
Point = Sequence[float]  # (x, y, label)
Box = Sequence[float]  # (x0, y0, x1, y1)

DEFAULT_BASE_URLS: dict[str, str] = {"aigateway": "https://api.aigateway.sh",
                                     "fal": "https://fal.run"}
DEFAULT_FAL_QUEUE_URL = "https://queue.fal.run"
DEFAULT_MODELS: dict[str, str] = {"aigateway": "meta/sam-3-image-rle",
                                  "fal": "fal-ai/sam-3/image-rle"}
KEY_ENV: dict[str, str] = {"aigateway": "AIGATEWAY_API_KEY", "fal": "FAL_KEY"}
DEFAULT_POLL_INTERVAL: dict[str, float] = {"aigateway": 3.0, "fal": 0.5}
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=60.0, pool=10.0)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_RETRY_STATUSES = frozenset({408, 500, 502, 503, 504})
_JOB_DONE = frozenset({"succeeded", "completed", "complete", "done", "success", "finished"})
_JOB_FAILED = frozenset({"failed", "error", "errored", "cancelled", "canceled", "expired"})
_NO_MASKS = "no masks generated"
_MAX_MESSAGE = 500


# -- results ------------------------------------------------------------------------------------

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


# -- settings -----------------------------------------------------------------------------------

class _Secret:
    """An API key that does not show itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("an API key is not pickled")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def _positive(name: str, value: float, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} "
                         f"finite number, got {value!r}")
    return float(value)


def _count(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


@dataclass(frozen=True)
class _Settings:
    provider: Provider
    base_url: str
    queue_url: str
    model: str
    key: _Secret | None
    timeout: httpx.Timeout
    deadline: float | None
    max_retries: int
    backoff_base: float
    backoff_max: float
    max_retry_after: float
    poll_interval: float
    max_response_bytes: int
    max_response_masks: int
    start_base: int
    response_format: str
    queue: bool

    def auth_headers(self, url: str) -> dict[str, str]:
        """The Authorization header, for the provider's own origins only."""
        if self.key is None:
            return {}
        if _origin(url) not in (_origin(self.base_url), _origin(self.queue_url)):
            return {}
        scheme = "Bearer" if self.provider == "aigateway" else "Key"
        return {"Authorization": f"{scheme} {self.key.reveal()}"}

    def redact(self, text: str) -> str:
        key = self.key.reveal() if self.key is not None else ""
        if len(key) >= 8:  # a real key: wherever it appears
            return text.replace(key, "[redacted]")
        if key:  # a short (test) key: only as a whole token, or every "k" in "No masks" goes
            return re.sub(rf"(?<![\w-]){re.escape(key)}(?![\w-])", "[redacted]", text)
        return text


def _settings(provider: str, api_key: str | None, base_url: str | None,
              queue_base_url: str | None, model: str | None, timeout: float | httpx.Timeout,
              deadline: float | None, max_retries: int, backoff_base: float, backoff_max: float,
              max_retry_after: float, poll_interval: float | None, max_response_bytes: int,
              max_response_masks: int, start_base: int, response_format: str,
              queue: bool) -> _Settings:
    if provider not in ("aigateway", "fal"):
        raise ValueError(f"provider must be 'aigateway' or 'fal', got {provider!r}")
    key = api_key if api_key is not None else os.environ.get(KEY_ENV[provider])
    if key is not None:
        if not isinstance(key, str):
            raise TypeError("api_key must be a str")
        if any(c.isspace() or not c.isprintable() for c in key):
            raise ValueError("the API key holds whitespace or control characters")  # not shown
    base = (base_url or DEFAULT_BASE_URLS[provider]).rstrip("/")
    if provider == "aigateway" and base.endswith("/v1"):
        base = base[:-3]  # accept the OpenAI SDK's base_url form
    if provider == "fal":
        # A custom base (the local reference server, a proxy) serves the queue under /queue.
        queue_base = (queue_base_url or (f"{base}/queue" if base_url else DEFAULT_FAL_QUEUE_URL)).rstrip("/")
    else:
        queue_base = base
    for url in (base, queue_base):
        if not is_url(url):
            raise ValueError(f"base URLs must be http(s) URLs, got {url!r}")
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        timeout = httpx.Timeout(_positive("timeout", timeout))
    if not isinstance(timeout, httpx.Timeout):
        raise TypeError("timeout must be a number of seconds or an httpx.Timeout")
    if response_format not in ("b64_json", "url"):
        raise ValueError(f"response_format must be 'b64_json' or 'url', got {response_format!r}")
    if isinstance(start_base, bool) or start_base not in (0, 1):
        raise ValueError(f"start_base must be 0 or 1, got {start_base!r}")
    return _Settings(
        provider=cast(Provider, provider),
        base_url=base,
        queue_url=queue_base,
        model=(model or DEFAULT_MODELS[provider]).strip("/"),
        key=_Secret(key) if key else None,
        timeout=timeout,
        deadline=None if deadline is None else _positive("deadline", deadline),
        max_retries=_count("max_retries", max_retries, 0),
        backoff_base=_positive("backoff_base", backoff_base, allow_zero=True),
        backoff_max=_positive("backoff_max", backoff_max, allow_zero=True),
        max_retry_after=_positive("max_retry_after", max_retry_after, allow_zero=True),
        poll_interval=_positive("poll_interval", DEFAULT_POLL_INTERVAL[provider]
                                if poll_interval is None else poll_interval, allow_zero=True),
        max_response_bytes=_count("max_response_bytes", max_response_bytes, 1),
        max_response_masks=_count("max_response_masks", max_response_masks, 0),
        start_base=start_base,
        response_format=response_format,
        queue=bool(queue),
    )


# -- the request's input ------------------------------------------------------------------------

def _number(value: Any, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return int(number) if number.is_integer() else number


def _fal_input(source: str, prompt: str | None, points: Iterable[Point] | None,
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
        body["max_masks"] = _count("max_masks", max_masks, 1)
    if extra:
        body.update(extra)
    return body


# -- the steps of a call: requests and waits, executed by the sync or async driver ---------------

@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    purpose: str
    json: Any = None
    accept: frozenset[int] = frozenset({200})
    no_masks_ok: bool = False  # a 422 "No masks generated" is answered, not raised

    @property
    def idempotent(self) -> bool:
        return self.method in ("GET", "HEAD", "PUT")


@dataclass(frozen=True)
class _Sleep:
    seconds: float
    purpose: str


@dataclass(frozen=True)
class _Response:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str

    @property
    def request_id(self) -> str | None:
        for name in ("x-fal-request-id", "x-request-id"):
            value = self.headers.get(name)
            if value:
                return _safe_id(value)
        return None


_Flow = Generator[Union[_Request, _Sleep], Union[_Response, None], Segmentation]


@dataclass
class _State:
    request_id: str | None = None


def _safe_id(value: Any) -> str | None:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        text = str(value)
        if 0 < len(text) <= 256 and text.isprintable():
            return text
    return None


class _Deadline:
    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float:
        return math.inf if self.end is None else self.end - time.monotonic()

    def exceeded(self, doing: str) -> DeadlineExceededError:
        return DeadlineExceededError(f"the deadline of {self.seconds:g} s ran out {doing}")

    def check(self, doing: str) -> None:
        if self.remaining() <= 0:
            raise self.exceeded(doing)

    def timeout(self, base: httpx.Timeout) -> httpx.Timeout:
        left = self.remaining()
        if math.isinf(left):
            return base

        def clip(value: float | None) -> float:
            return max(0.001, left if value is None else min(value, left))

        return httpx.Timeout(connect=clip(base.connect), read=clip(base.read),
                             write=clip(base.write), pool=clip(base.pool))

    def wait(self, seconds: float, doing: str) -> float:
        if seconds >= self.remaining():
            raise self.exceeded(f"{doing} (a wait of {seconds:.3g} s would pass it)")
        return seconds


# -- reading answers ----------------------------------------------------------------------------

def _text_message(body: bytes) -> str:
    return body[:_MAX_MESSAGE * 4].decode("utf-8", "replace").strip()


def _message_of(obj: Any) -> str | None:
    """The human message of an error object in the shapes the providers use."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, list):
        msgs = [m for m in (_message_of(item) for item in obj) if m]
        return "; ".join(msgs) if msgs else None
    if isinstance(obj, dict):
        for key in ("error", "detail", "message", "msg"):
            if key in obj and obj[key]:
                inner = _message_of(obj[key])
                if inner:
                    kind = obj.get("type") or obj.get("error_type") or obj.get("code")
                    if key == "msg" and obj.get("loc"):
                        inner = f"{inner} (at {'.'.join(map(str, obj['loc']))})"
                    if isinstance(kind, str) and kind and kind not in inner:
                        inner = f"{inner} [{kind}]"
                    return inner
    return None


def _error_message(resp: _Response, s: _Settings) -> str:
    try:
        message = _message_of(json.loads(resp.body))
    except (ValueError, RecursionError):
        message = None
    if not message:
        message = _text_message(resp.body) or httpx.codes.get_reason_phrase(resp.status) \
            or "no message"
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "..."
    return s.redact(message)


def _is_no_masks(resp: _Response) -> bool:
    return resp.status == 422 and _NO_MASKS in _text_message(resp.body).lower()


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _backoff(s: _Settings, attempt: int, rng: random.Random) -> float:
    delay = min(s.backoff_max, s.backoff_base * (2.0 ** min(attempt, 32)))
    return delay * (0.5 + 0.5 * rng.random())  # jitter: half to all of the step


_STATUS_ERRORS: dict[int, type[GatewayError]] = {
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
}


def _judge(req: _Request, resp: _Response, attempt: int, s: _Settings,
           rng: random.Random) -> float | None:
    """None to accept the answer, a delay in seconds to retry it, or raise."""
    status = resp.status
    if status in req.accept or (req.no_masks_ok and _is_no_masks(resp)):
        return None
    message = _error_message(resp, s)
    rid = resp.request_id
    where = f" ({req.purpose})"
    if status in _STATUS_ERRORS:
        if status == 401 and s.key is None:
            message += f" (no API key was given: set {KEY_ENV[s.provider]} or pass api_key=)"
        raise _STATUS_ERRORS[status](message + where, status_code=status, request_id=rid)
    retry_after = _retry_after(resp.headers)
    if status == 429:
        if retry_after is not None and retry_after > s.max_retry_after:
            raise RateLimitError(f"{message}{where}: Retry-After {retry_after:g} s is more than "
                                 f"max_retry_after={s.max_retry_after:g} s", status_code=status,
                                 request_id=rid, retry_after=retry_after)
        if attempt >= s.max_retries:
            raise RateLimitError(f"{message}{where} (after {attempt + 1} attempts)",
                                 status_code=status, request_id=rid, retry_after=retry_after)
        return retry_after if retry_after is not None else _backoff(s, attempt, rng)
    if status == 504 and resp.headers.get("x-fal-request-timeout-type", "").lower() == "user":
        raise UserTimeoutError(message + where, status_code=status, request_id=rid)
    if status in _RETRY_STATUSES:
        if attempt >= s.max_retries:
            kind: type[GatewayError] = GatewayTimeoutError if status == 408 else ServerError
            raise kind(f"{message}{where} (after {attempt + 1} attempts)", status_code=status,
                       request_id=rid)
        delay = _backoff(s, attempt, rng)
        if retry_after is not None:
            delay = max(delay, min(retry_after, s.max_retry_after))
        return delay
    if 400 <= status < 500:
        raise BadRequestError(message + where, status_code=status, request_id=rid)
    if status >= 500:
        raise ServerError(message + where, status_code=status, request_id=rid)
    raise InvalidResponseError(f"unexpected HTTP {status}{where}", status_code=status,
                               request_id=rid)


def _transport_failure(req: _Request, exc: httpx.TransportError, attempt: int,
                       s: _Settings, rng: random.Random) -> float:
    """The delay before retrying after a transport error, or raise."""
    not_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    detail = f"{type(exc).__name__}: {s.redact(str(exc)) or 'no detail'} ({req.purpose})"
    kind: type[GatewayError] = (GatewayTimeoutError if isinstance(exc, httpx.TimeoutException)
                                else GatewayConnectionError)
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)):
        raise kind(detail)
    if not (not_sent or req.idempotent):
        raise kind(detail + "; not retried: the request was sent and a POST is not repeated")
    if attempt >= s.max_retries:
        raise kind(f"{detail} (after {attempt + 1} attempts)")
    return _backoff(s, attempt, rng)


def _json(resp: _Response, what: str) -> Any:
    try:
        return json.loads(resp.body)
    except (ValueError, RecursionError):
        raise InvalidResponseError(f"{what} is not JSON: {_text_message(resp.body)[:80]!r}",
                                   status_code=resp.status, request_id=resp.request_id) from None


def _declared_length(headers: httpx.Headers) -> int | None:
    try:
        return int(headers["content-length"])
    except (KeyError, ValueError):
        return None


def _too_large(s: _Settings, req: _Request, size: int | None) -> ResponseTooLargeError:
    got = "more" if size is None else f"{size}"
    return ResponseTooLargeError(f"the answer to the {req.purpose} request is {got} bytes, past "
                                 f"max_response_bytes={s.max_response_bytes}")


# -- parsing masks ------------------------------------------------------------------------------

@dataclass
class _Part:
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


def _fal_part(obj: dict[str, Any], height: int, width: int) -> _Part:
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
    return _Part(
        kind="coco" if kinds == {"coco"} else "fal",
        items=texts,
        scores=None if scores is None else _floats(scores, "score", n),
        boxes=None if boxes is None else _fal_boxes(boxes, n, height, width),
    )


def _is_coco(obj: Any) -> bool:
    return isinstance(obj, dict) and "size" in obj and "counts" in obj


def _annotations_part(annotations: list[Any]) -> _Part:
    """COCO results: [{"segmentation": {size, counts}, "score"?, "bbox"? (pixel xywh)}]."""
    segs, scores, boxes = [], [], []
    for i, ann in enumerate(annotations):
        if not isinstance(ann, dict) or not _is_coco(ann.get("segmentation")):
            raise InvalidResponseError(f"mask {i}: an annotation needs a COCO RLE 'segmentation'")
        segs.append(ann["segmentation"])
        scores.append(ann.get("score"))
        boxes.append(ann.get("bbox"))
    part = _Part("coco", segs)
    if segs and all(v is not None for v in scores):
        part.scores = _floats(scores, "score", len(segs))
    if segs and all(v is not None for v in boxes):
        xywh = _box_array(boxes, "bbox", len(segs))
        part.boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
    return part


def _json_part(obj: Any, height: int, width: int) -> _Part:
    """The masks of a JSON payload: fal output, COCO dict(s), or COCO annotations."""
    if isinstance(obj, dict):
        if "rle" in obj:
            return _fal_part(obj, height, width)
        if _is_coco(obj):
            return _Part("coco", [obj])
        for key in ("masks", "annotations", "segmentations"):
            if key in obj:
                inner = obj[key]
                part = _json_part(inner if isinstance(inner, list) else [inner], height, width)
                if part.scores is None and isinstance(obj.get("scores"), list):
                    part.scores = _floats(obj["scores"], "score", len(part.items))
                return part
        keys = sorted(map(str, obj))[:8]
        raise InvalidResponseError(f"no masks in the JSON payload (keys {keys}): expected fal "
                                   "'rle', COCO 'size'/'counts', 'masks' or 'annotations'")
    if isinstance(obj, list):
        if all(isinstance(item, str) for item in obj):
            return _Part("fal", obj)
        if all(_is_coco(item) for item in obj):
            return _Part("coco", obj)
        if all(isinstance(item, dict) and "segmentation" in item for item in obj):
            return _annotations_part(obj)
        raise InvalidResponseError("a JSON list of masks must hold fal strings, COCO dicts or "
                                   "COCO annotations, one kind only")
    raise InvalidResponseError(f"no masks in a JSON {type(obj).__name__}")


def _sniff(data: bytes, height: int, width: int, what: str) -> _Part:
    """The masks in a payload whose format is not announced: PNG, JSON or bare fal text."""
    if data.startswith(_PNG_SIGNATURE):
        try:
            return _Part("png", [decode_mask_png(data, height, width, what)])
        except ValueError as exc:
            raise InvalidResponseError(str(exc)) from None
    head = data.lstrip()[:1]
    if head in (b"{", b"["):
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError):
            raise InvalidResponseError(f"{what} looks like JSON but does not parse") from None
        return _json_part(obj, height, width)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = None
    if text is not None and text.strip() and all(c.isdigit() or c.isspace() for c in text):
        return _Part("fal", [text])
    raise InvalidResponseError(f"{what} is neither a PNG mask, JSON nor fal RLE text "
                               f"(starts {data[:16]!r})")


_MASK_INDEX = re.compile(r"^mask (\d+)")


def _parse_part(part: _Part, offset: int, height: int, width: int, s: _Settings) -> RLEBatch:
    try:
        if part.kind == "fal":
            batch = turborle.from_fal(part.items, height, width, start_base=s.start_base)
        elif part.kind == "coco":
            batch = turborle.from_coco(part.items)
            for i in range(len(batch)):
                size = (int(batch.heights[i]), int(batch.widths[i]))
                if size != (height, width):
                    raise ValueError(f"mask {i}: size {size[0]}x{size[1]} (HxW) is not the "
                                     f"size of the image sent, {height}x{width}")
        else:
            batch = turborle.encode(np.stack(part.items))
    except (ValueError, TypeError) as exc:
        message = _MASK_INDEX.sub(lambda m: f"mask {int(m.group(1)) + offset}", str(exc))
        raise InvalidResponseError(f"malformed {part.kind} RLE in the answer: {message}") \
            from None
    return batch


def _segmentation(parts: list[_Part], height: int, width: int, s: _Settings, raw: Any,
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


# -- the protocol, written once as a generator of steps -----------------------------------------

def _payload_sources(obj: Any) -> list[Any]:
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


def _data_uri_bytes(uri: str, what: str) -> bytes:
    header, sep, payload = uri.partition(",")
    if not sep:
        raise InvalidResponseError(f"{what}: a data: URI without ','")
    if header.lower().endswith(";base64"):
        return _b64(payload, what)
    from urllib.parse import unquote_to_bytes

    return unquote_to_bytes(payload)


def _empty(height: int, width: int, raw: Any, request_id: str | None) -> Segmentation:
    return Segmentation(masks=turborle.concat([]), scores=np.zeros(0, dtype=np.float64),
                        boxes=np.zeros((0, 4), dtype=np.float64), request_id=request_id,
                        raw=raw, height=height, width=width, dialect="none")


def _failure_message(obj: dict[str, Any], s: _Settings) -> str:
    return s.redact((_message_of(obj) or "no message")[:_MAX_MESSAGE])


def _same_origin(url: Any, base: str, what: str) -> str:
    if not isinstance(url, str) or not is_url(url):
        raise InvalidResponseError(f"{what} is not an http(s) URL")
    if _origin(url) != _origin(base):
        raise InvalidResponseError(f"{what} points to another origin than {base}: the API key "
                                   "is not sent there")
    return url


def _flow(s: _Settings, image: PreparedImage, fal_input: dict[str, Any], state: _State) -> _Flow:
    height, width = image.height, image.width
    if height is None or width is None:
        resp = yield _Request("GET", image.source, "image download")
        assert resp is not None
        try:
            height, width = encoded_image_size(resp.body)
        except ValueError as exc:
            raise ValueError(f"{exc} (downloaded to learn its size)") from None
    if s.provider == "aigateway":
        return (yield from _aigateway_flow(s, fal_input, height, width, state))
    return (yield from _fal_flow(s, fal_input, height, width, state))


def _fetch_payloads(sources: list[Any], height: int, width: int) -> Generator[
        Union[_Request, _Sleep], Union[_Response, None], list[_Part]]:
    parts = []
    for i, source in enumerate(sources):
        what = f"payload {i}"
        if isinstance(source, bytes):
            parts.append(_sniff(source, height, width, what))
        elif isinstance(source, str) and source[:5].lower() == "data:":
            parts.append(_sniff(_data_uri_bytes(source, what), height, width, what))
        elif isinstance(source, str):
            if not is_url(source):
                raise InvalidResponseError(f"{what}: {source[:60]!r} is not an http(s) URL")
            resp = yield _Request("GET", source, "mask download")
            assert resp is not None
            parts.append(_sniff(resp.body, height, width, what))
        else:
            parts.append(_json_part(source, height, width))
    return parts


def _aigateway_flow(s: _Settings, fal_input: dict[str, Any], height: int, width: int,
                    state: _State) -> _Flow:
    body = {"model": s.model, "prompt": fal_input["prompt"], "n": 1, "size": f"{width}x{height}",
            "response_format": s.response_format, **fal_input}
    resp = yield _Request("POST", f"{s.base_url}/v1/images/generations", "generation", body,
                          accept=frozenset({200, 201, 202}), no_masks_ok=True)
    assert resp is not None
    state.request_id = resp.request_id
    if resp.status == 422:
        return _empty(height, width, _json_or_text(resp), state.request_id)
    obj = _json(resp, "the gateway's answer")
    if resp.status == 202 or (isinstance(obj, dict) and obj.get("object") == "job"):
        if not isinstance(obj, dict) or _safe_id(obj.get("id")) is None:
            raise InvalidResponseError("an asynchronous job answer needs an 'id'")
        job_id = cast(str, _safe_id(obj["id"]))
        state.request_id = job_id
        _log.info("aigateway job %s queued", job_id)
        while True:
            yield _Sleep(s.poll_interval, f"waiting for job {job_id}")
            poll = yield _Request("GET", f"{s.base_url}/v1/jobs/{quote(job_id, safe='')}",
                                  "job status", accept=frozenset({200, 202}))
            assert poll is not None
            obj = _json(poll, "the job status")
            if not isinstance(obj, dict):
                raise InvalidResponseError("the job status is not an object")
            status = str(obj.get("status", "")).lower()
            _log.debug("aigateway job %s: %s", job_id, status)
            if status in _JOB_DONE:
                break
            if status in _JOB_FAILED:
                message = _failure_message(obj, s)
                if _NO_MASKS in message.lower():
                    return _empty(height, width, obj, job_id)
                raise JobFailedError(f"job {status}: {message}", request_id=job_id)
        result = obj.get("result")
        if result is None:
            raise InvalidResponseError("the finished job has no 'result'")
        sources = _payload_sources(result)
    else:
        sources = _payload_sources(obj)
    parts = yield from _fetch_payloads(sources, height, width)
    return _segmentation(parts, height, width, s, obj, state.request_id)


def _json_or_text(resp: _Response) -> Any:
    try:
        return json.loads(resp.body)
    except (ValueError, RecursionError):
        return _text_message(resp.body)


def _fal_flow(s: _Settings, fal_input: dict[str, Any], height: int, width: int,
              state: _State) -> _Flow:
    if not s.queue:
        resp = yield _Request("POST", f"{s.base_url}/{s.model}", "fal request", fal_input,
                              no_masks_ok=True)
        assert resp is not None
        state.request_id = resp.request_id
        if resp.status == 422:
            return _empty(height, width, _json_or_text(resp), state.request_id)
        obj = _json(resp, "fal's answer")
        return _segmentation([_json_part(obj, height, width)], height, width, s, obj,
                             state.request_id)
    submit = yield _Request("POST", f"{s.queue_url}/{s.model}", "fal queue submit", fal_input,
                            accept=frozenset({200, 201, 202}))
    assert submit is not None
    sub = _json(submit, "fal's queue answer")
    if not isinstance(sub, dict) or _safe_id(sub.get("request_id")) is None:
        raise InvalidResponseError("fal's queue answer has no 'request_id'")
    rid = cast(str, _safe_id(sub["request_id"]))
    state.request_id = rid
    _log.info("fal request %s queued", rid)
    root = "/".join(s.model.split("/")[:2])  # status and result live under the app's root
    fallback = f"{s.queue_url}/{root}/requests/{quote(rid, safe='')}"
    status_url = _same_origin(sub.get("status_url", fallback + "/status"), s.queue_url,
                              "status_url")
    response_url = _same_origin(sub.get("response_url", fallback), s.queue_url, "response_url")
    while True:
        poll = yield _Request("GET", status_url, "fal queue status", accept=frozenset({200, 202}))
        assert poll is not None
        obj = _json(poll, "fal's queue status")
        status = obj.get("status") if isinstance(obj, dict) else None
        _log.debug("fal request %s: %s", rid, status)
        if status == "COMPLETED":
            if obj.get("error"):
                message = _failure_message(obj, s)
                if _NO_MASKS in message.lower():
                    return _empty(height, width, obj, rid)
                raise JobFailedError(f"fal request failed: {message}", request_id=rid)
            break
        if status not in ("IN_QUEUE", "IN_PROGRESS"):
            raise InvalidResponseError(f"unknown fal queue status {str(status)[:40]!r}",
                                       request_id=rid)
        yield _Sleep(s.poll_interval, f"waiting for fal request {rid}")
    resp = yield _Request("GET", response_url, "fal queue result", no_masks_ok=True)
    assert resp is not None
    if resp.status == 422:
        return _empty(height, width, _json_or_text(resp), rid)
    obj = _json(resp, "fal's result")
    return _segmentation([_json_part(obj, height, width)], height, width, s, obj, rid)


# -- the clients --------------------------------------------------------------------------------

_ClientT = TypeVar("_ClientT", httpx.Client, httpx.AsyncClient)


class _Base(Generic[_ClientT]):
    """Settings and argument handling shared by :class:`Gateway` and :class:`AsyncGateway`."""

    _settings: _Settings
    _client: _ClientT

    def __init__(
        self,
        provider: Provider = "aigateway",
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 4,
        deadline: float | None = 300.0,
        model: str | None = None,
        queue: bool = False,
        queue_base_url: str | None = None,
        poll_interval: float | None = None,
        backoff_base: float = 0.5,
        backoff_max: float = 20.0,
        max_retry_after: float = 60.0,
        max_response_bytes: int = 64 << 20,
        max_response_masks: int = 1024,
        start_base: int = 1,
        response_format: Literal["b64_json", "url"] = "b64_json",
        seed: int | None = None,
        http_client: _ClientT | None = None,
    ) -> None:
        self._settings = _settings(
            provider, api_key, base_url, queue_base_url, model, timeout, deadline, max_retries,
            backoff_base, backoff_max, max_retry_after, poll_interval, max_response_bytes,
            max_response_masks, start_base, response_format, queue)
        self._rng = random.Random(seed)
        self._owns_client = http_client is None
        self._client = http_client if http_client is not None else self._new_client()

    def _new_client(self) -> _ClientT:
        raise NotImplementedError

    @property
    def provider(self) -> Provider:
        return self._settings.provider

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    def __repr__(self) -> str:
        s = self._settings
        key = "set" if s.key is not None else "missing"
        queue = ", queue=True" if s.queue else ""
        return (f"{type(self).__name__}(provider={s.provider!r}, base_url={s.base_url!r}, "
                f"model={s.model!r}{queue}, api_key=<{key}>)")

    def __reduce__(self) -> Any:
        raise TypeError(f"a {type(self).__name__} holds an API key and is not pickled")

    def _start(self, image: PreparedImage, prompt: str | None, points: Iterable[Point] | None,
               boxes: Iterable[Box] | None, max_masks: int | None,
               extra: Mapping[str, Any] | None) -> tuple[_Flow, _State]:
        fal_input = _fal_input(image.source, prompt, points, boxes, max_masks, extra)
        state = _State()
        return _flow(self._settings, image, fal_input, state), state

    def _headers(self, req: _Request) -> dict[str, str]:
        accept = {"Accept": "application/json, image/png, */*"}
        return {**accept, **self._settings.auth_headers(req.url)}

    def _log_retry(self, req: _Request, why: str, attempt: int, delay: float) -> None:
        host = urlsplit(req.url).hostname
        _log.warning("%s to %s: %s; retry %d of %d in %.2f s", req.purpose, host, why,
                     attempt + 1, self._settings.max_retries, delay)


def _check_declared(s: _Settings, req: _Request, headers: httpx.Headers) -> None:
    declared = _declared_length(headers)
    if declared is not None and declared > s.max_response_bytes:
        raise _too_large(s, req, declared)


def _attach(exc: GatewayError, state: _State) -> None:
    if exc.request_id is None:
        exc.request_id = state.request_id


def _wrap_value(flow_result: Any) -> Segmentation:
    assert isinstance(flow_result, Segmentation)
    return flow_result


class Gateway(_Base[httpx.Client]):
    """A synchronous client of a hosted SAM 3 image-RLE endpoint.

    Parameters
    ----------
    provider : {"aigateway", "fal"}
    api_key : str, optional
        Defaults to ``AIGATEWAY_API_KEY`` or ``FAL_KEY``. Without one no ``Authorization``
        header is sent (for a local server).
    base_url : str, optional
        ``https://api.aigateway.sh`` (a trailing ``/v1`` is accepted) or ``https://fal.run``.
    timeout : float or httpx.Timeout
        Per-operation timeouts of each HTTP exchange (connect, write, read, pool).
    max_retries : int
        Retries after a 429, 408, 500, 502, 503, 504 or a connection failure.
    deadline : float or None
        Seconds one :meth:`segment` call may take in all, retries and polling included.
    model : str, optional
        The gateway's model slug or fal's app path.
    queue : bool
        fal only: use the queue (submit, poll, fetch) instead of the synchronous call.
    queue_base_url : str, optional
        fal's queue origin (``https://queue.fal.run``; ``{base_url}/queue`` when ``base_url`` is
        given, the layout of ``turborle serve``).
    poll_interval : float, optional
        Seconds between job status polls (3 s for aigateway, 0.5 s for fal).
    backoff_base, backoff_max : float
        Exponential backoff: ``min(backoff_max, backoff_base * 2**attempt)`` scaled by a
        random factor in [0.5, 1].
    max_retry_after : float
        The longest ``Retry-After`` honoured; a longer one raises :class:`RateLimitError`.
    max_response_bytes : int
        Largest answer body read (decompressed); a larger one raises
        :class:`ResponseTooLargeError` without being read to its end.
    max_response_masks : int
        Most masks accepted in one answer.
    start_base : {1, 0}
        First pixel index of fal's ``start length`` text.
    response_format : {"b64_json", "url"}
        aigateway only: ask for the masks inline or behind a URL.
    seed : int, optional
        Seed of the backoff jitter.
    http_client : httpx.Client, optional
        A client to use (it is not closed by :meth:`close`).
    """

    def _new_client(self) -> httpx.Client:
        return httpx.Client()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client (when this gateway created it)."""
        if self._owns_client:
            self._client.close()

    def segment(
        self,
        image: Any,
        prompt: str | None = None,
        points: Iterable[Point] | None = None,
        boxes: Iterable[Box] | None = None,
        max_masks: int | None = None,
        *,
        size: tuple[int, int] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Segmentation:
        """Segment ``image`` and return its masks.

        Parameters
        ----------
        image : path, bytes, PIL image, numpy uint8 array, or http(s) URL
            Sent as a ``data:`` URI, or as the URL (see :mod:`turborle.gateway.images`).
        prompt : str, optional
            A text concept. With only points or boxes an explicit empty prompt is sent.
        points : iterable of (x, y, label)
            Pixel coordinates; label 1 is foreground, 0 background.
        boxes : iterable of (x0, y0, x1, y1)
            Pixel boxes.
        max_masks : int, optional
            Ask for up to this many masks (``return_multiple_masks``).
        size : (height, width), optional
            The size of an image given as a URL; without it the image is downloaded once
            to read its size.
        extra : mapping, optional
            More input fields, sent as they are.

        Raises
        ------
        GatewayError
            One of its subclasses; see :mod:`turborle.gateway.errors`.
        """
        prepared = prepare_image(image, size)
        flow, state = self._start(prepared, prompt, points, boxes, max_masks, extra)
        return self._drive(flow, state)

    def _drive(self, flow: _Flow, state: _State) -> Segmentation:
        deadline = _Deadline(self._settings.deadline)
        try:
            step = next(flow)
            while True:
                if isinstance(step, _Sleep):
                    time.sleep(deadline.wait(step.seconds, step.purpose))
                    step = flow.send(None)
                else:
                    step = flow.send(self._execute(step, deadline))
        except StopIteration as stop:
            return _wrap_value(stop.value)
        except GatewayError as exc:
            _attach(exc, state)
            raise
        finally:
            flow.close()

    def _execute(self, req: _Request, deadline: _Deadline) -> _Response:
        s = self._settings
        attempt = 0
        while True:
            deadline.check(f"before the {req.purpose} request")
            try:
                resp = self._exchange(req, deadline)
            except httpx.TransportError as exc:
                if deadline.remaining() <= 0:
                    raise deadline.exceeded(f"during the {req.purpose} request") from None
                delay = _transport_failure(req, exc, attempt, s, self._rng)
                why = type(exc).__name__
            else:
                judged = _judge(req, resp, attempt, s, self._rng)
                if judged is None:
                    return resp
                delay, why = judged, f"HTTP {resp.status}"
            self._log_retry(req, why, attempt, delay)
            time.sleep(deadline.wait(delay, f"waiting to retry the {req.purpose} request"))
            attempt += 1

    def _exchange(self, req: _Request, deadline: _Deadline) -> _Response:
        s = self._settings
        with self._client.stream(req.method, req.url, json=req.json, headers=self._headers(req),
                                 timeout=deadline.timeout(s.timeout),
                                 follow_redirects=req.method == "GET") as r:
            _check_declared(s, req, r.headers)
            body = bytearray()
            for chunk in r.iter_bytes():
                body += chunk
                if len(body) > s.max_response_bytes:
                    raise _too_large(s, req, None)
                deadline.check(f"while reading the answer to the {req.purpose} request")
            return _Response(r.status_code, r.headers, bytes(body), str(r.url))


class AsyncGateway(_Base[httpx.AsyncClient]):
    """The asynchronous twin of :class:`Gateway` (same parameters, on ``httpx.AsyncClient``;
    asyncio or trio). Image encoding runs in a worker thread."""

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient()

    async def __aenter__(self) -> AsyncGateway:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client (when this gateway created it)."""
        if self._owns_client:
            await self._client.aclose()

    async def segment(
        self,
        image: Any,
        prompt: str | None = None,
        points: Iterable[Point] | None = None,
        boxes: Iterable[Box] | None = None,
        max_masks: int | None = None,
        *,
        size: tuple[int, int] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Segmentation:
        """Segment ``image``; see :meth:`Gateway.segment`."""
        import anyio.to_thread

        prepared = await anyio.to_thread.run_sync(prepare_image, image, size)
        flow, state = self._start(prepared, prompt, points, boxes, max_masks, extra)
        return await self._drive(flow, state)

    async def _drive(self, flow: _Flow, state: _State) -> Segmentation:
        import anyio

        deadline = _Deadline(self._settings.deadline)
        try:
            step = next(flow)
            while True:
                if isinstance(step, _Sleep):
                    await anyio.sleep(deadline.wait(step.seconds, step.purpose))
                    step = flow.send(None)
                else:
                    step = flow.send(await self._execute(step, deadline))
        except StopIteration as stop:
            return _wrap_value(stop.value)
        except GatewayError as exc:
            _attach(exc, state)
            raise
        finally:
            flow.close()

    async def _execute(self, req: _Request, deadline: _Deadline) -> _Response:
        import anyio

        s = self._settings
        attempt = 0
        while True:
            deadline.check(f"before the {req.purpose} request")
            try:
                resp = await self._exchange(req, deadline)
            except httpx.TransportError as exc:
                if deadline.remaining() <= 0:
                    raise deadline.exceeded(f"during the {req.purpose} request") from None
                delay = _transport_failure(req, exc, attempt, s, self._rng)
                why = type(exc).__name__
            else:
                judged = _judge(req, resp, attempt, s, self._rng)
                if judged is None:
                    return resp
                delay, why = judged, f"HTTP {resp.status}"
            self._log_retry(req, why, attempt, delay)
            await anyio.sleep(deadline.wait(delay, f"waiting to retry the {req.purpose} request"))
            attempt += 1

    async def _exchange(self, req: _Request, deadline: _Deadline) -> _Response:
        s = self._settings
        async with self._client.stream(req.method, req.url, json=req.json,
                                       headers=self._headers(req),
                                       timeout=deadline.timeout(s.timeout),
                                       follow_redirects=req.method == "GET") as r:
            _check_declared(s, req, r.headers)
            body = bytearray()
            async for chunk in r.aiter_bytes():
                body += chunk
                if len(body) > s.max_response_bytes:
                    raise _too_large(s, req, None)
                deadline.check(f"while reading the answer to the {req.purpose} request")
            return _Response(r.status_code, r.headers, bytes(body), str(r.url))

