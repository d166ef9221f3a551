"""Build the whole book as one PDF: a single-page HTML build printed by headless Chromium.

    python scripts/build_pdf.py                      # -> _build/html/dl-interview-proofs.pdf
    python scripts/build_pdf.py --out book.pdf --skip-build   # reuse _build/singlehtml

Why Chromium and not LaTeX: the website's own rendering (MathJax, the CJK fonts the browser test
already installs, figures, admonitions) is printed as the reader sees it, with no TeX
installation (xelatex with CJK fonts is several hundred MB of packages and minutes of CI), and the
browser is already in CI for tests/test_website.py. The page is the Sphinx ``singlehtml`` build
(the chapters in toc order, i.e. reading order), printed with the print rules of
_static/custom.css (short answers open, no buttons, hidden code cells left out).

Needs: Chromium (``$CHROMIUM``, /usr/bin/chromium, or ``chromium``/``google-chrome`` on PATH), a
CJK font (Debian: fonts-noto-cjk) and a local copy of MathJax 3's ``es5`` directory
(``$MATHJAX_ES5`` or --mathjax; else it is fetched with ``npm pack mathjax@3`` when npm exists):
the page loads MathJax from a CDN, which the build never contacts.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
PDF_NAME = "dl-interview-proofs.pdf"
MATHJAX_PREFIX = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/"


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


def build_singlehtml() -> Path:
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(ROOT), "--builder", "custom",
           "--custom-builder", "singlehtml"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-3000:] + proc.stderr[-3000:])
    return ROOT / "_build" / "singlehtml"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#666">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


PRINT_PAGE = "whole-book.html"


def print_pdf(site: Path, out: Path, chromium: str, mathjax: Path) -> int:
    from playwright.sync_api import sync_playwright

    # The singlehtml builder writes the book into <root doc>.html (book/intro.html) but with links
    # relative to the output root (_static/..., _images/...): print a copy placed at the root.
    import yaml
    root_doc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))["root"]
    shutil.copyfile(site / f"{root_doc}.html", site / PRINT_PAGE)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    local = urlparse(base).netloc

    def route(r):
        url = r.request.url
        if urlparse(url).netloc == local or url.startswith("data:"):
            return r.continue_()
        if url.startswith(MATHJAX_PREFIX):
            path = (mathjax / urlparse(url).path[len(urlparse(MATHJAX_PREFIX).path):]).resolve()
            if path.is_file() and mathjax.resolve() in path.parents:
                return r.fulfill(path=str(path), content_type="application/javascript")
            return r.fulfill(status=404, body="")
        return r.abort()  # never the network

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1000, "height": 1400})
            page.route("**/*", route)
            page.goto(base + PRINT_PAGE, wait_until="load", timeout=120_000)
            page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise",
                                   timeout=60_000)
            page.evaluate("MathJax.startup.promise")
            left = page.evaluate("""() => {
                const a = document.querySelector('article.bd-article').cloneNode(true);
                a.querySelectorAll('mjx-container, pre, code, .highlight, script').forEach(e => e.remove());
                return (a.textContent.match(/\\$\\$|\\\\frac|\\\\\\[/g) || []).length;
            }""")
            if left:
                raise SystemExit(f"{left} pieces of raw TeX left after MathJax: not printing")
            page.evaluate("""async () => {
                // Open every dropdown. Not by dispatching 'beforeprint': sphinx-togglebutton's
                // handler clicks each button and console.log()s each admonition, which Chromium
                // serialises over the DevTools connection, minutes for a whole book.
                document.querySelectorAll('details.toggle-details').forEach(d => { d.open = true; });
                document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
                document.querySelectorAll('.toggle-button-hidden')
                    .forEach(b => b.classList.remove('toggle-button-hidden'));
                await Promise.all([...document.images].map(i => { i.loading = 'eager';
                                                                 return i.decode().catch(() => null); }));
            }""")
            page.emulate_media(media="print")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(path=str(out), format="A4", print_background=True, outline=True, tagged=True,
                     margin={"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"},
                     display_header_footer=True, header_template="<span></span>",
                     footer_template=FOOTER)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    from pypdf import PdfReader
    return len(PdfReader(out).pages)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "_build" / "html" / PDF_NAME))
    ap.add_argument("--mathjax", default=None, help="MathJax 3 es5/ directory")
    ap.add_argument("--skip-build", action="store_true", help="reuse _build/singlehtml")
    args = ap.parse_args(argv)
    t0 = time.time()
    site = ROOT / "_build" / "singlehtml" if args.skip_build else build_singlehtml()
    t1 = time.time()
    pages = print_pdf(site, Path(args.out), find_chromium(), find_mathjax(args.mathjax))
    t2 = time.time()
    size = Path(args.out).stat().st_size / 1e6
    print(f"wrote {args.out}: {pages} pages, {size:.1f} MB "
          f"(singlehtml {t1 - t0:.0f} s, print {t2 - t1:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
