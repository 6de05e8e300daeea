"""The built book in a browser, for the browser tests and ``tools/bench.py`` alike
(not used by any chapter): where the repository and its built HTML are, a local
server for that HTML, and a headless Chromium set up for an offline machine.

These paths assume the package is installed from its repository (``pip install -e .``,
as the Makefile does): ``ROOT`` is the checkout that holds ``src/dotbook``.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The built HTML book: _build/html (make book), or a private build named by
# DOTBOOK_HTML (e.g. /tmp/jb-x/_build/html).
HTML = Path(os.environ.get("DOTBOOK_HTML") or ROOT / "_build" / "html")
CHAPTERS = sorted((ROOT / "book").glob("[0-9]*.ipynb"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    """Debian's Chromium when present (CI), else Playwright's own browser (readers)."""
    explicit = os.environ.get("DOTBOOK_CHROMIUM")
    if explicit:
        return explicit
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(playwright: object, profile: str, **options: object) -> object:
    """A headless Chromium context with a fresh profile directory (``options``:
    e.g. ``viewport=``, passed to ``launch_persistent_context``)."""
    options = {"viewport": {"width": 1280, "height": 900}, **options}
    return playwright.chromium.launch_persistent_context(
        profile, executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS, **options)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` from a thread on 127.0.0.1; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
