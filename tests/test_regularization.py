"""dlcore.regularization: penalties against torch autograd (float64), the L1 proximal
operator against torch.nn.functional.softshrink and its defining properties, the
weight-decay equivalence, the bias-variance identity, and bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

from dlcore import optim
from dlcore.regularization import (bias_variance_decomposition, l1_penalty, l2_penalty,
                                   soft_threshold)
from conftest import to_torch, to_numpy

RTOL = 1e-12
SHAPES = [(1,), (7,), (3, 4), (2, 3, 4)]


def torch_penalty(kind, w, lam):
    wt = to_torch(w, requires_grad=True)
    value = lam * wt.abs().sum() if kind == "l1" else lam / 2 * (wt ** 2).sum()
    value.backward()
    return value.item(), to_numpy(wt.grad)


# ---------------------------------------------------------------- penalties vs autograd

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind, fn", [("l1", l1_penalty), ("l2", l2_penalty)])
@pytest.mark.parametrize("lam", [0.0, 1e-3, 0.7])
def test_penalty_matches_torch(kind, fn, lam, shape, rng):
    w = rng.standard_normal(shape) * 2
    value, grad = fn(w, lam)
    tv, tg = torch_penalty(kind, w, lam)
    assert isinstance(value, float) and grad.dtype == np.float64 and grad.shape == w.shape
    assert_allclose(value, tv, rtol=RTOL, atol=0.0)
    assert_allclose(grad, tg, rtol=RTOL, atol=0.0)


def test_l1_subgradient_is_zero_at_zero_like_torch():
    w = np.array([-1.5, 0.0, 0.0, 2.0])
    value, grad = l1_penalty(w, 0.3)
    assert value == pytest.approx(0.3 * 3.5, rel=1e-15)
    assert_array_equal(grad, [-0.3, 0.0, 0.0, 0.3])
    assert_array_equal(grad, torch_penalty("l1", w, 0.3)[1])


def test_known_values():
    w = np.array([3.0, -4.0])
    assert l2_penalty(w, 2.0)[0] == pytest.approx(25.0, rel=1e-15)   # (2/2) * 25
    assert_allclose(l2_penalty(w, 2.0)[1], [6.0, -8.0], rtol=1e-15)
    assert l1_penalty(w, 2.0)[0] == pytest.approx(14.0, rel=1e-15)


@pytest.mark.parametrize("kind, fn", [("l1", l1_penalty), ("l2", l2_penalty)])
def test_dict_input_sums_values_and_keeps_keys(kind, fn, rng):
    params = {"0.W": rng.standard_normal((4, 3)), "2.W": rng.standard_normal((3, 2))}
    value, grads = fn(params, 0.25)
    assert set(grads) == set(params)
    total = sum(torch_penalty(kind, w, 0.25)[0] for w in params.values())
    assert_allclose(value, total, rtol=RTOL)
    for k, w in params.items():
        assert_allclose(grads[k], torch_penalty(kind, w, 0.25)[1], rtol=RTOL)
        assert grads[k] is not w                       # never aliases the parameter
    assert fn({}, 1.0) == (0.0, {})


def test_penalty_does_not_modify_input(rng):
    w = rng.standard_normal(5)
    before = w.copy()
    _, g = l2_penalty(w, 1.0)
    g += 1.0
    assert_array_equal(w, before)


# ---------------------------------------------------------------- weight decay equivalence

@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_weight_decay_equals_gradient_of_l2_penalty(momentum, rng):
    """SGD(weight_decay=lam) on grad == SGD on grad + l2_penalty gradient, bit for bit,
    and both equal torch.optim.SGD(weight_decay=lam)."""
    lam, lr = 0.05, 0.1
    w0 = rng.standard_normal(6)
    grads = [rng.standard_normal(6) for _ in range(5)]
    a, b = {"w": w0.copy()}, {"w": w0.copy()}
    opt_a = optim.SGD(lr, momentum=momentum, weight_decay=lam)
    opt_b = optim.SGD(lr, momentum=momentum)
    wt = to_torch(w0, requires_grad=True)
    opt_t = torch.optim.SGD([wt], lr=lr, momentum=momentum, weight_decay=lam)
    for g in grads:
        opt_a.step(a, {"w": g})
        opt_b.step(b, {"w": g + l2_penalty(b["w"], lam)[1]})
        wt.grad = to_torch(g)
        opt_t.step()
    assert_array_equal(a["w"], b["w"])
    assert_allclose(a["w"], to_numpy(wt), rtol=1e-13)


def test_plain_sgd_step_is_multiplicative_decay(rng):
    lam, lr = 0.05, 0.1
    w, g = rng.standard_normal(6), rng.standard_normal(6)
    p = {"w": w.copy()}
    optim.SGD(lr).step(p, {"w": g + l2_penalty(w, lam)[1]})
    assert_allclose(p["w"], (1 - lr * lam) * w - lr * g, rtol=1e-14)


# ---------------------------------------------------------------- soft threshold (prox of L1)

@pytest.mark.parametrize("t", [0.0, 0.3, 5.0])
def test_soft_threshold_matches_torch_softshrink(t, rng):
    w = rng.standard_normal((4, 5)) * 2
    assert_allclose(soft_threshold(w, t), to_numpy(TF.softshrink(to_torch(w), t)), rtol=0,
                    atol=0)


def test_soft_threshold_known_values_and_exact_zeros():
    w = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    out = soft_threshold(w, 1.0)
    assert_array_equal(out, [-2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0])
    assert np.sum(out == 0) == 5
    assert_array_equal(soft_threshold(w, 0.0), w)                 # t = 0 is the identity
    assert_array_equal(w, [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])  # input untouched


@settings(max_examples=60, deadline=None)
@given(w=hnp.arrays(np.float64, st.integers(1, 8),
                    elements=st.floats(-10, 10, allow_nan=False)),
       t=st.floats(0, 5, allow_nan=False))
def test_soft_threshold_is_the_prox(w, t):
    """z = S_t(w) minimizes 0.5 (z - w)^2 + t |z| element-wise: the objective at z is not
    above its value at perturbed points, and the optimality condition w - z in t * d|z| holds."""
    z = soft_threshold(w, t)

    def obj(v):
        return 0.5 * (v - w) ** 2 + t * np.abs(v)

    for delta in (1e-3, -1e-3, 0.5, -0.5):
        assert np.all(obj(z) <= obj(z + delta) + 1e-12)
    nz = z != 0
    assert_allclose((w - z)[nz], t * np.sign(z[nz]), atol=1e-12)
    assert np.all(np.abs(w - z)[~nz] <= t + 1e-12)
    # shrinks towards zero, keeps the sign, never increases a magnitude
    assert np.all(np.abs(z) <= np.abs(w)) and np.all(z * w >= 0)


@settings(max_examples=40, deadline=None)
@given(a=hnp.arrays(np.float64, 6, elements=st.floats(-10, 10, allow_nan=False)),
       b=hnp.arrays(np.float64, 6, elements=st.floats(-10, 10, allow_nan=False)),
       t=st.floats(0, 5, allow_nan=False))
def test_soft_threshold_is_nonexpansive(a, b, t):
    assert np.all(np.abs(soft_threshold(a, t) - soft_threshold(b, t)) <= np.abs(a - b) + 1e-12)


def test_ista_step_on_lasso_reaches_the_known_solution():
    """For 0.5||w - c||^2 + lam ||w||_1 the minimizer is S_lam(c); ISTA with lr=1 gets there."""
    c, lam = np.array([2.0, -0.3, 0.05, -4.0]), 0.5
    w = np.zeros(4)
    for _ in range(3):
        w = soft_threshold(w - 1.0 * (w - c), 1.0 * lam)
    assert_array_equal(w, soft_threshold(c, lam))
    assert_array_equal(w, [1.5, 0.0, 0.0, -3.5])


# ---------------------------------------------------------------- bias-variance

def test_bias_variance_identity_and_definitions(rng):
    R, M = 50, 30
    f = rng.standard_normal(M)
    preds = f + 0.3 + rng.standard_normal((R, M)) * 0.5
    d = bias_variance_decomposition(preds, f, noise_var=0.09)
    assert_allclose(d["bias2"] + d["variance"] + d["noise"], d["expected_mse"], rtol=1e-12)
    assert_allclose(d["bias2"], np.mean((preds.mean(0) - f) ** 2), rtol=1e-13)
    assert_allclose(d["variance"], np.mean(preds.var(axis=0)), rtol=1e-13)
    assert d["noise"] == 0.09


def test_bias_variance_matches_monte_carlo_over_label_noise(rng):
    R, M, sigma = 20, 40, 0.7
    f = rng.standard_normal(M)
    preds = f + rng.standard_normal((R, M))
    d = bias_variance_decomposition(preds, f, sigma ** 2)
    y = f + sigma * rng.standard_normal((4000, 1, M))            # fresh test labels
    mc = np.mean((y - preds) ** 2)
    assert abs(mc - d["expected_mse"]) < 0.02 * d["expected_mse"]


def test_bias_variance_finite_r_split_expectations(rng):
    """With R fits, E[bias2] = bias^2 + var / R and E[variance] = (R - 1) / R * var, while
    their sum is unbiased (the documented finite-R caveat)."""
    R, M, reps, b, s = 5, 20, 4000, 0.3, 1.0
    f = rng.standard_normal(M)
    out = np.array([[d["bias2"], d["variance"]] for d in (
        bias_variance_decomposition(f + b + s * rng.standard_normal((R, M)), f)
        for _ in range(reps))])
    bias2_mean, var_mean = out.mean(axis=0)
    assert abs(bias2_mean - (b ** 2 + s ** 2 / R)) < 0.03 * (b ** 2 + s ** 2 / R)
    assert abs(var_mean - (R - 1) / R * s ** 2) < 0.03 * s ** 2
    assert abs(bias2_mean + var_mean - (b ** 2 + s ** 2)) < 0.03 * (b ** 2 + s ** 2)


def test_bias_variance_special_cases():
    f = np.array([1.0, 2.0])
    d = bias_variance_decomposition(np.array([[1.0, 2.0], [1.0, 2.0]]), f)
    assert d == {"bias2": 0.0, "variance": 0.0, "noise": 0.0, "expected_mse": 0.0}
    d = bias_variance_decomposition(np.array([[2.0, 3.0]]), f)    # one fit: no variance
    assert d["bias2"] == 1.0 and d["variance"] == 0.0


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("fn", [l1_penalty, l2_penalty])
@pytest.mark.parametrize("lam, match", [(-0.1, "lam"), (np.nan, "lam"), ("1", "lam"),
                                        (True, "lam"), (None, "lam")])
def test_penalty_rejects_bad_lam(fn, lam, match):
    with pytest.raises(ValueError, match=match):
        fn(np.ones(3), lam)


@pytest.mark.parametrize("fn", [l1_penalty, l2_penalty])
@pytest.mark.parametrize("bad, match", [
    (np.array([1.0, np.nan]), "params_or_array"),
    (np.array(["a", "b"]), "params_or_array"),
    (np.array([1 + 2j]), "params_or_array"),
    ("weights", "params_or_array"),
    (None, "params_or_array"),
    ({"W": np.array([np.inf])}, r"params_or_array\['W'\]"),
    ({"W": "abc"}, r"params_or_array\['W'\]"),
    ({"W": None}, r"params_or_array\['W'\]"),
])
def test_penalty_rejects_bad_params(fn, bad, match):
    with pytest.raises(ValueError, match=match):
        fn(bad, 0.1)


@pytest.mark.parametrize("t", [-1.0, np.inf, np.nan, "0.1", None, np.array([0.1, 0.2])])
def test_soft_threshold_rejects_bad_t(t):
    with pytest.raises(ValueError, match="t"):
        soft_threshold(np.ones(2), t)


@pytest.mark.parametrize("w", [np.array([np.nan]), np.array(["x"]), None])
def test_soft_threshold_rejects_bad_w(w):
    with pytest.raises(ValueError, match="w"):
        soft_threshold(w, 0.1)


@pytest.mark.parametrize("preds, f, noise, match", [
    (np.ones(5), np.ones(5), 0.0, "preds"),                    # not 2-D
    (np.ones((3, 5)), np.ones(4), 0.0, "f_true"),              # M mismatch
    (np.ones((3, 5)), np.ones((5, 1)), 0.0, "f_true"),         # not 1-D
    (np.ones((3, 5)), np.ones(5), -0.1, "noise_var"),
    (np.full((3, 5), np.nan), np.ones(5), 0.0, "preds"),
    (np.ones((0, 5)), np.ones(5), 0.0, "f_true"),              # no fits
])
def test_bias_variance_rejects_bad_input(preds, f, noise, match):
    with pytest.raises(ValueError, match=match):
        bias_variance_decomposition(preds, f, noise)
