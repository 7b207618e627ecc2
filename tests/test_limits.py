"""Resource limits: work or memory proportional to pixels is refused above the per-mask limit
before anything is allocated, so hostile sizes cost nothing."""

import time

import numpy as np
import pytest

import turborle
from turborle import mask as tmask

HUGE = 100_000  # 10^10 pixels: valid COCO, far over the default limit of 2^31


def _huge_empty():
    return {"size": [HUGE, HUGE], "counts": [HUGE * HUGE]}


@pytest.mark.parametrize(
    "call",
    [
        lambda: turborle.decode(turborle.from_coco(_huge_empty())),
        lambda: turborle.decode(turborle.from_coco(_huge_empty()), order="F"),
        lambda: tmask.decode(tmask.frPyObjects(_huge_empty(), HUGE, HUGE)),
        lambda: turborle.from_fal("1 1", HUGE, HUGE),
        lambda: turborle.from_fal("1 1", 2**31, 2**31, order="F"),
        lambda: turborle.from_coco(_huge_empty()).to_fal(),
    ],
)
def test_over_the_limit_is_refused_fast(call):
    start = time.perf_counter()
    with pytest.raises(ValueError, match="exceeds the limit"):
        call()
    assert time.perf_counter() - start < 1.0  # nothing was allocated or walked


def test_cheap_operations_on_huge_masks_still_work():
    batch = turborle.from_coco(_huge_empty())  # parsing is bounded by the input's length
    assert turborle.area(batch).tolist() == [0]
    assert turborle.bbox(batch).tolist() == [[0, 0, 0, 0]]
    assert turborle.complement(batch).counts.tolist() == [0, HUGE * HUGE]
    assert tmask.area(tmask.frPyObjects(_huge_empty(), HUGE, HUGE)) == 0


def test_limit_is_configurable(monkeypatch):
    m = np.ones((3, 10, 10), bool)
    batch = turborle.encode(m)
    monkeypatch.setenv("TURBORLE_MAX_PIXELS", "99")
    assert turborle.info()["max_pixels"] == 99
    with pytest.raises(ValueError, match="limit of 99"):
        turborle.decode(batch)
    with pytest.raises(ValueError, match="limit of 99"):
        batch.to_fal()
    monkeypatch.setenv("TURBORLE_MAX_PIXELS", "100")
    assert np.array_equal(turborle.decode(batch), m)
    for bad in ["0", "-5", "lots", str(2**63)]:
        monkeypatch.setenv("TURBORLE_MAX_PIXELS", bad)
        with pytest.raises(ValueError, match="TURBORLE_MAX_PIXELS"):
            turborle.decode(batch)


@pytest.mark.rss
def test_merging_huge_one_run_masks_costs_the_size_of_the_input():
    # Merge once painted every mask into a bitmap of h*w bits whenever SIMD was on: two
    # one-run 32768x32768 masks cost 128 MiB. The runs cost bytes; so must the merge.
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import resource, turborle
        n = 32768 * 32768
        a = turborle.from_coco({"size": [32768, 32768], "counts": [0, n // 2, n - n // 2]})
        b = turborle.from_coco({"size": [32768, 32768], "counts": [n // 4, n // 2, n // 4]})
        both = turborle.concat([a, b])
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        results = [turborle.merge(both, op).counts.tolist()
                   for op in ("union", "intersection", "xor", "difference")]
        grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print(results, grown_kib)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    results, grown_kib = result.stdout.rsplit(" ", 1)
    n = 32768 * 32768
    # a = [0, n/2), b = [n/4, 3n/4): the expected runs follow from the definitions.
    assert eval(results) == [
        [0, 3 * n // 4, n // 4],  # union
        [n // 4, n // 4, n // 2],  # intersection
        [0, n // 4, n // 4, n // 4, n // 4],  # xor
        [0, n // 4, 3 * n // 4],  # difference
    ]
    assert int(grown_kib) < 8 * 1024, f"merge grew the peak RSS by {grown_kib} KiB"
