"""Scaled dot-product attention (forward and backward), its masks, and ``MultiheadAttention``.

**Attention** (Vaswani et al. 2017). Queries ``Q`` (..., L, E), keys ``K`` (..., S, E) and values
``V`` (..., S, Ev); ``B`` is an additive mask (0 where a query may attend, -inf where not)::

    scores = scale * Q @ K^T + B          (..., L, S),  scale = 1 / sqrt(E) by default
    P      = softmax(scores, axis=-1)     each query's weights over the S keys sum to 1
    out    = P @ V                        (..., L, Ev)

**Backward**, with ``dO = dL/dout`` (the softmax's vector-Jacobian product row by row; the row
sums ``D = sum(dP * P) = sum(dO * out)`` are FlashAttention's ``D``)::

    dV = P^T @ dO                         (..., S, Ev)
    dP = dO @ V^T                         (..., L, S)
    dS = P * (dP - D)                     D = sum(dP * P, axis=-1, keepdims=True)
    dQ = scale * dS @ K,   dK = scale * dS^T @ Q

**Masks** follow ``torch.nn.functional.scaled_dot_product_attention`` (dropout_p = 0): a boolean
``attn_mask`` is True where a query *may* attend; a float ``attn_mask`` is added to the scores
(use -inf or a large negative number to block); ``is_causal=True`` lets query i see keys
j <= i (top-left aligned when L != S) and cannot be combined with ``attn_mask`` (PyTorch's
documentation says the same; torch 2.13 raises for 3-D inputs only, and on the CPU applies both
masks to 4-D inputs; combine them yourself: ``causal_mask(L, S) & mask``). ``torch.nn.MultiheadAttention`` uses
the *opposite* boolean convention (True = may NOT attend), and so does this module's
``MultiheadAttention``. A query whose keys are all masked has no distribution to average over:
dlcore raises ``ValueError`` (PyTorch 2.13 returns zeros there; versions before
pytorch/pytorch#133882, 2024, returned NaN).

``enable_gqa=True`` is grouped-query attention, as in PyTorch: the key/value head axis (-3) has
H_kv heads, a divisor of the query's H_q, and each key/value head serves H_q / H_kv consecutive
query heads (``repeat_interleave``); in the backward the gradients of a group are summed.
Leading (batch, head) axes broadcast like ``numpy.matmul``; gradients are summed back to each
input's shape.

**Multi-head attention** (``MultiheadAttention``) projects x (N, L, E) to Q, K, V with one
(3E, E) matrix, splits E into H heads of d = E / H (a reshape to (N, H, L, d)), attends in
each head with scale 1 / sqrt(d), concatenates the heads and projects with ``out_proj``. Its
parameters are keyed and shaped like ``torch.nn.MultiheadAttention``'s state_dict, so torch's
weights load by name; the parameter count, 4E^2 + 4E, does not depend on H.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_float_array, as_generator, check_bool, check_int, check_positive
from .base import Layer

__all__ = ["scaled_dot_product_attention", "scaled_dot_product_attention_backward",
           "attention_weights", "causal_mask", "key_padding_mask", "split_heads",
           "merge_heads", "MultiheadAttention"]


# ------------------------------------------------------------------------------- masks

def causal_mask(length, source_length=None):
    """Boolean (L, S) mask, True where query i may attend to key j, i.e. j <= i (top-left
    aligned, as ``is_causal=True`` in PyTorch). The SDPA convention; for
    ``torch.nn.MultiheadAttention`` or ``MultiheadAttention`` pass its negation."""
    L = check_int(length, "length", min_value=1)
    S = L if source_length is None else check_int(source_length, "source_length", min_value=1)
    return np.tril(np.ones((L, S), dtype=bool))


def key_padding_mask(lengths, max_length):
    """Boolean (N, S) mask, True at the padded positions j >= lengths[n]: the convention of
    ``key_padding_mask`` in ``torch.nn.MultiheadAttention`` (True = ignore this key)."""
    S = check_int(max_length, "max_length", min_value=1)
    arr = np.asarray(lengths)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer) \
            or arr.min() < 1 or arr.max() > S:
        raise ValueError(f"lengths: expected a non-empty 1-D array of ints in [1, {S}] "
                         f"(at least one real key per sequence), got {lengths!r}")
    return np.arange(S)[None, :] >= arr[:, None]


def _float_mask(m, name):
    """A float mask as float64: finite values or -inf (NaN and +inf rejected)."""
    bias = as_float_array(m, name, allow_nonfinite=True)
    if np.isnan(bias).any() or (bias == np.inf).any():
        raise ValueError(f"{name}: expected finite values or -inf in a float mask, "
                         f"got {'NaN' if np.isnan(bias).any() else '+inf'}")
    return bias


def _mask_bias(attn_mask, is_causal, L, S):
    """The additive float bias (0 / -inf / the float mask) for scores of shape (..., L, S), or
    None when nothing is masked (masks in the SDPA convention)."""
    if check_bool(is_causal, "is_causal"):
        if attn_mask is not None:
            raise ValueError("attn_mask: expected None when is_causal=True (as in PyTorch); "
                             "to combine them pass attn_mask=causal_mask(L, S) & your_mask")
        return np.where(causal_mask(L, S), 0.0, -np.inf)
    if attn_mask is None:
        return None
    m = np.asarray(attn_mask)
    if m.dtype == bool:
        bias = np.where(m, 0.0, -np.inf)
    elif np.issubdtype(m.dtype, np.floating):
        bias = _float_mask(m, "attn_mask")
    else:
        raise ValueError(f"attn_mask: expected a boolean mask (True = may attend) or a float "
                         f"mask added to the scores, got dtype {m.dtype} (a 0/1 integer mask "
                         f"is ambiguous: convert it with .astype(bool))")
    if bias.ndim < 2:                                 # as in PyTorch: a row needs (1, S)
        raise ValueError(f"attn_mask: expected at least 2 dimensions (..., {L} or 1, {S} or "
                         f"1), got shape {bias.shape}")
    return bias


def _check_rows(bias, shape, name):
    """ValueError if a query row of the (broadcast) bias of ``shape`` (..., L, S) is all -inf."""
    blocked = np.isneginf(np.broadcast_to(bias, shape)).all(axis=-1)
    if blocked.any():
        where = tuple(int(i) for i in np.argwhere(blocked)[0])
        raise ValueError(f"{name}: query {where[-1]} (index {where}) may attend to no key: "
                         f"all {shape[-1]} of its scores are masked, so its softmax is 0/0 "
                         f"(PyTorch 2.13 returns zeros there, older versions NaN)")


# ------------------------------------------------------------------- input checking

def _check_scale(scale, E):
    if scale is None:
        return 1.0 / np.sqrt(E)
    return check_positive(scale, "scale")


def _prepare(query, key, value, attn_mask, is_causal, scale, enable_gqa):
    """Validated arrays (key, value repeated for GQA), the bias, scale and group size."""
    q = as_float_array(query, "query", min_ndim=2)
    k = as_float_array(key, "key", min_ndim=2)
    v = as_float_array(value, "value", min_ndim=2)
    L, E = q.shape[-2:]
    S = k.shape[-2]
    if min(L, E, S, v.shape[-1]) < 1:
        raise ValueError(f"query, key, value: expected non-empty (..., L, E), (..., S, E), "
                         f"(..., S, Ev), got shapes {q.shape}, {k.shape}, {v.shape}")
    if k.shape[-1] != E:
        raise ValueError(f"key: expected a last dimension of {E} (query's E), got shape "
                         f"{k.shape}")
    if v.shape[-2] != S:
        raise ValueError(f"value: expected {S} rows (one per key) in shape (..., {S}, Ev), "
                         f"got shape {v.shape}")
    enable_gqa = check_bool(enable_gqa, "enable_gqa")
    group = 1
    if enable_gqa:
        if min(q.ndim, k.ndim, v.ndim) < 3 or k.shape[-3] != v.shape[-3] \
                or q.shape[-3] % k.shape[-3]:
            raise ValueError(f"key, value: with enable_gqa=True expected (..., H_kv, S, E) with "
                             f"the same H_kv dividing query's H_q = "
                             f"{q.shape[-3] if q.ndim >= 3 else None}, got shapes {k.shape}, "
                             f"{v.shape}")
        group = q.shape[-3] // k.shape[-3]
        k, v = np.repeat(k, group, axis=-3), np.repeat(v, group, axis=-3)
    try:
        lead = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"query, key, value: expected leading (batch, head) axes that "
                         f"broadcast, got shapes {q.shape}, {k.shape}, {v.shape}") from None
    bias = _mask_bias(attn_mask, is_causal, L, S)
    if bias is not None:
        full = lead + (L, S)
        try:
            ok = np.broadcast_shapes(bias.shape, full) == full
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"attn_mask: expected a shape broadcastable to {full} (the "
                             f"scores' shape), got shape {bias.shape}")
        _check_rows(bias, full, "attn_mask")
    return q, k, v, bias, _check_scale(scale, E), group


def _weights(q, k, bias, scale):
    scores = q @ np.swapaxes(k, -1, -2)
    scores *= scale                                         # in place: one array of (..., L, S)
    if bias is not None:
        if np.broadcast_shapes(scores.shape, bias.shape) == scores.shape:
            scores += bias
        else:                                               # the mask adds leading axes
            scores = scores + bias
    scores -= scores.max(axis=-1, keepdims=True)            # finite: every row has a key
    p = np.exp(scores, out=scores)
    p /= p.sum(axis=-1, keepdims=True)
    return p


def _unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched, back to ``shape``."""
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


# ------------------------------------------------------------------ the functions

def attention_weights(query, key, attn_mask=None, is_causal=False, scale=None,
                      enable_gqa=False):
    """The attention probabilities P = softmax(scale * Q K^T + B), shape (..., L, S); rows sum
    to 1 and masked entries are exactly 0. Same arguments as ``scaled_dot_product_attention``
    (without value)."""
    k = as_float_array(key, "key", min_ndim=2)
    q, k, _, bias, scale, _ = _prepare(query, k, k[..., :1], attn_mask, is_causal, scale,
                                       enable_gqa)
    return _weights(q, k, bias, scale)


def scaled_dot_product_attention(query, key, value, attn_mask=None, is_causal=False,
                                 scale=None, enable_gqa=False, return_weights=False):
    """softmax(scale * Q K^T + mask) V, as ``torch.nn.functional.scaled_dot_product_attention``
    with dropout_p = 0. Shapes (..., L, E), (..., S, E), (..., S, Ev) give (..., L, Ev).

    ``attn_mask``: boolean (True = may attend) or float (added to the scores), broadcastable to
    (..., L, S). ``is_causal``: mask keys j > i. ``scale``: default 1 / sqrt(E). A query row
    with every key masked raises ValueError (PyTorch 2.13 returns zeros there).
    ``return_weights=True`` returns ``(out, P)``, P the attention probabilities (..., L, S), which
    ``scaled_dot_product_attention_backward(..., weights=P)`` reuses instead of recomputing.
    """
    return_weights = check_bool(return_weights, "return_weights")
    q, k, v, bias, scale, _ = _prepare(query, key, value, attn_mask, is_causal, scale,
                                       enable_gqa)
    p = _weights(q, k, bias, scale)
    return (p @ v, p) if return_weights else p @ v


def scaled_dot_product_attention_backward(grad_output, query, key, value, attn_mask=None,
                                          is_causal=False, scale=None, enable_gqa=False,
                                          weights=None):
    """(dL/dquery, dL/dkey, dL/dvalue) for ``grad_output`` = dL/d(attention output), equal to
    PyTorch autograd's; each has the shape of its input.

    ``weights``: the probabilities P of the forward pass with the same arguments
    (``scaled_dot_product_attention(..., return_weights=True)[1]``); without them the backward
    recomputes P (one more Q K^T product and softmax), which is what a memory-saving
    implementation such as FlashAttention does.
    """
    q0, k0, v0 = (np.shape(a) for a in (query, key, value))
    q, k, v, bias, scale, group = _prepare(query, key, value, attn_mask, is_causal, scale,
                                           enable_gqa)
    if weights is None:
        p = _weights(q, k, bias, scale)
    else:
        p = as_float_array(weights, "weights")
        lead = (q.shape[:-2], k.shape[:-2]) + ((bias.shape[:-2],) if bias is not None else ())
        want = np.broadcast_shapes(*lead) + (q.shape[-2], k.shape[-2])   # as _weights gives
        if p.shape != want:
            raise ValueError(f"weights: expected the forward pass's attention probabilities, "
                             f"shape {want}, got shape {p.shape}")
    dout = as_float_array(grad_output, "grad_output")
    out_shape = np.broadcast_shapes(p.shape[:-2], v.shape[:-2]) + (q.shape[-2], v.shape[-1])
    if dout.shape != out_shape:
        raise ValueError(f"grad_output: expected shape {out_shape} (the shape of the "
                         f"attention output), got shape {dout.shape}")
    dv = np.swapaxes(p, -1, -2) @ dout                              # P^T dO
    ds = dout @ np.swapaxes(v, -1, -2)                              # dP = dO V^T
    ds -= np.einsum("...ij,...ij->...i", ds, p)[..., None]          # dP - D, D = sum(dP * P)
    ds *= p                                                         # dS = P * (dP - D)
    dq = ds @ k
    dq *= scale                                                     # dQ = scale * dS K
    dk = np.swapaxes(ds, -1, -2) @ q
    dk *= scale                                                     # dK = scale * dS^T Q
    if group > 1:                               # the repeated key/value heads: sum each group
        dk = dk.reshape(dk.shape[:-3] + (-1, group) + dk.shape[-2:]).sum(axis=-3)
        dv = dv.reshape(dv.shape[:-3] + (-1, group) + dv.shape[-2:]).sum(axis=-3)
    return _unbroadcast(dq, q0), _unbroadcast(dk, k0), _unbroadcast(dv, v0)


def split_heads(x, num_heads):
    """(N, L, E) -> (N, H, L, E / H): head h holds features h*d .. (h+1)*d - 1 (a reshape and a
    transpose, no copy of values between heads)."""
    x = as_float_array(x, "x", ndim=3)
    H = check_int(num_heads, "num_heads", min_value=1)
    n, L, E = x.shape
    if E % H:
        raise ValueError(f"num_heads: expected a divisor of the embedding size {E}, got {H}")
    return x.reshape(n, L, H, E // H).transpose(0, 2, 1, 3)


def merge_heads(x):
    """(N, H, L, d) -> (N, L, H * d), the inverse of ``split_heads`` (heads concatenated)."""
    x = as_float_array(x, "x", ndim=4)
    n, H, L, d = x.shape
    return x.transpose(0, 2, 1, 3).reshape(n, L, H * d)


# --------------------------------------------------------------------- the layer

class MultiheadAttention(Layer):
    """Multi-head self-attention on x of shape (N, L, E), equal to
    ``torch.nn.MultiheadAttention(E, H, bias=bias, batch_first=True)(x, x, x, ...,
    need_weights=False)[0]``.

    ``params`` (torch's state_dict keys and shapes): ``in_proj_weight`` (3E, E) (rows: the
    query, key and value projections), ``in_proj_bias`` (3E,), ``out_proj.weight`` (E, E),
    ``out_proj.bias`` (E,); without bias only the two weights. Initialised as torch does:
    ``in_proj_weight`` Xavier-uniform, ``out_proj.weight`` uniform on ±1/sqrt(E), biases 0.

    ``forward(x, train=True, attn_mask=None, key_padding_mask=None, is_causal=False)``: masks
    in the ``nn.MultiheadAttention`` convention: a boolean True means "may NOT attend";
    a float mask is added to the scores. ``attn_mask`` has shape (L, L) or (N * H, L, L),
    ``key_padding_mask`` (N, L); ``is_causal=True`` also blocks keys j > i (with an
    ``attn_mask`` both apply). After ``forward``, ``cache["weights"]`` holds the attention
    probabilities (N, H, L, L). ``backward(dout)`` returns dx and fills ``grads`` under the
    keys of ``params``.
    """

    def __init__(self, embed_dim, num_heads, bias=True, rng=None):
        super().__init__()
        E = check_int(embed_dim, "embed_dim", min_value=1)
        H = check_int(num_heads, "num_heads", min_value=1)
        if E % H:
            raise ValueError(f"num_heads: expected a divisor of embed_dim={E}, got {H}")
        bias = check_bool(bias, "bias")
        self.embed_dim, self.num_heads, self.head_dim = E, H, E // H
        g = as_generator(rng)
        a = np.sqrt(6.0 / (E + 3 * E))                     # xavier_uniform_ on (3E, E)
        self.params["in_proj_weight"] = g.uniform(-a, a, size=(3 * E, E))
        if bias:
            self.params["in_proj_bias"] = np.zeros(3 * E)
        self.params["out_proj.weight"] = g.uniform(-1 / np.sqrt(E), 1 / np.sqrt(E), size=(E, E))
        if bias:
            self.params["out_proj.bias"] = np.zeros(E)

    def _bias(self, n, L, attn_mask, key_padding_mask, is_causal):
        """Additive (N, H, L, L) bias (or None) from masks in the MultiheadAttention convention
        (boolean True = may NOT attend; float added), as torch merges them."""
        H, total = self.num_heads, None
        is_causal = check_bool(is_causal, "is_causal")
        for mask, name, shapes in ((attn_mask, "attn_mask", [(L, L), (n * H, L, L)]),
                                   (key_padding_mask, "key_padding_mask", [(n, L)])):
            if mask is None:
                continue
            m = np.asarray(mask)
            if m.dtype == bool:
                b = np.where(m, -np.inf, 0.0)                 # True = NOT allowed
            elif np.issubdtype(m.dtype, np.floating):
                b = _float_mask(m, name)
            else:
                raise ValueError(f"{name}: expected a boolean mask (True = may NOT attend) or "
                                 f"a float mask, got dtype {m.dtype}")
            if b.shape not in shapes:
                want = " or ".join(str(s) for s in shapes)
                raise ValueError(f"{name}: expected shape {want}, got shape {b.shape}")
            if name == "key_padding_mask":
                b = b[:, None, None, :]
            elif b.ndim == 3:
                b = b.reshape(n, H, L, L)
            total = b if total is None else total + b
        if is_causal:
            b = _mask_bias(None, True, L, L)
            total = b if total is None else total + b
        if total is not None:
            _check_rows(total, (n, H, L, L), "attn_mask, key_padding_mask, is_causal")
        return total

    def forward(self, x, train=True, attn_mask=None, key_padding_mask=None, is_causal=False):
        check_bool(train, "train")
        x = as_float_array(x, "x", ndim=3)
        n, L, E = x.shape
        if E != self.embed_dim:
            raise ValueError(f"x: expected shape (N, L, {self.embed_dim}), got shape {x.shape}")
        bias = self._bias(n, L, attn_mask, key_padding_mask, is_causal)
        qkv = x @ self.params["in_proj_weight"].T
        if "in_proj_bias" in self.params:
            qkv += self.params["in_proj_bias"]
        q, k, v = (split_heads(t, self.num_heads) for t in np.split(qkv, 3, axis=-1))
        p = attention_weights(q, k, attn_mask=bias)          # validates: no all-masked row
        heads = p @ v                                          # (N, H, L, d)
        concat = merge_heads(heads)
        out = concat @ self.params["out_proj.weight"].T
        if "out_proj.bias" in self.params:
            out += self.params["out_proj.bias"]
        self.cache = {"x": x, "q": q, "k": k, "v": v, "weights": p, "heads": heads,
                      "concat": concat, "out": out}
        return out

    def backward(self, dout):
        dout = self._check_dout(dout)
        c = self.cache
        E = self.embed_dim
        x2, d2 = c["x"].reshape(-1, E), dout.reshape(-1, E)
        self.grads = {}
        dconcat = dout @ self.params["out_proj.weight"]
        dheads = split_heads(dconcat, self.num_heads)          # (N, H, L, d)
        p, q, k, v = c["weights"], c["q"], c["k"], c["v"]
        dv = np.swapaxes(p, -1, -2) @ dheads
        dp = dheads @ np.swapaxes(v, -1, -2)
        ds = p * (dp - (dheads * c["heads"]).sum(axis=-1, keepdims=True))
        scale = 1.0 / np.sqrt(self.head_dim)
        dq, dk = scale * (ds @ k), scale * (np.swapaxes(ds, -1, -2) @ q)
        dqkv = np.concatenate([merge_heads(t) for t in (dq, dk, dv)], axis=-1)   # (N, L, 3E)
        dqkv2 = dqkv.reshape(-1, 3 * E)
        self.grads["in_proj_weight"] = dqkv2.T @ x2
        if "in_proj_bias" in self.params:
            self.grads["in_proj_bias"] = dqkv2.sum(axis=0)
        self.grads["out_proj.weight"] = d2.T @ c["concat"].reshape(-1, E)
        if "out_proj.bias" in self.params:
            self.grads["out_proj.bias"] = d2.sum(axis=0)
        return dqkv @ self.params["in_proj_weight"]

    def __repr__(self):
        return (f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"bias={'in_proj_bias' in self.params})")
