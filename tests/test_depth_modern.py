"""Chapter 9's modern answers: residual streams, dynamical isometry, update-to-weight ratios."""

from __future__ import annotations

import math

import pytest
import torch

from dotbook import depth_modern as dm
from dotbook import initialization
from dotbook.device import generator as seeded

F64 = torch.float64


@pytest.mark.parametrize("branch", dm.BRANCHES)
def test_residual_stream_follows_its_recursion(branch: str) -> None:
    q = dm.residual_second_moments(50, 128, branch, batch=256, generator=seeded(1), dtype=F64)
    want = dm.predicted_second_moments(50, branch)
    assert len(q) == 51
    # plain: 2^50 with a per-block scatter that compounds (40 seeds: e^±2.3); the others:
    # pre-LN ±25% over 40 seeds, the scaled ones ±7%
    tol = {"plain": 4.0, "pre_ln": 0.4}.get(branch, 0.1)
    assert abs(math.log(q[-1] / want[-1])) < tol, (branch, q[-1], want[-1])


def test_residual_growth_plain_geometric_pre_ln_linear_scaled_bounded() -> None:
    q = {b: dm.residual_second_moments(50, 128, b, generator=seeded(2), dtype=F64)[-1]
         for b in dm.BRANCHES}
    assert q["plain"] > 1e12
    assert 30 < q["pre_ln"] < 75
    assert q["scaled"] < math.sqrt(math.e) * 1.1 and q["pre_ln_scaled"] < 1.7
    assert dm.predicted_second_moments(50, "pre_ln_scaled")[-1] == pytest.approx(1.5)
    assert dm.predicted_second_moments(50, "scaled")[-1] < math.sqrt(math.e)


def test_orthogonal_is_orthogonal_and_reproducible() -> None:
    q = dm.orthogonal(16, generator=seeded(3))
    assert torch.allclose(q.T @ q, torch.eye(16, dtype=F64), atol=1e-13)
    assert torch.equal(q, dm.orthogonal(16, generator=seeded(3)))


def test_orthogonal_linear_network_is_an_exact_isometry() -> None:
    s = dm.jacobian_singular_values(50, 64, "linear", "orthogonal", generator=seeded(4))
    assert all((v - 1).abs().max() < 1e-12 for v in s)
    assert dm.spectrum_spread(s[-1]) < 1e-20


def test_gaussian_spread_grows_with_depth_about_like_depth() -> None:
    s = dm.jacobian_singular_values(50, 128, "linear", "gaussian", generator=seeded(5))
    spreads = [dm.spectrum_spread(s[d - 1]) for d in (1, 10, 50)]
    assert spreads[0] < spreads[1] < spreads[2]
    assert 0.5 < spreads[0] < 2 and 20 < spreads[2] < 100  # Pennington et al.: ≈ L


def test_tanh_at_criticality_orthogonal_spreads_less_than_gaussian() -> None:
    for seed in range(3):
        o = dm.jacobian_singular_values(30, 64, "tanh", "orthogonal", generator=seeded(seed))
        g = dm.jacobian_singular_values(30, 64, "tanh", "gaussian", generator=seeded(seed))
        assert dm.spectrum_spread(o[-1]) < dm.spectrum_spread(g[-1]) / 5


def test_update_ratios_match_one_uninterrupted_run_and_leave_inputs_alone() -> None:
    g = seeded(6)
    x = torch.randn(64, 8, generator=g)
    y = (x[:, 0] > 0).long()
    net = initialization.mlp(3, 16, "relu", "he", n_in=8, n_out=2, generator=g)
    kept = [p.detach().clone() for p in net.parameters()]
    gen = seeded(7)
    state = gen.get_state()
    args = dict(loss="cross_entropy", lr=0.05, batch=16, momentum=0.9)
    r = dm.update_ratios(net, x, y, steps=3, generator=gen, **args)
    assert torch.equal(gen.get_state(), state)
    assert all(torch.equal(a, b) for a, b in zip(kept, net.parameters(), strict=True))
    assert len(r) == 3 and all(len(row) == 3 for row in r)
    # the same steps taken by one fit call: the final weights agree with the last snapshot
    import copy

    from dotbook import training
    one = copy.deepcopy(net)
    training.fit(one, x, y, steps=3, generator=seeded(7), **args)
    two = copy.deepcopy(net)
    training.fit(two, x, y, steps=2, generator=seeded(7), **args)
    w1, w2 = one[0].weight.detach(), two[0].weight.detach()
    assert r[2][0] == pytest.approx(((w1 - w2).norm() / w2.norm()).item(), rel=1e-6)


def test_spectrum_spread_values() -> None:
    assert dm.spectrum_spread(torch.ones(5, dtype=F64)) == 0.0
    assert dm.spectrum_spread(torch.tensor([0.0, 2.0])) == pytest.approx(1.0)


@pytest.mark.parametrize("call, error, words", [
    (lambda: dm.residual_second_moments(10**6, 8, "plain", generator=seeded(0)),
     ValueError, "depth"),
    (lambda: dm.residual_second_moments(4, 10**6, "plain", generator=seeded(0)),
     ValueError, "width"),
    (lambda: dm.residual_second_moments(4, 8, "plain", batch=10**7, generator=seeded(0)),
     ValueError, "batch"),
    (lambda: dm.residual_second_moments(4, 8, "post_ln", generator=seeded(0)),
     ValueError, "branch"),
    (lambda: dm.residual_second_moments(4, 8, "plain", generator=seeded(0),
                                        dtype=torch.int64), TypeError, "floating"),
    (lambda: dm.jacobian_singular_values(4, 8, generator=seeded(0), dtype=torch.int32),
     TypeError, "floating"),
    (lambda: dm.jacobian_singular_values(10**5, 8, generator=seeded(0)), ValueError, "depth"),
    (lambda: dm.jacobian_singular_values(4, 8, "relu", generator=seeded(0)),
     ValueError, "activation"),
    (lambda: dm.jacobian_singular_values(4, 8, init="xavier", generator=seeded(0)),
     ValueError, "init"),
    (lambda: dm.jacobian_singular_values(4, 8, sigma2=-1.0, generator=seeded(0)),
     ValueError, "sigma2"),
    (lambda: dm.orthogonal(10**6, generator=seeded(0)), ValueError, "n"),
    (lambda: dm.predicted_second_moments(0, "plain"), ValueError, "depth"),
    (lambda: dm.update_ratios(torch.nn.Linear(2, 2), torch.zeros(4, 2), torch.zeros(4).long(),
                              steps=10**4, generator=seeded(0), loss="cross_entropy", lr=0.1),
     ValueError, "steps"),
    (lambda: dm.update_ratios(torch.nn.Linear(2, 2), torch.zeros(4, 2), torch.zeros(4).long(),
                              steps=2, generator=0, loss="cross_entropy", lr=0.1),
     TypeError, "generator"),
    (lambda: dm.spectrum_spread(torch.zeros(3)), ValueError, "non-zero"),
    (lambda: dm.spectrum_spread(torch.ones(3, dtype=torch.int64)), TypeError, "s"),
])
def test_bad_input_is_a_clear_early_error(call, error, words) -> None:
    with pytest.raises(error, match=words):
        call()
