"""Fetch SAM 3 masks from hosted "image-rle" endpoints (aigateway, fal) as ``RLEBatch``es.

Needs the ``gateway`` extra (``pip install 'turborle[gateway]'``: httpx and Pillow).

>>> from turborle.gateway import Gateway
>>> with Gateway("fal") as gw:                       # key from FAL_KEY
...     seg = gw.segment("photo.jpg", "dog")         # doctest: +SKIP
>>> seg.masks, seg.scores, seg.boxes, seg.decode()  # doctest: +SKIP

See :mod:`turborle.gateway.client` for the protocol and the failure handling, and
:mod:`turborle.gateway.errors` for the exceptions.
"""

from __future__ import annotations

from turborle.gateway.client import AsyncGateway, Gateway, Segmentation
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

__all__ = [
    "AsyncGateway",
    "AuthenticationError",
    "BadRequestError",
    "DeadlineExceededError",
    "Gateway",
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
    "Segmentation",
    "ServerError",
    "UserTimeoutError",
]
