r"""Why attention divides its scores by √d_k: score statistics and softmax saturation (Chapter 7).

For independent unit-variance components, :math:`\operatorname{Var}(q\cdot k) = d_k`
(Vaswani et al., 2017, footnote 4): :func:`score_variance` measures it with its
standard error (:func:`variance_standard_error`, from :func:`score_fourth_moment`).
Without the division the softmax saturates: :func:`saturation` and
:func:`saturation_curves` measure the largest weight, the :func:`entropy` and
the :func:`softmax_jacobian_norm` against d_k.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from dotbook import _validate
from dotbook import device as _device
from dotbook.attention import attention_weights

__all__ = ["entropy", "softmax_jacobian_norm", "score_fourth_moment", "variance_standard_error",
           "ScoreVariance", "score_variance", "Saturation", "saturation", "saturation_curves"]


def entropy(p: torch.Tensor) -> torch.Tensor:
    r"""Shannon entropy :math:`H(p) = -\sum_j p_j \log p_j` (nats) of each row; 0·log 0 = 0.

    Shape:
        p (*, T) → (*).

    Examples::

        >>> entropy(torch.tensor([[0.5, 0.5], [1.0, 0.0]]))
        tensor([0.6931, 0.0000])
    """
    p = _validate.batched(p, "p")
    return torch.special.entr(p).sum(dim=-1)  # entr(x) = -x log x, entr(0) = 0


def softmax_jacobian_norm(p: torch.Tensor) -> torch.Tensor:
    r"""Frobenius norm of the softmax Jacobian :math:`J = \operatorname{diag}(p) - pp^\top`.

    :math:`\lVert J\rVert_F^2 = \sum_j p_j^2 - 2\sum_j p_j^3 + (\sum_j p_j^2)^2`: how much
    the weights move when the scores move. It is 0 at a one-hot ``p``
    (a saturated softmax passes no gradient back to its scores).

    Shape:
        p (*, T) → (*).

    Examples::

        >>> softmax_jacobian_norm(torch.tensor([[1.0, 0.0], [0.5, 0.5]]))
        tensor([0.0000, 0.5000])
    """
    p = _validate.finite(_validate.batched(p, "p"), "p")  # probabilities: never inf
    p2 = (p * p).sum(dim=-1)
    p3 = (p * p * p).sum(dim=-1)
    return (p2 - 2 * p3 + p2 * p2).clamp_min(0).sqrt()


def score_fourth_moment(d_k: int) -> float:
    r""":math:`E[(q\cdot k)^4] = 3d_k^2 + 6d_k` for iid standard normal components.

    With :math:`X_i = q_i k_i`: :math:`E[X_i^2] = 1`, :math:`E[X_i^4] = E[q_i^4]E[k_i^4] = 9`,
    so :math:`E[(\sum X_i)^4] = 9d_k + 3d_k(d_k - 1)`.

    Examples::

        >>> score_fourth_moment(1), score_fourth_moment(4)
        (9.0, 72.0)
    """
    d_k = _validate.integer(d_k, "d_k", at_most=10**12)
    return 3.0 * d_k * d_k + 6.0 * d_k


def variance_standard_error(d_k: int, samples: int) -> float:
    r"""Standard error of the unbiased sample variance of N draws of q·k (Gaussian components).

    :math:`\operatorname{Var}(s^2) = \big(\mu_4 - \sigma^4\tfrac{N-3}{N-1}\big)/N`
    with :math:`\sigma^2 = d_k` and :math:`\mu_4 = 3d_k^2 + 6d_k`; for large N
    this is :math:`\approx (2d_k^2 + 6d_k)/N`.

    Examples::

        >>> round(variance_standard_error(1, 10_001), 4)
        0.0283
    """
    samples = _validate.integer(samples, "samples", at_least=2, at_most=10**12)
    mu4, sigma2 = score_fourth_moment(d_k), float(d_k)
    return math.sqrt((mu4 - sigma2 * sigma2 * (samples - 3) / (samples - 1)) / samples)


@dataclass(frozen=True)
class ScoreVariance:
    """What :func:`score_variance` measured, one entry per d_k (float64 CPU tensors).

    Attributes:
        d_k: the widths.
        mean: sample mean of q·k (theory: 0).
        variance: unbiased sample variance of q·k (theory: d_k).
        standard_error: the standard error of ``variance`` under the theory.
        samples: N, draws per width.
    """

    d_k: torch.Tensor
    mean: torch.Tensor
    variance: torch.Tensor
    standard_error: torch.Tensor
    samples: int

    @property
    def z(self) -> torch.Tensor:
        """(variance − d_k) / standard error: within a few units when the theory holds."""
        return (self.variance - self.d_k) / self.standard_error


def score_variance(d_ks: Sequence[int], samples: int = 10_000, *,
                   generator: torch.Generator | None = None,
                   device: torch.device | str | None = None,
                   dtype: torch.dtype = torch.float64) -> ScoreVariance:
    r"""Measure mean and variance of :math:`q\cdot k` for :math:`q, k \sim N(0, I_{d_k})`.

    Vaswani et al. (2017, footnote 4): with independent zero-mean,
    unit-variance components, :math:`q\cdot k` has mean 0 and variance
    :math:`d_k`, so its typical size grows like :math:`\sqrt{d_k}`; dividing by
    :math:`\sqrt{d_k}` brings the variance back to 1.

    Args:
        d_ks: the widths to measure, each >= 1.
        samples: draws of (q, k) per width, >= 2.
        generator, device, dtype: where to draw (see :func:`dotbook.device.placement`).

    Returns:
        a :class:`ScoreVariance`.

    Examples::

        >>> r = score_variance([1, 64], 4000, generator=torch.Generator().manual_seed(0))
        >>> bool((r.z.abs() < 5).all())
        True
    """
    where, dtype = _device.placement(device, dtype, generator)
    samples = _validate.integer(samples, "samples", at_least=2, at_most=10**8)
    widths = _validate.sizes(d_ks, "d_ks", at_most=10**5, max_len=1000)
    means, variances = [], []
    for d_k in widths:
        rows = max(1, min(samples, 2**20 // d_k))  # draw at most ~1M numbers at a time
        dots = []
        for start in range(0, samples, rows):
            n = min(rows, samples - start)
            q = torch.randn(n, d_k, generator=generator, device=where, dtype=dtype)  # (n, d_k)
            k = torch.randn(n, d_k, generator=generator, device=where, dtype=dtype)  # (n, d_k)
            dots.append((q * k).sum(dim=-1))  # (n,)
        x = torch.cat(dots).double().cpu()  # (samples,)
        means.append(float(x.mean()))
        variances.append(float(x.var(unbiased=True)))
    f64 = dict(dtype=torch.float64)
    return ScoreVariance(
        d_k=torch.tensor(widths, **f64), mean=torch.tensor(means, **f64),
        variance=torch.tensor(variances, **f64),
        standard_error=torch.tensor([variance_standard_error(d, samples) for d in widths], **f64),
        samples=samples)


@dataclass(frozen=True)
class Saturation:
    """Softmax statistics of random attention rows, averaged over queries (floats).

    Attributes:
        max_weight: mean of the largest weight per row (1/T is uniform, 1 is one-hot).
        entropy: mean entropy per row, in nats (log T is uniform, 0 is one-hot).
        jacobian_norm: mean Frobenius norm of the softmax Jacobian per row.
        T: keys per row.
    """

    max_weight: float
    entropy: float
    jacobian_norm: float
    T: int


def saturation(d_k: int, scaled: bool, T: int = 16, queries: int = 256, *,
               generator: torch.Generator | None = None,
               device: torch.device | str | None = None,
               dtype: torch.dtype = torch.float64) -> Saturation:
    r"""How peaked softmax rows get for random q, k with N(0, 1) components, scaled or not.

    Draws ``queries`` queries and T keys of width d_k, scores them with
    :math:`q\cdot k/\sqrt{d_k}` (``scaled``) or :math:`q\cdot k`, and averages
    the row statistics. Unscaled scores have standard deviation
    :math:`\sqrt{d_k}`, so for large d_k the softmax saturates: the largest
    weight → 1, the entropy → 0 and the Jacobian norm → 0 (vanishing gradients).

    Examples::

        >>> g = torch.Generator().manual_seed(0)
        >>> a = saturation(256, scaled=False, generator=g)
        >>> b = saturation(256, scaled=True, generator=g)
        >>> a.max_weight > b.max_weight, a.jacobian_norm < b.jacobian_norm
        (True, True)
    """
    where, dtype = _device.placement(device, dtype, generator)
    d_k = _validate.integer(d_k, "d_k", at_most=10**5)
    T = _validate.integer(T, "T", at_least=2, at_most=10**5)
    queries = _validate.integer(queries, "queries", at_most=10**6)
    _device.check_fits(queries * T * d_k * dtype.itemsize, where, "saturation's draws")
    if not isinstance(scaled, bool):
        raise TypeError(f"scaled must be True or False, got {scaled!r}")
    q = torch.randn(queries, d_k, generator=generator, device=where, dtype=dtype)  # (Q, d_k)
    k = torch.randn(T, d_k, generator=generator, device=where, dtype=dtype)  # (T, d_k)
    p = attention_weights(q, k, scale=None if scaled else 1.0)  # (Q, T)
    return Saturation(max_weight=float(p.amax(dim=-1).mean()), entropy=float(entropy(p).mean()),
                      jacobian_norm=float(softmax_jacobian_norm(p).mean()), T=T)


def saturation_curves(d_max: int, T: int = 16, queries: int = 256, *,
                      generator: torch.Generator | None = None,
                      device: torch.device | str | None = None,
                      dtype: torch.dtype = torch.float64) -> dict[str, dict[str, torch.Tensor]]:
    r"""The statistics of :func:`saturation` for every d_k = 1 … d_max from one draw.

    One query matrix (queries, d_max) and one key matrix (T, d_max) are drawn;
    the scores at width d_k use their first d_k coordinates (running sums of
    :math:`q_c k_c`), so neighbouring widths share their randomness and the
    curves are smooth. Work is done in slabs of 64 widths.

    Returns:
        ``{"scaled": stats, "unscaled": stats}``, each a dict of float64 CPU
        tensors of shape (d_max,): ``max_weight``, ``entropy`` (nats) and
        ``jacobian_norm``, averaged over the queries; index ``d_k - 1``.

    Examples::

        >>> c = saturation_curves(256, generator=torch.Generator().manual_seed(0))
        >>> bool(c["unscaled"]["max_weight"][-1] > 0.9 > c["scaled"]["max_weight"][-1])
        True
    """
    where, dtype = _device.placement(device, dtype, generator)
    d_max = _validate.integer(d_max, "d_max", at_most=10**5)
    T = _validate.integer(T, "T", at_least=2, at_most=10**5)
    queries = _validate.integer(queries, "queries", at_most=10**6)
    _device.check_fits(64 * queries * T * dtype.itemsize, where, "saturation_curves' slabs")
    q = torch.randn(queries, d_max, generator=generator, device=where, dtype=dtype)  # (Q, d)
    k = torch.randn(T, d_max, generator=generator, device=where, dtype=dtype)  # (T, d)
    out = {mode: {"max_weight": [], "entropy": [], "jacobian_norm": []}
           for mode in ("scaled", "unscaled")}
    running = torch.zeros(queries, T, 1, dtype=dtype, device=where)  # (Q, T, 1)
    for c0 in range(0, d_max, 64):
        c1 = min(c0 + 64, d_max)
        terms = q[:, None, c0:c1] * k[None, :, c0:c1]  # (Q, T, slab) products q_c k_jc
        s = running + torch.cumsum(terms, dim=-1)  # (Q, T, slab): q·k at d_k = c0+1 … c1
        running = s[..., -1:]
        s = s.permute(2, 0, 1)  # (slab, Q, T)
        widths = torch.arange(c0 + 1, c1 + 1, dtype=dtype, device=where)[:, None, None]
        for mode, scores_ in (("scaled", s / widths.sqrt()), ("unscaled", s)):
            p = torch.softmax(scores_, dim=-1)  # (slab, Q, T)
            out[mode]["max_weight"].append(p.amax(dim=-1).mean(dim=-1))
            out[mode]["entropy"].append(entropy(p).mean(dim=-1))
            out[mode]["jacobian_norm"].append(softmax_jacobian_norm(p).mean(dim=-1))
    return {mode: {key: torch.cat(v).double().cpu() for key, v in stats.items()}
            for mode, stats in out.items()}
