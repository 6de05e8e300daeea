r"""Counting the work of dot products, and the routes that compute them (Chapter 4).

**Work.** A dot product of length :math:`n` does :math:`n` multiplications and
:math:`n - 1` additions. This module follows the usual convention of BLAS and
benchmark reports and counts :math:`2n` (the first add into an accumulator
that starts at zero, or one fused multiply–add per term, counted as 2 FLOP);
the difference is one part in :math:`2n`. So

.. math::  \text{FLOP}(a\cdot b) = 2n, \qquad \text{FLOP}(Wx) = 2mn, \qquad
           \text{FLOP}(AB) = 2mkn

for :math:`W\in\mathbb{R}^{m\times n}` and :math:`A\in\mathbb{R}^{m\times k}`,
:math:`B\in\mathbb{R}^{k\times n}`: a matrix product is :math:`mn` dot products
of length :math:`k`.

**Traffic.** The fewest bytes an operation must move between memory and the
processor is every input read once and every output written once (reads and
writes both count; real traffic can only be larger, e.g. through write-allocate
or re-reading what fell out of a cache); with
:math:`s` bytes per element (4 for float32),

.. math::  \text{bytes}(a\cdot b) = (2n + 1)s, \quad
           \text{bytes}(Wx) = (mn + n + m)s, \quad
           \text{bytes}(AB) = (mk + kn + mn)s .

Their ratio is the **arithmetic intensity** :math:`I` in FLOP per byte. For a
float32 dot product :math:`I = 2n/(8n+4) \approx 1/4`, whatever :math:`n`; for a
square matrix product of side :math:`N` it is :math:`2N^3/(12N^2) = N/6`, which
grows without bound. The **roofline** model (Williams, Waterman & Patterson, 2009) says a
kernel of intensity :math:`I` can reach at most

.. math::  P(I) = \min(P_{\text{peak}},\; I \cdot \beta)

FLOP/s, where :math:`P_{\text{peak}}` is the device's peak arithmetic rate and
:math:`\beta` its memory bandwidth. :func:`dotbook.measure.ceilings` measures both.
Timing and the ceilings live in :mod:`dotbook.measure`; this module counts
work, computes by each route (:func:`dot_route`, :func:`matvec_loop`,
:func:`matmul_loop`) and fits how time grows (:func:`loglog_fit`,
:func:`crossover`).

The ladder's routes for one dot product (``method=``): ``"loop"`` (the Python
loop of :func:`dotbook.geometry.dot_loop`), ``"generator"`` (``sum`` over
``zip``), ``"numpy"`` (``numpy.dot``, a BLAS call) and ``"torch"``
(``torch.dot``, on the tensor's device). Each route runs on its own native
data (Python lists, NumPy arrays, tensors), converted before the clock starts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from dotbook import _validate

__all__ = [
    "OPS", "METHODS", "DOT_METHODS", "Fit",
    "dot_flops", "matvec_flops", "matmul_flops", "dot_bytes", "matvec_bytes", "matmul_bytes",
    "copy_bytes", "intensity", "work", "dot_route", "matvec_loop", "matmul_loop",
    "loglog_fit", "crossover", "MAX_ELEMENTS",
]

#: The operations :func:`dotbook.measure.measure` times, and the shape each one takes.
OPS: dict[str, str] = {
    "dot": "(n,): one dot product of two length-n vectors",
    "matvec": "(m, n): W @ x, m dot products of length n",
    "matmul": "(m, k, n): A @ B, m·n dot products of length k",
    "copy": "(numel,): y.copy_(x), the bandwidth probe",
}
#: The routes of the dot-product ladder, slowest first.
DOT_METHODS: tuple[str, ...] = ("loop", "generator", "numpy", "torch")
#: Which routes each operation has: ``"loop"`` is a Python loop (of ``torch.dot``
#: for the matrix products), ``"torch"`` one PyTorch call.
METHODS: dict[str, tuple[str, ...]] = {
    "dot": DOT_METHODS,
    "matvec": ("loop", "torch"),
    "matmul": ("loop", "torch"),
    "copy": ("torch",),
}
#: Routes that run in the Python interpreter or NumPy, hence on the CPU only.
_CPU_ONLY = frozenset({"loop", "generator", "numpy"})


# ------------------------------------------------------------------ counting work
#: The largest size a chapter could ever ask for, per dimension and in elements (10¹⁰):
#: a bigger request is refused before any work or allocation starts.
MAX_ELEMENTS = 10**10


def _sizes(shape: Sequence[int], names: str) -> tuple[int, ...]:
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (list, tuple, torch.Size)):
        raise TypeError(f"shape must be a tuple of sizes ({names.strip()}), got {shape!r}")
    return tuple(_validate.integer(v, name.strip(), at_least=1, at_most=MAX_ELEMENTS)
                 for v, name in zip(shape, names.split(","), strict=True))


def _itemsize(dtype: object) -> int:
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch dtype, got {dtype!r}; pass e.g. torch.float32")
    return dtype.itemsize


def dot_flops(n: int) -> int:
    r"""Floating-point operations in one dot product: :math:`2n` (n multiplies, n adds).

    Strictly there are :math:`n - 1` additions; like BLAS operation counts,
    this counts one multiply–add per term (the first add is into zero).

    Examples::

        >>> dot_flops(1000)
        2000
    """
    (n,) = _sizes((n,), "n")
    return 2 * n


def matvec_flops(m: int, n: int) -> int:
    r"""FLOP of :math:`Wx` with :math:`W\in\mathbb{R}^{m\times n}`: :math:`2mn` (m dot products).

    Examples::

        >>> matvec_flops(3, 4)
        24
    """
    m, n = _sizes((m, n), "m, n")
    return 2 * m * n


def matmul_flops(m: int, k: int, n: int) -> int:
    r"""FLOP of :math:`AB` with :math:`A\in\mathbb{R}^{m\times k}, B\in\mathbb{R}^{k\times n}`:
    :math:`2mkn` (:math:`mn` dot products of length :math:`k`).

    Examples::

        >>> matmul_flops(2, 3, 4)
        48
    """
    m, k, n = _sizes((m, k, n), "m, k, n")
    return 2 * m * k * n


def dot_bytes(n: int, dtype: torch.dtype = torch.float32) -> int:
    r"""Fewest bytes a dot product moves: read :math:`a` and :math:`b`, write one number,
    :math:`(2n+1)s` for :math:`s` bytes per element.

    Examples::

        >>> dot_bytes(1000, torch.float32), dot_bytes(1000, torch.float64)
        (8004, 16008)
    """
    (n,) = _sizes((n,), "n")
    return (2 * n + 1) * _itemsize(dtype)


def matvec_bytes(m: int, n: int, dtype: torch.dtype = torch.float32) -> int:
    r"""Fewest bytes :math:`Wx` moves: :math:`(mn + n + m)s`.

    Examples::

        >>> matvec_bytes(3, 4, torch.float32)
        76
    """
    m, n = _sizes((m, n), "m, n")
    return (m * n + n + m) * _itemsize(dtype)


def matmul_bytes(m: int, k: int, n: int, dtype: torch.dtype = torch.float32) -> int:
    r"""Fewest bytes :math:`AB` moves: :math:`(mk + kn + mn)s`.

    Examples::

        >>> matmul_bytes(2, 3, 4, torch.bfloat16)
        52
    """
    m, k, n = _sizes((m, k, n), "m, k, n")
    return (m * k + k * n + m * n) * _itemsize(dtype)


def copy_bytes(numel: int, dtype: torch.dtype = torch.float32) -> int:
    r"""Bytes a copy of ``numel`` elements moves: read once, write once, :math:`2\,\text{numel}\,s`.

    Examples::

        >>> copy_bytes(1024, torch.float32)
        8192
    """
    (numel,) = _sizes((numel,), "numel")
    return 2 * numel * _itemsize(dtype)


def work(op: str, shape: Sequence[int], dtype: torch.dtype = torch.float32) -> tuple[int, int]:
    """``(FLOP, fewest bytes)`` of operation ``op`` (one of :data:`OPS`) at ``shape``.

    A copy does no arithmetic: 0 FLOP.

    Examples::

        >>> work("dot", (1000,))
        (2000, 8004)
        >>> work("matmul", (64, 64, 64))
        (524288, 49152)
    """
    op = _validate.choice(op, "op", tuple(OPS))
    shape = _shape(op, shape)
    if op == "dot":
        return dot_flops(*shape), dot_bytes(*shape, dtype)
    if op == "matvec":
        return matvec_flops(*shape), matvec_bytes(*shape, dtype)
    if op == "matmul":
        return matmul_flops(*shape), matmul_bytes(*shape, dtype)
    return 0, copy_bytes(*shape, dtype)


def intensity(flops: float, nbytes: float) -> float:
    r"""Arithmetic intensity :math:`I = \text{FLOP}/\text{bytes}`.

    Examples::

        >>> round(intensity(*work("dot", (10**6,))), 4)
        0.25
        >>> intensity(*work("matmul", (1200, 1200, 1200)))  # N/6 in float32
        200.0
    """
    flops = _validate.in_range(flops, "flops", 0.0, math.inf)
    nbytes = _validate.in_range(nbytes, "nbytes", 0.0, math.inf)
    if nbytes == 0:
        raise ValueError("nbytes must be > 0: an operation that moves no data has no intensity")
    return flops / nbytes


def _shape(op: str, shape: object) -> tuple[int, ...]:
    """``shape`` as a tuple of positive ints of the length ``op`` needs."""
    want = {"dot": 1, "matvec": 2, "matmul": 3, "copy": 1}[op]
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or len(shape) != want:
        raise ValueError(f"shape for {op!r} must be {OPS[op].split(':')[0]}, got {shape!r}")
    names = {"dot": "n", "matvec": "m, n", "matmul": "m, k, n", "copy": "numel"}[op]
    return _sizes(shape, ", ".join(f"shape's {n.strip()}" for n in names.split(",")))


# ------------------------------------------------------------------ the routes
def _generator_sum(xs: list[float], ys: list[float]) -> float:
    return sum(x * y for x, y in zip(xs, ys, strict=True))


def _loop_sum(xs: list[float], ys: list[float]) -> float:
    # the loop of geometry.dot_loop, on lists already made (so the clock sees only the loop)
    total = 0.0
    for x_i, y_i in zip(xs, ys, strict=True):
        total += x_i * y_i
    return total


def _native(method: str, a: torch.Tensor, b: torch.Tensor) -> tuple[Callable[..., Any], tuple]:
    """The kernel of ``method`` and its operands in the kernel's own data structure."""
    if method in _CPU_ONLY and a.device.type != "cpu":
        raise ValueError(f"method {method!r} runs in Python/NumPy on the CPU, but the vectors "
                         f"are on {a.device}; pass CPU tensors (a.cpu()) or method='torch'")
    if method == "loop":
        return _loop_sum, (a.tolist(), b.tolist())
    if method == "generator":
        return _generator_sum, (a.tolist(), b.tolist())
    if method == "numpy":
        if a.dtype not in (torch.float16, torch.float32, torch.float64):
            raise TypeError(f"NumPy has no {a.dtype}; use float32 or float64 for "
                            f"method='numpy'")
        return np.dot, (a.numpy(), b.numpy())
    return torch.dot, (a, b)


def dot_route(a: torch.Tensor, b: torch.Tensor, *, method: str = "torch") -> float:
    r"""One dot product :math:`\sum_i a_i b_i` by one route of the ladder, as a Python float.

    All routes compute the same number; they differ only in speed (and the name
    says so: :func:`dotbook.geometry.dot` is *the* dot product, this is the
    route through which one is computed). ``"loop"`` is
    :func:`dotbook.geometry.dot_loop`'s loop, ``"generator"`` is
    ``sum(x * y for x, y in zip(a, b))``, ``"numpy"`` is ``numpy.dot`` and
    ``"torch"`` is ``torch.dot`` on the vectors' device. The first three run on
    the CPU and accumulate in double precision (Python floats) or NumPy's dtype.

    The result is a plain float, so no route carries a gradient: tensors that
    require grad are read through ``detach()`` (the value is the same; use
    ``torch.dot`` itself to differentiate).

    Args:
        a, b: vectors of the same length, dtype and device.
        method: one of :data:`DOT_METHODS`.

    Shape:
        - a, b: :math:`(n)`
        - output: a Python ``float``

    Examples::

        >>> a, b = torch.tensor([1., 2., 3.]), torch.tensor([4., -5., 6.])
        >>> [dot_route(a, b, method=m) for m in DOT_METHODS]
        [12.0, 12.0, 12.0, 12.0]
    """
    a, b = _validate.vector(a, "a"), _validate.vector(b, "b")
    _validate.same_shape(a, b)
    method = _validate.choice(method, "method", DOT_METHODS)
    kernel, args = _native(method, a.detach(), b.detach())
    return float(kernel(*args))


def matvec_loop(W: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r""":math:`Wx` as :math:`m` separate dot products, :math:`z_i = W_i\cdot x`, one ``torch.dot``
    call per row (the fast twin is ``W @ x``; Chapter 5's ``layers.linear_loop`` adds a bias).

    Shape:
        - W: :math:`(m, n)`
        - x: :math:`(n)`
        - output: :math:`(m)`

    Examples::

        >>> matvec_loop(torch.tensor([[1., 0.], [1., 1.]]), torch.tensor([2., 3.]))
        tensor([2., 5.])
    """
    W, x = _validate.matrix(W, "W"), _validate.vector(x, "x")
    _validate.last_dim(x, "x", W.shape[1], W, "W")
    return torch.stack([torch.dot(W[i], x) for i in range(W.shape[0])])  # (m,)


def matmul_loop(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    r""":math:`AB` as :math:`mn` separate dot products, :math:`(AB)_{ij} = A_{i,:}\cdot B_{:,j}`,
    one ``torch.dot`` call each (the fast twin is ``A @ B``).

    Shape:
        - A: :math:`(m, k)`
        - B: :math:`(k, n)`
        - output: :math:`(m, n)`

    Examples::

        >>> matmul_loop(torch.tensor([[1., 2.]]), torch.tensor([[3., 0.], [4., 1.]]))
        tensor([[11.,  2.]])
    """
    A, B = _validate.matrix(A, "A"), _validate.matrix(B, "B")
    if A.shape[1] != B.shape[0]:
        raise ValueError(f"shape mismatch: A has shape {tuple(A.shape)} and B has shape "
                         f"{tuple(B.shape)}; A @ B needs A's columns = B's rows")
    _validate.same_kind(A, B, "A, B")
    columns = B.mT  # (n, k): column j of B as a (strided) vector
    rows = [torch.stack([torch.dot(A[i], columns[j]) for j in range(B.shape[1])])  # (n,)
            for i in range(A.shape[0])]
    return torch.stack(rows)  # (m, n)



# ------------------------------------------------------------------ complexity
@dataclass(frozen=True)
class Fit:
    r"""A power law :math:`t = c\,x^{p}` fitted on log–log axes (least squares).

    Attributes:
        slope: the exponent :math:`p`.
        coefficient: :math:`c`.
        points: how many points were fitted.
    """

    slope: float
    coefficient: float
    points: int

    def __call__(self, x: float) -> float:
        return self.coefficient * x ** self.slope


def loglog_fit(x: Sequence[float], y: Sequence[float]) -> Fit:
    r"""Fit :math:`\log y = p\log x + \log c` by least squares.

    Examples::

        >>> fit = loglog_fit([10, 100, 1000], [2e-5, 2e-4, 2e-3])
        >>> round(fit.slope, 6), round(fit.coefficient, 9)
        (1.0, 2e-06)
    """
    arrays = []
    for values, name in ((x, "x"), (y, "y")):
        try:
            arrays.append(np.asarray(values, dtype=float))
        except (TypeError, ValueError, OverflowError):
            raise TypeError(f"{name} must be a list of positive numbers, got "
                            f"{type(values).__name__}") from None
    xs, ys = arrays
    if xs.shape != ys.shape or xs.ndim != 1:
        raise ValueError(f"x and y must be 1-D of the same length, got {xs.shape} and {ys.shape}")
    if len(xs) < 2 or len(set(xs.tolist())) < 2:
        raise ValueError(f"a slope needs at least two different x values, got {xs.tolist()}")
    if (xs <= 0).any() or (ys <= 0).any() or not np.isfinite(xs).all() or \
            not np.isfinite(ys).all():
        raise ValueError("log–log fitting needs finite positive x and y")
    slope, intercept = np.polyfit(np.log(xs), np.log(ys), 1)
    return Fit(slope=float(slope), coefficient=float(math.exp(intercept)), points=len(xs))


def crossover(overhead: float, bandwidth: float, dtype: torch.dtype = torch.float32) -> float:
    r"""The length :math:`n^*` at which moving a dot product's data takes as long as
    the fixed cost of one call: :math:`n^* = t_0\,\beta / (2s)`.

    Below :math:`n^*` the per-call overhead :math:`t_0` dominates and time hardly
    grows with :math:`n`; above it, time grows like :math:`n`. With :math:`\beta`
    the main-memory bandwidth this is a low estimate: short vectors usually sit
    in a cache, which delivers more than :math:`\beta`.

    Examples::

        >>> crossover(2e-6, 16e9)  # 2 µs of overhead, 16 GB/s, float32
        4000.0
    """
    overhead = _validate.in_range(overhead, "overhead", 0.0, math.inf)
    bandwidth = _validate.in_range(bandwidth, "bandwidth", 0.0, math.inf)
    if bandwidth == 0:
        raise ValueError("bandwidth must be > 0 (bytes per second)")
    return overhead * bandwidth / (2 * _itemsize(dtype))
