"""Element-wise activation layers: ``ReLU``, ``LeakyReLU``, ``Sigmoid``, ``Tanh``, ``ELU``,
``GELU``, ``SiLU``. Each computes its function and derivative with ``dlcore.functional``
(or the same formula inline, where the input was already validated by ``forward``).
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .._validate import as_float_array, check_bool, check_finite, check_positive
from .base import Layer

__all__ = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "ELU", "GELU", "SiLU"]


class _Elementwise(Layer):
    """An element-wise activation: backward multiplies dout by f'(z)."""

    def _f(self, z):  # pragma: no cover - abstract
        raise NotImplementedError

    def _df(self, z):  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x, train=True):
        check_bool(train, "train")
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

    def backward(self, dout):
        """dL/dx = dout * f'(x) with f'(x) = 1 where x > 0, else 0. The derivative is kept as a
        boolean mask, ``cache["local_grad"]``, and multiplied in directly (NumPy reads True/False
        as 1.0/0.0: the same products as with a float derivative, one pass fewer)."""
        dout = self._check_dout(dout)
        mask = self.cache["x"] > 0
        self.cache["local_grad"] = mask
        return np.multiply(dout, mask)


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
