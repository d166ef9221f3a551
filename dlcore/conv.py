"""Convolution and pooling on NCHW arrays, by im2col: ``conv_output_size``, ``im2col``,
``col2im`` and the layers ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``Flatten``.

The topic module the book imports (``dlcore.conv.Conv2d``). The code and its derivation live
in ``dlcore/layers/convolution.py``; this module only re-exports them, so
``dlcore.conv.Conv2d is dlcore.layers.Conv2d``.
"""
from __future__ import annotations

from .layers.convolution import (conv_output_size, im2col, col2im, Conv2d, MaxPool2d, AvgPool2d,
                                 Flatten)

# Importable from ``dlcore.conv`` in version 0.1 (kept so that old imports work; not in __all__).
from ._validate import as_float_array  # noqa: F401
from .layers.base import Layer  # noqa: F401

__all__ = ["conv_output_size", "im2col", "col2im", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten"]
