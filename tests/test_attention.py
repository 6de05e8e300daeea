"""Chapter 7: attention as scaled dot products (dotbook.attention, figures.ch07).

Every route (loop, vectorised, chunked) is held equal at float64 to
``torch.nn.functional.scaled_dot_product_attention`` over random shapes,
masks, causal flags and scales; the statistics of q·k are checked within
their sampling error.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from support import DEVICES_F64, F64, randn

from dotbook import attention as A
from dotbook import measure
from dotbook import saturation as S

close = torch.testing.assert_close
TIGHT = {"rtol": 1e-10, "atol": 1e-12}


# ------------------------------------------------------------ strategies
@st.composite
def problems(draw, max_t: int = 6):
    """q, k, v of random batch/head dims, a mask (None, bool or additive) that
    broadcasts, a causal flag and a scale."""
    lead = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    T_q, T_k = draw(st.integers(1, max_t)), draw(st.integers(1, max_t))
    d_k, d_v = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(*lead, T_q, d_k, generator=g, dtype=F64) * 2
    k = torch.randn(*lead, T_k, d_k, generator=g, dtype=F64) * 2
    v = torch.randn(*lead, T_k, d_v, generator=g, dtype=F64)
    kind = draw(st.sampled_from(["none", "bool", "additive"]))
    mask = None
    if kind != "none":
        full = lead + (T_q, T_k)
        keep = draw(st.integers(1, len(full)))  # drop leading dims: broadcasting
        shape = tuple(n if draw(st.booleans()) else 1 for n in full[len(full) - keep:])
        if kind == "bool":
            mask = torch.rand(shape, generator=g) < 0.7
        else:
            mask = torch.randn(shape, generator=g, dtype=F64)
            mask = mask.masked_fill(torch.rand(shape, generator=g) < 0.3, float("-inf"))
    causal = draw(st.booleans())
    scale = draw(st.one_of(st.none(), st.floats(0.05, 3.0)))
    return q, k, v, mask, causal, scale


def torch_reference(q, k, v, mask, causal, scale):
    """PyTorch's kernel; it refuses mask and causal together, so they are merged here."""
    if causal and mask is not None:
        c = A.causal_mask(q.shape[-2], k.shape[-2])
        mask = (mask & c) if mask.dtype == torch.bool else \
            mask + torch.zeros((), dtype=F64).masked_fill(~c, float("-inf"))
        causal = False
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, scale=scale)


# ------------------------------------------------------------ equality with PyTorch
@given(problems())
def test_from_scratch_equals_pytorch(problem):
    expected = torch_reference(*problem)
    got = A.scaled_dot_product_attention(*problem)
    assert not got.isnan().any()
    close(got, expected, **TIGHT)


@given(problems(), st.integers(1, 7))
def test_chunked_equals_reference(problem, block):
    q, k, v, mask, causal, scale = problem
    got = A.chunked_attention(q, k, v, block=block, causal=causal, scale=scale, mask=mask)
    close(got, A.scaled_dot_product_attention(q, k, v, mask, causal, scale), **TIGHT)


@given(problems(max_t=4))
def test_loop_equals_vectorised(problem):
    close(A.scaled_dot_product_attention_loop(*problem),
          A.scaled_dot_product_attention(*problem), **TIGHT)


@pytest.mark.parametrize("dev", DEVICES_F64)
@pytest.mark.parametrize("T_q,T_k", [(3, 5), (5, 3), (4, 4)])
def test_causal_is_top_left_like_pytorch(dev, T_q, T_k):
    q, k, v = (randn(2, 3, t, 4, device=dev, seed=s) for s, t in enumerate((T_q, T_k, T_k)))
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    close(A.scaled_dot_product_attention(q, k, v, causal=True), expected, **TIGHT)
    close(A.chunked_attention(q, k, v, block=2, causal=True), expected, **TIGHT)
    # the mask PyTorch documents: tril(ones(T_q, T_k)), i.e. query i sees keys 0..i
    tril = torch.ones(T_q, T_k, dtype=torch.bool, device=dev).tril()
    assert torch.equal(A.causal_mask(T_q, T_k, device=dev), tril)
    close(F.scaled_dot_product_attention(q, k, v, attn_mask=tril), expected, **TIGHT)
    assert A.scaled_dot_product_attention(q, k, v, causal=True).device == q.device


def test_weights_are_distributions_and_causal_hides_the_future():
    q, k = randn(2, 6, 3, seed=1), randn(2, 6, 3, seed=2)
    w = A.attention_weights(q, k, causal=True)
    close(w.sum(-1), torch.ones(2, 6, dtype=F64))
    assert torch.all(w.triu(diagonal=1) == 0)


def test_custom_scale_and_default():
    q, k, v = randn(4, 8, seed=1), randn(5, 8, seed=2), randn(5, 2, seed=3)
    close(A.scores(q, k), q @ k.T / math.sqrt(8))
    close(A.scaled_dot_product_attention(q, k, v, scale=0.3),
          F.scaled_dot_product_attention(q, k, v, scale=0.3), **TIGHT)


# ------------------------------------------------------------ fully masked rows
@pytest.mark.parametrize("kind", ["bool", "additive"])
def test_fully_masked_row_gives_zeros_like_pytorch_and_no_nan(kind):
    q, k, v = randn(2, 3, 4, seed=1), randn(2, 5, 4, seed=2), randn(2, 5, 2, seed=3)
    allowed = torch.ones(3, 5, dtype=torch.bool)
    allowed[1] = False  # query 1 may see nothing
    mask = allowed if kind == "bool" else \
        torch.zeros(3, 5, dtype=F64).masked_fill(~allowed, float("-inf"))
    for fn in (A.scaled_dot_product_attention, A.scaled_dot_product_attention_loop,
               lambda *a: A.chunked_attention(*a[:3], block=2, mask=a[3])):
        out = fn(q, k, v, mask)
        assert torch.equal(out[:, 1], torch.zeros(2, 2, dtype=F64))
        assert not out.isnan().any()
    close(A.scaled_dot_product_attention(q, k, v, mask),
          F.scaled_dot_product_attention(q, k, v, attn_mask=mask), **TIGHT)
    assert torch.equal(A.attention_weights(q, k, mask)[:, 1], torch.zeros(2, 5, dtype=F64))


def test_gradients_match_pytorch_including_a_fully_masked_row():
    q, k, v = (randn(2, t, 3, seed=s).requires_grad_() for s, t in enumerate((4, 5, 5)))
    allowed = A.causal_mask(4, 5)
    allowed[2] = False
    ours = torch.autograd.grad(A.scaled_dot_product_attention(q, k, v, allowed).square().sum(),
                               (q, k, v))
    theirs = torch.autograd.grad(
        F.scaled_dot_product_attention(q, k, v, attn_mask=allowed).square().sum(), (q, k, v))
    for a, b in zip(ours, theirs, strict=True):
        assert not a.isnan().any()
        close(a, b, **TIGHT)


def test_chunked_gradients_equal_the_reference():
    q, k, v = (randn(2, t, 3, seed=s).requires_grad_() for s, t in enumerate((4, 7, 7)))
    ours = torch.autograd.grad(A.chunked_attention(q, k, v, block=3, causal=True).sum(),
                               (q, k, v))
    ref = torch.autograd.grad(A.scaled_dot_product_attention(q, k, v, causal=True).sum(),
                              (q, k, v))
    for a, b in zip(ours, ref, strict=True):
        close(a, b, **TIGHT)


def test_huge_scores_do_not_overflow():
    q = torch.full((1, 3), 1e4, dtype=F64)
    k = torch.tensor([[1e4, 1e4, 1e4], [0.0, 0.0, 0.0]], dtype=F64)
    v = torch.tensor([[1.0], [2.0]], dtype=F64)
    close(A.scaled_dot_product_attention(q, k, v), torch.tensor([[1.0]], dtype=F64))
    close(A.chunked_attention(q, k, v, block=1), torch.tensor([[1.0]], dtype=F64))


# ------------------------------------------------------------ bad input
def test_errors_name_the_shapes():
    q, k, v = randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 6)
    with pytest.raises(ValueError, match=r"d_k = 4 vs 3"):
        A.scaled_dot_product_attention(q, randn(2, 5, 3), v)
    with pytest.raises(ValueError, match=r"every key needs one value"):
        A.scaled_dot_product_attention(q, k, randn(2, 4, 6))
    with pytest.raises(ValueError, match=r"at least 2 dimensions"):
        A.scaled_dot_product_attention(randn(4), k, v)
    with pytest.raises(ValueError, match=r"batch and head dimensions"):
        A.scaled_dot_product_attention(randn(3, 3, 4), k, v)
    with pytest.raises(ValueError, match=r"does not broadcast"):
        A.scaled_dot_product_attention(q, k, v, mask=torch.ones(3, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"does not broadcast"):  # would enlarge the output
        A.scaled_dot_product_attention(q, k, v, mask=torch.ones(7, 2, 3, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"does not broadcast"):  # a scalar says nothing per key
        A.scaled_dot_product_attention(q, k, v, mask=torch.tensor(True))
    with pytest.raises(TypeError, match=r"floating-point"):
        A.scaled_dot_product_attention(q.long(), k, v)
    with pytest.raises(TypeError, match=r"dtype mismatch"):
        A.scaled_dot_product_attention(q, k.float(), v)
    with pytest.raises(TypeError, match=r"mask has dtype torch.int64"):
        A.scaled_dot_product_attention(q, k, v, mask=torch.ones(3, 5, dtype=torch.long))
    with pytest.raises(TypeError, match=r"scale must be None"):
        A.scaled_dot_product_attention(q, k, v, scale=float("nan"))
    with pytest.raises(TypeError, match=r"causal must be True or False"):
        A.scaled_dot_product_attention(q, k, v, causal=1)
    with pytest.raises(ValueError, match=r"block must be an int >= 1"):
        A.chunked_attention(q, k, v, block=0)


# ------------------------------------------------------------ why 1/sqrt(d_k)
def test_score_variance_is_d_k_within_sampling_error():
    r = S.score_variance([1, 4, 16, 64, 256], 8000, generator=torch.Generator().manual_seed(3))
    assert (r.z.abs() < 5).all(), r.z  # 5 standard errors: fails with probability ~1e-6
    assert (r.mean.abs() < 5 * torch.sqrt(r.d_k / r.samples)).all()


def test_fourth_moment_and_standard_error_by_simulation():
    g = torch.Generator().manual_seed(0)
    d_k, N, reps = 4, 200, 4000
    q = torch.randn(reps, N, d_k, generator=g, dtype=F64)
    k = torch.randn(reps, N, d_k, generator=g, dtype=F64)
    dots = (q * k).sum(-1)  # (reps, N)
    m4 = dots.pow(4).mean()
    se_m4 = dots.pow(4).std() / math.sqrt(dots.numel())
    assert abs(float(m4) - S.score_fourth_moment(d_k)) < 5 * float(se_m4)  # 3·16 + 24 = 72
    spread = float(dots.var(dim=1).std())  # the sample variance's own spread
    assert spread == pytest.approx(S.variance_standard_error(d_k, N), rel=0.08)


def test_softmax_jacobian_norm_matches_autograd():
    s = randn(6, seed=4) * 3
    p = torch.softmax(s, dim=0)
    J = torch.autograd.functional.jacobian(lambda x: torch.softmax(x, dim=0), s)
    close(S.softmax_jacobian_norm(p), torch.linalg.matrix_norm(J))
    close(S.entropy(p), -(p * p.log()).sum())


def test_saturation_without_scaling():
    g = torch.Generator().manual_seed(0)
    small = S.saturation(4, scaled=False, generator=g)
    big = S.saturation(1024, scaled=False, generator=g)
    big_scaled = S.saturation(1024, scaled=True, generator=g)
    assert big.max_weight > 0.9 and big.entropy < 0.3 and big.jacobian_norm < 0.1
    assert small.max_weight < big.max_weight
    # scaled, the scores have standard deviation about 1 at any d_k: far from one-hot
    assert big_scaled.max_weight < 0.5 and big_scaled.entropy > 1.5
    assert big.jacobian_norm < 0.4 * big_scaled.jacobian_norm  # vanishing gradient


# ------------------------------------------------------------ at scale
def test_peak_bytes_sees_the_score_matrix_and_chunking_avoids_it():
    T, d = 512, 16
    q, k, v = (randn(1, T, d, seed=s, dtype=torch.float32) for s in range(3))
    naive = measure.peak_bytes(A.scaled_dot_product_attention, q, k, v)
    chunked = measure.peak_bytes(A.chunked_attention, q, k, v, block=64)
    one_matrix = T * T * 4
    assert naive >= one_matrix  # at least one (T, T) float32 matrix
    assert chunked < one_matrix / 2  # O(T·block): far below one score matrix


def test_chunked_memory_is_linear_only_in_inference():
    # with autograd, the saved blocks add up to the whole score matrix again (issue 19)
    T, d = 512, 16
    q, k, v = (randn(1, T, d, seed=s, dtype=torch.float32).requires_grad_() for s in range(3))
    with_grad = measure.peak_bytes(A.chunked_attention, q, k, v, block=64)
    with torch.no_grad():
        inference = measure.peak_bytes(A.chunked_attention, q, k, v, block=64)
    assert inference < T * T * 4 / 2 < T * T * 4 <= with_grad


def test_peak_bytes_prints_nothing(capfd):
    q = torch.ones(1, 8, 4)
    measure.peak_bytes(A.scaled_dot_product_attention, q, q, q)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_max_length():
    assert measure.max_length(8.0, 80e9, heads=32) == 17677
    assert measure.max_length(4, 4 * 100**2) == 100
    with pytest.raises(ValueError):
        measure.max_length(0, 1e9)


# ------------------------------------------------------------ the toy sentence and the figures
def test_toy_sentence_queries_find_what_they_look_for():
    toy = A.toy_sentence()
    w = A.attention_weights(toy.q, toy.k)
    assert [toy.tokens[j] for j in w.argmax(-1).tolist()] == \
        ["dog", "dog", "tired", "dog", "ball", "ball", "red"]
    assert toy.seeks(toy.tokens.index("chased")) == ["noun", "animate"]
    close(toy.k, toy.x)  # W_k is the identity: a key is what the token is


def test_saturation_curves_equal_attention_on_truncated_vectors():
    d_max, T, Q = 100, 5, 7
    curves = S.saturation_curves(d_max, T=T, queries=Q, generator=torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(1)
    q = torch.randn(Q, d_max, generator=g, dtype=F64)
    k = torch.randn(T, d_max, generator=g, dtype=F64)
    for d in (1, 37, 64, 65, 100):
        for mode, scale in (("scaled", None), ("unscaled", 1.0)):
            p = A.attention_weights(q[:, :d], k[:, :d], scale=scale)  # (Q, T)
            close(curves[mode]["max_weight"][d - 1], p.amax(-1).mean())
            close(curves[mode]["entropy"][d - 1], S.entropy(p).mean())
            close(curves[mode]["jacobian_norm"][d - 1], S.softmax_jacobian_norm(p).mean())


def test_ch07_figures_show_what_attention_computes():
    from dotbook.figures import ch07

    fig = ch07.compatibility_figure(3)
    title = fig["layout"]["title"]["text"]
    assert "“chased”" in title and "“dog”" in title
    bars = fig["data"][2]["y"]
    assert abs(sum(bars) - 1) < 1e-2 and max(bars) == bars[2]
    with pytest.raises(ValueError):
        ch07.compatibility_figure(7)
    curves = ch07.scaling_curves()
    twin = ch07.scaling_twin(torch.Generator().manual_seed(7))  # = the default generator
    assert twin.data(d_k=64, scaled=1)["layout"]["title"]["text"] == \
        ch07.scaling_figure(64, 1)["layout"]["title"]["text"]
    for d_k in (1, 64, 1000):
        for on in (0, 1):
            f = ch07.scaling_figure(d_k, on)
            mode = "scaled" if on else "unscaled"
            markers = [t for t in f["data"] if t.get("mode") == "markers"]
            assert [m["x"] for m in markers] == [[d_k]] * 3
            got = [m["y"][0] for m in markers]
            want = [curves[mode][key][d_k - 1]
                    for key in ("max_weight", "entropy", "jacobian_norm")]
            assert got == pytest.approx(want, rel=1e-3)
    r = S.score_variance([1, 4], 500, generator=torch.Generator().manual_seed(0))
    assert len(ch07.variance_figure(r)["data"]) == 3
    rows = [measure.ScaleRow(m, T, T * T * (3 if m == "naive" else 1), 1e-3 * T, 0.0)
            for T in (64, 128) for m in measure.SCALE_METHODS]
    assert len(ch07.scale_figure(rows, "cpu")["data"]) == 6


# ------------------------------------------------------------ extreme inputs (issue 20)
ROUTES = {
    "naive": A.scaled_dot_product_attention,
    "loop": A.scaled_dot_product_attention_loop,
    "chunked": lambda q, k, v, **kw: A.chunked_attention(q, k, v, block=3, **kw),
}


@pytest.mark.parametrize("route", ROUTES)
def test_float16_with_huge_scores_matches_pytorch(route):
    g = torch.Generator().manual_seed(0)
    q = (300 * torch.randn(2, 5, 64, generator=g)).half()
    k = (300 * torch.randn(2, 7, 64, generator=g)).half()
    v = torch.randn(2, 7, 4, generator=g).half()
    want = F.scaled_dot_product_attention(q, k, v)
    got = ROUTES[route](q, k, v)
    assert got.dtype == torch.float16 and torch.isfinite(got).all()
    close(got, want, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("route", ROUTES)
def test_infinite_scores_share_the_weight_and_nothing_is_nan(route):
    g = torch.Generator().manual_seed(1)
    q, k = torch.randn(3, 4, generator=g, dtype=F64), torch.randn(5, 4, generator=g, dtype=F64)
    v = torch.randn(5, 2, generator=g, dtype=F64)
    out = ROUTES[route](q, k, v, scale=1e308)  # scores overflow to ±inf
    assert torch.isfinite(out).all()
    s = (q @ k.T) * 1e308
    for i in range(3):
        top = torch.isposinf(s[i])
        want = v[top].mean(0) if top.any() else v[s[i].argmax()]
        close(out[i], want)


@pytest.mark.parametrize("route", ROUTES)
def test_the_extreme_input_rule(route):
    inf = float("inf")
    q = torch.ones(3, 1, dtype=F64)
    k = torch.tensor([[1.0], [2.0], [3.0]], dtype=F64)
    v = torch.tensor([[10.0], [20.0], [30.0]], dtype=F64)
    bias = torch.tensor([[inf, 0.0, inf], [-inf, -inf, -inf], [inf, 0.0, 0.0]], dtype=F64)
    out = ROUTES[route](q, k, v, mask=bias)
    close(out, torch.tensor([[20.0], [0.0], [10.0]], dtype=F64))  # +inf share; masked row 0
    nan_q = torch.tensor([[float("nan")]], dtype=F64)
    assert torch.isnan(ROUTES[route](nan_q, k, v)).all()  # NaN in, NaN out


def test_the_weights_follow_the_same_rule():
    inf = float("inf")
    q = torch.ones(2, 1, dtype=F64)
    k = torch.ones(3, 1, dtype=F64)
    bias = torch.tensor([[inf, 1.0, inf], [-inf, -inf, -inf]], dtype=F64)
    close(A.attention_weights(q, k, mask=bias),
          torch.tensor([[0.5, 0.0, 0.5], [0.0, 0.0, 0.0]], dtype=F64))


@pytest.mark.parametrize("route", ROUTES)
def test_missing_values_are_a_clear_error(route):
    q = torch.ones(2, 3)
    with pytest.raises(TypeError, match="v is None"):
        ROUTES[route](q, q, None)


def test_counts_and_sizes_have_upper_bounds():
    with pytest.raises(ValueError, match="at most"):
        A.causal_mask(10**12, 3)
    with pytest.raises(ValueError, match="at most"):
        S.score_variance([4], 10**12)
    with pytest.raises(ValueError, match="at most"):
        S.saturation(10**9, scaled=True)
    with pytest.raises(ValueError, match="at most"):
        S.saturation_curves(16, queries=10**9)
    q = torch.ones(2, 3)
    with pytest.raises(ValueError, match="at most"):
        A.chunked_attention(q, q, q, block=10**12)
