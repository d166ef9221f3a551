"""dlcore.metrics against scikit-learn on random inputs (ties included), and bad inputs."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn import metrics as skm

from dlcore import metrics as M

SEEDS = range(12)


def random_binary(seed, n=None):
    g = np.random.default_rng(seed)
    n = n or int(g.integers(2, 60))
    y = g.integers(0, 2, n)
    y[0], y[1] = 0, 1                                   # both classes present
    # rounded scores: many ties, which is where curve code goes wrong
    s = np.round(g.normal(size=n) + y, int(g.integers(0, 3)))
    return y, s


def sk(fn, *args, **kw):
    """scikit-learn's value, with its UndefinedMetricWarning silenced (we compare values)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


@pytest.mark.parametrize("seed", SEEDS)
def test_confusion_matrix_matches_sklearn(seed):
    g = np.random.default_rng(seed)
    k, n = int(g.integers(1, 6)), int(g.integers(1, 80))
    t, p = g.integers(0, k, n), g.integers(0, k, n)
    ours = M.confusion_matrix(t, p, k)
    assert ours.shape == (k, k) and ours.dtype == np.int64 and ours.sum() == n
    assert_array_equal(ours, sk(skm.confusion_matrix, t, p, labels=np.arange(k)))


def test_confusion_matrix_rows_are_true_labels():
    cm = M.confusion_matrix([1, 1, 1, 0], [0, 1, 1, 0], 2)
    assert_array_equal(cm, [[1, 0], [1, 2]])            # one positive predicted negative


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("average", ["binary", "macro"])
def test_precision_recall_f1_match_sklearn(seed, average):
    g = np.random.default_rng(seed)
    k = 2 if average == "binary" else int(g.integers(2, 6))
    n = int(g.integers(1, 40))
    t, p = g.integers(0, k, n), g.integers(0, k, n)
    ours = M.precision_recall_f1(t, p, average=average)
    ref = sk(skm.precision_recall_fscore_support, t, p, average=average)[:3]
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=0)
    assert all(isinstance(v, float) for v in ours)


@pytest.mark.parametrize("t,p", [
    ([0, 0, 0], [0, 0, 0]),          # no positive anywhere: all three ill-defined
    ([1, 1, 0], [0, 0, 0]),          # nothing predicted positive: precision 0/0
    ([0, 0, 0], [1, 0, 0]),          # no positive in y_true: recall 0/0
    ([1, 0, 1], [1, 0, 1]),          # perfect
])
@pytest.mark.parametrize("average", ["binary", "macro"])
def test_zero_division_is_sklearn_default_without_warning(t, p, average):
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # dlcore must not warn
        ours = M.precision_recall_f1(t, p, average=average)
    ref = sk(skm.precision_recall_fscore_support, t, p, average=average)[:3]
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=0)


def test_always_negative_classifier_under_extreme_imbalance():
    y = np.zeros(1_000_000, dtype=np.int64)
    y[:10] = 1                                          # 1 positive in 100 000
    pred = np.zeros_like(y)
    assert (pred == y).mean() == 0.99999
    assert M.precision_recall_f1(y, pred) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_roc_curve_matches_sklearn_exactly(seed):
    y, s = random_binary(seed)
    fpr, tpr, thr = M.roc_curve(y, s)
    rf, rt, rth = skm.roc_curve(y, s)
    assert thr[0] == np.inf
    assert_array_equal(fpr, rf)
    assert_array_equal(tpr, rt)
    assert_array_equal(thr, rth)
    assert M.auc(fpr, tpr) == pytest.approx(skm.roc_auc_score(y, s), rel=1e-12)


def test_roc_curve_with_all_scores_tied_and_no_ties():
    y = np.array([0, 1, 0, 1, 1])
    for s in (np.zeros(5), np.arange(5.0)):
        for a, b in zip(M.roc_curve(y, s), skm.roc_curve(y, s)):
            assert_array_equal(a, b)


@pytest.mark.parametrize("seed", SEEDS)
def test_precision_recall_curve_and_average_precision_match_sklearn(seed):
    y, s = random_binary(seed)
    for a, b in zip(M.precision_recall_curve(y, s), skm.precision_recall_curve(y, s)):
        np.testing.assert_allclose(a, b, rtol=1e-15, atol=0)
    assert M.average_precision(y, s) == pytest.approx(
        skm.average_precision_score(y, s), rel=1e-12)


def test_average_precision_without_negatives_is_one():
    y, s = np.ones(4, dtype=int), np.array([0.1, 0.3, 0.3, 0.9])
    assert M.average_precision(y, s) == skm.average_precision_score(y, s) == 1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_auc_matches_sklearn_both_directions(seed):
    g = np.random.default_rng(seed)
    x = np.sort(g.normal(size=int(g.integers(2, 30))))
    x[1:][g.random(x.size - 1) < 0.2] = x[0]             # repeated x values
    x.sort()
    y = g.normal(size=x.size)
    assert M.auc(x, y) == pytest.approx(skm.auc(x, y), rel=1e-12, abs=1e-15)
    assert M.auc(x[::-1], y[::-1]) == pytest.approx(skm.auc(x[::-1], y[::-1]), rel=1e-12,
                                                    abs=1e-15)


def test_auc_of_the_diagonal_and_of_a_perfect_roc():
    assert M.auc([0, 1], [0, 1]) == 0.5
    assert M.auc([0, 0, 1], [0, 1, 1]) == 1.0


# ---------------------------------------------------------------- bad inputs

def raises(match):
    return pytest.raises(ValueError, match=match)


@pytest.mark.parametrize("call,msg", [
    (lambda: M.confusion_matrix([0, 1], [0, 1], 0), r"^num_classes: expected an integer >= 1, got 0"),
    (lambda: M.confusion_matrix([0, 1], [0, 1], 2.0), r"^num_classes: expected an integer, got float 2.0"),
    (lambda: M.confusion_matrix([0, 1], [0, 1], True), r"^num_classes: expected an integer, got bool True"),
    (lambda: M.confusion_matrix([0, 2], [0, 1], 2), r"^y_true: expected labels in \[0, 1\], got 2"),
    (lambda: M.confusion_matrix([0, 1], [-1, 1], 2), r"^y_pred: expected labels in \[0, 1\], got -1"),
    (lambda: M.confusion_matrix([0, 1], [0, 1, 1], 2), r"^y_pred: expected 2 labels .* got 3"),
    (lambda: M.confusion_matrix([0.5, 1], [0, 1], 2), r"^y_true: expected integer labels, got non-integer"),
    (lambda: M.confusion_matrix(["a"], ["a"], 2), r"^y_true: expected integer labels, got dtype <U1"),
    (lambda: M.confusion_matrix([[0, 1]], [[0, 1]], 2), r"^y_true: expected a 1-D array .* shape \(1, 2\)"),
    (lambda: M.confusion_matrix([], [], 2), r"^y_true: expected at least one label"),
    (lambda: M.precision_recall_f1([0, 1], [0, 1], average="micro"), r"^average: expected 'binary' or 'macro', got 'micro'"),
    (lambda: M.precision_recall_f1([0, 2], [0, 1]), r"^y_true: expected binary labels in \{0, 1\}, got 2"),
    (lambda: M.precision_recall_f1([0, 1], [0, 1, 0]), r"^y_pred: expected 2 labels"),
    (lambda: M.precision_recall_f1([0, np.nan], [0, 1]), r"^y_true: expected integer labels"),
    (lambda: M.roc_curve([0, 1], [0.1, np.nan]), r"^scores: expected finite values, got NaN"),
    (lambda: M.roc_curve([0, 1], [0.1]), r"^scores: expected 2 scores .* got 1"),
    (lambda: M.roc_curve([0, 1], [[0.1, 0.2]]), r"^scores: expected a 1-D array"),
    (lambda: M.roc_curve([1, 1], [0.1, 0.2]), r"^y_true: expected both classes, got no negative"),
    (lambda: M.roc_curve([0, 0], [0.1, 0.2]), r"^y_true: expected both classes, got no positive"),
    (lambda: M.roc_curve([0, 3], [0.1, 0.2]), r"^y_true: expected binary labels"),
    (lambda: M.precision_recall_curve([0, 0], [0.1, 0.2]), r"^y_true: expected at least one positive"),
    (lambda: M.average_precision([0, 1], ["a", "b"]), r"^scores: expected a real numeric array"),
    (lambda: M.auc([0.0], [1.0]), r"^x: expected at least 2 points"),
    (lambda: M.auc([0, 1, 0.5], [0, 1, 1]), r"^x: expected a monotone"),
    (lambda: M.auc([0, 1], [0, 1, 2]), r"^y: expected shape \(2,\)"),
    (lambda: M.auc([0, np.inf], [0, 1]), r"^x: expected finite values, got inf"),
])
def test_bad_inputs_raise_naming_the_argument(call, msg):
    with raises(msg):
        call()
