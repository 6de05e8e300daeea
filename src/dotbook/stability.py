r"""Chapter 10, second half: keeping the size of activations and gradients in range.

**Size.** The dot product of two vectors with independent mean-zero,
unit-variance entries has standard deviation :math:`\sqrt n`, so softmax logits, activations
and gradients grow with width and depth unless something rescales them:
a temperature (:func:`dotbook.precision.softmax` of ``x / tau``), normalisation
(:func:`layer_norm`, :func:`rms_norm`), or clipping the gradient's norm
(:func:`clip_by_norm`). :func:`deep_mlp` builds a deep ReLU network whose
weights are a factor ``gain`` too large, the exploding configuration.

Every function accepts tensors on any device and returns on the same device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from dotbook import _validate, initialization
from dotbook import device as _device

__all__ = [
    "NORMS",
    "MLPConfig",
    "Normalization",
    "Training",
    "clip_by_norm",
    "deep_mlp",
    "depth_profile",
    "layer_norm",
    "preactivation_rms",
    "preactivations",
    "rms_norm",
    "train",
]

#: Normalisations :func:`deep_mlp` can put after each linear layer.
NORMS: tuple[str, ...] = ("none", "layer", "rms")
#: Upper bounds on the sizes this chapter could need (a huge request fails at once).
MAX_DEPTH, MAX_WIDTH, MAX_STEPS = 1024, 8192, 100_000

# ------------------------------------------------------- normalisation, clipping
def _wide(x: torch.Tensor) -> torch.Tensor:
    """``x`` in at least float32: statistics of float16/bfloat16 tensors are
    accumulated in float32, as PyTorch's own normalisation kernels do (a square
    of 300 already overflows float16)."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def _eps(eps: object) -> float:
    """``eps`` as a float > 0: a clear error for 0, a negative number, NaN or a non-number."""
    if isinstance(eps, bool) or not isinstance(eps, (int, float)):
        raise TypeError(f"eps must be a positive number such as 1e-5, got {eps!r} "
                        f"({type(eps).__name__})")
    eps = _validate.in_range(eps, "eps", 0.0, 1.0)
    if eps <= 0:
        raise ValueError(f"eps must be > 0 (it keeps the division defined for a constant row), "
                         f"got {eps}; pass e.g. 1e-5")
    return eps


def layer_norm(x: torch.Tensor, weight: torch.Tensor | None = None,
               bias: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    r"""Layer normalisation over the last dimension (Ba, Kiros & Hinton 2016):

    .. math::  y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}\odot g + \beta, \qquad
               \mu = \tfrac1n\textstyle\sum_i x_i,\ \ \sigma^2 = \tfrac1n\sum_i (x_i - \mu)^2 .

    Computed in at least float32, returned in ``x``'s dtype.

    Args:
        x: floating tensor.
        weight, bias: the gain :math:`g` and shift :math:`\beta`, shape ``(n,)``
            (default 1 and 0), same dtype and device as ``x``.
        eps: added to the variance, in :math:`(0, 1]` (0, negative, NaN: an error).

    Shape:
        ``x``: ``(*, n)``; output: the same.

    Examples::

        >>> x = torch.tensor([1.0, 2.0, 3.0, 4.0]) * 1000
        >>> layer_norm(x)
        tensor([-1.3416, -0.4472,  0.4472,  1.3416])
    """
    x = _validate.finite(_validate.batched(x, "x"), "x")
    eps = _eps(eps)
    n = x.shape[-1]
    if weight is not None:
        _validate.last_dim(weight, "weight", n, x, "x")
    if bias is not None:
        _validate.last_dim(bias, "bias", n, x, "x")
    xw = _wide(x)  # (*, n)
    mu = xw.mean(dim=-1, keepdim=True)  # (*, 1)
    centred = xw - mu  # (*, n)
    var = (centred * centred).mean(dim=-1, keepdim=True)  # (*, 1)
    y = centred * torch.rsqrt(var + eps)  # (*, n)
    if weight is not None:
        y = y * _wide(weight)
    if bias is not None:
        y = y + _wide(bias)
    return y.to(x.dtype)


def rms_norm(x: torch.Tensor, weight: torch.Tensor | None = None,
             eps: float | None = None) -> torch.Tensor:
    r"""Root-mean-square normalisation over the last dimension (Zhang & Sennrich 2019):

    .. math::  y = \frac{x}{\sqrt{\tfrac1n\sum_i x_i^2 + \epsilon}}\odot g .

    No centring: cheaper than :func:`layer_norm`, and it sets the RMS to 1.
    Computed in at least float32, returned in ``x``'s dtype.

    Args:
        x: floating tensor.
        weight: the gain :math:`g`, shape ``(n,)`` (default 1), same dtype and device.
        eps: added to the mean square, in :math:`(0, 1]`; default
            ``torch.finfo(x.dtype).eps``, as ``torch.nn.RMSNorm`` does.

    Shape:
        ``x``: ``(*, n)``; output: the same.

    Examples::

        >>> y = rms_norm(torch.tensor([300.0, -400.0], dtype=torch.float16))
        >>> y  # 300² = 90000 would overflow float16; the statistics are float32
        tensor([ 0.8486, -1.1318], dtype=torch.float16)
    """
    x = _validate.finite(_validate.batched(x, "x"), "x")
    if weight is not None:
        _validate.last_dim(weight, "weight", x.shape[-1], x, "x")
    eps = torch.finfo(x.dtype).eps if eps is None else _eps(eps)
    xw = _wide(x)  # (*, n)
    ms = (xw * xw).mean(dim=-1, keepdim=True)  # (*, 1) mean square
    y = xw * torch.rsqrt(ms + eps)  # (*, n)
    if weight is not None:
        y = y * _wide(weight)
    return y.to(x.dtype)


class Normalization(nn.Module):
    """:func:`layer_norm` or :func:`rms_norm` as a layer with a learnable gain
    (and, for LayerNorm, shift), initialised to 1 and 0 like PyTorch's own.

    Args:
        kind: ``"layer"`` or ``"rms"``.
        width: the normalised size ``n``.
    """

    def __init__(self, kind: str, width: int, *, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None) -> None:
        super().__init__()
        self.kind = _validate.choice(kind, "kind", ("layer", "rms"))
        width = _validate.integer(width, "width", at_most=MAX_WIDTH)
        _device.check(device, dtype, optional=True)
        self.weight = nn.Parameter(torch.ones(width, dtype=dtype, device=device))
        self.bias = (nn.Parameter(torch.zeros(width, dtype=dtype, device=device))
                     if kind == "layer" else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "layer":
            return layer_norm(x, self.weight, self.bias)
        return rms_norm(x, self.weight)


@dataclass(frozen=True)
class MLPConfig:
    """A deep ReLU network: ``depth`` blocks of Linear (no bias) → norm → ReLU.

    Attributes:
        depth: number of linear layers.
        width: neurons per layer (and input size).
        gain: weights are :math:`\\mathcal N(0, \\text{gain}^2 \\cdot 2/\\text{width})`;
            ``gain = 1`` is He initialisation, which keeps the mean square of the
            activations constant; each layer multiplies it by ``gain**2``.
        norm: ``"none"``, ``"layer"`` or ``"rms"`` after every linear layer.
    """

    depth: int = 24
    width: int = 64
    gain: float = 1.5
    norm: str = "none"

    def __post_init__(self) -> None:
        _validate.integer(self.depth, "depth", at_most=MAX_DEPTH)
        _validate.integer(self.width, "width", at_most=MAX_WIDTH)
        _validate.in_range(self.gain, "gain", 1e-3, 1e3)
        _validate.choice(self.norm, "norm", NORMS)


def deep_mlp(config: MLPConfig, *, generator: torch.Generator | None = None,
             dtype: torch.dtype = torch.float32,
             device: torch.device | str | None = None) -> nn.Sequential:
    r"""The network of ``config`` with weights drawn from ``generator``.

    Each weight matrix is filled by :func:`dotbook.initialization.initialize_`
    with the ``"he"`` scheme and ``config.gain`` (:math:`N(0, \text{gain}^2\cdot
    2/\text{width})`), in float32, layer by layer in order; the finished network
    is then rounded to ``dtype``, so the float16 network is exactly the float32
    one, rounded. The linear layers have no bias, and a ReLU (after the
    normalisation, if any) follows every one of them, the last included, unlike
    :func:`dotbook.initialization.mlp`.

    With ``gain > 1`` and no normalisation the pre-activations (dot products
    :math:`W_l h_{l-1}`) grow like :math:`\text{gain}^l`: the *exploding*
    configuration (He et al. 2015 derive ``gain = 1``; Chapter 9).

    Args:
        config: depth, width, gain and normalisation.
        generator: the random stream (default: ``dotbook.device.generator(0)``).
        dtype: the network's dtype.
        device: where it lives (default: the generator's device).

    Examples::

        >>> net = deep_mlp(MLPConfig(depth=3, width=8, norm="rms"))
        >>> [type(m).__name__ for m in net][:3]
        ['Linear', 'Normalization', 'ReLU']
    """
    if not isinstance(config, MLPConfig):
        raise TypeError(f"config must be an MLPConfig, got {type(config).__name__}")
    dev, dtype = _device.placement(device, dtype, generator)
    if generator is None:
        generator = _device.generator(0, dev)
    layers: list[nn.Module] = []
    for _ in range(config.depth):
        linear = nn.utils.skip_init(nn.Linear, config.width, config.width, bias=False,
                                    dtype=torch.float32, device=dev)  # weights drawn below
        initialization.initialize_(linear.weight, "he", config.gain, generator=generator)
        layers.append(linear)
        if config.norm != "none":
            layers.append(Normalization(config.norm, config.width, dtype=torch.float32,
                                        device=dev))
        layers.append(nn.ReLU())
    return nn.Sequential(*layers).to(dtype)


def preactivations(net: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    r"""The output of every linear layer of ``net`` (its dot products
    :math:`W_l h_{l-1}`) on the batch ``x``, in order, computed without gradients.

    Shape:
        ``x``: ``(B, width)``; each output: ``(B, width)``.

    Examples::

        >>> net = deep_mlp(MLPConfig(depth=3, width=8))
        >>> [tuple(z.shape) for z in preactivations(net, torch.randn(5, 8))]
        [(5, 8), (5, 8), (5, 8)]
    """
    x = _validate.finite(_validate.batched(x, "x"), "x")
    if not isinstance(net, nn.Sequential):
        raise TypeError(f"net must be an nn.Sequential (e.g. from deep_mlp), got "
                        f"{type(net).__name__}")
    first = next((m for m in net if isinstance(m, nn.Linear)), None)
    if first is None:
        raise ValueError("net has no nn.Linear layer; pass a network from deep_mlp")
    if x.shape[-1] != first.in_features:
        raise ValueError(f"x has shape {tuple(x.shape)} but the network's first layer takes "
                         f"{first.in_features} inputs; pass x of shape (B, {first.in_features})")
    _validate.same_kind(first.weight, x, "the network's weights, x")
    out = []
    h = x
    with torch.no_grad():
        for layer in net:
            h = layer(h)
            if isinstance(layer, nn.Linear):
                out.append(h)
    return out


def preactivation_rms(net: nn.Sequential, x: torch.Tensor) -> list[float]:
    r"""The root mean square of every linear layer's output (its dot products
    :math:`W_l h_{l-1}`) on the batch ``x``, layer by layer, as Python floats
    (``inf`` or ``nan`` where the dtype overflowed).

    Shape:
        ``x``: ``(B, width)``.

    Examples::

        >>> net = deep_mlp(MLPConfig(depth=4, width=256, gain=2.0))
        >>> rms = preactivation_rms(net, torch.randn(64, 256))
        >>> 1.6 < rms[3] / rms[2] < 2.4  # each layer multiplies the RMS by gain = 2
        True
    """
    return [z.float().pow(2).mean().sqrt().item() for z in preactivations(net, x)]


def depth_profile(gains: Sequence[float], *, depth: int = 32, width: int = 64,
                  batch: int = 64, generator: torch.Generator
                  ) -> dict[float, dict[str, dict[str, list[float]]]]:
    r"""How big the dot products and weight gradients are, layer by layer, in a
    :func:`deep_mlp` at each weight gain, for each of :data:`NORMS`.

    One batch :math:`x` of shape ``(batch, width)`` with :math:`N(0,1)` entries is
    drawn first, then one network per norm at gain 1 (in the order of
    :data:`NORMS`), all from ``generator``, float32 on its device. The weights at
    gain :math:`g` are :math:`g` times those at gain 1, which is what
    :func:`deep_mlp` draws for gain :math:`g` from the same stream; every
    gain's weights are stacked along a leading dimension, so each layer is one
    batched matrix product for all gains. The loss is the mean square of the
    network's output.

    Returns:
        ``{gain: {norm: {"rms": [RMS of W_l h_(l-1)], "grad": [‖∂L/∂W_l‖]}}}``,
        one entry per layer.

    Examples::

        >>> from dotbook.device import generator
        >>> d = depth_profile([1.0, 2.0], depth=4, width=16, generator=generator(0))
        >>> r = d[2.0]["none"]["rms"]
        >>> 1.5 < r[3] / r[2] < 2.6, len(d[1.0]["layer"]["grad"])
        (True, 4)
    """
    if isinstance(gains, (str, bytes)) or not isinstance(gains, Sequence) or not gains:
        raise TypeError(f"gains must be a non-empty sequence of numbers, got {gains!r}")
    if len(gains) > 256:
        raise ValueError(f"gains has {len(gains)} entries; pass at most 256")
    gains = [_validate.in_range(gk, f"gains[{i}]", 1e-3, 1e3) for i, gk in enumerate(gains)]
    depth = _validate.integer(depth, "depth", at_most=MAX_DEPTH)
    width = _validate.integer(width, "width", at_most=1024)
    batch = _validate.integer(batch, "batch", at_most=4096)
    _validate.generator(generator)
    dev, _ = _device.placement(None, torch.float32, generator)
    x = torch.randn(batch, width, generator=generator, device=dev)  # (B, width)
    nets = {norm: deep_mlp(MLPConfig(depth=depth, width=width, gain=1.0, norm=norm),
                           generator=generator) for norm in NORMS}
    scale = torch.tensor(gains, dtype=torch.float32, device=dev)[:, None, None]  # (G, 1, 1)
    out: dict[float, dict[str, dict[str, list[float]]]] = {gk: {} for gk in gains}
    for norm, net in nets.items():
        weights = [(scale * m.weight.detach()).requires_grad_()
                   for m in net if isinstance(m, nn.Linear)]  # L × (G, width, width)
        h, zs = x.expand(len(gains), *x.shape), []  # (G, B, width)
        for layer in net:  # one forward pass, keeping every layer's dot products
            if isinstance(layer, nn.Linear):
                h = h @ weights[len(zs)].transpose(1, 2)  # (G, B, width)
                zs.append(h)
            else:
                h = layer(h)  # norms and ReLU act on the last dimension
        # the gains do not interact, so the sum's gradient holds each gain's own
        grads = torch.autograd.grad(h.pow(2).mean(dim=(1, 2)).sum(), weights)
        rms = torch.stack([z.detach().pow(2).mean(dim=(1, 2)).sqrt() for z in zs],
                          dim=1).tolist()  # (G, L)
        norms = torch.stack([gw.double().flatten(1).norm(dim=1) for gw in grads],
                            dim=1).tolist()  # (G, L)
        for k, gk in enumerate(gains):
            out[gk][norm] = {"rms": rms[k], "grad": norms[k]}
    return out


def clip_by_norm(grads: Sequence[torch.Tensor], max_norm: float,
                 eps: float = 1e-6) -> tuple[list[torch.Tensor], torch.Tensor]:
    r"""Clip a list of gradients by their global norm (Pascanu, Mikolov & Bengio 2013):

    .. math::  \lVert g\rVert = \Big(\sum_k \lVert g_k\rVert_2^2\Big)^{1/2}, \qquad
               g_k \leftarrow g_k \cdot \min\Big(1, \frac{c}{\lVert g\rVert + \epsilon}\Big).

    The direction of the whole update is kept; only its length is capped: the
    clipped norm is :math:`\lVert g\rVert \min(1, c / (\lVert g\rVert + \epsilon)) < c`
    whenever the coefficient is below 1, and the gradient is left alone only when
    :math:`\lVert g\rVert \le c - \epsilon`, so it is always at most :math:`c`.
    Pascanu et al. rescale to :math:`c\,g/\lVert g\rVert` when
    :math:`\lVert g\rVert \ge c`; the :math:`\epsilon` is PyTorch's:
    ``torch.nn.utils.clip_grad_norm_`` computes exactly this formula, with a fixed
    :math:`\epsilon = 10^{-6}`, in place; this version returns new tensors.

    Args:
        grads: gradient tensors, on one device and of one floating dtype.
        max_norm: the cap :math:`c > 0`.
        eps: added to the norm before dividing.

    Returns:
        the clipped gradients and the total norm before clipping (a 0-d tensor).

    Examples::

        >>> g, norm = clip_by_norm([torch.tensor([3.0]), torch.tensor([4.0])], 1.0)
        >>> norm, torch.cat(g)
        (tensor(5.), tensor([0.6000, 0.8000]))
    """
    if isinstance(grads, (torch.Tensor, str)) or not hasattr(grads, "__iter__"):
        raise TypeError(f"grads must be a list of gradient tensors, got {type(grads).__name__}")
    grads = list(grads)
    if not grads:
        raise ValueError("grads is empty; pass the list of gradient tensors to clip")
    for k, g in enumerate(grads):
        _validate.tensor(g, f"grads[{k}]")
        _validate.same_kind(grads[0], g, f"grads[0], grads[{k}]")
    max_norm = _validate.in_range(max_norm, "max_norm", 0.0, math.inf)
    if max_norm <= 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm}")
    eps = _validate.in_range(eps, "eps", 0.0, 1.0)
    total = torch.linalg.vector_norm(
        torch.stack([torch.linalg.vector_norm(g) for g in grads]))  # ()
    coef = torch.clamp(max_norm / (total + eps), max=1.0)  # ()
    return [g * coef for g in grads], total


@dataclass(frozen=True)
class Training:
    """What :func:`train` recorded, one entry per step that ran.

    Attributes:
        losses: the loss before each step.
        grad_norms: the global gradient norm before clipping, at each step.
        diverged: True when the loss stopped being finite (training stopped there).
    """

    losses: list[float]
    grad_norms: list[float]
    diverged: bool


def train(net: nn.Module, x: torch.Tensor, y: torch.Tensor, *, steps: int = 20,
          lr: float = 1e-2, max_norm: float | None = None) -> Training:
    r"""Plain gradient descent on the mean squared error
    :math:`L = \tfrac{1}{B\,m}\sum (f(x) - y)^2`, with the gradient clipped by
    its global norm (:func:`clip_by_norm`) when ``max_norm`` is given:

    .. math::  w \leftarrow w - \eta\, g \cdot \min\Big(1, \frac{c}{\lVert g\rVert + \epsilon}\Big).

    With clipping, no step moves the weights (all of them together, in the
    Euclidean norm) farther than :math:`\eta c`. Stops early once the loss is
    not finite.

    Args:
        net: the model (trained in place).
        x, y: inputs ``(B, n)`` and targets ``(B, m)``.
        steps: at most this many steps.
        lr: the step size :math:`\eta`.
        max_norm: the clipping threshold :math:`c`, or ``None`` for no clipping.

    Examples::

        >>> net = deep_mlp(MLPConfig(depth=2, width=4), generator=torch.Generator().manual_seed(0))
        >>> g = torch.Generator().manual_seed(1)
        >>> x, y = torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g)
        >>> run = train(net, x, y, steps=3, max_norm=1.0)
        >>> len(run.losses), run.diverged
        (3, False)
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be a torch.nn.Module (e.g. from deep_mlp), got "
                        f"{type(net).__name__}")
    x = _validate.finite(_validate.batched(x, "x"), "x")
    y = _validate.finite(_validate.batched(y, "y"), "y")
    _validate.same_kind(x, y, "x, y")
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must be batches (B, n) and (B, m) with the same B, got "
                         f"shapes {tuple(x.shape)} and {tuple(y.shape)}")
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    if linears and x.shape[-1] != linears[0].in_features:
        raise ValueError(f"x has {x.shape[-1]} features per row but the network's first layer "
                         f"takes {linears[0].in_features}; pass x of shape (B, "
                         f"{linears[0].in_features})")
    if linears and y.shape[-1] != linears[-1].out_features:
        raise ValueError(f"y has shape {tuple(y.shape)}; pass one target row per row of x, "
                         f"shape {(*x.shape[:-1], linears[-1].out_features)}")
    steps = _validate.integer(steps, "steps", at_most=MAX_STEPS)
    lr = _validate.in_range(lr, "lr", 0.0, 1e6)
    if lr <= 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if max_norm is not None:
        max_norm = _validate.in_range(max_norm, "max_norm", 0.0, math.inf)
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:
        raise ValueError("net has no trainable parameters")
    losses: list[float] = []
    norms: list[float] = []
    for _ in range(steps):
        for p in params:
            p.grad = None
        loss = (net(x) - y).pow(2).mean()
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            return Training(losses, norms, diverged=True)
        loss.backward()
        grads = [p.grad for p in params]
        if max_norm is None:
            total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g)
                                                          for g in grads]))
        else:
            grads, total = clip_by_norm(grads, max_norm)
        norms.append(total.item())
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p -= lr * g
    return Training(losses, norms, diverged=False)
