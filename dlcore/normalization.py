"""Normalization: ``BatchNorm1d``, ``LayerNorm``, ``RMSNorm``, ``group_norm``, and the skip
connection ``Residual``.

The topic module the book imports (``dlcore.normalization.BatchNorm1d``). The code and the
derivations live in ``dlcore/layers/normalization.py`` (``Residual`` in
``dlcore/layers/residual.py``); this module only re-exports them, so
``dlcore.normalization.LayerNorm is dlcore.layers.LayerNorm``. A new normalization layer is
written in ``dlcore/layers/normalization.py`` and imported here and in
``dlcore/layers/__init__.py``, as ``RMSNorm`` is.
"""
from __future__ import annotations

from .layers.normalization import BatchNorm1d, LayerNorm, RMSNorm, group_norm
from .layers.residual import Residual

# Importable from ``dlcore.normalization`` in version 0.1 (kept so that old imports work; not in
# __all__).
from ._validate import as_float_array, check_positive  # noqa: F401
from .layers.base import Layer  # noqa: F401

__all__ = ["BatchNorm1d", "LayerNorm", "RMSNorm", "Residual", "group_norm"]
