"""Chapter 10, first half: floating-point precision (dotbook.precision).

Softmax, log-sum-exp and log-softmax against PyTorch's own at huge logits in
every dtype, and the book's rule for +inf, fully masked and NaN rows; shift
invariance and the log-sum-exp identities as property tests; the four
accumulations of ``rounded_dot`` against a rounding-by-rounding Python loop and
against their error bounds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dotbook import precision as P
from dotbook.device import dtype_name

F64 = torch.float64
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
close = torch.testing.assert_close
LOW = (torch.float16, torch.bfloat16)

finite = st.floats(-50.0, 50.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)
shifts = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, allow_subnormal=False)
logit_lists = st.lists(finite, min_size=1, max_size=16)


def u(dtype: torch.dtype) -> float:
    return P.limits(dtype).unit_roundoff


# ------------------------------------------------------------------ formats
def test_limits_come_from_finfo_and_match_the_known_values():
    f16, bf16, f32, f64 = (P.limits(d) for d in (torch.float16, torch.bfloat16, torch.float32,
                                                  F64))
    assert f16.max == 65504.0
    assert (f16.precision, bf16.precision, f32.precision, f64.precision) == (11, 8, 24, 53)
    assert bf16.eps == 2.0**-7 and bf16.unit_roundoff == 2.0**-8
    assert f16.unit_roundoff == 2.0**-11 and f32.unit_roundoff == 2.0**-24
    assert math.isclose(f32.exp_overflow, 88.72, abs_tol=0.005)
    assert math.isclose(f16.exp_overflow, 11.09, abs_tol=0.005)
    assert math.isclose(bf16.exp_overflow, f32.exp_overflow, rel_tol=1e-2)  # float32's range
    assert f16.smallest_subnormal == 2.0**-24 and bf16.smallest_subnormal == 2.0**-133


@pytest.mark.parametrize("dtype", P.DTYPES, ids=dtype_name)
def test_exp_overflows_just_past_the_threshold(dtype):
    lim = P.limits(dtype)
    below = torch.tensor(lim.exp_overflow * (1 - 4 * lim.eps), dtype=F64).to(dtype)
    above = torch.tensor(lim.exp_overflow * (1 + 4 * lim.eps), dtype=F64).to(dtype)
    assert torch.isfinite(torch.exp(below)) and torch.isinf(torch.exp(above))
    tiny = torch.tensor(lim.exp_underflow * (1 + 4 * lim.eps), dtype=F64).to(dtype)
    assert torch.exp(tiny).item() == 0.0


def test_supported_dtypes_on_cpu_and_when_a_probe_fails(monkeypatch):
    assert P.supported_dtypes() == P.DTYPES
    assert P.supported_dtypes("cpu", (torch.float16, F64)) == (torch.float16, F64)
    monkeypatch.setattr(P._device, "supports", lambda dev, dtype: dtype != F64)
    assert P.supported_dtypes("cpu") == P.DTYPES[1:]
    with pytest.raises(TypeError, match="floating"):
        P.supported_dtypes("cpu", (torch.int32,))


# ------------------------------------------------------------------ softmax
def huge_logits(dtype: torch.dtype, device: str, scale: float = 1e4) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(6, 33, generator=g, dtype=F64) * 2 - 1  # (6, 33) in [-1, 1)
    x[0] = torch.linspace(-1, 1, 33, dtype=F64)
    x[1, 5] = 1.0  # exactly ±scale somewhere
    x[2, 7] = -1.0
    return (scale * x).to(dtype).to(device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", P.DTYPES, ids=dtype_name)
@pytest.mark.parametrize("scale", [1.0, 100.0, 1e4])
def test_stable_versions_match_references_up_to_1e4(dtype, device, scale):
    x = huge_logits(dtype, device, scale)  # (6, 33)
    eps = P.limits(dtype).eps
    ref = x.double()  # the same rounded logits, references computed in float64
    for dim in (-1, 0):
        p = P.softmax(x, dim=dim)
        lse = P.logsumexp(x, dim=dim)
        lsm = P.log_softmax(x, dim=dim)
        for out in (p, lse, lsm):
            assert out.dtype == dtype and out.device.type == device
            assert torch.isfinite(out).all()
        close(p.double(), torch.softmax(ref, dim=dim), rtol=0, atol=8 * eps)
        close(lse.double(), torch.logsumexp(ref, dim=dim), rtol=4 * eps, atol=8 * eps)
        close(lsm.double(), torch.log_softmax(ref, dim=dim), rtol=4 * eps,
              atol=8 * eps * (1 + scale / 100))
        # PyTorch's own ops in the same dtype agree too
        close(p, torch.softmax(x, dim=dim), rtol=0, atol=8 * eps)
        close(lse, torch.logsumexp(x, dim=dim), rtol=4 * eps, atol=8 * eps)


@pytest.mark.parametrize("dtype", P.DTYPES, ids=dtype_name)
def test_naive_breaks_past_the_threshold_where_shifted_does_not(dtype):
    t = P.limits(dtype).exp_overflow
    x = torch.tensor([0.0, 1.5 * t], dtype=F64).to(dtype)
    assert torch.isnan(P.softmax(x, method="naive")).any()
    assert torch.isinf(P.logsumexp(x, method="naive"))
    assert not torch.isfinite(P.log_softmax(x, method="naive")).all()
    close(P.softmax(x).double(), torch.tensor([0.0, 1.0], dtype=F64))
    under = torch.tensor([-3.0, -2.0], dtype=F64).mul(-P.limits(dtype).exp_underflow).to(dtype)
    assert torch.isnan(P.softmax(under, method="naive")).all()  # 0 / 0
    assert torch.isfinite(P.softmax(under)).all()
    # just below the threshold no exponential overflows, but their sum does: all zeros
    near = torch.tensor([t - 0.3, t - 0.3], dtype=F64).to(dtype)
    assert torch.isfinite(near.exp()).all() and torch.isinf(near.exp().sum())
    assert (P.softmax(near, method="naive") == 0).all()
    assert torch.isinf(P.logsumexp(near, method="naive"))  # inf, not nan
    close(P.softmax(near).double(), torch.tensor([0.5, 0.5], dtype=F64))
    assert P.logsumexp(under, method="naive") == -math.inf  # log 0
    small = torch.tensor([0.5, -1.0, 2.0], dtype=dtype)
    for method in P.SOFTMAX_METHODS:  # away from the thresholds both are right
        close(P.softmax(small, method=method), torch.softmax(small, -1), rtol=0,
              atol=4 * P.limits(dtype).eps)


def test_extreme_inputs_follow_the_books_rule():
    """Issue 20: mass splits among +inf entries, a fully masked row gives zeros,
    NaN gives NaN; logsumexp agrees with torch's; no inf - inf anywhere."""
    inf, nan = math.inf, math.nan
    for dtype in P.DTYPES:
        x = torch.tensor([[inf, 1.0], [-inf, -inf], [inf, inf], [nan, 1.0], [0.0, -inf],
                          [inf, -inf]], dtype=F64).to(dtype)
        p = P.softmax(x).double()
        close(p[[0, 1, 2, 4, 5]], torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.5, 0.5], [1.0, 0.0],
                                                [1.0, 0.0]], dtype=F64))
        assert torch.isnan(p[3]).all()
        lsm = P.log_softmax(x).double()
        assert lsm[0].tolist() == [0.0, -inf] and math.copysign(1, lsm[0, 0].item()) == 1
        assert lsm[1].tolist() == [-inf, -inf] and lsm[4].tolist() == [0.0, -inf]
        close(lsm[2], torch.full((2,), -math.log(2), dtype=F64), rtol=0,
              atol=P.limits(dtype).eps)
        assert torch.isnan(lsm[3]).all()
        close(P.logsumexp(x).double(), torch.logsumexp(x.double(), -1), equal_nan=True)
    # the rule along dim=0, and gradients stay finite away from NaN
    col = torch.tensor([[inf, -inf], [1.0, -inf]], dtype=F64)
    close(P.softmax(col, dim=0), torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=F64))
    z = torch.tensor([[inf, 1.0], [-inf, -inf], [2.0, 3.0]], dtype=F64, requires_grad=True)
    P.softmax(z).pow(2).sum().backward()
    assert torch.isfinite(z.grad).all()
    # torch.softmax itself gives NaN for these rows; the book documents the difference
    assert torch.isnan(torch.softmax(x.double()[:3], -1)).all()


def test_reference_errors_refuse_non_finite_logits():
    with pytest.raises(ValueError, match="finite"):
        P.reference_errors(torch.tensor([math.inf, 1.0]))


def test_rows_of_minus_infinity_in_logsumexp_behave_like_torch():
    x = torch.tensor([[-math.inf, -math.inf], [0.0, -math.inf]], dtype=F64)
    close(P.logsumexp(x), torch.logsumexp(x, -1))
    close(P.softmax(x)[1], torch.softmax(x, -1)[1])


@given(logit_lists, shifts)
def test_shift_invariance_and_logsumexp_identities(values, c):
    x = torch.tensor(values, dtype=F64)
    n = x.numel()
    close(P.softmax(x + c), P.softmax(x), rtol=1e-9, atol=1e-12)
    close(P.log_softmax(x + c), P.log_softmax(x), rtol=0, atol=1e-10 * (1 + abs(c)))
    lse = P.logsumexp(x)
    close(P.logsumexp(x + c), lse + c, rtol=0, atol=1e-10 * (1 + abs(c)))
    m = x.max()
    assert m - 1e-12 <= lse <= m + math.log(n) + 1e-12  # max <= lse <= max + log n
    close(P.log_softmax(x), x - lse)  # log softmax = x − lse
    close(P.log_softmax(x).exp(), P.softmax(x))
    close(P.softmax(x).sum(), torch.tensor(1.0, dtype=F64))
    close(lse, torch.logsumexp(x, 0))
    if m < 50:  # in range, naive and shifted agree
        close(P.logsumexp(x, method="naive"), lse)


@given(st.lists(finite, min_size=2, max_size=6), st.lists(finite, min_size=2, max_size=6))
def test_logsumexp_of_a_concatenation(xs, ys):
    x, y = torch.tensor(xs, dtype=F64), torch.tensor(ys, dtype=F64)
    both = torch.stack([P.logsumexp(x), P.logsumexp(y)])  # (2,)
    close(P.logsumexp(torch.cat([x, y])), P.logsumexp(both))


def test_bad_input_gets_clear_errors():
    x = torch.randn(3, 4)
    with pytest.raises(TypeError, match="floating-point"):
        P.softmax(torch.arange(4))
    with pytest.raises(ValueError, match=r"dim = 2 is out of range.*\[-2, 1\]"):
        P.logsumexp(x, dim=2)
    with pytest.raises(ValueError, match="out of range"):
        P.log_softmax(x, dim=-3)
    with pytest.raises(TypeError, match="dim must be an int"):
        P.softmax(x, dim=1.0)
    with pytest.raises(ValueError, match="unknown method"):
        P.softmax(x, method="max")
    with pytest.raises(ValueError, match="scalar"):
        P.softmax(torch.tensor(1.0))
    with pytest.raises(ValueError, match="empty"):
        P.softmax(torch.zeros(2, 0))
    with pytest.raises(TypeError, match="torch.Tensor"):
        P.softmax([1.0, 2.0])


# ------------------------------------------------------------- dot products
@pytest.mark.parametrize("dtype", LOW + (torch.float32,), ids=dtype_name)
@pytest.mark.parametrize("accumulate", P.ACCUMULATIONS)
def test_dot_matches_the_rounding_loop(dtype, accumulate):
    g = torch.Generator().manual_seed(3)
    for n in (1, 2, 7, 33, 100):
        a = (torch.rand(n, generator=g, dtype=F64) * 4 - 1).to(dtype)
        b = (torch.rand(n, generator=g, dtype=F64) * 4 - 1).to(dtype)
        got, ref = P.rounded_dot(a, b, accumulate).item(), P.rounded_dot_loop(a, b, accumulate)
        if accumulate == "float32":  # different order of the float32 sum
            size = float((a.double() * b.double()).abs().sum())
            assert abs(got - ref) <= 2 * P.gamma(n, 2.0**-24) * size
        else:
            assert got == ref, (n, got, ref)


def test_dot_loop_matches_numpy_float16_arithmetic():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, 300).astype(np.float16)
    b = rng.uniform(0, 1, 300).astype(np.float16)
    s = np.float16(0)
    for x, y in zip(a, b, strict=True):
        s = np.float16(s + np.float16(x * y))  # numpy rounds every float16 op
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    assert P.rounded_dot_loop(ta, tb, "low") == float(s) == P.rounded_dot(ta, tb, "low").item()


@pytest.mark.parametrize("device", DEVICES)
def test_dot_shapes_dtypes_and_batches(device):
    g = torch.Generator().manual_seed(4)
    a = torch.rand(3, 5, 40, generator=g).half().to(device)  # (3, 5, 40)
    b = torch.rand(3, 5, 40, generator=g).half().to(device)
    for acc in P.ACCUMULATIONS:
        out = P.rounded_dot(a, b, acc)
        assert out.shape == (3, 5) and out.device.type == device
        assert out.dtype == (torch.float32 if acc == "float32" else torch.float16)
        row = P.rounded_dot(a[1, 2], b[1, 2], acc)
        assert out[1, 2].item() == row.item()
    x64 = torch.rand(10, 17, generator=g, dtype=F64)  # (10, 17)
    for acc in ("low", "pairwise", "kahan"):
        close(P.rounded_dot(x64, x64, acc), (x64 * x64).sum(-1))


def test_dot_examples_of_stagnation_and_recovery():
    ones = torch.ones(4096, dtype=torch.float16)
    assert P.rounded_dot(ones, ones, "low").item() == 2048.0  # 2048 + 1 rounds back to 2048
    for acc in ("float32", "pairwise", "kahan"):
        assert P.rounded_dot(ones, ones, acc).item() == 4096.0


@pytest.mark.parametrize("dtype", LOW, ids=dtype_name)
def test_measured_errors_stay_under_their_bounds(dtype):
    ns = [2**k for k in range(1, 13)]
    e = P.accumulation_errors(dtype, ns, trials=16,
                              generator=torch.Generator().manual_seed(5))
    for acc in P.ACCUMULATIONS:
        worst = e.max(acc)
        bounds = [P.error_bound(n, dtype, acc) for n in ns]
        assert all(w <= b for w, b in zip(worst, bounds, strict=True)), (acc, worst, bounds)
    # low precision accumulation gets worse with n; the others do not
    low = e.median("low")
    assert low[-1] > 10 * low[0]
    for acc in ("float32", "pairwise", "kahan"):
        assert max(e.median(acc)) < 2 * u(dtype)
    # from n·u >= 1 on (n = 4096 here) γ_n says nothing: the check above is vacuous there
    assert math.isinf(P.error_bound(2**12, dtype, "low"))


def test_float32_accumulation_of_wider_inputs_counts_the_conversion():
    a = torch.tensor([1.0 + 2.0**-30], dtype=F64)  # not a float32 number
    one = torch.ones(1, dtype=F64)
    err = abs(P.rounded_dot(a, one, "float32").item() - a.item()) / a.item()
    assert err > 2.0**-53  # the conversion to float32 rounds
    assert err <= P.error_bound(1, F64, "float32")
    g = torch.Generator().manual_seed(9)
    x, y = torch.rand(2, 8, 500, generator=g, dtype=F64)  # (8, 500) each
    errs = (P.rounded_dot(x, y, "float32").double() - (x * y).sum(-1)).abs() / (x * y).sum(-1)
    assert errs.max() <= P.error_bound(500, F64, "float32")


def test_gamma_and_bounds():
    assert P.gamma(0, 0.1) == 0.0
    assert math.isclose(P.gamma(3, 0.1), 0.3 / 0.7)
    assert math.isinf(P.gamma(10, 0.1))
    assert P.error_bound(1, torch.float16, "pairwise") == P.gamma(1, 2.0**-11)
    assert P.error_bound(1024, torch.float16, "pairwise") == P.gamma(11, 2.0**-11)
    with pytest.raises(ValueError, match="accumulate"):
        P.error_bound(4, torch.float16, "fast")
    with pytest.raises(ValueError):
        P.gamma(-1, 0.1)
    # issue 19: gamma_n is undefined once n·u >= 1; documented as inf (vacuous bound)
    assert math.isinf(P.gamma(2048, 2.0**-11)) and math.isfinite(P.gamma(2047, 2.0**-11))
    with pytest.raises(ValueError, match="unit roundoff"):
        P.gamma(3, 1.0)
    with pytest.raises(TypeError):
        P.gamma(3, "0.1")
    with pytest.raises(ValueError, match="too large"):
        P.gamma(2**70, 0.1)


def test_dot_bad_input():
    a = torch.rand(4)
    with pytest.raises(ValueError, match="shape mismatch"):
        P.rounded_dot(a, torch.rand(5))
    with pytest.raises(TypeError, match="dtype mismatch"):
        P.rounded_dot(a, a.half())
    with pytest.raises(TypeError, match="floating-point"):
        P.rounded_dot(torch.arange(4), torch.arange(4))
    with pytest.raises(ValueError, match="unknown accumulate"):
        P.rounded_dot(a, a, "double")
    with pytest.raises(ValueError, match="ns is empty"):
        P.accumulation_errors(torch.float16, [])
    with pytest.raises(ValueError, match=">= 1"):
        P.accumulation_errors(torch.float16, [0])
    # issue 20: counts have upper bounds checked before any work
    with pytest.raises(ValueError, match="too large"):
        P.accumulation_errors(torch.float16, [10**12])
    with pytest.raises(ValueError, match="trials"):
        P.accumulation_errors(torch.float16, [8], trials=10**9)
    with pytest.raises(ValueError, match="2\\*\\*26"):
        P.accumulation_errors(torch.float16, [2**20], trials=4000)
    with pytest.raises(TypeError, match="generator"):
        P.accumulation_errors(torch.float16, [8], generator=0)
    with pytest.raises(TypeError, match="sequence"):
        P.accumulation_errors(torch.float16, 8)
    with pytest.raises(ValueError, match="device"):
        P.supported_dtypes("no-such-device")
    with pytest.raises(ValueError, match="too large"):
        P.score_spread([10**9], generator=torch.Generator())
    with pytest.raises(ValueError, match="too large"):
        P.temperature_scores(10**12, generator=torch.Generator())


def test_temperature_scores_give_sqrt_n_spread_and_prefix_dimensions():
    from dotbook.device import generator

    stds = P.score_spread([4, 64, 1024], 2000, generator=generator(3))
    for n, s in zip([4, 64, 1024], stds, strict=True):
        assert 0.9 < s / math.sqrt(n) < 1.1
    q, k = P.temperature_scores(256, 12, generator=generator(4))
    assert q.shape == (256,) and k.shape == (12, 256) and q.dtype == F64
