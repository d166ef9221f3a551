"""Input checks shared by every public function.

Every check raises ``ValueError`` with a message that names the argument, what was
expected and what was received, so a reader who passes the wrong thing learns what
to change without reading the source.

One check per kind of argument, used everywhere (no module converts with ``int()`` or
builds its own generator):

* arrays: ``as_float_array`` (real numeric, promoted to float64, finite unless allowed),
  ``as_class_indices``, ``check_same_shape``, ``check_in_range``, ``check_all_finite``;
  ``between_layers()``: a context in which ``as_float_array`` skips its finiteness scan (the
  array came from a layer whose input was checked; see ``dlcore.layers.Sequential``);
* numbers: ``check_int`` (Python or NumPy integers, never bool or float), ``check_positive``
  (a finite real > 0 or >= 0), ``check_finite``, ``check_unit_interval`` (a probability);
* ``check_bool`` (``True``/``False`` or NumPy bools only), ``check_callable``,
  ``check_choice``, ``check_model`` (an object with ``forward``, ``backward``, ``params``);
* ``as_generator``: ``None``, a non-negative int seed or a ``numpy.random.Generator``;
  ``check_generator``: a ``numpy.random.Generator`` only (a function that continues the
  caller's stream).
"""
from __future__ import annotations

import math
import threading

import numpy as np

_FLOAT64 = np.dtype(np.float64)
_SCOPE = threading.local()      # .depth > 0: inside between_layers() in this thread


class between_layers:
    """``with between_layers():`` the arrays that reach ``as_float_array`` are activations and
    gradients passed from one layer to the next, whose source was checked at the boundary (a
    Sequential checks its input, its upstream gradient and its output once): the finiteness
    scan, a full pass over every array, is skipped; dtype and rank are still checked."""

    def __enter__(self):
        _SCOPE.depth = getattr(_SCOPE, "depth", 0) + 1

    def __exit__(self, *exc):
        _SCOPE.depth -= 1

    @staticmethod
    def active() -> bool:
        """True inside ``between_layers()`` (a container inside another one checks nothing)."""
        return getattr(_SCOPE, "depth", 0) > 0


def as_float_array(x, name: str, *, ndim=None, min_ndim=None, allow_nonfinite=False) -> np.ndarray:
    """Return ``x`` as a float64 array after checking dtype, rank and finiteness (finiteness
    not between layers: see ``between_layers``)."""
    arr = np.asarray(x)
    if arr.dtype != _FLOAT64:  # float64 (the common case) needs neither dtype checks nor a conversion
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise ValueError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
        if np.iscomplexobj(arr):
            raise ValueError(f"{name}: expected a real array, got complex dtype {arr.dtype}")
        arr = arr.astype(np.float64, copy=False)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(d) for d in allowed)
            raise ValueError(f"{name}: expected a {want}-D array, got shape {arr.shape}")
    if min_ndim is not None and arr.ndim < min_ndim:
        raise ValueError(f"{name}: expected at least {min_ndim} dimension(s), got shape {arr.shape}")
    if not allow_nonfinite and not getattr(_SCOPE, "depth", 0) and not np.isfinite(arr).all():
        bad = "NaN" if np.isnan(arr).any() else "inf"
        raise ValueError(f"{name}: expected finite values, got {bad}")
    return arr


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_b}: expected shape {a.shape} (the shape of {name_a}), got shape {b.shape}")


def check_in_range(arr: np.ndarray, name: str, lo: float, hi: float) -> None:
    if arr.size and (arr.min() < lo or arr.max() > hi):
        bad = float(arr.min() if arr.min() < lo else arr.max())
        raise ValueError(f"{name}: expected values in [{lo}, {hi}], got {bad!r}")


def as_class_indices(y, name: str, n: int, n_classes: int) -> np.ndarray:
    """Return integer class labels of shape (n,) with values in [0, n_classes)."""
    arr = np.asarray(y)
    if arr.shape != (n,):
        raise ValueError(f"{name}: expected class indices of shape ({n},), got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{name}: expected integer class indices, got non-integer floats")
    elif not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name}: expected integer class indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if n and (arr.min() < 0 or arr.max() >= n_classes):
        bad = arr.min() if arr.min() < 0 else arr.max()
        raise ValueError(f"{name}: expected class indices in [0, {n_classes - 1}], got {bad}")
    return arr


def _real_scalar(value, name: str) -> float:
    """float(value) for a real number (bool, str, complex, arrays and None are rejected by name)."""
    if isinstance(value, (bool, np.bool_)) or isinstance(value, (str, bytes, complex, np.complexfloating)):
        raise ValueError(f"{name}: expected a real number, got {type(value).__name__} {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a real number, got {type(value).__name__} {value!r}") from None


def check_positive(value, name: str, *, allow_zero=False) -> float:
    v = _real_scalar(value, name)
    if not math.isfinite(v) or (v < 0 if allow_zero else v <= 0):
        rel = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}: expected a finite number {rel}, got {value!r}")
    return v


def check_finite(value, name: str) -> float:
    v = _real_scalar(value, name)
    if not math.isfinite(v):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return v


def check_unit_interval(value, name: str, *, closed_right=False) -> float:
    v = _real_scalar(value, name)
    ok = 0.0 <= v <= 1.0 if closed_right else 0.0 <= v < 1.0
    if not ok:
        interval = "[0, 1]" if closed_right else "[0, 1)"
        raise ValueError(f"{name}: expected a number in {interval}, got {value!r}")
    return v


def check_all_finite(arr: np.ndarray, name: str, what: str = "") -> None:
    """ValueError if ``arr`` (a real array) holds NaN or ±inf (always, also between layers)."""
    if not np.isfinite(arr).all():
        bad = "NaN" if np.isnan(arr).any() else "inf"
        raise ValueError(f"{name}: expected finite values, got {bad}{what}")


def check_bool(value, name: str) -> bool:
    """``bool(value)`` for ``True``/``False`` (or NumPy bools); ints, strings, None rejected."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}: expected a bool (True or False), got {type(value).__name__} {value!r}")
    return bool(value)


def check_callable(value, name: str, what: str = "a callable"):
    if not callable(value):
        raise ValueError(f"{name}: expected {what}, got {type(value).__name__} {value!r}")
    return value


def check_choice(value, name: str, choices):
    """``value`` if it is one of the strings ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {value!r}")
    return value


def check_model(model, name: str = "model"):
    """A dlcore layer or model: something with ``forward``, ``backward`` and a ``params`` dict
    (checked by duck typing, so a reader's own layer class passes)."""
    if not (callable(getattr(model, "forward", None)) and callable(getattr(model, "backward", None))
            and isinstance(getattr(model, "params", None), dict)):
        raise ValueError(f"{name}: expected a dlcore Layer (forward, backward, params), "
                         f"got {type(model).__name__}")
    return model


def as_generator(rng, name: str = "rng") -> np.random.Generator:
    """A ``numpy.random.Generator`` from ``None`` (fresh entropy), a non-negative int seed or a
    Generator (returned as is, so a caller's stream continues)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_))
                       and rng >= 0):
        return np.random.default_rng(rng)
    raise ValueError(f"{name}: expected None, a non-negative int seed or a numpy Generator, "
                     f"got {type(rng).__name__} {rng!r}")


def check_generator(rng, name: str = "rng") -> np.random.Generator:
    """``rng`` if it is a ``numpy.random.Generator`` (for functions that continue a caller's
    stream and take no seed)."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"{name}: expected a numpy.random.Generator, got {type(rng).__name__} {rng!r}")
    return rng


def check_int(value, name: str, *, min_value=None) -> int:
    """``int(value)`` for an integer (Python or NumPy int; bool, float, str and None are
    rejected by name), at least ``min_value`` when given."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name}: expected an integer, got {type(value).__name__} {value!r}")
    v = int(value)
    if min_value is not None and v < min_value:
        raise ValueError(f"{name}: expected an integer >= {min_value}, got {v}")
    return v
