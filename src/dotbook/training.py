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
:func:`fit` is the one small-model trainer the later chapters share. Where
training takes the weights (toward class directions, the max-margin direction,
never off the span of the inputs) is :mod:`dotbook.alignment`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dotbook import _validate

__all__ = [
    "LOSSES",
    "REDUCTIONS",
    "Trajectory",
    "class_direction",
    "cosine_path",
    "error_signal",
    "layer_gradients",
    "layer_gradients_loop",
    "loss_value",
    "neuron_gradients",
    "train_neuron",
    "FIT_LOSSES",
    "OPTIMIZERS",
    "fit",
]

#: The losses :func:`neuron_gradients` knows.
LOSSES: tuple[str, ...] = ("mse", "logistic")
#: How per-example losses are combined over a batch.
REDUCTIONS: tuple[str, ...] = ("mean", "sum")
#: How :func:`neuron_gradients` can compute the gradient.
GRADIENT_METHODS: tuple[str, ...] = ("formula", "autograd")
#: The most steps a training loop here runs (a chapter needs a few thousand).
MAX_STEPS = 1_000_000


def _targets(y: object, z: torch.Tensor, loss: str) -> torch.Tensor:
    """``y`` as floats shaped like ``z``; logistic labels must be 0 or 1."""
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a torch.Tensor of targets, got {type(y).__name__}")
    if y.is_complex():
        raise TypeError(f"y has dtype {y.dtype}; pass real targets (float, or int64 labels)")
    if y.shape != z.shape:
        raise ValueError(f"shape mismatch: the pre-activations z (one per row of x) have shape "
                         f"{tuple(z.shape)} but "
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
    _validate.finite(delta, "delta"), _validate.finite(x, "x")
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
    y = _validate.binary_labels(y, x)
    return x[y == 1].mean(dim=0) - x[y == 0].mean(dim=0)


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
    x = _validate.finite(_validate.matrix(x, "x"), "x")
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
    _validate.finite(vectors, "vectors"), _validate.finite(direction, "direction")
    norms = torch.linalg.vector_norm(vectors, dim=1) * torch.linalg.vector_norm(direction)  # (S,)
    dots = vectors @ direction  # (S,)
    return torch.where(norms > 0, dots / torch.where(norms > 0, norms, 1.0), 0.0)


# --------------------------------------------------------------- one small-model trainer
#: The losses :func:`fit` knows: those of :data:`LOSSES`, with the same conventions, plus
#: the softmax cross-entropy of a classifier with one output per class.
FIT_LOSSES: tuple[str, ...] = (*LOSSES, "cross_entropy")
#: The optimisers :func:`fit` knows.
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
#: The most steps and the largest minibatch :func:`fit` accepts (no chapter needs more).
MAX_STEPS, MAX_BATCH = 1_000_000, 1_000_000


def _fit_targets(model: torch.nn.Module, x: torch.Tensor, y: object,
                 loss: str, name: str = "y") -> torch.Tensor:
    """Check ``y`` (called ``name``) against ``x`` and the model's output; return what the
    loss compares with."""
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
    y = _validate.labels(y, x, name)
    classes = 2 if loss == "logistic" else k
    if loss == "logistic" and k != 1:
        raise ValueError(f"loss='logistic' needs a model with one output (the logit of class 1), "
                         f"got {k}; use loss='cross_entropy' for {k} classes")
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= classes:
        bad = high if high >= classes else low
        raise ValueError(f"{name} holds the label {bad}, but {loss} with this model knows the "
                         f"classes 0 … {classes - 1}; give the model one output per class "
                         f"(n_out={high + 1}) or relabel {name}")
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
    ``weight_decay`` on the weight matrices; biases are not decayed). Two models trained
    with equal generators see the same batches.

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
        weight_decay: an L2 penalty coefficient :math:`\ge 0` on parameters with two or more
            dimensions (weight matrices); biases are left alone.
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
    x = _validate.finite(_validate.matrix(x, "x"), "x")
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
    # the penalty falls on weight matrices only; biases (1-D parameters) are not shrunk
    groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    groups = [group for group in groups if group["params"]]
    step_rule = (torch.optim.SGD(groups, lr=lr, momentum=momentum) if optimizer == "sgd"
                 else torch.optim.Adam(groups, lr=lr))
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
