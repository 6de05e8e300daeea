"""geometry: each fast function against its definition at float64, the algebra
as hypothesis properties, and every bad-input message."""

from __future__ import annotations

import functools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from support import DEVICES
from support import F64 as DTYPE
from support import vectors as support_vectors

from dotbook import geometry

F64 = dict(dtype=DTYPE)
finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
vectors = functools.partial(support_vectors, max_n=24, lo=-1e3, hi=1e3)  # (n,) each, n ≤ 24


@given(vectors())
def test_fast_dot_equals_the_loop(ab):
    a, b = ab
    scale = float(torch.linalg.vector_norm(a) * torch.linalg.vector_norm(b)) + 1.0
    assert math.isclose(geometry.dot(a, b).item(), geometry.dot_loop(a, b),
                        rel_tol=1e-12, abs_tol=1e-12 * scale)
    torch.testing.assert_close(geometry.dot(a, b), torch.dot(a, b))


@given(vectors(min_norm=1e-3))
def test_algebraic_equals_geometric(ab):
    a, b = ab
    geometric = geometry.norm(a) * geometry.norm(b) * torch.cos(geometry.angle(a, b))
    scale = (geometry.norm(a) * geometry.norm(b)).item()
    assert abs(geometry.dot(a, b).item() - geometric.item()) <= 1e-12 * scale


@given(vectors())
def test_symmetry_and_norm(ab):
    a, b = ab
    assert geometry.dot(a, b).item() == geometry.dot(b, a).item()
    torch.testing.assert_close(geometry.dot(a, a), geometry.norm(a) ** 2, rtol=1e-12, atol=1e-9)


@given(vectors(count=3), finite)
def test_bilinear(abc, k):
    a, b, c = abc
    scale = 1.0 + sum(float(torch.linalg.vector_norm(v)) for v in abc) ** 2 * (1 + abs(k))
    tol = dict(rtol=0.0, atol=1e-10 * scale)
    torch.testing.assert_close(geometry.dot(a, b + c), geometry.dot(a, b) + geometry.dot(a, c),
                               **tol)
    torch.testing.assert_close(geometry.dot(a, k * b), k * geometry.dot(a, b), **tol)
    torch.testing.assert_close(geometry.dot(k * a, b), k * geometry.dot(a, b), **tol)


@given(vectors())
def test_cauchy_schwarz(ab):
    a, b = ab
    bound = geometry.norm(a) * geometry.norm(b)
    assert abs(geometry.dot(a, b).item()) <= bound.item() * (1 + 1e-12) + 1e-300


@given(vectors(min_norm=1e-3), st.floats(-5, 5).filter(lambda k: abs(k) > 1e-3))
def test_cauchy_schwarz_equality_for_parallel_vectors(ab, k):
    a, _ = ab
    assert math.isclose(abs(geometry.cosine(a, k * a).item()), 1.0, rel_tol=1e-12)


@given(vectors(min_norm=1e-3))
@settings(max_examples=60)
def test_projection_residual_is_orthogonal(ab):
    a, b = ab
    p = geometry.project(a, b)
    residual = a - p
    scale = (geometry.norm(a) * geometry.norm(b)).item()
    assert abs(geometry.dot(residual, b).item()) <= 1e-10 * scale
    # projecting twice changes nothing
    torch.testing.assert_close(geometry.project(p, b), p, rtol=1e-10, atol=1e-10 * scale)


def test_batched_shapes_and_known_values():
    a = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]], **F64)  # (B, n)
    b = torch.tensor([[0.0, 3.0], [1.0, 1.0], [0.0, -1.0]], **F64)
    assert geometry.dot(a, b).shape == (3,)
    torch.testing.assert_close(torch.rad2deg(geometry.angle(a, b)),
                               torch.tensor([90.0, 0.0, 180.0], **F64))
    torch.testing.assert_close(geometry.cosine(a, b), torch.tensor([0.0, 1.0, -1.0], **F64))
    torch.testing.assert_close(geometry.from_polar(2.0, math.pi / 2),
                               torch.tensor([0.0, 2.0], **F64), atol=1e-15, rtol=0)


def test_angle_is_accurate_near_zero():
    # arccos(cos θ) loses half the digits here; Kahan's formula does not.
    theta = 1e-9
    a = torch.tensor([1.0, 0.0], **F64)
    b = torch.tensor([math.cos(theta), math.sin(theta)], **F64)
    assert math.isclose(geometry.angle(a, b).item(), theta, rel_tol=1e-6)


def test_float32_and_results_stay_on_the_input_device():
    a = torch.randn(4, 3)
    assert geometry.dot(a, a).dtype == torch.float32
    assert geometry.dot(a, a).device == a.device


@pytest.mark.parametrize(("call", "error", "words"), [
    (lambda: geometry.dot(torch.ones(3), torch.ones(4)), ValueError,
     "shape (3,) but b has shape (4,)"),
    (lambda: geometry.dot(torch.ones(2, 3), torch.ones(3)), ValueError, "shape mismatch"),
    (lambda: geometry.dot(torch.arange(3), torch.arange(3)), TypeError, "floating-point"),
    (lambda: geometry.dot([1.0, 2.0], torch.ones(2)), TypeError, "torch.Tensor"),
    (lambda: geometry.dot(torch.ones(2), torch.ones(2).double()), TypeError, "dtype mismatch"),
    (lambda: geometry.dot(torch.tensor(1.0), torch.tensor(1.0)), ValueError, "scalar"),
    (lambda: geometry.dot_loop(torch.ones(2, 2), torch.ones(2, 2)), ValueError, "1-D"),
    (lambda: geometry.dot_loop(torch.ones(0), torch.ones(0)), ValueError, "empty"),
    (lambda: geometry.cosine(torch.zeros(3), torch.ones(3)), ValueError, "zero vector"),
    (lambda: geometry.angle(torch.ones(3), torch.zeros(3)), ValueError, "b contains 1 zero"),
    (lambda: geometry.project(torch.ones(3), torch.zeros(3)), ValueError, "onto contains"),
    (lambda: geometry.from_polar(-1.0, 0.0), ValueError, "length must lie in"),
])
def test_bad_input_is_explained(call, error, words):
    with pytest.raises(error, match=None) as info:
        call()
    assert words in str(info.value), str(info.value)


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_norm_and_cosine_survive_tiny_and_huge_vectors(scale):
    a = torch.tensor([3.0, 4.0], **F64) * scale
    assert math.isclose(geometry.norm(a).item(), 5 * scale, rel_tol=1e-15)
    b = torch.tensor([4.0, 3.0], **F64) * scale
    assert math.isclose(geometry.cosine(a, b).item(), 24 / 25, rel_tol=1e-15)


@pytest.mark.parametrize("device", DEVICES)
def test_unit_has_length_one_on_every_device(device):
    a = torch.tensor([[3.0, 4.0], [0.0, -2.0]], device=device)
    torch.testing.assert_close(geometry.unit(a), torch.tensor([[0.6, 0.8], [0.0, -1.0]],
                                                              device=device))
    assert geometry.from_polar(1.0, 0.0, dtype=torch.float32, device=device).device.type == device
    with pytest.raises(ValueError, match="u contains 1 zero vector"):
        geometry.unit(torch.zeros(1, 2, device=device), name="u")


@given(vectors(count=1, min_norm=1e-3))
def test_unit_is_the_direction(a):
    (a,) = a
    u = geometry.unit(a)
    torch.testing.assert_close(geometry.norm(u), torch.ones((), **F64))
    torch.testing.assert_close(geometry.norm(a) * u, a, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool, "float64"])
def test_from_polar_refuses_a_non_floating_dtype(dtype):
    # it used to return float32 [1, 0] for int64, the angle silently cut to 0
    with pytest.raises(TypeError, match="floating-point"):
        geometry.from_polar(1.0, 0.3, dtype=dtype)
