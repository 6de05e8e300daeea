"""The Colab face of every twin, in Chromium, against a real kernel that believes it is Colab.

How the pieces stand in for Colab:

- the kernel is a real IPython kernel (``jupyter_client``) whose ``PYTHONPATH``
  puts ``tests/fake_colab`` first, so ``google.colab`` is importable and
  :meth:`Twin.show` displays :class:`dotbook.colab.ColabFace`; its
  ``text/html`` output is what a Colab output cell would render;
- the page loads plotly.js from the CDN URL in that HTML; Playwright answers
  that request with plotly's own bundled ``plotly.min.js`` (no network here);
- the page's ``google.colab.kernel.invokeFunction(name, args, kwargs)`` is a
  stub that forwards, through a Playwright binding, to this test, which runs
  ``google.colab.kernel.invoke_function(...)`` *in the kernel*: the callback
  ``ColabFace`` registered with ``google.colab.output.register_callback``
  computes ``fn(**values)`` there, with PyTorch, and its JSON goes back to the page.
"""

from __future__ import annotations

import json
import math
import os
import queue
from pathlib import Path

import pytest
from support import ROOT

pytestmark = pytest.mark.browser

FAKE = ROOT / "tests" / "fake_colab"
PLOTLY_JS = Path(__import__("plotly").__file__).parent / "package_data" / "plotly.min.js"

STUB = """
window.google = {colab: {kernel: {invokeFunction: function (name, args, kwargs) {
  return window.__dotbookInvoke(name, JSON.stringify(args), JSON.stringify(kwargs));
}}}};
"""


class Kernel:
    """A blocking client for one kernel: run code, collect its outputs."""

    def __init__(self) -> None:
        from jupyter_client import KernelManager

        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(FAKE), str(ROOT / "src"),
                                             env.get("PYTHONPATH", "")])
        env.pop("DOTBOOK_BUILD", None)
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)

    def run(self, code: str) -> list[dict]:
        msg_id = self.client.execute(code)
        outputs = []
        while True:
            try:
                msg = self.client.get_iopub_msg(timeout=300)
            except queue.Empty:  # pragma: no cover - a hung kernel
                raise AssertionError(f"no answer from the kernel to {code!r}") from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "error":
                raise AssertionError("\n".join(msg["content"]["traceback"]))
            if kind in ("display_data", "execute_result", "stream"):
                outputs.append(msg["content"])
            if kind == "status" and msg["content"]["execution_state"] == "idle":
                return outputs

    def html(self, code: str) -> str:
        return "".join(o["data"]["text/html"] for o in self.run(code)
                       if "data" in o and "text/html" in o["data"])

    def stdout(self, code: str) -> str:
        return "".join(o.get("text", "") for o in self.run(code) if o.get("name") == "stdout")

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel():
    k = Kernel()
    k.run("from dotbook.figures import all_twins\nfrom dotbook import colab\n"
          "assert colab.in_colab()")
    yield k
    k.close()


@pytest.fixture(scope="module")
def colab_page(browser, kernel):
    """A page with the stubbed Colab bridge; ``page.calls`` records each kernel round trip."""
    page = browser.new_page()
    calls: list[dict] = []

    def invoke(name: str, args: str, kwargs: str) -> dict:
        code = ("import json\nfrom google.colab import kernel\n"
                f"print(json.dumps(kernel.invoke_function({name!r}, {args!r}, {kwargs!r})))")
        answer = json.loads(kernel.stdout(code))
        calls.append({"name": name, "args": json.loads(args), "answer": answer})
        return answer

    page.expose_function("__dotbookInvoke", invoke)
    page.route("https://cdn.plot.ly/**", lambda route: route.fulfill(
        status=200, body=PLOTLY_JS.read_bytes(), content_type="application/javascript",
        headers={"Access-Control-Allow-Origin": "*"}))
    page.calls = calls
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    yield page
    page.close()


def _load(page, html: str, view: str = "") -> None:
    page.errors.clear()
    # a pick writes its view into the URL (#f1=name:label); the next twin starts afresh
    # (or at ``view``, as a link to a view opens it)
    page.evaluate("(h) => history.replaceState(null, '', '#' + h)", view)
    # Colab's output frame defines google.colab.kernel before the output's scripts run
    page.set_content(f"<!doctype html><html><head><script>{STUB}</script></head>"
                     f"<body style='width:900px'>{html}</body></html>")
    page.wait_for_function("() => { const gd = document.querySelector('.js-plotly-plot');"
                           " return gd && gd.dataset.dotbookLinked && gd.dataset.dotbookColab; }",
                           timeout=60_000)


def _position(p: dict, v: float) -> float:
    return math.log10(v) if p["log"] else v


def _off_grid(p: dict) -> float | None:
    """A value inside the live range that is not on the grid (None if there is none)."""
    vals = p["values"]
    if p["integer"]:
        free = [n for n in range(int(p["lo"]), int(p["hi"]) + 1) if n not in vals]
        return free[len(free) // 2] if free else None
    a, b = _position(p, vals[0]), _position(p, vals[1])
    mid = (a + b) / 2
    return 10 ** mid if p["log"] else mid


def _unmark(page) -> None:
    """Forget which source drew the figure, so the next draw's mark is fresh."""
    page.evaluate("() => { document.querySelector('.js-plotly-plot').dataset.dotbookSource = ''; }")


def _move(page, k: int, value: float, p: dict) -> None:
    _unmark(page)
    page.evaluate("([k, x]) => { const s = document.querySelectorAll('.dotbook-colab-slider')[k];"
                  " s.value = String(x); s.dispatchEvent(new Event('input'));"
                  " s.dispatchEvent(new Event('change')); }", [k, _position(p, value)])


def _drawn(page) -> str:
    return page.evaluate("() => { const gd = document.querySelector('.js-plotly-plot');"
                         " return JSON.stringify([gd.data.map(t => [t.x, t.y, t.z, t.text]),"
                         " gd.layout.title, gd.layout.annotations]); }")


def _spec(page) -> dict:
    return page.evaluate("() => Array.from(document.querySelectorAll('.dotbook-colab-slider'))"
                         ".map(s => s.dataset.param)")


def test_off_grid_value_is_computed_by_the_kernel(kernel, colab_page):
    page = colab_page
    _load(page, kernel.html("twin = all_twins()['ch01.angle_twin']()\ntwin.show()"))
    assert page.evaluate("() => typeof window.Plotly") == "object"  # loaded from the "CDN"
    before = len(page.calls)
    _move(page, 0, 33.3, {"log": False})
    page.wait_for_function("() => document.querySelector('.js-plotly-plot')"
                           ".dataset.dotbookSource === 'kernel'", timeout=60_000)
    assert len(page.calls) == before + 1
    call = page.calls[-1]
    assert call["name"].startswith("dotbook.twin.")
    sent = call["args"][0]
    twin = __import__("dotbook.figures.ch01", fromlist=["x"]).angle_twin()
    assert set(sent) == {"theta_deg", "length_b"}
    assert sent["theta_deg"] == pytest.approx(33.3, abs=1.0)  # the live slider's step
    assert sent["theta_deg"] not in twin.params[0].values
    # the page shows the kernel's numbers, and they are fn's own at θ = 33.3°
    from dotbook import plots
    from dotbook.figures import ch01

    want = [plots.rounded(t) for t in ch01.angle_twin().data(**call["args"][0])["data"]]
    drawn = page.evaluate("() => document.querySelector('.js-plotly-plot').data"
                          ".map(t => [t.x, t.y])")
    assert drawn == [[list(t["x"]), list(t["y"])] for t in want]
    assert f"θ = {sent['theta_deg']:g}" in page.evaluate(
        "() => document.querySelector('.js-plotly-plot').layout.title.text")
    assert page.errors == []


def test_fine_sliders_start_where_a_link_to_a_view_put_the_figure(kernel, colab_page):
    page = colab_page
    _load(page, kernel.html("all_twins()['ch09.residual_twin']().show()"), "f1=depth:10")
    assert page.evaluate("() => document.querySelector('.js-plotly-plot')._dotbook.active") == [0]
    assert page.evaluate("() => document.querySelector('.dotbook-colab-slider').value") == "10"
    assert "10 residual blocks" in page.evaluate(
        "() => document.querySelector('.js-plotly-plot').layout.title.text")


def _params(twin) -> list[dict]:
    """Each Param as the page sees it (a choice by its positions)."""
    return [{"name": p.name, "label": p.label, "choice": p.categorical, "log": p.log,
             "integer": p.integer or p.categorical,
             "values": list(range(len(p.values))) if p.categorical else list(p.values),
             "labels": list(p.labels), "default": p.values.index(p.default) if p.categorical
             else p.default, "lo": 0 if p.categorical else p.lo,
             "hi": len(p.values) - 1 if p.categorical else p.hi} for p in twin.params]


def _controls(page, params: list[dict]) -> tuple[list[str], list[list[str]]]:
    """The fine sliders' parameters, and each choice row's name and button labels."""
    n = sum(p["choice"] for p in params)
    page.wait_for_function(f"() => document.querySelectorAll('.dotbook-choice').length === {n}",
                           timeout=30_000)
    # every control takes the pointer (nothing of twin.js's lies over it)
    covered = page.evaluate(
        "() => Array.from(document.querySelectorAll('.dotbook-colab-slider,"
        " .dotbook-choice-button')).filter(e => { e.scrollIntoView({block: 'center'});"
        " const q = e.getBoundingClientRect();"
        " return document.elementFromPoint(q.x + q.width / 2, q.y + q.height / 2) !== e; })"
        ".map(e => e.outerHTML.slice(0, 80))")
    assert covered == [], covered
    assert page.evaluate("() => Array.from(document.querySelectorAll('.dotbook-link-view'))"
                         ".every(b => b.offsetParent === null)"), "no link to an output frame"
    return (_spec(page), page.evaluate(
        "() => Array.from(document.querySelectorAll('.dotbook-choice')).map(g =>"
        " [g.querySelector('.dotbook-choice-name').textContent].concat("
        "Array.from(g.querySelectorAll('.dotbook-choice-button')).map(b => b.textContent)))"))


def _pick(page, params: list[dict], k: int, position: int) -> None:
    """Click the button of choice ``position`` in parameter ``k``'s row (twin.js's buttons)."""
    row = sum(p["choice"] for p in params[:k])
    _unmark(page)
    button = page.locator(".dotbook-choice").nth(row).locator(f'[data-choice="{position}"]')
    button.click()
    assert button.get_attribute("aria-checked") == "true"


def _changed(page, before: str) -> None:
    page.wait_for_function(f"() => {json.dumps(before)} !== JSON.stringify(["
                           "document.querySelector('.js-plotly-plot').data.map(t => [t.x, t.y, "
                           "t.z, t.text]), document.querySelector('.js-plotly-plot').layout.title,"
                           " document.querySelector('.js-plotly-plot').layout.annotations])",
                           timeout=30_000)


def _kernel_drawn(page, calls: int) -> dict:
    """Wait for kernel round trip ``calls + 1``; the page must draw its answer."""
    page.wait_for_function("() => document.querySelector('.js-plotly-plot')"
                           ".dataset.dotbookSource === 'kernel'",
                           timeout=120_000)
    assert len(page.calls) == calls + 1
    answer = page.calls[-1]["answer"]["data"]["application/json"]
    assert "error" not in answer, answer
    drawn = page.evaluate("() => document.querySelector('.js-plotly-plot').data"
                          ".map(t => [t.x === undefined ? null : t.x, t.y === undefined ? null"
                          " : t.y])")
    assert drawn == [[t.get("x"), t.get("y")] for t in answer["data"]]
    return answer


def _every_twin():
    from dotbook.figures import all_twins

    return sorted(all_twins())


@pytest.mark.parametrize("name", _every_twin())
def test_every_twin_renders_and_moves_in_the_colab_face(kernel, colab_page, name):
    page = colab_page
    _load(page, kernel.html(f"all_twins()[{name!r}]().show()"))
    from dotbook.figures import all_twins

    twin = all_twins()[name]()
    params = _params(twin)
    # a number gets a fine slider; a choice keeps the book's labelled buttons
    sliders, rows = _controls(page, params)
    assert sliders == [p["name"] for p in params if not p["choice"]]
    assert rows == [[p["label"], *p["labels"]] for p in params if p["choice"]]
    # on the grid: another grid value of the first control shows its precomputed frame
    p = params[0]
    other = p["values"][0] if p["default"] != p["values"][0] else p["values"][-1]
    before, calls = _drawn(page), len(page.calls)
    if p["choice"]:
        _pick(page, params, 0, other)
    else:
        _move(page, 0, other, p)
    _changed(page, before)
    assert len(page.calls) == calls, "a grid value must not call the kernel"
    assert page.evaluate("() => document.querySelector('.js-plotly-plot')"
                         ".dataset.dotbookSource") == "frame"
    # off the grid: the kernel computes it and the page draws the kernel's numbers
    off = [(k, q, _off_grid(q)) for k, q in enumerate(params) if not q["choice"]]
    off = [(k, q, v) for k, q, v in off if v is not None]
    if not off:
        # choices have nothing between them; integer sliders whose range is their grid neither
        assert all(q["choice"] or q["values"] == list(range(int(q["lo"]), int(q["hi"]) + 1))
                   for q in params)
        assert len(page.calls) == calls and page.errors == []
        return
    k, q, value = off[0]
    slider = sliders.index(q["name"])
    _move(page, slider, value, q)
    _kernel_drawn(page, calls)
    # a choice picked while a value is off the grid is computed by the kernel too
    choices = [(j, c) for j, c in enumerate(params) if c["choice"]]
    if choices:
        j, c = choices[-1]
        now = page.calls[-1]["args"][0][c["name"]]
        to = (now + 1) % len(c["values"])
        calls = len(page.calls)
        _pick(page, params, j, to)
        answer = _kernel_drawn(page, calls)
        sent = page.calls[-1]["args"][0]
        assert sent[c["name"]] == to and sent[q["name"]] == pytest.approx(value, rel=0.05)
        import plotly.io as pio

        values = {d["name"]: (twin.params[i].values[sent[d["name"]]] if d["choice"]
                              else sent[d["name"]]) for i, d in enumerate(params)}
        want = json.loads(pio.json.to_json_plotly(twin.frame(**values)))
        assert answer["data"] == want["data"], "the kernel computed the picked choice"
    assert page.errors == []


# ------------------------------------------------------------- the draggable figures
def _load_drag(page, html: str):
    """A Colab output of a :class:`dotbook.drag.Drag`; returns its figure once dragged."""
    page.errors.clear()
    page.set_content(f"<!doctype html><html><head><script>{STUB}</script></head>"
                     f"<body style='width:900px'>{html}</body></html>")
    page.wait_for_selector("[data-dotbook-drag]", timeout=60_000)
    gd = page.locator("[data-dotbook-drag]").first
    gd.scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    return gd


def test_chapter_1_drag_works_in_colab_computed_in_the_page(kernel, colab_page):
    """Drag.show() in Colab: the book's dotbook-drag.js on the static figure; the mouse
    and the keyboard move the tips, and the readouts are pair_readout's."""
    from test_drag import PANEL_LINES, _assert_readouts_match_python, _mouse_drag, _point

    page = colab_page
    html = kernel.html("from dotbook.figures import ch01\nch01.pair_drag().show()")
    assert "dotbook-drag.js" in html and "Colab shows this figure as a still" not in html
    gd = _load_drag(page, html)
    assert page.evaluate("() => typeof window.Plotly") == "object"  # loaded from the "CDN"
    assert "Drag the tips" in page.locator("p.dotbook-note").text_content()
    _mouse_drag(page, gd, "b", (-2.37, 0.81))
    b = _point(gd, "b")
    assert abs(b[0] + 2.37) < 0.1 and abs(b[1] - 0.81) < 0.1, b
    assert _assert_readouts_match_python(page, gd)["region"] == "opposed"
    handle = gd.locator("xpath=..").locator(".dotbook-drag-handle[data-point='a']")
    handle.focus()
    for key in ("ArrowLeft",) * 4 + ("Shift+ArrowUp",) * 3:
        page.keyboard.press(key)
    assert _point(gd, "a") == (0.0, 1.3)
    assert handle.get_attribute("aria-valuetext") == "a = (0.0, 1.3)"
    _assert_readouts_match_python(page, gd)
    assert not any("NaN" in line for line in gd.evaluate(PANEL_LINES))
    assert page.errors == []


def test_chapter_7_drag_works_in_colab_computed_in_the_page(kernel, colab_page):
    """Chapter 7's query, dragged by mouse and keyboard in the Colab face: the readout
    text is query_readout_html of attention.query_readout at the final position."""
    import html as html_lib
    import re

    from test_drag import _assert_query_readout_matches_python, _mouse_drag, _point

    from dotbook.figures import ch07

    page = colab_page
    gd = _load_drag(page, kernel.html("from dotbook.figures import ch07\n"
                                      "ch07.query_drag().show()"))

    def check() -> None:
        expected = _assert_query_readout_matches_python(gd, _point(gd, "q"), 1.0)
        text = gd.evaluate("gd => gd._dotbookDrag.panel.textContent")
        assert text == html_lib.unescape(re.sub(r"<[^>]+>", "",
                                                ch07.query_readout_html(expected)))

    _mouse_drag(page, gd, "q", (-1.3, 2.6))
    q = _point(gd, "q")
    assert abs(q[0] + 1.3) < 0.1 and abs(q[1] - 2.6) < 0.1, q
    check()
    gd.locator("xpath=..").locator(".dotbook-drag-handle[data-point='q']").focus()
    for key in ("ArrowRight",) * 2 + ("Shift+ArrowDown",):
        page.keyboard.press(key)
    moved = _point(gd, "q")
    assert moved == pytest.approx((q[0] + 1.0, q[1] - 0.1), abs=1e-5)
    check()
    assert page.errors == []
