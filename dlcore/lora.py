"""LoRA (low-rank adaptation): the layer and the parameter arithmetic.

``LoRALinear`` (the code is in ``dlcore.layers.lora``, re-exported here) adds a trainable
rank-``r`` update ``(alpha / r) * B @ A`` to a frozen linear layer. ``lora_parameter_count``
counts what LoRA trains for a weight of a given shape, and ``full_parameter_count`` what full
fine-tuning trains for it, for the parameter arithmetic of named model sizes.
"""
from __future__ import annotations

from ._validate import check_bool, check_int
from .layers.lora import LoRALinear

__all__ = ["LoRALinear", "lora_parameter_count", "full_parameter_count"]


def lora_parameter_count(in_features, out_features, r) -> int:
    """Trainable parameters of a rank-r adapter on an (in, out) weight: r * (in + out)."""
    i = check_int(in_features, "in_features", min_value=1)
    o = check_int(out_features, "out_features", min_value=1)
    return check_int(r, "r", min_value=1) * (i + o)


def full_parameter_count(in_features, out_features, bias=False) -> int:
    """Parameters of the (in, out) weight itself (plus out for a bias): what full
    fine-tuning trains in that layer."""
    i = check_int(in_features, "in_features", min_value=1)
    o = check_int(out_features, "out_features", min_value=1)
    return i * o + (o if check_bool(bias, "bias") else 0)
