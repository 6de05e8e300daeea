"""Chapter 12 figures: contributions of a template, gradients that saturate, superposition.

The digit layer is Chapter 5's, trained by :func:`dotbook.layers.train_templates`:
the chapter trains it once and passes it, ``contribution_twin(result)``; called with
nothing (tests, the registry), the figure trains the same deterministic CPU float64
layer itself. The rest comes from :mod:`dotbook.interpret`, on the CPU in float64.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch

from dotbook import data, highdim, interpret, layers, plots
from dotbook.device import generator
from dotbook.explore import Figure, Param, Twin
from dotbook.figures import digit_label, digit_param, register
from dotbook.plots import rounded

__all__ = [
    "N_DIM",
    "contribution_figure",
    "contribution_twin",
    "example_indices",
    "saturation_figure",
    "saturation_twin",
    "superposition_curve",
    "superposition_figure",
    "superposition_twin",
]

F64 = torch.float64
_AXIS = {"showgrid": False, "zeroline": False, "dtick": 2, "ticks": ""}


# --------------------------------------------------- contributions of a template
def _image_axes(k: int) -> dict[str, dict[str, Any]]:
    s = "" if k == 1 else str(k)
    return {f"xaxis{s}": {"title": "pixel column", "range": [-0.5, 7.5], **_AXIS},
            f"yaxis{s}": {"title": "pixel row", "range": [7.5, -0.5], "scaleanchor": f"x{s}",
                          "scaleratio": 1, **_AXIS}}


@functools.cache
def _contribution_skeleton() -> dict[str, Any]:
    return plots.skeleton(
        alt=("Three 8 by 8 images side by side: a handwritten test digit; the template (weight "
             "row) of the neuron that wins for it, red negative and blue positive; and their "
             "product pixel by pixel, the contributions w_i x_i that add up to the score. Orange "
             "squares mark the pixel that pushes hardest for the winner (plus) and against it "
             "(minus)."),
        height=400, cols=3, horizontal_spacing=0.06,
        subplot_titles=["input x", "template w (winner)", "contributions wᵢxᵢ"],
        axes={**_image_axes(1), **_image_axes(2), **_image_axes(3)},
        margin={"t": 110, "l": 20, "r": 20}, showlegend=False,
        title={"y": 0.97, "yanchor": "top", "font": {"size": 14}})


@functools.cache
def _own() -> layers.Trained:
    """A CPU float64 layer for a figure called without the chapter's (deterministic)."""
    return layers.train_templates(data.digits(dtype=F64))


@functools.cache
def _drawn(trained: layers.Trained | None) -> layers.Trained:
    if trained is None:
        return _own()
    if not isinstance(trained, layers.Trained):
        raise TypeError(f"trained must be a layers.Trained (from layers.train_templates), "
                        f"got {type(trained).__name__}")
    return trained.to("cpu", F64)


def example_indices(trained: layers.Trained | None = None) -> tuple[int, ...]:
    """The static grid: the first test image of the digits 0 to 5."""
    y = _drawn(trained).digits.y_test
    return tuple(sorted(int(torch.nonzero(y == k)[0]) for k in range(6)))


def contribution_figure(index: int, trained: layers.Trained | None = None) -> Figure:
    """Test digit ``index``, the winning neuron's template and their elementwise product."""
    t = _drawn(trained)
    n = t.digits.x_test.shape[0]
    index = int(index)
    if not 0 <= index < n:
        raise ValueError(f"index must lie in [0, {n - 1}], got {index}")
    x = t.digits.x_test[index]  # (64,)
    z = t.scores(x)  # (10,)
    k = int(z.argmax())
    w = t.weight[k]  # (64,)
    c = interpret.contributions(w, x)  # (64,)
    size = float(t.weight.abs().max())
    top = float(c.abs().max())
    images = [t.digits.images(v) for v in (x, w, c)]  # (8, 8) each
    data = [
        dict(type="heatmap", z=rounded(images[0], 3), zmin=0, zmax=1, showscale=False,
             colorscale=[[0.0, "#FFFFFF"], [1.0, "#000000"]], xaxis="x", yaxis="y",
             hovertemplate="x = %{z:.2f}<extra></extra>"),
        dict(type="heatmap", z=rounded(images[1], 3), zmin=-size, zmax=size, showscale=False,
             colorscale="RdBu", xaxis="x2", yaxis="y2",
             hovertemplate="w = %{z:.2f}<extra></extra>"),
        dict(type="heatmap", z=rounded(images[2], 3), zmin=-top, zmax=top, showscale=False,
             colorscale="RdBu", xaxis="x3", yaxis="y3",
             hovertemplate="wᵢxᵢ = %{z:.2f}<extra></extra>"),
    ]
    # the pixels that push hardest for and against neuron k, marked in all three panels
    top, bottom = int(c.argmax()), int(c.argmin())
    rows, cols = [top // 8, bottom // 8], [top % 8, bottom % 8]
    for axis in ("", "2", "3"):
        data.append(dict(type="scatter", mode="markers+text", x=cols, y=rows,
                         text=["+", "−"], textposition="middle right", xaxis=f"x{axis}",
                         yaxis=f"y{axis}", name="strongest for / against", hoverinfo="skip",
                         textfont=dict(size=14, color=plots.PALETTE[4]),
                         marker=dict(symbol="square-open", size=16, color=plots.PALETTE[4],
                                     line=dict(width=2.5))))
    title = (f"digit {digit_label(t.digits.y_test[index], index)}: neuron {k} wins<br>"
             f"Σ wᵢxᵢ + b = {float(c.sum()):.3f} {float(t.bias[k]):+.3f} = "
             f"{float(c.sum() + t.bias[k]):.3f} = z_{k}")
    return plots.assemble(_contribution_skeleton(), data, title=title)


@register
def contribution_twin(trained: layers.Trained | None = None) -> Twin:
    """A slider over the test digits, for the layer ``trained`` (Chapter 5's)."""
    t = _drawn(trained)
    grid = example_indices(t)
    y = t.digits.y_test

    def contribution(index: int) -> Figure:
        return contribution_figure(index, t)

    return Twin(contribution, [digit_param(y, grid)])


# ------------------------------------------------------ gradients that saturate
_S = torch.linspace(0.0, 3.0, 61, dtype=F64)  # (61,)
_SAT_SKELETON = plots.skeleton(
    alt=("Left: the saturating model f(x) = min(1, x1 + x2) along the diagonal x1 = x2 = s, "
         "with the current input marked. Right: three bars: the change f(x) − f(0) that an "
         "attribution should account for, the sum of gradient × input, and the sum of "
         "integrated gradients."),
    height=440, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.14,
    axes={"xaxis": {"title": "s (input x = (s, s))", "range": [0, 3]},
          "yaxis": {"title": "f(x)", "range": [-0.1, 1.3]},
          "xaxis2": {"title": "attribution", "type": "category"},
          "yaxis2": {"title": "sum over inputs", "range": [-0.1, 1.3]}},
    showlegend=False, margin={"t": 90, "l": 60, "r": 15},
    title={"y": 0.97, "yanchor": "top", "font": {"size": 14}})
_SAT_CURVE = interpret.saturating(torch.stack([_S, _S], dim=1))  # (61,)


def saturation_figure(s: float) -> Figure:
    """Gradient × input and integrated gradients of :func:`dotbook.interpret.saturating`
    at ``x = (s, s)``, baseline 0."""
    x = torch.tensor([s, s], dtype=F64)  # (2,)
    f = interpret.saturating
    gxi = float(interpret.gradient_x_input(f, x).sum())
    ig = float(interpret.integrated_gradients(f, x, steps=64).sum())
    change = float(f(x) - f(torch.zeros_like(x)))
    data = [
        dict(type="scatter", x=rounded(_S), y=rounded(_SAT_CURVE), mode="lines",
             name="f along the diagonal", line=dict(color=plots.COLORS["reference"])),
        dict(type="scatter", x=[s], y=[change], mode="markers", name="the input",
             marker=dict(color=plots.PALETTE[1], size=13, line=dict(color="white", width=1.5))),
        dict(type="bar", x=["f(x) − f(0)", "Σ gradient × input", "Σ integrated gradients"],
             y=rounded([change, gxi, ig]), xaxis="x2", yaxis="y2", name="sums",
             marker=dict(color=[plots.PALETTE[7], plots.PALETTE[0], plots.PALETTE[2]])),
    ]
    gap = gxi - change
    title = (f"x = ({s:.2f}, {s:.2f}): f(x) − f(0) = {change:.3f}<br>"
             f"gradient × input misses by {gap:+.3f}; integrated gradients by "
             f"{ig - change:+.1e}")
    return plots.assemble(_SAT_SKELETON, data, title=title)


@register
def saturation_twin() -> Twin:
    """A slider along the diagonal x = (s, s)."""
    return Twin(saturation_figure, [
        Param("s", "s (input x = (s, s))", (0.1, 0.25, 0.4, 0.6, 1.0, 1.5, 2.0, 3.0), lo=0.0,
              hi=3.0, step=0.05, default=1.0),
    ])


# ------------------------------------------------------------------ superposition
#: The dimension of the superposition figure.
N_DIM = 32
_MS = (32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
_BINS = 40


@functools.lru_cache(maxsize=1024)
def _experiment(m: int, k: int) -> interpret.Interference:
    """One configuration, cached: a live move that returns to it costs nothing."""
    return interpret.superposition_experiment(m, N_DIM, k, batch=256, generator=generator(m))


@functools.cache
def superposition_curve(k: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Relative reconstruction error (ReLU readout, plain readout) against m, for ``k``."""
    relu, linear = [], []
    for m in _MS:
        r = _experiment(m, k)
        relu.append(r.relative_relu)
        linear.append(r.relative_linear)
    return tuple(relu), tuple(linear)


@functools.cache
def _superposition_skeleton() -> dict[str, Any]:
    return plots.skeleton(
        alt=(f"Left: histogram of the cosines between m random feature directions in "
             f"{N_DIM} dimensions, with the exact density of Chapter 2, the largest |cos| and "
             f"the union bound marked. Right: the mean squared error of reading sparse features "
             f"back, relative to the signal's mean square, against m, for a plain readout "
             f"and for a ReLU readout with a negative bias."),
        height=470, cols=2, horizontal_spacing=0.13,
        axes={"xaxis": {"title": "cos θ between two features", "range": [-1, 1]},
              "yaxis": {"title": "density", "range": [0, 3]},
              "xaxis2": {"title": "features m (log)", "type": "log",
                         "range": [math.log10(28), math.log10(1200)]},
              "yaxis2": {"title": "error / signal (log)", "type": "log", "range": [-2, 1.5]}},
        legend={"orientation": "h", "x": 0.0, "y": 1.0, "yanchor": "bottom",
                "font": {"size": 12}},
        margin={"t": 120, "l": 60, "r": 15},
        title={"y": 0.97, "yanchor": "top", "font": {"size": 14}})


@functools.cache
def _pair_histogram() -> tuple[list[float], list[float]]:
    """Histogram (bin centres, density) of the cosines of all pairs among 128 random
    directions in :data:`N_DIM` dimensions: the law of one pair does not depend on m."""
    u = highdim.random_directions(128, N_DIM, generator=generator(0))  # (128, n)
    pairs = (u @ u.T)[tuple(torch.triu_indices(128, 128, 1))]  # (8128,)
    centres, density, _ = plots.density_histogram(pairs, -1.0, 1.0, _BINS)  # (bins,), (bins,)
    return rounded(centres), rounded(density, 3)


_T = torch.linspace(-0.99, 0.99, 67, dtype=F64)  # (67,)
_DENSITY = highdim.cosine_density(_T, N_DIM)  # (67,)


def superposition_figure(m: int, k: int) -> Figure:
    """``m`` feature directions in :data:`N_DIM` dimensions, ``k`` active features."""
    m, k = int(m), int(k)
    r = _experiment(m, k)
    centres, density = _pair_histogram()
    relu, linear = superposition_curve(k)
    data = [
        dict(type="bar", x=centres, y=density, name="cosines of 8,128 pairs",
             marker=dict(color=plots.COLORS["sample"]), width=2.0 / _BINS, hoverinfo="skip"),
        dict(type="scatter", x=rounded(_T), y=rounded(_DENSITY, 3), mode="lines",
             name=f"exact density, n = {N_DIM}", line=dict(color=plots.COLORS["exact"])),
        dict(type="scatter", x=[-r.max_cos, -r.max_cos, None, r.max_cos, r.max_cos],
             y=[0, 3, None, 0, 3], mode="lines", name="largest |cos|", hoverinfo="skip",
             line=dict(color=plots.PALETTE[7], width=1.5)),
        dict(type="scatter", x=[-r.bound, -r.bound, None, r.bound, r.bound],
             y=[0, 3, None, 0, 3], mode="lines", name="union bound (95 %)", hoverinfo="skip",
             line=dict(color=plots.PALETTE[3], width=1.5, dash="dot")),
        dict(type="scatter", x=list(_MS), y=rounded(linear, 3), mode="lines+markers",
             name="plain readout Uh", xaxis="x2", yaxis="y2",
             line=dict(color=plots.PALETTE[4])),
        dict(type="scatter", x=list(_MS), y=rounded(relu, 3), mode="lines+markers",
             name="ReLU(Uh + β)", xaxis="x2", yaxis="y2", line=dict(color=plots.PALETTE[2])),
        dict(type="scatter", x=[m, m], y=rounded([r.relative_linear, r.relative_relu], 3),
             mode="markers", name="this m", showlegend=False, xaxis="x2", yaxis="y2",
             marker=dict(color=plots.PALETTE[1], size=12, line=dict(color="white", width=1.5))),
    ]
    title = (f"m = {m} features in n = {N_DIM} dimensions, {k} active: largest |cos| "
             f"{r.max_cos:.2f} (bound {r.bound:.2f}), mean {r.mean_cos:.3f}<br>"
             f"error / signal (mean squares): ReLU readout {r.relative_relu:.2f}, plain "
             f"{r.relative_linear:.2f}")
    return plots.assemble(_superposition_skeleton(), data, title=title)


@register
def superposition_twin() -> Twin:
    """Sliders for the number of features m and of active features k. The curves
    of every k the live slider reaches are computed here, once."""
    for k in range(1, 9):
        superposition_curve(k)
    return Twin(superposition_figure, [
        Param("m", "features m", (32, 64, 128, 256, 512, 1024), lo=32, hi=1024, log=True,
              integer=True, default=256),
        Param("k", "active features k", tuple(range(1, 9)), lo=1, hi=8, step=1, integer=True,
              default=3),
    ])
