"""Checks of the short answers (issue 17): both languages, short leads, the glossary's terms.

A short answer is the ``{admonition} Short answer · 简答`` block of a section (CONTRIBUTING.md,
/work/team/FORMAT.md). A bilingual one holds ``:::{container} answer-zh`` and
``:::{container} answer-en``; each opens with a lead (its first paragraph) of at most three
sentences. Where the English answer uses a term of the glossary (book/glossary.md, entries
``English (abbreviation) · 中文 (alternatives; notes)``), the Chinese answer uses the glossary's
Chinese term (or an alternative it lists), never a variant it flags ("mistranslated as ...").
Every test reports all the failures it finds, not only the first.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
from book_site import glossary_entries  # noqa: E402

sys.path.pop(0)

TWINS = sorted((ROOT / "notebooks").rglob("*.md"))
OPEN = re.compile(r"^(`{3,}|:{3,})\{admonition\}\s+Short answer(?: · 简答)?\s*$")
CONTAINER = re.compile(r"^:::\{container\} answer-(zh|en)\n(.*?)\n:::\s*$", re.M | re.S)
LABEL = re.compile(r"^\((s\d-[a-z0-9-]+|x-[a-z0-9]+-\d+)\)=\s*$")


def short_answers():
    """Every short-answer block: (where, body), where = "page.md:line (labels)"."""
    found = []
    for md in TWINS:
        lines = md.read_text(encoding="utf-8").split("\n")
        labels = []
        for i, line in enumerate(lines):
            m = LABEL.match(line)
            if m:
                labels.append(m.group(1).upper())
                continue
            if line.startswith("#"):
                heading_labels, labels = labels, []
                continue
            fence = OPEN.match(line)
            if not fence:
                continue
            k = i + 1
            while k < len(lines) and re.match(r"^:\w[\w-]*:", lines[k]):
                k += 1
            end = k
            while end < len(lines) and lines[end].strip() != fence.group(1):
                end += 1
            rel = md.relative_to(ROOT / "notebooks").as_posix()
            where = f"{rel}:{i + 1}" + (f" ({', '.join(heading_labels)})" if heading_labels else "")
            found.append((where, "\n".join(lines[k:end])))
    return found


ANSWERS = short_answers()


def languages(body: str) -> dict[str, str]:
    return {lang: text.strip("\n") for lang, text in CONTAINER.findall(body)}


BILINGUAL = [(w, languages(b)) for w, b in ANSWERS if "{container} answer-" in b]


def lead(text: str) -> str:
    """The first paragraph."""
    return re.split(r"\n\s*\n", text.strip(), maxsplit=1)[0]


def _plain(text: str) -> str:
    """Prose without maths, code and roles (their dots are not sentence ends)."""
    text = re.sub(r"\$\$.*?\$\$", " X ", text, flags=re.S)
    text = re.sub(r"\$[^$\n]+\$", " X ", text)
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", " X ", text)
    text = re.sub(r"`[^`]*`", " X ", text)
    return text


ABBREVIATIONS = re.compile(r"\b(e\.g|i\.e|etc|vs|cf|approx|resp|Fig|Eq|Eqs|Sec|No|et al|Dr|Mr|Ms)\.",
                           re.I)


def english_sentences(text: str) -> int:
    t = _plain(text)
    t = ABBREVIATIONS.sub(lambda m: m.group(1).replace(".", ""), t)
    t = re.sub(r"(?<=\d)\.(?=\d)", "", t)          # decimals 0.01
    t = re.sub(r"\.{3}|…", " ", t)                  # an ellipsis inside a sentence
    ends = re.findall(r"[.!?]+(?=[\s\"”’')\]]|$)", t)
    tail = re.split(r"[.!?]+(?=[\s\"”’')\]]|$)", t)[-1]
    return len(ends) + bool(re.search(r"\w", tail))


def chinese_sentences(text: str) -> int:
    t = _plain(text)
    ends = re.findall(r"[。！？]+|(?<=[\u4e00-\u9fff）」”])[!?]+", t)
    tail = re.split(r"[。！？]+|(?<=[\u4e00-\u9fff）」”])[!?]+", t)[-1]
    return len(ends) + bool(re.search(r"[\u4e00-\u9fff\w]", tail))


def test_sentence_counters():
    """The counters themselves: abbreviations, decimals and maths are not sentence ends."""
    assert english_sentences("A leaky ReLU has slope 0.01, e.g. for $x<0.5$. It is fine. Is it?") == 3
    assert english_sentences("Use `torch.no_grad()` i.e. no graph, vs. autograd") == 1
    assert english_sentences("Three. Sentences! Here? Four") == 4
    assert chinese_sentences("先算损失。再反向传播（e.g. 链式法则）！最后更新？") == 3
    assert chinese_sentences("学习率 0.01 时收敛。梯度 $\\nabla L = 0.5$ 时停止") == 2


def test_found_the_short_answers():
    assert len(ANSWERS) >= 50, len(ANSWERS)  # sanity: the parser finds the blocks


def test_bilingual_answers_hold_both_languages():
    """A short answer that uses the language containers has exactly one Chinese and one English
    answer, both non-empty, Chinese first."""
    bad = []
    for where, body in ANSWERS:
        if "{container} answer-" not in body:
            continue
        found = CONTAINER.findall(body)
        langs = [lang for lang, _ in found]
        if langs != ["zh", "en"] or not all(text.strip() for _, text in found):
            bad.append(f"{where}: containers {langs}")
        if not re.search(r"[\u4e00-\u9fff]", dict(found).get("zh", "")):
            bad.append(f"{where}: the answer-zh container has no Chinese text")
    assert not bad, "\n".join(bad)


def test_leads_have_at_most_three_sentences():
    """The lead (first paragraph) of each language: what you say in the first 20 seconds."""
    bad = []
    for where, langs in BILINGUAL:
        if "zh" in langs and (n := chinese_sentences(lead(langs["zh"]))) > 3:
            bad.append(f"{where}: Chinese lead has {n} sentences")
        if "en" in langs and (n := english_sentences(lead(langs["en"]))) > 3:
            bad.append(f"{where}: English lead has {n} sentences")
    assert not bad, "\n".join(bad)


GLOSSARY = glossary_entries(ROOT / "book" / "glossary.md")


def _english_pattern(form: str) -> re.Pattern:
    words = re.escape(form).replace(r"\-", "[-\\s]?").replace(r"\ ", "[-\\s]")
    case_sensitive = form.isupper() or any(c.isupper() for c in form[1:])  # BN, SGD, ReLU
    return re.compile(rf"(?<![\w-]){words}(?:s|es)?(?![\w-])", 0 if case_sensitive else re.I)


PATTERNS = sorted(((len(form), _english_pattern(form), form, entry)
                   for entry in GLOSSARY for form in entry["en"]),
                  key=lambda x: -x[0])


def _is_abbreviation(form: str) -> bool:
    """LSTM, SGD, ReLU, AUC, FLOPs, bf16: a single token with capitals after its first letter
    or with a digit."""
    return " " not in form and any(c.isupper() or c.isdigit() for c in form[1:])


def glossary_misses(zh: str, en: str) -> list[str]:
    """The glossary terms that the English answer uses and the Chinese answer does not render
    with the glossary's Chinese term; and, for those same terms, flagged variants that the
    Chinese answer uses (outside quotation marks).

    Chinese engineers say "LSTM", "SGD" or "AUC" in Chinese too: where the English answer uses a
    term only through its abbreviation, the abbreviation in the Chinese answer is accepted. A
    flagged variant is a miss only where the English answer uses the term it is flagged for
    (偏置 is wrong for the statistical bias of the bias-variance decomposition, right for a
    network's bias parameter)."""
    en = _plain(en)
    zh_low = re.sub(r"\s+", "", zh.lower())  # code spans count (`torch.autocast`); spaces do not
    unquoted = re.sub(r"「[^」]*」|“[^”]*”|\"[^\"]*\"", "", zh)
    misses, used = [], []
    for _, pattern, form, entry in PATTERNS:  # longest first: "batch normalization" before "batch"
        hit = pattern.search(en)
        if not hit:
            continue
        en = pattern.sub(lambda m: " " * len(m.group(0)), en)
        accepted = [a.lower() for a in entry["accepted"]]
        if _is_abbreviation(form):
            accepted.append(form.lower())
        if not any(re.sub(r"\s+", "", a) in zh_low for a in accepted):
            misses.append(f"'{hit.group(0)}' -> {entry['zh']}")
        if entry not in used:
            used.append(entry)
    for entry in used:
        for bad in entry["avoid"]:
            if re.search(r"[\u4e00-\u9fff]", bad) and bad in unquoted:
                misses.append(f"uses '{bad}', the glossary says {entry['zh']}")
    return misses


def test_glossary_parser():
    by_zh = {e["zh"]: e for e in GLOSSARY}
    bn = by_zh["批量归一化"]
    assert "BN" in bn["en"] and "Batch normalization" in bn["en"] and "批归一化" in bn["accepted"]
    assert "剩余连接" in by_zh["残差连接"]["avoid"]
    assert "Adam" in by_zh["Adam 优化器"]["accepted"]
    assert glossary_misses("用剩余连接。", "A residual connection.") == [
        "'residual connection' -> 残差连接", "uses '剩余连接', the glossary says 残差连接"]
    assert glossary_misses("批归一化（BN）和梯度下降。", "Batch normalization and gradient descent.") == []


def test_chinese_answers_use_the_glossary_terms():
    """Where the English answer names a glossary term, the Chinese answer uses the glossary's
    Chinese term (or an alternative it lists). Fix a miss in the answer, or, if the Chinese
    wording is the standard one, add it to the glossary entry as an alternative in parentheses."""
    bad = []
    for where, langs in BILINGUAL:
        if "zh" in langs and "en" in langs:
            bad += [f"{where}: {m}" for m in glossary_misses(langs["zh"], langs["en"])]
    assert not bad, f"{len(bad)} misses:\n" + "\n".join(bad)


def test_every_short_answer_is_bilingual():
    missing = [where for where, body in ANSWERS if "{container} answer-" not in body]
    assert not missing, f"{len(missing)} of {len(ANSWERS)} short answers are English only:\n" + "\n".join(missing)
