"""Where tensors live, how runs are made reproducible, and how code is timed.

The book runs on whatever the reader has. :func:`best` picks CUDA, then Apple's
MPS, then the CPU; the CPU always works. :func:`seed` fixes every random
generator a chapter touches, and :func:`generator` makes a private one.

**Device and dtype policy.** A chapter asks for the dtype it needs (the book's
default is float64, because its checks compare against exact values);
:func:`dotbook.notebook.setup` then computes on ``best(dtype)``, the fastest
device that can hold that dtype. MPS has no float64, so a float64 chapter on
an Apple GPU runs on the CPU, and ``setup`` prints a one-line note saying so.
A chapter that is happy in float32 asks for it and gets the Apple GPU. Nothing
is silently downcast: every tensor and generator a chapter makes lives on
``book.device`` with ``book.dtype``.

Samplers take ``generator``, ``device`` and ``dtype`` and resolve them with
:func:`placement`, which refuses a generator on another device and float64 on
MPS with a message that says what to pass instead.

:func:`timed` is the one way the book times code: it synchronises CUDA/MPS
before and after every call, so asynchronous kernels are not flattered.
"""

from __future__ import annotations

import contextlib
import random
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from dotbook import _validate

__all__ = ["best", "supports", "skipped", "placement", "seed", "describe", "generator",
           "timed", "Timing", "synchronize", "cpu_threads", "dtype_name"]

#: dtypes a device type cannot hold (MPS has no 64-bit floating point).
_UNSUPPORTED = {"mps": frozenset({torch.float64, torch.complex128})}


def _available() -> list[torch.device]:
    """The accelerators present, fastest first, then the CPU."""
    found = []
    if torch.cuda.is_available():
        found.append(torch.device("cuda"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append(torch.device("mps"))
    found.append(torch.device("cpu"))
    return found


def _dtype(dtype: object, name: str = "dtype") -> torch.dtype:
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"{name} must be a torch dtype, got {dtype!r}; "
                        f"pass e.g. torch.float64 or torch.float32")
    return dtype


def dtype_name(dtype: torch.dtype) -> str:
    """The short name of a dtype, as the book prints it: ``torch.float16`` → ``"float16"``.

    Examples::

        >>> dtype_name(torch.bfloat16)
        'bfloat16'
    """
    return str(_dtype(dtype)).removeprefix("torch.")


def supports(dev: torch.device | str, dtype: torch.dtype) -> bool:
    """Whether device ``dev`` can hold tensors of ``dtype`` (MPS has no float64).

    Examples::

        >>> supports("cpu", torch.float64), supports("mps", torch.float64)
        (True, False)
        >>> supports("mps", torch.float32)
        True
    """
    dev = torch.device(dev)
    return _dtype(dtype) not in _UNSUPPORTED.get(dev.type, frozenset())


def best(dtype: torch.dtype | None = None) -> torch.device:
    """The fastest available device that can hold ``dtype``: ``cuda`` → ``mps`` → ``cpu``.

    With ``dtype=None`` any device counts. With ``dtype=torch.float64`` MPS is
    skipped, since it has no float64.

    Examples::

        >>> best().type in {"cuda", "mps", "cpu"}
        True
        >>> best(torch.float64).type != "mps"
        True
    """
    for dev in _available():
        if dtype is None or supports(dev, dtype):
            return dev
    return torch.device("cpu")  # pragma: no cover - the CPU holds every dtype


def skipped(dtype: torch.dtype | None) -> list[torch.device]:
    """The available devices faster than ``best(dtype)`` that cannot hold ``dtype``.

    Examples::

        >>> skipped(None)
        []
    """
    chosen = best(dtype)
    faster = []
    for dev in _available():
        if dev == chosen:
            break
        faster.append(dev)
    return faster


def placement(device: torch.device | str | None, dtype: object,
              generator: torch.Generator | None) -> tuple[torch.device, torch.dtype]:
    """Where a sampler draws: ``device`` if given, else the generator's device, else the CPU.

    Every sampler in the book calls this first. It refuses what would fail
    later, or silently elsewhere: a generator that is not a ``torch.Generator``,
    a generator living on another device than ``device`` (torch would raise deep
    inside a kernel), a non-floating ``dtype``, and float64 on MPS.

    Args:
        device: the requested device, or ``None``.
        dtype: a floating-point torch dtype.
        generator: a ``torch.Generator`` or ``None``.

    Returns:
        ``(device, dtype)``, resolved.

    Examples::

        >>> placement(None, torch.float64, generator(0))
        (device(type='cpu'), torch.float64)
        >>> placement("meta", torch.float32, generator(0))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: the generator lives on cpu but device=meta; make the generator ...
    """
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a floating-point torch dtype, got {dtype!r}; "
            f"pass dtype=torch.float64 or dtype=torch.float32"
        )
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
            f"generator on the same device: dotbook.device.generator(seed, {str(where)!r}), "
            f"or book.generator(k) in a chapter"
        )
    if not supports(where, dtype):
        raise TypeError(f"{where.type.upper()} has no {dtype}; pass dtype=torch.float32 on "
                        f"an {where.type} device, or compute on the CPU")
    return where, dtype


def seed(value: int = 0) -> int:
    """Seed Python's, NumPy's and PyTorch's generators (all devices) with ``value``.

    Examples::

        >>> _ = seed(7); a = torch.randn(3)
        >>> _ = seed(7); b = torch.randn(3)
        >>> torch.equal(a, b)
        True
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"seed must be a non-negative int, got {value!r}")
    random.seed(value)
    np.random.seed(value % 2**32)
    torch.manual_seed(value)
    return value


def generator(value: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A private generator on ``device`` seeded with ``value`` (leaves the global one alone).

    In a chapter, use ``book.generator(k)``, which puts it on the chapter's device.

    Examples::

        >>> g = generator(3)
        >>> torch.equal(torch.randn(2, generator=g), torch.randn(2, generator=generator(3)))
        True
    """
    value = _validate.integer(value, "seed", at_least=0)
    g = torch.Generator(device=torch.device(device))
    g.manual_seed(value)
    return g


def describe(dev: torch.device | None = None) -> str:
    """A one-line description of ``dev`` (default :func:`best`), for chapter headers.

    Examples::

        >>> describe(torch.device("cpu")).startswith("cpu")
        True
    """
    dev = best() if dev is None else torch.device(dev)
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)}), torch {torch.__version__}"
    return f"{dev.type}, torch {torch.__version__}"


# ----------------------------------------------------------------- timing
def synchronize() -> None:
    """Wait for every queued CUDA/MPS kernel to finish (a no-op on a CPU-only machine).

    CUDA is only synchronised once it has been initialised: before that, no
    kernel can be pending, and initialising it would cost seconds.
    """
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        torch.mps.synchronize()


@dataclass(frozen=True)
class Timing:
    """What :func:`timed` measured, in seconds per call.

    Attributes:
        median: the median of :attr:`times`.
        spread: the interquartile range of :attr:`times` (75th minus 25th
            percentile; 0 for a single repeat): robust to the odd slow call.
        times: every repeat's time per call, in the order measured.
    """

    median: float
    spread: float
    times: tuple[float, ...]

    def __str__(self) -> str:
        return f"{_seconds(self.median)} ± {_seconds(self.spread / 2)} (median ± IQR/2, " \
               f"{len(self.times)} repeats)"


def _seconds(t: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t * 1e9:.3g} ns"


def timed(fn: Callable[..., object], *args: object, repeats: int = 7, warmup: int = 1,
          number: int = 1, **kwargs: object) -> Timing:
    """Time ``fn(*args, **kwargs)``, synchronising CUDA/MPS before and after each repeat.

    Kernels on a GPU run asynchronously: a call returns when the work is
    *queued*. Timing without synchronising measures the queueing for one
    function and the work for another (any ``.item()`` or ``float()`` inside
    waits for the GPU). So every repeat is
    ``synchronize(); start; fn × number; synchronize(); stop``.

    This is a plain loop rather than ``torch.utils.benchmark.Timer``:
    ``Timer.timeit`` runs its own warm-up on every call and keeps no per-repeat
    times; its ``blocked_autorange`` picks the repeat count itself. The
    synchronisation is the same as ``Timer``'s.

    Args:
        fn: what to time; its result is discarded.
        *args, **kwargs: passed to ``fn`` (wrap ``fn`` in a ``lambda`` if it
            takes keywords named ``repeats``, ``warmup`` or ``number``).
        repeats: how many timed repeats (``>= 1``); the median is over these.
        warmup: untimed calls first (caches, lazy initialisation, autotuning).
        number: calls per repeat, for functions too fast to time one at a time.

    Returns:
        a :class:`Timing` with ``median``, ``spread`` (IQR) and ``times`` in
        seconds per call.

    Examples::

        >>> t = timed(torch.ones, 1000, repeats=5)
        >>> len(t.times), t.median > 0, t.spread >= 0
        (5, True, True)
    """
    repeats = _validate.integer(repeats, "repeats", at_least=1)
    warmup = _validate.integer(warmup, "warmup", at_least=0)
    number = _validate.integer(number, "number", at_least=1)
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    for _ in range(warmup):
        fn(*args, **kwargs)
    times = []
    for _ in range(repeats):
        synchronize()
        start = time.perf_counter()
        for _ in range(number):
            fn(*args, **kwargs)
        synchronize()
        times.append((time.perf_counter() - start) / number)
    if len(times) > 1:
        q1, _, q3 = statistics.quantiles(times, n=4, method="inclusive")
        spread = q3 - q1
    else:
        spread = 0.0
    return Timing(median=statistics.median(times), spread=spread, times=tuple(times))


@contextlib.contextmanager
def cpu_threads(threads: int | None) -> Iterator[None]:
    """Run a block with torch's CPU intra-op pool at ``threads`` threads, then restore it.

    ``torch.set_num_threads`` is process-wide, so the previous count is put back
    on exit, also when the block raises. ``None`` leaves the setting alone.

    Examples::

        >>> before = torch.get_num_threads()
        >>> with cpu_threads(1):
        ...     torch.get_num_threads()
        1
        >>> torch.get_num_threads() == before
        True
    """
    if threads is None:
        yield
        return
    threads = _validate.integer(threads, "threads", at_least=1)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
