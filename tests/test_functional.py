"""dlcore.functional against torch autograd (float64)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

from dlcore import functional as F
from conftest import to_torch, to_numpy, torch_grad

RTOL = 1e-12
ATOL = 1e-300  # only to make exact zeros compare; every comparison is relative
# tanh' = 1 - tanh(z)^2 is computed from the rounded output both here and in torch's backward
# (tanh_backward uses 1 - y*y). NumPy's and torch's tanh may differ by one ulp of 1 near
# |tanh| = 1, and the cancellation in 1 - y^2 turns that into an *absolute* difference of up to
# 2 * 2^-53 * 2 (~4.4e-16); relative agreement is impossible there, so derivatives get this atol.
DERIV_ATOL = 2.0 ** -51

EXTREMES = np.array([-1e4, -1000.0, -745.0, -709.0, -50.0, -20.0, -1.0, -1e-8, -0.0, 0.0,
                     1e-8, 0.5, 20.0, 50.0, 709.0, 745.0, 1000.0, 1e4])

# (dlcore f, dlcore f', torch f, kwargs)
ELEMENTWISE = {
    "sigmoid": (F.sigmoid, F.sigmoid_grad, torch.sigmoid, {}),
    "tanh": (F.tanh, F.tanh_grad, torch.tanh, {}),
    "relu": (F.relu, F.relu_grad, torch.relu, {}),
    "leaky_relu": (F.leaky_relu, F.leaky_relu_grad, lambda t: TF.leaky_relu(t, 0.01), {}),
    "leaky_relu_0.2": (lambda z: F.leaky_relu(z, alpha=0.2), lambda z: F.leaky_relu_grad(z, alpha=0.2),
                       lambda t: TF.leaky_relu(t, 0.2), {}),
    "elu": (F.elu, F.elu_grad, TF.elu, {}),
    "elu_0.5": (lambda z: F.elu(z, alpha=0.5), lambda z: F.elu_grad(z, alpha=0.5),
                lambda t: TF.elu(t, alpha=0.5), {}),
    "elu_2": (lambda z: F.elu(z, 2.0), lambda z: F.elu_grad(z, 2.0), lambda t: TF.elu(t, alpha=2.0), {}),
}


def _inputs(rng):
    return [
        rng.standard_normal((5, 7)) * 3,
        rng.standard_normal((1, 1)),
        rng.standard_normal((2, 3, 4)) * 10,
        rng.standard_normal(6),
        np.float64(0.7),
        EXTREMES,
        np.array([-3.0, -1.0, 0.0, 1.0, 3.0]),
    ]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_value_and_derivative_match_torch(name, rng):
    f, df, tf, _ = ELEMENTWISE[name]
    for z in _inputs(rng):
        val, (grad,) = torch_grad(tf, z)
        out = f(z)
        assert out.shape == np.shape(z)
        assert out.dtype == np.float64
        assert_allclose(out, val, rtol=RTOL, atol=ATOL)
        assert_allclose(df(z), grad, rtol=RTOL, atol=DERIV_ATOL)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_derivative_with_grad_outputs(name, rng):
    f, df, tf, _ = ELEMENTWISE[name]
    z = rng.standard_normal((4, 6)) * 4
    g = rng.standard_normal((4, 6))
    _, (grad,) = torch_grad(tf, z, grad_output=g)
    assert_allclose(df(z) * g, grad, rtol=RTOL, atol=DERIV_ATOL * np.abs(g).max())


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_extremes_finite_no_warnings(name):
    f, df, tf, _ = ELEMENTWISE[name]
    z = EXTREMES
    out, d = f(z), df(z)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(d))
    val, (grad,) = torch_grad(tf, z)
    assert_allclose(out, val, rtol=RTOL, atol=ATOL)
    assert_allclose(d, grad, rtol=RTOL, atol=DERIV_ATOL)


def test_sigmoid_saturates_exactly_and_stays_in_unit_interval():
    s = F.sigmoid(np.array([-1e4, -800.0, 0.0, 800.0, 1e4]))
    assert_array_equal(s, [0.0, 0.0, 0.5, 1.0, 1.0])
    z = np.linspace(-50, 50, 1001)
    s = F.sigmoid(z)
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(np.diff(s) >= 0)
    # symmetric: sigma(-z) = 1 - sigma(z)
    assert_allclose(F.sigmoid(-z), 1.0 - s, rtol=1e-12, atol=2.0 ** -52)  # s carries ulp(1)/2 of rounding; 1 - s exposes it
    # the small tail is computed with full relative accuracy (no 1 - (1 - tiny) cancellation)
    assert_allclose(F.sigmoid(np.array([-30.0, -700.0])), np.exp([-30.0, -700.0]) / (1 + np.exp([-30.0, -700.0])),
                    rtol=1e-14)
    assert F.sigmoid_grad(np.array(0.0)) == 0.25


def test_derivatives_at_zero_follow_pytorch_subgradients():
    z = np.array([0.0])
    assert F.relu_grad(z)[0] == 0.0
    assert F.leaky_relu_grad(z, 0.1)[0] == 0.1
    assert F.elu_grad(z, 0.7)[0] == 0.7
    for d, tf in [(F.relu_grad, torch.relu), (lambda v: F.leaky_relu_grad(v, 0.1), lambda t: TF.leaky_relu(t, 0.1)),
                  (lambda v: F.elu_grad(v, 0.7), lambda t: TF.elu(t, 0.7))]:
        _, (g,) = torch_grad(tf, z)
        assert_array_equal(d(z), g)


def test_leaky_relu_is_a_slope_not_a_constant():
    z = np.array([-4.0, -2.0, 0.0, 3.0])
    assert_array_equal(F.leaky_relu(z, alpha=0.25), [-1.0, -0.5, 0.0, 3.0])
    assert_array_equal(F.leaky_relu(z), [-0.04, -0.02, 0.0, 3.0])


def test_elu_near_zero_uses_expm1():
    z = np.array([-1e-12, -1e-9])
    assert_allclose(F.elu(z), np.expm1(z), rtol=1e-15)
    assert_allclose(F.elu(np.array([-1e4])), [-1.0])
    assert_allclose(F.elu(np.array([-1e4]), alpha=3.0), [-3.0])


def test_accepts_lists_ints_and_scalars():
    assert_array_equal(F.relu([-1, 2]), [0.0, 2.0])
    assert F.relu([-1, 2]).dtype == np.float64
    assert F.sigmoid(0) == 0.5
    assert F.tanh(np.int32(0)) == 0.0


def test_inputs_are_not_modified(rng):
    z = rng.standard_normal((3, 4)) * 10
    z0 = z.copy()
    for f, df, _, _ in ELEMENTWISE.values():
        f(z), df(z)
    F.softmax(z), F.log_softmax(z, axis=0), F.logsumexp(z), F.softmax_jacobian(z)
    F.softmax_vjp(z, z), F.log_softmax_vjp(z, z)
    assert_array_equal(z, z0)


# ---------------------------------------------------------------- softmax family

SOFTMAX_CASES = [((6,), -1), ((6,), 0), ((4, 5), -1), ((4, 5), 1), ((4, 5), 0), ((4, 5), -2),
                 ((2, 3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), 2), ((2, 3, 4), -1), ((1, 1), -1), ((1, 7), 1), ((3, 1), -1)]


@pytest.mark.parametrize("shape,axis", SOFTMAX_CASES)
def test_softmax_and_log_softmax_match_torch(shape, axis, rng):
    z = rng.standard_normal(shape) * 5
    assert_allclose(F.softmax(z, axis=axis), to_numpy(torch.softmax(to_torch(z), dim=axis)), rtol=RTOL, atol=1e-300)
    assert_allclose(F.log_softmax(z, axis=axis), to_numpy(torch.log_softmax(to_torch(z), dim=axis)), rtol=RTOL)
    assert_allclose(F.logsumexp(z, axis=axis), to_numpy(torch.logsumexp(to_torch(z), dim=axis)), rtol=RTOL)
    assert_allclose(F.logsumexp(z, axis=axis, keepdims=True),
                    to_numpy(torch.logsumexp(to_torch(z), dim=axis, keepdim=True)), rtol=RTOL)
    assert_allclose(F.softmax(z, axis=axis).sum(axis=axis), 1.0, rtol=1e-14)


def test_softmax_default_axis_is_last(rng):
    z = rng.standard_normal((3, 4))
    assert_array_equal(F.softmax(z), F.softmax(z, axis=1))
    assert_array_equal(F.log_softmax(z), F.log_softmax(z, axis=-1))
    assert_array_equal(F.logsumexp(z), F.logsumexp(z, axis=1))


@pytest.mark.parametrize("shift", [-1e4, -1000.0, -3.0, 0.5, 1000.0, 1e4])
def test_softmax_shift_invariance(shift, rng):
    z = rng.standard_normal((4, 6))
    assert_allclose(F.softmax(z + shift), F.softmax(z), rtol=1e-9, atol=1e-15)
    assert_allclose(F.log_softmax(z + shift), F.log_softmax(z), rtol=1e-9, atol=1e-11)
    assert_allclose(F.logsumexp(z + shift) - shift, F.logsumexp(z), rtol=1e-9, atol=1e-9)


def test_softmax_extreme_logits_finite_and_match_torch():
    z = np.array([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4], [-1e4, -1e4, -1e4], [0.0, 745.0, -745.0]])
    p, lp = F.softmax(z), F.log_softmax(z)
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(lp))
    assert_array_equal(p[0], [1.0, 0.0, 0.0])
    assert_allclose(p[1], [0.5, 0.5, 0.0])
    assert_allclose(p[2], [1 / 3] * 3, rtol=1e-15)
    assert_allclose(lp[0], [0.0, -2e4, -1e4])
    assert_allclose(p, to_numpy(torch.softmax(to_torch(z), dim=-1)), rtol=RTOL, atol=1e-300)
    assert_allclose(lp, to_numpy(torch.log_softmax(to_torch(z), dim=-1)), rtol=RTOL)
    assert_allclose(F.logsumexp(z), to_numpy(torch.logsumexp(to_torch(z), dim=-1)), rtol=RTOL)


@pytest.mark.parametrize("shape", [(1,), (5,), (3, 4), (2, 3, 4), (1, 1)])
def test_softmax_jacobian_matches_autograd_jacobian(shape, rng):
    z = rng.standard_normal(shape) * 2
    J = F.softmax_jacobian(z)
    c = shape[-1]
    assert J.shape == shape + (c,)
    flat = z.reshape(-1, c)
    Jflat = J.reshape(-1, c, c)
    for i, row in enumerate(flat):
        Jt = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, dim=-1), to_torch(row))
        assert_allclose(Jflat[i], to_numpy(Jt), rtol=RTOL, atol=1e-16)
    if len(shape) == 2:  # the batched jacobian is block-diagonal; its diagonal blocks are J
        Jt = to_numpy(torch.autograd.functional.jacobian(lambda t: torch.softmax(t, dim=-1), to_torch(z)))
        for n in range(shape[0]):
            assert_allclose(J[n], Jt[n, :, n, :], rtol=RTOL, atol=1e-16)
        off = Jt.copy()
        for n in range(shape[0]):
            off[n, :, n, :] = 0
        assert np.all(off == 0)
    # rows of the jacobian sum to 0 (softmax sums to 1) and it is symmetric
    assert_allclose(J.sum(axis=-1), 0.0, atol=1e-15)
    assert_allclose(J, np.swapaxes(J, -1, -2), rtol=0, atol=0)


@pytest.mark.parametrize("shape,axis", SOFTMAX_CASES)
def test_softmax_and_log_softmax_vjp_match_torch(shape, axis, rng):
    z = rng.standard_normal(shape) * 3
    g = rng.standard_normal(shape)
    _, (gs,) = torch_grad(lambda t: torch.softmax(t, dim=axis), z, grad_output=g)
    _, (gl,) = torch_grad(lambda t: torch.log_softmax(t, dim=axis), z, grad_output=g)
    # the VJP subtracts sum(dout * p) from dout: cancellation costs a few ulps relative to |dout|
    scale = np.abs(g).max()
    assert_allclose(F.softmax_vjp(z, g, axis=axis), gs, rtol=1e-12, atol=1e-15 * scale)
    assert_allclose(F.log_softmax_vjp(z, g, axis=axis), gl, rtol=1e-12, atol=1e-15 * scale)


def test_vjp_equals_jacobian_product(rng):
    z = rng.standard_normal((3, 5))
    g = rng.standard_normal((3, 5))
    J = F.softmax_jacobian(z)
    assert_allclose(F.softmax_vjp(z, g), np.einsum("ni,nij->nj", g, J), rtol=1e-12, atol=1e-15)
    # log-softmax jacobian: delta_ij - p_j
    p = F.softmax(z)
    Jl = np.eye(5)[None] - p[:, None, :]
    assert_allclose(F.log_softmax_vjp(z, g), np.einsum("ni,nij->nj", g, Jl), rtol=1e-12, atol=1e-15)


def test_vjp_extreme_logits_finite():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    g = np.array([[1.0, -2.0, 0.5], [0.3, 0.2, -1.0]])
    for vjp, tf in [(F.softmax_vjp, torch.softmax), (F.log_softmax_vjp, torch.log_softmax)]:
        out = vjp(z, g)
        assert np.all(np.isfinite(out))
        _, (gt,) = torch_grad(lambda t: tf(t, dim=-1), z, grad_output=g)
        assert_allclose(out, gt, rtol=1e-12, atol=1e-15)


def test_logsumexp_at_extremes():
    z = np.array([1e4, 1e4])
    assert_allclose(F.logsumexp(z), 1e4 + np.log(2.0), rtol=1e-15)
    assert_allclose(F.logsumexp(np.array([-1e4, -1e4, -1e4])), -1e4 + np.log(3.0), rtol=1e-15)


# ---------------------------------------------------------------- property tests

_finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
_arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5), elements=_finite)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(z=_arrays)
def test_property_elementwise_match_torch(z):
    for f, df, tf, _ in ELEMENTWISE.values():
        val, (grad,) = torch_grad(tf, z)
        out, d = f(z), df(z)
        assert np.all(np.isfinite(out)) and np.all(np.isfinite(d))
        assert_allclose(out, val, rtol=RTOL, atol=ATOL)
        assert_allclose(d, grad, rtol=RTOL, atol=DERIV_ATOL)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(z=_arrays, data=st.data())
def test_property_softmax_match_torch(z, data):
    axis = data.draw(st.integers(-z.ndim, z.ndim - 1))
    p = F.softmax(z, axis=axis)
    lp = F.log_softmax(z, axis=axis)
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(lp))
    assert np.all(p >= 0) and np.all(lp <= 0)
    assert_allclose(p.sum(axis=axis), 1.0, rtol=1e-14)
    assert_allclose(p, to_numpy(torch.softmax(to_torch(z), dim=axis)), rtol=RTOL, atol=1e-300)
    # log_softmax = z - lse: when z and lse are ~1e4 and nearly equal, the difference has an absolute
    # rounding error of a few ulp(1e4) ~ 1e-12 in either implementation
    assert_allclose(lp, to_numpy(torch.log_softmax(to_torch(z), dim=axis)), rtol=RTOL, atol=1e-11)


def test_log_softmax_keeps_small_log_probabilities_of_large_logits():
    # log p of the likeliest class is -log1p(exp(-30)) ~ -9.4e-14. Computed as (z - m) - log(sum) it
    # is off by at most ~ulp(1); forming m + log(sum) first rounds at ulp(1e4) ~ 1.8e-12 and returns 0
    z = np.array([1e4, 1e4 - 30.0])
    lp = F.log_softmax(z)
    exact = np.array([-np.log1p(np.exp(-30.0)), -30.0 - np.log1p(np.exp(-30.0))])
    assert lp[0] < 0
    assert_allclose(lp, exact, rtol=1e-15, atol=2.0 ** -52)
    assert_allclose(lp, to_numpy(torch.log_softmax(to_torch(z), dim=0)), rtol=1e-15)
