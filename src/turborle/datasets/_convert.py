"""One shard of the import job: JSON files in, one Parquet part file out.

A file is read whole. A clean SA-1B-style file (the usual case) is read by the core with
simdjson straight into the annotation columns, without a Python object per mask; any other
file is parsed with orjson and its annotations are checked and added one by one, which names
every problem (both give the same rows for a clean file). Every ``FLUSH_ROWS`` rows the
counts strings go to the core in one call (as the buffers of an Arrow string column, the GIL
released), which validates them and measures area and box; the rows are then written as one
Parquet row group. Memory is bounded by the largest input file plus one row group, whatever
the size of the dataset.

Nothing is lost: a mask that cannot be used is a row with a null ``mask`` and its
``problem``; a file that cannot be read or parsed is one row with a null ``ann_id`` and its
``problem``; an image without annotations is one row with null ``ann_id``, ``mask`` and
``problem``.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
import threading
import time
from collections import Counter
from typing import Any, cast

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

import turborle
from turborle import _core
from turborle.arrow import rle_type

FAST_PATH = True  # clean SA-1B files through the core's reader (the tests turn it off to compare)
FLUSH_ROWS = 8192  # rows per core call and per Parquet row group
FLUSH_BYTES = 32 << 20  # ... or fewer, once their counts strings hold this many bytes
_GROUP_LIMIT = 1 << 30  # counts bytes a row group may hold (Arrow strings have 32-bit offsets)
_INT64 = (-(2**63), 2**63 - 1)
_MAX_PIXELS = 2**62

MASK_TYPE = rle_type("string")
BOX_TYPE = pa.list_(pa.float64(), 4)
SCHEMA = pa.schema([
    ("source", pa.string()),        # the input file (relative to the input folder)
    ("image_id", pa.int64()),
    ("ann_id", pa.int64()),
    ("category_id", pa.int64()),
    ("mask", MASK_TYPE),            # counts exactly as the file had them (compressed)
    ("area", pa.int64()),           # recomputed from the mask
    ("bbox", BOX_TYPE),             # recomputed from the mask, COCO xywh
    ("stored_area", pa.float64()),  # as the file had them (null if absent or not a number)
    ("stored_bbox", BOX_TYPE),
    ("problem", pa.string()),       # null, or "<reason>: <detail>"
    ("image", pa.string()),         # the file's image record, JSON
    ("extra", pa.string()),         # the annotation's other fields, JSON (null if none)
])

# Columns whose row groups carry min/max statistics (for filters on ids, areas, boxes): not
# the long strings (counts, image records, extra fields), whose bounds nothing filters on and
# whose comparison costs ~0.3 us a row.
_STATISTICS = ["source", "image_id", "ann_id", "category_id", "mask.height", "mask.width",
               "area", "bbox.list.element", "stored_area", "stored_bbox.list.element", "problem"]

# Problem reasons (the part of `problem` before ": ").
UNREADABLE_FILE = "unreadable-file"
BAD_JSON = "bad-json"
BAD_LAYOUT = "bad-layout"
BAD_IMAGE = "bad-image"
BAD_ANNOTATION = "bad-annotation"
NO_SEGMENTATION = "no-segmentation"
BAD_SEGMENTATION = "bad-segmentation"
BAD_SIZE = "bad-size"
BAD_COUNTS = "bad-counts"
BAD_POLYGON = "bad-polygon"
SIZE_MISMATCH = "size-mismatch"
UNKNOWN_IMAGE = "unknown-image"

# Annotation fields that have columns of their own; the rest go to `extra`.
_ANN_KEYS = frozenset({"id", "image_id", "category_id", "segmentation", "area", "bbox"})

# Area histogram: bin k holds areas in [EDGES[k], EDGES[k + 1]).
AREA_EDGES = (0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)


def _int64(value: Any) -> int | None:
    if type(value) is int and _INT64[0] <= value <= _INT64[1]:
        return value
    return None


def _number(value: Any) -> float | None:
    if type(value) is float or type(value) is int:
        return float(value)
    return None


def _box(value: Any) -> list[float] | None:
    if type(value) is list and len(value) == 4:
        x, y, w, h = value
        if (type(x) in (int, float) and type(y) in (int, float) and type(w) in (int, float)
                and type(h) in (int, float)):
            return value
    return None


def _dumps(value: Any) -> bytes:
    """orjson's JSON of a value orjson read. orjson reads 1024 levels of nesting but writes
    254: deeper values are written by the standard library, in the same compact form."""
    try:
        return orjson.dumps(value)
    except TypeError:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 4096))
        try:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        finally:
            sys.setrecursionlimit(limit)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _size_problem(size: Any) -> str | None:
    """Why `size` is not a valid [h, w], or None."""
    if type(size) is not list or len(size) != 2:
        return f"size must be [height, width], got {str(size)[:40]}"
    h, w = size
    if type(h) is not int or type(w) is not int:
        return f"size must be two integers, got [{_kind(h)}, {_kind(w)}]"
    if h < 0 or w < 0:
        return f"size must not be negative, got [{h}, {w}]"
    if h * w > _MAX_PIXELS:
        return f"size {h}x{w} is too large (more than 2^62 pixels)"
    return None


_THREAD = threading.local()


def _columns() -> _core.AnnotationColumns:
    """This thread's annotation columns, kept from shard to shard: their buffers and the JSON
    reader's grow once per worker, not once per shard (regrowing them, page faults included,
    cost ~10% of a 64-file shard)."""
    columns = getattr(_THREAD, "columns", None)
    if columns is None:
        columns = _THREAD.columns = _core.AnnotationColumns()
    return cast(_core.AnnotationColumns, columns)


class Rows:
    """The rows of a shard being built, written to Parquet a row group at a time.

    The annotation columns (mask, ids, stored area and box, extra) live in the core's
    `AnnotationColumns`, filled a whole clean SA-1B file at a time by its simdjson reader or a
    row at a time by the Python path; the columns that repeat per file (source, image id,
    image record, problem) are Python lists."""

    def __init__(self, writer: pq.ParquetWriter) -> None:
        self.writer = writer
        self.problems: Counter[str] = Counter()
        self.area_hist = np.zeros(len(AREA_EDGES), dtype=np.int64)
        self.rows = self.masks = 0
        self.cols = _columns()
        if len(self.cols):  # (left by a shard that failed)
            self.cols.take()
        self._reset()

    def _reset(self) -> None:
        self.source: list[str] = []
        self.image_id: list[int | None] = []
        self.problem: list[str | None] = []
        self.image: list[str | None] = []

    # -- adding rows ----------------------------------------------------------------------------
    def add_problem(self, source: str, reason: str, detail: str, image_id: int | None = None,
                    image: str | None = None) -> None:
        """A row with no annotation: a file or image that could not be used, or (reason
        empty) an image without annotations."""
        self.cols.add(None, 0, 0, None, None, None, None, None)
        self.source.append(source)
        self.image_id.append(image_id)
        self.problem.append(f"{reason}: {detail}" if reason else None)
        self.image.append(image)
        self._added()

    def add_annotation(self, ann: Any, source: str, image_id: int | None, image: str | None,
                       image_size: tuple[int, int] | None) -> None:
        if type(ann) is not dict:
            self.add_problem(source, BAD_ANNOTATION,
                             f"an annotation must be an object, got {_kind(ann)}", image_id, image)
            return
        counts, h, w, problem = self._segmentation(ann.get("segmentation"), image_size)
        if problem is None and image_size is not None and (h, w) != image_size:
            problem = (f"{SIZE_MISMATCH}: mask is {h}x{w} but the image is "
                       f"{image_size[0]}x{image_size[1]}")
        if problem is not None:
            counts, h, w = None, 0, 0
        ann_id = _int64(ann.get("id"))
        category_id = _int64(ann.get("category_id"))
        stored_area = _number(ann.get("area"))
        stored_bbox = _box(ann.get("bbox"))
        extra = {k: v for k, v in ann.items() if k not in _ANN_KEYS}
        # A value its column cannot hold (an id that is not a 64-bit integer, a segmentation
        # that is not a usable mask) is kept in `extra`, so nothing of the annotation is lost.
        if problem is not None and "segmentation" in ann:
            extra["segmentation"] = ann["segmentation"]
        for key, value in (("id", ann_id), ("category_id", category_id), ("area", stored_area),
                           ("bbox", stored_bbox)):
            if value is None and ann.get(key) is not None:
                extra[key] = ann[key]
        self.cols.add(None if counts is None else counts.encode(), h, w, ann_id, category_id,
                      stored_area, stored_bbox, _dumps(extra) if extra else None)
        self.source.append(source)
        self.image_id.append(image_id)
        self.problem.append(problem)
        self.image.append(image)
        self._added()

    def _segmentation(self, seg: Any, image_size: tuple[int, int] | None
                      ) -> tuple[str | None, int, int, str | None]:
        """(counts string, h, w, problem) of a segmentation. Compressed counts are kept as
        they are (the core validates them at the flush); uncompressed counts and polygons are
        converted to compressed counts now."""
        if type(seg) is dict:
            size = seg.get("size")
            counts = seg.get("counts")
            why = _size_problem(size)
            if why is not None:
                return None, 0, 0, f"{BAD_SIZE}: {why}"
            h, w = cast(list[int], size)
            if type(counts) is str:
                return counts, h, w, None
            if type(counts) is list:
                try:
                    coded = turborle.from_coco({"size": size, "counts": counts}, threads=1)
                except (ValueError, TypeError) as error:
                    return None, 0, 0, f"{BAD_COUNTS}: {error}"
                return str(coded.to_coco()[0]["counts"]), h, w, None
            if counts is None:
                return None, 0, 0, f"{BAD_COUNTS}: segmentation has no 'counts'"
            return None, 0, 0, (f"{BAD_COUNTS}: counts must be a string or a list of "
                                f"integers, got {_kind(counts)}")
        if type(seg) is list:  # polygons, rasterised on the image's grid
            if image_size is None:
                return None, 0, 0, f"{UNKNOWN_IMAGE}: polygons need the image's height and width"
            if not seg:
                return None, 0, 0, f"{BAD_POLYGON}: no polygons"
            h, w = image_size
            try:
                rles = turborle.mask.frPyObjects(seg, h, w)
                merged = turborle.mask.merge(rles if isinstance(rles, list) else [rles])
            except (ValueError, TypeError) as error:
                return None, 0, 0, f"{BAD_POLYGON}: {error}"
            return merged["counts"].decode("ascii"), h, w, None
        if seg is None:
            return None, 0, 0, f"{NO_SEGMENTATION}: the annotation has no segmentation"
        return None, 0, 0, (f"{BAD_SEGMENTATION}: segmentation must be an RLE object or "
                            f"polygons, got {_kind(seg)}")

    def add_sa1b(self, raw: bytes, source: str) -> bool:
        """Adds the rows of an SA-1B-style file read by the core's simdjson reader if the file
        is clean in every respect (every annotation an object with compressed counts of the
        image's size, ids, area and box that fit their columns, no repeated key, ...); else
        adds nothing and returns False, and the caller reads the file with orjson and adds
        its rows one by one. The rows are exactly those `add_annotation` would add."""
        read = self.cols.read_sa1b(raw)
        if read is None:
            return False
        n, image, image_id = read
        self.source += [source] * n
        self.image_id += [image_id] * n
        self.problem += [None] * n
        self.image += [image] * n
        self._added()
        return True

    def _added(self) -> None:
        if len(self.source) >= FLUSH_ROWS or self.cols.counts_bytes >= FLUSH_BYTES:
            self.flush()

    # -- writing --------------------------------------------------------------------------------
    def flush(self) -> None:
        n = len(self.source)
        if n == 0:
            return
        cols = self.cols.take()
        counts_at = np.concatenate(([0], cols["counts_end"]))
        extra_at = np.concatenate(([0], cols["extra_end"]))
        start = 0
        if counts_at[n] >= _GROUP_LIMIT:  # (one huge file): row groups Arrow can index
            for i in range(n):
                if counts_at[i + 1] - counts_at[start] >= _GROUP_LIMIT and i > start:
                    self._write(cols, counts_at, extra_at, start, i)
                    start = i
        self._write(cols, counts_at, extra_at, start, n)
        self._reset()

    def _write(self, cols: dict[str, Any], counts_at: np.ndarray, extra_at: np.ndarray,
               lo: int, hi: int) -> None:
        """Validates, measures and writes rows lo..hi as one row group."""
        n = hi - lo
        counts_data, counts_offsets = _span(cols["counts"], counts_at, lo, hi)
        heights = cols["height"][lo:hi]
        widths = cols["width"][lo:hi]
        bad: list[tuple[int, str]] = []
        # Null rows have size 0x0 and an empty string: a valid empty mask, ignored below.
        areas, boxes = _core.measure_strings(counts_data, counts_offsets, heights, widths, 1, bad)
        problem = self.problem[lo:hi]
        for i, message in bad:
            problem[i] = f"{BAD_COUNTS}: {message}"
        valid = cols["has_mask"][lo:hi].copy()
        for i, _ in bad:
            valid[i] = False
        invalid = pa.array(~valid)
        mask = pa.ExtensionArray.from_storage(MASK_TYPE, pa.StructArray.from_arrays(
            [pa.array(heights), pa.array(widths),
             _strings(counts_data, counts_offsets, cols["has_mask"][lo:hi])],
            fields=list(MASK_TYPE.storage_type), mask=invalid))
        extra = _strings(*_span(cols["extra"], extra_at, lo, hi), cols["has_extra"][lo:hi])

        def column(name: str, values: np.ndarray) -> pa.Array:
            return pa.array(values[lo:hi], mask=~cols["has_" + name][lo:hi])

        batch = pa.RecordBatch.from_arrays([
            pa.array(self.source[lo:hi], pa.string()),
            pa.array(self.image_id[lo:hi], pa.int64()),
            column("ann_id", cols["ann_id"]),
            column("category_id", cols["category_id"]),
            mask,
            pa.array(areas.astype(np.int64), mask=~valid),
            pa.FixedSizeListArray.from_arrays(pa.array(boxes.ravel()), 4, mask=invalid),
            column("stored_area", cols["stored_area"]),
            pa.FixedSizeListArray.from_arrays(pa.array(cols["stored_bbox"][lo:hi].ravel()), 4,
                                              mask=pa.array(~cols["has_stored_bbox"][lo:hi])),
            pa.array(problem, pa.string()),
            pa.array(self.image[lo:hi], pa.string()),
            extra,
        ], schema=SCHEMA)
        self.writer.write_batch(batch, row_group_size=n)
        self.rows += n
        good = areas[valid]
        self.masks += len(good)
        self.area_hist += np.bincount(np.searchsorted(AREA_EDGES, good, side="right") - 1,
                                      minlength=len(AREA_EDGES))
        for text in problem:
            if text is not None:
                self.problems[text.split(":", 1)[0]] += 1


def _span(data: np.ndarray, at: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """The bytes and int32 offsets of rows lo..hi of strings stored back to back (`at`: where
    each row starts, and the end)."""
    return data[at[lo]:at[hi]], (at[lo:hi + 1] - at[lo]).astype(np.int32)


def _strings(data: np.ndarray, offsets: np.ndarray, valid: np.ndarray) -> pa.Array:
    """An Arrow string column over `data` (UTF-8 by construction: JSON text, simdjson
    validates its strings and the Python path encodes str) without a Python object per row."""
    return pa.StringArray.from_buffers(
        len(valid), pa.py_buffer(offsets), pa.py_buffer(data),
        pa.py_buffer(np.packbits(valid, bitorder="little")))


def _read(path: str) -> bytes:
    """The bytes of a regular file. Opened without blocking, so a FIFO or device named like an
    input file is refused instead of hanging the job."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return f.read()


def add_file(rows: Rows, path: str, source: str) -> tuple[int, int]:
    """Adds the rows of one input file; returns (bytes read, images)."""
    try:
        raw = _read(path)
    except OSError as error:
        rows.add_problem(source, UNREADABLE_FILE, f"{type(error).__name__}: "
                         f"{error.strerror or error}")
        return 0, 0
    if FAST_PATH and rows.add_sa1b(raw, source):
        return len(raw), 1
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        rows.add_problem(source, BAD_JSON, str(error))
        return len(raw), 0
    if type(doc) is not dict:
        rows.add_problem(source, BAD_LAYOUT, f"the file holds a JSON {_kind(doc)}, not an object")
        return len(raw), 0
    anns = doc.get("annotations")
    if type(anns) is not list:
        rows.add_problem(source, BAD_LAYOUT, "the file has no 'annotations' list")
        return len(raw), 0
    if "image" in doc:
        return len(raw), _add_image_file(rows, doc["image"], anns, source)
    if type(doc.get("images")) is list:
        return len(raw), _add_coco_file(rows, doc["images"], anns, source)
    rows.add_problem(source, BAD_LAYOUT, "the file has neither an 'image' object (SA-1B) nor "
                     "an 'images' list (COCO)")
    return len(raw), 0


def _image_facts(image: Any, id_key: str) -> tuple[int | None, str | None, tuple[int, int] | None]:
    """(image id, image record as JSON, (height, width) when both are valid integers)."""
    image_id = _int64(image.get(id_key))
    h, w = image.get("height"), image.get("width")
    size = (h, w) if _size_problem([h, w]) is None else None
    return image_id, _dumps(image).decode(), size


def _add_image_file(rows: Rows, image: Any, anns: list[Any], source: str) -> int:
    """An SA-1B-style file: one image and its annotations."""
    if type(image) is not dict:
        rows.add_problem(source, BAD_LAYOUT, f"'image' must be an object, got {_kind(image)}")
        return 0
    image_id, record, size = _image_facts(image, "image_id" if "image_id" in image else "id")
    if not anns:
        rows.add_problem(source, "", "", image_id, record)
    else:
        for ann in anns:
            rows.add_annotation(ann, source, image_id, record, size)
    return 1


def _add_coco_file(rows: Rows, images: list[Any], anns: list[Any], source: str) -> int:
    """A COCO instances file: rows image by image (annotations in file order), then the
    annotations whose image is not listed."""
    by_image: dict[int, list[Any]] = {}
    orphans: list[Any] = []
    for ann in anns:
        key = _int64(ann.get("image_id")) if type(ann) is dict else None
        if key is None:
            orphans.append(ann)
        else:
            by_image.setdefault(key, []).append(ann)
    count = 0
    for k, image in enumerate(images):
        if type(image) is not dict or _int64(image.get("id")) is None:
            rows.add_problem(source, BAD_IMAGE, f"images[{k}] is not an object with an integer "
                             "'id'")
            continue
        image_id, record, size = _image_facts(image, "id")
        count += 1
        mine = by_image.pop(image_id, []) if image_id is not None else []
        if not mine:
            rows.add_problem(source, "", "", image_id, record)
        for ann in mine:
            rows.add_annotation(ann, source, image_id, record, size)
    for image_id, rest in by_image.items():
        for ann in rest:
            rows.add_annotation(ann, source, image_id, None, None)
    for ann in orphans:
        image_id = _int64(ann.get("image_id")) if type(ann) is dict else None
        rows.add_annotation(ann, source, image_id, None, None)
    return count


def convert_files(files: list[tuple[str, str]], part: str,
                  compression: str = "zstd") -> dict[str, Any]:
    """Converts (path, source) files into the Parquet file `part` (written under a temporary
    name and renamed once complete); returns the shard's statistics."""
    partial = part + ".partial"
    bytes_read = images = 0
    cpu = time.process_time()
    with pq.ParquetWriter(partial, SCHEMA, compression=compression,
                          use_dictionary=["source", "problem", "image"],
                          write_statistics=_STATISTICS) as writer:
        rows = Rows(writer)
        for path, source in files:
            size, found = add_file(rows, path, source)
            bytes_read += size
            images += found
        rows.flush()
    os.replace(partial, part)
    return {"files": len(files), "bytes": bytes_read, "images": images, "rows": rows.rows,
            "cpu_seconds": time.process_time() - cpu,
            "masks": rows.masks, "problems": dict(rows.problems),
            "area_hist": rows.area_hist.tolist()}
