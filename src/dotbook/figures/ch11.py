"""Chapter 11 figures: one neuron against XOR, a hidden layer for XOR, depth against width.

Computed on the CPU in float64 from :mod:`dotbook.depth_width`; the small
networks behind the width slider are trained once per width, when the twin is
made (:func:`dotbook.depth_width.best_xor_nets`, from the twin's generator), so a
slider move only builds trace dicts.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from dotbook import depth_width, plots
from dotbook.device import generator as seeded
from dotbook.explore import Figure, Param, Twin
from dotbook.figures import register
from dotbook.plots import rounded

__all__ = [
    "BOX",
    "XOR_RESTARTS",
    "depth_width_figure",
    "half_plane",
    "line_figure",
    "line_twin",
    "width_figure",
    "width_twin",
]

F64 = torch.float64
#: The drawing area: both coordinates in [-0.5, 1.5].
BOX = (-0.5, 1.5)
#: Starts tried per hidden width; the lowest final loss is kept (and said so).
XOR_RESTARTS = 3
_BIASES = torch.linspace(-2.0, 2.0, 81, dtype=F64)  # (81,) the bias axis of the right panel
_CLASS = ({"name": "class 0 (x₁ = x₂)", "symbol": "circle", "color": plots.PALETTE[0]},
          {"name": "class 1 (x₁ ≠ x₂)", "symbol": "x", "color": plots.PALETTE[1]})


def half_plane(w: tuple[float, float], b: float, lo: float = BOX[0], hi: float = BOX[1]
               ) -> list[tuple[float, float]]:
    """The corners of the part of the square ``[lo, hi]²`` where ``w·x + b > 0``
    (Sutherland–Hodgman clipping of the square by one half-plane).

    Examples::

        >>> half_plane((1.0, 0.0), -0.5, 0.0, 1.0)
        [(0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)]
    """
    square = [(lo, lo), (hi, lo), (hi, hi), (lo, hi)]
    out: list[tuple[float, float]] = []
    for i, p in enumerate(square):
        q = square[(i + 1) % 4]
        zp, zq = w[0] * p[0] + w[1] * p[1] + b, w[0] * q[0] + w[1] * q[1] + b
        if zp > 0:
            out.append(p)
        if (zp > 0) != (zq > 0):
            t = zp / (zp - zq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def _points(x: torch.Tensor, y: torch.Tensor, axis: str = "") -> list[dict[str, Any]]:
    traces = []
    for label, style in enumerate(_CLASS):
        pts = x[y == label]
        traces.append(dict(type="scatter", mode="markers", name=style["name"],
                           x=pts[:, 0].tolist(), y=pts[:, 1].tolist(), xaxis=f"x{axis}",
                           yaxis=f"y{axis}", hoverinfo="skip",
                           marker=dict(symbol=style["symbol"], size=16, color=style["color"],
                                       line=dict(width=2, color=style["color"]))))
    return traces


def _plane_axes(suffix: str = "") -> dict[str, dict[str, Any]]:
    return {f"xaxis{suffix}": {"title": "x₁", "range": list(BOX), "dtick": 0.5},
            f"yaxis{suffix}": {"title": "x₂", "range": list(BOX), "dtick": 0.5,
                               "scaleanchor": f"x{suffix}", "scaleratio": 1}}


# ------------------------------------------------------ one neuron against XOR
_LINE_SKELETON = plots.skeleton(
    alt=("Left: the four XOR points, two of each class at opposite corners of the unit "
         "square, with a neuron's line w·x + b = 0 and the shaded side where the neuron "
         "says class 1. Right: for the current direction of w, how many of the four points "
         "the neuron gets right as the bias b varies; it never reaches 4."),
    height=470, cols=2, column_widths=[0.5, 0.5], horizontal_spacing=0.14,
    axes={**_plane_axes(),
          "xaxis2": {"title": "bias b", "range": [-2.0, 2.0]},
          "yaxis2": {"title": "points right (of 4)", "range": [-0.2, 4.4], "dtick": 1}},
    legend={"orientation": "h", "x": 0.0, "y": 1.0, "yanchor": "bottom", "font": {"size": 12}},
    margin={"t": 120, "l": 55, "r": 15},
    title={"y": 0.97, "yanchor": "top", "font": {"size": 14}},
)


def line_figure(angle_deg: float, bias: float) -> dict[str, Any]:
    """A neuron with unit weights at ``angle_deg`` and bias ``bias`` against XOR."""
    x, y = depth_width.xor_data(dtype=F64)
    theta = math.radians(angle_deg)
    w = (math.cos(theta), math.sin(theta))
    W = torch.tensor([w], dtype=F64)  # (1, 2)
    right = int(depth_width.neuron_accuracy(W, torch.tensor([bias], dtype=F64), x, y)[0])
    sweep = depth_width.neuron_accuracy(W.expand(len(_BIASES), 2), _BIASES, x, y)  # (81,)
    region = half_plane(w, bias)
    rx = [p[0] for p in region] + ([region[0][0]] if region else [])
    ry = [p[1] for p in region] + ([region[0][1]] if region else [])
    # the line w·x + b = 0 through the box: the point -b·w plus a long stretch along w⊥
    cx, cy, d = -bias * w[0], -bias * w[1], 3.0
    wrong = x[(((x @ W[0]) + bias > 0).long() != y)]
    data = [
        dict(type="scatter", x=rounded(rx), y=rounded(ry), mode="lines", fill="toself",
             name="neuron says class 1", hoverinfo="skip", line=dict(width=0),
             fillcolor="rgba(213, 94, 0, 0.15)"),
        dict(type="scatter", x=rounded([cx - d * w[1], cx + d * w[1]]),
             y=rounded([cy + d * w[0], cy - d * w[0]]), mode="lines", name="w·x + b = 0",
             hoverinfo="skip", line=dict(color=plots.COLORS["reference"], width=2)),
        *_points(x, y),
        dict(type="scatter", mode="markers", name="misclassified",
             x=wrong[:, 0].tolist(), y=wrong[:, 1].tolist(), hoverinfo="skip",
             marker=dict(symbol="circle-open", size=30, color=plots.PALETTE[3],
                         line=dict(width=2.5))),
        dict(type="scatter", x=rounded(_BIASES), y=sweep.tolist(), mode="lines",
             name="right, as b varies", showlegend=False, xaxis="x2", yaxis="y2",
             line=dict(color=plots.PALETTE[0], shape="hv")),
        dict(type="scatter", x=[bias], y=[right], mode="markers", name="this neuron",
             showlegend=False, xaxis="x2", yaxis="y2",
             marker=dict(color=plots.PALETTE[1], size=13, line=dict(color="white", width=1.5))),
    ]
    title = (f"w at {angle_deg:.0f}°, b = {bias:+.2f}: {right} of 4 right<br>"
             f"best over every b at this angle: {int(sweep.max())} of 4")
    return plots.assemble(_LINE_SKELETON, data, title=title)


@register
def line_twin() -> Twin:
    """Sliders for the direction of w (degrees) and the bias b."""
    return Twin(line_figure, [
        Param("angle_deg", "direction of w (degrees)", tuple(range(0, 360, 30)), lo=0, hi=359,
              step=1, default=30),
        Param("bias", "bias b", (-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5), lo=-2.0, hi=2.0,
              step=0.05, default=-0.5),
    ])


# ------------------------------------------------------- a hidden layer for XOR
_POINTS = 41
_WIDTH_SKELETON = plots.skeleton(
    alt=("The unit square coloured by a two-layer network's output for XOR: blue where it "
         "says class 0, vermillion where it says class 1, with its decision boundary as a "
         "black curve and the four XOR points on top; misclassified points are circled."),
    height=500, axes=_plane_axes(),
    legend={"orientation": "h", "x": 0.0, "y": 1.0, "yanchor": "bottom", "font": {"size": 12}},
    margin={"t": 110, "l": 55, "r": 15},
    title={"y": 0.97, "yanchor": "top", "font": {"size": 14}},
)


def width_figure(width: int, nets: dict[int, tuple[nn.Module, list[float]]]) -> Figure:
    """The decision regions over the square of ``nets[width]``, a trained XOR network and
    its loss history (:func:`dotbook.depth_width.best_xor_nets`)."""
    width = int(width)
    net, losses = nets[width]
    x, y = depth_width.xor_data(dtype=F64)
    ticks, z = depth_width.decision_grid(net, *BOX, _POINTS)  # (P,), (P, P)
    said = (net(x)[:, 0] > 0).long()  # (4,)
    right = int((said == y).sum())
    wrong = x[said != y]
    prob = torch.sigmoid(z)  # (P, P)
    data = [
        dict(type="heatmap", x=rounded(ticks), y=rounded(ticks), z=rounded(prob, 2), zmin=0,
             zmax=1, colorscale=[[0.0, "#9cc6e4"], [0.5, "#FFFFFF"], [1.0, "#f0b48a"]],
             showscale=False, name="σ(z)", hovertemplate="σ(z) = %{z:.2f}<extra></extra>"),
        dict(type="contour", x=rounded(ticks), y=rounded(ticks), z=rounded(z, 3),
             name="boundary z = 0", showscale=False, hoverinfo="skip",
             contours=dict(start=0, end=0, size=1, coloring="none"),
             line=dict(color=plots.COLORS["reference"], width=2.5)),
        *_points(x, y),
        dict(type="scatter", mode="markers", name="misclassified",
             x=wrong[:, 0].tolist(), y=wrong[:, 1].tolist(), hoverinfo="skip",
             marker=dict(symbol="circle-open", size=30, color=plots.PALETTE[3],
                         line=dict(width=2.5))),
    ]
    parameters = sum(p.numel() for p in net.parameters())
    title = (f"hidden width {width} ({parameters} parameters): {right} of 4 right<br>"
             f"final logistic loss {losses[-1]:.3g} (best of {XOR_RESTARTS} starts)")
    return plots.assemble(_WIDTH_SKELETON, data, title=title)


@register
def width_twin(generator: torch.Generator | None = None) -> Twin:
    """A slider over the hidden width of the XOR network. Every width the live
    slider reaches is trained here, once, from ``generator`` (default
    ``device.generator(0)``), so that no slider move trains."""
    nets = depth_width.best_xor_nets(range(1, 9), XOR_RESTARTS,
                                     generator=seeded(0) if generator is None else generator)

    def figure(width: int) -> Figure:
        return width_figure(width, nets)

    return Twin(figure, [
        Param("width", "hidden width", (1, 2, 3, 4, 8), lo=1, hi=8, step=1, integer=True,
              default=2),
    ])


# ------------------------------------------------------------ depth and width
def depth_width_figure(result: depth_width.DepthWidth) -> Figure:
    """Left: training loss of every run (log scale). Right: every run's fit on the
    test inputs, against the target."""
    names = [f"{len(w) - 2} hidden layer{'s' if len(w) > 3 else ''} "
             f"{'×'.join(str(k) for k in w[1:-1]) if len(w) <= 3 else f'{w[1]} wide'} "
             f"({p} parameters)" for w, p in zip(result.widths, result.parameters, strict=True)]
    curves = result.curves.cpu()  # (2, seeds, steps)
    fits = result.fits.cpu()  # (2, seeds, N)
    xt = result.x_test.cpu()
    steps = curves.shape[-1]
    every = max(1, steps // 100)
    lo = math.floor(math.log10(float(curves.min())))
    hi = math.ceil(math.log10(float(curves.max())))
    sk = plots.skeleton(
        alt=("Left: training loss against step for a shallow wide and a deep narrow network "
             "with about the same number of parameters, one line per seed. Right: the "
             "target function and every run's fit on held-out inputs."),
        height=460, cols=2, horizontal_spacing=0.12,
        axes={"xaxis": {"title": "Adam step", "range": [0, steps]},
              "yaxis": {"title": "training MSE (log)", "type": "log", "range": [lo, hi]},
              "xaxis2": {"title": "x", "range": [-1, 1]},
              "yaxis2": {"title": "f(x)", "range": [-1.2, 1.2]}},
        legend={"orientation": "h", "x": 0.0, "y": 1.0, "yanchor": "bottom",
                "font": {"size": 12}},
        margin={"t": 100, "l": 60, "r": 15})
    data: list[dict[str, Any]] = []
    for a, name in enumerate(names):
        color = plots.PALETTE[a]
        for s in range(curves.shape[1]):
            data.append(dict(type="scatter", x=list(range(0, steps, every)),
                             y=rounded(curves[a, s, ::every], 3), mode="lines", name=name,
                             legendgroup=name, showlegend=s == 0,
                             line=dict(color=color, width=1.5)))
            data.append(dict(type="scatter", x=rounded(xt), y=rounded(fits[a, s], 3),
                             mode="lines", name=name, legendgroup=name, showlegend=False,
                             xaxis="x2", yaxis="y2", line=dict(color=color, width=1.2)))
    data.append(dict(type="scatter", x=rounded(xt), y=rounded(depth_width.target_function(xt), 3),
                     mode="lines", name="target f", xaxis="x2", yaxis="y2",
                     line=dict(color=plots.COLORS["reference"], dash="dash", width=2)))
    return plots.assemble(sk, data, title="Same budget, different shapes")
