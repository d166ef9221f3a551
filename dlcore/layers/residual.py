"""``Residual``: the skip connection ``x + layer(x)`` around any shape-preserving layer.

**Residual** (``Residual(layer)``; He et al. 2016) computes ``x + layer(x)``; its backward is
``dout + layer.backward(dout)``: the identity path carries the upstream gradient unchanged.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_float_array, between_layers, check_all_finite, check_bool
from .base import Layer

__all__ = ["Residual"]


class Residual(Layer):
    """``x + layer(x)``: a skip connection around any shape-preserving layer.

    ``params`` and ``grads`` are the inner layer's, under the inner layer's own keys (``W``,
    ``b`` for a Linear; ``0.W``, ``2.gamma``, ... for a Sequential); inside an outer
    ``Sequential`` they get its index prefix, e.g. ``"3.0.W"``. The arrays are the inner
    layer's own, so an optimizer updating ``params`` in place updates the inner layer.
    """

    def __init__(self, layer):
        super().__init__()
        if not isinstance(layer, Layer):
            raise ValueError(f"layer: expected a dlcore Layer, got {type(layer).__name__}")
        self.layer = layer

    @property
    def layers(self):                    # lets gradcheck find the rng of an inner Dropout
        return [self.layer]

    @property
    def params(self):
        return self.layer.params

    @params.setter
    def params(self, value):             # set by Layer.__init__; the inner layer owns them
        pass

    @property
    def grads(self):
        return self.layer.grads

    @grads.setter
    def grads(self, value):
        pass

    def forward(self, x, train=True):
        check_bool(train, "train")
        outermost = not between_layers.active()
        x = as_float_array(x, "x")
        with between_layers():                # the inner layer gets the x checked here
            fx = self.layer.forward(x, train=train)
        if np.shape(fx) != x.shape:
            raise ValueError(f"layer: expected an output of the input's shape {x.shape} "
                             f"(x + layer(x)), got shape {np.shape(fx)}")
        out = x + fx
        if outermost:
            check_all_finite(out, "output", " although the input was finite (a layer overflowed)")
        self.cache = {"out": out}
        return out

    def backward(self, dout, need_input_grad=True):
        """dL/dx = dout + layer.backward(dout); the inner layer fills its ``grads``.
        With ``need_input_grad=False`` (as ``fit`` asks of a model) it returns None."""
        need_input_grad = check_bool(need_input_grad, "need_input_grad")
        outermost = not between_layers.active()
        dout = self._check_dout(dout)
        with between_layers():
            dx = dout + self.layer.backward(dout)
        if outermost:
            check_all_finite(dx, "dx", " although dout was finite (a layer overflowed)")
        return dx if need_input_grad else None

    def __repr__(self):
        return f"Residual({self.layer!r})"
