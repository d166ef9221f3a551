"""Checker of the CNN chapter: ``check_conv2d_forward``.
"""
from __future__ import annotations

import numpy as np

from ._common import _require_callable, _call, _as_array, _close, _failw, _ok, _differs

__all__ = ["check_conv2d_forward"]

# ============================================================ cnn: conv2d forward

# (N, C, H, W, O, kh, kw, stride, padding): a single channel, a non-square kernel with padding,
# stride 2 with padding (floor in the size formula), stride 3
_CONV_CASES = [(1, 1, 5, 5, 1, 3, 3, 1, 0), (2, 3, 6, 7, 4, 3, 2, 1, 1),
               (2, 2, 7, 6, 3, 3, 3, 2, 1), (1, 2, 8, 8, 2, 2, 3, 3, 0)]


def _conv_reference(x, W, b, stride, padding):
    from ..conv import Conv2d
    o, c, kh, kw = W.shape
    layer = Conv2d(c, o, (kh, kw), stride=stride, padding=padding, rng=0)
    layer.params["W"][...], layer.params["b"][...] = W, b
    return layer.forward(x)


def check_conv2d_forward(fn) -> bool:
    """Check ``fn(x, W, b, stride, padding) -> out``, a 2-D convolution on NCHW arrays.

    ``x`` (N, C, H, W), ``W`` (O, C, kh, kw), ``b`` (O,), integer ``stride`` and zero
    ``padding`` (same on both axes), as ``torch.nn.Conv2d``: cross-correlation (the kernel
    is not flipped), ``out`` of shape (N, O, OH, OW) with ``OH = (H + 2 padding - kh) //
    stride + 1``. Compared with ``dlcore.conv.Conv2d`` on four cases.
    """
    _require_callable(fn, "fn(x, W, b, stride, padding) -> out")
    title = "Conv2d forward"
    for k, (n, c, h, w, o, kh, kw, s, pad) in enumerate(_CONV_CASES, start=1):
        g_ = np.random.default_rng(1100 + k)
        x = g_.standard_normal((n, c, h, w))
        W, b = g_.standard_normal((o, c, kh, kw)), g_.standard_normal(o)
        ref = _conv_reference(x, W, b, s, pad)
        where = (f"Case {k} of {len(_CONV_CASES)} (x {x.shape}, W {W.shape}, stride {s}, "
                 f"padding {pad})")
        out, err = _call(fn, x, W, b, s, pad)
        if err is not None:
            return _failw(title, where, f"your function raised {err}",
                          "run it by hand on arrays of these shapes and read the traceback.")
        y = _as_array(out)
        if y is None:
            return _failw(title, where, f"expected a numeric array, got {type(out).__name__}",
                          "return out as a NumPy array of shape (N, O, OH, OW).")
        if y.shape != ref.shape:
            oh, ow = ref.shape[2:]

            def size(hh, ww, ss, pp, ceil=False, plus_one=True):
                f = (lambda a, q: -(-a // q)) if ceil else (lambda a, q: a // q)
                return (f(hh + 2 * pp - kh, ss) + plus_one, f(ww + 2 * pp - kw, ss) + plus_one)
            if y.shape == (n, oh, ow, o):
                hint = "the layout is NCHW: out[n, o, i, j], channels before height and width."
            elif y.shape[:2] != (n, o):
                hint = ("out has shape (N, O, OH, OW): one channel per kernel (W.shape[0]); the "
                        "input channels are summed over.")
            elif y.shape[2:] == size(h, w, 1, pad) and s > 1:
                hint = "you ignored the stride: move the window by `stride` positions."
            elif y.shape[2:] == size(h, w, s, 0) and pad > 0:
                hint = "you ignored the padding: pad x with `padding` zeros on each side first."
            elif y.shape[2:] == size(h, w, s, pad, ceil=True):
                hint = ("the output size rounds down: OH = (H + 2 padding - kh) // stride + 1 "
                        "(a window that does not fit is dropped).")
            else:
                hint = "OH = (H + 2 padding - kh) // stride + 1, and the same for OW with kw."
            return _failw(title, where, f"out has shape {y.shape}, expected {ref.shape}", hint)
        if not np.all(np.isfinite(y)):
            return _failw(title, where, "out contains NaN or inf",
                          "look for an uninitialised array (np.empty) or a division.")
        if _close(y, ref):
            continue
        variants = [
            (_conv_reference(x, W[:, :, ::-1, ::-1], b, s, pad),
             "you flipped the kernel (a convolution in the mathematical sense): deep-learning "
             "'convolution' is cross-correlation, out[i, j] = sum W[u, v] * x[i*s + u, j*s + v], "
             "with no flip."),
            (ref - b[None, :, None, None],
             "you left out the bias: add b[o] to every position of output channel o."),
            (ref - b[None, :, None, None] + b.sum(),
             "every output channel gets only its own bias b[o], not the sum of all biases."),
        ]
        if kh == kw and h == w:
            variants.append((_conv_reference(x, W.transpose(0, 1, 3, 2), b, s, pad),
                             "the kernel is transposed: W[o, c, u, v] multiplies x at row "
                             "i*s + u and column j*s + v."))
        hint = next((hh for v, hh in variants if _close(y, v)),
                    "out[n, o, i, j] = b[o] + sum over c, u, v of W[o, c, u, v] * "
                    "xpad[n, c, i*stride + u, j*stride + v].")
        return _failw(title, where, _differs("out", y, ref), hint)
    _ok(f"{title}: correct. out matches dlcore.conv.Conv2d on {len(_CONV_CASES)} cases "
          "(non-square kernels, stride 1 to 3, padding 0 and 1) to rtol 1e-8.")
    return True
