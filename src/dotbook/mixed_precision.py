r"""Chapter 10, low precision in practice: gradients that underflow, loss scaling,
why the master copy of the weights stays in float32, cancellation, FP8 and TF32.

**Underflow.** A format's smallest positive number is its smallest subnormal,
:math:`2^{-24}\approx 6\times 10^{-8}` in float16; a value of at most half of it
rounds to 0. Gradients shrink as a network fits its data (a confidently
classified example contributes :math:`(p - y)/B`), so part of them vanishes in
float16. :func:`underflow_fraction` measures the share.

**Loss scaling** (Micikevicius et al. 2018) multiplies the loss, hence every
gradient, by :math:`S` before the float16 backward pass and divides the float32
result by :math:`S` again: the histogram of :math:`\log_2|g|` slides right by
:math:`\log_2 S`. Too large an :math:`S` overflows (``inf``). A *dynamic*
scaler (:class:`LossScaler`, the rule of ``torch.amp.GradScaler``) skips the
step and halves :math:`S` when a gradient is ``inf`` or ``nan``, and doubles it
after ``growth_interval`` good steps in a row. bfloat16 has float32's exponent
range, so it needs none of this.

**Master weights.** An update :math:`w + \eta g` with :math:`|\eta g|` below half
the spacing of the format at :math:`w` rounds back to :math:`w` (the same event as
a float16 running sum that stops at 2048). Keeping a float32 master copy, or
rounding stochastically (:func:`stochastic_round`), keeps the update on average.

**Cancellation.** The rounding errors of a dot product are of the size
:math:`u\sum_i|a_ib_i|`, whatever the signs of the terms. Relative to the result
they are multiplied by the *condition number* (Higham 2002, §3.1)

.. math::  \kappa(a, b) = \frac{\sum_i |a_i b_i|}{|a\cdot b|} \ \ge 1 ,

so :math:`|\hat s - a\cdot b| / |a\cdot b| \le \gamma_n\kappa`. Positive data have
:math:`\kappa = 1`; mean-zero data, where the terms cancel, have
:math:`\kappa \approx \sqrt n` and far more when :math:`a\cdot b` is near 0.
The same cancellation ruins the one-pass variance
:math:`E[x^2] - E[x]^2` of data with a large mean (:func:`variance`).

**8-bit formats and TF32.** float8_e4m3fn (max 448) and float8_e5m2 (max 57344)
hold so few values that a tensor is first multiplied by a *per-tensor scale*
:math:`s = \text{max}/\max_i|x_i|` (Micikevicius et al. 2022), which puts its
largest entry at the top of the format's range (:func:`fp8_dot`). TF32 keeps
float32's 8 exponent bits and 10 of its 23 fraction bits; with
``torch.set_float32_matmul_precision("high")`` CUDA's float32 matmuls may round
their inputs so on tensor cores. :func:`round_mantissa` and :func:`tf32_dot`
simulate it on the CPU.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from dotbook import _validate, initialization, precision
from dotbook import data as _data
from dotbook import device as _device

__all__ = ["LossScaler", "MASTER_MODES", "VARIANCE_METHODS", "apply_updates",
           "cancellation_errors", "condition_number", "fp8_dot", "grad_scaler_scales",
           "gradient_stream", "relative_error", "round_mantissa", "run_scaler", "scale_sweep",
           "stochastic_round", "tf32_dot", "underflow_fraction", "variance"]

#: How :func:`apply_updates` stores the weights.
MASTER_MODES: tuple[str, ...] = ("bfloat16", "float32 master", "stochastic")
MAX_STEPS = 100_000  # more steps than any chapter needs: a typo fails at once


def _values(values: object, name: str = "values") -> list[torch.Tensor]:
    """One floating tensor or a non-empty sequence of them, as a list."""
    if isinstance(values, torch.Tensor):
        return [_validate.tensor(values, name)]
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise TypeError(f"{name} must be a floating tensor or a non-empty sequence of them "
                        f"(e.g. every gradient of a model), got {type(values).__name__}")
    return [_validate.tensor(v, f"{name}[{i}]") for i, v in enumerate(values)]


def _stream(stream: object) -> list[list[torch.Tensor]]:
    """A non-empty sequence of steps, each step's gradients as :func:`_values` takes them."""
    if isinstance(stream, (str, bytes, torch.Tensor)) or not isinstance(stream, Sequence):
        raise TypeError(f"stream must be a sequence of steps, each a list of gradient tensors "
                        f"(gradient_stream(...) makes one), got {type(stream).__name__}")
    _validate.integer(len(stream), "len(stream)", at_most=MAX_STEPS)
    return [_values(grads, f"stream[{t}]") for t, grads in enumerate(stream)]


def _format(dtype: object) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point or dtype.is_complex:
        raise TypeError(f"dtype must be a floating torch.dtype such as torch.float16, "
                        f"torch.bfloat16 or torch.float8_e4m3fn, got {dtype!r}")
    return dtype


def _scale(scale: object, name: str = "scale") -> float:
    scale = _validate.real(scale, name)
    if scale <= 0:
        raise ValueError(f"{name} must be a finite number > 0 (the loss-scaling factor, e.g. "
                         f"2.0**12), got {scale}")
    return scale


def _cast(v: torch.Tensor, dtype: torch.dtype, scale: float) -> torch.Tensor:
    """``v * scale`` formed in at least float32, then rounded once to ``dtype``."""
    wide = torch.promote_types(v.dtype, torch.float32)
    return (v.to(wide) * scale).to(dtype)


def underflow_fraction(values: torch.Tensor | Sequence[torch.Tensor],
                       dtype: torch.dtype = torch.float16, scale: float = 1.0) -> float:
    r"""The share of the non-zero values that become 0 when ``values * scale`` is
    rounded to ``dtype``:

    .. math::  \frac{\#\{i : v_i \ne 0,\ \mathrm{fl}(S v_i) = 0\}}{\#\{i : v_i \ne 0\}} .

    The product is formed in at least float32, so only the final rounding to
    ``dtype`` loses anything. 0.0 when no value is non-zero.

    Args:
        values: a floating tensor, or a sequence of them (every gradient of a model).
        dtype: the target format (float16, bfloat16, float8_e4m3fn, ...).
        scale: the loss scale :math:`S`, a finite number > 0.

    Shape:
        ``values``: any shapes; output: a float in [0, 1].

    Examples::

        >>> g = torch.tensor([1e-3, 1e-6, 1e-8, 1e-9, 0.0])
        >>> underflow_fraction(g), underflow_fraction(g, scale=2.0**10)
        (0.5, 0.0)
        >>> underflow_fraction(g, torch.bfloat16)
        0.0
    """
    vals = _values(values)
    dtype = _format(dtype)
    scale = _scale(scale)
    lost = total = 0
    for v in vals:
        nonzero = v != 0
        lost += int(((_cast(v, dtype, scale) == 0) & nonzero).sum())
        total += int(nonzero.sum())
    return lost / total if total else 0.0


def scale_sweep(values: torch.Tensor | Sequence[torch.Tensor], log2_scales: Sequence[float],
                dtype: torch.dtype = torch.float16) -> dict[str, list[float]]:
    r"""For each :math:`\log_2 S` in ``log2_scales``, the share of the non-zero values
    that underflow to 0 (``"underflow"``) and of the finite non-zero ones that overflow to
    :math:`\pm\infty` (``"overflow"``) when ``values * S`` is rounded to ``dtype``.

    Examples::

        >>> g = torch.tensor([1e-9, 1e-3, 10.0])
        >>> scale_sweep(g, [0, 14])
        {'underflow': [0.3333333333333333, 0.0], 'overflow': [0.0, 0.3333333333333333]}
    """
    vals = _values(values)
    dtype = _format(dtype)
    if isinstance(log2_scales, (str, bytes)) or not isinstance(log2_scales, Sequence):
        raise TypeError("log2_scales must be a sequence of numbers, e.g. range(0, 25)")
    _validate.integer(len(log2_scales), "len(log2_scales)", at_most=1024)
    out: dict[str, list[float]] = {"underflow": [], "overflow": []}
    finite = sum(int((torch.isfinite(v) & (v != 0)).sum()) for v in vals)
    for i, k in enumerate(log2_scales):
        _validate.in_range(k, f"log2_scales[{i}]", -200, 200)
    for k in log2_scales:
        scale = 2.0 ** k
        out["underflow"].append(underflow_fraction(vals, dtype, scale))
        over = sum(int((torch.isinf(_cast(v, dtype, scale)) & torch.isfinite(v)).sum())
                   for v in vals)
        out["overflow"].append(over / finite if finite else 0.0)
    return out


# ---------------------------------------------------------------- gradients
def gradient_stream(steps: int = 150, *, batch: int = 128, lr: float = 0.1,
                    generator: torch.Generator | None = None,
                    device: torch.device | str | None = None) -> list[list[torch.Tensor]]:
    r"""Every gradient of a small classifier at each step of its training, in float32.

    A ReLU network 64 → 64 → 64 → 10 (He initialisation, :func:`dotbook.initialization.mlp`)
    learns scikit-learn's digits (:func:`dotbook.data.digits`, pixels in [0, 1])
    by minibatch SGD with momentum 0.9 on the cross-entropy (on the CPU with one
    thread: the matrices are tiny). Step :math:`t`'s entry
    lists the weight and bias gradients, then each layer's back-propagated
    :math:`\partial L/\partial z_l` (shape ``(batch, width)``), all detached.

    Examples::

        >>> s = gradient_stream(3, batch=8)
        >>> len(s), len(s[0]), tuple(s[0][-1].shape)
        (3, 9, (8, 10))
    """
    steps = _validate.integer(steps, "steps", at_most=10_000)
    batch = _validate.integer(batch, "batch", at_most=1347)
    lr = _validate.in_range(lr, "lr", 0.0, 10.0)
    g = _device.generator(0) if generator is None else generator
    dev, _ = _device.placement(device, torch.float32, g)
    digits = _data.digits(dev)
    net = initialization.mlp(3, 64, n_in=digits.n_features, n_out=digits.classes,
                             generator=g, device=dev)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    x_in = digits.x_train.requires_grad_(True)  # so the backward hooks see every layer
    stream = []
    # tiny matrices: one CPU thread is fastest (a second one only waits, on a busy machine 10×)
    with torch.enable_grad(), _device.cpu_threads(1 if dev.type == "cpu" else None):
        for _ in range(steps):
            pick = torch.randint(0, x_in.shape[0], (batch,), generator=g, device=dev)
            optimizer.zero_grad()
            with initialization.record(net) as seen:
                F.cross_entropy(net(x_in[pick]), digits.y_train[pick]).backward()
            stream.append([p.grad.detach().clone() for p in net.parameters()] + seen["grad"])
            optimizer.step()
    return stream


# ------------------------------------------------------------- loss scaling
@dataclass
class LossScaler:
    r"""The dynamic loss scale of ``torch.amp.GradScaler``, step by step.

    At every step the gradients are multiplied by ``scale`` and rounded to
    ``dtype``. If any is ``inf`` or ``nan`` the step is skipped, the scale is
    multiplied by ``backoff_factor`` and the count of good steps restarts; else
    the count grows, and when it reaches ``growth_interval`` the scale is
    multiplied by ``growth_factor`` (unless that would overflow float32, where
    GradScaler keeps its scale) and the count restarts.

    Examples::

        >>> s = LossScaler(init_scale=4.0, growth_interval=2)
        >>> [s.step([torch.tensor([x])]) for x in (1.0, 1.0, 1e5, 1.0)], s.scale
        ([True, True, False, True], 4.0)
    """

    init_scale: float = 2.0**16
    growth_factor: float = 2.0
    backoff_factor: float = 0.5
    growth_interval: int = 2000
    dtype: torch.dtype = torch.float16
    scale: float = field(init=False)
    good_steps: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        _scale(self.init_scale, "init_scale")
        _validate.in_range(self.growth_factor, "growth_factor", 1.0, 1e6)
        _validate.in_range(self.backoff_factor, "backoff_factor", 0.0, 1.0)
        if self.growth_factor == 1.0 or self.backoff_factor in (0.0, 1.0):
            raise ValueError("pass growth_factor > 1 and 0 < backoff_factor < 1 (GradScaler's "
                             "defaults are 2.0 and 0.5)")
        _validate.integer(self.growth_interval, "growth_interval", at_most=MAX_STEPS)
        _format(self.dtype)
        self.scale = float(torch.tensor(self.init_scale, dtype=torch.float32))

    def step(self, grads: Sequence[torch.Tensor]) -> bool:
        """Scale ``grads``, round them to ``dtype``, update the scale; ``True`` if the
        step was taken (every scaled gradient finite)."""
        ok = all(bool(torch.isfinite(_cast(g, self.dtype, self.scale)).all())
                 for g in _values(grads))
        if not ok:
            self.scale *= self.backoff_factor
            self.good_steps = 0
            return False
        self.good_steps += 1
        if self.good_steps == self.growth_interval:
            grown = self.scale * self.growth_factor
            if math.isfinite(float(torch.tensor(grown, dtype=torch.float32))):
                self.scale = grown
            self.good_steps = 0
        return True


@dataclass(frozen=True)
class ScalerRun:
    """What :func:`run_scaler` saw: the scale used at each step, whether the step
    was taken, and the share of non-zero gradients that underflowed at that scale."""

    scales: list[float]
    taken: list[bool]
    lost: list[float]


def run_scaler(stream: Sequence[Sequence[torch.Tensor]], scaler: LossScaler) -> ScalerRun:
    """Drive ``scaler`` over a gradient stream (:func:`gradient_stream`).

    Examples::

        >>> run = run_scaler([[torch.tensor([1.0])]] * 3, LossScaler(growth_interval=1))
        >>> run.scales, run.taken  # 1 × 65536 overflows float16; 1 × 32768 does not
        ([65536.0, 32768.0, 65536.0], [False, True, False])
    """
    if not isinstance(scaler, LossScaler):
        raise TypeError(f"scaler must be a LossScaler, got {type(scaler).__name__}")
    stream = _stream(stream)
    scales, taken, lost = [], [], []
    for grads in stream:
        scales.append(scaler.scale)
        lost.append(underflow_fraction(grads, scaler.dtype, scaler.scale))
        taken.append(scaler.step(grads))
    return ScalerRun(scales, taken, lost)


def grad_scaler_scales(stream: Sequence[Sequence[torch.Tensor]], *,
                       init_scale: float = 2.0**16, growth_interval: int = 2000,
                       dtype: torch.dtype = torch.float16) -> list[float]:
    """The scale ``torch.amp.GradScaler("cpu")`` uses at each step of ``stream``, when
    it is shown each step's gradients as a float16 backward pass would produce them:
    multiplied by its current scale and rounded to ``dtype`` (then held in float32
    parameters' ``.grad``, as autocast leaves them). Computed on the CPU.

    Examples::

        >>> grad_scaler_scales([[torch.tensor([1.0])]] * 3, growth_interval=1)
        [65536.0, 32768.0, 65536.0]
    """
    stream = _stream(stream)
    dtype = _format(dtype)
    scaler = torch.amp.GradScaler("cpu", init_scale=_scale(init_scale, "init_scale"),
                                  growth_interval=_validate.integer(
                                      growth_interval, "growth_interval", at_most=MAX_STEPS))
    params = [torch.nn.Parameter(torch.zeros(g.shape)) for g in stream[0]]
    optimizer = torch.optim.SGD(params, lr=0.0)
    scaler.scale(torch.ones(()))  # creates the scale on the CPU
    scales = []
    for grads in stream:
        scale = scaler.get_scale()
        scales.append(scale)
        for p, g in zip(params, grads, strict=True):
            p.grad = _cast(g.detach().cpu(), dtype, scale).float()
        scaler.step(optimizer)
        scaler.update()
    return scales


# ---------------------------------------------------------- master weights
def stochastic_round(x: torch.Tensor, *, generator: torch.Generator) -> torch.Tensor:
    r"""``x`` (float32) rounded to bfloat16 *stochastically*: to the neighbour above
    with probability equal to the distance from the one below, in units of their gap,
    so that :math:`E[\mathrm{sr}(x)] = x`. Done on the bit pattern: a uniform random
    16-bit integer is added to the low half of the magnitude, which is then cut off.
    ``inf`` and ``nan`` pass through.

    Examples::

        >>> from dotbook.device import generator
        >>> x = torch.full((10_000,), 1 + 2.0**-9)  # a quarter of the gap above 1
        >>> r = stochastic_round(x, generator=generator(0))
        >>> sorted(set(r.tolist())), round(float((r > 1).float().mean()), 1)
        ([1.0, 1.0078125], 0.2)
    """
    x = _validate.tensor(x, "x")
    if x.dtype != torch.float32:
        raise TypeError(f"x must be float32 (the master copy), got {x.dtype}; pass x.float()")
    _validate.generator(generator)
    noise = torch.randint(0, 2**16, x.shape, generator=generator, device=x.device,
                          dtype=torch.int32)
    bits = (x.view(torch.int32) + noise) & ~0xFFFF
    out = bits.view(torch.float32)
    return torch.where(torch.isfinite(x), out, x).to(torch.bfloat16)


def apply_updates(w0: torch.Tensor, updates: Sequence[torch.Tensor], mode: str, *,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    r"""The weights after :math:`w \leftarrow w + u_t` for every update :math:`u_t`,
    stored as ``mode`` says:

    - ``"bfloat16"``: the weights live in bfloat16, every sum is rounded to nearest;
    - ``"float32 master"``: a float32 copy is updated, bfloat16 is only a cast of it;
    - ``"stochastic"``: bfloat16 weights, every sum rounded by :func:`stochastic_round`.

    Returns the weights as float32 (for ``"float32 master"``, the master copy).

    Examples::

        >>> w = torch.ones(3)
        >>> ups = [torch.full((3,), 1e-3)] * 100
        >>> [round(float(apply_updates(w, ups, m)[0]), 2) for m in MASTER_MODES[:2]]
        [1.0, 1.1]
    """
    w0 = _validate.tensor(w0, "w0")
    _validate.choice(mode, "mode", MASTER_MODES)
    if isinstance(updates, (str, bytes, torch.Tensor)) or not isinstance(updates, Sequence):
        raise TypeError(f"updates must be a list of tensors shaped like w0, got "
                        f"{type(updates).__name__}")
    _validate.integer(len(updates), "len(updates)", at_least=0, at_most=MAX_STEPS)
    for t, u in enumerate(updates):
        if _validate.tensor(u, f"updates[{t}]").shape != w0.shape:
            raise ValueError(f"shape mismatch: updates[{t}] has shape {tuple(u.shape)} but w0 "
                             f"has shape {tuple(w0.shape)}; pass one update per weight")
    _validate.generator(generator, optional=True)
    if mode == "stochastic" and generator is None:
        raise ValueError("mode='stochastic' draws random bits; pass generator=book.generator(k)")
    w = w0.float() if mode == "float32 master" else w0.to(torch.bfloat16)
    for u in updates:
        u = u.float()
        if mode == "float32 master":
            w = w + u
        elif mode == "bfloat16":
            w = (w.float() + u).to(torch.bfloat16)
        else:
            w = stochastic_round(w.float() + u, generator=generator)
    return w.float()


# ------------------------------------------------------------- cancellation
#: How :func:`variance` computes.
VARIANCE_METHODS: tuple[str, ...] = ("one-pass", "two-pass", "welford")
MAX_N = 2**16  # the longest vector the loops here walk


def condition_number(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""Higham's condition number of the dot product, along the last dimension:

    .. math::  \kappa(a, b) = \frac{\sum_i |a_i b_i|}{|\sum_i a_i b_i|} ,

    computed in float64 (float32 on MPS); ``inf`` where :math:`a\cdot b = 0`.
    ``a`` and ``b`` must be finite (an infinite term makes it :math:`\infty/\infty`).
    It is *not* :math:`\lVert a\rVert\lVert b\rVert/|a\cdot b| = 1/|\cos\theta|`.

    Shape:
        ``a``, ``b``: ``(*, n)``; output: ``(*)``.

    Examples::

        >>> condition_number(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])).item()
        1.0
        >>> condition_number(torch.tensor([1.0, -1.0]), torch.tensor([1.0, 0.999])).item()
        1999.0...
    """
    a = _validate.finite(_validate.batched(a, "a"), "a")
    b = _validate.finite(_validate.batched(b, "b"), "b")
    _validate.same_shape(a, b)
    wide = torch.float32 if a.device.type == "mps" else torch.float64
    p = a.to(wide) * b.to(wide)  # (*, n)
    return p.abs().sum(-1) / p.sum(-1).abs()


def cancellation_errors(dtype: torch.dtype, n: int, trials: int = 2000, *, data: str,
                        generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``(kappa, error)`` for ``trials`` pairs of length-``n`` vectors rounded to
    ``dtype`` and dotted by :func:`dotbook.precision.rounded_dot` with the
    sequential low-precision sum: :math:`\kappa` of each pair and its error
    :math:`|\hat s - a\cdot b| / |a\cdot b|` against the float64 dot product of the
    same rounded vectors. ``data="mean-zero"`` draws :math:`N(0, 1)` entries,
    ``"positive"`` uniform ones on [0, 1).

    Shape:
        outputs: ``(trials,)`` each, float64 on the CPU.

    Examples::

        >>> from dotbook.device import generator
        >>> k, e = cancellation_errors(torch.float16, 64, 100, data="positive",
        ...                            generator=generator(0))
        >>> bool((k == 1).all()), bool((e <= precision.gamma(64, 2.0**-11)).all())
        (True, True)
    """
    dtype = _format(dtype)
    n = _validate.integer(n, "n", at_most=MAX_N)
    trials = _validate.integer(trials, "trials", at_most=100_000)
    _validate.choice(data, "data", ("mean-zero", "positive"))
    if not isinstance(generator, torch.Generator):
        raise TypeError("generator must be a torch.Generator; pass book.generator(k)")
    dev = generator.device
    draw = torch.randn if data == "mean-zero" else torch.rand
    a, b = (draw(trials, n, generator=generator, device=dev).to(dtype)
            for _ in range(2))  # (trials, n) each
    got = precision.rounded_dot(a, b, "low").cpu().double()  # (trials,)
    exact = (a.cpu().double() * b.cpu().double()).sum(-1)  # (trials,)
    return condition_number(a.cpu().double(), b.cpu().double()), (got - exact).abs() / exact.abs()


def variance(x: torch.Tensor, method: str = "two-pass") -> torch.Tensor:
    r"""The population variance along the last dimension, every operation in ``x``'s dtype:

    - ``"one-pass"``: :math:`\overline{x^2} - \bar x^{\,2}` (means by ``torch.mean``);
    - ``"two-pass"``: :math:`\overline{(x - \bar x)^2}`;
    - ``"welford"``: one pass, :math:`\delta = x_k - m,\ m \mathrel{+}= \delta/k,\
      M \mathrel{+}= \delta(x_k - m)`, variance :math:`M/n` (Welford 1962).

    ``x`` must be finite: the variance of data holding :math:`\pm\infty` is undefined.

    Shape:
        ``x``: ``(*, n)``; output: ``(*)``.

    Examples::

        >>> x = 10_000 + torch.tensor([[-1.0, 1.0, -1.0, 1.0]])
        >>> [variance(x, m).item() for m in VARIANCE_METHODS]
        [0.0, 1.0, 1.0]
    """
    x = _validate.finite(_validate.batched(x, "x"), "x")
    _validate.choice(method, "method", VARIANCE_METHODS)
    _validate.integer(x.shape[-1], "the length n of x", at_most=MAX_N)
    if method == "one-pass":
        return (x * x).mean(-1) - x.mean(-1) ** 2
    if method == "two-pass":
        c = x - x.mean(-1, keepdim=True)  # (*, n)
        return (c * c).mean(-1)
    m = torch.zeros_like(x[..., 0])  # (*)
    total = torch.zeros_like(m)  # (*)
    for k, xk in enumerate(x.movedim(-1, 0), start=1):
        delta = xk - m
        m = m + delta / k
        total = total + delta * (xk - m)
    return total / x.shape[-1]


# ---------------------------------------------------------------- FP8, TF32
def fp8_dot(a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype = torch.float8_e4m3fn, *,
            scaled: bool = True) -> torch.Tensor:
    r"""Dot products along the last dimension of ``a`` and ``b`` stored in an 8-bit format,
    products summed in float32 (as FP8 tensor cores do):

    .. math::  s_a = \frac{\text{max}}{\max_i |a_i|}, \qquad
               \hat s = \frac{\sum_i \mathrm{fl_8}(s_a a_i)\,\mathrm{fl_8}(s_b b_i)}{s_a s_b},

    with one scale per *tensor* (the largest entry over every row), rounded down to
    a power of two so that scaling is exact. ``scaled=False`` casts as they are
    (:math:`s = 1`).

    Shape:
        ``a``, ``b``: ``(*, n)``; output: ``(*)``, float32.

    Examples::

        >>> a = torch.full((4,), 2.0**-12)  # below e4m3's smallest subnormal, 2^-9
        >>> fp8_dot(a, a, scaled=False).item(), fp8_dot(a, a).item() == 4 * 2.0**-24
        (0.0, True)
    """
    a = _validate.batched(a, "a")
    b = _validate.batched(b, "b")
    _validate.same_shape(a, b)
    if dtype not in (torch.float8_e4m3fn, torch.float8_e5m2):
        raise TypeError(f"dtype must be torch.float8_e4m3fn or torch.float8_e5m2, got {dtype!r}")
    scaled = _validate.flag(scaled, "scaled")
    top = torch.finfo(dtype).max

    def cast(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.float()
        amax = x.abs().amax()
        s = torch.exp2(torch.floor(torch.log2(top / amax))) if scaled and amax > 0 \
            else torch.ones((), device=x.device)
        return (x * s).to(dtype).float(), s

    (qa, sa), (qb, sb) = cast(a), cast(b)
    return (qa * qb).sum(-1) / (sa * sb)


def round_mantissa(x: torch.Tensor, bits: int = 10) -> torch.Tensor:
    r"""float32 ``x`` rounded to ``bits`` fraction bits, to nearest with ties to
    even, on the bit pattern: add :math:`2^{k-1} - 1` plus the last kept bit to
    the pattern, then clear the :math:`k = 23 - \text{bits}` dropped bits. The
    exponent is kept (``bits=10`` is TF32, ``bits=7`` bfloat16's rounding);
    ``inf`` and ``nan`` pass through.

    Examples::

        >>> x = torch.tensor([1 + 2.0**-11, 1 + 3 * 2.0**-11, 1 / 3])
        >>> round_mantissa(x).tolist()  # the two ties go to the even neighbour
        [1.0, 1.001953125, 0.333251953125]
    """
    x = _validate.tensor(x, "x")
    if x.dtype != torch.float32:
        raise TypeError(f"x must be float32, got {x.dtype}; pass x.float()")
    bits = _validate.integer(bits, "bits", at_least=0, at_most=23)
    drop = 23 - bits
    if drop == 0:
        return x.clone()
    i = x.view(torch.int32)
    odd = (i >> drop) & 1  # the last kept bit: ties round towards an even one
    rounded = ((i + ((1 << (drop - 1)) - 1) + odd) & ~((1 << drop) - 1)).view(torch.float32)
    return torch.where(torch.isfinite(x), rounded, x)


def tf32_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""Dot products along the last dimension as a TF32 tensor core forms each entry of
    a matmul: both inputs rounded to 10 fraction bits (:func:`round_mantissa`),
    products and sums in float32. (A product of two 11-bit significands has at
    most 22 bits, so float32 holds it exactly.)

    Shape:
        ``a``, ``b``: ``(*, n)`` float32; output: ``(*)``.

    Examples::

        >>> a = torch.tensor([1 + 2.0**-12])
        >>> tf32_dot(a, a).item(), (a * a).sum().item() > 1
        (1.0, True)
    """
    a = _validate.batched(a, "a")
    b = _validate.batched(b, "b")
    _validate.same_shape(a, b)
    return (round_mantissa(a.float()) * round_mantissa(b.float())).sum(-1)


def relative_error(got: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""The error of computed dot products ``got`` relative to the size of their terms,

    .. math::  \frac{|\hat s - a\cdot b|}{\sum_i |a_i b_i|} ,

    along the last dimension, in float64 on the CPU (the quantity :math:`\gamma_n`
    bounds; it does not blow up where :math:`a\cdot b` cancels). ``a`` and ``b``
    must be finite.

    Shape:
        ``got``: ``(*)``; ``a``, ``b``: ``(*, n)``; output: ``(*)``, float64 on the CPU.

    Examples::

        >>> a, b = torch.tensor([[1.0, -1.0]]), torch.tensor([[1.0, 1.0]])  # a·b = 0
        >>> relative_error(torch.tensor([0.5]), a, b).item()
        0.25
    """
    a = _validate.finite(_validate.batched(a, "a"), "a")
    b = _validate.finite(_validate.batched(b, "b"), "b")
    _validate.same_shape(a, b)
    got = _validate.tensor(got, "got")
    if got.shape != a.shape[:-1]:
        raise ValueError(f"got has shape {tuple(got.shape)}; pass one result per row of a, "
                         f"shape {tuple(a.shape[:-1])}")
    p = a.cpu().double() * b.cpu().double()  # (*, n)
    return (got.cpu().double() - p.sum(-1)).abs() / p.abs().sum(-1)
