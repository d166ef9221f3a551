"""Checker of the number-formats chapter: ``check_round_to_bf16`` (float32 -> bfloat16 with
round-to-nearest-even).
"""
from __future__ import annotations

import numpy as np

from ._common import _require_callable, _call, _as_array, _failw, _ok

__all__ = ["check_round_to_bf16"]

# ===================================================== precision: float32 -> bf16 rounding


def _bits(x32):
    return np.asarray(x32, dtype=np.float32).view(np.uint32).astype(np.uint64)


def _from_bits(b):
    return (np.asarray(b, dtype=np.uint64) & 0xFFFFFFFF).astype(np.uint32).view(np.float32)


def _bf16_cases():
    """Four float32 inputs: ordinary values over many scales; exact ties (halfway between two
    bf16 numbers, half with an even lower neighbour, half with an odd one); values near the
    largest bf16 number (some round to inf); negative and subnormal values."""
    g = np.random.default_rng(2024)
    ordinary = (g.standard_normal(64) * 10.0 ** g.integers(-6, 7, 64)).astype(np.float32)
    hi = g.integers(0x3F00, 0x4100, 32, dtype=np.uint64)         # bf16 patterns near 1..4
    hi[::2] &= ~np.uint64(1)                                      # even lower neighbours
    hi[1::2] |= np.uint64(1)                                      # odd lower neighbours
    ties = _from_bits((hi << np.uint64(16)) | np.uint64(0x8000))
    top = _from_bits(np.array([0x7F7F0000, 0x7F7F7FFF, 0x7F7F8000, 0x7F7FFFFF, 0x7F7E8000,
                               0x7F7F4000, 0x7F7EC000], dtype=np.uint64))
    small = np.concatenate([-np.abs(ordinary[:16]),
                            _from_bits(g.integers(1, 0x007FFFFF, 16, dtype=np.uint64)),
                            np.float32([0.0, -0.0, 1e-40, -3e-39])]).astype(np.float32)
    return [("ordinary values", ordinary), ("exact ties", ties),
            ("values near the largest bf16 number", top), ("negative and subnormal values", small)]


def _bf16_reference(x32):
    from ..precision import round_nearest
    return round_nearest(np.asarray(x32, dtype=np.float64), "bf16")


def _bf16_truncate(x32):
    return _from_bits(_bits(x32) & np.uint64(0xFFFF0000)).astype(np.float64)


def _bf16_half_away(x32):
    return _from_bits((_bits(x32) + np.uint64(0x8000)) & np.uint64(0xFFFF0000)).astype(np.float64)


def _bf16_variants(x32):
    with np.errstate(over="ignore"):
        as_fp16 = x32.astype(np.float16).astype(np.float64)
    ref = _bf16_reference(x32)
    f_max = float(_from_bits(np.array([0x7F7F0000], dtype=np.uint64))[0])
    return [
        (x32.astype(np.float64), "nothing was rounded: a bf16 number keeps only the top 16 bits "
                                 "of the float32 pattern (1 sign, 8 exponent, 7 fraction bits)."),
        (_bf16_truncate(x32), "you truncated (dropped the low 16 bits): round to nearest instead, by "
                         "adding 0x7FFF + (the lowest kept bit) before dropping them."),
        (_bf16_half_away(x32), "ties must go to the even neighbour: adding 0x8000 rounds halfway "
                          "cases away from zero; add 0x7FFF + ((bits >> 16) & 1) instead."),
        (as_fp16, "that is float16 (5 exponent bits, 10 fraction bits); bfloat16 keeps "
                  "float32's 8 exponent bits and 7 fraction bits."),
        (np.clip(ref, -f_max, f_max), "values that round beyond the largest bf16 number "
                                      "(3.39e38) must become inf, as in IEEE rounding; do not "
                                      "clamp them."),
    ]


def check_round_to_bf16(fn) -> bool:
    """Check ``fn(x) -> y``: round a float32 array ``x`` to bfloat16, round-to-nearest with
    ties to even (what ``torch.tensor(x).to(torch.bfloat16)`` does). ``y`` holds the bf16
    values as float32 or float64 numbers, with the shape of ``x``. Compared with
    ``dlcore.precision.round_nearest`` on four inputs (ordinary values, exact ties, values
    near the largest bf16 number, negative and subnormal values), exactly (no tolerance: a
    rounding has one right answer)."""
    _require_callable(fn, "fn(x) -> bf16 values of the float32 array x")
    title = "Round to bf16"
    cases = _bf16_cases()
    for k, (label, x32) in enumerate(cases, start=1):
        where = f"Case {k} of {len(cases)} ({label}, shape {x32.shape})"
        out, err = _call(fn, x32.copy())
        if err is not None:
            return _failw(title, where, f"your function raised {err}",
                          "view the float32 array as uint32 (x.view(np.uint32)) and work on "
                          "the bit patterns, or run it by hand on this input.")
        y = _as_array(out)
        if y is None:
            return _failw(title, where, f"expected an array of numbers, got {type(out).__name__}",
                          "return the rounded values as a NumPy array.")
        ref = _bf16_reference(x32)
        if y.shape != ref.shape:
            return _failw(title, where, f"expected shape {ref.shape}, got shape {y.shape}",
                          "round element-wise; keep the input's shape.")
        same = (y == ref) | (np.isnan(y) & np.isnan(ref))
        if same.all():
            continue
        i = int(np.flatnonzero(~same)[0])
        problem = (f"entry {i}: float32 {float(x32[i]):.9g} should round to "
                   f"{float(ref[i]):.9g}, got {float(y[i]):.9g}")
        hint = next((h for v, h in _bf16_variants(x32) if np.array_equal(v, y, equal_nan=True)),
                    "round to nearest, ties to even, on the bit pattern: "
                    "bits + 0x7FFF + ((bits >> 16) & 1), then keep the top 16 bits.")
        return _failw(title, where, problem, hint)
    return _ok(f"{title}: correct. Your rounding equals round-to-nearest-even on all "
               f"{len(cases)} cases (ties, overflow to inf, subnormals, negative values).")
