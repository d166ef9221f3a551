"""Assemble dlcore/corpus/book.txt, the small bilingual text the tokenization chapter trains on.

    python scripts/build_corpus.py [CHECKOUT]      # CHECKOUT defaults to this repository

The corpus is the book's own prose (CC BY 4.0, see LICENSE), taken from a checkout of the
book: every short answer of every chapter, in Chinese and in English (the ``answer-zh`` and
``answer-en`` containers of notebooks/**/*.md), the two-language introductions of the section
pages, and the glossary's entries. Parallel text first: each answer and each introduction as
two paragraphs, the Chinese one then the English one (``dlcore.corpus.parallel_pairs`` reads
them back); then the glossary, one entry per paragraph. Markup is removed: math (``$...$``), roles such as
``{ref}`text <label>``` (their text is kept), bold marks, links, and every 「...」 quotation
(those quote the seed notes, which are not the book's text). Paragraphs are separated by a
blank line. The committed file is a snapshot: the notebooks read it through
``dlcore.corpus.load_text`` and their numbers are computed on it, so rebuilding it changes
the tokenization chapter's outputs (rebuild only together with re-running that chapter).
"""
from __future__ import annotations

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "dlcore" / "corpus" / "book.txt"

ANSWER = re.compile(r"^:::\{container\} answer-(zh|en)\n(.*?)\n:::", re.S | re.M)
ROLE = re.compile(r"\{(?:ref|term|numref|doc)\}`([^`<]*?)\s*(?:<[^`]*>)?`")
CITE = re.compile(r"\s*\{cite(?::\w+)?\}`[^`]*`")
LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
ZH = re.compile(r"[\u4e00-\u9fff]")


SYMBOLS = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε",
           "varepsilon": "ε", "eta": "η", "theta": "θ", "lambda": "λ", "mu": "μ", "pi": "π",
           "sigma": "σ", "tau": "τ", "phi": "φ", "ell": "ℓ", "nabla": "∇", "partial": "∂",
           "times": "×", "cdot": "·", "to": "→", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥",
           "approx": "≈", "ne": "≠", "neq": "≠", "infty": "∞", "sqrt": "√", "sum": "Σ",
           "pm": "±", "in": "∈", "log": "log", "exp": "exp", "ln": "ln", "max": "max",
           "min": "min", "odot": "⊙", "top": "ᵀ"}


def inline_math(m: re.Match) -> str:
    """Short formulas become plain text (``$\\eta = 0.1$`` -> ``η = 0.1``); longer ones go."""
    s = m.group(1)
    s = re.sub(r"\\(?:mathrm|text|mathbf|operatorname|boldsymbol)\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"\\([A-Za-z]+)", lambda k: SYMBOLS.get(k.group(1), "\\" + k.group(1)), s)
    s = s.replace("{", "").replace("}", "").replace("_", "").strip()
    return f" {s} " if s and "\\" not in s and len(s) <= 40 else " "


def clean(text: str) -> str:
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$([^$\n]*)\$", inline_math, text)
    text = re.sub(r"「[^」]*」", " ", text)
    text = CITE.sub("", text)
    text = ROLE.sub(r"\1", text)
    text = LINK.sub(r"\1", text)
    text = text.replace("**", "").replace("`", "")
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" ([，。：；！？、）])", r"\1", text)
    text = re.sub(r"（ ", "（", text)
    return text.strip()


def paragraphs(block: str):
    """The paragraphs of a Markdown block, each joined into one line and cleaned."""
    for para in re.split(r"\n\s*\n", block):
        lines = [ln.strip() for ln in para.strip().splitlines()]
        if not lines or any(ln.startswith(("```", ":::", ":class:", "(", "#", "|")) for ln in lines[:1]):
            continue
        joined = clean(" ".join(lines))
        if len(joined) >= 20:
            yield joined


def joined(block: str) -> str:
    """The paragraphs of a block as one paragraph (one line)."""
    return " ".join(paragraphs(block))


def page_intro(text: str):
    """(Chinese, English): the sentences between a page's title and its first cell."""
    m = re.search(r"^# .*?\n(.*?)(?=^```|^\(|^##)", text, re.S | re.M)
    if not m:
        return None
    paras = list(paragraphs(m.group(1)))
    zh = " ".join(p for p in paras if ZH.search(p))
    en = " ".join(p for p in paras if not ZH.search(p))
    return (zh, en) if zh and en else None


def glossary(text: str):
    body = text.split("```{glossary}", 1)[1].split("\n```", 1)[0]
    for entry in re.split(r"\n\s*\n", body):
        lines = [ln for ln in entry.splitlines() if ln.strip() and not ln.startswith(":")]
        if len(lines) >= 2 and not lines[0].startswith(" "):
            head = clean(lines[0])
            definition = clean(" ".join(ln.strip() for ln in lines[1:]))
            yield f"{head}: {definition}"


def build(checkout: pathlib.Path) -> str:
    pairs = []
    for md in sorted((checkout / "notebooks").rglob("*.md")):
        text = md.read_text(encoding="utf-8")
        intro = page_intro(text)
        if intro:
            pairs.append(intro)
        blocks = ANSWER.findall(text)
        for (la, a), (lb, b) in zip(blocks[::2], blocks[1::2]):
            if (la, lb) == ("zh", "en") and joined(a) and joined(b):
                pairs.append((joined(a), joined(b)))
    seen, out = set(), []
    for zh, en in pairs:
        if zh not in seen:
            seen.add(zh)
            out += [zh, en]
    out += [g for g in glossary((checkout / "book" / "glossary.md").read_text(encoding="utf-8"))
            if g not in seen]
    return "\n\n".join(out) + "\n"


def main(argv):
    checkout = pathlib.Path(argv[1]).resolve() if len(argv) > 1 else ROOT
    text = build(checkout)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    n_zh = len(ZH.findall(text))
    print(f"{OUT.relative_to(ROOT)}: {len(text.encode('utf-8')):,} bytes, {len(text):,} characters "
          f"({n_zh:,} Chinese), {text.count(chr(10) * 2) + 1:,} paragraphs")


if __name__ == "__main__":
    main(sys.argv)
