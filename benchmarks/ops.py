"""Speed of turborle's mask operations against rlemasklib and decode -> OpenCV -> encode.

    python benchmarks/ops.py [--quick] [--repeat N] [--runs N] [--masks N] [--only NAME,...] [--json PATH]

Inputs, 64 masks of 1024 x 1024 each (``--masks`` to change the count):

``sam``
    ``benchmarks/masks.py``'s SAM-like masks: one blob with a ragged edge and a few holes,
    a few hundred column-major runs each.
``noisy``
    The same masks with 0.2% of their pixels flipped: about two thousand one-pixel holes and
    islands each ("sprinkles"), several thousand runs.

For each operation and input, every library's result is first compared with turborle's
(pixels equal, or the difference is printed and the row marked), then all are timed in
``--repeat`` interleaved rounds (each round calls every library once untimed, to warm its
caches, then once timed), so that load from elsewhere on the machine falls on all alike:
the median per round, per mask, on the whole batch.

* turborle: one batch call, at 1 thread and at 2 threads.
* rlemasklib: its method on each pre-parsed ``RLEMask`` (parsing not timed), one thread.
* decode path: ``turborle.decode`` of the batch, OpenCV per mask, ``turborle.encode`` of the
  results (turborle's decoder and encoder are the fastest available, so the column measures
  the dense operation itself plus the unavoidable conversions). Where a dense result is one
  mask per component, each component is encoded at full size, as a user would have to.

Ratios are the other library's time over turborle's at one thread, measured in the same run.
"""

from __future__ import annotations

import os

# BLAS threads of numpy / OpenCV would spin beside the timed calls (the mask generator uses
# matrix products); everything here is timed at one thread unless said otherwise.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))
if __name__ == "__main__":
    from benchmarks import measure_in_place_build

    measure_in_place_build()

import turborle  # noqa: E402
from benchmarks.masks import sam_like_masks  # noqa: E402

try:
    import cv2

    cv2.setNumThreads(1)
except ImportError:  # pragma: no cover - reported per row
    cv2 = None
try:
    from rlemasklib import RLEMask
except ImportError:  # pragma: no cover
    RLEMask = None

AREA = 100  # small-region threshold (SAM's min_mask_region_area is often 100)
PAD = 16


# --------------------------------------------------------------------------------------------
# Inputs


def noisy(masks: np.ndarray, seed: int = 1, rate: float = 0.002) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return masks ^ (rng.random(masks.shape) < rate).astype(np.uint8)


@dataclass
class Input:
    name: str
    masks: np.ndarray  # (n, h, w) uint8

    def __post_init__(self) -> None:
        self.batch = turborle.encode(self.masks)
        coco = self.batch.to_coco()
        self.rlemasks = [RLEMask.from_dict(d) for d in coco] if RLEMask else None
        self.runs = int(np.median(np.diff(self.batch.offsets)))


# --------------------------------------------------------------------------------------------
# Dense (decode path) operations, one mask at a time: uint8 (h, w) -> uint8 (h, w) or a list


def dense_components(m):
    n, labels = cv2.connectedComponents(m, connectivity=8)
    return [(labels == k) for k in range(1, n)]


def dense_largest(m):
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n == 1:
        return np.zeros_like(m)
    return (labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)


def dense_fill_holes(m):
    # Background reached from outside the image (4-connected flood fill of a padded copy).
    padded = np.pad(m, 1)
    cv2.floodFill(padded, None, (0, 0), 1, flags=4)
    return m | (1 - padded[1:-1, 1:-1])


def dense_fill_small_holes(m, max_area=AREA - 1):
    n, labels, stats, _ = cv2.connectedComponentsWithStats(1 - m, connectivity=8)
    h, w = m.shape
    x, y, bw, bh, area = (stats[:, i] for i in range(5))
    inner = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h)
    fill = inner & (area <= max_area)
    fill[0] = False
    return m | fill[labels].astype(np.uint8)


def dense_remove_small_islands(m, min_area=AREA):
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    return keep[labels].astype(np.uint8)


def sam_remove_small_regions(mask, area_thresh, mode):
    """segment-anything's function (segment_anything/utils/amg.py), as it is."""
    correct_holes = mode == "holes"
    working_mask = (correct_holes ^ mask.astype(bool)).astype(np.uint8)
    n_labels, regions, stats, _ = cv2.connectedComponentsWithStats(working_mask, connectivity=8)
    sizes = stats[:, -1][1:]
    small_regions = [i + 1 for i, s in enumerate(sizes) if s < area_thresh]
    if len(small_regions) == 0:
        return mask, False
    fill_labels = [0] + small_regions
    if not correct_holes:
        fill_labels = [i for i in range(n_labels) if i not in fill_labels]
        if len(fill_labels) == 0:
            fill_labels = [int(np.argmax(sizes)) + 1]
    return np.isin(regions, fill_labels), True


def dense_morphology(op, size):
    kernel = np.ones((size, size), np.uint8)
    fn = cv2.dilate if op == "dilate" else cv2.erode
    # Outside the image is background, as in scipy and turborle (OpenCV's erode default
    # border counts it as foreground).
    return lambda m: fn(m, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)


def decode_path(per_mask: Callable[[np.ndarray], Any], subset: int | None = None):
    """decode -> per_mask on each -> encode; results that are lists are encoded each."""
    def run(batch):
        if subset is not None:
            batch = batch[:subset]
        dense = turborle.decode(batch).view(np.uint8)
        outs = [per_mask(m) for m in dense]
        if isinstance(outs[0], list):
            parts = [turborle.encode(np.stack(o)) for o in outs if o]
            return turborle.concat(parts)
        if isinstance(outs[0], tuple):
            outs = [o[0] for o in outs]
        return turborle.encode(np.stack(outs).astype(np.uint8, copy=False))
    return run


# --------------------------------------------------------------------------------------------
# Cases


@dataclass
class Case:
    name: str
    turborle: Callable[[Any, int], Any]  # (batch, threads) -> RLEBatch
    rlemasklib: Callable[[list], list] | None  # list of RLEMask -> list of RLEMask(s)
    dense: Callable[[Any], Any] | None  # batch -> RLEBatch
    dense_subset: int | None = None  # the decode path timed on this many masks (slow ones)
    note: str = ""
    unordered: bool = False  # results are compared as sets (libraries order components apart)


def cases(size: int = 1024) -> list[Case]:
    """The operations timed on masks of size x size."""
    tr = turborle
    box = (size * 200 // 1024, size * 150 // 1024, size * 600 // 1024, size * 500 // 1024)
    x, y, bw, bh = box
    down, up = max(1, size // 2), size * 3 // 2
    return [
        Case("components (8)", lambda b, t: tr.connected_components(b, 8, threads=t)[0],
             lambda rs: [c for r in rs for c in r.connected_components(connectivity=8)],
             decode_path(dense_components, subset=2), dense_subset=2, unordered=True,
             note="decode path encodes every component at full size"),
        Case("largest component (8)", lambda b, t: tr.largest_component(b, 8, threads=t),
             lambda rs: [r.largest_connected_component(connectivity=8) for r in rs],
             decode_path(dense_largest)),
        Case("fill holes (all, 4)", lambda b, t: tr.fill_holes(b, threads=t), None,
             decode_path(dense_fill_holes),
             note="rlemasklib has no equivalent (its fill_small_holes also fills background "
                  "touching the border)"),
        Case(f"fill holes < {AREA} px (8)", lambda b, t: tr.fill_holes(b, AREA - 1, 8, threads=t),
             None, decode_path(dense_fill_small_holes),
             note="rlemasklib: see the SAM holes row (it fills small regions at the border too)"),
        Case(f"remove islands < {AREA} px (8)",
             lambda b, t: tr.remove_small_islands(b, AREA, 8, threads=t),
             lambda rs: [r.remove_small_components(min_size=AREA, connectivity=8) for r in rs],
             decode_path(dense_remove_small_islands)),
        Case(f"SAM remove_small_regions holes {AREA}",
             lambda b, t: tr.remove_small_regions(b, AREA, "holes", threads=t)[0],
             lambda rs: [r.fill_small_holes(min_size=AREA, connectivity=8) for r in rs],
             decode_path(lambda m: sam_remove_small_regions(m, AREA, "holes")),
             note="decode path: segment-anything's own function; rlemasklib: fill_small_holes"),
        Case(f"SAM remove_small_regions islands {AREA}",
             lambda b, t: tr.remove_small_regions(b, AREA, "islands", threads=t)[0],
             lambda rs: [r.remove_small_components(min_size=AREA, connectivity=8) for r in rs],
             decode_path(lambda m: sam_remove_small_regions(m, AREA, "islands")),
             note="decode path: segment-anything's own function; rlemasklib: "
                  "remove_small_components (which keeps nothing when every island is small)"),
        *[Case(f"{op} square {k}", lambda b, t, op=op, k=k: getattr(tr, op)(b, k, "square", threads=t),
               lambda rs, op=op, k=k: [getattr(r, op)(kernel_shape="square", kernel_size=k) for r in rs],
               decode_path(dense_morphology(op, k)))
          for op in ("dilate", "erode") for k in (3, 7)],
        Case("closing disk 7", lambda b, t: tr.closing(b, 7, "disk", threads=t), None, None,
             note="no peer with this element"),
        Case(f"crop to {bw}x{bh}", lambda b, t: tr.crop(b, box, threads=t),
             lambda rs: [r.crop(np.array(box)) for r in rs],
             decode_path(lambda m: m[y:y + bh, x:x + bw])),
        Case(f"pad {PAD}", lambda b, t: tr.pad(b, PAD, PAD, PAD, PAD, threads=t),
             lambda rs: [r.pad(PAD, PAD, PAD, PAD) for r in rs],
             decode_path(lambda m: np.pad(m, PAD))),
        *[Case(f"resize to {s}x{s}", lambda b, t, s=s: tr.resize(b, (s, s), threads=t),
               lambda rs, s=s: [r.resize((s, s)) for r in rs],
               decode_path(lambda m, s=s: cv2.resize(m, (s, s), interpolation=cv2.INTER_NEAREST_EXACT)),
               note="decode path: OpenCV's INTER_NEAREST_EXACT, in fixed point")
          for s in (down, up)],
        Case("transpose", lambda b, t: tr.transpose(b, threads=t), lambda rs: [r.T for r in rs],
             decode_path(lambda m: np.ascontiguousarray(m.T))),
        Case("to_polygons", lambda b, t: tr.to_polygons(b, threads=t), None,
             decode_path(lambda m: (m, cv2.findContours(m, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE))),
             note="decode path: cv2.findContours (pixel-centre contours, not the same output)"),
    ]


# --------------------------------------------------------------------------------------------
# Checking and timing


def as_batch(result: Any) -> turborle.RLEBatch | None:
    """A library's result as an RLEBatch (None when it is not masks)."""
    if isinstance(result, turborle.RLEBatch):
        return result
    if isinstance(result, list) and result and RLEMask is not None and isinstance(result[0], RLEMask):
        return turborle.from_coco([r.to_dict() for r in result])
    return None


def same_pixels(a: turborle.RLEBatch, b: turborle.RLEBatch, unordered: bool = False) -> str:
    """'' when a and b hold the same masks (in any order when unordered), else what differs."""
    if len(a) != len(b):
        return f"{len(b)} masks instead of {len(a)}"
    if unordered:
        key = lambda batch: sorted(d["counts"] + str(d["size"]) for d in batch.to_coco())  # noqa: E731
        return "" if key(a) == key(b) else "the sets of masks differ"
    for i in range(len(a)):
        x, y = turborle.decode(a[i])[0], turborle.decode(b[i])[0]
        if x.shape != y.shape:
            return f"mask {i}: shape {y.shape} instead of {x.shape}"
        if not np.array_equal(x, y):
            return f"mask {i}: {int((x != y).sum())} pixels differ"
    return ""


def run_case(case: Case, data: Input, repeat: int) -> dict[str, Any]:
    """Checks every library's result against turborle's, then times them in turn, `repeat`
    rounds (each round times every library once, after one untimed warm-up call, so that
    load from elsewhere on the machine falls on all alike); medians per mask."""
    n = len(data.batch)
    row: dict[str, Any] = {"case": case.name, "input": data.name, "note": case.note, "checks": []}
    ref_batch = as_batch(case.turborle(data.batch, 1))
    timed: dict[str, tuple[Callable[[], Any], int]] = {
        "turborle_1t": (lambda: case.turborle(data.batch, 1), n),
        "turborle_2t": (lambda: case.turborle(data.batch, 2), n),
    }
    if case.rlemasklib is not None and data.rlemasks is not None:
        out = as_batch(case.rlemasklib(data.rlemasks))
        diff = same_pixels(ref_batch, out, case.unordered) if ref_batch is not None and out is not None else ""
        if diff:
            row["checks"].append(f"rlemasklib differs ({diff})")
        timed["rlemasklib"] = (lambda: case.rlemasklib(data.rlemasks), n)
    if case.dense is not None and cv2 is not None:
        subset = min(case.dense_subset or n, n)
        out = as_batch(case.dense(data.batch))
        if ref_batch is not None and out is not None:
            want = as_batch(case.turborle(data.batch[:subset], 1)) if subset < n else ref_batch
            diff = same_pixels(want, out, case.unordered)
            if diff:
                row["checks"].append(f"decode path differs ({diff})")
        timed["decode"] = (lambda: case.dense(data.batch), subset)
        if subset < n:
            row["note"] = (row["note"] + "; " if row["note"] else "") + f"decode path timed on {subset} masks"
    times: dict[str, list[float]] = {key: [] for key in timed}
    slow = "decode" in timed and case.dense_subset is not None
    for round_ in range(repeat):
        for key, (fn, _) in timed.items():
            if key == "decode" and slow and round_ >= max(1, repeat // 3):
                continue  # (the slowest path: fewer rounds)
            if key != "decode":
                fn()  # warm: the decode path before it has just swept 64 MB through the caches
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    for key, (_, masks) in timed.items():
        row[key] = statistics.median(times[key]) / masks
    return row


def fmt_ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.3f}"


def ratio(row: dict[str, Any], key: str) -> str:
    """The peer's time over turborle's: the median of the runs' ratios, their range after it
    when there were several runs."""
    ratios = row.get(f"ratios_{key}")
    if not ratios:
        return "-"
    text = f"{statistics.median(ratios):.1f}x"
    return text if len(ratios) == 1 else f"{text} ({min(ratios):.1f}-{max(ratios):.1f})"


TIMES = ("turborle_1t", "turborle_2t", "rlemasklib", "decode")


def combine(runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per case from several runs of every case: each time the median of the runs',
    each ratio kept per run (a ratio is only meaningful within one run)."""
    rows = []
    for same in zip(*runs):
        row = {k: v for k, v in same[0].items() if k not in TIMES}
        row["checks"] = sorted({c for r in same for c in r["checks"]})
        for key in TIMES:
            if key in same[0]:
                row[key] = statistics.median(r[key] for r in same)
        for key in ("rlemasklib", "decode"):
            if key in same[0]:
                row[f"ratios_{key}"] = [r[key] / r["turborle_1t"] for r in same]
        rows.append(row)
    return rows


def table(rows: list[dict[str, Any]], data: Input) -> str:
    lines = [
        f"**{data.name}**: {len(data.batch)} masks of {data.masks.shape[1]}x{data.masks.shape[2]}, "
        f"median {data.runs} runs per mask. Time per mask in ms (median); ratio = time / "
        "turborle at 1 thread.",
        "",
        "| operation | turborle 1 thread | turborle 2 threads | rlemasklib | ratio | "
        "decode path | ratio | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        notes = "; ".join(filter(None, [row["note"], *row["checks"]]))
        lines.append(
            f"| {row['case']} | {fmt_ms(row['turborle_1t'])} | {fmt_ms(row['turborle_2t'])} | "
            f"{fmt_ms(row.get('rlemasklib'))} | {ratio(row, 'rlemasklib')} | "
            f"{fmt_ms(row.get('decode'))} | {ratio(row, 'decode')} | {notes} |")
    return "\n".join(lines)


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = turborle.info()
    try:
        from importlib.metadata import version
        peer = f"rlemasklib {version('rlemasklib')}, opencv {cv2.__version__ if cv2 else 'missing'}"
    except Exception:  # noqa: BLE001 - informational only
        peer = "versions unknown"
    return (f"{model}, {os.cpu_count()} CPUs; turborle {info['version']} ({info['simd']}); {peer}; "
            f"numpy {np.__version__}, Python {platform.python_version()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="8 masks, 3 repeats")
    parser.add_argument("--masks", type=int, default=64)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated parts of case names")
    parser.add_argument("--runs", type=int, default=1,
                        help="measure every case this many times over; the table gives median "
                             "times and the median and range of the runs' ratios")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    n, repeat = (8, 3) if args.quick else (args.masks, args.repeat)
    base = sam_like_masks(n, args.size, args.size)
    inputs = [Input("sam", base), Input("noisy", noisy(base))]
    chosen = [c for c in cases(args.size)
              if not args.only or any(s in c.name for s in args.only.split(","))]
    print(machine())
    runs = [[run_case(c, data, repeat) for data in inputs for c in chosen]
            for _ in range(max(1, args.runs))]
    all_rows = combine(runs)
    for data in inputs:
        print()
        print(table([r for r in all_rows if r["input"] == data.name], data))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": all_rows, "runs": runs},
                                        indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
