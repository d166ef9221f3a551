"""dlcore.attention and dlcore.positions against PyTorch 2.13 (float64), and RMSNorm.

* ``scaled_dot_product_attention`` and its backward against
  ``torch.nn.functional.scaled_dot_product_attention`` + autograd: no mask, boolean, float and
  -inf masks, broadcast masks, ``is_causal`` with L < S and L > S, L != S, Ev != E, 2-D inputs,
  leading batch and head axes (also broadcast), a custom scale, grouped-query attention, and
  scores of ±1e4 (no overflow: the conftest turns floating-point errors into exceptions);
* the all-masked row: dlcore raises, torch 2.13 returns zeros (asserted, so that a change of
  torch's behaviour is noticed);
* ``MultiheadAttention`` loading torch's state_dict: output, dx and every parameter gradient
  for each mask kind and their combinations, bias=False, one head and E heads;
* positions: the sinusoidal formula and its relative-offset rotation, RoPE against a
  complex-number torch implementation (forward and autograd backward) and the relative-position
  identity <R_m q, R_n k> = q^T R_(n-m) k, ALiBi's slopes;
* ``RMSNorm`` against ``torch.nn.RMSNorm(..., eps=1e-6)``;
* bad inputs.

Tolerance: rtol 1e-10, atol 1e-12 (a few matrix products and one softmax: the observed
differences are ~1e-15).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from numpy.testing import assert_allclose

from dlcore import attention as A
from dlcore import layers as L
from dlcore import normalization as N
from dlcore import positions as P
from dlcore.gradcheck import numerical_gradient
from conftest import to_torch, to_numpy

RTOL, ATOL = 1e-10, 1e-12


def close(a, b):
    assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def torch_sdpa(q, k, v, dout, **kw):
    """Output and (dq, dk, dv) of torch's SDPA by autograd; masks passed as numpy arrays."""
    ts = [to_torch(a, requires_grad=True) for a in (q, k, v)]
    if kw.get("attn_mask") is not None:
        m = kw["attn_mask"]
        kw["attn_mask"] = torch.tensor(m) if m.dtype == bool else to_torch(m)
    out = TF.scaled_dot_product_attention(*ts, **kw)
    out.backward(to_torch(dout))
    return to_numpy(out), tuple(to_numpy(t.grad) for t in ts)


def compare(q, k, v, rng, **kw):
    lead = np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) if not kw.get("enable_gqa") \
        else q.shape[:-2]
    dout = rng.standard_normal(lead + (q.shape[-2], v.shape[-1]))
    out_t, grads_t = torch_sdpa(q, k, v, dout, **kw)
    out = A.scaled_dot_product_attention(q, k, v, **kw)
    grads = A.scaled_dot_product_attention_backward(dout, q, k, v, **kw)
    close(out, out_t)
    for g, gt, x in zip(grads, grads_t, (q, k, v)):
        assert g.shape == x.shape
        close(g, gt)
    # the training path: the forward returns P, the backward reuses it (same results, same bits)
    out2, p = A.scaled_dot_product_attention(q, k, v, return_weights=True, **kw)
    np.testing.assert_array_equal(out2, out)
    np.testing.assert_array_equal(p, A.attention_weights(q, k, **kw))
    grads2 = A.scaled_dot_product_attention_backward(dout, q, k, v, weights=p, **kw)
    for g2, g in zip(grads2, grads):
        np.testing.assert_array_equal(g2, g)


SHAPES = {   # name: (query, key, value) shapes
    "2d": ((4, 5), (4, 5), (4, 5)),
    "L<S, Ev!=E": ((3, 5), (7, 5), (7, 2)),
    "L>S": ((6, 4), (2, 4), (2, 3)),
    "batch": ((3, 4, 8), (3, 6, 8), (3, 6, 5)),
    "batch, heads": ((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6)),
    "broadcast lead": ((2, 1, 5, 4), (1, 3, 6, 4), (1, 3, 6, 4)),
    "one key": ((2, 4, 3), (2, 1, 3), (2, 1, 3)),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
@pytest.mark.parametrize("scale", [None, 0.3, 2.0])
def test_sdpa_matches_torch_without_mask(name, scale, rng):
    q, k, v = (rng.standard_normal(s) for s in SHAPES[name])
    compare(q, k, v, rng, scale=scale)


@pytest.mark.parametrize("name", ["2d", "L<S, Ev!=E", "L>S", "batch", "batch, heads"])
def test_sdpa_matches_torch_is_causal(name, rng):
    q, k, v = (rng.standard_normal(s) for s in SHAPES[name])
    compare(q, k, v, rng, is_causal=True)


def _bool_mask(shape, rng, p=0.4):
    m = rng.random(shape) > p
    m[..., 0] = True                      # every query keeps at least one key
    return m


@pytest.mark.parametrize("kind", ["bool", "bool broadcast", "bool per example", "float",
                                  "float -inf", "float broadcast", "key row"])
def test_sdpa_matches_torch_with_masks(kind, rng):
    q, k, v = (rng.standard_normal(s) for s in SHAPES["batch, heads"])   # (2, 3, L=5, S=7)
    Lq, S = 5, 7
    mask = {"bool": lambda: _bool_mask((Lq, S), rng),
            "bool broadcast": lambda: _bool_mask((2, 1, Lq, S), rng),
            "bool per example": lambda: _bool_mask((2, 3, Lq, S), rng),
            "float": lambda: rng.standard_normal((Lq, S)),
            "float -inf": lambda: np.where(_bool_mask((Lq, S), rng), rng.standard_normal((Lq, S)),
                                           -np.inf),
            "float broadcast": lambda: rng.standard_normal((3, 1, S)),
            "key row": lambda: _bool_mask((1, S), rng)}[kind]()
    compare(q, k, v, rng, attn_mask=mask, scale=0.5 if kind == "float" else None)


def test_sdpa_causal_and_padding_combined_by_hand(rng):
    q, k, v = (rng.standard_normal((2, 2, 6, 4)) for _ in range(3))
    pad = A.key_padding_mask(np.array([6, 4]), 6)                       # True = padding
    allowed = A.causal_mask(6) & ~pad[:, None, None, :]                 # (2, 1, 6, 6)
    compare(q, k, v, rng, attn_mask=allowed)
    with pytest.raises(ValueError, match="attn_mask: expected None when is_causal=True"):
        A.scaled_dot_product_attention(q, k, v, attn_mask=allowed, is_causal=True)
    # torch 2.13 is not consistent here: 3-D inputs raise (the documented reference asserts
    # attn_mask is None), 4-D inputs on the CPU apply both masks; dlcore always raises
    with pytest.raises(RuntimeError, match="attn_mask should not be set when is_causal"):
        TF.scaled_dot_product_attention(to_torch(q[0]), to_torch(k[0]), to_torch(v[0]),
                                        attn_mask=torch.tensor(allowed[0]), is_causal=True)
    both = TF.scaled_dot_product_attention(to_torch(q), to_torch(k), to_torch(v),
                                           attn_mask=torch.tensor(~pad[:, None, None, :]),
                                           is_causal=True)
    close(to_numpy(both), A.scaled_dot_product_attention(q, k, v, attn_mask=allowed))


@pytest.mark.parametrize("hq, hkv", [(4, 1), (4, 2), (6, 3), (2, 2)])
def test_sdpa_grouped_query_attention_matches_torch(hq, hkv, rng):
    q = rng.standard_normal((2, hq, 5, 4))
    k, v = rng.standard_normal((2, hkv, 7, 4)), rng.standard_normal((2, hkv, 7, 3))
    compare(q, k, v, rng, enable_gqa=True)
    compare(q, k, v, rng, enable_gqa=True, is_causal=True)
    # GQA = attention with each key/value head repeated for its group of query heads
    rep = hq // hkv
    same = A.scaled_dot_product_attention(q, np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1))
    close(A.scaled_dot_product_attention(q, k, v, enable_gqa=True), same)


def test_sdpa_large_scores_are_stable(rng):
    q = 100.0 * rng.standard_normal((2, 4, 8))
    k = 100.0 * rng.standard_normal((2, 6, 8))
    v = rng.standard_normal((2, 6, 3))
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(8)
    assert np.abs(scores).max() > 1e4                   # exp would overflow without the shift
    compare(q, k, v, rng)


def test_attention_weights_rows_and_masked_entries(rng):
    q, k = rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 7, 4))
    m = _bool_mask((5, 7), rng)
    p = A.attention_weights(q, k, attn_mask=m)
    ref = torch.softmax((to_torch(q) @ to_torch(k).transpose(-1, -2) / 2.0)
                        .masked_fill(~torch.tensor(m), float("-inf")), dim=-1)
    close(p, to_numpy(ref))
    assert np.all(p[:, ~m] == 0.0)
    close(p.sum(axis=-1), np.ones((2, 5)))


def test_sdpa_backward_rejects_weights_of_another_shape(rng):
    q, k, v = (rng.standard_normal(s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 6)))
    _, p = A.scaled_dot_product_attention(q, k, v, return_weights=True)
    dout = rng.standard_normal((2, 3, 6))
    with pytest.raises(ValueError, match="weights: expected"):
        A.scaled_dot_product_attention_backward(dout, q, k, v, weights=p[:, :, :4])
    with pytest.raises(ValueError, match="weights: expected"):
        A.scaled_dot_product_attention_backward(dout, q, k, v, weights=p[0])


def test_sdpa_backward_matches_central_differences(rng):
    q, k, v = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    m = _bool_mask((3, 5), rng)
    dout = rng.standard_normal((3, 2))
    grads = A.scaled_dot_product_attention_backward(dout, q, k, v, attn_mask=m, scale=0.7)
    args = [q, k, v]
    for i in range(3):
        def f(x, i=i):
            a = list(args)
            a[i] = x
            return float(np.sum(A.scaled_dot_product_attention(*a, attn_mask=m, scale=0.7) * dout))
        assert_allclose(grads[i], numerical_gradient(f, args[i]), rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------- the all-masked row

@pytest.mark.parametrize("kind", ["bool", "float -inf"])
def test_all_masked_row_raises_while_torch_returns_zeros(kind, rng):
    q, k, v = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 3)), \
        rng.standard_normal((2, 5, 3))
    allowed = np.ones((4, 5), dtype=bool)
    allowed[2] = False                                     # query 2 may attend to nothing
    mask = allowed if kind == "bool" else np.where(allowed, 0.0, -np.inf)
    with pytest.raises(ValueError, match=r"attn_mask: query 2 .* may attend to no key"):
        A.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    with pytest.raises(ValueError, match="may attend to no key"):
        A.scaled_dot_product_attention_backward(np.ones((2, 4, 3)), q, k, v, attn_mask=mask)
    out, grads = torch_sdpa(q, k, v, np.ones((2, 4, 3)), attn_mask=mask)
    assert np.all(out[:, 2] == 0.0) and np.all(grads[0][:, 2] == 0.0)   # torch 2.13: zeros
    assert np.isfinite(out).all() and all(np.isfinite(g).all() for g in grads)
    # the other rows are unaffected: they equal attention over the three valid rows alone
    keep = [0, 1, 3]
    close(np.delete(out, 2, axis=1),
          A.scaled_dot_product_attention(q[:, keep], k, v, attn_mask=allowed[keep]))


def test_naive_softmax_of_an_all_masked_row_is_nan():
    row = np.full(4, -np.inf)
    with np.errstate(invalid="ignore"):
        naive = np.exp(row - row.max()) / np.exp(row - row.max()).sum()
    assert np.isnan(naive).all()


# ------------------------------------------------------------------ MultiheadAttention

def torch_mha(E, H, bias=True, seed=0):
    torch.manual_seed(seed)
    return torch.nn.MultiheadAttention(E, H, bias=bias, batch_first=True, dtype=torch.float64)


def loaded(tm, E, H, bias=True):
    layer = A.MultiheadAttention(E, H, bias=bias, rng=0)
    layer.params = {k: v.detach().numpy().copy() for k, v in tm.state_dict().items()}
    return layer


def compare_mha(E, H, x, rng, bias=True, dl_kw=None, torch_kw=None):
    tm = torch_mha(E, H, bias)
    layer = loaded(tm, E, H, bias)
    dout = rng.standard_normal(x.shape)
    xt = to_torch(x, requires_grad=True)
    tkw = {k: (torch.tensor(v) if v.dtype == bool else to_torch(v)) if isinstance(v, np.ndarray)
           else v for k, v in (torch_kw or {}).items()}
    out_t = tm(xt, xt, xt, need_weights=False, **tkw)[0]
    out_t.backward(to_torch(dout))
    out = layer.forward(x, **(dl_kw or {}))
    dx = layer.backward(dout)
    close(out, to_numpy(out_t))
    close(dx, to_numpy(xt.grad))
    named = dict(tm.named_parameters())
    assert set(layer.grads) == set(named) == set(layer.params)
    for key, p in named.items():
        assert layer.grads[key].shape == tuple(p.shape)
        close(layer.grads[key], to_numpy(p.grad))
    return layer


@pytest.mark.parametrize("E, H", [(8, 1), (8, 2), (12, 3), (4, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_mha_matches_torch_without_masks(E, H, bias, rng):
    compare_mha(E, H, rng.standard_normal((3, 5, E)), rng, bias=bias)


def _mha_masks(rng, n=3, H=2, Ln=5):
    causal_block = ~A.causal_mask(Ln)                                  # True = NOT allowed
    pad = A.key_padding_mask(np.array([5, 3, 4]), Ln)
    rand_block = ~_bool_mask((Ln, Ln), rng)
    rand3 = ~_bool_mask((n * H, Ln, Ln), rng)
    return {
        "attn bool": dict(attn_mask=rand_block),
        "attn bool 3d": dict(attn_mask=rand3),
        "attn float": dict(attn_mask=rng.standard_normal((Ln, Ln))),
        "attn float -inf": dict(attn_mask=np.where(rand_block, -np.inf, 0.3)),
        "padding bool": dict(key_padding_mask=pad),
        "padding float": dict(key_padding_mask=np.where(pad, -np.inf, 0.0)
                              + 0.1 * rng.standard_normal((n, Ln))),
        "attn + padding": dict(attn_mask=causal_block, key_padding_mask=pad),
        "3d attn + padding": dict(attn_mask=rand3, key_padding_mask=pad),
    }


@pytest.mark.parametrize("kind", ["attn bool", "attn bool 3d", "attn float", "attn float -inf",
                                  "padding bool", "padding float", "attn + padding",
                                  "3d attn + padding"])
def test_mha_matches_torch_with_masks(kind, rng):
    kw = _mha_masks(rng)[kind]
    compare_mha(8, 2, rng.standard_normal((3, 5, 8)), rng, dl_kw=kw, torch_kw=kw)


@pytest.mark.parametrize("padding", [False, True])
def test_mha_is_causal(padding, rng):
    x = rng.standard_normal((3, 5, 8))
    pad = A.key_padding_mask(np.array([5, 3, 4]), 5) if padding else None
    blocked = ~A.causal_mask(5)
    extra = {"key_padding_mask": pad} if padding else {}
    # torch's is_causal is a hint that needs the causal attn_mask as well
    layer = compare_mha(8, 2, x, rng, dl_kw=dict(is_causal=True, **extra),
                        torch_kw=dict(attn_mask=blocked, is_causal=True, **extra))
    assert np.all(layer.cache["weights"][..., blocked] == 0.0)
    compare_mha(8, 2, x, rng, dl_kw=dict(attn_mask=blocked, is_causal=True, **extra),
                torch_kw=dict(attn_mask=blocked, **extra))


def test_mha_weights_cache_matches_torch_average_weights(rng):
    tm = torch_mha(8, 2)
    layer = loaded(tm, 8, 2)
    x = rng.standard_normal((2, 4, 8))
    layer.forward(x)
    xt = to_torch(x)
    _, w = tm(xt, xt, xt, need_weights=True, average_attn_weights=False)
    close(layer.cache["weights"], to_numpy(w))


def test_mha_all_masked_row_raises_and_torch_returns_zeros(rng):
    x = rng.standard_normal((2, 4, 8))
    blocked = np.zeros((4, 4), dtype=bool)
    blocked[1, :2] = True
    pad = np.zeros((2, 4), dtype=bool)
    pad[0, 2:] = True                     # with the row above, query 1 of example 0 sees nothing
    layer = A.MultiheadAttention(8, 2, rng=0)
    with pytest.raises(ValueError, match="query 1 .* may attend to no key"):
        layer.forward(x, attn_mask=blocked, key_padding_mask=pad)
    tm = torch_mha(8, 2)
    out = tm(to_torch(x), to_torch(x), to_torch(x), attn_mask=torch.tensor(blocked),
             key_padding_mask=torch.tensor(pad), need_weights=False)[0]
    # the row's attention output is zero, so only out_proj's bias (zero at init) remains
    assert torch.all(out[0, 1] == tm.out_proj.bias)


def test_mha_init_like_torch():
    E, H = 16, 4
    layer = A.MultiheadAttention(E, H, rng=3)
    tm = torch_mha(E, H)
    for key, p in tm.state_dict().items():
        assert layer.params[key].shape == tuple(p.shape)
    w = layer.params["in_proj_weight"]
    assert np.abs(w).max() <= np.sqrt(6 / (4 * E)) and np.abs(w).max() > 0.9 * np.sqrt(6 / (4 * E))
    o = layer.params["out_proj.weight"]
    assert np.abs(o).max() <= 1 / np.sqrt(E) and np.abs(o).max() > 0.9 / np.sqrt(E)
    assert not layer.params["in_proj_bias"].any() and not layer.params["out_proj.bias"].any()
    assert not tm.in_proj_bias.detach().any() and not tm.out_proj.bias.detach().any()
    assert np.array_equal(A.MultiheadAttention(E, H, rng=3).params["in_proj_weight"], w)


@pytest.mark.parametrize("H", [1, 2, 4, 8])
def test_mha_parameter_count_does_not_depend_on_heads(H):
    E = 16
    n = sum(v.size for v in A.MultiheadAttention(E, H, rng=0).params.values())
    assert n == 4 * E * E + 4 * E == sum(p.numel() for p in torch_mha(E, H).parameters())


def test_split_and_merge_heads(rng):
    x = rng.standard_normal((2, 5, 12))
    h = A.split_heads(x, 3)
    assert h.shape == (2, 3, 5, 4)
    close(h, to_numpy(to_torch(x).view(2, 5, 3, 4).transpose(1, 2)))
    assert np.array_equal(A.merge_heads(h), x)
    assert np.array_equal(h[:, 1], x[:, :, 4:8])


def test_masks_helpers():
    assert np.array_equal(A.causal_mask(3), np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1]], bool))
    assert np.array_equal(A.causal_mask(2, 3), np.array([[1, 0, 0], [1, 1, 0]], bool))
    assert np.array_equal(to_numpy(torch.ones(2, 3).tril()).astype(bool), A.causal_mask(2, 3))
    assert np.array_equal(A.key_padding_mask(np.array([2, 3]), 3),
                          np.array([[0, 0, 1], [0, 0, 0]], bool))


def test_exports():
    assert A.MultiheadAttention is L.MultiheadAttention
    assert A.sinusoidal_positions is P.sinusoidal_positions and A.apply_rope is P.apply_rope
    assert L.RMSNorm is N.RMSNorm


# ------------------------------------------------------------------------ positions

def test_sinusoidal_positions_formula():
    pe = A.sinusoidal_positions(50, 16)
    for p in (0, 1, 7, 49):
        for i in range(8):
            w = 1.0 / 10000 ** (2 * i / 16)
            assert pe[p, 2 * i] == pytest.approx(np.sin(p * w), abs=1e-15)
            assert pe[p, 2 * i + 1] == pytest.approx(np.cos(p * w), abs=1e-15)
    with pytest.raises(ValueError, match="dim: expected an even number"):
        A.sinusoidal_positions(10, 7)


def offset_matrix(k, dim, base=10000.0):
    """M_k with PE[p + k] = M_k @ PE[p]: each (sin, cos) pair rotated by k * w_i."""
    M = np.zeros((dim, dim))
    for i in range(dim // 2):
        a = k / base ** (2 * i / dim)
        M[2 * i:2 * i + 2, 2 * i:2 * i + 2] = [[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]
    return M


@pytest.mark.parametrize("k", [1, 5, 17])
def test_sinusoidal_offset_is_a_rotation_independent_of_position(k):
    pe = A.sinusoidal_positions(64, 16)
    M = offset_matrix(k, 16)
    assert_allclose(pe[:-k] @ M.T, pe[k:], atol=1e-12)        # PE[p + k] = M_k PE[p], every p
    assert_allclose(M @ M.T, np.eye(16), atol=1e-14)
    diag = np.array([pe[p] @ pe[p + k] for p in range(64 - k)])   # <PE[p], PE[p + k]> ...
    assert np.ptp(diag) < 1e-12                                     # ... depends on k only
    w = 1.0 / 10000 ** (np.arange(0, 16, 2) / 16)
    assert diag[0] == pytest.approx(np.cos(k * w).sum(), abs=1e-12)   # = sum_i cos(k w_i)


def torch_rope(x, positions, base=10000.0):
    """RoPE with complex numbers, as in Meta's LLaMA reference code (interleaved pairs)."""
    d = x.shape[-1]
    freqs = 1.0 / base ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    angles = torch.outer(positions, freqs)
    rot = torch.polar(torch.ones_like(angles), angles)
    xc = torch.view_as_complex(x.reshape(*x.shape[:-1], d // 2, 2).contiguous())
    return torch.view_as_real(xc * rot).reshape(x.shape)


@pytest.mark.parametrize("shape", [(6, 8), (2, 3, 5, 4)])
def test_rope_matches_complex_torch_forward_and_backward(shape, rng):
    x = rng.standard_normal(shape)
    pos = rng.uniform(-20, 200, shape[-2])
    dout = rng.standard_normal(shape)
    xt = to_torch(x, requires_grad=True)
    out_t = torch_rope(xt, to_torch(pos))
    out_t.backward(to_torch(dout))
    close(A.apply_rope(x, pos), to_numpy(out_t))
    close(A.apply_rope(dout, -pos), to_numpy(xt.grad))       # backward = inverse rotation
    close(A.apply_rope(x), to_numpy(torch_rope(to_torch(x), torch.arange(shape[-2]).double())))


def test_rope_matrix_and_relative_position_identity(rng):
    d = 8
    q, k = rng.standard_normal(d), rng.standard_normal(d)
    for m in (0, 3, 11):
        close(A.apply_rope(q[None], [m])[0], A.rope_matrix(m, d) @ q)
        close(A.rope_matrix(m, d).T @ A.rope_matrix(m, d), np.eye(d))
    scores = {}
    for m, n in [(2, 7), (10, 15), (100, 105), (7, 2)]:
        rq = A.apply_rope(q[None], [m])[0]
        rk = A.apply_rope(k[None], [n])[0]
        scores[(m, n)] = rq @ rk
        close(rq @ rk, q @ A.rope_matrix(n - m, d) @ k)       # <R_m q, R_n k> = q^T R_(n-m) k
    assert abs(scores[(2, 7)] - scores[(100, 105)]) < 1e-12
    assert abs(scores[(2, 7)] - scores[(7, 2)]) > 1e-3        # the sign of n - m matters


def test_alibi_slopes_and_bias():
    assert_allclose(A.alibi_slopes(8), 2.0 ** -np.arange(1, 9), rtol=1e-15)
    assert_allclose(A.alibi_slopes(6), [2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3],
                    rtol=1e-15)
    b = A.alibi_bias(4, 3, 5)
    assert b.shape == (4, 3, 5)
    assert_allclose(b[1], -A.alibi_slopes(4)[1] * np.abs(np.arange(3)[:, None] - np.arange(5)),
                    rtol=1e-15)


# -------------------------------------------------------------------------- RMSNorm

@pytest.mark.parametrize("shape, normalized", [((4, 6), 6), ((2, 5, 8), 8), ((2, 5, 8), (5, 8)),
                                               ((3, 1), 1)])
def test_rmsnorm_matches_torch(shape, normalized, rng):
    layer = N.RMSNorm(normalized)
    wshape = (normalized,) if isinstance(normalized, int) else normalized
    assert np.array_equal(layer.params["weight"], np.ones(wshape))
    layer.params["weight"] = rng.uniform(0.5, 2.0, wshape)
    tm = torch.nn.RMSNorm(normalized, eps=1e-6, dtype=torch.float64)
    with torch.no_grad():
        tm.weight.copy_(to_torch(layer.params["weight"]))
    x = 3.0 * rng.standard_normal(shape) + 1.0
    dout = rng.standard_normal(shape)
    xt = to_torch(x, requires_grad=True)
    out_t = tm(xt)
    out_t.backward(to_torch(dout))
    close(layer.forward(x), to_numpy(out_t))
    close(layer.backward(dout), to_numpy(xt.grad))
    close(layer.grads["weight"], to_numpy(tm.weight.grad))


def test_rmsnorm_tiny_inputs_use_eps(rng):
    layer = N.RMSNorm(4)
    x = 1e-5 * rng.standard_normal((2, 4))
    out = layer.forward(x)
    assert np.all(np.abs(out) < np.abs(x) / 1e-3 * 1.01)            # r <= 1/sqrt(eps) = 1000


# ------------------------------------------------------------------------- bad inputs

def raises(match):
    return pytest.raises(ValueError, match=match)


def test_sdpa_bad_inputs(rng):
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), \
        rng.standard_normal((2, 5, 6))
    sdpa = A.scaled_dot_product_attention
    with raises(r"^key: expected a last dimension of 4"):
        sdpa(q, rng.standard_normal((2, 5, 3)), v)
    with raises(r"^value: expected 5 rows"):
        sdpa(q, k, rng.standard_normal((2, 4, 6)))
    with raises(r"^query: expected at least 2 dimension"):
        sdpa(np.ones(4), k, v)
    with raises(r"^query, key, value: expected leading .* broadcast"):
        sdpa(q, rng.standard_normal((3, 5, 4)), rng.standard_normal((3, 5, 6)))
    with raises(r"^attn_mask: expected a shape broadcastable to \(2, 3, 5\)"):
        sdpa(q, k, v, attn_mask=np.ones((5, 3), bool))
    with raises(r"^attn_mask: expected a shape broadcastable"):
        sdpa(q, k, v, attn_mask=np.ones((4, 3, 5), bool))         # would enlarge the output
    with raises(r"^attn_mask: expected at least 2 dimensions"):
        sdpa(q, k, v, attn_mask=np.ones(5, bool))                # torch rejects it too
    with raises(r"^attn_mask: expected a boolean mask .* got dtype int64"):
        sdpa(q, k, v, attn_mask=np.ones((3, 5), dtype=np.int64))
    with raises(r"^attn_mask: expected finite values or -inf in a float mask, got NaN"):
        sdpa(q, k, v, attn_mask=np.full((3, 5), np.nan))
    with raises(r"^attn_mask: .* got \+inf"):
        sdpa(q, k, v, attn_mask=np.full((3, 5), np.inf))
    with raises(r"^is_causal: expected a bool"):
        sdpa(q, k, v, is_causal=1)
    for bad in (0, -1.0, np.inf, "a"):
        with raises(r"^scale: expected"):
            sdpa(q, k, v, scale=bad)
    with raises(r"^query: expected finite values"):
        sdpa(np.full((2, 3, 4), np.nan), k, v)
    with raises(r"^key, value: with enable_gqa=True"):
        sdpa(rng.standard_normal((1, 3, 2, 4)), rng.standard_normal((1, 2, 5, 4)),
             rng.standard_normal((1, 2, 5, 4)), enable_gqa=True)
    with raises(r"^grad_output: expected shape \(2, 3, 6\)"):
        A.scaled_dot_product_attention_backward(np.ones((2, 3, 4)), q, k, v)
    with raises(r"^query, key, value: expected non-empty"):
        sdpa(np.ones((2, 0, 4)), k, v)


def test_mha_bad_inputs(rng):
    with raises(r"^num_heads: expected a divisor of embed_dim=8, got 3"):
        A.MultiheadAttention(8, 3)
    for bad in (0, 2.0, True):
        with raises(r"^embed_dim: expected an integer"):
            A.MultiheadAttention(bad, 1)
    with raises(r"^bias: expected a bool"):
        A.MultiheadAttention(8, 2, bias="yes")
    layer = A.MultiheadAttention(8, 2, rng=0)
    with raises(r"call forward first"):
        layer.backward(np.zeros((2, 3, 8)))
    with raises(r"^x: expected shape \(N, L, 8\)"):
        layer.forward(np.zeros((2, 3, 6)))
    with raises(r"^x: expected a 3-D array"):
        layer.forward(np.zeros((3, 8)))
    x = rng.standard_normal((2, 3, 8))
    with raises(r"^attn_mask: expected shape \(3, 3\) or \(4, 3, 3\), got shape \(2, 3, 3\)"):
        layer.forward(x, attn_mask=np.zeros((2, 3, 3), bool))
    with raises(r"^key_padding_mask: expected shape \(2, 3\)"):
        layer.forward(x, key_padding_mask=np.zeros((3, 2), bool))
    with raises(r"^key_padding_mask: expected a boolean mask .* got dtype int64"):
        layer.forward(x, key_padding_mask=np.zeros((2, 3), dtype=np.int64))
    with raises(r"^is_causal: expected a bool"):
        layer.forward(x, is_causal="yes")
    layer.forward(x)
    with raises(r"^dout: expected shape \(2, 3, 8\)"):
        layer.backward(np.zeros((2, 3, 4)))


def test_helpers_bad_inputs():
    with raises(r"^num_heads: expected a divisor of the embedding size 6, got 4"):
        A.split_heads(np.zeros((1, 2, 6)), 4)
    with raises(r"^x: expected a 4-D array"):
        A.merge_heads(np.zeros((1, 2, 6)))
    with raises(r"^length: expected an integer >= 1, got 0"):
        A.causal_mask(0)
    with raises(r"^lengths: expected a non-empty 1-D array of ints in \[1, 3\]"):
        A.key_padding_mask(np.array([0, 3]), 3)
    with raises(r"^lengths: "):
        A.key_padding_mask(np.array([4]), 3)
    with raises(r"^x.shape\[-1\]: expected an even number"):
        A.apply_rope(np.zeros((3, 5)))
    with raises(r"^positions: expected 3 positions"):
        A.apply_rope(np.zeros((3, 4)), [0, 1])
    with raises(r"^position: expected a real number"):
        A.rope_matrix([1, 2], 4)
    with raises(r"^num_heads: expected an integer >= 1, got 0"):
        A.alibi_slopes(0)
    with raises(r"^base: expected a finite number > 0"):
        A.sinusoidal_positions(4, 4, base=-1.0)


@pytest.mark.parametrize("make, match", [
    (lambda: N.RMSNorm(0), "normalized_shape"),
    (lambda: N.RMSNorm(()), "normalized_shape"),
    (lambda: N.RMSNorm("a"), "normalized_shape"),
    (lambda: N.RMSNorm((3, 0)), "normalized_shape"),
    (lambda: N.RMSNorm(True), "normalized_shape"),
    (lambda: N.RMSNorm(4, eps=0), "eps"),
])
def test_rmsnorm_bad_constructor(make, match):
    with raises(match):
        make()


def test_rmsnorm_bad_inputs():
    with raises(r"^x: expected trailing dimensions \(4,\)"):
        N.RMSNorm(4).forward(np.zeros((2, 3)))
    with raises(r"^x: expected trailing dimensions \(2, 4\)"):
        N.RMSNorm((2, 4)).forward(np.zeros((3, 4)))
    with raises(r"call forward first"):
        N.RMSNorm(4).backward(np.zeros((2, 4)))
