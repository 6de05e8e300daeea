"""Chapter 5 figures: the rows of a trained layer are templates.

The chapter trains its layer once, ``result = layers.train_templates(digits)``
(:func:`dotbook.layers.train_templates`: zero start, full-batch steps, so
deterministic), and hands that result to the figures: ``templates_figure(result)``,
``match_twin(result)``, ``preferred_twin(result, generator=book.generator(6))``.
The figures draw a CPU float64 copy of what they are given; called with nothing
(tests, the registry) they train a CPU float64 layer of their own, the same
every time, so what a figure shows never depends on which cell ran first.
Random draws (the toy cloud, the ascent's starts) come from the generator the
chapter passes. Everything else is computed once per result and cached; the
slider functions only pick rows and build trace dicts.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch

from dotbook import data, layers, plots
from dotbook.device import generator as seeded
from dotbook.explore import Figure, Param, Twin
from dotbook.figures import digit_label, digit_param, register
from dotbook.plots import rounded

__all__ = [
    "CLOUD",
    "drawn",
    "templates_figure",
    "match_figure",
    "match_indices",
    "match_twin",
    "threshold_figure",
    "threshold_twin",
    "ascent_paths",
    "preferred_figure",
    "preferred_twin",
]

F64 = torch.float64
_DIGITS = [str(k) for k in range(10)]
_GREYS = [[0.0, "#FFFFFF"], [1.0, "#000000"]]  # paper white, ink black
_DIVERGING = "RdBu"  # plotly's RdBu: red negative, white 0, blue positive
_IMAGE_AXIS = {"showgrid": False, "zeroline": False, "showline": False}  # pixel indices


@functools.cache
def _own() -> layers.Trained:
    """A CPU float64 layer for a figure called without the chapter's (deterministic)."""
    return layers.train_templates(data.digits(dtype=F64))


@functools.cache
def _on_cpu(trained: layers.Trained) -> layers.Trained:
    return trained.to("cpu", F64)


def drawn(trained: layers.Trained | None = None) -> layers.Trained:
    """What the figures draw: ``trained`` as a CPU float64 copy (the very object when it
    is one already), or, given ``None``, a CPU float64 layer trained here."""
    if trained is None:
        return _own()
    if not isinstance(trained, layers.Trained):
        raise TypeError(f"trained must be a layers.Trained (from layers.train_templates), "
                        f"got {type(trained).__name__}")
    return _on_cpu(trained)


def _image_axes(width: int, height: int, x: str = "x") -> dict[str, dict[str, Any]]:
    """Axes for an image: pixel (0, 0) at the top left, square pixels."""
    suffix = x[1:]
    return {
        f"xaxis{suffix}": {"title": "pixel column", "range": [-0.5, width - 0.5],
                           "constrain": "domain", **_IMAGE_AXIS},
        f"yaxis{suffix}": {"title": "pixel row", "range": [height - 0.5, -0.5],
                           "scaleanchor": x, "scaleratio": 1, **_IMAGE_AXIS},
    }


# ------------------------------------------------------------- the templates
_TILE_COLS = 3  # tiles per mosaic row: side by side on a desktop, stacked (and large) on a phone


@functools.cache
def templates_figure(trained: layers.Trained | None = None) -> Figure:
    """Left: the average training image of each digit. Right: the ten rows of the
    trained ``W``, each as an 8×8 image (blue: positive weight, red: negative).
    On a phone the two mosaics stack, each as wide as the screen."""
    t = drawn(trained)
    d = t.digits
    means = torch.stack([d.x_train[d.y_train == k].mean(dim=0) for k in range(10)])  # (10, 64)
    size = float(t.weight.abs().max())
    cols, tile_rows = _TILE_COLS, math.ceil(10 / _TILE_COLS)
    width, height = cols * 9 - 1, tile_rows * 10 - 2
    axes = {**_image_axes(width, height, "x"), **_image_axes(width, height, "x2")}
    axes["xaxis"]["title"] = "class averages (ink is dark)"
    axes["xaxis2"]["title"] = "templates: rows of W (blue +, red −)"
    for name in ("xaxis", "xaxis2"):  # the tiles have no meaningful pixel coordinates
        axes[name].update(showticklabels=False, ticks="")
    for name in ("yaxis", "yaxis2"):  # room above the first row for its labels
        axes[name].update(title="digit (above its tile)", showticklabels=False, ticks="",
                          range=[height - 0.5, -1.9])
    label_x = [(k % cols) * 9 + 3.5 for k in range(10)]
    label_y = [(k // cols) * 10 - 1.0 for k in range(10)]  # in the gap above each tile
    skeleton = plots.skeleton(
        alt=("Two mosaics of ten 8 by 8 images. Left: the average training image of each "
             "digit, a blurred grey digit. Right: the ten learned weight templates; each is "
             "positive (blue) where its digit has ink that other digits lack and negative "
             "(red) where other digits have ink."),
        height=540, cols=2, horizontal_spacing=0.1, axes=axes, showlegend=False,
        margin={"t": 50, "l": 20, "r": 10, "b": 40})
    data_ = [
        dict(type="heatmap", z=rounded(plots.mosaic(d.images(means), cols, (2, 1)), 3), zmin=0.0,
             zmax=1.0, colorscale=_GREYS, showscale=False, xaxis="x", yaxis="y",
             hovertemplate="pixel value %{z:.2f}<extra></extra>"),
        dict(type="heatmap", z=rounded(plots.mosaic(d.images(t.weight), cols, (2, 1)), 3),
             zmin=-size, zmax=size, colorscale=_DIVERGING, xaxis="x2", yaxis="y2",
             colorbar=dict(title=dict(text="weight"), len=0.8, thickness=14),
             hovertemplate="weight %{z:.2f}<extra></extra>"),
    ]
    for panel in ("", "2"):  # the digit above each tile
        data_.append(dict(type="scatter", mode="text", x=label_x, y=label_y, text=_DIGITS,
                          textfont={"size": 13}, hoverinfo="skip", cliponaxis=False,
                          xaxis=f"x{panel}", yaxis=f"y{panel}", name="digit"))
    return plots.assemble(skeleton, data_, title="Prototypes are not templates")


# ------------------------------------------------------- a test digit, scored
@functools.cache
def _match_data(t: layers.Trained) -> dict[str, Any]:
    x = t.digits.x_test  # (N, 64)
    wx = x @ t.weight.T  # (N, 10): the dot products
    z = wx + t.bias  # (N, 10)
    cos = wx / (torch.linalg.vector_norm(x, dim=1, keepdim=True)
                * torch.linalg.vector_norm(t.weight, dim=1))  # (N, 10)
    lo = math.floor(min(float(z.min()), float(wx.min()))) - 1
    hi = math.ceil(max(float(z.max()), float(wx.max()))) + 1
    return {"wx": wx, "z": z, "cos": cos, "range": [lo, hi]}


@functools.cache
def _match_skeleton(t: layers.Trained) -> dict[str, Any]:
    lo, hi = _match_data(t)["range"]
    axes = {**_image_axes(8, 8, "x"),
            "xaxis2": {"title": "neuron k (digit)", "type": "category"},
            "yaxis2": {"title": "score", "range": [lo, hi]},
            "xaxis3": {"title": "neuron k (digit)", "type": "category"},
            "yaxis3": {"title": "cosine", "range": [-0.6, 0.8]}}
    axes["xaxis"]["title"] = "input x"
    return plots.skeleton(
        alt=("Left: one handwritten test digit as an 8 by 8 image. Middle: for each of the "
             "ten neurons, the dot product of its template with the digit (bars) and the "
             "score after adding its bias (diamonds); the winner is highlighted. Right: the "
             "cosine between the digit and each template."),
        height=430, cols=3, column_widths=[0.22, 0.42, 0.36], horizontal_spacing=0.1,
        axes=axes, barmode="overlay", margin={"t": 110, "l": 30, "r": 15},
        legend={"orientation": "h", "x": 0.25, "y": 1.0, "yanchor": "bottom",
                "font": {"size": 12}},
        title={"y": 0.96, "yanchor": "top", "font": {"size": 14}})


def match_figure(index: int, trained: layers.Trained | None = None) -> Figure:
    """Test digit ``index``: its 10 dot products ``W_k·x``, scores ``W_k·x + b_k`` and
    cosines; the winning neuron is drawn in vermillion."""
    t = drawn(trained)
    m = _match_data(t)
    n = t.digits.x_test.shape[0]
    if not 0 <= index < n:
        raise ValueError(f"index must lie in [0, {n - 1}], got {index}")
    wx, z, cos = m["wx"][index], m["z"][index], m["cos"][index]  # (10,) each
    label = int(t.digits.y_test[index])
    order = torch.argsort(z, descending=True).tolist()
    win, second = order[0], order[1]

    def winner(values: torch.Tensor) -> list[float | None]:
        return [round(float(values[k]), 4) if k == win else None for k in range(10)]

    image = t.digits.images(t.digits.x_test[index])  # (8, 8)
    verdict = "right" if win == label else "wrong"
    title = (f"digit {digit_label(label, index)}: neuron {win} wins ({verdict})<br>"
             f"z = W·x + b = {float(wx[win]):.2f} {float(t.bias[win]):+.2f} = "
             f"{float(z[win]):.2f}; runner-up {second}: {float(z[second]):.2f}")
    data_ = [
        dict(type="heatmap", z=rounded(image, 3), zmin=0.0, zmax=1.0, colorscale=_GREYS,
             showscale=False, xaxis="x", yaxis="y", hovertemplate="%{z:.2f}<extra></extra>"),
        dict(type="bar", x=_DIGITS, y=rounded(wx, 4), name="dot product W_k·x",
             marker=dict(color=plots.PALETTE[0], opacity=0.75), xaxis="x2", yaxis="y2"),
        dict(type="bar", x=_DIGITS, y=winner(wx), name="the winner",
             marker=dict(color=plots.PALETTE[1]), xaxis="x2", yaxis="y2"),
        dict(type="scatter", mode="markers", x=_DIGITS, y=rounded(z, 4),
             name="score W_k·x + b_k", xaxis="x2", yaxis="y2",
             marker=dict(symbol="diamond", size=10, color=plots.PALETTE[7])),
        dict(type="bar", x=_DIGITS, y=rounded(cos, 4), name="cosine", showlegend=False,
             marker=dict(color=plots.PALETTE[0], opacity=0.75), xaxis="x3", yaxis="y3"),
        dict(type="bar", x=_DIGITS, y=winner(cos), name="the winner's cosine",
             showlegend=False, marker=dict(color=plots.PALETTE[1]), xaxis="x3", yaxis="y3"),
    ]
    return plots.assemble(_match_skeleton(t), data_, title=title)


def match_indices(trained: layers.Trained | None = None) -> tuple[int, ...]:
    """The static grid: the first test image of each digit plus the first two mistakes."""
    t = drawn(trained)
    y = t.digits.y_test
    firsts = [int(torch.nonzero(y == k)[0]) for k in range(10)]
    wrong = torch.nonzero(_match_data(t)["z"].argmax(dim=1) != y).flatten().tolist()[:2]
    return tuple(sorted(set(firsts + wrong)))


@register
def match_twin(trained: layers.Trained | None = None) -> Twin:
    """A slider over the test digits (the static grid: one of each digit, two mistakes)."""
    t = drawn(trained)
    grid = match_indices(t)
    y = t.digits.y_test

    def match(index: int) -> Figure:
        return match_figure(index, t)

    return Twin(match, [digit_param(y, grid)])


# -------------------------------------------------------- the bias as threshold
_BOX = (-4.0, 6.0, -4.5, 5.5)  # x0 min, x0 max, x1 min, x1 max


#: The toy problem of the threshold figure: ``data.two_blobs(**CLOUD, generator=...)``.
CLOUD: dict[str, float] = {"n_per_class": 40, "separation": 3.5, "angle_deg": 30.0}


@functools.cache
def _threshold_skeleton() -> dict[str, Any]:
    x0, x1, y0, y1 = _BOX
    return plots.skeleton(
        alt=("Points of two classes in the plane, a unit arrow w from the origin, and the "
             "line where w·x + b = 0. The side the arrow points to is shaded: there the "
             "neuron's score is positive. Misclassified points are ringed."),
        height=520,
        axes={"xaxis": {"title": "x₁", "range": [x0, x1], "constrain": "domain"},
              "yaxis": {"title": "x₂", "range": [y0, y1], "scaleanchor": "x",
                        "scaleratio": 1}},
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "font": {"size": 12}},
        margin={"t": 120, "l": 50, "r": 15},
        title={"y": 0.96, "yanchor": "top", "font": {"size": 14}})


def threshold_figure(b: float, angle_deg: float,
                     cloud: tuple[torch.Tensor, torch.Tensor] | None = None) -> Figure:
    """The decision line ``w·x + b = 0`` for the unit vector ``w`` at ``angle_deg``, over
    the two classes ``cloud = (points, labels)`` (default: :data:`CLOUD` drawn from
    ``device.generator(0)``)."""
    x, y = _cloud(None) if cloud is None else (cloud[0].to("cpu", F64), cloud[1].cpu())
    theta = math.radians(angle_deg)
    w = torch.tensor([math.cos(theta), math.sin(theta)], dtype=F64)  # (2,), ‖w‖ = 1
    score = layers.linear(w[None, :], x, torch.tensor([b], dtype=F64))[:, 0]  # (2N,)
    fires = score > 0
    wrong = fires != (y == 1)
    accuracy = 1.0 - float(wrong.double().mean())
    foot = -b * w  # the point of the line closest to the origin
    direction = torch.tensor([-w[1], w[0]], dtype=F64)  # along the line
    ends = torch.stack([foot - 20 * direction, foot + 20 * direction])  # (2, 2)
    sx, sy = plots.half_plane((float(w[0]), float(w[1])), b, _BOX)
    data_ = [
        dict(type="scatter", x=sx, y=sy, fill="toself", mode="lines", name="w·x + b > 0",
             line=dict(width=0), fillcolor="rgba(0, 114, 178, 0.10)", hoverinfo="skip"),
        dict(type="scatter", mode="markers", x=rounded(x[y == 0, 0], 3),
             y=rounded(x[y == 0, 1], 3), name="class 0",
             marker=dict(color=plots.PALETTE[1], symbol="circle", size=7)),
        dict(type="scatter", mode="markers", x=rounded(x[y == 1, 0], 3),
             y=rounded(x[y == 1, 1], 3), name="class 1",
             marker=dict(color=plots.PALETTE[0], symbol="square", size=7)),
        dict(type="scatter", mode="markers", x=rounded(x[wrong, 0], 3),
             y=rounded(x[wrong, 1], 3), name="misclassified", hoverinfo="skip",
             marker=dict(color="rgba(0,0,0,0)", size=15, line=dict(color="#000", width=1.5))),
        dict(type="scatter", mode="lines", x=rounded(ends[:, 0], 4), y=rounded(ends[:, 1], 4),
             name="w·x + b = 0", line=dict(color=plots.PALETTE[7], width=2.5)),
        dict(type="scatter", mode="lines", x=[0.0, round(float(foot[0]), 4)],
             y=[0.0, round(float(foot[1]), 4)], name="offset −b·w", hoverinfo="skip",
             line=dict(color=plots.PALETTE[2], width=3, dash="dot")),
        dict(type="scatter", mode="lines+markers", x=[0.0, round(1.5 * float(w[0]), 4)],
             y=[0.0, round(1.5 * float(w[1]), 4)], name="w (unit)", hoverinfo="skip",
             line=dict(color=plots.PALETTE[4], width=4),
             marker=dict(symbol=["circle", "arrow"], size=[5, 15], angleref="previous",
                         color=plots.PALETTE[4])),
    ]
    title = (f"w at {angle_deg:.0f}°, b = {b:+.2f}: fires when w·x > {-b:+.2f}<br>"
             f"the line sits {abs(b):.2f} from the origin; {accuracy:.0%} of the points "
             f"on the right side")
    return plots.assemble(_threshold_skeleton(), data_, title=title)


def _cloud(generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = data.two_blobs(**CLOUD, generator=seeded(0) if generator is None else generator,
                          dtype=F64)
    return x.cpu(), y.cpu()


@register
def threshold_twin(generator: torch.Generator | None = None) -> Twin:
    """Sliders over the bias ``b`` and the direction of the unit weight vector; the two
    classes are :data:`CLOUD`, drawn once from ``generator`` (``None``: ``device.generator(0)``)."""
    cloud = _cloud(generator)

    def threshold(b: float, angle_deg: float) -> Figure:
        return threshold_figure(b, angle_deg, cloud)

    return Twin(threshold, [
        Param("b", "bias b", (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0), lo=-4.0, hi=4.0,
              step=0.05, default=-1.0),
        Param("angle_deg", "direction of w (degrees)", tuple(range(0, 360, 45)), lo=0,
              hi=359, step=1, default=45),
    ])


# ------------------------------------------------------- what a neuron detects
_ASCENT_STEPS = 40
_ASCENT_LR = 0.15


def ascent_paths(trained: layers.Trained | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Projected gradient ascent on ``W_k·x`` over ``‖x‖ = r`` from noise, for every
    neuron k in turn, each start drawn from ``generator`` (``None``:
    ``device.generator(0)``): the iterates ``(10, steps + 1, 64)``
    (:func:`dotbook.layers.preferred_input`), on the CPU in float64."""
    t = drawn(trained)
    g = seeded(0) if generator is None else generator
    paths = [layers.preferred_input(t.weight[k].to(g.device), t.radius, method="ascent",
                                    steps=_ASCENT_STEPS, lr=_ASCENT_LR, generator=g, path=True)
             for k in range(t.weight.shape[0])]
    return torch.stack(paths).to("cpu", F64)  # (10, S + 1, 64)


@functools.cache
def _preferred_skeleton(t: layers.Trained) -> dict[str, Any]:
    ceiling = float(torch.linalg.vector_norm(t.weight, dim=1).max()) * t.radius
    axes = {**_image_axes(8, 8, "x"), **_image_axes(8, 8, "x2"),
            "xaxis3": {"title": "ascent step", "range": [0, _ASCENT_STEPS]},
            "yaxis3": {"title": "W_k·x", "range": [-0.35 * ceiling, 1.08 * ceiling]}}
    axes["xaxis"]["title"] = "input x at this step"
    axes["xaxis2"]["title"] = "r·W_k/‖W_k‖"
    return plots.skeleton(
        alt=("Left: an input of fixed length, pushed step by step to raise one neuron's "
             "response; it starts as noise and turns into the neuron's template. Middle: "
             "the template scaled to the same length. Right: the response against the step, "
             "rising to the Cauchy–Schwarz ceiling r times the length of the weights."),
        height=400, cols=3, column_widths=[0.27, 0.27, 0.46], horizontal_spacing=0.07,
        axes=axes, showlegend=False, margin={"t": 90, "l": 30, "r": 15},
        title={"y": 0.95, "yanchor": "top", "font": {"size": 14}})


def preferred_figure(digit: int, step: int, trained: layers.Trained | None = None,
                     paths: torch.Tensor | None = None) -> Figure:
    """Neuron ``digit``'s preferred input after ``step`` ascent steps, next to its template
    (``paths`` from :func:`ascent_paths`; computed when not given)."""
    t = drawn(trained)
    path = (ascent_paths(t) if paths is None else paths)[digit]  # (S + 1, 64)
    w = t.weight[digit]
    best = layers.preferred_input(w, t.radius)  # (64,) r·w/‖w‖
    x = path[step]
    response = path @ w  # (S + 1,)
    ceiling = float(torch.linalg.vector_norm(w)) * t.radius
    cosine = float(torch.dot(x, w) / (torch.linalg.vector_norm(x) * torch.linalg.vector_norm(w)))
    size = float(best.abs().max())
    images = t.digits.images
    data_ = [
        dict(type="heatmap", z=rounded(images(x), 3), zmin=-size, zmax=size,
             colorscale=_DIVERGING, showscale=False, xaxis="x", yaxis="y",
             hovertemplate="%{z:.2f}<extra></extra>"),
        dict(type="heatmap", z=rounded(images(best), 3), zmin=-size, zmax=size,
             colorscale=_DIVERGING, showscale=False, xaxis="x2", yaxis="y2",
             hovertemplate="%{z:.2f}<extra></extra>"),
        dict(type="scatter", mode="lines", x=[0, _ASCENT_STEPS], y=[round(ceiling, 4)] * 2,
             name="ceiling r‖W_k‖", xaxis="x3", yaxis="y3",
             line=dict(color=plots.PALETTE[7], dash="dash")),
        dict(type="scatter", mode="lines", x=list(range(_ASCENT_STEPS + 1)),
             y=rounded(response, 4), name="W_k·x", xaxis="x3", yaxis="y3",
             line=dict(color=plots.PALETTE[0])),
        dict(type="scatter", mode="markers", x=[step], y=[round(float(response[step]), 4)],
             name="this step", xaxis="x3", yaxis="y3",
             marker=dict(color=plots.PALETTE[1], size=12)),
    ]
    title = (f"neuron {digit}, step {step}: W·x = {float(response[step]):.2f} of at most "
             f"r‖W‖ = {ceiling:.2f}<br>cos(x, W_{digit}) = {cosine:.3f}")
    return plots.assemble(_preferred_skeleton(t), data_, title=title)


@register
def preferred_twin(trained: layers.Trained | None = None,
                   generator: torch.Generator | None = None) -> Twin:
    """Sliders over the neuron and the number of ascent steps; the ten ascents are run
    here, once, from ``generator``."""
    t = drawn(trained)
    paths = ascent_paths(t, generator)  # (10, S + 1, 64)

    def preferred(digit: int, step: int) -> Figure:
        return preferred_figure(digit, step, t, paths)

    return Twin(preferred, [
        Param("digit", "neuron (digit)", tuple(range(10)), step=1, integer=True, default=3),
        Param("step", "ascent steps", (0, 1, 2, 4, 8, 16, 40), lo=0, hi=_ASCENT_STEPS, step=1,
              integer=True, default=4),
    ])
