"""GELU, SiLU and softplus (dlcore.functional) and the GELU / SiLU layers, against torch float64."""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from numpy.testing import assert_allclose, assert_array_equal

from dlcore import functional as F
from dlcore import layers as L
from dlcore.gradcheck import check_layer
from conftest import to_torch, to_numpy, torch_grad

RTOL = 1e-12
# PyTorch evaluates GELU as 0.5 x (1 + erf(x/√2)) (and 0.5 x (1 + tanh u)); for x < -3 the sum
# 1 + erf cancels, so torch's *relative* error grows to 1e-8 at x = -6 and torch returns -0.0 at
# x = -10 where the true value is -7.6e-23. dlcore uses erfc (and σ(2u)), which is accurate there
# (checked against mpmath below). The absolute difference stays below |x| * 2^-52, hence this atol.
ATOL = 1e-14

Z = np.concatenate([np.linspace(-12.0, 12.0, 481), [-0.0, 1e-8, -1e-8, 0.7, -0.75, -2.4]])
EXTREMES = np.array([-1e300, -1e4, -1000.0, -745.0, -709.0, -50.0, -40.0, 40.0, 50.0, 709.0,
                     745.0, 1000.0, 1e4, 1e300])

# name: (dlcore f, dlcore f', torch f)
CASES = {
    "gelu": (F.gelu, F.gelu_grad, TF.gelu),
    "gelu_none": (lambda z: F.gelu(z, approximate="none"),
                  lambda z: F.gelu_grad(z, approximate="none"),
                  lambda t: TF.gelu(t, approximate="none")),
    "gelu_tanh": (lambda z: F.gelu(z, approximate="tanh"),
                  lambda z: F.gelu_grad(z, approximate="tanh"),
                  lambda t: TF.gelu(t, approximate="tanh")),
    "silu": (F.silu, F.silu_grad, TF.silu),
    # threshold=inf: torch's softplus otherwise switches to the identity for z > 20
    "softplus": (F.softplus, F.softplus_grad, lambda t: TF.softplus(t, threshold=float("inf"))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_and_derivative_match_torch(name):
    f, df, tf = CASES[name]
    out, (grad,) = torch_grad(tf, Z)
    assert_allclose(f(Z), out, rtol=RTOL, atol=ATOL)
    assert_allclose(df(Z), grad, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", sorted(CASES))
def test_derivative_matches_central_differences(name):
    f, df, _ = CASES[name]
    z = np.linspace(-6.0, 6.0, 61)
    h = 1e-5
    numeric = (f(z + h) - f(z - h)) / (2 * h)
    assert_allclose(df(z), numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", sorted(CASES))
def test_shape_is_kept_and_dtype_is_float64(name):
    f, df, _ = CASES[name]
    z = np.arange(-6, 6).reshape(3, 2, 2)               # integer input is converted
    assert f(z).shape == z.shape and f(z).dtype == np.float64
    assert df(z).shape == z.shape and df(z).dtype == np.float64
    assert np.ndim(f(0.5)) == 0 and np.ndim(df(0.5)) == 0


@pytest.mark.parametrize("name", sorted(CASES))
def test_large_inputs_are_finite_without_warnings(name):
    f, df, _ = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            y, d = f(EXTREMES), df(EXTREMES)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(d))
    pos, neg = EXTREMES > 0, EXTREMES < 0
    # every one of these behaves like ReLU far from 0: y = z on the right, y -> 0 on the left
    assert_array_equal(y[pos], EXTREMES[pos])
    assert_array_equal(d[pos], np.ones(pos.sum()))
    assert np.all(np.abs(y[neg]) < 1e-15 * np.abs(EXTREMES[neg]) + 1e-300)
    assert np.all(np.abs(d[neg]) < 1e-15)


def test_large_inputs_match_torch_where_torch_is_finite():
    z = EXTREMES[np.abs(EXTREMES) <= 1e4]
    for name, (f, df, tf) in CASES.items():
        if name == "softplus":   # exp(z) overflows in torch without its z > 20 shortcut
            tf = TF.softplus     # the shortcut returns z; the true value differs by < e^-40
        out, (grad,) = torch_grad(tf, z)
        assert_allclose(f(z), out, rtol=RTOL, atol=ATOL, err_msg=name)
        assert_allclose(df(z), grad, rtol=RTOL, atol=ATOL, err_msg=name)


@pytest.mark.parametrize("x", [-3.0, -6.0, -10.0, -20.0, -37.5, 0.3, 5.0])
def test_exact_gelu_is_accurate_in_the_left_tail(x):
    mpmath.mp.dps = 40
    true = float(mpmath.mpf(x) * mpmath.ncdf(x))
    true_grad = float(mpmath.ncdf(x) + mpmath.mpf(x) * mpmath.npdf(x))
    assert F.gelu(np.array([x]))[0] == pytest.approx(true, rel=1e-12)
    assert F.gelu_grad(np.array([x]))[0] == pytest.approx(true_grad, rel=1e-11)
    assert F.normal_cdf(np.array([x]))[0] == pytest.approx(float(mpmath.ncdf(x)), rel=1e-12)


def test_tanh_gelu_is_accurate_in_the_left_tail():
    mpmath.mp.dps = 40
    c, k = mpmath.sqrt(2 / mpmath.pi), mpmath.mpf("0.044715")
    for x in [-4.0, -6.0, -9.0]:
        xm = mpmath.mpf(x)
        true = float(xm / (1 + mpmath.exp(-2 * c * (xm + k * xm ** 3))))
        assert F.gelu(np.array([x]), approximate="tanh")[0] == pytest.approx(true, rel=1e-12)


def test_known_values_and_identities():
    z = np.linspace(-8, 8, 321)
    # GELU(z) - GELU(-z) = z (Φ(z) + Φ(-z) = 1); the same holds for SiLU
    assert_allclose(F.gelu(z) - F.gelu(-z), z, rtol=1e-13, atol=1e-15)
    assert_allclose(F.silu(z) - F.silu(-z), z, rtol=1e-13, atol=1e-15)
    # softplus(z) - softplus(-z) = z and softplus' = sigmoid
    assert_allclose(F.softplus(z) - F.softplus(-z), z, rtol=1e-13, atol=1e-14)
    assert F.gelu(np.array(1.0)) == pytest.approx(0.8413447460685429, rel=1e-15)
    assert F.silu(np.array(1.0)) == pytest.approx(1.0 / (1.0 + np.exp(-1.0)), rel=1e-15)
    assert F.softplus(np.array(0.0)) == pytest.approx(np.log(2.0), rel=1e-15)
    # GELU and SiLU dip below zero: minima near -0.17 and -0.28
    assert -0.171 < F.gelu(z).min() < -0.169 and -0.279 < F.silu(z).min() < -0.277
    # the two GELU forms differ by less than 1e-3 everywhere
    assert np.max(np.abs(F.gelu(z) - F.gelu(z, approximate="tanh"))) < 1e-3


@pytest.mark.parametrize("fn", [F.gelu, F.gelu_grad])
@pytest.mark.parametrize("bad", ["erf", "exact", None, 1, "TANH"])
def test_bad_approximate_is_rejected(fn, bad):
    with pytest.raises(ValueError, match="approximate"):
        fn(np.zeros(3), approximate=bad)


@pytest.mark.parametrize("fn", [F.gelu, F.gelu_grad, F.silu, F.silu_grad, F.softplus,
                                F.softplus_grad, F.normal_cdf])
@pytest.mark.parametrize("bad", [np.array([0.0, np.nan]), np.array([np.inf]), np.array(["a"]),
                                 np.array([1 + 2j]), [object()]])
def test_bad_input_is_rejected(fn, bad):
    with pytest.raises(ValueError, match="z"):
        fn(bad)


@pytest.mark.parametrize("layer_fn, torch_fn", [
    (lambda: L.GELU(), lambda t: TF.gelu(t)),
    (lambda: L.GELU(approximate="tanh"), lambda t: TF.gelu(t, approximate="tanh")),
    (lambda: L.SiLU(), TF.silu),
])
def test_layers_match_torch(layer_fn, torch_fn, rng):
    x = rng.normal(0, 3, size=(7, 5))
    dout = rng.normal(size=(7, 5))
    layer = layer_fn()
    out = layer.forward(x)
    dx = layer.backward(dout)
    ref, (ref_dx,) = torch_grad(torch_fn, x, grad_output=dout)
    assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
    assert_allclose(dx, ref_dx, rtol=RTOL, atol=ATOL)
    assert layer.params == {} and layer.grads == {}


@pytest.mark.parametrize("layer", [L.GELU(), L.GELU("tanh"), L.SiLU()])
def test_layers_pass_gradcheck(layer, rng):
    x = rng.normal(0, 2, size=(4, 3))
    errors = check_layer(layer, x)
    assert max(errors.values()) < 1e-8


def test_layer_validation_and_repr():
    with pytest.raises(ValueError, match="approximate"):
        L.GELU(approximate="erf")
    assert repr(L.GELU()) == "GELU(approximate='none')"
    assert repr(L.GELU("tanh")) == "GELU(approximate='tanh')"
    assert repr(L.SiLU()) == "SiLU()"
    layer = L.SiLU()
    with pytest.raises(ValueError, match="forward"):
        layer.backward(np.ones((2, 2)))
    layer.forward(np.ones((2, 2)))
    with pytest.raises(ValueError, match="dout"):
        layer.backward(np.ones((3, 2)))
    with pytest.raises(ValueError, match="x"):
        layer.forward(np.array([[np.nan]]))


def test_backward_does_not_modify_dout(rng):
    layer = L.GELU()
    layer.forward(rng.normal(size=(3, 4)))
    dout = rng.normal(size=(3, 4))
    before = dout.copy()
    layer.backward(dout)
    assert_array_equal(dout, before)


def test_torch_module_defaults_agree():
    # nn.GELU() is the exact form, like dlcore's default
    x = np.linspace(-3, 3, 13)
    assert_allclose(L.GELU().forward(x), to_numpy(torch.nn.GELU()(to_torch(x))), rtol=RTOL)
    assert_allclose(L.SiLU().forward(x), to_numpy(torch.nn.SiLU()(to_torch(x))), rtol=RTOL)
