"""Loss functions. Each returns ``(loss, grad)``: the scalar loss with PyTorch's
``reduction="mean"`` and its gradient with respect to the first argument.

No ``log(p + 1e-7)`` anywhere: losses on logits go through log-sum-exp, and
``binary_cross_entropy`` on probabilities clamps the *log* at -100 exactly as
``torch.nn.functional.binary_cross_entropy`` does, so a probability of exactly 0 or 1
gives a large finite loss instead of inf.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, as_class_indices, check_in_range, check_int, check_same_shape
from .functional import log_softmax, softmax, sigmoid

__all__ = ["mse", "binary_cross_entropy", "bce_with_logits", "softmax_cross_entropy", "one_hot"]

_LOG_CLAMP = -100.0  # torch clamps log(p) and log(1-p) at -100 in BCELoss
# torch clamps p(1-p) from below in BCELoss's backward with ``constexpr float EPSILON = 1e-12``:
# the float32 value 9.99999996e-13, so the gradient at p = 0 or 1 is (p - y) / 9.99999996e-13 / n
_BCE_GRAD_EPS = float(np.float32(1e-12))


def _mean_denominator(arr: np.ndarray, name: str) -> int:
    if arr.size == 0:
        raise ValueError(f"{name}: expected at least one element, got shape {arr.shape}")
    return arr.size


def mse(pred, target):
    """Mean squared error mean((pred - target)^2); grad = 2 (pred - target) / n_elements.

    The loss is inf (with NumPy's overflow warning) when it exceeds float64's range, e.g.
    for differences of 1e160 or more: an honest overflow, as in PyTorch."""
    pred = as_float_array(pred, "pred")
    target = as_float_array(target, "target")
    check_same_shape(pred, target, "pred", "target")
    n = _mean_denominator(pred, "pred")
    diff = pred - target
    return float(np.sum(diff * diff) / n), 2.0 * diff / n


def binary_cross_entropy(p, y):
    """-mean(y log p + (1 - y) log(1 - p)) for probabilities p in [0, 1].

    Prefer ``bce_with_logits`` in models: it never forms p, so it cannot lose
    precision when p rounds to 0 or 1.
    """
    p = as_float_array(p, "p")
    y = as_float_array(y, "y")
    check_same_shape(p, y, "p", "y")
    check_in_range(p, "p", 0.0, 1.0)
    check_in_range(y, "y", 0.0, 1.0)
    n = _mean_denominator(p, "p")
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), _LOG_CLAMP)
        log_1mp = np.maximum(np.log1p(-p), _LOG_CLAMP)
    loss = -np.sum(y * log_p + (1.0 - y) * log_1mp) / n
    grad = (p - y) / np.maximum(p * (1.0 - p), _BCE_GRAD_EPS) / n
    return float(loss), grad


def bce_with_logits(z, y):
    """BCE on logits: mean(max(z, 0) - z y + log(1 + exp(-|z|))); grad = (σ(z) - y) / n.

    The rewrite is exact (it is -[y log σ(z) + (1-y) log(1-σ(z))]) and every exp has a
    non-positive argument, so it is finite for |z| = 1e4.
    """
    z = as_float_array(z, "z")
    y = as_float_array(y, "y")
    check_same_shape(z, y, "z", "y")
    check_in_range(y, "y", 0.0, 1.0)
    n = _mean_denominator(z, "z")
    loss = np.sum(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))) / n
    return float(loss), (sigmoid(z) - y) / n


def one_hot(y, n_classes: int):
    """(N,) integer labels -> (N, n_classes) float64 one-hot matrix."""
    n_classes = check_int(n_classes, "n_classes", min_value=1)
    y_arr = np.asarray(y)
    if y_arr.ndim != 1:
        raise ValueError(f"y: expected class indices of shape (N,), got shape {y_arr.shape}")
    y = as_class_indices(y_arr, "y", y_arr.shape[0], n_classes)
    out = np.zeros((y.shape[0], n_classes))
    out[np.arange(y.shape[0]), y] = 1.0
    return out


def softmax_cross_entropy(logits, y):
    """Cross-entropy of softmax(logits) against labels, like ``torch.nn.functional.cross_entropy``.

    ``logits`` has shape (N, C). ``y`` is either class indices of shape (N,) or a
    target distribution of shape (N, C) whose rows lie in [0, 1] and sum to 1.
    Loss: -mean_n sum_c y_nc log softmax(logits)_nc, via log-sum-exp (finite for
    logits of ±1e4). Gradient: (softmax(logits) - Y) / N, Y the one-hot or target rows.
    """
    logits = as_float_array(logits, "logits", ndim=2)
    n, c = logits.shape
    if n == 0 or c == 0:
        raise ValueError(f"logits: expected shape (N, C) with N, C >= 1, got shape {logits.shape}")
    y_arr = np.asarray(y)
    hard = y_arr.ndim == 1
    if hard:
        labels = as_class_indices(y_arr, "y", n, c)
        target = np.zeros((n, c))                      # one_hot(labels, c), without re-checking labels
        target[np.arange(n), labels] = 1.0
    elif y_arr.ndim == 2:
        target = as_float_array(y_arr, "y")
        check_same_shape(logits, target, "logits", "y")
        check_in_range(target, "y", 0.0, 1.0)
        sums = target.sum(axis=1)
        if not np.allclose(sums, 1.0, rtol=0, atol=1e-6):
            worst = sums[np.argmax(np.abs(sums - 1.0))]
            raise ValueError(f"y: expected each row of the target distribution to sum to 1, got a row summing to {float(worst)!r}")
    else:
        raise ValueError(f"y: expected class indices of shape ({n},) or a distribution of shape ({n}, {c}), got shape {y_arr.shape}")
    # log_softmax(logits, axis=1) and softmax(logits, axis=1), sharing one max shift and one exp
    # (the same operations as those two functions, so the same bits)
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    logp = shifted - np.log(s)
    loss = -np.sum(target * logp) / n
    p = e / s
    if not hard:                                       # rows of a one-hot target sum to exactly 1
        p *= target.sum(axis=1, keepdims=True)
    p -= target
    p /= n
    return float(loss), p
