"""Chapter 10: numerical stability (dotbook.stability, figures.ch10).

Softmax, log-sum-exp and log-softmax against PyTorch's own at huge logits in
every dtype; shift invariance and the log-sum-exp identities as property tests;
the four accumulations of ``dot`` against a rounding-by-rounding Python loop
and against their error bounds; normalisation and clipping against
``torch.nn``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from dotbook import stability as S

F64 = torch.float64
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
close = torch.testing.assert_close
LOW = (torch.float16, torch.bfloat16)

finite = st.floats(-50.0, 50.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)
shifts = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, allow_subnormal=False)
logit_lists = st.lists(finite, min_size=1, max_size=16)


def u(dtype: torch.dtype) -> float:
    return S.limits(dtype).unit_roundoff


# ------------------------------------------------------------------ formats
def test_limits_come_from_finfo_and_match_the_known_values():
    f16, bf16, f32, f64 = (S.limits(d) for d in (torch.float16, torch.bfloat16, torch.float32,
                                                  F64))
    assert f16.max == 65504.0
    assert (f16.precision, bf16.precision, f32.precision, f64.precision) == (11, 8, 24, 53)
    assert bf16.eps == 2.0**-7 and bf16.unit_roundoff == 2.0**-8
    assert f16.unit_roundoff == 2.0**-11 and f32.unit_roundoff == 2.0**-24
    assert math.isclose(f32.exp_overflow, 88.72, abs_tol=0.005)
    assert math.isclose(f16.exp_overflow, 11.09, abs_tol=0.005)
    assert math.isclose(bf16.exp_overflow, f32.exp_overflow, rel_tol=1e-2)  # float32's range
    assert f16.smallest_subnormal == 2.0**-24 and bf16.smallest_subnormal == 2.0**-133


@pytest.mark.parametrize("dtype", S.DTYPES, ids=S.dtype_name)
def test_exp_overflows_just_past_the_threshold(dtype):
    lim = S.limits(dtype)
    below = torch.tensor(lim.exp_overflow * (1 - 4 * lim.eps), dtype=F64).to(dtype)
    above = torch.tensor(lim.exp_overflow * (1 + 4 * lim.eps), dtype=F64).to(dtype)
    assert torch.isfinite(torch.exp(below)) and torch.isinf(torch.exp(above))
    tiny = torch.tensor(lim.exp_underflow * (1 + 4 * lim.eps), dtype=F64).to(dtype)
    assert torch.exp(tiny).item() == 0.0


def test_supported_dtypes_on_cpu_and_when_a_probe_fails(monkeypatch):
    assert S.supported_dtypes() == S.DTYPES
    assert S.supported_dtypes("cpu", (torch.float16, F64)) == (torch.float16, F64)
    monkeypatch.setattr(S._device, "supports", lambda dev, dtype: dtype != F64)
    assert S.supported_dtypes("cpu") == S.DTYPES[1:]
    with pytest.raises(TypeError, match="floating"):
        S.supported_dtypes("cpu", (torch.int32,))


# ------------------------------------------------------------------ softmax
def huge_logits(dtype: torch.dtype, device: str, scale: float = 1e4) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(6, 33, generator=g, dtype=F64) * 2 - 1  # (6, 33) in [-1, 1)
    x[0] = torch.linspace(-1, 1, 33, dtype=F64)
    x[1, 5] = 1.0  # exactly ±scale somewhere
    x[2, 7] = -1.0
    return (scale * x).to(dtype).to(device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", S.DTYPES, ids=S.dtype_name)
@pytest.mark.parametrize("scale", [1.0, 100.0, 1e4])
def test_stable_versions_match_references_up_to_1e4(dtype, device, scale):
    x = huge_logits(dtype, device, scale)  # (6, 33)
    eps = S.limits(dtype).eps
    ref = x.double()  # the same rounded logits, references computed in float64
    for dim in (-1, 0):
        p = S.softmax(x, dim=dim)
        lse = S.logsumexp(x, dim=dim)
        lsm = S.log_softmax(x, dim=dim)
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


@pytest.mark.parametrize("dtype", S.DTYPES, ids=S.dtype_name)
def test_naive_breaks_past_the_threshold_where_shifted_does_not(dtype):
    t = S.limits(dtype).exp_overflow
    x = torch.tensor([0.0, 1.5 * t], dtype=F64).to(dtype)
    assert torch.isnan(S.softmax(x, method="naive")).any()
    assert torch.isinf(S.logsumexp(x, method="naive"))
    assert not torch.isfinite(S.log_softmax(x, method="naive")).all()
    close(S.softmax(x).double(), torch.tensor([0.0, 1.0], dtype=F64))
    under = torch.tensor([-3.0, -2.0], dtype=F64).mul(-S.limits(dtype).exp_underflow).to(dtype)
    assert torch.isnan(S.softmax(under, method="naive")).all()  # 0 / 0
    assert torch.isfinite(S.softmax(under)).all()
    # just below the threshold no exponential overflows, but their sum does: all zeros
    near = torch.tensor([t - 0.3, t - 0.3], dtype=F64).to(dtype)
    assert torch.isfinite(near.exp()).all() and torch.isinf(near.exp().sum())
    assert (S.softmax(near, method="naive") == 0).all()
    assert torch.isinf(S.logsumexp(near, method="naive"))  # inf, not nan
    close(S.softmax(near).double(), torch.tensor([0.5, 0.5], dtype=F64))
    assert S.logsumexp(under, method="naive") == -math.inf  # log 0
    small = torch.tensor([0.5, -1.0, 2.0], dtype=dtype)
    for method in S.SOFTMAX_METHODS:  # away from the thresholds both are right
        close(S.softmax(small, method=method), torch.softmax(small, -1), rtol=0,
              atol=4 * S.limits(dtype).eps)


def test_rows_of_minus_infinity_behave_like_torch():
    x = torch.tensor([[-math.inf, -math.inf], [0.0, -math.inf]], dtype=F64)
    close(S.logsumexp(x), torch.logsumexp(x, -1))
    close(S.softmax(x), torch.softmax(x, -1), equal_nan=True)
    close(S.log_softmax(x), torch.log_softmax(x, -1), equal_nan=True)


@given(logit_lists, shifts)
def test_shift_invariance_and_logsumexp_identities(values, c):
    x = torch.tensor(values, dtype=F64)
    n = x.numel()
    close(S.softmax(x + c), S.softmax(x), rtol=1e-9, atol=1e-12)
    close(S.log_softmax(x + c), S.log_softmax(x), rtol=0, atol=1e-10 * (1 + abs(c)))
    lse = S.logsumexp(x)
    close(S.logsumexp(x + c), lse + c, rtol=0, atol=1e-10 * (1 + abs(c)))
    m = x.max()
    assert m - 1e-12 <= lse <= m + math.log(n) + 1e-12  # max <= lse <= max + log n
    close(S.log_softmax(x), x - lse)  # log softmax = x − lse
    close(S.log_softmax(x).exp(), S.softmax(x))
    close(S.softmax(x).sum(), torch.tensor(1.0, dtype=F64))
    close(lse, torch.logsumexp(x, 0))
    if m < 50:  # in range, naive and shifted agree
        close(S.logsumexp(x, method="naive"), lse)


@given(st.lists(finite, min_size=2, max_size=6), st.lists(finite, min_size=2, max_size=6))
def test_logsumexp_of_a_concatenation(xs, ys):
    x, y = torch.tensor(xs, dtype=F64), torch.tensor(ys, dtype=F64)
    both = torch.stack([S.logsumexp(x), S.logsumexp(y)])  # (2,)
    close(S.logsumexp(torch.cat([x, y])), S.logsumexp(both))


def test_bad_input_gets_clear_errors():
    x = torch.randn(3, 4)
    with pytest.raises(TypeError, match="floating-point"):
        S.softmax(torch.arange(4))
    with pytest.raises(ValueError, match=r"dim = 2 is out of range.*\[-2, 1\]"):
        S.logsumexp(x, dim=2)
    with pytest.raises(ValueError, match="out of range"):
        S.log_softmax(x, dim=-3)
    with pytest.raises(TypeError, match="dim must be an int"):
        S.softmax(x, dim=1.0)
    with pytest.raises(ValueError, match="unknown method"):
        S.softmax(x, method="max")
    with pytest.raises(ValueError, match="scalar"):
        S.softmax(torch.tensor(1.0))
    with pytest.raises(ValueError, match="empty"):
        S.softmax(torch.zeros(2, 0))
    with pytest.raises(TypeError, match="torch.Tensor"):
        S.softmax([1.0, 2.0])


# ------------------------------------------------------------- dot products
@pytest.mark.parametrize("dtype", LOW + (torch.float32,), ids=S.dtype_name)
@pytest.mark.parametrize("accumulate", S.ACCUMULATIONS)
def test_dot_matches_the_rounding_loop(dtype, accumulate):
    g = torch.Generator().manual_seed(3)
    for n in (1, 2, 7, 33, 100):
        a = (torch.rand(n, generator=g, dtype=F64) * 4 - 1).to(dtype)
        b = (torch.rand(n, generator=g, dtype=F64) * 4 - 1).to(dtype)
        got, ref = S.dot(a, b, accumulate).item(), S.dot_loop(a, b, accumulate)
        if accumulate == "float32":  # different order of the float32 sum
            size = float((a.double() * b.double()).abs().sum())
            assert abs(got - ref) <= 2 * S.gamma(n, 2.0**-24) * size
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
    assert S.dot_loop(ta, tb, "low") == float(s) == S.dot(ta, tb, "low").item()


@pytest.mark.parametrize("device", DEVICES)
def test_dot_shapes_dtypes_and_batches(device):
    g = torch.Generator().manual_seed(4)
    a = torch.rand(3, 5, 40, generator=g).half().to(device)  # (3, 5, 40)
    b = torch.rand(3, 5, 40, generator=g).half().to(device)
    for acc in S.ACCUMULATIONS:
        out = S.dot(a, b, acc)
        assert out.shape == (3, 5) and out.device.type == device
        assert out.dtype == (torch.float32 if acc == "float32" else torch.float16)
        row = S.dot(a[1, 2], b[1, 2], acc)
        assert out[1, 2].item() == row.item()
    x64 = torch.rand(10, 17, generator=g, dtype=F64)  # (10, 17)
    for acc in ("low", "pairwise", "kahan"):
        close(S.dot(x64, x64, acc), (x64 * x64).sum(-1))


def test_dot_examples_of_stagnation_and_recovery():
    ones = torch.ones(4096, dtype=torch.float16)
    assert S.dot(ones, ones, "low").item() == 2048.0  # 2048 + 1 rounds back to 2048
    for acc in ("float32", "pairwise", "kahan"):
        assert S.dot(ones, ones, acc).item() == 4096.0


@pytest.mark.parametrize("dtype", LOW, ids=S.dtype_name)
def test_measured_errors_stay_under_their_bounds(dtype):
    ns = [2**k for k in range(1, 13)]
    e = S.accumulation_errors(dtype, ns, trials=16,
                              generator=torch.Generator().manual_seed(5))
    for acc in S.ACCUMULATIONS:
        worst = e.max(acc)
        bounds = [S.error_bound(n, dtype, acc) for n in ns]
        assert all(w <= b for w, b in zip(worst, bounds, strict=True)), (acc, worst, bounds)
    # low precision accumulation gets worse with n; the others do not
    low = e.median("low")
    assert low[-1] > 10 * low[0]
    for acc in ("float32", "pairwise", "kahan"):
        assert max(e.median(acc)) < 2 * u(dtype)
    # from n·u >= 1 on (n = 4096 here) γ_n says nothing: the check above is vacuous there
    assert math.isinf(S.error_bound(2**12, dtype, "low"))


def test_float32_accumulation_of_wider_inputs_counts_the_conversion():
    a = torch.tensor([1.0 + 2.0**-30], dtype=F64)  # not a float32 number
    one = torch.ones(1, dtype=F64)
    err = abs(S.dot(a, one, "float32").item() - a.item()) / a.item()
    assert err > 2.0**-53  # the conversion to float32 rounds
    assert err <= S.error_bound(1, F64, "float32")
    g = torch.Generator().manual_seed(9)
    x, y = torch.rand(2, 8, 500, generator=g, dtype=F64)  # (8, 500) each
    errs = (S.dot(x, y, "float32").double() - (x * y).sum(-1)).abs() / (x * y).sum(-1)
    assert errs.max() <= S.error_bound(500, F64, "float32")


def test_gamma_and_bounds():
    assert S.gamma(0, 0.1) == 0.0
    assert math.isclose(S.gamma(3, 0.1), 0.3 / 0.7)
    assert math.isinf(S.gamma(10, 0.1))
    assert S.error_bound(1, torch.float16, "pairwise") == S.gamma(1, 2.0**-11)
    assert S.error_bound(1024, torch.float16, "pairwise") == S.gamma(11, 2.0**-11)
    with pytest.raises(ValueError, match="accumulate"):
        S.error_bound(4, torch.float16, "fast")
    with pytest.raises(ValueError):
        S.gamma(-1, 0.1)


def test_dot_bad_input():
    a = torch.rand(4)
    with pytest.raises(ValueError, match="shape mismatch"):
        S.dot(a, torch.rand(5))
    with pytest.raises(TypeError, match="dtype mismatch"):
        S.dot(a, a.half())
    with pytest.raises(TypeError, match="floating-point"):
        S.dot(torch.arange(4), torch.arange(4))
    with pytest.raises(ValueError, match="unknown accumulate"):
        S.dot(a, a, "double")
    with pytest.raises(ValueError, match="ns is empty"):
        S.accumulation_errors(torch.float16, [])
    with pytest.raises(ValueError, match=">= 1"):
        S.accumulation_errors(torch.float16, [0])


# ------------------------------------------------- normalisation and clipping
@pytest.mark.parametrize("dtype", [F64, torch.float32, torch.bfloat16], ids=S.dtype_name)
def test_layer_norm_and_rms_norm_match_torch(dtype):
    g = torch.Generator().manual_seed(6)
    x = (torch.randn(4, 7, 32, generator=g, dtype=F64) * 30 + 5).to(dtype)  # (4, 7, 32)
    w = (torch.rand(32, generator=g, dtype=F64) + 0.5).to(dtype)
    b = torch.randn(32, generator=g, dtype=F64).to(dtype)
    tol = {"rtol": 4 * S.limits(dtype).eps, "atol": 8 * S.limits(dtype).eps}
    close(S.layer_norm(x, w, b), F.layer_norm(x, (32,), w, b), **tol)
    ln = torch.nn.LayerNorm(32, dtype=dtype)
    close(S.Normalization("layer", 32, dtype=dtype)(x), ln(x).detach(), **tol)
    if hasattr(torch.nn, "RMSNorm"):  # torch >= 2.4
        rms = torch.nn.RMSNorm(32, dtype=dtype)
        with torch.no_grad():
            rms.weight.copy_(w)
        close(S.rms_norm(x, w), rms(x).detach(), **tol)
        close(S.rms_norm(x, eps=1e-3), F.rms_norm(x, (32,), eps=1e-3), **tol)
    expected = (x.double() / x.double().pow(2).mean(-1, keepdim=True).add(
        S.limits(dtype).eps).sqrt()).to(dtype)  # (4, 7, 32) the formula
    close(S.rms_norm(x), expected, **tol)


def test_norms_in_float16_survive_squares_that_overflow():
    x = torch.tensor([[300.0, -400.0, 500.0, 0.0]], dtype=torch.float16)  # 500² > 65504
    for y in (S.rms_norm(x), S.layer_norm(x)):
        assert torch.isfinite(y).all() and y.dtype == torch.float16
    close(S.rms_norm(x).double().pow(2).mean(), torch.tensor(1.0, dtype=F64), rtol=0,
          atol=4e-3)
    with pytest.raises(ValueError, match="weight"):
        S.rms_norm(x, torch.ones(3, dtype=torch.float16))


@pytest.mark.parametrize("device", DEVICES)
def test_clip_by_norm_equals_clip_grad_norm(device):
    net = S.deep_mlp(S.MLPConfig(depth=6, width=16, gain=1.8), device=device)
    x = torch.randn(8, 16, generator=torch.Generator().manual_seed(7)).to(device)
    net(x).pow(2).mean().backward()
    grads = [p.grad.clone() for p in net.parameters()]
    for max_norm in (1e-3, 1.0, 1e6):
        clipped, total = S.clip_by_norm(grads, max_norm)
        for p, gr in zip(net.parameters(), grads, strict=True):
            p.grad = gr.clone()
        torch_total = torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm)
        close(total, torch_total)
        for p, c in zip(net.parameters(), clipped, strict=True):
            close(c, p.grad)
        new_norm = torch.linalg.vector_norm(torch.stack([c.norm() for c in clipped]))
        assert new_norm <= max_norm * (1 + 1e-6)  # at most c, up to float32 rounding
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        S.clip_by_norm(grads, 0.0)
    with pytest.raises(ValueError, match="empty"):
        S.clip_by_norm([], 1.0)
    with pytest.raises(TypeError, match="dtype mismatch"):
        S.clip_by_norm([grads[0], grads[1].double()], 1.0)


def test_exploding_mlp_grows_by_gain_and_normalisation_holds_it():
    g = torch.Generator().manual_seed(8)
    x = torch.randn(256, 128, generator=g)  # (B, width)
    plain = S.preactivation_rms(S.deep_mlp(S.MLPConfig(depth=12, width=128, gain=1.5),
                                           generator=g), x)
    ratios = [b / a for a, b in zip(plain, plain[1:], strict=False)]
    assert 1.3 < float(np.median(ratios)) < 1.7  # × gain per layer
    assert plain[-1] > 50 * plain[0]
    for norm in ("layer", "rms"):
        held = S.preactivation_rms(S.deep_mlp(S.MLPConfig(depth=12, width=128, gain=1.5,
                                                          norm=norm), generator=g), x)
        assert max(held) < 3 * min(held)
    half = S.deep_mlp(S.MLPConfig(depth=40, width=32, gain=1.5), dtype=torch.float16)
    assert not math.isfinite(S.preactivation_rms(half, x[:, :32].half())[-1])  # 1.5⁴⁰ > 65504
    with pytest.raises(ValueError, match="unknown norm"):
        S.MLPConfig(norm="batch")


# ------------------------------------------------------------ chapter figures
def test_normalization_figure_data_is_the_network_of_that_gain():
    from dotbook.device import generator
    from dotbook.figures import ch10

    x, _ = ch10._norm_nets()
    d = ch10.normalization_data(1.7)
    for norm in S.NORMS:
        cfg = S.MLPConfig(depth=ch10.NORM_DEPTH, width=ch10.NORM_WIDTH, gain=1.7, norm=norm)
        net = S.deep_mlp(cfg, generator=generator(ch10.SEED + 5))
        close(torch.tensor(d[norm]["rms"]), torch.tensor(S.preactivation_rms(net, x)),
              rtol=1e-4, atol=0)
    assert d["none"]["rms"][-1] > 1e6 and max(d["layer"]["rms"]) < 5


def test_softmax_and_accumulation_figures_show_the_failure():
    from dotbook.figures import ch10

    fig = ch10.softmax_figure(S.DTYPES.index(torch.float16), 30.0)
    assert "naive is nan" in fig["layout"]["title"]["text"]
    fig = ch10.softmax_figure(S.DTYPES.index(torch.float32), 10.0)
    assert "naive is fine" in fig["layout"]["title"]["text"]
    twin = ch10.softmax_twin((torch.float32,))  # a device with one dtype gets one position
    assert twin.params[0].values == (0,)
    e = ch10.accumulation_data(torch.float16)
    assert e.ns == ch10.ACC_N and e.median("low")[-1] > 0.05
    with pytest.raises(TypeError, match="measured"):
        ch10.accumulation_twin({torch.float16: "not a measurement"})
