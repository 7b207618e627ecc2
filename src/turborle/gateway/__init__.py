"""Fetch SAM 3 masks from hosted "image-rle" endpoints (aigateway, fal) as ``RLEBatch``es.

Needs the ``gateway`` extra (``pip install 'turborle[gateway]'``: httpx and Pillow).

>>> from turborle.gateway import Gateway
>>> with Gateway("fal") as gw:                       # key from FAL_KEY
...     seg = gw.segment("photo.jpg", "dog")         # doctest: +SKIP
>>> seg.masks, seg.scores, seg.boxes, seg.decode()  # doctest: +SKIP

The modules, each a layer over the one before: :mod:`~turborle.gateway.settings` (checked
once), :mod:`~turborle.gateway.images` (what is sent), :mod:`~turborle.gateway.answers` and
:mod:`~turborle.gateway.payloads` (what comes back), :mod:`~turborle.gateway.steps` (the
retry loop and deadline, without I/O), :mod:`~turborle.gateway.protocols` (aigateway and fal,
as steps) and :mod:`~turborle.gateway.client` (the sync and async drivers). The exceptions
are in :mod:`~turborle.gateway.errors`. The local reference server is
:mod:`turborle.server`, a separate extra.
"""

from __future__ import annotations

from turborle.gateway.client import AsyncGateway, Gateway, Segmentation
from turborle.gateway.errors import *  # noqa: F403  (every exception class, in errors.__all__)
from turborle.gateway.errors import __all__ as _errors

__all__ = ["AsyncGateway", "Gateway", "Segmentation", *_errors]
