r"""Computing dot products fast: the ladder from a Python loop to one matrix product.

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
:math:`\beta` its memory bandwidth. :func:`ceilings` measures both.

**Timing.** Every time in this module comes from :func:`dotbook.device.timed`
(it synchronises CUDA/MPS), as a :class:`Measurement` that carries its FLOP and
byte counts, so a rate in GFLOP/s and GB/s stands next to every time.

The ladder's routes for one dot product (``method=``): ``"loop"`` (the Python
loop of :func:`dotbook.geometry.dot_loop`), ``"generator"`` (``sum`` over
``zip``), ``"numpy"`` (``numpy.dot``, a BLAS call) and ``"torch"``
(``torch.dot``, on the tensor's device). Each route runs on its own native
data (Python lists, NumPy arrays, tensors), converted before the clock starts.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import torch

from dotbook import _validate
from dotbook import device as _device

__all__ = [
    "OPS", "METHODS", "DOT_METHODS", "Measurement", "Ceilings", "Fit", "Reference",
    "dot_flops", "matvec_flops", "matmul_flops", "dot_bytes", "matvec_bytes", "matmul_bytes",
    "copy_bytes", "intensity", "work", "dot", "matvec_loop", "matmul_loop", "resolve_device",
    "fast_dtype", "dtype_name", "measure", "ladder", "matrix_ladder", "ceilings",
    "loglog_fit", "crossover", "speedups", "select", "table", "device_name", "references",
    "reference", "reference_entry", "LADDER_SIZES", "MATRIX_SIZES", "CEILING_SIZES",
]

#: The operations :func:`measure` times, and the shape each one takes.
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
_LABELS = {"loop": "Python loop", "generator": "sum over zip", "numpy": "numpy.dot"}


# ------------------------------------------------------------------ counting work
def _sizes(shape: Sequence[int], names: str) -> tuple[int, ...]:
    return tuple(_validate.integer(v, name.strip(), at_least=1)
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
    return _sizes(shape, names)


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


def dot(a: torch.Tensor, b: torch.Tensor, *, method: str = "torch") -> float:
    r"""One dot product :math:`\sum_i a_i b_i` by one route of the ladder, as a Python float.

    All routes compute the same number; they differ only in speed. ``"loop"`` is
    :func:`dotbook.geometry.dot_loop`'s loop, ``"generator"`` is
    ``sum(x * y for x, y in zip(a, b))``, ``"numpy"`` is ``numpy.dot`` and
    ``"torch"`` is ``torch.dot`` on the vectors' device. The first three run on
    the CPU and accumulate in double precision (Python floats) or NumPy's dtype.

    Args:
        a, b: vectors of the same length, dtype and device.
        method: one of :data:`DOT_METHODS`.

    Shape:
        - a, b: :math:`(n)`
        - output: a Python ``float``

    Examples::

        >>> a, b = torch.tensor([1., 2., 3.]), torch.tensor([4., -5., 6.])
        >>> [dot(a, b, method=m) for m in DOT_METHODS]
        [12.0, 12.0, 12.0, 12.0]
    """
    a, b = _validate.vector(a, "a"), _validate.vector(b, "b")
    _validate.same_shape(a, b)
    method = _validate.choice(method, "method", DOT_METHODS)
    kernel, args = _native(method, a, b)
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


# ------------------------------------------------------------------ devices and dtypes
def resolve_device(device: torch.device | str) -> torch.device:
    """``device`` as a ``torch.device`` that exists on this machine, or a clear error.

    Examples::

        >>> resolve_device("cpu")
        device(type='cpu')
        >>> resolve_device("tpu")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: 'tpu' is not a device torch knows; pass 'cpu', ...
    """
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str or torch.device, got {type(device).__name__}; "
                        f"pass e.g. 'cpu' or book.device")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"{device!r} is not a device torch knows; pass 'cpu', or 'cuda' / "
                         f"'mps' on a machine that has one (dotbook.device.best())") from None
    available = {"cpu": True, "cuda": torch.cuda.is_available(),
                 "mps": getattr(torch.backends, "mps", None) is not None
                 and torch.backends.mps.is_available()}
    if not available.get(dev.type, False):
        raise ValueError(f"device {str(dev)!r} is not available on this machine; pass 'cpu' "
                         f"or dotbook.device.best() (here: {_device.best()})")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {str(dev)!r} does not exist: this machine has "
                         f"{torch.cuda.device_count()} CUDA device(s)")
    return dev


def fast_dtype(device: torch.device | str) -> torch.dtype:
    """The 16-bit dtype a device multiplies matrices fastest in.

    bfloat16 on CUDA (when supported, else float16) and on the CPU (oneDNN has
    bfloat16 kernels for AVX-512 BF16 and AMX; on a CPU without such
    instructions bfloat16 may be no faster than float32, which is why
    :func:`ceilings` measures both). CPU float16 matmul can be hundreds of times
    slower than bfloat16. float16 on MPS.

    Examples::

        >>> fast_dtype("cpu")
        torch.bfloat16
    """
    dev = resolve_device(device)
    if dev.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if dev.type == "mps":
        return torch.float16
    return torch.bfloat16


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float32`` → ``"float32"``.

    Examples::

        >>> dtype_name(torch.bfloat16)
        'bfloat16'
    """
    return str(dtype).removeprefix("torch.")


def device_name(device: torch.device | str) -> str:
    """A human name for the hardware behind ``device`` (GPU model, or CPU model and cores).

    Examples::

        >>> isinstance(device_name("cpu"), str)
        True
    """
    dev = resolve_device(device)
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    if dev.type == "mps":
        return f"Apple GPU (MPS), {platform.machine()}"
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


# ------------------------------------------------------------------ measuring
@dataclass(frozen=True)
class Measurement:
    """One timed operation, with the work it did and the rates that follow.

    Attributes:
        op: one of :data:`OPS`.
        method: the route (:data:`METHODS`).
        shape: the sizes, e.g. ``(n,)`` or ``(m, k, n)``.
        device: where it ran (``"cpu"``, ``"cuda"``, ``"mps"``).
        dtype: the tensors' dtype name (``"float32"``).
        seconds: median time per call, from :func:`dotbook.device.timed`.
        best: the fastest repeat, seconds (what the ceilings use).
        spread: interquartile range of the repeats, seconds.
        repeats: how many timed repeats.
        flops, nbytes: the work, from :func:`work`.
    """

    op: str
    method: str
    shape: tuple[int, ...]
    device: str
    dtype: str
    seconds: float
    best: float
    spread: float
    repeats: int
    flops: int
    nbytes: int

    @property
    def flop_rate(self) -> float:
        """FLOP per second (at the median time)."""
        return self.flops / self.seconds

    @property
    def best_flop_rate(self) -> float:
        """FLOP per second in the fastest repeat."""
        return self.flops / self.best

    @property
    def best_byte_rate(self) -> float:
        """Bytes per second in the fastest repeat."""
        return self.nbytes / self.best

    @property
    def byte_rate(self) -> float:
        """Bytes per second (the fewest bytes the operation must move; median time)."""
        return self.nbytes / self.seconds

    @property
    def intensity(self) -> float:
        """FLOP per byte."""
        return self.flops / self.nbytes

    @property
    def label(self) -> str:
        """The route as the reader sees it: ``"torch.dot (cpu)"``, ``"Python loop"``, ..."""
        if self.op != "dot" and self.method == "loop":
            return f"loop of torch.dot ({self.device})"
        if self.method in _LABELS:
            return _LABELS[self.method]
        fast = {"dot": "torch.dot", "matvec": "W @ x", "matmul": "A @ B", "copy": "copy"}
        return f"{fast[self.op]} ({self.device})"

    def __str__(self) -> str:
        size = "×".join(map(str, self.shape))
        rate = (f"{self.flop_rate / 1e9:8.3g} GFLOP/s" if self.flops else " " * 16)
        return (f"{self.op:6} {size:>15} {self.label:20} {self.dtype:8} "
                f"{_device._seconds(self.seconds):>9}  {rate}  {self.byte_rate / 1e9:8.3g} GB/s")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["shape"] = list(self.shape)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Measurement:
        return cls(**{**d, "shape": tuple(d["shape"])})


def _operands(op: str, shape: tuple[int, ...], dev: torch.device, dtype: torch.dtype,
              seed: int) -> tuple[torch.Tensor, ...]:
    g = _device.generator(seed, dev)
    if op == "dot":
        sizes = [shape, shape]
    elif op == "matvec":
        sizes = [shape, shape[1:]]
    elif op == "matmul":
        m, k, n = shape
        sizes = [(m, k), (k, n)]
    else:
        return (torch.empty(shape, device=dev, dtype=dtype).fill_(1.0),
                torch.empty(shape, device=dev, dtype=dtype))
    # drawn in float32 (every device has it), then cast: randn has no kernel for some 16-bit types
    return tuple(torch.randn(s, generator=g, device=dev, dtype=torch.float32).to(dtype)
                 for s in sizes)


def _blas_threads(threads: int | None) -> contextlib.AbstractContextManager:
    """Limit NumPy's BLAS to ``threads`` threads (OpenBLAS splits a dot product longer
    than 10,000 over its threads; ``torch.set_num_threads`` does not reach it)."""
    if threads is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def _copy(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    return dst.copy_(src)


def measure(op: str, shape: int | Sequence[int], *, method: str = "torch",
            device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
            repeats: int = 5, warmup: int = 1, seed: int = 0,
            threads: int | None = None) -> Measurement:
    """Time one operation on random data through :func:`dotbook.device.timed`.

    The operands are drawn (with a generator on ``device``) and converted to the
    route's own data structure before the clock starts; what is timed is the
    call alone.

    Args:
        op: ``"dot"``, ``"matvec"``, ``"matmul"`` or ``"copy"`` (:data:`OPS`).
        shape: ``n`` or ``(n,)``; ``(m, n)``; ``(m, k, n)``; ``numel``.
        method: a route of ``op`` (:data:`METHODS`); ``"loop"``, ``"generator"``
            and ``"numpy"`` run on the CPU only.
        device: where the tensors live.
        dtype: the tensors' dtype.
        repeats, warmup: passed to :func:`dotbook.device.timed`.
        seed: seeds the operands' generator.
        threads: CPU threads for torch, and for NumPy's BLAS when ``method="numpy"``
            (through ``threadpoolctl``, installed with scikit-learn), while timing
            (``None``: the libraries' current settings, restored afterwards either way).

    Returns:
        a :class:`Measurement`.

    Examples::

        >>> m = measure("dot", 1000, repeats=3)
        >>> m.flops, m.nbytes, m.seconds > 0
        (2000, 8004, True)
    """
    op = _validate.choice(op, "op", tuple(OPS))
    shape = _shape(op, shape)
    method = _validate.choice(method, f"method for {op!r}", METHODS[op])
    dev = resolve_device(device)
    if method in _CPU_ONLY and dev.type != "cpu":
        raise ValueError(f"method {method!r} runs in Python/NumPy on the CPU; pass "
                         f"device='cpu' (the ladder times it there) or method='torch'")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch dtype, got {dtype!r}")
    if not _device.supports(dev, dtype):
        raise TypeError(f"{dev.type} has no {dtype}; pass dtype=torch.float32")
    seed = _validate.integer(seed, "seed", at_least=0)
    tensors = _operands(op, shape, dev, dtype, seed)
    if op == "dot":
        fn, args = _native(method, *tensors)
    elif op == "copy":
        fn, args = _copy, tensors
    elif method == "loop":
        fn, args = (matvec_loop if op == "matvec" else matmul_loop), tensors
    else:
        fn, args = torch.matmul, tensors
    threads = None if threads is None else _validate.integer(threads, "threads", at_least=1)
    with _device.cpu_threads(threads), _blas_threads(threads if method == "numpy" else None):
        t = _device.timed(fn, *args, repeats=repeats, warmup=warmup)
    flops, nbytes = work(op, shape, dtype)
    return Measurement(op=op, method=method, shape=shape, device=dev.type,
                       dtype=dtype_name(dtype), seconds=t.median, best=min(t.times),
                       spread=t.spread,
                       repeats=len(t.times), flops=flops, nbytes=nbytes)


#: The dot-product sizes of the ladder; the Python routes stop at ``loop_max``.
LADDER_SIZES: tuple[int, ...] = (10, 30, 100, 300, 1_000, 3_000, 10_000, 30_000, 100_000,
                                 300_000, 1_000_000, 3_000_000, 10_000_000)


def ladder(sizes: Sequence[int] = LADDER_SIZES, *, device: torch.device | str = "cpu",
           dtype: torch.dtype = torch.float32, loop_max: int = 10_000, repeats: int = 5,
           warmup: int = 1, seed: int = 0, threads: int | None = 1) -> list[Measurement]:
    """The dot-product ladder: every route at every size.

    At each ``n``: the Python loop and ``sum`` over ``zip`` (only while
    ``n <= loop_max``, they are slow), ``numpy.dot``, ``torch.dot`` on the CPU,
    and ``torch.dot`` on ``device`` when that is a GPU.

    The ladder compares *routes*, not core counts: by default torch and
    NumPy's BLAS run on one CPU thread while they are timed (the Python loop
    cannot use more, and a BLAS that splits a small dot product over threads
    waits for the slowest one, which on a busy machine can cost a whole
    scheduler time slice). Pass ``threads=None`` for the libraries' own settings.

    Examples::

        >>> rows = ladder((10, 100), repeats=2)
        >>> sorted({r.method for r in rows}), len(rows)
        (['generator', 'loop', 'numpy', 'torch'], 8)
    """
    dev = resolve_device(device)
    loop_max = _validate.integer(loop_max, "loop_max", at_least=1)
    out = []
    for n in sizes:
        n = _validate.integer(n, "each size n", at_least=1)
        cpu_dtype = dtype if dtype in (torch.float32, torch.float64) else torch.float32
        for method in DOT_METHODS:
            if method in ("loop", "generator") and n > loop_max:
                continue
            out.append(measure("dot", (n,), method=method, device="cpu",
                               dtype=cpu_dtype if method != "torch" else dtype,
                               repeats=repeats, warmup=warmup, seed=seed, threads=threads))
        if dev.type != "cpu":
            out.append(measure("dot", (n,), device=dev, dtype=dtype, repeats=repeats,
                               warmup=warmup, seed=seed))
    return out


#: Square sizes of the matrix ladder: (matrix–vector sides, matrix–matrix sides).
MATRIX_SIZES: tuple[tuple[int, ...], tuple[int, ...]] = ((64, 128, 256, 512, 1024, 2048, 4096),
                                                         (16, 32, 64))


def matrix_ladder(matvec_sizes: Sequence[int] = MATRIX_SIZES[0],
                  matmul_sizes: Sequence[int] = MATRIX_SIZES[1], *,
                  device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                  repeats: int = 5, warmup: int = 1, seed: int = 0,
                  threads: int | None = 1) -> list[Measurement]:
    """Matrix–vector and matrix–matrix products, as a Python loop of ``torch.dot``
    and as one ``@``, on square shapes ``(N, N)`` and ``(N, N, N)``. On the CPU,
    torch runs on ``threads`` threads (see :func:`ladder`; ``None``: torch's own).

    Examples::

        >>> rows = matrix_ladder((8,), (4,), repeats=2)
        >>> [(r.op, r.method, r.shape) for r in rows]  # doctest: +NORMALIZE_WHITESPACE
        [('matvec', 'loop', (8, 8)), ('matvec', 'torch', (8, 8)),
         ('matmul', 'loop', (4, 4, 4)), ('matmul', 'torch', (4, 4, 4))]
    """
    out = []
    for op, sizes in (("matvec", matvec_sizes), ("matmul", matmul_sizes)):
        for side in sizes:
            side = _validate.integer(side, f"each {op} size", at_least=1)
            shape = (side,) * (2 if op == "matvec" else 3)
            for method in METHODS[op]:
                out.append(measure(op, shape, method=method, device=device, dtype=dtype,
                                   repeats=repeats, warmup=warmup, seed=seed,
                                   threads=threads))
    return out


def speedups(rows: Sequence[Measurement], *, baseline: str = "loop") -> dict[tuple, float]:
    """How many times faster each route is than ``baseline`` at the same op and shape.

    Returns ``{(op, shape, label): time(baseline) / time(route)}`` for every
    row whose baseline was measured.

    Examples::

        >>> rows = [Measurement("dot", "loop", (10,), "cpu", "float32", 2e-6, 2e-6, 0, 1, 20, 84),
        ...         Measurement("dot", "torch", (10,), "cpu", "float32", 1e-6, 1e-6, 0, 1, 20, 84)]
        >>> speedups(rows)[("dot", (10,), "torch.dot (cpu)")]
        2.0
    """
    base = {(r.op, r.shape): r.seconds for r in rows if r.method == baseline}
    return {(r.op, r.shape, r.label): base[(r.op, r.shape)] / r.seconds
            for r in rows if (r.op, r.shape) in base}


def select(rows: Sequence[Measurement], *, op: str = "dot", label: str | None = None,
           method: str | None = None) -> list[Measurement]:
    """The rows of ``op`` (and of one route, by ``label`` or ``method``), smallest first.

    Examples::

        >>> rows = ladder((100, 10), repeats=1)
        >>> [r.shape[0] for r in select(rows, label="numpy.dot")]
        [10, 100]
    """
    picked = [r for r in rows if r.op == op and (label is None or r.label == label)
              and (method is None or r.method == method)]
    return sorted(picked, key=lambda r: math.prod(r.shape))


def table(rows: Sequence[Measurement], *, baseline: str = "loop") -> str:
    """The rows as a text table: time, GFLOP/s, GB/s, and the speed-up over ``baseline``.

    Examples::

        >>> print(table([Measurement("dot", "numpy", (10,), "cpu", "float32", 1e-6, 1e-6, 0, 1,
        ...                          20, 84)]))  # doctest: +NORMALIZE_WHITESPACE
        op  size  route  dtype  time  GFLOP/s  GB/s  speed-up
        dot  10  numpy.dot  float32  1 µs  0.02  0.084
    """
    fast = speedups(rows, baseline=baseline)
    lines = [f"{'op':6} {'size':>15} {'route':24} {'dtype':8} {'time':>9} {'GFLOP/s':>9} "
             f"{'GB/s':>8} {'speed-up':>9}"]
    for r in rows:
        ratio = fast.get((r.op, r.shape, r.label))
        lines.append(f"{r.op:6} {'×'.join(map(str, r.shape)):>15} {r.label:24} {r.dtype:8} "
                     f"{_device._seconds(r.seconds):>9} {r.flop_rate / 1e9:9.3g} "
                     f"{r.byte_rate / 1e9:8.3g} {'' if ratio is None else f'{ratio:8.3g}×':>9}")
    return "\n".join(line.rstrip() for line in lines)


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
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
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


# ------------------------------------------------------------------ ceilings
#: Default sizes for :func:`ceilings`: (square matmul side, copy elements), per device type.
CEILING_SIZES: dict[str, tuple[int, int]] = {
    "cpu": (1024, 2**25),     # 128 MiB per buffer: past any CPU's last-level cache
    "cuda": (8192, 2**28),    # 1 GiB per buffer (float32)
    "mps": (4096, 2**27),
}


@dataclass(frozen=True)
class Ceilings:
    """A device's two roofline ceilings, with the measurements behind them.

    Attributes:
        device: the device type.
        matmul: large square matmuls, float32 and the device's fast dtype.
        copy: a large copy (the bandwidth probe).
    """

    device: str
    matmul: tuple[Measurement, ...]
    copy: Measurement

    @property
    def peak(self) -> float:
        """Peak arithmetic rate, FLOP/s: the best repeat of the fastest matmul."""
        return max(m.best_flop_rate for m in self.matmul)

    @property
    def peak_dtype(self) -> str:
        return max(self.matmul, key=lambda m: m.best_flop_rate).dtype

    def peak_in(self, dtype: str | torch.dtype) -> float:
        """Measured matmul rate in ``dtype`` (FLOP/s)."""
        name = dtype if isinstance(dtype, str) else dtype_name(dtype)
        for m in self.matmul:
            if m.dtype == name:
                return m.best_flop_rate
        raise ValueError(f"no matmul in {name} was measured; measured: "
                         f"{[m.dtype for m in self.matmul]}")

    @property
    def bandwidth(self) -> float:
        """Memory bandwidth, bytes/s, from the copy's best repeat."""
        return self.copy.best_byte_rate

    def ridge(self, dtype: str | torch.dtype | None = None) -> float:
        """The intensity (FLOP/byte) where the two ceilings meet: peak / bandwidth."""
        peak = self.peak if dtype is None else self.peak_in(dtype)
        return peak / self.bandwidth

    def attainable(self, intensity: float, dtype: str | torch.dtype | None = None) -> float:
        r"""The roofline :math:`\min(P_{\text{peak}}, I\beta)` at ``intensity``, in FLOP/s."""
        intensity = _validate.in_range(intensity, "intensity", 0.0, math.inf)
        peak = self.peak if dtype is None else self.peak_in(dtype)
        return min(peak, intensity * self.bandwidth)

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "matmul": [m.to_dict() for m in self.matmul],
                "copy": self.copy.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Ceilings:
        return cls(device=d["device"], matmul=tuple(Measurement.from_dict(m) for m in d["matmul"]),
                   copy=Measurement.from_dict(d["copy"]))

    def summary(self) -> str:
        """One line: the float32 peak, the fastest dtype's peak, the bandwidth."""
        return (f"float32 peak {self.peak_in('float32') / 1e9:,.0f} GFLOP/s, {self.peak_dtype} "
                f"peak {self.peak / 1e9:,.0f} GFLOP/s, bandwidth {self.bandwidth / 1e9:,.1f} GB/s")

    def __str__(self) -> str:
        rows = [str(m) for m in (*self.matmul, self.copy)]
        rows.append(f"peak {self.peak / 1e9:.3g} GFLOP/s ({self.peak_dtype}), bandwidth "
                    f"{self.bandwidth / 1e9:.3g} GB/s, ridge {self.ridge():.3g} FLOP/byte")
        return "\n".join(rows)


def ceilings(device: torch.device | str = "cpu", *, matmul_size: int | None = None,
             copy_numel: int | None = None, dtypes: Sequence[torch.dtype] | None = None,
             repeats: int = 5, warmup: int = 1) -> Ceilings:
    """Measure the device's peak FLOP/s (large matmuls) and bandwidth (a large copy).

    Args:
        device: where to measure.
        matmul_size: side :math:`N` of the square matmuls (default per device,
            :data:`CEILING_SIZES`); larger is closer to the true peak on an idle
            machine, and slower (on a busy one, long multi-threaded calls are rarely
            left undisturbed, and even the fastest repeat falls short).
        copy_numel: float32 elements copied (default per device); make it far
            larger than the last-level cache, or it measures the cache.
        dtypes: matmul dtypes (default: float32 and :func:`fast_dtype`).
        repeats, warmup: passed to :func:`dotbook.device.timed`.

    Returns:
        :class:`Ceilings`, whose measurements record the sizes and dtypes used.

    A ceiling is what the hardware *can* do, so, as the STREAM benchmark does
    (McCalpin, 1995), each rate is taken from the fastest repeat: a
    slower repeat only says that something else was running. Torch uses all
    its threads here.

    Examples::

        >>> c = ceilings("cpu", matmul_size=64, copy_numel=4096, repeats=2)
        >>> [m.dtype for m in c.matmul], c.copy.shape, c.peak > 0, c.bandwidth > 0
        (['float32', 'bfloat16'], (4096,), True, True)
    """
    dev = resolve_device(device)
    size, numel = CEILING_SIZES[dev.type]
    size = size if matmul_size is None else _validate.integer(matmul_size, "matmul_size")
    numel = numel if copy_numel is None else _validate.integer(copy_numel, "copy_numel")
    if dtypes is None:
        dtypes = tuple(dict.fromkeys((torch.float32, fast_dtype(dev))))
    if not dtypes:
        raise ValueError("dtypes is empty; pass at least one, e.g. (torch.float32,)")
    mm = tuple(measure("matmul", (size, size, size), device=dev, dtype=dt, repeats=repeats,
                       warmup=warmup) for dt in dtypes)
    cp = measure("copy", (numel,), device=dev, dtype=torch.float32, repeats=repeats,
                 warmup=warmup)
    return Ceilings(device=dev.type, matmul=mm, copy=cp)


# ------------------------------------------------------------------ reference measurements
@dataclass(frozen=True)
class Reference:
    """One device's stored reference measurements (see ``references/compute.json``).

    ``status`` is ``"measured"`` or ``"never measured"``; a device never
    measured has no numbers at all (``ceilings`` is ``None``, ``rows`` empty).
    """

    device: str
    name: str
    status: str
    note: str
    date: str | None = None
    torch: str | None = None
    ceilings: Ceilings | None = None
    rows: tuple[Measurement, ...] = field(default_factory=tuple)

    @property
    def measured(self) -> bool:
        return self.status == "measured"

    @property
    def label(self) -> str:
        """``"reference: <name> (<date>)"``, or says it was never measured."""
        if not self.measured:
            return f"{self.name}: never measured"
        return f"reference: {self.name} ({self.date}, torch {self.torch})"


_REFERENCE_FILE = "compute.json"


def references() -> dict[str, Any]:
    """The stored reference file (package data ``dotbook/references/compute.json``), as a dict.

    Examples::

        >>> sorted(references()["devices"])
        ['cpu', 'cuda']
    """
    text = resources.files("dotbook").joinpath("references", _REFERENCE_FILE).read_text("utf-8")
    return json.loads(text)


def reference(device_type: str = "cpu") -> Reference:
    """The stored reference for one device type (``"cpu"`` or ``"cuda"``).

    Examples::

        >>> reference("cpu").measured
        True
    """
    stored = references()["devices"]
    device_type = _validate.choice(device_type, "device_type", sorted(stored))
    d = stored[device_type]
    ceil = Ceilings.from_dict(d["ceilings"]) if d.get("ceilings") else None
    rows = tuple(Measurement.from_dict(r) for r in d.get("rows", ()))
    return Reference(device=device_type, name=d["name"], status=d["status"], note=d["note"],
                     date=d.get("date"), torch=d.get("torch"), ceilings=ceil, rows=rows)


def reference_entry(name: str, ceil: Ceilings, rows: Sequence[Measurement], *, date: str,
                    note: str) -> dict[str, Any]:
    """A measured device's entry for the reference file (used by ``tools/bench_compute.py``)."""
    return {"name": name, "status": "measured", "note": note, "date": date,
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "ceilings": ceil.to_dict(), "rows": [r.to_dict() for r in rows]}
