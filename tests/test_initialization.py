"""dotbook.initialization: the schemes against torch.nn.init, the variance of a dot product,
the mean-field recursion, and hooked statistics through depth against it."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dotbook import initialization
from dotbook.device import generator


@pytest.mark.parametrize(("scheme", "fan_in", "fan_out", "variance"), [
    ("normal", 300, 200, 1.0),
    ("standard", 300, 200, 1 / 900),
    ("xavier", 300, 200, 2 / 500),
    ("glorot", 300, 200, 2 / 500),
    ("he", 300, 200, 2 / 300),
    ("kaiming", 300, 200, 2 / 300),
])
def test_std_formulas(scheme, fan_in, fan_out, variance):
    assert initialization.std(scheme, fan_in, fan_out) == pytest.approx(math.sqrt(variance))
    assert initialization.std(scheme, fan_in, fan_out, gain=3.0) == pytest.approx(
        3 * math.sqrt(variance))


def test_he_is_root_two_over_n_not_root_two_divided_by_n():
    assert initialization.std("he", 256) == pytest.approx(math.sqrt(2 / 256))
    assert initialization.std("he", 256) != pytest.approx(math.sqrt(2) / 256)


@pytest.mark.parametrize("scheme", initialization.SCHEMES)
@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_ours_and_torch_nn_init_match_the_formula(scheme, gain):
    fan_out, fan_in = 400, 700
    want = initialization.std(scheme, fan_in, fan_out, gain)
    tol = initialization.sample_std_tolerance(fan_in * fan_out, scheme)
    ours = initialization.initialize_(torch.empty(fan_out, fan_in, dtype=torch.float64), scheme,
                                      gain, generator=generator(1))
    theirs = initialization.torch_initialize_(torch.empty(fan_out, fan_in, dtype=torch.float64),
                                              scheme, gain, generator=generator(2))
    assert abs(float(ours.std()) / want - 1) < tol
    assert abs(float(theirs.std()) / want - 1) < tol
    assert abs(float(ours.mean())) < 5 * want / math.sqrt(fan_in * fan_out)


def test_standard_is_uniform_and_is_nn_linear_default():
    w = initialization.initialize_(torch.empty(50, 64, dtype=torch.float64), "standard",
                                   generator=generator(3))
    assert float(w.abs().max()) <= 1 / 8
    default = torch.nn.Linear(1024, 512, dtype=torch.float64).weight.detach()
    tol = initialization.sample_std_tolerance(1024 * 512, "standard")
    assert abs(float(default.std()) / initialization.std("standard", 1024) - 1) < tol


def test_sample_std_tolerance_is_honest():
    """Over many repeats, the sample std of N normal draws stays within the tolerance."""
    N, repeats = 2000, 400
    draws = torch.randn(repeats, N, generator=generator(4), dtype=torch.float64)
    rel = (draws.std(dim=1) - 1).abs()
    one_sigma = initialization.sample_std_tolerance(N, "he", z=1.0)
    assert float(rel.max()) < initialization.sample_std_tolerance(N, "he")
    assert 0.6 < float((rel < one_sigma).double().mean()) < 0.76  # ≈ 68 %


@pytest.mark.parametrize(("n", "w_var", "x_mean", "x_var", "expected"), [
    (10, 0.1, 0.0, 1.0, 1.0), (10, 0.1, 1.0, 1.0, 2.0), (4, 1.0, 0.0, 0.5, 2.0),
])
def test_predicted_dot_variance(n, w_var, x_mean, x_var, expected):
    assert initialization.predicted_dot_variance(n, w_var, x_mean, x_var) == pytest.approx(expected)


@pytest.mark.parametrize("inputs", ["gaussian", "relu"])
def test_dot_products_variance_within_sampling_error(inputs):
    n, S = 32, 40_000
    z = initialization.dot_products(n, S, inputs, w_std=0.5, generator=generator(5))
    if inputs == "gaussian":
        truth, kurt_1 = n * 0.25, 9.0
    else:
        truth, kurt_1 = n * 0.25 * 0.5, 18.0
    se = math.sqrt((3 + (kurt_1 - 3) / n - 1) / S)
    assert abs(float(z.var()) / truth - 1) < 5 * se


def test_moments_by_quadrature_match_sampling_and_closed_forms():
    g = torch.randn(400_000, generator=generator(6), dtype=torch.float64)
    for q in (0.1, 1.0, 4.0):
        z = math.sqrt(q) * g
        for activation, f, df in (("tanh", torch.tanh, lambda t: 1 - torch.tanh(t) ** 2),
                                  ("relu", torch.relu, lambda t: (t > 0).double()),
                                  ("linear", lambda t: t, torch.ones_like)):
            assert initialization.second_moment(activation, q) == pytest.approx(
                float(f(z).square().mean()), rel=0.01)
            assert initialization.derivative_moment(activation, q) == pytest.approx(
                float(df(z).square().mean()), rel=0.01)
            assert initialization.activation_std(activation, q) == pytest.approx(
                float(f(z).std()), rel=0.01)


def test_tanh_moments_are_accurate_for_large_variance():
    """Saturated tanh layers have q ≈ width: the Gaussian averages must hold there too
    (a fixed 101-point Gauss–Hermite rule was off by a factor 3.7 at q = 256)."""
    from scipy import integrate

    for q in (0.01, 1.0, 16.0, 256.0, 2304.0):
        density = lambda z, q=q: math.exp(-z * z / (2 * q)) / math.sqrt(2 * math.pi * q)  # noqa: E731
        edge = 12 * math.sqrt(q)
        for got, f in ((initialization.second_moment("tanh", q), lambda z: math.tanh(z) ** 2),
                       (initialization.derivative_moment("tanh", q),
                        lambda z: (1 - math.tanh(z) ** 2) ** 2)):
            want = 2 * integrate.quad(lambda z, f=f, p=density: f(z) * p(z), 0, edge, limit=500,
                                      points=[1.0, 5.0] if edge > 5 else None,
                                      epsabs=0, epsrel=1e-12)[0]
            assert got == pytest.approx(want, rel=1e-10)
    # the large-q law of the backward factor: E[tanh'(z)²] ≈ (4/3)/√(2πq)
    q = 1e4
    assert initialization.derivative_moment("tanh", q) == pytest.approx(
        4 / 3 / math.sqrt(2 * math.pi * q), rel=1e-3)


def test_mean_field_closed_forms():
    mf = initialization.mean_field(5, "relu", 2.0, q1=3.0)
    assert mf.preactivation == pytest.approx([3.0] * 5)
    assert mf.gradient == pytest.approx([1.0] * 5)
    mf = initialization.mean_field(4, "linear", 1 / 3)
    assert mf.forward_ratio == pytest.approx([1 / 3] * 3)
    assert mf.backward_ratio == pytest.approx([1 / 3] * 3)


def test_record_hooks_see_what_the_layers_compute():
    net = initialization.mlp(3, 6, "tanh", "xavier", generator=generator(7), dtype=torch.float64)
    x = torch.randn(4, 6, generator=generator(8), dtype=torch.float64, requires_grad=True)
    zs = []
    h = x
    for module in net:
        h = module(h)
        if isinstance(module, torch.nn.Linear):
            h.retain_grad()
            zs.append(h)
    (h * h).sum().backward()
    with initialization.record(net) as seen:
        (net(x) ** 2).sum().backward()
    assert len(seen["z"]) == 3 and len(seen["h"]) == 2 and len(seen["grad"]) == 3
    for got, z in zip(seen["z"], zs, strict=True):
        torch.testing.assert_close(got, z.detach())
    for got, z in zip(seen["grad"], zs, strict=True):  # bottom-up order
        torch.testing.assert_close(got, z.grad)
    assert not any(m._forward_hooks or m._backward_hooks for m in net)  # removed


@pytest.mark.parametrize(("activation", "scheme", "forward"), [
    ("relu", "xavier", 0.5), ("relu", "he", 1.0), ("linear", "standard", 1 / 3),
    ("linear", "xavier", 1.0), ("tanh", "standard", None), ("tanh", "xavier", None),
])
def test_depth_statistics_match_the_recursion_within_sampling_error(activation, scheme, forward):
    depth, width = 20, 256
    s = initialization.depth_statistics(depth, width, activation, scheme, batch=64,
                                        generator=generator(9), dtype=torch.float64)
    mf = initialization.mean_field(depth, activation, s.sigma2, s.preactivation_ms[0])
    tol = 5 * math.sqrt(5 / (width * (depth - 1))) + 2.5 / width

    def gm(v):
        return math.exp(sum(math.log(a) for a in v) / len(v))

    assert abs(math.log(gm(s.forward_ratio) / gm(mf.forward_ratio))) < tol
    assert abs(math.log(gm(s.backward_ratio) / gm(mf.backward_ratio))) < tol
    if forward is not None:
        assert gm(mf.forward_ratio) == pytest.approx(forward)


def test_depth_statistics_shapes_and_saturation():
    s = initialization.depth_statistics(6, 64, "tanh", "normal", batch=16, generator=generator(10))
    assert len(s.activation_std) == len(s.gradient_std) == len(s.saturated) == 6
    assert min(s.saturated[:-1]) > 0.5 and s.sigma2 == pytest.approx(64.0)
    s = initialization.depth_statistics(6, 64, "relu", "he", batch=16, generator=generator(10))
    assert s.saturated == [0.0] * 6


@settings(max_examples=10, deadline=None)
@given(depth=st.integers(1, 6), width=st.integers(1, 12), seed=st.integers(0, 99),
       activation=st.sampled_from(list(initialization.ACTIVATIONS)))
def test_mlp_shapes(depth, width, seed, activation):
    net = initialization.mlp(depth, width, activation, n_in=5, n_out=3, generator=generator(seed))
    assert net(torch.zeros(2, 5)).shape == (2, 3)
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    assert len(linears) == depth and all((m.bias == 0).all() for m in linears)


def test_train_classifier_xavier_vs_he_on_a_deep_relu_net():
    from dotbook import data

    d = data.digits(scale="standard")
    late = {}
    for k, scheme in enumerate(("xavier", "he")):
        net = initialization.mlp(30, 64, "relu", scheme, n_in=64, n_out=10,
                                 generator=generator(50 + k))
        run = initialization.train_classifier(net, d.x_train, d.y_train, d.x_test, d.y_test,
                                              steps=300, batch=64, lr=0.003,
                                              generator=generator(60))
        late[scheme] = sum(run.loss[-50:]) / 50
    assert abs(late["xavier"] - math.log(10)) < 0.05
    assert late["he"] < 1.5


@pytest.mark.parametrize(("call", "error", "words"), [
    (lambda: initialization.std("lecun", 10), ValueError, "unknown scheme"),
    (lambda: initialization.std("he", 0), ValueError, "fan_in must be an int >= 1"),
    (lambda: initialization.initialize_(torch.empty(3), "he"), ValueError, "must be a matrix"),
    (lambda: initialization.depth_statistics(201, 8), ValueError, "at most 200"),
    (lambda: initialization.mlp(10**12, 4), ValueError, "depth = 1000000000000 is too large"),
    (lambda: initialization.mlp(2, 10**12), ValueError, "width = 1000000000000 is too large"),
    (lambda: initialization.mlp(900, 60000), ValueError, "parameters"),
    (lambda: initialization.mlp(2, 4, bias="random"), ValueError, "unknown bias"),
    (lambda: initialization.mlp(2, 4, "gelu"), ValueError, "unknown activation"),
    (lambda: initialization.dot_products(4, 10, "uniform"), ValueError, "unknown inputs"),
])
def test_bad_input_is_refused_with_a_clear_message(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_chapter_nine_static_figures_are_valid_plotly():
    import plotly.graph_objects as go

    from dotbook.figures import ch09

    fig = ch09.variance_figure([4, 16], {"gaussian": [2.0, 8.0], "relu": [1.0, 4.0]},
                               {"gaussian": [2.0, 8.0], "relu_var": [0.7, 2.7],
                                "relu_moment": [1.0, 4.0]})
    assert go.Figure(fig).layout.meta["alt"]
    fig = ch09.training_figure({"xavier": [2.3] * 5, "he": [2.3, 2.0, 1.5, 1.0, 0.8]}, 30)
    assert len(go.Figure(fig).data) == 3


def _tiny_run(**changes):
    g = generator(0)
    x = torch.randn(32, 4, generator=g)
    y = (x[:, 0] > 0).long()
    args = dict(net=initialization.mlp(2, 8, n_in=4, n_out=2, generator=g), x_train=x, y_train=y,
                x_test=x, y_test=y, steps=5, batch=8, lr=0.1, generator=g)
    args.update(changes)
    net = args.pop("net")
    return initialization.train_classifier(net, args.pop("x_train"), args.pop("y_train"),
                                           args.pop("x_test"), args.pop("y_test"), **args)


@pytest.mark.parametrize(("changes", "error", "words"), [
    (dict(y_train=torch.full((32,), 99)), ValueError, "label 99"),
    (dict(y_test=torch.full((32,), 99)), ValueError, "label 99"),
    (dict(x_train=torch.randn(32, 4, dtype=torch.float64)), TypeError, "float64"),
    (dict(x_test=torch.randn(32, 4, dtype=torch.float64)), TypeError, "float64"),
    (dict(x_train=torch.empty(0, 4), y_train=torch.empty(0, dtype=torch.int64)), ValueError,
     "rows"),
    (dict(lr=float("nan")), ValueError, "lr"),
    (dict(lr=0.0), ValueError, "lr must be positive"),
    (dict(steps=10**12), ValueError, "steps = 1000000000000 is too large"),
    (dict(batch=10**12), ValueError, "batch = 1000000000000 is too large"),
    (dict(generator=None), TypeError, "generator"),
])
def test_train_classifier_refuses_bad_input_clearly(changes, error, words):
    with pytest.raises(error, match=words):
        _tiny_run(**changes)


def test_train_classifier_is_fit_plus_accuracies():
    from dotbook import training

    run = _tiny_run(steps=20)
    g = generator(0)
    x = torch.randn(32, 4, generator=g)
    y = (x[:, 0] > 0).long()
    net = initialization.mlp(2, 8, n_in=4, n_out=2, generator=g)
    losses = training.fit(net, x, y, loss="cross_entropy", lr=0.1, steps=20, batch=8,
                          generator=g, momentum=0.9)
    assert run.loss == losses


def test_one_activation_table_for_the_whole_package():
    from dotbook import layers, linearity

    assert initialization.ACTIVATIONS is linearity.ACTIVATIONS
    z = torch.linspace(-3, 3, 7)
    for name in linearity.ACTIVATIONS:
        torch.testing.assert_close(initialization.Activation(name)(z), linearity.activate(z, name))
    w = [torch.eye(2)]
    assert torch.equal(layers.stack(torch.ones(1, 2), w, [torch.zeros(2)]), torch.ones(1, 2))


def test_sigmoid_moments_by_quadrature_match_sampling():
    z = torch.randn(400_000, generator=generator(1), dtype=torch.float64) * 1.5
    s = torch.sigmoid(z)
    assert initialization.second_moment("sigmoid", 2.25) == pytest.approx(
        float((s**2).mean()), rel=2e-3)
    assert initialization.activation_std("sigmoid", 2.25) == pytest.approx(float(s.std()), rel=5e-3)
    assert initialization.derivative_moment("sigmoid", 2.25) == pytest.approx(
        float(((s * (1 - s)) ** 2).mean()), rel=5e-3)


def test_mlp_standard_bias_is_nn_linear_default_range():
    net = initialization.mlp(2, 50, "tanh", "standard", n_in=9, bias="standard",
                             generator=generator(2), dtype=torch.float64)
    first = net[0]
    assert first.bias.abs().max() <= 1 / 3 and first.bias.abs().max() > 0.3
    assert first.weight.abs().max() <= 1 / 3


def test_weight_gradients_carry_the_same_factor_at_every_layer():
    # Glorot & Bengio (2010), section 4.2.2: dL/dW_l = sum g_l h_(l-1)^T, the forward shrinkage
    # of h and the backward shrinkage of g cancel, so the norms stay level through depth
    s = initialization.depth_statistics(30, 256, "tanh", "standard", batch=128,
                                        generator=generator(40))
    norms = s.weight_gradient_norm[:-1]  # the top layer has no activation after it
    assert max(norms) / min(norms) < 1.5
    assert s.gradient_std[0] < 1e-5 * s.gradient_std[-1]  # while dL/dz vanishes


@pytest.mark.parametrize(("call", "words"), [
    (lambda: initialization.std("he", 10**400), "fan_in = .* is too large"),
    (lambda: initialization.sample_std_tolerance(10**400, "he"), "count = .* is too large"),
    (lambda: initialization.predicted_dot_variance(10**400, 1.0, 0.0, 1.0), "too large"),
    (lambda: initialization.dot_products(10**6, 10**6), "numbers drawn"),
    (lambda: initialization.mean_field(10**12, "relu", 1.0), "depth = .* is too large"),
])
def test_huge_integers_are_clear_errors(call, words):
    with pytest.raises(ValueError, match=words):
        call()
