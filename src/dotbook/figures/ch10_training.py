"""Chapter 10 figures, second half: training in low precision.

Two twins (the first half, where floating point breaks, is :mod:`dotbook.figures.ch10`):

- :func:`normalization_twin` — the size of the dot products and gradients
  through a deep ReLU network whose weights are a factor ``gain`` too large,
  plain and with LayerNorm or RMSNorm;
- :func:`loss_scale_twin` — the histogram of a network's gradients on a log₂
  axis, slid by a loss scale against float16's range, and the share lost.

The measurements come from :mod:`dotbook.stability` and
:mod:`dotbook.mixed_precision`; every random draw from the generator the chapter
passes to a twin (``book.generator(k)``; ``dotbook.device.generator(0)`` when none
is given).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch

from dotbook import device as _device
from dotbook import mixed_precision, plots, precision, stability
from dotbook.explore import Figure, Param, Twin
from dotbook.figures import register
from dotbook.plots import rounded

__all__ = ["GAIN_STEP", "NORM_BATCH", "NORM_DEPTH", "NORM_WIDTH", "loss_scale_twin",
           "normalization_figure", "normalization_twin"]

#: Depth and width of the network of the normalisation figure.
NORM_DEPTH, NORM_WIDTH, NORM_BATCH = 32, 64, 64
GAINS = (1.0, 1.25, 1.5, 1.75, 2.0)

_COLORS = {"none": plots.PALETTE[1], "layer": plots.PALETTE[0], "rms": plots.PALETTE[2],
           "low": plots.PALETTE[1], "pairwise": plots.PALETTE[2],
           "bound": plots.PALETTE[7], "limit": plots.PALETTE[4]}
_LOG = {"type": "log", "exponentformat": "power"}


# ------------------------------------------------------ normalisation, depth
#: The live gain slider's step, and every gain it can reach (the static grid among them).
_PER_UNIT = 20  # gains are k / 20: exact for the grid's values, no drift from summing steps
GAIN_STEP = 1 / _PER_UNIT
_GAIN_STEPS = tuple(k / _PER_UNIT for k in range(16, 41))  # 0.8, 0.85, …, 2.0


def _snap_gain(gain: float) -> float:
    """``gain`` rounded to the slider's step."""
    return round(float(gain) * _PER_UNIT) / _PER_UNIT


_NORM_LABELS = {"none": "no normalisation", "layer": "LayerNorm", "rms": "RMSNorm"}


@functools.cache
def _normalization_skeleton() -> Figure:
    return plots.skeleton(
        alt=("Two panels against layer depth on a log scale: the root-mean-square size of "
             "each layer's dot products, and the norm of each layer's weight gradient, for a "
             "deep ReLU network without normalisation and with LayerNorm or RMSNorm; without "
             "normalisation the dot products grow geometrically with depth and cross float16's "
             "largest value, and the gradients are huge at every layer; with normalisation "
             "both stay bounded at every depth: the dot products are about as large as the "
             "gain, and the gradients stay below one."),
        height=480, cols=2, horizontal_spacing=0.12,
        axes={
            "xaxis": {"title": "layer l", "range": [0, NORM_DEPTH + 1]},
            "yaxis": {"title": "RMS of W_l h_(l−1) (log)", **_LOG, "dtick": 2,
                      "range": [-1.0, 10.5]},
            "xaxis2": {"title": "layer l", "range": [0, NORM_DEPTH + 1]},
            "yaxis2": {"title": "‖∂L/∂W_l‖ (log)", **_LOG, "dtick": 4, "range": [-2.5, 21.0]},
        },
        legend={"x": 0.01, "xanchor": "left", "y": 0.99, "yanchor": "top",
                "font": {"size": 11}},
        margin={"t": 95, "l": 85},
    )


def normalization_figure(gain: float,
                         table: dict[float, dict[str, dict[str, list[float]]]]) -> Figure:
    """Sizes of dot products and gradients layer by layer, for three norms, at
    ``gain`` rounded to the slider's step :data:`GAIN_STEP` (what the figure
    shows), read from ``table`` (:func:`dotbook.stability.depth_profile`)."""
    gain = _snap_gain(gain)
    if gain not in table:
        raise ValueError(f"gain {gain:g} was not measured; pass a gain in "
                         f"[{min(table)}, {max(table)}] on the slider's step {GAIN_STEP}")
    d = table[gain]
    layers = list(range(1, NORM_DEPTH + 1))
    data = []
    for norm in stability.NORMS:
        color = _COLORS[norm]
        data.append(dict(type="scatter", mode="lines+markers", x=layers,
                         y=rounded(d[norm]["rms"]), name=_NORM_LABELS[norm],
                         line=dict(color=color, width=2.5), marker=dict(size=5)))
        data.append(dict(type="scatter", mode="lines+markers", x=layers,
                         y=rounded(d[norm]["grad"]), name=_NORM_LABELS[norm], showlegend=False,
                         xaxis="x2", yaxis="y2", line=dict(color=color, width=2.5),
                         marker=dict(size=5)))
    big = precision.limits(torch.float16).max
    data.append(dict(type="scatter", mode="lines", x=[0, NORM_DEPTH + 1], y=[big, big],
                     name="float16 max 65504", line=dict(color=_COLORS["limit"], dash="dash")))
    top = d["none"]["rms"][-1]
    title = (f"gain {gain:g}: RMS at layer {NORM_DEPTH} is {top:.3g} plain "
             f"(× {gain:g} per layer),<br>{d['layer']['rms'][-1]:.3g} with "
             f"LayerNorm, {d['rms']['rms'][-1]:.3g} with RMSNorm")
    return plots.assemble(_normalization_skeleton(), data, title=title)


@register
def normalization_twin(generator: torch.Generator | None = None) -> Twin:
    """A slider for the weight gain (1 = He initialisation). Every gain the
    slider reaches is measured once, in one batched pass, by
    :func:`dotbook.stability.depth_profile` from ``generator``."""
    g = _device.generator(0) if generator is None else generator
    table = stability.depth_profile(_GAIN_STEPS, depth=NORM_DEPTH, width=NORM_WIDTH,
                                    batch=NORM_BATCH, generator=g)

    def fn(gain: float) -> Figure:
        return normalization_figure(gain, table)

    fn.__name__ = "normalization_figure"
    return Twin(fn, [
        Param("gain", "weight gain (1 = He initialisation)", GAINS, lo=_GAIN_STEPS[0],
              hi=_GAIN_STEPS[-1], step=GAIN_STEP, default=1.5),
    ])


# ------------------------------------------------------------ loss scaling
#: The loss-scale slider: log₂ S from 0 to 24.
LOG2_SCALES = tuple(range(0, 25))


@functools.cache
def _loss_scale_skeleton() -> Figure:
    return plots.skeleton(
        alt=("Left: a histogram of the gradients of a small digit classifier on a log2 axis, "
             "shifted right by the loss scale, between float16's underflow and overflow "
             "lines. Right: the share of non-zero gradients that become 0 in float16 "
             "against log2 of the scale, falling as the scale grows, and the share that "
             "overflows, which appears only at the largest scales; bfloat16 loses none."),
        height=470, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.12,
        axes={"xaxis": {"title": "log₂ |S·g|", "range": [-50, 30]},
              "yaxis": {"title": "share of gradients per unit", "range": [0, 0.1]},
              "xaxis2": {"title": "log₂ S (loss scale)", "range": [-0.5, 24.5]},
              "yaxis2": {"title": "share lost", "range": [0, 0.25]}},
        legend={"x": 0.01, "xanchor": "left", "y": 0.99, "yanchor": "top",
                "font": {"size": 11}},
        margin={"t": 95})


def loss_scale_figure(log2_scale: int, hist: tuple, sweep: dict[str, list[float]]) -> Figure:
    """The gradients' log₂ histogram ``hist`` (centres, heights) shifted by
    ``log2_scale``, and the lost shares ``sweep`` (:func:`mixed_precision.scale_sweep`)."""
    k = int(log2_scale)
    centres, heights = hist
    lim = precision.limits(torch.float16)
    low, high = math.log2(lim.smallest_subnormal / 2), math.log2(lim.max)
    data = [dict(type="bar", x=rounded([c + k for c in centres]), y=rounded(heights),
                 name="gradients × S", marker=dict(color=plots.PALETTE[0]))]
    for x, name in ((low, "float16: 0 below"), (high, "float16: inf above")):
        data.append(dict(type="scatter", mode="lines", x=[x, x], y=[0, 0.1], name=name,
                         line=dict(color=_COLORS["limit"], dash="dash")))
    for key, color in (("underflow", _COLORS["low"]), ("overflow", _COLORS["layer"]),
                       ("bfloat16 underflow", _COLORS["pairwise"])):
        data.append(dict(type="scatter", mode="lines+markers", x=list(LOG2_SCALES),
                         y=rounded(sweep[key]), name=key if "bf" in key else f"float16 {key}",
                         xaxis="x2", yaxis="y2", line=dict(color=color, width=2.5)))
    data.append(dict(type="scatter", mode="lines", x=[k, k], y=[0, 0.25], xaxis="x2",
                     yaxis="y2", name="this S", showlegend=False,
                     line=dict(color=_COLORS["bound"], dash="dot")))
    title = (f"S = 2^{k}: {sweep['underflow'][k]:.1%} of the gradients become 0 in float16,"
             f"<br>{sweep['overflow'][k]:.1%} overflow")
    return plots.assemble(_loss_scale_skeleton(), data, title=title)


@register
def loss_scale_twin(grads: Sequence[torch.Tensor] | None = None, *,
                    generator: torch.Generator | None = None) -> Twin:
    """A slider over log₂ of the loss scale, for ``grads`` (by default the last step of
    :func:`dotbook.mixed_precision.gradient_stream`, 60 steps, from ``generator``)."""
    if grads is None:
        g = _device.generator(0) if generator is None else generator
        grads = mixed_precision.gradient_stream(60, generator=g)[-1]
    sweep = mixed_precision.scale_sweep(grads, LOG2_SCALES)
    sweep["bfloat16 underflow"] = mixed_precision.scale_sweep(grads, LOG2_SCALES,
                                                              torch.bfloat16)["underflow"]
    flat = torch.cat([v.detach().flatten().cpu() for v in grads])
    centres, heights, _ = plots.density_histogram(flat[flat != 0].abs().log2(), -50, 30, 80)
    hist = (centres.tolist(), heights.tolist())

    def fn(log2_scale: int) -> Figure:
        return loss_scale_figure(log2_scale, hist, sweep)

    fn.__name__ = "loss_scale_figure"
    return Twin(fn, [Param("log2_scale", "log₂ S", (0, 4, 8, 12, 16, 20, 24), lo=0, hi=24,
                           step=1, integer=True, default=0, fmt="d")])
