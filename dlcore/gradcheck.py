"""Finite-difference gradient checks (the cs231n recipe, with asserts).

``numerical_gradient(f, x)`` estimates ∇f for a scalar function by central differences;
``check_layer`` checks a layer's backward through the vector-Jacobian trick: for a
random upstream gradient ``dout``, the scalar ``sum(forward(x) * dout)`` has gradient
``backward(dout)``, so one scalar function checks the whole backward pass.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_positive

__all__ = ["numerical_gradient", "relative_error", "check_layer"]


def numerical_gradient(f, x, h=1e-6):
    """Central-difference gradient of the scalar function ``f`` at the array ``x``.

    Each entry is (f(x + h e_i) - f(x - h e_i)) / (2h); the truncation error is O(h^2)
    and the rounding error O(eps_machine / h), so h = 1e-6 gives about 1e-9 to 1e-10
    relative accuracy in float64 for smooth f. ``x`` is perturbed in place and restored.
    """
    h = check_positive(h, "h")
    x = np.asarray(x)
    if x.dtype != np.float64:
        raise ValueError(f"x: expected a float64 array (perturbed in place), got dtype {x.dtype}")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = float(f(x))
        x[i] = old - h
        fm = float(f(x))
        x[i] = old
        grad[i] = (fp - fm) / (2.0 * h)
    return grad


def relative_error(a, b):
    """max |a - b| / max(|a| + |b|) over all entries (0 when both are 0).

    One number for the whole array, so a small entry next to large ones does not
    inflate it; below about 1e-7 a float64 gradient check passes.
    """
    a = as_float_array(a, "a", allow_nonfinite=True)
    b = as_float_array(b, "b", allow_nonfinite=True)
    if a.shape != b.shape:
        raise ValueError(f"b: expected shape {a.shape} (the shape of a), got shape {b.shape}")
    scale = np.max(np.abs(a) + np.abs(b)) if a.size else 0.0
    if scale == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / scale)


def check_layer(layer, x, dout=None, h=1e-6, rng=0, train=True):
    """Relative errors of a layer's analytic gradients against central differences.

    Returns a dict ``{"x": err, "<param>": err, ...}``. The layer must be deterministic
    given its input (for Dropout, the mask is re-used by fixing the layer's rng state).
    """
    x = as_float_array(x, "x").copy()
    out = layer.forward(x, train=train)
    if dout is None:
        dout = np.random.default_rng(rng).standard_normal(out.shape)
    dx = layer.backward(dout)
    analytic = {"x": dx, **{k: v.copy() for k, v in layer.grads.items()}}

    def scalar(_):
        return float(np.sum(layer.forward(x, train=train) * dout))

    errors = {"x": relative_error(dx, numerical_gradient(scalar, x, h))}
    for name, p in layer.params.items():
        errors[name] = relative_error(analytic[name], numerical_gradient(scalar, p, h))
    layer.forward(x, train=train)  # leave the cache consistent with x
    return errors
