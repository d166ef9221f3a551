"""The synthetic datasets: shapes, label ranges, determinism."""
import numpy as np
import pytest

from dlcore import data


@pytest.mark.parametrize("make", [data.blobs, data.spirals, data.xor])
def test_point_datasets_are_deterministic(make):
    X1, y1 = make(rng=0)
    X2, y2 = make(rng=0)
    assert X1.dtype == np.float64 and X1.shape == (len(y1), 2)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(X1, make(rng=1)[0])


def test_toy_segmentation_has_three_imbalanced_classes():
    t = data.toy_segmentation()
    assert t.shape == (2, 16, 16) and t.dtype == np.int64
    counts = np.bincount(t.ravel(), minlength=3)
    assert counts.sum() == t.size and counts[0] > counts[1] > 0 and counts[2] > 0
    with pytest.raises(ValueError, match="size"):
        data.toy_segmentation(8)
