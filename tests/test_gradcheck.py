"""dlcore.gradcheck: central differences, relative error, layer checks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

from dlcore import gradcheck as G, layers as L
from dlcore.gradcheck import numerical_gradient, relative_error, check_layer
from conftest import to_torch, to_numpy


KNOWN = [
    ("sum_of_squares", lambda x: np.sum(x ** 2), lambda x: 2 * x),
    ("sin_sum", lambda x: np.sum(np.sin(x)), np.cos),
    ("exp_sum", lambda x: np.sum(np.exp(x)), np.exp),
    ("log_sum_exp", lambda x: np.log(np.sum(np.exp(x))), lambda x: np.exp(x) / np.sum(np.exp(x))),
    ("product_cubic", lambda x: np.prod(x) + np.sum(x ** 3), lambda x: np.prod(x) / x + 3 * x ** 2),
]


@pytest.mark.parametrize("name,f,df", KNOWN, ids=[k[0] for k in KNOWN])
@pytest.mark.parametrize("shape", [(), (1,), (5,), (3, 4), (2, 2, 2)])
def test_numerical_gradient_known_functions(name, f, df, shape, rng):
    x = rng.uniform(0.5, 1.5, shape)
    x0 = x.copy()
    num = numerical_gradient(f, x)
    assert num.shape == x.shape and num.dtype == np.float64
    assert relative_error(num, df(x0)) < 1e-8
    assert_array_equal(x, x0)  # perturbed in place and restored exactly


def test_numerical_gradient_matches_torch_autograd(rng):
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal((4,))

    def f_np(v):
        return float(np.tanh(A @ v).sum() + 0.5 * v @ v)

    xt = to_torch(x, requires_grad=True)
    (torch.tanh(to_torch(A) @ xt).sum() + 0.5 * xt @ xt).backward()
    assert relative_error(numerical_gradient(f_np, x), to_numpy(xt.grad)) < 1e-8


def test_numerical_gradient_step_size(rng):
    x = rng.uniform(0.5, 1.5, 6)
    exact = 3 * x ** 2
    f = lambda v: np.sum(v ** 3)
    err_default = relative_error(numerical_gradient(f, x), exact)
    err_big = relative_error(numerical_gradient(f, x, h=1e-2), exact)
    assert err_default < 1e-8
    assert 1e-6 < err_big < 1e-3  # truncation error O(h^2): h^2 = 1e-4 times f'''/6 / f'
    # for a quadratic the central difference is exact up to rounding, whatever h
    assert relative_error(numerical_gradient(lambda v: np.sum(v ** 2), x, h=0.5), 2 * x) < 1e-14


def test_numerical_gradient_accepts_scalar_like_outputs(rng):
    x = rng.standard_normal(3)
    for f in (lambda v: np.sum(v), lambda v: np.array([np.sum(v)]), lambda v: np.array([[np.sum(v)]]), lambda v: float(np.sum(v))):
        assert_allclose(numerical_gradient(f, x), 1.0, rtol=1e-9)


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1.0, 2.0])
    calls = []

    def f(v):
        calls.append(v.copy())
        if len(calls) == 2:
            raise RuntimeError("boom")
        return v.sum()

    with pytest.raises(RuntimeError):
        numerical_gradient(f, x)
    assert_array_equal(x, [1.0, 2.0])


def test_numerical_gradient_on_non_contiguous_view(rng):
    base = rng.standard_normal((4, 6))
    view = base[:, ::2]
    num = numerical_gradient(lambda v: np.sum(v ** 2), view)
    assert relative_error(num, 2 * view) < 1e-9


# ---------------------------------------------------------------- relative_error

def test_relative_error_semantics():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([]), np.array([])) == 0.0
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    # max |a - b| / max(|a| + |b|)
    assert relative_error(np.array([1.0, 100.0]), np.array([1.1, 100.0])) == pytest.approx(0.1 / 200.0, rel=1e-12)
    assert relative_error(np.array([1.0]), np.array([-1.0])) == 1.0
    assert relative_error(np.array([0.0]), np.array([5.0])) == 1.0
    assert relative_error(3.0, 3.0 * (1 + 1e-10)) == pytest.approx(0.5e-10, rel=1e-5)
    # symmetric, scale invariant, bounded by 1
    a, b = np.array([1.0, -2.0, 3.0]), np.array([1.5, -2.0, 2.0])
    assert relative_error(a, b) == relative_error(b, a)
    assert relative_error(1e-20 * a, 1e-20 * b) == pytest.approx(relative_error(a, b), rel=1e-12)
    assert 0.0 <= relative_error(a, -b) <= 1.0
    assert isinstance(relative_error(a, b), float)


def test_relative_error_small_entry_next_to_large_does_not_inflate():
    a = np.array([1e3, 1e-12])
    b = np.array([1e3, 2e-12])
    assert relative_error(a, b) < 1e-14


def test_relative_error_nan_propagates_so_checks_fail():
    err = relative_error(np.array([1.0, np.nan]), np.array([1.0, 1.0]))
    assert not err < 1e-7


# ---------------------------------------------------------------- check_layer

def test_check_layer_keys_and_small_errors(rng):
    layer = L.Linear(3, 4, rng=rng)
    errs = check_layer(layer, rng.standard_normal((2, 3)))
    assert set(errs) == {"x", "W", "b"}
    assert all(isinstance(e, float) and 0 <= e < 1e-8 for e in errs.values())


def test_check_layer_explicit_dout(rng):
    layer = L.Sigmoid()
    x = rng.standard_normal((3, 2))
    dout = rng.standard_normal((3, 2))
    errs = check_layer(layer, x, dout=dout)
    assert errs["x"] < 1e-8


def test_check_layer_detects_a_wrong_backward(rng):
    class BrokenTanh(L.Tanh):
        def _df(self, z):
            return 1.0 - self.cache["out"]  # forgot the square

    errs = check_layer(BrokenTanh(), rng.standard_normal((3, 3)))
    assert errs["x"] > 1e-3

    class BrokenLinear(L.Linear):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["b"] = self.grads["b"] / dout.shape[0]  # a mean instead of a sum
            return dx

    errs = check_layer(BrokenLinear(3, 2, rng=0), rng.standard_normal((4, 3)))
    assert errs["x"] < 1e-8 and errs["W"] < 1e-8 and errs["b"] > 0.1


def test_check_layer_dropout_reuses_the_mask_and_leaves_layer_consistent(rng):
    layer = L.Dropout(0.5, rng=11)
    x = rng.standard_normal((6, 5))
    errs = check_layer(layer, x)
    assert errs["x"] < 1e-8
    mask = layer.cache["mask"]
    assert np.any(mask == 0)
    # the final cache is the forward used for the analytic gradient
    assert_array_equal(layer.cache["out"], x * mask)
    assert_array_equal(layer.backward(np.ones_like(x)), mask)


def test_check_layer_restores_parameters_and_input(rng):
    layer = L.Sequential(L.Linear(3, 4, rng=rng), L.ELU(), L.Linear(4, 2, rng=rng))
    p0 = {k: v.copy() for k, v in layer.params.items()}
    x = rng.standard_normal((2, 3))
    x0 = x.copy()
    check_layer(layer, x)
    assert_array_equal(x, x0)
    for k, v in layer.params.items():
        assert_array_equal(v, p0[k])


def test_module_exports():
    assert set(G.__all__) == {"numerical_gradient", "relative_error", "check_layer"}
