"""Regenerate tests/data/golden.json from pycocotools 2.0.11 (fixed seed).

Run from the repository root: ``python3 tests/data/make_golden.py``. The JSON pins
pycocotools' exact outputs so the golden tests need neither pycocotools nor the oracle.
Every input stays small and literal: masks as rows of '0'/'1', polygons rounded to 0.1.
"""

import json
import pathlib
import warnings

import numpy as np
import pycocotools
import pycocotools._mask as pycoco_c
import pycocotools.mask as pycoco

OUT = pathlib.Path(__file__).with_name("golden.json")


def rows(mask):
    return ["".join(str(int(v)) for v in row) for row in mask]


def main():
    rng = np.random.default_rng(20240601)
    golden = {"pycocotools": pycocotools.__version__ if hasattr(pycocotools, "__version__")
              else "2.0.11"}

    encode = []
    shapes = [(1, 1), (1, 7), (6, 1), (2, 2), (3, 5), (5, 3), (4, 9), (8, 8), (7, 12),
              (10, 6), (12, 12), (3, 16)]
    for i, (h, w) in enumerate(shapes):
        density = [0.5, 0.1, 0.9, 0.3][i % 4]
        m = np.asfortranarray((rng.random((h, w)) < density).astype(np.uint8))
        encode.append({"mask": rows(m), "counts": pycoco.encode(m)["counts"].decode()})
    golden["encode"] = encode

    poly = []
    for i in range(10):
        h, w = int(rng.integers(4, 25)), int(rng.integers(4, 25))
        k = int(rng.integers(3, 7))
        lo = -3 if i % 3 == 0 else 0
        xy = np.stack([rng.integers(10 * lo, 10 * (w + 3), k) / 10,
                       rng.integers(10 * lo, 10 * (h + 3), k) / 10], 1).ravel().tolist()
        poly.append({"xy": xy, "h": h, "w": w,
                     "counts": pycoco_c.frPoly([xy], h, w)[0]["counts"].decode()})
    golden["poly"] = poly

    box = []
    for _ in range(5):
        h, w = int(rng.integers(4, 25)), int(rng.integers(4, 25))
        b = (rng.integers(-20, 10 * w, 4) / 10).tolist()
        b[2], b[3] = abs(b[2]), abs(b[3])
        box.append({"box": b, "h": h, "w": w,
                    "counts": pycoco_c.frBbox(np.array([b]), h, w)[0]["counts"].decode()})
    golden["box"] = box

    measure = []
    merge = []
    iou = []
    for i in range(4):
        h, w = int(rng.integers(3, 15)), int(rng.integers(3, 15))
        m = np.zeros((h, w, 3), np.uint8, order="F")
        for j in range(3):
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            m[y0:y0 + rng.integers(1, h), x0:x0 + rng.integers(1, w), j] = 1
        if i == 3:
            m[:, :, 2] = 0
        rles = pycoco.encode(m)
        strings = [r["counts"].decode() for r in rles]
        for r in rles:
            measure.append({"counts": r["counts"].decode(), "h": h, "w": w,
                            "area": int(pycoco.area(r)),
                            "bbox": pycoco.toBbox(r).tolist()})
        merge.append({"masks": strings, "h": h, "w": w,
                      "union": pycoco.merge(rles, intersect=0)["counts"].decode(),
                      "intersection": pycoco.merge(rles, intersect=1)["counts"].decode()})
        crowd = [i % 2, 0]
        iou.append({"dt": strings[:1] + strings[2:], "gt": strings[:2], "h": h, "w": w,
                    "iscrowd": crowd,
                    "iou": pycoco.iou(rles[:1] + rles[2:], rles[:2], crowd).tolist()})
    golden["measure"] = measure
    golden["merge"] = merge
    golden["iou"] = iou

    dt = (rng.integers(0, 200, (3, 4)) / 10).tolist()
    gt = (rng.integers(0, 200, (2, 4)) / 10).tolist()
    golden["box_iou"] = [{"dt": dt, "gt": gt, "iscrowd": crowd,
                          "iou": pycoco.iou(np.array(dt), np.array(gt), crowd).tolist()}
                         for crowd in ([0, 0], [1, 0])]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        OUT.write_text(json.dumps(golden, indent=1) + "\n")


if __name__ == "__main__":
    main()
