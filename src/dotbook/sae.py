r"""Sparse autoencoders read superposition back; saliency and the Shapley baseline.

**A sparse autoencoder** (SAE; Bricken et al., 2023) learns a dictionary for
activations :math:`x \in \mathbb R^n`: an encoder and a decoder

.. math::  c = \mathrm{ReLU}\big(W_e(x - b_d) + b_e\big) \in \mathbb R^h, \qquad
           \hat x = W_d\,c + b_d ,

with :math:`h > n` and every decoder column :math:`d_j` of unit length, trained on

.. math::  L = \tfrac1B\sum_i \lVert x_i - \hat x_i\rVert^2
           + \lambda\,\tfrac1B\sum_i\lVert c_i\rVert_1 .

The L1 term makes few codes active per input. When the activations are
Chapter 12's toy, :math:`x = U^\top f` with :math:`m > n` sparse features along the rows
:math:`u_i` of :math:`U` (:func:`dotbook.interpret.sparse_features`), the decoder
columns can line up with the :math:`u_i`: :func:`recovered` counts the true
directions with a decoder column at cosine :math:`> 0.9`.

**Saliency under a shift of the input** (Kindermans et al., 2019). For a linear
model :math:`f(x) = w\cdot x + b`, shift every input by :math:`s` and the bias by
:math:`-w\cdot s`: the new model gives the same output on every shifted input, so
an explanation should not change. The gradient :math:`w` does not; gradient ×
input :math:`w_i x_i` and integrated gradients from the zero baseline do
(:func:`shift_gaps`). **The Shapley value** of feature :math:`i` for :math:`f`, with
the value of a set :math:`S` the mean output when the features outside :math:`S`
come from background data (Lundberg & Lee, 2017), is for a linear model

.. math::  \phi_i = w_i\,(x_i - \mathbb E\,x_i),

which moves with the data and is unchanged by the shift
(:func:`shapley_linear`, checked against the sum over all subsets,
:func:`shapley_exact`).

Chapter 12 uses this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dotbook import _validate, highdim, interpret
from dotbook import device as _device

__all__ = [
    "SAE",
    "Superposed",
    "SALIENCY_METHODS",
    "linear_attributions",
    "recovered",
    "shapley_exact",
    "shapley_linear",
    "shift_gaps",
    "superposed",
    "train_sae",
]

#: Upper bounds a chapter never needs.
MAX_STEPS = 20_000
MAX_FEATURES = 4096
MAX_NUMBERS = 1 << 26
MAX_SHAPLEY_FEATURES = 16

#: The attributions :func:`linear_attributions` computes.
SALIENCY_METHODS: tuple[str, ...] = ("gradient", "gradient × input", "integrated gradients",
                                     "Shapley")


# ------------------------------------------------------------------ data
@dataclass(frozen=True)
class Superposed:
    r"""Sparse features stored in superposition, :math:`x = fU`.

    Attributes:
        x: the activations, :math:`(B, n)`.
        features: the sparse features :math:`f`, :math:`(B, m)`.
        directions: the unit feature directions :math:`U` (rows), :math:`(m, n)`.
    """

    x: torch.Tensor
    features: torch.Tensor
    directions: torch.Tensor


def superposed(batch: int, m: int, n: int, k: int, *, generator: torch.Generator,
               device: torch.device | str | None = None,
               dtype: torch.dtype = torch.float64) -> Superposed:
    r"""``batch`` activations :math:`x = U^\top f`: ``m`` random unit directions in
    :math:`\mathbb R^n` and ``k`` active features per example, drawn as
    :func:`dotbook.interpret.superposition_experiment` draws them (directions first).

    Shape:
        - x: :math:`(B, n)`, features: :math:`(B, m)`, directions: :math:`(m, n)`

    Examples::

        >>> d = superposed(4, 8, 3, 2, generator=_device.generator(0))
        >>> d.x.shape, (d.features > 0).sum(dim=1).tolist()
        (torch.Size([4, 3]), [2, 2, 2, 2])
    """
    m = _validate.integer(m, "m", at_least=2, at_most=MAX_FEATURES)
    n = _validate.integer(n, "n", at_least=2, at_most=MAX_FEATURES)
    k = _validate.integer(k, "k", at_least=1, at_most=m)
    _validate.generator(generator)
    u = highdim.random_directions(m, n, generator=generator, device=device, dtype=dtype)
    f = interpret.sparse_features(batch, m, k, generator=generator, device=u.device,
                                  dtype=u.dtype)  # (B, m)
    return Superposed(x=f @ u, features=f, directions=u)  # x: (B, n), row i = Σ_j f_ij u_j


# ------------------------------------------------------------------ the autoencoder
@dataclass(frozen=True)
class SAE:
    r"""A trained sparse autoencoder.

    Attributes:
        encoder: :math:`W_e`, :math:`(h, n)`; enc_bias: :math:`b_e`, :math:`(h)`.
        decoder: :math:`W_d` with unit columns, :math:`(n, h)`; dec_bias: :math:`b_d`, :math:`(n)`.
        losses: the training loss at every step.
    """

    encoder: torch.Tensor
    enc_bias: torch.Tensor
    decoder: torch.Tensor
    dec_bias: torch.Tensor
    losses: tuple[float, ...]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`c = \mathrm{ReLU}(W_e(x - b_d) + b_e)`: (*, n) → (*, h)."""
        return F.relu((x - self.dec_bias) @ self.encoder.mT + self.enc_bias)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        r""":math:`\hat x = W_d c + b_d`: (*, h) → (*, n)."""
        return code @ self.decoder.mT + self.dec_bias

    def activity(self, x: torch.Tensor) -> tuple[int, float, float]:
        r"""On inputs ``x`` (B, n): how many codes are ever active (the rest are *dead*),
        the mean number active per input (:math:`L_0`), and the relative reconstruction
        error :math:`\sum_i\lVert x_i - \hat x_i\rVert^2 / \sum_i\lVert x_i\rVert^2`."""
        x = _validate.last_dim(x, "x", self.decoder.shape[0], self.decoder, "decoder")
        code = self.encode(x)  # (B, h)
        error = ((self.decode(code) - x) ** 2).sum() / (x * x).sum()
        on = code > 0
        return int(on.any(dim=0).sum()), float(on.sum(dim=1).double().mean()), float(error)


def train_sae(x: torch.Tensor, n_features: int, l1: float, steps: int, *,
              generator: torch.Generator, lr: float = 0.01) -> SAE:
    r"""Train a sparse autoencoder on ``x`` full-batch with Adam:
    minimise :math:`\tfrac1B\sum_i\lVert x_i - \hat x_i\rVert^2
    + \lambda\tfrac1B\sum_i\lVert c_i\rVert_1`.

    The decoder columns are kept at unit length by dividing by their norms in the
    forward pass (so the L1 term cannot be dodged by shrinking the codes and
    growing the decoder); the encoder starts as the decoder's transpose and the
    biases at 0. On the CPU the steps run on one thread.

    Args:
        x: activations, one per row.
        n_features: :math:`h`, the dictionary size.
        l1: :math:`\lambda \ge 0`.
        steps: Adam steps.
        generator: draws the initial decoder (a seeded ``torch.Generator`` on ``x``'s device).
        lr: Adam's step size.

    Shape:
        - x: :math:`(B, n)`

    Examples::

        >>> d = superposed(256, 8, 4, 1, generator=_device.generator(0))
        >>> sae = train_sae(d.x, 16, 0.3, 50, generator=_device.generator(1))
        >>> sae.decoder.shape, sae.losses[-1] < sae.losses[0]
        (torch.Size([4, 16]), True)
    """
    x = _validate.finite(_validate.matrix(x, "x"), "x")
    _validate.generator(generator)
    h = _validate.integer(n_features, "n_features", at_most=MAX_FEATURES)
    l1 = _validate.in_range(l1, "l1", 0.0, math.inf)
    steps = _validate.integer(steps, "steps", at_most=MAX_STEPS)
    lr = _validate.in_range(lr, "lr", 1e-8, 1.0)
    B, n = x.shape
    _validate.integer(B * h, "B × n_features (the codes of one step)", at_most=MAX_NUMBERS)
    where, dtype = _device.placement(x.device, x.dtype, generator)
    w_d = torch.randn(n, h, generator=generator, device=where, dtype=dtype)  # (n, h)
    w_d = (w_d / torch.linalg.vector_norm(w_d, dim=0)).requires_grad_()
    w_e = w_d.detach().mT.clone().requires_grad_()  # (h, n)
    b_e = torch.zeros(h, device=where, dtype=dtype, requires_grad=True)
    b_d = torch.zeros(n, device=where, dtype=dtype, requires_grad=True)
    opt = torch.optim.Adam([w_d, w_e, b_e, b_d], lr=lr)
    losses = []
    with _device.cpu_threads(1 if where.type == "cpu" else None), torch.enable_grad():
        for _ in range(steps):
            dec = w_d / torch.linalg.vector_norm(w_d, dim=0)  # (n, h): unit columns
            code = F.relu((x - b_d) @ w_e.mT + b_e)  # (B, h)
            x_hat = code @ dec.mT + b_d  # (B, n)
            loss = ((x_hat - x) ** 2).sum(dim=1).mean() + l1 * code.sum(dim=1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    with torch.no_grad():
        dec = w_d / torch.linalg.vector_norm(w_d, dim=0)
    return SAE(encoder=w_e.detach(), enc_bias=b_e.detach(), decoder=dec,
               dec_bias=b_d.detach(), losses=tuple(losses))


def recovered(directions: torch.Tensor, decoder: torch.Tensor,
              threshold: float = 0.9) -> tuple[int, torch.Tensor]:
    r"""How many true directions :math:`u_i` have a decoder column :math:`d_j` with
    :math:`\cos(u_i, d_j) > \text{threshold}`, and every :math:`u_i`'s best cosine.

    Shape:
        - directions: :math:`(m, n)`, decoder: :math:`(n, h)`; best: :math:`(m)`

    Examples::

        >>> u = torch.eye(3)[:2]; dec = torch.tensor([[1.0, 0.6], [0.0, 0.8], [0.0, 0.0]])
        >>> recovered(u, dec)
        (1, tensor([1.0000, 0.8000]))
    """
    directions = _validate.finite(_validate.matrix(directions, "directions"), "directions")
    decoder = _validate.finite(_validate.matrix(decoder, "decoder"), "decoder")
    if directions.shape[1] != decoder.shape[0]:
        raise ValueError(f"shape mismatch: directions has shape {tuple(directions.shape)} and "
                         f"decoder {tuple(decoder.shape)}; the decoder needs one row per "
                         f"dimension (n = {directions.shape[1]}), one column per feature")
    _validate.same_kind(directions, decoder, "directions, decoder")
    threshold = _validate.in_range(threshold, "threshold", -1.0, 1.0)
    u = F.normalize(directions, dim=1)  # (m, n)
    d = F.normalize(decoder, dim=0)  # (n, h)
    best = (u @ d).amax(dim=1)  # (m,): the closest column to each true direction
    return int((best > threshold).sum()), best


# ------------------------------------------------------------------ saliency and Shapley
def _linear(w: object, b: object, x: object) -> tuple[torch.Tensor, float, torch.Tensor]:
    w = _validate.vector(w, "w")
    x = _validate.last_dim(x, "x", w.shape[0], w, "w")
    return w, _validate.real(b, "b"), x


def _background(background: object, w: torch.Tensor, name: str = "w") -> torch.Tensor:
    background = _validate.matrix(background, "background")
    if background.shape[1] != w.shape[0]:
        raise ValueError(f"shape mismatch: {name} has shape {tuple(w.shape)} and background "
                         f"{tuple(background.shape)}; background needs n = {w.shape[0]} columns")
    _validate.same_kind(w, background, f"{name}, background")
    return background


def shapley_linear(w: torch.Tensor, x: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
    r"""The Shapley values of :math:`f(x) = w\cdot x + b` (features independent, Lundberg &
    Lee 2017): :math:`\phi_i = w_i(x_i - \mathbb E\,x_i)`, the mean over the background rows.

    They add up to :math:`f(x) - \mathbb E f(X)`.

    Shape:
        - w: :math:`(n)`, x: :math:`(*, n)`, background: :math:`(N, n)`; output: like x

    Examples::

        >>> shapley_linear(torch.tensor([2.0, -1.0]), torch.tensor([3.0, 2.0]),
        ...                torch.tensor([[0.0, 2.0], [2.0, 0.0]]))   # E x = (1, 1)
        tensor([ 4., -1.])
    """
    w, _, x = _linear(w, 0.0, x)
    return w * (x - _background(background, w).mean(dim=0))


def shapley_exact(f: interpret.Model, x: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
    r"""Shapley values by the sum over all subsets :math:`S` of the other features:

    .. math::  \phi_i = \sum_{S \subseteq N\setminus\{i\}} \frac{|S|!\,(n-|S|-1)!}{n!}
               \big(v(S\cup\{i\}) - v(S)\big), \qquad
               v(S) = \mathbb E_{z}\, f(x_S, z_{\bar S}),

    with :math:`z` running over the background rows. :math:`2^n` sets; ``n`` at most 16.
    ``x`` and ``background`` must be finite (a difference of infinite values is NaN).

    Shape:
        - x: :math:`(n)`, background: :math:`(N, n)`; output: :math:`(n)`

    Examples::

        >>> f = lambda t: t[..., 0] * t[..., 1]
        >>> shapley_exact(f, torch.tensor([1.0, 1.0]), torch.zeros(1, 2))   # shared equally
        tensor([0.5000, 0.5000])
    """
    if not callable(f):
        raise TypeError(f"f must be the model, a function of a tensor (*, n) -> (*), got "
                        f"{type(f).__name__}")
    x = _validate.finite(_validate.vector(x, "x"), "x")
    background = _validate.finite(_background(background, x, "x"), "background")
    n = _validate.integer(x.shape[0], "n (features of x)", at_most=MAX_SHAPLEY_FEATURES,
                          why="the exact sum runs over 2**n subsets")
    _validate.integer((1 << n) * background.shape[0], "2**n × background rows",
                      at_most=MAX_NUMBERS)
    subsets = torch.arange(1 << n, device=x.device)  # (2^n,) bit i set: feature i is in S
    bit = 1 << torch.arange(n, device=x.device)  # (n,)
    inside = (subsets[:, None] & bit) != 0  # (2^n, n)
    mixed = torch.where(inside[:, None, :], x, background)  # (2^n, N, n)
    value = f(mixed).mean(dim=1)  # (2^n,): v(S)
    size = inside.sum(dim=1)  # (2^n,)
    weight = torch.tensor([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n)
                           for s in range(n)], device=x.device, dtype=x.dtype)  # by |S|
    phi = torch.empty_like(x)
    for i in range(n):
        without = ~inside[:, i]  # the sets S without i; S ∪ {i} is S + 2^i
        phi[i] = (weight[size[without]] * (value[subsets[without] + (1 << i)]
                                           - value[without])).sum()
    return phi


def linear_attributions(w: torch.Tensor, b: float, x: torch.Tensor,
                        background: torch.Tensor) -> dict[str, torch.Tensor]:
    r"""Four attributions for :math:`f(x) = w\cdot x + b`, one per :data:`SALIENCY_METHODS`:
    the gradient :math:`w`, gradient × input :math:`w\odot x`, integrated gradients from
    the zero baseline (equal to :math:`w\odot x` for a linear model) and the Shapley values
    :math:`w\odot(x - \mathbb E x)` over ``background``.

    Shape:
        - w: :math:`(n)`, x: :math:`(*, n)`, background: :math:`(N, n)`; each output like x

    Examples::

        >>> a = linear_attributions(torch.tensor([1.0, 2.0]), 0.5, torch.tensor([3.0, 1.0]),
        ...                         torch.ones(4, 2))
        >>> a["gradient × input"], a["Shapley"]
        (tensor([3., 2.]), tensor([2., 0.]))
    """
    w, b, x = _linear(w, b, x)
    f = lambda t: t @ w + b  # noqa: E731  (*, n) -> (*)
    return {
        "gradient": w.expand_as(x).clone(),
        "gradient × input": interpret.gradient_x_input(f, x),
        "integrated gradients": interpret.integrated_gradients(f, x, steps=8),
        "Shapley": shapley_linear(w, x, background),
    }


def shift_gaps(w: torch.Tensor, b: float, x: torch.Tensor, background: torch.Tensor,
               shift: torch.Tensor) -> dict[str, float]:
    r"""Kindermans et al.'s input-invariance test: the largest change of each attribution
    when the inputs (and the background) move by :math:`s` and the model by
    :math:`b \to b - w\cdot s`, which leaves every output unchanged.

    0 for the gradient and Shapley; :math:`\max |w_i s_i|` for gradient × input and
    integrated gradients from zero.

    Shape:
        - w, shift: :math:`(n)`, x: :math:`(*, n)`, background: :math:`(N, n)`

    Examples::

        >>> gaps = shift_gaps(torch.tensor([1.0, 2.0]), 0.0, torch.tensor([3.0, 1.0]),
        ...                   torch.ones(4, 2), torch.tensor([0.0, 5.0]))
        >>> gaps["gradient"], gaps["gradient × input"], gaps["Shapley"]
        (0.0, 10.0, 0.0)
    """
    w, b, x = _linear(w, b, x)
    shift = _validate.last_dim(shift, "shift", w.shape[0], w, "w")
    if shift.ndim != 1:
        raise ValueError(f"shift must be one vector (n,), got shape {tuple(shift.shape)}")
    background = _background(background, w)
    for t, name in ((w, "w"), (x, "x"), (background, "background"), (shift, "shift")):
        _validate.finite(t, name)  # the gaps are differences: inf - inf is NaN
    before = linear_attributions(w, b, x, background)
    after = linear_attributions(w, b - float(w @ shift), x + shift, background + shift)
    return {k: float((after[k] - before[k]).abs().max()) for k in SALIENCY_METHODS}
