"""Build the whole book as one PDF: every page of the website, printed by headless Chromium.

    python scripts/build_pdf.py                  # -> _build/html/dl-interview-proofs.pdf
    python scripts/build_pdf.py --out book.pdf   # elsewhere

Needs the HTML build (`jupyter-book build .`, into _build/html). Each page of _toc.yml is printed
on its own, in reading order, with the print rules of _static/custom.css (short answers open, no
buttons, hidden code cells left out); pypdf then joins them into one file whose bookmarks follow
the book: part > chapter > section page > the page's own sections (found in the text layer).

Why page by page and not one single-page build: printing one 1,000-page document is superlinear
in Chromium (layout and tagging of one huge DOM) and needed a second Sphinx build; printing the
pages the website already has takes a fraction of the time and the same MathJax and fonts.
Why Chromium and not LaTeX: the website's own rendering (MathJax, the CJK fonts the browser test
already installs, figures, admonitions) is printed as the reader sees it, with no TeX
installation (xelatex with CJK fonts is several hundred MB of packages and minutes of CI), and the
browser is already in CI for tests/test_website.py.

Needs: Chromium (``$CHROMIUM``, /usr/bin/chromium, or ``chromium``/``google-chrome`` on PATH), a
TrueType CJK font (Debian: fonts-wqy-microhei) and a local copy of MathJax 3's ``es5`` directory
(``$MATHJAX_ES5`` or --mathjax; else it is fetched with ``npm pack mathjax@3`` when npm exists):
the pages load MathJax from a CDN, which the build never contacts.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from site_server import OFFLINE_ARGS, serve  # scripts/site_server.py

ROOT = Path(__file__).resolve().parents[1]
PDF_NAME = "dl-interview-proofs.pdf"


def find_chromium() -> str:
    for c in [os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
              shutil.which("chromium-browser"), shutil.which("google-chrome")]:
        if c and os.path.exists(c):
            return c
    raise SystemExit("no Chromium found: set CHROMIUM or apt-get install chromium fonts-noto-cjk")


def find_mathjax(given: str | None) -> Path:
    for c in [given, os.environ.get("MATHJAX_ES5")]:
        if c and (Path(c) / "tex-mml-chtml.js").is_file():
            return Path(c)
    if shutil.which("npm"):
        tmp = Path(tempfile.mkdtemp())
        subprocess.run(["npm", "pack", "mathjax@3", "--silent"], cwd=tmp, check=True,
                       capture_output=True)
        subprocess.run(["tar", "xzf", next(tmp.glob("mathjax-3*.tgz")).name], cwd=tmp, check=True)
        return tmp / "package" / "es5"
    raise SystemExit("no MathJax: set MATHJAX_ES5 to MathJax 3's es5/ directory (npm pack mathjax@3)")


def reading_order() -> list[tuple[str, int, str | None]]:
    """(document, depth, part caption or None) for every page of _toc.yml in reading order; depth
    0 for the root and chapters, 1 for section pages."""
    import yaml
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    out = [(toc["root"], 0, None)]

    def walk(entries, depth, caption):
        for e in entries:
            if "file" in e:
                out.append((e["file"], depth, caption))
                caption = None  # the part starts at its first page
            walk(e.get("sections", []), depth + 1, None)
    for part in toc["parts"]:
        walk(part["chapters"], 0, part.get("caption"))
    return out


FOOTER = ('<div style="font-size:7px;width:100%;text-align:center;color:#666">'
          '<span class="title"></span></div>')

# Open every dropdown and load every image before printing. Not by dispatching 'beforeprint':
# sphinx-togglebutton's handler clicks each button and console.log()s each admonition, which
# Chromium serialises over the DevTools connection, minutes for a whole book.
PREPARE = """async () => {
    document.querySelectorAll('details.toggle-details').forEach(d => { d.open = true; });
    document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
    document.querySelectorAll('.toggle-button-hidden')
        .forEach(b => b.classList.remove('toggle-button-hidden'));
    await Promise.all([...document.images].map(i => { i.loading = 'eager';
                                                     return i.decode().catch(() => null); }));
    // An internal link to every section makes Chromium write a named destination for it, which
    // tells join() on which sheet each section starts (no text extraction needed).
    const a = document.querySelector('article.bd-article');
    if (a) {
        const box = document.createElement('div');
        box.style.cssText = 'position:absolute;left:0;top:0;width:1px;height:1px;overflow:hidden;'
                          + 'color:transparent;font-size:1px';
        for (const h of a.querySelectorAll('h2')) {
            const id = h.closest('section') && h.closest('section').id;
            if (id) { const l = document.createElement('a'); l.href = '#' + id; l.textContent = '.';
                      box.appendChild(l); }
        }
        a.prepend(box);
    }
}"""
RAW_TEX = """() => {
    const a = document.querySelector('article.bd-article');
    if (!a) return 0;
    const c = a.cloneNode(true);
    c.querySelectorAll('mjx-container, pre, code, .highlight, script').forEach(e => e.remove());
    return (c.textContent.match(/\\$\\$|\\\\frac|\\\\\\[/g) || []).length;
}"""


TYPESET_REST = """() => {
    const todo = [...document.querySelectorAll('.math')].filter(m => !m.querySelector('mjx-container'));
    return todo.length ? MathJax.typesetPromise(todo) : null;
}"""


HEADINGS = """() => [...document.querySelectorAll('article.bd-article h1, article.bd-article h2')]
    .map(h => [h.tagName, h.textContent.replace(/#\\s*$/, '').trim(),
               (h.closest('section') && h.closest('section').id) || ''])"""


def print_pages(site: Path, tmp: Path, chromium: str, mathjax: Path) -> list[tuple]:
    """Print every page of the book into tmp/NNN.pdf; returns (pdf, depth, part caption,
    [(tag, heading text, section id)]) per page."""
    from playwright.sync_api import sync_playwright

    printed = []
    with serve(site, mathjax) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                     args=["--no-sandbox", "--disable-gpu",
                                           "--disable-background-networking", *OFFLINE_ARGS])
        context = browser.new_context(viewport={"width": 1000, "height": 1400})
        page = context.new_page()
        for i, (doc, depth, caption) in enumerate(reading_order()):
            html = site / f"{doc}.html"
            if not html.is_file():
                raise SystemExit(f"{html} missing: build the website first (jupyter-book build .)")
            page.goto(base + f"{doc}.html", wait_until="load", timeout=120_000)
            if page.evaluate("!!document.querySelector('script[src*=\"mathjax\"]')"):
                # Sphinx loads MathJax only on pages with maths
                page.wait_for_function(
                    "window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=60_000)
                page.evaluate("MathJax.startup.promise")
                # the practice page typesets an answer when it is opened (_static/book.js): the
                # rest now, and only the rest (typesetting a typeset expression again nests a copy
                # in its hidden MathML, mathjax/MathJax#2892)
                page.evaluate(TYPESET_REST)
            left = page.evaluate(RAW_TEX)
            if left:
                raise SystemExit(f"{doc}: {left} pieces of raw TeX left after MathJax: not printing")
            page.evaluate(PREPARE)
            headings = page.evaluate(HEADINGS)
            page.emulate_media(media="print")
            out = tmp / f"{i:03d}.pdf"
            # No tagged PDF (and so no Chromium outline): tagging doubles the print time;
            # join() builds the bookmarks instead.
            page.pdf(path=str(out), format="A4", print_background=True,
                     margin={"top": "14mm", "bottom": "14mm", "left": "14mm", "right": "14mm"},
                     display_header_footer=True, header_template="<span></span>",
                     footer_template=FOOTER)
            page.emulate_media(media="screen")
            printed.append((out, depth, caption, headings))
        browser.close()
    return printed


def _squash(text: str) -> str:
    import re
    import unicodedata
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def join(printed, out: Path) -> int:
    """One PDF with bookmarks part > chapter > section page > the page's sections. A page's
    bookmark points at its first sheet; a section's at the sheet of the named destination that
    PREPARE's links made Chromium write for it (else the first sheet whose text layer holds the
    section's title, searched forward from the previous section's sheet)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    part_item = chapter_item = None
    for pdf, depth, caption, headings in printed:
        reader = PdfReader(pdf)
        offset = len(writer.pages)
        writer.append(reader, import_outline=False)
        if caption:
            part_item = writer.add_outline_item(title=caption, page_number=offset)
        h1 = next((text for tag, text, _ in headings if tag == "H1"), pdf.stem)
        item = writer.add_outline_item(title=h1, page_number=offset,
                                       parent=part_item if depth == 0 else chapter_item)
        if depth == 0:
            chapter_item = item
        dests = {name.lstrip("/"): reader.get_destination_page_number(d)
                 for name, d in reader.named_destinations.items()}
        sheet, texts = 0, {}
        for tag, text, anchor in headings:
            if tag != "H2":
                continue
            if anchor in dests:          # the named destination PREPARE made Chromium write
                sheet = dests[anchor]
                writer.add_outline_item(title=text, page_number=offset + sheet, parent=item)
                continue
            key = _squash(text)[:24]     # else: the first sheet whose text holds the title
            for k in range(sheet, len(reader.pages)):
                if k not in texts:
                    texts[k] = _squash(reader.pages[k].extract_text() or "")
                if key and key in texts[k]:
                    sheet = k
                    writer.add_outline_item(title=text, page_number=offset + k, parent=item)
                    break
    writer.page_mode = "/UseOutlines"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as f:
        writer.write(f)
    return len(writer.pages)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "_build" / "html" / PDF_NAME))
    ap.add_argument("--site", default=str(ROOT / "_build" / "html"), help="the HTML build")
    ap.add_argument("--mathjax", default=None, help="MathJax 3 es5/ directory")
    args = ap.parse_args(argv)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        printed = print_pages(Path(args.site), Path(tmp), find_chromium(), find_mathjax(args.mathjax))
        t1 = time.time()
        pages = join(printed, Path(args.out))
    size = Path(args.out).stat().st_size / 1e6
    print(f"wrote {args.out}: {pages} pages from {len(printed)} web pages, {size:.1f} MB "
          f"(print {t1 - t0:.0f} s, join {time.time() - t1:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
