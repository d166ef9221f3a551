"""dlcore.layers against torch.nn modules (float64), plus gradient checks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

from dlcore import layers as L
from dlcore import losses
from dlcore.gradcheck import check_layer
from conftest import to_torch, to_numpy, torch_linear_from

RTOL = 1e-12


def run_torch(module, x, dout):
    xt = to_torch(x, requires_grad=True)
    out = module(xt)
    out.backward(to_torch(dout))
    return to_numpy(out), to_numpy(xt.grad)


# ---------------------------------------------------------------- Linear

@pytest.mark.parametrize("n,i,o", [(1, 1, 1), (1, 4, 3), (5, 3, 2), (8, 10, 7)])
def test_linear_forward_backward_match_torch(n, i, o, rng):
    layer = L.Linear(i, o, rng=rng)
    assert layer.params["W"].shape == (i, o) and layer.params["b"].shape == (o,)
    x, dout = rng.standard_normal((n, i)), rng.standard_normal((n, o))
    lin = torch_linear_from(layer)
    out_t, dx_t = run_torch(lin, x, dout)
    out = layer.forward(x)
    dx = layer.backward(dout)
    assert_allclose(out, out_t, rtol=RTOL, atol=1e-14)
    assert_allclose(out, x @ layer.params["W"] + layer.params["b"], rtol=0, atol=0)
    assert_allclose(dx, dx_t, rtol=RTOL, atol=1e-14)
    assert_allclose(layer.grads["W"], to_numpy(lin.weight.grad).T, rtol=RTOL, atol=1e-14)
    assert_allclose(layer.grads["b"], to_numpy(lin.bias.grad), rtol=RTOL, atol=1e-14)
    assert layer.grads["W"].shape == layer.params["W"].shape


def test_linear_without_bias_matches_torch(rng):
    layer = L.Linear(4, 3, rng=rng, bias=False)
    assert set(layer.params) == {"W"}
    x, dout = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    lin = torch_linear_from(layer)
    out_t, dx_t = run_torch(lin, x, dout)
    assert_allclose(layer.forward(x), out_t, rtol=RTOL, atol=1e-14)
    assert_allclose(layer.backward(dout), dx_t, rtol=RTOL, atol=1e-14)
    assert set(layer.grads) == {"W"}
    assert_allclose(layer.grads["W"], to_numpy(lin.weight.grad).T, rtol=RTOL, atol=1e-14)


def test_linear_init_like_torch_and_seeded():
    a, b = L.Linear(16, 8, rng=3), L.Linear(16, 8, rng=3)
    assert_array_equal(a.params["W"], b.params["W"])
    for layer in (a, L.Linear(100, 50, rng=np.random.default_rng(0))):
        bound = 1 / np.sqrt(layer.in_features)
        for p in layer.params.values():
            assert p.dtype == np.float64 and np.all(np.abs(p) <= bound)
    assert not np.array_equal(L.Linear(16, 8, rng=4).params["W"], a.params["W"])


def test_linear_grads_are_overwritten_not_accumulated(rng):
    layer = L.Linear(3, 2, rng=rng)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(x); layer.backward(dout)
    g1 = {k: v.copy() for k, v in layer.grads.items()}
    layer.forward(x); layer.backward(dout)
    for k in g1:
        assert_array_equal(layer.grads[k], g1[k])


def test_linear_sees_in_place_parameter_updates(rng):
    layer = L.Linear(3, 2, rng=rng)
    x = rng.standard_normal((2, 3))
    layer.params["W"] *= 2.0
    layer.params["b"][:] = 1.0
    assert_allclose(layer.forward(x), x @ layer.params["W"] + 1.0, rtol=1e-15)


# ---------------------------------------------------------------- activations

ACTIVATIONS = {
    "ReLU": (lambda: L.ReLU(), lambda: torch.nn.ReLU()),
    "LeakyReLU": (lambda: L.LeakyReLU(), lambda: torch.nn.LeakyReLU()),
    "LeakyReLU_0.2": (lambda: L.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    "Sigmoid": (lambda: L.Sigmoid(), lambda: torch.nn.Sigmoid()),
    "Tanh": (lambda: L.Tanh(), lambda: torch.nn.Tanh()),
    "ELU": (lambda: L.ELU(), lambda: torch.nn.ELU()),
    "ELU_0.5": (lambda: L.ELU(0.5), lambda: torch.nn.ELU(0.5)),
}
# see test_functional.DERIV_ATOL: 1 - y^2 (tanh) cancels; numpy's and torch's tanh may differ by an ulp
DERIV_ATOL = 2.0 ** -51


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (6, 4), (2, 3, 4)])
def test_activation_layers_match_torch(name, shape, rng):
    ours, theirs = ACTIVATIONS[name][0](), ACTIVATIONS[name][1]()
    x = rng.standard_normal(shape) * 3
    x.flat[0] = 0.0  # the kink
    dout = rng.standard_normal(shape)
    out_t, dx_t = run_torch(theirs, x, dout)
    assert_allclose(ours.forward(x), out_t, rtol=RTOL, atol=1e-300)
    assert_allclose(ours.backward(dout), dx_t, rtol=RTOL, atol=DERIV_ATOL * np.abs(dout).max())
    assert ours.params == {} and ours.grads == {}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_layers_extreme_inputs(name):
    ours, theirs = ACTIVATIONS[name][0](), ACTIVATIONS[name][1]()
    x = np.array([[-1e4, -800.0, -30.0, 0.0, 30.0, 800.0, 1e4]])
    dout = np.ones_like(x)
    out_t, dx_t = run_torch(theirs, x, dout)
    out, dx = ours.forward(x), ours.backward(dout)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))
    assert_allclose(out, out_t, rtol=RTOL, atol=1e-300)
    assert_allclose(dx, dx_t, rtol=RTOL, atol=DERIV_ATOL)


# ---------------------------------------------------------------- dout never mutated, inputs never mutated

def _all_layers(rng):
    return [L.Linear(4, 4, rng=rng), L.ReLU(), L.LeakyReLU(0.1), L.Sigmoid(), L.Tanh(), L.ELU(), L.Dropout(0.5, rng=1),
            L.Sequential(L.Linear(4, 5, rng=rng), L.Tanh(), L.Dropout(0.2, rng=2), L.Linear(5, 4, rng=rng))]


def test_backward_never_mutates_dout_or_x(rng):
    for layer in _all_layers(rng):
        x = rng.standard_normal((3, 4))
        x0 = x.copy()
        out = layer.forward(x)
        dout = rng.standard_normal(out.shape)
        d0 = dout.copy()
        dx = layer.backward(dout)
        assert_array_equal(dout, d0)
        assert_array_equal(x, x0)
        assert dx is not dout and not np.shares_memory(dx, dout)
        assert dx.shape == x.shape
        # a second backward with the same dout gives the same result (no hidden state changed)
        assert_array_equal(layer.backward(dout), dx)


def test_backward_accepts_read_only_dout(rng):
    for layer in _all_layers(rng):
        out = layer.forward(rng.standard_normal((3, 4)))
        dout = rng.standard_normal(out.shape)
        dout.setflags(write=False)
        layer.backward(dout)


# ---------------------------------------------------------------- Dropout

def test_dropout_inverted_scaling_and_per_element_mask():
    layer = L.Dropout(0.25, rng=0)
    x = np.arange(1.0, 4001.0).reshape(40, 100)
    out = layer.forward(x)
    kept = out != 0
    assert_allclose(out[kept], x[kept] / 0.75, rtol=1e-15)
    # mask per element: differs across examples and across units
    assert not np.all(kept == kept[0]) and not np.all(kept == kept[:, :1])
    assert 0.2 < 1 - kept.mean() < 0.3
    assert_array_equal(layer.cache["mask"], kept / 0.75)


def test_dropout_preserves_expectation_statistically():
    p, n = 0.3, 200_000
    layer = L.Dropout(p, rng=123)
    x = np.full((n, 1), 2.0)
    out = layer.forward(x)
    # E[out] = 2; sd of one element is 2 sqrt(p/(1-p)) ~ 1.31, so sd of the mean ~ 0.0029
    assert abs(out.mean() - 2.0) < 5 * 2 * np.sqrt(p / (1 - p)) / np.sqrt(n)
    assert abs((out == 0).mean() - p) < 5 * np.sqrt(p * (1 - p) / n)


def test_dropout_train_false_is_identity_and_backward_passes_through(rng):
    layer = L.Dropout(0.5, rng=0)
    x = rng.standard_normal((5, 6))
    assert_array_equal(layer.forward(x, train=False), x)
    dout = rng.standard_normal((5, 6))
    assert_array_equal(layer.backward(dout), dout)
    assert_array_equal(layer(x, train=False), x)


def test_dropout_p_zero_is_identity(rng):
    layer = L.Dropout(0.0, rng=0)
    x = rng.standard_normal((3, 3))
    assert_array_equal(layer.forward(x), x)


def test_dropout_backward_uses_the_forward_mask(rng):
    layer = L.Dropout(0.5, rng=7)
    x = rng.standard_normal((6, 8))
    out = layer.forward(x)
    dout = rng.standard_normal((6, 8))
    dx = layer.backward(dout)
    mask = layer.cache["mask"]
    assert_array_equal(dx, dout * mask)
    assert_array_equal(dx == 0, out == 0)
    # torch check: an elementwise multiplication by the same mask has the same gradient
    xt = to_torch(x, requires_grad=True)
    (xt * to_torch(mask)).backward(to_torch(dout))
    assert_allclose(dx, to_numpy(xt.grad), rtol=0, atol=0)


def test_dropout_fresh_mask_each_call_and_seeded():
    x = np.ones((10, 10))
    a, b = L.Dropout(0.5, rng=5), L.Dropout(0.5, rng=5)
    o1, o2 = a.forward(x), a.forward(x)
    assert not np.array_equal(o1, o2)
    assert_array_equal(b.forward(x), o1)


def test_dropout_statistics_match_torch_dropout():
    # same expectation and variance as torch.nn.functional.dropout (the masks differ: different RNGs)
    p, n = 0.4, 100_000
    ours = L.Dropout(p, rng=0).forward(np.ones((n, 1)))
    torch.manual_seed(0)
    theirs = to_numpy(TF.dropout(torch.ones(n, 1, dtype=torch.float64), p=p, training=True))
    assert set(np.unique(ours)) == set(np.unique(theirs)) == {0.0, 1 / (1 - p)}
    assert abs(ours.mean() - theirs.mean()) < 0.02


# ---------------------------------------------------------------- Sequential

def _mlp_pair(rng, sizes=(5, 8, 6, 3), act=L.ReLU, tact=torch.nn.ReLU):
    mods, tmods = [], []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = L.Linear(a, b, rng=rng)
        mods.append(lin); tmods.append(torch_linear_from(lin))
        if i < len(sizes) - 2:
            mods.append(act()); tmods.append(tact())
    return L.Sequential(*mods), torch.nn.Sequential(*tmods)


@pytest.mark.parametrize("n", [1, 7])
@pytest.mark.parametrize("act,tact", [(L.ReLU, torch.nn.ReLU), (L.Tanh, torch.nn.Tanh), (L.Sigmoid, torch.nn.Sigmoid),
                                      (lambda: L.ELU(0.7), lambda: torch.nn.ELU(0.7)),
                                      (lambda: L.LeakyReLU(0.05), lambda: torch.nn.LeakyReLU(0.05))])
def test_sequential_mlp_with_cross_entropy_matches_torch(n, act, tact, rng):
    model, tmodel = _mlp_pair(rng, act=act, tact=tact)
    x = rng.standard_normal((n, 5))
    y = rng.integers(0, 3, n)
    logits = model.forward(x)
    loss, dlogits = losses.softmax_cross_entropy(logits, y)
    dx = model.backward(dlogits)

    xt = to_torch(x, requires_grad=True)
    tlogits = tmodel(xt)
    tloss = TF.cross_entropy(tlogits, torch.tensor(y))
    tloss.backward()

    assert_allclose(logits, to_numpy(tlogits), rtol=1e-12, atol=1e-14)
    assert_allclose(loss, tloss.item(), rtol=1e-12)
    assert_allclose(dx, to_numpy(xt.grad), rtol=1e-10, atol=1e-16)
    tparams = dict(tmodel.named_parameters())
    assert list(model.params) == ["0.W", "0.b", "2.W", "2.b", "4.W", "4.b"]
    assert list(model.grads) == list(model.params)
    for key, g in model.grads.items():
        idx, name = key.split(".")
        tg = to_numpy(tparams[f"{idx}.{'weight' if name == 'W' else 'bias'}"].grad)
        assert_allclose(g, tg.T if name == "W" else tg, rtol=1e-10, atol=1e-16)


def test_sequential_params_are_the_layers_arrays(rng):
    model = L.Sequential(L.Linear(3, 4, rng=rng), L.ReLU(), L.Linear(4, 2, rng=rng))
    assert model.params["0.W"] is model[0].params["W"]
    assert model.params["2.b"] is model[2].params["b"]
    model.params["2.b"] += 1.0  # in-place update reaches the layer
    assert_array_equal(model[2].params["b"], model.params["2.b"])
    assert len(model) == 3
    assert model.grads == {}
    out = model.forward(rng.standard_normal((2, 3)))
    model.backward(np.ones_like(out))
    assert model.grads["0.W"] is model[0].grads["W"]


def test_sequential_train_flag_reaches_dropout(rng):
    model = L.Sequential(L.Linear(4, 50, rng=rng), L.Dropout(0.5, rng=0))
    x = rng.standard_normal((3, 4))
    assert_array_equal(model.forward(x, train=False), model[0].forward(x))
    assert np.any(model.forward(x, train=True) == 0)


def test_nested_sequential(rng):
    inner = L.Sequential(L.Linear(3, 4, rng=rng), L.Tanh())
    model = L.Sequential(inner, L.Linear(4, 2, rng=rng))
    assert list(model.params) == ["0.0.W", "0.0.b", "1.W", "1.b"]
    errs = check_layer(model, rng.standard_normal((2, 3)))
    assert max(errs.values()) < 1e-7


def test_reprs():
    assert repr(L.Linear(2, 3, rng=0)) == "Linear(in_features=2, out_features=3)"
    assert "Dropout(p=0.5)" in repr(L.Sequential(L.ReLU(), L.Dropout(0.5)))
    assert repr(L.ELU(2.0)) == "ELU(alpha=2.0)" and repr(L.LeakyReLU(0.1)) == "LeakyReLU(alpha=0.1)"


# ---------------------------------------------------------------- gradient checks

def _gradcheck_cases():
    return [
        ("Linear", lambda: L.Linear(4, 3, rng=0), (5, 4)),
        ("Linear_n1", lambda: L.Linear(4, 3, rng=0), (1, 4)),
        ("Linear_nobias", lambda: L.Linear(4, 3, rng=0, bias=False), (5, 4)),
        ("ReLU", L.ReLU, (5, 4)),
        ("LeakyReLU", lambda: L.LeakyReLU(0.1), (5, 4)),
        ("Sigmoid", L.Sigmoid, (5, 4)),
        ("Tanh", L.Tanh, (5, 4)),
        ("ELU", lambda: L.ELU(0.8), (5, 4)),
        ("Dropout", lambda: L.Dropout(0.5, rng=3), (5, 4)),
        ("Dropout_eval", lambda: L.Dropout(0.5, rng=3), (5, 4)),
        ("Sequential", lambda: L.Sequential(L.Linear(4, 6, rng=1), L.ELU(), L.Dropout(0.3, rng=2),
                                            L.Linear(6, 5, rng=3), L.Sigmoid(), L.Linear(5, 2, rng=4), L.Tanh()), (3, 4)),
    ]


@pytest.mark.parametrize("name,make,shape", _gradcheck_cases(), ids=[c[0] for c in _gradcheck_cases()])
def test_check_layer_every_layer(name, make, shape):
    layer = make()
    x = np.random.default_rng(0).standard_normal(shape)
    # keep ReLU-type kinks away from the finite-difference stencil
    x = np.where(np.abs(x) < 1e-3, 0.5, x)
    errs = check_layer(layer, x, train=(name != "Dropout_eval"))
    assert set(errs) == {"x", *layer.params}
    for k, e in errs.items():
        assert e < 1e-7, (name, k, e)


# ---------------------------------------------------------------- property test

@settings(max_examples=50, deadline=None, derandomize=True)
@given(n=st.integers(1, 4), data=st.data())
def test_property_activation_layers_match_torch(n, data):
    x = data.draw(hnp.arrays(np.float64, (n, 3), elements=st.floats(-1e4, 1e4, allow_nan=False)))
    dout = data.draw(hnp.arrays(np.float64, (n, 3), elements=st.floats(-10, 10, allow_nan=False)))
    for make, tmake in ACTIVATIONS.values():
        ours = make()
        out_t, dx_t = run_torch(tmake(), x, dout)
        assert_allclose(ours.forward(x), out_t, rtol=RTOL, atol=1e-300)
        assert_allclose(ours.backward(dout), dx_t, rtol=RTOL, atol=DERIV_ATOL * 10)


def test_backward_can_skip_the_input_gradient():
    """need_input_grad=False skips dL/dx of the first Linear (returns None) and leaves every
    parameter gradient bit-identical."""
    rng = np.random.default_rng(3)
    x, dout = rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    net = L.Sequential(L.Linear(4, 3, rng=0), L.Tanh(), L.Linear(3, 2, rng=1))
    net.forward(x)
    dx = net.backward(dout)
    full = {k: v.copy() for k, v in net.grads.items()}
    net.forward(x)
    assert dx is not None and net.backward(dout, need_input_grad=False) is None
    for k, v in net.grads.items():
        assert np.array_equal(v, full[k])
    # a network that starts with an activation still returns dL/dx
    act_first = L.Sequential(L.Tanh(), L.Linear(4, 2, rng=0))
    act_first.forward(x)
    assert act_first.backward(dout, need_input_grad=False).shape == x.shape
