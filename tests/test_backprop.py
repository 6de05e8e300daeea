"""dotbook.backprop: the backward dot products equal autograd at float64; the gradient
check flags a wrong backward; bad input fails early, naming the arguments."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from support import F64, randn

from dotbook import backprop as bp
from dotbook import saturation
from dotbook.device import generator

close = torch.testing.assert_close
sizes = st.integers(1, 7)


@given(B=sizes, n=sizes, m=sizes, seed=st.integers(0, 2**31 - 1))
@settings(max_examples=30)
def test_linear_backward_equals_autograd(B, n, m, seed):
    x, w, b = randn(B, n, seed=seed), randn(m, n, seed=seed + 1), randn(m, seed=seed + 2)
    grad_out = randn(B, m, seed=seed + 3)
    leaves = [t.clone().requires_grad_() for t in (x, w, b)]
    y = F.linear(*leaves)  # (B, m)
    expected = torch.autograd.grad(y, leaves, grad_out)
    for ours, theirs in zip(bp.linear_backward(x, w, grad_out), expected, strict=True):
        close(ours, theirs, rtol=1e-12, atol=1e-12)
    # grad_x[i, j] is the dot product of example i's errors with column j of W
    gx = bp.linear_backward(x, w, grad_out)[0]
    assert abs(float(gx[0, 0] - grad_out[0] @ w[:, 0])) < 1e-12


@given(B=sizes, C=st.integers(2, 6), seed=st.integers(0, 2**31 - 1))
@settings(max_examples=30)
def test_cross_entropy_grad_equals_autograd(B, C, seed):
    z = (3 * randn(B, C, seed=seed)).requires_grad_()
    y = torch.randint(0, C, (B,), generator=torch.Generator().manual_seed(seed))
    (expected,) = torch.autograd.grad(F.cross_entropy(z, y), z)
    close(bp.softmax_cross_entropy_grad(z.detach(), y), expected, rtol=1e-12, atol=1e-14)


@given(T=st.integers(1, 6), seed=st.integers(0, 2**31 - 1))
@settings(max_examples=30)
def test_softmax_jacobian_equals_autograd_and_norm(T, seed):
    z = 2 * randn(T, seed=seed)
    expected = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, 0), z)
    p = torch.softmax(z, 0)
    J = bp.softmax_jacobian(p)
    close(J, expected, rtol=1e-12, atol=1e-14)
    close(J, J.mT)
    close(J.sum(dim=1), torch.zeros(T, dtype=F64), rtol=0, atol=1e-15)
    close(torch.linalg.matrix_norm(J), saturation.softmax_jacobian_norm(p), rtol=1e-10, atol=1e-12)


def test_softmax_jacobian_vanishes_near_one_hot():
    z = torch.tensor([1.0, 0.0, -1.0], dtype=F64)
    norms = [float(torch.linalg.matrix_norm(bp.softmax_jacobian(torch.softmax(c * z, 0))))
             for c in (1, 5, 20, 40)]
    assert all(a > b for a, b in zip(norms, norms[1:], strict=False)) and norms[-1] < 1e-16
    assert float(bp.softmax_jacobian(torch.tensor([0.0, 1.0])).abs().max()) == 0


@pytest.mark.parametrize("causal", [False, True])
@given(batch=st.integers(1, 2), T=st.integers(1, 5), d=st.integers(1, 5), d_k=sizes,
       d_v=sizes, seed=st.integers(0, 2**31 - 1))
@settings(max_examples=20)
def test_attention_backward_equals_autograd(causal, batch, T, d, d_k, d_v, seed):
    x = randn(batch, T, d, seed=seed)
    w_q, w_k, w_v = randn(d_k, d, seed=seed + 1), randn(d_k, d, seed=seed + 2), randn(d_v, d,
                                                                                    seed=seed + 3)
    grad_out = randn(batch, T, d_v, seed=seed + 4)
    ours = bp.attention_backward(x, w_q, w_k, w_v, grad_out, causal)
    leaves = [t.clone().requires_grad_() for t in (x, w_q, w_k, w_v)]
    expected = torch.autograd.grad(bp.attention_loss(*leaves, grad_out, causal), leaves)
    for mine, theirs in zip((ours.x, ours.w_q, ours.w_k, ours.w_v), expected, strict=True):
        close(mine, theirs, rtol=1e-10, atol=1e-11)


def test_attention_loss_uses_pytorchs_attention():
    x, w = randn(2, 4, 3, seed=1), randn(3, 3, seed=2)
    y = F.scaled_dot_product_attention(x @ w.T, x @ w.T, x @ w.T, is_causal=True)
    close(bp.attention_loss(x, w, w, w, torch.ones_like(y), causal=True), y.sum())


def test_saturated_head_teaches_w_q_and_w_k_nothing():
    x = torch.eye(3, dtype=F64)
    w_v, grad_out = randn(2, 3, seed=1), randn(3, 2, seed=2)
    sizes_ = []
    for scale in (0.1, 10.0, 200.0):  # sharper and sharper scores
        w = scale * torch.eye(3, dtype=F64)
        g = bp.attention_backward(x, w, w, w_v, grad_out)
        sizes_.append(float(g.w_q.abs().max() + g.w_k.abs().max()))
        assert float(g.w_v.abs().max()) > 0.1  # the values still learn
    assert sizes_[-1] < 1e-12 < sizes_[0]


def _linear_loss(fn):
    r = randn(6, 3, seed=9)
    return lambda x, w, b: (fn.apply(x, w, b) * r).sum()


def test_gradient_check_passes_right_and_flags_wrong_backward():
    inputs = [randn(6, 4, seed=1), randn(3, 4, seed=2), randn(3, seed=3)]
    assert bp.gradient_check(_linear_loss(bp.LinearFunction), inputs) < 1e-8
    assert bp.gradient_check(_linear_loss(bp.MeanBiasLinear), inputs) > 0.5
    leaves = tuple(t.clone().requires_grad_() for t in inputs)
    assert torch.autograd.gradcheck(bp.LinearFunction.apply, leaves)
    assert not torch.autograd.gradcheck(bp.MeanBiasLinear.apply, leaves, raise_exception=False)
    # float32 inputs are checked at float64; an input f ignores has gradient 0
    assert bp.gradient_check(lambda a, b: (a ** 2).sum(), [torch.ones(3), torch.ones(2)]) < 1e-8


def test_backward_cost_flops_and_a_wide_timing_margin():
    c = bp.backward_cost(128, 128, 128, generator=generator(0), repeats=3)
    assert c.flops_backward == 2 * c.flops_forward + 128 * 128
    assert 0.5 < c.ratio < 10  # about 2; a wide margin: timings on a shared machine


@pytest.mark.parametrize("call, match", [
    (lambda: bp.linear_backward(torch.ones(2, 3, dtype=torch.int64), torch.ones(1, 3),
                                torch.ones(2, 1)), "floating-point"),
    (lambda: bp.linear_backward(torch.ones(2, 3), torch.ones(1, 4), torch.ones(2, 1)),
     r"x has shape \(2, 3\) and w \(1, 4\)"),
    (lambda: bp.linear_backward(torch.ones(2, 3), torch.ones(1, 3), torch.ones(5, 1)),
     r"x has shape \(2, 3\) and grad_out \(5, 1\)"),
    (lambda: bp.linear_backward(torch.ones(2, 3), torch.ones(1, 3), torch.ones(2, 2)),
     r"grad_out has shape \(2, 2\) and w \(1, 3\)"),
    (lambda: bp.softmax_cross_entropy_grad(torch.ones(2, 3), torch.tensor([0, 3])),
     r"outside \[0, 3\)"),
    (lambda: bp.softmax_cross_entropy_grad(torch.ones(2, 3), torch.tensor([0.0, 1.0])),
     "int64"),
    (lambda: bp.attention_backward(torch.ones(4, 3), torch.ones(2, 3), torch.ones(5, 3),
                                   torch.ones(2, 3), torch.ones(4, 2)),
     r"w_q has shape \(2, 3\) and w_k \(5, 3\)"),
    (lambda: bp.attention_backward(torch.ones(4, 3), torch.ones(2, 4), torch.ones(2, 4),
                                   torch.ones(2, 4), torch.ones(4, 2)),
     r"x has shape \(4, 3\) and w_q \(2, 4\)"),
    (lambda: bp.gradient_check(lambda a: a, [torch.ones(2)]), "scalar"),
    (lambda: bp.gradient_check(lambda a: a.sum(), torch.ones(2)), "list or tuple"),
    (lambda: bp.gradient_check(lambda a: a.sum(), [torch.ones(2)], eps=0.0), "eps"),
    (lambda: bp.gradient_check(lambda a: a.sum(), [torch.ones(1000, 1000)]), "at most"),
    (lambda: bp.backward_cost(10**6, 2, 2, generator=generator(0)), "B = 1000000"),
])
def test_bad_input_is_refused_clearly(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()
