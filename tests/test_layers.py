"""dotbook.layers: a layer as m dot products, its Jacobians, stacks and their collapse.

Each loop/matrix or formula/autograd pair is compared at float64 with
``torch.testing.assert_close``, on every available device that holds float64.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from support import DEVICES_F64 as DEVICES
from support import F64, randn

from dotbook import layers as L

close = torch.testing.assert_close
V3, V4 = torch.ones(3, dtype=F64), torch.ones(4, dtype=F64)
M23 = torch.ones(2, 3, dtype=F64)


def test_bias_free_layer_passes_the_scale_on():
    W, x, b = randn(5, 7), randn(7, seed=1), randn(5, seed=2)
    close(L.linear(W, 3.0 * x), 3.0 * L.linear(W, x))
    close(L.linear(W, 3.0 * x, b) - 3.0 * L.linear(W, x, b), -2.0 * b)  # a bias does not scale


# ------------------------------------------------------------ a linear layer
@pytest.mark.parametrize("device", DEVICES)
@given(m=st.integers(1, 6), n=st.integers(1, 8), seed=st.integers(0, 2**31 - 1),
       with_bias=st.booleans())
def test_linear_loop_equals_matmul(device, m, n, seed, with_bias):
    W, x = randn(m, n, device=device, seed=seed), randn(n, device=device, seed=seed + 1)
    b = randn(m, device=device, seed=seed + 2) if with_bias else None
    fast = L.linear(W, x, b)
    close(L.linear_loop(W, x, b), fast)
    close(fast, F.linear(x, W, b))
    assert fast.shape == (m,) and fast.device.type == device


def test_linear_batched_rows_are_independent():
    W, X = randn(3, 4), randn(2, 5, 4, seed=1)
    Z = L.linear(W, X)  # (2, 5, 3)
    assert Z.shape == (2, 5, 3)
    close(Z[1, 2], L.linear_loop(W, X[1, 2]))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("method", L.JACOBIAN_METHODS)
def test_jacobian_of_linear_layer_is_W(method, device):
    W, x, b = randn(3, 5, device=device), randn(5, device=device, seed=1), randn(3, device=device,
                                                                                seed=2)
    J = L.jacobian_x(W, x, b, method=method)
    assert J.shape == (3, 5)
    close(J, W)
    close(J, torch.func.jacrev(lambda v: W @ v + b)(x))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("method", L.JACOBIAN_METHODS)
def test_weight_jacobian_is_x_in_row_i(method, device):
    m, n = 4, 3
    W, x = randn(m, n, device=device), randn(n, device=device, seed=1)
    J = L.jacobian_W(W, x, method=method)  # (m, m, n)
    assert J.shape == (m, m, n)
    close(J, L.jacobian_W(W, x, method="formula"))
    for i in range(m):
        close(J[i, i], x)  # ∂z_i/∂W_i = x
        others = torch.cat([J[i, :i], J[i, i + 1:]])
        assert torch.count_nonzero(others) == 0


def test_jacobian_does_not_depend_on_x():
    W = randn(2, 3)
    for seed in range(3):
        close(L.jacobian_x(W, randn(3, seed=seed), method="jacfwd"), W)


# ------------------------------------------------------------ stacks of layers
def test_stack_of_linear_layers_is_one_linear_layer():
    W1, W2, W3 = randn(6, 4), randn(5, 6, seed=1), randn(2, 5, seed=2)
    b1, b3 = randn(6, seed=3), randn(2, seed=4)
    x = randn(7, 4, seed=5)
    W, b = L.collapse([W1, W2, W3], [b1, None, b3])
    close(W, W3 @ W2 @ W1)
    close(b, W3 @ W2 @ b1 + b3)
    close(L.stack(x, [W1, W2, W3], [b1, None, b3]), L.linear(W, x, b))
    Wn, bn = L.collapse([W1, W2])
    assert bn is None
    close(L.stack(x, [W1, W2]), L.linear(Wn, x))


def test_relu_between_layers_does_not_collapse():
    W1 = torch.tensor([[1.0], [-1.0]], dtype=F64)  # (2, 1)
    W2 = torch.tensor([[1.0, 1.0]], dtype=F64)  # (1, 2): relu(x) + relu(-x) = |x|
    x = torch.tensor([[-2.0], [3.0]], dtype=F64)
    close(L.stack(x, [W1, W2], activation="relu"), torch.tensor([[2.0], [3.0]], dtype=F64))
    W, _ = L.collapse([W1, W2])
    close(L.linear(W, x), torch.zeros(2, 1, dtype=F64))  # the linear stack is the zero map


def test_relu_stack_jacobian_is_masked_product():
    W1, W2, b1, b2 = randn(6, 4), randn(3, 6, seed=1), randn(6, seed=2), randn(3, seed=3)
    for x in randn(5, 4, seed=4):
        J = torch.func.jacrev(lambda v: L.stack(v, [W1, W2], [b1, b2], activation="relu"))(x)
        on = (L.linear(W1, x, b1) > 0).to(F64)
        close(J, W2 @ torch.diag(on) @ W1)


# ------------------------------------------------------------ bad input


@pytest.mark.parametrize("call, error, match", [
    (lambda: L.linear(V3, V3), ValueError, r"W must be a matrix .* got shape \(3,\)"),
    (lambda: L.linear(M23, V4), ValueError, r"W has shape \(2, 3\) but x has shape \(4,\)"),
    (lambda: L.linear(M23, V3, V3), ValueError, r"b must have shape \(2,\).* got \(3,\)"),
    (lambda: L.linear(torch.ones(2, 3, dtype=torch.int32), V3), TypeError, r"W has dtype"),
    (lambda: L.linear(torch.ones(0, 3, dtype=F64), V3), ValueError, r"m >= 1 rows"),
    (lambda: L.linear_loop(M23, torch.ones(2, 3, dtype=F64)), ValueError, r"x must be a vector"),
    (lambda: L.jacobian_x(M23, V3, method="finite"), ValueError, r"unknown method"),
    (lambda: L.jacobian_W(M23, V4), ValueError, r"W has shape \(2, 3\) but x has shape \(4,\)"),
    (lambda: L.stack(V3, [M23, M23]), ValueError,
     r"weights\[0\] has shape \(2, 3\), so it outputs 2 features, but weights\[1\]"),
    (lambda: L.stack(V3, []), ValueError, r"weights is empty"),
    (lambda: L.stack(V3, M23), TypeError, r"weights must be a list"),
    (lambda: L.stack(V4, [M23]), ValueError, r"W has shape \(2, 3\) but x has shape \(4,\)"),
    (lambda: L.stack(V3, [M23], activation="swish"), ValueError, r"unknown activation"),
    (lambda: L.collapse([M23], [None, None]), ValueError, r"1 weight matrices but 2 biases"),
    (lambda: L.collapse([M23], [V3]), ValueError, r"biases\[0\] must have shape \(2,\)"),
])
def test_bad_input_is_refused_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_layers_uses_linearity_and_not_the_other_way_round():
    import ast
    import inspect

    from dotbook import linearity

    imported = {node.module for node in ast.walk(ast.parse(inspect.getsource(linearity)))
                if isinstance(node, ast.ImportFrom)}
    assert "dotbook.layers" not in imported
    assert "layers" not in {a.name for node in ast.walk(ast.parse(inspect.getsource(linearity)))
                            if isinstance(node, ast.ImportFrom) for a in node.names}


# ------------------------------------------- bad input: bounds and clear errors
def test_counts_have_upper_bounds_and_generators_are_checked():
    W = torch.eye(2, dtype=F64)
    with pytest.raises(ValueError, match="len\\(weights\\)"):
        L.stack(torch.ones(2, dtype=F64), [W] * (L.MAX_LAYERS + 1))
    w = torch.tensor([3.0, 4.0], dtype=F64)
    with pytest.raises(ValueError, match="steps"):
        L.preferred_input(w, method="ascent", steps=10**12)
    with pytest.raises(TypeError, match="generator"):
        L.preferred_input(w, method="ascent", generator=0)
    with pytest.raises(TypeError, match="path"):
        L.preferred_input(w, path="yes")


def test_train_templates_is_deterministic_and_refuses_non_digits():
    from dotbook import data

    d = data.digits(dtype=F64)
    a, b = L.train_templates(d), L.train_templates(d)
    assert a is not b and torch.equal(a.weight, b.weight)  # no cache: the same layer again
    assert a.accuracy > 0.93 and a.radius > 0
    with pytest.raises(TypeError, match="Digits"):
        L.train_templates((d.x_train, d.y_train))
