"""dlcore.alignment: Bradley-Terry and DPO losses and gradients against torch autograd
(float64), the KL-regularized optimum against direct maximization; bad inputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcore import alignment as AL

from conftest import to_numpy, to_torch


def test_bradley_terry_matches_torch(rng):
    rc, rr = rng.standard_normal(9) * 3, rng.standard_normal(9) * 3
    loss, dc, dr = AL.bradley_terry_loss(rc, rr)
    tc, tr = to_torch(rc, True), to_torch(rr, True)
    ref = -F.logsigmoid(tc - tr).mean()
    ref.backward()
    assert abs(loss - ref.item()) < 1e-12
    np.testing.assert_allclose(dc, to_numpy(tc.grad), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dr, to_numpy(tr.grad), rtol=1e-12, atol=1e-15)
    big = AL.bradley_terry_loss(np.array([800.0]), np.array([-800.0]))   # no overflow
    assert big[0] == 0.0 and AL.bradley_terry_loss([-800.0], [800.0])[0] == 1600.0


@pytest.mark.parametrize("beta", [0.05, 0.5, 3.0])
def test_dpo_matches_torch(rng, beta):
    n = 11
    pc, pr, rc, rr = (rng.standard_normal(n) * 5 - 20 for _ in range(4))
    loss, dc, dr = AL.dpo_loss(pc, pr, rc, rr, beta=beta)
    tpc, tpr = to_torch(pc, True), to_torch(pr, True)
    logits = beta * ((tpc - to_torch(rc)) - (tpr - to_torch(rr)))
    ref = -F.logsigmoid(logits).mean()
    ref.backward()
    assert abs(loss - ref.item()) < 1e-12 * max(1.0, abs(ref.item()))
    np.testing.assert_allclose(dc, to_numpy(tpc.grad), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dr, to_numpy(tpr.grad), rtol=1e-12, atol=1e-15)


def test_dpo_at_the_reference_and_implicit_reward(rng):
    lp = rng.standard_normal(4)
    loss, dc, dr = AL.dpo_loss(lp, lp + 1, lp, lp + 1, beta=0.1)      # policy = reference
    assert abs(loss - np.log(2)) < 1e-15
    np.testing.assert_allclose(dc, -0.1 * 0.5 / 4)
    np.testing.assert_allclose(AL.implicit_reward([-1.0, -2.0], [-1.5, -1.0], beta=0.5),
                               [0.25, -0.5])


def test_kl_regularized_policy_maximizes_the_objective(rng):
    ref = rng.dirichlet(np.ones(6))
    r = rng.standard_normal(6)
    for beta in (0.1, 1.0, 10.0):
        star = AL.kl_regularized_policy(ref, r, beta)
        best = star @ r - beta * AL.kl_divergence(star, ref)
        theta = torch.zeros(6, dtype=torch.float64, requires_grad=True)   # direct maximization
        opt = torch.optim.LBFGS([theta], max_iter=200, tolerance_grad=1e-12,
                                tolerance_change=1e-15, line_search_fn="strong_wolfe")
        ref_t, r_t = to_torch(ref), to_torch(r)

        def closure():
            opt.zero_grad()
            logp = torch.log_softmax(theta, 0)
            obj = -(logp.exp() @ r_t - beta * (logp.exp() * (logp - ref_t.log())).sum())
            obj.backward()
            return obj
        opt.step(closure)
        found = torch.softmax(theta, 0).detach().numpy()
        np.testing.assert_allclose(found, star, atol=1e-6)
        assert best >= found @ r - beta * AL.kl_divergence(found, ref) - 1e-12
    assert AL.kl_regularized_policy(ref, r, 1e-4).argmax() == r.argmax()   # beta -> 0: best
    np.testing.assert_allclose(AL.kl_regularized_policy(ref, r, 1e6), ref, atol=1e-5)


def test_kl_divergence_values():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])
    assert abs(AL.kl_divergence(p, q) - np.log(2)) < 1e-15
    assert AL.kl_divergence(q, p) == float("inf")
    assert AL.kl_divergence(q, q) == 0.0


@pytest.mark.parametrize("call, msg", [
    (lambda: AL.bradley_terry_loss([1.0, 2.0], [1.0]), r"r_rejected: expected shape \(2,\)"),
    (lambda: AL.bradley_terry_loss([], []), "r_chosen: expected at least one"),
    (lambda: AL.dpo_loss([1.0], [1.0], [1.0], [1.0], beta=0), "beta: expected a finite number > 0"),
    (lambda: AL.dpo_loss([1.0], [1.0], [1.0, 2.0], [1.0, 2.0]), r"ref_chosen: expected shape"),
    (lambda: AL.dpo_loss([[1.0]], [[1.0]], [[1.0]], [[1.0]]), "policy_chosen: expected a 1-D"),
    (lambda: AL.kl_regularized_policy([0.5, 0.6], [1.0, 2.0], 1.0), "ref_probs: expected a probability"),
    (lambda: AL.kl_regularized_policy([0.5, 0.5], [1.0], 1.0), r"rewards: expected shape \(2,\)"),
    (lambda: AL.kl_divergence([1.0], [0.5, 0.5]), r"q: expected shape \(1,\)"),
])
def test_bad_inputs(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()
