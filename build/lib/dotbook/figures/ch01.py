"""Chapter 1 figures: the dot product as a length times a projection."""

from __future__ import annotations

import functools
import math
from typing import Any

import torch
from plotly.subplots import make_subplots

from dotbook import geometry, plots
from dotbook.explore import Param, Twin

__all__ = ["A_ANGLE_DEG", "A_LENGTH", "vectors", "angle_figure", "angle_twin"]

#: The fixed vector a of the figure: length 2 along 20°.
A_LENGTH = 2.0
A_ANGLE_DEG = 20.0
B_MAX = 3.0
_LIMIT = 3.3  # half-width of the drawing area


def vectors(theta_deg: float, length_b: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The figure's a (fixed) and b, at angle ``theta_deg`` from a, of length ``length_b``.

    Shape:
        - outputs: :math:`(2)`, :math:`(2)` (float64)
    """
    a = geometry.from_polar(A_LENGTH, math.radians(A_ANGLE_DEG))
    b = geometry.from_polar(length_b, math.radians(A_ANGLE_DEG + theta_deg))
    return a, b


@functools.cache
def _layout() -> dict[str, Any]:
    """The parts of the layout that never change (built once: plotly is slow to validate)."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.46, 0.54], horizontal_spacing=0.12)
    fig.update_layout(template=plots.TEMPLATE, height=520, showlegend=True,
                      margin=dict(t=125, b=60),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0,
                                  font=dict(size=13)),
                      meta={"alt": "Left: two arrows a and b with the projection of b onto a. "
                                   "Right: a·b against the angle θ, a cosine curve, with the "
                                   "current angle marked."})
    fig.update_xaxes(title_text="x₁", range=[-_LIMIT, _LIMIT], row=1, col=1)
    fig.update_yaxes(title_text="x₂", range=[-_LIMIT, _LIMIT], scaleanchor="x", scaleratio=1,
                     row=1, col=1)
    peak = 1.1 * A_LENGTH * B_MAX
    fig.update_xaxes(title_text="angle θ from a to b (degrees)", range=[-180, 180],
                     tickvals=[-180, -90, 0, 90, 180], row=1, col=2)
    fig.update_yaxes(title_text="a·b", range=[-peak, peak], row=1, col=2)
    return fig.layout.to_plotly_json()


def _arrow(v: torch.Tensor, color: str, name: str) -> dict[str, Any]:
    return dict(type="scatter", x=[0.0, float(v[0])], y=[0.0, float(v[1])],
                mode="lines+markers", name=name, hoverinfo="skip", xaxis="x", yaxis="y",
                line=dict(color=color, width=4),
                marker=dict(symbol=["circle", "arrow"], size=[4, 16], angleref="previous",
                            color=color))


def angle_figure(theta_deg: float, length_b: float) -> dict[str, Any]:
    """Left: a, b and the projection of b onto a. Right: a·b against θ, with the
    current θ marked. The title gives both Σ aᵢbᵢ and ‖a‖‖b‖cos θ."""
    a, b = vectors(theta_deg, length_b)
    algebraic = geometry.dot_loop(a, b)  # Σ a_i b_i
    geometric = float(geometry.norm(a) * geometry.norm(b)) * math.cos(math.radians(theta_deg))
    foot = geometry.project(b, a)  # (2,) projection of b onto the line of a
    thetas = torch.linspace(-180.0, 180.0, 73, dtype=torch.float64)  # every 5°
    curve = A_LENGTH * length_b * torch.cos(torch.deg2rad(thetas))  # (73,)
    if algebraic > 1e-9:
        regime = "aligned: a·b > 0"
    elif algebraic < -1e-9:
        regime = "opposed: a·b < 0"
    else:
        regime = "orthogonal: a·b = 0"
    data = [
        _arrow(a, plots.COLORS["a"], "a (fixed)"),
        _arrow(b, plots.COLORS["b"], "b"),
        dict(type="scatter", x=[0.0, float(foot[0])], y=[0.0, float(foot[1])], mode="lines",
             name="projection of b on a", hoverinfo="skip", xaxis="x", yaxis="y",
             line=dict(color=plots.COLORS["projection"], width=9)),
        dict(type="scatter", x=[float(b[0]), float(foot[0])], y=[float(b[1]), float(foot[1])],
             mode="lines", showlegend=False, hoverinfo="skip", xaxis="x", yaxis="y",
             line=dict(color="#777777", dash="dot", width=1.5)),
        dict(type="scatter", x=thetas.tolist(), y=curve.tolist(), mode="lines",
             name="‖a‖‖b‖cos θ", xaxis="x2", yaxis="y2",
             line=dict(color=plots.COLORS["reference"])),
        dict(type="scatter", x=[theta_deg], y=[algebraic], mode="markers", name="Σ aᵢbᵢ",
             xaxis="x2", yaxis="y2",
             marker=dict(color=plots.COLORS["b"], size=13, line=dict(color="white", width=1.5))),
    ]
    title = (f"θ = {theta_deg:.0f}°, ‖b‖ = {length_b:.2f}: {regime}<br>"
             f"Σ aᵢbᵢ = {algebraic:+.3f}    ‖a‖‖b‖cos θ = {geometric:+.3f}")
    layout = dict(_layout(), title=dict(text=title, x=0.02, xanchor="left", y=0.97,
                                        yanchor="top", font=dict(size=15)))
    return {"data": data, "layout": layout}


def angle_twin() -> Twin:
    """Chapter 1's twin: sliders for the angle θ (degrees) and the length ‖b‖."""
    return Twin(angle_figure, [
        Param("theta_deg", "angle θ (degrees)", tuple(range(-180, 181, 15)), step=1,
              default=45),
        Param("length_b", "length ‖b‖", (0.5, 1.0, 1.5, 2.0, 2.5, 3.0), lo=0.1, hi=B_MAX,
              step=0.05, default=1.5),
    ])
