"""Every registered twin (dotbook.figures.all_twins), tested alike; the figure idiom
(plots.skeleton / plots.assemble); the registry; and what is particular to a chapter's figures.

A new chapter's twins are covered here the moment they carry ``@register``.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Iterator
from typing import Any

import plotly.graph_objects as go
import pytest
import torch

from dotbook import figures, highdim, plots
from dotbook.device import generator
from dotbook.explore import Twin
from dotbook.figures import ch01, ch02, ch03

TWINS = figures.all_twins()
#: A twin's static HTML (plots.to_book_html of its static face) stays under this many
#: bytes, so that a chapter page with two or three twins stays under 1.5 MB.
STATIC_HTML_LIMIT = 400_000
#: Figures allowed more; say why next to the entry.
STATIC_HTML_LIMITS: dict[str, int] = {
    # issue 22: every fifth depth from 5 to 50 (360 frames, about 660 kB); Chapter 9's
    # other twin is small, so the page stays under 1.5 MB (about 0.9 MB)
    "ch09.depth_twin": 750_000,
}


@pytest.fixture(scope="module", params=sorted(TWINS), ids=str)
def twin(request: pytest.FixtureRequest) -> tuple[str, Twin]:
    return request.param, TWINS[request.param]()


def _grid(t: Twin) -> list[dict[str, float]]:
    """Every point of the static grid, plus the corners of the live range."""
    names = [p.name for p in t.params]
    points = [dict(zip(names, vs, strict=True))
              for vs in itertools.product(*[p.values for p in t.params])]
    points += [dict(zip(names, vs, strict=True))
               for vs in itertools.product(*[(p.lo, p.hi) for p in t.params])]
    return points


def _random_values(t: Twin, rng: random.Random) -> dict[str, float]:
    values = {}
    for p in t.params:
        if p.categorical:
            values[p.name] = rng.choice(p.values)
            continue
        v = math.exp(rng.uniform(math.log(p.lo), math.log(p.hi))) if p.log else rng.uniform(
            p.lo, p.hi)
        values[p.name] = int(round(v)) if p.integer else v
    return values


def _signature(fig: dict[str, Any]) -> list[tuple]:
    """Kind and axes of each trace (names may carry the slider's value)."""
    return [(tr.get("type", "scatter"), tr.get("xaxis", "x"), tr.get("yaxis", "y"))
            for tr in fig["data"]]


def _axes(layout: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in layout.items() if k.startswith(("xaxis", "yaxis"))}


# ------------------------------------------------------------------ every twin
def test_registry_names_are_chapter_dot_factory() -> None:
    assert TWINS, "no twin is registered"
    for key, factory in TWINS.items():
        chapter, name = key.split(".")
        module = factory.__module__.rpartition(".")[2]  # chNN, or chNN_part (ch10_training)
        assert factory.__module__.startswith("dotbook.figures.ch") and module[:4] == chapter
        assert factory.__name__ == name
        assert isinstance(factory(), Twin)


def test_same_traces_in_the_same_order_at_every_grid_point(twin) -> None:
    key, t = twin
    first = _signature(t.data())
    for values in _grid(t):
        assert _signature(t.data(**values)) == first, f"{key} at {values}"


def test_every_axis_titled_with_a_fixed_range_and_alt_text(twin) -> None:
    key, t = twin
    for values in [t.defaults, *_grid(t)[::7]]:
        fig = t.data(**values)
        layout = fig["layout"]
        assert isinstance(layout.get("meta", {}).get("alt"), str) and layout["meta"]["alt"].strip()
        assert layout["title"]["text"].strip()
        axes = _axes(layout)
        assert {"xaxis", "yaxis"} <= set(axes), key
        for name, axis in axes.items():
            title = axis.get("title", {})
            assert isinstance(title, dict) and title.get("text", "").strip(), f"{key}: {name}"
            rng = axis.get("range")
            assert axis.get("type") == "category" or (
                rng is not None and len(rng) == 2 and all(math.isfinite(v) for v in rng)
            ), f"{key}: {name} needs a fixed range (frames do not autorange), got {rng}"
        for trace in fig["data"]:  # every trace sits on axes that exist
            for ref, kind in ((trace.get("xaxis", "x"), "xaxis"),
                              (trace.get("yaxis", "y"), "yaxis")):
                assert f"{kind}{ref[1:]}" in axes, f"{key}: trace on missing axis {ref}"


def test_figure_dicts_are_valid_plotly(twin) -> None:
    key, t = twin
    go.Figure(t.data())  # validates every property: a typo raises here, not in the browser


def test_static_html_stays_under_its_limit(twin) -> None:
    key, t = twin
    static = t.static()
    assert len(static.frames) == math.prod(len(p.values) for p in t.params)
    assert static.layout.meta["alt"].strip()
    html = plots.to_book_html(static)
    limit = STATIC_HTML_LIMITS.get(key, STATIC_HTML_LIMIT)
    assert len(html.encode()) < limit, f"{key}: {len(html.encode()):,} bytes > {limit:,}"


def test_live_update_equals_the_function(twin) -> None:
    key, t = twin
    rng = random.Random(key)
    panel = t.live()
    for _ in range(3):  # several moves: only what changed is sent, the rest must still hold
        values = _random_values(t, rng)
        panel.update(**values)
        expected = go.Figure(t.data(**values)).to_plotly_json()
        shown = panel.figure.to_plotly_json()
        assert len(shown["data"]) == len(expected["data"])
        for got, want in zip(shown["data"], expected["data"], strict=True):
            for prop, value in want.items():
                assert got.get(prop) == value, f"{key} at {values}: {prop}"
        assert shown["layout"]["title"] == expected["layout"]["title"]
        for name, axis in _axes(expected["layout"]).items():
            assert shown["layout"][name].get("range") == axis.get("range"), f"{key}: {name}"


def test_slider_moves_reach_the_figure(twin) -> None:
    key, t = twin
    panel = t.live()
    p = t.params[0]
    other = next(v for v in p.values if v != p.default)
    panel.sliders[p.name].value = other
    want = t.data(**{p.name: panel.sliders[p.name].value})["layout"]["title"]["text"]
    assert panel.figure.layout.title.text == want


# ------------------------------------------------------------------ the idiom
AXES = {"xaxis": {"title": "x", "range": [0, 1]}, "yaxis": {"title": "y", "range": [-1, 1]}}


def test_skeleton_is_a_plain_layout_with_the_template_and_alt() -> None:
    sk = plots.skeleton(alt="a line", axes=AXES, height=300, legend={"x": 0.5},
                        margin={"t": 90}, barmode="group")
    assert sk["meta"] == {"alt": "a line"} and sk["height"] == 300 and sk["barmode"] == "group"
    assert sk["template"]["layout"]["colorway"] == list(plots.PALETTE)
    assert sk["legend"]["x"] == 0.5 and sk["margin"]["t"] == 90 and sk["margin"]["l"] == 60
    assert sk["xaxis"]["title"] == {"text": "x", "standoff": 6}  # room between title and ticks
    go.Figure(plots.assemble(sk, [], title="valid"))


def test_skeleton_grid_domains_and_subplot_titles() -> None:
    sk = plots.skeleton(alt="grid", rows=2, cols=2, subplot_titles=["a", "b", "c", "d"],
                        axes={f"{a}axis{k if k > 1 else ''}": {"title": a, "range": [0, 1]}
                              for a in "xy" for k in range(1, 5)})
    assert sk["xaxis4"]["anchor"] == "y4" and sk["yaxis4"]["anchor"] == "x4"
    assert sk["xaxis"]["domain"][1] < sk["xaxis2"]["domain"][0]
    assert [a["text"] for a in sk["annotations"]] == ["a", "b", "c", "d"]


def test_assemble_is_shallow_and_leaves_the_skeleton_alone() -> None:
    sk = plots.skeleton(alt="a", axes=AXES)
    fig = plots.assemble(sk, [dict(type="scatter", x=[0], y=[0])], title="t",
                         yaxis={"range": [0, 5]}, showlegend=False)
    assert fig["layout"]["yaxis"] == {**sk["yaxis"], "range": [0, 5]}
    assert sk["yaxis"]["range"] == [-1, 1] and "text" not in sk["title"]
    assert fig["layout"]["xaxis"] is sk["xaxis"]  # not copied: cheap
    assert fig["layout"]["showlegend"] is False


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    (dict(alt="", axes=AXES), ValueError, "alt must be a non-empty"),
    (dict(alt="a", axes={"xaxis": AXES["xaxis"]}), ValueError, "missing ['yaxis']"),
    (dict(alt="a", axes={**AXES, "yaxis": {"range": [0, 1]}}), ValueError, "non-empty title"),
    (dict(alt="a", axes={**AXES, "yaxis": {"title": " ", "range": [0, 1]}}), ValueError,
     "non-empty title"),
    (dict(alt="a", axes={**AXES, "yaxis": {"title": "y"}}), ValueError, "fixed range"),
    (dict(alt="a", axes={**AXES, "yaxis": {"title": "y", "range": [1, 1]}}), ValueError,
     "fixed range"),
    (dict(alt="a", axes={**AXES, "yaxis": {"title": "y", "range": [0, math.inf]}}), ValueError,
     "fixed range"),
    (dict(alt="a", cols=2, axes=AXES), ValueError, "missing ['xaxis2', 'yaxis2']"),
    (dict(alt="a", axes={**AXES, "zaxis": {}}), ValueError, "xaxis, yaxis, xaxis2"),
    (dict(alt="a", axes=[("xaxis", {})]), TypeError, "axes must be a dict"),
])
def test_skeleton_refuses_unlabelled_figures(kwargs, error, words) -> None:
    with pytest.raises(error) as info:
        plots.skeleton(**kwargs)
    assert words in str(info.value), str(info.value)


def test_category_axis_needs_no_range_and_assemble_needs_a_title() -> None:
    sk = plots.skeleton(alt="bars", axes={**AXES, "xaxis": {"type": "category", "title": "f"}})
    assert "range" not in sk["xaxis"]
    with pytest.raises(ValueError, match="title must be a non-empty"):
        plots.assemble(sk, [], title="")


def test_book_renderer_emits_html_without_plotly_js() -> None:
    fig = go.Figure(plots.assemble(plots.skeleton(alt='a "quoted" figure', axes=AXES), [],
                                   title="t"))
    html = plots.to_book_html(fig)
    assert 'aria-label="a &quot;quoted&quot; figure"' in html
    assert "Plotly.newPlot" in html and "cdn.plot.ly" not in html and len(html) < 20_000


# ------------------------------------------------------------------ the registry
def test_register_returns_the_factory_and_refuses_a_second_module() -> None:
    def demo_twin() -> Twin:
        raise AssertionError("never built")

    demo_twin.__module__ = "dotbook.figures.ch98"
    try:
        assert figures.register(demo_twin) is demo_twin
        assert "ch98.demo_twin" in figures.all_twins()
        assert figures.register(demo_twin) is demo_twin  # a reload: fine
        clash = type(demo_twin)(demo_twin.__code__, {}, "demo_twin")
        clash.__module__ = "dotbook.figures.ch98_copy.ch98"
        with pytest.raises(ValueError, match="registered by"):
            figures.register(clash)
    finally:
        figures._REGISTRY.pop("ch98.demo_twin", None)
    outside = type(demo_twin)(demo_twin.__code__, {}, "outside_twin")
    outside.__module__ = "dotbook.geometry"
    with pytest.raises(ValueError, match="chapter's figure module"):
        figures.register(outside)


# ------------------------------------------------------------------ chapter 1
def test_chapter_one_fits_a_phone() -> None:
    """No legend to collide with the title at 390 px (each mark is labelled where it is
    drawn), and short axis titles."""
    layout = ch01.angle_twin().data()["layout"]
    assert layout["showlegend"] is False
    assert all(len(axis["title"]["text"]) <= 12 for axis in _axes(layout).values())
    data = ch01.angle_figure(45, 1.5)["data"]
    assert data[0]["text"][-1] == "a" and data[1]["text"][-1] == "b"


# ------------------------------------------------------------------ chapter 2
def test_histogram_figure_is_reproducible_and_normalised() -> None:
    a, b = ch02.histogram_figure(30), ch02.histogram_figure(30)
    assert a == b
    steps = a["data"][0]  # step outline: outer edge, the bin centres, outer edge
    heights, width = steps["y"][1:-1], steps["x"][2] - steps["x"][1]
    assert sum(heights) * width == pytest.approx(1.0, abs=1e-3)  # a density histogram


def test_tail_figure_samples_agree_with_the_exact_curve() -> None:
    fig = ch02.tail_figure(0.1)
    exact, sampled = fig["data"][2], fig["data"][3]
    curve = dict(zip(exact["x"], exact["y"], strict=True))
    for n, p, up in zip(sampled["x"], sampled["y"], sampled["error_y"]["array"], strict=True):
        if p is not None and n in curve:
            assert abs(p - curve[n]) <= 3 * up + 1e-4, n  # up = 2 standard errors


def test_tail_figure_shows_what_highdim_samples() -> None:
    for eps in (0.01, 0.3):
        rows = highdim.sampled_tails(eps, ch02.N_GRID, ch02.LIVE_SAMPLES,
                                     generator=generator(0))  # tail_figure's default
        sampled = ch02.tail_figure(eps)["data"][3]
        assert sampled["y"] == [r["p"] if r["p"] > 0 else None for r in rows]
        assert sampled["error_y"]["array"] == [2 * r["se"] if r["p"] > 0 else None
                                               for r in rows]


def test_std_and_max_cosine_figures() -> None:
    rows = highdim.std_table((2, 100), 1000, generator=generator(0))
    fig = go.Figure(ch02.std_figure(rows))
    assert fig.layout.meta["alt"] and fig.layout.xaxis.title.text and fig.layout.xaxis.range
    fig = go.Figure(ch02.max_cosine_figure(ns=(5, 50), m_max=60))
    assert len(fig.data) == 4 and len(fig.layout.shapes) == 2  # m = n marked for n ≤ m_max
    assert fig.layout.yaxis.range == (0, 1.02)


# ------------------------------------------------------------------ chapter 3
def test_superposition_values_show_the_three_regimes() -> None:
    v = ch03.superposition_values(k=1.0, b=0.0)
    assert float(v["pre"].gap) == 0.0 and float(v["relu"].gap) == 1.0
    v = ch03.superposition_values(k=-1.0, b=0.5)  # both pre-activations positive
    assert float(v["pre"].gap) == 0.5 and float(v["relu"].gap) == 0.5
    v = ch03.superposition_values(k=0.0, b=0.0)  # x2 sits on the kink: still adds up
    assert float(v["pre"].response_2) == 0.0 and float(v["relu"].gap) == 0.0
    v = ch03.superposition_values(k=0.0, b=-0.5)  # x2 = 0 with b < 0: a coincidence
    assert float(v["relu"].gap) == 0.0


def test_superposition_figure_names_its_colours_right() -> None:
    fig = ch03.superposition_figure(k=1.0, b=0.0)
    text = fig["layout"]["xaxis2"]["title"]["text"]
    assert "vermillion" in text and "orange" not in text
    assert fig["data"][3]["marker"]["color"] == plots.PALETTE[1]  # vermillion


def test_superposition_bars_hold_the_responses() -> None:
    fig = ch03.superposition_figure(k=-0.3, b=0.7)
    pre = fig["data"][2]["y"]  # f(x₁), f(x₂), sum, f(x₁ + x₂) before the ReLU
    assert pre[0] == pytest.approx(1.5 + 0.7) and pre[1] == pytest.approx(0.3 + 0.7)
    assert pre[2] - pre[3] == pytest.approx(0.7)  # the gap is the bias


def test_scaling_figure_marks_lie_on_their_curves() -> None:
    k = 0.75
    fig = ch03.scaling_figure(k)
    marks = fig["data"][3]["y"]
    wx = float(ch03.W @ ch03.X1)
    assert marks == pytest.approx([k * wx, k * k * wx, max(k, 0) * wx])
    assert torch.isclose(torch.tensor(fig["data"][0]["x"][0], dtype=torch.float64),
                         torch.tensor(-2.0, dtype=torch.float64))


# ------------------------------------------------- issue 22: labelled choices
def test_choices_are_the_same_in_both_faces(twin) -> None:
    """A categorical control offers the same choices, in the same order, with the same
    labels in the static face (slider steps + meta for the buttons) and the live face."""
    key, t = twin
    static = t.static()
    meta = static.layout.meta["dotbook_twin"]
    panel = t.live()
    for i, p in enumerate(t.params):
        steps = [s.label for s in static.layout.sliders[i].steps]
        assert steps == list(p.labels) == meta["labels"][i], f"{key}: {p.name}"
        assert meta["kinds"][i] == ("choice" if p.categorical else "slider")
        widget = panel.sliders[p.name]
        if p.categorical:
            assert [label for label, _ in widget.options] == list(p.labels), key
            assert [v for _, v in widget.options] == list(p.values), key
        assert widget.value == p.default, f"{key}: {p.name} starts at {widget.value}"


def test_no_control_encodes_a_choice_as_a_number(twin) -> None:
    key, t = twin
    for p in t.params:
        assert not re.search(r"\d = [^,)]+, \d+ =", p.label), f"{key}: {p.label} lists codes"
        assert not (p.values == (0, 1) and not p.categorical), f"{key}: {p.name} is an on/off"


# ------------------------------------ what the figures say about a choice: its name, no code
#: Quotation marks, straight or curly, read alike: the control's label 'dog' is the title's “dog”.
_QUOTES = str.maketrans({"“": "'", "”": "'", "‘": "'", "’": "'", '"': "'"})
#: A legend of number codes: "0 = float16, 1 = bfloat16".
_CODE_LIST = re.compile(r"(?<![\w.])\d+ = [^,;<=]+[,;] \d+ = ")


def _strings(obj: Any, skip: tuple[str, ...] = ()) -> Iterator[str]:
    """Every string inside a figure's dicts and lists, but under the keys in ``skip``."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            if key not in skip:
                yield from _strings(value, skip)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _strings(value, skip)


def _text(fig: dict[str, Any], skip: tuple[str, ...] = ()) -> str:
    """All the text a frame can show: title, axis titles, tick labels, annotations, trace
    names, hover templates, bar texts, meta (the alt text); not the template's defaults."""
    strings = _strings([fig["layout"], fig["data"]], ("template", *skip))
    return "\n".join(strings).translate(_QUOTES)


def _named(label: str, text: str, case: bool = True) -> bool:
    """``label`` occurs in ``text`` as a whole (not inside a longer word)."""
    pattern = rf"(?<!\w){re.escape(label.translate(_QUOTES))}(?!\w)"
    return re.search(pattern, text, 0 if case else re.IGNORECASE) is not None


def _choice_code(p: Any, text: str) -> str | None:
    """A number code for choice ``p`` in ``text``, or None: its position or value after
    the param's name or title word ("dtype 1", "(dtype_index = 1)", "digit 0"), or
    before one of its labels ("1 = float32")."""
    codes = {str(i) for i in range(len(p.values))}
    codes |= {str(v) for v in p.values if isinstance(v, int) and not isinstance(v, bool)}
    codes_re = "|".join(sorted(codes, key=len, reverse=True))
    labels = [lab.translate(_QUOTES) for lab in p.labels]
    labels_re = "|".join(re.escape(lab) for lab in sorted(labels, key=len, reverse=True))
    found = re.search(rf"(?<![\w.])(?:{codes_re})\s*[=:]\s*(?:{labels_re})(?!\w)", text)
    if found:
        return found.group(0)
    bare = text  # a label that itself holds a number ("head 0") is a name, not a code
    for lab in labels:
        bare = re.sub(rf"(?<!\w){re.escape(lab)}(?!\w)", " ", bare)
    words = {p.name, *p.name.split("_"), *re.findall(r"^[^\W\d]\w*", p.label)} - {""}
    words_re = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    found = re.search(rf"(?<!\w)(?:{words_re})\s*(?:=|:|#|no\.?)?\s*(?:{codes_re})(?![\w.])",
                      bare, re.IGNORECASE)
    return found.group(0) if found else None


def test_no_figure_text_is_a_list_of_number_codes(twin) -> None:
    """No "0 = float16, 1 = bfloat16" legend anywhere: not in a control, not in the figure."""
    key, t = twin
    shown = _text(t.data()) + "\n" + "\n".join(f"{p.label} = " for p in t.params)
    assert not _CODE_LIST.search(shown), f"{key}: {_CODE_LIST.search(shown).group(0)!r}"


#: the twins with a labelled choice (a Param with choices=), kept true by
#: test_the_twins_with_a_choice_are_listed
CHOICE_TWINS = ("ch05.match_twin", "ch07.compatibility_twin", "ch07.scaling_twin",
                "ch09.depth_twin", "ch10.accumulation_twin", "ch10.softmax_twin",
                "ch12.contribution_twin", "ch13.patterns_twin")


def test_the_twins_with_a_choice_are_listed(twin) -> None:
    key, t = twin
    assert any(p.categorical for p in t.params) == (key in CHOICE_TWINS), key


@pytest.mark.parametrize("key", CHOICE_TWINS)
def test_every_frame_names_each_choice_by_its_label(key: str) -> None:
    """Issue 22, in the figures' text: at every grid point of a twin with a labelled choice,
    nothing names that choice by a number ("float32 (dtype 1)", "test digit 0", "0 = float16"),
    and where the default frame names the choice, every frame names its choice exactly as the
    control's label does ("ReLU" where the button says ReLU, not "relu")."""
    t = TWINS[key]()
    choices = [p for p in t.params if p.categorical]
    default = _text(t.data(), skip=("meta",))  # the alt text names every choice at once
    named = [p for p in choices if _named(p.label_of(p.default), default, case=False)]
    names = [p.name for p in t.params]
    for values in itertools.product(*[p.values for p in t.params]):
        at = dict(zip(names, values, strict=True))
        fig = t.data(**at)
        text = _text(fig)
        for p in choices:
            code = _choice_code(p, text)
            assert code is None, f"{key} at {at}: {code!r} names {p.name} by a number"
        frame_text = _text(fig, skip=("meta",))
        for p in named:
            label = p.label_of(at[p.name])
            assert _named(label, frame_text), f"{key} at {at}: the text never says {label!r}"
        assert not _CODE_LIST.search(text), f"{key} at {at}: {_CODE_LIST.search(text)[0]!r}"
    for p in choices:  # the controls: the value line's prefix and each button
        assert _choice_code(p, f"{p.label} = ") is None, f"{key}: {p.label!r}"
