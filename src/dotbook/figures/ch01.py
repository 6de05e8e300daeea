"""Chapter 1 figures: the dot product as a length times a projection."""

from __future__ import annotations

import math
from typing import Any

import torch

from dotbook import geometry, plots
from dotbook.drag import Drag
from dotbook.explore import Figure, Param, Twin
from dotbook.figures import register

__all__ = ["A_ANGLE_DEG", "A_LENGTH", "SKELETON", "vectors", "angle_figure", "angle_twin",
           "DRAG_LIMIT", "drag_figure", "readout_html", "pair_drag"]

#: The fixed vector a of the figure: length 2 along 20°.
A_LENGTH = 2.0
A_ANGLE_DEG = 20.0
B_MAX = 3.0
_LIMIT = 3.3  # half-width of the drawing area
_PEAK = 1.1 * A_LENGTH * B_MAX  # half-height of the a·b panel


def vectors(theta_deg: float, length_b: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The figure's a (fixed) and b, at angle ``theta_deg`` from a, of length ``length_b``.

    Shape:
        - outputs: :math:`(2)`, :math:`(2)` (float64)
    """
    a = geometry.from_polar(A_LENGTH, math.radians(A_ANGLE_DEG))
    b = geometry.from_polar(length_b, math.radians(A_ANGLE_DEG + theta_deg))
    return a, b


#: The fixed layout (built once). Phone-friendly: no legend (each mark is labelled
#: where it is drawn, and the title gives both numbers), short axis titles.
SKELETON = plots.skeleton(
    alt=("Left: two arrows a and b with the projection of b onto a. Right: a·b against "
         "the angle θ, a cosine curve, with the current angle marked."),
    height=480, cols=2, column_widths=[0.46, 0.54], horizontal_spacing=0.14,
    axes={
        "xaxis": {"title": "x₁", "range": [-_LIMIT, _LIMIT]},
        "yaxis": {"title": "x₂", "range": [-_LIMIT, _LIMIT], "scaleanchor": "x",
                  "scaleratio": 1},
        "xaxis2": {"title": "θ (degrees)", "range": [-180, 180],
                   "tickvals": [-180, -90, 0, 90, 180]},
        "yaxis2": {"title": "a·b", "range": [-_PEAK, _PEAK]},
    },
    showlegend=False, margin={"t": 80, "l": 50, "r": 15},
    # the curve crosses 0 at θ = -90° for every ‖b‖; below right of that is empty
    annotations=[{"x": -90, "y": 0, "xref": "x2", "yref": "y2", "text": "‖a‖‖b‖cos θ",
                  "showarrow": False, "xanchor": "left", "yanchor": "top", "xshift": 4,
                  "font": {"size": 13}}],
    title={"y": 0.97, "yanchor": "top", "font": {"size": 15}},
)
#: every 10°, drawn as a spline: as smooth to the eye as 5° steps, half the page weight
_THETAS = torch.linspace(-180.0, 180.0, 37, dtype=torch.float64)  # (37,)
_THETA_LIST = _THETAS.tolist()
_COS = torch.cos(torch.deg2rad(_THETAS))  # (37,)
_TEXT = {"textfont": {"size": 15}, "cliponaxis": False, "hoverinfo": "skip"}


def _arrow(v: torch.Tensor, color: str, name: str) -> dict[str, Any]:
    """An arrow from 0 to v, labelled ``name`` at its tip."""
    return dict(type="scatter", x=[0.0, float(v[0])], y=[0.0, float(v[1])],
                mode="lines+markers+text", name=name, text=["", name],
                textposition="top center", textfont={"size": 16, "color": color},
                hoverinfo="skip", xaxis="x", yaxis="y", line=dict(color=color, width=4),
                marker=dict(symbol=["circle", "arrow"], size=[4, 16], angleref="previous",
                            color=color))


def angle_figure(theta_deg: float, length_b: float) -> dict[str, Any]:
    """Left: a, b and the projection of b onto a. Right: a·b against θ, with the
    current θ marked. The title gives both Σ aᵢbᵢ and ‖a‖‖b‖cos θ."""
    a, b = vectors(theta_deg, length_b)
    algebraic = geometry.dot_loop(a, b)  # Σ a_i b_i
    geometric = float(geometry.norm(a) * geometry.norm(b)) * math.cos(math.radians(theta_deg))
    foot = geometry.project(b, a)  # (2,) projection of b onto the line of a
    curve = (A_LENGTH * length_b) * _COS  # (37,)
    if algebraic > 1e-9:
        regime = "aligned: a·b > 0"
    elif algebraic < -1e-9:
        regime = "opposed: a·b < 0"
    else:
        regime = "orthogonal: a·b = 0"
    fx, fy = float(foot[0]), float(foot[1])
    data = [
        _arrow(a, plots.COLORS["a"], "a"),
        _arrow(b, plots.COLORS["b"], "b"),
        dict(type="scatter", x=[0.0, fx], y=[0.0, fy], mode="lines+text",
             name="projection of b on a", text=["", "proj."],
             # beside the end of the bar, on the side away from it
             textposition=["top left", "bottom right" if algebraic >= 0 else "top left"],
             textfont={"size": 14, "color": plots.COLORS["projection"]}, hoverinfo="skip",
             xaxis="x", yaxis="y", line=dict(color=plots.COLORS["projection"], width=9)),
        dict(type="scatter", x=[float(b[0]), fx], y=[float(b[1]), fy], mode="lines",
             name="drop from b to the line of a", hoverinfo="skip", xaxis="x", yaxis="y",
             line=dict(color="#777777", dash="dot", width=1.5)),
        dict(type="scatter", x=_THETA_LIST, y=curve.tolist(), mode="lines",
             name="‖a‖‖b‖cos θ", xaxis="x2", yaxis="y2",
             line=dict(color=plots.COLORS["reference"], shape="spline")),
        dict(type="scatter", x=[theta_deg], y=[algebraic], mode="markers+text",
             name="Σ aᵢbᵢ", text=["Σ aᵢbᵢ"], textposition="top center", xaxis="x2", yaxis="y2",
             marker=dict(color=plots.COLORS["b"], size=13, line=dict(color="white", width=1.5)),
             **_TEXT),
    ]
    title = (f"θ = {theta_deg:.0f}°, ‖b‖ = {length_b:.2f}: {regime}<br>"
             f"Σ aᵢbᵢ = {algebraic:+.3f},  ‖a‖‖b‖cos θ = {geometric:+.3f}")
    return plots.assemble(SKELETON, data, title=title)


@register
def angle_twin() -> Twin:
    """Chapter 1's twin: sliders for the angle θ (degrees) and the length ‖b‖."""
    return Twin(angle_figure, [
        Param("theta_deg", "angle θ (degrees)", tuple(range(-180, 181, 15)), step=1,
              default=45),
        Param("length_b", "length ‖b‖", (0.5, 1.0, 1.5, 2.0, 2.5, 3.0), lo=0.1, hi=B_MAX,
              step=0.05, default=1.5),
    ])



# ------------------------------------------------------------------ drag the tips
#: the draggable tips stay inside [-DRAG_LIMIT, DRAG_LIMIT]², room for (3, 4)
DRAG_LIMIT = 5.0
_DRAG_VIEW = DRAG_LIMIT + 0.6
DRAG_SKELETON = plots.plane_skeleton(
    alt=("Two arrows a and b from the origin whose tips the reader drags; a green bar marks "
         "the projection of b on the line of a, a dotted line drops from b to it. The "
         "readouts under the figure give a·b both ways, the lengths, cos θ and θ."),
    height=540, view=_DRAG_VIEW)
_REGION = {"aligned": "aligned: a·b &gt; 0", "orthogonal": "orthogonal: a·b = 0",
           "opposed": "opposed: a·b &lt; 0", "undefined": "a zero vector: θ undefined"}


def _tip(name: str, xy: tuple[float, float]) -> dict[str, Any]:
    """An arrow from the origin to ``xy``, labelled at its tip; the tip is the annotation's
    tail (ax, ay), which plotly lets a reader drag, with the arrowhead drawn there."""
    color = plots.COLORS[name]
    return dict(x=0, y=0, xref="x", yref="y", ax=xy[0], ay=xy[1], axref="x", ayref="y",
                text=f"<b>{name}</b>", font={"size": 17, "color": color}, showarrow=True,
                arrowside="start", startarrowhead=2, startarrowsize=1.1, arrowwidth=3.5,
                arrowcolor=color)


def _signed(x: float | None) -> str:
    return "undefined" if x is None else f"{x:+.3f}"


def readout_html(r: dict[str, Any]) -> str:
    """The readouts of :func:`dotbook.geometry.pair_readout` as the figure shows them
    (the book's dotbook-drag.js writes the same lines)."""
    theta = "undefined" if r["theta_deg"] is None else f"{r['theta_deg']:.1f}°"
    return (f"<p>Σ aᵢbᵢ = {_signed(r['dot'])} · ‖a‖‖b‖cos θ = {_signed(r['geometric'])}</p>"
            f"<p>‖a‖ = {r['norm_a']:.3f} · ‖b‖ = {r['norm_b']:.3f} · cos θ = "
            f"{_signed(r['cos'])} · θ = {theta}</p>"
            f"<p>projection of b on a = {_signed(r['projection'])} · {_REGION[r['region']]}</p>")


def drag_figure(a: tuple[float, float], b: tuple[float, float], *,
                device: torch.device | str | None = None,
                dtype: torch.dtype = torch.float64) -> Figure:
    """The vectors a and b as arrows from the origin, the projection of b on a as a bar
    and the drop from b to it; the readouts (``meta["readout"]``) from
    :func:`dotbook.geometry.pair_readout`, computed on ``device``."""
    r = geometry.pair_readout(torch.tensor(a, dtype=dtype, device=device),
                              torch.tensor(b, dtype=dtype, device=device))
    fx, fy = (0.0, 0.0) if r["foot_x"] is None else (r["foot_x"], r["foot_y"])
    drop_end = (b[0], b[1]) if r["foot_x"] is None else (fx, fy)
    shapes = [
        dict(type="line", xref="x", yref="y", x0=0, y0=0, x1=fx, y1=fy, layer="below",
             line={"color": plots.COLORS["projection"], "width": 9}),
        dict(type="line", xref="x", yref="y", x0=b[0], y0=b[1], x1=drop_end[0],
             y1=drop_end[1], layer="below", line={"color": "#777777", "width": 1.5,
                                                  "dash": "dot"}),
    ]
    data = [dict(type="scatter", x=[0.0], y=[0.0], mode="markers", name="origin",
                 hoverinfo="skip", marker={"color": "#777777", "size": 7})]
    fig = plots.assemble(DRAG_SKELETON, data, title="Drag the tips of a and b",
                         annotations=[_tip("a", a), _tip("b", b)], shapes=shapes)
    fig["layout"]["meta"] = {**fig["layout"]["meta"], "readout": readout_html(r)}
    return fig


def pair_drag(device: torch.device | str | None = None,
              dtype: torch.dtype = torch.float64) -> Drag:
    """Chapter 1's draggable figure: the tips of a and b, from a = (2, 1), b = (1, 2);
    the live face recomputes on ``device`` in ``dtype``."""
    def fn(a: tuple[float, float], b: tuple[float, float]) -> Figure:
        return drag_figure(a, b, device=device, dtype=dtype)

    return Drag(fn, {"a": (2.0, 1.0), "b": (1.0, 2.0)}, kind="pair", limit=DRAG_LIMIT,
                colors={"a": plots.COLORS["a"], "b": plots.COLORS["b"]})
