"""depth_statistics and the live faces of Chapters 9 and 12 (issue 22): the one-thread,
stacked rewrite measures what the hooks record, layer by layer, and leaves torch's
thread count as it found it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dotbook import initialization, interpret
from dotbook.device import generator


@pytest.mark.parametrize("activation", ["tanh", "relu", "linear"])
def test_depth_statistics_equal_a_layer_by_layer_measurement(activation):
    depth, width, batch = 5, 16, 8
    s = initialization.depth_statistics(depth, width, activation, "xavier", 1.3, batch=batch,
                                        generator=generator(3), dtype=torch.float64)
    g = generator(3)  # the same draws, in the same order: weights, then x, then r
    net = initialization.mlp(depth, width, activation, "xavier", 1.3, generator=g,
                             dtype=torch.float64)
    x = torch.randn(batch, width, generator=g, dtype=torch.float64).requires_grad_(True)
    r = torch.randn(batch, width, generator=g, dtype=torch.float64)
    with initialization.record(net) as seen:
        (net(x) * r).sum().backward()
    hs = seen["h"] + [seen["z"][-1]]
    linears = [m for m in net if isinstance(m, nn.Linear)]
    for k in range(depth):
        assert s.activation_std[k] == pytest.approx(float(hs[k].std()), rel=1e-12)
        assert s.gradient_std[k] == pytest.approx(float(seen["grad"][k].std()), rel=1e-12)
        assert s.weight_gradient_norm[k] == pytest.approx(
            float(torch.linalg.vector_norm(linears[k].weight.grad)), rel=1e-12)
        expected = float((hs[k].abs() > 0.99).double().mean()) if activation == "tanh" else 0.0
        assert s.saturated[k] == pytest.approx(expected)


def test_live_computations_restore_the_thread_count():
    before = torch.get_num_threads()
    initialization.depth_statistics(3, 8, "tanh", batch=4, generator=generator(0))
    initialization.mean_field(3, "tanh", 1.0)
    interpret.superposition_experiment(40, 8, 2, batch=8, generator=generator(0))
    assert torch.get_num_threads() == before
