"""Shared fixtures and helpers for the dlcore unit tests.

Every test runs under ``np.errstate(over/divide/invalid="raise")``: dlcore must not
overflow, divide by zero or produce NaN anywhere unless it wraps the operation in a
local ``np.errstate`` (as ``binary_cross_entropy`` does for ``log(0)``).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch



@pytest.fixture(autouse=True)
def _fp_errors_raise():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def to_torch(x, requires_grad=False):
    """A float64 torch tensor copy of ``x`` (never shares memory with the NumPy array)."""
    t = torch.tensor(np.asarray(x, dtype=np.float64), dtype=torch.float64)
    return t.requires_grad_(requires_grad)


def to_numpy(t):
    return t.detach().cpu().numpy().astype(np.float64)


def torch_linear_from(layer):
    """A torch.nn.Linear holding a copy of a dlcore Linear's parameters (weight = W.T)."""
    W = layer.params["W"]
    has_bias = "b" in layer.params
    lin = torch.nn.Linear(W.shape[0], W.shape[1], bias=has_bias, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(to_torch(W.T))
        if has_bias:
            lin.bias.copy_(to_torch(layer.params["b"]))
    return lin


def torch_grad(fn, *arrays, grad_output=None):
    """Values and input gradients of ``fn`` by torch autograd.

    ``fn`` maps float64 tensors to a tensor ``out``; the gradients are those of
    ``sum(out * grad_output)`` (``grad_output`` defaults to ones).
    """
    ts = [to_torch(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    go = torch.ones_like(out) if grad_output is None else to_torch(grad_output)
    grads = torch.autograd.grad(out, ts, grad_outputs=go, allow_unused=True)
    grads = [None if g is None else to_numpy(g) for g in grads]
    return to_numpy(out), grads
