"""dlcore.quantize: absmax int8 against torch's fake quantization (per tensor, per channel), the error
bound, block-wise int4 and NF4, LLM.int8()'s matmul; bad inputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcore import quantize as Q


def _not_on_a_half(x, scale):
    """Entries whose x / scale is not within 1e-4 of a rounding boundary k + 1/2: torch rounds
    x * (1/scale) in float32, so a value on a boundary may round the other way there."""
    frac = np.abs(np.asarray(x / scale) % 1.0 - 0.5)
    return frac > 1e-4


def test_per_tensor_matches_torch_fake_quantize(rng):
    x = rng.standard_normal((20, 30)).astype(np.float32).astype(np.float64)
    q, scale = Q.absmax_quantize(x)
    assert q.dtype == np.int8 and scale.shape == () and np.abs(q).max() == 127
    s32 = np.float32(scale)                          # torch takes the scale in float32
    fake = torch.fake_quantize_per_tensor_affine(torch.tensor(x, dtype=torch.float32),
                                                 float(s32), 0, -127, 127).numpy()
    ref = np.rint(fake / s32).astype(np.int8)
    ok = _not_on_a_half(x, scale)
    assert ok.mean() > 0.99 and np.array_equal(q[ok], ref[ok])


def test_per_channel_matches_torch_fake_quantize(rng):
    x = rng.standard_normal((16, 8)) * np.array([0.1, 1, 10, 0.5, 2, 3, 0.01, 5])
    x = x.astype(np.float32).astype(np.float64)
    q, scale = Q.absmax_quantize(x, channel_axis=1)
    assert scale.shape == (1, 8)
    s32 = scale.astype(np.float32)
    fake = torch.fake_quantize_per_channel_affine(
        torch.tensor(x, dtype=torch.float32), torch.tensor(s32.ravel()),
        torch.zeros(8, dtype=torch.int32), 1, -127, 127).numpy()
    ref = np.rint(fake / s32).astype(np.int8)
    ok = _not_on_a_half(x, scale)
    assert np.array_equal(q[ok], ref[ok])
    assert np.all(np.abs(q).max(axis=0) == 127)                     # every channel uses the range


def test_error_bound_and_dequantize(rng):
    x = rng.standard_normal((50, 40))
    for axis in (None, 0, 1):
        q, s = Q.absmax_quantize(x, channel_axis=axis)
        err = np.abs(Q.dequantize(q, s) - x)
        assert np.all(err <= s / 2 + 1e-15)                          # half a step at most
    x[3, 5] = 100.0                                                  # one outlier
    e_t = np.abs(Q.dequantize(*Q.absmax_quantize(x)) - x).mean()
    e_c = np.abs(Q.dequantize(*Q.absmax_quantize(x, channel_axis=1)) - x).mean()
    assert e_c < e_t / 5                                             # confined to its channel
    q4, s4 = Q.absmax_quantize(x, bits=4, channel_axis=0)
    assert np.abs(q4).max() == 7
    z, sz = Q.absmax_quantize(np.zeros((2, 3)))
    assert np.all(z == 0) and np.all(Q.dequantize(z, sz) == 0)


@pytest.mark.parametrize("code", ["int", "nf4"])
def test_blockwise_round_trip_and_nearest_level(rng, code):
    x = rng.standard_normal((5, 37))                                 # 185 values: a padded block
    codes, absmax = Q.blockwise_quantize(x, block_size=64, code=code)
    assert codes.shape == (3, 64) and absmax.shape == (3,)
    back = Q.blockwise_dequantize(codes, absmax, x.shape, code=code)
    assert back.shape == x.shape
    flat = np.concatenate([x.ravel(), np.zeros(7)]).reshape(3, 64)
    levels = (np.arange(-7, 8) / 7.0) if code == "int" else Q.NF4_LEVELS
    for i in range(3):                                              # nearest level, per block
        dist = np.abs(flat[i][:, None] / absmax[i] - levels[None, :])
        got = back.ravel()[i * 64:(i + 1) * 64] if i < 2 else back.ravel()[128:]
        nearest = levels[dist.argmin(axis=1)] * absmax[i]
        np.testing.assert_allclose(got, nearest[:got.size], rtol=0, atol=1e-12)


def test_nf4_levels_are_normal_quantiles():
    from scipy.stats import norm
    offset = 0.9677083                                              # bitsandbytes' create_normal_map
    pos = norm.ppf(np.linspace(offset, 0.5, 9)[:-1])
    neg = -norm.ppf(np.linspace(offset, 0.5, 8)[:-1])
    levels = np.sort(np.concatenate([pos, [0.0], neg]))
    levels /= levels.max()
    np.testing.assert_allclose(levels, Q.NF4_LEVELS, atol=1e-7)
    g = np.random.default_rng(0).standard_normal(64 * 2000)          # normal weights:
    e_nf4 = Q.blockwise_dequantize(*Q.blockwise_quantize(g, code="nf4"), g.shape, code="nf4") - g
    e_int = Q.blockwise_dequantize(*Q.blockwise_quantize(g, code="int"), g.shape) - g
    assert np.mean(e_nf4 ** 2) < 0.8 * np.mean(e_int ** 2)           # NF4 beats uniform int4


def test_int8_matmul_against_dequantized_product_and_outliers(rng):
    x, W = rng.standard_normal((6, 32)), rng.standard_normal((32, 5))
    qx, sx = Q.absmax_quantize(x, channel_axis=0)
    qw, sw = Q.absmax_quantize(W, channel_axis=1)
    ref = Q.dequantize(qx, sx) @ Q.dequantize(qw, sw)
    np.testing.assert_allclose(Q.int8_matmul(x, W), ref, rtol=1e-12, atol=1e-12)
    x[:, 7] = 60.0 * np.sign(rng.standard_normal(6))                # an outlier feature
    plain = np.abs(Q.int8_matmul(x, W) - x @ W).mean()
    mixed = np.abs(Q.int8_matmul(x, W, threshold=6.0) - x @ W).mean()
    assert mixed < plain / 5
    exact = Q.int8_matmul(x, W, threshold=1e-9)                     # every feature in float
    np.testing.assert_allclose(exact, x @ W, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("call, msg", [
    (lambda: Q.absmax_quantize(np.ones(3), bits=1), "bits: expected an integer >= 2"),
    (lambda: Q.absmax_quantize(np.ones(3), bits=9), r"bits: expected an integer in \[2, 8\]"),
    (lambda: Q.absmax_quantize(np.ones((2, 2)), channel_axis=2), "channel_axis: expected an axis"),
    (lambda: Q.absmax_quantize(np.array([np.nan])), "x: expected finite values"),
    (lambda: Q.dequantize(np.ones(3), 1.0), "q: expected an integer array"),
    (lambda: Q.dequantize(np.ones(3, dtype=np.int8), np.ones(2)), "scale: expected a shape"),
    (lambda: Q.blockwise_quantize(np.ones(3), code="fp4"), "code: expected 'int' or 'nf4'"),
    (lambda: Q.blockwise_quantize(np.ones(3), bits=3, code="nf4"), "bits: NF4 has 16 levels"),
    (lambda: Q.blockwise_quantize(np.ones(0)), "x: expected at least one value"),
    (lambda: Q.blockwise_dequantize(np.zeros((2, 4), dtype=np.int8), np.ones(3), 8),
     r"absmax: expected shape \(2,\)"),
    (lambda: Q.blockwise_dequantize(np.zeros((2, 4), dtype=np.int8), np.ones(2), 3),
     "shape: expected 2 blocks of 4"),
    (lambda: Q.int8_matmul(np.ones((2, 3)), np.ones((4, 2))), r"W: expected shape \(3, M\)"),
    (lambda: Q.int8_matmul(np.ones((2, 3)), np.ones((3, 2)), threshold=0), "threshold"),
])
def test_bad_inputs(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()
