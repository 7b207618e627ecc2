"""pycocotools' own COCOeval (segm), with pycocotools.mask and with turborle.mask as maskUtils.

COCOeval reaches the mask library through the name ``maskUtils`` in ``pycocotools.coco``
(``loadRes``: ``area`` and ``toBbox`` of every result; ``annToRLE``: ``frPyObjects`` and
``merge`` of ground-truth polygons) and in ``pycocotools.cocoeval`` (``computeIoU``: ``iou``).
This benchmark replaces both with a proxy whose functions time themselves, around either
``pycocotools.mask`` or ``turborle.mask``, and reports per library (median of rounds, the two
libraries interleaved round by round so both see the same machine load):

* the time spent inside mask calls during ``loadRes`` + ``evaluate()``, per function;
* the wall time of ``loadRes`` and of ``evaluate()``.

Both runs must give identical ``stats`` (after ``accumulate`` and ``summarize``) and the
same IoU matrices, or the benchmark fails.

The dataset is synthetic and seeded (numpy only, ``benchmarks/masks.py``), one per corpus,
``--images`` images of 480x640 with 2-8 objects each in 3 categories:

``coco``
    Ground truth as COCO stores it: star-shaped polygons (``frPyObjects`` rasterises them),
    every tenth object a crowd region in uncompressed RLE (a COCO-style noisy blob).
    Detections: the polygon's mask frayed at the edge, shifted a few pixels, with speckle.
``sam``
    Ground truth as SA-1B stores it: compressed RLE of SAM-like masks. Detections: the mask
    shifted a few pixels, its edge frayed.

Each image also gets 0-2 false positives; scores are random. Results are compressed RLE with
``str`` counts, as a results JSON file holds them.

    python benchmarks/cocoeval.py [--images 300] [--rounds 5] [--corpus sam,coco] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import statistics
import sys
import time
import types
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.masks import _fill_polygon, coco_like_mask, sam_like_mask  # noqa: E402

H, W = 480, 640
OBJECT_SIZE = (0.05, 0.35)  # bounding-box side, fraction of the image side
MASK_FUNCTIONS = ("area", "toBbox", "frPyObjects", "merge", "iou", "decode", "encode")


# --------------------------------------------------------------------------------------------
# The dataset


def _star_polygon(rng: np.random.Generator) -> tuple[list[float], np.ndarray]:
    """A star-shaped polygon inside the image, and its mask (filled at pixel centres)."""
    bh = max(6, int(H * rng.uniform(*OBJECT_SIZE)))
    bw = max(6, int(W * rng.uniform(*OBJECT_SIZE)))
    y0, x0 = int(rng.integers(0, H - bh)), int(rng.integers(0, W - bw))
    k = int(rng.integers(8, 40))
    angle = np.sort(rng.uniform(0, 2 * np.pi, k))
    radius = rng.uniform(0.45, 1.0, k)
    xs = (0.5 + 0.5 * radius * np.cos(angle)) * bw
    ys = (0.5 + 0.5 * radius * np.sin(angle)) * bh
    mask = np.zeros((H, W), bool)
    mask[y0:y0 + bh, x0:x0 + bw] = _fill_polygon(xs, ys, bh, bw)
    poly = np.empty(2 * k)
    poly[0::2], poly[1::2] = xs + x0, ys + y0
    return [round(float(v), 2) for v in poly], mask


def _fray(rng: np.random.Generator, mask: np.ndarray, speckle: float) -> np.ndarray:
    """A detection of ``mask``: shifted up to 4 pixels, edge pixels flipped at random,
    plus speckle."""
    dy, dx = (int(v) for v in rng.integers(-4, 5, 2))
    out = np.roll(mask, (dy, dx), axis=(0, 1))
    edge = out ^ np.roll(out, 1, axis=0) | out ^ np.roll(out, 1, axis=1)
    out = out ^ (edge & (rng.random(out.shape) < 0.3))
    if speckle:
        n = int(out.sum() * speckle)
        out[rng.integers(0, H, n), rng.integers(0, W, n)] ^= True
    return out


def _uncompressed(mask: np.ndarray) -> dict[str, Any]:
    from benchmarks.suite import numpy_counts

    return {"size": [H, W], "counts": numpy_counts(mask).tolist()}


def _box(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
            float(ys.max() - ys.min() + 1)]


def make_dataset(corpus: str, images: int, seed: int = 0) -> tuple[dict[str, Any], list[dict]]:
    """(ground truth as a COCO dataset dict, detections as a results list)."""
    from pycocotools import mask as coco_mask

    rng = np.random.default_rng([seed, images, 7])
    cats = [{"id": c, "name": f"class{c}"} for c in (1, 2, 3)]
    imgs, anns, dets = [], [], []
    obj = 0
    for img_id in range(1, images + 1):
        imgs.append({"id": img_id, "height": H, "width": W, "file_name": f"{img_id}.jpg"})
        for _ in range(int(rng.integers(2, 9))):
            obj += 1
            cat = int(rng.integers(1, 4))
            crowd = obj % 10 == 3
            if corpus == "coco" and not crowd:
                poly, mask = _star_polygon(rng)
                segm: Any = [poly]
            elif corpus == "coco":
                mask = coco_like_mask(H, W, obj, seed, size=OBJECT_SIZE).astype(bool)
                segm = _uncompressed(mask)
            else:
                mask = sam_like_mask(H, W, obj, seed, size=OBJECT_SIZE).astype(bool)
                rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
                segm = {"size": [H, W], "counts": rle["counts"].decode("ascii")}
            anns.append({"id": obj, "image_id": img_id, "category_id": cat, "iscrowd": int(crowd),
                         "segmentation": segm, "area": float(mask.sum()), "bbox": _box(mask)})
            found = [] if crowd else [mask] * int(rng.random() < 0.85)
            for m in found + [coco_like_mask(H, W, 10_000 + obj, seed, size=OBJECT_SIZE)
                              .astype(bool) for _ in range(int(rng.random() < 0.2))]:
                det = _fray(rng, m, 0.004 if corpus == "coco" else 0.0)
                rle = coco_mask.encode(np.asfortranarray(det.astype(np.uint8)))
                label = cat if rng.random() < 0.85 else int(rng.integers(1, 4))
                dets.append({"image_id": img_id, "category_id": label,
                             "segmentation": {"size": [H, W],
                                              "counts": rle["counts"].decode("ascii")},
                             "score": round(float(rng.random()), 4)})
    return {"images": imgs, "annotations": anns, "categories": cats}, dets


# --------------------------------------------------------------------------------------------
# Timing


class TimedMasks(types.SimpleNamespace):
    """``maskUtils`` stand-in: the library's functions, each adding its time to ``spent``."""

    def __init__(self, lib: Any):
        super().__init__()
        self.spent: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        for name in MASK_FUNCTIONS:
            setattr(self, name, self._timed(name, getattr(lib, name)))

    def _timed(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        clock = time.perf_counter

        def call(*args: Any, **kw: Any) -> Any:
            start = clock()
            try:
                return fn(*args, **kw)
            finally:
                self.spent[name] = self.spent.get(name, 0.0) + clock() - start
                self.calls[name] = self.calls.get(name, 0) + 1

        return call


@contextlib.contextmanager
def patched(proxy: TimedMasks) -> Any:
    """Replace ``maskUtils`` in pycocotools.coco and pycocotools.cocoeval with ``proxy``."""
    import pycocotools.coco as pcoco
    import pycocotools.cocoeval as peval

    old = pcoco.maskUtils, peval.maskUtils
    pcoco.maskUtils = peval.maskUtils = proxy
    try:
        yield
    finally:
        pcoco.maskUtils, peval.maskUtils = old


def evaluate_once(lib: Any, gt: dict[str, Any], dets: list[dict]) -> dict[str, Any]:
    """One COCOeval (segm) run with ``lib`` as maskUtils; timings, stats and IoUs."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt, dets = copy.deepcopy(gt), copy.deepcopy(dets)  # COCO rewrites annotations in place
    proxy = TimedMasks(lib)
    with patched(proxy), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        start = time.perf_counter()
        coco_dt = coco_gt.loadRes(dets)
        load_s = time.perf_counter() - start
        ev = COCOeval(coco_gt, coco_dt, "segm")
        start = time.perf_counter()
        ev.evaluate()
        evaluate_s = time.perf_counter() - start
        ev.accumulate()
        ev.summarize()
    return {"load_s": load_s, "evaluate_s": evaluate_s, "mask_s": sum(proxy.spent.values()),
            "per_function_s": dict(proxy.spent), "calls": dict(proxy.calls),
            "stats": np.asarray(ev.stats), "ious": ev.ious}


def _same_ious(a: dict[Any, Any], b: dict[Any, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        if x.shape != y.shape or not np.allclose(x, y, rtol=0, atol=1e-12):
            return False
    return True


def measure(corpus: str, images: int, rounds: int) -> dict[str, Any]:
    """Interleaved rounds of both libraries on one corpus; medians and the checks."""
    from pycocotools import mask as pycoco

    from turborle import mask as tmask

    gt, dets = make_dataset(corpus, images)
    libs = {"pycocotools": pycoco, "turborle": tmask}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in libs}
    for _ in range(rounds):
        for name, lib in libs.items():
            runs[name].append(evaluate_once(lib, gt, dets))
    first = {name: rs[0] for name, rs in runs.items()}
    if not np.array_equal(first["turborle"]["stats"], first["pycocotools"]["stats"]):
        raise AssertionError(f"{corpus}: COCOeval stats differ: turborle "
                             f"{first['turborle']['stats']} vs pycocotools "
                             f"{first['pycocotools']['stats']}")
    if not _same_ious(first["turborle"]["ious"], first["pycocotools"]["ious"]):
        raise AssertionError(f"{corpus}: COCOeval IoU matrices differ")
    out: dict[str, Any] = {"corpus": corpus, "images": images, "rounds": rounds,
                           "annotations": len(gt["annotations"]), "detections": len(dets),
                           "stats": first["pycocotools"]["stats"].tolist(), "stats_equal": True}
    for name, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("load_s", "evaluate_s", "mask_s")}
        med["per_function_s"] = {f: statistics.median(r["per_function_s"].get(f, 0.0) for r in rs)
                                 for f in rs[0]["per_function_s"]}
        med["calls"] = rs[0]["calls"]
        out[name] = med
    out["mask_time_ratio"] = out["pycocotools"]["mask_s"] / out["turborle"]["mask_s"]
    out["evaluate_ratio"] = out["pycocotools"]["evaluate_s"] / out["turborle"]["evaluate_s"]
    return out


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| corpus | images / gt / dt | library | mask calls s | evaluate() s | loadRes s | "
             "per function (s) |", "|---|---|---|---:|---:|---:|---|"]
    for r in results:
        for name in ("pycocotools", "turborle"):
            m = r[name]
            per = ", ".join(f"{f} {s:.3f} ({m['calls'].get(f, 0)})"
                            for f, s in sorted(m["per_function_s"].items()))
            lines.append(f"| {r['corpus']} | {r['images']} / {r['annotations']} / "
                         f"{r['detections']} | {name} | {m['mask_s']:.3f} | "
                         f"{m['evaluate_s']:.3f} | {m['load_s']:.3f} | {per} |")
        lines.append(f"| {r['corpus']} | | **pycocotools / turborle** | "
                     f"**{r['mask_time_ratio']:.2f}x** | {r['evaluate_ratio']:.2f}x | | stats "
                     f"identical: {'yes' if r['stats_equal'] else 'NO'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--corpus", default="sam,coco", help="comma-separated: sam, coco")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args(argv)
    results = [measure(c, args.images, args.rounds) for c in args.corpus.split(",") if c]
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
