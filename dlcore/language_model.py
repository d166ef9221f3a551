"""A tiny decoder-only Transformer language model in NumPy, its loss, a toy task and a
training step.

**The language model** (``TinyLM``): token and learned position embeddings, pre-LN (or post-LN)
causal blocks, a final norm (pre-LN only) and an output head without bias; ``to_torch`` builds
the same model from ``torch.nn`` modules with the same state_dict keys. ``init="gpt2"`` draws
every weight matrix from N(0, 0.02^2) and the residual branches' output projections
(``self_attn.out_proj.weight``, ``linear2.weight``) from N(0, (0.02 / sqrt(2 * layers))^2), as
GPT-2; ``init="xavier"`` draws every weight matrix (embeddings and head included) Xavier-uniform
over its whole shape with zero biases (``nn.Transformer``'s reset, as in the original
Transformer); ``init="torch"`` keeps torch's default initialization of each module.

``TinyLM`` is built from ``dlcore.transformer``'s blocks and decodes with its ``KVCache``:
``forward_cached`` feeds new tokens after the cached ones, ``generate`` decodes greedily with
or without the cache (the same tokens). ``sequence_cross_entropy`` is
``F.cross_entropy(..., ignore_index=-100)`` over every position; ``reversal_task`` makes the
toy task "reverse the sequence"; ``train_step`` is one forward, loss, backward, update.
"""
from __future__ import annotations

import numpy as np

from . import functional as F
from ._validate import as_float_array, as_generator, check_bool, check_int, check_positive
from .normalization import LayerNorm
from .transformer import (KVCache, TransformerBlock, _Module, _choice, _make_norm,
                          _norm_params, _positive_int, _prefixed)

__all__ = ["TinyLM", "sequence_cross_entropy", "reversal_task", "train_step"]


class TinyLM(_Module):
    """A decoder-only Transformer language model on integer tokens (N, T), T <= max_length.

    ``params``: ``tok_emb.weight`` (V, D), ``pos_emb.weight`` (max_length, D; learned
    absolute positions, left out with ``positions=False``),
    ``blocks.<i>.<name>`` (each ``TransformerBlock``'s keys), ``norm_f.weight`` (and
    ``.bias``; pre-LN only), ``head.weight`` (V, D). ``forward(tokens)`` returns the logits
    (N, T, V) of the next token at every position (causal attention); ``backward(dlogits)``
    fills ``grads``. ``forward_cached`` and ``generate`` decode with a ``KVCache``.
    """

    def __init__(self, vocab_size, max_length, d_model=32, num_heads=2, num_layers=2,
                 d_ff=None, norm_first=True, norm="layer", activation="relu", init="gpt2",
                 init_std=0.02, positions=True, rng=None):
        V, S = _positive_int(vocab_size, "vocab_size"), _positive_int(max_length, "max_length")
        D, n = _positive_int(d_model, "d_model"), _positive_int(num_layers, "num_layers")
        _choice(init, "init", ("gpt2", "xavier", "torch"))
        std = check_positive(init_std, "init_std")
        if not isinstance(positions, (bool, np.bool_)):
            raise ValueError(f"positions: expected a bool, got {positions!r}")
        g = as_generator(rng)
        self.vocab_size, self.max_length, self.d_model = V, S, D
        self.blocks = [TransformerBlock(D, num_heads, d_ff, norm_first, norm, activation,
                                        rng=g) for _ in range(n)]
        self.norm_first = self.blocks[0].norm_first
        self.norm_f = _make_norm(norm, D, 1e-5) if self.norm_first else None
        self._own = {"tok_emb.weight": g.standard_normal((V, D)),     # torch: N(0, 1)
                     "pos_emb.weight": g.standard_normal((S, D)),
                     "head.weight": g.uniform(-1 / np.sqrt(D), 1 / np.sqrt(D), (V, D))}
        if not positions:
            del self._own["pos_emb.weight"]
        self._own_grads, self.cache = {}, {}
        if init == "xavier":
            for name, p in self.params.items():
                if name.endswith("bias"):
                    p[...] = 0.0
                elif p.ndim == 2:
                    a = np.sqrt(6.0 / sum(p.shape))
                    p[...] = g.uniform(-a, a, p.shape)
        if init == "gpt2":
            for name, p in self.params.items():
                if name.endswith("bias"):
                    p[...] = 0.0
                elif not name.startswith("norm") and ".norm" not in name:
                    resid = name.endswith(("out_proj.weight", "linear2.weight"))
                    p[...] = g.normal(0.0, std / np.sqrt(2 * n) if resid else std, p.shape)

    def _collect(self, source):
        out = dict(self._own if source == "params" else self._own_grads)
        for i, blk in enumerate(self.blocks):
            out.update(_prefixed(f"blocks.{i}", getattr(blk, source)))
        if self.norm_f is not None:
            out.update(_prefixed("norm_f", _norm_params(self.norm_f, source)))
        return out

    def _check_tokens(self, tokens, max_length):
        t = np.asarray(tokens)
        if t.ndim != 2 or t.size == 0 or not np.issubdtype(t.dtype, np.integer) \
                or t.min() < 0 or t.max() >= self.vocab_size:
            raise ValueError(f"tokens: expected a non-empty (N, T) array of ints in [0, "
                             f"{self.vocab_size - 1}], got {tokens!r:.80}")
        if t.shape[1] > max_length:
            raise ValueError(f"tokens: expected at most {max_length} positions, got shape "
                             f"{t.shape}")
        return t

    def _embed(self, t, start):
        h = self._own["tok_emb.weight"][t]
        if "pos_emb.weight" in self._own:
            h = h + self._own["pos_emb.weight"][start:start + t.shape[1]]
        return h

    def _head(self, h):
        if self.norm_f is not None:
            h = self.norm_f.forward(h)
        return h @ self._own["head.weight"].T, h

    def forward(self, tokens, train=True):
        check_bool(train, "train")           # no dropout here: accepted for the Layer interface
        t = self._check_tokens(tokens, self.max_length)
        h = self._embed(t, 0)
        for blk in self.blocks:
            h = blk.forward(h, is_causal=True)
        logits, top = self._head(h)
        self.cache = {"tokens": t, "top": top, "out": logits}
        return logits

    def backward(self, dlogits):
        """Fill ``grads`` from dL/dlogits (N, T, V); returns None (tokens have no gradient)."""
        d = self._check_dout(dlogits)
        c, D = self.cache, self.d_model
        head = self._own_grads["head.weight"] = d.reshape(-1, self.vocab_size).T \
            @ c["top"].reshape(-1, D)
        dh = d @ self._own["head.weight"]
        if self.norm_f is not None:
            dh = self.norm_f.backward(dh)
        for blk in reversed(self.blocks):
            dh = blk.backward(dh)
        tok = np.zeros_like(self._own["tok_emb.weight"])
        np.add.at(tok, c["tokens"], dh)
        self._own_grads = {"tok_emb.weight": tok, "head.weight": head}
        if "pos_emb.weight" in self._own:
            pos = self._own_grads["pos_emb.weight"] = np.zeros_like(self._own["pos_emb.weight"])
            pos[:dh.shape[1]] = dh.sum(axis=0)
        return None

    def new_cache(self, batch_size, max_length=None):
        """An empty ``KVCache`` for this model (max_length defaults to the model's)."""
        blk = self.blocks[0]
        S = self.max_length if max_length is None else _positive_int(max_length, "max_length")
        return KVCache(len(self.blocks), batch_size, blk.num_heads, blk.head_dim, S)

    def forward_cached(self, tokens, cache):
        """Logits (N, T, V) for the new tokens (N, T) at positions cache.length ..
        cache.length + T - 1, using and extending ``cache``."""
        if not isinstance(cache, KVCache):
            raise ValueError(f"cache: expected a KVCache, got {type(cache).__name__}")
        t = self._check_tokens(tokens, min(self.max_length, cache.max_length) - cache.length)
        if t.shape[0] != cache.keys.shape[1]:
            raise ValueError(f"tokens: expected {cache.keys.shape[1]} sequences (the cache's "
                             f"batch), got shape {t.shape}")
        start, T = cache.length, t.shape[1]
        h = self._embed(t, start)
        for i, blk in enumerate(self.blocks):
            h = blk.forward_step(h, cache, i)
        cache.advance(T)
        return self._head(h)[0]

    def generate(self, prompt, num_new, use_cache=True):
        """Greedy decoding: append ``num_new`` arg-max tokens to ``prompt`` (N, T0); with
        ``use_cache=False`` every step reruns the full forward pass on the whole prefix."""
        seq = self._check_tokens(prompt, self.max_length)
        n = _positive_int(num_new, "num_new")
        use_cache = check_bool(use_cache, "use_cache")
        if seq.shape[1] + n - 1 > self.max_length:      # the last new token is not fed back
            raise ValueError(f"num_new: prompt ({seq.shape[1]}) + num_new ({n}) - 1 exceeds "
                             f"max_length {self.max_length}")
        cache = self.new_cache(seq.shape[0]) if use_cache else None
        new = seq
        for _ in range(n):
            logits = self.forward_cached(new, cache) if use_cache \
                else self.forward(seq, train=False)
            new = logits[:, -1].argmax(axis=-1)[:, None]
            seq = np.concatenate([seq, new], axis=1)
        return seq

    def to_torch(self):
        """The same model built from ``torch.nn`` modules (float64), loaded with these weights
        by state_dict key; its ``forward(tokens)`` returns the logits."""
        import torch

        blocks = [blk.to_torch() for blk in self.blocks]
        norm = self.norm_f
        model = self

        class TorchLM(torch.nn.Module):
            def __init__(self):
                super().__init__()
                dt = torch.float64
                self.tok_emb = torch.nn.Embedding(model.vocab_size, model.d_model, dtype=dt)
                if "pos_emb.weight" in model.params:
                    self.pos_emb = torch.nn.Embedding(model.max_length, model.d_model,
                                                      dtype=dt)
                self.blocks = torch.nn.ModuleList(blocks)
                if norm is not None:
                    self.norm_f = torch.nn.LayerNorm(model.d_model, eps=norm.eps, dtype=dt) \
                        if isinstance(norm, LayerNorm) \
                        else torch.nn.RMSNorm(model.d_model, eps=norm.eps, dtype=dt)
                self.head = torch.nn.Linear(model.d_model, model.vocab_size, bias=False,
                                            dtype=dt)

            def forward(self, tokens):
                T = tokens.shape[1]
                h = self.tok_emb(tokens)
                if hasattr(self, "pos_emb"):
                    h = h + self.pos_emb.weight[:T]
                mask = torch.nn.Transformer.generate_square_subsequent_mask(
                    T, dtype=torch.float64)
                for blk in self.blocks:
                    h = blk(h, src_mask=mask, is_causal=True)
                if hasattr(self, "norm_f"):
                    h = self.norm_f(h)
                return self.head(h)

        tm = TorchLM()
        tm.load_state_dict({k: torch.tensor(v) for k, v in self.params.items()})
        return tm

    def __repr__(self):
        b = self.blocks[0]
        return (f"TinyLM(vocab_size={self.vocab_size}, max_length={self.max_length}, "
                f"d_model={self.d_model}, num_heads={b.num_heads}, "
                f"num_layers={len(self.blocks)}, norm_first={self.norm_first})")


# ------------------------------------------------------------------- loss, data, training

def sequence_cross_entropy(logits, targets, ignore_index=-100):
    """Mean cross-entropy over the positions whose target is not ``ignore_index``, and its
    gradient: ``torch.nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1),
    ignore_index=ignore_index)``. ``logits`` (N, T, V), ``targets`` (N, T) ints."""
    z = as_float_array(logits, "logits", ndim=3)
    ignore_index = check_int(ignore_index, "ignore_index")
    y = np.asarray(targets)
    if y.shape != z.shape[:2] or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"targets: expected ints of shape {z.shape[:2]}, got {targets!r:.80}")
    keep = y != ignore_index
    if not keep.any():
        raise ValueError("targets: every position equals ignore_index (nothing to average)")
    if y[keep].min() < 0 or y[keep].max() >= z.shape[2]:
        raise ValueError(f"targets: expected values in [0, {z.shape[2] - 1}] or "
                         f"ignore_index={ignore_index}, got {targets!r:.80}")
    logp = F.log_softmax(z[keep], axis=-1)                  # (M, V)
    rows = np.arange(logp.shape[0])
    M = logp.shape[0]
    grad_rows = np.exp(logp)
    grad_rows[rows, y[keep]] -= 1.0
    grad = np.zeros_like(z)
    grad[keep] = grad_rows / M
    return float(-logp[rows, y[keep]].mean()), grad


def reversal_task(num_examples, length, num_symbols, rng=None):
    """The toy task "reverse the sequence": sequences s_1 .. s_n SEP s_n .. s_1 of random
    symbols in [0, num_symbols) with SEP = num_symbols (vocabulary num_symbols + 1).

    Returns (inputs, targets), both (num_examples, 2n) ints: the sequence without its last
    token, and the next token at every position, with -100 (ignored by
    ``sequence_cross_entropy``) where the next token is not determined by the prefix (the
    first n positions): the loss counts only the n reversed symbols.
    """
    N, n = _positive_int(num_examples, "num_examples"), _positive_int(length, "length")
    V = _positive_int(num_symbols, "num_symbols")
    g = as_generator(rng)
    s = g.integers(0, V, size=(N, n))
    seq = np.concatenate([s, np.full((N, 1), V), s[:, ::-1]], axis=1)
    inputs, targets = seq[:, :-1].copy(), seq[:, 1:].copy()
    targets[:, :n] = -100
    return inputs, targets


def train_step(model, inputs, targets, optimizer):
    """One step of next-token training: forward, ``sequence_cross_entropy``, backward,
    ``optimizer.step``; returns the loss (before the step)."""
    for name, obj, needs in (("model", model, ("forward", "backward", "params", "grads")),
                             ("optimizer", optimizer, ("step",))):
        if not all(hasattr(obj, a) for a in needs):
            raise ValueError(f"{name}: expected an object with {', '.join(needs)}, got "
                             f"{type(obj).__name__}")
    logits = model.forward(inputs, train=True)
    loss, dlogits = sequence_cross_entropy(logits, targets)
    model.backward(dlogits)
    optimizer.step(model.params, model.grads)
    return loss
