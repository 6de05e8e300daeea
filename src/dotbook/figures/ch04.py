"""Chapter 4 figures: the ladder from a Python loop to BLAS, and the roofline.

Every figure draws *measurements*, never measures: the chapter times the
reader's machine with :mod:`dotbook.compute` and passes the rows in; with no
rows a figure shows the stored reference measurements
(:func:`dotbook.roofline.reference`), labelled as such. So the static face in
the HTML book shows the reference machine, and a kernel shows the reader's.

- :func:`ladder_twin` — time of one dot product against n for every route
  (log–log), and the speed-ups over the Python loop at the chosen n;
- :func:`roofline_twin` — the device's two ceilings, with the dot product,
  a matrix–vector product and a square matmul of side N placed on them;
- :func:`complexity_figure` and :func:`matrix_figure` — static figures of
  the fitted slopes and of "many dot products" against one ``@``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from dotbook import compute, plots, roofline
from dotbook.compute import Fit
from dotbook.explore import Figure, Param, Twin
from dotbook.figures import register
from dotbook.measure import Measurement
from dotbook.roofline import Ceilings

__all__ = ["ROUTE_COLORS", "ladder_figure", "ladder_twin", "roofline_figure", "roofline_twin",
           "complexity_figure", "matrix_figure", "nearest"]

#: One colour per route, the same in every figure.
ROUTE_COLORS = {
    "Python loop": plots.PALETTE[1],
    "sum over zip": plots.PALETTE[4],
    "numpy.dot": plots.PALETTE[2],
    "torch.dot (cpu)": plots.PALETTE[0],
    "torch.dot (cuda)": plots.PALETTE[3],
    "torch.dot (mps)": plots.PALETTE[3],
}
_REF_DASH = "dot"
#: A log time axis labelled 1µs, 10µs, ... (decades only).
_TIME_AXIS = {"type": "log", "dtick": 1, "exponentformat": "SI", "ticksuffix": "s"}
_LEGEND = {"x": 0.01, "y": 0.99, "xanchor": "left", "yanchor": "top", "font": {"size": 11},
           "bgcolor": "rgba(255,255,255,0.75)"}


def _decades(values: Sequence[float], pad: float = 0.25) -> list[float]:
    """A fixed log10 axis range around ``values``."""
    logs = [math.log10(v) for v in values if v > 0 and math.isfinite(v)]
    lo, hi = math.floor(min(logs) - pad), math.ceil(max(logs) + pad)
    return [lo, hi if hi > lo else lo + 1]


def nearest(n: float, sizes: Sequence[int]) -> int:
    """The size in ``sizes`` nearest to ``n`` on a log scale.

    Examples::

        >>> nearest(400, (10, 100, 1000))
        1000
    """
    return min(sizes, key=lambda s: abs(math.log(s) - math.log(n)))


def _reference_rows(device_type: str = "cpu") -> tuple[list[Measurement], str]:
    ref = roofline.reference(device_type)
    return list(ref.rows), ref.label


def _series(rows: Sequence[Measurement], op: str = "dot") -> dict[str, list[Measurement]]:
    """Rows of ``op`` grouped by route label, each sorted by size."""
    out: dict[str, list[Measurement]] = {}
    for r in rows:
        if r.op == op:
            out.setdefault(r.label, []).append(r)
    return {k: sorted(v, key=lambda r: math.prod(r.shape)) for k, v in out.items()}


# ----------------------------------------------------------------- the ladder
def _ladder_parts(rows: Sequence[Measurement] | None) -> dict[str, Any]:
    """Everything about the ladder figure that does not move with the slider."""
    ref_rows, ref_label = _reference_rows()
    groups = []  # (tag, series): the reader's run first, then the reference
    if rows:
        groups.append(("this run", _series(rows)))
    groups.append(("reference", _series(ref_rows)))
    main = groups[0][1]
    loop_sizes = [r.shape[0] for r in main.get("Python loop", [])]
    if not loop_sizes:
        raise ValueError("the ladder figure needs Python-loop rows (measure.ladder makes them)")
    times = [r.seconds for _, s in groups for rs in s.values() for r in rs]
    sizes = [r.shape[0] for _, s in groups for rs in s.values() for r in rs]
    ups = [v for tag, s in groups for n in loop_sizes for v in _speedups_at(s, n).values()]
    labels = list(dict.fromkeys(label for _, s in groups for label in s))
    skeleton = plots.skeleton(
        alt=("Left: time of one dot product against its length n, on log–log axes, one line per "
             "route (Python loop, sum over zip, numpy.dot, torch.dot). Right: how many times "
             "faster each route is than the Python loop at the chosen n."),
        height=500, cols=2, column_widths=[0.58, 0.42], horizontal_spacing=0.14,
        axes={
            "xaxis": {"title": "vector length n", "type": "log", "range": _decades(sizes)},
            "yaxis": {"title": "time per dot product", "range": _decades(times), **_TIME_AXIS},
            "xaxis2": {"title": "route", "type": "category", "tickangle": -30},
            "yaxis2": {"title": "times faster than the Python loop", "type": "log",
                       "range": [min(-0.3, math.log10(min(ups, default=1.0)) - 0.2),
                                 _decades(ups + [10.0])[1]]},
        },
        legend=_LEGEND, margin={"t": 120, "b": 90, "l": 85}, barmode="group",
        title={"font": {"size": 15}},
    )
    return {"groups": groups, "loop_sizes": loop_sizes, "labels": labels,
            "skeleton": skeleton, "ref_label": ref_label}


def _speedups_at(series: dict[str, list[Measurement]], n: int) -> dict[str, float]:
    at = {label: next((r.seconds for r in rs if r.shape[0] == n), None)
          for label, rs in series.items()}
    base = at.get("Python loop")
    if base is None:
        return {}
    return {label: base / t for label, t in at.items() if t is not None}


def ladder_figure(n: float, *, parts: dict[str, Any]) -> Figure:
    """Left: seconds per dot product against n, every route; right: speed-ups over the
    Python loop at the measured n nearest to ``n``."""
    n = nearest(n, parts["loop_sizes"])
    data = []
    for tag, series in parts["groups"]:
        ref = tag == "reference"
        for label in parts["labels"]:
            rs = series.get(label, [])
            data.append(dict(
                type="scatter", x=[r.shape[0] for r in rs], y=[r.seconds for r in rs],
                mode="lines+markers", name=label, legendgroup=label,
                showlegend=tag == parts["groups"][0][0],
                line={"color": ROUTE_COLORS.get(label, plots.PALETTE[7]), "width": 1.5 if ref
                      else 2.5, "dash": _REF_DASH if ref else "solid"},
                marker={"size": 5 if ref else 8}, opacity=0.55 if ref else 1.0,
                hovertemplate="n = %{x}<br>%{y:.3s}s<extra>" + label + "</extra>"))
    times = [t for d in data for t in d["y"]]
    lo, hi = (min(times), max(times)) if times else (1e-7, 1.0)
    data.append(dict(type="scatter", x=[n, n], y=[lo / 2, hi * 2], mode="lines",
                     name=f"n = {n:,}", showlegend=False, hoverinfo="skip",
                     line={"color": "#888888", "width": 1, "dash": "dash"}))
    titles = []
    for k, (tag, series) in enumerate(parts["groups"]):
        ups = _speedups_at(series, n)
        data.append(dict(
            type="bar", x=parts["labels"], y=[ups.get(label) for label in parts["labels"]],
            name=f"speed-up ({tag})", xaxis="x2", yaxis="y2", showlegend=False,
            marker={"color": [ROUTE_COLORS.get(label, plots.PALETTE[7])
                              for label in parts["labels"]],
                    "opacity": 0.45 if tag == "reference" else 1.0,
                    "pattern": {"shape": "/" if tag == "reference" else ""}},
            text=[f"{ups[label]:.3g}×" if label in ups and k == 0 else ""
                  for label in parts["labels"]],
            textposition="outside", cliponaxis=False, hovertemplate="%{x}: %{y:.3g}×"))
        best = max(ups.values(), default=1.0)
        titles.append(f"{best:,.0f}×" if k == 0 else f"(reference: {best:,.0f}×)")
    where = ("dotted, hatched: " + parts["ref_label"] if len(parts["groups"]) > 1
             else parts["ref_label"])
    title = (f"n = {n:,}: the best route beats<br>the Python loop " + " ".join(titles)
             + f"<br><sup>{where}</sup>")
    return plots.assemble(parts["skeleton"], plots.rounded(data), title=title)


@register
def ladder_twin(rows: Sequence[Measurement] | None = None) -> Twin:
    """Chapter 4's ladder: a slider for n over the sizes where the Python loop was timed.

    Args:
        rows: the reader's :func:`dotbook.measure.ladder` (default: references only).
    """
    parts = _ladder_parts(rows)
    sizes = tuple(parts["loop_sizes"])

    def ladder(n: float) -> Figure:
        return ladder_figure(n, parts=parts)

    return Twin(ladder, [Param("n", "vector length n", sizes, log=True, integer=True,
                               default=sizes[-1], fmt=",")])


# ----------------------------------------------------------------- the roofline
_INTENSITY_RANGE = (-2.0, 4.0)  # log10 FLOP/byte: 0.01 … 10 000
_SIDES = (1, 4, 16, 64, 256, 1024, 4096)


def _roof(ceil: Ceilings, dtype: str) -> tuple[list[float], list[float]]:
    """The roofline min(peak, I·β) as a polyline in (FLOP/byte, FLOP/s)."""
    lo, hi = (10 ** v for v in _INTENSITY_RANGE)
    ridge = ceil.ridge(dtype)
    xs = [lo, ridge, hi] if lo < ridge < hi else [lo, hi]
    return xs, [ceil.attainable(x, dtype) for x in xs]


def _roofline_parts(ceil: Ceilings | None, rows: Sequence[Measurement] | None) -> dict[str, Any]:
    ref = roofline.reference("cpu")
    if ref.ceilings is None:
        raise ValueError("no reference ceilings are stored; pass measured ceilings")
    sets = []  # (tag, ceilings, rows)
    if ceil is not None:
        sets.append(("this run", ceil, list(rows or [])))
    sets.append(("reference", ref.ceilings, list(ref.rows)))
    rates = [c.peak for _, c, _ in sets] + [x * c.bandwidth for _, c, _ in sets
                                             for x in (10 ** _INTENSITY_RANGE[0],)]
    skeleton = plots.skeleton(
        alt=("A roofline: attainable FLOP per second against arithmetic intensity (FLOP per "
             "byte), log–log. A slanted line (memory bandwidth) meets flat lines (peak "
             "arithmetic in float32 and in the fast dtype). The dot product sits far left, "
             "under the slanted roof; a large matrix product sits right, under the flat one; "
             "the slider moves a square matrix product of side N between them."),
        height=500,
        axes={"xaxis": {"title": "arithmetic intensity (FLOP per byte moved)", "type": "log",
                        "range": list(_INTENSITY_RANGE), "dtick": 1},
              "yaxis": {"title": "FLOP per second", "type": "log", "dtick": 1,
                        "range": _decades(rates, pad=0.3), "exponentformat": "SI"}},
        legend={**_LEGEND, "x": 0.99, "xanchor": "right", "y": 0.02, "yanchor": "bottom"},
        margin={"t": 120, "l": 75}, title={"font": {"size": 15}},
    )
    return {"sets": sets, "skeleton": skeleton, "ref_label": ref.label}


def roofline_figure(side: float, *, parts: dict[str, Any]) -> Figure:
    """The roofline(s), the measured points, and a float32 square matmul of side ``side``."""
    side = max(1, int(round(side)))
    data = []
    head = parts["sets"][0]
    for tag, ceil, rows in parts["sets"]:
        ref = tag == "reference"
        style = {"dash": _REF_DASH if ref else "solid", "width": 1.5 if ref else 3}
        for k, m in enumerate(ceil.matmul):
            xs, ys = _roof(ceil, m.dtype)
            data.append(dict(type="scatter", x=xs, y=ys, mode="lines",
                             name=f"roof, {m.dtype} ({tag})", hoverinfo="skip",
                             line={**style, "color": plots.PALETTE[7 if k == 0 else 5]}))
        # measured points: the ceilings' matmuls, the dot product and W @ x at their largest size
        pts = [(m.intensity, m.best_flop_rate, f"A @ B {m.shape[0]}, {m.dtype}")
               for m in ceil.matmul]
        for op, label in (("dot", "torch.dot"), ("matvec", "W @ x")):
            fast = [r for r in rows if r.op == op and r.method == "torch"
                    and r.device == ceil.device]
            if fast:
                big = max(fast, key=lambda r: math.prod(r.shape))
                size = "×".join(map(str, big.shape))
                pts.append((big.intensity, big.flop_rate, f"{label} {size}"))
        data.append(dict(type="scatter", x=[p[0] for p in pts], y=[p[1] for p in pts],
                         mode="markers", name=f"measured ({tag})", text=[p[2] for p in pts],
                         marker={"size": 8 if ref else 11, "symbol": "diamond",
                                 "color": plots.PALETTE[1], "opacity": 0.5 if ref else 1.0},
                         hovertemplate="%{text}<br>I = %{x:.3g} FLOP/B<br>%{y:.3s}FLOP/s"
                                       "<extra></extra>"))
    _, ceil, _ = head
    flops, nbytes = compute.work("matmul", (side, side, side))
    i_mm = flops / nbytes
    i_dot = compute.intensity(*compute.work("dot", (10**6,)))
    at = ceil.attainable(i_mm, "float32")
    bound = "memory-bound" if i_mm < ceil.ridge("float32") else "compute-bound"
    data.append(dict(type="scatter", x=[i_dot, i_mm], y=[ceil.attainable(i_dot, "float32"), at],
                     mode="markers+text", name="roofline prediction (float32)",
                     text=["dot", f"N = {side}"], textposition="top center",
                     marker={"size": 13, "color": plots.PALETTE[0], "line": {"color": "white",
                                                                             "width": 1.5}},
                     cliponaxis=False, hoverinfo="skip"))
    where = (parts["ref_label"] if len(parts["sets"]) == 1
             else f"solid: this run; dotted: {parts['ref_label']}")
    title = (f"float32 matmul, N = {side:,}: I = N/6 = {i_mm:.3g} FLOP/byte, {bound}<br>"
             f"(ridge at {ceil.ridge('float32'):.3g}); the roof allows {at / 1e9:,.3g} GFLOP/s"
             f"<br><sup>{where}</sup>")
    return plots.assemble(parts["skeleton"], plots.rounded(data), title=title)


@register
def roofline_twin(ceil: Ceilings | None = None,
                  rows: Sequence[Measurement] | None = None) -> Twin:
    """Chapter 4's roofline: a slider for the side N of a float32 square matmul.

    Args:
        ceil: the reader's :func:`dotbook.roofline.ceilings` (default: references only).
        rows: the reader's ladder rows, to place the dot product and W @ x.
    """
    parts = _roofline_parts(ceil, rows)

    def roofline(side: float) -> Figure:
        return roofline_figure(side, parts=parts)

    return Twin(roofline, [Param("side", "matrix side N (A, B are N × N)", _SIDES, lo=1,
                                 hi=16384, log=True, integer=True, default=16, fmt=",")])


# ----------------------------------------------------------------- static figures
def complexity_figure(series: dict[str, tuple[Sequence[float], Sequence[float], Fit | None]],
                      *, overhead: float, title: str) -> Figure:
    """Time against multiply–adds per call, log–log, with fitted power laws.

    Args:
        series: ``{label: (work, seconds, fit or None)}``; ``work`` is n for a
            dot product and m·n for W @ x.
        overhead: the per-call floor, seconds (a dashed line).
        title: the figure's title.
    """
    data, xs_all, ys_all = [], [], []
    for k, (label, (xs, ys, fit)) in enumerate(series.items()):
        color = plots.PALETTE[(0, 2, 3, 1, 4)[k % 5]]
        data.append(dict(type="scatter", x=list(xs), y=list(ys), mode="markers", name=label,
                         marker={"color": color, "size": 9}))
        xs_all += list(xs)
        ys_all += list(ys)
        if fit is not None:  # drawn where the power law lies above the per-call floor
            start = (overhead / fit.coefficient) ** (1 / fit.slope) if fit.slope > 0 else 0.0
            fx = [max(min(xs), start), max(xs)]
            data.append(dict(type="scatter", x=fx, y=[fit(x) for x in fx], mode="lines",
                             name=f"fit: slope {fit.slope:.2f}", line={"color": color}))
    data.append(dict(type="scatter", x=[min(xs_all), max(xs_all)], y=[overhead, overhead],
                     mode="lines", name=f"one call's overhead ≈ {overhead * 1e6:.2g} µs",
                     line={"color": "#777777", "dash": "dash"}))
    skeleton = plots.skeleton(
        alt=("Log–log plot of time per call against the number of multiply–adds: flat at the "
             "per-call overhead for small sizes, then a straight line of slope about 1."),
        height=460,
        axes={"xaxis": {"title": "multiply–adds per call (n, or m·n for W @ x)", "type": "log",
                        "range": _decades(xs_all)},
              "yaxis": {"title": "time per call", "range": _decades(ys_all + [overhead]),
                        **_TIME_AXIS}},
        legend=_LEGEND, margin={"l": 85},
    )
    return plots.assemble(skeleton, plots.rounded(data), title=title)


def matrix_figure(rows: Sequence[Measurement], *, title: str) -> Figure:
    """Two panels, W @ x and A @ B: time against the side N for a loop of ``torch.dot``
    and for one ``@``."""
    data, times, sides = [], [], []
    for col, op in ((1, "matvec"), (2, "matmul")):
        axis = "" if col == 1 else "2"
        for label, rs in _series(rows, op).items():
            loop = label.startswith("loop")
            data.append(dict(type="scatter", x=[r.shape[0] for r in rs],
                             y=[r.seconds for r in rs], mode="lines+markers", name=label,
                             legendgroup=label, showlegend=col == 1,
                             xaxis=f"x{axis}", yaxis=f"y{axis}",
                             line={"color": plots.PALETTE[1 if loop else 0],
                                   "dash": "dash" if loop else "solid"}))
            times += [r.seconds for r in rs]
            sides += [r.shape[0] for r in rs]
    for d in data:
        d["name"] = d["name"].replace("W @ x", "one @").replace("A @ B", "one @")
    skeleton = plots.skeleton(
        alt=("Two log–log panels, matrix–vector and matrix–matrix products: time against the "
             "matrix side N for a Python loop of torch.dot calls and for a single @. For A @ B "
             "the loop is slower by a factor that grows with N; for W @ x the factor is largest "
             "at middle sizes and shrinks once both routes wait on memory."),
        height=440, cols=2, subplot_titles=["W @ x, W is N × N", "A @ B, both N × N"],
        horizontal_spacing=0.16,
        axes={"xaxis": {"title": "side N", "type": "log", "range": _decades(sides)},
              "yaxis": {"title": "time per product", "range": _decades(times), **_TIME_AXIS},
              "xaxis2": {"title": "side N", "type": "log", "range": _decades(sides)},
              "yaxis2": {"title": "time per product", "range": _decades(times), **_TIME_AXIS}},
        # the right panel's lower right stays empty (A @ B is timed on small N only)
        legend={**_LEGEND, "x": 0.99, "xanchor": "right", "y": 0.5, "yanchor": "middle"},
        margin={"t": 90, "l": 85},
    )
    return plots.assemble(skeleton, plots.rounded(data), title=title)
