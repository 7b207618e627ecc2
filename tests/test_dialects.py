"""fal / Kaggle text and dialect recognition, against the numpy reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import turborle
from turborle import mask as tmask
from turborle.testing import reference as ref


@st.composite
def masks(draw):
    h, w = draw(st.integers(0, 9)), draw(st.integers(0, 9))
    seed = draw(st.integers(0, 2**32 - 1))
    density = draw(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]))
    return np.random.default_rng(seed).random((h, w)) < density


@settings(deadline=None)
@given(masks(), st.sampled_from(["C", "F"]), st.sampled_from([0, 1]))
def test_fal_round_trip_against_reference(m, order, base):
    h, w = m.shape
    text = ref.mask_to_fal(m, start_base=base, order=order)
    batch = turborle.from_fal(text, h, w, start_base=base, order=order)
    assert batch == turborle.encode(m)
    assert batch.to_fal(start_base=base, order=order) == [text]
    assert np.array_equal(ref.fal_to_mask(text, h, w, start_base=base, order=order), m)


def test_same_mask_in_three_dialects_decodes_the_same():
    rng = np.random.default_rng(5)
    m = rng.random((37, 53)) < 0.4
    compressed = tmask.encode(np.asfortranarray(m.astype(np.uint8)))
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
    assert batch[1] == batch[2] == batch[0]  # touching runs join; whitespace is whitespace
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
    assert turborle.from_fal("0 2", 2, 2, start_base=0) == turborle.from_fal("1 2", 2, 2)
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
