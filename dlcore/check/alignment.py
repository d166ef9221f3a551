"""Checker of the fine-tuning chapter: ``check_dpo_loss`` (the DPO loss and its gradients).
"""
from __future__ import annotations

import numpy as np

from ._common import _require_callable, _call, _close, _failw, _ok, _unpack, _first_nonfinite, _quiet, _differs

__all__ = ["check_dpo_loss"]

# (N, beta, spread of the log-ratios): a batch, one pair, a large beta, margins of ±2100
# (None: set below; a log(sigmoid(z)) written naively gives inf there), a batch where the
# policy equals the reference
_DPO_CASES = [(6, 0.1, 3.0), (1, 0.5, 2.0), (4, 2.0, 1.0), (3, 1.0, None), (5, 0.2, 0.0)]


def _dpo_case(k):
    n, beta, spread = _DPO_CASES[k - 1]
    g_ = np.random.default_rng(1700 + k)
    ref_c, ref_r = -30 + 5 * g_.standard_normal(n), -30 + 5 * g_.standard_normal(n)
    if spread is None:                              # z = [-2100, 2100, 0.5]
        return ref_c + [-1500.0, 900.0, 0.5], ref_r + [600.0, -1200.0, 0.0], ref_c, ref_r, beta
    pol_c = ref_c + spread * g_.standard_normal(n)
    pol_r = ref_r + spread * g_.standard_normal(n)
    return pol_c, pol_r, ref_c, ref_r, beta


def _dpo_sigmoid(z):
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


def _dpo_variants(pc, pr, rc, rr, beta):
    """(loss, d_chosen, d_rejected) of typical wrong answers, each with its hint."""
    n = pc.size

    def from_z(z, b=beta, reduce=np.mean, scale=1.0):
        loss = reduce(np.logaddexp(0.0, -z))
        dz = -_dpo_sigmoid(-z) / (n if reduce is np.mean else 1)
        return loss * scale, b * dz * scale, -b * dz * scale

    z = beta * ((pc - rc) - (pr - rr))
    return [
        (from_z(beta * (pc - pr)),
         "the reference model is missing: use the log-ratios log pi(y) - log pi_ref(y) of "
         "both responses."),
        (from_z(-z),
         "chosen and rejected are swapped: the loss must fall as the chosen response gains "
         "probability, -log sigmoid(beta * (chosen log-ratio - rejected log-ratio))."),
        (from_z(beta * ((pc + rc) - (pr + rr))),
         "the reference log-probabilities are subtracted, not added: log pi(y) - log pi_ref(y)."),
        (from_z(z, reduce=np.sum),
         "the loss is the mean over the pairs, not the sum (the gradients then carry 1/N)."),
        (from_z((pc - rc) - (pr - rr), b=1.0, scale=beta),
         "beta multiplies the margin inside the sigmoid, not the loss outside it."),
        (from_z((pc - rc) - (pr - rr), b=1.0),
         "you left out beta: the margin is beta * (chosen log-ratio - rejected log-ratio)."),
        ((np.mean(np.logaddexp(0.0, -z)), -beta * _dpo_sigmoid(z) / n, beta * _dpo_sigmoid(z) / n),
         "the gradient of -log sigmoid(z) is -sigmoid(-z) = -(1 - sigmoid(z)), not -sigmoid(z)."),
        ((np.mean(np.logaddexp(0.0, -z)), -beta * _dpo_sigmoid(-z) / n, -beta * _dpo_sigmoid(-z) / n),
         "the rejected response enters with a minus sign: its gradient is the opposite of the "
         "chosen one's."),
    ]


def check_dpo_loss(fn) -> bool:
    """Check ``fn(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta) ->
    (loss, d_chosen, d_rejected)``: the DPO loss over N preference pairs and its gradients.

    The four inputs are (N,) arrays of summed log-probabilities of the chosen and rejected
    responses under the policy and under the frozen reference model::

        z = beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))
        loss = mean(-log sigmoid(z))

    ``d_chosen`` and ``d_rejected`` are the gradients of ``loss`` with respect to
    ``policy_chosen`` and ``policy_rejected`` ((N,) each). Compared with
    ``dlcore.alignment.dpo_loss`` on five cases, one with margins of ±2100."""
    from ..alignment import dpo_loss
    _require_callable(fn, "fn(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta) "
                          "-> (loss, d_chosen, d_rejected)")
    title = "DPO loss"
    names = ("loss", "d_chosen", "d_rejected")
    for k in range(1, len(_DPO_CASES) + 1):
        pc, pr, rc, rr, beta = _dpo_case(k)
        ref = dpo_loss(pc, pr, rc, rr, beta)
        ref = (np.array(ref[0]),) + ref[1:]
        where = f"Case {k} of {len(_DPO_CASES)} (N = {pc.size}, beta = {beta}" + \
            (", margins of ±2100)" if k == 4 else ")")
        out, err = _call(fn, pc, pr, rc, rr, beta)
        if err is not None:
            return _failw(title, where, f"your function raised {err}",
                          "run it by hand on arrays of this shape and read the traceback.")
        arrays = _unpack(out, names, title, where)
        if arrays is None:
            return False
        for name, arr, r in zip(names, arrays, ref):
            if arr.shape != r.shape and not (name == "loss" and arr.size == 1):
                want = "a scalar (the mean over the pairs)" if name == "loss" else \
                    "one value per pair, shape (N,)"
                return _failw(title, where, f"{name} has shape {arr.shape}, expected {r.shape}",
                              f"{name} is {want}.")
        arrays[0] = arrays[0].reshape(())
        bad = _first_nonfinite(arrays, names)
        if bad:
            hint = ("the margins reach ±2100 and exp overflows (or sigmoid rounds to 0 and "
                    "log gives -inf): write -log sigmoid(z) as np.logaddexp(0, -z), and "
                    "sigmoid(-z) in a form that never exponentiates a large positive number."
                    if k == 4 else "look for a log of 0 or a division by zero.")
            return _failw(title, where, f"{bad} contains NaN or inf", hint)
        if all(_close(a, r) for a, r in zip(arrays, ref)):
            continue
        for v, h in _dpo_variants(pc, pr, rc, rr, beta):
            v = tuple(np.asarray(x, dtype=np.float64).reshape(np.shape(r)) for x, r in zip(v, ref))
            if all(_quiet(_close, a, x) for a, x in zip(arrays, v)):
                return _failw(title, where, _differs(
                    next(n for n, a, r in zip(names, arrays, ref) if not _close(a, r)),
                    next(a for a, r in zip(arrays, ref) if not _close(a, r)),
                    next(r for a, r in zip(arrays, ref) if not _close(a, r))), h)
        name, a, r = next((n, a, r) for n, a, r in zip(names, arrays, ref) if not _close(a, r))
        hints = {"loss": "loss = mean(np.logaddexp(0, -z)) with z = beta * (chosen log-ratio - "
                         "rejected log-ratio).",
                 "d_chosen": "d loss / d policy_chosen = -beta * sigmoid(-z) / N.",
                 "d_rejected": "d loss / d policy_rejected = +beta * sigmoid(-z) / N, the "
                               "opposite of d_chosen."}
        return _failw(title, where, _differs(name, a, r), hints[name])
    return _ok(f"{title}: correct. loss, d_chosen and d_rejected match dlcore.alignment.dpo_loss "
               f"on {len(_DPO_CASES)} cases (a batch, one pair, beta = 2, margins of "
               "±2100, policy equal to the reference) to rtol 1e-8.")
