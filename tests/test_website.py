"""Browser test of the built website (headless Chromium driven by Playwright).

Uses the site in ``$DLBOOK_HTML`` when that is set, else ``_build/html`` when it is newer than
every source (notebooks/**/*.ipynb, book/*.md, _config.yml, _toc.yml, _static/*, _ext/*);
otherwise builds the book into a temporary directory. The html is served on 127.0.0.1
(scripts/site_server.py) and the browser never touches the network: every other host name is
unresolvable. MathJax comes from a CDN, so the math checks need a local copy of MathJax 3's
``es5`` directory, given by the environment variable ``MATHJAX_ES5`` (e.g. the ``package/es5``
folder of the ``mathjax`` npm tarball), which the server substitutes for the CDN; without it
those checks are skipped. Screenshots (desktop 1366x900 and phone 390x844)
of every page are saved into ``screenshots/`` (gitignored), kept as CI artefacts.

Every page of _toc.yml (chapters and sections, recursively) is opened once at desktop width
and once at phone width (pages are shared between the tests that only read them):
zero console errors; at phone width the two navigation toggles open their drawers and the page
does not scroll sideways; no chapter or section page is taller than 15,000 CSS px at desktop
width 1366; every <img> has a meaningful alt text. Then the searches (a question ID and three
Chinese terms), the question index and practice page (filters, 中文/English), the front page's
downloads, the glossary's A-Z links and the page head (favicon, description, OpenGraph).

Skipped as a whole when Chromium (``/usr/bin/chromium``) or the ``playwright`` Python
package is missing. No ``playwright install`` is needed: the system Chromium is used.
"""
from __future__ import annotations

import csv
import html as htmllib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlparse

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

sys.path.insert(0, str(ROOT / "scripts"))
from site_server import OFFLINE_ARGS, serve  # scripts/site_server.py

# OFFLINE_ARGS: every host but 127.0.0.1 is unresolvable, the browser never touches the network
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", *OFFLINE_ARGS]
MATHJAX_ES5 = os.environ.get("MATHJAX_ES5") or None
if MATHJAX_ES5 and not (Path(MATHJAX_ES5) / "tex-mml-chtml.js").is_file():
    MATHJAX_ES5 = None
MAX_HEIGHT = 15_000  # CSS px at desktop width 1366, for chapter and section pages (issue 13)
PDF_NAME = "dl-interview-proofs.pdf"  # scripts/build_pdf.py writes it into the html root


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
# (path requested, path the browser must end on): the front page, then every page of the toc
PAGES = [("index.html", "book/intro.html")] + [(f"{f}.html", f"{f}.html") for f in _toc_files()]
PAGE_IDS = [p for p, _ in PAGES]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
SHOTS = ROOT / "screenshots"  # gitignored, outside _build (which CI deletes before the strict build)
MAIN = "article.bd-article"  # the main content of the pydata/sphinx-book theme
GROUP_BY_PAGE = True  # the root conftest.py runs the tests of one page together (see _cache)


def _label_pages():
    """Lower-cased question label -> the page (notebooks/<...>.html) that answers it."""
    found = {}
    for md in (ROOT / "notebooks").rglob("*.md"):
        for label in re.findall(r"^\((s\d-[a-z0-9-]+|x-[a-z0-9]+-\d+)\)=\s*$",
                                md.read_text(encoding="utf-8"), re.M):
            found[label] = "notebooks/" + md.relative_to(ROOT / "notebooks").with_suffix(".html").as_posix()
    return found


def _questions():
    with (ROOT / "book" / "_data" / "questions.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


# --------------------------------------------------------------------------- fixtures

def _sources():
    return [*ROOT.glob("notebooks/**/*.ipynb"), *ROOT.glob("book/*.md"), *ROOT.glob("_static/*"),
            *ROOT.glob("_ext/**/*"), ROOT / "_config.yml", ROOT / "_toc.yml"]


def _build_is_fresh(html: Path) -> bool:
    pages = list(html.rglob("*.html"))
    if not (html / "index.html").is_file() or not pages:
        return False
    built = max(p.stat().st_mtime for p in pages)
    return all(s.stat().st_mtime < built for s in _sources() if s.is_file())


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


@pytest.fixture(scope="module")
def base_url(html_dir):
    """The site on 127.0.0.1, MathJax from the local copy, with the browser's cache on
    (scripts/site_server.py)."""
    with serve(html_dir, MATHJAX_ES5) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _context(browser, base_url, viewport, phone=False):
    """A fresh browser profile (empty localStorage: first-visit errors show up here). No request
    routing: it would switch the browser's HTTP cache off (scripts/site_server.py)."""
    return browser.new_context(viewport=viewport, device_scale_factor=1, is_mobile=phone,
                               has_touch=phone, base_url=base_url, service_workers="block")


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


def _is_local(url):
    return urlparse(url).hostname == "127.0.0.1"


class Loaded:
    """A page opened on a URL, with its console errors, document responses and requests.

    In a new tab, or, given ``tab``, in that tab, navigated there (``close()`` first takes the
    tab to about:blank, so that what a document reports while it unloads, e.g. requests that the
    navigation aborts, goes to its own Loaded). A new tab costs a new renderer process: about
    0.8 s per page against 0.45 s in a reused tab, with or without the stop at about:blank (AMD
    EPYC, 2 cores; the site's pages)."""

    def __init__(self, ctx, path, final=None, tab=None):
        self.page = tab if tab is not None else ctx.new_page()
        self._own_tab = tab is None
        self.errors: list[str] = []
        self.docs: list[tuple[str, int]] = []
        self.requests: list[str] = []
        self.local_failures: list[str] = []   # requests to the site itself that failed
        self._listeners = [
            ("console", lambda m: m.type == "error" and self.errors.append(m.text)),
            ("pageerror", lambda e: self.errors.append(f"uncaught: {e}")),
            ("request", lambda r: self.requests.append(r.url)),
            ("response", self._on_response),
            ("requestfailed", lambda r: _is_local(r.url)
             and self.local_failures.append(f"{r.url}: {r.failure}")),
        ]
        for event, handler in self._listeners:
            self.page.on(event, handler)
        self.page.goto(path, wait_until="load")
        if final and final != path:
            self.page.wait_for_url(f"**/{final}", wait_until="load", timeout=10_000)

    def _on_response(self, r):
        if r.request.resource_type == "document":
            self.docs.append((r.url, r.status))
        if r.status >= 400 and _is_local(r.url):
            self.local_failures.append(f"{r.url}: HTTP {r.status}")

    def real_errors(self):
        """Console errors, minus the failed loads of the external requests the test blocks
        (it never touches the network: CDN MathJax without MATHJAX_ES5, Binder/Colab logos...);
        plus every request to the site itself that failed (a missing CSS, script or MathJax
        component), which the console reports in the same words as a blocked one."""
        return [e for e in self.errors
                if "net::ERR_" not in e and "Failed to load resource" not in e
                and not re.search(r"cdn\.jsdelivr\.net|unpkg\.com", e, re.I)] + self.local_failures

    def wait_for_math(self):
        """Wait until MathJax has typeset the page. Sphinx loads MathJax only on pages that hold
        math: on the others there is nothing to wait for."""
        if not self.page.evaluate("() => [...document.scripts].some(s => /mathjax|tex-mml/i.test(s.src))"):
            return
        self.page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise",
                                    timeout=30_000)
        self.page.evaluate("MathJax.startup.promise")

    def close(self):
        """Close the tab, or, in a reused tab, unload the page and stop listening to the tab."""
        if self._own_tab:
            self.page.close()
        else:
            self.page.goto("about:blank")
            for event, handler in self._listeners:
                self.page.remove_listener(event, handler)


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


def _cache(ctx):
    """The page opened last, in one tab that every new page reuses (see Loaded). The root
    conftest.py runs the tests of one page one after another (GROUP_BY_PAGE), so each page is
    still loaded once per width; one open tab also bounds the memory (an earlier version that
    kept every page open in its own tab filled a 24 GB machine)."""
    cache: dict[str, Loaded] = {}
    tab = ctx.new_page()
    # Every page starts as in a new tab: the theme keeps state in sessionStorage, which lives as
    # long as the tab (e.g. the sidebar's scroll position, restored instead of scrolling the
    # sidebar to the current page's link).
    tab.add_init_script("try { sessionStorage.clear(); } catch (e) {}")

    def get(path, final=None):
        if path not in cache:
            for old in cache.values():
                old.close()
            cache.clear()
            cache[path] = Loaded(ctx, path, final, tab=tab)
        return cache[path]
    return cache, get


@pytest.fixture(scope="module")
def desktop_page(desktop):
    """Desktop pages opened once and shared by the tests that only read them."""
    cache, get = _cache(desktop)
    yield get
    for p in cache.values():
        p.close()


@pytest.fixture(scope="module")
def phone_page(phone):
    """Phone pages opened once and shared."""
    cache, get = _cache(phone)
    yield get
    for p in cache.values():
        p.close()


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


def _slug(path):
    return path.replace("/", "_").replace(".html", "")


def _meaningful_alt(alt, src):
    """An alt text that describes: not empty, not a file name or path, a few words."""
    if not alt or not alt.strip():
        return False
    alt = alt.strip()
    base = os.path.basename(urlparse(src or "").path)
    return (alt != src and alt != base and not re.search(r"\.(png|jpe?g|svg|gif|webp)$", alt, re.I)
            and len(alt.split()) >= 2)


# --------------------------------------------------------------------------- every page, desktop

@pytest.mark.parametrize("path,final", PAGES, ids=PAGE_IDS)
def test_page_desktop(desktop_page, path, final):
    """HTTP 200 for every document (index.html redirects to book/intro.html), zero console
    errors, one search box, no search index loaded, every <img> with a meaningful alt text."""
    p = desktop_page(path, final)
    assert p.page.url.endswith(final)
    assert p.docs and all(status == 200 for _, status in p.docs), p.docs
    assert any(url.endswith(final) for url, _ in p.docs), p.docs
    assert p.page.locator(MAIN).count() == 1
    assert p.real_errors() == [], p.real_errors()
    assert p.page.locator(".search-button-field:visible, form.bd-search:visible").count() == 1
    assert not [u for u in p.requests if "searchindex.js" in u], "search index loaded by a normal page"
    imgs = p.page.evaluate("() => [...document.images].map(i => [i.getAttribute('src'), i.getAttribute('alt')])")
    bad = [(src, alt) for src, alt in imgs if not _meaningful_alt(alt, src)]
    assert not bad, f"images without a meaningful alt text: {bad}"
    if MATHJAX_ES5:
        p.wait_for_math()                         # the screenshot shows the typeset page
    _shot(p.page, f"desktop_{_slug(path)}.png")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.replace("/", "_"))
def test_page_height(desktop_page, chapter):
    """No chapter or section page is taller than 15,000 CSS px at desktop width 1366."""
    p = desktop_page(f"notebooks/{chapter}.html")
    if MATHJAX_ES5:
        p.wait_for_math()
    height = p.page.evaluate("document.documentElement.scrollHeight")
    assert height <= MAX_HEIGHT, f"{chapter}: {height} px at width {DESKTOP['width']}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.replace("/", "_"))
def test_math_is_rendered(desktop_page, chapter):
    """MathJax typesets all math: mjx-container present, no raw TeX left in the prose."""
    if not MATHJAX_ES5:
        pytest.skip("MathJax is loaded from a CDN and the network is blocked; set MATHJAX_ES5 "
                    "to a local MathJax 3 es5/ directory to check math rendering")
    p = desktop_page(f"notebooks/{chapter}.html")
    p.wait_for_math()
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
def test_figures_load_and_link_to_the_full_image(desktop_page, chapter):
    """Every figure the notebook stores is on the page, every image decodes (naturalWidth > 0),
    and each figure links to its full-size image (tap to enlarge on a phone)."""
    p = desktop_page(f"notebooks/{chapter}.html")
    figs = p.page.evaluate(f"""async () => {{
        const imgs = [...document.querySelectorAll('{MAIN} img')];
        await Promise.all(imgs.map(i => {{ i.loading = 'eager'; return i.decode().catch(() => null); }}));
        return imgs.map(i => [i.getAttribute('src'), i.naturalWidth,
                              i.closest('a.figure-zoom') ? i.closest('a.figure-zoom').href : null,
                              i.closest('.cell_output') !== null]);
    }}""")
    nb = json.loads((ROOT / "notebooks" / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    stored = sum("image/png" in out.get("data", {}) for cell in nb["cells"]
                 for out in cell.get("outputs", []))
    assert len(figs) >= stored, (stored, figs)
    assert [src for src, w, _, _ in figs if not w > 0] == []
    outputs = [(src, href) for src, _, href, in_output in figs if in_output]
    assert len(outputs) == stored
    assert all(href and href.split("/")[-1] == src.split("/")[-1] for src, href in outputs), outputs


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.replace("/", "_"))
def test_chinese_headings_render(desktop_page, chapter):
    """A section heading holds CJK text, has a non-zero width, and the font in use has real
    glyphs for it: distinct characters draw distinct, non-blank bitmaps (tofu boxes would all
    look the same)."""
    p = desktop_page(f"notebooks/{chapter}.html")
    res = p.page.evaluate(f"""() => {{
        const cjk = /[\\u4e00-\\u9fff]/;
        // the first h1/h2 with two distinct CJK characters ("AdaGrad、RMSProp 与 Adam" has one)
        const h = [...document.querySelectorAll('{MAIN} h1, {MAIN} h2')].find(e =>
            new Set([...e.textContent].filter(c => cjk.test(c))).size >= 2);
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


def test_sidebar_collapses_on_desktop(desktop, opened):
    """At 1366 px the visible 'toggle primary sidebar' button hides the sidebar, and shows it again."""
    p = opened(desktop, "notebooks/backprop/training.html")
    sidebar = p.page.locator("#pst-primary-sidebar")
    assert sidebar.is_visible()
    toggle = p.page.locator(".primary-toggle:visible")
    assert toggle.count() == 1
    toggle.click()
    p.page.wait_for_function("getComputedStyle(document.getElementById('pst-primary-sidebar')).visibility === 'hidden'")
    assert p.page.locator("dialog[open]").count() == 0
    toggle.click()
    p.page.wait_for_function("getComputedStyle(document.getElementById('pst-primary-sidebar')).visibility === 'visible'")
    assert p.real_errors() == [], p.real_errors()


# --------------------------------------------------------------------------- every page, phone

def _open_drawer(p, toggle, dialog):
    button = p.page.locator(f"{toggle}:visible")
    assert button.count() == 1, f"{button.count()} visible {toggle} buttons"
    button.first.tap()
    p.page.wait_for_function(f"document.querySelector('{dialog}').open", timeout=5_000)
    drawer = p.page.locator(dialog)
    box = drawer.bounding_box()
    links = p.page.locator(f"{dialog} a")
    assert drawer.is_visible() and box and box["width"] >= 200 and box["height"] >= 200, box
    assert links.count() > 0 and links.first.is_visible()
    p.page.keyboard.press("Escape")
    p.page.wait_for_function(f"!document.querySelector('{dialog}').open", timeout=5_000)


@pytest.mark.parametrize("path,final", PAGES, ids=PAGE_IDS)
def test_page_phone(phone_page, path, final):
    """On a 390x844 phone: zero console errors (a fresh profile), the page does not scroll
    sideways (wide code and equations scroll inside their own box), and tapping the two
    navigation buttons opens the site navigation and the page's contents as drawers."""
    p = phone_page(path, final)
    assert p.real_errors() == [], p.real_errors()
    if MATHJAX_ES5:
        p.wait_for_math()                         # every wide equation, not just those in view
    width = p.page.evaluate("document.documentElement.scrollWidth")
    _shot(p.page, f"phone_{_slug(path)}.png")
    assert width <= PHONE["width"] + 2, f"{path}: page is {width}px wide on a 390px phone"
    _open_drawer(p, ".primary-toggle", "#pst-primary-sidebar-modal")
    has_toc = p.page.locator("#pst-secondary-sidebar nav.page-toc a, #pst-secondary-sidebar-modal nav a").count() > 0
    if has_toc:
        _open_drawer(p, ".secondary-toggle", "#pst-secondary-sidebar-modal")
    assert p.real_errors() == [], p.real_errors()


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.replace("/", "_"))
def test_wide_equations_scroll_on_a_phone(phone_page, chapter):
    """A display equation wider than the phone's column scrolls inside its own box (no part of
    it is cut off and unreachable)."""
    if not MATHJAX_ES5:
        pytest.skip("needs MATHJAX_ES5 (see the module docstring)")
    p = phone_page(f"notebooks/{chapter}.html")
    p.wait_for_math()
    cut = p.page.evaluate(f"""() => [...document.querySelectorAll('{MAIN} mjx-container[display="true"]')]
        .filter(m => m.offsetParent !== null)
        .map(m => {{
            const math = m.firstElementChild.getBoundingClientRect().width;
            const article = document.querySelector('{MAIN}').getBoundingClientRect().width;
            // the equation itself or a box around it (up to the article) scrolls sideways
            let box = m, scrolls = false;
            while (box && box.tagName !== 'ARTICLE') {{
                const s = getComputedStyle(box);
                if (['auto', 'scroll'].includes(s.overflowX) && box.scrollWidth >= math - 1
                    && box.clientWidth <= article) {{ scrolls = true; break; }}
                box = box.parentElement;
            }}
            return math > m.clientWidth + 1 && !scrolls ? m.textContent.slice(0, 60) : null;
        }}).filter(x => x)""")
    assert cut == [], cut


# --------------------------------------------------------------------------- search

def _search(ctx, opened, query):
    p = opened(ctx, "search.html?q=" + quote(query))
    p.page.wait_for_function("""() => { const s = document.querySelector('#search-results .search-summary');
                                return s && /found|did not match/i.test(s.textContent); }""", timeout=30_000)
    hrefs = p.page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")
    assert p.real_errors() == [], p.real_errors()
    return p, hrefs


def _page_of(href, base_url):
    return urlparse(href).path.removeprefix(urlparse(base_url).path)


def test_search_question_id_lands_on_its_section(desktop, opened, base_url):
    """Searching "S0-Q12" lists the answering page first, linked to the section's anchor."""
    answer = _label_pages()["s0-q12"]
    p, hrefs = _search(desktop, opened, "S0-Q12")
    assert hrefs, "no result"
    assert _page_of(hrefs[0], base_url) == answer, hrefs[:3]
    p.page.goto(hrefs[0])
    # the link's anchor is the section that holds the question's label
    section = p.page.evaluate("document.getElementById('s0-q12').closest('section').id")
    assert urlparse(hrefs[0]).fragment == section, (hrefs[0], section)
    top = p.page.evaluate("document.getElementById('s0-q12').closest('section').getBoundingClientRect().top")
    assert 0 <= top < DESKTOP["height"] / 2, top
    _shot(p.page, "desktop_search_s0-q12.png")


def _article_texts(html_dir):
    """The main text of every built page (what Sphinx indexes), by path."""
    texts = {}
    for f in html_dir.rglob("*.html"):
        rel = f.relative_to(html_dir).as_posix()
        if rel in ("search.html", "genindex.html") or rel.startswith(("_", "index.html")):
            continue
        doc = f.read_text(encoding="utf-8")
        m = re.search(r'<article class="bd-article"[^>]*>(.*?)</article>', doc, re.S)
        if not m:
            continue
        body = re.sub(r"<(script|style)\b.*?</\1>", " ", m.group(1), flags=re.S)
        texts[rel] = htmllib.unescape(re.sub(r"<[^>]+>", "", body))
    return texts


@pytest.mark.parametrize("term", ["过拟合", "梯度消失", "批归一化"])
def test_search_finds_every_page_with_a_chinese_term(desktop, opened, base_url, html_dir, term):
    """Every page whose text contains the term is a result (the expected set is computed from the
    built HTML), and a result opens scrolled to the first highlighted match."""
    expected = {rel for rel, text in _article_texts(html_dir).items() if term in text}
    assert expected, f"no page contains {term}"
    p, hrefs = _search(desktop, opened, term)
    found = {_page_of(h, base_url) for h in hrefs}
    assert expected <= found, f"{term}: not found on {sorted(expected - found)}"
    # land at the match: a page opened from the results scrolls to its first visible highlight
    target = next(h for h in hrefs if "/notebooks/" in h)
    p.page.goto(target)
    p.page.wait_for_function("document.querySelector('article.bd-article span.highlighted') !== null",
                             timeout=10_000)
    p.page.wait_for_timeout(300)
    pos = p.page.evaluate("""() => { const m = [...document.querySelectorAll('article.bd-article span.highlighted')]
                                  .find(e => e.offsetParent !== null);
                              return m ? [m.getBoundingClientRect().top, innerHeight] : null; }""")
    assert pos and 0 <= pos[0] < pos[1], f"{target}: first match at {pos}"


# --------------------------------------------------------------------------- reference pages

def test_question_index_filter_and_cards(desktop, phone, opened):
    """The question index: the question text links to its section; filters by topic, level and
    origin (seed notes / beyond); on a phone every row is a card (no crushed columns)."""
    qs = _questions()
    p = opened(desktop, "book/questions.html")
    rows = p.page.locator("table.id-table tbody tr")
    total = rows.count()
    assert total == len(qs)
    count = p.page.locator("#qf-count")
    assert count.text_content() == f"{total} of {total} questions"
    assert p.page.locator("#qf-answered").count() == 0
    links = p.page.eval_on_selector_all("table.id-table td.col-question a",
                                        "as => as.map(a => a.getAttribute('href'))")
    assert len(links) == len([q for q in qs if q["id"].lower() in _label_pages()])

    def visible():
        return p.page.evaluate("""() => [...document.querySelectorAll('table.id-table tbody tr')]
            .filter(r => r.offsetParent !== null)
            .map(r => [r.querySelector('td.col-id').textContent.trim(),
                       r.querySelector('td.col-level').textContent.trim()])""")
    p.page.select_option("#qf-topic", "losses")
    shown = visible()
    assert 0 < len(shown) < total and count.text_content() == f"{len(shown)} of {total} questions"
    p.page.select_option("#qf-topic", "")
    p.page.select_option("#qf-level", "advanced")
    shown = visible()
    assert shown and all(lv == "advanced" for _, lv in shown)
    p.page.select_option("#qf-level", "")
    for origin, seed in (("seed", True), ("beyond", False)):
        p.page.select_option("#qf-origin", origin)
        shown = visible()
        assert all(qid.startswith("X-") != seed for qid, _ in shown)
        assert len(shown) == sum(q["id"].startswith("X-") != seed for q in qs)
    assert p.real_errors() == [], p.real_errors()
    _shot(p.page, "desktop_questions_filtered.png")
    for path in ("book/questions.html", "book/errata.html"):
        m = opened(phone, path)
        cells = m.page.evaluate("""() => [...document.querySelectorAll('table.id-table tbody tr')].slice(0, 12)
            .map(r => [getComputedStyle(r).display,
                       Math.min(...[...r.querySelectorAll('td:not(.col-id):not(.col-badge):not(.col-short)')]
                                 .map(td => td.getBoundingClientRect().width))])""")
        # each row a card (a wrapping flex box), each long cell the card's full width
        assert cells and all(d == "flex" and w >= 300 for d, w in cells), (path, cells)
        _shot(m.page, f"phone_{_slug(path)}_cards.png")


def _lang_state(page):
    return page.evaluate("""() => {
        const vis = sel => [...document.querySelectorAll(sel)].some(e => getComputedStyle(e).display !== 'none');
        return {lang: document.documentElement.dataset.answerLang,
                zh: vis('div.answer-zh'), en: vis('div.answer-en'), qzh: vis('div.q-zh'), qen: vis('div.q-en')};
    }""")


def test_practice_page_language_and_filters(desktop, opened):
    """The practice page switches the answers between 中文, English and both; the choice is
    remembered on other pages (a chapter's short answers follow it); topic/level/origin filters."""
    p = opened(desktop, "book/practice.html")
    items = p.page.locator("div.practice-item")
    n = items.count()
    answered = [q for q in _questions() if q["id"].lower() in _label_pages()]
    assert n == len(answered)
    # _lang_state reads `display`, which only the language rule sets: a closed answer keeps
    # display: block (sphinx-togglebutton hides it with visibility), so no answer is opened here
    # (opening one typesets its maths: seconds for all of them)
    assert _lang_state(p.page) == {"lang": "both", "zh": True, "en": True, "qzh": True, "qen": True}
    p.page.select_option("#pf-lang", "zh")
    assert _lang_state(p.page) == {"lang": "zh", "zh": True, "en": False, "qzh": True, "qen": False}
    _shot(p.page, "desktop_practice_zh.png")
    p.page.select_option("#pf-lang", "en")
    assert _lang_state(p.page) == {"lang": "en", "zh": False, "en": True, "qzh": False, "qen": True}
    _shot(p.page, "desktop_practice_en.png")
    # remembered on a chapter page with bilingual answers
    page = _label_pages()["s0-q09"]
    c = opened(desktop, page)
    c.page.evaluate("document.querySelectorAll('.admonition.toggle-hidden button.toggle-button').forEach(b => b.click())")
    st = _lang_state(c.page)
    assert st["lang"] == "en" and st["en"] and not st["zh"], st
    c.page.locator(".lang-switch button[data-lang='zh']").first.click()
    st = _lang_state(c.page)
    assert st["lang"] == "zh" and st["zh"] and not st["en"], st
    c.page.locator(".lang-switch button[data-lang='both']").first.click()
    assert _lang_state(c.page)["lang"] == "both"
    # filters
    p.page.reload()
    p.page.select_option("#pf-topic", "losses")
    shown = p.page.locator("div.practice-item:visible").count()
    assert 0 < shown < n and p.page.locator("#pf-count").text_content() == f"{shown} of {n} questions"
    p.page.select_option("#pf-topic", "")
    p.page.select_option("#pf-origin", "seed")
    assert p.page.locator("div.practice-item:visible").count() == sum(not q["id"].startswith("X-") for q in answered)
    assert p.real_errors() == [] and c.real_errors() == [], p.real_errors() + c.real_errors()


def test_practice_answers_are_typeset_when_opened(desktop, opened):
    """The practice page typesets a closed answer's maths when the answer is opened
    (_static/book.js), not at load: after MathJax's start-up no closed answer holds typeset maths
    and more than a thousand of its expressions wait; opening one answer typesets all of its own."""
    if not MATHJAX_ES5:
        pytest.skip("needs MATHJAX_ES5 (see the module docstring)")
    p = opened(desktop, "book/practice.html")
    p.wait_for_math()
    closed = ".practice-item .dropdown.admonition.toggle-hidden"
    typeset, waiting = p.page.evaluate(f"""() => [
        document.querySelectorAll('{closed} mjx-container').length,
        [...document.querySelectorAll('{closed} .math')].filter(m => !m.querySelector('mjx-container')).length]""")
    assert typeset == 0 and waiting > 1000, (typeset, waiting)
    answer = p.page.locator(closed).filter(has=p.page.locator(".math")).last.element_handle()
    answer.query_selector("button.toggle-button").click()
    p.page.wait_for_function("""a => [...a.querySelectorAll('.math')]
        .every(m => m.querySelector('mjx-container'))""", arg=answer, timeout=15_000)
    # printing typesets the rest, and nothing twice (a second pass nests copies in the hidden
    # MathML); closing and reopening the answer adds nothing either
    p.page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    answer.query_selector("button.toggle-button").click()
    answer.query_selector("button.toggle-button").click()
    p.page.evaluate("MathJax.startup.promise")
    once = """() => [[...document.querySelectorAll('.math')]
                       .filter(m => m.querySelectorAll('mjx-container').length !== 1).length,
                     document.querySelectorAll('mjx-assistive-mml mjx-container').length]"""
    assert p.page.evaluate(once) == [0, 0]
    assert p.real_errors() == [], p.real_errors()


def test_glossary_jump_links_work_on_a_phone(phone, opened):
    """The glossary's A-Z row links every initial letter; tapping one scrolls its first term
    into view below the sticky header."""
    p = opened(phone, "book/glossary.html")
    letters = p.page.eval_on_selector_all("div.glossary-az a", "as => as.map(a => a.textContent.trim())")
    terms = p.page.eval_on_selector_all(f"{MAIN} dl.glossary dt", "ds => ds.map(d => d.textContent.trim()[0].toUpperCase())")
    assert letters == sorted(set(terms)), (letters, sorted(set(terms)))
    for letter in (letters[len(letters) // 2], letters[-1]):
        p.page.locator(f"div.glossary-az a:text-is('{letter}')").tap()
        p.page.wait_for_timeout(400)
        top = p.page.evaluate(f"document.getElementById('letter-{letter.lower()}').getBoundingClientRect().top")
        assert 0 <= top < PHONE["height"] / 2, (letter, top)
    _shot(p.page, "phone_glossary_jump.png")


# --------------------------------------------------------------------------- front page and head

def test_front_page_downloads_and_head(desktop, opened, base_url, html_dir):
    """The front page links the Anki deck (served) and the whole-book PDF (served when built);
    every page has a favicon, a meta description and OpenGraph tags; the announcement links to the
    repository's issue tracker."""
    p = opened(desktop, "book/intro.html")
    hrefs = p.page.eval_on_selector_all(f"{MAIN} a", "as => as.map(a => a.href)")
    apkg = [h for h in hrefs if h.endswith("flashcards.apkg")]
    pdf = [h for h in hrefs if h.endswith(PDF_NAME)]
    assert apkg and pdf, hrefs
    assert p.page.request.get(apkg[0]).status == 200
    assert urlparse(pdf[0]).path == urlparse(base_url).path + PDF_NAME
    if (html_dir / PDF_NAME).is_file():
        assert p.page.request.get(pdf[0]).status == 200
    head = p.page.evaluate("""() => ({
        icon: (document.querySelector('link[rel="icon"]') || {}).href,
        description: (document.querySelector('meta[name="description"]') || {}).content,
        ogTitle: (document.querySelector('meta[property="og:title"]') || {}).content,
        ogUrl: (document.querySelector('meta[property="og:url"]') || {}).content })""")
    assert head["icon"] and p.page.request.get(head["icon"]).status == 200, head
    assert head["description"] and len(head["description"]) > 50, head
    slug, _ = _repository()
    owner, name = slug.split("/")
    assert head["ogTitle"] and head["ogUrl"] == f"https://{owner.lower()}.github.io/{name}/book/intro.html", head
    issues = p.page.eval_on_selector_all(".bd-header-announcement a", "as => as.map(a => a.href)")
    assert issues == [f"https://github.com/{slug}/issues"], issues


def test_announcement_is_one_line_on_a_phone(phone, opened):
    p = opened(phone, "book/intro.html")
    lines = p.page.evaluate("""() => { const a = document.querySelector('.bd-header-announcement__content');
        return a.getBoundingClientRect().height / parseFloat(getComputedStyle(a).lineHeight); }""")
    assert lines < 1.5, f"the announcement takes {lines:.1f} lines on a phone"
