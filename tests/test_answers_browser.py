"""Answer boxes and prediction prompts (book/_ext/dotbook_answers.py), as a reader uses them.

For every chapter whose exercises use the one-source form (``notebook.solution``):
the page has one answer box per solution cell, and each box's value is the value
that solution cell computed and glued in the same build; no answer (and no solution
code) is plain text before an attempt; each box rejects a wrong answer, accepts the
build's value and a value inside the stated tolerance, works from the keyboard,
announces the result in a ``role="status"`` region, and keeps it across a reload
(localStorage) until "Clear my answers"; the boxes fit a 390 px phone and follow dark
mode; and each chapter has a prediction prompt that reveals its glued value only
after a guess.

Reads ``_build`` (``make book``) or the build named by ``DOTBOOK_HTML``.
"""

from __future__ import annotations

import ast
import base64
import json
import math
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from support import HTML, ROOT, scroll_to, typeset_all_math

pytestmark = pytest.mark.browser

BUILD = HTML.parent
GLUE_PREFIX = "dotbook_exercise__"
PHONE = {"width": 390, "height": 844}


def converted() -> list[Path]:
    """Chapters whose exercises are declared by ``notebook.solution`` (issue 25)."""
    return [p for p in sorted((ROOT / "book").glob("[0-9]*.ipynb"))
            if "notebook.solution(" in p.read_text(encoding="utf8")]


CHAPTERS = converted()


def page_path(chapter: Path) -> str:
    return f"book/{chapter.stem}.html"


def decode(text: str):
    return json.loads(base64.b64decode(text).decode("utf8"))


def boxes_in_html(chapter: Path) -> dict[str, dict]:
    """The decoded record of every answer box in the built page, by exercise id."""
    html = (HTML / page_path(chapter)).read_text(encoding="utf8")
    found = re.findall(r'<div class="dotbook-answer" id="[^"]*" data-exercise="([^"]+)" '
                       r'data-kind="[a-z]+" data-answer="([^"]+)"', html)
    return {ident: decode(payload) for ident, payload in found}


def solution_values(chapter: Path) -> dict[str, object]:
    """What each solution cell glued, from the build's execution cache (myst-nb strips glue
    outputs from the notebooks it writes; the cache keeps every cell's outputs)."""
    from jupyter_cache import get_cache

    cache = get_cache(str(BUILD / ".jupyter_cache"))
    _, nb = cache.merge_match_into_file(str(chapter))  # KeyError: the build did not run it
    values = {}
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or not source.startswith("# solution"):
            continue
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name", "")
            if name.startswith(GLUE_PREFIX):
                text = output["data"]["application/papermill.record/text/plain"]
                values[name[len(GLUE_PREFIX):]] = json.loads(ast.literal_eval(text))["value"]
    return values


def solution_cells(chapter: Path) -> list[str]:
    nb = json.loads(chapter.read_text(encoding="utf8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"
            and "".join(c["source"]).startswith("# solution")]


# ------------------------------------------------------------------ the built HTML


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_each_box_holds_the_value_its_solution_cell_computed(chapter):
    boxes, solved = boxes_in_html(chapter), solution_values(chapter)
    assert len(boxes) == len(solution_cells(chapter)) >= 1
    assert set(boxes) == set(solved)
    for ident, record in boxes.items():
        assert record["id"] == ident
        assert record["value"] == solved[ident], ident  # same build, same value, exactly


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_no_answer_or_notebook_instruction_in_plain_text(chapter):
    html = (HTML / page_path(chapter)).read_text(encoding="utf8")
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)  # figure data, not text
    text = re.sub(r"<[^>]+>", " ", html)  # what a reader (or a search) could see
    # the Exercises section itself (the first "Exercises" in the text is the sidebar's link)
    start = html.find('id="exercises"')
    end = html.find('id="summary"', start)  # up to the next section, not the page footer
    exercises = re.sub(r"<[^>]+>", " ", html[start:end if end > start else None]) \
        if start >= 0 else text
    for banned in ("Replace None", "replace None", "notebook.solution(", "answer_1 = None",
                   "not answered yet"):
        assert banned not in text, banned
    for ident, record in boxes_in_html(chapter).items():
        value = record["value"]
        numbers = value if isinstance(value, list) else [value]
        for v in numbers:
            if isinstance(v, str):
                continue
            shown = {repr(v), f"{v:.6g}", f"{v:.4f}"}
            if v != round(v):
                shown |= {f"{v:.3g}", f"{v:.4g}"}
            # The exercises must not show the answer before an attempt. Elsewhere on the page
            # the number may be a result the exercise asks the reader to find again (a table
            # row, a slider label); a small whole number (|v| <= 10) is bound to occur in the
            # questions' own data, so only larger ones are looked for.
            if v == round(v) and abs(v) <= 10:
                continue
            where = exercises
            for s in shown - {"0", "1", "0.0000"}:
                assert not re.search(rf"(?<![\w.]){re.escape(s)}(?![\w])", where), (ident, s)
        assert record["hint"] not in text, ident  # the hint is shown only after a try


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_has_a_prediction(chapter):
    html = (HTML / page_path(chapter)).read_text(encoding="utf8")
    payloads = re.findall(r'class="dotbook-predict"[^>]*data-reveal="([^"]+)"', html)
    assert payloads, "no {predict} prompt with a glued value on the page"
    for payload in payloads:
        assert decode(payload)["value"] != ""


# ------------------------------------------------------------------ in the browser


def fresh(browser, book_url: str, chapter: Path, viewport: dict | None = None):
    page = browser.new_page()
    if viewport:
        page.set_viewport_size(viewport)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{book_url}/{page_path(chapter)}", wait_until="load")
    page.evaluate("() => localStorage.removeItem('dotbook-answers:v1')")
    page.reload(wait_until="load")
    # formulas typeset as they near the viewport move what is below them: a click on a
    # box must not land where the box was a moment ago
    typeset_all_math(page)
    return page, errors


def wrong_answer(record: dict) -> str:
    if record["kind"] == "choice":
        return next(k for k, _ in record["options"] if k != record["value"])
    if record["kind"] == "vector":
        return ", ".join(str(v + 1 + abs(v)) for v in record["value"])
    v = record["value"]
    return repr(v + 1 + abs(v) * 0.5)


def near_answer(record: dict) -> str:
    """A value inside the tolerance, not the build's value itself (where the tolerance allows)."""
    def near(v: float) -> float:
        step = max(record["rtol"] * abs(v), record["atol"]) * 0.4
        return v + step
    if record["kind"] == "vector":
        return ", ".join(repr(near(v)) for v in record["value"])
    return repr(near(record["value"]))


def exact_answer(record: dict) -> str:
    if record["kind"] == "vector":
        return ", ".join(repr(v) for v in record["value"])
    return record["value"] if record["kind"] == "choice" else repr(record["value"])


def answer_with(page, box, record: dict, text: str, key: bool) -> None:
    """Give an answer, then check it: by the keyboard (Enter) or by clicking Check."""
    if record["kind"] == "choice":
        radio = box.locator(f"input[type=radio][value='{text}']")
        radio.focus()
        page.keyboard.press("Space")
        target = radio
    else:
        target = box.locator(".dotbook-answer-input")
        target.fill("")
        target.focus()
        page.keyboard.type(text)
    if key:
        page.keyboard.press("Enter")
    else:
        box.locator(".dotbook-answer-check").click()


def feedback(box) -> str:
    # the text a screen reader announces (a box in a section not laid out yet, far below
    # the screen, has no rendered text: content-visibility)
    return (box.locator(".dotbook-answer-feedback").text_content() or "").strip()


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_each_box_checks_announces_and_remembers(browser, book_url, chapter):
    records = boxes_in_html(chapter)
    page, errors = fresh(browser, book_url, chapter)
    try:
        for ident, record in records.items():
            box = page.locator(f".dotbook-answer[data-exercise='{ident}']")
            status = box.locator(".dotbook-answer-feedback")
            assert status.get_attribute("role") == "status"
            assert status.get_attribute("aria-live") == "polite"
            assert feedback(box) == ""
            assert box.locator(".dotbook-solution").is_hidden()
            # a wrong answer, by the keyboard: "Not yet" and the hint, announced
            answer_with(page, box, record, wrong_answer(record), key=True)
            assert feedback(box).startswith("Not yet"), (ident, feedback(box))
            if record["hint"]:
                assert record["hint"] in feedback(box)
            assert box.get_attribute("data-state") == "wrong"
            # Tab reaches Check; Enter on it checks again (the try is counted)
            if record["kind"] != "choice":
                box.locator(".dotbook-answer-input").focus()
                page.keyboard.press("Tab")
                assert page.evaluate("() => document.activeElement.className") == \
                    "dotbook-answer-check"
                page.keyboard.press("Enter")
                assert "try 2" in feedback(box), feedback(box)
            # inside the tolerance, then the build's own value: "Correct."
            if record["kind"] != "choice":
                answer_with(page, box, record, near_answer(record), key=False)
                assert feedback(box) == "Correct.", (ident, near_answer(record), feedback(box))
            answer_with(page, box, record, exact_answer(record), key=True)
            assert feedback(box) == "Correct.", (ident, feedback(box))
            assert box.get_attribute("data-state") == "correct"
            # the solution, on request, by the keyboard
            show = box.locator(".dotbook-answer-show")
            show.focus()
            page.keyboard.press("Enter")
            assert show.get_attribute("aria-expanded") == "true"
            solution = box.locator(".dotbook-solution")
            assert solution.is_visible() and "notebook.solution(" in solution.inner_text()
        # a reload keeps every answer and its verdict
        page.reload(wait_until="load")
        for ident, record in records.items():
            box = page.locator(f".dotbook-answer[data-exercise='{ident}']")
            expect(box.locator(".dotbook-answer-feedback")).to_have_text("Correct.")
            if record["kind"] != "choice":
                assert box.locator(".dotbook-answer-input").input_value() == exact_answer(record)
            assert box.locator(".dotbook-solution").is_visible()
        # "Clear my answers" forgets them, also after a reload
        page.get_by_role("button", name="Clear my answers on this page").click()
        assert "cleared" in page.locator(".dotbook-answers-clear [role=status]").inner_text()
        page.reload(wait_until="load")
        for ident in records:
            box = page.locator(f".dotbook-answer[data-exercise='{ident}']")
            assert feedback(box) == "" and box.locator(".dotbook-solution").is_hidden()
        assert errors == [], errors
    finally:
        page.close()


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_prediction_reveals_only_after_a_guess(browser, book_url, chapter):
    page, errors = fresh(browser, book_url, chapter)
    try:
        prompts = page.locator(".dotbook-predict")
        assert prompts.count() >= 1
        for i in range(prompts.count()):
            box = prompts.nth(i)
            data = decode(box.get_attribute("data-reveal"))
            box.locator(".dotbook-predict-reveal").click()
            expect(box.locator(".dotbook-answer-feedback")).to_contain_text("first")
            assert data["value"] not in feedback(box)
            if box.get_attribute("data-kind") == "choice":
                guess = data["options"][0][0]
                box.locator(f"input[type=radio][value='{guess}']").check()
            else:
                guess = "0.5"
                box.locator(".dotbook-answer-input").fill(guess)
            box.locator("input").first.focus()
            page.keyboard.press("Enter")
            expect(box.locator(".dotbook-answer-feedback")).to_contain_text(data["value"])
            assert box.get_attribute("data-state") == "revealed"
        page.reload(wait_until="load")
        for i in range(prompts.count()):
            data = decode(prompts.nth(i).get_attribute("data-reveal"))
            expect(prompts.nth(i).locator(".dotbook-answer-feedback")).to_contain_text(data["value"])
        assert errors == [], errors
    finally:
        page.close()


def test_the_parser_reads_formulas_and_separators(browser, book_url):
    page, _ = fresh(browser, book_url, CHAPTERS[0])
    try:
        parse = "([k, t]) => window.dotbookAnswers.parse(k, t)"
        assert math.isclose(page.evaluate(parse, ["number", "7/sqrt(2)"]), 7 / math.sqrt(2))
        assert math.isclose(page.evaluate(parse, ["number", "7/√2"]), 7 / math.sqrt(2))
        assert page.evaluate(parse, ["number", "73,856"]) == 73856
        assert page.evaluate(parse, ["number", "−1.5"]) == -1.5
        assert page.evaluate(parse, ["number", "2^-20"]) == 2.0 ** -20
        assert page.evaluate(parse, ["number", "45°"]) == 45
        assert page.evaluate(parse, ["vector", "(1, -2, 3e-1)"]) == [1, -2, 0.3]
        assert page.evaluate("() => { try { window.dotbookAnswers.parse('number', '1+');"
                             " return 'no error'; } catch (e) { return 'error'; } }") == "error"
    finally:
        page.close()


def _luminance(css: str) -> float:
    r, g, b = (int(float(v)) for v in css[css.index("(") + 1:css.index(")")].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_boxes_fit_a_phone_and_follow_dark_mode(browser, book_url, chapter):
    page, errors = fresh(browser, book_url, chapter, viewport=PHONE)
    try:
        overflow = page.evaluate("() => [...document.querySelectorAll("
                                 "'.dotbook-answer, .dotbook-predict')].map(b => ["
                                 "b.getBoundingClientRect().right, b.scrollWidth - b.clientWidth])")
        for right, inner in overflow:
            assert right <= PHONE["width"] and inner <= 0, overflow
        colours = ("() => [...document.querySelectorAll('.dotbook-answer, .dotbook-predict')]"
                   ".map(b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color,"
                   " getComputedStyle(b.querySelector('button')).color])")
        page.evaluate("() => { document.documentElement.dataset.theme = 'dark'; }")
        for background, text, button in page.evaluate(colours):
            assert _luminance(background) < 0.25 and _luminance(text) > 0.6, (background, text)
            assert _luminance(button) > 0.6, button
        page.evaluate("() => { document.documentElement.dataset.theme = 'light'; }")
        for background, text, _ in page.evaluate(colours):
            assert _luminance(background) > 0.85 and _luminance(text) < 0.35, (background, text)
        shots = BUILD / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        box = page.locator(".dotbook-answer").first
        scroll_to(box)
        box.screenshot(path=str(shots / f"{chapter.stem}-answer-phone.png"))
        assert errors == [], errors
    finally:
        page.close()
