"""Small helpers for the generative-models chapter: a toy target distribution and how to
score samples against it.

``gaussian_ring`` draws from the classic GAN test distribution, a mixture of ``k`` narrow
Gaussians evenly spaced on a circle; ``mode_coverage`` counts how many of those modes a set of
samples reaches and what fraction of samples lands near any mode, the two numbers that
separate a generator that covers the distribution from one that has collapsed onto a few
modes. ``gaussian_kl`` is the closed-form KL divergence a VAE's loss uses.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, as_generator, check_int, check_positive, check_unit_interval

__all__ = ["ring_centres", "gaussian_ring", "mode_coverage", "gaussian_kl"]


def _check(k, radius, std):
    return (check_int(k, "k", min_value=1), check_positive(radius, "radius"),
            check_positive(std, "std"))


def ring_centres(k=8, radius=2.0):
    """The k mode centres, shape (k, 2): angles 2*pi*j/k on a circle of the given radius."""
    k, radius, _ = _check(k, radius, 1.0)
    a = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(a), np.sin(a)], axis=1)


def gaussian_ring(n, k=8, radius=2.0, std=0.05, rng=None):
    """n points, shape (n, 2), from an equal-weight mixture of k isotropic Gaussians of
    standard deviation ``std`` centred on ``ring_centres(k, radius)``."""
    n = check_int(n, "n", min_value=1)
    k, radius, std = _check(k, radius, std)
    g = as_generator(rng)
    idx = g.integers(0, k, size=n)
    return ring_centres(k, radius)[idx] + std * g.normal(size=(n, 2))


def mode_coverage(samples, k=8, radius=2.0, std=0.05, within=3.0, min_share=0.02):
    """``(modes_covered, share_near)`` for 2-D samples against a ``gaussian_ring``.

    A sample is *near* a mode when it lies within ``within * std`` of the mode's centre
    (for 2-D Gaussian data, 3 std holds 98.9 % of a mode's mass). A mode counts as covered
    when at least ``min_share`` of all samples are near it. ``share_near`` is the fraction of
    samples near some mode (sample quality); ``modes_covered`` measures diversity.
    """
    x = as_float_array(samples, "samples", ndim=2)
    if x.shape[1] != 2 or x.shape[0] == 0:
        raise ValueError(f"samples: expected shape (n, 2) with n >= 1, got shape {x.shape}")
    k, radius, std = _check(k, radius, std)
    within = check_positive(within, "within")
    min_share = check_unit_interval(min_share, "min_share", closed_right=True)
    with np.errstate(over="ignore"):   # a distance beyond float64 (inf) is correctly "not near"
        d = np.linalg.norm(x[:, None, :] - ring_centres(k, radius)[None], axis=2)
        near = d.min(axis=1) < within * std
    counts = np.bincount(d.argmin(axis=1)[near], minlength=k)
    return int((counts >= min_share * len(x)).sum()), float(near.mean())


def gaussian_kl(mu, logvar):
    """KL( N(mu, diag(exp(logvar))) || N(0, I) ) per row: 0.5 * sum(mu^2 + e^logvar - 1 - logvar).

    The regularization term of the VAE objective; shape (N,) for inputs of shape (N, d).
    """
    mu = as_float_array(mu, "mu", ndim=2)
    logvar = as_float_array(logvar, "logvar", ndim=2)
    if mu.shape != logvar.shape:
        raise ValueError(f"logvar: expected shape {mu.shape} (the shape of mu), got shape {logvar.shape}")
    return 0.5 * np.sum(mu ** 2 + np.exp(logvar) - 1.0 - logvar, axis=1)   # inf past 1.8e308
