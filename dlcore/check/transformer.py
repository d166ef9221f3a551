"""Checker of the Transformer chapter: ``check_online_softmax_merge`` (the step FlashAttention
repeats for every block of keys).
"""
from __future__ import annotations

import numpy as np

from ._common import _require_callable, _call, _close, _failw, _ok, _unpack, \
    _first_nonfinite, _quiet, _differs

__all__ = ["check_online_softmax_merge"]

# (leading shape, L, block sizes of the two halves, Ev, score factor, kind): a plain case, the
# second block's max above the first's in some rows and below in others (always true), leading
# batch and head axes, scores of about ±1e3 (exp overflows without the max shift) and a second
# block that is fully masked for some rows (m2 = -inf, l2 = 0, o2 = 0)
_MERGE_CASES = [((), 4, (3, 5), 2, 1.0, None),
                ((2,), 3, (6, 2), 3, 3.0, None),
                ((2, 3), 5, (4, 4), 2, 1.0, None),
                ((), 4, (5, 3), 3, 400.0, None),
                ((2,), 6, (3, 3), 2, 1.0, "masked")]


def _state(s, v):
    """Reference (m, l, o) of one block: s (..., L, B) with -inf masked, v (..., B, Ev)."""
    m = s.max(axis=-1)
    safe = np.where(np.isneginf(m), 0.0, m)
    p = np.exp(s - safe[..., None])
    return m, p.sum(axis=-1), p @ v


def _merge_case(k):
    lead, L, (b1, b2), ev, factor, kind = _MERGE_CASES[k - 1]
    g = np.random.default_rng(1700 + k)
    s = factor * g.standard_normal(lead + (L, b1 + b2))
    v = g.standard_normal(lead + (b1 + b2, ev))
    if kind == "masked":                    # causal-like: early rows see none of block 2
        s[..., : L // 2, b1:] = -np.inf
    s1, s2, v1, v2 = s[..., :b1], s[..., b1:], v[..., :b1, :], v[..., b1:, :]
    return _state(s1, v1), _state(s2, v2), _state(s, v)


def check_online_softmax_merge(fn) -> bool:
    """Check ``fn(m1, l1, o1, m2, l2, o2) -> (m, l, o)``: merge the online-softmax states of two
    disjoint blocks of keys into the state of their union.

    A state of a block of scores ``s`` (..., L, B) with values ``v`` (..., B, Ev) is
    ``m = s.max(-1)``, ``l = exp(s - m).sum(-1)``, ``o = exp(s - m) @ v`` (not divided by l);
    a row whose block is fully masked has ``m = -inf, l = 0, o = 0``. The merged state must
    equal the state of the concatenated block, so that ``o / l`` is the attention output.
    Five seeded cases: plain, leading batch and head axes, scores of about ±1e3 (exp
    overflows without the max) and a second block fully masked for some rows.
    """
    _require_callable(fn, "fn(m1, l1, o1, m2, l2, o2) -> (m, l, o)")
    title = "Online-softmax merge"
    names = ("m", "l", "o")
    for k_ in range(1, len(_MERGE_CASES) + 1):
        (m1, l1, o1), (m2, l2, o2), ref = _merge_case(k_)
        kind = _MERGE_CASES[k_ - 1][5]
        where = (f"Case {k_} of {len(_MERGE_CASES)} (o1 {o1.shape}, o2 {o2.shape}"
                 + (", large scores)" if k_ == 4 else ", block 2 masked in some rows)"
                    if kind else ")"))
        out, err = _call(fn, m1, l1, o1, m2, l2, o2)
        if err is not None:
            hint = ("m and l have shape (..., L) and o (..., L, Ev): rescale o with "
                    "a factor[..., None]." if any(t in err for t in ("broadcast", "shape"))
                    else "run it by hand on arrays of these shapes and read the traceback.")
            return _failw(title, where, f"your function raised {err}", hint)
        arrays = _unpack(out, names, title, where)
        if arrays is None:
            return False
        for name, arr, r in zip(names, arrays, ref):
            if arr.shape != r.shape:
                return _failw(title, where, f"{name} has shape {arr.shape}, expected {r.shape}",
                              "the merged state has the shapes of each input state.")
        m, l, o = arrays
        if not np.array_equal(np.isneginf(m), np.isneginf(ref[0])) or \
                not _close(np.where(np.isneginf(m), 0, m), np.where(np.isneginf(ref[0]), 0,
                                                                     ref[0])):
            hint = ("the new running max is the larger of the two: m = np.maximum(m1, m2)."
                    if _close(m, m2) or _close(m, m1) or _close(m, m1 + m2) else
                    "m = np.maximum(m1, m2), element-wise per row.")
            return _failw(title, where, "m differs from the reference", hint)
        bad = _first_nonfinite([l, o], names[1:])
        if bad:
            hint = ("with scores of ±1e3, exp(m1) overflows: use the factors exp(m1 - m) and "
                    "exp(m2 - m), both <= 1." if k_ == 4 else
                    "an exponent was -inf - (-inf) or inf - inf: use exp(m1 - m) and "
                    "exp(m2 - m) with m = np.maximum(m1, m2).")
            return _failw(title, where, f"{bad} contains NaN or inf", hint)
        if not _close(l, ref[1]):
            cands = [(l1 + l2, "l1 and l2 were added without rescaling: each sum is relative to "
                               "its own max, so l = exp(m1 - m) * l1 + exp(m2 - m) * l2."),
                     (_quiet(lambda: np.exp(ref[0] - m1) * l1 + np.exp(ref[0] - m2) * l2),
                      "the factors are upside down: exp(m1 - m) <= 1, not exp(m - m1).")]
            hint = next((h for c, h in cands if c.shape == l.shape and
                         np.all(np.isfinite(c)) and _close(l, c)),
                        "l = exp(m1 - m) * l1 + exp(m2 - m) * l2 with m = max(m1, m2).")
            return _failw(title, where, _differs("l", l, ref[1]), hint)
        if not _close(o, ref[2]):
            cands = [(o1 + o2, "o was not rescaled: o = exp(m1 - m)[..., None] * o1 + "
                               "exp(m2 - m)[..., None] * o2, like l."),
                     (ref[2] / ref[1][..., None], "you returned the normalized output o / l: "
                      "keep o un-normalized in the state and divide once at the end."),
                     (_quiet(lambda: np.exp(ref[0] - m1)[..., None] * o1
                             + np.exp(ref[0] - m2)[..., None] * o2),
                      "the factors are upside down: exp(m1 - m) <= 1, not exp(m - m1).")]
            hint = next((h for c, h in cands if c.shape == o.shape and
                         np.all(np.isfinite(c)) and _close(o, c)),
                        "o = exp(m1 - m)[..., None] * o1 + exp(m2 - m)[..., None] * o2.")
            return _failw(title, where, _differs("o", o, ref[2]), hint)
    _ok(f"{title}: correct. m, l and o equal the state of the concatenated block on "
        f"{len(_MERGE_CASES)} cases (batch and head axes, scores of ±1e3, a masked block) to "
        f"rtol 1e-8, so o / l is softmax attention over all the keys.")
    return True
