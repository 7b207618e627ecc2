"""Mask, polygon and counts generators shared by the test modules.

Seeded numpy generators (for parametrised loops) and hypothesis strategies built on them.
Everything here produces inputs only; expected values come from pycocotools, the numpy
oracle (``turborle.testing.reference``) or golden vectors.
"""

from itertools import pairwise

import numpy as np
from hypothesis import strategies as st

# Shapes that exercise the edges of the column-major scan.
SHAPES = [
    (0, 5), (5, 0), (0, 0), (1, 1), (1, 9), (9, 1), (2, 2), (3, 4), (7, 5),
    (16, 16), (31, 17), (64, 48), (100, 3), (3, 100), (128, 129),
]

KINDS = ["zeros", "ones", "random", "sparse", "dense", "runs", "blobs", "single"]


def make_masks(rng, h, w, n, kind):
    """Return a Fortran-ordered uint8 array (h, w, n) of binary masks of one kind."""
    size = (h, w, n)
    if kind == "zeros":
        m = np.zeros(size, np.uint8)
    elif kind == "ones":
        m = np.ones(size, np.uint8)
    elif kind == "random":
        m = (rng.random(size) < rng.uniform(0.05, 0.95)).astype(np.uint8)
    elif kind == "sparse":
        m = (rng.random(size) < 0.01).astype(np.uint8)
    elif kind == "dense":
        m = (rng.random(size) < 0.99).astype(np.uint8)
    elif kind == "runs":
        # Long runs in scan order: a few toggles over the flattened column-major mask.
        flat = np.zeros(h * w * n, np.uint8)
        if flat.size:
            cuts = np.sort(rng.integers(0, flat.size, size=rng.integers(1, 6)))
            for a, b in zip(cuts[::2], list(cuts[1::2]) + [flat.size]):
                flat[a:b] = 1
        m = flat.reshape(size, order="F")
    elif kind == "blobs":
        m = np.zeros(size, np.uint8)
        for i in range(n):
            for _ in range(int(rng.integers(1, 4))):
                if h and w:
                    y0, x0 = rng.integers(0, h), rng.integers(0, w)
                    y1, x1 = y0 + rng.integers(1, h + 1), x0 + rng.integers(1, w + 1)
                    m[y0:y1, x0:x1, i] = 1
    elif kind == "single":
        m = np.zeros(size, np.uint8)
        if h and w:
            for i in range(n):
                m[rng.integers(0, h), rng.integers(0, w), i] = 1
    else:
        raise ValueError(kind)
    return np.asfortranarray(m)


@st.composite
def masks(draw, max_side=40, max_n=3, min_n=1, binary=True):
    """Hypothesis strategy: a Fortran uint8 array (h, w, n).

    Small masks are drawn element by element (good shrinking); larger ones come from a
    seeded generator of one of ``KINDS``.
    """
    h = draw(st.integers(0, max_side))
    w = draw(st.integers(0, max_side))
    n = draw(st.integers(min_n, max_n))
    if h * w * n <= 64 and draw(st.booleans()):
        values = st.integers(0, 1) if binary else st.sampled_from([0, 1, 2, 7, 128, 255])
        flat = draw(st.lists(values, min_size=h * w * n, max_size=h * w * n))
        return np.asfortranarray(np.array(flat, np.uint8).reshape((h, w, n), order="F"))
    kind = draw(st.sampled_from(KINDS))
    seed = draw(st.integers(0, 2**32 - 1))
    m = make_masks(np.random.default_rng(seed), h, w, n, kind)
    if not binary:
        m = np.asfortranarray(m * np.uint8(draw(st.sampled_from([1, 2, 200, 255]))))
    return m


@st.composite
def counts_and_size(draw, max_pixels_log2=40, max_runs=12):
    """Hypothesis strategy: ``(counts, h, w)``, canonical counts of a possibly huge mask.

    Sizes go up to ``2**max_pixels_log2`` pixels so counts reach 2**24, 2**29 and 2**32.
    """
    h_log = draw(st.integers(0, max_pixels_log2 // 2))
    w_log = draw(st.integers(0, max_pixels_log2 // 2))
    h = draw(st.integers(2**h_log // 2, 2**h_log))
    w = draw(st.integers(2**w_log // 2, 2**w_log))
    total = h * w
    if total == 0:
        return [0], h, w
    cuts = draw(st.lists(st.integers(1, max(1, total - 1)), max_size=max_runs, unique=True))
    cuts = sorted(c for c in cuts if 0 < c < total)
    starts_fg = draw(st.booleans())
    edges = [0, *cuts, total]
    runs = [b - a for a, b in pairwise(edges)]
    counts = [0, *runs] if starts_fg else runs
    return counts, h, w


def random_polygon(rng, h, w, kind):
    """Return a flat polygon ``[x0, y0, x1, y1, ...]`` (floats) of one kind."""
    k = int(rng.integers(3, 9))
    if kind == "inside":
        xy = np.stack([rng.uniform(0, w, k), rng.uniform(0, h, k)], 1)
    elif kind == "outside":
        xy = np.stack([rng.uniform(-2 * w - 5, 3 * w + 5, k),
                       rng.uniform(-2 * h - 5, 3 * h + 5, k)], 1)
    elif kind == "negative":
        xy = np.stack([rng.uniform(-w - 3, w / 2, k), rng.uniform(-h - 3, h / 2, k)], 1)
    elif kind == "integer":
        xy = np.stack([rng.integers(-2, w + 3, k), rng.integers(-2, h + 3, k)], 1)
    elif kind == "halves":
        xy = np.stack([rng.integers(-4, 2 * w + 6, k) / 2, rng.integers(-4, 2 * h + 6, k) / 2], 1)
    elif kind == "tenths":
        # Multiples of 0.1 hit the (int)(5*x + 0.5) rounding boundaries.
        xy = np.stack([rng.integers(-10, 10 * w + 10, k) / 10,
                       rng.integers(-10, 10 * h + 10, k) / 10], 1)
    elif kind == "repeated":
        xy = np.stack([rng.uniform(0, w, k), rng.uniform(0, h, k)], 1)
        xy = np.repeat(xy, rng.integers(1, 4, k), axis=0)
    elif kind == "collinear":
        t = np.sort(rng.uniform(0, 1, k))
        x0, y0, x1, y1 = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0, h)
        xy = np.stack([x0 + t * (x1 - x0), y0 + t * (y1 - y0)], 1)
    elif kind == "triangle":
        xy = np.stack([rng.uniform(-1, w + 1, 3), rng.uniform(-1, h + 1, 3)], 1)
    elif kind == "thin":
        x = rng.uniform(0, w)
        xy = np.array([[x, 0.0], [x + rng.uniform(0, 0.4), h], [x + 0.1, h / 2]])
    else:
        raise ValueError(kind)
    return [float(v) for v in xy.ravel()]


POLYGON_KINDS = ["inside", "outside", "negative", "integer", "halves", "tenths",
                 "repeated", "collinear", "triangle", "thin"]


@st.composite
def polygons(draw, max_side=40):
    """Hypothesis strategy: ``(xy, h, w)`` with a polygon of one of ``POLYGON_KINDS``."""
    h = draw(st.integers(1, max_side))
    w = draw(st.integers(1, max_side))
    kind = draw(st.sampled_from(POLYGON_KINDS))
    seed = draw(st.integers(0, 2**32 - 1))
    return random_polygon(np.random.default_rng(seed), h, w, kind), h, w


@st.composite
def boxes(draw, max_side=40, n_max=5):
    """Hypothesis strategy: ``(n, 4)`` float64 xywh boxes with non-negative sizes."""
    n = draw(st.integers(1, n_max))
    coord = st.one_of(
        st.integers(-5, max_side + 5).map(float),
        st.floats(-5, max_side + 5, allow_nan=False, width=64),
        st.integers(-10, 10 * max_side).map(lambda v: v / 10),
    )
    size = st.one_of(st.integers(0, max_side).map(float),
                     st.floats(0, max_side, allow_nan=False, width=64))
    rows = draw(st.lists(st.tuples(coord, coord, size, size), min_size=n, max_size=n))
    return np.array(rows, dtype=np.float64).reshape(n, 4)
