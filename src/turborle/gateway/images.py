"""Images in and out of the gateway: what is sent, at what size, and PNG masks that come back.

The hosted endpoints return masks at the resolution of the image they were given and say
nothing about that size, so the client must know the exact height and width of what it sent.
:func:`prepare_image` turns any accepted input into the string that is sent (a ``data:`` URI,
or an ``http(s)`` URL passed through) together with that size:

- a path (``str`` or ``os.PathLike``), ``bytes``, or a ``data:`` URI: an encoded image file.
  PNG, JPEG, WebP and GIF are sent as they are; other formats are re-encoded as PNG. A file
  with an EXIF orientation other than "normal" is rotated upright and re-encoded as PNG (so
  the pixels the server sees do not depend on whether it applies EXIF rotation); the size is
  the upright one.
- a PIL image: encoded as PNG as it is (its pixels, without EXIF; modes PNG cannot hold are
  converted to RGB).
- a numpy ``uint8`` array of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4): grey, RGB or
  RGBA, encoded as PNG.
- an ``http://`` or ``https://`` URL: sent as the URL. Its size is the ``size=(height,
  width)`` given by the caller; without one the client downloads the image (under the same
  timeouts and byte cap as any answer) and reads its size with :func:`encoded_image_size`,
  which refuses an EXIF rotation by 90 degrees of a non-square image (whether the server
  applies it is unknown, so the size would be a guess).

Pillow is needed (it is in the ``gateway`` extra).
"""

from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from turborle.gateway.datauri import is_data_uri, parse_data_uri

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = ["PreparedImage", "decode_mask_png", "encoded_image_size", "is_url", "prepare_image"]

# Formats every provider reads; anything else is re-encoded as PNG.
_SENT_AS_IS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
_EXIF_ORIENTATION = 0x0112
_PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA"}


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModuleNotFoundError("turborle.gateway needs Pillow: pip install "
                                  "'turborle[gateway]'", name="PIL") from exc
    return Image


@dataclass(frozen=True)
class PreparedImage:
    """What is sent for an image: ``source`` (a ``data:`` URI or an ``http(s)`` URL) and the
    height and width the masks will have (``None`` for a URL whose size is not known yet)."""

    source: str
    height: int | None
    width: int | None

    @property
    def is_url(self) -> bool:
        return is_url(self.source)

    def __repr__(self) -> str:
        shown = self.source if len(self.source) <= 64 else self.source[:48] + "..."
        return f"PreparedImage(source={shown!r}, height={self.height}, width={self.width})"


def is_url(value: str) -> bool:
    """Whether ``value`` is an ``http://`` or ``https://`` URL."""
    return value[:8].lower().startswith(("http://", "https://"))


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def _png_bytes(img: PILImage.Image) -> bytes:
    if img.mode not in _PNG_MODES:
        img = img.convert("RGBA" if "A" in img.mode else "RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _open(data: bytes, what: str) -> PILImage.Image:
    Image = _pil()
    try:
        img: PILImage.Image = Image.open(io.BytesIO(data))
    except Exception as exc:  # Pillow raises several types for unreadable data
        raise ValueError(f"{what} is not an image Pillow can read: {exc}") from None
    return img


def _orientation(img: PILImage.Image) -> int:
    try:
        value = img.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # a damaged EXIF block: treat as absent
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _from_encoded(data: bytes, what: str) -> PreparedImage:
    img = _open(data, what)
    if _orientation(img) != 1:
        from PIL import ImageOps

        upright = ImageOps.exif_transpose(img)
        assert upright is not None
        width, height = upright.size
        return PreparedImage(_data_uri(_png_bytes(upright), "image/png"), height, width)
    width, height = img.size
    fmt = (img.format or "").upper()
    if fmt in _SENT_AS_IS:
        return PreparedImage(_data_uri(data, _SENT_AS_IS[fmt]), height, width)
    return PreparedImage(_data_uri(_png_bytes(img), "image/png"), height, width)


def _from_array(arr: npt.NDArray[Any]) -> PreparedImage:
    if arr.dtype != np.uint8:
        raise TypeError(f"an image array must be uint8, got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise ValueError(f"an image array must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), "
                         f"got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"an image array must not be empty, got {arr.shape}")
    img = _pil().fromarray(np.ascontiguousarray(arr))
    height, width = int(arr.shape[0]), int(arr.shape[1])
    return PreparedImage(_data_uri(_png_bytes(img), "image/png"), height, width)


def _check_size(size: tuple[int, int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    try:
        height, width = size
    except (TypeError, ValueError):
        raise ValueError(f"size must be (height, width), got {size!r}") from None
    for v in (height, width):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
            raise ValueError(f"size must be two positive integers (height, width), got {size!r}")
    return int(height), int(width)


def prepare_image(image: Any, size: tuple[int, int] | None = None) -> PreparedImage:
    """The string to send for ``image`` and the size of the masks that will come back.

    Parameters
    ----------
    image : path, bytes, PIL image, numpy uint8 array, ``data:`` URI or ``http(s)`` URL
        See the module documentation for how each is sent.
    size : (height, width), optional
        The size of the image at a URL (ignored for anything else, whose size is read).

    Returns
    -------
    PreparedImage
        For a URL without ``size``, ``height`` and ``width`` are ``None``.
    """
    if isinstance(image, str):
        if is_url(image):
            checked = _check_size(size)
            if checked is None:
                return PreparedImage(image, None, None)
            return PreparedImage(image, checked[0], checked[1])
        if is_data_uri(image):
            return _from_encoded(parse_data_uri(image).data, "the data: URI")
        image = os.fspath(image)
    if isinstance(image, os.PathLike):
        image = os.fspath(image)
    if isinstance(image, str):
        with open(image, "rb") as f:
            return _from_encoded(f.read(), f"file {image!r}")
    if isinstance(image, (bytes, bytearray, memoryview)):
        return _from_encoded(bytes(image), "the image bytes")
    if isinstance(image, np.ndarray):
        return _from_array(image)
    Image = _pil()
    if isinstance(image, Image.Image):
        width, height = image.size
        if width == 0 or height == 0:
            raise ValueError(f"the PIL image is empty ({width}x{height})")
        return PreparedImage(_data_uri(_png_bytes(image), "image/png"), height, width)
    raise TypeError(f"cannot send an image of type {type(image).__name__}: give a path, bytes, "
                    "a PIL image, a uint8 numpy array or an http(s) URL")


def encoded_image_size(data: bytes) -> tuple[int, int]:
    """(height, width) of an encoded image downloaded from a URL.

    Raises ``ValueError`` for an EXIF orientation that swaps the axes of a non-square image:
    the size the server segments at would be a guess, so pass ``size=`` instead.
    """
    img = _open(data, "the image at the URL")
    width, height = img.size
    if _orientation(img) in (5, 6, 7, 8) and width != height:
        raise ValueError(
            f"the image at the URL is {width}x{height} with an EXIF rotation of 90 degrees: "
            "whether the server rotates it is unknown; pass size=(height, width), or send the "
            "image itself (it is then rotated upright before sending)")
    return height, width


def decode_mask_png(data: bytes, height: int, width: int, what: str) -> npt.NDArray[np.bool_]:
    """A PNG mask as an (H, W) bool array: nonzero pixels are foreground.

    For an image with an alpha channel that is not fully opaque, the alpha channel is the
    mask; otherwise any nonzero channel counts. The size is checked before the pixels are
    decoded; a PNG of another size than the submitted image raises ``ValueError``.
    """
    img = _open(data, what)
    if (img.format or "").upper() != "PNG":
        raise ValueError(f"{what} is not a PNG (Pillow reads {img.format})")
    if img.size != (width, height):
        raise ValueError(f"{what} is {img.size[0]}x{img.size[1]} (WxH), but the image sent was "
                         f"{width}x{height}")
    if img.mode == "P":
        img = img.convert("RGBA")
    arr = np.asarray(img)
    if arr.ndim == 3:
        has_alpha = arr.shape[2] in (2, 4)
        if has_alpha:
            alpha = arr[:, :, -1]
            opaque = np.iinfo(alpha.dtype).max if alpha.dtype.kind in "ui" else 1
            if bool((alpha != opaque).any()):
                return np.asarray(alpha != 0)
        colour = arr[:, :, :-1] if has_alpha else arr
        return np.asarray((colour != 0).any(axis=2))
    return np.asarray(arr != 0)
