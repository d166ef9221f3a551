"""A count-based n-gram language model over token ids: the toy model the decoding pages use.

``NGramLM(order, vocab_size, alpha)`` estimates ``p(t | previous order-1 tokens)`` from counts,
smoothed by interpolation (Witten-Bell, as in Chen & Goodman's survey of n-gram smoothing):

    p_1(t)     = (count(t) + alpha) / (N + alpha * V)                 (add-alpha unigram)
    p_n(t | h) = (count(h, t) + u(h) * p_(n-1)(t | h')) / (count(h) + u(h))

where ``h`` is a context of n-1 tokens, ``h'`` the context without its oldest token and
``u(h)`` the number of distinct tokens seen after ``h``; an unseen context falls back to
``p_(n-1)(t | h')``. The more varied the continuations of a context, the more weight the
shorter context keeps. Every token has positive probability and each row sums to 1. A context
shorter than ``order - 1`` tokens (the start of a text) uses the orders it has. ``next_logprobs(tokens)`` has the signature
``dlcore.decoding`` expects, so the model plugs into greedy, sampling and beam search.
``token_logprobs(tokens)`` gives ``log p(t_i | t_<i)`` for i >= 1 (the first token has no
context and is not scored), whose negative mean is the cross-entropy and whose
``dlcore.decoding.perplexity`` is the perplexity.

``toy_language_model()`` builds the model the decoding pages share: a byte-level BPE trained on
the training part of ``dlcore.corpus``'s book text, and an n-gram model fitted on it, each
paragraph encoded as one sequence ending in the newline token (id 10, the end-of-text token
of the pages: paragraphs contain no other newline).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import NamedTuple

import numpy as np

from ._validate import check_int, check_positive

__all__ = ["NGramLM", "ToyLanguageModel", "toy_language_model"]


class NGramLM:
    """Interpolated (Witten-Bell) n-gram model over the ids 0..vocab_size-1, with an
    add-alpha unigram at the bottom."""

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
        out = [check_int(t, f"{name}[{i}]") for i, t in enumerate(ids)]
        for i, t in enumerate(out):
            if not 0 <= t < self.vocab_size:
                raise ValueError(f"{name}[{i}]: expected a token id in [0, {self.vocab_size - 1}], "
                                 f"got {t!r}")
        return out

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
        row = np.full(V, a)                                  # add-alpha unigram
        c = self.counts.get(())
        if c:
            row[np.fromiter(c.keys(), dtype=np.int64, count=len(c))] += \
                np.fromiter(c.values(), dtype=np.float64, count=len(c))
        row /= self.totals.get((), 0) + a * V
        for n in range(1, len(ctx) + 1):                     # longer and longer contexts
            h = ctx[-n:]
            c = self.counts.get(h)
            if not c:
                continue                                     # unseen: keep the shorter model
            u = len(c)
            row *= u
            row[np.fromiter(c.keys(), dtype=np.int64, count=u)] += \
                np.fromiter(c.values(), dtype=np.float64, count=u)
            row /= self.totals[h] + u
        if len(self._cache) < self.CACHE_ROWS:
            self._cache[ctx] = row
        return row.copy()

    def prob(self, context, token) -> float:
        """p(token | context), the same number as ``probs(context)[token]`` without building
        the row."""
        ctx = self._context(self._ids(context))
        (t,) = self._ids([token], "token")
        V, a = self.vocab_size, self.alpha
        c = self.counts.get(())
        p = ((c[t] if c else 0) + a) / (self.totals.get((), 0) + a * V)
        for n in range(1, len(ctx) + 1):
            c = self.counts.get(ctx[-n:])
            if c:
                p = (c[t] + len(c) * p) / (self.totals[ctx[-n:]] + len(c))
        return p

    def next_logprobs(self, tokens) -> np.ndarray:
        """log p(. | tokens): the model as ``dlcore.decoding`` calls it."""
        return np.log(self.probs(tokens))

    def token_logprobs(self, tokens) -> np.ndarray:
        """log p(t_i | t_<i) for i = 1..len-1 (the first token is the context, not scored)."""
        ids = self._ids(tokens)
        if len(ids) < 2:
            raise ValueError(f"tokens: expected at least 2 tokens to score, got {len(ids)}")
        return np.log([self.prob(ids[max(0, i - self.order + 1):i], ids[i])
                       for i in range(1, len(ids))])


class ToyLanguageModel(NamedTuple):
    """What ``toy_language_model`` returns: the tokenizer, the fitted model, and the
    paragraphs of the training and test parts as token-id lists (each ending in ``eos``)."""
    tokenizer: object
    model: NGramLM
    train: list
    test: list
    eos: int


def toy_language_model(num_merges=1000, order=3, alpha=0.01) -> ToyLanguageModel:
    """Train a BPE with ``num_merges`` merges on ``dlcore.corpus.load_text("book", "train")``
    and fit an ``NGramLM(order, vocab, alpha)`` on its paragraphs (about 2 s)."""
    from .corpus import load_text
    from .tokenize import train_bpe
    train_text = load_text("book", "train")
    tok = train_bpe(train_text, num_merges)
    eos = tok.encode("\n")[0]

    def encode(text):
        return [tok.encode(p + "\n") for p in text.split("\n\n") if p.strip()]
    train = encode(train_text)
    test = encode(load_text("book", "test"))
    model = NGramLM(order, tok.vocab_size, alpha).fit(train)
    return ToyLanguageModel(tok, model, train, test, eos)
