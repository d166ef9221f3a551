"""API-wide fuzz test (issue 20): every public name of every dlcore module, called with bad input.

dlcore's contract (the package docstring, "Input contract"): a public function, class or method
given bad input raises ``ValueError``; from input it accepts it never returns NaN/inf or a
result of the wrong shape, and it never modifies its arguments (except where that is the
point: an optimizer's ``params``, the clipped ``grads``).

How the test finds and calls everything:

* **What is called.** Every module under ``dlcore`` whose dotted name has no part starting
  with ``_`` is imported, and every name of its ``__all__``: functions, classes (the
  constructor, then each public method on an instance built from a valid call; ``backward``
  after ``forward``, and once *before* ``forward``, which must raise). A re-exported name is
  tested once, where it is defined. A new module is covered as soon as it has an ``__all__``.
* **A valid call first.** Each parameter gets a *kind* (array, class labels, int, float,
  probability, bool, rng, callable, choice, ...) and a valid value: from ``SPECS`` (keyed by
  the qualified name, for arguments whose valid value depends on the others) or else from
  ``NAMES`` (keyed by parameter name), the annotation, or the default. The valid call must
  succeed; its result fixes the expected shapes.
* **Then one bad argument at a time**, the others valid: for each parameter, the battery of its
  kind (``battery``): NaN, ±inf, strings, objects, complex, None, wrong rank, empty, ±1e300,
  float32/int/bool/list versions of an array; 0, -1, 2.5, True, None, "3", inf of an int; NaN,
  inf, -1, 1.5, True, str, complex, an array of a float; "yes", 2, None of a bool; True, 1.5,
  "a", -1, a RandomState of an rng; a non-callable callable; an unknown choice; ...
  Each bad value says what must happen: ``reject`` (ValueError), ``edge`` (ValueError or a
  correct result) or ``accept`` (a correct result: NumPy scalars, a Generator, ...).
* **Checks.** A call may raise ``ValueError`` or return. Any other exception type fails, as does
  a ``reject`` value accepted (unless ``ACCEPTS`` documents why), NaN/inf in the result when
  every input was finite (unless ``OVERFLOWS`` documents an honest overflow at ±1e300), a
  result shape that differs from the valid call's when only values changed, a modified
  argument, a RuntimeWarning, or a call using over ``TIMEOUT`` seconds of CPU (or ``WALL_TIMEOUT``
  seconds of wall time: the machine may be shared, so CPU time is the yardstick).

Each module is one test case (``test_module_survives_bad_input[dlcore.losses]``); a failure lists
the function, the argument and the bad value. ``python tests/test_api_fuzz.py`` prints the count
of calls per outcome class (the numbers of issue 20).
"""
from __future__ import annotations

import collections
import contextlib
import copy
import importlib
import inspect
import io
import math
import os
import pkgutil
import re
import signal
import sys
import time
import warnings
from dataclasses import dataclass, field

import matplotlib
import numpy as np
import pytest

# draw_dag and friends: no window. Not via os.environ["MPLBACKEND"]: the notebook kernels that
# nbval starts from this same pytest process inherit the environment, and with Agg instead of
# the inline backend their figures never reach the stored outputs.
matplotlib.use("Agg")

import dlcore

TIMEOUT = 10.0          # CPU seconds per call; a longer call is reported as a hang
WALL_TIMEOUT = 60.0     # wall seconds per call (a call that waits without computing)
NAN, INF = float("nan"), float("inf")
MISSING = inspect.Parameter.empty


# ----------------------------------------------------------------------- bad values

@dataclass
class Bad:
    """One argument value and what the function must do with it."""
    label: str               # shown in failures: "NaN", "2.5", "str 'a'", ...
    value: object
    rule: str                # "reject" (ValueError), "edge" (ValueError or a correct result), "accept"
    finite: bool = True      # holds no NaN/inf: an accepted call must return finite values
    same_shape: bool = False  # the valid value's shape: an accepted call returns the valid shapes


def _vary(a, fn):
    b = np.array(a, dtype=np.float64, copy=True)
    if b.size:
        fn(b)
    return b


def _set_first(value):
    def fn(b):
        b.flat[0] = value
    return fn


def battery_array(p):
    """Bad values for a float array (``p.base()`` is a valid one)."""
    a = np.asarray(p.base())
    nonfinite = "edge" if p.opts.get("nonfinite_ok") else "reject"
    out = []
    if a.size:
        out += [Bad("NaN", _vary(a, _set_first(NAN)), nonfinite, finite=False, same_shape=True),
                Bad("inf", _vary(a, _set_first(INF)), nonfinite, finite=False, same_shape=True),
                Bad("-inf", _vary(a, _set_first(-INF)), nonfinite, finite=False, same_shape=True),
                Bad("object array with None", _obj_with_none(a), "reject")]
    out += [Bad("str array", np.full(a.shape, "a"), "reject"),
            Bad("complex array", a + 1j, "reject"),
            Bad("None", None, "reject"),
            Bad("str 'x'", "x", "reject"),
            Bad("±1e300", _huge(a, 1e300), "edge", same_shape=True),
            Bad("±1e-300", _huge(a, 1e-300), "edge", same_shape=True),
            Bad("float32 array", a.astype(np.float32), "edge", same_shape=True),
            Bad("int array", np.rint(a).astype(np.int64), "edge", same_shape=True),
            Bad("bool array", a > 0, "edge", same_shape=True),
            Bad("nested list", a.tolist(), "edge", same_shape=True),
            Bad("scalar 0.5", 0.5, "edge"),
            Bad("extra axis", a[None], "edge")]
    if a.ndim:
        out += [Bad("one axis fewer", a[0] if len(a) else a.reshape(a.shape[1:]), "edge"),
                Bad("empty first axis", np.zeros((0,) + a.shape[1:]), "edge"),
                Bad("last axis + 1", np.zeros(a.shape[:-1] + (a.shape[-1] + 1,)), "edge")]
    return out


def _obj_with_none(a):
    o = np.array(a, dtype=object)
    o.flat[0] = None
    return o


def _huge(a, scale):
    a = np.asarray(a, dtype=np.float64)
    return np.where(a >= 0, scale, -scale) if a.ndim else np.float64(scale)


def battery_labels(p):
    """Bad values for integer class labels in [0, C)."""
    y = np.asarray(p.base())
    C = p.opts.get("classes", int(y.max()) + 1 if y.size else 1)
    range_rule = p.opts.get("range_rule", "reject")
    out = [Bad("label C (out of range)", _lab(y, C), range_rule, same_shape=True),
           Bad("label -1", _lab(y, -1), range_rule, same_shape=True),
           Bad("label 0.5", _lab(y.astype(float), 0.5), "reject"),
           Bad("label NaN", _lab(y.astype(float), NAN), "reject", finite=False),
           Bad("label inf", _lab(y.astype(float), INF), "reject", finite=False),
           Bad("str labels", y.astype(str), "reject"),
           Bad("None", None, "reject"),
           Bad("complex labels", y + 1j, "reject"),
           Bad("whole floats", y.astype(float), "edge", same_shape=True),
           Bad("bool labels", y > 0, "edge", same_shape=True),
           Bad("list", y.tolist(), "edge", same_shape=True)]
    if y.ndim:
        out += [Bad("one label fewer", y[:-1], p.opts.get("length_rule", "reject")),
                Bad("extra axis", y[:, None], "edge")]
    return out


def _lab(y, value):
    y = np.array(y, copy=True)
    if y.size:
        y.flat[0] = value
    return y


def battery_int(p):
    lo = p.opts.get("lo")
    base = p.base()
    # an int guessed from the parameter's name alone may be a count that takes reals: lenient
    as_real = "edge" if p.opts.get("guessed") else "reject"
    out = [Bad("2.5", 2.5, as_real), Bad("float 2.0", 2.0, as_real),
           Bad("True", True, "reject"), Bad("str '3'", "3", "reject"),
           Bad("inf", INF, "reject", finite=False), Bad("NaN", NAN, "reject", finite=False),
           Bad("array [2]", np.array([2]), "reject"), Bad("1j", 1j, "reject"),
           Bad("0", 0, "reject" if lo is not None and lo > 0 else "edge"),
           Bad("-1", -1, "reject" if lo is not None and lo >= 0 else "edge")]
    if base is not None:
        out.append(Bad("np.int64", np.int64(base), "accept", same_shape=True))
    out.append(Bad("None", None, "reject"))
    return out


def battery_float(p):
    lo, hi = p.opts.get("lo"), p.opts.get("hi")
    base = p.base()

    def rule(v):
        if lo is not None and (v < lo or (v == lo and p.opts.get("lo_open"))):
            return "reject"
        if hi is not None and v > hi:
            return "reject"
        return "edge"

    out = [Bad("NaN", NAN, "reject", finite=False), Bad("inf", INF, "reject", finite=False),
           Bad("-inf", -INF, "reject", finite=False), Bad("True", True, "reject"),
           Bad("str '0.1'", "0.1", "reject"), Bad("1j", 1j, "reject"),
           Bad("array [0.1, 0.2]", np.array([0.1, 0.2]), "reject"),
           Bad("0", 0.0, rule(0.0)), Bad("-1", -1.0, rule(-1.0)), Bad("1.5", 1.5, rule(1.5)),
           Bad("1e300", 1e300, rule(1e300)), Bad("1e-300", 1e-300, rule(1e-300))]
    if base is not None:
        out.append(Bad("np.float64", np.float64(base), "accept", same_shape=True))
    out.append(Bad("None", None, "reject"))
    return out


def battery_bool(p):
    base = bool(p.base())
    out = [Bad("str 'yes'", "yes", "reject"), Bad("int 2", 2, "reject"),
           Bad("0.5", 0.5, "reject"), Bad("array [True, False]", np.array([True, False]), "reject"),
           Bad("np.bool_", np.bool_(base), "accept", same_shape=True)]
    out.append(Bad("None", None, "reject"))
    return out


def battery_rng(p):
    if p.opts.get("generator_only"):        # a Generator is required: seeds and None rejected
        return [Bad("True", True, "reject"), Bad("int 0", 0, "reject"), Bad("None", None, "reject"),
                Bad("str 'a'", "a", "reject"), Bad("RandomState", np.random.RandomState(0), "reject"),
                Bad("Generator", np.random.default_rng(1), "accept")]
    return [Bad("True", True, "reject"), Bad("1.5", 1.5, "reject"), Bad("str 'a'", "a", "reject"),
            Bad("-1", -1, "reject"), Bad("list [1, 2]", [1, 2], "reject"),
            Bad("RandomState", np.random.RandomState(0), "reject"),
            Bad("None", None, "accept"), Bad("np.int64(1)", np.int64(1), "accept"),
            Bad("Generator", np.random.default_rng(1), "accept")]


def battery_callable(p):
    out = [Bad("int 3", 3, "reject"), Bad("str 'f'", "f", "reject"),
           Bad("array", np.zeros(2), "reject")]
    out.append(Bad("None", None, "reject"))
    return out


def battery_choice(p):
    free = "edge" if p.opts.get("guessed") else "reject"     # a guessed str may be free text
    out = [Bad("str 'bogus'", "bogus", free), Bad("int 3", 3, free),
           Bad("True", True, free), Bad("object()", object(), "reject")]
    out.append(Bad("None", None, "reject"))
    return out


def battery_axis(p):
    return [Bad("1.5", 1.5, "reject"), Bad("str '0'", "0", "reject"), Bad("None", None, "reject"),
            Bad("True", True, "reject"), Bad("5 (out of range)", 5, "reject"),
            Bad("-5 (out of range)", -5, "reject"), Bad("np.int64", np.int64(p.base()), "accept",
                                                         same_shape=True)]


def battery_object(p):
    """A model, layer or optimizer argument: anything but the right object is rejected."""
    out = [Bad("str 'x'", "x", "reject"), Bad("int 3", 3, "reject"),
           Bad("object()", object(), "reject"), Bad("array", np.zeros(3), "reject")]
    out.append(Bad("None", None, "reject"))
    return out


def battery_arrays_dict(p):
    """A dict of float64 arrays (an optimizer's params or grads, clip's grads)."""
    d = p.base()
    k = next(iter(d))
    a = d[k]
    nonfinite = "edge" if p.opts.get("nonfinite_ok") else "reject"

    def with_(v):
        e = {kk: vv.copy() for kk, vv in d.items()}
        e[k] = v
        return e

    ro = a.copy()
    ro.flags.writeable = False
    return [Bad("None", None, "reject"), Bad("str 'x'", "x", "reject"), Bad("int 3", 3, "reject"),
            Bad("NaN entry", with_(_vary(a, _set_first(NAN))), nonfinite, finite=False),
            Bad("inf entry", with_(_vary(a, _set_first(INF))), nonfinite, finite=False),
            Bad("str array entry", with_(np.full(a.shape, "a")), "reject"),
            Bad("complex entry", with_(a + 1j), "reject"),
            Bad("None entry", with_(None), "reject"),
            Bad("wrong shape entry", with_(np.zeros(a.shape + (2,))), p.opts.get("shape", "reject")),
            Bad("float32 entry", with_(a.astype(np.float32)), p.opts.get("float32", "reject")),
            Bad("read-only entry", with_(ro), p.opts.get("readonly", "reject")),
            Bad("a missing key", {kk: vv for kk, vv in d.items() if kk != k},
                p.opts.get("missing", "reject")),
            Bad("±1e300 entry", with_(_huge(a, 1e300)), "edge")]


def battery_generic(p):
    """A parameter of unknown kind: objects and None (when not the default) are rejected."""
    out = [Bad("object()", object(), "reject"), Bad("str 'bogus'", "bogus", "edge"),
           Bad("NaN", NAN, "edge", finite=False)]
    out.append(Bad("None", None, "reject"))
    return out


def battery_text(p):
    return [Bad("None", None, "reject"), Bad("object()", object(), "reject")]


BATTERIES = {"array": battery_array, "labels": battery_labels, "int": battery_int,
             "float": battery_float, "bool": battery_bool, "rng": battery_rng,
             "callable": battery_callable, "choice": battery_choice, "axis": battery_axis,
             "object": battery_object, "arrays_dict": battery_arrays_dict, "any": battery_generic,
             "text": battery_text}


# ------------------------------------------------------------------- parameter specs

@dataclass
class P:
    """A parameter: its kind (which battery), a valid value and kind options."""
    kind: str
    value: object = MISSING            # a valid value (copied for every call); MISSING: none known
    opts: dict = field(default_factory=dict)
    bads: list = field(default_factory=list)   # extra bad values for this parameter
    default: object = MISSING          # the signature's default (filled in by ``spec_of``)

    def base(self):
        if self.opts.get("factory"):
            return self.value()
        return _copy(self.value)


_RNG = np.random.default_rng(20)


def A(v, **opts):
    """A float array: a shape (standard normal values) or the values themselves."""
    value = _RNG.standard_normal(v) if isinstance(v, tuple) else np.asarray(v, dtype=np.float64)
    return P("array", value, opts)


def L(v, **opts):
    """Integer class labels (the values)."""
    return P("labels", np.asarray(v, dtype=np.int64), opts)


def I(v, lo=None, **opts):
    return P("int", v, {"lo": lo, **opts})


def F(v, lo=None, hi=None, lo_open=False, **opts):
    return P("float", v, {"lo": lo, "hi": hi, "lo_open": lo_open, **opts})


def B(v):
    return P("bool", v)


def R(v=0):
    return P("rng", v)


def Fn(f):
    return P("callable", f)


def Ch(v):
    return P("choice", v)


def O(make, **opts):
    """An object argument (model, layer, optimizer): ``make()`` builds a valid one."""
    return P("object", make, {"factory": True, **opts})


def D(shapes, **opts):
    """A dict of float64 arrays of these shapes."""
    return P("arrays_dict", {k: _RNG.standard_normal(s) for k, s in shapes.items()}, opts)


def X(v, *bads, kind="any"):
    """Any other parameter: a valid value and its own bad values ``(label, value, rule)``."""
    return P(kind, v, bads=[Bad(label, value, rule, finite=_finite(value))
                            for label, value, rule in bads])


def XF(make, *bads):
    """Like ``X``, with a factory for the valid value (fresh layers for every call)."""
    p = X(make, *bads)
    p.opts["factory"] = True
    return p


def _finite(v):
    try:
        return not _nonfinite(v)
    except Exception:
        return True


def _copy(v):
    """A deep copy that keeps arrays' writeable flag and calls object factories."""
    if isinstance(v, np.ndarray):
        c = v.copy()
        c.flags.writeable = v.flags.writeable
        return c
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_copy(x) for x in v]
    if isinstance(v, tuple):        # expression trees are deep tuples of str and numbers: kept
        if any(isinstance(x, (np.ndarray, list, dict)) for x in v):
            return tuple(_copy(x) for x in v)
        return v
    if isinstance(v, (np.random.Generator, np.random.RandomState)):
        return copy.deepcopy(v)
    return v


# Parameters known by name (any function of any module, unless SPECS says otherwise).
_ARRAY_NAMES = {"x", "X", "z", "xs", "a", "w", "W", "pred", "preds", "logits", "scores",
                "samples", "points", "query", "key", "value", "q", "k", "v", "mu", "logvar",
                "dout", "grad_output", "inputs", "input", "h", "values", "weights", "buffers",
                "chunks", "f_true", "X_train", "X_test", "X_val", "b", "b1", "b2", "W1", "W2"}
_LABEL_NAMES = {"y", "y_true", "y_pred", "labels", "y_train", "y_val", "targets"}
_INT_RE = re.compile(r"^(n|d|dim|size|length|depth|width|epochs|step|steps|T_max|digits|stage"
                     r"|segments)$|^(n|num|max|min)_|_(size|dim|features|channels|length|steps"
                     r"|heads|shards|stages|micro|devices|classes|groups|columns)$|^fan_")
NAMES = {
    "rng": R(0), "axis": P("axis", -1), "train": B(True), "keepdims": B(False), "shuffle": B(True),
    "bias": B(True), "record": B(False), "grad": B(False), "show_grad": B(True),
    "need_input_grad": B(True), "error_if_nonfinite": B(False), "images": B(False),
    "lr": F(0.1, lo=0), "lr0": F(0.1, lo=0, lo_open=True), "eps": F(1e-5, lo=0),
    "momentum": F(0.9, lo=0), "weight_decay": F(0.0, lo=0), "alpha": F(0.5),
    "std": F(0.5, lo=0, lo_open=True), "radius": F(2.0, lo=0, lo_open=True),
    "noise": F(0.1, lo=0), "h": F(1e-6, lo=0, lo_open=True), "lam": F(0.1, lo=0),
    "base": F(10000.0, lo=0, lo_open=True), "scale": F(0.5, lo=0, lo_open=True),
    "f": Fn(lambda *a, **k: 0.0), "fn": Fn(lambda *a, **k: None),
    "model": O(lambda: dlcore.training.mlp([3, 4, 3], rng=0)),
    "layer": O(lambda: dlcore.layers.Linear(3, 2, rng=0)),
    "optimizer": O(lambda: dlcore.optim.SGD(0.1)),
    "n_classes": I(3, lo=1), "num_classes": I(3, lo=1), "k": I(3, lo=1),
    "activation": Ch("relu"),
}


def guess(name, param):
    """A spec for a parameter that SPECS does not list: by name, default, annotation."""
    d, ann = param.default, str(param.annotation)
    if name in NAMES:
        return copy.copy(NAMES[name])
    if isinstance(d, bool) or ann == "bool":
        return B(d if isinstance(d, bool) else False)
    if isinstance(d, int) or ann == "int":      # may still be a count that takes reals: lenient
        return I(d if isinstance(d, int) else 3, guessed=True)
    if isinstance(d, float) or ann == "float":
        return F(d if isinstance(d, float) else 0.5)
    if isinstance(d, str):
        return P("choice", d, {"guessed": True})
    if _INT_RE.search(name):
        return I(3, lo=1, guessed=True)
    if name in _ARRAY_NAMES:
        return A((4, 3))
    if name in _LABEL_NAMES:
        return L([0, 1, 2, 1])
    return P("any", None if d is None else MISSING)


def _probs(shape):
    return np.random.default_rng(1).uniform(0.05, 0.95, shape)


_NODES = [{"id": "a", "text": "a"}, {"id": "b", "text": "b", "kind": "op"}]
_EXPR = ("+", ("*", "x", "x"), ("*", 3, "y"))
_DEEP = "x"
for _ in range(5000):
    _DEEP = ("+", _DEEP, 1)
_BAD_EXPR = [("None", None, "reject"), ("True", True, "reject"),
             ("unknown op", ("^", "x", 2), "reject"), ("2-tuple", ("+", "x"), "reject"),
             ("NaN constant", ("+", "x", NAN), "reject"), ("inf constant", ("*", INF, "x"), "reject"),
             ("5,000 deep", _DEEP, "edge")]
_SEQ_LAYERS = [lambda: dlcore.layers.Linear(3, 4, rng=0), lambda: dlcore.layers.ReLU()]
_MASK_BADS = [("int mask", np.ones((3, 5), dtype=int), "reject"),
              ("wrong shape", np.ones((4, 4), dtype=bool), "reject"),
              ("all keys masked", np.zeros((3, 5), dtype=bool), "reject"),
              ("NaN float mask", np.full((3, 5), NAN), "reject"),
              ("str 'x'", "x", "reject"), ("object()", object(), "reject"),
              ("float -1e300 mask", np.full((3, 5), -1e300), "edge")]
_BETAS_BADS = [("0.9", 0.9, "reject"), ("(0.9,)", (0.9,), "reject"), ("None", None, "reject"),
               ("(1.5, 0.9)", (1.5, 0.9), "reject"), ("('a', 0.9)", ("a", 0.9), "reject"),
               ("(NaN, 0.9)", (NAN, 0.9), "reject"), ("(0.9, 0.99, 0.9)", (0.9, 0.99, 0.9), "reject")]
_SEEDS_BADS = [("1", 1, "reject"), ("-1", -1, "reject"), ("str 'a'", "a", "reject"),
               ("[0, 0]", [0, 0], "reject"), ("True", True, "reject"), ("[0, 1.5]", [0, 1.5], "reject"),
               ("None", None, "reject"), ("[0, -1]", [0, -1], "reject"), ("range(5)", range(5), "accept")]
_SIZES_BADS = [("[3]", [3], "reject"), ("[]", [], "reject"), ("[3, 0]", [3, 0], "reject"),
               ("[3, 2.5]", [3, 2.5], "reject"), ("str '34'", "34", "reject"), ("None", None, "reject"),
               ("[True, 2]", [True, 2], "reject"), ("int 3", 3, "reject")]
_XS_BADS = [("None", None, "reject"), ("int 3", 3, "reject"), ("[]", [], "reject"),
            ("['a', 1.0]", ["a", 1.0], "reject"), ("[NaN, 1.0]", [NAN, 1.0], "reject"),
            ("one input fewer", [1.0], "reject"), ("one input more", [1.0, 2.0, 3.0], "reject"),
            ("[1e300, 1.0]", [1e300, 1.0], "edge")]
_ENV_BADS = [("{}", {}, "reject"), ("None", None, "reject"), ("{'x': NaN}", {"x": NAN, "y": 1.0}, "reject"),
             ("{'x': 'a'}", {"x": "a", "y": 1.0}, "reject"), ("list", [2.0, 1.0], "reject")]
_SHAPE_BADS = [("None", None, "reject"), ("list", [2, 2, 5, 5], "edge"), ("3-tuple", (2, 2, 5), "reject"),
               ("negative", (2, 2, -5, 5), "reject"), ("(2.5, ...)", (2.5, 2, 5, 5), "reject"),
               ("str", "abcd", "reject")]
_NODES_BADS = [("None", None, "reject"), ("[]", [], "reject"), ("[3]", [3], "reject"),
               ("node without text", [{"id": "a"}], "reject"),
               ("unknown kind", [{"id": "a", "text": "a", "kind": "bogus"}], "reject"),
               ("duplicate ids", [{"id": "a", "text": "a"}, {"id": "a", "text": "b"}], "reject"),
               ("str 'x'", "x", "reject")]
_EDGES_BADS = [("None", None, "reject"), ("[3]", [3], "reject"), ("[('a',)]", [("a",)], "reject"),
               ("unknown node", [("a", "z")], "reject"), ("cycle", [("a", "b"), ("b", "a")], "reject"),
               ("int 3", 3, "reject")]
_POS_BADS = [("None", None, "reject"), ("{}", {}, "reject"), ("{'a': 'xy'}", {"a": "xy", "b": (1, 0)}, "reject"),
             ("str 'x'", "x", "reject"), ("{'a': (NaN, 0)}", {"a": (NAN, 0.0), "b": (1, 0.0)}, "reject")]
_STATE_BADS = [("str 'x'", "x", "reject"), ("(h,)", (np.zeros((4, 2)),), "reject"),
               ("(h, wrong c)", (np.zeros((4, 2)), np.zeros((4, 3))), "reject"),
               ("(h, NaN c)", (np.zeros((4, 2)), np.full((4, 2), NAN)), "reject"), ("int 3", 3, "reject")]
_ROWS_BADS = [("None", None, "reject"), ("int 3", 3, "reject"), ("[[1]]", [[1]], "reject"),
              ("[None]", [None], "reject"), ("[[None, 1]]", [[None, 1]], "edge"),
              ("[[object(), 1]]", [[object(), 1]], "reject")]
_HEAD_BADS = [("None", None, "reject"), ("int 3", 3, "reject"), ("['a']", ["a"], "reject")]
_V_BADS = [("None", None, "reject"), ("object()", object(), "reject"), ("[1, 2]", [1, 2], "reject"),
           ("NaN", NAN, "edge"), ("1j", 1j, "reject"), ("str 'ab'", "ab", "accept")]
_LENGTHS_BADS = [("[5] (> max_length)", [5, 2], "reject"), ("[-1]", [-1, 2], "reject"),
                 ("[1.5]", [1.5, 2], "reject"), ("None", None, "reject"), ("str 'a'", "a", "reject"),
                 ("2-D", [[1, 2]], "reject")]
_DIMS_BADS = [("[]", [], "reject"), ("[0]", [0], "reject"), ("[2.5]", [2.5], "reject"),
              ("str 'a'", "a", "reject"), ("None", None, "reject"), ("[[2]]", [[2]], "reject"),
              ("[True]", [True], "reject")]
_CHILDREN_BADS = [("int 3", 3, "reject"), ("(None,)", (None,), "reject"), ("(1.0,)", (1.0,), "reject"),
                  ("str 'ab'", "ab", "reject")]
_INIT_BADS = [("str 'bogus'", "bogus", "reject"), ("int 3", 3, "reject"),
              ("wrong shape", lambda fi, fo, g: np.zeros((fo, fi + 1)), "reject"),
              ("NaN weights", lambda fi, fo, g: np.full((fi, fo), NAN), "reject"),
              ("raises TypeError", lambda: None, "reject")]
_PARAMS = {"W": (3, 2), "b": (2,)}
_ATT = dict(query=A((2, 3, 4)), key=A((2, 5, 4)), value=A((2, 5, 6)),
            attn_mask=X(None, *_MASK_BADS), scale=F(None, lo=0, lo_open=True))

_TOKENS_BADS = [("None", None, "reject"), ("[0.5]", [0.5], "reject"), ("[-1]", [-1], "reject"),
                ("['a']", ["a"], "reject"), ("[True]", [True], "reject"), ("int 3", 3, "reject"),
                ("[99] (>= V)", [99], "edge")]
_FMT_BADS = [("str 'bogus'", "bogus", "reject"), ("int 3", 3, "reject"), ("object()", object(), "reject"),
             ("None", None, "reject")]
_BUFFERS_BADS = [("None", None, "reject"), ("[]", [], "reject"), ("str 'x'", "x", "reject"),
                 ("[NaN buffer]", [np.full(6, NAN)] * 3, "reject"),
                 ("different lengths", [np.zeros(6), np.zeros(5), np.zeros(6)], "reject"),
                 ("[2-D]", [np.zeros((2, 3))] * 3, "reject"), ("[str array]", [np.full(6, "a")] * 3, "reject")]
_CODES_BADS = [("float codes", np.array([[1.0, -2.0, 3.0, 0.0], [7.0, -7.0, 2.0, 1.0]]), "reject"),
               ("None", None, "reject"), ("str 'x'", "x", "reject"), ("bool codes", np.ones((2, 4), bool), "reject")]


def _toy_lm(tokens):
    """A toy language model over 5 tokens: log-probabilities depending on the last token."""
    z = np.cos(np.arange(5.0) * (1 + (tokens[-1] if len(tokens) else 0)))
    return z - np.log(np.exp(z).sum())


def _torch_params():
    import torch
    return [torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)]


def _tanh_net():
    return dlcore.propagation.deep_mlp("tanh", depth=2, width=4, rng=0, n_in=3)


def _trained_net():
    net = _tanh_net()
    net.forward(np.ones((5, 3)))
    net.backward(np.ones((5, 4)))
    return net


_NET_BADS = [("None", None, "reject"), ("a Linear", dlcore.layers.Linear(3, 4, rng=0), "reject"),
             ("[layers]", [dlcore.layers.Linear(3, 4, rng=0)], "reject"), ("str 'x'", "x", "reject")]

# Valid values where the name alone is not enough (the others come from NAMES and guess()).
# Keys: the qualified name where the function or class is defined; "<class>.<method>" for methods.
SPECS = {
    "dlcore.autodiff.Value": dict(data=F(1.5), children=X((), *_CHILDREN_BADS), op=X("", kind="text"),
                                  label=X("", kind="text")),
    "dlcore.autodiff.Dual": dict(val=F(1.5), dot=F(1.0)),
    "dlcore.autodiff.exp": dict(x=F(0.5)), "dlcore.autodiff.tanh": dict(x=F(0.5)),
    "dlcore.autodiff.log": dict(x=F(0.5, lo=0, lo_open=True)), "dlcore.autodiff.sigmoid": dict(x=F(0.5)),
    "dlcore.autodiff.grad_forward": dict(f=Fn(lambda a, b: a * b + a), xs=X([1.0, 2.0], *_XS_BADS)),
    "dlcore.autodiff.grad_reverse": dict(f=Fn(lambda a, b: a * b + a), xs=X([1.0, 2.0], *_XS_BADS)),
    "dlcore.autodiff.sym_diff": dict(e=X(_EXPR, *_BAD_EXPR), var=X("x", ("int 3", 3, "reject"),
                                                                   ("None", None, "reject"))),
    "dlcore.autodiff.sym_size": dict(e=X(_EXPR, *_BAD_EXPR)),
    "dlcore.autodiff.sym_eval": dict(e=X(_EXPR, *_BAD_EXPR), env=X({"x": 2.0, "y": 1.0}, *_ENV_BADS)),
    "dlcore.autodiff.value_graph": dict(root=O(lambda: dlcore.autodiff.Value(2.0) * 3.0),
                                        digits=I(4, lo=1)),
    "dlcore.autodiff.draw_value_graph": dict(root=O(lambda: dlcore.autodiff.Value(2.0) * 3.0),
                                             digits=I(4, lo=1), ax=P("any", None)),
    "dlcore.clip.clip_grad_norm": dict(grads=D(_PARAMS, nonfinite_ok=True, shape="edge", missing="edge"), max_norm=F(1.0, lo=0, lo_open=True)),
    "dlcore.clip.clip_grad_value": dict(grads=D(_PARAMS, nonfinite_ok=True, shape="edge", missing="edge"), clip_value=F(0.5, lo=0, lo_open=True)),
    "dlcore.data.blobs": dict(n=I(20, lo=1), dim=I(2, lo=2), spread=F(1.0, lo=0)),
    "dlcore.data.spirals": dict(n=I(20, lo=1)), "dlcore.data.xor": dict(n=I(20, lo=1)),
    "dlcore.data.toy_segmentation": dict(size=I(16, lo=16)),
    "dlcore.data.shift_images": dict(X=A((3, 64)), dx=I(1), dy=I(-1)),
    # Transformers (dlcore.transformer, language_model, efficient_attention)
    "dlcore.transformer.TransformerBlock": dict(d_model=I(4, lo=1), num_heads=I(2, lo=1)),
    "dlcore.transformer.TransformerBlock.forward": dict(x=A((2, 3, 4))),
    "dlcore.transformer.TransformerBlock.forward_step": dict(
        x=A((2, 1, 4)), cache=O(lambda: dlcore.transformer.KVCache(1, 2, 2, 2, 5)), layer=I(0, lo=0)),
    # a float32 or read-only state (a torch state_dict as NumPy arrays) is copied into float64
    "dlcore.transformer.TransformerBlock.load_state_dict": dict(
        state=D({k: v.shape for k, v in dlcore.transformer.TransformerBlock(4, 2, rng=0).params.items()},
                float32="accept", readonly="accept")),
    "dlcore.transformer.KVCache": dict(num_layers=I(1, lo=1), batch_size=I(2, lo=1), num_heads=I(2, lo=1),
                                       head_dim=I(2, lo=1), max_length=I(5, lo=1)),
    "dlcore.transformer.KVCache.update": dict(layer=I(0, lo=0), k=A((2, 2, 1, 2)), v=A((2, 2, 1, 2))),
    "dlcore.transformer.kv_cache_bytes": dict(num_layers=I(2, lo=1), num_kv_heads=I(2, lo=1),
                                              head_dim=I(4, lo=1), tokens=I(10, lo=1)),
    "dlcore.transformer.block_parameter_count": dict(d_model=I(4, lo=1)),
    "dlcore.language_model.TinyLM": dict(vocab_size=I(5, lo=1), max_length=I(6, lo=1), d_model=I(4, lo=1),
                                         num_heads=I(2, lo=1), num_layers=I(1, lo=1)),
    # one sequence fewer is still a valid batch
    "dlcore.language_model.TinyLM.forward": dict(tokens=L([[0, 1, 2], [3, 4, 0]], length_rule="accept")),
    "dlcore.language_model.TinyLM.forward_cached": dict(
        tokens=L([[0, 1, 2], [3, 4, 0]]),
        cache=O(lambda: dlcore.language_model.TinyLM(5, 6, d_model=4, num_heads=2, num_layers=1,
                                                     rng=0).new_cache(2))),
    "dlcore.language_model.TinyLM.generate": dict(prompt=L([[0, 1]], classes=5), num_new=I(2, lo=1)),
    "dlcore.language_model.TinyLM.load_state_dict": dict(
        state=D({k: v.shape for k, v in dlcore.language_model.TinyLM(5, 6, d_model=4, num_heads=2,
                                                                     num_layers=1, rng=0).params.items()},
                float32="accept", readonly="accept")),
    "dlcore.language_model.sequence_cross_entropy": dict(logits=A((2, 3, 5)), targets=L([[0, 1, 2], [3, 4, 0]])),
    "dlcore.language_model.train_step": dict(
        model=O(lambda: dlcore.language_model.TinyLM(5, 6, d_model=4, num_heads=2, num_layers=1, rng=0)),
        inputs=L([[0, 1, 2], [3, 4, 0]]), targets=L([[1, 2, 3], [4, 0, 1]]),
        optimizer=O(lambda: dlcore.optim.SGD(lr=0.1))),
    "dlcore.efficient_attention.softmax_state": dict(scores=A((2, 3)), values=A((3, 4))),
    "dlcore.efficient_attention.merge_softmax_states": dict(
        m1=A((2,)), l1=A([1.0, 2.0]), o1=A((2, 4)), m2=A((2,)), l2=A([2.0, 1.5]), o2=A((2, 4))),
    "dlcore.efficient_attention.sliding_window_mask": dict(length=I(4, lo=1), window=I(2, lo=1)),
    "dlcore.data.minibatches": dict(X=A((5, 3)), y=A([0.0, 1.0, 2.0, 0.5, 1.0]),
                                    batch_size=I(2, lo=1)),
    "dlcore.experiment.Summary": dict(values=A([1.0, 2.0, 3.0, 4.0, 5.0]),
                                      seeds=X((0, 1, 2, 3, 4), *_SEEDS_BADS[2:4], ("None", None, "reject"))),
    "dlcore.experiment.Summary.fmt": dict(digits=I(3, lo=0)),
    "dlcore.experiment.repeat": dict(fn=Fn(lambda s: float(s) + 1.0), seeds=X((0, 1, 2, 3, 4), *_SEEDS_BADS)),
    "dlcore.functional.elu": dict(alpha=F(1.0, lo=0)), "dlcore.functional.elu_grad": dict(alpha=F(1.0, lo=0)),
    "dlcore.functional.leaky_relu": dict(alpha=F(0.01)), "dlcore.functional.leaky_relu_grad": dict(alpha=F(0.01)),
    "dlcore.generative.ring_centres": dict(k=I(8, lo=1)),
    "dlcore.generative.gaussian_ring": dict(n=I(10, lo=1), k=I(8, lo=1)),
    "dlcore.generative.mode_coverage": dict(samples=A((10, 2)), k=I(8, lo=1), within=F(3.0, lo=0, lo_open=True),
                                            min_share=F(0.02, lo=0, hi=1)),
    "dlcore.generative.gaussian_kl": dict(mu=A((4, 3)), logvar=A((4, 3))),
    "dlcore.geometry.pairwise_distances": dict(X=A((4, 3)), Y=A((5, 3))),
    "dlcore.geometry.distance_ratio": dict(points=A((6, 3)), query=A((3,))),
    "dlcore.geometry.distance_concentration": dict(dims=X([2, 3], *_DIMS_BADS), n_points=I(50, lo=2),
                                                   n_queries=I(3, lo=1)),
    "dlcore.geometry.ball_volume": dict(d=I(3, lo=1), r=F(1.0, lo=0)),
    "dlcore.geometry.inscribed_ball_fraction": dict(d=I(3, lo=1)),
    "dlcore.geometry.shell_fraction": dict(d=I(3, lo=1), eps=F(0.1, lo=0, hi=1)),
    "dlcore.geometry.embedded_manifold": dict(n=I(10, lo=1), ambient_dim=I(5, lo=3), kind=Ch("plane"),
                                              noise=F(0.1, lo=0)),
    "dlcore.geometry.pca_spectrum": dict(X=A((6, 3))),
    "dlcore.geometry.knn_predict": dict(X_train=A((6, 3)), y_train=L([0, 1, 2, 0, 1, 2], range_rule="edge"),
                                        X_test=A((2, 3)), k=I(3, lo=1)),
    "dlcore.gradcheck.numerical_gradient": dict(f=Fn(lambda x: float(np.sum(x * x))), x=A((2, 3))),
    "dlcore.gradcheck.relative_error": dict(a=A((4, 3), nonfinite_ok=True), b=A((4, 3), nonfinite_ok=True)),
    "dlcore.gradcheck.check_layer": dict(x=A((4, 3)), dout=A((4, 2))),
    "dlcore.graphs.layout": dict(nodes=X(_NODES, *_NODES_BADS), edges=X([("a", "b")], *_EDGES_BADS)),
    "dlcore.graphs.wrap_columns": dict(pos=X({"a": (0, 0.0), "b": (1, 0.0)}, *_POS_BADS),
                                       max_columns=I(2, lo=1)),
    "dlcore.graphs.draw_dag": dict(nodes=X(_NODES, *_NODES_BADS), edges=X([("a", "b")], *_EDGES_BADS),
                                   ax=P("any", None), pos=X(None, *_POS_BADS[2:]),
                                   xscale=F(2.2, lo=0, lo_open=True), yscale=F(1.3, lo=0, lo_open=True),
                                   fontsize=F(9.0, lo=0, lo_open=True), title=X(None, kind="text"),
                                   max_columns=I(None, lo=1)),
    "dlcore.init.*": dict(fan_in=I(3, lo=1), fan_out=I(2, lo=1)),
    "dlcore.layers.activation.ELU": dict(alpha=F(1.0, lo=0)),
    "dlcore.layers.activation.LeakyReLU": dict(alpha=F(0.01)),
    "dlcore.layers.attention.scaled_dot_product_attention": _ATT,
    "dlcore.layers.attention.scaled_dot_product_attention_backward": dict(
        _ATT, grad_output=A((2, 3, 6)), weights=X(None, ("uniform (2, 3, 5)", np.full((2, 3, 5), 0.2), "accept"),
                                                  ("shape (3, 5)", np.full((3, 5), 0.2), "reject"),
                                                  ("NaN", np.full((2, 3, 5), np.nan), "reject"))),
    "dlcore.layers.attention.attention_weights": {k: v for k, v in _ATT.items() if k != "value"},
    "dlcore.layers.attention.causal_mask": dict(length=I(4, lo=1), source_length=I(None, lo=1)),
    "dlcore.layers.attention.key_padding_mask": dict(lengths=X([2, 3], *_LENGTHS_BADS), max_length=I(4, lo=1)),
    "dlcore.layers.attention.split_heads": dict(x=A((2, 3, 4)), num_heads=I(2, lo=1)),
    "dlcore.layers.attention.merge_heads": dict(x=A((2, 2, 3, 2))),
    "dlcore.layers.attention.MultiheadAttention": dict(embed_dim=I(4, lo=1), num_heads=I(2, lo=1)),
    "dlcore.layers.attention.MultiheadAttention.forward": dict(
        x=A((2, 3, 4)), attn_mask=X(None, *_MASK_BADS[:2], *_MASK_BADS[4:6]),
        key_padding_mask=X(None, ("wrong shape", np.zeros((3, 3), dtype=bool), "reject"),
                           ("all masked", np.ones((2, 3), dtype=bool), "reject"))),
    "dlcore.layers.convolution.conv_output_size": dict(size=I(5, lo=1), kernel_size=I(3, lo=1),
                                                       stride=I(1, lo=1), padding=I(0, lo=0),
                                                       dilation=I(1, lo=1)),
    "dlcore.layers.convolution.im2col": dict(x=A((2, 2, 5, 5)), kernel_size=I(3, lo=1), stride=I(1, lo=1),
                                             padding=I(0, lo=0)),
    "dlcore.layers.convolution.col2im": dict(cols=A((18, 18)), x_shape=X((2, 2, 5, 5), *_SHAPE_BADS),
                                             kernel_size=I(3, lo=1), stride=I(1, lo=1), padding=I(0, lo=0)),
    "dlcore.layers.convolution.Conv2d": dict(in_channels=I(2, lo=1), out_channels=I(3, lo=1),
                                             kernel_size=I(3, lo=1), stride=I(1, lo=1), padding=I(1, lo=0)),
    "dlcore.layers.convolution.Conv2d.forward": dict(x=A((2, 2, 5, 5))),
    "dlcore.layers.convolution.MaxPool2d": dict(kernel_size=I(2, lo=1), stride=I(None, lo=1)),
    "dlcore.layers.convolution.MaxPool2d.forward": dict(x=A((2, 2, 4, 4))),
    "dlcore.layers.convolution.AvgPool2d": dict(kernel_size=I(2, lo=1), stride=I(None, lo=1)),
    "dlcore.layers.convolution.AvgPool2d.forward": dict(x=A((2, 2, 4, 4))),
    "dlcore.layers.convolution.Flatten.forward": dict(x=A((2, 2, 3, 3))),
    "dlcore.layers.dense.Linear": dict(in_features=I(3, lo=1), out_features=I(2, lo=1),
                                       init=X(None, *_INIT_BADS)),
    "dlcore.layers.dense.Sequential": dict(layers=XF(lambda: [f() for f in _SEQ_LAYERS], ("['a']", ["a"], "reject"),
                                                    ("[None]", [None], "reject"), ("[3]", [3], "reject"))),
    "dlcore.layers.dropout.Dropout": dict(p=F(0.5, lo=0, hi=0.999)),
    "dlcore.layers.normalization.BatchNorm1d": dict(num_features=I(3, lo=1), eps=F(1e-5, lo=0, lo_open=True),
                                                    momentum=F(0.1, lo=0, hi=1, none="accept")),
    "dlcore.layers.normalization.LayerNorm": dict(num_features=I(3, lo=1), eps=F(1e-5, lo=0, lo_open=True)),
    "dlcore.layers.normalization.RMSNorm": dict(normalized_shape=I(3, lo=1), eps=F(1e-6, lo=0, lo_open=True)),
    "dlcore.layers.normalization.group_norm": dict(x=A((2, 4, 3)), num_groups=I(2, lo=1),
                                                   eps=F(1e-5, lo=0, lo_open=True)),
    "dlcore.layers.residual.Residual": dict(layer=O(lambda: dlcore.layers.Linear(3, 3, rng=0))),
    "dlcore.losses.binary_cross_entropy": dict(p=A(_probs((4, 3))), y=A(np.eye(4, 3))),
    "dlcore.losses.bce_with_logits": dict(y=A(np.eye(4, 3))),
    "dlcore.losses.softmax_cross_entropy": dict(y=L([0, 1, 2, 1], classes=3)),
    "dlcore.losses.mse": dict(pred=A((4, 3)), target=A((4, 3))),
    "dlcore.losses.one_hot": dict(y=L([0, 1, 2, 1], classes=3, length_rule="edge"), n_classes=I(3, lo=1)),
    "dlcore.metrics.confusion_matrix": dict(y_true=L([0, 1, 2, 1]), y_pred=L([0, 2, 2, 1])),
    "dlcore.metrics.precision_recall_f1": dict(y_true=L([0, 1, 1, 0], classes=2), y_pred=L([0, 1, 0, 0], classes=2)),
    "dlcore.metrics.auc": dict(x=A([0.0, 0.5, 1.0]), y=A([0.0, 0.7, 1.0])),
    "dlcore.metrics.roc_curve": dict(y_true=L([0, 1, 1, 0], classes=2), scores=A([0.1, 0.8, 0.4, 0.3])),
    "dlcore.metrics.precision_recall_curve": dict(y_true=L([0, 1, 1, 0], classes=2),
                                                  scores=A([0.1, 0.8, 0.4, 0.3])),
    "dlcore.metrics.average_precision": dict(y_true=L([0, 1, 1, 0], classes=2), scores=A([0.1, 0.8, 0.4, 0.3])),
    "dlcore.optim.*": dict(lr=F(0.1, lo=0), eps=F(1e-8, lo=0), alpha=F(0.99, lo=0, hi=1),
                           dampening=F(0.0, lo=0, hi=1), betas=X((0.9, 0.999), *_BETAS_BADS)),
    "dlcore.optim.*.step": dict(params=D(_PARAMS, missing="edge", float32="reject"),
                                grads=D(_PARAMS, float32="edge", readonly="edge")),
    "dlcore.positions.sinusoidal_positions": dict(length=I(4, lo=1), dim=I(6, lo=2)),
    "dlcore.positions.rope_angles": dict(positions=A([0.0, 1.0, 2.0]), dim=I(4, lo=2)),
    "dlcore.positions.rope_matrix": dict(position=F(2.0), dim=I(4, lo=2)),
    "dlcore.positions.apply_rope": dict(x=A((3, 4)), positions=A([0.0, 1.0, 2.0])),
    "dlcore.positions.alibi_slopes": dict(num_heads=I(4, lo=1)),
    "dlcore.positions.alibi_bias": dict(num_heads=I(4, lo=1), length=I(3, lo=1), source_length=I(None, lo=1)),
    "dlcore.regularization.l1_penalty": dict(params_or_array=A((3, 2))),
    "dlcore.regularization.l2_penalty": dict(params_or_array=A((3, 2))),
    "dlcore.regularization.soft_threshold": dict(w=A((4, 3)), t=F(0.1, lo=0)),
    "dlcore.regularization.bias_variance_decomposition": dict(preds=A((5, 4)), f_true=A((4,)),
                                                              noise_var=F(0.0, lo=0)),
    "dlcore.rnn.*": dict(input_size=I(3, lo=1), hidden_size=I(2, lo=1)),
    "dlcore.rnn.RNNCell.forward": dict(x=A((4, 3)), h=A((4, 2))),
    "dlcore.rnn.GRUCell.forward": dict(x=A((4, 3)), h=A((4, 2))),
    "dlcore.rnn.LSTMCell.forward": dict(x=A((4, 3)), state=X((np.zeros((4, 2)), np.ones((4, 2))), *_STATE_BADS)),
    "dlcore.rnn.RNN.forward": dict(xs=A((5, 4, 3)), h0=A((4, 2))),
    "dlcore.schedules.*": dict(step=I(3, lo=0), lr0=F(0.1, lo=0), step_size=I(2, lo=1),
                               gamma=F(0.1, lo=0, lo_open=True), T_max=I(10, lo=1), eta_min=F(0.0, lo=0),
                               warmup_steps=I(5, lo=1)),
    "dlcore.segmentation.*": dict(logits=A((2, 3, 4, 4)), target=L(np.arange(32).reshape(2, 4, 4) % 3),
                                  y=L(np.arange(32).reshape(2, 4, 4) % 3), eps=F(1e-5, lo=0),
                                  weight=A([1.0, 2.0, 0.5]), k=I(5, lo=1)),
    "dlcore.segmentation.hard_dice": dict(pred=L(np.arange(32).reshape(2, 4, 4) % 3),
                                          target=L((np.arange(32).reshape(2, 4, 4) + 1) % 3)),
    "dlcore.training.mlp": dict(sizes=X([3, 4, 2], *_SIZES_BADS)),
    "dlcore.training.fit": dict(X=A((8, 3)), y=L([0, 1, 2, 0, 1, 2, 0, 1]), epochs=I(2, lo=1),
                                batch_size=I(4, lo=1), loss=Ch("cross_entropy"), X_val=A((4, 3), none="reject"),
                                y_val=L([0, 1, 2, 0], none="reject")),
    "dlcore.training.evaluate": dict(X=A((4, 3)), y=L([0, 1, 2, 1]), loss=Ch("cross_entropy")),
    "dlcore.training.accuracy": dict(X=A((4, 3)), y=L([0, 1, 2, 1])),
    "dlcore.utils.seed": dict(s=I(0, lo=0)),
    "dlcore.utils.table": dict(rows=X([[1, 2.5], [3, 4.0]], *_ROWS_BADS), headers=X(["a", "b"], *_HEAD_BADS),
                               digits=I(6, lo=0)),
    "dlcore.utils.fmt": dict(v=X(1.5, *_V_BADS), digits=I(6, lo=0)),
    "dlcore.utils.to_torch": dict(a=A((2, 3), nonfinite_ok=True)),
    # --- alignment
    "dlcore.alignment.bradley_terry_loss": dict(r_chosen=A((4,)), r_rejected=A((4,))),
    "dlcore.alignment.dpo_loss": dict(policy_chosen=A(-_probs(4)), policy_rejected=A(-_probs(4)),
                                      ref_chosen=A(-_probs(4)), ref_rejected=A(-_probs(4)),
                                      beta=F(0.1, lo=0, lo_open=True)),
    "dlcore.alignment.implicit_reward": dict(policy_logp=A(-_probs(4)), ref_logp=A(-_probs(4)),
                                             beta=F(0.1, lo=0, lo_open=True)),
    "dlcore.alignment.kl_regularized_policy": dict(ref_probs=A([0.1, 0.2, 0.3, 0.4]), rewards=A((4,)),
                                                   beta=F(0.5, lo=0, lo_open=True)),
    "dlcore.alignment.kl_divergence": dict(p=A([0.1, 0.2, 0.3, 0.4]), q=A([0.25, 0.25, 0.25, 0.25])),
    # --- curves
    "dlcore.curves.train_curves": dict(X=A((8, 3)), y=L([0, 1, 2, 0, 1, 2, 0, 1]), X_val=A((4, 3)),
                                       y_val=L([0, 1, 2, 0]), epochs=I(2, lo=1), every=I(1, lo=1),
                                       transform=X(None, ("int 3", 3, "reject"), ("str 'f'", "f", "reject")),
                                       val_groups=X((), ("int 3", 3, "reject"))),
    # --- ddp_demo (``run`` starts worker processes: REJECT_ONLY)
    "dlcore.ddp_demo.reference_gradient": dict(
        problem=XF(lambda: dlcore.ddp_demo.make_problem(0), ("None", None, "reject"), ("{}", {}, "reject"),
                   ("str 'x'", "x", "reject")),
        rows=X(None, ("[0, 99]", [0, 99], "reject"), ("[0.5]", [0.5], "reject"), ("str 'x'", "x", "reject"))),
    "dlcore.ddp_demo.flatten": dict(grads=P("arrays_dict", {k: _RNG.standard_normal(s) for k, s in
                                                            (("0.W", (4, 8)), ("0.b", (8,)), ("2.W", (8, 1)),
                                                             ("2.b", (1,)))},
                                            {"shape": "edge", "float32": "edge", "readonly": "edge"})),
    "dlcore.ddp_demo.run": dict(configs=X([(8, 8)], ("None", None, "reject"), ("[]", [], "reject"),
                                          ("[(8, 9)] (> 16 rows)", [(8, 9)], "reject"),
                                          ("[(8, 2.5)]", [(8, 2.5)], "reject"), ("str 'x'", "x", "reject"),
                                          ("[(8,), (4, 4)]", [(8,), (4, 4)], "reject")),
                                seed=I(0, lo=0), timeout=F(60.0, lo=0, lo_open=True)),
    # --- decoding (next_logprobs: a toy model over 5 tokens)
    "dlcore.decoding.apply_temperature": dict(logits=A((4, 5)), temperature=F(0.7, lo=0, lo_open=True)),
    "dlcore.decoding.top_k_filter": dict(logits=A((4, 5)), k=I(2, lo=1)),
    "dlcore.decoding.top_p_filter": dict(logits=A((4, 5)), p=F(0.9, lo=0, lo_open=True, hi=1)),
    "dlcore.decoding.next_token_distribution": dict(logits=A((4, 5)), temperature=F(1.0, lo=0),
                                                    top_k=I(None, lo=1), top_p=F(None, lo=0, lo_open=True, hi=1)),
    "dlcore.decoding.sample_next": dict(logits=A((5,)), temperature=F(1.0, lo=0), top_k=I(None, lo=1),
                                        top_p=F(None, lo=0, lo_open=True, hi=1), size=I(None, lo=1)),
    "dlcore.decoding.greedy_decode": dict(next_logprobs=Fn(_toy_lm), prompt=X([1, 2], *_TOKENS_BADS),
                                          max_new_tokens=I(3, lo=0), eos=I(None, lo=0)),
    "dlcore.decoding.sample_decode": dict(next_logprobs=Fn(_toy_lm), prompt=X([1, 2], *_TOKENS_BADS),
                                          max_new_tokens=I(3, lo=0), eos=I(None, lo=0), temperature=F(1.0, lo=0),
                                          top_k=I(None, lo=1), top_p=F(None, lo=0, lo_open=True, hi=1)),
    "dlcore.decoding.beam_search": dict(next_logprobs=Fn(_toy_lm), prompt=X([1, 2], *_TOKENS_BADS),
                                        beam_width=I(2, lo=1), max_new_tokens=I(3, lo=0), eos=I(None, lo=0),
                                        length_penalty=F(0.0)),
    "dlcore.decoding.sequence_logprob": dict(next_logprobs=Fn(_toy_lm), prompt=X([1, 2], *_TOKENS_BADS),
                                             continuation=X([3, 0], *_TOKENS_BADS)),
    "dlcore.decoding.perplexity": dict(token_logprobs=A([-1.0, -2.0, -0.5], nonfinite_ok=True)),
    # --- descent
    "dlcore.descent.LeastSquares": dict(X=A((6, 3)), y=A((6,)), w_true=A((3,)), scales=A([1.0, 0.5, 0.3])),
    "dlcore.descent.LeastSquares.*": dict(w=A((3,)), X=A((6, 3), none="accept"), y=A((6,), none="accept")),
    "dlcore.descent.least_squares": dict(rng=P("rng", np.random.default_rng(0), {"generator_only": True}), n=I(10, lo=2), scales=A([1.0, 0.5]), noise=F(0.5, lo=0)),
    "dlcore.descent.trajectory": dict(opt=O(lambda: dlcore.optim.SGD(0.1)), grad_fn=Fn(lambda t: 2.0 * t),
                                      theta0=A((3,)), steps=I(3, lo=0)),
    "dlcore.descent.best_time": dict(fn=Fn(lambda: None), repeat=I(2, lo=1)),
    "dlcore.descent.sharpness": dict(loss_fn=Fn(lambda a: (a ** 4).sum()), params=XF(_torch_params,
                                     ("None", None, "reject"), ("[]", [], "reject"), ("int 3", 3, "reject"),
                                     ("[ndarray]", [np.ones(3)], "reject")),
                                     iters=I(3, lo=1), seed=I(0, lo=0)),
    # --- LoRA
    "dlcore.layers.lora.LoRALinear": dict(W=A((3, 4)), b=A((4,), none="accept"), r=I(2, lo=1),
                                          alpha=F(None, lo=0, lo_open=True)),
    "dlcore.layers.lora.LoRALinear.forward": dict(x=A((5, 3))),
    "dlcore.lora.lora_parameter_count": dict(in_features=I(8, lo=1), out_features=I(4, lo=1), r=I(2, lo=1)),
    "dlcore.lora.full_parameter_count": dict(in_features=I(8, lo=1), out_features=I(4, lo=1)),
    # --- memory
    "dlcore.memory.nbytes": dict(objects=X([np.zeros(3), {"a": np.ones(2)}], ("object()", object(), "reject"),
                                           ("[None]", [None], "reject"), ("str 'x'", "x", "reject"))),
    "dlcore.memory.*": dict(n_params=F(1e6, lo=0, lo_open=True), n_devices=I(4, lo=1), stage=I(2, lo=0),
                            k=F(12.0, lo=0), param_bytes=F(2.0, lo=0), grad_bytes=F(2.0, lo=0),
                            bytes_per_param=F(2.0, lo=0, lo_open=True), master_bytes=F(4.0, lo=0),
                            state_bytes=F(4.0, lo=0), optimizer_states=I(2, lo=0),
                            layers=XF(lambda: [f() for f in _SEQ_LAYERS], ("[]", [], "reject"), ("[3]", [3], "reject"),
                                      ("None", None, "reject")),
                            extra=X((), ("[None]", [None], "reject")), x=A((5, 3)), dout=A((5, 4)),
                            segments=I(None, lo=1)),
    "dlcore.memory.zero_*": dict(n_params=F(1e6, lo=0, lo_open=True), n_devices=I(4, lo=1),
                                 stage=X(2, ("4", 4, "reject"), ("-1", -1, "reject"), ("2.5", 2.5, "reject"),
                                         ("True", True, "reject"), ("None", None, "reject")),
                                 k=F(12.0, lo=0), param_bytes=F(2.0, lo=0), grad_bytes=F(2.0, lo=0)),
    # --- ngram
    "dlcore.ngram.NGramLM": dict(order=I(2, lo=1), vocab_size=I(5, lo=1), alpha=F(0.1, lo=0)),
    "dlcore.ngram.NGramLM.fit": dict(sequences=X([[0, 1, 2, 3], [1, 2, 4]], ("None", None, "reject"),
                                                 ("[[0, 5]] (>= V)", [[0, 5]], "reject"),
                                                 ("[[0, -1]]", [[0, -1]], "reject"), ("[[0.5]]", [[0.5]], "reject"),
                                                 ("str 'ab'", "ab", "reject"), ("[3]", [3], "reject"))),
    "dlcore.ngram.toy_language_model": dict(num_merges=I(10, lo=0), order=I(2, lo=1), alpha=F(0.01, lo=0)),
    "dlcore.ngram.NGramLM.*": dict(tokens=X([0, 1, 2], *_TOKENS_BADS), context=X([0], *_TOKENS_BADS),
                                   token=I(1, lo=0)),
    # --- parallel
    "dlcore.parallel.ring_*": dict(buffers=XF(lambda: [_RNG.standard_normal(6) for _ in range(3)], *_BUFFERS_BADS),
                                   chunks=XF(lambda: [_RNG.standard_normal(2) for _ in range(3)],
                                             *_BUFFERS_BADS[:4], ("different lengths (allowed)",
                                                                  [np.zeros(2), np.zeros(1), np.zeros(2)], "accept"),
                                             *_BUFFERS_BADS[5:])),
    "dlcore.parallel.naive_all_reduce": dict(buffers=XF(lambda: [_RNG.standard_normal(6) for _ in range(3)],
                                                        *_BUFFERS_BADS)),
    "dlcore.parallel.*_parallel_linear": dict(x=A((5, 4)), W=A((4, 6)), b=A((6,), none="accept"),
                                              n_shards=I(2, lo=1)),
    "dlcore.parallel.megatron_mlp": dict(x=A((5, 4)), W1=A((4, 6)), b1=A((6,), none="accept"), W2=A((6, 4)),
                                         b2=A((4,), none="accept"),
                                         n_shards=I(2, lo=1), activation=Fn(np.tanh)),
    # --- precision
    "dlcore.precision.FloatFormat": dict(name=X("fp16", kind="text"), exponent_bits=I(5, lo=2),
                                         mantissa_bits=I(10, lo=1)),
    "dlcore.precision.*": dict(x=A((4, 3), nonfinite_ok=True), fmt=X("bf16", *_FMT_BADS),
                               accumulate=X(None, *_FMT_BADS[:3])),
    "dlcore.precision.bit_fields": dict(x=A([1.0, -0.5, 3.0, 0.0], nonfinite_ok=True)),
    "dlcore.precision.to_bits": dict(x=A(1.5, nonfinite_ok=True), fmt=X("bf16", *_FMT_BADS)),
    "dlcore.precision.sequential_sum": dict(x=A((6,)), fmt=X("bf16", *_FMT_BADS),
                                            accumulate=X(None, *_FMT_BADS[:3])),
    "dlcore.precision.LossScaler": dict(init_scale=F(1024.0, lo=0, lo_open=True), dynamic=B(True),
                                        growth_factor=F(2.0, lo=1, lo_open=True), backoff_factor=F(0.5, lo=0, hi=1),
                                        growth_interval=I(3, lo=1)),
    "dlcore.precision.LossScaler.scale_loss": dict(loss=A(2.5, nonfinite_ok=True)),
    "dlcore.precision.LossScaler.unscale": dict(grads=X([np.ones(3), np.full(2, 2.0)], ("None", None, "reject"),
                                                        ("[str array]", [np.full(2, "a")], "reject"),
                                                        ("[None]", [None], "reject"))),
    "dlcore.precision.LossScaler.update": dict(found_inf=B(False)),
    # --- propagation
    "dlcore.propagation.error_signal_norms": dict(net=XF(_tanh_net, *_NET_BADS), x=A((5, 3)), dout=A((5, 4))),
    "dlcore.propagation.weight_grad_norms": dict(net=XF(_trained_net, *_NET_BADS,
                                                        ("before backward", _tanh_net(), "reject"))),
    # --- quantize
    "dlcore.quantize.dequantize": dict(q=X(np.array([[1, -2], [3, 4]], dtype=np.int8), *_CODES_BADS),
                                       scale=A([[0.5], [0.25]])),
    "dlcore.quantize.blockwise_dequantize": dict(
        codes=X(np.array([[1, -2, 3, 0], [7, -7, 2, 1]], dtype=np.int8), *_CODES_BADS),
        absmax=A([1.0, 2.0]), shape=X((2, 4), *_SHAPE_BADS[:1], ("(3, 4)", (3, 4), "reject"),
                                      ("str", "ab", "reject")), code=Ch("int"), bits=I(4, lo=2)),
    "dlcore.quantize.int8_matmul": dict(x=A((4, 3)), W=A((3, 2)), threshold=F(None, lo=0, lo_open=True)),
    # --- tokenize
    "dlcore.tokenize.BPETokenizer": dict(merges=X([(97, 98)], ("None", None, "reject"), ("object()", object(), "reject"),
                                                  ("[(97,)]", [(97,)], "reject"), ("[(97, 999)]", [(97, 999)], "reject"),
                                                  ("[('a', 'b')]", [("a", "b")], "reject")),
                                         merge_counts=X([5], ("None", None, "reject"), ("object()", object(), "reject"),
                                                        ("[2.5]", [2.5], "reject"), ("['a']", ["a"], "reject"),
                                                        ("[5, 6] (one count more)", [5, 6], "reject")),
                                         digit_group=I(None, lo=1)),
    "dlcore.tokenize.BPETokenizer.*": dict(ids=X([97, 98, 256], *_TOKENS_BADS), text=X("ab ab", kind="text"),
                                           token=I(256, lo=0), errors=Ch("replace")),
    "dlcore.tokenize.train_bpe": dict(text=X("ab ab ab cd", kind="text"), num_merges=I(3, lo=0),
                                      digit_group=I(None, lo=1), min_frequency=I(2, lo=1)),
    "dlcore.tokenize.pretokenize": dict(text=X("ab ab 123", kind="text"), digit_group=I(None, lo=1)),
    "dlcore.tokenize.pretokenize_pattern": dict(digit_group=I(None, lo=1)),
}

# Documented acceptances of a value the battery calls bad: {(qualname pattern, param, label): why}.
ACCEPTS = {
    ("dlcore.decoding.*", "logits", "-inf"): "-inf is a removed token (the filters' output convention)",
    ("dlcore.efficient_attention.softmax_state", "scores", "-inf"): "-inf is a masked score",
    ("dlcore.efficient_attention.merge_softmax_states", "m1", "-inf"):
        "the running maximum of a block whose scores are all masked",
    ("dlcore.efficient_attention.merge_softmax_states", "m2", "-inf"):
        "the running maximum of a block whose scores are all masked",
}
# Functions that may return ±inf for ±1e300 input because the exact result exceeds float64's
# range (about 1.8e308): an honest overflow, documented in the package docstring.
OVERFLOWS = {
    "dlcore.losses.mse": "the mean of squares exceeds 1.8e308",
    "dlcore.regularization.l2_penalty": "the sum of squares exceeds 1.8e308",
    "dlcore.regularization.bias_variance_decomposition": "the squared errors exceed 1.8e308",
    "dlcore.generative.gaussian_kl": "mu**2 or exp(logvar) exceeds 1.8e308",
    "dlcore.geometry.ball_volume": "the volume exceeds 1.8e308",
    "dlcore.precision.round_*": "1e300 is beyond the format's largest number: IEEE rounding gives ±inf",
    "dlcore.decoding.perplexity": "exp(1e300) exceeds 1.8e308",
}
# Results that hold inf by definition, for any input: {qualname: why}.
NONFINITE_OUTPUT = {
    "dlcore.metrics.roc_curve": "its first threshold is inf (as scikit-learn's)",
    "dlcore.decoding.top_k_filter": "a removed token's logit is -inf",
    "dlcore.decoding.top_p_filter": "a removed token's logit is -inf",
}
# Functions whose valid call is too slow for this test (it starts processes, ...): only their
# ``reject`` values are tried, which must raise ValueError before any work. {qualname: why}
REJECT_ONLY = {
    "dlcore.ddp_demo.run": "starts one torch.distributed worker process per rank (seconds)",
}
# Classes that are plain records (a NamedTuple a function returns), not an API that checks
# its input: not called. {qualname: why}
RECORDS = {
    "dlcore.ngram.ToyLanguageModel": "the NamedTuple toy_language_model returns",
}
# Results whose length depends on the values (so a same-shape input may change it): {qualname: why}.
VARIABLE_SHAPE = {
    "dlcore.metrics.roc_curve": "one point per distinct score",
    "dlcore.metrics.precision_recall_curve": "one point per distinct score",
}
# Arguments a function modifies on purpose (documented): {(qualname pattern, param)}.
MUTATES = {("dlcore.optim.*.step", "params"), ("dlcore.clip.*", "grads")}


# ------------------------------------------------------------------------- discovery

def public_modules():
    """Every importable dlcore module without a private part in its dotted name."""
    names = ["dlcore"] + [m.name for m in pkgutil.walk_packages(dlcore.__path__, "dlcore.")]
    return sorted(n for n in names if not any(part.startswith("_") for part in n.split(".")))


def _home(obj, module_name):
    """Where a re-exported name is tested: its defining module if that one exports it."""
    home = getattr(obj, "__module__", None)
    if home and home != module_name and home.startswith("dlcore"):
        try:
            mod = importlib.import_module(home)
        except ImportError:
            return module_name
        if not any(p.startswith("_") for p in home.split(".")) and getattr(mod, obj.__name__, None) is obj \
                and obj.__name__ in getattr(mod, "__all__", ()):
            return home
    return module_name


def _matching_specs(qualname):
    """SPECS entries for ``qualname``: wildcard patterns first, the exact name last."""
    import fnmatch
    keys = sorted((k for k in SPECS if fnmatch.fnmatchcase(qualname, k)),
                  key=lambda k: (k == qualname, len(k)))
    merged = {}
    for k in keys:
        merged.update(SPECS[k])
    return merged


def spec_of(qualname, fn):
    """{parameter: P} for a callable, and the name of its *args parameter (or None)."""
    specs = _matching_specs(qualname)
    params, varargs = {}, None
    for name, prm in inspect.signature(fn).parameters.items():
        if prm.kind is prm.VAR_KEYWORD:
            continue
        p = copy.copy(specs[name]) if name in specs else guess(name, prm)
        p.default = prm.default
        if p.value is MISSING and prm.default is not MISSING:
            p.value = prm.default
        if prm.kind is prm.VAR_POSITIONAL:
            varargs = name
        params[name] = p
    return params, varargs


@dataclass
class Target:
    qualname: str
    bind: object               # bind(fresh) -> the callable for one call (a fresh instance's method)
    params: dict
    varargs: str = None
    abstract: bool = False


def targets_of(module_name):
    """Targets for the names a module defines (re-exports are tested where they are defined)."""
    module = importlib.import_module(module_name)
    out = []
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        if inspect.ismodule(obj) or not callable(obj) or _home(obj, module_name) != module_name:
            continue
        qual = f"{module_name}.{name}"
        if qual in RECORDS:
            continue
        if inspect.isclass(obj):
            out.extend(_class_targets(qual, obj))
        else:
            params, varargs = spec_of(qual, obj)
            if params:                      # nothing to pass a bad value to otherwise
                out.append(Target(qual, lambda fresh, f=obj: f, params, varargs))
    return out


def _valid_kwargs(params):
    return {n: p.base() for n, p in params.items() if p.value is not MISSING}


def _invoke(fn, kwargs, varargs):
    kwargs = dict(kwargs)
    args = kwargs.pop(varargs) if varargs else ()
    return fn(*args, **kwargs)


def _class_targets(qual, cls):
    ctor_params, ctor_varargs = spec_of(qual, cls)
    targets = [Target(qual, lambda fresh: cls, ctor_params, ctor_varargs)] if ctor_params else []
    methods = [m for m in dir(cls) if not m.startswith("_") and inspect.isfunction(getattr(cls, m))
               and getattr(getattr(cls, m), "__module__", "").startswith("dlcore")]

    def instance():
        return _invoke(cls, _valid_kwargs(ctor_params), ctor_varargs)

    fwd_params = spec_of(f"{qual}.forward", cls.forward)[0] if "forward" in methods else {}
    for m in methods:
        mqual = f"{qual}.{m}"
        params, varargs = spec_of(mqual, getattr(cls, m))
        params.pop("self", None)
        prelude = m == "backward" and "forward" in methods
        if prelude:                 # the upstream gradient has the shape of forward's output
            try:
                out = instance().forward(**_valid_kwargs(fwd_params))
            except Exception:
                out = None
            if out is not None:
                first = next(iter(params))
                g = np.random.default_rng(3)
                dout = (g.standard_normal(np.shape(out)) if isinstance(out, np.ndarray)
                        else tuple(g.standard_normal(np.shape(o)) for o in out))
                params[first] = P("array" if isinstance(out, np.ndarray) else "any", dout)
                params[first].default = MISSING
                params[first].bads = params[first].bads + [Bad("before forward", dout, "reject")]

        def bind(fresh, m=m, prelude=prelude):
            obj = instance()
            if prelude and not fresh:
                obj.forward(**_valid_kwargs(fwd_params))
            return getattr(obj, m)

        targets.append(Target(mqual, bind, params, varargs))
    return targets


# ---------------------------------------------------------------------------- calling

FAILURES = ("other exception", "not validated", "rejected a valid value", "NaN/inf from finite input",
            "wrong shape", "mutated an argument", "warning", "hang", "valid call fails",
            "no valid call known")
OUTCOMES = ("ValueError", "accepted", "abstract") + FAILURES


@dataclass
class Result:
    qualname: str
    param: str          # "" for the valid call
    label: str
    outcome: str
    detail: str = ""
    sig: object = None

    @property
    def failed(self):
        return self.outcome in FAILURES

    def __str__(self):
        arg = f"({self.param}={self.label})" if self.param else "(valid call)"
        return f"{self.qualname}{arg}: {self.outcome}{': ' + self.detail if self.detail else ''}"


class _Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise _Hang()


def _walk(obj, limit=100000):
    """Leaves of a result (arrays, numbers, ...), iteratively (results can be 5,000 deep)."""
    stack, n = [obj], 0
    while stack and n < limit:
        o = stack.pop()
        n += 1
        if isinstance(o, dict):
            stack.extend(o.values())
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
        elif hasattr(o, "values") and isinstance(getattr(o, "values", None), np.ndarray):  # Summary
            stack.append(o.values)
        elif isinstance(getattr(o, "params", None), dict):                  # a layer
            stack.extend(o.params.values())
        else:
            yield o


def _nonfinite(obj):
    for o in _walk(obj):
        if isinstance(o, np.ndarray) and (np.issubdtype(o.dtype, np.floating)
                                          or np.issubdtype(o.dtype, np.complexfloating)):
            if not np.isfinite(o).all():
                return True
        elif isinstance(o, (float, complex, np.floating, np.complexfloating)) and not np.isfinite(o):
            return True
    return False


def _has_nan(obj):
    for o in _walk(obj):
        if isinstance(o, np.ndarray) and np.issubdtype(o.dtype, np.inexact):
            if np.isnan(o).any():
                return True
        elif isinstance(o, (float, np.floating)) and math.isnan(o):
            return True
    return False


def _sig(obj, depth=0):
    """The shapes of a result, for comparing an accepted call with the valid one."""
    if depth > 6:
        return "..."
    if isinstance(obj, np.ndarray):
        return ("array", obj.shape)
    if isinstance(obj, (list, tuple)):
        return tuple(_sig(o, depth + 1) for o in obj[:50])
    if isinstance(obj, dict):
        return tuple((str(k), _sig(v, depth + 1)) for k, v in obj.items())
    if isinstance(obj, (bool, int, float, np.number)):
        return "number"
    if isinstance(getattr(obj, "params", None), dict):
        return ("layer", _sig(obj.params, depth + 1))
    return type(obj).__name__


def _changed(before, after, depth=0):
    """Whether an argument differs from its snapshot (arrays by value, containers recursively)."""
    if depth > 50:
        return False
    if isinstance(before, np.ndarray):
        if not isinstance(after, np.ndarray) or before.shape != after.shape or before.dtype != after.dtype:
            return True
        try:
            return not np.array_equal(before, after, equal_nan=np.issubdtype(before.dtype, np.inexact))
        except TypeError:
            return False
    if isinstance(before, dict):
        return (not isinstance(after, dict) or list(before) != list(after)
                or any(_changed(before[k], after[k], depth + 1) for k in before))
    if isinstance(before, (list, tuple)):
        return (type(before) is not type(after) or len(before) != len(after)
                or any(_changed(b, a, depth + 1) for b, a in zip(before, after)))
    return False


def _matches(table, qualname, *rest):
    """Whether (qualname, *rest) is listed in ``table`` (keys: a qualname pattern, or a tuple of
    a pattern and the rest)."""
    import fnmatch
    keys = (k if isinstance(k, tuple) else (k,) for k in table)
    return any(fnmatch.fnmatchcase(qualname, k[0]) and tuple(k[1:]) == rest for k in keys)


def call(t, override=None, bad=None, base_sig=None):
    """One call of ``t`` with its valid arguments and ``override``; classified as a Result."""
    param = next(iter(override)) if override else ""
    label = bad.label if bad else ""
    r = Result(t.qualname, param, label, "")
    try:
        kwargs = _valid_kwargs(t.params)
        kwargs.update({k: _copy(v) for k, v in (override or {}).items()})
        fn = t.bind(bad is not None and bad.label == "before forward")
    except NotImplementedError as e:    # an abstract base class (Layer, Optimizer)
        r.outcome, r.detail = "abstract", f"building the object: {e!r}"
        return r
    except Exception as e:              # the valid constructor or forward failed
        r.outcome, r.detail = "valid call fails", f"building the object: {type(e).__name__}: {e}"
        return r
    snapshot = _copy(kwargs)
    caught = []
    old = signal.signal(signal.SIGALRM, _alarm)
    old_prof = signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_REAL, WALL_TIMEOUT)
    signal.setitimer(signal.ITIMER_PROF, TIMEOUT)
    try:
        with warnings.catch_warnings(record=True) as caught, np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"), \
                contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("always")
            result = _invoke(fn, kwargs, t.varargs)
            if inspect.isgenerator(result):
                result = list(result)
    except _Hang:
        r.outcome, r.detail = "hang", (f"still running after {TIMEOUT:.0f} s of CPU or "
                                       f"{WALL_TIMEOUT:.0f} s of wall time")
        return r
    except ValueError as e:
        if bad is None:
            r.outcome, r.detail = "valid call fails", f"ValueError: {e}"
        elif bad.rule == "accept":
            r.outcome, r.detail = "rejected a valid value", f"ValueError: {e}"
        else:
            r.outcome, r.detail = "ValueError", str(e)
        return r
    except NotImplementedError as e:
        r.outcome, r.detail = ("abstract", str(e)) if bad is None else ("other exception", repr(e))
        return r
    except Exception as e:
        r.outcome, r.detail = "other exception", f"{type(e).__name__}: {e}"[:300]
        return r
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGALRM, old)
        signal.signal(signal.SIGPROF, old_prof)
    r.sig = _sig(result)
    huge = bad is not None and "1e300" in bad.label
    overflow_ok = huge and _matches(OVERFLOWS, t.qualname) and not _has_nan(result)
    runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if bad is not None and bad.rule == "reject" and not _matches(ACCEPTS, t.qualname, param, label):
        r.outcome, r.detail = "not validated", "returned instead of raising ValueError"
    elif (bad is None or bad.finite) and _nonfinite(result) and not overflow_ok \
            and t.qualname not in NONFINITE_OUTPUT:
        r.outcome, r.detail = "NaN/inf from finite input", ("NaN" if _has_nan(result) else "inf")
    elif bad is not None and bad.same_shape and base_sig is not None and r.sig != base_sig \
            and t.qualname not in VARIABLE_SHAPE:
        r.outcome, r.detail = "wrong shape", f"{r.sig} instead of {base_sig}"
    elif any(_changed(snapshot[k], kwargs[k]) for k in snapshot if not _matches(MUTATES, t.qualname, k)):
        bad_args = [k for k in snapshot if _changed(snapshot[k], kwargs[k])]
        r.outcome, r.detail = "mutated an argument", ", ".join(bad_args)
    elif runtime and not overflow_ok:
        r.outcome, r.detail = "warning", str(runtime[0].message)
    else:
        r.outcome = "accepted"
    return r


def bads_for(p, varargs=False):
    """The bad values of one parameter: its own, then its kind's battery."""
    out = list(p.bads)
    if not varargs and p.value is not MISSING and not (p.kind == "object" and not p.opts.get("factory")):
        own = {b.label for b in out}
        out += [b for b in BATTERIES.get(p.kind, battery_generic)(p) if b.label not in own]
    if p.opts.get("none", "accept" if p.default is None else "reject") == "accept":   # None is valid
        out = [Bad(b.label, b.value, "accept", b.finite, b.same_shape) if b.value is None else b
               for b in out]
    return out


def run_target(t):
    missing = [n for n, p in t.params.items() if p.value is MISSING]
    if missing:
        return [Result(t.qualname, "", "", "no valid call known",
                       f"no valid value for {missing}: add SPECS[{t.qualname!r}] = dict("
                       + ", ".join(f"{m}=..." for m in missing) + ") in tests/test_api_fuzz.py")]
    if t.qualname in REJECT_ONLY:
        return [call(t, {name: bad.value}, bad) for name, p in t.params.items()
                for bad in bads_for(p, varargs=name == t.varargs) if bad.rule == "reject"]
    valid = call(t)
    results = [valid]
    if valid.outcome == "abstract" or valid.detail.startswith("building the object"):
        return results                  # nothing to call (the class has no valid instance)
    if valid.outcome != "accepted":     # bad values mean nothing next to invalid valid ones
        valid.outcome = "valid call fails"
        valid.detail += (f" (if the valid values guessed from the parameter names do not fit, "
                         f"add SPECS[{t.qualname!r}] = dict(...) in tests/test_api_fuzz.py)")
        return results
    for name, p in t.params.items():
        for bad in bads_for(p, varargs=name == t.varargs):
            results.append(call(t, {name: bad.value}, bad, valid.sig))
    return results


@contextlib.contextmanager
def _globals_kept():
    """dlcore.seed and draw_dag change global state: restore it after a module's calls."""
    import random
    printopts, np_state, py_state = np.get_printoptions(), np.random.get_state(), random.getstate()
    torch = sys.modules.get("torch")
    torch_state = torch.get_rng_state() if torch else None
    try:
        yield
    finally:
        np.set_printoptions(**printopts)
        np.random.set_state(np_state)
        random.setstate(py_state)
        if torch is not None and torch_state is not None:
            torch.set_rng_state(torch_state)
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")


def run_module(module_name):
    with _globals_kept():
        return [r for t in targets_of(module_name) for r in run_target(t)]


# ------------------------------------------------------------------------------ tests

MODULES = public_modules()


@pytest.mark.parametrize("module_name", MODULES)
def test_module_survives_bad_input(module_name):
    results = run_module(module_name)
    failures = [r for r in results if r.failed]
    shown = "\n".join(str(r) for r in failures[:60])
    more = f"\n... and {len(failures) - 60} more" if len(failures) > 60 else ""
    assert not failures, (f"{module_name}: {len(failures)} of {len(results)} calls broke the input "
                          f"contract (tests/test_api_fuzz.py explains each check):\n{shown}{more}")


def test_every_public_callable_is_called():
    """Every callable in every public module's __all__ is a target somewhere (or has nothing
    to pass a bad value to: no parameters)."""
    quals = {t.qualname for m in MODULES for t in targets_of(m)}
    covered = quals | {q.rsplit(".", 1)[0] for q in quals}     # a class, through its methods
    missing = []
    for m in MODULES:
        module = importlib.import_module(m)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not callable(obj):
                continue
            home = _home(obj, m)
            qual = f"{home}.{name}"
            takes_args = bool(inspect.signature(obj).parameters)
            if inspect.isclass(obj):
                takes_args |= any(not n.startswith("_") and inspect.isfunction(getattr(obj, n))
                                  for n in dir(obj))
            if takes_args and qual not in covered and qual not in RECORDS:
                missing.append(qual)
    assert not missing, f"public callables the fuzz test never calls: {missing}"


def summary(modules=None):
    """Calls per outcome class over all modules (the counts reported on issue 20)."""
    counts, failures, t0 = collections.Counter(), [], time.perf_counter()
    for m in modules or MODULES:
        for r in run_module(m):
            counts[r.outcome] += 1
            if r.failed:
                failures.append(r)
    lines = [f"{sum(counts.values())} calls over {len(modules or MODULES)} modules "
             f"in {time.perf_counter() - t0:.1f} s"]
    lines += [f"  {o:<28} {counts[o]:>6}" for o in OUTCOMES if counts[o] or o in ("ValueError", "accepted")]
    return "\n".join(lines), failures


if __name__ == "__main__":
    text, fails = summary(sys.argv[1:] or None)
    print(text)
    for r in fails:
        print(" ", r)
