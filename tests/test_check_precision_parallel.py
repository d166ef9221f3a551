"""check_round_to_bf16 and check_ring_all_reduce: correct answers pass, typical mistakes fail
with the right hint."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcore import check


# ---------------------------------------------------------------- round to bf16

def bf16_bits(x):
    b = x.view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000
    return b.astype(np.uint32).view(np.float32)


def bf16_torch(x):
    return torch.from_numpy(x).to(torch.bfloat16).to(torch.float64).numpy()


def bf16_dlcore(x):
    from dlcore.precision import round_nearest
    return round_nearest(x.astype(np.float64), "bf16")


@pytest.mark.parametrize("fn", [bf16_bits, bf16_torch, bf16_dlcore])
def test_bf16_correct_passes(fn, capsys):
    assert check.check_round_to_bf16(fn) is True
    out = capsys.readouterr().out
    assert out.startswith("Round to bf16: correct.") and "Hint" not in out


def _chop(x):
    return (x.view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32)


def _half_up(x):
    b = x.view(np.uint32).astype(np.uint64)
    return (((b + 0x8000) & 0xFFFF0000).astype(np.uint32)).view(np.float32)


def _clamped(x):
    y = bf16_bits(x).astype(np.float64)
    return np.clip(y, -3.3895313892515355e38, 3.3895313892515355e38)


BF16_MISTAKES = [
    (lambda x: x, "nothing was rounded"),
    (_chop, "you truncated"),
    (_half_up, "ties must go to the even neighbour"),
    (lambda x: x.astype(np.float16), "that is float16"),
    (_clamped, "do not clamp them"),
    (lambda x: bf16_bits(x) * 1.001, "round to nearest, ties to even, on the bit pattern"),
]


@pytest.mark.parametrize("fn, hint", BF16_MISTAKES)
def test_bf16_mistakes_fail_with_hint(fn, hint, capsys):
    with np.errstate(all="ignore"):
        assert check.check_round_to_bf16(fn) is False
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("Round to bf16: not yet. Case ") and hint in out, out


def test_bf16_ties_case_catches_half_up(capsys):
    check.check_round_to_bf16(_half_up)
    assert "Case 2 of 4 (exact ties" in capsys.readouterr().out


@pytest.mark.parametrize("fn, text", [
    (lambda x: None, "expected an array of numbers"),
    (lambda x: bf16_bits(x)[:-1], "expected shape"),
    (lambda x: 1 / 0, "raised ZeroDivisionError"),
])
def test_bf16_bad_answers(fn, text, capsys):
    assert check.check_round_to_bf16(fn) is False
    assert text in " ".join(capsys.readouterr().out.split())


def test_bf16_not_callable_and_reproducible(capsys):
    with pytest.raises(ValueError, match="^fn: expected a callable"):
        check.check_round_to_bf16(3)
    check.check_round_to_bf16(_chop)
    first = capsys.readouterr().out
    check.check_round_to_bf16(_chop)
    assert capsys.readouterr().out == first


# ---------------------------------------------------------------- ring all-reduce

def ring_ok(buffers):
    from dlcore.parallel import ring_all_reduce
    return ring_all_reduce(buffers)[0]


def sum_ok(buffers):
    return [np.sum(buffers, axis=0) for _ in buffers]


@pytest.mark.parametrize("fn", [ring_ok, sum_ok])
def test_allreduce_correct_passes(fn, capsys):
    assert check.check_ring_all_reduce(fn) is True
    out = capsys.readouterr().out
    assert out.startswith("Ring all-reduce: correct.") and "Hint" not in out


def _reduce_scatter_only(buffers):
    p = len(buffers)
    total = np.sum(buffers, axis=0)
    out = []
    for r in range(p):
        chunks = np.array_split(buffers[r].copy(), p)
        chunks[r] = np.array_split(total, p)[r]
        out.append(np.concatenate(chunks))
    return out


def _wrong_chunk(buffers):
    out = sum_ok(buffers)
    if len(buffers) > 1:
        out[1] = out[1].copy()
        out[1][-1] += 1.0
    return out


ALLREDUCE_MISTAKES = [
    (lambda b: [np.mean(b, axis=0) for _ in b], "you returned the mean"),
    (lambda b: [np.sum(b, axis=0)] + [x for x in b[1:]], "that is a reduce"),
    (_reduce_scatter_only, "that is the reduce-scatter"),
    (_wrong_chunk, "in reduce-scatter step t, rank r sends chunk"),
    (lambda b: np.sum(b, axis=0), "expected a list of 2 arrays"),
    (lambda b: [np.sum(b)] * len(b), "rank 0's result is shape ()"),
    (lambda b: [np.sum(b, axis=0)[: len(b[0]) // len(b) * len(b)]] * len(b), "expected shape (7,)"),
]


@pytest.mark.parametrize("fn, hint", ALLREDUCE_MISTAKES)
def test_allreduce_mistakes_fail_with_hint(fn, hint, capsys):
    assert check.check_ring_all_reduce(fn) is False
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("Ring all-reduce: not yet. Case ") and hint in out, out


def test_allreduce_empty_chunks_hint(capsys):
    def by_n_over_p(buffers):
        p, n = len(buffers), len(buffers[0])
        size = n // p
        assert size > 0
        return sum_ok(buffers)
    assert check.check_ring_all_reduce(by_n_over_p) is False
    assert "some chunks are empty" in " ".join(capsys.readouterr().out.split())


def test_allreduce_not_callable():
    with pytest.raises(ValueError, match="^fn: expected a callable"):
        check.check_ring_all_reduce(None)
