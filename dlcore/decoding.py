"""Decoding a language model: temperature, top-k, top-p, sampling, greedy and beam search.

A language model gives, for a prefix of tokens, a distribution over the next token. Here a
model is any function ``next_logprobs(tokens) -> (V,) array`` of log-probabilities (or of
logits: the filters below accept either, and normalise). Decoding turns that into text.

**Shaping one step's distribution** (``next_token_distribution``), in the order Hugging Face
``generate`` applies them: temperature, then top-k, then top-p.

* temperature ``T > 0``: ``softmax(logits / T)``; ``T = 1`` is the model, ``T -> 0`` puts all
  mass on the argmax (``T = 0`` is accepted and *is* greedy: one-hot at the argmax, ties to the
  lowest id), ``T -> inf`` gives the uniform distribution;
* top-k: keep the ``k`` most probable tokens (ties at the boundary go to the lower id), set
  the others to probability 0, renormalise;
* top-p (nucleus): keep the *smallest* set of most probable tokens whose total probability is
  at least ``p``, renormalise. Sorted by decreasing probability (ties: lower id first), token
  ``i`` is kept when the mass of the tokens strictly before it is below ``p``; so the token
  that crosses ``p`` is kept, and at least one token always is.

Filters return logits with ``-inf`` where a token is removed, so they compose.

**Searching for a sequence.**

* ``greedy_decode``: append the argmax at every step;
* ``sample_decode``: draw every step from the shaped distribution;
* ``beam_search``: keep the ``beam_width`` prefixes with the highest total log-probability;
  a beam that emits ``eos`` is finished and keeps its score (it competes with the live beams
  but is not extended). The returned hypotheses are ranked by
  ``score / length ** length_penalty`` (``length`` counts the generated tokens, ``eos``
  included; ``length_penalty = 0`` ranks by the total log-probability, which favours short
  outputs). With ``beam_width = 1`` it is greedy decoding; with a beam as wide as the number of
  possible sequences it is exact search (tests/test_decoding.py checks both).

Ties are broken deterministically: between tokens by the lower id; between beam candidates
with equal scores by the earlier (better-ranked) beam, then the lower token id; between
returned hypotheses with equal ranking scores by the token sequence. So every function here
is deterministic given its inputs and ``rng``.

**Scoring.** ``sequence_logprob`` sums a continuation's log-probabilities; ``perplexity`` is
``exp`` of the mean negative log-likelihood per token, the exponential of the cross-entropy.
"""
from __future__ import annotations

import numpy as np

from ._validate import (as_float_array, as_generator, check_finite, check_int, check_positive,
                        check_unit_interval)

__all__ = ["apply_temperature", "top_k_filter", "top_p_filter", "next_token_distribution",
           "sample_next", "greedy_decode", "sample_decode", "beam_search", "sequence_logprob",
           "perplexity"]


def _logits(logits, name="logits") -> np.ndarray:
    """1-D or 2-D float array of logits; -inf allowed (a removed token), NaN and +inf not."""
    z = as_float_array(logits, name, ndim=(1, 2), allow_nonfinite=True)
    if np.isnan(z).any() or np.isposinf(z).any():
        raise ValueError(f"{name}: expected finite values or -inf, got NaN or +inf")
    if z.shape[-1] == 0:
        raise ValueError(f"{name}: expected at least one token, got shape {z.shape}")
    if np.isneginf(z).all(axis=-1).any():
        raise ValueError(f"{name}: every token is -inf in a row (no token left to choose)")
    return z


def _softmax(z):
    m = np.max(z, axis=-1, keepdims=True)
    e = np.exp(z - m)                        # exp(-inf) = 0 for removed tokens
    return e / e.sum(axis=-1, keepdims=True)


def _descending_order(z):
    """Token ids sorted by decreasing logit, ties to the lower id (a stable sort of -z)."""
    return np.argsort(-z, axis=-1, kind="stable")


def apply_temperature(logits, temperature):
    """``logits / temperature`` for ``temperature > 0`` (``-inf`` entries stay ``-inf``)."""
    z = _logits(logits)
    t = check_positive(temperature, "temperature")
    return z / t


def top_k_filter(logits, k):
    """Keep the ``k`` largest logits (ties: lower id first), set the rest to ``-inf``."""
    z = _logits(logits)
    k = check_int(k, "k", min_value=1)
    if k >= z.shape[-1]:
        return z.copy()
    order = _descending_order(z)
    drop = order[..., k:]
    out = z.copy()
    np.put_along_axis(out, drop, -np.inf, axis=-1)
    return out


def top_p_filter(logits, p):
    """Keep the smallest set of most probable tokens with total probability >= ``p``.

    ``p`` in (0, 1]; ``p = 1`` keeps every token of positive probability. In sorted order
    (decreasing probability, ties to the lower id) a token is kept when the probability of
    the tokens before it is < ``p``: the token that reaches ``p`` is included."""
    z = _logits(logits)
    p = check_unit_interval(p, "p", closed_right=True)
    if p <= 0.0:
        raise ValueError(f"p: expected a number in (0, 1], got {p!r}")
    probs = _softmax(z)
    order = _descending_order(z)
    sorted_p = np.take_along_axis(probs, order, axis=-1)
    before = np.cumsum(sorted_p, axis=-1) - sorted_p         # mass strictly before each token
    keep_sorted = before < p
    keep_sorted[..., 0] = True
    keep = np.zeros_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)
    return np.where(keep, z, -np.inf)


def next_token_distribution(logits, temperature=1.0, top_k=None, top_p=None):
    """The probabilities a sampler draws from: temperature, then top-k, then top-p.

    ``temperature = 0`` returns the one-hot distribution of the argmax (greedy; ties to the
    lowest id). ``top_k=None`` / ``top_p=None`` switch a filter off. Works on (V,) or (N, V)."""
    z = _logits(logits)
    t = check_positive(temperature, "temperature", allow_zero=True)
    if t == 0.0:
        out = np.zeros_like(z)
        np.put_along_axis(out, np.argmax(z, axis=-1)[..., None], 1.0, axis=-1)
        return out
    z = z / t
    if top_k is not None:
        z = top_k_filter(z, top_k)
    if top_p is not None:
        z = top_p_filter(z, top_p)
    return _softmax(z)


def sample_next(logits, rng, temperature=1.0, top_k=None, top_p=None, size=None):
    """Token(s) drawn from ``next_token_distribution`` of a (V,) vector of logits, by
    inverse-CDF sampling with one uniform number from ``rng`` per draw. ``size=None`` returns
    one int; ``size=n`` an int64 array of n independent draws."""
    z = _logits(logits)
    if z.ndim != 1:
        raise ValueError(f"logits: expected a 1-D array (V,), got shape {z.shape}")
    g = as_generator(rng)
    n = 1 if size is None else check_int(size, "size", min_value=1)
    probs = next_token_distribution(z, temperature, top_k, top_p)
    cdf = np.cumsum(probs)
    u = g.random(n) * cdf[-1]
    tokens = np.minimum(np.searchsorted(cdf, u, side="right"), len(probs) - 1)
    kept = np.flatnonzero(probs > 0)
    # u landing exactly on a boundary, or beyond the last kept token by rounding: the nearest
    # kept token at or below it
    bad = probs[tokens] == 0.0
    if bad.any():
        idx = np.searchsorted(kept, tokens[bad], side="right") - 1
        tokens[bad] = kept[np.maximum(idx, 0)]
    return int(tokens[0]) if size is None else tokens.astype(np.int64)


def _prompt(prompt):
    if isinstance(prompt, (str, bytes)):
        raise ValueError(f"prompt: expected a sequence of int token ids, got {type(prompt).__name__}")
    try:
        ids = list(prompt)
    except TypeError:
        raise ValueError(f"prompt: expected a sequence of int token ids, "
                         f"got {type(prompt).__name__}") from None
    for i, t in enumerate(ids):
        if isinstance(t, bool) or not hasattr(t, "__index__") or int(t) < 0:
            raise ValueError(f"prompt[{i}]: expected a non-negative int token id, got {t!r}")
    return [int(t) for t in ids]


def _call_model(next_logprobs, tokens, vocab=None):
    if not callable(next_logprobs):
        raise ValueError(f"next_logprobs: expected a callable tokens -> (V,) log-probabilities, "
                         f"got {type(next_logprobs).__name__}")
    out = _logits(next_logprobs(list(tokens)), "next_logprobs(tokens)")
    if out.ndim != 1 or (vocab is not None and out.shape[0] != vocab):
        want = "(V,)" if vocab is None else f"({vocab},)"
        raise ValueError(f"next_logprobs(tokens): expected shape {want}, got shape {out.shape}")
    return out - np.max(out) - np.log(np.sum(np.exp(out - np.max(out))))    # log-softmax


def _check_eos(eos):
    if eos is None:
        return None
    return check_int(eos, "eos", min_value=0)


def greedy_decode(next_logprobs, prompt, max_new_tokens, eos=None) -> list[int]:
    """Prompt plus up to ``max_new_tokens`` argmax tokens (stops after ``eos``)."""
    tokens = _prompt(prompt)
    n = check_int(max_new_tokens, "max_new_tokens", min_value=0)
    eos = _check_eos(eos)
    for _ in range(n):
        t = int(np.argmax(_call_model(next_logprobs, tokens)))
        tokens.append(t)
        if t == eos:
            break
    return tokens


def sample_decode(next_logprobs, prompt, max_new_tokens, rng, temperature=1.0, top_k=None,
                  top_p=None, eos=None) -> list[int]:
    """Prompt plus up to ``max_new_tokens`` sampled tokens (stops after ``eos``)."""
    tokens = _prompt(prompt)
    n = check_int(max_new_tokens, "max_new_tokens", min_value=0)
    eos = _check_eos(eos)
    g = as_generator(rng)
    for _ in range(n):
        t = sample_next(_call_model(next_logprobs, tokens), g, temperature, top_k, top_p)
        tokens.append(t)
        if t == eos:
            break
    return tokens


def beam_search(next_logprobs, prompt, beam_width, max_new_tokens, eos=None,
                length_penalty=0.0) -> list[tuple[list[int], float]]:
    """Beam search; returns up to ``beam_width`` hypotheses ``(tokens, score)``, best first.

    ``tokens`` is the prompt plus the generated tokens; ``score`` is the total
    log-probability of the generated tokens. Ranking (of the returned list only) uses
    ``score / n_generated ** length_penalty``."""
    prompt = _prompt(prompt)
    width = check_int(beam_width, "beam_width", min_value=1)
    n = check_int(max_new_tokens, "max_new_tokens", min_value=0)
    eos = _check_eos(eos)
    lp = check_finite(length_penalty, "length_penalty")
    beams = [((), 0.0, False)]                     # (generated tokens, score, finished)
    vocab = None
    for _ in range(n):
        if all(done for _, _, done in beams):
            break
        scores, owner, token = [], [], []          # candidates: (beam index, token or -1)
        for i, (gen, score, done) in enumerate(beams):
            if done:                               # a finished beam competes unchanged
                scores.append(np.array([score]))
                owner.append(np.array([i]))
                token.append(np.array([-1]))
                continue
            logp = _call_model(next_logprobs, prompt + list(gen), vocab)
            vocab = logp.shape[0]
            ok = np.flatnonzero(np.isfinite(logp))
            scores.append(score + logp[ok])
            owner.append(np.full(ok.size, i))
            token.append(ok)
        scores, owner, token = (np.concatenate(a) for a in (scores, owner, token))
        best = np.argsort(-scores, kind="stable")[:width]   # ties: earlier beam, lower id
        new = []
        for j in best:
            gen, _, done = beams[owner[j]]
            if token[j] < 0:
                new.append((gen, float(scores[j]), True))
            else:
                t = int(token[j])
                new.append((gen + (t,), float(scores[j]), t == eos))
        beams = new

    def rank(c):
        gen, score, _ = c
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):   # |lp| huge: 0 or inf
            norm = score / np.power(float(len(gen)), lp) if gen and lp != 0.0 else score
        return (-norm, gen)
    beams.sort(key=rank)
    return [(prompt + list(gen), score) for gen, score, _ in beams]


def sequence_logprob(next_logprobs, prompt, continuation) -> float:
    """log p(continuation | prompt) = the sum of the model's log-probabilities of each token."""
    tokens = _prompt(prompt)
    total = 0.0
    for t in _prompt(continuation):
        logp = _call_model(next_logprobs, tokens)
        if t >= logp.shape[0]:
            raise ValueError(f"continuation: token {t} is outside the vocabulary of size "
                             f"{logp.shape[0]}")
        total += float(logp[t])
        tokens.append(t)
    return total


def perplexity(token_logprobs) -> float:
    """exp(-mean log p): the perplexity of the per-token log-probabilities of a text
    (natural logs). A model that is uniform over V tokens has perplexity V."""
    lp = as_float_array(token_logprobs, "token_logprobs", ndim=1, allow_nonfinite=True)
    if lp.size == 0:
        raise ValueError("token_logprobs: expected at least one log-probability, got none")
    if np.isnan(lp).any() or (lp > 0).any():
        raise ValueError("token_logprobs: expected log-probabilities (<= 0, not NaN)")
    with np.errstate(over="ignore"):
        return float(np.exp(-np.mean(lp)))
