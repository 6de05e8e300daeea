"""Chapter 9 figures: signal and gradient sizes through depth, by initialisation.

:func:`depth_figure` runs one fresh network per slider setting through
:func:`dotbook.initialization.depth_statistics` (forward and backward hooks)
on the CPU in float32, from a seed the twin draws from its generator, and caches the
result per configuration, so that the
static grid is computed once and a live slider move that returns to a
setting costs nothing. The dashed curves are the mean-field prediction of
:func:`dotbook.initialization.mean_field`.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch

from dotbook import depth_modern, initialization, plots
from dotbook.device import generator as seeded
from dotbook.explore import Figure, Param, Twin
from dotbook.figures import register
from dotbook.plots import rounded

__all__ = [
    "ACTIVATION_NAMES",
    "SCHEME_NAMES",
    "WIDTH",
    "BATCH",
    "MAX_DEPTH",
    "depth_figure",
    "depth_twin",
    "variance_figure",
    "training_figure",
    "residual_figure",
    "residual_twin",
]

#: The slider indices, in order: the package's one activation table and one scheme table.
ACTIVATION_NAMES = tuple(initialization.ACTIVATIONS)
SCHEME_NAMES = tuple(initialization.SCHEMES)
#: How the text names each activation: as its button does ("ReLU", never "relu").
_ACTIVATION_LABELS = {"linear": "linear", "relu": "ReLU", "tanh": "tanh", "sigmoid": "sigmoid"}
_SCHEME_LABELS = {"standard": "standard U(±1/√n)", "xavier": "Xavier 2/(n_in+n_out)",
                  "he": "He 2/n_in", "normal": "N(0, 1)"}
WIDTH = 128
BATCH = 32
MAX_DEPTH = 50
_LOG_RANGE = [-10.0, 10.0]


@functools.lru_cache(maxsize=1024)
def _statistics(depth: int, activation: str, scheme: str, gain: float, seed: int
                ) -> tuple[initialization.DepthStatistics, initialization.MeanField,
                           list[float], list[float]]:
    """The measurement, the recursion, and the predicted stds of h_l and of the gradient."""
    s = initialization.depth_statistics(depth, WIDTH, activation, scheme, gain, batch=BATCH,
                                        generator=seeded(seed))
    mf = initialization.mean_field(depth, activation, s.sigma2, s.preactivation_ms[0])
    predicted_h = [initialization.activation_std(activation, q) for q in mf.preactivation[:-1]]
    predicted_h.append(math.sqrt(mf.preactivation[-1]))  # the top layer: z_L itself
    predicted_g = [math.sqrt(r) * s.gradient_std[-1] for r in mf.gradient]
    return s, mf, predicted_h, predicted_g


@functools.cache
def _depth_skeleton() -> dict[str, Any]:
    return plots.skeleton(
        alt=("Two panels against the layer index: on the left the standard deviation of each "
             "layer's activations, on the right that of the gradient flowing back into each "
             "layer's dot products, both on a log scale, measured (solid) and predicted by the "
             "variance recursion (dashed), for the chosen activation, initialisation, gain and "
             "depth."),
        height=460, cols=2, horizontal_spacing=0.16,
        axes={
            "xaxis": {"title": "layer l", "range": [0, MAX_DEPTH + 1]},
            "yaxis": {"title": "std of h_l (log)", "type": "log", "range": _LOG_RANGE,
                      "dtick": 4, "exponentformat": "power"},
            "xaxis2": {"title": "layer l", "range": [0, MAX_DEPTH + 1]},
            "yaxis2": {"title": "std of ∂L/∂z_l (log)", "type": "log", "range": _LOG_RANGE,
                       "dtick": 4, "exponentformat": "power"},
        },
        legend={"orientation": "h", "x": 0.0, "y": -0.2, "yanchor": "top", "font": {"size": 11}},
        margin={"t": 95, "b": 100, "l": 80},
        title={"font": {"size": 14}},
    )


def _geometric_mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v) and v > 0]
    if not finite:
        return math.nan
    return math.exp(sum(math.log(v) for v in finite) / len(finite))


def depth_figure(depth: int, gain: float, activation_index: int, scheme_index: int,
                 seed: int = 0) -> Figure:
    """Measured and predicted per-layer stds for one network configuration, the network
    drawn from ``device.generator(seed)``."""
    depth, activation = int(depth), ACTIVATION_NAMES[int(activation_index)]
    scheme = SCHEME_NAMES[int(scheme_index)]
    s, mf, predicted_h, predicted_g = _statistics(depth, activation, scheme,
                                                  round(float(gain), 4), int(seed))
    layers = dict(x0=1, dx=1)  # x = 1, 2, …, depth without a list in each of 360 frames
    colors = plots.PALETTE
    data = [
        dict(type="scatter", mode="lines+markers", **layers, y=rounded(s.activation_std),
             name="measured", line=dict(color=colors[0], width=2.5), marker=dict(size=4)),
        dict(type="scatter", mode="lines", **layers, y=rounded(predicted_h), name="predicted",
             line=dict(color=colors[7], width=2, dash="dash")),
        dict(type="scatter", mode="lines+markers", **layers, y=rounded(s.gradient_std),
             name="measured", showlegend=False, xaxis="x2", yaxis="y2",
             line=dict(color=colors[1], width=2.5), marker=dict(size=4)),
        dict(type="scatter", mode="lines", **layers, y=rounded(predicted_g), name="predicted",
             showlegend=False, xaxis="x2", yaxis="y2",
             line=dict(color=colors[7], width=2, dash="dash")),
    ]
    forward = _geometric_mean(s.forward_ratio)
    backward = _geometric_mean(s.backward_ratio)
    title = (f"{_ACTIVATION_LABELS[activation]}, {_SCHEME_LABELS[scheme]}, "
             f"gain {float(gain):.2f}, depth {depth}<br>"
             f"per layer: E[z²] × {forward:.3g} (theory {_geometric_mean(mf.forward_ratio):.3g}), "
             f"grad² × {backward:.3g} (theory {_geometric_mean(mf.backward_ratio):.3g})")
    return plots.assemble(_depth_skeleton(), data, title=title)


@register
def depth_twin(generator: torch.Generator | None = None) -> Twin:
    """Sliders for depth, gain, activation and initialisation scheme. Every network is
    drawn from one seed taken from ``generator`` (default ``device.generator(0)``)."""
    g = seeded(0) if generator is None else generator
    seed = int(torch.randint(0, 2**62, (1,), generator=g, device=g.device))

    def figure(depth: int, gain: float, activation_index: int, scheme_index: int) -> Figure:
        return depth_figure(depth, gain, activation_index, scheme_index, seed)

    shown = [(ACTIVATION_NAMES.index(name), _ACTIVATION_LABELS[name])
             for name in ("linear", "relu", "tanh")]
    return Twin(figure, [
        Param("depth", "depth L", tuple(range(5, MAX_DEPTH + 1, 5)), lo=2, hi=MAX_DEPTH, step=1,
              integer=True,
              default=30),
        Param("gain", "gain on the std", (0.5, 1.0, 2.0), lo=0.25, hi=3.0, step=0.05,
              default=1.0),
        Param("activation_index", "activation", choices=shown,
              default=ACTIVATION_NAMES.index("relu")),
        Param("scheme_index", "scheme",
              choices=[(0, "standard"), (1, "Xavier"), (2, "He"), (3, "N(0, 1)")], default=1),
    ])


# ------------------------------------------------------------------ static figures
def variance_figure(ns: list[int], measured: dict[str, list[float]],
                    predicted: dict[str, list[float]]) -> Figure:
    """Var(w·x) against n, measured and predicted, for each kind of input (log-log)."""
    lo, hi = math.log10(min(ns)) - 0.1, math.log10(max(ns)) + 0.1
    top = max(max(v) for v in measured.values())
    bottom = min(min(v) for v in measured.values())
    sk = plots.skeleton(
        alt=("The variance of a dot product w·x of n random terms against n, on log-log axes: "
             "measured points and predicted lines for zero-mean Gaussian inputs and for ReLU "
             "inputs; for ReLU inputs the line n·Var(w)·Var(x) falls short and n·Var(w)·E[x²] "
             "fits."),
        height=420,
        axes={"xaxis": {"title": "terms n (log)", "type": "log", "range": [lo, hi], "dtick": 1},
              "yaxis": {"title": "Var(w·x) (log)", "type": "log", "exponentformat": "power",
                        "dtick": 1,
                        "range": [math.log10(bottom) - 0.2, math.log10(top) + 0.2]}},
        legend={"x": 0.02, "xanchor": "left", "y": 0.98, "yanchor": "top", "font": {"size": 12}},
    )
    styles = {"gaussian": plots.PALETTE[0], "relu": plots.PALETTE[1]}
    data = []
    for key, values in measured.items():
        data.append(dict(type="scatter", mode="markers", x=list(ns), y=rounded(values),
                         name=f"measured, {'Gaussian' if key == 'gaussian' else 'ReLU'} inputs",
                         marker=dict(color=styles[key], size=9)))
    names = {"gaussian": "n·Var(w)·Var(x), Gaussian x", "relu_var": "n·Var(w)·Var(x), ReLU x",
             "relu_moment": "n·Var(w)·E[x²], ReLU x"}
    dashes = {"gaussian": "solid", "relu_var": "dot", "relu_moment": "dash"}
    for key, values in predicted.items():
        color = styles["gaussian" if key == "gaussian" else "relu"]
        data.append(dict(type="scatter", mode="lines", x=list(ns), y=rounded(values),
                         name=names[key], line=dict(color=color, dash=dashes[key], width=2)))
    return plots.assemble(sk, data, title="Var(w·x) grows like n; for ReLU inputs its level is "
                                          "set by E[x²], not Var(x)")


def training_figure(losses: dict[str, list[float]], depth: int) -> Figure:
    """Training loss against the step for each initialisation."""
    steps = len(next(iter(losses.values())))
    sk = plots.skeleton(
        alt=(f"Training loss of a {depth}-layer ReLU network on the digits against the step, "
             f"one curve per initialisation; the Xavier curve stays flat at log 10, the He "
             f"curve falls."),
        height=400,
        axes={"xaxis": {"title": "step", "range": [0, steps]},
              "yaxis": {"title": "cross-entropy", "range": [0, 3.6]}},
        legend={"x": 0.98, "xanchor": "right", "y": 0.98, "yanchor": "top"},
    )
    colors = {"xavier": plots.PALETTE[0], "he": plots.PALETTE[1]}
    data = [dict(type="scatter", mode="lines", x=list(range(1, steps + 1)), y=rounded(v),
                 name=_SCHEME_LABELS[k], line=dict(color=colors.get(k, plots.PALETTE[2]),
                                                   width=2))
            for k, v in losses.items()]
    data.append(dict(type="scatter", mode="lines", x=[0, steps], y=[math.log(10)] * 2,
                     name="log 10: a uniform guess", line=dict(color=plots.PALETTE[7],
                                                               dash="dot")))
    return plots.assemble(sk, data, title=f"{depth} ReLU layers on the digits: which "
                                          f"initialisation learns?")


# ------------------------------------------------------------------ residual streams (issue 28)
_RESIDUAL_WIDTH, _RESIDUAL_BATCH = 128, 128
_BRANCH_LABELS = {"plain": "x + f(x)", "scaled": "x + f(x)/√(2L)",
                  "pre_ln": "pre-LN: x + f(LN(x))", "pre_ln_scaled": "pre-LN, f/√(2L)"}


@functools.lru_cache(maxsize=64)
def _residual(depth: int, seed: int) -> dict[str, list[float]]:
    return {b: depth_modern.residual_second_moments(depth, _RESIDUAL_WIDTH, b,
                                                    batch=_RESIDUAL_BATCH, generator=seeded(seed))
            for b in depth_modern.BRANCHES}


@functools.cache
def _residual_skeleton() -> dict[str, Any]:
    return plots.skeleton(
        alt=("The second moment of the residual stream against the block index, log scale, "
             "for four residual networks: plain branches grow it geometrically, pre-LN "
             "linearly, and branches scaled by 1/√(2L) keep it below two; measured solid, "
             "predicted dashed."),
        height=440,
        axes={"xaxis": {"title": "block l", "range": [0, MAX_DEPTH + 1]},
              "yaxis": {"title": "E[x_l²] (log)", "type": "log", "range": [-0.3, 16],
                        "dtick": 2, "exponentformat": "power"}},
        legend={"x": 0.02, "xanchor": "left", "y": 0.98, "yanchor": "top", "font": {"size": 11}},
    )


def residual_figure(depth: int, seed: int = 0) -> Figure:
    """E[x_l²] through ``depth`` residual blocks for every branch rule, measured and predicted."""
    depth = int(depth)
    blocks = list(range(depth + 1))
    data = []
    for k, (branch, q) in enumerate(_residual(depth, int(seed)).items()):
        color = plots.PALETTE[k]
        data.append(dict(type="scatter", mode="lines", x=blocks, y=rounded(q),
                         name=_BRANCH_LABELS[branch], line=dict(color=color, width=2.5)))
        data.append(dict(type="scatter", mode="lines", x=blocks, showlegend=False,
                         y=rounded(depth_modern.predicted_second_moments(depth, branch)),
                         name=f"{_BRANCH_LABELS[branch]}, predicted",
                         line=dict(color=color, width=1.5, dash="dash")))
    return plots.assemble(_residual_skeleton(), data,
                          title=f"{depth} residual blocks of width {_RESIDUAL_WIDTH}")


@register
def residual_twin(generator: torch.Generator | None = None) -> Twin:
    """A depth slider for :func:`residual_figure`; the networks come from one seed drawn
    from ``generator`` (default ``device.generator(0)``)."""
    g = seeded(0) if generator is None else generator
    seed = int(torch.randint(0, 2**62, (1,), generator=g, device=g.device))

    def figure(depth: int) -> Figure:
        return residual_figure(depth, seed)

    return Twin(figure, [Param("depth", "blocks L", (10, 30, 50), lo=2, hi=MAX_DEPTH, step=1,
                               integer=True, default=50)])
