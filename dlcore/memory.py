"""Memory arithmetic of training and inference, and activation checkpointing measured on
dlcore layers.

Model state (bytes per parameter; the ZeRO paper's notation, Psi parameters):

* ``model_state_bytes(n_params, ...)``: weights, gradients, an fp32 master copy and the
  optimizer's states. Mixed-precision Adam: 2 (bf16/fp16 weights) + 2 (gradients) + 4 (fp32
  master weights) + 4 + 4 (the two moments) = 16 bytes per parameter; plain fp32 Adam is
  4 + 4 + 8 = 16 as well.
* ``inference_bytes(n_params, bytes_per_param)``: the weights alone (2 for bf16, 1 for int8,
  0.5 for int4).
* ``zero_bytes_per_device(n_params, n_devices, stage)``: ZeRO's partitioning of that state over
  ``n_devices`` data-parallel devices (stage 0: nothing partitioned; 1: optimizer states;
  2: + gradients; 3: + parameters), and ``zero_communication(n_params, stage)`` the elements
  each device sends and receives per step (2 Psi for stages 0-2, 3 Psi for stage 3).
* ``nbytes(objects)``: the total ``.nbytes`` of arrays or tensors (each object counted once),
  to check the formulas on real tensors.

Activation memory:

* ``held_bytes(layers, extra=())``: the bytes of the distinct arrays that dlcore layers keep in
  their ``cache`` for the backward pass (plus ``extra`` arrays);
* ``checkpointed_backward(layers, x, dout, segments)``: forward and backward through a list of
  dlcore layers (or a ``Sequential``) with activation checkpointing in ``segments`` segments,
  split as ``torch.utils.checkpoint.checkpoint_sequential`` does (the first ``segments - 1``
  segments have ``len // segments`` layers and are checkpointed, the last keeps its
  activations). Gradients end up in each layer's ``grads``; the function returns ``dx`` and a
  dict of measurements: ``peak_bytes`` (the most bytes held at once, measured after every
  layer's forward, recomputations included), ``held_after_forward`` and ``forward_calls``.
  ``segments=None`` runs without checkpointing. A layer's cache is dropped after its backward,
  as autograd frees saved tensors.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_int, check_positive

__all__ = ["BYTES_PER_ELEMENT", "nbytes", "model_state_bytes", "inference_bytes",
           "zero_bytes_per_device", "zero_communication", "held_bytes", "checkpointed_backward"]

BYTES_PER_ELEMENT = {"fp64": 8, "fp32": 4, "fp16": 2, "bf16": 2, "int8": 1, "int4": 0.5}


def nbytes(objects) -> int:
    """Total ``.nbytes`` of the arrays (or torch tensors) in ``objects``: one array, or a
    list, tuple or dict of them (nested containers allowed). An object that appears twice is
    counted once."""
    seen, total = set(), 0

    def walk(o, where):
        nonlocal total
        if isinstance(o, dict):
            for k, v in o.items():
                walk(v, f"{where}[{k!r}]")
        elif isinstance(o, (list, tuple)):
            for i, v in enumerate(o):
                walk(v, f"{where}[{i}]")
        elif hasattr(o, "nbytes") and not isinstance(o, (str, bytes)):
            if id(o) not in seen:
                seen.add(id(o))
                total += int(o.nbytes)
        else:
            raise ValueError(f"{where}: expected an array or tensor (an object with .nbytes), "
                             f"got {type(o).__name__}")

    walk(objects, "objects")
    return total


def _bytes_arg(value, name):
    return check_positive(value, name, allow_zero=True)


def model_state_bytes(n_params, *, param_bytes=2, grad_bytes=2, master_bytes=4,
                      optimizer_states=2, state_bytes=4) -> dict:
    """Bytes of the model state for training ``n_params`` parameters.

    Defaults: mixed precision with Adam (bf16 weights and gradients, an fp32 master copy, two
    fp32 moments). Plain fp32 Adam is ``param_bytes=4, grad_bytes=4, master_bytes=0``; SGD
    with momentum has ``optimizer_states=1``. Returns a dict with ``weights``, ``gradients``,
    ``master``, ``optimizer``, ``total`` (bytes) and ``per_param`` (total / n_params)."""
    n = check_positive(n_params, "n_params")
    parts = {"weights": _bytes_arg(param_bytes, "param_bytes") * n,
             "gradients": _bytes_arg(grad_bytes, "grad_bytes") * n,
             "master": _bytes_arg(master_bytes, "master_bytes") * n,
             "optimizer": check_int(optimizer_states, "optimizer_states", min_value=0)
             * _bytes_arg(state_bytes, "state_bytes") * n}
    parts["total"] = sum(parts.values())
    parts["per_param"] = parts["total"] / n
    return parts


def inference_bytes(n_params, bytes_per_param=2) -> float:
    """Bytes of the weights alone: ``n_params * bytes_per_param`` (no KV cache, no
    activations)."""
    return check_positive(n_params, "n_params") * check_positive(bytes_per_param, "bytes_per_param")


def _stage(stage):
    s = check_int(stage, "stage", min_value=0)
    if s > 3:
        raise ValueError(f"stage: expected 0, 1, 2 or 3, got {s}")
    return s


def zero_bytes_per_device(n_params, n_devices, stage, *, param_bytes=2, grad_bytes=2,
                          k=12) -> float:
    """Model-state bytes on each of ``n_devices`` data-parallel devices under ZeRO ``stage``
    (Rajbhandari et al., 2020): ``k`` bytes per parameter of optimizer state (12 for
    mixed-precision Adam: fp32 master, momentum, variance).

    stage 0: ``(param + grad + k) Psi``; stage 1: ``(param + grad) Psi + k Psi / N``;
    stage 2: ``param Psi + (grad + k) Psi / N``; stage 3: ``(param + grad + k) Psi / N``."""
    psi = check_positive(n_params, "n_params")
    nd = check_int(n_devices, "n_devices", min_value=1)
    s = _stage(stage)
    p, g = _bytes_arg(param_bytes, "param_bytes"), _bytes_arg(grad_bytes, "grad_bytes")
    k = _bytes_arg(k, "k")
    return psi * ((p if s < 3 else p / nd) + (g if s < 2 else g / nd) + (k if s < 1 else k / nd))


def zero_communication(n_params, stage) -> float:
    """Elements each device sends (and receives) per training step under ZeRO ``stage``, with
    the ring collectives' large-N volume: ``2 Psi`` for stages 0-2 (a reduce-scatter and an
    all-gather of Psi elements each: stage 0 is plain data parallelism's all-reduce), ``3 Psi``
    for stage 3 (parameters are all-gathered in the forward and again in the backward pass)."""
    psi = check_positive(n_params, "n_params")
    return (3.0 if _stage(stage) == 3 else 2.0) * psi


def _layer_list(layers):
    layers = getattr(layers, "layers", layers)
    if not isinstance(layers, (list, tuple)) or not layers:
        raise ValueError(f"layers: expected a non-empty list of dlcore layers or a Sequential, "
                         f"got {type(layers).__name__}")
    for i, layer in enumerate(layers):
        if not (hasattr(layer, "forward") and hasattr(layer, "backward") and hasattr(layer, "cache")):
            raise ValueError(f"layers[{i}]: expected a dlcore layer (forward, backward, cache), "
                             f"got {type(layer).__name__}")
    return list(layers)


def held_bytes(layers, extra=()) -> int:
    """Bytes of the distinct arrays held in the layers' caches and in ``extra`` (arrays that
    share memory with an earlier one, such as views, are counted once)."""
    arrays = [v for layer in _layer_list(layers) for v in layer.cache.values()
              if isinstance(v, np.ndarray)]
    if not isinstance(extra, (list, tuple)):
        raise ValueError(f"extra: expected a list or tuple of arrays, got {type(extra).__name__}")
    arrays += [as_float_array(a, "extra", allow_nonfinite=True) if not isinstance(a, np.ndarray)
               else a for a in extra]
    bases, total = [], 0
    for a in arrays:
        base = a
        while isinstance(base.base, np.ndarray):
            base = base.base
        if any(base is b for b in bases):
            continue
        bases.append(base)
        total += base.nbytes
    return total


def _segments(n_layers, segments):
    """Index ranges of torch's checkpoint_sequential: segments - 1 pieces of n // segments
    layers, the last piece gets the rest."""
    size = n_layers // segments
    bounds = [(i * size, (i + 1) * size) for i in range(segments - 1)]
    return bounds + [((segments - 1) * size, n_layers)]


def checkpointed_backward(layers, x, dout, segments=None):
    """Forward ``x`` through ``layers``, then backward ``dout`` (= dL/d output), with
    activation checkpointing in ``segments`` segments (None: no checkpointing).

    Returns ``(dx, stats)``; each layer's ``grads`` hold its parameter gradients, which are
    the same with and without checkpointing (the recomputed forward is the same computation).
    ``stats``: ``peak_bytes``, ``held_after_forward`` (bytes) and ``forward_calls`` (layer
    forward calls, recomputation included)."""
    layers = _layer_list(layers)
    n = len(layers)
    x = as_float_array(x, "x")
    if segments is not None:
        segments = check_int(segments, "segments", min_value=1)
        if segments > n:
            raise ValueError(f"segments: expected at most {n} (the number of layers), got {segments}")
    bounds = [(0, n)] if segments is None else _segments(n, segments)
    checkpointed = set() if segments is None else set(range(len(bounds) - 1))
    stats = {"peak_bytes": 0, "forward_calls": 0}
    stored = {}                                   # segment index -> its input (checkpoints)

    def note():
        stats["peak_bytes"] = max(stats["peak_bytes"], held_bytes(layers, list(stored.values())))

    def run_forward(j, h):
        lo, hi = bounds[j]
        for layer in layers[lo:hi]:
            h = layer.forward(h)
            stats["forward_calls"] += 1
            note()
        return h

    for layer in layers:
        layer.cache = {}
    h = x
    for j in range(len(bounds)):
        if j in checkpointed:
            stored[j] = h
            out = run_forward(j, h)
            for layer in layers[bounds[j][0]:bounds[j][1]]:
                layer.cache = {}                  # drop the segment's activations
            h = out
        else:
            h = run_forward(j, h)
    if np.shape(dout) != h.shape:
        raise ValueError(f"dout: expected shape {h.shape} (the output's shape), got shape {np.shape(dout)}")
    stats["held_after_forward"] = held_bytes(layers, list(stored.values()))
    d = as_float_array(dout, "dout")
    for j in reversed(range(len(bounds))):
        lo, hi = bounds[j]
        if j in checkpointed:
            run_forward(j, stored[j])             # recompute the segment's activations
        for layer in reversed(layers[lo:hi]):
            d = layer.backward(d)
            layer.cache = {}                      # autograd frees saved tensors after use
        stored.pop(j, None)
    return d, stats
