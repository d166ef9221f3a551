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
