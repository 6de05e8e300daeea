r"""The backward pass as dot products: inputs, softmax, attention, and a gradient check.

For a layer :math:`y = x W^\top + b` with a batch :math:`x \in \mathbb R^{B\times n}`,
:math:`W \in \mathbb R^{m\times n}` and the upstream gradient
:math:`G = \partial L/\partial y \in \mathbb R^{B\times m}`, the chain rule gives
three products,

.. math::  \frac{\partial L}{\partial x} = G\,W, \qquad
           \frac{\partial L}{\partial W} = G^\top x, \qquad
           \frac{\partial L}{\partial b} = \sum_{i=1}^{B} G_{i,:} .

The second is Chapter 8's sum of outer products; the first carries the error
to the layer below: input coordinate :math:`j` receives the dot product of the
upstream errors with **column** :math:`j` of :math:`W` (the forward pass used its
rows). Each of the two is a matrix product of the forward's size, so a
backward pass costs about twice the forward (:func:`linear_backward`,
:func:`backward_cost`).

**Softmax.** :math:`p = \operatorname{softmax}(z)` has the Jacobian
:math:`\partial p/\partial z = \operatorname{diag}(p) - pp^\top`
(:func:`softmax_jacobian`), which vanishes as :math:`p` approaches one-hot. The
cross-entropy :math:`-\log p_y` undoes the exponential: its gradient with
respect to the logits is :math:`p - e_y`, divided by :math:`B` under the mean
over a batch (:func:`softmax_cross_entropy_grad`).

**Attention.** For :math:`Y = \operatorname{softmax}(sQK^\top)V` with
:math:`Q = XW_q^\top`, :math:`K = XW_k^\top`, :math:`V = XW_v^\top`, the gradient
reaches :math:`W_q` and :math:`W_k` only through the softmax
(:func:`attention_backward`).

**Checking.** :func:`gradient_check` compares autograd with central finite
differences at float64; :class:`LinearFunction` is a custom autograd function
whose backward is :func:`linear_backward`, and :class:`MeanBiasLinear` the same
with a classic bug (the bias gradient averaged instead of summed).

Chapter 8 uses this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dotbook import _validate, attention, precision
from dotbook import device as _device

__all__ = [
    "AttentionGrads",
    "BackwardCost",
    "LinearFunction",
    "MeanBiasLinear",
    "attention_backward",
    "attention_loss",
    "backward_cost",
    "gradient_check",
    "linear_backward",
    "softmax_cross_entropy_grad",
    "softmax_jacobian",
]

#: Upper bounds a chapter never needs: entries a finite-difference check perturbs,
#: a side of a timed matrix product, and the timing repeats.
MAX_CHECKED = 100_000
MAX_SIDE = 8192
MAX_REPEATS = 1000


def _pair_rows(a: torch.Tensor, name_a: str, b: torch.Tensor, name_b: str) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"shape mismatch: {name_a} has shape {tuple(a.shape)} and {name_b} "
                         f"{tuple(b.shape)}; both need one row per example (the same B)")
    _validate.same_kind(a, b, f"{name_a}, {name_b}")


# ------------------------------------------------------------------ a linear layer
def linear_backward(x: torch.Tensor, w: torch.Tensor, grad_out: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The three gradients of :math:`y = xW^\top + b`: :math:`(GW,\; G^\top x,\; \sum_i G_{i,:})`.

    :math:`(GW)_{ij} = \sum_k G_{ik} W_{kj}`: example :math:`i`'s errors dotted
    with column :math:`j` of :math:`W`. The bias does not enter any gradient.

    Args:
        x: the layer's inputs, one row per example.
        w: the weights, one row per output neuron.
        grad_out: :math:`G = \partial L/\partial y`, one row per example.

    Shape:
        - x: :math:`(B, n)`, w: :math:`(m, n)`, grad_out: :math:`(B, m)`
        - outputs: :math:`(B, n)`, :math:`(m, n)`, :math:`(m)`

    Examples::

        >>> x, w = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0], [5.0, 6.0]])
        >>> linear_backward(x, w, torch.tensor([[1.0, -1.0]]))
        (tensor([[-2., -2.]]), tensor([[ 1.,  2.],
                [-1., -2.]]), tensor([ 1., -1.]))
    """
    x, w = _validate.matrix(x, "x"), _validate.matrix(w, "w")
    grad_out = _validate.matrix(grad_out, "grad_out")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"shape mismatch: x has shape {tuple(x.shape)} and w "
                         f"{tuple(w.shape)}; w needs one column per input coordinate (n = "
                         f"{x.shape[1]})")
    _validate.same_kind(x, w, "x, w")
    _pair_rows(x, "x", grad_out, "grad_out")
    if grad_out.shape[1] != w.shape[0]:
        raise ValueError(f"shape mismatch: grad_out has shape {tuple(grad_out.shape)} and w "
                         f"{tuple(w.shape)}; grad_out needs one column per output (m = "
                         f"{w.shape[0]})")
    grad_x = grad_out @ w  # (B, m) @ (m, n) -> (B, n): errors dotted with columns of W
    grad_w = grad_out.mT @ x  # (m, B) @ (B, n) -> (m, n): Σ_i δ_i x_iᵀ
    return grad_x, grad_w, grad_out.sum(dim=0)  # (m,)


class LinearFunction(torch.autograd.Function):
    r""":math:`y = xW^\top + b` as a custom autograd function whose backward is
    :func:`linear_backward`. Call it as ``LinearFunction.apply(x, w, b)``.

    Examples::

        >>> x = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
        >>> w, b = torch.ones(1, 3, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
        >>> LinearFunction.apply(x, w, b).sum().backward(); x.grad
        tensor([[1., 1., 1.],
                [1., 1., 1.]], dtype=torch.float64)
    """

    @staticmethod
    def forward(ctx, x, w, b):  # noqa: D102
        ctx.save_for_backward(x, w)
        return x @ w.mT + b  # (B, m)

    @staticmethod
    def backward(ctx, grad_out):  # noqa: D102
        x, w = ctx.saved_tensors
        return linear_backward(x, w, grad_out)


class MeanBiasLinear(LinearFunction):
    """:class:`LinearFunction` with a deliberate bug: the bias gradient is the
    *mean* of the upstream rows instead of their sum (wrong whenever B > 1)."""

    @staticmethod
    def backward(ctx, grad_out):  # noqa: D102
        grad_x, grad_w, grad_b = LinearFunction.backward(ctx, grad_out)
        return grad_x, grad_w, grad_b / grad_out.shape[0]


# ------------------------------------------------------------------ softmax
def softmax_cross_entropy_grad(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""The gradient of ``F.cross_entropy(logits, y)`` (mean over the batch) with respect
    to the logits: :math:`(\operatorname{softmax}(z_i) - e_{y_i}) / B` for each row.

    Args:
        logits: :math:`z`, one row of class scores per example.
        y: the class of each example, int64 in :math:`[0, C)`.

    Shape:
        - logits: :math:`(B, C)`, y: :math:`(B)`; output: :math:`(B, C)`

    An infinite logit follows :func:`dotbook.precision.softmax`'s rule (the limit:
    a ``+inf`` logit takes the whole mass), where ``torch.softmax`` gives NaN.

    Examples::

        >>> softmax_cross_entropy_grad(torch.zeros(2, 2), torch.tensor([0, 1]))
        tensor([[-0.2500,  0.2500],
                [ 0.2500, -0.2500]])
    """
    logits = _validate.matrix(logits, "logits")
    y = _validate.labels(y, logits)
    C = logits.shape[1]
    if bool(((y < 0) | (y >= C)).any()):
        raise ValueError(f"y holds labels outside [0, {C}) for logits with C = {C} classes; "
                         f"got min {int(y.min())}, max {int(y.max())}")
    p = torch.softmax(logits, dim=1)  # (B, C)
    if not bool(torch.isfinite(logits).all()):  # ±inf logits: the book's limit rule, not NaN
        p = precision.softmax(logits, dim=1)
    return (p - F.one_hot(y, C).to(p.dtype)) / logits.shape[0]


def softmax_jacobian(p: torch.Tensor) -> torch.Tensor:
    r"""The Jacobian of the softmax at probabilities :math:`p`:
    :math:`J = \operatorname{diag}(p) - pp^\top`, :math:`J_{ij} = \partial p_i/\partial z_j`.

    :math:`J` is symmetric, its rows sum to 0 (shifting every logit changes
    nothing), and it is 0 at a one-hot :math:`p`: a saturated softmax passes no
    gradient back. Its Frobenius norm is
    :func:`dotbook.saturation.softmax_jacobian_norm`.

    Shape:
        - p: :math:`(*, T)`; output: :math:`(*, T, T)`

    Examples::

        >>> softmax_jacobian(torch.tensor([0.5, 0.5]))
        tensor([[ 0.2500, -0.2500],
                [-0.2500,  0.2500]])
    """
    p = _validate.batched(p, "p")
    if not bool(((p >= 0) & (p <= 1)).all()):
        raise ValueError("p must hold probabilities in [0, 1] (a softmax output), got entries "
                         "outside; pass torch.softmax(z, dim=-1)")
    return torch.diag_embed(p) - p.unsqueeze(-1) * p.unsqueeze(-2)  # (*, T, T)


# ------------------------------------------------------------------ attention
@dataclass(frozen=True)
class AttentionGrads:
    r"""The gradients of a loss through one attention head.

    Attributes:
        w_q, w_k, w_v: :math:`\partial L/\partial W` for the three projections, each
            :math:`(d_k, d)` (:math:`(d_v, d)` for ``w_v``).
        x: :math:`\partial L/\partial X`, the sum of the three paths back, :math:`(*, T, d)`.
        scores: :math:`\partial L/\partial S` at the (scaled) scores, :math:`(*, T, T)`.
    """

    w_q: torch.Tensor
    w_k: torch.Tensor
    w_v: torch.Tensor
    x: torch.Tensor
    scores: torch.Tensor


def _head(x: object, w_q: object, w_k: object, w_v: object) -> tuple[torch.Tensor, ...]:
    x = _validate.tensor(x, "x")
    if x.ndim < 2:
        raise ValueError(f"x must have shape (*, T, d), got {tuple(x.shape)}")
    ws = [_validate.matrix(w, name) for w, name in ((w_q, "w_q"), (w_k, "w_k"), (w_v, "w_v"))]
    for t, name in ((x, "x"), *zip(ws, ("w_q", "w_k", "w_v"), strict=True)):
        _validate.finite(t, name)  # a gradient through an infinite entry is inf - inf
    for w, name in zip(ws, ("w_q", "w_k", "w_v"), strict=True):
        if w.shape[1] != x.shape[-1]:
            raise ValueError(f"shape mismatch: x has shape {tuple(x.shape)} and {name} "
                             f"{tuple(w.shape)}; {name} needs d = {x.shape[-1]} columns")
        _validate.same_kind(x, w, f"x, {name}")
    if ws[0].shape[0] != ws[1].shape[0]:
        raise ValueError(f"shape mismatch: w_q has shape {tuple(ws[0].shape)} and w_k "
                         f"{tuple(ws[1].shape)}; queries and keys need the same width d_k")
    return (x, *ws)


def _upstream(grad_out: object, y_shape: torch.Size, x: torch.Tensor) -> torch.Tensor:
    """``grad_out``, checked against the output's shape (``y_shape``) and ``x``'s kind."""
    grad_out = _validate.finite(_validate.tensor(grad_out, "grad_out"), "grad_out")
    if grad_out.shape != y_shape:
        raise ValueError(f"shape mismatch: grad_out has shape {tuple(grad_out.shape)}, but the "
                         f"output Y for x of shape {tuple(x.shape)} has shape {tuple(y_shape)}; "
                         f"grad_out needs x's leading shape (*, T) and d_v = {y_shape[-1]}")
    _validate.same_kind(x, grad_out, "x, grad_out")
    return grad_out


def attention_loss(x: torch.Tensor, w_q: torch.Tensor, w_k: torch.Tensor, w_v: torch.Tensor,
                   grad_out: torch.Tensor, causal: bool = False) -> torch.Tensor:
    r"""The scalar :math:`L = \sum Y \odot G` with :math:`Y` one head of self-attention,
    :math:`Y = \operatorname{softmax}(XW_q^\top (XW_k^\top)^\top/\sqrt{d_k})\,XW_v^\top`
    (:func:`dotbook.attention.scaled_dot_product_attention`), so that
    :math:`\partial L/\partial Y = G`. What :func:`attention_backward` differentiates.

    Shape:
        - x: :math:`(*, T, d)`, w_q, w_k: :math:`(d_k, d)`, w_v: :math:`(d_v, d)`,
          grad_out: :math:`(*, T, d_v)`; output: :math:`()`

    Examples::

        >>> x = torch.eye(2); w = torch.eye(2)
        >>> attention_loss(x, w, w, w, torch.ones(2, 2))
        tensor(2.)
    """
    x, w_q, w_k, w_v = _head(x, w_q, w_k, w_v)
    y = attention.scaled_dot_product_attention(x @ w_q.mT, x @ w_k.mT, x @ w_v.mT,
                                               causal=causal)  # (*, T, d_v)
    grad_out = _upstream(grad_out, y.shape, x)
    return (y * grad_out).sum()


def attention_backward(x: torch.Tensor, w_q: torch.Tensor, w_k: torch.Tensor,
                       w_v: torch.Tensor, grad_out: torch.Tensor,
                       causal: bool = False) -> AttentionGrads:
    r"""The gradients of one attention head by the chain rule, step by step.

    With :math:`A = \operatorname{softmax}(S)`, :math:`S = sQK^\top` (+ mask),
    :math:`s = 1/\sqrt{d_k}`, :math:`Y = AV` and :math:`G = \partial L/\partial Y`:

    .. math::  \partial V = A^\top G, \quad \partial A = GV^\top, \quad
               \partial S_{i,:} = \partial A_{i,:}\,J(A_{i,:})
               = A_{i,:}\odot(\partial A_{i,:} - \partial A_{i,:}\cdot A_{i,:}),

    .. math::  \partial Q = s\,\partial S\,K, \quad \partial K = s\,\partial S^\top Q,
               \quad \partial W_q = \sum \partial Q^\top X \text{ (and so on)}.

    :math:`W_q` and :math:`W_k` are reached only through :math:`\partial S`, that is
    through the softmax Jacobian: a saturated head (one-hot rows) teaches them nothing.
    The forward pass is :func:`dotbook.attention.attention_weights`; the last step is
    :func:`linear_backward` on the rows of :math:`X`.

    Args:
        x: the tokens, :math:`(*, T, d)`.
        w_q, w_k, w_v: the projections, one row per output coordinate.
        grad_out: :math:`\partial L/\partial Y`.
        causal: as in :func:`dotbook.attention.attention_weights`.

    Every input must be finite: a gradient through an infinite entry would be
    :math:`\infty - \infty`, so one is refused.

    Shape:
        - x: :math:`(*, T, d)`, w_q, w_k: :math:`(d_k, d)`, w_v: :math:`(d_v, d)`,
          grad_out: :math:`(*, T, d_v)`

    Examples::

        >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]]); w = torch.eye(2)
        >>> g = attention_backward(x, 0 * w, w, w, torch.ones(2, 2))  # W_q = 0: uniform A
        >>> g.w_k.abs().max().item()   # dS = 0: a uniform head with these values
        0.0
    """
    x, w_q, w_k, w_v = _head(x, w_q, w_k, w_v)
    q, k, v = x @ w_q.mT, x @ w_k.mT, x @ w_v.mT  # (*, T, d_k), (*, T, d_k), (*, T, d_v)
    a = attention.attention_weights(q, k, causal=causal)  # (*, T, T)
    grad_out = _upstream(grad_out, v.shape, x)
    s = q.shape[-1] ** -0.5
    grad_v = a.mT @ grad_out  # (*, T, d_v)
    grad_a = grad_out @ v.mT  # (*, T, T)
    grad_s = a * (grad_a - (grad_a * a).sum(dim=-1, keepdim=True))  # (*, T, T): ∂A · J
    grad_q = s * grad_s @ k  # (*, T, d_k)
    grad_k = s * grad_s.mT @ q  # (*, T, d_k)
    rows = x.reshape(-1, x.shape[-1])  # (N, d): every token of every sequence
    grads, grad_x = [], torch.zeros_like(rows)
    for grad, w in ((grad_q, w_q), (grad_k, w_k), (grad_v, w_v)):
        gx, gw, _ = linear_backward(rows, w, grad.reshape(-1, w.shape[0]))
        grads.append(gw)
        grad_x = grad_x + gx  # three paths back to X
    return AttentionGrads(w_q=grads[0], w_k=grads[1], w_v=grads[2],
                          x=grad_x.reshape(x.shape), scores=grad_s)


# ------------------------------------------------------------------ checking
def gradient_check(f: Callable[..., torch.Tensor], inputs: Sequence[torch.Tensor],
                   eps: float = 1e-6) -> float:
    r"""The largest relative error between autograd and central differences at float64:

    .. math::  \max_k \frac{\lVert \hat g_k - g_k\rVert_\infty}
               {\max(\lVert \hat g_k\rVert_\infty, \lVert g_k\rVert_\infty)},
               \qquad \hat g_{k,j} = \frac{f(\ldots, x_{k,j} + \varepsilon, \ldots)
               - f(\ldots, x_{k,j} - \varepsilon, \ldots)}{2\varepsilon},

    over the inputs :math:`x_k` (0 where both gradients are 0). Every input is
    copied to float64; ``f`` must return a scalar. The central difference is
    off by :math:`O(\varepsilon^2)` plus rounding :math:`O(u/\varepsilon)`, about
    1e-10 in float64 at the default :math:`\varepsilon`; a wrong backward is off
    by :math:`O(1)`. Costs :math:`2\sum_k \mathrm{numel}(x_k)` calls of ``f``.

    Args:
        f: a function of the inputs returning a 0-d tensor (e.g. a loss).
        inputs: the tensors to differentiate with respect to.
        eps: the step :math:`\varepsilon`.

    Examples::

        >>> gradient_check(lambda x: (x ** 3).sum(), [torch.tensor([1.0, 2.0])]) < 1e-8
        True
    """
    if not callable(f):
        raise TypeError(f"f must be a function of the inputs, got {type(f).__name__}")
    if isinstance(inputs, torch.Tensor) or not isinstance(inputs, Sequence) or not inputs:
        raise TypeError("inputs must be a non-empty list or tuple of tensors, e.g. [x, w]")
    xs = [_validate.tensor(t, f"inputs[{i}]").detach().to(torch.float64).clone()
          for i, t in enumerate(inputs)]
    _validate.integer(sum(t.numel() for t in xs), "the number of entries of the inputs",
                      at_most=MAX_CHECKED, why="each entry costs two calls of f")
    eps = _validate.in_range(eps, "eps", 1e-12, 1.0)

    def value(args: list[torch.Tensor]) -> torch.Tensor:
        out = f(*args)
        if not isinstance(out, torch.Tensor) or out.ndim != 0:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"f must return a scalar (a 0-d tensor), got {got}; reduce it, "
                             f"e.g. lambda *a: (f(*a) * r).sum() with a fixed r")
        return out

    with torch.enable_grad():
        leaves = [t.clone().requires_grad_() for t in xs]
        grads = torch.autograd.grad(value(leaves), leaves, allow_unused=True)
    worst = 0.0
    with torch.no_grad():
        for k, x in enumerate(xs):
            auto = torch.zeros_like(x) if grads[k] is None else grads[k]
            numeric = torch.zeros_like(x).reshape(-1)
            for j in range(x.numel()):
                args = list(xs)
                for sign in (1.0, -1.0):
                    moved = x.clone().reshape(-1)
                    moved[j] += sign * eps
                    args[k] = moved.reshape(x.shape)
                    numeric[j] += sign * float(value(args)) / (2 * eps)
            numeric = numeric.reshape(x.shape)
            size = max(float(numeric.abs().max()), float(auto.abs().max()))
            if size > 0:
                worst = max(worst, float((numeric - auto).abs().max()) / size)
    return worst


# ------------------------------------------------------------------ cost
@dataclass(frozen=True)
class BackwardCost:
    r"""Measured time of a linear layer's forward and backward pass (seconds, the fastest repeat).

    Attributes:
        forward, backward: :math:`xW^\top + b`, and :func:`linear_backward`.
        flops_forward, flops_backward: :math:`2Bnm` and :math:`4Bnm + Bm`.
    """

    forward: float
    backward: float
    flops_forward: int
    flops_backward: int

    @property
    def ratio(self) -> float:
        """Measured backward time over forward time (about 2)."""
        return self.backward / self.forward


def backward_cost(B: int, n: int, m: int, *, generator: torch.Generator,
                  device: torch.device | str | None = None, dtype: torch.dtype = torch.float32,
                  repeats: int = 5, threads: int | None = 1) -> BackwardCost:
    r"""Time the forward :math:`xW^\top + b` against :func:`linear_backward` on random data.

    The forward is one :math:`(B\times n)(n\times m)` product, :math:`2Bnm` FLOPs; the
    backward two of the same size (:math:`GW` and :math:`G^\top x`) and a row sum.
    Timed with :func:`dotbook.device.timed`, keeping the fastest repeat (on a shared
    machine the slower ones mostly measure waiting), on ``threads`` CPU threads.

    Examples::

        >>> c = backward_cost(64, 64, 64, generator=_device.generator(0), repeats=2)
        >>> c.flops_backward == 2 * c.flops_forward + 64 * 64
        True
    """
    B = _validate.integer(B, "B", at_most=MAX_SIDE)
    n = _validate.integer(n, "n", at_most=MAX_SIDE)
    m = _validate.integer(m, "m", at_most=MAX_SIDE)
    repeats = _validate.integer(repeats, "repeats", at_most=MAX_REPEATS)
    _validate.generator(generator)
    where, dtype = _device.placement(device, dtype, generator)

    def draw(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, device=where, dtype=dtype)

    x, w, b, grad_out = draw(B, n), draw(m, n), draw(m), draw(B, m)
    with _device.cpu_threads(threads if where.type == "cpu" else None):
        fwd = _device.timed(torch.addmm, b, x, w.mT, repeats=repeats)
        bwd = _device.timed(linear_backward, x, w, grad_out, repeats=repeats)
    return BackwardCost(forward=min(fwd.times), backward=min(bwd.times),
                        flops_forward=2 * B * n * m, flops_backward=4 * B * n * m + B * m)
