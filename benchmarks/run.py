"""Run the speed benchmarks and report them.

    python benchmarks/run.py [--quick | --all] [--out DIR] [--budget SECONDS]

1. Runs ``benchmarks/test_speed.py`` under pytest-benchmark, with the process pinned to one
   CPU and every library at one thread (``TURBORLE_NUM_THREADS=1``, ``RAYON_NUM_THREADS=1``,
   ``OMP_NUM_THREADS=1``; a library that starts threads anyway shares that one CPU).
2. Runs turborle's cases again at 1 and 2 threads on two CPUs, when turborle takes a thread
   count and the machine has two CPUs (otherwise the report says why not).
3. Prints the tables (operation x library: median ms, GB/s of mask pixels, ratio to the
   fastest turborle path) and writes to DIR (default ``benchmarks/results/``):
   ``results.json`` (machine, versions, every row), ``results.md`` (the tables),
   ``speed.png`` (bar chart), and pytest-benchmark's raw ``raw-*.json``.

Ratios measured in one run are what count; absolute times drift between runs and machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PACKAGES = ["turborle", "pycocotools", "rlemasklib", "hotcoco", "faster-coco-eval",
            "ultrafast-pycocotools", "numpy", "pytest-benchmark"]
# Report columns, in this order; the first two are turborle's paths.
COLUMNS = ["turborle.mask", "turborle.batch", "pycocotools", "rlemasklib", "hotcoco",
           "faster-coco-eval", "ultrafast-pycocotools", "numpy baseline"]


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


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                             capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, text=True, capture_output=True).stdout.strip()
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
# Running pytest-benchmark


def child_env(mode: str, budget: float, threads: str, only: str = "") -> dict[str, str]:
    env = dict(os.environ)
    src = ROOT / "src"
    if any((src / "turborle").glob("_core*")):  # an in-place build: use the source tree
        env["PYTHONPATH"] = os.pathsep.join([str(src), str(ROOT), env.get("PYTHONPATH", "")])
    else:
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.update(TURBORLE_BENCH_MODE=mode, TURBORLE_BENCH_BUDGET=str(budget),
               TURBORLE_BENCH_THREADS=threads, TURBORLE_BENCH_ONLY=only,
               TURBORLE_NUM_THREADS="1", RAYON_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return env


def run_pytest(env: dict[str, str], cpus: list[int], json_path: Path, extra: list[str]) -> int:
    cmd = [sys.executable, "-m", "pytest", str(HERE / "test_speed.py"), "--benchmark-only",
           f"--benchmark-json={json_path}", "--benchmark-columns=median,iqr,rounds",
           "--benchmark-sort=mean", "-p", "no:cacheprovider", "-q",
           # The project's pytest config turns warnings into errors for its own tests;
           # a peer library's deprecation warning must not fail a benchmark.
           "-o", "filterwarnings=default", *extra]
    print("$", " ".join(cmd), f"  (CPUs {cpus})", flush=True)

    def pin() -> None:
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, cpus)

    return subprocess.run(cmd, cwd=ROOT, env=env, preexec_fn=pin).returncode


def load_rows(json_path: Path, run: str) -> list[dict[str, Any]]:
    data = json.loads(json_path.read_text())
    rows = []
    for b in data.get("benchmarks", []):
        info = b["extra_info"]
        st = b["stats"]
        median = st["median"]
        rows.append({
            "run": run, "operation": info["operation"], "title": info["title"],
            "shape": info["shape"], "key": info["key"],
            "library": info["library"], "variant": info["variant"],
            "threads": info["threads"], "baseline": info.get("baseline", False),
            "median_ms": median * 1e3, "iqr_ms": st["iqr"] * 1e3, "min_ms": st["min"] * 1e3,
            "rounds": st["rounds"], "pixels": info["pixels"],
            "gb_per_s": info["pixels"] / median / 1e9 if median > 0 else float("nan"),
        })
    return rows


# --------------------------------------------------------------------------------------------
# Report


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """ratio = median / fastest turborle median (same run, group and thread count 1)."""
    best: dict[tuple[str, str, str], float] = {}
    for r in rows:
        if r["library"] == "turborle" and r["threads"] == 1:
            k = (r["run"], r["operation"], r["shape"])
            best[k] = min(best.get(k, float("inf")), r["median_ms"])
    for r in rows:
        ref = best.get((r["run"], r["operation"], r["shape"]))
        r["x_turborle"] = r["median_ms"] / ref if ref else None


def _fmt_ms(ms: float) -> str:
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def _fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x" if x < 10 else f"{x:.0f}x"


def groups(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    for r in rows:
        g = (r["operation"], r["shape"])
        if g not in seen:
            seen.append(g)
    return seen


def summary_table(rows: list[dict[str, Any]]) -> str:
    """Operation x library matrix of 'median ms (ratio to turborle)'; best path per library."""
    main = [r for r in rows if r["run"] == "main"]
    present = {_column(r) for r in main}
    cols = [c for c in COLUMNS if c in present] + sorted(present - set(COLUMNS))
    lines = ["| operation | shape | " + " | ".join(cols) + " |",
             "|---|---|" + "---:|" * len(cols)]
    for op, shape in groups(main):
        cells = []
        for c in cols:
            cand = [r for r in main if r["operation"] == op and r["shape"] == shape
                    and _column(r) == c]
            if not cand:
                cells.append("")
                continue
            r = min(cand, key=lambda r: r["median_ms"])
            cells.append(f"{_fmt_ms(r['median_ms'])} ({_fmt_ratio(r['x_turborle'])})")
        lines.append(f"| {op} | {shape} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _column(r: dict[str, Any]) -> str:
    if r["baseline"]:
        return "numpy baseline"
    if r["library"] == "turborle":
        return r["key"]
    return r["library"]


def detail_table(rows: list[dict[str, Any]]) -> str:
    main = [r for r in rows if r["run"] == "main"]
    out = []
    for op, shape in groups(main):
        rs = sorted((r for r in main if r["operation"] == op and r["shape"] == shape),
                    key=lambda r: r["median_ms"])
        out.append(f"\n{op} {shape}: {rs[0]['title']}")
        out.append("| library | path | median ms | IQR ms | GB/s | x turborle |")
        out.append("|---|---|---:|---:|---:|---:|")
        for r in rs:
            out.append(f"| {r['key']} | {r['variant']} | {_fmt_ms(r['median_ms'])} | "
                       f"{r['iqr_ms']:.2g} | {r['gb_per_s']:.3g} | {_fmt_ratio(r['x_turborle'])} |")
    return "\n".join(out)


def threads_table(rows: list[dict[str, Any]], note: str) -> str:
    tr = [r for r in rows if r["run"] == "threads"]
    if not tr:
        return f"2 threads vs 1: {note}"
    lines = ["| operation | shape | path | 1 thread ms | 2 threads ms | speed-up |",
             "|---|---|---|---:|---:|---:|"]
    for op, shape in groups(tr):
        for key in sorted({r["key"] for r in tr if r["operation"] == op and r["shape"] == shape}):
            by_t = {r["threads"]: r for r in tr
                    if r["operation"] == op and r["shape"] == shape and r["key"] == key}
            if 1 in by_t and 2 in by_t:
                t1, t2 = by_t[1]["median_ms"], by_t[2]["median_ms"]
                lines.append(f"| {op} | {shape} | {key} | {_fmt_ms(t1)} | {_fmt_ms(t2)} | "
                             f"{t1 / t2:.2f}x |")
    return "\n".join(lines)


LIB_COLORS = {
    "turborle.mask": "#d62728", "turborle.batch": "#ff7f0e", "pycocotools": "#7f7f7f",
    "rlemasklib": "#1f77b4", "rlemasklib.RLEMask": "#aec7e8", "hotcoco": "#2ca02c",
    "faster-coco-eval": "#9467bd", "ultrafast-pycocotools": "#8c564b",
    "numpy baseline": "#17becf",
}


# The groups of the headline chart: the targets (64 SAM-like masks of 1024x1024, one thread).
HEADLINE_SHAPES = ("64x1024x1024", "64x64 @ 1024x1024", "300x300 @ 1024x1024",
                   "10000 dicts @ 1024x1024")


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
    ncols = min(3, len(gs))
    nrows = -(-len(gs) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.4 * ncols, 3.2 * nrows + 0.8),
                             squeeze=False)
    for ax, (op, shape) in zip(axes.flat, gs, strict=False):
        rs = sorted((r for r in main if r["operation"] == op and r["shape"] == shape),
                    key=lambda r: r["median_ms"], reverse=True)
        y = list(range(len(rs)))
        ms = [r["median_ms"] for r in rs]
        ax.barh(y, ms, color=[LIB_COLORS.get(r["key"], "#bcbd22") for r in rs],
                hatch=[("//" if r["baseline"] else "") for r in rs])
        ax.set_yticks(y, [r["key"] for r in rs], fontsize=8)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlim(min(ms) / 2, max(ms) * 8)
        ax.set_title(f"{op}  {shape}", fontsize=10)
        ax.set_xlabel("median ms, log scale (shorter is faster)", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        for yi, r in zip(y, rs, strict=True):
            ax.text(r["median_ms"], yi, f" {_fmt_ms(r['median_ms'])} ms "
                    f"({_fmt_ratio(r['x_turborle'])})", va="center", fontsize=7)
    for ax in list(axes.flat)[len(gs):]:
        ax.axis("off")
    fig.suptitle(f"turborle vs peers, one thread, {machine['cpu_model']}\n"
                 f"(ratio to the fastest turborle path in brackets; hatched: numpy memory "
                 f"baseline)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97 if nrows > 2 else 0.93))
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="target shapes only (64 masks of 1024x1024; IoU 64x64; 10,000 dicts)")
    size.add_argument("--all", action="store_true",
                      help="also 64 masks of 1500x2250 and 4000x3000 (needs ~4 GB of memory)")
    ap.add_argument("--out", type=Path, default=HERE / "results", help="output folder")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds of timing per case (default 1.0, --quick 0.4)")
    ap.add_argument("--no-threads", action="store_true", help="skip the 2-thread comparison")
    ap.add_argument("pytest_args", nargs="*", help="passed to pytest (after --), e.g. -k iou")
    args = ap.parse_args(argv)

    mode = "quick" if args.quick else "all" if args.all else "default"
    budget = args.budget if args.budget is not None else (0.4 if args.quick else 1.0)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    cpus = available_cpus()
    started = time.time()

    env1 = child_env(mode, budget, "1")
    machine: dict[str, Any] = {
        "cpu_model": cpu_model(), "cpu_count": os.cpu_count(), "cpus_available": len(cpus),
        "platform": platform.platform(), "python": platform.python_version(),
        "single_thread_cpu": cpus[0], "git": git_revision(), "mode": mode,
        "budget_s_per_case": budget, "versions": versions(),
        "turborle": turborle_facts(env1),
    }
    rc = run_pytest(env1, cpus[:1], out / "raw-main.json", args.pytest_args)
    if not (out / "raw-main.json").exists():
        print("pytest wrote no results", file=sys.stderr)
        return rc or 1
    rows = load_rows(out / "raw-main.json", "main")

    threads_note = ""
    if args.no_threads:
        threads_note = "skipped (--no-threads)"
    elif len(cpus) < 2:
        threads_note = "not available: fewer than 2 CPUs"
    elif machine["turborle"].get("threads") != "available":
        threads_note = str(machine["turborle"].get("threads", "not available"))
    if not threads_note:
        env2 = child_env(mode, budget, "1,2", only="turborle")
        rc2 = run_pytest(env2, cpus[:2], out / "raw-threads.json", args.pytest_args)
        rc = rc or rc2
        if (out / "raw-threads.json").exists():
            rows += load_rows(out / "raw-threads.json", "threads")
    machine["threads_comparison"] = threads_note or f"CPUs {cpus[:2]}"
    machine["elapsed_s"] = round(time.time() - started, 1)

    add_ratios(rows)
    header = (f"CPU: {machine['cpu_model']} ({machine['cpu_count']} logical CPUs, "
              f"{machine['cpus_available']} available); single-thread runs pinned to CPU "
              f"{machine['single_thread_cpu']}; mode {mode}; turborle {machine['git']}\n"
              f"Cells: median ms (ratio to the fastest turborle path; >1 is slower). "
              f"GB/s counts 1 byte per mask pixel processed.")
    text = "\n\n".join([
        header,
        "## Summary (one thread)\n" + summary_table(rows),
        "## Details (one thread)" + detail_table(rows),
        "## turborle, 2 threads vs 1\n" + threads_table(rows, threads_note),
    ])
    print("\n" + text)
    (out / "results.md").write_text(text + "\n")
    (out / "results.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=1,
                                                 default=repr))
    written = [out / "results.md", out / "results.json"]
    try:
        if plot(rows, machine, out / "speed.png", HEADLINE_SHAPES):
            written.append(out / "speed.png")
        if mode != "quick" and plot(rows, machine, out / "speed-all.png"):
            written.append(out / "speed-all.png")
    except ImportError:
        print("matplotlib not installed: no chart", file=sys.stderr)
    print("\nwrote " + ", ".join(str(p) for p in written))
    return rc


if __name__ == "__main__":
    sys.exit(main())
