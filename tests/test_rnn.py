"""dlcore.rnn: RNN/LSTM/GRU cells and BPTT against torch.nn cells and autograd (float64)."""
import numpy as np
import pytest
import torch

from dlcore import rnn

TOL = dict(rtol=1e-10, atol=1e-12)
N, I, H = 3, 4, 5


def _torch_cell(cell):
    cls = {rnn.RNNCell: torch.nn.RNNCell, rnn.LSTMCell: torch.nn.LSTMCell,
           rnn.GRUCell: torch.nn.GRUCell}[type(cell)]
    ref = cls(cell.input_size, cell.hidden_size).double()
    with torch.no_grad():
        for name, p in ref.named_parameters():
            assert tuple(p.shape) == cell.params[name].shape, name
            p.copy_(torch.from_numpy(cell.params[name]))
    return ref


@pytest.mark.parametrize("cls", [rnn.RNNCell, rnn.GRUCell])
def test_cell_matches_torch(cls):
    rng = np.random.default_rng(0)
    cell = cls(I, H, rng=1)
    ref = _torch_cell(cell)
    x, h = rng.normal(size=(N, I)), rng.normal(size=(N, H))
    out = cell.forward(x, h)
    xt = torch.tensor(x, requires_grad=True)
    ht = torch.tensor(h, requires_grad=True)
    rt = ref(xt, ht)
    np.testing.assert_allclose(out, rt.detach().numpy(), **TOL)
    dout = rng.normal(size=out.shape)
    dx, dh = cell.backward(dout)
    rt.backward(torch.tensor(dout))
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(dh, ht.grad.numpy(), **TOL)
    for name, p in ref.named_parameters():
        np.testing.assert_allclose(cell.grads[name], p.grad.numpy(), **TOL, err_msg=name)


def test_lstm_cell_matches_torch():
    rng = np.random.default_rng(0)
    cell = rnn.LSTMCell(I, H, rng=1)
    ref = _torch_cell(cell)
    x, h, c = rng.normal(size=(N, I)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    h1, c1 = cell.forward(x, (h, c))
    xt, ht, ct = (torch.tensor(a, requires_grad=True) for a in (x, h, c))
    rh, rc = ref(xt, (ht, ct))
    np.testing.assert_allclose(h1, rh.detach().numpy(), **TOL)
    np.testing.assert_allclose(c1, rc.detach().numpy(), **TOL)
    dh1, dc1 = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    dx, (dh, dc) = cell.backward((dh1, dc1))
    torch.autograd.backward([rh, rc], [torch.tensor(dh1), torch.tensor(dc1)])
    for mine, t in [(dx, xt), (dh, ht), (dc, ct)]:
        np.testing.assert_allclose(mine, t.grad.numpy(), **TOL)
    for name, p in ref.named_parameters():
        np.testing.assert_allclose(cell.grads[name], p.grad.numpy(), **TOL, err_msg=name)


def test_parameter_counts_match_torch():
    for cls, tcls in [(rnn.RNNCell, torch.nn.RNNCell), (rnn.LSTMCell, torch.nn.LSTMCell),
                      (rnn.GRUCell, torch.nn.GRUCell)]:
        mine = sum(p.size for p in cls(10, 20, rng=0).params.values())
        assert mine == sum(p.numel() for p in tcls(10, 20).parameters())
    assert sum(p.size for p in rnn.LSTMCell(10, 20).params.values()) == 4 * (20 * (10 + 20) + 2 * 20)


def test_default_state_is_zero():
    cell = rnn.LSTMCell(I, H, rng=0)
    x = np.ones((2, I))
    h1, c1 = cell.forward(x)
    h2, c2 = cell.forward(x, (np.zeros((2, H)), np.zeros((2, H))))
    np.testing.assert_array_equal(h1, h2)


def test_bptt_matches_torch_rnn():
    rng = np.random.default_rng(0)
    T = 12
    net = rnn.RNN(I, H, rng=2)
    ref = torch.nn.RNN(I, H).double()
    with torch.no_grad():
        for name in net.params:
            getattr(ref, name + "_l0").copy_(torch.from_numpy(net.params[name]))
    xs, h0 = rng.normal(size=(T, N, I)), rng.normal(size=(N, H))
    hs = net.forward(xs, h0)
    xt, h0t = torch.tensor(xs, requires_grad=True), torch.tensor(h0[None], requires_grad=True)
    out, _ = ref(xt, h0t)
    np.testing.assert_allclose(hs, out.detach().numpy(), **TOL)
    dhs = rng.normal(size=hs.shape)
    dxs, dh0 = net.backward(dhs)
    out.backward(torch.tensor(dhs))
    np.testing.assert_allclose(dxs, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(dh0, h0t.grad.numpy()[0], **TOL)
    for name in net.params:
        np.testing.assert_allclose(net.grads[name], getattr(ref, name + "_l0").grad.numpy(), **TOL)
    # a second backward gives the same gradients (zeroed, not accumulated twice)
    net.backward(dhs)
    for name in net.params:
        np.testing.assert_allclose(net.grads[name], getattr(ref, name + "_l0").grad.numpy(), **TOL)


def test_step_grad_norms_loss_on_last_step():
    rng = np.random.default_rng(0)
    net = rnn.RNN(I, H, rng=0)
    hs = net.forward(rng.normal(size=(30, 1, I)))
    d = np.zeros_like(hs)
    d[-1] = 1.0
    net.backward(d)
    assert net.step_grad_norms.shape == (30,)
    assert net.step_grad_norms[-1] == pytest.approx(np.sqrt(H))
    assert net.step_grad_norms[0] < net.step_grad_norms[-1]


@pytest.mark.parametrize("call,match", [
    (lambda: rnn.RNNCell(0, 3), "input_size"),
    (lambda: rnn.GRUCell(3, -1), "hidden_size"),
    (lambda: rnn.RNNCell(3, 2).forward(np.zeros((2, 4))), "x"),
    (lambda: rnn.RNNCell(3, 2).forward(np.zeros((2, 3)), np.zeros((2, 3))), "h"),
    (lambda: rnn.LSTMCell(3, 2).forward(np.zeros((2, 3)), (np.zeros((2, 2)), np.zeros((1, 2)))), "c"),
    (lambda: rnn.RNNCell(3, 2).backward(np.zeros((2, 2))), "forward first"),
    (lambda: rnn.RNN(3, 2).backward(np.zeros((1, 2, 2))), "forward first"),
    (lambda: rnn.RNN(3, 2).forward(np.zeros((2, 3))), "xs"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
