"""Chapter 5: a layer as template matchers (dotbook.layers, figures.ch05), and the
chapter-specific parts of chapter 6's figures (figures.ch06, drawing dotbook.filters).

The registered twins of both chapters are covered alike by tests/test_figures.py.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from dotbook import data, filters, layers, plots
from dotbook.figures import ch05, ch06

F64 = torch.float64
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
close = torch.testing.assert_close


# ------------------------------------------------- nn.Linear is batched dot products
@settings(max_examples=60)
@given(st.integers(1, 6), st.integers(1, 7),
       st.lists(st.integers(1, 3), min_size=0, max_size=3), st.integers(0, 2**16),
       st.booleans())
def test_linear_equals_nn_linear_and_the_loop_for_any_batch_shape(m, n, batch, seed, with_bias):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(m, n, generator=g, dtype=F64)
    b = torch.randn(m, generator=g, dtype=F64) if with_bias else None
    x = torch.randn(*batch, n, generator=g, dtype=F64)  # (*, n)
    module = torch.nn.Linear(n, m, bias=with_bias, dtype=F64)
    with torch.no_grad():
        module.weight.copy_(W)
        if with_bias:
            module.bias.copy_(b)
    loop = torch.stack([layers.linear_loop(W, row, b) for row in x.reshape(-1, n)])
    loop = loop.reshape(*batch, m)  # (*, m)
    for z in (layers.linear(W, x, b), F.linear(x, W, b), module(x).detach()):
        assert z.shape == (*batch, m)
        close(z, loop, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------ softmax regression
def test_fit_softmax_regression_is_deterministic_and_separates_blobs():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[3.0, 0.0], [0.0, 3.0], [-3.0, -3.0]], dtype=F64)
    y = torch.arange(3).repeat_interleave(30)
    x = centres[y] + 0.5 * torch.randn(90, 2, generator=g, dtype=F64)
    a = layers.fit_softmax_regression(x, y)
    b = layers.fit_softmax_regression(x, y)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    assert (a(x).argmax(dim=1) == y).all()
    assert not a.weight.requires_grad and a.weight.shape == (3, 2)
    with torch.no_grad():  # works when called under no_grad too
        c = layers.fit_softmax_regression(x, y, steps=5)
    assert c.weight.abs().sum() > 0


@pytest.mark.parametrize("device", DEVICES)
def test_fit_softmax_regression_stays_on_device(device):
    x = torch.randn(12, 3, device=device)
    y = torch.arange(3, device=device).repeat(4)
    layer = layers.fit_softmax_regression(x, y, 4, steps=3)
    assert layer.weight.device.type == device and layer.weight.dtype == torch.float32
    assert layer.weight.shape == (4, 3)


def test_fit_softmax_regression_refuses_bad_labels():
    x = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="int64"):
        layers.fit_softmax_regression(x, torch.zeros(4))
    with pytest.raises(ValueError, match=r"\(4,\)"):
        layers.fit_softmax_regression(x, torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        layers.fit_softmax_regression(x, torch.tensor([0, 1, 2, 0]), classes=2)
    with pytest.raises(ValueError, match=r"\(N, n\)"):
        layers.fit_softmax_regression(torch.zeros(4), torch.zeros(4, dtype=torch.int64))


# ------------------------------------------------------------ preferred input
@settings(max_examples=40)
@given(st.integers(2, 20), st.integers(0, 2**16), st.floats(0.1, 10.0))
def test_preferred_input_ascent_reaches_the_formula(n, seed, r):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n, generator=g, dtype=F64)
    best = layers.preferred_input(w, r)
    assert math.isclose(float(best.norm()), r, rel_tol=1e-12)
    close(torch.dot(w, best), r * w.norm(), rtol=1e-12, atol=1e-12)  # Cauchy–Schwarz, tight
    # with step size eta = r/‖w‖ each step halves the angle to w (tan φ' = tan(φ/2)), so the
    # ascent converges from any start but the antipode; a fixed eta is slow when r >> ‖w‖
    climbed = layers.preferred_input(w, r, method="ascent", steps=200, lr=r / float(w.norm()),
                                     generator=g)
    close(climbed, best, rtol=1e-7, atol=1e-7 * r)


def test_preferred_input_path_and_errors():
    w = torch.tensor([1.0, 2.0, 2.0], dtype=F64)
    path = layers.preferred_input(w, 2.0, method="ascent", steps=5,
                                  generator=torch.Generator().manual_seed(1), path=True)
    assert path.shape == (6, 3)
    close(path.norm(dim=1), torch.full((6,), 2.0, dtype=F64))
    responses = path @ w
    assert (responses[1:] >= responses[:-1] - 1e-12).all()  # every step climbs
    with pytest.raises(ValueError, match="all zeros"):
        layers.preferred_input(torch.zeros(3))
    with pytest.raises(ValueError, match="norm must be > 0"):
        layers.preferred_input(w, 0.0)
    with pytest.raises(ValueError, match="path=True needs"):
        layers.preferred_input(w, path=True)
    with pytest.raises(ValueError, match="method"):
        layers.preferred_input(w, method="newton")
    with pytest.raises(ValueError, match="n >= 2"):
        layers.preferred_input(torch.ones(1), method="ascent")


# ------------------------------------------- the chapter's layer, and ch05 figures
@pytest.fixture(scope="module")
def trained():
    return layers.train_templates(data.digits(dtype=F64))


def test_trained_layer_is_accurate_and_its_scores_match_the_figure(trained):
    t = trained
    assert t.accuracy > 0.95 and t.weight.shape == (10, 64)
    fig = ch05.match_figure(3, t)
    wx = t.digits.x_test[3] @ t.weight.T
    assert fig["data"][1]["y"] == pytest.approx(wx.tolist(), abs=1e-3)
    assert fig["data"][3]["y"] == pytest.approx((wx + t.bias).tolist(), abs=1e-3)
    winner = [k for k, v in enumerate(fig["data"][2]["y"]) if v is not None]
    assert winner == [int((wx + t.bias).argmax())]
    with pytest.raises(ValueError, match="index"):
        ch05.match_figure(10_000, t)


def test_the_figures_draw_the_layer_they_are_given_whatever_ran_first(trained):
    t = trained
    assert t.seconds > 0 and t.layer.weight is not None
    assert ch05.drawn(t) is t  # already on the CPU in float64: the very same result
    assert torch.equal(t.layer(t.digits.x_test[:5]).detach(), t.scores(t.digits.x_test[:5]))
    moved = t.to("cpu", torch.float32)  # a copy elsewhere; the original is untouched
    assert moved.weight.dtype == moved.digits.x_test.dtype == torch.float32
    assert moved.seconds == t.seconds and t.weight.dtype == F64
    close(moved.weight, t.weight.float())
    close(ch05.drawn(moved).weight, moved.weight.double())  # drawn from what it was given
    # training is deterministic, so a figure called without a layer draws the same one
    close(ch05.drawn().weight, t.weight, rtol=0, atol=1e-12)
    assert ch05.templates_figure(t) == ch05.templates_figure()
    with pytest.raises(TypeError, match="Trained"):
        ch05.drawn("layer")
    with pytest.raises(TypeError, match="Digits"):
        layers.train_templates(t.digits.x_train)


def test_templates_sum_to_zero_and_a_shared_shift_changes_no_probability(trained):
    # softmax is blind to one vector added to every row (and one number to every bias);
    # training from zero keeps sum_k W_k = 0 and sum_k b_k = 0
    t = trained
    assert t.weight.sum(dim=0).abs().max() < 1e-9 and abs(float(t.bias.sum())) < 1e-9
    x = t.digits.x_test
    v = torch.randn(64, generator=torch.Generator().manual_seed(0), dtype=F64)
    close(torch.softmax(x @ (t.weight + v).T + t.bias + 3.0, dim=1),
          torch.softmax(t.scores(x), dim=1))


def test_match_grid_has_one_of_each_digit_and_a_mistake(trained):
    t = trained
    grid = ch05.match_indices(t)
    labels = {int(t.digits.y_test[i]) for i in grid}
    assert labels == set(range(10))
    assert any(int(t.scores(t.digits.x_test[i]).argmax()) != int(t.digits.y_test[i])
               for i in grid)


def test_mosaic_places_tiles_with_gaps():
    tiles = torch.arange(12.0).reshape(3, 2, 2)
    m = plots.mosaic(tiles, cols=2, gap=(2, 1))
    assert len(m) == 2 * 2 + 2 and len(m[0]) == 2 * 2 + 1
    assert m[0][:2] == [0.0, 1.0] and m[0][2] is None and m[0][3:] == [4.0, 5.0]
    assert m[4][:2] == [8.0, 9.0] and m[2] == [None] * 5


@pytest.mark.parametrize(("b", "angle"), [(-1.0, 30.0), (0.0, 0.0), (2.5, 200.0)])
def test_threshold_figure_draws_the_line_where_the_score_is_zero(b, angle):
    fig = ch05.threshold_figure(b, angle)
    line = fig["data"][4]
    w = torch.tensor([math.cos(math.radians(angle)), math.sin(math.radians(angle))], dtype=F64)
    for x0, x1 in zip(line["x"], line["y"], strict=True):
        assert abs(float(w[0]) * x0 + float(w[1]) * x1 + b) < 1e-2
    sx, sy = fig["data"][0]["x"], fig["data"][0]["y"]
    assert all(float(w[0]) * p + float(w[1]) * q + b >= -1e-2 for p, q in zip(sx, sy, strict=True))


def test_threshold_twin_draws_the_cloud_of_the_generator_it_is_given():
    g = torch.Generator().manual_seed(5)
    x, _ = data.two_blobs(**ch05.CLOUD, generator=torch.Generator().manual_seed(5), dtype=F64)
    fig = ch05.threshold_twin(generator=g).data(b=0.0, angle_deg=0)
    assert fig["data"][1]["x"] == pytest.approx(x[:40, 0].tolist(), abs=0.01)
    other = ch05.threshold_twin(generator=torch.Generator().manual_seed(6)).data(b=0.0,
                                                                              angle_deg=0)
    assert other["data"][1]["x"] != fig["data"][1]["x"]  # the seed reaches the figure


def test_preferred_figure_climbs_to_the_ceiling(trained):
    t = trained
    paths = ch05.ascent_paths(t, torch.Generator().manual_seed(1))
    assert paths.shape == (10, 41, 64)
    w = t.weight[3]
    ceiling = float(w.norm()) * t.radius
    assert float(paths[3, -1] @ w) > 0.99 * ceiling and float(paths[3, 0] @ w) < 0.5 * ceiling


# ---------------------------------------------------------------- ch06 figures
@pytest.mark.parametrize(("row", "col"), [(0, 0), (3, 5), (7, 7)])
def test_field_figure_value_is_the_dot_product_and_the_conv_output(row, col):
    x = ch06.field_input()
    expected = F.conv2d(x[None, None], ch06.SOBEL[None, None])[0, 0, row, col].item()
    title = ch06.field_figure(row, col)["layout"]["title"]["text"]
    assert f"{expected:+.3f}" in title and f"({row}, {col})" in title
    products = ch06.field_figure(row, col)["data"][3]["z"]
    assert sum(map(sum, products)) == pytest.approx(expected, abs=1e-2)


@pytest.mark.parametrize("angle", [0.0, 47.0, 180.0])
def test_edges_figure_draws_conv_edge_response_on_the_photo(angle):
    _, direct = filters.edge_response(ch06.photo(), angle, 7, 1.2, method="conv")
    drawn = torch.tensor(ch06.edges_figure(angle)["data"][1]["z"], dtype=F64)  # scaled
    scale = float(direct.abs().max() / drawn.abs().max())
    close(drawn * scale, direct, rtol=0, atol=0.01 * scale)


@pytest.mark.parametrize("dx", [-20, -3, 0, 7, 20])
def test_equivariance_lookup_equals_the_shift_computed_on_the_spot(dx, monkeypatch):
    looked_up = ch06.equivariance_figure(dx)
    monkeypatch.setitem(ch06._equivariance_table(), "index", {})  # force the slow path
    assert ch06.equivariance_figure(dx) == looked_up
    photo = ch06.photo(28)
    out = filters.shifted_outputs(photo, dx)
    scale = filters.shifted_outputs(photo, 0)["zeros_conv_of_shift"].abs().max()  # f(x) / scale
    for k, mode in ((0, "circular"), (2, "zeros")):  # f(Sx) as drawn, rounded to 0.01
        drawn = torch.tensor(looked_up["data"][k]["z"], dtype=F64)
        close(drawn, out[f"{mode}_conv_of_shift"] / scale, rtol=0, atol=0.005 + 1e-9)
    with pytest.raises(TypeError, match="dx"):
        ch06.equivariance_figure(1.5)


def test_pooling_figure_draws_pooling_changes_on_the_photo():
    changes = filters.pooling_changes(ch06.photo(32), [1, 3])
    fig = ch06.pooling_figure()
    for trace, name in zip(fig["data"], filters.POOLINGS, strict=True):
        assert trace["name"] == name
        assert trace["y"][1] == pytest.approx(changes[name][0], abs=1e-4)
        assert trace["y"][3] == pytest.approx(changes[name][1], abs=1e-4)


def test_half_plane_shades_the_side_where_the_neuron_fires():
    xs, ys = plots.half_plane((0.0, 1.0), -0.5, (-1.0, 1.0, -1.0, 1.0))
    assert min(ys) == 0.5 and max(ys) == 1.0 and xs[0] == xs[-1] and ys[0] == ys[-1]
    assert plots.half_plane((1.0, 0.0), -5.0, (-1.0, 1.0, -1.0, 1.0)) == ([], [])
    with pytest.raises(ValueError, match="cols"):
        plots.mosaic(torch.zeros(3, 2, 2), cols=10**12)
