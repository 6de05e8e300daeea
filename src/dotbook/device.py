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

:func:`timed` is the one way the book times code (Chapter 4 explains it): it
synchronises the device under test, and only that one, around each block of
calls, so asynchronous kernels are not flattered and CPU code does not pay for
a GPU check; short calls are timed in blocks (autorange, like ``timeit``).

:func:`resolve_device` and :func:`check` are the boundary checks every
function that takes a ``device`` or ``dtype`` calls: "cuda" on a torch without
CUDA is a clear error naming :func:`best`.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from dotbook import _validate

__all__ = ["best", "supports", "skipped", "placement", "seed", "describe", "generator",
           "timed", "Timing", "synchronize", "cpu_threads", "dtype_name", "resolve_device",
           "check", "device_name", "fast_dtype", "MIN_BLOCK", "machine_threads", "check_fits"]

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
    if not isinstance(dev, (str, torch.device)):
        raise TypeError(f"dev must be a str or torch.device such as 'cpu', got {dev!r}")
    try:  # a question about any device type: it need not be present here
        dev = torch.device(dev)
    except RuntimeError:
        raise ValueError(f"dev={dev!r} is not a device torch knows; pass 'cpu', 'cuda' or "
                         f"'mps'") from None
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


def resolve_device(device: torch.device | str, name: str = "device") -> torch.device:
    """``device`` as a ``torch.device`` that exists on this machine, or a clear error.

    ``"meta"`` (shapes without data) is always accepted.

    Examples::

        >>> resolve_device("cpu")
        device(type='cpu')
        >>> resolve_device("tpu")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: device='tpu' is not a device torch knows; pass 'cpu', ...
    """
    _validate.text(name, "name")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"{name} must be a str or torch.device, got {type(device).__name__}; "
                        f"pass e.g. 'cpu' or book.device")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"{name}={device!r} is not a device torch knows; pass 'cpu', or 'cuda' "
                         f"/ 'mps' on a machine that has one (dotbook.device.best())") from None
    mps = getattr(torch.backends, "mps", None)
    available = {"cpu": True, "meta": True, "cuda": torch.cuda.is_available(),
                 "mps": mps is not None and mps.is_available()}
    if dev.type in ("cuda", "mps") and not available[dev.type]:
        what = "CUDA" if dev.type == "cuda" else "MPS (Apple GPU)"
        raise ValueError(f"{name}: {dev.type} was asked for, but this torch has no {what}; use "
                         f"device.best() (here: {best()})")
    if not available.get(dev.type, False):
        raise ValueError(f"{name} {str(dev)!r} is not available on this machine; pass 'cpu' "
                         f"or dotbook.device.best() (here: {best()})")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"{name} {str(dev)!r} does not exist: this machine has "
                         f"{torch.cuda.device_count()} CUDA device(s)")
    return dev


def check(device: torch.device | str | None, dtype: object, *,
          floating: bool = True, optional: bool = False
          ) -> tuple[torch.device | None, torch.dtype | None]:
    """The boundary check for a ``(device, dtype)`` pair: both exist here and fit together.

    ``device=None`` passes through as ``None``. A non-floating ``dtype`` is
    refused unless ``floating=False``; float64 on MPS is refused. With
    ``optional=True`` a ``None`` dtype passes too (torch's default dtype: for
    ``nn.Module`` constructors that take ``dtype=None``).

    Examples::

        >>> check("cpu", torch.float32)
        (device(type='cpu'), torch.float32)
        >>> check("cpu", torch.int64)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: dtype must be a floating-point torch dtype, got torch.int64; ...
    """
    _validate.flag(floating, "floating")
    _validate.flag(optional, "optional")
    if dtype is None and optional:
        return (None if device is None else resolve_device(device)), None
    if not isinstance(dtype, torch.dtype) or (floating and not dtype.is_floating_point):
        kind = "floating-point torch dtype" if floating else "torch dtype"
        raise TypeError(f"dtype must be a {kind}, got {dtype!r}; "
                        f"pass dtype=torch.float64 or dtype=torch.float32")
    dev = None if device is None else resolve_device(device)
    if dev is not None and not supports(dev, dtype):
        raise TypeError(f"{dev.type.upper()} has no {dtype}; pass dtype=torch.float32 on "
                        f"an {dev.type} device, or compute on the CPU")
    return dev, dtype


def fast_dtype(device: torch.device | str) -> torch.dtype:
    """The 16-bit dtype a device multiplies matrices fastest in.

    bfloat16 on CUDA (when supported, else float16) and on the CPU (oneDNN has
    bfloat16 kernels for AVX-512 BF16 and AMX; on a CPU without such
    instructions bfloat16 may be no faster than float32). CPU float16 matmul
    can be hundreds of times slower than bfloat16. float16 on MPS.

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
    check(None, dtype)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator or None, got {type(generator).__name__}; "
            f"make one with dotbook.device.generator(seed, device)"
        )
    where = resolve_device(device) if device is not None else (
        generator.device if generator is not None else torch.device("cpu"))
    if generator is not None and generator.device.type != where.type:
        raise ValueError(
            f"the generator lives on {generator.device} but device={where}; make the "
            f"generator on the same device: dotbook.device.generator(seed, {str(where)!r}), "
            f"or book.generator(k) in a chapter"
        )
    check(where, dtype)
    return where, dtype


def seed(value: int = 0) -> int:
    """Seed Python's, NumPy's and PyTorch's generators (all devices) with ``value``.

    Examples::

        >>> _ = seed(7); a = torch.randn(3)
        >>> _ = seed(7); b = torch.randn(3)
        >>> torch.equal(a, b)
        True
    """
    value = _validate.integer(value, "value (the seed)", at_least=0, at_most=2**63 - 1)
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
    value = _validate.integer(value, "value (the seed)", at_least=0, at_most=2**63 - 1)
    g = torch.Generator(device=resolve_device(device))
    g.manual_seed(value)
    return g


def describe(dev: torch.device | None = None) -> str:
    """A one-line description of ``dev`` (default :func:`best`), for chapter headers.

    Examples::

        >>> describe(torch.device("cpu")).startswith("cpu")
        True
    """
    dev = best() if dev is None else resolve_device(dev, "dev")
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)}), torch {torch.__version__}"
    return f"{dev.type}, torch {torch.__version__}"


# ----------------------------------------------------------------- timing
def synchronize(dev: torch.device | str | None = None) -> None:
    """Wait for the kernels queued on ``dev`` to finish; nothing at all for the CPU.

    ``dev=None`` waits for every accelerator in use (CUDA only once it has been
    initialised: before that no kernel can be pending, and initialising it
    would cost seconds).

    Examples::

        >>> synchronize("cpu")  # CPU work is done when the call returns
    """
    if dev is not None:
        dev = resolve_device(dev, "dev")
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        elif dev.type == "mps":
            torch.mps.synchronize()
        return
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
        number: calls per repeat (a repeat's time is its block's time / number).
    """

    median: float
    spread: float
    times: tuple[float, ...]
    number: int = 1

    def __str__(self) -> str:
        return f"{_seconds(self.median)} ± {_seconds(self.spread / 2)} (median ± IQR/2, " \
               f"{len(self.times)} repeats of {self.number} call(s))"


def _seconds(t: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t * 1e9:.3g} ns"


#: Autorange's target: a timed block lasts at least this long (seconds). The clock's
#: own cost (~0.1 µs for two perf_counter reads) is then below 0.1 % of a block.
MIN_BLOCK = 2e-4


def _where(args: tuple, kwargs: dict) -> torch.device | None:
    """The device of the first tensor argument, or None when there is none."""
    return next((a.device for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)),
                None)


def timed(fn: Callable[..., object], *args: object, repeats: int = 7, warmup: int = 1,
          number: int | None = 1, device: torch.device | str | None = None,
          **kwargs: object) -> Timing:
    """Time ``fn(*args, **kwargs)``: blocks of ``number`` calls, the device under test synchronised.

    Kernels on a GPU run asynchronously: a call returns when the work is
    *queued*. So every repeat is ``sync(dev); start; fn × number; sync(dev);
    stop``, where ``dev`` is the device under test: ``device`` if given, else
    the device of the first tensor argument; with neither, every accelerator in
    use. A CPU is never synchronised (its work is done when the call returns),
    so CPU code does not pay for a GPU check.

    ``number=None`` chooses the block size like ``timeit``'s autorange: 1, 2,
    5, 10, 20, 50, ... calls until one block lasts at least :data:`MIN_BLOCK`
    (0.2 ms), so that a sub-microsecond call is not swamped by the clock and
    the synchronisation around it. The time per call is the block's / ``number``.

    Args:
        fn: what to time; its result is discarded.
        *args, **kwargs: passed to ``fn`` (wrap ``fn`` in a ``lambda`` if it
            takes keywords named ``repeats``, ``warmup``, ``number`` or ``device``).
        repeats: how many timed blocks (1 … 10⁶); the median is over these.
        warmup: untimed calls first (caches, lazy initialisation, autotuning).
        number: calls per block (1 … 10⁹), or ``None`` for autorange.
        device: the device under test (default: inferred, see above).

    Returns:
        a :class:`Timing` with ``median``, ``spread`` (IQR) and ``times`` in
        seconds per call, and the ``number`` used.

    Examples::

        >>> t = timed(torch.ones, 1000, repeats=5)
        >>> len(t.times), t.median > 0, t.spread >= 0
        (5, True, True)
        >>> timed(lambda: None, number=None, device="cpu").number > 10
        True
    """
    repeats = _validate.integer(repeats, "repeats", at_least=1, at_most=10**6)
    warmup = _validate.integer(warmup, "warmup", at_least=0, at_most=10**6)
    if number is not None:
        number = _validate.integer(number, "number", at_least=1, at_most=10**9)
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    dev = resolve_device(device) if device is not None else _where(args, kwargs)
    if dev is not None and dev.type == "cpu":
        def sync() -> None:
            pass
    else:
        def sync() -> None:
            synchronize(dev)
    for _ in range(warmup):
        fn(*args, **kwargs)

    def block(calls: int) -> float:
        sync()
        start = time.perf_counter()
        for _ in range(calls):
            fn(*args, **kwargs)
        sync()
        return time.perf_counter() - start

    if number is None:  # autorange: grow the block until it lasts MIN_BLOCK
        number, steps = 1, (2, 2.5, 2)
        i = 0
        # a block must last MIN_BLOCK twice in a row: one preempted block does not stop it
        while min(block(number), block(number)) < MIN_BLOCK and number < 10**9:
            number = int(number * steps[i % 3])
            i += 1
    times = [block(number) / number for _ in range(repeats)]
    if len(times) > 1:
        q1, _, q3 = statistics.quantiles(times, n=4, method="inclusive")
        spread = q3 - q1
    else:
        spread = 0.0
    return Timing(median=statistics.median(times), spread=spread, times=tuple(times),
                  number=number)


def machine_threads() -> int:
    """The CPU threads this process may run on (its affinity; ``os.cpu_count()`` elsewhere).

    Examples::

        >>> machine_threads() >= 1
        True
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _memory(dev: torch.device) -> int:
    """Bytes the device can hold at most (physical RAM for the CPU)."""
    if dev.type == "cuda":
        return torch.cuda.get_device_properties(dev).total_memory
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 2**40


def check_fits(nbytes: int, dev: torch.device | str, what: str) -> None:
    """Refuse, before allocating, a request whose estimated ``nbytes`` exceed what ``dev`` holds.

    The estimate comes from shape × dtype; the limit is the device's total memory
    (physical RAM for the CPU), so an absurd request fails in microseconds.

    Examples::

        >>> check_fits(10**30, "cpu", "a huge buffer")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: a huge buffer would need about ... GB, but cpu holds ... GB; pass a smaller ...
    """
    nbytes = _validate.integer(nbytes, "nbytes", at_least=0)
    _validate.text(what, "what")
    dev = resolve_device(dev, "dev")
    total = _memory(dev)
    if nbytes > total:
        gb = f"{nbytes / 1e9:,.3g}" if nbytes < 10**300 else f"10^{len(str(nbytes)) - 10}"
        raise ValueError(f"{what} would need about {gb} GB, but {dev.type} holds "
                         f"{total / 1e9:,.3g} GB; pass a smaller size (nbytes, estimated "
                         f"from shape × dtype, is too large)")


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
    threads = _validate.integer(threads, "threads", at_least=1, at_most=4096)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
