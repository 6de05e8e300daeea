"""Chapter 13: attention in a model (dotbook.transformer, dotbook.induction, figures.ch13).

MultiHeadAttention is held equal to ``nn.MultiheadAttention`` at float64 over
random shapes, masks and the causal flag; rotary scores depend only on the
offset; decoding with a KV cache equals full causal attention; the trained
attention-only model reaches its accuracy and its heads show previous-token and
induction patterns for every seed tried; bad input is refused naming the numbers.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from support import F64
from torch import nn

from dotbook import induction
from dotbook import transformer as tf
from dotbook.device import generator

close = torch.testing.assert_close
TIGHT = {"rtol": 1e-10, "atol": 1e-12}


# ------------------------------------------------------------ MultiHeadAttention
@st.composite
def mha_problems(draw):
    heads = draw(st.integers(1, 4))
    d_model = heads * draw(st.integers(1, 4))
    B, T_q, T_k = draw(st.integers(1, 3)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    bias = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    m = nn.MultiheadAttention(d_model, heads, bias=bias, batch_first=True, dtype=F64)
    if bias:  # PyTorch initialises the biases to 0: make them matter
        with torch.no_grad():
            m.in_proj_bias.normal_(generator=g)
            m.out_proj.bias.normal_(generator=g)
    q = torch.randn(B, T_q, d_model, generator=g, dtype=F64)
    k = torch.randn(B, T_k, d_model, generator=g, dtype=F64)
    v = torch.randn(B, T_k, d_model, generator=g, dtype=F64)
    kind = draw(st.sampled_from(["none", "bool", "additive", "causal"]))
    return m, q, k, v, kind, g


@given(mha_problems())
def test_multihead_equals_pytorch_at_float64(problem) -> None:
    m, q, k, v, kind, g = problem
    ours = tf.MultiHeadAttention.from_torch(m)
    T_q, T_k = q.shape[1], k.shape[1]
    if kind == "none":
        close(ours(q, k, v), m(q, k, v)[0], **TIGHT)
    elif kind == "bool":
        keep = torch.rand(T_q, T_k, generator=g) < 0.6
        keep[:, 0] = True  # PyTorch's own softmax gives NaN on a fully masked row
        # ours: True = may attend (like F.scaled_dot_product_attention);
        # nn.MultiheadAttention: True = may NOT attend
        close(ours(q, k, v, mask=keep), m(q, k, v, attn_mask=~keep)[0], **TIGHT)
    elif kind == "additive":
        add = torch.randn(T_q, T_k, generator=g, dtype=F64)
        close(ours(q, k, v, mask=add), m(q, k, v, attn_mask=add)[0], **TIGHT)
    else:
        x = q
        forbid = ~torch.ones(T_q, T_q, dtype=torch.bool).tril()
        close(ours(x, x, x, causal=True), m(x, x, x, attn_mask=forbid)[0], **TIGHT)


def test_from_torch_copies_the_weights_and_refuses_what_it_cannot_copy() -> None:
    torch.manual_seed(0)
    m = nn.MultiheadAttention(6, 2, batch_first=True, dtype=F64)
    ours = tf.MultiHeadAttention.from_torch(m)
    close(torch.cat([ours.w_q.weight, ours.w_k.weight, ours.w_v.weight]), m.in_proj_weight)
    assert ours.w_q.weight.dtype == F64 and ours.d_k == 3
    with pytest.raises(ValueError, match="batch_first=True"):
        tf.MultiHeadAttention.from_torch(nn.MultiheadAttention(6, 2))
    with pytest.raises(ValueError, match="kdim"):
        tf.MultiHeadAttention.from_torch(nn.MultiheadAttention(6, 2, kdim=4, batch_first=True))
    with pytest.raises(TypeError, match="nn.MultiheadAttention"):
        tf.MultiHeadAttention.from_torch(nn.Linear(2, 2))


def test_split_and_merge_are_inverse_and_heads_are_column_blocks() -> None:
    mha = tf.MultiHeadAttention(12, 3, dtype=F64)
    x = torch.randn(2, 5, 12, dtype=F64)
    close(mha.merge(mha.split(x)), x, rtol=0, atol=0)
    close(mha.split(x)[:, 1], x[..., 4:8], rtol=0, atol=0)  # head 1 = columns 4..7


def test_permutation_equivariance_without_positions() -> None:
    mha = tf.MultiHeadAttention(8, 2, dtype=F64)
    x = torch.randn(3, 7, 8, dtype=F64)
    perm = torch.randperm(7, generator=generator(1))
    with torch.no_grad():
        close(mha(x[:, perm], x[:, perm], x[:, perm]), mha(x, x, x)[:, perm], **TIGHT)
        # a causal mask breaks it: order matters again
        assert not torch.allclose(mha(x[:, perm], x[:, perm], x[:, perm], causal=True),
                                  mha(x, x, x, causal=True)[:, perm])


def test_weights_are_rows_of_probabilities() -> None:
    mha = tf.MultiHeadAttention(8, 4, dtype=F64)
    x = torch.randn(2, 5, 8, dtype=F64)
    w = mha.weights(x, x, causal=True)
    assert w.shape == (2, 4, 5, 5)
    close(w.sum(-1), torch.ones(2, 4, 5, dtype=F64))
    assert (w.triu(1) == 0).all()


# ------------------------------------------------------------ rope
@given(st.integers(1, 8), st.integers(-20, 20), st.integers(0, 2**16),
       st.sampled_from([10.0, 100.0, 10000.0]))
def test_rope_score_depends_only_on_the_offset(pairs, shift, seed, base) -> None:
    g = torch.Generator().manual_seed(seed)
    d = 2 * pairs
    q = torch.randn(d, generator=g, dtype=F64)
    k = torch.randn(d, generator=g, dtype=F64)
    m = torch.tensor([0.0, 3.0, 11.0], dtype=F64)
    n = torch.tensor([5.0, 1.0, 11.0], dtype=F64)
    s = (tf.rope(q.expand(3, d), m, base) * tf.rope(k.expand(3, d), n, base)).sum(-1)
    s_shift = (tf.rope(q.expand(3, d), m + shift, base)
               * tf.rope(k.expand(3, d), n + shift, base)).sum(-1)
    close(s, s_shift, rtol=1e-9, atol=1e-9)


def test_rope_is_a_rotation_of_interleaved_pairs() -> None:
    x = torch.randn(2, 6, 8, dtype=F64)
    y = tf.rope(x)
    close(y.norm(dim=-1), x.norm(dim=-1))  # lengths kept
    close(y[:, 0], x[:, 0])  # position 0: no rotation
    # pair i = 1 (coordinates 2, 3) at position 4 turns by 4·base^(-2/8)
    a = 4 * 10000.0 ** (-2 / 8)
    close(y[0, 4, 2], x[0, 4, 2] * math.cos(a) - x[0, 4, 3] * math.sin(a))
    close(y[0, 4, 3], x[0, 4, 2] * math.sin(a) + x[0, 4, 3] * math.cos(a))


def test_position_scores_rotary_is_toeplitz_added_is_not() -> None:
    g = generator(3)
    q, k = torch.randn(8, generator=g, dtype=F64), torch.randn(8, generator=g, dtype=F64)
    rotary, added = tf.position_scores(q, k, 12, base=100.0)
    for off in range(-11, 12):
        diag = rotary.diagonal(off)
        assert (diag - diag[0]).abs().max() < 1e-12
    assert (added.diagonal(0) - added.diagonal(0)[0]).abs().max() > 0.1


# ------------------------------------------------------------ KV cache
@pytest.mark.parametrize("chunks", [(1,) * 7, (3, 4), (7,), (2, 1, 4)])
def test_cache_decoding_equals_full_causal_attention(chunks) -> None:
    mha = tf.MultiHeadAttention(12, 3, dtype=F64)
    x = torch.randn(2, 7, 12, dtype=F64)
    cache, outs, t = tf.KVCache(), [], 0
    with torch.no_grad():
        for c in chunks:
            outs.append(mha.step(x[:, t:t + c], cache))
            t += c
        close(torch.cat(outs, 1), mha(x, x, x, causal=True), **TIGHT)
    assert cache.length == 7
    assert cache.nbytes() == tf.cache_bytes(1, 3, 4, 7, 8, batch=2)


def test_model_decoding_with_caches_equals_the_full_forward() -> None:
    m = induction.AttentionOnly(vocab=10, length=9, d_model=8, heads=2, dtype=F64)
    tokens = torch.randint(0, 10, (3, 9), generator=generator(2))
    caches = [tf.KVCache() for _ in m.layers]
    with torch.no_grad():
        steps = [m.step(tokens[:, t:t + 1], caches) for t in range(9)]
        close(torch.cat(steps, 1), m(tokens), **TIGHT)


def test_costs_formulas() -> None:
    assert tf.attention_flops(2048, 1024) == tf.projection_flops(2048, 1024)
    assert tf.crossover_length(1024) == 2048
    assert tf.attention_flops(4097, 1024) > tf.projection_flops(4097, 1024)
    cached, recomputed = tf.decode_flops(1000, 64)
    assert cached == 8 * 64**2 + 4 * 1001 * 64
    assert recomputed == 8 * 1001 * 64**2 + 4 * 1001**2 * 64
    assert tf.cache_bytes(2, 4, 16, 100, 4) == 2 * 2 * 4 * 16 * 100 * 4


def test_decode_costs_measures_both_routes() -> None:
    mha = tf.MultiHeadAttention(16, 2)
    rows = tf.decode_costs(mha, (4, 8), generator=generator(0), repeats=1)
    assert [r.T for r in rows] == [4, 8]
    assert all(r.cached > 0 and r.recomputed > 0 for r in rows)


# ------------------------------------------------------------ the trained model
SEEDS = (0, 1, 2, 3, 4, 5)


@pytest.fixture(scope="module")
def trained_runs() -> dict[int, tuple[float, torch.Tensor, torch.Tensor]]:
    out = {}
    for seed in SEEDS:
        run = induction.train_induction(generator=generator(seed))
        tokens = induction.repeated_tokens(256, run.length, run.vocab, run.periods,
                                           generator=generator(100 + seed))
        prev, ind = induction.pattern_scores(run.model.patterns(tokens), tokens)
        out[seed] = (induction.accuracy(run.model, tokens), prev, ind)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_trained_model_learns_induction_for_every_seed(trained_runs, seed) -> None:
    acc, prev, ind = trained_runs[seed]
    assert acc > 0.97, acc
    assert prev[0].max() > 0.3, prev  # a previous-token head in layer 0 (uniform: 0.12)
    assert ind[1].max() > 0.9, ind  # an induction head in layer 1
    assert ind[0].max() < 0.25 and prev[1].max() < 0.2, (prev, ind)


def test_repeated_tokens_and_scores_of_ideal_patterns() -> None:
    x = induction.repeated_tokens(5, 12, 8, (3, 5), generator=generator(0))
    assert x.shape == (5, 12) and int(x.max()) < 8
    for row in x.tolist():
        n = next(p for p in range(1, 12) if row[p] == row[0])
        assert 3 <= n <= 5 and len(set(row[:n])) == n
        assert all(row[t] == row[t % n] for t in range(12))
    T = 12
    ideal_prev = torch.zeros(T, T, dtype=F64)
    ideal_prev[0, 0] = 1
    ideal_prev[torch.arange(1, T), torch.arange(T - 1)] = 1
    p = ideal_prev.expand(1, 5, 1, T, T)
    prev, _ = induction.pattern_scores(p, x)
    close(prev, torch.ones(1, 1, dtype=F64))


def test_bad_model_input() -> None:
    m = induction.AttentionOnly(vocab=5, length=6, d_model=4, heads=2)
    with pytest.raises(ValueError, match="exceed the model's length 6"):
        m(torch.zeros(1, 7, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[0, 4\]"):
        m(torch.full((1, 3), 5))
    caches = [tf.KVCache() for _ in m.layers]
    with torch.no_grad():
        m.step(torch.zeros(1, 2, dtype=torch.long), caches)
        caches[1] = tf.KVCache()
        with pytest.raises(ValueError, match=r"\[2, 0\] positions"):
            m.step(torch.zeros(1, 1, dtype=torch.long), caches)
    with pytest.raises(ValueError, match="vocab >= 9"):
        induction.repeated_tokens(2, 12, 8, (3, 9), generator=generator(0))


# ------------------------------------------------------------ bad input
def test_bad_input_names_the_numbers() -> None:
    with pytest.raises(ValueError, match="heads = 3 does not divide d_model = 8"):
        tf.MultiHeadAttention(8, 3)
    with pytest.raises(ValueError, match="d = 5"):
        tf.rope(torch.randn(4, 5))
    with pytest.raises(ValueError, match="positions has shape"):
        tf.rope(torch.randn(4, 6), torch.arange(3))
    mha = tf.MultiHeadAttention(8, 2)
    x = torch.randn(2, 5, 8)
    with pytest.raises(ValueError, match=r"\(B, T, 8\)"):
        mha(torch.randn(2, 5, 6), x, x)
    with pytest.raises(ValueError, match="batch size 3 but query has 2"):
        mha(x, torch.randn(3, 5, 8), torch.randn(3, 5, 8))
    with pytest.raises(ValueError, match="T_k = 5 positions but value has 4"):
        mha(x, x, x[:, :4])
    cache = tf.KVCache()
    mha.step(x, cache)
    with pytest.raises(ValueError, match="cache holds keys of shape"):
        mha.step(x[:, :1], tf.KVCache(cache.k, cache.v[:, :, :3]))
    with pytest.raises(ValueError, match=r"\(B, h, T, d_k\) = \(1, 2, 5, 4\)"):
        mha.step(x[:1, :1], cache)  # a cache of batch 2 for a batch of 1
    with pytest.raises(ValueError, match="too large"):
        tf.MultiHeadAttention(1 << 20, 1)


@pytest.mark.slow
@pytest.mark.parametrize("seed", (0, 1, 2))
def test_one_layer_cannot_learn_the_task(seed) -> None:
    run = induction.train_induction(generator=generator(seed), layers=1)
    tokens = induction.repeated_tokens(256, run.length, run.vocab, run.periods,
                                       generator=generator(100 + seed))
    assert induction.accuracy(run.model, tokens) < 0.6
