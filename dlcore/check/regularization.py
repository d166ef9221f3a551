"""Checker of the regularization chapter: ``check_inverted_dropout``.
"""
from __future__ import annotations

import numpy as np

from ._common import _require_callable, _call, _close, _failw, _ok, _unpack, _differs

__all__ = ["check_inverted_dropout"]

# ================================================== regularization: inverted dropout

# (shape, p): 10 000 draws for p = 0.2 and 0.7 (the share of zeros has a standard deviation
# below 0.005), and p = 0 (nothing dropped)
_DROPOUT_CASES = [((200, 50), 0.2), ((100, 100), 0.7), ((4, 5), 0.0)]


def check_inverted_dropout(fn) -> bool:
    """Check ``fn(x, p, rng) -> (out, mask)``, inverted dropout in training mode.

    ``p`` is the probability of *dropping* an element; ``rng`` a ``numpy.random.Generator``
    to draw from. ``mask`` marks the kept elements (bool, 0/1, or already scaled by
    1/(1 - p)), one entry per element of ``x``; ``out`` is 0 where dropped and
    ``x / (1 - p)`` where kept, so that E[out] = x. Checked: the survivors are scaled
    exactly (rtol 1e-8), the share of zeros is p within 5 standard deviations, the sum of
    ``out - x`` is within 5 standard deviations of 0, and the same seed gives the same mask.
    """
    _require_callable(fn, "fn(x, p, rng) -> (out, mask)")
    title = "Inverted dropout"
    for k, (shape, p) in enumerate(_DROPOUT_CASES, start=1):
        x = np.random.default_rng(900 + k).standard_normal(shape) + 1.0
        where = f"Case {k} of {len(_DROPOUT_CASES)} (x {shape}, p {p})"
        out, err = _call(fn, x, p, np.random.default_rng(950 + k))
        if err is not None:
            return _failw(title, where, f"your function raised {err}",
                          "draw the mask with rng.random(x.shape) >= p and read the traceback.")
        arrays = _unpack(out, ("out", "mask"), title, where)
        if arrays is None:
            return False
        y, mask = arrays
        if y.shape != shape:
            return _failw(title, where, f"out has shape {y.shape}, expected {shape}",
                          "dropout is element-wise: out has x's shape.")
        if mask.shape != shape:
            hint = ("draw one mask entry per element, rng.random(x.shape): a mask shared by all "
                    "examples drops the same units for the whole batch."
                    if mask.size < x.size else "the mask has x's shape: rng.random(x.shape).")
            return _failw(title, where, f"mask has shape {mask.shape}, expected {shape}", hint)
        if not np.all(np.isfinite(y)):
            return _failw(title, where, "out contains NaN or inf",
                          "divide by 1 - p (the keep probability), which is never 0 here.")
        kept = mask != 0
        if np.any(y[~kept] != 0):
            return _failw(title, where, "out is not 0 where mask is 0",
                          "out = x * mask / (1 - p) with mask 1 where an element is kept, 0 "
                          "where it is dropped (or mask already scaled: out = x * mask).")
        want = x[kept] / (1.0 - p)
        if not _close(y[kept], want):
            if p > 0 and _close(y[kept], x[kept]):
                hint = ("no rescaling: the survivors must be divided by 1 - p, so that "
                        "E[out] = x and nothing changes at test time (that is what makes it "
                        "'inverted').")
            elif p > 0 and _close(y[kept], x[kept] / p):
                hint = ("you divided by p: p is the probability of dropping, the survivors are "
                        "divided by the keep probability 1 - p.")
            elif p > 0 and _close(y[kept], x[kept] * (1.0 - p)):
                hint = ("you multiplied by 1 - p: that is the test-time scaling of the original "
                        "dropout; inverted dropout divides the survivors by 1 - p in training.")
            else:
                hint = "every kept element is x / (1 - p), exactly."
            return _failw(title, where, _differs("out on the kept elements", y[kept], want), hint)
        share = float(np.mean(~kept))
        tol = 5.0 * np.sqrt(p * (1.0 - p) / x.size) + 1e-12
        if abs(share - p) > tol:
            if abs(share - (1.0 - p)) <= tol:
                hint = ("you keep elements with probability p: p is the probability of "
                        "dropping, so keep where rng.random(x.shape) >= p.")
            else:
                hint = "drop each element independently with probability p: rng.random(x.shape) < p."
            return _failw(title, where, f"the share of zeros is {share:.2f}, expected "
                          f"{p:.2f} ± {tol:.2f}", hint)
        if p > 0:
            z = float(np.sum(y - x) / np.sqrt(np.sum(x * x) * p / (1.0 - p)))
            if abs(z) > 5.0:
                return _failw(title, where, f"mean(out - x) is {abs(z):.0f} standard deviations "
                              "from 0", "choose the dropped elements at random, independently "
                              "of the values of x: E[out] must equal x.")
        if k == 1:
            again, err2 = _call(fn, x, p, np.random.default_rng(950 + k))
            again = _unpack(again, ("out", "mask"), title, where) if err2 is None else None
            if again is None or not np.array_equal(again[0], y):
                return _failw(title, where, "the same seed gave a different mask",
                              "draw from the rng argument (rng.random(x.shape)), not from "
                              "np.random: the same generator state must give the same mask.")
    _ok(f"{title}: correct. Survivors are scaled by 1/(1-p) exactly, the share of zeros is p "
          f"and E[out] = x within statistical error on {len(_DROPOUT_CASES)} cases "
          "(p = 0.2, 0.7, 0).")
    return True
