"""Chapter 3 figures: where superposition holds for a neuron, and where it stops.

Two twins:

- :func:`superposition_twin` — one neuron, two inputs :math:`x_1` and
  :math:`x_2 = k\\,u`; bars of the responses to each input, their sum, and
  the response to :math:`x_1 + x_2`, before and after a ReLU.
- :func:`scaling_twin` — :math:`w\\cdot x` with a scale :math:`k` applied to
  one argument (a line), to both (a parabola), and through a ReLU (a hinge).
"""

from __future__ import annotations

from typing import Any

import torch

from dotbook import linearity, plots
from dotbook.explore import Param, Twin
from dotbook.figures import register

__all__ = [
    "X1",
    "U",
    "W",
    "scaling_figure",
    "scaling_twin",
    "superposition_figure",
    "superposition_twin",
    "superposition_values",
]

#: The neuron's weights and the two input directions (float64, n = 2).
W = torch.tensor([1.0, 0.5], dtype=torch.float64)
X1 = torch.tensor([1.0, 1.0], dtype=torch.float64)  # w·x1 = 1.5
U = torch.tensor([-1.0, 0.0], dtype=torch.float64)  # w·u = -1, so x2 = k·u gives w·x2 = -k

_K_RANGE = (-2.0, 2.0)  # live range of the scale k
_B_RANGE = (-1.5, 1.5)  # live range of the bias b
_PRE = plots.PALETTE[0]  # pre-activation: blue
_POST = plots.PALETTE[1]  # after ReLU: vermillion
_BARS = ("f(x₁)", "f(x₂)", "f(x₁) + f(x₂)", "f(x₁ + x₂)")
_WHITE_EDGE = {"color": "white", "width": 1.5}


def _extremes(with_sum: bool) -> tuple[float, float]:
    """Smallest and largest pre-activation over the live slider ranges (all are
    affine in k and b, so the corners suffice); ``with_sum`` adds z(x₁) + z(x₂)."""
    lo = hi = 0.0
    for k in _K_RANGE:
        for b in _B_RANGE:
            s = linearity.superposition(W, X1, k * U, b, "linear")
            vals = [s.response_1, s.response_2, s.response_to_sum]
            vals += [s.sum_of_responses] if with_sum else []
            lo, hi = min(lo, *map(float, vals)), max(hi, *map(float, vals))
    return lo, hi


_Z_LO, _Z_HI = _extremes(with_sum=False)  # where single inputs land on the ReLU curve
_BAR_LO, _BAR_HI = _extremes(with_sum=True)  # every bar
_PAD = 0.4


def superposition_values(k: float, b: float) -> dict[str, linearity.Superposition]:
    """The neuron's responses to x₁, x₂ = k·u and x₁ + x₂, without and with a ReLU.

    Returns ``{"pre": ..., "relu": ...}``; ``pre`` is the pre-activation
    :math:`z = w\\cdot x + b`, ``relu`` is :math:`\\max(z, 0)`.
    """
    x2 = k * U  # (2,)
    return {name: linearity.superposition(W, X1, x2, b, act)
            for name, act in (("pre", "linear"), ("relu", "relu"))}


_SUPERPOSITION = plots.skeleton(
    alt=("Left: the ReLU curve with the pre-activations of x1, x2 and x1 plus x2 marked on it. "
         "Right: grouped bars of the two responses, their sum and the response to the summed "
         "input, before and after the ReLU; the pre-activation bars differ by exactly the bias, "
         "the ReLU bars can differ by more."),
    height=500, cols=2, column_widths=[0.38, 0.62], horizontal_spacing=0.11,
    subplot_titles=["where each input lands on the ReLU",
                    "sum of responses vs response to the sum"],
    axes={
        "xaxis": {"title": "pre-activation z", "range": [_Z_LO - _PAD, _Z_HI + _PAD]},
        "yaxis": {"title": "relu(z)", "range": [-0.5, _Z_HI + _PAD]},
        "xaxis2": {"title": "response f: z (blue) or relu(z) (vermillion)",
                   "type": "category"},
        "yaxis2": {"title": "neuron response", "range": [_BAR_LO - _PAD, _BAR_HI + 2 * _PAD]},
    },
    # inside the bar panel's top-left corner, which no bar reaches (the static
    # twin puts its sliders below the plot, so a legend there would collide)
    legend={"x": 0.47, "y": 0.99, "xanchor": "left", "yanchor": "top"},
    margin={"t": 105}, barmode="group", showlegend=True, title={"font": {"size": 15}},
)
_RELU_CURVE = dict(type="scatter", x=[_Z_LO - _PAD, 0.0, _Z_HI + _PAD], y=[0.0, 0.0, _Z_HI + _PAD],
                   mode="lines", name="relu(z) = max(z, 0)", hoverinfo="skip", showlegend=False,
                   line={"color": plots.COLORS["reference"], "width": 2})


def superposition_figure(k: float, b: float) -> dict[str, Any]:
    """Left: the ReLU curve with the three pre-activations marked. Right: bars of
    f(x₁), f(x₂), f(x₁) + f(x₂) and f(x₁ + x₂) for the pre-activation and after the ReLU."""
    vals = superposition_values(k, b)
    pre, post = vals["pre"], vals["relu"]
    gap_pre, gap_post = float(pre.gap), float(post.gap)
    zs = [float(pre.response_1), float(pre.response_2), float(pre.response_to_sum)]
    data = [
        _RELU_CURVE,
        dict(type="scatter", x=zs, y=[max(z, 0.0) for z in zs], mode="markers+text",
             text=["x₁", "x₂", "x₁+x₂"], textposition=["top left", "bottom right", "top left"],
             name="inputs on the curve", showlegend=False,
             marker={"color": _POST, "size": 12, "line": _WHITE_EDGE},
             hovertemplate="z = %{x}<br>relu(z) = %{y}<extra>%{text}</extra>"),
    ]
    for label, result, color in (("pre-activation z = w·x + b", pre, _PRE),
                                 ("after ReLU: max(z, 0)", post, _POST)):
        ys = [result.response_1, result.response_2, result.sum_of_responses,
              result.response_to_sum]
        data.append(dict(type="bar", x=list(_BARS), y=[float(v) for v in ys], name=label,
                         xaxis="x2", yaxis="y2", marker={"color": color},
                         texttemplate="%{y:+.2f}", textfont={"size": 11},
                         textposition="outside", cliponaxis=False))
    verdict = "adds up" if abs(gap_post) < 1e-9 else "does not add up"
    title = (f"k = {k:+.2f}, b = {b:+.2f}.  Pre-activation: sum − response to sum = "
             f"{gap_pre:+.2f} (= b).<br>After ReLU: sum − response to sum = {gap_post:+.2f}"
             f"  ({verdict})")
    return plots.assemble(_SUPERPOSITION, data, title=title)


@register
def superposition_twin() -> Twin:
    """Chapter 3's superposition twin: sliders for the scale k of x₂ = k·u and the bias b."""
    return Twin(superposition_figure, [
        Param("k", "scale k of the second input x₂ = k·u", tuple(x / 2 for x in range(-4, 5)),
              lo=_K_RANGE[0], hi=_K_RANGE[1], step=0.05, default=1.0),
        Param("b", "bias b", (-1.0, -0.5, 0.0, 0.5, 1.0), lo=_B_RANGE[0], hi=_B_RANGE[1],
              step=0.05, default=0.0),
    ])


# ----------------------------------------------------------------- scaling
_KS = torch.linspace(-2.0, 2.0, 81, dtype=torch.float64)  # (81,) the curves' k axis


_WX = float(linearity.preactivation(W, X1))  # w·x = 1.5
_TOP = _WX * max(abs(v) for v in _K_RANGE) ** 2
_SCALING = plots.skeleton(
    alt=("Three curves against the scale k: a straight line for w·(kx), a parabola for "
         "(kw)·(kx), and a hinge for a ReLU neuron relu(w·(kx)), which follows the line "
         "for k ≥ 0 and is zero for k < 0; markers show the current k."),
    height=470,
    axes={"xaxis": {"title": "scale k", "range": [_K_RANGE[0] - 0.1, _K_RANGE[1] + 0.1]},
          "yaxis": {"title": "dot product after scaling by k",
                    "range": [-0.55 * _TOP, 1.08 * _TOP]}},
    # the legend sits in the empty top middle of the plot, clear of the static sliders
    legend={"x": 0.5, "y": 0.99, "xanchor": "center", "yanchor": "top"},
    margin={"t": 90}, title={"font": {"size": 15}},
)
_KS_LIST = _KS.tolist()
#: The three curves never change with k: only the markers and the title move.
_CURVES = [
    dict(type="scatter", x=_KS_LIST, y=ys, mode="lines", name=name, hoverinfo="skip",
         line={"color": color, "width": 3, "dash": dash})
    for name, ys, color, dash in (
        ("one argument: w·(kx) = k(w·x)", [_WX * v for v in _KS_LIST], plots.PALETTE[0], "solid"),
        ("both: (kw)·(kx) = k²(w·x)", [_WX * v * v for v in _KS_LIST], plots.PALETTE[1], "solid"),
        ("ReLU neuron: relu(w·(kx))", [_WX * max(v, 0.0) for v in _KS_LIST], plots.PALETTE[2],
         "dash"),
    )
]
_MARKER_COLORS = [c["line"]["color"] for c in _CURVES]


def scaling_figure(k: float) -> dict[str, Any]:
    """w·x against a scale k: on one argument (a line k·(w·x)), on both (a parabola
    k²·(w·x)), and through a ReLU neuron (a hinge), with the current k marked."""
    s = linearity.scalings(W, X1, k)
    relu_kx = float(linearity.neuron(W, k * X1))  # relu(w·(kx))
    marks = dict(type="scatter", x=[k, k, k], y=[float(s.x_only), float(s.both), relu_kx],
                 mode="markers", name="computed at this k",
                 marker={"color": _MARKER_COLORS, "size": 13, "line": _WHITE_EDGE},
                 hovertemplate="k = %{x}<br>%{y}<extra></extra>")
    title = (f"k = {k:+.2f}, w·x = {_WX:g}.  One argument: w·(kx) = {float(s.x_only):+.3f} "
             f"= k(w·x).<br>Both: (kw)·(kx) = {float(s.both):+.3f} = k²(w·x).  "
             f"ReLU neuron: relu(w·(kx)) = {relu_kx:.3f}.")
    return plots.assemble(_SCALING, [*_CURVES, marks], title=title)


@register
def scaling_twin() -> Twin:
    """Chapter 3's scaling twin: one slider for k."""
    return Twin(scaling_figure, [
        Param("k", "scale k", tuple(x / 4 for x in range(-8, 9)), lo=_K_RANGE[0],
              hi=_K_RANGE[1], step=0.01, default=1.5),
    ])
