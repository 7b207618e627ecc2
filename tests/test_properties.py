"""Property tests of every operation of turborle.mask against the numpy oracle.

Unlike test_differential.py these do not need pycocotools, and they also cover what
pycocotools gets wrong: non-binary masks, counts of 2**24, 2**29 and 2**32 or more,
zero-length runs. Masks too large to decode are checked against the run-based oracle
(``turborle.testing.runs``, itself checked against the dense one in test_reference.py).
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from turborle import mask as tmask
from turborle.testing import generators as gen
from turborle.testing import reference as ref
from turborle.testing import runs as ref_runs
from turborle.testing import strategies as rst

FEW = max(10, settings().max_examples // 2)
NONBINARY = (1, 2, 7, 128, 255)  # any nonzero byte is foreground
HUGE = 2**20  # sides up to this: masks of up to 2**40 pixels, counts past 2**32


def rle(counts, h, w):
    return {"size": [h, w], "counts": ref.counts_to_string(counts)}


def assert_area_equal(got, expected):
    """area equals the oracle exactly; uint32 (pycocotools' dtype) whenever that holds it."""
    got = np.asarray(got)
    assert got.shape == np.shape(expected)
    assert [int(v) for v in got.ravel()] == list(np.ravel(expected))
    if max(np.ravel(expected), default=0) < 2**32:
        assert got.dtype == np.uint32


# ---- dense masks -------------------------------------------------------------------------------


@given(rst.coco_masks(max_side=60, max_n=4, foreground=NONBINARY))
def test_encode_decode_round_trip(m):
    h, w, n = m.shape
    rles = tmask.encode(m)
    assert len(rles) == n
    for i, r in enumerate(rles):
        assert r == rle(ref.encode_counts(m[:, :, i]), h, w)
    decoded = tmask.decode(rles)
    assert decoded.dtype == np.uint8 and decoded.flags.f_contiguous
    np.testing.assert_array_equal(decoded, (m != 0).astype(np.uint8))


@given(rst.coco_masks(max_side=60, max_n=1, foreground=NONBINARY))
def test_encode_2d(m):
    m2 = np.asfortranarray(m[:, :, 0])
    h, w = m2.shape
    expected = rle(ref.encode_counts(m2), h, w)
    assert tmask.encode(m2) == expected
    assert tmask.encode(np.ascontiguousarray(m2)) == expected
    assert tmask.encode(m2 != 0) == expected
    np.testing.assert_array_equal(tmask.decode(expected), m2 != 0)


@given(rst.coco_masks(max_side=60, max_n=5))
def test_area_bbox(m):
    h, w, n = m.shape
    counts = [ref.encode_counts(m[:, :, i]) for i in range(n)]
    rles = [rle(c, h, w) for c in counts]
    assert_area_equal(tmask.area(rles), [ref.area(c) for c in counts])
    np.testing.assert_array_equal(tmask.toBbox(rles), [ref.bbox(c, h, w) for c in counts])
    np.testing.assert_array_equal(tmask.toBbox(rles[0]), ref.bbox(counts[0], h, w))
    assert int(tmask.area(rles[0])) == ref.area(counts[0])


@given(rst.coco_masks(max_side=50, max_n=6), st.booleans())
def test_merge(m, intersect):
    h, w, n = m.shape
    counts = [ref.encode_counts(m[:, :, i]) for i in range(n)]
    got = tmask.merge([rle(c, h, w) for c in counts], intersect=intersect)
    assert got == rle(ref.merge(counts, h, w, intersect), h, w)


@given(st.lists(rst.masks(max_side=12), min_size=1, max_size=4),
       st.lists(rst.masks(max_side=12), min_size=1, max_size=4), st.data())
def test_iou_any_sizes(dts, gts, data):
    """Pairs of different sizes included: -1 where their boxes overlap, else 0."""
    crowd = data.draw(st.lists(st.booleans(), min_size=len(gts), max_size=len(gts)))
    dt = [(ref.encode_counts(m), *m.shape) for m in dts]
    gt = [(ref.encode_counts(m), *m.shape) for m in gts]
    got = tmask.iou([rle(*x) for x in dt], [rle(*x) for x in gt], crowd)
    np.testing.assert_array_equal(got, ref.iou(dt, gt, crowd))


@given(rst.coco_masks(max_side=40, max_n=6, min_n=2), st.data())
def test_iou_same_size(m, data):
    h, w, n = m.shape
    split = data.draw(st.integers(1, n - 1))
    counts = [ref.encode_counts(m[:, :, i]) for i in range(n)]
    crowd = data.draw(st.one_of(
        st.none(), st.lists(st.booleans(), min_size=n - split, max_size=n - split)))
    got = tmask.iou([rle(c, h, w) for c in counts[:split]],
                    [rle(c, h, w) for c in counts[split:]], crowd)
    expected = ref.iou([(c, h, w) for c in counts[:split]],
                       [(c, h, w) for c in counts[split:]], crowd)
    assert np.asarray(got).dtype == np.float64
    np.testing.assert_array_equal(got, expected)


@given(rst.boxes(), rst.boxes(), st.data())
def test_box_iou(dt, gt, data):
    crowd = data.draw(st.lists(st.booleans(), min_size=len(gt), max_size=len(gt)))
    got = np.asarray(tmask.iou(dt, gt, crowd))
    expected = ref.box_iou(dt, gt, crowd)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got.view(np.uint64), expected.view(np.uint64))


# ---- arbitrary counts, up to 2**40 pixels ---------------------------------------------------


@given(rst.rle_counts(max_side=HUGE))
def test_codec_round_trip(cs):
    (counts,), h, w = cs
    s = ref.counts_to_string(counts)
    (got,) = tmask.frUncompressedRLE([{"size": [h, w], "counts": counts}], h, w)
    assert got == {"size": [h, w], "counts": s}
    # Parsing and re-serialising (a one-mask merge is a copy) gives the string back.
    assert tmask.merge([{"size": [h, w], "counts": s}]) == {"size": [h, w], "counts": s}
    assert tmask.merge([{"size": [h, w], "counts": s.decode()}]) == {"size": [h, w], "counts": s}


@given(rst.rle_counts(max_side=HUGE))
def test_huge_area_bbox(cs):
    (counts,), h, w = cs
    r = rle(counts, h, w)
    assert_area_equal(tmask.area([r, r]), [ref_runs.area(counts)] * 2)
    assert int(tmask.area(r)) == ref_runs.area(counts)
    np.testing.assert_array_equal(tmask.toBbox(r), ref_runs.bbox(counts, h, w))


@given(rst.rle_counts(max_side=HUGE, max_n=4), st.booleans())
def test_huge_merge(cs, intersect):
    counts, h, w = cs
    got = tmask.merge([rle(c, h, w) for c in counts], intersect=intersect)
    if len(counts) == 1:
        expected = counts[0]
    else:
        expected = ref_runs.merge(counts, h, w, intersect)
    assert got == rle(expected, h, w)


@given(rst.rle_counts(max_side=HUGE, max_n=4), st.data())
def test_huge_iou(cs, data):
    counts, h, w = cs
    items = [(c, h, w) for c in counts]
    crowd = data.draw(st.lists(st.booleans(), min_size=len(items), max_size=len(items)))
    got = tmask.iou([rle(*x) for x in items], [rle(*x) for x in items], crowd)
    np.testing.assert_array_equal(got, ref_runs.iou(items, items, crowd))


def zero_length_runs(max_side=12, n=1):
    """``(list of counts, h, w)``: n masks of one size whose counts may hold zero-length runs
    anywhere (pycocotools and turborle accept them)."""
    return rst.rle_counts(max_side=max_side, min_n=n, max_n=n, canonical=False)


@given(st.lists(zero_length_runs(), min_size=1, max_size=3))
def test_zero_length_runs(cases):
    items = [(counts[0], h, w) for counts, h, w in cases]
    for counts, h, w in items:
        r = rle(counts, h, w)
        if h * w:
            np.testing.assert_array_equal(tmask.decode(r), ref.decode_counts(counts, h, w))
        assert int(tmask.area(r)) == ref.area(counts)
        np.testing.assert_array_equal(tmask.toBbox(r), ref.bbox(counts, h, w))
    got = tmask.iou([rle(*x) for x in items], [rle(*x) for x in items], None)
    np.testing.assert_array_equal(got, ref.iou(items, items, None))


@given(zero_length_runs(n=3), st.integers(2, 3), st.booleans())
def test_zero_length_runs_merge(case, n, intersect):
    counts, h, w = case
    counts = counts[:n]
    got = tmask.merge([rle(c, h, w) for c in counts], intersect=intersect)
    assert got["size"] == [h, w]
    # The merged mask is right; whether its counts keep zero-length runs is not pinned.
    expected = ref.merge(counts, h, w, intersect)
    assert ref.canonical_counts(ref.string_to_counts(got["counts"])) == expected


# ---- polygons and boxes ------------------------------------------------------------------------


@given(rst.polygons(max_side=50))
def test_frpoly(case):
    xy, h, w = case
    expected = rle(ref.poly_to_counts(xy, h, w), h, w)
    assert tmask.frPoly([xy], h, w) == [expected]
    assert tmask.frPyObjects([xy, xy], h, w) == [expected, expected]
    if len(xy) > 4:
        assert tmask.frPyObjects(xy, h, w) == expected


@given(st.lists(st.floats(-10, 30, allow_nan=False), max_size=12).filter(lambda v: len(v) % 2 == 0),
       st.integers(1, 25), st.integers(1, 25))
def test_frpoly_float_coordinates(xy, h, w):
    assert tmask.frPoly([xy], h, w) == [rle(ref.poly_to_counts(xy, h, w), h, w)]


@given(rst.polygons(max_side=20), st.sampled_from([(0, 0), (0, 7), (7, 0)]))
def test_frpoly_empty_image(case, size):
    xy, _, _ = case
    h, w = size
    assert tmask.frPoly([xy], h, w) == [rle(ref.poly_to_counts(xy, h, w), h, w)]


@given(rst.boxes(max_side=40, max_n=4), st.integers(1, 45), st.integers(1, 45))
def test_frbbox(bb, h, w):
    expected = [rle(ref.box_to_counts(*b, h, w), h, w) for b in bb]
    assert tmask.frBbox(bb, h, w) == expected
    assert tmask.frPyObjects(bb, h, w) == expected
    assert tmask.frPyObjects(bb.tolist(), h, w) == expected
    assert tmask.frPyObjects(bb[0].tolist(), h, w) == expected[0]


# ---- a chain of operations ---------------------------------------------------------------------


class MaskAlgebra(RuleBasedStateMachine):
    """Builds masks of one size by every route and combines them, checking each against
    the oracle's counts."""

    @initialize(h=st.integers(1, 24), w=st.integers(1, 24))
    def start(self, h, w):
        self.h, self.w = h, w
        self.items = []  # (turborle RLE dict, oracle counts)

    @rule(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(gen.MASK_KINDS))
    def add_dense(self, seed, kind):
        m = gen.random_mask(np.random.default_rng(seed), self.h, self.w, kind)
        self.items.append((tmask.encode(m), ref.encode_counts(m)))

    @rule(case=rst.polygons(max_side=24))
    def add_polygon(self, case):
        xy = case[0]
        (r,) = tmask.frPyObjects([xy], self.h, self.w)
        self.items.append((r, ref.poly_to_counts(xy, self.h, self.w)))

    @rule(bb=rst.boxes(max_side=24, max_n=1))
    def add_box(self, bb):
        (r,) = tmask.frPyObjects(bb, self.h, self.w)
        self.items.append((r, ref.box_to_counts(*bb[0], self.h, self.w)))

    @precondition(lambda self: len(self.items) >= 2)
    @rule(data=st.data(), intersect=st.booleans())
    def combine(self, data, intersect):
        idx = data.draw(st.lists(st.integers(0, len(self.items) - 1), min_size=2, max_size=4))
        r = tmask.merge([self.items[i][0] for i in idx], intersect=intersect)
        counts = ref.merge([self.items[i][1] for i in idx], self.h, self.w, intersect)
        self.items.append((r, counts))

    @precondition(lambda self: len(self.items) >= 1)
    @rule(data=st.data())
    def round_trip(self, data):
        i = data.draw(st.integers(0, len(self.items) - 1))
        self.items.append((tmask.encode(tmask.decode(self.items[i][0])), self.items[i][1]))

    @invariant()
    def agrees_with_oracle(self):
        if not self.items:
            return
        rles = [r for r, _ in self.items]
        for r, counts in self.items[-2:]:
            assert r == rle(counts, self.h, self.w)
        assert [int(a) for a in tmask.area(rles)] == [ref.area(c) for _, c in self.items]
        gt = [(c, self.h, self.w) for _, c in self.items[-3:]]
        np.testing.assert_array_equal(
            tmask.iou(rles, rles[-3:], [0, 1, 0][:len(gt)]),
            ref.iou([(c, self.h, self.w) for _, c in self.items], gt, [0, 1, 0][:len(gt)]))


MaskAlgebra.TestCase.settings = settings(max_examples=FEW, stateful_step_count=12)
test_mask_algebra = MaskAlgebra.TestCase
