"""Chapter 6's experiments on an image (dotbook.filters): steering, equivariance, pooling."""

from __future__ import annotations

import pytest
import torch

from dotbook import conv, filters

F64 = torch.float64
close = torch.testing.assert_close


def test_experiments_validate_their_inputs():
    with pytest.raises(ValueError, match="image"):
        filters.edge_response(torch.zeros(2, 3, 4), 0.0)
    with pytest.raises(TypeError, match="image"):
        filters.edge_response(torch.zeros(4, 4, dtype=torch.int64), 0.0)
    with pytest.raises(ValueError, match="method"):
        filters.edge_response(torch.zeros(8, 8), 0.0, method="fft")
    with pytest.raises(ValueError, match="len\\(shifts\\)"):
        filters.pooling_changes(torch.zeros(8, 8), list(range(5000)))
    with pytest.raises(TypeError, match="shift"):
        filters.shifted_stack(torch.zeros(8, 8), [1.5])
    with pytest.raises(ValueError, match="mode"):
        filters.feature_maps(torch.zeros(8, 8), mode="mirror")


@pytest.mark.parametrize("angle", [0.0, 47.0, 180.0, 301.0])
def test_steered_edge_response_equals_direct_convolution(angle):
    image = torch.rand(12, 17, generator=torch.Generator().manual_seed(1), dtype=F64)
    k, steered = filters.edge_response(image, angle)
    _, direct = filters.edge_response(image, angle, method="conv")
    close(steered, direct, rtol=0, atol=1e-12)
    close(k, conv.edge_kernel(angle, 7, 1.2, dtype=F64))


def test_shifted_outputs_exact_circular_and_border_only_with_zeros():
    image = torch.rand(10, 30, generator=torch.Generator().manual_seed(2), dtype=F64)
    out = filters.shifted_outputs(image, 5)
    close(out["circular_conv_of_shift"], out["circular_shift_of_conv"], rtol=0, atol=1e-12)
    diff = out["zeros_conv_of_shift"] - out["zeros_shift_of_conv"]
    assert diff[:, 7:-7].abs().max() < 1e-12 and diff.abs().max() > 1e-3
    stack = filters.shifted_stack(image, [5, -3])
    close(stack["zeros_conv_of_shift"][0], out["zeros_conv_of_shift"], rtol=0, atol=1e-12)


def test_pooling_changes_global_exact_local_weak():
    image = torch.rand(16, 24, generator=torch.Generator().manual_seed(3), dtype=F64)
    changes = filters.pooling_changes(image, [1, 3])
    assert list(changes) == list(filters.POOLINGS)
    assert max(changes["global average pooling"]) < 1e-12
    assert max(changes["global max pooling"]) < 1e-12
    assert 0 < changes["2×2 max pooling"][0] < changes["feature map, no pooling"][0]
    maps = filters.feature_maps(image)
    assert maps.shape == (4, 16, 24) and (maps >= 0).all()
