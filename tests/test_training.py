"""dotbook.training: neuron and layer gradients against autograd (float64), the training loop,
the max-margin direction, and the chapter 8 experiment's facts."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dotbook import alignment, training
from dotbook.device import generator
from dotbook.figures import ch08

F64 = torch.float64


def _draw(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=generator(seed), dtype=F64)


def _targets(loss: str, seed: int, B: int) -> torch.Tensor:
    y = _draw(seed, B)
    return (y > 0).to(F64) if loss == "logistic" else y


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 9), B=st.integers(1, 17), seed=st.integers(0, 10_000),
       loss=st.sampled_from(training.LOSSES), reduction=st.sampled_from(training.REDUCTIONS))
def test_neuron_gradients_equal_autograd(n, B, seed, loss, reduction):
    w, x = _draw(seed, n), _draw(seed + 1, B, n)
    b = _draw(seed + 2, 1)[0]
    y = _targets(loss, seed + 3, B)
    got = training.neuron_gradients(w, b, x, y, loss, reduction=reduction)
    want = training.neuron_gradients(w, b, x, y, loss, reduction=reduction, method="autograd")
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("loss", training.LOSSES)
def test_one_example_gradient_is_the_input_scaled_by_the_error(loss):
    w, x = _draw(0, 5), _draw(1, 5)
    y = torch.tensor(1.0, dtype=F64)
    gw, gb = training.neuron_gradients(w, 0.25, x, y, loss)
    z = w @ x + 0.25
    delta = 2 * (z - y) if loss == "mse" else torch.sigmoid(z) - y
    torch.testing.assert_close(gw, delta * x, rtol=1e-13, atol=1e-15)
    torch.testing.assert_close(gb, delta, rtol=1e-13, atol=1e-15)


def test_error_signal_and_loss_match_pytorch_conventions():
    z, y = _draw(3, 8), (_draw(4, 8) > 0).to(F64)
    z_ = z.clone().requires_grad_(True)
    for loss in training.LOSSES:
        for reduction in training.REDUCTIONS:
            (grad,) = torch.autograd.grad(training.loss_value(z_, y, loss, reduction), z_)
            torch.testing.assert_close(training.error_signal(z, y, loss, reduction), grad)


@settings(max_examples=20, deadline=None)
@given(B=st.integers(1, 12), m=st.integers(1, 6), n=st.integers(1, 6), seed=st.integers(0, 999))
def test_layer_gradient_is_a_sum_of_outer_products(B, m, n, seed):
    layer = torch.nn.Linear(n, m, dtype=F64)
    with torch.no_grad():
        layer.weight.copy_(_draw(seed, m, n))
        layer.bias.copy_(_draw(seed + 1, m))
    x = _draw(seed + 2, B, n)
    z = layer(x)
    z.retain_grad()
    (z.tanh() * _draw(seed + 3, B, m)).sum().backward()  # any loss: δ comes from autograd
    delta = z.grad
    torch.testing.assert_close(training.layer_gradients_loop(delta, x), layer.weight.grad)
    torch.testing.assert_close(training.layer_gradients(delta, x), layer.weight.grad)


def test_train_neuron_follows_the_formula_and_lowers_the_loss():
    x, y = _draw(5, 30, 3), (_draw(6, 30) > 0).long()
    path = training.train_neuron(x, y, "logistic", steps=20, lr=0.5)
    w, b = path.w[0], path.b[0]
    for t in range(3):
        gw, gb = training.neuron_gradients(w, b, x, y.to(F64), "logistic")
        w, b = w - 0.5 * gw, b - 0.5 * gb
        torch.testing.assert_close(path.w[t + 1], w)
        torch.testing.assert_close(path.b[t + 1], b)
    assert path.w.shape == (21, 3) and path.loss.shape == (21,) and path.steps == 20
    torch.testing.assert_close(path.loss[0], torch.tensor(math.log(2), dtype=F64))
    assert (path.loss[1:] <= path.loss[:-1] + 1e-15).all()


def test_max_margin_direction_on_a_known_problem():
    # class 1 at (2, 0), (3, −1); class 0 at their mirror images across x₁ = x₂, the max-margin line
    x = torch.tensor([[2.0, 0.0], [3.0, -1.0], [0.0, 2.0], [-1.0, 3.0]], dtype=F64)
    y = torch.tensor([1, 1, 0, 0])
    v, margin = alignment.max_margin_direction(x, y, bias=False)
    torch.testing.assert_close(v, torch.tensor([1.0, -1.0], dtype=F64) / math.sqrt(2))
    assert margin == pytest.approx(math.sqrt(2), rel=1e-8)
    v, margin = alignment.max_margin_direction(x, y)  # with a bias the bias is 0 by symmetry
    assert abs(float(v[2])) < 1e-8 and margin > 0


@pytest.mark.parametrize("bias", [False, True])
def test_max_margin_direction_solves_the_primal_problem(bias):
    """Against scipy's SLSQP on min ½‖v‖² subject to s_i v·a_i ≥ 1 (the bias, if any, inside v)."""
    from scipy.optimize import minimize

    g = generator(11)
    x = torch.randn(24, 3, generator=g, dtype=F64)
    y = (x @ torch.tensor([1.0, -2.0, 0.5], dtype=F64) + 0.3 > 0).long()
    x = x + 0.5 * (2 * y[:, None] - 1) * torch.tensor([1.0, -2.0, 0.5], dtype=F64)  # a clear gap
    v, margin = alignment.max_margin_direction(x, y, bias=bias)
    a = torch.cat([x, torch.ones(24, 1, dtype=F64)], dim=1) if bias else x
    sa = ((2 * y - 1)[:, None] * a).numpy()
    res = minimize(lambda u: 0.5 * u @ u, x0=sa.mean(axis=0) * 10, jac=lambda u: u,
                   constraints=[{"type": "ineq", "fun": lambda u: sa @ u - 1, "jac": lambda u: sa}],
                   method="SLSQP", options={"ftol": 1e-14, "maxiter": 500})
    assert res.success
    best = torch.tensor(res.x, dtype=F64)
    torch.testing.assert_close(v, best / best.norm(), rtol=1e-6, atol=1e-6)
    assert margin == pytest.approx(1 / float(best.norm()), rel=1e-6)


def test_cosine_path_is_zero_for_the_zero_vector():
    c = training.cosine_path(torch.zeros(2, 3, dtype=F64), torch.ones(3, dtype=F64))
    assert c.tolist() == [0.0, 0.0]


@pytest.mark.parametrize(("call", "error", "words"), [
    (lambda: training.neuron_gradients(torch.ones(3), 0.0, torch.ones(4), torch.tensor(1.0)),
     ValueError, "last dimension must be n = 3"),
    (lambda: training.neuron_gradients(torch.ones(3), 0.0, torch.ones(2, 3), torch.ones(3)),
     ValueError, "pass one target per example"),
    (lambda: training.neuron_gradients(torch.ones(3), 0.0, torch.ones(3), torch.tensor(0.5),
                                       "logistic"), ValueError, "labels 0 or 1"),
    (lambda: training.neuron_gradients(torch.ones(3), 0.0, torch.ones(3), torch.tensor(1.0),
                                       "hinge"), ValueError, "unknown loss"),
    (lambda: training.layer_gradients(torch.ones(2, 3), torch.ones(4, 3)), ValueError,
     "one row per example"),
    (lambda: training.train_neuron(torch.ones(2, 2), torch.tensor([0, 1]), lr=0.0), ValueError,
     "lr must be positive"),
    (lambda: training.class_direction(torch.ones(2, 2), torch.tensor([1, 1])), ValueError,
     "labels 0 and 1, both present"),
])
def test_bad_input_is_refused_with_a_clear_message(call, error, words):
    with pytest.raises(error, match=words):
        call()


# ------------------------------------------------------------------ chapter 8's experiment
def _chapter_run() -> alignment.MarginRun:
    from dotbook import data

    x, y = data.two_blobs(**ch08.BLOB_SIZE, generator=generator(9), dtype=F64)
    return alignment.margin_run(x, y, steps=ch08.STEPS, lr=ch08.LR)


def test_chapter_experiment_first_step_along_mean_gap_then_toward_max_margin():
    run = _chapter_run()
    assert run.margin > 0  # separable, so the max-margin direction exists
    assert int((run.y == 0).sum()) == int((run.y == 1).sum())
    torch.testing.assert_close(run.path.w[1] / run.path.w[1].norm(),
                               run.mean_gap / run.mean_gap.norm())
    assert run.cos_margin[-1] > run.cos_margin[100] > run.cos_margin[1]
    # issue 19: the angle to the max-margin direction falls like 1/log t
    angle = torch.arccos(run.cos_margin.clamp(-1, 1))
    ts = [30, 100, 300, 1000, 3000, 5000]
    assert all(1.0 < angle[t].item() * math.log(t) < 1.5 for t in ts)
    slope = torch.linalg.lstsq(torch.stack([torch.log(torch.log(torch.tensor(ts, dtype=F64))),
                                            torch.ones(len(ts), dtype=F64)], 1),
                               torch.log(angle[ts])[:, None]).solution[0].item()
    assert -1.3 < slope < -0.7


def test_alignment_experiment_contracts_each_axis_by_one_minus_two_eta_lambda():
    inputs = alignment.decorrelated_inputs(64, generator=generator(10))
    torch.testing.assert_close(inputs.mT @ inputs / 64, torch.eye(2, dtype=F64))
    _, ws = alignment.alignment_path(inputs, 0.0)
    assert (ws[:, 1] == ch08.W_START[1]).all()
    _, ws = alignment.alignment_path(inputs, 0.5, lr=ch08.ALIGN_LR)
    ratio = (ws[1:] - torch.tensor(ch08.W_STAR, dtype=F64)) / (
        ws[:-1] - torch.tensor(ch08.W_STAR, dtype=F64))
    torch.testing.assert_close(ratio[:, 0], torch.full_like(ratio[:, 0], 1 - 2 * ch08.ALIGN_LR))
    torch.testing.assert_close(ratio[:, 1],
                               torch.full_like(ratio[:, 1], 1 - 2 * ch08.ALIGN_LR * 0.25))


def test_weights_stay_in_start_plus_span_for_sgd_not_adam_or_weight_decay():
    """Issue 19: the span claim holds for (S)GD with or without momentum only."""
    g = generator(12)
    basis = torch.randn(3, 6, generator=g, dtype=F64)  # inputs in a 3-D subspace of R⁶
    x = torch.randn(20, 3, generator=g, dtype=F64) @ basis  # (20, 6)
    y = torch.randn(20, generator=g, dtype=F64)
    w0 = torch.randn(6, generator=g, dtype=F64)
    drift = {opt: alignment.off_span_drift(x, y, w0, opt, steps=100)
             for opt in alignment.DRIFT_OPTIMIZERS}
    assert drift["sgd"] < 1e-12 and drift["momentum"] < 1e-12
    assert drift["adam"] > 1e-3 and drift["weight_decay"] > 1e-3
    assert alignment.off_span_drift(x, y, w0, "sgd", batch=5, generator=generator(1)) < 1e-12
    with pytest.raises(ValueError, match="generator"):
        alignment.off_span_drift(x, y, w0, "sgd", batch=5)
    with pytest.raises(ValueError, match="unknown optimizer"):
        alignment.off_span_drift(x, y, w0, "rmsprop")


def test_max_margin_direction_refuses_non_separable_and_degenerate_data():
    """Issue 20: XOR and identical points used to give NaN silently."""
    xor = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]], dtype=F64)
    labels = torch.tensor([0, 0, 1, 1])
    for x, bias in ((xor, True), (xor, False), (torch.ones(4, 2, dtype=F64), True)):
        with pytest.raises(ValueError, match="not linearly separable"):
            alignment.max_margin_direction(x, labels, bias=bias)
    with pytest.raises(ValueError, match="every input is zero"):
        alignment.max_margin_direction(torch.zeros(4, 2, dtype=F64), labels, bias=False)
    with pytest.raises(ValueError, match="inf or NaN"):
        alignment.max_margin_direction(torch.full((4, 2), math.nan, dtype=F64), labels)
    with pytest.raises(ValueError, match="too large"):
        alignment.max_margin_direction(xor, labels, steps=10**12)


def test_empty_batches_and_huge_counts_are_refused():
    with pytest.raises(ValueError, match="empty"):
        training.loss_value(torch.tensor([]), torch.tensor([]))
    with pytest.raises(ValueError, match="empty"):
        training.error_signal(torch.tensor([]), torch.tensor([]))
    with pytest.raises(ValueError, match="too large"):
        training.train_neuron(torch.ones(2, 2), torch.tensor([0, 1]), steps=10**12)
    with pytest.raises(ValueError, match="more rows than coordinates"):
        alignment.decorrelated_inputs(2, generator=generator(0))


def test_twins_draw_from_the_generator_they_are_given():
    a = ch08.alignment_twin(generator=generator(3)).fn(0.5)
    b = ch08.alignment_twin(generator=generator(4)).fn(0.5)
    assert a["data"][0]["x"] != b["data"][0]["x"]
    fig = ch08.learning_twin(_chapter_run()).fn(50)
    assert "step 50" in fig["layout"]["title"]["text"]


def test_digits_figure_is_valid_plotly():
    import plotly.graph_objects as go

    cos = torch.linspace(0.9, 1.0, 101, dtype=F64)
    fig = go.Figure(ch08.digits_figure(cos, cos.flip(0), 3, 8))
    assert fig.layout.meta["alt"] and len(fig.data) == 2
