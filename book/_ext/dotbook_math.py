"""The book's math, typeset when the book is built (issue 24).

MathJax turns each formula's TeX into HTML (its CHTML output) in the reader's
browser. On a slow phone that is the largest cost of a chapter left after the
figures: about two seconds of script before the page has loaded, and more as the
reader scrolls. The result is the same on every device. So after Sphinx has written
the pages, this step opens every page that loads MathJax in Chromium, lets the same
MathJax (``sphinx-mathjax-offline``, with the page's own configuration: TeX with AMS,
CHTML, assistive MathML for screen readers) typeset every formula, and writes what it
made back into the page:

- each ``<span class="math">`` and ``<div class="math">`` holds its ``mjx-container``
  instead of its TeX;
- an answer box's hidden solution (``data-solution``, dotbook_answers.py) holds its
  formulas typeset too;
- MathJax's stylesheet (``<style id="MJX-CHTML-styles">``), the rules for exactly the
  characters the page uses, goes into the page's head; its fonts are MathJax's own
  files under ``_static/mathjax``, named relative to the page;
- the page no longer loads MathJax.

A page is rewritten only when every formula on it was typeset without an error; any
other page keeps MathJax and typesets in the reader's browser, as it did before, and
the build log says why. Without Chromium and Playwright every page does so. Each
page's typesetting is cached under ``_build/.dotbook-math`` by a hash of its HTML.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from dotbook_answers import decode, encode
from dotbook_pictures import fill_cache
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: bump to typeset every page again (a change in how it is done)
VERSION = "1"
#: where the page's fonts are, in the stylesheet as cached (the page's ``_static``)
STATIC = "@dotbook-static@"

#: a formula as Sphinx writes it: its TeX between ``\\(...\\)`` or ``\\[...\\]``
MATH = re.compile(r'(<(span|div) class="math notranslate nohighlight">)(.*?)(</\2>)', re.S)
#: the two scripts Sphinx puts in the head of a page with math: MathJax's
#: configuration and its loader
SCRIPTS = re.compile(r'\n?[ \t]*<script>window\.MathJax = .*?</script>'
                     r'|\n?[ \t]*<script defer="defer" src="[^"]*_static/mathjax/startup\.js'
                     r'[^"]*"></script>')
SOLUTION = re.compile(r'data-solution="([^"]*)"')
TEX = ("\\(", "\\[")

#: In a loaded page: every formula typeset (what ``ui/lazy`` does before printing),
#: then each solution given (HTML with TeX) typeset in a box of the page's column;
#: what became of each formula, the solutions' HTML, and MathJax's stylesheet
#: (rules added while typesetting live in the sheet, not its text).
TYPESET = """async solutions => {
  await MathJax.startup.promise;
  const doc = MathJax.startup.document;
  if (doc.lazyTypesetAll) { await doc.lazyTypesetAll(); }
  const typeset = [];
  const column = document.querySelector('.bd-article') || document.body;
  for (const html of solutions) {
    const box = document.createElement('div');
    box.innerHTML = html;
    column.appendChild(box);
    await MathJax.typesetPromise([box]);
    typeset.push(box.innerHTML);
    box.remove();
  }
  const formulas = [...document.querySelectorAll('span.math, div.math')];
  const sheet = document.getElementById('MJX-CHTML-styles');
  return {
    math: formulas.map(e => e.innerHTML),
    failed: formulas.filter(e => !e.querySelector('mjx-container') || e.querySelector('mjx-merror'))
      .map(e => e.textContent.slice(0, 80)),
    elsewhere: [...document.querySelectorAll('mjx-container')]
      .filter(m => !m.closest('span.math, div.math')).length,
    solutions: typeset,
    style: sheet ? [...sheet.sheet.cssRules].map(r => r.cssText).join('\\n') : '',
  };
}"""


def _key(page: str) -> str:
    return hashlib.sha256((VERSION + page).encode()).hexdigest()[:32]


def _solutions_with_math(page: str) -> list[str]:
    return [html for html in (decode(s) for s in SOLUTION.findall(page))
            if isinstance(html, str) and any(d in html for d in TEX)]


def _typeset(outdir: Path, pages: list[Path]) -> tuple[dict[Path, dict], list[str]]:
    """Every page of ``pages`` (files under ``outdir``) typeset by MathJax in Chromium:
    ``{page: TYPESET's record}``, the stylesheet's site address replaced by
    :data:`STATIC`; and what went wrong (a page that raised an error is left out)."""
    from playwright.sync_api import sync_playwright

    from dotbook._browser import chromium, serve

    done: dict[Path, dict] = {}
    problems: list[str] = []
    with serve(outdir) as url, sync_playwright() as p, \
            tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        context = chromium(p, profile)
        # the figures are not drawn: MathJax lays out the math alone
        context.route("**/_static/plotly*.js", lambda route: route.abort())
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda e: errors.append(str(e)))
        for page in pages:
            errors.clear()
            tab.goto(f"{url}/{page.relative_to(outdir).as_posix()}", wait_until="load")
            tab.wait_for_function("() => window.MathJax && MathJax.startup"
                                  " && MathJax.startup.promise")
            record = tab.evaluate(TYPESET, _solutions_with_math(page.read_text(encoding="utf-8")))
            if errors:
                problems.append(f"{page.name} raised {errors[0]}")
                continue
            record["style"] = record["style"].replace(f"{url}/_static", STATIC)
            done[page] = record
        context.close()
    return done, problems


def typeset_page(page: str, record: dict, static: str) -> tuple[str, str | None]:
    """``page`` (HTML) with the typesetting ``record`` written in (:data:`TYPESET`),
    its fonts under ``static`` (the page's address of ``_static``), and no MathJax; or
    ``page`` unchanged and why."""
    if record["failed"]:
        return page, f"MathJax could not typeset {record['failed'][:3]}"
    if record["elsewhere"]:
        return page, f"{record['elsewhere']} formulas outside span.math and div.math"
    found = MATH.findall(page)
    if len(found) != len(record["math"]):
        return page, f"{len(found)} formulas in the file, {len(record['math'])} typeset"
    typeset = iter(record["math"])
    text = MATH.sub(lambda m: m.group(1) + next(typeset) + m.group(4), page)
    solutions = iter(record["solutions"])

    def solution(m: re.Match) -> str:
        html = decode(m.group(1))
        if isinstance(html, str) and any(d in html for d in TEX):
            html = next(solutions)
        return f'data-solution="{encode(html)}"'

    text, scripts = SCRIPTS.subn("", SOLUTION.sub(solution, text))
    if scripts != 2:
        return page, f"{scripts} of MathJax's 2 scripts found in the head"
    style = record["style"].replace(STATIC, static)
    return text.replace("</head>", f'<style id="MJX-CHTML-styles">\n{style}\n</style>\n</head>',
                        1), None


def write_math(app: Sphinx, exception: Exception | None) -> None:
    """Sphinx ``build-finished``: typeset (or reuse) the math of every page that loads
    MathJax, and write it into the page."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    texts = {p: p.read_text(encoding="utf-8") for p in sorted(outdir.rglob("*.html"))
             if not p.relative_to(outdir).parts[0].startswith("_")}
    pages = [p for p, text in texts.items() if "_static/mathjax/startup.js" in text]
    if not pages:
        return
    cache = outdir.parent / ".dotbook-math"
    cache.mkdir(parents=True, exist_ok=True)
    keys = {p: _key(texts[p]) for p in pages}
    fill_cache(_typeset, outdir, pages, keys, cache, "math",
               without="pages typeset their math in the reader's browser (MathJax)",
               doing="typesetting", did="typeset the math of")
    for page in pages:
        record = cache / f"{keys[page]}.json"
        if not record.exists():
            continue
        static = os.path.relpath(outdir / "_static", page.parent).replace(os.sep, "/")
        text, problem = typeset_page(texts[page], json.loads(record.read_text(encoding="utf-8")),
                                     static)
        if problem:
            logger.warning(f"math: {page.name} keeps MathJax: {problem}")
        else:
            page.write_text(text, encoding="utf-8")
