"""A naive symbolic differentiator, for the expression-swell demonstration of
``dlcore.autodiff`` (which re-exports ``sym_diff``, ``sym_size`` and ``sym_eval``).

An expression is a number, a variable name (str), or a tuple (op, left, right) with op in
"+", "-", "*". Constructors fold constants and drop 0 and 1 terms, but never share common
sub-expressions: the result is a tree, as a symbolic differentiator that "writes out the
formula" produces. Every function walks the tree with an explicit stack, so an expression
of any depth works (no RecursionError), and checks every node: finite constants, known ops.
"""
from __future__ import annotations

import math

from ._validate import check_finite

def _add(a, b):
    if a == 0:
        return b
    if b == 0:
        return a
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a + b
    return ("+", a, b)


def _sub(a, b):
    if b == 0:
        return a
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a - b
    return ("-", a, b)


def _mul(a, b):
    if a == 0 or b == 0:
        return 0
    if a == 1:
        return b
    if b == 1:
        return a
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a * b
    return ("*", a, b)


def _check_expr(e):
    if isinstance(e, bool):
        raise ValueError("expression: booleans are not numbers")
    if isinstance(e, (int, float)):
        if not math.isfinite(e):
            raise ValueError(f"expression: expected finite constants, got {e!r}")
        return
    if isinstance(e, str):
        return
    if not (isinstance(e, tuple) and len(e) == 3 and e[0] in ("+", "-", "*")):
        raise ValueError(f"expression: expected a number, a variable name or (op, a, b) with op in '+-*', got {e!r}")


def _fold(e, leaf, node):
    """Evaluate the tree ``e`` bottom-up with an explicit stack (no recursion, so an
    expression of any depth works): ``leaf(x)`` for a number or a name, and
    ``node(op, a, b, ra, rb)`` for ``(op, a, b)`` given the results ``ra``, ``rb`` of a and b."""
    results, stack = [], [(e, False)]
    while stack:
        x, operands_done = stack.pop()
        if operands_done:
            rb = results.pop()
            ra = results.pop()
            results.append(node(x[0], x[1], x[2], ra, rb))
            continue
        _check_expr(x)
        if isinstance(x, tuple):
            stack += [(x, True), (x[2], False), (x[1], False)]     # a first, then b, then x
        else:
            results.append(leaf(x))
    return results[0]


def sym_diff(e, var):
    """d e / d var by the sum and product rules, with light simplification only."""
    if not isinstance(var, str):
        raise ValueError(f"var: expected a variable name (a string), got {type(var).__name__} {var!r}")

    def leaf(x):
        return 1 if x == var else 0            # a number, or another variable: 0

    def node(op, a, b, da, db):
        if op == "+":
            return _add(da, db)
        if op == "-":
            return _sub(da, db)
        return _add(_mul(da, b), _mul(a, db))  # product rule: a' b + a b'

    return _fold(e, leaf, node)


def sym_size(e):
    """Number of nodes in the expression tree (numbers and variables count 1)."""
    return _fold(e, lambda x: 1, lambda op, a, b, ra, rb: 1 + ra + rb)


def sym_eval(e, env):
    """Evaluate expression ``e`` with variable values from the dict ``env``."""
    if not isinstance(env, dict):
        raise ValueError(f"env: expected a dict of variable values, got {type(env).__name__} {env!r}")

    def leaf(x):
        if isinstance(x, str):
            if x not in env:
                raise ValueError(f"env: no value for variable {x!r}")
            return check_finite(env[x], f"env[{x!r}]")
        return float(x)

    def node(op, a, b, x, y):
        return x + y if op == "+" else x - y if op == "-" else x * y

    value = _fold(e, leaf, node)
    if not math.isfinite(value):
        raise ValueError(f"e: its value overflows float64 (|value| > 1.8e308) with env {env!r}")
    return value
