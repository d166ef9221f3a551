"""Position information for attention: sinusoidal encodings, rotary embeddings (RoPE), ALiBi.

Attention without positions is permutation-equivariant: permuting the tokens permutes the
outputs. Three ways to tell it where each token is:

* **Sinusoidal** (Vaswani et al. 2017), added to the token embeddings:
  ``PE[p, 2i] = sin(p * w_i)``, ``PE[p, 2i+1] = cos(p * w_i)``, ``w_i = base**(-2i/dim)``.
  Shifting the position by k rotates each (sin, cos) pair by the angle k * w_i, a linear map
  that depends on k only: ``PE[p + k] = PE[p] @ M_k.T`` for every p.
* **Rotary** (RoPE; Su et al. 2021), applied to queries and keys inside attention: the pair
  (x[2i], x[2i+1]) of the vector at position m is rotated by the angle m * w_i, so
  ``x_m -> R_m x_m`` with R_m orthogonal and ``R_m^T R_n = R_(n-m)``. The score
  ``<R_m q, R_n k> = q^T R_(n-m) k`` depends on the positions only through n - m.
  Its backward is the inverse rotation: ``dx = apply_rope(dout, -positions)``.
* **ALiBi** (Press et al. 2022): no embedding at all; each head h adds ``-m_h * |i - j|`` to
  its scores, a linear penalty on distance with a head-specific slope m_h.

Everything is float64 and NumPy only.
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import as_float_array, check_finite, check_int, check_positive

__all__ = ["sinusoidal_positions", "rope_angles", "rope_matrix", "apply_rope", "alibi_slopes",
           "alibi_bias"]


def _even_dim(dim, name="dim"):
    d = check_int(dim, name, min_value=1)
    if d % 2:
        raise ValueError(f"{name}: expected an even number (the features come in (sin, cos) or "
                         f"rotation pairs), got {dim!r}")
    return d


def _frequencies(dim, base):
    """w_i = base**(-2i/dim), i = 0 .. dim/2 - 1."""
    return base ** (-np.arange(0, dim, 2) / dim)


def sinusoidal_positions(length, dim, base=10000.0):
    """Array (length, dim): PE[p, 2i] = sin(p / base**(2i/dim)), PE[p, 2i+1] = cos(p /
    base**(2i/dim)). ``dim`` must be even."""
    L = check_int(length, "length", min_value=1)
    d = _even_dim(dim)
    angles = np.arange(L)[:, None] * _frequencies(d, check_positive(base, "base"))[None, :]
    pe = np.empty((L, d))
    pe[:, 0::2], pe[:, 1::2] = np.sin(angles), np.cos(angles)
    return pe


def _positions(positions, n, name="positions"):
    if positions is None:
        return np.arange(n, dtype=np.float64)
    p = as_float_array(positions, name, ndim=1)
    if p.shape[0] != n:
        raise ValueError(f"{name}: expected {n} positions (one per row of x), got shape "
                         f"{p.shape}")
    return p


def rope_angles(positions, dim, base=10000.0):
    """Rotation angles theta[m, i] = positions[m] * base**(-2i/dim), shape (len(positions),
    dim/2): pair i of the vector at position m is rotated by theta[m, i]."""
    d = _even_dim(dim)
    p = as_float_array(positions, "positions", ndim=1)
    return p[:, None] * _frequencies(d, check_positive(base, "base"))[None, :]


def rope_matrix(position, dim, base=10000.0):
    """The (dim, dim) block-diagonal rotation R_m of RoPE at one position m:
    ``apply_rope(x, [m]) = x @ R_m.T`` for a row x. Orthogonal, and R_m.T @ R_n = R_(n-m)."""
    p = check_finite(position, "position")
    theta = rope_angles(np.array([p]), dim, base)[0]
    c, s = np.cos(theta), np.sin(theta)
    R = np.zeros((dim, dim))
    i = np.arange(0, dim, 2)
    R[i, i], R[i, i + 1], R[i + 1, i], R[i + 1, i + 1] = c, -s, s, c
    return R


def apply_rope(x, positions=None, base=10000.0):
    """Rotate each pair (x[..., 2i], x[..., 2i+1]) of the vector at row m of x (..., L, d) by
    the angle positions[m] * base**(-2i/d) (the interleaved pairs of the RoFormer paper).

    ``positions`` default to 0 .. L-1 (a 1-D array of length L otherwise; any real numbers).
    The map is orthogonal: its backward is ``apply_rope(dout, -positions)``.
    """
    x = as_float_array(x, "x", min_ndim=2)
    L, d = x.shape[-2:]
    _even_dim(d, "x.shape[-1]")
    theta = rope_angles(_positions(positions, L), d, base)        # (L, d/2)
    c, s = np.cos(theta), np.sin(theta)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * c - x1 * s
    out[..., 1::2] = x0 * s + x1 * c
    return out


def alibi_slopes(num_heads):
    """ALiBi's head slopes: for H a power of two, the geometric sequence 2**(-8h/H), h = 1..H;
    otherwise the slopes of the nearest lower power of two followed by every other slope of
    the next one (the recipe of Press et al.)."""
    H = check_int(num_heads, "num_heads", min_value=1)

    def power_of_two(n):
        start = 2.0 ** (-8.0 / n)
        return [start ** (h + 1) for h in range(n)]

    if H & (H - 1) == 0:
        return np.array(power_of_two(H))
    low = 2 ** math.floor(math.log2(H))
    return np.array(power_of_two(low) + power_of_two(2 * low)[0::2][:H - low])


def alibi_bias(num_heads, length, source_length=None):
    """Float bias (H, L, S) = -slope_h * |i - j|, added to the attention scores of head h
    (pass it as a float ``attn_mask``; a causal model combines it with the causal mask, which
    leaves -slope_h * (i - j) on the visible keys j <= i)."""
    slopes = alibi_slopes(num_heads)
    L = check_int(length, "length", min_value=1)
    S = L if source_length is None else check_int(source_length, "source_length", min_value=1)
    dist = np.abs(np.arange(L)[:, None] - np.arange(S)[None, :])
    return -slopes[:, None, None] * dist[None]
