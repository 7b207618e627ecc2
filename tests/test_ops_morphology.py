"""Dilation, erosion, opening and closing against scipy.ndimage's binary_* with the same
structuring element and border_value=0."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ops_oracles import batches, element, noisy_blob
from scipy import ndimage as ndi

import turborle

OPS = {
    "dilate": (turborle.dilate, ndi.binary_dilation),
    "erode": (turborle.erode, ndi.binary_erosion),
    "opening": (turborle.opening, ndi.binary_opening),
    "closing": (turborle.closing, ndi.binary_closing),
}
SHAPE_SIZES = [("square", k) for k in range(1, 9)] + [("cross", k) for k in range(1, 9)] + [
    ("disk", k) for k in (1, 3, 5, 7, 9)]


def dense(batch):
    return [turborle.decode(batch[i])[0] for i in range(len(batch))]


def expected(m, op, shape, size):
    if m.size == 0:
        return m.astype(bool)
    return OPS[op][1](m, structure=element(shape, size), border_value=0)


@given(batches(max_side=20), st.sampled_from(sorted(OPS)), st.sampled_from(SHAPE_SIZES))
def test_morphology_matches_scipy(case, op, shape_size):
    batch, masks = case
    shape, size = shape_size
    got = dense(OPS[op][0](batch, size, shape))
    assert len(got) == len(masks)
    for g, m in zip(got, masks):
        assert np.array_equal(g, expected(m, op, shape, size)), (op, shape, size, m.shape)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("shape,size", SHAPE_SIZES + [("square", 15), ("cross", 12), ("disk", 11)])
def test_morphology_on_noisy_masks(op, shape, size):
    rng = np.random.default_rng(size)
    masks = [noisy_blob(rng, int(rng.integers(1, 70)), int(rng.integers(1, 70))) for _ in range(6)]
    batch = turborle.concat([turborle.encode(m) for m in masks])
    for g, m in zip(dense(OPS[op][0](batch, size, shape)), masks):
        assert np.array_equal(g, expected(m, op, shape, size))


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("shape,size", [("square", 31), ("cross", 40), ("disk", 25)])
def test_elements_larger_than_the_mask(op, shape, size):
    rng = np.random.default_rng(0)
    for h, w in [(1, 1), (1, 9), (9, 1), (7, 12), (12, 7)]:
        for m in [np.ones((h, w), bool), rng.random((h, w)) < 0.5, np.zeros((h, w), bool)]:
            got = dense(OPS[op][0](turborle.encode(m), size, shape))[0]
            assert np.array_equal(got, expected(m, op, shape, size)), (h, w)


def test_a_single_pixel_grows_into_the_element():
    m = np.zeros((11, 11), bool)
    m[5, 5] = True
    for shape, size in [("square", 3), ("cross", 5), ("disk", 7), ("square", 4)]:
        got = turborle.decode(turborle.dilate(turborle.encode(m), size, shape))[0]
        # dilation of one pixel is the element reflected about the pixel
        c = size // 2
        want = np.zeros_like(m)
        want[5 - c:5 - c + size, 5 - c:5 - c + size] = element(shape, size)
        assert np.array_equal(got, want), (shape, size)


def test_methods_match_functions():
    b = turborle.encode(np.stack([noisy_blob(np.random.default_rng(i), 25, 35) for i in range(3)]))
    assert b.dilate(5, "disk") == turborle.dilate(b, 5, "disk")
    assert b.erode() == turborle.erode(b, 3, "square")
    assert b.opening(4, "cross") == turborle.opening(b, 4, "cross")
    assert b.closing(7) == turborle.closing(b, 7)


@pytest.mark.parametrize("op", [turborle.dilate, turborle.erode, turborle.opening, turborle.closing])
def test_bad_elements_are_refused(op):
    b = turborle.encode(np.ones((4, 4), bool))
    for size, shape in [(0, "square"), (-3, "cross"), (4, "disk"), (3, "circle")]:
        with pytest.raises(ValueError):
            op(b, size, shape)
    with pytest.raises(TypeError):
        op(b, 2.5, "square")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        op(b, 2**70, "square")
