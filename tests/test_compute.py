"""dotbook.compute: every rung of the ladder equals PyTorch's own op at float64, the
FLOP and byte counts, the harness's sanity (no timing thresholds), the reference file,
and clear errors for bad input."""

from __future__ import annotations

import json
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from support import DEVICES, F64

from dotbook import compute, geometry
from dotbook.figures import ch04

DEVICES_F64 = [d for d in DEVICES if d != "mps"]


def _pair(n: int, seed: int = 0, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator(device=device).manual_seed(seed)
    return (torch.randn(n, dtype=F64, generator=g, device=device),
            torch.randn(n, dtype=F64, generator=g, device=device))


# ------------------------------------------------------------------ the ladder is exact
@pytest.mark.parametrize("method", compute.DOT_METHODS)
@given(n=st.integers(1, 300), seed=st.integers(0, 2**16))
def test_every_dot_route_equals_torch_dot_at_float64(method, n, seed):
    a, b = _pair(n, seed)
    # two summation orders differ by at most 2·γ_n·Σ|a_i b_i|, γ_n = nu/(1 - nu), u = 2⁻⁵³:
    # rounding, nothing more
    u = 2.0**-53
    bound = 2 * n * u / (1 - n * u) * (a.abs() @ b.abs()).item()
    assert abs(compute.dot(a, b, method=method) - torch.dot(a, b).item()) <= bound


def test_the_loop_route_is_geometry_dot_loop():
    a, b = _pair(257, 3)
    assert compute.dot(a, b, method="loop") == geometry.dot_loop(a, b)


@pytest.mark.parametrize("device", DEVICES_F64)
def test_torch_route_runs_on_the_tensors_device(device):
    a, b = _pair(100, 1, device)
    torch.testing.assert_close(torch.tensor(compute.dot(a, b), dtype=F64),
                               torch.dot(a, b).cpu(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES_F64)
@given(m=st.integers(1, 12), k=st.integers(1, 12), n=st.integers(1, 12))
def test_loops_of_dot_products_equal_one_matmul(device, m, k, n):
    g = torch.Generator(device=device).manual_seed(m * 1000 + k * 10 + n)
    A = torch.randn(m, k, dtype=F64, generator=g, device=device)
    B = torch.randn(k, n, dtype=F64, generator=g, device=device)
    x = torch.randn(k, dtype=F64, generator=g, device=device)
    out = compute.matmul_loop(A, B)
    assert out.device == A.device and out.shape == (m, n)
    torch.testing.assert_close(out, A @ B, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(compute.matvec_loop(A, x), A @ x, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ counting work
@given(m=st.integers(1, 10**4), k=st.integers(1, 10**4), n=st.integers(1, 10**4))
def test_flop_counts(m, k, n):
    assert compute.dot_flops(n) == 2 * n
    assert compute.matvec_flops(m, n) == 2 * m * n == m * compute.dot_flops(n)
    assert compute.matmul_flops(m, k, n) == 2 * m * k * n == m * n * compute.dot_flops(k)


@pytest.mark.parametrize(("dtype", "size"), [(torch.float64, 8), (torch.float32, 4),
                                              (torch.bfloat16, 2), (torch.float16, 2)])
def test_byte_counts_read_every_input_once_and_write_the_output(dtype, size):
    assert compute.dot_bytes(1000, dtype) == (2 * 1000 + 1) * size
    assert compute.matvec_bytes(30, 40, dtype) == (30 * 40 + 40 + 30) * size
    assert compute.matmul_bytes(2, 3, 4, dtype) == (6 + 12 + 8) * size
    assert compute.copy_bytes(10, dtype) == 20 * size
    assert compute.work("copy", (10,), dtype) == (0, 20 * size)


def test_intensity_of_a_dot_product_is_a_quarter_and_of_a_matmul_n_over_6():
    for n in (10, 10**3, 10**6):
        assert abs(compute.intensity(*compute.work("dot", (n,))) - 0.25) < 0.25 / n
    for side in (6, 60, 600):
        assert compute.intensity(*compute.work("matmul", (side,) * 3)) == pytest.approx(side / 6)
    assert compute.intensity(*compute.work("dot", (10**6,), torch.float64)) == pytest.approx(
        0.125, rel=1e-5)


def test_loglog_fit_recovers_a_power_law_and_crossover():
    xs = [10.0**k for k in range(1, 7)]
    fit = compute.loglog_fit(xs, [3e-9 * x**1.5 for x in xs])
    assert fit.slope == pytest.approx(1.5) and fit.coefficient == pytest.approx(3e-9)
    assert fit(100.0) == pytest.approx(3e-6)
    assert compute.crossover(1e-6, 8e9, torch.float64) == pytest.approx(500.0)


# ------------------------------------------------------------------ the harness
def test_measure_returns_positive_finite_times_with_the_work_attached():
    m = compute.measure("dot", 1000, repeats=3)
    assert m.op == "dot" and m.shape == (1000,) and m.device == "cpu" and m.dtype == "float32"
    assert m.repeats == 3 and (m.flops, m.nbytes) == compute.work("dot", (1000,))
    for v in (m.seconds, m.best, m.flop_rate, m.byte_rate):
        assert math.isfinite(v) and v > 0
    assert 0 < m.best <= m.seconds and m.spread >= 0
    assert m.label == "torch.dot (cpu)" and "GFLOP/s" in str(m)


def test_harness_times_grow_with_size_on_small_inputs():
    # the Python loop's cost is ~n interpreter steps: 100× the work is far more time,
    # whatever else the machine is doing (no threshold on the times themselves)
    small = compute.measure("dot", 50, method="loop", repeats=5)
    large = compute.measure("dot", 5000, method="loop", repeats=5)
    assert large.best > small.best


@pytest.mark.parametrize("device", DEVICES)
def test_measure_every_op_on_every_device(device):
    for op, shape in (("dot", (64,)), ("matvec", (8, 16)), ("matmul", (4, 5, 6)),
                      ("copy", (1024,))):
        for method in compute.METHODS[op]:
            if method in ("loop", "generator", "numpy") and device != "cpu":
                continue
            m = compute.measure(op, shape, method=method, device=device, repeats=2)
            assert m.device == torch.device(device).type and m.seconds > 0


def test_measure_restores_torch_and_blas_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas() -> list[int]:
        return [d["num_threads"] for d in threadpoolctl.threadpool_info()
                if d["user_api"] == "blas"]

    before, blas_before = torch.get_num_threads(), blas()
    compute.measure("dot", 100, repeats=1, threads=1)
    compute.measure("dot", 100, method="numpy", repeats=1, threads=1)
    assert torch.get_num_threads() == before and blas() == blas_before


def test_ladders_have_every_route_and_skip_the_loop_above_loop_max():
    rows = compute.ladder((10, 1000), loop_max=100, repeats=1)
    assert [(r.method, r.shape[0]) for r in rows] == [
        ("loop", 10), ("generator", 10), ("numpy", 10), ("torch", 10),
        ("numpy", 1000), ("torch", 1000)]
    ups = compute.speedups(rows)
    assert ups[("dot", (10,), "Python loop")] == 1.0 and len(ups) == 4
    matrix = compute.matrix_ladder((4,), (3,), repeats=1)
    assert [(r.op, r.method) for r in matrix] == [("matvec", "loop"), ("matvec", "torch"),
                                                 ("matmul", "loop"), ("matmul", "torch")]


def test_ceilings_record_sizes_and_dtypes_and_make_a_roofline():
    c = compute.ceilings("cpu", matmul_size=32, copy_numel=1 << 12, repeats=2)
    assert [m.dtype for m in c.matmul] == ["float32", "bfloat16"]
    assert all(m.shape == (32, 32, 32) for m in c.matmul) and c.copy.shape == (4096,)
    assert c.peak >= c.peak_in("float32") > 0 and c.bandwidth > 0
    assert c.attainable(1e-9) == pytest.approx(1e-9 * c.bandwidth)
    assert c.attainable(1e9) == c.peak
    assert c.ridge() == pytest.approx(c.peak / c.bandwidth)
    again = compute.Ceilings.from_dict(json.loads(json.dumps(c.to_dict())))
    assert again == c


# ------------------------------------------------------------------ reference data
def test_reference_file_ships_with_the_package_and_says_what_was_never_measured():
    cpu, cuda = compute.reference("cpu"), compute.reference("cuda")
    assert cpu.measured and cpu.date and cpu.torch and cpu.ceilings is not None
    assert {r.method for r in cpu.rows} >= set(compute.DOT_METHODS)
    assert cpu.ceilings.peak > 0 and cpu.ceilings.bandwidth > 0
    if not cuda.measured:
        assert cuda.status == "never measured" and cuda.ceilings is None and not cuda.rows
        assert "never measured" in cuda.label


def test_figures_draw_references_and_live_rows():
    rows = compute.ladder((10, 100), repeats=1)
    fig = ch04.ladder_twin(rows).data(n=100)
    names = [t.get("name", "") for t in fig["data"]]
    assert any("this run" in n for n in names) and any("reference" in n for n in names)
    c = compute.ceilings("cpu", matmul_size=16, copy_numel=1024, repeats=1)
    roof = ch04.roofline_twin(c, rows).data(side=64)
    assert "this run" in roof["layout"]["title"]["text"]


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: compute.dot(torch.ones(3), torch.ones(4)), ValueError, "shape mismatch"),
    (lambda: compute.dot(torch.ones(3), torch.ones(3), method="fortran"), ValueError,
     "unknown method"),
    (lambda: compute.matvec_loop(torch.ones(2, 3), torch.ones(4)), ValueError, "shape mismatch"),
    (lambda: compute.matmul_loop(torch.ones(2, 3), torch.ones(2, 3)), ValueError,
     r"A has shape \(2, 3\) and B has shape \(2, 3\)"),
    (lambda: compute.measure("dot", 10, device="tpu"), ValueError, "not a device torch knows"),
    (lambda: compute.measure("dot", 0), ValueError, "n must be an int >= 1"),
    (lambda: compute.measure("matmul", (4, -1, 4)), ValueError, "k must be an int >= 1"),
    (lambda: compute.measure("matmul", (4, 4)), ValueError, r"\(m, k, n\)"),
    (lambda: compute.measure("conv", 10), ValueError, "unknown op"),
    (lambda: compute.measure("dot", 10, method="numpy", dtype=torch.bfloat16), TypeError,
     "NumPy has no"),
    (lambda: compute.dot_flops(0), ValueError, ">= 1"),
    (lambda: compute.dot_flops(2.5), TypeError, "int"),
    (lambda: compute.matmul_bytes(2, 2, 2, "float32"), TypeError, "torch dtype"),
    (lambda: compute.ceilings("cpu", matmul_size=0), ValueError, "matmul_size"),
    (lambda: compute.loglog_fit([1, 1], [1, 2]), ValueError, "two different x"),
    (lambda: compute.intensity(10, 0), ValueError, "nbytes must be > 0"),
])
def test_bad_input_is_refused_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_a_missing_gpu_is_named():
    with pytest.raises(ValueError, match="not available on this machine"):
        compute.measure("dot", 10, device="cuda")
    with pytest.raises(ValueError, match="not available"):
        compute.ceilings("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_python_routes_refuse_gpu_tensors():
    a = torch.ones(3, device="cuda")
    with pytest.raises(ValueError, match="on the CPU"):
        compute.dot(a, a, method="loop")
    with pytest.raises(ValueError, match="on the CPU"):
        compute.measure("dot", 10, method="numpy", device="cuda")


def test_bench_script_compares_the_harness_with_torch_utils_benchmark():
    import importlib.util

    from support import ROOT

    spec = importlib.util.spec_from_file_location("bench_compute",
                                                  ROOT / "tools" / "bench_compute.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    c = compute.ceilings("cpu", matmul_size=32, copy_numel=1 << 12, repeats=2)
    rows = bench.harness_vs_timer(c, torch.device("cpu"), rounds=1, min_run_time=0.01)
    assert [(what.split()[0], stat) for what, stat, *_ in rows] == [
        ("matmul", "best"), ("matmul", "median"), ("matmul", "best"), ("matmul", "median"),
        ("copy", "best"), ("copy", "median")]
    assert all(ours > 0 and theirs > 0 and frac == pytest.approx(ours / theirs)
               for _, _, ours, theirs, frac in rows)
