"""Error answers in the style of each protocol family, and JSON answers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from turborle.server.config import Family

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
        return json_response(self.body(family), self.status, self.headers)


def json_response(content: Any, status: int = 200,
                  headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(content), status, dict(headers or {}), media_type="application/json")


def invalid(family: Family, field_name: str, message: str,
            kind: str = "value_error") -> ApiError:
    """A field error: 400 ``invalid_request_error`` on the gateway, 422 ``detail`` list on fal."""
    if family == "gateway":
        return ApiError(400, f"{field_name}: {message}", param=field_name)
    loc: list[Any] = ["body", *field_name.replace("]", "").replace("[", ".").split(".")]
    loc = [int(part) if isinstance(part, str) and part.isdigit() else part for part in loc]
    return ApiError(422, message, detail=[{"loc": loc, "msg": message, "type": kind}])


def dumps(content: Any) -> bytes:
    """``content`` as compact JSON bytes (NaN refused)."""
    return json.dumps(content, separators=(",", ":"), allow_nan=False).encode()
