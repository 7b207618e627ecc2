"""A state machine that chains batch operations and checks every state against the oracle.

The machine keeps a few ``(RLEBatch, dense masks)`` pairs. Each rule derives a new pair
from old ones with turborle (encode, merge with every op, complement, slicing, concat, COCO,
fal in both orders and bases, pickle) and the same step with the oracle on the dense masks;
after every step each batch must hold the oracle's counts of its masks, decode to them and
have the oracle's areas and boxes.
"""

from __future__ import annotations

import pickle
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

import turborle
from turborle.testing import reference as ref
from turborle.testing import strategies as rst

Dense = list[npt.NDArray[np.uint8]]
Pair = tuple[turborle.RLEBatch, Dense]

MAX_PAIRS = 6  # older pairs are dropped: the checks stay cheap
MAX_SIDE = 12
OPS: list[Literal["union", "intersection", "xor", "difference"]] = [
    "union", "intersection", "xor", "difference"]
PICK = st.integers(0, 2**16)


class BatchMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[Pair] = []

    def add(self, batch: turborle.RLEBatch, dense: Dense) -> None:
        self.pairs.append((batch, [np.ascontiguousarray(m, dtype=np.uint8) for m in dense]))
        del self.pairs[:-MAX_PAIRS]

    def pick(self, i: int) -> Pair:
        return self.pairs[i % len(self.pairs)]

    # -- sources -----------------------------------------------------------------------------
    @initialize(pair=rst.rle_batches_and_masks(max_side=MAX_SIDE, min_n=1, max_n=4))
    def start(self, pair: Pair) -> None:
        self.add(*pair)

    @rule(m=rst.masks(max_side=MAX_SIDE, min_n=0, max_n=4, batch=True))
    def encode(self, m: npt.NDArray[Any]) -> None:
        self.add(turborle.encode(m), list(m))

    @rule(pair=rst.rle_batches_and_masks(max_side=MAX_SIDE, max_n=4))
    def mixed_batch(self, pair: Pair) -> None:
        self.add(*pair)

    # -- operations --------------------------------------------------------------------------
    @precondition(lambda self: any(
        len(b) > 0 and len({m.shape for m in d}) == 1 for b, d in self.pairs))
    @rule(i=PICK, op=st.sampled_from(OPS))
    def merge(self, i: int, op: str) -> None:
        uniform = [p for p in self.pairs if len(p[0]) and len({m.shape for m in p[1]}) == 1]
        batch, dense = uniform[i % len(uniform)]
        merged = turborle.merge(batch, op)  # type: ignore[arg-type]
        h, w = dense[0].shape
        counts = [ref.encode_counts(m) for m in dense]
        expected = ref.merge(counts, h, w, op=op)  # type: ignore[arg-type]
        self.add(merged, [ref.decode_counts(expected, h, w)])

    @precondition(lambda self: self.pairs)
    @rule(i=PICK)
    def complement(self, i: int) -> None:
        batch, dense = self.pick(i)
        self.add(turborle.complement(batch), [1 - m for m in dense])

    @precondition(lambda self: self.pairs)
    @rule(i=PICK, start=st.integers(-5, 5), stop=st.none() | st.integers(-5, 5),
          step=st.sampled_from([None, 1, 2, -1, -2]))
    def slice(self, i: int, start: int, stop: int | None, step: int | None) -> None:
        batch, dense = self.pick(i)
        key = slice(start, stop, step)
        self.add(batch[key], dense[key])

    @precondition(lambda self: self.pairs)
    @rule(i=PICK, chosen=st.lists(st.integers(-8, 8), max_size=5))
    def take(self, i: int, chosen: list[int]) -> None:
        batch, dense = self.pick(i)
        n = len(batch)
        index = [k for k in chosen if -n <= k < n]
        self.add(batch[np.array(index, dtype=np.int64)], [dense[k] for k in index])

    @precondition(lambda self: self.pairs)
    @rule(picks=st.lists(PICK, min_size=0, max_size=3))
    def concat(self, picks: list[int]) -> None:
        chosen = [self.pick(i) for i in picks]
        self.add(turborle.concat([b for b, _ in chosen]), [m for _, d in chosen for m in d])

    # -- conversions -------------------------------------------------------------------------
    @precondition(lambda self: self.pairs)
    @rule(i=PICK)
    def coco_round_trip(self, i: int) -> None:
        batch, dense = self.pick(i)
        objs = batch.to_coco()
        assert [o["counts"] for o in objs] == [
            ref.counts_to_string(ref.encode_counts(m)).decode("ascii") for m in dense]
        self.add(turborle.from_coco(objs), dense)

    @precondition(lambda self: self.pairs)
    @rule(i=PICK, base=st.sampled_from([0, 1]), order=st.sampled_from(["C", "F"]))
    def fal_round_trip(self, i: int, base: int, order: Literal["C", "F"]) -> None:
        batch, dense = self.pick(i)
        texts = batch.to_fal(start_base=base, order=order)
        assert texts == [ref.mask_to_fal(m, base, order) for m in dense]
        # fal text has no size: parse each mask with its own.
        parts = [turborle.from_fal(t, m.shape[0], m.shape[1], base, order)
                 for t, m in zip(texts, dense)]
        self.add(turborle.concat(parts), dense)

    @precondition(lambda self: self.pairs)
    @rule(i=PICK)
    def pickle_round_trip(self, i: int) -> None:
        batch, dense = self.pick(i)
        self.add(pickle.loads(pickle.dumps(batch)), dense)

    @precondition(lambda self: self.pairs)
    @rule(i=PICK, j=PICK, crowd=st.booleans())
    def iou(self, i: int, j: int, crowd: bool) -> None:
        (a, da), (b, db) = self.pick(i), self.pick(j)
        if not len(a) or not len(b):
            return
        iscrowd = [crowd] * len(b)
        got = turborle.iou(a, b, iscrowd)
        expected = ref.iou([(ref.encode_counts(m), *m.shape) for m in da],
                           [(ref.encode_counts(m), *m.shape) for m in db], iscrowd)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)

    # -- checks ------------------------------------------------------------------------------
    @invariant()
    def batches_equal_their_masks(self) -> None:
        for batch, dense in self.pairs:
            assert len(batch) == len(dense)
            if not dense:
                continue
            counts = [ref.encode_counts(m) for m in dense]
            for k, c in enumerate(counts):  # every batch here holds canonical counts
                assert batch.counts[int(batch.offsets[k]):int(batch.offsets[k + 1])].tolist() == c
            np.testing.assert_array_equal(
                turborle.area(batch), np.array([ref.area(c) for c in counts], dtype=np.uint64))
            np.testing.assert_array_equal(
                turborle.bbox(batch),
                np.array([ref.bbox(c, *m.shape) for c, m in zip(counts, dense)]).reshape(-1, 4))
            np.testing.assert_array_equal(batch.heights, [m.shape[0] for m in dense])
            np.testing.assert_array_equal(batch.widths, [m.shape[1] for m in dense])
            if len({m.shape for m in dense}) == 1:
                if dense[0].size:
                    np.testing.assert_array_equal(turborle.decode(batch), np.stack(dense) != 0)
                    np.testing.assert_array_equal(turborle.decode(batch, order="F"),
                                                  np.stack(dense) != 0)
            else:
                for k, m in enumerate(dense):
                    if m.size:
                        np.testing.assert_array_equal(turborle.decode(batch[k])[0], m != 0)


BatchMachine.TestCase.settings = settings(
    settings(),  # the profile chosen in conftest.py (dev / ci / expensive)
    max_examples=max(50, settings().max_examples // 2),
    stateful_step_count=15,
)
TestBatchMachine = BatchMachine.TestCase
