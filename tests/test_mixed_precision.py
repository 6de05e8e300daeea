"""Chapter 10's loss scaling, master weights and the accuracy of a dot product beyond u
(cancellation, FP8, TF32): dotbook.mixed_precision."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dotbook import mixed_precision as da
from dotbook import mixed_precision as mp
from dotbook import precision
from dotbook.device import generator


@pytest.fixture(scope="module")
def stream() -> list[list[torch.Tensor]]:
    return mp.gradient_stream(40, batch=64, generator=generator(3))


# ------------------------------------------------------------------ underflow
@pytest.mark.parametrize("scale", [1.0, 2.0**8, 1000.0])
def test_underflow_fraction_matches_a_direct_count(scale: float) -> None:
    g = generator(0)
    v = torch.randn(5000, generator=g) * 10.0 ** (-12 * torch.rand(5000, generator=g))
    v[:50] = 0.0
    direct = [x for x in v.double().tolist() if x != 0]
    lost = sum(np.float16(x * scale) == 0 for x in direct)  # numpy rounds to nearest even
    assert mp.underflow_fraction(v, torch.float16, scale) == lost / len(direct)
    assert 0 < lost < len(direct)


def test_underflow_fraction_of_a_list_pools_the_values() -> None:
    a, b = torch.tensor([1e-9, 1.0]), torch.tensor([1e-9, 1e-9, 0.0])
    assert mp.underflow_fraction([a, b]) == 3 / 4
    assert mp.underflow_fraction(torch.zeros(3)) == 0.0
    assert mp.underflow_fraction([a, b], torch.bfloat16) == 0.0


def test_bfloat16_keeps_every_gradient_float16_does_not(stream) -> None:
    last = stream[-1]
    assert mp.underflow_fraction(last, torch.bfloat16) == 0.0
    assert mp.underflow_fraction(last) > mp.underflow_fraction(last, scale=2.0**12)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_underflow_fraction_refuses_a_scale_that_is_not_positive_and_finite(bad) -> None:
    with pytest.raises(ValueError, match="scale"):
        mp.underflow_fraction(torch.ones(3), scale=bad)


@pytest.mark.parametrize("bad", [torch.int8, torch.int32, torch.complex64, "float16", None])
def test_underflow_fraction_refuses_a_format_that_is_not_floating(bad) -> None:
    with pytest.raises(TypeError, match="dtype"):
        mp.underflow_fraction(torch.ones(3), bad)


def test_underflow_fraction_refuses_bad_values() -> None:
    with pytest.raises(TypeError, match="values"):
        mp.underflow_fraction(torch.ones(3, dtype=torch.int64))
    with pytest.raises(TypeError, match="values"):
        mp.underflow_fraction([])
    with pytest.raises(TypeError, match="scale"):
        mp.underflow_fraction(torch.ones(3), scale=True)


def test_scale_sweep_counts_underflow_and_overflow() -> None:
    g = torch.tensor([1e-9, 1e-3, 10.0, 0.0])
    out = mp.scale_sweep(g, [0, 14, 30])
    assert out["underflow"] == [1 / 3, 0.0, 0.0] and out["overflow"] == [0.0, 1 / 3, 2 / 3]


# --------------------------------------------------------------- loss scaling
def test_dynamic_scaler_has_grad_scalers_scale_sequence(stream) -> None:
    for interval in (1, 3, 7):
        ours = mp.run_scaler(stream, mp.LossScaler(growth_interval=interval)).scales
        theirs = mp.grad_scaler_scales(stream, growth_interval=interval)
        assert ours == theirs
    run = mp.run_scaler(stream, mp.LossScaler(growth_interval=3))
    assert not all(run.taken) and any(run.taken)  # it both skips and grows


def test_dynamic_scaler_rule() -> None:
    s = mp.LossScaler(init_scale=1.0, growth_interval=2)
    ones = [torch.ones(2)]
    assert [s.step(ones) for _ in range(4)] == [True] * 4 and s.scale == 4.0
    assert not s.step([torch.tensor([1e5])]) and s.scale == 2.0 and s.good_steps == 0
    assert not s.step([torch.tensor([math.nan])]) and s.scale == 1.0


@pytest.mark.parametrize("kwargs", [dict(init_scale=0.0), dict(growth_factor=1.0),
                                    dict(backoff_factor=1.0), dict(growth_interval=0),
                                    dict(growth_interval=10**9)])
def test_loss_scaler_refuses_bad_settings(kwargs) -> None:
    with pytest.raises(ValueError):
        mp.LossScaler(**kwargs)
    with pytest.raises(TypeError):
        mp.LossScaler(dtype=torch.int16)


def test_gradient_stream_refuses_too_many_steps() -> None:
    with pytest.raises(ValueError, match="steps"):
        mp.gradient_stream(10**7)


# -------------------------------------------------------------- master weights
def test_stochastic_rounding_is_unbiased_and_lands_on_neighbours() -> None:
    x = torch.full((200_000,), 1 + 0.3 * 2.0**-7)
    r = mp.stochastic_round(x, generator=generator(1)).float()
    assert set(r.unique().tolist()) == {1.0, 1 + 2.0**-7}
    assert abs(r.mean().item() - x[0].item()) < 1e-4
    neg = mp.stochastic_round(-x, generator=generator(1)).float()
    assert abs(neg.mean().item() + x[0].item()) < 1e-4
    special = torch.tensor([math.inf, -math.inf, math.nan])
    out = mp.stochastic_round(special, generator=generator(0)).float()
    assert out[0] == math.inf and out[1] == -math.inf and torch.isnan(out[2])


def test_updates_vanish_in_bfloat16_and_survive_a_master_copy() -> None:
    w0 = 1 + torch.rand(1000, generator=generator(2))
    ups = [torch.full((1000,), 1e-3)] * 50
    start = w0.bfloat16().float()
    assert torch.equal(mp.apply_updates(w0, ups, "bfloat16"), start)
    torch.testing.assert_close(mp.apply_updates(w0, ups, "float32 master"), w0 + 0.05)
    drift = (mp.apply_updates(w0, ups, "stochastic", generator=generator(3)) - start).mean()
    assert abs(drift.item() - 0.05) < 0.005
    with pytest.raises(ValueError, match="generator"):
        mp.apply_updates(w0, ups, "stochastic")
    with pytest.raises(ValueError, match="mode"):
        mp.apply_updates(w0, ups, "float16")


# ---------------------------------------------------------------- dot accuracy
def test_condition_number_is_highams() -> None:
    a, b = torch.tensor([3.0, -2.0]), torch.tensor([1.0, 1.0])
    assert da.condition_number(a, b).item() == 5.0
    assert da.condition_number(torch.rand(10), torch.rand(10)).item() == pytest.approx(1.0)


def test_cancellation_errors_obey_gamma_n_kappa() -> None:
    gam = precision.gamma(128, 2.0**-11)
    for data in ("mean-zero", "positive"):
        k, e = da.cancellation_errors(torch.float16, 128, 500, data=data, generator=generator(4))
        assert (e <= gam * k).all()
    with pytest.raises(ValueError, match="data"):
        da.cancellation_errors(torch.float16, 8, 2, data="gaussian", generator=generator(0))


def test_one_pass_variance_cancels_two_pass_does_not() -> None:
    x = (1e4 + torch.randn(16, 256, generator=generator(5)))  # float32
    ref = x.double().var(-1, unbiased=False)
    for method, worst in (("two-pass", 1e-5), ("welford", 1e-2)):
        assert ((da.variance(x, method).double() - ref).abs() / ref).max() < worst
    assert ((da.variance(x, "one-pass").double() - ref).abs() / ref).max() > 0.5
    with pytest.raises(ValueError, match="method"):
        da.variance(x, "three-pass")


def test_round_mantissa_is_round_to_nearest_even() -> None:
    x = torch.randn(50_000, generator=generator(6)) * 100
    assert torch.equal(da.round_mantissa(x, 10), x.half().float())  # float16 keeps 10 bits
    assert torch.equal(da.round_mantissa(x, 7), x.bfloat16().float())
    special = torch.tensor([math.inf, -math.inf, math.nan])
    out = da.round_mantissa(special)
    assert out[0] == math.inf and out[1] == -math.inf and torch.isnan(out[2])
    with pytest.raises(TypeError, match="float32"):
        da.round_mantissa(x.double())
    with pytest.raises(ValueError, match="bits"):
        da.round_mantissa(x, 24)


def test_fp8_scaling_helps_e4m3_and_tf32_costs_precision() -> None:
    g = generator(7)
    a, b = (torch.randn(64, 256, generator=g) * 1e-3 for _ in range(2))
    ref = (a.double() * b.double()).sum(-1)
    size = (a.double() * b.double()).abs().sum(-1)

    def err(scaled: bool) -> float:
        return ((da.fp8_dot(a, b, scaled=scaled).double() - ref).abs() / size).median().item()

    assert err(True) < err(False) / 5
    with pytest.raises(TypeError, match="float8"):
        da.fp8_dot(a, b, torch.float16)
    m, n = torch.randn(32, 512, generator=g), torch.randn(32, 512, generator=g)
    tf32 = da.relative_error(da.tf32_dot(m, n), m, n).max()
    f32 = da.relative_error((m * n).sum(-1), m, n).max()
    assert tf32 > 50 * f32
    with pytest.raises(ValueError, match="got"):
        da.relative_error(torch.zeros(3), m, n)


def test_dynamic_scaler_keeps_its_scale_where_growing_would_overflow_float32() -> None:
    stream = [[torch.tensor([0.0])]] * 3
    kwargs = dict(init_scale=2.0**127, growth_interval=1, dtype=torch.bfloat16)
    ours = mp.run_scaler(stream, mp.LossScaler(**kwargs)).scales
    assert ours == mp.grad_scaler_scales(stream, **kwargs) == [2.0**127] * 3
