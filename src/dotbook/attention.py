r"""Attention as scaled dot products (Chapter 7).

Every query :math:`q_i` scores every key :math:`k_j` with a dot product, the
scores of one query pass through a softmax, and the weights average the values:

.. math::

    \operatorname{Attention}(Q, K, V) = \operatorname{softmax}\!\Big(
        \frac{Q K^\top}{\sqrt{d_k}} + M\Big)\, V,

where :math:`M` is 0 where a query may look and :math:`-\infty` where it may not
(Vaswani et al., 2017). This module writes that formula from dot products and
an explicit softmax, checks it against PyTorch's fused kernel, explains the
:math:`1/\sqrt{d_k}`, and walks the keys in blocks with an online softmax so
the :math:`T_q \times T_k` score matrix is never held at once.

Conventions, identical to :func:`torch.nn.functional.scaled_dot_product_attention`:

- a **boolean** mask is ``True`` where a query *may* attend; a **float** mask is
  *added* to the scores (use ``-inf`` to forbid); either must broadcast to
  ``(*, T_q, T_k)`` without enlarging that shape;
- ``causal=True`` lets query ``i`` see keys ``0..i``: the mask is
  ``tril(ones(T_q, T_k))``, aligned to the **top-left** corner even when
  ``T_q != T_k`` (PyTorch's documented reference does the same; for the
  bottom-right alignment a key–value cache needs, pass an explicit mask);
- a query whose every key is masked (a *fully masked row*) gets weights of 0
  and an output of 0, never NaN. The formula itself would give 0/0, and so
  would the reference code in PyTorch's documentation; PyTorch itself returns
  0 since version 2.5 (a "safe softmax", pytorch/pytorch pull request 131060,
  not mentioned in its documentation), and this module matches it.

Unlike PyTorch, ``causal`` and ``mask`` may be combined (PyTorch refuses): a key
is visible when both allow it.

Shape letters: ``*`` batch and head dimensions, ``T_q`` queries, ``T_k`` keys,
``d_k`` query/key width, ``d_v`` value width.

Names (the package's naming rule): :func:`scaled_dot_product_attention` is the
vectorised *definition*, the ``_naive`` twin of the rule, kept under the name
PyTorch uses for the same operation; :func:`scaled_dot_product_attention_loop`
is the Python-loop reference; :func:`chunked_attention` is the memory-frugal
route all three are tested against.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from dotbook import _validate
from dotbook import device as _device

__all__ = [
    "causal_mask",
    "scores",
    "attention_weights",
    "scaled_dot_product_attention",
    "scaled_dot_product_attention_loop",
    "chunked_attention",
    "softmax_jacobian_norm",
    "entropy",
    "ScoreVariance",
    "score_variance",
    "score_fourth_moment",
    "variance_standard_error",
    "Saturation",
    "saturation",
    "saturation_curves",
    "peak_bytes",
    "max_length",
    "ScaleRow",
    "METHODS",
    "measure_at_scale",
    "bytes_per_score",
    "Toy",
    "toy_sentence",
]


# ------------------------------------------------------------ validation
def _qkv(q: object, k: object, v: object | None = None
         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Check q (*, T_q, d_k), k (*, T_k, d_k), v (*, T_k, d_v): equal batch dims, no broadcast."""
    q = _validate.tensor(q, "q")
    k = _validate.tensor(k, "k")
    named = [("q", q), ("k", k)] + ([("v", _validate.tensor(v, "v"))] if v is not None else [])
    for name, x in named:
        if x.ndim < 2:
            raise ValueError(
                f"{name} must have at least 2 dimensions (*, T, d), got shape {tuple(x.shape)}; "
                f"for one sequence pass shape (T, d), e.g. {name}.unsqueeze(0) for T = 1"
            )
        if x.shape[-1] == 0 or x.shape[-2] == 0:
            raise ValueError(f"{name} has shape {tuple(x.shape)} with an empty sequence or "
                             f"width; pass T >= 1 and d >= 1")
    _validate.same_kind(q, k, "q, k")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q has shape {tuple(q.shape)} and k has shape {tuple(k.shape)}: their last "
            f"dimensions (d_k = {q.shape[-1]} vs {k.shape[-1]}) must match, because each "
            f"score is a dot product q_i·k_j; project both to the same d_k"
        )
    if q.shape[:-2] != k.shape[:-2]:
        raise ValueError(
            f"q has shape {tuple(q.shape)} and k has shape {tuple(k.shape)}: their batch and "
            f"head dimensions {tuple(q.shape[:-2])} and {tuple(k.shape[:-2])} must be equal "
            f"(no silent broadcasting); expand one explicitly"
        )
    if v is None:
        return q, k, None
    v = named[2][1]
    _validate.same_kind(k, v, "k, v")
    if v.shape[:-1] != k.shape[:-1]:
        raise ValueError(
            f"k has shape {tuple(k.shape)} and v has shape {tuple(v.shape)}: every key needs "
            f"one value, so v must have shape (*, T_k, d_v) with (*, T_k) = "
            f"{tuple(k.shape[:-1])}"
        )
    return q, k, v


def _scale(scale: object, d_k: int) -> float:
    if scale is None:
        return 1.0 / math.sqrt(d_k)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale):
        raise TypeError(f"scale must be None (meaning 1/sqrt(d_k)) or a finite number, "
                        f"got {scale!r}")
    return float(scale)


def _mask(mask: object, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor | None:
    """Check a boolean or additive mask that broadcasts to (*, T_q, T_k)."""
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask must be a torch.Tensor (bool or {q.dtype}) or None, "
                        f"got {type(mask).__name__}")
    if mask.dtype != torch.bool and mask.dtype != q.dtype:
        raise TypeError(
            f"mask has dtype {mask.dtype}; pass a bool mask (True = may attend) or an "
            f"additive mask of q's dtype {q.dtype} (0 = attend, -inf = forbid)"
        )
    if mask.device != q.device:
        raise ValueError(f"mask is on {mask.device} but q is on {q.device}; "
                         f"move it with mask.to(q.device)")
    target = tuple(q.shape[:-1]) + (k.shape[-2],)  # (*, T_q, T_k)
    try:
        fits = (1 <= mask.ndim <= len(target)
                and torch.broadcast_shapes(mask.shape, target) == target)
    except RuntimeError:
        fits = False
    if not fits:
        raise ValueError(
            f"mask has shape {tuple(mask.shape)}, which does not broadcast to the score "
            f"shape (*, T_q, T_k) = {target}; pass shape (T_q, T_k) = {target[-2:]}, or "
            f"{target}, or any shape with 1s where it should repeat"
        )
    return mask


def causal_mask(T_q: int, T_k: int, *, device: torch.device | str | None = None) -> torch.Tensor:
    r"""The causal mask :math:`M_{ij} = [\,j \le i\,]`, shape (T_q, T_k), aligned top-left.

    This is ``torch.ones(T_q, T_k, dtype=torch.bool).tril()``, the mask PyTorch's
    ``is_causal=True`` uses: query ``i`` sees keys ``0..i`` whatever ``T_k`` is.

    Examples::

        >>> causal_mask(2, 3).int()
        tensor([[1, 0, 0],
                [1, 1, 0]], dtype=torch.int32)
    """
    T_q = _validate.integer(T_q, "T_q")
    T_k = _validate.integer(T_k, "T_k")
    i = torch.arange(T_q, device=device).unsqueeze(-1)  # (T_q, 1)
    j = torch.arange(T_k, device=device)  # (T_k,)
    return j <= i  # (T_q, T_k)


def _bias(mask: torch.Tensor | None, causal: bool, q: torch.Tensor, k: torch.Tensor,
          cols: slice | None = None) -> torch.Tensor | None:
    """The additive bias (0 or -inf, or the float mask) for key columns ``cols``."""
    T_q, T_k = q.shape[-2], k.shape[-2]
    cols = cols or slice(0, T_k)
    bias = None
    if mask is not None:
        m = mask[..., cols] if mask.shape[-1] != 1 else mask  # (..., T_q or 1, block or 1)
        if m.dtype == torch.bool:
            bias = torch.zeros_like(m, dtype=q.dtype).masked_fill_(~m, float("-inf"))
        else:
            bias = m
    if causal:
        i = torch.arange(T_q, device=q.device).unsqueeze(-1)  # (T_q, 1)
        j = torch.arange(cols.start, min(cols.stop, T_k), device=q.device)  # (block,)
        future = j > i  # (T_q, block)
        c = torch.zeros(future.shape, dtype=q.dtype, device=q.device).masked_fill_(
            future, float("-inf"))
        bias = c if bias is None else bias + c  # (..., T_q, block)
    return bias


def _checked_bool(causal: object) -> bool:
    if not isinstance(causal, bool):
        raise TypeError(f"causal must be True or False, got {causal!r}")
    return causal


# ------------------------------------------------------------ from scratch
def scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    r"""Scaled compatibility scores :math:`S_{ij} = s\,(q_i\cdot k_j)`, with s = 1/√d_k by default.

    One dot product per (query, key) pair: ``S = scale · Q Kᵀ``.

    Args:
        q: queries, shape (*, T_q, d_k).
        k: keys, shape (*, T_k, d_k), same batch dimensions and dtype as ``q``.
        scale: the factor :math:`s`; ``None`` means :math:`1/\sqrt{d_k}`.

    Shape:
        returns (*, T_q, T_k).

    Examples::

        >>> q = torch.tensor([[1.0, 0.0], [0.0, 2.0]]); k = torch.tensor([[3.0, 4.0]])
        >>> scores(q, k, scale=1.0)
        tensor([[3.],
                [8.]])
    """
    q, k, _ = _qkv(q, k)
    s = _scale(scale, q.shape[-1])
    return (q @ k.transpose(-2, -1)) * s  # (*, T_q, T_k)


def _softmax_rows(s: torch.Tensor) -> torch.Tensor:
    """Max-shifted softmax over the last dimension; a row of all -inf gives zeros."""
    m = s.amax(dim=-1, keepdim=True)  # (*, T_q, 1)
    m = torch.where(torch.isneginf(m), torch.zeros_like(m), m)  # fully masked row: shift by 0
    e = torch.exp(s - m)  # (*, T_q, T_k); exp(-inf) = 0
    total = e.sum(dim=-1, keepdim=True)  # (*, T_q, 1)
    return e / torch.where(total == 0, torch.ones_like(total), total)


def attention_weights(q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None = None,
                      causal: bool = False, scale: float | None = None) -> torch.Tensor:
    r"""The attention weights :math:`A = \operatorname{softmax}(s\,QK^\top + M)`, row by row.

    Each row is a probability distribution over the keys, except a fully
    masked row, which is all zeros (see the module docstring).

    Args:
        q, k: as in :func:`scores`.
        mask: ``None``, a bool mask (True = may attend) or an additive float mask
            of ``q``'s dtype; broadcasts to (*, T_q, T_k).
        causal: add the top-left causal mask :func:`causal_mask`.
        scale: as in :func:`scores`.

    Shape:
        returns (*, T_q, T_k).

    Examples::

        >>> q = torch.zeros(2, 3); k = torch.ones(2, 3)
        >>> attention_weights(q, k, causal=True)
        tensor([[1.0000, 0.0000],
                [0.5000, 0.5000]])
    """
    q, k, _ = _qkv(q, k)
    mask = _mask(mask, q, k)
    s = scores(q, k, scale)  # (*, T_q, T_k)
    bias = _bias(mask, _checked_bool(causal), q, k)
    if bias is not None:
        s = s + bias  # broadcasts (..., T_q, T_k)
    return _softmax_rows(s)


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 mask: torch.Tensor | None = None, causal: bool = False,
                                 scale: float | None = None) -> torch.Tensor:
    r"""Attention from dot products: :math:`\operatorname{softmax}(s\,QK^\top + M)\,V`.

    The vectorised definition: it materialises the whole (*, T_q, T_k) score
    matrix, exactly as the formula reads. It equals
    :func:`torch.nn.functional.scaled_dot_product_attention` (``attn_mask=mask``,
    ``is_causal=causal``) to rounding, including its zeros for fully masked rows.

    Args:
        q: queries (*, T_q, d_k).
        k: keys (*, T_k, d_k).
        v: values (*, T_k, d_v).
        mask, causal, scale: see :func:`attention_weights`.

    Shape:
        returns (*, T_q, d_v).

    Examples::

        >>> q = torch.tensor([[0.0, 0.0]]); k = torch.eye(2); v = torch.tensor([[2.0], [4.0]])
        >>> scaled_dot_product_attention(q, k, v)  # equal scores: the mean of the values
        tensor([[3.]])
    """
    q, k, v = _qkv(q, k, v)
    return attention_weights(q, k, mask, causal, scale) @ v  # (*, T_q, d_v)


def scaled_dot_product_attention_loop(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                      mask: torch.Tensor | None = None, causal: bool = False,
                                      scale: float | None = None) -> torch.Tensor:
    r"""The same attention as Python loops over one dot product :math:`q_i\cdot k_j` at a time.

    A reference for small inputs: for every query, score each key with
    ``torch.dot``, softmax the row by hand, and sum the weighted values.

    Shape:
        as :func:`scaled_dot_product_attention`.

    Examples::

        >>> q = torch.tensor([[1.0, 0.0]]); k = torch.eye(2); v = torch.tensor([[1.0], [0.0]])
        >>> scaled_dot_product_attention_loop(q, k, v, scale=math.log(3.0))
        tensor([[0.7500]])
    """
    q, k, v = _qkv(q, k, v)
    mask = _mask(mask, q, k)
    s = _scale(scale, q.shape[-1])
    bias = _bias(mask, _checked_bool(causal), q, k)
    T_q, T_k = q.shape[-2], k.shape[-2]
    lead = tuple(q.shape[:-2])
    if bias is None:
        bias = torch.zeros((), dtype=q.dtype, device=q.device)
    bias = bias.expand(lead + (T_q, T_k)).reshape(-1, T_q, T_k)  # (N, T_q, T_k)
    qs = q.reshape(-1, T_q, q.shape[-1])  # (N, T_q, d_k)
    ks = k.reshape(-1, T_k, k.shape[-1])  # (N, T_k, d_k)
    vs = v.reshape(-1, T_k, v.shape[-1])  # (N, T_k, d_v)
    out = torch.zeros(qs.shape[0], T_q, v.shape[-1], dtype=q.dtype, device=q.device)
    for b in range(qs.shape[0]):
        for i in range(T_q):
            row = [s * torch.dot(qs[b, i], ks[b, j]) + bias[b, i, j] for j in range(T_k)]
            top = max(float(x) for x in row)
            if top == float("-inf"):
                continue  # fully masked row: output 0
            e = [torch.exp(x - top) for x in row]
            total = sum(e)
            for j in range(T_k):
                out[b, i] += (e[j] / total) * vs[b, j]
    return out.reshape(lead + (T_q, v.shape[-1]))  # (*, T_q, d_v)


# ------------------------------------------------------------ at scale
def chunked_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, block: int = 128,
                      causal: bool = False, scale: float | None = None,
                      mask: torch.Tensor | None = None) -> torch.Tensor:
    r"""Attention that walks K and V in blocks of ``block`` keys with an online softmax.

    For each block :math:`J` of keys, with running max :math:`m`, running sum
    :math:`\ell` and running output :math:`o` per query:

    .. math::

        m' = \max(m, \max_{j\in J} s_j),\quad
        \ell' = e^{m - m'}\ell + \sum_{j\in J} e^{s_j - m'},\quad
        o' = e^{m - m'} o + \sum_{j\in J} e^{s_j - m'} v_j,

    and the result is :math:`o/\ell` (Milakov & Gimelshein, 2018; Rabe &
    Staats, 2021; Dao et al., 2022). Only a (*, T_q, block) slice of scores
    exists at a time, next to the running (*, T_q, d_v) output and a few
    temporaries of that size: O(T·(block + d_v)) extra memory, linear in T,
    instead of the O(T²) of the score matrix. The causal mask is built per
    block from indices, never as a (T_q, T_k) matrix.

    Args:
        q, k, v: as in :func:`scaled_dot_product_attention`.
        block: keys per block, an int >= 1.
        causal, scale, mask: as in :func:`attention_weights`.

    Shape:
        returns (*, T_q, d_v).

    Examples::

        >>> g = torch.Generator().manual_seed(0)
        >>> q, k, v = (torch.randn(2, 5, 3, generator=g, dtype=torch.float64) for _ in range(3))
        >>> torch.allclose(chunked_attention(q, k, v, block=2, causal=True),
        ...                scaled_dot_product_attention(q, k, v, causal=True))
        True
    """
    q, k, v = _qkv(q, k, v)
    mask = _mask(mask, q, k)
    block = _validate.integer(block, "block")
    causal = _checked_bool(causal)
    s = _scale(scale, q.shape[-1])
    T_k = k.shape[-2]
    stats = tuple(q.shape[:-1]) + (1,)  # (*, T_q, 1)
    m = torch.full(stats, float("-inf"), dtype=q.dtype, device=q.device)  # running max
    total = torch.zeros(stats, dtype=q.dtype, device=q.device)  # running sum of exp
    out = torch.zeros(tuple(q.shape[:-1]) + (v.shape[-1],), dtype=q.dtype,
                      device=q.device)  # (*, T_q, d_v)
    qs = q * s  # (*, T_q, d_k): scale once, not every block
    # Without autograd, work on each block's scores in place: one (*, T_q, block)
    # buffer at a time. With autograd, keep the out-of-place ops it needs.
    in_place = not (torch.is_grad_enabled() and any(x.requires_grad for x in (q, k, v)))
    for start in range(0, T_k, block):
        cols = slice(start, min(start + block, T_k))
        if causal and start > q.shape[-2] - 1:
            break  # every later key is in the future of every query
        sb = qs @ k[..., cols, :].transpose(-2, -1)  # (*, T_q, block)
        bias = _bias(mask, causal, q, k, cols)
        if bias is not None:
            sb = sb.add_(bias) if in_place else sb + bias  # bias broadcasts to sb
        m_new = torch.maximum(m, sb.amax(dim=-1, keepdim=True))  # (*, T_q, 1)
        shift = torch.where(torch.isneginf(m_new), torch.zeros_like(m_new), m_new)
        correction = torch.exp(m - shift)  # rescales what was summed under the old max
        p = sb.sub_(shift).exp_() if in_place else torch.exp(sb - shift)  # (*, T_q, block)
        total = total * correction + p.sum(dim=-1, keepdim=True)
        out = out * correction + p @ v[..., cols, :]  # (*, T_q, d_v)
        m = m_new
    return out / torch.where(total == 0, torch.ones_like(total), total)


# ------------------------------------------------------------ why 1/sqrt(d_k)
def entropy(p: torch.Tensor) -> torch.Tensor:
    r"""Shannon entropy :math:`H(p) = -\sum_j p_j \log p_j` (nats) of each row; 0·log 0 = 0.

    Shape:
        p (*, T) → (*).

    Examples::

        >>> entropy(torch.tensor([[0.5, 0.5], [1.0, 0.0]]))
        tensor([0.6931, 0.0000])
    """
    p = _validate.batched(p, "p")
    return torch.special.entr(p).sum(dim=-1)  # entr(x) = -x log x, entr(0) = 0


def softmax_jacobian_norm(p: torch.Tensor) -> torch.Tensor:
    r"""Frobenius norm of the softmax Jacobian :math:`J = \operatorname{diag}(p) - pp^\top`.

    :math:`\lVert J\rVert_F^2 = \sum_j p_j^2 - 2\sum_j p_j^3 + (\sum_j p_j^2)^2`: how much
    the weights move when the scores move. It is 0 at a one-hot ``p``
    (a saturated softmax passes no gradient back to its scores).

    Shape:
        p (*, T) → (*).

    Examples::

        >>> softmax_jacobian_norm(torch.tensor([[1.0, 0.0], [0.5, 0.5]]))
        tensor([0.0000, 0.5000])
    """
    p = _validate.batched(p, "p")
    p2 = (p * p).sum(dim=-1)
    p3 = (p * p * p).sum(dim=-1)
    return (p2 - 2 * p3 + p2 * p2).clamp_min(0).sqrt()


def score_fourth_moment(d_k: int) -> float:
    r""":math:`E[(q\cdot k)^4] = 3d_k^2 + 6d_k` for iid standard normal components.

    With :math:`X_i = q_i k_i`: :math:`E[X_i^2] = 1`, :math:`E[X_i^4] = E[q_i^4]E[k_i^4] = 9`,
    so :math:`E[(\sum X_i)^4] = 9d_k + 3d_k(d_k - 1)`.

    Examples::

        >>> score_fourth_moment(1), score_fourth_moment(4)
        (9.0, 72.0)
    """
    d_k = _validate.integer(d_k, "d_k")
    return 3.0 * d_k * d_k + 6.0 * d_k


def variance_standard_error(d_k: int, samples: int) -> float:
    r"""Standard error of the unbiased sample variance of N draws of q·k (Gaussian components).

    :math:`\operatorname{Var}(s^2) = \big(\mu_4 - \sigma^4\tfrac{N-3}{N-1}\big)/N`
    with :math:`\sigma^2 = d_k` and :math:`\mu_4 = 3d_k^2 + 6d_k`; for large N
    this is :math:`\approx (2d_k^2 + 6d_k)/N`.

    Examples::

        >>> round(variance_standard_error(1, 10_001), 4)
        0.0283
    """
    samples = _validate.integer(samples, "samples", at_least=2)
    mu4, sigma2 = score_fourth_moment(d_k), float(d_k)
    return math.sqrt((mu4 - sigma2 * sigma2 * (samples - 3) / (samples - 1)) / samples)


@dataclass(frozen=True)
class ScoreVariance:
    """What :func:`score_variance` measured, one entry per d_k (float64 CPU tensors).

    Attributes:
        d_k: the widths.
        mean: sample mean of q·k (theory: 0).
        variance: unbiased sample variance of q·k (theory: d_k).
        standard_error: the standard error of ``variance`` under the theory.
        samples: N, draws per width.
    """

    d_k: torch.Tensor
    mean: torch.Tensor
    variance: torch.Tensor
    standard_error: torch.Tensor
    samples: int

    @property
    def z(self) -> torch.Tensor:
        """(variance − d_k) / standard error: within a few units when the theory holds."""
        return (self.variance - self.d_k) / self.standard_error


def score_variance(d_ks: Sequence[int], samples: int = 10_000, *,
                   generator: torch.Generator | None = None,
                   device: torch.device | str | None = None,
                   dtype: torch.dtype = torch.float64) -> ScoreVariance:
    r"""Measure mean and variance of :math:`q\cdot k` for :math:`q, k \sim N(0, I_{d_k})`.

    Vaswani et al. (2017, footnote 4): with independent zero-mean,
    unit-variance components, :math:`q\cdot k` has mean 0 and variance
    :math:`d_k`, so its typical size grows like :math:`\sqrt{d_k}`; dividing by
    :math:`\sqrt{d_k}` brings the variance back to 1.

    Args:
        d_ks: the widths to measure, each >= 1.
        samples: draws of (q, k) per width, >= 2.
        generator, device, dtype: where to draw (see :func:`dotbook.device.placement`).

    Returns:
        a :class:`ScoreVariance`.

    Examples::

        >>> r = score_variance([1, 64], 4000, generator=torch.Generator().manual_seed(0))
        >>> bool((r.z.abs() < 5).all())
        True
    """
    where, dtype = _device.placement(device, dtype, generator)
    samples = _validate.integer(samples, "samples", at_least=2)
    widths = [_validate.integer(d, "d_k") for d in d_ks]
    if not widths:
        raise ValueError("d_ks is empty; pass widths such as [1, 4, 16, 64]")
    means, variances = [], []
    for d_k in widths:
        rows = max(1, min(samples, 2**20 // d_k))  # draw at most ~1M numbers at a time
        dots = []
        for start in range(0, samples, rows):
            n = min(rows, samples - start)
            q = torch.randn(n, d_k, generator=generator, device=where, dtype=dtype)  # (n, d_k)
            k = torch.randn(n, d_k, generator=generator, device=where, dtype=dtype)  # (n, d_k)
            dots.append((q * k).sum(dim=-1))  # (n,)
        x = torch.cat(dots).double().cpu()  # (samples,)
        means.append(float(x.mean()))
        variances.append(float(x.var(unbiased=True)))
    f64 = dict(dtype=torch.float64)
    return ScoreVariance(
        d_k=torch.tensor(widths, **f64), mean=torch.tensor(means, **f64),
        variance=torch.tensor(variances, **f64),
        standard_error=torch.tensor([variance_standard_error(d, samples) for d in widths], **f64),
        samples=samples)


@dataclass(frozen=True)
class Saturation:
    """Softmax statistics of random attention rows, averaged over queries (floats).

    Attributes:
        max_weight: mean of the largest weight per row (1/T is uniform, 1 is one-hot).
        entropy: mean entropy per row, in nats (log T is uniform, 0 is one-hot).
        jacobian_norm: mean Frobenius norm of the softmax Jacobian per row.
        T: keys per row.
    """

    max_weight: float
    entropy: float
    jacobian_norm: float
    T: int


def saturation(d_k: int, scaled: bool, T: int = 16, queries: int = 256, *,
               generator: torch.Generator | None = None,
               device: torch.device | str | None = None,
               dtype: torch.dtype = torch.float64) -> Saturation:
    r"""How peaked softmax rows get for random q, k with N(0, 1) components, scaled or not.

    Draws ``queries`` queries and T keys of width d_k, scores them with
    :math:`q\cdot k/\sqrt{d_k}` (``scaled``) or :math:`q\cdot k`, and averages
    the row statistics. Unscaled scores have standard deviation
    :math:`\sqrt{d_k}`, so for large d_k the softmax saturates: the largest
    weight → 1, the entropy → 0 and the Jacobian norm → 0 (vanishing gradients).

    Examples::

        >>> g = torch.Generator().manual_seed(0)
        >>> a = saturation(256, scaled=False, generator=g)
        >>> b = saturation(256, scaled=True, generator=g)
        >>> a.max_weight > b.max_weight, a.jacobian_norm < b.jacobian_norm
        (True, True)
    """
    where, dtype = _device.placement(device, dtype, generator)
    d_k = _validate.integer(d_k, "d_k")
    T = _validate.integer(T, "T", at_least=2)
    queries = _validate.integer(queries, "queries")
    if not isinstance(scaled, bool):
        raise TypeError(f"scaled must be True or False, got {scaled!r}")
    q = torch.randn(queries, d_k, generator=generator, device=where, dtype=dtype)  # (Q, d_k)
    k = torch.randn(T, d_k, generator=generator, device=where, dtype=dtype)  # (T, d_k)
    p = attention_weights(q, k, scale=None if scaled else 1.0)  # (Q, T)
    return Saturation(max_weight=float(p.amax(dim=-1).mean()), entropy=float(entropy(p).mean()),
                      jacobian_norm=float(softmax_jacobian_norm(p).mean()), T=T)


def saturation_curves(d_max: int, T: int = 16, queries: int = 256, *,
                      generator: torch.Generator | None = None,
                      device: torch.device | str | None = None,
                      dtype: torch.dtype = torch.float64) -> dict[str, dict[str, torch.Tensor]]:
    r"""The statistics of :func:`saturation` for every d_k = 1 … d_max from one draw.

    One query matrix (queries, d_max) and one key matrix (T, d_max) are drawn;
    the scores at width d_k use their first d_k coordinates (running sums of
    :math:`q_c k_c`), so neighbouring widths share their randomness and the
    curves are smooth. Work is done in slabs of 64 widths.

    Returns:
        ``{"scaled": stats, "unscaled": stats}``, each a dict of float64 CPU
        tensors of shape (d_max,): ``max_weight``, ``entropy`` (nats) and
        ``jacobian_norm``, averaged over the queries; index ``d_k - 1``.

    Examples::

        >>> c = saturation_curves(256, generator=torch.Generator().manual_seed(0))
        >>> bool(c["unscaled"]["max_weight"][-1] > 0.9 > c["scaled"]["max_weight"][-1])
        True
    """
    where, dtype = _device.placement(device, dtype, generator)
    d_max = _validate.integer(d_max, "d_max")
    T = _validate.integer(T, "T", at_least=2)
    queries = _validate.integer(queries, "queries")
    q = torch.randn(queries, d_max, generator=generator, device=where, dtype=dtype)  # (Q, d)
    k = torch.randn(T, d_max, generator=generator, device=where, dtype=dtype)  # (T, d)
    out = {mode: {"max_weight": [], "entropy": [], "jacobian_norm": []}
           for mode in ("scaled", "unscaled")}
    running = torch.zeros(queries, T, 1, dtype=dtype, device=where)  # (Q, T, 1)
    for c0 in range(0, d_max, 64):
        c1 = min(c0 + 64, d_max)
        terms = q[:, None, c0:c1] * k[None, :, c0:c1]  # (Q, T, slab) products q_c k_jc
        s = running + torch.cumsum(terms, dim=-1)  # (Q, T, slab): q·k at d_k = c0+1 … c1
        running = s[..., -1:]
        s = s.permute(2, 0, 1)  # (slab, Q, T)
        widths = torch.arange(c0 + 1, c1 + 1, dtype=dtype, device=where)[:, None, None]
        for mode, scores_ in (("scaled", s / widths.sqrt()), ("unscaled", s)):
            p = torch.softmax(scores_, dim=-1)  # (slab, Q, T)
            out[mode]["max_weight"].append(p.amax(dim=-1).mean(dim=-1))
            out[mode]["entropy"].append(entropy(p).mean(dim=-1))
            out[mode]["jacobian_norm"].append(softmax_jacobian_norm(p).mean(dim=-1))
    return {mode: {key: torch.cat(v).double().cpu() for key, v in stats.items()}
            for mode, stats in out.items()}


# ------------------------------------------------------------ measuring memory
def peak_bytes(fn: Callable[..., object], *args: object, **kwargs: object) -> int:
    """Peak bytes that ``fn(*args, **kwargs)`` allocates on top of what already exists.

    Measured, not computed from shapes:

    - **CUDA**: ``torch.cuda.max_memory_allocated`` after
      ``reset_peak_memory_stats``, minus what was allocated before the call.
    - **CPU**: PyTorch's profiler with ``profile_memory=True`` records every
      allocation and free of PyTorch's CPU allocator with the running total
      ("Total Allocated"); the peak of that running total during the call,
      minus its value before the first allocation, is the answer. (Python's
      ``tracemalloc`` does not see PyTorch's allocations, and the process RSS
      mixes in the C allocator's caching.)

    The device is the one of the first tensor argument. The result includes
    the output tensor (it is alive at the end of the call).

    Examples::

        >>> peak_bytes(torch.zeros, 1000, dtype=torch.float64) >= 8000
        True
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    where = next((a.device for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)),
                 torch.device("cpu"))
    if where.type == "cuda":
        torch.cuda.synchronize(where)
        torch.cuda.reset_peak_memory_stats(where)
        before = torch.cuda.memory_allocated(where)
        out = fn(*args, **kwargs)
        torch.cuda.synchronize(where)
        peak = torch.cuda.max_memory_allocated(where) - before
        del out
        return int(peak)
    if where.type != "cpu":
        raise ValueError(f"peak_bytes measures cuda and cpu tensors; got tensors on {where}. "
                         f"Measure on the CPU (move the inputs with .cpu()) instead")
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        out = fn(*args, **kwargs)
    del out
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        prof.export_chrome_trace(path)
        with open(path, encoding="utf-8") as f:
            events = json.load(f)["traceEvents"]
    finally:
        os.unlink(path)
    memory = sorted((e for e in events if e.get("name") == "[memory]"
                     and e.get("args", {}).get("Device Type") == 0),
                    key=lambda e: (e["ts"], e["args"].get("Ev Idx", 0)))
    if not memory:
        return 0
    start = memory[0]["args"]["Total Allocated"] - memory[0]["args"]["Bytes"]
    return int(max(e["args"]["Total Allocated"] for e in memory) - start)


def max_length(bytes_per_score: float, budget_bytes: float, heads: int = 1) -> int:
    r"""Longest T whose (heads, T, T) score storage fits a memory budget.

    :math:`T_{max} = \lfloor\sqrt{B / (b \cdot h)}\rfloor` for a budget of B bytes,
    b bytes per score element and h heads,
    where *bytes per score* is measured (it counts every T×T buffer the
    naive version keeps alive at its peak, not just one matrix).

    Examples::

        >>> max_length(8.0, 80e9, heads=32)
        17677
    """
    if not (isinstance(bytes_per_score, (int, float)) and bytes_per_score > 0):
        raise ValueError(f"bytes_per_score must be a positive number, got {bytes_per_score!r}")
    if not (isinstance(budget_bytes, (int, float)) and budget_bytes > 0):
        raise ValueError(f"budget_bytes must be a positive number, got {budget_bytes!r}")
    heads = _validate.integer(heads, "heads")
    return int(math.isqrt(int(budget_bytes / (bytes_per_score * heads))))


@dataclass(frozen=True)
class ScaleRow:
    """One measurement of :func:`measure_at_scale`.

    Attributes:
        method: ``"naive"`` (:func:`scaled_dot_product_attention`, the whole score
            matrix), ``"chunked"`` (:func:`chunked_attention`) or ``"fused"``
            (``torch.nn.functional.scaled_dot_product_attention``).
        T: sequence length (T_q = T_k = T).
        peak_bytes: measured by :func:`peak_bytes` (includes the output).
        seconds: median time per call, by :func:`dotbook.device.timed`.
        spread: the interquartile range of the times, in seconds.
    """

    method: str
    T: int
    peak_bytes: int
    seconds: float
    spread: float


#: The three routes :func:`measure_at_scale` compares.
METHODS = ("naive", "chunked", "fused")


def measure_at_scale(Ts: Sequence[int], *, batch: int = 1, heads: int = 2, d_k: int = 64,
                     block: int = 256, methods: Sequence[str] = METHODS,
                     repeats: int = 3, warmup: int = 1,
                     generator: torch.Generator | None = None,
                     device: torch.device | str | None = None,
                     dtype: torch.dtype = torch.float32) -> list[ScaleRow]:
    """Measure peak memory and time of self-attention at each sequence length T.

    Inputs are q, k, v of shape (batch, heads, T, d_k) drawn on ``device``.
    Each route runs once untimed, so that one-time allocations that persist
    (a GPU library's workspace) are not counted as its memory. Then memory
    comes from :func:`peak_bytes` (one call, on the side), time from
    :func:`dotbook.device.timed` (median of ``repeats`` after ``warmup``); the
    two are separate runs because the profiler slows the code it watches.

    Returns:
        one :class:`ScaleRow` per (T, method), T ascending.

    Examples::

        >>> rows = measure_at_scale([64], methods=["naive"], repeats=1, warmup=0)
        >>> rows[0].method, rows[0].T, rows[0].peak_bytes >= 2 * 64 * 64 * 4
        ('naive', 64, True)
    """
    import torch.nn.functional as F

    where, dtype = _device.placement(device, dtype, generator)
    widths = [_validate.integer(T, "T") for T in Ts]
    for m in methods:
        _validate.choice(m, "method", METHODS)
    batch, heads = _validate.integer(batch, "batch"), _validate.integer(heads, "heads")
    d_k, block = _validate.integer(d_k, "d_k"), _validate.integer(block, "block")
    routes: dict[str, Callable[..., torch.Tensor]] = {
        "naive": scaled_dot_product_attention,
        "chunked": lambda q, k, v: chunked_attention(q, k, v, block=block),
        "fused": F.scaled_dot_product_attention,
    }
    rows = []
    with torch.no_grad():
        for T in sorted(widths):
            q, k, v = (torch.randn(batch, heads, T, d_k, generator=generator, device=where,
                                   dtype=dtype) for _ in range(3))  # (B, h, T, d_k)
            for m in methods:
                fn = routes[m]
                fn(q, k, v)  # once first: one-time allocations (e.g. a cuBLAS workspace) persist
                used = peak_bytes(fn, q, k, v)
                t = _device.timed(fn, q, k, v, repeats=repeats, warmup=warmup)
                rows.append(ScaleRow(m, T, used, t.median, t.spread))
            del q, k, v
    return rows


def bytes_per_score(rows: Sequence[ScaleRow], method: str = "naive", *, batch: int = 1,
                    heads: int = 2) -> float:
    r"""Measured bytes per score element: the slope of peak memory against B·h·T².

    From the two largest T measured for ``method``:
    :math:`(P_2 - P_1) / (Bh\,(T_2^2 - T_1^2))`. If the peak is
    :math:`aBhT^2 + cT`, this is :math:`a + c/(Bh(T_1 + T_2))`: terms linear in
    T (inputs, output, running statistics) shrink like 1/T, and what is left is
    what the (T, T) buffers alive at the peak cost per element.

    Examples::

        >>> rows = [ScaleRow("naive", 10, 1300, 0.0, 0.0), ScaleRow("naive", 20, 4900, 0.0, 0.0)]
        >>> bytes_per_score(rows, heads=1)
        12.0
    """
    mine = sorted((r for r in rows if r.method == method), key=lambda r: r.T)
    if len(mine) < 2:
        raise ValueError(f"bytes_per_score needs rows at two or more T for {method!r}, "
                         f"got {len(mine)}")
    a, b = mine[-2], mine[-1]
    return (b.peak_bytes - a.peak_bytes) / (batch * heads * (b.T**2 - a.T**2))


# ------------------------------------------------------------ a toy sentence
@dataclass(frozen=True)
class Toy:
    """A hand-made sentence whose attention a reader can interpret.

    Attributes:
        tokens: the words.
        features: names of the embedding's coordinates.
        x: embeddings (T, n), one row per token: which features it has.
        W_q, W_k: (n, n) projections; ``x @ W_q`` says what a token looks for,
            ``x @ W_k`` what it offers.
        strength: the factor on the queries (how sure each query is).
    """

    tokens: tuple[str, ...]
    features: tuple[str, ...]
    x: torch.Tensor
    W_q: torch.Tensor
    W_k: torch.Tensor
    strength: float

    @property
    def q(self) -> torch.Tensor:
        """Queries (T, n): ``strength · x W_q``."""
        return self.strength * (self.x @ self.W_q)

    @property
    def k(self) -> torch.Tensor:
        """Keys (T, n): ``x W_k``."""
        return self.x @ self.W_k

    def seeks(self, i: int) -> list[str]:
        """The feature names query ``i`` looks for."""
        return [f for f, w in zip(self.features, (self.x[i] @ self.W_q).tolist(), strict=True)
                if w > 0]


_TOY_TOKENS = ("the", "tired", "dog", "chased", "a", "red", "ball")
_TOY_FEATURES = ("determiner", "adjective", "noun", "verb", "animate", "phrase 1", "phrase 2")
_TOY_HAS = {  # what each token is
    "the": ("determiner", "phrase 1"), "tired": ("adjective", "phrase 1"),
    "dog": ("noun", "animate", "phrase 1"), "chased": ("verb",),
    "a": ("determiner", "phrase 2"), "red": ("adjective", "phrase 2"),
    "ball": ("noun", "phrase 2"),
}
_TOY_LOOKS = {  # feature -> what a token with it looks for
    "determiner": ("noun",), "adjective": ("noun",), "noun": ("adjective",),
    "verb": ("noun", "animate"), "phrase 1": ("phrase 1",), "phrase 2": ("phrase 2",),
}


def toy_sentence(strength: float = 4.0, *, device: torch.device | str | None = None,
                 dtype: torch.dtype = torch.float64) -> Toy:
    r"""The sentence "the tired dog chased a red ball", with hand-made embeddings.

    Keys say what a token *is* (``W_k`` is the identity on the features:
    determiner, adjective, noun, verb, animate, and which noun phrase it sits
    in). Queries say what it *looks for* (``W_q``): determiners and adjectives
    look for a noun in their own phrase, nouns for an adjective in their own
    phrase, and the verb for an animate noun, its subject. A score
    :math:`q_i\cdot k_j` counts (times ``strength``) the features query i
    looks for that key j has.

    Examples::

        >>> toy = toy_sentence()
        >>> w = attention_weights(toy.q, toy.k)
        >>> [toy.tokens[j] for j in w.argmax(dim=-1).tolist()]
        ['dog', 'dog', 'tired', 'dog', 'ball', 'ball', 'red']
    """
    where, dtype = _device.placement(device, dtype, None)
    strength = _validate.in_range(strength, "strength", 0.0, 100.0)
    n = len(_TOY_FEATURES)
    index = {f: i for i, f in enumerate(_TOY_FEATURES)}
    x = torch.zeros(len(_TOY_TOKENS), n, dtype=dtype, device=where)  # (T, n)
    for t, word in enumerate(_TOY_TOKENS):
        for f in _TOY_HAS[word]:
            x[t, index[f]] = 1.0
    W_q = torch.zeros(n, n, dtype=dtype, device=where)  # (n, n)
    for f, wanted in _TOY_LOOKS.items():
        for g in wanted:
            W_q[index[f], index[g]] = 1.0
    W_k = torch.eye(n, dtype=dtype, device=where)  # (n, n)
    return Toy(_TOY_TOKENS, _TOY_FEATURES, x, W_q, W_k, strength)
