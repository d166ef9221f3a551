"""dlcore.autodiff (reverse-mode Value, forward-mode Dual, naive symbolic) and
dlcore.graphs, checked against PyTorch autograd (float64) and finite differences."""
from __future__ import annotations

import math

import numpy as np
import pytest

from dlcore import autodiff as ad
from dlcore.gradcheck import numerical_gradient, relative_error

torch = pytest.importorskip("torch")


def f_generic(x, y, z):
    """Uses every operation: + - * / ** neg exp log tanh sigmoid, and reuses x."""
    a = x * y + ad.tanh(z) - x / (1 + y * y)
    b = ad.exp(-a) ** 2 + ad.log(1 + z * z) * ad.sigmoid(x - 3 * z)
    return 2 - b / (1 + x * x) + x


def f_torch(x, y, z):
    a = x * y + torch.tanh(z) - x / (1 + y * y)
    b = torch.exp(-a) ** 2 + torch.log(1 + z * z) * torch.sigmoid(x - 3 * z)
    return 2 - b / (1 + x * x) + x


POINTS = [(0.3, -1.2, 0.7), (-2.0, 0.5, -0.1), (1.5, 2.0, 3.0)]


def _torch_grad(point):
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in point]
    out = f_torch(*ts)
    out.backward()
    return out.item(), [t.grad.item() for t in ts]


@pytest.mark.parametrize("point", POINTS)
def test_reverse_matches_torch(point):
    val, grads = ad.grad_reverse(f_generic, point)
    tval, tgrads = _torch_grad(point)
    assert val == pytest.approx(tval, rel=1e-13)
    np.testing.assert_allclose(grads, tgrads, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("point", POINTS)
def test_forward_matches_torch(point):
    val, grads = ad.grad_forward(f_generic, point)
    tval, tgrads = _torch_grad(point)
    assert val == pytest.approx(tval, rel=1e-13)
    np.testing.assert_allclose(grads, tgrads, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("point", POINTS)
def test_reverse_matches_finite_differences(point):
    x = np.array(point, dtype=np.float64)
    num = numerical_gradient(lambda v: f_generic(*v), x)
    _, grads = ad.grad_reverse(f_generic, point)
    assert relative_error(np.array(grads), num) < 1e-8


def test_plain_floats_evaluate_the_same_function():
    point = POINTS[0]
    assert f_generic(*point) == pytest.approx(ad.grad_reverse(f_generic, point)[0], rel=1e-15)


def test_nndl_example_4_74():
    x, w, b = ad.Value(1.0), ad.Value(0.0), ad.Value(0.0)
    f = 1 / (ad.exp(-(w * x + b)) + 1)
    f.backward()
    assert (f.data, w.grad, b.grad, x.grad) == (0.5, 0.25, 0.25, 0.0)


def test_reuse_accumulates():
    a = ad.Value(3.0)
    b = a + a
    c = a * a * a
    b.backward()
    assert a.grad == 2.0
    c.backward()                     # backward re-zeroes the graph's grads first
    assert a.grad == pytest.approx(27.0)


def test_backward_twice_gives_same_result():
    x = ad.Value(0.4)
    y = ad.tanh(x * x) + x
    y.backward()
    g1 = x.grad
    y.backward()
    assert x.grad == g1


def test_deep_graph_does_not_recurse():
    x = ad.Value(0.5)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001 ** 5000, rel=1e-9)


def test_data_dependent_loop():
    def f(x):
        y, steps = x, 0
        while abs(float(y.data if isinstance(y, ad.Value) else y.val)) < 10 and steps < 50:
            y, steps = y * y + 1, steps + 1
        return y
    for x0 in (0.5, 1.5, 2.5):
        _, g_rev = ad.grad_reverse(f, [x0])
        _, g_fwd = ad.grad_forward(f, [x0])
        t = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        y = t
        while abs(y.item()) < 10:
            y = y * y + 1
        y.backward()
        assert g_rev[0] == pytest.approx(t.grad.item(), rel=1e-13)
        assert g_fwd[0] == pytest.approx(t.grad.item(), rel=1e-13)


def test_counting_forward_vs_reverse():
    def f(*xs):
        s = xs[0] * xs[0]
        for x in xs[1:]:
            s = s + ad.tanh(x)
        return s
    n = 6
    with ad.counting() as fwd:
        ad.grad_forward(f, [0.1] * n)
    with ad.counting() as rev:
        ad.grad_reverse(f, [0.1] * n)
    ops = 1 + 2 * (n - 1)
    assert fwd.forward == n * ops and fwd.backward == 0
    assert rev.forward == ops and rev.backward == ops


def test_dual_is_a_jvp():
    # directional derivative = gradient · direction
    point, direction = POINTS[1], (0.2, -1.0, 0.5)
    out = f_generic(*[ad.Dual(p, d) for p, d in zip(point, direction)])
    _, grads = _torch_grad(point)
    assert out.dot == pytest.approx(float(np.dot(grads, direction)), rel=1e-12)


def test_symbolic_derivative_is_correct_and_swells():
    e = "x"
    sizes = []
    for _ in range(4):
        e = ("*", ("*", 4, e), ("-", 1, e))      # logistic map l_{n+1} = 4 l_n (1 - l_n)
        d = ad.sym_diff(e, "x")
        sizes.append(ad.sym_size(d))
        num = numerical_gradient(lambda v: ad.sym_eval(e, {"x": v[0]}), np.array([0.3]))
        assert ad.sym_eval(d, {"x": 0.3}) == pytest.approx(num[0], rel=1e-7)
    assert all(b > 2 * a for a, b in zip(sizes, sizes[1:]))


def test_invalid_inputs():
    with pytest.raises(ValueError):
        ad.Value(float("nan"))
    with pytest.raises(ValueError):
        ad.Value(-1.0).log()
    with pytest.raises(ValueError):
        ad.Dual(1.0) / 0
    with pytest.raises(ValueError):
        ad.sym_diff(("^", "x", 2), "x")
    with pytest.raises(ValueError):
        ad.grad_reverse(lambda x: 1.0, [0.0])


def test_sigmoid_is_stable():
    assert ad.sigmoid(-1000.0) == 0.0 and ad.sigmoid(1000.0) == 1.0
    assert math.isclose(ad.sigmoid(ad.Dual(-800.0, 1.0)).dot, 0.0, abs_tol=1e-300)


def test_graph_drawing():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from dlcore.graphs import draw_dag, layout

    a = ad.Value(3.0, label="a")
    b = a + a
    b.backward()
    nodes, edges = ad.value_graph(b)
    assert len(nodes) == 3 and len(edges) == 3          # a, +, b; a->+ twice, +->b
    pos = layout(nodes, edges)
    assert pos[nodes[0]["id"]][0] == 0
    ax = ad.draw_value_graph(b)
    assert len(ax.texts) == 6                            # 3 node labels + 3 arrows (annotations)
    plt.close(ax.figure)
    with pytest.raises(ValueError):
        layout([{"id": 1, "text": "a"}, {"id": 2, "text": "b"}], [(1, 2), (2, 1)])
    with pytest.raises(ValueError):
        draw_dag([{"id": 1, "text": "a", "kind": "nope"}], [])


def test_wrap_columns_folds_a_chain_into_bands():
    from dlcore.graphs import wrap_columns

    pos = {f"n{i}": (i, 0.0) for i in range(10)}
    wrapped = wrap_columns(pos, 4)
    assert [wrapped[f"n{i}"][0] for i in range(10)] == [0, 1, 2, 3, 3, 2, 1, 0, 0, 1]
    assert wrapped["n0"][1] < wrapped["n4"][1] < wrapped["n8"][1]
    with pytest.raises(ValueError, match="max_columns"):
        wrap_columns(pos, 0)
