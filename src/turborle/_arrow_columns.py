"""The ``turborle.rle`` Arrow extension type and the conversions between Arrow columns and
the core's batches (``_core.RLEs``). Below batch.py: nothing here knows RLEBatch; the public
API is turborle.arrow. Importing this module needs pyarrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

try:
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "turborle.arrow needs pyarrow: pip install 'turborle[arrow]'") from error

from turborle import _core

EXTENSION_NAME = "turborle.rle"
# Row groups of about this many bytes: a reader streams a file one group at a time, so this
# bounds its memory while keeping groups large enough to read and compress well.
ROW_GROUP_BYTES = 32 << 20

CountsLayout = Literal["string", "list"]

_STRING_TYPES = (pa.string(), pa.large_string())
_LIST_TYPE = pa.large_list(pa.int64())


def _storage(counts: pa.DataType) -> pa.StructType:
    return pa.struct([("height", pa.int64()), ("width", pa.int64()), ("counts", counts)])


def _is_rle_storage(storage: pa.DataType) -> bool:
    return bool(storage in (_storage(t) for t in (*_STRING_TYPES, _LIST_TYPE)))


class RLEType(pa.ExtensionType):  # type: ignore[misc]  # (pyarrow is untyped)
    """The Arrow extension type ``turborle.rle``: one RLE mask per value.

    Use :func:`rle_type` to make one. ``counts_layout`` is ``"string"`` (COCO compressed
    strings) or ``"list"`` (run lengths).
    """

    def __init__(self, storage: pa.DataType) -> None:
        if not _is_rle_storage(storage):
            raise TypeError(
                f"{EXTENSION_NAME} storage must be struct<height: int64, width: int64, counts: "
                f"string | large_string | large_list<int64>>, got {storage}")
        super().__init__(storage, EXTENSION_NAME)

    @property
    def counts_layout(self) -> CountsLayout:
        counts = self.storage_type.field("counts").type
        return "string" if counts in _STRING_TYPES else "list"

    def __arrow_ext_serialize__(self) -> bytes:
        return b""  # the storage type says everything

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> RLEType:
        return cls(storage_type)

    def __arrow_ext_class__(self) -> type[pa.ExtensionArray]:
        return RLEArray

    def __reduce__(self) -> tuple[Any, ...]:
        return RLEType, (self.storage_type,)


class RLEArray(pa.ExtensionArray):  # type: ignore[misc]
    """An Arrow array of ``turborle.rle`` masks (``turborle.from_arrow`` reads it)."""


def rle_type(counts: CountsLayout = "string", *, large: bool = False) -> RLEType:
    """The ``turborle.rle`` type with ``counts`` as COCO strings or run-length lists.

    ``large`` picks ``large_string`` (64-bit offsets) for string counts, needed for more than
    2 GiB of counts in one array. List counts are always ``large_list<int64>``.
    """
    if counts == "string":
        return RLEType(_storage(pa.large_string() if large else pa.string()))
    if counts == "list":
        return RLEType(_storage(_LIST_TYPE))
    raise ValueError(f"counts must be 'string' or 'list', got {counts!r}")


def _register() -> None:
    try:
        pa.register_extension_type(rle_type())
    except pa.ArrowKeyError:
        pass  # already registered (this module was imported before, e.g. reloaded)


_register()


# ---- RLEs -> Arrow -------------------------------------------------------------------------


def _int64_view(values: np.ndarray[Any, Any]) -> pa.Array:
    """An int64 Arrow array over a uint64 numpy array, no copy (values are < 2**62). The
    Arrow buffer holds a reference to the numpy array, which holds the batch's memory."""
    view = values.view(np.int64)
    return pa.Array.from_buffers(pa.int64(), len(view), [None, pa.py_buffer(view)])


def rles_to_arrow(rles: _core.RLEs, counts: CountsLayout = "string",
                  threads: int | None = None) -> pa.ExtensionArray:
    """The masks of ``batch`` as a ``turborle.rle`` Arrow array.

    ``counts="string"`` writes each mask's COCO compressed string (the core serialises them
    into one buffer, with the GIL released). ``counts="list"`` shares the batch's run lengths,
    offsets and sizes without a copy: the array keeps the batch's memory alive.
    """
    counts_col, offsets, heights, widths = rles.arrays()
    n = len(heights)
    if counts == "list":
        runs = pa.LargeListArray.from_buffers(
            _LIST_TYPE, n, [None, pa.py_buffer(offsets.view(np.int64))],
            children=[_int64_view(counts_col)])
        ext_type = rle_type("list")
    elif counts == "string":
        data, string_offsets = _core.to_strings(rles, threads)
        large = len(data) > np.iinfo(np.int32).max
        if not large:
            string_offsets = string_offsets.astype(np.int32)
        runs = pa.Array.from_buffers(
            pa.large_string() if large else pa.string(), n,
            [None, pa.py_buffer(string_offsets), pa.py_buffer(data)])
        ext_type = rle_type("string", large=large)
    else:
        raise ValueError(f"counts must be 'string' or 'list', got {counts!r}")
    storage = pa.StructArray.from_arrays(
        [_int64_view(heights), _int64_view(widths), runs], fields=list(ext_type.storage_type))
    return pa.ExtensionArray.from_storage(ext_type, storage)


# ---- Arrow -> RLEs ---------------------------------------------------------------------------


def _chunks(array: Any) -> Sequence[pa.Array]:
    if isinstance(array, pa.ChunkedArray):
        return list(array.chunks)
    if isinstance(array, pa.Array):
        return [array]
    raise TypeError(f"expected a pyarrow Array or ChunkedArray of masks, got "
                    f"{type(array).__name__}")


def _integers(column: pa.Array, what: str) -> np.ndarray[Any, Any]:
    if not pa.types.is_integer(column.type):
        raise TypeError(f"{what} must be integers, got {column.type}")
    if column.null_count:
        raise ValueError(f"{what} has a null at row {_first_null(column)}")
    return column.to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]


def _first_null(column: pa.Array) -> int:
    return int(np.argmax(~column.is_valid().to_numpy(zero_copy_only=False)))


def _columns(storage: pa.StructArray) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], pa.Array]:
    """(heights, widths, counts child) of a struct column in any accepted layout."""
    names = {storage.type.field(i).name for i in range(storage.type.num_fields)}
    if "counts" not in names:
        raise TypeError(f"a mask struct needs a 'counts' field, got fields {sorted(names)}")
    if {"height", "width"} <= names:
        heights = _integers(storage.field("height"), "height")
        widths = _integers(storage.field("width"), "width")
    elif "size" in names:
        size = storage.field("size")
        if not (pa.types.is_list(size.type) or pa.types.is_large_list(size.type)
                or pa.types.is_fixed_size_list(size.type)):
            raise TypeError(f"'size' must be a list [h, w], got {size.type}")
        if size.null_count:
            raise ValueError(f"'size' has a null at row {_first_null(size)}")
        lengths = pc.list_value_length(size).to_numpy(zero_copy_only=False)
        if len(lengths) and (lengths != 2).any():
            row = int(np.argmax(lengths != 2))
            raise ValueError(f"mask {row}: 'size' must have two entries [h, w], got "
                             f"{int(lengths[row])}")
        hw = _integers(pc.list_flatten(size), "size").reshape(-1, 2)
        heights, widths = hw[:, 0], hw[:, 1]
    else:
        raise TypeError("a mask struct needs 'height' and 'width' fields or a 'size' field, "
                        f"got fields {sorted(names)}")
    counts = storage.field("counts")
    if counts.null_count:
        raise ValueError(f"mask {_first_null(counts)}: counts is null")
    return heights, widths, counts


def _string_buffers(counts: pa.Array) -> tuple[Any, np.ndarray[Any, Any]]:
    """(data, offsets) of a string column, in place (offsets sliced to this array)."""
    _, offsets_buf, data_buf = counts.buffers()
    dtype = np.int64 if pa.types.is_large_string(counts.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=dtype)[counts.offset:counts.offset + len(counts) + 1]
    data = data_buf if data_buf is not None else b""
    return data, offsets


def _rles_of_chunk(chunk: pa.Array, threads: int | None) -> _core.RLEs:
    storage = chunk.storage if isinstance(chunk, pa.ExtensionArray) else chunk
    if not pa.types.is_struct(storage.type):
        raise TypeError(f"expected a {EXTENSION_NAME} column or a struct of size and counts, "
                        f"got {chunk.type}")
    if storage.null_count:
        raise ValueError(f"mask {_first_null(storage)} is null; drop nulls first "
                         "(e.g. table.filter(pyarrow.compute.is_valid(table['mask'])))")
    heights, widths, counts = _columns(storage)
    if pa.types.is_string(counts.type) or pa.types.is_large_string(counts.type):
        data, offsets = _string_buffers(counts)
        return _core.from_strings(data, offsets, heights, widths, threads)
    if pa.types.is_list(counts.type) or pa.types.is_large_list(counts.type):
        if not pa.types.is_integer(counts.type.value_type):
            raise TypeError(f"counts lists must hold integers, got {counts.type}")
        offsets = counts.offsets.to_numpy().astype(np.int64)
        start, stop = int(offsets[0]), int(offsets[-1])
        values = counts.values.slice(start, stop - start)
        return _core.from_arrays(_integers(values, "counts"), offsets - start, heights, widths)
    if pa.types.is_binary(counts.type) or pa.types.is_large_binary(counts.type):
        data, offsets = _string_buffers(counts)
        return _core.from_strings(data, offsets, heights, widths, threads)
    raise TypeError(f"counts must be a string or a list of integers, got {counts.type}")


def rles_of(array: Any, threads: int | None = None) -> _core.RLEs:
    """The core's batch for an Arrow column of masks (what ``turborle.area`` etc. call)."""
    parts = [_rles_of_chunk(chunk, threads) for chunk in _chunks(array)]
    return parts[0] if len(parts) == 1 else _core.concat(parts)


