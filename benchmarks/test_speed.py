"""Speed benchmarks (pytest-benchmark): one group per operation and shape.

Not part of the default test run (``testpaths`` is ``tests``). Run through the runner,
``python benchmarks/run.py [--quick]``, which pins the process to one CPU for the
single-thread comparison and prints the report; or directly::

    TURBORLE_BENCH_MODE=quick python -m pytest benchmarks/test_speed.py --benchmark-only

Each case first runs once and checks its output against pycocotools (a mismatch fails the
case), then times the call for a fixed number of rounds chosen so that the case takes about
``TURBORLE_BENCH_BUDGET`` seconds (at least 3 rounds, at most 200).

Environment variables
---------------------
TURBORLE_BENCH_MODE
    ``quick`` (the target shapes only), ``default`` or ``all`` (adds 64 masks of the two
    large sizes).
TURBORLE_BENCH_THREADS
    Comma-separated thread counts for turborle, e.g. ``1,2`` (default ``1``). Other libraries
    run once, at their defaults.
TURBORLE_BENCH_ONLY
    Only libraries whose name starts with this, e.g. ``turborle``.
TURBORLE_BENCH_BUDGET
    Seconds of timing per case (default 1.0).
"""

from __future__ import annotations

import os
import time

import pytest

pytest.importorskip("pytest_benchmark")

from benchmarks import suite  # noqa: E402

MODE = os.environ.get("TURBORLE_BENCH_MODE", "default")
THREADS = tuple(int(t) for t in os.environ.get("TURBORLE_BENCH_THREADS", "1").split(","))
ONLY = os.environ.get("TURBORLE_BENCH_ONLY", "")
BUDGET_S = float(os.environ.get("TURBORLE_BENCH_BUDGET", "1.0"))
MIN_ROUNDS, MAX_ROUNDS = 3, 200

CASES = suite.cases(MODE, THREADS, ONLY)


@pytest.mark.parametrize(
    ("op", "shape", "impl", "threads"), CASES, ids=[suite.case_id(*c) for c in CASES])
def test_speed(benchmark, op, shape, impl, threads):
    why = impl.unavailable(threads)
    if why:
        pytest.skip(why)
    inputs = suite.inputs_for(shape)
    benchmark.group = f"{op.name} {shape.label}"
    benchmark.name = f"{impl.label} t{threads}"
    benchmark.extra_info.update(
        operation=op.name, title=op.title, shape=shape.label, key=impl.key,
        library=impl.library.name,
        variant=impl.variant, threads=threads, baseline=impl.baseline)
    # Check against pycocotools first (this is also the warm-up call).
    _, args, _ = suite.run_once(op, shape, impl, threads)
    benchmark.extra_info["pixels"] = op.pixels(inputs)
    with suite.turborle_threads(threads):
        start = time.perf_counter()
        impl.run(args)
        once = time.perf_counter() - start
        rounds = int(min(MAX_ROUNDS, max(MIN_ROUNDS, BUDGET_S / max(once, 1e-6))))
        benchmark.pedantic(impl.run, args=(args,), rounds=rounds, iterations=1)
