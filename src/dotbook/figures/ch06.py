"""Chapter 6 figures: a convolution is one small dot product, slid over an image.

Images come from :mod:`dotbook.data` (a test digit; scikit-learn's bundled
photograph, shrunk); the convolutions are :mod:`dotbook.conv`'s, the edge responses,
shifted outputs and pooling changes :mod:`dotbook.filters`'; this module only draws.
What does not move with a slider is computed once and cached.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from dotbook import conv, data, filters, plots
from dotbook.explore import Figure, Param, Twin
from dotbook.figures import register
from dotbook.plots import rounded

__all__ = [
    "SOBEL",
    "field_input",
    "field_figure",
    "field_twin",
    "photo",
    "PROFILE_ROW",
    "photo_figure",
    "edges_figure",
    "edges_twin",
    "equivariance_figure",
    "equivariance_twin",
    "pooling_figure",
]

F64 = torch.float64
#: A vertical-edge detector (Sobel's): large where brightness rises to the right.
SOBEL = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=F64)
_GREYS = [[0.0, "#FFFFFF"], [1.0, "#000000"]]  # 0 white, 1 black (digits: ink is dark)
_PHOTO = [[0.0, "#000000"], [1.0, "#FFFFFF"]]  # photographs: 0 black, 1 white
_HEAT = [[0.0, "#FFFFFF"], [1.0, "#D55E00"]]  # 0 white → vermillion
_DIVERGING = "RdBu"
_IMAGE_AXIS = {"showgrid": False, "zeroline": False, "showline": False}  # pixel indices
_TITLE = {"y": 0.96, "yanchor": "top", "font": {"size": 14}}


def _image_axes(width: int, height: int, panel: int, title: str) -> dict[str, dict[str, Any]]:
    """Axes of panel ``panel`` for an image: pixel (0, 0) top left, square pixels."""
    s = "" if panel == 1 else str(panel)
    return {
        f"xaxis{s}": {"title": title, "range": [-0.5, width - 0.5], "constrain": "domain",
                      **_IMAGE_AXIS},
        f"yaxis{s}": {"title": "row", "range": [height - 0.5, -0.5], "scaleanchor": f"x{s}",
                      "scaleratio": 1, **_IMAGE_AXIS},
    }


def _box(rows: range | list[int], cols: range | list[int]) -> tuple[list[float], list[float]]:
    """The outline of the pixels ``rows × cols`` (a closed rectangle)."""
    top, bottom = min(rows) - 0.5, max(rows) + 0.5
    left, right = min(cols) - 0.5, max(cols) + 0.5
    return [left, right, right, left, left], [top, top, bottom, bottom, top]


# ------------------------------------------------ one output pixel, one dot product
@functools.cache
def field_input() -> torch.Tensor:
    """The figure's input: the first test "4" of the digits, padded by one ring of zeros.

    Shape:
        - output: :math:`(10, 10)` (float64)
    """
    d = data.digits(dtype=F64)
    index = int(torch.nonzero(d.y_test == 4)[0])
    return F.pad(d.images(d.x_test[index]), (1, 1, 1, 1))  # (10, 10)


@functools.cache
def _field_output() -> torch.Tensor:
    x = field_input()
    return conv.conv2d(x[None, None], SOBEL[None, None])[0, 0]  # (8, 8)


@functools.cache
def _field_skeleton() -> dict[str, Any]:
    axes = {**_image_axes(10, 10, 1, "padded input x̃"), **_image_axes(3, 3, 2, "kernel W"),
            **_image_axes(3, 3, 3, "patch ⊙ W"), **_image_axes(8, 8, 4, "output y")}
    return plots.skeleton(
        alt=("Four panels. A handwritten 4 padded with a ring of zeros, with a 3 by 3 window "
             "outlined; a 3 by 3 kernel that detects vertical edges; the nine products of the "
             "window's pixels with the kernel's weights; and the output map, one pixel of "
             "which, outlined, is the sum of those products."),
        height=620, rows=2, cols=2, row_heights=[0.58, 0.42], horizontal_spacing=0.12,
        vertical_spacing=0.14, axes=axes, showlegend=False, margin={"t": 80, "l": 30, "r": 10},
        title=_TITLE)


def field_figure(row: int, col: int) -> Figure:
    """Output pixel ``(row, col)`` of a 3×3 convolution as the dot product of the kernel
    with its receptive field, shown as the window, the products, and the output."""
    x, y = field_input(), _field_output()
    geo = conv.conv_geometry((1, 1, 10, 10), (1, 1, 3, 3))
    rows, cols = conv.receptive_field(row, col, geo)
    patch = x[rows.start:rows.stop, cols.start:cols.stop]  # (3, 3)
    products = patch * SOBEL  # (3, 3)
    value = float(torch.dot(patch.flatten(), SOBEL.flatten()))
    bx, by = _box(rows, cols)
    ox, oy = _box([row], [col])
    big = float(_field_output().abs().max())
    text = {"texttemplate": "%{z:.2g}", "textfont": {"size": 11}}
    data_ = [
        dict(type="heatmap", z=rounded(x, 3), zmin=0.0, zmax=1.0, colorscale=_GREYS,
             showscale=False, xaxis="x", yaxis="y", hovertemplate="%{z:.2f}<extra></extra>"),
        dict(type="scatter", mode="lines", x=bx, y=by, name="receptive field", xaxis="x",
             yaxis="y", line=dict(color=plots.PALETTE[1], width=3), hoverinfo="skip"),
        dict(type="heatmap", z=SOBEL.tolist(), zmin=-2.0, zmax=2.0, colorscale=_DIVERGING,
             showscale=False, xaxis="x2", yaxis="y2", hoverinfo="skip", **text),
        dict(type="heatmap", z=rounded(products, 3), zmin=-2.0, zmax=2.0,
             colorscale=_DIVERGING, showscale=False, xaxis="x3", yaxis="y3",
             hoverinfo="skip", **text),
        dict(type="heatmap", z=rounded(y, 3), zmin=-big, zmax=big, colorscale=_DIVERGING,
             showscale=False, xaxis="x4", yaxis="y4", hovertemplate="%{z:.2f}<extra></extra>"),
        dict(type="scatter", mode="lines", x=ox, y=oy, name="output pixel", xaxis="x4",
             yaxis="y4", line=dict(color=plots.PALETTE[1], width=3), hoverinfo="skip"),
    ]
    title = (f"pixel ({row}, {col}): patch · W = sum of the 9 products = {value:+.3f}<br>"
             f"the whole map by im2col: y[{row}, {col}] = {float(y[row, col]):+.3f}")
    return plots.assemble(_field_skeleton(), data_, title=title)


@register
def field_twin() -> Twin:
    """Sliders over the output pixel's row and column."""
    grid = tuple(range(8))  # every output pixel, in both faces
    return Twin(field_figure, [
        Param("row", "output row", grid, lo=0, hi=7, step=1, integer=True, default=2),
        Param("col", "output column", grid, lo=0, hi=7, step=1, integer=True, default=2),
    ])


# ---------------------------------------------------------- oriented edges
_PHOTO_ROWS = 40
_EDGE_SIZE, _EDGE_SIGMA = 7, 1.2


@functools.cache
def photo(rows: int = _PHOTO_ROWS) -> torch.Tensor:
    """scikit-learn's bundled ``china.jpg`` in grey, ``rows`` high (float64, CPU)."""
    return data.sample_image("china.jpg", dtype=F64, size=rows)


def _photo_axes(panel: int, title: str, rows: int = _PHOTO_ROWS) -> dict[str, dict[str, Any]]:
    height, width = photo(rows).shape
    return _image_axes(width, height, panel, title)


#: The row of the photo whose brightness profile :func:`photo_figure` plots.
PROFILE_ROW = 14


@functools.cache
def photo_figure() -> Figure:
    """The photograph the edge detectors slide over, and the brightness along one row
    (static): an edge is where that profile climbs or falls steeply."""
    img = photo()
    height, width = img.shape
    axes = {**_photo_axes(1, "column"),
            "xaxis2": {"title": "column", "range": [-0.5, width - 0.5]},
            "yaxis2": {"title": "brightness", "range": [0, 1]}}
    skeleton = plots.skeleton(
        alt=("Left: a small grey photograph of a Chinese temple roof against the sky, among "
             "trees, with one row marked. Right: the brightness along that row, which jumps "
             "where the row crosses the edge of the roof and of the trees."),
        height=330, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.1, axes=axes,
        margin={"t": 50, "l": 30, "r": 10}, showlegend=False)
    line = dict(color=plots.PALETTE[4], width=2)
    data_ = [
        dict(type="heatmap", z=rounded(img, 2), zmin=0.0, zmax=1.0, colorscale=_PHOTO,
             showscale=False, hovertemplate="%{z:.2f}<extra></extra>"),
        dict(type="scatter", mode="lines", x=[-0.5, width - 0.5], y=[PROFILE_ROW] * 2,
             name="row", line=line, hoverinfo="skip"),
        dict(type="scatter", mode="lines", x=list(range(width)),
             y=rounded(img[PROFILE_ROW], 3), name="brightness", line=line, xaxis="x2",
             yaxis="y2"),
    ]
    return plots.assemble(skeleton, data_, title=(
        f"china.jpg from scikit-learn, {height} × {width} pixels, grey; row {PROFILE_ROW}"))


@functools.cache
def _edge_response(angle_deg: float) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`dotbook.filters.edge_response` on the photo, kept per angle."""
    return filters.edge_response(photo(), angle_deg, _EDGE_SIZE, _EDGE_SIGMA)


@functools.cache
def _edge_scale() -> float:
    return max(float(_edge_response(a)[1].abs().max()) for a in (0.0, 45.0, 90.0, 135.0))


@functools.cache
def _edges_skeleton() -> dict[str, Any]:
    axes = {**_image_axes(_EDGE_SIZE, _EDGE_SIZE, 1, "kernel"),
            **_photo_axes(2, "response: blue where brightness rises along θ")}
    return plots.skeleton(
        alt=("Left: a 7 by 7 oriented edge detector, negative on one side and positive on "
             "the other. Right: its response over the photograph; edges running across the "
             "kernel's direction light up, blue where the image brightens in that direction "
             "and red where it darkens."),
        height=360, cols=2, column_widths=[0.2, 0.8], horizontal_spacing=0.05, axes=axes,
        showlegend=False, margin={"t": 70, "l": 30, "r": 10}, title=_TITLE)


def edges_figure(angle_deg: float) -> Figure:
    """The oriented edge kernel at ``angle_deg`` and its response on the photograph."""
    k, response = _edge_response(float(angle_deg))
    scale = _edge_scale()
    kmax = float(k.abs().max())
    share = float((response.abs() > 0.25 * scale).double().mean())
    centre = (_EDGE_SIZE - 1) / 2  # the arrow: θ measured from "right", rows grow downwards
    theta = math.radians(angle_deg)
    tip_x, tip_y = round(2.2 * math.cos(theta), 3), round(2.2 * math.sin(theta), 3)
    data_ = [
        dict(type="heatmap", z=rounded(k, 3), zmin=-kmax, zmax=kmax, colorscale=_DIVERGING,
             showscale=False, xaxis="x", yaxis="y", hovertemplate="%{z:.3f}<extra></extra>"),
        dict(type="heatmap", z=rounded(response / scale, 2), zmin=-1.0, zmax=1.0,
             colorscale=_DIVERGING, showscale=False, xaxis="x2", yaxis="y2",
             hovertemplate="%{z:.2f}<extra></extra>"),
        dict(type="scatter", mode="lines+markers", x=[centre - tip_x, centre + tip_x],
             y=[centre - tip_y, centre + tip_y], name="θ", hoverinfo="skip", xaxis="x",
             yaxis="y", line=dict(color=plots.PALETTE[7], width=3),
             marker=dict(symbol=["circle", "arrow"], size=[4, 14], angleref="previous",
                         color=plots.PALETTE[7])),
    ]
    title = (f"edge detector at θ = {angle_deg:.0f}° (0° = brighter to the right, 90° = "
             f"brighter downwards)<br>{share:.0%} of the pixels respond strongly")
    return plots.assemble(_edges_skeleton(), data_, title=title)


@register
def edges_twin() -> Twin:
    """A slider over the kernel's direction θ."""
    return Twin(edges_figure, [
        Param("angle_deg", "direction θ (degrees)", tuple(range(0, 360, 30)), lo=0, hi=359,
              step=1, default=0, fmt=".0f"),
    ])


# ---------------------------------------------------- equivariance and invariance
_SHIFT_ROWS = 28
_SHIFTS = (-12, -8, -4, 0, 4, 8, 12)
_SHIFT_REACH = 20  # the live slider's range: -20 … 20 columns


@functools.cache
def _unshifted() -> torch.Tensor:
    return filters.shifted_outputs(photo(_SHIFT_ROWS), 0)["zeros_conv_of_shift"]  # (H, W): f(x)


@functools.cache
def _shift_scale() -> float:
    return float(_unshifted().abs().max())


@functools.cache
def _equivariance_table() -> dict[str, Any]:
    """Everything :func:`equivariance_figure` shows, for every shift the live slider
    reaches, computed once (two batched convolutions): the maps, scaled and rounded to
    two decimals as drawn (``(S, H, W)`` arrays), and the numbers in the title."""
    shifts = tuple(range(-_SHIFT_REACH, _SHIFT_REACH + 1))
    return _equivariance_rows(shifts) | {"index": {dx: i for i, dx in enumerate(shifts)}}


def _equivariance_rows(shifts: tuple[int, ...]) -> dict[str, Any]:
    out = filters.shifted_stack(photo(_SHIFT_ROWS), shifts)
    scale = _shift_scale()
    table: dict[str, Any] = {}
    for mode in ("circular", "zeros"):
        got, want = out[f"{mode}_conv_of_shift"], out[f"{mode}_shift_of_conv"]
        gap = (got - want).abs()  # (S, H, W)
        table[f"{mode}_got"] = np.round((got / scale).numpy(), 2) + 0.0  # no -0.0
        table[f"{mode}_gap"] = np.round((gap / scale).numpy(), 2) + 0.0
        table[f"{mode}_worst"] = gap.amax(dim=(-2, -1)).tolist()  # (S,)
    width = out["zeros_conv_of_shift"].shape[-1]
    inner = (out["zeros_conv_of_shift"] - out["zeros_shift_of_conv"]).abs()  # (S, H, W)
    table["inside"] = [float(inner[i, :, abs(dx) + 2:width - abs(dx) - 2].max())
                       if width > 2 * (abs(dx) + 2) else 0.0 for i, dx in enumerate(shifts)]
    return table


@functools.cache
def _equivariance_skeleton() -> dict[str, Any]:
    axes = {**_photo_axes(1, "circular: f(Sx)", _SHIFT_ROWS),
            **_photo_axes(2, "|f(Sx) − S f(x)|", _SHIFT_ROWS),
            **_photo_axes(3, "zero padding: f(Sx)", _SHIFT_ROWS),
            **_photo_axes(4, "|f(Sx) − S f(x)|", _SHIFT_ROWS)}
    return plots.skeleton(
        alt=("Four maps. Top row, circular padding: the filter's output on the shifted photo, "
             "and its difference from the shifted output, which is zero everywhere. Bottom "
             "row, zero padding and a shift that lets zeros in: the output, and a difference "
             "that is zero except in bands along the left and right borders."),
        height=560, rows=2, cols=2, horizontal_spacing=0.08, vertical_spacing=0.24,
        axes=axes, showlegend=False, margin={"t": 90, "l": 30, "r": 10, "b": 50},
        title=_TITLE)


def equivariance_figure(dx: int) -> Figure:
    """Shift the photo by ``dx`` columns (S): the filtered image shifts with it.

    The shifts the live slider reaches are looked up in a table computed once;
    any other shift is computed on the spot, the same way.
    """
    if isinstance(dx, bool) or not isinstance(dx, int):
        raise TypeError(f"dx must be an int (columns), got {dx!r}")
    table = _equivariance_table()
    if dx in table["index"]:
        i = table["index"][dx]
    else:
        table, i = _equivariance_rows((dx,)), 0
    data_ = []
    for k, mode in enumerate(("circular", "zeros")):
        left, right = ("" if k == 0 else "3"), str(2 * k + 2)  # this row's two panels
        data_ += [
            dict(type="heatmap", z=table[f"{mode}_got"][i].tolist(), zmin=-1.0, zmax=1.0,
                 colorscale=_DIVERGING, showscale=False, xaxis=f"x{left}",
                 yaxis=f"y{left}", hovertemplate="%{z:.2f}<extra></extra>"),
            dict(type="heatmap", z=table[f"{mode}_gap"][i].tolist(), zmin=0.0, zmax=0.5,
                 colorscale=_HEAT, showscale=False, xaxis=f"x{right}",
                 yaxis=f"y{right}", hovertemplate="%{z:.2f}<extra></extra>"),
        ]
    reach = abs(dx) + 2  # the shift's strip plus the kernel's reach
    rows, cols = photo(_SHIFT_ROWS).shape
    data_.append(dict(
        type="scatter", mode="lines", name="exact between the lines", hoverinfo="skip",
        x=[reach - 0.5, reach - 0.5, None, cols - reach - 0.5, cols - reach - 0.5],
        y=[-0.5, rows - 0.5, None, -0.5, rows - 0.5], xaxis="x4", yaxis="y4",
        line=dict(color=plots.PALETTE[0], width=2, dash="dash")))
    title = (f"shift {dx:+d} columns. circular: largest difference "
             f"{table['circular_worst'][i]:.1e} (exact)<br>zero padding: "
             f"{table['inside'][i]:.1e} more than {reach} columns from the borders, up to "
             f"{table['zeros_worst'][i] / _shift_scale():.2f} near them")
    return plots.assemble(_equivariance_skeleton(), data_, title=title)


@register
def equivariance_twin() -> Twin:
    """A slider over the horizontal shift (columns, + is to the right)."""
    return Twin(equivariance_figure, [
        Param("dx", "shift (columns)", _SHIFTS, lo=-_SHIFT_REACH, hi=_SHIFT_REACH, step=1,
              integer=True, default=4),
    ])


@functools.cache
def pooling_figure() -> Figure:
    """Static: how much each representation changes as the input shifts (0 = invariant)
    (:func:`dotbook.filters.pooling_changes` on the photo, 32 rows high)."""
    shifts = list(range(0, 13))
    changes = filters.pooling_changes(photo(32), shifts)
    skeleton = plots.skeleton(
        alt=("Relative change of five representations against the shift of the input. The "
             "feature map changes a lot after a one-pixel shift; 2 by 2 and 4 by 4 max "
             "pooling change less for small shifts; global average and global max pooling do "
             "not change at all."),
        height=420,
        axes={"xaxis": {"title": "circular shift of the input (columns)", "range": [0, 12]},
              "yaxis": {"title": "relative change", "range": [-0.03, 1.0]}},
        legend={"x": 0.98, "xanchor": "right", "y": 0.06, "yanchor": "bottom",
                "font": {"size": 12}},
        margin={"t": 60})
    styles = [("solid", 0), ("dash", 4), ("dot", 2), ("solid", 1), ("dashdot", 7)]
    data_ = [dict(type="scatter", mode="lines+markers", x=shifts, y=rounded(values, 4),
                  name=name, line=dict(color=plots.PALETTE[c], dash=dash, width=2.5),
                  marker=dict(size=6))
             for (name, values), (dash, c) in zip(changes.items(), styles, strict=True)]
    return plots.assemble(skeleton, data_, title="Pooling trades position for invariance")
