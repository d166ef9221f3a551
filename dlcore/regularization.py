"""Penalties, the L1 proximal step and the bias-variance decomposition.

Conventions (chosen so that "weight decay = L2" is an exact statement):

* ``l2_penalty(w, lam)`` is ``(lam / 2) * ||w||_2^2`` with gradient ``lam * w``. One step of
  gradient descent on ``loss + l2_penalty`` is then

      w <- w - lr * (grad + lam * w) = (1 - lr * lam) * w - lr * grad,

  which is exactly ``torch.optim.SGD(weight_decay=lam)`` (and ``dlcore.optim.SGD``): the
  ``weight_decay`` argument of an optimizer is the ``lam`` of this penalty.
* ``l1_penalty(w, lam)`` is ``lam * ||w||_1`` with the subgradient ``lam * sign(w)``, where
  ``sign(0) = 0`` (the element of the subdifferential ``[-lam, lam]`` that PyTorch's
  ``abs`` backward also returns).
* ``soft_threshold(w, t) = sign(w) * max(|w| - t, 0)`` is the proximal operator of
  ``t * ||.||_1``: the minimiser over ``z`` of ``0.5 * ||z - w||^2 + t * ||z||_1``. A
  proximal-gradient (ISTA) step for ``loss + lam * ||w||_1`` is
  ``w <- soft_threshold(w - lr * grad, lr * lam)``; it sets small weights exactly to zero,
  which a subgradient step ``w <- w - lr * (grad + lam * sign(w))`` never does.

``params_or_array`` is either one array or a dict of arrays (such as a model's ``params``
restricted to its weight matrices); the gradient has the same structure, and the value is
the sum over all arrays.

``bias_variance_decomposition(preds, f_true, noise_var)`` takes the predictions of models
refitted on R resampled training sets at M test points and returns, averaged over the test
points, bias^2 = (E_D[f_D(x)] - f(x))^2, variance = E_D[(f_D(x) - E_D[f_D(x)])^2] and the
noise variance. With expectations over the R fits taken as plain averages, the identity

    E_D E_eps[(y - f_D(x))^2] = bias^2 + variance + noise_var,     y = f(x) + eps,

holds exactly (to rounding), and ``expected_mse`` is its left-hand side. With finitely many
fits the split between the two terms is slightly biased: ``bias2`` is the squared bias of the
*average* of the R fits, whose expectation is the true bias^2 plus variance / R, and
``variance`` (divided by R) has expectation (R - 1) / R times the true variance. Their sum
is unbiased. When the variance is large compared with bias^2 * R, the bias2 column is
mostly variance / R.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_positive

__all__ = ["l1_penalty", "l2_penalty", "soft_threshold", "bias_variance_decomposition"]


def _as_arrays(params_or_array, name):
    """Return (dict of float64 arrays, was_dict)."""
    if isinstance(params_or_array, dict):
        out = {}
        for key, value in params_or_array.items():
            if not isinstance(value, (np.ndarray, list, tuple, float, int, np.number)):
                raise ValueError(f"{name}[{key!r}]: expected an array, got {type(value).__name__}")
            out[key] = as_float_array(value, f"{name}[{key!r}]")
        return out, True
    if params_or_array is None or isinstance(params_or_array, (str, bytes)):
        raise ValueError(f"{name}: expected an array or a dict of arrays, "
                         f"got {type(params_or_array).__name__}")
    return {None: as_float_array(params_or_array, name)}, False


def _penalty(params_or_array, lam, value_fn, grad_fn):
    lam = check_positive(lam, "lam", allow_zero=True)
    arrays, was_dict = _as_arrays(params_or_array, "params_or_array")
    value = float(sum(value_fn(w) for w in arrays.values())) * lam
    grads = {k: lam * grad_fn(w) for k, w in arrays.items()}
    return value, (grads if was_dict else grads[None])


def l2_penalty(params_or_array, lam):
    """``(lam / 2) * sum ||w||^2`` and its gradient ``lam * w`` (same structure as the input).

    ``lam >= 0``. With this convention an optimizer's ``weight_decay=lam`` is this penalty.
    """
    return _penalty(params_or_array, lam, lambda w: 0.5 * np.sum(w * w), lambda w: w.copy())


def l1_penalty(params_or_array, lam):
    """``lam * sum |w|`` and its subgradient ``lam * sign(w)`` (0 where ``w == 0``)."""
    return _penalty(params_or_array, lam, lambda w: np.sum(np.abs(w)), np.sign)


def soft_threshold(w, t):
    """The proximal operator of ``t * ||.||_1``: ``sign(w) * max(|w| - t, 0)``, element-wise.

    ``t >= 0`` is a number. Entries with ``|w| <= t`` become exactly 0; the others move
    towards 0 by ``t``. Returns a new array (``w`` is not modified).
    """
    t = check_positive(t, "t", allow_zero=True)
    w = as_float_array(w, "w")
    return np.sign(w) * np.maximum(np.abs(w) - t, 0.0)


def bias_variance_decomposition(preds, f_true, noise_var=0.0):
    """Bias^2, variance and noise of refitted predictors, averaged over test points.

    ``preds`` has shape (R, M): row r holds the predictions, at M test points, of the model
    fitted on the r-th training set. ``f_true`` (shape (M,)) is the true regression function
    at those points and ``noise_var >= 0`` the variance of the label noise.

    Returns a dict with ``bias2``, ``variance`` (over the R fits, divided by R), ``noise``
    and ``expected_mse = bias2 + variance + noise``, which equals the average over fits,
    test points and label noise of the squared error ``(f + eps - pred)^2``. The R rows
    should be i.i.d. fits. Then ``bias2 + variance`` is an unbiased estimate of the
    population bias^2 + variance, but the split is not: E[bias2] = bias^2 + variance / R and
    E[variance] = (R - 1) / R * variance (see the module docstring).
    """
    preds = as_float_array(preds, "preds", ndim=2)
    f_true = as_float_array(f_true, "f_true", ndim=1)
    if preds.shape[1] != f_true.shape[0] or preds.shape[0] < 1:
        raise ValueError(f"f_true: expected shape ({preds.shape[1]},) matching preds of shape "
                         f"{preds.shape} (R fits x M points), got shape {f_true.shape}")
    noise = check_positive(noise_var, "noise_var", allow_zero=True)
    mean_pred = preds.mean(axis=0)
    bias2 = float(np.mean((mean_pred - f_true) ** 2))
    variance = float(np.mean((preds - mean_pred) ** 2))
    expected = float(np.mean((preds - f_true) ** 2)) + noise
    return {"bias2": bias2, "variance": variance, "noise": noise, "expected_mse": expected}
