"""Checker of the generative-models chapter: ``check_gaussian_kl`` (the VAE's KL term).
"""
from __future__ import annotations

import numpy as np

from ._common import _require_callable, _call, _as_array, _close, _failw, _ok, _quiet, _differs

__all__ = ["check_gaussian_kl"]

# ==================================================== generative: the VAE's KL term

# (N, d, logvar scale): a single example, d = 1, and log-variances up to about ±6
_KL_CASES = [(4, 3, 1.0), (1, 5, 1.0), (6, 1, 2.0), (3, 4, 3.0)]


def check_gaussian_kl(fn) -> bool:
    """Check ``fn(mu, logvar) -> kl``: KL(N(mu, diag(exp(logvar))) || N(0, I)) per example.

    ``mu`` and ``logvar`` have shape (N, d) (``logvar`` is the log of the *variance*, as a
    VAE's encoder outputs it); the answer has shape (N,)::

        kl = 0.5 * sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j)

    Compared with ``dlcore.generative.gaussian_kl`` on four cases.
    """
    from ..generative import gaussian_kl
    _require_callable(fn, "fn(mu, logvar) -> kl")
    title = "Gaussian KL"
    for k, (n, d, scale) in enumerate(_KL_CASES, start=1):
        g_ = np.random.default_rng(1300 + k)
        mu, logvar = g_.standard_normal((n, d)), scale * g_.standard_normal((n, d))
        ref = gaussian_kl(mu, logvar)
        where = f"Case {k} of {len(_KL_CASES)} (mu and logvar {mu.shape})"
        out, err = _call(fn, mu, logvar)
        if err is not None:
            return _failw(title, where, f"your function raised {err}",
                          "run it by hand on arrays of this shape and read the traceback.")
        kl = _as_array(out)
        if kl is None:
            return _failw(title, where, f"expected a numeric array, got {type(out).__name__}",
                          "return one KL value per example, an array of shape (N,).")
        if kl.shape != ref.shape:
            if kl.shape == () or kl.shape == (1,) and n > 1:
                hint = ("return one value per example, shape (N,): sum over the latent axis "
                        "only (axis=1), not over the batch.")
            elif kl.shape == mu.shape:
                hint = ("sum the d per-dimension terms: the KL of independent dimensions is the "
                        "sum of their KLs, kl.sum(axis=1).")
            else:
                hint = "the KL has one value per example: shape (N,)."
            return _failw(title, where, f"kl has shape {kl.shape}, expected {ref.shape}", hint)
        if not np.all(np.isfinite(kl)):
            return _failw(title, where, "kl contains NaN or inf",
                          "logvar is a log: use np.exp(logvar), never np.log(logvar) (logvar "
                          "may be negative).")
        if _close(kl, ref):
            continue
        var = np.exp(logvar)
        variants = [
            (2 * ref, "you forgot the factor 1/2: kl = 0.5 * sum(mu**2 + exp(logvar) - 1 - "
                      "logvar)."),
            (-ref, "the sign is flipped: a KL divergence is never negative; the VAE loss adds "
                   "+kl to the reconstruction loss."),
            (ref / d, "you averaged over the latent dimensions: sum them (axis=1)."),
            (0.5 * np.sum(mu ** 2 + np.exp(2 * logvar) - 1 - 2 * logvar, axis=1),
             "logvar is the log of the variance, not of the standard deviation: the variance "
             "is exp(logvar), not exp(2 * logvar)."),
            (_quiet(lambda: 0.5 * np.sum(mu ** 2 + logvar - 1 - np.log(logvar), axis=1)),
             "logvar is a log-variance: the variance is np.exp(logvar), and log(variance) is "
             "logvar itself."),
            (0.5 * np.sum(var - 1 - logvar, axis=1),
             "you left out the mean term mu**2: a posterior far from 0 must cost more."),
            (0.5 * np.sum(mu ** 2 + var - logvar, axis=1),
             "you left out the -1 per dimension: with it the KL is 0 exactly when mu = 0 and "
             "logvar = 0."),
        ]
        hint = next((h for v, h in variants if v is not None and _close(kl, v)),
                    "kl = 0.5 * np.sum(mu**2 + np.exp(logvar) - 1 - logvar, axis=1).")
        return _failw(title, where, _differs("kl", kl, ref), hint)
    return _ok(f"{title}: correct. kl matches dlcore.generative.gaussian_kl on {len(_KL_CASES)} "
               "cases (a single example, one latent dimension, log-variances up to ±6) to "
               "rtol 1e-8.")
