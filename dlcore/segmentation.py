"""Segmentation losses. Each returns ``(loss, grad)``: a scalar loss and its gradient
with respect to ``logits``.

Shapes (the layout of ``torch.nn.functional.cross_entropy``):

* ``logits``: float array of shape (N, C, *spatial), e.g. (N, C, H, W): one score per
  class for every pixel; class probabilities are ``softmax(logits, axis=1)``;
* ``target``: integer class labels of shape (N, *spatial), e.g. (N, H, W), values in
  [0, C). Floats holding whole numbers are accepted, like ``dlcore.losses``.

The region losses (Dice, IoU) are multi-class: softmax over the channel axis, one soft
score per class, then the mean over classes. Their sums run over the whole batch and
all pixels (the "batch Dice" of nnU-Net), so a class that is absent from one image but
present in another still gets a sensible score. Any smoothing ``eps`` is added to the
numerator and the denominator of the ratio, never inside a log.

``hard_dice`` scores a label map (after argmax); it is an evaluation metric, not a loss.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, as_class_indices, check_int, check_positive
from .functional import log_softmax, softmax

__all__ = ["soft_dice_loss", "soft_iou_loss", "weighted_cross_entropy",
           "bootstrapped_cross_entropy", "hard_dice"]


def _check_logits_target(logits, target):
    """Validate (N, C, *spatial) logits and (N, *spatial) labels; return (logits, labels, C)."""
    logits = as_float_array(logits, "logits", min_ndim=2)
    n, c = logits.shape[:2]
    if n == 0 or c == 0 or 0 in logits.shape[2:]:
        raise ValueError(f"logits: expected shape (N, C, *spatial) with no zero-length axis, got shape {logits.shape}")
    want = (n,) + logits.shape[2:]
    t = np.asarray(target)
    if t.shape != want:
        raise ValueError(f"target: expected class labels of shape {want} (logits.shape without the class axis), "
                         f"got shape {t.shape}")
    labels = as_class_indices(t.reshape(-1), "target", t.size, c).reshape(want)
    return logits, labels, c


def _one_hot_channels(labels, c):
    """(N, *spatial) labels -> (N, C, *spatial) float one-hot."""
    return np.moveaxis(np.eye(c)[labels], -1, 1)


def _pixel_ce(logits, labels):
    """Per-pixel -log softmax(logits)[label], shape (N, *spatial); and the softmax P."""
    logp = log_softmax(logits, axis=1)
    nll = -np.take_along_axis(logp, labels[:, None], axis=1)[:, 0]
    return nll, np.exp(logp)


def _softmax_backward(p, dp):
    """Chain rule through softmax over axis 1: dz = p * (dp - sum_c dp * p)."""
    return p * (dp - np.sum(dp * p, axis=1, keepdims=True))


def _ratio(num, den):
    """num / den per class, and 0 where den == 0.

    den = 0 happens only for eps = 0 and a class that is absent from the target and whose
    softmax mass underflowed to exactly 0 (logits some 745 apart). Then num = 0 too, and for any
    positive mass the exact ratio is 0 (the overlap with an absent class is 0), as is its
    derivative, so 0 is the limit; computing 0 / 0 would give NaN.
    """
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _class_sums(x):
    """Sum over every axis except the class axis 1: (N, C, *spatial) -> (C,)."""
    return np.sum(x, axis=(0,) + tuple(range(2, x.ndim)))


def weighted_cross_entropy(logits, y, weight):
    """Class-weighted pixel-wise cross-entropy, as ``F.cross_entropy(logits, y, weight=weight)``.

    With pixels i, labels y_i and p_i = softmax(z_i):
        loss = sum_i w[y_i] * (-log p_i[y_i]) / sum_i w[y_i]
    i.e. a weighted *mean*: the denominator is the sum of the weights of the target
    classes, not the number of pixels (that is PyTorch's ``reduction="mean"``).
    Gradient: dloss/dz_i = w[y_i] * (p_i - onehot(y_i)) / sum_j w[y_j].

    ``weight`` has shape (C,), entries finite and >= 0, and at least one pixel must have
    a class of positive weight. With all weights equal this is plain cross-entropy.
    """
    logits, labels, c = _check_logits_target(logits, y)
    w = as_float_array(weight, "weight", ndim=1)
    if w.shape != (c,):
        raise ValueError(f"weight: expected shape ({c},) (one weight per class), got shape {w.shape}")
    if np.any(w < 0):
        raise ValueError(f"weight: expected non-negative class weights, got {float(w.min())!r}")
    wy = w[labels]  # (N, *spatial)
    total = wy.sum()
    if total <= 0:
        raise ValueError("weight: expected a positive total weight over the target pixels, got 0.0")
    nll, p = _pixel_ce(logits, labels)
    loss = np.sum(wy * nll) / total
    grad = (p - _one_hot_channels(labels, c)) * (wy / total)[:, None]
    return float(loss), grad


def bootstrapped_cross_entropy(logits, y, k):
    """Online bootstrapped cross-entropy: the mean cross-entropy of the k hardest pixels.

    With per-pixel losses l_i = -log softmax(z_i)[y_i] over all N * prod(spatial)
    pixels of the batch, and T the set of the k largest l_i:
        loss = (1/k) * sum_{i in T} l_i
    Gradient: (p_i - onehot(y_i)) / k for i in T, and 0 for every other pixel.
    Ties at the k-th largest loss are broken by the lower flat index (a stable sort).
    k = number of pixels gives plain cross-entropy.
    """
    logits, labels, c = _check_logits_target(logits, y)
    n_pix = labels.size
    k = check_int(k, "k")
    if not 1 <= k <= n_pix:
        raise ValueError(f"k: expected an integer number of pixels in [1, {n_pix}], got {k}")
    nll, p = _pixel_ce(logits, labels)
    flat = nll.reshape(-1)
    hard = np.argsort(-flat, kind="stable")[:k]
    mask = np.zeros(n_pix)
    mask[hard] = 1.0
    mask = mask.reshape(labels.shape)
    loss = np.sum(flat[hard]) / k
    grad = (p - _one_hot_channels(labels, c)) * (mask / k)[:, None]
    return float(loss), grad


def soft_dice_loss(logits, target, eps=1e-5):
    """Multi-class soft Dice loss on softmax probabilities, in the form of nnU-Net's SoftDiceLoss
    (Isensee et al. 2021): linear sums in the denominator, every class weighted equally. V-Net
    (Milletari et al. 2016) squares the denominator terms; generalised Dice (Sudre et al. 2017)
    weights classes by 1 / (sum G_c)^2. Neither is what this function computes.

    With P = softmax(logits, axis=1), G = one-hot(target), both (N, C, *spatial), and sums
    over the batch and all pixels, for each class c:
        I_c = sum P_c G_c,   S_c = sum P_c + sum G_c,   D_c = (2 I_c + eps) / (S_c + eps)
        loss = 1 - (1/C) sum_c D_c
    Gradient: dloss/dP_c = -(1/C) (2 G_c (S_c + eps) - (2 I_c + eps)) / (S_c + eps)^2,
    then the softmax chain rule over the class axis.

    ``eps`` >= 0 smooths the ratio (numerator and denominator). With eps = 0 a class that is
    absent from the target scores D_c = 0 (its overlap is 0 while softmax gives it positive
    mass); if that mass underflows to exactly 0 (extreme logits), D_c = 0 and its gradient 0
    are used, the limit, instead of 0/0.
    """
    logits, labels, c = _check_logits_target(logits, target)
    eps = check_positive(eps, "eps", allow_zero=True)
    p = softmax(logits, axis=1)
    g = _one_hot_channels(labels, c)
    inter = _class_sums(p * g)
    s = _class_sums(p) + _class_sums(g)
    num, den = 2.0 * inter + eps, s + eps
    ratio = _ratio(num, den)
    loss = 1.0 - np.mean(ratio)
    shape = (1, c) + (1,) * (logits.ndim - 2)
    # -(2 G (S + eps) - (2 I + eps)) / (S + eps)^2 / C, written as -(2 G - D) / (S + eps) / C so that
    # a tiny S + eps cannot underflow when squared (G = 0 and D = 0 for such a class)
    dp = -_ratio(2.0 * g - ratio.reshape(shape), np.broadcast_to(den.reshape(shape), g.shape)) / c
    return float(loss), _softmax_backward(p, dp)


def soft_iou_loss(logits, target, eps=1e-5):
    """Multi-class soft IoU (Jaccard) loss on softmax probabilities (Rahman and Wang 2016).

    With P = softmax(logits, axis=1), G = one-hot(target) and sums over the batch and all
    pixels, for each class c:
        I_c = sum P_c G_c,   U_c = sum P_c + sum G_c - I_c,   J_c = (I_c + eps) / (U_c + eps)
        loss = 1 - (1/C) sum_c J_c
    Gradient: dJ_c/dP_c = (G_c (U_c + eps) - (I_c + eps)(1 - G_c)) / (U_c + eps)^2, times -1/C,
    then the softmax chain rule over the class axis. With eps = 0, a class absent from the target
    whose softmax mass underflows to exactly 0 gets J_c = 0 and gradient 0 (the limit), as in
    :func:`soft_dice_loss`.
    """
    logits, labels, c = _check_logits_target(logits, target)
    eps = check_positive(eps, "eps", allow_zero=True)
    p = softmax(logits, axis=1)
    g = _one_hot_channels(labels, c)
    inter = _class_sums(p * g)
    union = _class_sums(p) + _class_sums(g) - inter
    num, den = inter + eps, union + eps
    ratio = _ratio(num, den)
    loss = 1.0 - np.mean(ratio)
    shape = (1, c) + (1,) * (logits.ndim - 2)
    # (G (U + eps) - (I + eps)(1 - G)) / (U + eps)^2 = (G - J (1 - G)) / (U + eps), times -1/C
    dp = -_ratio(g - ratio.reshape(shape) * (1.0 - g), np.broadcast_to(den.reshape(shape), g.shape)) / c
    return float(loss), _softmax_backward(p, dp)


def hard_dice(pred, target, n_classes):
    """Per-class Dice 2|A_c ∩ B_c| / (|A_c| + |B_c|) of two label maps of equal shape.

    An evaluation metric (piecewise constant, no gradient). A class absent from both
    maps scores 1. Returns a (n_classes,) array.
    """
    n_classes = check_int(n_classes, "n_classes", min_value=1)
    a, b = np.asarray(pred), np.asarray(target)
    if a.ndim == 0:
        raise ValueError(f"pred: expected a label map (an array of class labels), got {pred!r}")
    if a.shape != b.shape:
        raise ValueError(f"target: expected shape {a.shape} (the shape of pred), got shape {b.shape}")
    a = as_class_indices(a.reshape(-1), "pred", a.size, n_classes)
    b = as_class_indices(b.reshape(-1), "target", b.size, n_classes)
    out = np.empty(n_classes)
    for k in range(n_classes):
        inter, total = np.sum((a == k) & (b == k)), np.sum(a == k) + np.sum(b == k)
        out[k] = 1.0 if total == 0 else 2.0 * inter / total
    return out
