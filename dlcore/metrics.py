"""Classification metrics, written out in NumPy and equal to scikit-learn's.

Binary labels use 1 for the positive class. For predictions ``y_pred`` (hard labels):

* confusion matrix ``C[i, j]`` = number of examples of true class ``i`` predicted as ``j``
  (rows true, columns predicted, as in ``sklearn.metrics.confusion_matrix``);
* precision ``TP / (TP + FP)``: of the examples flagged positive, the share that are;
* recall ``TP / (TP + FN)``: of the positives, the share that is flagged;
* F1 ``2 TP / (2 TP + FP + FN)``, the harmonic mean of precision and recall.

For scores (any real number, larger = more positive), sweep a threshold ``t`` from
``+inf`` down and predict positive when ``score >= t``:

* ROC curve: false-positive rate ``FP / N_neg`` against true-positive rate ``TP / N_pos``;
* precision-recall curve: precision against recall;
* ``auc``: the trapezoid rule on any monotone curve (ROC AUC = ``auc(fpr, tpr)``);
* ``average_precision`` = ``sum_k (R_k - R_{k-1}) P_k``, the step-wise area under the
  PR curve (no interpolation), as ``sklearn.metrics.average_precision_score``.

Zero-division convention: a ratio whose denominator is 0 (precision when nothing is
predicted positive, recall of a class that never occurs) is 0, which is what scikit-learn
returns by default (``zero_division="warn"``), but no warning is emitted here. Curves that
are undefined (ROC without positives or without negatives, PR without positives) raise
``ValueError`` instead of returning NaN with a warning.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_int

__all__ = ["confusion_matrix", "precision_recall_f1", "roc_curve", "auc",
           "precision_recall_curve", "average_precision"]


def _labels(y, name, n=None):
    """A 1-D int64 array of integer labels (integer dtype, bool, or integer-valued floats)."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of labels, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name}: expected {n} labels (the length of y_true), got {arr.shape[0]}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one label, got an empty array")
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{name}: expected integer labels, got non-integer floats")
    elif not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name}: expected integer labels, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _binary(y, name, n=None):
    arr = _labels(y, name, n)
    bad = arr[(arr != 0) & (arr != 1)]
    if bad.size:
        raise ValueError(f"{name}: expected binary labels in {{0, 1}}, got {int(bad[0])}")
    return arr


def _ratio(num, den):
    """num / den element-wise, 0 where den == 0 (scikit-learn's default, silently)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den != 0)
    return out


def confusion_matrix(y_true, y_pred, num_classes):
    """``C`` of shape ``(num_classes, num_classes)``, int64: ``C[i, j]`` counts examples of
    true class ``i`` predicted as class ``j``. Labels must be integers in
    ``[0, num_classes)``."""
    k = check_int(num_classes, "num_classes", min_value=1)
    t = _labels(y_true, "y_true")
    p = _labels(y_pred, "y_pred", t.shape[0])
    for arr, name in ((t, "y_true"), (p, "y_pred")):
        if arr.min() < 0 or arr.max() >= k:
            bad = arr.min() if arr.min() < 0 else arr.max()
            raise ValueError(f"{name}: expected labels in [0, {k - 1}], got {bad}")
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def precision_recall_f1(y_true, y_pred, average="binary"):
    """``(precision, recall, f1)`` as Python floats.

    ``average="binary"``: labels in {0, 1}, scores of class 1 (scikit-learn's default
    ``pos_label=1``). ``average="macro"``: the unweighted mean over the classes that occur in
    ``y_true`` or ``y_pred`` (as scikit-learn), of per-class precision, recall and F1; macro F1
    is the mean of the per-class F1, not the F1 of the mean precision and recall.
    Ratios with a zero denominator are 0 (see the module docstring).
    """
    if average not in ("binary", "macro"):
        raise ValueError(f"average: expected 'binary' or 'macro', got {average!r}")
    if average == "binary":
        t = _binary(y_true, "y_true")
        p = _binary(y_pred, "y_pred", t.shape[0])
        classes = np.array([1])
    else:
        t = _labels(y_true, "y_true")
        p = _labels(y_pred, "y_pred", t.shape[0])
        classes = np.union1d(t, p)
    tp = np.array([np.sum((t == c) & (p == c)) for c in classes])
    pred = np.array([np.sum(p == c) for c in classes])
    true = np.array([np.sum(t == c) for c in classes])
    precision, recall = _ratio(tp, pred), _ratio(tp, true)
    f1 = _ratio(2 * tp, true + pred)           # = 2PR/(P+R) whenever that is defined
    return float(precision.mean()), float(recall.mean()), float(f1.mean())


def _scores(y_true, scores):
    t = _binary(y_true, "y_true")
    s = as_float_array(scores, "scores", ndim=1)
    if s.shape[0] != t.shape[0]:
        raise ValueError(f"scores: expected {t.shape[0]} scores (the length of y_true), "
                         f"got {s.shape[0]}")
    return t, s


def _counts_at_thresholds(t, s):
    """Cumulative (fps, tps, thresholds) at each distinct score, highest score first.

    Ties: examples with equal scores switch together, so only the last index of each run
    of equal sorted scores is a threshold (this is how tied scores are handled)."""
    order = np.argsort(-s, kind="stable")    # -s: descending and stable, as scikit-learn
    s, t = s[order], t[order]
    idx = np.r_[np.nonzero(np.diff(s))[0], t.shape[0] - 1]
    tps = np.cumsum(t, dtype=np.float64)[idx]
    fps = 1.0 + idx - tps
    return fps, tps, s[idx]


def roc_curve(y_true, scores):
    """``(fpr, tpr, thresholds)`` equal to ``sklearn.metrics.roc_curve`` with its defaults
    (``drop_intermediate=True``).

    ``thresholds`` decrease; the first is ``inf`` (nothing predicted positive: the point
    (0, 0)); the point ``i`` is ``score >= thresholds[i]``. Collinear intermediate points
    (where neither count changes slope) are dropped, exactly as scikit-learn does.
    Both classes must occur in ``y_true``.
    """
    t, s = _scores(y_true, scores)
    if t.min() == t.max():
        cls = "negative" if t[0] == 1 else "positive"
        raise ValueError(f"y_true: expected both classes, got no {cls} example "
                         f"(the ROC curve is undefined)")
    fps, tps, thr = _counts_at_thresholds(t, s)
    if fps.shape[0] > 2:
        keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        fps, tps, thr = fps[keep], tps[keep], thr[keep]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    thr = np.r_[np.inf, thr]
    return fps / fps[-1], tps / tps[-1], thr


def precision_recall_curve(y_true, scores):
    """``(precision, recall, thresholds)`` equal to ``sklearn.metrics.precision_recall_curve``.

    Ordered by increasing threshold (recall decreasing); ``precision`` and ``recall`` have one
    more entry than ``thresholds``: the final point (precision 1, recall 0) has no threshold.
    ``y_true`` must contain at least one positive.
    """
    t, s = _scores(y_true, scores)
    if t.max() == 0:
        raise ValueError("y_true: expected at least one positive example, got none "
                         "(recall is undefined)")
    fps, tps, thr = _counts_at_thresholds(t, s)
    precision = _ratio(tps, tps + fps)
    recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thr[::-1]


def average_precision(y_true, scores):
    """``sum_k (R_k - R_{k-1}) P_k`` over the thresholds: the area under the step-wise PR
    curve, equal to ``sklearn.metrics.average_precision_score``."""
    precision, recall, _ = precision_recall_curve(y_true, scores)
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def auc(x, y):
    """Area under the curve ``y(x)`` by the trapezoid rule, like ``sklearn.metrics.auc``.

    ``x`` must be monotone (non-decreasing or non-increasing; a decreasing ``x`` gives the
    same positive area) and have at least two points."""
    xa = as_float_array(x, "x", ndim=1)
    ya = as_float_array(y, "y", ndim=1)
    if xa.shape[0] < 2:
        raise ValueError(f"x: expected at least 2 points, got shape {xa.shape}")
    if ya.shape != xa.shape:
        raise ValueError(f"y: expected shape {xa.shape} (the shape of x), got shape {ya.shape}")
    dx = np.diff(xa)
    direction = 1.0
    if np.any(dx < 0):
        if np.all(dx <= 0):
            direction = -1.0
        else:
            raise ValueError("x: expected a monotone (increasing or decreasing) array, "
                             "got one that goes both ways")
    return float(direction * np.sum(dx * (ya[1:] + ya[:-1]) / 2.0))
