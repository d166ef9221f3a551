"""Checker of the PyTorch-essentials chapter: ``check_matmul_shape`` (the shape of ``a @ b``).
"""
from __future__ import annotations

import numpy as np

from ._common import _require_callable, _call, _failw, _ok

__all__ = ["check_matmul_shape"]

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
