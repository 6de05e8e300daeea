r"""What one dot product cannot do, and what depth and width buy.

**XOR.** A neuron :math:`z = w\cdot x + b` with the rule "class 1 when
:math:`z > 0`" splits the plane along the line :math:`w\cdot x + b = 0`. XOR
puts :math:`(0,1)` and :math:`(1,0)` in class 1 and :math:`(0,0)`,
:math:`(1,1)` in class 0. Write :math:`s_i = \pm1` for the labels; a
separating neuron would need :math:`s_i(w\cdot x_i + b) > 0` for all four
points. Add the four inequalities: the left sides sum to

.. math::  w\cdot\Big(\sum_i s_i x_i\Big) + b\sum_i s_i = w\cdot 0 + b\cdot 0 = 0,

because :math:`(0,1) + (1,0) - (0,0) - (1,1) = 0` and there are two labels of
each sign; four positive numbers cannot add up to 0. Equal weights on the four
inequalities make the left side vanish; normalised to sum to 1 they are
:math:`\lambda = (\tfrac14, \tfrac14, \tfrac14, \tfrac14)`, a *Farkas
certificate*. :func:`separability` asks for margin 1 instead,
:math:`s_i(w\cdot x_i + b) \ge 1` (a strict separation of finitely many points
can always be rescaled to that), where the same :math:`\lambda` sums the system
to :math:`0 \ge 1`; it finds a separating :math:`(w, b)` by linear programming
when one exists, and such a certificate when none does.
:func:`neuron_accuracy` grades every neuron on a grid of directions and biases.

**A hidden layer.** :func:`train_mlp` trains a small multilayer perceptron,
built from :func:`dotbook.layers.stack` (dot products, then a nonlinearity
between layers), full-batch with Adam; :func:`decision_grid` evaluates it on a
grid of the plane.

**Depth against width.** :func:`parameter_count` counts weights and biases of
an MLP with layer widths :math:`n_0, n_1, \dots, n_L`,

.. math::  P = \sum_{\ell=1}^{L} (n_{\ell-1} + 1)\, n_\ell ,

:func:`width_for_budget` picks the hidden width that fits a budget, and
:func:`depth_vs_width` trains a shallow-wide and a deep-narrow network of
(nearly) equal :math:`P` on :func:`target_function` over several seeds and
reports their measured losses.

Every function takes tensors on any device and returns on the same device.
Chapter 11 uses this module.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dotbook import _validate, layers
from dotbook import device as _device
from dotbook.linearity import ACTIVATIONS

__all__ = [
    "MLP",
    "Separability",
    "DepthWidth",
    "decision_grid",
    "one_thread",
    "depth_vs_width",
    "neuron_accuracy",
    "neuron_accuracy_loop",
    "parameter_count",
    "separability",
    "target_function",
    "train_mlp",
    "width_for_budget",
    "xor_data",
]


# ------------------------------------------------------------------------ XOR
def xor_data(*, device: torch.device | str | None = None,
             dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The four XOR points :math:`(0,0), (0,1), (1,0), (1,1)` and their labels
    :math:`x_1 \oplus x_2 = 0, 1, 1, 0`.

    Shape:
        - outputs: :math:`(4, 2)` points and :math:`(4)` int64 labels

    Examples::

        >>> x, y = xor_data()
        >>> x.tolist(), y.tolist()
        ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    where, dtype = _device.placement(device, dtype, None)
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], device=where,
                     dtype=dtype)  # (4, 2)
    y = torch.tensor([0, 1, 1, 0], device=where)  # (4,)
    return x, y


def _points_labels(x: object, y: object) -> tuple[torch.Tensor, torch.Tensor]:
    x = _validate.matrix(x, "x")
    y = _validate.labels(y, x)
    if not bool(((y == 0) | (y == 1)).all()):
        raise ValueError(f"labels must be 0 or 1, got {sorted(set(y.tolist()))}")
    return x, y


def neuron_accuracy(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor,
                    y: torch.Tensor) -> torch.Tensor:
    r"""How many points each neuron classifies right: :math:`\#\{i : [w\cdot x_i + b > 0] = y_i\}`.

    Many neurons at once: row :math:`k` of ``w`` with bias ``b[k]``.

    Args:
        w: weight vectors, one per row.
        b: one bias per neuron.
        x: the points, one per row.
        y: int64 labels 0/1.

    Shape:
        - w: :math:`(m, n)`, b: :math:`(m)`, x: :math:`(N, n)`, y: :math:`(N)`
        - output: :math:`(m)` int64 counts in :math:`0 \dots N`

    Examples::

        >>> x, y = xor_data()
        >>> neuron_accuracy(torch.tensor([[1.0, 1.0]], dtype=torch.float64),
        ...                 torch.tensor([-0.5], dtype=torch.float64), x, y)
        tensor([3])
    """
    x, y = _points_labels(x, y)
    w = _validate.last_dim(w, "w", x.shape[1], x, "x")
    if w.ndim != 2:
        raise ValueError(f"w must have shape (m, {x.shape[1]}), got {tuple(w.shape)}")
    b = _validate.tensor(b, "b")
    if b.shape != w.shape[:1]:
        raise ValueError(f"b must have shape ({w.shape[0]},), one bias per row of w, got "
                         f"{tuple(b.shape)}")
    _validate.same_kind(w, b, "w, b")
    z = w @ x.T + b[:, None]  # (m, N)
    return ((z > 0).long() == y).sum(dim=1)  # (m,)


def neuron_accuracy_loop(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor,
                         y: torch.Tensor) -> torch.Tensor:
    """The reference for :func:`neuron_accuracy`: one neuron and one point at a time.

    Examples::

        >>> x, y = xor_data()
        >>> neuron_accuracy_loop(torch.tensor([[1.0, 1.0]], dtype=torch.float64),
        ...                      torch.tensor([-0.5], dtype=torch.float64), x, y)
        tensor([3])
    """
    x, y = _points_labels(x, y)
    counts = []
    for k in range(w.shape[0]):
        right = 0
        for i in range(x.shape[0]):
            z = sum(float(w[k, j]) * float(x[i, j]) for j in range(x.shape[1])) + float(b[k])
            right += int((z > 0) == bool(y[i]))
        counts.append(right)
    return torch.tensor(counts, device=w.device)


@dataclass(frozen=True)
class Separability:
    """The answer of :func:`separability`.

    Attributes:
        separable: whether some :math:`(w, b)` has :math:`s_i(w\\cdot x_i + b) \\ge 1` for all i.
        w, b: such a separating neuron (``None`` when there is none).
        certificate: otherwise, :math:`\\lambda \\ge 0` with :math:`\\sum_i\\lambda_i = 1`,
            :math:`\\sum_i \\lambda_i s_i x_i = 0` and :math:`\\sum_i \\lambda_i s_i = 0`:
            the weights of a sum of the inequalities whose left side is 0 (``None`` when
            separable).
    """

    separable: bool
    w: torch.Tensor | None
    b: float | None
    certificate: torch.Tensor | None


def separability(x: torch.Tensor, y: torch.Tensor) -> Separability:
    r"""Is there one neuron that separates the two classes? Two linear programs decide it.

    Primal: find :math:`(w, b)` with :math:`s_i(w\cdot x_i + b) \ge 1`,
    :math:`s_i = 2y_i - 1` (any strict separation can be scaled to margin 1).
    If that is infeasible, Farkas' lemma promises :math:`\lambda \ge 0`,
    :math:`\sum\lambda_i = 1`, with :math:`\sum_i\lambda_i s_i x_i = 0` and
    :math:`\sum_i\lambda_i s_i = 0`: summing the inequalities with weights
    :math:`\lambda` gives :math:`0 \ge 1`. Both are solved with
    :func:`scipy.optimize.linprog` (HiGHS), on the CPU in float64.

    Args:
        x: points, one per row.
        y: int64 labels 0/1.

    Shape:
        - x: :math:`(N, n)`, y: :math:`(N)`; ``w`` and ``certificate`` come back on
          ``x``'s device, shapes :math:`(n)` and :math:`(N)`

    Examples::

        >>> x, y = xor_data()
        >>> result = separability(x, y)
        >>> result.separable, result.certificate.tolist()
        (False, [0.25, 0.25, 0.25, 0.25])
        >>> separability(x, torch.tensor([0, 1, 1, 1])).separable   # OR is separable
        True
    """
    from scipy.optimize import linprog

    x, y = _points_labels(x, y)
    X = x.detach().cpu().double().numpy()  # (N, n)
    s = 2.0 * y.cpu().double().numpy() - 1.0  # (N,)
    N, n = X.shape
    # variables (w, b), free; constraint -s_i (w·x_i + b) <= -1
    A = -s[:, None] * np.hstack([X, np.ones((N, 1))])  # (N, n + 1)
    primal = linprog(np.zeros(n + 1), A_ub=A, b_ub=-np.ones(N), bounds=[(None, None)] * (n + 1),
                     method="highs")
    if primal.status == 0:
        wb = torch.tensor(primal.x, dtype=x.dtype, device=x.device)  # (n + 1,)
        return Separability(True, wb[:n], float(wb[n]), None)
    # λ >= 0, Σλ = 1, Σ λ_i s_i (x_i, 1) = 0
    A_eq = np.vstack([(s[:, None] * np.hstack([X, np.ones((N, 1))])).T, np.ones((1, N))])
    b_eq = np.concatenate([np.zeros(n + 1), [1.0]])
    dual = linprog(np.zeros(N), A_eq=A_eq, b_eq=b_eq, bounds=[(0, None)] * N, method="highs")
    if dual.status != 0:  # pragma: no cover - Farkas: one of the two is always feasible
        raise RuntimeError(f"neither a separating plane nor a certificate was found: "
                           f"{primal.message} / {dual.message}")
    lam = torch.tensor(dual.x, dtype=x.dtype, device=x.device)  # (N,)
    return Separability(False, None, None, lam)


# ------------------------------------------------------------------ small MLPs
def one_thread(device: torch.device | str) -> contextlib.AbstractContextManager[None]:
    """Run tiny CPU work on one intra-op thread, then restore the thread count.

    A training step of a network with a few dozen weights is almost all
    overhead: handing such small operations to PyTorch's intra-op thread pool
    costs more than the arithmetic it spreads out. :func:`train_mlp` therefore
    trains on the CPU inside this block. ``torch.set_num_threads`` is a
    process-wide setting, so for the duration of the block other Python threads
    using PyTorch also get one thread; the previous count is restored on exit,
    also when the block raises. On other devices it does nothing.

    Args:
        device: where the work runs (a ``torch.device`` or its name).

    Examples::

        >>> before = torch.get_num_threads()
        >>> with one_thread("cpu"):
        ...     torch.get_num_threads()
        1
        >>> torch.get_num_threads() == before
        True
    """
    return _device.cpu_threads(1 if torch.device(device).type == "cpu" else None)


@dataclass(frozen=True)
class MLP:
    r"""A trained multilayer perceptron: :func:`dotbook.layers.stack` with these weights.

    Attributes:
        weights: :math:`[W_1, \dots, W_L]`, :math:`W_\ell` of shape :math:`(n_\ell, n_{\ell-1})`.
        biases: :math:`[b_1, \dots, b_L]`.
        activation: the nonlinearity between layers (a name in ``linearity.ACTIVATIONS``).
        losses: the training loss after each step, shape :math:`(\text{steps})`.
    """

    weights: tuple[torch.Tensor, ...]
    biases: tuple[torch.Tensor, ...]
    activation: str
    losses: torch.Tensor

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        r"""The network's output for inputs ``x``: shape :math:`(*, n_0) \to (*, n_L)`."""
        return layers.stack(x, list(self.weights), list(self.biases), self.activation)

    @property
    def widths(self) -> tuple[int, ...]:
        """:math:`(n_0, n_1, \\dots, n_L)`."""
        return (self.weights[0].shape[1], *(W.shape[0] for W in self.weights))

    @property
    def parameters(self) -> int:
        """The number of weights and biases, :func:`parameter_count` of :attr:`widths`."""
        return sum(W.numel() + b.numel() for W, b in zip(self.weights, self.biases, strict=True))


def parameter_count(widths: Sequence[int]) -> int:
    r""":math:`P = \sum_{\ell=1}^{L} (n_{\ell-1} + 1)\,n_\ell` for layer widths
    :math:`(n_0, \dots, n_L)`: each of the :math:`n_\ell` neurons of layer :math:`\ell`
    holds :math:`n_{\ell-1}` weights and one bias.

    Examples::

        >>> parameter_count([2, 4, 1])   # 4·(2+1) + 1·(4+1)
        17
    """
    ws = [_validate.integer(n, f"widths[{i}]") for i, n in enumerate(widths)]
    if len(ws) < 2:
        raise ValueError(f"widths needs at least an input and an output width, got {list(ws)}")
    return sum((a + 1) * b for a, b in zip(ws[:-1], ws[1:], strict=True))


def width_for_budget(budget: int, hidden_layers: int, n_in: int = 1, n_out: int = 1) -> int:
    r"""The hidden width :math:`k` whose MLP :math:`(n_{in}, k, \dots, k, n_{out})`
    (``hidden_layers`` hidden layers) has a parameter count closest to ``budget``.

    Examples::

        >>> width_for_budget(301, 1), width_for_budget(301, 3)
        (100, 11)
        >>> parameter_count([1, 11, 11, 11, 1])
        298
    """
    budget = _validate.integer(budget, "budget")
    depth = _validate.integer(hidden_layers, "hidden_layers")
    best, gap = 1, math.inf
    for k in range(1, budget + 1):
        p = parameter_count([n_in, *([k] * depth), n_out])
        if abs(p - budget) < gap:
            best, gap = k, abs(p - budget)
        if p > budget:
            break
    return best


def train_mlp(x: torch.Tensor, y: torch.Tensor, hidden: Sequence[int], *,
              activation: str = "relu", loss: str = "mse", steps: int = 500, lr: float = 0.01,
              generator: torch.Generator | None = None) -> MLP:
    r"""Train an MLP :math:`x \mapsto W_L\,\sigma(\cdots\sigma(W_1x + b_1)\cdots) + b_L`
    full-batch with Adam.

    Weights start as PyTorch's ``nn.Linear`` does, uniform in
    :math:`\pm 1/\sqrt{n_{\ell-1}}` (biases too), drawn from ``generator``; so the
    same generator seed gives the same network. The loss is the mean squared
    error (``"mse"``, targets of shape :math:`(N, n_L)`) or the logistic loss
    (``"logistic"``, one output, int64 labels 0/1). On the CPU the steps run on one
    intra-op thread (:func:`one_thread`; the thread count is restored afterwards).

    Args:
        x: inputs, one per row.
        y: targets.
        hidden: the hidden widths :math:`(n_1, \dots, n_{L-1})` (may be empty: one layer).
        activation: the nonlinearity between layers.
        loss: ``"mse"`` or ``"logistic"``.
        steps: Adam steps.
        lr: Adam's step size.
        generator: a seeded ``torch.Generator`` on ``x``'s device.

    Shape:
        - x: :math:`(N, n_0)`; y: :math:`(N, n_L)` floats (mse) or :math:`(N)` int64 (logistic)

    Examples::

        >>> x, y = xor_data()
        >>> net = train_mlp(x, y, [4], activation="tanh", loss="logistic", steps=300, lr=0.05,
        ...                 generator=_device.generator(0))
        >>> (net(x)[:, 0] > 0).long().tolist(), net.widths
        ([0, 1, 1, 0], (2, 4, 1))
    """
    x = _validate.matrix(x, "x")
    _validate.choice(activation, "activation", list(ACTIVATIONS))
    _validate.choice(loss, "loss", ("mse", "logistic"))
    steps = _validate.integer(steps, "steps")
    lr = _validate.in_range(lr, "lr", 0.0, 10.0)
    hidden = [_validate.integer(h, f"hidden[{i}]") for i, h in enumerate(hidden)]
    if loss == "logistic":
        x, y = _points_labels(x, y)
        target = y.to(x.dtype)[:, None]  # (N, 1)
        n_out = 1
    else:
        target = _validate.tensor(y, "y")
        if target.ndim != 2 or target.shape[0] != x.shape[0]:
            raise ValueError(f"for loss='mse' y must have shape ({x.shape[0]}, n_out), got "
                             f"{tuple(target.shape)}")
        _validate.same_kind(x, target, "x, y")
        n_out = target.shape[1]
    where, dtype = _device.placement(x.device, x.dtype, generator)
    widths = [x.shape[1], *hidden, n_out]
    weights, biases = [], []
    for n_prev, n_next in zip(widths[:-1], widths[1:], strict=True):
        bound = 1.0 / math.sqrt(n_prev)
        W = (torch.rand(n_next, n_prev, generator=generator, device=where, dtype=dtype)
             * 2 - 1) * bound  # (n_next, n_prev)
        b = (torch.rand(n_next, generator=generator, device=where, dtype=dtype) * 2 - 1) * bound
        weights.append(W.requires_grad_())
        biases.append(b.requires_grad_())
    criterion: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = (
        F.binary_cross_entropy_with_logits if loss == "logistic" else F.mse_loss)
    optimizer = torch.optim.Adam([*weights, *biases], lr=lr)
    history = torch.empty(steps, device=where, dtype=dtype)  # (steps,)
    with one_thread(where):
        for step in range(steps):
            optimizer.zero_grad()
            value = criterion(layers.stack(x, weights, biases, activation), target)
            value.backward()
            optimizer.step()
            history[step] = value.detach()
    return MLP(tuple(W.detach() for W in weights), tuple(b.detach() for b in biases),
               activation, history)


def decision_grid(net: MLP | Callable[[torch.Tensor], torch.Tensor], lo: float = -0.5,
                  hi: float = 1.5, points: int = 41, *, device: torch.device | str | None = None,
                  dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    r"""A network's output :math:`z(x_1, x_2)` on a ``points`` × ``points`` grid of
    :math:`[lo, hi]^2`, for drawing its decision boundary :math:`z = 0`.

    Shape:
        - outputs: the grid's coordinates :math:`(P)` and the outputs :math:`(P, P)`,
          row :math:`i` at :math:`x_2 = ` coordinate :math:`i`

    Examples::

        >>> ticks, z = decision_grid(lambda x: x.sum(dim=-1, keepdim=True), 0.0, 1.0, 3)
        >>> ticks.tolist(), z[2].tolist()
        ([0.0, 0.5, 1.0], [1.0, 1.5, 2.0])
    """
    where, dtype = _device.placement(device, dtype, None)
    points = _validate.integer(points, "points", at_least=2)
    ticks = torch.linspace(lo, hi, points, device=where, dtype=dtype)  # (P,)
    x2, x1 = torch.meshgrid(ticks, ticks, indexing="ij")  # (P, P) each
    grid = torch.stack([x1.reshape(-1), x2.reshape(-1)], dim=1)  # (P·P, 2)
    with torch.no_grad():
        z = net(grid)[..., 0]  # (P·P,)
    return ticks, z.reshape(points, points)  # (P, P)


# ---------------------------------------------------------- depth against width
def target_function(x: torch.Tensor) -> torch.Tensor:
    r"""The function Chapter 11 fits: :math:`f(x) = \sin(3\pi x)\,e^{-x^2} + |x| - 0.5`
    on :math:`[-1, 1]`, a wiggle on top of a kink.

    Shape:
        - x: :math:`(*)`; output: the same shape

    Examples::

        >>> round(float(target_function(torch.tensor(0.0))), 6)
        -0.5
    """
    x = _validate.tensor(x, "x")
    return torch.sin(3 * math.pi * x) * torch.exp(-x * x) + x.abs() - 0.5


@dataclass(frozen=True)
class DepthWidth:
    """Measured result of :func:`depth_vs_width`.

    Attributes:
        widths: the two architectures' layer widths, shallow first.
        parameters: their parameter counts.
        train_loss, test_loss: final mean squared errors, shape (2, seeds): row 0 the
            shallow net, row 1 the deep one; column j the seed ``seed + j``.
        curves: training losses, shape (2, seeds, steps).
        fits: each net's prediction on ``x_test``, shape (2, seeds, N_test).
        x_test: the test inputs (N_test,).
    """

    widths: tuple[tuple[int, ...], tuple[int, ...]]
    parameters: tuple[int, int]
    train_loss: torch.Tensor
    test_loss: torch.Tensor
    curves: torch.Tensor
    fits: torch.Tensor
    x_test: torch.Tensor


def depth_vs_width(budget: int = 300, deep_layers: int = 3, *, seeds: int = 4,
                   seed: int = 0, steps: int = 600, lr: float = 0.01, points: int = 128,
                   activation: str = "relu", device: torch.device | str | None = None,
                   dtype: torch.dtype = torch.float64) -> DepthWidth:
    r"""Train a one-hidden-layer and a ``deep_layers``-hidden-layer ReLU MLP with
    (nearly) the same parameter count on :func:`target_function`, over several seeds.

    Training inputs are ``points`` evenly spaced in :math:`[-1, 1]`; test inputs
    are the midpoints between them (never seen in training). Each seed draws
    both networks' starting weights from ``device.generator(seed + j, device)``.

    Args:
        budget: the parameter budget :math:`P`.
        deep_layers: hidden layers of the deep net.
        seeds: how many seeds (independent initialisations).
        seed: the first seed.
        steps, lr: full-batch Adam.
        points: training points.
        activation: the nonlinearity.
        device, dtype: where to train.

    Examples::

        >>> r = depth_vs_width(100, 2, seeds=2, steps=20)
        >>> r.parameters, tuple(r.test_loss.shape)
        ((100, 97), (2, 2))
    """
    where, dtype = _device.placement(device, dtype, None)
    seeds = _validate.integer(seeds, "seeds")
    points = _validate.integer(points, "points", at_least=2)
    seed = _validate.integer(seed, "seed", at_least=0)
    x = torch.linspace(-1, 1, points, device=where, dtype=dtype)  # (N,)
    x_test = (x[1:] + x[:-1]) / 2  # (N - 1,)
    y, y_test = target_function(x)[:, None], target_function(x_test)  # (N, 1), (N - 1,)
    archs = [[width_for_budget(budget, 1)],
             [width_for_budget(budget, deep_layers)] * deep_layers]
    train, test, curves, fits = [], [], [], []
    for hidden in archs:
        row_train, row_test, row_curves, row_fits = [], [], [], []
        for j in range(seeds):
            net = train_mlp(x[:, None], y, hidden, activation=activation, loss="mse",
                            steps=steps, lr=lr, generator=_device.generator(seed + j, where))
            with torch.no_grad():
                fit = net(x_test[:, None])[:, 0]  # (N - 1,)
                row_train.append(F.mse_loss(net(x[:, None]), y))
            row_test.append(F.mse_loss(fit, y_test))
            row_curves.append(net.losses)
            row_fits.append(fit)
        train.append(torch.stack(row_train))
        test.append(torch.stack(row_test))
        curves.append(torch.stack(row_curves))
        fits.append(torch.stack(row_fits))
    widths = tuple(tuple([1, *h, 1]) for h in archs)
    return DepthWidth(widths=widths,  # type: ignore[arg-type]
                      parameters=tuple(parameter_count(w) for w in widths),  # type: ignore[arg-type]
                      train_loss=torch.stack(train), test_loss=torch.stack(test),
                      curves=torch.stack(curves), fits=torch.stack(fits), x_test=x_test)
