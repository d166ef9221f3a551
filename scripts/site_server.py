"""Serve the built website to a headless Chromium, offline and with the browser's cache on.

Used by scripts/build_pdf.py and tests/test_website.py:

    with serve(Path("_build/html"), mathjax_es5) as base_url:
        browser = pw.chromium.launch(args=[..., *OFFLINE_ARGS])

- The pages load MathJax from a CDN. When a local copy of MathJax 3's ``es5`` directory is given,
  each HTML page is served with the CDN prefix replaced by ``/_mathjax_es5/``, and that path is
  served from the copy; without one, the CDN request fails like any other remote one.
- ``OFFLINE_ARGS`` makes every host name but 127.0.0.1 unresolvable: the browser never touches
  the network.
- Every response says ``Cache-Control: max-age=3600``, so a page's CSS, JavaScript, fonts and
  MathJax come from the browser's cache after the first page.

Why not Playwright's request routing (``context.route``), which did the first two jobs before:
routing turns the browser's HTTP cache off, so every page fetched and compiled its ~40 files
again (MathJax's 1.2 MB script among them), each routed request through Python. Measured on the
2-core AMD EPYC, one run each, nothing else running: printing the whole book's 126 pages took
145 s with routing and 117 s this way (the script's own CPU time: 40 s and 22 s); the browser
test took 318 s and 283 s.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import io
import os
import threading
from pathlib import Path
from urllib.parse import unquote

MATHJAX_PREFIX = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/"
LOCAL_MATHJAX = "/_mathjax_es5/"
OFFLINE_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


class _Handler(http.server.SimpleHTTPRequestHandler):
    mathjax: Path | None = None

    def log_message(self, *args):
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "max-age=3600")
        super().end_headers()

    def translate_path(self, path):
        if path.startswith(LOCAL_MATHJAX):
            rel = unquote(path[len(LOCAL_MATHJAX):].split("?", 1)[0].split("#", 1)[0])
            if self.mathjax is None:
                return str(Path(self.directory) / "_no_such_file_")
            target = (self.mathjax / rel).resolve()
            if self.mathjax.resolve() not in target.parents:
                return str(Path(self.directory) / "_no_such_file_")
            return str(target)
        return super().translate_path(path)

    def send_head(self):
        path = self.translate_path(self.path)
        if os.path.isdir(path) and self.path.split("?", 1)[0].split("#", 1)[0].endswith("/"):
            index = os.path.join(path, "index.html")        # what the parent class would send
            if os.path.isfile(index):
                path = index
        if self.mathjax is not None and path.endswith(".html") and os.path.isfile(path):
            body = Path(path).read_bytes().replace(MATHJAX_PREFIX.encode(), LOCAL_MATHJAX.encode())
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return io.BytesIO(body)
        return super().send_head()


@contextlib.contextmanager
def serve(site: Path, mathjax: Path | None = None):
    """Serve ``site`` on 127.0.0.1 (a free port) in a thread; yields the base URL ending in /."""
    handler = type("Handler", (_Handler,), {"mathjax": Path(mathjax) if mathjax else None})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
