"""A count-based n-gram language model over token ids: the toy model the decoding pages use.

``NGramLM(order, vocab_size, alpha)`` estimates ``p(t | previous order-1 tokens)`` from counts
with add-``alpha`` (Lidstone) smoothing::

    p(t | c) = (count(c, t) + alpha) / (count(c) + alpha * V)

so every token has positive probability and each row sums to 1 exactly. A context shorter
than ``order - 1`` tokens (the start of a text) uses the model of the order it fits: the
counts of every order 1..n are kept. ``next_logprobs(tokens)`` has the signature
``dlcore.decoding`` expects, so the model plugs into greedy, sampling and beam search.
``token_logprobs(tokens)`` gives ``log p(t_i | t_<i)`` for i >= 1 (the first token has no
context and is not scored), whose negative mean is the cross-entropy and whose
``dlcore.decoding.perplexity`` is the perplexity.
"""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from ._validate import check_int, check_positive

__all__ = ["NGramLM"]


class NGramLM:
    """Add-alpha smoothed n-gram model over the ids 0..vocab_size-1."""

    CACHE_ROWS = 2048            # rows of p(. | context) kept for decoding (16 MB at V = 1024)

    def __init__(self, order, vocab_size, alpha=0.1):
        self.order = check_int(order, "order", min_value=1)
        self.vocab_size = check_int(vocab_size, "vocab_size", min_value=1)
        self.alpha = check_positive(alpha, "alpha")
        self.counts: dict[tuple, Counter] = defaultdict(Counter)   # context -> next-token counts
        self.totals: Counter = Counter()
        self._cache: dict[tuple, np.ndarray] = {}

    def __repr__(self):
        return f"NGramLM(order={self.order}, vocab_size={self.vocab_size}, alpha={self.alpha})"

    def _ids(self, tokens, name="tokens") -> list[int]:
        if isinstance(tokens, (str, bytes)):
            raise ValueError(f"{name}: expected a sequence of int token ids, got {type(tokens).__name__}")
        try:
            ids = list(tokens)
        except TypeError:
            raise ValueError(f"{name}: expected a sequence of int token ids, "
                             f"got {type(tokens).__name__}") from None
        for i, t in enumerate(ids):
            if isinstance(t, bool) or not hasattr(t, "__index__") \
                    or not 0 <= int(t) < self.vocab_size:
                raise ValueError(f"{name}[{i}]: expected a token id in [0, {self.vocab_size - 1}], "
                                 f"got {t!r}")
        return [int(t) for t in ids]

    def fit(self, sequences):
        """Add the n-gram counts (every order 1..n) of each token sequence; returns self."""
        if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__iter__"):
            raise ValueError(f"sequences: expected a list of token-id sequences, "
                             f"got {type(sequences).__name__}")
        for k, seq in enumerate(sequences):
            ids = self._ids(seq, f"sequences[{k}]")
            for i, t in enumerate(ids):
                for n in range(self.order):            # context lengths 0..order-1
                    if i - n < 0:
                        break
                    ctx = tuple(ids[i - n:i])
                    self.counts[ctx][t] += 1
                    self.totals[ctx] += 1
        self._cache.clear()
        return self

    def _context(self, tokens) -> tuple:
        n = self.order - 1
        return tuple(tokens[-n:]) if n > 0 else ()

    def probs(self, tokens) -> np.ndarray:
        """p(. | last order-1 tokens of ``tokens``), a (V,) array that sums to 1."""
        ctx = self._context(self._ids(tokens))
        hit = self._cache.get(ctx)
        if hit is not None:
            return hit.copy()
        V, a = self.vocab_size, self.alpha
        row = np.full(V, a)
        c = self.counts.get(ctx)
        if c:
            ids = np.fromiter(c.keys(), dtype=np.int64, count=len(c))
            row[ids] += np.fromiter(c.values(), dtype=np.float64, count=len(c))
        row /= self.totals.get(ctx, 0) + a * V
        if len(self._cache) < self.CACHE_ROWS:
            self._cache[ctx] = row
        return row.copy()

    def next_logprobs(self, tokens) -> np.ndarray:
        """log p(. | tokens): the model as ``dlcore.decoding`` calls it."""
        return np.log(self.probs(tokens))

    def token_logprobs(self, tokens) -> np.ndarray:
        """log p(t_i | t_<i) for i = 1..len-1 (the first token is the context, not scored)."""
        ids = self._ids(tokens)
        if len(ids) < 2:
            raise ValueError(f"tokens: expected at least 2 tokens to score, got {len(ids)}")
        V, a, out = self.vocab_size, self.alpha, np.empty(len(ids) - 1)
        for i in range(1, len(ids)):
            ctx = tuple(ids[max(0, i - self.order + 1):i])
            c = self.counts.get(ctx)
            hits = c[ids[i]] if c else 0
            out[i - 1] = (hits + a) / (self.totals.get(ctx, 0) + a * V)
        return np.log(out)
