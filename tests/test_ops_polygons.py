"""to_polygons / from_polygons: rings along pixel edges checked against the dense masks,
scipy.ndimage, pycocotools' polygon rasterisation and OpenCV's contours; the even-odd fill of
arbitrary polygons against a per-pixel numpy crossing count."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ops_oracles import STRUCTURE, batches, connectivities, label, noisy_blob
from scipy import ndimage as ndi

import turborle


def signed_area(ring):
    x, y = ring[:, 0].astype(float), ring[:, 1].astype(float)
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def dense(batch):
    return [turborle.decode(batch[i])[0] for i in range(len(batch))]


@given(batches(), connectivities)
def test_rings_fill_back_to_the_mask(case, connectivity):
    batch, masks = case
    polygons = turborle.to_polygons(batch, connectivity=connectivity)
    assert len(polygons) == len(masks)
    heights = [m.shape[0] for m in masks]
    widths = [m.shape[1] for m in masks]
    back = turborle.from_polygons(polygons, heights, widths)
    for got, m in zip(dense(back), masks):
        assert np.array_equal(got, m.astype(bool))


@given(batches(), connectivities)
def test_rings_are_outlines_of_scipy_components(case, connectivity):
    batch, masks = case
    other = 12 - connectivity  # holes are connected the other way
    for rings, m in zip(turborle.to_polygons(batch, connectivity=connectivity), masks):
        areas = [signed_area(r) for r in rings]
        assert sum(areas) == m.sum()  # outer rings positive, holes negative
        lab, n = label(m, connectivity)
        assert sum(a > 0 for a in areas) == n
        # holes: background components (connected the other way) off the border
        bg, nb = label(~m.astype(bool), other)
        border = set(bg[0, :]) | set(bg[-1, :]) | set(bg[:, 0]) | set(bg[:, -1]) if m.size else set()
        assert sum(a < 0 for a in areas) == len(set(range(1, nb + 1)) - border)
        # per component, in scipy's order: the outer ring, then its holes
        component = 0
        for ring, a in zip(rings, areas):
            if a > 0:
                component += 1
                filled = ndi.binary_fill_holes(lab == component, structure=STRUCTURE[other])
                assert a == filled.sum()
            else:
                assert component > 0
        for ring in rings:
            xs, ys = ring[:, 0], ring[:, 1]
            assert xs.min() >= 0 and ys.min() >= 0 and xs.max() <= m.shape[1] and ys.max() <= m.shape[0]
            # corners only: edges alternate between horizontal and vertical
            step = np.roll(ring, -1, axis=0) - ring
            horizontal = step[:, 1] == 0
            assert np.all((step[:, 0] == 0) != horizontal)
            assert np.all(horizontal != np.roll(horizontal, -1))
            # the ring starts at its first vertex in row-major order
            assert tuple(ring[0][::-1]) == min((int(y), int(x)) for x, y in ring)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools' decode under numpy 2
def test_outer_rings_are_coco_polygons_of_components_with_holes_filled():
    coco_mask = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(3)
    for _ in range(30):
        h, w = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        m = noisy_blob(rng, h, w) if rng.random() < 0.5 else rng.random((h, w)) < 0.4
        lab, _ = label(m, 8)
        outer = [r for r in turborle.to_polygons(turborle.encode(m))[0] if signed_area(r) > 0]
        for k, ring in enumerate(outer, start=1):
            rle = coco_mask.frPyObjects([ring.astype(float).ravel().tolist()], h, w)
            got = coco_mask.decode(rle)[:, :, 0].astype(bool)
            assert np.array_equal(got, ndi.binary_fill_holes(lab == k, structure=STRUCTURE[4]))


def test_outer_rings_match_opencv_external_contours():
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(4)
    for _ in range(30):
        m = noisy_blob(rng, int(rng.integers(2, 50)), int(rng.integers(2, 50)))
        contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        rings = turborle.to_polygons(turborle.encode(m), connectivity=8)[0]
        outer = [r for r in rings if signed_area(r) > 0]
        assert len(outer) == len(contours)
        # OpenCV's outer contours turn the other way (negative signed area)
        assert all(cv2.contourArea(c, oriented=True) <= 0 for c in contours)


def test_a_single_pixel_and_a_diagonal_pair():
    one = np.zeros((3, 3), bool)
    one[1, 1] = True
    assert [r.tolist() for r in turborle.to_polygons(turborle.encode(one))[0]] == [
        [[1, 1], [2, 1], [2, 2], [1, 2]]]
    pair = np.array([[1, 0], [0, 1]], bool)
    eight = turborle.to_polygons(turborle.encode(pair), connectivity=8)[0]
    four = turborle.to_polygons(turborle.encode(pair), connectivity=4)[0]
    assert len(eight) == 1 and len(eight[0]) == 8  # one ring touching itself at (1, 1)
    assert len(four) == 2 and all(len(r) == 4 for r in four)


def distance_to_ring(points, ring):
    """Distance of each point to the closed polyline `ring`."""
    a = ring.astype(float)
    b = np.roll(a, -1, axis=0)
    p = points.astype(float)[:, None, :]
    d = b - a
    t = np.clip(((p - a) * d).sum(-1) / np.maximum((d * d).sum(-1), 1e-300), 0, 1)
    nearest = a + t[..., None] * d
    return np.sqrt(((p - nearest) ** 2).sum(-1)).min(axis=1)


@given(batches(max_side=30), st.sampled_from([0.5, 1.0, 2.0, 5.0]))
def test_simplified_rings_stay_within_the_tolerance(case, tolerance):
    batch, _ = case
    exact = turborle.to_polygons(batch)
    simple = turborle.to_polygons(batch, tolerance=tolerance)
    for rings, rings_simple in zip(exact, simple):
        assert len(rings) == len(rings_simple)
        for r, s in zip(rings, rings_simple):
            assert 3 <= len(s) <= len(r)
            assert np.array_equal(s[0], r[0])
            # the kept vertices are original ones, in order (a ring may pass a vertex twice)
            at = 0
            for v in s:
                while at < len(r) and not np.array_equal(r[at], v):
                    at += 1
                assert at < len(r)
            assert np.all(distance_to_ring(r, s) <= tolerance + 1e-9)


def even_odd(polygons, h, w):
    """Pixel centres inside an odd number of rings, by counting crossings per pixel."""
    ys, xs = np.mgrid[:h, :w] + 0.5
    inside = np.zeros((h, w), bool)
    for ring in polygons:
        ring = np.asarray(ring, float).reshape(-1, 2)
        for (x0, y0), (x1, y1) in zip(ring, np.roll(ring, -1, axis=0)):
            if x0 == x1:
                continue
            cuts = (x0 <= xs) != (x1 <= xs)  # the edge spans the pixel's column centre
            with np.errstate(over="ignore"):  # (a nearly vertical edge crosses at +-inf)
                y_cut = y0 + (xs - x0) * (y1 - y0) / (x1 - x0)
            inside ^= cuts & (y_cut < ys)  # the crossing lies above the centre
    return inside


@given(st.integers(1, 25), st.integers(1, 25), st.lists(
    st.lists(st.tuples(st.floats(-5, 30), st.floats(-5, 30)), min_size=0, max_size=7), max_size=3))
def test_from_polygons_is_the_even_odd_fill_at_pixel_centres(h, w, polygons):
    got = turborle.decode(turborle.from_polygons([polygons], h, w))[0]
    assert np.array_equal(got, even_odd(polygons, h, w))


def test_from_polygons_inputs():
    square = [[1, 1], [4, 1], [4, 4], [1, 4]]
    flat = [1, 1, 4, 1, 4, 4, 1, 4]
    want = np.zeros((5, 6), bool)
    want[1:4, 1:4] = True
    for rings in ([square], [flat], [np.array(square)], (np.array(flat, float),)):
        assert np.array_equal(turborle.decode(turborle.from_polygons([rings], 5, 6))[0], want)
    # a hole, whichever way it turns
    hole = [[2, 2], [3, 2], [3, 3], [2, 3]]
    with_hole = want.copy()
    with_hole[2, 2] = False
    for h_ring in (hole, hole[::-1]):
        assert np.array_equal(turborle.decode(turborle.from_polygons([[square, h_ring]], 5, 6))[0], with_hole)
    batch = turborle.from_polygons([[square], [], [flat]], [5, 2, 7], np.array([6, 3, 6]))
    assert batch.heights.tolist() == [5, 2, 7] and turborle.area(batch).tolist() == [9, 0, 9]
    assert len(turborle.from_polygons([], 3, 3)) == 0


@pytest.mark.parametrize("polygons,h,w,error", [
    ([[[1, 2, 3]]], 4, 4, ValueError),  # odd flat ring
    ([[np.zeros((3, 3))]], 4, 4, ValueError),  # not (k, 2)
    ([[[0, 0, float("nan"), 1, 2, 2]]], 4, 4, ValueError),
    ([[[0, 0, float("inf"), 1, 2, 2]]], 4, 4, ValueError),
    ([[[0, 0, 1e9, 1, 2, 2]]], 4, 4, ValueError),
    ([[[0, 0, 1, 1, 2, 0]]], [4, 4], 4, ValueError),  # sizes for two masks, polygons for one
    ([[[0, 0, 1, 1, 2, 0]]], -1, 4, ValueError),
    ([[[0, 0, 1, 1, 2, 0]]], 2**33, 4, ValueError),  # a side beyond the operations' limit
    ("abc", 4, 4, TypeError),
    ([5], 4, 4, TypeError),
])
def test_from_polygons_errors(polygons, h, w, error):
    with pytest.raises(error):
        turborle.from_polygons(polygons, h, w)


def test_to_polygons_errors():
    b = turborle.encode(np.ones((2, 2), bool))
    for tolerance in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            turborle.to_polygons(b, tolerance)
    with pytest.raises(ValueError):
        turborle.to_polygons(b, connectivity=6)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        turborle.to_polygons(b, "1")  # type: ignore[arg-type]


def test_method_matches_function():
    b = turborle.encode(np.stack([noisy_blob(np.random.default_rng(i), 20, 30) for i in range(2)]))
    for got, want in zip(b.to_polygons(1.5, 4), turborle.to_polygons(b, 1.5, 4)):
        assert all(np.array_equal(g, w) for g, w in zip(got, want)) and len(got) == len(want)
