r"""Random directions in high dimensions, and the exact law of their cosine (Chapter 2).

A *random direction* in :math:`\mathbb{R}^n` is a point :math:`u` drawn
uniformly from the unit sphere :math:`S^{n-1}`. Draw :math:`z \sim
\mathcal N(0, I_n)` and normalise, :math:`u = z / \lVert z\rVert`: the Gaussian
looks the same from every direction, so :math:`u` is uniform.

For two independent random directions :math:`u, v`, the cosine of the angle
between them, :math:`\cos\theta = u\cdot v`, has the exact density

.. math::  f_n(t) = \frac{\Gamma(n/2)}{\sqrt{\pi}\,\Gamma\big(\tfrac{n-1}{2}\big)}
           \,(1-t^2)^{(n-3)/2}, \qquad -1 \le t \le 1,\ n \ge 2,

equivalently :math:`(1+\cos\theta)/2 \sim \mathrm{Beta}\big(\tfrac{n-1}{2},
\tfrac{n-1}{2}\big)`. Its mean is 0 and its variance is exactly

.. math::  \operatorname{Var}(\cos\theta) = \mathbb E[u_1^2] = \frac1n ,

because the :math:`n` squared coordinates of a unit vector sum to 1 and, by
symmetry, have equal means. For large :math:`n`,
:math:`\sqrt n\,\cos\theta \to \mathcal N(0, 1)`. For :math:`n = 2` the
density is the arcsine law :math:`1/(\pi\sqrt{1-t^2})`; for :math:`n = 3`
it is flat, :math:`1/2` (Archimedes' hat-box theorem).

Samplers take an optional ``generator`` (in a chapter, ``book.generator(k)``)
so that every figure is reproducible, a ``device`` and a ``dtype``, resolved by
:func:`dotbook.device.placement`: large samples are drawn and reduced where the
generator lives (CPU always works; a GPU when present).
Exact probabilities use :mod:`scipy.special` (computed on the CPU in float64)
and return Python floats, or float64 tensors on the input's device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from scipy import special, stats

from dotbook import _validate, geometry
from dotbook import device as _device

__all__ = [
    "cosine_cdf",
    "cosine_density",
    "cosine_moment",
    "cosine_samples",
    "cosine_samples_naive",
    "cosine_variance",
    "ks_test",
    "max_abs_cosine",
    "max_abs_pairwise_cosine",
    "normal_tail_ratio",
    "max_abs_pairwise_cosine_loop",
    "normal_density",
    "normal_tail_probability",
    "random_directions",
    "running_max_abs_cosine",
    "tail_bound",
    "tail_probability",
    "tail_threshold",
    "union_bound_epsilon",
    "sampled_tails",
    "scaled_std_standard_error",
    "std_table",
    "tail_estimate",
]

#: Default for ``chunk``: the most Gram-matrix entries held at once by
#: :func:`max_abs_pairwise_cosine` and :func:`running_max_abs_cosine`.
GRAM_CHUNK = 1 << 22
#: The most numbers a sampler draws in one call (m·n directions, or num cosines; 0.8 GB in
#: float64), the most directions a pairwise maximum compares, and the highest moment order:
#: far beyond any chapter, so that a huge request is a clear error in milliseconds.
MAX_SAMPLES, MAX_DIRECTIONS, MAX_MOMENT = 100_000_000, 1_000_000, 1_000_000


# ------------------------------------------------------------------ input checks
def _dimension(n: object) -> int:
    return _validate.integer(n, "n", at_least=2, at_most=10**9,
                             why="in one dimension every direction is "
                             "±1 and the cosine is always ±1, so there is no angle to speak of")


def _epsilon(eps: object) -> float:
    return _validate.in_range(eps, "eps", 0.0, 1.0)


# ----------------------------------------------------------------- sampling
def random_directions(m: int, n: int, *, generator: torch.Generator | None = None,
                      device: torch.device | str | None = None,
                      dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""``m`` independent directions, uniform on the unit sphere :math:`S^{n-1}`:
    :math:`u = z / \lVert z\rVert` with :math:`z \sim \mathcal N(0, I_n)`.

    Args:
        m: how many directions.
        n: the dimension, ``n >= 2``.
        generator: a seeded ``torch.Generator`` for reproducible draws.
        device: where to draw (default: the generator's device, else CPU).
        dtype: a floating-point dtype.

    Shape:
        - output: :math:`(m, n)`, every row of length 1

    Examples::

        >>> from dotbook.device import generator
        >>> u = random_directions(4, 3, generator=generator(0))
        >>> u.shape, torch.allclose(geometry.norm(u), torch.ones(4, dtype=torch.float64))
        (torch.Size([4, 3]), True)
    """
    m = _validate.integer(m, "m", at_most=MAX_SAMPLES)
    n = _dimension(n)
    _validate.integer(m * n, "m·n (numbers drawn)", at_most=MAX_SAMPLES)
    where, dtype = _device.placement(device, dtype, generator)
    z = torch.randn(m, n, generator=generator, device=where, dtype=dtype)  # (m, n)
    return geometry.unit(z, name="z")  # a zero draw has probability 0


def cosine_samples(num: int, n: int, *, generator: torch.Generator | None = None,
                   device: torch.device | str | None = None,
                   dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""``num`` draws of :math:`\cos\theta` between two independent random
    directions in :math:`\mathbb R^n`, in :math:`O(\text{num})` work whatever ``n``.

    Rotate so that one direction is :math:`e_1`: the cosine is then the first
    coordinate :math:`u_1` of a uniform direction, and its exact law (see
    :func:`cosine_density`) is

    .. math::  \frac{1 + \cos\theta}{2} \sim
               \mathrm{Beta}\big(\tfrac{n-1}{2}, \tfrac{n-1}{2}\big).

    So one Beta variate per sample replaces the :math:`2n` normals of the
    definition. The Beta variates come from NumPy's public, seeded
    ``Generator.beta`` (torch has no public seeded Beta or Gamma sampler): a
    NumPy generator is seeded by one integer drawn from ``generator`` (or from
    torch's global generator on that device), so the same torch seed gives the
    same samples, and the result is moved to ``device``.

    :func:`cosine_samples_naive` is the obviously-correct twin; the tests hold
    the two to the same distribution.

    Args:
        num: number of samples.
        n: the dimension, ``n >= 2``.
        generator, device, dtype: as in :func:`random_directions`.

    Shape:
        - output: :math:`(\text{num})`

    Examples::

        >>> from dotbook.device import generator
        >>> c = cosine_samples(100_000, 400, generator=generator(0))
        >>> abs(c.var().item() * 400 - 1) < 0.02   # Var = 1/n
        True
    """
    num = _validate.integer(num, "num", at_most=MAX_SAMPLES)
    n = _dimension(n)
    where, dtype = _device.placement(device, dtype, generator)
    seed = int(torch.randint(0, 2**62, (), generator=generator, device=where))
    a = (n - 1) / 2
    beta = np.random.default_rng(seed).beta(a, a, size=num)  # (num,) float64, in [0, 1]
    cos = torch.from_numpy(2.0 * beta - 1.0)  # (num,) on the CPU, float64
    return cos.to(dtype).to(where).clamp(-1.0, 1.0)


def cosine_samples_naive(num: int, n: int, *, generator: torch.Generator | None = None,
                         device: torch.device | str | None = None,
                         dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""The definition: draw two random directions :math:`u, v` per sample and
    take :func:`dotbook.geometry.cosine`. :math:`O(\text{num}\cdot n)` work.

    Shape:
        - output: :math:`(\text{num})`

    Examples::

        >>> from dotbook.device import generator
        >>> c = cosine_samples_naive(5, 3, generator=generator(0))
        >>> c.shape, bool((c.abs() <= 1).all())
        (torch.Size([5]), True)
    """
    num = _validate.integer(num, "num", at_most=MAX_SAMPLES)
    u = random_directions(num, n, generator=generator, device=device, dtype=dtype)  # (num, n)
    v = random_directions(num, n, generator=generator, device=device, dtype=dtype)  # (num, n)
    return geometry.cosine(u, v)


# ----------------------------------------------------------------- exact law
def _log_normaliser(n: int) -> float:
    """log of Γ(n/2) / (√π Γ((n-1)/2)), stable for large n."""
    return math.lgamma(n / 2) - 0.5 * math.log(math.pi) - math.lgamma((n - 1) / 2)


def cosine_density(t: torch.Tensor | float, n: int) -> torch.Tensor | float:
    r"""The exact density of :math:`\cos\theta` between two random directions:

    .. math::  f_n(t) = \frac{\Gamma(n/2)}{\sqrt{\pi}\,\Gamma\big(\tfrac{n-1}{2}\big)}
               \,(1-t^2)^{(n-3)/2}\quad (|t| \le 1), \qquad 0 \text{ outside}.

    Where it comes from: the points of the sphere with :math:`u_1 = t` form a
    sphere :math:`S^{n-2}` of radius :math:`\sqrt{1-t^2}` (area
    :math:`\propto (1-t^2)^{(n-2)/2}`), and a step :math:`dt` in :math:`u_1` is
    a step :math:`dt/\sqrt{1-t^2}` along the sphere; the constant makes the
    total 1. It is infinite at :math:`t = \pm 1` for ``n = 2`` and equal to
    1/2 on :math:`[-1, 1]` for ``n = 3``.

    Args:
        t: cosine values: a floating-point tensor, or one Python float (then a
            float comes back, e.g. for ``scipy.integrate.quad``).
        n: the dimension, ``n >= 2``.

    Shape:
        - t: any shape :math:`(*)`; output: the same shape, dtype and device

    Examples::

        >>> cosine_density(torch.tensor([0.0, 0.5, 2.0], dtype=torch.float64), 3)
        tensor([0.5000, 0.5000, 0.0000], dtype=torch.float64)
        >>> cosine_density(torch.tensor([0.0], dtype=torch.float64), 2)  # 1/π
        tensor([0.3183], dtype=torch.float64)
        >>> round(cosine_density(0.0, 3), 6)
        0.5
    """
    if isinstance(t, (int, float)) and not isinstance(t, bool):
        if isinstance(t, int) and abs(t) > 1:  # outside [-1, 1], even beyond float range
            return 0.0
        if math.isnan(t):
            raise ValueError("t is NaN; pass a cosine value in [-1, 1]")
        return float(cosine_density(torch.tensor(float(t), dtype=torch.float64), n))
    t = _validate.tensor(t, "t")
    n = _dimension(n)
    one_minus_t2 = (1 - t) * (1 + t)  # (*), accurate near ±1
    inside = one_minus_t2 >= 0
    # xlogy(0, 0) = 0 makes n = 3 exactly flat up to the end points
    log_f = _log_normaliser(n) + torch.xlogy(torch.tensor((n - 3) / 2, dtype=t.dtype,
                                                          device=t.device),
                                             one_minus_t2.clamp_min(0))
    return torch.where(inside, torch.exp(log_f), torch.zeros_like(t))


def cosine_cdf(t: torch.Tensor, n: int) -> torch.Tensor:
    r"""The exact CDF :math:`P(\cos\theta \le t) = I_{(1+t)/2}\big(\tfrac{n-1}{2},
    \tfrac{n-1}{2}\big)`, the regularised incomplete Beta function, since
    :math:`(1+\cos\theta)/2 \sim \mathrm{Beta}(\tfrac{n-1}{2}, \tfrac{n-1}{2})`.

    Computed by :func:`scipy.special.betainc` on the CPU in float64.

    Shape:
        - t: any shape :math:`(*)`; output: the same shape, float64, on ``t``'s device

    Examples::

        >>> cosine_cdf(torch.tensor([-1.0, 0.0, 0.5, 1.0]), 3)  # uniform for n = 3
        tensor([0.0000, 0.5000, 0.7500, 1.0000], dtype=torch.float64)
    """
    t = _validate.tensor(t, "t")
    n = _dimension(n)
    x = ((1 + t.detach().to("cpu", torch.float64)) / 2).clamp(0.0, 1.0)
    a = (n - 1) / 2
    return torch.as_tensor(np.asarray(special.betainc(a, a, x.numpy()))).to(t.device)


def cosine_variance(n: int) -> float:
    r"""The exact variance :math:`\operatorname{Var}(\cos\theta) = 1/n` (the mean is 0).

    With :math:`u` uniform on the sphere, :math:`\cos\theta \overset{d}{=} u_1`
    and :math:`\sum_i u_i^2 = 1`; the coordinates are exchangeable, so
    :math:`\mathbb E[u_1^2] = 1/n`.

    Examples::

        >>> cosine_variance(100)
        0.01
    """
    return 1.0 / _dimension(n)


def cosine_moment(k: int, n: int) -> float:
    r"""The exact moment :math:`\mathbb E[\cos^k\theta]`: 0 for odd ``k``, and for ``k = 2j``

    .. math::  \mathbb E[\cos^{2j}\theta] = \frac{1\cdot 3 \cdots (2j-1)}
               {n\,(n+2)\cdots(n+2j-2)} .

    Why: write :math:`z = \lVert z\rVert\,u` for :math:`z\sim\mathcal N(0, I_n)`;
    length and direction are independent, so :math:`\mathbb E[z_1^{2j}] =
    \mathbb E[\lVert z\rVert^{2j}]\,\mathbb E[u_1^{2j}]`, with
    :math:`\mathbb E[z_1^{2j}] = (2j-1)!!` and :math:`\mathbb E[\lVert z\rVert^{2j}]
    = n(n+2)\cdots(n+2j-2)`. ``k = 2`` gives the variance :math:`1/n`; ``k = 4``
    gives :math:`3/(n(n+2))`, which sets the sampling error of a variance estimate.

    Examples::

        >>> cosine_moment(2, 10), cosine_moment(3, 10), cosine_moment(4, 2)  # 3/(2·4)
        (0.1, 0.0, 0.375)
    """
    k = _validate.integer(k, "k", at_most=MAX_MOMENT)
    n = _dimension(n)
    if k % 2:
        return 0.0
    value = 1.0
    for i in range(k // 2):
        value *= (2 * i + 1) / (n + 2 * i)
        if value == 0.0:  # underflow: every later factor is below 1
            break
    return value


def tail_probability(eps: float, n: int) -> float:
    r"""The exact two-sided tail :math:`P(|\cos\theta| > \varepsilon)` in dimension ``n``:

    .. math::  P(|\cos\theta| > \varepsilon) = 2\, I_{(1-\varepsilon)/2}
               \big(\tfrac{n-1}{2}, \tfrac{n-1}{2}\big),

    by symmetry of the density about 0. Computed as the lower tail of the Beta
    law, so it stays accurate when it is tiny.

    Args:
        eps: the threshold, :math:`0 \le \varepsilon \le 1`.
        n: the dimension, ``n >= 2``.

    Examples::

        >>> tail_probability(0.5, 3)   # uniform on [-1, 1]
        0.5
        >>> tail_probability(0.1, 1000) < 0.002
        True
    """
    eps = _epsilon(eps)
    n = _dimension(n)
    if eps == 0.0:  # cos θ = 0 has probability 0
        return 1.0
    a = (n - 1) / 2
    return float(min(1.0, 2.0 * special.betainc(a, a, (1.0 - eps) / 2)))


def tail_bound(eps: float, n: int) -> float:
    r"""The classical cap bound :math:`P(|\cos\theta| > \varepsilon) \le
    2e^{-n\varepsilon^2/2}` (capped at 1): the tail falls off exponentially in ``n``.

    (Each polar cap :math:`\{u_1 \ge \varepsilon\}` has measure at most
    :math:`e^{-n\varepsilon^2/2}`; see K. Ball, *An elementary introduction to
    modern convex geometry*, 1997, Lemma 2.2. The tests check it against
    :func:`tail_probability`.)

    Examples::

        >>> round(tail_bound(0.1, 1000), 4)
        0.0135
    """
    eps = _epsilon(eps)
    n = _dimension(n)
    return min(1.0, 2.0 * math.exp(-n * eps * eps / 2))


def normal_density(t: torch.Tensor, n: int) -> torch.Tensor:
    r"""The large-``n`` approximation :math:`\cos\theta \approx \mathcal N(0, 1/n)`:
    :math:`\sqrt{n/(2\pi)}\; e^{-n t^2/2}`.

    Shape:
        - t: any shape :math:`(*)`; output: the same shape, dtype and device

    Examples::

        >>> normal_density(torch.tensor([0.0], dtype=torch.float64), 100)  # √(100/2π)
        tensor([3.9894], dtype=torch.float64)
    """
    t = _validate.tensor(t, "t")
    n = _dimension(n)
    return math.sqrt(n / (2 * math.pi)) * torch.exp(-0.5 * n * t * t)


def normal_tail_probability(eps: float, n: int) -> float:
    r"""The tail of the approximation :math:`\mathcal N(0, 1/n)`:
    :math:`P(|Z| > \varepsilon\sqrt n) = \operatorname{erfc}(\varepsilon\sqrt{n/2})`.

    Examples::

        >>> round(normal_tail_probability(0.1, 100), 4)   # P(|Z| > 1)
        0.3173
    """
    eps = _epsilon(eps)
    n = _dimension(n)
    return float(special.erfc(eps * math.sqrt(n / 2)))


def normal_tail_ratio(eps: float, n: int) -> float:
    r"""How far the normal approximation is off in the tail:
    :math:`P(|\cos\theta| > \varepsilon) \,/\, P(|Z| > \varepsilon\sqrt n)`.

    Above 1 the normal law underestimates the tail; below 1 it overestimates it.

    Examples::

        >>> normal_tail_ratio(0.3, 1000) < 1   # far out, the normal tail is too heavy
        True
    """
    return tail_probability(eps, n) / normal_tail_probability(eps, n)


def ks_test(samples: torch.Tensor, n: int) -> object:
    r"""Kolmogorov–Smirnov test of cosine samples against the exact law of
    dimension ``n`` (:func:`cosine_cdf`); scipy's result, with ``.statistic``
    :math:`D = \sup_t |F_N(t) - F(t)|` and ``.pvalue``.

    Shape:
        - samples: :math:`(N)`, any device

    Examples::

        >>> c = cosine_samples(2000, 10, generator=torch.Generator().manual_seed(0))
        >>> bool(ks_test(c, 10).statistic < 0.05)
        True
    """
    samples = _validate.vector(samples, "samples")
    n = _dimension(n)

    def exact_cdf(x: np.ndarray) -> np.ndarray:
        return cosine_cdf(torch.as_tensor(x, dtype=torch.float64), n).numpy()

    return stats.kstest(samples.detach().cpu().double().numpy(), exact_cdf)


# ----------------------------------------------------------------- many vectors
def max_abs_pairwise_cosine(u: torch.Tensor, *, chunk: int = GRAM_CHUNK) -> float:
    r"""The largest :math:`|\cos\theta_{ij}|` over all pairs :math:`i \ne j` of
    the rows of ``u``: the off-diagonal maximum of the Gram matrix
    :math:`\hat U \hat U^{\top}` of the normalised rows, built a block of rows
    at a time so that memory stays bounded for large ``m``.

    Args:
        u: ``m >= 2`` non-zero vectors as rows, on any device.
        chunk: the most Gram-matrix entries held at once (at least one row).

    Shape:
        - u: :math:`(m, n)`
        - output: a Python ``float``

    Examples::

        >>> max_abs_pairwise_cosine(torch.tensor([[1., 0.], [0., 1.], [1., 1.]]))
        0.7071067...
    """
    u = _validate.tensor(u, "u")
    if u.ndim != 2:
        raise ValueError(f"u must be a matrix of shape (m, n), got shape {tuple(u.shape)}")
    m, n = u.shape
    _validate.integer(m, "the number of rows m of u", at_least=2,
                      why="a pairwise cosine needs two vectors")
    _validate.integer(n, "the row length n of u", at_least=1)
    chunk = _validate.integer(chunk, "chunk", at_most=1 << 30)
    u_hat = geometry.unit(u, name="u")  # (m, n)
    rows = max(1, chunk // m)
    best = torch.zeros((), dtype=u.dtype, device=u.device)
    for start in range(0, m, rows):
        stop = min(m, start + rows)
        gram = (u_hat[start:stop] @ u_hat.T).abs_()  # (rows, m) cosines
        idx = torch.arange(start, stop, device=u.device)  # (rows,)
        gram[idx - start, idx] = 0.0  # drop each vector's cosine with itself
        best = torch.maximum(best, gram.max())
    return min(1.0, float(best))


def max_abs_pairwise_cosine_loop(u: torch.Tensor) -> float:
    r"""The plain double loop over pairs :math:`i < j`, calling
    :func:`dotbook.geometry.cosine` on each; the reference for
    :func:`max_abs_pairwise_cosine`.

    Shape:
        - u: :math:`(m, n)`

    Examples::

        >>> max_abs_pairwise_cosine_loop(torch.tensor([[1., 0.], [0., 1.], [1., 1.]]))
        0.7071067...
    """
    u = _validate.finite(_validate.tensor(u, "u"), "u")
    if u.ndim != 2:
        raise ValueError(f"u must be a matrix of shape (m, n), got shape {tuple(u.shape)}")
    _validate.integer(u.shape[0], "the number of rows m of u", at_least=2,
                      why="a pairwise cosine needs two vectors")
    _validate.integer(u.shape[1], "the row length n of u", at_least=1)
    best = 0.0
    for i in range(u.shape[0]):
        for j in range(i + 1, u.shape[0]):
            best = max(best, abs(float(geometry.cosine(u[i], u[j]))))
    return best


def running_max_abs_cosine(u: torch.Tensor, *, chunk: int = GRAM_CHUNK) -> torch.Tensor:
    r"""How the largest pairwise :math:`|\cos\theta|` grows as directions are added:
    entry :math:`k` is :math:`\max_{i < j \le k} |\cos\theta_{ij}|` over the first
    :math:`k + 1` rows (entry 0, a single vector, is 0).

    One pass over the lower triangle of the Gram matrix, a block of rows at a
    time (at most ``chunk`` entries at once), then a running maximum;
    :func:`max_abs_pairwise_cosine` of the first :math:`k+1` rows equals entry :math:`k`.

    Shape:
        - u: :math:`(m, n)`
        - output: :math:`(m)`, on ``u``'s device

    Examples::

        >>> running_max_abs_cosine(torch.tensor([[1., 0.], [0., 1.], [1., 1.]]))
        tensor([0.0000, 0.0000, 0.7071])
    """
    u = _validate.tensor(u, "u")
    if u.ndim != 2 or u.shape[0] < 1 or u.shape[1] < 1:
        raise ValueError(f"u must be a matrix of shape (m, n) with m, n >= 1, "
                         f"got shape {tuple(u.shape)}")
    m = u.shape[0]
    chunk = _validate.integer(chunk, "chunk", at_most=1 << 30)
    u_hat = geometry.unit(u, name="u")  # (m, n)
    rows = max(1, chunk // m)
    row_max = torch.zeros(m, dtype=u.dtype, device=u.device)  # (m,)
    for start in range(0, m, rows):
        stop = min(m, start + rows)
        gram = (u_hat[start:stop] @ u_hat[:stop].T).abs_()  # (rows, stop)
        i = torch.arange(start, stop, device=u.device).unsqueeze(1)  # (rows, 1)
        j = torch.arange(stop, device=u.device).unsqueeze(0)  # (1, stop)
        gram = gram.masked_fill(j >= i, 0.0)  # keep pairs j < i only
        row_max[start:stop] = gram.max(dim=1).values
    return torch.cummax(row_max, dim=0).values.clamp_max(1.0)


def max_abs_cosine(m: int, n: int, *, generator: torch.Generator | None = None,
                   device: torch.device | str | None = None,
                   dtype: torch.dtype = torch.float64) -> float:
    r"""The largest :math:`|\cos\theta|` among all :math:`\binom m2` pairs of
    ``m`` random directions in :math:`\mathbb R^n`.

    At most ``n`` directions can be *exactly* orthogonal, but far more can be
    *nearly* orthogonal: the maximum grows only like :math:`\sqrt{4\ln m / n}`
    (see :func:`union_bound_epsilon`).

    Args:
        m: number of directions, ``m >= 2``.
        n: the dimension, ``n >= 2``.
        generator, device, dtype: as in :func:`random_directions`.

    Examples::

        >>> from dotbook.device import generator
        >>> max_abs_cosine(2000, 1000, generator=generator(0)) < 0.25
        True
    """
    m = _validate.integer(m, "m", at_least=2, at_most=MAX_DIRECTIONS,
                          why="a pair of directions")
    u = random_directions(m, n, generator=generator, device=device, dtype=dtype)  # (m, n)
    return max_abs_pairwise_cosine(u)


def union_bound_epsilon(m: int, n: int, delta: float = 0.05) -> float:
    r"""The smallest :math:`\varepsilon` with :math:`\binom m2\,
    P(|\cos\theta| > \varepsilon) \le \delta`.

    By the union bound, ``m`` random directions in :math:`\mathbb R^n` then have
    *all* pairwise :math:`|\cos\theta| \le \varepsilon` with probability at
    least :math:`1 - \delta`: a high-probability ceiling for
    :func:`max_abs_cosine`. With :func:`tail_bound` it gives
    :math:`\varepsilon \le \sqrt{2\ln(m^2/\delta)/n} \approx \sqrt{4\ln m/n}`;
    turned around, at least :math:`\lfloor e^{n\varepsilon^2/4}\rfloor` directions,
    exponentially many in ``n``, exist with pairwise :math:`|\cos\theta| \le \varepsilon`.

    Args:
        m: number of directions, ``m >= 2``.
        n: the dimension, ``n >= 2``.
        delta: the allowed failure probability, in ``(0, 1]``.

    Examples::

        >>> eps = union_bound_epsilon(1000, 100)
        >>> abs(1000 * 999 / 2 * tail_probability(eps, 100) - 0.05) < 1e-8
        True
    """
    m = _validate.integer(m, "m", at_least=2, at_most=10**18, why="a pair of directions")
    n = _dimension(n)
    delta = _validate.in_range(delta, "delta", 0.0, 1.0)
    if delta == 0.0:
        raise ValueError("delta must be > 0; with delta = 0 the bound only gives eps = 1")
    pairs = m * (m - 1) / 2
    if pairs <= delta:  # pairs * P(|cos| > 0) = pairs
        return 0.0
    return tail_threshold(delta / pairs, n)


def tail_threshold(p: float, n: int) -> float:
    r"""The threshold :math:`\varepsilon` with :math:`P(|\cos\theta| > \varepsilon) = p`:
    the inverse of :func:`tail_probability`.

    From :math:`P(|\cos\theta| > \varepsilon) = 2 I_{(1-\varepsilon)/2}(a, a)` with
    :math:`a = (n-1)/2`,

    .. math::  \varepsilon = 1 - 2\, I^{-1}_{p/2}(a, a),

    where :math:`I^{-1}` is the inverse regularised incomplete Beta function
    (:func:`scipy.special.betaincinv`). It agrees with a root-finder on
    :func:`tail_probability` to about :math:`10^{-14}` for ``n`` from 2 to :math:`10^4`.

    Args:
        p: the tail probability, :math:`0 < p \le 1`.
        n: the dimension, ``n >= 2``.

    Examples::

        >>> tail_threshold(0.5, 3)   # uniform on [-1, 1]
        0.5
        >>> eps = tail_threshold(1e-6, 1000)
        >>> abs(tail_probability(eps, 1000) / 1e-6 - 1) < 1e-9
        True
    """
    p = _validate.in_range(p, "p", 0.0, 1.0)
    n = _dimension(n)
    if p == 0.0:
        raise ValueError("p must be > 0: the cosine exceeds every eps < 1 with positive "
                         "probability, so only eps = 1 has tail 0")
    a = (n - 1) / 2
    return float(min(1.0, max(0.0, 1.0 - 2.0 * special.betaincinv(a, a, p / 2))))


def scaled_std_standard_error(n: int, num: int) -> float:
    r"""Standard error of :math:`\sqrt n\,\hat\sigma`, the sample std of ``num``
    cosines in dimension ``n`` rescaled by :math:`\sqrt n` (which tends to 1).

    The sample variance of :math:`c = \cos\theta` (mean 0) has standard error
    :math:`\sqrt{\operatorname{Var}(c^2)/\text{num}}` with
    :math:`\operatorname{Var}(c^2) = E c^4 - (E c^2)^2` from the exact moments
    (:func:`cosine_moment`). The delta method, :math:`\mathrm{SE}(\hat\sigma)
    \approx \mathrm{SE}(\hat\sigma^2)/(2\sigma)` with :math:`\sigma = 1/\sqrt n`, gives

    .. math::  \mathrm{SE}(\sqrt n\,\hat\sigma) \approx
               \frac{n}{2}\sqrt{\frac{E c^4 - (E c^2)^2}{\text{num}}}
               = \sqrt{\frac{n - 1}{2(n + 2)\,\text{num}}},

    using :math:`E c^2 = 1/n` and :math:`E c^4 = 3/(n(n+2))`; about
    :math:`1/\sqrt{2\,\text{num}}` for large ``n`` (the Gaussian value).

    Args:
        n: the dimension, ``n >= 2``.
        num: the number of sampled cosines.

    Examples::

        >>> round(scaled_std_standard_error(10_000, 200_000) * (2 * 200_000) ** 0.5, 3)
        1.0
    """
    n = _dimension(n)
    num = _validate.integer(num, "num", at_most=MAX_SAMPLES)
    var_c2 = cosine_moment(4, n) - cosine_moment(2, n) ** 2  # Var(cos²θ)
    return math.sqrt(var_c2 / num) * n / 2


def std_table(ns: Sequence[int], num: int, *, generator: torch.Generator | None = None,
              device: torch.device | str | None = None,
              dtype: torch.dtype = torch.float64) -> list[dict[str, float]]:
    r"""For each dimension in ``ns``: the sample mean and std of ``num`` draws of
    :math:`\cos\theta` (:func:`cosine_samples`), :math:`\sqrt n` times the std
    (which should be 1, since :math:`\operatorname{Var}\cos\theta = 1/n`), and its
    standard error (:func:`scaled_std_standard_error`).

    The dimensions draw one after another from ``generator``.

    Args:
        ns: the dimensions, each ``>= 2``.
        num: samples per dimension.
        generator, device, dtype: as in :func:`random_directions`.

    Shape:
        - output: one dict per n, keys ``n, mean, std, scaled_std, scaled_se``

    Examples::

        >>> from dotbook.device import generator
        >>> rows = std_table((3, 1000), 50_000, generator=generator(0))
        >>> all(abs(r["scaled_std"] - 1) < 6 * r["scaled_se"] for r in rows)
        True
    """
    num = _validate.integer(num, "num", at_most=MAX_SAMPLES)
    ns = _validate.sizes(ns, "ns", at_least=2, at_most=10**9)
    rows = []
    for n in ns:
        c = cosine_samples(num, n, generator=generator, device=device, dtype=dtype)  # (num,)
        sd = float(c.std())
        rows.append(dict(n=int(n), mean=float(c.mean()), std=sd, scaled_std=sd * math.sqrt(n),
                         scaled_se=scaled_std_standard_error(n, num)))
    return rows


def sampled_tails(eps: float, ns: Sequence[int], num: int, *,
                  generator: torch.Generator | None = None,
                  device: torch.device | str | None = None,
                  dtype: torch.dtype = torch.float64) -> list[dict[str, float]]:
    r"""Monte Carlo estimates of :math:`P(|\cos\theta| > \varepsilon)` (see
    :func:`tail_probability`) for each dimension in ``ns``, with their standard errors.

    With :math:`\hat p` the fraction of ``num`` sampled cosines beyond
    :math:`\varepsilon`, the binomial standard error is
    :math:`\sqrt{\hat p(1-\hat p)/\text{num}}` (0 when no sample is beyond:
    then only :math:`p < 3/\text{num}` or so can be said).

    The dimensions draw one after another from ``generator``, so the same
    seed gives the same samples for every ``eps``.

    Args:
        eps: the threshold, :math:`0 \le \varepsilon \le 1`.
        ns: the dimensions, each ``>= 2``.
        num: samples per dimension.
        generator, device, dtype: as in :func:`random_directions`.

    Shape:
        - output: one dict per n, keys ``n, p, se``

    Examples::

        >>> from dotbook.device import generator
        >>> row, = sampled_tails(0.1, (100,), 100_000, generator=generator(0))
        >>> abs(row["p"] - tail_probability(0.1, 100)) < 4 * row["se"]
        True
    """
    eps = _epsilon(eps)
    num = _validate.integer(num, "num", at_most=MAX_SAMPLES)
    ns = _validate.sizes(ns, "ns", at_least=2, at_most=10**9)
    rows = []
    for n in ns:
        c = cosine_samples(num, n, generator=generator, device=device, dtype=dtype)  # (num,)
        p, se = tail_estimate(c, eps)
        rows.append(dict(n=int(n), p=p, se=se))
    return rows


def tail_estimate(cosines: torch.Tensor, eps: float) -> tuple[float, float]:
    r"""The fraction :math:`\hat p` of ``cosines`` with :math:`|\cos\theta| > \varepsilon`,
    and its binomial standard error :math:`\sqrt{\hat p(1-\hat p)/\text{num}}`.

    The step of :func:`sampled_tails` that does not draw: a figure that moves
    only ``eps`` draws its samples once and calls this on every move.

    Args:
        cosines: sampled cosines, shape :math:`(\text{num})`.
        eps: the threshold, :math:`0 \le \varepsilon \le 1`.

    Examples::

        >>> tail_estimate(torch.tensor([0.0, 0.5, -0.9, 0.1]), 0.2)
        (0.5, 0.25)
    """
    cosines = _validate.tensor(cosines, "cosines")
    eps = _epsilon(eps)
    num = cosines.numel()
    if num == 0:
        raise ValueError("cosines is empty; pass at least one sampled cosine")
    p = float((cosines.abs() > eps).sum()) / num
    return p, math.sqrt(p * (1 - p) / num)
