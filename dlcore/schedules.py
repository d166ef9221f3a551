"""Learning-rate schedules as plain functions of the step number.

A schedule maps the step (or epoch) counter ``step = 0, 1, 2, ...`` to a learning rate.
A training loop sets it before each update, e.g. ``opt.lr = cosine_annealing(t, 0.1, 100)``
with any ``dlcore.optim`` optimizer (they all read ``self.lr`` on every step).

* ``step_decay(step, lr0, step_size, gamma=0.1)``::

      lr = lr0 * gamma ** (step // step_size)

  equal to ``torch.optim.lr_scheduler.StepLR(opt, step_size, gamma)`` after ``step`` calls
  of ``scheduler.step()`` (torch multiplies by ``gamma`` recursively; the two agree to
  rounding, ~1e-15 relative).

* ``cosine_annealing(step, lr0, T_max, eta_min=0.0)``::

      lr = eta_min + (lr0 - eta_min) * (1 + cos(pi * step / T_max)) / 2

  the closed form of SGDR (Loshchilov & Hutter, 2017) *without restarts*. It falls from
  ``lr0`` at step 0 to ``eta_min`` at ``step = T_max``. For ``step > T_max`` it is **not**
  clamped: the cosine continues, so the rate climbs back to ``lr0`` at ``2 T_max`` and the
  schedule has period ``2 T_max``. This is exactly what ``CosineAnnealingLR`` does: it
  updates the rate recursively, ``eta_{t} = eta_min + (eta_{t-1} - eta_min) *
  (1 + cos(pi t / T_max)) / (1 + cos(pi (t-1) / T_max))``, with an additive special case
  when the denominator is zero (the step after each minimum), and that recursion reproduces
  the periodic closed form (tested over ``3 T_max`` steps in ``tests/test_schedules.py``).
  To hold the rate at ``eta_min`` after ``T_max``, pass ``min(step, T_max)``.

* ``linear_warmup(step, lr0, warmup_steps)``::

      lr = lr0 * min(1, (step + 1) / warmup_steps)

  the gradual warm-up of Goyal et al. (2017): ``lr0 / warmup_steps`` on the first update,
  a constant increment per step, and ``lr0`` from step ``warmup_steps - 1`` on. The ``+ 1``
  means no step is wasted with a zero learning rate. It equals
  ``LinearLR(opt, start_factor=1/warmup_steps, end_factor=1.0, total_iters=warmup_steps-1)``
  for ``warmup_steps >= 2`` (for ``warmup_steps = 1`` it is the constant ``lr0``).
  To chain it with a decay, call the decay with ``step - warmup_steps`` once warm-up ends.

Every function validates its input and raises ``ValueError`` naming the argument: integer steps,
finite rates ``lr0 >= 0`` and ``eta_min >= 0``, and a ``step_decay`` whose rate stays within
float64. As in PyTorch, ``lr0 = 0`` (a frozen run) and ``eta_min > lr0`` (the cosine then rises
from ``lr0`` to ``eta_min`` and back) are accepted.
"""
from __future__ import annotations

import math

from ._validate import check_int, check_positive

__all__ = ["step_decay", "cosine_annealing", "linear_warmup"]


def step_decay(step, lr0, step_size, gamma=0.1):
    """``lr0 * gamma ** (step // step_size)``: multiply by ``gamma`` every ``step_size`` steps
    (``torch.optim.lr_scheduler.StepLR``)."""
    step = check_int(step, "step", min_value=0)
    lr0 = check_positive(lr0, "lr0", allow_zero=True)
    step_size = check_int(step_size, "step_size", min_value=1)
    gamma = check_positive(gamma, "gamma")
    try:
        lr = lr0 * gamma ** (step // step_size)
    except OverflowError:
        lr = math.inf
    if not math.isfinite(lr):
        raise ValueError(f"gamma: lr0 * gamma ** {step // step_size} overflows float64 "
                         f"(gamma={gamma!r}, lr0={lr0!r})")
    return lr


def cosine_annealing(step, lr0, T_max, eta_min=0.0):
    """``eta_min + (lr0 - eta_min) (1 + cos(pi step / T_max)) / 2``, period ``2 T_max``
    (``torch.optim.lr_scheduler.CosineAnnealingLR``; not clamped after ``T_max``)."""
    step = check_int(step, "step", min_value=0)
    lr0 = check_positive(lr0, "lr0", allow_zero=True)
    T_max = check_int(T_max, "T_max", min_value=1)
    eta_min = check_positive(eta_min, "eta_min", allow_zero=True)
    return eta_min + (lr0 - eta_min) * (1.0 + math.cos(math.pi * step / T_max)) / 2.0


def linear_warmup(step, lr0, warmup_steps):
    """``lr0 * min(1, (step + 1) / warmup_steps)``: a linear ramp from ``lr0 / warmup_steps``
    at step 0 to ``lr0`` at step ``warmup_steps - 1``, constant afterwards."""
    step = check_int(step, "step", min_value=0)
    lr0 = check_positive(lr0, "lr0", allow_zero=True)
    warmup_steps = check_int(warmup_steps, "warmup_steps", min_value=1)
    return lr0 * min(1.0, (step + 1) / warmup_steps)
