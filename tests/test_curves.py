"""dlcore.curves: the per-epoch loop equals training.fit and records the right quantities."""
import numpy as np
import pytest

from dlcore import data, optim, training
from dlcore.curves import digits_split, train_curves
from dlcore.losses import softmax_cross_entropy


def test_digits_split_is_the_seeded_permutation():
    X, y = data.digits()
    X_tr, y_tr, X_va, y_va = digits_split(np.random.default_rng(0), n_train=100)
    perm = np.random.default_rng(0).permutation(len(y))
    np.testing.assert_array_equal(X_tr, X[perm[:100]])
    np.testing.assert_array_equal(y_va, y[perm[100:]])
    assert len(y_tr) + len(y_va) == len(y)
    with pytest.raises(ValueError, match="n_train"):
        digits_split(0, n_train=0)


def test_train_curves_equals_fit_without_transform():
    X_tr, y_tr, X_va, y_va = digits_split(1, n_train=80)
    m1, m2 = training.mlp([64, 16, 10], rng=2), training.mlp([64, 16, 10], rng=2)
    h1 = train_curves(m1, X_tr, y_tr, optim.Adam(lr=0.01), X_va, y_va, epochs=7,
                      val_groups=(slice(0, 50), np.arange(50, 120)))
    h2 = training.fit(m2, X_tr, y_tr, optim.Adam(lr=0.01), epochs=7, X_val=X_va, y_val=y_va)
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-12)
    np.testing.assert_allclose(h1["val_loss"], h2["val_loss"], rtol=1e-12)
    out = m2.forward(X_va, train=False)
    assert h1["val_acc"][-1] == np.mean(out.argmax(axis=1) == y_va)
    assert h1["val_group_loss"].shape == (7, 2)
    assert np.isclose(h1["val_group_loss"][-1, 1],
                      softmax_cross_entropy(out[50:120], y_va[50:120])[0], rtol=1e-12)
    w = np.sqrt(np.sum(m2.params["0.W"] ** 2) + np.sum(m2.params["2.W"] ** 2))
    assert np.isclose(h1["w_norm"][-1], w, rtol=1e-12)


def test_transform_is_applied_every_epoch():
    X_tr, y_tr, X_va, y_va = digits_split(1, n_train=40)
    seen = []

    def transform(X, gen):
        seen.append(gen.standard_normal())
        return X + 0.1

    h = train_curves(training.mlp([64, 8, 10], rng=0), X_tr, y_tr, optim.SGD(lr=0.1),
                     X_va, y_va, epochs=3, transform=transform, rng=5)
    assert len(seen) == 3 and len(set(seen)) == 3 and h["val_group_loss"].shape == (3, 0)
    with pytest.raises(ValueError, match="epochs"):
        train_curves(training.mlp([64, 8, 10], rng=0), X_tr, y_tr, optim.SGD(lr=0.1),
                     X_va, y_va, epochs=0)


def test_every_records_every_kth_epoch():
    X_tr, y_tr, X_va, y_va = digits_split(2, n_train=60)
    h1 = train_curves(training.mlp([64, 8, 10], rng=0), X_tr, y_tr, optim.Adam(lr=0.01),
                      X_va, y_va, epochs=9)
    h3 = train_curves(training.mlp([64, 8, 10], rng=0), X_tr, y_tr, optim.Adam(lr=0.01),
                      X_va, y_va, epochs=9, every=3)
    np.testing.assert_array_equal(h3["loss"], h1["loss"])
    np.testing.assert_array_equal(h3["val_loss"], h1["val_loss"][2::3])
    assert h3["w_norm"].shape == (3,) and h3["val_group_loss"].shape == (3, 0)
    with pytest.raises(ValueError, match="every"):
        train_curves(training.mlp([64, 8, 10], rng=0), X_tr, y_tr, optim.Adam(lr=0.01),
                     X_va, y_va, epochs=3, every=0)
