"""Attention: scaled dot-product attention and its backward, masks, multi-head attention, and
positions (sinusoidal, RoPE, ALiBi).

The topic module the book imports (``dlcore.attention.scaled_dot_product_attention``). The code
and its derivation live in ``dlcore/layers/attention.py`` (the functions and
``MultiheadAttention``) and ``dlcore/positions.py`` (position encodings); this module only
re-exports them, so ``dlcore.attention.MultiheadAttention is dlcore.layers.MultiheadAttention``.

Boolean masks have opposite meanings in the two PyTorch APIs this module reproduces:
``scaled_dot_product_attention(..., attn_mask=m)`` attends where ``m`` is True (``causal_mask``
returns that convention); ``MultiheadAttention.forward(..., attn_mask=m, key_padding_mask=p)``
blocks where they are True (``key_padding_mask`` returns that convention).
"""
from __future__ import annotations

from .layers.attention import (scaled_dot_product_attention, scaled_dot_product_attention_backward,
                               attention_weights, causal_mask, key_padding_mask, split_heads,
                               merge_heads, MultiheadAttention)
from .positions import (sinusoidal_positions, rope_angles, rope_matrix, apply_rope, alibi_slopes,
                        alibi_bias)

__all__ = ["scaled_dot_product_attention", "scaled_dot_product_attention_backward",
           "attention_weights", "causal_mask", "key_padding_mask", "split_heads", "merge_heads",
           "MultiheadAttention", "sinusoidal_positions", "rope_angles", "rope_matrix",
           "apply_rope", "alibi_slopes", "alibi_bias"]
