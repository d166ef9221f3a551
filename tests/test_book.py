"""Checks of the book's sources: Jupytext pairs in sync, outputs stored, index up to date."""
from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import jupytext
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
TWINS = sorted((ROOT / "notebooks").rglob("*.md"))
# A chapter is a folder notebooks/<chapter>/ with a landing page index.md and section pages.
LANDINGS = sorted((ROOT / "notebooks").glob("*/index.md"))
QID = r"s\d-[a-z0-9-]+|x-[a-z0-9]+-\d+"  # seed IDs and questions beyond the seeds (X-ATT-01)


def _rel(p):
    return p.relative_to(ROOT / "notebooks").as_posix()


def _cells(path):
    return [(c.cell_type, c.source.strip()) for c in jupytext.read(path).cells]


def test_every_chapter_is_a_pair():
    assert NOTEBOOKS, "no notebooks found"
    assert {p.with_suffix("") for p in NOTEBOOKS} == {p.with_suffix("") for p in TWINS}


def test_notebooks_live_in_chapter_folders():
    """notebooks/<chapter>/<page>.{md,ipynb}; every chapter folder has a landing page index.md."""
    assert all(len(p.relative_to(ROOT / "notebooks").parts) == 2 for p in TWINS), [
        _rel(p) for p in TWINS if len(p.relative_to(ROOT / "notebooks").parts) != 2]
    assert {p.parent for p in TWINS} == {p.parent for p in LANDINGS}


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=_rel)
def test_jupytext_pair_in_sync(nb):
    """The .md (what people edit) and the .ipynb (what is rendered and nbval-checked) hold the same cells.
    Fix a failure with:  python scripts/run_notebook.py notebooks/<chapter>.md"""
    assert _cells(nb) == _cells(nb.with_suffix(".md"))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=_rel)
def test_outputs_are_stored(nb):
    """nbval compares stored outputs; a notebook saved without them would check nothing."""
    data = json.loads(nb.read_text(encoding="utf-8"))
    code = [c for c in data["cells"] if c["cell_type"] == "code"]
    # the Colab cell and the setup cell print nothing; of the rest, at least half print or plot
    assert sum(bool(c.get("outputs")) for c in code) >= max(1, (len(code) - 2) // 2)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=_rel)
def test_first_cell_installs_dlcore_only_in_colab(nb):
    cells = [c for c in jupytext.read(nb).cells if c.cell_type == "code"]
    first = cells[0]
    assert "remove-cell" in first.metadata.get("tags", [])
    assert '"google.colab" in sys.modules' in first.source
    # the install URL must be the repository the website's launch buttons point at
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    url = re.search(r"^\s+url:\s*(\S+)", config, re.M).group(1)
    assert f"dlcore @ git+{url}" in first.source, f"first cell must install from {url}"


def test_question_index_is_current():
    """book/questions.md is generated; regenerate it with:  python scripts/build_index.py"""
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_index.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_section_labels_are_seed_ids_and_unique():
    ids = {line.split(",", 1)[0].lower() for line in
           (ROOT / "book" / "_data" / "questions.csv").read_text(encoding="utf-8").splitlines()[1:]}
    seen = {}
    for md in TWINS:
        for label in re.findall(rf"^\(({QID})\)=\s*$", md.read_text(encoding="utf-8"), re.M):
            assert label in ids, f"{_rel(md)}: label {label} is not an ID in book/_data/questions.csv"
            assert label not in seen, f"{label} defined in {seen.get(label)} and {_rel(md)}"
            seen[label] = _rel(md)


@pytest.mark.parametrize("twin", TWINS + sorted((ROOT / "book").glob("*.md")),
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_display_math_starts_its_own_paragraph(twin):
    """MyST only parses $$...$$ as display math when it starts a block: a `$$` glued to the
    line above (common inside list items) renders as raw TeX on the website."""
    lines = twin.read_text(encoding="utf-8").split("\n")
    in_math, in_code = False, False
    for i, line in enumerate(lines):
        text = line.strip()
        if text.startswith("```"):
            in_code = not in_code
        if in_code or not text.startswith("$$"):
            continue
        one_line = len(text) > 4 and text.endswith("$$")
        if not in_math:
            assert i == 0 or not lines[i - 1].strip(), (
                f"{twin.name}:{i + 1}: put a blank line before the display math opening with $$")
            in_math = not one_line
        else:
            in_math = False


def _answered_ids():
    ids = [line.split(",", 1)[0] for line in
           (ROOT / "book" / "_data" / "questions.csv").read_text(encoding="utf-8").splitlines()[1:]]
    labels = set()
    for md in TWINS:
        labels |= set(re.findall(rf"^\(({QID})\)=\s*$", md.read_text(encoding="utf-8"), re.M))
    return [i for i in ids if i.lower() in labels]


def test_flashcards_have_one_clean_row_per_answered_question():
    """_static/flashcards.tsv is generated by scripts/build_index.py (an Anki import file): front
    (ID, 中文, English), back (the Chinese answer where there is one, the English answer, a link to
    the section), tags (dl-interview, topic, level::..., seed or beyond-seeds)."""
    lines = (ROOT / "_static" / "flashcards.tsv").read_text(encoding="utf-8").splitlines()
    header = [line for line in lines if line.startswith("#")]
    assert header == ["#separator:tab", "#html:true", "#tags column:3"]
    rows = [line.split("\t") for line in lines if not line.startswith("#")]
    assert all(len(row) == 3 for row in rows), "every card needs front, back and tags"
    fronts = [row[0].split("<br>", 1)[0] for row in rows]
    assert sorted(fronts) == sorted(_answered_ids())
    for front, back, tags in rows:
        qid = front.split("<br>", 1)[0]
        assert back.strip(), f"{front}: empty answer"
        assert not re.search(r"\{[\w:-]+\}`", front + back), f"{front}: raw MyST role left"
        assert "$" not in back, f"{front}: TeX not converted to Anki MathJax"
        assert f'#{qid.lower()}">full proof</a>' in back, f"{qid}: no link to its section"
        t = tags.split()
        assert t[0] == "dl-interview" and len(t) == 4 and t[2].startswith("level::"), tags
        assert t[3] == ("beyond-seeds" if qid.startswith("X-") else "seed"), tags
        if '<div class="zh">' in back:
            assert '<div class="en">' in back, f"{qid}: Chinese answer without the English one"


def test_practice_page_lists_every_answered_question():
    text = (ROOT / "book" / "practice.md").read_text(encoding="utf-8")
    for qid in _answered_ids():
        assert f"**{qid}**" in text, f"{qid} missing from book/practice.md"
        assert f"<{qid.lower()}>`" in text, f"{qid} has no link to its section"
    assert text.count("{admonition} Answer") == len(_answered_ids())


SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed notes (../shared/seeds) are not next to this checkout")
def test_seed_quotes_are_verbatim():
    """Every 「...」 quotation of the seed notes, in the chapters and on the errata page, occurs
    in the seed texts (whitespace ignored; an ellipsis separates quoted fragments)."""
    norm = lambda t: re.sub(r"\s+", "", t)  # noqa: E731
    seeds = norm("".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.iterdir())))
    bad = []
    for md in [ROOT / "book" / "errata.md", *TWINS]:
        text = md.read_text(encoding="utf-8")
        for m in re.finditer(r"「(.+?)」", text, re.S):
            parts = [norm(x) for x in re.split(r"…|\.\.\.", m.group(1)) if norm(x)]
            if not all(x in seeds for x in parts):
                bad.append(f"{md.name}:{text[:m.start()].count(chr(10)) + 1}: {m.group(1)[:60]}")
    assert not bad, "quotes not found in the seeds:\n" + "\n".join(bad)


@pytest.mark.parametrize("twin", LANDINGS, ids=_rel)
def test_every_chapter_has_a_self_check_exercise(twin):
    """Each chapter's landing page has a 'Self-check exercise' (a rubric: the landing page has no
    numbered sections, so that its section pages are numbered 3.1, 3.2, ...) whose hidden
    solution is run through a checker from dlcore.check (so CI executes the solution and the
    checker together)."""
    text = twin.read_text(encoding="utf-8")
    head = "\n```{rubric} Self-check exercise"
    assert head in text, f"{_rel(twin)}: no self-check exercise"
    assert not re.search(r"^#{2,} ", text, re.M), f"{_rel(twin)}: use rubrics, not ## headings"
    section = text.split(head, 1)[1]
    assert ":tags: [hide-input]" in section, f"{_rel(twin)}: the solution cell is not hidden"
    assert re.search(r"from dlcore\.check import check_\w+", section), _rel(twin)


@pytest.mark.parametrize("landing", LANDINGS, ids=_rel)
def test_landing_page_links_every_question_of_its_chapter(landing):
    """A chapter's landing page lists its questions: a {ref} to every question label defined on
    the chapter's section pages, and no section page defines a label in another chapter."""
    text = landing.read_text(encoding="utf-8")
    labels = set()
    for md in sorted(landing.parent.glob("*.md")):
        labels |= set(re.findall(rf"^\(({QID})\)=\s*$", md.read_text(encoding="utf-8"), re.M))
    linked = set(re.findall(rf"\{{ref\}}`[^`]*<({QID})>`", text))
    assert labels <= linked, f"{_rel(landing)} does not link {sorted(labels - linked)}"


def test_every_page_is_in_the_toc():
    """Every notebook page is listed in _toc.yml (only_build_toc_files would silently drop it)."""
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r"file:\s*notebooks/(\S+)", toc))
    assert {p.relative_to(ROOT / "notebooks").with_suffix("").as_posix() for p in TWINS} == listed


def test_errata_entries_are_complete_and_counted():
    """Every errata entry has a table row, a detail section with a severity and a proof link to
    a section that exists; the count in the page's introduction is the real count."""
    text = (ROOT / "book" / "errata.md").read_text(encoding="utf-8")
    sections = re.findall(r"^\(errata-([a-z0-9-]+)\)=\s*$", text, re.M)
    rows = re.findall(r"^\| \{ref\}`[^`]*<errata-([a-z0-9-]+)>`", text, re.M)
    assert sorted(sections) == sorted(rows) and len(set(rows)) == len(rows)
    blocks = re.split(r"(?m)^(?=\(errata-[a-z0-9-]+\)=\s*$)", text)[1:]
    labels = set()
    for md in TWINS:
        labels |= set(re.findall(r"^\(([a-z0-9_-]+)\)=\s*$", md.read_text(encoding="utf-8"), re.M))
    for block in blocks:
        assert "**Severity:**" in block, block[:60]
        proofs = re.findall(r"\{ref\}`[^`<]*<([a-z0-9_-]+)>`", block)
        assert any(p in labels for p in proofs), f"no proof link in {block[:60]!r}"
    m = re.search(r"each of\s+the (\d+) entries", text)
    assert m and int(m.group(1)) == len(sections), (m and m.group(1), len(sections))


def test_every_seed_correction_is_on_the_errata_page():
    """A "What the seed notes get wrong" box corrects a seed error, so the errata page has an
    entry for its section's question (or for a question the box names). Boxes that only add what
    the notes leave out are titled "What the seed notes leave out"."""
    errata = set(re.findall(r"^\(errata-([a-z0-9-]+)\)=\s*$",
                            (ROOT / "book" / "errata.md").read_text(encoding="utf-8"), re.M))
    bad = []
    for md in TWINS:
        lines = md.read_text(encoding="utf-8").split("\n")
        section, current, pending, fence = [], [], [], None
        for line in lines:  # the question labels of the section each line is in
            f = re.match(r"^(`{3,})", line)
            if f and fence is None and "{code-cell}" in line:
                fence = f.group(1)
            elif fence is not None and line.strip() == fence:
                fence = None
            elif fence is None:
                m = re.match(rf"^\(({QID})\)=\s*$", line)
                if m:
                    pending.append(m.group(1))
                elif line.startswith("## "):
                    current, pending = pending, []
                elif line.startswith("# "):
                    current, pending = [], []
            section.append(current)
        text = "\n".join(lines)
        for m in re.finditer(r"^(`{3,}|:{3,})\{admonition\}\s*What the seed notes get wrong\s*\n(.*?)^\1\s*$",
                             text, re.M | re.S):
            line_no = text[:m.start()].count("\n")
            named = {i.lower() for i in re.findall(r"\b(S\d-(?:Q\d+|[A-Z]+-\d+|\d+))\b", m.group(2))}
            if not (set(section[line_no]) | named) & errata:
                bad.append(f"{_rel(md)}:{line_no + 1} ({', '.join(section[line_no]) or 'no label'})")
    assert not bad, "seed corrections without an errata entry:\n" + "\n".join(bad)
