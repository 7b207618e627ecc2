"""Crop, pad, flip, transpose, rot90 against numpy; resize against torch's
interpolate(mode="nearest-exact") and, for integer factors, numpy."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ops_oracles import batches, noisy_blob

import turborle


def dense(batch):
    return [turborle.decode(batch[i])[0] for i in range(len(batch))]


def same_masks(got, expected):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == e.shape
        assert np.array_equal(g, e.astype(bool))


def numpy_crop(m, box):
    x, y, w, h = box
    h_img, w_img = m.shape
    x0, x1 = min(max(x, 0), w_img), min(max(x + w, 0), w_img)
    y0, y1 = min(max(y, 0), h_img), min(max(y + h, 0), h_img)
    return m[y0:y1, x0:x1]


boxes = st.tuples(st.integers(-30, 30), st.integers(-30, 30), st.integers(0, 40), st.integers(0, 40))


def meets(m, box):
    x, y, w, h = box
    return w == 0 or h == 0 or numpy_crop(m, box).size > 0


@given(batches(), boxes)
def test_crop_one_box_matches_numpy(case, box):
    batch, masks = case
    if not all(meets(m, box) for m in masks):
        with pytest.raises(ValueError, match="outside"):
            turborle.crop(batch, box)
        return
    same_masks(dense(turborle.crop(batch, box)), [numpy_crop(m, box) for m in masks])


@given(batches(), st.data())
def test_crop_a_box_per_mask(case, data):
    batch, masks = case
    per_mask = [data.draw(boxes.filter(lambda b, m=m: meets(m, b))) for m in masks]
    got = turborle.crop(batch, np.array(per_mask, dtype=np.int64).reshape(-1, 4))
    same_masks(dense(got), [numpy_crop(m, b) for m, b in zip(masks, per_mask)])


def test_crop_errors():
    b = turborle.encode(np.ones((5, 6), bool))
    for box in [(0, 0, -1, 3), (0, 0, 3, -1), (6, 0, 2, 2), (0, 5, 2, 2), (-4, 0, 4, 2), (10, 10, 5, 5)]:
        with pytest.raises(ValueError):
            turborle.crop(b, box)
    with pytest.raises(ValueError, match="shape"):
        turborle.crop(b, (1, 2, 3))
    with pytest.raises(ValueError, match="shape"):
        turborle.crop(b, [[0, 0, 1, 1], [0, 0, 1, 1]])
    with pytest.raises(TypeError):
        turborle.crop(b, (0.5, 0, 1, 1))
    with pytest.raises(ValueError):
        turborle.crop(b, (2**63 - 1, 0, 1, 1))
    # a box meeting the image only partly is cut; an empty box anywhere gives an empty mask
    assert turborle.crop(b, (-3, -3, 5, 5)).heights.tolist() == [2]
    assert turborle.crop(b, (100, 100, 0, 7)).widths.tolist() == [0]


@given(batches(), st.tuples(*[st.integers(0, 6)] * 4))
def test_pad_matches_numpy(case, sides):
    batch, masks = case
    top, bottom, left, right = sides
    got = dense(turborle.pad(batch, top, bottom, left, right))
    same_masks(got, [np.pad(m, ((top, bottom), (left, right))) for m in masks])


def test_pad_errors():
    b = turborle.encode(np.ones((5, 6), bool))
    with pytest.raises(ValueError):
        turborle.pad(b, -1)
    with pytest.raises(ValueError):
        turborle.pad(b, 0, 0, 2**62, 2**62)
    with pytest.raises(ValueError):  # a side beyond the limit of the operations
        turborle.pad(b, 2**33)
    with pytest.raises(TypeError):
        turborle.pad(b, 1.5)  # type: ignore[arg-type]


@given(batches(), st.sampled_from([0, 1, -1, -2]))
def test_flip_matches_numpy(case, axis):
    batch, masks = case
    same_masks(dense(turborle.flip(batch, axis)), [np.flip(m, axis) for m in masks])


@given(batches())
def test_transpose_matches_numpy(case):
    batch, masks = case
    same_masks(dense(turborle.transpose(batch)), [m.T for m in masks])


@given(batches(), st.integers(-9, 9))
def test_rot90_matches_numpy(case, k):
    batch, masks = case
    same_masks(dense(turborle.rot90(batch, k)), [np.rot90(m, k) for m in masks])


def test_geometry_errors():
    b = turborle.encode(np.ones((2, 3), bool))
    for axis in (2, -3):
        with pytest.raises(ValueError):
            turborle.flip(b, axis)
    with pytest.raises(TypeError):
        turborle.rot90(b, 1.0)  # type: ignore[arg-type]


def test_geometry_of_a_huge_single_run():
    # 20000 x 20000 pixels of one run: every operation works on the 20000 column spans.
    n = 20000
    full = turborle.from_coco({"size": [n, n], "counts": [0, n * n]})
    assert turborle.transpose(full) == full
    assert turborle.rot90(full, 1) == full
    assert turborle.flip(full, 0) == full
    assert turborle.crop(full, (5, 7, 100, 200)).to_coco() == turborle.encode(np.ones((200, 100), bool)).to_coco()
    padded = turborle.pad(full, 1, 2, 3, 4)
    assert padded.heights.tolist() == [n + 3] and turborle.area(padded).tolist() == [n * n]
    assert turborle.resize(full, (3, 2)) == turborle.encode(np.ones((3, 2), bool))
    half = turborle.from_coco({"size": [n, n], "counts": [n * n // 2, n * n // 2]})  # right half
    t = turborle.transpose(half)  # bottom half
    assert turborle.crop(t, (0, n // 2 - 1, 1, 2)) == turborle.encode(np.array([[0], [1]], bool))


# ---- resize -------------------------------------------------------------------------------------

sizes = st.tuples(st.integers(1, 90), st.integers(1, 90))


def torch_resize(m, size):
    torch = pytest.importorskip("torch")
    x = torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))[None, None]
    return torch.nn.functional.interpolate(x, size=size, mode="nearest-exact")[0, 0].numpy() > 0


def torch_capability_checked():
    torch = pytest.importorskip("torch")
    capability = torch.backends.cpu.get_cpu_capability()
    if capability not in ("AVX2", "AVX512"):
        # torch's generic kernel rounds with a fused multiply-add only in its AVX2 / AVX512
        # builds; turborle reproduces those.
        pytest.skip(f"torch runs its {capability} kernels here")


@given(batches(), sizes)
def test_resize_matches_torch_nearest_exact(case, size):
    torch_capability_checked()
    batch, masks = case
    masks = [m for m in masks if m.size]
    batch = turborle.concat([turborle.encode(m) for m in masks]) if masks else batch[:0]
    same_masks(dense(turborle.resize(batch, size)), [torch_resize(m, size) for m in masks])


@pytest.mark.parametrize("h,w,size", [
    (4, 38, (82, 59)), (4, 38, (82, 46)), (2, 3, (189, 1)), (2, 3, (47, 64)), (2, 3, (47, 128)),
    (1024, 1024, (256, 256)), (256, 256, (1024, 1024)), (300, 500, (1000, 700)),
    (1000, 700, (333, 777)), (7, 1, (1, 7)), (1, 1, (5, 3)),
])
def test_resize_where_torch_rounds_two_ways(h, w, size):
    # Output sizes with h + w <= 128 and above, and scales where (y + 0.5) * h_in / h lands on
    # an integer (torch's two kernels round those differently).
    torch_capability_checked()
    m = noisy_blob(np.random.default_rng(h * w), h, w)
    got = turborle.decode(turborle.resize(turborle.encode(m), size))[0]
    assert np.array_equal(got, torch_resize(m, size))


@given(batches(), st.integers(1, 4), st.integers(1, 4), st.booleans())
def test_resize_by_integer_factors_matches_numpy(case, fy, fx, up):
    # Integer factors need no rounding: upscaling repeats pixels, downscaling by k keeps
    # the pixels at k // 2, k // 2 + k, ...
    batch, masks = case
    masks = [m for m in masks if m.size]
    if up:
        want = [np.repeat(np.repeat(m, fy, 0), fx, 1) for m in masks]
    else:
        masks = [m[: m.shape[0] // fy * fy, : m.shape[1] // fx * fx] for m in masks]
        masks = [m for m in masks if m.size]
        want = [m[fy // 2::fy, fx // 2::fx] for m in masks]
    for m, e in zip(masks, want):
        got = turborle.decode(turborle.resize(turborle.encode(m), e.shape))[0]
        assert np.array_equal(got, e.astype(bool))


def test_resize_errors():
    b = turborle.encode(np.ones((4, 4), bool))
    for size in [(0, 3), (3, 0), (-1, 4)]:
        with pytest.raises(ValueError):
            turborle.resize(b, size)
    with pytest.raises(ValueError, match="exceeds the limit"):
        turborle.resize(b, (2**16, 2**16))  # 2^32 pixels, over the default limit of 2^31
    with pytest.raises(TypeError):
        turborle.resize(b, 5)  # type: ignore[arg-type]
    # an empty mask resizes to background
    assert turborle.resize(turborle.encode(np.zeros((0, 3), bool)), (2, 2)) == turborle.encode(
        np.zeros((2, 2), bool))


def test_resize_follows_the_pixel_limit_setting(monkeypatch):
    b = turborle.encode(np.ones((4, 4), bool))
    monkeypatch.setenv("TURBORLE_MAX_PIXELS", "100")
    with pytest.raises(ValueError, match="exceeds the limit"):
        turborle.resize(b, (11, 10))
    assert turborle.area(turborle.resize(b, (10, 10))).tolist() == [100]


def test_methods_match_functions():
    b = turborle.encode(np.stack([noisy_blob(np.random.default_rng(i), 20, 30) for i in range(3)]))
    assert b.crop((2, 3, 10, 10)) == turborle.crop(b, (2, 3, 10, 10))
    assert b.pad(1, 2, 3, 4) == turborle.pad(b, 1, 2, 3, 4)
    assert b.flip(1) == turborle.flip(b, 1)
    assert b.transpose() == turborle.transpose(b)
    assert b.rot90(3) == turborle.rot90(b, 3)
    assert b.resize((7, 9)) == turborle.resize(b, (7, 9))
