"""HTTP answers as the client keeps them, and what it reads from them: JSON, error messages,
request ids."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from turborle.gateway.errors import InvalidResponseError
from turborle.gateway.settings import Settings

NO_MASKS = "no masks generated"
_MAX_MESSAGE = 500


@dataclass(frozen=True)
class Response:
    """One answer, read to its end (under the byte cap)."""

    status: int
    headers: httpx.Headers
    body: bytes
    url: str

    @property
    def request_id(self) -> str | None:
        for name in ("x-fal-request-id", "x-request-id"):
            value = self.headers.get(name)
            if value:
                return safe_id(value)
        return None


def safe_id(value: Any) -> str | None:
    """``value`` as an id when it is a short printable string or an integer, else None."""
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        text = str(value)
        if 0 < len(text) <= 256 and text.isprintable():
            return text
    return None


def text_message(body: bytes) -> str:
    """The start of ``body`` as text."""
    return body[:_MAX_MESSAGE * 4].decode("utf-8", "replace").strip()


def message_of(obj: Any) -> str | None:
    """The human message of an error object in the shapes the providers use."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, list):
        msgs = [m for m in (message_of(item) for item in obj) if m]
        return "; ".join(msgs) if msgs else None
    if isinstance(obj, dict):
        for key in ("error", "detail", "message", "msg"):
            if key in obj and obj[key]:
                inner = message_of(obj[key])
                if inner:
                    kind = obj.get("type") or obj.get("error_type") or obj.get("code")
                    if key == "msg" and obj.get("loc"):
                        inner = f"{inner} (at {'.'.join(map(str, obj['loc']))})"
                    if isinstance(kind, str) and kind and kind not in inner:
                        inner = f"{inner} [{kind}]"
                    return inner
    return None


def error_message(resp: Response, s: Settings) -> str:
    """The server's message in an error answer, shortened, with the key redacted."""
    try:
        message = message_of(json.loads(resp.body))
    except (ValueError, RecursionError):
        message = None
    if not message:
        message = text_message(resp.body) or httpx.codes.get_reason_phrase(resp.status) \
            or "no message"
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "..."
    return s.redact(message)


def failure_message(obj: dict[str, Any], s: Settings) -> str:
    """The message of a failed job or queued request, with the key redacted."""
    return s.redact((message_of(obj) or "no message")[:_MAX_MESSAGE])


def is_no_masks(resp: Response) -> bool:
    """Whether ``resp`` is the 422 "No masks generated" that means an empty result."""
    return resp.status == 422 and NO_MASKS in text_message(resp.body).lower()


def json_body(resp: Response, what: str) -> Any:
    """The JSON of ``resp``; :class:`InvalidResponseError` when it is not JSON."""
    try:
        return json.loads(resp.body)
    except (ValueError, RecursionError):
        raise InvalidResponseError(f"{what} is not JSON: {text_message(resp.body)[:80]!r}",
                                   status_code=resp.status, request_id=resp.request_id) from None


def json_or_text(resp: Response) -> Any:
    """The JSON of ``resp``, or its text when it is not JSON."""
    try:
        return json.loads(resp.body)
    except (ValueError, RecursionError):
        return text_message(resp.body)
