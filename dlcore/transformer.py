"""The Transformer block and the KV cache, in NumPy (the language model built from them is in
``dlcore.language_model``).

**The block** (``TransformerBlock``) is ``torch.nn.TransformerEncoderLayer(d_model, nhead,
dim_feedforward, dropout=0, batch_first=True, norm_first=...)``: self-attention and a
position-wise feed-forward network (FFN), each wrapped in a residual connection and a norm.
With ``x`` of shape (N, L, D)::

    pre-LN  (norm_first=True):   x1 = x + Attn(LN1(x))          out = x1 + FFN(LN2(x1))
    post-LN (norm_first=False):  x1 = LN1(x + Attn(x))          out = LN2(x1 + FFN(x1))
    FFN(h) = act(h W1^T + b1) W2^T + b2,   W1 (d_ff, D), W2 (D, d_ff), d_ff = 4 D by default

Its ``params`` are keyed and shaped like that torch layer's ``state_dict`` (``self_attn.*``,
``linear1.weight``, ``norm1.weight``, ...), so ``load_state_dict`` takes torch's weights by
name. ``norm="rms"`` uses ``RMSNorm`` (no bias; torch: replace ``norm1``/``norm2`` by
``nn.RMSNorm``). Backward, pre-LN, with ``g = dL/dout``::

    dx1 = g + LN2.backward(FFN.backward(g))       (the identity path adds g unchanged)
    dx  = dx1 + LN1.backward(Attn.backward(dx1))

**Decoding with a KV cache.** A causal model's key and value at position j depend only on
tokens <= j, so they never change once computed. ``KVCache`` stores them, per layer, in arrays
of shape (N, H, max_length, d_head): 2 * layers * H * d_head * bytes per cached token (and per
sequence). ``TransformerBlock.forward_step`` attends from the new tokens to every cached key and
equals the full causal forward pass on the whole prefix.

These classes compose layers of ``dlcore.layers`` (``MultiheadAttention``, ``LayerNorm``,
``RMSNorm``) and so live above that package, like ``dlcore.rnn``'s cells; they follow the same
protocol (``forward``/``backward``, ``params``/``grads`` dicts updated in place, ``cache``) but
are not ``Layer`` subclasses.
"""
from __future__ import annotations

import numpy as np

from . import functional as F
from ._validate import as_float_array, as_generator, check_bool, check_positive
from .attention import MultiheadAttention, scaled_dot_product_attention, split_heads, \
    merge_heads
from .normalization import LayerNorm, RMSNorm

__all__ = ["TransformerBlock", "KVCache", "kv_cache_bytes", "block_parameter_count"]


def _positive_int(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


def _choice(value, name, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name}: expected one of {list(options)}, got {value!r}")
    return value


def _tanh_gelu(z):
    return F.gelu(z, approximate="tanh")


def _tanh_gelu_grad(z):
    return F.gelu_grad(z, approximate="tanh")


# activation name -> (f, f'); "gelu_tanh" is torch's F.gelu(..., approximate="tanh")
_ACTIVATIONS = {"relu": (F.relu, F.relu_grad), "gelu": (F.gelu, F.gelu_grad),
                "gelu_tanh": (_tanh_gelu, _tanh_gelu_grad)}


def _make_norm(kind, d, eps):
    return LayerNorm(d, eps=eps) if kind == "layer" else RMSNorm(d, eps=eps)


def _norm_params(norm, source):
    """torch's names for a norm's arrays: weight (and bias) for gamma (and beta)."""
    d = getattr(norm, source)
    if isinstance(norm, LayerNorm):
        return {"weight": d["gamma"], "bias": d["beta"]} if d else {}
    return {"weight": d["weight"]} if d else {}


def _prefixed(prefix, d):
    return {f"{prefix}.{k}": v for k, v in d.items()}


class _Module:
    """params/grads as flat dicts of the sub-modules' own arrays (so in-place optimizer updates
    reach them), and ``load_state_dict`` copying arrays in by name."""

    def _collect(self, source):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def params(self):
        return self._collect("params")

    @property
    def grads(self):
        return self._collect("grads")

    def num_parameters(self):
        """Total number of scalar parameters."""
        return int(sum(p.size for p in self.params.values()))

    def load_state_dict(self, state):
        """Copy arrays into the parameters, by name (the keys and shapes of ``params``; a
        torch ``state_dict`` converted with ``{k: v.detach().numpy() ...}``). Every key must
        be present; nothing is changed if one is missing, unknown or of the wrong shape."""
        if not isinstance(state, dict):
            raise ValueError(f"state: expected a dict of arrays, got {type(state).__name__}")
        params = self.params
        missing = sorted(set(params) - set(state))
        unknown = sorted(set(state) - set(params))
        if missing or unknown:
            raise ValueError(f"state: expected the keys of params, missing {missing}, "
                             f"unknown {unknown}")
        arrays = {}
        for k, v in state.items():
            a = as_float_array(v, f"state[{k!r}]")
            if a.shape != params[k].shape:
                raise ValueError(f"state[{k!r}]: expected shape {params[k].shape}, got shape "
                                 f"{a.shape}")
            arrays[k] = a
        for k, a in arrays.items():
            params[k][...] = a

    def _check_dout(self, dout):
        if "out" not in self.cache:
            raise ValueError(f"{type(self).__name__}.backward: call forward first")
        dout = as_float_array(dout, "dout")
        if dout.shape != self.cache["out"].shape:
            raise ValueError(f"dout: expected shape {self.cache['out'].shape} (the shape of the "
                             f"output), got shape {dout.shape}")
        return dout


# ----------------------------------------------------------------------------- the block

class TransformerBlock(_Module):
    """One Transformer layer on x of shape (N, L, D), equal to ``torch.nn.TransformerEncoderLayer(
    D, num_heads, d_ff, dropout=0.0, activation=..., batch_first=True, norm_first=...)``.

    ``norm``: ``"layer"`` (LayerNorm) or ``"rms"`` (RMSNorm); ``activation``: ``"relu"``,
    ``"gelu"`` or ``"gelu_tanh"``; ``d_ff`` defaults to 4 D. Initialised as torch does
    (``MultiheadAttention``'s scheme; ``linear1``/``linear2`` uniform on ±1/sqrt(fan_in)).
    ``forward(x, train=True, attn_mask=None, key_padding_mask=None, is_causal=False)`` takes
    masks in the ``nn.MultiheadAttention`` convention (boolean True = may NOT attend).
    After ``forward``, ``cache`` holds ``"attn_out"`` and ``"ffn_out"`` (what each residual
    branch added) and ``self.self_attn.cache["weights"]`` the attention maps (N, H, L, L).
    """

    def __init__(self, d_model, num_heads, d_ff=None, norm_first=True, norm="layer",
                 activation="relu", eps=1e-5, rng=None):
        D = _positive_int(d_model, "d_model")
        self.d_ff = 4 * D if d_ff is None else _positive_int(d_ff, "d_ff")
        if not isinstance(norm_first, (bool, np.bool_)):
            raise ValueError(f"norm_first: expected a bool, got {norm_first!r}")
        self.norm_kind = _choice(norm, "norm", ("layer", "rms"))
        self.activation = _choice(activation, "activation", tuple(_ACTIVATIONS))
        self.d_model, self.norm_first = D, bool(norm_first)
        g = as_generator(rng)
        self.self_attn = MultiheadAttention(D, num_heads, rng=g)
        self.num_heads, self.head_dim = self.self_attn.num_heads, self.self_attn.head_dim
        self.norm1 = _make_norm(self.norm_kind, D, check_positive(eps, "eps"))
        self.norm2 = _make_norm(self.norm_kind, D, eps)
        b1, b2 = 1 / np.sqrt(D), 1 / np.sqrt(self.d_ff)
        self._ffn = {"linear1.weight": g.uniform(-b1, b1, (self.d_ff, D)),
                     "linear1.bias": g.uniform(-b1, b1, self.d_ff),
                     "linear2.weight": g.uniform(-b2, b2, (D, self.d_ff)),
                     "linear2.bias": g.uniform(-b2, b2, D)}
        self._ffn_grads, self._ffn_cache, self.cache = {}, {}, {}

    def _collect(self, source):
        out = _prefixed("self_attn", getattr(self.self_attn, source))
        out.update(self._ffn if source == "params" else self._ffn_grads)
        out.update(_prefixed("norm1", _norm_params(self.norm1, source)))
        out.update(_prefixed("norm2", _norm_params(self.norm2, source)))
        return out

    # the position-wise feed-forward network: every token separately
    def _ffn_forward(self, h):
        p, shape = self._ffn, h.shape
        h2 = h.reshape(-1, self.d_model)                       # (tokens, D): one matmul each
        z = h2 @ p["linear1.weight"].T + p["linear1.bias"]
        a = _ACTIVATIONS[self.activation][0](z)
        self._ffn_cache = {"h": h2, "z": z, "a": a}
        return (a @ p["linear2.weight"].T + p["linear2.bias"]).reshape(shape)

    def _ffn_backward(self, df):
        c, p = self._ffn_cache, self._ffn
        df2 = df.reshape(-1, self.d_model)
        dz = (df2 @ p["linear2.weight"]) * _ACTIVATIONS[self.activation][1](c["z"])
        self._ffn_grads = {"linear1.weight": dz.T @ c["h"], "linear1.bias": dz.sum(axis=0),
                           "linear2.weight": df2.T @ c["a"], "linear2.bias": df2.sum(axis=0)}
        return (dz @ p["linear1.weight"]).reshape(df.shape)

    def _check_x(self, x):
        x = as_float_array(x, "x", ndim=3)
        if x.shape[-1] != self.d_model:
            raise ValueError(f"x: expected shape (N, L, {self.d_model}), got shape {x.shape}")
        return x

    def forward(self, x, train=True, attn_mask=None, key_padding_mask=None, is_causal=False):
        check_bool(train, "train")           # no dropout here: accepted for the Layer interface
        x = self._check_x(x)
        masks = {"attn_mask": attn_mask, "key_padding_mask": key_padding_mask,
                 "is_causal": is_causal}
        if self.norm_first:
            a = self.self_attn.forward(self.norm1.forward(x), **masks)
            x1 = x + a
            f = self._ffn_forward(self.norm2.forward(x1))
            out = x1 + f
        else:
            a = self.self_attn.forward(x, **masks)
            x1 = self.norm1.forward(x + a)
            f = self._ffn_forward(x1)
            out = self.norm2.forward(x1 + f)
        self.cache = {"attn_out": a, "ffn_out": f, "out": out}
        return out

    def backward(self, dout):
        """dL/dx; fills ``grads`` (the keys of ``params``)."""
        g = self._check_dout(dout)
        if self.norm_first:
            dx1 = g + self.norm2.backward(self._ffn_backward(g))
            return dx1 + self.norm1.backward(self.self_attn.backward(dx1))
        ds2 = self.norm2.backward(g)
        ds1 = self.norm1.backward(ds2 + self._ffn_backward(ds2))
        return ds1 + self.self_attn.backward(ds1)

    def _attend_cached(self, h, cache, layer):
        """Causal self-attention of the new rows h (N, T, D) over the cached keys + their own."""
        p = self.self_attn.params
        qkv = h @ p["in_proj_weight"].T + p["in_proj_bias"]
        q, k, v = (split_heads(t, self.num_heads) for t in np.split(qkv, 3, axis=-1))
        start = cache.length
        keys, values = cache.update(layer, k, v)               # (N, H, start + T, d)
        T = h.shape[1]
        allowed = np.arange(start + T)[None, :] <= start + np.arange(T)[:, None]
        heads = scaled_dot_product_attention(q, keys, values, attn_mask=allowed)
        return merge_heads(heads) @ p["out_proj.weight"].T + p["out_proj.bias"]

    def forward_step(self, x, cache, layer):
        """Inference on the new positions x (N, T, D) of a causal model, attending to the keys
        and values that ``cache`` holds for layer ``layer`` (which this call extends; the
        caller advances ``cache.length`` once every layer has run). Equals the last T rows of
        ``forward`` on the whole sequence with ``is_causal=True``. No backward."""
        x = self._check_x(x)
        if not isinstance(cache, KVCache):
            raise ValueError(f"cache: expected a KVCache, got {type(cache).__name__}")
        if self.norm_first:
            x1 = x + self._attend_cached(self.norm1.forward(x), cache, layer)
            return x1 + self._ffn_forward(self.norm2.forward(x1))
        x1 = self.norm1.forward(x + self._attend_cached(x, cache, layer))
        return self.norm2.forward(x1 + self._ffn_forward(x1))

    def to_torch(self):
        """A ``torch.nn.TransformerEncoderLayer`` (float64, dropout 0, batch_first) holding a
        copy of these weights (norm="rms": its norms replaced by ``torch.nn.RMSNorm``)."""
        import functools
        import torch
        act = {"relu": "relu", "gelu": "gelu",
               "gelu_tanh": functools.partial(torch.nn.functional.gelu, approximate="tanh")}
        layer = torch.nn.TransformerEncoderLayer(
            self.d_model, self.num_heads, self.d_ff, dropout=0.0,
            activation=act[self.activation], batch_first=True, norm_first=self.norm_first,
            layer_norm_eps=self.norm1.eps, dtype=torch.float64)
        if self.norm_kind == "rms":
            layer.norm1 = torch.nn.RMSNorm(self.d_model, eps=self.norm1.eps,
                                           dtype=torch.float64)
            layer.norm2 = torch.nn.RMSNorm(self.d_model, eps=self.norm2.eps,
                                           dtype=torch.float64)
        layer.load_state_dict({k: torch.tensor(v) for k, v in self.params.items()})
        return layer

    def __repr__(self):
        return (f"TransformerBlock(d_model={self.d_model}, num_heads={self.num_heads}, "
                f"d_ff={self.d_ff}, norm_first={self.norm_first}, norm={self.norm_kind!r}, "
                f"activation={self.activation!r})")


def block_parameter_count(d_model, d_ff=None, norm="layer"):
    """Parameters of one ``TransformerBlock``: attention 4 D^2 + 4 D, FFN 2 D d_ff + d_ff + D,
    two norms 4 D (LayerNorm) or 2 D (RMSNorm). With d_ff = 4 D and LayerNorm: 12 D^2 + 13 D."""
    D = _positive_int(d_model, "d_model")
    dff = 4 * D if d_ff is None else _positive_int(d_ff, "d_ff")
    norms = 4 * D if _choice(norm, "norm", ("layer", "rms")) == "layer" else 2 * D
    return 4 * D * D + 4 * D + 2 * D * dff + dff + D + norms


# ------------------------------------------------------------------------- the KV cache

class KVCache:
    """Keys and values of every layer for the positions processed so far.

    ``keys`` and ``values`` have shape (num_layers, N, H, max_length, d_head), float64;
    ``length`` positions are filled. ``update(layer, k, v)`` writes the new positions' keys and
    values (N, H, T, d_head) after the filled ones and returns the filled prefix including them;
    ``advance(T)`` then moves ``length`` on (once all layers have written).
    ``nbytes`` = 2 * layers * N * H * max_length * d_head * 8.
    """

    def __init__(self, num_layers, batch_size, num_heads, head_dim, max_length):
        shape = tuple(_positive_int(v, n) for v, n in (
            (num_layers, "num_layers"), (batch_size, "batch_size"), (num_heads, "num_heads"),
            (max_length, "max_length"), (head_dim, "head_dim")))
        self.keys, self.values = np.zeros(shape), np.zeros(shape)
        self.max_length, self.length = shape[3], 0

    @property
    def nbytes(self):
        return int(self.keys.nbytes + self.values.nbytes)

    def update(self, layer, k, v):
        L, N, H, _, d = self.keys.shape
        if isinstance(layer, (bool, np.bool_)) or not isinstance(layer, (int, np.integer)) \
                or not 0 <= layer < L:
            raise ValueError(f"layer: expected an int in [0, {L - 1}], got {layer!r}")
        k, v = as_float_array(k, "k", ndim=4), as_float_array(v, "v", ndim=4)
        T = k.shape[2]
        if k.shape != (N, H, T, d) or v.shape != k.shape:
            raise ValueError(f"k, v: expected shape ({N}, {H}, T, {d}), got shapes {k.shape}, "
                             f"{v.shape}")
        end = self.length + T
        if end > self.max_length:
            raise ValueError(f"k: {T} new positions after {self.length} exceed the cache's "
                             f"max_length {self.max_length}")
        self.keys[layer, :, :, self.length:end] = k
        self.values[layer, :, :, self.length:end] = v
        return self.keys[layer, :, :, :end], self.values[layer, :, :, :end]

    def advance(self, steps):
        steps = _positive_int(steps, "steps")
        if self.length + steps > self.max_length:
            raise ValueError(f"steps: expected at most {self.max_length - self.length}, got "
                             f"{steps}")
        self.length += steps

    def __repr__(self):
        L, N, H, S, d = self.keys.shape
        return (f"KVCache(layers={L}, batch={N}, heads={H}, head_dim={d}, max_length={S}, "
                f"length={self.length})")


def kv_cache_bytes(num_layers, num_kv_heads, head_dim, tokens, bytes_per_value=2,
                   batch_size=1):
    """Size of a KV cache: 2 (keys and values) * layers * KV heads * d_head * tokens * bytes
    per value * sequences (2 bytes: fp16/bf16)."""
    factors = [_positive_int(v, n) for v, n in (
        (num_layers, "num_layers"), (num_kv_heads, "num_kv_heads"), (head_dim, "head_dim"),
        (tokens, "tokens"), (bytes_per_value, "bytes_per_value"), (batch_size, "batch_size"))]
    return 2 * int(np.prod(factors, dtype=object))
