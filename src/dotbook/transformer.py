r"""Attention as a layer: heads, positions and decoding with a cache (Chapter 13).

Multi-head attention (Vaswani et al., 2017) projects the input three ways,
splits each projection into :math:`h` heads of width :math:`d_k = d/h`, runs
Chapter 7's scaled dot products in every head at once, and mixes the
concatenated heads with one more projection:

.. math::

    \operatorname{MHA}(X) = \big[\operatorname{head}_1, \dots, \operatorname{head}_h\big] W_o^\top,
    \qquad \operatorname{head}_i = \operatorname{Attention}(X W_q^{(i)\top},
    X W_k^{(i)\top}, X W_v^{(i)\top}).

Without positions this is *permutation-equivariant*: shuffling the tokens
shuffles the outputs the same way. Rotary embeddings (Su et al., 2021) put
the positions into the dot product itself: :func:`rope` rotates each pair
:math:`(x_{2i}, x_{2i+1})` by the angle :math:`p\,\theta_i`,
:math:`\theta_i = \text{base}^{-2i/d}`, so a rotated query at position
:math:`m` and a rotated key at :math:`n` score :math:`q^\top R_{n-m} k`,
a function of :math:`m - n` only.

Decoding one token at a time, a :class:`KVCache` keeps every earlier key and
value, so a step costs :math:`O(T d)` instead of the :math:`O(T^2 d)` of
recomputing the whole prefix; the cache holds :math:`2 L h d_k T` numbers.

Masks follow :func:`dotbook.attention.scaled_dot_product_attention` (and
PyTorch's ``F.scaled_dot_product_attention``): a bool mask is ``True`` where a
query *may* attend. ``nn.MultiheadAttention`` reads a bool ``attn_mask`` the
other way round (``True`` = may **not** attend): pass ``~mask`` to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from dotbook import _validate, attention
from dotbook import device as _device

__all__ = [
    "MultiHeadAttention",
    "KVCache",
    "rope",
    "rope_angles",
    "sinusoidal",
    "position_scores",
    "cache_bytes",
    "attention_flops",
    "projection_flops",
    "crossover_length",
    "DecodeCost",
    "decode_costs",
    "decode_flops",
]

_MAX_WIDTH = 1 << 16  # no chapter needs a wider model or more heads
_MAX_LENGTH = 1 << 20  # no chapter needs a longer sequence


def _heads(d_model: object, heads: object) -> tuple[int, int, int]:
    d_model = _validate.integer(d_model, "d_model", at_most=_MAX_WIDTH)
    heads = _validate.integer(heads, "heads", at_most=_MAX_WIDTH)
    if d_model % heads:
        raise ValueError(
            f"heads = {heads} does not divide d_model = {d_model}: each head gets "
            f"d_k = d_model / heads columns; pick heads among the divisors "
            f"{[h for h in range(1, min(d_model, 64) + 1) if d_model % h == 0]}")
    return d_model, heads, d_model // heads


@dataclass
class KVCache:
    """The keys and values one attention layer has seen so far, per head.

    Attributes:
        k, v: (B, h, T, d_k) tensors, or ``None`` before the first token.

    Examples::

        >>> KVCache().length
        0
    """

    k: torch.Tensor | None = None
    v: torch.Tensor | None = None

    @property
    def length(self) -> int:
        """How many positions the cache holds (T)."""
        return 0 if self.k is None else self.k.shape[-2]

    def nbytes(self) -> int:
        """Bytes held by the two tensors: 2·B·h·d_k·T·(bytes per number)."""
        if self.k is None or self.v is None:
            return 0
        return self.k.nelement() * self.k.element_size() + \
            self.v.nelement() * self.v.element_size()


class MultiHeadAttention(nn.Module):
    r"""Multi-head attention from four linear maps and Chapter 7's scaled dot products.

    :math:`\operatorname{MHA}(Q, K, V) = \operatorname{concat}_i\big(
    \operatorname{softmax}(Q_iK_i^\top/\sqrt{d_k} + M)V_i\big)\,W_o^\top + b_o`
    with :math:`Q_i, K_i, V_i` the :math:`i`-th block of :math:`d_k = d/h`
    columns of the projections ``w_q``, ``w_k``, ``w_v``.

    Args:
        d_model: the width d of tokens in and out.
        heads: the number of heads h; must divide ``d_model``.
        bias: give the four projections a bias.
        device, dtype: where the weights live (PyTorch's default initialisation).

    Shape:
        ``forward(query, key, value)``: (B, T_q, d), (B, T_k, d), (B, T_k, d)
        → (B, T_q, d). ``mask`` broadcasts to (B, h, T_q, T_k); ``True`` (bool)
        = may attend, or an additive float mask.

    Examples::

        >>> mha = MultiHeadAttention(8, 2)
        >>> x = torch.randn(3, 5, 8)
        >>> mha(x, x, x, causal=True).shape
        torch.Size([3, 5, 8])
    """

    def __init__(self, d_model: int, heads: int, bias: bool = True,
                 device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.d_model, self.heads, self.d_k = _heads(d_model, heads)
        _validate.flag(bias, "bias")
        _device.check(device, dtype, optional=True)
        kw = {"bias": bias, "device": device, "dtype": dtype}
        self.w_q = nn.Linear(self.d_model, self.d_model, **kw)
        self.w_k = nn.Linear(self.d_model, self.d_model, **kw)
        self.w_v = nn.Linear(self.d_model, self.d_model, **kw)
        self.w_o = nn.Linear(self.d_model, self.d_model, **kw)

    # ------------------------------------------------------------ shapes
    def _check(self, x: object, name: str, batch: int | None = None) -> torch.Tensor:
        x = _validate.tensor(x, name)
        if x.ndim != 3 or x.shape[-1] != self.d_model or x.shape[1] == 0:
            raise ValueError(
                f"{name} has shape {tuple(x.shape)}; pass (B, T, d_model) = (B, T, "
                f"{self.d_model}) with T >= 1, batch first (x.unsqueeze(0) for one sequence)")
        if batch is not None and x.shape[0] != batch:
            raise ValueError(f"{name} has batch size {x.shape[0]} but query has {batch}; "
                             f"query, key and value must hold the same B sequences")
        return x

    def split(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, d) → (B, h, T, d_k): head i takes columns i·d_k … (i+1)·d_k − 1."""
        B, T, _ = x.shape
        return x.reshape(B, T, self.heads, self.d_k).transpose(1, 2)  # (B, h, T, d_k)

    def merge(self, x: torch.Tensor) -> torch.Tensor:
        """(B, h, T, d_k) → (B, T, d): the inverse of :meth:`split` (concatenate the heads)."""
        B, _, T, _ = x.shape
        return x.transpose(1, 2).reshape(B, T, self.d_model)  # (B, T, h·d_k)

    def project(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Checked inputs → per-head q (B, h, T_q, d_k), k and v (B, h, T_k, d_k)."""
        query = self._check(query, "query")
        key = self._check(key, "key", query.shape[0])
        value = self._check(value, "value", query.shape[0])
        if key.shape[1] != value.shape[1]:
            raise ValueError(f"key has T_k = {key.shape[1]} positions but value has "
                             f"{value.shape[1]}; every key needs one value")
        return (self.split(self.w_q(query)), self.split(self.w_k(key)),
                self.split(self.w_v(value)))

    # ------------------------------------------------------------ forward
    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                mask: torch.Tensor | None = None, causal: bool = False) -> torch.Tensor:
        """Project, split into heads, attend in every head at once, concatenate, project."""
        q, k, v = self.project(query, key, value)  # (B, h, T, d_k) each
        heads = attention.scaled_dot_product_attention(q, k, v, mask=mask, causal=causal)
        return self.w_o(self.merge(heads))  # (B, h, T_q, d_k) → (B, T_q, d)

    def weights(self, query: torch.Tensor, key: torch.Tensor,
                mask: torch.Tensor | None = None, causal: bool = False) -> torch.Tensor:
        """The attention weights of every head: (B, h, T_q, T_k), rows summing to 1."""
        q, k, _ = self.project(query, key, key)
        return attention.attention_weights(q, k, mask=mask, causal=causal)

    def step(self, x: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Self-attention for new tokens x (B, t, d) after the ``cache.length`` cached ones.

        Appends the new keys and values to ``cache`` (in place) and lets new token j see
        every cached position and the new ones up to itself (the causal mask aligned to
        the bottom-right). Equal, token by token, to ``forward(X, X, X, causal=True)``.
        """
        x = self._check(x, "x")
        q, k, v = self.split(self.w_q(x)), self.split(self.w_k(x)), self.split(self.w_v(x))
        if cache.k is not None:
            if cache.v is None or cache.k.shape != cache.v.shape:
                raise ValueError(
                    f"cache holds keys of shape {tuple(cache.k.shape)} but values of shape "
                    f"{None if cache.v is None else tuple(cache.v.shape)}: both must be "
                    f"(B, h, T, d_k); start from an empty KVCache()")
            want = (x.shape[0], self.heads, cache.k.shape[2], self.d_k)
            if tuple(cache.k.shape) != want:
                raise ValueError(f"cache holds keys of shape {tuple(cache.k.shape)} but this "
                                 f"layer needs (B, h, T, d_k) = {want}")
            k = torch.cat([cache.k, k], dim=2)  # (B, h, T_cached + t, d_k)
            v = torch.cat([cache.v, v], dim=2)  # (B, h, T_cached + t, d_k)
        cache.k, cache.v = k, v
        t, total = x.shape[1], k.shape[2]
        mask = torch.ones(t, total, dtype=torch.bool, device=x.device).tril(total - t)
        heads = attention.scaled_dot_product_attention(q, k, v, mask=mask)  # (B, h, t, d_k)
        return self.w_o(self.merge(heads))  # (B, t, d)

    # ------------------------------------------------------------ PyTorch
    @classmethod
    def from_torch(cls, m: nn.MultiheadAttention) -> MultiHeadAttention:
        """A copy of ``nn.MultiheadAttention(d, h, batch_first=True)`` with the same outputs.

        ``in_proj_weight`` (3d, d) stacks W_q, W_k, W_v; ``out_proj`` is W_o. Remember
        that ``m``'s bool ``attn_mask`` is True where attention is *forbidden*.
        """
        if not isinstance(m, nn.MultiheadAttention):
            raise TypeError(f"pass an nn.MultiheadAttention, got {type(m).__name__}")
        if not m.batch_first:
            raise ValueError("pass an nn.MultiheadAttention(..., batch_first=True); this "
                             "class takes (B, T, d) tensors")
        if not m._qkv_same_embed_dim or m.bias_k is not None or m.add_zero_attn:
            raise ValueError("only kdim = vdim = embed_dim, add_bias_kv=False and "
                             "add_zero_attn=False have a counterpart here")
        p = m.in_proj_weight
        ours = cls(m.embed_dim, m.num_heads, bias=m.in_proj_bias is not None,
                   device=p.device, dtype=p.dtype)
        with torch.no_grad():
            for i, lin in enumerate((ours.w_q, ours.w_k, ours.w_v)):
                rows = slice(i * m.embed_dim, (i + 1) * m.embed_dim)
                lin.weight.copy_(p[rows])  # (d, d) block i of (3d, d)
                if lin.bias is not None:
                    lin.bias.copy_(m.in_proj_bias[rows])
            ours.w_o.weight.copy_(m.out_proj.weight)
            if ours.w_o.bias is not None:
                ours.w_o.bias.copy_(m.out_proj.bias)
        return ours


# ------------------------------------------------------------ positions
def rope_angles(T: int, d: int, positions: torch.Tensor | None = None, base: float = 10000.0,
                *, device: torch.device | str | None = None,
                dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""The rotation angles :math:`p\,\theta_i`, :math:`\theta_i = \text{base}^{-2i/d}`.

    Shape:
        returns (T, d/2): row t holds the angles of position ``positions[t]``.

    Examples::

        >>> rope_angles(2, 4).tolist()
        [[0.0, 0.0], [1.0, 0.01]]
    """
    _device.check(device, dtype)
    d = _validate.integer(d, "d", at_most=_MAX_WIDTH)
    if d % 2:
        raise ValueError(f"rope rotates pairs (x_2i, x_2i+1), so d must be even, got d = {d}")
    T = _validate.integer(T, "T", at_most=_MAX_LENGTH)
    base = _validate.real(base, "base")
    if base <= 1:
        raise ValueError(f"base must be > 1 (the angles fall from 1 to base^-1), got {base}")
    if positions is None:
        p = torch.arange(T, device=device, dtype=dtype)  # (T,)
    else:
        if isinstance(positions, (str, bytes, bool)):
            raise TypeError(f"positions must be a tensor of T positions, got {positions!r}")
        try:
            p = torch.as_tensor(positions, device=device).to(dtype)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"positions must be a tensor of T positions, got "
                            f"{type(positions).__name__}") from None
        _validate.finite(p, "positions")
        if p.shape != (T,):
            raise ValueError(f"positions has shape {tuple(p.shape)}; pass one position "
                             f"per token, shape (T,) = ({T},)")
    theta = base ** (-torch.arange(0, d, 2, device=device, dtype=dtype) / d)  # (d/2,)
    return p[:, None] * theta[None, :]  # (T, d/2)


def rope(x: torch.Tensor, positions: torch.Tensor | None = None,
         base: float = 10000.0) -> torch.Tensor:
    r"""Rotary position embedding: rotate pair :math:`(x_{2i}, x_{2i+1})` by :math:`p\,\theta_i`.

    .. math::

        \begin{pmatrix} y_{2i} \\ y_{2i+1}\end{pmatrix} =
        \begin{pmatrix} \cos p\theta_i & -\sin p\theta_i \\
        \sin p\theta_i & \cos p\theta_i\end{pmatrix}
        \begin{pmatrix} x_{2i} \\ x_{2i+1}\end{pmatrix},
        \qquad \theta_i = \text{base}^{-2i/d}

    (Su et al., 2021; interleaved pairs). Rotations keep lengths, and
    ``rope(q, m) · rope(k, n)`` depends on m and n only through m − n.

    Args:
        x: (..., T, d), d even.
        positions: (T,) positions, default 0, 1, …, T − 1.
        base: the base of the angle frequencies.

    Shape:
        returns the shape of ``x``.

    Examples::

        >>> y = rope(torch.tensor([[1.0, 0.0], [1.0, 0.0]]))  # two tokens, one pair
        >>> [round(v, 4) for v in y[1].tolist()]  # position 1: rotated by 1 radian
        [0.5403, 0.8415]
    """
    x = _validate.finite(_validate.tensor(x, "x"), "x")
    if x.ndim < 2:
        raise ValueError(f"x has shape {tuple(x.shape)}; pass (..., T, d)")
    T, d = x.shape[-2], x.shape[-1]
    if d == 0:
        raise ValueError(f"x has shape {tuple(x.shape)}: no features to rotate; pass d >= 2")
    if d % 2:
        raise ValueError(f"rope rotates pairs (x_2i, x_2i+1), so d must be even, got d = {d} "
                         f"(x has shape {tuple(x.shape)})")
    if T == 0:
        return x
    a = rope_angles(T, d, positions, base, device=x.device,
                    dtype=torch.promote_types(x.dtype, torch.float32))
    cos, sin = a.cos().to(x.dtype), a.sin().to(x.dtype)  # (T, d/2)
    x0, x1 = x[..., 0::2], x[..., 1::2]  # (..., T, d/2) each
    y = torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1)  # (..., T, d/2, 2)
    return y.flatten(-2)  # (..., T, d): pairs interleaved again


def sinusoidal(T: int, d: int, base: float = 10000.0, *,
               device: torch.device | str | None = None,
               dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""Vaswani et al.'s added positions: :math:`(\sin p\theta_i, \cos p\theta_i)` per pair.

    Shape:
        returns (T, d).

    Examples::

        >>> sinusoidal(2, 2).tolist()
        [[0.0, 1.0], [0.8414709848078965, 0.5403023058681398]]
    """
    a = rope_angles(T, d, None, base, device=device, dtype=dtype)  # (T, d/2)
    return torch.stack([a.sin(), a.cos()], dim=-1).flatten(-2)  # (T, d)


def position_scores(q: torch.Tensor, k: torch.Tensor, T: int, base: float = 10000.0
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """One query q and one key k (d,) placed at every position pair (m, n).

    Returns ``(rotary, added)``, each (T, T): ``rope(q, m) · rope(k, n)``, a function
    of m − n only (constant along each diagonal), and ``(q + P_m) · (k + P_n)`` with
    :func:`sinusoidal` positions added, which is not.

    Examples::

        >>> rotary, added = position_scores(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), 3)
        >>> rotary.shape, bool(torch.allclose(rotary[0, 1], rotary[1, 2]))
        (torch.Size([3, 3]), True)
    """
    q, k = _validate.vector(q, "q"), _validate.vector(k, "k")
    _validate.same_shape(q, k, "q, k")
    _validate.finite(q, "q"), _validate.finite(k, "k")
    T = _validate.integer(T, "T", at_most=1 << 12)
    Q, K = q.expand(T, -1), k.expand(T, -1)  # (T, d): the same vector at every position
    rotary = rope(Q, base=base) @ rope(K, base=base).T  # (T, T)
    P = sinusoidal(T, q.shape[0], base, device=q.device, dtype=q.dtype)  # (T, d)
    return rotary, (Q + P) @ (K + P).T


# ------------------------------------------------------------ costs
def cache_bytes(layers: int, heads: int, d_k: int, T: int, bytes_per_number: int,
                batch: int = 1) -> int:
    """The KV cache's size: 2 (keys and values) · L · h · d_k · T · bytes · B.

    Examples::

        >>> cache_bytes(32, 32, 128, 4096, 2) / 2**30  # a 7B-class model, 16-bit, 4k tokens
        2.0
    """
    n = [_validate.integer(v, name, at_most=1 << 40) for v, name in
         ((layers, "layers"), (heads, "heads"), (d_k, "d_k"), (T, "T"),
          (bytes_per_number, "bytes_per_number"), (batch, "batch"))]
    return 2 * n[0] * n[1] * n[2] * n[3] * n[4] * n[5]


def attention_flops(T: int, d: int) -> int:
    """Forward FLOPs of one layer's scores QKᵀ and mixing AV: 2·T²·d each, 4·T²·d.

    Examples::

        >>> attention_flops(1024, 512)
        2147483648
    """
    T = _validate.integer(T, "T", at_most=1 << 40)
    return 4 * T * T * _validate.integer(d, "d", at_most=1 << 40)


def projection_flops(T: int, d: int) -> int:
    """Forward FLOPs of the four (d × d) projections of T tokens: 4 · 2·T·d², 8·T·d².

    Examples::

        >>> projection_flops(1024, 512)
        2147483648
    """
    T = _validate.integer(T, "T", at_most=1 << 40)
    return 8 * T * _validate.integer(d, "d", at_most=1 << 40) ** 2


def crossover_length(d: int) -> int:
    """The T where 4T²d = 8Td: T = 2d; longer sequences spend more on attention."""
    return 2 * _validate.integer(d, "d", at_most=1 << 40)


def decode_flops(T: int, d: int) -> tuple[int, int]:
    """FLOPs of one layer to produce token T + 1 after T tokens: ``(cached, recomputed)``.

    With a cache: project one token (8d²) and attend over T + 1 keys (4(T + 1)d).
    Recomputing: :func:`projection_flops` and :func:`attention_flops` of all T + 1.

    Examples::

        >>> decode_flops(3, 2)
        (64, 256)
    """
    T = _validate.integer(T, "T", at_least=0, at_most=1 << 40)
    d = _validate.integer(d, "d", at_most=1 << 40)
    return 8 * d * d + 4 * (T + 1) * d, projection_flops(T + 1, d) + attention_flops(T + 1, d)


@dataclass(frozen=True)
class DecodeCost:
    """Seconds to produce token T+1 after T tokens: with a cache, and recomputing
    (the fastest of the timed repeats: on a shared machine the others wait for it)."""

    T: int
    cached: float
    recomputed: float


def decode_costs(mha: MultiHeadAttention, Ts: list[int] | tuple[int, ...], *,
                 generator: torch.Generator, repeats: int = 5,
                 threads: int | None = 1) -> list[DecodeCost]:
    """Time one decoding step of ``mha`` at each prefix length T (``device.timed``).

    *cached*: :meth:`MultiHeadAttention.step` for one token with a cache of T;
    *recomputed*: ``forward`` on all T + 1 tokens, causal, keeping the last row.
    On the CPU both run on ``threads`` threads (``None``: torch's setting).

    Examples::

        >>> g = torch.Generator().manual_seed(0)
        >>> [c.T for c in decode_costs(MultiHeadAttention(8, 2), [4, 8], generator=g, repeats=1)]
        [4, 8]
    """
    from dotbook import device as _device

    if not isinstance(mha, MultiHeadAttention):
        raise TypeError(f"mha must be a MultiHeadAttention, got {type(mha).__name__}")
    Ts = _validate.sizes(Ts, "Ts", at_most=1 << 16)
    _validate.generator(generator)
    repeats = _validate.integer(repeats, "repeats", at_most=1000)
    if threads is not None:
        threads = _validate.integer(threads, "threads", at_most=1024)
    p = mha.w_q.weight
    rows = []
    with torch.no_grad(), _device.cpu_threads(threads if p.device.type == "cpu" else None):
        for T in Ts:
            T = _validate.integer(T, "T", at_most=1 << 16)
            x = torch.randn(1, T + 1, mha.d_model, generator=generator, device=p.device,
                            dtype=p.dtype)  # (1, T + 1, d)
            cache = KVCache()
            mha.step(x[:, :T], cache)  # fill the cache with T positions

            def cached(c: KVCache = cache, new: torch.Tensor = x[:, T:]) -> None:
                mha.step(new, KVCache(c.k, c.v))  # a fresh view: c stays at length T

            def recomputed(full: torch.Tensor = x) -> None:
                mha(full, full, full, causal=True)[:, -1]

            rows.append(DecodeCost(T, min(_device.timed(cached, repeats=repeats).times),
                                   min(_device.timed(recomputed, repeats=repeats).times)))
    return rows
