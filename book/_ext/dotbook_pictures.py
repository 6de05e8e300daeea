"""Pictures of the book's figures, made at build time (issue 24).

A plotly figure costs a slow phone about a second of work to draw, and plotly.js
itself another second and a half to start. So after Sphinx has written the pages,
this step opens every page with a figure in Chromium, lets the page's own script
(``dotbook-twin.js``) draw each figure in the reader's layout, at a wide column
(1280 px window) and a phone's (390 px), light and dark, and keeps what plotly
draws (SVG, by plotly's own exporter; a draggable figure's layer of arrows and labels
is added on top). Each figure's box then names its four pictures::

    <div class="dotbook-figure" data-dotbook-pictures='{"wide": {"light": url,
         "dark": url}, "narrow": {...}}' ...>

and the page shows the picture of its width and theme while the figure waits to be
drawn live. Pictures are the figure's default view, drawn by the same code, so the
swap to the live figure changes nothing on the screen.

Files are named by their content (``_static/pictures/<sha256[:16]>.svg``). Each page's
pictures are cached under ``_build/.dotbook-pictures`` by a hash of the page's HTML
(which names every script and stylesheet by its checksum), so an unchanged page is
not drawn again. Without Chromium and Playwright the step says so in the build log
and the figures show their alt text until drawn (the book works as before).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: the two layouts a figure has (dotbook-twin.js: NARROW = 600 px of column):
#: a desktop window and a phone's
VIEWPORTS = {"wide": {"width": 1280, "height": 900}, "narrow": {"width": 390, "height": 844}}
THEMES = ("light", "dark")
PICTURES = "pictures"  # under _static
#: bump to draw every picture again (a change in how they are made)
VERSION = "3"

_FIGURE = re.compile(r'<div class="dotbook-figure"(?: data-dotbook-pictures="[^"]*")?')
_ATTRIBUTE = re.compile(r' data-dotbook-pictures="[^"]*"')

#: In a freshly loaded page: every figure's first drawing in the page's width and theme,
#: as a reader's browser makes it, serialized by plotly's own exporter from the figure
#: on the page (``Plotly.Snapshot.toSVG``, which takes the figure apart: the page is done
#: with after this). A draggable figure: its arrow annotations and line shapes hidden
#: as dotbook-drag.js hides them, its layer of arrows and labels laid on top.
DRAW_ALL = """async () => {
  await window.dotbookTwin.drawAll();
  const out = [];
  for (const box of document.querySelectorAll('.dotbook-figure')) {
    const gd = box.querySelector('.js-plotly-plot');
    if (!gd) { out.push(null); continue; }
    const drag = gd._dotbookDrag;
    const layer = drag && drag.svg && drag.box ? drag.svg.cloneNode(true) : null;
    const doc = new DOMParser().parseFromString(Plotly.Snapshot.toSVG(gd), 'image/svg+xml');
    if (layer) {
      doc.querySelectorAll('g.annotation, .shapelayer > path').forEach(e => e.remove());
      layer.removeAttribute('style');
      layer.setAttribute('x', String(drag.box.xa._offset));
      layer.setAttribute('y', String(drag.box.ya._offset));
      layer.setAttribute('font-family', getComputedStyle(gd).fontFamily);
      doc.documentElement.appendChild(doc.importNode(layer, true));
    }
    out.push({svg: new XMLSerializer().serializeToString(doc)});
  }
  return out;
}"""


#: two animation frames: the page has taken its theme
SETTLE = """() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"""


def _key(page: str) -> str:
    return hashlib.sha256((VERSION + _ATTRIBUTE.sub("", page)).encode()).hexdigest()[:32]


def first_drawings(tab: object, url: str, theme: str, errors: list | None = None) -> list:
    """:data:`DRAW_ALL` on the page at ``url``, freshly loaded in ``tab`` (a Playwright
    page at the width wanted) and set to ``theme``: each figure's SVG.
    ``errors``: the list ``tab``'s page errors go to, emptied once the page is loaded,
    so that it holds the errors of this drawing only (not those of the last page's
    figures, which the exporter took apart)."""
    tab.goto(url, wait_until="domcontentloaded")
    if errors is not None:
        errors.clear()
    tab.wait_for_function("() => window.dotbookTwin && window.dotbookQueue === null")
    tab.evaluate(f"document.documentElement.setAttribute('data-theme', '{theme}')")
    tab.evaluate(SETTLE)
    return tab.evaluate(DRAW_ALL)


def browser_ready() -> str | None:
    """Why Chromium cannot be driven here (for the pictures, and the math), or None."""
    try:
        import playwright.sync_api  # noqa: F401

        from dotbook._browser import chromium_path
    except ImportError as error:
        return f"no Playwright ({error})"
    if chromium_path():
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:  # Playwright's own Chromium (make browser installs it)
        if Path(p.chromium.executable_path).exists():
            return None
    return "no Chromium (apt-get install chromium, make browser, or DOTBOOK_CHROMIUM=path)"


def _draw(outdir: Path, pages: list[Path]) -> tuple[dict[Path, list], list[str]]:
    """Every figure of ``pages`` (files under ``outdir``) in each layout and theme:
    ``{page: [None | {"wide": {"light": svg, "dark": svg}, "narrow":
    ...}]}``, and what went wrong (a page that raised an error keeps no pictures)."""
    from playwright.sync_api import sync_playwright

    from dotbook._browser import chromium, serve

    drawn: dict[Path, list] = {}
    problems: list[str] = []
    with serve(outdir) as url, sync_playwright() as p, \
            tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        context = chromium(p, profile, viewport=VIEWPORTS["wide"])
        # the figures need no math: no MathJax (where a page still loads it), no math fonts
        context.route("**/_static/mathjax/**", lambda route: route.abort())
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda e: errors.append(str(e)))
        for page in pages:
            figures: list = []
            address = f"{url}/{page.relative_to(outdir).as_posix()}"
            for layout, viewport in VIEWPORTS.items():
                tab.set_viewport_size(viewport)
                for theme in THEMES:
                    drawings = first_drawings(tab, address, theme, errors)
                    if errors:  # raised while drawing (the browser tests say more)
                        break
                    for i, got in enumerate(drawings):
                        while len(figures) <= i:
                            figures.append(None)
                        if got is not None:
                            entry = figures[i] = figures[i] or {}
                            entry.setdefault(layout, {})[theme] = got["svg"]
                if errors:
                    break
            if errors:
                problems.append(f"{page.name} raised {errors[0]}; no pictures made")
                continue
            drawn[page] = figures
        context.close()
    return drawn, problems


def in_two_browsers(work: Callable, outdir: Path, pages: list[Path], what: str) -> dict:
    """``work(outdir, share) -> ({page: result}, problems)`` (:func:`_draw`, say), the
    pages shared between two processes (two Chromiums); each problem is logged as a
    warning about ``what``."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    shares = [pages[k::2] for k in range(2) if pages[k::2]]
    results: dict = {}
    with ProcessPoolExecutor(len(shares), mp_context=multiprocessing.get_context("spawn")) as pool:
        for done, problems in pool.map(work, [outdir] * len(shares), shares):
            results.update(done)
            for problem in problems:
                logger.warning(f"{what}: {problem}")
    return results


def fill_cache(work: Callable, outdir: Path, pages: list[Path], keys: dict[Path, str],
               cache: Path, what: str, without: str, doing: str, did: str) -> None:
    """``work`` (:func:`_draw`, say) in two Chromiums for each of ``pages`` whose record
    ``cache/<keys[page]>.json`` is missing, each result written there as JSON. Without
    Chromium, or if it fails, no record is written and the build log says so (``what``:
    the step; ``without``: what the pages do then; ``doing``, ``did``: the work, for the
    log)."""
    stale = [p for p in pages if not (cache / f"{keys[p]}.json").exists()]
    if not stale:
        return
    why = browser_ready()
    if why:
        logger.info(f"{what}: {why}; {len(stale)} {without}")
        return
    start = time.perf_counter()
    try:
        done = in_two_browsers(work, outdir, stale, what)
    except Exception as error:  # a Chromium that does not start, say
        logger.warning(f"{what}: {doing} failed: {error!r}")
        done = {}
    for page, result in done.items():
        (cache / f"{keys[page]}.json").write_text(json.dumps(result), encoding="utf-8")
    logger.info(f"{what}: {did} {len(done)} pages in {time.perf_counter() - start:.0f} s")


def _attribute(entry: dict, names: dict) -> str:
    value = {layout: {theme: names[svg] for theme, svg in v.items()}
             for layout, v in entry.items()}
    return f' data-dotbook-pictures="{html.escape(json.dumps(value, sort_keys=True))}"'


def write_pictures(app: Sphinx, exception: Exception | None) -> None:
    """Sphinx ``build-finished``: make (or reuse) every figure's pictures and name them
    in its page."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    pages = sorted(p for p in outdir.rglob("*.html")
                   if not p.relative_to(outdir).parts[0].startswith("_")
                   and '<div class="dotbook-figure"' in p.read_text(encoding="utf-8"))
    if not pages:
        return
    cache = outdir.parent / ".dotbook-pictures"
    cache.mkdir(parents=True, exist_ok=True)
    texts = {p: p.read_text(encoding="utf-8") for p in pages}
    keys = {p: _key(texts[p]) for p in pages}
    fill_cache(_draw, outdir, pages, keys, cache, "pictures",
               without="pages show their figures' alt text until plotly draws them",
               doing="drawing the figures", did="drew the figures of")
    folder = outdir / "_static" / PICTURES
    folder.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    for page in pages:
        record = cache / f"{keys[page]}.json"
        # a page without pictures (no Chromium) names none, not those of an older build
        figures = json.loads(record.read_text(encoding="utf-8")) if record.exists() else []
        names: dict[str, str] = {}
        for entry in filter(None, figures):
            for v in entry.values():
                for theme in THEMES:
                    svg = v[theme]
                    name = hashlib.sha256(svg.encode()).hexdigest()[:16] + ".svg"
                    target = folder / name
                    if not target.exists():
                        target.write_text(svg, encoding="utf-8")
                    used.add(name)
                    names[svg] = os.path.relpath(target, page.parent).replace(os.sep, "/")
        boxes = iter(figures)

        def named(match: re.Match, boxes=boxes, names=names) -> str:
            entry = next(boxes, None)
            return '<div class="dotbook-figure"' + (_attribute(entry, names) if entry else "")

        text = _FIGURE.sub(named, texts[page])
        if text != texts[page]:
            page.write_text(text, encoding="utf-8")
    for old in folder.glob("*.svg"):
        if old.name not in used:
            old.unlink()
