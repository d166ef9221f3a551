"""Signal propagation through deep stacks: build them, measure per-layer gradient norms.

The initialization and normalization chapters measure, on many pages, how the error signal
``delta_l = dL/dz_l`` (the gradient with respect to a layer's pre-activation) grows or
shrinks from the top of a deep network to its first layer. These helpers build the networks
and take the measurements, so that every page does it the same way:

* ``normal_init(std)``: a naive N(0, std^2) initialization, as a callable for
  ``Linear(init=...)``;
* ``deep_mlp(activation, depth, width, init, rng, n_in=None)``: ``depth`` blocks
  ``Linear -> activation`` of one width (the first may take ``n_in`` inputs);
* ``error_signal_norms(net, x, dout)``: forward ``x``, backpropagate ``dout`` and return
  ``||dL/dz_l||`` (Frobenius norm over the batch) at the input of every non-``Linear`` layer
  (every activation; in a ``block_mlp`` also every ``BatchNorm1d``);
* ``weight_grad_norms(net)``: ``||dL/dW_l||`` of every ``Linear`` after a backward pass;
* ``block_mlp(n_in, n_out, depth, width, block, rng)``: ``depth`` hidden blocks
  ``Linear -> BN -> ReLU`` (``block="bn_relu"``), ``Linear -> ReLU -> BN`` (``"relu_bn"``)
  or ``Linear -> ReLU`` (``"relu"``), then a ``Linear`` head, PyTorch's default init
  unless ``init`` names a ``Linear`` scheme.

Everything is float64 NumPy on ``dlcore.layers``; ``rng`` is a seed or a
``numpy.random.Generator`` and fixes every draw.
"""
from __future__ import annotations

import numpy as np

from . import layers as _layers
from .clip import _l2_norm
from ._validate import as_float_array, as_generator, check_int, check_positive

__all__ = ["normal_init", "deep_mlp", "error_signal_norms", "weight_grad_norms", "block_mlp",
           "ACTIVATIONS"]

ACTIVATIONS = {"sigmoid": _layers.Sigmoid, "tanh": _layers.Tanh, "relu": _layers.ReLU}


def _positive_int(value, name):
    return check_int(value, name, min_value=1)


def _generator(rng):
    return as_generator(rng)


def normal_init(std):
    """N(0, std^2) weights, as a callable ``(fan_in, fan_out, g) -> array`` for ``Linear``."""
    std = check_positive(std, "std")          # finite and > 0 (inf would give inf weights)
    return lambda fan_in, fan_out, g: g.normal(0.0, std, size=(fan_in, fan_out))


def deep_mlp(activation, depth, width, init=None, rng=None, n_in=None):
    """``depth`` x (Linear -> activation), every layer ``width`` wide; the first takes
    ``n_in`` inputs (default ``width``). ``init`` is passed to every ``Linear``."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {activation!r}")
    depth, width = _positive_int(depth, "depth"), _positive_int(width, "width")
    n = width if n_in is None else _positive_int(n_in, "n_in")
    g = _generator(rng)
    mods = []
    for _ in range(depth):
        mods += [_layers.Linear(n, width, rng=g, init=init), ACTIVATIONS[activation]()]
        n = width
    return _layers.Sequential(*mods)


def error_signal_norms(net, x, dout):
    """Forward ``x`` through ``net`` (a ``Sequential``), backpropagate ``dout`` and return
    ``||dL/dz||`` at the input of every non-``Linear`` layer, first layer first."""
    if not isinstance(net, _layers.Sequential):
        raise ValueError(f"net: expected a dlcore.layers.Sequential, got {type(net).__name__}")
    out = net.forward(as_float_array(x, "x", ndim=2))
    d = as_float_array(dout, "dout")
    if d.shape != out.shape:
        raise ValueError(f"dout: expected the output's shape {out.shape}, got {d.shape}")
    norms = []
    for layer in reversed(net.layers):
        d = layer.backward(d)
        if not isinstance(layer, _layers.Linear):      # d is now dL/dz of that layer
            norms.append(_l2_norm(d))      # np.linalg.norm's value, without overflow
    return np.array(norms[::-1])


def weight_grad_norms(net):
    """``||dL/dW||`` of every ``Linear`` in ``net`` (after a backward pass), in order."""
    if not isinstance(net, _layers.Sequential):
        raise ValueError(f"net: expected a dlcore.layers.Sequential, got {type(net).__name__}")
    lins = [m for m in net.layers if isinstance(m, _layers.Linear)]
    if not lins or any("W" not in m.grads for m in lins):
        raise ValueError("net: every Linear needs a gradient: call backward first")
    return np.array([np.linalg.norm(m.grads["W"]) for m in lins])


def block_mlp(n_in, n_out, depth=2, width=64, block="bn_relu", rng=None, init=None):
    """``depth`` hidden blocks, then a ``Linear(width, n_out)`` head (logits).

    ``block``: ``"bn_relu"`` (Linear -> BatchNorm1d -> ReLU), ``"relu_bn"``
    (Linear -> ReLU -> BatchNorm1d) or ``"relu"`` (Linear -> ReLU, no normalization)."""
    from .normalization import BatchNorm1d            # normalization imports layers
    blocks = {"bn_relu": lambda w: [BatchNorm1d(w), _layers.ReLU()],
              "relu_bn": lambda w: [_layers.ReLU(), BatchNorm1d(w)],
              "relu": lambda w: [_layers.ReLU()]}
    if block not in blocks:
        raise ValueError(f"block: expected one of {sorted(blocks)}, got {block!r}")
    n_in, n_out = _positive_int(n_in, "n_in"), _positive_int(n_out, "n_out")
    depth, width = _positive_int(depth, "depth"), _positive_int(width, "width")
    g = _generator(rng)
    mods, d = [], n_in
    for _ in range(depth):
        mods.append(_layers.Linear(d, width, rng=g, init=init))
        mods += blocks[block](width)
        d = width
    return _layers.Sequential(*mods, _layers.Linear(d, n_out, rng=g, init=init))
