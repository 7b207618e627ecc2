"""Decodes whose output is far larger than the cache write whole cache lines with
non-temporal stores (16 MiB of pixels and more on x86 with AVX2), the partial lines at the
ends of the output with plain ones. These tests reach that path with every alignment the
ends can have and compare every byte with pycocotools' decoding (the oracle), in both
orders, into fresh and preallocated arrays, on one and two threads.
"""

import warnings

import numpy as np
import pytest

import turborle

pycocotools_mask = pytest.importorskip("pycocotools.mask")

STREAMED = 16 << 20  # the output size from which decode streams (decode.cpp)


def _masks(h: int, w: int, n: int, seed: int) -> np.ndarray:
    """(h, w, n) Fortran uint8: boxes, speckle, full and empty masks, stripes."""
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w, n), dtype=np.uint8, order="F")
    for i in range(n):
        kind = i % 5
        if kind == 0:
            m[:, :, i] = 1
        elif kind == 1:
            pass  # empty
        elif kind == 2:  # one box: long runs, whole lines of one value
            y0, x0 = rng.integers(0, h // 2), rng.integers(0, w // 2)
            m[y0:y0 + rng.integers(1, h // 2), x0:x0 + rng.integers(1, w // 2), i] = 1
        elif kind == 3:  # speckle: runs of a few pixels, many per line
            m[:, :, i] = rng.random((h, w)) < 0.3
        else:  # vertical and horizontal stripes of odd widths
            m[:, :, i] = ((np.arange(w)[None, :] // 3) % 2) ^ ((np.arange(h)[:, None] // 7) % 2)
    return m


def _rles(dense: np.ndarray) -> list[dict]:
    return pycocotools_mask.encode(np.asfortranarray(dense))


def _oracle(rles: list[dict]) -> np.ndarray:
    """pycocotools' decoding as (n, h, w) bool (its Masks.__array__ warns under numpy 2)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pycocotools_mask.decode(rles).transpose(2, 0, 1).astype(bool)


@pytest.mark.parametrize("shape", [(1021, 1031, 17), (640, 480, 55), (2, 4_200_007, 2)])
@pytest.mark.parametrize("threads", [1, 2])
def test_fresh_outputs_match_pycocotools(shape, threads):
    h, w, n = shape
    assert h * w * n >= STREAMED
    dense = _masks(h, w, n, seed=h + n)
    rles = _rles(dense)
    np.testing.assert_array_equal(turborle.decode(rles, order="C", threads=threads),
                                  _oracle(rles))
    np.testing.assert_array_equal(turborle.decode(rles, order="F", threads=threads),
                                  _oracle(rles))


@pytest.mark.parametrize("offset", [0, 1, 16, 31, 33, 63])
@pytest.mark.parametrize("order", ["C", "F"])
def test_preallocated_outputs_at_every_alignment(offset, order):
    """out= a view into a buffer at `offset` bytes past a 64-byte boundary: the first and
    last lines are partial, and the bytes around the output are left as they were."""
    h, w, n = 1000, 1003, 17
    assert h * w * n >= STREAMED
    dense = _masks(h, w, n, seed=offset)
    rles = _rles(dense)
    size = n * h * w
    raw = np.full(size + 256, 7, dtype=np.uint8)
    start = (-raw.ctypes.data) % 64 + offset
    flat = raw[start:start + size]
    if order == "C":
        out = flat.reshape(n, h, w)
        want = _oracle(rles)
    else:
        out = flat.reshape(n, w, h).transpose(0, 2, 1)
        want = _oracle(rles)
    got = turborle.decode(rles, order=order, out=out)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(out.astype(bool), want)
    assert (raw[:start] == 7).all() and (raw[start + size:] == 7).all()


def test_one_mask_larger_than_the_threshold():
    """A single 4099x4097 mask (16.8 MB) with runs crossing every line boundary."""
    h, w = 4099, 4097
    dense = np.zeros((h, w, 1), dtype=np.uint8, order="F")
    dense[100:4000, 7:4090, 0] = 1
    dense[::3, ::5, 0] ^= 1
    rles = _rles(dense)
    np.testing.assert_array_equal(turborle.decode(rles, order="C")[0], dense[:, :, 0].astype(bool))
    np.testing.assert_array_equal(turborle.decode(rles, order="F")[0], dense[:, :, 0].astype(bool))
