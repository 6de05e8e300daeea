r"""How a dot product learns: the gradient of one neuron, of a layer, and a training loop.

A neuron computes :math:`z = w\cdot x + b` and is judged by a loss
:math:`\ell(z, y)`. The chain rule through the dot product gives

.. math::  \frac{\partial \ell}{\partial w} = \frac{\partial \ell}{\partial z}\, x,
           \qquad \frac{\partial \ell}{\partial b} = \frac{\partial \ell}{\partial z},

because :math:`\partial z/\partial w = x` (Chapter 3). The whole update is the
input, scaled by one number, the *error signal* :math:`\delta = \partial\ell/\partial z`.

**Loss conventions** (those of PyTorch's own losses, so that autograd can check
the formulas):

- ``"mse"``: :math:`\ell(z, y) = (z - y)^2`, so :math:`\delta = 2(z - y)`
  (``F.mse_loss``; there is no factor :math:`\tfrac12`);
- ``"logistic"``: labels :math:`y\in\{0, 1\}`,
  :math:`\ell(z, y) = \log(1 + e^{z}) - yz`, the cross-entropy of
  :math:`\sigma(z)`, so :math:`\delta = \sigma(z) - y`
  (``F.binary_cross_entropy_with_logits``).

Over a batch of :math:`B` examples the loss is the **mean** of the per-example
losses (``reduction="mean"``, PyTorch's default) or their **sum**
(``reduction="sum"``); the mean divides every :math:`\delta_i` by :math:`B`.

For a layer :math:`z = Wx + b` the same rule, row by row, makes the weight
gradient over a batch a sum of outer products,

.. math::  \frac{\partial L}{\partial W} = \sum_{i=1}^{B} \delta_i\, x_i^{\top}
           = \Delta^{\top} X, \qquad \Delta_{ij} = \frac{\partial L}{\partial z_{ij}},

:func:`layer_gradients_loop` (one outer product per example) next to
:func:`layer_gradients` (one matrix product). :func:`train_neuron` runs
full-batch gradient descent on one neuron and records its path;
:func:`max_margin_direction` computes the direction that gradient descent on
the logistic loss approaches on separable data (Soudry et al., 2018).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dotbook import _validate
from dotbook import device as _device

__all__ = [
    "LOSSES",
    "OPTIMIZERS",
    "REDUCTIONS",
    "MarginRun",
    "Trajectory",
    "alignment_path",
    "class_direction",
    "cosine_path",
    "decorrelated_inputs",
    "error_signal",
    "layer_gradients",
    "layer_gradients_loop",
    "loss_value",
    "margin_run",
    "max_margin_direction",
    "neuron_gradients",
    "off_span_drift",
    "train_neuron",
]

#: The losses :func:`neuron_gradients` knows.
LOSSES: tuple[str, ...] = ("mse", "logistic")
#: How per-example losses are combined over a batch.
REDUCTIONS: tuple[str, ...] = ("mean", "sum")
#: How :func:`neuron_gradients` can compute the gradient.
GRADIENT_METHODS: tuple[str, ...] = ("formula", "autograd")
#: The optimisers :func:`off_span_drift` compares.
OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "adam", "weight_decay")
#: The most steps a training loop here runs (a chapter needs a few thousand).
MAX_STEPS = 1_000_000


def _targets(y: object, z: torch.Tensor, loss: str) -> torch.Tensor:
    """``y`` as floats shaped like ``z``; logistic labels must be 0 or 1."""
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a torch.Tensor of targets, got {type(y).__name__}")
    if y.shape != z.shape:
        raise ValueError(f"shape mismatch: the pre-activations have shape {tuple(z.shape)} but "
                         f"y has shape {tuple(y.shape)}; pass one target per example")
    if y.device != z.device:
        raise ValueError(f"device mismatch: x is on {z.device} but y is on {y.device}")
    y = y.to(z.dtype)
    if loss == "logistic" and not bool(((y == 0) | (y == 1)).all()):
        raise ValueError("the logistic loss needs labels 0 or 1; map the two classes to 0 and 1")
    return y


def _nonempty(z: object) -> torch.Tensor:
    z = _validate.tensor(z, "z")
    if z.numel() == 0:
        raise ValueError(f"z is empty (shape {tuple(z.shape)}): a loss over no examples is "
                         f"undefined; pass at least one pre-activation and its target")
    return z


def loss_value(z: torch.Tensor, y: torch.Tensor, loss: str = "mse",
               reduction: str = "mean") -> torch.Tensor:
    r"""The loss of pre-activations ``z`` against targets ``y``, as PyTorch defines it.

    ``"mse"``: :math:`(z-y)^2`; ``"logistic"``: :math:`\log(1+e^z) - yz`; then
    the mean or the sum over the batch.

    Shape:
        - z, y: :math:`(*)`; output: :math:`()`

    Examples::

        >>> loss_value(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 1.0]))
        tensor(2.5000)
    """
    z = _nonempty(z)
    _validate.choice(loss, "loss", LOSSES)
    _validate.choice(reduction, "reduction", REDUCTIONS)
    y = _targets(y, z, loss)
    if loss == "mse":
        return F.mse_loss(z, y, reduction=reduction)
    return F.binary_cross_entropy_with_logits(z, y, reduction=reduction)


def error_signal(z: torch.Tensor, y: torch.Tensor, loss: str = "mse",
                 reduction: str = "mean") -> torch.Tensor:
    r"""The error signal :math:`\delta_i = \partial L/\partial z_i` of each example.

    ``"mse"``: :math:`\delta_i = 2(z_i - y_i)`; ``"logistic"``:
    :math:`\delta_i = \sigma(z_i) - y_i`; divided by :math:`B` (the number of
    elements of ``z``) when ``reduction="mean"``.

    Shape:
        - z, y: :math:`(*)`; output: like ``z``

    Examples::

        >>> error_signal(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 1.0]))
        tensor([1., 2.])
    """
    z = _nonempty(z)
    _validate.choice(loss, "loss", LOSSES)
    _validate.choice(reduction, "reduction", REDUCTIONS)
    y = _targets(y, z, loss)
    delta = 2.0 * (z - y) if loss == "mse" else torch.sigmoid(z) - y
    return delta / z.numel() if reduction == "mean" else delta


def _neuron_inputs(w: object, b: object, x: object) -> tuple[torch.Tensor, torch.Tensor,
                                                             torch.Tensor]:
    w = _validate.vector(w, "w")
    x = _validate.last_dim(x, "x", w.shape[0], w, "w")
    b = _validate.tensor(b, "b") if isinstance(b, torch.Tensor) else b
    if isinstance(b, torch.Tensor):
        if b.ndim != 0:
            raise ValueError(f"b must be a scalar (a 0-d tensor or a number), got shape "
                             f"{tuple(b.shape)}")
        _validate.same_kind(w, b, "w, b")
    else:
        b = torch.tensor(_validate.real(b, "b"), dtype=w.dtype, device=w.device)
    return w, b, x


def neuron_gradients(w: torch.Tensor, b: float | torch.Tensor, x: torch.Tensor,
                     y: torch.Tensor, loss: str = "mse", *, reduction: str = "mean",
                     method: str = "formula") -> tuple[torch.Tensor, torch.Tensor]:
    r"""The gradient of one neuron's loss: :math:`\partial L/\partial w = \sum_i \delta_i x_i`,
    :math:`\partial L/\partial b = \sum_i \delta_i`.

    With :math:`z_i = w\cdot x_i + b` and :math:`\delta_i = \partial L/\partial z_i`
    (:func:`error_signal`; see the module docstring for the loss conventions).
    For one input the weight gradient is the input itself, scaled by the error:
    :math:`(\partial L/\partial z)\,x`.

    Args:
        w: the weights.
        b: the bias (a number or a 0-d tensor).
        x: one input or a batch of inputs, one per row.
        y: the targets, one per input (real numbers for ``"mse"``, 0 or 1 for
            ``"logistic"``).
        loss: ``"mse"`` or ``"logistic"``.
        reduction: ``"mean"`` or ``"sum"`` over the batch.
        method: ``"formula"`` (the sums above) or ``"autograd"`` (``torch.autograd.grad``
            through PyTorch's own loss).

    Shape:
        - w: :math:`(n)`, x: :math:`(n)` or :math:`(B, n)`, y: :math:`()` or :math:`(B)`
        - outputs: :math:`(n)` and :math:`()`

    Examples::

        >>> w, x = torch.tensor([1.0, -1.0]), torch.tensor([2.0, 0.5])
        >>> neuron_gradients(w, 0.0, x, torch.tensor(1.0))  # z = 1.5, δ = 2(1.5 − 1) = 1
        (tensor([2.0000, 0.5000]), tensor(1.))
    """
    w, b, x = _neuron_inputs(w, b, x)
    _validate.choice(method, "method", GRADIENT_METHODS)
    if method == "autograd":
        w_ = w.detach().clone().requires_grad_(True)
        b_ = b.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            L = loss_value(x @ w_ + b_, y, loss, reduction)
            grad_w, grad_b = torch.autograd.grad(L, (w_, b_))
        return grad_w, grad_b
    z = x @ w + b  # (B,) or ()
    delta = error_signal(z, y, loss, reduction)  # (B,) or ()
    if x.ndim == 1:
        return delta * x, delta.clone()
    return delta @ x, delta.sum()  # Σ_i δ_i x_i: (n,), Σ_i δ_i: ()


def layer_gradients_loop(delta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""A layer's weight gradient by a loop of outer products: :math:`\sum_i \delta_i x_i^\top`.

    Args:
        delta: :math:`\partial L/\partial z_i` for each example (a row per example).
        x: the layer's inputs, a row per example.

    Shape:
        - delta: :math:`(B, m)`, x: :math:`(B, n)`; output: :math:`(m, n)`

    Examples::

        >>> delta, x = torch.tensor([[1.0], [2.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> layer_gradients_loop(delta, x)
        tensor([[1., 2.]])
    """
    delta, x = _layer_pair(delta, x)
    total = torch.zeros(delta.shape[1], x.shape[1], dtype=x.dtype, device=x.device)  # (m, n)
    for i in range(x.shape[0]):
        total = total + torch.outer(delta[i], x[i])  # (m, n): example i's contribution
    return total


def layer_gradients(delta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""A layer's weight gradient as one product: :math:`\Delta^\top X = \sum_i \delta_i x_i^\top`.

    Shape:
        - delta: :math:`(B, m)`, x: :math:`(B, n)`; output: :math:`(m, n)`

    Examples::

        >>> layer_gradients(torch.tensor([[1.0], [2.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        tensor([[1., 2.]])
    """
    delta, x = _layer_pair(delta, x)
    return delta.mT @ x  # (m, B) @ (B, n) -> (m, n)


def _layer_pair(delta: object, x: object) -> tuple[torch.Tensor, torch.Tensor]:
    delta, x = _validate.matrix(delta, "delta"), _validate.matrix(x, "x")
    if delta.shape[0] != x.shape[0]:
        raise ValueError(f"shape mismatch: delta has shape {tuple(delta.shape)} and x has shape "
                         f"{tuple(x.shape)}; both need one row per example (the same B)")
    _validate.same_kind(delta, x, "delta, x")
    return delta, x


# ------------------------------------------------------------ watching a neuron learn
def class_direction(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""The difference of the class means, :math:`\mu_1 - \mu_0`.

    Shape:
        - x: :math:`(B, n)`, y: :math:`(B)` labels 0/1; output: :math:`(n)`

    Examples::

        >>> class_direction(torch.tensor([[0.0, 0.0], [2.0, 1.0]]), torch.tensor([0, 1]))
        tensor([2., 1.])
    """
    x = _validate.matrix(x, "x")
    y = _labels(y, x)
    return x[y == 1].mean(dim=0) - x[y == 0].mean(dim=0)


def _labels(y: object, x: torch.Tensor) -> torch.Tensor:
    if not isinstance(y, torch.Tensor) or y.shape != x.shape[:1]:
        raise ValueError(f"y must be a tensor of shape ({x.shape[0]},), one 0/1 label per row "
                         f"of x, got {getattr(y, 'shape', type(y).__name__)}")
    if y.device != x.device:
        raise ValueError(f"device mismatch: x is on {x.device} but y is on {y.device}")
    if not bool(((y == 0) | (y == 1)).all()) or not bool((y == 0).any() and (y == 1).any()):
        raise ValueError("y must hold labels 0 and 1, both present")
    return y


@dataclass(frozen=True)
class Trajectory:
    """The path of one neuron under full-batch gradient descent.

    Attributes:
        w: the weights after each step, row 0 the start. Shape :math:`(S+1, n)`.
        b: the bias after each step. Shape :math:`(S+1)`.
        loss: the loss before each step and after the last. Shape :math:`(S+1)`.
        lr: the step size used.
    """

    w: torch.Tensor
    b: torch.Tensor
    loss: torch.Tensor
    lr: float

    @property
    def steps(self) -> int:
        return self.w.shape[0] - 1


def train_neuron(x: torch.Tensor, y: torch.Tensor, loss: str = "logistic", *, steps: int = 200,
                 lr: float = 0.5, w0: torch.Tensor | None = None, b0: float = 0.0) -> Trajectory:
    r"""Full-batch gradient descent on one neuron, :math:`w \leftarrow w - \eta\,\nabla_w L`.

    The gradient is :func:`neuron_gradients` (the formula), with the mean loss
    over the batch. Deterministic: the same data and start give the same path.

    Args:
        x: inputs, one per row.
        y: targets (0/1 labels for ``"logistic"``).
        loss: ``"mse"`` or ``"logistic"``.
        steps: number of updates :math:`S`.
        lr: step size :math:`\eta > 0`.
        w0: the starting weights (default zeros).
        b0: the starting bias.

    Shape:
        - x: :math:`(B, n)`, y: :math:`(B)`; see :class:`Trajectory`

    Examples::

        >>> x = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
        >>> path = train_neuron(x, torch.tensor([1, 0]), steps=3, lr=1.0)
        >>> path.w.shape, bool(path.loss[-1] < path.loss[0])
        (torch.Size([4, 2]), True)
    """
    x = _validate.matrix(x, "x")
    steps = _validate.integer(steps, "steps", at_least=0, at_most=MAX_STEPS)
    lr = _validate.in_range(lr, "lr", 0.0, 1e6)
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if w0 is None:
        w = torch.zeros(x.shape[1], dtype=x.dtype, device=x.device)
    else:
        w = _validate.last_dim(w0, "w0", x.shape[1], x, "x").detach().clone()
    b = torch.tensor(_validate.real(b0, "b0"), dtype=x.dtype, device=x.device)
    y = _targets(y, x[:, 0], _validate.choice(loss, "loss", LOSSES))
    ws = torch.empty(steps + 1, x.shape[1], dtype=x.dtype, device=x.device)  # (S+1, n)
    bs = torch.empty(steps + 1, dtype=x.dtype, device=x.device)  # (S+1,)
    ws[0], bs[0] = w, b
    scale = lr / x.shape[0]  # the mean loss: every δ_i carries 1/B
    for t in range(steps):  # the loop body is error_signal and neuron_gradients, inlined
        z = x @ w + b  # (B,)
        delta = 2.0 * (z - y) if loss == "mse" else torch.sigmoid(z) - y  # (B,) B·δ_i
        w = w - scale * (delta @ x)  # w − η Σ_i δ_i x_i
        b = b - scale * delta.sum()
        ws[t + 1], bs[t + 1] = w, b
    z_all = ws @ x.mT + bs[:, None]  # (S+1, B): every step's pre-activations at once
    if loss == "mse":
        losses = ((z_all - y) ** 2).mean(dim=1)
    else:
        losses = (F.softplus(z_all) - y * z_all).mean(dim=1)
    return Trajectory(ws, bs, losses, lr)


def cosine_path(vectors: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    r""":math:`\cos(w_t, d)` for each row :math:`w_t`; 0 where :math:`w_t = 0`.

    Shape:
        - vectors: :math:`(S, n)`, direction: :math:`(n)`; output: :math:`(S)`

    Examples::

        >>> cosine_path(torch.tensor([[0.0, 0.0], [1.0, 1.0]]), torch.tensor([1.0, 0.0]))
        tensor([0.0000, 0.7071])
    """
    vectors = _validate.matrix(vectors, "vectors")
    direction = _validate.last_dim(direction, "direction", vectors.shape[1], vectors, "vectors")
    norms = torch.linalg.vector_norm(vectors, dim=1) * torch.linalg.vector_norm(direction)  # (S,)
    dots = vectors @ direction  # (S,)
    return torch.where(norms > 0, dots / torch.where(norms > 0, norms, 1.0), 0.0)


# ------------------------------------------------------- the chapter's experiments
@dataclass(frozen=True)
class MarginRun:
    """A logistic neuron trained from zero on two classes, and the two directions
    it is compared with (Chapter 8's 2-D experiment)."""

    x: torch.Tensor  #: (B, n) inputs
    y: torch.Tensor  #: (B,) labels 0/1
    path: Trajectory  #: the neuron's weights and bias after each step
    mean_gap: torch.Tensor  #: (n,) μ₁ − μ₀
    max_margin: torch.Tensor  #: (n+1,) unit (w, b) of the max-margin separator
    margin: float  #: its geometric margin in the augmented space
    cos_mean: torch.Tensor  #: (S+1,) cos(w_t, μ₁ − μ₀)
    cos_margin: torch.Tensor  #: (S+1,) cos((w_t, b_t), v_max-margin)


def margin_run(x: torch.Tensor, y: torch.Tensor, *, steps: int = 5000,
               lr: float = 0.5) -> MarginRun:
    r"""Train a logistic neuron from :math:`w = 0, b = 0` (:func:`train_neuron`)
    and follow the cosine of :math:`w_t` with :math:`\mu_1 - \mu_0`
    (:func:`class_direction`) and of :math:`(w_t, b_t)` with the max-margin
    direction (:func:`max_margin_direction`).

    Examples::

        >>> x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]], dtype=torch.float64)
        >>> run = margin_run(x, torch.tensor([0, 0, 1, 1]), steps=20)
        >>> round(run.cos_mean[1].item(), 6), run.path.steps
        (1.0, 20)
    """
    path = train_neuron(x, y, "logistic", steps=steps, lr=lr)
    gap = class_direction(x, y)
    v, margin = max_margin_direction(x, y)
    augmented = torch.cat([path.w, path.b[:, None]], dim=1)  # (S+1, n+1)
    return MarginRun(x, y, path, gap, v, margin, cosine_path(path.w, gap),
                     cosine_path(augmented, v))


def decorrelated_inputs(count: int = 64, n: int = 2, *, generator: torch.Generator,
                        dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""``count`` inputs whose ``n`` coordinates have mean 0 and mean square exactly
    1 and are exactly uncorrelated: a seeded normal sample, centred, then
    orthonormalised (QR) and scaled by :math:`\sqrt{\text{count}}`, so that
    :math:`\tfrac1B\sum_i x_i x_i^\top = I`.

    Shape:
        output: ``(count, n)``.

    Examples::

        >>> from dotbook.device import generator
        >>> x = decorrelated_inputs(16, generator=generator(0))
        >>> torch.allclose(x.mT @ x / 16, torch.eye(2, dtype=torch.float64))
        True
    """
    dev, dtype = _device.placement(None, dtype, generator)
    n = _validate.integer(n, "n", at_most=4096)
    count = _validate.integer(count, "count", at_least=n + 1, at_most=1_000_000,
                              why="the inputs need more rows than coordinates")
    raw = torch.randn(count, n, generator=generator, device=dev, dtype=dtype)  # (count, n)
    q, _ = torch.linalg.qr(raw - raw.mean(dim=0))  # (count, n) orthonormal columns, mean 0
    return q * math.sqrt(count)


def alignment_path(inputs: torch.Tensor, spread: float, *, steps: int = 40, lr: float = 0.1,
                   w_star: tuple[float, float] = (1.0, 1.0),
                   w_start: tuple[float, float] = (-1.0, -1.0)
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Gradient descent on the MSE of a linear neuron whose inputs have spread
    ``spread`` along :math:`e_2`.

    Inputs :math:`x_i = (a_i, s\,c_i)`, with :math:`(a_i, c_i)` the rows of
    ``inputs`` (:func:`decorrelated_inputs`: :math:`\overline{a} = \overline{c} = 0`,
    :math:`\overline{a^2} = \overline{c^2} = 1`, :math:`\overline{ac} = 0`);
    targets :math:`y_i = w^*\cdot x_i`; start :math:`w_0`. The weight error
    :math:`e_t = w_t - w^*` then obeys :math:`e_{t+1} = (I - 2\eta\Sigma)\,e_t`
    with :math:`\Sigma = \operatorname{diag}(1, s^2)`, and the bias, whose
    gradient is the mean error, stays 0.

    Returns:
        the inputs :math:`(B, 2)` and the weights :math:`(S+1, 2)`.

    Examples::

        >>> from dotbook.device import generator
        >>> x, ws = alignment_path(decorrelated_inputs(16, generator=generator(0)), 0.0, steps=5)
        >>> ws[:, 1].tolist()  # no input along e₂: w₂ never moves
        [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0]
    """
    inputs = _validate.matrix(inputs, "inputs")
    if inputs.shape[1] != 2:
        raise ValueError(f"inputs must have 2 columns, got shape {tuple(inputs.shape)}; "
                         f"use decorrelated_inputs(count, 2, generator=...)")
    spread = _validate.in_range(spread, "spread", 0.0, 100.0)
    scale = torch.tensor([1.0, spread], dtype=inputs.dtype, device=inputs.device)
    x = inputs * scale  # (B, 2)
    w_star_t = torch.tensor([_validate.real(v, "w_star") for v in w_star], dtype=x.dtype,
                            device=x.device)
    w0 = torch.tensor([_validate.real(v, "w_start") for v in w_start], dtype=x.dtype,
                      device=x.device)
    path = train_neuron(x, x @ w_star_t, "mse", steps=steps, lr=lr, w0=w0)
    return x, path.w


def off_span_drift(x: torch.Tensor, y: torch.Tensor, w0: torch.Tensor, optimizer: str, *,
                   steps: int = 200, lr: float = 0.05, batch: int | None = None,
                   generator: torch.Generator | None = None) -> float:
    r"""How far a linear neuron :math:`z = w\cdot x + b` trained on the squared error
    moves *outside the span of its inputs*: :math:`\lVert P_\perp (w_T - w_0)\rVert`,
    with :math:`P_\perp` the projection onto the directions orthogonal to every input.

    Every gradient :math:`\sum_i \delta_i x_i` lies in the span, so plain SGD
    (``"sgd"``, full batch or mini-batches of ``batch``) and SGD with momentum 0.9
    (``"momentum"``, whose velocity is a sum of gradients) keep :math:`w_T - w_0`
    in it: the drift is 0 up to rounding. ``"adam"`` divides each coordinate by
    its own running RMS, and ``"weight_decay"`` (SGD with decay 0.1) shrinks all
    of :math:`w` towards 0, the part of :math:`w_0` no input reaches included:
    both leave the span.

    Args:
        x: inputs ``(B, n)``; y: targets ``(B,)``; w0: the start ``(n,)``.
        optimizer: one of :data:`OPTIMIZERS`.
        steps, lr: the loop's length and step size.
        batch: mini-batch size (``None``: the whole batch); batches are drawn
            from ``generator``.

    Examples::

        >>> x = torch.tensor([[1.0, 1.0, 1.0], [1.0, 2.0, 0.0]], dtype=torch.float64)
        >>> y, w0 = torch.tensor([1.0, -1.0]).double(), torch.tensor([1.0, 0.0, 0.0]).double()
        >>> [off_span_drift(x, y, w0, opt) > 1e-3 for opt in OPTIMIZERS]
        [False, False, True, True]
    """
    x = _validate.matrix(x, "x")
    y = _validate.vector(y, "y")
    _validate.same_kind(x, y, "x, y")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"y has {y.shape[0]} targets but x has {x.shape[0]} rows")
    w0 = _validate.last_dim(w0, "w0", x.shape[1], x, "x")
    if w0.ndim != 1:
        raise ValueError(f"w0 must be a vector of shape ({x.shape[1]},), got {tuple(w0.shape)}")
    _validate.choice(optimizer, "optimizer", OPTIMIZERS)
    steps = _validate.integer(steps, "steps", at_most=MAX_STEPS)
    lr = _validate.in_range(lr, "lr", 0.0, 1e3)
    if batch is not None:
        batch = _validate.integer(batch, "batch", at_most=x.shape[0])
        if generator is None:
            raise ValueError("mini-batches need a generator; pass generator=book.generator(k)")
    w = w0.detach().clone().requires_grad_(True)
    b = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    opt = {"sgd": lambda: torch.optim.SGD([w, b], lr=lr),
           "momentum": lambda: torch.optim.SGD([w, b], lr=lr, momentum=0.9),
           "adam": lambda: torch.optim.Adam([w, b], lr=lr),
           "weight_decay": lambda: torch.optim.SGD([w, b], lr=lr, weight_decay=0.1)}[optimizer]()
    for _ in range(steps):
        rows = (slice(None) if batch is None else
                torch.randperm(x.shape[0], generator=generator, device=generator.device)[:batch]
                .to(x.device))
        opt.zero_grad()
        F.mse_loss(x[rows] @ w + b, y[rows]).backward()
        opt.step()
    moved = (w.detach() - w0).to(torch.float64)  # (n,)
    basis = torch.linalg.svd(x.to(torch.float64), full_matrices=False)
    rank = int((basis.S > basis.S[0] * 1e-12).sum())
    rows_space = basis.Vh[:rank]  # (r, n) orthonormal basis of the inputs' span
    outside = moved - rows_space.mT @ (rows_space @ moved)  # (n,)
    return float(torch.linalg.vector_norm(outside))


def max_margin_direction(x: torch.Tensor, y: torch.Tensor, *, bias: bool = True,
                         steps: int = 20_000, tol: float = 1e-10) -> tuple[torch.Tensor, float]:
    r"""The hard-margin (maximum-margin) separator of two linearly separable classes.

    With signs :math:`s_i = 2y_i - 1` and inputs :math:`a_i = (x_i, 1)` when
    ``bias`` (else :math:`a_i = x_i`), it solves
    :math:`\min \tfrac12\lVert v\rVert^2` subject to :math:`s_i\, v\cdot a_i \ge 1`
    through its dual, :math:`\max_{\alpha\ge 0} \sum_i\alpha_i - \tfrac12\lVert\sum_i
    \alpha_i s_i a_i\rVert^2`, by accelerated projected gradient ascent. This
    is the direction that gradient descent on the logistic loss approaches
    (slowly, like :math:`1/\log t`) on separable data, for a step size below
    :math:`2/\lambda` with :math:`\lambda` the loss's curvature bound (Soudry et al.,
    2018, state it for :math:`z = w\cdot x`; with ``bias`` it applies to the
    augmented vector :math:`(w, b)`). Because :math:`b` is then inside
    :math:`\lVert v\rVert`, this is in general not the textbook SVM, which leaves
    the bias out of the norm.

    Args:
        x: inputs, one per row; y: 0/1 labels.
        bias: augment with a constant 1, so that the bias is part of :math:`v`.
        steps: at most this many ascent steps (at most :data:`MAX_STEPS`).
        tol: stop when the dual iterate moves less than this (relative).

    Raises:
        ValueError: when the classes are not linearly separable (XOR, or one
            point carrying both labels): the margin problem has no solution, and
            the dual grows without bound; never a NaN direction.

    Returns:
        ``(v, margin)``: the unit vector :math:`v/\lVert v\rVert` (length
        :math:`n+1` with ``bias``, its last entry the bias) and the geometric
        margin :math:`\min_i s_i\,\hat v\cdot a_i`, positive when the data are separable.

    Examples::

        >>> x = torch.tensor([[2.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
        >>> v, margin = max_margin_direction(x, torch.tensor([1, 0]), bias=False)
        >>> [round(t, 4) for t in v.tolist()], round(margin, 4)
        ([0.7071, -0.7071], 1.4142)
    """
    x = _validate.matrix(x, "x")
    y = _labels(y, x)
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x holds inf or NaN; pass finite inputs")
    steps = _validate.integer(steps, "steps", at_least=1, at_most=MAX_STEPS)
    tol = _validate.in_range(tol, "tol", 0.0, 1.0)
    s = (2 * y - 1).to(x.dtype)  # (B,) ±1
    a = torch.cat([x, torch.ones_like(x[:, :1])], dim=1) if bias else x  # (B, n+1) or (B, n)
    sa = s[:, None] * a  # (B, d): rows s_i a_i
    gram = sa @ sa.mT  # (B, B)
    top = float(torch.linalg.eigvalsh(gram)[-1])
    if not top > 0:
        raise ValueError("every input is zero (and bias=False): no direction separates the "
                         "classes; pass inputs that differ, or bias=True")
    step = 1.0 / top
    alpha = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)  # (B,) dual variables
    point, momentum = alpha, 1.0
    for k in range(steps):
        new = (point + step * (1.0 - gram @ point)).clamp_min(0.0)  # ascent on 1 − Kα, then α ≥ 0
        nxt = (1.0 + math.sqrt(1.0 + 4.0 * momentum**2)) / 2.0
        moved = new - alpha
        point = new + ((momentum - 1.0) / nxt) * moved  # Nesterov's extrapolation
        momentum = nxt
        if k % 50 == 49:
            if float(torch.linalg.vector_norm(moved)) <= tol * float(
                    torch.linalg.vector_norm(new)):
                alpha = new
                break
            if float((point - new) @ (1.0 - gram @ new)) < 0:  # adaptive restart
                point, momentum = new, 1.0
        alpha = new
    raw = alpha @ sa  # (d,)
    size = float(torch.linalg.vector_norm(raw))
    if not (math.isfinite(size) and size > 0) or float((sa @ raw).min()) <= 1e-9 * size * float(
            torch.linalg.vector_norm(a, dim=1).max()):
        raise ValueError("the two classes are not linearly separable (with bias=" + str(bias)
                         + "): no direction gives every point a positive margin, so there is "
                         "no max-margin direction (XOR, or identical points with different "
                         "labels, are examples); check with a linear program or drop the "
                         "overlapping points")
    prev = alpha
    v = prev @ sa  # (d,) = Σ α_i s_i a_i
    v = v / torch.linalg.vector_norm(v)
    margin = float((sa @ v).min())
    return v, margin


# --------------------------------------------------------------- one small-model trainer
#: The losses :func:`fit` knows: those of :data:`LOSSES`, with the same conventions, plus
#: the softmax cross-entropy of a classifier with one output per class.
FIT_LOSSES: tuple[str, ...] = (*LOSSES, "cross_entropy")
#: The optimisers :func:`fit` knows.
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
#: The most steps and the largest minibatch :func:`fit` accepts (no chapter needs more).
MAX_STEPS, MAX_BATCH = 1_000_000, 1_000_000


def _fit_targets(model: torch.nn.Module, x: torch.Tensor, y: object,
                 loss: str) -> torch.Tensor:
    """Check ``y`` against ``x`` and the model's output; return what the loss compares with."""
    try:
        with torch.no_grad():
            out = model(x[:1])  # one row tells the output's shape
    except RuntimeError as err:
        raise ValueError(f"the model cannot take x of shape {tuple(x.shape)} ({err}); pass x "
                         f"with the model's input width") from err
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        raise ValueError(f"fit needs a model that maps x of shape (N, n) to outputs of shape "
                         f"(N, k); it returned {getattr(out, 'shape', type(out).__name__)}")
    k = out.shape[1]
    if loss == "mse":
        y = _validate.tensor(y, "y")
        if y.shape != (x.shape[0], k):
            raise ValueError(f"for loss='mse' y must have shape ({x.shape[0]}, {k}), one target "
                             f"per row of x and output of the model, got {tuple(y.shape)}")
        _validate.same_kind(x, y, "x, y")
        return y
    y = _validate.labels(y, x)
    classes = 2 if loss == "logistic" else k
    if loss == "logistic" and k != 1:
        raise ValueError(f"loss='logistic' needs a model with one output (the logit of class 1), "
                         f"got {k}; use loss='cross_entropy' for {k} classes")
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= classes:
        bad = high if high >= classes else low
        raise ValueError(f"y holds the label {bad}, but {loss} with this model knows the classes "
                         f"0 … {classes - 1}; give the model one output per class "
                         f"(n_out={high + 1}) or relabel y")
    return y


def fit(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: str,
        optimizer: str = "sgd", lr: float, steps: int, batch: int | None = None,
        generator: torch.Generator | None = None, momentum: float = 0.0,
        weight_decay: float = 0.0, clip: float | None = None) -> list[float]:
    r"""Train ``model`` in place by minimising a loss over ``x, y``; return the loss history.

    Each step computes :math:`L = \tfrac1B\sum_{i\in\text{batch}} \ell(f(x_i), y_i)` on a
    minibatch of ``batch`` rows drawn with replacement from ``generator`` (or on all rows when
    ``batch`` is ``None``), back-propagates, optionally rescales the gradient to norm at
    most ``clip``, and takes one ``torch.optim`` step (SGD with ``momentum`` or Adam, each with
    ``weight_decay``). Two models trained with equal generators see the same batches.

    The losses (:data:`FIT_LOSSES`) are PyTorch's, mean over the batch: ``"mse"``
    (targets of the model's output shape), ``"logistic"`` (one output, int64 labels 0/1),
    ``"cross_entropy"`` (one output per class, int64 labels :math:`0 \dots k-1`).

    Args:
        model: a module mapping :math:`(N, n)` to :math:`(N, k)`, with ``x``'s dtype and device.
        x: inputs, one per row.
        y: targets (``"mse"``) or labels.
        loss: one of :data:`FIT_LOSSES`.
        optimizer: ``"sgd"`` or ``"adam"``.
        lr: the step size, finite and positive.
        steps: optimiser steps (1 … :data:`MAX_STEPS`).
        batch: rows per step, or ``None`` for the full batch.
        generator: draws the minibatches (needed when ``batch`` is given), on ``x``'s device.
        momentum: SGD's momentum in :math:`[0, 1)` (Adam takes none).
        weight_decay: an L2 penalty coefficient :math:`\ge 0`.
        clip: the largest gradient norm, or ``None``.

    Shape:
        - x: :math:`(N, n)`; y: :math:`(N, k)` (mse) or :math:`(N)` (labels)
        - output: ``steps`` floats

    Examples::

        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(64, 3, generator=g); y = (x[:, 0] > 0).long()
        >>> model = torch.nn.Linear(3, 2)
        >>> history = fit(model, x, y, loss="cross_entropy", lr=0.5, steps=50, batch=16,
        ...               generator=g)
        >>> len(history), history[-1] < history[0]
        (50, True)
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters; fit needs something to train")
    x = _validate.matrix(x, "x")
    if x.dtype != params[0].dtype or x.device != params[0].device:
        raise TypeError(f"x is {x.dtype} on {x.device} but the model's parameters are "
                        f"{params[0].dtype} on {params[0].device}; pass x.to(dtype=..., "
                        f"device=...) or build the model with x's dtype and device")
    _validate.choice(loss, "loss", FIT_LOSSES)
    _validate.choice(optimizer, "optimizer", OPTIMIZERS)
    lr = _validate.in_range(lr, "lr", 0.0, 1e3)
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    steps = _validate.integer(steps, "steps", at_least=1, at_most=MAX_STEPS)
    if batch is not None:
        batch = _validate.integer(batch, "batch", at_least=1, at_most=MAX_BATCH)
        if generator is None:
            raise TypeError("fit draws minibatches, so it needs generator=; pass "
                            "book.generator(k) in a chapter, or batch=None for full batches")
    if generator is not None:
        from dotbook.device import placement

        placement(x.device, x.dtype, generator)  # a generator on x's device, or a clear error
    momentum = _validate.in_range(momentum, "momentum", 0.0, 1.0)
    if momentum == 1.0 or (momentum > 0 and optimizer == "adam"):
        raise ValueError(f"momentum must lie in [0, 1) and goes with optimizer='sgd', got "
                         f"momentum={momentum} with optimizer={optimizer!r}")
    weight_decay = _validate.in_range(weight_decay, "weight_decay", 0.0, 1e3)
    if clip is not None:
        clip = _validate.in_range(clip, "clip", 0.0, 1e12)
        if clip <= 0:
            raise ValueError(f"clip must be positive (a largest gradient norm) or None, got {clip}")
    target = _fit_targets(model, x, y, loss)
    if loss == "logistic":
        target = target.to(x.dtype)[:, None]  # (N, 1), like the model's output
    criterion = {"mse": F.mse_loss, "logistic": F.binary_cross_entropy_with_logits,
                 "cross_entropy": F.cross_entropy}[loss]
    step_rule = (torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
                 if optimizer == "sgd" else
                 torch.optim.Adam(params, lr=lr, weight_decay=weight_decay))
    history = torch.empty(steps, device=x.device, dtype=x.dtype)  # (steps,)
    with torch.enable_grad():
        for t in range(steps):
            if batch is None:
                xb, yb = x, target
            else:
                pick = torch.randint(0, x.shape[0], (batch,), generator=generator,
                                     device=x.device)  # (batch,)
                xb, yb = x[pick], target[pick]
            step_rule.zero_grad()
            value = criterion(model(xb), yb)
            value.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(params, clip)
            step_rule.step()
            history[t] = value.detach()
    return history.cpu().tolist()  # one transfer
