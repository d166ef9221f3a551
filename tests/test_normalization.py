"""dlcore.normalization against torch.nn (float64): BatchNorm1d, LayerNorm, Residual, group_norm."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from numpy.testing import assert_allclose

from dlcore import layers as L
from dlcore import normalization as N
from dlcore import optim
from dlcore.gradcheck import check_layer
from dlcore.training import fit
from conftest import to_torch, to_numpy

RTOL = 1e-10   # sums over the batch and one division by sigma: ~1e-15 in practice, margin kept
ATOL = 1e-12


def torch_bn_from(layer):
    bn = torch.nn.BatchNorm1d(layer.num_features, eps=layer.eps, momentum=layer.momentum,
                              dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(to_torch(layer.params["gamma"]))
        bn.bias.copy_(to_torch(layer.params["beta"]))
        bn.running_mean.copy_(to_torch(layer.running_mean))
        bn.running_var.copy_(to_torch(layer.running_var))
    return bn


def randomize_affine(layer, rng):
    layer.params["gamma"][...] = rng.uniform(0.5, 2.0, layer.num_features)
    layer.params["beta"][...] = rng.standard_normal(layer.num_features)


def run_torch(module, x, dout):
    xt = to_torch(x, requires_grad=True)
    out = module(xt)
    out.backward(to_torch(dout))
    return to_numpy(out), to_numpy(xt.grad)


# ---------------------------------------------------------------- BatchNorm1d

@pytest.mark.parametrize("shape", [(2, 3), (8, 5), (32, 4), (4, 3, 6), (2, 2, 1)])
def test_batchnorm_train_forward_backward_match_torch(shape, rng):
    layer = N.BatchNorm1d(shape[1])
    randomize_affine(layer, rng)
    x = 3.0 * rng.standard_normal(shape) + rng.standard_normal(shape[1:2] + (1,) * (len(shape) - 2))
    dout = rng.standard_normal(shape)
    bn = torch_bn_from(layer).train()
    out_t, dx_t = run_torch(bn, x, dout)
    out = layer.forward(x, train=True)
    dx = layer.backward(dout)
    assert_allclose(out, out_t, rtol=RTOL, atol=ATOL)
    assert_allclose(dx, dx_t, rtol=RTOL, atol=ATOL)
    assert_allclose(layer.grads["gamma"], to_numpy(bn.weight.grad), rtol=RTOL, atol=ATOL)
    assert_allclose(layer.grads["beta"], to_numpy(bn.bias.grad), rtol=RTOL, atol=ATOL)
    assert_allclose(layer.running_mean, to_numpy(bn.running_mean), rtol=RTOL, atol=ATOL)
    assert_allclose(layer.running_var, to_numpy(bn.running_var), rtol=RTOL, atol=ATOL)


def test_batchnorm_compact_backward_formula(rng):
    """dx = (1/N) gamma/sigma (N dy - sum dy - x_hat sum(dy x_hat)), written out by hand."""
    n, c = 7, 3
    layer = N.BatchNorm1d(c)
    randomize_affine(layer, rng)
    x, dy = rng.standard_normal((n, c)), rng.standard_normal((n, c))
    layer.forward(x)
    dx = layer.backward(dy)
    mu, var = x.mean(0), x.var(0)
    sigma = np.sqrt(var + layer.eps)
    xh = (x - mu) / sigma
    g = layer.params["gamma"]
    want = g / (n * sigma) * (n * dy - dy.sum(0) - xh * (dy * xh).sum(0))
    assert_allclose(dx, want, rtol=1e-12, atol=1e-14)
    assert_allclose(dx.sum(0), 0.0, atol=1e-12)          # dx is orthogonal to 1, and to x_hat
    left = g / sigma * (dy * xh).sum(0) * layer.eps / (var + layer.eps)   # up to an O(eps) term
    assert_allclose((dx * xh).sum(0), left, rtol=1e-6, atol=1e-15)


@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0, 0.0, None])
def test_batchnorm_running_stats_over_steps_and_eval_match_torch(momentum, rng):
    c = 4
    layer = N.BatchNorm1d(c, momentum=momentum)
    randomize_affine(layer, rng)
    bn = torch_bn_from(layer)
    for step, n in enumerate([5, 16, 2, 9, 33]):                 # varying batch sizes
        x = rng.standard_normal((n, c)) * (1 + step) + step
        bn.train()
        with torch.no_grad():
            out_t = to_numpy(bn(to_torch(x)))
        assert_allclose(layer.forward(x, train=True), out_t, rtol=RTOL, atol=ATOL)
        assert_allclose(layer.running_mean, to_numpy(bn.running_mean), rtol=RTOL, atol=ATOL)
        assert_allclose(layer.running_var, to_numpy(bn.running_var), rtol=RTOL, atol=ATOL)
    assert layer.num_batches_tracked == int(bn.num_batches_tracked) == 5
    # eval mode: running statistics, buffers unchanged, gradients as torch in eval mode
    x, dout = rng.standard_normal((6, c)), rng.standard_normal((6, c))
    rm, rv = layer.running_mean.copy(), layer.running_var.copy()
    bn.weight.grad = None
    out_t, dx_t = run_torch(bn.eval(), x, dout)
    out = layer.forward(x, train=False)
    dx = layer.backward(dout)
    assert_allclose(out, out_t, rtol=RTOL, atol=ATOL)
    assert_allclose(dx, dx_t, rtol=RTOL, atol=ATOL)
    assert_allclose(layer.grads["gamma"], to_numpy(bn.weight.grad), rtol=RTOL, atol=ATOL)
    assert np.array_equal(layer.running_mean, rm) and np.array_equal(layer.running_var, rv)
    assert layer.num_batches_tracked == 5


def test_batchnorm_3d_running_stats_and_eval_match_torch(rng):
    """(N, C, L): m = N * L values per channel, unbiased factor m / (m - 1) with that m."""
    c = 3
    layer = N.BatchNorm1d(c, momentum=0.3)
    randomize_affine(layer, rng)
    bn = torch_bn_from(layer)
    for n, length in [(2, 5), (4, 1), (3, 7)]:
        x = 2.0 * rng.standard_normal((n, c, length)) + 1.0
        with torch.no_grad():
            out_t = to_numpy(bn.train()(to_torch(x)))
        assert_allclose(layer.forward(x, train=True), out_t, rtol=RTOL, atol=ATOL)
        assert_allclose(layer.running_var, to_numpy(bn.running_var), rtol=RTOL, atol=ATOL)
        assert_allclose(layer.running_mean, to_numpy(bn.running_mean), rtol=RTOL, atol=ATOL)
    x, dout = rng.standard_normal((2, c, 4)), rng.standard_normal((2, c, 4))
    out_t, dx_t = run_torch(bn.eval(), x, dout)
    assert_allclose(layer.forward(x, train=False), out_t, rtol=RTOL, atol=ATOL)
    assert_allclose(layer.backward(dout), dx_t, rtol=RTOL, atol=ATOL)
    assert_allclose(layer.grads["gamma"], to_numpy(bn.weight.grad), rtol=RTOL, atol=ATOL)
    assert_allclose(layer.grads["beta"], to_numpy(bn.bias.grad), rtol=RTOL, atol=ATOL)


def test_batchnorm_running_var_is_unbiased_normalization_biased(rng):
    x = rng.standard_normal((4, 3))
    layer = N.BatchNorm1d(3, momentum=1.0)                # running stats = this batch's stats
    out = layer.forward(x)
    assert_allclose(layer.running_var, x.var(0, ddof=1), rtol=1e-13)
    assert_allclose(layer.running_mean, x.mean(0), rtol=1e-13)
    assert_allclose(out, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-13)


def test_batchnorm_batch_of_two_gives_plus_minus_one(rng):
    x = rng.standard_normal((2, 5))
    out = N.BatchNorm1d(5, eps=1e-12).forward(x)
    assert_allclose(np.abs(out), 1.0, rtol=1e-9)
    assert_allclose(out[0], -out[1], rtol=1e-12)


@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_gradcheck(train, rng):
    layer = N.BatchNorm1d(3)
    randomize_affine(layer, rng)
    layer.running_mean[...] = rng.standard_normal(3)
    layer.running_var[...] = rng.uniform(0.5, 2, 3)
    for shape in [(5, 3), (3, 3, 4)]:
        errors = check_layer(layer, rng.standard_normal(shape), train=train)
        assert set(errors) == {"x", "gamma", "beta"}
        assert max(errors.values()) < 1e-7, errors


# ---------------------------------------------------------------- LayerNorm

@pytest.mark.parametrize("shape", [(1, 4), (6, 5), (3, 7, 8), (2, 3, 4, 6), (5,)])
def test_layernorm_forward_backward_match_torch(shape, rng):
    d = shape[-1]
    layer = N.LayerNorm(d)
    randomize_affine(layer, rng)
    ln = torch.nn.LayerNorm(d, eps=layer.eps, dtype=torch.float64)
    with torch.no_grad():
        ln.weight.copy_(to_torch(layer.params["gamma"]))
        ln.bias.copy_(to_torch(layer.params["beta"]))
    x = 2.0 * rng.standard_normal(shape) + 1.0
    dout = rng.standard_normal(shape)
    out_t, dx_t = run_torch(ln, x, dout)
    for train in (True, False):                           # no mode dependence
        assert_allclose(layer.forward(x, train=train), out_t, rtol=RTOL, atol=ATOL)
        assert_allclose(layer.backward(dout), dx_t, rtol=RTOL, atol=ATOL)
        assert_allclose(layer.grads["gamma"], to_numpy(ln.weight.grad), rtol=RTOL, atol=ATOL)
        assert_allclose(layer.grads["beta"], to_numpy(ln.bias.grad), rtol=RTOL, atol=ATOL)


def test_layernorm_gradcheck_and_batch_independence(rng):
    layer = N.LayerNorm(6)
    randomize_affine(layer, rng)
    errors = check_layer(layer, rng.standard_normal((4, 6)))
    assert max(errors.values()) < 1e-7, errors
    x = rng.standard_normal((4, 6))
    y = x.copy()
    y[1:] = 100 * rng.standard_normal((3, 6))
    assert np.array_equal(layer.forward(x)[0], layer.forward(y)[0])


# ---------------------------------------------------------------- Residual, Sequential, fit

def test_residual_forward_backward_match_torch(rng):
    inner = L.Sequential(L.Linear(5, 5, rng=rng), L.ReLU(), L.Linear(5, 5, rng=rng))
    res = N.Residual(inner)
    assert set(res.params) == {"0.W", "0.b", "2.W", "2.b"}
    x, dout = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    W0, b0 = (to_torch(inner[0].params[k], True) for k in ("W", "b"))
    W2, b2 = (to_torch(inner[2].params[k], True) for k in ("W", "b"))
    xt = to_torch(x, True)
    out_t = xt + (torch.relu(xt @ W0 + b0) @ W2 + b2)
    out_t.backward(to_torch(dout))
    assert_allclose(res.forward(x), to_numpy(out_t), rtol=1e-12, atol=1e-14)
    assert_allclose(res.backward(dout), to_numpy(xt.grad), rtol=1e-12, atol=1e-14)
    for key, t in [("0.W", W0), ("0.b", b0), ("2.W", W2), ("2.b", b2)]:
        assert_allclose(res.grads[key], to_numpy(t.grad), rtol=1e-12, atol=1e-14)
    assert res.backward(dout, need_input_grad=False) is None
    assert res.params["0.W"] is inner[0].params["W"]      # the inner layer's own arrays


def test_residual_of_single_layer_keys_and_gradcheck(rng):
    res = N.Residual(L.Linear(3, 3, rng=rng))
    assert set(res.params) == {"W", "b"}
    errors = check_layer(res, rng.standard_normal((4, 3)))
    assert max(errors.values()) < 1e-7, errors
    x = rng.standard_normal((4, 3))
    dx = N.Residual(L.ReLU()).forward(x)
    assert_allclose(dx, x + np.maximum(x, 0))


def test_residual_with_dropout_gradcheck_reuses_mask(rng):
    res = N.Residual(L.Sequential(L.Linear(4, 4, rng=rng), L.Dropout(0.5, rng=1)))
    errors = check_layer(res, rng.standard_normal((3, 4)))
    assert max(errors.values()) < 1e-7, errors


def test_sequential_with_bn_ln_residual_matches_torch_and_gradcheck(rng):
    lin1, lin2, lin3 = (L.Linear(4, 4, rng=rng) for _ in range(3))
    bn, ln = N.BatchNorm1d(4), N.LayerNorm(4)
    randomize_affine(bn, rng)
    randomize_affine(ln, rng)
    model = L.Sequential(lin1, bn, L.ReLU(), N.Residual(L.Sequential(ln, lin2)), lin3)
    assert set(model.params) == {"0.W", "0.b", "1.gamma", "1.beta", "3.0.gamma", "3.0.beta",
                                 "3.1.W", "3.1.b", "4.W", "4.b"}
    x, dout = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    tl = [torch.nn.Linear(4, 4, dtype=torch.float64) for _ in range(3)]
    for t, d in zip(tl, (lin1, lin2, lin3)):
        with torch.no_grad():
            t.weight.copy_(to_torch(d.params["W"].T))
            t.bias.copy_(to_torch(d.params["b"]))
    tbn = torch_bn_from(bn)
    tln = torch.nn.LayerNorm(4, dtype=torch.float64)
    with torch.no_grad():
        tln.weight.copy_(to_torch(ln.params["gamma"]))
        tln.bias.copy_(to_torch(ln.params["beta"]))
    xt = to_torch(x, True)
    h = torch.relu(tbn(tl[0](xt)))
    out_t = tl[2](h + tl[1](tln(h)))
    out_t.backward(to_torch(dout))
    assert_allclose(model.forward(x), to_numpy(out_t), rtol=RTOL, atol=ATOL)
    assert_allclose(model.backward(dout), to_numpy(xt.grad), rtol=RTOL, atol=ATOL)
    assert_allclose(model.grads["1.gamma"], to_numpy(tbn.weight.grad), rtol=RTOL, atol=ATOL)
    assert_allclose(model.grads["3.0.gamma"], to_numpy(tln.weight.grad), rtol=RTOL, atol=ATOL)
    assert_allclose(model.grads["3.1.W"], to_numpy(tl[1].weight.grad).T, rtol=RTOL, atol=ATOL)
    assert_allclose(bn.running_var, to_numpy(tbn.running_var), rtol=RTOL, atol=ATOL)
    # a bias right before batch norm is cancelled by the mean subtraction: its gradient is 0
    # (up to rounding), so its relative error compares two round-off values; check it apart
    assert np.abs(model.grads["0.b"]).max() < 1e-12
    errors = check_layer(model, rng.standard_normal((6, 4)))
    del errors["0.b"]
    assert max(errors.values()) < 1e-7, errors


def test_fit_trains_bn_model_and_evaluate_uses_running_stats(rng):
    X = rng.standard_normal((64, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    bn = N.BatchNorm1d(8)
    model = L.Sequential(L.Linear(3, 8, rng=rng), bn, L.ReLU(), L.Linear(8, 2, rng=rng))
    hist = fit(model, X, y, optim.SGD(0.1), epochs=20, batch_size=16, rng=0)
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    assert bn.num_batches_tracked == 20 * 4
    rm = bn.running_mean.copy()
    out1 = model.forward(X[:5], train=False)
    out2 = model.forward(np.vstack([X[:5], 50 + X[5:9]]), train=False)[:5]
    assert np.array_equal(out1, out2) and np.array_equal(rm, bn.running_mean)


# ---------------------------------------------------------------- group_norm

@pytest.mark.parametrize("shape,groups", [((2, 6, 3, 4), 1), ((2, 6, 3, 4), 2), ((2, 6, 3, 4), 3),
                                          ((2, 6, 3, 4), 6), ((3, 4, 5), 2), ((3, 4), 4)])
def test_group_norm_matches_torch(shape, groups, rng):
    x = 2 * rng.standard_normal(shape) + 1
    want = to_numpy(TF.group_norm(to_torch(x), groups, eps=1e-5))
    assert_allclose(N.group_norm(x, groups), want, rtol=RTOL, atol=ATOL)


def test_group_norm_special_cases_are_layer_and_instance_norm(rng):
    x = rng.standard_normal((2, 4, 3, 3))
    ln = to_numpy(TF.layer_norm(to_torch(x), x.shape[1:]))
    inn = to_numpy(TF.instance_norm(to_torch(x)))
    assert_allclose(N.group_norm(x, 1), ln, rtol=RTOL, atol=ATOL)
    assert_allclose(N.group_norm(x, 4), inn, rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("make,match", [
    (lambda: N.BatchNorm1d(0), "num_features"),
    (lambda: N.BatchNorm1d(2.5), "num_features"),
    (lambda: N.BatchNorm1d(True), "num_features"),
    (lambda: N.BatchNorm1d(3, eps=0), "eps"),
    (lambda: N.BatchNorm1d(3, momentum=-0.1), "momentum"),
    (lambda: N.BatchNorm1d(3, momentum=1.5), "momentum"),
    (lambda: N.BatchNorm1d(3, momentum="a"), "momentum"),
    (lambda: N.LayerNorm(-1), "num_features"),
    (lambda: N.LayerNorm(3, eps=-1e-5), "eps"),
    (lambda: N.Residual("relu"), "layer"),
])
def test_bad_constructor_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs(rng):
    bn = N.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 3\)"):
        bn.forward(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="x: expected a 2 or 3-D"):
        bn.forward(np.zeros(3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn.forward(np.zeros((1, 3)))
    assert bn.num_batches_tracked == 0 and np.array_equal(bn.running_var, np.ones(3))
    bn.forward(np.ones((1, 3)), train=False)              # one example is fine in eval mode
    with pytest.raises(ValueError, match="x: expected finite"):
        bn.forward(np.array([[1.0, np.nan, 0.0], [0.0, 1.0, 2.0]]))
    with pytest.raises(ValueError, match="x: expected a real numeric"):
        bn.forward(np.array([["a", "b", "c"]]))
    with pytest.raises(ValueError, match="dout: expected shape"):
        bn.forward(np.zeros((4, 3)))
        bn.backward(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="call forward first"):
        N.LayerNorm(3).backward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="x: expected a last dimension of size 3"):
        N.LayerNorm(3).forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"layer: expected an output of the input's shape"):
        N.Residual(L.Linear(3, 2, rng=0)).forward(np.zeros((2, 3)))
    for g in (0, 4, 2.0, True):
        with pytest.raises(ValueError, match="num_groups"):
            N.group_norm(np.zeros((2, 6, 3)), g)
    with pytest.raises(ValueError, match="x: expected at least 2"):
        N.group_norm(np.zeros(6), 2)
    with pytest.raises(ValueError, match="eps"):
        N.group_norm(np.zeros((2, 6)), 2, eps=0)


def test_reexported_from_layers():
    assert L.BatchNorm1d is N.BatchNorm1d and L.LayerNorm is N.LayerNorm
    assert L.Residual is N.Residual
