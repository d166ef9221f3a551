"""The whole book as one PDF (scripts/build_pdf.py: the single-page build printed by Chromium).

Uses ``$DLBOOK_PDF`` when set, else ``_build/html/dl-interview-proofs.pdf`` when it is newer than
every source; otherwise builds it (skipped when Chromium, or MathJax and npm, are missing: see
scripts/build_pdf.py). Checks its text layer with pypdf: enough pages, the chapters in reading
order, Chinese headings, typeset maths (an equation's symbols, no raw TeX) and the figures.
"""
from __future__ import annotations

import json
import os
import unicodedata
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PDF = ROOT / "_build" / "html" / "dl-interview-proofs.pdf"
pypdf = pytest.importorskip("pypdf")


def _sources():
    return [*ROOT.glob("notebooks/**/*.ipynb"), *ROOT.glob("book/*.md"), *ROOT.glob("_static/*"),
            *ROOT.glob("_ext/**/*"), ROOT / "_config.yml", ROOT / "_toc.yml",
            ROOT / "scripts" / "build_pdf.py"]


def _fresh(pdf: Path) -> bool:
    return pdf.is_file() and all(s.stat().st_mtime < pdf.stat().st_mtime
                                 for s in _sources() if s.is_file())


@pytest.fixture(scope="module")
def pdf() -> Path:
    if os.environ.get("DLBOOK_PDF"):
        return Path(os.environ["DLBOOK_PDF"])
    if _fresh(PDF):
        return PDF
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or (
        "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    has_mathjax = (os.environ.get("MATHJAX_ES5") and
                   (Path(os.environ["MATHJAX_ES5"]) / "tex-mml-chtml.js").is_file()) or shutil.which("npm")
    if not chromium or not has_mathjax:
        pytest.skip("building the PDF needs Chromium and MathJax (MATHJAX_ES5 or npm): "
                    "see scripts/build_pdf.py")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_pdf.py")], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return PDF


@pytest.fixture(scope="module")
def reader(pdf):
    return pypdf.PdfReader(pdf)


@pytest.fixture(scope="module")
def outline(reader):
    """The PDF's bookmarks (Chromium makes them from the headings): (depth, title, page index),
    in document order. Titles are compared without whitespace (Chromium repeats wrapped text)."""
    out = []

    def walk(items, depth=0):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                out.append((depth, _squash(item.title), reader.get_destination_page_number(item)))
    walk(reader.outline)
    return out


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


def _page_text(reader, index: int) -> str:
    return _squash(reader.pages[index].extract_text() or "")


def _toc_titles():
    """The H1 title of every page of _toc.yml under notebooks/ (landing and section pages), in
    toc order."""
    import yaml
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))

    def walk(entries):
        for e in entries:
            if "file" in e:
                yield e["file"]
            yield from walk(e.get("sections", []))
    titles = []
    for f in walk([c for part in toc["parts"] for c in part["chapters"]]):
        md = ROOT / f"{f}.md"
        if f.startswith("notebooks/") and md.is_file():
            m = re.search(r"^# (.+)$", md.read_text(encoding="utf-8"), re.M)
            titles.append(m.group(1).strip())
    return titles


def _find(outline, title, start=0):
    key = _squash(title)[:24]
    return next((i for i in range(start, len(outline)) if key in outline[i][1]), None)


def test_page_count(reader):
    n = len(reader.pages)
    assert n >= 400, f"only {n} pages: is the whole book in the PDF?"


def test_chapters_in_reading_order(outline):
    """Every chapter and section page is a bookmark, in the order of _toc.yml."""
    pos, missing, where = 0, [], []
    for title in _toc_titles():
        i = _find(outline, title, pos)
        if i is None:
            missing.append(title)
        else:
            where.append((title, outline[i][2]))
            pos = i + 1
    assert not missing, f"not in the PDF's outline, or out of order: {missing}"
    pages = [p for _, p in where]
    assert pages == sorted(pages), where


def test_chinese_heading_in_the_text_layer(reader, outline):
    """A Chinese heading is text (not an image) on the page its bookmark points to."""
    for title in ["Errata of common notes · 常见笔记勘误", "Interview practice · 面试练习"]:
        i = _find(outline, title)
        assert i is not None, title
        text = _page_text(reader, outline[i][2])
        assert _squash(title.split(" · ")[1]) in text, (title, text[:300])


def test_maths_is_typeset_text(reader, outline):
    """On the chain-rule pages, the equations are typeset symbols in the text layer (MathJax's
    output), and no raw TeX source is left."""
    i = _find(outline, "The chain rule · 链式法则")
    assert i is not None
    first = outline[i][2]
    text = "".join(_page_text(reader, k) for k in range(first, min(first + 4, len(reader.pages))))
    assert "∂L" in text and "∂" in text, text[:500]
    for raw in ["\\frac", "\\partial", "$$", "\\mathbf"]:
        assert raw not in text, f"raw TeX {raw!r} in the PDF"


def test_figures_are_in_the_pdf(reader):
    """At least as many images as the notebooks store figures (counted in the pages' resources,
    without decoding them)."""
    stored = 0
    for nb in (ROOT / "notebooks").rglob("*.ipynb"):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        stored += sum("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", []))
    seen = set()

    def images(resources):
        xobjects = resources.get("/XObject") if resources else None
        n = 0
        for ref in (xobjects.get_object().values() if xobjects else []):
            obj = ref.get_object()
            key = getattr(ref, "idnum", id(obj))
            if key in seen:
                continue
            seen.add(key)
            if obj.get("/Subtype") == "/Image" and obj.get("/Width", 0) >= 100:
                n += 1
            elif obj.get("/Subtype") == "/Form":
                n += images(obj.get("/Resources"))
        return n
    count = sum(images(page.get("/Resources")) for page in reader.pages)
    assert count >= stored, (count, stored)
