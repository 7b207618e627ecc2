"""RLE masks as an Arrow column, and Parquet files of them (extra ``turborle[arrow]``).

Arrow has no standard type for masks, so each project invents a struct of size and counts.
turborle registers one extension type, ``turborle.rle``, whose storage is a struct of

* ``height: int64``, ``width: int64``, and
* ``counts``: either the COCO compressed string (``string`` or ``large_string``; the layout
  datasets are stored in, and byte-identical to what COCO JSON files hold) or the run lengths
  (``large_list<int64>``; what an :class:`~turborle.RLEBatch` holds, shared without a copy).

Parquet files keep the type (pyarrow stores it in the file's Arrow schema), and tools that do
not know it still read the plain struct. :func:`from_arrow` also takes plain struct columns
written by other tools: ``{"height", "width", "counts"}`` or COCO's ``{"size": [h, w],
"counts"}`` (as ``pyarrow.json`` reads a COCO file), with string or integer-list counts.

``turborle.area``, ``bbox``, ``iou``, ``decode``, ``merge`` and ``complement`` take such a
column directly: the counts strings are parsed from the Arrow buffers in place, with no Python
object per mask and the GIL released.

Importing this module needs pyarrow; ``import turborle`` does not.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "turborle.arrow needs pyarrow: pip install 'turborle[arrow]'") from error

from turborle._arrow_columns import (
    EXTENSION_NAME,
    ROW_GROUP_BYTES,
    CountsLayout,
    RLEType,
    rle_type,
    rles_of,
    rles_to_arrow,
)
from turborle.batch import RLEBatch

__all__ = [
    "EXTENSION_NAME",
    "RLEType",
    "from_arrow",
    "iter_parquet",
    "read_parquet",
    "rle_type",
    "to_arrow",
    "write_parquet",
]

def to_arrow(batch: RLEBatch, counts: CountsLayout = "string", *,
             threads: int | None = None) -> pa.ExtensionArray:
    """The masks of ``batch`` as a ``turborle.rle`` Arrow array (see ``RLEBatch.to_arrow``)."""
    if not isinstance(batch, RLEBatch):
        raise TypeError(f"expected an RLEBatch, got {type(batch).__name__}")
    return rles_to_arrow(batch._rles, counts, threads)


def from_arrow(array: Any, *, threads: int | None = None) -> RLEBatch:
    """An :class:`~turborle.RLEBatch` from an Arrow column of masks.

    Parameters
    ----------
    array : pyarrow.Array or pyarrow.ChunkedArray
        A ``turborle.rle`` column, or a plain struct column ``{"height", "width", "counts"}``
        or ``{"size": [h, w], "counts"}`` with counts as COCO strings (string / binary) or
        run-length lists of integers. Nulls are refused (``ValueError`` naming the row).

    Every string and count list is validated as :func:`turborle.from_coco` does; strings are
    parsed in place from the Arrow buffers with the GIL released.
    """
    return RLEBatch._wrap(rles_of(array, threads))


# ---- Parquet -------------------------------------------------------------------------------------


def _table(data: Any, column: str) -> pa.Table:
    if isinstance(data, RLEBatch):
        return pa.table({column: to_arrow(data)})
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    raise TypeError(f"expected an RLEBatch or a pyarrow Table, got {type(data).__name__}")


def row_group_rows(table: pa.Table, target_bytes: int = ROW_GROUP_BYTES) -> int:
    """Rows per row group so that a group holds about ``target_bytes`` of ``table``."""
    if table.num_rows == 0:
        return 1
    per_row = max(1, table.nbytes // table.num_rows)
    return int(max(1, min(table.num_rows, target_bytes // per_row)))


def write_parquet(data: Any, path: str | os.PathLike[str], *, column: str = "mask",
                  row_group_bytes: int = ROW_GROUP_BYTES, compression: str = "zstd") -> None:
    """Write masks to a Parquet file, keeping the ``turborle.rle`` type.

    ``data`` is an :class:`~turborle.RLEBatch` (written as one column named ``column``, counts
    as COCO strings) or a pyarrow Table. Row groups hold about ``row_group_bytes`` each, so a
    reader streams the file a group at a time.
    """
    table = _table(data, column)
    pq.write_table(table, os.fspath(path), row_group_size=row_group_rows(table, row_group_bytes),
                   compression=compression)


def read_parquet(path: str | os.PathLike[str], *, columns: list[str] | None = None) -> pa.Table:
    """Read a Parquet file or a directory of them (a dataset) into one table.

    ``turborle.rle`` columns come back with their type. For data larger than memory, use
    :func:`iter_parquet`.
    """
    return pq.read_table(os.fspath(path), columns=columns)


def iter_parquet(path: str | os.PathLike[str], *, columns: list[str] | None = None,
                 batch_rows: int = 65536) -> Iterator[pa.RecordBatch]:
    """Record batches of a Parquet file or dataset directory, read one row group at a time
    (memory bounded by a row group, whatever the file size)."""
    import pyarrow.dataset as ds

    dataset = ds.dataset(os.fspath(path), format="parquet")
    yield from dataset.to_batches(columns=columns, batch_size=batch_rows)
