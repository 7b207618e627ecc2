"""RLE masks as Arrow columns and Parquet files (turborle.arrow), checked against pycocotools.

Counts strings come from pycocotools' encoder, areas and boxes from pycocotools' area/toBbox,
and dense masks from pycocotools' decode, so nothing here checks turborle against itself.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from turborle.testing.generators import MASK_KINDS as KINDS
from turborle.testing.generators import random_masks as make_masks

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
coco_mask = pytest.importorskip("pycocotools.mask")

import turborle  # noqa: E402
from turborle import _core  # noqa: E402
from turborle.arrow import (  # noqa: E402
    EXTENSION_NAME,
    RLEType,
    from_arrow,
    iter_parquet,
    read_parquet,
    rle_type,
    to_arrow,
    write_parquet,
)

# pycocotools' decode warns under numpy 2: its warning, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")


def random_masks(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    """(n, h, w) bool masks of mixed kinds (empty, full, noise, blobs, long runs)."""
    kinds = [KINDS[int(k)] for k in rng.integers(0, len(KINDS), n)]
    return np.stack([make_masks(rng, h, w, 1, kind)[:, :, 0] for kind in kinds]).astype(bool) \
        if n else np.zeros((0, h, w), bool)


def _pycoco_rles(masks: np.ndarray) -> list[dict]:
    """pycocotools' RLEs of (n, h, w) masks, counts as str."""
    rles = coco_mask.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))
    return [{"size": r["size"], "counts": r["counts"].decode("ascii")} for r in rles]


def _as_bytes(rles: list[dict]) -> list[dict]:
    return [{"size": r["size"], "counts": r["counts"].encode("ascii")} for r in rles]


@pytest.fixture(params=[(0, 5, 7, 9), (1, 12, 31, 17), (2, 40, 64, 48), (3, 1, 0, 4)],
                ids=["5x7x9", "12x31x17", "40x64x48", "empty-size"])
def masks(request) -> np.ndarray:
    seed, n, h, w = request.param
    return random_masks(np.random.default_rng(seed), n, h, w)


def test_string_column_holds_pycocotools_counts(masks):
    expected = _pycoco_rles(masks)
    column = turborle.encode(masks).to_arrow()
    assert isinstance(column.type, RLEType)
    assert column.type.extension_name == EXTENSION_NAME
    assert column.type.counts_layout == "string"
    assert column.storage.field("counts").to_pylist() == [r["counts"] for r in expected]
    assert column.storage.field("height").to_pylist() == [r["size"][0] for r in expected]
    assert column.storage.field("width").to_pylist() == [r["size"][1] for r in expected]


@pytest.mark.parametrize("layout", ["string", "list"])
def test_round_trip_and_measures_match_pycocotools(masks, layout):
    expected = _as_bytes(_pycoco_rles(masks))
    column = turborle.encode(masks).to_arrow(layout)
    back = from_arrow(column)
    assert [r["counts"] for r in back.to_coco()] == [r["counts"].decode() for r in expected]
    direct = turborle.to_coco(column)  # the column itself, no batch built first
    assert [r["counts"] for r in direct] == [r["counts"].decode() for r in expected]
    assert [r["size"] for r in direct] == [list(r["size"]) for r in expected]
    np.testing.assert_array_equal(turborle.area(column), coco_mask.area(expected))
    np.testing.assert_array_equal(turborle.bbox(column), coco_mask.toBbox(expected))
    if masks.shape[1] * masks.shape[2]:
        np.testing.assert_array_equal(turborle.decode(column, "F").transpose(1, 2, 0),
                                      coco_mask.decode(expected).astype(bool))


def test_list_layout_shares_the_batch_memory(masks):
    batch = turborle.encode(masks)
    column = batch.to_arrow("list")
    runs = column.storage.field("counts")
    assert runs.type == pa.large_list(pa.int64())
    values = np.frombuffer(runs.values.buffers()[1], dtype=np.int64)
    assert np.shares_memory(values, batch.counts)
    expected = [list(map(int, batch.counts[a:b])) for a, b in zip(batch.offsets[:-1],
                                                                   batch.offsets[1:])]
    del batch  # the column keeps the memory alive
    assert runs.to_pylist() == expected


def test_iou_of_arrow_columns_matches_pycocotools():
    rng = np.random.default_rng(7)
    dt, gt = random_masks(rng, 9, 30, 20), random_masks(rng, 6, 30, 20)
    crowd = [0, 1, 0, 0, 1, 0]
    expected = coco_mask.iou(_as_bytes(_pycoco_rles(dt)), _as_bytes(_pycoco_rles(gt)), crowd)
    got = turborle.iou(turborle.encode(dt).to_arrow(), turborle.encode(gt).to_arrow("list"),
                       crowd)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_merge_and_complement_of_an_arrow_column():
    masks = random_masks(np.random.default_rng(3), 4, 16, 12)
    column = turborle.encode(masks).to_arrow()
    union = turborle.merge(column)
    expected = coco_mask.merge(_as_bytes(_pycoco_rles(masks)), intersect=0)
    assert union.to_coco()[0]["counts"] == expected["counts"].decode()
    np.testing.assert_array_equal(turborle.decode(turborle.complement(column)), ~masks)


def test_slices_and_chunks():
    masks = random_masks(np.random.default_rng(11), 10, 13, 8)
    expected = [r["counts"] for r in _pycoco_rles(masks)]
    for layout in ("string", "list"):
        column = turborle.encode(masks).to_arrow(layout)
        assert [r["counts"] for r in from_arrow(column.slice(3, 4)).to_coco()] == expected[3:7]
        chunked = pa.chunked_array([column.slice(0, 2), column.slice(2)])
        assert [r["counts"] for r in from_arrow(chunked).to_coco()] == expected
        np.testing.assert_array_equal(turborle.area(chunked[5:]), masks[5:].sum(axis=(1, 2)))


def test_plain_coco_struct_read_by_pyarrow_json(tmp_path):
    """A COCO-style JSON lines file, read by pyarrow.json: {"size": [h, w], "counts": str}."""
    masks = random_masks(np.random.default_rng(5), 6, 21, 14)
    rles = _pycoco_rles(masks)
    path = tmp_path / "masks.jsonl"
    path.write_text("\n".join(json.dumps({"segmentation": r}) for r in rles))
    from pyarrow import json as pa_json

    table = pa_json.read_json(path)
    column = table["segmentation"]
    assert pa.types.is_struct(column.type)
    np.testing.assert_array_equal(turborle.area(column), coco_mask.area(_as_bytes(rles)))
    assert [r["counts"] for r in from_arrow(column).to_coco()] == [r["counts"] for r in rles]


def test_plain_struct_with_uncompressed_counts():
    """COCO crowd masks store counts as a list of run lengths."""
    masks = random_masks(np.random.default_rng(9), 5, 9, 11)
    compressed = _pycoco_rles(masks)
    runs = []
    for r in compressed:
        dense = coco_mask.decode(_as_bytes([r])[0]).ravel(order="F")
        edges = np.concatenate([[0], np.flatnonzero(np.diff(dense)) + 1, [dense.size]])
        counts = np.diff(edges).tolist()
        runs.append(([0] if dense[0] else []) + counts)
    for value_type in (pa.int32(), pa.uint32(), pa.int64()):
        column = pa.array([{"size": r["size"], "counts": c} for r, c in zip(compressed, runs)],
                          pa.struct([("size", pa.list_(pa.int64())),
                                     ("counts", pa.list_(value_type))]))
        got = from_arrow(column.slice(1)).to_coco()
        assert [g["counts"] for g in got] == [r["counts"] for r in compressed[1:]]


def test_height_width_struct_with_binary_counts():
    masks = random_masks(np.random.default_rng(2), 4, 10, 10)
    rles = _pycoco_rles(masks)
    column = pa.array([{"height": 10, "width": 10, "counts": r["counts"].encode()} for r in rles],
                      pa.struct([("height", pa.int32()), ("width", pa.int32()),
                                 ("counts", pa.binary())]))
    assert [g["counts"] for g in from_arrow(column).to_coco()] == [r["counts"] for r in rles]


def test_large_string_storage():
    masks = random_masks(np.random.default_rng(4), 3, 6, 6)
    rles = _pycoco_rles(masks)
    storage = pa.array([{"height": 6, "width": 6, "counts": r["counts"]} for r in rles],
                       rle_type("string", large=True).storage_type)
    column = pa.ExtensionArray.from_storage(rle_type("string", large=True), storage)
    assert [g["counts"] for g in from_arrow(column).to_coco()] == [r["counts"] for r in rles]


# ---- bad input --------------------------------------------------------------------------------


def _string_column(counts: list[str], h: int = 2, w: int = 2):
    return pa.ExtensionArray.from_storage(rle_type(), pa.array(
        [{"height": h, "width": w, "counts": c} for c in counts], rle_type().storage_type))


def test_nulls_are_refused_naming_the_row():
    column = pa.ExtensionArray.from_storage(rle_type(), pa.array(
        [{"height": 1, "width": 1, "counts": "01"}, None], rle_type().storage_type))
    with pytest.raises(ValueError, match="mask 1 is null"):
        from_arrow(column)
    with pytest.raises(ValueError, match="mask 1 is null"):
        turborle.area(column)
    with pytest.raises(ValueError, match="mask 1 is null"):
        turborle.to_coco(column)


def test_invalid_counts_name_the_mask():
    # "4" is a 2x2 mask of 4 background pixels (pycocotools: area 0); "5" sums to 5 != 4.
    assert coco_mask.area([{"size": [2, 2], "counts": b"4"}])[0] == 0
    with pytest.raises(ValueError, match=r"mask 1: counts sum to more than h\*w"):
        from_arrow(_string_column(["4", "5"]))
    with pytest.raises(ValueError, match=r"mask 0: .*'~'"):
        turborle.area(_string_column(["~"]))
    with pytest.raises(ValueError, match=r"mask 1: counts sum to more than h\*w"):
        turborle.to_coco(_string_column(["4", "5"]))


def test_negative_sizes_are_refused():
    column = pa.array([{"height": -1, "width": 2, "counts": "0"}],
                      pa.struct([("height", pa.int64()), ("width", pa.int64()),
                                 ("counts", pa.string())]))
    with pytest.raises(ValueError, match="negative"):
        from_arrow(column)


def test_wrong_types_are_refused():
    with pytest.raises(TypeError, match="Array"):
        from_arrow([{"size": [1, 1], "counts": "01"}])
    with pytest.raises(TypeError, match="struct"):
        from_arrow(pa.array(["01"]))
    with pytest.raises(TypeError, match="'height' and 'width'"):
        from_arrow(pa.array([{"h": 1, "counts": "01"}]))
    with pytest.raises(ValueError, match="two entries"):
        from_arrow(pa.array([{"size": [1, 1, 1], "counts": "01"}]))
    with pytest.raises(TypeError, match="storage"):
        RLEType(pa.struct([("counts", pa.string())]))
    with pytest.raises(ValueError, match="'string' or 'list'"):
        rle_type("bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize(("offsets", "message"), [
    ([0, 2, 1], "decrease at mask 1"),
    ([0, 1, 99], "past the 2 bytes"),
    ([-1, 1, 2], "negative"),
    ([0, 1], "must have 3 entries"),
])
def test_untrusted_offsets_are_validated(offsets, message):
    """Offsets read from a file (Arrow checks them fully only when asked) never send the core
    outside the data buffer, in a column or in the binding's own arguments."""
    raw = np.array(offsets, dtype=np.int32)
    with pytest.raises(ValueError, match=message):
        _core.from_strings(b"01", raw, [1, 1], [1, 1])
    with pytest.raises(ValueError, match=message):
        _core.measure_strings(b"01", raw, [1, 1], [1, 1], 1, [])
    if len(offsets) != 3:
        return
    try:
        counts = pa.Array.from_buffers(pa.string(), 2, [None, pa.py_buffer(raw),
                                                        pa.py_buffer(b"01")])
    except pa.ArrowInvalid:
        return  # pyarrow's own cheap check refused these offsets
    storage = pa.StructArray.from_arrays([pa.array([1, 1]), pa.array([1, 1]), counts],
                                         fields=list(rle_type().storage_type))
    with pytest.raises(ValueError, match=message):
        from_arrow(pa.ExtensionArray.from_storage(rle_type(), storage))


def test_measure_strings_collects_problems_per_mask():
    data = b"4" + b"5" + b"~" + b"13"
    offsets = np.array([0, 1, 2, 3, 5], dtype=np.int64)
    problems: list[tuple[int, str]] = []
    areas, boxes = _core.measure_strings(data, offsets, [2, 2, 2, 2], [2, 2, 2, 2], 1, problems)
    assert [i for i, _ in problems] == [1, 2]
    assert "sum to more than h*w" in problems[0][1] and "'~'" in problems[1][1]
    expected = coco_mask.area([{"size": [2, 2], "counts": c} for c in (b"4", b"13")])
    assert [areas[0], areas[3]] == list(expected)
    assert np.isnan(boxes[1]).all() and np.isnan(boxes[2]).all()


# ---- Parquet ------------------------------------------------------------------------------------


def test_parquet_round_trip_keeps_the_type(tmp_path):
    masks = random_masks(np.random.default_rng(12), 50, 24, 18)
    batch = turborle.encode(masks)
    path = tmp_path / "masks.parquet"
    turborle.write_parquet(batch, path, row_group_bytes=2000)
    assert pq.ParquetFile(path).num_row_groups > 1  # sized for streaming
    table = turborle.read_parquet(path)
    assert isinstance(table.schema.field("mask").type, RLEType)
    assert from_arrow(table["mask"]) == batch
    streamed = [from_arrow(b.column("mask")) for b in iter_parquet(path, batch_rows=7)]
    assert turborle.concat(streamed) == batch
    assert [r["counts"] for r in from_arrow(table["mask"]).to_coco()] == [
        r["counts"] for r in _pycoco_rles(masks)]


def test_parquet_of_a_table_with_list_layout(tmp_path):
    masks = random_masks(np.random.default_rng(13), 8, 9, 9)
    batch = turborle.encode(masks)
    table = pa.table({"id": np.arange(8), "mask": to_arrow(batch, "list")})
    write_parquet(table, tmp_path / "t.parquet")
    back = read_parquet(tmp_path / "t.parquet")
    assert back["mask"].type == rle_type("list")
    assert from_arrow(back["mask"]) == batch


def test_type_survives_ipc_and_pickle():
    import pickle

    column = turborle.encode(random_masks(np.random.default_rng(1), 3, 5, 5)).to_arrow()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, pa.schema([("mask", column.type)])) as writer:
        writer.write_batch(pa.record_batch([column], names=["mask"]))
    back = pa.ipc.open_stream(sink.getvalue()).read_all()["mask"]
    assert back.type == column.type
    assert pickle.loads(pickle.dumps(column)).equals(column)


def test_import_turborle_does_not_need_pyarrow():
    code = ("import sys; import turborle; turborle.encode(__import__('numpy').zeros((2, 2), bool));"
            "assert 'pyarrow' not in sys.modules, 'pyarrow was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_extension_array_reads_back_as_the_batch():
    masks = random_masks(np.random.default_rng(6), 3, 4, 4)
    column = turborle.encode(masks).to_arrow()
    assert turborle.from_arrow(column) == turborle.encode(masks)
