r"""A layer of neurons: :math:`m` dot products at once, and stacks of layers.

Stack the weight vectors of :math:`m` neurons as the rows :math:`W_1, \dots, W_m`
of a matrix :math:`W \in \mathbb R^{m\times n}`. The layer computes

.. math::  z = Wx + b, \qquad z_i = W_i\cdot x + b_i \quad (i = 1, \dots, m).

Because each :math:`z_i` is linear in :math:`x` and in :math:`W_i`, the
Jacobians are read off the formula: :math:`\partial z/\partial x = W` at
every input, and :math:`\partial z_i/\partial W_{jk} = \delta_{ij} x_k`
(:math:`x` in row :math:`i`, zeros elsewhere). Each comes as the formula and,
as its checkable twins, from ``torch.autograd`` and ``torch.func``
(``method=``).

:func:`linear_loop` (one :func:`dotbook.geometry.dot` per neuron) is the
twin of :func:`linear` (one matrix product). :func:`stack` runs layers one
after another with an activation between them, and :func:`collapse` shows why
depth needs a nonlinearity: a stack of affine layers is one affine layer,

.. math::  W_2(W_1x + b_1) + b_2 = (W_2W_1)\,x + (W_2b_1 + b_2).

Chapter 5 reads a trained layer as template matching: :func:`fit_softmax_regression`
trains one, :func:`train_templates` trains the chapter's (on the digits, timed) and
returns a :class:`Trained` that the chapter hands to its figures (Chapter 12 reads the
same layer), and :func:`preferred_input` finds the input a neuron answers most.
Convolution, Chapter 6's layer, is :mod:`dotbook.conv`.

Every function accepts tensors on any device and returns on the same device.
Chapters 3, 5 and 12 use this module; it uses :func:`dotbook.linearity.activate`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import torch

from dotbook import _validate, data, geometry
from dotbook._compat import quiet_forward_mode
from dotbook.device import placement, timed
from dotbook.linearity import ACTIVATIONS, activate
from dotbook.training import fit

__all__ = [
    "JACOBIAN_METHODS",
    "collapse",
    "jacobian_W",
    "jacobian_x",
    "linear",
    "linear_loop",
    "stack",
    # chapter 5: a layer as a template matcher
    "Trained",
    "accuracy",
    "fit_softmax_regression",
    "preferred_input",
    "train_templates",
]

#: Largest number of layers :func:`stack`/:func:`collapse` chain, and of ascent steps.
MAX_LAYERS = 10_000
MAX_STEPS = 100_000

#: How :func:`jacobian_x` and :func:`jacobian_W` can compute a Jacobian.
JACOBIAN_METHODS: tuple[str, ...] = ("formula", "autograd", "jacrev", "jacfwd")


def _layer_bias(W: torch.Tensor, b: object, name: str = "b") -> torch.Tensor | None:
    """``None``, or one bias per neuron: shape (m,), with ``W``'s dtype and device."""
    if b is None:
        return None
    b = _validate.tensor(b, name)
    if b.shape != (W.shape[0],):
        raise ValueError(
            f"shape mismatch: W has shape {tuple(W.shape)} so {name} must have shape "
            f"({W.shape[0]},), one bias per neuron, got {tuple(b.shape)}"
        )
    _validate.same_kind(W, b, f"W, {name}")
    return b


def _layer_input(W: torch.Tensor, x: object, name: str = "x") -> torch.Tensor:
    """``x`` of shape (*, n) for a weight matrix ``W`` of shape (m, n)."""
    return _validate.last_dim(x, name, W.shape[1], W, "W")


# ------------------------------------------------------------- a linear layer
def linear_loop(W: torch.Tensor, x: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    r"""A layer of :math:`m` neurons, one dot product at a time: :math:`z_i = W_i\cdot x + b_i`.

    The slow, obviously-correct twin of :func:`linear`: row :math:`W_i` is
    neuron :math:`i`'s weight vector.

    Args:
        W: weights, one row per neuron.
        x: one input.
        b: optional biases, one per neuron.

    Shape:
        - W: :math:`(m, n)`
        - x: :math:`(n)`
        - b: :math:`(m)`
        - output: :math:`(m)`

    Examples::

        >>> linear_loop(torch.tensor([[1., 0.], [1., 1.]]), torch.tensor([2., 3.]))
        tensor([2., 5.])
    """
    W = _validate.matrix(W, "W")
    x = _validate.vector(x, "x")
    x = _layer_input(W, x)
    b = _layer_bias(W, b)
    z = torch.stack([geometry.dot(W[i], x) for i in range(W.shape[0])])  # (m,)
    return z if b is None else z + b


def linear(W: torch.Tensor, x: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    r"""A layer of :math:`m` neurons as one matrix product: :math:`z = Wx + b`.

    Row :math:`i` of the result is the dot product :math:`W_i\cdot x` of
    neuron :math:`i`'s weights with the input, plus its bias. A batch of
    inputs (rows of ``x``) gives :math:`x W^\top + b`.

    Args:
        W: weights, one row per neuron.
        x: one input or a batch of inputs.
        b: optional biases, one per neuron.

    Shape:
        - W: :math:`(m, n)`
        - x: :math:`(*, n)`
        - b: :math:`(m)`
        - output: :math:`(*, m)`

    Examples::

        >>> W = torch.tensor([[1., 0.], [1., 1.]])
        >>> linear(W, torch.tensor([2., 3.]), b=torch.tensor([0., -5.]))
        tensor([2., 0.])
    """
    W = _validate.matrix(W, "W")
    x = _layer_input(W, x)
    b = _layer_bias(W, b)
    z = x @ W.mT  # (*, m)
    return z if b is None else z + b


def _jacobian(f: Callable[[torch.Tensor], torch.Tensor], at: torch.Tensor,
              method: str) -> torch.Tensor:
    if method == "autograd":
        return torch.autograd.functional.jacobian(f, at.detach())
    transform = torch.func.jacrev if method == "jacrev" else torch.func.jacfwd
    with quiet_forward_mode():
        return transform(f)(at.detach())


def jacobian_x(W: torch.Tensor, x: torch.Tensor, b: torch.Tensor | None = None,
               method: str = "formula") -> torch.Tensor:
    r"""The Jacobian of a linear layer with respect to its input: :math:`\partial z/\partial x = W`.

    :math:`z_i = \sum_j W_{ij} x_j + b_i`, so :math:`\partial z_i/\partial x_j = W_{ij}`:
    row :math:`i` of the Jacobian is neuron :math:`i`'s gradient
    :math:`\nabla_x z_i = W_i`, and it is the same at every :math:`x`.

    Args:
        W: weights.
        x: the point at which to differentiate (it does not matter: the layer is affine).
        b: optional biases (they do not change the Jacobian).
        method: one of :data:`JACOBIAN_METHODS` (``"jacrev"``/``"jacfwd"`` use ``torch.func``,
            ``"autograd"`` uses ``torch.autograd.functional.jacobian``).

    Shape:
        - W: :math:`(m, n)`
        - x: :math:`(n)`
        - output: :math:`(m, n)`

    Examples::

        >>> W = torch.tensor([[1., 2., 3.], [4., 5., 6.]])
        >>> jacobian_x(W, torch.zeros(3), method="jacrev")
        tensor([[1., 2., 3.],
                [4., 5., 6.]])
    """
    W = _validate.finite(_validate.matrix(W, "W"), "W")
    x = _validate.finite(_validate.vector(x, "x"), "x")
    x = _layer_input(W, x)
    b = _layer_bias(W, b)
    _validate.choice(method, "method", JACOBIAN_METHODS)
    if method == "formula":
        return W.detach().clone()
    W0 = W.detach()
    b0 = None if b is None else b.detach()
    return _jacobian(lambda x_: linear(W0, x_, b0), x, method)


def jacobian_W(W: torch.Tensor, x: torch.Tensor, b: torch.Tensor | None = None,
               method: str = "formula") -> torch.Tensor:
    r"""The Jacobian of a linear layer with respect to its weights.

    .. math::  \frac{\partial z_i}{\partial W_{jk}} = \delta_{ij}\, x_k ,

    so :math:`\partial z_i/\partial W` is the matrix with :math:`x` in row
    :math:`i` and zeros elsewhere: neuron :math:`i` depends only on its own
    weights, and through them only on the input.

    Args:
        W: weights.
        x: the input.
        b: optional biases (they do not change the Jacobian).
        method: one of :data:`JACOBIAN_METHODS`.

    Shape:
        - W: :math:`(m, n)`
        - x: :math:`(n)`
        - output: :math:`(m, m, n)`; entry ``[i]`` is :math:`\partial z_i/\partial W`

    Examples::

        >>> J = jacobian_W(torch.zeros(2, 3), torch.tensor([1., 2., 3.]), method="jacfwd")
        >>> J[1]
        tensor([[0., 0., 0.],
                [1., 2., 3.]])
    """
    W = _validate.finite(_validate.matrix(W, "W"), "W")
    x = _validate.finite(_validate.vector(x, "x"), "x")
    x = _layer_input(W, x)
    b = _layer_bias(W, b)
    _validate.choice(method, "method", JACOBIAN_METHODS)
    m = W.shape[0]
    if method == "formula":
        eye = torch.eye(m, dtype=W.dtype, device=W.device)  # (m, m): δ_ij
        return eye[:, :, None] * x.detach()  # (m, m, n)
    x0 = x.detach()
    b0 = None if b is None else b.detach()
    return _jacobian(lambda W_: linear(W_, x0, b0), W, method)


# ------------------------------------------------------ stacks of layers
def _chain(weights: Sequence[torch.Tensor],
           biases: Sequence[torch.Tensor | None] | None) -> tuple[list[torch.Tensor],
                                                                   list[torch.Tensor | None]]:
    if isinstance(weights, torch.Tensor) or not isinstance(weights, Sequence):
        raise TypeError("weights must be a list of matrices [W1, W2, ...], first layer first")
    if len(weights) == 0:
        raise ValueError("weights is empty; pass at least one matrix")
    _validate.integer(len(weights), "len(weights)", at_most=MAX_LAYERS)
    Ws = [_validate.matrix(W, f"weights[{i}]") for i, W in enumerate(weights)]
    for i in range(1, len(Ws)):
        _validate.same_kind(Ws[0], Ws[i], f"weights[0], weights[{i}]")
        if Ws[i].shape[1] != Ws[i - 1].shape[0]:
            raise ValueError(
                f"shape mismatch: weights[{i - 1}] has shape {tuple(Ws[i - 1].shape)}, so it "
                f"outputs {Ws[i - 1].shape[0]} features, but weights[{i}] has shape "
                f"{tuple(Ws[i].shape)} and expects {Ws[i].shape[1]}"
            )
    if biases is None:
        return Ws, [None] * len(Ws)
    if isinstance(biases, torch.Tensor) or not isinstance(biases, Sequence):
        raise TypeError("biases must be a list with one entry (a vector or None) per layer")
    if len(biases) != len(Ws):
        raise ValueError(f"{len(Ws)} weight matrices but {len(biases)} biases; pass one per layer")
    bs = [_layer_bias(W, b, f"biases[{i}]")
          for i, (W, b) in enumerate(zip(Ws, biases, strict=True))]
    return Ws, bs


def stack(x: torch.Tensor, weights: Sequence[torch.Tensor],
          biases: Sequence[torch.Tensor | None] | None = None,
          activation: str = "linear") -> torch.Tensor:
    r"""A stack of layers :math:`h_\ell = \sigma(W_\ell h_{\ell-1} + b_\ell)`, :math:`h_0 = x`.

    The activation is applied *between* layers, not after the last one, so
    that with ``activation="linear"`` the stack equals the single layer
    returned by :func:`collapse`.

    Args:
        x: the input (or a batch of inputs).
        weights: :math:`[W_1, \dots, W_L]`, first layer first; :math:`W_\ell` has shape
            :math:`(n_\ell, n_{\ell-1})`.
        biases: optional :math:`[b_1, \dots, b_L]`, each of shape :math:`(n_\ell)` or ``None``.
        activation: a name from :data:`ACTIVATIONS`.

    Shape:
        - x: :math:`(*, n_0)`
        - output: :math:`(*, n_L)`

    Examples::

        >>> W1, W2 = torch.tensor([[1., -1.], [1., 1.]]), torch.tensor([[1., 1.]])
        >>> x = torch.tensor([1., 2.])
        >>> stack(x, [W1, W2]), stack(x, [W1, W2], activation="relu")
        (tensor([2.]), tensor([3.]))
    """
    Ws, bs = _chain(weights, biases)
    _validate.choice(activation, "activation", list(ACTIVATIONS))
    h = _layer_input(Ws[0], x)
    for i, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        h = linear(W, h, b)  # (*, n_i)
        if i < len(Ws) - 1:
            h = activate(h, activation)
    return h


def collapse(weights: Sequence[torch.Tensor],
             biases: Sequence[torch.Tensor | None] | None = None
             ) -> tuple[torch.Tensor, torch.Tensor | None]:
    r"""The one affine layer equal to a stack of affine layers (no activation).

    .. math::  W_2(W_1 x + b_1) + b_2 = (W_2 W_1)\,x + (W_2 b_1 + b_2),

    and so on down the stack: :math:`W = W_L \cdots W_1`. Depth adds no
    expressive power without a nonlinearity between the layers.

    Args:
        weights: :math:`[W_1, \dots, W_L]`, first layer first.
        biases: optional, one per layer (a vector or ``None``).

    Shape:
        - output: :math:`W` of shape :math:`(n_L, n_0)` and :math:`b` of shape :math:`(n_L)`,
          or ``None`` when no layer has a bias

    Examples::

        >>> W1, W2 = torch.tensor([[1., -1.], [1., 1.]]), torch.tensor([[1., 1.]])
        >>> W, b = collapse([W1, W2])
        >>> W, b
        (tensor([[2., 0.]]), None)
    """
    Ws, bs = _chain(weights, biases)
    W, b = Ws[0], bs[0]
    for W_next, b_next in zip(Ws[1:], bs[1:], strict=True):
        b = None if b is None else W_next @ b  # (n_next,)
        if b_next is not None:
            b = b_next if b is None else b + b_next
        W = W_next @ W  # (n_next, n_0)
    return W, b

# ------------------------------------------------- a layer as a template matcher
def accuracy(scores: torch.Tensor, y: torch.Tensor) -> float:
    r"""The fraction of rows whose largest score is at their label,
    :math:`\frac1N\sum_i [\arg\max_c z_{ic} = y_i]`.

    Shape:
        - scores: :math:`(N, C)`, one row of class scores per example
        - y: :math:`(N)`, int64 labels on the same device

    Examples::

        >>> accuracy(torch.tensor([[2., 1.], [0., 3.], [1., 0.]]), torch.tensor([0, 1, 1]))
        0.6666666666666666
    """
    scores = _validate.matrix(scores, "scores")
    y = _validate.labels(y, scores)
    return (scores.argmax(dim=1) == y).sum().item() / y.numel()


def fit_softmax_regression(x: torch.Tensor, y: torch.Tensor, classes: int | None = None, *,
                           steps: int = 100, lr: float = 2.0,
                           weight_decay: float = 1e-3) -> torch.nn.Linear:
    r"""Train one linear layer :math:`z = Wx + b` as a softmax classifier.

    Full-batch gradient descent with momentum 0.9 on the cross-entropy
    :math:`-\frac1N\sum_j \log \operatorname{softmax}(z^{(j)})_{y_j}` plus
    :math:`\tfrac{\lambda}{2}\lVert W\rVert^2`, from all-zero weights. The
    loss is convex and the start fixed, so there is no randomness: the same
    data give the same layer on every machine (up to floating-point order).
    Row :math:`W_k` is the template neuron :math:`k` matches against; the
    predicted class is :math:`\arg\max_k (W_k\cdot x + b_k)`.

    Args:
        x: inputs, one per row.
        y: integer labels in ``0 … classes-1``.
        classes: number of neurons :math:`m` (default: ``y.max() + 1``).
        steps: gradient steps.
        lr: step size.
        weight_decay: :math:`\lambda`, applied to :math:`W` only (not the biases).

    Shape:
        - x: :math:`(N, n)`, y: :math:`(N)`
        - output: an ``nn.Linear(n, m)`` on ``x``'s device and dtype

    Examples::

        >>> x = torch.tensor([[1., 0.], [0., 1.], [2., 0.], [0., 2.]])
        >>> layer = fit_softmax_regression(x, torch.tensor([0, 1, 0, 1]), steps=50)
        >>> layer(x).argmax(dim=1).tolist()
        [0, 1, 0, 1]
    """
    x = _validate.tensor(x, "x")
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"x must have shape (N, n) with N, n >= 1, got {tuple(x.shape)}")
    y = _validate.labels(y, x)
    m = int(y.max()) + 1 if classes is None else _validate.integer(
        classes, "classes", at_most=100_000, why="one neuron per class")
    if int(y.min()) < 0 or int(y.max()) >= m:
        raise ValueError(f"labels must lie in [0, {m - 1}], got [{int(y.min())}, {int(y.max())}]")
    steps = _validate.integer(steps, "steps", at_most=1_000_000)
    lr = _validate.in_range(lr, "lr", 0.0, 100.0)
    weight_decay = _validate.in_range(weight_decay, "weight_decay", 0.0, 100.0)
    layer = torch.nn.Linear(x.shape[1], m, device=x.device, dtype=x.dtype)
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.zero_()
    fit(layer, x, y, loss="cross_entropy", lr=lr, steps=steps, momentum=0.9,
        weight_decay=weight_decay)  # full batch; the penalty falls on W only
    layer.requires_grad_(False)
    return layer


def preferred_input(w: torch.Tensor, norm: float = 1.0, *, method: str = "formula",
                    steps: int = 200, lr: float = 0.1,
                    generator: torch.Generator | None = None, path: bool = False
                    ) -> torch.Tensor:
    r"""The input of length ``norm`` that a neuron with weights :math:`w` answers most strongly.

    .. math::  x^\star = \arg\max_{\lVert x\rVert = r}\; w\cdot x = r\,\frac{w}{\lVert w\rVert},
               \qquad w\cdot x^\star = r\,\lVert w\rVert

    by Cauchy–Schwarz, :math:`w\cdot x \le \lVert w\rVert\lVert x\rVert` with
    equality only when :math:`x` is a positive multiple of :math:`w`. The bias
    does not move the maximiser (it adds the same number to every input).

    Args:
        w: the neuron's weights (not all zero).
        norm: the fixed length :math:`r > 0`.
        method: ``"formula"`` (:math:`r\,w/\lVert w\rVert`) or ``"ascent"``:
            projected gradient ascent from a random start, each step
            :math:`x \leftarrow r\,\frac{x + \eta\nabla_x(w\cdot x)}
            {\lVert x + \eta\nabla_x(w\cdot x)\rVert}`, the gradient by autograd.
        steps, lr: the ascent's steps and step size :math:`\eta` (ascent only).
        generator: seeds the ascent's random start (on ``w``'s device).
        path: return every iterate :math:`x_0, \dots, x_{steps}` (ascent only).

    Shape:
        - w: :math:`(n)`, output: :math:`(n)`, or :math:`(\text{steps} + 1, n)` with ``path``

    Examples::

        >>> w = torch.tensor([3.0, 4.0], dtype=torch.float64)
        >>> preferred_input(w)
        tensor([0.6000, 0.8000], dtype=torch.float64)
        >>> g = torch.Generator().manual_seed(0)
        >>> x = preferred_input(w, method="ascent", generator=g)
        >>> bool(torch.allclose(x, preferred_input(w)))
        True
    """
    w = _validate.finite(_validate.vector(w, "w"), "w")
    _validate.choice(path, "path", (False, True))
    r = _validate.in_range(norm, "norm", 0.0, math.inf)
    steps = _validate.integer(steps, "steps", at_most=1_000_000)
    lr = _validate.in_range(lr, "lr", 0.0, 1e3)
    _validate.generator(generator, optional=True)
    if r == 0.0:
        raise ValueError("norm must be > 0; the only input of length 0 is x = 0")
    length = torch.linalg.vector_norm(w)
    if float(length) == 0.0:
        raise ValueError("w is all zeros: every input gives w·x = 0, so no input is preferred")
    _validate.choice(method, "method", ("formula", "ascent"))
    if method == "formula":
        if path:
            raise ValueError("path=True needs method='ascent'; the formula has no iterates")
        return r * w / length
    if w.shape[0] == 1:
        raise ValueError("method='ascent' needs n >= 2: in one dimension the 'sphere' ‖x‖ = r "
                         "is the two points ±r, and small steps cannot move from one to the "
                         "other; use method='formula'")
    steps = _validate.integer(steps, "steps", at_least=0, at_most=MAX_STEPS)
    lr = _validate.in_range(lr, "lr", 0.0, math.inf)
    placement(w.device, w.dtype, generator)  # a generator on w's device, or None
    x = torch.randn(w.shape, generator=generator, device=w.device, dtype=w.dtype)  # (n,)
    x = r * x / torch.linalg.vector_norm(x)
    w = w.detach()
    iterates = [x]
    for _ in range(steps):
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(torch.dot(w, x), x)  # = w
        x = x.detach() + lr * grad
        x = r * x / torch.linalg.vector_norm(x)  # back onto the sphere ‖x‖ = r
        iterates.append(x)
    return torch.stack(iterates) if path else x  # (steps + 1, n) or (n,)


# ------------------------------------------------------- the chapter's trained layer
@dataclass(frozen=True, eq=False)
class Trained:
    """The digits and the softmax-regression layer trained on them, on one device
    (what :func:`train_templates` returns; Chapters 5 and 12 read it)."""

    digits: data.Digits
    layer: torch.nn.Linear  #: the trained ``nn.Linear(64, 10)``
    weight: torch.Tensor  #: (10, 64), row k = template of digit k (``layer.weight``)
    bias: torch.Tensor  #: (10,)
    accuracy: float  #: held-out accuracy
    radius: float  #: median length ‖x‖ of a training digit
    seconds: float  #: how long the one training run took (``device.timed``, synchronised)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`z = Wx + b` for rows ``x``: ``(*, 64) -> (*, 10)``."""
        return linear(self.weight, x, self.bias)

    def to(self, device: torch.device | str, dtype: torch.dtype) -> Trained:
        """The same result on ``device`` in ``dtype`` (``self`` when already there)."""
        device, dtype = placement(device, dtype, None)
        if self.weight.device == device and self.weight.dtype == dtype:
            return self
        d = self.digits
        moved = {name: getattr(d, name).to(device=device, dtype=dtype)
                 for name in ("x_train", "x_test")}
        labels = {name: getattr(d, name).to(device) for name in ("y_train", "y_test")}
        layer = copy.deepcopy(self.layer).to(device=device, dtype=dtype)
        return replace(self, digits=replace(d, **moved, **labels), layer=layer,
                       weight=layer.weight.detach(), bias=layer.bias.detach())


def train_templates(digits: data.Digits) -> Trained:
    r"""Chapter 5's layer: :func:`fit_softmax_regression` on the training digits, timed once.

    Deterministic (zero start, full batch), so the same digits give the same
    layer on every call; the chapter trains it once and hands the result to
    its figures and to Chapter 12's, so what a figure shows never depends on
    which cell ran first. About half a second on a CPU.

    Args:
        digits: a :class:`dotbook.data.Digits` (its device and dtype are the layer's).

    Returns:
        a :class:`Trained`: the layer, its templates, held-out accuracy, the median
        length of a training digit, and the seconds the run took.

    Examples::

        >>> t = train_templates(data.digits(dtype=torch.float64))
        >>> t.weight.shape, t.accuracy > 0.9
        (torch.Size([10, 64]), True)
    """
    if not isinstance(digits, data.Digits):
        raise TypeError(f"digits must be a dotbook.data.Digits (from data.digits(...)), got "
                        f"{type(digits).__name__}")
    d = digits
    result: dict[str, torch.nn.Linear] = {}
    timing = timed(lambda: result.update(
        layer=fit_softmax_regression(d.x_train, d.y_train, d.classes)),
        repeats=1, warmup=0)  # one run, timed
    layer = result["layer"]
    weight, bias = layer.weight.detach(), layer.bias.detach()
    test_accuracy = accuracy(linear(weight, d.x_test, bias), d.y_test)
    radius = float(torch.linalg.vector_norm(d.x_train, dim=1).median())
    return Trained(d, layer, weight, bias, test_accuracy, radius, timing.median)
