"""The sans-IO core of a call: its HTTP exchanges, the retry loop (written once) and the deadline.

A call is a generator. It yields :class:`Send` (make this one HTTP exchange) and :class:`Sleep`
(wait this long), and is sent back, for a ``Send``, the :class:`Response` or the exception the
exchange raised (an ``httpx.TransportError``, or a :class:`GatewayError` from reading the
body); its return value is the call's result. It makes no I/O and never sleeps:
:class:`~turborle.gateway.Gateway` and :class:`~turborle.gateway.AsyncGateway` each drive it
in a few lines, with ``httpx.Client`` and ``time.sleep`` or ``httpx.AsyncClient`` and
``anyio.sleep``.

Which answers are retried
-------------------------
- 401, 402, 403 and 404 never (each raises its own exception at once).
- 429 after ``Retry-After`` (at most ``max_retry_after`` seconds, else :class:`RateLimitError`
  at once), or after the backoff when the server gave no wait.
- 408 (the server did not receive the whole request) and 503 (the server refused the request
  before doing anything) for every request.
- 500, 502 and 504 for a ``GET``: it can be repeated at no cost.
- A ``POST`` (a generation, a fal call, a fal queue submission) starts billed work that a
  repeat would run, and bill, again. It is repeated after a 502 or 504 only when the answer
  carries no ``x-fal-request-id``: a gateway or load balancer in front of the application
  answered, so the application never had the request (the rule of fal's own client). It is
  **not** repeated after a 500 (the application failed while it held the request and may have
  done the work first; the aigateway documents its 500 as retryable, but a repeat may still
  bill twice), nor after a 502 or 504 that carries ``x-fal-request-id``: it raises
  :class:`ServerError` saying so, as after a read timeout on a ``POST``. Call again if paying
  twice is acceptable.
- A 504 marked ``X-Fal-Request-Timeout-Type: user`` never (the request's own start timeout
  ran out; it would again), nor 501 or any other 5xx.
- Transport failures: a connection that was never made (connect error or timeout, no free
  connection in the pool) is retried; after the request was sent (read timeout, dropped
  connection) only a ``GET`` is.

Retries wait ``min(backoff_max, backoff_base * 2**attempt)`` scaled by a random factor in
[0.5, 1] (at least the ``Retry-After`` a 5xx carries, bounded by ``max_retry_after``), at most
``max_retries`` times, and every exchange and wait stays inside the call's deadline.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import time
from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar, Union
from urllib.parse import urlsplit

import httpx

from turborle.gateway.answers import Response, error_message, is_no_masks
from turborle.gateway.errors import (
    AuthenticationError,
    BadRequestError,
    DeadlineExceededError,
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
    InsufficientCreditsError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
    UserTimeoutError,
)
from turborle.gateway.settings import KEY_ENV, Settings

log = logging.getLogger("turborle.gateway")

T = TypeVar("T")


@dataclass(frozen=True)
class Request:
    """A request as the protocol means it; :meth:`Call.request` makes it, with retries."""

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
class Sleep:
    """Step: wait ``seconds``, then send ``None``."""

    seconds: float


@dataclass(frozen=True)
class Send:
    """Step: make one HTTP exchange and send back its :class:`Response` (read with
    :meth:`receive`) or the exception it raised."""

    request: Request
    headers: dict[str, str]
    timeout: httpx.Timeout
    max_bytes: int
    deadline: Deadline

    @property
    def follow_redirects(self) -> bool:
        return self.request.method == "GET"

    def receive(self, status: int, headers: httpx.Headers) -> Body:
        """A collector for the answer's body (it refuses a declared length past the cap)."""
        return Body(self, status, headers)


class Body:
    """The body of one answer as the driver reads it: capped at ``max_bytes``, and stopped
    by the deadline between chunks."""

    def __init__(self, send: Send, status: int, headers: httpx.Headers) -> None:
        self.send, self.status, self.headers = send, status, headers
        self.data = bytearray()
        declared = _declared_length(headers)
        if declared is not None and declared > send.max_bytes:
            raise _too_large(send, declared)

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > self.send.max_bytes:
            raise _too_large(self.send, None)
        self.send.deadline.check(f"while reading the answer to the {self.send.request.purpose} "
                                 "request")

    def response(self, url: str) -> Response:
        return Response(self.status, self.headers, bytes(self.data), url)


Reply = Union[Response, httpx.TransportError, GatewayError, None]
Steps = Generator[Union[Send, Sleep], Reply, T]


def _declared_length(headers: httpx.Headers) -> int | None:
    try:
        return int(headers["content-length"])
    except (KeyError, ValueError):
        return None


def _too_large(send: Send, size: int | None) -> ResponseTooLargeError:
    got = "more" if size is None else f"{size}"
    return ResponseTooLargeError(f"the answer to the {send.request.purpose} request is {got} "
                                 f"bytes, past max_response_bytes={send.max_bytes}")


class Deadline:
    """The overall deadline of one call (``None``: none)."""

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
        """``base`` with every timeout cut to the time left."""
        left = self.remaining()
        if math.isinf(left):
            return base

        def clip(value: float | None) -> float:
            return max(0.001, left if value is None else min(value, left))

        return httpx.Timeout(connect=clip(base.connect), read=clip(base.read),
                             write=clip(base.write), pool=clip(base.pool))

    def wait(self, seconds: float, doing: str) -> float:
        """``seconds``, or raise when waiting that long would pass the deadline."""
        if seconds >= self.remaining():
            raise self.exceeded(f"{doing} (a wait of {seconds:.3g} s would pass it)")
        return seconds


class Call:
    """One call in progress: its settings, deadline, jitter and the provider's request id."""

    def __init__(self, settings: Settings, rng: random.Random) -> None:
        self.settings = settings
        self.rng = rng
        self.deadline = Deadline(settings.deadline)
        self.request_id: str | None = None

    def wait(self, seconds: float, doing: str) -> Steps[None]:
        """Wait ``seconds`` (inside the deadline)."""
        yield Sleep(self.deadline.wait(seconds, doing))

    def request(self, req: Request) -> Steps[Response]:
        """Make ``req``, retried as the module documentation says; the accepted answer."""
        s = self.settings
        attempt = 0
        while True:
            self.deadline.check(f"before the {req.purpose} request")
            reply = yield Send(req, {"Accept": "application/json, image/png, */*",
                                     **s.auth_headers(req.url)},
                               self.deadline.timeout(s.timeout), s.max_response_bytes,
                               self.deadline)
            if isinstance(reply, GatewayError):
                raise reply
            if isinstance(reply, httpx.TransportError):
                if self.deadline.remaining() <= 0:
                    raise self.deadline.exceeded(f"during the {req.purpose} request") from None
                delay = _transport_failure(req, reply, attempt, s, self.rng)
                why = type(reply).__name__
            else:
                assert isinstance(reply, Response)
                judged = _judge(req, reply, attempt, s, self.rng)
                if judged is None:
                    return reply
                delay, why = judged, f"HTTP {reply.status}"
            log.warning("%s to %s: %s; retry %d of %d in %.2f s", req.purpose,
                        urlsplit(req.url).hostname, why, attempt + 1, s.max_retries, delay)
            yield from self.wait(delay, f"waiting to retry the {req.purpose} request")
            attempt += 1


def run(call: Call, flow: Steps[T]) -> Steps[T]:
    """``flow``, with the call's request id attached to any :class:`GatewayError` it raises."""
    try:
        return (yield from flow)
    except GatewayError as exc:
        if exc.request_id is None:
            exc.request_id = call.request_id
        raise


# -- the retry policy -------------------------------------------------------------------------

_RETRY_STATUSES = frozenset({408, 500, 502, 503, 504})
_STATUS_ERRORS: dict[int, type[GatewayError]] = {
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
}


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


def _backoff(s: Settings, attempt: int, rng: random.Random) -> float:
    delay = min(s.backoff_max, s.backoff_base * (2.0 ** min(attempt, 32)))
    return delay * (0.5 + 0.5 * rng.random())  # jitter: half to all of the step


def _not_repeatable(req: Request, resp: Response) -> str | None:
    """Why a retryable status may still not be retried for ``req``; None when it may be."""
    if req.idempotent or resp.status in (408, 503):
        return None
    if resp.status == 500:
        return "the application failed while it held the POST, which may have run and be billed"
    if "x-fal-request-id" in resp.headers:
        return "fal's application answered (x-fal-request-id), so the POST may have run"
    return None  # 502 or 504 from the gateway in front: the application never had it


def _judge(req: Request, resp: Response, attempt: int, s: Settings,
           rng: random.Random) -> float | None:
    """None to accept the answer, a delay in seconds to retry it, or raise."""
    status = resp.status
    if status in req.accept or (req.no_masks_ok and is_no_masks(resp)):
        return None
    message = error_message(resp, s)
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
        refusal = _not_repeatable(req, resp)
        if refusal is not None:
            raise ServerError(f"{message}{where}; not retried: {refusal}", status_code=status,
                              request_id=rid)
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


def _transport_failure(req: Request, exc: httpx.TransportError, attempt: int,
                       s: Settings, rng: random.Random) -> float:
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
