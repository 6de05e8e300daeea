"""The built HTML book as a reader's browser sees it (Playwright + Chromium).

Every page: loads with no console error and no request leaving 127.0.0.1;
axe-core finds no critical or serious accessibility violation; at a phone's
390 px nothing scrolls sideways and no figure is wider than its column, nor
does a figure's title collide with its legend or an axis title with a slider.
Every plotly figure: has rendered data (drawn lazily as the reader scrolls to it,
its place kept meanwhile), and follows the book's dark mode. plotly.js only where
there are figures, under one URL; no Font Awesome script or font.
Every slider: moved by the mouse and by the keyboard, changes the data.
Math: typeset when the book was built (book/_ext/dotbook_math.py), by the packaged
MathJax, every formula without error: the pages load no MathJax, and their formulas
are there, with MathML for screen readers, before any script runs.

Reads ``_build/html`` (``make book``) or the build named by ``DOTBOOK_HTML``.
Screenshots (dark and phone views of every figure) go next to that folder,
into ``screenshots/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
from support import HTML, bring_near, scroll_to, typeset_all_math

pytestmark = pytest.mark.browser

PAGES = sorted(str(p.relative_to(HTML)) for p in HTML.rglob("*.html")
               if not p.relative_to(HTML).parts[0].startswith("_"))
CHAPTERS = [p for p in PAGES if Path(p).name[:2].isdigit()]
SCREENSHOTS = HTML.parent / "screenshots"
PHONE = {"width": 390, "height": 844}
SERIOUS = ("critical", "serious")


DRAWN = """f => { const gd = f.querySelector('.js-plotly-plot');
                 return !!(gd && gd._fullLayout && gd.querySelector('.main-svg')
                           && !f.classList.contains('dotbook-pending')); }"""


def scroll_through(page) -> int:
    """Scroll to every figure in turn, as a reader would, until each is drawn (they
    draw lazily, near the viewport); back to the top. Returns the number of figures."""
    figures = page.locator("div.dotbook-figure")
    for i in range(figures.count()):
        scroll_to(figures.nth(i))
        page.wait_for_function(DRAWN, arg=figures.nth(i).element_handle(), timeout=30_000)
    page.evaluate("() => window.scrollTo(0, 0)")
    return figures.count()


def open_page(browser, url: str, viewport: dict | None = None, draw: bool = True):
    """Open ``url``, collecting console errors and any request that leaves the site;
    with ``draw``, scroll to every figure so that all are drawn."""
    page = browser.new_page()
    if viewport:
        page.set_viewport_size(viewport)
    errors: list[str] = []
    external: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def guard(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(url, wait_until="load")
    page.wait_for_timeout(500)  # late requests (fonts, MathJax components) start by then
    if draw:
        scroll_through(page)
    return page, errors, external


def test_the_book_has_pages():
    assert "book/intro.html" in PAGES and CHAPTERS, PAGES


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_cleanly_offline(browser, book_url, path):
    page, errors, external = open_page(browser, f"{book_url}/{path}")
    try:
        assert errors == [], f"console errors on {path}: {errors}"
        assert external == [], f"requests leaving the site from {path}: {external}"
        if page.locator("div.math, span.math").count():
            page.wait_for_selector("mjx-container", state="attached", timeout=15_000)
            assert page.locator("mjx-container").count() > 0, f"math not typeset on {path}"
            assert typeset_all_math(page) == 0, f"formulas left untypeset on {path}"
            assert page.locator("mjx-merror").count() == 0, f"MathJax errors on {path}"
            assert errors == [], f"console errors typesetting the math of {path}: {errors}"
    finally:
        page.close()


def figure_data(page, index: int) -> str:
    return page.evaluate(
        "i => JSON.stringify(document.querySelectorAll('.js-plotly-plot')[i].data"
        ".map(t => [t.x, t.y, t.z]))", index)


@pytest.mark.parametrize("path", CHAPTERS)
def test_figures_render_and_every_slider_changes_the_data(browser, book_url, path):
    page, errors, _ = open_page(browser, f"{book_url}/{path}")
    try:
        figures = page.locator(".js-plotly-plot")
        assert figures.count() > 0, f"no plotly figure on {path}"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for i in range(figures.count()):
            gd = figures.nth(i)
            scroll_to(gd)
            traces = page.evaluate(
                "i => document.querySelectorAll('.js-plotly-plot')[i]._fullData.length", i)
            assert traces > 0, f"figure {i} on {path} has no data"
            assert gd.locator("g.trace").count() > 0, f"figure {i} on {path} drew nothing"
            rails = gd.locator("rect.slider-rail-touch-rect")
            for s in range(rails.count()):
                before = figure_data(page, i)
                box = rails.nth(s).bounding_box()
                for frac in (0.03, 0.97):  # one end differs from the current position
                    page.mouse.click(box["x"] + frac * box["width"], box["y"] + box["height"] / 2)
                    page.wait_for_timeout(150)
                    if figure_data(page, i) != before:
                        break
                assert figure_data(page, i) != before, (
                    f"slider {s} of figure {i} on {path} did not change the data")
            gd.screenshot(path=str(SCREENSHOTS / f"{Path(path).stem}-fig{i}.png"))
        assert errors == [], f"console errors while moving sliders on {path}: {errors}"
    finally:
        page.close()


def assert_shows_its_picture(figure, layout: str, theme: str) -> None:
    """A waiting figure shows its picture for this layout and theme, loaded, in place of
    its alt text; a figure the build made no picture of shows its alt text."""
    spec = figure.get_attribute("data-dotbook-pictures")
    if spec is None:
        shown = figure.evaluate("f => getComputedStyle(f, '::before').content")
        assert shown.strip('"') == figure.get_attribute("aria-label"), shown
        return
    want = json.loads(spec)[layout][theme]
    figure.page.wait_for_function("f => { const i = f.querySelector('img.dotbook-picture');"
                                  " return i && i.complete && i.naturalWidth > 0; }",
                                  arg=figure.element_handle(), timeout=10_000)
    img = figure.locator("img.dotbook-picture")
    assert img.get_attribute("src") == want
    assert img.get_attribute("alt") == "" and img.get_attribute("aria-hidden") == "true"
    assert figure.evaluate("f => getComputedStyle(f, '::before').content") == "none"


#: a figure's box as it waits, or as it is drawn: [waiting, height, top in the page]
BOX = """f => { const r = f.getBoundingClientRect();
               return [f.classList.contains('dotbook-pending'), r.height, r.top + scrollY]; }"""
#: placed (sized, its picture shown: dotbook-twin.js place) or drawn already
PLACED = "f => f.classList.contains('dotbook-pending') || !!f.querySelector('.main-svg')"


@pytest.mark.parametrize("view", ["desktop", "phone"])
@pytest.mark.parametrize("path", CHAPTERS)
def test_figures_below_the_fold_wait_in_place_with_their_pictures(browser, book_url, path, view):
    """A figure far below the first screen is not drawn at load: it shows the picture
    the build made of it for this width and theme (or, without one, its alt text), and
    every waiting figure's box already has the height the figure draws at (at 1280 and
    at 390 px; its row of controls included), so scrolling to each draws it and nothing
    on the page moves. (Far below: beyond three screens, or in a section the browser
    lays out only when it comes near, content-visibility; such a figure's box is sized
    then, or when the page is idle.)"""
    page, errors, _ = open_page(browser, f"{book_url}/{path}",
                                viewport=PHONE if view == "phone" else None, draw=False)
    try:
        figures = page.locator("div.dotbook-figure")
        last = figures.last
        if last.evaluate("f => !f.checkVisibility({contentVisibilityAuto: true})"
                         " || f.getBoundingClientRect().top + scrollY >= 3 * innerHeight"):
            assert not last.evaluate(DRAWN), f"the last figure of {path} was drawn at load"
            bring_near(last)
            page.wait_for_function(PLACED, arg=last.element_handle(), timeout=10_000)
            assert_shows_its_picture(last, "narrow" if view == "phone" else "wide", "light")
            assert "dotbook-pending" in last.get_attribute("class")
        assert not all(figures.evaluate_all("fs => fs.map(f => !!f.querySelector('.main-svg'))")), \
            f"every figure of {path} drawn at load"
        for i in range(figures.count()):
            figure = figures.nth(i)
            scroll_to(figure)
            page.wait_for_function(PLACED, arg=figure.element_handle(), timeout=10_000)
            pending, height, top = figure.evaluate(BOX)
            page.wait_for_function(DRAWN, arg=figure.element_handle(), timeout=30_000)
            _, drawn, now = figure.evaluate(BOX)
            if pending:
                assert abs(drawn - height) <= 2, (
                    f"figure {i} of {path} ({view}) waited in a box {height:.0f} px high and "
                    f"drew {drawn:.0f} px high")
                assert abs(now - top) <= 2, f"figure {i} of {path} moved when it was drawn"
        assert errors == [], f"console errors while drawing late on {path}: {errors}"
    finally:
        page.close()


MATH_PAGES = [p for p in PAGES if 'class="math' in (HTML / p).read_text(encoding="utf-8")]


@pytest.mark.parametrize("path", MATH_PAGES)
def test_every_page_comes_with_its_math_typeset(path):
    """The build typeset every formula of every page: no TeX is left for a reader's
    browser, no page loads MathJax, no hidden solution holds TeX, and the fonts the
    page's MathJax stylesheet names are files of the site."""
    import base64
    import re

    file = HTML / path
    text = file.read_text(encoding="utf-8")
    assert "mathjax/startup.js" not in text and "window.MathJax" not in text, \
        f"{path} loads MathJax: run make book with Chromium (make browser)"
    formulas = re.findall(r'<(span|div) class="math notranslate nohighlight">\s*(.{0,40})', text)
    assert formulas, path
    raw = [tex for _, tex in formulas if not tex.startswith("<mjx-container")]
    assert raw == [], f"formulas of {path} left as TeX: {raw[:3]}"
    assert text.count("<mjx-assistive-mml") == len(formulas), "MathML for screen readers"
    assert "<mjx-merror" not in text
    solutions = [base64.b64decode(s).decode("utf8")
                 for s in re.findall(r'data-solution="([^"]*)"', text)]
    assert [s for s in solutions if "\\(" in s or "\\[" in s] == [], "TeX in a solution"
    style = re.search(r'<style id="MJX-CHTML-styles">(.*?)</style>', text, re.S)
    assert style, f"{path} has no stylesheet for its math"
    fonts = re.findall(r'url\("([^"]+)"\)', style.group(1))
    assert fonts and all((file.parent / f).is_file() for f in fonts), fonts


def test_math_is_there_before_any_script_and_prints(browser, book_url):
    """A long chapter on a phone: every formula is typeset as the page is parsed (no
    script typesets it), each with its MathML for screen readers, drawn in MathJax's
    fonts, fetched from the site; no MathJax script is fetched; printing (beforeprint)
    draws every figure."""
    page = browser.new_page()
    page.set_viewport_size(PHONE)
    urls: list[str] = []
    page.on("requestfinished", lambda r: urls.append(r.url))
    try:
        page.goto(f"{book_url}/book/10-stability.html", wait_until="domcontentloaded")
        seen = page.evaluate("""() => {
            const math = [...document.querySelectorAll('span.math, div.math')];
            return {math: math.length, mathjax: !!window.MathJax,
                    typeset: math.filter(e => e.querySelector(
                        'mjx-container > mjx-math + mjx-assistive-mml > math')).length}; }""")
        assert seen["math"] > 100 and seen["typeset"] == seen["math"], seen
        assert not seen["mathjax"]
        page.wait_for_load_state("load")
        page.evaluate("() => document.fonts.ready")
        shown = page.evaluate("""() => {
            // the formulas laid out (not those of sections far below: content-visibility)
            const f = [...document.querySelectorAll('.bd-article .math mjx-container')]
              .filter(m => m.checkVisibility({contentVisibilityAuto: true}))
              .map(m => m.getBoundingClientRect());
            return {fonts: [...document.fonts].filter(x => x.family.startsWith('MJX')
                      && x.status === 'loaded').length,
                    drawn: f.filter(r => r.width > 3 && r.height > 8).length,
                    all: f.length}; }""")
        assert shown["fonts"] >= 2 and shown["drawn"] == shown["all"] >= 5, shown
        assert [u for u in urls if "/mathjax/" in u and u.endswith(".js")] == []
        assert any(u.endswith(".woff") and "/_static/mathjax/" in u for u in urls), urls
        page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
        page.wait_for_function("() => !document.querySelector('.dotbook-pending')",
                               timeout=30_000)
    finally:
        page.close()


def test_far_sections_wait_and_every_way_to_them_lands(browser, book_url):
    """A long chapter on a phone: the sections far below the first screen are not laid
    out as the page loads (content-visibility), figures among them; a link to a late
    section lands on its heading; a far figure scrolled to shows its picture; and once
    the page is idle, every code block that scrolls sideways can be focused
    (dotbook-page.js; the theme's own check is taken out of its script)."""
    theme = (HTML / "_static" / "scripts" / "pydata-sphinx-theme.js").read_text(encoding="utf-8")
    assert "dotbook-page.js: focusScrollers" in theme
    page = browser.new_page()
    page.set_viewport_size(PHONE)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{book_url}/book/10-stability.html", wait_until="load")
        state = page.evaluate("""() => {
            const laid = e => e.checkVisibility({contentVisibilityAuto: true});
            const s = [...document.querySelectorAll('.bd-article > section > section')];
            return {ids: s.map(x => x.id),
                    waiting: s.filter(x => !laid(x.firstElementChild || x)).length,
                    far: [...document.querySelectorAll('.dotbook-figure')]
                      .filter(f => !laid(f)).length}; }""")
        assert state["waiting"] >= 3 and state["far"] >= 1, state
        target = state["ids"][-2]
        page.evaluate("id => { location.hash = '#' + id; }", target)
        page.wait_for_timeout(500)
        top = page.evaluate("id => document.getElementById(id).getBoundingClientRect().top", target)
        assert 0 <= top <= 120, f"the link to #{target} landed {top:.0f} px from the top"
        last = page.locator(".dotbook-figure").last
        scroll_to(last)
        page.wait_for_function(
            "f => { const i = f.querySelector('img.dotbook-picture');"
            " return (i && i.complete && i.naturalWidth > 0) || !!f.querySelector('.main-svg'); }",
            arg=last.element_handle(), timeout=15_000)
        assert abs(last.evaluate("f => f.getBoundingClientRect().top + f.offsetHeight / 2")
                   - PHONE["height"] / 2) < PHONE["height"] / 2, "the figure left the screen"
        page.wait_for_function("""() => [...document.querySelectorAll('.bd-article pre')]
            .filter(e => e.scrollWidth > e.clientWidth + 1 && e.tabIndex !== 0).length === 0""",
                               timeout=15_000)
        assert page.evaluate("""() => [...document.querySelectorAll('.bd-article pre')]
            .filter(e => e.scrollWidth > e.clientWidth + 1).length""") > 0, "nothing scrolls"
        assert errors == [], errors
    finally:
        page.close()


def test_plotly_loads_only_where_there_are_figures(browser, book_url):
    """No page asks for plotly.js as it loads (figures show their pictures); drawing a page's
    figures live fetches one versioned plotly URL, the same on every page with a figure;
    a page without a figure cannot fetch it; and no Font Awesome script or webfont
    anywhere."""
    seen = {}
    # not the root's redirect to the intro (a meta refresh: it navigates away at once)
    for path in [p for p in PAGES if p != "index.html"]:
        page = browser.new_page()
        urls: list[str] = []
        page.on("requestfinished", lambda r, urls=urls: urls.append(r.url))
        page.goto(f"{book_url}/{path}", wait_until="domcontentloaded")
        assert page.locator("script[src*='plotly']").count() == 0, f"{path} loads plotly"
        page.wait_for_load_state("load")
        has_figure = page.locator("div.dotbook-figure").count() > 0
        assert page.evaluate("() => !!window.dotbookPlotlySrc") == has_figure, path
        if has_figure:
            page.evaluate("() => window.dotbookTwin.drawAll()")
            page.wait_for_timeout(100)
        page.close()
        plotly = sorted({u.split("/_static/")[-1] for u in urls if "/_static/plotly" in u})
        assert len(plotly) == (1 if has_figure else 0), (path, plotly)
        seen[path] = plotly
        fonts = [u for u in urls if "fontawesome" in u]
        assert fonts == [], f"{path} loads Font Awesome: {fonts}"
    assert len({tuple(v) for v in seen.values() if v}) == 1, seen


def test_twin_frames_match_the_python_function(browser, book_url):
    """The static twin shows what the function computes: the chapter 1 figure's
    title, after moving to a frame, equals the title Python makes for that frame."""
    from dotbook.figures import ch01

    page, _, _ = open_page(browser, f"{book_url}/book/01-dot-product.html")
    try:
        # a lazy figure's frames are added when first needed (window.dotbookTwin.frames)
        frame = page.evaluate(
            "async () => { const gd = document.querySelector('.js-plotly-plot');"
            " await window.dotbookTwin.frames(gd);"
            " const f = gd._transitionData._frames.find(f => f.name === '0-0');"
            " return JSON.stringify(f.layout.title.text); }")
        expected = ch01.angle_twin().data(theta_deg=-180, length_b=0.5)["layout"]["title"]["text"]
        assert json.loads(frame) == expected
        # move both sliders to their left ends, as a reader would: the drawn title follows
        gd = page.locator(".js-plotly-plot").first
        scroll_to(gd)
        rails = gd.locator("rect.slider-rail-touch-rect")
        for s in range(rails.count()):
            box = rails.nth(s).bounding_box()
            page.mouse.click(box["x"] + 0.01 * box["width"], box["y"] + box["height"] / 2)
            page.wait_for_timeout(300)
        drawn = gd.locator(".gtitle").text_content()
        assert drawn == expected.replace("<br>", ""), drawn
    finally:
        page.close()


# ------------------------------------------------------------------ every reader
@pytest.fixture(scope="module")
def axe():
    """axe-core, from the PyPI package that bundles it (nothing from a CDN)."""
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.mark.parametrize("path", PAGES)
def test_axe_finds_no_critical_or_serious_violation(browser, book_url, axe, path):
    page, _, _ = open_page(browser, f"{book_url}/{path}")
    try:
        violations = axe.run(page).response["violations"]
        bad = [(v["impact"], v["id"], [n["target"] for n in v["nodes"]][:4])
               for v in violations if v["impact"] in SERIOUS]
        assert bad == [], f"axe-core on {path}: {bad}"
    finally:
        page.close()


FIGURE_DATA = """k => JSON.stringify(k.parentNode.querySelector('.js-plotly-plot').data
                                    .map(t => [t.x, t.y, t.z]))"""


def slider_count(page) -> int:
    # a choice control's plotly slider is hidden: its buttons are tested in
    # test_controls_browser.py
    return page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')]"
                         ".reduce((n, gd) => n + ((gd.layout || {}).sliders || [])"
                         ".filter(s => s.visible !== false).length, 0)")


@pytest.mark.parametrize("path", CHAPTERS)
def test_every_slider_works_from_the_keyboard(browser, book_url, path):
    """Each plotly slider has a keyboard twin (role="slider"): Tab reaches it, it shows
    a focus ring, it names its value, and the arrow, Home and End keys move the figure."""
    page, errors, _ = open_page(browser, f"{book_url}/{path}")
    try:
        keys = page.locator(".dotbook-slider-key")
        assert keys.count() == slider_count(page), f"a slider on {path} has no keyboard twin"
        # Tab, from just before each figure, reaches each of its sliders in turn
        reached = page.evaluate("""() => {
            document.querySelectorAll('.dotbook-figure').forEach((f, i) => {
                const a = document.createElement('a'); a.href = '#'; a.textContent = 'probe';
                a.className = 'tab-probe'; a.dataset.i = i; f.before(a); });
            return document.querySelectorAll('.tab-probe').length; }""")
        seen = set()
        for i in range(reached):
            page.locator(".tab-probe").nth(i).focus()
            for _ in range(40):
                page.keyboard.press("Tab")
                here = page.evaluate("() => { const a = document.activeElement;"
                                     " return a.classList.contains('dotbook-slider-key') ?"
                                     " [...document.querySelectorAll('.dotbook-slider-key')]"
                                     ".indexOf(a) :"
                                     " (a.classList.contains('tab-probe') ? -2 : -1); }")
                if here == -2:
                    break
                if here >= 0:
                    seen.add(here)
        assert seen == set(range(keys.count())), f"Tab reaches sliders {sorted(seen)} on {path}"
        for i in range(keys.count()):
            key = keys.nth(i)
            scroll_to(key)
            key.focus()
            ring = key.evaluate("k => { const s = getComputedStyle(k);"
                                " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }")
            assert ring[0] != "none" and ring[1] >= 2, f"slider {i} on {path}: no focus ring {ring}"
            label, text = key.get_attribute("aria-label"), key.get_attribute("aria-valuetext")
            assert label and text.startswith(f"{label} = "), (label, text)
            lo, hi = key.get_attribute("aria-valuemin"), key.get_attribute("aria-valuemax")
            now = key.get_attribute("aria-valuenow")
            before = key.evaluate(FIGURE_DATA)
            page.keyboard.press("ArrowRight" if now != hi else "ArrowLeft")
            page.wait_for_timeout(150)
            assert key.get_attribute("aria-valuenow") != now, f"slider {i} on {path} did not step"
            assert key.evaluate(FIGURE_DATA) != before, (
                f"keyboard slider {i} on {path} did not change the figure's data")
            page.keyboard.press("End")
            page.wait_for_timeout(100)
            assert key.get_attribute("aria-valuenow") == hi
            page.keyboard.press("Home")
            page.wait_for_timeout(100)
            assert key.get_attribute("aria-valuenow") == lo
        assert errors == [], f"console errors while using the keyboard on {path}: {errors}"
    finally:
        page.close()


def set_theme(page, theme: str) -> None:
    """Switch the book's theme with its own button (it cycles auto, dark, light)."""
    for _ in range(4):
        if page.evaluate("() => document.documentElement.dataset.theme") == theme:
            page.wait_for_timeout(300)  # the figures re-colour on the change
            return
        page.locator("button.theme-switch-button").first.click()
    raise AssertionError(f"the theme switch never reached {theme!r}")


def luminance(css: str) -> float:
    """Relative luminance (0 black .. 1 white) of an ``rgb(...)``/``rgba(...)`` colour."""
    r, g, b = (int(float(v)) for v in css[css.index("(") + 1:css.index(")")].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


# a figure's text colour: its tick labels, or, for image mosaics without ticks, its
# title, subplot titles or axis titles
FIGURE_COLOURS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => [
    getComputedStyle(gd.querySelector('svg.main-svg')).backgroundColor,
    getComputedStyle(gd.querySelector(
        '.xtick text, .ytick text, .gtitle, .annotation-text, .g-xtitle text')).fill])"""


@pytest.mark.parametrize("path", CHAPTERS)
def test_figures_follow_dark_mode(browser, book_url, path):
    """Toggling the theme re-colours every figure without a reload, both ways."""
    page, errors, _ = open_page(browser, f"{book_url}/{path}")
    try:
        set_theme(page, "light")
        for bg, _ in page.evaluate(FIGURE_COLOURS):
            assert luminance(bg) > 0.9, f"a figure on {path} is not light in light mode: {bg}"
        set_theme(page, "dark")
        for i, (bg, text) in enumerate(page.evaluate(FIGURE_COLOURS)):
            assert luminance(bg) < 0.2, f"figure {i} on {path} stays light in dark mode: {bg}"
            assert luminance(text) > 0.6, f"figure {i} on {path}: dark text on dark: {text}"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        figures = page.locator("div.dotbook-figure")
        for i in range(figures.count()):
            scroll_to(figures.nth(i))
            figures.nth(i).screenshot(path=str(SCREENSHOTS / f"{Path(path).stem}-dark-fig{i}.png"))
        set_theme(page, "light")
        for bg, _ in page.evaluate(FIGURE_COLOURS):
            assert luminance(bg) > 0.9, f"a figure on {path} did not return to light: {bg}"
        assert errors == [], f"console errors while switching themes on {path}: {errors}"
    finally:
        # the theme's choice is kept in localStorage: leave the next test in light mode
        page.evaluate("() => { localStorage.removeItem('mode');"
                      " localStorage.removeItem('theme'); }")
        page.close()


PHONE_LAYOUT = """() => {
    const doc = document.documentElement;
    const out = {overflow: doc.scrollWidth - doc.clientWidth, figures: []};
    document.querySelectorAll('.js-plotly-plot').forEach(gd => {
        const box = gd.closest('.dotbook-figure') || gd.parentNode;
        const column = box.parentNode.getBoundingClientRect();
        const r = gd.getBoundingClientRect();
        const svg = gd.querySelector('svg.main-svg').getBoundingClientRect();
        const rect = el => el ? el.getBoundingClientRect() : null;
        const title = rect(gd.querySelector('.g-gtitle .gtitle'));
        const legend = rect(gd.querySelector('g.legend'));
        const sliders = rect(gd.querySelector('g.slider-container'));
        let lowest = 0;
        gd.querySelectorAll('.infolayer g').forEach(g => {
            if (/^g-x\\d*title$/.test(g.getAttribute('class') || '')) {
                lowest = Math.max(lowest, g.getBoundingClientRect().bottom); } });
        out.figures.push({
            width: Math.max(r.width, svg.width), column: column.width,
            right: Math.max(r.right, svg.right), viewport: window.innerWidth,
            titleOverLegend: title && legend && legend.height ? title.bottom - legend.top : -1,
            axisOverSlider: sliders && lowest ? lowest - sliders.top : -1});
    });
    return out; }"""


@pytest.mark.parametrize("path", PAGES)
def test_phone_width(browser, book_url, path):
    """At 390 px no page scrolls sideways, every figure fits its column, and a figure's
    title clears its legend and its axis titles clear its sliders."""
    page, errors, _ = open_page(browser, f"{book_url}/{path}", viewport=PHONE)
    try:
        page.wait_for_timeout(300)  # the figures' phone layout is measured and redrawn
        layout = page.evaluate(PHONE_LAYOUT)
        assert layout["overflow"] <= 0, f"{path} scrolls sideways by {layout['overflow']} px"
        for i, f in enumerate(layout["figures"]):
            assert f["width"] <= f["column"] + 1, f"figure {i} on {path} is too wide: {f}"
            assert f["right"] <= f["viewport"], f"figure {i} on {path} runs off the screen: {f}"
            assert f["titleOverLegend"] <= 1, f"figure {i} on {path}: title and legend overlap: {f}"
            assert f["axisOverSlider"] <= 1, f"figure {i} on {path}: axis title over a slider: {f}"
        if CHAPTERS.count(path):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            figures = page.locator("div.dotbook-figure")
            for i in range(figures.count()):
                scroll_to(figures.nth(i))
                figures.nth(i).screenshot(
                    path=str(SCREENSHOTS / f"{Path(path).stem}-phone-fig{i}.png"))
        assert errors == [], f"console errors at phone width on {path}: {errors}"
    finally:
        page.close()
