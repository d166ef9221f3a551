"""check_online_softmax_merge: a correct merge passes (also written with torch and with
logaddexp), every typical mistake fails with its hint, verdicts are reproducible and wrapped."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

from dlcore import check


def flat(text):
    return " ".join(text.split())


def _merge(m1, l1, o1, m2, l2, o2, *, mode="ok"):
    m = {"m_first": m1, "m_last": m2}.get(mode, np.maximum(m1, m2))
    if mode == "no_shift":
        a1, a2 = np.exp(m1), np.exp(m2)
        return m, (a1 * l1 + a2 * l2) / np.exp(m), (a1[..., None] * o1 + a2[..., None] * o2) \
            / np.exp(m)[..., None]
    a1, a2 = np.exp(m1 - m), np.exp(m2 - m)
    if mode == "upside_down":
        a1, a2 = np.exp(m - m1), np.exp(m - m2)
    l = l1 + l2 if mode == "l_unscaled" else a1 * l1 + a2 * l2
    o = o1 + o2 if mode == "o_unscaled" else a1[..., None] * o1 + a2[..., None] * o2
    if mode == "normalized":
        o = o / l[..., None]
    if mode == "no_newaxis":
        o = a1 * o1 + a2 * o2
    return m, l, o


def merge_torch(m1, l1, o1, m2, l2, o2):
    import torch
    t = [torch.tensor(a) for a in (m1, l1, o1, m2, l2, o2)]
    m = torch.maximum(t[0], t[3])
    a1, a2 = torch.exp(t[0] - m), torch.exp(t[3] - m)
    return m.numpy(), (a1 * t[1] + a2 * t[4]).numpy(), \
        (a1[..., None] * t[2] + a2[..., None] * t[5]).numpy()


def merge_log(m1, l1, o1, m2, l2, o2):          # through log-sums: another rounding
    m = np.maximum(m1, m2)
    with np.errstate(divide="ignore"):
        lse = np.logaddexp(m1 + np.log(l1), m2 + np.log(l2))
    w1, w2 = np.exp(m1 - m), np.exp(m2 - m)
    return m, np.exp(lse - m), w1[..., None] * o1 + w2[..., None] * o2


MISTAKES = [("l_unscaled", "l1 and l2 were added without rescaling"),
            ("o_unscaled", "o was not rescaled"),
            ("normalized", "you returned the normalized output o / l"),
            ("upside_down", "the factors are upside down"),
            ("no_shift", "exp(m1) overflows"),
            ("m_last", "the new running max is the larger of the two"),
            ("m_first", "the new running max is the larger of the two"),
            ("no_newaxis", "rescale o with a factor[..., None]")]


@pytest.mark.parametrize("fn", [lambda *a: _merge(*a), merge_torch, merge_log])
def test_correct_merges_pass(fn, capsys):
    assert check.check_online_softmax_merge(fn) is True
    out = capsys.readouterr().out
    assert out.startswith("Online-softmax merge: correct.") and "Hint" not in out
    assert max(len(line) for line in out.splitlines()) <= 88


@pytest.mark.parametrize("mode, hint", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistakes_fail_with_hint(mode, hint, capsys):
    assert check.check_online_softmax_merge(lambda *a: _merge(*a, mode=mode)) is False
    out = capsys.readouterr().out
    assert out.startswith("Online-softmax merge: not yet. Case "), out
    assert "Hint: " in out and hint in flat(out), out
    assert max(len(line) for line in out.splitlines()) <= 88


def test_shared_behaviour(capsys):
    def raises(*a):
        raise RuntimeError("boom")
    assert check.check_online_softmax_merge(raises) is False
    assert "your function raised RuntimeError: boom" in flat(capsys.readouterr().out)
    assert check.check_online_softmax_merge(lambda *a: a[:2]) is False
    assert "expected a tuple (m, l, o)" in flat(capsys.readouterr().out)
    assert check.check_online_softmax_merge(lambda *a: (a[0], a[1], a[2][..., :1])) is False
    assert "o has shape" in flat(capsys.readouterr().out)
    with pytest.raises(ValueError, match=r"^fn: expected a callable"):
        check.check_online_softmax_merge(3)
    bad = lambda *a: _merge(*a, mode="o_unscaled")                      # noqa: E731
    check.check_online_softmax_merge(bad)
    first = capsys.readouterr().out
    check.check_online_softmax_merge(bad)
    assert capsys.readouterr().out == first
    assert "check_online_softmax_merge" in check.__all__
    assert textwrap.dedent(first) == first
