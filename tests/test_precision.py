"""dlcore.precision against PyTorch's float16 / bfloat16 tensors, NumPy's float16 and
torch.amp.GradScaler.

Rounding is compared bit for bit (no tolerance): both sides are exact roundings. PyTorch's
conversions are compared from float32 input, where they round once; from float64 input they
round to float32 first (a double rounding), which the last test documents.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcore import precision as P

TORCH = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def _torch_round(x32: np.ndarray, fmt: str) -> np.ndarray:
    return torch.from_numpy(x32).to(TORCH[fmt]).to(torch.float64).numpy()


def _probe_float32(rng, n=20000):
    """float32 values over the whole range: random bit patterns (all exponents, subnormals,
    both signs), values near 1, near fp16's overflow and underflow thresholds."""
    bits = rng.integers(0, 2 ** 32, size=n, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    x = x[np.isfinite(x)]
    near = np.concatenate([rng.uniform(-4, 4, 2000), rng.uniform(65000, 66000, 2000),
                           rng.uniform(-1e-7, 1e-7, 2000), rng.uniform(-1e-4, 1e-4, 2000)])
    return np.concatenate([x, near.astype(np.float32), np.float32([0.0, -0.0])])


@pytest.mark.parametrize("fmt", ["fp32", "fp16", "bf16"])
def test_format_constants_match_torch_finfo(fmt):
    f, fi = P.format_info(fmt), torch.finfo(TORCH[fmt])
    assert f.bits == fi.bits
    assert f.eps == fi.eps and f.max == fi.max and f.smallest_normal == fi.smallest_normal
    # the smallest subnormal is the bit pattern 0...01
    one = torch.tensor([1], dtype=torch.int32 if fmt == "fp32" else torch.int16)
    assert f.smallest_subnormal == one.view(TORCH[fmt]).item()
    assert f.unit_roundoff == f.eps / 2 and f.precision == f.mantissa_bits + 1


@pytest.mark.parametrize("fmt", ["fp16", "bf16", "fp32"])
def test_round_nearest_equals_torch_conversion_from_float32(fmt, rng):
    x32 = _probe_float32(rng)
    ours = P.round_nearest(x32.astype(np.float64), fmt)
    np.testing.assert_array_equal(ours, _torch_round(x32, fmt))
    assert np.array_equal(np.signbit(ours), np.signbit(_torch_round(x32, fmt)))  # -0.0 too


@pytest.mark.parametrize("fmt", ["fp16", "bf16"])
def test_ties_round_to_even_like_torch(fmt):
    """Every midpoint between consecutive finite positive numbers of the format (exact in
    float32), and the midpoint above the largest finite number (which overflows to inf)."""
    f = P.format_info(fmt)
    patterns = np.arange(0, 2 ** 15, dtype=np.uint16)        # all non-negative encodings
    vals = torch.from_numpy(patterns.view(np.int16)).view(TORCH[fmt]).to(torch.float64).numpy()
    vals = np.sort(vals[np.isfinite(vals)])
    mids = np.concatenate([(vals[:-1] + vals[1:]) / 2, [f.max + 2.0 ** (f.emax - f.mantissa_bits - 1)]])
    x32 = mids.astype(np.float32)
    assert np.array_equal(x32.astype(np.float64), mids)    # the midpoints are float32 numbers
    ours = P.round_nearest(mids, fmt)
    np.testing.assert_array_equal(ours, _torch_round(x32, fmt))
    assert np.isinf(ours[-1])
    # a tie goes to the neighbour with an even last fraction bit
    _, _, frac = P.bit_fields(ours[:-1], fmt)
    assert np.all(frac % 2 == 0)


def test_fp16_rounding_of_float64_matches_numpy(rng):
    """NumPy converts float64 to float16 with a single correct rounding, as dlcore does."""
    x = np.concatenate([rng.standard_normal(5000) * 10.0 ** rng.integers(-9, 6, 5000),
                        [1 + 2 ** -11 + 2 ** -40, 65519.99, 65520.0, 2 ** -25, 2 ** -25 + 2 ** -60]])
    with np.errstate(over="ignore"):
        ref = x.astype(np.float16).astype(np.float64)
    np.testing.assert_array_equal(P.round_nearest(x, "fp16"), ref)


def test_nonfinite_pass_through_and_shapes():
    x = np.array([[np.inf, -np.inf], [np.nan, 1.0]])
    out = P.round_nearest(x, "bf16")
    assert out.shape == (2, 2) and np.isposinf(out[0, 0]) and np.isneginf(out[0, 1])
    assert np.isnan(out[1, 0]) and out[1, 1] == 1.0
    assert P.round_nearest(3.0, "fp16").shape == ()
    assert P.round_nearest(np.float32(0.1), "fp32") == np.float64(np.float32(0.1))
    x0 = np.array([0.1, 0.2])
    P.round_nearest(x0, "bf16")
    assert x0.tolist() == [0.1, 0.2]                       # input not modified


@pytest.mark.parametrize("fmt", ["fp16", "bf16"])
def test_bit_fields_match_torch_bit_patterns(fmt, rng):
    x = P.round_nearest(_probe_float32(rng, 4000).astype(np.float64), fmt)
    x = np.concatenate([x, [np.inf, -np.inf, P.format_info(fmt).smallest_subnormal]])
    s, e, m = P.bit_fields(x, fmt)
    f = P.format_info(fmt)
    ours = (s << (f.bits - 1)) | (e << f.mantissa_bits) | m
    ref = torch.from_numpy(x.astype(np.float32)).to(TORCH[fmt]).view(torch.int16).numpy()
    np.testing.assert_array_equal(ours, ref.astype(np.int64) & 0xFFFF)


def test_to_bits_examples():
    assert P.to_bits(1.0, "fp16") == "0 01111 0000000000"
    assert P.to_bits(65504.0, "fp16") == "0 11110 1111111111"
    assert P.to_bits(-2.0, "bf16") == "1 10000000 0000000"
    assert P.to_bits(2.0 ** -24, "fp16") == "0 00000 0000000001"
    assert P.to_bits(np.float32(1.5), "fp32") == "0 01111111 " + "1" + "0" * 22


def test_stochastic_rounding_neighbours_probability_and_reproducibility():
    f = P.format_info("bf16")
    x = np.full(200_000, 1.0 + 0.3 * 2 ** -7)                 # 30 % of the way to the next
    r = P.round_stochastic(x, "bf16", 0)
    assert set(np.unique(r)) == {1.0, 1.0 + f.eps}
    share = np.mean(r > 1.0)
    sd = np.sqrt(0.3 * 0.7 / x.size)
    assert abs(share - 0.3) < 5 * sd                          # P(up) = 0.3 within 5 sd
    np.testing.assert_array_equal(r, P.round_stochastic(x, "bf16", 0))
    assert not np.array_equal(r, P.round_stochastic(x, "bf16", 1))


@pytest.mark.parametrize("fmt", ["fp16", "bf16"])
def test_stochastic_rounding_is_unbiased(fmt, rng):
    """The mean of many stochastic roundings of the same x converges to x (5-sigma bound with
    the exact variance q^2 t (1 - t)), for x at many scales, negative values and subnormals."""
    f = P.format_info(fmt)
    xs = np.array([1 + 1e-4, -3.7, 1234.567, 3e-6, -2.5e-7 if fmt == "fp16" else -2e-39])
    n = 40_000
    for x in xs:
        r = P.round_stochastic(np.full(n, x), fmt, rng)
        lo, hi = r.min(), r.max()
        assert lo <= x <= hi and (hi - lo) <= 2 * f.eps * abs(x) + f.smallest_subnormal
        t = (x - lo) / (hi - lo) if hi > lo else 0.0
        sd = (hi - lo) * np.sqrt(t * (1 - t) / n)
        assert abs(r.mean() - x) <= 5 * sd + 1e-300


def test_stochastic_rounding_keeps_representable_values(rng):
    x = P.round_nearest(rng.standard_normal(1000), "bf16")
    np.testing.assert_array_equal(P.round_stochastic(x, "bf16", rng), x)


@pytest.mark.parametrize("fmt", ["fp16", "bf16"])
def test_torch_elementwise_add_is_correctly_rounded(fmt, rng):
    """A torch add of two bf16 (fp16) tensors equals round_nearest of the exact sum: torch
    adds in float32 and rounds, and float32 has more than 2p + 2 bits, so the double rounding
    is harmless for + (the book's sums rely on this)."""
    a = P.round_nearest(rng.standard_normal(20000) * 10.0 ** rng.integers(-4, 4, 20000), fmt)
    b = P.round_nearest(rng.standard_normal(20000) * 10.0 ** rng.integers(-4, 4, 20000), fmt)
    ta, tb = (torch.from_numpy(v).to(TORCH[fmt]) for v in (a, b))
    np.testing.assert_array_equal((ta + tb).to(torch.float64).numpy(), P.round_nearest(a + b, fmt))


def test_sequential_sum_stalls_where_theory_says(rng):
    assert P.sequential_sum(np.ones(1000), "bf16") == 256.0      # 2**8: 256 + 1 is a tie -> even
    assert P.sequential_sum(np.ones(5000), "fp16") == 2048.0     # 2**11
    assert P.sequential_sum(np.ones(1000), "bf16", accumulate="fp32") == 1000.0
    x = rng.uniform(0, 1, 500)
    xb = P.round_nearest(x, "bf16")
    s = torch.zeros((), dtype=torch.bfloat16)
    for v in torch.from_numpy(xb).to(torch.bfloat16):
        s = s + v                                                  # torch's bf16 adds, in order
    assert P.sequential_sum(x, "bf16") == s.item()
    assert P.sequential_sum(x, "bf16", accumulate="fp64") == P.round_nearest(xb.sum(), "bf16")


def test_loss_scaler_matches_torch_grad_scaler():
    pattern = [0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0]
    w = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([w], lr=0.1)
    ref = torch.amp.GradScaler("cpu", init_scale=8.0, growth_interval=3)
    ours = P.LossScaler(8.0, growth_interval=3)
    for bad in pattern:
        opt.zero_grad()
        g = [float("inf") if bad else 1.0, 2.0]
        ref.scale((w * torch.tensor(g)).sum()).backward()
        ref.step(opt)
        ref.update()
        grads, found = ours.unscale(ours.scale_loss(np.array(g)))
        assert found == bool(bad)
        assert ours.update(found) == ref.get_scale()
    assert [h[1] for h in ours.history] == [bool(b) for b in pattern]


def test_loss_scaler_static_and_unscale():
    s = P.LossScaler(1024.0, dynamic=False)
    (g,), found = s.unscale([np.array([2048.0, np.inf])])
    assert found and g[0] == 2.0
    assert s.update(True) == 1024.0 and s.update(False) == 1024.0
    g1, found = s.unscale(np.array([512.0]))
    assert not found and g1.tolist() == [0.5]
    assert float(s.scale_loss(0.5)) == 512.0
    assert repr(s) == "LossScaler(scale=1024, static)"


def test_loss_scaler_growth_stops_at_inf():
    s = P.LossScaler(2.0 ** 1023, growth_interval=1)
    assert s.update(False) == 2.0 ** 1023                      # doubling would overflow: kept


@pytest.mark.parametrize("call, msg", [
    (lambda: P.format_info("fp8"), r"^fmt: expected one of"),
    (lambda: P.FloatFormat("e4m3", 4.0, 3), r"^exponent_bits: expected an integer"),
    (lambda: P.FloatFormat("x", 5, 0), r"^mantissa_bits: expected an integer >= 1"),
    (lambda: P.FloatFormat("x", 12, 3), r"^exponent_bits, mantissa_bits: expected at most"),
    (lambda: P.FloatFormat(3, 5, 10), r"^name: expected a string"),
    (lambda: P.round_nearest([1.0], 16), r"^fmt: expected one of"),
    (lambda: P.round_nearest(["a"], "bf16"), r"^x: expected a real numeric array"),
    (lambda: P.round_stochastic([1.0], "bf16", rng=-1), r"^rng: expected None, a non-negative"),
    (lambda: P.bit_fields([np.nan], "fp16"), r"^x: expected no NaN"),
    (lambda: P.bit_fields([0.1], "fp16"), r"^x: expected values representable in fp16"),
    (lambda: P.to_bits([1.0, 2.0], "fp16"), r"^x: expected one number"),
    (lambda: P.sequential_sum(np.ones((2, 2)), "bf16"), r"^x: expected a 1-D array"),
    (lambda: P.sequential_sum([1e6], "fp16"), r"^x: expected values that are finite in fp16"),
    (lambda: P.sequential_sum([1.0], "bf16", accumulate="fp8"), r"^fmt: expected one of"),
    (lambda: P.LossScaler(0.0), r"^init_scale: expected a finite number > 0"),
    (lambda: P.LossScaler(dynamic="yes"), r"^dynamic: expected True or False"),
    (lambda: P.LossScaler(growth_factor=1.0), r"^growth_factor: expected a number > 1"),
    (lambda: P.LossScaler(backoff_factor=1.5), r"^backoff_factor: expected a number in \(0, 1\)"),
    (lambda: P.LossScaler(growth_interval=2.5), r"^growth_interval: expected an integer"),
    (lambda: P.LossScaler(growth_interval=0), r"^growth_interval: expected an integer >= 1"),
    (lambda: P.LossScaler().update(1), r"^found_inf: expected True or False"),
    (lambda: P.LossScaler().unscale([np.ones(2), "x"]), r"^grads\[1\]: expected a real numeric"),
])
def test_bad_arguments(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()


def test_torch_float64_conversion_rounds_twice():
    """Why the tests above convert from float32: torch rounds float64 -> float32 -> bf16, so
    1 + 2**-8 + 2**-30 (just above a bf16 tie) becomes 1.0, while a single rounding (dlcore,
    and IEEE's definition of the conversion) gives 1 + 2**-7."""
    x = 1 + 2 ** -8 + 2 ** -30
    assert torch.tensor(x, dtype=torch.float64).to(torch.bfloat16).item() == 1.0
    assert float(P.round_nearest(x, "bf16")) == 1 + 2 ** -7


@pytest.mark.parametrize("fmt", ["fp16", "bf16", "fp32"])
def test_scalar_rounding_path_equals_round_nearest(fmt, rng):
    x = np.concatenate([_probe_float32(rng, 3000).astype(np.float64),
                        rng.standard_normal(3000) * 10.0 ** rng.integers(-45, 45, 3000),
                        [np.inf, -np.inf, 1.7e308, -0.0]])
    ref = P.round_nearest(x, fmt)
    ours = np.array([P._round_scalar(float(v), P.format_info(fmt)) for v in x])
    np.testing.assert_array_equal(ours, ref)
    assert np.array_equal(np.signbit(ours), np.signbit(ref))


def test_a_custom_format_behaves_like_the_ieee_layout():
    """An fp8 E5M2-like layout (5 exponent bits, 2 fraction bits, IEEE conventions), against
    torch.float8_e5m2, which follows the same rules (ties to even, overflow to inf)."""
    e5m2 = P.FloatFormat("e5m2", 5, 2)
    assert e5m2.max == 57344 and e5m2.smallest_subnormal == 2.0 ** -16
    x = np.float32([0.3, 1.1, 1.125, 1.375, -7.0, 60000.0, 1e-5, 3e-5])
    ref = torch.from_numpy(x).to(torch.float8_e5m2).to(torch.float64).numpy()
    np.testing.assert_array_equal(P.round_nearest(x.astype(np.float64), e5m2), ref)
