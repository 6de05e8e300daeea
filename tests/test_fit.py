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
    opt = torch.optim.SGD(b.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
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
    assert ce[0] == pytest.approx(lo[0], abs=0.5)  # both start near log 2


def test_logistic_is_the_binary_cross_entropy_of_the_one_output():
    x, y = _data()
    net = _net(1)
    with torch.no_grad():
        want = F.binary_cross_entropy_with_logits(net(x)[:, 0], y.double()).item()
    first = training.fit(net, x, y, loss="logistic", lr=1e-9, steps=1)[0]
    assert first == pytest.approx(want, rel=1e-12)


def test_clip_bounds_the_gradient_norm_of_each_step():
    x, y = _data()
    net = _net()
    before = [p.detach().clone() for p in net.parameters()]
    training.fit(net, x, y * 1, loss="cross_entropy", lr=1.0, steps=1, clip=1e-3)
    moved = math.sqrt(sum(float((p.detach() - q).square().sum())
                          for p, q in zip(net.parameters(), before, strict=True)))
    assert moved <= 1e-3 * (1 + 1e-9)  # one SGD step of lr 1 moves by the clipped norm


def test_equal_generators_give_equal_histories():
    x, y = _data()
    runs = [training.fit(_net(), x, y, loss="cross_entropy", lr=0.1, steps=10, batch=8,
                         generator=generator(3)) for _ in range(2)]
    assert runs[0] == runs[1]


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    (dict(y=torch.full((48,), 99)), ValueError, r"label 99.*classes 0 … 1"),
    (dict(y=torch.full((48,), -1)), ValueError, "label -1"),
    (dict(y=torch.zeros(48)), ValueError, "int64"),
    (dict(x=torch.randn(48, 3, dtype=torch.float32)), TypeError, "float32.*float64"),
    (dict(x=torch.empty(0, 3, dtype=torch.float64), y=torch.empty(0, dtype=torch.int64)),
     ValueError, "rows"),
    (dict(x=torch.randn(48, 5, dtype=torch.float64)), ValueError,
     r"cannot take x of shape \(48, 5\)"),
    (dict(lr=float("nan")), ValueError, "lr"),
    (dict(lr=math.inf), ValueError, "lr"),
    (dict(lr=-0.1), ValueError, "lr"),
    (dict(lr=0.0), ValueError, "lr must be positive"),
    (dict(steps=0), ValueError, "steps must be an int >= 1"),
    (dict(steps=10**12), ValueError, "steps = 1000000000000 is too large"),
    (dict(steps=2.0), TypeError, "steps"),
    (dict(batch=10**12, generator=generator(0)), ValueError, "batch = 1000000000000 is too large"),
    (dict(batch=8), TypeError, "generator"),
    (dict(batch=8, generator=7), TypeError, "torch.Generator"),
    (dict(loss="hinge"), ValueError, "unknown loss 'hinge'"),
    (dict(optimizer="rmsprop"), ValueError, "unknown optimizer 'rmsprop'"),
    (dict(momentum=1.0), ValueError, "momentum"),
    (dict(momentum=0.9, optimizer="adam"), ValueError, "momentum"),
    (dict(weight_decay=-1.0), ValueError, "weight_decay"),
    (dict(clip=0.0), ValueError, "clip must be positive"),
    (dict(clip=float("nan")), ValueError, "clip"),
    (dict(model=lambda t: t), TypeError, "torch.nn.Module"),
    (dict(model=torch.nn.ReLU()), ValueError, "no trainable parameters"),
    (dict(loss="logistic"), ValueError, "one output"),
    (dict(loss="mse"), TypeError, "int64"),
    (dict(loss="mse", y=torch.zeros(48, 3, dtype=torch.float64)), ValueError, r"\(48, 2\)"),
])
def test_bad_input_is_a_clear_error(kwargs, error, words):
    x, y = _data()
    args = dict(model=_net(), x=x, y=y, loss="cross_entropy", lr=0.1, steps=3)
    args.update(kwargs)
    with pytest.raises(error, match=words):
        training.fit(args.pop("model"), args.pop("x"), args.pop("y"), **args)
