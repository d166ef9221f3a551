"""Recurrent cells (vanilla RNN, LSTM, GRU) with PyTorch's parameter names, and BPTT.

Every cell keeps ``params`` under PyTorch's names and shapes, so weights copy one-to-one
from ``torch.nn.RNNCell`` / ``LSTMCell`` / ``GRUCell``: ``weight_ih`` (G*H, I), ``weight_hh``
(G*H, H), ``bias_ih`` and ``bias_hh`` (G*H,), with the G gate blocks stacked in PyTorch's
order. Inputs are batch-first, ``x`` of shape (N, I), states (N, H). Initialization is
PyTorch's: every parameter uniform on ±1/sqrt(H).

Vanilla RNN (G = 1)::

    h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)

LSTM (G = 4, blocks i, f, g, o)::

    i, f, o = sigmoid(.), g = tanh(.)   of   x W_ih^T + b_ih + h W_hh^T + b_hh
    c' = f * c + i * g,   h' = o * tanh(c')

GRU (G = 3, blocks r, z, n)::

    r, z = sigmoid(x W_i{r,z}^T + b_i{r,z} + h W_h{r,z}^T + b_h{r,z})
    n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
    h' = (1 - z) * n + z * h

Each cell's ``forward`` caches one step and its ``backward`` takes the gradients with
respect to that step's outputs, returns the gradients with respect to its inputs, and
*adds* the parameter gradients into ``grads`` (weights are shared across time steps, so
backpropagation through time sums their gradients); ``zero_grad()`` resets them.
``RNN`` unrolls an ``RNNCell`` over a sequence and runs backpropagation through time.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, as_generator, check_bool, check_int
from .clip import _l2_norm
from .functional import sigmoid

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN"]


class _Cell:
    gates = 1

    def __init__(self, input_size, hidden_size, rng=None, bias=True):
        self.input_size = check_int(input_size, "input_size", min_value=1)
        self.hidden_size = check_int(hidden_size, "hidden_size", min_value=1)
        bias = check_bool(bias, "bias")
        g = as_generator(rng)
        k = 1.0 / np.sqrt(self.hidden_size)
        gh = self.gates * self.hidden_size
        self.params = {"weight_ih": g.uniform(-k, k, size=(gh, self.input_size)),
                       "weight_hh": g.uniform(-k, k, size=(gh, self.hidden_size))}
        if bias:
            self.params["bias_ih"] = g.uniform(-k, k, size=(gh,))
            self.params["bias_hh"] = g.uniform(-k, k, size=(gh,))
        self.zero_grad()
        self.cache = {}

    def zero_grad(self):
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def _check_x(self, x):
        x = as_float_array(x, "x", ndim=2)
        if x.shape[1] != self.input_size:
            raise ValueError(f"x: expected shape (N, {self.input_size}), got shape {x.shape}")
        return x

    def _check_state(self, h, n, name="h"):
        if h is None:
            return np.zeros((n, self.hidden_size))
        h = as_float_array(h, name, ndim=2)
        if h.shape != (n, self.hidden_size):
            raise ValueError(f"{name}: expected shape ({n}, {self.hidden_size}), got shape {h.shape}")
        return h

    def _affine(self, x, h):
        """(x W_ih^T + b_ih, h W_hh^T + b_hh), each (N, G*H)."""
        a = x @ self.params["weight_ih"].T
        b = h @ self.params["weight_hh"].T
        if "bias_ih" in self.params:
            a = a + self.params["bias_ih"]
            b = b + self.params["bias_hh"]
        return a, b

    def _accumulate(self, x, h, da, db):
        """Add the parameter gradients of _affine for upstream da, db; return (dx, dh)."""
        self.grads["weight_ih"] += da.T @ x
        self.grads["weight_hh"] += db.T @ h
        if "bias_ih" in self.params:
            self.grads["bias_ih"] += da.sum(axis=0)
            self.grads["bias_hh"] += db.sum(axis=0)
        return da @ self.params["weight_ih"], db @ self.params["weight_hh"]

    def _need_cache(self):
        if not self.cache:
            raise ValueError(f"{type(self).__name__}.backward: call forward first")

    def _check_grad(self, d, name):
        d = as_float_array(d, name, ndim=2)
        want = self.cache["h_shape"]
        if d.shape != want:
            raise ValueError(f"{name}: expected shape {want} (the shape of the state), got shape {d.shape}")
        return d

    def __repr__(self):
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"


class RNNCell(_Cell):
    """Elman cell, ``torch.nn.RNNCell`` with ``nonlinearity='tanh'``: ``forward(x, h)`` returns h'."""

    gates = 1

    def forward(self, x, h=None):
        x = self._check_x(x)
        h = self._check_state(h, x.shape[0])
        a, b = self._affine(x, h)
        h_new = np.tanh(a + b)
        self.cache = {"x": x, "h": h, "h_new": h_new, "h_shape": h_new.shape}
        return h_new

    def backward(self, dh_new):
        """Given dL/dh', add parameter gradients and return (dL/dx, dL/dh)."""
        self._need_cache()
        dh_new = self._check_grad(dh_new, "dh_new")
        dz = dh_new * (1.0 - self.cache["h_new"] ** 2)   # tanh' = 1 - tanh^2
        return self._accumulate(self.cache["x"], self.cache["h"], dz, dz)


class LSTMCell(_Cell):
    """``torch.nn.LSTMCell``: ``forward(x, (h, c))`` returns ``(h', c')``; gates i, f, g, o."""

    gates = 4

    def forward(self, x, state=None):
        x = self._check_x(x)
        n = x.shape[0]
        if state is None:
            h, c = None, None
        elif isinstance(state, (tuple, list)) and len(state) == 2:
            h, c = state
        else:
            raise ValueError(f"state: expected None or a pair (h, c), got {type(state).__name__}")
        h, c = self._check_state(h, n), self._check_state(c, n, "c")
        a, b = self._affine(x, h)
        z = a + b
        H = self.hidden_size
        i, f, g, o = sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H]), np.tanh(z[:, 2 * H:3 * H]), sigmoid(z[:, 3 * H:])
        c_new = f * c + i * g
        tc = np.tanh(c_new)
        h_new = o * tc
        self.cache = {"x": x, "h": h, "c": c, "i": i, "f": f, "g": g, "o": o, "tc": tc,
                      "h_shape": h_new.shape}
        return h_new, c_new

    def backward(self, grads):
        """Given (dL/dh', dL/dc'), add parameter gradients and return (dx, (dh, dc))."""
        self._need_cache()
        if not (isinstance(grads, (tuple, list)) and len(grads) == 2):
            raise ValueError(f"grads: expected a pair (dL/dh', dL/dc'), got {type(grads).__name__}")
        dh_new, dc_new = grads
        dh_new = self._check_grad(dh_new, "dh_new")
        dc_new = self._check_grad(dc_new, "dc_new")
        C = self.cache
        dc = dc_new + dh_new * C["o"] * (1.0 - C["tc"] ** 2)
        dz = np.concatenate([dc * C["g"] * C["i"] * (1 - C["i"]),          # input gate
                             dc * C["c"] * C["f"] * (1 - C["f"]),          # forget gate
                             dc * C["i"] * (1 - C["g"] ** 2),              # candidate
                             dh_new * C["tc"] * C["o"] * (1 - C["o"])],    # output gate
                            axis=1)
        dx, dh = self._accumulate(C["x"], C["h"], dz, dz)
        return dx, (dh, dc * C["f"])


class GRUCell(_Cell):
    """``torch.nn.GRUCell``: ``forward(x, h)`` returns h'; gates r, z, n (PyTorch's order)."""

    gates = 3

    def forward(self, x, h=None):
        x = self._check_x(x)
        h = self._check_state(h, x.shape[0])
        a, b = self._affine(x, h)
        H = self.hidden_size
        r = sigmoid(a[:, :H] + b[:, :H])
        z = sigmoid(a[:, H:2 * H] + b[:, H:2 * H])
        hn = b[:, 2 * H:]
        n = np.tanh(a[:, 2 * H:] + r * hn)
        h_new = (1.0 - z) * n + z * h
        self.cache = {"x": x, "h": h, "r": r, "z": z, "n": n, "hn": hn, "h_shape": h_new.shape}
        return h_new

    def backward(self, dh_new):
        """Given dL/dh', add parameter gradients and return (dL/dx, dL/dh)."""
        self._need_cache()
        dh_new = self._check_grad(dh_new, "dh_new")
        C = self.cache
        dn = dh_new * (1.0 - C["z"])
        dz = dh_new * (C["h"] - C["n"])
        dan = dn * (1.0 - C["n"] ** 2)                 # pre-activation of n, input part
        dr = dan * C["hn"]
        dar = dr * C["r"] * (1 - C["r"])
        daz = dz * C["z"] * (1 - C["z"])
        da = np.concatenate([dar, daz, dan], axis=1)
        db = np.concatenate([dar, daz, dan * C["r"]], axis=1)
        dx, dh = self._accumulate(C["x"], C["h"], da, db)
        return dx, dh + dh_new * C["z"]


class RNN:
    """A vanilla RNN unrolled over a sequence, with backpropagation through time.

    ``forward(xs, h0=None)`` takes ``xs`` of shape (T, N, I) (time first, like
    ``torch.nn.RNN``'s default) and returns every hidden state, shape (T, N, H).
    ``backward(dhs)`` takes dL/dh_t for every t, shape (T, N, H) (zeros where the loss does
    not read h_t), walks the steps in reverse, adding each step's share into the shared
    weights' gradients, and returns (dL/dxs, dL/dh0). ``params``/``grads`` are the cell's
    (``weight_ih``, ...), equal to ``torch.nn.RNN``'s ``weight_ih_l0``, ... for one layer.
    ``step_grad_norms`` after backward lists ||dL/dh_t|| for t = 0..T-1 (the gradient that
    reaches each step: the quantity that vanishes or explodes).
    """

    def __init__(self, input_size, hidden_size, rng=None, bias=True):
        self.cell = RNNCell(input_size, hidden_size, rng=rng, bias=bias)
        self.params = self.cell.params
        self.step_grad_norms = None

    @property
    def grads(self):
        return self.cell.grads

    def forward(self, xs, h0=None):
        xs = as_float_array(xs, "xs", ndim=3)
        T, n, i = xs.shape
        if T < 1 or i != self.cell.input_size:
            raise ValueError(f"xs: expected shape (T, N, {self.cell.input_size}) with T >= 1, "
                             f"got shape {xs.shape}")
        h = self.cell._check_state(h0, n, "h0")
        self._steps, hs = [], []
        for t in range(T):
            h = self.cell.forward(xs[t], h)
            self._steps.append(self.cell.cache)
            hs.append(h)
        self._hs = np.stack(hs)
        return self._hs

    def backward(self, dhs):
        if not getattr(self, "_steps", None):
            raise ValueError("RNN.backward: call forward first")
        dhs = as_float_array(dhs, "dhs", ndim=3)
        if dhs.shape != self._hs.shape:
            raise ValueError(f"dhs: expected shape {self._hs.shape} (the shape of the outputs), got shape {dhs.shape}")
        self.cell.zero_grad()
        T = dhs.shape[0]
        dxs = np.zeros((T, dhs.shape[1], self.cell.input_size))
        norms = np.zeros(T)
        dh = np.zeros_like(dhs[0])
        for t in range(T - 1, -1, -1):
            dh = dh + dhs[t]                    # from the loss at t and from step t+1
            norms[t] = _l2_norm(dh)             # np.linalg.norm(dh), without overflow
            self.cell.cache = self._steps[t]
            dxs[t], dh = self.cell.backward(dh)
        self.step_grad_norms = norms
        return dxs, dh
