r"""Random directions in high dimensions, and the exact law of their cosine.

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

Samplers take an optional ``generator`` (see :func:`dotbook.device.generator`)
so that every figure is reproducible, and a ``device``: large samples are drawn
and reduced where the generator lives (CPU always works; a GPU when present).
Exact probabilities use :mod:`scipy.special` (computed on the CPU in float64)
and return Python floats, or float64 tensors on the input's device.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import optimize, special, stats

from dotbook import _validate, geometry

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
    "union_bound_epsilon",
]

#: Largest number of Gram-matrix entries :func:`max_abs_pairwise_cosine` holds at once.
_GRAM_CHUNK = 1 << 22


# ------------------------------------------------------------------ input checks
def _dimension(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(
            f"n must be an int >= 2 (the dimension), got {n!r} ({type(n).__name__}); "
            f"pass e.g. n=100"
        )
    if n < 2:
        raise ValueError(
            f"n must be >= 2, got {n}: in one dimension every direction is ±1 and "
            f"the cosine is always ±1, so there is no angle to speak of"
        )
    return n


def _epsilon(eps: object) -> float:
    return _validate.in_range(eps, "eps", 0.0, 1.0)


def _float_dtype(dtype: object) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a floating-point torch dtype, got {dtype!r}; "
            f"pass dtype=torch.float64 or dtype=torch.float32"
        )
    return dtype


def _placement(generator: torch.Generator | None, device: torch.device | str | None,
               dtype: object) -> tuple[torch.device, torch.dtype]:
    """Where to sample: the generator's device unless ``device`` says otherwise."""
    dtype = _float_dtype(dtype)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator or None, got {type(generator).__name__}; "
            f"make one with dotbook.device.generator(seed, device)"
        )
    where = torch.device(device) if device is not None else (
        generator.device if generator is not None else torch.device("cpu"))
    if generator is not None and generator.device.type != where.type:
        raise ValueError(
            f"the generator lives on {generator.device} but device={where}; make the "
            f"generator on the same device: dotbook.device.generator(seed, {str(where)!r})"
        )
    if where.type == "mps" and dtype == torch.float64:
        raise TypeError("MPS has no float64; pass dtype=torch.float32 on an MPS device")
    return where, dtype


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
    m = _validate.positive_int(m, "m")
    n = _dimension(n)
    where, dtype = _placement(generator, device, dtype)
    z = torch.randn(m, n, generator=generator, device=where, dtype=dtype)  # (m, n)
    length = geometry.norm(z).unsqueeze(-1)  # (m, 1); zero has probability 0
    return z / length


def cosine_samples(num: int, n: int, *, generator: torch.Generator | None = None,
                   device: torch.device | str | None = None,
                   dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""``num`` draws of :math:`\cos\theta` between two independent random
    directions in :math:`\mathbb R^n`, in :math:`O(\text{num})` work whatever ``n``.

    Rotate so that one direction is :math:`e_1`: the cosine is then the first
    coordinate of a uniform direction, :math:`z_1 / \lVert z\rVert`. Its
    denominator only needs :math:`\lVert z\rVert^2 = z_1^2 + S` where
    :math:`S = \sum_{i\ge 2} z_i^2 \sim \chi^2_{n-1} = 2\,\mathrm{Gamma}(\tfrac{n-1}{2})`,
    so we draw :math:`z_1` and :math:`S` directly instead of :math:`n` numbers:

    .. math::  \cos\theta = \frac{z_1}{\sqrt{z_1^2 + S}} .

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
    num = _validate.positive_int(num, "num")
    n = _dimension(n)
    where, dtype = _placement(generator, device, dtype)
    z1 = torch.randn(num, generator=generator, device=where, dtype=dtype)  # (num,)
    shape = torch.full((num,), (n - 1) / 2, device=where, dtype=dtype)  # (num,)
    # torch's Gamma sampler with an explicit generator (torch.distributions has none)
    rest = 2.0 * torch._standard_gamma(shape, generator=generator)  # (num,) ~ χ²_{n-1}
    return (z1 / torch.sqrt(z1 * z1 + rest)).clamp(-1.0, 1.0)


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
    k = _validate.positive_int(k, "k")
    n = _dimension(n)
    if k % 2:
        return 0.0
    value = 1.0
    for i in range(k // 2):
        value *= (2 * i + 1) / (n + 2 * i)
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
def max_abs_pairwise_cosine(u: torch.Tensor) -> float:
    r"""The largest :math:`|\cos\theta_{ij}|` over all pairs :math:`i \ne j` of
    the rows of ``u``: the off-diagonal maximum of the Gram matrix
    :math:`\hat U \hat U^{\top}` of the normalised rows, built a block of rows
    at a time so that memory stays bounded for large ``m``.

    Args:
        u: ``m >= 2`` non-zero vectors as rows, on any device.

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
    if m < 2:
        raise ValueError(f"u has m = {m} row(s); a pairwise cosine needs m >= 2 vectors")
    if n < 1:
        raise ValueError(f"u has shape {tuple(u.shape)} with n = 0; pass n >= 1")
    length = geometry.norm(u)  # (m,)
    if bool((length == 0).any()):
        raise ValueError("u contains a zero row: the angle to a zero vector is undefined")
    u_hat = u / length.unsqueeze(-1)  # (m, n)
    rows = max(1, _GRAM_CHUNK // m)
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
    u = _validate.tensor(u, "u")
    if u.ndim != 2 or u.shape[0] < 2:
        raise ValueError(f"u must have shape (m, n) with m >= 2, got {tuple(u.shape)}")
    best = 0.0
    for i in range(u.shape[0]):
        for j in range(i + 1, u.shape[0]):
            best = max(best, abs(float(geometry.cosine(u[i], u[j]))))
    return best


def running_max_abs_cosine(u: torch.Tensor) -> torch.Tensor:
    r"""How the largest pairwise :math:`|\cos\theta|` grows as directions are added:
    entry :math:`k` is :math:`\max_{i < j \le k} |\cos\theta_{ij}|` over the first
    :math:`k + 1` rows (entry 0, a single vector, is 0).

    One pass over the lower triangle of the Gram matrix, a block of rows at a
    time, then a running maximum; :func:`max_abs_pairwise_cosine` of the first
    :math:`k+1` rows equals entry :math:`k`.

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
    length = geometry.norm(u)  # (m,)
    if bool((length == 0).any()):
        raise ValueError("u contains a zero row: the angle to a zero vector is undefined")
    u_hat = u / length.unsqueeze(-1)  # (m, n)
    rows = max(1, _GRAM_CHUNK // m)
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
    m = _validate.positive_int(m, "m")
    if m < 2:
        raise ValueError(f"m must be >= 2 (a pair of directions), got {m}")
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
    m = _validate.positive_int(m, "m")
    if m < 2:
        raise ValueError(f"m must be >= 2 (a pair of directions), got {m}")
    n = _dimension(n)
    delta = _validate.in_range(delta, "delta", 0.0, 1.0)
    if delta == 0.0:
        raise ValueError("delta must be > 0; with delta = 0 the bound only gives eps = 1")
    pairs = m * (m - 1) / 2
    if pairs <= delta:  # pairs * P(|cos| > 0) = pairs
        return 0.0
    return float(optimize.brentq(lambda e: pairs * tail_probability(e, n) - delta,
                                 0.0, 1.0, xtol=1e-14, rtol=1e-12))
