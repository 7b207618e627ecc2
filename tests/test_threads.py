"""Threads: calls from many Python threads give exactly the sequential results, and the
core's own pool costs nothing where it does not pay, survives fork() and a refused thread.

turborle releases the GIL around its C++ work; nothing may be shared between calls. The
sequential results are themselves checked against the numpy oracle. Tests that need a fresh
process (pool state, resource limits, crashes) run a script in a subprocess.
"""

import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import turborle
from turborle import _core
from turborle import mask as tmask
from turborle.testing import reference as ref
from turborle.testing.generators import random_masks, random_polygon

THREADS = 8
ROUNDS = 4  # calls per thread and operation


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(1234)
    h, w = 240, 320
    parts = [random_masks(rng, h, w, 4, kind) for kind in ("random", "rectangles", "runs", "sparse")]
    masks = np.asfortranarray(np.concatenate(parts, axis=2))
    rles = tmask.encode(masks)
    polys = [random_polygon(rng, h, w, kind) for kind in ("inside", "outside", "tenths") * 4]
    boxes = np.abs(rng.uniform(-20, 300, (40, 4)))
    return {"h": h, "w": w, "masks": masks, "rles": rles, "polys": polys, "boxes": boxes}


def _operations(d):
    rles, h, w = d["rles"], d["h"], d["w"]
    crowd = [i % 3 == 0 for i in range(len(rles) // 2)]
    return {
        "encode": lambda: tmask.encode(d["masks"]),
        "encode-c-order": lambda: tmask.encode(np.ascontiguousarray(d["masks"][:, :, :4])),
        "decode": lambda: tmask.decode(rles),
        "area": lambda: tmask.area(rles),
        "toBbox": lambda: tmask.toBbox(rles),
        "iou": lambda: tmask.iou(rles, rles[::2], crowd),
        "iou-boxes": lambda: tmask.iou(d["boxes"], d["boxes"][:13], [0, 1] * 6 + [0]),
        "merge-union": lambda: tmask.merge(rles),
        "merge-intersection": lambda: tmask.merge(rles[4:8], intersect=1),
        "frPyObjects-poly": lambda: tmask.frPyObjects(d["polys"], h, w),
        "frPyObjects-box": lambda: tmask.frPyObjects(d["boxes"], h, w),
    }


def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape \
            and np.array_equal(a, b)
    if isinstance(a, list) and a and isinstance(a[0], np.ndarray):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def test_sequential_baseline_matches_oracle(inputs):
    h, w, masks, rles = inputs["h"], inputs["w"], inputs["masks"], inputs["rles"]
    counts = [ref.encode_counts(masks[:, :, i]) for i in range(masks.shape[2])]
    assert [r["counts"] for r in rles] == [ref.counts_to_string(c) for c in counts]
    np.testing.assert_array_equal(tmask.merge(rles)["counts"],
                                  ref.counts_to_string(ref.merge(counts, h, w, False)))
    polys = inputs["polys"]
    assert [r["counts"] for r in tmask.frPyObjects(polys, h, w)] == \
        [ref.counts_to_string(ref.poly_to_counts(p, h, w)) for p in polys]


@pytest.mark.parametrize("name", list(_operations({"rles": [], "h": 0, "w": 0})))
def test_threads_match_sequential(inputs, name):
    op = _operations(inputs)[name]
    expected = op()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(op) for _ in range(THREADS * ROUNDS)]
        results = [f.result() for f in futures]
    for got in results:
        assert _same(got, expected)


def test_threads_mixed_operations(inputs):
    """All operations interleaved in one pool, each result against its sequential value."""
    ops = _operations(inputs)
    expected = {name: op() for name, op in ops.items()}
    names = list(ops) * ROUNDS
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(lambda name: (name, ops[name]()), names))
    for name, got in results:
        assert _same(got, expected[name]), name


# ---- the batch API and errors from many threads ------------------------------------------

MANY_ROUNDS = 6


def _batch_operations():
    rng = np.random.default_rng(42)
    masks = rng.random((24, 61, 47)) < 0.35
    masks[0] = False
    batch = turborle.encode(masks)
    coco = batch.to_coco()
    coco_bytes = [{"size": o["size"], "counts": o["counts"].encode()} for o in coco]
    fal = batch.to_fal()
    fortran = np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8))
    crowd = np.arange(24) % 4 == 0
    polygons = [rng.uniform(-5, 70, 10).tolist() for _ in range(8)]
    boxes = rng.uniform(0, 50, (8, 4))
    ops = {
        "encode": lambda: turborle.encode(masks, threads=2),
        "decode_c": lambda: turborle.decode(batch, threads=2),
        "decode_f": lambda: turborle.decode(batch, order="F", threads=2),
        "area": lambda: turborle.area(batch),
        "bbox": lambda: turborle.bbox(batch, fmt="xyxy"),
        "iou": lambda: turborle.iou(batch, batch[::-1], crowd, threads=2),
        "complement": lambda: turborle.complement(batch),
        "from_coco": lambda: turborle.from_coco(coco, threads=2),
        "to_coco": lambda: batch.to_coco(),
        "from_fal": lambda: turborle.from_fal(fal, 61, 47, threads=2),
        "to_fal": lambda: batch.to_fal(order="F"),
        "slice_concat": lambda: turborle.concat([batch[5:], batch[:5]]),
        "mask.encode": lambda: tmask.encode(fortran),
        "mask.decode": lambda: tmask.decode(coco_bytes),
        "mask.area": lambda: tmask.area(coco_bytes),
        "mask.toBbox": lambda: tmask.toBbox(coco),
        "mask.iou": lambda: tmask.iou(coco_bytes, coco_bytes, crowd),
        "mask.frPyObjects.poly": lambda: tmask.frPyObjects(polygons, 61, 47),
        "mask.frPyObjects.box": lambda: tmask.frPyObjects(boxes, 61, 47),
    }
    for op in ("union", "intersection", "xor", "difference"):
        ops[f"merge.{op}"] = lambda op=op: turborle.merge(batch, op, threads=2)
    return ops


def test_every_operation_from_eight_threads_matches_sequential():
    ops = _batch_operations()
    expected = {name: fn() for name, fn in ops.items()}
    jobs = [name for name in ops for _ in range(MANY_ROUNDS)]
    np.random.default_rng(0).shuffle(jobs)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda name: (name, ops[name]()), jobs))
    assert len(results) == len(jobs)
    for name, got in results:
        assert _same(got, expected[name]), name


def test_errors_from_many_threads_name_the_right_mask():
    bad = [{"size": [2, 2], "counts": "04"}] * 50 + [{"size": [2, 2], "counts": "0\x01"}]
    bad += [{"size": [2, 2], "counts": "9"}] * 10

    def parse(_):
        try:
            turborle.from_coco(bad, threads=3)
        except turborle.RLEError as e:
            return e.index, str(e)
        return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        errors = list(pool.map(parse, range(32)))
    assert all(e is not None and e[0] == 50 and e[1].startswith("mask 50:") for e in errors), \
        set(errors)


# ---- the core's thread pool --------------------------------------------------------------------


def _run(script, env=None, timeout=120):
    """Runs a Python script in a fresh interpreter; returns the completed process."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})},
                          check=False)


# A batch big enough that every operation pays for two threads, its expected results from
# the numpy oracle.
_BIG = """
    import numpy as np, turborle
    from turborle.testing import reference as ref
    rng = np.random.default_rng(7)
    masks = rng.random((16, 300, 400)) < 0.4
    expected_area = masks.reshape(16, -1).sum(axis=1)
    def check(threads=None):
        batch = turborle.encode(masks, threads=threads)
        assert np.array_equal(turborle.decode(batch, threads=threads), masks)
        assert np.array_equal(turborle.area(turborle.from_coco(batch.to_coco(), threads=threads),
                                            threads=threads), expected_area)
        assert np.array_equal(turborle.decode(turborle.merge(batch, threads=threads))[0],
                              masks.any(axis=0))
"""


def test_small_calls_start_no_threads_and_the_pool_is_reused():
    result = _run(_BIG + """
    from turborle import _core, mask as tmask
    small = np.asfortranarray(rng.random((20, 30, 2)) < 0.5).astype(np.uint8)
    for _ in range(200):  # the calls of an evaluation loop
        rles = tmask.encode(small)
        tmask.decode(rles); tmask.area(rles); tmask.toBbox(rles); tmask.merge(rles)
        tmask.iou(rles, rles, [0, 0]); tmask.frPyObjects([[1, 1, 9, 1, 9, 9]], 20, 30)
        turborle.decode(turborle.encode(small[:, :, 0]))
    print("after-small", _core.pool_size())
    for _ in range(20):
        check(threads=2)
    print("after-big", _core.pool_size())
    """, env={"TURBORLE_NUM_THREADS": "2"})
    assert result.returncode == 0, result.stderr
    lines = dict(line.split() for line in result.stdout.splitlines())
    assert lines["after-small"] == "0"  # nothing was worth a thread
    assert lines["after-big"] == "1"  # one helper beside the caller, created once


def _allow_one_more_thread():
    # RLIMIT_NPROC does not bind root: as root, run the limited part as an unprivileged user
    # (after every import: that user may not read the interpreter's files). The limit counts
    # every thread of the user, so it is raised one by one until this process can start
    # exactly one more thread.
    return """
    import os, resource, threading, time
    if os.getuid() == 0:
        os.setgid(65534); os.setuid(65534)
    hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]

    def can_start_two():
        release = threading.Event()
        started = []
        try:
            for _ in range(2):
                t = threading.Thread(target=release.wait)
                t.start()
                started.append(t)
        except RuntimeError:
            pass
        release.set()
        for t in started:
            t.join()
        time.sleep(0.2)  # an exited thread leaves the user's count a moment after join()
        return len(started)

    for limit in range(1, 4096):
        resource.setrlimit(resource.RLIMIT_NPROC, (limit, hard))
        if can_start_two() == 1:
            break
    else:
        raise SystemExit("could not find a limit allowing exactly one more thread")
    """


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_NPROC is POSIX")
def test_refused_threads_fall_back_to_the_calling_thread():
    # Before the pool, the second std::thread failing unwound through the first, still
    # joinable: std::terminate killed the process.
    result = _run(_BIG + """
    from turborle import _core
    """ + _allow_one_more_thread() + """
    check(threads=4)
    check(threads=4)
    print("pool", _core.pool_size())
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["pool", "1"]  # the one thread the OS allowed


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_child_gets_a_working_pool():
    result = _run(_BIG + """
    import os
    from turborle import _core
    check(threads=2)  # the parent's pool exists and is idle
    assert _core.pool_size() == 1
    pid = os.fork()
    if pid == 0:  # the child has none of the parent's threads: it must start its own
        try:
            check(threads=2)
            os._exit(0 if _core.pool_size() == 1 else 3)
        except BaseException:
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    check(threads=2)
    print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_multiprocessing_workers_default_to_one_thread(method):
    import multiprocessing

    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method on this platform")
    env_threads = os.environ.pop("TURBORLE_NUM_THREADS", None)
    try:
        with multiprocessing.get_context(method).Pool(2) as pool:
            # turborle.info itself runs in the workers: a worker that cannot import what it is
            # sent dies and Pool waits for it forever, so the wait is bounded too
            calls = [pool.apply_async(turborle.info) for _ in range(4)]
            seen = [call.get(timeout=120)["threads"] for call in calls]
    finally:
        if env_threads is not None:
            os.environ["TURBORLE_NUM_THREADS"] = env_threads
    assert seen == [1, 1, 1, 1]  # DataLoader-style workers do not each take every CPU
    assert turborle.info()["threads"] == (_core.cpu_count() if env_threads is None
                                          else int(env_threads))


def test_counts_replaced_by_another_thread_during_a_call_do_not_crash():
    # The binding once handed the core a pointer into a dict's bytes without keeping them:
    # replacing d["counts"] while the GIL was released freed them under the parser.
    result = _run("""
    import threading, time
    import numpy as np
    from turborle import mask as tmask
    stripes = np.zeros((2000, 2000, 1), np.uint8, order="F")
    stripes[::2] = 1  # a run per pixel pair: a long string that takes a while to parse
    counts = tmask.encode(stripes)[0]["counts"]
    d = {"size": [2000, 2000], "counts": bytes(counts)}
    stop = time.monotonic() + 3
    results = set()

    def replace():
        while time.monotonic() < stop:
            d["counts"] = bytes(bytearray(counts))  # a new object that only d holds
            time.sleep(0.003)  # meanwhile the main thread starts parsing it
            d["counts"] = b""  # ... and this frees it
            time.sleep(0.001)

    t = threading.Thread(target=replace)
    t.start()
    while time.monotonic() < stop:
        try:
            results.add(int(tmask.area([d])[0]))
        except ValueError:
            results.add("invalid")  # b"" does not sum to h*w
    t.join()
    print(sorted(map(str, results)))
    """, timeout=60, env={"MALLOC_MMAP_THRESHOLD_": "65536"})  # freed strings are unmapped
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert set(eval(result.stdout)) <= {"2000000", "invalid"}


def test_large_count_arrays_reused_across_calls_and_threads():
    # Count arrays of 4 MiB or more come from the allocator that keeps the last one freed for
    # the next of about its size: batches parsed one after another, from several threads, in
    # sizes that fit the kept array and ones that do not, must each hold their own counts.
    # Oracle: each mask's counts from the pure-Python reference encoder.
    rng = np.random.default_rng(99)
    h, w = 64, 96
    masks = [rng.random((h, w)) < p for p in (0.5, 0.3, 0.7, 0.05)]
    objs = [{"size": [h, w], "counts": ref.counts_to_string(ref.encode_counts(m))} for m in masks]
    expected = [ref.encode_counts(m) for m in masks]

    def parse(which, copies):
        batch = turborle.from_coco([objs[which]] * copies)
        assert batch.counts.nbytes >= 4 << 20
        for i in (0, copies // 2, copies - 1):
            got = batch.counts[batch.offsets[i]:batch.offsets[i + 1]].tolist()
            assert got == expected[which]
        return int(turborle.area(batch).sum()) == int(masks[which].sum()) * copies

    # 4.5 to 7 MiB of counts a batch (each mask's copies sized by its number of runs).
    plan = [(k % 4, (600_000 + 150_000 * (k % 3)) // len(expected[k % 4]) + 1) for k in range(24)]
    assert all(parse(which, copies) for which, copies in plan)  # one after another
    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(lambda args: parse(*args), plan))
