"""Deterministic generator of SAM-like binary masks for the benchmarks (numpy only).

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
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["sam_like_mask", "sam_like_masks", "to_rles"]


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


def sam_like_mask(h: int, w: int, index: int, seed: int = 0) -> npt.NDArray[np.uint8]:
    """One (h, w) C-ordered uint8 mask (0/1); depends only on ``(seed, h, w, index)``."""
    rng = np.random.default_rng([seed, h, w, index])
    out = np.zeros((h, w), np.uint8)
    if h == 0 or w == 0:
        return out
    # Bounding box: 8%..55% of each image side (the object fills about two thirds of it),
    # placed anywhere; objects at the image border are clipped as real ones are.
    bh = max(2, int(h * rng.uniform(0.08, 0.55)))
    bw = max(2, int(w * rng.uniform(0.08, 0.55)))
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
    ya, yb = max(y0, 0), min(y0 + bh, h)
    xa, xb = max(x0, 0), min(x0 + bw, w)
    if ya < yb and xa < xb:
        out[ya:yb, xa:xb] = blob[ya - y0:yb - y0, xa - x0:xb - x0]
    return out


def sam_like_masks(n: int, h: int, w: int, seed: int = 0,
                   order: str = "C") -> npt.NDArray[np.uint8]:
    """``n`` SAM-like masks as uint8 0/1.

    Parameters
    ----------
    n, h, w : int
        Number of masks and image size.
    seed : int
        Base seed; mask ``i`` depends only on ``(seed, h, w, i)``.
    order : {"C", "F"}
        ``"C"``: a C-ordered ``(n, h, w)`` array (the layout a model produces).
        ``"F"``: a Fortran-ordered ``(h, w, n)`` array (pycocotools' layout).
    """
    if order == "C":
        out = np.empty((n, h, w), np.uint8)
        for i in range(n):
            out[i] = sam_like_mask(h, w, i, seed)
        return out
    if order == "F":
        out = np.empty((h, w, n), np.uint8, order="F")
        for i in range(n):
            out[:, :, i] = sam_like_mask(h, w, i, seed)
        return out
    raise ValueError(f"order must be 'C' or 'F', got {order!r}")


def to_rles(masks_nhw: npt.NDArray[np.uint8]) -> list[dict]:
    """Compressed COCO dicts of (n, h, w) masks, encoded by pycocotools (the reference)."""
    from pycocotools import mask as coco_mask

    return coco_mask.encode(np.asfortranarray(masks_nhw.transpose(1, 2, 0)))


if __name__ == "__main__":  # quick look: timing and runs per mask
    import time

    for n, h, w in [(64, 1024, 1024), (16, 1500, 2250), (4, 4000, 3000), (300, 480, 640)]:
        t = time.perf_counter()
        m = sam_like_masks(n, h, w)
        dt = time.perf_counter() - t
        flat = m.transpose(0, 2, 1).reshape(n, -1)  # column-major scan per mask
        runs = (np.diff(flat.astype(np.int8), axis=1) != 0).sum(axis=1) + 1
        print(f"{n:4d} x {h}x{w}: {dt:6.2f} s, fill {m.mean():.3f}, "
              f"runs/mask median {int(np.median(runs))} (min {runs.min()}, max {runs.max()})")
