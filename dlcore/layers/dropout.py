"""Inverted dropout, ``Dropout``."""
from __future__ import annotations

import numpy as np

from .._validate import as_float_array, as_generator, check_bool, check_unit_interval
from .base import Layer

__all__ = ["Dropout"]


class Dropout(Layer):
    """Inverted dropout: in training, zero each element with probability p and scale
    the survivors by 1/(1-p), so E[output] = input; with ``train=False`` it is the identity.

    The mask is drawn per element (per example and per unit), fresh on every forward call.
    """

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        self.p = check_unit_interval(p, "p")
        self.rng = as_generator(rng)

    def forward(self, x, train=True):
        x = as_float_array(x, "x")
        if check_bool(train, "train") and self.p > 0:
            mask = (self.rng.random(x.shape) >= self.p) / (1.0 - self.p)
        else:
            mask = np.ones_like(x)
        out = x * mask
        self.cache = {"x": x, "mask": mask, "out": out}
        return out

    def backward(self, dout):
        dout = self._check_dout(dout)
        return dout * self.cache["mask"]

    def __repr__(self):
        return f"Dropout(p={self.p})"
