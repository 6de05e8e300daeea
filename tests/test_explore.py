"""explore: the static and live faces of one function agree, and bad sliders are refused."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import pytest

from dotbook.explore import Param, Twin
from dotbook.figures import ch01


def line(slope: float, shift: float = 0.0) -> go.Figure:
    return go.Figure(go.Scatter(x=[0.0, 1.0], y=[shift, shift + slope]),
                     layout=dict(title=f"slope {slope}"))


def test_one_slider_animates_natively():
    fig = Twin(line, [Param("slope", "slope", (0.0, 1.0, 2.0))]).static()
    assert [f.name for f in fig.frames] == ["0", "1", "2"]
    steps = fig.layout.sliders[0].steps
    assert [s.method for s in steps] == ["animate"] * 3
    assert [list(s.args[0]) for s in steps] == [["0"], ["1"], ["2"]]
    assert fig.frames[2].data[0].y == (0.0, 2.0)
    assert fig.frames[2].layout.title.text == "slope 2.0"


def test_two_sliders_name_frames_by_grid_index():
    twin = Twin(line, [Param("slope", "slope", (0.0, 1.0)),
                       Param("shift", "shift", (0.0, 5.0, 9.0))])
    fig = twin.static()
    assert len(fig.frames) == 6
    assert all(s.method == "skip" for sl in fig.layout.sliders for s in sl.steps)
    meta = fig.layout.meta["dotbook_twin"]
    assert {k: meta[k] for k in ("active", "names", "kinds")} == {
        "active": [1, 1], "names": ["slope", "shift"], "kinds": ["slider", "slider"]}
    frame = next(f for f in fig.frames if f.name == "0-2")
    assert frame.data[0].y == (9.0, 9.0)


def test_live_update_sends_only_what_changed():
    twin = ch01.angle_twin()
    panel = twin.live()
    sent = []
    for trace in panel.figure.data:
        trace.on_change(lambda tr, *_: sent.append(tr.name), "x", "y")
    panel.update(theta_deg=100.0, length_b=1.5)  # a (fixed) and the curve (same ‖b‖) stay
    assert "a" not in sent and "‖a‖‖b‖cos θ" not in sent and "b" in sent
    panel.update(theta_deg=100.0, length_b=1.5)  # nothing moved: nothing is sent
    count = len(sent)
    panel.update(theta_deg=100.0, length_b=1.5)
    assert len(sent) == count
    assert panel.figure.layout.title.text == twin.data(theta_deg=100.0)["layout"]["title"]["text"]


def test_a_live_function_that_changes_its_traces_is_refused():
    twin = Twin(lambda k: {"data": [{"type": "scatter", "y": [0]}] * (1 if k < 1 else 2),
                           "layout": {}}, [Param("k", "k", (0.0, 1.0, 2.0), default=0.0)])
    with pytest.raises(ValueError, match="same traces"):
        twin.live().update(k=2.0)


def test_slider_callback_runs_on_move():
    panel = ch01.angle_twin().live()
    panel.sliders["theta_deg"].value = 90
    assert "orthogonal" in panel.figure.layout.title.text


def test_static_frames_are_rounded_but_faithful():
    twin = ch01.angle_twin()
    fig = twin.static()
    frame = next(f for f in fig.frames if f.name == "4-5")  # θ = −120°, ‖b‖ = 3
    exact = twin.data(theta_deg=-120, length_b=3.0)["data"][-1]["y"][0]
    assert math.isclose(frame.data[-1].y[0], exact, rel_tol=1e-3)


@pytest.mark.parametrize(("make", "error", "words"), [
    (lambda: Param("n", "n", ()), ValueError, "non-empty"),
    (lambda: Param("n", "n", (3, 2)), ValueError, "increase"),
    (lambda: Param("n", "n", (1, 2), default=5), ValueError, "one of the grid values"),
    (lambda: Param("n", "n", (0, 2), log=True), ValueError, "lo > 0"),
    (lambda: Param("n", "n", (1, 2), lo=1.5), ValueError, "inside [lo, hi]"),
    (lambda: Param("not a name", "n", (1, 2)), ValueError, "identifier"),
    (lambda: Twin(line, []), ValueError, "at least one"),
    (lambda: Twin(line, [Param("slope", "s", (1,))] * 2), ValueError, "unique"),
    (lambda: ch01.angle_twin().figure(theta_deg=400), ValueError, "outside its slider range"),
    (lambda: ch01.angle_twin().figure(speed=1), ValueError, "unknown slider"),
    (lambda: ch01.angle_twin().figure(theta_deg="90"), TypeError, "must be a number"),
    (lambda: Twin(lambda slope: 3, [Param("slope", "s", (1,))]).figure(), TypeError, "go.Figure"),
])
def test_bad_configuration_is_explained(make, error, words):
    with pytest.raises(error) as info:
        make()
    assert words in str(info.value), str(info.value)


def test_traces_must_not_change_between_values():
    def shifty(k: float) -> go.Figure:
        return go.Figure([go.Scatter(x=[0], y=[0])] * (1 if k < 1 else 2))
    with pytest.raises(ValueError, match="same traces"):
        Twin(shifty, [Param("k", "k", (0.0, 1.0, 2.0))]).static()


# ------------------------------------------------------------------ Colab face (issue 26)
FAKE_COLAB = __import__("support").ROOT / "tests" / "fake_colab"


@pytest.fixture
def fake_colab(monkeypatch):
    """``google.colab`` importable (tests/fake_colab), as in a Colab runtime."""
    import sys

    monkeypatch.syspath_prepend(str(FAKE_COLAB))
    for name in [m for m in sys.modules if m == "google" or m.startswith("google.")]:
        monkeypatch.delitem(sys.modules, name)
    from google.colab import output

    output.callbacks.clear()
    yield output
    # the fake modules must not outlive the test: with google.colab in sys.modules, every
    # later twin would take the Colab face
    for name in [m for m in sys.modules if m == "google" or m.startswith("google.")]:
        del sys.modules[name]


def test_outside_colab_the_live_face_is_the_figure_widget():
    from dotbook import colab
    from dotbook.explore import LivePanel

    assert not colab.in_colab()
    assert isinstance(ch01.angle_twin().live(), LivePanel)


def test_in_colab_the_live_face_is_the_static_face_plus_a_registered_bridge(fake_colab):
    import json

    from google.colab import kernel

    from dotbook import colab

    assert colab.in_colab()
    face = ch01.angle_twin().live()
    assert isinstance(face, colab.ColabFace)
    assert list(fake_colab.callbacks) == [face.name] and face.name.startswith("dotbook.twin.")
    html = face.html()
    # plotly.js from its CDN (as plotly's "colab" renderer does), then the book's twin script
    cdn = html.index('src="https://cdn.plot.ly/plotly-')
    assert cdn < html.index("window.dotbookTwin") < html.index("Plotly.newPlot")
    assert colab.twin_js() in html.replace("<\\/", "</")
    answer = kernel.invoke_function(face.name, json.dumps([{"theta_deg": 33.0}]), "{}")
    fig = answer["data"]["application/json"]
    want = ch01.angle_twin().data(theta_deg=33.0)["data"][0]["x"]  # rounded as frames are
    assert fig["data"][0]["x"] == pytest.approx(want, rel=1e-3)
    assert "template" not in fig["layout"] and "sliders" not in fig["layout"]
    bad = kernel.invoke_function(face.name, json.dumps([{"theta_deg": 1e9}]), "{}")
    assert "outside its slider range" in bad["data"]["application/json"]["error"]


def test_the_twin_script_has_one_home_the_package():
    from dotbook import colab

    script = colab.twin_js()
    assert "window.dotbookTwin" in script  # what the Colab face and the book both call
    old_copy = __import__("support").ROOT / "book" / "_ext" / "static" / "dotbook-twin.js"
    assert not old_copy.exists()


def test_restart_note_only_when_an_imported_module_is_stale(monkeypatch):
    import sys
    import types

    from dotbook import colab

    colab.restart_note()  # this environment: nothing stale, no exception, no output
    old = types.ModuleType("plotly")
    old.__version__ = "5.24.1"
    monkeypatch.setitem(sys.modules, "plotly", old)
    with pytest.raises(colab.RestartNeeded) as stopped:
        colab.restart_note()
    (line,) = stopped.value._render_traceback_()
    assert line.startswith("Restart needed: pip upgraded plotly 5.24.1 → ")
    assert "Runtime → Restart session" in line and "\n" not in line


def test_restart_note_when_the_old_module_cannot_even_name_its_version(monkeypatch):
    # plotly 5 computes __version__ on first access by importing plotly.version,
    # a file pip removed when it installed plotly 7 (seen in test_colab_path)
    import sys
    import types

    from dotbook import colab

    old = types.ModuleType("plotly")

    def lazy(name):
        raise ModuleNotFoundError("No module named 'plotly.version'")

    old.__getattr__ = lazy
    monkeypatch.setitem(sys.modules, "plotly", old)
    assert colab.stale_modules(("plotly",))["plotly"][0] == "?"
