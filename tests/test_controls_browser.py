"""Issue 22 in a browser: labelled choices (a radio group of buttons) and links to a view.

Two kinds of page: a small page made here from Chapter 7's two twins (the static face
plus plotly.js plus ``dotbook-twin.js``; needs no book build), and the built book
(``book_url``) for a URL round trip on every twin figure of every chapter.
"""

from __future__ import annotations

import functools
import os
import re

import plotly.io as pio
import pytest
from support import CHAPTERS, ROOT

pytest.importorskip("playwright")

VIEWS = {"light": (1000, 900, "light"), "dark": (1000, 900, "dark"), "phone": (390, 844, "light")}


@functools.cache
def _page(tmp: str) -> str:
    """An HTML page with Chapter 7's compatibility and scaling twins, as the book draws them."""
    from dotbook.figures import ch07

    js = (ROOT / "src/dotbook/static/dotbook-twin.js").read_text()
    css = (ROOT / "book/_ext/static/dotbook.css").read_text()
    figs = [ch07.compatibility_twin().static(), ch07.scaling_twin().static()]
    body = "".join(pio.to_html(f, include_plotlyjs=(i == 0), full_html=False, auto_play=False)
                   for i, f in enumerate(figs))
    html = (f"<!doctype html><html><head><meta charset='utf-8'><style>{css}</style></head>"
            f"<body>{body}<script>{js}</script></body></html>")
    path = ROOT / tmp / "dotbook-controls.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    # written aside, then renamed: a parallel worker never loads it half written
    part = path.with_name(f"{path.name}.{os.getpid()}")
    part.write_text(html)
    part.replace(path)
    return path.as_uri()


@pytest.fixture(scope="module")
def page_url() -> str:
    return _page("_build/test-pages")


def _open(browser, url: str, view: str = "light"):
    width, height, theme = VIEWS[view]
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": height})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    if theme == "dark":
        page.evaluate("document.documentElement.setAttribute('data-theme', 'dark')")
    page.evaluate("window.dotbookTwin && window.dotbookTwin.drawAll()")
    page.wait_for_selector("[role=radiogroup]", timeout=30_000)
    page.wait_for_timeout(300)
    return page, errors


def _titles(page) -> list[str]:
    return page.evaluate("[...document.querySelectorAll('.gtitle')].map(t => t.textContent)")


@pytest.mark.parametrize("view", list(VIEWS))
def test_choices_by_mouse_and_keyboard(browser, page_url, view) -> None:
    page, errors = _open(browser, page_url, view)
    groups = page.locator("[role=radiogroup]")
    assert groups.count() == 2  # Chapter 7's query and its scaling on/off
    for g in range(groups.count()):
        group = groups.nth(g)
        radios = group.locator("[role=radio]")
        assert radios.count() >= 2
        for r in range(radios.count()):  # readable: no label shrinks below 12 px
            assert radios.nth(r).evaluate("b => parseFloat(getComputedStyle(b).fontSize)") >= 12
            box = radios.nth(r).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= VIEWS[view][0]
        before = _titles(page)
        target = radios.nth(radios.count() - 1)
        target.click()  # mouse
        page.wait_for_timeout(300)
        assert target.get_attribute("aria-checked") == "true"
        assert _titles(page) != before
        assert group.locator("[aria-checked=true]").count() == 1
        page.keyboard.press("ArrowLeft")  # keyboard: the previous choice, focus follows
        page.wait_for_timeout(300)
        checked = group.locator("[aria-checked=true]")
        assert checked.get_attribute("data-choice") == str(radios.count() - 2)
        assert checked.evaluate("b => b === document.activeElement")
        assert checked.get_attribute("tabindex") == "0"
    assert errors == []
    page.close()


def test_url_round_trip_and_link_button(browser, page_url) -> None:
    page, errors = _open(browser, page_url)
    page.get_by_role("radio", name="on").click()
    page.locator(".dotbook-slider-key").last.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    url, titles = page.url, _titles(page)
    assert re.search(r"#f2=d_k:128,scaled:on$", url), url
    assert page.get_by_role("button", name=re.compile("link to this view", re.I)).count() == 2
    fresh, errors2 = _open(browser, url)
    fresh.wait_for_timeout(500)
    assert _titles(fresh) == titles
    assert errors == errors2 == []
    page.close()
    fresh.close()


@pytest.mark.parametrize("junk", ["#f2=d_k:zzz,bogus:1,scaled", "#f99=a:b", "#f1=%E0%A4%A",
                                  "#nonsense", "#f2=scaled:on,d_k:-7"])
def test_garbage_hash_is_harmless(browser, page_url, junk) -> None:
    page, errors = _open(browser, page_url + junk)
    radios = page.locator("[role=radiogroup]").last.locator("[aria-checked=true]")
    assert radios.count() == 1
    page.get_by_role("radio", name="'the'").click()  # the page still works
    page.wait_for_timeout(200)
    assert errors == []
    page.close()


# --------------------------------------------------------------- the built book
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_url_round_trip_on_every_twin_of_the_book(browser, book_url, chapter) -> None:
    """Move the last control of each twin figure, read the URL, open it fresh: same frame."""
    page, errors = _open_book(browser, f"{book_url}/book/{chapter.stem}.html")
    keys = page.evaluate("""() => [...document.querySelectorAll('.plotly-graph-div')]
        .filter(gd => gd._dotbook && gd._dotbook.twin)
        .map(gd => window.dotbookTwin.figureKey(gd))""")
    for key in keys:
        moved = page.evaluate("""key => {
            const gd = [...document.querySelectorAll('.plotly-graph-div')]
              .find(g => window.dotbookTwin.figureKey(g) === key);
            const st = gd._dotbook, i = st.active.length - 1;
            const n = gd.layout.sliders[i].steps.length;
            st.active[i] = (st.active[i] + 1) % n;
            return window.dotbookTwin.show(gd).then(() => {
              history.replaceState(null, '', '#' + window.dotbookTwin.viewHash(gd));
              return st.active.join('-');
            });
        }""", key)
        frame = page.evaluate(_FRAME, key)
        # the link, opened fresh, draws its figure itself (not drawAll): the same frame
        fresh, errs = _open_book(browser, page.url, draw=False)
        fresh.wait_for_function(f"([key, frame]) => ({_FRAME})(key) === frame",
                                arg=[key, frame], timeout=30_000)
        got = fresh.evaluate("""key => {
            const gd = [...document.querySelectorAll('.plotly-graph-div')]
              .find(g => window.dotbookTwin.figureKey(g) === key);
            return gd._dotbook.active.join('-');
        }""", key)
        assert got == moved, f"{chapter} {key}: {page.url}"
        assert errs == []
        fresh.close()
    assert errors == []
    page.close()


# the data a figure (by its key) draws, as JSON; null until it is drawn
_FRAME = """key => {
    const gd = [...document.querySelectorAll('.plotly-graph-div')]
      .find(g => window.dotbookTwin.figureKey(g) === key);
    if (!gd || !gd._fullLayout || !gd.data) return null;
    return JSON.stringify(gd.data.map(t => [t.x, t.y, t.z]));
}"""


def _open_book(browser, url: str, draw: bool = True):
    page = browser.new_page()
    page.set_viewport_size({"width": 1000, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function("window.dotbookTwin && window.Plotly", timeout=30_000)
    if draw:
        page.evaluate("window.dotbookTwin.drawAll()")
        page.wait_for_timeout(300)
    return page, errors
