"""The fully connected layer ``Linear`` and ``Sequential`` (layers applied in order).

``Linear`` stores ``W`` with shape (in_features, out_features) and computes
``y = x @ W + b``: the batch-first, "denominator layout" form in which ∂L/∂W has the
shape of W. PyTorch's ``nn.Linear.weight`` is the transpose, (out, in), with
``y = x @ weight.T + bias``.
"""
from __future__ import annotations

import numpy as np

import inspect

from .._validate import (as_float_array, as_generator, between_layers, check_all_finite, check_bool,
                         check_int)
from .base import Layer

__all__ = ["Linear", "Sequential"]


class Linear(Layer):
    """Affine map y = x @ W + b with W of shape (in_features, out_features).

    Initialized like ``torch.nn.Linear`` by default (``init=None`` or ``"torch"``): W and b
    uniform on [-1/sqrt(in), 1/sqrt(in)]. ``init`` may also name a scheme of
    ``dlcore.init`` (``"xavier_uniform"``, ``"xavier_normal"``, ``"he_uniform"``,
    ``"he_normal"``) or be a callable ``(fan_in, fan_out, rng) -> array`` of shape
    (in, out); with a named scheme or a callable the bias starts at zero (as in most
    code that calls ``torch.nn.init`` explicitly). ``rng`` is a seed or
    ``numpy.random.Generator``.
    """

    _INITS = ("torch", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal")

    def __init__(self, in_features, out_features, rng=None, bias=True, init=None):
        super().__init__()
        self.in_features = check_int(in_features, "in_features", min_value=1)
        self.out_features = check_int(out_features, "out_features", min_value=1)
        bias = check_bool(bias, "bias")
        if not (init is None or callable(init) or (isinstance(init, str) and init in self._INITS)):
            raise ValueError(f"init: expected None, a callable or one of {list(self._INITS)}, got {init!r}")
        if callable(init):
            try:
                inspect.signature(init).bind(1, 1, None)
            except TypeError:
                raise ValueError(f"init: expected a callable (fan_in, fan_out, rng) -> array, got "
                                 f"{init!r}, which does not take three arguments") from None
            except ValueError:      # no signature to inspect: let the call decide
                pass
        g = as_generator(rng)
        shape = (self.in_features, self.out_features)
        if init is None or init == "torch":
            bound = 1.0 / np.sqrt(self.in_features)
            self.params["W"] = g.uniform(-bound, bound, size=shape)
            if bias:
                self.params["b"] = g.uniform(-bound, bound, size=(self.out_features,))
            return
        if callable(init):
            W = init(self.in_features, self.out_features, g)
        else:
            from .. import init as _init                  # imported only for a named scheme
            W = getattr(_init, init)(self.in_features, self.out_features, rng=g)
        W = as_float_array(W, "init(fan_in, fan_out, rng)")
        if W.shape != shape:
            raise ValueError(f"init(fan_in, fan_out, rng): expected an array of shape {shape}, got shape {W.shape}")
        self.params["W"] = np.array(W, dtype=np.float64, copy=True)
        if bias:
            self.params["b"] = np.zeros(self.out_features)

    def forward(self, x, train=True):
        check_bool(train, "train")
        x = as_float_array(x, "x", ndim=2)
        if x.shape[1] != self.in_features:
            raise ValueError(f"x: expected shape (N, {self.in_features}), got shape {x.shape}")
        out = x @ self.params["W"]
        if "b" in self.params:
            out += self.params["b"]                   # in place: out is a fresh array
        self.cache = {"x": x, "out": out}
        return out

    def backward(self, dout, need_input_grad=True):
        """Store dL/dW and dL/db in ``grads`` and return dL/dx.

        With ``need_input_grad=False`` the last matrix product is skipped and None is
        returned: the first layer of a network never needs the gradient of the data,
        which is also why PyTorch does not compute it for inputs without ``requires_grad``.
        """
        need_input_grad = check_bool(need_input_grad, "need_input_grad")
        dout = self._check_dout(dout)
        x = self.cache["x"]
        self.grads = {"W": x.T @ dout}                 # (in, N) @ (N, out) = shape of W
        if "b" in self.params:
            self.grads["b"] = dout.sum(axis=0)         # b is broadcast over the batch
        if not need_input_grad:
            return None
        return dout @ self.params["W"].T              # (N, out) @ (out, in)

    def __repr__(self):
        return f"Linear(in_features={self.in_features}, out_features={self.out_features})"


class Sequential(Layer):
    """Layers applied in order. ``params``/``grads`` are flat dicts keyed ``"<index>.<name>"``
    (``"0.W"``, ``"0.b"``, ``"2.W"``, ...) in layer order; the arrays are the layers' own,
    so an optimizer updating ``params`` in place updates the layers.

    Input checks happen at the boundary, once: ``forward`` checks its input ``x`` and its
    output, ``backward`` its upstream gradient ``dout`` (and the returned dL/dx). In between,
    each layer receives what its neighbour produced, so the layers skip the full scan for
    NaN/inf of every activation and gradient (``dlcore._validate.between_layers``); a layer
    that overflows float64 still raises ``ValueError``, at the network's output (or, for a
    gradient, in the optimizer, which checks ``grads``)."""

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ValueError(f"layers[{i}]: expected a dlcore Layer, got {type(layer).__name__}")
        self.layers = list(layers)

    @property
    def params(self):
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}

    @params.setter
    def params(self, value):  # set by Layer.__init__; Sequential derives its params from its layers
        pass

    @property
    def grads(self):
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads.items()}

    @grads.setter
    def grads(self, value):
        pass

    def forward(self, x, train=True):
        check_bool(train, "train")
        outermost = not between_layers.active()
        x = as_float_array(x, "x")
        with between_layers():
            for layer in self.layers:
                x = layer.forward(x, train=train)
        if outermost:
            check_all_finite(x, "output", " although the input was finite (a layer overflowed)")
        self.cache = {"out": x}
        return x

    def backward(self, dout, need_input_grad=True):
        """Backpropagate through the layers in reverse order and return dL/dx.

        With ``need_input_grad=False``, when the first layer is a ``Linear``, its input
        gradient (one matrix product that training never uses) is skipped and None is
        returned; every parameter gradient is computed as before.
        """
        need_input_grad = check_bool(need_input_grad, "need_input_grad")
        outermost = not between_layers.active()
        dout = self._check_dout(dout)
        with between_layers():
            for i in range(len(self.layers) - 1, -1, -1):
                layer = self.layers[i]
                if i == 0 and not need_input_grad and isinstance(layer, Linear):
                    return layer.backward(dout, need_input_grad=False)
                dout = layer.backward(dout)
        if outermost:
            check_all_finite(dout, "dx", " although dout was finite (a layer overflowed)")
        return dout

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(\n  {inner}\n)"
