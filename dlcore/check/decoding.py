"""Checker of the tokenization and decoding chapter: ``check_top_p`` (nucleus sampling's
distribution).
"""
from __future__ import annotations

import numpy as np

from ._common import _require_callable, _call, _as_array, _close, _failw, _ok, _quiet, _differs

__all__ = ["check_top_p"]

# (probabilities, p): unsorted probabilities; p exactly equal to the mass of the two most
# probable tokens (dyadic, so the sums are exact: the token after them must go); p = 1; a
# peaked distribution whose top token alone exceeds p; a long flat tail
_TOP_P_CASES = [
    (np.array([0.05, 0.3, 0.1, 0.4, 0.15]), 0.6),
    (np.array([0.125, 0.5, 0.0625, 0.25, 0.0625]), 0.75),
    (np.array([0.2, 0.1, 0.3, 0.25, 0.15]), 1.0),
    (np.array([0.02, 0.9, 0.03, 0.05]), 0.5),
    (np.concatenate([[0.3, 0.2], np.full(25, 0.02)]), 0.8),
]


def _top_p_reference(probs, p):
    """The answer, computed on the probabilities themselves (exact for the dyadic case 2)."""
    order = np.argsort(-probs, kind="stable")
    before = np.cumsum(probs[order]) - probs[order]
    keep = np.zeros(probs.size, dtype=bool)
    keep[order[before < p]] = True
    keep[order[0]] = True
    out = np.where(keep, probs, 0.0)
    return out / out.sum(), keep


def _top_p_renorm(v):
    s = v.sum()
    return v / s if s > 0 else v


def _top_p_variants(probs, p):
    """Typical wrong answers, each with its hint."""
    order = np.argsort(-probs, kind="stable")
    srt = probs[order]
    cum = np.cumsum(srt)

    def from_sorted(mask_sorted, renorm=True):
        keep = np.zeros(probs.size, dtype=bool)
        keep[order[mask_sorted]] = True
        out = np.where(keep, probs, 0.0)
        return _top_p_renorm(out) if renorm else out

    ref, keep = _top_p_reference(probs, p)
    first_k = np.cumsum(probs) - probs < p                      # index order, no sorting
    asc = np.argsort(probs, kind="stable")
    asc_keep = np.zeros(probs.size, dtype=bool)
    asc_keep[asc[(np.cumsum(probs[asc]) - probs[asc]) < p]] = True
    n_frac = max(1, int(np.ceil(p * probs.size)))
    return [
        (np.where(keep, probs, 0.0),
         "the kept probabilities must be renormalised to sum to 1: divide by their sum."),
        (from_sorted(cum <= p),
         "you kept only the tokens whose cumulative mass (themselves included) stays <= p, so "
         "the set falls short of p: keep the token that crosses p too (the mass *before* a "
         "token must be < p)."),
        (from_sorted(cum - srt <= p),
         "when the mass of the kept tokens reaches p exactly you must stop: keep a token only "
         "while the mass before it is strictly below p (this case has p equal to the sum of "
         "the top two)."),
        (from_sorted(cum < p),
         "cumsum < p drops the token that crosses p: compare the mass *before* each token with p "
         "(cumsum - probs < p)."),
        (_top_p_renorm(np.where(first_k, probs, 0.0)),
         "sort the tokens by decreasing probability first: the nucleus is the most probable "
         "tokens, not the first ones in vocabulary order."),
        (_top_p_renorm(np.where(asc_keep, probs, 0.0)),
         "you sorted in increasing order: the nucleus starts from the most probable token."),
        (ref[order],
         "return the probabilities in the original token order (index i is token i), not in "
         "sorted order: scatter them back with the sort indices."),
        (from_sorted(np.arange(probs.size) < n_frac),
         "top-p keeps a probability mass p, not a fraction p of the vocabulary: the number of "
         "tokens kept depends on the distribution."),
    ]


def check_top_p(fn) -> bool:
    """Check ``fn(probs, p) -> new_probs``: the distribution nucleus (top-p) sampling draws from.

    ``probs`` is a (V,) probability vector and ``p`` in (0, 1]. Keep the smallest set of most
    probable tokens whose total probability is at least ``p`` (sorted by decreasing
    probability, a token is kept when the mass of the tokens before it is < ``p``), set the
    others to 0 and renormalise; return a (V,) vector in the original token order. Compared
    on five cases with that rule applied to ``probs`` directly (``dlcore.decoding``'s
    ``next_token_distribution(log(probs), top_p=p)`` gives the same sets, up to rounding at
    an exact boundary)."""
    _require_callable(fn, "fn(probs, p) -> new_probs")
    title = "Top-p distribution"
    for k, (probs, p) in enumerate(_TOP_P_CASES, start=1):
        ref = _top_p_reference(probs, p)[0]
        where = f"Case {k} of {len(_TOP_P_CASES)} (V = {probs.size}, p = {p})"
        out, err = _call(fn, probs, p)
        if err is not None:
            return _failw(title, where, f"your function raised {err}",
                          "run it by hand on a probability vector and read the traceback.")
        got = _as_array(out)
        if got is None:
            return _failw(title, where, f"expected a numeric array, got {type(out).__name__}",
                          "return the new probability vector as a NumPy array of shape (V,).")
        if got.shape != ref.shape:
            return _failw(title, where, f"the answer has shape {got.shape}, expected {ref.shape}",
                          "return one probability per token of the vocabulary (zeros for the "
                          "removed tokens), not only the kept ones.")
        if not np.all(np.isfinite(got)):
            return _failw(title, where, "the answer contains NaN or inf",
                          "renormalise by the sum of the kept probabilities, which is > 0.")
        if _close(got, ref):
            continue
        hint = next((h for v, h in _top_p_variants(probs, p)
                     if v.shape == got.shape and _quiet(_close, got, v)),
                    "sort by decreasing probability, keep a token while the mass before it is "
                    "< p, zero the rest, divide by the kept mass.")
        return _failw(title, where, _differs("new_probs", got, ref), hint)
    return _ok(f"{title}: correct. It matches the nucleus of dlcore.decoding "
               f"on {len(_TOP_P_CASES)} cases (unsorted probabilities, p equal to the mass of "
               "the top two, p = 1, a peaked distribution, a long tail) to rtol 1e-8.")
