r"""Linearity, bilinearity and gradients of the dot product.

A neuron computes a **pre-activation** and then an **activation**:

.. math::  z = w \cdot x + b, \qquad y = \sigma(z).

The dot product itself is *bilinear*: fix either argument and the map is
linear in the other,

.. math::  w \cdot (x_1 + x_2) = w \cdot x_1 + w \cdot x_2, \qquad
           w \cdot (k x) = k\,(w \cdot x),

and the same in :math:`w`. So the map :math:`x \mapsto w\cdot x` obeys
superposition, but three things stop it from carrying over to a neuron:

- the **bias** is counted once per response, so
  :math:`z(x_1) + z(x_2) = z(x_1 + x_2) + b`;
- the **activation** (a ReLU, say) is not linear, so
  :math:`\sigma(z_1) + \sigma(z_2) \ne \sigma(z_1 + z_2)` in general;
- scaling **both** arguments scales the product twice:
  :math:`(kw)\cdot(kx) = k^2 (w\cdot x)` — bilinear is not jointly linear.

Linearity is what makes the derivatives simple: :math:`\nabla_w (w\cdot x) = x`
and :math:`\nabla_x (w\cdot x) = w`; for a layer :math:`z = Wx + b` of
:math:`m` neurons the Jacobian :math:`\partial z/\partial x` is :math:`W` and
:math:`\partial z_i/\partial W` is :math:`x` in row :math:`i`, zero elsewhere.
Each gradient here comes as the formula and, as its checkable twin, from
``torch.autograd`` and ``torch.func``. :func:`linear_loop` (one dot product
per neuron) is the twin of :func:`linear` (one matrix product), and
:func:`collapse` shows why depth needs nonlinearity: a stack of linear layers
is one linear layer.

Every function accepts tensors on any device and returns on the same device.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F

from dotbook import _validate, geometry

__all__ = [
    "ACTIVATIONS",
    "GRADIENT_METHODS",
    "JACOBIAN_METHODS",
    "Scalings",
    "Superposition",
    "activate",
    "collapse",
    "distributivity",
    "dot_gradients",
    "jacobian_W",
    "jacobian_x",
    "linear",
    "linear_loop",
    "neuron",
    "preactivation",
    "scalings",
    "stack",
    "superposition",
]

#: The activation functions :func:`activate` knows, by name.
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "identity": lambda z: z,
    "relu": F.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
}
#: How :func:`dot_gradients` can compute a gradient.
GRADIENT_METHODS: tuple[str, ...] = ("formula", "autograd", "grad", "jacrev", "jacfwd")
#: How :func:`jacobian_x` and :func:`jacobian_W` can compute a Jacobian.
JACOBIAN_METHODS: tuple[str, ...] = ("formula", "autograd", "jacrev", "jacfwd")


# ----------------------------------------------------------------------------- checks
def _activation_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(
            f"activation must be a name (str), one of {list(ACTIVATIONS)}, got {name!r}"
        )
    if name not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; use one of {list(ACTIVATIONS)}"
        )
    return name


def _bias(b: object, like: torch.Tensor, name: str = "b") -> torch.Tensor | float:
    """A neuron's bias: a finite number, or a 0-d float tensor matching ``like``."""
    if isinstance(b, torch.Tensor):
        b = _validate.tensor(b, name)
        if b.ndim != 0:
            raise ValueError(
                f"{name} must be a scalar (one neuron, one bias), got shape {tuple(b.shape)}; "
                f"for a layer of m neurons use linear(W, x, b) with b of shape (m,)"
            )
        _validate.same_kind(like, b, f"w, {name}")
        return b
    return _validate.in_range(b, name, -math.inf, math.inf)


def _matching_input(w: torch.Tensor, x: object, name: str = "x") -> torch.Tensor:
    """``x`` of shape (*, n) for a weight vector ``w`` of shape (n,)."""
    return _validate.last_dim(x, name, w.shape[0], w, "w")


def _matrix(W: object, name: str = "W") -> torch.Tensor:
    W = _validate.tensor(W, name)
    if W.ndim != 2:
        raise ValueError(
            f"{name} must be a matrix (2-D, shape (m, n): one row per neuron), got shape "
            f"{tuple(W.shape)}"
        )
    if 0 in W.shape:
        raise ValueError(f"{name} has shape {tuple(W.shape)}; pass m >= 1 rows and n >= 1 columns")
    return W


def _layer_bias(W: torch.Tensor, b: object, name: str = "b") -> torch.Tensor | None:
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


@contextlib.contextmanager
def _quiet_forward_mode() -> Iterator[None]:
    """Hide the ``torch.jit.script`` deprecation that torch's own forward-mode
    decompositions raise on first use; it is torch-internal and says nothing to a reader."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated",
                                category=DeprecationWarning)
        yield


def _scale(k: object, name: str = "k") -> float:
    return _validate.in_range(k, name, -math.inf, math.inf)


# ------------------------------------------------------------------ one neuron
def activate(z: torch.Tensor, activation: str = "relu") -> torch.Tensor:
    r"""Apply the named activation :math:`\sigma` elementwise: :math:`y = \sigma(z)`.

    ``"identity"`` (:math:`\sigma(z) = z`), ``"relu"`` (:math:`\max(z, 0)`),
    ``"tanh"`` and ``"sigmoid"`` (:math:`1/(1+e^{-z})`); see :data:`ACTIVATIONS`.

    Args:
        z: pre-activations.
        activation: the activation's name.

    Shape:
        - z: any shape :math:`(*)`
        - output: same as ``z``

    Examples::

        >>> activate(torch.tensor([-1.0, 0.5]), "relu")
        tensor([0.0000, 0.5000])
    """
    z = _validate.tensor(z, "z")
    return ACTIVATIONS[_activation_name(activation)](z)


def preactivation(w: torch.Tensor, x: torch.Tensor, b: float | torch.Tensor = 0.0) -> torch.Tensor:
    r"""A neuron's pre-activation :math:`z = w\cdot x + b = \sum_i w_i x_i + b`.

    With :math:`b = 0` this is linear in :math:`x`; with :math:`b \ne 0` it is
    *affine*: it adds :math:`b` once per call, whatever :math:`x` is.

    Args:
        w: the neuron's weights.
        x: one input, or a batch of inputs, each of length :math:`n`.
        b: the bias (a number or a 0-d tensor).

    Shape:
        - w: :math:`(n)`
        - x: :math:`(*, n)`
        - output: :math:`(*)`

    Examples::

        >>> w = torch.tensor([1.0, 2.0])
        >>> preactivation(w, torch.tensor([3.0, -1.0]), b=0.5)
        tensor(1.5000)
        >>> preactivation(w, torch.eye(2))  # one response per input row
        tensor([1., 2.])
    """
    w = _validate.vector(w, "w")
    x = _matching_input(w, x)
    b = _bias(b, w)
    return x @ w + b  # (*)


def neuron(w: torch.Tensor, x: torch.Tensor, b: float | torch.Tensor = 0.0,
           activation: str = "relu") -> torch.Tensor:
    r"""One neuron's output :math:`y = \sigma(w\cdot x + b)`.

    Args:
        w: the neuron's weights.
        x: one input or a batch of inputs.
        b: the bias.
        activation: a name from :data:`ACTIVATIONS`.

    Shape:
        - w: :math:`(n)`
        - x: :math:`(*, n)`
        - output: :math:`(*)`

    Examples::

        >>> w = torch.tensor([1.0, 2.0])
        >>> neuron(w, torch.tensor([[3.0, -1.0], [-3.0, 1.0]]))
        tensor([1., 0.])
    """
    _activation_name(activation)
    return activate(preactivation(w, x, b), activation)


@dataclass(frozen=True)
class Superposition:
    r"""A neuron's responses :math:`f(x_1)`, :math:`f(x_2)` and :math:`f(x_1 + x_2)`.

    ``gap`` is :math:`f(x_1) + f(x_2) - f(x_1 + x_2)`: zero exactly when the
    response to the combined input equals the sum of the responses.

    Shape:
        - every field: :math:`(*)`, the batch shape of the inputs
    """

    response_1: torch.Tensor
    response_2: torch.Tensor
    response_to_sum: torch.Tensor

    @property
    def sum_of_responses(self) -> torch.Tensor:
        r""":math:`f(x_1) + f(x_2)`."""
        return self.response_1 + self.response_2

    @property
    def gap(self) -> torch.Tensor:
        r""":math:`f(x_1) + f(x_2) - f(x_1 + x_2)`."""
        return self.sum_of_responses - self.response_to_sum


def superposition(w: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor,
                  b: float | torch.Tensor = 0.0, activation: str = "identity") -> Superposition:
    r"""Test superposition on one neuron :math:`f(x) = \sigma(w\cdot x + b)`.

    Returns :math:`f(x_1)`, :math:`f(x_2)` and :math:`f(x_1 + x_2)`. Three regimes:

    - ``activation="identity"``, :math:`b = 0`: the gap is 0 (distributivity).
    - ``activation="identity"``, :math:`b \ne 0`: the gap is exactly :math:`b`,
      since :math:`z(x_1) + z(x_2) = w\cdot(x_1 + x_2) + 2b = z(x_1 + x_2) + b`.
    - ``activation="relu"``: the gap is generally not zero. With :math:`b = 0`
      it is :math:`\ge 0`, and zero exactly when :math:`w\cdot x_1` and
      :math:`w\cdot x_2` do not have opposite signs (the ReLU is linear on each
      half-line, not across 0). With :math:`b \ne 0` it is zero only by
      coincidence, e.g. when the neuron is off for all three inputs.

    Args:
        w: the neuron's weights.
        x1, x2: two inputs (or two batches of inputs) of the same shape.
        b: the bias.
        activation: a name from :data:`ACTIVATIONS`.

    Shape:
        - w: :math:`(n)`
        - x1, x2: :math:`(*, n)`
        - fields of the result: :math:`(*)`

    Examples::

        >>> w = torch.tensor([1.0, 1.0])
        >>> x1, x2 = torch.tensor([2.0, 0.0]), torch.tensor([-3.0, 0.0])
        >>> superposition(w, x1, x2).gap             # w·x adds up
        tensor(0.)
        >>> superposition(w, x1, x2, b=0.5).gap      # the bias is counted twice
        tensor(0.5000)
        >>> superposition(w, x1, x2, activation="relu").gap   # 2 + 0 vs relu(-1) = 0
        tensor(2.)
    """
    w = _validate.vector(w, "w")
    x1 = _matching_input(w, x1, "x1")
    x2 = _matching_input(w, x2, "x2")
    _validate.same_shape(x1, x2, "x1, x2")
    _activation_name(activation)
    return Superposition(
        response_1=neuron(w, x1, b, activation),
        response_2=neuron(w, x2, b, activation),
        response_to_sum=neuron(w, x1 + x2, b, activation),
    )


# ------------------------------------------------------------- bilinearity
def distributivity(a: torch.Tensor, b: torch.Tensor,
                   c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Both sides of :math:`a\cdot(b + c) = a\cdot b + a\cdot c`.

    Equal in exact arithmetic; in floating point they can differ by a few
    rounding errors, because the two sides add in a different order.

    Shape:
        - a, b, c: :math:`(*, n)`, all the same
        - outputs: :math:`(*)`, :math:`(*)`

    Examples::

        >>> a, b, c = torch.tensor([1., 2.]), torch.tensor([3., 0.]), torch.tensor([0., -1.])
        >>> distributivity(a, b, c)
        (tensor(1.), tensor(1.))
    """
    a, b, c = (_validate.batched(v, name) for v, name in ((a, "a"), (b, "b"), (c, "c")))
    _validate.same_shape(a, b, "a, b")
    _validate.same_shape(a, c, "a, c")
    return geometry.dot(a, b + c), geometry.dot(a, b) + geometry.dot(a, c)


class Scalings(NamedTuple):
    r""":math:`w\cdot x` with a scale :math:`k` applied to nothing, to one side, or to both."""

    original: torch.Tensor  #: :math:`w\cdot x`
    w_only: torch.Tensor  #: :math:`(kw)\cdot x = k\,(w\cdot x)`
    x_only: torch.Tensor  #: :math:`w\cdot(kx) = k\,(w\cdot x)`
    both: torch.Tensor  #: :math:`(kw)\cdot(kx) = k^2 (w\cdot x)`


def scalings(w: torch.Tensor, x: torch.Tensor, k: float) -> Scalings:
    r"""Homogeneity in either argument, and why bilinear is not jointly linear.

    .. math::  (kw)\cdot x = w\cdot(kx) = k\,(w\cdot x), \qquad
               (kw)\cdot(kx) = k^2\,(w\cdot x).

    Each value is computed as a dot product of the scaled vectors, so the
    formulas above are claims to check, not definitions.

    Args:
        w, x: two vectors (or batches) of the same shape.
        k: the scale, a finite number.

    Shape:
        - w, x: :math:`(*, n)`
        - every field: :math:`(*)`

    Examples::

        >>> s = scalings(torch.tensor([1., 2.]), torch.tensor([3., 1.]), k=2.0)
        >>> s.original, s.x_only, s.both
        (tensor(5.), tensor(10.), tensor(20.))
    """
    w, x = _validate.batched(w, "w"), _validate.batched(x, "x")
    _validate.same_shape(w, x, "w, x")
    k = _scale(k)
    return Scalings(
        original=geometry.dot(w, x),
        w_only=geometry.dot(k * w, x),
        x_only=geometry.dot(w, k * x),
        both=geometry.dot(k * w, k * x),
    )


# ---------------------------------------------------------------- gradients
def _dot_scalar(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.dot(w, x)  # () — plain torch, so torch.func can trace it


def dot_gradients(w: torch.Tensor, x: torch.Tensor,
                  method: str = "formula") -> tuple[torch.Tensor, torch.Tensor]:
    r"""The gradients of :math:`z = w\cdot x`: :math:`\nabla_w z = x`, :math:`\nabla_x z = w`.

    Because :math:`z = \sum_i w_i x_i`, :math:`\partial z/\partial w_i = x_i`
    and :math:`\partial z/\partial x_i = w_i`. ``method`` says how to get them:

    - ``"formula"``: return :math:`(x, w)` (copies, detached);
    - ``"autograd"``: ``torch.autograd.grad`` through ``torch.dot``;
    - ``"grad"``, ``"jacrev"``, ``"jacfwd"``: the ``torch.func`` transforms
      (reverse mode, reverse-mode Jacobian, forward-mode Jacobian).

    Args:
        w, x: two vectors of the same shape.
        method: one of :data:`GRADIENT_METHODS`.

    Shape:
        - w, x: :math:`(n)`
        - outputs: :math:`(n)`, :math:`(n)` — :math:`\nabla_w z`, then :math:`\nabla_x z`

    Examples::

        >>> w, x = torch.tensor([1., 2.]), torch.tensor([3., -4.])
        >>> dot_gradients(w, x, "autograd")
        (tensor([ 3., -4.]), tensor([1., 2.]))
    """
    w, x = _validate.vector(w, "w"), _validate.vector(x, "x")
    _validate.same_shape(w, x, "w, x")
    _validate.one_of(method, "method", GRADIENT_METHODS)
    if method == "formula":
        return x.detach().clone(), w.detach().clone()
    w0, x0 = w.detach(), x.detach()
    if method == "autograd":
        w_, x_ = w0.clone().requires_grad_(True), x0.clone().requires_grad_(True)
        grad_w, grad_x = torch.autograd.grad(_dot_scalar(w_, x_), (w_, x_))
        return grad_w, grad_x
    transform = {"grad": torch.func.grad, "jacrev": torch.func.jacrev,
                 "jacfwd": torch.func.jacfwd}[method]
    with _quiet_forward_mode():
        grad_w, grad_x = transform(_dot_scalar, argnums=(0, 1))(w0, x0)
    return grad_w, grad_x


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
    W = _matrix(W)
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
    W = _matrix(W)
    x = _layer_input(W, x)
    b = _layer_bias(W, b)
    z = x @ W.mT  # (*, m)
    return z if b is None else z + b


def _jacobian(f: Callable[[torch.Tensor], torch.Tensor], at: torch.Tensor,
              method: str) -> torch.Tensor:
    if method == "autograd":
        return torch.autograd.functional.jacobian(f, at.detach())
    transform = torch.func.jacrev if method == "jacrev" else torch.func.jacfwd
    with _quiet_forward_mode():
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
    W = _matrix(W)
    x = _validate.vector(x, "x")
    x = _layer_input(W, x)
    b = _layer_bias(W, b)
    _validate.one_of(method, "method", JACOBIAN_METHODS)
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
    W = _matrix(W)
    x = _validate.vector(x, "x")
    x = _layer_input(W, x)
    b = _layer_bias(W, b)
    _validate.one_of(method, "method", JACOBIAN_METHODS)
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
    Ws = [_matrix(W, f"weights[{i}]") for i, W in enumerate(weights)]
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
          activation: str = "identity") -> torch.Tensor:
    r"""A stack of layers :math:`h_\ell = \sigma(W_\ell h_{\ell-1} + b_\ell)`, :math:`h_0 = x`.

    The activation is applied *between* layers, not after the last one, so
    that with ``activation="identity"`` the stack equals the single layer
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
    _activation_name(activation)
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
