"""dlcore.conv: Conv2d, MaxPool2d, AvgPool2d, Flatten and im2col against PyTorch (float64)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from dlcore import conv
from dlcore.gradcheck import check_layer

TOL = dict(rtol=1e-10, atol=1e-12)  # float64; sums of <= a few hundred products


def _t(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


@pytest.mark.parametrize("size,k,s,p,d", [(32, 3, 1, 1, 1), (32, 5, 2, 2, 1), (7, 3, 2, 0, 1),
                                          (28, 3, 1, 0, 2), (9, 4, 3, 1, 1), (1, 1, 1, 0, 1)])
def test_output_size_formula_matches_torch(size, k, s, p, d):
    x = torch.zeros(1, 1, size, size, dtype=torch.float64)
    w = torch.zeros(1, 1, k, k, dtype=torch.float64)
    assert TF.conv2d(x, w, stride=s, padding=p, dilation=d).shape[-1] == \
        conv.conv_output_size(size, k, s, p, d)


@pytest.mark.parametrize("cin,cout,k,s,p,hw", [(3, 4, 3, 1, 1, (8, 8)), (2, 5, 3, 2, 0, (9, 7)),
                                               (1, 2, (2, 3), (2, 1), (1, 0), (6, 5)),
                                               (4, 1, 1, 1, 0, (3, 3))])
def test_conv2d_forward_backward_matches_torch(cin, cout, k, s, p, hw):
    rng = np.random.default_rng(0)
    layer = conv.Conv2d(cin, cout, k, stride=s, padding=p, rng=1)
    x = rng.normal(size=(2, cin, *hw))
    out = layer.forward(x)
    xt, Wt, bt = _t(x, True), _t(layer.params["W"], True), _t(layer.params["b"], True)
    ref = TF.conv2d(xt, Wt, bt, stride=s, padding=p)
    np.testing.assert_allclose(out, ref.detach().numpy(), **TOL)
    dout = rng.normal(size=out.shape)
    dx = layer.backward(dout)
    ref.backward(_t(dout))
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(layer.grads["W"], Wt.grad.numpy(), **TOL)
    np.testing.assert_allclose(layer.grads["b"], bt.grad.numpy(), **TOL)


def test_conv2d_init_and_shapes_like_torch():
    layer = conv.Conv2d(3, 8, 5, rng=0)
    ref = torch.nn.Conv2d(3, 8, 5)
    assert layer.params["W"].shape == tuple(ref.weight.shape)
    assert layer.params["b"].shape == tuple(ref.bias.shape)
    bound = 1 / np.sqrt(3 * 5 * 5)
    assert np.abs(layer.params["W"]).max() <= bound and np.abs(layer.params["b"]).max() <= bound


def test_conv2d_gradcheck():
    layer = conv.Conv2d(2, 3, 3, stride=2, padding=1, rng=0)
    x = np.random.default_rng(1).normal(size=(2, 2, 5, 5))
    errs = check_layer(layer, x)
    assert max(errs.values()) < 1e-8, errs


def test_im2col_col2im_adjoint():
    """<im2col(x), c> == <x, col2im(c)>: col2im is the transpose of im2col."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 7, 6))
    cols = conv.im2col(x, 3, stride=2, padding=1)
    c = rng.normal(size=cols.shape)
    lhs = float(np.sum(cols * c))
    rhs = float(np.sum(x * conv.col2im(c, x.shape, 3, stride=2, padding=1)))
    assert abs(lhs - rhs) < 1e-10 * abs(lhs)


@pytest.mark.parametrize("cls,tfn", [(conv.MaxPool2d, TF.max_pool2d), (conv.AvgPool2d, TF.avg_pool2d)])
@pytest.mark.parametrize("k,s,hw", [(2, None, (8, 8)), (3, 2, (7, 9)), (3, 1, (5, 5)), ((2, 3), (1, 2), (6, 7))])
def test_pooling_matches_torch(cls, tfn, k, s, hw):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, *hw))
    layer = cls(k, stride=s)
    out = layer.forward(x)
    xt = _t(x, True)
    ref = tfn(xt, k, stride=s)
    np.testing.assert_allclose(out, ref.detach().numpy(), **TOL)
    dout = rng.normal(size=out.shape)
    ref.backward(_t(dout))
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), **TOL)


def test_maxpool_ties_go_to_first_max_like_torch():
    x = np.zeros((1, 1, 4, 4))
    layer = conv.MaxPool2d(2)
    layer.forward(x)
    dx = layer.backward(np.ones((1, 1, 2, 2)))
    xt = _t(x, True)
    TF.max_pool2d(xt, 2).sum().backward()
    np.testing.assert_array_equal(dx, xt.grad.numpy())


def test_flatten_roundtrip():
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    f = conv.Flatten()
    out = f.forward(x)
    np.testing.assert_array_equal(out, torch.nn.Flatten()(_t(x)).numpy())
    np.testing.assert_array_equal(f.backward(np.ones_like(out)), np.ones_like(x))


@pytest.mark.parametrize("call,match", [
    (lambda: conv.Conv2d(0, 1, 3), "in_channels"),
    (lambda: conv.Conv2d(1, 1, 0), "kernel_size"),
    (lambda: conv.Conv2d(1, 1, 3, stride=0), "stride"),
    (lambda: conv.Conv2d(1, 1, 3, padding=-1), "padding"),
    (lambda: conv.Conv2d(2, 1, 3).forward(np.zeros((1, 3, 5, 5))), "x"),
    (lambda: conv.Conv2d(1, 1, 3).forward(np.zeros((1, 5, 5))), "x"),
    (lambda: conv.Conv2d(1, 1, 7).forward(np.zeros((1, 1, 5, 5))), "kernel_size"),
    (lambda: conv.MaxPool2d(2).backward(np.zeros((1, 1, 1, 1))), "forward first"),
    (lambda: conv.conv_output_size(5, 3, stride=0), "stride"),
    (lambda: conv.col2im(np.zeros((3, 3)), (1, 1, 3, 3), 3), "cols"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
