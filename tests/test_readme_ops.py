"""The README's mask-operation example, run as written, against the same pipeline on dense
masks (segment-anything's remove_small_regions on OpenCV, scipy.ndimage, numpy slicing and a
nearest-exact index map), so the example cannot rot unnoticed."""

import re
from pathlib import Path

import numpy as np
from ops_oracles import element, label, sam_remove_small_regions
from scipy import ndimage as ndi

import turborle

README = Path(__file__).resolve().parents[1] / "README.md"


def example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    found = [b for b in blocks if "turborle.remove_small_regions" in b]
    assert len(found) == 1, "the README's mask-operation example is missing"
    return found[0]


def logits(n=3, h=150, w=170, seed=0):
    """Smooth blobs with small holes and specks, as a thresholded model output has."""
    rng = np.random.default_rng(seed)
    field = ndi.gaussian_filter(rng.standard_normal((n, h, w)), (0, 9, 9))
    field /= field.std()
    specks = rng.random((n, h, w)) < 0.003
    return np.where(specks, -field, field)


def nearest_exact(m, size):
    """torch's nearest-exact: row i reads floor((i + 0.5) * in / out); the sizes here make
    in / out a power-of-two fraction, exact in any float arithmetic."""
    rows = np.minimum(((np.arange(size[0]) + 0.5) * m.shape[0] / size[0]).astype(int), m.shape[0] - 1)
    cols = np.minimum(((np.arange(size[1]) + 0.5) * m.shape[1] / size[1]).astype(int), m.shape[1] - 1)
    return m[np.ix_(rows, cols)]


def test_readme_mask_operation_example():
    x, y, w, h = 30, 20, 100, 64  # 100 / 256 and 64 / 256: exact scale factors
    scope = {"logits": logits(), "x": x, "y": y, "w": w, "h": h}
    exec(compile(example(), str(README), "exec"), scope)  # (its own assert included)

    got = turborle.decode(scope["masks"])
    assert got.shape == (3, 256, 256)
    for i, m in enumerate(scope["logits"] > 0):
        m, _ = sam_remove_small_regions(m, 100, "holes")
        m, _ = sam_remove_small_regions(m, 100, "islands")
        m = ndi.binary_fill_holes(m)
        m = ndi.binary_closing(m, structure=element("disk", 5), border_value=0)
        want = nearest_exact(m[y:y + h, x:x + w], (256, 256))
        assert np.array_equal(got[i], want), i

    # one mask per 8-connected component of each result, as scipy labels them
    parts, owner = scope["parts"], scope["owner"]
    dense_parts = turborle.decode(parts)
    for i in range(len(got)):
        labels, count = label(got[i], 8)
        mine = dense_parts[owner == i]
        assert len(mine) == count
        for k in range(count):
            assert np.array_equal(mine[k], labels == k + 1)
