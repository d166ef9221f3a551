"""Browser test of the built website (headless Chromium driven by Playwright).

Uses the site in ``$DLBOOK_HTML`` when that is set, else ``_build/html`` when it is newer than every source (notebooks/**/*.ipynb, book/*.md,
_config.yml, _toc.yml); otherwise builds the book into a temporary directory. The html is
served on 127.0.0.1 and the browser never touches the network: every non-loopback request
is aborted. MathJax comes from a CDN, so the math-rendering check needs a local copy of
MathJax 3's ``es5`` directory, given by the environment variable ``MATHJAX_ES5``
(e.g. the ``package/es5`` folder of the ``mathjax`` npm tarball); without it that single
check is skipped. Screenshots (desktop 1280x2000 and phone 390x844) of every page are saved
into ``screenshots/`` (gitignored), kept as CI artefacts.

Skipped as a whole when Chromium (``/usr/bin/chromium``) or the ``playwright`` Python
package is missing. No ``playwright install`` is needed: the system Chromium is used.
"""
from __future__ import annotations

import functools
import json
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else shutil.which("chromium")
if not CHROMIUM:
    pytest.skip("Chromium not found (/usr/bin/chromium or `chromium` on PATH); "
                "install it with `apt-get install chromium fonts-noto-cjk`", allow_module_level=True)
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover
    pytest.skip("the Python package `playwright` is not installed (pip install playwright)",
                allow_module_level=True)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
MATHJAX_PREFIX = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/"
MATHJAX_ES5 = os.environ.get("MATHJAX_ES5") or None
if MATHJAX_ES5 and not (Path(MATHJAX_ES5) / "tex-mml-chtml.js").is_file():
    MATHJAX_ES5 = None



def _toc_files():
    """Every file listed in _toc.yml (chapters and their sections, recursively), in book order."""
    import yaml
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))

    def walk(entries):
        for e in entries:
            if "file" in e:
                yield e["file"]
            yield from walk(e.get("sections", []))
    return list(walk([c for part in toc["parts"] for c in part["chapters"]]))


def _toc_chapters():
    """Every notebook page listed in _toc.yml (chapter landing pages and section pages, as
    paths under notebooks/ without suffix, e.g. ``backprop/index``), in book order."""
    return [f.split("/", 1)[1] for f in _toc_files() if f.startswith("notebooks/")]


CHAPTERS = _toc_chapters()
# (path requested, path the browser must end on)
PAGES = [("index.html", "book/intro.html")] + [
    (p, p) for p in [f"notebooks/{c}.html" for c in CHAPTERS]
    + ["book/questions.html", "book/errata.html", "book/practice.html", "book/glossary.html"]]
PAGE_IDS = [p for p, _ in PAGES]
DESKTOP = {"width": 1280, "height": 2000}
PHONE = {"width": 390, "height": 844}
SHOTS = ROOT / "screenshots"  # gitignored, outside _build (which CI deletes before the strict build)
MAIN = "article.bd-article"  # the main content of the pydata/sphinx-book theme


# --------------------------------------------------------------------------- fixtures

def _sources():
    return [*ROOT.glob("notebooks/**/*.ipynb"), *ROOT.glob("book/*.md"),
            ROOT / "_config.yml", ROOT / "_toc.yml"]


def _build_is_fresh(html: Path) -> bool:
    pages = list(html.rglob("*.html"))
    if not (html / "index.html").is_file() or not pages:
        return False
    built = max(p.stat().st_mtime for p in pages)
    return all(s.stat().st_mtime < built for s in _sources() if s.exists())


@pytest.fixture(scope="module")
def html_dir(tmp_path_factory) -> Path:
    if os.environ.get("DLBOOK_HTML"):  # a site built elsewhere, e.g. with --path-output
        return Path(os.environ["DLBOOK_HTML"])
    html = ROOT / "_build" / "html"
    if _build_is_fresh(html):
        return html
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", "--path-output", str(out), "."]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out / "_build" / "html"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def base_url(html_dir):
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _router(base_url):
    local = urlparse(base_url).netloc

    def handle(route):
        url = route.request.url
        parsed = urlparse(url)
        if parsed.scheme in ("data", "blob", "about") or parsed.netloc == local:
            route.continue_()
        elif MATHJAX_ES5 and url.startswith(MATHJAX_PREFIX):
            rel = parsed.path[len(urlparse(MATHJAX_PREFIX).path):]
            path = (Path(MATHJAX_ES5) / rel).resolve()
            if path.is_file() and Path(MATHJAX_ES5).resolve() in path.parents:
                route.fulfill(path=str(path), content_type="application/javascript")
            else:
                route.fulfill(status=404, body="")
        else:
            route.abort()  # never touch the network
    return handle


def _context(browser, base_url, viewport, phone=False):
    ctx = browser.new_context(viewport=viewport, device_scale_factor=1, is_mobile=phone,
                              has_touch=phone, base_url=base_url, service_workers="block")
    ctx.route("**/*", _router(base_url))
    return ctx


@pytest.fixture(scope="module")
def desktop(browser, base_url):
    ctx = _context(browser, base_url, DESKTOP)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def phone(browser, base_url):
    ctx = _context(browser, base_url, PHONE, phone=True)
    yield ctx
    ctx.close()


class Loaded:
    """A page opened on a URL, with its console errors and document responses recorded."""

    def __init__(self, ctx, path, final=None):
        self.page = ctx.new_page()
        self.errors: list[str] = []
        self.docs: list[tuple[str, int]] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("response", lambda r: r.request.resource_type == "document"
                     and self.docs.append((r.url, r.status)))
        self.page.goto(path, wait_until="load")
        if final and final != path:
            self.page.wait_for_url(f"**/{final}", wait_until="load", timeout=10_000)

    def real_errors(self):
        """Console errors, minus those caused by the blocked external requests and one known,
        harmless upstream bug: sphinx-thebe (pulled in by jupyter-book 1 even with
        ``launch_buttons.thebe: false``) emits its inline ``const THEBE_JS_URL = ...`` script
        twice in every page, so the second copy throws a SyntaxError."""
        return [e for e in self.errors
                if "net::ERR_" not in e and "Failed to load resource" not in e
                and "Identifier 'THEBE_JS_URL' has already been declared" not in e
                # pydata-sphinx-theme logs this on a first visit (empty localStorage)
                and "Got invalid theme mode" not in e
                and not re.search(r"cdn\.jsdelivr\.net|unpkg\.com|mathjax", e, re.I)]

    def close(self):
        self.page.close()


@pytest.fixture
def opened():
    pages = []

    def open_(ctx, path, final=None):
        p = Loaded(ctx, path, final)
        pages.append(p)
        return p
    yield open_
    for p in pages:
        p.close()


@pytest.fixture(scope="module")
def desktop_page(desktop):
    """Desktop pages opened once and shared by the tests that only read them."""
    cache: dict[str, Loaded] = {}

    def get(path, final=None):
        if path not in cache:
            cache[path] = Loaded(desktop, path, final)
        return cache[path]
    yield get
    for p in cache.values():
        p.close()


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


def _slug(path):
    return path.replace("/", "_").replace(".html", "")


# --------------------------------------------------------------------------- tests

@pytest.mark.parametrize("path,final", PAGES, ids=PAGE_IDS)
def test_page_loads_without_errors(desktop_page, path, final):
    """HTTP 200 for every document (index.html redirects to book/intro.html), no JS errors."""
    p = desktop_page(path, final)
    assert p.page.url.endswith(final)
    assert p.docs and all(status == 200 for _, status in p.docs), p.docs
    assert any(url.endswith(final) for url, _ in p.docs), p.docs
    assert p.page.locator(MAIN).count() == 1
    assert p.real_errors() == [], p.real_errors()
    _shot(p.page, f"desktop_{_slug(path)}.png")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.replace("/", "_"))
def test_math_is_rendered(desktop_page, chapter):
    """MathJax typesets all math: mjx-container present, no raw TeX left in the prose."""
    if not MATHJAX_ES5:
        pytest.skip("MathJax is loaded from a CDN and the network is blocked; set MATHJAX_ES5 "
                    "to a local MathJax 3 es5/ directory to check math rendering")
    p = desktop_page(f"notebooks/{chapter}.html")
    p.page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise",
                             timeout=15_000)
    p.page.evaluate("MathJax.startup.promise")
    n_math = p.page.locator(f"{MAIN} mjx-container").count()
    source = (ROOT / "notebooks" / f"{chapter}.md").read_text(encoding="utf-8")
    assert n_math > 0 or "$" not in source
    leftover = p.page.evaluate(f"""() => {{
        const a = document.querySelector('{MAIN}').cloneNode(true);
        a.querySelectorAll('mjx-container, pre, code, .highlight, script').forEach(e => e.remove());
        return a.textContent;
    }}""")
    for raw in ["$$", "\\frac", "\\[", "\\("]:
        assert raw not in leftover, f"raw TeX {raw!r} left in {chapter}"
    assert p.real_errors() == [], p.real_errors()


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.replace("/", "_"))
def test_figures_load(desktop_page, chapter):
    """Every figure the notebook stores is on the page, and every image decodes (naturalWidth > 0)."""
    p = desktop_page(f"notebooks/{chapter}.html")
    widths = p.page.evaluate(f"""async () => {{
        const imgs = [...document.querySelectorAll('{MAIN} img')];
        await Promise.all(imgs.map(i => {{ i.loading = 'eager'; return i.decode().catch(() => null); }}));
        return imgs.map(i => [i.getAttribute('src'), i.naturalWidth]);
    }}""")
    nb = json.loads((ROOT / "notebooks" / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    stored = sum("image/png" in out.get("data", {}) for cell in nb["cells"]
                 for out in cell.get("outputs", []))
    assert len(widths) >= stored, (stored, widths)
    broken = [src for src, w in widths if not w > 0]
    assert broken == [], broken


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.replace("/", "_"))
def test_chinese_headings_render(desktop_page, chapter):
    """A section heading holds CJK text, has a non-zero width, and the font in use has real
    glyphs for it: distinct characters draw distinct, non-blank bitmaps (tofu boxes would all
    look the same)."""
    p = desktop_page(f"notebooks/{chapter}.html")
    res = p.page.evaluate(f"""() => {{
        const cjk = /[\\u4e00-\\u9fff]/;
        const h = [...document.querySelectorAll('{MAIN} h1, {MAIN} h2')].find(e => cjk.test(e.textContent));
        if (!h) return null;
        const chars = [...new Set([...h.textContent].filter(c => cjk.test(c)))].slice(0, 4);
        const font = getComputedStyle(h).font;
        const c = document.createElement('canvas'); c.width = 64; c.height = 64;
        const g = c.getContext('2d');
        const bitmaps = chars.map(ch => {{
            g.clearRect(0, 0, 64, 64); g.fillStyle = '#000';
            g.font = font.replace(/\\d+(\\.\\d+)?px/, '40px'); g.textBaseline = 'top';
            g.fillText(ch, 4, 4);
            const d = g.getImageData(0, 0, 64, 64).data;
            let s = '', ink = 0;
            for (let i = 3; i < d.length; i += 4) {{ s += d[i] > 127 ? '1' : '0'; ink += d[i] > 127; }}
            return [s, ink];
        }});
        return {{text: h.textContent, width: h.getBoundingClientRect().width, chars,
                 inks: bitmaps.map(b => b[1]), distinct: new Set(bitmaps.map(b => b[0])).size}};
    }}""")
    assert res is not None, f"no h1/h2 with CJK characters in {chapter}"
    assert res["width"] > 0, res
    assert len(res["chars"]) >= 2, res
    assert min(res["inks"]) > 0, res
    assert res["distinct"] == len(res["chars"]), f"CJK glyphs look identical (tofu?): {res}"


def test_search_finds_backpropagation(desktop, opened):
    """The (JavaScript) Sphinx search lists at least one result for 'backpropagation'."""
    p = opened(desktop, "search.html?q=backpropagation")
    items = p.page.locator("#search-results li, .search li")
    items.first.wait_for(state="attached", timeout=15_000)
    assert items.count() >= 1
    assert p.real_errors() == [], p.real_errors()
    _shot(p.page, "desktop_search.png")


def test_question_index_filter(desktop, opened):
    """The question index's filter hides the other topics, filters by level and answered."""
    p = opened(desktop, "book/questions.html")
    rows = p.page.locator("section tbody tr")
    total = rows.count()
    assert total == 118
    count = p.page.locator("#qf-count")
    assert count.text_content() == f"{total} of {total} questions"

    def visible():
        return p.page.evaluate("""() => [...document.querySelectorAll('section tbody tr')]
            .filter(r => r.offsetParent !== null)
            .map(r => [...r.querySelectorAll('td')].map(c => c.textContent.trim()))""")
    p.page.select_option("#qf-topic", "losses")
    shown = visible()
    assert 0 < len(shown) < total and count.text_content() == f"{len(shown)} of {total} questions"
    p.page.select_option("#qf-topic", "")
    p.page.select_option("#qf-level", "advanced")
    shown = visible()
    assert shown and all(r[3] == "advanced" for r in shown)
    p.page.select_option("#qf-level", "")
    p.page.check("#qf-answered")
    shown = visible()
    assert shown and all("answer" in r[4] for r in shown)
    assert all("planned" not in r[4] for r in shown)
    assert p.real_errors() == [], p.real_errors()
    _shot(p.page, "desktop_questions_filtered.png")


def _repository():
    import yaml
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    repo = cfg["repository"]
    url = repo["url"].rstrip("/")
    assert url.startswith("https://github.com/")
    return url.removeprefix("https://github.com/"), repo.get("branch", "main")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.replace("/", "_"))
def test_launch_buttons(desktop_page, chapter):
    """Binder and Colab buttons open notebooks/<chapter>.ipynb on branch main of the repo."""
    slug, branch = _repository()
    assert branch == "main"
    p = desktop_page(f"notebooks/{chapter}.html")
    binder = p.page.eval_on_selector_all('a[href*="mybinder.org"]', "as => as.map(a => a.href)")
    colab = p.page.eval_on_selector_all('a[href*="colab.research.google.com"]',
                                        "as => as.map(a => a.href)")
    nb = f"notebooks/{chapter}.ipynb"
    assert binder, "no Binder link"
    assert colab, "no Colab link"
    for href in binder:
        assert href.startswith(f"https://mybinder.org/v2/gh/{slug}/{branch}?"), href
        assert href.endswith(nb), href
    for href in colab:
        assert href == f"https://colab.research.google.com/github/{slug}/blob/{branch}/{nb}", href


@pytest.mark.parametrize("path,final", PAGES, ids=PAGE_IDS)
def test_phone_no_horizontal_scroll(phone, opened, path, final):
    """On a 390x844 phone the page body does not scroll sideways (wide code cells may scroll
    inside their own box)."""
    p = opened(phone, path, final)
    width = p.page.evaluate("document.documentElement.scrollWidth")
    _shot(p.page, f"phone_{_slug(path)}.png")
    assert width <= PHONE["width"] + 2, f"{path}: page is {width}px wide on a 390px phone"
