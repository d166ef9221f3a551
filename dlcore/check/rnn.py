"""Checker of the RNN chapter: ``check_rnn_step_backward`` (one step of BPTT).
"""
from __future__ import annotations

import numpy as np

from ._common import (_require_callable, _call, _close, _failw, _ok, _unpack,
                      _first_nonfinite, _quiet, _try, _differs)

__all__ = ["check_rnn_step_backward"]

# ======================================================= rnn: one step of BPTT

# (N, I, H): a batch of one, and a case with I == H where W_ih and W_hh are square, so that
# only values can reveal a transpose
_RNN_CASES = [(3, 4, 5), (1, 2, 3), (4, 3, 3)]


def check_rnn_step_backward(fn) -> bool:
    """Check ``fn(x, h_prev, W_ih, W_hh, b, h_next, dh_next) -> (dx, dh_prev, dW_ih, dW_hh, db)``.

    The step is ``h_next = tanh(x @ W_ih.T + h_prev @ W_hh.T + b)`` (``torch.nn.RNNCell``'s
    layout: ``W_ih`` (H, I), ``W_hh`` (H, H), ``x`` (N, I), states (N, H)); ``dh_next =
    dL/dh_next``. The answer has the shapes of ``x``, ``h_prev``, ``W_ih``, ``W_hh`` and
    ``b``. Compared with ``dlcore.rnn.RNNCell`` on three cases.
    """
    from ..rnn import RNNCell
    _require_callable(fn, "fn(x, h_prev, W_ih, W_hh, b, h_next, dh_next) -> "
                          "(dx, dh_prev, dW_ih, dW_hh, db)")
    title = "RNN step backward"
    names = ("dx", "dh_prev", "dW_ih", "dW_hh", "db")
    for k, (n, d_in, d_h) in enumerate(_RNN_CASES, start=1):
        g_ = np.random.default_rng(1200 + k)
        x, h_prev = g_.standard_normal((n, d_in)), g_.uniform(-1, 1, (n, d_h))
        W_ih, W_hh = g_.standard_normal((d_h, d_in)), g_.standard_normal((d_h, d_h))
        b, dh_next = g_.standard_normal(d_h), g_.standard_normal((n, d_h))
        cell = RNNCell(d_in, d_h, rng=0)
        cell.params["weight_ih"][...], cell.params["weight_hh"][...] = W_ih, W_hh
        cell.params["bias_ih"][...], cell.params["bias_hh"][...] = b, 0.0
        h_next = cell.forward(x, h_prev)
        ref_dx, ref_dh = cell.backward(dh_next)
        ref = (ref_dx, ref_dh, cell.grads["weight_ih"], cell.grads["weight_hh"],
               cell.grads["bias_ih"])
        where = (f"Case {k} of {len(_RNN_CASES)} (x {x.shape}, h {h_prev.shape}, "
                 f"W_ih {W_ih.shape})")
        out, err = _call(fn, x, h_prev, W_ih, W_hh, b, h_next, dh_next)
        if err is not None:
            if any(t in err for t in ("mismatch", "not aligned", "matmul", "broadcast")):
                hint = ("the weights have torch's layout, W_ih (H, I) and W_hh (H, H), and the "
                        "forward uses x @ W_ih.T: so dx = dz @ W_ih, dh_prev = dz @ W_hh, "
                        "dW_ih = dz.T @ x, dW_hh = dz.T @ h_prev.")
            else:
                hint = "run it by hand on arrays of these shapes and read the traceback."
            return _failw(title, where, f"your function raised {err}", hint)
        arrays = _unpack(out, names, title, where)
        if arrays is None:
            return False
        for name, arr, r in zip(names, arrays, ref):
            if arr.shape != r.shape:
                if arr.shape == r.T.shape and arr.ndim == 2:
                    hint = {"dW_ih": "dW_ih has W_ih's shape (H, I): dz.T @ x, not x.T @ dz.",
                            "dW_hh": "dW_hh has W_hh's shape: dz.T @ h_prev.",
                            }.get(name, f"{name} is transposed: it has the shape of its input.")
                elif name == "db":
                    hint = "db has b's shape (H,): sum dz over the batch, dz.sum(axis=0)."
                else:
                    hint = f"{name} has the shape of the array it differentiates."
                return _failw(title, where, f"{name} has shape {arr.shape}, expected {r.shape}",
                              hint)
        bad = _first_nonfinite(arrays, names)
        if bad:
            return _failw(title, where, f"{bad} contains NaN or inf",
                          "the inputs are finite and moderate: look for a division or np.empty.")
        got = dict(zip(names, arrays))
        want = dict(zip(names, ref))
        dz = dh_next * (1.0 - h_next ** 2)
        tanh_variants = [
            (dh_next, "you forgot the derivative of tanh: the gradient reaching the "
                      "pre-activation is dz = dh_next * (1 - h_next**2), tanh' = 1 - tanh^2."),
            (dh_next * (1.0 - np.tanh(h_next) ** 2),
             "h_next is already tanh(a): tanh'(a) = 1 - h_next**2; applying tanh to h_next "
             "again computes tanh of the wrong number."),
            (dh_next * (1.0 - h_prev ** 2),
             "tanh' belongs to this step's output: dz = dh_next * (1 - h_next**2), not h_prev."),
            (dh_next * h_next * (1.0 - h_next),
             "that is the sigmoid's derivative s(1 - s): for tanh it is 1 - h_next**2."),
        ]
        for name in ("db", "dW_ih", "dW_hh", "dx", "dh_prev"):
            if _close(got[name], want[name]):
                continue

            def grads_of(d):
                return {"db": d.sum(axis=0), "dW_ih": d.T @ x, "dW_hh": d.T @ h_prev,
                        "dx": d @ W_ih, "dh_prev": d @ W_hh}[name]
            hint = next((h for d, h in tanh_variants if _close(got[name], grads_of(d))), None)
            if hint is None:
                other = {"db": [(lambda: dz.mean(axis=0),
                                 "db is a mean over the batch: sum it, dz.sum(axis=0).")],
                         "dW_ih": [(lambda: x.T @ dz,
                                    "dW_ih is transposed: dz.T @ x has W_ih's layout (H, I).")],
                         "dW_hh": [(lambda: h_prev.T @ dz,
                                    "dW_hh is transposed: h_next uses h_prev @ W_hh.T, so "
                                    "dW_hh = dz.T @ h_prev."),
                                   (lambda: dz.T @ h_next,
                                    "dW_hh multiplies h_prev, the state that went in: "
                                    "dz.T @ h_prev, not h_next.")],
                         "dx": [(lambda: dz @ W_ih.T,
                                 "dx uses W_ih as it is: the forward has x @ W_ih.T, so "
                                 "dx = dz @ W_ih.")],
                         "dh_prev": [(lambda: dz @ W_hh.T,
                                      "dh_prev uses W_hh as it is: the forward has "
                                      "h_prev @ W_hh.T, so dh_prev = dz @ W_hh."),
                                     (lambda: dh_next,
                                      "dh_prev goes back through tanh and W_hh: dz @ W_hh, "
                                      "with dz = dh_next * (1 - h_next**2).")],
                         }[name]
                cands = ((v, h) for f, h in other
                         if (v := _quiet(_try, f)) is not None and v.shape == got[name].shape)
                hint = next((h for v, h in cands if _close(got[name], v)),
                            "with dz = dh_next * (1 - h_next**2): dx = dz @ W_ih, dh_prev = dz @ "
                            "W_hh, dW_ih = dz.T @ x, dW_hh = dz.T @ h_prev, db = dz.sum(axis=0).")
            return _failw(title, where, _differs(name, got[name], want[name]), hint)
    _ok(f"{title}: correct. All five gradients match dlcore.rnn.RNNCell on "
          f"{len(_RNN_CASES)} cases (a batch of one, square W_ih) to rtol 1e-8.")
    return True
