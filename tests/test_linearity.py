"""Chapter 3: linearity, bilinearity and gradients of w·x (dotbook.linearity).

Property tests run at float64 on every available device; each naive/fast or
formula/autograd pair is compared with ``torch.testing.assert_close``. The
layer functions (linear, Jacobians, stacks) are tested in ``test_layers.py``.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from support import DEVICES_F64 as DEVICES
from support import F64, randn, tol, vectors

from dotbook import linearity as L

close = torch.testing.assert_close
finite = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)
scales = st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)


# ------------------------------------------------------------ bilinearity
@given(vectors(3))
def test_distributivity(abc):
    a, b, c = abc
    lhs, rhs = L.distributivity(a, b, c)
    close(lhs, rhs, **tol(a, b.abs() + c.abs()))


@given(vectors(2), scales)
def test_homogeneity_in_either_argument_and_k_squared_jointly(wx, k):
    w, x = wx
    s = L.scalings(w, x, k)
    t = tol(w, x, scale=k * k + 1.0)
    close(s.x_only, k * s.original, **t)
    close(s.w_only, k * s.original, **t)
    close(s.both, k * k * s.original, **t)


@given(vectors(4))
def test_linear_in_either_argument_with_the_other_fixed_not_jointly(vs):
    w1, w2, x1, x2 = vs
    dot = torch.dot
    t = tol(w1.abs() + w2.abs(), x1.abs() + x2.abs())
    close(dot(w1 + w2, x1), dot(w1, x1) + dot(w2, x1), **t)  # linear in w
    close(dot(w1, x1 + x2), dot(w1, x1) + dot(w1, x2), **t)  # linear in x
    # jointly, the cross terms w1·x2 + w2·x1 appear
    joint = dot(w1 + w2, x1 + x2)
    close(joint, dot(w1, x1) + dot(w2, x2) + dot(w1, x2) + dot(w2, x1), **t)


def test_bilinear_is_not_jointly_linear_example():
    w = torch.tensor([1.0, 2.0], dtype=F64)
    x = torch.tensor([3.0, -1.0], dtype=F64)  # w·x = 1
    s = L.scalings(w, x, 3.0)
    assert float(s.both) == 9.0 and float(s.x_only) == 3.0


@pytest.mark.parametrize("device", DEVICES)
def test_batched_scalings_and_distributivity(device):
    a, b, c = (randn(5, 7, device=device, seed=s) for s in range(3))
    lhs, rhs = L.distributivity(a, b, c)
    assert lhs.shape == (5,) and lhs.device.type == device
    close(lhs, rhs)
    s = L.scalings(a, b, -2.5)
    close(s.both, 6.25 * s.original)


# ------------------------------------------------------------ superposition
@given(vectors(3), st.floats(-10, 10, allow_nan=False))
def test_preactivation_superposition_and_bias_counted_twice(vs, b):
    w, x1, x2 = vs
    t = tol(w, x1.abs() + x2.abs())
    s0 = L.superposition(w, x1, x2)  # b = 0: w·x adds up
    close(s0.gap, torch.zeros((), dtype=F64), **t)
    sb = L.superposition(w, x1, x2, b=b)  # the bias is counted once per response
    close(sb.sum_of_responses, sb.response_to_sum + b, **t)
    close(sb.gap, torch.tensor(b, dtype=F64), **t)


@given(vectors(3))
def test_relu_subadditive_and_additive_on_one_side(vs):
    w, x1, x2 = vs
    s = L.superposition(w, x1, x2, activation="relu")
    t = tol(w, x1.abs() + x2.abs())
    assert float(s.gap) >= -t["atol"]  # relu(z1) + relu(z2) >= relu(z1 + z2)
    z1, z2 = float(w @ x1), float(w @ x2)
    if (z1 >= 0 and z2 >= 0) or (z1 <= 0 and z2 <= 0):
        close(s.gap, torch.zeros((), dtype=F64), **t)


@given(vectors(3))
def test_relu_adds_up_exactly_unless_signs_are_opposite(vs):
    w, x1, x2 = vs
    s = L.superposition(w, x1, x2, activation="relu")
    z1, z2 = float(w @ x1), float(w @ x2)
    if z1 * z2 < 0:  # opposite signs: the gap is min(|z1|, |z2|), up to rounding
        close(s.gap, torch.tensor(min(abs(z1), abs(z2)), dtype=F64), **tol(w, x1.abs() + x2.abs()))


def test_relu_with_bias_adds_up_only_when_off_for_all_three():
    w = torch.tensor([1.0, 0.0], dtype=F64)
    x = torch.tensor([0.2, 0.7], dtype=F64)  # w·x = 0.2
    off = L.superposition(w, x, x, b=-1.0, activation="relu")  # -0.8, -0.8, -0.6: all off
    assert float(off.gap) == 0.0 and float(off.response_to_sum) == 0.0
    on = L.superposition(w, x, x, b=-0.3, activation="relu")  # -0.1, -0.1, +0.1
    assert float(on.gap) == pytest.approx(-0.1)
    w_r, X1, X2 = randn(16, seed=7), randn(4000, 16, seed=8), randn(4000, 16, seed=9)
    size = (w_r.abs() * (X1.abs() + X2.abs())).sum(-1) + 1.0
    for b in (0.7, -0.7):
        r = L.superposition(w_r, X1, X2, b=b, activation="relu")
        all_off = (r.response_1 == 0) & (r.response_2 == 0) & (r.response_to_sum == 0)
        assert 0 < int(all_off.sum()) < len(all_off)
        assert torch.equal(r.gap.abs() <= 1e-13 * size, all_off)


@given(st.lists(finite, min_size=1, max_size=12), st.floats(1e-3, 1e3))
def test_relu_is_positively_homogeneous_only(zs, k):
    z = torch.tensor(zs, dtype=F64)
    assert torch.equal(L.activate(k * z, "relu"), k * L.activate(z, "relu"))
    nonzero = z != 0
    assert (L.activate(-k * z, "relu") != -k * L.activate(z, "relu"))[nonzero].all()


def test_relu_breaks_superposition_constructed():
    w = torch.tensor([1.0, 0.0], dtype=F64)
    x1, x2 = torch.tensor([2.0, 5.0], dtype=F64), torch.tensor([-3.0, 1.0], dtype=F64)
    pre = L.superposition(w, x1, x2)
    post = L.superposition(w, x1, x2, activation="relu")
    assert float(pre.gap) == 0.0  # 2 + (-3) = -1
    assert float(post.sum_of_responses) == 2.0 and float(post.response_to_sum) == 0.0
    assert float(post.gap) == 2.0


def test_neuron_and_preactivation_shapes():
    w = randn(4)
    x = randn(3, 5, 4, seed=1)
    z = L.preactivation(w, x, 0.25)
    assert z.shape == (3, 5)
    close(z, (x * w).sum(-1) + 0.25)
    close(L.neuron(w, x, 0.25, "relu"), F.relu(z))
    close(L.neuron(w, x, torch.tensor(0.25, dtype=F64), "tanh"), torch.tanh(z))
    close(L.activate(z, "sigmoid"), torch.sigmoid(z))
    close(L.activate(z, "linear"), z)


def test_tensor_bias_keeps_gradient():
    w, x = randn(3), randn(3, seed=1)
    b = torch.tensor(0.5, dtype=F64, requires_grad=True)
    L.neuron(w, x, b, "linear").backward()
    assert float(b.grad) == 1.0


# ------------------------------------------------------------ gradients
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("method", [m for m in L.GRADIENT_METHODS if m != "formula"])
def test_dot_gradients_match_formula(method, device):
    for seed in range(5):
        w, x = randn(9, device=device, seed=seed), randn(9, device=device, seed=seed + 100)
        gw, gx = L.dot_gradients(w, x, method)
        fw, fx = L.dot_gradients(w, x, "formula")
        close(gw, fw)
        close(gx, fx)
        close(gw, x)  # ∇_w (w·x) = x
        close(gx, w)  # ∇_x (w·x) = w
        assert gw.dtype == F64 and gw.device.type == device


def test_dot_gradients_leave_inputs_alone():
    w = randn(4).requires_grad_(True)
    x = randn(4, seed=1)
    gw, _gx = L.dot_gradients(w, x, "autograd")
    assert w.grad is None and not gw.requires_grad
    close(gw, x)


# ------------------------------------------------------------ bad input
V3, V4 = torch.ones(3, dtype=F64), torch.ones(4, dtype=F64)
M23 = torch.ones(2, 3, dtype=F64)


@pytest.mark.parametrize("call, error, match", [
    (lambda: L.preactivation(V3, V4), ValueError, r"w has shape \(3,\) but x has shape \(4,\)"),
    (lambda: L.preactivation(M23, V3), ValueError, r"w must be a vector .* \(2, 3\)"),
    (lambda: L.preactivation(torch.ones(3, dtype=torch.int64), V3), TypeError,
     r"w has dtype torch.int64"),
    (lambda: L.preactivation(V3, torch.ones(3, dtype=torch.float32)), TypeError,
     r"dtype mismatch: w is torch.float64 but x is torch.float32"),
    (lambda: L.preactivation(V3, V3, torch.ones(2, dtype=F64)), ValueError,
     r"b must be a scalar .* shape \(2,\)"),
    (lambda: L.preactivation(V3, V3, float("nan")), ValueError, r"b must lie in"),
    (lambda: L.preactivation(V3, [1.0, 2.0, 3.0]), TypeError, r"x must be a torch.Tensor"),
    (lambda: L.neuron(V3, V3, 0.0, "softplus"), ValueError, r"unknown activation 'softplus'"),
    (lambda: L.neuron(V3, V3, 0.0, None), TypeError, r"activation must be one of"),
    (lambda: L.activate(V3, "Relu"), ValueError, r"use one of \['linear', 'relu'"),
    (lambda: L.superposition(V3, V3, V4), ValueError, r"x2 has shape \(4,\)"),
    (lambda: L.superposition(V3, torch.ones(2, 3, dtype=F64), V3), ValueError,
     r"x1 has shape \(2, 3\) but x2 has shape \(3,\)"),
    (lambda: L.superposition(V3, V3, V3, activation="gelu"), ValueError, r"unknown activation"),
    (lambda: L.distributivity(V3, V3, V4), ValueError,
     r"a has shape \(3,\) but c has shape \(4,\)"),
    (lambda: L.scalings(V3, V4, 2.0), ValueError, r"w has shape \(3,\) but x has shape \(4,\)"),
    (lambda: L.scalings(V3, V3, float("inf")), ValueError, r"k must lie in"),
    (lambda: L.scalings(V3, V3, "2"), TypeError, r"k must be a number"),
    (lambda: L.dot_gradients(V3, V4), ValueError, r"w has shape \(3,\) but x has shape \(4,\)"),
    (lambda: L.dot_gradients(M23, M23), ValueError, r"w must be a vector"),
    (lambda: L.dot_gradients(V3, V3, "numeric"), ValueError, r"unknown method"),
])
def test_bad_input_is_refused_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()
