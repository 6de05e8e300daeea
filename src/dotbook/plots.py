"""One plotly look for the whole book.

Colours come from the Okabe–Ito palette, which stays distinguishable under
the common forms of colour blindness. Every figure carries alt text in
``layout.meta["alt"]``; the book's HTML renderer turns it into an
``aria-label`` (see :func:`to_book_html`).
"""

from __future__ import annotations

import html
import math
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.io.base_renderers import MimetypeRenderer

__all__ = ["PALETTE", "COLORS", "TEMPLATE", "figure", "rounded", "to_book_html",
           "use_book_renderer"]

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


def figure(*, title: str, xaxis: str, yaxis: str, alt: str, height: int = 460,
           **layout: object) -> go.Figure:
    """An empty figure in the book's look, with labelled axes and alt text.

    Args:
        title: shown above the plot.
        xaxis, yaxis: axis titles; every axis in the book is labelled.
        alt: a sentence describing the figure for screen readers.
        height: pixel height.
        **layout: any further ``go.Layout`` properties.

    Examples::

        >>> fig = figure(title="t", xaxis="x", yaxis="y", alt="an empty plot")
        >>> fig.layout.meta["alt"], fig.layout.xaxis.title.text
        ('an empty plot', 'x')
    """
    for name, text in (("title", title), ("xaxis", xaxis), ("yaxis", yaxis), ("alt", alt)):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{name} must be a non-empty string; every figure is labelled")
    fig = go.Figure(layout=go.Layout(template=TEMPLATE, height=height, **layout))
    fig.update_layout(title=dict(text=title, x=0.02, xanchor="left"), meta={"alt": alt})
    fig.update_xaxes(title_text=xaxis)
    fig.update_yaxes(title_text=yaxis)
    return fig


def rounded(obj: Any, digits: int = 4) -> Any:
    """``obj`` with every float rounded to ``digits`` significant digits, far below
    what the eye resolves, so that pages stay light. Non-finite floats become
    ``None`` (a gap in a plotly trace). Tensors and arrays become lists; lists,
    tuples and dicts are walked.

    Examples::

        >>> rounded([3.14159, float("nan")]), rounded({"y": (2 / 3,)}, 2)
        ([3.142, None], {'y': [0.67]})
    """
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}") if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [rounded(v, digits) for v in obj]
    if hasattr(obj, "dtype") and hasattr(obj, "tolist"):  # torch tensors, numpy arrays
        return rounded(obj.tolist(), digits)
    return obj


def to_book_html(fig: go.Figure) -> str:
    """The figure as an HTML fragment for the book: no plotly.js, no MathJax,
    no autoplay, wrapped in a ``role="img"`` container labelled with the alt text.

    plotly.js itself is loaded once per page from the book's own assets.
    """
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    alt = html.escape(str(meta.get("alt", "interactive figure")), quote=True)
    body = pio.to_html(fig, include_plotlyjs=False, include_mathjax=False,
                       full_html=False, auto_play=False,
                       config={"displaylogo": False, "responsive": True})
    return f'<div class="dotbook-figure" role="img" aria-label="{alt}">{body}</div>'


class _BookRenderer(MimetypeRenderer):
    """Emits ``text/html`` (which myst-nb renders) instead of plotly's own mimetype."""

    def to_mimebundle(self, fig_dict: dict) -> dict:
        return {"text/html": to_book_html(go.Figure(fig_dict))}


def use_book_renderer() -> None:
    """Make ``fig.show()`` and display emit the book's HTML fragment (book build only)."""
    pio.renderers["dotbook"] = _BookRenderer()
    pio.renderers.default = "dotbook"
