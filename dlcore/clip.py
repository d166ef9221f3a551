"""Gradient clipping, in place, as ``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_``.

``grads`` is a dict of arrays (``model.grads``, as the optimizers take it) or a list of
arrays; every array must be a writeable float64 ndarray, because it is modified in place.

* **Clip by norm** treats all gradients as one long vector g::

      total = ||g||_2 = sqrt(sum over arrays of ||g_i||_2^2)
      g <- g * min(1, max_norm / (total + 1e-6))

  It rescales every component by the same factor, so the *direction* of the step is kept;
  only its length is bounded. The norms are computed without overflow: finite gradients
  beyond about 1e154, whose squares PyTorch overflows to inf (and then zeroes the gradients),
  are scaled by a power of two first, so the returned norm is exact (inf only when the
  norm itself exceeds 1.8e308; the gradients are then still scaled to ``max_norm``). The ``1e-6`` and the clamp at 1 are PyTorch's: the factor
  is applied even when it is 1 (which leaves g unchanged), and the norm *before* clipping
  is returned. Pascanu, Mikolov & Bengio (2013) proposed it against exploding gradients.
  With a non-finite total (an Inf or NaN gradient) the factor is 0 or NaN, as in PyTorch
  with ``error_if_nonfinite=False``; pass ``error_if_nonfinite=True`` to get a
  ``ValueError`` instead.
* **Clip by value** clamps each component to [-clip_value, clip_value]. Components are
  cut by different amounts, so the direction changes.

Neither can make a small gradient larger: clipping is no remedy for vanishing gradients.
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import check_bool, check_positive

__all__ = ["clip_grad_norm", "clip_grad_value"]


def _arrays(grads) -> list[np.ndarray]:
    if isinstance(grads, dict):
        items = list(grads.items())
    elif isinstance(grads, (list, tuple)):
        items = list(enumerate(grads))
    else:
        raise ValueError(f"grads: expected a dict or a list of float64 arrays, got {type(grads).__name__}")
    out = []
    for key, g in items:
        if not isinstance(g, np.ndarray) or g.dtype != np.float64:
            raise ValueError(f"grads[{key!r}]: expected a float64 ndarray (clipped in place), "
                             f"got {type(g).__name__} {getattr(g, 'dtype', '')}")
        if not g.flags.writeable:
            raise ValueError(f"grads[{key!r}]: expected a writeable array (clipped in place), got a read-only array")
        out.append(g)
    return out


def _l2_norm(a) -> float:
    """sqrt(sum a**2) of all entries, as ``np.linalg.norm(a.ravel())`` (the same bits) but
    without overflow: if the sum of squares overflows while every entry is finite, the entries
    are divided by a power of two (exact) and the norm is rescaled. NaN and inf propagate."""
    a = np.asarray(a, dtype=np.float64).ravel()
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(np.sqrt(a.dot(a)))
        if np.isfinite(total) or not np.isfinite(a).all():
            return total
        s = 2.0 ** (math.frexp(float(np.max(np.abs(a))))[1] - 1)
        b = a / s
        return float(np.sqrt(b.dot(b))) * s


def clip_grad_norm(grads, max_norm, error_if_nonfinite=False) -> float:
    """Rescale ``grads`` in place so that their joint L2 norm is at most ``max_norm``.

    Returns the total norm *before* clipping (a float), like ``torch.nn.utils.clip_grad_norm_``.
    """
    arrays = _arrays(grads)
    max_norm = check_positive(max_norm, "max_norm")
    error_if_nonfinite = check_bool(error_if_nonfinite, "error_if_nonfinite")
    if not arrays:
        return 0.0
    norms = np.array([_l2_norm(g) for g in arrays])      # an Inf/NaN gradient is data here
    total = _l2_norm(norms)
    if error_if_nonfinite and not np.isfinite(total):
        raise ValueError(f"grads: expected a finite total norm (error_if_nonfinite=True), got {total}")
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isnan(total):
            coef = float("nan")
        elif np.isinf(total) and all(np.isfinite(g).all() for g in arrays):
            # finite gradients whose norm exceeds 1.8e308: max_norm / total, without overflow
            s = 2.0 ** (math.frexp(max(float(np.max(np.abs(g))) for g in arrays if g.size))[1] - 1)
            coef = max_norm / _l2_norm(np.array([_l2_norm(g / s) for g in arrays])) / s
        else:
            coef = min(max_norm / (total + 1e-6), 1.0)
        for g in arrays:
            g *= coef
    return total


def clip_grad_value(grads, clip_value) -> None:
    """Clamp every gradient component to [-clip_value, clip_value], in place (NaN stays NaN)."""
    arrays = _arrays(grads)
    c = check_positive(clip_value, "clip_value")
    for g in arrays:
        np.clip(g, -c, c, out=g)
