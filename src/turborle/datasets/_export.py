"""The export job: a dataset written by the import job back to JSON files.

Per-image files (SA-1B style) or one COCO file. Rows are read a record batch at a time, in the
dataset's order (the import keeps each image's rows together), so memory is bounded by one
image's rows, plus, for a COCO file, one small record per image. Each mask's ``counts`` is
written exactly as stored: byte-identical to the input's compressed counts. Rows without a
mask (problems) are skipped and counted. The output is written under a temporary name and put
in place only once complete.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from turborle.arrow import iter_parquet
from turborle.datasets._jobs import MARKER, _check_replaceable, replace_output

EXPORT_MARKER = "_turborle_export.json"
_COLUMNS = ["source", "image_id", "ann_id", "category_id", "mask", "area", "bbox",
            "stored_area", "stored_bbox", "problem", "image", "extra"]


@dataclass
class ExportSummary:
    """What an export wrote."""

    images: int = 0
    masks: int = 0
    skipped: int = 0  # rows without a usable mask
    files: int = 0

    def format(self) -> str:
        return (f"wrote {self.masks} masks of {self.images} images to {self.files} files; "
                f"skipped {self.skipped} rows without a usable mask")


def _number(value: float) -> float | int:
    """Areas were read as float64; write whole numbers as integers, as the input had them."""
    return int(value) if value.is_integer() else value


def _annotation(row: dict[str, Any], with_image_id: bool) -> dict[str, Any]:
    mask = row["mask"]
    ann: dict[str, Any] = {}
    if row["ann_id"] is not None:
        ann["id"] = row["ann_id"]
    if with_image_id and row["image_id"] is not None:
        ann["image_id"] = row["image_id"]
    if row["category_id"] is not None:
        ann["category_id"] = row["category_id"]
    ann["segmentation"] = {"size": [mask["height"], mask["width"]], "counts": mask["counts"]}
    stored_area = row["stored_area"]
    ann["area"] = _number(stored_area) if stored_area is not None else row["area"]
    ann["bbox"] = row["stored_bbox"] if row["stored_bbox"] is not None else row["bbox"]
    if row["extra"] is not None:
        ann.update(orjson.loads(row["extra"]))
    return ann


def _images(dataset: str | os.PathLike[str], summary: ExportSummary
            ) -> Iterator[tuple[dict[str, Any] | None, int | None, list[dict[str, Any]]]]:
    """(image record, image id, rows with a mask) for each image, in the dataset's order."""
    key: tuple[Any, Any] | None = None
    record: dict[str, Any] | None = None
    image_id: int | None = None
    rows: list[dict[str, Any]] = []
    started = False
    for batch in iter_parquet(dataset, columns=_COLUMNS):
        for row in batch.to_pylist():
            if row["image_id"] is None and row["image"] is None:  # not an image: a bad file
                summary.skipped += 1
                continue
            row_key = (row["source"], row["image_id"])
            if row_key != key:
                if started and (record is not None or rows):
                    yield record, image_id, rows
                started, key, rows = True, row_key, []
                image_id = row["image_id"]
                record = orjson.loads(row["image"]) if row["image"] is not None else None
            if row["mask"] is None:
                if row["ann_id"] is not None or row["problem"] is not None:
                    summary.skipped += 1
                continue
            rows.append(row)
    if started and (record is not None or rows):  # (not an image the input never had)
        yield record, image_id, rows


def _image_record(record: dict[str, Any] | None, image_id: int | None,
                  rows: list[dict[str, Any]], id_key: str) -> dict[str, Any]:
    if record is not None:
        return record
    made: dict[str, Any] = {id_key: image_id}
    if rows:
        made["height"], made["width"] = rows[0]["mask"]["height"], rows[0]["mask"]["width"]
    return made


def _file_name(record: dict[str, Any], image_id: int | None, used: set[str]) -> str:
    name = record.get("file_name")
    stem = Path(name).stem if isinstance(name, str) and Path(name).stem else None
    for candidate in (stem, f"image_{image_id}"):
        if candidate and candidate + ".json" not in used:
            used.add(candidate + ".json")
            return candidate + ".json"
    k = len(used)
    while f"image_{image_id}_{k}.json" in used:
        k += 1
    used.add(f"image_{image_id}_{k}.json")
    return f"image_{image_id}_{k}.json"


def export_dataset(dataset: str | os.PathLike[str], dest: str | os.PathLike[str] | None = None,
                   *, coco: str | os.PathLike[str] | None = None) -> ExportSummary:
    """Write a dataset made by :func:`import_dataset` back to JSON.

    Parameters
    ----------
    dataset : path
        The Parquet dataset folder.
    dest : path, optional
        A folder to fill with one SA-1B-style file per image (named after the image's
        ``file_name``, else its id). It is written under a temporary name and put in place
        once complete; an earlier export there is replaced, anything else is refused.
    coco : path, optional
        Instead, one COCO file (``images``, ``annotations``; ``categories`` is empty: the
        dataset keeps category ids only), also replaced only once complete.

    Compressed counts are written exactly as stored (byte-identical to the imported files);
    polygons and uncompressed counts were converted to compressed counts at import.
    """
    if (dest is None) == (coco is None):
        raise ValueError("give exactly one of dest (a folder of per-image files) or coco (a file)")
    if not (Path(dataset) / MARKER).is_file():
        raise FileNotFoundError(f"{os.fspath(dataset)} is not a dataset written by "
                                "turborle dataset import")
    summary = ExportSummary()
    if coco is not None:
        _export_coco(dataset, Path(coco).absolute(), summary)
    else:
        assert dest is not None
        _export_images(dataset, Path(dest).absolute(), summary)
    return summary


def _export_images(dataset: str | os.PathLike[str], out: Path, summary: ExportSummary) -> None:
    _check_replaceable_export(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        used: set[str] = set()
        for record, image_id, rows in _images(dataset, summary):
            image = _image_record(record, image_id, rows, "image_id")
            doc = {"image": image, "annotations": [_annotation(r, False) for r in rows]}
            (tmp / _file_name(image, image_id, used)).write_bytes(orjson.dumps(doc))
            summary.images += 1
            summary.masks += len(rows)
            summary.files += 1
        (tmp / EXPORT_MARKER).write_bytes(orjson.dumps({"written_by": "turborle dataset export"}))
        _check_replaceable_export(out)
        replace_output(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _check_replaceable_export(out: Path) -> None:
    if out.is_dir() and (out / EXPORT_MARKER).is_file():
        return
    _check_replaceable(out, "folder")


def _export_coco(dataset: str | os.PathLike[str], out: Path, summary: ExportSummary) -> None:
    if out.is_dir():
        raise IsADirectoryError(f"--coco must name a file, got the folder {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex[:8]}")
    images: list[bytes] = []
    try:
        with open(tmp, "wb") as f:
            f.write(b'{"annotations":[')
            first = True
            for record, image_id, rows in _images(dataset, summary):
                image = _image_record(record, image_id, rows, "id")
                if "id" not in image and image_id is not None:  # an SA-1B record
                    image = {"id": image_id, **image}
                images.append(orjson.dumps(image))
                for row in rows:
                    f.write((b"" if first else b",") + orjson.dumps(_annotation(row, True)))
                    first = False
                summary.images += 1
                summary.masks += len(rows)
            f.write(b'],"images":[' + b",".join(images) + b'],"categories":[]}')
        os.replace(tmp, out)
        summary.files = 1
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
