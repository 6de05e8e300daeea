"""Chapter 13 figures: positions in the dot product, learned heads, decoding costs.

Two twins and two static figures:

- :func:`rope_twin` — one query and one key at every pair of positions (m, n):
  rotary scores are constant along each diagonal m − n, added sinusoidal
  positions are not (slider: the offset m − n).
- :func:`patterns_twin` — the attention weights of the trained two-layer
  attention-only model (:mod:`dotbook.induction`), one heatmap per layer,
  head and example (three sliders).
- :func:`decode_figure` — measured time per generated token, with a KV cache
  and by recomputing, against the prefix length T.
- :func:`flops_figure` — the share of a layer's forward FLOPs spent in attention
  against T, for several widths d; it crosses one half at T = 2d.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import torch

from dotbook import induction, plots, transformer
from dotbook.device import generator as _generator
from dotbook.explore import Param, Twin
from dotbook.figures import register
from dotbook.plots import rounded

__all__ = ["OFFSETS", "EXAMPLES", "rope_figure", "rope_twin", "patterns_figure",
           "patterns_twin", "default_trained", "decode_figure", "flops_figure"]

Fig = dict[str, Any]
#: Offsets m − n on the rope twin's slider.
OFFSETS = tuple(range(-6, 7, 2))
#: Example sequences on the patterns twin's slider.
EXAMPLES = 3
_T_ROPE = 16  # positions in the rope twin
_D_ROPE = 8  # width of its query and key
_BASE_ROPE = 100.0  # a small base, so that every pair turns visibly over 16 positions


# ------------------------------------------------------------ rope
def _rope_skeleton(lo: float, hi: float) -> Fig:
    T = _T_ROPE
    return plots.skeleton(
        alt=("Left: a 16 by 16 heatmap of the score between one rotated query at position m "
             "(rows) and one rotated key at position n (columns); every diagonal has one "
             "colour. The chosen diagonal m - n is outlined. Right: the scores along that "
             "diagonal against m, flat for rotary positions and wavy for added sinusoidal "
             "positions."),
        height=470, cols=2, column_widths=[0.45, 0.55], horizontal_spacing=0.14,
        axes={"xaxis": {"title": "key position n", "range": [-0.5, T - 0.5],
                        "showgrid": False},
              "yaxis": {"title": "query position m", "range": [T - 0.5, -0.5],
                        "showgrid": False},
              "xaxis2": {"title": "query position m", "range": [-0.5, T - 0.5]},
              "yaxis2": {"title": "score q·k", "range": [lo, hi]}},
        legend={"orientation": "h", "x": 0.55, "y": 1.02, "xanchor": "left",
                "yanchor": "bottom"},
        margin={"t": 110},
    )


@functools.cache
def _rope_parts(seed: int) -> dict[str, Any]:
    g = _generator(seed)
    q = torch.randn(_D_ROPE, generator=g, dtype=torch.float64)  # (d,)
    k = torch.randn(_D_ROPE, generator=g, dtype=torch.float64)  # (d,)
    rotary, added = transformer.position_scores(q, k, _T_ROPE, base=_BASE_ROPE)
    both = torch.cat([rotary, added])
    lo, hi = math.floor(both.min().item()) - 1, math.ceil(both.max().item()) + 1
    return {"rotary": rotary.tolist(), "added": added.tolist(),
            "zmax": rotary.abs().max().item(),  # colours centred on 0
            "skeleton": _rope_skeleton(lo, hi)}


def rope_figure(offset: int, *, parts: dict[str, Any]) -> Fig:
    """Scores of one q and one k at every (m, n); the diagonal m − n = ``offset`` outlined."""
    T, off = _T_ROPE, int(offset)
    if not -(T - 1) <= off <= T - 1:
        raise ValueError(f"offset must lie in [{-(T - 1)}, {T - 1}], got {offset!r}")
    ms = [m for m in range(T) if 0 <= m - off < T]  # rows that have position n = m − offset
    rot = [parts["rotary"][m][m - off] for m in ms]
    add = [parts["added"][m][m - off] for m in ms]
    data = [
        dict(type="heatmap", z=rounded(parts["rotary"], 3), zmin=-parts["zmax"],
             zmax=parts["zmax"],
             colorscale="RdBu", reversescale=True, showscale=False, xaxis="x", yaxis="y",
             hovertemplate="m %{y}, n %{x}: %{z}<extra></extra>"),
        dict(type="scatter", x=[m - off for m in ms], y=ms, mode="markers", xaxis="x",
             yaxis="y", marker={"symbol": "square-open", "size": 11,
                                "color": plots.PALETTE[1]},
             name="m − n = offset", hoverinfo="skip", showlegend=False),
        dict(type="scatter", x=ms, y=rounded(rot), mode="lines+markers", xaxis="x2",
             yaxis="y2", name="rotary: rope(q, m)·rope(k, n)",
             line={"color": plots.PALETTE[0], "width": 3}),
        dict(type="scatter", x=ms, y=rounded(add), mode="lines+markers", xaxis="x2",
             yaxis="y2", name="added: (q + P_m)·(k + P_n)",
             line={"color": plots.PALETTE[1], "dash": "dot"}),
    ]
    spread = max(rot) - min(rot)
    title = (f"offset m − n = {off}: rotary scores all {rot[0]:.3f} (spread {spread:.0e}),"
             f"<br>added positions range {min(add):.2f} … {max(add):.2f}")
    return plots.assemble(parts["skeleton"], data, title=title)


@register
def rope_twin(generator: torch.Generator | None = None) -> Twin:
    """The rope twin: a slider for the offset m − n (one random q and k from ``generator``)."""
    g = generator if generator is not None else _generator(0)
    seed = int(torch.randint(0, 2**31, (1,), generator=g, device=g.device))
    parts = _rope_parts(seed)

    def figure(offset: int) -> Fig:
        return rope_figure(offset, parts=parts)

    return Twin(figure, [Param("offset", "offset m − n", OFFSETS, lo=-(_T_ROPE - 1),
                               hi=_T_ROPE - 1, step=1, integer=True, default=2)])


# ------------------------------------------------------------ learned patterns
@functools.cache
def default_trained() -> induction.Trained:
    """The model the registry shows: :func:`dotbook.induction.train_induction` from seed 0."""
    return induction.train_induction(generator=_generator(0))


def _patterns_skeleton(T: int) -> Fig:
    return plots.skeleton(
        alt=("A heatmap of one attention head's weights on one repeated token sequence: "
             "queries as rows, keys as columns, tokens as tick labels. Open circles mark the "
             "previous token, crosses the token after an earlier copy of the current token. "
             "Layer-0 heads follow the circles, layer-1 heads the crosses."),
        height=560,
        axes={"xaxis": {"title": "key (token)", "range": [-0.5, T - 0.5], "showgrid": False,
                        "tickangle": 0},
              "yaxis": {"title": "query (token)", "range": [T - 0.5, -0.5],
                        "showgrid": False}},
        legend={"orientation": "h", "x": 0.0, "y": 1.0, "xanchor": "left",
                "yanchor": "bottom"},
        margin={"t": 120},
    )


def patterns_figure(layer: int, head: int, example: int, *, parts: dict[str, Any]) -> Fig:
    """One head's weights (T × T) on one example, with the two ideal patterns marked."""
    w = parts["patterns"]
    layer, head, example = int(layer), int(head), int(example)
    L, B, h = len(w), len(w[0]), len(w[0][0])
    for v, name, top in ((layer, "layer", L), (head, "head", h), (example, "example", B)):
        if not 0 <= v < top:
            raise ValueError(f"{name} must be in [0, {top - 1}], got {v}")
    tokens = parts["tokens"][example]
    T = len(tokens)
    after = [(t, j) for t in range(T) for j in range(1, t + 1) if tokens[j - 1] == tokens[t]]
    ticks = {"tickvals": list(range(T)), "ticktext": [str(x) for x in tokens]}
    data = [
        dict(type="heatmap", z=rounded(w[layer][example][head], 3), zmin=0, zmax=1,
             colorscale="Blues", showscale=False,
             hovertemplate="query %{y}, key %{x}: %{z}<extra></extra>"),
        dict(type="scatter", x=list(range(T - 1)), y=list(range(1, T)), mode="markers",
             name="previous token", hoverinfo="skip",
             marker={"symbol": "circle-open", "size": 9, "color": plots.PALETTE[2]}),
        dict(type="scatter", x=[j for _, j in after], y=[t for t, _ in after],
             mode="markers", name="after an earlier copy (induction)", hoverinfo="skip",
             marker={"symbol": "x-thin-open", "size": 9, "color": plots.PALETTE[1],
                     "line": {"width": 2, "color": plots.PALETTE[1]}}),
    ]
    prev, ind = parts["prev"][layer][head], parts["induction"][layer][head]
    title = (f"layer {layer}, head {head}: previous-token score {prev:.2f}, "
             f"induction score {ind:.2f}<br>example {example}: a block of "
             f"{parts['periods'][example]} tokens, repeated")
    return plots.assemble(parts["skeleton"], data, title=title,
                          xaxis=ticks, yaxis=ticks)


@register
def patterns_twin(trained: induction.Trained | None = None,
                  generator: torch.Generator | None = None) -> Twin:
    """The learned-patterns twin: sliders for layer, head and example sequence.

    Args:
        trained: from :func:`dotbook.induction.train_induction` (default
            :func:`default_trained`).
        generator: draws the example sequences (default ``generator(0)``).
    """
    trained = trained if trained is not None else default_trained()
    g = generator if generator is not None else _generator(0)
    m = trained.model
    where = m.unembed.weight.device
    tokens = induction.repeated_tokens(EXAMPLES, trained.length, trained.vocab,
                                       trained.periods, generator=g, device=where)
    w = m.patterns(tokens)  # (L, B, h, T, T)
    prev, ind = induction.pattern_scores(w, tokens)  # (L, h) each, over these examples
    same = tokens[:, None, :] == tokens[:, :, None]  # (B, T, T)
    periods = [int(same[b, 0, 1:].float().argmax()) + 1 for b in range(EXAMPLES)]
    parts = {"patterns": w.tolist(), "tokens": tokens.tolist(), "prev": prev.tolist(),
             "induction": ind.tolist(), "periods": periods,
             "skeleton": _patterns_skeleton(trained.length)}

    def figure(layer: int, head: int, example: int) -> Fig:
        return patterns_figure(layer, head, example, parts=parts)

    heads = m.layers[0].heads
    return Twin(figure, [
        Param("layer", "layer", choices=[(i, f"layer {i}") for i in range(len(m.layers))],
              default=0),
        Param("head", "head", choices=[(i, f"head {i}") for i in range(heads)], default=0),
        Param("example", "example sequence", tuple(range(EXAMPLES)), step=1, integer=True,
              default=0),
    ])


# ------------------------------------------------------------ static figures
def decode_figure(rows: Sequence[transformer.DecodeCost], where: str) -> Fig:
    """Measured seconds per generated token against the prefix length T (log–log)."""
    Ts = [r.T for r in rows]
    ms = [r.cached * 1e3 for r in rows] + [r.recomputed * 1e3 for r in rows]
    xr = [math.log10(min(Ts)) - 0.15, math.log10(max(Ts)) + 0.15]
    yr = [math.log10(min(ms)) - 0.3, math.log10(max(ms)) + 0.3]
    sk = plots.skeleton(
        alt=("Log-log plot of the time to produce one more token against the number of "
             "tokens T already generated: with a KV cache the time grows slowly, recomputing "
             "every position grows much faster and is far above it at large T."),
        height=420, margin={"t": 70},
        axes={"xaxis": {"title": "tokens so far T (log scale)", "type": "log", "range": xr},
              "yaxis": {"title": "time per new token (ms, log)", "type": "log", "range": yr}},
        legend={"x": 0.02, "y": 0.98, "xanchor": "left", "yanchor": "top"},
    )
    data = [
        dict(type="scatter", x=Ts, y=rounded([r.recomputed * 1e3 for r in rows]),
             mode="lines+markers", name="recompute all T + 1 positions",
             line={"color": plots.PALETTE[1]}),
        dict(type="scatter", x=Ts, y=rounded([r.cached * 1e3 for r in rows]),
             mode="lines+markers", name="KV cache: one new position",
             line={"color": plots.PALETTE[0]}),
    ]
    return plots.assemble(sk, data, title=f"One decoding step, measured on {where}")


def flops_figure(widths: Sequence[int] = (256, 1024, 4096)) -> Fig:
    """The share 4T²d / (4T²d + 8Td²) of a layer's forward FLOPs in attention, against T."""
    Ts = [2**i for i in range(6, 18)]
    data = []
    for c, d in enumerate(widths):
        share = [transformer.attention_flops(T, d) / (transformer.attention_flops(T, d)
                 + transformer.projection_flops(T, d)) for T in Ts]
        data.append(dict(type="scatter", x=Ts, y=rounded(share), mode="lines+markers",
                         name=f"d = {d:,} (half at T = {transformer.crossover_length(d):,})",
                         line={"color": plots.PALETTE[c]}))
    sk = plots.skeleton(
        alt=("The fraction of one attention layer's forward FLOPs spent on scores and mixing, "
             "against the sequence length T on a log axis, for three widths d: each curve "
             "rises from near 0 to near 1 and crosses one half at T = 2d."),
        height=420, margin={"t": 70},
        axes={"xaxis": {"title": "sequence length T (log scale)", "type": "log",
                        "range": [math.log10(Ts[0]) - 0.1, math.log10(Ts[-1]) + 0.1]},
              "yaxis": {"title": "share of FLOPs in attention", "range": [0, 1]}},
        legend={"x": 0.02, "y": 0.98, "xanchor": "left", "yanchor": "top"},
    )
    return plots.assemble(sk, data, title="Attention (4T²d) against projections (8Td²)")
