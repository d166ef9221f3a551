"""dlcore.transformer against PyTorch 2.13 (float64) (the language model: test_language_model.py).

* ``TransformerBlock`` = ``torch.nn.TransformerEncoderLayer(dropout=0, batch_first=True)`` loaded
  with the same state_dict: output, dx and every parameter gradient, pre-LN and post-LN,
  LayerNorm and RMSNorm (torch's norms replaced by ``nn.RMSNorm``), relu / gelu / tanh-gelu, no
  mask, a causal mask, a key-padding mask;
* the KV cache: its validation and size, ``kv_cache_bytes`` for a named model;
* ``block_parameter_count`` = the number of parameters of torch's layer; ``kv_cache_bytes``;
* bad inputs.

Tolerance: rtol 1e-10, atol 1e-12 (a block is a few matrix products, two norms and a softmax;
the observed differences are ~1e-15).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from dlcore import transformer as T
from conftest import to_torch, to_numpy

RTOL, ATOL = 1e-10, 1e-12


def close(a, b):
    assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def torch_block_run(blk, x, dout, **masks):
    layer = blk.to_torch()
    xt = to_torch(x, requires_grad=True)
    kw = {}
    if masks.get("is_causal"):
        L = x.shape[1]
        kw = {"src_mask": torch.nn.Transformer.generate_square_subsequent_mask(
            L, dtype=torch.float64), "is_causal": True}
    if masks.get("key_padding_mask") is not None:
        kw["src_key_padding_mask"] = torch.tensor(masks["key_padding_mask"])
    out = layer(xt, **kw)
    out.backward(to_torch(dout))
    return to_numpy(out), to_numpy(xt.grad), {k: to_numpy(p.grad)
                                             for k, p in layer.named_parameters()}


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("norm", ["layer", "rms"])
@pytest.mark.parametrize("activation", ["relu", "gelu", "gelu_tanh"])
@pytest.mark.parametrize("mask", ["none", "causal", "padding"])
def test_block_matches_torch_encoder_layer(norm_first, norm, activation, mask, rng):
    blk = T.TransformerBlock(12, 3, d_ff=20, norm_first=norm_first, norm=norm,
                             activation=activation, rng=rng)
    for p in blk.params.values():                    # non-trivial norm weights and biases
        p += 0.1 * rng.standard_normal(p.shape)
    x, dout = rng.standard_normal((2, 5, 12)), rng.standard_normal((2, 5, 12))
    masks = {"none": {}, "causal": {"is_causal": True},
             "padding": {"key_padding_mask": np.array([[False] * 5, [False] * 3 + [True] * 2])}
             }[mask]
    out_t, dx_t, grads_t = torch_block_run(blk, x, dout, **masks)
    out = blk.forward(x, **masks)
    dx = blk.backward(dout)
    close(out, out_t)
    close(dx, dx_t)
    assert set(blk.grads) == set(grads_t) == set(blk.params)
    for k, g in grads_t.items():
        close(blk.grads[k], g)


def test_block_parameters_and_state_dict(rng):
    blk = T.TransformerBlock(16, 4, rng=0)
    layer = torch.nn.TransformerEncoderLayer(16, 4, 64, dropout=0.0, batch_first=True,
                                             norm_first=True, dtype=torch.float64)
    shapes = {k: tuple(v.shape) for k, v in layer.state_dict().items()}
    assert {k: v.shape for k, v in blk.params.items()} == shapes
    assert blk.num_parameters() == sum(p.numel() for p in layer.parameters()) \
        == T.block_parameter_count(16) == 12 * 16**2 + 13 * 16
    assert T.block_parameter_count(16, norm="rms") == 12 * 16**2 + 11 * 16
    assert T.block_parameter_count(16, d_ff=40) == 4 * 256 + 4 * 16 + 2 * 16 * 40 + 40 + 16 \
        + 4 * 16
    blk.load_state_dict({k: to_numpy(v) for k, v in layer.state_dict().items()})
    x = rng.standard_normal((2, 3, 16))
    close(blk.forward(x), to_numpy(layer(to_torch(x))))
    before = {k: v.copy() for k, v in blk.params.items()}
    with pytest.raises(ValueError, match="missing"):
        blk.load_state_dict({"linear1.weight": np.zeros((64, 16))})
    bad = {k: v.copy() for k, v in before.items()}
    bad["linear2.bias"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"state\['linear2.bias'\]: expected shape \(16,\)"):
        blk.load_state_dict(bad)
    assert all(np.array_equal(blk.params[k], v) for k, v in before.items())   # unchanged


def test_block_records_residual_branches(rng):
    blk = T.TransformerBlock(8, 2, rng=1)
    x = rng.standard_normal((1, 4, 8))
    out = blk.forward(x, is_causal=True)
    close(out, x + blk.cache["attn_out"] + blk.cache["ffn_out"])          # pre-LN stream
    assert blk.self_attn.cache["weights"].shape == (1, 2, 4, 4)


def test_kv_cache_bytes_and_validation():
    # Llama 2 7B: 32 layers, 32 heads of 128, fp16: 0.5 MiB per token
    assert T.kv_cache_bytes(32, 32, 128, 1) == 2**19
    assert T.kv_cache_bytes(32, 32, 128, 4096, batch_size=2) == 2 * 4096 * 2**19
    with pytest.raises(ValueError, match="tokens: expected a positive int"):
        T.kv_cache_bytes(32, 32, 128, 0)
    c = T.KVCache(2, 1, 2, 4, 3)
    with pytest.raises(ValueError, match=r"k, v: expected shape \(1, 2, T, 4\)"):
        c.update(0, np.zeros((1, 2, 1, 3)), np.zeros((1, 2, 1, 3)))
    with pytest.raises(ValueError, match=r"layer: expected an int in \[0, 1\]"):
        c.update(2, np.zeros((1, 2, 1, 4)), np.zeros((1, 2, 1, 4)))
    with pytest.raises(ValueError, match="exceed the cache's max_length 3"):
        c.update(0, np.zeros((1, 2, 4, 4)), np.zeros((1, 2, 4, 4)))
    k, v = c.update(1, np.ones((1, 2, 2, 4)), 2 * np.ones((1, 2, 2, 4)))
    assert k.shape == (1, 2, 2, 4) and c.length == 0
    c.advance(2)
    with pytest.raises(ValueError, match="steps: expected at most 1"):
        c.advance(2)


def test_bad_inputs():
    with pytest.raises(ValueError, match="norm: expected one of"):
        T.TransformerBlock(8, 2, norm="batch")
    with pytest.raises(ValueError, match="activation: expected one of"):
        T.TransformerBlock(8, 2, activation="tanh")
    with pytest.raises(ValueError, match="num_heads: expected a divisor"):
        T.TransformerBlock(8, 3)
    with pytest.raises(ValueError, match="norm_first: expected a bool"):
        T.TransformerBlock(8, 2, norm_first=1)
    blk = T.TransformerBlock(8, 2, rng=0)
    with pytest.raises(ValueError, match=r"x: expected shape \(N, L, 8\)"):
        blk.forward(np.zeros((1, 3, 4)))
    with pytest.raises(ValueError, match="call forward first"):
        blk.backward(np.zeros((1, 3, 8)))
    blk.forward(np.zeros((1, 3, 8)))
    with pytest.raises(ValueError, match=r"dout: expected shape \(1, 3, 8\)"):
        blk.backward(np.zeros((1, 3, 4)))
    with pytest.raises(ValueError, match="cache: expected a KVCache"):
        blk.forward_step(np.zeros((1, 1, 8)), None, 0)
