"""Normalization layers (batch norm, layer norm) and group norm.

All of them standardize a set of numbers with that set's own mean and variance, then apply a
learnable per-feature affine map. They differ only in *which* numbers share the statistics.

**Batch norm** (``BatchNorm1d``; Ioffe & Szegedy 2015). For an input of shape (N, C) or
(N, C, L), channel ``c`` is standardized over the m = N (or N·L) values it takes in the batch::

    mu = mean(x),  var = mean((x - mu)^2)            (biased: divides by m)
    x_hat = (x - mu) / sqrt(var + eps),   y = gamma * x_hat + beta

Backward, with ``sigma = sqrt(var + eps)`` and sums over the same m values (the three terms
are the direct path through ``x`` and the two paths through ``mu`` and ``var``)::

    dgamma = sum(dy * x_hat),  dbeta = sum(dy)
    dx = gamma / (m * sigma) * (m * dy - sum(dy) - x_hat * sum(dy * x_hat))

In training mode the running estimates are updated exactly as ``torch.nn.BatchNorm1d`` does,
with the *unbiased* batch variance (divides by m - 1)::

    running_mean <- (1 - momentum) * running_mean + momentum * mu
    running_var  <- (1 - momentum) * running_var  + momentum * var * m / (m - 1)

``momentum=None`` gives the cumulative average (factor 1 / number of batches seen), as in
PyTorch. With ``train=False`` the layer uses ``running_mean``/``running_var`` instead of the
batch statistics: it is then a fixed affine map of each example, ``dx = dy * gamma / sqrt(
running_var + eps)``.

**Layer norm** (``LayerNorm``; Ba, Kiros & Hinton 2016) standardizes each example (each token)
over its last axis of size D: the same formulas with the sums over the D features, so an
example's output never depends on the other examples, and train and eval modes are the same.

**RMS norm** (``RMSNorm``; Zhang & Sennrich 2019) drops the centering of layer norm and the
bias: over the last axes (``normalized_shape``, D values), ``r = 1 / sqrt(mean(x^2) + eps)``,
``x_hat = x * r``, ``y = weight * x_hat``; backward ``dx = r * (g - x_hat * mean(g * x_hat))``
with ``g = dy * weight``. It is the norm of LLaMA-style Transformers, as
``torch.nn.RMSNorm(normalized_shape, eps=1e-6)``.

**Group norm** (``group_norm``; Wu & He 2018) is a forward-only function for (N, C, *spatial)
inputs: the C channels are split into G groups and each (example, group) is standardized over
its C/G channels and all spatial positions. G = 1 is layer norm over (C, H, W), G = C is
instance norm.

Parameters follow PyTorch: ``gamma`` (PyTorch's ``weight``) starts at 1, ``beta`` (``bias``)
at 0, ``running_mean`` at 0 and ``running_var`` at 1.

This is the home of every normalization layer. ``dlcore.normalization`` (the topic module the
book imports) and ``dlcore.layers`` re-export them: a new one (e.g. ``RMSNorm``) is written
here, added to ``__all__`` below, and imported in ``dlcore/layers/__init__.py`` and
``dlcore/normalization.py`` (as ``RMSNorm`` is); ``tests/test_package_layout.py`` fails until
all three list it.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_float_array, check_bool, check_int, check_positive
from .base import Layer

__all__ = ["BatchNorm1d", "LayerNorm", "RMSNorm", "group_norm"]


def _check_num_features(value, name="num_features"):
    return check_int(value, name, min_value=1)


def _check_statistic(stat, name="x"):
    """ValueError when a variance or mean square (a small array) overflowed: |x| > ~1e154."""
    if not np.isfinite(stat).all():
        raise ValueError(f"{name}: values too large to normalize in float64 (their mean square "
                         f"overflows: |x| beyond about 1e154)")


def _standardize_backward(dy, x_hat, inv_sigma, axes, m):
    """dL/dx of x_hat = (x - mean) * inv_sigma (biased variance over ``axes``, m values),
    given dy = dL/dx_hat: inv_sigma / m * (m dy - sum dy - x_hat sum(dy x_hat))."""
    sum_dy = dy.sum(axis=axes, keepdims=True)
    sum_dy_xhat = (dy * x_hat).sum(axis=axes, keepdims=True)
    return (inv_sigma / m) * (m * dy - sum_dy - x_hat * sum_dy_xhat)


class BatchNorm1d(Layer):
    """Batch normalization over the batch (and length) axes of an (N, C) or (N, C, L) input.

    ``params``: ``gamma``, ``beta`` of shape (C,). Buffers (not parameters; no gradient):
    ``running_mean``, ``running_var`` of shape (C,) and ``num_batches_tracked``.
    ``forward(x, train=True)`` normalizes with the batch statistics and updates the buffers;
    ``forward(x, train=False)`` normalizes with the buffers and leaves them unchanged.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = _check_num_features(num_features)
        self.eps = check_positive(eps, "eps")
        if momentum is not None:
            momentum = check_positive(momentum, "momentum", allow_zero=True)
            if momentum > 1:
                raise ValueError(f"momentum: expected a number in [0, 1] or None, got {momentum!r}")
        self.momentum = momentum
        self.params["gamma"] = np.ones(self.num_features)
        self.params["beta"] = np.zeros(self.num_features)
        self.running_mean = np.zeros(self.num_features)
        self.running_var = np.ones(self.num_features)
        self.num_batches_tracked = 0

    def _axes(self, x):
        if x.shape[1] != self.num_features:
            c = self.num_features
            raise ValueError(f"x: expected shape (N, {c}) or (N, {c}, L), got shape {x.shape}")
        axes = (0,) if x.ndim == 2 else (0, 2)
        shape = (1, self.num_features) if x.ndim == 2 else (1, self.num_features, 1)
        return axes, shape

    def forward(self, x, train=True):
        train = check_bool(train, "train")
        x = as_float_array(x, "x", ndim=(2, 3))
        axes, shape = self._axes(x)
        m = x.size // self.num_features                     # values per channel
        gamma = self.params["gamma"].reshape(shape)
        beta = self.params["beta"].reshape(shape)
        if train:
            if m < 2:
                raise ValueError(f"x: expected more than 1 value per channel in training mode "
                                 f"(batch statistics), got shape {x.shape}")
            mean = x.mean(axis=axes, keepdims=True)
            xc = x - mean
            with np.errstate(over="ignore"):
                var = (xc * xc).mean(axis=axes, keepdims=True)   # biased: used to normalize
            _check_statistic(var)
            inv_sigma = 1.0 / np.sqrt(var + self.eps)
            self.num_batches_tracked += 1
            f = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
            unbiased = var.reshape(-1) * (m / (m - 1))     # used for the running estimate
            self.running_mean = (1.0 - f) * self.running_mean + f * mean.reshape(-1)
            self.running_var = (1.0 - f) * self.running_var + f * unbiased
        else:
            mean = self.running_mean.reshape(shape)
            var = self.running_var.reshape(shape)
            xc = x - mean
            inv_sigma = 1.0 / np.sqrt(var + self.eps)
        x_hat = xc * inv_sigma
        out = gamma * x_hat + beta
        self.cache = {"x": x, "x_hat": x_hat, "mean": mean, "var": var, "inv_sigma": inv_sigma,
                      "train": train, "axes": axes, "m": m, "out": out}
        return out

    def backward(self, dout):
        """Store dL/dgamma, dL/dbeta in ``grads`` and return dL/dx (for the mode of the last
        forward: through the batch statistics in training, a fixed scaling in eval mode)."""
        dout = self._check_dout(dout)
        c = self.cache
        axes, shape = c["axes"], c["inv_sigma"].shape
        self.grads = {"gamma": (dout * c["x_hat"]).sum(axis=axes),
                      "beta": dout.sum(axis=axes)}
        dx_hat = dout * self.params["gamma"].reshape(shape)
        if not c["train"]:
            return dx_hat * c["inv_sigma"]
        return _standardize_backward(dx_hat, c["x_hat"], c["inv_sigma"], axes, c["m"])

    def __repr__(self):
        return f"BatchNorm1d({self.num_features}, eps={self.eps}, momentum={self.momentum})"


class LayerNorm(Layer):
    """Layer normalization over the last axis (size ``num_features``) of an input of any rank.

    ``params``: ``gamma``, ``beta`` of shape (num_features,). No running statistics: the
    output of each example (each row, each token) depends on that example only, and
    ``train`` changes nothing.
    """

    def __init__(self, num_features, eps=1e-5):
        super().__init__()
        self.num_features = _check_num_features(num_features)
        self.eps = check_positive(eps, "eps")
        self.params["gamma"] = np.ones(self.num_features)
        self.params["beta"] = np.zeros(self.num_features)

    def forward(self, x, train=True):
        check_bool(train, "train")
        x = as_float_array(x, "x", min_ndim=1)
        if x.shape[-1] != self.num_features:
            raise ValueError(f"x: expected a last dimension of size {self.num_features}, "
                             f"got shape {x.shape}")
        mean = x.mean(axis=-1, keepdims=True)
        xc = x - mean
        with np.errstate(over="ignore"):
            var = (xc * xc).mean(axis=-1, keepdims=True)
        _check_statistic(var)
        inv_sigma = 1.0 / np.sqrt(var + self.eps)
        x_hat = xc * inv_sigma
        out = self.params["gamma"] * x_hat + self.params["beta"]
        self.cache = {"x": x, "x_hat": x_hat, "mean": mean, "var": var,
                      "inv_sigma": inv_sigma, "out": out}
        return out

    def backward(self, dout):
        dout = self._check_dout(dout)
        c = self.cache
        lead = tuple(range(dout.ndim - 1))              # every axis but the feature axis
        self.grads = {"gamma": (dout * c["x_hat"]).sum(axis=lead),
                      "beta": dout.sum(axis=lead)}
        dx_hat = dout * self.params["gamma"]
        return _standardize_backward(dx_hat, c["x_hat"], c["inv_sigma"], -1, self.num_features)

    def __repr__(self):
        return f"LayerNorm({self.num_features}, eps={self.eps})"


class RMSNorm(Layer):
    """Root-mean-square normalization over the last ``len(normalized_shape)`` axes, as
    ``torch.nn.RMSNorm(normalized_shape, eps=1e-6)``: ``y = weight * x / sqrt(mean(x**2) +
    eps)``, no centering and no bias.

    ``normalized_shape``: an int (the last axis) or a tuple of the trailing axes' sizes.
    ``params``: ``weight`` of shape ``normalized_shape``, initialised to ones.
    """

    def __init__(self, normalized_shape, eps=1e-6):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
            and not isinstance(normalized_shape, (bool, np.bool_)) else normalized_shape
        if isinstance(shape, (tuple, list)):
            shape = tuple(_check_num_features(s, "normalized_shape") for s in shape)
        else:
            shape = ()
        if not shape:
            raise ValueError(f"normalized_shape: expected a positive int or a non-empty tuple "
                             f"of positive ints, got {normalized_shape!r}")
        self.normalized_shape = shape
        self.eps = check_positive(eps, "eps")
        self.params["weight"] = np.ones(shape)

    def forward(self, x, train=True):
        check_bool(train, "train")
        k = len(self.normalized_shape)
        x = as_float_array(x, "x", min_ndim=k)
        if x.shape[x.ndim - k:] != self.normalized_shape:
            raise ValueError(f"x: expected trailing dimensions {self.normalized_shape}, "
                             f"got shape {x.shape}")
        axes = tuple(range(x.ndim - k, x.ndim))
        with np.errstate(over="ignore"):
            mean_square = (x * x).mean(axis=axes, keepdims=True)
        _check_statistic(mean_square)
        inv_rms = 1.0 / np.sqrt(mean_square + self.eps)
        x_hat = x * inv_rms
        out = self.params["weight"] * x_hat
        self.cache = {"x_hat": x_hat, "inv_rms": inv_rms, "axes": axes, "out": out}
        return out

    def backward(self, dout):
        dout = self._check_dout(dout)
        c = self.cache
        lead = tuple(range(dout.ndim - len(self.normalized_shape)))
        self.grads = {"weight": (dout * c["x_hat"]).sum(axis=lead)}
        g = dout * self.params["weight"]
        return c["inv_rms"] * (g - c["x_hat"] * (g * c["x_hat"]).mean(axis=c["axes"],
                                                                      keepdims=True))

    def __repr__(self):
        shape = self.normalized_shape[0] if len(self.normalized_shape) == 1 \
            else self.normalized_shape
        return f"RMSNorm({shape}, eps={self.eps})"


def group_norm(x, num_groups, eps=1e-5):
    """Group normalization of an (N, C, *spatial) array, without affine parameters.

    Channels are split into ``num_groups`` consecutive groups of C / num_groups channels;
    each (example, group) is standardized over its channels and spatial positions with the
    biased variance, as ``torch.nn.functional.group_norm``. ``num_groups=1`` gives layer norm
    over (C, *spatial); ``num_groups=C`` gives instance norm.
    """
    x = as_float_array(x, "x", min_ndim=2)
    num_groups = check_int(num_groups, "num_groups", min_value=1)
    if x.shape[1] % num_groups:
        raise ValueError(f"num_groups: expected a positive int dividing the {x.shape[1]} "
                         f"channels, got {num_groups!r}")
    eps = check_positive(eps, "eps")
    n = x.shape[0]
    g = x.reshape(n, num_groups, -1)
    mean = g.mean(axis=-1, keepdims=True)
    gc = g - mean
    with np.errstate(over="ignore"):
        var = (gc * gc).mean(axis=-1, keepdims=True)
    _check_statistic(var)
    return (gc / np.sqrt(var + eps)).reshape(x.shape)
