"""dlcore.decoding against torch (softmax, topk) and direct computations (Hugging Face's top-p
rule, exhaustive search); dlcore.ngram (Witten-Bell interpolation) against counting by hand."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from dlcore import decoding as D
from dlcore.ngram import NGramLM


def torch_top_p(logits, p):
    """Hugging Face's TopPLogitsWarper: sort ascending, drop the tail whose cumulative
    probability is <= 1 - p, always keep the most probable token."""
    z = torch.tensor(logits, dtype=torch.float64)
    sorted_logits, sorted_idx = torch.sort(z, descending=False)
    cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove = cum <= (1 - p)
    remove[..., -1:] = False
    mask = remove.scatter(-1, sorted_idx, remove)
    return z.masked_fill(mask, -float("inf")).numpy()


def test_temperature_softmax_matches_torch(rng):
    z = rng.standard_normal((4, 9)) * 3
    for t in (0.3, 1.0, 2.5):
        got = D.next_token_distribution(z, temperature=t)
        ref = torch.softmax(torch.tensor(z) / t, dim=-1).numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)


def test_temperature_limits():
    z = np.array([1.0, 3.0, 2.0, 3.0 - 1e-3])
    assert np.array_equal(D.next_token_distribution(z, temperature=0), [0, 1, 0, 0])
    near0 = D.next_token_distribution(z, temperature=1e-5)
    assert near0[1] > 1 - 1e-12                       # T -> 0: the argmax
    hot = D.next_token_distribution(z, temperature=1e6)
    np.testing.assert_allclose(hot, 0.25, atol=1e-5)  # T -> inf: uniform
    tie = D.next_token_distribution(np.array([2.0, 5.0, 5.0]), temperature=0)
    assert np.array_equal(tie, [0, 1, 0])             # ties to the lowest id


def test_top_k_matches_torch_topk(rng):
    z = rng.standard_normal((5, 12))
    for k in (1, 3, 12, 50):
        got = D.top_k_filter(z, k)
        kk = min(k, 12)
        idx = torch.topk(torch.tensor(z), kk, dim=-1).indices.numpy()
        ref = np.full_like(z, -np.inf)
        np.put_along_axis(ref, idx, np.take_along_axis(z, idx, axis=-1), axis=-1)
        assert np.array_equal(got, ref)
    tied = D.top_k_filter(np.array([1.0, 2.0, 2.0, 2.0]), 2)
    assert np.array_equal(np.isfinite(tied), [False, True, True, False])


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.9, 0.99, 1.0])
def test_top_p_matches_hugging_face_rule(rng, p):
    z = rng.standard_normal((50, 20)) * 2
    assert np.array_equal(D.top_p_filter(z, p), torch_top_p(z, p))


def test_top_p_keeps_the_smallest_set_with_mass_at_least_p(rng):
    for _ in range(200):
        z = rng.standard_normal(15) * rng.uniform(0.5, 4)
        p = rng.uniform(0.05, 1.0)
        kept = np.isfinite(D.top_p_filter(z, p))
        probs = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        k = kept.sum()
        top = np.sort(probs)[::-1]
        assert probs[kept].sum() >= p - 1e-12                  # mass at least p
        assert k == 1 or top[:k - 1].sum() < p                 # no smaller set reaches p
        assert probs[kept].min() >= probs[~kept].max(initial=0)  # the most probable ones


def test_filters_compose_temperature_then_top_k_then_top_p(rng):
    z = rng.standard_normal(30)
    got = D.next_token_distribution(z, temperature=0.7, top_k=10, top_p=0.8)
    ref = torch.softmax(torch.tensor(torch_top_p(D.top_k_filter(z / 0.7, 10), 0.8)), -1)
    np.testing.assert_allclose(got, ref.numpy(), rtol=1e-12, atol=1e-15)


def test_sampling_frequencies_match_the_renormalized_distribution():
    z = np.log(np.array([0.4, 0.25, 0.15, 0.1, 0.06, 0.04]))
    g = np.random.default_rng(0)
    n = 20000
    for kw in ({}, {"top_k": 3}, {"top_p": 0.7}, {"temperature": 0.5}):
        probs = D.next_token_distribution(z, **kw)
        counts = np.bincount([D.sample_next(z, g, **kw) for _ in range(n)], minlength=6)
        se = np.sqrt(probs * (1 - probs) / n)
        assert np.all(np.abs(counts / n - probs) <= 5 * se + 1e-12), (kw, counts / n, probs)
        assert np.all(counts[probs == 0] == 0)
        many = D.sample_next(z, np.random.default_rng(7), size=n, **kw)
        freq = np.bincount(many, minlength=6) / n
        assert many.dtype == np.int64 and np.all(np.abs(freq - probs) <= 5 * se + 1e-12)
    one_by_one = [D.sample_next(z, np.random.default_rng(3)) for _ in range(1)]
    assert one_by_one == list(D.sample_next(z, np.random.default_rng(3), size=1))


# ---------------------------------------------------------------- search on a toy model

V = 4
_TABLE = np.random.default_rng(3).dirichlet(np.full(V, 0.6), size=(V, V))   # p(t | prev 2)


def toy_model(tokens):
    a, b = (tokens[-2:] if len(tokens) >= 2 else [0] + tokens[-1:])
    return np.log(_TABLE[a, b])


def all_scores(prompt, n, eos=None):
    """Every continuation of up to n tokens (stopping at eos) with its log-probability."""
    out = []
    for length in range(1, n + 1):
        for cont in itertools.product(range(V), repeat=length):
            if eos is not None and (eos in cont[:-1] or (length < n and cont[-1] != eos)):
                continue
            if eos is None and length < n:
                continue
            out.append((list(cont), D.sequence_logprob(toy_model, prompt, cont)))
    return out


def test_beam_width_one_is_greedy():
    for prompt in ([1], [2, 3], [0, 0]):
        beam = D.beam_search(toy_model, prompt, 1, 6)
        assert beam[0][0] == D.greedy_decode(toy_model, prompt, 6)


@pytest.mark.parametrize("eos", [None, 2])
def test_a_full_beam_is_exact_search(eos):
    prompt, n = [1, 3], 4
    scores = all_scores(prompt, n, eos)
    best_cont, best = max(scores, key=lambda c: c[1])
    beam = D.beam_search(toy_model, prompt, V ** n, n, eos=eos)
    assert beam[0][0] == prompt + best_cont
    assert abs(beam[0][1] - best) < 1e-12
    assert abs(beam[0][1] - D.sequence_logprob(toy_model, prompt, best_cont)) < 1e-12


def test_beam_beats_or_ties_greedy_and_length_penalty_ranks(rng):
    for prompt in ([0], [1], [2], [3]):
        greedy = D.greedy_decode(toy_model, prompt, 5)
        g_score = D.sequence_logprob(toy_model, prompt, greedy[len(prompt):])
        b_tokens, b_score = D.beam_search(toy_model, prompt, 3, 5)[0]
        assert b_score >= g_score - 1e-12
    hyps = D.beam_search(toy_model, [1], 4, 5, eos=2, length_penalty=1.0)
    norms = [s / (len(t) - 1) for t, s in hyps]
    assert norms == sorted(norms, reverse=True)


def test_sequence_logprob_and_perplexity():
    cont = [2, 0, 1]
    direct = np.log(_TABLE[0, 1, 2]) + np.log(_TABLE[1, 2, 0]) + np.log(_TABLE[2, 0, 1])
    assert abs(D.sequence_logprob(toy_model, [1], cont) - direct) < 1e-12
    lp = np.log(np.array([0.5, 0.25, 0.125]))
    assert abs(D.perplexity(lp) - 4.0) < 1e-12                   # exp(mean NLL) = 2^2
    assert abs(D.perplexity(np.full(7, -np.log(13.0))) - 13.0) < 1e-9   # uniform over 13
    logits = torch.tensor(np.random.default_rng(1).standard_normal((6, 5)))
    target = torch.tensor([0, 4, 2, 2, 1, 3])
    ce = torch.nn.functional.cross_entropy(logits, target)
    lp_t = torch.log_softmax(logits, -1)[torch.arange(6), target].numpy()
    assert abs(D.perplexity(lp_t) - np.exp(ce.item())) < 1e-12


def test_sampling_decode_is_reproducible_and_stops_at_eos():
    a = D.sample_decode(toy_model, [1], 20, np.random.default_rng(5), top_p=0.9)
    b = D.sample_decode(toy_model, [1], 20, np.random.default_rng(5), top_p=0.9)
    assert a == b
    c = D.sample_decode(toy_model, [1], 50, np.random.default_rng(5), eos=0)
    assert c[-1] == 0 or len(c) == 51
    assert 0 not in c[1:-1]


# ---------------------------------------------------------------- n-gram model

def test_ngram_probabilities_by_hand():
    seqs = [[0, 1, 2, 1, 2], [1, 2, 0]]
    lm = NGramLM(2, vocab_size=3, alpha=0.5).fit(seqs)
    p1 = np.array([2.5, 3.5, 3.5]) / 9.5          # unigram counts 2, 3, 3 of 8, add-0.5
    np.testing.assert_allclose(lm.probs([]), p1, rtol=1e-14)
    # after 1: token 2 three times (3 counts, 1 distinct follower)
    np.testing.assert_allclose(lm.probs([0, 1]), (np.array([0, 0, 3]) + 1 * p1) / 4, rtol=1e-14)
    # after 2: tokens 1 and 0 once each (2 counts, 2 distinct followers)
    np.testing.assert_allclose(lm.probs([2]), (np.array([1, 1, 0]) + 2 * p1) / 4, rtol=1e-14)
    lm3 = NGramLM(3, vocab_size=3, alpha=0.5).fit(seqs)
    p2 = (np.array([0, 0, 3]) + 1 * p1) / 4
    # context (2, 1): token 2 once; context (0, 0) unseen -> the bigram model after 0
    np.testing.assert_allclose(lm3.probs([2, 1]), (np.array([0, 0, 1]) + 1 * p2) / 2, rtol=1e-14)
    np.testing.assert_allclose(lm3.probs([0, 0]), (np.array([0, 1, 0]) + p1) / 2, rtol=1e-14)
    for ctx in ([], [0], [1, 2], [2, 2], [2, 1]):
        row = lm3.probs(ctx)
        assert abs(row.sum() - 1) < 1e-14
        assert all(abs(lm3.prob(ctx, t) - row[t]) < 1e-15 for t in range(3))
    lp = lm3.token_logprobs([0, 1, 2])
    np.testing.assert_allclose(lp, np.log([lm3.probs([0])[1], lm3.probs([0, 1])[2]]), rtol=1e-14)


def test_ngram_uniform_limit_and_plugging_into_decoding():
    lm = NGramLM(1, vocab_size=5, alpha=1e9).fit([[0, 1, 2, 3, 4, 0, 1]])
    assert abs(D.perplexity(lm.token_logprobs([4, 3, 2, 1, 0])) - 5.0) < 1e-6
    lm = NGramLM(3, vocab_size=5, alpha=0.01).fit([[0, 1, 2, 3, 4] * 4])
    assert D.greedy_decode(lm.next_logprobs, [0, 1], 5) == [0, 1, 2, 3, 4, 0, 1]


@pytest.mark.parametrize("call, msg", [
    (lambda: D.apply_temperature([1.0, 2.0], 0), "temperature: expected a finite number > 0"),
    (lambda: D.next_token_distribution([1.0], temperature=-1), "temperature: expected"),
    (lambda: D.top_k_filter([1.0, 2.0], 0), "k: expected an integer >= 1"),
    (lambda: D.top_p_filter([1.0, 2.0], 0.0), r"p: expected a number in \(0, 1\]"),
    (lambda: D.top_p_filter([1.0, 2.0], 1.5), r"p: expected a number in \[0, 1\]"),
    (lambda: D.next_token_distribution([[[1.0]]]), "logits: expected a 1 or 2-D array"),
    (lambda: D.next_token_distribution([np.nan, 1.0]), "logits: expected finite values or -inf"),
    (lambda: D.next_token_distribution([-np.inf, -np.inf]), "every token is -inf"),
    (lambda: D.sample_next([[1.0, 2.0]], 0), r"logits: expected a 1-D array \(V,\)"),
    (lambda: D.sample_next([1.0, 2.0], 0, size=0), "size: expected an integer >= 1"),
    (lambda: D.greedy_decode(toy_model, "ab", 3), "prompt: expected a sequence of int"),
    (lambda: D.greedy_decode(toy_model, [1, -2], 3), r"prompt\[1\]: expected a non-negative"),
    (lambda: D.greedy_decode(toy_model, [1], -1), "max_new_tokens: expected an integer >= 0"),
    (lambda: D.greedy_decode("model", [1], 2), "next_logprobs: expected a callable"),
    (lambda: D.greedy_decode(lambda t: np.zeros((2, 2)), [1], 2),
     r"next_logprobs\(tokens\): expected shape \(V,\)"),
    (lambda: D.beam_search(toy_model, [1], 0, 3), "beam_width: expected an integer >= 1"),
    (lambda: D.beam_search(toy_model, [1], 2, 3, length_penalty=np.inf), "length_penalty"),
    (lambda: D.sequence_logprob(toy_model, [1], [9]), "outside the vocabulary of size 4"),
    (lambda: D.perplexity([]), "token_logprobs: expected at least one"),
    (lambda: D.perplexity([0.5]), r"token_logprobs: expected log-probabilities \(<= 0"),
    (lambda: NGramLM(0, 3), "order: expected an integer >= 1"),
    (lambda: NGramLM(2, 3, alpha=0), "alpha: expected a finite number > 0"),
    (lambda: NGramLM(2, 3).fit([[0, 3]]), r"sequences\[0\]\[1\]: expected a token id in \[0, 2\]"),
    (lambda: NGramLM(2, 3).fit("012"), "sequences: expected a list"),
    (lambda: NGramLM(2, 3).token_logprobs([1]), "tokens: expected at least 2 tokens"),
])
def test_bad_inputs(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()
