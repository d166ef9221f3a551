"""Reproducibility and printing helpers used by every notebook."""
from __future__ import annotations

import random
import sys

import numpy as np

from ._validate import as_float_array

__all__ = ["seed", "table", "fmt", "to_torch"]


def seed(s: int = 0) -> np.random.Generator:
    """Seed Python, NumPy (and PyTorch if it has been imported), fix print precision, and
    return a fresh ``numpy.random.Generator`` seeded with ``s``.

    Printing is rounded (``precision=6``, no scientific surprises for small arrays) so
    stored notebook outputs do not depend on the last bits of a float. PyTorch is seeded only
    when it is already in ``sys.modules`` (import it before calling ``seed``): seeding never
    imports it, so a page that does not use PyTorch does not pay its ~250 MB.
    """
    if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
        raise ValueError(f"s: expected a non-negative integer seed, got {s!r}")
    random.seed(s)
    np.random.seed(s)
    np.set_printoptions(precision=6, suppress=True, linewidth=100)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(s)
        torch.set_printoptions(precision=6, sci_mode=False, linewidth=100)
    return np.random.default_rng(s)


def fmt(v, digits=6) -> str:
    """A number rounded for printing: fixed-point when moderate, scientific when tiny or huge."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, str):
        return v
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
    rows = [list(row) for row in rows]
    for i, row in enumerate(rows):
        if len(row) != len(headers):
            raise ValueError(f"rows[{i}]: expected {len(headers)} values (one per header), got {len(row)}")
    cells = [[str(h) for h in headers]] + [[fmt(v, digits) for v in row] for row in rows]
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
    return torch.tensor(arr, dtype=torch.float64, requires_grad=bool(grad))
