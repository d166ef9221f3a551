"""dlcore.schedules against torch.optim.lr_scheduler, step for step (float64 Python floats).

torch's schedulers update ``group["lr"]`` recursively (StepLR multiplies by gamma,
CosineAnnealingLR multiplies by a ratio of cosines, LinearLR by a ratio of factors), while
dlcore evaluates the closed form. The two differ only by accumulated rounding, so the
comparison uses rtol 1e-12 plus an absolute tolerance of 1e-12 * lr0 for the points where
the cosine schedule touches eta_min = 0 (there the recursion leaves ~1e-17 instead of 0).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from dlcore import optim, schedules

RTOL = 1e-12


def _torch_lrs(make_scheduler, lr0, n_steps):
    """Learning rates a torch scheduler gives at steps 0..n_steps-1 (one optimizer step each)."""
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr0)
    sched = make_scheduler(opt)
    lrs = []
    for _ in range(n_steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(lrs)


@pytest.mark.parametrize("lr0, step_size, gamma", [(0.1, 3, 0.1), (1.0, 1, 0.5), (0.05, 7, 0.9),
                                                    (0.3, 10, 2.0)])
def test_step_decay_equals_steplr(lr0, step_size, gamma):
    n = 60
    ref = _torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size, gamma), lr0, n)
    ours = np.array([schedules.step_decay(t, lr0, step_size, gamma) for t in range(n)])
    assert_allclose(ours, ref, rtol=RTOL, atol=0)


def test_step_decay_default_gamma_and_values():
    assert schedules.step_decay(0, 0.1, 5) == 0.1
    assert schedules.step_decay(4, 0.1, 5) == 0.1
    assert math.isclose(schedules.step_decay(5, 0.1, 5), 0.01, rel_tol=1e-15)
    assert math.isclose(schedules.step_decay(12, 0.1, 5), 0.001, rel_tol=1e-15)


@pytest.mark.parametrize("lr0, T_max, eta_min", [(0.1, 10, 0.0), (1.0, 7, 0.0), (0.5, 1, 0.0),
                                                  (0.1, 10, 0.001), (0.2, 25, 0.05),
                                                  (0.1, 4, 0.3)])
def test_cosine_annealing_equals_torch_over_three_periods(lr0, T_max, eta_min):
    """torch keeps following the cosine past T_max (period 2 T_max); so does dlcore."""
    n = 3 * T_max + 1
    ref = _torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max, eta_min),
                     lr0, n)
    ours = np.array([schedules.cosine_annealing(t, lr0, T_max, eta_min) for t in range(n)])
    assert_allclose(ours, ref, rtol=RTOL, atol=1e-12 * lr0)


def test_cosine_annealing_landmarks():
    lr0, T = 0.1, 10
    assert schedules.cosine_annealing(0, lr0, T) == lr0
    assert schedules.cosine_annealing(T, lr0, T) == 0.0
    assert math.isclose(schedules.cosine_annealing(T // 2, lr0, T), lr0 / 2, rel_tol=1e-14)
    assert math.isclose(schedules.cosine_annealing(2 * T, lr0, T), lr0, rel_tol=1e-14)
    # symmetric around T_max: it climbs back the way it came
    for k in range(1, T):
        assert math.isclose(schedules.cosine_annealing(T + k, lr0, T),
                            schedules.cosine_annealing(T - k, lr0, T), rel_tol=1e-12, abs_tol=1e-15)
    # holding at eta_min is the caller's choice: min(step, T_max)
    assert schedules.cosine_annealing(min(3 * T, T), lr0, T, eta_min=0.01) == 0.01


@pytest.mark.parametrize("lr0, warmup", [(0.1, 2), (0.4, 5), (1.0, 13)])
def test_linear_warmup_equals_linearlr(lr0, warmup):
    n = 3 * warmup
    ref = _torch_lrs(lambda o: torch.optim.lr_scheduler.LinearLR(
        o, start_factor=1 / warmup, end_factor=1.0, total_iters=warmup - 1), lr0, n)
    ours = np.array([schedules.linear_warmup(t, lr0, warmup) for t in range(n)])
    assert_allclose(ours, ref, rtol=RTOL, atol=0)


def test_linear_warmup_values():
    assert schedules.linear_warmup(0, 0.5, 5) == 0.1
    assert math.isclose(schedules.linear_warmup(2, 0.5, 5), 0.3, rel_tol=1e-15)
    assert schedules.linear_warmup(4, 0.5, 5) == 0.5
    assert schedules.linear_warmup(100, 0.5, 5) == 0.5
    assert schedules.linear_warmup(0, 0.5, 1) == 0.5           # one warm-up step: constant
    inc = np.diff([schedules.linear_warmup(t, 0.5, 5) for t in range(5)])
    assert_allclose(inc, 0.1, rtol=1e-12)                      # constant increment


def test_numpy_integer_steps_and_zero_lr():
    assert schedules.step_decay(np.int64(6), 0.1, np.int32(3), 0.5) == schedules.step_decay(6, 0.1, 3, 0.5)
    assert schedules.cosine_annealing(np.int64(3), 0.0, 10) == 0.0
    assert isinstance(schedules.linear_warmup(np.int64(1), 0.1, 4), float)


def test_a_loop_can_set_the_optimizer_lr():
    """dlcore optimizers read opt.lr on every step, so a schedule is one assignment per step."""
    p = {"w": np.array([1.0])}
    opt = optim.SGD(lr=1.0)
    for t in range(4):
        opt.lr = schedules.step_decay(t, 0.1, 2, 0.5)
        opt.step(p, {"w": np.array([1.0])})
    assert math.isclose(p["w"][0], 1.0 - (0.1 + 0.1 + 0.05 + 0.05), rel_tol=1e-14)


BAD = [
    (schedules.step_decay, dict(step=-1, lr0=0.1, step_size=2), "step"),
    (schedules.step_decay, dict(step=1.5, lr0=0.1, step_size=2), "step"),
    (schedules.step_decay, dict(step=True, lr0=0.1, step_size=2), "step"),
    (schedules.step_decay, dict(step="3", lr0=0.1, step_size=2), "step"),
    (schedules.step_decay, dict(step=1, lr0=-0.1, step_size=2), "lr0"),
    (schedules.step_decay, dict(step=1, lr0=float("nan"), step_size=2), "lr0"),
    (schedules.step_decay, dict(step=1, lr0=0.1, step_size=0), "step_size"),
    (schedules.step_decay, dict(step=1, lr0=0.1, step_size=2.0), "step_size"),
    (schedules.step_decay, dict(step=1, lr0=0.1, step_size=2, gamma=0.0), "gamma"),
    (schedules.step_decay, dict(step=1, lr0=0.1, step_size=2, gamma=float("inf")), "gamma"),
    (schedules.cosine_annealing, dict(step=-2, lr0=0.1, T_max=10), "step"),
    (schedules.cosine_annealing, dict(step=1, lr0="0.1", T_max=10), "lr0"),
    (schedules.cosine_annealing, dict(step=1, lr0=0.1, T_max=0), "T_max"),
    (schedules.cosine_annealing, dict(step=1, lr0=0.1, T_max=None), "T_max"),
    (schedules.cosine_annealing, dict(step=1, lr0=0.1, T_max=10, eta_min=-0.01), "eta_min"),
    (schedules.cosine_annealing, dict(step=1, lr0=0.1, T_max=10, eta_min=float("nan")), "eta_min"),
    (schedules.linear_warmup, dict(step=-1, lr0=0.1, warmup_steps=5), "step"),
    (schedules.linear_warmup, dict(step=0, lr0=float("inf"), warmup_steps=5), "lr0"),
    (schedules.linear_warmup, dict(step=0, lr0=0.1, warmup_steps=0), "warmup_steps"),
    (schedules.linear_warmup, dict(step=0, lr0=0.1, warmup_steps=2.5), "warmup_steps"),
]


@pytest.mark.parametrize("fn, kwargs, name", BAD, ids=[f"{f.__name__}-{n}-{i}" for i, (f, _, n) in enumerate(BAD)])
def test_bad_input_names_the_argument(fn, kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}: expected"):
        fn(**kwargs)
