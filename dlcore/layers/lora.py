"""``LoRALinear``: a frozen linear layer plus a trainable low-rank update (LoRA, Hu et al. 2021).

The layer computes, for a batch ``x`` of shape (N, in),

    y = x @ W + b + s * (x @ A.T) @ B.T,        s = alpha / r,

with the frozen base weight ``W`` of shape (in, out) (dlcore's ``Linear`` convention) and the
trainable factors ``A`` of shape (r, in) and ``B`` of shape (out, r): the shapes of
``lora_A.weight`` and ``lora_B.weight`` in Hugging Face PEFT, so ``B @ A`` is an (out, in)
update in PyTorch's weight layout. The update of dlcore's ``W`` is its transpose,
``delta_W = s * (B @ A).T``, of rank at most ``r``.

* Only ``A`` and ``B`` are in ``params`` and ``grads``: an optimizer never touches the frozen
  ``W`` and ``b`` (attributes ``weight`` and ``bias``). Trainable parameters: ``r * (in + out)``
  instead of ``in * out``.
* Initialization as in PEFT: ``A`` uniform on [-1/sqrt(in), 1/sqrt(in)] (PyTorch's
  ``kaiming_uniform_(a=sqrt(5))``), ``B = 0``, so ``delta_W = 0`` and the layer starts as the
  pretrained one. The gradient of ``B`` is then nonzero and that of ``A`` is zero: training
  starts by moving ``B``.
* ``merged_weight()`` returns ``W + delta_W``: a plain ``Linear`` with that weight computes the
  same outputs, so a merged adapter costs nothing at inference.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_float_array, check_bool, check_int, check_positive
from .base import Layer, _rng

__all__ = ["LoRALinear"]


class LoRALinear(Layer):
    """y = x @ W + b + (alpha / r) * x @ A.T @ B.T with W, b frozen and A (r, in), B (out, r)
    trainable. ``W`` is copied (shape (in, out)); ``b`` is None or (out,). ``alpha=None``
    means ``alpha = r`` (scale 1). ``rng`` seeds the initialization of ``A``."""

    def __init__(self, W, b=None, r=8, alpha=None, rng=None):
        super().__init__()
        W = as_float_array(W, "W", ndim=2)
        if 0 in W.shape:
            raise ValueError(f"W: expected a non-empty (in, out) matrix, got shape {W.shape}")
        self.in_features, self.out_features = W.shape
        self.r = check_int(r, "r", min_value=1)
        self.alpha = float(self.r) if alpha is None else check_positive(alpha, "alpha")
        self.scale = self.alpha / self.r
        self.weight = np.array(W, copy=True)
        if b is None:
            self.bias = None
        else:
            b = as_float_array(b, "b", ndim=1)
            if b.shape != (self.out_features,):
                raise ValueError(f"b: expected shape ({self.out_features},), got shape {b.shape}")
            self.bias = np.array(b, copy=True)
        bound = 1.0 / np.sqrt(self.in_features)
        self.params["A"] = _rng(rng).uniform(-bound, bound, size=(self.r, self.in_features))
        self.params["B"] = np.zeros((self.out_features, self.r))

    @classmethod
    def from_linear(cls, linear, r=8, alpha=None, rng=None):
        """Wrap a dlcore ``Linear`` (its W and b are copied and frozen)."""
        if not hasattr(linear, "params") or "W" not in getattr(linear, "params", {}):
            raise ValueError(f"linear: expected a dlcore Linear, got {type(linear).__name__}")
        return cls(linear.params["W"], linear.params.get("b"), r=r, alpha=alpha, rng=rng)

    def delta_weight(self) -> np.ndarray:
        """The update of W, s * (B @ A).T, shape (in, out), rank <= r."""
        return self.scale * (self.params["B"] @ self.params["A"]).T

    def merged_weight(self) -> np.ndarray:
        """W + delta_W: the weight of an ordinary Linear with the same outputs."""
        return self.weight + self.delta_weight()

    def forward(self, x, train=True):
        check_bool(train, "train")
        x = as_float_array(x, "x", ndim=2)
        if x.shape[1] != self.in_features:
            raise ValueError(f"x: expected shape (N, {self.in_features}), got shape {x.shape}")
        u = x @ self.params["A"].T                     # (N, r): the low-rank code
        out = x @ self.weight + self.scale * (u @ self.params["B"].T)
        if self.bias is not None:
            out += self.bias
        self.cache = {"x": x, "u": u, "out": out}
        return out

    def backward(self, dout, need_input_grad=True):
        """Store dL/dA and dL/dB in ``grads`` (W and b are frozen) and return dL/dx."""
        need_input_grad = check_bool(need_input_grad, "need_input_grad")
        dout = self._check_dout(dout)
        x, u = self.cache["x"], self.cache["u"]
        A, B, s = self.params["A"], self.params["B"], self.scale
        dB = s * dout.T @ u                            # (out, N) @ (N, r)
        dv = s * dout @ B                              # (N, r): gradient of the code u
        dA = dv.T @ x                                  # (r, N) @ (N, in)
        self.grads = {"A": dA, "B": dB}
        if not need_input_grad:
            return None
        return dout @ self.weight.T + dv @ A

    def __repr__(self):
        return (f"LoRALinear(in_features={self.in_features}, out_features={self.out_features}, "
                f"r={self.r}, alpha={self.alpha:g})")
