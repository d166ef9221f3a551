"""dlcore.descent: the least-squares problem against PyTorch autograd (float64), trajectories
against torch.optim step for step, and the input checks."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from dlcore import descent, optim

RTOL = 1e-12


def _torch_loss(prob, w):
    X, y = torch.tensor(prob.X), torch.tensor(prob.y)
    r = X @ w - y
    return 0.5 * (r @ r) / len(prob.y)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_least_squares_matches_torch(seed):
    prob = descent.least_squares(np.random.default_rng(seed), n=40)
    w = np.random.default_rng(seed + 10).standard_normal(prob.X.shape[1])
    wt = torch.tensor(w, requires_grad=True)
    L = _torch_loss(prob, wt)
    L.backward()
    np.testing.assert_allclose(prob.loss(w), L.item(), rtol=RTOL)
    np.testing.assert_allclose(prob.grad(w), wt.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(prob.example_grads(w).mean(axis=0), prob.grad(w), rtol=1e-10, atol=1e-14)
    H = torch.autograd.functional.hessian(lambda v: _torch_loss(prob, v), torch.tensor(w)).numpy()
    np.testing.assert_allclose(prob.hessian, H, rtol=1e-10, atol=1e-14)
    w_ref = torch.linalg.lstsq(torch.tensor(prob.X), torch.tensor(prob.y)[:, None]).solution[:, 0]
    np.testing.assert_allclose(prob.w_star, w_ref.numpy(), rtol=1e-9)
    assert np.linalg.norm(prob.grad(prob.w_star)) < 1e-12
    assert prob.L_star <= prob.loss(w)


def test_least_squares_draw_order_and_subsets():
    rng = np.random.default_rng(0)
    prob = descent.least_squares(np.random.default_rng(0))
    scales = np.array([1.0, 1.0, 0.7, 0.5, 0.3])
    X = rng.standard_normal((500, 5)) * scales
    w_true = rng.standard_normal(5)
    y = X @ w_true + 0.5 * rng.standard_normal(500)
    assert np.array_equal(prob.X, X) and np.array_equal(prob.y, y)
    w = np.ones(5)
    assert prob.loss(w, prob.X[:10], prob.y[:10]) == pytest.approx(
        0.5 * np.mean((X[:10] @ w - y[:10]) ** 2), rel=RTOL)


@pytest.mark.parametrize("make_pair", [
    lambda: (optim.SGD(0.1, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    lambda: (optim.SGD(0.05, momentum=0.8, nesterov=True),
             lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True)),
    lambda: (optim.Adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
])
def test_trajectory_equals_torch(make_pair):
    ours, make_torch = make_pair()
    h = np.array([0.5, 2.0, 10.0])
    path = descent.trajectory(ours, lambda th: h * th, np.ones(3), 30)
    w = torch.ones(3, dtype=torch.float64, requires_grad=True)
    opt = make_torch([w])
    ref = [w.detach().numpy().copy()]
    for _ in range(30):
        w.grad = torch.tensor(h) * w.detach()
        opt.step()
        ref.append(w.detach().numpy().copy())
    assert path.shape == (31, 3)
    np.testing.assert_allclose(path, np.array(ref), rtol=1e-10, atol=1e-14)


def test_best_time_is_a_minimum():
    calls = []
    t = descent.best_time(lambda: calls.append(1), repeat=3)
    assert len(calls) == 3 and 0 <= t < 1
    # calls that sleep 0.06 s, 0.01 s, 0.06 s: the best is the short one, not the mean
    delays = iter([0.06, 0.01, 0.06])
    t = descent.best_time(lambda: time.sleep(next(delays)), repeat=3)
    assert 0.01 <= t < 0.04


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sharpness_equals_top_eigenvalue_of_autograd_hessian(seed):
    g = np.random.default_rng(seed)
    X = torch.tensor(g.standard_normal((30, 4)))
    y = torch.tensor((g.random(30) < 0.5).astype(float))
    w0, b0 = torch.tensor(g.standard_normal(4)), torch.tensor([0.3], dtype=torch.float64)

    def loss(w, b):  # logistic regression + ridge: convex, so the top eigenvalue is the largest
        z = X @ w + b
        return torch.nn.functional.binary_cross_entropy_with_logits(z, y) + 0.05 * (w @ w)

    H = torch.autograd.functional.hessian(lambda t: loss(t[:4], t[4:]), torch.cat([w0, b0]))
    top = np.linalg.eigvalsh(H.numpy())[-1]
    lam = descent.sharpness(loss, [w0, b0], iters=200, seed=seed)
    assert abs(lam - top) < 1e-8 * top
    w_before = w0.clone()
    descent.sharpness(loss, [w0, b0], iters=3, seed=seed)
    assert torch.equal(w0, w_before)                        # params are not modified


def test_sharpness_returns_the_eigenvalue_of_largest_magnitude_with_its_sign():
    # f(u, v) = u^2 / 2 - 3 v^2 / 2: Hessian diag(1, -3); power iteration finds -3
    loss = lambda w: 0.5 * w[0] ** 2 - 1.5 * w[1] ** 2
    lam = descent.sharpness(loss, [torch.tensor([0.2, -0.1], dtype=torch.float64)], iters=100)
    assert abs(lam + 3.0) < 1e-10


@pytest.mark.parametrize("call, word", [
    (lambda: descent.least_squares(0), "rng"),
    (lambda: descent.least_squares(np.random.default_rng(0), n=1), "n"),
    (lambda: descent.least_squares(np.random.default_rng(0), scales=[1.0, -1.0]), "scales"),
    (lambda: descent.least_squares(np.random.default_rng(0), noise="a"), "noise"),
    (lambda: descent.least_squares(np.random.default_rng(0)).grad(np.ones(3)), "w"),
    (lambda: descent.least_squares(np.random.default_rng(0)).loss(np.ones(5), np.ones((3, 5)),
                                                                 np.ones(4)), "X, y"),
    (lambda: descent.trajectory(object(), lambda t: t, [1.0], 3), "opt"),
    (lambda: descent.trajectory(optim.SGD(0.1), 3, [1.0], 3), "grad_fn"),
    (lambda: descent.trajectory(optim.SGD(0.1), lambda t: t, [1.0], -1), "steps"),
    (lambda: descent.best_time(lambda: None, repeat=0), "repeat"),
    (lambda: descent.best_time(3), "fn"),
    (lambda: descent.sharpness(3, [torch.zeros(2, dtype=torch.float64)]), "loss_fn"),
    (lambda: descent.sharpness(lambda w: w.sum(), [torch.zeros(2)]), "params"),
    (lambda: descent.sharpness(lambda w: w.sum(), [torch.zeros(2, dtype=torch.float64)], 0), "iters"),
])
def test_bad_input_names_the_argument(call, word):
    with pytest.raises(ValueError, match=word):
        call()
