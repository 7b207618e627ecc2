"""RLE dialects other than COCO's, and recognising which one you were handed.

fal / Kaggle "start length" text (what hosted SAM 3 image-RLE endpoints return): ASCII
integers separated by whitespace, pairs of ``start length`` over the whole image flattened
**row-major** with **1-based** starts by default, and no size: the caller must know the
height and width of the image it sent. The conversion to and from COCO's column-major counts
runs in C++ on bit rows, never through a dense byte mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Union

from turborle import _core
from turborle.batch import RLEBatch, fal_order, fal_start_base, from_coco

__all__ = ["from_any", "from_fal", "to_fal"]

Dialect = Literal["coco", "coco_uncompressed", "fal"]
FalText = Union[str, bytes]


def from_fal(
    rle: FalText | Sequence[FalText],
    height: int,
    width: int,
    start_base: int = 1,
    order: Literal["C", "F"] = "C",
    *,
    threads: int | None = None,
) -> RLEBatch:
    """Parse fal / Kaggle ``start length`` text into a batch.

    Parameters
    ----------
    rle : str or list of str
        One string per mask.
    height, width : int
        Size of the image the masks belong to (the text carries none).
    start_base : {1, 0}
        Index of the first pixel in the text. A start of 0 with ``start_base=1`` raises a
        ``ValueError`` that says the data looks 0-based.
    order : {"C", "F"}
        Flattening of the text: row-major (fal, Kaggle) or column-major.

    Raises
    ------
    ValueError
        Odd token counts, tokens that are not non-negative integers, zero lengths, runs that
        are not ascending or overlap, or that run past ``height * width``; the message names
        the mask and the token.
    """
    if isinstance(rle, (str, bytes)):
        texts: list[FalText] = [rle]
    elif isinstance(rle, (list, tuple)):
        texts = list(rle)
    else:
        raise TypeError(f"rle must be fal text (str or bytes) or a list of them, got "
                        f"{type(rle).__name__}")
    return RLEBatch._wrap(
        _core.from_fal(texts, height, width, fal_start_base(start_base), fal_order(order), threads)
    )


def to_fal(batch: RLEBatch, start_base: int = 1, order: Literal["C", "F"] = "C",
           *, threads: int | None = None) -> list[str]:
    """fal / Kaggle ``start length`` text of every mask (see :func:`from_fal`)."""
    return batch.to_fal(start_base, order, threads=threads)


def _fal_like(text: str) -> bool:
    return all(c.isdigit() or c.isspace() for c in text)


def _classify(obj: Any, i: int) -> Dialect | None:
    """The dialect of one item; None for text that fits fal but proves nothing alone (no
    whitespace: "" or a run of digits, which are also valid COCO counts)."""
    if isinstance(obj, dict):
        if "size" not in obj or "counts" not in obj:
            raise ValueError(f"item {i}: a dict must hold 'size' and 'counts' (COCO); got keys "
                             f"{sorted(map(str, obj))}")
        return "coco" if isinstance(obj["counts"], (str, bytes)) else "coco_uncompressed"
    if isinstance(obj, (str, bytes)):
        text = obj.decode("ascii", "replace") if isinstance(obj, bytes) else obj
        if not _fal_like(text):
            raise ValueError(
                f"item {i}: a bare COCO counts string has no size: pass "
                "turborle.from_coco([{'size': [h, w], 'counts': s}])")
        return "fal" if any(c.isspace() for c in text.strip()) else None
    raise TypeError(f"item {i}: cannot read an RLE from {type(obj).__name__}")


def from_any(obj: Any, height: int | None = None,
             width: int | None = None) -> tuple[RLEBatch, Dialect]:
    """Recognise and parse masks in any dialect turborle knows.

    Accepts a COCO dict (compressed ``str``/``bytes`` counts, or uncompressed list counts),
    fal / Kaggle ``start length`` text (needs ``height`` and ``width``), a fal response
    object ``{"rle": ...}``, or a list of one of these. Returns the batch and the dialect
    found: ``"coco"``, ``"coco_uncompressed"`` or ``"fal"``. Input that fits more than one
    dialect, or mixes fal with COCO, raises ``ValueError`` saying what to call instead.
    """
    fal_response = isinstance(obj, dict) and "rle" in obj and "counts" not in obj
    if fal_response:
        obj = obj["rle"]
    items = obj if isinstance(obj, (list, tuple)) else [obj]
    if not items:
        return RLEBatch._wrap(_core.concat([])), "fal" if fal_response else "coco"
    kinds = {_classify(item, i) for i, item in enumerate(items)}
    if fal_response or "fal" in kinds:  # "" and lone digits are fal here too (an empty mask)
        if kinds - {"fal", None}:
            raise ValueError("the input mixes fal text with COCO dicts; convert each part "
                             "with from_fal / from_coco")
        if height is None or width is None:
            raise ValueError("fal text carries no size: pass height= and width= (the size of "
                             "the image that was segmented)")
        return from_fal(list(items), height, width), "fal"
    if None in kinds:
        raise ValueError(
            "text without spaces ('' or a run of digits) is ambiguous: it is valid COCO counts "
            "and fal text; call turborle.from_fal(text, h, w) or "
            "turborle.from_coco([{'size': [h, w], 'counts': text}])")
    dialect: Dialect = "coco_uncompressed" if kinds == {"coco_uncompressed"} else "coco"
    return from_coco(list(items)), dialect
