"""``turborle convert``: a JSON file of masks from COCO to fal text or back, streamed.

The input is read an item at a time by ijson (its C parser, yajl2_c), so memory stays bounded
by the largest mask, not the file; the masks are converted :data:`CHUNK` at a time and written
as they come. ijson rather than JSON Lines: the files people have are JSON arrays (COCO
annotations, fal responses), and ijson streams them as they are. A fal response (an object
with ``"rle"``) is one image's masks and is read whole. The output replaces the target file
only once complete; a progress bar (tqdm) shows on a terminal for large inputs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from turborle.cli.errors import CommandError

if TYPE_CHECKING:
    from turborle import RLEBatch

CHUNK = 4096  # masks converted per call into the core
PROGRESS_BYTES = 2_000_000  # inputs at least this large show a progress bar (on a terminal)
READ_BYTES = 1 << 16  # bytes read from the input at a time


def register(subparsers: Any) -> None:
    """Add ``convert``."""
    conv = subparsers.add_parser("convert", help="convert a JSON file of masks between COCO "
                                 "and fal text")
    conv.add_argument("input", help="JSON file ('-' for stdin): a list of COCO dicts or fal "
                      "strings, or a fal response {'rle': [...]}")
    conv.add_argument("output", help="JSON file to write ('-' for stdout)")
    conv.add_argument("--to", choices=["coco", "fal"], required=True)
    conv.add_argument("--from", dest="from_", choices=["auto", "coco", "fal"], default="auto")
    conv.add_argument("--size", type=parse_size, help="HxW of the image, needed to read fal "
                      "text")
    conv.add_argument("--start-base", type=int, choices=[0, 1], default=1,
                      help="index of the first pixel in fal text (default 1)")
    conv.add_argument("--fill-holes", nargs="?", type=_area, const=math.inf, default=None,
                      metavar="AREA", help="fill each mask's holes (background regions not "
                      "touching the border), only those of at most AREA pixels if given")
    conv.add_argument("--remove-small", type=_area, default=None, metavar="AREA",
                      help="remove the 8-connected islands of fewer than AREA pixels")
    conv.set_defaults(handler=convert, extra="cli")


def _area(text: str) -> int:
    """A pixel count for ``--fill-holes``/``--remove-small``."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number of pixels >= 0, got {text!r}")
    return value


def parse_size(text: str) -> tuple[int, int]:
    """``HxW`` as (height, width)."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be HxW, e.g. 480x640, got {text!r}") from None
    return h, w


class _Joined:
    """A binary reader giving ``head`` and then the rest of ``fp``."""

    def __init__(self, head: bytes, fp: IO[bytes]) -> None:
        self.head, self.fp = head, fp

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.fp.read(size)
        cut = len(self.head) if size < 0 else size
        out, self.head = self.head[:cut], self.head[cut:]
        return out


def iter_json_array(fp: IO[bytes], head: bytes = b"",
                    buf_size: int = READ_BYTES) -> Iterator[Any]:
    """Items of the JSON array that starts in ``head`` and continues in ``fp``, one at a time.

    Numbers decode as ``json.loads`` decodes them (``int`` or ``float``), but an integer must
    lie within +-(2**63 - 1) (yajl's limit; the numbers of every valid mask do). Raises
    ``ValueError``, in one line, for input that is not one JSON array.
    """
    import ijson

    while not head.strip():
        more = fp.read(buf_size)
        if not more:
            raise ValueError("the input is empty: expected a JSON array")
        head += more
    if head.lstrip()[:1] != b"[":
        raise ValueError("the input is not a JSON array")
    try:
        yield from ijson.items(_Joined(head, fp), "item", use_float=True, buf_size=buf_size)
    except ijson.JSONError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "malformed"
        if "integer overflow" in reason:
            reason = "an integer does not fit 64 bits"
        raise ValueError(f"the input is not valid JSON: {reason}") from None


def _read_input(src: IO[bytes]) -> tuple[dict[str, Any], Iterator[Any]]:
    """(the fal response's fields, or {}; the masks' items)."""
    head = src.read(READ_BYTES)
    if head.lstrip()[:1] in (b"[", b""):
        return {}, iter_json_array(src, head)
    whole = json.loads(head + src.read())
    if isinstance(whole, dict) and "rle" in whole:  # a fal response / our fal output
        rle = whole["rle"]
        return whole, iter(rle if isinstance(rle, list) else [rle])
    return {}, iter([whole])


def _to_batch(items: list[Any], kind: str, size: tuple[int, int] | None,
              start_base: int) -> RLEBatch:
    import turborle

    if kind == "coco":
        return turborle.from_coco(items)
    if kind == "fal":
        if size is None:
            raise CommandError("fal text carries no size: pass --size HxW")
        return turborle.from_fal(items, *size, start_base=start_base)
    batch, _ = turborle.from_any(items, *(size or (None, None)))
    return batch


class _Writer:
    """Writes converted masks as they come: COCO dicts in a JSON array, or fal output
    ``{"height", "width", "rle": [...]}`` (one size for every mask)."""

    def __init__(self, out: IO[str], to: str, start_base: int) -> None:
        self.out, self.to, self.start_base = out, to, start_base
        self.written = 0
        self.fal_size: tuple[int, int] | None = None
        if to == "coco":
            out.write("[")

    def write(self, batch: RLEBatch) -> None:
        items: list[Any]
        if self.to == "coco":
            items = batch.to_coco()
        else:
            self._check_fal_size(batch)
            items = batch.to_fal(self.start_base)
        for item in items:
            self.out.write((",\n" if self.written else "\n") + json.dumps(item))
            self.written += 1

    def _check_fal_size(self, batch: RLEBatch) -> None:
        sizes = set(zip(batch.heights.tolist(), batch.widths.tolist()))
        if self.fal_size is not None:
            sizes.add(self.fal_size)
        if len(sizes) > 1:
            raise CommandError("fal output needs every mask at one size; found "
                               + ", ".join(f"{h}x{w}" for h, w in sorted(sizes)))
        if self.fal_size is None and sizes:
            self.fal_size = sizes.pop()
            self.out.write(f'{{"height": {self.fal_size[0]}, "width": {self.fal_size[1]}, '
                           '"rle": [')

    def close(self) -> None:
        if self.to == "coco":
            self.out.write("\n]\n")
        elif self.fal_size is None:
            self.out.write('{"rle": []}\n')
        else:
            self.out.write("\n]}\n")


@contextlib.contextmanager
def _input(path: str) -> Iterator[IO[bytes]]:
    if path == "-":
        yield sys.stdin.buffer  # never closed
    else:
        with open(path, "rb") as f:
            yield f


@contextlib.contextmanager
def _output(path: str) -> Iterator[IO[str]]:
    """``path`` written under a temporary name and renamed once complete, so a failed
    conversion never leaves a partial file in place of an existing one."""
    if path == "-":
        yield sys.stdout
        return
    partial = f"{path}.partial"
    try:
        with open(partial, "w", encoding="utf-8") as f:
            yield f
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(partial)
        raise


def _chunks(items: Iterator[Any], n: int) -> Iterator[tuple[int, list[Any]]]:
    """(index of the first item, up to ``n`` items), in order."""
    start, chunk = 0, []
    for item in items:
        chunk.append(item)
        if len(chunk) == n:
            yield start, chunk
            start, chunk = start + n, []
    if chunk:
        yield start, chunk


def _clean(batch: Any, args: argparse.Namespace) -> Any:
    """Apply ``--fill-holes`` then ``--remove-small``, the order of segment-anything's
    post-processing (holes, then islands)."""
    from turborle import ops

    if args.fill_holes is not None:
        batch = ops.fill_holes(batch, args.fill_holes)  # (inf, the flag alone: every hole)
    if args.remove_small:
        batch = ops.remove_small_islands(batch, args.remove_small)
    return batch


def convert(args: argparse.Namespace) -> int:
    """Convert ``args.input`` to ``args.output`` (see :func:`register` for the flags)."""
    from tqdm import tqdm

    from turborle import RLEError

    size: tuple[int, int] | None = args.size
    total = os.path.getsize(args.input) if args.input != "-" else 0
    with _input(args.input) as src, _output(args.output) as out:
        meta, items = _read_input(src)
        kind = "fal" if meta and args.from_ == "auto" else args.from_  # even an empty mask's ""
        if size is None and "height" in meta and "width" in meta:
            size = (int(meta["height"]), int(meta["width"]))
        writer = _Writer(out, args.to, args.start_base)
        shown = total >= PROGRESS_BYTES and sys.stderr.isatty()
        with tqdm(total=total, unit="B", unit_scale=True, disable=not shown,
                  file=sys.stderr) as bar:
            for start, chunk in _chunks(items, CHUNK):
                try:
                    batch = _to_batch(chunk, kind, size, args.start_base)
                except RLEError as exc:  # the mask counted from the input's start
                    if exc.item != "mask" or exc.index is None or start == 0:
                        raise
                    raise ValueError(f"mask {start + exc.index}: {exc.reason}") from None
                except ValueError as exc:
                    if start == 0:
                        raise
                    raise ValueError(f"in items {start} to {start + len(chunk) - 1} of the "
                                     f"input: {exc}") from None
                writer.write(_clean(batch, args))
                if total:
                    bar.update(src.tell() - bar.n)
        writer.close()
    print(f"converted {writer.written} masks to {args.to}", file=sys.stderr)
    return 0
