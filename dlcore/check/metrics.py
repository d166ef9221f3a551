"""Checker of the evaluation chapter: ``check_precision_recall_f1``.
"""
from __future__ import annotations

import numpy as np

from ._common import RTOL, ATOL, _require_callable, _call, _as_array, _close, _failw, _ok, _got

__all__ = ["check_precision_recall_f1"]

# ===================================================== evaluation: precision, recall, F1

def _prf_formula(t, p):
    tp = float(np.sum((t == 1) & (p == 1)))
    pp, ap = float(np.sum(p == 1)), float(np.sum(t == 1))
    prec = tp / pp if pp else 0.0
    rec = tp / ap if ap else 0.0
    f1 = 2 * tp / (pp + ap) if pp + ap else 0.0
    return prec, rec, f1


def _prf_reference(t, p):
    try:
        from ..metrics import precision_recall_f1
    except ImportError:          # pragma: no cover - dlcore.metrics is optional here
        return _prf_formula(t, p)
    return precision_recall_f1(t, p)


def _labels_from_counts(tp, fp, fn_, tn, seed):
    t = np.array([1] * tp + [0] * fp + [1] * fn_ + [0] * tn, dtype=np.int64)
    p = np.array([1] * tp + [1] * fp + [0] * fn_ + [0] * tn, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(t.size)
    return t[order], p[order]


# (TP, FP, FN, TN, description): precision != recall, an imbalanced case where accuracy is
# high and F1 is not, no predicted positives, and everything predicted positive
_PRF_CASES = [(5, 2, 4, 9, "20 labels"), (3, 6, 2, 89, "100 labels, 5 positives"),
              (0, 0, 4, 6, "no predicted positives"), (4, 6, 0, 0, "everything predicted positive")]


def check_precision_recall_f1(fn) -> bool:
    """Check ``fn(y_true, y_pred) -> (precision, recall, f1)`` for binary labels in {0, 1}.

    ``precision = TP / (TP + FP)``, ``recall = TP / (TP + FN)``, ``f1 = 2PR / (P + R)``
    with class 1 positive; a ratio whose denominator is 0 (nothing predicted positive) is
    0.0, scikit-learn's convention. Compared with ``dlcore.metrics.precision_recall_f1``
    on four cases, one without predicted positives.
    """
    _require_callable(fn, "fn(y_true, y_pred) -> (precision, recall, f1)")
    title = "Precision, recall, F1"
    names = ("precision", "recall", "f1")
    for k, (tp, fp, fn_, tn, desc) in enumerate(_PRF_CASES, start=1):
        t, p = _labels_from_counts(tp, fp, fn_, tn, seed=1000 + k)
        ref = np.array(_prf_reference(t, p), dtype=np.float64)
        where = f"Case {k} of {len(_PRF_CASES)} ({desc}: TP {tp}, FP {fp}, FN {fn_}, TN {tn})"
        zero_pp = tp + fp == 0
        conv = ("when nothing is predicted positive, TP + FP = 0: precision is 0.0 by "
                "convention (scikit-learn's default), and then F1 is 0.0 too. Test the "
                "denominator before dividing.")
        out, err = _call(fn, t, p)
        if err is not None:
            hint = conv if zero_pp and "ZeroDivision" in err else \
                "run it by hand on these labels and read the traceback."
            return _failw(title, where, f"your function raised {err}", hint)
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            return _failw(title, where, f"expected a tuple (precision, recall, f1), got {_got(out)}",
                          "end the function with `return precision, recall, f1`.")
        vals = [_as_array(v) for v in out]
        for name, v, raw in zip(names, vals, out):
            if v is None or v.size != 1:
                return _failw(title, where, f"{name} is not a single number "
                              f"(got {type(raw).__name__})", f"return {name} as a float.")
        got = np.array([float(v.reshape(())) for v in vals])
        if not np.all(np.isfinite(got)):
            hint = conv if zero_pp else "every denominator is positive here: look for a 0/0."
            return _failw(title, where, "the result contains NaN or inf", hint)
        ok = np.isclose(got, ref, rtol=RTOL, atol=ATOL)
        if ok.all():
            continue
        acc = (tp + tn) / (tp + fp + fn_ + tn)
        inv = np.array(_prf_formula(1 - t, 1 - p))
        if _close(got[:2], ref[1::-1]) and not ok[:2].all():
            hint = ("precision and recall are swapped: precision = TP / (TP + FP) divides by the "
                    "predicted positives, recall = TP / (TP + FN) by the actual positives.")
        elif np.any(np.isclose(got[~ok], acc, rtol=RTOL)):
            hint = ("that is the accuracy, (TP + TN) / N: precision, recall and F1 ignore the "
                    "true negatives, which is why they stay informative under class imbalance.")
        elif _close(got, inv):
            hint = "class 1 is the positive class: count TP as (y_true == 1) & (y_pred == 1)."
        elif ok[:2].all() and np.isclose(got[2], ref[:2].mean(), rtol=RTOL):
            hint = ("F1 is the harmonic mean 2PR / (P + R) (= 2TP / (2TP + FP + FN)), not the "
                    "arithmetic mean (P + R) / 2.")
        elif zero_pp:
            hint = conv
        else:
            name = names[int(np.flatnonzero(~ok)[0])]
            hint = (f"{name}: precision = TP / (TP + FP), recall = TP / (TP + FN), "
                    "F1 = 2TP / (2TP + FP + FN).")
        bad = int(np.flatnonzero(~ok)[0])
        return _failw(title, where, f"{names[bad]} is {got[bad]:.2g}, expected {ref[bad]:.2g}", hint)
    _ok(f"{title}: correct. All three match dlcore.metrics.precision_recall_f1 on "
          f"{len(_PRF_CASES)} cases, including no predicted positives (0.0), to rtol 1e-8.")
    return True
