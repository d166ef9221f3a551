"""Reproducibility and printing helpers used by every notebook."""
from __future__ import annotations

import numbers
import random
import sys

import numpy as np

from ._validate import as_float_array, check_bool, check_int

__all__ = ["seed", "table", "fmt", "to_torch"]


def seed(s: int = 0) -> np.random.Generator:
    """Seed Python, NumPy (and PyTorch if it has been imported), fix print precision, and
    return a fresh ``numpy.random.Generator`` seeded with ``s``.

    Printing is rounded (``precision=6``, no scientific surprises for small arrays) so
    stored notebook outputs do not depend on the last bits of a float. PyTorch is seeded only
    when it is already in ``sys.modules`` (import it before calling ``seed``): seeding never
    imports it, so a page that does not use PyTorch does not pay its ~250 MB.
    """
    s = check_int(s, "s", min_value=0)          # a NumPy integer becomes a Python int
    random.seed(s)
    np.random.seed(s)
    np.set_printoptions(precision=6, suppress=True, linewidth=100)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(s)
        torch.set_printoptions(precision=6, sci_mode=False, linewidth=100)
    return np.random.default_rng(s)


def fmt(v, digits=6) -> str:
    """A number rounded for printing: fixed-point when moderate, scientific when tiny or huge.
    Strings are returned as they are; bools and integers exactly."""
    return _fmt(v, check_int(digits, "digits", min_value=0), "v")


def _fmt(v, digits, name):
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, str):
        return v
    if not (isinstance(v, numbers.Real) or (isinstance(v, np.ndarray) and v.shape == ()
                                           and np.issubdtype(v.dtype, np.floating))):
        raise ValueError(f"{name}: expected a number or a string, got {type(v).__name__} {v!r}")
    v = float(v)
    if v == 0:
        return "0"
    if not np.isfinite(v):
        return str(v)
    if 1e-4 <= abs(v) < 1e6:
        return f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return f"{v:.{max(digits - 3, 2)}e}"


def table(rows, headers, digits=6) -> str:
    """Render rows (sequences of numbers or strings) as an aligned plain-text table.

    Floats are rounded with ``fmt`` so the table is stable across machines; the
    notebooks print it, which keeps it readable on the website and checkable by nbval.
    """
    if not isinstance(headers, (list, tuple)) or not headers:
        raise ValueError(f"headers: expected a non-empty list of column names, got {headers!r}")
    if not isinstance(rows, (list, tuple, np.ndarray)) or isinstance(rows, np.ndarray) and rows.ndim != 2:
        raise ValueError(f"rows: expected a list of rows (or a 2-D array), got {type(rows).__name__}")
    for i, row in enumerate(rows):
        if not isinstance(row, (list, tuple, np.ndarray)):
            raise ValueError(f"rows[{i}]: expected a sequence of values, got {type(row).__name__}")
    rows = [list(row) for row in rows]
    for i, row in enumerate(rows):
        if len(row) != len(headers):
            raise ValueError(f"rows[{i}]: expected {len(headers)} values (one per header), got {len(row)}")
    digits = check_int(digits, "digits", min_value=0)
    cells = [[str(h) for h in headers]] + [[_fmt(v, digits, f"rows[{i}][{j}]") for j, v in enumerate(row)]
                                           for i, row in enumerate(rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def to_torch(a, grad=False):
    """A float64 ``torch.Tensor`` from an array or number, tracking gradients if ``grad``.

    For comparing dlcore with PyTorch in the notebooks and tests. PyTorch is imported
    here, not at module level: dlcore itself needs only NumPy. The dtype is passed
    explicitly, so torch's global default (float32) is never changed.
    """
    import torch

    arr = as_float_array(a, "a", allow_nonfinite=True)   # rejects complex, object, strings
    return torch.tensor(arr, dtype=torch.float64, requires_grad=check_bool(grad, "grad"))
