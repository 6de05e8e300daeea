"""dotbook.capacity: XOR against one neuron, small MLPs, parameter budgets.

The vectorised neuron grader is held equal to its loop twin; the LP verdicts to
a brute-force check; the MLP to ``torch.nn`` layers with the same weights.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from support import DEVICES_F64 as DEVICES
from support import F64, randn

from dotbook import capacity as C
from dotbook import layers
from dotbook.device import generator

close = torch.testing.assert_close


@pytest.mark.parametrize("device", DEVICES)
@given(m=st.integers(1, 8), seed=st.integers(0, 2**31 - 1))
@settings(max_examples=25)
def test_neuron_accuracy_equals_its_loop(device, m, seed):
    x, y = C.xor_data(device=device)
    w, b = randn(m, 2, device=device, seed=seed), randn(m, device=device, seed=seed + 1)
    fast = C.neuron_accuracy(w, b, x, y)
    assert fast.device.type == device and fast.shape == (m,)
    assert torch.equal(fast.cpu(), C.neuron_accuracy_loop(w, b, x, y).cpu())


def test_no_neuron_gets_all_of_xor():
    x, y = C.xor_data()
    w = randn(20_000, 2, seed=3)
    b = 2 * randn(20_000, seed=4)
    assert int(C.neuron_accuracy(w, b, x, y).max()) == 3


@pytest.mark.parametrize("device", DEVICES)
def test_separability_of_all_sixteen_boolean_functions(device):
    x, y = C.xor_data(device=device)
    separable = 0
    for bits in itertools.product((0, 1), repeat=4):
        labels = torch.tensor(bits, device=device)
        verdict = C.separability(x, labels)
        s = 2.0 * labels.to(F64) - 1.0
        if verdict.separable:
            separable += 1
            assert verdict.w.device.type == device
            margins = s * (x @ verdict.w + verdict.b)
            assert (margins >= 1 - 1e-7).all()
        else:
            lam = verdict.certificate
            assert lam.device.type == device
            assert (lam >= -1e-12).all() and abs(float(lam.sum()) - 1) < 1e-9
            close(lam * s @ x, torch.zeros(2, dtype=F64, device=device), atol=1e-9, rtol=0)
            assert abs(float((lam * s).sum())) < 1e-9
            assert bits in ((0, 1, 1, 0), (1, 0, 0, 1))
    assert separable == 14


@pytest.mark.parametrize("widths, count", [([2, 4, 1], 17), ([1, 100, 1], 301),
                                           ([1, 11, 11, 11, 1], 298), ([3, 16, 16, 2], 370)])
def test_parameter_count(widths, count):
    assert C.parameter_count(widths) == count


@given(budget=st.integers(20, 3000), depth=st.integers(1, 4))
def test_width_for_budget_is_the_closest(budget, depth):
    k = C.width_for_budget(budget, depth)
    best = abs(C.parameter_count([1, *[k] * depth, 1]) - budget)
    for other in (k - 1, k + 1):
        if other >= 1:
            assert best <= abs(C.parameter_count([1, *[other] * depth, 1]) - budget)


@pytest.mark.parametrize("device", DEVICES)
def test_mlp_matches_torch_nn_and_counts_its_parameters(device):
    x, y = C.xor_data(device=device)
    net = C.train_mlp(x, y, [3], activation="tanh", loss="logistic", steps=5,
                      generator=generator(0, device))
    reference = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    reference = reference.to(device=device, dtype=F64)
    with torch.no_grad():
        for module, W, b in zip((reference[0], reference[2]), net.weights, net.biases,
                                strict=True):
            module.weight.copy_(W)
            module.bias.copy_(b)
        close(net(x), reference(x))
    assert net.parameters == C.parameter_count(net.widths) == 13
    assert net.losses.shape == (5,) and net.losses.device.type == device


def test_training_is_seeded_and_solves_xor_with_enough_width():
    x, y = C.xor_data()
    a = C.train_mlp(x, y, [8], activation="tanh", loss="logistic", steps=300, lr=0.05,
                    generator=generator(1))
    b = C.train_mlp(x, y, [8], activation="tanh", loss="logistic", steps=300, lr=0.05,
                    generator=generator(1))
    close(a.weights[0], b.weights[0])
    assert ((a(x)[:, 0] > 0).long() == y).all()
    # one hidden unit: a monotone function of one dot product, never all four
    for seed in range(3):
        one = C.train_mlp(x, y, [1], activation="tanh", loss="logistic", steps=200, lr=0.05,
                          generator=generator(seed))
        assert ((one(x)[:, 0] > 0).long() != y).any()


def test_one_thread_restores_the_thread_count_even_on_error():
    before = torch.get_num_threads()
    with C.one_thread("cpu"):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), C.one_thread(torch.device("cpu")):
        raise RuntimeError("inside the block")
    assert torch.get_num_threads() == before
    with C.one_thread("meta"):  # not the CPU: the thread count is left alone
        assert torch.get_num_threads() == before
    x, y = C.xor_data()
    C.train_mlp(x, y, [2], activation="tanh", loss="logistic", steps=3, generator=generator(0))
    assert torch.get_num_threads() == before


def test_decision_grid_rows_are_x2():
    ticks, z = C.decision_grid(lambda t: t[..., 1:] * 10 + t[..., :1], 0.0, 1.0, 3)
    close(z[:, 0], 10 * ticks)
    close(z[0, :], ticks)


def test_depth_vs_width_shapes_and_budgets():
    r = C.depth_vs_width(120, 2, seeds=2, steps=30, points=16)
    assert r.parameters[0] == C.parameter_count(r.widths[0])
    assert abs(r.parameters[0] - r.parameters[1]) <= 0.05 * 120
    assert r.test_loss.shape == (2, 2) and r.curves.shape == (2, 2, 30)
    assert r.fits.shape == (2, 2, 15) and r.x_test.shape == (15,)


def test_stack_collapse_reused_from_layers():
    Ws = [randn(4, 3, seed=1), randn(2, 4, seed=2)]
    W, _ = layers.collapse(Ws)
    close(W, Ws[1] @ Ws[0])


@pytest.mark.parametrize("call, error", [
    (lambda: C.separability(torch.zeros(4, 2, dtype=F64), torch.tensor([0, 1, 2, 0])),
     ValueError),
    (lambda: C.separability(torch.zeros(4, 2, dtype=F64), torch.tensor([0.0, 1, 1, 0])),
     ValueError),
    (lambda: C.neuron_accuracy(torch.zeros(2, 3, dtype=F64), torch.zeros(2, dtype=F64),
                               *C.xor_data()), ValueError),
    (lambda: C.parameter_count([5]), ValueError),
    (lambda: C.train_mlp(torch.zeros(4, 2, dtype=F64), torch.zeros(4, 1, dtype=F64), [2],
                         activation="swish"), ValueError),
    (lambda: C.train_mlp(torch.zeros(4, 2, dtype=F64), torch.zeros(3, 1, dtype=F64), [2]),
     ValueError),
])
def test_bad_input_is_refused(call, error):
    with pytest.raises(error):
        call()
