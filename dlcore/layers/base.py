"""The base class ``Layer`` every dlcore layer derives from, and the layers' seed helper.

Conventions (the same for every layer):

* inputs are batch-first float64 arrays, ``x`` of shape (N, features);
* ``forward(x, train=True)`` returns the output and keeps in ``self.cache`` what
  ``backward`` needs (a notebook can print those intermediates);
* ``backward(dout)`` takes ∂L/∂output, returns ∂L/∂x, stores ∂L/∂param in
  ``self.grads`` (overwriting, not accumulating), and never modifies ``dout``;
* ``params`` and ``grads`` are dicts of arrays keyed by name; an optimizer updates
  ``params`` in place, so the layer sees the new values.

This module imports only NumPy and ``dlcore._validate``: every other module of
``dlcore.layers`` imports ``Layer`` from here, never from ``dlcore.layers`` itself.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_float_array, as_generator

__all__ = ["Layer"]

# The layers' seed helper is the package's one: None, a non-negative int seed or a Generator
# (a bool, a float, a string or a RandomState raise ValueError naming ``rng``).
_rng = as_generator


class Layer:
    """Base class: no parameters, identity caching helpers."""

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.cache: dict[str, np.ndarray] = {}

    def forward(self, x, train=True):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, dout):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x, train=True):
        return self.forward(x, train=train)

    def _check_dout(self, dout, key="out"):
        if key not in self.cache:
            raise ValueError(f"{type(self).__name__}.backward: call forward first (no cached {key!r})")
        dout = as_float_array(dout, "dout")
        want = self.cache[key].shape
        if dout.shape != want:
            raise ValueError(f"dout: expected shape {want} (the shape of the layer's output), got shape {dout.shape}")
        return dout

    def __repr__(self):
        return f"{type(self).__name__}()"
