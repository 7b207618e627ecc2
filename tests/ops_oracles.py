"""Dense oracles and inputs for the tests of turborle.ops (test_ops_*.py).

Every expected value comes from scipy.ndimage, OpenCV or numpy on dense masks; nothing here
works on runs.
"""

import numpy as np
from hypothesis import strategies as st
from scipy import ndimage as ndi

from turborle.testing import strategies as rst

# scipy structures for each connectivity: edges only, or edges and corners.
STRUCTURE = {4: ndi.generate_binary_structure(2, 1), 8: np.ones((3, 3), bool)}


def element(shape, size):
    """The structuring element of turborle's morphology as a dense array, from its definition."""
    c = size // 2
    if shape == "square":
        return np.ones((size, size), bool)
    if shape == "cross":
        s = np.zeros((size, size), bool)
        s[c, :] = True
        s[:, c] = True
        return s
    yy, xx = np.mgrid[:size, :size]
    return (yy - c) ** 2 + (xx - c) ** 2 <= c * c


def label(mask, connectivity):
    """scipy.ndimage.label with the structure of a connectivity: (labels, count)."""
    return ndi.label(mask, structure=STRUCTURE[connectivity])


def sam_remove_small_regions(mask, area_thresh, mode):
    """segment-anything's remove_small_regions (segment_anything/utils/amg.py), restated."""
    import cv2

    correct_holes = mode == "holes"
    working_mask = (correct_holes ^ mask.astype(bool)).astype(np.uint8)
    n_labels, regions, stats, _ = cv2.connectedComponentsWithStats(working_mask, connectivity=8)
    sizes = stats[:, -1][1:]  # row 0 is the background label
    small_regions = [i + 1 for i, s in enumerate(sizes) if s < area_thresh]
    if len(small_regions) == 0:
        return mask.astype(bool), False
    fill_labels = [0] + small_regions
    if not correct_holes:
        fill_labels = [i for i in range(n_labels) if i not in fill_labels]
        # If every region is below threshold, keep largest
        if len(fill_labels) == 0:
            fill_labels = [int(np.argmax(sizes)) + 1]
    return np.isin(regions, fill_labels), True


def noisy_blob(rng, h, w, holes=True):
    """A blob with a ragged edge, islands and holes of many sizes (many runs per column)."""
    yy, xx = np.mgrid[:h, :w]
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    r = ((yy - cy) / (0.35 * h)) ** 2 + ((xx - cx) / (0.35 * w)) ** 2
    m = r + rng.normal(0, 0.25, (h, w)) < 1
    if holes:
        m &= rng.random((h, w)) > 0.08
    return m


def batches(max_side=24, max_n=3):
    """(RLEBatch, dense masks): empty, full, 1xN, Nx1, checkerboards, long runs, random,
    rectangles, masks of different sizes in one batch."""
    return rst.rle_batches_and_masks(min_side=0, max_side=max_side, min_n=0, max_n=max_n)


connectivities = st.sampled_from([4, 8])
