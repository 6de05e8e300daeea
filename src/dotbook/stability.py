r"""Numerical stability: softmax at huge logits, dot products in low precision,
and keeping the size of activations and gradients in range.

**Floating-point formats.** A format with a :math:`p`-bit significand
(counting the implicit leading bit) stores every number as
:math:`\pm m \cdot 2^e` with :math:`2^{p-1} \le m < 2^p`. Its machine epsilon,
the gap between 1 and the next number, is :math:`\varepsilon = 2^{1-p}`, and
rounding to nearest makes a relative error of at most the *unit roundoff*
:math:`u = \varepsilon/2 = 2^{-p}`:

.. math::  \mathrm{fl}(x \circ y) = (x \circ y)(1 + \delta), \qquad |\delta| \le u ,

as long as the result lies in the normal range (no overflow, no underflow).

=========  ====  ====================  ======================
dtype      p     u                     largest finite value
=========  ====  ====================  ======================
float64    53    :math:`2^{-53}`       :math:`\approx 1.8\times 10^{308}`
float32    24    :math:`2^{-24}`       :math:`\approx 3.4\times 10^{38}`
bfloat16   8     :math:`2^{-8}`        :math:`\approx 3.4\times 10^{38}`
float16    11    :math:`2^{-11}`       65504
=========  ====  ====================  ======================

:func:`limits` reads all of this from :class:`torch.finfo`, nothing is typed.
``exp`` overflows once its argument passes :math:`\log(\text{max})`
(≈ 88.72 in float32 and bfloat16, ≈ 11.09 in float16).

**Softmax.** :math:`\operatorname{softmax}(x)_i = e^{x_i} / \sum_j e^{x_j}`.
Computed as written (``method="naive"``) it fails in three ways: once the
*sum* :math:`\sum_j e^{x_j}` overflows (at a largest logit between
:math:`\log(\text{max}) - \log n` and :math:`\log(\text{max})`) every
finite numerator divided by ``inf`` gives 0; once a logit itself passes
:math:`\log(\text{max})` its entry is ``inf/inf = nan``; and when every logit
is so negative that every :math:`e^{x_j}` rounds to 0, every entry is
``0/0 = nan``. Shifting by the maximum :math:`m = \max_j x_j`
(``method="shifted"``) changes nothing mathematically,
:math:`\operatorname{softmax}(x - m) = \operatorname{softmax}(x)`, but every
exponent is now :math:`\le 0` and the largest term is exactly 1, so no term
overflows and the sum lies between 1 and :math:`n`. The same shift gives a stable
log-sum-exp, :math:`\log\sum_j e^{x_j} = m + \log\sum_j e^{x_j - m}`, and a
stable :math:`\log\operatorname{softmax}(x) = x - \operatorname{logsumexp}(x)`.

**Dot products in low precision.** :func:`dot` forms the products
:math:`\hat p_i = \mathrm{fl}(a_i b_i)` in the inputs' dtype (one rounding
each) and then sums them one of four ways (``accumulate=``):

- ``"low"``: left to right in the inputs' dtype, one rounding per addition;
- ``"float32"``: the rounded products converted to float32 and summed there
  (PyTorch's ``sum``), the mixed-precision recipe;
- ``"pairwise"``: a balanced binary tree in the inputs' dtype,
  :math:`\lceil\log_2 n\rceil` levels;
- ``"kahan"``: compensated (Kahan) summation in the inputs' dtype.

With :math:`\gamma_k = k u / (1 - k u)` (for :math:`k u < 1`), the classical
worst-case bounds on :math:`|\hat s - a\cdot b| / (|a|\cdot|b|)`, where
:math:`|a|\cdot|b| = \sum_i |a_i b_i|` (Higham 2002, §3.1, §4.2, §4.3), are
:math:`\gamma_n` for ``"low"``,
:math:`u + (1 + u)\gamma_{n-1}(u_{32})` for ``"float32"``,
:math:`\gamma_{\lceil\log_2 n\rceil + 1}` for ``"pairwise"`` and
:math:`u + (1+u)(2u + O(n u^2))` for ``"kahan"`` (:func:`error_bound`).
Rounding errors of random data partly cancel, so the typical error of
``"low"`` grows like :math:`\sqrt n\,u` rather than :math:`n u` (Higham &
Mary 2019) -- until the running sum is so large that the terms are rounded
away (stagnation), where the errors all point one way.

**Size.** The dot product of two vectors with independent mean-zero,
unit-variance entries has standard deviation :math:`\sqrt n`, so softmax logits, activations
and gradients grow with width and depth unless something rescales them:
a temperature (:func:`softmax` of ``x / tau``), normalisation
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
    "ACCUMULATIONS",
    "DTYPES",
    "NORMS",
    "SOFTMAX_METHODS",
    "AccumulationErrors",
    "Training",
    "Limits",
    "MLPConfig",
    "Normalization",
    "accumulation_errors",
    "clip_by_norm",
    "deep_mlp",
    "dot",
    "dot_loop",
    "dtype_name",
    "error_bound",
    "gamma",
    "layer_norm",
    "limits",
    "log_softmax",
    "logsumexp",
    "preactivation_rms",
    "preactivations",
    "reference_errors",
    "rms_norm",
    "softmax",
    "supported_dtypes",
    "train",
]

#: The four floating-point formats of the chapter, widest first.
DTYPES: tuple[torch.dtype, ...] = (torch.float64, torch.float32, torch.bfloat16, torch.float16)
#: How :func:`softmax`, :func:`logsumexp` and :func:`log_softmax` can compute.
SOFTMAX_METHODS: tuple[str, ...] = ("naive", "shifted")
#: How :func:`dot` can sum the products.
ACCUMULATIONS: tuple[str, ...] = ("low", "float32", "pairwise", "kahan")
#: Normalisations :func:`deep_mlp` can put after each linear layer.
NORMS: tuple[str, ...] = ("none", "layer", "rms")


# ----------------------------------------------------------------- formats
@dataclass(frozen=True)
class Limits:
    """What a floating-point format can hold, read from :class:`torch.finfo`.

    Attributes:
        dtype: the format.
        bits: total storage bits.
        precision: significand bits :math:`p`, the implicit leading bit included.
        eps: machine epsilon :math:`2^{1-p}`, the gap between 1 and the next number.
        unit_roundoff: :math:`u = 2^{-p}`, the largest relative error of one rounding.
        max: the largest finite value.
        smallest_normal: the smallest positive normal number.
        smallest_subnormal: the smallest positive number (``smallest_normal * eps``).
        exp_overflow: :math:`\\log(\\text{max})`; ``exp`` of anything past it by more
            than about :math:`u/2` (where :math:`e^x` reaches ``max`` plus half its last
            place) is ``inf``.
        exp_underflow: :math:`\\log(\\text{smallest subnormal}/2)`; ``exp`` of anything
            smaller rounds to 0.
    """

    dtype: torch.dtype
    bits: int
    precision: int
    eps: float
    unit_roundoff: float
    max: float
    smallest_normal: float
    smallest_subnormal: float
    exp_overflow: float
    exp_underflow: float


def _float_dtype(dtype: object, name: str = "dtype") -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point or dtype.is_complex:
        raise TypeError(f"{name} must be a real floating torch.dtype such as torch.float32, "
                        f"got {dtype!r}")
    return dtype


def limits(dtype: torch.dtype) -> Limits:
    r"""The range and precision of ``dtype``, from :class:`torch.finfo`.

    .. math::  p = 1 - \log_2\varepsilon, \quad u = \varepsilon / 2, \quad
               x_{\text{overflow}} = \log(\text{max}), \quad
               x_{\text{underflow}} = \log(\text{smallest normal}\cdot\varepsilon / 2).

    Args:
        dtype: a real floating dtype.

    Examples::

        >>> lim = limits(torch.float16)
        >>> lim.max, lim.precision, round(lim.exp_overflow, 2)
        (65504.0, 11, 11.09)
        >>> limits(torch.bfloat16).precision, limits(torch.bfloat16).eps == 2.0**-7
        (8, True)
    """
    info = torch.finfo(_float_dtype(dtype))
    precision = 1 - round(math.log2(info.eps))
    subnormal = info.smallest_normal * info.eps
    return Limits(dtype=dtype, bits=info.bits, precision=precision, eps=info.eps,
                  unit_roundoff=info.eps / 2, max=info.max,
                  smallest_normal=info.smallest_normal, smallest_subnormal=subnormal,
                  exp_overflow=math.log(info.max), exp_underflow=math.log(subnormal) - math.log(2))


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float16`` → ``"float16"``.

    Examples::

        >>> dtype_name(torch.bfloat16)
        'bfloat16'
    """
    return str(_float_dtype(dtype)).removeprefix("torch.")


def supported_dtypes(device: torch.device | str | None = None,
                     candidates: Sequence[torch.dtype] = DTYPES) -> tuple[torch.dtype, ...]:
    """The dtypes of ``candidates`` that ``device`` can compute this chapter's
    operations in (``exp``, a sum, ``max``, a product), in the given order.

    A dtype must pass :func:`dotbook.device.supports` (MPS has no float64) and
    then a tiny computation on the device, so the answer is what the device
    does: bfloat16 on MPS, for one, depends on the OS version.

    Args:
        device: where to probe (default: the CPU).
        candidates: the dtypes to try.

    Examples::

        >>> supported_dtypes("cpu") == DTYPES
        True
    """
    device = torch.device("cpu" if device is None else device)
    found = []
    for dtype in candidates:
        _float_dtype(dtype, "each candidate")
        if not _device.supports(device, dtype):
            continue
        try:
            x = torch.tensor([0.5, -1.0, 2.0], dtype=dtype, device=device)
            y = torch.exp(x - x.max()).sum() * x[0]
            ok = bool(torch.isfinite(y).item())
        except (RuntimeError, TypeError):
            ok = False
        if ok:
            found.append(dtype)
    return tuple(found)


# ----------------------------------------------------------------- softmax
def _logits(x: object, dim: int, method: str) -> tuple[torch.Tensor, int]:
    x = _validate.tensor(x, "x")
    if x.ndim == 0:
        raise ValueError("x is a scalar; pass a tensor of logits with at least one dimension")
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim must be an int, got {dim!r}")
    if not -x.ndim <= dim < x.ndim:
        raise ValueError(f"dim = {dim} is out of range for x of shape {tuple(x.shape)} "
                         f"({x.ndim} dimensions); pass dim in [{-x.ndim}, {x.ndim - 1}]")
    if x.shape[dim] == 0:
        raise ValueError(f"x has shape {tuple(x.shape)}: dimension {dim} is empty; "
                         f"softmax needs at least one logit")
    _validate.choice(method, "method", SOFTMAX_METHODS)
    return x, dim


def _shift(x: torch.Tensor, dim: int) -> torch.Tensor:
    """The maximum along ``dim`` (kept), with infinite maxima replaced by 0 as
    ``torch.logsumexp`` does, so that rows of ``-inf`` stay ``-inf``."""
    m = x.amax(dim=dim, keepdim=True)  # (*, 1, *)
    return torch.where(torch.isinf(m), torch.zeros_like(m), m)


def softmax(x: torch.Tensor, dim: int = -1, method: str = "shifted") -> torch.Tensor:
    r"""Softmax along ``dim``, computed in ``x``'s dtype.

    .. math::  \operatorname{softmax}(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}}
               = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}, \qquad m = \max_j x_j .

    Args:
        x: logits, any real floating dtype.
        dim: the dimension that sums to 1.
        method: ``"naive"`` (the left formula: all zeros once the sum overflows,
            i.e. once :math:`\log\sum_j e^{x_j}` passes ``limits(x.dtype).exp_overflow``;
            ``nan`` where a logit itself passes it; all ``nan`` when every
            :math:`e^{x_j}` underflows to 0) or ``"shifted"`` (the right one; safe).

    Shape:
        ``x``: any shape; output: the same shape.

    Examples::

        >>> x = torch.tensor([1000.0, 1001.0])
        >>> softmax(x, method="naive"), softmax(x)
        (tensor([nan, nan]), tensor([0.2689, 0.7311]))
    """
    x, dim = _logits(x, dim, method)
    if method == "shifted":
        x = x - _shift(x, dim)
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)


def logsumexp(x: torch.Tensor, dim: int = -1, method: str = "shifted") -> torch.Tensor:
    r"""Log-sum-exp along ``dim``, computed in ``x``'s dtype.

    .. math::  \operatorname{logsumexp}(x) = \log\sum_j e^{x_j}
               = m + \log\sum_j e^{x_j - m}, \qquad m = \max_j x_j ,

    so :math:`m \le \operatorname{logsumexp}(x) \le m + \log n`.

    Args:
        x: any real floating dtype.
        dim: the dimension reduced.
        method: ``"naive"`` (the left formula: ``inf`` once the sum overflows,
            ``-inf`` once every term underflows) or ``"shifted"`` (the right one).

    Shape:
        ``x``: any shape; output: ``x``'s shape without ``dim``.

    Examples::

        >>> x = torch.tensor([1000.0, 1000.0])
        >>> logsumexp(x, method="naive"), logsumexp(x)
        (tensor(inf), tensor(1000.6932))
    """
    x, dim = _logits(x, dim, method)
    if method == "naive":
        return torch.log(torch.exp(x).sum(dim=dim))
    m = _shift(x, dim)  # (*, 1, *)
    return (m + torch.log(torch.exp(x - m).sum(dim=dim, keepdim=True))).squeeze(dim)


def log_softmax(x: torch.Tensor, dim: int = -1, method: str = "shifted") -> torch.Tensor:
    r"""Log-softmax along ``dim``, computed in ``x``'s dtype.

    .. math::  \log\operatorname{softmax}(x)_i = x_i - \operatorname{logsumexp}(x)
               = (x_i - m) - \log\sum_j e^{x_j - m} .

    ``"naive"`` takes the logarithm of the naive softmax, which is ``-inf``
    where a probability underflows or the sum overflows, and ``nan`` where a
    logit passes the overflow threshold.

    Args:
        x: logits, any real floating dtype.
        dim: the dimension normalised.
        method: ``"naive"`` or ``"shifted"``.

    Shape:
        ``x``: any shape; output: the same shape.

    Examples::

        >>> x = torch.tensor([0.0, -200.0])
        >>> log_softmax(x, method="naive"), log_softmax(x)
        (tensor([0., -inf]), tensor([   0., -200.]))
    """
    x, dim = _logits(x, dim, method)
    if method == "naive":
        return torch.log(softmax(x, dim, "naive"))
    z = x - _shift(x, dim)  # (*), every finite entry <= 0
    return z - torch.log(torch.exp(z).sum(dim=dim, keepdim=True))


def reference_errors(x: torch.Tensor, dim: int = -1, method: str = "shifted"
                     ) -> dict[str, float]:
    r"""How far :func:`softmax`, :func:`logsumexp` and :func:`log_softmax` of ``x``
    (computed in ``x``'s dtype, on its device) are from PyTorch's own ops in
    float64 on the same rounded logits. The references run on the CPU, which
    always has float64 (MPS has none).

    Errors: :math:`\max_i |p_i - p_i^{\text{ref}}|` for the softmax, and
    :math:`\max |y - y^{\text{ref}}| / \max(1, |y^{\text{ref}}|)` for the two
    logarithms (relative where the values are large); ``inf`` where a result is
    ``inf`` or ``nan``.

    Examples::

        >>> x = torch.tensor([0.0, 100.0])
        >>> reference_errors(x)["softmax"] < 1e-7, reference_errors(x, method="naive")["softmax"]
        (True, inf)
    """
    x, dim = _logits(x, dim, method)
    ref = x.detach().cpu().to(torch.float64)  # the same rounded logits
    pairs = {
        "softmax": (softmax(x, dim, method), torch.softmax(ref, dim), False),
        "logsumexp": (logsumexp(x, dim, method), torch.logsumexp(ref, dim), True),
        "log_softmax": (log_softmax(x, dim, method), torch.log_softmax(ref, dim), True),
    }
    out = {}
    for name, (got, want, relative) in pairs.items():
        got = got.detach().cpu().to(torch.float64)
        if not torch.isfinite(got).all():
            out[name] = math.inf
            continue
        err = (got - want).abs()
        if relative:
            err = err / want.abs().clamp_min(1.0)
        out[name] = err.max().item()
    return out


# ------------------------------------------------------- dot products, rounding
def gamma(n: int, u: float) -> float:
    r"""Higham's :math:`\gamma_n = n u / (1 - n u)`, the bound on the relative
    error accumulated by :math:`n` roundings; ``inf`` once :math:`n u \ge 1`
    (the bound says nothing there).

    Examples::

        >>> gamma(10, 2.0**-11) > 10 * 2.0**-11, gamma(256, 2.0**-8)
        (True, inf)
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    if not (isinstance(u, (int, float)) and 0 <= u < 1):
        raise ValueError(f"u must be a unit roundoff in [0, 1), got {u!r}")
    nu = n * u
    return nu / (1 - nu) if nu < 1 else math.inf


def error_bound(n: int, dtype: torch.dtype, accumulate: str) -> float:
    r"""The worst-case bound on :math:`|\hat s - a\cdot b| / (|a|\cdot|b|)`, with
    :math:`|a|\cdot|b| = \sum_i |a_i b_i|`, for :func:`dot` of length-``n``
    vectors in ``dtype`` (unit roundoff :math:`u`), assuming no overflow or
    underflow.

    - ``"low"``: :math:`\gamma_n` — one rounding for the product, up to
      :math:`n-1` for the additions (Higham 2002, eq. 3.5);
    - ``"float32"``: :math:`u + (1+u)\,\gamma_{n-1}(2^{-24})` — the product's
      rounding, then a float32 sum, in which every term meets at most
      :math:`n-1` additions whatever the order. For a dtype wider than float32
      the conversion to float32 is one more rounding:
      :math:`u + (1+u)\,\gamma_{n}(2^{-24})`;
    - ``"pairwise"``: :math:`\gamma_{\lceil \log_2 n\rceil + 1}` — the
      product's rounding plus :math:`\lceil \log_2 n\rceil` additions
      (Higham 2002, §3.1 and §4.2);
    - ``"kahan"``: :math:`u + (1+u)(2u + n u^2)`, the first-order bound
      :math:`3u` plus a second-order term written as :math:`n u^2`; Higham
      (2002, §4.3) gives :math:`(2u + O(n u^2))\sum_i|\hat p_i|` for the sum,
      with no constant for the second term, so this one is a guide, not a
      theorem (and says little once :math:`n u \gtrsim 1`).

    ``inf`` where the bound says nothing (:math:`k u \ge 1`).

    Examples::

        >>> u = 2.0**-11
        >>> error_bound(100, torch.float16, "low") == gamma(100, u)
        True
        >>> error_bound(100, torch.float16, "pairwise") == gamma(8, u)
        True
    """
    n = _validate.integer(n, "n")
    _validate.choice(accumulate, "accumulate", ACCUMULATIONS)
    u = limits(dtype).unit_roundoff
    if accumulate == "low":
        return gamma(n, u)
    if accumulate == "float32":
        u32 = limits(torch.float32).unit_roundoff
        converted = n if u < u32 else n - 1  # wider dtypes are rounded once more to float32
        return u + (1 + u) * gamma(converted, u32)
    if accumulate == "pairwise":
        return gamma(math.ceil(math.log2(n)) + 1, u)
    return u + (1 + u) * (2 * u + n * u * u)


def _pair(a: object, b: object) -> tuple[torch.Tensor, torch.Tensor]:
    a = _validate.batched(a, "a")
    b = _validate.batched(b, "b")
    _validate.same_shape(a, b)
    return a, b


def dot(a: torch.Tensor, b: torch.Tensor, accumulate: str = "float32") -> torch.Tensor:
    r"""Dot products along the last dimension with a chosen accumulation:

    .. math::  \hat p_i = \mathrm{fl}(a_i b_i), \qquad \hat s \approx \sum_{i=1}^n \hat p_i .

    The products are rounded to ``a``'s dtype (the model of this chapter); the
    sum is formed as ``accumulate`` says:

    - ``"low"``: :math:`s \leftarrow \mathrm{fl}(s + \hat p_i)` for
      :math:`i = 1, \dots, n`, in ``a``'s dtype;
    - ``"float32"``: ``p.float().sum(-1)``, a float32 accumulator (result in float32);
    - ``"pairwise"``: add neighbours, halving the length each level
      (zeros pad odd lengths), in ``a``'s dtype;
    - ``"kahan"``: :math:`y = \hat p_i - c,\ t = s + y,\ c = (t - s) - y,\ s = t`,
      in ``a``'s dtype; ``c`` carries the low part lost by each addition.

    ``"low"`` and ``"kahan"`` are sequential by nature: a loop over ``n``,
    vectorised over the batch.

    Args:
        a, b: floating tensors of the same shape, dtype and device.
        accumulate: one of :data:`ACCUMULATIONS`.

    Shape:
        ``a``, ``b``: ``(*, n)``; output: ``(*)``, in ``a``'s dtype (float32 for
        ``"float32"``).

    Examples::

        >>> a = torch.ones(4096, dtype=torch.float16)
        >>> [dot(a, a, acc).item() for acc in ACCUMULATIONS]  # low, float32, pairwise, kahan
        [2048.0, 4096.0, 4096.0, 4096.0]
        >>> dot(a, a, "low").dtype, dot(a, a, "float32").dtype
        (torch.float16, torch.float32)
    """
    a, b = _pair(a, b)
    _validate.choice(accumulate, "accumulate", ACCUMULATIONS)
    p = a * b  # (*, n) each product rounded once to a's dtype
    if accumulate == "float32":
        return p.float().sum(dim=-1)
    if accumulate == "pairwise":
        while p.shape[-1] > 1:
            if p.shape[-1] % 2:
                p = torch.cat([p, torch.zeros_like(p[..., :1])], dim=-1)  # (*, even)
            p = p[..., 0::2] + p[..., 1::2]  # (*, half as long)
        return p[..., 0]
    terms = p.movedim(-1, 0).contiguous()  # (n, *) one row per step
    s = torch.zeros_like(terms[0])  # (*)
    if accumulate == "low":
        for term in terms:
            s = s + term
        return s
    c = torch.zeros_like(s)  # (*) the running compensation
    for term in terms:
        y = term - c
        t = s + y
        c = (t - s) - y
        s = t
    return s


def _round(x: float, dtype: torch.dtype) -> float:
    """``x`` rounded to the nearest value of ``dtype`` (a Python float)."""
    return torch.tensor(x, dtype=torch.float64).to(dtype).item()


def dot_loop(a: torch.Tensor, b: torch.Tensor, accumulate: str = "float32") -> float:
    """The reference for :func:`dot` on two vectors: a Python loop over floats
    that rounds after every operation (to ``a``'s dtype, or float32 for the
    ``"float32"`` accumulator). Each ``+``, ``-`` or ``*`` of two
    low-precision numbers is exact in Python's float64 (or rounded to 53 bits,
    which the final rounding does not notice), so this is correct rounding, op
    by op. ``"float32"`` adds left to right, while :func:`dot` uses PyTorch's
    sum order, so those two agree to within the bound, not bit for bit.

    Examples::

        >>> a = torch.tensor([1.0, 2.0**-11, 2.0**-11], dtype=torch.float16)
        >>> dot_loop(a, torch.ones(3, dtype=torch.float16), "low")
        1.0
        >>> dot_loop(a, torch.ones(3, dtype=torch.float16), "kahan")
        1.0009765625
    """
    a = _validate.vector(a, "a")
    b = _validate.vector(b, "b")
    _validate.same_shape(a, b)
    _validate.choice(accumulate, "accumulate", ACCUMULATIONS)
    dtype = a.dtype

    def fl(x: float) -> float:
        return _round(x, dtype)

    p = [fl(x * y) for x, y in zip(a.tolist(), b.tolist(), strict=True)]
    if accumulate == "float32":
        s = 0.0
        for term in p:
            s = _round(s + term, torch.float32)
        return s
    if accumulate == "pairwise":
        while len(p) > 1:
            p = p + [0.0] if len(p) % 2 else p
            p = [fl(p[i] + p[i + 1]) for i in range(0, len(p), 2)]
        return p[0]
    s = c = 0.0
    for term in p:
        if accumulate == "low":
            s = fl(s + term)
        else:
            y = fl(term - c)
            t = fl(s + y)
            c = fl(fl(t - s) - y)
            s = t
    return s


@dataclass(frozen=True)
class AccumulationErrors:
    """Measured relative errors of :func:`dot` against a float64 reference.

    Attributes:
        dtype: the inputs' dtype.
        ns: the vector lengths.
        errors: ``{accumulation: tensor of shape (len(ns), trials)}``, each entry
            :math:`|\\hat s - s| / (|a|\\cdot|b|)` in float64 on the CPU.
    """

    dtype: torch.dtype
    ns: tuple[int, ...]
    errors: dict[str, torch.Tensor]

    def median(self, accumulate: str) -> list[float]:
        """The median error at each n."""
        return self.errors[accumulate].median(dim=1).values.tolist()

    def max(self, accumulate: str) -> list[float]:
        """The largest error at each n."""
        return self.errors[accumulate].amax(dim=1).tolist()


def accumulation_errors(dtype: torch.dtype, ns: Sequence[int], trials: int = 32, *,
                        generator: torch.Generator | None = None,
                        device: torch.device | str | None = None) -> AccumulationErrors:
    r"""Relative errors of the four accumulations of :func:`dot` for ``trials``
    random pairs of vectors at each length in ``ns``.

    The entries of :math:`a` and :math:`b` are uniform on :math:`[0, 1)`,
    drawn in float64 and rounded to ``dtype``; the vectors of length ``n`` are
    the first ``n`` entries of ``trials`` pairs of length ``max(ns)``. Every
    product is then positive, so no cancellation hides the rounding and
    :math:`|a|\cdot|b| = a\cdot b`:
    the error measured is the ordinary relative error. The reference is the dot
    product of the same rounded inputs in float64, whose own error
    (:math:`\le \gamma_{n-1}(2^{-53})`: the products are exact) is far below
    anything measured here. MPS has no float64; there the reference is float32,
    whose summation error (up to :math:`\gamma_{n-1}(2^{-24})`) is of the size
    of the ``"float32"`` errors themselves, so only the other three are measured
    reliably.

    Args:
        dtype: the low precision (float16 or bfloat16; any floating dtype works).
        ns: vector lengths, each >= 1.
        trials: pairs of vectors per length.
        generator: a generator on ``device`` (default: a fresh one seeded 0).
        device: where to compute (default: the generator's device).

    Examples::

        >>> e = accumulation_errors(torch.float16, [8, 64], trials=4)
        >>> e.errors["low"].shape, max(e.max("low")) < error_bound(64, torch.float16, "low")
        (torch.Size([2, 4]), True)
    """
    _float_dtype(dtype)
    ns = tuple(_validate.integer(n, "each n") for n in ns)
    if not ns:
        raise ValueError("ns is empty; pass at least one vector length, e.g. [16, 256]")
    trials = _validate.integer(trials, "trials")
    if generator is None:
        dev = torch.device("cpu" if device is None else device)
        generator = torch.Generator(device=dev).manual_seed(0)
    dev = torch.device(generator.device if device is None else device)
    if generator.device.type != dev.type:
        raise ValueError(f"generator is on {generator.device} but device is {dev}; create the "
                         f"generator on the device, torch.Generator(device={str(dev)!r})")
    wide = torch.float64 if dev.type != "mps" else torch.float32
    errors: dict[str, list[torch.Tensor]] = {acc: [] for acc in ACCUMULATIONS}
    big_a, big_b = (torch.rand(trials, max(ns), generator=generator, device=dev,
                               dtype=wide).to(dtype)
                    for _ in range(2))  # (trials, max n) each, rounded to dtype
    for n in ns:
        a, b = big_a[:, :n], big_b[:, :n]  # (trials, n) each: the first n entries
        exact = (a.to(wide) * b.to(wide)).sum(dim=-1)  # (trials,) all terms positive
        for acc in ACCUMULATIONS:
            got = dot(a, b, acc).to(wide)  # (trials,)
            errors[acc].append(((got - exact).abs() / exact).cpu().double())
    return AccumulationErrors(dtype=dtype, ns=ns,
                              errors={k: torch.stack(v) for k, v in errors.items()})


# ------------------------------------------------------- normalisation, clipping
def _wide(x: torch.Tensor) -> torch.Tensor:
    """``x`` in at least float32: statistics of float16/bfloat16 tensors are
    accumulated in float32, as PyTorch's own normalisation kernels do (a square
    of 300 already overflows float16)."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


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
        eps: added to the variance.

    Shape:
        ``x``: ``(*, n)``; output: the same.

    Examples::

        >>> x = torch.tensor([1.0, 2.0, 3.0, 4.0]) * 1000
        >>> layer_norm(x)
        tensor([-1.3416, -0.4472,  0.4472,  1.3416])
    """
    x = _validate.batched(x, "x")
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
        eps: added to the mean square; default ``torch.finfo(x.dtype).eps``, as
            ``torch.nn.RMSNorm`` does.

    Shape:
        ``x``: ``(*, n)``; output: the same.

    Examples::

        >>> y = rms_norm(torch.tensor([300.0, -400.0], dtype=torch.float16))
        >>> y  # 300² = 90000 would overflow float16; the statistics are float32
        tensor([ 0.8486, -1.1318], dtype=torch.float16)
    """
    x = _validate.batched(x, "x")
    if weight is not None:
        _validate.last_dim(weight, "weight", x.shape[-1], x, "x")
    eps = torch.finfo(x.dtype).eps if eps is None else eps
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
        width = _validate.integer(width, "width")
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
        _validate.integer(self.depth, "depth")
        _validate.integer(self.width, "width")
        _validate.in_range(self.gain, "gain", 1e-3, 1e3)
        _validate.choice(self.norm, "norm", NORMS)


def deep_mlp(config: MLPConfig, *, generator: torch.Generator | None = None,
             dtype: torch.dtype = torch.float32,
             device: torch.device | str | None = None) -> nn.Sequential:
    r"""The network of ``config`` with weights drawn from ``generator``.

    With ``gain > 1`` and no normalisation the pre-activations (dot products
    :math:`W_l h_{l-1}`) grow like :math:`\text{gain}^l`: the *exploding*
    configuration (He et al. 2015 derive ``gain = 1``; Chapter 9).

    Examples::

        >>> net = deep_mlp(MLPConfig(depth=3, width=8, norm="rms"))
        >>> [type(m).__name__ for m in net][:3]
        ['Linear', 'Normalization', 'ReLU']
    """
    if not isinstance(config, MLPConfig):
        raise TypeError(f"config must be an MLPConfig, got {type(config).__name__}")
    _float_dtype(dtype)
    dev = torch.device(device) if device is not None else (
        generator.device if generator is not None else torch.device("cpu"))
    if generator is None:
        generator = torch.Generator(device=dev).manual_seed(0)
    std = initialization.std("he", config.width, gain=config.gain)  # gain · √(2/width)
    layers: list[nn.Module] = []
    for _ in range(config.depth):
        linear = nn.utils.skip_init(nn.Linear, config.width, config.width, bias=False,
                                    dtype=dtype, device=dev)  # weights drawn below
        with torch.no_grad():
            w = torch.randn(config.width, config.width, generator=generator, device=dev,
                            dtype=torch.float32) * std  # (width, width)
            linear.weight.copy_(w.to(dtype))
        layers.append(linear)
        if config.norm != "none":
            layers.append(Normalization(config.norm, config.width, dtype=dtype, device=dev))
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


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
    x = _validate.batched(x, "x")
    if not isinstance(net, nn.Sequential):
        raise TypeError(f"net must be an nn.Sequential (e.g. from deep_mlp), got "
                        f"{type(net).__name__}")
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
    grads = list(grads)
    if not grads:
        raise ValueError("grads is empty; pass the list of gradient tensors to clip")
    for k, g in enumerate(grads):
        _validate.tensor(g, f"grads[{k}]")
        _validate.same_kind(grads[0], g, f"grads[0], grads[{k}]")
    max_norm = _validate.in_range(max_norm, "max_norm", 0.0, math.inf)
    if max_norm <= 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm}")
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
    """
    x = _validate.batched(x, "x")
    y = _validate.batched(y, "y")
    steps = _validate.integer(steps, "steps")
    lr = _validate.in_range(lr, "lr", 0.0, math.inf)
    params = [p for p in net.parameters() if p.requires_grad]
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
