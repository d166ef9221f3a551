"""Preference learning: the Bradley-Terry reward-model loss, the KL-regularized optimum RLHF
aims at, and the DPO loss, each with its gradient.

**Reward model (Bradley-Terry).** Human labellers say which of two responses to a prompt is
better. The Bradley-Terry model says ``P(chosen > rejected) = sigmoid(r_c - r_r)`` for a
scalar reward ``r``; the reward model is trained by the negative log-likelihood of the
labels, ``mean(-log sigmoid(r_c - r_r))`` (``bradley_terry_loss``). Only differences of rewards
enter, so rewards are identified up to a constant per prompt.

**RLHF's objective.** The policy ``pi`` maximizes ``E_pi[r] - beta * KL(pi || pi_ref)``: the
reward, minus a penalty for moving away from the reference (supervised) model. For a finite
set of responses the maximizer is ``pi*(y) = pi_ref(y) exp(r(y) / beta) / Z``
(``kl_regularized_policy``): ``beta -> 0`` takes the best response, ``beta -> inf`` keeps
``pi_ref``.

**DPO** (Rafailov et al. 2023) inverts that relation, ``r(y) = beta log(pi(y) / pi_ref(y)) +
beta log Z``, puts it into the Bradley-Terry likelihood (``Z`` cancels in the difference) and
trains the policy directly::

    loss = mean(-log sigmoid(beta * [(log pi(y_c) - log pi_ref(y_c))
                                     - (log pi(y_r) - log pi_ref(y_r))]))

``dpo_loss`` takes the summed log-probabilities of each response under the policy and the
frozen reference and returns the loss and its gradients with respect to the policy's
log-probabilities: ``d/d log pi(y_c) = -beta * sigmoid(-z) / N`` and the opposite for
``y_r``; pairs the policy already ranks correctly by a wide margin get small weights.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_positive, check_same_shape
from .functional import sigmoid, softplus

__all__ = ["bradley_terry_loss", "dpo_loss", "implicit_reward", "kl_regularized_policy",
           "kl_divergence"]


def _pair(a, b, name_a, name_b):
    a = as_float_array(a, name_a, ndim=1)
    b = as_float_array(b, name_b, ndim=1)
    check_same_shape(a, b, name_a, name_b)
    if a.size == 0:
        raise ValueError(f"{name_a}: expected at least one preference pair, got none")
    return a, b


def bradley_terry_loss(r_chosen, r_rejected):
    """mean(-log sigmoid(r_chosen - r_rejected)) over (N,) rewards and its gradients:
    returns ``(loss, d_chosen, d_rejected)``."""
    rc, rr = _pair(r_chosen, r_rejected, "r_chosen", "r_rejected")
    margin = rc - rr
    n = margin.size
    loss = float(np.mean(softplus(-margin)))               # -log sigmoid(m) = softplus(-m)
    d = -sigmoid(-margin) / n
    return loss, d, -d


def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=0.1):
    """The DPO loss over N pairs of sequence log-probabilities (each an (N,) array) and its
    gradients with respect to the policy's: returns ``(loss, d_chosen, d_rejected)``."""
    pc, pr = _pair(policy_chosen, policy_rejected, "policy_chosen", "policy_rejected")
    rc, rr = _pair(ref_chosen, ref_rejected, "ref_chosen", "ref_rejected")
    check_same_shape(pc, rc, "policy_chosen", "ref_chosen")
    beta = check_positive(beta, "beta")
    z = beta * ((pc - rc) - (pr - rr))
    loss = float(np.mean(softplus(-z)))
    dz = -sigmoid(-z) / z.size
    return loss, beta * dz, -beta * dz


def implicit_reward(policy_logp, ref_logp, beta=0.1):
    """beta * (log pi - log pi_ref): the reward a DPO policy defines (up to a constant)."""
    p = as_float_array(policy_logp, "policy_logp")
    r = as_float_array(ref_logp, "ref_logp")
    check_same_shape(p, r, "policy_logp", "ref_logp")
    return check_positive(beta, "beta") * (p - r)


def _probs(p, name):
    p = as_float_array(p, name, ndim=1)
    if p.size == 0 or (p < 0).any() or abs(p.sum() - 1.0) > 1e-9:
        raise ValueError(f"{name}: expected a probability vector (>= 0, summing to 1), "
                         f"got sum {p.sum() if p.size else 0.0!r}")
    return p


def kl_regularized_policy(ref_probs, rewards, beta):
    """argmax_pi E_pi[r] - beta KL(pi || pi_ref) over a finite set of responses:
    pi_ref * exp(r / beta), normalized (computed in log space)."""
    p = _probs(ref_probs, "ref_probs")
    r = as_float_array(rewards, "rewards", ndim=1)
    check_same_shape(p, r, "ref_probs", "rewards")
    beta = check_positive(beta, "beta")
    with np.errstate(divide="ignore"):
        logits = np.log(p) + r / beta                     # log 0 = -inf: never chosen
    logits -= logits.max()
    e = np.exp(logits)
    return e / e.sum()


def kl_divergence(p, q):
    """KL(p || q) = sum p log(p / q) for probability vectors (0 log 0 = 0; inf if q = 0
    where p > 0)."""
    p = _probs(p, "p")
    q = _probs(q, "q")
    check_same_shape(p, q, "p", "q")
    m = p > 0
    if (q[m] == 0).any():
        return float("inf")
    return float(np.sum(p[m] * (np.log(p[m]) - np.log(q[m]))))
