"""Small texts that ship with dlcore, for the tokenization and decoding chapter.

``book``: about 160 KB of the book's own prose (CC BY 4.0, like the rest of the book's text),
English and Chinese: every chapter's short answers in both languages and the two-language page
introductions, as parallel paragraphs (each Chinese paragraph followed by its English
version; ``parallel_pairs`` returns them), then the glossary, one entry per paragraph. It is a snapshot
assembled by ``scripts/build_corpus.py`` from the book's sources; notebooks read it here, so
their numbers do not change when a chapter is edited.

``load_text(name, part)`` returns the text, or a deterministic split of its paragraphs in
pairs of two (the Chinese and English versions of a text stay together): ``part="test"`` holds
every tenth pair (paragraphs 18-19, 38-39, 58-59, ... counting from 0), ``part="train"`` the
rest, so a model trained on one part is evaluated on text it has not seen, in both languages.
"""
from __future__ import annotations

from importlib import resources

__all__ = ["load_text", "paragraphs", "parallel_pairs", "NAMES"]

NAMES = ("book",)
_PARTS = ("all", "train", "test")


def paragraphs(name="book") -> list[str]:
    """The paragraphs of a corpus (blocks separated by a blank line), in order."""
    if name not in NAMES:
        raise ValueError(f"name: expected one of {list(NAMES)}, got {name!r}")
    text = resources.files(__name__).joinpath(f"{name}.txt").read_text(encoding="utf-8")
    return [p.strip("\n") for p in text.split("\n\n") if p.strip()]


def _cjk_share(paragraph: str) -> float:
    return sum("\u4e00" <= c <= "\u9fff" for c in paragraph) / max(1, len(paragraph))


def parallel_pairs(name="book") -> list[tuple[str, str]]:
    """The (Chinese, English) paragraph pairs at the start of the corpus: the same short
    answer or page introduction in both languages."""
    paras = paragraphs(name)
    pairs = []
    for zh, en in zip(paras[::2], paras[1::2]):
        if not (_cjk_share(zh) > 0.1 and _cjk_share(en) < 0.01):
            break
        pairs.append((zh, en))
    return pairs


def load_text(name="book", part="all") -> str:
    """The corpus ``name`` as one string (paragraphs joined by blank lines); ``part`` is
    ``"all"``, ``"train"`` (paragraphs i with (i // 2) % 10 != 9) or ``"test"`` (the rest)."""
    if part not in _PARTS:
        raise ValueError(f"part: expected one of {list(_PARTS)}, got {part!r}")
    paras = paragraphs(name)
    if part == "train":
        paras = [p for i, p in enumerate(paras) if (i // 2) % 10 != 9]
    elif part == "test":
        paras = [p for i, p in enumerate(paras) if (i // 2) % 10 == 9]
    return "\n\n".join(paras) + "\n"
