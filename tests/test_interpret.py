"""dotbook.interpret: contributions, gradient × input, integrated gradients, attention
importance and superposition.

Formula/autograd and batched/loop twins are compared at float64; completeness is
checked where it must hold (linear models, integrated gradients) and shown to fail
where it need not (gradient × input on a nonlinear model).
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from support import DEVICES_F64 as DEVICES
from support import F64, randn

from dotbook import attention, highdim
from dotbook import interpret as I
from dotbook.device import generator

close = torch.testing.assert_close


@pytest.mark.parametrize("device", DEVICES)
@given(n=st.integers(1, 10), batch=st.integers(1, 4), seed=st.integers(0, 2**31 - 1))
@settings(max_examples=25)
def test_contributions_formula_equals_autograd_and_add_up(device, n, batch, seed):
    w, x = randn(n, device=device, seed=seed), randn(batch, n, device=device, seed=seed + 1)
    c = I.contributions(w, x)
    close(I.contributions(w, x, method="autograd"), c)
    close(c.sum(dim=-1), x @ w)
    assert c.device.type == device


@pytest.mark.parametrize("device", DEVICES)
def test_linear_model_is_complete_for_both_attributions(device):
    w, b = randn(6, device=device, seed=1), 0.7
    f = lambda t: t @ w + b  # noqa: E731
    x = randn(5, 6, device=device, seed=2)
    for attribution in (I.gradient_x_input(f, x), I.integrated_gradients(f, x, steps=3)):
        close(I.completeness_gap(attribution, f, x), torch.zeros(5, dtype=F64, device=device))


@pytest.mark.parametrize("device", DEVICES)
def test_integrated_gradients_equals_its_loop_and_is_complete(device):
    W1, W2 = randn(8, 4, device=device, seed=3), randn(8, device=device, seed=4)
    f = lambda t: torch.tanh(t @ W1.T) @ W2  # noqa: E731
    x, base = randn(3, 4, device=device, seed=5), randn(4, device=device, seed=6)
    ig = I.integrated_gradients(f, x, base, steps=200)
    close(ig, I.integrated_gradients_loop(f, x, base, steps=200))
    gap = I.completeness_gap(ig, f, x, base).abs().max()
    assert gap < 1e-3  # midpoint rule, smooth f: O(1/steps²)


def test_gradient_x_input_fails_on_a_saturated_unit():
    x = torch.tensor([1.0, 1.0], dtype=F64)
    close(I.gradient_x_input(I.saturating, x), torch.zeros(2, dtype=F64))
    close(I.integrated_gradients(I.saturating, x), torch.full((2,), 0.5, dtype=F64))
    assert float(I.completeness_gap(I.gradient_x_input(I.saturating, x), I.saturating, x)) == -1


@pytest.mark.parametrize("device", DEVICES)
def test_token_importance_against_autograd_and_ablation(device):
    q, k, v, r = I.disagreeing_tokens(device=device)
    imp = I.token_importance(q, k, v, r)
    close(imp.attention, attention.attention_weights(q[None], k)[0])
    assert abs(float(imp.contribution.sum()) - imp.output) < 1e-12
    out = torch.nn.functional.scaled_dot_product_attention(q[None, None], k[None], v[None])
    assert abs(float(out[0, 0] @ r) - imp.output) < 1e-12
    assert int(imp.attention.argmax()) == 0 and int(imp.contribution.argmax()) == 1
    assert float(imp.gradient[0]) < 0 and int(imp.gradient.argmax()) == 1
    masked = attention.scaled_dot_product_attention(
        q[None], k, v, mask=torch.tensor([[False, True, True, True]], device=device))
    assert float(masked[0] @ r) > 10 * imp.output  # without the distractor, y grows
    # gradient × input by finite differences on token 1's value
    eps = 1e-6
    v2 = v.clone()
    v2[1] *= 1 + eps
    y2 = float(attention.scaled_dot_product_attention(q[None], k, v2)[0] @ r)
    k2 = k.clone()
    k2[1] *= 1 + eps
    y3 = float(attention.scaled_dot_product_attention(q[None], k2, v)[0] @ r)
    assert abs((y2 - imp.output) / eps + (y3 - imp.output) / eps - float(imp.gradient[1])) < 1e-4


@given(m=st.integers(2, 40), n=st.integers(2, 12), seed=st.integers(0, 1000))
@settings(max_examples=20)
def test_interference_max_equals_highdim(m, n, seed):
    u = randn(m, n, seed=seed)
    big, mean = I.interference(u)
    assert abs(big - highdim.max_abs_pairwise_cosine(u)) < 1e-12
    u_hat = u / u.norm(dim=1, keepdim=True)
    pairs = [abs(float(u_hat[i] @ u_hat[j])) for i in range(m) for j in range(i + 1, m)]
    assert abs(mean - sum(pairs) / len(pairs)) < 1e-12


@pytest.mark.parametrize("device", DEVICES)
def test_sparse_features_have_k_active_values(device):
    f = I.sparse_features(50, 30, 4, generator=generator(0, device))
    assert f.device.type == device and f.shape == (50, 30)
    assert ((f > 0).sum(dim=1) == 4).all()
    assert float(f[f > 0].min()) >= 0.5 and float(f.max()) <= 1.0


def test_superposition_experiment_measures_interference():
    n = 64
    r = I.superposition_experiment(512, n, 3, generator=generator(0))
    assert r.max_cos <= highdim.union_bound_epsilon(512, n, delta=1e-6)
    exact = math.exp(math.lgamma(n / 2) - math.lgamma((n + 1) / 2)) / math.sqrt(math.pi)
    assert abs(r.mean_cos / exact - 1) < 0.05
    assert abs(r.relative_linear / (511 / n) - 1) < 0.2
    assert r.relative_relu < 0.5


@pytest.mark.parametrize("call", [
    lambda: I.contributions(torch.ones(3, dtype=F64), torch.ones(4, dtype=F64)),
    lambda: I.contributions(torch.ones(3, dtype=F64), torch.ones(3, dtype=F64), method="x"),
    lambda: I.gradient_x_input(lambda t: t, torch.ones(3, dtype=F64)),
    lambda: I.integrated_gradients(I.saturating, torch.ones(3, dtype=F64),
                                   torch.ones(2, dtype=F64)),
    lambda: I.sparse_features(3, 4, 5),
    lambda: I.token_importance(torch.ones(2, dtype=F64), torch.ones(3, 2, dtype=F64),
                               torch.ones(4, 2, dtype=F64), torch.ones(2, dtype=F64)),
])
def test_bad_input_is_refused(call):
    with pytest.raises((ValueError, TypeError)):
        call()
