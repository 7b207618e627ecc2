"""Calls from 8 threads on shared inputs give exactly the sequential results.

turborle releases the GIL around its C++ work; nothing may be shared between calls.
The sequential results are themselves checked against the numpy oracle.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from turborle import mask as tmask
from turborle.testing import reference as ref
from turborle.testing.generators import random_masks, random_polygon

THREADS = 8
ROUNDS = 4  # calls per thread and operation


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(1234)
    h, w = 240, 320
    parts = [random_masks(rng, h, w, 4, kind) for kind in ("random", "rectangles", "runs", "sparse")]
    masks = np.asfortranarray(np.concatenate(parts, axis=2))
    rles = tmask.encode(masks)
    polys = [random_polygon(rng, h, w, kind) for kind in ("inside", "outside", "tenths") * 4]
    boxes = np.abs(rng.uniform(-20, 300, (40, 4)))
    return {"h": h, "w": w, "masks": masks, "rles": rles, "polys": polys, "boxes": boxes}


def _operations(d):
    rles, h, w = d["rles"], d["h"], d["w"]
    crowd = [i % 3 == 0 for i in range(len(rles) // 2)]
    return {
        "encode": lambda: tmask.encode(d["masks"]),
        "encode-c-order": lambda: tmask.encode(np.ascontiguousarray(d["masks"][:, :, :4])),
        "decode": lambda: tmask.decode(rles),
        "area": lambda: tmask.area(rles),
        "toBbox": lambda: tmask.toBbox(rles),
        "iou": lambda: tmask.iou(rles, rles[::2], crowd),
        "iou-boxes": lambda: tmask.iou(d["boxes"], d["boxes"][:13], [0, 1] * 6 + [0]),
        "merge-union": lambda: tmask.merge(rles),
        "merge-intersection": lambda: tmask.merge(rles[4:8], intersect=1),
        "frPyObjects-poly": lambda: tmask.frPyObjects(d["polys"], h, w),
        "frPyObjects-box": lambda: tmask.frPyObjects(d["boxes"], h, w),
    }


def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape \
            and np.array_equal(a, b)
    return a == b


def test_sequential_baseline_matches_oracle(inputs):
    h, w, masks, rles = inputs["h"], inputs["w"], inputs["masks"], inputs["rles"]
    counts = [ref.encode_counts(masks[:, :, i]) for i in range(masks.shape[2])]
    assert [r["counts"] for r in rles] == [ref.counts_to_string(c) for c in counts]
    np.testing.assert_array_equal(tmask.merge(rles)["counts"],
                                  ref.counts_to_string(ref.merge(counts, h, w, False)))
    polys = inputs["polys"]
    assert [r["counts"] for r in tmask.frPyObjects(polys, h, w)] == \
        [ref.counts_to_string(ref.poly_to_counts(p, h, w)) for p in polys]


@pytest.mark.parametrize("name", list(_operations({"rles": [], "h": 0, "w": 0})))
def test_threads_match_sequential(inputs, name):
    op = _operations(inputs)[name]
    expected = op()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(op) for _ in range(THREADS * ROUNDS)]
        results = [f.result() for f in futures]
    for got in results:
        assert _same(got, expected)


def test_threads_mixed_operations(inputs):
    """All operations interleaved in one pool, each result against its sequential value."""
    ops = _operations(inputs)
    expected = {name: op() for name, op in ops.items()}
    names = list(ops) * ROUNDS
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(lambda name: (name, ops[name]()), names))
    for name, got in results:
        assert _same(got, expected[name]), name
