"""Weight initialization schemes that keep signal variance constant through depth.

For a layer ``z = x @ W`` with ``W`` of shape (fan_in, fan_out), independent zero-mean
weights of variance ``v`` and independent inputs of second moment ``m``::

    Var(z_j) = fan_in * v * m                      (forward pass)
    Var(dL/dx_i) = fan_out * v * Var(dL/dz_j)      (backward pass)

* Glorot & Bengio (2010), "Xavier": keep both roughly constant for an activation with
  slope 1 at 0 (tanh, identity) by the compromise ``v = 2 / (fan_in + fan_out)``.
* He et al. (2015), "Kaiming": ReLU zeroes half of a symmetric input, so
  ``E[relu(z)^2] = Var(z) / 2``; the forward pass is preserved by ``v = 2 / fan_in``.

A uniform distribution on [-a, a] has variance a^2 / 3, hence the bounds
``sqrt(6 / (fan_in + fan_out))`` (Xavier) and ``sqrt(6 / fan_in)`` (He).

Every function returns a float64 array of shape (fan_in, fan_out): dlcore's ``Linear``
stores ``W`` as (in, out), the transpose of ``torch.nn.Linear.weight`` (out, in). So
``fan_in`` is the *first* axis here and the second axis in PyTorch; the numbers are the
same as ``torch.nn.init.xavier_uniform_``, ``xavier_normal_``, ``kaiming_uniform_`` and
``kaiming_normal_`` (``nonlinearity="relu"``, ``mode="fan_in"``) would give for that shape.
``rng`` is None, an int seed or a ``numpy.random.Generator``.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_generator, check_int

__all__ = ["xavier_uniform", "xavier_normal", "he_uniform", "he_normal"]


def _fan(value, name: str) -> int:
    return check_int(value, name, min_value=1)


def xavier_uniform(fan_in, fan_out, rng=None) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out)): variance 2 / (fan_in + fan_out)."""
    fi, fo = _fan(fan_in, "fan_in"), _fan(fan_out, "fan_out")
    bound = np.sqrt(6.0 / (fi + fo))
    return as_generator(rng).uniform(-bound, bound, size=(fi, fo))


def xavier_normal(fan_in, fan_out, rng=None) -> np.ndarray:
    """N(0, s^2) with s = sqrt(2 / (fan_in + fan_out))."""
    fi, fo = _fan(fan_in, "fan_in"), _fan(fan_out, "fan_out")
    std = np.sqrt(2.0 / (fi + fo))
    return as_generator(rng).normal(0.0, std, size=(fi, fo))


def he_uniform(fan_in, fan_out, rng=None) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / fan_in): variance 2 / fan_in (for ReLU)."""
    fi, fo = _fan(fan_in, "fan_in"), _fan(fan_out, "fan_out")
    bound = np.sqrt(6.0 / fi)
    return as_generator(rng).uniform(-bound, bound, size=(fi, fo))


def he_normal(fan_in, fan_out, rng=None) -> np.ndarray:
    """N(0, s^2) with s = sqrt(2 / fan_in) (for ReLU)."""
    fi, fo = _fan(fan_in, "fan_in"), _fan(fan_out, "fan_out")
    std = np.sqrt(2.0 / fi)
    return as_generator(rng).normal(0.0, std, size=(fi, fo))
