r"""Chapter 11, "Linearity, depth and width": what one dot product cannot do, and what depth
and width buy.

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

**A hidden layer.** :func:`train_mlp` builds a small multilayer perceptron with the
book's one builder, :func:`dotbook.initialization.mlp` (dot products, then a
nonlinearity between layers), and trains it full-batch with Adam through the one
trainer, :func:`dotbook.training.fit`; :func:`decision_grid` evaluates it on a grid
of the plane.

**Depth against width.** :func:`parameter_count` counts weights and biases of
an MLP with layer widths :math:`n_0, n_1, \dots, n_L`,

.. math::  P = \sum_{\ell=1}^{L} (n_{\ell-1} + 1)\, n_\ell ,

:func:`width_for_budget` solves :math:`P(k) = \text{budget}` for the hidden width
:math:`k` (a quadratic in :math:`k`), and :func:`depth_vs_width` trains a
shallow-wide and a deep-narrow network of (nearly) equal :math:`P` on
:func:`target_function` over several seeded starts and reports their measured
losses; :func:`stalls` counts the runs that stalled.

Every function takes tensors on any device and returns on the same device.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dotbook import _validate, initialization, training
from dotbook import device as _device

__all__ = [
    "Separability",
    "DepthWidth",
    "best_xor_nets",
    "decision_grid",
    "depth_vs_width",
    "neuron_accuracy",
    "neuron_accuracy_loop",
    "parameter_count",
    "separability",
    "stalls",
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


#: The most neurons, points and features the graders take (a chapter uses ~300,000 neurons).
MAX_NEURONS, MAX_POINTS = 10_000_000, 1_000_000


def _neurons(w: object, b: object, x: object,
             y: object) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The checks of :func:`neuron_accuracy`, shared with its loop twin."""
    x, y = _points_labels(x, y)
    _validate.integer(x.shape[0], "the number of points", at_most=MAX_POINTS)
    w = _validate.last_dim(w, "w", x.shape[1], x, "x")
    if w.ndim != 2:
        raise ValueError(f"w must have shape (m, {x.shape[1]}), got {tuple(w.shape)}")
    _validate.integer(w.shape[0], "the number of neurons (rows of w)", at_most=MAX_NEURONS)
    b = _validate.tensor(b, "b")
    if b.shape != w.shape[:1]:
        raise ValueError(f"b must have shape ({w.shape[0]},), one bias per row of w, got "
                         f"{tuple(b.shape)}")
    _validate.same_kind(w, b, "w, b")
    return w, b, x, y


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
    w, b, x, y = _neurons(w, b, x, y)
    z = w @ x.T + b[:, None]  # (m, N)
    return ((z > 0).long() == y).sum(dim=1)  # (m,)


def neuron_accuracy_loop(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor,
                         y: torch.Tensor) -> torch.Tensor:
    """The reference for :func:`neuron_accuracy`: one neuron and one point at a time.

    It refuses exactly what :func:`neuron_accuracy` refuses (the same checks).

    Examples::

        >>> x, y = xor_data()
        >>> neuron_accuracy_loop(torch.tensor([[1.0, 1.0]], dtype=torch.float64),
        ...                      torch.tensor([-0.5], dtype=torch.float64), x, y)
        tensor([3])
    """
    w, b, x, y = _neurons(w, b, x, y)
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
    _validate.finite(x, "x")
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
def parameter_count(widths: Sequence[int]) -> int:
    r""":math:`P = \sum_{\ell=1}^{L} (n_{\ell-1} + 1)\,n_\ell` for layer widths
    :math:`(n_0, \dots, n_L)`: each of the :math:`n_\ell` neurons of layer :math:`\ell`
    holds :math:`n_{\ell-1}` weights and one bias.

    Examples::

        >>> parameter_count([2, 4, 1])   # 4·(2+1) + 1·(4+1)
        17
    """
    ws = _validate.sizes(widths, "widths", at_most=10**18)
    if len(ws) < 2:
        raise ValueError(f"widths needs at least an input and an output width, got {list(ws)}")
    return sum((a + 1) * b for a, b in zip(ws[:-1], ws[1:], strict=True))


def width_for_budget(budget: int, hidden_layers: int, n_in: int = 1, n_out: int = 1) -> int:
    r"""The hidden width :math:`k` whose MLP :math:`(n_{in}, k, \dots, k, n_{out})`
    (``hidden_layers`` = :math:`L` hidden layers) has a parameter count closest to ``budget``
    (the smaller :math:`k` on a tie).

    The count is a polynomial in :math:`k`,

    .. math::  P(k) = (L-1)\,k^2 + (n_{in} + L + n_{out})\,k + n_{out},

    linear for :math:`L = 1`, so :math:`P(k) = \text{budget}` is solved by the quadratic
    formula (in exact integer arithmetic, :func:`math.isqrt`); the two integers around the
    root are compared and the bracket is verified with :func:`parameter_count`.

    Examples::

        >>> width_for_budget(301, 1), width_for_budget(301, 3)
        (100, 11)
        >>> parameter_count([1, 11, 11, 11, 1])
        298
        >>> width_for_budget(10**12, 1)
        333333333333
    """
    budget = _validate.integer(budget, "budget", at_most=10**18)
    depth = _validate.integer(hidden_layers, "hidden_layers", at_most=1000)
    n_in = _validate.integer(n_in, "n_in", at_most=10**6)
    n_out = _validate.integer(n_out, "n_out", at_most=10**6)
    a, b, c = depth - 1, n_in + depth + n_out, n_out - budget

    def count(k: int) -> int:
        return a * k * k + b * k + n_out

    if a == 0:
        root = max((budget - n_out) // b, 1)
    else:  # the largest integer k with a k² + b k + c <= 0, by the quadratic formula
        root = max((math.isqrt(b * b - 4 * a * c) - b) // (2 * a), 1)
    while root > 1 and count(root) > budget:  # guard the floor against rounding of isqrt
        root -= 1
    while count(root + 1) <= budget:
        root += 1
    best = min((root, root + 1), key=lambda k: (abs(count(k) - budget), k))
    if count(best) != parameter_count([n_in, *([best] * depth), n_out]):  # pragma: no cover
        raise AssertionError("the closed form disagrees with parameter_count")
    return best


def train_mlp(x: torch.Tensor, y: torch.Tensor, hidden: Sequence[int], *,
              activation: str = "relu", loss: str = "mse", steps: int = 500, lr: float = 0.01,
              generator: torch.Generator | None = None) -> tuple[nn.Sequential, list[float]]:
    r"""Build an MLP :math:`x \mapsto W_L\,\sigma(\cdots\sigma(W_1x + b_1)\cdots) + b_L` and
    train it full-batch with Adam; return the network and its loss after each step.

    The network is :func:`dotbook.initialization.mlp` with ``nn.Linear``'s default
    start (``scheme="standard"``, ``bias="standard"``: weights and biases uniform in
    :math:`\pm 1/\sqrt{n_{\ell-1}}`), drawn from ``generator``, so the same generator
    seed gives the same network; training is :func:`dotbook.training.fit`. The loss is the
    mean squared error (``"mse"``, targets of shape :math:`(N, n_L)`) or the logistic loss
    (``"logistic"``, one output, int64 labels 0/1). On the CPU the steps run on one
    intra-op thread (``device.cpu_threads``: a step of a few dozen weights is almost all
    overhead, which a thread pool only adds to); the thread count is restored afterwards.

    Args:
        x: inputs, one per row.
        y: targets.
        hidden: the hidden widths, all equal (may be empty: one layer).
        activation: the nonlinearity between layers (``linearity.ACTIVATIONS``).
        loss: ``"mse"`` or ``"logistic"``.
        steps: Adam steps.
        lr: Adam's step size.
        generator: a seeded ``torch.Generator`` on ``x``'s device.

    Shape:
        - x: :math:`(N, n_0)`; y: :math:`(N, n_L)` floats (mse) or :math:`(N)` int64 (logistic)

    Examples::

        >>> x, y = xor_data()
        >>> net, losses = train_mlp(x, y, [4], activation="tanh", loss="logistic", steps=300,
        ...                         lr=0.05, generator=_device.generator(0))
        >>> (net(x)[:, 0] > 0).long().tolist(), len(losses)
        ([0, 1, 1, 0], 300)
    """
    x = _validate.finite(_validate.matrix(x, "x"), "x")
    _validate.choice(loss, "loss", ("mse", "logistic"))
    hidden = _validate.sizes(hidden, "hidden", at_most=initialization.MAX_WIDTH)
    if len(set(hidden)) > 1:
        raise ValueError(f"hidden widths must all be equal (initialization.mlp builds square "
                         f"hidden layers), got {hidden}")
    if loss == "logistic":
        x, y = _points_labels(x, y)
        n_out = 1
    else:
        y = _validate.tensor(y, "y")
        if y.ndim != 2 or y.shape[0] != x.shape[0]:
            raise ValueError(f"for loss='mse' y must have shape ({x.shape[0]}, n_out), got "
                             f"{tuple(y.shape)}")
        n_out = y.shape[1]
    where, dtype = _device.placement(x.device, x.dtype, generator)
    net = initialization.mlp(len(hidden) + 1, hidden[0] if hidden else 1, activation, "standard",
                             n_in=x.shape[1], n_out=n_out, bias="standard", generator=generator,
                             device=where, dtype=dtype)
    with _device.cpu_threads(1 if where.type == "cpu" else None):
        losses = training.fit(net, x, y, loss=loss, optimizer="adam", lr=lr, steps=steps)
    return net, losses


def best_xor_nets(widths: Sequence[int], restarts: int = 3, *, generator: torch.Generator,
                  steps: int = 300, lr: float = 0.05
                  ) -> dict[int, tuple[nn.Sequential, list[float]]]:
    r"""For each hidden width, the tanh XOR network (:func:`train_mlp`, logistic loss) with
    the lowest final loss over ``restarts`` starts; the starts draw in turn from ``generator``.

    Returns ``{width: (net, losses)}``.

    Examples::

        >>> nets = best_xor_nets([2], 2, generator=_device.generator(0))
        >>> net, losses = nets[2]
        >>> len(losses), len(net)
        (300, 3)
    """
    _validate.generator(generator)
    restarts = _validate.integer(restarts, "restarts", at_most=100)
    widths = _validate.sizes(widths, "widths", at_most=1024)
    x, y = xor_data(device=generator.device if isinstance(generator, torch.Generator) else None)
    best = {}
    for width in widths:
        runs = [train_mlp(x, y, [width], activation="tanh", loss="logistic", steps=steps, lr=lr,
                          generator=generator) for _ in range(restarts)]
        best[width] = min(runs, key=lambda run: run[1][-1])
    return best


def decision_grid(net: Callable[[torch.Tensor], torch.Tensor], lo: float = -0.5,
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
    if not callable(net):
        raise TypeError(f"net must be a callable network (an nn.Module or a function of "
                        f"a (N, 2) tensor), got {type(net).__name__}")
    where, dtype = _device.placement(device, dtype, None)
    points = _validate.integer(points, "points", at_least=2, at_most=2001)
    lo, hi = _validate.real(lo, "lo"), _validate.real(hi, "hi")
    if not lo < hi:
        raise ValueError(f"the grid needs lo < hi, got lo={lo}, hi={hi}")
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
    x = _validate.finite(_validate.tensor(x, "x"), "x")
    return torch.sin(3 * math.pi * x) * torch.exp(-x * x) + x.abs() - 0.5


@dataclass(frozen=True)
class DepthWidth:
    """Measured result of :func:`depth_vs_width`.

    Attributes:
        widths: the two architectures' layer widths, shallow first.
        parameters: their parameter counts.
        train_loss, test_loss: final mean squared errors, shape (2, seeds): row 0 the
            shallow net, row 1 the deep one; column j the j-th seeded start (both
            networks of a column start from the same seed).
        curves: training losses, shape (2, seeds, steps).
        fits: each net's prediction on ``x_test``, shape (2, seeds, N_test).
        x_test: the test inputs (N_test,).
        baseline: the error of predicting the mean, :math:`\\operatorname{Var} f` on ``x_test``.
    """

    widths: tuple[tuple[int, ...], tuple[int, ...]]
    parameters: tuple[int, int]
    train_loss: torch.Tensor
    test_loss: torch.Tensor
    curves: torch.Tensor
    fits: torch.Tensor
    x_test: torch.Tensor
    baseline: float


def depth_vs_width(budget: int = 300, deep_layers: int = 3, *, seeds: int = 4,
                   generator: torch.Generator | None = None, steps: int = 600,
                   lr: float = 0.01, points: int = 128, activation: str = "relu",
                   device: torch.device | str | None = None,
                   dtype: torch.dtype = torch.float64) -> DepthWidth:
    r"""Train a one-hidden-layer and a ``deep_layers``-hidden-layer MLP with
    (nearly) the same parameter count on :func:`target_function`, over several seeds.

    Training inputs are ``points`` evenly spaced in :math:`[-1, 1]`; test inputs
    are the midpoints between them (never seen in training). ``generator`` draws one
    seed per start, :math:`s_j`; both networks of start :math:`j` draw their weights
    from ``device.generator(s_j)``, so a column compares the two shapes from the same seed.
    When ``generator`` is ``None``, ``device.generator(0)`` is used.

    Args:
        budget: the parameter budget :math:`P` (at most 10⁶).
        deep_layers: hidden layers of the deep net (1 … 100).
        seeds: how many seeded starts (1 … 1000).
        generator: where the starts' seeds come from (``book.generator(k)`` in a chapter).
        steps, lr: full-batch Adam (:func:`train_mlp`).
        points: training points (2 … 100,000).
        activation: the nonlinearity.
        device, dtype: where to train.

    Examples::

        >>> r = depth_vs_width(100, 2, seeds=2, steps=20)
        >>> r.parameters, tuple(r.test_loss.shape)
        ((100, 97), (2, 2))
    """
    where, dtype = _device.placement(device, dtype, None)
    budget = _validate.integer(budget, "budget", at_most=1_000_000)
    deep_layers = _validate.integer(deep_layers, "deep_layers", at_most=100)
    seeds = _validate.integer(seeds, "seeds", at_most=1000)
    points = _validate.integer(points, "points", at_least=2, at_most=100_000)
    if generator is None:
        generator = _device.generator(0)
    elif not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got "
                        f"{type(generator).__name__}; pass book.generator(k)")
    starts = torch.randint(0, 2**62, (seeds,), generator=generator,
                           device=generator.device).tolist()  # one seed per start
    x = torch.linspace(-1, 1, points, device=where, dtype=dtype)  # (N,)
    x_test = (x[1:] + x[:-1]) / 2  # (N - 1,)
    y, y_test = target_function(x)[:, None], target_function(x_test)  # (N, 1), (N - 1,)
    archs = [[width_for_budget(budget, 1)],
             [width_for_budget(budget, deep_layers)] * deep_layers]
    train, test, curves, fits = [], [], [], []
    for hidden in archs:
        row_train, row_test, row_curves, row_fits = [], [], [], []
        for start in starts:
            net, losses = train_mlp(x[:, None], y, hidden, activation=activation, loss="mse",
                                    steps=steps, lr=lr,
                                    generator=_device.generator(start, where))
            with torch.no_grad():
                fit = net(x_test[:, None])[:, 0]  # (N - 1,)
                row_train.append(F.mse_loss(net(x[:, None]), y))
            row_test.append(F.mse_loss(fit, y_test))
            row_curves.append(torch.tensor(losses, dtype=dtype))
            row_fits.append(fit)
        train.append(torch.stack(row_train))
        test.append(torch.stack(row_test))
        curves.append(torch.stack(row_curves).to(where))
        fits.append(torch.stack(row_fits))
    widths = tuple(tuple([1, *h, 1]) for h in archs)
    return DepthWidth(widths=widths,  # type: ignore[arg-type]
                      parameters=tuple(parameter_count(w) for w in widths),  # type: ignore[arg-type]
                      train_loss=torch.stack(train), test_loss=torch.stack(test),
                      curves=torch.stack(curves), fits=torch.stack(fits), x_test=x_test,
                      baseline=y_test.var(unbiased=False).item())


def stalls(result: DepthWidth, fraction: float = 0.2) -> tuple[int, int]:
    r"""How many runs of each shape *stalled*: held-out error above ``fraction`` times
    the error of predicting the mean (``result.baseline``). Returns ``(shallow, deep)``.

    Examples::

        >>> r = depth_vs_width(100, 2, seeds=2, steps=5)
        >>> stalls(r, 0.0)
        (2, 2)
    """
    if not isinstance(result, DepthWidth):
        raise TypeError(f"result must be the DepthWidth that depth_vs_width returns, got "
                        f"{type(result).__name__}")
    fraction = _validate.in_range(fraction, "fraction", 0.0, 1.0)
    over = (result.test_loss > fraction * result.baseline).sum(dim=1).tolist()  # (2,)
    return int(over[0]), int(over[1])
