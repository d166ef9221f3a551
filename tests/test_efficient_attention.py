"""dlcore.efficient_attention against PyTorch 2.13 (float64) and direct computations.

* ``online_softmax`` = ``torch.softmax`` for every block size, scores up to ±1e3 (no overflow:
  the conftest turns floating-point errors into exceptions);
* ``merge_softmax_states`` of two blocks = the state of their union, in any blocking (the
  merge is associative), with fully masked rows;
* ``blockwise_attention`` = ``F.scaled_dot_product_attention``: L < S, L > S, block sizes 1 to
  > S, causal (top-left aligned), leading batch and head axes that broadcast, a custom scale,
  and its log-sum-exp = ``torch.logsumexp`` of the scores;
* ``sliding_window_mask`` = the definition; ``linear_attention`` = its quadratic form
  (phi(Q) phi(K)^T, masked when causal, times V, row-normalized) computed in torch;
* bad inputs.

Tolerance: rtol 1e-10, atol 1e-12.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from numpy.testing import assert_allclose

from dlcore import efficient_attention as EA
from conftest import to_torch, to_numpy

RTOL, ATOL = 1e-10, 1e-12


def close(a, b):
    assert_allclose(a, b, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("block", [1, 3, 7, 50, 64])
def test_online_softmax_matches_torch(block, rng):
    x = rng.standard_normal((3, 4, 50)) * np.array([1.0, 30.0, 1000.0])[:, None, None]
    close(EA.online_softmax(x, block), to_numpy(torch.softmax(to_torch(x), dim=-1)))


def test_merge_is_exact_and_associative(rng):
    s = 5 * rng.standard_normal((2, 4, 12))
    s[:, :2, 8:] = -np.inf                                  # rows 0, 1 see no key of block 3
    v = rng.standard_normal((2, 12, 3))
    blocks = [(0, 3), (3, 8), (8, 12)]
    states = [EA.softmax_state(s[..., a:b], v[:, a:b]) for a, b in blocks]
    assert np.all(np.isneginf(states[2][0][:, :2])) and np.all(states[2][1][:, :2] == 0)
    left = EA.merge_softmax_states(*EA.merge_softmax_states(*states[0], *states[1]),
                                   *states[2])
    right = EA.merge_softmax_states(*states[0], *EA.merge_softmax_states(*states[1],
                                                                           *states[2]))
    whole = EA.softmax_state(s, v)
    for a, b, c in zip(left, right, whole):
        close(a, c)
        close(b, c)
    p = to_numpy(torch.softmax(to_torch(s), dim=-1))
    close(left[2] / left[1][..., None], p @ v)
    empty = EA.softmax_state(np.full((2, 3), -np.inf), v[0, :3])
    m, l, o = EA.merge_softmax_states(*empty, *empty)
    assert np.all(np.isneginf(m)) and np.all(l == 0) and np.all(o == 0)


CASES = {"L<S": ((2, 3, 5, 8), (2, 3, 19, 8), (2, 3, 19, 4)),
         "L>S": ((11, 6), (4, 6), (4, 3)),
         "L=S": ((2, 13, 8), (2, 13, 8), (2, 13, 8)),
         "broadcast": ((2, 1, 7, 4), (1, 3, 9, 4), (1, 3, 9, 2))}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("block", [1, 4, 64])
@pytest.mark.parametrize("is_causal", [False, True])
def test_blockwise_attention_matches_torch(name, block, is_causal, rng):
    q, k, v = (rng.standard_normal(s) for s in CASES[name])
    scale = 0.7 if name == "L>S" else None
    out, lse = EA.blockwise_attention(q, k, v, block_size=block, is_causal=is_causal,
                                      scale=scale, return_lse=True)
    lead = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    ts = [to_torch(np.broadcast_to(a, lead + a.shape[-2:]).copy()) for a in (q, k, v)]
    ref = TF.scaled_dot_product_attention(*ts, is_causal=is_causal, scale=scale)
    close(out, to_numpy(ref))
    sc = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    scores = sc * ts[0] @ ts[1].transpose(-1, -2)
    if is_causal:
        scores = scores.masked_fill(~torch.ones(scores.shape[-2:], dtype=torch.bool).tril(),
                                    float("-inf"))
    close(lse, to_numpy(torch.logsumexp(scores, dim=-1)))


def test_sliding_window_mask():
    m = EA.sliding_window_mask(6, 3)
    i, j = np.indices((6, 6))
    assert np.array_equal(m, (j <= i) & (i - j < 3))
    assert np.array_equal(EA.sliding_window_mask(6, 2, causal=False), np.abs(i - j) < 2)
    assert np.array_equal(EA.sliding_window_mask(4, 10), np.tril(np.ones((4, 4), bool)))


@pytest.mark.parametrize("is_causal", [False, True])
def test_linear_attention_matches_its_quadratic_form(is_causal, rng):
    q, k = rng.standard_normal((2, 3, 7, 4)), rng.standard_normal((2, 3, 7, 4))
    v = rng.standard_normal((2, 3, 7, 5))
    fq, fk = (TF.elu(to_torch(a)) + 1 for a in (q, k))
    A = fq @ fk.transpose(-1, -2)
    if is_causal:
        A = A.tril()
    ref = (A @ to_torch(v)) / A.sum(-1, keepdim=True)
    close(EA.linear_attention(q, k, v, is_causal=is_causal), to_numpy(ref))


def test_bad_inputs(rng):
    q = rng.standard_normal((4, 3))
    with pytest.raises(ValueError, match="block_size: expected a positive int"):
        EA.online_softmax(q, 0)
    with pytest.raises(ValueError, match="block_size: expected a positive int"):
        EA.blockwise_attention(q, q, q, block_size=2.0)
    with pytest.raises(ValueError, match="query, key, value: expected non-empty"):
        EA.blockwise_attention(q, rng.standard_normal((4, 2)), q)
    with pytest.raises(ValueError, match="is_causal: expected a bool"):
        EA.blockwise_attention(q, q, q, is_causal=1)
    with pytest.raises(ValueError, match="scale: expected a finite number > 0"):
        EA.blockwise_attention(q, q, q, scale=0.0)
    with pytest.raises(ValueError, match="scores: expected finite values or -inf"):
        EA.softmax_state(np.array([[np.nan, 1.0]]), np.ones((2, 1)))
    with pytest.raises(ValueError, match="values: expected 2 rows"):
        EA.softmax_state(np.ones((1, 2)), np.ones((3, 1)))
    m, l, o = EA.softmax_state(np.ones((3, 2)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="expected m and l of one shape"):
        EA.merge_softmax_states(m, l, o, m[:2], l[:2], o[:2])
    with pytest.raises(ValueError, match="m2: expected finite values or -inf"):
        EA.merge_softmax_states(m, l, o, m + np.inf, l, o)
    with pytest.raises(ValueError, match="window: expected a positive int"):
        EA.sliding_window_mask(4, 0)
    with pytest.raises(ValueError, match="is_causal=True expects L == S"):
        EA.linear_attention(q, q[:2], q[:2], is_causal=True)
