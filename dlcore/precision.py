"""Number formats for mixed precision, simulated exactly in NumPy float64.

A binary floating-point format with ``e`` exponent bits and ``m`` stored mantissa bits
(IEEE 754 layout: sign, biased exponent, fraction; an implicit leading 1 for normal numbers,
gradual underflow through subnormals, the all-ones exponent for inf and NaN) is fixed by
``(e, m)``. From the bit layout alone:

* precision ``p = m + 1`` significant bits, machine epsilon ``eps = 2**-m`` (the gap between
  1 and the next number), unit roundoff ``eps / 2`` (the largest relative error of
  round-to-nearest);
* bias ``2**(e-1) - 1``, exponents ``emin = 1 - bias`` to ``emax = bias``;
* largest finite number ``(2 - 2**-m) * 2**emax``, smallest normal ``2**emin``, smallest
  subnormal ``2**(emin - m)``.

``FORMATS`` holds fp32 (8, 23), fp16 (5, 10) and bf16 (8, 7). The functions below return
float64 arrays whose values are exactly representable in the chosen format, so a notebook can
"compute in bf16" with NumPy and compare with PyTorch's ``torch.bfloat16`` tensors:

* ``round_nearest(x, fmt)``: IEEE round-to-nearest, ties to even, overflow to ±inf, gradual
  underflow; inf and NaN pass through. It rounds float64 input once, directly. (PyTorch's
  ``float64 -> bfloat16`` and ``float64 -> float16`` conversions round to float32 first, a
  double rounding that differs from this in rare near-tie cases; from float32 input the two
  agree bit for bit, which ``tests/test_precision.py`` checks.)
* ``round_stochastic(x, fmt, rng)``: rounds to one of the two neighbouring representable
  numbers, up with probability equal to the distance from the lower one in units of the gap,
  so ``E[round_stochastic(x)] = x`` (unbiased) for every ``x`` between the format's
  neighbours; values already representable are returned unchanged. Beyond the largest finite
  number rounding up gives inf, as with ``round_nearest``.
* ``bit_fields(x, fmt)``: the (sign, biased exponent, fraction) integer fields of
  representable values, and ``to_bits(x, fmt)`` the same as a string ``"0 01111 0000000000"``
  (the test compares them with the bit patterns of PyTorch tensors).
* ``sequential_sum(x, fmt, accumulate=...)``: a running sum ``s <- round(s + x_i)`` with the
  running sum kept in ``accumulate`` (a format name, or ``"fp64"`` for no rounding), and the
  result rounded once to ``fmt``: the long-sum error of low-precision accumulators.
* ``LossScaler``: loss scaling for fp16 training, static or dynamic with the semantics of
  ``torch.amp.GradScaler`` (initial scale 2**16, halve and skip the step when a gradient is
  inf or NaN, double after ``growth_interval`` clean steps in a row).

Everything is float64 NumPy; nothing here needs PyTorch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._validate import as_float_array, as_generator, check_int, check_positive

__all__ = ["FloatFormat", "FORMATS", "format_info", "round_nearest", "round_stochastic",
           "bit_fields", "to_bits", "sequential_sum", "LossScaler"]


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format given by its bit layout (1 sign bit, ``exponent_bits``,
    ``mantissa_bits`` stored fraction bits). Every other attribute is derived from those."""

    name: str
    exponent_bits: int
    mantissa_bits: int

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise ValueError(f"name: expected a string, got {type(self.name).__name__}")
        e = check_int(self.exponent_bits, "exponent_bits", min_value=2)
        m = check_int(self.mantissa_bits, "mantissa_bits", min_value=1)
        if e > 11 or m > 52:
            raise ValueError(f"exponent_bits, mantissa_bits: expected at most 11 and 52 (a "
                             f"format that float64 holds exactly), got {e} and {m}")

    @property
    def bits(self) -> int:
        return 1 + self.exponent_bits + self.mantissa_bits

    @property
    def precision(self) -> int:
        """Significant bits, the implicit leading 1 included."""
        return self.mantissa_bits + 1

    @property
    def bias(self) -> int:
        return 2 ** (self.exponent_bits - 1) - 1

    @property
    def emax(self) -> int:
        return self.bias

    @property
    def emin(self) -> int:
        return 1 - self.bias

    @property
    def eps(self) -> float:
        """Machine epsilon: the gap between 1 and the next representable number, 2**-m."""
        return 2.0 ** -self.mantissa_bits

    @property
    def unit_roundoff(self) -> float:
        """The largest relative error of round-to-nearest for normal numbers, eps / 2."""
        return self.eps / 2

    @property
    def max(self) -> float:
        return (2.0 - 2.0 ** -self.mantissa_bits) * 2.0 ** self.emax

    @property
    def smallest_normal(self) -> float:
        return 2.0 ** self.emin

    @property
    def smallest_subnormal(self) -> float:
        return 2.0 ** (self.emin - self.mantissa_bits)


FORMATS = {
    "fp32": FloatFormat("fp32", 8, 23),
    "fp16": FloatFormat("fp16", 5, 10),
    "bf16": FloatFormat("bf16", 8, 7),
}
_ALIASES = {"float32": "fp32", "float16": "fp16", "half": "fp16", "bfloat16": "bf16"}


def format_info(fmt) -> FloatFormat:
    """The ``FloatFormat`` named ``fmt`` ("fp32", "fp16", "bf16", or "float32", "float16",
    "half", "bfloat16"); a ``FloatFormat`` is returned as is."""
    if isinstance(fmt, FloatFormat):
        return fmt
    if isinstance(fmt, str):
        key = _ALIASES.get(fmt.lower(), fmt.lower())
        if key in FORMATS:
            return FORMATS[key]
    raise ValueError(f"fmt: expected one of {sorted(FORMATS) + sorted(_ALIASES)} or a "
                     f"FloatFormat, got {fmt!r}")


def _scaled(x: np.ndarray, f: FloatFormat):
    """For the finite non-zero entries of x: (mask, x / q, log2 q), with q the spacing of
    the format at x (2**(exponent - m), the exponent clamped at emin for subnormals). Both the
    division and the later multiplication are exact scalings by powers of two."""
    mask = np.isfinite(x) & (x != 0)
    xs = x[mask]
    _, e = np.frexp(xs)                      # xs = frac * 2**e with 0.5 <= |frac| < 1
    q_exp = np.maximum(e - 1, f.emin) - f.mantissa_bits
    return mask, np.ldexp(xs, -q_exp), q_exp


def _assemble(x: np.ndarray, mask, r, q_exp, f: FloatFormat) -> np.ndarray:
    out = np.array(x, dtype=np.float64, copy=True)
    with np.errstate(over="ignore"):          # 2**1024 overflows float64 to inf: intended
        y = np.ldexp(r, q_exp)
    y = np.where(np.abs(y) > f.max, np.copysign(np.inf, y), y)
    out[mask] = y
    return out


def round_nearest(x, fmt) -> np.ndarray:
    """``x`` rounded to the format ``fmt`` by IEEE round-to-nearest, ties to even.

    Returns a float64 array (a float64 0-d array for a scalar) holding the rounded values
    exactly. Finite values beyond the format's range become ±inf (IEEE overflow: anything at
    or above ``max + ulp/2`` in magnitude), tiny values round to subnormals or to a signed
    zero; inf and NaN pass through unchanged."""
    f = format_info(fmt)
    x = as_float_array(x, "x", allow_nonfinite=True)
    mask, s, q_exp = _scaled(x, f)
    return _assemble(x, mask, np.rint(s), q_exp, f)    # np.rint rounds half to even


def round_stochastic(x, fmt, rng) -> np.ndarray:
    """``x`` rounded to ``fmt`` stochastically: to the upper neighbour with probability
    ``(x - lower) / (upper - lower)``, else to the lower one.

    Unbiased, ``E[result] = x``, for every ``x`` with ``|x| <= max`` of the format; the
    variance of the error is ``q**2 * t * (1 - t)`` with ``q`` the gap and ``t`` the fractional
    position, at most ``q**2 / 4``. Representable values (and inf, NaN) are returned unchanged.
    ``rng``: a seed or ``numpy.random.Generator``; one uniform number is drawn per entry of
    ``x`` (in C order), so results are reproducible for a given seed and shape."""
    f = format_info(fmt)
    x = as_float_array(x, "x", allow_nonfinite=True)
    g = as_generator(rng)
    u = g.random(x.shape)
    mask, s, q_exp = _scaled(x, f)
    lower = np.floor(s)
    r = lower + (u[mask] < (s - lower))      # s - lower is exact (s has at most 53 significant bits)
    return _assemble(x, mask, r, q_exp, f)


def bit_fields(x, fmt):
    """(sign, exponent, fraction) integer arrays of the IEEE encoding of ``x`` in ``fmt``.

    ``x`` must already be representable in ``fmt`` (round it first with ``round_nearest``);
    inf is encoded with the all-ones exponent and fraction 0. NaN has no unique encoding and is
    rejected."""
    f = format_info(fmt)
    x = as_float_array(x, "x", allow_nonfinite=True)
    if np.isnan(x).any():
        raise ValueError("x: expected no NaN (a NaN has many encodings), got NaN")
    if not np.array_equal(round_nearest(x, f), x):
        raise ValueError(f"x: expected values representable in {f.name}; "
                         f"round them first with round_nearest(x, {f.name!r})")
    sign = np.signbit(x).astype(np.int64)
    a = np.abs(x)
    exponent = np.zeros(x.shape, dtype=np.int64)
    fraction = np.zeros(x.shape, dtype=np.int64)
    inf = np.isinf(a)
    exponent[inf] = 2 ** f.exponent_bits - 1
    normal = np.isfinite(a) & (a >= f.smallest_normal)
    sub = np.isfinite(a) & (a > 0) & ~normal
    _, e = np.frexp(a[normal])
    exponent[normal] = e - 1 + f.bias
    fraction[normal] = (np.ldexp(a[normal], f.mantissa_bits - (e - 1)) - 2 ** f.mantissa_bits
                        ).astype(np.int64)
    fraction[sub] = np.ldexp(a[sub], f.mantissa_bits - f.emin).astype(np.int64)
    return sign, exponent, fraction


def to_bits(x, fmt) -> str:
    """The encoding of one representable number as "sign exponent fraction" bit strings,
    e.g. ``to_bits(1.0, "fp16") == "0 01111 0000000000"``."""
    f = format_info(fmt)
    arr = as_float_array(x, "x", allow_nonfinite=True)
    if arr.size != 1:
        raise ValueError(f"x: expected one number, got shape {arr.shape}")
    s, e, m = (int(v.reshape(-1)[0]) for v in bit_fields(arr, f))
    return f"{s} {e:0{f.exponent_bits}b} {m:0{f.mantissa_bits}b}"


def sequential_sum(x, fmt, accumulate=None) -> float:
    """``sum(x)`` computed left to right as a low-precision kernel would: every ``x_i`` is
    first rounded to ``fmt``, the running sum is rounded to ``accumulate`` after each addition
    (``accumulate=None`` means ``fmt`` itself; ``"fp64"`` means no rounding), and the result is
    rounded once to ``fmt``. ``x`` is a 1-D array."""
    f = format_info(fmt)
    acc = None if accumulate == "fp64" else f if accumulate is None else format_info(accumulate)
    x = round_nearest(as_float_array(x, "x", ndim=1), f)
    if not np.isfinite(x).all():
        raise ValueError(f"x: expected values that are finite in {f.name}, got inf or NaN "
                         f"after rounding (max of {f.name} is {f.max:g})")
    s = 0.0
    for v in x.tolist():
        s = s + v if acc is None else _round_scalar(s + v, acc)
    return float(round_nearest(np.array(s), f))


def _round_scalar(v: float, f: FloatFormat) -> float:
    """``round_nearest`` for one Python float (the loop of ``sequential_sum`` calls it once
    per element, where NumPy's per-call overhead would dominate). ``round`` of a float rounds
    half to even, like ``np.rint``."""
    if v == 0.0 or not math.isfinite(v):
        return v
    q = max(math.frexp(v)[1] - 1, f.emin) - f.mantissa_bits
    try:
        r = math.copysign(math.ldexp(round(math.ldexp(v, -q)), q), v)   # keeps -0.0
    except OverflowError:
        return math.copysign(math.inf, v)
    return r if abs(r) <= f.max else math.copysign(math.inf, r)


class LossScaler:
    """Loss scaling for fp16 training: static (a fixed scale) or dynamic, as
    ``torch.amp.GradScaler``.

    Use: ``loss_for_backward = scaler.scale_loss(loss)``; after the backward pass
    ``grads, found_inf = scaler.unscale(scaled_grads)``; take the optimizer step only if not
    ``found_inf``; then ``scaler.update(found_inf)``. Dynamic scaling (``dynamic=True``)
    multiplies the scale by ``backoff_factor`` after a step with an inf or NaN gradient and by
    ``growth_factor`` after ``growth_interval`` consecutive clean steps (a clean-step counter
    that an overflow resets), exactly GradScaler's rule. Static scaling keeps the scale; its
    ``unscale`` still reports ``found_inf`` so the caller can skip the step.

    Attributes: ``scale`` (float), ``growth_tracker`` (clean steps since the last change),
    ``history`` (list of ``(scale used, found_inf)`` per ``update``)."""

    def __init__(self, init_scale=2.0 ** 16, *, dynamic=True, growth_factor=2.0,
                 backoff_factor=0.5, growth_interval=2000):
        self.scale = check_positive(init_scale, "init_scale")
        if not isinstance(dynamic, (bool, np.bool_)):
            raise ValueError(f"dynamic: expected True or False, got {dynamic!r}")
        self.dynamic = bool(dynamic)
        self.growth_factor = check_positive(growth_factor, "growth_factor")
        if self.growth_factor <= 1.0:
            raise ValueError(f"growth_factor: expected a number > 1, got {growth_factor!r}")
        self.backoff_factor = check_positive(backoff_factor, "backoff_factor")
        if self.backoff_factor >= 1.0:
            raise ValueError(f"backoff_factor: expected a number in (0, 1), got {backoff_factor!r}")
        self.growth_interval = check_int(growth_interval, "growth_interval", min_value=1)
        self.growth_tracker = 0
        self.history: list[tuple[float, bool]] = []

    def scale_loss(self, loss):
        """``loss * scale`` (a number or an array)."""
        return as_float_array(loss, "loss", allow_nonfinite=True) * self.scale

    def unscale(self, grads):
        """``(grads / scale, found_inf)`` for a list of arrays (or one array): the unscaled
        gradients as new float64 arrays, and whether any entry is inf or NaN."""
        single = not isinstance(grads, (list, tuple))
        arrays = [as_float_array(g, "grads" if single else f"grads[{i}]", allow_nonfinite=True)
                  for i, g in enumerate([grads] if single else grads)]
        found_inf = any(not np.isfinite(a).all() for a in arrays)
        out = [a / self.scale for a in arrays]
        return (out[0] if single else out), found_inf

    def update(self, found_inf) -> float:
        """Record the step and return the scale for the next one."""
        if not isinstance(found_inf, (bool, np.bool_)):
            raise ValueError(f"found_inf: expected True or False, got {found_inf!r}")
        self.history.append((self.scale, bool(found_inf)))
        if not self.dynamic:
            return self.scale
        if found_inf:
            self.scale *= self.backoff_factor
            self.growth_tracker = 0
        else:
            self.growth_tracker += 1
            if self.growth_tracker == self.growth_interval:
                grown = self.scale * self.growth_factor
                if np.isfinite(grown):
                    self.scale = grown
                self.growth_tracker = 0
        return self.scale

    def __repr__(self):
        kind = "dynamic" if self.dynamic else "static"
        return f"LossScaler(scale={self.scale:g}, {kind})"
