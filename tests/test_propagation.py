"""dlcore.propagation: deep stacks and their per-layer gradient norms, against torch autograd."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcore import layers as L, propagation as P
from dlcore.normalization import BatchNorm1d


def torch_twin(net):
    """The same Sequential of Linear / activation layers in torch, float64."""
    acts = {L.Sigmoid: torch.sigmoid, L.Tanh: torch.tanh, L.ReLU: torch.relu}
    ops, weights = [], []
    for m in net.layers:
        if isinstance(m, L.Linear):
            W = torch.tensor(m.params["W"], requires_grad=True)
            b = torch.tensor(m.params["b"])
            weights.append(W)
            ops.append(("lin", W, b))
        else:
            ops.append(("act", acts[type(m)], None))
    return ops, weights


@pytest.mark.parametrize("act,init", [("sigmoid", "xavier_normal"), ("tanh", None),
                                      ("relu", "he_normal")])
def test_norms_match_torch_autograd(act, init):
    g = np.random.default_rng(0)
    net = P.deep_mlp(act, 6, 9, init=init, rng=1, n_in=4)
    x, dout = g.standard_normal((7, 4)), g.standard_normal((7, 9))
    ours = P.error_signal_norms(net, x, dout)
    ops, weights = torch_twin(net)
    h, pre = torch.tensor(x), []
    for kind, a, b in ops:
        if kind == "lin":
            h = h @ a + b
            h.retain_grad()
            pre.append(h)
        else:
            h = a(h)
    h.backward(torch.tensor(dout))
    theirs = np.array([z.grad.norm().item() for z in pre])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_allclose(P.weight_grad_norms(net),
                               [W.grad.norm().item() for W in weights], rtol=1e-12)


def test_deep_mlp_structure_and_init():
    net = P.deep_mlp("tanh", 3, 5, init=P.normal_init(0.5), rng=0, n_in=2)
    assert len(net) == 6 and [type(m) for m in net.layers[1::2]] == [L.Tanh] * 3
    assert net.layers[0].params["W"].shape == (2, 5) and net.layers[2].params["W"].shape == (5, 5)
    W = P.deep_mlp("relu", 1, 400, init=P.normal_init(0.5), rng=0).layers[0].params["W"]
    assert abs(W.std() / 0.5 - 1) < 0.01                        # N(0, 0.25), 160 000 draws
    same = P.deep_mlp("relu", 2, 4, rng=3).params
    again = P.deep_mlp("relu", 2, 4, rng=3).params
    assert all(np.array_equal(same[k], again[k]) for k in same)


def test_block_mlp():
    net = P.block_mlp(8, 3, depth=2, width=6, block="bn_relu", rng=0)
    assert [type(m).__name__ for m in net.layers] == ["Linear", "BatchNorm1d", "ReLU"] * 2 + ["Linear"]
    assert [type(m).__name__ for m in P.block_mlp(8, 3, 1, 6, "relu_bn").layers] == [
        "Linear", "ReLU", "BatchNorm1d", "Linear"]
    assert not any(isinstance(m, BatchNorm1d) for m in P.block_mlp(8, 3, 3, 6, "relu").layers)
    out = net.forward(np.random.default_rng(1).standard_normal((5, 8)))
    assert out.shape == (5, 3)


@pytest.mark.parametrize("call,match", [
    (lambda: P.deep_mlp("softplus", 2, 3), "activation"),
    (lambda: P.deep_mlp("relu", 0, 3), "depth"),
    (lambda: P.deep_mlp("relu", 2, 3, rng=-1), "rng"),
    (lambda: P.normal_init(0.0), "std"),
    (lambda: P.block_mlp(4, 2, block="bn"), "block"),
    (lambda: P.error_signal_norms(L.Linear(2, 2), np.ones((1, 2)), np.ones((1, 2))), "net"),
    (lambda: P.error_signal_norms(P.deep_mlp("relu", 1, 2), np.ones((1, 2)), np.ones((1, 3))), "dout"),
    (lambda: P.weight_grad_norms(P.deep_mlp("relu", 1, 2)), "backward"),
])
def test_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def torch_block_twin(net):
    """The same block_mlp (Linear / BatchNorm1d / ReLU) as torch modules, float64,
    BN in training mode; returns the Sequential and its modules in order."""
    mods = []
    for m in net.layers:
        if isinstance(m, L.Linear):
            lin = torch.nn.Linear(*m.params["W"].shape, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.tensor(m.params["W"].T))
                lin.bias.copy_(torch.tensor(m.params["b"]))
            mods.append(lin)
        elif isinstance(m, BatchNorm1d):
            bn = torch.nn.BatchNorm1d(m.num_features, eps=m.eps, dtype=torch.float64)
            with torch.no_grad():
                bn.weight.copy_(torch.tensor(m.params["gamma"]))
                bn.bias.copy_(torch.tensor(m.params["beta"]))
            mods.append(bn.train())
        else:
            mods.append(torch.nn.ReLU())
    return torch.nn.Sequential(*mods), mods


@pytest.mark.parametrize("block", ["bn_relu", "relu_bn", "relu"])
def test_block_mlp_and_its_norms_match_torch(block):
    """block_mlp's forward, every parameter gradient and error_signal_norms (which then
    includes BN's input) against torch autograd, BN in training mode with random gamma, beta."""
    g = np.random.default_rng(5)
    net = P.block_mlp(6, 3, depth=3, width=5, block=block, rng=2)
    for m in net.layers:
        if isinstance(m, BatchNorm1d):
            m.params["gamma"][...] = g.uniform(0.5, 2.0, 5)
            m.params["beta"][...] = g.standard_normal(5)
    x, dout = 2.0 * g.standard_normal((9, 6)) + 1.0, g.standard_normal((9, 3))
    ours = P.error_signal_norms(net, x, dout)
    out_ours = net.layers[-1].cache["out"]
    seq, mods = torch_block_twin(net)
    h, inputs = torch.tensor(x), []
    for mod in mods:
        if not isinstance(mod, torch.nn.Linear):      # dL/d(input) of every non-Linear layer
            h.retain_grad()
            inputs.append(h)
        h = mod(h)
    h.backward(torch.tensor(dout))
    np.testing.assert_allclose(out_ours, h.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours, [t.grad.norm().item() for t in inputs], rtol=1e-10)
    theirs = {}
    for i, mod in enumerate(mods):
        if isinstance(mod, torch.nn.Linear):
            theirs[f"{i}.W"], theirs[f"{i}.b"] = mod.weight.grad.T, mod.bias.grad
        elif isinstance(mod, torch.nn.BatchNorm1d):
            theirs[f"{i}.gamma"], theirs[f"{i}.beta"] = mod.weight.grad, mod.bias.grad
    assert set(theirs) == set(net.grads)
    for k, v in theirs.items():
        np.testing.assert_allclose(net.grads[k], v.numpy(), rtol=1e-9, atol=1e-12, err_msg=k)


def test_block_mlp_initialization():
    """Default: PyTorch's nn.Linear init, U(+-1/sqrt(fan_in)) for W and b (variance
    1/(3 fan_in)); a named scheme is passed on to every Linear, with zero biases."""
    net = P.block_mlp(400, 10, depth=2, width=300, block="relu", rng=0)
    W1, b1 = net.params["0.W"], net.params["0.b"]
    assert np.abs(W1).max() <= 1 / np.sqrt(400) and np.abs(b1).max() <= 1 / np.sqrt(400)
    assert abs(W1.var() * 3 * 400 - 1) < 0.02                   # 120 000 draws
    assert np.abs(net.params["2.W"]).max() <= 1 / np.sqrt(300)
    he = P.block_mlp(400, 10, depth=2, width=300, block="bn_relu", rng=0, init="he_normal")
    lins = [k for k in he.params if k.endswith(".W")]
    assert len(lins) == 3
    assert abs(he.params["0.W"].var() * 400 / 2 - 1) < 0.02     # He: Var = 2 / fan_in
    assert abs(he.params["3.W"].var() * 300 / 2 - 1) < 0.03
    assert all(not he.params[k.replace(".W", ".b")].any() for k in lins)
