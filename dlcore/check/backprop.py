"""Checkers of the foundations, backpropagation and loss chapters: ``check_linear_backward``,
``check_softmax_cross_entropy_grad`` and ``check_mlp_forward``.
"""
from __future__ import annotations

import numpy as np

from ..layers import Linear
from ..losses import softmax_cross_entropy
from ._common import (_require_callable, _call, _as_array, _close, _max_diff, _fail, _failw,
                      _ok, _quiet, _differs)

__all__ = ["check_linear_backward", "check_softmax_cross_entropy_grad",
           "check_mlp_forward"]

# (N, in_features, out_features): N = 1 catches a db that is not summed over the batch
# (dout.sum(axis=0) and dout[0] agree only there, so both must be tested); the square case
# catches transposes that a shape check cannot see.
_LINEAR_CASES = [(4, 3, 2), (1, 3, 2), (5, 2, 4), (3, 3, 3)]
# (N, C, scale): the last case has logits of ±1e4, where exp overflows without the max shift
_CE_CASES = [(4, 3, 1.0), (1, 5, 1.0), (6, 4, 3.0), (3, 4, 1e4)]

def _linear_reference(n, d_in, d_out, seed):
    g = np.random.default_rng(seed)
    x = g.standard_normal((n, d_in))
    W = g.standard_normal((d_in, d_out))
    b = g.standard_normal(d_out)
    dout = g.standard_normal((n, d_out))
    layer = Linear(d_in, d_out)
    layer.params["W"], layer.params["b"] = W.copy(), b.copy()
    layer.forward(x)
    dx = layer.backward(dout)
    return (x, W, b, dout), (dx, layer.grads["W"], layer.grads["b"])


def check_linear_backward(fn) -> bool:
    """Check ``fn(x, W, b, dout) -> (dx, dW, db)``, the backward pass of ``y = x @ W + b``.

    ``x`` is (N, in), ``W`` is (in, out), ``b`` is (out,) and ``dout = dL/dy`` is (N, out);
    the answer must be ``dx`` (N, in), ``dW`` (in, out) and ``db`` (out,). Prints a verdict
    (with a hint when something is wrong) and returns True or False.
    """
    _require_callable(fn, "fn(x, W, b, dout) -> (dx, dW, db)")
    title = "Linear backward"
    for k, (n, d_in, d_out) in enumerate(_LINEAR_CASES, start=1):
        (x, W, b, dout), (ref_dx, ref_dW, ref_db) = _linear_reference(n, d_in, d_out, seed=100 + k)
        where = f"Case {k} of {len(_LINEAR_CASES)} (x {x.shape}, W {W.shape}, b {b.shape})"
        out, err = _call(fn, x, W, b, dout)
        if err is not None:
            return _fail(title, where, f"your function raised {err}",
                         "run it by hand on arrays of these shapes and read the traceback.")
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            got = f"a {type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
            return _fail(title, where, f"expected a tuple (dx, dW, db), got {got}",
                         "end the function with `return dx, dW, db`.")
        arrays = [_as_array(v) for v in out]
        for name, arr, value in zip(("dx", "dW", "db"), arrays, out):
            if arr is None:
                return _fail(title, where, f"{name} is not a numeric array (got {type(value).__name__})",
                             f"return {name} as a NumPy array of floats.")
        dx, dW, db = arrays

        # shapes first: dW, db, dx (dW is the most common interview slip)
        if dW.shape != ref_dW.shape:
            hint = ("dW must have W's shape (in, out): did you compute dout.T @ x instead of x.T @ dout?"
                    if dW.shape == ref_dW.T.shape else
                    "dW must have W's shape (in, out): it is x.T @ dout, (in, N) @ (N, out).")
            return _fail(title, where, f"dW has shape {dW.shape}, expected {ref_dW.shape}", hint)
        if db.shape != ref_db.shape:
            if db.shape == dout.shape or db.shape == (1, d_out):
                hint = ("db must have b's shape (out,): b is broadcast to every row of the batch, "
                        "so its gradient sums dout over the batch: dout.sum(axis=0).")
            elif db.shape == ():
                hint = ("db must have b's shape (out,): sum dout over the batch axis only "
                        "(dout.sum(axis=0)), not over every entry.")
            else:
                hint = "db must have b's shape (out,): db = dout.sum(axis=0)."
            return _fail(title, where, f"db has shape {db.shape}, expected {ref_db.shape}", hint)
        if dx.shape != ref_dx.shape:
            hint = ("dx must have x's shape (N, in): did you compute W @ dout.T instead of dout @ W.T?"
                    if dx.shape == ref_dx.T.shape else
                    "dx must have x's shape (N, in): it is dout @ W.T, (N, out) @ (out, in).")
            return _fail(title, where, f"dx has shape {dx.shape}, expected {ref_dx.shape}", hint)

        # then values
        for name, got in (("dx", dx), ("dW", dW), ("db", db)):
            if not np.all(np.isfinite(got)):
                return _fail(title, where, f"{name} contains NaN or inf",
                             "every input is finite and small, so a correct gradient is too: "
                             "look for a division or an uninitialised array (np.empty).")
        if not _close(dW, ref_dW):
            if _close(dW, ref_dW.T):
                hint = "dW is transposed: use x.T @ dout, not (dout.T @ x) or its transpose."
            elif _close(dW, -ref_dW):
                hint = "dW has the wrong sign: dW = x.T @ dout, with no minus sign."
            elif n > 1 and _close(dW, ref_dW / n):
                hint = "dW is divided by N: dout already carries the loss's 1/N, so dW = x.T @ dout."
            else:
                hint = "dW = x.T @ dout: entry (i, j) sums x[n, i] * dout[n, j] over the batch."
            return _fail(title, where, f"dW differs from the reference (max abs difference {_max_diff(dW, ref_dW)})", hint)
        if not _close(db, ref_db):
            if n > 1 and _close(db, dout.mean(axis=0)):
                hint = "db is a mean over the batch: it must be the sum, dout.sum(axis=0)."
            elif _close(db, dout[0]):
                hint = "db is only the first row of dout: sum over the batch, dout.sum(axis=0)."
            elif _close(db, -ref_db):
                hint = "db has the wrong sign: db = dout.sum(axis=0)."
            else:
                hint = "db = dout.sum(axis=0): b is added to every row, so each row contributes."
            return _fail(title, where, f"db differs from the reference (max abs difference {_max_diff(db, ref_db)})", hint)
        if not _close(dx, ref_dx):
            if _close(dx, dout @ W):
                hint = "dx uses W instead of its transpose: dx = dout @ W.T."
            elif _close(dx, -ref_dx):
                hint = "dx has the wrong sign: dx = dout @ W.T."
            else:
                hint = "dx = dout @ W.T: entry (n, i) sums dout[n, j] * W[i, j] over j."
            return _fail(title, where, f"dx differs from the reference (max abs difference {_max_diff(dx, ref_dx)})", hint)

    shapes = ", ".join(f"{n}x{i}->{o}" for n, i, o in _LINEAR_CASES)
    print(f"{title}: correct. dx, dW and db match dlcore.layers.Linear on "
          f"{len(_LINEAR_CASES)} cases (N x in -> out: {shapes}) to rtol 1e-8.")
    return True


def _ce_inputs(n, c, scale, seed):
    g = np.random.default_rng(seed)
    if scale >= 1e3:  # saturated logits: every entry is +scale or -scale, so naive exp overflows
        logits = scale * g.choice([-1.0, 1.0], size=(n, c))
        logits[0] = -scale                          # a row where every exp(z) underflows to 0
    else:
        logits = scale * g.standard_normal((n, c))
    y = g.integers(0, c, size=n)
    return logits, y


def check_softmax_cross_entropy_grad(fn) -> bool:
    """Check ``fn(logits, y) -> grad``, the gradient of mean softmax cross-entropy.

    ``logits`` is (N, C), ``y`` holds integer class labels of shape (N,); the answer is
    ``dL/dlogits = (softmax(logits) - Y) / N`` with ``Y`` the one-hot labels, shape (N, C).
    The last case has logits of ±1e4, so the softmax must be computed stably. Prints a
    verdict (with a hint when something is wrong) and returns True or False.
    """
    _require_callable(fn, "fn(logits, y) -> grad")
    title = "Softmax cross-entropy gradient"
    for k, (n, c, scale) in enumerate(_CE_CASES, start=1):
        logits, y = _ce_inputs(n, c, scale, seed=200 + k)
        ref = softmax_cross_entropy(logits, y)[1]
        extreme = scale >= 1e3
        where = f"Case {k} of {len(_CE_CASES)} (logits {logits.shape}" + (", entries ±1e4)" if extreme else ")")
        out, err = _call(fn, logits, y)
        if err is not None:
            if "broadcast" in err:
                hint = ("p - y with integer labels y of shape (N,) does not line up with p (N, C): "
                        "build the one-hot Y (Y[n, y[n]] = 1) and return (p - Y) / N.")
            elif extreme:
                hint = "with logits of ±1e4 a naive exp overflows: subtract each row's max before exp."
            else:
                hint = "run it by hand on arrays of these shapes and read the traceback."
            return _fail(title, where, f"your function raised {err}", hint)
        grad = _as_array(out)
        if grad is None:
            return _fail(title, where, f"expected a numeric array, got {type(out).__name__}",
                         "return the gradient as a NumPy array of shape (N, C).")
        if grad.shape != ref.shape:
            if grad.shape == (n,) or grad.shape == ():
                hint = ("return the gradient with respect to the logits, one entry per logit, "
                        "shape (N, C), not the loss per example or the mean loss.")
            elif grad.shape == (n, n) or grad.shape == (n, c, n) or grad.shape == (c, n):
                hint = ("p - y with integer labels y broadcasts the wrong way: build the one-hot "
                        "Y (shape (N, C)) and return (p - Y) / N.")
            else:
                hint = "the gradient has the shape of the logits, (N, C)."
            return _fail(title, where, f"grad has shape {grad.shape}, expected {ref.shape}", hint)
        if not np.all(np.isfinite(grad)):
            if extreme:
                hint = ("exp(1e4) overflows to inf and inf / inf is NaN: subtract each row's max "
                        "before exp (softmax(z) = softmax(z - max z)): every exp is then at most 1.")
            else:
                hint = "all logits are moderate here, so look for a division by zero or a log of 0."
            return _fail(title, where, "grad contains NaN or inf", hint)
        if _close(grad, ref):
            continue
        p = ref * n
        p[np.arange(n), y] += 1.0                   # softmax(logits), from the reference gradient
        if n > 1 and _close(grad, ref * n):
            hint = "you forgot the 1/N: the mean reduction divides the gradient by the batch size N."
        elif _close(grad, -ref):
            hint = "the sign is flipped: the gradient is (p - Y) / N, not (Y - p) / N."
        elif _close(grad, ref / c):
            hint = ("you divided by N * C (np.mean over every entry): the loss averages over the "
                    "N examples only, so divide by N.")
        elif _close(grad, (p - y[:, None]) / n) or _close(grad, p - y[:, None]) \
                or (n == c and (_close(grad, (p - y) / n) or _close(grad, p - y))):
            hint = ("p - y subtracts the integer labels from every column: build the one-hot Y "
                    "(Y[n, y[n]] = 1) and return (p - Y) / N.")
        elif _close(grad, p / n) or _close(grad, p):
            hint = "you returned softmax(logits) (/ N): subtract the one-hot labels, (p - Y) / N."
        else:
            hint = ("the gradient is (softmax(logits) - Y) / N with Y the one-hot labels; "
                    "compare one entry with dlcore.gradcheck.numerical_gradient.")
        return _fail(title, where, f"grad differs from the reference (max abs difference {_max_diff(grad, ref)})", hint)

    print(f"{title}: correct. grad matches dlcore.losses.softmax_cross_entropy on "
          f"{len(_CE_CASES)} cases, including logits of ±1e4, to rtol 1e-8.")
    return True


# ============================================================ foundations: MLP forward

# (N, in, hidden, out): N = 1, and a square case (in = hidden = out) where x @ W.T has the
# right shape, so only the values can reveal a transposed weight
_MLP_CASES = [(4, 3, 5, 2), (1, 3, 4, 2), (6, 4, 4, 4)]


def _relu(z):
    return np.maximum(z, 0.0)


def check_mlp_forward(fn) -> bool:
    """Check ``fn(x, W1, b1, W2, b2) -> logits`` of a one-hidden-layer ReLU MLP.

    ``logits = relu(x @ W1 + b1) @ W2 + b2`` with ``x`` (N, in), ``W1`` (in, hidden), ``b1``
    (hidden,), ``W2`` (hidden, out), ``b2`` (out,): weights stored (in, out), as in
    ``dlcore.layers.Linear``. The output is the raw logits (N, out): no activation, no
    softmax. Compared with ``Sequential(Linear, ReLU, Linear)``.
    """
    from ..layers import ReLU, Sequential
    _require_callable(fn, "fn(x, W1, b1, W2, b2) -> logits")
    title = "MLP forward"
    for k, (n, d_in, d_h, d_out) in enumerate(_MLP_CASES, start=1):
        g = np.random.default_rng(300 + k)
        x = g.standard_normal((n, d_in))
        W1, b1 = g.standard_normal((d_in, d_h)), g.standard_normal(d_h)
        W2, b2 = g.standard_normal((d_h, d_out)), g.standard_normal(d_out)
        net = Sequential(Linear(d_in, d_h), ReLU(), Linear(d_h, d_out))
        net.params["0.W"][...], net.params["0.b"][...] = W1, b1
        net.params["2.W"][...], net.params["2.b"][...] = W2, b2
        ref = net.forward(x)
        where = f"Case {k} of {len(_MLP_CASES)} (x {x.shape}, W1 {W1.shape}, W2 {W2.shape})"
        out, err = _call(fn, x, W1, b1, W2, b2)
        if err is not None:
            if any(s in err for s in ("mismatch", "not aligned", "matmul", "broadcast")):
                hint = ("the weights are stored (in, out) here: the hidden layer is x @ W1 + b1, "
                        "(N, in) @ (in, hidden), not W1 @ x or x @ W1.T.")
            else:
                hint = "run it by hand on arrays of these shapes and read the traceback."
            return _failw(title, where, f"your function raised {err}", hint)
        logits = _as_array(out)
        if logits is None:
            return _failw(title, where, f"expected a numeric array, got {type(out).__name__}",
                          "return the logits as a NumPy array of shape (N, out).")
        if logits.shape != ref.shape:
            if logits.shape == (n, d_h):
                hint = "that is the hidden layer's shape: apply the second layer, h @ W2 + b2."
            elif logits.shape == ref.T.shape:
                hint = "the logits are transposed: one row per example, shape (N, out)."
            else:
                hint = "the logits have shape (N, out): (N, in) @ (in, hidden) @ (hidden, out)."
            return _failw(title, where, f"logits have shape {logits.shape}, expected {ref.shape}",
                          hint)
        if not np.all(np.isfinite(logits)):
            return _failw(title, where, "logits contain NaN or inf",
                          "every input is finite and moderate: look for a division or np.empty.")
        if _close(logits, ref):
            continue
        relu_h = _relu(x @ W1 + b1)
        e = np.exp(ref - ref.max(axis=1, keepdims=True))
        variants = [
            ((x @ W1 + b1) @ W2 + b2,
             "you forgot the ReLU: without it the two layers collapse into one affine map. "
             "Use h = np.maximum(x @ W1 + b1, 0)."),
            (_relu(ref),
             "you applied the ReLU to the output too: the last layer returns raw logits, "
             "which may be negative."),
            (e / e.sum(axis=1, keepdims=True),
             "you returned probabilities: return the logits, before any softmax (the loss "
             "applies it)."),
            (relu_h @ W2,
             "you left out b2: the output layer is h @ W2 + b2."),
            (_relu(x @ W1) @ W2 + b2,
             "you left out b1: the hidden layer is np.maximum(x @ W1 + b1, 0)."),
            (np.tanh(x @ W1 + b1) @ W2 + b2,
             "the hidden activation is the ReLU, np.maximum(z, 0), not tanh."),
            (_quiet(lambda z: 1.0 / (1.0 + np.exp(-z)), x @ W1 + b1) @ W2 + b2,
             "the hidden activation is the ReLU, np.maximum(z, 0), not the sigmoid."),
        ]
        if d_in == d_h == d_out:
            for ref_t in (_relu(x @ W1.T + b1) @ W2.T + b2, _relu(x @ W1.T + b1) @ W2 + b2,
                          relu_h @ W2.T + b2):
                variants.append((ref_t, "a weight is transposed: here W has shape (in, out) and a "
                                        "layer is x @ W + b (x @ W.T is torch.nn.Linear's layout, "
                                        "where weight has shape (out, in))."))
        hint = next((h for v, h in variants if _close(logits, v)),
                    "logits = np.maximum(x @ W1 + b1, 0) @ W2 + b2: check each step's shape.")
        return _failw(title, where, _differs("logits", logits, ref), hint)
    _ok(f"{title}: correct. The logits match Linear -> ReLU -> Linear on "
          f"{len(_MLP_CASES)} cases (a batch of one, square weights) to rtol 1e-8.")
    return True
