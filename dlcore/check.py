"""Self-check exercises: call a checker on your own implementation.

Each checker runs your function on a few seeded random inputs, compares the result with
the ``dlcore`` reference and prints a verdict. It returns True when every case agrees and
False otherwise; a wrong answer (a wrong value, a wrong shape, even an exception inside
your function) never raises, it prints what went wrong and a hint instead. Only a
``fn`` that is not callable raises ``ValueError``.

* ``check_linear_backward(fn)``: ``fn(x, W, b, dout) -> (dx, dW, db)`` for
  ``y = x @ W + b`` with ``W`` of shape (in, out), against ``dlcore.layers.Linear``;
* ``check_softmax_cross_entropy_grad(fn)``: ``fn(logits, y) -> grad``, the gradient of
  the mean softmax cross-entropy with respect to ``logits`` (N, C) for integer labels
  ``y`` (N,), against ``dlcore.losses.softmax_cross_entropy``;
* ``check_mlp_forward(fn)``: ``fn(x, W1, b1, W2, b2) -> logits`` of a one-hidden-layer
  ReLU MLP, W of shape (in, out), against ``Linear -> ReLU -> Linear``;
* ``check_sigmoid(fn)``: ``fn(z) -> sigmoid(z)``, numerically stable: run with NumPy's
  floating-point errors raised (underflow excepted) on entries up to ±1e4, to rtol 1e-12
  including the tails (``SIGMOID_RTOL``), against ``dlcore.functional.sigmoid``;
* ``check_sgd_momentum_step(fn)``: ``fn(param, grad, velocity, lr, momentum) ->
  (new_param, new_velocity)`` in PyTorch's convention, against ``dlcore.optim.SGD``;
* ``check_adam_step(fn)``: ``fn(param, grad, m, v, t, lr, beta1, beta2, eps) ->
  (new_param, m, v)``, ``t`` counted from 1, against ``dlcore.optim.Adam``;
* ``check_clip_grad_norm(fn)``: ``fn(grads, max_norm) -> total_norm`` for a list of
  arrays clipped in place, against ``dlcore.clip.clip_grad_norm``;
* ``check_batchnorm_backward(fn)``: ``fn(x, gamma, dout, eps) -> (dx, dgamma, dbeta)`` in
  training mode, against ``dlcore.normalization.BatchNorm1d``;
* ``check_inverted_dropout(fn)``: ``fn(x, p, rng) -> (out, mask)``: exact 1/(1-p) scaling
  of the survivors, and statistical checks (5 standard deviations, seeded) of the share of
  zeros and of E[out] = x;
* ``check_precision_recall_f1(fn)``: ``fn(y_true, y_pred) -> (precision, recall, f1)``,
  binary, 0.0 for a zero denominator, against ``dlcore.metrics.precision_recall_f1``;
* ``check_conv2d_forward(fn)``: ``fn(x, W, b, stride, padding) -> out`` on NCHW arrays,
  against ``dlcore.conv.Conv2d``;
* ``check_rnn_step_backward(fn)``: ``fn(x, h_prev, W_ih, W_hh, b, h_next, dh_next) ->
  (dx, dh_prev, dW_ih, dW_hh, db)`` for ``h_next = tanh(x W_ih^T + h_prev W_hh^T + b)``,
  against ``dlcore.rnn.RNNCell``;
* ``check_gaussian_kl(fn)``: ``fn(mu, logvar) -> kl``, the VAE's KL term per example,
  against ``dlcore.generative.gaussian_kl``;
* ``check_matmul_shape(fn)``: ``fn(shape_a, shape_b) -> shape or None``, the shape of
  ``a @ b`` with 1-D promotion and broadcast batch axes, against ``np.matmul``.

When an answer is wrong, each checker compares it with the typical wrong variants (a
transposed weight, a missing term, the other convention...) and names the one it matches
in the hint. Parameter updates are compared through the update ``new - old``, so that a
small step cannot hide its own error. The submodules a checker needs are imported inside
it, so ``dlcore.check`` imports only ``layers`` and ``losses``.

Tolerance: ``rtol = 1e-8`` (with ``atol = 1e-12`` for entries that cancel to about zero).
Both sides are exact formulas evaluated in float64, so a correct implementation differs
from the reference only by rounding (another summation order, ``einsum`` instead of ``@``):
about 1e-15 relative. 1e-8 leaves seven orders of magnitude for that, while every real
mistake (a transpose, a missing 1/N, a flipped sign) is off by order 1. This is not a
finite-difference check, whose own error (about 1e-9 to 1e-6) would need a looser bound.

The printed verdicts are fixed text (shapes, case numbers, at most two significant digits),
so a notebook that calls a checker has reproducible output.
The verdicts of the later checkers are wrapped at 88 characters.
"""
from __future__ import annotations

import textwrap
import warnings

import numpy as np

from .layers import Linear
from .losses import softmax_cross_entropy

__all__ = ["check_linear_backward", "check_softmax_cross_entropy_grad", "check_mlp_forward",
           "check_sigmoid", "check_sgd_momentum_step", "check_adam_step", "check_clip_grad_norm",
           "check_batchnorm_backward", "check_inverted_dropout", "check_precision_recall_f1",
           "check_conv2d_forward", "check_rnn_step_backward", "check_gaussian_kl",
           "check_matmul_shape", "RTOL", "ATOL", "SIGMOID_RTOL"]

RTOL = 1e-8
ATOL = 1e-12

# (N, in_features, out_features): N = 1 catches a db that is not summed over the batch
# (dout.sum(axis=0) and dout[0] agree only there, so both must be tested); the square case
# catches transposes that a shape check cannot see.
_LINEAR_CASES = [(4, 3, 2), (1, 3, 2), (5, 2, 4), (3, 3, 3)]
# (N, C, scale): the last case has logits of ±1e4, where exp overflows without the max shift
_CE_CASES = [(4, 3, 1.0), (1, 5, 1.0), (6, 4, 3.0), (3, 4, 1e4)]


def _require_callable(fn, signature: str) -> None:
    if not callable(fn):
        raise ValueError(f"fn: expected a callable {signature}, got {type(fn).__name__}")


def _copy(a):
    """A fresh copy of an array argument; numbers, lists and generators pass unchanged."""
    return np.array(a, copy=True) if isinstance(a, np.ndarray) else a


def _call(fn, *args):
    """Run the reader's function on copies of the inputs: (result, None) or (None, error text)."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fn(*(_copy(a) for a in args)), None
    except Exception as exc:  # a bug in the reader's code is a verdict, not a crash
        return None, f"{type(exc).__name__}: {exc}"


def _call_strict(fn, *args):
    """Like ``_call``, but overflow, division by zero, invalid operations and every warning
    raise inside the reader's function. Underflow is allowed: exp(-1e4) = 0 is the right
    answer in float64. Returns (result, None) or (None, error text)."""
    try:
        with warnings.catch_warnings(), \
                np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            warnings.simplefilter("error")
            return fn(*(_copy(a) for a in args)), None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _as_array(value):
    """float64 array or None (for None, strings, ragged lists, complex values...)."""
    if value is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.asarray(value)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) \
                or np.iscomplexobj(arr):
            return None
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        return None


def _close(a, b) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))


def _max_diff(a, b) -> str:
    return f"{float(np.max(np.abs(a - b))):.1e}"


def _fail(title: str, where: str, problem: str, hint: str) -> bool:
    print(f"{title}: not yet. {where}: {problem}")
    print(f"Hint: {hint}")
    return False


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


# ======================================================================= shared helpers
# (used by the checkers below; the two checkers above predate them and keep their own code)

def _wrap(text: str) -> str:
    return textwrap.fill(text, width=88, break_long_words=False, break_on_hyphens=False)


def _failw(title: str, where: str, problem: str, hint: str) -> bool:
    """``_fail`` with the two lines wrapped at 88 characters (readable on a phone)."""
    print(_wrap(f"{title}: not yet. {where}: {problem}"))
    print(_wrap(f"Hint: {hint}"))
    return False


def _ok(text: str) -> bool:
    print(_wrap(text))
    return True


def _got(out) -> str:
    return f"a {type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")


def _unpack(out, names, title, where):
    """The reader's answer as a list of float64 arrays, or None after printing the verdict."""
    tup = "(" + ", ".join(names) + ")"
    if not isinstance(out, (tuple, list)) or len(out) != len(names):
        _failw(title, where, f"expected a tuple {tup}, got {_got(out)}",
               f"end the function with `return {', '.join(names)}`.")
        return None
    arrays = []
    for name, value in zip(names, out):
        arr = _as_array(value)
        if arr is None:
            _failw(title, where, f"{name} is not a numeric array (got {type(value).__name__})",
                   f"return {name} as a NumPy array of floats.")
            return None
        arrays.append(arr)
    return arrays


def _first_nonfinite(arrays, names):
    for name, arr in zip(names, arrays):
        if not np.all(np.isfinite(arr)):
            return name
    return None


def _step_close(new, old, ref_new) -> bool:
    """Compare the *updates* new - old and ref_new - old: a parameter of size 1 moved by 1e-3
    would hide a 1e-6 relative error of the update below rtol 1e-8 if compared directly."""
    return new.shape == ref_new.shape and _close(new - old, ref_new - old)


def _quiet(f, *args):
    """Evaluate a wrong variant (used only to recognise a mistake) without warnings."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return f(*args)


def _try(f):
    """f() or None if it raises (a wrong variant that does not exist for these shapes)."""
    try:
        return f()
    except ValueError:
        return None


def _differs(name, got, ref) -> str:
    return f"{name} differs from the reference (max abs difference {_max_diff(got, ref)})"


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
    from .layers import ReLU, Sequential
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


# ============================================================= activations: sigmoid

SIGMOID_RTOL = 1e-12
# below this size float64 numbers are subnormal and carry no relative precision
# (exp(-745) is the smallest one, 5e-324), so the tails are compared absolutely there
_SIGMOID_ATOL = 1e-300


def _sigmoid_cases():
    g = np.random.default_rng(401)
    return [("z of shape (8,), moderate values", 3.0 * g.standard_normal(8)),
            ("z of shape (2, 4), tails up to ±40",
             np.array([[-40.0, -30.0, -20.0, -10.0], [10.0, 20.0, 30.0, 40.0]])),
            ("z of shape (9,), entries up to ±745 and ±1e4",
             np.array([-1e4, -745.0, -700.0, -40.0, 0.0, 40.0, 700.0, 745.0, 1e4]))]


def _clamps(fn) -> bool:
    """Does fn return the same positive value at z = -40 and z = -1e4 (a clamped output)?"""
    out, err = _call(fn, np.array([-40.0, -1e4]))
    s = _as_array(out) if err is None else None
    return s is not None and s.shape == (2,) and s[0] == s[1] and s[0] > 0


def check_sigmoid(fn) -> bool:
    """Check ``fn(z) -> sigmoid(z)``, a numerically stable logistic function on arrays.

    The answer must keep ``z``'s shape, agree with ``dlcore.functional.sigmoid`` to a
    relative 1e-12 everywhere, including the tails (``sigmoid(-40)`` is about 4.2e-18,
    not 0), and must run on entries of ±745 and ±1e4 without overflow or any warning:
    the function runs with NumPy's floating-point errors set to raise (underflow
    excepted: ``exp(-1e4) = 0`` is correct).
    """
    from .functional import sigmoid
    _require_callable(fn, "fn(z) -> sigmoid(z)")
    title = "Stable sigmoid"
    cases = _sigmoid_cases()
    for k, (desc, z) in enumerate(cases, start=1):
        with np.errstate(under="ignore"):
            ref = sigmoid(z)
        where = f"Case {k} of {len(cases)} ({desc})"
        out, err = _call_strict(fn, z)
        if err is not None:
            if "overflow" in err or "invalid value" in err:
                neg = _call_strict(fn, np.array([-745.0]))[1] is not None
                pos = _call_strict(fn, np.array([745.0]))[1] is not None
                if neg and pos:
                    hint = ("np.where evaluates both branches on every entry, so exp overflows on "
                            "one side either way: compute each branch only on its own entries "
                            "(boolean masks), or write both with e = np.exp(-np.abs(z)).")
                elif neg:
                    hint = ("the naive 1 / (1 + np.exp(-z)) overflows for z < -709, where exp(-z) "
                            "exceeds 1.8e308: for z < 0 use the equal form "
                            "np.exp(z) / (1 + np.exp(z)), whose exp is at most 1.")
                elif pos:
                    hint = ("np.exp(z) / (1 + np.exp(z)) overflows for z > 709: use it only for "
                            "z < 0, and 1 / (1 + np.exp(-z)) for z >= 0.")
                else:
                    hint = "some exp overflows: arrange every exp to take an argument <= 0."
            else:
                hint = "run it by hand on this array and read the traceback."
            return _failw(title, where, f"your function raised {err} (floating-point errors "
                          "raise here)", hint)
        s = _as_array(out)
        if s is None:
            return _failw(title, where, f"expected a numeric array, got {type(out).__name__}",
                          "return an array of the same shape as z.")
        if s.shape != z.shape:
            return _failw(title, where, f"the result has shape {s.shape}, expected {z.shape}",
                          "sigmoid acts element-wise: return an array of z's shape.")
        if np.asarray(out).dtype == np.float32:
            return _failw(title, where, "the result is float32",
                          "keep float64: float32 carries only about 7 significant digits.")
        if not np.all(np.isfinite(s)):
            return _failw(title, where, "the result contains NaN or inf",
                          "inf / inf is NaN: arrange every exp to take an argument <= 0.")
        ok = np.isclose(s, ref, rtol=SIGMOID_RTOL, atol=_SIGMOID_ATOL)
        if ok.all():
            continue
        i = int(np.flatnonzero(~ok.ravel())[0])
        zi, got_i, ref_i = z.ravel()[i], s.ravel()[i], ref.ravel()[i]
        problem = f"at z = {zi:.2g}: expected {ref_i:.1e}, got {got_i:.1e}"
        with np.errstate(under="ignore"):
            flipped = sigmoid(-z)
        neg_only = ok[z >= 0].all() and not ok[z < 0].all()
        if np.allclose(s, flipped, rtol=SIGMOID_RTOL, atol=_SIGMOID_ATOL):
            hint = "you computed sigmoid(-z) = 1 / (1 + exp(z)): the sign of z is flipped."
        elif neg_only and zi <= -100:
            hint = ("far in the negative tail the answer is still exp(z) / (1 + exp(z)), about "
                    "exp(z) (sigmoid(-700) ~ 9.9e-305): do not clip z; the two-branch form needs "
                    "no clipping.")
        elif _clamps(fn):
            hint = ("far in the negative tail the result stays at one constant: do not clamp "
                    "the result (a clamp belongs, if anywhere, inside a log, and even there "
                    "log-sigmoid is better computed directly).")
        elif neg_only and np.all(np.abs(s - ref)[~ok] <= 1e-15):
            hint = ("for z < 0 you compute 1 minus a number close to 1 (1 - sigmoid(-z), or "
                    "0.5 * (1 + tanh(z / 2))): the subtraction cancels every significant digit, "
                    "so sigmoid(-40) = 4.2e-18 comes out 0. Use np.exp(z) / (1 + np.exp(z)) "
                    "for z < 0.")
        elif np.allclose(s, np.tanh(z)):
            hint = "that is tanh(z): sigmoid(z) = 1 / (1 + exp(-z)), with values in (0, 1)."
        else:
            hint = ("sigmoid(z) = 1 / (1 + exp(-z)) for z >= 0 and exp(z) / (1 + exp(z)) for "
                    "z < 0: compare with dlcore.functional.sigmoid on the failing entry.")
        return _failw(title, where, problem, hint)
    _ok(f"{title}: correct. It matches dlcore.functional.sigmoid to rtol 1e-12 on "
          f"{len(cases)} cases, including sigmoid(-40) ~ 4.2e-18, and runs on ±745 and ±1e4 "
          "without overflow or warnings.")
    return True


# =============================================== gradient descent: SGD with momentum

# (shape, lr, momentum, first step): on the first step the velocity is zero (PyTorch
# then starts the buffer at g, which is mu * 0 + g)
# (lr differs from 1 - momentum everywhere, so that a damped velocity (1 - momentum) * grad
# cannot pass for lr * grad)
_SGD_CASES = [((3,), 0.2, 0.9, True), ((2, 3), 0.05, 0.9, False), ((4,), 0.3, 0.5, False),
              ((3, 3), 0.02, 0.99, False)]


def _sgd_reference(param, grad, velocity, lr, momentum):
    from .optim import SGD
    opt = SGD(lr=lr, momentum=momentum)
    params = {"p": param.copy()}
    opt.state["p"] = {"step": 1, "momentum_buffer": velocity.copy()}
    opt.step(params, {"p": grad.copy()})
    return params["p"], opt.state["p"]["momentum_buffer"]


def check_sgd_momentum_step(fn) -> bool:
    """Check ``fn(param, grad, velocity, lr, momentum) -> (new_param, new_velocity)``.

    One step of SGD with momentum in PyTorch's convention (``torch.optim.SGD``, no
    dampening, no Nesterov)::

        v <- momentum * v + grad;    param <- param - lr * v

    Return new arrays (or the updated inputs). Compared with ``dlcore.optim.SGD`` on four
    cases, the first with a zero velocity (the first step); the parameter is checked
    through its update ``new_param - param``.
    """
    _require_callable(fn, "fn(param, grad, velocity, lr, momentum) -> (new_param, new_velocity)")
    title = "SGD momentum step"
    for k, (shape, lr, mu, first) in enumerate(_SGD_CASES, start=1):
        g_ = np.random.default_rng(500 + k)
        p, grad = g_.standard_normal(shape), g_.standard_normal(shape)
        vel = np.zeros(shape) if first else g_.standard_normal(shape)
        ref_p, ref_v = _sgd_reference(p, grad, vel, lr, mu)
        where = (f"Case {k} of {len(_SGD_CASES)} (param {shape}, lr {lr}, momentum {mu}"
                 + (", zero velocity)" if first else ")"))
        out, err = _call(fn, p, grad, vel, lr, mu)
        if err is not None:
            return _failw(title, where, f"your function raised {err}",
                          "run it by hand on arrays of this shape and read the traceback.")
        arrays = _unpack(out, ("new_param", "new_velocity"), title, where)
        if arrays is None:
            return False
        new_p, new_v = arrays
        for name, arr in (("new_param", new_p), ("new_velocity", new_v)):
            if arr.shape != shape:
                return _failw(title, where, f"{name} has shape {arr.shape}, expected {shape}",
                              "the update is element-wise: every array keeps param's shape.")
        bad = _first_nonfinite(arrays, ("new_param", "new_velocity"))
        if bad:
            return _failw(title, where, f"{bad} contains NaN or inf",
                          "the inputs are finite and moderate: look for a division or np.empty.")
        v_ok, p_ok = _close(new_v, ref_v), _step_close(new_p, p, ref_p)
        if v_ok and p_ok:
            continue
        if v_ok:
            variants = [
                (p + lr * ref_v, "the parameter moves uphill: param - lr * v, not param + lr * v."),
                (p - lr * vel, "you stepped with the old velocity: update v first, then "
                               "param - lr * v with the new v."),
                (p - lr * grad, "you stepped along the raw gradient: with momentum the step "
                                "is param - lr * v, with the new velocity v."),
                (p - lr * (grad + mu * ref_v), "that is the Nesterov step (grad + momentum * v); "
                                               "plain momentum steps along v itself."),
            ]
            hint = next((h for v, h in variants if _step_close(new_p, p, v)),
                        "the velocity is right: the step is param - lr * new_velocity.")
            return _failw(title, where, _differs("new_param", new_p, ref_p), hint)
        variants = [
            (mu * vel - lr * grad,
             "that is the other convention (v = momentum * v - lr * grad; param += v, as in "
             "Sutskever et al. and CS231n). PyTorch's buffer holds v = momentum * v + grad, "
             "without lr and without the minus sign; the step is param - lr * v."),
            (mu * vel + lr * grad,
             "lr belongs in the parameter step, not in the velocity: PyTorch keeps "
             "v = momentum * v + grad and steps param - lr * v (so lr can change during "
             "training without rescaling v)."),
            (mu * vel + (1 - mu) * grad,
             "you damped the gradient, v = momentum * v + (1 - momentum) * grad (an average): "
             "PyTorch's default adds the full gradient, v = momentum * v + grad."),
            (mu * vel - grad,
             "the velocity has the wrong sign: v = momentum * v + grad accumulates the gradient; "
             "the minus sign is in the step, param - lr * v."),
            (vel, "new_velocity is the old velocity: return the updated v."),
            (grad, "the new velocity is momentum * v + grad, not grad alone: keep the "
                   "momentum term."),
        ]
        hint = next((h for v, h in variants if _close(new_v, v)),
                    "v = momentum * v + grad, then param = param - lr * v.")
        return _failw(title, where, _differs("new_velocity", new_v, ref_v), hint)
    _ok(f"{title}: correct. new_param and new_velocity match dlcore.optim.SGD "
          f"(torch.optim.SGD's convention) on {len(_SGD_CASES)} cases to rtol 1e-8.")
    return True


# =============================================================== optimizers: Adam

# (shape, gradient scale, lr, (beta1, beta2), eps, steps): the second sequence has gradients
# of about 1e-5, so that sqrt(v_hat) ~ 1e-5 and the place of eps matters
_ADAM_CASES = [((2, 3), 1.0, 1e-2, (0.9, 0.999), 1e-8, 3),
               ((4,), 1e-5, 1e-3, (0.9, 0.999), 1e-8, 3),
               ((3,), 1.0, 0.1, (0.5, 0.75), 1e-6, 2)]


def _adam_reference(p, grad, m, v, t, lr, betas, eps):
    from .optim import Adam
    opt = Adam(lr=lr, betas=betas, eps=eps)
    params = {"p": p.copy()}
    opt.state["p"] = {"step": t - 1, "m": m.copy(), "v": v.copy()}
    opt.step(params, {"p": grad.copy()})
    return params["p"], opt.state["p"]["m"], opt.state["p"]["v"]


def _adam_variant(p, grad, m, v, t, lr, b1, b2, eps, *, correct_m=True, correct_v=True,
                  t_shift=0, eps_inside=False, sign=1.0):
    m2 = b1 * m + (1 - b1) * grad
    v2 = b2 * v + (1 - b2) * grad * grad
    tt = t + t_shift
    mh = m2 / (1 - b1 ** tt) if correct_m else m2
    vh = v2 / (1 - b2 ** tt) if correct_v else v2
    denom = np.sqrt(vh + eps) if eps_inside else np.sqrt(vh) + eps
    return p - sign * lr * mh / denom


def check_adam_step(fn) -> bool:
    """Check ``fn(param, grad, m, v, t, lr, beta1, beta2, eps) -> (new_param, m, v)``.

    One Adam step as ``torch.optim.Adam`` (no weight decay); ``t`` is the number of this
    step, 1 on the first::

        m <- beta1 m + (1 - beta1) g;          v <- beta2 v + (1 - beta2) g^2
        m_hat = m / (1 - beta1^t);             v_hat = v / (1 - beta2^t)
        param <- param - lr * m_hat / (sqrt(v_hat) + eps)

    Return the raw moments ``m``, ``v`` (not the bias-corrected ones). Compared with
    ``dlcore.optim.Adam`` along three short sequences of steps (t = 1, 2, ...), one with
    gradients of about 1e-5 where eps matters; the parameter is checked through its update.
    """
    _require_callable(fn, "fn(param, grad, m, v, t, lr, beta1, beta2, eps) -> (new_param, m, v)")
    title = "Adam step"
    names = ("new_param", "m", "v")
    total = sum(c[-1] for c in _ADAM_CASES)
    k = 0
    for s, (shape, scale, lr, (b1, b2), eps, steps) in enumerate(_ADAM_CASES, start=1):
        g_ = np.random.default_rng(600 + s)
        p, m, v = g_.standard_normal(shape), np.zeros(shape), np.zeros(shape)
        for t in range(1, steps + 1):
            k += 1
            grad = scale * g_.standard_normal(shape)
            ref_p, ref_m, ref_v = _adam_reference(p, grad, m, v, t, lr, (b1, b2), eps)
            where = (f"Case {k} of {total} (param {shape}, t = {t}"
                     + (", gradients ~1e-5)" if scale < 1e-3 else ")"))
            out, err = _call(fn, p, grad, m, v, t, lr, b1, b2, eps)
            if err is not None:
                hint = ("at t = 1 the corrections are 1 - beta1 and 1 - beta2: with t counted "
                        "from 0, 1 - beta1**0 = 0 and you divide by zero."
                        if t == 1 and "ZeroDivision" in err else
                        "run it by hand on arrays of this shape and read the traceback.")
                return _failw(title, where, f"your function raised {err}", hint)
            arrays = _unpack(out, names, title, where)
            if arrays is None:
                return False
            for name, arr in zip(names, arrays):
                if arr.shape != shape:
                    return _failw(title, where, f"{name} has shape {arr.shape}, expected {shape}",
                                  "Adam is element-wise: every array keeps param's shape.")
            new_p, new_m, new_v = arrays
            bad = _first_nonfinite(arrays, names)
            if bad:
                hint = ("at t = 1 the corrections are 1 - beta1 and 1 - beta2: with t counted "
                        "from 0, 1 - beta1**0 = 0 and m_hat = m / 0."
                        if t == 1 else "look for a division by zero or a sqrt of a negative.")
                return _failw(title, where, f"{bad} contains NaN or inf", hint)
            args = (p, grad, m, v, t, lr, b1, b2, eps)
            if not _close(new_m, ref_m):
                if _close(new_m, ref_m / (1 - b1 ** t)):
                    hint = ("you returned the bias-corrected m_hat: return the raw moment m "
                            "(the state for the next step); correct only inside the step.")
                elif _close(new_m, b1 * m + grad):
                    hint = "m is a moving average: m = beta1 * m + (1 - beta1) * grad."
                else:
                    hint = "m = beta1 * m + (1 - beta1) * grad."
                return _failw(title, where, _differs("m", new_m, ref_m), hint)
            if not _close(new_v, ref_v):
                if _close(new_v, ref_v / (1 - b2 ** t)):
                    hint = ("you returned the bias-corrected v_hat: return the raw moment v; "
                            "correct only inside the step.")
                elif _close(new_v, b2 * v + (1 - b2) * np.abs(grad)) \
                        or _close(new_v, b2 * v + (1 - b2) * grad):
                    hint = "v averages the squared gradient: v = beta2 * v + (1 - beta2) * grad**2."
                else:
                    hint = "v = beta2 * v + (1 - beta2) * grad**2."
                return _failw(title, where, _differs("v", new_v, ref_v), hint)
            if not _step_close(new_p, p, ref_p):
                variants = [
                    (dict(correct_m=False, correct_v=False),
                     "no bias correction: m and v start at 0, so early on they are too small by "
                     "factors 1 - beta1**t and 1 - beta2**t; divide by them (m_hat, v_hat)."),
                    (dict(correct_v=False), "you bias-corrected m but not v: v_hat = v / (1 - beta2**t)."),
                    (dict(correct_m=False), "you bias-corrected v but not m: m_hat = m / (1 - beta1**t)."),
                    (dict(eps_inside=True),
                     "eps goes outside the square root: sqrt(v_hat) + eps, not sqrt(v_hat + eps) "
                     "(with gradients ~1e-5 the two differ by a factor of about 10)."),
                    (dict(t_shift=1),
                     "t is already the number of this step (1 on the first): do not add 1 to it."),
                    (dict(t_shift=-1),
                     "t starts at 1, not 0: the correction at step t is 1 - beta**t with the "
                     "step's own number."),
                    (dict(sign=-1.0), "the parameter moves uphill: param - lr * m_hat / (...)."),
                ]
                hint = next((h for kw, h in variants
                             if _step_close(new_p, p, _quiet(lambda: _adam_variant(*args, **kw)))),
                            "param - lr * m_hat / (sqrt(v_hat) + eps), with m_hat = m / (1 - "
                            "beta1**t) and v_hat = v / (1 - beta2**t) from the new m and v.")
                return _failw(title, where, _differs("new_param", new_p, ref_p), hint)
            p, m, v = ref_p, ref_m, ref_v
    _ok(f"{title}: correct. new_param, m and v match dlcore.optim.Adam (torch.optim.Adam) on "
          f"{total} steps of {len(_ADAM_CASES)} sequences, including gradients of ~1e-5, "
          "to rtol 1e-8.")
    return True


# ======================================================= initialization: clip grad norm

# (shapes, scale, max_norm): case 2 is below the threshold (nothing may change); in case 4
# every array alone is below max_norm but together they are above it
_CLIP_CASES = [([(3, 2), (4,), (2, 2, 2)], 2.0, 1.0), ([(3, 2), (4,), (2, 2, 2)], 0.1, 1.0),
               ([(5,)], 3.0, 2.0), ([(2, 2), (2, 2), (2, 2), (2, 2)], 0.35, 1.0)]


def _clip_reference(arrays, max_norm):
    from .clip import clip_grad_norm
    ref = [a.copy() for a in arrays]
    total = clip_grad_norm(ref, max_norm)
    return ref, total


def check_clip_grad_norm(fn) -> bool:
    """Check ``fn(grads, max_norm) -> total_norm``: clip a list of arrays by their global norm.

    As ``torch.nn.utils.clip_grad_norm_``: ``total = sqrt(sum_i ||g_i||^2)`` over *all* the
    arrays, every array is multiplied **in place** by ``min(1, max_norm / (total + 1e-6))``,
    and the norm before clipping is returned. Compared with ``dlcore.clip.clip_grad_norm``
    on four cases, one below the threshold (nothing may change).
    """
    _require_callable(fn, "fn(grads, max_norm) -> total_norm")
    title = "Clip grad norm"
    for k, (shapes, scale, max_norm) in enumerate(_CLIP_CASES, start=1):
        g_ = np.random.default_rng(700 + k)
        orig = [scale * g_.standard_normal(s) for s in shapes]
        ref, ref_total = _clip_reference(orig, max_norm)
        clipping = ref_total > max_norm
        where = (f"Case {k} of {len(_CLIP_CASES)} ({len(shapes)} array"
                 + ("s" if len(shapes) > 1 else "")
                 + f", total norm {ref_total:.2g}, max_norm {max_norm})")
        grads = [a.copy() for a in orig]
        out, err = _call(fn, grads, max_norm)
        if err is not None:
            return _failw(title, where, f"your function raised {err}",
                          "grads is a Python list of float64 arrays of different shapes: "
                          "loop over it (np.stack fails on such a list).")
        total = None if isinstance(out, (list, tuple)) else _as_array(out)
        if total is None or total.shape not in ((), (1,)):
            what = (f"an array of shape {total.shape}" if total is not None
                    else f"a {type(out).__name__}")
            return _failw(title, where, f"expected the total norm (a float), got {what}",
                          "clip the arrays in place and return the total norm before clipping, "
                          "a single number.")
        total = float(total.reshape(()))
        got = [_as_array(a) for a in grads]
        if any(a is None or a.shape != r.shape for a, r in zip(got, ref)) or len(got) != len(ref):
            return _failw(title, where, "the arrays in grads changed shape or type",
                          "scale each array in place with g *= coef; do not replace them.")
        if not (np.isfinite(total) and all(np.all(np.isfinite(a)) for a in got)):
            return _failw(title, where, "NaN or inf in the result",
                          "the gradients are finite here: look for a division by zero.")
        arrays_ok = all(_close(a, r) for a, r in zip(got, ref))
        if arrays_ok and np.isclose(total, ref_total, rtol=RTOL, atol=ATOL):
            continue
        if not arrays_ok:
            norms = [np.linalg.norm(a) for a in orig]
            sum_norms = float(np.sum(norms))
            variants = [
                ([a * min(1.0, max_norm / (nm + 1e-6)) for a, nm in zip(orig, norms)],
                 "you clipped each array by its own norm: clip_grad_norm_ uses the global norm "
                 "sqrt(sum_i ||g_i||^2) of all the arrays together and scales every array by "
                 "the same factor, which keeps the direction of the whole gradient."),
                ([a * min(1.0, max_norm / nm) for a, nm in zip(orig, norms)],
                 "you clipped each array by its own norm: use the global norm of all arrays "
                 "together, one factor for every array."),
                ([a * (max_norm / (ref_total + 1e-6)) for a in orig],
                 "you rescale even below the threshold: the factor is min(1, max_norm / (total "
                 "+ 1e-6)), so gradients shorter than max_norm are left alone (clipping never "
                 "makes a gradient longer)."),
                ([a * min(1.0, max_norm / ref_total) for a in orig],
                 "PyTorch's factor is max_norm / (total + 1e-6) (clamped at 1): the 1e-6 "
                 "guards against a zero norm, and leaving it out changes the result by about "
                 "1e-7 relative, more than this check's 1e-8."),
                ([a * min(1.0, max_norm / (sum_norms + 1e-6)) for a in orig],
                 "the global norm is sqrt(sum_i ||g_i||^2), not the sum of the arrays' norms."),
                ([np.clip(a, -max_norm, max_norm) for a in orig],
                 "that is clipping by value (np.clip): clip by norm rescales every array by one "
                 "factor, min(1, max_norm / (total + 1e-6))."),
            ]
            if clipping and all(np.array_equal(a, o) for a, o in zip(got, orig)):
                hint = ("the arrays in grads are unchanged: clip in place (g *= coef, or "
                        "g[...] = ...). `g = g * coef` or a new list only rebinds a name and "
                        "the caller never sees the result.")
            else:
                hint = next((h for v, h in variants if all(_close(a, b) for a, b in zip(got, v))),
                            "multiply every array in place by min(1, max_norm / (total + 1e-6)), "
                            "total = sqrt(sum_i ||g_i||^2).")
            i = next(i for i, (a, r) in enumerate(zip(got, ref)) if not _close(a, r))
            return _failw(title, where, _differs(f"grads[{i}] after the call", got[i], ref[i]),
                          hint)
        if np.isclose(total, min(ref_total, max_norm), rtol=1e-5):
            hint = ("you returned the norm after clipping: return the total norm before "
                    "clipping, as torch.nn.utils.clip_grad_norm_ does (useful for logging).")
        elif np.isclose(total, ref_total ** 2, rtol=RTOL):
            hint = "you returned the squared norm: take the square root."
        else:
            hint = "return total = sqrt(sum_i ||g_i||^2), computed before clipping."
        return _failw(title, where, f"returned total norm {total:.2g}, expected {ref_total:.2g}",
                      hint)
    _ok(f"{title}: correct. The arrays (clipped in place) and the returned norm match "
          f"dlcore.clip.clip_grad_norm (torch.nn.utils.clip_grad_norm_) on {len(_CLIP_CASES)} "
          "cases to rtol 1e-8.")
    return True


# ============================================== normalization: batch norm backward

# (N, C, eps, mean): a batch of two, a single channel, a channel mean of 100, and a larger eps
_BN_CASES = [(2, 3, 1e-5, 0.0), (5, 1, 1e-5, 0.0), (16, 4, 1e-5, 100.0), (32, 6, 1e-3, 0.0)]


def check_batchnorm_backward(fn) -> bool:
    """Check ``fn(x, gamma, dout, eps) -> (dx, dgamma, dbeta)``: batch norm's backward pass.

    Training mode over axis 0 of an (N, C) input, biased batch variance, as
    ``torch.nn.BatchNorm1d``: ``x_hat = (x - mean) / sqrt(var + eps)``, ``y = gamma * x_hat
    + beta``; ``dout = dL/dy``. The answer is ``dx`` (N, C), ``dgamma`` and ``dbeta`` (C,).
    Compared with ``dlcore.normalization.BatchNorm1d`` on four cases (a batch of two, a single
    channel, a channel mean of 100, eps = 1e-3).
    """
    from .normalization import BatchNorm1d
    _require_callable(fn, "fn(x, gamma, dout, eps) -> (dx, dgamma, dbeta)")
    title = "Batch norm backward"
    names = ("dx", "dgamma", "dbeta")
    for k, (n, c, eps, mean) in enumerate(_BN_CASES, start=1):
        g_ = np.random.default_rng(800 + k)
        x = g_.standard_normal((n, c)) + mean
        gamma, dout = g_.uniform(0.5, 2.0, c), g_.standard_normal((n, c))
        bn = BatchNorm1d(c, eps=eps)
        bn.params["gamma"][...] = gamma
        bn.forward(x)
        ref = (bn.backward(dout), bn.grads["gamma"], bn.grads["beta"])
        where = (f"Case {k} of {len(_BN_CASES)} (x {x.shape}, eps {eps:g}"
                 + (", channel means 100)" if mean else ")"))
        out, err = _call(fn, x, gamma, dout, eps)
        if err is not None:
            return _failw(title, where, f"your function raised {err}",
                          "run it by hand on arrays of these shapes and read the traceback.")
        arrays = _unpack(out, names, title, where)
        if arrays is None:
            return False
        for name, arr, r in zip(names, arrays, ref):
            if arr.shape != r.shape:
                hint = (f"{name} has gamma's shape (C,): sum over the batch axis, axis=0."
                        if name != "dx" else "dx has the shape of x, (N, C).")
                return _failw(title, where, f"{name} has shape {arr.shape}, expected {r.shape}", hint)
        bad = _first_nonfinite(arrays, names)
        if bad:
            return _failw(title, where, f"{bad} contains NaN or inf",
                          "sigma = sqrt(var + eps) is positive: look for a division by var alone.")
        dx, dgamma, dbeta = arrays
        mu = x.mean(axis=0)
        sigma = np.sqrt(x.var(axis=0) + eps)
        x_hat = (x - mu) / sigma
        sigma_u = np.sqrt(x.var(axis=0, ddof=1) + eps)
        x_hat_u = (x - mu) / sigma_u
        if not _close(dbeta, ref[2]):
            hint = ("dbeta = dout.sum(axis=0): beta is added to every row."
                    if not (n > 1 and _close(dbeta, dout.mean(axis=0))) else
                    "dbeta is a mean over the batch: it must be the sum, dout.sum(axis=0).")
            return _failw(title, where, _differs("dbeta", dbeta, ref[2]), hint)
        if not _close(dgamma, ref[1]):
            if _close(dgamma, (dout * x_hat_u).sum(axis=0)):
                hint = ("you normalized with the unbiased variance (ddof=1): batch norm divides "
                        "by sqrt(var + eps) with the biased variance, the mean of (x - mean)**2; "
                        "the unbiased one only feeds running_var.")
            elif _close(dgamma, (dout * x).sum(axis=0)):
                hint = "dgamma sums dout * x_hat, the normalized input, not dout * x."
            else:
                hint = "dgamma = (dout * x_hat).sum(axis=0), x_hat = (x - mean) / sqrt(var + eps)."
            return _failw(title, where, _differs("dgamma", dgamma, ref[1]), hint)
        if not _close(dx, ref[0]):
            d = dout * gamma
            variants = [
                (d / sigma,
                 "dx = dout * gamma / sigma is only the direct path: the batch mean and variance "
                 "also depend on every x, so subtract their paths: dx = gamma / sigma * (dout - "
                 "mean(dout) - x_hat * mean(dout * x_hat)), means over the batch."),
                (d / sigma_u - (d / sigma_u).mean(axis=0)
                 - x_hat_u * (d * x_hat_u).mean(axis=0) / sigma_u,
                 "you used the unbiased variance (ddof=1): batch norm normalizes with the biased "
                 "one (divide by N)."),
                ((d - d.mean(axis=0)) / sigma,
                 "you have the path through the mean but not the one through the variance: "
                 "also subtract x_hat * mean(dout * gamma * x_hat) / sigma."),
                ((d - x_hat * (d * x_hat).mean(axis=0)) / sigma,
                 "you have the path through the variance but not the one through the mean: "
                 "also subtract mean(dout * gamma) / sigma."),
                (ref[0] / gamma,
                 "dx is missing the factor gamma: the gradient reaching x_hat is dout * gamma."),
            ]
            hint = next((h for v, h in variants if _close(dx, v)),
                        "dx = gamma / sigma * (dout - mean(dout) - x_hat * mean(dout * x_hat)), "
                        "means over the batch axis.")
            return _failw(title, where, _differs("dx", dx, ref[0]), hint)
    _ok(f"{title}: correct. dx, dgamma and dbeta match dlcore.normalization.BatchNorm1d on "
          f"{len(_BN_CASES)} cases (a batch of two, one channel, means of 100) to rtol 1e-8.")
    return True


# ================================================== regularization: inverted dropout

# (shape, p): 10 000 draws for p = 0.2 and 0.7 (the share of zeros has a standard deviation
# below 0.005), and p = 0 (nothing dropped)
_DROPOUT_CASES = [((200, 50), 0.2), ((100, 100), 0.7), ((4, 5), 0.0)]


def check_inverted_dropout(fn) -> bool:
    """Check ``fn(x, p, rng) -> (out, mask)``, inverted dropout in training mode.

    ``p`` is the probability of *dropping* an element; ``rng`` a ``numpy.random.Generator``
    to draw from. ``mask`` marks the kept elements (bool, 0/1, or already scaled by
    1/(1 - p)), one entry per element of ``x``; ``out`` is 0 where dropped and
    ``x / (1 - p)`` where kept, so that E[out] = x. Checked: the survivors are scaled
    exactly (rtol 1e-8), the share of zeros is p within 5 standard deviations, the sum of
    ``out - x`` is within 5 standard deviations of 0, and the same seed gives the same mask.
    """
    _require_callable(fn, "fn(x, p, rng) -> (out, mask)")
    title = "Inverted dropout"
    for k, (shape, p) in enumerate(_DROPOUT_CASES, start=1):
        x = np.random.default_rng(900 + k).standard_normal(shape) + 1.0
        where = f"Case {k} of {len(_DROPOUT_CASES)} (x {shape}, p {p})"
        out, err = _call(fn, x, p, np.random.default_rng(950 + k))
        if err is not None:
            return _failw(title, where, f"your function raised {err}",
                          "draw the mask with rng.random(x.shape) >= p and read the traceback.")
        arrays = _unpack(out, ("out", "mask"), title, where)
        if arrays is None:
            return False
        y, mask = arrays
        if y.shape != shape:
            return _failw(title, where, f"out has shape {y.shape}, expected {shape}",
                          "dropout is element-wise: out has x's shape.")
        if mask.shape != shape:
            hint = ("draw one mask entry per element, rng.random(x.shape): a mask shared by all "
                    "examples drops the same units for the whole batch."
                    if mask.size < x.size else "the mask has x's shape: rng.random(x.shape).")
            return _failw(title, where, f"mask has shape {mask.shape}, expected {shape}", hint)
        if not np.all(np.isfinite(y)):
            return _failw(title, where, "out contains NaN or inf",
                          "divide by 1 - p (the keep probability), which is never 0 here.")
        kept = mask != 0
        if np.any(y[~kept] != 0):
            return _failw(title, where, "out is not 0 where mask is 0",
                          "out = x * mask / (1 - p) with mask 1 where an element is kept, 0 "
                          "where it is dropped (or mask already scaled: out = x * mask).")
        want = x[kept] / (1.0 - p)
        if not _close(y[kept], want):
            if p > 0 and _close(y[kept], x[kept]):
                hint = ("no rescaling: the survivors must be divided by 1 - p, so that "
                        "E[out] = x and nothing changes at test time (that is what makes it "
                        "'inverted').")
            elif p > 0 and _close(y[kept], x[kept] / p):
                hint = ("you divided by p: p is the probability of dropping, the survivors are "
                        "divided by the keep probability 1 - p.")
            elif p > 0 and _close(y[kept], x[kept] * (1.0 - p)):
                hint = ("you multiplied by 1 - p: that is the test-time scaling of the original "
                        "dropout; inverted dropout divides the survivors by 1 - p in training.")
            else:
                hint = "every kept element is x / (1 - p), exactly."
            return _failw(title, where, _differs("out on the kept elements", y[kept], want), hint)
        share = float(np.mean(~kept))
        tol = 5.0 * np.sqrt(p * (1.0 - p) / x.size) + 1e-12
        if abs(share - p) > tol:
            if abs(share - (1.0 - p)) <= tol:
                hint = ("you keep elements with probability p: p is the probability of "
                        "dropping, so keep where rng.random(x.shape) >= p.")
            else:
                hint = "drop each element independently with probability p: rng.random(x.shape) < p."
            return _failw(title, where, f"the share of zeros is {share:.2f}, expected "
                          f"{p:.2f} ± {tol:.2f}", hint)
        if p > 0:
            z = float(np.sum(y - x) / np.sqrt(np.sum(x * x) * p / (1.0 - p)))
            if abs(z) > 5.0:
                return _failw(title, where, f"mean(out - x) is {abs(z):.0f} standard deviations "
                              "from 0", "choose the dropped elements at random, independently "
                              "of the values of x: E[out] must equal x.")
        if k == 1:
            again, err2 = _call(fn, x, p, np.random.default_rng(950 + k))
            again = _unpack(again, ("out", "mask"), title, where) if err2 is None else None
            if again is None or not np.array_equal(again[0], y):
                return _failw(title, where, "the same seed gave a different mask",
                              "draw from the rng argument (rng.random(x.shape)), not from "
                              "np.random: the same generator state must give the same mask.")
    _ok(f"{title}: correct. Survivors are scaled by 1/(1-p) exactly, the share of zeros is p "
          f"and E[out] = x within statistical error on {len(_DROPOUT_CASES)} cases "
          "(p = 0.2, 0.7, 0).")
    return True


# ===================================================== evaluation: precision, recall, F1

def _prf_formula(t, p):
    tp = float(np.sum((t == 1) & (p == 1)))
    pp, ap = float(np.sum(p == 1)), float(np.sum(t == 1))
    prec = tp / pp if pp else 0.0
    rec = tp / ap if ap else 0.0
    f1 = 2 * tp / (pp + ap) if pp + ap else 0.0
    return prec, rec, f1


def _prf_reference(t, p):
    try:
        from .metrics import precision_recall_f1
    except ImportError:          # pragma: no cover - dlcore.metrics is optional here
        return _prf_formula(t, p)
    return precision_recall_f1(t, p)


def _labels_from_counts(tp, fp, fn_, tn, seed):
    t = np.array([1] * tp + [0] * fp + [1] * fn_ + [0] * tn, dtype=np.int64)
    p = np.array([1] * tp + [1] * fp + [0] * fn_ + [0] * tn, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(t.size)
    return t[order], p[order]


# (TP, FP, FN, TN, description): precision != recall, an imbalanced case where accuracy is
# high and F1 is not, no predicted positives, and everything predicted positive
_PRF_CASES = [(5, 2, 4, 9, "20 labels"), (3, 6, 2, 89, "100 labels, 5 positives"),
              (0, 0, 4, 6, "no predicted positives"), (4, 6, 0, 0, "everything predicted positive")]


def check_precision_recall_f1(fn) -> bool:
    """Check ``fn(y_true, y_pred) -> (precision, recall, f1)`` for binary labels in {0, 1}.

    ``precision = TP / (TP + FP)``, ``recall = TP / (TP + FN)``, ``f1 = 2PR / (P + R)``
    with class 1 positive; a ratio whose denominator is 0 (nothing predicted positive) is
    0.0, scikit-learn's convention. Compared with ``dlcore.metrics.precision_recall_f1``
    on four cases, one without predicted positives.
    """
    _require_callable(fn, "fn(y_true, y_pred) -> (precision, recall, f1)")
    title = "Precision, recall, F1"
    names = ("precision", "recall", "f1")
    for k, (tp, fp, fn_, tn, desc) in enumerate(_PRF_CASES, start=1):
        t, p = _labels_from_counts(tp, fp, fn_, tn, seed=1000 + k)
        ref = np.array(_prf_reference(t, p), dtype=np.float64)
        where = f"Case {k} of {len(_PRF_CASES)} ({desc}: TP {tp}, FP {fp}, FN {fn_}, TN {tn})"
        zero_pp = tp + fp == 0
        conv = ("when nothing is predicted positive, TP + FP = 0: precision is 0.0 by "
                "convention (scikit-learn's default), and then F1 is 0.0 too. Test the "
                "denominator before dividing.")
        out, err = _call(fn, t, p)
        if err is not None:
            hint = conv if zero_pp and "ZeroDivision" in err else \
                "run it by hand on these labels and read the traceback."
            return _failw(title, where, f"your function raised {err}", hint)
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            return _failw(title, where, f"expected a tuple (precision, recall, f1), got {_got(out)}",
                          "end the function with `return precision, recall, f1`.")
        vals = [_as_array(v) for v in out]
        for name, v, raw in zip(names, vals, out):
            if v is None or v.size != 1:
                return _failw(title, where, f"{name} is not a single number "
                              f"(got {type(raw).__name__})", f"return {name} as a float.")
        got = np.array([float(v.reshape(())) for v in vals])
        if not np.all(np.isfinite(got)):
            hint = conv if zero_pp else "every denominator is positive here: look for a 0/0."
            return _failw(title, where, "the result contains NaN or inf", hint)
        ok = np.isclose(got, ref, rtol=RTOL, atol=ATOL)
        if ok.all():
            continue
        acc = (tp + tn) / (tp + fp + fn_ + tn)
        inv = np.array(_prf_formula(1 - t, 1 - p))
        if _close(got[:2], ref[1::-1]) and not ok[:2].all():
            hint = ("precision and recall are swapped: precision = TP / (TP + FP) divides by the "
                    "predicted positives, recall = TP / (TP + FN) by the actual positives.")
        elif np.any(np.isclose(got[~ok], acc, rtol=RTOL)):
            hint = ("that is the accuracy, (TP + TN) / N: precision, recall and F1 ignore the "
                    "true negatives, which is why they stay informative under class imbalance.")
        elif _close(got, inv):
            hint = "class 1 is the positive class: count TP as (y_true == 1) & (y_pred == 1)."
        elif ok[:2].all() and np.isclose(got[2], ref[:2].mean(), rtol=RTOL):
            hint = ("F1 is the harmonic mean 2PR / (P + R) (= 2TP / (2TP + FP + FN)), not the "
                    "arithmetic mean (P + R) / 2.")
        elif zero_pp:
            hint = conv
        else:
            name = names[int(np.flatnonzero(~ok)[0])]
            hint = (f"{name}: precision = TP / (TP + FP), recall = TP / (TP + FN), "
                    "F1 = 2TP / (2TP + FP + FN).")
        bad = int(np.flatnonzero(~ok)[0])
        return _failw(title, where, f"{names[bad]} is {got[bad]:.2g}, expected {ref[bad]:.2g}", hint)
    _ok(f"{title}: correct. All three match dlcore.metrics.precision_recall_f1 on "
          f"{len(_PRF_CASES)} cases, including no predicted positives (0.0), to rtol 1e-8.")
    return True


# ============================================================ cnn: conv2d forward

# (N, C, H, W, O, kh, kw, stride, padding): a single channel, a non-square kernel with padding,
# stride 2 with padding (floor in the size formula), stride 3
_CONV_CASES = [(1, 1, 5, 5, 1, 3, 3, 1, 0), (2, 3, 6, 7, 4, 3, 2, 1, 1),
               (2, 2, 7, 6, 3, 3, 3, 2, 1), (1, 2, 8, 8, 2, 2, 3, 3, 0)]


def _conv_reference(x, W, b, stride, padding):
    from .conv import Conv2d
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
    from .rnn import RNNCell
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


# ==================================================== generative: the VAE's KL term

# (N, d, logvar scale): a single example, d = 1, and log-variances up to about ±6
_KL_CASES = [(4, 3, 1.0), (1, 5, 1.0), (6, 1, 2.0), (3, 4, 3.0)]


def check_gaussian_kl(fn) -> bool:
    """Check ``fn(mu, logvar) -> kl``: KL(N(mu, diag(exp(logvar))) || N(0, I)) per example.

    ``mu`` and ``logvar`` have shape (N, d) (``logvar`` is the log of the *variance*, as a
    VAE's encoder outputs it); the answer has shape (N,)::

        kl = 0.5 * sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j)

    Compared with ``dlcore.generative.gaussian_kl`` on four cases.
    """
    from .generative import gaussian_kl
    _require_callable(fn, "fn(mu, logvar) -> kl")
    title = "Gaussian KL"
    for k, (n, d, scale) in enumerate(_KL_CASES, start=1):
        g_ = np.random.default_rng(1300 + k)
        mu, logvar = g_.standard_normal((n, d)), scale * g_.standard_normal((n, d))
        ref = gaussian_kl(mu, logvar)
        where = f"Case {k} of {len(_KL_CASES)} (mu and logvar {mu.shape})"
        out, err = _call(fn, mu, logvar)
        if err is not None:
            return _failw(title, where, f"your function raised {err}",
                          "run it by hand on arrays of this shape and read the traceback.")
        kl = _as_array(out)
        if kl is None:
            return _failw(title, where, f"expected a numeric array, got {type(out).__name__}",
                          "return one KL value per example, an array of shape (N,).")
        if kl.shape != ref.shape:
            if kl.shape == () or kl.shape == (1,) and n > 1:
                hint = ("return one value per example, shape (N,): sum over the latent axis "
                        "only (axis=1), not over the batch.")
            elif kl.shape == mu.shape:
                hint = ("sum the d per-dimension terms: the KL of independent dimensions is the "
                        "sum of their KLs, kl.sum(axis=1).")
            else:
                hint = "the KL has one value per example: shape (N,)."
            return _failw(title, where, f"kl has shape {kl.shape}, expected {ref.shape}", hint)
        if not np.all(np.isfinite(kl)):
            return _failw(title, where, "kl contains NaN or inf",
                          "logvar is a log: use np.exp(logvar), never np.log(logvar) (logvar "
                          "may be negative).")
        if _close(kl, ref):
            continue
        var = np.exp(logvar)
        variants = [
            (2 * ref, "you forgot the factor 1/2: kl = 0.5 * sum(mu**2 + exp(logvar) - 1 - "
                      "logvar)."),
            (-ref, "the sign is flipped: a KL divergence is never negative; the VAE loss adds "
                   "+kl to the reconstruction loss."),
            (ref / d, "you averaged over the latent dimensions: sum them (axis=1)."),
            (0.5 * np.sum(mu ** 2 + np.exp(2 * logvar) - 1 - 2 * logvar, axis=1),
             "logvar is the log of the variance, not of the standard deviation: the variance "
             "is exp(logvar), not exp(2 * logvar)."),
            (_quiet(lambda: 0.5 * np.sum(mu ** 2 + logvar - 1 - np.log(logvar), axis=1)),
             "logvar is a log-variance: the variance is np.exp(logvar), and log(variance) is "
             "logvar itself."),
            (0.5 * np.sum(var - 1 - logvar, axis=1),
             "you left out the mean term mu**2: a posterior far from 0 must cost more."),
            (0.5 * np.sum(mu ** 2 + var - logvar, axis=1),
             "you left out the -1 per dimension: with it the KL is 0 exactly when mu = 0 and "
             "logvar = 0."),
        ]
        hint = next((h for v, h in variants if v is not None and _close(kl, v)),
                    "kl = 0.5 * np.sum(mu**2 + np.exp(logvar) - 1 - logvar, axis=1).")
        return _failw(title, where, _differs("kl", kl, ref), hint)
    return _ok(f"{title}: correct. kl matches dlcore.generative.gaussian_kl on {len(_KL_CASES)} "
               "cases (a single example, one latent dimension, log-variances up to ±6) to "
               "rtol 1e-8.")


# ============================================ pytorch essentials: the shape of a @ b

# (shape_a, shape_b): 1-D operands on either side, both 1-D, broadcast batch axes (of
# different ranks; the 5th pair gives another shape if aligned on the left), a mismatched
# inner size, and batch axes that cannot broadcast
_MATMUL_CASES = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
                 ((1, 3, 2, 4), (3, 4, 2)), ((2, 1, 3, 4), (5, 4, 6)), ((7, 3, 4), (4, 2)),
                 ((3, 4), (5, 6)), ((2, 3, 4), (3, 4, 5)), ((6, 1, 2, 3), (4, 3, 2))]


def _matmul_reference(a, b):
    try:
        return np.matmul(np.zeros(a), np.zeros(b)).shape
    except ValueError:
        return None


def _broadcast_left(a, b):
    """Batch axes aligned on the left instead of the right (a typical mistake)."""
    n = max(len(a), len(b))
    a, b = tuple(a) + (1,) * (n - len(a)), tuple(b) + (1,) * (n - len(b))
    out = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            return None
        out.append(max(x, y))
    return tuple(out)


def check_matmul_shape(fn) -> bool:
    """Check ``fn(shape_a, shape_b) -> shape``: the shape of ``a @ b`` (``torch.matmul``,
    ``np.matmul``), or ``None`` when the product is not defined.

    The rules: a 1-D ``a`` is a row (a 1 prepended, removed from the result), a 1-D ``b`` a
    column (a 1 appended, removed); the last axis of ``a`` must equal the second-to-last of
    ``b``; every axis before the last two is a batch axis and *broadcasts* (aligned on the
    right, sizes equal or 1). Shapes are tuples of ints; the answer must be a tuple (``()``
    for two vectors) or None. Compared with NumPy on ten pairs.
    """
    _require_callable(fn, "fn(shape_a, shape_b) -> shape or None")
    title = "Matmul shape"
    for k, (a, b) in enumerate(_MATMUL_CASES, start=1):
        ref = _matmul_reference(a, b)
        where = f"Case {k} of {len(_MATMUL_CASES)} ({a} @ {b})"
        out, err = _call(fn, a, b)
        if err is not None:
            hint = ("return None for a product that is not defined, do not raise."
                    if ref is None else
                    "run it by hand on these two shapes and read the traceback.")
            return _failw(title, where, f"your function raised {err}", hint)
        if out is not None:
            try:
                got = tuple(int(v) for v in out)
            except (TypeError, ValueError):
                return _failw(title, where, f"expected a tuple of ints or None, got "
                              f"{type(out).__name__}", "return the shape as a tuple, e.g. (3, 5).")
        else:
            got = None
        if got == ref:
            continue
        problem = f"you returned {got}, expected {ref}"
        if ref is None:
            if len(a) > 1 and len(b) > 1 and a[-1] != b[-2]:
                hint = ("the inner sizes differ (a.shape[-1] != b.shape[-2]): the product is "
                        "not defined, return None.")
            else:
                hint = ("the batch axes must broadcast, aligned on the right: sizes equal or 1 "
                        f"({a[:-2]} and {b[:-2]} do not); return None.")
        elif len(a) == 1 or len(b) == 1:
            hint = ("a 1-D operand gets a 1 prepended (a) or appended (b) for the product, and "
                    "that 1 is removed from the result: (4,) @ (4, 5) is (5,), (4,) @ (4,) is ().")
        elif got is None:
            hint = ("the batch axes broadcast, they need not be equal: aligned on the right, "
                    "sizes equal or 1, as in element-wise operations ((2, 1) and (5,) give "
                    "(2, 5)).")
        elif got == _broadcast_left(a[:-2], b[:-2]) + (a[-2], b[-1]):
            hint = "align the batch axes on the right, as broadcasting always does."
        elif got[-2:] == (a[-1], b[-2]) or got[-2:] == (b[-1], a[-2]):
            hint = "the result's last two axes are (a.shape[-2], b.shape[-1]): rows of a, columns of b."
        else:
            hint = ("shape = broadcast(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], "
                    "b.shape[-1]), after the 1-D promotions.")
        return _failw(title, where, problem, hint)
    return _ok(f"{title}: correct. The shapes match np.matmul (and torch.matmul) on "
               f"{len(_MATMUL_CASES)} pairs, including 1-D operands, broadcast batch axes and "
               "undefined products.")
