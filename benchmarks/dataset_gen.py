"""SA-1B-like and COCO-like mask datasets, generated for the dataset tests and benchmark.

Masks are random polygons rasterised and encoded by pycocotools (not turborle), so the files
hold exactly what the real tools write, and the tests' expected values do not come from the
code under test. Each SA-1B-like file is one image::

    {"image": {"image_id", "width", "height", "file_name"},
     "annotations": [{"bbox", "area", "segmentation": {"size": [h, w], "counts"},
                      "predicted_iou", "point_coords", "crop_box", "id", "stability_score"}]}

Sizes default to small images for tests; the benchmark asks for SA-1B's typical 1500x2250.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask


def random_polygon(rng: np.random.Generator, height: int, width: int) -> list[float]:
    """A star-shaped polygon somewhere in the image (a few to many vertices)."""
    k = int(rng.integers(3, 40))
    cx, cy = rng.uniform(0, width), rng.uniform(0, height)
    radius = rng.uniform(2, max(3.0, min(height, width) / 3))
    angles = np.sort(rng.uniform(0, 2 * math.pi, k))
    radii = radius * rng.uniform(0.4, 1.0, k)
    xs = np.clip(cx + radii * np.cos(angles), 0, width)
    ys = np.clip(cy + radii * np.sin(angles), 0, height)
    return np.stack([xs, ys], axis=1).ravel().round(2).tolist()


def encode_polygon(poly: list[float], height: int, width: int) -> dict[str, Any]:
    rle = coco_mask.merge(coco_mask.frPyObjects([poly], height, width))
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}


def mask_pool(rng: np.random.Generator, height: int, width: int, count: int) -> list[dict[str, Any]]:
    """`count` distinct compressed RLEs of (height, width) with pycocotools' area and box."""
    pool = []
    for _ in range(count):
        rle = encode_polygon(random_polygon(rng, height, width), height, width)
        coded = {"size": rle["size"], "counts": rle["counts"].encode("ascii")}
        pool.append({"segmentation": rle, "area": int(coco_mask.area(coded)),
                     "bbox": [float(v) for v in coco_mask.toBbox(coded)]})
    return pool


def sa1b_annotation(rng: np.random.Generator, entry: dict[str, Any], ann_id: int,
                    height: int, width: int) -> dict[str, Any]:
    x, y, w, h = entry["bbox"]
    return {
        "bbox": entry["bbox"],
        "area": entry["area"],
        "segmentation": entry["segmentation"],
        "predicted_iou": round(float(rng.uniform(0.8, 1.0)), 6),
        "point_coords": [[round(x + w / 2, 3), round(y + h / 2, 3)]],
        "crop_box": [0.0, 0.0, float(width), float(height)],
        "id": ann_id,
        "stability_score": round(float(rng.uniform(0.85, 1.0)), 6),
    }


def write_sa1b_like(root: str | Path, n_images: int, *, masks_per_image: tuple[int, int] = (10, 40),
                    sizes: tuple[tuple[int, int], ...] = ((120, 160), (96, 128), (75, 101)),
                    pool_size: int | None = 200, seed: int = 0, subdirs: int = 1,
                    first_image_id: int = 1) -> dict[str, int]:
    """Write `n_images` SA-1B-style files under root (in `subdirs` folders); returns counts.

    Masks are drawn from a pool of `pool_size` per image size (fast), or, with
    ``pool_size=None``, every mask is new (as in real data, where no two counts strings
    repeat; what compression ratios should be measured on).
    """
    rng = np.random.default_rng(seed)
    root = Path(root)
    pools = {size: mask_pool(rng, *size, pool_size) for size in sizes} if pool_size else {}
    masks = total_bytes = 0
    ann_id = first_image_id * 1000
    for k in range(n_images):
        image_id = first_image_id + k
        height, width = sizes[int(rng.integers(len(sizes)))]
        count = int(rng.integers(*masks_per_image, endpoint=True))
        if pool_size:
            pool = pools[(height, width)]
            entries = [pool[int(j)] for j in rng.integers(0, len(pool), count)]
        else:
            entries = mask_pool(rng, height, width, count)
        anns = []
        for entry in entries:
            anns.append(sa1b_annotation(rng, entry, ann_id, height, width))
            ann_id += 1
        doc = {"image": {"image_id": image_id, "width": width, "height": height,
                         "file_name": f"sa_{image_id}.jpg"},
               "annotations": anns}
        folder = root / f"sa_{k % subdirs:06d}" if subdirs > 1 else root
        folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(doc)
        (folder / f"sa_{image_id}.json").write_text(text)
        masks += len(anns)
        total_bytes += len(text)
    return {"images": n_images, "masks": masks, "bytes": total_bytes}


def coco_instances(rng: np.random.Generator, n_images: int, *, per_image: tuple[int, int] = (0, 6),
                   size: tuple[int, int] = (60, 80), first_id: int = 1) -> dict[str, Any]:
    """A COCO instances document: polygons, crowd masks with uncompressed counts, compressed
    RLEs, and images without annotations."""
    height, width = size
    images, anns = [], []
    next_id = first_id
    for image_id in range(first_id, first_id + n_images):
        images.append({"id": image_id, "height": height, "width": width,
                       "file_name": f"{image_id:012d}.jpg"})
        for _ in range(int(rng.integers(*per_image, endpoint=True))):
            poly = random_polygon(rng, height, width)
            kind = int(rng.integers(3))
            if kind == 0:
                seg: Any = [poly]
                crowd = 0
            elif kind == 1:  # crowd: uncompressed counts, as COCO stores them
                rle = coco_mask.merge(coco_mask.frPyObjects([poly], height, width))
                dense = coco_mask.decode(rle).ravel(order="F")
                change = np.flatnonzero(np.diff(dense)) + 1
                edges = np.concatenate([[0], change, [dense.size]])
                counts = np.diff(edges).tolist()
                if dense[0]:
                    counts = [0, *counts]
                seg, crowd = {"size": [height, width], "counts": counts}, 1
            else:
                seg, crowd = encode_polygon(poly, height, width), 0
            anns.append({"id": next_id, "image_id": image_id, "category_id": int(rng.integers(1, 5)),
                         "segmentation": seg, "iscrowd": crowd, "area": 1.0,
                         "bbox": [0.0, 0.0, 1.0, 1.0]})
            next_id += 1
    order = rng.permutation(len(anns))  # COCO files do not group annotations by image
    return {"images": images, "annotations": [anns[i] for i in order],
            "categories": [{"id": c, "name": f"class{c}"} for c in range(1, 5)]}
