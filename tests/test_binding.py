"""The private compiled module must not trust its callers: wrong types and None raise."""

import numpy as np
import pytest

from turborle import _core
from turborle.testing import reference as ref


@pytest.fixture
def rles():
    return _core.from_objects([{"size": [2, 2], "counts": "04"}])


@pytest.mark.parametrize(
    "call",
    [
        lambda r: _core.area(None),
        lambda r: _core.bbox(None),
        lambda r: _core.to_objects(None),
        lambda r: _core.decode(None, True),
        lambda r: _core.iou(r, None, None),
        lambda r: _core.merge(None, "union"),
        lambda r: _core.complement(None),
        lambda r: _core.take(None, [0]),
        lambda r: _core.concat([r, None]),
        lambda r: _core.concat(None),
        lambda r: _core.to_fal(None, 1, True),
        lambda r: _core.from_fal(None, 2, 2, 1, True),
        lambda r: _core.from_fal([3], 2, 2, 1, True),
        lambda r: _core.from_polygons(None, 2, 2),
        lambda r: _core.from_objects([None]),
    ],
)
def test_none_and_wrong_types_raise_type_error(rles, call):
    with pytest.raises(TypeError):
        call(rles)


@pytest.mark.parametrize(
    "call",
    [
        lambda r: _core.from_polygons([[1.0, 2.0, 3.0]], 2, 2),  # odd coordinates
        lambda r: _core.from_polygons([["a", "b"]], 2, 2),
        lambda r: _core.from_boxes([[1, 2, 3]], 2, 2),
        lambda r: _core.box_iou([[1, 2, 3, 4]], [[1, 2, 3]], None),
        lambda r: _core.box_iou([[1, 2, 3, 4]], [[1, 2, 3, 4]], [0, 1]),
        lambda r: _core.iou(r, r, [0, 0, 0]),
        lambda r: _core.take(r, [1]),
        lambda r: _core.take(r, [-1]),
        lambda r: _core.merge(r, "nand"),
        lambda r: _core.decode(r, False, out=np.zeros((1, 2, 3), np.uint8)),
    ],
)
def test_bad_values_raise_value_error(rles, call):
    with pytest.raises(ValueError):
        call(rles)


def test_lists_are_converted_not_trusted():
    boxes = [[0, 0, 2, 2]]
    assert _core.box_iou(boxes, np.array(boxes, dtype=np.int32), [1]).tolist() == [[1.0]]
    square = ref.counts_to_string(ref.box_to_counts(0, 0, 2, 2, 3, 3))
    assert _core.to_objects(_core.from_boxes(boxes, 3, 3)) == [{"size": [3, 3], "counts": square}]
    polygon = [[0, 0, 0, 2, 2, 2, 2, 0]]
    outline = ref.counts_to_string(ref.poly_to_counts(polygon[0], 3, 3))
    assert _core.to_objects(_core.from_polygons(polygon, 3, 3)) == [
        {"size": [3, 3], "counts": outline}]
