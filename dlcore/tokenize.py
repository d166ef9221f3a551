"""A small byte-level byte-pair-encoding (BPE) tokenizer: train, encode, decode.

Byte-level BPE (GPT-2's scheme, after Sennrich et al.'s subword BPE) works on the UTF-8 bytes
of the text, so its base vocabulary is the 256 byte values and *every* string can be encoded:
there is no unknown token. Training repeats one step: count every adjacent pair of tokens in
the corpus, replace the most frequent pair by a new token, record the merge. The learned
vocabulary is the 256 bytes plus one token per merge (token ``256 + i`` is merge ``i``).

Three steps, as in GPT-2's tokenizer:

1. **Pre-tokenization.** A regular expression cuts the text into chunks (a word with its
   leading space, a run of digits, a run of punctuation, whitespace); merges never cross a
   chunk boundary, so " the" and "the." cannot become one token. Runs of letters include
   CJK characters, which are letters to Unicode (``str.isalpha``): Chinese, written without
   spaces, gives whole clauses as chunks. ``digit_group`` chooses how digits are chunked:
   ``None`` keeps a run of digits together (GPT-2), ``1`` cuts every digit apart (Llama 1
   and 2), ``3`` cuts runs into groups of at most three from the left (GPT-4's ``cl100k_base``).
2. **Training** (``train_bpe``) on the chunks, weighted by how often each occurs. The pair
   counts are updated incrementally (only the chunks that contain the merged pair are
   touched), so a few hundred merges on a 100 KB text take about a second.
   **Tie-breaking** is deterministic and documented: among the pairs with the highest count
   the smallest pair ``(a, b)`` of token ids (lexicographic order) is merged. Training stops
   early when no pair occurs at least ``min_frequency`` times.
3. **Encoding** (``BPETokenizer.encode``) applies the merges to each chunk in the order they
   were learned: repeatedly merge, left to right, every occurrence of the pair with the lowest
   merge rank. This reproduces exactly the segmentation the training run produced for every
   chunk of the training text (tests/test_tokenize.py checks it).

``decode`` joins the tokens' bytes and decodes them as UTF-8. A single token may hold part of
a multi-byte character (a Chinese character is 3 bytes, an emoji 4), so decoding tokens one at
a time can produce the replacement character U+FFFD (``errors="replace"``, the default) where
decoding the whole sequence gives the text back: ``decode(encode(s)) == s`` for every string.
"""
from __future__ import annotations

import heapq
import re
from collections import Counter

from ._validate import check_int

__all__ = ["BPETokenizer", "train_bpe", "pretokenize", "pretokenize_pattern"]

_CONTRACTIONS = r"'(?:s|t|re|ve|m|ll|d)"
_LETTERS = r" ?[^\W\d_]+"                     # letters (incl. CJK) with an optional leading space
_PUNCT = r" ?(?:[^\s\w]|_)+"                   # anything that is neither space nor letter/digit
_SPACE = r"\s+(?!\S)|\s+"                      # trailing whitespace, then any whitespace


def pretokenize_pattern(digit_group=None) -> re.Pattern:
    """The compiled pre-tokenization regex (GPT-2's pattern written for Python's ``re``).

    ``digit_group``: ``None`` (a run of digits is one chunk, with an optional leading space,
    as in GPT-2), ``1`` (one chunk per digit, as in Llama 1 and 2) or any ``k >= 1`` (runs of
    at most ``k`` digits, cut from the left: ``k = 3`` is GPT-4's ``cl100k_base``)."""
    if digit_group is None:
        digits = r" ?\d+"
    else:
        k = check_int(digit_group, "digit_group", min_value=1)
        digits = r"\d" if k == 1 else rf"\d{{1,{k}}}"
    return re.compile("|".join([_CONTRACTIONS, _LETTERS, digits, _PUNCT, _SPACE]))


def _check_text(text, name="text") -> str:
    if not isinstance(text, str):
        raise ValueError(f"{name}: expected a str, got {type(text).__name__}")
    return text


def pretokenize(text, digit_group=None) -> list[str]:
    """Cut ``text`` into the chunks BPE works on; ``"".join(chunks) == text``."""
    return pretokenize_pattern(digit_group).findall(_check_text(text))


def _merge_word(word, pair, new_id):
    """Replace every occurrence of ``pair`` in ``word`` (left to right, non-overlapping)."""
    a, b = pair
    out, i, n = [], 0, len(word)
    while i < n:
        if i + 1 < n and word[i] == a and word[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


def _merge_sites(word, pair, new_id):
    """``_merge_word`` that also returns where the merges happened: the start index of each
    merged occurrence in ``word`` and the index of each new token in the result."""
    a, b = pair
    out, sites, new_sites, i, n = [], [], [], 0, len(word)
    while i < n:
        if i + 1 < n and word[i] == a and word[i + 1] == b:
            sites.append(i)
            new_sites.append(len(out))
            out.append(new_id)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out, sites, new_sites



def _sequence(value, name) -> list:
    """A list from a list or tuple (a str, None, a number or another object is rejected)."""
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{name}: expected a list or tuple, got {type(value).__name__} {value!r}")
    return list(value)

class BPETokenizer:
    """A trained byte-level BPE: ``merges[i] = (a, b)`` created token ``256 + i``.

    Build one with ``train_bpe(text, num_merges)`` or from a list of merges. Attributes:
    ``merges`` (list of pairs), ``vocab`` (token id -> bytes), ``merge_counts`` (how often
    each pair occurred when it was merged; empty if the tokenizer was built from merges),
    ``digit_group`` (the pre-tokenization of digits, see ``pretokenize_pattern``).
    """

    def __init__(self, merges=(), digit_group=None, merge_counts=()):
        self.pattern = pretokenize_pattern(digit_group)
        self.digit_group = digit_group
        self.merges: list[tuple[int, int]] = []
        self.vocab: dict[int, bytes] = {i: bytes([i]) for i in range(256)}
        merges = _sequence(merges, "merges")
        merge_counts = _sequence(merge_counts, "merge_counts")
        if merge_counts and len(merge_counts) != len(merges):
            raise ValueError(f"merge_counts: expected one count per merge ({len(merges)}) or none, "
                             f"got {len(merge_counts)}")
        for i, pair in enumerate(merges):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"merges[{i}]: expected a pair of int token ids, got {pair!r}")
            a, b = (check_int(t, f"merges[{i}]") for t in pair)
            if not (0 <= a < 256 + i and 0 <= b < 256 + i):
                raise ValueError(f"merges[{i}]: expected ids in [0, {256 + i - 1}] (bytes and "
                                 f"earlier merges), got {pair!r}")
            self.merges.append((a, b))
            self.vocab[256 + i] = self.vocab[a] + self.vocab[b]
        self.ranks = {pair: i for i, pair in enumerate(self.merges)}
        self.merge_counts = [check_int(c, f"merge_counts[{i}]", min_value=0)
                             for i, c in enumerate(merge_counts)]
        self._cache: dict[str, tuple[int, ...]] = {}

    @property
    def vocab_size(self) -> int:
        return 256 + len(self.merges)

    def __repr__(self):
        return f"BPETokenizer(vocab_size={self.vocab_size}, digit_group={self.digit_group})"

    def pretokenize(self, text) -> list[str]:
        return self.pattern.findall(_check_text(text))

    def _encode_chunk(self, chunk: str) -> tuple[int, ...]:
        hit = self._cache.get(chunk)
        if hit is not None:
            return hit
        word = list(chunk.encode("utf-8"))
        ranks = self.ranks
        while len(word) > 1:
            best = min(zip(word, word[1:]), key=lambda p: ranks.get(p, len(ranks)))
            if best not in ranks:
                break
            word = _merge_word(word, best, 256 + ranks[best])
        out = tuple(word)
        self._cache[chunk] = out
        return out

    def encode(self, text) -> list[int]:
        """Token ids of ``text``: pre-tokenize, then apply the merges to each chunk by rank."""
        return [t for chunk in self.pretokenize(text) for t in self._encode_chunk(chunk)]

    def _check_ids(self, ids) -> list[int]:
        if isinstance(ids, (str, bytes)):
            raise ValueError(f"ids: expected a sequence of int token ids, got {type(ids).__name__}")
        try:
            ids = list(ids)
        except TypeError:
            raise ValueError(f"ids: expected a sequence of int token ids, "
                             f"got {type(ids).__name__}") from None
        for i, t in enumerate(ids):
            if isinstance(t, bool) or not hasattr(t, "__index__") or getattr(t, "ndim", 0):
                raise ValueError(f"ids[{i}]: expected an int token id, got {type(t).__name__} {t!r}")
            if not 0 <= int(t) < self.vocab_size:
                raise ValueError(f"ids[{i}]: expected a token id in [0, {self.vocab_size - 1}], "
                                 f"got {int(t)}")
        return [int(t) for t in ids]

    def decode_bytes(self, ids) -> bytes:
        """The bytes of the tokens, concatenated (always exact)."""
        return b"".join(self.vocab[t] for t in self._check_ids(ids))

    def decode(self, ids, errors="replace") -> str:
        """The text of the tokens: their bytes decoded as UTF-8 (``errors`` as in
        ``bytes.decode``; a token holding part of a character decodes to U+FFFD)."""
        if errors not in ("strict", "replace", "ignore", "backslashreplace"):
            raise ValueError(f"errors: expected 'strict', 'replace', 'ignore' or "
                             f"'backslashreplace', got {errors!r}")
        return self.decode_bytes(ids).decode("utf-8", errors=errors)

    def token_str(self, token) -> str:
        """A printable form of one token: its text, or its bytes as ``<e6 b8>`` when they are
        not a complete UTF-8 string (part of a multi-byte character)."""
        (t,) = self._check_ids([token])
        raw = self.vocab[t]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "<" + " ".join(f"{b:02x}" for b in raw) + ">"


def train_bpe(text, num_merges, digit_group=None, min_frequency=2) -> BPETokenizer:
    """Learn up to ``num_merges`` merges on ``text`` and return the tokenizer.

    Each step merges the most frequent adjacent pair of tokens (counted inside the
    pre-tokenized chunks, weighted by each chunk's frequency); ties go to the smallest pair
    of ids. Stops early when the best pair occurs fewer than ``min_frequency`` times."""
    text = _check_text(text)
    num_merges = check_int(num_merges, "num_merges", min_value=0)
    min_frequency = check_int(min_frequency, "min_frequency", min_value=1)
    pattern = pretokenize_pattern(digit_group)
    chunk_counts = Counter(pattern.findall(text))
    words = [list(chunk.encode("utf-8")) for chunk in chunk_counts]
    freqs = list(chunk_counts.values())

    counts: Counter = Counter()
    where: dict[tuple[int, int], set[int]] = {}
    for w, (word, f) in enumerate(zip(words, freqs)):
        for pair in zip(word, word[1:]):
            counts[pair] += f
            where.setdefault(pair, set()).add(w)
    heap = [(-c, pair) for pair, c in counts.items()]
    heapq.heapify(heap)

    merges, merge_counts = [], []
    while len(merges) < num_merges:
        best = None
        while heap:
            neg, pair = heapq.heappop(heap)
            if counts.get(pair, 0) == -neg and -neg > 0:   # an entry that is still current
                best = (pair, -neg)
                break
        if best is None or best[1] < min_frequency:
            break
        pair, count = best
        new_id = 256 + len(merges)
        merges.append(pair)
        merge_counts.append(count)
        changed = set()
        for w in sorted(where.pop(pair, ())):
            word, f = words[w], freqs[w]
            new_word, sites, new_sites = _merge_sites(word, pair, new_id)
            if not sites:                              # stale index entry
                continue
            words[w] = new_word
            # only the pairs that touch a merged position change: subtract the old ones,
            # add the new ones (pairs elsewhere in the chunk are the same before and after)
            n_old, n_new = len(word), len(new_word)
            for j in {j for m in sites for j in (m - 1, m, m + 1) if 0 <= j < n_old - 1}:
                p = (word[j], word[j + 1])
                counts[p] -= f
                changed.add(p)
            for j in {j for q in new_sites for j in (q - 1, q) if 0 <= j < n_new - 1}:
                p = (new_word[j], new_word[j + 1])
                counts[p] += f
                changed.add(p)
                where.setdefault(p, set()).add(w)
        for p in changed:
            c = counts[p]
            if c > 0:
                heapq.heappush(heap, (-c, p))
            else:
                del counts[p]
    return BPETokenizer(merges, digit_group=digit_group, merge_counts=merge_counts)
