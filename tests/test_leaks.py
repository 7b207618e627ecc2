"""No operation leaks: every call of the public API (error paths included) in a loop, with
the process's resident memory measured after a warm-up (tests/sanitize/leak_check.py)."""

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parent / "sanitize" / "leak_check.py"
_spec = importlib.util.spec_from_file_location("turborle_leak_check", _PATH)
assert _spec is not None and _spec.loader is not None
leak_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(leak_check)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
@pytest.mark.rss  # (under ASan, tests/sanitize/run.sh checks leaks with LeakSanitizer)
def test_no_rss_growth_over_every_operation() -> None:
    result = leak_check.measure(iterations=150, warmup=20)
    assert result is not None
    before, after, growth = result
    # A leak of a single small object per call would add far more than this over 150 rounds
    # of ~70 calls; allocator noise stays well below it.
    assert growth < 768 * 1024, f"RSS grew by {growth // 1024} KiB ({before} -> {after})"
