"""``data:`` URIs (RFC 2397), parsed in one place for the client and the reference server."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

__all__ = ["DataURI", "is_data_uri", "parse_data_uri"]


@dataclass(frozen=True)
class DataURI:
    """What a ``data:`` URI holds.

    ``media_type`` is lower-cased, without parameters, and ``""`` when the URI names none;
    ``base64`` says whether the payload was base64 (else it was percent-encoded text).
    """

    media_type: str
    base64: bool
    data: bytes


def is_data_uri(value: str) -> bool:
    """Whether ``value`` starts with ``data:`` (in any case)."""
    return value[:5].lower() == "data:"


def parse_data_uri(uri: str) -> DataURI:
    """The bytes of ``data:[<media type>][;<parameter>...][;base64],<payload>``.

    Whitespace inside a base64 payload is ignored (it is often wrapped). Raises ``ValueError``
    saying what is wrong: not a ``data:`` URI, no ``,`` before the payload, or a payload that
    is not valid base64.
    """
    if not is_data_uri(uri):
        raise ValueError("not a data: URI")
    header, sep, payload = uri[5:].partition(",")
    if not sep:
        raise ValueError("a data: URI needs a ',' before its payload")
    params = [p.strip() for p in header.split(";")]
    is_base64 = len(params) > 1 and params[-1].lower() == "base64"
    if not is_base64:
        return DataURI(params[0].lower(), False, unquote_to_bytes(payload))
    try:
        data = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the data: URI's payload is not valid base64") from None
    return DataURI(params[0].lower(), True, data)
