"""Connected components, hole filling and small-region removal against scipy.ndimage and a
restatement of segment-anything's remove_small_regions on OpenCV."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ops_oracles import STRUCTURE, batches, connectivities, label, noisy_blob, sam_remove_small_regions
from scipy import ndimage as ndi

import turborle


def dense(batch):
    """Each mask of a batch as a bool array of its own size."""
    return [turborle.decode(batch[i])[0] for i in range(len(batch))]


def same_masks(got, expected):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == e.shape
        assert np.array_equal(g, e)


def special_masks():
    """Masks where components and holes are easy to get wrong."""
    yy, xx = np.mgrid[:33, :31]
    frame = np.ones((9, 11), bool)
    frame[2:-2, 2:-2] = False
    frame[4, 5] = True  # an island in the hole
    spiral = np.zeros((15, 15), bool)
    spiral[1, 1:14] = spiral[1:14, 13] = spiral[13, 1:14] = spiral[3:14, 1] = True
    spiral[3, 1:12] = spiral[3:12, 11] = spiral[11, 3:12] = spiral[5:12, 3] = True
    return [
        np.zeros((0, 4), bool), np.zeros((3, 0), bool), np.zeros((5, 7), bool),
        np.ones((5, 7), bool), np.ones((1, 9), bool), np.ones((9, 1), bool),
        np.array([[1, 0, 1, 1, 0, 1, 0, 0, 1]], bool), np.array([[1, 0, 1, 1, 0, 1]], bool).T,
        (yy + xx) % 2 == 0, (yy + xx) % 2 == 1, frame, ~frame, spiral, ~spiral,
        (yy % 3 == 0) | (xx % 4 == 0),  # a grid: every border touched, many holes
        noisy_blob(np.random.default_rng(0), 60, 50),
    ]


@pytest.mark.parametrize("connectivity", [4, 8])
def test_components_of_special_masks(connectivity):
    for m in special_masks():
        parts, owner = turborle.connected_components(turborle.encode(m), connectivity)
        lab, n = label(m, connectivity)
        same_masks(dense(parts), [lab == k for k in range(1, n + 1)])
        assert owner.tolist() == [0] * n


@given(batches(), connectivities)
def test_components_match_scipy_label(case, connectivity):
    batch, masks = case
    parts, owner = turborle.connected_components(batch, connectivity)
    expected, expected_owner = [], []
    for i, m in enumerate(masks):
        lab, n = label(m, connectivity)
        expected += [lab == k for k in range(1, n + 1)]
        expected_owner += [i] * n
    assert owner.dtype == np.int64
    assert owner.tolist() == expected_owner
    same_masks(dense(parts), expected)


@given(batches(), connectivities)
def test_largest_component_is_the_first_largest_in_scipy_order(case, connectivity):
    batch, masks = case
    got = dense(turborle.largest_component(batch, connectivity))
    expected = []
    for m in masks:
        lab, n = label(m, connectivity)
        if n == 0:
            expected.append(np.zeros(m.shape, bool))
        else:
            sizes = np.bincount(lab.ravel())[1:]
            expected.append(lab == int(np.argmax(sizes)) + 1)
    same_masks(got, expected)


def test_largest_component_ties_go_to_the_first_in_scipy_order():
    m = np.zeros((6, 6), bool)
    m[4, 0] = m[0, 3] = m[2, 5] = True  # three single pixels; (0, 3) comes first row-major
    got = dense(turborle.largest_component(turborle.encode(m)))[0]
    assert np.argwhere(got).tolist() == [[0, 3]]


@given(batches(), connectivities)
def test_fill_holes_matches_binary_fill_holes(case, connectivity):
    batch, masks = case
    got = dense(turborle.fill_holes(batch, connectivity=connectivity))
    same_masks(got, [ndi.binary_fill_holes(m, structure=STRUCTURE[connectivity]) for m in masks])


def holes_filled_up_to(m, max_area, connectivity):
    """The background components that do not touch the border, of at most max_area pixels,
    added to m."""
    lab, n = label(~m.astype(bool), connectivity)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    border = set(lab[0, :]) | set(lab[-1, :]) | set(lab[:, 0]) | set(lab[:, -1]) if m.size else set()
    fill = [k for k in range(1, n + 1) if k not in border and sizes[k] <= max_area]
    return m.astype(bool) | np.isin(lab, fill)


@given(batches(), connectivities, st.integers(0, 12))
def test_fill_holes_up_to_an_area(case, connectivity, max_area):
    batch, masks = case
    got = dense(turborle.fill_holes(batch, max_area, connectivity))
    same_masks(got, [holes_filled_up_to(m, max_area, connectivity) for m in masks])


@pytest.mark.parametrize("connectivity", [4, 8])
def test_fill_holes_of_special_masks(connectivity):
    for m in special_masks():
        for max_area in (None, 0, 1, 5, 1000):
            got = dense(turborle.fill_holes(turborle.encode(m), max_area, connectivity))[0]
            limit = np.inf if max_area is None else max_area
            assert np.array_equal(got, holes_filled_up_to(m, limit, connectivity))


def islands_removed(m, min_area, connectivity):
    lab, n = label(m, connectivity)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    keep = sizes >= min_area
    keep[0] = False
    return keep[lab]


@given(batches(), connectivities, st.integers(0, 15))
def test_remove_small_islands_matches_scipy_sizes(case, connectivity, min_area):
    batch, masks = case
    got = dense(turborle.remove_small_islands(batch, min_area, connectivity))
    same_masks(got, [islands_removed(m, min_area, connectivity) for m in masks])


@given(batches(), st.sampled_from(["holes", "islands"]), st.integers(0, 12))
def test_remove_small_regions_is_segment_anything_bit_for_bit(case, mode, area_thresh):
    pytest.importorskip("cv2")  # the oracle is segment-anything's OpenCV code
    batch, masks = case
    fixed, changed = turborle.remove_small_regions(batch, area_thresh, mode)
    expected = [sam_remove_small_regions(m, area_thresh, mode) for m in masks if m.size]
    kept = [i for i, m in enumerate(masks) if m.size]  # (OpenCV refuses empty images)
    same_masks([dense(fixed)[i] for i in kept], [e for e, _ in expected])
    assert [bool(changed[i]) for i in kept] == [c for _, c in expected]
    assert changed.dtype == np.bool_


@pytest.mark.parametrize("mode", ["holes", "islands"])
def test_remove_small_regions_on_noisy_masks(mode):
    pytest.importorskip("cv2")  # the oracle is segment-anything's OpenCV code
    rng = np.random.default_rng(1)
    masks = [noisy_blob(rng, int(rng.integers(20, 90)), int(rng.integers(20, 90))) for _ in range(12)]
    masks += special_masks()[2:]
    batch = turborle.concat([turborle.encode(m) for m in masks])
    for area_thresh in (1, 2, 7, 50, 100.0, 2.5, 1e9):
        fixed, changed = turborle.remove_small_regions(batch, area_thresh, mode)
        for i, m in enumerate(masks):
            want, want_changed = sam_remove_small_regions(m, area_thresh, mode)
            assert np.array_equal(dense(fixed[i])[0], want), (i, area_thresh)
            assert bool(changed[i]) == want_changed


def test_islands_tie_goes_to_opencv_label_order():
    pytest.importorskip("cv2")  # the oracle is segment-anything's OpenCV code
    # Every island is small and all have one pixel: segment-anything keeps np.argmax(sizes),
    # the first in OpenCV's label order. OpenCV's 8-connected labelling scans 2x2 blocks, so
    # (y=1, x=0) comes before (y=0, x=2) although row-major order says otherwise.
    m = np.zeros((6, 8), bool)
    m[1, 0] = m[0, 2] = m[5, 7] = True
    fixed, changed = turborle.remove_small_regions(turborle.encode(m), 2, "islands")
    want, _ = sam_remove_small_regions(m, 2, "islands")
    assert np.argwhere(want).tolist() == [[1, 0]]
    assert np.array_equal(dense(fixed)[0], want) and changed.tolist() == [True]


def test_many_equal_islands_tie_like_opencv():
    pytest.importorskip("cv2")  # the oracle is segment-anything's OpenCV code
    rng = np.random.default_rng(5)
    for _ in range(40):
        h, w = int(rng.integers(4, 40)), int(rng.integers(4, 40))
        m = np.zeros((h, w), bool)
        ys, xs = rng.integers(0, h, 6), rng.integers(0, w, 6)
        m[ys, xs] = True
        m[ys, np.minimum(xs + 1, w - 1)] &= rng.random(6) < 0.5
        fixed, _ = turborle.remove_small_regions(turborle.encode(m), 10**6, "islands")
        assert np.array_equal(dense(fixed)[0], sam_remove_small_regions(m, 10**6, "islands")[0])


def test_coco_dicts_are_accepted_and_results_are_canonical():
    m = noisy_blob(np.random.default_rng(2), 40, 30)
    coco = turborle.encode(m).to_coco()
    filled = turborle.fill_holes(coco)
    assert isinstance(filled, turborle.RLEBatch)
    # canonical counts: what encode gives for the same pixels
    assert filled == turborle.encode(ndi.binary_fill_holes(m, structure=STRUCTURE[4]))
    parts, owner = turborle.encode(m).connected_components()
    assert parts == turborle.connected_components(coco)[0] and len(owner) == len(parts)


def test_methods_match_functions():
    b = turborle.encode(np.stack([noisy_blob(np.random.default_rng(i), 30, 40) for i in range(3)]))
    assert b.largest_component(4) == turborle.largest_component(b, 4)
    assert b.fill_holes(3) == turborle.fill_holes(b, 3)
    assert b.remove_small_islands(5, 4) == turborle.remove_small_islands(b, 5, 4)
    fixed, changed = b.remove_small_regions(20, "holes")
    assert fixed == turborle.remove_small_regions(b, 20, "holes")[0] and changed.shape == (3,)


def test_zero_length_runs_in_the_input_are_handled():
    # pycocotools accepts zero-length runs; they join the runs around them.
    batch = turborle.from_coco({"size": [4, 3], "counts": [1, 2, 0, 1, 3, 0, 0, 2, 3]})
    m = turborle.decode(batch)[0]
    parts, _ = turborle.connected_components(batch, 4)
    lab, n = label(m, 4)
    same_masks(dense(parts), [lab == k for k in range(1, n + 1)])


@pytest.mark.parametrize(
    "call",
    [
        lambda b: turborle.connected_components(b, 5),
        lambda b: turborle.connected_components(b, True),
        lambda b: turborle.largest_component(b, 6),
        lambda b: turborle.fill_holes(b, connectivity=0),
        lambda b: turborle.fill_holes(b, -1),
        lambda b: turborle.fill_holes(b, float("nan")),
        lambda b: turborle.remove_small_islands(b, -3),
        lambda b: turborle.remove_small_regions(b, 10, "sprinkles"),
        lambda b: turborle.remove_small_regions(b, -1, "holes"),
    ],
)
def test_bad_arguments_are_value_errors(call):
    with pytest.raises(ValueError):
        call(turborle.encode(np.ones((3, 3), bool)))


def test_non_numbers_are_type_errors():
    b = turborle.encode(np.ones((3, 3), bool))
    with pytest.raises(TypeError):
        turborle.fill_holes(b, "10")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        turborle.remove_small_islands(b, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        turborle.connected_components("not a batch")  # type: ignore[arg-type]
