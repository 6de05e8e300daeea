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
