"""Per-epoch training curves for the regularization chapter's experiments.

The chapter trains the same small MLP on 150 digits under many regularizers and compares the
curves. ``digits_split`` draws that split; ``train_curves`` trains full-batch, one epoch at a
time, so that it can transform the inputs every epoch (augmentation, input noise) and record
what the chapter plots::

    from dlcore.curves import digits_split, train_curves

    rng = dlcore.seed(0)
    X_tr, y_tr, X_va, y_va = digits_split(rng)
    model = training.mlp([64, 128, 10], rng=1)
    hist = train_curves(model, X_tr, y_tr, optim.Adam(lr=0.01), X_va, y_va, epochs=150)
    hist["val_loss"]                          # (150,) validation cross-entropy after each epoch

Without a transform, ``hist["loss"]`` and ``hist["val_loss"]`` are exactly those of
``training.fit(model, X, y, optimizer, epochs=epochs, X_val=X_va, y_val=y_va)``.
"""
from __future__ import annotations

import numpy as np

from . import data as _data
from . import training as _training
from .losses import softmax_cross_entropy
from ._validate import as_generator, check_callable, check_int

__all__ = ["digits_split", "train_curves"]


def digits_split(rng, n_train=150):
    """The digits (pixels in [0, 1]) in the order ``rng.permutation(1797)``: the first
    ``n_train`` examples for training, the rest for validation. ``rng`` is a seed or a
    Generator (a Generator is advanced by the permutation). Returns
    ``(X_tr, y_tr, X_va, y_va)``."""
    X, y = _data.digits()
    gen = as_generator(rng)
    n_train = check_int(n_train, "n_train", min_value=1)
    if n_train >= len(y):
        raise ValueError(f"n_train: expected an int in [1, {len(y) - 1}], got {n_train!r}")
    perm = gen.permutation(len(y))
    tr, va = perm[:n_train], perm[n_train:]
    return X[tr], y[tr], X[va], y[va]


def train_curves(model, X, y, optimizer, X_val, y_val, epochs=150, transform=None, rng=None,
                 val_groups=(), every=1):
    """Train ``model`` full-batch on softmax cross-entropy for ``epochs`` epochs and return a
    dict of float64 arrays, one entry per epoch:

    * ``loss``: training loss (on the transformed inputs of that epoch, before the step);
    * ``val_loss``, ``val_acc``: validation cross-entropy and accuracy after the epoch;
    * ``val_group_loss``: shape (epochs, len(val_groups)), the validation loss on each index
      set (slice or array) of ``val_groups``;
    * ``w_norm``: the Frobenius norm of all weight matrices (parameters whose key ends in
      ``W``) after the epoch.

    With ``every=k`` the validation quantities and ``w_norm`` are recorded after epochs
    k, 2k, ... only (``epochs // k`` entries; cheaper), ``loss`` still after every epoch.

    ``transform(X, gen)`` returns the inputs for one epoch (``gen`` is the Generator made from
    ``rng``), e.g. a random shift or added noise."""
    epochs = check_int(epochs, "epochs", min_value=1)
    if transform is not None:
        check_callable(transform, "transform")
    every = check_int(every, "every", min_value=1)
    if not isinstance(val_groups, (list, tuple)) or not all(
            isinstance(g, slice) or (isinstance(g, np.ndarray) and (g.dtype == bool or
                                                                    np.issubdtype(g.dtype, np.integer)))
            for g in val_groups):
        raise ValueError(f"val_groups: expected a list of slices or index arrays, got {val_groups!r}")
    gen = as_generator(rng)
    hist = {"loss": [], "val_loss": [], "val_acc": [], "val_group_loss": [], "w_norm": []}
    for epoch in range(int(epochs)):
        Xe = X if transform is None else transform(X, gen)
        hist["loss"] += _training.fit(model, Xe, y, optimizer, epochs=1)["loss"]
        if (epoch + 1) % every:
            continue
        out = model.forward(X_val, train=False)
        hist["val_loss"].append(softmax_cross_entropy(out, y_val)[0])
        hist["val_acc"].append(np.mean(out.argmax(axis=1) == y_val))
        hist["val_group_loss"].append([softmax_cross_entropy(out[g], y_val[g])[0]
                                       for g in val_groups])
        hist["w_norm"].append(np.sqrt(sum(np.sum(v ** 2) for k, v in model.params.items()
                                          if k.endswith("W"))))
    out = {k: np.asarray(v, dtype=np.float64) for k, v in hist.items()}
    out["val_group_loss"] = out["val_group_loss"].reshape(int(epochs) // every, len(val_groups))
    return out
