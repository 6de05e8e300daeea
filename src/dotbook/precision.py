r"""Chapter 10, first half: floating-point precision. What a format can hold,
softmax and log-sum-exp at huge logits, and dot products summed in low precision.

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

**Dot products in low precision.** :func:`rounded_dot` forms the products
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

Every function accepts tensors on any device and returns on the same device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from dotbook import _validate
from dotbook import device as _device

__all__ = [
    "ACCUMULATIONS",
    "DTYPES",
    "LOGITS",
    "SOFTMAX_METHODS",
    "AccumulationErrors",
    "Limits",
    "accumulation_errors",
    "error_bound",
    "gamma",
    "limits",
    "log_softmax",
    "logsumexp",
    "reference_errors",
    "rounded_dot",
    "rounded_dot_loop",
    "score_spread",
    "softmax",
    "supported_dtypes",
    "temperature_scores",
]


#: The four floating-point formats of the chapter, widest first.
DTYPES: tuple[torch.dtype, ...] = (torch.float64, torch.float32, torch.bfloat16, torch.float16)
#: How :func:`softmax`, :func:`logsumexp` and :func:`log_softmax` can compute.
SOFTMAX_METHODS: tuple[str, ...] = ("naive", "shifted")
#: How :func:`rounded_dot` can sum the products.
ACCUMULATIONS: tuple[str, ...] = ("low", "float32", "pairwise", "kahan")
#: Nine logits in [-1, 1]: the chapter's softmax figure shows ``scale * LOGITS``.
LOGITS = torch.tensor([-1.0, -0.8, -0.55, -0.3, 0.0, 0.2, 0.45, 0.8, 1.0], dtype=torch.float64)


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
    device = _device.resolve_device("cpu" if device is None else device)
    if isinstance(candidates, (str, bytes)) or not isinstance(candidates, Sequence):
        raise TypeError(f"candidates must be a sequence of dtypes, got {type(candidates).__name__}")
    found = []
    for i, dtype in enumerate(candidates):
        if not isinstance(dtype, torch.dtype):
            raise TypeError(f"candidates[{i}] must be a torch dtype, got {dtype!r}")
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


def _extremes(x: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                   torch.Tensor]:
    """What the extreme-input rule needs, per row along ``dim`` (kept): the +inf
    entries, how many a row has, whether the row is entirely -inf (fully masked),
    and whether it holds a NaN."""
    top = torch.isposinf(x)  # (*) the +inf entries
    n_top = top.sum(dim=dim, keepdim=True)  # (*, 1, *)
    masked = torch.isneginf(x).all(dim=dim, keepdim=True)  # (*, 1, *)
    nan = torch.isnan(x).any(dim=dim, keepdim=True)  # (*, 1, *)
    return top, n_top, masked, nan


def softmax(x: torch.Tensor, dim: int = -1, method: str = "shifted") -> torch.Tensor:
    r"""Softmax along ``dim``, computed in ``x``'s dtype.

    .. math::  \operatorname{softmax}(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}}
               = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}, \qquad m = \max_j x_j .

    Extreme inputs (``"shifted"``; the book's one rule, shared with
    :mod:`dotbook.attention`): a row's probability mass splits equally among its
    ``+inf`` entries, the limit as those logits grow together, so
    ``softmax([inf, 1]) = [1, 0]``; a row that is entirely ``-inf`` (fully
    masked) gives all zeros, PyTorch >= 2.5's rule for
    ``F.scaled_dot_product_attention`` (pytorch/pytorch#133882); a row holding a
    NaN gives NaN. No ``inf - inf`` is ever formed. ``torch.softmax`` itself
    returns NaN for all three kinds of row.

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
        >>> inf = float("inf")
        >>> softmax(torch.tensor([[inf, 1.0], [-inf, -inf]]))
        tensor([[1., 0.],
                [0., 0.]])
    """
    x, dim = _logits(x, dim, method)
    if method == "naive":
        e = torch.exp(x)
        return e / e.sum(dim=dim, keepdim=True)
    top, n_top, masked, nan = _extremes(x, dim)
    special = (n_top > 0) | masked | nan  # (*, 1, *) rows the rule decides
    m = x.amax(dim=dim, keepdim=True)  # (*, 1, *)
    z = x - torch.where(special, torch.zeros_like(m), m)  # (*) finite rows: every entry <= 0
    z = torch.where(special, torch.full_like(z, -1.0), z)  # special rows: any finite value
    e = torch.exp(z)  # (*)
    p = e / e.sum(dim=dim, keepdim=True)  # (*) the ordinary rows
    split = top.to(x.dtype) / n_top.clamp_min(1).to(x.dtype)  # (*) 1/k on each +inf entry
    p = torch.where(n_top > 0, split, p)
    p = torch.where(masked, torch.zeros_like(p), p)
    return torch.where(nan, torch.full_like(p, math.nan), p)


def logsumexp(x: torch.Tensor, dim: int = -1, method: str = "shifted") -> torch.Tensor:
    r"""Log-sum-exp along ``dim``, computed in ``x``'s dtype.

    .. math::  \operatorname{logsumexp}(x) = \log\sum_j e^{x_j}
               = m + \log\sum_j e^{x_j - m}, \qquad m = \max_j x_j ,

    so :math:`m \le \operatorname{logsumexp}(x) \le m + \log n`. A row with a
    ``+inf`` gives ``+inf``, a row of ``-inf`` gives ``-inf``, a NaN gives NaN
    (as ``torch.logsumexp`` does).

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

    ``"shifted"`` is the logarithm of :func:`softmax`'s rule for extreme inputs:
    with :math:`k` entries ``+inf`` those get :math:`-\log k` and the rest
    ``-inf`` (``log_softmax([inf, 1]) = [0, -inf]``); a fully masked row (all
    ``-inf``) gives ``-inf`` everywhere (the log of its zeros); NaN gives NaN.

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
        >>> log_softmax(torch.tensor([float("inf"), 1.0]))
        tensor([0., -inf])
    """
    x, dim = _logits(x, dim, method)
    if method == "naive":
        return torch.log(softmax(x, dim, "naive"))
    top, n_top, masked, nan = _extremes(x, dim)
    special = (n_top > 0) | masked | nan  # (*, 1, *)
    z = x - _shift(x, dim)  # (*) ordinary rows: every entry <= 0
    z = torch.where(special, torch.full_like(z, -1.0), z)  # special rows: any finite value
    out = z - torch.log(torch.exp(z).sum(dim=dim, keepdim=True))  # (*)
    split = torch.where(top, 0.0 - torch.log(n_top.clamp_min(1).to(x.dtype)),
                        torch.full_like(out, -math.inf))  # (*) −log k on +inf entries
    out = torch.where(n_top > 0, split, out)
    out = torch.where(masked, torch.full_like(out, -math.inf), out)
    return torch.where(nan, torch.full_like(out, math.nan), out)


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
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x holds inf or nan; reference_errors compares finite logits with "
                         "PyTorch's ops (which give nan for +inf rows): pass finite logits, "
                         "and see softmax for the rule at extreme inputs")
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
    error accumulated by :math:`n` roundings, defined for :math:`n u < 1`.

    Once :math:`n u \ge 1` the formula is undefined (its denominator is
    :math:`\le 0`) and the bound is vacuous: no relative error is excluded.
    This function returns ``inf`` there, so a plot or a comparison
    ``err <= gamma(n, u)`` stays true and says nothing, rather than failing.

    Args:
        n: the number of roundings, :math:`0 \le n \le 2^{62}`.
        u: the unit roundoff, in :math:`[0, 1)`.

    Examples::

        >>> gamma(10, 2.0**-11) > 10 * 2.0**-11, gamma(256, 2.0**-8)
        (True, inf)
    """
    n = _validate.integer(n, "n", at_least=0, at_most=2**62)
    u = _validate.in_range(u, "u", 0.0, 1.0)
    if u >= 1:
        raise ValueError(f"u must be a unit roundoff in [0, 1), got {u}; "
                         f"use limits(dtype).unit_roundoff")
    nu = n * u
    return nu / (1 - nu) if nu < 1 else math.inf


def error_bound(n: int, dtype: torch.dtype, accumulate: str) -> float:
    r"""The worst-case bound on :math:`|\hat s - a\cdot b| / (|a|\cdot|b|)`, with
    :math:`|a|\cdot|b| = \sum_i |a_i b_i|`, for :func:`rounded_dot` of length-``n``
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
    n = _validate.integer(n, "n", at_most=2**62)
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


#: The longest vector :func:`rounded_dot` and :func:`rounded_dot_loop` sum (their
#: ``"low"`` and ``"kahan"`` routes loop over ``n``); the chapter needs 10 000.
MAX_N = 2**20


def _pair(a: object, b: object) -> tuple[torch.Tensor, torch.Tensor]:
    a = _validate.batched(a, "a")
    b = _validate.batched(b, "b")
    _validate.same_shape(a, b)
    _validate.integer(a.shape[-1], "the vector length n (last dimension of a)", at_most=MAX_N)
    return a, b


def rounded_dot(a: torch.Tensor, b: torch.Tensor, accumulate: str = "float32") -> torch.Tensor:
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
        >>> [rounded_dot(a, a, acc).item() for acc in ACCUMULATIONS]  # low, f32, pairwise, kahan
        [2048.0, 4096.0, 4096.0, 4096.0]
        >>> rounded_dot(a, a, "low").dtype, rounded_dot(a, a, "float32").dtype
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


def rounded_dot_loop(a: torch.Tensor, b: torch.Tensor, accumulate: str = "float32") -> float:
    """The reference for :func:`rounded_dot` on two vectors: a Python loop over floats
    that rounds after every operation (to ``a``'s dtype, or float32 for the
    ``"float32"`` accumulator). Each ``+``, ``-`` or ``*`` of two
    low-precision numbers is exact in Python's float64 (or rounded to 53 bits,
    which the final rounding does not notice), so this is correct rounding, op
    by op. ``"float32"`` adds left to right, while :func:`rounded_dot` uses PyTorch's
    sum order, so those two agree to within the bound, not bit for bit.

    Examples::

        >>> a = torch.tensor([1.0, 2.0**-11, 2.0**-11], dtype=torch.float16)
        >>> rounded_dot_loop(a, torch.ones(3, dtype=torch.float16), "low")
        1.0
        >>> rounded_dot_loop(a, torch.ones(3, dtype=torch.float16), "kahan")
        1.0009765625
    """
    a = _validate.vector(a, "a")
    b = _validate.vector(b, "b")
    _validate.same_shape(a, b)
    _validate.integer(a.shape[0], "the vector length n of a", at_most=MAX_N)
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
    """Measured relative errors of :func:`rounded_dot` against a float64 reference.

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
        _validate.choice(accumulate, "accumulate", tuple(self.errors))
        return self.errors[accumulate].median(dim=1).values.tolist()

    def max(self, accumulate: str) -> list[float]:
        """The largest error at each n."""
        _validate.choice(accumulate, "accumulate", tuple(self.errors))
        return self.errors[accumulate].amax(dim=1).tolist()


def accumulation_errors(dtype: torch.dtype, ns: Sequence[int], trials: int = 32, *,
                        generator: torch.Generator | None = None,
                        device: torch.device | str | None = None) -> AccumulationErrors:
    r"""Relative errors of the four accumulations of :func:`rounded_dot` for ``trials``
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
    ns = tuple(_validate.sizes(ns, "ns", at_most=MAX_N))
    trials = _validate.integer(trials, "trials", at_most=4096)
    if trials * max(ns) > 2**26:
        raise ValueError(f"trials * max(ns) = {trials * max(ns)} entries per vector set is too "
                         f"large; keep it at most 2**26 (fewer trials or shorter vectors)")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if device is not None:
        device = _device.resolve_device(device)
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
            got = rounded_dot(a, b, acc).to(wide)  # (trials,)
            errors[acc].append(((got - exact).abs() / exact).cpu().double())
    return AccumulationErrors(dtype=dtype, ns=ns,
                              errors={k: torch.stack(v) for k, v in errors.items()})


# ------------------------------------------------------------- temperature
def _wide_on(generator: object) -> tuple[torch.device, torch.dtype]:
    """The generator's device, and float64 there if it has it (MPS has not: float32)."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}; "
                        f"pass book.generator(k)")
    dev = generator.device
    return dev, torch.float64 if _device.supports(dev, torch.float64) else torch.float32


def score_spread(ns: Sequence[int], samples: int = 500, *,
                 generator: torch.Generator) -> list[float]:
    r"""The sample standard deviation of :math:`q\cdot k` for ``samples`` pairs of
    vectors with independent :math:`N(0, 1)` entries, at each dimension in ``ns``
    (float64, float32 on MPS, on the generator's device). In theory it is :math:`\sqrt n`.

    Examples::

        >>> from dotbook.device import generator
        >>> [round(s) for s in score_spread([1, 100], 4000, generator=generator(0))]
        [1, 10]
    """
    ns = _validate.sizes(ns, "ns", at_most=2**16)
    samples = _validate.integer(samples, "samples", at_least=2, at_most=100_000)
    if samples * max(ns) > 2**26:
        raise ValueError(f"samples * max(ns) = {samples * max(ns)} is too large; keep it at "
                         f"most 2**26")
    dev, dtype = _wide_on(generator)
    out = []
    for n in ns:
        q, k = torch.randn(2, samples, n, generator=generator, device=dev,
                           dtype=dtype)  # (samples, n) each
        out.append(float((q * k).sum(-1).std()))
    return out


def temperature_scores(n_max: int, keys: int = 12, *,
                       generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One query and ``keys`` keys with :math:`N(0, 1)` entries in dimension
    ``n_max`` (float64, float32 on MPS, on the generator's device). The scores in any dimension
    :math:`n \le` ``n_max`` are those of the first :math:`n` coordinates,
    ``k[:, :n] @ q[:n]``, so a slider over :math:`n` draws nothing.

    Shape:
        outputs: ``(n_max,)`` and ``(keys, n_max)``.

    Examples::

        >>> from dotbook.device import generator
        >>> q, k = temperature_scores(64, generator=generator(0))
        >>> q.shape, k.shape
        (torch.Size([64]), torch.Size([12, 64]))
    """
    n_max = _validate.integer(n_max, "n_max", at_most=2**16)
    keys = _validate.integer(keys, "keys", at_most=4096)
    dev, dtype = _wide_on(generator)
    q = torch.randn(n_max, generator=generator, device=dev, dtype=dtype)  # (n,)
    k = torch.randn(keys, n_max, generator=generator, device=dev, dtype=dtype)  # (T, n)
    return q, k
