"""dlcore.training: the shared loop trains, is deterministic, equals a hand-written loop."""
import numpy as np
import pytest

import dlcore
from dlcore import data, layers, optim, training


def test_mlp_structure():
    m = training.mlp([2, 8, 3], activation="tanh", rng=0)
    assert [type(l).__name__ for l in m.layers] == ["Linear", "Tanh", "Linear"]
    assert m.params["0.W"].shape == (2, 8) and m.params["2.W"].shape == (8, 3)


def test_fit_solves_xor_and_is_deterministic():
    X, y = data.xor(n=200, noise=0.1, rng=0)
    runs = []
    for _ in range(2):
        m = training.mlp([2, 16, 2], rng=1)
        h = training.fit(m, X, y, optim.Adam(lr=0.05), epochs=100, batch_size=32, rng=2)
        runs.append(h["loss"])
    assert runs[0] == runs[1]
    assert runs[0][-1] < 0.1 * runs[0][0]
    assert training.accuracy(m, X, y) > 0.95


def test_full_batch_fit_equals_hand_loop():
    X, y = data.blobs(n=60, n_classes=3, rng=0)
    m1, m2 = training.mlp([2, 5, 3], rng=3), training.mlp([2, 5, 3], rng=3)
    training.fit(m1, X, y, optim.SGD(lr=0.1), epochs=5)
    opt = optim.SGD(lr=0.1)
    for _ in range(5):
        loss, d = dlcore.losses.softmax_cross_entropy(m2.forward(X), y)
        m2.backward(d)
        opt.step(m2.params, m2.grads)
    for k in m1.params:
        np.testing.assert_array_equal(m1.params[k], m2.params[k])


def test_validation_curve_and_mse():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 1)); y = 2 * X + 1
    m = training.mlp([1, 1], rng=0)
    h = training.fit(m, X, y, optim.SGD(lr=0.1), loss="mse", epochs=200,
                     X_val=X[:10], y_val=y[:10])
    assert len(h["val_loss"]) == 200 and h["val_loss"][-1] < 1e-10
    np.testing.assert_allclose(m.params["0.W"], [[2.0]], rtol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    (dict(epochs=0), "epochs"), (dict(batch_size=0), "batch_size"),
    (dict(loss="nope"), "loss"), (dict(X_val=np.zeros((2, 2))), "X_val"),
])
def test_fit_bad_input(kwargs, match):
    X, y = data.xor(n=20, rng=0)
    with pytest.raises(ValueError, match=match):
        training.fit(training.mlp([2, 2], rng=0), X, y, optim.SGD(lr=0.1), **kwargs)


def test_mlp_bad_input():
    with pytest.raises(ValueError, match="sizes"):
        training.mlp([2])
    with pytest.raises(ValueError, match="activation"):
        training.mlp([2, 2], activation="swish")
