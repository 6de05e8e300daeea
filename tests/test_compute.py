"""dotbook.compute (Chapter 4): every rung of the ladder equals PyTorch's own op at float64,
the FLOP and byte counts, the fits, and clear errors for bad input."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from support import DEVICES, F64

from dotbook import compute, geometry

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
    assert abs(compute.dot_route(a, b, method=method) - torch.dot(a, b).item()) <= bound


def test_the_loop_route_is_geometry_dot_loop():
    a, b = _pair(257, 3)
    assert compute.dot_route(a, b, method="loop") == geometry.dot_loop(a, b)


@pytest.mark.parametrize("device", DEVICES_F64)
def test_torch_route_runs_on_the_tensors_device(device):
    a, b = _pair(100, 1, device)
    torch.testing.assert_close(torch.tensor(compute.dot_route(a, b), dtype=F64),
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


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: compute.dot_route(torch.ones(3), torch.ones(4)), ValueError, "shape mismatch"),
    (lambda: compute.dot_route(torch.ones(3), torch.ones(3), method="fortran"), ValueError,
     "unknown method"),
    (lambda: compute.matvec_loop(torch.ones(2, 3), torch.ones(4)), ValueError, "shape mismatch"),
    (lambda: compute.matmul_loop(torch.ones(2, 3), torch.ones(2, 3)), ValueError,
     r"A has shape \(2, 3\) and B has shape \(2, 3\)"),
    (lambda: compute.dot_flops(0), ValueError, ">= 1"),
    (lambda: compute.dot_flops(2.5), TypeError, "int"),
    (lambda: compute.matmul_bytes(2, 2, 2, "float32"), TypeError, "torch dtype"),
    (lambda: compute.loglog_fit([1, 1], [1, 2]), ValueError, "two different x"),
    (lambda: compute.intensity(10, 0), ValueError, "nbytes must be > 0"),
])
def test_bad_input_is_refused_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()




def test_dot_route_reads_tensors_that_require_grad_through_detach():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    for method in compute.DOT_METHODS:
        assert compute.dot_route(a, a, method=method) == 5.0


def test_huge_sizes_are_refused_before_any_work():
    with pytest.raises(ValueError, match="at most"):
        compute.dot_flops(10**12)
    with pytest.raises(ValueError, match="at most"):
        compute.work("matmul", (10**11, 2, 2))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_python_routes_refuse_gpu_tensors():
    a = torch.ones(3, device="cuda")
    with pytest.raises(ValueError, match="on the CPU"):
        compute.dot_route(a, a, method="loop")
