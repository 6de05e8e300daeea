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

Chapter 5 reads a trained layer as template matching (:func:`fit_softmax_regression`,
:func:`preferred_input`). Chapter 6 slides one small layer over an image: a 2-D
convolution computes one dot product per output pixel, written as loops
(:func:`conv2d_loop`) and as im2col plus one matrix product (:func:`conv2d`),
both equal to ``F.conv2d``; :func:`conv_geometry` checks a configuration,
:func:`conv_vs_dense` counts what weight sharing saves.

Every function accepts tensors on any device and returns on the same device.
Chapters 3, 5 and 6 use this module; it uses :func:`dotbook.linearity.activate`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dotbook import _validate, geometry
from dotbook._compat import quiet_forward_mode
from dotbook.linearity import ACTIVATIONS, activate

__all__ = [
    "JACOBIAN_METHODS",
    "collapse",
    "jacobian_W",
    "jacobian_x",
    "linear",
    "linear_loop",
    "stack",
    # chapters 5 and 6: templates and convolution
    "accuracy",
    "ConvGeometry",
    "LayerCost",
    "conv2d",
    "conv2d_loop",
    "conv_geometry",
    "conv_vs_dense",
    "edge_kernel",
    "fit_softmax_regression",
    "preferred_input",
    "receptive_field",
    "translate",
]

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
    W = _validate.matrix(W, "W")
    x = _validate.vector(x, "x")
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
    W = _validate.matrix(W, "W")
    x = _validate.vector(x, "x")
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
    m = int(y.max()) + 1 if classes is None else _validate.integer(classes, "classes")
    if int(y.min()) < 0 or int(y.max()) >= m:
        raise ValueError(f"labels must lie in [0, {m - 1}], got [{int(y.min())}, {int(y.max())}]")
    steps = _validate.integer(steps, "steps")
    lr = _validate.in_range(lr, "lr", 0.0, 100.0)
    weight_decay = _validate.in_range(weight_decay, "weight_decay", 0.0, 100.0)
    layer = torch.nn.Linear(x.shape[1], m, device=x.device, dtype=x.dtype)
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.zero_()
    optimizer = torch.optim.SGD(
        [{"params": [layer.weight], "weight_decay": weight_decay},
         {"params": [layer.bias], "weight_decay": 0.0}], lr=lr, momentum=0.9)
    with torch.enable_grad():
        for _ in range(steps):
            optimizer.zero_grad()
            loss = F.cross_entropy(layer(x), y)  # mean over the batch
            loss.backward()
            optimizer.step()
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
    w = _validate.vector(w, "w")
    r = _validate.in_range(norm, "norm", 0.0, math.inf)
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
    steps = _validate.integer(steps, "steps", at_least=0)
    lr = _validate.in_range(lr, "lr", 0.0, math.inf)
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


# -------------------------------------------------------------- convolution
_PADDING_MODES = ("zeros", "circular", "reflect", "replicate")


@dataclass(frozen=True)
class ConvGeometry:
    r"""Everything a 2-D convolution's shape depends on, checked once.

    Output size per axis (Dumoulin & Visin 2016, relationship 15):

    .. math::  H_{out} = \left\lfloor \frac{H + p_{top} + p_{bottom} - d\,(k - 1) - 1}{s}
               \right\rfloor + 1
    """

    batch: int
    c_in: int
    c_out: int
    groups: int
    size: tuple[int, int]  #: input (H, W)
    kernel: tuple[int, int]  #: (kH, kW)
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pad: tuple[int, int, int, int]  #: (left, right, top, bottom), F.pad's order
    padding_mode: str
    out: tuple[int, int]  #: (H_out, W_out)

    @property
    def dot_length(self) -> int:
        """Length of each dot product: :math:`(C_{in}/\\text{groups})\\,k_H k_W`."""
        return self.c_in // self.groups * self.kernel[0] * self.kernel[1]


def _pair(value: object, name: str, *, minimum: int) -> tuple[int, int]:
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair (height, width), got {value!r}")
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
        if v < minimum:
            raise ValueError(f"{name} must be >= {minimum} in each direction, got {value!r}")
    return pair  # type: ignore[return-value]


def conv_geometry(x_shape: Sequence[int], weight_shape: Sequence[int], *,
                  stride: int | tuple[int, int] = 1,
                  padding: int | tuple[int, int] | str = 0,
                  dilation: int | tuple[int, int] = 1, groups: int = 1,
                  padding_mode: str = "zeros") -> ConvGeometry:
    r"""Check a convolution's configuration and compute its output size.

    Args:
        x_shape: :math:`(B, C_{in}, H, W)` (or :math:`(C_{in}, H, W)`).
        weight_shape: :math:`(C_{out}, C_{in}/\text{groups}, k_H, k_W)`.
        stride, padding, dilation, groups, padding_mode: as for :func:`conv2d`.

    Examples::

        >>> g = conv_geometry((1, 3, 32, 32), (8, 3, 5, 5), stride=2, padding=2)
        >>> g.out, g.dot_length
        ((16, 16), 75)
    """
    x_shape, weight_shape = tuple(x_shape), tuple(weight_shape)
    if len(x_shape) == 3:
        x_shape = (1, *x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"x must have shape (B, C_in, H, W) or (C_in, H, W), got {x_shape}")
    if len(weight_shape) != 4:
        raise ValueError(f"weight must have shape (C_out, C_in/groups, kH, kW), got "
                         f"{weight_shape}")
    for dim, name in zip(x_shape, ("B", "C_in", "H", "W"), strict=True):
        _validate.integer(dim, f"x's {name}")
    batch, c_in, height, width = x_shape
    c_out, c_in_group, kh, kw = weight_shape
    groups = _validate.integer(groups, "groups")
    if min(c_out, c_in_group, kh, kw) < 1:
        raise ValueError(f"weight shape {weight_shape} has an empty dimension")
    if c_in % groups:
        raise ValueError(f"channels not divisible by groups: x has C_in = {c_in} channels, "
                         f"which groups = {groups} cannot split evenly")
    if c_out % groups:
        raise ValueError(f"channels not divisible by groups: weight has C_out = {c_out} "
                         f"filters, which groups = {groups} cannot split evenly")
    if c_in // groups != c_in_group:
        raise ValueError(f"x has C_in = {c_in} channels, so with groups = {groups} each filter "
                         f"needs {c_in // groups} input channels, but weight has shape "
                         f"{weight_shape} ({c_in_group} per filter)")
    _validate.choice(padding_mode, "padding_mode", _PADDING_MODES)
    stride = _pair(stride, "stride", minimum=1)
    dilation = _pair(dilation, "dilation", minimum=1)
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)  # dilated kernel
    if isinstance(padding, str):
        _validate.choice(padding, "padding", ("valid", "same"))
        if padding == "valid":
            pad = (0, 0, 0, 0)
        else:
            if stride != (1, 1):
                raise ValueError(f"padding='same' needs stride 1, got stride = {stride}; "
                                 f"pass an explicit padding instead")
            extra_h, extra_w = span[0] - 1, span[1] - 1  # PyTorch puts the odd one last
            pad = (extra_w // 2, extra_w - extra_w // 2, extra_h // 2, extra_h - extra_h // 2)
    else:
        ph, pw = _pair(padding, "padding", minimum=0)
        pad = (pw, pw, ph, ph)
    if padding_mode != "zeros":
        limit = {"circular": (height, width), "reflect": (height - 1, width - 1),
                 "replicate": (math.inf, math.inf)}[padding_mode]
        if max(pad[2:]) > limit[0] or max(pad[:2]) > limit[1]:
            raise ValueError(f"{padding_mode} padding of (top, bottom, left, right) = "
                             f"{(pad[2], pad[3], pad[0], pad[1])} is too wide for an input of "
                             f"H × W = {height} × {width}")
    padded = (height + pad[2] + pad[3], width + pad[0] + pad[1])
    for axis, name in ((0, "rows"), (1, "columns")):
        if span[axis] > padded[axis]:
            k, d = (kh, kw)[axis], dilation[axis]
            raise ValueError(
                f"kernel larger than the padded input: the kernel spans {span[axis]} {name} "
                f"(size {k}, dilation {d}) but the padded input has {padded[axis]} {name} "
                f"({(height, width)[axis]} + padding {pad[2 - 2 * axis]} + "
                f"{pad[3 - 2 * axis]}); use a smaller kernel or dilation, or pad more")
    out = ((padded[0] - span[0]) // stride[0] + 1, (padded[1] - span[1]) // stride[1] + 1)
    return ConvGeometry(batch=batch, c_in=c_in, c_out=c_out, groups=groups,
                        size=(height, width), kernel=(kh, kw), stride=stride,
                        dilation=dilation, pad=pad, padding_mode=padding_mode, out=out)


def _conv_inputs(x: object, weight: object, bias: object) -> tuple[
        torch.Tensor, torch.Tensor, torch.Tensor | None, bool]:
    x = _validate.tensor(x, "x")
    weight = _validate.tensor(weight, "weight")
    _validate.same_kind(x, weight, "x, weight")
    if x.ndim not in (3, 4):
        raise ValueError(f"x must have shape (B, C_in, H, W) or (C_in, H, W), got "
                         f"{tuple(x.shape)}")
    unbatched = x.ndim == 3
    if bias is not None:
        bias = _validate.tensor(bias, "bias")
        _validate.same_kind(weight, bias, "weight, bias")
        if bias.shape != weight.shape[:1]:
            raise ValueError(f"bias must have shape (C_out,) = ({weight.shape[0]},), one per "
                             f"filter, got {tuple(bias.shape)}")
    return (x.unsqueeze(0) if unbatched else x), weight, bias, unbatched


def _padded(x: torch.Tensor, geo: ConvGeometry) -> torch.Tensor:
    if not any(geo.pad):
        return x
    mode = "constant" if geo.padding_mode == "zeros" else geo.padding_mode
    return F.pad(x, geo.pad, mode=mode)  # (B, C_in, H + top + bottom, W + left + right)


def conv2d_loop(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
                dilation: int | tuple[int, int] = 1, groups: int = 1,
                padding_mode: str = "zeros") -> torch.Tensor:
    r"""A 2-D convolution, one dot product per output pixel (Python loops; small inputs only).

    .. math::  y_{b,o,i,j} = b_o + \sum_{c,u,v} W_{o,c,u,v}\;
               \tilde x_{b,\;g(o)\cdot C_{in}/G + c,\; s_H i + d_H u,\; s_W j + d_W v}

    where :math:`\tilde x` is the padded input and :math:`g(o) = \lfloor o / (C_{out}/G)\rfloor`
    the group of filter :math:`o` (filters of group :math:`g` read only input channels
    :math:`g\,C_{in}/G, \dots, (g+1)\,C_{in}/G - 1`). In words: cut out the
    receptive field of output pixel :math:`(i, j)`, flatten it, and take its dot
    product with the flattened filter. Like ``F.conv2d`` this is a
    cross-correlation (the kernel is not flipped), which is what deep learning
    calls convolution.

    Args:
        x: the input.
        weight: the filters.
        bias: one number per filter (optional).
        stride, padding, dilation: ints or (height, width) pairs; ``padding``
            may also be ``"valid"`` or ``"same"`` (stride 1).
        groups: split the channels into this many independent groups.
        padding_mode: ``"zeros"``, ``"circular"``, ``"reflect"`` or ``"replicate"``
            (as ``nn.Conv2d``).

    Shape:
        - x: :math:`(B, C_{in}, H, W)` or :math:`(C_{in}, H, W)`
        - weight: :math:`(C_{out}, C_{in}/\text{groups}, k_H, k_W)`
        - bias: :math:`(C_{out})`
        - output: :math:`(B, C_{out}, H_{out}, W_{out})` (or without :math:`B`), see
          :class:`ConvGeometry`.

    Examples::

        >>> x = torch.arange(16.).reshape(1, 1, 4, 4)
        >>> conv2d_loop(x, torch.ones(1, 1, 2, 2), stride=2)
        tensor([[[[10., 18.],
                  [42., 50.]]]])
    """
    x4, weight, bias, unbatched = _conv_inputs(x, weight, bias)
    geo = conv_geometry(x4.shape, weight.shape, stride=stride, padding=padding,
                        dilation=dilation, groups=groups, padding_mode=padding_mode)
    xp = _padded(x4, geo)
    (kh, kw), (sh, sw), (dh, dw) = geo.kernel, geo.stride, geo.dilation
    per_group_in, per_group_out = geo.c_in // geo.groups, geo.c_out // geo.groups
    y = torch.empty(geo.batch, geo.c_out, *geo.out, dtype=x4.dtype, device=x4.device)
    for b in range(geo.batch):
        for o in range(geo.c_out):
            first = (o // per_group_out) * per_group_in  # first input channel of o's group
            w_flat = weight[o].reshape(-1)  # (C_in/G · kH · kW,)
            for i in range(geo.out[0]):
                for j in range(geo.out[1]):
                    field = xp[b, first:first + per_group_in,
                               i * sh:i * sh + dh * (kh - 1) + 1:dh,
                               j * sw:j * sw + dw * (kw - 1) + 1:dw]  # (C_in/G, kH, kW)
                    y[b, o, i, j] = torch.dot(w_flat, field.reshape(-1))
    if bias is not None:
        y = y + bias.view(1, -1, 1, 1)
    return y[0] if unbatched else y


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
           dilation: int | tuple[int, int] = 1, groups: int = 1,
           padding_mode: str = "zeros") -> torch.Tensor:
    r"""A 2-D convolution as im2col plus one (grouped) matrix product.

    ``F.unfold`` copies every receptive field into a column, giving a matrix
    :math:`X_{col}` of shape :math:`(C_{in}k_Hk_W,\;L)` per image with
    :math:`L = H_{out}W_{out}`. With the filters flattened into the rows of
    :math:`W_{row}` (:math:`C_{out} \times C_{in}k_Hk_W`), all the dot
    products of :func:`conv2d_loop` become one matrix product,

    .. math::  Y = W_{row}\,X_{col} + b\,\mathbf 1^\top ,

    done per group when ``groups > 1``. This lowering ("unrolling") to a
    matrix product, computed by BLAS, is due to Chellapilla et al. (2006); its
    price is memory, each input pixel copied into up to :math:`k_Hk_W` columns.

    Args, Shape: as :func:`conv2d_loop`.

    Examples::

        >>> x = torch.arange(16.).reshape(1, 1, 4, 4)
        >>> conv2d(x, torch.ones(1, 1, 2, 2), stride=2)
        tensor([[[[10., 18.],
                  [42., 50.]]]])
    """
    x4, weight, bias, unbatched = _conv_inputs(x, weight, bias)
    geo = conv_geometry(x4.shape, weight.shape, stride=stride, padding=padding,
                        dilation=dilation, groups=groups, padding_mode=padding_mode)
    xp = _padded(x4, geo)
    cols = F.unfold(xp, kernel_size=geo.kernel, dilation=geo.dilation,
                    stride=geo.stride)  # (B, C_in·kH·kW, L)
    length = cols.shape[-1]
    cols = cols.reshape(geo.batch, geo.groups, geo.dot_length, length)  # (B, G, C_in/G·kH·kW, L)
    rows = weight.reshape(geo.groups, geo.c_out // geo.groups,
                          geo.dot_length)  # (G, C_out/G, C_in/G·kH·kW)
    y = rows @ cols  # (B, G, C_out/G, L): every entry one dot product
    y = y.reshape(geo.batch, geo.c_out, *geo.out)  # (B, C_out, H_out, W_out)
    if bias is not None:
        y = y + bias.view(1, -1, 1, 1)
    return y[0] if unbatched else y


def receptive_field(i: int, j: int, geo: ConvGeometry) -> tuple[range, range]:
    r"""The rows and columns of the *padded* input that output pixel :math:`(i, j)` reads.

    Rows :math:`s_H i + d_H u` for :math:`u = 0 … k_H - 1`, likewise for columns.
    Subtract the top/left padding to get input coordinates (negative ones fall
    in the padding).

    Examples::

        >>> geo = conv_geometry((1, 1, 6, 6), (1, 1, 3, 3), stride=2, padding=1)
        >>> rows, cols = receptive_field(1, 2, geo)
        >>> list(rows), list(cols)
        ([2, 3, 4], [4, 5, 6])
    """
    for value, name, limit in ((i, "i", geo.out[0]), (j, "j", geo.out[1])):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
            raise ValueError(f"{name} must be an int in [0, {limit - 1}] (the output has "
                             f"{geo.out[0]} × {geo.out[1]} pixels), got {value!r}")
    (kh, kw), (sh, sw), (dh, dw) = geo.kernel, geo.stride, geo.dilation
    rows = range(i * sh, i * sh + dh * (kh - 1) + 1, dh)
    cols = range(j * sw, j * sw + dw * (kw - 1) + 1, dw)
    return rows, cols


def edge_kernel(angle_deg: float, size: int = 5, sigma: float = 1.0, *,
                device: torch.device | str | None = None,
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""An oriented edge detector: the derivative of a Gaussian along direction :math:`\theta`.

    .. math::  k_\theta(u, v) \propto \frac{u\cos\theta + v\sin\theta}{\sigma^2}\,
               e^{-(u^2 + v^2)/(2\sigma^2)}

    on the grid :math:`u, v \in \{-(\text{size}-1)/2, …, (\text{size}-1)/2\}`
    (:math:`u` to the right, :math:`v` downwards), scaled so that
    :math:`\sum|k| = 2`. This is the derivative of the Gaussian along
    :math:`\theta`, flipped (the derivative is odd, so flipping only changes
    its sign): ``F.conv2d`` does not flip, so cross-correlating with
    :math:`k_\theta` differentiates a blurred image along :math:`\theta`, and
    the dot product with a patch is large where brightness *rises* along
    :math:`\theta`. It sums to zero (flat regions give 0), and
    :math:`k_\theta \propto \cos\theta\,k_0 + \sin\theta\,k_{90}` with a
    positive factor that depends on :math:`\theta` through the
    :math:`\sum|k| = 2` scaling: any direction is a mix of two (steerable
    filters, Freeman & Adelson 1991).

    Shape:
        - output: :math:`(\text{size}, \text{size})`

    Examples::

        >>> k = edge_kernel(0.0, size=3, dtype=torch.float64)
        >>> abs(float(k.sum())) < 1e-12, bool((k[:, 2] > 0).all())
        (True, True)
    """
    size = _validate.integer(size, "size")
    if size % 2 == 0 or size < 3:
        raise ValueError(f"size must be odd and >= 3 (the kernel needs a centre), got {size}")
    sigma = _validate.in_range(sigma, "sigma", 1e-3, 1e3)
    theta = math.radians(_validate.in_range(angle_deg, "angle_deg", -360.0, 360.0))
    half = (size - 1) / 2
    grid = torch.linspace(-half, half, size, dtype=torch.float64)  # (size,)
    v, u = torch.meshgrid(grid, grid, indexing="ij")  # rows go down (v), columns right (u)
    along = u * math.cos(theta) + v * math.sin(theta)
    k = along / sigma**2 * torch.exp(-(u**2 + v**2) / (2 * sigma**2))  # rises along θ
    k = 2 * k / k.abs().sum()
    return k.to(device=_device_or_cpu(device), dtype=dtype)


def _device_or_cpu(device: torch.device | str | None) -> torch.device:
    return torch.device("cpu") if device is None else torch.device(device)


def translate(x: torch.Tensor, dy: int = 0, dx: int = 0, *, mode: str = "circular"
              ) -> torch.Tensor:
    r"""Shift the last two axes of ``x`` by ``dy`` rows (down) and ``dx`` columns (right).

    ``mode="circular"`` wraps what leaves one edge in at the other
    (``torch.roll``); ``mode="zeros"`` fills the vacated pixels with 0, as a
    camera that pans over a black scene would.

    Shape:
        - x: :math:`(*, H, W)`, output: same

    Examples::

        >>> x = torch.tensor([[1., 2., 3.]])
        >>> translate(x, dx=1), translate(x, dx=1, mode="zeros")
        (tensor([[3., 1., 2.]]), tensor([[0., 1., 2.]]))
    """
    x = _validate.tensor(x, "x")
    if x.ndim < 2:
        raise ValueError(f"x must have shape (*, H, W), got {tuple(x.shape)}")
    _validate.choice(mode, "mode", ("circular", "zeros"))
    for value, name in ((dy, "dy"), (dx, "dx")):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int (pixels), got {value!r}")
    shifted = torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
    if mode == "zeros":
        height, width = x.shape[-2:]
        rows = torch.arange(height, device=x.device) - dy  # source row of each row
        cols = torch.arange(width, device=x.device) - dx
        keep = ((rows >= 0) & (rows < height))[:, None] & ((cols >= 0) & (cols < width))[None, :]
        shifted = shifted * keep.to(x.dtype)  # (*, H, W)
    return shifted


@dataclass(frozen=True)
class LayerCost:
    """Size and work of one layer on one input: parameters and dot products."""

    name: str
    parameters: int  #: weights + biases
    dot_products: int  #: one per output number
    dot_length: int  #: terms in each dot product
    outputs: tuple[int, ...]  #: (C_out, H_out, W_out)

    @property
    def multiply_adds(self) -> int:
        """Multiply–add operations: ``dot_products × dot_length``."""
        return self.dot_products * self.dot_length


def conv_vs_dense(c_in: int, height: int, width: int, c_out: int, kernel: int | tuple[int, int],
                  *, stride: int | tuple[int, int] = 1,
                  padding: int | tuple[int, int] | str = 0, groups: int = 1
                  ) -> tuple[LayerCost, LayerCost]:
    r"""A conv layer and the fully-connected layer with the same input and output sizes.

    The conv layer has :math:`C_{out}\,(C_{in}/G)\,k_Hk_W + C_{out}` parameters,
    whatever the image size: every output pixel reuses the same filters
    (parameter sharing). The dense layer maps the :math:`C_{in}HW` inputs to
    the :math:`C_{out}H_{out}W_{out}` outputs with one weight per pair. Both
    compute one dot product per output number; the conv's are short
    (:math:`(C_{in}/G)\,k_Hk_W` terms), the dense layer's span the whole input.

    Returns:
        ``(conv, dense)``, two :class:`LayerCost`.

    Examples::

        >>> conv, dense = conv_vs_dense(3, 32, 32, 16, 3, padding=1)
        >>> conv.parameters, dense.parameters
        (448, 50348032)
    """
    for value, name in ((c_in, "c_in"), (height, "height"), (width, "width"), (c_out, "c_out"),
                        (groups, "groups")):
        _validate.integer(value, name)
    geo = conv_geometry((1, c_in, height, width),
                        (c_out, max(c_in // groups, 1), *_pair(kernel, "kernel", minimum=1)),
                        stride=stride, padding=padding, groups=groups)
    outputs = (geo.c_out, *geo.out)
    n_out = math.prod(outputs)
    n_in = c_in * height * width
    conv = LayerCost("convolution", parameters=geo.c_out * geo.dot_length + geo.c_out,
                     dot_products=n_out, dot_length=geo.dot_length, outputs=outputs)
    dense = LayerCost("fully connected", parameters=n_in * n_out + n_out, dot_products=n_out,
                      dot_length=n_in, outputs=outputs)
    return conv, dense
