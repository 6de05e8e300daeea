r"""Measuring honestly: the timing harness of Chapter 4 and the memory measurement of Chapter 7.

Every time here comes from :func:`dotbook.device.timed`, which synchronises only
the device under test and times short calls in blocks (autorange), as a
:class:`Measurement` that carries its FLOP and byte counts (from
:func:`dotbook.compute.work`), its dtype and the CPU threads it ran on, so a rate
in GFLOP/s and GB/s stands next to every time.

The roofline's ceilings, the theoretical peak and the stored reference numbers
are in :mod:`dotbook.roofline`, built on this harness.

Chapter 7's memory measurement lives here too: :func:`peak_bytes`,
:func:`measure_at_scale`, :func:`bytes_per_score`, :func:`max_length`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from dotbook import _validate
from dotbook import device as _device
from dotbook.compute import (
    _CPU_ONLY,
    DOT_METHODS,
    METHODS,
    OPS,
    _native,
    _shape,
    matmul_loop,
    matvec_loop,
    work,
)

__all__ = [
    "Measurement", "measure", "ladder", "matrix_ladder", "speedups", "select", "table",
    "LADDER_SIZES", "MATRIX_SIZES", "peak_bytes", "max_length", "ScaleRow", "SCALE_METHODS",
    "measure_at_scale", "bytes_per_score",
]

_LABELS = {"loop": "Python loop", "generator": "sum over zip", "numpy": "numpy.dot"}


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
        flops, nbytes: the work, from :func:`dotbook.compute.work`.
        threads: CPU threads the route ran on (1 for the Python routes; ``None``
            in measurements stored before threads were recorded).
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
    threads: int | None = None

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
                f"{_device._seconds(self.seconds):>9}  {rate}  {self.byte_rate / 1e9:8.3g} GB/s"
                f"  threads {self.threads}")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["shape"] = list(self.shape)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Measurement:
        return cls(**{**d, "shape": tuple(d["shape"])})


def _operands(op: str, shape: tuple[int, ...], dev: torch.device, dtype: torch.dtype,
              g: torch.Generator) -> tuple[torch.Tensor, ...]:
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
            repeats: int = 5, warmup: int = 1, generator: torch.Generator | None = None,
            threads: int | None = None, number: int | None = None) -> Measurement:
    """Time one operation on random data through :func:`dotbook.device.timed`.

    The operands are drawn (with ``generator``, on ``device``) and converted to
    the route's own data structure before the clock starts; what is timed is the
    call alone. Only ``device`` is synchronised (nothing for the CPU), and
    ``number=None`` times short calls in blocks long enough for the clock
    (autorange), reporting the time per call.

    Args:
        op: ``"dot"``, ``"matvec"``, ``"matmul"`` or ``"copy"`` (:data:`dotbook.compute.OPS`).
        shape: ``n`` or ``(n,)``; ``(m, n)``; ``(m, k, n)``; ``numel``.
        method: a route of ``op`` (:data:`dotbook.compute.METHODS`); ``"loop"``,
            ``"generator"`` and ``"numpy"`` run on the CPU only.
        device: where the tensors live.
        dtype: the tensors' dtype.
        repeats, warmup, number: passed to :func:`dotbook.device.timed`.
        generator: draws the operands (default: ``device.generator(0)`` on ``device``).
        threads: CPU threads for torch, and for NumPy's BLAS when ``method="numpy"``
            (through ``threadpoolctl``), while timing (``None``: the libraries'
            current settings, restored afterwards either way). The count used is
            recorded in the measurement.

    Returns:
        a :class:`Measurement`.

    Examples::

        >>> m = measure("dot", 1000, repeats=3)
        >>> m.flops, m.nbytes, m.seconds > 0, m.threads >= 1
        (2000, 8004, True, True)
    """
    op = _validate.choice(op, "op", tuple(OPS))
    shape = _shape(op, shape)
    method = _validate.choice(method, f"method for {op!r}", METHODS[op])
    dev, dtype = _device.check(device, dtype)
    if method in _CPU_ONLY and dev.type != "cpu":
        raise ValueError(f"method {method!r} runs in Python/NumPy on the CPU; pass "
                         f"device='cpu' (the ladder times it there) or method='torch'")
    flops, nbytes = work(op, shape, dtype)
    _device.check_fits(nbytes, dev, f"{op} at shape {shape}")
    if method in ("loop", "generator") and math.prod(shape) > 10**8:
        raise ValueError(f"method {method!r} at shape {shape} would run the interpreter for "
                         f"minutes; keep n <= 10**8 for the Python routes")
    if generator is None:
        generator = _device.generator(0, dev)
    _device.placement(dev, dtype, generator)
    tensors = _operands(op, shape, dev, dtype, generator)
    if op == "dot":
        fn, args = _native(method, *tensors)
    elif op == "copy":
        fn, args = _copy, tensors
    elif method == "loop":
        fn, args = (matvec_loop if op == "matvec" else matmul_loop), tensors
    else:
        fn, args = torch.matmul, tensors
    threads = None if threads is None else _validate.integer(threads, "threads", at_least=1,
                                                             at_most=4096)
    with _device.cpu_threads(threads), _blas_threads(threads if method == "numpy" else None):
        used = 1 if method in ("loop", "generator") else torch.get_num_threads()
        t = _device.timed(fn, *args, repeats=repeats, warmup=warmup, number=number,
                          device=dev)
    return Measurement(op=op, method=method, shape=shape, device=dev.type,
                       dtype=_device.dtype_name(dtype), seconds=t.median, best=min(t.times),
                       spread=t.spread, repeats=len(t.times), flops=flops, nbytes=nbytes,
                       threads=used)


#: The dot-product sizes of the ladder; the Python routes stop at ``loop_max``.
LADDER_SIZES: tuple[int, ...] = (10, 30, 100, 300, 1_000, 3_000, 10_000, 30_000, 100_000,
                                 300_000, 1_000_000, 3_000_000, 10_000_000)


def ladder(sizes: Sequence[int] = LADDER_SIZES, *, device: torch.device | str = "cpu",
           dtype: torch.dtype = torch.float32, loop_max: int = 10_000, repeats: int = 5,
           warmup: int = 1, generator: torch.Generator | None = None,
           threads: int | None = 1) -> list[Measurement]:
    """The dot-product ladder: every route at every size.

    At each ``n``: the Python loop and ``sum`` over ``zip`` (only while
    ``n <= loop_max``, they are slow), ``numpy.dot``, ``torch.dot`` on the CPU,
    and ``torch.dot`` on ``device`` when that is a GPU.

    The ladder compares *routes*, not core counts: by default torch and
    NumPy's BLAS run on one CPU thread while they are timed (the Python loop
    cannot use more, and a BLAS that splits a small dot product over threads
    waits for the slowest one, which on a busy machine can cost a whole
    scheduler time slice). Pass ``threads=None`` for the libraries' own settings.
    Every call is timed in blocks of at least 0.2 ms (autorange), so a call of
    a fraction of a microsecond is timed, not the clock around it. One
    ``generator`` (default ``device.generator(0)``) draws every operand: the
    CPU routes' from a CPU generator seeded from it.

    Examples::

        >>> rows = ladder((10, 100), repeats=2)
        >>> sorted({r.method for r in rows}), len(rows)
        (['generator', 'loop', 'numpy', 'torch'], 8)
    """
    dev = _device.resolve_device(device)
    loop_max = _validate.integer(loop_max, "loop_max", at_least=1, at_most=10**8)
    if generator is None:
        generator = _device.generator(0, dev)
    _device.placement(dev, torch.float32, generator)
    cpu_gen = generator if dev.type == "cpu" else _device.generator(
        int(torch.randint(2**62, (), generator=generator, device=dev)))
    out = []
    for n in _validate.sizes(sizes, "sizes", at_most=10**10):
        cpu_dtype = dtype if dtype in (torch.float32, torch.float64) else torch.float32
        for method in DOT_METHODS:
            if method in ("loop", "generator") and n > loop_max:
                continue
            out.append(measure("dot", (n,), method=method, device="cpu",
                               dtype=cpu_dtype if method != "torch" else dtype,
                               repeats=repeats, warmup=warmup, generator=cpu_gen,
                               threads=threads, number=None))
        if dev.type != "cpu":
            out.append(measure("dot", (n,), device=dev, dtype=dtype, repeats=repeats,
                               warmup=warmup, generator=generator, number=None))
    return out


#: Square sizes of the matrix ladder: (matrix–vector sides, matrix–matrix sides).
MATRIX_SIZES: tuple[tuple[int, ...], tuple[int, ...]] = ((64, 128, 256, 512, 1024, 2048, 4096),
                                                         (16, 32, 64))


def matrix_ladder(matvec_sizes: Sequence[int] = MATRIX_SIZES[0],
                  matmul_sizes: Sequence[int] = MATRIX_SIZES[1], *,
                  device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                  repeats: int = 5, warmup: int = 1, generator: torch.Generator | None = None,
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
    dev = _device.resolve_device(device)
    if generator is None:
        generator = _device.generator(0, dev)
    out = []
    for op, sizes in (("matvec", matvec_sizes), ("matmul", matmul_sizes)):
        for side in _validate.sizes(sizes, f"{op}_sizes", at_most=10**5):
            shape = (side,) * (2 if op == "matvec" else 3)
            for method in METHODS[op]:
                out.append(measure(op, shape, method=method, device=dev, dtype=dtype,
                                   repeats=repeats, warmup=warmup, generator=generator,
                                   threads=threads, number=None))
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
    rows = _validate.rows(rows, Measurement, "Measurements from measure()")
    _validate.text(baseline, "baseline")
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
    rows = _validate.rows(rows, Measurement, "Measurements from measure()")
    _validate.text(op, "op")
    _validate.text(label, "label", optional=True)
    _validate.text(method, "method", optional=True)
    picked = [r for r in rows if r.op == op and (label is None or r.label == label)
              and (method is None or r.method == method)]
    return sorted(picked, key=lambda r: math.prod(r.shape))


def table(rows: Sequence[Measurement], *, baseline: str = "loop") -> str:
    """The rows as a text table: time, GFLOP/s, GB/s, and the speed-up over ``baseline``.

    Examples::

        >>> print(table([Measurement("dot", "numpy", (10,), "cpu", "float32", 1e-6, 1e-6, 0, 1,
        ...                          20, 84)]))  # doctest: +NORMALIZE_WHITESPACE
        op  size  route  dtype  threads  time  GFLOP/s  GB/s  speed-up
        dot  10  numpy.dot  float32  ?  1 µs  0.02  0.084
    """
    rows = _validate.rows(rows, Measurement, "Measurements from measure()")
    fast = speedups(rows, baseline=baseline)
    lines = [f"{'op':6} {'size':>15} {'route':24} {'dtype':8} {'threads':>7} {'time':>9} "
             f"{'GFLOP/s':>9} {'GB/s':>8} {'speed-up':>9}"]
    for r in rows:
        ratio = fast.get((r.op, r.shape, r.label))
        lines.append(f"{r.op:6} {'×'.join(map(str, r.shape)):>15} {r.label:24} {r.dtype:8} "
                     f"{r.threads or '?':>7} {_device._seconds(r.seconds):>9} "
                     f"{r.flop_rate / 1e9:9.3g} "
                     f"{r.byte_rate / 1e9:8.3g} {'' if ratio is None else f'{ratio:8.3g}×':>9}")
    return "\n".join(line.rstrip() for line in lines)



# ------------------------------------------------------------ measuring memory (Chapter 7)
@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Send file descriptors 1 and 2 to /dev/null for the block (C++ code writes there
    directly, past ``sys.stdout``), then restore them."""
    import sys

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def peak_bytes(fn: Callable[..., object], *args: object, **kwargs: object) -> int:
    """Peak bytes that ``fn(*args, **kwargs)`` allocates on top of what already exists.

    Measured, not computed from shapes:

    - **CUDA**: ``torch.cuda.max_memory_allocated`` after
      ``reset_peak_memory_stats``, minus what was allocated before the call.
    - **CPU**: PyTorch's profiler with ``profile_memory=True`` records every
      allocation and free of PyTorch's CPU allocator with the running total
      ("Total Allocated"); the peak of that running total during the call,
      minus its value before the first allocation, is the answer. (Python's
      ``tracemalloc`` does not see PyTorch's allocations, and the process RSS
      mixes in the C allocator's caching.) The profiler's own log lines, which
      its C++ side writes straight to the process's stderr, are silenced at the
      file-descriptor level for the call, so nothing reaches a notebook.

    The device is the one of the first tensor argument. The result includes
    the output tensor (it is alive at the end of the call).

    Examples::

        >>> peak_bytes(torch.zeros, 1000, dtype=torch.float64) >= 8000
        True
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    where = next((a.device for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)),
                 torch.device("cpu"))
    if where.type == "cuda":
        torch.cuda.synchronize(where)
        torch.cuda.reset_peak_memory_stats(where)
        before = torch.cuda.memory_allocated(where)
        out = fn(*args, **kwargs)
        torch.cuda.synchronize(where)
        peak = torch.cuda.max_memory_allocated(where) - before
        del out
        return int(peak)
    if where.type != "cpu":
        raise ValueError(f"peak_bytes measures cuda and cpu tensors; got tensors on {where}. "
                         f"Measure on the CPU (move the inputs with .cpu()) instead")
    from torch.profiler import ProfilerActivity, profile

    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        with _quiet():  # the profiler's C++ side prints start/stop lines to the process's stderr
            with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
                out = fn(*args, **kwargs)
            del out
            prof.export_chrome_trace(path)
        with open(path, encoding="utf-8") as f:
            events = json.load(f)["traceEvents"]
    finally:
        os.unlink(path)
    memory = sorted((e for e in events if e.get("name") == "[memory]"
                     and e.get("args", {}).get("Device Type") == 0),
                    key=lambda e: (e["ts"], e["args"].get("Ev Idx", 0)))
    if not memory:
        return 0
    start = memory[0]["args"]["Total Allocated"] - memory[0]["args"]["Bytes"]
    return int(max(e["args"]["Total Allocated"] for e in memory) - start)


def max_length(bytes_per_score: float, budget_bytes: float, heads: int = 1) -> int:
    r"""Longest T whose (heads, T, T) score storage fits a memory budget.

    :math:`T_{max} = \lfloor\sqrt{B / (b \cdot h)}\rfloor` for a budget of B bytes,
    b bytes per score element and h heads,
    where *bytes per score* is measured (it counts every T×T buffer the
    naive version keeps alive at its peak, not just one matrix).

    Examples::

        >>> max_length(8.0, 80e9, heads=32)
        17677
    """
    for value, name in ((bytes_per_score, "bytes_per_score"), (budget_bytes, "budget_bytes")):
        if _validate.in_range(value, name, 0.0, 1e30) <= 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    heads = _validate.integer(heads, "heads", at_most=10**6)
    return int(math.isqrt(int(budget_bytes / (bytes_per_score * heads))))


@dataclass(frozen=True)
class ScaleRow:
    """One measurement of :func:`measure_at_scale`.

    Attributes:
        method: ``"naive"`` (:func:`dotbook.attention.scaled_dot_product_attention`, the whole score
            matrix), ``"chunked"`` (:func:`dotbook.attention.chunked_attention`) or ``"fused"``
            (``torch.nn.functional.scaled_dot_product_attention``).
        T: sequence length (T_q = T_k = T).
        peak_bytes: measured by :func:`peak_bytes` (includes the output).
        seconds: median time per call, by :func:`dotbook.device.timed`.
        spread: the interquartile range of the times, in seconds.
    """

    method: str
    T: int
    peak_bytes: int
    seconds: float
    spread: float


#: The three routes :func:`measure_at_scale` compares.
SCALE_METHODS = ("naive", "chunked", "fused")


def measure_at_scale(Ts: Sequence[int], *, batch: int = 1, heads: int = 2, d_k: int = 64,
                     block: int = 256, methods: Sequence[str] = SCALE_METHODS,
                     repeats: int = 3, warmup: int = 1,
                     generator: torch.Generator | None = None,
                     device: torch.device | str | None = None,
                     dtype: torch.dtype = torch.float32) -> list[ScaleRow]:
    """Measure peak memory and time of self-attention at each sequence length T.

    Inputs are q, k, v of shape (batch, heads, T, d_k) drawn on ``device``.
    Each route runs once untimed, so that one-time allocations that persist
    (a GPU library's workspace) are not counted as its memory. Then memory
    comes from :func:`peak_bytes` (one call, on the side), time from
    :func:`dotbook.device.timed` (median of ``repeats`` after ``warmup``); the
    two are separate runs because the profiler slows the code it watches.

    Returns:
        one :class:`ScaleRow` per (T, method), T ascending.

    Examples::

        >>> rows = measure_at_scale([64], methods=["naive"], repeats=1, warmup=0)
        >>> rows[0].method, rows[0].T, rows[0].peak_bytes >= 2 * 64 * 64 * 4
        ('naive', 64, True)
    """
    import torch.nn.functional as F

    from dotbook.attention import chunked_attention, scaled_dot_product_attention

    where, dtype = _device.placement(device, dtype, generator)
    widths = _validate.sizes(Ts, "Ts", at_most=10**7)
    if isinstance(methods, str) or not isinstance(methods, (list, tuple)):
        raise TypeError(f"methods must be a list of names from {list(SCALE_METHODS)}, got "
                        f"{methods!r}")
    for i, m in enumerate(methods):
        _validate.choice(m, f"methods[{i}]", SCALE_METHODS)
    batch = _validate.integer(batch, "batch", at_most=10**6)
    heads = _validate.integer(heads, "heads", at_most=10**4)
    d_k = _validate.integer(d_k, "d_k", at_most=10**6)
    block = _validate.integer(block, "block", at_most=10**7)
    repeats = _validate.integer(repeats, "repeats", at_most=10**4)
    if "naive" in methods and widths:  # the (B, h, T, T) scores and their softmax, estimated
        _device.check_fits(3 * batch * heads * max(widths) ** 2 * dtype.itemsize, where,
              f"naive attention at T = {max(widths)}")
    routes: dict[str, Callable[..., torch.Tensor]] = {
        "naive": scaled_dot_product_attention,
        "chunked": lambda q, k, v: chunked_attention(q, k, v, block=block),
        "fused": F.scaled_dot_product_attention,
    }
    rows = []
    with torch.no_grad():
        for T in sorted(widths):
            q, k, v = (torch.randn(batch, heads, T, d_k, generator=generator, device=where,
                                   dtype=dtype) for _ in range(3))  # (B, h, T, d_k)
            for m in methods:
                fn = routes[m]
                fn(q, k, v)  # once first: one-time allocations (e.g. a cuBLAS workspace) persist
                used = peak_bytes(fn, q, k, v)
                t = _device.timed(fn, q, k, v, repeats=repeats, warmup=warmup)
                rows.append(ScaleRow(m, T, used, t.median, t.spread))
            del q, k, v
    return rows


def bytes_per_score(rows: Sequence[ScaleRow], method: str = "naive", *, batch: int = 1,
                    heads: int = 2) -> float:
    r"""Measured bytes per score element: the slope of peak memory against B·h·T².

    From the two largest T measured for ``method``:
    :math:`(P_2 - P_1) / (Bh\,(T_2^2 - T_1^2))`. If the peak is
    :math:`aBhT^2 + cT`, this is :math:`a + c/(Bh(T_1 + T_2))`: terms linear in
    T (inputs, output, running statistics) shrink like 1/T, and what is left is
    what the (T, T) buffers alive at the peak cost per element.

    Examples::

        >>> rows = [ScaleRow("naive", 10, 1300, 0.0, 0.0), ScaleRow("naive", 20, 4900, 0.0, 0.0)]
        >>> bytes_per_score(rows, heads=1)
        12.0
    """
    rows = _validate.rows(rows, ScaleRow, "the ScaleRows from measure_at_scale")
    _validate.choice(method, "method", SCALE_METHODS)
    batch = _validate.integer(batch, "batch", at_most=10**6)
    heads = _validate.integer(heads, "heads", at_most=10**6)
    mine = sorted((r for r in rows if r.method == method), key=lambda r: r.T)
    if len(mine) < 2:
        raise ValueError(f"bytes_per_score needs rows at two or more T for {method!r}, "
                         f"got {len(mine)}")
    a, b = mine[-2], mine[-1]
    return (b.peak_bytes - a.peak_bytes) / (batch * heads * (b.T**2 - a.T**2))
