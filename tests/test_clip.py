"""dlcore.clip against torch.nn.utils.clip_grad_norm_ / clip_grad_value_ (float64)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

from dlcore import clip

SHAPES = [(3, 4), (4,), (2, 2, 3), ()]


def make_grads(seed, scale=1.0):
    g = np.random.default_rng(seed)
    return {f"p{i}": np.array(g.standard_normal(s) * scale) for i, s in enumerate(SHAPES)}


def torch_params(grads):
    ps = []
    for a in grads.values():
        p = torch.zeros(a.shape, dtype=torch.float64, requires_grad=True)
        p.grad = torch.tensor(a, dtype=torch.float64)
        ps.append(p)
    return ps


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("scale,max_norm", [(1.0, 0.5), (1.0, 1e3), (1e-9, 1.0), (1e6, 2.0),
                                            (1.0, 1e-12)])
def test_clip_grad_norm_matches_torch(seed, scale, max_norm):
    grads = make_grads(seed, scale)
    ps = torch_params(grads)
    total_t = torch.nn.utils.clip_grad_norm_(ps, max_norm)
    total = clip.clip_grad_norm(grads, max_norm)
    assert isinstance(total, float)
    assert_allclose(total, total_t.item(), rtol=1e-13)
    for a, p in zip(grads.values(), ps):
        assert_allclose(a, p.grad.numpy(), rtol=1e-13, atol=0)


def test_clip_grad_norm_coefficient_is_torchs():
    # g = [3, 4]: norm 5, factor 1/(5 + 1e-6), not exactly 1/5
    g = [np.array([3.0, 4.0])]
    total = clip.clip_grad_norm(g, 1.0)
    assert total == 5.0
    assert_allclose(g[0], np.array([3.0, 4.0]) / (5.0 + 1e-6), rtol=1e-15)
    # at the threshold the factor 1/(1 + 1e-6) < 1 still rescales, like torch
    h = [np.array([0.6, 0.8])]
    hp = torch_params({"h": h[0]})
    torch.nn.utils.clip_grad_norm_(hp, 1.0)
    clip.clip_grad_norm(h, 1.0)
    assert_allclose(h[0], hp[0].grad.numpy(), rtol=1e-15)
    assert h[0][1] < 0.8


def test_clip_grad_norm_keeps_direction_and_small_gradients():
    grads = make_grads(3)
    before = np.concatenate([a.ravel() for a in grads.values()])
    clip.clip_grad_norm(grads, 0.1)
    after = np.concatenate([a.ravel() for a in grads.values()])
    cos = after @ before / (np.linalg.norm(after) * np.linalg.norm(before))
    assert abs(cos - 1) < 1e-14 and np.linalg.norm(after) <= 0.1
    tiny = [np.full(4, 1e-9)]
    clip.clip_grad_norm(tiny, 1.0)
    assert_array_equal(tiny[0], np.full(4, 1e-9))          # factor clamped at 1: unchanged


def test_clip_grad_norm_works_on_lists_and_in_place():
    a, b = np.array([[1.0, 2.0]]), np.array([2.0])
    ref_a, ref_b = a, b
    total = clip.clip_grad_norm([a, b], 1.0)
    assert total == 3.0 and ref_a is a and ref_b is b
    assert_allclose(np.sqrt((a ** 2).sum() + (b ** 2).sum()), 1.0, rtol=1e-6)
    assert clip.clip_grad_norm({}, 1.0) == 0.0


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_clip_grad_norm_nonfinite_like_torch(bad):
    grads = make_grads(1)
    grads["p0"][0, 0] = bad
    ps = torch_params(grads)
    total_t = torch.nn.utils.clip_grad_norm_(ps, 1.0)
    total = clip.clip_grad_norm(grads, 1.0)
    assert (np.isnan(total) and torch.isnan(total_t)) or total == total_t.item()
    for a, p in zip(grads.values(), ps):
        assert_array_equal(np.isnan(a), torch.isnan(p.grad).numpy())
        assert_allclose(a[~np.isnan(a)], p.grad.numpy()[~np.isnan(a)], rtol=1e-15)
    g2 = make_grads(1)
    g2["p1"][0] = bad
    with pytest.raises(ValueError, match="finite total norm"):
        clip.clip_grad_norm(g2, 1.0, error_if_nonfinite=True)
    ps2 = torch_params(make_grads(1))
    with pytest.raises(RuntimeError):
        ps2[1].grad[0] = bad
        torch.nn.utils.clip_grad_norm_(ps2, 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("clip_value", [0.1, 0.5, 100.0])
def test_clip_grad_value_matches_torch(seed, clip_value):
    grads = make_grads(seed)
    ps = torch_params(grads)
    torch.nn.utils.clip_grad_value_(ps, clip_value)
    assert clip.clip_grad_value(grads, clip_value) is None
    for a, p in zip(grads.values(), ps):
        assert_array_equal(a, p.grad.numpy())
        assert np.abs(a).max() <= clip_value


def test_clip_grad_value_changes_direction():
    g = [np.array([3.0, 4.0])]
    clip.clip_grad_value(g, 1.0)
    assert_array_equal(g[0], [1.0, 1.0])
    cos = (g[0] @ np.array([3.0, 4.0])) / (np.sqrt(2) * 5)
    assert abs(cos - 7 / (5 * np.sqrt(2))) < 1e-15 and cos < 0.99


def test_clip_grad_value_keeps_nan_like_torch():
    g = {"a": np.array([np.nan, 5.0, -5.0])}
    ps = torch_params(g)
    torch.nn.utils.clip_grad_value_(ps, 1.0)
    clip.clip_grad_value(g, 1.0)
    assert_array_equal(g["a"], ps[0].grad.numpy())


@pytest.mark.parametrize("fn", [clip.clip_grad_norm, clip.clip_grad_value])
def test_bad_inputs_raise(fn):
    name = "max_norm" if fn is clip.clip_grad_norm else "clip_value"
    for bad in (0, -1.0, np.nan, np.inf, "1", None, True):
        with pytest.raises(ValueError, match=name):
            fn([np.ones(3)], bad)
    with pytest.raises(ValueError, match="grads"):
        fn(np.ones(3), 1.0)                                  # an array, not a list of arrays
    with pytest.raises(ValueError, match=r"grads\[0\]"):
        fn([[1.0, 2.0]], 1.0)                                # a list, not an ndarray
    with pytest.raises(ValueError, match=r"grads\['w'\]"):
        fn({"w": np.ones(3, dtype=np.float32)}, 1.0)
    with pytest.raises(ValueError, match=r"grads\['w'\]"):
        fn({"w": np.ones(3, dtype=np.int64)}, 1.0)
    ro = np.ones(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fn([ro], 1.0)
