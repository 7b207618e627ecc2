"""Large decode outputs get their memory from turborle's numpy handler, which reuses the
pages of the last output freed: a reused block must never leak the previous decode's pixels
into the next, and the arrays must behave as any numpy array that owns its data.

The oracle is the dense masks the RLEs were made from (encoded by pycocotools).
"""

import sys

import numpy as np
import pytest

import turborle
from turborle import mask as tmask

pycocotools_mask = pytest.importorskip("pycocotools.mask")

LARGE = (512, 512, 24)  # 6 MiB of pixels: over the 4 MiB from which the handler serves
HANDLER = sys.platform.startswith("linux")  # (glibc: the platforms CI builds on)


def _handler_name(arr: np.ndarray) -> str | None:
    while arr.base is not None and isinstance(arr.base, np.ndarray):
        arr = arr.base  # the bool view's base is the array that owns the pixels
    core = getattr(np, "_core", None) or np.core  # numpy 2 / numpy 1.x
    return core.multiarray.get_handler_name(arr)


def _masks(seed: int, shape=LARGE) -> np.ndarray:
    rng = np.random.default_rng(seed)
    h, w, n = shape
    m = np.zeros(shape, dtype=np.uint8, order="F")
    for i in range(n):
        y0, x0 = rng.integers(0, h // 2), rng.integers(0, w // 2)
        m[y0:y0 + rng.integers(1, h // 2), x0:x0 + rng.integers(1, w // 2), i] = 1
        m[:, :, i] ^= (rng.random((h, w)) < 0.01).astype(np.uint8)
    return m


def _rles(masks: np.ndarray) -> list[dict]:
    return pycocotools_mask.encode(np.asfortranarray(masks))


@pytest.mark.parametrize("fill", [0, 1])
def test_reused_block_holds_only_the_new_masks(fill):
    """Decode masks, free the output, decode others into the reused block: every byte of the
    new output is the new masks', whether the old output was all 0 or all 1."""
    h, w, n = LARGE
    first = _rles(np.full(LARGE, fill, dtype=np.uint8, order="F"))
    out = turborle.decode(first)
    assert (out == bool(fill)).all()
    address = out.__array_interface__["data"][0]
    del out
    for seed in range(3):
        dense = _masks(seed)
        got_c = turborle.decode(_rles(dense), order="C")
        np.testing.assert_array_equal(got_c, dense.transpose(2, 0, 1).astype(bool))
        del got_c
        got_f = tmask.decode(_rles(dense))
        np.testing.assert_array_equal(got_f, dense)
        del got_f
    if HANDLER:  # the block was in fact reused (else this test would test nothing new)
        again = turborle.decode(first)
        assert again.__array_interface__["data"][0] == address
        assert _handler_name(again) == "turborle_pixels"


def test_large_outputs_own_their_data_and_resize():
    dense = _masks(7)
    got = tmask.decode(_rles(dense))
    assert got.flags.owndata and got.flags.writeable and got.flags.f_contiguous
    if HANDLER:
        assert _handler_name(got) == "turborle_pixels"
    flat = np.ascontiguousarray(got).reshape(-1)  # (a C copy: default memory)
    assert _handler_name(flat) != "turborle_pixels"
    got_c = turborle.decode(_rles(dense), order="C").view(np.uint8)
    base = got_c.base
    assert base.flags.owndata
    before = base.copy()
    base.resize((base.size + 4096,), refcheck=False)  # numpy's realloc through the handler
    np.testing.assert_array_equal(base[:before.size], before.reshape(-1))
    assert not base[before.size:].any()  # numpy zero-fills what resize adds
    base.resize((1000,), refcheck=False)
    np.testing.assert_array_equal(base, before.reshape(-1)[:1000])


def test_small_outputs_use_numpy_memory():
    dense = _masks(3, (64, 48, 5))
    got = tmask.decode(_rles(dense))
    np.testing.assert_array_equal(got, dense)
    assert _handler_name(got) != "turborle_pixels"


def test_empty_cache_then_decode():
    dense = _masks(11)
    out = turborle.decode(_rles(dense))
    del out
    turborle.empty_cache()
    turborle.empty_cache()  # twice: nothing kept is fine
    np.testing.assert_array_equal(turborle.decode(_rles(dense)), dense.transpose(2, 0, 1) == 1)
    # Count arrays kept for reuse are freed too: parsing after it still gives the right masks.
    big = turborle.from_coco(_rles(dense) * 40)
    del big
    turborle.empty_cache()
    np.testing.assert_array_equal(turborle.area(turborle.from_coco(_rles(dense))),
                                  dense.sum(axis=(0, 1)))


def test_outputs_alive_together_are_distinct():
    """Two outputs alive at once never share a block."""
    a_dense, b_dense = _masks(21), _masks(22)
    a = turborle.decode(_rles(a_dense))
    b = turborle.decode(_rles(b_dense))
    assert not np.shares_memory(a, b)
    np.testing.assert_array_equal(a, a_dense.transpose(2, 0, 1) == 1)
    np.testing.assert_array_equal(b, b_dense.transpose(2, 0, 1) == 1)
