"""Attention without the L x S score matrix: the online softmax that FlashAttention builds on,
a block-by-block attention forward pass, sliding-window masks and linear attention.

**Online softmax** (Milakov & Gimelshein 2018). A softmax over scores that arrive block by
block needs only three running quantities per query row: the largest score so far ``m``, the
sum ``l = sum_j exp(s_j - m)`` and the un-normalized output ``o = sum_j exp(s_j - m) v_j``.
Two such states (of two disjoint blocks of keys) merge exactly::

    m = max(m1, m2)
    l = exp(m1 - m) * l1 + exp(m2 - m) * l2
    o = exp(m1 - m) * o1 + exp(m2 - m) * o2          output = o / l,  logsumexp = m + log l

The merge is associative, so the keys can be visited in any blocking; every exponent is <= 0,
so nothing overflows. FlashAttention (Dao et al. 2022) runs this merge over key blocks held in
fast on-chip memory and never writes the (L, S) weights to slow memory; ``blockwise_attention``
does the same computation with NumPy, holding one (L, block_size) block of scores at a time.
A block whose keys are all masked for a row has ``m = -inf, l = 0, o = 0`` and drops out of the
merge (its factor exp(-inf - m) is 0).

**Sliding-window (local) attention** lets query i see only the ``window`` most recent keys
(``sliding_window_mask``): L * window scores instead of L^2, and a token's receptive field
grows by window - 1 positions per layer.

**Linear attention** (Katharopoulos et al. 2020) replaces exp(q . k) by phi(q) . phi(k) with
phi(x) = elu(x) + 1 > 0, so the sums factor through the (E, Ev) matrix sum_j phi(k_j) v_j^T::

    out_i = phi(q_i)^T (sum_j phi(k_j) v_j^T) / phi(q_i)^T (sum_j phi(k_j))

O(L E Ev) time instead of O(L^2 E); causal: the sums run over j <= i, a recurrence with a
constant-size state (an RNN). It is a different model, not an approximation of softmax
attention.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_bool, check_positive
from .functional import elu

__all__ = ["softmax_state", "merge_softmax_states", "online_softmax", "blockwise_attention",
           "sliding_window_mask", "linear_attention"]


def _positive_int(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


def softmax_state(scores, values):
    """The online-softmax state (m, l, o) of one block: scores (..., L, B) (-inf = masked),
    values (..., B, Ev). m (..., L) the row maxima, l (..., L) = sum exp(s - m),
    o (..., L, Ev) = exp(s - m) @ values (not normalized). A fully masked row gives
    (-inf, 0, 0)."""
    s = as_float_array(scores, "scores", min_ndim=2, allow_nonfinite=True)
    if np.isnan(s).any() or (s == np.inf).any():
        raise ValueError("scores: expected finite values or -inf (masked), got NaN or +inf")
    v = as_float_array(values, "values", min_ndim=2)
    if v.shape[-2] != s.shape[-1]:
        raise ValueError(f"values: expected {s.shape[-1]} rows (one per score column), got "
                         f"shape {v.shape}")
    m = s.max(axis=-1)
    safe = np.where(np.isneginf(m), 0.0, m)
    p = np.exp(s - safe[..., None])                       # exp(-inf) = 0 for masked entries
    return m, p.sum(axis=-1), p @ v


def merge_softmax_states(m1, l1, o1, m2, l2, o2):
    """Merge two online-softmax states of disjoint key blocks (see the module docstring):
    returns (m, l, o) of their union. Shapes: m, l (..., L); o (..., L, Ev)."""
    m1 = as_float_array(m1, "m1", allow_nonfinite=True)
    m2 = as_float_array(m2, "m2", allow_nonfinite=True)
    l1, l2 = as_float_array(l1, "l1"), as_float_array(l2, "l2")
    o1, o2 = as_float_array(o1, "o1"), as_float_array(o2, "o2")
    for name, m in (("m1", m1), ("m2", m2)):
        if np.isnan(m).any() or (m == np.inf).any():
            raise ValueError(f"{name}: expected finite values or -inf (an empty block)")
    if not (m1.shape == m2.shape == l1.shape == l2.shape) or o1.shape != o2.shape \
            or o1.shape[:-1] != m1.shape:
        raise ValueError(f"m1, l1, o1, m2, l2, o2: expected m and l of one shape (..., L) and "
                         f"o of shape (..., L, Ev), got {m1.shape}, {l1.shape}, {o1.shape}, "
                         f"{m2.shape}, {l2.shape}, {o2.shape}")
    m = np.maximum(m1, m2)
    safe = np.where(np.isneginf(m), 0.0, m)
    a1, a2 = np.exp(m1 - safe), np.exp(m2 - safe)        # <= 1; 0 for an empty block
    return m, a1 * l1 + a2 * l2, a1[..., None] * o1 + a2[..., None] * o2


def online_softmax(x, block_size):
    """softmax(x) over the last axis, computed in one streaming pass over blocks of
    ``block_size`` entries for the running max and sum (each block rescales the sum so far by
    exp(m_old - m_new)), then one pass to normalize. Equal to the two-pass softmax."""
    x = as_float_array(x, "x", min_ndim=1)
    B = _positive_int(block_size, "block_size")
    if x.shape[-1] == 0:
        raise ValueError(f"x: expected at least one entry on the last axis, got shape {x.shape}")
    m = np.full(x.shape[:-1], -np.inf)
    l = np.zeros(x.shape[:-1])
    for start in range(0, x.shape[-1], B):
        block = x[..., start:start + B]
        m_new = np.maximum(m, block.max(axis=-1))
        l = l * np.exp(m - m_new) + np.exp(block - m_new[..., None]).sum(axis=-1)
        m = m_new
    return np.exp(x - m[..., None]) / l[..., None]


def blockwise_attention(query, key, value, block_size=64, is_causal=False, scale=None,
                        return_lse=False):
    """softmax(scale Q K^T) V computed over blocks of ``block_size`` keys with the online
    softmax: equal to ``scaled_dot_product_attention(query, key, value, is_causal=...,
    scale=...)`` while holding only (..., L, block_size) scores at a time.

    Shapes (..., L, E), (..., S, E), (..., S, Ev) -> (..., L, Ev) (leading axes broadcast).
    ``is_causal``: query i sees keys j <= i (top-left aligned, as PyTorch). With
    ``return_lse=True`` also returns the log-sum-exp of each row's scores (..., L), what
    FlashAttention keeps for its backward pass.
    """
    q = as_float_array(query, "query", min_ndim=2)
    k = as_float_array(key, "key", min_ndim=2)
    v = as_float_array(value, "value", min_ndim=2)
    L, E = q.shape[-2:]
    S = k.shape[-2]
    if k.shape[-1] != E or v.shape[-2] != S or min(L, S, E, v.shape[-1]) < 1:
        raise ValueError(f"query, key, value: expected non-empty (..., L, E), (..., S, E), "
                         f"(..., S, Ev), got shapes {q.shape}, {k.shape}, {v.shape}")
    try:
        lead = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"query, key, value: expected leading axes that broadcast, got shapes "
                         f"{q.shape}, {k.shape}, {v.shape}") from None
    B = _positive_int(block_size, "block_size")
    if not isinstance(is_causal, (bool, np.bool_)):
        raise ValueError(f"is_causal: expected a bool, got {is_causal!r}")
    return_lse = check_bool(return_lse, "return_lse")
    sc = 1.0 / np.sqrt(E) if scale is None else check_positive(scale, "scale")
    m = np.full(lead + (L,), -np.inf)
    l = np.zeros(lead + (L,))
    o = np.zeros(lead + (L, v.shape[-1]))
    rows = np.arange(L)[:, None]
    for start in range(0, S, B):
        if is_causal and start > L - 1:
            break                                   # no query sees these keys
        kb, vb = k[..., start:start + B, :], v[..., start:start + B, :]
        s = sc * (q @ np.swapaxes(kb, -1, -2))     # (..., L, B): the only score block held
        if is_causal:
            s = np.where(start + np.arange(kb.shape[-2])[None, :] <= rows, s, -np.inf)
        s = np.broadcast_to(s, lead + s.shape[-2:])
        m, l, o = merge_softmax_states(m, l, o, *softmax_state(s, vb))
    out = o / l[..., None]
    return (out, m + np.log(l)) if return_lse else out


def sliding_window_mask(length, window, causal=True):
    """Boolean (L, L) mask in the SDPA convention (True = may attend): causal, query i sees
    keys i - window < j <= i; ``causal=False``, keys with |i - j| < window."""
    L = _positive_int(length, "length")
    w = _positive_int(window, "window")
    if not isinstance(causal, (bool, np.bool_)):
        raise ValueError(f"causal: expected a bool, got {causal!r}")
    d = np.arange(L)[:, None] - np.arange(L)[None, :]
    return (d >= 0) & (d < w) if causal else np.abs(d) < w


def linear_attention(query, key, value, is_causal=False):
    """Linear attention with phi(x) = elu(x) + 1: out_i = phi(q_i)^T sum_j phi(k_j) v_j^T /
    phi(q_i)^T sum_j phi(k_j), the sums over all j (or j <= i with ``is_causal``).
    Shapes (..., L, E), (..., S, E), (..., S, Ev) -> (..., L, Ev); causal needs L == S.
    Computed through the (E, Ev) sums (prefix sums when causal), never an (L, S) matrix."""
    q = as_float_array(query, "query", min_ndim=2)
    k = as_float_array(key, "key", min_ndim=2)
    v = as_float_array(value, "value", min_ndim=2)
    if k.shape[-1] != q.shape[-1] or v.shape[-2] != k.shape[-2] \
            or min(q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]) < 1:
        raise ValueError(f"query, key, value: expected non-empty (..., L, E), (..., S, E), "
                         f"(..., S, Ev), got shapes {q.shape}, {k.shape}, {v.shape}")
    if not isinstance(is_causal, (bool, np.bool_)):
        raise ValueError(f"is_causal: expected a bool, got {is_causal!r}")
    fq, fk = elu(q) + 1.0, elu(k) + 1.0
    if not is_causal:
        kv = np.swapaxes(fk, -1, -2) @ v                                # (..., E, Ev)
        z = fk.sum(axis=-2)                                             # (..., E)
        return (fq @ kv) / (fq * z[..., None, :]).sum(axis=-1, keepdims=True)
    if q.shape[-2] != k.shape[-2]:
        raise ValueError(f"query, key: is_causal=True expects L == S, got shapes {q.shape}, "
                         f"{k.shape}")
    kv = np.cumsum(fk[..., :, None] * v[..., None, :], axis=-3)         # (..., L, E, Ev)
    z = np.cumsum(fk, axis=-2)                                          # (..., L, E)
    num = (fq[..., None, :] @ kv)[..., 0, :]
    return num / (fq * z).sum(axis=-1, keepdims=True)
