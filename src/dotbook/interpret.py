r"""Reading dot products: attributions, attention against gradients, superposition.

**Contributions of a dot product.** For a linear model
:math:`f(x) = w\cdot x + b` the output splits exactly into one term per input,

.. math::  f(x) = \sum_{i=1}^{n} w_i x_i + b ,

and :math:`w_i x_i = x_i\,\partial f/\partial x_i` is the *gradient × input*
attribution (:func:`contributions`, :func:`gradient_x_input`). The terms add up
to :math:`f(x) - b = f(x) - f(0)`: complete, with the bias as the output of the
all-zero input. For a nonlinear :math:`f` the same recipe loses *completeness*:
:math:`\sum_i x_i\,\partial_i f(x)` need not equal :math:`f(x) - f(x')` for a
baseline :math:`x'`. **Integrated gradients** (Sundararajan et al., 2017)
average the gradient along the straight path from :math:`x'` to :math:`x`,

.. math::  \mathrm{IG}_i(x) = (x_i - x'_i)\int_0^1
           \frac{\partial f}{\partial x_i}\big(x' + \alpha(x - x')\big)\,d\alpha ,

and by the fundamental theorem of calculus along the path (for :math:`f`
continuous on it and differentiable there except at finitely many points)
:math:`\sum_i \mathrm{IG}_i = f(x) - f(x')` (:func:`integrated_gradients`,
midpoint rule; :func:`integrated_gradients_loop` is its one-point-at-a-time twin).

**Attention against gradients.** For one query, attention's output read along
a direction :math:`r` is :math:`y = r\cdot\sum_j p_j v_j`. The weights
:math:`p_j` say where the query *looks*; :math:`p_j\,(r\cdot v_j)` says what each
token *adds* to :math:`y`; gradient × input on a token's key and value says how
:math:`y` responds to it. :func:`token_importance` computes all three and
:func:`disagreeing_tokens` builds a case where they rank tokens differently.

**Superposition.** :math:`m > n` features stored along random unit directions
:math:`u_1, \dots, u_m \in \mathbb R^n` (rows of :math:`U`) interfere through
their dot products :math:`u_i\cdot u_j`, which are small when :math:`n` is large
(Chapter 2). A sparse feature vector :math:`f \in \mathbb R^m` is stored as
:math:`h = U^\top f` and read back as :math:`\hat f = \mathrm{ReLU}(Uh + \beta)`
(Elhage et al., 2022); :func:`superposition_experiment` measures the
interference and the reconstruction error.

Every function takes tensors on any device and returns on the same device.
Chapter 12 uses this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dotbook import _validate, attention, geometry, highdim
from dotbook import device as _device

__all__ = [
    "ATTRIBUTION_METHODS",
    "Interference",
    "TokenImportance",
    "completeness_gap",
    "contributions",
    "disagreeing_tokens",
    "gradient_x_input",
    "integrated_gradients",
    "integrated_gradients_loop",
    "interference",
    "saturating",
    "sparse_features",
    "superposition_experiment",
    "token_importance",
]

#: How :func:`contributions` can compute :math:`w_i x_i`.
ATTRIBUTION_METHODS: tuple[str, ...] = ("formula", "autograd")

Model = Callable[[torch.Tensor], torch.Tensor]

#: Upper bounds a chapter never needs: path steps, features, dimensions, batch, and the
#: numbers one batched step may hold (2**28: 2 GiB in float64).
MAX_STEPS = 100_000
MAX_FEATURES = 10_000  # the m × m Gram matrix of interference: 800 MB in float64
MAX_DIM = 1 << 16
MAX_BATCH = 100_000
MAX_NUMBERS = 1 << 28


def _model(f: object) -> Model:
    if not callable(f):
        raise TypeError(f"f must be a model, a callable mapping inputs (*, n) to outputs (*), "
                        f"got {type(f).__name__}")
    return f  # type: ignore[return-value]


def _path_steps(steps: object, x: torch.Tensor) -> int:
    steps = _validate.integer(steps, "steps", at_most=MAX_STEPS)
    _validate.integer(steps * x.numel(), "steps × x.numel() (the points of the path)",
                      at_most=MAX_NUMBERS, why="use fewer steps or a smaller batch")
    return steps


# ------------------------------------------------------------- attributions
def contributions(w: torch.Tensor, x: torch.Tensor, method: str = "formula") -> torch.Tensor:
    r"""The terms of :math:`w\cdot x`: :math:`c_i = w_i x_i`, so that :math:`\sum_i c_i = w\cdot x`.

    ``method="autograd"`` computes them as gradient × input,
    :math:`x_i\,\partial(w\cdot x)/\partial x_i`, which for a dot product is the same.

    Args:
        w: weights: one vector for every input, or one per input (same shape as ``x``).
        x: one input or a batch.
        method: one of :data:`ATTRIBUTION_METHODS`.

    Shape:
        - w: :math:`(n)` or :math:`(*, n)` like x, x: :math:`(*, n)`, output: :math:`(*, n)`

    Examples::

        >>> contributions(torch.tensor([2., -1.]), torch.tensor([3., 4.]))
        tensor([ 6., -4.])
    """
    w = _validate.batched(w, "w")
    x = _validate.last_dim(x, "x", w.shape[-1], w, "w")
    if w.ndim > 1 and w.shape != x.shape:
        raise ValueError(f"shape mismatch: w has shape {tuple(w.shape)} and x {tuple(x.shape)}; "
                         f"pass one weight vector (n,) or one per input, shaped like x")
    _validate.choice(method, "method", ATTRIBUTION_METHODS)
    if method == "formula":
        return w * x  # (*, n)
    w0 = w.detach()
    return gradient_x_input(lambda x_: (x_ * w0).sum(dim=-1), x)


def _model_output(f: Model, x: torch.Tensor) -> torch.Tensor:
    out = f(x)
    if not isinstance(out, torch.Tensor) or out.shape != x.shape[:-1]:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"the model must map inputs of shape {tuple(x.shape)} to one number "
                         f"per input, shape {tuple(x.shape[:-1])}, got {got}")
    return out


def gradient_x_input(f: Model, x: torch.Tensor) -> torch.Tensor:
    r"""Gradient × input: :math:`a_i = x_i\,\partial f/\partial x_i (x)`.

    Args:
        f: a model mapping inputs :math:`(*, n)` to one number each, :math:`(*)`, each
            output depending only on its own input.
        x: the input(s).

    Shape:
        - x: :math:`(*, n)`, output: :math:`(*, n)`

    Examples::

        >>> gradient_x_input(lambda x: (x ** 2).sum(-1), torch.tensor([1., 3.]))
        tensor([ 2., 18.])
    """
    f = _model(f)
    x = _validate.batched(x, "x")
    return x.detach() * _gradient(f, x)  # (*, n)


def _gradient(f: Model, x: torch.Tensor) -> torch.Tensor:
    """:math:`\\partial f/\\partial x` at each input, by autograd: shape (*, n)."""
    with torch.enable_grad():
        x_ = x.detach().requires_grad_()
        (grad,) = torch.autograd.grad(_model_output(f, x_).sum(), x_)
    return grad


def _baseline(x: torch.Tensor, baseline: torch.Tensor | None) -> torch.Tensor:
    if baseline is None:
        return torch.zeros_like(x)
    baseline = _validate.tensor(baseline, "baseline")
    if baseline.shape != x.shape[-1:] and baseline.shape != x.shape:
        raise ValueError(f"baseline must have shape {tuple(x.shape[-1:])} or {tuple(x.shape)}, "
                         f"got {tuple(baseline.shape)}")
    _validate.same_kind(x, baseline, "x, baseline")
    return baseline.expand_as(x)


def integrated_gradients(f: Model, x: torch.Tensor, baseline: torch.Tensor | None = None,
                         steps: int = 64) -> torch.Tensor:
    r"""Integrated gradients with the midpoint rule:

    .. math::  \mathrm{IG}_i \approx (x_i - x'_i)\,\frac1S\sum_{s=1}^{S}
               \frac{\partial f}{\partial x_i}\Big(x' + \tfrac{s - 1/2}{S}(x - x')\Big).

    All :math:`S` points of the path go through ``f`` as one batch.

    Args:
        f: as in :func:`gradient_x_input`.
        x: the input(s).
        baseline: :math:`x'`, shape :math:`(n)` or like ``x`` (default: zeros).
        steps: :math:`S`.

    Shape:
        - x: :math:`(*, n)`, output: :math:`(*, n)`

    Examples::

        >>> f = lambda x: 1 - torch.relu(1 - x.sum(-1))   # min(1, x1 + x2)
        >>> integrated_gradients(f, torch.tensor([1.5, 0.5]))
        tensor([0.7500, 0.2500])
    """
    f = _model(f)
    x = _validate.finite(_validate.batched(x, "x"), "x")
    start = _baseline(x, baseline)
    steps = _path_steps(steps, x)
    alphas = (torch.arange(steps, device=x.device, dtype=x.dtype) + 0.5) / steps  # (S,)
    shape = (steps,) + (1,) * x.ndim
    path = start + alphas.reshape(shape) * (x - start)  # (S, *, n)
    grad = _gradient(f, path)  # (S, *, n)
    return (x - start) * grad.mean(dim=0)  # (*, n)


def integrated_gradients_loop(f: Model, x: torch.Tensor, baseline: torch.Tensor | None = None,
                              steps: int = 64) -> torch.Tensor:
    """The reference for :func:`integrated_gradients`: one point of the path at a time.

    Examples::

        >>> f = lambda x: 1 - torch.relu(1 - x.sum(-1))
        >>> integrated_gradients_loop(f, torch.tensor([1.5, 0.5]))
        tensor([0.7500, 0.2500])
    """
    f = _model(f)
    x = _validate.finite(_validate.batched(x, "x"), "x")
    start = _baseline(x, baseline)
    steps = _validate.integer(steps, "steps", at_most=MAX_STEPS)
    total = torch.zeros_like(x)
    for s in range(steps):
        point = start + (s + 0.5) / steps * (x - start)  # (*, n)
        total += _gradient(f, point)
    return (x - start) * total / steps


def completeness_gap(attributions: torch.Tensor, f: Model, x: torch.Tensor,
                     baseline: torch.Tensor | None = None) -> torch.Tensor:
    r"""How far attributions are from adding up: :math:`\sum_i a_i - (f(x) - f(x'))`.

    Shape:
        - attributions, x: :math:`(*, n)`; output: :math:`(*)`

    Examples::

        >>> f = lambda x: 1 - torch.relu(1 - x.sum(-1))
        >>> x = torch.tensor([1.5, 0.5])
        >>> float(completeness_gap(gradient_x_input(f, x), f, x))   # the gradient is 0 there
        -1.0
    """
    f = _model(f)
    attributions = _validate.tensor(attributions, "attributions")
    x = _validate.batched(x, "x")
    _validate.same_shape(attributions, x, "attributions, x")
    start = _baseline(x, baseline)
    with torch.no_grad():
        return attributions.sum(dim=-1) - (_model_output(f, x) - _model_output(f, start))


def saturating(x: torch.Tensor) -> torch.Tensor:
    r"""Sundararajan et al.'s saturating model, :math:`f(x) = 1 - \mathrm{ReLU}(1 - \sum_i x_i)
    = \min(1, \sum_i x_i)`. Past :math:`\sum_i x_i = 1` its gradient is 0.

    Shape:
        - x: :math:`(*, n)`, output: :math:`(*)`

    Examples::

        >>> saturating(torch.tensor([[0.25, 0.25], [2.0, 1.0]]))
        tensor([0.5000, 1.0000])
    """
    x = _validate.batched(x, "x")
    return 1 - F.relu(1 - x.sum(dim=-1))


# ---------------------------------------------------- attention against gradients
@dataclass(frozen=True)
class TokenImportance:
    r"""Three readings of which token matters for :math:`y = r\cdot\sum_j p_j v_j`.

    Attributes:
        attention: the weights :math:`p_j` (T,).
        contribution: :math:`p_j\,(r\cdot v_j)`, which sums to :math:`y` (T,).
        gradient: gradient × input on token :math:`j`'s key and value,
            :math:`k_j\cdot\partial y/\partial k_j + v_j\cdot\partial y/\partial v_j` (T,).
        output: :math:`y`.
    """

    attention: torch.Tensor
    contribution: torch.Tensor
    gradient: torch.Tensor
    output: float


def token_importance(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     readout: torch.Tensor) -> TokenImportance:
    r"""Attention weights, exact contributions and gradient × input for one query.

    The output is :func:`dotbook.attention.scaled_dot_product_attention` of the
    query against the keys and values, read along ``readout``.

    Args:
        q: one query.
        k: keys, one per token.
        v: values, one per token.
        readout: the direction :math:`r` the output is read along.

    Shape:
        - q: :math:`(d_k)`, k: :math:`(T, d_k)`, v: :math:`(T, d_v)`, readout: :math:`(d_v)`
        - outputs: :math:`(T)` each

    Examples::

        >>> q, k, v, r = disagreeing_tokens()
        >>> imp = token_importance(q, k, v, r)
        >>> int(imp.attention.argmax()), int(imp.contribution.abs().argmax())
        (0, 1)
    """
    q = _validate.vector(q, "q")
    k = _validate.last_dim(k, "k", q.shape[0], q, "q")
    v = _validate.tensor(v, "v")
    readout = _validate.vector(readout, "readout")
    if k.ndim != 2 or v.ndim != 2 or v.shape[0] != k.shape[0] or v.shape[1] != readout.shape[0]:
        raise ValueError(f"k must be (T, d_k), v (T, d_v) and readout (d_v,); got k "
                         f"{tuple(k.shape)}, v {tuple(v.shape)}, readout {tuple(readout.shape)}")
    _validate.same_kind(k, v, "k, v")
    _validate.same_kind(v, readout, "v, readout")
    for name, t in (("q", q), ("k", k), ("v", v), ("readout", readout)):
        _validate.finite(t, name)
    with torch.enable_grad():
        k_ = k.detach().requires_grad_()
        v_ = v.detach().requires_grad_()
        p = attention.attention_weights(q.detach()[None], k_)[0]  # (T,)
        y = attention.scaled_dot_product_attention(q.detach()[None], k_, v_)[0] @ readout  # ()
        gk, gv = torch.autograd.grad(y, (k_, v_))  # (T, d_k), (T, d_v)
    gradient = (k * gk).sum(dim=-1) + (v * gv).sum(dim=-1)  # (T,)
    p = p.detach()
    return TokenImportance(attention=p, contribution=p * (v @ readout), gradient=gradient,
                           output=float(y.detach()))


def disagreeing_tokens(*, device: torch.device | str | None = None,
                       dtype: torch.dtype = torch.float64
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""A constructed case where attention and gradients name different tokens.

    Four tokens; the query matches token 0's key strongly, so token 0 takes most
    of the attention, but token 0's value is orthogonal to the readout
    :math:`r = e_1`: it adds nothing to :math:`y`. Token 1 gets little attention
    and carries a large value along :math:`r`, so it produces almost all of
    :math:`y`. Gradient × input gives token 1 the largest positive score and
    token 0 a large negative one: token 0 is a distractor whose key soaks up
    the attention that token 1 would otherwise get.

    Returns:
        ``(q, k, v, readout)`` with shapes :math:`(2)`, :math:`(4, 2)`, :math:`(4, 2)`, :math:`(2)`.

    Examples::

        >>> q, k, v, r = disagreeing_tokens()
        >>> k.shape, v.shape
        (torch.Size([4, 2]), torch.Size([4, 2]))
    """
    where, dtype = _device.placement(device, dtype, None)

    def t(values: list) -> torch.Tensor:
        return torch.tensor(values, device=where, dtype=dtype)

    q = t([3.0, 0.0])  # (d_k,)
    k = t([[2.0, 0.0], [0.0, 1.0], [0.0, -1.0], [-1.0, 0.0]])  # (T, d_k)
    v = t([[0.0, 1.0], [12.0, 0.0], [0.5, 0.0], [0.5, 0.0]])  # (T, d_v)
    readout = t([1.0, 0.0])  # (d_v,)
    return q, k, v, readout


# ------------------------------------------------------------------ superposition
@dataclass(frozen=True)
class Interference:
    r"""Measured interference of ``m`` feature directions in ``n`` dimensions.

    Attributes:
        m, n, k: features, dimensions, active features per example.
        max_cos: the largest :math:`|u_i\cdot u_j|`, :math:`i \ne j`.
        mean_cos: the mean :math:`|u_i\cdot u_j|` over pairs.
        bound: the union bound's :math:`\varepsilon` (95 %) from
            :func:`dotbook.highdim.union_bound_epsilon`.
        error_relu: mean squared reconstruction error per feature with the ReLU readout.
        error_linear: the same with the plain readout :math:`Uh` (no bias, no ReLU).
        error_zero: the error of reading back all zeros (how much there was to recover).
    """

    m: int
    n: int
    k: int
    max_cos: float
    mean_cos: float
    bound: float
    error_relu: float
    error_linear: float
    error_zero: float

    @property
    def relative_relu(self) -> float:
        """The ReLU readout's error as a share of the signal, ``error_relu / error_zero``."""
        return self.error_relu / self.error_zero

    @property
    def relative_linear(self) -> float:
        r"""The plain readout's error as a share of the signal; its expectation over
        random directions is :math:`(m - 1)/n`, since each readout picks up
        :math:`\sum_{j\ne i}(u_i\cdot u_j)f_j` and :math:`\mathbb E(u_i\cdot u_j)^2 = 1/n`."""
        return self.error_linear / self.error_zero


def interference(u: torch.Tensor) -> tuple[float, float]:
    r"""The largest and the mean :math:`|\cos\theta_{ij}|` over pairs :math:`i < j` of rows of ``u``
    (two numbers).

    One Gram matrix of the unit rows; :func:`dotbook.highdim.max_abs_pairwise_cosine`
    (blockwise, for large ``m``) is the reference for the maximum.

    Shape:
        - u: :math:`(m, n)`, :math:`m \ge 2`

    Examples::

        >>> big, mean = interference(torch.tensor([[1., 0.], [0., 1.], [1., 1.]],
        ...                                       dtype=torch.float64))
        >>> round(big, 6), round(mean, 6)   # pairs: 0, 1/√2, 1/√2
        (0.707107, 0.471405)
    """
    u = _validate.matrix(u, "u")
    _validate.integer(u.shape[0], "the number of rows m of u", at_least=2, at_most=MAX_FEATURES,
                      why="interference needs two directions and one m × m Gram matrix")
    u_hat = geometry.unit(u, name="u")  # (m, n)
    gram = (u_hat @ u_hat.T).abs_()  # (m, m) |cos θ_ij|
    gram.fill_diagonal_(0.0)  # drop each direction's cosine with itself
    m = u.shape[0]
    return min(1.0, float(gram.max())), float(gram.sum() / (m * (m - 1)))


def sparse_features(batch: int, m: int, k: int, *, generator: torch.Generator | None = None,
                    device: torch.device | str | None = None,
                    dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""``batch`` feature vectors in :math:`\mathbb R^m` with exactly ``k`` active
    features each, at random positions, with values uniform in :math:`[0.5, 1]`.

    Shape:
        - output: :math:`(B, m)`

    Examples::

        >>> f = sparse_features(3, 10, 2, generator=_device.generator(0))
        >>> (f > 0).sum(dim=1).tolist()
        [2, 2, 2]
    """
    batch = _validate.integer(batch, "batch", at_most=MAX_BATCH)
    m = _validate.integer(m, "m", at_most=MAX_NUMBERS)
    k = _validate.integer(k, "k", at_least=0)
    _validate.integer(batch * m, "batch × m", at_most=MAX_NUMBERS)
    if k > m:
        raise ValueError(f"k = {k} active features cannot exceed m = {m} features")
    where, dtype = _device.placement(device, dtype, generator)
    keys = torch.rand(batch, m, generator=generator, device=where, dtype=dtype)  # (B, m)
    active = keys.topk(k, dim=1).indices  # (B, k): k random positions per row
    values = 0.5 + 0.5 * torch.rand(batch, k, generator=generator, device=where, dtype=dtype)
    f = torch.zeros(batch, m, device=where, dtype=dtype)  # (B, m)
    return f.scatter_(1, active, values)


def superposition_experiment(m: int, n: int, k: int = 3, *, batch: int = 512,
                             bias: float | None = None,
                             generator: torch.Generator | None = None,
                             device: torch.device | str | None = None,
                             dtype: torch.dtype = torch.float64) -> Interference:
    r"""Store ``m`` features in ``n`` dimensions along random directions and read them back.

    Draw :math:`U` (rows: :func:`dotbook.highdim.random_directions`) and
    ``batch`` sparse :math:`f` (:func:`sparse_features`); store :math:`h = U^\top f`;
    read :math:`Uh = f + (\text{interference})`, since
    :math:`(Uh)_i = f_i + \sum_{j\ne i} (u_i\cdot u_j) f_j`. The ReLU readout
    :math:`\mathrm{ReLU}(Uh + \beta)` with a negative :math:`\beta` clips the
    interference on inactive features. The default
    :math:`\beta = -2\sqrt{k\,\overline{f^2}/n}`, with :math:`\overline{f^2} = 7/12` the mean
    square of an active value, is twice the standard deviation of the
    interference on an inactive feature.

    Errors are mean squared errors per feature, averaged over the batch.

    Examples::

        >>> r = superposition_experiment(200, 64, 3, generator=_device.generator(0))
        >>> r.relative_relu < 0.5 < 1.0 < r.relative_linear
        True
    """
    m = _validate.integer(m, "m", at_least=2, at_most=MAX_FEATURES)
    n = _validate.integer(n, "n", at_least=2, at_most=MAX_DIM)
    k = _validate.integer(k, "k", at_least=1, at_most=m)
    batch = _validate.integer(batch, "batch", at_most=MAX_BATCH)
    beta = -2.0 * math.sqrt(k * (7 / 12) / n) if bias is None else _validate.real(bias, "bias")
    # one intra-op thread on the CPU: the matrices are small, and a second thread that
    # waits for a busy core made a 5 ms slider move take 100 ms on a loaded machine
    where = _device.placement(device, dtype, generator)[0]
    with _device.cpu_threads(1 if where.type == "cpu" else None):
        u = highdim.random_directions(m, n, generator=generator, device=device,
                                      dtype=dtype)  # (m, n)
        f = sparse_features(batch, m, k, generator=generator, device=u.device,
                            dtype=u.dtype)  # (B, m)
        h = f @ u  # (B, n): h = Uᵀf for each row
        read = h @ u.T  # (B, m)
        max_cos, mean_cos = interference(u)
        return Interference(
            m=m, n=n, k=k, max_cos=max_cos, mean_cos=mean_cos,
            bound=highdim.union_bound_epsilon(m, n),
            error_relu=float(F.mse_loss(F.relu(read + beta), f)),
            error_linear=float(F.mse_loss(read, f)),
            error_zero=float((f * f).mean()),
        )
