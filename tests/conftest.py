"""Shared pytest configuration: hypothesis profiles and CI's skip policy.

Select a hypothesis profile with the environment variable ``HYPOTHESIS_PROFILE``:

``dev`` (default; ``ci`` when the environment variable ``CI`` is set)
    Few examples, for a quick local run.
``ci``
    More examples, a fresh random seed each run (a failure prints the blob that replays
    it); the whole suite stays within a few minutes on 2 cores.
``expensive``
    Many examples, for an occasional long run.

Skips: a test may skip where the platform cannot run it (a SIMD level this CPU lacks, a
POSIX-only resource limit) or an optional dependency is missing (torch, the benchmark peers,
matplotlib). With ``TURBORLE_ALLOWED_SKIPS`` set (CI sets it), any skip outside the listed
kinds (``platform``, ``optional``, ``nocuda``; empty: none) fails the run, so nothing is skipped unseen.
"""

import os
import re
import sys

import pytest
from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("dev", max_examples=25, **_COMMON)
settings.register_profile("ci", max_examples=200, **_COMMON)
settings.register_profile("expensive", max_examples=1000, **_COMMON)
# CI (which sets CI=true) gets the thorough profile unless told otherwise.
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


# Kinds of skip CI may allow, by the reason the test gives.
SKIP_KINDS = {
    "platform": re.compile(
        r"not supported by this CPU|start method on this platform|RLIMIT_NPROC is POSIX|"
        r"needs fork\(\)|reads /proc/self/statm|needs a CUDA device|RSS under a sanitizer|"
        r"Ray under a sanitizer"),
    # a build made with TURBORLE_CUDA=0 (the sanitized one): the CUDA paths are tested in
    # the normal build
    "nocuda": re.compile(r"turborle\._cuda not built"),
    "optional": re.compile(
        r"^(could not import '|)(torch|matplotlib|rlemasklib|hotcoco|faster_coco_eval|"
        r"ultrafast_pycocotools)(\.[\w.]+)?('|) not (importable|installed)|"
        r"could not import '(torch|matplotlib)'"),
}
_skipped = []


def _note_skip(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped.append((report.nodeid, reason.removeprefix("Skipped: ")))


def pytest_collection_modifyitems(config, items):
    # tests/sanitize/run.sh sets TURBORLE_SANITIZED: ASan's allocator and quarantine grow
    # RSS by themselves, so memory bounds are checked in the normal build only. Ray's core
    # worker (its own C++, not instrumented) has hung in ray.init with ASan preloaded, so the
    # Ray cluster tests run in the normal build only too (CI step 1).
    if os.environ.get("TURBORLE_SANITIZED") == "1":
        rss = pytest.mark.skip(reason="measures RSS under a sanitizer (checked unsanitized)")
        ray = pytest.mark.skip(reason="starts Ray under a sanitizer (checked unsanitized)")
        for item in items:
            if "rss" in item.keywords:
                item.add_marker(rss)
            if "ray_cluster" in item.keywords:
                item.add_marker(ray)


pytest_runtest_logreport = _note_skip  # a skipped test
pytest_collectreport = _note_skip  # a skipped module (importorskip at the top)


def pytest_sessionfinish(session, exitstatus):
    allowed = os.environ.get("TURBORLE_ALLOWED_SKIPS")
    if allowed is None:
        return
    kinds = [SKIP_KINDS[k] for k in allowed.split(",") if k]
    unexpected = [(node, why) for node, why in _skipped
                  if not any(kind.search(why) for kind in kinds)]
    if unexpected:
        lines = "\n".join(f"  {node}: {why}" for node, why in unexpected)
        sys.stderr.write(f"\n{len(unexpected)} unexpected skip(s) (TURBORLE_ALLOWED_SKIPS="
                         f"{allowed!r}):\n{lines}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
