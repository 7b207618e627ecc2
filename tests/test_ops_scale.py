"""The operations work on runs: a 50000 x 50000 mask (2.5e9 pixels, 2.5 GB decoded) of a few
runs per column goes through every operation in a fresh process whose peak memory grows far
less than the size of the decoded mask."""

import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import json, resource
    import numpy as np
    import turborle

    n = 50_000
    y0, y1, x0, x1 = 20_000, 21_000, 30_000, 32_000  # a 1000 x 2000 hole
    counts = [0, x0 * n + y0]
    for x in range(x0, x1):
        counts += [y1 - y0, n - (y1 - y0)]
    counts[-1] = n * n - sum(counts[:-1])  # foreground to the end
    mask = turborle.from_coco({"size": [n, n], "counts": counts})
    # (a child of a large process may start with its parent's peak: count what is added)
    start_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    hole = (y1 - y0) * (x1 - x0)
    out = {}
    out["area"] = int(turborle.area(mask)[0])
    parts, owner = turborle.connected_components(mask)
    out["components"] = len(parts)
    out["largest"] = turborle.largest_component(mask) == mask
    out["filled"] = int(turborle.area(turborle.fill_holes(mask))[0])
    out["small_hole_kept"] = int(turborle.area(turborle.fill_holes(mask, hole - 1))[0])
    fixed, changed = turborle.remove_small_regions(mask, hole + 1, "holes")
    out["sam"] = [int(turborle.area(fixed)[0]), bool(changed[0])]
    out["eroded"] = int(turborle.area(turborle.erode(mask, 7))[0])
    out["dilated"] = int(turborle.area(turborle.dilate(mask, 7, "disk"))[0])
    out["closed"] = int(turborle.area(turborle.closing(mask, 5, "cross"))[0])
    out["transposed"] = turborle.transpose(turborle.transpose(mask)) == mask
    out["rot90"] = turborle.rot90(mask, 4) == mask and turborle.rot90(turborle.rot90(mask), -1) == mask
    small = turborle.resize(mask, (500, 500))
    out["resized"] = int(turborle.area(small)[0])
    out["cropped"] = int(turborle.area(turborle.crop(mask, (x0 - 10, y0 - 10, 100, 100)))[0])
    out["padded"] = int(turborle.area(turborle.pad(mask, 7, 7, 7, 7))[0])
    rings = turborle.to_polygons(mask)
    out["rings"] = [r.tolist() for r in rings[0]]
    out["round_trip"] = turborle.from_polygons(rings, n, n) == mask
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - start_mb
    print(json.dumps(out))
""")


@pytest.mark.rss
def test_huge_masks_stay_small_in_memory():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            timeout=300, check=True)
    out = json.loads(result.stdout)
    n, hole = 50_000, 1000 * 2000
    assert out["area"] == n * n - hole
    assert out["components"] == 1 and out["largest"]
    assert out["filled"] == n * n
    assert out["small_hole_kept"] == n * n - hole
    assert out["sam"] == [n * n, True]
    assert out["eroded"] == (n - 6) ** 2 - (1000 + 6) * (2000 + 6)
    assert out["dilated"] == n * n - (1000 - 6) * (2000 - 6)  # the hole shrinks by 3
    # closing: the border loses 2 pixels on each side; the hole comes back without its corners
    assert out["closed"] == (n - 4) ** 2 - (1000 * 2000 - 16)
    assert out["transposed"] and out["rot90"]
    assert out["resized"] == 500 * 500 - 10 * 20
    assert out["cropped"] == 100 * 100 - 90 * 90
    assert out["padded"] == n * n - hole
    assert out["rings"] == [[[0, 0], [n, 0], [n, n], [0, n]],
                            [[30_000, 20_000], [30_000, 21_000], [32_000, 21_000], [32_000, 20_000]]]
    assert out["round_trip"]
    assert out["peak_mb"] < 300, out["peak_mb"]  # decoded, the mask alone is 2400 MB
