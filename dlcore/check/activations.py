"""Checker of the activations chapter: ``check_sigmoid`` (a numerically stable sigmoid).
"""
from __future__ import annotations

import numpy as np

from ._common import _require_callable, _call, _call_strict, _as_array, _failw, _ok

__all__ = ["SIGMOID_RTOL", "check_sigmoid"]

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
    from ..functional import sigmoid
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
