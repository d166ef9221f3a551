"""Layers with an explicit forward and backward pass.

Conventions (the same for every layer):

* inputs are batch-first float64 arrays, ``x`` of shape (N, features);
* ``forward(x, train=True)`` returns the output and keeps in ``self.cache`` what
  ``backward`` needs (a notebook can print those intermediates);
* ``backward(dout)`` takes ∂L/∂output, returns ∂L/∂x, stores ∂L/∂param in
  ``self.grads`` (overwriting, not accumulating), and never modifies ``dout``;
* ``params`` and ``grads`` are dicts of arrays keyed by name; an optimizer updates
  ``params`` in place, so the layer sees the new values.

``Linear`` stores ``W`` with shape (in_features, out_features) and computes
``y = x @ W + b``: the batch-first, "denominator layout" form in which ∂L/∂W has the
shape of W. PyTorch's ``nn.Linear.weight`` is the transpose, (out, in), with
``y = x @ weight.T + bias``.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_finite, check_positive, check_unit_interval
from . import functional as F

__all__ = ["Layer", "Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "ELU", "Dropout", "Sequential"]


def _rng(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


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
        self.in_features, self.out_features = int(in_features), int(out_features)
        if self.in_features < 1 or self.out_features < 1:
            raise ValueError(f"in_features, out_features: expected positive integers, got {in_features}, {out_features}")
        if not (init is None or callable(init) or (isinstance(init, str) and init in self._INITS)):
            raise ValueError(f"init: expected None, a callable or one of {list(self._INITS)}, got {init!r}")
        g = _rng(rng)
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
            from . import init as _init                   # imported here: layers is loaded first
            W = getattr(_init, init)(self.in_features, self.out_features, rng=g)
        W = as_float_array(W, "init(fan_in, fan_out, rng)")
        if W.shape != shape:
            raise ValueError(f"init(fan_in, fan_out, rng): expected an array of shape {shape}, got shape {W.shape}")
        self.params["W"] = np.array(W, dtype=np.float64, copy=True)
        if bias:
            self.params["b"] = np.zeros(self.out_features)

    def forward(self, x, train=True):
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


class _Elementwise(Layer):
    """An element-wise activation: backward multiplies dout by f'(z)."""

    def _f(self, z):  # pragma: no cover - abstract
        raise NotImplementedError

    def _df(self, z):  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x, train=True):
        x = as_float_array(x, "x")
        out = self._f(x)
        self.cache = {"x": x, "out": out}
        return out

    def backward(self, dout):
        dout = self._check_dout(dout)
        local = self._df(self.cache["x"])
        self.cache["local_grad"] = local
        return dout * local


class ReLU(_Elementwise):
    """max(0, x); backward passes dout where x > 0 (derivative 0 at x = 0, as in PyTorch)."""

    # z was validated by forward: compute F.relu / F.relu_grad without checking it again
    def _f(self, z):
        return np.maximum(z, 0.0)

    def _df(self, z):
        return (z > 0).astype(np.float64)


class LeakyReLU(_Elementwise):
    """x for x >= 0, alpha * x for x < 0."""

    def __init__(self, alpha=0.01):
        super().__init__()
        self.alpha = check_finite(alpha, "alpha")

    def _f(self, z):
        return F.leaky_relu(z, self.alpha)

    def _df(self, z):
        return F.leaky_relu_grad(z, self.alpha)

    def __repr__(self):
        return f"LeakyReLU(alpha={self.alpha})"


class Sigmoid(_Elementwise):
    """Two-branch logistic function; backward uses σ(1 - σ) from the cached output."""

    def _f(self, z):
        return F.sigmoid(z)

    def _df(self, z):
        s = self.cache["out"]
        return s * (1.0 - s)


class Tanh(_Elementwise):
    """tanh(x); backward uses 1 - tanh^2 from the cached output."""

    def _f(self, z):
        return np.tanh(z)                              # F.tanh without re-validating z

    def _df(self, z):
        t = self.cache["out"]
        return 1.0 - t * t


class ELU(_Elementwise):
    """x for x > 0, alpha (exp(x) - 1) otherwise."""

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = check_positive(alpha, "alpha", allow_zero=True)

    def _f(self, z):
        return F.elu(z, self.alpha)

    def _df(self, z):
        return F.elu_grad(z, self.alpha)

    def __repr__(self):
        return f"ELU(alpha={self.alpha})"


class GELU(_Elementwise):
    """x Φ(x), Φ the standard normal CDF; ``approximate="tanh"`` as in ``torch.nn.GELU``."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = F._check_approximate(approximate)

    def _f(self, z):
        return F.gelu(z, self.approximate)

    def _df(self, z):
        return F.gelu_grad(z, self.approximate)

    def __repr__(self):
        return f"GELU(approximate={self.approximate!r})"


class SiLU(_Elementwise):
    """x σ(x) (Swish with β = 1)."""

    def _f(self, z):
        return F.silu(z)

    def _df(self, z):
        return F.silu_grad(z)


__all__ += ["GELU", "SiLU"]


class Dropout(Layer):
    """Inverted dropout: in training, zero each element with probability p and scale
    the survivors by 1/(1-p), so E[output] = input; with ``train=False`` it is the identity.

    The mask is drawn per element (per example and per unit), fresh on every forward call.
    """

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        self.p = check_unit_interval(p, "p")
        self.rng = _rng(rng)

    def forward(self, x, train=True):
        x = as_float_array(x, "x")
        if train and self.p > 0:
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


class Sequential(Layer):
    """Layers applied in order. ``params``/``grads`` are flat dicts keyed ``"<index>.<name>"``
    (``"0.W"``, ``"0.b"``, ``"2.W"``, ...) in layer order; the arrays are the layers' own,
    so an optimizer updating ``params`` in place updates the layers."""

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
        for layer in self.layers:
            x = layer.forward(x, train=train)
        self.cache = {"out": x}
        return x

    def backward(self, dout, need_input_grad=True):
        """Backpropagate through the layers in reverse order and return dL/dx.

        With ``need_input_grad=False``, when the first layer is a ``Linear``, its input
        gradient (one matrix product that training never uses) is skipped and None is
        returned; every parameter gradient is computed as before.
        """
        dout = self._check_dout(dout)
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            if i == 0 and not need_input_grad and isinstance(layer, Linear):
                return layer.backward(dout, need_input_grad=False)
            dout = layer.backward(dout)
        return dout

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(\n  {inner}\n)"


from .normalization import BatchNorm1d, LayerNorm, Residual  # noqa: E402  (re-exported: dlcore.layers.BatchNorm1d)
from .conv import Conv2d, MaxPool2d, AvgPool2d, Flatten  # noqa: E402  (re-exported: dlcore.layers.Conv2d)
__all__ += ["BatchNorm1d", "LayerNorm", "Residual", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten"]
