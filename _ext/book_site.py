"""The book's own Sphinx extension: small fixes to the website that no setting provides.

Wired in _config.yml (``sphinx: local_extensions: {book_site: _ext/}``). Each part says why it
exists; remove a part when the upstream release that fixes it is within Jupyter Book 1's pins.

1. Inline scripts emitted twice (``Identifier 'THEBE_JS_URL' has already been declared``):
   Sphinx 7.4's ``app.add_js_file(None, body=...)`` after the builder is initialised registers the
   script as filename ``None`` in the builder and as ``''`` when the page context is prepared, so
   the de-duplication misses it (sphinx-thebe and sphinx-togglebutton both hit this). Fixed
   upstream in Sphinx 8.2 (sphinx-doc/sphinx#13402), which Jupyter Book 1 (``sphinx~=7.0``) cannot
   use; we apply the same one-line normalisation to the builder.
2. Search: an index entry for every question label (``(s0-q12)=``) on the section that answers
   it, so that Sphinx's search ranks the answering page first for "S0-Q12" and links to the
   section's anchor (searchtools.js scores main index entries above full-text matches).
3. Search in Chinese: ``html_search_language: zh`` segments text with jieba; its dictionary does
   not know 过拟合, 梯度消失 or 批归一化, so we load a user dictionary made from the glossary's
   Chinese terms (Sphinx's ``html_search_options = {"dict": path}``), and run jieba on the runs
   of CJK characters only (Sphinx's splitter runs it over all text, code included: 4x slower build).
4. The 255 KB search index was loaded by every page (pydata-sphinx-theme loads searchtools.js and
   searchindex.js everywhere for its search-as-you-type, which this book does not enable):
   ``templates/layout.html`` keeps them on the search page only. This also lets
   sphinx_highlight.js highlight the search terms on the page a result opens (it skips
   highlighting whenever ``Search`` is defined).
5. Figures: notebook output images get an alt text from the plotting code (titles, axis labels)
   and the section they illustrate (myst-nb otherwise writes the hashed file name), and link to
   the full-size image so that a reader can open (and zoom) it on a phone.
6. Tables keyed by question ID (question index, errata summary): a class and, in each cell, a
   label naming its column, so that CSS can show each row as a card on a phone.
7. OpenGraph / meta description: ``ogp_site_url`` (sphinxext-opengraph) derived from the
   repository URL in _config.yml, assuming GitHub Pages' default address (see ``pages_url``).
"""
from __future__ import annotations

import ast
import logging
import posixpath
import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.osutil import relative_uri

QID = re.compile(r"^(s\d-[a-z0-9-]+|x-[a-z0-9]+-\d+)$")
HERE = Path(__file__).resolve().parent


def pages_url(repository_url: str) -> str:
    """The website's address, assuming GitHub Pages' default for a project repository:
    https://github.com/OWNER/REPO -> https://OWNER.github.io/REPO/ (lower-cased owner). A custom
    domain would need this changed (and scripts/build_index.py uses it for the flashcards' links)."""
    m = re.match(r"^https://github\.com/([^/]+)/([^/]+?)/?$", repository_url.strip())
    if not m:
        raise ValueError(f"repository url {repository_url!r} is not https://github.com/OWNER/REPO")
    return f"https://{m.group(1).lower()}.github.io/{m.group(2)}/"


# --------------------------------------------------------------------------- glossary terms

GLOSSARY_ENTRY = re.compile(r"^(\S[^\n]*?) · ([^\n]+)$", re.M)
CJK = re.compile(r"[\u4e00-\u9fff]")


def _split_top(text: str, seps: str) -> list[str]:
    """Split on any of `seps` outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "(（"
        depth -= ch in ")）"
        if depth == 0 and ch in seps:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return [x for x in out if x]


def glossary_entries(path: Path) -> list[dict]:
    """The glossary's entries: ``English (alias), other · 中文 (alternatives; notes), 中文2``.

    Returns one dict per term pair: ``en`` (English forms: the term and its parenthesised
    abbreviation), ``zh`` (the preferred Chinese term), ``accepted`` (the preferred term, the
    alternatives in parentheses, and the Latin name inside a mixed term such as "Adam 优化器"),
    ``avoid`` (variants the glossary flags: "mistranslated as X", "notes also write X")."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r"```\{glossary\}\n(.*?)\n```", text, re.S)
    body = m.group(1) if m else ""
    out = []
    for en_part, zh_part in GLOSSARY_ENTRY.findall(body):
        if en_part.startswith(":"):
            continue
        ens = _split_top(en_part, ",")
        zhs = _split_top(zh_part, ",，")
        if len(zhs) != len(ens):  # "Adam · Adam 优化器 (...)": one Chinese term for all
            zhs = [zh_part] * len(ens)
        for en, zh in zip(ens, zhs):
            en_forms = [re.sub(r"\s*\(.*?\)", "", en).strip()]
            en_forms += [a.strip() for a in re.findall(r"\((.*?)\)", en)]
            main = re.sub(r"\s*[(（].*?[)）]", "", zh).strip()
            notes = " ; ".join(re.findall(r"[(（](.*?)[)）]", zh))
            accepted, avoid = [main], []
            for item in re.split(r"[;；]", notes):
                item = item.strip()
                if not item:
                    continue
                bad = re.match(r"^(mistranslated as|notes also write|notes garble it as|not)\s+(.*)$", item)
                if bad:
                    avoid += [x.strip() for x in re.split(r",|\bor split into\b|\band\b", bad.group(2)) if x.strip()]
                else:
                    accepted.append(item)
            latin = re.sub(r"\s*[\u4e00-\u9fff]+\s*", " ", main).strip()
            if latin and latin != main and CJK.search(main):
                accepted.append(latin)  # "Adam 优化器" -> "Adam", "softmax 函数" -> "softmax"
            out.append({"en": [f for f in en_forms if f], "zh": main, "accepted": accepted,
                        "avoid": avoid})
    return out


def chinese_search_terms(path: Path) -> list[str]:
    """Every Chinese word the glossary names (preferred, alternative or flagged): words the
    search must find even inside longer runs of text."""
    words = set()
    for e in glossary_entries(path):
        for term in [e["zh"], *e["accepted"], *e["avoid"]]:
            for token in re.split(r"[\s,，、/()（）]+", term):
                if len(token) >= 2 and all(CJK.match(c) for c in token):
                    words.add(token)
    return sorted(words)


def _write_jieba_dict(app, config):
    glossary = Path(app.srcdir) / "book" / "glossary.md"
    if not glossary.is_file():
        return
    try:
        import jieba
        jieba.setLogLevel(logging.WARNING)  # it prints its dictionary loading to stderr
    except ImportError:  # Sphinx's zh splitter then keeps CJK runs whole
        return
    path = Path(app.doctreedir) / "jieba-userdict.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    # a high frequency makes jieba prefer the glossary's term over a split at its edges
    text = "".join(f"{w} 100000 n\n" for w in chinese_search_terms(glossary))
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    config.html_search_options = {**(config.html_search_options or {}), "dict": str(path)}


def _chinese_search_language():
    """Sphinx's zh splitter runs jieba over the whole text of every page (code and English
    included), which made the site build several times slower; jieba is only needed for the
    runs of CJK characters, and Latin words are split by the same regex as before."""
    from sphinx.search.zh import JIEBA, SearchChinese

    class SearchChineseRuns(SearchChinese):
        def init(self, options) -> None:
            super().init(options)
            # Sphinx keeps the Latin words seen so far in a class-level *list* and tests
            # membership for every word it stems: quadratic, most of the build time. A set
            # gives the same answers.
            self.latin_terms = set()

        def split(self, input: str) -> list[str]:
            chinese: list[str] = []
            if JIEBA:
                import jieba
                for run in CJK_RUN.findall(input):
                    chinese.extend(jieba.cut_for_search(run))
            latin1 = [term.strip() for term in self.latin1_letters.findall(input)]
            self.latin_terms.update(latin1)
            return chinese + latin1
    return SearchChineseRuns


CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def _config_inited(app, config):
    if config.html_search_language == "zh":
        import sphinx.search
        sphinx.search.languages["zh"] = _chinese_search_language()
    _write_jieba_dict(app, config)
    config.templates_path = [*config.templates_path, str(HERE / "templates")]
    repo = (config.html_theme_options or {}).get("repository_url")
    if repo and hasattr(config, "ogp_site_url") and not config.ogp_site_url:
        config.ogp_site_url = pages_url(repo)


# --------------------------------------------------------------------------- 1. inline js


def _normalise_inline_js(app):
    """Sphinx 8.2's fix (sphinx-doc/sphinx#13402): the builder stores inline scripts as ''."""
    builder = app.builder
    original = getattr(builder, "add_js_file", None)
    if original is None:
        return

    def add_js_file(filename, **kwargs):
        return original(filename or "", **kwargs)
    builder.add_js_file = add_js_file


# --------------------------------------------------------------------------- 2. question IDs


def _question_index_entries(app, doctree):
    if not app.env.docname.startswith("notebooks/"):
        return
    for section in doctree.findall(nodes.section):
        for sid in section["ids"]:
            if QID.match(sid):
                # the target is the section's own id (the <section> element): searchtools.js
                # shows the text under the result's anchor as its summary, and the label's id
                # is an empty <span> (an empty summary makes it throw)
                entry = addnodes.index(entries=[("single", sid.upper(), section["ids"][0], "main", None)],
                                       inline=False)
                section.insert(1, entry)  # after the title (collectors read section[0])


# --------------------------------------------------------------------------- 6. ID tables

BADGE_COLUMNS = {"ID", "Level", "Severity"}  # on the card's first line, beside the ID
SHORT_COLUMNS = {"Source", "Erratum", "Proof"}  # short links, also on the card's first line
BARE_COLUMNS = {"ID", "问题", "Question", "Level", "Severity"}  # no column label on the card


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "col"


def _id_tables(app, doctree):
    for table in doctree.findall(nodes.table):
        thead = next(table.findall(nodes.thead), None)
        tbody = next(table.findall(nodes.tbody), None)
        if thead is None or tbody is None:
            continue
        heads = [entry.astext().strip() for entry in next(thead.findall(nodes.row))]
        if not heads or heads[0] != "ID":
            continue
        table["classes"].append("id-table")
        for row in tbody.findall(nodes.row):
            for head, entry in zip(heads, row.children):
                entry["classes"].append(f"col-{_slug(head)}")
                if head in BADGE_COLUMNS:
                    entry["classes"].append("col-badge")
                if head in SHORT_COLUMNS:
                    entry["classes"].append("col-short")
                if head in BARE_COLUMNS or head in SHORT_COLUMNS:
                    continue
                para = next(entry.findall(nodes.paragraph), None)
                if para is not None:
                    para.insert(0, nodes.inline("", f"{head}: ", classes=["cell-label"]))


# --------------------------------------------------------------------------- glossary A-Z


def _glossary_jump_links(app, doctree):
    """Fill a ``{container} jump-links glossary-az`` with links to the first term of each initial
    letter of the page's glossary (an id ``letter-x`` on that term), whatever terms it holds."""
    boxes = [c for c in doctree.findall(nodes.container) if "glossary-az" in c["classes"]]
    if not boxes:
        return
    letters = []
    for glossary in doctree.findall(addnodes.glossary):
        for term in glossary.findall(nodes.term):
            letter = term.astext().strip()[:1].upper()
            if letter.isalpha() and letter not in letters:
                letters.append(letter)
                term["ids"].insert(0, f"letter-{letter.lower()}")
    for box in boxes:
        para = nodes.paragraph()
        for letter in letters:
            para += nodes.reference("", letter, refuri=f"#letter-{letter.lower()}", internal=True)
            para += nodes.Text(" ")
        box.children = [para]


# --------------------------------------------------------------------------- 5. figures

CALLS = re.compile(r"\b(suptitle|set_title|title|set_xlabel|xlabel|set_ylabel|ylabel)\(")


def _string_arg(source: str, start: int) -> str | None:
    """The string literal that is the first argument of the call opening at `start`."""
    m = re.compile(r"""\s*([rfbu]{0,2})("|')""", re.I).match(source, start)
    if not m:
        return None
    quote, i = m.group(2), m.end()
    while i < len(source) and source[i] != quote and source[i] != "\n":
        i += 2 if source[i] == "\\" else 1
    literal = m.group(1).replace("f", "").replace("F", "") + quote + source[m.end():i] + quote
    if "f" in m.group(1).lower():  # an f-string: keep its text, drop the {expressions}
        literal = re.sub(r"\{[^{}]*\}", "…", literal)
    try:
        text = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return None
    text = re.sub(r"\$([^$]*)\$", r"\1", text)  # TeX in labels: keep the letters
    text = text.replace("\\", "").replace("{", "").replace("}", "")
    return " ".join(text.split()) or None


def figure_alt(code: str, section_title: str) -> str:
    """What a plot shows, from its code: the (sup)titles, then the axes' labels."""
    titles, axes = [], []
    for m in CALLS.finditer(code):
        text = _string_arg(code, m.end())
        if not text:
            continue
        (titles if "title" in m.group(1) else axes).append(text)
    titles = list(dict.fromkeys(titles))
    axes = list(dict.fromkeys(axes))
    parts = [f"Figure for “{section_title}”"]
    if titles:
        parts.append("panels: " + "; ".join(titles[:6]))
    if axes:
        parts.append("axes: " + ", ".join(axes[:8]))
    return ". ".join(parts) + "."


def _looks_like_a_path(alt: str | None) -> bool:
    return not alt or bool(re.search(r"\.(png|jpe?g|svg|gif)$", alt.strip(), re.I)) or (
        "/" in alt and " " not in alt.strip())


class FigureAltAndLink(SphinxPostTransform):
    default_priority = 50
    formats = ("html",)

    def run(self, **kwargs):
        builder = self.app.builder
        docname = self.env.docname
        for image in list(self.document.findall(nodes.image)):
            cell = image.parent
            while cell is not None and not (isinstance(cell, nodes.container)
                                            and "cell" in cell.get("classes", [])):
                cell = cell.parent
            section = image.parent
            while section is not None and not isinstance(section, nodes.section):
                section = section.parent
            title = section[0].astext() if section is not None and len(section) else docname
            if _looks_like_a_path(image.get("alt")):
                code = ""
                if cell is not None:
                    block = next(cell.findall(nodes.literal_block), None)
                    code = block.astext() if block is not None else ""
                image["alt"] = figure_alt(code, title)
            if cell is None or isinstance(image.parent, nodes.reference):
                continue
            uri = image.get("uri", "")
            if uri not in self.env.images:
                continue
            target = posixpath.join(getattr(builder, "imagedir", "_images"), self.env.images[uri][1])
            ref = nodes.reference("", "", internal=True, classes=["figure-zoom"],
                                  refuri=relative_uri(builder.get_target_uri(docname), target))
            ref["reftitle"] = "Open the full-size image"
            image.replace_self(ref)
            ref.append(image)


def setup(app):
    app.connect("config-inited", _config_inited)
    app.connect("builder-inited", _normalise_inline_js, priority=0)
    app.connect("doctree-read", _question_index_entries)
    app.connect("doctree-read", _id_tables)
    app.connect("doctree-read", _glossary_jump_links)
    app.add_post_transform(FigureAltAndLink)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
