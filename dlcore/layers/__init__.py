"""Layers with an explicit forward and backward pass, one module per kind of layer.

Conventions (the same for every layer; see ``dlcore.layers.base``):

* inputs are batch-first float64 arrays, ``x`` of shape (N, features);
* ``forward(x, train=True)`` returns the output and keeps in ``self.cache`` what
  ``backward`` needs (a notebook can print those intermediates);
* ``backward(dout)`` takes ∂L/∂output, returns ∂L/∂x, stores ∂L/∂param in
  ``self.grads`` (overwriting, not accumulating), and never modifies ``dout``;
* ``params`` and ``grads`` are dicts of arrays keyed by name; an optimizer updates
  ``params`` in place, so the layer sees the new values.

``Linear`` stores ``W`` with shape (in_features, out_features) and computes
``y = x @ W + b``: the batch-first, "denominator layout" form in which ∂L/∂W has the
shape of W. PyTorch's ``nn.Linear.weight`` is the transpose, (out, in), with
``y = x @ weight.T + bias``.

Where each layer lives (every one is importable from ``dlcore.layers``):

* ``base``: ``Layer``, the base class;
* ``dense``: ``Linear``, ``Sequential``;
* ``activation``: ``ReLU``, ``LeakyReLU``, ``Sigmoid``, ``Tanh``, ``ELU``, ``GELU``, ``SiLU``;
* ``dropout``: ``Dropout``;
* ``residual``: ``Residual``;
* ``normalization``: ``BatchNorm1d``, ``LayerNorm``, ``RMSNorm`` (and the function
  ``group_norm``), also exported by the topic module ``dlcore.normalization``;
* ``convolution``: ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``Flatten`` (and ``im2col``,
  ``col2im``, ``conv_output_size``), also exported by the topic module ``dlcore.conv``;
* ``attention``: ``MultiheadAttention`` (and the functions ``scaled_dot_product_attention``,
  its backward, ``attention_weights``, the masks, ``split_heads``, ``merge_heads``), also
  exported by the topic module ``dlcore.attention``;
* ``lora``: ``LoRALinear`` (a frozen linear layer plus a trainable low-rank update), also
  exported by the topic module ``dlcore.lora``.

Dependencies point one way: a module of this package imports only ``dlcore.layers.base`` and
lower-level modules (``dlcore.functional``, ``dlcore._validate``, ``dlcore.init``), never
``dlcore.layers`` itself, a sibling, or a topic module such as ``dlcore.normalization``.
A new kind of layer gets its own module here, with the functions it is built on (attention:
``dlcore/layers/attention.py``), is imported below and listed in ``__all__``; a topic module
(``dlcore/attention.py``) then re-exports the functions and layers, as ``dlcore/conv.py`` does.
"""
from __future__ import annotations

from .base import Layer
from .dense import Linear, Sequential
from .activation import ReLU, LeakyReLU, Sigmoid, Tanh, ELU, GELU, SiLU
from .dropout import Dropout
from .residual import Residual
from .normalization import BatchNorm1d, LayerNorm, RMSNorm  # a new normalization layer: add it here
from .convolution import Conv2d, MaxPool2d, AvgPool2d, Flatten
from .attention import MultiheadAttention
from .lora import LoRALinear

# Importable from the single-file ``dlcore.layers`` of version 0.1 (kept so that old imports
# work; not part of ``__all__``).
from .. import functional as F  # noqa: F401
from .._validate import (as_float_array, check_finite, check_positive,  # noqa: F401
                         check_unit_interval)

__all__ = ["Layer", "Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "ELU", "Dropout",
           "Sequential", "GELU", "SiLU", "BatchNorm1d", "LayerNorm", "Residual", "Conv2d",
           "MaxPool2d", "AvgPool2d", "Flatten", "RMSNorm", "MultiheadAttention", "LoRALinear"]
