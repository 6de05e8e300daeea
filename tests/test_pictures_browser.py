"""The pictures of the figures (book/_ext/dotbook_pictures.py, issue 24) as a reader's
browser sees them.

The build draws every figure in Chromium at a wide and a phone width, light and dark,
and each figure's box names the four SVG files. These tests check that every figure of
every chapter has its four pictures, that each picture is what the reader's browser
draws live for that width and theme (the same SVG, but for plotly's random clip ids),
and that a waiting figure shows the picture of the reader's width and theme, switching
when the theme does, until plotly draws it live in the same place.

Reads ``_build/html`` (``make book``) or the build named by ``DOTBOOK_HTML``.
"""

from __future__ import annotations

import json
import re
import sys

import pytest
from support import HTML, bring_near

from dotbook._browser import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
from dotbook_pictures import THEMES, VIEWPORTS, first_drawings  # noqa: E402

pytestmark = pytest.mark.browser

CHAPTERS = sorted(str(p.relative_to(HTML)) for p in (HTML / "book").glob("[0-9]*.html"))


def pictures_of(page) -> list[dict | None]:
    """Each figure box's pictures (None: a box with no plotly figure)."""
    return page.locator("div.dotbook-figure").evaluate_all(
        "fs => fs.map(f => f.querySelector('.plotly-graph-div')"
        " ? JSON.parse(f.getAttribute('data-dotbook-pictures')) : null)")


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def normal(svg: str) -> tuple[list[str], list[float]]:
    """An SVG as its text between numbers and its numbers, plotly's random names (of the
    drawing's ids, of each trace and colour bar) replaced by their order of appearance."""
    ids = list(dict.fromkeys(re.findall(r'\bid="([^"]+)"', svg)))
    for k, name in sorted(enumerate(ids), key=lambda item: -len(item[1])):
        svg = svg.replace(name, f"@{k}@")
    svg = re.sub(r"\b(y?trace|y?cb)[0-9a-f]{6}", r"\1", svg)
    return _NUMBER.split(svg), [float(x) for x in _NUMBER.findall(svg)]


def difference(a: str, b: str, px: float = 0.05) -> str | None:
    """Where two SVGs differ, but for plotly's random names and sub-pixel differences in
    where measured text lands (``px``); None if nowhere."""
    (text_a, num_a), (text_b, num_b) = normal(a), normal(b)
    for k, (x, y) in enumerate(zip(text_a, text_b, strict=False)):
        if x != y:
            return f"{''.join(text_a[max(0, k - 3):k + 1])[-200:]!r} / {y[:200]!r}"
    if len(text_a) != len(text_b):
        return f"{len(text_a)} / {len(text_b)} pieces"
    for k, (x, y) in enumerate(zip(num_a, num_b, strict=True)):
        if abs(x - y) > px:
            return f"{x} / {y} after {''.join(text_a[max(0, k - 3):k + 1])[-200:]!r}"
    return None


@pytest.mark.parametrize("path", CHAPTERS)
def test_every_figure_has_a_picture_for_each_width_and_theme(browser, book_url, path):
    page = browser.new_page()
    try:
        page.goto(f"{book_url}/{path}", wait_until="domcontentloaded")
        pictures = pictures_of(page)
        assert pictures and any(pictures), f"{path} has no figure"
        for i, spec in enumerate(pictures):
            if spec is None:
                continue
            assert set(spec) == set(VIEWPORTS), (path, i, spec)
            for layout in VIEWPORTS:
                assert set(spec[layout]) == set(THEMES), (path, i, layout)
                files = [HTML / "book" / spec[layout][t] for t in THEMES]
                for f in files:
                    text = f.resolve().read_text(encoding="utf-8")
                    assert text.startswith("<svg") and text.rstrip().endswith("</svg>"), f
                assert files[0].resolve() != files[1].resolve(), "light and dark are one picture"
    finally:
        page.close()


@pytest.mark.parametrize("path", CHAPTERS)
def test_each_picture_is_what_the_browser_draws_live(browser, book_url, path):
    """Every figure's first live drawing at 1280 px (light) and at 390 px (dark) in a
    freshly loaded page gives the SVG its picture holds: the pictures are not stale (a
    change in a figure, the page's script or its styles makes new ones)."""
    page = browser.new_page()
    try:
        page.goto(f"{book_url}/{path}", wait_until="domcontentloaded")
        pictures = pictures_of(page)
        for layout, theme in (("wide", "light"), ("narrow", "dark")):
            page.set_viewport_size(VIEWPORTS[layout])
            live = first_drawings(page, f"{book_url}/{path}", theme)
            for i, (spec, got) in enumerate(zip(pictures, live, strict=True)):
                if spec is None:
                    continue
                saved = (HTML / "book" / spec[layout][theme]).resolve().read_text(encoding="utf-8")
                where = difference(got["svg"], saved)
                assert where is None, (
                    f"figure {i} of {path} ({layout}, {theme}) draws differently from its "
                    f"picture {spec[layout][theme]} (run 'make book'): {where}")
    finally:
        page.close()


def test_a_waiting_figure_shows_the_picture_of_its_width_and_theme(browser, book_url):
    """Chapter 10's last figure, far below the first screen: placed only as its section
    comes near the screen, then on a phone its narrow picture; dark mode switches it to
    the dark one before it is drawn; drawn live, the picture is gone and the figure
    fills the same box."""
    page = browser.new_page()
    try:
        page.set_viewport_size(VIEWPORTS["narrow"])
        page.goto(f"{book_url}/book/10-stability.html", wait_until="load")
        last = page.locator("div.dotbook-figure").last
        spec = json.loads(last.get_attribute("data-dotbook-pictures"))
        img = last.locator("img.dotbook-picture")
        assert img.count() == 0 or last.evaluate(
            "f => f.checkVisibility({contentVisibilityAuto: true})"), "placed before near"
        bring_near(last)  # its box is sized and shows its picture as its section comes near
        assert img.get_attribute("src") == spec["narrow"]["light"]
        page.evaluate("document.documentElement.setAttribute('data-theme', 'dark')")
        page.wait_for_function("([f, src]) => f.querySelector('img.dotbook-picture')"
                               ".getAttribute('src') === src",
                               arg=[last.element_handle(), spec["narrow"]["dark"]])
        figure, box = last.bounding_box(), img.bounding_box()
        assert box["width"] == pytest.approx(figure["width"], abs=1)
        last.click(position={"x": 5, "y": 5})  # the reader reaches for it: drawn live
        page.wait_for_function("f => !f.classList.contains('dotbook-pending')",
                               arg=last.element_handle(), timeout=30_000)
        assert last.locator("img.dotbook-picture").count() == 0
        figure_now, svg = last.bounding_box(), last.locator("svg.main-svg").first.bounding_box()
        assert svg["y"] - figure_now["y"] == pytest.approx(box["y"] - figure["y"], abs=1)
        assert svg["height"] == pytest.approx(box["height"], abs=2)
        assert figure_now["height"] == pytest.approx(figure["height"], abs=2)
    finally:
        page.close()
