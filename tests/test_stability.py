"""Chapter 10, second half: keeping sizes in range (dotbook.stability, figures.ch10).

Normalisation and clipping against ``torch.nn``; the exploding deep network and
what LayerNorm and RMSNorm do to it; the chapter's figures.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from dotbook import precision as P
from dotbook import stability as S
from dotbook.device import dtype_name, generator

F64 = torch.float64
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
close = torch.testing.assert_close

finite = st.floats(-50.0, 50.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)


# ------------------------------------------------- normalisation and clipping
@pytest.mark.parametrize("dtype", [F64, torch.float32, torch.bfloat16], ids=dtype_name)
def test_layer_norm_and_rms_norm_match_torch(dtype):
    g = torch.Generator().manual_seed(6)
    x = (torch.randn(4, 7, 32, generator=g, dtype=F64) * 30 + 5).to(dtype)  # (4, 7, 32)
    w = (torch.rand(32, generator=g, dtype=F64) + 0.5).to(dtype)
    b = torch.randn(32, generator=g, dtype=F64).to(dtype)
    tol = {"rtol": 4 * P.limits(dtype).eps, "atol": 8 * P.limits(dtype).eps}
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
        P.limits(dtype).eps).sqrt()).to(dtype)  # (4, 7, 32) the formula
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
def test_depth_profile_is_the_network_of_that_gain():
    g = generator(15)
    d = S.depth_profile([1.0, 1.7], depth=8, width=32, batch=16, generator=g)
    g = generator(15)  # the same stream, drawn in the same order
    x = torch.randn(16, 32, generator=g)
    for norm in S.NORMS:
        cfg = S.MLPConfig(depth=8, width=32, gain=1.0, norm=norm)
        net = S.deep_mlp(cfg, generator=g)
        with torch.no_grad():
            for m in net:
                if isinstance(m, torch.nn.Linear):
                    m.weight.mul_(1.7)
        close(torch.tensor(d[1.7][norm]["rms"]), torch.tensor(S.preactivation_rms(net, x)),
              rtol=1e-4, atol=0)
    assert d[1.7]["none"]["rms"][-1] > 20 * d[1.7]["none"]["rms"][0]
    assert max(d[1.7]["layer"]["rms"]) < 5
    with pytest.raises(ValueError, match="too large"):
        S.depth_profile([1.0], depth=10**9, generator=g)


def test_deep_mlp_is_built_by_initialize_and_float16_is_the_rounded_float32():
    from dotbook import initialization

    cfg = S.MLPConfig(depth=3, width=16, gain=1.5)
    net = S.deep_mlp(cfg, generator=generator(2))
    g = generator(2)
    for m in [m for m in net if isinstance(m, torch.nn.Linear)]:
        w = initialization.initialize_(torch.empty(16, 16), "he", 1.5, generator=g)
        assert torch.equal(m.weight, w) and m.bias is None
    half = S.deep_mlp(cfg, generator=generator(2), dtype=torch.float16)
    for a, b in zip(net.parameters(), half.parameters(), strict=True):
        assert torch.equal(a.half(), b)


def test_norms_reject_bad_eps():
    """Issue 20: eps <= 0, NaN or a string was silently NaN or a raw TypeError."""
    x = torch.randn(3, 8)
    for fn in (S.layer_norm, S.rms_norm):
        for bad in (-1.0, 0.0, math.nan, math.inf):
            with pytest.raises(ValueError, match="eps"):
                fn(x, eps=bad)
        for bad in ("0.5", True, None if fn is S.layer_norm else [1e-5]):
            with pytest.raises(TypeError, match="eps"):
                fn(x, eps=bad)
    assert torch.isfinite(S.layer_norm(torch.zeros(2, 4), eps=1e-5)).all()


def test_train_and_networks_refuse_bad_input():
    net = S.deep_mlp(S.MLPConfig(depth=2, width=8))
    x, y = torch.randn(4, 8), torch.randn(4, 8)
    with pytest.raises(ValueError, match="too large"):
        S.train(net, x, y, steps=10**12)
    with pytest.raises(ValueError, match="lr"):
        S.train(net, x, y, lr=0.0)
    with pytest.raises(TypeError, match="nn.Module"):
        S.train("net", x, y)
    with pytest.raises(ValueError, match="same B"):
        S.train(net, x, y[:3])
    with pytest.raises(ValueError, match="too large"):
        S.MLPConfig(depth=10**12)
    with pytest.raises(ValueError, match="first layer takes 8"):
        S.preactivations(net, torch.randn(4, 5))
    with pytest.raises(ValueError, match="eps"):
        S.clip_by_norm([torch.ones(2)], 1.0, eps=math.nan)


# ------------------------------------------------------------ chapter figures
def test_softmax_and_accumulation_figures_show_the_failure():
    from dotbook.figures import ch10

    fig = ch10.softmax_figure(P.DTYPES.index(torch.float16), 30.0)
    assert "naive is nan" in fig["layout"]["title"]["text"]
    fig = ch10.softmax_figure(P.DTYPES.index(torch.float32), 10.0)
    assert "naive is fine" in fig["layout"]["title"]["text"]
    twin = ch10.softmax_twin((torch.float32,))  # a device with one dtype gets one position
    assert twin.params[0].values == (0,)
    twin = ch10.accumulation_twin(generator=generator(1))
    assert twin.params[0].values == (0, 1)
    fig = ch10.accumulation_figure(0, (torch.float16,), {torch.float16: P.accumulation_errors(
        torch.float16, ch10.ACC_N, 8, generator=generator(1))})
    assert "float16" in fig["layout"]["title"]["text"]
    with pytest.raises(TypeError, match="measured"):
        ch10.accumulation_twin({torch.float16: "not a measurement"})
