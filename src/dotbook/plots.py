"""One plotly look for the whole book.

Colours come from the Okabe–Ito palette, which stays distinguishable under
the common forms of colour blindness. Every figure carries alt text in
``layout.meta["alt"]``; the book's HTML renderer turns it into an
``aria-label`` (see :func:`to_book_html`).

One idiom builds every figure, static or interactive: a layout
:func:`skeleton` made once per figure (panels, titled axes with fixed ranges,
alt text, the book's template), and on each call :func:`assemble`, which
pairs it with plain trace dicts and a title::

    SKELETON = plots.skeleton(alt="…", axes={"xaxis": {"title": "k", "range": [-2, 2]},
                                             "yaxis": {"title": "w·x", "range": [-3, 6]}})

    def scaling_figure(k):
        return plots.assemble(SKELETON, [dict(type="scatter", x=..., y=...)], title=f"k = {k}")

An interactive figure hands such a function to :class:`dotbook.explore.Twin`;
a static one is shown with ``go.Figure(fig)``.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import torch
from plotly.io.base_renderers import MimetypeRenderer

from dotbook import _validate

__all__ = ["PALETTE", "COLORS", "TEMPLATE", "assemble", "density_histogram", "half_plane",
           "mosaic", "plane_skeleton", "rounded", "skeleton", "to_book_html",
           "use_book_renderer", "zero_note"]

#: Okabe & Ito (2008), "Color Universal Design", in the order the book uses them.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
#: Named roles, so that "a" is the same blue in every chapter.
COLORS: dict[str, str] = {
    "a": PALETTE[0],
    "b": PALETTE[1],
    "projection": PALETTE[2],
    "reference": PALETTE[7],
    "sample": PALETTE[5],
    "exact": PALETTE[1],
    "approx": PALETTE[2],
    "grid": "#E5E5E5",
}

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font=dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=14),
        colorway=list(PALETTE),
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin=dict(l=60, r=20, t=60, b=55),
        xaxis=dict(showgrid=True, gridcolor=COLORS["grid"], zeroline=True,
                   zerolinecolor="#BBBBBB", ticks="outside", showline=True, linecolor="#444"),
        yaxis=dict(showgrid=True, gridcolor=COLORS["grid"], zeroline=True,
                   zerolinecolor="#BBBBBB", ticks="outside", showline=True, linecolor="#444"),
        legend=dict(bgcolor="rgba(255,255,255,0.8)"),
        hovermode="closest",
    )
)


_TITLE = {"x": 0.02, "xanchor": "left"}
_TEMPLATE_DICT: dict[str, Any] = TEMPLATE.to_plotly_json()


def _axis_title(name: str, axis: dict[str, Any]) -> dict[str, Any]:
    """``axis`` with its title in dict form, refused when missing or empty."""
    title = axis.get("title")
    text = title.get("text") if isinstance(title, dict) else title
    if not isinstance(text, str) or not text.strip():
        raise ValueError(
            f"axes[{name!r}] needs a non-empty title, e.g. {{'title': 'angle θ (degrees)', "
            f"'range': [lo, hi]}}; every axis in the book is labelled"
        )
    return {**axis, "title": title if isinstance(title, dict) else {"text": text}}


def _check_range(name: str, axis: dict[str, Any]) -> None:
    if axis.get("type") == "category":
        return
    rng = axis.get("range")
    ok = (isinstance(rng, (list, tuple)) and len(rng) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                  for v in rng) and rng[0] != rng[1])
    if not ok:
        raise ValueError(
            f"axes[{name!r}] needs a fixed range [lo, hi] of two different finite numbers "
            f"(log axes: in log10 units), got {rng!r}; frames of a twin do not autorange. "
            f"A bar chart's category axis may pass {{'type': 'category'}} instead"
        )


def _constructed(axis: dict[str, Any]) -> dict[str, Any]:
    """An axis that cannot collide: room for its title reserved from its tick labels'
    widths (``automargin``, a small title ``standoff``); a log axis over two decades or
    more labels the decades only, with unlabelled minor ticks between them. The book's
    page script (``dotbook-twin.js``) applies the same rules, and more, when it draws."""
    out = {"automargin": True, **axis,
           "title": {"standoff": 6, **axis["title"]}}
    rng = axis.get("range")
    if (axis.get("type") == "log" and isinstance(rng, (list, tuple)) and abs(rng[1] - rng[0]) >= 2
            and "dtick" not in axis and "tickvals" not in axis):
        out["dtick"] = 2 if abs(rng[1] - rng[0]) > 12 else 1
        out["minor"] = {"ticks": "outside", "ticklen": 3, "dtick": "D1", "showgrid": False,
                        **axis.get("minor", {})}
    return out


def zero_note(axis: str = "x", *, text: str = "exactly 0 everywhere") -> dict[str, Any]:
    """A note centred on the panel of ``axis`` ("x", "x2", ...): an all-zero heatmap says
    what it shows instead of looking blank. The book's page script adds it by itself
    to any heatmap whose values are all exactly 0; outside the book, append it to
    ``layout["annotations"]``.

    Examples::

        >>> zero_note("x2")["xref"], zero_note()["text"]
        ('x2 domain', 'exactly 0 everywhere')
    """
    if not isinstance(axis, str) or not re.fullmatch(r"x([2-9]|[1-9][0-9]+)?", axis):
        raise ValueError(f"axis must name a panel's x axis: 'x', 'x2', 'x3', ..., got {axis!r}")
    _validate.text(text, "text")
    return {"text": text, "showarrow": False, "x": 0.5, "y": 0.5,
            "xref": f"{axis} domain", "yref": f"y{axis[1:]} domain", "borderpad": 4,
            "font": {"size": 13}}


def skeleton(*, alt: str, height: int = 460, rows: int = 1, cols: int = 1,
             column_widths: list[float] | None = None, row_heights: list[float] | None = None,
             subplot_titles: list[str] | None = None, axes: dict[str, dict[str, Any]],
             legend: dict[str, Any] | None = None, margin: dict[str, Any] | None = None,
             horizontal_spacing: float | None = None, vertical_spacing: float | None = None,
             **layout: Any) -> dict[str, Any]:
    """The fixed part of a figure's layout, as a plain dict, built once.

    A figure in this book is a layout that never changes (panels, axes,
    labels, alt text) plus traces and a title that move with the sliders.
    Plotly's validating constructors cost tens of milliseconds per figure,
    so the fixed part is computed here once (a module constant or a
    ``functools.cache``) and each call of a figure function only pairs it
    with fresh traces through :func:`assemble`.

    The panels form a ``rows × cols`` grid (``plotly.subplots.make_subplots``
    computes their domains, once); panel :math:`k` (row-major, from 1) owns
    ``xaxis{k}``/``yaxis{k}`` (``xaxis``/``yaxis`` for :math:`k = 1`).
    Every axis of the grid must appear in ``axes`` with a non-empty title and
    a fixed ``range`` (frames of a twin do not autorange); a bar chart's
    axis may say ``{"type": "category"}`` instead of a range. Extra axes
    (e.g. an overlaying ``yaxis3``) are checked the same way.

    Args:
        alt: one or two sentences for screen readers; stored in ``meta["alt"]``.
        height: pixel height.
        rows, cols, column_widths, row_heights, subplot_titles,
            horizontal_spacing, vertical_spacing: the panel grid, as in
            ``make_subplots``.
        axes: ``{"xaxis": {"title": "…", "range": [lo, hi], ...}, "yaxis": {...}, ...}``;
            a string title is turned into ``{"text": title}``.
        legend, margin: merged over the book's defaults.
        **layout: any further plotly layout keys (``barmode=``, ``title=dict(font=...)``).

    Returns:
        a plain layout dict with the book's template, for :func:`assemble`.

    Examples::

        >>> sk = skeleton(alt="a line", axes={"xaxis": {"title": "x", "range": [0, 1]},
        ...                                   "yaxis": {"title": "y", "range": [0, 2]}})
        >>> sk["meta"]["alt"], sk["xaxis"]["title"]["text"], sk["yaxis"]["range"]
        ('a line', 'x', [0, 2])
        >>> two = skeleton(alt="two panels", cols=2, column_widths=[0.4, 0.6],
        ...                axes={"xaxis": {"title": "a", "range": [0, 1]},
        ...                      "yaxis": {"title": "b", "range": [0, 1]},
        ...                      "xaxis2": {"type": "category", "title": "c"},
        ...                      "yaxis2": {"title": "d", "range": [-1, 1]}})
        >>> two["xaxis2"]["anchor"], two["xaxis"]["domain"][0]
        ('y2', 0.0)
        >>> skeleton(alt="x only", axes={"xaxis": {"title": "x", "range": [0, 1]}})
        Traceback (most recent call last):
        ...
        ValueError: axes is missing ['yaxis']; every panel's axes need a title and a range
    """
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError("alt must be a non-empty sentence describing the figure; every figure "
                         "in the book carries alt text for screen readers")
    if not isinstance(axes, dict):
        raise TypeError(f"axes must be a dict of axis name -> axis dict, got {type(axes).__name__}")
    height = _validate.integer(height, "height", at_least=1, at_most=10_000)
    rows = _validate.integer(rows, "rows", at_most=20, why="a figure has a few panels")
    cols = _validate.integer(cols, "cols", at_most=20, why="a figure has a few panels")
    for value, name in ((horizontal_spacing, "horizontal_spacing"),
                        (vertical_spacing, "vertical_spacing")):
        if value is not None:
            _validate.in_range(value, name, 0.0, 1.0)
    for value, name in ((column_widths, "column_widths"), (row_heights, "row_heights"),
                        (subplot_titles, "subplot_titles")):
        if value is not None and not isinstance(value, (list, tuple)):
            raise TypeError(f"{name} must be a list or None, got {type(value).__name__}")
    for value, name in ((legend, "legend"), (margin, "margin")):
        if value is not None and not isinstance(value, dict):
            raise TypeError(f"{name} must be a dict of plotly layout keys or None, got "
                            f"{type(value).__name__}")
    grid: dict[str, Any] = {}
    if rows * cols > 1 or subplot_titles or column_widths or row_heights:
        from plotly.subplots import make_subplots

        spacing = {k: v for k, v in (("horizontal_spacing", horizontal_spacing),
                                     ("vertical_spacing", vertical_spacing)) if v is not None}
        made = make_subplots(rows=rows, cols=cols, column_widths=column_widths,
                             row_heights=row_heights, subplot_titles=subplot_titles, **spacing)
        grid = made.layout.to_plotly_json()
        grid.pop("template", None)
        for note in grid.get("annotations", []):
            note["font"] = {"size": 14}
    needed = {f"{a}axis{k if k > 1 else ''}" for k in range(1, rows * cols + 1) for a in "xy"}
    missing = sorted(needed - set(axes))
    if missing:
        raise ValueError(f"axes is missing {missing}; every panel's axes need a title and a range")
    out: dict[str, Any] = {
        "template": _TEMPLATE_DICT,
        "height": height,
        "title": dict(_TITLE),
        "margin": {**TEMPLATE.layout.margin.to_plotly_json(), **(margin or {})},
        "legend": {**TEMPLATE.layout.legend.to_plotly_json(), **(legend or {})},
        **grid,
    }
    for name, axis in axes.items():
        if not (name.startswith(("xaxis", "yaxis")) and isinstance(axis, dict)):
            raise ValueError(f"axes keys must be xaxis, yaxis, xaxis2, ... with dict values; "
                             f"got {name!r}: {axis!r}")
        axis = _axis_title(name, axis)
        _check_range(name, axis)
        out[name] = {**grid.get(name, {}), **_constructed(axis)}
    for key, value in layout.items():
        out[key] = {**out[key], **value} if isinstance(value, dict) and isinstance(
            out.get(key), dict) else value
    out["meta"] = {**out.get("meta", {}), "alt": alt}
    return out

def plane_skeleton(*, alt: str, height: int, view: float) -> dict[str, Any]:
    """The skeleton of a square plane ``[-view, view]²`` with unit ticks (x₁, x₂),
    for figures whose points the reader drags (Chapters 1 and 7): equal scales,
    no legend, no zoom.

    Examples::

        >>> plane_skeleton(alt="A plane.", height=500, view=2.5)["yaxis"]["scaleanchor"]
        'x'
    """
    view = _validate.in_range(view, "view", 1e-3, 1e6)
    axis = {"range": [-view, view], "dtick": 1}
    return skeleton(
        alt=alt, height=height,
        axes={"xaxis": {"title": "x₁", **axis},
              "yaxis": {"title": "x₂", **axis, "scaleanchor": "x", "scaleratio": 1}},
        showlegend=False, margin={"t": 50, "l": 50, "r": 15}, dragmode=False,
        title={"y": 0.97, "yanchor": "top", "font": {"size": 15}})


def assemble(skeleton: dict[str, Any], data: list[dict[str, Any]], *, title: str,
             **layout_changes: Any) -> dict[str, Any]:
    """A figure as a plain dict: ``skeleton``'s layout with a title, plus ``data``.

    Cheap: the layout is a shallow copy of ``skeleton`` (which is never
    mutated); a change whose value is a dict is merged one level deep over
    the skeleton's entry, so ``yaxis={"range": [0, 3]}`` keeps the axis
    title. Show it with ``go.Figure(fig)`` or hand it to a
    :class:`dotbook.explore.Twin`.

    Args:
        skeleton: from :func:`skeleton`.
        data: plain trace dicts, e.g. ``dict(type="scatter", x=[...], y=[...], name="…")``.
        title: the figure's title (may contain ``<br>``).
        **layout_changes: layout keys that differ from the skeleton at this call.

    Examples::

        >>> sk = skeleton(alt="a dot", axes={"xaxis": {"title": "x", "range": [0, 1]},
        ...                                  "yaxis": {"title": "y", "range": [0, 1]}})
        >>> fig = assemble(sk, [dict(type="scatter", x=[0.5], y=[0.5])], title="one dot",
        ...                yaxis={"range": [0, 2]})
        >>> fig["layout"]["title"]["text"], fig["layout"]["yaxis"]["title"]["text"]
        ('one dot', 'y')
        >>> fig["layout"]["yaxis"]["range"], sk["yaxis"]["range"]
        ([0, 2], [0, 1])
    """
    if not isinstance(skeleton, dict):
        raise TypeError(f"skeleton must be the layout dict made by plots.skeleton(...), got "
                        f"{type(skeleton).__name__}")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("title must be a non-empty string; every figure is labelled")
    layout = dict(skeleton)
    layout["title"] = {**skeleton.get("title", _TITLE), "text": title}
    for key, value in layout_changes.items():
        old = skeleton.get(key)
        layout[key] = {**old, **value} if isinstance(value, dict) and isinstance(old, dict) \
            else value
    return {"data": data, "layout": layout}


def density_histogram(x: torch.Tensor, lo: float, hi: float, bins: int
                      ) -> tuple[torch.Tensor, torch.Tensor, float]:
    """A histogram of samples ``x`` drawn as a density: bar centres, heights
    (count / (N · width), so the bars have area 1 over all N samples) and the
    bar width. Samples outside [lo, hi] count in N but fall in no bar.

    Counted by NumPy: on a busy 2-core machine ``torch.histc`` waits for its
    worker threads ten times longer than the count takes.

    Shape:
        - x: any shape, N = ``x.numel()`` samples
        - outputs: :math:`(bins)`, :math:`(bins)` (float64, CPU), a float

    Examples::

        >>> centres, heights, width = density_histogram(torch.tensor([0.1, 0.6, 0.7]), 0, 1, 2)
        >>> centres.tolist(), heights.tolist(), width
        ([0.25, 0.75], [0.6666666666666666, 1.3333333333333333], 0.5)
    """
    x = _validate.tensor(x, "x")
    if x.numel() == 0:
        raise ValueError("x is empty; pass at least one sample")
    lo, hi = _validate.real(lo, "lo"), _validate.real(hi, "hi")
    if not lo < hi:
        raise ValueError(f"lo = {lo} must be smaller than hi = {hi}; pass an interval [lo, hi]")
    bins = _validate.integer(bins, "bins", at_most=100_000,
                             why="a histogram's bars must be visible")
    counts = torch.from_numpy(np.histogram(x.detach().cpu().numpy(), bins=bins,
                                           range=(lo, hi))[0])  # (bins,)
    width = (hi - lo) / bins
    centres = lo + width * (torch.arange(bins, dtype=torch.float64) + 0.5)  # (bins,)
    return centres, counts.double() / (x.numel() * width), width


# ---------------------------------------- drawing helpers shared by chapter figures
def mosaic(images: torch.Tensor, cols: int, gap: int | tuple[int, int] = 1
           ) -> list[list[float | None]]:
    """Tile ``(k, h, w)`` images into one grid, ``cols`` per row, separated by ``gap``
    empty (``None``) pixels (one number, or (between rows, between columns)):
    one heatmap trace instead of ``k``.

    Examples::

        >>> m = mosaic(torch.zeros(3, 2, 2), cols=2)
        >>> len(m), len(m[0]), m[0][2]
        (5, 5, None)
    """
    images = _validate.tensor(images, "images")
    if images.ndim != 3:
        raise ValueError(f"images must have shape (k, h, w), got {tuple(images.shape)}")
    k, h, w = images.shape
    cols = _validate.integer(cols, "cols", at_most=1024)
    if isinstance(gap, (tuple, list)) and len(gap) == 2:
        gap_r, gap_c = gap
    elif isinstance(gap, (tuple, list)):
        raise ValueError(f"gap must be one int or a pair (between rows, between columns), "
                         f"got {len(gap)} values")
    else:
        gap_r = gap_c = gap
    for value in (gap_r, gap_c):
        _validate.integer(value, "gap", at_least=0, at_most=1024)
    _validate.integer(images.numel(), "images.numel()", at_most=1 << 22,
                      why="a mosaic is drawn as one heatmap of Python floats")
    rows = math.ceil(k / cols)
    grid: list[list[float | None]] = [[None] * (cols * (w + gap_c) - gap_c)
                                      for _ in range(rows * (h + gap_r) - gap_r)]
    values = images.tolist()
    for index in range(k):
        top, left = (index // cols) * (h + gap_r), (index % cols) * (w + gap_c)
        for r in range(h):
            grid[top + r][left:left + w] = values[index][r]
    return grid


def half_plane(w: tuple[float, float], b: float, box: tuple[float, float, float, float]
               ) -> tuple[list[float], list[float]]:
    """The rectangle ``box = (x0 min, x0 max, x1 min, x1 max)`` clipped to
    ``w·p + b >= 0`` (Sutherland–Hodgman against one line): a closed polygon to shade
    the side of a decision line where a neuron fires.

    Examples::

        >>> half_plane((1.0, 0.0), 0.0, (-1.0, 1.0, -1.0, 1.0))
        ([0.0, 1.0, 1.0, 0.0, 0.0], [-1.0, -1.0, 1.0, 1.0, -1.0])
    """
    w = _validate.reals(w, "w", 2, example="(1.0, 0.0)")
    b = _validate.real(b, "b")
    x0, x1, y0, y1 = _validate.reals(box, "box", 4, example="(-1.0, 1.0, -1.0, 1.0)")
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    out: list[tuple[float, float]] = []
    for k, p in enumerate(corners):
        q = corners[(k + 1) % 4]
        fp, fq = w[0] * p[0] + w[1] * p[1] + b, w[0] * q[0] + w[1] * q[1] + b
        if fp >= 0:
            out.append(p)
        if (fp >= 0) != (fq >= 0):
            s = fp / (fp - fq)
            out.append((p[0] + s * (q[0] - p[0]), p[1] + s * (q[1] - p[1])))
    if not out:
        return [], []
    out.append(out[0])
    return [round(p[0], 3) for p in out], [round(p[1], 3) for p in out]


def rounded(obj: Any, digits: int = 4) -> Any:
    """``obj`` with every float rounded to ``digits`` significant digits, far below
    what the eye resolves, so that pages stay light. Non-finite floats become
    ``None`` (a gap in a plotly trace). Tensors and arrays become lists; lists,
    tuples and dicts are walked.

    Examples::

        >>> rounded([3.14159, float("nan")]), rounded({"y": (2 / 3,)}, 2)
        ([3.142, None], {'y': [0.67]})
    """
    return _rounded(obj, _validate.integer(digits, "digits", at_most=17,
                                           why="a float64 holds 17 significant digits"))


def _rounded(obj: Any, digits: int) -> Any:
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}") if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_rounded(v, digits) for v in obj]
    if hasattr(obj, "dtype") and hasattr(obj, "tolist"):  # torch tensors, numpy arrays
        return _rounded(obj.tolist(), digits)
    return obj


def to_book_html(fig: go.Figure) -> str:
    """The figure as an HTML fragment for the book: no plotly.js, no MathJax,
    no autoplay, wrapped in a ``role="figure"`` container labelled with the alt text.

    Not ``role="img"``: that would hide the figure's sliders and buttons from
    assistive technology (axe ``nested-interactive``). plotly.js itself, and
    the script that makes every figure keyboard-operable, theme-aware and
    phone-sized (``dotbook-twin.js``), load from the book's own assets, deferred,
    on pages with a figure only (``book/_ext/dotbook_sphinx.py``): the fragment's
    ``Plotly.newPlot`` call waits in a queue until then, and draws when the figure
    nears the viewport, the container showing the alt text meanwhile. Its
    ``aria-label`` is that placeholder's text too.
    """
    if not isinstance(fig, go.Figure):
        raise TypeError(f"fig must be a plotly go.Figure, got {type(fig).__name__}; wrap a "
                        f"figure dict with go.Figure(fig)")
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    alt = html.escape(str(meta.get("alt", "interactive figure")), quote=True)
    # No upload button (the book is offline) and no selection tools (nothing to
    # select): fewer tab stops between a keyboard reader and the sliders.
    body = pio.to_html(fig, include_plotlyjs=False, include_mathjax=False,
                       full_html=False, auto_play=False,
                       config={"displaylogo": False, "responsive": True,
                               "modeBarButtonsToRemove": ["sendChartToCloud", "select2d",
                                                          "lasso2d"]})
    return f'<div class="dotbook-figure" role="figure" aria-label="{alt}">{body}</div>'


class _BookRenderer(MimetypeRenderer):
    """Emits ``text/html`` (which myst-nb renders) instead of plotly's own mimetype."""

    def to_mimebundle(self, fig_dict: dict) -> dict:
        return {"text/html": to_book_html(go.Figure(fig_dict))}


def use_book_renderer() -> None:
    """Make ``fig.show()`` and display emit the book's HTML fragment (book build only)."""
    pio.renderers["dotbook"] = _BookRenderer()
    pio.renderers.default = "dotbook"

