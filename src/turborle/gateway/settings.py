"""The settings of a gateway client, checked once when it is made; the API key kept hidden."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import httpx

from turborle.gateway.images import is_url

Provider = Literal["aigateway", "fal"]

DEFAULT_BASE_URLS: dict[str, str] = {"aigateway": "https://api.aigateway.sh",
                                     "fal": "https://fal.run"}
DEFAULT_FAL_QUEUE_URL = "https://queue.fal.run"
DEFAULT_MODELS: dict[str, str] = {"aigateway": "meta/sam-3-image-rle",
                                  "fal": "fal-ai/sam-3/image-rle"}
KEY_ENV: dict[str, str] = {"aigateway": "AIGATEWAY_API_KEY", "fal": "FAL_KEY"}
DEFAULT_POLL_INTERVAL: dict[str, float] = {"aigateway": 3.0, "fal": 0.5}
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=60.0, pool=10.0)


class Secret:
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


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``: where a key may be sent."""
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


def count(name: str, value: int, minimum: int) -> int:
    """``value`` checked to be an integer of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """What every call of one client needs besides its input (see
    :class:`~turborle.gateway.Gateway`)."""

    provider: Provider
    base_url: str
    queue_url: str
    model: str
    key: Secret | None
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
        if origin(url) not in (origin(self.base_url), origin(self.queue_url)):
            return {}
        scheme = "Bearer" if self.provider == "aigateway" else "Key"
        return {"Authorization": f"{scheme} {self.key.reveal()}"}

    def redact(self, text: str) -> str:
        """``text`` with the API key replaced by ``[redacted]``."""
        key = self.key.reveal() if self.key is not None else ""
        if len(key) >= 8:  # a real key: wherever it appears
            return text.replace(key, "[redacted]")
        if key:  # a short (test) key: only as a whole token, or every "k" in "No masks" goes
            return re.sub(rf"(?<![\w-]){re.escape(key)}(?![\w-])", "[redacted]", text)
        return text


def make_settings(provider: str, api_key: str | None, base_url: str | None,
                  queue_base_url: str | None, model: str | None, timeout: float | httpx.Timeout,
                  deadline: float | None, max_retries: int, backoff_base: float,
                  backoff_max: float, max_retry_after: float, poll_interval: float | None,
                  max_response_bytes: int, max_response_masks: int, start_base: int,
                  response_format: str, queue: bool) -> Settings:
    """Check every argument of :class:`~turborle.gateway.Gateway` and fill in the defaults."""
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
        queue_base = (queue_base_url or (f"{base}/queue" if base_url
                                         else DEFAULT_FAL_QUEUE_URL)).rstrip("/")
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
    return Settings(
        provider=cast(Provider, provider),
        base_url=base,
        queue_url=queue_base,
        model=(model or DEFAULT_MODELS[provider]).strip("/"),
        key=Secret(key) if key else None,
        timeout=timeout,
        deadline=None if deadline is None else _positive("deadline", deadline),
        max_retries=count("max_retries", max_retries, 0),
        backoff_base=_positive("backoff_base", backoff_base, allow_zero=True),
        backoff_max=_positive("backoff_max", backoff_max, allow_zero=True),
        max_retry_after=_positive("max_retry_after", max_retry_after, allow_zero=True),
        poll_interval=_positive("poll_interval", DEFAULT_POLL_INTERVAL[provider]
                                if poll_interval is None else poll_interval, allow_zero=True),
        max_response_bytes=count("max_response_bytes", max_response_bytes, 1),
        max_response_masks=count("max_response_masks", max_response_masks, 0),
        start_base=start_base,
        response_format=response_format,
        queue=bool(queue),
    )
