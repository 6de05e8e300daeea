"""dotbook.measure (Chapter 4's harness, ceilings and reference; Chapter 7's memory): the
harness's sanity (no timing thresholds), autorange, threads recorded, the reference file,
and clear errors for bad input."""

from __future__ import annotations

import json
import math

import pytest
import torch
from support import DEVICES

from dotbook import compute, device, measure, roofline
from dotbook.figures import ch04


# ------------------------------------------------------------------ the harness
def test_measure_returns_positive_finite_times_with_the_work_attached():
    m = measure.measure("dot", 1000, repeats=3)
    assert m.op == "dot" and m.shape == (1000,) and m.device == "cpu" and m.dtype == "float32"
    assert m.repeats == 3 and (m.flops, m.nbytes) == compute.work("dot", (1000,))
    for v in (m.seconds, m.best, m.flop_rate, m.byte_rate):
        assert math.isfinite(v) and v > 0
    assert 0 < m.best <= m.seconds and m.spread >= 0
    assert m.label == "torch.dot (cpu)" and "GFLOP/s" in str(m) and "threads" in str(m)
    assert m.threads == torch.get_num_threads()


def test_harness_times_grow_with_size_on_small_inputs():
    # the Python loop's cost is ~n interpreter steps: 100× the work is far more time,
    # whatever else the machine is doing (no threshold on the times themselves)
    small = measure.measure("dot", 50, method="loop", repeats=5)
    large = measure.measure("dot", 5000, method="loop", repeats=5)
    assert large.best > small.best


@pytest.mark.parametrize("device", DEVICES)
def test_measure_every_op_on_every_device(device):
    for op, shape in (("dot", (64,)), ("matvec", (8, 16)), ("matmul", (4, 5, 6)),
                      ("copy", (1024,))):
        for method in compute.METHODS[op]:
            if method in ("loop", "generator", "numpy") and device != "cpu":
                continue
            m = measure.measure(op, shape, method=method, device=device, repeats=2)
            assert m.device == torch.device(device).type and m.seconds > 0


def test_measure_restores_torch_and_blas_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas() -> list[int]:
        return [d["num_threads"] for d in threadpoolctl.threadpool_info()
                if d["user_api"] == "blas"]

    before, blas_before = torch.get_num_threads(), blas()
    measure.measure("dot", 100, repeats=1, threads=1)
    measure.measure("dot", 100, method="numpy", repeats=1, threads=1)
    assert torch.get_num_threads() == before and blas() == blas_before


def test_ladders_have_every_route_and_skip_the_loop_above_loop_max():
    rows = measure.ladder((10, 1000), loop_max=100, repeats=1)
    assert [(r.method, r.shape[0]) for r in rows] == [
        ("loop", 10), ("generator", 10), ("numpy", 10), ("torch", 10),
        ("numpy", 1000), ("torch", 1000)]
    ups = measure.speedups(rows)
    assert ups[("dot", (10,), "Python loop")] == 1.0 and len(ups) == 4
    matrix = measure.matrix_ladder((4,), (3,), repeats=1)
    assert [(r.op, r.method) for r in matrix] == [("matvec", "loop"), ("matvec", "torch"),
                                                 ("matmul", "loop"), ("matmul", "torch")]


def test_ceilings_record_sizes_and_dtypes_and_make_a_roofline():
    c = roofline.ceilings("cpu", matmul_size=32, copy_numel=1 << 12, repeats=2)
    assert [m.dtype for m in c.matmul] == ["float32", "bfloat16"]
    assert all(m.shape == (32, 32, 32) for m in c.matmul) and c.copy.shape == (4096,)
    assert c.peak >= c.peak_in("float32") > 0 and c.bandwidth > 0
    assert c.attainable(1e-9) == pytest.approx(1e-9 * c.bandwidth)
    assert c.attainable(1e9) == c.peak
    assert c.ridge() == pytest.approx(c.peak / c.bandwidth)
    again = roofline.Ceilings.from_dict(json.loads(json.dumps(c.to_dict())))
    assert again == c


# ------------------------------------------------------------------ reference data
def test_reference_file_ships_with_the_package_and_says_what_was_never_measured():
    cpu, cuda = roofline.reference("cpu"), roofline.reference("cuda")
    assert cpu.measured and cpu.date and cpu.torch and cpu.ceilings is not None
    assert {r.method for r in cpu.rows} >= set(compute.DOT_METHODS)
    assert cpu.ceilings.peak > 0 and cpu.ceilings.bandwidth > 0
    if not cuda.measured:
        assert cuda.status == "not measured" and cuda.ceilings is None and not cuda.rows
        assert "no measurements stored" in cuda.label and "never" not in cuda.label
    assert "light" not in cpu.note
    assert cpu.ceilings.threads == 2 and all(r.threads == 1 for r in cpu.rows)


def test_figures_draw_references_and_live_rows():
    rows = measure.ladder((10, 100), repeats=1)
    fig = ch04.ladder_twin(rows).data(n=100)
    names = [t.get("name", "") for t in fig["data"]]
    assert any("this run" in n for n in names) and any("reference" in n for n in names)
    c = roofline.ceilings("cpu", matmul_size=16, copy_numel=1024, repeats=1)
    roof = ch04.roofline_twin(c, rows).data(side=64)
    assert "this run" in roof["layout"]["title"]["text"]


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: measure.measure("dot", 10, device="tpu"), ValueError, "not a device torch knows"),
    (lambda: measure.measure("dot", 0), ValueError, "n must be an int >= 1"),
    (lambda: measure.measure("matmul", (4, -1, 4)), ValueError, "k must be an int >= 1"),
    (lambda: measure.measure("matmul", (4, 4)), ValueError, r"\(m, k, n\)"),
    (lambda: measure.measure("conv", 10), ValueError, "unknown op"),
    (lambda: measure.measure("dot", 10, method="numpy", dtype=torch.bfloat16), TypeError,
     "NumPy has no"),
    (lambda: roofline.ceilings("cpu", matmul_size=0), ValueError, "matmul_size"),
    (lambda: measure.measure("copy", 10**11), ValueError, "at most"),
    (lambda: measure.measure("dot", 10, generator=3), TypeError, "torch.Generator"),
    (lambda: measure.ladder((10,), loop_max=10**12), ValueError, "loop_max"),
])
def test_measure_bad_input_is_refused_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_a_missing_gpu_is_named():
    with pytest.raises(ValueError, match="cuda was asked for, but this torch has no CUDA"):
        measure.measure("dot", 10, device="cuda")
    with pytest.raises(ValueError, match="use device.best"):
        roofline.ceilings("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_python_routes_refuse_gpu_tensors():
    a = torch.ones(3, device="cuda")
    with pytest.raises(ValueError, match="on the CPU"):
        compute.dot_route(a, a, method="loop")
    with pytest.raises(ValueError, match="on the CPU"):
        measure.measure("dot", 10, method="numpy", device="cuda")


def test_bench_script_compares_the_harness_with_torch_utils_benchmark():
    import importlib.util

    from support import ROOT

    spec = importlib.util.spec_from_file_location("bench_compute",
                                                  ROOT / "tools" / "bench_compute.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    c = roofline.ceilings("cpu", matmul_size=32, copy_numel=1 << 12, repeats=2)
    rows = bench.harness_vs_timer(c, torch.device("cpu"), rounds=1, min_run_time=0.01)
    assert [(what.split()[0], stat) for what, stat, *_ in rows] == [
        ("matmul", "best"), ("matmul", "median"), ("matmul", "best"), ("matmul", "median"),
        ("copy", "best"), ("copy", "median")]
    assert all(ours > 0 and theirs > 0 and frac == pytest.approx(ours / theirs)
               for _, _, ours, theirs, frac in rows)


# ------------------------------------------------------------------ honest timing (issue 19)
def test_the_harness_times_sub_microsecond_calls_in_blocks(monkeypatch):
    # an empty call must not be charged for a GPU check or the clock: autorange makes blocks
    # of many calls; nothing is synchronised for a CPU route
    synced = []
    monkeypatch.setattr(device, "synchronize", lambda *a: synced.append(a))
    t = device.timed(lambda: None, number=None, repeats=3, device="cpu")
    assert t.number > 10 and not synced
    assert t.median * t.number >= 0.5 * device.MIN_BLOCK
    m = measure.measure("dot", 10, method="numpy", repeats=3, number=None)
    assert not synced and m.threads >= 1


def test_ladder_and_ceilings_record_threads():
    rows = measure.ladder((10,), repeats=1, threads=1)
    assert {r.threads for r in rows} == {1}
    c = roofline.ceilings("cpu", matmul_size=16, copy_numel=1024, repeats=1, threads=1)
    assert c.threads == 1 and "threads 1" in c.summary()
    assert "ridge (" in str(c)


def test_measure_takes_a_generator_not_a_seed():
    g1, g2 = device.generator(5), device.generator(5)
    a = measure.measure("dot", 10, repeats=1, generator=g1)
    b = measure.measure("dot", 10, repeats=1, generator=g2)
    assert a.flops == b.flops
    with pytest.raises(TypeError):
        measure.measure("dot", 10, seed=0)


def test_cpu_peak_from_the_instruction_set():
    p = roofline.cpu_peak("flags : fpu avx512f avx2 fma\ncpu MHz : 2000.0\n")
    assert p.flop_per_cycle == 64 and p.ghz == 2.0
    assert p.flops == pytest.approx(p.cores * 2e9 * 64)
    assert "cores" in str(p)
    unknown = roofline.cpu_peak("")
    assert unknown.flops is None and "unknown" in str(unknown)
    here = roofline.cpu_peak()
    assert here.cores == device.machine_threads()


def test_libraries_and_specs_are_named():
    libs = roofline.libraries()
    assert libs["torch float32"] in {"MKL", "OpenBLAS", "torch's own kernels"}
    h200 = roofline.SPECS["NVIDIA H200 SXM"]
    assert h200["dense BF16 tensor core"][0] == 989e12 and "datasheet" in h200["source"]


def test_memory_sized_requests_are_estimated_before_allocating(monkeypatch):
    monkeypatch.setattr(device, "_memory", lambda dev: 10**6)  # pretend: a 1 MB device
    with pytest.raises(ValueError, match="would need about"):
        measure.measure("copy", 10**6)
    with pytest.raises(ValueError, match="naive attention at T = 4096 would need about"):
        measure.measure_at_scale([4096], heads=2)
