"""The COCO string parser's fast paths, on every instruction set this CPU runs, against the
pure-Python reference (turborle.testing.reference), on strings built to reach each path: long
strings (read in place, block by block) and short ones (padded copies), values of every
length from one to thirteen groups (the vector decoder takes up to three, the one-by-one
path up to eight, the reference parser the rest), and one bad byte anywhere in a long string;
and the string writer on the same values.
"""

import numpy as np
import pytest

import turborle
from turborle import _core
from turborle import mask as tmask
from turborle.testing import reference as ref
from turborle.testing import runs

LEVELS = sorted({"scalar", _core.best_simd_level()} | (
    {"avx2"} if _core.best_simd_level() == "avx512" else set()))


@pytest.fixture(params=LEVELS)
def level(request):
    old = _core._set_simd(request.param)
    yield request.param
    _core._set_simd(old)


def _random_counts(rng, n, groups_hint):
    """n counts whose deltas (count i minus count i-2) need about `groups_hint` groups, with
    a sprinkling of every other length."""
    counts = []
    for i in range(n):
        g = groups_hint if rng.random() < 0.8 else int(rng.integers(1, 14))
        magnitude = int(rng.integers(0, 2 ** min(5 * g - 1, 58 - n.bit_length())))
        base = counts[i - 2] if i > 2 else 0
        counts.append(base + magnitude if rng.random() < 0.5 or base < magnitude else base - magnitude)
    return counts


@pytest.mark.parametrize("groups", [1, 2, 3, 4, 8, 9])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 40, 300, 2000])
def test_strings_of_every_value_length_parse_as_the_reference(level, groups, n):
    rng = np.random.default_rng(groups * 10_000 + n)
    objs, expected = [], []
    for _ in range(6):
        counts = _random_counts(rng, n, groups)
        while sum(counts) > 2 ** 62:  # the largest mask turborle reads
            counts = _random_counts(rng, n, groups)
        total = sum(counts)
        if total == 0:
            counts[0], total = 1, 1
        s = ref.counts_to_string(counts)
        assert ref.string_to_counts(s) == counts
        objs.append({"size": [1, total], "counts": s})
        expected.append(counts)
    batch = turborle.from_coco(objs)
    for i, counts in enumerate(expected):
        assert batch.counts[batch.offsets[i]:batch.offsets[i + 1]].tolist() == counts
    # Written back (the 8-byte stores of up to eight groups, longer values one group at a
    # time, the last seven values of each string): the reference's bytes.
    assert [d["counts"] for d in batch.to_coco()] == [o["counts"].decode() for o in objs]
    # (masks of up to 2^62 pixels: the run-based reference, itself tested against the dense one)
    assert tmask.area(objs).tolist() == [runs.area(c) for c in expected]
    np.testing.assert_array_equal(tmask.toBbox(objs), [runs.bbox(c, 1, sum(c)) for c in expected])


@pytest.mark.parametrize("h", [1, 7, 480, 1024])
def test_masks_of_many_shapes_measure_as_the_reference(level, h):
    rng = np.random.default_rng(h)
    w = 333
    masks = rng.random((5, h, w)) < rng.uniform(0.05, 0.95, (5, 1, 1))
    masks[1, :, : w // 2] = True  # long runs across columns
    masks[2] = False
    objs = [{"size": [h, w], "counts": ref.counts_to_string(ref.encode_counts(m))} for m in masks]
    assert tmask.area(objs).tolist() == [int(m.sum()) for m in masks]
    expected_boxes = [ref.bbox(ref.encode_counts(m), h, w) for m in masks]
    np.testing.assert_array_equal(tmask.toBbox(objs), expected_boxes)
    np.testing.assert_array_equal(tmask.decode(objs).transpose(2, 0, 1), masks)


def _cut(rng, total, runs):
    """Counts of a mask of `total` pixels cut at about `runs` random places: runs of every
    length, many of them crossing from one column into the next when the columns are short."""
    cuts = np.unique(rng.integers(1, total, size=runs)) if total > 1 else np.zeros(0, np.int64)
    return np.diff(np.concatenate([[0], cuts, [total]])).tolist()


# Heights 1 to 8,388,607 (a column holds the whole mask); pixel counts on both sides of 2^23,
# where the vector box kernel changes from 32-bit to 64-bit lanes.
@pytest.mark.parametrize(("h", "w"), [(1, 5000), (2, 3001), (3, 2000), (7, 999), (1024, 1024),
                                      (2896, 2896), (2048, 4096), (8388607, 1), (1, 8388609)])
def test_boxes_of_masks_with_many_runs(level, h, w):
    pycocotools = pytest.importorskip("pycocotools.mask", reason="optional: the oracle")
    rng = np.random.default_rng(h + w)
    total = h * w
    for runs in (40, 700, 5000):
        counts = _cut(rng, total, runs)
        string = ref.counts_to_string(counts)
        objs = [{"size": [h, w], "counts": string.decode()}]
        expected = pycocotools.toBbox([{"size": [h, w], "counts": string}])
        np.testing.assert_array_equal(tmask.toBbox(objs), expected)
        np.testing.assert_array_equal(turborle.bbox(turborle.from_coco(objs)), expected)
        # Zero-length runs (uncompressed counts as given) count for nothing.
        padded = list(counts)
        for at in sorted(rng.integers(0, len(padded), size=20), reverse=True):
            padded[at:at] = [0, 0]
        batch = turborle.from_coco([{"size": [h, w], "counts": padded}])
        np.testing.assert_array_equal(turborle.bbox(batch), expected)


@pytest.mark.parametrize("h", [41, 47, 97])
def test_box_of_a_run_at_the_top_of_a_column_where_single_precision_rounds_down(level, h):
    # For these heights, position k*h times 1/h rounds below k in single precision for some
    # columns k (the vector box kernel's quotient, which it corrects): a run starting at the
    # top of such a column must still read as rows 0-2. One pixel at (h // 2, 0), then the run
    # of three at the top of column k, then zero-length runs (so that enough counts follow the
    # first foreground pixel for the vector kernel to take the run): the box is
    # [0, 0, k + 1, h // 2 + 1].
    w = (2 ** 23 - 1) // h
    k = np.arange(1, w - 1)
    inverse = np.float32(1) / np.float32(h)
    rounded_down = k[np.floor((k * h).astype(np.float32) * inverse) < k]
    assert rounded_down.size > 0
    picked = rounded_down[:: max(1, rounded_down.size // 12)]
    first = h // 2
    objs, expected = [], []
    for col in picked.tolist():
        top = col * h
        counts = [first, 1, top - first - 1, 3, h * w - top - 3] + [0] * 20
        objs.append({"size": [h, w], "counts": counts})
        expected.append([0, 0, col + 1, first + 1])
    np.testing.assert_array_equal(turborle.bbox(turborle.from_coco(objs)), expected)
    strings = [{"size": [h, w], "counts": ref.counts_to_string(o["counts"]).decode()} for o in objs]
    np.testing.assert_array_equal(tmask.toBbox(strings), expected)


@pytest.mark.parametrize("where", ["start", "block-edge", "middle", "last-block", "end"])
@pytest.mark.parametrize("bad", [b"\x00", b"/", b"p", b"\xff", b" "])
def test_a_bad_byte_anywhere_gives_the_reference_parsers_error(level, where, bad):
    rng = np.random.default_rng(5)
    counts = _random_counts(rng, 600, 2)
    s = ref.counts_to_string(counts)
    at = {"start": 0, "block-edge": 64, "middle": len(s) // 2, "last-block": len(s) - 40,
          "end": len(s) - 1}[where]
    broken = s[:at] + bad + s[at + 1:]
    obj = {"size": [1, sum(counts)], "counts": broken}
    messages = set()
    for call in (lambda: turborle.from_coco([obj]), lambda: tmask.area([obj]),
                 lambda: tmask.toBbox([obj])):
        with pytest.raises(ValueError) as info:
            call()
        messages.add(str(info.value))
        assert info.value.offset is not None and info.value.offset <= at
    assert len(messages) == 1  # the same error whichever path read it


def test_errors_are_the_same_on_every_level():
    rng = np.random.default_rng(9)
    cases = []
    for _ in range(200):
        counts = _random_counts(rng, int(rng.integers(1, 400)), int(rng.integers(1, 5)))
        s = bytearray(ref.counts_to_string(counts))
        kind = rng.integers(0, 4)
        if kind == 0 and s:
            s[int(rng.integers(0, len(s)))] = int(rng.integers(0, 256))
        elif kind == 1:
            s = s[: int(rng.integers(0, len(s) + 1))]
        elif kind == 2:
            s += b"P"  # a value that never ends
        total = sum(counts) + (1 if kind == 3 else 0)
        cases.append({"size": [1, max(total, 0)], "counts": bytes(s)})

    def outcome(obj):
        try:
            return ("ok", tmask.area([obj]).tolist(), tmask.toBbox([obj]).tolist())
        except ValueError as e:
            return ("error", str(e))

    results = {}
    for name in LEVELS:
        old = _core._set_simd(name)
        try:
            results[name] = [outcome(obj) for obj in cases]
        finally:
            _core._set_simd(old)
    for name in LEVELS:
        assert results[name] == results["scalar"], name
    for obj, got in zip(cases, results["scalar"]):  # and the scalar path agrees with the oracle
        try:
            counts = ref.string_to_counts(obj["counts"])
            valid = sum(counts) == obj["size"][1] and all(c >= 0 for c in counts)
        except ValueError:
            valid = False
        assert (got[0] == "ok") == valid


def _counts_with_empty_runs(rng, h, w):
    """Counts of an h x w mask, random inside a random box (which may touch any border), with
    zero-length runs spliced in (valid, not canonical): a foreground run of 0 anywhere must not
    move the box."""
    y0, y1 = sorted(rng.integers(0, h + 1, 2))
    x0, x1 = sorted(rng.integers(0, w + 1, 2))
    if rng.random() < 0.3:
        y1 = h  # runs that end on the bottom row
    mask = np.zeros((h, w), bool)
    mask[y0:y1, x0:x1] = rng.random((y1 - y0, x1 - x0)) < rng.uniform(0.02, 0.98)
    counts = list(ref.encode_counts(mask))
    for _ in range(int(rng.integers(0, 6))):
        at = int(rng.integers(1, len(counts) + 1))
        counts[at:at] = [0, 0]  # a background run split by an empty foreground run
    return counts, mask


@pytest.mark.parametrize("h", [1, 2, 7, 64, 480, 1000])
def test_box_of_parsed_counts_on_every_level(level, h):
    # Parsed masks take the kernels' box (four runs at a time on AVX2, with a scalar start until
    # the first foreground pixel and a scalar end); the dense masks are the oracle.
    rng = np.random.default_rng(h + 17)
    w = int(rng.integers(1, 200))
    cases = [_counts_with_empty_runs(rng, h, w) for _ in range(40)]
    late = np.zeros((h, w), bool)
    late[h - 1, w - 1] = True  # the only pixel is the last
    cases.append((ref.encode_counts(late), late))
    cases.append((ref.encode_counts(np.ones((h, w), bool)), np.ones((h, w), bool)))
    cases.append(([h * w], np.zeros((h, w), bool)))
    objs = [{"size": [h, w], "counts": list(map(int, c))} for c, _ in cases]
    batch = turborle.from_coco(objs)
    expected = []
    for _, mask in cases:
        ys, xs = np.nonzero(mask)
        expected.append([0, 0, 0, 0] if not len(xs) else
                        [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1])
    np.testing.assert_array_equal(turborle.bbox(batch), expected)
    strings = [{"size": [h, w], "counts": ref.counts_to_string(list(map(int, c)))} for c, _ in cases]
    np.testing.assert_array_equal(tmask.toBbox(strings), expected)
