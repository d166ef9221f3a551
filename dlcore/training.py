"""A small training loop shared by the chapters, so that no notebook re-implements one.

``mlp`` builds a ``Sequential`` multi-layer perceptron; ``fit`` trains any dlcore model with
any dlcore optimizer on a loss from ``dlcore.losses`` by mini-batch gradient descent and
returns the loss curve (and, when validation data are given, the validation curve).

Each step is the textbook one: forward, loss and its gradient, backward, optimizer step::

    out = model.forward(xb, train=True)
    loss, dout = loss_fn(out, yb)
    model.backward(dout, need_input_grad=False)
    optimizer.step(model.params, model.grads)
"""
from __future__ import annotations

import numpy as np

from . import data as _data
from . import layers as _layers
from . import losses as _losses
from ._validate import (as_class_indices, as_float_array, as_generator, check_choice, check_int,
                        check_model)

__all__ = ["mlp", "fit", "evaluate", "accuracy"]

_ACTIVATIONS = {
    "relu": _layers.ReLU,
    "tanh": _layers.Tanh,
    "sigmoid": _layers.Sigmoid,
    "leaky_relu": _layers.LeakyReLU,
    "elu": _layers.ELU,
    "gelu": _layers.GELU,
    "silu": _layers.SiLU,
}
_LOSSES = {
    "cross_entropy": _losses.softmax_cross_entropy,
    "mse": _losses.mse,
    "bce_with_logits": _losses.bce_with_logits,
}


def mlp(sizes, activation="relu", rng=None, **linear_kwargs):
    """``Sequential(Linear(s0, s1), act, Linear(s1, s2), act, ..., Linear(s_{k-1}, s_k))``.

    ``sizes`` lists the layer widths, input first, output last (no activation after the last
    layer: it outputs logits or regression values). ``linear_kwargs`` go to every ``Linear``.
    """
    if not isinstance(sizes, (list, tuple, np.ndarray)) or len(sizes) < 2:
        raise ValueError(f"sizes: expected a list of at least two positive ints, got {sizes!r}")
    sizes = [check_int(s, f"sizes[{i}]", min_value=1) for i, s in enumerate(sizes)]
    check_choice(activation, "activation", sorted(_ACTIVATIONS))
    gen = as_generator(rng)
    mods = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        mods.append(_layers.Linear(a, b, rng=gen, **linear_kwargs))
        if i < len(sizes) - 2:
            mods.append(_ACTIVATIONS[activation]())
    return _layers.Sequential(*mods)


def _loss_fn(loss):
    if callable(loss):
        return loss
    if not isinstance(loss, str) or loss not in _LOSSES:
        raise ValueError(f"loss: expected a callable or one of {sorted(_LOSSES)}, got {loss!r}")
    return _LOSSES[loss]


def evaluate(model, X, y, loss="cross_entropy"):
    """Loss of ``model`` on ``(X, y)`` in inference mode (``train=False``)."""
    check_model(model)
    loss_fn = _loss_fn(loss)
    value, _ = loss_fn(model.forward(as_float_array(X, "X"), train=False), y)
    return float(value)


def accuracy(model, X, y):
    """Fraction of rows whose arg-max output equals the integer label (one output: its sign,
    labels 0 and 1). Labels are checked as ``softmax_cross_entropy`` checks them: integers
    (or whole floats) in [0, C) for C outputs."""
    check_model(model)
    out = model.forward(as_float_array(X, "X"), train=False)
    if out.ndim != 2 or out.shape[1] < 1:
        raise ValueError(f"model: expected outputs of shape (N, C), got shape {np.shape(out)}")
    y = as_class_indices(y, "y", out.shape[0], max(out.shape[1], 2))
    pred = out.argmax(axis=1) if out.shape[1] > 1 else (out[:, 0] > 0).astype(int)
    return float(np.mean(pred == y))


def fit(model, X, y, optimizer, loss="cross_entropy", epochs=100, batch_size=None, rng=None,
        X_val=None, y_val=None):
    """Train ``model`` in place and return ``{"loss": [...], "val_loss": [...]}``.

    ``loss`` is a name (``"cross_entropy"`` on integer labels, ``"mse"``, ``"bce_with_logits"``)
    or a callable ``(output, target) -> (loss, dloss/doutput)``. ``batch_size=None`` is
    full-batch gradient descent; otherwise every epoch visits a fresh permutation of the
    examples in batches of ``batch_size`` (the last one shorter when it does not divide N),
    drawn by ``dlcore.data.minibatches``.
    ``history["loss"][e]`` is the mean training-batch loss during epoch ``e`` (before each
    step), ``history["val_loss"][e]`` the validation loss after epoch ``e``.
    """
    check_model(model)
    if not callable(getattr(optimizer, "step", None)):
        raise ValueError(f"optimizer: expected a dlcore optimizer (with step(params, grads)), "
                         f"got {type(optimizer).__name__}")
    X = as_float_array(X, "X")
    y = np.asarray(y)
    if X.ndim != 2 or y.shape[:1] != X.shape[:1]:
        raise ValueError(f"X, y: expected X of shape (N, D) and y with N rows, got {X.shape} and {y.shape}")
    epochs = check_int(epochs, "epochs", min_value=1)
    n = X.shape[0]
    batch_size = n if batch_size is None else check_int(batch_size, "batch_size", min_value=1)
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val, y_val: expected both or neither")
    loss_fn = _loss_fn(loss)
    gen = as_generator(rng)
    history = {"loss": [], "val_loss": []}
    for _ in range(epochs):
        total, count = 0.0, 0
        for xb, yb in _data.minibatches(X, y, batch_size, shuffle=batch_size < n, rng=gen):
            out = model.forward(xb, train=True)
            value, dout = loss_fn(out, yb)
            model.backward(dout, need_input_grad=False)
            optimizer.step(model.params, model.grads)
            total += float(value) * len(xb)
            count += len(xb)
        history["loss"].append(total / count)
        if X_val is not None:
            history["val_loss"].append(evaluate(model, X_val, y_val, loss_fn))
    return history
