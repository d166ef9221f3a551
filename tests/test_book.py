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
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TWINS = sorted((ROOT / "notebooks").glob("*.md"))


def _cells(path):
    return [(c.cell_type, c.source.strip()) for c in jupytext.read(path).cells]


def test_every_chapter_is_a_pair():
    assert NOTEBOOKS, "no notebooks found"
    assert {p.stem for p in NOTEBOOKS} == {p.stem for p in TWINS}


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_jupytext_pair_in_sync(nb):
    """The .md (what people edit) and the .ipynb (what is rendered and nbval-checked) hold the same cells.
    Fix a failure with:  python scripts/run_notebook.py notebooks/<chapter>.md"""
    assert _cells(nb) == _cells(nb.with_suffix(".md"))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_stored(nb):
    """nbval compares stored outputs; a notebook saved without them would check nothing."""
    data = json.loads(nb.read_text(encoding="utf-8"))
    code = [c for c in data["cells"] if c["cell_type"] == "code"]
    assert sum(bool(c.get("outputs")) for c in code) >= len(code) // 2


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
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
        for label in re.findall(r"^\((s\d-[a-z0-9-]+)\)=\s*$", md.read_text(encoding="utf-8"), re.M):
            assert label in ids, f"{md.name}: label {label} is not a seed ID"
            assert label not in seen, f"{label} defined in {seen.get(label)} and {md.name}"
            seen[label] = md.name


@pytest.mark.parametrize("twin", TWINS + sorted((ROOT / "book").glob("*.md")), ids=lambda p: p.name)
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
