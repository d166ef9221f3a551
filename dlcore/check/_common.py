"""Shared private helpers of the checkers: tolerances, calling the reader's function on copies
and turning its answer into arrays, comparing, and printing a verdict.

Every module of ``dlcore.check`` imports them from here; none copies them.
"""
from __future__ import annotations

import textwrap
import warnings

import numpy as np

__all__ = ["RTOL", "ATOL", "_require_callable", "_copy", "_call", "_call_strict",
           "_as_array", "_close", "_max_diff", "_fail", "_wrap", "_failw", "_ok",
           "_got", "_unpack", "_first_nonfinite", "_step_close", "_quiet", "_try",
           "_differs"]

RTOL = 1e-8
ATOL = 1e-12


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


# Wrapped verdicts and answer parsing: every checker but the first two (check_linear_backward
# and check_softmax_cross_entropy_grad predate them and print with ``_fail``) uses these.

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
