"""Exceptions raised by :mod:`turborle.gateway`.

Every exception derives from :class:`GatewayError`. Those caused by an HTTP answer carry the
status code, the server's own message (with the API key redacted should the server echo it)
and the provider's request id when one is known, so that a job that ran out of time can be
looked up later. No exception ever holds the API key in its message or ``repr``.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "DeadlineExceededError",
    "GatewayConnectionError",
    "GatewayError",
    "GatewayTimeoutError",
    "InsufficientCreditsError",
    "InvalidResponseError",
    "JobFailedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ServerError",
    "UserTimeoutError",
]


class GatewayError(Exception):
    """Base class of every error of the gateway client.

    Attributes
    ----------
    message : str
        What went wrong; for an HTTP error, the server's message.
    status_code : int or None
        HTTP status of the answer that caused the error, if any.
    request_id : str or None
        The provider's id of the request or job, when one is known.
    """

    def __init__(self, message: str, *, status_code: int | None = None,
                 request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [self.message]
        if self.status_code is not None:
            parts.insert(0, f"HTTP {self.status_code}:")
        if self.request_id is not None:
            parts.append(f"(request id {self.request_id})")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class AuthenticationError(GatewayError):
    """401: the API key is missing or invalid. Never retried."""


class InsufficientCreditsError(GatewayError):
    """402: the account has no credit left. Never retried."""


class PermissionDeniedError(GatewayError):
    """403: the key may not use this model or endpoint. Never retried."""


class NotFoundError(GatewayError):
    """404: unknown model, endpoint, job or request id. Never retried."""


class BadRequestError(GatewayError):
    """Another 4xx answer (400, 405, 413, a 422 that is not "No masks generated", ...)."""


class RateLimitError(GatewayError):
    """429 still answered after every retry, or a ``Retry-After`` longer than allowed.

    ``retry_after`` holds the wait the server asked for, in seconds, when it gave one.
    """

    def __init__(self, message: str, *, status_code: int | None = None,
                 request_id: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status_code=status_code, request_id=request_id)
        self.retry_after = retry_after


class ServerError(GatewayError):
    """5xx still answered after every retry (or a 5xx that is not retried, such as 501)."""


class UserTimeoutError(ServerError):
    """504 marked ``X-Fal-Request-Timeout-Type: user``: the request's own start timeout
    expired. Not retried: the same request would time out again."""


class GatewayTimeoutError(GatewayError, TimeoutError):
    """A connect, write or read timeout of one HTTP exchange, after the retries allowed.

    A request that was sent is not resent after a read timeout when it is a ``POST`` (a
    dropped synchronous call is still billed).
    """


class DeadlineExceededError(GatewayError, TimeoutError):
    """The overall deadline of one call ran out (during a request, a retry wait or polling).

    ``request_id`` is set when the provider had already accepted the job: its result may
    still be fetched later.
    """


class GatewayConnectionError(GatewayError, ConnectionError):
    """The server could not be reached, or dropped the connection, after the retries
    allowed."""


class ResponseTooLargeError(GatewayError):
    """The answer was bigger than ``max_response_bytes``, or held more masks than
    ``max_response_masks``. The body is not read past the cap."""


class InvalidResponseError(GatewayError, ValueError):
    """The answer does not have the documented shape: not JSON, missing fields, bad base64,
    masks of the wrong size, or malformed RLE (the message names the mask)."""


class JobFailedError(GatewayError):
    """An asynchronous job or queued request finished with an error."""
