"""Chapter 2 figures: the cosine of random directions concentrates at 0.

Every figure that draws takes the chapter's generator (``book.generator(k)``;
``device.generator(0)`` when none is given) and draws from a *copy* of its
state, so a figure is a pure function of its arguments: the static book and a
fresh kernel show the same samples, and changing the chapter's seed changes them.
Histograms are binned here and drawn as
filled step lines (a few hundred numbers per frame, not the raw samples); the
static face rounds every number it sends to the page.

The statistics themselves (sample std with its standard error, sampled tail
probabilities with theirs) live in :mod:`dotbook.highdim`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch

from dotbook import highdim, plots
from dotbook.device import generator as seeded
from dotbook.explore import Figure, Param, Twin
from dotbook.figures import register

__all__ = [
    "EPS_GRID",
    "LIVE_SAMPLES",
    "N_GRID",
    "histogram_figure",
    "histogram_twin",
    "max_cosine_figure",
    "std_figure",
    "tail_figure",
    "tail_twin",
]

#: Samples per histogram or per tail estimate: fast enough for a live slider.
LIVE_SAMPLES = 20_000
#: The static grid of dimensions (log-spaced, 2 … 10 000).
N_GRID = (2, 3, 5, 10, 30, 100, 300, 1000, 3000, 10_000)
#: The static grid of thresholds ε.
EPS_GRID = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)

_LEFT_BINS = 80  # bins on [-h, h], h = min(1, 6/√n): narrow enough to follow the spike
_ZOOM = 4.5  # the right panel shows √n·cosθ on [-4.5, 4.5]
_ZOOM_BINS = 45  # bins of width 0.2
_ZOOM_YMAX = 0.8
_TAIL_FLOOR = 1e-6  # lower end of the log y axis of the tail figure
_DECADES = ["1", "0.1", "10⁻²", "10⁻³", "10⁻⁴", "10⁻⁵", "10⁻⁶"]


def _steps(centres: torch.Tensor, heights: torch.Tensor, width: float) -> dict[str, list]:
    """A histogram as a step line (``shape="hvh"``): the bin centres plus both outer edges."""
    x = [float(centres[0]) - width / 2, *centres.tolist(), float(centres[-1]) + width / 2]
    y = [float(heights[0]), *heights.tolist(), float(heights[-1])]
    return {"x": x, "y": y}


def _grid(n: int) -> torch.Tensor:
    """Points on (-1, 1) for the density curves: even, plus dense where the mass is
    (about 200 in all: at 500 px a panel cannot show more)."""
    sigma = 1 / math.sqrt(n)
    wide = torch.linspace(-0.999, 0.999, 121, dtype=torch.float64)
    near = torch.linspace(-6 * sigma, 6 * sigma, 81, dtype=torch.float64).clamp(-0.999, 0.999)
    return torch.unique(torch.cat([wide, near]))  # sorted


# ------------------------------------------------------------------ histogram
@functools.cache
def _histogram_skeleton() -> Figure:
    return plots.skeleton(
        alt=("Histogram of the cosine of the angle between two random directions in n "
             "dimensions, with the exact density and the normal approximation drawn over "
             "it; as n grows the histogram narrows to a spike at 0 of width 1/√n."),
        height=480, cols=2, column_widths=[0.5, 0.5], horizontal_spacing=0.1,
        axes={
            "xaxis": {"title": "cos θ", "range": [-1.02, 1.02]},
            "yaxis": {"title": "density", "range": [0, 1]},  # per n, see histogram_figure
            "xaxis2": {"title": "√n · cos θ  (rescaled)", "range": [-_ZOOM, _ZOOM]},
            "yaxis2": {"title": "density of √n · cos θ", "range": [0, _ZOOM_YMAX]},
        },
        # top right of the zoomed panel is empty for every n; below the plot is the slider
        legend={"x": 1, "xanchor": "right", "y": 1, "yanchor": "top"},
    )


_U = torch.linspace(-_ZOOM, _ZOOM, 121, dtype=torch.float64)  # (121,) right panel's axis
_U_LIST = _U.tolist()
_NORMAL_S = (torch.exp(-0.5 * _U * _U) / math.sqrt(2 * math.pi)).tolist()  # N(0, 1) density
_BARS = dict(type="scatter", mode="lines", fill="tozeroy", fillcolor="rgba(86, 180, 233, 0.55)",
             legendgroup="hist", line=dict(color=plots.COLORS["sample"], width=1, shape="hvh"))
_EXACT = dict(type="scatter", mode="lines", legendgroup="exact",
              line=dict(color=plots.COLORS["exact"], width=2.5))
_NORMAL = dict(type="scatter", mode="lines", legendgroup="normal",
               line=dict(color=plots.COLORS["approx"], width=2, dash="dash"))
_RIGHT = dict(xaxis="x2", yaxis="y2", showlegend=False)


def _copy(generator: torch.Generator | None) -> torch.Generator:
    """A fresh generator in ``generator``'s state (``device.generator(0)`` for ``None``):
    drawing from it leaves ``generator`` alone, so equal calls give equal figures."""
    if generator is None:
        return seeded(0)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got "
                        f"{type(generator).__name__}; pass book.generator(k)")
    copy = torch.Generator(device=generator.device)
    copy.set_state(generator.get_state())
    return copy


def histogram_figure(n: int, num: int = LIVE_SAMPLES, *,
                     generator: torch.Generator | None = None) -> Figure:
    """Left: a histogram of ``num`` sampled cosθ in dimension ``n`` on the full
    axis [-1, 1] (80 bins spanning ±min(1, 6/√n), so they resolve the spike),
    with the exact density and N(0, 1/n). Right: the same samples times √n,
    where the exact law tends to the standard normal. Axis ranges are fixed
    for each n, as static frames require."""
    c = highdim.cosine_samples(num, n, generator=_copy(generator)).cpu()  # (num,)
    sd = float(c.std())
    root_n = math.sqrt(n)

    # left panel: cos θ itself
    half = min(1.0, 6 / root_n)  # beyond 6 standard deviations there is (almost) nothing
    centres, heights, width = plots.density_histogram(c, -half, half, _LEFT_BINS)
    t = _grid(n)  # (P,)
    exact = highdim.cosine_density(t, n)  # (P,)
    normal = highdim.normal_density(t, n)  # (P,)
    peak = max(float(heights.max()), math.sqrt(n / (2 * math.pi)))
    if n >= 3:  # the exact density peaks at 0 (n = 2: at ±1, where it is infinite)
        peak = max(peak, float(highdim.cosine_density(torch.zeros(1, dtype=torch.float64), n)))

    # right panel: √n·cos θ
    zc, zh, zw = plots.density_histogram(c * root_n, -_ZOOM, _ZOOM, _ZOOM_BINS)
    exact_s = highdim.cosine_density(_U / root_n, n) / root_n  # density of √n·cos θ
    exact_s = exact_s.clamp_max(10 * _ZOOM_YMAX)  # n = 2: infinite at ±√2

    t_list = t.tolist()
    data = [
        dict(_BARS, **_steps(centres, heights, width), name="sampled (histogram)",
             hovertemplate="cos θ ≈ %{x}<br>density %{y}<extra></extra>"),
        dict(_EXACT, x=t_list, y=exact.tolist(), name="exact density f_n"),
        dict(_NORMAL, x=t_list, y=normal.tolist(), name="normal N(0, 1/n)"),
        dict(_BARS, **_steps(zc, zh, zw), name="sampled (histogram)",
             hovertemplate="√n cos θ ≈ %{x}<br>density %{y}<extra></extra>", **_RIGHT),
        dict(_EXACT, x=_U_LIST, y=exact_s.tolist(), name="exact density f_n", **_RIGHT),
        dict(_NORMAL, x=_U_LIST, y=_NORMAL_S, name="normal N(0, 1/n)", **_RIGHT),
    ]
    title = f"n = {n}:  sample std of cos θ = {sd:.4f},  exact 1/√n = {1 / root_n:.4f}"
    return plots.assemble(_histogram_skeleton(), data, title=title,
                          yaxis={"range": [0, plots.rounded(1.12 * peak)]})


@register
def histogram_twin(generator: torch.Generator | None = None) -> Twin:
    """Slider over the dimension n, log scale, 2 … 10 000; samples from ``generator``."""
    def figure(n: int) -> Figure:
        return histogram_figure(n, generator=generator)

    return Twin(figure, [
        Param("n", "dimension n", N_GRID, lo=2, hi=10_000, log=True, integer=True,
              default=10, fmt="d"),
    ])


# ----------------------------------------------------------------- tail vs n
@functools.cache
def _tail_skeleton() -> Figure:
    return plots.skeleton(
        alt=("Probability that two random directions have |cos θ| above ε, against the "
             "dimension n on logarithmic axes: the exact curve, sampled points with error "
             "bars, the normal approximation and an exponential upper bound; all fall "
             "steeply once n exceeds about 1/ε²."),
        height=470,
        axes={
            "xaxis": {"title": "dimension n (log scale)", "type": "log",
                      "range": [math.log10(1.7), math.log10(12_000)]},
            "yaxis": {"title": "P(|cos θ| > ε) (log scale)", "type": "log",
                      "range": [math.log10(_TAIL_FLOOR), math.log10(2.0)],
                      "tickvals": [10.0**-k for k in range(7)], "ticktext": _DECADES},
        },
        # small n and tiny probabilities never meet: the bottom left stays empty
        legend={"x": 0.01, "xanchor": "left", "y": 0.02, "yanchor": "bottom"},
    )


@functools.cache
def _log_ns(count: int = 60) -> tuple[int, ...]:
    grid = torch.logspace(math.log10(2), 4, count, dtype=torch.float64).round().long()
    return tuple(sorted(set(grid.tolist())))


def _gaps(ps: list[float]) -> list[float | None]:
    """Probabilities far below the axis become gaps (a log axis has no 0)."""
    return [p if p >= 1e-3 * _TAIL_FLOOR else None for p in ps]


@functools.lru_cache(maxsize=4)
def _tail_samples(num: int, device: str, state: bytes) -> tuple[torch.Tensor, ...]:
    """``num`` cosines for each n in N_GRID, drawn in turn from a generator in ``state``."""
    g = torch.Generator(device=device)
    g.set_state(torch.frombuffer(bytearray(state), dtype=torch.uint8))
    return tuple(highdim.cosine_samples(num, n, generator=g).cpu() for n in N_GRID)


def tail_figure(eps: float, num: int = LIVE_SAMPLES, *,
                generator: torch.Generator | None = None) -> Figure:
    """P(|cos θ| > ε) against n on log–log axes: exact, sampled (±2 standard
    errors, as :func:`dotbook.highdim.sampled_tails` gives them), the normal
    approximation and the bound 2·exp(-nε²/2)."""
    ns = list(_log_ns())
    exact = [highdim.tail_probability(eps, n) for n in ns]
    normal = [highdim.normal_tail_probability(eps, n) for n in ns]
    bound = [highdim.tail_bound(eps, n) for n in ns]
    # the same draws as highdim.sampled_tails(eps, N_GRID, num, generator=generator),
    # made once per generator state: only the threshold moves
    g = _copy(generator)
    samples = _tail_samples(num, str(g.device), g.get_state().numpy().tobytes())
    estimates = [highdim.tail_estimate(c, eps) for c in samples]
    # a zero has no place on a log axis; error bars stop just above 0
    sampled = [p if p > 0 else None for p, _ in estimates]
    lower = [min(2 * se, 0.999 * p) if p > 0 else None for p, se in estimates]
    upper = [2 * se if p > 0 else None for p, se in estimates]
    at = {n: highdim.tail_probability(eps, n) for n in (100, 1000)}
    data = [
        dict(type="scatter", x=ns, y=_gaps(bound), mode="lines", name="bound 2·exp(−nε²/2)",
             line=dict(color=plots.COLORS["reference"], width=1.5, dash="dot")),
        dict(type="scatter", x=ns, y=_gaps(normal), mode="lines", name="normal N(0, 1/n)",
             line=dict(color=plots.COLORS["approx"], width=2, dash="dash")),
        dict(type="scatter", x=ns, y=_gaps(exact), mode="lines", name="exact",
             line=dict(color=plots.COLORS["exact"], width=2.5)),
        dict(type="scatter", x=list(N_GRID), y=sampled, mode="markers",
             name=f"sampled ({num:,} pairs each)",
             marker=dict(color=plots.COLORS["a"], size=9, symbol="circle"),
             error_y=dict(type="data", symmetric=False, array=upper, arrayminus=lower,
                          color=plots.COLORS["a"], thickness=1.5, width=4)),
    ]
    title = (f"ε = {eps:.3g}:  P(|cos θ| > ε) = {at[100]:.3g} at n = 100, "
             f"{at[1000]:.3g} at n = 1000")
    return plots.assemble(_tail_skeleton(), data, title=title)


@register
def tail_twin(generator: torch.Generator | None = None) -> Twin:
    """Slider over the threshold ε, log scale; samples from ``generator``."""
    def figure(eps: float) -> Figure:
        return tail_figure(eps, generator=generator)

    return Twin(figure, [
        Param("eps", "threshold ε", EPS_GRID, lo=0.005, hi=0.9, log=True, default=0.1),
    ])


# ----------------------------------------------------------------- std · √n
@functools.cache
def _std_skeleton() -> Figure:
    return plots.skeleton(
        alt=("Sampled standard deviation of cos θ times √n against n on a log axis, with "
             "error bars; every point sits on the horizontal line at 1."),
        height=380,
        axes={"xaxis": {"title": "dimension n (log scale)", "type": "log",
                        "range": [0, 4.3]},  # per call: the rows' dimensions
              "yaxis": {"title": "√n · std(cos θ)", "range": [0.95, 1.05]}},
        legend={"orientation": "h", "y": -0.3, "x": 0},
    )


def std_figure(rows: Sequence[dict[str, float]]) -> Figure:
    """√n · std(cos θ) against n (rows of :func:`dotbook.highdim.std_table`),
    sampled with ±2 standard errors, and the exact value 1."""
    ns = [r["n"] for r in rows]
    lo, hi = math.log10(min(ns)), math.log10(max(ns))
    pad = 0.08 * max(hi - lo, 1.0)
    data = [
        dict(type="scatter", x=[min(ns), max(ns)], y=[1.0, 1.0], mode="lines",
             name="exact: std = 1/√n", line=dict(color=plots.COLORS["exact"], width=2.5)),
        dict(type="scatter", x=ns, y=plots.rounded([r["scaled_std"] for r in rows], 5),
             mode="markers", name="sampled (± 2 standard errors)",
             marker=dict(color=plots.COLORS["a"], size=9),
             error_y=dict(type="data", array=plots.rounded([2 * r["scaled_se"] for r in rows]),
                          color=plots.COLORS["a"])),
    ]
    return plots.assemble(_std_skeleton(), data, title="√n · std(cos θ) is 1 in every dimension",
                          xaxis={"range": [lo - pad, hi + pad]})


# ---------------------------------------------------------------- many vectors
@functools.cache
def _max_cosine_skeleton(m_max: int) -> Figure:
    return plots.skeleton(
        alt=("Largest absolute cosine among all pairs of m random directions, against m on "
             "a log axis, for several dimensions n, with dashed union-bound ceilings; in "
             "high dimension it stays small even when m is larger than n."),
        height=460,
        axes={"xaxis": {"title": "number of directions m (log scale)", "type": "log",
                        "range": [math.log10(1.8), math.log10(m_max * 1.15)]},
              "yaxis": {"title": "largest pairwise |cos θ|", "range": [0, 1.02]}},
        legend={"orientation": "h", "y": -0.22, "x": 0},
    )


def max_cosine_figure(ns: Sequence[int] = (10, 100, 1000), m_max: int = 2000,
                      delta: float = 0.05, device: torch.device | str | None = None, *,
                      generator: torch.Generator | None = None) -> Figure:
    """The largest pairwise |cos θ| among the first m of ``m_max`` random
    directions, against m, for each n (drawn in turn from a copy of ``generator``,
    on its device); dashed: the union-bound ceiling that holds with probability 1 − δ."""
    g = _copy(generator)
    ms = sorted({round(x) for x in torch.logspace(math.log10(2), math.log10(m_max), 40,
                                                  dtype=torch.float64).tolist()})
    data, shapes = [], []
    for k, n in enumerate(ns):
        color = plots.PALETTE[k % len(plots.PALETTE)]
        u = highdim.random_directions(m_max, n, generator=g, device=g.device,
                                      dtype=torch.float32)  # (m_max, n)
        running = highdim.running_max_abs_cosine(u).cpu()  # (m_max,)
        data.append(dict(type="scatter", x=ms, y=plots.rounded([float(running[m - 1])
                                                               for m in ms]),
                         mode="lines+markers", name=f"sampled, n = {n}",
                         line=dict(color=color, width=2), marker=dict(size=5)))
        data.append(dict(type="scatter", x=ms,
                         y=plots.rounded([highdim.union_bound_epsilon(m, n, delta) for m in ms]),
                         mode="lines", name=f"ceiling (prob. ≥ {1 - delta:g}), n = {n}",
                         line=dict(color=color, width=1.5, dash="dash")))
        if n <= m_max:  # a dotted vertical at m = n
            shapes.append(dict(type="line", xref="x", yref="paper", x0=n, x1=n, y0=0, y1=1,
                               line=dict(color=color, width=1, dash="dot")))
    return plots.assemble(_max_cosine_skeleton(m_max), data,
                          title="The largest |cos θ| among m random directions", shapes=shapes)
