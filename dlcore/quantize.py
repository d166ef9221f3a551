"""Weight and activation quantization, simulated exactly in NumPy: absmax int8, block-wise
4-bit (int4 and QLoRA's NF4) and LLM.int8()'s matrix product with outlier decomposition.

**Symmetric absmax quantization** to ``bits`` bits maps a group of values to integers in
``[-qmax, qmax]``, ``qmax = 2**(bits-1) - 1`` (127 for int8):

    scale = max|x| / qmax,    q = round(x / scale),    x_hat = q * scale,

with one scale per *group*: the whole tensor (``channel_axis=None``, per-tensor), or one per
index along ``channel_axis`` (per-channel: for a weight in dlcore's (in, out) layout the output
channels are ``channel_axis=1``). ``round`` is round-half-to-even (``np.rint``, as PyTorch's
``quantize_per_tensor``). The rounding error of each value is at most ``scale / 2``, so a
single large value (an outlier) in a group coarsens the step for every other value of it:
per-channel and block-wise scales confine an outlier's damage to its own channel or block.

* ``absmax_quantize`` / ``dequantize``: per-tensor or per-channel int ``bits`` (2..8);
* ``blockwise_quantize`` / ``blockwise_dequantize``: flattened blocks of ``block_size``
  values, each with its own absmax, either uniform int (``code="int"``) or the 16 NF4 levels
  of QLoRA (``code="nf4"``, ``NF4_LEVELS``, nearest level of x / absmax);
* ``int8_matmul``: ``x @ W`` with x quantized per row (token) and W per column (output
  channel), products accumulated exactly in integers, then rescaled; with ``threshold``, the
  input features (columns of x) holding any ``|x| > threshold`` are multiplied in float64
  instead (LLM.int8()'s mixed-precision decomposition, Dettmers et al. 2022).
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_int, check_positive

__all__ = ["absmax_quantize", "dequantize", "blockwise_quantize", "blockwise_dequantize",
           "int8_matmul", "NF4_LEVELS"]

# The 16 levels of 4-bit NormalFloat (QLoRA, Dettmers et al. 2023; bitsandbytes' table):
# quantiles of N(0, 1) scaled to [-1, 1], asymmetric so that 0 is a level exactly.
NF4_LEVELS = np.array([
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0])
NF4_LEVELS.setflags(write=False)


def _qmax(bits) -> int:
    return 2 ** (check_int(bits, "bits", min_value=2) - 1) - 1


def _check_bits(bits, hi=8):
    b = check_int(bits, "bits", min_value=2)
    if b > hi:
        raise ValueError(f"bits: expected an integer in [2, {hi}], got {b}")
    return b


def _safe_scale(absmax, qmax):
    """absmax / qmax, and 1 where a group is all zeros (its codes are 0 whatever the scale)."""
    return np.where(absmax > 0, absmax / qmax, 1.0)


def absmax_quantize(x, bits=8, channel_axis=None):
    """Symmetric absmax quantization: ``(q, scale)`` with ``x ~ q * scale``.

    ``q`` is an int8 array (values in [-qmax, qmax]) of x's shape; ``scale`` a float64 array
    that broadcasts against it: shape () per tensor, or x's shape with every axis but
    ``channel_axis`` of length 1 (one scale per channel)."""
    x = as_float_array(x, "x")
    qmax = _qmax(_check_bits(bits))
    if channel_axis is None:
        absmax = np.max(np.abs(x)) if x.size else np.float64(0.0)
    else:
        if x.ndim == 0:
            raise ValueError("x: expected at least 1 dimension for per-channel quantization, got a scalar")
        ax = check_int(channel_axis, "channel_axis")
        if not -x.ndim <= ax < x.ndim:
            raise ValueError(f"channel_axis: expected an axis in [{-x.ndim}, {x.ndim - 1}] "
                             f"for shape {x.shape}, got {ax}")
        others = tuple(a for a in range(x.ndim) if a != ax % x.ndim)
        absmax = np.max(np.abs(x), axis=others, keepdims=True)
    scale = np.asarray(_safe_scale(absmax, qmax), dtype=np.float64)
    q = np.clip(np.rint(x / scale), -qmax, qmax).astype(np.int8)
    return q, scale


def dequantize(q, scale):
    """``q * scale`` as float64 (scale broadcast as returned by ``absmax_quantize``)."""
    q = np.asarray(q)
    if not np.issubdtype(q.dtype, np.integer):
        raise ValueError(f"q: expected an integer array, got dtype {q.dtype}")
    s = as_float_array(scale, "scale")
    try:
        return q.astype(np.float64) * s
    except ValueError:
        raise ValueError(f"scale: expected a shape that broadcasts against q {q.shape}, "
                         f"got {s.shape}") from None


def _blocks(x, block_size):
    flat = x.reshape(-1)
    pad = (-flat.size) % block_size
    if pad:
        flat = np.concatenate([flat, np.zeros(pad)])
    return flat.reshape(-1, block_size)


def blockwise_quantize(x, block_size=64, bits=4, code="int"):
    """Quantize the flattened ``x`` in blocks of ``block_size`` values, one absmax per block.

    ``code="int"``: uniform levels in [-qmax, qmax] (``bits`` 2..8); ``code="nf4"``: the 16
    ``NF4_LEVELS`` (``bits`` must be 4), each value mapped to the nearest level of
    ``x / absmax``. Returns ``(codes, absmax)``: int8 codes of shape (n_blocks, block_size)
    (level indices 0..15 for nf4) and the (n_blocks,) float64 absmax values; the last block
    is zero-padded. ``blockwise_dequantize(codes, absmax, x.shape, code)`` inverts it."""
    x = as_float_array(x, "x")
    if x.size == 0:
        raise ValueError("x: expected at least one value, got an empty array")
    block_size = check_int(block_size, "block_size", min_value=1)
    bits = _check_bits(bits)
    if code not in ("int", "nf4"):
        raise ValueError(f"code: expected 'int' or 'nf4', got {code!r}")
    blocks = _blocks(x, block_size)
    absmax = np.max(np.abs(blocks), axis=1)
    if code == "int":
        qmax = _qmax(bits)
        scale = _safe_scale(absmax, qmax)[:, None]
        return np.clip(np.rint(blocks / scale), -qmax, qmax).astype(np.int8), absmax
    if bits != 4:
        raise ValueError(f"bits: NF4 has 16 levels, expected bits=4, got {bits}")
    normed = blocks / np.where(absmax > 0, absmax, 1.0)[:, None]
    codes = np.argmin(np.abs(normed[..., None] - NF4_LEVELS), axis=-1).astype(np.int8)
    return codes, absmax


def blockwise_dequantize(codes, absmax, shape, code="int", bits=4):
    """The float64 array of ``shape`` that ``blockwise_quantize`` encoded."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"codes: expected a 2-D integer array (n_blocks, block_size), "
                         f"got dtype {codes.dtype}, shape {codes.shape}")
    absmax = as_float_array(absmax, "absmax", ndim=1)
    if absmax.shape[0] != codes.shape[0]:
        raise ValueError(f"absmax: expected shape ({codes.shape[0]},) (one per block), "
                         f"got shape {absmax.shape}")
    dims = shape if isinstance(shape, (tuple, list)) else (shape,)
    shape = tuple(check_int(d, "shape", min_value=1) for d in dims)
    n = int(np.prod(shape))
    if not codes.size - codes.shape[1] < n <= codes.size:
        raise ValueError(f"shape: expected {codes.shape[0]} blocks of {codes.shape[1]} to hold "
                         f"it, got shape {shape}")
    if code == "int":
        values = codes * _safe_scale(absmax, _qmax(_check_bits(bits)))[:, None]
    elif code == "nf4":
        if codes.min() < 0 or codes.max() > 15:
            raise ValueError("codes: expected NF4 level indices in [0, 15]")
        values = NF4_LEVELS[codes] * absmax[:, None]
    else:
        raise ValueError(f"code: expected 'int' or 'nf4', got {code!r}")
    return values.reshape(-1)[:n].reshape(shape)


def int8_matmul(x, W, threshold=None):
    """``x @ W`` through int8: x (N, K) quantized per row, W (K, M) per column, the integer
    products summed exactly (int64 here, int32 on hardware), then multiplied by the two
    scales. ``threshold``: input features (columns of x) with any ``|x| > threshold`` are
    taken out and multiplied in float64 (LLM.int8()'s decomposition; 6.0 in the paper).
    Returns the float64 (N, M) product."""
    x = as_float_array(x, "x", ndim=2)
    W = as_float_array(W, "W", ndim=2)
    if x.shape[1] != W.shape[0]:
        raise ValueError(f"W: expected shape ({x.shape[1]}, M) to multiply x {x.shape}, "
                         f"got shape {W.shape}")
    out = np.zeros((x.shape[0], W.shape[1]))
    regular = np.ones(x.shape[1], dtype=bool)
    if threshold is not None:
        t = check_positive(threshold, "threshold")
        regular = ~np.any(np.abs(x) > t, axis=0)
        out += x[:, ~regular] @ W[~regular]               # outlier features in high precision
    if regular.any():
        qx, sx = absmax_quantize(x[:, regular], channel_axis=0)     # one scale per row
        qw, sw = absmax_quantize(W[regular], channel_axis=1)        # one scale per column
        acc = qx.astype(np.int64) @ qw.astype(np.int64)
        out += acc * sx * sw
    return out
