"""Checker of the normalization chapter: ``check_batchnorm_backward``.
"""
from __future__ import annotations

import numpy as np

from ._common import (_require_callable, _call, _close, _failw, _ok, _unpack,
                      _first_nonfinite, _differs)

__all__ = ["check_batchnorm_backward"]

# ============================================== normalization: batch norm backward

# (N, C, eps, mean): a batch of two, a single channel, a channel mean of 100, and a larger eps
_BN_CASES = [(2, 3, 1e-5, 0.0), (5, 1, 1e-5, 0.0), (16, 4, 1e-5, 100.0), (32, 6, 1e-3, 0.0)]


def check_batchnorm_backward(fn) -> bool:
    """Check ``fn(x, gamma, dout, eps) -> (dx, dgamma, dbeta)``: batch norm's backward pass.

    Training mode over axis 0 of an (N, C) input, biased batch variance, as
    ``torch.nn.BatchNorm1d``: ``x_hat = (x - mean) / sqrt(var + eps)``, ``y = gamma * x_hat
    + beta``; ``dout = dL/dy``. The answer is ``dx`` (N, C), ``dgamma`` and ``dbeta`` (C,).
    Compared with ``dlcore.normalization.BatchNorm1d`` on four cases (a batch of two, a single
    channel, a channel mean of 100, eps = 1e-3).
    """
    from ..normalization import BatchNorm1d
    _require_callable(fn, "fn(x, gamma, dout, eps) -> (dx, dgamma, dbeta)")
    title = "Batch norm backward"
    names = ("dx", "dgamma", "dbeta")
    for k, (n, c, eps, mean) in enumerate(_BN_CASES, start=1):
        g_ = np.random.default_rng(800 + k)
        x = g_.standard_normal((n, c)) + mean
        gamma, dout = g_.uniform(0.5, 2.0, c), g_.standard_normal((n, c))
        bn = BatchNorm1d(c, eps=eps)
        bn.params["gamma"][...] = gamma
        bn.forward(x)
        ref = (bn.backward(dout), bn.grads["gamma"], bn.grads["beta"])
        where = (f"Case {k} of {len(_BN_CASES)} (x {x.shape}, eps {eps:g}"
                 + (", channel means 100)" if mean else ")"))
        out, err = _call(fn, x, gamma, dout, eps)
        if err is not None:
            return _failw(title, where, f"your function raised {err}",
                          "run it by hand on arrays of these shapes and read the traceback.")
        arrays = _unpack(out, names, title, where)
        if arrays is None:
            return False
        for name, arr, r in zip(names, arrays, ref):
            if arr.shape != r.shape:
                hint = (f"{name} has gamma's shape (C,): sum over the batch axis, axis=0."
                        if name != "dx" else "dx has the shape of x, (N, C).")
                return _failw(title, where, f"{name} has shape {arr.shape}, expected {r.shape}", hint)
        bad = _first_nonfinite(arrays, names)
        if bad:
            return _failw(title, where, f"{bad} contains NaN or inf",
                          "sigma = sqrt(var + eps) is positive: look for a division by var alone.")
        dx, dgamma, dbeta = arrays
        mu = x.mean(axis=0)
        sigma = np.sqrt(x.var(axis=0) + eps)
        x_hat = (x - mu) / sigma
        sigma_u = np.sqrt(x.var(axis=0, ddof=1) + eps)
        x_hat_u = (x - mu) / sigma_u
        if not _close(dbeta, ref[2]):
            hint = ("dbeta = dout.sum(axis=0): beta is added to every row."
                    if not (n > 1 and _close(dbeta, dout.mean(axis=0))) else
                    "dbeta is a mean over the batch: it must be the sum, dout.sum(axis=0).")
            return _failw(title, where, _differs("dbeta", dbeta, ref[2]), hint)
        if not _close(dgamma, ref[1]):
            if _close(dgamma, (dout * x_hat_u).sum(axis=0)):
                hint = ("you normalized with the unbiased variance (ddof=1): batch norm divides "
                        "by sqrt(var + eps) with the biased variance, the mean of (x - mean)**2; "
                        "the unbiased one only feeds running_var.")
            elif _close(dgamma, (dout * x).sum(axis=0)):
                hint = "dgamma sums dout * x_hat, the normalized input, not dout * x."
            else:
                hint = "dgamma = (dout * x_hat).sum(axis=0), x_hat = (x - mean) / sqrt(var + eps)."
            return _failw(title, where, _differs("dgamma", dgamma, ref[1]), hint)
        if not _close(dx, ref[0]):
            d = dout * gamma
            variants = [
                (d / sigma,
                 "dx = dout * gamma / sigma is only the direct path: the batch mean and variance "
                 "also depend on every x, so subtract their paths: dx = gamma / sigma * (dout - "
                 "mean(dout) - x_hat * mean(dout * x_hat)), means over the batch."),
                (d / sigma_u - (d / sigma_u).mean(axis=0)
                 - x_hat_u * (d * x_hat_u).mean(axis=0) / sigma_u,
                 "you used the unbiased variance (ddof=1): batch norm normalizes with the biased "
                 "one (divide by N)."),
                ((d - d.mean(axis=0)) / sigma,
                 "you have the path through the mean but not the one through the variance: "
                 "also subtract x_hat * mean(dout * gamma * x_hat) / sigma."),
                ((d - x_hat * (d * x_hat).mean(axis=0)) / sigma,
                 "you have the path through the variance but not the one through the mean: "
                 "also subtract mean(dout * gamma) / sigma."),
                (ref[0] / gamma,
                 "dx is missing the factor gamma: the gradient reaching x_hat is dout * gamma."),
            ]
            hint = next((h for v, h in variants if _close(dx, v)),
                        "dx = gamma / sigma * (dout - mean(dout) - x_hat * mean(dout * x_hat)), "
                        "means over the batch axis.")
            return _failw(title, where, _differs("dx", dx, ref[0]), hint)
    _ok(f"{title}: correct. dx, dgamma and dbeta match dlcore.normalization.BatchNorm1d on "
          f"{len(_BN_CASES)} cases (a batch of two, one channel, means of 100) to rtol 1e-8.")
    return True
