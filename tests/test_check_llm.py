"""dlcore.check: check_top_p (tokenization and decoding chapter) and check_dpo_loss
(fine-tuning chapter): correct answers pass, typical mistakes fail with the right hint."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcore import check


def flat(out):
    return " ".join(out.split())


# ---------------------------------------------------------------- top-p

def top_p_ok(probs, p):
    order = np.argsort(-probs, kind="stable")
    before = np.cumsum(probs[order]) - probs[order]
    keep = np.zeros_like(probs, dtype=bool)
    keep[order[before < p]] = True
    out = np.where(keep, probs, 0.0)
    return out / out.sum()


def top_p_torch(probs, p):                 # sorted in torch, on the probabilities
    t = torch.tensor(probs)
    s, idx = torch.sort(t, descending=True, stable=True)
    keep = (s.cumsum(-1) - s) < p
    out = torch.zeros_like(t).scatter(0, idx, s * keep)
    return (out / out.sum()).numpy()


def test_checker_reference_agrees_with_dlcore_decoding_off_the_boundary():
    from dlcore.check.decoding import _TOP_P_CASES, _top_p_reference
    from dlcore.decoding import next_token_distribution
    for k, (probs, p) in enumerate(_TOP_P_CASES):
        if k != 1:                         # case 2 sits exactly on a boundary
            np.testing.assert_allclose(_top_p_reference(probs, p)[0],
                                       next_token_distribution(np.log(probs), top_p=p),
                                       rtol=1e-12, atol=1e-15)


def top_p_list(probs, p):
    return list(top_p_ok(probs, p))


def _sorted_mask(probs, p, rule):
    order = np.argsort(-probs, kind="stable")
    srt = probs[order]
    cum = np.cumsum(srt)
    keep = np.zeros(probs.size, dtype=bool)
    keep[order[rule(cum, srt, p)]] = True
    return keep


def _renorm(keep, probs):
    out = np.where(keep, probs, 0.0)
    return out / out.sum() if out.sum() > 0 else out


TOP_P_MISTAKES = [
    ("no_renorm", lambda pr, p: top_p_ok(pr, p) * 0 + np.where(top_p_ok(pr, p) > 0, pr, 0.0),
     "must be renormalised"),
    ("cum_le_p", lambda pr, p: _renorm(_sorted_mask(pr, p, lambda c, s, p: c <= p), pr),
     "keep the token that crosses p too"),
    ("before_le_p", lambda pr, p: _renorm(_sorted_mask(pr, p, lambda c, s, p: c - s <= p), pr),
     "you must stop"),
    ("unsorted", lambda pr, p: _renorm(np.cumsum(pr) - pr < p, pr), "sort the tokens by decreasing"),
    ("ascending", lambda pr, p: _renorm(_asc(pr, p), pr), "you sorted in increasing order"),
    ("sorted_output", lambda pr, p: top_p_ok(pr, p)[np.argsort(-pr, kind="stable")],
     "in the original token order"),
    ("fraction_of_vocab", lambda pr, p: _renorm(_sorted_mask(
        pr, p, lambda c, s, p: np.arange(s.size) < max(1, int(np.ceil(p * s.size)))), pr),
     "not a fraction p of the vocabulary"),
    ("only_kept", lambda pr, p: top_p_ok(pr, p)[top_p_ok(pr, p) > 0], "one probability per token"),
]


def _asc(pr, p):
    asc = np.argsort(pr, kind="stable")
    keep = np.zeros(pr.size, dtype=bool)
    keep[asc[(np.cumsum(pr[asc]) - pr[asc]) < p]] = True
    return keep


@pytest.mark.parametrize("fn", [top_p_ok, top_p_torch, top_p_list])
def test_top_p_correct_passes(fn, capsys):
    assert check.check_top_p(fn) is True
    out = capsys.readouterr().out
    assert out.startswith("Top-p distribution: correct.") and "Hint" not in out


@pytest.mark.parametrize("name, fn, hint", TOP_P_MISTAKES, ids=[m[0] for m in TOP_P_MISTAKES])
def test_top_p_mistakes_fail_with_hint(name, fn, hint, capsys):
    assert check.check_top_p(fn) is False
    out = capsys.readouterr().out
    assert out.startswith("Top-p distribution: not yet. Case "), out
    assert "Hint: " in out and hint in flat(out), out
    assert max(len(line) for line in out.splitlines()) <= 88


def test_top_p_boundary_case_catches_the_off_by_one(capsys):
    check.check_top_p(TOP_P_MISTAKES[2][1])
    assert "Case 2 of 5" in capsys.readouterr().out


# ---------------------------------------------------------------- DPO

def dpo_ok(pc, pr, rc, rr, beta):
    z = beta * ((pc - rc) - (pr - rr))
    w = np.exp(-np.logaddexp(0.0, z))                # sigmoid(-z), stable
    return np.mean(np.logaddexp(0.0, -z)), -beta * w / z.size, beta * w / z.size


def dpo_torch(pc, pr, rc, rr, beta):
    tc = torch.tensor(pc, requires_grad=True)
    tr = torch.tensor(pr, requires_grad=True)
    loss = -F.logsigmoid(beta * ((tc - torch.tensor(rc)) - (tr - torch.tensor(rr)))).mean()
    loss.backward()
    return loss.item(), tc.grad.numpy(), tr.grad.numpy()


def _naive(pc, pr, rc, rr, beta):
    z = beta * ((pc - rc) - (pr - rr))
    s = 1 / (1 + np.exp(-z))
    return -np.mean(np.log(s)), -beta * (1 - s) / z.size, beta * (1 - s) / z.size


def _from_z(z, beta, n, reduce=np.mean, outer=1.0):
    w = np.exp(-np.logaddexp(0.0, z))
    div = n if reduce is np.mean else 1
    return outer * reduce(np.logaddexp(0.0, -z)), -outer * beta * w / div, outer * beta * w / div


DPO_MISTAKES = [
    ("no_reference", lambda pc, pr, rc, rr, b: _from_z(b * (pc - pr), b, pc.size),
     "the reference model is missing"),
    ("swapped", lambda pc, pr, rc, rr, b: _from_z(-b * ((pc - rc) - (pr - rr)), b, pc.size),
     "chosen and rejected are swapped"),
    ("ref_added", lambda pc, pr, rc, rr, b: _from_z(b * ((pc + rc) - (pr + rr)), b, pc.size),
     "are subtracted, not added"),
    ("sum", lambda pc, pr, rc, rr, b: _from_z(b * ((pc - rc) - (pr - rr)), b, pc.size, np.sum),
     "the mean over the pairs, not the sum"),
    ("beta_outside", lambda pc, pr, rc, rr, b: _from_z((pc - rc) - (pr - rr), 1.0, pc.size,
                                                       outer=b),
     "beta multiplies the margin inside the sigmoid"),
    ("no_beta", lambda pc, pr, rc, rr, b: _from_z((pc - rc) - (pr - rr), 1.0, pc.size),
     "you left out beta"),
    ("grad_sigmoid_z", lambda pc, pr, rc, rr, b: (
        dpo_ok(pc, pr, rc, rr, b)[0],
        -b * np.exp(-np.logaddexp(0, -b * ((pc - rc) - (pr - rr)))) / pc.size,
        b * np.exp(-np.logaddexp(0, -b * ((pc - rc) - (pr - rr)))) / pc.size),
     "not -sigmoid(z)"),
    ("same_sign", lambda pc, pr, rc, rr, b: (dpo_ok(pc, pr, rc, rr, b)[0],
                                             dpo_ok(pc, pr, rc, rr, b)[1],
                                             dpo_ok(pc, pr, rc, rr, b)[1]),
     "the opposite of the chosen one's"),
    ("naive_overflow", _naive, "np.logaddexp(0, -z)"),
    ("one_value", lambda pc, pr, rc, rr, b: (dpo_ok(pc, pr, rc, rr, b)[0] * np.ones(pc.size),
                                             *dpo_ok(pc, pr, rc, rr, b)[1:]),
     "loss is a scalar"),
    ("pair", lambda pc, pr, rc, rr, b: dpo_ok(pc, pr, rc, rr, b)[:2], "expected a tuple"),
]


@pytest.mark.parametrize("fn", [dpo_ok, dpo_torch])
def test_dpo_correct_passes(fn, capsys):
    assert check.check_dpo_loss(fn) is True
    out = capsys.readouterr().out
    assert out.startswith("DPO loss: correct.") and "Hint" not in out


@pytest.mark.parametrize("name, fn, hint", DPO_MISTAKES, ids=[m[0] for m in DPO_MISTAKES])
def test_dpo_mistakes_fail_with_hint(name, fn, hint, capsys):
    assert check.check_dpo_loss(fn) is False
    out = capsys.readouterr().out
    assert out.startswith("DPO loss: not yet. Case "), out
    assert "Hint: " in out and hint in flat(out), out
    assert max(len(line) for line in out.splitlines()) <= 88


@pytest.mark.parametrize("checker", ["check_top_p", "check_dpo_loss"])
def test_shared_behaviour(checker, capsys):
    fn = getattr(check, checker)

    def boom(*args):
        raise RuntimeError("boom")
    assert fn(boom) is False
    assert "your function raised RuntimeError: boom" in flat(capsys.readouterr().out)
    with pytest.raises(ValueError, match=r"^fn: expected a callable"):
        fn(None)
    wrong = TOP_P_MISTAKES[1][1] if checker == "check_top_p" else DPO_MISTAKES[0][1]
    fn(wrong)
    first = capsys.readouterr().out
    fn(wrong)
    assert capsys.readouterr().out == first and checker in check.__all__
