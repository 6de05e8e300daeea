"""dotbook.training.fit: the one small-model trainer, its losses, optimisers, batches, and
the clear errors it gives for bad input."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from dotbook import initialization, training
from dotbook.device import generator


def _data(n=48, dtype=torch.float64):
    g = generator(0)
    x = torch.randn(n, 3, generator=g, dtype=dtype)
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).long()


def _net(n_out=2, dtype=torch.float64, seed=1):
    return initialization.mlp(2, 8, "tanh", "xavier", n_in=3, n_out=n_out,
                              generator=generator(seed), dtype=dtype)


def test_fit_matches_a_hand_written_loop_step_for_step():
    x, y = _data()
    a, b = _net(), _net()
    history = training.fit(a, x, y, loss="cross_entropy", lr=0.1, steps=25, batch=16,
                           generator=generator(5), momentum=0.9, weight_decay=1e-3)
    g = generator(5)
    decay = [p for p in b.parameters() if p.ndim >= 2]  # the penalty falls on weights only
    keep = [p for p in b.parameters() if p.ndim < 2]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 1e-3},
                           {"params": keep, "weight_decay": 0.0}], lr=0.1, momentum=0.9)
    mine = []
    for _ in range(25):
        pick = torch.randint(0, x.shape[0], (16,), generator=g)
        opt.zero_grad()
        loss = F.cross_entropy(b(x[pick]), y[pick])
        loss.backward()
        opt.step()
        mine.append(loss.item())
    assert history == pytest.approx(mine, rel=1e-12)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_every_loss_learns(optimizer):
    x, y = _data()
    lr = 0.05 if optimizer == "adam" else 0.5
    ce = training.fit(_net(), x, y, loss="cross_entropy", optimizer=optimizer, lr=lr, steps=100)
    lo = training.fit(_net(1), x, y, loss="logistic", optimizer=optimizer, lr=lr, steps=100)
    target = torch.stack([x[:, 0], x[:, 1] ** 2], dim=1)  # (N, 2)
    ms = training.fit(_net(), x, target, loss="mse", optimizer=optimizer, lr=lr / 5, steps=100)
    for history in (ce, lo, ms):
        assert len(history) == 100 and all(math.isfinite(v) for v in history)
        assert history[-1] < 0.6 * history[0]


def test_weight_decay_shrinks_weights_but_not_biases():
    x, _ = _data()
    net = torch.nn.Linear(3, 2, dtype=torch.float64)
    with torch.no_grad():
        net.weight.fill_(0.5)
        net.bias.fill_(0.5)
        target = net(x)  # a perfect fit: the loss gradient is 0, only the penalty acts
    training.fit(net, x, target, loss="mse", lr=0.1, steps=1, weight_decay=1.0)
    torch.testing.assert_close(net.weight, torch.full((2, 3), 0.45, dtype=torch.float64))
    torch.testing.assert_close(net.bias, torch.full((2,), 0.5, dtype=torch.float64))
