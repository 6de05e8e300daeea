"""Chapter 8 figures: a neuron learning, one gradient step at a time.

The figures only draw. The 2-D experiment is :func:`dotbook.alignment.margin_run`
on two separable clouds from :func:`dotbook.data.two_blobs` (a logistic neuron
trained from zero, and the max-margin direction it approaches), computed by the
chapter and handed to :func:`learning_twin`; the alignment experiment is
:func:`dotbook.alignment.alignment_path` on :func:`dotbook.alignment.decorrelated_inputs`.
A twin called without them draws its data from ``generator`` (default
``dotbook.device.generator(0)``). The slider functions only pick a step and
build trace dicts.
"""

from __future__ import annotations

import functools
import math

import torch

from dotbook import alignment, data, plots
from dotbook import device as _device
from dotbook.explore import Figure, Param, Twin
from dotbook.figures import register
from dotbook.plots import rounded

__all__ = [
    "ALIGN_LR",
    "ALIGN_STEPS",
    "BLOB_SIZE",
    "LR",
    "STEPS",
    "W_START",
    "W_STAR",
    "learning_figure",
    "learning_twin",
    "alignment_figure",
    "alignment_twin",
    "digits_figure",
]

#: The 2-D clouds: points per class, centre distance and direction (separable:
#: checked in tests/test_training.py); the neuron's steps and step size.
BLOB_SIZE = {"n_per_class": 40, "separation": 5.0, "angle_deg": 30.0}
STEPS = 5000
LR = 0.5
F64 = torch.float64
_BOX_X = (-4.5, 7.0)
_BOX_Y = (-4.5, 6.0)
_STEP_GRID = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
_CLASS_COLORS = (plots.PALETTE[0], plots.PALETTE[1])


def _log_steps() -> list[int]:
    """About 80 steps spread evenly in log(step), for the cosine curves."""
    steps = sorted({int(round(10 ** (k / 20))) for k in range(0, 20 * 4 + 1)} | {STEPS})
    return [s for s in steps if 1 <= s <= STEPS]


def _boundary(w: torch.Tensor, b: float) -> tuple[list[float], list[float]]:
    """The line w·x + b = 0 inside the box, as two end points (empty when w = 0)."""
    w1, w2 = float(w[0]), float(w[1])
    if math.hypot(w1, w2) < 1e-12:
        return [], []
    if abs(w2) >= abs(w1):  # solve for x₂ at the box's x₁ ends
        xs = list(_BOX_X)
        return xs, [-(b + w1 * t) / w2 for t in xs]
    ys = list(_BOX_Y)
    return [-(b + w2 * t) / w1 for t in ys], ys


def _direction(start: tuple[float, float], d: torch.Tensor, length: float = 2.2
               ) -> tuple[list[float], list[float]]:
    norm = float(torch.linalg.vector_norm(d))
    if norm < 1e-12:
        return [start[0], start[0]], [start[1], start[1]]
    u = d / norm
    return [start[0], start[0] + length * float(u[0])], [start[1], start[1] + length * float(u[1])]


@functools.cache
def _learning_skeleton() -> Figure:
    return plots.skeleton(
        alt=("Left: two clouds of points, blue class 0 and vermillion class 1, with the "
             "neuron's decision line w·x + b = 0 and the direction of w at the chosen step, "
             "beside the direction μ₁ − μ₀ and the max-margin line. Right: the cosine of w "
             "with μ₁ − μ₀ and with the max-margin direction against the step on a log "
             "scale; the first starts at 1 and falls, the second climbs towards 1."),
        height=480, cols=2, column_widths=[0.5, 0.5], horizontal_spacing=0.12,
        axes={
            "xaxis": {"title": "x₁", "range": list(_BOX_X)},
            "yaxis": {"title": "x₂", "range": list(_BOX_Y), "scaleanchor": "x",
                      "scaleratio": 1},
            "xaxis2": {"title": "step t (log)", "type": "log",
                       "range": [0, math.log10(STEPS)]},
            "yaxis2": {"title": "cosine (orange: with μ₁ − μ₀; black: with max-margin)",
                       "range": [0.5, 1.02], "title_font": {"size": 12}},
        },
        # inside the cosine panel, below the curves (they stay above 0.6 after step 1)
        legend={"x": 0.99, "xanchor": "right", "y": 0.02, "yanchor": "bottom",
                "font": {"size": 11}},
        margin={"t": 80},
        title={"font": {"size": 15}},
    )


def learning_figure(step: int, run: alignment.MarginRun) -> Figure:
    """The data, the boundary and w after ``step`` updates of ``run``; the cosine
    curves, step marked."""
    step = int(step)
    if not 0 <= step <= run.path.steps:
        raise ValueError(f"step = {step} is outside [0, {run.path.steps}]")
    w, b = run.path.w[step], float(run.path.b[step])
    mid = run.x.mean(dim=0)  # start the arrows at the point of the line nearest the centre
    norm2 = float(w @ w)
    start = mid - ((float(w @ mid) + b) / norm2) * w if norm2 > 0 else mid
    start_xy = (float(start[0]), float(start[1]))
    mm_w, mm_b = run.max_margin[:2], float(run.max_margin[2])
    data = []
    for label in (0, 1):
        pts = run.x[run.y == label]
        data.append(dict(type="scatter", mode="markers", x=rounded(pts[:, 0]),
                         y=rounded(pts[:, 1]), name=f"class {label}", hoverinfo="skip",
                         marker=dict(color=_CLASS_COLORS[label], size=7,
                                     symbol="circle" if label == 0 else "diamond")))
    mx, my = _boundary(mm_w, mm_b)
    data.append(dict(type="scatter", mode="lines", x=mx, y=my, name="max-margin line of (w, b)",
                     line=dict(color=plots.PALETTE[7], dash="dot", width=2), hoverinfo="skip"))
    bx, by = _boundary(w, b)
    data.append(dict(type="scatter", mode="lines", x=bx, y=by, name="boundary w·x + b = 0",
                     line=dict(color=plots.PALETTE[2], width=3), hoverinfo="skip"))
    gx, gy = _direction(start_xy, run.mean_gap)
    data.append(dict(type="scatter", mode="lines", x=gx, y=gy, name="direction μ₁ − μ₀",
                     line=dict(color=plots.PALETTE[4], dash="dash", width=3), hoverinfo="skip"))
    wx, wy = _direction(start_xy, w)
    data.append(dict(type="scatter", mode="lines+markers", x=wx, y=wy, name="direction of w",
                     line=dict(color=plots.PALETTE[2], width=4), hoverinfo="skip",
                     marker=dict(symbol=["circle", "arrow"], size=[4, 15], angleref="previous",
                                 color=plots.PALETTE[2])))
    steps = _log_steps()
    data.append(dict(type="scatter", mode="lines", x=steps, y=rounded(run.cos_mean[steps]),
                     name="cos(w, μ₁ − μ₀)", xaxis="x2", yaxis="y2", showlegend=False,
                     line=dict(color=plots.PALETTE[4], dash="dash", width=2.5)))
    data.append(dict(type="scatter", mode="lines", x=steps, y=rounded(run.cos_margin[steps]),
                     name="cos((w, b), max-margin)", xaxis="x2", yaxis="y2", showlegend=False,
                     line=dict(color=plots.PALETTE[7], dash="dot", width=2.5)))
    shown = max(step, 1)  # step 0 has w = 0: no direction yet; mark it at t = 1 on the log axis
    data.append(dict(type="scatter", mode="markers", x=[shown, shown],
                     y=[float(run.cos_mean[step]), float(run.cos_margin[step])],
                     name="step t", xaxis="x2", yaxis="y2", showlegend=False, hoverinfo="skip",
                     marker=dict(color=[plots.PALETTE[4], plots.PALETTE[7]], size=11,
                                 line=dict(color="white", width=1.5))))
    if step == 0:
        title = "step 0: w = 0, b = 0; no direction yet (the first step points along μ₁ − μ₀)"
    else:
        title = (f"step {step}: loss {float(run.path.loss[step]):.3f}, ‖w‖ = "
                 f"{math.sqrt(norm2):.2f}<br>cos(w, μ₁ − μ₀) = {float(run.cos_mean[step]):.3f},"
                 f" cos((w, b), max-margin) = {float(run.cos_margin[step]):.3f}")
    return plots.assemble(_learning_skeleton(), data, title=title)


@register
def learning_twin(run: alignment.MarginRun | None = None, *,
                  generator: torch.Generator | None = None) -> Twin:
    """A step slider: the neuron of ``run`` after t full-batch gradient steps.

    Without ``run``, the clouds are drawn from ``generator`` (float64) and the
    neuron trained here (:data:`STEPS` steps of size :data:`LR`)."""
    if run is None:
        g = _device.generator(0) if generator is None else generator
        x, y = data.two_blobs(**BLOB_SIZE, generator=g, dtype=F64)
        run = alignment.margin_run(x, y, steps=STEPS, lr=LR)
    if not isinstance(run, alignment.MarginRun) or run.path.steps != STEPS:
        raise ValueError(f"run must be alignment.margin_run(x, y, steps={STEPS}, lr={LR})")

    def fn(step: int) -> Figure:
        return learning_figure(step, run)

    fn.__name__ = "learning_figure"
    return Twin(fn, [
        Param("step", "gradient steps t", _STEP_GRID, lo=0, hi=STEPS, step=1, integer=True,
              default=50),
    ])


# ------------------------------------------------------------------ alignment
ALIGN_LR = 0.1
ALIGN_STEPS = 40
W_STAR = (1.0, 1.0)
W_START = (-1.0, -1.0)


@functools.cache
def _alignment_skeleton() -> Figure:
    return plots.skeleton(
        alt=("Left: the training inputs, a cloud whose spread along the second axis is set by "
             "the slider. Middle: the path of the weights from (−1, −1) towards (1, 1). Right: "
             "the distance of each weight component from its target against the step, on a "
             "log scale; the first falls fast, the second only as fast as the inputs reach "
             "along its axis, and not at all when they have no spread there."),
        height=430, cols=3, column_widths=[0.29, 0.29, 0.42], horizontal_spacing=0.12,
        axes={
            "xaxis": {"title": "input x₁", "range": [-3.5, 3.5]},
            "yaxis": {"title": "input x₂", "range": [-3.5, 3.5], "scaleanchor": "x",
                      "scaleratio": 1},
            "xaxis2": {"title": "weight w₁", "range": [-1.3, 1.3]},
            "yaxis2": {"title": "weight w₂", "range": [-1.3, 1.3], "scaleanchor": "x2",
                       "scaleratio": 1},
            "xaxis3": {"title": "step t", "range": [0, ALIGN_STEPS]},
            "yaxis3": {"title": "|w_k − w*_k|", "type": "log", "range": [-6, 0.5],
                       "exponentformat": "power", "dtick": 2},
        },
        legend={"orientation": "h", "x": 0.0, "y": -0.25, "yanchor": "top", "font": {"size": 11}},
        margin={"t": 85, "b": 115, "l": 55, "r": 15},
        title={"font": {"size": 14}},
    )


def alignment_figure(spread: float, inputs: torch.Tensor) -> Figure:
    """Inputs, the weight path and the per-component errors for input spread
    ``spread`` along e₂ (:func:`dotbook.alignment.alignment_path` on ``inputs``)."""
    x, ws = alignment.alignment_path(inputs, spread, steps=ALIGN_STEPS, lr=ALIGN_LR,
                                    w_star=W_STAR, w_start=W_START)
    err = (ws - torch.tensor(W_STAR, dtype=F64)).abs()  # (S+1, 2)
    steps = list(range(ws.shape[0]))
    floor = 1e-6  # below the axis: shown at its bottom edge rather than dropped
    data = [
        dict(type="scatter", mode="markers", x=rounded(x[:, 0]), y=rounded(x[:, 1]),
             name="inputs x_i", marker=dict(color=plots.PALETTE[5], size=6), hoverinfo="skip"),
        dict(type="scatter", mode="lines+markers", x=rounded(ws[:, 0]), y=rounded(ws[:, 1]),
             name="weights w_t", xaxis="x2", yaxis="y2", hoverinfo="skip",
             line=dict(color=plots.PALETTE[2], width=2), marker=dict(size=4)),
        dict(type="scatter", mode="markers", x=[W_STAR[0]], y=[W_STAR[1]], name="target w*",
             xaxis="x2", yaxis="y2", marker=dict(color=plots.PALETTE[7], size=12, symbol="star")),
        dict(type="scatter", mode="lines", x=steps, y=rounded(err[:, 0].clamp_min(floor)),
             name="|w₁ − w*₁|", xaxis="x3", yaxis="y3",
             line=dict(color=plots.PALETTE[0], width=2.5)),
        dict(type="scatter", mode="lines", x=steps, y=rounded(err[:, 1].clamp_min(floor)),
             name="|w₂ − w*₂|", xaxis="x3", yaxis="y3",
             line=dict(color=plots.PALETTE[1], width=2.5, dash="dash")),
    ]
    f1, f2 = 1 - 2 * ALIGN_LR, 1 - 2 * ALIGN_LR * spread**2
    title = (f"spread along e₂: s = {spread:.2f}. Per step the error shrinks by<br>"
             f"1 − 2η·1 = {f1:.3f} along e₁ and 1 − 2η·s² = {f2:.3f} along e₂")
    return plots.assemble(_alignment_skeleton(), data, title=title)


@register
def alignment_twin(inputs: torch.Tensor | None = None, *,
                   generator: torch.Generator | None = None) -> Twin:
    """A slider for how far the inputs reach along the second weight direction.

    ``inputs``: :func:`dotbook.alignment.decorrelated_inputs` (default: 64 of
    them drawn from ``generator``)."""
    if inputs is None:
        g = _device.generator(0) if generator is None else generator
        inputs = alignment.decorrelated_inputs(64, generator=g)

    def fn(spread: float) -> Figure:
        return alignment_figure(spread, inputs)

    fn.__name__ = "alignment_figure"
    return Twin(fn, [
        Param("spread", "input spread s along e₂", (0.0, 0.1, 0.25, 0.5, 0.75, 1.0), lo=0.0,
              hi=1.0, step=0.01, default=0.25),
    ])


# ------------------------------------------------------------------ digits (static)
@functools.cache
def _digits_skeleton(a: int, b: int, steps: int) -> Figure:
    return plots.skeleton(
        alt=(f"The cosine between a logistic neuron's weights and two directions, against the "
             f"gradient step on a log scale, for digits {a} against {b}: the difference of "
             f"the class means (it starts at 1 and falls) and the max-margin direction (it "
             f"climbs towards 1)."),
        height=420,
        axes={"xaxis": {"title": "step t (log)", "type": "log", "range": [0, math.log10(steps)]},
              "yaxis": {"title": "cosine", "range": [0.5, 1.02]}},
        legend={"x": 0.02, "xanchor": "left", "y": 0.05, "yanchor": "bottom"},
    )


def digits_figure(cos_mean: torch.Tensor, cos_margin: torch.Tensor, a: int, b: int
                  ) -> Figure:
    """The two cosine curves of the digits experiment (computed by the chapter)."""
    steps_total = cos_mean.shape[0] - 1
    steps = sorted({int(round(10 ** (k / 20))) for k in range(0, 20 * 5)} | {steps_total})
    steps = [s for s in steps if 1 <= s <= steps_total]
    cm, cv = cos_mean.cpu()[steps], cos_margin.cpu()[steps]
    data = [
        dict(type="scatter", mode="lines", x=steps, y=rounded(cm), name="cos(w, μ₁ − μ₀)",
             line=dict(color=plots.PALETTE[4], dash="dash", width=2.5)),
        dict(type="scatter", mode="lines", x=steps, y=rounded(cv),
             name="cos((w, b), max-margin)", line=dict(color=plots.PALETTE[7], dash="dot",
                                                     width=2.5)),
    ]
    title = (f"digits {a} (class 0) against {b} (class 1), {steps_total} steps: "
             f"cos = {float(cm[-1]):.3f} and {float(cv[-1]):.3f} at the end")
    return plots.assemble(_digits_skeleton(a, b, steps_total), data, title=title)
