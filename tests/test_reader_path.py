"""The student's path (issue 21): what a reader sees on a built chapter page.

Reads the built HTML (``_build/html`` from ``make book``, or ``DOTBOOK_HTML``) with
``tools/reader_path.py`` and holds every converted chapter to DESIGN.md §7's bars:
no visible checking code (each check is folded under the line that says what it
proves), at most 100 visible code lines, none over 88 characters, no words about how
the book was made, a numbered caption for every figure. It also proves that a folded
cell still ran in the build: the values it glued are printed in the page's prose.

A chapter joins ``CONVERTED`` when its notebook follows the recipe (checking cells
tagged ``hide-input`` and opened by ``# How we know: ...``; see
``book/_ext/dotbook_folds.py``). Every chapter is in.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from support import HTML, ROOT

pytestmark = pytest.mark.browser

CONVERTED = (
    "01-dot-product",
    "02-high-dimensions",
    "03-linearity",
    "04-compute",
    "05-fully-connected",
    "06-convolution",
    "07-attention",
    "08-gradient-flow",
    "09-initialization",
    "10-stability",
    "11-depth-width",
    "12-interpretability",
    "13-attention-in-a-model",
)

_spec = importlib.util.spec_from_file_location("reader_path", ROOT / "tools" / "reader_path.py")
reader_path = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("reader_path", reader_path)  # dataclasses look their module up
_spec.loader.exec_module(reader_path)

_folds_spec = importlib.util.spec_from_file_location("dotbook_folds",
                                                    ROOT / "book" / "_ext" / "dotbook_folds.py")
dotbook_folds = importlib.util.module_from_spec(_folds_spec)
_folds_spec.loader.exec_module(dotbook_folds)

HOW_WE_KNOW = re.compile(r"^\s*#\s*How we know:", re.MULTILINE)
GLUED = re.compile(r"notebook\.glue\(\s*[\"']([A-Za-z0-9_]+)[\"']")
GLUE_TEXT = re.compile(r"\{glue:text\}`([A-Za-z0-9_]+)(?::[^`]*)?`")


def page(name: str) -> Path:
    path = HTML / "book" / f"{name}.html"
    if not path.exists():
        pytest.fail(f"{path} is missing: run 'make book' (make test does it first)")
    return path


def cells(name: str) -> list[dict]:
    return json.loads((ROOT / "book" / f"{name}.ipynb").read_text(encoding="utf8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def article(name: str) -> BeautifulSoup:
    soup = BeautifulSoup(page(name).read_text(encoding="utf8"), "html.parser")
    return soup.find("article") or soup


def test_converted_names_real_chapters() -> None:
    chapters = {p.stem for p in (ROOT / "book").glob("[0-9][0-9]-*.ipynb")}
    assert set(CONVERTED) <= chapters
    assert list(CONVERTED) == sorted(set(CONVERTED))


@pytest.mark.parametrize("name", CONVERTED)
def test_reader_sees_no_proof_and_short_code(name: str) -> None:
    seen = reader_path.measure(page(name))
    assert seen.checking_lines == 0, "a checking cell is visible: tag it hide-input"
    assert seen.visible_lines <= reader_path.MAX_VISIBLE_LINES
    assert seen.long_lines == 0, f"a visible code line is over {reader_path.MAX_LINE} chars"
    assert seen.making_words == 0, "words about how the book was made ('brief', 'seed')"


@pytest.mark.parametrize("name", CONVERTED)
def test_every_figure_has_a_numbered_caption(name: str) -> None:
    seen = reader_path.measure(page(name))
    assert seen.figures >= 1
    assert seen.captions >= seen.figures
    number = int(name[:2])
    text = article(name).get_text(" ")
    for k in range(1, seen.figures + 1):
        assert f"Figure {number}.{k} —" in text, f"no caption 'Figure {number}.{k} —'"
        assert re.search(rf"Figure {number}\.{k} —.*?Try:.*?You should see:", text, re.S)


@pytest.mark.parametrize("name", CONVERTED)
def test_each_check_is_one_click_away(name: str) -> None:
    """Every named fold ('# How we know: …', the older '# check it: …', '# going deeper: …')
    is a folded cell whose summary is that line, named by its text."""
    named = [c for c in cells(name)
             if c["cell_type"] == "code" and dotbook_folds.claim_line(source(c))]
    assert any(HOW_WE_KNOW.match(source(c)) or "check it" in source(c).split("\n")[0]
               for c in named), "no checking cell opens with '# How we know: ...'"
    for c in named:
        assert "hide-input" in c["metadata"].get("tags", []), source(c).splitlines()[0]
    claims = [dotbook_folds.claim_line(source(c)) for c in named]
    summaries = [s for s in article(name).select("div.cell.dotbook-proof details > summary")]
    shown = [s.get_text(" ", strip=True) for s in summaries]
    assert shown == claims
    for s in summaries:
        assert not s.has_attr("aria-label"), "the summary's own text must name the button"
        assert s.find_parent("details").find("pre") is not None  # the proof is inside


@pytest.mark.parametrize("name", CONVERTED)
def test_folded_checks_ran_in_the_build(name: str) -> None:
    """Each value glued by a folded cell is printed, non-empty, where the prose quotes it."""
    folded = {key for c in cells(name) if "hide-input" in c["metadata"].get("tags", [])
              for key in GLUED.findall(source(c))}
    quoted = [key for c in cells(name) if c["cell_type"] == "markdown"
              for key in GLUE_TEXT.findall(source(c))]
    pasted = [span.get_text() for span in article(name).select("span.pasted-text")]
    assert len(pasted) >= len(quoted) > 0
    assert all(text.strip() for text in pasted)
    if name == "01-dot-product":  # the Kahan check is folded, and its numbers are in the text
        assert {"ch01_arccos_share", "ch01_arccos_max"} <= folded
        text = article(name).get_text(" ")
        assert re.search(r"In\s+\d+\s*%\s+of the random vectors", text)


@pytest.mark.parametrize("name", CONVERTED)
def test_no_toggle_above_the_title(name: str) -> None:
    body = article(name)
    title = body.find("h1")
    assert title is not None
    before = [d for d in body.find_all("details") if d.sourceline < title.sourceline
              or (d.sourceline == title.sourceline and d.sourcepos < title.sourcepos)]
    setup_tags = cells(name)[0]["metadata"].get("tags", [])
    if "remove-cell" in setup_tags:
        assert before == []
    else:  # until the setup cell is removed from the HTML, only it may sit there
        assert all(d.find_parent("div", class_="tag_hide-cell") for d in before)
