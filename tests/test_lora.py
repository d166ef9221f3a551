"""dlcore.lora: LoRALinear forward and backward against torch autograd (float64), merging,
initialization, the parameter count; bad inputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcore import layers, optim
from dlcore.lora import LoRALinear, full_parameter_count, lora_parameter_count

from conftest import to_numpy, to_torch


def torch_lora(layer, x):
    """The PEFT formula in torch: base(x) + scale * lora_B(lora_A(x))."""
    W = to_torch(layer.weight.T)                       # torch layout (out, in)
    A = to_torch(layer.params["A"], True)
    B = to_torch(layer.params["B"], True)
    xt = to_torch(x, True)
    out = xt @ W.T + layer.scale * (xt @ A.T) @ B.T
    if layer.bias is not None:
        out = out + to_torch(layer.bias)
    return out, xt, A, B


@pytest.mark.parametrize("shape, r, alpha, bias", [((7, 5, 3), 2, 16.0, True),
                                                   ((4, 6, 6), 1, None, False),
                                                   ((9, 3, 8), 4, 4.0, True)])
def test_forward_backward_match_torch(rng, shape, r, alpha, bias):
    n, fin, fout = shape
    W = rng.standard_normal((fin, fout))
    b = rng.standard_normal(fout) if bias else None
    layer = LoRALinear(W, b, r=r, alpha=alpha, rng=0)
    layer.params["B"][:] = rng.standard_normal((fout, r))          # leave the B = 0 start
    x = rng.standard_normal((n, fin))
    dout = rng.standard_normal((n, fout))
    out = layer.forward(x)
    dx = layer.backward(dout)
    ref, xt, A, B = torch_lora(layer, x)
    ref.backward(to_torch(dout))
    np.testing.assert_allclose(out, to_numpy(ref), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dx, to_numpy(xt.grad), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(layer.grads["A"], to_numpy(A.grad), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(layer.grads["B"], to_numpy(B.grad), rtol=1e-11, atol=1e-13)
    assert set(layer.grads) == {"A", "B"} == set(layer.params)
    assert layer.backward(dout, need_input_grad=False) is None


def test_merged_linear_gives_the_same_outputs(rng):
    W, b = rng.standard_normal((6, 4)), rng.standard_normal(4)
    layer = LoRALinear(W, b, r=3, alpha=6.0, rng=1)
    layer.params["B"][:] = rng.standard_normal((4, 3))
    x = rng.standard_normal((10, 6))
    plain = layers.Linear(6, 4, rng=0)
    plain.params["W"][:] = layer.merged_weight()
    plain.params["b"][:] = b
    np.testing.assert_allclose(plain.forward(x), layer.forward(x), rtol=1e-12, atol=1e-13)
    assert np.linalg.matrix_rank(layer.delta_weight()) == 3
    np.testing.assert_allclose(layer.delta_weight(), 2.0 * (layer.params["B"] @ layer.params["A"]).T)


def test_initialization_b_zero_and_a_like_peft():
    W = np.eye(5)
    layer = LoRALinear(W, r=4, rng=0)
    assert np.all(layer.params["B"] == 0) and np.all(layer.delta_weight() == 0)
    assert np.abs(layer.params["A"]).max() <= 1 / np.sqrt(5)
    x = np.random.default_rng(0).standard_normal((3, 5))
    np.testing.assert_array_equal(layer.forward(x), x @ W)           # starts as the base layer
    layer.backward(np.ones((3, 5)))
    assert np.all(layer.grads["A"] == 0) and np.any(layer.grads["B"] != 0)
    W[0, 0] = 7.0                                                     # the base is a copy
    assert layer.weight[0, 0] == 1.0
    wrapped = LoRALinear.from_linear(layers.Linear(5, 2, rng=0), r=2)
    assert wrapped.bias is not None and wrapped.weight.shape == (5, 2)


def test_optimizer_updates_only_the_adapter(rng):
    layer = LoRALinear(rng.standard_normal((4, 3)), rng.standard_normal(3), r=2, rng=0)
    W0, b0 = layer.weight.copy(), layer.bias.copy()
    opt = optim.Adam(lr=0.1)
    x, y = rng.standard_normal((8, 4)), rng.standard_normal((8, 3))
    for _ in range(3):
        out = layer.forward(x)
        layer.backward(2 * (out - y) / out.size)
        opt.step(layer.params, layer.grads)
    assert np.array_equal(layer.weight, W0) and np.array_equal(layer.bias, b0)
    assert np.any(layer.params["B"] != 0) and np.any(layer.params["A"] != 0)


def test_parameter_counts():
    assert lora_parameter_count(4096, 4096, 8) == 65_536
    assert full_parameter_count(4096, 4096) == 16_777_216
    assert full_parameter_count(3, 2, bias=True) == 8
    layer = LoRALinear(np.zeros((12, 5)), r=3)
    assert sum(p.size for p in layer.params.values()) == lora_parameter_count(12, 5, 3)


@pytest.mark.parametrize("call, msg", [
    (lambda: LoRALinear(np.zeros(3)), "W: expected a 2-D array"),
    (lambda: LoRALinear(np.zeros((3, 2)), r=0), "r: expected an integer >= 1"),
    (lambda: LoRALinear(np.zeros((3, 2)), r=2.5), "r: expected an integer"),
    (lambda: LoRALinear(np.zeros((3, 2)), alpha=-1), "alpha: expected a finite number > 0"),
    (lambda: LoRALinear(np.zeros((3, 2)), b=np.zeros(3)), r"b: expected shape \(2,\)"),
    (lambda: LoRALinear(np.zeros((3, 2))).forward(np.zeros((1, 2))), r"x: expected shape \(N, 3\)"),
    (lambda: LoRALinear(np.zeros((3, 2))).backward(np.zeros((1, 2))), "call forward first"),
    (lambda: LoRALinear.from_linear("linear"), "linear: expected a dlcore Linear"),
    (lambda: lora_parameter_count(0, 3, 1), "in_features: expected an integer >= 1"),
])
def test_bad_inputs(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()
