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
ANKI = ROOT / "_static" / "flashcards.apkg"
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
    ("attention", "Attention"),
    ("precision", "Number formats and mixed precision"),
    ("memory-parallel", "Memory and parallelism"),
    ("tokenization-decoding", "Tokenization and decoding"),
    ("finetuning", "Fine-tuning, quantization and alignment"),
]
# The filters above the index tables and the practice questions; _static/book.js makes them
# work (without JavaScript every question stays visible).
ORIGINS = ('<option value="">all questions</option><option value="seed">from the seed notes</option>'
           '<option value="beyond">beyond the seeds</option>')
FILTER_TEMPLATE = """<form id="question-filter" class="question-filter" aria-label="Filter the questions">
<label>Topic <select id="qf-topic"><option value="">all topics</option>{topics}</select></label>
<label>Level <select id="qf-level"><option value="">all levels</option>{levels}</select></label>
<label>Origin <select id="qf-origin">{origins}</select></label>
<output id="qf-count" aria-live="polite"></output>
</form>"""
PRACTICE_FILTER_TEMPLATE = """<form id="practice-filter" class="question-filter" aria-label="Choose the questions and the language">
<label>Language <select id="pf-lang" class="lang-select"><option value="both">中文 + English</option><option value="zh">中文</option><option value="en">English</option></select></label>
<label>Topic <select id="pf-topic"><option value="">all topics</option>{topics}</select></label>
<label>Level <select id="pf-level"><option value="">all levels</option>{levels}</select></label>
<label>Origin <select id="pf-origin">{origins}</select></label>
<output id="pf-count" aria-live="polite"></output>
</form>"""


SOURCES = {
    "S0": "“深度学习AI面试问答必备50题” (50 interview questions)",
    "S1": "“深度学习必会10题” (10 must-know questions)",
    "S2": "“深度学习面试八股文” (a standard-answer collection)",
    "S3": "exercises of chapter 4 of Qiu Xipeng's 《神经网络与深度学习》",
    "S4": "12 translated interview Q&As",
}
_OPTIONS = dict(
    topics="".join(f'<option value="{tag}">{title}</option>' for tag, title in TOPICS),
    levels="".join(f'<option value="{lv}">{lv}</option>' for lv in LEVELS), origins=ORIGINS)
FILTER = FILTER_TEMPLATE.format(**_OPTIONS)
PRACTICE_FILTER = PRACTICE_FILTER_TEMPLATE.format(**_OPTIONS)
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


def origin(q) -> str:
    """"seed" for a question of the seed notes (S0-S4), "beyond" for one beyond them (X-...)."""
    return "beyond" if q["id"].upper().startswith("X-") else "seed"


def source_cell(q) -> str:
    """The index's Source cell: the seed collection, or a link to where interviewers ask it."""
    if origin(q) == "seed":
        return f"seed notes {q['id'].split('-', 1)[0]}"
    url = (q.get("source") or "").strip()
    if not url:
        return "beyond the seeds"
    host = re.sub(r"^https?://(www\.)?", "", url).split("/", 1)[0]
    return f"[{host}]({url})"


def _jump_links(prefix: str, topics) -> list[str]:
    """A row of links to the topic sections (wraps on a phone): a container of {ref}s."""
    links = " ".join(f"{{ref}}`{short} <{prefix}{tag}>`" for tag, short in topics)
    return [":::{container} jump-links", links, ":::", ""]


SHORT_TOPIC = {
    "foundations": "Foundations", "activations": "Activations", "backprop-autodiff": "Backprop",
    "losses": "Losses", "gradient-descent": "Gradient descent", "optimizers": "Optimizers",
    "init-vanishing": "Init & vanishing", "normalization": "Normalization",
    "regularization": "Regularization", "cnn": "CNN", "rnn": "RNN", "metrics-data": "Metrics & data",
    "generative": "Generative", "pytorch-tools": "PyTorch",
}


def _ref_text(text: str) -> str:
    """Question text usable inside {ref}`text <label>`: no backticks, no angle brackets."""
    return text.replace("`", "").replace("<", "‹").replace(">", "›")


def render() -> str:
    questions = load_questions()
    answered = answered_labels()
    known = {q["id"].lower() for q in questions}
    unknown = sorted(set(answered) - known)
    if unknown:
        raise SystemExit(f"labels in notebooks that are not question IDs in {CSV.name}: {unknown}")
    n_done = sum(q["id"].lower() in answered for q in questions)
    n_seed = sum(origin(q) == "seed" for q in questions)
    errata = errata_labels()
    out = [
        "<!-- Generated by scripts/build_index.py from book/_data/questions.csv and the chapters' labels. Do not edit. -->",
        "",
        "(question-index)=",
        "# Question index",
        "",
        (f"Every question the book answers, by topic: {len(questions)} questions, "
         + (f"{n_seed} from the seed notes and {len(questions) - n_seed} beyond them. "
            if n_seed < len(questions) else "all from the seed notes so far. ")
         if n_done == len(questions) else
         f"Every question of the book, by topic: **{n_done} of {len(questions)} answered** so far; "
         "the others are planned and will link to their section when it lands. ")
        + "Each question links to the section that answers it. "
        "*Level* says what an interviewer expects: **basic** (a definition), **core** (a derivation or an argument), "
        "**advanced** (a follow-up that separates strong candidates). *Erratum* links to the correction of an error "
        "the seed notes make on that question.",
        "",
        *_jump_links("topic-", [(tag, SHORT_TOPIC.get(tag, title)) for tag, title in TOPICS
                                if any(q["topic"] == tag for q in questions)]),
        FILTER,
        "",
        "IDs are stable: `S0`–`S4` name the five source collections, "
        + "; ".join(f"`{k}` = {v}" for k, v in SOURCES.items())
        + ". `X-...` questions go beyond the seed notes: interviewers ask them today (the *Source* "
        "column links to where). Errors found in the seed notes are listed, by the same IDs, on the "
        "{ref}`errata page <errata>`.",
        "",
    ]
    for tag, title in TOPICS:
        qs = [q for q in questions if q["topic"] == tag]
        if not qs:
            continue
        out += [f"(topic-{tag})=", f"## {title}", "",
                "| ID | 问题 | Question | Level | Source | Erratum |", "|---|---|---|---|---|---|"]
        for q in qs:
            label = q["id"].lower()
            zh = q["zh"].replace("|", "\\|")
            en = q["en"].replace("|", "\\|")
            if label in answered:
                # a role's text cannot hold backticks or angle brackets: code spans become plain text
                zh, en = (f"{{ref}}`{_ref_text(t)} <{label}>`" for t in (zh, en))
            else:
                en += " (planned)"
            erratum = f"{{ref}}`erratum <errata-{label}>`" if label in errata else ""
            out.append(f"| {q['id']} | {zh} | {en} | {q['level']} | {source_cell(q)} | {erratum} |")
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
        f"All {n} questions of the book, by topic, as an interview drill. For each one: read the question, "
        "answer it aloud as you would in an interview (a minute or two), then open the dropdown and compare "
        "with the short answer. The *full proof* link leads to the section with the derivation and the code "
        "that checks it. Choose the answers' language (中文, English or both: the choice is remembered on "
        "every page of the book), a topic, a level, and whether the questions come from the seed notes or "
        "go beyond them.",
        "",
        "逐题练习：先读题，像面试一样口头作答（一两分钟），再展开下拉框对照简答。可选择中文、英文或双语"
        "（全书各页都会记住这个选择），也可按主题、难度和来源筛选。",
        "",
        "**Flashcards** for spaced repetition: the [Anki deck (.apkg)](../_static/flashcards.apkg) "
        "(*File → Import* in Anki; two cards per question, 中文 and English, so suspend one card type "
        "to drill in one language; the answers' maths renders in Anki; tags by topic, level and "
        "origin), or the same cards as [tab-separated text (.tsv)](../_static/flashcards.tsv).",
        "",
        *_jump_links("practice-topic-", [(tag, SHORT_TOPIC.get(tag, title)) for tag, title, _ in topics]),
        PRACTICE_FILTER,
        "",
    ]
    for tag, title, qs in topics:
        out += [f"(practice-topic-{tag})=", f"## {title}", ""]
        for q, body in qs:
            runs = re.findall(r"`+", body)
            fence = "`" * max(3, 1 + max((len(r) for r in runs), default=0))
            out += [
                f"::::{{container}} practice-item topic-{tag} level-{q['level']} origin-{origin(q)}",
                f"**{q['id']}** · *{q['level']}* · {{ref}}`full proof <{q['id'].lower()}>`",
                "",
                ":::{container} q-zh",
                q["zh"],
                ":::",
                "",
                ":::{container} q-en",
                q["en"],
                ":::",
                "",
                f"{fence}{{admonition}} Answer · 答案",
                ":class: dropdown",
                "",
                body.strip("\n"),
                fence,
                "::::",
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


def site_url() -> str:
    """The published website's address: GitHub Pages' default for the repository in _config.yml
    (_ext/book_site.py's pages_url states the assumption)."""
    sys.path.insert(0, str(ROOT / "_ext"))
    try:
        from book_site import pages_url
    finally:
        sys.path.pop(0)
    m = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", (ROOT / "_config.yml").read_text(encoding="utf-8"), re.M)
    return pages_url(m.group(1))


def flashcard_notes():
    """One dict per answered question: ID, both wordings, both answers as Anki HTML (an answer
    that is not yet bilingual is English only), the section's URL on the website, and tags."""
    base = site_url()
    pages = answered_labels()
    notes = []
    for tag, _, qs in answered_questions():
        for q, body in qs:
            label = q["id"].lower()
            langs = split_languages(body)
            notes.append({
                "id": q["id"], "zh": q["zh"], "en": q["en"],
                "answer_zh": to_anki(langs["zh"]) if "zh" in langs else "",
                "answer_en": to_anki(langs["en"]) if "en" in langs else "",
                "url": f"{base}notebooks/{pages[label]}.html#{label}",
                "tags": ["dl-interview", tag, f"level::{q['level']}",
                         "seed" if origin(q) == "seed" else "beyond-seeds"],
                "level": q["level"], "topic": tag,
            })
    return notes


def render_flashcards() -> str:
    """The flashcards as Anki's tab-separated import format: front (ID, 中文, English), back (the
    Chinese answer, a rule, the English answer, the link), tags."""
    out = ["#separator:tab", "#html:true", "#tags column:3"]
    for n in flashcard_notes():
        front = "<br>".join(_html_escape(x) for x in (n["id"], n["zh"], n["en"]))
        answers = [f'<div class="{lang}">{n["answer_" + lang]}</div>' for lang in ("zh", "en")
                   if n["answer_" + lang]]
        back = "<hr>".join(answers) + f'<br><a href="{n["url"]}">full proof</a>'
        out.append(f"{front}\t{back}\t{' '.join(n['tags'])}")
    return "\n".join(out) + "\n"


# The Anki deck (genanki). The model and deck IDs are fixed constants: Anki recognises a
# re-imported deck by them (and each note by its guid, derived from the question ID), so a
# reader who imports a newer deck gets the answers updated instead of every card duplicated.
# The timestamp is fixed too, and the zip is written with fixed dates: the same sources give
# the same file, byte for byte (genanki's write_to_file stamps the zip with the current time).
ANKI_MODEL_ID = 1607392319
ANKI_DECK_ID = 2059400110
ANKI_TIMESTAMP = 1767225600  # 2026-01-01T00:00:00Z
ANKI_DECK_NAME = "Deep-Learning Interview Questions, Proven in Code"
ANKI_FIELDS = ["ID", "QuestionZh", "QuestionEn", "AnswerZh", "AnswerEn", "Link", "Level", "Topic"]
_ANKI_FRONT = ('<div class="qid">{{ID}} · {{Level}}</div><div class="qzh">{{QuestionZh}}</div>'
               '<div class="qen">{{QuestionEn}}</div>')
ANKI_TEMPLATES = [
    # the Chinese card exists only when the question has a Chinese answer (Anki makes no card
    # whose front renders empty)
    {"name": "中文", "qfmt": "{{#AnswerZh}}" + _ANKI_FRONT + "{{/AnswerZh}}",
     "afmt": '{{FrontSide}}<hr id="answer"><div class="answer zh">{{AnswerZh}}</div>'
             '<p class="link"><a href="{{Link}}">完整推导与代码 · full proof</a></p>'},
    {"name": "English", "qfmt": _ANKI_FRONT,
     "afmt": '{{FrontSide}}<hr id="answer"><div class="answer en">{{AnswerEn}}</div>'
             '<p class="link"><a href="{{Link}}">full proof</a></p>'},
]
ANKI_CSS = """.card { font-family: -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", sans-serif;
  font-size: 18px; text-align: left; color: #222; background: #fff; line-height: 1.5; }
.qid { color: #777; font-size: 14px; }
.qzh { font-size: 20px; margin: 6px 0; }
.qen { font-style: italic; }
.link { font-size: 14px; }
.nightMode .card, .night_mode .card { color: #eee; background: #222; }
"""


def anki_package() -> bytes:
    """The .apkg file (a zip holding a SQLite collection) as bytes."""
    import io
    import itertools
    import sqlite3
    import tempfile
    import zipfile

    import genanki

    model = genanki.Model(ANKI_MODEL_ID, "dl-interview-proofs (中文 + English)",
                          fields=[{"name": f} for f in ANKI_FIELDS], templates=ANKI_TEMPLATES,
                          css=ANKI_CSS)
    deck = genanki.Deck(ANKI_DECK_ID, ANKI_DECK_NAME,
                        description="Every answer derived, then checked by running code: " + site_url())
    for n in flashcard_notes():
        fields = [n["id"], _html_escape(n["zh"]), _html_escape(n["en"]), n["answer_zh"], n["answer_en"],
                  n["url"], n["level"], n["topic"]]
        deck.add_note(genanki.Note(model=model, fields=fields, tags=n["tags"],
                                   guid=genanki.guid_for("dl-interview-proofs", n["id"])))
    with tempfile.TemporaryDirectory() as tmp:
        db = pathlib.Path(tmp) / "collection.anki2"
        conn = sqlite3.connect(db)
        genanki.Package(deck).write_to_db(conn.cursor(), ANKI_TIMESTAMP,
                                          itertools.count(ANKI_TIMESTAMP * 1000))
        conn.commit()
        conn.close()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for name, data in (("collection.anki2", db.read_bytes()), ("media", b"{}")):
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                z.writestr(info, data)
    return buf.getvalue()


def anki_notes(data: bytes) -> list[tuple]:
    """The notes of an .apkg as (guid, model id, fields, tags) rows, sorted: what --check and the
    tests compare (the SQLite bytes could differ across SQLite versions, the content cannot)."""
    import io
    import sqlite3
    import tempfile
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z, tempfile.TemporaryDirectory() as tmp:
        db = pathlib.Path(tmp) / "c.anki2"
        db.write_bytes(z.read("collection.anki2"))
        conn = sqlite3.connect(db)
        try:
            rows = conn.execute("SELECT guid, mid, flds, tags FROM notes").fetchall()
        finally:
            conn.close()
    return sorted(rows)


def outputs():
    """Every generated file with its expected content (text, or bytes for the Anki deck)."""
    return {PAGE: render(), PRACTICE: render_practice(), FLASHCARDS: render_flashcards(),
            ANKI: anki_package()}


def _is_fresh(path, content) -> bool:
    if not path.exists():
        return False
    if isinstance(content, bytes):
        return anki_notes(path.read_bytes()) == anki_notes(content)
    return path.read_text(encoding="utf-8") == content


def main(argv):
    files = outputs()
    if "--check" in argv:
        stale = [path.relative_to(ROOT).as_posix() for path, content in files.items()
                 if not _is_fresh(path, content)]
        if stale:
            print(f"{', '.join(stale)} stale: run python scripts/build_index.py", file=sys.stderr)
            return 1
        return 0
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            with path.open("w", encoding="utf-8", newline="\n") as f:
                f.write(content)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
