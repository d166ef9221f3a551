"""Activation functions and their derivatives, written to be numerically stable.

Each function takes an array ``z`` (any shape, converted to float64) and returns an
array of the same shape. The derivative of an element-wise activation ``f`` is
``f_grad(z)``, the element-wise ``f'(z)``; ``backward`` code multiplies it with the
upstream gradient. ``softmax`` and ``log_softmax`` are not element-wise: their
vector-Jacobian products are ``softmax_vjp`` and ``log_softmax_vjp``, and
``softmax_jacobian`` builds the full matrix for small demonstrations.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_finite, check_positive

__all__ = [
    "sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad",
    "leaky_relu", "leaky_relu_grad", "elu", "elu_grad",
    "softmax", "log_softmax", "logsumexp", "softmax_jacobian", "softmax_vjp", "log_softmax_vjp",
]


def sigmoid(z):
    """Logistic function 1 / (1 + exp(-z)), two-branch so that exp never overflows.

    For z >= 0 it evaluates 1 / (1 + exp(-z)); for z < 0 the algebraically equal
    exp(z) / (1 + exp(z)). Either way the argument of ``exp`` is <= 0.
    """
    z = as_float_array(z, "z")
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def sigmoid_grad(z):
    """dσ/dz = σ(z)(1 - σ(z)); at most 0.25, reached at z = 0."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z):
    """Hyperbolic tangent (NumPy's implementation is already stable)."""
    return np.tanh(as_float_array(z, "z"))


def tanh_grad(z):
    """d tanh/dz = 1 - tanh(z)^2; at most 1, reached at z = 0."""
    t = tanh(z)
    return 1.0 - t * t


def relu(z):
    """max(0, z)."""
    z = as_float_array(z, "z")
    return np.maximum(z, 0.0)


def relu_grad(z):
    """1 for z > 0, else 0. At z = 0 we use 0, the subgradient PyTorch uses."""
    z = as_float_array(z, "z")
    return (z > 0).astype(np.float64)


def leaky_relu(z, alpha=0.01):
    """z for z >= 0 and alpha * z for z < 0 (a slope, not a constant output)."""
    z = as_float_array(z, "z")
    alpha = check_finite(alpha, "alpha")
    return np.where(z >= 0, z, alpha * z)


def leaky_relu_grad(z, alpha=0.01):
    """1 for z > 0, alpha for z <= 0 (PyTorch's choice at 0)."""
    z = as_float_array(z, "z")
    return np.where(z > 0, 1.0, check_finite(alpha, "alpha"))


def elu(z, alpha=1.0):
    """z for z > 0 and alpha * (exp(z) - 1) for z <= 0, via expm1 for accuracy near 0."""
    z = as_float_array(z, "z")
    alpha = check_positive(alpha, "alpha", allow_zero=True)
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))


def elu_grad(z, alpha=1.0):
    """1 for z > 0 and alpha * exp(z) for z <= 0."""
    z = as_float_array(z, "z")
    alpha = check_positive(alpha, "alpha", allow_zero=True)
    return np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0)))


def _check_axis(z, axis):
    if z.ndim == 0:
        raise ValueError(f"z: expected at least 1 dimension for a softmax, got shape {z.shape}")
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"axis: expected an integer axis, got {axis!r}")
    if not -z.ndim <= axis < z.ndim:
        raise ValueError(f"axis: expected an axis in [{-z.ndim}, {z.ndim - 1}] for shape {z.shape}, got {axis}")
    if z.shape[axis] == 0:
        raise ValueError(f"z: expected at least one entry along axis {axis}, got shape {z.shape}")


def logsumexp(z, axis=-1, keepdims=False):
    """log(sum(exp(z))) along ``axis``, computed as m + log(sum(exp(z - m))) with m = max(z)."""
    z = as_float_array(z, "z")
    _check_axis(z, axis)
    m = np.max(z, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(z, axis=-1):
    """z - logsumexp(z): finite for any finite logits, including ±1e4.

    Evaluated as (z - m) - log(sum(exp(z - m))) with m = max(z), like PyTorch: forming
    m + log(...) first would round it at the magnitude of m and lose the small
    log-probabilities of the likeliest classes to cancellation.
    """
    z = as_float_array(z, "z")
    _check_axis(z, axis)
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(z, axis=-1):
    """exp(z - max z) / sum(exp(z - max z)): the max shift cannot change the result but prevents overflow."""
    z = as_float_array(z, "z")
    _check_axis(z, axis)
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def softmax_jacobian(z):
    """Full Jacobian ∂softmax(z)_i/∂z_j = p_i (δ_ij - p_j) of the last axis.

    For z of shape (..., C) the result has shape (..., C, C). Meant for small
    demonstrations; backward passes use ``softmax_vjp``, which never builds it.
    """
    p = softmax(z, axis=-1)
    return p[..., :, None] * (np.eye(p.shape[-1]) - p[..., None, :])


def softmax_vjp(z, dout, axis=-1):
    """Vector-Jacobian product dout^T J of softmax: p * (dout - sum(dout * p))."""
    p = softmax(z, axis=axis)
    dout = as_float_array(dout, "dout")
    if dout.shape != p.shape:
        raise ValueError(f"dout: expected shape {p.shape} (the shape of z), got shape {dout.shape}")
    return p * (dout - np.sum(dout * p, axis=axis, keepdims=True))


def log_softmax_vjp(z, dout, axis=-1):
    """Vector-Jacobian product of log_softmax: dout - softmax(z) * sum(dout)."""
    p = softmax(z, axis=axis)
    dout = as_float_array(dout, "dout")
    if dout.shape != p.shape:
        raise ValueError(f"dout: expected shape {p.shape} (the shape of z), got shape {dout.shape}")
    return dout - p * np.sum(dout, axis=axis, keepdims=True)
