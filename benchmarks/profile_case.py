"""Run one benchmark case in a loop, for ``perf stat`` / ``perf record``.

Picks a case of the speed suite by its id (as ``benchmarks/test_speed.py`` names it; any
unique substring, e.g. ``parse-10000dicts@1024x1024-coco-turborle.batch``), builds and
checks its inputs once, then calls the timed function in a loop for ``--seconds``. With
``--perf stat`` or ``--perf record`` it attaches perf to itself for the loop only, so that
generating the inputs does not pollute the counts, and prints per-call figures: time,
instructions, cycles, IPC, and the same per mask, per string character (COCO dicts), per run
(fal) or per pixel.

    python benchmarks/profile_case.py --list [SUBSTRING]
    python benchmarks/profile_case.py parse-10000dicts@1024x1024-coco-turborle.batch-t1 \\
        --perf stat [--events instructions,cycles,cache-misses] [--seconds 5]
    python benchmarks/profile_case.py iou-64x64@1024x1024-coco-turborle.mask-t1 \\
        --perf record --output /tmp/iou.data      # then: perf report -i /tmp/iou.data

Without ``--perf`` the loop runs under whatever wraps it
(``perf stat -e instructions,cycles -- python benchmarks/profile_case.py CASE``), setup
included. Run from the repository root with an in-place build, as the runner does (this
script puts ``src/`` on ``sys.path`` when it finds one); set ``TURBORLE_NUM_THREADS`` or pass
``--threads`` for threaded cases.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if __name__ == "__main__":
    from benchmarks import measure_in_place_build

    measure_in_place_build()

from benchmarks import suite  # noqa: E402


def find_case(pattern: str, mode: str, threads: int) -> tuple[Any, ...]:
    all_cases = suite.cases(mode, threads=(1, threads) if threads != 1 else (1,))
    ids = {suite.case_id(*c): c for c in all_cases}
    if pattern in ids:
        return ids[pattern]
    hits = [i for i in ids if pattern in i and i.endswith(f"-t{threads}")]
    if len(hits) != 1:
        shown = "\n  ".join(hits[:40]) or "(none)"
        raise SystemExit(f"{len(hits)} cases match {pattern!r} in mode {mode}:\n  {shown}")
    return ids[hits[0]]


def units(op: Any, impl: Any, inputs: Any) -> dict[str, float]:
    """What one call processes: masks, pixels, string characters, fal runs."""
    work = op.work(inputs, impl)
    out = {"mask": work["masks"], "pixel": work["pixels"]}
    if "runs" in work:
        out["fal run"] = work["runs"]
    dicts = inputs.__dict__.get("rles")  # built when the case takes COCO dicts
    if dicts and op.name not in ("encode_c", "encode_f", "fal"):
        chars = sum(len(d["counts"]) for d in dicts)
        if inputs.shape.n_dt:
            chars += sum(len(d["counts"]) for d in inputs.dt_rles)
        out["string char"] = float(chars)
    return out


def start_perf(kind: str, events: str, output: Path) -> subprocess.Popen[bytes]:
    pid = str(os.getpid())
    if kind == "stat":
        cmd = ["perf", "stat", "-x", ",", "-e", events, "-p", pid, "-o", str(output)]
    else:
        cmd = ["perf", "record", "-g", "-p", pid, "-o", str(output)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    time.sleep(0.5)  # let perf attach before the loop starts
    if proc.poll() is not None:
        raise SystemExit(f"perf exited: {proc.stderr.read().decode() if proc.stderr else ''}")
    return proc


def stop_perf(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()


def read_stat(path: Path) -> tuple[dict[str, float], list[str]]:
    """perf stat -x, output (value,unit,event,...): counted events, events not counted."""
    out, absent = {}, []
    for line in path.read_text().splitlines():
        parts = line.split(",")
        if len(parts) > 2 and parts[0] and not line.startswith("#"):
            event = parts[2].split(":")[0]
            try:
                out[event] = float(parts[0])
            except ValueError:  # "<not supported>" / "<not counted>"
                absent.append(f"{event} {parts[0]}")
    return out, absent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("case", nargs="?", default="", help="case id or a unique part of it")
    ap.add_argument("--list", action="store_true", help="list the case ids that match")
    ap.add_argument("--mode", default="default", choices=suite.MODES)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=5.0, help="length of the loop")
    ap.add_argument("--perf", choices=["stat", "record"], help="attach perf for the loop only")
    ap.add_argument("--events", default="instructions,cycles,task-clock",
                    help="perf stat events (default: instructions,cycles,task-clock)")
    ap.add_argument("--output", type=Path, help="perf record data file (default: a temp file)")
    args = ap.parse_args(argv)

    if args.list:
        for c in suite.cases(args.mode, threads=(1, 2)):
            cid = suite.case_id(*c)
            if args.case in cid:
                print(cid)
        return 0
    if not args.case:
        ap.error("give a case id (see --list)")
    op, shape, impl, threads = find_case(args.case, args.mode, args.threads)
    why = impl.unavailable(threads)
    if why:
        raise SystemExit(f"cannot run: {why}")
    print(f"case {suite.case_id(op, shape, impl, threads)}: {op.title}; {impl.label}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # peers' numpy-2 warnings
        inputs, run_args, _, _ = suite.run_once(op, shape, impl, threads)  # checked once
        per_call = units(op, impl, inputs)
        perf = None
        data = args.output or Path(tempfile.gettempdir()) / f"turborle-{os.getpid()}.perf"
        with suite.turborle_threads(threads):
            if args.perf:
                perf = start_perf(args.perf, args.events, data)
            calls = 0
            start = time.perf_counter()
            while time.perf_counter() - start < args.seconds:
                impl.run(run_args)
                calls += 1
            elapsed = time.perf_counter() - start
            if perf:
                stop_perf(perf)

    ms = elapsed / calls * 1e3
    print(f"{calls} calls in {elapsed:.2f} s: {ms:.4g} ms per call")
    for unit, count in per_call.items():
        if count:
            print(f"  {ms * 1e6 / count:.4g} ns per {unit} ({count:.6g} per call)")
    if args.perf == "stat":
        counts, absent = read_stat(data)
        if absent:
            print("not counted: " + ", ".join(absent) + " (a VM without access to the "
                  "hardware counters gives only software events such as task-clock; "
                  "--perf record still samples on cpu-clock)")
        for event, value in counts.items():
            print(f"{event}: {value:.6g} total, {value / calls:.6g} per call")
        ins, cyc = counts.get("instructions"), counts.get("cycles")
        if ins and cyc:
            print(f"IPC {ins / cyc:.2f}")
            for unit, count in per_call.items():
                if count:
                    print(f"  per {unit}: {ins / calls / count:.4g} instructions, "
                          f"{cyc / calls / count:.4g} cycles")
        print("(counts include the Python loop around the call: a few hundred instructions "
              "per call)")
    elif args.perf == "record":
        print(f"perf data: {data}\n  perf report -i {data} --no-children")
    return 0


if __name__ == "__main__":
    sys.exit(main())
