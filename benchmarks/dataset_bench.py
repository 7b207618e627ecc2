"""Benchmark of the dataset import job on a generated SA-1B-like dataset (>= 1 GB by default).

    python benchmarks/dataset_bench.py [--gb 1.0] [--data DIR] [--out DIR] [--runs 3]

Every variant runs in a subprocess of its own, so its peak memory (the largest sum of the RSS
of its process tree, sampled every 0.1 s: Ray's workers included) is its own:

* ``usual``: the job written the usual way: the standard library's ``json`` per file and
  pycocotools' ``area`` and ``toBbox`` per mask, the same columns written with pyarrow, one
  process. Its rows are checked against turborle's first (area, box and counts of every mask).
* ``usual-decode``: the same, but validating each mask the way pycocotools allows, by
  decoding it (``decode``), as loaders that check their masks do.
* ``local``: ``turborle dataset import --engine local`` (one process).
* ``ray-1``, ``ray-2``: the Ray engine with a local Ray of 1 and 2 CPUs (its start-up and
  shut-down included in the time; the start-up alone is measured too, ``ray-start``).
* ``ray-warm-1``, ``ray-warm-2``: the same on a Ray started, and its workers warmed by a tiny
  job, before the clock starts: the steady-state masks/s per worker and its scaling.

Reported: masks/s and MB/s per run (median of ``--runs``), masks per CPU-second (the CPU
time of the variant's whole process tree: a per-core speed that other programs on the machine
do not change), the 1 -> 2 worker scaling, peak memory, and the speed-up over ``usual`` per
core (one process each, by wall time and by CPU time). Timings on a shared machine
are noisy: the load average is printed with the results; compare ratios from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZES = ((1500, 2250), (1200, 1800), (1500, 2000))  # SA-1B's images are about 1500x2250
DECODE_FILES = 20  # files the decoding variant reads (its masks/s is what is compared)


def generate(data: Path, gb: float) -> dict[str, Any]:
    """SA-1B-like files (about 100 masks each) until `gb` gigabytes; reused when present."""
    stamp = data / "_generated.stamp"  # (not *.json: not an input file)
    if stamp.is_file():
        stats = json.loads(stamp.read_text())
        if stats["bytes"] >= gb * 1e9:
            return stats  # type: ignore[no-any-return]
    from benchmarks import dataset_gen

    data.mkdir(parents=True, exist_ok=True)
    total = {"images": 0, "masks": 0, "bytes": 0}
    batch, k = 500, 0
    while total["bytes"] < gb * 1e9:
        stats = dataset_gen.write_sa1b_like(
            data / f"sa_{k:06d}", batch, masks_per_image=(60, 140), sizes=SIZES, pool_size=None,
            seed=k, first_image_id=1 + k * batch)
        for key in total:
            total[key] += stats[key]
        k += 1
    stamp.write_text(json.dumps(total))
    return total


# ---- the variants, each run as `python dataset_bench.py --variant NAME DATA OUT` -----------------


def usual(data: str, out: str, decode: bool, max_files: int | None = None,
          compression: str = "zstd") -> dict[str, Any]:
    """The job the usual way: json + pycocotools per mask, pyarrow to write."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pycocotools import mask as coco_mask

    os.makedirs(out, exist_ok=True)
    masks = size = 0
    files = sorted(str(p) for p in Path(data).rglob("*.json"))[:max_files]
    for part, start in enumerate(range(0, len(files), 64)):
        cols: dict[str, list[Any]] = {k: [] for k in (
            "source", "image_id", "ann_id", "height", "width", "counts", "area", "bbox",
            "stored_area", "stored_bbox", "problem")}
        for path in files[start:start + 64]:
            with open(path) as f:
                text = f.read()
            size += len(text)
            doc = json.loads(text)
            for ann in doc["annotations"]:
                seg = ann["segmentation"]
                rle = {"size": seg["size"], "counts": seg["counts"].encode()}
                if decode:  # the only check pycocotools offers: decode and look
                    dense = coco_mask.decode(rle)
                    area = int(dense.sum())
                    ys, xs = np.nonzero(dense)
                    box = ([float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
                            float(ys.max() - ys.min() + 1)] if area else [0.0] * 4)
                else:
                    area = int(coco_mask.area(rle))
                    box = coco_mask.toBbox(rle).tolist()
                cols["source"].append(path)
                cols["image_id"].append(doc["image"]["image_id"])
                cols["ann_id"].append(ann["id"])
                cols["height"].append(seg["size"][0])
                cols["width"].append(seg["size"][1])
                cols["counts"].append(seg["counts"])
                cols["area"].append(area)
                cols["bbox"].append(box)
                cols["stored_area"].append(float(ann["area"]))
                cols["stored_bbox"].append(ann["bbox"])
                cols["problem"].append(None)
                masks += 1
        pq.write_table(pa.table(cols), os.path.join(out, f"part-{part:08d}.parquet"),
                       compression=compression)
    return {"masks": masks, "bytes": size}


def run_variant(name: str, data: str, out: str, compression: str = "zstd") -> dict[str, Any]:
    start = time.perf_counter()
    if name == "usual":
        result = usual(data, out, decode=False, compression=compression)
    elif name == "usual-decode":  # ~100x slower: a sample of the files
        result = usual(data, out, decode=True, max_files=DECODE_FILES, compression=compression)
    elif name == "ray-start":
        import ray

        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        ray.shutdown()
        result = {"masks": 0, "bytes": 0}
    elif name.startswith("ray-warm-"):  # steady state: Ray and its workers already up
        import ray

        from turborle.datasets import import_dataset

        workers = int(name.rsplit("-", 1)[1])
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR")
        try:
            warm = sorted(str(p) for p in Path(data).rglob("*.json"))[:workers * 2]
            import_dataset(warm, out + "-warm", engine="ray", files_per_shard=1, progress=False)
            start = time.perf_counter()
            summary = import_dataset(data, out, engine="ray", compression=compression,
                                     progress=False)
            result = {"masks": summary.masks, "bytes": summary.bytes,
                      "worker_cpu_seconds": summary.cpu_seconds,
                      "seconds": time.perf_counter() - start}  # (not the shut-down)
        finally:
            ray.shutdown()
    else:
        from turborle.datasets import import_dataset

        if name == "local":
            summary = import_dataset(data, out, engine="local", compression=compression,
                                     progress=False)
        else:
            summary = import_dataset(data, out, engine="ray", workers=int(name.split("-")[1]),
                                     compression=compression, progress=False)
        result = {"masks": summary.masks, "bytes": summary.bytes,
                  "worker_cpu_seconds": summary.cpu_seconds}
    result.setdefault("seconds", time.perf_counter() - start)
    return result


# ---- the driver ------------------------------------------------------------------------------------


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def measure(name: str, data: Path, out: Path, compression: str = "zstd") -> dict[str, Any]:
    """Runs one variant in a subprocess; its result, plus its peak tree RSS."""
    env = dict(os.environ, TURBORLE_NUM_THREADS="1", OMP_NUM_THREADS="1")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen([sys.executable, __file__, "--variant", name, str(data), str(out),
                             "--compression", compression],
                            stdout=subprocess.PIPE, text=True, env=env)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.1)
    output = proc.stdout.read() if proc.stdout else ""
    if proc.returncode:
        raise RuntimeError(f"{name} failed ({proc.returncode})")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(output.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(peak / 2**20, 1)
    # CPU time of the whole process tree (Ray's processes too, once reaped): masks per
    # CPU-second is the speed per core, whatever else the machine was running.
    result["cpu_seconds"] = round(after.ru_utime + after.ru_stime
                                  - before.ru_utime - before.ru_stime, 2)
    return dict(result)


def check_same_rows(usual_out: Path, turbo_out: Path) -> None:
    """The usual job's area, box and counts equal turborle's, mask for mask."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    import turborle

    a = pq.read_table(usual_out, columns=["area", "bbox", "counts"])
    b = turborle.read_parquet(turbo_out, columns=["area", "bbox", "mask"])  # (the type known)
    assert a.num_rows == b.num_rows, (a.num_rows, b.num_rows)
    assert np.array_equal(a["area"].to_numpy(), b["area"].to_numpy())
    assert np.array_equal(np.array(a["bbox"].to_pylist()), np.array(b["bbox"].to_pylist()))
    counts = pa.concat_arrays([chunk.storage.field("counts") for chunk in b["mask"].chunks])
    assert a["counts"].combine_chunks().equals(counts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", nargs=3, metavar=("NAME", "DATA", "OUT"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--gb", type=float, default=1.0, help="dataset size (default 1 GB)")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "turborle-sa1b")
    parser.add_argument("--out", type=Path, default=None, help="write results.json here")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--variants", default="usual,usual-decode,local,ray-1,ray-2,ray-start")
    parser.add_argument("--compression", default="zstd", choices=("zstd", "lz4", "snappy", "none"),
                        help="Parquet compression of every variant's output (default zstd)")
    args = parser.parse_args()
    if args.variant:
        name, data, out = args.variant
        print(json.dumps(run_variant(name, data, out, args.compression)))
        return 0
    stats = generate(args.data, args.gb)
    print(f"dataset: {stats['images']} files, {stats['masks']} masks, "
          f"{stats['bytes'] / 1e9:.2f} GB at {args.data}")
    work = Path(tempfile.mkdtemp(prefix="turborle-bench-"))
    results: dict[str, list[dict[str, Any]]] = {}
    variants = args.variants.split(",")
    for run in range(args.runs):
        for name in variants:
            if name == "usual-decode" and run > 0:
                continue  # slow, and far from the others: once is enough
            out = work / name
            if out.exists() and name.startswith("usual"):
                import shutil

                shutil.rmtree(out)
            result = measure(name, args.data, out, args.compression)
            results.setdefault(name, []).append(result)
            print(f"run {run} {name:<13} {result['seconds']:8.1f} s  "
                  f"{result['masks'] / result['seconds']:>10,.0f} masks/s  "
                  f"{result['cpu_seconds']:8.1f} CPU s  "
                  f"peak {result['peak_rss_mb']:>8.1f} MB  load {os.getloadavg()[0]:.2f}",
                  flush=True)
        if run == 0 and "usual" in variants and "local" in variants:
            check_same_rows(work / "usual", work / "local")
            print("usual and turborle rows agree (area, bbox, counts of every mask)")
    if "local" in variants:  # memory does not grow with the dataset: one folder of it
        one = sorted(p for p in args.data.iterdir() if p.is_dir())[0]
        result = measure("local", one, work / "local-one-folder", args.compression)
        results["local-one-folder"] = [result]
        print(f"local on {one.name} only: {result['masks']} masks, "
              f"peak {result['peak_rss_mb']:.1f} MB")
    report = summarize(results, stats)
    report["compression"] = args.compression
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "dataset-results.json").write_text(json.dumps(
            {"report": report, "runs": results}, indent=2))
    return 0


def summarize(results: dict[str, list[dict[str, Any]]], stats: dict[str, Any]) -> dict[str, Any]:
    def median_rate(name: str) -> float:
        return statistics.median(r["masks"] / r["seconds"] for r in results[name])

    report: dict[str, Any] = {
        "machine": f"{platform.machine()} {platform.processor() or ''} "
                   f"{os.cpu_count()} CPUs".strip(),
        "load_average_after": os.getloadavg(),
        "dataset": stats,
    }
    for name, runs in results.items():
        if name == "ray-start":
            report[name] = {"seconds": statistics.median(r["seconds"] for r in runs)}
            continue
        if name.startswith("ray"):  # Ray's workers are not our children: no CPU time
            for r in runs:
                r.pop("cpu_seconds", None)
        worker_cpu = [r["worker_cpu_seconds"] for r in runs if r.get("worker_cpu_seconds")]
        report[name] = {
            "masks_per_s": round(median_rate(name)),
            # the conversions' own CPU time, summed over workers (Ray's included)
            "masks_per_worker_cpu_s": round(statistics.median(
                r["masks"] / r["worker_cpu_seconds"] for r in runs
                if r.get("worker_cpu_seconds"))) if worker_cpu else None,
            "cores_used": round(statistics.median(
                r["worker_cpu_seconds"] / r["seconds"] for r in runs
                if r.get("worker_cpu_seconds")), 2) if worker_cpu else None,
            "masks_per_cpu_s": round(statistics.median(
                r["masks"] / r["cpu_seconds"] for r in runs if r.get("cpu_seconds"))) if any(
                r.get("cpu_seconds") for r in runs) else None,
            "mb_per_s": round(statistics.median(r["bytes"] / 1e6 / r["seconds"] for r in runs), 1),
            "peak_rss_mb": max(r.get("peak_rss_mb", 0) for r in runs),
            "seconds": [round(r["seconds"], 2) for r in runs],
        }
    for prefix in ("ray-", "ray-warm-"):
        if prefix + "1" in results and prefix + "2" in results:
            report[f"scaling_1_to_2_workers_{prefix.strip('-')}"] = round(
                median_rate(prefix + "2") / median_rate(prefix + "1"), 2)
    for name in ("usual", "usual-decode"):
        if name in results and "local" in results:
            report[f"speedup_per_core_vs_{name}"] = round(median_rate("local") / median_rate(name), 2)
            per_cpu = [report[k]["masks_per_cpu_s"] for k in ("local", name)]
            if all(per_cpu):
                report[f"speedup_per_cpu_second_vs_{name}"] = round(per_cpu[0] / per_cpu[1], 2)
    return report


if __name__ == "__main__":
    sys.exit(main())
