r"""The roofline's ceilings, measured and theoretical, and the stored reference numbers (Chapter 4).

:func:`ceilings` measures a device's peak FLOP/s (large matrix products) and
its bandwidth (a large copy) with the harness of :mod:`dotbook.measure`. They are
*this software on this hardware*, a library's path (MKL, OpenBLAS, oneDNN,
cuBLAS: :func:`libraries` names them) rather than the silicon, whose
theoretical peak :func:`cpu_peak` computes as cores × GHz × FLOP per cycle from
the instruction set. :data:`SPECS` holds datasheet numbers, labelled as
specifications, and :func:`reference` reads the stored measurements of
``references/compute.json``.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import torch

from dotbook import _validate
from dotbook import device as _device
from dotbook.measure import Measurement, measure

__all__ = ["CEILING_SIZES", "Ceilings", "ceilings", "CpuPeak", "cpu_peak", "libraries", "SPECS",
           "Reference", "references", "reference", "reference_entry"]

# ------------------------------------------------------------------ ceilings
#: Default sizes for :func:`ceilings`: (square matmul side, copy elements), per device type.
CEILING_SIZES: dict[str, tuple[int, int]] = {
    "cpu": (1024, 2**25),     # 128 MiB per buffer: past most CPUs' last-level cache
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
        name = dtype if isinstance(dtype, str) else _device.dtype_name(dtype)
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

    @property
    def threads(self) -> int | None:
        """CPU threads the matmuls ran on (``None`` if not recorded)."""
        return self.matmul[0].threads

    def summary(self) -> str:
        """One line: the float32 peak, the fastest dtype's peak, the bandwidth, the threads."""
        return (f"float32 peak {self.peak_in('float32') / 1e9:,.0f} GFLOP/s, {self.peak_dtype} "
                f"peak {self.peak / 1e9:,.0f} GFLOP/s, bandwidth {self.bandwidth / 1e9:,.1f} GB/s"
                f" (threads {self.threads or '?'})")

    def __str__(self) -> str:
        rows = [str(m) for m in (*self.matmul, self.copy)]
        rows.append(f"peak {self.peak / 1e9:.3g} GFLOP/s ({self.peak_dtype}), bandwidth "
                    f"{self.bandwidth / 1e9:.3g} GB/s, ridge ({self.peak_dtype}) "
                    f"{self.ridge():.3g} FLOP/byte")
        return "\n".join(rows)


def ceilings(device: torch.device | str = "cpu", *, matmul_size: int | None = None,
             copy_numel: int | None = None, dtypes: Sequence[torch.dtype] | None = None,
             repeats: int = 5, warmup: int = 1, threads: int | None = None) -> Ceilings:
    """Measure the device's peak FLOP/s (large matmuls) and bandwidth (a large copy).

    Args:
        device: where to measure.
        matmul_size: side :math:`N` of the square matmuls (default per device,
            :data:`CEILING_SIZES`); larger is closer to the true peak on an idle
            machine, and slower (on a busy one, long multi-threaded calls are rarely
            left undisturbed, and even the fastest repeat falls short).
        copy_numel: float32 elements copied (default per device); make it far
            larger than the last-level cache, or it measures the cache.
        dtypes: matmul dtypes (default: float32 and :func:`dotbook.device.fast_dtype`).
        repeats, warmup: passed to :func:`dotbook.device.timed`.
        threads: CPU threads for torch while measuring (default: every thread
            this process may use, :func:`dotbook.device.machine_threads`, whatever
            ``OMP_NUM_THREADS`` says); recorded in the measurements.

    Returns:
        :class:`Ceilings`, whose measurements record the sizes and dtypes used.

    A ceiling is what the hardware *can* do, so, as the STREAM benchmark does
    (McCalpin, 1995), each rate is taken from the fastest repeat: a
    slower repeat only says that something else was running. These are the
    ceilings of *this software on this hardware* (:func:`libraries` names the
    library behind each); :func:`cpu_peak` is the hardware's theoretical one.

    Examples::

        >>> c = ceilings("cpu", matmul_size=64, copy_numel=4096, repeats=2)
        >>> [m.dtype for m in c.matmul], c.copy.shape, c.peak > 0, c.bandwidth > 0
        (['float32', 'bfloat16'], (4096,), True, True)
    """
    dev = _device.resolve_device(device)
    size, numel = CEILING_SIZES[dev.type]
    size = size if matmul_size is None else _validate.integer(matmul_size, "matmul_size",
                                                                at_most=10**5)
    numel = numel if copy_numel is None else _validate.integer(copy_numel, "copy_numel",
                                                                 at_most=10**11)
    threads = _device.machine_threads() if threads is None else threads
    if dtypes is None:
        dtypes = tuple(dict.fromkeys((torch.float32, _device.fast_dtype(dev))))
    if isinstance(dtypes, torch.dtype) or not isinstance(dtypes, (list, tuple)):
        raise TypeError(f"dtypes must be a tuple of torch dtypes, e.g. (torch.float32,), got "
                        f"{dtypes!r}")
    if not dtypes:
        raise ValueError("dtypes is empty; pass at least one, e.g. (torch.float32,)")
    if len(dtypes) > 16:
        raise ValueError(f"dtypes has {len(dtypes)} entries; pass at most 16")
    for i, dt in enumerate(dtypes):
        if not isinstance(dt, torch.dtype):
            raise TypeError(f"dtypes[{i}] must be a torch dtype (torch.float32), got {dt!r}")
    mm = tuple(measure("matmul", (size, size, size), device=dev, dtype=dt, repeats=repeats,
                       warmup=warmup, threads=threads) for dt in dtypes)
    cp = measure("copy", (numel,), device=dev, dtype=torch.float32, repeats=repeats,
                 warmup=warmup, threads=threads)
    return Ceilings(device=dev.type, matmul=mm, copy=cp)




@dataclass(frozen=True)
class CpuPeak:
    r"""A CPU's theoretical float32 peak: cores × GHz × FLOP per cycle.

    Attributes:
        flops: FLOP/s, or ``None`` when the instruction set is unknown.
        cores: logical CPUs this process may use.
        ghz: the clock /proc/cpuinfo reports. In a virtual machine this is
            usually the nominal (base) clock; under load a core may boost above
            it (turbo), so a measured peak can exceed ``flops``.
        flop_per_cycle: float32 FLOP per cycle per core, from the widest FMA
            the flags advertise, assuming two FMA units per core (16 lanes × 2 ×
            2 = 64 for AVX-512, 32 for AVX2 + FMA).
        isa: what the flags said, e.g. ``"avx512f"``.
    """

    flops: float | None
    cores: int
    ghz: float | None
    flop_per_cycle: int | None
    isa: str

    def __str__(self) -> str:
        if self.flops is None:
            return f"theoretical float32 peak unknown ({self.isa})"
        return (f"theoretical float32 peak {self.flops / 1e9:,.0f} GFLOP/s = {self.cores} cores "
                f"× {self.ghz:.2f} GHz × {self.flop_per_cycle} FLOP/cycle ({self.isa}, "
                f"2 FMA units assumed)")

    def clock_for(self, flops: float) -> float | None:
        r"""The clock in GHz every core must run at to reach ``flops`` FLOP/s.

        .. math:: f = \frac{\text{FLOP/s}}{\text{cores} \times \text{FLOP per cycle}}

        ``None`` when the FLOP per cycle are unknown.

        Examples::

            >>> p = CpuPeak(flops=192e9, cores=2, ghz=3.0, flop_per_cycle=32, isa="avx2+fma")
            >>> p.clock_for(256e9)  # more than the 3.0 GHz nominal clock: turbo
            4.0
        """
        flops = _validate.in_range(flops, "flops", 0.0, math.inf)
        if self.flop_per_cycle is None:
            return None
        return flops / (self.cores * self.flop_per_cycle * 1e9)


def cpu_peak(cpuinfo: str | None = None) -> CpuPeak:
    """The CPU's theoretical float32 peak from ``/proc/cpuinfo`` (its flags and clock).

    Args:
        cpuinfo: the file's text (default: read it); unknown without it.

    Examples::

        >>> p = cpu_peak("flags : fma avx2\\ncpu MHz : 3000.0\\n")
        >>> p.flop_per_cycle, p.ghz, p.isa
        (32, 3.0, 'avx2+fma')
        >>> cpu_peak("").flops is None
        True
    """
    if cpuinfo is not None and not isinstance(cpuinfo, str):
        raise TypeError(f"cpuinfo must be the text of /proc/cpuinfo (a str) or None, got "
                        f"{type(cpuinfo).__name__}")
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as f:
                cpuinfo = f.read()
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    try:
        ghz = float(fields["cpu MHz"]) / 1000
    except (KeyError, ValueError):
        ghz = None
    if "avx512f" in flags:
        isa, per = "avx512f", 64
    elif {"avx2", "fma"} <= flags:
        isa, per = "avx2+fma", 32
    elif "avx" in flags:
        isa, per = "avx", 16
    else:
        isa, per = ("unknown instruction set" if not flags else "no AVX"), None
    cores = _device.machine_threads()
    flops = None if per is None or ghz is None else cores * ghz * 1e9 * per
    return CpuPeak(flops=flops, cores=cores, ghz=ghz, flop_per_cycle=per, isa=isa)


def libraries() -> dict[str, str]:
    """The library behind each CPU route of this torch and NumPy.

    From ``torch.__config__.show()`` (MKL or OpenBLAS for float32 BLAS calls,
    oneDNN, still called MKL-DNN there, for bfloat16 matrix products) and
    ``threadpoolctl`` for NumPy's BLAS.

    Examples::

        >>> sorted(libraries())
        ['Python loop', 'numpy', 'torch bfloat16', 'torch float32']
    """
    config = torch.__config__.show()
    blas = "MKL" if "BLAS_INFO=mkl" in config else (
        "OpenBLAS" if "openblas" in config.lower() else "torch's own kernels")
    onednn = "oneDNN" if torch.backends.mkldnn.is_available() else "torch's own kernels"
    numpy_blas = "unknown BLAS"
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_info
        apis = [i["internal_api"] for i in threadpool_info() if i.get("user_api") == "blas"]
        numpy_blas = {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS"}.get(
            apis[0], apis[0]) if apis else numpy_blas
    return {"Python loop": "the CPython interpreter", "numpy": numpy_blas,
            "torch float32": blas, "torch bfloat16": onednn}


#: Datasheet numbers, not measurements: ``{name: {quantity: (value, unit)}, "source": ...}``.
SPECS: dict[str, dict[str, Any]] = {
    "NVIDIA H200 SXM": {
        "dense BF16 tensor core": (989e12, "FLOP/s"),
        "FP32 (no tensor cores)": (67e12, "FLOP/s"),
        "HBM3e bandwidth": (4.8e12, "B/s"),
        "source": "NVIDIA H200 Tensor Core GPU datasheet (2024); the sheet's BF16 figure "
                  "of 1,979 TFLOPS assumes 2:4 sparsity, dense is half",
    },
}

# ------------------------------------------------------------------ reference measurements
@dataclass(frozen=True)
class Reference:
    """One device's stored reference measurements (see ``references/compute.json``).

    ``status`` is ``"measured"`` or ``"not measured"``; a device not measured
    has no measured numbers at all (``ceilings`` is ``None``, ``rows`` empty);
    its datasheet figures, if any, are in :data:`SPECS`, labelled as such.
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
        """``"reference: <name> (<date>)"``, or says that nothing was measured on it."""
        if not self.measured:
            return f"{self.name}: no measurements stored (datasheet figures only)"
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
    # files recorded before measurements carried their threads: the ceilings ran on the
    # entry's "threads", the ladders on one thread (the ladders' default)
    ceil = None
    if d.get("ceilings"):
        c = d["ceilings"]
        ceil = Ceilings.from_dict({"device": c["device"],
                                   "matmul": [{"threads": d.get("threads"), **m}
                                              for m in c["matmul"]],
                                   "copy": {"threads": d.get("threads"), **c["copy"]}})
    rows = tuple(Measurement.from_dict({"threads": 1, **r}) for r in d.get("rows", ()))
    return Reference(device=device_type, name=d["name"], status=d["status"], note=d["note"],
                     date=d.get("date"), torch=d.get("torch"), ceilings=ceil, rows=rows)


def reference_entry(name: str, ceil: Ceilings, rows: Sequence[Measurement], *, date: str,
                    note: str) -> dict[str, Any]:
    """A measured device's entry for the reference file (used by ``tools/bench_compute.py``).

    Examples::

        >>> c = ceilings("cpu", matmul_size=64, copy_numel=4096, repeats=2)
        >>> e = reference_entry("a laptop", c, [], date="2026-01-01", note="idle")
        >>> e["status"], e["rows"]
        ('measured', [])
    """
    _validate.text(name, "name"), _validate.text(date, "date")
    if not isinstance(note, str):
        raise TypeError(f"note must be a str (may be empty), got {type(note).__name__}")
    if not isinstance(ceil, Ceilings):
        raise TypeError(f"ceil must be the Ceilings that ceilings() returns, got "
                        f"{type(ceil).__name__}")
    rows = _validate.rows(rows, Measurement, "Measurements from measure()")
    return {"name": name, "status": "measured", "note": note, "date": date,
            "torch": torch.__version__, "threads": ceil.threads,
            "ceilings": ceil.to_dict(), "rows": [r.to_dict() for r in rows]}
