"""Chapter 7 figures: attention scores as compatibility, why 1/√d_k, attention at scale.

Two twins and two static figures:

- :func:`compatibility_twin` — the toy sentence of :func:`dotbook.attention.toy_sentence`:
  the whole attention map as a heatmap, and one query's weights as bars
  (slider: which query).
- :func:`scaling_twin` — softmax rows of random q·k with or without the
  1/√d_k: one row's weights, and the largest weight, the entropy and the
  softmax Jacobian norm against d_k (sliders: d_k, scaling on/off).
- :func:`variance_figure` — measured Var(q·k) against d_k on log–log axes.
- :func:`scale_figure` — measured peak memory and time against T.
- :func:`query_drag` — drag a 2-D query among four fixed keys: scores, softmax
  weights (with a temperature) and the output mix of the values follow
  (:func:`dotbook.attention.query_readout`; a :class:`dotbook.drag.Drag`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import torch

from dotbook import attention, measure, plots, saturation
from dotbook import device as _device
from dotbook.drag import Drag
from dotbook.explore import Figure, Param, Twin
from dotbook.figures import register
from dotbook.plots import rounded

__all__ = [
    "D_K_GRID",
    "KEYS",
    "compatibility_figure",
    "compatibility_twin",
    "scaling_figure",
    "scaling_twin",
    "scaling_curves",
    "variance_figure",
    "scale_figure",
    "DRAG_KEYS",
    "DRAG_VALUES",
    "query_figure",
    "query_drag",
]


#: Keys per softmax row in the scaling twin.
KEYS = 16
#: The static grid of widths d_k (powers of 2, 1 … 1024).
D_K_GRID = tuple(2**i for i in range(11))
_D_K_MAX = D_K_GRID[-1]
_QUERIES = 256  # rows averaged per statistic
_CURVE_D_K = tuple(sorted({round(2 ** (i / 4)) for i in range(41)}))  # 1 … 1024, log-spaced


# ------------------------------------------------------------ compatibility
@functools.cache
def _toy() -> tuple[attention.Toy, list[list[float]], list[list[float]]]:
    toy = attention.toy_sentence()
    raw = (toy.q @ toy.k.T).tolist()  # (T, T) q·k before the scale
    w = attention.attention_weights(toy.q, toy.k).tolist()  # (T, T)
    return toy, raw, w


@functools.cache
def _compatibility_skeleton() -> Figure:
    toy = _toy()[0]
    T = len(toy.tokens)
    ticks = {"tickvals": list(range(T)), "ticktext": list(toy.tokens), "showgrid": False,
             "zeroline": False}
    return plots.skeleton(
        alt=("Left: a 7 by 7 heatmap of attention weights for the sentence 'the tired dog "
             "chased a red ball', queries as rows and keys as columns, with the selected "
             "query's row outlined. Right: that query's weights over the seven keys as bars."),
        height=500, cols=2, column_widths=[0.5, 0.5], horizontal_spacing=0.16,
        axes={
            "xaxis": {"title": "key (what is offered)", "range": [-0.5, T - 0.5],
                      "tickangle": -45, **ticks},
            "yaxis": {"title": {"text": "query (who is looking)", "standoff": 6},
                      "range": [T - 0.5, -0.5], "automargin": True, **ticks},
            "xaxis2": {"title": "key", "type": "category", "tickangle": -45},
            "yaxis2": {"title": "attention weight", "range": [0, 1.05]},
        },
        showlegend=False, margin={"t": 95, "l": 80, "r": 15, "b": 80},
        title={"font": {"size": 15}},
    )


def compatibility_figure(query: int) -> Figure:
    """The toy sentence's attention map, with query ``query`` outlined and its weights as bars."""
    toy, raw, w = _toy()
    T = len(toy.tokens)
    i = int(query)
    if not 0 <= i < T:
        raise ValueError(f"query must be a token index in [0, {T - 1}], got {query!r}")
    best = max(range(T), key=lambda j: w[i][j])
    seeks = " + ".join(toy.seeks(i))
    data = [
        dict(type="heatmap", z=rounded(w, 3), x=list(range(T)), y=list(range(T)),
             zmin=0, zmax=1, colorscale="Blues", showscale=False, xaxis="x", yaxis="y",
             customdata=rounded(raw, 3),
             hovertemplate="query %{y}, key %{x}<br>weight %{z}<br>q·k = %{customdata}"
                           "<extra></extra>"),
        dict(type="scatter", x=[-0.5, T - 0.5, T - 0.5, -0.5, -0.5],
             y=[i - 0.5, i - 0.5, i + 0.5, i + 0.5, i - 0.5], mode="lines",
             line={"color": plots.PALETTE[1], "width": 3}, hoverinfo="skip",
             name="selected query", xaxis="x", yaxis="y"),
        dict(type="bar", x=list(toy.tokens), y=rounded(w[i], 3), xaxis="x2", yaxis="y2",
             name="weights", text=[f"q·k={v:g}" for v in rounded(raw[i], 3)],
             textposition="outside", cliponaxis=False, textfont={"size": 11},
             marker={"color": [plots.PALETTE[1] if j == best else plots.PALETTE[0]
                               for j in range(T)]},
             hovertemplate="%{x}: weight %{y}<extra></extra>"),
    ]
    title = (f"query “{toy.tokens[i]}” looks for: {seeks}<br>"
             f"most weight on “{toy.tokens[best]}” ({w[i][best]:.2f})")
    return plots.assemble(_compatibility_skeleton(), data, title=title)


@register
def compatibility_twin() -> Twin:
    """Chapter 7's compatibility twin: one slider for the query token."""
    tokens = _toy()[0].tokens
    return Twin(compatibility_figure, [
        Param("query", "query", choices=[(i, f"'{tok}'") for i, tok in enumerate(tokens)],
              default=3),
    ])


# ------------------------------------------------------------ why 1/sqrt(d_k)
def scaling_curves(generator: torch.Generator | None = None) -> dict[str, dict[str, list[float]]]:
    """Mean largest weight, entropy / log T and Jacobian norm for every d_k = 1 … 1024,
    scaled and not (:func:`dotbook.saturation.saturation_curves`, drawn with ``generator``;
    default ``device.generator(7)``).

    Returns ``{"scaled": {...}, "unscaled": {...}}`` with plain lists under
    ``max_weight``, ``entropy`` (divided by log T) and ``jacobian_norm``; index d_k − 1.
    """
    g = _device.generator(7) if generator is None else generator
    curves = saturation.saturation_curves(_D_K_MAX, T=KEYS, queries=_QUERIES, generator=g,
                                         device=g.device)
    return {mode: {"max_weight": c["max_weight"].tolist(),
                   "entropy": (c["entropy"] / math.log(KEYS)).tolist(),
                   "jacobian_norm": c["jacobian_norm"].tolist()}
            for mode, c in curves.items()}


_CURVE_INDEX = [d - 1 for d in _CURVE_D_K]  # the d_k drawn as lines (log-spaced)


def _example_products(g: torch.Generator) -> torch.Tensor:
    """Running sums of q_c k_jc over c for one fixed query and KEYS keys: (KEYS, d_k max)."""
    q = torch.randn(_D_K_MAX, generator=g, dtype=torch.float64, device=g.device)  # (d_k max,)
    k = torch.randn(KEYS, _D_K_MAX, generator=g, dtype=torch.float64,
                    device=g.device)  # (KEYS, d_k max)
    return torch.cumsum(k * q, dim=-1).cpu()  # column d_k - 1 is q·k over the first d_k


@functools.cache
def _default_parts() -> tuple[dict, torch.Tensor]:
    return scaling_curves(), _example_products(_device.generator(7))


_STATS = (("max_weight", "largest weight", 0), ("entropy", "entropy / log T", 2),
          ("jacobian_norm", "Jacobian norm", 1))


@functools.cache
def _scaling_skeleton() -> Figure:
    return plots.skeleton(
        alt=("Left: the 16 attention weights of one query, sorted, for the chosen d_k with or "
             "without the 1/sqrt(d_k) scaling. Right: the average largest weight, entropy "
             "relative to uniform and softmax Jacobian norm against d_k on a log axis; "
             "without scaling the largest weight climbs to 1 and the entropy and Jacobian "
             "norm fall to 0, with scaling all three stay flat."),
        height=500, cols=2, column_widths=[0.4, 0.6], horizontal_spacing=0.12,
        axes={
            "xaxis": {"title": "key, by rank of its weight", "range": [0.3, KEYS + 0.7]},
            "yaxis": {"title": "attention weight", "range": [0, 1.05]},
            "xaxis2": {"title": "d_k (log scale)", "type": "log",
                       "range": [-0.1, math.log10(_D_K_MAX) + 0.1]},
            "yaxis2": {"title": "average over 256 queries", "range": [0, 1.05]},
        },
        # a horizontal band between the title and the panels: no curve reaches there
        legend={"orientation": "h", "x": 0.0, "y": 1.02, "xanchor": "left",
                "yanchor": "bottom", "font": {"size": 12}},
        margin={"t": 150, "l": 60, "r": 15},
        title={"font": {"size": 15}},
    )


def scaling_figure(d_k: int, scaled: int, *,
                   parts: tuple[dict, torch.Tensor] | None = None) -> Figure:
    """One row of weights at this d_k, and the three statistics against d_k, with the
    other setting of the scaling drawn thin and grey for comparison. ``parts`` is
    ``(scaling_curves(g), example products)`` as :func:`scaling_twin` draws them
    (default: from ``device.generator(7)``)."""
    d_k = int(d_k)
    if not 1 <= d_k <= _D_K_MAX:
        raise ValueError(f"d_k must be an int in [1, {_D_K_MAX}], got {d_k!r}")
    on = bool(int(scaled))
    mode, other = ("scaled", "unscaled") if on else ("unscaled", "scaled")
    curves, products = _default_parts() if parts is None else parts
    s = products[:, d_k - 1]  # (KEYS,) q·k
    s = s / math.sqrt(d_k) if on else s
    w = torch.sort(torch.softmax(s, dim=0), descending=True).values  # (KEYS,)
    point = {key: curves[mode][key][d_k - 1] for key, _, _ in _STATS}
    data: list[dict[str, Any]] = [
        dict(type="bar", x=list(range(1, KEYS + 1)), y=rounded(w), xaxis="x", yaxis="y",
             name="one query's weights", showlegend=False,
             marker={"color": plots.PALETTE[0] if on else plots.PALETTE[1]},
             hovertemplate="rank %{x}: weight %{y}<extra></extra>"),
    ]
    for key, label, c in _STATS:
        data.append(dict(type="scatter", x=_CURVE_D_K,
                         y=rounded([curves[other][key][i] for i in _CURVE_INDEX]),
                         mode="lines", xaxis="x2", yaxis="y2", hoverinfo="skip",
                         name=f"grey: {other}", legendgroup="other",
                         showlegend=key == "max_weight",
                         line={"color": "#AAAAAA", "width": 1.5, "dash": "dot"}))
        data.append(dict(type="scatter", x=_CURVE_D_K,
                         y=rounded([curves[mode][key][i] for i in _CURVE_INDEX]),
                         mode="lines", xaxis="x2", yaxis="y2", name=label,
                         line={"color": plots.PALETTE[c], "width": 3}, hoverinfo="skip"))
        data.append(dict(type="scatter", x=[d_k], y=[rounded(point[key])], mode="markers",
                         xaxis="x2", yaxis="y2", name=f"{label} at this d_k", showlegend=False,
                         marker={"color": plots.PALETTE[c], "size": 12,
                                 "line": {"color": "white", "width": 1.5}},
                         hovertemplate=f"{label}: %{{y}}<extra>d_k = %{{x}}</extra>"))
    how = "q·k/√d_k" if on else "q·k (no scaling)"
    title = (f"d_k = {d_k}, scores {how}: on average, largest weight "
             f"{point['max_weight']:.2f},<br>entropy {point['entropy']:.2f} × log T, "
             f"softmax Jacobian norm {point['jacobian_norm']:.3f}")
    return plots.assemble(_scaling_skeleton(), data, title=title)


@register
def scaling_twin(generator: torch.Generator | None = None) -> Twin:
    """Chapter 7's scaling twin: a slider for d_k (log), buttons for the scaling (off/on).

    ``generator`` draws the queries and keys (the chapter passes ``book.generator(7)``;
    ``None``: ``device.generator(7)``, the same numbers on the CPU).
    """
    if generator is None:
        parts = _default_parts()
    else:
        parts = (scaling_curves(generator), _example_products(generator))

    def scaling(d_k: int, scaled: int) -> Figure:
        return scaling_figure(d_k, scaled, parts=parts)

    return Twin(scaling, [
        Param("d_k", "width d_k", D_K_GRID, lo=1, hi=_D_K_MAX, log=True, integer=True,
              default=64),
        Param("scaled", "divide by √d_k", choices=[(0, "off"), (1, "on")], default=0),
    ])


# ------------------------------------------------------------ static figures
def variance_figure(result: saturation.ScoreVariance) -> Figure:
    """Measured Var(q·k) against d_k (log–log) with ±2 standard errors, the line
    Var = d_k of Vaswani et al. (2017, footnote 4), and Var(q·k/√d_k) = 1."""
    d = result.d_k.tolist()
    var = result.variance.tolist()
    se = result.standard_error.tolist()
    lo, hi = math.log10(min(d)) - 0.2, math.log10(max(d)) + 0.2
    sk = plots.skeleton(
        alt=("Log-log plot of the measured variance of q·k against d_k: the points with "
             "error bars sit on the line variance = d_k; the variance of the scaled score "
             "q·k/sqrt(d_k) stays at 1."),
        height=440, margin={"t": 80},
        axes={"xaxis": {"title": "d_k (log scale)", "type": "log", "range": [lo, hi]},
              "yaxis": {"title": "variance (log scale)", "type": "log",
                        "range": [lo - 0.3, hi + 0.3]}},
        legend={"x": 0.02, "y": 0.98, "xanchor": "left", "yanchor": "top"},
    )
    data = [
        dict(type="scatter", x=[10**lo, 10**hi], y=[10**lo, 10**hi], mode="lines",
             name="Var(q·k) = d_k (theory)", line={"color": plots.COLORS["reference"]},
             hoverinfo="skip"),
        dict(type="scatter", x=d, y=rounded(var), mode="markers", name="measured Var(q·k)",
             marker={"color": plots.PALETTE[1], "size": 10},
             error_y={"type": "data", "array": rounded([2 * e for e in se]), "visible": True}),
        dict(type="scatter", x=d, y=rounded([v / k for v, k in zip(var, d, strict=True)]),
             mode="lines+markers", name="measured Var(q·k/√d_k)",
             line={"color": plots.PALETTE[0]}, marker={"size": 8}),
    ]
    return plots.assemble(sk, data, title=(f"Var(q·k) grows like d_k<br>{result.samples:,} "
                                           f"pairs per d_k; error bars ±2 standard errors"))


def scale_figure(rows: Sequence[measure.ScaleRow], where: str) -> Figure:
    """Measured peak memory (MB) and median time (ms) against T, log–log, per method."""
    Ts = sorted({r.T for r in rows})
    mem = [r.peak_bytes / 1e6 for r in rows]
    sec = [r.seconds * 1e3 for r in rows]

    def span(values: list[float]) -> list[float]:
        positive = [v for v in values if v > 0] or [1.0]
        return [math.log10(min(positive)) - 0.3, math.log10(max(positive)) + 0.3]

    xr = [math.log10(Ts[0]) - 0.15, math.log10(Ts[-1]) + 0.15]
    sk = plots.skeleton(
        alt=("Two log-log panels against the sequence length T: peak memory and time of "
             "naive attention (which stores the T by T score matrix), chunked attention "
             "with an online softmax, and PyTorch's fused kernel. Naive memory grows four "
             "times per doubling of T, chunked memory about twice, and the fused kernel's "
             "in uneven steps, more slowly than naive over the range."),
        height=440, cols=2, horizontal_spacing=0.14,
        axes={"xaxis": {"title": "T (log scale)", "type": "log", "range": xr},
              "yaxis": {"title": "peak memory (MB, log)", "type": "log", "range": span(mem)},
              "xaxis2": {"title": "T (log scale)", "type": "log", "range": xr},
              "yaxis2": {"title": "time per call (ms, log)", "type": "log",
                         "range": span(sec)}},
        legend={"x": 0.01, "y": 0.99, "xanchor": "left", "yanchor": "top"},
        margin={"t": 70},
    )
    data = []
    for c, method in enumerate(measure.SCALE_METHODS):
        mine = sorted((r for r in rows if r.method == method), key=lambda r: r.T)
        if not mine:
            continue
        style = {"color": plots.PALETTE[c]}
        x = [r.T for r in mine]
        data.append(dict(type="scatter", x=x, y=rounded([r.peak_bytes / 1e6 for r in mine]),
                         mode="lines+markers", name=method, line=style, xaxis="x", yaxis="y"))
        data.append(dict(type="scatter", x=x, y=rounded([r.seconds * 1e3 for r in mine]),
                         mode="lines+markers", name=method, line=style, showlegend=False,
                         xaxis="x2", yaxis="y2"))
    return plots.assemble(sk, data, title=f"Attention at scale, measured on {where}")



# ------------------------------------------------------------ drag the query
#: four keys a quarter turn apart, and a value for each in the four corners
DRAG_KEYS = ((2.0, 1.0), (-1.0, 2.0), (-2.0, -1.0), (1.0, -2.0))
DRAG_VALUES = ((3.5, 3.5), (-3.5, 3.5), (-3.5, -3.5), (3.5, -3.5))
_DRAG_LABELS = ("k₁", "k₂", "k₃", "k₄")
_DRAG_LIMIT = 4.5
_DRAG_VIEW = 4.9
_Q_COLOR, _O_COLOR = plots.PALETTE[1], plots.PALETTE[3]
_DRAG_SKELETON = plots.plane_skeleton(
    alt=("A plane with four keys (circles) a quarter turn apart and four values (squares) in "
         "the corners; the reader drags the query arrow q, and the dashed arrow o, the "
         "weighted mix of the values, follows. The scores and weights are listed below."),
    height=520, view=_DRAG_VIEW)


def _arrow_to(name: str, xy: Sequence[float], color: str, dash: bool = False) -> dict[str, Any]:
    """An arrow from the origin to ``xy`` labelled ``name``; its tail (ax, ay) is the tip."""
    return dict(x=0, y=0, xref="x", yref="y", ax=xy[0], ay=xy[1], axref="x", ayref="y",
                text=f"<b>{name}</b>", font={"size": 17, "color": color}, showarrow=True,
                arrowside="start", startarrowhead=2, startarrowsize=1.1,
                arrowwidth=2.5 if dash else 3.5, arrowcolor=color)


def query_readout_html(r: dict[str, list[float]]) -> str:
    """The readouts of :func:`dotbook.attention.query_readout` as the figure lists them."""
    rows = "".join(
        f'<tr><th scope="row">{name}</th><td>{s:+.3f}</td><td>{w:.3f}</td><td>'
        f'<span style="display:inline-block;height:0.8em;background:{_O_COLOR};'
        f'width:{100 * w:.1f}%"></span></td></tr>'
        for name, s, w in zip(_DRAG_LABELS, r["scores"], r["weights"], strict=True))
    return ('<table><thead><tr><th scope="col">key</th><th scope="col">score q·k/√2</th>'
            '<th scope="col">weight</th><th scope="col">share</th></tr></thead>'
            f'<tbody>{rows}</tbody></table><p>output o = Σ wⱼvⱼ = '
            f'({r["output"][0]:.3f}, {r["output"][1]:.3f})</p>')


def query_figure(q: tuple[float, float], temperature: float, *,
                 device: torch.device | str | None = None,
                 dtype: torch.dtype = torch.float64) -> Figure:
    """The keys, the values, the query q and the output o of
    :func:`dotbook.attention.query_readout` (computed on ``device``) in one plane."""
    place = dict(dtype=dtype, device=device)
    r = attention.query_readout(torch.tensor(q, **place), torch.tensor(DRAG_KEYS, **place),
                                torch.tensor(DRAG_VALUES, **place), temperature=temperature)
    kx, ky = zip(*DRAG_KEYS, strict=True)
    vx, vy = zip(*DRAG_VALUES, strict=True)
    data = [
        dict(type="scatter", x=list(kx), y=list(ky), mode="markers+text", name="keys",
             text=list(_DRAG_LABELS), textposition="bottom center", hoverinfo="skip",
             marker={"color": plots.PALETTE[0], "size": 12}, textfont={"size": 14}),
        dict(type="scatter", x=list(vx), y=list(vy), mode="markers+text", name="values",
             text=[f"v{c}" for c in "₁₂₃₄"], textposition="top center", hoverinfo="skip",
             marker={"color": _O_COLOR, "size": 12, "symbol": "square"},
             textfont={"size": 14}),
    ]
    fig = plots.assemble(_DRAG_SKELETON, data, title="Drag the query q",
                         annotations=[_arrow_to("q", q, _Q_COLOR),
                                      _arrow_to("o", r["output"], _O_COLOR, dash=True)])
    fig["layout"]["meta"] = {**fig["layout"]["meta"], "readout": query_readout_html(r)}
    return fig


def query_drag(device: torch.device | str | None = None,
               dtype: torch.dtype = torch.float64) -> Drag:
    """Chapter 7's draggable figure: the query q from (1.5, 0.5), a temperature control;
    the live face recomputes on ``device`` in ``dtype``."""
    def fn(q: tuple[float, float], temperature: float) -> Figure:
        return query_figure(q, temperature, device=device, dtype=dtype)

    return Drag(fn, {"q": (1.5, 0.5)}, kind="query", limit=_DRAG_LIMIT,
                params=(Param("temperature", "temperature τ", (0.1, 1.0, 10.0), lo=0.01,
                              hi=100.0, log=True, default=1.0),),
                extra={"keys": [list(k) for k in DRAG_KEYS],
                       "values": [list(v) for v in DRAG_VALUES], "labels": list(_DRAG_LABELS)},
                colors={"q": _Q_COLOR, "o": _O_COLOR})
