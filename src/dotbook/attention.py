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
  0 since version 2.5 (pytorch/pytorch#133882, which made the math path's
  "safe softmax" of #131060 the rule), and this module matches it;
- **extreme scores** follow the book's one rule (shared with
  :func:`dotbook.precision.softmax`): a row's weight splits equally among its
  ``+inf`` scores (the limit as those scores grow together), so a score of
  ``+inf`` takes all the weight and the output is the mean of its values; NaN
  in gives NaN out; no route ever computes ``inf - inf``. Scores are formed as
  ``(Q Kᵀ)·s``, never ``(s·Q) Kᵀ``, so a huge ``scale`` cannot overflow ``Q``
  into ``inf · 0``. An infinite score enters through the mask (or an
  overflowing product); an inf entry in ``q`` or ``k`` is refused with a
  ValueError naming it, since it would meet a 0 as ``inf · 0``;
- float16 and bfloat16 inputs are computed in float32 and the result rounded
  back, as PyTorch's own kernels do: ``q, k = 300·randn`` in float16 has scores
  beyond float16's range (65,504), and the result still matches
  :func:`torch.nn.functional.scaled_dot_product_attention`.

Unlike PyTorch, ``causal`` and ``mask`` may be combined (PyTorch refuses): a key
is visible when both allow it.

Shape letters: ``*`` batch and head dimensions, ``T_q`` queries, ``T_k`` keys,
``d_k`` query/key width, ``d_v`` value width.

Names (the package's naming rule): :func:`scaled_dot_product_attention` is the
vectorised *definition*, the ``_naive`` twin of the rule, kept under the name
PyTorch uses for the same operation; :func:`scaled_dot_product_attention_loop`
is the Python-loop reference; :func:`chunked_attention` is the memory-frugal
route all three are tested against. Why the scores are divided by √d_k is
measured in :mod:`dotbook.saturation`; the memory of the routes by
:func:`dotbook.measure.measure_at_scale` (Chapter 7's "at scale" section).
"""

from __future__ import annotations

import math
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
    "Toy",
    "toy_sentence",
    "query_readout",
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
    _no_inf(q, "q", "queries")
    _no_inf(k, "k", "keys")
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


def _no_inf(x: torch.Tensor, name: str, what: str) -> None:
    """Refuse ±inf in q or k: it meets a 0 in the other factor as inf·0 = NaN. (A +inf
    or -inf *score* is fine: pass it as an additive mask; NaN in gives NaN out.)"""
    n = int(torch.isinf(x).sum())
    if n:
        raise ValueError(f"{name} has {n} infinite entr{'y' if n == 1 else 'ies'}; attention "
                         f"needs finite {what} (an inf entry times a 0 is NaN); to forbid or "
                         f"force a position, pass mask= with -inf or +inf scores instead")


def _need_v(v: object) -> None:
    if v is None:
        raise TypeError("v is None; attention averages values, so pass v of shape "
                        "(*, T_k, d_v) (to get only the weights, call attention_weights(q, k))")


def _wide(*xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """16-bit tensors widened to float32 (PyTorch's kernels accumulate there too)."""
    return tuple(x.float() if x.dtype.itemsize < 4 else x for x in xs)


def _wide_mask(mask: torch.Tensor | None) -> torch.Tensor | None:
    """An additive 16-bit mask widened like the scores (a bool mask stays bool)."""
    if mask is None or mask.dtype == torch.bool:
        return mask
    return _wide(mask)[0]


def _scale(scale: object, d_k: int) -> float:
    if scale is None:
        return 1.0 / math.sqrt(d_k)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)):
        raise TypeError(f"scale must be None (meaning 1/sqrt(d_k)) or a finite number, "
                        f"got {scale!r}")
    try:
        finite = math.isfinite(scale)
    except OverflowError:  # an int too large for a float (10**400)
        finite = False
    if not finite:
        raise TypeError(f"scale must be None (meaning 1/sqrt(d_k)) or a finite number "
                        f"below 1e308, got {scale!r:.40}")
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
    T_q = _validate.integer(T_q, "T_q", at_most=10**6)
    T_k = _validate.integer(T_k, "T_k", at_most=10**6)
    if device is not None:
        device = _device.resolve_device(device)
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
    """Max-shifted softmax over the last dimension, by the book's rule for extreme rows:
    all -inf gives zeros, +inf entries share the weight equally, NaN gives NaN."""
    m = s.amax(dim=-1, keepdim=True)  # (*, T_q, 1); NaN if the row holds one
    shift = torch.where(torch.isfinite(m), m, torch.zeros_like(m))  # never inf - inf
    e = torch.exp(s - shift)  # (*, T_q, T_k); exp(-inf) = 0
    top = torch.isposinf(m)  # rows with a +inf score: the limit puts all weight there
    if top.any():
        e = torch.where(top, torch.isposinf(s).to(s.dtype), e)
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
    causal = _checked_bool(causal)
    qw, kw = _wide(q, k)
    s = scores(qw, kw, scale)  # (*, T_q, T_k), in float32 at least
    bias = _bias(_wide_mask(mask), causal, qw, kw)
    if bias is not None:
        s = s + bias  # broadcasts (..., T_q, T_k)
    return _softmax_rows(s).to(q.dtype)


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
    _need_v(v)
    q, k, v = _qkv(q, k, v)
    mask = _wide_mask(_mask(mask, q, k))
    qw, kw, vw = _wide(q, k, v)
    return (attention_weights(qw, kw, mask, causal, scale) @ vw).to(q.dtype)  # (*, T_q, d_v)


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
    _need_v(v)
    q0, (q, k, v) = q, _qkv(q, k, v)
    mask = _wide_mask(_mask(mask, q, k))
    q, k, v = _wide(q, k, v)
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
            row = [torch.dot(qs[b, i], ks[b, j]) * s + bias[b, i, j] for j in range(T_k)]
            if any(bool(torch.isnan(x)) for x in row):
                out[b, i] = float("nan")  # NaN in, NaN out
                continue
            top = max(float(x) for x in row)
            if top == float("-inf"):
                continue  # fully masked row: output 0
            if top == float("inf"):  # the +inf scores share the weight equally
                e = [(x == top).to(q.dtype) for x in row]
            else:
                e = [torch.exp(x - top) for x in row]
            total = sum(e)
            for j in range(T_k):
                out[b, i] += (e[j] / total) * vs[b, j]
    return out.reshape(lead + (T_q, v.shape[-1])).to(q0.dtype)  # (*, T_q, d_v)


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

    That bound holds **in inference** (``torch.no_grad()``, or inputs that do
    not require grad). Under autograd every block's scores and weights are
    saved for the backward pass, so the memory is O(T²) again, about what the
    naive route needs (FlashAttention avoids this with a backward pass that
    keeps only each row's log-sum-exp and recomputes the blocks; this module
    does not implement one).

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
    _need_v(v)
    q0, (q, k, v) = q, _qkv(q, k, v)
    mask = _wide_mask(_mask(mask, q, k))
    q, k, v = _wide(q, k, v)
    block = _validate.integer(block, "block", at_most=10**9)
    causal = _checked_bool(causal)
    s = _scale(scale, q.shape[-1])
    T_k = k.shape[-2]
    stats = tuple(q.shape[:-1]) + (1,)  # (*, T_q, 1)
    m = torch.full(stats, float("-inf"), dtype=q.dtype, device=q.device)  # running max
    total = torch.zeros(stats, dtype=q.dtype, device=q.device)  # running sum of exp
    out = torch.zeros(tuple(q.shape[:-1]) + (v.shape[-1],), dtype=q.dtype,
                      device=q.device)  # (*, T_q, d_v)
    # Without autograd, work on each block's scores in place: one (*, T_q, block)
    # buffer at a time. With autograd, keep the out-of-place ops it needs.
    in_place = not (torch.is_grad_enabled() and any(x.requires_grad for x in (q, k, v)))
    for start in range(0, T_k, block):
        cols = slice(start, min(start + block, T_k))
        if causal and start > q.shape[-2] - 1:
            break  # every later key is in the future of every query
        sb = q @ k[..., cols, :].transpose(-2, -1)  # (*, T_q, block)
        sb = sb.mul_(s) if in_place else sb * s  # (QKᵀ)·s: a huge s cannot make inf·0
        bias = _bias(mask, causal, q, k, cols)
        if bias is not None:
            sb = sb.add_(bias) if in_place else sb + bias  # bias broadcasts to sb
        m_new = torch.maximum(m, sb.amax(dim=-1, keepdim=True))  # (*, T_q, 1); NaN stays
        top = torch.isposinf(m_new)  # rows that have met a +inf score
        hits = torch.isposinf(sb) if bool(top.any()) else None  # (*, T_q, block)
        shift = torch.where(torch.isfinite(m_new), m_new, torch.zeros_like(m_new))
        correction = torch.exp(m - shift)  # rescales what was summed under the old max
        p = sb.sub_(shift).exp_() if in_place else torch.exp(sb - shift)  # (*, T_q, block)
        if hits is not None:  # +inf rows: count the +inf scores (old ones kept if m was +inf)
            correction = torch.where(top, torch.isposinf(m).to(q.dtype), correction)
            p = torch.where(top, hits.to(q.dtype), p)
        total = total * correction + p.sum(dim=-1, keepdim=True)
        out = out * correction + p @ v[..., cols, :]  # (*, T_q, d_v)
        m = m_new
    return (out / torch.where(total == 0, torch.ones_like(total), total)).to(q0.dtype)


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


def query_readout(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                  temperature: float = 1.0) -> dict[str, list[float]]:
    r"""One query's attention, as Chapter 7's drag figure reads it:

    .. math::  s_j = \frac{q\cdot k_j}{\sqrt{d_k}}, \qquad
               w_j = \frac{e^{(s_j - \max s)/\tau}}{\sum_l e^{(s_l - \max s)/\tau}}, \qquad
               o = \sum_j w_j v_j ,

    with temperature :math:`\tau > 0` (1 is ordinary attention; large :math:`\tau`
    flattens the weights towards uniform, small :math:`\tau` sharpens them towards the
    best key, ties shared equally). The shift comes before the division, so no
    :math:`\tau` overflows into ``inf - inf``. Computed by PyTorch on the tensors'
    device in the order of the book's JavaScript port (``queryReadout`` in
    ``src/dotbook/static/dotbook-drag.js``); a test holds the two within 1e-12.

    Args:
        q: the query, finite.
        k: the keys, one per row, same width, dtype and device as ``q``.
        v: the values, one row per key.
        temperature: :math:`\tau`, a finite number in ``[1e-300, 1e300]``.

    Shape:
        - q: :math:`(d_k)`; k: :math:`(T_k, d_k)`; v: :math:`(T_k, d_v)`
        - returns lists of floats: ``scores`` and ``weights`` :math:`(T_k)`,
          ``output`` :math:`(d_v)`

    Examples::

        >>> k = torch.tensor([[1., 0.], [0., 1.]]); v = torch.tensor([[1., 0.], [0., 1.]])
        >>> r = query_readout(torch.tensor([0., 0.]), k, v)
        >>> r["weights"], r["output"]
        ([0.5, 0.5], [0.5, 0.5])
    """
    q = _validate.finite(_validate.vector(q, "q"), "q")
    k = _validate.finite(_validate.matrix(k, "k"), "k")
    v = _validate.finite(_validate.matrix(v, "v"), "v")
    _validate.same_kind(q, k, "q, k"), _validate.same_kind(k, v, "k, v")
    if k.shape[1] != q.shape[0] or v.shape[0] != k.shape[0]:
        raise ValueError(f"q {tuple(q.shape)}, k {tuple(k.shape)} and v {tuple(v.shape)} "
                         f"do not fit: pass q (d_k,), k (T_k, d_k) and v (T_k, d_v)")
    tau = _validate.in_range(temperature, "temperature", 1e-300, 1e300)
    products = k * q  # (T_k, d_k)
    s = products[:, 0]
    for i in range(1, q.shape[0]):  # left to right, as the port adds
        s = s + products[:, i]
    s = s / math.sqrt(q.shape[0])  # (T_k,)
    e = torch.exp((s - s.max()) / tau)  # (T_k,); the best key's term is exp(0) = 1
    total = e[0]
    for j in range(1, e.shape[0]):
        total = total + e[j]
    w = e / total  # (T_k,)
    mixed = w.unsqueeze(-1) * v  # (T_k, d_v)
    o = mixed[0]
    for j in range(1, mixed.shape[0]):
        o = o + mixed[j]
    return {"scores": s.tolist(), "weights": w.tolist(), "output": o.tolist()}
