"""Convolution and pooling on NCHW arrays, by im2col, with forward and backward passes.

What deep-learning libraries call convolution is cross-correlation: the kernel is not
flipped. For input ``x`` of shape (N, C, H, W) and weights ``W`` of shape (O, C, kh, kw)::

    out[n, o, i, j] = b[o] + sum_{c, u, v} W[o, c, u, v] * xpad[n, c, i*s + u, j*s + v]

``im2col`` gathers every receptive field into one row, (N*OH*OW, C*kh*kw), so the whole
convolution is one matrix product ``cols @ W.reshape(O, -1).T``; its backward is two more
products and ``col2im``, which adds each row back into the input positions it came from
(overlapping windows accumulate). ``Conv2d`` computes the same products on the transposed
layout, ``W.reshape(O, -1) @ cols.T`` with ``cols.T`` of shape (C*kh*kw, N*OH*OW) built directly
(``_im2col_t``): each of its rows is one shifted slice of one input channel, so building it and
adding it back (``_col2im_t``) read and write memory in order, and the products come out
channel-major, one row per output channel (the layout PyTorch's CPU kernel uses per image).
The output size along one axis is::

    OH = floor((H + 2*padding - dilation*(kh - 1) - 1) / stride) + 1

the formula of ``torch.nn.Conv2d``'s documentation (``conv_output_size``).

The layers (``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``Flatten``) follow the conventions of
``dlcore.layers`` and are re-exported there; ``dlcore.conv`` (the topic module the book
imports) re-exports everything here.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_float_array, as_generator, check_bool, check_int
from .base import Layer

__all__ = ["conv_output_size", "im2col", "col2im", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten"]


def _pair(value, name, minimum):
    """(int, int) from an int or a pair of ints, each at least ``minimum``."""
    if isinstance(value, tuple) and len(value) == 2:
        return (check_int(value[0], f"{name}[0]", min_value=minimum),
                check_int(value[1], f"{name}[1]", min_value=minimum))
    if isinstance(value, (tuple, list, np.ndarray)):
        raise ValueError(f"{name}: expected an int >= {minimum} or a pair of them, got {value!r}")
    v = check_int(value, name, min_value=minimum)
    return v, v


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """Output length along one axis: floor((size + 2p - d(k-1) - 1) / s) + 1."""
    size, kernel_size = check_int(size, "size", min_value=1), check_int(kernel_size, "kernel_size", min_value=1)
    stride, padding = check_int(stride, "stride", min_value=1), check_int(padding, "padding", min_value=0)
    dilation = check_int(dilation, "dilation", min_value=1)
    out = (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1
    if out < 1:
        raise ValueError(f"kernel_size: the (dilated) kernel {dilation * (kernel_size - 1) + 1} "
                         f"is larger than the padded input {size + 2 * padding}")
    return int(out)


def _windows(x, kernel, stride, padding):
    """View of every receptive field: shape (N, C, OH, OW, kh, kw) (a copy only for padding)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = conv_output_size(x.shape[2], kh, sh)
    ow = conv_output_size(x.shape[3], kw, sw)
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    return win[:, :, ::sh, ::sw][:, :, :oh, :ow]


def im2col(x, kernel_size, stride=1, padding=0):
    """Rows of receptive fields: (N*OH*OW, C*kh*kw), row order (n, i, j), column order (c, u, v)."""
    x = as_float_array(x, "x", ndim=4)
    k, s, p = (_pair(kernel_size, "kernel_size", 1), _pair(stride, "stride", 1),
               _pair(padding, "padding", 0))
    return _im2col(x, k, s, p)


def _im2col(x, kernel, stride, padding):
    """``im2col`` on a checked float64 array with checked (pair) sizes."""
    win = _windows(x, kernel, stride, padding)
    n, c, oh, ow, kh, kw = win.shape
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(n * oh * ow, c * kh * kw)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0):
    """The adjoint of ``im2col``: add every row back where it came from; returns shape x_shape."""
    cols = as_float_array(cols, "cols", ndim=2)
    if not (isinstance(x_shape, (tuple, list)) and len(x_shape) == 4):
        raise ValueError(f"x_shape: expected a 4-tuple (N, C, H, W), got {x_shape!r}")
    n, c, h, w = (check_int(v, f"x_shape[{i}]", min_value=1) for i, v in enumerate(x_shape))
    (kh, kw), (sh, sw), (ph, pw) = (_pair(kernel_size, "kernel_size", 1), _pair(stride, "stride", 1),
                                    _pair(padding, "padding", 0))
    oh = conv_output_size(h + 2 * ph, kh, sh)
    ow = conv_output_size(w + 2 * pw, kw, sw)
    if cols.shape != (n * oh * ow, c * kh * kw):
        raise ValueError(f"cols: expected shape {(n * oh * ow, c * kh * kw)} for x_shape {x_shape}, "
                         f"got shape {cols.shape}")
    return _col2im(cols, (n, c, h, w), (kh, kw), (sh, sw), (ph, pw))


def _col2im(cols, x_shape, kernel, stride, padding):
    """``col2im`` on a checked (N*OH*OW, C*kh*kw) float64 array with checked sizes."""
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh = conv_output_size(h + 2 * ph, kh, sh)
    ow = conv_output_size(w + 2 * pw, kw, sw)
    blocks = cols.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)  # (N, C, kh, kw, OH, OW)
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
    for u in range(kh):
        for v in range(kw):
            out[:, :, u:u + sh * oh:sh, v:v + sw * ow:sw] += blocks[:, :, u, v]
    return out[:, :, ph:ph + h, pw:pw + w]


def _im2col_t(x, kernel, stride, padding, out=None):
    """``im2col(x).T`` laid out for speed: (C*kh*kw, N*OH*OW), rows (c, u, v), columns (n, i, j).

    Row (c, u, v) is channel c of the input shifted by (u, v): a strided slice of the image, so
    the copy reads memory in order (``im2col``'s rows gather C*kh*kw scattered values each).
    ``Conv2d`` multiplies ``W.reshape(O, -1) @ cols_t``: the same products as ``im2col`` gives.
    ``out``: an array of that shape to write into (``Conv2d`` reuses one across calls).
    """
    win = _windows(x, kernel, stride, padding)                          # (N, C, OH, OW, kh, kw)
    n, c, oh, ow, kh, kw = win.shape
    cols = np.empty((c, kh, kw, n, oh, ow)) if out is None else out.reshape(c, kh, kw, n, oh, ow)
    np.copyto(cols, win.transpose(1, 4, 5, 0, 2, 3))
    return cols.reshape(c * kh * kw, n * oh * ow)


def _col2im_t(cols_t, x_shape, kernel, stride, padding, work=None):
    """The adjoint of ``_im2col_t``: (C*kh*kw, N*OH*OW) -> a new (N, C, H, W) array.

    Overlapping windows add: for each kernel offset (u, v), one strided slice of the padded
    input receives a whole (C, N, OH, OW) block, kh*kw additions in all, into a channel-major
    ``work`` array of shape (C, N, H + 2ph, W + 2pw) (zeroed here; ``Conv2d`` reuses one).
    """
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh = conv_output_size(h + 2 * ph, kh, sh)
    ow = conv_output_size(w + 2 * pw, kw, sw)
    blocks = cols_t.reshape(c, kh, kw, n, oh, ow)
    acc = np.zeros((c, n, h + 2 * ph, w + 2 * pw)) if work is None else work
    if work is not None:
        acc.fill(0.0)
    for u in range(kh):
        for v in range(kw):
            acc[:, :, u:u + sh * oh:sh, v:v + sw * ow:sw] += blocks[:, u, v]
    dx = np.empty(x_shape)
    np.copyto(dx, acc[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3))
    return dx


class Conv2d(Layer):
    """2-D convolution (cross-correlation) on NCHW input, as ``torch.nn.Conv2d``.

    ``params["W"]`` has shape (out_channels, in_channels, kh, kw) and ``params["b"]`` shape
    (out_channels,), PyTorch's layout; initialized as PyTorch does (uniform on
    ±1/sqrt(in_channels*kh*kw) for both). Each output channel is one kernel, and each kernel
    has one slice per input channel.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, rng=None,
                 bias=True):
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", min_value=1)
        self.out_channels = check_int(out_channels, "out_channels", min_value=1)
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.padding = _pair(padding, "padding", 0)
        bias = check_bool(bias, "bias")
        self._scratch = {}                                   # see _buffer
        g = as_generator(rng)
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        bound = 1.0 / np.sqrt(fan_in)
        self.params["W"] = g.uniform(-bound, bound, size=(self.out_channels, self.in_channels,
                                                          *self.kernel_size))
        if bias:
            self.params["b"] = g.uniform(-bound, bound, size=(self.out_channels,))

    def _buffer(self, name, shape):
        """A scratch array kept across calls: the columns and the products are megabytes, and
        a fresh array of that size costs page faults on every step (measured: more than
        the copy into it). Each buffer is rewritten by the next call."""
        buf = self._scratch.get(name)
        if buf is None or buf.shape != shape:
            buf = self._scratch[name] = np.empty(shape)
        return buf

    def forward(self, x, train=True):
        check_bool(train, "train")
        x = as_float_array(x, "x", ndim=4)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"x: expected shape (N, {self.in_channels}, H, W), got shape {x.shape}")
        n, c, h, w = x.shape
        (kh, kw), o = self.kernel_size, self.out_channels
        oh = conv_output_size(h, kh, self.stride[0], self.padding[0])
        ow = conv_output_size(w, kw, self.stride[1], self.padding[1])
        # the columns transposed: one column per output pixel, (C*kh*kw, N*OH*OW)
        cols = _im2col_t(x, self.kernel_size, self.stride, self.padding,
                         out=self._buffer("cols_t", (c * kh * kw, n * oh * ow)))
        prod = np.matmul(self.params["W"].reshape(o, -1), cols,                 # (O, N*OH*OW)
                         out=self._buffer("prod", (o, n * oh * ow)))
        if "b" in self.params:
            prod += self.params["b"][:, None]
        out = np.empty((n, o, oh, ow))
        np.copyto(out, prod.reshape(o, n, oh, ow).transpose(1, 0, 2, 3))        # back to NCHW
        self.cache = {"x_shape": x.shape, "cols_t": cols, "out": out}
        return out

    def backward(self, dout):
        dout = self._check_dout(dout)
        n, o, oh, ow = dout.shape
        # (O, N*OH*OW): output channel o's gradient at every output pixel, one row per channel
        d = self._buffer("dout_t", (o, n * oh * ow))
        np.copyto(d.reshape(o, n, oh, ow), dout.transpose(1, 0, 2, 3))
        W, cols = self.params["W"], self.cache["cols_t"]
        self.grads = {"W": (d @ cols.T).reshape(W.shape)}
        if "b" in self.params:
            self.grads["b"] = d.sum(axis=1)                                # b[o] feeds every pixel
        dcols = np.matmul(W.reshape(o, -1).T, d, out=self._buffer("dcols_t", cols.shape))
        x_shape = self.cache["x_shape"]
        (ph, pw) = self.padding
        work = self._buffer("dx_pad", (x_shape[1], n, x_shape[2] + 2 * ph, x_shape[3] + 2 * pw))
        return _col2im_t(dcols, x_shape, self.kernel_size, self.stride, self.padding, work=work)

    def __repr__(self):
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding})")


class _Pool2d(Layer):
    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", 1)

    def _windows(self, x, train):
        check_bool(train, "train")
        x = as_float_array(x, "x", ndim=4)
        return x, _windows(x, self.kernel_size, self.stride, (0, 0))

    def _scatter(self, dwin, x_shape):
        """Add window gradients (N, C, OH, OW, kh, kw) back into an input-shaped array."""
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        _, _, oh, ow = dwin.shape[:4]
        dx = np.zeros(x_shape)
        for u in range(kh):
            for v in range(kw):
                dx[:, :, u:u + sh * oh:sh, v:v + sw * ow:sw] += dwin[:, :, :, :, u, v]
        return dx

    def __repr__(self):
        return f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride})"


class MaxPool2d(_Pool2d):
    """Max over each kh x kw window (stride defaults to the kernel size), as ``nn.MaxPool2d``.

    Backward routes each output's gradient to the position of its window's maximum (the
    first one in row-major order on ties, as PyTorch's CPU kernel); overlapping windows add.
    """

    def forward(self, x, train=True):
        x, win = self._windows(x, train)
        n, c, oh, ow, kh, kw = win.shape
        flat = win.reshape(n, c, oh, ow, kh * kw)
        arg = flat.argmax(axis=-1)
        out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
        self.cache = {"x_shape": x.shape, "argmax": arg, "out": out}
        return out

    def backward(self, dout):
        dout = self._check_dout(dout)
        kh, kw = self.kernel_size
        onehot = self.cache["argmax"][..., None] == np.arange(kh * kw)
        dwin = (onehot * dout[..., None]).reshape(*dout.shape, kh, kw)
        return self._scatter(dwin, self.cache["x_shape"])


class AvgPool2d(_Pool2d):
    """Mean over each kh x kw window, as ``nn.AvgPool2d`` (no padding); backward spreads
    each output's gradient evenly, 1/(kh*kw) to every input of its window."""

    def forward(self, x, train=True):
        x, win = self._windows(x, train)
        out = win.mean(axis=(-2, -1))
        self.cache = {"x_shape": x.shape, "out": out}
        return out

    def backward(self, dout):
        dout = self._check_dout(dout)
        kh, kw = self.kernel_size
        dwin = np.broadcast_to((dout / (kh * kw))[..., None, None], (*dout.shape, kh, kw))
        return self._scatter(dwin, self.cache["x_shape"])


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...), as ``nn.Flatten()``; backward reshapes back."""

    def forward(self, x, train=True):
        check_bool(train, "train")
        x = as_float_array(x, "x", min_ndim=2)
        out = x.reshape(x.shape[0], -1)
        self.cache = {"x_shape": x.shape, "out": out}
        return out

    def backward(self, dout):
        dout = self._check_dout(dout)
        return dout.reshape(self.cache["x_shape"])
