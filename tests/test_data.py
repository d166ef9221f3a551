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


def test_digits_scaled_shuffled_and_as_images():
    from sklearn.datasets import load_digits
    X0, y0 = load_digits(return_X_y=True)
    X, y = data.digits()
    assert X.shape == (1797, 64) and X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(X, X0 / 16.0)
    np.testing.assert_array_equal(y, y0)
    Xs, ys = data.digits(rng=0)
    order = np.random.default_rng(0).permutation(1797)
    np.testing.assert_array_equal(Xs, X[order])
    np.testing.assert_array_equal(ys, y[order])
    g = np.random.default_rng(5)
    Xg, _ = data.digits(rng=g)          # a Generator's stream is used, as rng.permutation would
    np.testing.assert_array_equal(Xg, X[np.random.default_rng(5).permutation(1797)])
    assert data.digits(images=True)[0].shape == (1797, 8, 8)
    with pytest.raises(ValueError, match="images"):
        data.digits(images="yes")
    with pytest.raises(ValueError, match="rng"):
        data.digits(rng=-1)


@pytest.mark.parametrize("dx,dy", [(1, 0), (-1, 1), (0, -2), (3, 3), (8, 0), (-9, 2)])
def test_shift_images_against_a_pixel_loop(dx, dy):
    X = np.arange(3 * 64, dtype=float).reshape(3, 64) + 1.0
    img, ref = X.reshape(-1, 8, 8), np.zeros((3, 8, 8))
    for i in range(8):
        for j in range(8):
            if 0 <= i - dy < 8 and 0 <= j - dx < 8:
                ref[:, i, j] = img[:, i - dy, j - dx]
    out = data.shift_images(X, dx, dy)
    np.testing.assert_array_equal(out, ref.reshape(3, 64))
    assert out is not X and X[0, 0] == 1.0                 # a new array, the input untouched


def test_shift_images_rejects_bad_input():
    with pytest.raises(ValueError, match="square"):
        data.shift_images(np.zeros((2, 10)), 1)
    with pytest.raises(ValueError, match="dx"):
        data.shift_images(np.zeros((2, 64)), 1.5)
