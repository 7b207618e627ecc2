"""The dataset job (turborle.datasets): JSON mask files -> Parquet -> JSON.

A small SA-1B-like dataset (300 images, 10-40 masks each, in three folders), a COCO instances
file, and files and annotations malformed in every way we could think of. Every valid mask's
row is checked against a pycocotools re-computation from the file as the standard library's
json reads it; every bad one against the reason it was built with. The local engine and Ray
(a local Ray started by the job, and one started by the test and joined by address) must
write identical rows; the export must give back the imported counts byte for byte.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
coco_mask = pytest.importorskip("pycocotools.mask")
pytest.importorskip("orjson")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import dataset_gen  # noqa: E402

import turborle  # noqa: E402
from turborle.arrow import RLEType  # noqa: E402
from turborle.cli import dataset as dataset_cli  # noqa: E402
from turborle.datasets import SCHEMA, export_dataset, import_dataset  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")

H, W = 120, 160  # the malformed-annotation file's image


# ---- building the dataset --------------------------------------------------------------------


def _good(rng: np.random.Generator, ann_id: int, h: int = H, w: int = W) -> dict[str, Any]:
    entry = dataset_gen.mask_pool(rng, h, w, 1)[0]
    return dataset_gen.sa1b_annotation(rng, entry, ann_id, h, w)


def _with_seg(ann: dict[str, Any], seg: Any) -> dict[str, Any]:
    ann = copy.deepcopy(ann)
    ann["segmentation"] = seg
    return ann


def _uncompressed(rle: dict[str, Any]) -> list[int]:
    dense = coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()})
    flat = dense.ravel(order="F")
    edges = np.concatenate([[0], np.flatnonzero(np.diff(flat)) + 1, [flat.size]])
    return ([0] if flat[0] else []) + np.diff(edges).tolist()


def mixed_annotations(rng: np.random.Generator) -> list[tuple[Any, str | None]]:
    """(annotation, expected problem reason) for one SA-1B-style image of H x W."""
    good = _good(rng, 9000)
    seg = good["segmentation"]
    small = dataset_gen.encode_polygon(dataset_gen.random_polygon(rng, 60, 80), 60, 80)
    poly = dataset_gen.random_polygon(rng, H, W)
    cases: list[tuple[Any, str | None]] = [
        (good, None),
        (7, "bad-annotation"),
        ({"id": 9001, "area": 3}, "no-segmentation"),
        (_with_seg(good, "abc"), "bad-segmentation"),
        (_with_seg(good, {"counts": seg["counts"]}), "bad-size"),
        (_with_seg(good, {"size": [H], "counts": seg["counts"]}), "bad-size"),
        (_with_seg(good, {"size": [-1, W], "counts": seg["counts"]}), "bad-size"),
        (_with_seg(good, {"size": [1.5, W], "counts": seg["counts"]}), "bad-size"),
        (_with_seg(good, {"size": [True, W], "counts": seg["counts"]}), "bad-size"),
        (_with_seg(good, {"size": [2**40, 2**40], "counts": seg["counts"]}), "bad-size"),
        (_with_seg(good, {"size": [H, W], "counts": seg["counts"][:3] + "~" + seg["counts"][3:]}),
         "bad-counts"),
        (_with_seg(good, {"size": [H, W], "counts": seg["counts"] + "Q"}), "bad-counts"),
        (_with_seg(good, {"size": [H, W], "counts": small["counts"]}), "bad-counts"),
        (_with_seg(good, {"size": [H, W], "counts": 12}), "bad-counts"),
        (_with_seg(good, {"size": [H, W], "counts": None}), "bad-counts"),
        (_with_seg(good, {"size": [H, W]}), "bad-counts"),
        (_with_seg(good, {"size": [H, W], "counts": "\u00e9" + seg["counts"]}), "bad-counts"),
        (_with_seg(good, {"size": [H, W], "counts": "\x00"}), "bad-counts"),
        (_with_seg(good, {"size": [H, W], "counts": _uncompressed(seg)}), None),
        (_with_seg(good, {"size": [H, W], "counts": [-1, H * W + 1]}), "bad-counts"),
        (_with_seg(good, {"size": [H, W], "counts": [5, 5]}), "bad-counts"),
        (_with_seg(good, {"size": [H, W], "counts": [1, "a"]}), "bad-counts"),
        (_with_seg(good, small), "size-mismatch"),
        (_with_seg(good, [poly]), None),
        (_with_seg(good, []), "bad-polygon"),
        (_with_seg(good, [[1.0, 2.0, 3.0]]), "bad-polygon"),
        (_with_seg(good, [["a", "b", "c", "d", "e", "f"]]), "bad-polygon"),
        ({**_good(rng, 0), "id": "abc"}, None),          # usable mask, id not an integer
        ({**_good(rng, 9002), "bbox": [1, 2, 3]}, None),  # stored box malformed: null
        ({**_good(rng, 9003), "area": "x"}, None),        # stored area malformed: null
        ({**_good(rng, 9004), "id": 2**70}, None),        # too large for int64: null
        (_with_seg(_good(rng, 9005), {"size": [0, 0], "counts": ""}), "size-mismatch"),
    ]
    return cases


def _fifo(path: Path) -> None:
    os.mkfifo(path)


BAD_FILES: dict[str, tuple[Any, str]] = {
    # name: (content, or a function making the file; the expected reason)
    "empty.json": (b"", "bad-json"),
    "truncated.json": (b'{"image": {"image_id": 1}, "annotations": [{"id": 1, "segm', "bad-json"),
    "binary.json": (bytes(range(256)), "bad-json"),
    "nan.json": (b'{"image": {}, "annotations": [{"area": NaN}]}', "bad-json"),
    "bom.json": (b'\xef\xbb\xbf{"image": {}, "annotations": []}', "bad-json"),
    "deep.json": (b"[" * 5000 + b"]" * 5000, "bad-json"),
    "list.json": (b"[1, 2, 3]", "bad-layout"),
    "no_annotations.json": (b'{"image": {"image_id": 5}}', "bad-layout"),
    "annotations_object.json": (b'{"image": {}, "annotations": {}}', "bad-layout"),
    "no_image.json": (b'{"annotations": []}', "bad-layout"),
    "image_string.json": (b'{"image": "sa_1.jpg", "annotations": []}', "bad-layout"),
    "dangling.json": (lambda p: os.symlink(p.parent / "missing-target", p), "unreadable-file"),
    "fifo.json": (_fifo, "unreadable-file"),
}


def _coco_document(rng: np.random.Generator) -> dict[str, Any]:
    doc = dataset_gen.coco_instances(rng, 40, first_id=100_001)  # ids unlike the SA-1B files
    doc["images"].append("not an image")  # -> a bad-image row
    poly = dataset_gen.random_polygon(rng, 60, 80)
    doc["annotations"].append({"id": 77777, "image_id": 999, "category_id": 1,
                               "segmentation": [poly], "area": 1.0, "bbox": [0, 0, 1, 1]})
    return doc


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("dataset")
    src = root / "src"
    stats = dataset_gen.write_sa1b_like(src / "sa", 300, subdirs=3, seed=1)
    rng = np.random.default_rng(2)
    mixed = mixed_annotations(rng)
    (src / "bad").mkdir()
    (src / "bad" / "mixed.json").write_text(json.dumps({
        "image": {"image_id": 424242, "height": H, "width": W, "file_name": "sa_424242.jpg"},
        "annotations": [ann for ann, _ in mixed]}))
    (src / "bad" / "empty_image.json").write_text(json.dumps({
        "image": {"image_id": 515151, "height": 10, "width": 10, "file_name": "sa_515151.jpg"},
        "annotations": []}))
    for name, (content, _) in BAD_FILES.items():
        if callable(content):
            content(src / "bad" / name)
        else:
            (src / "bad" / name).write_bytes(content)
    (src / "bad" / "notes.txt").write_text("not a .json file: not an input")
    coco = _coco_document(rng)
    (src / "coco").mkdir()
    (src / "coco" / "instances_val.json").write_text(json.dumps(coco))
    out = root / "local.parquet"
    summary = import_dataset(src, out, engine="local", files_per_shard=32, progress=False)
    table = pq.read_table(out)
    return {"root": root, "src": src, "out": out, "summary": summary, "mixed": mixed,
            "coco": coco, "sa_stats": stats, "table": table, "rows": _rows_by_source(table)}


# ---- the oracle ---------------------------------------------------------------------------------


def _expected_mask(seg: Any, h: int | None, w: int | None) -> dict[str, Any]:
    """pycocotools' compressed RLE of a segmentation (as the COCO API's annToRLE does)."""
    if isinstance(seg, list):
        rle = coco_mask.merge(coco_mask.frPyObjects(seg, h, w))
    elif isinstance(seg["counts"], list):
        rle = coco_mask.frPyObjects(seg, *seg["size"])
    else:
        rle = {"size": seg["size"], "counts": seg["counts"].encode()}
    return rle


def _check_valid_row(row: dict[str, Any], ann: dict[str, Any], h: int | None = None,
                     w: int | None = None) -> None:
    rle = _expected_mask(ann["segmentation"], h, w)
    assert row["problem"] is None, row["problem"]
    assert row["mask"]["counts"] == rle["counts"].decode()
    assert [row["mask"]["height"], row["mask"]["width"]] == list(rle["size"])
    assert row["area"] == int(coco_mask.area(rle))
    assert row["bbox"] == [float(v) for v in coco_mask.toBbox(rle)]


def _rows_by_source(table) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in table.to_pylist():
        rows.setdefault(row["source"], []).append(row)
    return rows


def _reason(row: dict[str, Any]) -> str | None:
    return None if row["problem"] is None else row["problem"].split(":", 1)[0]


# ---- import -------------------------------------------------------------------------------------


def test_schema_and_types(dataset):
    table = dataset["table"]
    assert table.schema.remove_metadata() == SCHEMA
    assert isinstance(table.schema.field("mask").type, RLEType)


def test_sa1b_rows_match_pycocotools(dataset):
    rows = dataset["rows"]
    checked = 0
    for path in sorted((dataset["src"] / "sa").rglob("*.json")):
        doc = json.loads(path.read_text())
        got = rows[str(path.relative_to(dataset["src"]))]
        assert len(got) == len(doc["annotations"])
        for row, ann in zip(got, doc["annotations"]):
            _check_valid_row(row, ann)
            assert row["image_id"] == doc["image"]["image_id"]
            assert row["ann_id"] == ann["id"]
            assert row["category_id"] is None
            assert row["stored_area"] == ann["area"] and row["stored_bbox"] == ann["bbox"]
            assert json.loads(row["image"]) == doc["image"]
            extra = {k: v for k, v in ann.items()
                     if k not in ("id", "segmentation", "area", "bbox")}
            assert json.loads(row["extra"]) == extra
            checked += 1
    assert checked == dataset["sa_stats"]["masks"]


def test_malformed_annotations_each_get_a_row_with_their_reason(dataset):
    got = dataset["rows"][os.path.join("bad", "mixed.json")]
    mixed = dataset["mixed"]
    assert len(got) == len(mixed)
    for k, (row, (ann, reason)) in enumerate(zip(got, mixed)):
        assert _reason(row) == reason, (k, row["problem"])
        assert row["image_id"] == 424242
        if reason is None:
            _check_valid_row(row, ann, H, W)
        else:
            assert row["mask"] is None and row["area"] is None and row["bbox"] is None
            assert len(row["problem"]) > len(reason) + 2  # says why, not only the reason
    ids = [row["ann_id"] for row in got]
    assert ids[-5:] == [None, 9002, 9003, None, 9005]  # "abc", 2**70: not int64 ids
    assert got[-4]["stored_bbox"] is None and got[-3]["stored_area"] is None
    # values their columns cannot hold are kept in `extra`
    assert json.loads(got[-5]["extra"])["id"] == "abc"
    assert json.loads(got[-4]["extra"])["bbox"] == [1, 2, 3]
    assert json.loads(got[-3]["extra"])["area"] == "x"


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_are_one_row_each(dataset, name):
    got = dataset["rows"][os.path.join("bad", name)]
    assert len(got) == 1
    row = got[0]
    assert _reason(row) == BAD_FILES[name][1], row["problem"]
    assert row["ann_id"] is None and row["mask"] is None


def test_image_without_annotations_is_kept(dataset):
    got = dataset["rows"][os.path.join("bad", "empty_image.json")]
    assert len(got) == 1
    assert got[0]["image_id"] == 515151
    assert got[0]["ann_id"] is None and got[0]["mask"] is None and got[0]["problem"] is None


def test_coco_file_rows_match_pycocotools(dataset):
    doc = dataset["coco"]
    got = dataset["rows"][os.path.join("coco", "instances_val.json")]
    images = {im["id"]: im for im in doc["images"] if isinstance(im, dict)}
    by_image: dict[int, list[dict[str, Any]]] = {}
    for ann in doc["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    expected: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = []
    for image in doc["images"]:
        if not isinstance(image, dict):
            expected.append((None, None))
            continue
        expected += [(image, a) for a in by_image.pop(image["id"], [])] or [(image, None)]
    expected += [(None, a) for rest in by_image.values() for a in rest]
    assert len(got) == len(expected)
    for row, (image, ann) in zip(got, expected):
        if ann is None and image is None:
            assert _reason(row) == "bad-image"
        elif ann is None:
            assert row["image_id"] == image["id"] and row["mask"] is None
            assert row["problem"] is None
        elif image is None:
            assert _reason(row) == "unknown-image" and row["ann_id"] == 77777
        else:
            _check_valid_row(row, ann, image["height"], image["width"])
            assert row["ann_id"] == ann["id"] and row["image_id"] == ann["image_id"]
            assert row["category_id"] == ann["category_id"]
            assert json.loads(row["extra"]) == {"iscrowd": ann["iscrowd"]}
            assert json.loads(row["image"]) == images[ann["image_id"]]
    kinds = {type(a["segmentation"]).__name__ + str(a.get("iscrowd")) for a in doc["annotations"]}
    assert kinds >= {"list0", "dict0", "dict1"}  # polygons, compressed and uncompressed


def test_nothing_is_lost_and_the_summary_adds_up(dataset):
    table, summary = dataset["table"], dataset["summary"]
    files = [p for p in dataset["src"].rglob("*.json")]
    assert summary.files == len(files) == len(set(table.column("source").to_pylist()))
    masks = table.filter(pa.compute.is_valid(table["mask"]))
    assert summary.masks == masks.num_rows == sum(summary.area_hist)
    assert summary.rows == table.num_rows
    reasons = [_reason(r) for r in table.select(["problem"]).to_pylist() if r["problem"]]
    assert summary.problems == {r: reasons.count(r) for r in set(reasons)}
    # a mask is null exactly when there is a problem, or the row is an empty image
    no_mask = table.filter(pa.compute.is_null(table["mask"]))
    empty_images = no_mask.filter(pa.compute.is_null(no_mask["problem"]))
    assert no_mask.num_rows == len(reasons) + empty_images.num_rows
    assert summary.images == 300 + 1 + 1 + 40  # sa, mixed, empty image, COCO images
    text = summary.format()
    assert "masks/s" in text and "MB/s" in text and "bad-counts" in text


def test_dataset_reads_back_as_masks(dataset):
    table = dataset["table"]
    valid = table.filter(pa.compute.is_valid(table["mask"]))
    np.testing.assert_array_equal(turborle.area(valid["mask"]),
                                  valid["area"].to_numpy().astype(np.uint64))
    np.testing.assert_array_equal(turborle.bbox(valid["mask"]),
                                  np.array(valid["bbox"].to_pylist()))


# ---- engines ------------------------------------------------------------------------------------


def _parts(out: Path) -> dict[str, Any]:
    return {p.name: pq.read_table(p) for p in sorted(out.glob("part-*.parquet"))}


@pytest.mark.ray_cluster
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning")
def test_ray_engine_writes_the_same_rows(dataset):
    """The default engine: a local Ray started (and stopped) by the job, two workers."""
    pytest.importorskip("ray")
    import ray

    out = dataset["root"] / "ray.parquet"
    summary = import_dataset(dataset["src"], out, engine="ray", workers=2, files_per_shard=32,
                             progress=False)
    assert not ray.is_initialized()  # it stopped the Ray it started
    assert summary.workers == 2
    local, remote = _parts(dataset["out"]), _parts(out)
    assert local.keys() == remote.keys()
    for name in local:
        assert remote[name].equals(local[name]), name
    timing = {"seconds": 0, "cpu_seconds": 0, "engine": "", "workers": 0}
    assert summary.as_dict() | timing == dataset["summary"].as_dict() | timing
    assert summary.cpu_seconds > 0  # the workers' CPU time came back with their shards


@pytest.mark.ray_cluster
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning")
def test_cli_joins_a_running_ray_by_address(dataset, tmp_path):
    """A Ray started here; the command line, in another process, joins it with --address."""
    pytest.importorskip("ray")
    import ray

    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        out = tmp_path / "joined.parquet"
        src = dataset["src"] / "sa" / "sa_000001"
        result = subprocess.run(
            [sys.executable, "-c", "import sys; from turborle.cli import dataset as d; "
             "import argparse; p = argparse.ArgumentParser(); d.register(p.add_subparsers()); "
             "a = p.parse_args(sys.argv[1:]); sys.exit(a.handler(a))",
             "dataset", "import", str(src), str(out), "--address", context.address_info["address"],
             "--files-per-shard", "16", "--no-progress"],
            capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stderr
        assert "files 100" in result.stdout
    finally:
        ray.shutdown()
    local = dataset["table"]
    mine = local.filter(pa.compute.starts_with(local["source"], os.path.join("sa", "sa_000001")))
    theirs = pq.read_table(out)
    assert theirs.num_rows == mine.num_rows
    prefix = os.path.join("sa", "sa_000001") + os.sep
    assert [prefix + s for s in theirs["source"].to_pylist()] == mine["source"].to_pylist()
    assert theirs.drop_columns(["source"]).equals(mine.drop_columns(["source"]))


# ---- export -------------------------------------------------------------------------------------


def test_export_per_image_gives_back_the_input(dataset, tmp_path):
    dest = tmp_path / "exported"
    summary = export_dataset(dataset["out"], dest)
    skipped = sum(1 for _, r in dataset["mixed"] if r) + len(BAD_FILES) + 1 + 1  # bad-image, unknown
    assert summary.skipped == skipped
    for path in sorted((dataset["src"] / "sa").rglob("*.json")):
        original = json.loads(path.read_text())
        back = json.loads((dest / path.name).read_text())
        assert back["image"] == original["image"]
        assert back["annotations"] == original["annotations"]  # counts byte-identical, all fields
    mixed = json.loads((dest / "sa_424242.json").read_text())
    kept = [ann for ann, reason in dataset["mixed"] if reason is None]
    assert len(mixed["annotations"]) == len(kept)
    assert mixed["annotations"][0] == kept[0]
    empty = json.loads((dest / "sa_515151.json").read_text())
    assert empty["annotations"] == []


def test_export_coco_file(dataset, tmp_path):
    target = tmp_path / "all.json"
    summary = export_dataset(dataset["out"], coco=target)
    doc = json.loads(target.read_text())
    assert len(doc["annotations"]) == summary.masks == dataset["summary"].masks
    by_id = {a.get("id"): a for a in doc["annotations"]}
    for path in sorted((dataset["src"] / "sa").rglob("*.json"))[:20]:
        for ann in json.loads(path.read_text())["annotations"]:
            assert by_id[ann["id"]]["segmentation"] == ann["segmentation"]
    assert len(doc["images"]) == summary.images == dataset["summary"].images
    assert all(isinstance(im["id"], int) for im in doc["images"])  # COCO's key, for SA-1B's too
    # exported again, it imports to the same masks
    again = tmp_path / "again.parquet"
    import_dataset(target, again, engine="local", progress=False)
    first, second = dataset["table"], pq.read_table(again)
    first = first.filter(pa.compute.is_valid(first["mask"]))
    second = second.filter(pa.compute.is_valid(second["mask"]))
    assert second.num_rows == first.num_rows
    assert sorted(m["counts"] for m in first["mask"].to_pylist()) == \
        sorted(m["counts"] for m in second["mask"].to_pylist())


# ---- output safety ----------------------------------------------------------------------------


def test_rerun_replaces_only_when_complete(dataset, tmp_path):
    src = dataset["src"] / "sa" / "sa_000002"
    out = tmp_path / "out.parquet"
    import_dataset(src, out, engine="local", progress=False)
    before = pq.read_table(out)
    with pytest.raises(FileNotFoundError, match="no input files"):
        import_dataset(tmp_path / "nothing-here", out, engine="local", progress=False)
    assert pq.read_table(out).equals(before)  # the failed run left the output alone
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]  # and no temporary folder
    import_dataset(src, out, engine="local", files_per_shard=7, progress=False)
    assert pq.read_table(out).equals(before)


def test_refuses_to_replace_what_it_did_not_write(dataset, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("...")
    with pytest.raises(FileExistsError, match="not a dataset written by turborle"):
        import_dataset(dataset["src"] / "bad", precious, engine="local", progress=False)
    assert (precious / "thesis.tex").read_text() == "..."
    with pytest.raises(FileExistsError):
        export_dataset(dataset["out"], precious)
    with pytest.raises(FileNotFoundError, match="not a dataset"):
        export_dataset(precious, tmp_path / "x")


def test_bad_arguments():
    with pytest.raises(ValueError, match="engine"):
        import_dataset("x", "y", engine="spark")
    with pytest.raises(ValueError, match="compression"):
        import_dataset("x", "y", compression="gzip9")
    with pytest.raises(ValueError, match="files_per_shard"):
        import_dataset("x", "y", files_per_shard=0)
    with pytest.raises(ValueError, match="exactly one"):
        export_dataset("x")


# ---- command line ------------------------------------------------------------------------------


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="turborle")
    dataset_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_cli_import_and_export(dataset, tmp_path, capsys):
    src = dataset["src"] / "bad"
    out = tmp_path / "bad.parquet"
    assert _cli(["dataset", "import", str(src), str(out), "--engine", "local",
                 "--compression", "none"]) == 0
    assert pq.ParquetFile(next(out.glob("part-*"))).metadata.row_group(0).column(0) \
        .compression == "UNCOMPRESSED"
    text = capsys.readouterr().out
    assert f"files {len(BAD_FILES) + 2}" in text and "bad-json" in text
    assert _cli(["dataset", "export", str(out), str(tmp_path / "json")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert (tmp_path / "json" / "sa_424242.json").is_file()
    assert _cli(["dataset", "export", str(out), "--coco", str(tmp_path / "c.json")]) == 0
    assert _cli(["dataset", "export", str(out)]) == 2
    assert _cli(["dataset", "import", str(tmp_path / "none"), str(tmp_path / "o"),
                 "--engine", "local"]) == 1
    assert "no input files" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _cli(["dataset", "import", str(src), str(out), "--workers", "0"])


# ---- the fast path for clean files ------------------------------------------------------------


def _variants(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Files that are clean but for one thing each (or clean in an unusual way)."""
    base = {"image": {"image_id": 1, "height": H, "width": W},
            "annotations": [_good(rng, 100 + k) for k in range(4)]}

    def changed(edit) -> dict[str, Any]:
        doc = copy.deepcopy(base)
        edit(doc["annotations"])
        return doc

    def at(k: int, key: str, value: Any):
        return lambda anns: anns[k].__setitem__(key, value)

    return [
        base,
        changed(at(1, "id", 1.0)),
        changed(at(1, "id", True)),
        changed(at(2, "id", -(2**63) - 1)),
        changed(at(0, "category_id", 3)),
        changed(at(0, "category_id", "cat")),
        changed(at(3, "bbox", [1, 2, 3])),
        changed(at(3, "bbox", [1, 2, 3, "4"])),
        changed(at(3, "bbox", None)),
        changed(at(2, "area", "12")),
        changed(at(2, "area", None)),
        changed(lambda anns: anns[1].pop("id")),
        changed(lambda anns: anns[1].pop("bbox")),
        changed(lambda anns: anns[1].pop("predicted_iou")),
        changed(lambda anns: anns[0]["segmentation"].__setitem__("size", [W, H])),
        changed(lambda anns: anns[0]["segmentation"].__setitem__("extra", 1)),
        changed(lambda anns: anns[0].__setitem__("segmentation", [[1, 1, 5, 1, 5, 5]])),
        {"image": {"image_id": 2}, "annotations": base["annotations"]},  # image size unknown
        {"image": {"image_id": 3, "height": H, "width": W},
         "annotations": base["annotations"][:1] * 3},  # repeated annotation
    ]


def _text_variants(rng: np.random.Generator) -> list[bytes]:
    """JSON texts that only raw text can make: repeated keys, a byte-order mark, numbers of
    every form in the fields kept as JSON, escapes, deep nesting, integers past 64 bits."""
    doc = {"image": {"image_id": 7, "height": H, "width": W, "file_name": "é.jpg"},
           "annotations": [_good(rng, 200 + k) for k in range(3)]}
    text = json.dumps(doc)
    ann = json.dumps(doc["annotations"][0])
    out = [text.encode()]

    def edit(old: str, new: str) -> None:
        assert old in text
        out.append(text.replace(old, new, 1).encode())

    edit('"image_id": 7', '"image_id": 7, "image_id": 8')
    edit('"annotations": [', '"annotations": [], "annotations": [')
    edit('"id": 200', '"id": 200, "id": 201')
    edit('"id": 200', '"id": 200, "meta": {"a": 1, "a": 2}')
    edit('"id": 200', '"id": 200, "meta": {"a": [1, {"b": 2, "b": 3}]}')
    edit('"id": 200', '"id": 200, "nums": [1e-7, 1e-5, 0.00001234, 1e15, 1e16, 1.5e16, 1e22, '
         '5e-324, 1.7976931348623157e308, -0.0, 0.1, -2.5, 123456789.125, 1E5, 7e0, 0, -0, '
         '18446744073709551615, -9223372036854775808]')
    edit('"id": 200', '"id": 200, "s": "\\u00e9\\u2028 \\/\\\\ \\" \\u0001\\u001f'
         '\\b\\f\\n\\r\\t \\u007f x", "t": true, "f": false, "n": null, '
         '"o": {}, "l": [], "\\u00e9k": {"nested": [[[{"x": [1, 2.5]}]]]}')
    bits = rng.integers(0, 2**63, 3000, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    floats = bits.view(np.float64)
    floats = np.concatenate([floats[np.isfinite(floats)], rng.uniform(-1e4, 1e4, 1000).round(3)])
    edit('"id": 200', '"id": 200, "random": ' + json.dumps(floats.tolist()))
    edit('"id": 200', '"id": 200, "big": 123456789012345678901234567890')
    edit('"id": 200', '"id": 200, "deep": ' + "[" * 300 + "]" * 300)
    edit('"id": 200', '"id": 200, "image_id": 99')
    edit('"id": 200', '"id": 18446744073709551615')
    edit('"height": 120', '"height": 18446744073709551615')
    edit('"height": 120, "width": 160', '"height": 120.0, "width": 160')
    edit('"image_id": 7', '"image_id": null, "id": 7')
    edit('"image_id": 7', '"id": 7')
    edit('"image_id": 7', '"image_id": 7.0')
    edit(f'"size": [{H}, {W}]', f'"size": [{H}.0, {W}]')
    edit(f'"size": [{H}, {W}]', f'"size": [18446744073709551615, {W}]')
    edit('"area": ', '"area": 18446744073709551615, "x_area": ')
    edit('"bbox": [', '"bbox": [9007199254740993, ')
    edit('"bbox": [', '"bbox": [1, 2, 3]  , "x_bbox": [')
    edit('"counts": "', '"counts": "\\u0030\\/')
    edit(ann, ann + ", " + ann)
    edit('"annotations": [', '"annotations": [1, ')
    out.append(b"\xef\xbb\xbf" + text.encode())
    out.append(text.encode() + b" x")
    out.append(text[:-1].encode())
    out.append(text.replace('"', "'").encode())
    out.append(b'{"image": {"image_id": 9, "height": 2, "width": 2}, "annotations": []}')
    out.append(b"[]")
    return out


def _convert_one(tmp_path: Path, raw: bytes, name: str) -> pa.Table:
    from turborle.datasets import _convert

    path = tmp_path / f"{name}.json"
    path.write_bytes(raw)
    part = tmp_path / f"{name}.parquet"
    _convert.convert_files([(str(path), "f.json")], str(part))
    return pq.read_table(part)


def test_fast_path_writes_the_rows_of_the_python_path(tmp_path, monkeypatch):
    """Files that the core's simdjson reader takes and files it leaves to orjson and the
    Python checks give the same rows, to the byte, as the Python path alone gives them."""
    from turborle.datasets import _convert

    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(8)
    texts = [json.dumps(doc).encode() for doc in _variants(rng)] + _text_variants(rng)
    for k, raw in enumerate(texts):
        (src / f"v{k:02d}.json").write_bytes(raw)
    taken: list[bool] = []
    add_sa1b = _convert.Rows.add_sa1b

    def spy(self, *args):
        taken.append(add_sa1b(self, *args))
        return taken[-1]

    monkeypatch.setattr(_convert.Rows, "add_sa1b", spy)
    fast = tmp_path / "fast.parquet"
    import_dataset(src, fast, engine="local", progress=False)
    assert 10 < sum(taken) < len(taken) - 20  # both paths were taken, many times
    monkeypatch.setattr(_convert, "FAST_PATH", False)
    slow = tmp_path / "slow.parquet"
    import_dataset(src, slow, engine="local", progress=False)
    fast_table, slow_table = pq.read_table(fast), pq.read_table(slow)
    assert fast_table.num_rows == slow_table.num_rows > 100
    for name in fast_table.column_names:
        assert fast_table[name].equals(slow_table[name]), name


def test_fast_path_and_python_path_agree_on_corrupted_files(tmp_path, monkeypatch):
    """Bytes of a clean file flipped, deleted or inserted at random: whatever the core's
    reader decides (take the file, or leave it to orjson), the rows are those of orjson and
    the Python checks."""
    from turborle.datasets import _convert

    rng = np.random.default_rng(21)
    doc = {"image": {"image_id": 3, "height": H, "width": W},
           "annotations": [_good(rng, 300 + k) for k in range(2)]}
    for ann in doc["annotations"]:
        ann["meta"] = {"score": 0.25, "tags": ["a", "b"], "xy": [[1.5, 2e-9]]}
    clean = json.dumps(doc, separators=(",", ":")).encode()
    alphabet = b'{}[]",:0123456789.-+eE\\ntrufalsu \x00\xff\xc3\xa9'
    fast_taken = 0
    for trial in range(60):
        raw = bytearray(clean)
        for _ in range(int(rng.integers(1, 4))):
            at = int(rng.integers(0, len(raw)))
            kind = int(rng.integers(0, 3))
            byte = alphabet[int(rng.integers(0, len(alphabet)))]
            if kind == 0:
                raw[at] = byte
            elif kind == 1:
                del raw[at]
            else:
                raw.insert(at, byte)
        monkeypatch.setattr(_convert, "FAST_PATH", True)
        fast = _convert_one(tmp_path, bytes(raw), f"fast{trial}")
        fast_taken += fast["problem"].null_count == fast.num_rows
        monkeypatch.setattr(_convert, "FAST_PATH", False)
        slow = _convert_one(tmp_path, bytes(raw), f"slow{trial}")
        assert fast.equals(slow), (trial, bytes(raw))
    assert fast_taken > 5


def test_progress_bar_shows_files_and_speed(dataset, tmp_path, capsys):
    import_dataset(dataset["src"] / "bad", tmp_path / "p.parquet", engine="local",
                   files_per_shard=2, progress=True)
    err = capsys.readouterr().err
    assert f"{len(BAD_FILES) + 2}/{len(BAD_FILES) + 2}" in err and "masks/s" in err


def test_readme_example(dataset):
    table = turborle.read_parquet(dataset["out"], columns=["mask", "area"])
    masks = table.filter(pa.compute.is_valid(table["mask"]))["mask"]
    np.testing.assert_array_equal(turborle.area(masks), table["area"].drop_null().to_numpy())
    ious = turborle.iou(masks[:5], masks[5:10])
    # to_coco of the column gives back the counts strings of the input files (pycocotools')
    stored = [m["counts"] for m in masks[:3].to_pylist()]
    assert [r["counts"] for r in turborle.to_coco(masks[:3])] == stored
    batch = turborle.from_arrow(masks)
    rles = [{"size": r["size"], "counts": r["counts"].encode()} for r in batch[:10].to_coco()]
    np.testing.assert_allclose(ious, coco_mask.iou(rles[:5], rles[5:], [0] * 5))
    assert turborle.from_arrow(batch.to_arrow(counts="list")) == batch


def test_huge_files_are_split_into_row_groups_arrow_can_index(dataset, tmp_path, monkeypatch):
    """A file with more counts bytes than a row group may hold (1 GiB; here shrunk to 1 kB)
    is written as several row groups, with the same rows."""
    from turborle.datasets import _convert

    monkeypatch.setattr(_convert, "_GROUP_LIMIT", 1_000)
    monkeypatch.setattr(_convert, "FLUSH_BYTES", 1 << 40)
    src = dataset["src"] / "coco"
    out = tmp_path / "split.parquet"
    import_dataset(src, out, engine="local", progress=False)
    assert pq.ParquetFile(next(out.glob("part-*"))).num_row_groups > 2
    expected = dataset["table"].filter(pa.compute.starts_with(dataset["table"]["source"],
                                                              "coco"))
    assert pq.read_table(out).drop_columns(["source"]).equals(expected.drop_columns(["source"]))
