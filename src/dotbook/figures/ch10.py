"""Chapter 10 figures: where floating point breaks, and what keeps numbers in range.

Three twins here (training in low precision is in :mod:`dotbook.figures.ch10_training`):

- :func:`softmax_twin` — naive and max-shifted softmax of nine logits scaled
  by a slider, in a chosen dtype, next to the error of each over all scales;
- :func:`accumulation_twin` — the relative error of a low-precision dot
  product against n for four accumulations, with the classical bounds;
- :func:`temperature_twin` — dot products of random vectors grow like √n, and
  a softmax over them sharpens unless a temperature τ divides them;

A dtype is a row of buttons, one per dtype the device supports
(:func:`dotbook.precision.supported_dtypes`), each labelled with the dtype's name;
the figure's value is the index of the chosen one, but no text shows that index:
each figure's title begins with the chosen dtype's name ("float32, …", the
button's label), and the layout's ``meta["dtypes"]`` lists the names in order.
The figures only draw: the measurements come from :mod:`dotbook.precision` and
:mod:`dotbook.stability`, and every random draw from the generator the chapter
passes to a twin (``book.generator(k)``; ``dotbook.device.generator(0)`` when
none is given). Every number sent to the page is rounded to four significant digits.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch

from dotbook import device as _device
from dotbook import plots, precision
from dotbook.device import dtype_name
from dotbook.explore import Figure, Param, Twin
from dotbook.figures import register
from dotbook.plots import rounded

__all__ = [
    "ACC_N",
    "SCALES",
    "TEMPERATURES",
    "TEMP_N",
    "accumulation_figure",
    "accumulation_twin",
    "softmax_figure",
    "softmax_twin",
    "temperature_figure",
    "temperature_twin",
]

LOGITS = precision.LOGITS
#: The static grid of logit scales (the largest logit equals the scale).
SCALES = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 10_000.0)
#: Vector lengths of the accumulation figure (powers of two).
ACC_N = tuple(2**k for k in range(3, 14))
ACC_TRIALS = 32
#: Dimensions and temperatures of the temperature figure.
TEMP_N = (4, 16, 64, 256, 1024, 4096)
TEMPERATURES = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)  # includes √n for every n
_KEYS = 12  # keys in the temperature figure's softmax

_COLORS = {"naive": plots.PALETTE[1], "shifted": plots.PALETTE[0], "reference": plots.PALETTE[7],
           "low": plots.PALETTE[1], "float32": plots.PALETTE[0], "pairwise": plots.PALETTE[2],
           "kahan": plots.PALETTE[3], "none": plots.PALETTE[1], "layer": plots.PALETTE[0],
           "rms": plots.PALETTE[2], "bound": plots.PALETTE[7], "limit": plots.PALETTE[4]}


_LOG = {"type": "log", "exponentformat": "power"}


def _names(dtypes: Sequence[torch.dtype]) -> tuple[str, ...]:
    """The dtypes' names in the order of the buttons, for the layout's ``meta``."""
    return tuple(dtype_name(d) for d in dtypes)


def _log10(x: float, floor: float) -> float:
    return math.log10(max(x, floor))


# ------------------------------------------------------------------ softmax
_SCALE_AXIS = torch.logspace(-0.3, 4.3, 181, dtype=torch.float64)  # (181,) 0.5 … 2·10⁴
_ERR_FLOOR = 1e-17  # a log axis has no 0: exact results are drawn here
_NAN_AT = 3.0  # where nan results are marked on the error axis


@functools.cache
def _softmax_curves(dtype: torch.dtype) -> dict[str, list]:
    """Max |p − p_ref| over the nine probabilities at every scale of the axis,
    naive and shifted, in ``dtype`` (``None`` where the result is nan or inf),
    rounded for the page. Computed once per dtype: the curves do not move with
    the scale slider."""
    x = (_SCALE_AXIS[:, None] * LOGITS).to(dtype)  # (S, 9) rounded logits
    ref = torch.softmax(x.double(), dim=-1)  # (S, 9)
    out: dict[str, list] = {"scale": rounded(_SCALE_AXIS.tolist())}
    for method in precision.SOFTMAX_METHODS:
        p = precision.softmax(x, method=method).double()  # (S, 9)
        err = (p - ref).abs().amax(dim=-1).clamp_min(_ERR_FLOOR)  # (S,)
        bad = ~torch.isfinite(p).all(dim=-1)  # (S,)
        out[method] = rounded([None if b else e for e, b in zip(err.tolist(), bad.tolist(),
                                                                strict=True)])
        out[method + "_nan"] = [_NAN_AT if b else None for b in bad.tolist()]
    return out


@functools.cache
def _softmax_skeleton(names: tuple[str, ...]) -> Figure:
    return plots.skeleton(
        alt=("Left: bars of the softmax of nine logits computed naively and after shifting "
             "by the maximum, with float64 reference markers; near the dtype's overflow "
             "threshold the naive bars drop to zero (their sum overflowed) and then vanish "
             "because they are nan. "
             "Right: the largest error of each method against the logit scale on log axes; "
             "the naive curve jumps to about 1 where its denominator overflows and nan "
             "markers follow, while the shifted curve stays small."),
        height=480, cols=2, column_widths=[0.45, 0.55], horizontal_spacing=0.12,
        axes={
            "xaxis": {"title": "logit x_i / scale", "range": [-1.15, 1.15]},
            "yaxis": {"title": "probability softmax(x)_i", "range": [0, 1.05]},
            "xaxis2": {"title": "logit scale = largest logit (log)", **_LOG,
                       "range": [-0.3, 4.3]},
            "yaxis2": {"title": "max |p − p_float64| (log)", **_LOG, "dtick": 4,
                       "range": [-17.2, 1.0]},
        },
        # the left panel's top-left corner: the negative logits never get much weight
        legend={"x": 0.01, "xanchor": "left", "y": 0.99, "yanchor": "top",
                "font": {"size": 11}},
        margin={"t": 95},
        barmode="group",
        meta={"dtypes": list(names)},
    )


def softmax_figure(dtype_index: int, scale: float,
                   dtypes: Sequence[torch.dtype] = precision.DTYPES) -> Figure:
    """Softmax of ``scale * LOGITS`` in ``dtypes[dtype_index]``, naive and shifted."""
    dtype = dtypes[dtype_index]
    lim = precision.limits(dtype)
    x = (scale * LOGITS).to(dtype)  # (9,) rounded logits
    ref = torch.softmax(x.double(), dim=-1)  # (9,)
    naive = precision.softmax(x, method="naive").double()
    shifted = precision.softmax(x).double()
    curves = _softmax_curves(dtype)
    pos = LOGITS.tolist()
    bar = dict(type="bar", x=pos, width=0.09)
    data = [
        dict(bar, y=rounded(naive.tolist()), name="naive e^x / Σe^x", offset=-0.09,
             marker=dict(color=_COLORS["naive"])),
        dict(bar, y=rounded(shifted.tolist()), name="shifted e^(x−m) / Σe^(x−m)", offset=0.0,
             marker=dict(color=_COLORS["shifted"])),
        dict(type="scatter", mode="markers", x=pos, y=rounded(ref.tolist()),
             name="float64 reference", marker=dict(color=_COLORS["reference"], symbol="line-ew",
                                                   size=14, line=dict(width=2))),
    ]
    for method, label in (("naive", "naive"), ("shifted", "shifted")):
        data.append(dict(type="scatter", mode="lines", x=curves["scale"],
                         y=curves[method], name=f"{label}: error", showlegend=False,
                         xaxis="x2", yaxis="y2",
                         line=dict(color=_COLORS[method], width=2.5)))
    data.append(dict(type="scatter", mode="markers", x=curves["scale"],
                     y=curves["naive_nan"], name="naive returns nan", xaxis="x2", yaxis="y2",
                     marker=dict(color=_COLORS["naive"], symbol="x", size=6)))
    data.append(dict(type="scatter", mode="lines", x=[lim.exp_overflow] * 2, y=[1e-17, 10.0],
                     name="overflow: log(max)", xaxis="x2", yaxis="y2", showlegend=False,
                     line=dict(color=_COLORS["limit"], dash="dash", width=2)))
    data.append(dict(type="scatter", mode="lines", x=[scale, scale], y=[1e-17, 10.0],
                     name="this scale", xaxis="x2", yaxis="y2", showlegend=False,
                     line=dict(color=_COLORS["reference"], dash="dot", width=1.5)))
    if torch.isnan(naive).any():
        state = "nan"
    elif abs(float(naive.sum()) - 1) > 0.5:
        state = "all 0 (its sum overflowed)"
    else:
        state = "fine"
    title = (f"{dtype_name(dtype)}, largest logit {scale:g}: naive is {state}<br>"
             f"exp overflows past log(max) = {lim.exp_overflow:.2f} (dashed line)")
    return plots.assemble(_softmax_skeleton(_names(dtypes)), data, title=title)


@register
def softmax_twin(dtypes: Sequence[torch.dtype] | None = None) -> Twin:
    """Buttons for the dtype (``dtypes``, default: what the CPU supports), each
    labelled with its name, and a slider for the logit scale."""
    dtypes = tuple(precision.supported_dtypes() if dtypes is None else dtypes)
    for dtype in dtypes:  # the error curves, once per dtype, before any slider moves
        _softmax_curves(dtype)

    def fn(dtype_index: int, scale: float) -> Figure:
        return softmax_figure(dtype_index, scale, dtypes)

    fn.__name__ = "softmax_figure"
    return Twin(fn, [
        Param("dtype_index", "dtype", choices=[(i, dtype_name(d)) for i, d in enumerate(dtypes)],
              default=min(1, len(dtypes) - 1)),
        Param("scale", "logit scale", SCALES, lo=1.0, hi=10_000.0, log=True, default=100.0),
    ])


# ------------------------------------------------------------ accumulation
@functools.cache
def _accumulation_skeleton(names: tuple[str, ...]) -> Figure:
    return plots.skeleton(
        alt=("Relative error of a low-precision dot product against the vector length n on "
             "log–log axes, for sequential accumulation in the low precision, float32 "
             "accumulation, pairwise and Kahan summation, with the worst-case bound γ_n, "
             "the pairwise bound and the √n·u growth rate of typical errors; the sequential "
             "error first grows parallel to √n·u, then faster, towards 1, as the running sum "
             "stagnates, while the other three stay below the unit roundoff."),
        height=500,
        axes={
            "xaxis": {"title": "vector length n (log)", **_LOG,
                      "range": [math.log10(6), math.log10(12_000)]},
            "yaxis": {"title": "relative error |ŝ − a·b| / a·b (log)", **_LOG, "dtick": 1,
                      "range": [-9.5, 0.5]},
        },
        # bottom left: every curve stays above 10⁻⁶ there
        legend={"x": 0.01, "xanchor": "left", "y": 0.01, "yanchor": "bottom",
                "font": {"size": 11}, "bgcolor": "rgba(255,255,255,0.85)"},
        margin={"t": 95, "l": 90},
        meta={"dtypes": list(names)},
    )


_ACC_LABELS = {"low": "(a) sequential, low precision", "float32": "(b) float32 accumulator",
               "pairwise": "(c) pairwise", "kahan": "(d) Kahan"}


def accumulation_figure(dtype_index: int,
                        dtypes: Sequence[torch.dtype] = (torch.float16, torch.bfloat16),
                        measured: dict[torch.dtype, precision.AccumulationErrors] | None = None
                        ) -> Figure:
    """Median relative error of :func:`dotbook.precision.rounded_dot` against n, four
    accumulations, for ``dtypes[dtype_index]``, with γ_n, the pairwise bound and √n·u.

    ``measured`` maps each dtype to its :func:`dotbook.precision.accumulation_errors`."""
    dtype = dtypes[dtype_index]
    if measured is None or dtype not in measured:
        raise ValueError(f"measured has no measurement for {dtype_name(dtype)}; pass "
                         f"{{dtype: precision.accumulation_errors(dtype, ns, ...)}}")
    e = measured[dtype]
    u = precision.limits(dtype).unit_roundoff
    ns = list(e.ns)
    dense = [2 ** (k / 4) for k in range(12, 4 * 14 + 1)]  # (…) 8 … 16384
    data = []
    for acc in precision.ACCUMULATIONS:
        data.append(dict(type="scatter", mode="lines+markers", x=ns, y=rounded(e.median(acc)),
                         name=_ACC_LABELS[acc], line=dict(color=_COLORS[acc], width=2.5),
                         marker=dict(size=7)))
    gam = [precision.gamma(math.ceil(n), u) for n in dense]
    data += [
        dict(type="scatter", mode="lines", x=rounded(dense), y=rounded(gam),
             name="bound γ_n = nu/(1−nu) for (a)", line=dict(color=_COLORS["bound"], dash="dash")),
        dict(type="scatter", mode="lines", x=rounded(dense),
             y=rounded([math.sqrt(n) * u for n in dense]), name="√n·u: typical growth rate",
             line=dict(color=_COLORS["low"], dash="dot")),
        dict(type="scatter", mode="lines", x=rounded(dense),
             y=rounded([precision.gamma(math.ceil(math.log2(n)) + 1, u) for n in dense]),
             name="bound γ_(⌈log₂n⌉+1) for (c)",
             line=dict(color=_COLORS["pairwise"], dash="dash")),
        dict(type="scatter", mode="lines", x=[6, 12_000], y=[u, u],
             name=f"unit roundoff u = 2^{round(math.log2(u))}",
             line=dict(color=_COLORS["limit"], width=1.5)),
    ]
    worst_n = next((n for n, g in zip(dense, gam, strict=True) if math.isinf(g)), None)
    where = f"γ_n is infinite from n = {math.ceil(worst_n)}" if worst_n else ""
    title = (f"{dtype_name(dtype)} inputs (u = {u:.2g}), median of "
             f"{ACC_TRIALS} pairs with entries in [0, 1).<br>{where}")
    return plots.assemble(_accumulation_skeleton(_names(dtypes)), data, title=title)


@register
def accumulation_twin(measured: dict[torch.dtype, precision.AccumulationErrors] | None = None,
                      *, generator: torch.Generator | None = None) -> Twin:
    """Buttons for the measured low-precision dtypes: the keys of ``measured``
    (a chapter measures on its own device), or by default float16 and bfloat16
    measured on the generator's device (:data:`ACC_N`, ``ACC_TRIALS`` pairs each)."""
    if measured is None:
        g = _device.generator(0) if generator is None else generator
        dtypes = precision.supported_dtypes(g.device, candidates=(torch.float16, torch.bfloat16))
        measured = {d: precision.accumulation_errors(d, ACC_N, ACC_TRIALS, generator=g)
                    for d in dtypes}
    else:
        dtypes = tuple(measured)
        if not dtypes or not all(isinstance(e, precision.AccumulationErrors)
                                 for e in measured.values()):
            raise TypeError("measured must map dtypes to precision.accumulation_errors(...) "
                            "results")

    def fn(dtype_index: int) -> Figure:
        return accumulation_figure(dtype_index, dtypes, measured)

    fn.__name__ = "accumulation_figure"
    return Twin(fn, [Param("dtype_index", "dtype",
                           choices=[(i, dtype_name(d)) for i, d in enumerate(dtypes)], default=0)])


# ------------------------------------------------------------- temperature
#: The dimensions of the temperature figure's std panel.
SPREAD_N = tuple(2**k for k in range(0, 13))


@functools.cache
def _temperature_skeleton() -> Figure:
    ticks = [1, 2, 4, 8, 16, 32, 64]
    return plots.skeleton(
        alt=("Left: the standard deviation of the dot product of two random vectors against "
             "the dimension n on log–log axes, following the line √n, with the current n "
             "marked. Right: softmax weights of twelve keys for one query at temperature τ; "
             "at τ = 1 and large n almost all weight goes to one key, at τ = √n the weights "
             "spread out."),
        height=470, cols=2, column_widths=[0.42, 0.58], horizontal_spacing=0.12,
        axes={
            "xaxis": {"title": "dimension n (log)", **_LOG,
                      "range": [-0.15, math.log10(6000)]},
            "yaxis": {"title": "std of q·k (log)", **_LOG, "range": [-0.15, 2.0],
                      "tickvals": ticks, "ticktext": [str(t) for t in ticks]},
            "xaxis2": {"title": "key j (sorted by score q·k_j)", "range": [0.3, _KEYS + 0.7]},
            "yaxis2": {"title": "softmax weight of key j", "range": [0, 1.05]},
        },
        legend={"x": 0.01, "xanchor": "left", "y": 0.99, "yanchor": "top",
                "font": {"size": 11}},
        margin={"t": 95},
    )


def temperature_figure(n: int, tau: float, stds: Sequence[float], q: torch.Tensor,
                       k: torch.Tensor) -> Figure:
    """Left: std of q·k against n (``stds`` at :data:`SPREAD_N`), with √n. Right:
    softmax(q·k_j / τ) for the keys ``k`` (one per row), using their first n coordinates."""
    ns = list(SPREAD_N)
    n = int(n)
    if not 1 <= n <= q.shape[0]:
        raise ValueError(f"n = {n} is outside [1, {q.shape[0]}], the dimensions drawn")
    s = (k[:, :n] @ q[:n]).sort(descending=True).values  # (T,) largest first
    p = precision.softmax(s / tau)  # (T,)
    entropy = float(-(p * torch.log(p.clamp_min(1e-300))).sum())
    keys = list(range(1, _KEYS + 1))
    data = [
        dict(type="scatter", mode="markers", x=ns, y=rounded(stds), name="sampled std of q·k",
             marker=dict(color=plots.COLORS["sample"], size=8)),
        dict(type="scatter", mode="lines", x=[1, 6000], y=[1, math.sqrt(6000)], name="√n",
             line=dict(color=plots.COLORS["exact"], dash="dash")),
        dict(type="scatter", mode="markers", x=[n], y=[rounded(math.sqrt(n))],
             name="this n", marker=dict(color=plots.PALETTE[7], size=12, symbol="diamond")),
        dict(type="bar", x=keys, y=rounded(p.tolist()), xaxis="x2", yaxis="y2",
             name="softmax(q·k / τ)", showlegend=False,
             marker=dict(color=plots.PALETTE[0])),
    ]
    title = (f"n = {n}, τ = {tau:g} (√n = {math.sqrt(n):.3g}): scores spread over "
             f"{float(s[0] - s[-1]):.3g}<br>top weight {float(p[0]):.3f}; entropy "
             f"{entropy:.2f} (at most log 12 = {math.log(_KEYS):.2f})")
    return plots.assemble(_temperature_skeleton(), data, title=title)


@register
def temperature_twin(generator: torch.Generator | None = None) -> Twin:
    """Sliders for the dimension n and the temperature τ; the scores are drawn
    once from ``generator`` (:func:`dotbook.precision.score_spread`,
    :func:`dotbook.precision.temperature_scores`)."""
    g = _device.generator(0) if generator is None else generator
    stds = precision.score_spread(SPREAD_N, 500, generator=g)
    q, k = (t.cpu() for t in precision.temperature_scores(TEMP_N[-1], _KEYS, generator=g))

    def fn(n: int, tau: float) -> Figure:
        return temperature_figure(n, tau, stds, q, k)

    fn.__name__ = "temperature_figure"
    return Twin(fn, [
        Param("n", "dimension n", TEMP_N, lo=2, hi=4096, log=True, integer=True, default=256,
              fmt="d"),
        Param("tau", "temperature τ", TEMPERATURES, lo=0.25, hi=64.0, log=True, default=1.0,
              fmt="g"),
    ])
