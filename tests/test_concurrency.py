"""Every operation from 8 Python threads at once, on shared inputs, with the core's own
threads on too: results must equal the sequential ones (the GIL is released in the core, so
this is real parallelism over shared, read-only batches)."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

import turborle
from turborle import mask as tmask

ROUNDS = 6


def _operations():
    rng = np.random.default_rng(42)
    masks = rng.random((24, 61, 47)) < 0.35
    masks[0] = False
    batch = turborle.encode(masks)
    coco = batch.to_coco()
    coco_bytes = [{"size": o["size"], "counts": o["counts"].encode()} for o in coco]
    fal = batch.to_fal()
    fortran = np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8))
    crowd = np.arange(24) % 4 == 0
    polygons = [rng.uniform(-5, 70, 10).tolist() for _ in range(8)]
    boxes = rng.uniform(0, 50, (8, 4))
    ops = {
        "encode": lambda: turborle.encode(masks, threads=2),
        "decode_c": lambda: turborle.decode(batch, threads=2),
        "decode_f": lambda: turborle.decode(batch, order="F", threads=2),
        "area": lambda: turborle.area(batch),
        "bbox": lambda: turborle.bbox(batch, fmt="xyxy"),
        "iou": lambda: turborle.iou(batch, batch[::-1], crowd, threads=2),
        "complement": lambda: turborle.complement(batch),
        "from_coco": lambda: turborle.from_coco(coco, threads=2),
        "to_coco": lambda: batch.to_coco(),
        "from_fal": lambda: turborle.from_fal(fal, 61, 47, threads=2),
        "to_fal": lambda: batch.to_fal(order="F"),
        "slice_concat": lambda: turborle.concat([batch[5:], batch[:5]]),
        "mask.encode": lambda: tmask.encode(fortran),
        "mask.decode": lambda: tmask.decode(coco_bytes),
        "mask.area": lambda: tmask.area(coco_bytes),
        "mask.toBbox": lambda: tmask.toBbox(coco),
        "mask.iou": lambda: tmask.iou(coco_bytes, coco_bytes, crowd),
        "mask.frPyObjects.poly": lambda: tmask.frPyObjects(polygons, 61, 47),
        "mask.frPyObjects.box": lambda: tmask.frPyObjects(boxes, 61, 47),
    }
    for op in ("union", "intersection", "xor", "difference"):
        ops[f"merge.{op}"] = lambda op=op: turborle.merge(batch, op, threads=2)
    return ops


def _same(a, b):
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, list) and a and isinstance(a[0], np.ndarray):
        return all(np.array_equal(x, y) for x, y in zip(a, b))
    return a == b


def test_every_operation_from_eight_threads_matches_sequential():
    ops = _operations()
    expected = {name: fn() for name, fn in ops.items()}
    jobs = [name for name in ops for _ in range(ROUNDS)]
    np.random.default_rng(0).shuffle(jobs)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda name: (name, ops[name]()), jobs))
    assert len(results) == len(jobs)
    for name, got in results:
        assert _same(got, expected[name]), name


def test_errors_from_many_threads_name_the_right_mask():
    bad = [{"size": [2, 2], "counts": "04"}] * 50 + [{"size": [2, 2], "counts": "0\x01"}]
    bad += [{"size": [2, 2], "counts": "9"}] * 10

    def parse(_):
        try:
            turborle.from_coco(bad, threads=3)
        except ValueError as e:
            return str(e)
        return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        messages = list(pool.map(parse, range(32)))
    assert all(m is not None and m.startswith("mask 50:") for m in messages), set(messages)
