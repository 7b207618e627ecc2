"""Run the speed benchmarks and report them.

    python benchmarks/run.py [--quick | --all] [--only GROUP,...] [--repeat N] [--readme]

1. Runs ``benchmarks/test_speed.py`` under pytest-benchmark, with the process pinned to one
   CPU and every library at one thread (``TURBORLE_NUM_THREADS=1``, ``RAYON_NUM_THREADS=1``,
   ``OMP_NUM_THREADS=1``, ``OPENBLAS_NUM_THREADS=1``; a library that starts threads anyway
   shares that one CPU).
2. Runs turborle's cases of 10,000 dicts of parse, area and bbox (every case with
   ``--threads-all``) again at 1 and 2 threads on two CPUs, when turborle takes a thread
   count and the machine has two CPUs (otherwise the report says why not).
3. Runs pycocotools' COCOeval with each mask library (``benchmarks/cocoeval.py``) and the
   one-mask calls (``benchmarks/small_calls.py``).
4. Prints the tables and writes to DIR (default ``benchmarks/results/``): ``results.md``
   (targets, then operation x library tables: median ms, ratios), ``results.json``
   (machine, versions, every row), ``speed.png`` / ``speed-all.png`` (bar charts) and
   pytest-benchmark's raw ``raw-*.json``; appends the run to ``history.jsonl``. A run with
   ``--only`` writes ``partial-<groups>.md``/``.json`` instead of the full report.
   ``--readme`` also rewrites the targets section of ``benchmarks/README.md``.

Ratios measured in one run are what count; absolute times drift between runs and machines.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import in_place_source  # noqa: E402
from benchmarks.suite import GROUPS  # noqa: E402

PACKAGES = ["turborle", "pycocotools", "rlemasklib", "hotcoco", "faster-coco-eval",
            "ultrafast-pycocotools", "numpy", "pytest-benchmark"]
CORPORA = ("sam", "coco")
EXTRA_GROUPS = ("cocoeval", "small_calls")  # run by their own scripts, not pytest
# Report columns, in this order; turborle's paths first. ".parsed": parsing untimed.
COLUMNS = ["turborle.mask", "turborle.batch", "turborle.parsed", "pycocotools", "rlemasklib",
           "rlemasklib.parsed", "hotcoco", "faster-coco-eval", "ultrafast-pycocotools",
           "numpy baseline"]
# The label under which the fal rate of the build before issue 13 is kept in history.jsonl.
FAL_PREVIOUS = "0d10937"
FAL_KEY = "turborle.batch"  # the fal path of the target: row-major text, as fal writes it


# --------------------------------------------------------------------------------------------
# Machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def available_cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_revision(where: Path = ROOT) -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=where, text=True,
                             capture_output=True, check=True).stdout.strip()
        # The benchmarks' own outputs (results, the README's targets table) do not make the
        # measured code dirty.
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".", ":!benchmarks/results", ":!benchmarks/README.md"],
                               cwd=where, text=True, capture_output=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def turborle_facts(env: dict[str, str]) -> dict[str, Any]:
    """turborle.info() and whether threads can be set, asked in a child with the run's env."""
    code = (
        "import json, sys\n"
        "from benchmarks import suite\n"
        "out = {'batch_api': suite.batch_api_missing() or 'available',\n"
        "       'threads': suite.threads_missing() or 'available'}\n"
        "try:\n"
        "    import turborle\n"
        "    out['version'] = getattr(turborle, '__version__', '?')\n"
        "    out['file'] = turborle.__file__\n"
        "    info = getattr(turborle, 'info', None)\n"
        "    out['info'] = info() if info else 'turborle.info() not available'\n"
        "except Exception as exc:\n"
        "    out['error'] = repr(exc)\n"
        "json.dump(out, sys.stdout, default=repr)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                          capture_output=True)
    if proc.returncode:
        return {"error": proc.stderr.strip()[-2000:]}
    return json.loads(proc.stdout)


# --------------------------------------------------------------------------------------------
# Running the children


def child_env(mode: str, budget: float, threads: str, only: str = "", groups: str = "",
              corpora: str = "", turborle: Path | None = None,
              threads_compared: bool = False, one_thread: bool = True) -> dict[str, str]:
    env = dict(os.environ)
    src = in_place_source()
    if turborle is not None:  # another build: its source tree first
        paths = [str(turborle), str(ROOT)]
    elif src is not None:  # an in-place build: use the source tree
        paths = [str(src), str(ROOT)]
    else:
        paths = [str(ROOT)]
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")])
    env.update(TURBORLE_BENCH_MODE=mode, TURBORLE_BENCH_BUDGET=str(budget),
               TURBORLE_BENCH_THREADS=threads, TURBORLE_BENCH_ONLY=only,
               TURBORLE_BENCH_GROUPS=groups, TURBORLE_BENCH_CORPORA=corpora,
               TURBORLE_BENCH_THREADS_COMPARED="1" if threads_compared else "",
               # numpy's BLAS (the mask generators' small matrix products) spins up threads
               # that fight over a shared 2-CPU machine: 5x slower generation when left on.
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if one_thread:
        env.update(TURBORLE_NUM_THREADS="1", RAYON_NUM_THREADS="1", OMP_NUM_THREADS="1")
    else:  # the libraries' defaults
        for name in ("TURBORLE_NUM_THREADS", "RAYON_NUM_THREADS", "OMP_NUM_THREADS"):
            env.pop(name, None)
    return env


def _pin(cpus: list[int]) -> Callable[[], None]:
    def pin() -> None:
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, cpus)

    return pin


def run_pytest(env: dict[str, str], cpus: list[int], json_path: Path, extra: list[str],
               timer: str = "wall") -> int:
    timer_arg = ["--benchmark-timer=time.process_time"] if timer == "cpu" else []
    cmd = [sys.executable, "-m", "pytest", str(HERE / "test_speed.py"), "--benchmark-only",
           *timer_arg,
           f"--benchmark-json={json_path}", "--benchmark-columns=median,iqr,rounds",
           "--benchmark-sort=mean", "-p", "no:cacheprovider", "-q",
           # The project's pytest config turns warnings into errors for its own tests;
           # a peer library's deprecation warning must not fail a benchmark.
           "-o", "filterwarnings=default", *extra]
    print("$", " ".join(cmd), f"  (CPUs {cpus})", flush=True)
    json_path.unlink(missing_ok=True)
    return subprocess.run(cmd, cwd=ROOT, env=env, preexec_fn=_pin(cpus)).returncode


def run_script(name: str, args: list[str], env: dict[str, str], cpus: list[int] | None,
               json_path: Path) -> Any:
    """Run benchmarks/<name>.py with --json; its results, or None when it failed."""
    cmd = [sys.executable, str(HERE / f"{name}.py"), *args, "--json", str(json_path)]
    print("$", " ".join(cmd), f"  (CPUs {cpus or 'all'})", flush=True)
    json_path.unlink(missing_ok=True)
    rc = subprocess.run(cmd, cwd=ROOT, env=env,
                        preexec_fn=_pin(cpus) if cpus else None).returncode
    if rc or not json_path.exists():
        print(f"{name} failed (exit status {rc})", file=sys.stderr)
        return None
    return json.loads(json_path.read_text())


def load_rows(json_path: Path, run: str) -> list[dict[str, Any]]:
    data = json.loads(json_path.read_text())
    rows = []
    for b in data.get("benchmarks", []):
        info = b["extra_info"]
        st = b["stats"]
        median = st["median"]
        work = info.get("work", {})
        rows.append({
            "run": run, "operation": info["operation"], "title": info["title"],
            "shape": info["shape"], "corpus": info["corpus"], "key": info["key"],
            "library": info["library"], "variant": info["variant"],
            "threads": info["threads"], "baseline": info.get("baseline", False),
            "median_ms": median * 1e3, "iqr_ms": st["iqr"] * 1e3, "min_ms": st["min"] * 1e3,
            "rounds": st["rounds"], "work": work,
            "gb_per_s": work.get("pixels", 0) / median / 1e9 if median > 0 else float("nan"),
            "masks_per_s": work.get("masks", 0) / median if median > 0 else float("nan"),
        })
    return rows


def combine_runs(runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Rows of repeated runs of the same cases: the median of their medians (and of their
    IQRs), the fastest round of all, the rounds summed; ``runs`` says how many."""
    if len(runs) == 1:
        return runs[0]
    key = ("operation", "shape", "corpus", "key", "threads")
    by_case: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for rows in runs:
        for r in rows:
            by_case.setdefault(tuple(r[k] for k in key), []).append(r)
    out = []
    for rs in by_case.values():
        r = dict(rs[0])
        r["median_ms"] = statistics.median(x["median_ms"] for x in rs)
        r["iqr_ms"] = statistics.median(x["iqr_ms"] for x in rs)
        r["min_ms"] = min(x["min_ms"] for x in rs)
        r["rounds"] = sum(x["rounds"] for x in rs)
        r["runs"] = len(rs)
        r["run_medians_ms"] = [x["median_ms"] for x in rs]
        seconds = r["median_ms"] / 1e3
        r["gb_per_s"] = r["work"].get("pixels", 0) / seconds if seconds else float("nan")
        r["gb_per_s"] /= 1e9
        r["masks_per_s"] = r["work"].get("masks", 0) / seconds if seconds else float("nan")
        out.append(r)
    return out


# --------------------------------------------------------------------------------------------
# Report


def _parsed_path(r: dict[str, Any]) -> bool:
    """A path whose input was parsed before the timed call (not the dicts the peers take)."""
    return str(r["key"]).endswith(".parsed")


def _is_turborle(r: dict[str, Any]) -> bool:
    return r["library"] == "turborle"


def _is_peer(r: dict[str, Any]) -> bool:
    return r["library"] != "turborle" and not r["baseline"]


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """x_turborle = median / fastest turborle median of the same run, group and thread count 1
    (>1: slower than turborle)."""
    best: dict[tuple[str, ...], float] = {}
    for r in rows:
        if _is_turborle(r) and r["threads"] == 1:
            k = (r["run"], r["operation"], r["shape"], r["corpus"])
            best[k] = min(best.get(k, float("inf")), r["median_ms"])
    for r in rows:
        ref = best.get((r["run"], r["operation"], r["shape"], r["corpus"]))
        r["x_turborle"] = r["median_ms"] / ref if ref else None


def _fmt_ms(ms: float) -> str:
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def _fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x" if x < 10 else f"{x:.0f}x"


def _fmt_rate(x: float) -> str:
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def groups(rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    seen: list[tuple[str, str, str]] = []
    for r in rows:
        g = (r["operation"], r["shape"], r["corpus"])
        if g not in seen:
            seen.append(g)
    return seen


def _in(rows: list[dict[str, Any]], g: tuple[str, str, str]) -> list[dict[str, Any]]:
    return [r for r in rows if (r["operation"], r["shape"], r["corpus"]) == g]


def _column(r: dict[str, Any]) -> str:
    if r["baseline"]:
        return "numpy baseline"
    if r["library"] == "turborle" or r["key"].endswith(".parsed"):
        return r["key"]
    return r["library"]


def versus_peer(rs: list[dict[str, Any]], peers: tuple[str, ...] = ()
                ) -> tuple[float, dict[str, Any], dict[str, Any]] | None:
    """(fastest peer / fastest turborle, turborle row, peer row) over paths that take the
    same input (dicts, or parsed on both sides where the group has only parsed paths);
    ``peers``: only these libraries. None when either side is missing."""
    one = [r for r in rs if r["threads"] == 1]
    trs = [r for r in one if _is_turborle(r) and not _parsed_path(r)]
    prs = [r for r in one if _is_peer(r) and not _parsed_path(r)
           and (not peers or r["library"] in peers)]
    if not trs or not prs:
        return None
    t = min(trs, key=lambda r: r["median_ms"])
    p = min(prs, key=lambda r: r["median_ms"])
    return p["median_ms"] / t["median_ms"], t, p


def summary_table(rows: list[dict[str, Any]]) -> str:
    """Group x library matrix of 'median ms (ratio to turborle)', best path per column, and
    turborle's speed-up over the fastest peer."""
    main = [r for r in rows if r["run"] == "main"]
    present = {_column(r) for r in main}
    cols = [c for c in COLUMNS if c in present] + sorted(present - set(COLUMNS))
    lines = ["| operation | shape | corpus | vs fastest peer | " + " | ".join(cols) + " |",
             "|---|---|---|---|" + "---:|" * len(cols)]
    for g in groups(main):
        rs = _in(main, g)
        cells = []
        for c in cols:
            cand = [r for r in rs if _column(r) == c]
            if not cand:
                cells.append("")
                continue
            r = min(cand, key=lambda r: r["median_ms"])
            cells.append(f"{_fmt_ms(r['median_ms'])} ({_fmt_ratio(r['x_turborle'])})")
        vs = versus_peer(rs)
        peer = f"**{vs[0]:.2f}x** ({vs[2]['library']})" if vs else "no peer"
        lines.append(f"| {g[0]} | {g[1]} | {g[2]} | {peer} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def detail_table(rows: list[dict[str, Any]]) -> str:
    main = [r for r in rows if r["run"] == "main"]
    out = []
    for g in groups(main):
        rs = sorted(_in(main, g), key=lambda r: r["median_ms"])
        extra_units = [u for u in rs[0]["work"] if u not in ("pixels", "masks")]
        out.append(f"\n{g[0]} {g[1]} ({g[2]}): {rs[0]['title']}")
        head = "| library | path | median ms | IQR ms | GB/s | masks/s |"
        head += "".join(f" {u}/s |" for u in extra_units) + " x turborle |"
        out.append(head)
        out.append("|---|---|---:|---:|---:|---:|" + "---:|" * len(extra_units) + "---:|")
        for r in rs:
            rates = "".join(f" {_fmt_rate(r['work'][u] / r['median_ms'] * 1e3)} |"
                            for u in extra_units)
            out.append(f"| {r['key']} | {r['variant']} | {_fmt_ms(r['median_ms'])} | "
                       f"{r['iqr_ms']:.2g} | {r['gb_per_s']:.3g} | "
                       f"{_fmt_rate(r['masks_per_s'])} |{rates} {_fmt_ratio(r['x_turborle'])} |")
    return "\n".join(out)


def thread_speedups(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    tr = [r for r in rows if r["run"] == "threads"]
    for g in groups(tr):
        rs = _in(tr, g)
        for key in sorted({r["key"] for r in rs}):
            by_t = {r["threads"]: r for r in rs if r["key"] == key}
            if 1 in by_t and 2 in by_t:
                t1, t2 = by_t[1]["median_ms"], by_t[2]["median_ms"]
                out.append({"operation": g[0], "shape": g[1], "corpus": g[2], "key": key,
                            "t1_ms": t1, "t2_ms": t2, "speedup": t1 / t2})
    return out


def threads_table(rows: list[dict[str, Any]], note: str) -> str:
    sp = thread_speedups(rows)
    if not sp:
        return f"2 threads vs 1: {note}"
    lines = ["| operation | shape | corpus | path | 1 thread ms | 2 threads ms | speed-up |",
             "|---|---|---|---|---:|---:|---:|"]
    for s in sp:
        lines.append(f"| {s['operation']} | {s['shape']} | {s['corpus']} | {s['key']} | "
                     f"{_fmt_ms(s['t1_ms'])} | {_fmt_ms(s['t2_ms'])} | {s['speedup']:.2f}x |")
    return "\n".join(lines)


def small_calls_table(rows: list[dict[str, Any]] | None) -> str:
    if not rows:
        return "not run"
    lines = ["| call | pycocotools | turborle | speed-up |", "|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['call']} | {r['pycocotools_us']:.2f} us | {r['turborle_us']:.2f} us "
                     f"| {r['speedup']:.2f}x |")
    return "\n".join(lines)


# ---- targets ---------------------------------------------------------------------------------

DICTS_10K = "10000 dicts @ 1024x1024"
TARGET = "64x1024x1024"


@dataclass
class Target:
    text: str  # the target, as the issue words it
    goal: str  # the threshold, as shown
    measure: Callable[[dict[str, Any], str], tuple[float | None, str]]  # (value, detail)
    threshold: float
    percent: bool = False  # show the value as a percentage


def _main_rows(res: dict[str, Any], op: str, shape: str, corpus: str) -> list[dict[str, Any]]:
    return [r for r in res["rows"] if r["run"] == "main" and r["operation"] == op
            and r["shape"] == shape and r["corpus"] == corpus]


def vs_peer(op: str, shape: str, peers: tuple[str, ...] = (),
            key: str = "") -> Callable[[dict[str, Any], str], tuple[float | None, str]]:
    """Fastest peer (or the named ones) / fastest turborle path (or the path ``key``)."""
    def measure(res: dict[str, Any], corpus: str) -> tuple[float | None, str]:
        rs = _main_rows(res, op, shape, corpus)
        if key:
            rs = [r for r in rs if not _is_turborle(r) or r["key"] == key]
        vs = versus_peer(rs, peers)
        if not vs:
            return None, "not measured"
        x, t, p = vs
        return x, (f"{t['key']} {_fmt_ms(t['median_ms'])} ms vs {p['library']} "
                   f"{_fmt_ms(p['median_ms'])} ms; fastest rounds: "
                   f"{p['min_ms'] / t['min_ms']:.2f}x")

    return measure


def of_baseline(op: str, shape: str) -> Callable[[dict[str, Any], str], tuple[float | None, str]]:
    """numpy baseline time / fastest turborle time: the fraction of its bandwidth reached."""
    def measure(res: dict[str, Any], corpus: str) -> tuple[float | None, str]:
        rs = [r for r in _main_rows(res, op, shape, corpus) if r["threads"] == 1]
        base = [r for r in rs if r["baseline"]]
        trs = [r for r in rs if _is_turborle(r)]
        if not base or not trs:
            return None, "not measured"
        t = min(trs, key=lambda r: r["median_ms"])
        return base[0]["median_ms"] / t["median_ms"], (
            f"{t['key']} {t['gb_per_s']:.1f} GB/s vs count_nonzero {base[0]['gb_per_s']:.1f} GB/s")

    return measure


def two_threads(op: str, shape: str, key: str) -> Callable[[dict[str, Any], str],
                                                            tuple[float | None, str]]:
    def measure(res: dict[str, Any], corpus: str) -> tuple[float | None, str]:
        for s in res.get("thread_speedups", []):
            if (s["operation"], s["shape"], s["corpus"], s["key"]) == (op, shape, corpus, key):
                return s["speedup"], (f"{key} {_fmt_ms(s['t1_ms'])} -> "
                                      f"{_fmt_ms(s['t2_ms'])} ms")
        return None, "not measured"

    return measure


def never_slower_merge(res: dict[str, Any], corpus: str) -> tuple[float | None, str]:
    """The smallest pycocotools / turborle ratio of merge over every size (boxes included)."""
    worst: tuple[float, str] | None = None
    for g in groups([r for r in res["rows"] if r["run"] == "main" and r["operation"] == "merge"]):
        if g[2] not in (corpus, "boxes"):
            continue
        vs = versus_peer(_main_rows(res, *g), ("pycocotools",))
        if vs and (worst is None or vs[0] < worst[0]):
            worst = (vs[0], f"worst: {g[1]} {g[2]}")
    return (worst[0], worst[1]) if worst else (None, "not measured")


def fal_vs_previous(key: str) -> Callable[[dict[str, Any], str], tuple[float | None, str]]:
    """runs/s of the fal path ``key`` now / at FAL_PREVIOUS (from history.jsonl)."""
    def measure(res: dict[str, Any], corpus: str) -> tuple[float | None, str]:
        rs = [r for r in _main_rows(res, "fal", TARGET, corpus) if r["key"] == key]
        prev = res.get("fal_previous", {}).get(f"{corpus} {key}")
        if not rs:
            return None, "not measured"
        now = rs[0]["work"]["runs"] / rs[0]["median_ms"] * 1e3
        mb = rs[0]["work"]["MB"] / rs[0]["median_ms"] * 1e3
        if not prev:
            return None, (f"{_fmt_rate(now)} runs/s, {mb:.0f} MB/s; no {FAL_PREVIOUS} rate of this "
                          "CPU in history")
        return now / prev, (f"{_fmt_rate(now)} runs/s ({mb:.0f} MB/s) vs {_fmt_rate(prev)} "
                            f"runs/s at {FAL_PREVIOUS}")

    return measure


def cocoeval_masks(res: dict[str, Any], corpus: str) -> tuple[float | None, str]:
    for r in res.get("cocoeval") or []:
        if r["corpus"] == corpus:
            return r["mask_time_ratio"], (
                f"mask calls {r['pycocotools']['mask_s']:.3f} -> {r['turborle']['mask_s']:.3f} s; "
                f"evaluate() {r['evaluate_ratio']:.2f}x")
    return None, "not measured"


WORKLOAD_DENSE = "1000x480x640 small"
WORKLOAD_DICTS = "20000 dicts @ 480x640 small"

TARGETS = [
    Target("from_coco of 10k dicts", ">= 3x", vs_peer("parse", DICTS_10K), 3),
    Target("from_coco of 10k dicts, bytes counts", ">= 3x", vs_peer("parse", DICTS_10K + " bytes"),
           3),
    Target("mask.area of 10k dicts", ">= 3x", vs_peer("area", DICTS_10K, key="turborle.mask"), 3),
    Target("mask.toBbox of 10k dicts", ">= 3x", vs_peer("bbox", DICTS_10K, key="turborle.mask"), 3),
    Target("mask.decode of dicts (64 masks)", ">= 3x",
           vs_peer("decode_f", TARGET, key="turborle.mask"), 3),
    Target("from_coco, 2 threads vs 1 (10k dicts)", ">= 1.8x",
           two_threads("parse", DICTS_10K, "turborle.batch"), 1.8),
    Target("mask.area, 2 threads vs 1 (10k dicts)", ">= 1.8x",
           two_threads("area", DICTS_10K, "turborle.mask"), 1.8),
    Target("mask.toBbox, 2 threads vs 1 (10k dicts)", ">= 1.8x",
           two_threads("bbox", DICTS_10K, "turborle.mask"), 1.8),
    Target(f"from_fal rate vs {FAL_PREVIOUS} (64 masks, row-major text)", ">= 4x",
           fal_vs_previous(FAL_KEY), 4),
    Target(f"from_fal rate vs {FAL_PREVIOUS}, column-major text (the parser alone)", ">= 4x",
           fal_vs_previous("turborle.colmajor"), 4),
    Target("IoU 64x64, no crowd", ">= 4x", vs_peer("iou", "64x64 @ 1024x1024"), 4),
    Target("IoU 64x64, crowd", ">= 4x", vs_peer("iou_crowd", "64x64 @ 1024x1024"), 4),
    Target("IoU 300x300, no crowd", ">= 4x", vs_peer("iou", "300x300 @ 1024x1024"), 4),
    Target("IoU 300x300, crowd", ">= 4x", vs_peer("iou_crowd", "300x300 @ 1024x1024"), 4),
    Target("merge of 64", ">= 3x", vs_peer("merge", TARGET), 3),
    Target("merge never slower than pycocotools (every size, 2 boxes of 4096x4096 included)",
           ">= 1x", never_slower_merge, 1),
    Target("encode Fortran (h, w, 64) vs hotcoco", ">= 1.5x",
           vs_peer("encode_f", TARGET, ("hotcoco",)), 1.5),
    Target("encode C-order (64, h, w), share of count_nonzero bandwidth", ">= 60%",
           of_baseline("encode_c", TARGET), 0.6, percent=True),
    Target("decode into a preallocated C array vs rlemasklib decode_into", ">= 1.2x",
           vs_peer("decode_into_c", TARGET, ("rlemasklib",)), 1.2),
    Target("decode into a preallocated Fortran array vs rlemasklib decode_into", ">= 1.2x",
           vs_peer("decode_into_f", TARGET, ("rlemasklib",)), 1.2),
    Target("decode that allocates, C order", ">= 3x", vs_peer("decode_c", TARGET), 3),
    Target("decode that allocates, Fortran (mask.decode)", ">= 3x", vs_peer("decode_f", TARGET), 3),
    Target("COCO-sized workload: encode (Fortran, 480x640)", ">= 3x",
           vs_peer("encode_f", WORKLOAD_DENSE), 3),
    Target("COCO-sized workload: to_coco of 20k", ">= 3x", vs_peer("to_coco", WORKLOAD_DICTS), 3),
    Target("COCO-sized workload: from_coco of 20k", ">= 3x", vs_peer("parse", WORKLOAD_DICTS), 3),
    Target("COCO-sized workload: area of 20k", ">= 3x", vs_peer("area", WORKLOAD_DICTS), 3),
    Target("COCO-sized workload: bbox of 20k", ">= 3x", vs_peer("bbox", WORKLOAD_DICTS), 3),
    Target("COCOeval (segm): time in mask calls, pycocotools / turborle", ">= 2x",
           cocoeval_masks, 2),
]


def targets_table(res: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The targets table (markdown) and its rows."""
    lines = ["| target | goal | sam | coco | met |", "|---|---|---|---|---|"]
    out = []
    for t in TARGETS:
        cells, met = [], []
        row: dict[str, Any] = {"target": t.text, "goal": t.goal}
        for corpus in CORPORA:
            value, detail = t.measure(res, corpus)
            row[corpus] = {"value": value, "detail": detail}
            if value is None:
                cells.append(f"- ({detail})")
                continue
            shown = f"{value:.0%}" if t.percent else f"{value:.2f}x"
            cells.append(f"**{shown}** ({detail})")
            met.append(value >= t.threshold)
        row["met"] = None if not met else all(met)
        verdict = "not measured" if not met else "met" if all(met) else "**missed**"
        lines.append(f"| {t.text} | {t.goal} | {cells[0]} | {cells[1]} | {verdict} |")
        out.append(row)
    return "\n".join(lines), out


# ---- chart -----------------------------------------------------------------------------------

LIB_COLORS = {
    "turborle.mask": "#d62728", "turborle.batch": "#ff7f0e", "turborle.parsed": "#ffbb78",
    "pycocotools": "#7f7f7f", "rlemasklib": "#1f77b4", "rlemasklib.parsed": "#aec7e8",
    "hotcoco": "#2ca02c", "faster-coco-eval": "#9467bd", "ultrafast-pycocotools": "#8c564b",
    "numpy baseline": "#17becf",
}

# The groups of the headline chart: the targets' shapes (one thread).
HEADLINE_SHAPES = (TARGET, "64x64 @ 1024x1024", "300x300 @ 1024x1024", DICTS_10K,
                   WORKLOAD_DICTS)


def plot(rows: list[dict[str, Any]], machine: dict[str, Any], path: Path,
         only_shapes: tuple[str, ...] = ()) -> bool:
    """Bar chart, one panel per group (only ``only_shapes`` when given); False if empty."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    main = [r for r in rows if r["run"] == "main"]
    gs = [g for g in groups(main) if not only_shapes or g[1] in only_shapes]
    if not gs:
        return False
    ncols = min(4, len(gs))
    nrows = -(-len(gs) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 2.9 * nrows + 0.8),
                             squeeze=False)
    for ax, g in zip(axes.flat, gs, strict=False):
        rs = sorted(_in(main, g), key=lambda r: r["median_ms"], reverse=True)
        y = list(range(len(rs)))
        ms = [r["median_ms"] for r in rs]
        ax.barh(y, ms, color=[LIB_COLORS.get(r["key"], "#bcbd22") for r in rs],
                hatch=[("//" if r["baseline"] else "") for r in rs])
        ax.set_yticks(y, [r["key"] for r in rs], fontsize=7)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlim(min(ms) / 2, max(ms) * 10)
        ax.set_title(f"{g[0]}  {g[1]}  [{g[2]}]", fontsize=9)
        ax.set_xlabel("median ms, log scale (shorter is faster)", fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
        for yi, r in zip(y, rs, strict=True):
            ax.text(r["median_ms"], yi, f" {_fmt_ms(r['median_ms'])} ms "
                    f"({_fmt_ratio(r['x_turborle'])})", va="center", fontsize=6)
    for ax in list(axes.flat)[len(gs):]:
        ax.axis("off")
    fig.suptitle(f"turborle vs peers, one thread, {machine['cpu_model']}, turborle "
                 f"{machine['git']}\n(ratio to the fastest turborle path in brackets; hatched: "
                 f"numpy memory baseline; [corpus])", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.9 / (2.9 * nrows + 0.8)))
    fig.savefig(path, dpi=72)
    plt.close(fig)
    return True


# ---- history and README ----------------------------------------------------------------------


def append_history(path: Path, machine: dict[str, Any], label: str,
                   rows: list[dict[str, Any]]) -> None:
    """One line per run: when, what was measured, and every single-thread median."""
    entry = {
        "date": machine["date"], "label": label, "git": machine["git"],
        "cpu": machine["cpu_model"], "mode": machine["mode"], "groups": machine["groups"],
        "timer": machine.get("timer", ""),
        "rows": [{k: r[k] for k in ("operation", "shape", "corpus", "key", "threads",
                                    "median_ms", "work")} for r in rows],
    }
    with path.open("a") as f:
        f.write(json.dumps(entry) + "\n")


def fal_previous(path: Path, cpu: str) -> dict[str, float]:
    """runs/s of from_fal per "corpus key": the median over the history entries labelled
    FAL_PREVIOUS and measured on this CPU model (each the median of its run's rounds): a
    rate from another machine says nothing about this one's."""
    rates: dict[str, list[float]] = {}
    if not path.exists():
        return {}
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("label") != FAL_PREVIOUS or entry.get("cpu") != cpu:
            continue
        for r in entry["rows"]:
            if (r["operation"], r["shape"], r["threads"]) == ("fal", TARGET, 1):
                rates.setdefault(f"{r['corpus']} {r['key']}", []).append(
                    r["work"]["runs"] / r["median_ms"] * 1e3)
    return {c: statistics.median(v) for c, v in rates.items()}


README_START = "<!-- targets:start (written by benchmarks/run.py --readme) -->"
README_END = "<!-- targets:end -->"


def update_readme(path: Path, text: str) -> bool:
    body = path.read_text()
    pattern = re.compile(re.escape(README_START) + ".*?" + re.escape(README_END), re.S)
    if not pattern.search(body):
        print(f"{path}: no targets markers, not updated", file=sys.stderr)
        return False
    path.write_text(pattern.sub(lambda m: f"{README_START}\n{text}\n{README_END}", body))
    return True


# --------------------------------------------------------------------------------------------


def _groups_arg(text: str) -> tuple[list[str], list[str]]:
    """(pytest groups, extra groups) of --only; both empty: everything."""
    names = [g for g in text.split(",") if g]
    known = set(GROUPS) | set(EXTRA_GROUPS)
    bad = [g for g in names if g not in known]
    if bad:
        raise SystemExit(f"--only: unknown group(s) {bad}; groups: {', '.join(GROUPS)}, "
                         f"{', '.join(EXTRA_GROUPS)}")
    return [g for g in names if g in GROUPS], [g for g in names if g in EXTRA_GROUPS]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="the targets' main shapes only, shorter timing (a few minutes)")
    size.add_argument("--all", action="store_true",
                      help="also the size sweep of encode and decode (needs ~4 GB of memory)")
    ap.add_argument("--only", default="", metavar="GROUP,...",
                    help=f"only these groups: {', '.join(GROUPS + EXTRA_GROUPS)}")
    ap.add_argument("--corpus", default="", choices=["", *CORPORA], help="only this corpus")
    ap.add_argument("--out", type=Path, default=HERE / "results", help="output folder")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds of timing per case (default 0.3, --quick 0.15)")
    ap.add_argument("--timer", choices=["cpu", "wall"], default="cpu",
                    help="clock of the single-thread run: the process's CPU time (default: "
                         "steady on a shared machine) or wall time; the thread comparison "
                         "always uses wall time")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="run the single-thread cases N times; report the median of the runs' "
                         "medians (use with --only: N times the time)")
    ap.add_argument("--no-threads", action="store_true", help="skip the 2-thread comparison")
    ap.add_argument("--threads-all", action="store_true",
                    help="compare 2 threads with 1 on every case, not only 10k dicts of "
                         "parse/area/bbox")
    ap.add_argument("--turborle", type=Path, default=None, metavar="SRC",
                    help="time the turborle package under SRC (a source tree built in place)")
    ap.add_argument("--label", default="", help="label of this run in history.jsonl")
    ap.add_argument("--readme", action="store_true",
                    help="rewrite the targets section of benchmarks/README.md")
    ap.add_argument("pytest_args", nargs="*", help="passed to pytest (after --), e.g. -k iou")
    args = ap.parse_args(argv)

    mode = "quick" if args.quick else "all" if args.all else "default"
    budget = args.budget if args.budget is not None else (0.15 if args.quick else 0.3)
    pytest_groups, extra_groups = _groups_arg(args.only)
    partial = bool(args.only or args.corpus or args.pytest_args)
    run_pytest_groups = not args.only or bool(pytest_groups)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    cpus = available_cpus()
    started = time.time()
    turborle_src = args.turborle.resolve() if args.turborle else None

    common = dict(groups=",".join(pytest_groups), corpora=args.corpus, turborle=turborle_src)
    env1 = child_env(mode, budget, "1", **common)
    machine: dict[str, Any] = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu_model": cpu_model(), "cpu_count": os.cpu_count(), "cpus_available": len(cpus),
        "platform": platform.platform(), "python": platform.python_version(),
        "single_thread_cpu": cpus[0], "mode": mode, "groups": args.only or "all",
        "corpus": args.corpus or "all", "budget_s_per_case": budget, "repeat": args.repeat,
        "versions": versions(),
        "timer": ("process CPU time (time.process_time)" if args.timer == "cpu"
                  else "wall time (time.perf_counter)"),
        "git": git_revision(turborle_src or ROOT),
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "turborle": turborle_facts(env1),
    }
    rows: list[dict[str, Any]] = []
    rc = 0
    if run_pytest_groups:
        runs = []
        for i in range(args.repeat):
            raw = out / ("raw-main.json" if i == 0 else f"raw-main-{i + 1}.json")
            rc = run_pytest(env1, cpus[:1], raw, args.pytest_args, args.timer) or rc
            if not raw.exists():
                print("pytest wrote no results", file=sys.stderr)
                return rc or 1
            runs.append(load_rows(raw, "main"))
        rows = combine_runs(runs)

    threads_note = ""
    if args.no_threads:
        threads_note = "skipped (--no-threads)"
    elif len(cpus) < 2:
        threads_note = "not available: fewer than 2 CPUs"
    elif machine["turborle"].get("threads") != "available":
        threads_note = str(machine["turborle"].get("threads", "not available"))
    if not threads_note and run_pytest_groups:
        env2 = child_env(mode, budget, "1,2", only="turborle",
                         threads_compared=not args.threads_all, **common)
        rc2 = run_pytest(env2, cpus[:2], out / "raw-threads.json", args.pytest_args)
        rc = rc or rc2
        if (out / "raw-threads.json").exists():
            rows += load_rows(out / "raw-threads.json", "threads")
    machine["threads_comparison"] = threads_note or f"CPUs {cpus[:2]}"

    extras: dict[str, Any] = {}
    if not args.pytest_args and (not args.only or "cocoeval" in extra_groups):
        images, rounds = (100, 3) if args.quick else (300, 5)
        corpus_arg = args.corpus or ",".join(CORPORA)
        extras["cocoeval"] = run_script(
            "cocoeval", ["--images", str(images), "--rounds", str(rounds), "--corpus", corpus_arg],
            env1, cpus[:1], out / "raw-cocoeval.json")
        rc = rc or (extras["cocoeval"] is None)
    if not args.pytest_args and (not args.only or "small_calls" in extra_groups):
        env_default = child_env(mode, budget, "1", turborle=turborle_src, one_thread=False)
        extras["small_calls"] = run_script("small_calls", [], env_default, None,
                                           out / "raw-small-calls.json")
        rc = rc or (extras["small_calls"] is None)
    machine["elapsed_s"] = round(time.time() - started, 1)

    add_ratios(rows)
    res = {"machine": machine, "rows": rows, "thread_speedups": thread_speedups(rows),
           "cocoeval": extras.get("cocoeval"), "small_calls": extras.get("small_calls"),
           "fal_previous": fal_previous(out / "history.jsonl", machine["cpu_model"])}
    targets_md, res["targets"] = targets_table(res)
    from benchmarks import cocoeval

    load = machine["load_average_at_start"]
    info = machine["turborle"].get("info")
    simd = info.get("simd", "?") if isinstance(info, dict) else "?"
    header = (
        f"Run {machine['date']}: {machine['cpu_model']} ({machine['cpu_count']} logical CPUs, "
        f"{machine['cpus_available']} available; load average at start "
        f"{'/'.join(f'{x:.1f}' for x in load) if load else '?'}); single-thread runs pinned "
        f"to CPU {machine['single_thread_cpu']}; mode {mode}; groups {machine['groups']}; "
        f"corpus {machine['corpus']}; "
        f"{f'{args.repeat} runs (median of their medians); ' if args.repeat > 1 else ''}"
        f"turborle {machine['git']} (SIMD {simd}); "
        f"{machine['elapsed_s']:.0f} s. Single-thread timings: {machine['timer']}; "
        f"2 threads vs 1: wall time.\n"
        f"Versions: " + ", ".join(f"{k} {v}" for k, v in machine["versions"].items()) + ".\n"
        f"Cells: median ms of the rounds (ratio to the fastest turborle path; >1 is slower). "
        f"'vs fastest peer': fastest peer / fastest turborle path taking the same input "
        f"(>1: turborle is faster). GB/s counts 1 byte per mask pixel processed.")
    sections = [header, "## Targets (issue 13)\n" + targets_md]
    if rows:
        sections += ["## Summary (one thread)\n" + summary_table(rows),
                     "## turborle, 2 threads vs 1\n" + threads_table(rows, threads_note)]
    if extras.get("cocoeval"):
        sections.append("## pycocotools COCOeval (segm), maskUtils = pycocotools.mask or "
                        "turborle.mask (one thread)\n" + cocoeval.table(extras["cocoeval"]))
    if "small_calls" in extras:
        sections.append("## One-mask calls (issue 10), default settings\n"
                        + small_calls_table(extras["small_calls"]))
    if rows:
        sections.append("## Details (one thread)" + detail_table(rows))
    text = "\n\n".join(sections)
    print("\n" + text)

    stem = "results" if not partial else "partial-" + re.sub(
        r"[^A-Za-z0-9_.-]+", "_", "-".join(x for x in (args.only, args.corpus) if x) or "selection")
    (out / f"{stem}.md").write_text(text + "\n")
    (out / f"{stem}.json").write_text(json.dumps(res, indent=1, default=repr))
    written = [out / f"{stem}.md", out / f"{stem}.json"]
    if rows and not partial:
        try:
            if plot(rows, machine, out / "speed.png", HEADLINE_SHAPES):
                written.append(out / "speed.png")
            if plot(rows, machine, out / "speed-all.png"):
                written.append(out / "speed-all.png")
        except ImportError:
            print("matplotlib not installed: no chart", file=sys.stderr)
    if rows:
        append_history(out / "history.jsonl", machine, args.label, rows)
        written.append(out / "history.jsonl")
    if args.readme:
        command = " ".join(["python benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)])
        how_many = (f"single-thread cases: the median of {args.repeat} runs' medians; threads and "
                    "COCOeval: one run" if args.repeat > 1 else "one run, medians of its rounds")
        section = (f"Measured {machine['date'][:10]} by `{command}`"
                   f" (turborle {machine['git']}, {machine['cpu_model']}, "
                   f"{machine['cpus_available']} CPUs shared with other work; "
                   f"{how_many}):\n\n{targets_md}")
        if update_readme(HERE / "README.md", section):
            written.append(HERE / "README.md")
    print("\nwrote " + ", ".join(str(p) for p in written))
    return rc


if __name__ == "__main__":
    sys.exit(main())
