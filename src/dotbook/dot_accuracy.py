r"""Chapter 10, the accuracy of a dot product beyond :math:`u`: cancellation,
the variance formula LayerNorm must avoid, 8-bit formats with a per-tensor
scale, and TF32.

**Cancellation.** The rounding errors of a dot product are of the size
:math:`u\sum_i|a_ib_i|`, whatever the sign of the terms. Relative to the result
they are multiplied by the *condition number* (Higham 2002, §3.1)

.. math::  \kappa(a, b) = \frac{\sum_i |a_i b_i|}{|a\cdot b|} \ \ge 1 ,

so :math:`|\hat s - a\cdot b| / |a\cdot b| \le \gamma_n\kappa`. Positive data has
:math:`\kappa = 1`; mean-zero data, where the terms cancel, has
:math:`\kappa \approx \sqrt n` and far more when :math:`a\cdot b` is near 0.
The same cancellation ruins the one-pass variance
:math:`E[x^2] - E[x]^2` of data with a large mean (:func:`variance`).

**8-bit formats.** float8_e4m3fn (max 448) and float8_e5m2 (max 57344) hold
so few values that a tensor is first multiplied by a *per-tensor scale*
:math:`s = \text{max}/\max_i|x_i|` (Micikevicius et al. 2022), which puts its
largest entry at the top of the format's range (:func:`fp8_dot`).

**TF32** keeps float32's 8 exponent bits and 10 of its 23 fraction bits; with
``torch.set_float32_matmul_precision("high")`` CUDA's float32 matmuls may round
their inputs so on tensor cores. :func:`round_mantissa` and :func:`tf32_dot` simulate
it on the CPU.
"""

from __future__ import annotations

import torch

from dotbook import _validate, precision

__all__ = ["VARIANCE_METHODS", "cancellation_errors", "condition_number", "fp8_dot",
           "relative_error", "round_mantissa", "tf32_dot", "variance"]

#: How :func:`variance` computes.
VARIANCE_METHODS: tuple[str, ...] = ("one-pass", "two-pass", "welford")
MAX_N = 2**16  # the longest vector the loops here walk


def condition_number(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""Higham's condition number of the dot product, along the last dimension:

    .. math::  \kappa(a, b) = \frac{\sum_i |a_i b_i|}{|\sum_i a_i b_i|} ,

    computed in float64 (float32 on MPS); ``inf`` where :math:`a\cdot b = 0`.
    It is *not* :math:`\lVert a\rVert\lVert b\rVert/|a\cdot b| = 1/|\cos\theta|`.

    Shape:
        ``a``, ``b``: ``(*, n)``; output: ``(*)``.

    Examples::

        >>> condition_number(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])).item()
        1.0
        >>> condition_number(torch.tensor([1.0, -1.0]), torch.tensor([1.0, 0.999])).item()
        1999.0...
    """
    a = _validate.batched(a, "a")
    b = _validate.batched(b, "b")
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

    Shape:
        ``x``: ``(*, n)``; output: ``(*)``.

    Examples::

        >>> x = 10_000 + torch.tensor([[-1.0, 1.0, -1.0, 1.0]])
        >>> [variance(x, m).item() for m in VARIANCE_METHODS]
        [0.0, 1.0, 1.0]
    """
    x = _validate.batched(x, "x")
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
    bounds; it does not blow up where :math:`a\cdot b` cancels).

    Shape:
        ``got``: ``(*)``; ``a``, ``b``: ``(*, n)``; output: ``(*)``, float64 on the CPU.

    Examples::

        >>> a, b = torch.tensor([[1.0, -1.0]]), torch.tensor([[1.0, 1.0]])  # a·b = 0
        >>> relative_error(torch.tensor([0.5]), a, b).item()
        0.25
    """
    a = _validate.batched(a, "a")
    b = _validate.batched(b, "b")
    _validate.same_shape(a, b)
    got = _validate.tensor(got, "got")
    if got.shape != a.shape[:-1]:
        raise ValueError(f"got has shape {tuple(got.shape)}; pass one result per row of a, "
                         f"shape {tuple(a.shape[:-1])}")
    p = a.cpu().double() * b.cpu().double()  # (*, n)
    return (got.cpu().double() - p.sum(-1)).abs() / p.abs().sum(-1)
