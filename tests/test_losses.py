"""dlcore.losses against torch.nn.functional (float64, reduction="mean")."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

from dlcore import losses
from conftest import to_torch, to_numpy

RTOL = 1e-12


def torch_loss(fn, x, *others):
    xt = to_torch(x, requires_grad=True)
    loss = fn(xt, *others)
    loss.backward()
    return loss.item(), to_numpy(xt.grad)


def assert_matches(ours, theirs, rtol=RTOL, atol=0.0):
    (l1, g1), (l2, g2) = ours, theirs
    assert isinstance(l1, float)
    assert np.isfinite(l1) and np.all(np.isfinite(g1))
    assert g1.dtype == np.float64
    assert_allclose(l1, l2, rtol=rtol, atol=atol)
    assert_allclose(g1, g2, rtol=rtol, atol=atol)


SHAPES = [(1,), (7,), (1, 1), (1, 5), (4, 3), (2, 3, 4)]


# ---------------------------------------------------------------- MSE

@pytest.mark.parametrize("shape", SHAPES)
def test_mse_matches_torch(shape, rng):
    pred, target = rng.standard_normal(shape) * 3, rng.standard_normal(shape)
    assert_matches(losses.mse(pred, target), torch_loss(TF.mse_loss, pred, to_torch(target)))


def test_mse_known_values():
    loss, grad = losses.mse(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 0.0]))
    assert loss == pytest.approx(13 / 3, rel=1e-15)
    assert_allclose(grad, [0.0, 4 / 3, 2.0], rtol=1e-15)
    assert losses.mse(np.ones((2, 2)), np.ones((2, 2))) == (0.0, pytest.approx(np.zeros((2, 2))))


def test_mse_large_values():
    pred = np.array([1e4, -1e4]); target = np.array([-1e4, 1e4])
    assert_matches(losses.mse(pred, target), torch_loss(TF.mse_loss, pred, to_torch(target)))


# ---------------------------------------------------------------- BCE on probabilities

@pytest.mark.parametrize("shape", SHAPES)
def test_bce_matches_torch(shape, rng):
    p = rng.uniform(0.01, 0.99, shape)
    y = (rng.random(shape) < 0.5).astype(float)
    assert_matches(losses.binary_cross_entropy(p, y), torch_loss(TF.binary_cross_entropy, p, to_torch(y)))


def test_bce_soft_targets_match_torch(rng):
    p, y = rng.uniform(0.01, 0.99, (5, 3)), rng.random((5, 3))
    assert_matches(losses.binary_cross_entropy(p, y), torch_loss(TF.binary_cross_entropy, p, to_torch(y)))


@pytest.mark.parametrize("p,y", [
    ([0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0]),      # exact 0 and 1, right and wrong
    ([0.0], [1.0]), ([1.0], [0.0]), ([0.0], [0.0]), ([1.0], [1.0]),
    ([0.0, 0.5, 1.0], [0.3, 0.5, 0.7]),                 # soft targets at the clamp
    ([1e-50, 1 - 1e-16, 1e-13, 1 - 1e-13], [1.0, 0.0, 1.0, 0.0]),  # log clamp and backward eps
    ([1e-44, 1e-43], [1.0, 1.0]),                       # log(p) just around -100
])
def test_bce_at_and_near_zero_and_one_matches_torch(p, y):
    p, y = np.array(p), np.array(y)
    assert_matches(losses.binary_cross_entropy(p, y), torch_loss(TF.binary_cross_entropy, p, to_torch(y)))


def test_bce_clamp_values():
    loss, grad = losses.binary_cross_entropy(np.array([0.0]), np.array([1.0]))
    assert loss == 100.0
    assert np.isfinite(grad).all() and grad[0] < -1e11
    loss, grad = losses.binary_cross_entropy(np.array([1.0, 0.0]), np.array([1.0, 0.0]))
    assert loss == 0.0
    assert_array_equal(grad, [0.0, 0.0])


# ---------------------------------------------------------------- BCE with logits

@pytest.mark.parametrize("shape", SHAPES)
def test_bce_with_logits_matches_torch(shape, rng):
    z = rng.standard_normal(shape) * 4
    y = (rng.random(shape) < 0.5).astype(float)
    assert_matches(losses.bce_with_logits(z, y), torch_loss(TF.binary_cross_entropy_with_logits, z, to_torch(y)))
    ys = rng.random(shape)
    assert_matches(losses.bce_with_logits(z, ys), torch_loss(TF.binary_cross_entropy_with_logits, z, to_torch(ys)))


@pytest.mark.parametrize("z,y", [
    ([1e4, -1e4, 1e4, -1e4], [1.0, 0.0, 0.0, 1.0]),
    ([1e4], [1.0]), ([-1e4], [0.0]), ([1e4], [0.0]), ([-1e4], [1.0]),
    ([40.0, -40.0, 800.0, -800.0, 0.0], [1.0, 0.0, 1.0, 0.0, 0.5]),
    ([1e4, -1e4, 3.0], [0.25, 0.75, 0.5]),
])
def test_bce_with_logits_extremes_match_torch(z, y):
    z, y = np.array(z), np.array(y)
    assert_matches(losses.bce_with_logits(z, y), torch_loss(TF.binary_cross_entropy_with_logits, z, to_torch(y)))


def test_bce_with_logits_equals_bce_of_sigmoid_in_the_safe_range(rng):
    z = rng.standard_normal((6, 2)) * 3
    y = rng.random((6, 2))
    p = 1 / (1 + np.exp(-z))
    l1, g1 = losses.bce_with_logits(z, y)
    l2, g2 = losses.binary_cross_entropy(p, y)
    assert_allclose(l1, l2, rtol=1e-12)
    assert_allclose(g1, g2 * p * (1 - p), rtol=1e-9)  # chain rule through the sigmoid


def test_bce_with_logits_tiny_loss_keeps_relative_accuracy():
    loss, _ = losses.bce_with_logits(np.array([40.0]), np.array([1.0]))
    assert loss == pytest.approx(np.exp(-40.0), rel=1e-14)


# ---------------------------------------------------------------- softmax cross-entropy

@pytest.mark.parametrize("n,c", [(1, 1), (1, 2), (1, 5), (4, 3), (8, 10), (3, 1)])
def test_softmax_cross_entropy_index_targets_match_torch(n, c, rng):
    logits = rng.standard_normal((n, c)) * 3
    y = rng.integers(0, c, n)
    ours = losses.softmax_cross_entropy(logits, y)
    assert_matches(ours, torch_loss(TF.cross_entropy, logits, torch.tensor(y)))
    p = np.exp(logits - logits.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
    assert_allclose(ours[1], (p - losses.one_hot(y, c)) / n, rtol=1e-13, atol=1e-17)


@pytest.mark.parametrize("n,c", [(1, 2), (1, 5), (4, 3), (8, 10)])
def test_softmax_cross_entropy_probability_targets_match_torch(n, c, rng):
    logits = rng.standard_normal((n, c)) * 3
    t = rng.random((n, c)); t /= t.sum(1, keepdims=True)
    assert_matches(losses.softmax_cross_entropy(logits, t), torch_loss(TF.cross_entropy, logits, to_torch(t)))
    # one-hot probability targets give the same result as the indices
    y = rng.integers(0, c, n)
    l1, g1 = losses.softmax_cross_entropy(logits, y)
    l2, g2 = losses.softmax_cross_entropy(logits, losses.one_hot(y, c))
    assert_allclose(l1, l2, rtol=1e-15)
    assert_allclose(g1, g2, rtol=1e-15, atol=1e-300)


@pytest.mark.parametrize("target_kind", ["index", "prob"])
def test_softmax_cross_entropy_extreme_logits_finite_and_match_torch(target_kind):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4], [-1e4, -1e4, -1e4]])
    if target_kind == "index":
        y = np.array([0, 0, 2, 1]); ty = torch.tensor(y)
    else:
        y = np.array([[1.0, 0, 0], [0.5, 0.5, 0], [0, 0.2, 0.8], [1 / 3, 1 / 3, 1 / 3]]); ty = to_torch(y)
    ours = losses.softmax_cross_entropy(logits, y)
    assert_matches(ours, torch_loss(TF.cross_entropy, logits, ty))
    assert ours[0] > 1e3  # confidently wrong examples cost ~1e4, not inf


def test_softmax_cross_entropy_label_dtypes(rng):
    logits = rng.standard_normal((3, 4))
    ref = losses.softmax_cross_entropy(logits, np.array([0, 3, 1]))
    for y in ([0, 3, 1], np.array([0.0, 3.0, 1.0]), np.array([0, 3, 1], dtype=np.int32), np.array([0, 3, 1], dtype=np.uint8)):
        l, g = losses.softmax_cross_entropy(logits, y)
        assert l == ref[0]
        assert_array_equal(g, ref[1])


def test_softmax_cross_entropy_uniform_logits():
    loss, grad = losses.softmax_cross_entropy(np.zeros((2, 4)), np.array([1, 3]))
    assert loss == pytest.approx(np.log(4), rel=1e-15)
    assert_allclose(grad, [[0.125, -0.375, 0.125, 0.125], [0.125, 0.125, 0.125, -0.375]], rtol=1e-15)


def test_one_hot():
    assert_array_equal(losses.one_hot([2, 0, 1], 3), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert losses.one_hot(np.array([0]), 1).tolist() == [[1.0]]
    assert losses.one_hot(np.array([], dtype=int), 3).shape == (0, 3)
    y = np.array([1, 0, 3])
    assert_array_equal(losses.one_hot(y, 4), to_numpy(TF.one_hot(torch.tensor(y), 4)))


def test_losses_do_not_modify_inputs(rng):
    a, b = rng.random((3, 4)), rng.random((3, 4))
    b /= b.sum(1, keepdims=True)
    a0, b0 = a.copy(), b.copy()
    losses.mse(a, b); losses.binary_cross_entropy(a, b); losses.bce_with_logits(a, b); losses.softmax_cross_entropy(a, b)
    assert_array_equal(a, a0); assert_array_equal(b, b0)


def test_gradients_match_finite_differences(rng):
    from dlcore.gradcheck import numerical_gradient, relative_error
    z = rng.standard_normal((4, 3))
    y = rng.integers(0, 3, 4)
    yb = rng.random((4, 3))
    p = rng.uniform(0.1, 0.9, (4, 3))
    for fn, x, t in [(losses.softmax_cross_entropy, z, y), (losses.bce_with_logits, z, yb),
                     (losses.binary_cross_entropy, p, yb), (losses.mse, z, yb)]:
        _, g = fn(x, t)
        num = numerical_gradient(lambda v: fn(v, t)[0], x.copy())
        assert relative_error(g, num) < 1e-8


# ---------------------------------------------------------------- property tests

_val = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)


@st.composite
def _logits_and_labels(draw):
    n = draw(st.integers(1, 6))
    c = draw(st.integers(1, 5))
    logits = draw(hnp.arrays(np.float64, (n, c), elements=_val))
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return logits, y


@settings(max_examples=50, deadline=None, derandomize=True)
@given(data=_logits_and_labels())
def test_property_softmax_cross_entropy_matches_torch(data):
    logits, y = data
    ours = losses.softmax_cross_entropy(logits, y)
    theirs = torch_loss(TF.cross_entropy, logits, torch.tensor(y))
    # the loss sums terms (logit - lse) of size up to ~1e4 whose rounding is ~ulp(1e4); a loss
    # that ends up tiny (all examples right) therefore only agrees to that absolute level
    assert_matches(ours, theirs, rtol=1e-9, atol=1e-11)
    assert ours[0] >= 0


@st.composite
def _logits_and_binary(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6))
    z = draw(hnp.arrays(np.float64, shape, elements=_val))
    y = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0, 0.5, 0.1])))
    return z, y


@settings(max_examples=50, deadline=None, derandomize=True)
@given(data=_logits_and_binary())
def test_property_bce_with_logits_matches_torch(data):
    z, y = data
    ours = losses.bce_with_logits(z, y)
    theirs = torch_loss(TF.binary_cross_entropy_with_logits, z, to_torch(y))
    assert_matches(ours, theirs, rtol=1e-9, atol=1e-11)


@st.composite
def _probs(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6))
    p = draw(hnp.arrays(np.float64, shape, elements=st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0, 1))))
    y = draw(hnp.arrays(np.float64, shape, elements=st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0, 1))))
    return p, y


@settings(max_examples=50, deadline=None, derandomize=True)
@given(data=_probs())
def test_property_bce_matches_torch(data):
    p, y = data
    ours = losses.binary_cross_entropy(p, y)
    theirs = torch_loss(TF.binary_cross_entropy, p, to_torch(y))
    assert_matches(ours, theirs, rtol=1e-9, atol=1e-11)
