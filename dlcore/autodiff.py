"""Automatic differentiation in a few dozen lines: reverse mode, forward mode, and a
tiny symbolic differentiator to compare them with.

* ``Value``: a scalar that records the operations applied to it (a dynamic
  computational graph, as in micrograd); ``loss.backward()`` walks the graph in
  reverse topological order and **accumulates** (``+=``) each node's adjoint
  ∂loss/∂node into ``node.grad``. This is reverse mode, i.e. backpropagation.
* ``Dual``: a dual number ``val + dot·ε`` with ε² = 0; evaluating a function on
  ``Dual`` inputs carries one directional derivative along with the value. This is
  forward mode: one pass per input direction.
* ``exp``, ``log``, ``tanh``, ``sigmoid``: work on floats, ``Value`` and ``Dual``,
  so one Python function can be evaluated, or differentiated in either mode.
* ``grad_forward`` / ``grad_reverse``: the gradient of a scalar function of n
  inputs by n forward-mode passes, or by one forward and one reverse pass.
* ``counting()``: counts the elementary operations (and backward steps) executed,
  for a deterministic cost comparison that does not depend on a clock.
* ``sym_diff``, ``sym_size``, ``sym_eval``: a deliberately naive symbolic
  differentiator on expression trees, to show expression swell (the code is in
  ``dlcore/_symbolic.py``).
* ``value_graph`` / ``draw_value_graph``: the recorded graph as nodes and edges,
  drawn with :func:`dlcore.graphs.draw_dag`.

Everything is plain Python floats (float64). The reference
design is Karpathy's micrograd; see also Baydin et al. (2018) and Griewank &
Walther (2008).
"""
from __future__ import annotations

import inspect
import math
from contextlib import contextmanager

from ._symbolic import sym_diff, sym_eval, sym_size   # the naive symbolic differentiator
from ._validate import check_bool, check_callable, check_finite, check_int

__all__ = [
    "Value", "Dual", "exp", "log", "tanh", "sigmoid", "grad_forward", "grad_reverse",
    "OpCounter", "counting", "sym_diff", "sym_size", "sym_eval", "value_graph", "draw_value_graph",
]


# ---------------------------------------------------------------------------
# operation counting
# ---------------------------------------------------------------------------

class OpCounter:
    """Number of elementary operations executed while counting was on.

    ``forward``: operations evaluated by ``Value`` or ``Dual`` arithmetic (for a
    ``Dual`` one operation computes the value and its derivative together);
    ``backward``: local backward rules run by ``Value.backward``.
    """

    def __init__(self):
        self.forward = 0
        self.backward = 0

    def __repr__(self):
        return f"OpCounter(forward={self.forward}, backward={self.backward})"


_ACTIVE: list[OpCounter] = []


@contextmanager
def counting():
    """Context manager yielding an :class:`OpCounter` that counts the operations
    executed inside the ``with`` block (nested counters all count)."""
    c = OpCounter()
    _ACTIVE.append(c)
    try:
        yield c
    finally:
        _ACTIVE.remove(c)


def _count(kind: str) -> None:
    for c in _ACTIVE:
        setattr(c, kind, getattr(c, kind) + 1)


_check_number = check_finite     # a real number (bool, str, complex, arrays rejected), finite


_EXP_MAX = math.log(1.7976931348623157e308)   # 709.78...: exp of anything larger overflows float64


def _exp_float(z: float) -> float:
    if z > _EXP_MAX:
        raise ValueError(f"exp: expected an argument <= {_EXP_MAX:.6g} (exp overflows float64 above it), got {z!r}")
    return math.exp(z)


def _log_float(z: float) -> float:
    if z <= 0:
        raise ValueError(f"log: expected a positive argument, got {z!r}")
    return math.log(z)


def _pow_float(x: float, k: float) -> float:
    """x ** k for real x and k, raising ValueError (not ZeroDivisionError, OverflowError or a
    complex result) when it is not a finite real number."""
    if x < 0 and k != int(k):
        raise ValueError(f"exponent: expected an integer exponent for a negative base, got base {x!r} and exponent {k!r}")
    if x == 0 and k < 0:
        raise ValueError(f"exponent: expected an exponent >= 0 for a base of 0, got {k!r}")
    try:
        return x ** k
    except OverflowError:
        raise ValueError(f"exponent: {x!r} ** {k!r} overflows float64") from None


def _pow_derivative(x: float, k: float) -> float:
    """d(x ** k)/dx = k x^(k-1), and 0 for k = 0 (also at x = 0, as torch.pow's backward)."""
    if k == 0:
        return 0.0
    if x == 0 and k < 1:
        raise ValueError(f"exponent: the derivative of x ** {k!r} at x = 0 is infinite; expected x != 0 or an exponent >= 1")
    return k * _pow_float(x, k - 1)


def _sigmoid_float(z: float) -> float:
    """Logistic function without overflow for either sign of z."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


# ---------------------------------------------------------------------------
# reverse mode
# ---------------------------------------------------------------------------

class Value:
    """A scalar node of a computational graph, recorded while the code runs.

    ``data`` is the forward value, ``grad`` the adjoint ∂(output)/∂(this node) after
    ``output.backward()``. ``children`` are the nodes this one was computed from and
    ``op`` the operation's name. ``label`` is only used for printing and drawing.

    Each operation stores a closure ``_backward`` that adds its contribution
    ``upstream · local derivative`` to its children's ``grad`` (``+=``, so a node used
    twice, as in ``a + a``, receives both contributions).
    """

    __slots__ = ("data", "grad", "_backward", "_prev", "op", "label")

    def __init__(self, data, children=(), op="", label=""):
        self.data = _check_number(data, "data")
        self.grad = 0.0
        self._backward = None
        if not isinstance(children, (tuple, list)) or not all(isinstance(c, Value) for c in children):
            raise ValueError(f"children: expected a tuple of Values, got {children!r}")
        self._prev = tuple(children)
        for name, text in (("op", op), ("label", label)):
            if not isinstance(text, str):
                raise ValueError(f"{name}: expected a string, got {type(text).__name__} {text!r}")
        self.op = op
        self.label = label

    # --- helpers -----------------------------------------------------------
    @staticmethod
    def _lift(other):
        return other if isinstance(other, Value) else Value(_check_number(other, "other"))

    def _node(self, data, children, op):
        _count("forward")
        return Value(data, children, op)

    # --- arithmetic ----------------------------------------------------------
    def __add__(self, other):
        other = self._lift(other)
        out = self._node(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._lift(other)
        out = self._node(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, k):
        k = _check_number(k, "exponent")
        out = self._node(_pow_float(self.data, k), (self,), f"**{k:g}")

        def _backward():
            self.grad += _pow_derivative(self.data, k) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        out = self._node(-self.data, (self,), "neg")

        def _backward():
            self.grad -= out.grad
        out._backward = _backward
        return out

    def __sub__(self, other):
        other = self._lift(other)
        out = self._node(self.data - other.data, (self, other), "-")

        def _backward():
            self.grad += out.grad
            other.grad -= out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = self._lift(other)
        if other.data == 0:
            raise ValueError(f"other: expected a nonzero divisor, got a Value with data {other.data!r}")
        out = self._node(self.data / other.data, (self, other), "/")

        def _backward():
            self.grad += out.grad / other.data
            other.grad -= out.grad * self.data / other.data ** 2
        out._backward = _backward
        return out

    def __radd__(self, other):
        return self._lift(other) + self

    def __rmul__(self, other):
        return self._lift(other) * self

    def __rsub__(self, other):
        return self._lift(other) - self

    def __rtruediv__(self, other):
        return self._lift(other) / self

    # --- elementary functions ----------------------------------------------
    def exp(self):
        e = _exp_float(self.data)
        out = self._node(e, (self,), "exp")

        def _backward():
            self.grad += e * out.grad
        out._backward = _backward
        return out

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log: expected a positive argument, got {self.data}")
        out = self._node(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = self._node(t, (self,), "tanh")

        def _backward():
            self.grad += (1.0 - t * t) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self):
        s = _sigmoid_float(self.data)
        out = self._node(s, (self,), "σ")

        def _backward():
            self.grad += s * (1.0 - s) * out.grad
        out._backward = _backward
        return out

    # --- the backward pass ----------------------------------------------------
    def topological_order(self):
        """All nodes this one depends on (itself included), each after its children."""
        order, seen = [], set()
        stack = [(self, False)]
        while stack:                       # iterative DFS: deep graphs do not hit the recursion limit
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for child in reversed(node._prev):
                if id(child) not in seen:
                    stack.append((child, False))
        return order

    def backward(self):
        """Set every node's ``grad`` to ∂self/∂node: zero them, seed ``self.grad = 1``,
        then run each node's local rule in reverse topological order."""
        order = self.topological_order()
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            if node._backward is not None:
                _count("backward")
                node._backward()

    def __repr__(self):
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.6g}, grad={self.grad:.6g})"


# ---------------------------------------------------------------------------
# forward mode
# ---------------------------------------------------------------------------

class Dual:
    """A dual number ``val + dot·ε`` with ε² = 0.

    For any function built from the supported operations, f(x + ẋ ε) = f(x) + f'(x)ẋ ε,
    so evaluating f on Duals gives the value and the directional derivative (the
    Jacobian-vector product J·ẋ) in the same pass.
    """

    __slots__ = ("val", "dot")

    def __init__(self, val, dot=0.0):
        self.val = _check_number(val, "val")
        self.dot = _check_number(dot, "dot")

    @staticmethod
    def _lift(other):
        return other if isinstance(other, Dual) else Dual(_check_number(other, "other"), 0.0)

    @staticmethod
    def _new(val, dot):
        _count("forward")
        return Dual(val, dot)

    def __add__(self, other):
        o = self._lift(other)
        return self._new(self.val + o.val, self.dot + o.dot)

    def __sub__(self, other):
        o = self._lift(other)
        return self._new(self.val - o.val, self.dot - o.dot)

    def __mul__(self, other):
        o = self._lift(other)
        return self._new(self.val * o.val, self.dot * o.val + self.val * o.dot)

    def __truediv__(self, other):
        o = self._lift(other)
        if o.val == 0:
            raise ValueError(f"other: expected a nonzero divisor, got a Dual with value {o.val!r}")
        return self._new(self.val / o.val, (self.dot * o.val - self.val * o.dot) / o.val ** 2)

    def __pow__(self, k):
        k = _check_number(k, "exponent")
        # the derivative term is dropped when dot = 0, so x ** 0.5 at x = 0 works for a constant
        deriv = _pow_derivative(self.val, k) * self.dot if self.dot != 0 else 0.0
        return self._new(_pow_float(self.val, k), deriv)

    def __neg__(self):
        return self._new(-self.val, -self.dot)

    def __radd__(self, other):
        return self._lift(other) + self

    def __rsub__(self, other):
        return self._lift(other) - self

    def __rmul__(self, other):
        return self._lift(other) * self

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def exp(self):
        e = _exp_float(self.val)
        return self._new(e, e * self.dot)

    def log(self):
        if self.val <= 0:
            raise ValueError(f"log: expected a positive argument, got {self.val}")
        return self._new(math.log(self.val), self.dot / self.val)

    def tanh(self):
        t = math.tanh(self.val)
        return self._new(t, (1.0 - t * t) * self.dot)

    def sigmoid(self):
        s = _sigmoid_float(self.val)
        return self._new(s, s * (1.0 - s) * self.dot)

    def __repr__(self):
        return f"Dual({self.val:.6g}, dot={self.dot:.6g})"


# ---------------------------------------------------------------------------
# functions that work on floats, Values and Duals
# ---------------------------------------------------------------------------

def _dispatch(name, scalar_fn):
    def fn(x):
        if isinstance(x, (Value, Dual)):
            return getattr(x, name)()
        return scalar_fn(_check_number(x, "x"))
    fn.__name__ = name
    fn.__doc__ = f"{name}(x) for a float, a Value (recorded for reverse mode) or a Dual (forward mode)."
    return fn


exp = _dispatch("exp", _exp_float)
log = _dispatch("log", _log_float)
tanh = _dispatch("tanh", math.tanh)
sigmoid = _dispatch("sigmoid", _sigmoid_float)


def _check_inputs(f, xs):
    """Validated (f, xs): a callable taking len(xs) positional arguments, and real numbers."""
    check_callable(f, "f", "a callable f(*xs) returning a scalar")
    if not isinstance(xs, (list, tuple)):
        raise ValueError(f"xs: expected a list of numbers, got {type(xs).__name__} {xs!r}")
    xs = [_check_number(x, f"xs[{i}]") for i, x in enumerate(xs)]
    if not xs:
        raise ValueError("xs: expected at least one input")
    try:
        inspect.signature(f).bind(*xs)
    except TypeError as e:
        raise ValueError(f"xs: f cannot take these {len(xs)} inputs ({e})") from None
    except ValueError:          # no signature (some built-ins): let the call decide
        pass
    return xs


def grad_forward(f, xs):
    """Gradient of the scalar function ``f(*xs)`` by forward mode: one pass per input.

    Pass i seeds ``dot = 1`` on input i and 0 elsewhere and reads ∂f/∂x_i off the
    output's ``dot``. Returns ``(value, gradient_list)``.
    """
    xs = _check_inputs(f, xs)
    grads, value = [], None
    for i in range(len(xs)):
        out = f(*[Dual(x, 1.0 if j == i else 0.0) for j, x in enumerate(xs)])
        if not isinstance(out, Dual):
            raise ValueError(f"f: expected it to return a Dual for Dual inputs, got {type(out).__name__}")
        value = out.val
        grads.append(out.dot)
    return value, grads


def grad_reverse(f, xs):
    """Gradient of the scalar function ``f(*xs)`` by reverse mode: one forward pass that
    records the graph, then one backward pass. Returns ``(value, gradient_list)``."""
    xs = _check_inputs(f, xs)
    leaves = [Value(x, label=f"x{i + 1}") for i, x in enumerate(xs)]
    out = f(*leaves)
    if not isinstance(out, Value):
        raise ValueError(f"f: expected it to return a Value for Value inputs, got {type(out).__name__}")
    out.backward()
    return out.data, [v.grad for v in leaves]


# ---------------------------------------------------------------------------
# the recorded graph as nodes and edges
# ---------------------------------------------------------------------------

def value_graph(root, show_grad=True, digits=4):
    """Nodes and edges of the graph that produced ``root``, micrograd style: one box per
    ``Value`` (label, data and, if ``show_grad``, grad) and one circle per operation.

    Returns ``(nodes, edges)`` in the format of :func:`dlcore.graphs.draw_dag`.
    """
    if not isinstance(root, Value):
        raise ValueError(f"root: expected a Value, got {type(root).__name__}")
    show_grad, digits = check_bool(show_grad, "show_grad"), check_int(digits, "digits", min_value=1)
    nodes, edges = [], []
    for v in root.topological_order():
        vid = f"v{id(v)}"
        head = f"{v.label}: " if v.label else ""
        text = f"{head}{v.data + 0.0:.{digits}g}"          # + 0.0 turns -0.0 into 0.0
        if show_grad:
            text += f"\ngrad {v.grad + 0.0:.{digits}g}"
        nodes.append({"id": vid, "text": text, "kind": "value" if v._prev else "leaf"})
        if v._prev:
            oid = f"o{id(v)}"
            nodes.append({"id": oid, "text": v.op, "kind": "op"})
            edges.append((oid, vid))
            for c in v._prev:
                edges.append((f"v{id(c)}", oid))
    return nodes, edges


def draw_value_graph(root, ax=None, show_grad=True, digits=4, **kwargs):
    """Draw the graph that produced ``root`` with matplotlib; returns the Axes."""
    from .graphs import draw_dag

    nodes, edges = value_graph(root, show_grad=show_grad, digits=digits)
    return draw_dag(nodes, edges, ax=ax, **kwargs)
