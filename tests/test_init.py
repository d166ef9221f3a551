"""dlcore.init against torch.nn.init (float64), and Linear(init=...)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

from dlcore import init, layers as L, training

SHAPES = [(1, 1), (3, 7), (64, 16), (300, 200)]


def torch_weight(fn, fan_in, fan_out, seed=0, **kw):
    """torch.nn.init applied to a torch-layout (out, in) float64 weight."""
    torch.manual_seed(seed)
    w = torch.empty(fan_out, fan_in, dtype=torch.float64)
    fn(w, **kw)
    return w


def torch_reference(kind, fan_in, fan_out, seed=0):
    """The same draw through torch's own uniform_/normal_ with the *book's* formula."""
    torch.manual_seed(seed)
    w = torch.empty(fan_out, fan_in, dtype=torch.float64)
    if kind == "xavier_uniform":
        a = np.sqrt(6.0 / (fan_in + fan_out))
        return w.uniform_(-a, a)
    if kind == "he_uniform":
        a = np.sqrt(6.0 / fan_in)
        return w.uniform_(-a, a)
    if kind == "xavier_normal":
        return w.normal_(0.0, np.sqrt(2.0 / (fan_in + fan_out)))
    return w.normal_(0.0, np.sqrt(2.0 / fan_in))


TORCH = {
    "xavier_uniform": (torch.nn.init.xavier_uniform_, {}),
    "xavier_normal": (torch.nn.init.xavier_normal_, {}),
    "he_uniform": (torch.nn.init.kaiming_uniform_, {"nonlinearity": "relu"}),
    "he_normal": (torch.nn.init.kaiming_normal_, {"nonlinearity": "relu"}),
}
FORMULA = {  # (is_uniform, variance)
    "xavier_uniform": (True, lambda i, o: 2.0 / (i + o)),
    "xavier_normal": (False, lambda i, o: 2.0 / (i + o)),
    "he_uniform": (True, lambda i, o: 2.0 / i),
    "he_normal": (False, lambda i, o: 2.0 / i),
}


@pytest.mark.parametrize("kind", list(TORCH))
@pytest.mark.parametrize("fan_in,fan_out", SHAPES)
def test_torch_uses_the_same_bound_or_std(kind, fan_in, fan_out):
    # torch.nn.init's draw equals a plain uniform_/normal_ draw with our bound/std, bit for bit
    fn, kw = TORCH[kind]
    got = torch_weight(fn, fan_in, fan_out, **kw)
    want = torch_reference(kind, fan_in, fan_out)
    assert torch.allclose(got, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("kind", list(TORCH))
@pytest.mark.parametrize("fan_in,fan_out", SHAPES)
def test_dlcore_draw_is_the_formula(kind, fan_in, fan_out):
    W = getattr(init, kind)(fan_in, fan_out, rng=7)
    assert W.shape == (fan_in, fan_out) and W.dtype == np.float64
    uniform, var = FORMULA[kind]
    g = np.random.default_rng(7)
    if uniform:
        a = np.sqrt(3.0 * var(fan_in, fan_out))
        want = g.uniform(-a, a, size=(fan_in, fan_out))
        assert np.abs(W).max() <= a
    else:
        want = g.normal(0.0, np.sqrt(var(fan_in, fan_out)), size=(fan_in, fan_out))
    assert_allclose(W, want, rtol=1e-13, atol=0)   # sqrt(3 var) vs sqrt(6/n): last bits


@pytest.mark.parametrize("kind", list(TORCH))
def test_sample_variance_matches_torch_and_the_paper(kind):
    fan_in, fan_out = 400, 600               # torch weight (600, 400): fan_in = 400 there too
    W = getattr(init, kind)(fan_in, fan_out, rng=0)
    fn, kw = TORCH[kind]
    Wt = torch_weight(fn, fan_in, fan_out, **kw).numpy()
    var = FORMULA[kind][1](fan_in, fan_out)
    # 240000 samples: the sample variance has relative sd sqrt(2/n) (normal) or less (uniform),
    # about 0.003; 2% is more than 6 sd
    for sample in (W, Wt):
        assert abs(sample.var() / var - 1) < 0.02
        assert abs(sample.mean()) < 5 * np.sqrt(var / sample.size)


def test_fan_in_is_the_first_axis():
    # He depends on fan_in only: transposing the shape must change the scale
    a = init.he_normal(1000, 10, rng=0)
    b = init.he_normal(10, 1000, rng=0)
    assert 5 < b.std() / a.std() < 15               # sqrt(1000/10) = 10


def test_rng_forms_and_reproducibility():
    assert_array_equal(init.xavier_uniform(4, 5, rng=3), init.xavier_uniform(4, 5, rng=3))
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    assert_array_equal(init.he_uniform(4, 5, rng=g1), init.he_uniform(4, 5, rng=g2))
    assert init.xavier_normal(2, 2).shape == (2, 2)          # rng=None: fresh entropy
    assert init.he_normal(np.int64(3), np.int32(2), rng=np.int64(1)).shape == (3, 2)


@pytest.mark.parametrize("kind", list(TORCH))
@pytest.mark.parametrize("bad", [0, -3, 2.5, 3.0, "4", None, True, [3]])
def test_bad_fans_raise(kind, bad):
    fn = getattr(init, kind)
    with pytest.raises(ValueError, match="fan_in"):
        fn(bad, 3)
    with pytest.raises(ValueError, match="fan_out"):
        fn(3, bad)


@pytest.mark.parametrize("bad", [-1, 1.5, "seed", True, [1]])
def test_bad_rng_raises(bad):
    with pytest.raises(ValueError, match="rng"):
        init.xavier_uniform(3, 3, rng=bad)


# ---------------------------------------------------------------- Linear(init=...)

def test_linear_default_is_unchanged():
    # the default draws exactly the numbers it drew before init= existed
    for init_arg in (None, "torch"):
        layer = L.Linear(7, 5, rng=11, init=init_arg)
        g = np.random.default_rng(11)
        a = 1 / np.sqrt(7)
        assert_array_equal(layer.params["W"], g.uniform(-a, a, size=(7, 5)))
        assert_array_equal(layer.params["b"], g.uniform(-a, a, size=(5,)))
    assert_array_equal(L.Linear(7, 5, rng=11).params["W"], L.Linear(7, 5, rng=11, init=None).params["W"])


def test_linear_default_matches_torch_bounds():
    layer = L.Linear(300, 200, rng=0)
    a = 1 / np.sqrt(300)                             # torch: kaiming_uniform_(a=sqrt(5)) -> 1/sqrt(in)
    torch.manual_seed(0)
    lin = torch.nn.Linear(300, 200, dtype=torch.float64)
    for ours, theirs in ((layer.params["W"], lin.weight), (layer.params["b"], lin.bias)):
        theirs = theirs.detach().numpy()
        assert np.abs(ours).max() <= a and np.abs(theirs).max() <= a
    assert abs(layer.params["W"].var() / lin.weight.detach().numpy().var() - 1) < 0.03


@pytest.mark.parametrize("kind", list(TORCH))
def test_linear_named_scheme(kind):
    layer = L.Linear(6, 4, rng=5, init=kind)
    assert_array_equal(layer.params["W"], getattr(init, kind)(6, 4, rng=np.random.default_rng(5)))
    assert_array_equal(layer.params["b"], np.zeros(4))
    assert "b" not in L.Linear(6, 4, rng=5, init=kind, bias=False).params


def test_linear_callable_init_and_forward_backward_still_match_torch(rng):
    seen = {}

    def const(fan_in, fan_out, g):
        seen["args"] = (fan_in, fan_out, isinstance(g, np.random.Generator))
        return np.full((fan_in, fan_out), 0.25)

    layer = L.Linear(3, 2, rng=0, init=const)
    assert seen["args"] == (3, 2, True)
    assert_array_equal(layer.params["W"], np.full((3, 2), 0.25))
    assert_array_equal(layer.params["b"], np.zeros(2))
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    lin = torch.nn.Linear(3, 2, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(layer.params["W"].T))
        lin.bias.zero_()
    xt = torch.tensor(x, requires_grad=True)
    out_t = lin(xt)
    out_t.backward(torch.tensor(dout))
    assert_allclose(layer.forward(x), out_t.detach().numpy(), rtol=1e-12)
    assert_allclose(layer.backward(dout), xt.grad.numpy(), rtol=1e-12)
    assert_allclose(layer.grads["W"], lin.weight.grad.numpy().T, rtol=1e-12)


def test_linear_callable_result_is_copied():
    W0 = np.ones((2, 2))
    layer = L.Linear(2, 2, init=lambda i, o, g: W0)
    layer.params["W"][0, 0] = 5.0
    assert W0[0, 0] == 1.0


def test_mlp_passes_init_through():
    net = training.mlp([4, 8, 3], rng=0, init="he_normal")
    assert_array_equal(net.params["0.b"], np.zeros(8))
    assert_array_equal(net.params["2.b"], np.zeros(3))


@pytest.mark.parametrize("bad", ["xavier", "kaiming", "He_normal", 3, 0.5, ["he_normal"]])
def test_linear_bad_init_name_raises(bad):
    with pytest.raises(ValueError, match="init"):
        L.Linear(3, 2, init=bad)


@pytest.mark.parametrize("result", [np.ones((2, 3)), np.ones(6), np.array([[np.nan, 1.0]] * 3),
                                    "weights", np.ones((3, 2), dtype=complex)])
def test_linear_bad_callable_result_raises(result):
    with pytest.raises(ValueError, match="init"):
        L.Linear(3, 2, init=lambda i, o, g: result)
