"""Speed benchmarks (pytest-benchmark): one group per operation, shape and corpus.

Not part of the default test run (``testpaths`` is ``tests``). Run through the runner,
``python benchmarks/run.py [--quick] [--only GROUP]``, which pins the process to one CPU for
the single-thread comparison and prints the report; or directly::

    TURBORLE_BENCH_MODE=quick python -m pytest benchmarks/test_speed.py --benchmark-only

Each case first runs once and checks its output against the reference (pycocotools, or
numpy where pycocotools has no such operation; a mismatch fails the case), then times the
call for a fixed number of rounds chosen so that the case takes about
``TURBORLE_BENCH_BUDGET`` seconds (at least 3 rounds, at most 200; a call under a
millisecond is repeated within each round to fill one). The runner passes
``--benchmark-timer=time.process_time`` to the single-thread run (CPU time: see the README).

Environment variables
---------------------
TURBORLE_BENCH_MODE
    ``quick`` (the target shapes only), ``default`` (adds IoU 300x300, merge of two at
    several sizes and the COCO-sized workload) or ``all`` (adds the size sweep of encode and
    decode).
TURBORLE_BENCH_THREADS
    Comma-separated thread counts for turborle, e.g. ``1,2`` (default ``1``). Other libraries
    run once, at their defaults.
TURBORLE_BENCH_ONLY
    Only libraries whose name starts with this, e.g. ``turborle``.
TURBORLE_BENCH_GROUPS
    Comma-separated operations (``parse,area``); default all.
TURBORLE_BENCH_CORPORA
    Comma-separated corpora (``sam``, ``coco``); default both.
TURBORLE_BENCH_THREADS_COMPARED
    ``1``: only the shapes of the default thread comparison (10,000 dicts: parse, area,
    bbox).
TURBORLE_BENCH_BUDGET
    Seconds of timing per case (default 1.0).
"""

from __future__ import annotations

import math
import os

import pytest

pytest.importorskip("pytest_benchmark")

from benchmarks import suite  # noqa: E402


def _list(name: str) -> tuple[str, ...]:
    return tuple(x for x in os.environ.get(name, "").split(",") if x)


MODE = os.environ.get("TURBORLE_BENCH_MODE", "default")
THREADS = tuple(int(t) for t in os.environ.get("TURBORLE_BENCH_THREADS", "1").split(","))
ONLY = os.environ.get("TURBORLE_BENCH_ONLY", "")
BUDGET_S = float(os.environ.get("TURBORLE_BENCH_BUDGET", "1.0"))
MIN_ROUNDS, MAX_ROUNDS = 3, 200
MIN_ROUND_S = 1e-3

CASES = suite.cases(MODE, THREADS, ONLY, groups=_list("TURBORLE_BENCH_GROUPS"),
                    corpora=_list("TURBORLE_BENCH_CORPORA"),
                    threads_compared=os.environ.get("TURBORLE_BENCH_THREADS_COMPARED") == "1")


@pytest.mark.parametrize(
    ("op", "shape", "impl", "threads"), CASES, ids=[suite.case_id(*c) for c in CASES])
def test_speed(benchmark, op, shape, impl, threads):
    why = impl.unavailable(threads)
    if why:
        pytest.skip(why)
    inputs = suite.inputs_for(shape)
    benchmark.group = f"{op.name} {shape.label} {shape.corpus}"
    benchmark.name = f"{impl.label} t{threads}"
    benchmark.extra_info.update(
        operation=op.name, title=op.title, shape=shape.label, corpus=shape.corpus,
        key=impl.key, library=impl.library.name, variant=impl.variant, threads=threads,
        baseline=impl.baseline)
    # Check against the reference first (this is also the warm-up call and sets the rounds).
    # Its output is dropped before timing: kept alive, it would hold memory no timed call
    # of a loop holds (pedantic keeps the previous round's result, as a user's loop does), and
    # an allocator that reuses freed blocks (turborle's large arrays, any malloc arena) would
    # pay for fresh pages in rounds a loop never has.
    _, args, checked, once = suite.run_once(op, shape, impl, threads)
    del checked
    benchmark.extra_info["work"] = op.work(inputs, impl)
    # Calls under a millisecond are repeated within a round, so that reading the timer
    # (~2 us for the CPU-time clock on a VM) stays a small part of what a round measures.
    iterations = max(1, math.ceil(MIN_ROUND_S / max(once, 1e-7)))
    per_round = once * iterations
    rounds = int(min(MAX_ROUNDS, max(MIN_ROUNDS, BUDGET_S / max(per_round, 1e-6))))
    with suite.turborle_threads(threads):
        benchmark.pedantic(impl.run, args=(args,), rounds=rounds, iterations=iterations)
