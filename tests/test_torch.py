"""torch CPU tensors through the batch API (optional: torch is not a test dependency; this
runs where torch is installed)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import turborle  # noqa: E402
from turborle.testing import reference as ref  # noqa: E402


def counts_of(masks):
    """The oracle's counts of every mask of an (n, h, w) array, concatenated."""
    return [c for m in masks for c in ref.encode_counts(m)]


def test_tensors_encode_in_place_and_decode_into_tensors():
    t = torch.rand(4, 37, 53) < 0.4
    expected = turborle.encode(t)
    assert expected.counts.tolist() == counts_of(t.numpy())
    assert turborle.encode(t.to(torch.uint8)).counts.tolist() == counts_of(t.numpy())
    view = t.transpose(1, 2)  # non-contiguous: read through its strides, not copied
    assert np.shares_memory(np.from_dlpack(view), t.numpy())
    assert turborle.encode(view).counts.tolist() == counts_of(view.numpy())
    assert torch.equal(torch.from_numpy(turborle.decode(expected)), t)
    out = torch.empty(4, 37, 53, dtype=torch.bool)
    turborle.decode(expected, out=out.numpy())
    assert torch.equal(out, t)
