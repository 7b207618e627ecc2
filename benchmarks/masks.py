"""Deterministic generators of the benchmark corpora (numpy only, seeded).

Two corpora, every benchmark group runs on both:

``sam``
    SAM-like masks (:func:`sam_like_mask`): one smooth object with a ragged outline.
``coco``
    COCO-style masks (:func:`coco_like_mask`): polygons plus a noisy blob with holes and a
    little speckle; about seven times as many runs.

``python benchmarks/masks.py`` prints the run statistics of both.

SAM-like masks
--------------
A SAM mask is one object: a smooth blob covering a few percent to a third of the image, with
a ragged outline and a few holes. Column-major COCO RLE of such a mask has a few hundred runs
(about two per column the object spans, more where holes and ragged edges cut a column).

Each mask is built inside its own bounding box, so the cost scales with the object, not the
image:

* an ellipse-shaped falloff ``1 - r**2`` gives the overall blob;
* smooth random fields of low and middle frequency (a small grid of Gaussian noise expanded by
  two Gaussian-kernel interpolation matrices, i.e. two small matrix products) bend the outline;
* blocky noise of a few pixels makes the edge ragged;
* a second middle-frequency field, thresholded high, punches holes well inside the object.

Mask ``i`` of size ``(h, w)`` depends only on ``(seed, h, w, i)``: the first 16 masks of a
batch of 64 are the batch of 16.

COCO-style masks
----------------
A COCO annotation is a hand-drawn polygon; real instance masks (and model output on them)
add what polygons lack: fuzzy edges, holes, stray pixels. Each mask is built inside its own
bounding box (10-60% of each image side) from two or three overlapping parts:

* one or two star-shaped polygons of 8-40 vertices (the annotation's outline), filled at the
  pixel centres by an even-odd scanline rule;
* one noisy blob: the SAM-like falloff plus per-pixel noise strong enough to fray its edge
  over several pixels, with holes well inside;
* speckle: about 0.4% of the object's pixel count flipped at random places in the box
  (stray foreground around it, pinholes inside).

At 1024x1024 a mask has about 4,200 column-major runs on average (median ~3,300, from a few
hundred to ~20,000: the frayed edges of large blobs) and covers ~3% of the image.

Object size
-----------
``size`` sets the range of the bounding box side as a fraction of the image side. The
defaults give the large objects above; :data:`SMALL` (2-10%) gives COCO-sized objects of
tens of runs (the COCO-sized workload: many masks of 480x640).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["CORPORA", "SMALL", "box_mask", "coco_like_mask", "corpus_masks", "run_counts",
           "sam_like_mask", "sam_like_masks", "to_rles"]

CORPORA = ("sam", "coco")
"""The two corpora every group runs on (see the module docstring)."""

SMALL = (0.02, 0.10)
"""Bounding-box side range (fraction of the image side) of COCO-sized small objects."""


def _interp_matrix(n_out: int, n_grid: int, width: float) -> npt.NDArray[np.float32]:
    """(n_out, n_grid) rows of normalised Gaussian weights: smooth expansion of a grid."""
    pos = (np.arange(n_out, dtype=np.float32) + 0.5) * (n_grid / max(n_out, 1))
    nodes = np.arange(n_grid, dtype=np.float32) + 0.5
    m = np.exp(-(((pos[:, None] - nodes[None, :]) / width) ** 2))
    m /= m.sum(axis=1, keepdims=True)
    return m.astype(np.float32)


def _smooth_field(rng: np.random.Generator, bh: int, bw: int, grid: int) -> npt.NDArray[np.float32]:
    """A (bh, bw) smooth random field with unit-ish amplitude and ``grid`` bumps per side."""
    g = rng.standard_normal((grid, grid)).astype(np.float32)
    field = _interp_matrix(bh, grid, 0.9) @ g @ _interp_matrix(bw, grid, 0.9).T
    return (field * np.float32(1.0 / (field.std() + 1e-6))).astype(np.float32, copy=False)


def sam_like_mask(h: int, w: int, index: int, seed: int = 0,
                  size: tuple[float, float] = (0.08, 0.55)) -> npt.NDArray[np.uint8]:
    """One (h, w) C-ordered uint8 mask (0/1); depends only on ``(seed, h, w, index, size)``."""
    rng = np.random.default_rng([seed, h, w, index])
    out = np.zeros((h, w), np.uint8)
    if h == 0 or w == 0:
        return out
    # Bounding box: by default 8%..55% of each image side (the object fills about two thirds
    # of it), placed anywhere; objects at the image border are clipped as real ones are.
    bh = max(2, int(h * rng.uniform(*size)))
    bw = max(2, int(w * rng.uniform(*size)))
    y0 = int(rng.integers(-bh // 4, h - bh // 2))
    x0 = int(rng.integers(-bw // 4, w - bw // 2))
    y = (np.arange(bh, dtype=np.float32) + 0.5) / bh * 2 - 1
    x = (np.arange(bw, dtype=np.float32) + 0.5) / bw * 2 - 1
    f = 1 - (y[:, None] ** 2 + x[None, :] ** 2) * np.float32(1 / 0.45)
    f += 0.45 * _smooth_field(rng, bh, bw, 5)
    f += 0.15 * _smooth_field(rng, bh, bw, 14)
    # Ragged edge: blocky noise of `px` pixels, visible only where f is near the threshold.
    px = int(rng.integers(2, 6))
    nh, nw = -(-bh // px), -(-bw // px)
    blocks = rng.random((nh, nw), dtype=np.float32) - np.float32(0.5)
    f += 0.06 * np.repeat(np.repeat(blocks, px, axis=0), px, axis=1)[:bh, :bw]
    blob = f > 0
    # Holes: a few, only well inside the object.
    n_holes_grid = int(rng.integers(6, 12))
    holes = _smooth_field(rng, bh, bw, n_holes_grid) > 1.9
    blob &= ~(holes & (f > 0.35))
    _paste(out, blob, y0, x0)
    return out


def _paste(out: npt.NDArray[np.uint8], box: npt.NDArray[np.bool_], y0: int, x0: int) -> None:
    """Write ``box`` into ``out`` at ``(y0, x0)``, clipped to the image."""
    h, w = out.shape
    bh, bw = box.shape
    ya, yb = max(y0, 0), min(y0 + bh, h)
    xa, xb = max(x0, 0), min(x0 + bw, w)
    if ya < yb and xa < xb:
        out[ya:yb, xa:xb] = box[ya - y0:yb - y0, xa - x0:xb - x0]


def _fill_polygon(xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64],
                  bh: int, bw: int) -> npt.NDArray[np.bool_]:
    """(bh, bw) pixels whose centre is inside the closed polygon (even-odd rule)."""
    xn, yn = np.roll(xs, -1), np.roll(ys, -1)
    centres = np.arange(bh) + 0.5
    lo, hi = np.minimum(ys, yn), np.maximum(ys, yn)
    row, edge = np.nonzero((centres[:, None] >= lo) & (centres[:, None] < hi))
    x = xs[edge] + (centres[row] - ys[edge]) * (xn[edge] - xs[edge]) / (yn[edge] - ys[edge])
    # Pixel j of a row is right of a crossing at x when j + 0.5 > x: toggle from there on.
    start = np.clip(np.ceil(x - 0.5), 0, bw).astype(np.intp)
    toggles = np.zeros((bh, bw + 1), np.uint8)
    np.add.at(toggles, (row, start), 1)
    return (np.cumsum(toggles[:, :bw], axis=1, dtype=np.uint8) & 1).astype(bool)


def coco_like_mask(h: int, w: int, index: int, seed: int = 0,
                   size: tuple[float, float] = (0.1, 0.6)) -> npt.NDArray[np.uint8]:
    """One (h, w) C-ordered uint8 COCO-style mask (0/1): polygons, a noisy blob, speckle.

    Depends only on ``(seed, h, w, index, size)``; see the module docstring.
    """
    rng = np.random.default_rng([seed, h, w, index, 1])  # the 1: not the SAM-like stream
    out = np.zeros((h, w), np.uint8)
    if h == 0 or w == 0:
        return out
    bh = max(4, int(h * rng.uniform(*size)))
    bw = max(4, int(w * rng.uniform(*size)))
    y0 = int(rng.integers(-bh // 4, h - bh // 2))
    x0 = int(rng.integers(-bw // 4, w - bw // 2))
    obj = np.zeros((bh, bw), bool)
    n_parts = int(rng.integers(2, 4))
    for part in range(n_parts):  # each part covers 40-100% of each side of the box
        ph = max(3, int(bh * rng.uniform(0.4, 1.0)))
        pw = max(3, int(bw * rng.uniform(0.4, 1.0)))
        py = int(rng.integers(0, bh - ph + 1))
        px = int(rng.integers(0, bw - pw + 1))
        if part < n_parts - 1:  # a star-shaped polygon around the part's centre
            k = int(rng.integers(8, 40))
            angle = np.sort(rng.uniform(0, 2 * np.pi, k))
            radius = rng.uniform(0.45, 1.0, k)
            piece = _fill_polygon((0.5 + 0.5 * radius * np.cos(angle)) * pw,
                                  (0.5 + 0.5 * radius * np.sin(angle)) * ph, ph, pw)
        else:  # the noisy blob: frayed edge (per-pixel noise), holes well inside
            y = (np.arange(ph, dtype=np.float32) + 0.5) / ph * 2 - 1
            x = (np.arange(pw, dtype=np.float32) + 0.5) / pw * 2 - 1
            f = 1 - (y[:, None] ** 2 + x[None, :] ** 2) * np.float32(1 / 0.45)
            f += 0.45 * _smooth_field(rng, ph, pw, 5) + 0.2 * _smooth_field(rng, ph, pw, 16)
            f += rng.random((ph, pw), dtype=np.float32) - np.float32(0.5)
            piece = f > 0
            holes = _smooth_field(rng, ph, pw, int(rng.integers(8, 16))) > 1.3
            piece &= ~(holes & (f > 0.25))
        obj[py:py + ph, px:px + pw] |= piece
    n_speckle = int(obj.sum() * 0.004 * rng.uniform(0.5, 1.5))
    obj[rng.integers(0, bh, n_speckle), rng.integers(0, bw, n_speckle)] ^= True
    _paste(out, obj, y0, x0)
    return out


def box_mask(h: int, w: int, index: int, seed: int = 0,
             size: tuple[float, float] = (0.5, 0.9)) -> npt.NDArray[np.uint8]:
    """One (h, w) mask holding a single axis-aligned box (by default 50-90% of each side):
    the fewest runs a large mask can have, where a run sweep is cheapest relative to a
    bitmap."""
    rng = np.random.default_rng([seed, h, w, index, 2])
    out = np.zeros((h, w), np.uint8)
    bh, bw = int(h * rng.uniform(*size)), int(w * rng.uniform(*size))
    y0, x0 = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    out[y0:y0 + bh, x0:x0 + bw] = 1
    return out


_MAKERS = {"sam": sam_like_mask, "coco": coco_like_mask, "boxes": box_mask}


def corpus_masks(corpus: str, n: int, h: int, w: int, seed: int = 0, order: str = "C",
                 size: tuple[float, float] | None = None,
                 first: int = 0) -> npt.NDArray[np.uint8]:
    """``n`` masks of one corpus as uint8 0/1.

    Parameters
    ----------
    corpus : {"sam", "coco", "boxes"}
        Which generator (see the module docstring; ``boxes``: :func:`box_mask`).
    n, h, w : int
        Number of masks and image size.
    seed : int
        Base seed; mask ``i`` depends only on ``(corpus, seed, h, w, i, size)``.
    order : {"C", "F"}
        ``"C"``: a C-ordered ``(n, h, w)`` array (the layout a model produces).
        ``"F"``: a Fortran-ordered ``(h, w, n)`` array (pycocotools' layout).
    size : (float, float), optional
        Range of the object's bounding-box side as a fraction of the image side (default:
        the corpus's own, large objects; :data:`SMALL` for COCO-sized ones).
    first : int
        Index of the first mask: masks ``first .. first + n - 1`` (to make a long list in
        pieces).
    """
    if corpus not in _MAKERS:
        raise ValueError(f"corpus must be one of {sorted(_MAKERS)}, got {corpus!r}")
    make = _MAKERS[corpus]
    kw = {} if size is None else {"size": size}
    if order == "C":
        out = np.empty((n, h, w), np.uint8)
        for i in range(n):
            out[i] = make(h, w, first + i, seed, **kw)
        return out
    if order == "F":
        out = np.empty((h, w, n), np.uint8, order="F")
        for i in range(n):
            out[:, :, i] = make(h, w, first + i, seed, **kw)
        return out
    raise ValueError(f"order must be 'C' or 'F', got {order!r}")


def sam_like_masks(n: int, h: int, w: int, seed: int = 0,
                   order: str = "C") -> npt.NDArray[np.uint8]:
    """``n`` SAM-like masks as uint8 0/1 (:func:`corpus_masks` of the ``sam`` corpus)."""
    return corpus_masks("sam", n, h, w, seed, order)


def run_counts(masks_nhw: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Column-major runs per mask of (n, h, w) masks, as in COCO counts (a leading zero
    background run not counted)."""
    n = masks_nhw.shape[0]
    flat = masks_nhw.transpose(0, 2, 1).reshape(n, -1).astype(np.int8)
    return ((np.diff(flat, axis=1) != 0).sum(axis=1) + 1).astype(np.int64)


def to_rles(masks_nhw: npt.NDArray[np.uint8]) -> list[dict]:
    """Compressed COCO dicts of (n, h, w) masks, encoded by pycocotools (the reference)."""
    from pycocotools import mask as coco_mask

    return coco_mask.encode(np.asfortranarray(masks_nhw.transpose(1, 2, 0)))


def _print_statistics() -> None:
    """Timing, fill and runs per mask of both corpora at the benchmarks' sizes."""
    import time

    for corpus in CORPORA:
        for n, h, w, size in [(300, 1024, 1024, None), (16, 1500, 2250, None),
                              (4, 4000, 3000, None), (1000, 480, 640, SMALL)]:
            t = time.perf_counter()
            m = corpus_masks(corpus, n, h, w, size=size)
            dt = time.perf_counter() - t
            runs = run_counts(m)
            print(f"{corpus:4s} {n:4d} x {h}x{w}{' small' if size else ''}: {dt:6.2f} s, "
                  f"fill {m.mean():.3f}, runs/mask mean {runs.mean():.0f}, median "
                  f"{int(np.median(runs))} (min {runs.min()}, max {runs.max()})")


if __name__ == "__main__":  # quick look: timing and runs per mask
    _print_statistics()
