"""The built HTML book as a reader's browser sees it (Playwright + Chromium).

Every page: loads with no console error and no request leaving 127.0.0.1.
Every plotly figure: has rendered data. Every slider: moved, changes the data.
Math: typeset by the packaged MathJax.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
from support import HTML, ROOT

pytestmark = pytest.mark.browser

PAGES = sorted(str(p.relative_to(HTML)) for p in HTML.rglob("*.html")
               if not p.relative_to(HTML).parts[0].startswith("_"))
CHAPTERS = [p for p in PAGES if Path(p).name[:2].isdigit()]
SCREENSHOTS = ROOT / "_build" / "screenshots"


def open_page(browser, url: str):
    """Open ``url``, collecting console errors and any request that leaves the site."""
    page = browser.new_page()
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
            assert page.locator("mjx-merror").count() == 0, f"MathJax errors on {path}"
    finally:
        page.close()


def figure_data(page, index: int) -> str:
    return page.evaluate(
        "i => JSON.stringify(document.querySelectorAll('.js-plotly-plot')[i].data"
        ".map(t => [t.x, t.y]))", index)


@pytest.mark.parametrize("path", CHAPTERS)
def test_figures_render_and_every_slider_changes_the_data(browser, book_url, path):
    page, errors, _ = open_page(browser, f"{book_url}/{path}")
    try:
        figures = page.locator(".js-plotly-plot")
        assert figures.count() > 0, f"no plotly figure on {path}"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for i in range(figures.count()):
            gd = figures.nth(i)
            gd.scroll_into_view_if_needed()
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


def test_twin_frames_match_the_python_function(browser, book_url):
    """The static twin shows what the function computes: the chapter 1 figure's
    title, after moving to a frame, equals the title Python makes for that frame."""
    from dotbook.figures import ch01

    page, _, _ = open_page(browser, f"{book_url}/book/01-dot-product.html")
    try:
        frame = page.evaluate(
            "() => { const gd = document.querySelector('.js-plotly-plot');"
            " const f = gd._transitionData._frames.find(f => f.name === '0-0');"
            " return JSON.stringify(f.layout.title.text); }")
        expected = ch01.angle_twin().data(theta_deg=-180, length_b=0.5)["layout"]["title"]["text"]
        assert json.loads(frame) == expected
        # move both sliders to their left ends, as a reader would: the drawn title follows
        gd = page.locator(".js-plotly-plot").first
        gd.scroll_into_view_if_needed()
        rails = gd.locator("rect.slider-rail-touch-rect")
        for s in range(rails.count()):
            box = rails.nth(s).bounding_box()
            page.mouse.click(box["x"] + 0.01 * box["width"], box["y"] + box["height"] / 2)
            page.wait_for_timeout(300)
        drawn = gd.locator(".gtitle").text_content()
        assert drawn == expected.replace("<br>", ""), drawn
    finally:
        page.close()
