r"""A two-layer attention-only transformer that learns induction (Chapter 13).

The task (in-context repetition): a sequence of ``n`` distinct random tokens is
followed by the same ``n`` tokens again. In the second half every next token
is predictable, but only from the context: the model has to find where the
current token occurred before and copy the token that followed it. Olsson et
al. (2022) call the circuit that does this an *induction head*: a head in one
layer that writes "my previous token was A" into each position (a
*previous-token head*), and a head in a later layer whose query "I am A" finds
the key "my previous token was A" and copies that position's token.

The model is the attention-only transformer of Elhage et al. (2021): token
and learned position embeddings, two residual layers of causal
:class:`dotbook.transformer.MultiHeadAttention`, and an unembedding. No MLPs,
no layer norm.

:func:`pattern_scores` measures the two patterns on the attention weights:
the previous-token score of a head is its mean weight from position t on
t − 1; its induction score is its mean weight, in the repeated half, from
position t on t − n + 1 (the token after the earlier copy of the current one).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import nn

from dotbook import _validate
from dotbook import device as _device
from dotbook.transformer import KVCache, MultiHeadAttention

__all__ = ["AttentionOnly", "Trained", "repeated_tokens", "accuracy", "pattern_scores",
           "seen_before", "train_induction"]


class AttentionOnly(nn.Module):
    """Embeddings, ``layers`` residual causal attention layers, unembedding.

    Args:
        vocab: number of token ids.
        length: the longest sequence (learned positions 0 … length − 1).
        d_model, heads, layers: width, heads per layer, depth.

    Shape:
        ``forward(tokens)``: (B, T) integer → logits (B, T, vocab).

    Examples::

        >>> m = AttentionOnly(vocab=5, length=8, d_model=8, heads=2, layers=2)
        >>> m(torch.zeros(3, 8, dtype=torch.long)).shape
        torch.Size([3, 8, 5])
    """

    def __init__(self, vocab: int, length: int, d_model: int, heads: int, layers: int = 2,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None
                 ) -> None:
        super().__init__()
        self.vocab = _validate.integer(vocab, "vocab", at_least=2, at_most=1 << 16)
        self.length = _validate.integer(length, "length", at_most=1 << 12)
        layers = _validate.integer(layers, "layers", at_most=64)
        d_model = _validate.integer(d_model, "d_model", at_most=1 << 14)
        _device.check(device, dtype, optional=True)
        kw = {"device": device, "dtype": dtype}
        self.embed = nn.Embedding(self.vocab, d_model, **kw)
        self.position = nn.Embedding(self.length, d_model, **kw)
        self.layers = nn.ModuleList(MultiHeadAttention(d_model, heads, **kw)
                                    for _ in range(layers))
        self.unembed = nn.Linear(d_model, self.vocab, **kw)

    def _tokens(self, tokens: object, start: int = 0) -> torch.Tensor:
        if not isinstance(tokens, torch.Tensor):
            raise TypeError(f"tokens must be a torch.Tensor of ids, got {type(tokens).__name__}")
        if tokens.ndim != 2 or tokens.dtype not in (torch.long, torch.int32):
            raise ValueError(f"tokens must be an integer tensor (B, T), got shape "
                             f"{tuple(tokens.shape)} and dtype {tokens.dtype}")
        if start + tokens.shape[1] > self.length:
            raise ValueError(f"positions {start} … {start + tokens.shape[1] - 1} exceed the "
                             f"model's length {self.length}")
        if tokens.numel() and not 0 <= int(tokens.min()) <= int(tokens.max()) < self.vocab:
            raise ValueError(f"token ids must lie in [0, {self.vocab - 1}]")
        return tokens

    def residual(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token plus position embedding: (B, T) → (B, T, d)."""
        tokens = self._tokens(tokens)
        pos = torch.arange(tokens.shape[1], device=tokens.device)  # (T,)
        return self.embed(tokens) + self.position(pos)  # (B, T, d)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.residual(tokens)  # (B, T, d)
        for layer in self.layers:
            x = x + layer(x, x, x, causal=True)  # (B, T, d)
        return self.unembed(x)  # (B, T, vocab)

    def patterns(self, tokens: torch.Tensor) -> torch.Tensor:
        """Every head's attention weights: (L, B, h, T, T)."""
        out = []
        with torch.no_grad():
            x = self.residual(tokens)
            for layer in self.layers:
                out.append(layer.weights(x, x, causal=True))  # (B, h, T, T)
                x = x + layer(x, x, x, causal=True)
        return torch.stack(out)

    def step(self, tokens: torch.Tensor, caches: list[KVCache]) -> torch.Tensor:
        """Logits for new tokens (B, t) that follow the positions in ``caches``; updates them.

        Raises ValueError when the caches do not all hold the same number of positions.
        """
        if len(caches) != len(self.layers):
            raise ValueError(f"pass one KVCache per layer: {len(self.layers)}, got "
                             f"{len(caches)}")
        start = caches[0].length
        lengths = [c.length for c in caches]
        if any(n != start for n in lengths):
            raise ValueError(f"the caches hold {lengths} positions; every layer's cache must "
                             f"hold the same prefix")
        tokens = self._tokens(tokens, start)
        pos = torch.arange(start, start + tokens.shape[1], device=tokens.device)  # (t,)
        x = self.embed(tokens) + self.position(pos)  # (B, t, d)
        for layer, cache in zip(self.layers, caches, strict=True):
            x = x + layer.step(x, cache)  # (B, t, d)
        return self.unembed(x)  # (B, t, vocab)


def _periods(periods: object, length: int, vocab: int) -> tuple[int, int]:
    if not isinstance(periods, (list, tuple)) or len(periods) != 2:
        raise TypeError(f"periods must be a pair (lo, hi) of block lengths, e.g. (4, 10), got "
                        f"{periods!r}")
    lo = _validate.integer(periods[0], "periods[0]", at_least=2, at_most=length - 1)
    hi = _validate.integer(periods[1], "periods[1]", at_least=lo, at_most=length - 1)
    if hi > vocab:
        raise ValueError(f"a block of n = {hi} distinct tokens needs vocab >= {hi}, got "
                         f"vocab = {vocab}")
    return lo, hi


def _token_batch(tokens: object, name: str = "tokens") -> torch.Tensor:
    if not isinstance(tokens, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of ids, got {type(tokens).__name__}")
    if tokens.ndim != 2 or tokens.dtype not in (torch.long, torch.int32):
        raise ValueError(f"{name} must be an integer tensor (B, T), got shape "
                         f"{tuple(tokens.shape)} and dtype {tokens.dtype}")
    return tokens


def repeated_tokens(batch: int, length: int, vocab: int, periods: tuple[int, int] = (4, 10),
                    *, generator: torch.Generator,
                    device: torch.device | str | None = None) -> torch.Tensor:
    """``batch`` sequences of ``length`` tokens, each a block of n distinct random tokens
    repeated (n drawn per sequence from ``periods``, both ends included): (B, length).

    Because n varies, no fixed offset finds the earlier copy: only the tokens can.

    Examples::

        >>> x = repeated_tokens(2, 8, 16, (2, 4), generator=torch.Generator().manual_seed(0))
        >>> x.shape, x.dtype
        (torch.Size([2, 8]), torch.int64)
    """
    _validate.generator(generator)
    batch = _validate.integer(batch, "batch", at_most=1 << 16)
    length = _validate.integer(length, "length", at_least=2, at_most=1 << 12)
    vocab = _validate.integer(vocab, "vocab", at_least=2, at_most=1 << 16)
    lo, hi = _periods(periods, length, vocab)
    where, _ = _device.placement(device, torch.float32, generator)
    keys = torch.rand(batch, vocab, generator=generator, device=where)  # (B, vocab)
    block = keys.argsort(dim=-1)  # (B, vocab): a random order of the vocabulary per row
    n = torch.randint(lo, hi + 1, (batch, 1), generator=generator, device=where)  # (B, 1)
    t = torch.arange(length, device=where)  # (T,)
    return block.gather(1, t % n)  # (B, T): token t is block[t mod n]


def seen_before(tokens: torch.Tensor) -> torch.Tensor:
    """(B, T) bool: token t occurred at an earlier position (its successor is predictable).

    Examples::

        >>> seen_before(torch.tensor([[1, 2, 1, 2]])).tolist()
        [[False, False, True, True]]
    """
    tokens = _token_batch(tokens)
    same = tokens[:, :, None] == tokens[:, None, :]  # (B, T, T): x_t == x_j
    return same.tril(-1).any(-1)  # (B, T): some j < t


def accuracy(model: AttentionOnly, tokens: torch.Tensor) -> float:
    """Share of next tokens predicted right where the current token was seen before.

    Examples::

        >>> model = AttentionOnly(16, 8, 8, 2, 1)
        >>> x = repeated_tokens(4, 8, 16, (2, 4), generator=torch.Generator().manual_seed(0))
        >>> 0.0 <= accuracy(model, x) <= 1.0
        True
    """
    if not isinstance(model, AttentionOnly):
        raise TypeError(f"model must be an AttentionOnly, got {type(model).__name__}")
    tokens = model._tokens(_token_batch(tokens))
    if not bool(seen_before(tokens)[:, :-1].any()):
        raise ValueError("no token in tokens repeats an earlier one (before the last position), "
                         "so there is nothing to score; pass sequences with repeats "
                         "(repeated_tokens)")
    mask = seen_before(tokens)[:, :-1]  # (B, T − 1)
    with torch.no_grad():
        guess = model(tokens)[:, :-1].argmax(-1)  # (B, T − 1): predictions of x_1 … x_{T−1}
    right = (guess == tokens[:, 1:]) & mask  # (B, T − 1)
    return right.sum().item() / mask.sum().item()  # counted in integers: MPS has no float64


def pattern_scores(patterns: torch.Tensor, tokens: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Previous-token and induction scores of every head, each (L, h).

    ``patterns`` (L, B, h, T, T) from :meth:`AttentionOnly.patterns` on ``tokens`` (B, T).
    Previous-token score: the mean weight of query t on key t − 1 (t = 1 … T − 1).
    Induction score: the mean total weight of query t on the keys j ≤ t whose previous
    token x_{j−1} equals x_t (the successors of earlier copies of the current token),
    over the queries t that have such a key (Olsson et al., 2022).

    Examples::

        >>> model = AttentionOnly(16, 8, 8, 2, 1)
        >>> x = repeated_tokens(4, 8, 16, (2, 4), generator=torch.Generator().manual_seed(0))
        >>> prev, ind = pattern_scores(model.patterns(x), x)
        >>> prev.shape, ind.shape
        (torch.Size([1, 2]), torch.Size([1, 2]))
    """
    tokens = _token_batch(tokens)
    patterns = _validate.finite(_validate.tensor(patterns, "patterns"), "patterns")
    if not patterns.is_floating_point():
        raise TypeError(f"patterns must hold floating-point weights, got {patterns.dtype}")
    if not bool(seen_before(tokens).any()):
        raise ValueError("no token in tokens repeats an earlier one, so no head can show "
                         "induction; pass sequences with repeats (repeated_tokens)")
    T = tokens.shape[1]
    if patterns.ndim != 5 or patterns.shape[-1] != T or patterns.shape[1] != tokens.shape[0]:
        raise ValueError(f"patterns has shape {tuple(patterns.shape)}; for tokens of shape "
                         f"{tuple(tokens.shape)} pass (L, B, h, {T}, {T})")
    prev = patterns.diagonal(offset=-1, dim1=-2, dim2=-1)  # (L, B, h, T − 1): t → t − 1
    after = torch.zeros_like(tokens[:, :, None].expand(-1, -1, T), dtype=torch.bool)
    after[:, :, 1:] = tokens[:, :, None] == tokens[:, None, :-1]  # (B, T, T): x_{j−1} == x_t
    after &= torch.ones(T, T, dtype=torch.bool, device=tokens.device).tril()  # j ≤ t
    has = after.any(-1)  # (B, T): queries that have an earlier copy
    mass = (patterns * after[None, :, None]).sum(-1)  # (L, B, h, T)
    induction = (mass * has[None, :, None]).sum(dim=(1, 3)) / has.sum()  # (L, h)
    return prev.mean(dim=(1, 3)), induction


@dataclass
class Trained:
    """A model trained on repeated tokens, and how the training went."""

    model: AttentionOnly
    length: int
    vocab: int
    periods: tuple[int, int]
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0  # wall-clock training time
    cpu_seconds: float = 0.0  # CPU time of this process while training (all threads)


def train_induction(*, generator: torch.Generator, length: int = 24, vocab: int = 16,
                    periods: tuple[int, int] = (4, 10), d_model: int = 32, heads: int = 2,
                    layers: int = 2, steps: int = 200, batch: int = 64, lr: float = 1e-2,
                    device: torch.device | str | None = None,
                    dtype: torch.dtype = torch.float32, threads: int | None = 1) -> Trained:
    """Train an :class:`AttentionOnly` (2 layers by default) with Adam on :func:`repeated_tokens`.

    The loss is the cross-entropy of the next token where the current token was
    seen before (:func:`seen_before`). Weights and batches come from ``generator``.
    On the CPU the loop runs on ``threads`` threads (``None``: leave torch's
    setting): this model is so small that one thread is fastest, above all on a
    shared machine.
    """
    _validate.generator(generator)
    steps = _validate.integer(steps, "steps", at_most=100_000)
    lr = _validate.in_range(lr, "lr", 0.0, 1e3)
    if lr <= 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    _periods(periods, _validate.integer(length, "length", at_least=2, at_most=1 << 12),
             _validate.integer(vocab, "vocab", at_least=2, at_most=1 << 16))
    where, dtype = _device.placement(device, dtype, generator)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=where))
    cuda = [where.index or 0] if where.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):  # leave the global generators as they were
        torch.manual_seed(seed)  # nn's initialisation draws from the global generator
        model = AttentionOnly(vocab, length, d_model, heads, layers, device=where, dtype=dtype)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    out = Trained(model, length, vocab, periods)
    start, cpu = time.perf_counter(), time.process_time()
    with _device.cpu_threads(threads if where.type == "cpu" else None):
        for _ in range(steps):
            x = repeated_tokens(batch, length, vocab, periods, generator=generator,
                                device=where)  # (B, T)
            mask = seen_before(x)[:, :-1]  # (B, T − 1): the predictable next tokens
            logits = model(x)[:, :-1][mask]  # (N, vocab)
            loss = nn.functional.cross_entropy(logits, x[:, 1:][mask])
            opt.zero_grad()
            loss.backward()
            opt.step()
            out.losses.append(loss.item())
    out.seconds = time.perf_counter() - start
    out.cpu_seconds = time.process_time() - cpu
    return out
