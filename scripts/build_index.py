"""Generate book/questions.md, the question index, from the seed inventory and the chapters.

    python scripts/build_index.py          # rewrite the generated files
    python scripts/build_index.py --check  # exit 1 if a committed generated file is stale

Generated files: book/questions.md (the question index), book/practice.md (interview
practice: every answered question with its short answer in a dropdown) and
_static/flashcards.tsv (the same short answers as Anki-importable flashcards; Jupyter Book
copies the repository's _static/ folder into the website).

The inventory (ID, Chinese and English wording, topic, level) is book/_data/questions.csv. A
question counts as answered when a chapter's text twin (notebooks/*.md) carries the
MyST label that is its lower-cased ID, e.g. ``(s0-q12)=`` (chapters are folders of section
pages, notebooks/<chapter>/*.md). Answered questions link to
their section with ``{ref}``, so a label that disappears breaks the strict build.
A question's short answer is the ``{admonition} Short answer`` block that follows the
heading under its label (several labels may share one heading and so one short answer).
"""
from __future__ import annotations

import csv
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
CSV = ROOT / "book" / "_data" / "questions.csv"
PAGE = ROOT / "book" / "questions.md"
PRACTICE = ROOT / "book" / "practice.md"
FLASHCARDS = ROOT / "_static" / "flashcards.tsv"
ERRATA = ROOT / "book" / "errata.md"
LEVELS = ("basic", "core", "advanced")

TOPICS = [
    ("foundations", "Neural-network foundations"),
    ("activations", "Activation functions"),
    ("backprop-autodiff", "Backpropagation and automatic differentiation"),
    ("losses", "Loss functions"),
    ("gradient-descent", "Gradient descent, SGD and mini-batches"),
    ("optimizers", "Momentum, adaptive methods, Adam"),
    ("init-vanishing", "Vanishing and exploding gradients, initialization"),
    ("normalization", "Normalization"),
    ("regularization", "Overfitting and regularization"),
    ("cnn", "Convolutional networks"),
    ("rnn", "Recurrent networks"),
    ("metrics-data", "Metrics and data"),
    ("generative", "Generative models"),
    ("pytorch-tools", "PyTorch tools"),
    ("transformers", "Transformers"),
]
# The filter above the index tables; _static/question-filter.js makes it work (without
# JavaScript every question stays visible).
FILTER_TEMPLATE = """<form id="question-filter" class="question-filter" aria-label="Filter the questions">
<label>Topic <select id="qf-topic"><option value="">all topics</option>{topics}</select></label>
<label>Level <select id="qf-level"><option value="">all levels</option>{levels}</select></label>
<label><input type="checkbox" id="qf-answered"> answered only</label>
<output id="qf-count" aria-live="polite"></output>
</form>"""


SOURCES = {
    "S0": "“深度学习AI面试问答必备50题” (50 interview questions)",
    "S1": "“深度学习必会10题” (10 must-know questions)",
    "S2": "“深度学习面试八股文” (a standard-answer collection)",
    "S3": "exercises of chapter 4 of Qiu Xipeng's 《神经网络与深度学习》",
    "S4": "12 translated interview Q&As",
}
FILTER = FILTER_TEMPLATE.format(
    topics="".join(f'<option value="{tag}">{title}</option>' for tag, title in TOPICS),
    levels="".join(f'<option value="{lv}">{lv}</option>' for lv in LEVELS))
# Question IDs: seed IDs (S0-Q12, S2-NN-5) and questions beyond the seeds (X-ATT-01).
QID = r"s\d-[a-z0-9-]+|x-[a-z0-9]+-\d+"
LABEL = re.compile(rf"^\(({QID})\)=\s*$", re.M)


def chapter_texts():
    """Every notebook text twin (notebooks/<chapter>/<page>.md), in a stable order."""
    return sorted((ROOT / "notebooks").rglob("*.md"))


def load_questions():
    with CSV.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    tags = {tag for tag, _ in TOPICS}
    for row in rows:
        if row.get("level") not in LEVELS or row.get("topic") not in tags:
            raise SystemExit(f"{CSV.name}: {row.get('id')}: unknown level {row.get('level')!r} "
                             f"or topic {row.get('topic')!r}")
    return rows


def errata_labels():
    """Lower-cased question IDs that have an entry, labelled ``(errata-<id>)=``, on the errata page."""
    text = ERRATA.read_text(encoding="utf-8") if ERRATA.exists() else ""
    return set(re.findall(rf"^\(errata-({QID})\)=\s*$", text, re.M))


def answered_labels():
    """Map each lower-cased question label to the page (path under notebooks/, no suffix) that
    answers it."""
    found = {}
    for md in chapter_texts():
        for label in LABEL.findall(md.read_text(encoding="utf-8")):
            found[label] = md.relative_to(ROOT / "notebooks").with_suffix("").as_posix()
    return found


def short_answers():
    """Map each lower-cased question label to the markdown body of its section's short answer.

    The labels directly above a heading share that section's first ``Short answer`` admonition
    (looked for before the next heading). A section without one maps to None."""
    found = {}
    for md in chapter_texts():
        lines = md.read_text(encoding="utf-8").split("\n")
        pending = []
        for i, line in enumerate(lines):
            m = LABEL.match(line)
            if m:
                pending.append(m.group(1))
                continue
            if not pending or not line.strip():
                continue
            if not line.startswith("#"):
                raise SystemExit(f"{md.name}:{i + 1}: a question label must stand above a heading")
            body = None
            for j in range(i + 1, len(lines)):
                if lines[j].startswith("#"):
                    break
                fence = re.match(r"^(`{3,}|:{3,})\{admonition\}\s+Short answer(?: · 简答)?\s*$", lines[j])
                if fence:
                    k = j + 1
                    while k < len(lines) and re.match(r"^:\w[\w-]*:", lines[k]):
                        k += 1  # the directive's options (:class: ...)
                    end = k
                    while end < len(lines) and lines[end].strip() != fence.group(1):
                        end += 1
                    body = "\n".join(lines[k:end]).strip("\n")
                    break
            for label in pending:
                found[label] = body
            pending = []
    return found


ANSWER_LANG = re.compile(r"^:::\{container\} answer-(zh|en)\n(.*?)\n:::\s*$", re.M | re.S)


def split_languages(body: str) -> dict:
    """A short answer's body as {"zh": markdown, "en": markdown}. A bilingual answer holds two
    containers, ``:::{container} answer-zh`` and ``:::{container} answer-en``; an answer without
    them is English only (returned as {"en": body})."""
    found = {lang: text.strip("\n") for lang, text in ANSWER_LANG.findall(body)}
    return found if found else {"en": body.strip("\n")}


def render() -> str:
    questions = load_questions()
    answered = answered_labels()
    known = {q["id"].lower() for q in questions}
    unknown = sorted(set(answered) - known)
    if unknown:
        raise SystemExit(f"labels in notebooks that are not seed IDs: {unknown}")
    n_done = sum(q["id"].lower() in answered for q in questions)
    errata = errata_labels()
    out = [
        "<!-- Generated by scripts/build_index.py from book/_data/questions.csv and the chapters' labels. Do not edit. -->",
        "",
        "(question-index)=",
        "# Question index",
        "",
        (f"Every question from the seed notes, by topic: **all {len(questions)} answered**, each linking to "
         "its section. " if n_done == len(questions) else
         f"Every question from the seed notes, by topic: **{n_done} of {len(questions)} answered** so far. "
         "An answered question links to its section; the others are planned and will link here when their "
         "chapter lands. ")
        + 
        "*Level* says what an interviewer expects: **basic** (a definition), **core** (a derivation or an argument), "
        "**advanced** (a follow-up that separates strong candidates). *Erratum* links to the correction of an error "
        "the seed notes make on that question.",
        "",
        FILTER,
        "",
        "IDs are stable: `S0`–`S4` name the five source collections, "
        + "; ".join(f"`{k}` = {v}" for k, v in SOURCES.items())
        + ". Errors found in those notes are listed, by the same IDs, on the {ref}`errata page <errata>`.",
        "",
    ]
    for tag, title in TOPICS:
        qs = [q for q in questions if q["topic"] == tag]
        done = sum(q["id"].lower() in answered for q in qs)
        out += [f"(topic-{tag})=", f"## {title}", "", f"Topic `{tag}`: {done} of {len(qs)} answered.", "",
                "| ID | 问题 | Question | Level | Answer |", "|---|---|---|---|---|"]
        for q in qs:
            label = q["id"].lower()
            link = f"{{ref}}`answer <{label}>`" if label in answered else "planned"
            if label in errata:
                link += f" · {{ref}}`erratum <errata-{label}>`"
            zh = q["zh"].replace("|", "\\|")
            en = q["en"].replace("|", "\\|")
            out.append(f"| {q['id']} | {zh} | {en} | {q['level']} | {link} |")
        out.append("")
    return "\n".join(out)


def answered_questions():
    """(topic tag, topic title, [(question row, short answer markdown)]) for every topic that has
    answered questions, in index order."""
    questions = load_questions()
    answers = short_answers()
    missing = sorted(label for label, body in answers.items() if body is None)
    if missing:
        raise SystemExit(f"answered sections without a 'Short answer' admonition: {missing}")
    out = []
    for tag, title in TOPICS:
        qs = [(q, answers[q["id"].lower()]) for q in questions
              if q["topic"] == tag and q["id"].lower() in answers]
        if qs:
            out.append((tag, title, qs))
    return out


def render_practice() -> str:
    topics = answered_questions()
    n = sum(len(qs) for _, _, qs in topics)
    out = [
        "<!-- Generated by scripts/build_index.py from book/_data/questions.csv and the chapters' short answers. Do not edit. -->",
        "",
        "(practice)=",
        "# Interview practice · 面试练习",
        "",
        f"The {n} answered questions, by topic, as an interview drill. For each one: read the question, "
        "answer it aloud as you would in an interview (a minute or two), then open the dropdown and compare "
        "with the short answer. The *full proof* link leads to the section with the derivation and the code "
        "that checks it. Unanswered questions are listed, as planned, in the {ref}`question index <question-index>`.",
        "",
        "To drill with spaced repetition, [download the flashcards (Anki, TSV)](../_static/flashcards.tsv) "
        "and import them in Anki (*File → Import*): one card per question, the question on the front, "
        "the short answer on the back, tagged `dl-interview` and the topic.",
        "",
    ]
    for _, title, qs in topics:
        out += [f"## {title}", ""]
        for q, body in qs:
            runs = re.findall(r"`+", body)
            fence = "`" * max(3, 1 + max((len(r) for r in runs), default=0))
            out += [
                f"**{q['id']}** · {q['zh']} — {q['en']} · *{q['level']}* "
                f"({{ref}}`full proof <{q['id'].lower()}>`)",
                "",
                f"{fence}{{admonition}} Answer",
                ":class: dropdown",
                "",
                body.strip("\n"),
                fence,
                "",
            ]
    return "\n".join(out)


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.S)
ROLE = re.compile(r"\{(\w[\w:-]*)\}`([^`]*)`")


def to_anki(markdown: str) -> str:
    """A short answer's MyST markdown as one line of Anki HTML: $...$ -> \\(...\\), $$...$$ -> \\[...\\],
    citations dropped, other roles reduced to their text, **bold**/*italic*/`code` as HTML,
    soft line breaks as spaces and paragraph breaks as <br><br>."""
    pieces, pos = [], 0
    for m in MATH.finditer(markdown):
        pieces.append(("text", markdown[pos:m.start()]))
        if m.group(1) is not None:
            pieces.append(("math", "\\[" + " ".join(m.group(1).split()) + "\\]"))
        else:
            pieces.append(("math", "\\(" + " ".join(m.group(2).split()) + "\\)"))
        pos = m.end()
    pieces.append(("text", markdown[pos:]))
    out = []
    for kind, chunk in pieces:
        if kind == "math":
            out.append(_html_escape(chunk))
            continue
        chunk = re.sub(r"\s*\{cite(?::\w+)?\}`[^`]*`", "", chunk)
        chunk = ROLE.sub(lambda r: re.sub(r"\s*<[^<>]*>$", "", r.group(2)), chunk)
        chunk = _html_escape(chunk)
        chunk = re.sub(r"`([^`]+)`", r"<code>\1</code>", chunk)
        chunk = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", chunk, flags=re.S)
        chunk = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<i>\1</i>", chunk, flags=re.S)
        chunk = re.sub(r"\n\s*\n", "\x00", chunk)
        chunk = re.sub(r"\s*\n\s*", " ", chunk)
        out.append(chunk.replace("\x00", "<br><br>"))
    return "".join(out).replace("\t", " ").strip()


def render_flashcards() -> str:
    out = ["#separator:tab", "#html:true", "#tags column:3"]
    for tag, _, qs in answered_questions():
        for q, body in qs:
            front = "<br>".join(_html_escape(x) for x in (q["id"], q["zh"], q["en"]))
            tags = " ".join(t.replace(" ", "_") for t in ("dl-interview", tag))
            langs = split_languages(body)
            back = "<hr>".join(f'<div class="{lang}">{to_anki(text)}</div>' if len(langs) > 1
                               else to_anki(text) for lang, text in langs.items())
            out.append(f"{front}\t{back}\t{tags}")
    return "\n".join(out) + "\n"


def outputs():
    """Every generated file with its expected content."""
    return {PAGE: render(), PRACTICE: render_practice(), FLASHCARDS: render_flashcards()}


def main(argv):
    files = outputs()
    if "--check" in argv:
        stale = [path.relative_to(ROOT).as_posix() for path, text in files.items()
                 if not path.exists() or path.read_text(encoding="utf-8") != text]
        if stale:
            print(f"{', '.join(stale)} stale: run python scripts/build_index.py", file=sys.stderr)
            return 1
        return 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
