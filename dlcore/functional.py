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

from ._validate import as_float_array, check_bool, check_finite, check_positive

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
    keepdims = check_bool(keepdims, "keepdims")
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


# --- Smooth ReLU-like activations: softplus, GELU, SiLU (Swish) -------------------------------
#
# softplus(z) = log(1 + e^z), a smooth ReLU whose derivative is the sigmoid.
# GELU(z) = z Φ(z) with Φ the standard normal CDF (Hendrycks & Gimpel): the input scaled by
# the probability that a standard normal variable lies below it. Its "tanh" approximation
# replaces Φ(z) by ½(1 + tanh(√(2/π)(z + 0.044715 z³))), as in BERT/GPT-2 and in
# ``torch.nn.functional.gelu(..., approximate="tanh")``.
# SiLU(z) = z σ(z) (Swish with β = 1), the activation of the SwiGLU blocks of many LLMs.
# All three are written so that no intermediate overflows for any finite input.

import math as _math

_SQRT_HALF = 1.0 / _math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / _math.sqrt(2.0 * _math.pi)
_GELU_TANH_C = _math.sqrt(2.0 / _math.pi)
_GELU_TANH_K = 0.044715
_GELU_APPROXIMATIONS = ("none", "tanh")
_erfc = np.vectorize(_math.erfc, otypes=[np.float64])


def softplus(z):
    """log(1 + exp(z)) as max(z, 0) + log1p(exp(-|z|)): exp's argument is never positive."""
    z = as_float_array(z, "z")
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def softplus_grad(z):
    """d softplus/dz = σ(z), strictly between 0 and 1."""
    return sigmoid(z)


def normal_cdf(z):
    """Φ(z) = P(X <= z) for X ~ N(0, 1), as erfc(-z/√2)/2 (accurate in the far left tail)."""
    z = as_float_array(z, "z")
    return 0.5 * _erfc(-z * _SQRT_HALF)


def _check_approximate(approximate):
    if not isinstance(approximate, str) or approximate not in _GELU_APPROXIMATIONS:
        raise ValueError(f"approximate: expected 'none' or 'tanh', got {approximate!r}")
    return approximate


def _gelu_tanh_inner(z):
    """u = √(2/π)(z + 0.044715 z³) on z clipped to [-100, 100] so that z³ never overflows.

    Beyond |z| = 100, |u| > 3e4 and σ(2u) is exactly 0 or 1 in float64, so the clip does
    not change any result.
    """
    zc = np.clip(z, -100.0, 100.0)
    return zc, _GELU_TANH_C * (zc + _GELU_TANH_K * zc * zc * zc)


def gelu(z, approximate="none"):
    """GELU(z) = z Φ(z); ``approximate="tanh"`` uses z · ½(1 + tanh(u)) = z σ(2u).

    The exact form evaluates Φ with erfc, so that GELU(-10) = -7.6e-23 instead of a rounded
    0 (PyTorch's 1 + erf(...) returns -0.0 there; the two differ by less than 1e-22). The
    tanh form is evaluated as z σ(2u), which is algebraically equal and avoids the
    cancellation in 1 + tanh(u) for negative z.
    """
    z = as_float_array(z, "z")
    if _check_approximate(approximate) == "none":
        return z * (0.5 * _erfc(-z * _SQRT_HALF))
    _, u = _gelu_tanh_inner(z)
    return z * sigmoid(2.0 * u)


def gelu_grad(z, approximate="none"):
    """d GELU/dz.

    Exact: Φ(z) + z φ(z), with φ the standard normal density; between about -0.13 and
    1.13, so GELU is not monotone (its minimum is near z = -0.75).
    Tanh form: σ(2u) + z · 2σ(2u)(1 - σ(2u)) · √(2/π)(1 + 3·0.044715 z²).
    """
    z = as_float_array(z, "z")
    if _check_approximate(approximate) == "none":
        zc = np.clip(z, -40.0, 40.0)                  # φ(±40) = exp(-800) underflows to 0
        return 0.5 * _erfc(-z * _SQRT_HALF) + zc * _INV_SQRT_2PI * np.exp(-0.5 * zc * zc)
    zc, u = _gelu_tanh_inner(z)
    s = sigmoid(2.0 * u)
    du = _GELU_TANH_C * (1.0 + 3.0 * _GELU_TANH_K * zc * zc)
    return s + zc * 2.0 * s * (1.0 - s) * du


def silu(z):
    """SiLU / Swish-1: z σ(z), with the two-branch sigmoid (no overflow for any finite z)."""
    z = as_float_array(z, "z")
    return z * sigmoid(z)


def silu_grad(z):
    """d(z σ(z))/dz = σ(z)(1 + z(1 - σ(z))); about -0.1 at its minimum near z = -2.4."""
    z = as_float_array(z, "z")
    s = sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


__all__ += ["softplus", "softplus_grad", "normal_cdf", "gelu", "gelu_grad", "silu", "silu_grad"]
