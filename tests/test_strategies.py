"""The public generators and hypothesis strategies of ``turborle.testing`` produce what they
promise.

Valid examples are checked against the numpy oracle (``turborle.testing.reference``, or
``turborle.testing.runs`` for masks too large to decode), not against turborle alone, then
fed to turborle, which must accept them and round-trip them. Every malformed example must be
rejected by the oracle and by turborle with a ValueError or TypeError: never accepted, never
a crash.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import turborle
from turborle import mask as tmask
from turborle.testing import generators as gen
from turborle.testing import reference as ref
from turborle.testing import runs as ref_runs
from turborle.testing import strategies as rst

# Enough examples to see every kind of mask, but quick in the default ("dev") profile.
MANY = max(50, settings().max_examples)


def coco_string(counts: list[int]) -> str:
    return ref.counts_to_string(counts).decode("ascii")


def reference_counts(obj: dict[str, Any]) -> tuple[list[int], int, int]:
    """The oracle's reading of a COCO dict; ValueError / TypeError when it is invalid."""
    size = obj["size"]
    if not isinstance(size, (list, tuple)) or len(size) != 2:
        raise ValueError(f"size must be [h, w], got {size!r}")
    for side in size:
        if isinstance(side, bool) or not isinstance(side, (int, np.integer)):
            raise TypeError(f"a side must be an int, got {side!r}")
    h, w = int(size[0]), int(size[1])
    if h < 0 or w < 0 or h * w >= 2**64:
        raise ValueError(f"bad size {h}x{w}")
    counts = obj["counts"]
    if isinstance(counts, (str, bytes)):
        if isinstance(counts, str):
            counts = counts.encode("ascii")  # UnicodeEncodeError is a ValueError
        parsed = ref.string_to_counts(counts)
    elif isinstance(counts, list):
        parsed = [int(c) for c in counts]
    else:
        raise TypeError(f"counts must be a string or a list, got {type(counts).__name__}")
    if any(c < 0 for c in parsed):
        raise ValueError("negative count")
    if sum(parsed) != h * w:
        raise ValueError(f"counts sum to {sum(parsed)}, not h*w = {h * w}")
    return parsed, h, w


def assert_batch_is(batch: turborle.RLEBatch, dense: list[npt.NDArray[np.uint8]]) -> None:
    """``batch`` holds exactly ``dense``: size, COCO string, area, bbox and decode."""
    assert len(batch) == len(dense)
    coco = batch.to_coco()
    for i, m in enumerate(dense):
        h, w = m.shape
        counts = ref.encode_counts(m)
        assert coco[i] == {"size": [h, w], "counts": coco_string(counts)}
        assert int(turborle.area(batch[i])[0]) == ref.area(counts)
        np.testing.assert_array_equal(turborle.bbox(batch[i])[0], ref.bbox(counts, h, w))
        np.testing.assert_array_equal(turborle.decode(batch[i])[0], m != 0)


# ---- masks -------------------------------------------------------------------------------------


@settings(max_examples=MANY)
@given(st.data())
def test_masks_respect_their_parameters(data: st.DataObject) -> None:
    lo = data.draw(st.integers(0, 5))
    hi = data.draw(st.integers(lo, 12))
    order: rst.Order = data.draw(st.sampled_from(["any", "C", "F"]))
    dtype: rst.DType = data.draw(st.sampled_from(["any", bool, np.uint8]))
    batch = data.draw(st.booleans())
    m = data.draw(rst.masks(lo, hi, 1, 3, order=order, dtype=dtype, batch=batch))
    assert m.ndim == (3 if batch else 2)
    if batch:
        assert 1 <= m.shape[0] <= 3
    assert all(lo <= side <= hi for side in m.shape[-2:])
    assert m.dtype in (np.bool_, np.uint8)
    if dtype is bool:
        assert m.dtype == np.bool_
    if dtype is np.uint8:
        assert m.dtype == np.uint8
    assert set(np.unique(m).tolist()) <= {0, 1}
    if order == "C":
        assert m.flags.c_contiguous
    if order == "F":
        per_mask = m if m.ndim == 2 else m.transpose(0, 2, 1)
        assert (per_mask.flags.f_contiguous if m.ndim == 2
                else per_mask.flags.c_contiguous)


@settings(max_examples=MANY)
@given(rst.masks(batch=True, max_side=24))
def test_encode_of_any_layout_matches_reference(m: npt.NDArray[Any]) -> None:
    dense = [np.ascontiguousarray(x, dtype=np.uint8) for x in m]
    assert_batch_is(turborle.encode(m), dense)
    if m.shape[1] * m.shape[2]:
        np.testing.assert_array_equal(turborle.decode(turborle.encode(m), order="F"), m != 0)


@pytest.mark.parametrize(("what", "condition"), [
    ("empty mask with pixels", lambda m: m.size > 0 and not m.any()),
    ("full mask", lambda m: m.size > 1 and m.all()),
    ("zero height", lambda m: m.shape[0] == 0 and m.shape[1] > 0),
    ("zero width", lambda m: m.shape[1] == 0 and m.shape[0] > 0),
    ("Fortran order", lambda m: m.size > 4 and m.flags.f_contiguous and not m.flags.c_contiguous),
    ("non-contiguous", lambda m: m.size > 4 and not (m.flags.c_contiguous or m.flags.f_contiguous)),
    ("negative strides", lambda m: m.size > 4 and any(s < 0 for s in m.strides)),
    ("run across rows", lambda m: m.shape[0] > 2 and m.shape[1] > 2 and
     ref.mask_to_fal(m).count(" ") == 1 and int(ref.mask_to_fal(m).split()[1]) > m.shape[1]),
    ("a pixel per run", lambda m: m.size >= 16 and
     len(ref.encode_counts(m)) >= m.size),
])
def test_masks_cover_the_edge_cases(what: str, condition: Any) -> None:
    find(rst.masks(max_side=8), condition, settings=settings(max_examples=2000, database=None))


def test_masks_density() -> None:
    assert not find(rst.masks(min_side=4, max_side=4, density=0.0), lambda m: True).any()
    assert find(rst.masks(min_side=4, max_side=4, density=1.0), lambda m: True).all()


@settings(max_examples=MANY)
@given(st.data())
def test_coco_masks_are_in_pycocotools_layout(data: st.DataObject) -> None:
    foreground = data.draw(st.sampled_from([(1,), (1, 2, 255), (7,)]))
    m = data.draw(rst.coco_masks(max_side=12, min_n=1, max_n=3, foreground=foreground))
    assert m.ndim == 3 and 1 <= m.shape[2] <= 3 and all(side <= 12 for side in m.shape[:2])
    assert m.dtype == np.uint8 and m.flags.f_contiguous
    assert set(np.unique(m).tolist()) <= {0, *foreground}


def test_masks_with_several_foreground_values_are_non_binary() -> None:
    m = find(rst.masks(dtype=np.uint8, foreground=(1, 2, 200)),
             lambda m: len(set(np.unique(m).tolist()) - {0}) > 1)
    assert m.dtype == np.uint8


def test_bad_strategy_arguments_are_refused() -> None:
    from hypothesis.errors import InvalidArgument

    for make in (lambda: rst.masks(min_side=3, max_side=2), lambda: rst.masks(min_side=-1),
                 lambda: rst.masks(density=1.5), lambda: rst.polygons(min_vertices=2),
                 lambda: rst.malformed_coco_strings(reasons=["nope"]),
                 lambda: rst.fal_strings(start_base=2), lambda: rst.masks(foreground=[0]),
                 lambda: rst.masks(foreground=[]), lambda: rst.masks(foreground=[256]),
                 lambda: rst.masks(dtype=bool, foreground=[1, 2]),
                 lambda: rst.boxes(min_n=3, max_n=2), lambda: rst.rle_counts(min_n=2, max_n=1)):
        with pytest.raises(InvalidArgument):
            make().example()


# ---- batches -----------------------------------------------------------------------------------


@settings(max_examples=MANY)
@given(rst.rle_batches_and_masks(max_side=20, max_n=5))
def test_rle_batches_hold_their_masks(pair: tuple[turborle.RLEBatch, list[Any]]) -> None:
    batch, dense = pair
    assert_batch_is(batch, dense)


def test_rle_batches_mix_sizes() -> None:
    batch = find(rst.rle_batches(min_n=2), lambda b: len({(int(h), int(w)) for h, w in
                                                        zip(b.heights, b.widths)}) > 1)
    assert isinstance(batch, turborle.RLEBatch)


# ---- valid COCO dicts --------------------------------------------------------------------------


@settings(max_examples=MANY)
@given(rst.coco_dicts(compressed=None, canonical=False))
def test_coco_dicts_are_valid_and_round_trip(obj: dict[str, Any]) -> None:
    counts, h, w = reference_counts(obj)  # the oracle accepts it
    assert obj["size"] == [h, w]
    canonical = ref.canonical_counts(counts)
    batch = turborle.from_coco(obj)
    assert batch.to_coco()[0]["size"] == [h, w]
    assert ref.canonical_counts(ref.string_to_counts(batch.to_coco()[0]["counts"])) == canonical
    if counts == canonical:
        assert batch.to_coco() == [{"size": [h, w], "counts": coco_string(counts)}]
    assert int(turborle.area(batch)[0]) == ref.area(counts)
    np.testing.assert_array_equal(turborle.bbox(batch)[0], ref.bbox(counts, h, w))
    if h * w:
        np.testing.assert_array_equal(turborle.decode(batch)[0], ref.decode_counts(counts, h, w))


@settings(max_examples=MANY)
@given(st.booleans(), st.data())
def test_coco_dicts_compressed_flag(compressed: bool, data: st.DataObject) -> None:
    obj = data.draw(rst.coco_dicts(compressed=compressed))
    assert isinstance(obj["counts"], (str, bytes) if compressed else list)


@settings(max_examples=max(10, MANY // 5))
@given(rst.coco_dicts(min_side=2**14, max_side=2**17))
def test_coco_dicts_of_large_masks(obj: dict[str, Any]) -> None:
    counts, h, w = reference_counts(obj)
    batch = turborle.from_coco(obj)
    assert batch.to_coco() == [{"size": [h, w], "counts": coco_string(counts)}]
    assert int(turborle.area(batch)[0]) == ref_runs.area(counts)
    np.testing.assert_array_equal(turborle.bbox(batch)[0], ref_runs.bbox(counts, h, w))


@settings(max_examples=MANY)
@given(st.data())
def test_rle_counts_are_valid(data: st.DataObject) -> None:
    lo = data.draw(st.integers(0, 40))
    hi = data.draw(st.integers(lo, 2**20))
    n_lo = data.draw(st.integers(0, 3))
    canonical = data.draw(st.booleans())
    counts_list, h, w = data.draw(rst.rle_counts(lo, hi, n_lo, n_lo + 2, canonical))
    assert lo <= h <= hi and lo <= w <= hi and n_lo <= len(counts_list) <= n_lo + 2
    for counts in counts_list:
        assert sum(counts) == h * w and all(c >= 0 for c in counts)
        if canonical:
            assert counts == ref.canonical_counts(counts)


def test_rle_counts_cover_the_edge_cases() -> None:
    huge = rst.rle_counts(max_side=2**20, max_n=3, canonical=False)
    find(huge, lambda c: c[1] * c[2] >= 2**32 and any(len(x) > 2 for x in c[0]))
    find(huge, lambda c: c[1] * c[2] <= 16)
    find(huge, lambda c: any(x != ref.canonical_counts(x) for x in c[0]))
    find(huge, lambda c: any(x and x[0] == 0 for x in c[0]))  # starts with foreground


# ---- fal text ----------------------------------------------------------------------------------

BASES_ORDERS = [(1, "C"), (0, "C"), (1, "F"), (0, "F")]


@pytest.mark.parametrize(("base", "order"), BASES_ORDERS)
@settings(max_examples=MANY)
@given(data=st.data())
def test_fal_strings_are_valid_and_round_trip(base: int, order: Any, data: st.DataObject) -> None:
    text, h, w = data.draw(rst.fal_strings(start_base=base, order=order))
    dense = ref.fal_to_mask(text, h, w, base, order)  # the oracle accepts it
    assert ref.mask_to_fal(dense, base, order) == text  # and it is canonical text
    batch = turborle.from_fal(text, h, w, start_base=base, order=order)
    assert batch.to_fal(start_base=base, order=order) == [text]
    assert batch.to_coco() == [{"size": [h, w], "counts": coco_string(ref.encode_counts(dense))}]
    if h * w:
        np.testing.assert_array_equal(turborle.decode(batch)[0], dense)
    # bytes are read like str
    from_bytes = turborle.from_fal(text.encode("ascii"), h, w, base, order)
    assert from_bytes.to_coco() == [
        {"size": [h, w], "counts": coco_string(ref.encode_counts(dense))}]


@settings(max_examples=max(10, MANY // 5))
@given(rst.fal_strings(min_side=2**12, max_side=2**15))
def test_fal_strings_of_large_masks(case: tuple[str, int, int]) -> None:
    text, h, w = case
    runs = ref.fal_to_runs(text, h, w)
    batch = turborle.from_fal(text, h, w)
    assert batch.to_fal() == [text]
    assert int(turborle.area(batch)[0]) == sum(e - s for s, e in runs)


# ---- polygons ----------------------------------------------------------------------------------


@settings(max_examples=MANY)
@given(rst.polygons())
def test_polygons_rasterise_like_the_reference(case: tuple[list[float], int, int]) -> None:
    xy, h, w = case
    assert len(xy) >= 6 and len(xy) % 2 == 0
    assert all(isinstance(v, float) and np.isfinite(v) for v in xy)
    counts = ref.poly_to_counts(xy, h, w)
    assert tmask.frPyObjects([xy], h, w) == [
        {"size": [h, w], "counts": ref.counts_to_string(counts)}]


def test_polygons_cover_the_edge_cases() -> None:
    find(rst.polygons(), lambda c: any(v < 0 for v in c[0]))
    find(rst.polygons(), lambda c: any(v > c[2] + 1 for v in c[0][::2]))
    find(rst.polygons(), lambda c: len(set(zip(c[0][::2], c[0][1::2]))) < len(c[0]) // 2)
    find(rst.polygons(), lambda c: ref.area(ref.poly_to_counts(*c)) == 0)


@settings(max_examples=MANY)
@given(st.integers(0, 50), st.integers(1, 3), st.data())
def test_boxes_respect_their_parameters(side: int, n: int, data: st.DataObject) -> None:
    bb = data.draw(rst.boxes(max_side=side, min_n=n, max_n=n + 2))
    assert bb.dtype == np.float64 and bb.shape[1] == 4 and n <= len(bb) <= n + 2
    assert np.isfinite(bb).all() and (bb[:, 2:] >= 0).all()


def test_boxes_cover_the_edge_cases() -> None:
    find(rst.boxes(), lambda b: (b[:, 2:] == 0).any())
    find(rst.boxes(), lambda b: (b[:, :2] < 0).any())
    find(rst.boxes(), lambda b: ((b * 2) % 1 != 0).any() and ((b * 10) % 1 == 0).all())


# ---- malformed COCO dicts ----------------------------------------------------------------------


def rejects(fn: Any) -> BaseException:
    with pytest.raises((ValueError, TypeError)) as info:
        fn()
    assert str(info.value).strip(), "the error needs a message"
    return info.value


@pytest.mark.parametrize("reason", rst.COCO_REASONS)
@settings(max_examples=max(10, MANY // 2))
@given(data=st.data())
def test_malformed_coco_strings_are_rejected(reason: str, data: st.DataObject) -> None:
    obj, got_reason = data.draw(rst.malformed_coco_strings(reasons=[reason]))
    assert got_reason == reason
    rejects(lambda: reference_counts(obj))
    rejects(lambda: turborle.from_coco(obj))
    rejects(lambda: turborle.from_coco([{"size": [1, 1], "counts": "01"}, obj]))
    rejects(lambda: tmask.area(obj))
    rejects(lambda: tmask.decode(obj))


def test_malformed_coco_strings_cover_every_reason() -> None:
    for reason in rst.COCO_REASONS:
        def has_reason(case: tuple[dict[str, Any], str], r: str = reason) -> bool:
            return case[1] == r
        find(rst.malformed_coco_strings(), has_reason)


# ---- malformed fal text ------------------------------------------------------------------------


@pytest.mark.parametrize("reason", rst.FAL_REASONS)
@settings(max_examples=max(10, MANY // 2))
@given(data=st.data())
def test_malformed_fal_strings_are_rejected(reason: str, data: st.DataObject) -> None:
    text, h, w, got_reason = data.draw(rst.malformed_fal_strings(reasons=[reason]))
    assert got_reason == reason
    orders: list[Literal["C", "F"]] = ["C", "F"]
    for order in orders:
        rejects(lambda: ref.fal_to_mask(text, h, w, 1, order))
        rejects(lambda: turborle.from_fal(text, h, w, 1, order))
        rejects(lambda: turborle.from_fal(["", text], h, w, 1, order))
    if text.isascii():
        rejects(lambda: turborle.from_fal(text.encode("ascii"), h, w))


def test_zero_start_says_zero_based() -> None:
    text, h, w, _ = find(rst.malformed_fal_strings(reasons=["start-below-base"]), lambda c: True)
    for fn in (lambda: ref.fal_to_mask(text, h, w), lambda: turborle.from_fal(text, h, w)):
        assert "0-based" in str(rejects(fn))


# ---- operations on what the strategies give ------------------------------------------------------


@pytest.mark.parametrize(("base", "order"), BASES_ORDERS)
@settings(max_examples=MANY)
@given(data=st.data())
def test_non_canonical_coco_to_fal(base: int, order: Any, data: st.DataObject) -> None:
    obj = data.draw(rst.coco_dicts(compressed=None, canonical=False))
    counts, h, w = reference_counts(obj)
    dense = ref.decode_counts(counts, h, w)
    assert turborle.from_coco(obj).to_fal(start_base=base, order=order) == [
        ref.mask_to_fal(dense, base, order)]


@settings(max_examples=MANY)
@given(st.integers(0, 3), st.integers(1, 4), st.sampled_from(["union", "intersection", "xor",
                                                             "difference"]), st.data())
def test_ops_on_coco_dicts(side_log: int, n: int, op: Any, data: st.DataObject) -> None:
    side = data.draw(st.integers(0, 10 ** side_log * 3))
    objs = [data.draw(rst.coco_dicts(compressed=None, canonical=False, min_side=side,
                                     max_side=side)) for _ in range(n)]
    counts = [reference_counts(o)[0] for o in objs]
    batch = turborle.from_coco(objs)
    oracle: Any = ref if side * side <= 4096 else ref_runs  # sides up to 3000: 9e6 pixels

    def read(out: turborle.RLEBatch) -> list[list[int]]:
        assert all(o["size"] == [side, side] for o in out.to_coco())
        return [ref.canonical_counts(ref.string_to_counts(o["counts"])) for o in out.to_coco()]

    assert read(turborle.merge(batch, op)) == [oracle.merge(counts, side, side, op=op)]
    assert read(turborle.complement(batch)) == [oracle.complement(c, side, side) for c in counts]
    boxes = [oracle.bbox(c, side, side) for c in counts]
    np.testing.assert_array_equal(turborle.bbox(batch), np.array(boxes).reshape(-1, 4))


@pytest.mark.parametrize("op", ["union", "intersection", "xor", "difference"])
def test_merge_of_one_non_canonical_mask_is_canonical(op: Any) -> None:
    """Found by test_ops_on_coco_dicts: every batch op writes canonical counts (complement,
    and merge of two or more masks, drop zero-length runs) except merge of a single mask,
    which hands the input back verbatim. (``turborle.mask.merge`` copying one mask as it is
    matches pycocotools; the batch API need not.)"""
    obj = {"size": [2, 2], "counts": [1, 0, 0, 3]}  # one pixel, with a zero-length pair
    assert turborle.complement(turborle.from_coco([obj])).to_coco()[0]["counts"] == "013"
    assert turborle.merge(turborle.from_coco([obj, obj]), op).to_coco()[0]["counts"] in ("13", "4")
    assert turborle.merge(turborle.from_coco([obj]), op).to_coco() == [
        {"size": [2, 2], "counts": "13"}]


# ---- seeded generators ---------------------------------------------------------------------------


def seeded(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("shape", gen.SHAPES, ids=str)
@pytest.mark.parametrize("kind", gen.MASK_KINDS)
def test_random_mask_kinds(shape: tuple[int, int], kind: str) -> None:
    m = gen.random_mask(seeded(), *shape, kind)
    assert m.shape == shape and m.dtype == np.uint8 and m.flags.c_contiguous
    assert set(np.unique(m).tolist()) <= {0, 1}
    np.testing.assert_array_equal(m, gen.random_mask(seeded(), *shape, kind))  # seeded
    if m.size == 0:
        return
    area = int(m.sum())
    if kind == "empty":
        assert area == 0
    elif kind == "full":
        assert area == m.size
    elif kind == "single":
        assert area == 1
    elif kind == "checker":
        signed = m.astype(np.int8)  # neighbours always differ
        assert (np.diff(signed, axis=0) != 0).all() and (np.diff(signed, axis=1) != 0).all()
    elif kind == "runs":
        in_c = len(ref.fal_to_runs(ref.mask_to_fal(m, order="C"), *shape))
        in_f = len(ref.fal_to_runs(ref.mask_to_fal(m, order="F"), *shape))
        assert min(in_c, in_f) <= 3
    elif kind == "rectangles":  # one to three rectangles of at least one pixel
        assert area > 0
        assert len(ref.fal_to_runs(ref.mask_to_fal(m), *shape)) <= 3 * shape[0]


def test_random_mask_density_and_kinds_seen() -> None:
    rng = seeded(3)
    assert abs(gen.random_mask(rng, 200, 200, "random", density=0.3).mean() - 0.3) < 0.02
    assert gen.random_mask(rng, 200, 200, "sparse").mean() < 0.02
    assert gen.random_mask(rng, 200, 200, "dense").mean() > 0.98
    with pytest.raises(ValueError, match="kind"):
        gen.random_mask(rng, 3, 3, "blobs")


def test_random_masks_layout_and_kind_cycle() -> None:
    m = gen.random_masks(seeded(), 7, 5, 2 * len(gen.MASK_KINDS))
    assert m.shape == (7, 5, 18) and m.dtype == np.uint8 and m.flags.f_contiguous
    assert not m[:, :, 0].any() and not m[:, :, 9].any()  # "empty", twice round
    assert m[:, :, 1].all() and m[:, :, 10].all()  # "full"
    one_kind = gen.random_masks(seeded(), 7, 5, 3, "single")
    assert one_kind.sum(axis=(0, 1)).tolist() == [1, 1, 1]


@pytest.mark.parametrize("kind", gen.POLYGON_KINDS)
def test_random_polygon_kinds(kind: str) -> None:
    rng = seeded(gen.POLYGON_KINDS.index(kind))
    for _ in range(30):
        h, w = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        k = int(rng.integers(3, 9))
        xy = gen.random_polygon(rng, h, w, kind, k)
        assert len(xy) == 2 * k and all(isinstance(v, float) and np.isfinite(v) for v in xy)
        points = list(zip(xy[::2], xy[1::2]))
        if kind == "inside":
            assert all(0 <= x <= w and 0 <= y <= h for x, y in points)
        elif kind in ("integer", "halves", "tenths"):
            scale = {"integer": 1, "halves": 2, "tenths": 10}[kind]
            assert all(abs(v * scale - round(v * scale)) < 1e-9 for v in xy)
        elif kind == "collinear":
            (x0, y0), (x1, y1) = points[0], points[1]
            for x, y in points:
                assert abs((x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)) < 1e-6 * (1 + w * h)
    with pytest.raises(ValueError, match="kind"):
        gen.random_polygon(rng, 5, 5, "star")


def test_random_polygon_repeats_vertices() -> None:
    rng = seeded(1)
    polys = [gen.random_polygon(rng, 9, 9, "repeated", 6) for _ in range(20)]
    assert any(len(set(zip(p[::2], p[1::2]))) < 6 for p in polys)


def test_random_boxes() -> None:
    bb = gen.random_boxes(seeded(), 500, 20, 30)
    assert bb.shape == (500, 4) and bb.dtype == np.float64 and (bb[:, 2:] >= 0).all()
    whole = (bb % 1 == 0).mean()
    halves = ((bb * 2) % 1 == 0).mean()
    assert 0.2 < whole < halves < 1  # whole numbers, halves and other values all appear
    assert (bb[:, 0] < 0).any() and (bb[:, 0] > 30).any()  # left of and right of the image


@pytest.mark.parametrize("total", [0, 1, 7, 1000, 2**40])
def test_random_runs_and_counts(total: int) -> None:
    rng = seeded(total)
    for _ in range(50):
        runs = gen.random_runs(rng, total)
        assert all(0 <= a < b <= total for a, b in runs)
        assert all(b1 < a2 for (_, b1), (a2, _) in zip(runs, runs[1:]))  # apart, ascending
        counts = gen.random_counts(rng, total, 1)
        assert sum(counts) == total and counts == ref.canonical_counts(counts)
        loose = gen.with_zero_runs(rng, counts)
        assert 0 in loose[1:] and ref.canonical_counts(loose) == counts


def test_numpy_parts_import_without_hypothesis() -> None:
    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "import numpy as np\n"
            "from turborle.testing import generators, reference, runs\n"
            "m = generators.random_masks(np.random.default_rng(0), 4, 3, 9)\n"
            "assert runs.area(reference.encode_counts(m[:, :, 1])) == 12\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def test_lazy_names_of_turborle_testing_are_the_strategies_module_names():
    import turborle.testing as testing
    from turborle.testing import _STRATEGIES, strategies

    assert sorted(_STRATEGIES) == sorted(strategies.__all__)
    for name in _STRATEGIES:
        assert getattr(testing, name) is getattr(strategies, name)
