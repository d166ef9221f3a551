"""dlcore.memory: byte counts against real tensors, the ZeRO paper's numbers, and activation
checkpointing against torch.utils.checkpoint (float64)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcore import layers, memory


def test_mixed_precision_adam_is_16_bytes_per_parameter_counted_on_real_tensors():
    """The formula against the nbytes of the tensors a mixed-precision Adam step really holds:
    fp32 master weights and Adam's two moments (after one step), bf16 weights and gradients."""
    torch.manual_seed(0)
    master = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.GELU(), torch.nn.Linear(128, 10))
    n = sum(p.numel() for p in master.parameters())
    opt = torch.optim.Adam(master.parameters(), lr=1e-3)
    for p in master.parameters():
        p.grad = torch.randn_like(p)
    opt.step()
    moments = [opt.state[p][k] for p in master.parameters() for k in ("exp_avg", "exp_avg_sq")]
    low = [p.detach().to(torch.bfloat16) for p in master.parameters()]
    low_grads = [p.grad.to(torch.bfloat16) for p in master.parameters()]
    counted = {"weights": memory.nbytes(low), "gradients": memory.nbytes(low_grads),
               "master": memory.nbytes(list(master.parameters())), "optimizer": memory.nbytes(moments)}
    formula = memory.model_state_bytes(n)
    for key, value in counted.items():
        assert value == formula[key], key
    assert formula["total"] == 16 * n and formula["per_param"] == 16


def test_other_recipes():
    assert memory.model_state_bytes(10, param_bytes=4, grad_bytes=4, master_bytes=0)["per_param"] == 16
    sgd = memory.model_state_bytes(10, param_bytes=4, grad_bytes=4, master_bytes=0, optimizer_states=1)
    assert sgd["per_param"] == 12
    assert memory.inference_bytes(7e9, 2) == 14e9 and memory.inference_bytes(7e9, 0.5) == 3.5e9


def test_nbytes_counts_each_object_once_and_nests():
    a, b = np.zeros(10), np.zeros((2, 3), dtype=np.float32)
    assert memory.nbytes([a, a, {"x": b, "y": (a,)}]) == 80 + 24
    assert memory.nbytes(torch.zeros(5, dtype=torch.float16)) == 10


def test_zero_matches_the_paper_figure_1():
    """Rajbhandari et al. (2020), Figure 1: 7.5B parameters, 64 devices, K = 12:
    120 GB, 31.4 GB, 16.6 GB and 1.9 GB per device."""
    got = [memory.zero_bytes_per_device(7.5e9, 64, s) / 1e9 for s in range(4)]
    assert [round(v, 1) for v in got] == [120.0, 31.4, 16.6, 1.9]
    assert memory.zero_bytes_per_device(7.5e9, 1, 3) == memory.zero_bytes_per_device(7.5e9, 1, 0)
    assert memory.zero_communication(1e9, 2) == 2e9 and memory.zero_communication(1e9, 3) == 3e9


def _net(n_blocks, d, seed=0):
    return layers.Sequential(*[m for i in range(n_blocks)
                               for m in (layers.Linear(d, d, rng=seed + i), layers.Tanh())])


def _torch_copy(net):
    mods = []
    for layer in net.layers:
        if isinstance(layer, layers.Linear):
            lin = torch.nn.Linear(*layer.params["W"].shape, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.tensor(layer.params["W"].T))
                lin.bias.copy_(torch.tensor(layer.params["b"]))
            mods.append(lin)
        else:
            mods.append(torch.nn.Tanh())
    return torch.nn.Sequential(*mods)


@pytest.mark.parametrize("segments", [None, 1, 2, 3, 4, 8, 16])
def test_checkpointing_gives_torch_gradients_and_the_predicted_memory(segments, rng):
    n_blocks, d, B = 8, 12, 5
    net = _net(n_blocks, d)
    x, dout = rng.standard_normal((B, d)), rng.standard_normal((B, d))
    dx, stats = memory.checkpointed_backward(net, x, dout, segments)
    tnet = _torch_copy(net)
    xt = torch.tensor(x, requires_grad=True)
    if segments is None:
        out = tnet(xt)
    else:
        out = torch.utils.checkpoint.checkpoint_sequential(tnet, segments, xt, use_reentrant=False)
    out.backward(torch.tensor(dout))
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    for i in range(0, 2 * n_blocks, 2):
        np.testing.assert_allclose(net.layers[i].grads["W"], tnet[i].weight.grad.numpy().T,
                                   rtol=1e-12, atol=1e-14)
    n, A = 2 * n_blocks, B * d * 8                      # layers; bytes of one activation
    k = 1 if segments is None else segments
    s = n // k
    last = n - (k - 1) * s                              # layers in the last (kept) segment
    assert stats["peak_bytes"] == (k + last) * A        # k - 1 checkpoints + last segment
    assert stats["held_after_forward"] == (k + last) * A
    assert stats["forward_calls"] == n + (k - 1) * s     # every checkpointed layer twice


def test_checkpointing_does_not_change_gradients_bitwise(rng):
    net = _net(6, 7)
    x, dout = rng.standard_normal((3, 7)), rng.standard_normal((3, 7))
    dx0, _ = memory.checkpointed_backward(net, x, dout)
    g0 = {k: v.copy() for k, v in net.grads.items()}
    dx1, _ = memory.checkpointed_backward(net, x, dout, 3)
    assert np.array_equal(dx0, dx1) and all(np.array_equal(g0[k], net.grads[k]) for k in g0)


def test_held_bytes_counts_views_once():
    lin = layers.Linear(4, 4, rng=0)
    x = np.zeros((3, 4))
    lin.forward(x)
    assert memory.held_bytes([lin]) == 2 * x.nbytes
    assert memory.held_bytes([lin], extra=[x[:1]]) == 2 * x.nbytes


@pytest.mark.parametrize("call, msg", [
    (lambda: memory.nbytes([np.zeros(2), "a"]), r"^objects\[1\]: expected an array or tensor"),
    (lambda: memory.model_state_bytes(0), r"^n_params: expected a finite number > 0"),
    (lambda: memory.model_state_bytes(10, optimizer_states=1.5), r"^optimizer_states: expected an integer"),
    (lambda: memory.model_state_bytes(10, param_bytes=-2), r"^param_bytes: expected a finite number >= 0"),
    (lambda: memory.inference_bytes(10, 0), r"^bytes_per_param: expected a finite number > 0"),
    (lambda: memory.zero_bytes_per_device(1e9, 0, 1), r"^n_devices: expected an integer >= 1"),
    (lambda: memory.zero_bytes_per_device(1e9, 8, 4), r"^stage: expected 0, 1, 2 or 3"),
    (lambda: memory.zero_communication(1e9, "3"), r"^stage: expected an integer"),
    (lambda: memory.checkpointed_backward([], np.zeros((1, 2)), np.zeros((1, 2))), r"^layers: expected a non-empty"),
    (lambda: memory.checkpointed_backward([1], np.zeros((1, 2)), np.zeros((1, 2))), r"^layers\[0\]: expected a dlcore layer"),
    (lambda: memory.checkpointed_backward(_net(2, 3), np.zeros((1, 3)), np.zeros((1, 3)), 5),
     r"^segments: expected at most 4"),
    (lambda: memory.checkpointed_backward(_net(2, 3), np.zeros((1, 3)), np.zeros((2, 3))),
     r"^dout: expected shape \(1, 3\)"),
])
def test_bad_arguments(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()
