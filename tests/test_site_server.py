"""scripts/site_server.py: the server that the PDF build and the browser test load pages from."""
from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from site_server import LOCAL_MATHJAX, MATHJAX_PREFIX, serve  # scripts/site_server.py

PAGE = f'<html><head><script src="{MATHJAX_PREFIX}tex-mml-chtml.js"></script></head></html>'


@pytest.fixture
def site(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "page.html").write_text(PAGE, encoding="utf-8")
    (tmp_path / "site" / "style.css").write_text("body {}", encoding="utf-8")
    (tmp_path / "site" / "chapter").mkdir()
    (tmp_path / "site" / "chapter" / "index.html").write_text(PAGE, encoding="utf-8")
    (tmp_path / "es5").mkdir()
    (tmp_path / "es5" / "tex-mml-chtml.js").write_text("/* mathjax */", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("outside", encoding="utf-8")
    return tmp_path


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.headers, r.read().decode()


def test_pages_load_mathjax_from_the_local_copy_and_are_cacheable(site):
    with serve(site / "site", site / "es5") as base:
        status, headers, body = _get(base + "page.html")
        assert status == 200 and headers["Cache-Control"] == "max-age=3600"
        assert MATHJAX_PREFIX not in body and f'src="{LOCAL_MATHJAX}tex-mml-chtml.js"' in body
        status, headers, body = _get(base + LOCAL_MATHJAX.lstrip("/") + "tex-mml-chtml.js")
        assert (status, body) == (200, "/* mathjax */")
        assert "javascript" in headers["Content-Type"]
        for directory in ("chapter/", "chapter"):          # its index.html (after a redirect)
            assert MATHJAX_PREFIX not in _get(base + directory)[2]
        status, headers, _ = _get(base + "style.css")
        assert status == 200 and headers["Cache-Control"] == "max-age=3600"


def test_without_a_local_copy_pages_are_served_as_built(site):
    with serve(site / "site") as base:
        assert _get(base + "page.html")[2] == PAGE
        with pytest.raises(urllib.error.HTTPError, match="404"):
            _get(base + LOCAL_MATHJAX.lstrip("/") + "tex-mml-chtml.js")


def test_nothing_outside_the_mathjax_copy_is_served(site):
    with serve(site / "site", site / "es5") as base:
        for path in [LOCAL_MATHJAX + "../secret.txt", LOCAL_MATHJAX + "%2e%2e/secret.txt",
                     "/../secret.txt"]:
            with pytest.raises(urllib.error.HTTPError, match="404"):
                _get(base + path.lstrip("/"))
