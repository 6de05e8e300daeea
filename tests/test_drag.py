"""The draggable figures (issue 29): the JavaScript port of the readout functions
agrees with Python, and the live face recomputes on a drag.

``src/dotbook/static/dotbook-drag.js`` ports :func:`dotbook.geometry.pair_readout` and
:func:`dotbook.attention.query_readout`; node evaluates the port on the same 200
random inputs (degenerate ones included: zero vectors, parallel and antiparallel
vectors, orthogonal ones, huge and tiny temperatures) and every number must agree
within 1e-12 (relative, or absolute near 0), every undefined one be undefined in both.
"""

from __future__ import annotations

import html
import json
import math
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from support import scroll_to

from dotbook import attention, geometry

JS = Path(__file__).resolve().parents[1] / "src" / "dotbook" / "static" / "dotbook-drag.js"
NODE = shutil.which("node")
CASES = 200

RUNNER = """
const port = require(process.argv[1]);
let input = '';
process.stdin.on('data', c => input += c);
process.stdin.on('end', () => {
  const {pairs, queries} = JSON.parse(input);
  const out = {
    pairs: pairs.map(([a, b]) => port.pairReadout(a, b)),
    queries: queries.map(([q, k, v, t]) => port.queryReadout(q, k, v, t)),
  };
  process.stdout.write(JSON.stringify(out));
});
"""


def _pair_cases(rng: random.Random) -> list[tuple[list[float], list[float]]]:
    fixed = [([0.0, 0.0], [1.0, 2.0]), ([3.0, 4.0], [0.0, 0.0]), ([0.0, 0.0], [0.0, 0.0]),
             ([2.0, 1.0], [4.0, 2.0]), ([2.0, 1.0], [-6.0, -3.0]), ([2.0, 1.0], [-1.0, 2.0]),
             ([1e-9, 0.0], [0.0, 1e-9]), ([5.0, -5.0], [5.0, -5.0]), ([0.3, 0.1], [-0.1, 0.3])]
    cases = list(fixed)
    while len(cases) < CASES:
        a = [rng.uniform(-5, 5), rng.uniform(-5, 5)]
        kind = rng.randrange(4)
        if kind == 0:  # parallel or antiparallel
            k = rng.uniform(-3, 3)
            b = [k * a[0], k * a[1]]
        elif kind == 1:  # on a grid, as the snap gives
            a = [rng.randrange(-10, 11) / 2, rng.randrange(-10, 11) / 2]
            b = [rng.randrange(-10, 11) / 2, rng.randrange(-10, 11) / 2]
        else:
            b = [rng.uniform(-5, 5), rng.uniform(-5, 5)]
        cases.append((a, b))
    return cases


def _query_cases(rng: random.Random) -> list[tuple]:
    cases = []
    for i in range(CASES):
        T = rng.randrange(1, 7)
        k = [[rng.uniform(-3, 3), rng.uniform(-3, 3)] for _ in range(T)]
        v = [[rng.uniform(-3, 3), rng.uniform(-3, 3)] for _ in range(T)]
        q = [rng.uniform(-5, 5), rng.uniform(-5, 5)] if i % 10 else [0.0, 0.0]
        if i % 7 == 0 and T > 1:
            k[1] = list(k[0])  # a tie
        temperature = [1.0, 1e300, 1e-300, 1e6, 1e-6, 10 ** rng.uniform(-2, 2)][i % 6]
        cases.append((q, k, v, temperature))
    return cases


def _close(x: object, y: object, where: str) -> None:
    if isinstance(x, list):
        assert isinstance(y, list) and len(x) == len(y), (where, x, y)
        for i, (xi, yi) in enumerate(zip(x, y, strict=True)):
            _close(xi, yi, f"{where}[{i}]")
    elif x is None or isinstance(x, str):
        assert x == y, (where, x, y)
    else:
        assert y is not None and math.isfinite(x) and math.isfinite(y), (where, x, y)
        assert math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12), (where, x, y)


@pytest.fixture(scope="module")
def cases_and_port() -> tuple[dict, dict]:
    if NODE is None:
        pytest.skip("node is not installed")
    rng = random.Random(29)
    cases = {"pairs": _pair_cases(rng), "queries": _query_cases(rng)}
    done = subprocess.run([NODE, "-e", RUNNER, str(JS)], input=json.dumps(cases),
                          capture_output=True, text=True, timeout=60, check=True)
    return cases, json.loads(done.stdout)


def test_pair_readout_port_agrees_with_python(cases_and_port):
    cases, port = cases_and_port
    assert len(cases["pairs"]) == CASES
    for i, ((a, b), js) in enumerate(zip(cases["pairs"], port["pairs"], strict=True)):
        py = geometry.pair_readout(torch.tensor(a, dtype=torch.float64),
                                   torch.tensor(b, dtype=torch.float64))
        assert set(py) == set(js), (set(py) ^ set(js))
        for key in py:
            _close(py[key], js[key], f"pair {i} {key}")
        zero = a == [0.0, 0.0] or b == [0.0, 0.0]
        assert (py["cos"] is None) == zero and (py["theta_deg"] is None) == zero
        assert (py["region"] == "undefined") == zero


def test_query_readout_port_agrees_with_python(cases_and_port):
    cases, port = cases_and_port
    for i, ((q, k, v, t), js) in enumerate(zip(cases["queries"], port["queries"], strict=True)):
        py = attention.query_readout(torch.tensor(q, dtype=torch.float64),
                                     torch.tensor(k, dtype=torch.float64),
                                     torch.tensor(v, dtype=torch.float64), temperature=t)
        for key in ("scores", "weights", "output"):
            _close(py[key], js[key], f"query {i} {key} (T = {t})")
        assert math.isclose(sum(py["weights"]), 1.0, rel_tol=1e-12)


def test_degenerate_readouts():
    zero, a = torch.zeros(2, dtype=torch.float64), torch.tensor([2.0, 1.0], dtype=torch.float64)
    r = geometry.pair_readout(zero, a)
    assert r["dot"] == 0.0 and r["cos"] is None and r["projection"] is None
    assert r["region"] == "undefined"
    r = geometry.pair_readout(a, zero)  # b = 0: the projection exists (0), the angle does not
    assert r["projection"] == 0.0 and r["theta_deg"] is None
    assert geometry.pair_readout(a, -3 * a)["theta_deg"] == 180.0
    assert geometry.pair_readout(a, torch.tensor([-1.0, 2.0]).double())["region"] == "orthogonal"
    k = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    v = torch.eye(3, dtype=torch.float64)
    q = torch.tensor([3.0, 0.0], dtype=torch.float64)
    sharp = attention.query_readout(q, k, v, temperature=1e-300)  # ties share the weight
    assert sharp["weights"] == [0.5, 0.5, 0.0]
    flat = attention.query_readout(q, k, v, temperature=1e300)
    assert flat["weights"] == pytest.approx([1 / 3] * 3, abs=1e-15)


@pytest.mark.parametrize("a, b, match", [
    (torch.ones(3).double(), torch.ones(3).double(), "plane vectors"),
    (torch.tensor([float("nan"), 0.0]).double(), torch.ones(2).double(), "inf or NaN"),
    ([1.0, 2.0], torch.ones(2).double(), "torch.Tensor"),
    (torch.ones(2).double(), torch.ones(3).double(), "shape"),
])
def test_pair_readout_refuses_bad_input(a, b, match):
    with pytest.raises((TypeError, ValueError), match=match):
        geometry.pair_readout(a, b)


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("inf"), float("nan")])
def test_query_readout_refuses_bad_temperature(temperature):
    k = torch.eye(2, dtype=torch.float64)
    with pytest.raises(ValueError, match="temperature"):
        attention.query_readout(torch.ones(2).double(), k, k, temperature=temperature)



# ------------------------------------------------------------------ the live face
def _drag_from_the_frontend(panel, index: int, xy: tuple[float, float]) -> None:
    """What JupyterLab sends when the reader lets go of an arrow's tail."""
    panel.figure._handler_js2py_relayout({"new": {"relayout_data": {
        f"annotations[{index}].ax": xy[0], f"annotations[{index}].ay": xy[1]},
        "source_view_id": "test"}})


def test_the_live_face_follows_a_drag_and_snaps():
    from dotbook.figures import ch01

    panel = ch01.pair_drag().live()
    assert panel.figure._config["edits"] == {"annotationTail": True}
    _drag_from_the_frontend(panel, 1, (-2.37, 0.81))
    expected = geometry.pair_readout(torch.tensor([2.0, 1.0]).double(),
                                     torch.tensor([-2.37, 0.81]).double())
    assert panel.points["b"] == (-2.37, 0.81)
    assert panel.readout.value == ch01.readout_html(expected)
    assert panel.figure.layout.shapes[1].x0 == -2.37  # the drop starts at the new b
    panel.snap.value = True  # the grid: b lands on (-2.5, 1.0), the arrow with it
    assert panel.points["b"] == (-2.5, 1.0) and panel.figure.layout.annotations[1].ax == -2.5
    _drag_from_the_frontend(panel, 0, (9.0, -0.1))  # past the edge: kept inside the drawing
    assert panel.points["a"] == (ch01.DRAG_LIMIT, 0.0)
    _drag_from_the_frontend(panel, 0, (0.1, 0.2))  # snapped onto the origin
    assert "θ = undefined" in panel.readout.value and "nan" not in panel.readout.value.lower()


def test_the_live_query_face_recomputes_with_the_temperature():
    from dotbook.figures import ch07

    panel = ch07.query_drag().live()
    _drag_from_the_frontend(panel, 0, (-1.0, 2.0))
    panel.controls["temperature"].value = 0.01
    keys = torch.tensor(ch07.DRAG_KEYS, dtype=torch.float64)
    values = torch.tensor(ch07.DRAG_VALUES, dtype=torch.float64)
    expected = attention.query_readout(keys[1], keys, values, temperature=0.01)
    assert panel.readout.value == ch07.query_readout_html(expected)
    assert panel.figure.layout.annotations[1].ax == pytest.approx(expected["output"][0])


def test_drag_refuses_bad_points_and_kinds():
    from dotbook.drag import Drag

    with pytest.raises(ValueError, match="unknown kind"):
        Drag(lambda **_: {}, {"a": (0.0, 0.0)}, kind="triple")
    with pytest.raises(ValueError, match=r"a\[0\]"):
        Drag(lambda **_: {}, {"a": (9.0, 0.0)}, kind="pair")
    with pytest.raises(ValueError, match="pair"):
        Drag(lambda **_: {}, {"a": (1.0, 2.0, 3.0)}, kind="pair")

# ------------------------------------------------------------ in the built book
CH01 = "book/01-dot-product.html"
PANEL_LINES = "gd => [...gd._dotbookDrag.panel.querySelectorAll('p')]" \
              ".map(p => p.textContent)"
VALUES = """gd => Object.fromEntries([...gd._dotbookDrag.panel.querySelectorAll('[data-q]')]
    .map(s => [s.dataset.q, s.dataset.value === 'null' ? null : Number(s.dataset.value)]))"""
TO_PIXELS = """([gd, x, y]) => { const st = gd._dotbookDrag, r = gd.getBoundingClientRect();
    return [r.left + st.box.xa._offset + st.box.xa.l2p(x),
            r.top + st.box.ya._offset + st.box.ya.l2p(y)]; }"""


def _drag_page(browser, book_url, viewport=None, path=CH01):
    page = browser.new_page()
    if viewport:
        page.set_viewport_size(viewport)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # (requests that leave the site are test_book_browser.py's business)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.goto(f"{book_url}/{path}", wait_until="load")
    index = page.evaluate("() => [...document.querySelectorAll('.dotbook-figure')]"
                          ".findIndex(f => f.innerHTML.includes('dotbook_drag'))")
    assert index >= 0, f"no draggable figure on {path}"
    scroll_to(page.locator(".dotbook-figure").nth(index))
    page.wait_for_selector("[data-dotbook-drag]", timeout=30_000)
    gd = page.locator("[data-dotbook-drag]").first
    scroll_to(gd)
    page.wait_for_timeout(300)
    return page, gd, errors


def _controls(page, gd):
    """The figure's snap checkbox, temperature and readouts (they follow its container)."""
    # by attribute: plotly's uuid may start with a digit, which '#id' cannot
    return page.locator(f"[id='{gd.get_attribute('id')}-controls']")


def _point(gd, name: str) -> tuple[float, float]:
    handle = gd.locator("xpath=..").locator(f".dotbook-drag-handle[data-point='{name}']")
    return float(handle.get_attribute("data-x")), float(handle.get_attribute("data-y"))


def _assert_readouts_match_python(page, gd) -> dict:
    from dotbook.figures import ch01

    a, b = _point(gd, "a"), _point(gd, "b")
    expected = geometry.pair_readout(torch.tensor(a, dtype=torch.float64),
                                     torch.tensor(b, dtype=torch.float64))
    shown = gd.evaluate(VALUES)
    for key in ("dot", "geometric", "norm_a", "norm_b", "cos", "theta_deg", "projection"):
        _close(expected[key], shown[key], f"{key} at a = {a}, b = {b}")
    lines = gd.evaluate(PANEL_LINES)
    python_lines = [html.unescape(x)
                    for x in re.findall(r"<p>(.*?)</p>", ch01.readout_html(expected))]
    assert lines == python_lines
    assert not any("NaN" in line for line in lines), lines
    return expected


def _mouse_drag(page, gd, name: str, xy: tuple[float, float], steps: int = 10) -> None:
    """Press the mouse on point ``name``'s handle, move to data point ``xy``, release."""
    handle = gd.locator("xpath=..").locator(f".dotbook-drag-handle[data-point='{name}']")
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    target = gd.evaluate(TO_PIXELS.replace("([gd, x, y])", "(gd)").replace(
        "(x)", f"({xy[0]})").replace("(y)", f"({xy[1]})"))
    page.mouse.move(target[0], target[1], steps=steps)
    page.mouse.up()
    page.wait_for_timeout(100)


def _assert_query_readout_matches_python(gd, q, temperature: float) -> dict:
    """The scores, weights and output shown equal attention.query_readout's at ``q``."""
    from dotbook.figures import ch07

    keys = torch.tensor(ch07.DRAG_KEYS, dtype=torch.float64)
    values = torch.tensor(ch07.DRAG_VALUES, dtype=torch.float64)
    expected = attention.query_readout(torch.tensor(q, dtype=torch.float64), keys, values,
                                       temperature=temperature)
    shown = gd.evaluate(VALUES)
    for j in range(len(keys)):
        _close(expected["scores"][j], shown[f"score{j}"], f"score {j} at q = {q}")
        _close(expected["weights"][j], shown[f"weight{j}"], f"weight {j} at q = {q}")
    for i in range(2):
        _close(expected["output"][i], shown[f"output{i}"], f"output {i} at q = {q}")
    return expected


@pytest.mark.browser
def test_dragging_a_tip_with_the_mouse_matches_python(browser, book_url):
    page, gd, errors = _drag_page(browser, book_url)
    try:
        _mouse_drag(page, gd, "b", (-2.37, 0.81), steps=12)
        b = _point(gd, "b")
        assert b != (1.0, 2.0) and abs(b[0] + 2.37) < 0.1 and abs(b[1] - 0.81) < 0.1, b
        r = _assert_readouts_match_python(page, gd)
        assert r["region"] == "opposed"
        # snap to the grid, then drag b near (3, 4): it lands on (3, 4), where ‖b‖ = 5
        _controls(page, gd).locator(".dotbook-drag-snap").check()
        _mouse_drag(page, gd, "b", (3.1, 3.9), steps=8)
        assert _point(gd, "b") == (3.0, 4.0)
        assert _assert_readouts_match_python(page, gd)["norm_b"] == 5.0
        assert errors == []
    finally:
        page.close()


@pytest.mark.browser
def test_moving_a_tip_with_the_keyboard_matches_python(browser, book_url):
    page, gd, errors = _drag_page(browser, book_url)
    try:
        handle = gd.locator("xpath=..").locator(".dotbook-drag-handle[data-point='a']")
        handle.focus()
        ring = handle.evaluate("h => getComputedStyle(h).outlineStyle")
        assert ring != "none"
        for _ in range(4):
            page.keyboard.press("ArrowLeft")  # a step of 0.5
        for _ in range(3):
            page.keyboard.press("Shift+ArrowUp")  # a small step of 0.1
        assert _point(gd, "a") == (0.0, 1.3)
        assert handle.get_attribute("aria-valuetext") == "a = (0.0, 1.3)"
        _assert_readouts_match_python(page, gd)
        for _ in range(13):  # onto the origin: the angle is undefined, never NaN
            page.keyboard.press("Shift+ArrowDown")
        assert _point(gd, "a") == (0.0, 0.0)
        r = _assert_readouts_match_python(page, gd)
        assert r["cos"] is None
        assert "θ = undefined" in " ".join(gd.evaluate(PANEL_LINES))
        assert errors == []
    finally:
        page.close()


@pytest.mark.browser
def test_a_finger_drags_a_tip_at_phone_width(browser, book_url):
    """Touch at 390 px: Chromium's touch events (CDP) become pointer events of type touch."""
    page, gd, errors = _drag_page(browser, book_url, viewport={"width": 390, "height": 844})
    try:
        handle = gd.locator("xpath=..").locator(".dotbook-drag-handle[data-point='b']")
        box = handle.bounding_box()
        start = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        target = gd.evaluate(TO_PIXELS.replace("([gd, x, y])", "(gd)").replace(
            "(x)", "(-1.5)").replace("(y)", "(-2.5)"))
        cdp = page.context.new_cdp_session(page)
        kinds = ["touchStart"] + ["touchMove"] * 10 + ["touchEnd"]
        for i, kind in enumerate(kinds):
            f = min(i, 10) / 10
            x, y = start[0] + f * (target[0] - start[0]), start[1] + f * (target[1] - start[1])
            points = [] if kind == "touchEnd" else [{"x": x, "y": y}]
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})
            page.wait_for_timeout(30)
        page.wait_for_timeout(100)
        b = _point(gd, "b")
        assert abs(b[0] + 1.5) < 0.15 and abs(b[1] + 2.5) < 0.15, b
        _assert_readouts_match_python(page, gd)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        assert errors == []
    finally:
        page.close()


@pytest.mark.browser
def test_dragging_the_query_in_chapter_7_matches_python(browser, book_url):
    """Chapter 7: the keyboard moves q, the temperature slider sharpens the weights; the
    scores, weights and output shown equal attention.query_readout's."""

    page, gd, errors = _drag_page(browser, book_url, path="book/07-attention.html")
    try:
        handle = gd.locator("xpath=..").locator(".dotbook-drag-handle[data-point='q']")
        handle.focus()
        for key in ("ArrowLeft",) * 5 + ("ArrowUp",) * 3 + ("Shift+ArrowRight",):
            page.keyboard.press(key)
        assert _point(gd, "q") == (-0.9, 2.0)
        slider = _controls(page, gd).locator(".dotbook-drag-temperature input")
        slider.focus()
        page.keyboard.press("Home")  # log10 τ = -2: τ = 0.01
        page.wait_for_timeout(150)
        expected = _assert_query_readout_matches_python(gd, [-0.9, 2.0], 10 ** -2)
        assert expected["weights"][1] > 0.99  # q points near k₂; a low τ gives k₂ nearly all
        assert errors == []
    finally:
        page.close()
