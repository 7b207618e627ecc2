"""Fetch SAM 3 masks from a hosted "image-rle" endpoint: :class:`Gateway`, :class:`AsyncGateway`.

The protocols (:mod:`turborle.gateway.protocols`) and the retry loop
(:mod:`turborle.gateway.steps`) are written once, without I/O, as a generator of steps; the two
classes here only drive it, one with ``httpx.Client`` and ``time.sleep``, the other with
``httpx.AsyncClient`` and ``anyio.sleep``.

Failures: 401, 402, 403 and 404 raise their own exception classes at once; 429 waits
``Retry-After`` (at most ``max_retry_after`` seconds, else :class:`RateLimitError` at once)
and retries; 408 and 503 retry with exponential backoff and jitter, and so do 500, 502 and 504
except where a ``POST`` may already have run (the policy, status by status, is in
:mod:`turborle.gateway.steps`); a 504 marked ``X-Fal-Request-Timeout-Type: user`` is not
retried. Connection failures are retried; a read timeout or dropped connection after a
``POST`` was sent is not (a synchronous fal call is billed even when the answer is lost).
Every call runs under one overall ``deadline``. A 422 "No masks generated" is an empty
result. Bodies are streamed and refused past ``max_response_bytes``; more than
``max_response_masks`` masks are refused; malformed RLE raises :class:`InvalidResponseError`
(a ``ValueError``) naming the mask.

The API key is sent only to the provider's own origin and never appears in an exception, a
log record or a ``repr`` (a server that echoes it back has it replaced by ``[redacted]``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping
from contextlib import closing
from typing import Any, Generic, Literal, TypeVar, cast

import anyio
import anyio.to_thread
import httpx

from turborle.gateway.errors import GatewayError
from turborle.gateway.images import PreparedImage, prepare_image
from turborle.gateway.payloads import Segmentation
from turborle.gateway.protocols import Box, Point, fal_input, segment_flow
from turborle.gateway.settings import DEFAULT_TIMEOUT, Provider, make_settings
from turborle.gateway.steps import Call, Reply, Send, Sleep, Steps, run

__all__ = ["AsyncGateway", "Gateway", "Segmentation"]

_ClientT = TypeVar("_ClientT", httpx.Client, httpx.AsyncClient)


class _Base(Generic[_ClientT]):
    """Settings and argument handling shared by :class:`Gateway` and :class:`AsyncGateway`."""

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
        self._settings = make_settings(
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

    def _steps(self, image: PreparedImage, prompt: str | None, points: Iterable[Point] | None,
               boxes: Iterable[Box] | None, max_masks: int | None,
               extra: Mapping[str, Any] | None) -> Steps[Segmentation]:
        """The call as steps (its arguments checked now, before anything is sent)."""
        body = fal_input(image.source, prompt, points, boxes, max_masks, extra)
        call = Call(self._settings, self._rng)
        return run(call, segment_flow(call, image, body))


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
        Retries after a 429, 408, 503, a 500, 502 or 504 that may be retried, or a connection
        failure (which ones, for a ``POST`` that may already have run: see
        :mod:`turborle.gateway.steps`).
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

    def segment(self, image: Any, prompt: str | None = None,
                points: Iterable[Point] | None = None, boxes: Iterable[Box] | None = None,
                max_masks: int | None = None, *, size: tuple[int, int] | None = None,
                extra: Mapping[str, Any] | None = None) -> Segmentation:
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
        with closing(self._steps(prepared, prompt, points, boxes, max_masks, extra)) as steps:
            try:
                step = next(steps)
                while True:
                    step = steps.send(self._make(step))
            except StopIteration as done:
                return cast(Segmentation, done.value)

    def _make(self, step: Send | Sleep) -> Reply:
        """Make one step: a wait (answered with None) or an HTTP exchange."""
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            return None
        return self._exchange(step)

    def _exchange(self, send: Send) -> Reply:
        req = send.request
        try:
            with self._client.stream(req.method, req.url, json=req.json, headers=send.headers,
                                     timeout=send.timeout,
                                     follow_redirects=send.follow_redirects) as r:
                body = send.receive(r.status_code, r.headers)
                for chunk in r.iter_bytes():
                    body.add(chunk)
                return body.response(str(r.url))
        except (httpx.TransportError, GatewayError) as exc:
            return exc


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

    async def segment(self, image: Any, prompt: str | None = None,
                      points: Iterable[Point] | None = None, boxes: Iterable[Box] | None = None,
                      max_masks: int | None = None, *, size: tuple[int, int] | None = None,
                      extra: Mapping[str, Any] | None = None) -> Segmentation:
        """Segment ``image``; see :meth:`Gateway.segment`."""

        prepared = await anyio.to_thread.run_sync(prepare_image, image, size)
        with closing(self._steps(prepared, prompt, points, boxes, max_masks, extra)) as steps:
            try:
                step = next(steps)
                while True:
                    step = steps.send(await self._make(step))
            except StopIteration as done:
                return cast(Segmentation, done.value)

    async def _make(self, step: Send | Sleep) -> Reply:
        """Make one step: a wait (answered with None) or an HTTP exchange."""
        if isinstance(step, Sleep):
            await anyio.sleep(step.seconds)
            return None
        return await self._exchange(step)

    async def _exchange(self, send: Send) -> Reply:
        req = send.request
        try:
            async with self._client.stream(req.method, req.url, json=req.json,
                                           headers=send.headers, timeout=send.timeout,
                                           follow_redirects=send.follow_redirects) as r:
                body = send.receive(r.status_code, r.headers)
                async for chunk in r.aiter_bytes():
                    body.add(chunk)
                return body.response(str(r.url))
        except (httpx.TransportError, GatewayError) as exc:
            return exc
