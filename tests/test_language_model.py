"""dlcore.language_model against PyTorch 2.13 (float64).

* ``TinyLM`` = the same model from ``torch.nn`` modules (``to_torch``: embeddings,
  ``nn.TransformerEncoderLayer`` blocks with a causal mask, final norm, head): logits and every
  parameter gradient of ``sequence_cross_entropy`` (= ``F.cross_entropy(ignore_index=-100)``),
  with and without position embeddings, pre-LN and post-LN; the three initializations;
* decoding with a ``KVCache`` equals the full causal forward pass (one chunk, then token by
  token), greedy generation with and without the cache gives the same tokens, the cache's
  size is 2 * layers * N * H * max_length * d_head * 8 bytes;
* ``reversal_task``, ``train_step`` learning it; bad inputs.

Tolerance: rtol 1e-10, atol 1e-12 (the observed differences are ~1e-15).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from dlcore import optim
from dlcore import language_model as T
from conftest import to_torch, to_numpy

RTOL, ATOL = 1e-10, 1e-12


def close(a, b):
    assert_allclose(a, b, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("positions", [True, False])
def test_tiny_lm_matches_torch(norm_first, positions, rng):
    model = T.TinyLM(7, 9, d_model=8, num_heads=2, num_layers=2, norm_first=norm_first,
                     positions=positions, init="xavier", rng=3)
    for p in model.params.values():
        p += 0.05 * rng.standard_normal(p.shape)
    tm = model.to_torch()
    x, y = T.reversal_task(3, 4, 6, rng=rng)
    logits_t = tm(torch.tensor(x))
    loss_t = torch.nn.functional.cross_entropy(logits_t.reshape(-1, 7),
                                               torch.tensor(y).reshape(-1), ignore_index=-100)
    loss_t.backward()
    logits = model.forward(x)
    loss, dlogits = T.sequence_cross_entropy(logits, y)
    assert model.backward(dlogits) is None
    close(logits, to_numpy(logits_t))
    assert abs(loss - loss_t.item()) < 1e-12
    grads_t = {k: to_numpy(p.grad) for k, p in tm.named_parameters()}
    assert set(grads_t) == set(model.grads) == set(model.params)
    assert ("pos_emb.weight" in model.params) == positions
    assert ("norm_f.weight" in model.params) == norm_first
    for k, g in grads_t.items():
        close(model.grads[k], g)


def test_sequence_cross_entropy_matches_torch(rng):
    z = 3 * rng.standard_normal((2, 5, 4))
    y = rng.integers(0, 4, (2, 5))
    y[0, :2] = -100
    zt = to_torch(z, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(zt.reshape(-1, 4), torch.tensor(y).reshape(-1))
    lt.backward()
    loss, grad = T.sequence_cross_entropy(z, y)
    assert abs(loss - lt.item()) < 1e-12
    close(grad, to_numpy(zt.grad))
    assert np.all(grad[0, :2] == 0)
    with pytest.raises(ValueError, match="every position equals ignore_index"):
        T.sequence_cross_entropy(z, np.full((2, 5), -100))
    with pytest.raises(ValueError, match=r"targets: expected values in \[0, 3\]"):
        T.sequence_cross_entropy(z, np.full((2, 5), 4))
    with pytest.raises(ValueError, match="targets: expected ints of shape"):
        T.sequence_cross_entropy(z, np.zeros((2, 5)))


def test_initializations():
    model = T.TinyLM(50, 16, d_model=64, num_heads=4, num_layers=8, init="gpt2", rng=0)
    p = model.params
    assert abs(p["blocks.0.linear1.weight"].std() - 0.02) < 0.001
    assert abs(p["tok_emb.weight"].std() - 0.02) < 0.002
    assert abs(p["blocks.3.linear2.weight"].std() - 0.02 / 4) < 0.0003      # 0.02/sqrt(2*8)
    assert abs(p["blocks.3.self_attn.out_proj.weight"].std() - 0.02 / 4) < 0.0005
    assert np.all(p["blocks.2.linear1.bias"] == 0) and np.all(p["norm_f.weight"] == 1)
    xav = T.TinyLM(50, 16, d_model=64, num_heads=4, num_layers=2, init="xavier", rng=0)
    w = xav.params["blocks.1.linear1.weight"]
    assert abs(w.max() - np.sqrt(6 / (64 + 256))) < 0.01 and np.all(xav.params[
        "blocks.1.linear1.bias"] == 0)
    tor = T.TinyLM(50, 16, d_model=64, num_heads=4, num_layers=2, init="torch", rng=0)
    assert abs(tor.params["tok_emb.weight"].std() - 1) < 0.05


@pytest.mark.parametrize("norm_first", [True, False])
def test_kv_cache_decoding_equals_full_forward(norm_first, rng):
    model = T.TinyLM(9, 12, d_model=8, num_heads=2, num_layers=3, norm_first=norm_first,
                     rng=4)
    tokens = rng.integers(0, 9, (2, 12))
    full = model.forward(tokens, train=False)
    cache = model.new_cache(2)
    assert cache.nbytes == 2 * 3 * 2 * 2 * 12 * 4 * 8
    parts = [model.forward_cached(tokens[:, :5], cache)]
    for t in range(5, 12):
        parts.append(model.forward_cached(tokens[:, t:t + 1], cache))
    assert cache.length == 12
    close(np.concatenate(parts, axis=1), full)
    with pytest.raises(ValueError, match="tokens: expected at most 0 positions"):
        model.forward_cached(tokens[:, :1], cache)
    prompt = tokens[:, :4]
    a, b = model.generate(prompt, 9), model.generate(prompt, 9, use_cache=False)
    assert a.shape == (2, 13) and np.array_equal(a, b) and np.array_equal(a[:, :4], prompt)


def test_reversal_task():
    x, y = T.reversal_task(4, 3, 5, rng=0)
    assert x.shape == y.shape == (4, 6)
    assert np.all(x[:, 3] == 5) and np.all(y[:, :3] == -100)
    assert np.array_equal(y[:, 3:], x[:, :3][:, ::-1])
    assert np.array_equal(x[:, 4:], x[:, :3][:, ::-1][:, :2])


def test_train_step_learns_the_reversal_task():
    model = T.TinyLM(7, 8, d_model=16, num_heads=2, num_layers=1, rng=0)
    opt = optim.Adam(lr=1e-2)
    g = np.random.default_rng(1)
    losses = [T.train_step(model, *T.reversal_task(32, 4, 6, rng=g), opt) for _ in range(60)]
    assert losses[0] > 1.5 and np.mean(losses[-5:]) < 0.3


def test_bad_inputs():
    with pytest.raises(ValueError, match="init: expected one of"):
        T.TinyLM(5, 4, init="he")
    with pytest.raises(ValueError, match="positions: expected a bool"):
        T.TinyLM(5, 4, positions="learned")
    model = T.TinyLM(5, 4, d_model=8, num_heads=2, num_layers=1, rng=0)
    with pytest.raises(ValueError, match=r"tokens: expected a non-empty \(N, T\) array of ints"):
        model.forward(np.array([[0, 5]]))
    with pytest.raises(ValueError, match="tokens: expected at most 4 positions"):
        model.forward(np.zeros((1, 5), dtype=int))
    with pytest.raises(ValueError, match="exceeds max_length 4"):
        model.generate(np.zeros((1, 2), dtype=int), 4)
    with pytest.raises(ValueError, match="tokens: expected 1 sequences"):
        model.forward_cached(np.zeros((2, 1), dtype=int), model.new_cache(1))
    with pytest.raises(ValueError, match="num_examples: expected a positive int"):
        T.reversal_task(0, 3, 5)
