"""Chapter 2 figures: the cosine of random directions concentrates at 0.

Every figure draws with its own seeded CPU generator, so the static book and
a fresh kernel show the same samples. Histograms are binned here and drawn as
bars (a few hundred numbers per frame, not the raw samples), and every number
sent to the page is rounded to four significant digits.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence

import plotly.graph_objects as go
import torch

from dotbook import highdim, plots
from dotbook.device import generator
from dotbook.explore import Param, Twin
from dotbook.plots import rounded

__all__ = [
    "EPS_GRID",
    "LIVE_SAMPLES",
    "N_GRID",
    "SEED",
    "histogram_figure",
    "histogram_twin",
    "max_cosine_figure",
    "std_figure",
    "std_table",
    "tail_figure",
    "tail_twin",
]

#: The chapter's seed: every figure draws from ``generator(SEED + k)``.
SEED = 2
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


def _density_histogram(x: torch.Tensor, lo: float, hi: float, bins: int
                       ) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Bar centres, heights normalised to a density (area 1 over all samples), width."""
    counts = torch.histc(x, bins=bins, min=lo, max=hi)  # (bins,)
    width = (hi - lo) / bins
    centres = lo + width * (torch.arange(bins, dtype=torch.float64) + 0.5)  # (bins,)
    return centres, counts.double() / (x.numel() * width), width


def _steps(centres: torch.Tensor, heights: torch.Tensor, width: float) -> dict[str, list]:
    """A histogram as a step line (``shape="hvh"``): the bin centres plus both outer edges."""
    x = [float(centres[0]) - width / 2, *centres.tolist(), float(centres[-1]) + width / 2]
    y = [float(heights[0]), *heights.tolist(), float(heights[-1])]
    return {"x": rounded(x), "y": rounded(y)}


def _grid(n: int) -> torch.Tensor:
    """Points on (-1, 1) for the density curves: even, plus dense where the mass is."""
    sigma = 1 / math.sqrt(n)
    wide = torch.linspace(-0.999, 0.999, 201, dtype=torch.float64)
    near = torch.linspace(-6 * sigma, 6 * sigma, 121, dtype=torch.float64).clamp(-0.999, 0.999)
    return torch.unique(torch.cat([wide, near]))  # sorted


# ------------------------------------------------------- fast figure assembly
# A live slider rebuilds its figure on every move. Building through plotly's
# validating constructors costs ~40 ms per figure here, so the two slider
# figures are assembled as plain dicts on a layout skeleton made once by
# plots.figure (same look, labels, alt text) and wrapped without
# re-validation; the tests re-validate them with go.Figure(fig.to_plotly_json()).
def _merge(dst: dict, src: dict) -> dict:
    for key, value in src.items():
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            _merge(dst[key], value)
        else:
            dst[key] = value
    return dst


@functools.cache
def _skeleton(xaxis: str, yaxis: str, alt: str, height: int) -> str:
    layout = plots.figure(title="(title)", xaxis=xaxis, yaxis=yaxis, alt=alt,
                          height=height).to_plotly_json()["layout"]
    return json.dumps(layout)


def _assemble(title: str, skeleton: str, layout: dict, traces: list[dict]) -> go.Figure:
    full = _merge(json.loads(skeleton), layout)
    full["title"]["text"] = title
    return go.Figure(data=traces, layout=full, _validate=False)


# ------------------------------------------------------------------ histogram
_HIST_AXES = ("cos θ of two random directions", "density",
              ("Histogram of the cosine of the angle between two random directions in n "
               "dimensions, with the exact density and the normal approximation drawn over "
               "it; as n grows the histogram narrows to a spike at 0 of width 1/√n."), 480)


def histogram_figure(n: int, num: int = LIVE_SAMPLES) -> go.Figure:
    """Left: a histogram of ``num`` sampled cosθ in dimension ``n`` on the full
    axis [-1, 1] (80 bins spanning ±min(1, 6/√n), so they resolve the spike),
    with the exact density and N(0, 1/n). Right: the same samples times √n,
    where the exact law tends to the standard normal. Axis ranges are fixed
    for each n, as static frames require."""
    c = highdim.cosine_samples(num, n, generator=generator(SEED))  # (num,)
    sd = float(c.std())
    root_n = math.sqrt(n)

    # left panel: cos θ itself
    half = min(1.0, 6 / root_n)  # beyond 6 standard deviations there is (almost) nothing
    centres, heights, width = _density_histogram(c, -half, half, _LEFT_BINS)
    t = _grid(n)  # (P,)
    exact = highdim.cosine_density(t, n)  # (P,)
    normal = highdim.normal_density(t, n)  # (P,)
    peak = max(float(heights.max()), math.sqrt(n / (2 * math.pi)))
    if n >= 3:  # the exact density peaks at 0 (n = 2: at ±1, where it is infinite)
        peak = max(peak, float(highdim.cosine_density(torch.zeros(1, dtype=torch.float64), n)))

    # right panel: √n·cos θ
    zc, zh, zw = _density_histogram(c * root_n, -_ZOOM, _ZOOM, _ZOOM_BINS)
    u = torch.linspace(-_ZOOM, _ZOOM, 181, dtype=torch.float64)  # (181,)
    exact_s = highdim.cosine_density(u / root_n, n) / root_n  # density of √n·cos θ
    exact_s = exact_s.clamp_max(10 * _ZOOM_YMAX)  # n = 2: infinite at ±√2
    normal_s = torch.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)

    # a filled step outline draws far faster than bars when a slider swaps frames
    bars = dict(type="scatter", mode="lines", line=dict(color=plots.COLORS["sample"], width=1,
                                                        shape="hvh"),
                fill="tozeroy", fillcolor="rgba(86, 180, 233, 0.55)", legendgroup="hist")
    exact_line = dict(type="scatter", mode="lines", legendgroup="exact",
                      line=dict(color=plots.COLORS["exact"], width=2.5))
    normal_line = dict(type="scatter", mode="lines", legendgroup="normal",
                       line=dict(color=plots.COLORS["approx"], width=2, dash="dash"))
    right = dict(xaxis="x2", yaxis="y2", showlegend=False)
    traces = [
        dict(bars, **_steps(centres, heights, width), name="sampled (histogram)",
             hovertemplate="cos θ ≈ %{x}<br>density %{y}<extra></extra>"),
        dict(exact_line, x=rounded(t), y=rounded(exact), name="exact density f_n"),
        dict(normal_line, x=rounded(t), y=rounded(normal), name="normal N(0, 1/n)"),
        dict(bars, **_steps(zc, zh, zw), name="sampled (histogram)",
             hovertemplate="√n cos θ ≈ %{x}<br>density %{y}<extra></extra>", **right),
        dict(exact_line, x=rounded(u), y=rounded(exact_s), name="exact density f_n", **right),
        dict(normal_line, x=rounded(u), y=rounded(normal_s), name="normal N(0, 1/n)", **right),
    ]
    layout = dict(
        # top right of the zoomed panel is empty for every n; below the plot is the slider
        legend=dict(x=1, xanchor="right", y=1, yanchor="top"),
        xaxis=dict(domain=[0, 0.46], range=[-1.02, 1.02]),
        yaxis=dict(range=[0, rounded([1.12 * peak])[0]]),
        xaxis2=dict(domain=[0.56, 1], range=[-_ZOOM, _ZOOM], anchor="y2",
                    title=dict(text="√n · cos θ  (rescaled)")),
        yaxis2=dict(anchor="x2", range=[0, _ZOOM_YMAX],
                    title=dict(text="density of √n · cos θ")),
    )
    title = f"n = {n}:  sample std of cos θ = {sd:.4f},  exact 1/√n = {1 / root_n:.4f}"
    return _assemble(title, _skeleton(*_HIST_AXES), layout, traces)


def histogram_twin() -> Twin:
    """Slider over the dimension n, log scale, 2 … 10 000."""
    return Twin(histogram_figure, [
        Param("n", "dimension n", N_GRID, lo=2, hi=10_000, log=True, integer=True,
              default=10, fmt="d"),
    ])


# ----------------------------------------------------------------- tail vs n
_TAIL_AXES = ("dimension n (log scale)", "P(|cos θ| > ε) (log scale)",
              ("Probability that two random directions have |cos θ| above ε, against the "
               "dimension n on logarithmic axes: the exact curve, sampled points with error "
               "bars, the normal approximation and an exponential upper bound; all fall "
               "steeply once n exceeds about 1/ε²."), 470)


@functools.lru_cache(maxsize=1)
def _log_ns(count: int = 60) -> tuple[int, ...]:
    grid = torch.logspace(math.log10(2), 4, count, dtype=torch.float64).round().long()
    return tuple(sorted(set(grid.tolist())))


def tail_figure(eps: float, num: int = LIVE_SAMPLES) -> go.Figure:
    """P(|cos θ| > ε) against n on log–log axes: exact, sampled (±2 standard
    errors), the normal approximation and the bound 2·exp(-nε²/2)."""
    ns = list(_log_ns())
    exact = torch.tensor([highdim.tail_probability(eps, n) for n in ns])
    normal = torch.tensor([highdim.normal_tail_probability(eps, n) for n in ns])
    bound = torch.tensor([highdim.tail_bound(eps, n) for n in ns])

    sampled, lower, upper = [], [], []
    for k, n in enumerate(N_GRID):
        c = highdim.cosine_samples(num, n, generator=generator(SEED + 1 + k))
        p = float((c.abs() > eps).double().mean())
        se = math.sqrt(p * (1 - p) / num)
        sampled.append(p if p > 0 else None)  # a zero has no place on a log axis
        lower.append(min(2 * se, 0.999 * p) if p > 0 else None)
        upper.append(2 * se if p > 0 else None)

    def floor(ps: torch.Tensor) -> torch.Tensor:  # far below the axis → gap
        return torch.where(ps >= 1e-3 * _TAIL_FLOOR, ps, torch.full_like(ps, math.nan))

    at = {n: highdim.tail_probability(eps, n) for n in (100, 1000)}
    traces = [
        dict(type="scatter", x=ns, y=rounded(floor(bound)), mode="lines",
             name="bound 2·exp(−nε²/2)",
             line=dict(color=plots.COLORS["reference"], width=1.5, dash="dot")),
        dict(type="scatter", x=ns, y=rounded(floor(normal)), mode="lines", name="normal N(0, 1/n)",
             line=dict(color=plots.COLORS["approx"], width=2, dash="dash")),
        dict(type="scatter", x=ns, y=rounded(floor(exact)), mode="lines", name="exact",
             line=dict(color=plots.COLORS["exact"], width=2.5)),
        dict(type="scatter", x=list(N_GRID), y=rounded(sampled), mode="markers",
             name=f"sampled ({num:,} pairs each)",
             marker=dict(color=plots.COLORS["a"], size=9, symbol="circle"),
             error_y=dict(type="data", symmetric=False, array=rounded(upper),
                          arrayminus=rounded(lower), color=plots.COLORS["a"], thickness=1.5,
                          width=4)),
    ]
    layout = dict(
        # small n and tiny probabilities never meet: the bottom left stays empty
        legend=dict(x=0.01, xanchor="left", y=0.02, yanchor="bottom"),
        xaxis=dict(type="log", range=[math.log10(1.7), math.log10(12_000)]),
        yaxis=dict(type="log", range=[math.log10(_TAIL_FLOOR), math.log10(2.0)],
                   tickvals=[10.0**-k for k in range(7)], ticktext=_DECADES),
    )
    title = (f"ε = {eps:.3g}:  P(|cos θ| > ε) = {at[100]:.3g} at n = 100, "
             f"{at[1000]:.3g} at n = 1000")
    return _assemble(title, _skeleton(*_TAIL_AXES), layout, traces)


def tail_twin() -> Twin:
    """Slider over the threshold ε, log scale."""
    return Twin(tail_figure, [
        Param("eps", "threshold ε", EPS_GRID, lo=0.005, hi=0.9, log=True, default=0.1),
    ])


# ----------------------------------------------------------------- std · √n
def std_table(ns: Sequence[int] = N_GRID, num: int = 200_000,
              device: torch.device | str | None = None) -> list[dict[str, float]]:
    """For each n: sample mean and std of cos θ (``num`` draws), √n·std, and the
    standard error of √n·std from the exact fourth moment.

    Shape:
        - output: one dict per n, keys ``n, mean, std, scaled_std, scaled_se``
    """
    rows = []
    for k, n in enumerate(ns):
        g = generator(SEED + 100 + k, device or "cpu")
        c = highdim.cosine_samples(num, n, generator=g, device=device)  # (num,)
        var_c2 = highdim.cosine_moment(4, n) - highdim.cosine_moment(2, n) ** 2  # Var(cos²θ)
        # delta method: SE(std) ≈ SE(var) / (2 std), and std·√n ≈ 1
        scaled_se = math.sqrt(var_c2 / num) * n / 2
        sd = float(c.std())
        rows.append(dict(n=n, mean=float(c.mean()), std=sd, scaled_std=sd * math.sqrt(n),
                         scaled_se=scaled_se))
    return rows


def std_figure(rows: Sequence[dict[str, float]]) -> go.Figure:
    """√n · std(cos θ) against n, sampled with ±2 standard errors, and the exact value 1."""
    ns = [r["n"] for r in rows]
    fig = plots.figure(
        title="√n · std(cos θ) is 1 in every dimension",
        xaxis="dimension n (log scale)",
        yaxis="√n · std(cos θ)",
        alt=("Sampled standard deviation of cos θ times √n against n on a log axis, with "
             "error bars; every point sits on the horizontal line at 1."),
        height=380,
        legend=dict(orientation="h", y=-0.3, x=0),
    )
    fig.update_xaxes(type="log")
    fig.update_yaxes(range=[0.95, 1.05])
    fig.add_trace(go.Scatter(x=[min(ns), max(ns)], y=[1.0, 1.0], mode="lines",
                             name="exact: std = 1/√n",
                             line=dict(color=plots.COLORS["exact"], width=2.5)))
    fig.add_trace(go.Scatter(
        x=ns, y=rounded([r["scaled_std"] for r in rows], 5), mode="markers",
        name="sampled (± 2 standard errors)",
        marker=dict(color=plots.COLORS["a"], size=9),
        error_y=dict(type="data", array=rounded([2 * r["scaled_se"] for r in rows]),
                     color=plots.COLORS["a"])))
    return fig


# ---------------------------------------------------------------- many vectors
def max_cosine_figure(ns: Sequence[int] = (10, 100, 1000), m_max: int = 2000,
                      delta: float = 0.05, device: torch.device | str | None = None
                      ) -> go.Figure:
    """The largest pairwise |cos θ| among the first m of ``m_max`` random
    directions, against m, for each n; dashed: the union-bound ceiling that
    holds with probability 1 − δ."""
    ms = sorted({round(x) for x in torch.logspace(math.log10(2), math.log10(m_max), 40,
                                                        dtype=torch.float64).tolist()})
    fig = plots.figure(
        title="The largest |cos θ| among m random directions",
        xaxis="number of directions m (log scale)",
        yaxis="largest pairwise |cos θ|",
        alt=("Largest absolute cosine among all pairs of m random directions, against m on "
             "a log axis, for several dimensions n, with dashed union-bound ceilings; in "
             "high dimension it stays small even when m is larger than n."),
        height=460,
        legend=dict(orientation="h", y=-0.22, x=0),
    )
    fig.update_xaxes(type="log", range=[math.log10(1.8), math.log10(m_max * 1.15)])
    fig.update_yaxes(range=[0, 1.02])
    for k, n in enumerate(ns):
        color = plots.PALETTE[k % len(plots.PALETTE)]
        g = generator(SEED + 200 + k, device or "cpu")
        u = highdim.random_directions(m_max, n, generator=g, device=device,
                                      dtype=torch.float32)  # (m_max, n)
        running = highdim.running_max_abs_cosine(u).cpu()  # (m_max,)
        fig.add_trace(go.Scatter(x=ms, y=rounded([float(running[m - 1]) for m in ms]),
                                 mode="lines+markers", name=f"sampled, n = {n}",
                                 line=dict(color=color, width=2), marker=dict(size=5)))
        fig.add_trace(go.Scatter(x=ms, y=rounded([highdim.union_bound_epsilon(m, n, delta)
                                             for m in ms]),
                                 mode="lines", name=f"ceiling (prob. ≥ {1 - delta:g}), n = {n}",
                                 line=dict(color=color, width=1.5, dash="dash")))
        if n <= m_max:
            fig.add_vline(x=n, line=dict(color=color, width=1, dash="dot"))
    return fig
