r"""Linearity, bilinearity and gradients of the dot product (Chapter 3).

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
  :math:`(kw)\cdot(kx) = k^2 (w\cdot x)`: bilinear is not jointly linear.

Linearity is what makes the derivatives simple: :math:`\nabla_w (w\cdot x) = x`
and :math:`\nabla_x (w\cdot x) = w`. :func:`dot_gradients` returns the formula
and, as its checkable twins, the same gradients from ``torch.autograd`` and
``torch.func``. Layers of many neurons, their Jacobians and stacks of layers
live in :mod:`dotbook.layers`.

Every function accepts tensors on any device and returns on the same device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F

from dotbook import _validate, geometry
from dotbook._compat import quiet_forward_mode

__all__ = [
    "ACTIVATIONS",
    "GRADIENT_METHODS",
    "Scalings",
    "Superposition",
    "activate",
    "distributivity",
    "dot_gradients",
    "neuron",
    "preactivation",
    "scalings",
    "superposition",
]

#: The activation functions of the whole package, by name (``"linear"`` is the identity,
#: :math:`\sigma(z) = z`): :func:`activate`, ``layers.stack`` and ``initialization.mlp`` use them.
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "linear": lambda z: z,
    "relu": F.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
}
#: How :func:`dot_gradients` can compute a gradient.
GRADIENT_METHODS: tuple[str, ...] = ("formula", "autograd", "grad", "jacrev", "jacfwd")


def _activation_name(name: object) -> str:
    return _validate.choice(name, "activation", list(ACTIVATIONS))


def _bias(b: object, like: torch.Tensor, name: str = "b") -> torch.Tensor | float:
    """A neuron's bias: a finite number, or a 0-d float tensor matching ``like``."""
    return _validate.scalar(b, name, like, "w", hint="one neuron has one bias; for a layer of "
                            "m neurons use dotbook.layers.linear(W, x, b) with b of shape (m,)")


# ------------------------------------------------------------------ one neuron
def activate(z: torch.Tensor, activation: str = "relu") -> torch.Tensor:
    r"""Apply the named activation :math:`\sigma` elementwise: :math:`y = \sigma(z)`.

    ``"linear"`` (the identity, :math:`\sigma(z) = z`), ``"relu"`` (:math:`\max(z, 0)`),
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
    x = _validate.last_dim(x, "x", w.shape[0], w, "w")
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
                  b: float | torch.Tensor = 0.0, activation: str = "linear") -> Superposition:
    r"""Test superposition on one neuron :math:`f(x) = \sigma(w\cdot x + b)`.

    Returns :math:`f(x_1)`, :math:`f(x_2)` and :math:`f(x_1 + x_2)`. Three regimes:

    - ``activation="linear"``, :math:`b = 0`: the gap is 0 (distributivity).
    - ``activation="linear"``, :math:`b \ne 0`: the gap is exactly :math:`b`,
      since :math:`z(x_1) + z(x_2) = w\cdot(x_1 + x_2) + 2b = z(x_1 + x_2) + b`.
    - ``activation="relu"``: the gap is generally not zero. With :math:`b = 0`
      it is :math:`\ge 0`, and zero exactly when :math:`w\cdot x_1` and
      :math:`w\cdot x_2` do not have opposite signs (the ReLU is linear on each
      half-line, not across 0). With :math:`b \ne 0` it is zero if and only
      if the neuron is off for all three inputs, apart from pre-activations on
      a set of probability zero (:math:`w\cdot x_1 = 0`, :math:`w\cdot x_2 = 0`
      or :math:`w\cdot(x_1 + x_2) = -2b`).

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
    x1 = _validate.last_dim(x1, "x1", w.shape[0], w, "w")
    x2 = _validate.last_dim(x2, "x2", w.shape[0], w, "w")
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
    k = _validate.real(k, "k")
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
    _validate.choice(method, "method", GRADIENT_METHODS)
    if method == "formula":
        return x.detach().clone(), w.detach().clone()
    w0, x0 = w.detach(), x.detach()
    if method == "autograd":
        w_, x_ = w0.clone().requires_grad_(True), x0.clone().requires_grad_(True)
        grad_w, grad_x = torch.autograd.grad(_dot_scalar(w_, x_), (w_, x_))
        return grad_w, grad_x
    transform = {"grad": torch.func.grad, "jacrev": torch.func.jacrev,
                 "jacfwd": torch.func.jacfwd}[method]
    with quiet_forward_mode():
        grad_w, grad_x = transform(_dot_scalar, argnums=(0, 1))(w0, x0)
    return grad_w, grad_x
