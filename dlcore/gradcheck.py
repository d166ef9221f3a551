"""Finite-difference gradient checks (the cs231n recipe, with asserts).

``numerical_gradient(f, x)`` estimates ∇f for a scalar function by central differences;
``check_layer`` checks a layer's backward through the vector-Jacobian trick: for a
random upstream gradient ``dout``, the scalar ``sum(forward(x) * dout)`` has gradient
``backward(dout)``, so one scalar function checks the whole backward pass.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, as_generator, check_bool, check_callable, check_model, check_positive

__all__ = ["numerical_gradient", "relative_error", "check_layer"]


def numerical_gradient(f, x, h=1e-6):
    """Central-difference gradient of the scalar function ``f`` at the array ``x``.

    Each entry is (f(x + h e_i) - f(x - h e_i)) / (2h); the truncation error is O(h^2)
    and the rounding error O(eps_machine / h), so h = 1e-6 gives about 1e-9 to 1e-10
    relative accuracy in float64 for smooth f. ``x`` is perturbed in place and restored.
    """
    check_callable(f, "f", "a callable returning a scalar")
    h = check_positive(h, "h")
    x = np.asarray(x)
    if x.dtype != np.float64:
        raise ValueError(f"x: expected a float64 array (perturbed in place), got dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x: expected finite values, got {'NaN' if np.isnan(x).any() else 'inf'}")
    grad = np.zeros_like(x)

    def value(arr):
        out = np.asarray(f(arr))
        if out.size != 1:
            raise ValueError(f"f: expected a scalar-valued function, got an output of shape {out.shape}")
        value = float(out.reshape(()))
        if not np.isfinite(value):
            raise ValueError(f"f: expected finite values near x (step h = {h!r}), got {value}")
        return value

    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        try:
            x[i] = old + h
            fp = value(x)
            x[i] = old - h
            fm = value(x)
        finally:
            x[i] = old  # restored even if f raises
        grad[i] = (fp - fm) / (2.0 * h)
    return grad


def relative_error(a, b):
    """max |a - b| / max(|a| + |b|) over all entries (0 when both are 0).

    One number for the whole array, so a small entry next to large ones does not
    inflate it; below about 1e-7 a float64 gradient check passes. Non-finite entries are
    accepted: NaN anywhere gives NaN, an inf not matched by the same inf gives inf.
    """
    a = as_float_array(a, "a", allow_nonfinite=True)
    b = as_float_array(b, "b", allow_nonfinite=True)
    if a.shape != b.shape:
        raise ValueError(f"b: expected shape {a.shape} (the shape of a), got shape {b.shape}")
    both = np.isfinite(a) & np.isfinite(b)
    if not both.all():                  # NaN: unknown error; an inf the other lacks: infinite
        if np.isnan(a).any() or np.isnan(b).any():
            return float("nan")
        if np.any(a[~both] != b[~both]):
            return float("inf")
        a, b = a[both], b[both]         # equal infinities agree exactly
    scale = np.max(np.abs(a) + np.abs(b)) if a.size else 0.0
    if scale == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / scale)


def check_layer(layer, x, dout=None, h=1e-6, rng=0, train=True):
    """Relative errors of a layer's analytic gradients against central differences.

    Returns a dict ``{"x": err, "<param>": err, ...}``. The layer must be deterministic
    given its input and its rng state: the state of every ``rng`` generator of the layer
    (Dropout, also inside a Sequential) is restored before each forward, so the mask is re-used.
    """
    check_model(layer, "layer")
    h, train = check_positive(h, "h"), check_bool(train, "train")
    dout_rng = as_generator(rng)
    x = as_float_array(x, "x").copy()
    # Random layers (Dropout, also inside a Sequential) draw from ``layer.rng``: save every
    # generator's state and restore it before each forward, so every call sees the same mask.
    generators = {id(g): (g, g.bit_generator.state) for g in _generators(layer)}

    def forward():
        for g, state in generators.values():
            g.bit_generator.state = state
        return layer.forward(x, train=train)

    out = forward()
    if dout is None:
        dout = dout_rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    analytic = {"x": dx, **{k: v.copy() for k, v in layer.grads.items()}}

    def scalar(_):
        return float(np.sum(forward() * dout))

    errors = {"x": relative_error(dx, numerical_gradient(scalar, x, h))}
    for name, p in layer.params.items():
        errors[name] = relative_error(analytic[name], numerical_gradient(scalar, p, h))
    forward()  # leave the cache consistent with x (and the mask the same as for backward)
    return errors


def _generators(layer):
    """Every ``numpy.random.Generator`` held as ``.rng`` by ``layer`` or its sub-layers."""
    found, stack = [], [layer]
    while stack:
        item = stack.pop()
        g = getattr(item, "rng", None)
        if isinstance(g, np.random.Generator):
            found.append(g)
        stack.extend(getattr(item, "layers", []))
    return found
