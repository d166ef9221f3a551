"""dlcore.tokenize: byte-level BPE against a direct (slow) trainer, round trips, pre-tokenization;
dlcore.corpus: the shipped text and its split."""
from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings, strategies as st

from dlcore.corpus import load_text, paragraphs, parallel_pairs
from dlcore.tokenize import BPETokenizer, pretokenize, pretokenize_pattern, train_bpe

MIXED = ("Backpropagation computes gradients; 反向传播负责计算梯度，优化器负责更新。"
         " In 2024 we paid 1234567 tokens 😀🚀 for naïve café résumé, x_y = 3.14!\n\n\tend  ")


def direct_train(text, num_merges, digit_group=None, min_frequency=2):
    """The textbook algorithm: recount every pair after every merge, merge the most frequent
    (ties: the smallest pair), apply it to every chunk."""
    words = Counter(pretokenize(text, digit_group))
    seqs = {w: list(w.encode("utf-8")) for w in words}
    merges = []
    for i in range(num_merges):
        counts = Counter()
        for w, f in words.items():
            s = seqs[w]
            for p in zip(s, s[1:]):
                counts[p] += f
        if not counts:
            break
        best_count = max(counts.values())
        if best_count < min_frequency:
            break
        pair = min(p for p, c in counts.items() if c == best_count)
        merges.append(pair)
        for w in seqs:
            s, out, j = seqs[w], [], 0
            while j < len(s):
                if j + 1 < len(s) and (s[j], s[j + 1]) == pair:
                    out.append(256 + i)
                    j += 2
                else:
                    out.append(s[j])
                    j += 1
            seqs[w] = out
    return merges, seqs


def test_wikipedia_example_aaabdaaabac():
    # aa occurs 4 times -> Z; then ab (2) ties with (Z, a) (2): the smaller pair (97, 98) wins;
    # then ZY (2); every other pair occurs once, below min_frequency
    tok = train_bpe("aaabdaaabac", 10)
    assert tok.merges == [(97, 97), (97, 98), (256, 257)]
    assert tok.merge_counts == [4, 2, 2]
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99]
    assert tok.vocab[258] == b"aaab"


@pytest.mark.parametrize("digit_group", [None, 1, 3])
def test_incremental_trainer_equals_direct_trainer(digit_group):
    text = load_text("book")[:6000] + MIXED * 3
    fast = train_bpe(text, 150, digit_group=digit_group)
    merges, _ = direct_train(text, 150, digit_group=digit_group)
    assert fast.merges == merges


def test_encode_reproduces_the_training_segmentation_of_every_chunk():
    text = load_text("book")[:20000]
    tok = train_bpe(text, 300)
    merges, seqs = direct_train(text, 300)
    assert tok.merges == merges
    for chunk, seq in seqs.items():
        assert tok.encode(chunk) == seq, chunk


def test_round_trip_on_mixed_text_chinese_and_emoji():
    tok = train_bpe(load_text("book", "train"), 200)
    for s in (MIXED, load_text("book", "test"), "", " ", "中", "😀", "\x00\x7f"):
        assert tok.decode(tok.encode(s)) == s
    assert tok.decode_bytes(tok.encode(MIXED)) == MIXED.encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_round_trip_and_pretokenization_cover_any_string(s):
    assert "".join(pretokenize(s)) == s
    assert "".join(pretokenize(s, digit_group=3)) == s
    assert _TOK.decode(_TOK.encode(s)) == s


_TOK = train_bpe(MIXED * 5 + load_text("book")[:3000], 120)


def test_utf8_byte_counts_and_partial_characters():
    base = BPETokenizer()                        # no merges: one token per byte
    assert base.encode("a") == [97]
    assert len(base.encode("中")) == 3 and len(base.encode("😀")) == 4
    assert base.decode(base.encode("中")[:2]) == "\ufffd"        # a cut character
    assert base.token_str(base.encode("中")[0]) == "<e4>"
    with pytest.raises(UnicodeDecodeError):
        base.decode(base.encode("中")[:2], errors="strict")


def test_pretokenization_of_words_digits_and_chinese():
    assert pretokenize("Hello world, it's 12345!") == ["Hello", " world", ",", " it", "'s",
                                                       " 12345", "!"]
    assert pretokenize(" 12345", digit_group=1) == [" ", "1", "2", "3", "4", "5"]
    assert pretokenize("1234567", digit_group=3) == ["123", "456", "7"]
    assert pretokenize("反向传播，梯度。") == ["反向传播", "，", "梯度", "。"]
    assert pretokenize_pattern(2).findall("12345") == ["12", "34", "5"]


def test_vocab_and_merges_from_a_list():
    tok = BPETokenizer([(104, 105), (32, 256)])
    assert tok.vocab_size == 258 and tok.vocab[257] == b" hi"
    assert tok.encode("hi hi!") == [256, 257, 33]
    assert BPETokenizer([(105, 33)]).encode("hi!") == [104, 105, 33]     # "!" is its own chunk


def test_training_is_deterministic_and_stops_when_pairs_run_out():
    a = train_bpe(MIXED, 1000)
    b = train_bpe(MIXED, 1000)
    assert a.merges == b.merges and len(a.merges) < 1000       # ran out of repeated pairs
    assert min(a.merge_counts) >= 2
    assert train_bpe(MIXED, 1000, min_frequency=1).vocab_size > a.vocab_size


def test_corpus_ships_and_splits():
    paras = paragraphs("book")
    text = load_text("book")
    assert 50_000 < len(text.encode("utf-8")) < 200_000
    assert sum("\u4e00" <= c <= "\u9fff" for c in text) > 5000            # Chinese and English
    train, test = load_text("book", "train"), load_text("book", "test")
    assert len(train.split("\n\n")) + len(test.split("\n\n")) == len(paras)
    assert test.split("\n\n")[:2] == paras[18:20]                    # a (Chinese, English) pair
    pairs = parallel_pairs("book")
    assert len(pairs) > 100 and 2 * len(pairs) < len(paras)       # then the glossary
    cjk = lambda s: sum("\u4e00" <= c <= "\u9fff" for c in s)     # noqa: E731
    assert all(cjk(zh) > 0.1 * len(zh) and cjk(en) < 0.01 * len(en) for zh, en in pairs)


@pytest.mark.parametrize("call, msg", [
    (lambda: train_bpe(b"bytes", 3), "text: expected a str"),
    (lambda: train_bpe("abc", -1), "num_merges: expected an integer >= 0"),
    (lambda: train_bpe("abc", 2.0), "num_merges: expected an integer"),
    (lambda: train_bpe("abc", 2, min_frequency=0), "min_frequency: expected an integer >= 1"),
    (lambda: pretokenize("a", digit_group=0), "digit_group: expected an integer >= 1"),
    (lambda: BPETokenizer([(1, 2, 3)]), r"merges\[0\]: expected a pair"),
    (lambda: BPETokenizer([(256, 1)]), r"merges\[0\]: expected ids in \[0, 255\]"),
    (lambda: BPETokenizer().decode([256]), r"ids\[0\]: expected a token id in \[0, 255\]"),
    (lambda: BPETokenizer().decode([1.0]), r"ids\[0\]: expected an int token id"),
    (lambda: BPETokenizer().decode("ab"), "ids: expected a sequence of int token ids"),
    (lambda: BPETokenizer().decode([1], errors="bad"), "errors: expected"),
    (lambda: load_text("nope"), "name: expected one of"),
    (lambda: load_text("book", "dev"), "part: expected one of"),
])
def test_bad_inputs(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()
