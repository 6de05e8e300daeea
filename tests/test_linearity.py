"""Chapter 3: linearity, bilinearity and gradients (dotbook.linearity, figures.ch03).

Property tests run at float64 on every available device; each naive/fast or
formula/autograd pair is compared with ``torch.testing.assert_close``.
"""

from __future__ import annotations

import itertools
import math

import plotly.graph_objects as go
import plotly.io as pio
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from dotbook import linearity as L
from dotbook.figures import ch03

F64 = torch.float64
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
close = torch.testing.assert_close

finite = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)
scales = st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def vectors(count: int, max_n: int = 12):
    """``count`` float64 vectors of one common length n in [1, max_n]."""
    return st.integers(1, max_n).flatmap(
        lambda n: st.tuples(*[st.lists(finite, min_size=n, max_size=n) for _ in range(count)])
    ).map(lambda rows: tuple(torch.tensor(r, dtype=F64) for r in rows))


def tol(*vs: torch.Tensor, scale: float = 1.0) -> dict[str, float]:
    """An absolute tolerance proportional to the size of the terms summed (float64)."""
    size = 1.0 + scale * math.prod(float(v.abs().sum()) + 1.0 for v in vs)
    return {"rtol": 0.0, "atol": 1e-13 * size}


def randn(*shape: int, device: str = "cpu", seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=F64).to(device)


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


def test_bias_free_layer_passes_the_scale_on():
    W, x, b = randn(5, 7), randn(7, seed=1), randn(5, seed=2)
    close(L.linear(W, 3.0 * x), 3.0 * L.linear(W, x))
    close(L.linear(W, 3.0 * x, b) - 3.0 * L.linear(W, x, b), -2.0 * b)  # a bias does not scale


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
    close(L.activate(z, "identity"), z)


def test_tensor_bias_keeps_gradient():
    w, x = randn(3), randn(3, seed=1)
    b = torch.tensor(0.5, dtype=F64, requires_grad=True)
    L.neuron(w, x, b, "identity").backward()
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
    (lambda: L.neuron(V3, V3, 0.0, None), TypeError, r"activation must be a name"),
    (lambda: L.activate(V3, "Relu"), ValueError, r"use one of \['identity', 'relu'"),
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
    (lambda: L.dot_gradients(V3, V3, "numeric"), ValueError, r"method must be one of"),
    (lambda: L.linear(V3, V3), ValueError, r"W must be a matrix .* got shape \(3,\)"),
    (lambda: L.linear(M23, V4), ValueError, r"W has shape \(2, 3\) but x has shape \(4,\)"),
    (lambda: L.linear(M23, V3, V3), ValueError, r"b must have shape \(2,\).* got \(3,\)"),
    (lambda: L.linear(torch.ones(2, 3, dtype=torch.int32), V3), TypeError, r"W has dtype"),
    (lambda: L.linear(torch.ones(0, 3, dtype=F64), V3), ValueError, r"m >= 1 rows"),
    (lambda: L.linear_loop(M23, torch.ones(2, 3, dtype=F64)), ValueError, r"x must be a vector"),
    (lambda: L.jacobian_x(M23, V3, method="finite"), ValueError, r"method must be one of"),
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


# ------------------------------------------------------------ figures
TWINS = [ch03.superposition_twin, ch03.scaling_twin]


def test_superposition_values_show_the_three_regimes():
    v = ch03.superposition_values(k=1.0, b=0.0)
    assert float(v["pre"].gap) == 0.0 and float(v["relu"].gap) == 1.0
    v = ch03.superposition_values(k=-1.0, b=0.5)  # both pre-activations positive
    assert float(v["pre"].gap) == 0.5 and float(v["relu"].gap) == 0.5
    v = ch03.superposition_values(k=0.0, b=0.0)  # x2 sits on the kink: still adds up
    assert float(v["pre"].response_2) == 0.0 and float(v["relu"].gap) == 0.0
    v = ch03.superposition_values(k=0.0, b=-0.5)  # x2 = 0 with b < 0: a coincidence
    assert float(v["relu"].gap) == 0.0


def test_superposition_figure_names_its_colours_right():
    fig = ch03.superposition_figure(k=1.0, b=0.0)
    assert "vermillion" in fig.layout.xaxis2.title.text
    assert "orange" not in fig.layout.xaxis2.title.text


@pytest.mark.parametrize("make", TWINS)
def test_twin_figures_are_stable_and_labelled(make):
    twin = make()
    sigs = set()
    for values in itertools.product(*[(p.lo, *p.values, p.hi) for p in twin.params]):
        fig = twin.figure(**dict(zip([p.name for p in twin.params], values, strict=True)))
        sigs.add(tuple((t.type, t.name) for t in fig.data))
        assert fig.layout.meta["alt"].strip()
        for axis in ("xaxis", "yaxis"):
            assert fig.layout[axis].title.text
            assert fig.layout[axis].range is not None  # fixed: frames do not autorange
    assert len(sigs) == 1


@pytest.mark.parametrize("make", TWINS)
def test_twin_static_is_light(make):
    twin = make()
    fig = twin.static()
    assert isinstance(fig, go.Figure)
    assert len(fig.frames) == math.prod(len(p.values) for p in twin.params)
    assert len(fig.layout.sliders) == len(twin.params)
    html = pio.to_html(fig, include_plotlyjs=False, full_html=False)
    assert len(html) < 300_000


def test_superposition_figure_axes_all_labelled_and_fixed():
    fig = ch03.superposition_figure(k=0.5, b=-0.5)
    for axis in ("xaxis", "yaxis", "xaxis2", "yaxis2"):
        assert fig.layout[axis].title.text
    for axis in ("xaxis", "yaxis", "yaxis2"):  # xaxis2 is categorical
        assert fig.layout[axis].range is not None
    assert len(fig.data) == 4


def test_twin_live_panel_updates():
    twin = ch03.superposition_twin()
    panel = twin.live()
    panel.update(k=-0.3, b=0.7)
    assert panel.figure.data[2].y[0] == pytest.approx(1.5 + 0.7, abs=1e-3)
