r"""Where gradient descent takes the weights of one neuron (Chapter 8).

Every gradient step on :math:`z = w\cdot x + b` adds a multiple of an input to
:math:`w` (:mod:`dotbook.training`), so

- the weights stay in *start + span of the inputs* under gradient descent, with
  or without momentum and on mini-batches (:func:`off_span_drift`; Adam and
  weight decay leave the span);
- on separable data the logistic loss turns them toward the max-margin direction
  (:func:`max_margin_direction`; Soudry et al., 2018), slowly, at a rate of about
  :math:`1/\log t` (:func:`margin_run`);
- a layer's rows turn toward directions that separate their inputs
  (:func:`alignment_path`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dotbook import _validate
from dotbook import device as _device
from dotbook.training import (
    MAX_STEPS,
    Trajectory,
    class_direction,
    cosine_path,
    train_neuron,
)

__all__ = ["DRIFT_OPTIMIZERS", "MarginRun", "alignment_path", "decorrelated_inputs",
           "margin_run", "max_margin_direction", "off_span_drift"]

#: The optimisers :func:`off_span_drift` compares.
DRIFT_OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "adam", "weight_decay")


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
    _validate.generator(generator)
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
    inputs = _validate.finite(_validate.matrix(inputs, "inputs"), "inputs")
    if inputs.shape[1] != 2:
        raise ValueError(f"inputs must have 2 columns, got shape {tuple(inputs.shape)}; "
                         f"use decorrelated_inputs(count, 2, generator=...)")
    spread = _validate.in_range(spread, "spread", 0.0, 100.0)
    scale = torch.tensor([1.0, spread], dtype=inputs.dtype, device=inputs.device)
    x = inputs * scale  # (B, 2)
    for pair, name in ((w_star, "w_star"), (w_start, "w_start")):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"{name} must be a pair of numbers (w1, w2), got {pair!r}")
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
        optimizer: one of :data:`DRIFT_OPTIMIZERS`.
        steps, lr: the loop's length and step size.
        batch: mini-batch size (``None``: the whole batch); batches are drawn
            from ``generator``.

    Examples::

        >>> x = torch.tensor([[1.0, 1.0, 1.0], [1.0, 2.0, 0.0]], dtype=torch.float64)
        >>> y, w0 = torch.tensor([1.0, -1.0]).double(), torch.tensor([1.0, 0.0, 0.0]).double()
        >>> [off_span_drift(x, y, w0, opt) > 1e-3 for opt in DRIFT_OPTIMIZERS]
        [False, False, True, True]
    """
    x = _validate.finite(_validate.matrix(x, "x"), "x")
    y = _validate.finite(_validate.vector(y, "y"), "y")
    _validate.same_kind(x, y, "x, y")
    _validate.generator(generator, optional=True)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"y has {y.shape[0]} targets but x has {x.shape[0]} rows")
    w0 = _validate.finite(_validate.last_dim(w0, "w0", x.shape[1], x, "x"), "w0")
    if w0.ndim != 1:
        raise ValueError(f"w0 must be a vector of shape ({x.shape[1]},), got {tuple(w0.shape)}")
    _validate.choice(optimizer, "optimizer", DRIFT_OPTIMIZERS)
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
    y = _validate.binary_labels(y, x)
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x holds inf or NaN; pass finite inputs")
    steps = _validate.integer(steps, "steps", at_least=1, at_most=MAX_STEPS)
    bias = _validate.flag(bias, "bias")
    tol = _validate.in_range(tol, "tol", 0.0, 1.0)
    if tol <= 0:
        raise ValueError(f"tol must be > 0 (a relative step size at which to stop), got {tol}")
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
        raise ValueError("the two classes of x (labelled by y) are not linearly separable "
                         "(with bias=" + str(bias) + "): no direction gives every point a "
                         "positive margin, so there is "
                         "no max-margin direction (XOR, or identical points with different "
                         "labels, are examples); check with a linear program or drop the "
                         "overlapping points")
    prev = alpha
    v = prev @ sa  # (d,) = Σ α_i s_i a_i
    v = v / torch.linalg.vector_norm(v)
    margin = float((sa @ v).min())
    return v, margin
