"""fal / Kaggle text and dialect recognition, against the numpy reference."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import turborle
from turborle.testing import generators as gen
from turborle.testing import reference as ref
from turborle.testing import strategies as rst


@settings(deadline=None)
@given(rst.masks(max_side=9), st.sampled_from(["C", "F"]), st.sampled_from([0, 1]))
def test_fal_round_trip_against_reference(m, order, base):
    h, w = m.shape
    text = ref.mask_to_fal(m, start_base=base, order=order)
    batch = turborle.from_fal(text, h, w, start_base=base, order=order)
    assert batch.counts.tolist() == ref.encode_counts(m)
    assert (batch.heights.tolist(), batch.widths.tolist()) == ([h], [w])
    assert batch.to_fal(start_base=base, order=order) == [text]
    assert np.array_equal(ref.fal_to_mask(text, h, w, start_base=base, order=order), m)


@pytest.mark.parametrize("kind", gen.MASK_KINDS + ("stripes", "checkerboard", "blob"))
@pytest.mark.parametrize(("h", "w"), [(2, 300), (300, 2), (97, 131), (256, 256), (5, 4100),
                                    (3, 65536), (3, 70001)])
def test_row_major_fal_of_larger_masks_against_numpy(kind, h, w):
    # Row-major text goes to column-major counts without a dense mask (the rows' run ends
    # compared as bits, or merged: smooth masks, masks wider than 65536): masks whose runs
    # span rows, fill rows, touch every border, or change at every pixel, checked against
    # numpy's counts of the same pixels.
    rng = np.random.default_rng(h * 1000 + w + len(kind))
    if kind == "stripes":  # whole rows on and off: runs that span several rows
        m = (np.arange(h)[:, None] // 3 % 2 == 0) & np.ones((1, w), bool)
    elif kind == "checkerboard":  # every pixel is a change, in both directions
        m = (np.arange(h)[:, None] + np.arange(w)[None, :]) % 2 == 0
    elif kind == "blob":  # a filled disc with a hole, cut by the borders
        yy, xx = np.mgrid[:h, :w]
        r2 = (yy - h * 0.4) ** 2 + (xx - w * 0.6) ** 2
        m = (r2 < (0.5 * max(h, w)) ** 2) & (r2 > (0.1 * min(h, w)) ** 2)
    else:
        m = gen.random_mask(rng, h, w, kind)
    m = m.astype(np.uint8)
    for base in (0, 1):
        text = ref.mask_to_fal(m, start_base=base, order="C")
        batch = turborle.from_fal(text, h, w, start_base=base)
        assert batch.counts.tolist() == ref.encode_counts(m)


def test_row_major_fal_of_very_wide_masks_hand_computed():
    # 2 x 2^30 pixels, runs at both ends of row 0 (1-based starts): column-major, pixel
    # (x, 0) is at 2x, so the runs' pixels sit at 0, 2, .., 8 and 2^31 - 10, .., 2^31 - 4.
    b = turborle.from_fal(["1 5 1073741820 4"], 2, 2**30)
    assert b.counts.tolist() == [0] + [1] * 9 + [2**31 - 19] + [1] * 7 + [3]


@pytest.mark.rss
def test_row_major_fal_of_a_very_wide_mask_needs_no_memory_per_column():
    # 2 x 2^30 pixels with one run of five: the counts are known by hand (column-major, the
    # run's pixels are at x * 2 for x = 0..4). The conversion used to keep a counter per
    # column (8 GiB here); the child process reports its own peak memory, which must stay
    # far below that.
    pytest.importorskip("resource")  # (POSIX)
    script = (
        "import resource, turborle\n"
        "b = turborle.from_fal(['1 5'], 2, 2**30)\n"
        "assert b.counts.tolist() == [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2 * 2**30 - 9], b.counts\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], check=True, timeout=300,
                          capture_output=True, text=True)
    peak_kib = int(done.stdout.split()[-1])
    assert peak_kib < 1024 * 1024, f"peak {peak_kib} KiB"


def test_same_mask_in_three_dialects_decodes_the_same():
    m = gen.random_mask(np.random.default_rng(5), 37, 53, "random", density=0.4)
    compressed = {"size": [37, 53], "counts": ref.counts_to_string(ref.encode_counts(m))}
    forms = {
        "fal": turborle.from_fal(ref.mask_to_fal(m), 37, 53),
        "coco": turborle.from_coco({"size": [37, 53], "counts": compressed["counts"].decode()}),
        "coco_uncompressed": turborle.from_coco({"size": [37, 53], "counts": ref.encode_counts(m)}),
    }
    for name, batch in forms.items():
        assert np.array_equal(turborle.decode(batch)[0], m), name
    # and from_any tells them apart
    assert turborle.from_any(ref.mask_to_fal(m), 37, 53)[1] == "fal"
    assert turborle.from_any(compressed)[1] == "coco"
    assert turborle.from_any({"size": [37, 53], "counts": ref.encode_counts(m)})[1] == "coco_uncompressed"


def test_fal_accepts_a_list_touching_runs_and_any_whitespace():
    batch = turborle.from_fal(["1 2", "1 1 2 1", "1\t1\n2  1 ", ""], 2, 2)
    # Touching runs join; whitespace is whitespace: the first row, three times, then nothing.
    top_row = ref.encode_counts(np.array([[1, 1], [0, 0]]))
    assert batch.counts.tolist() == top_row * 3 + [4]
    n = len(top_row)
    assert batch.offsets.tolist() == [0, n, 2 * n, 3 * n, 3 * n + 1]
    assert turborle.area(batch).tolist() == [2, 2, 2, 0]


@pytest.mark.parametrize(
    "text, match",
    [
        ("1 2 3", "odd number of tokens"),
        ("0 2", "looks 0-based"),
        ("1 0", "length 0"),
        ("3 1 1 1", "ascending"),
        ("1 2 2 1", "ascending"),
        ("1 5", "past the 4 pixels"),
        ("a 1", "not a digit"),
        ("1 -1", "not a digit"),
        ("+1 1", "not a digit"),
        ("1 1.0", "not a digit"),
        ("1 99999999999999999999", "too large"),
        ("1 2\x00", "not a digit"),
    ],
)
def test_fal_rejects_malformed_text_naming_the_problem(text, match):
    with pytest.raises(ValueError, match=match):
        turborle.from_fal(["1 1", text], 2, 2)
    with pytest.raises(ValueError, match="mask 1"):
        turborle.from_fal(["1 1", text], 2, 2)


def test_fal_base_zero_and_bad_arguments():
    top_row = ref.encode_counts(np.array([[1, 1], [0, 0]]))
    assert turborle.from_fal("0 2", 2, 2, start_base=0).counts.tolist() == top_row
    for bad in [dict(start_base=2), dict(order="X")]:
        with pytest.raises(ValueError):
            turborle.from_fal("1 2", 2, 2, **bad)
    with pytest.raises(ValueError, match="non-ASCII"):
        turborle.from_fal("1 2\u00a0", 2, 2)
    with pytest.raises(TypeError):
        turborle.from_fal([b"1 2", 3], 2, 2)
    with pytest.raises(ValueError):
        turborle.from_fal("1 2", -2, 2)


def test_from_any_fal_response_and_refusals():
    batch, dialect = turborle.from_any({"rle": ["1 2", ""], "scores": [0.5, 0.1]}, 2, 2)
    assert dialect == "fal" and turborle.area(batch).tolist() == [2, 0]
    with pytest.raises(ValueError, match="height= and width="):
        turborle.from_any("1 2")
    with pytest.raises(ValueError, match="ambiguous"):
        turborle.from_any("12", 2, 2)
    with pytest.raises(ValueError, match="no size"):
        turborle.from_any("0Xo0", 2, 2)
    with pytest.raises(ValueError, match="mixes"):
        turborle.from_any([{"size": [2, 2], "counts": "4"}, "1 2"], 2, 2)
    with pytest.raises(TypeError):
        turborle.from_any(3.5)
    with pytest.raises(ValueError, match="'size' and 'counts'"):
        turborle.from_any({"counts": "4"})
