"""Tests of dotbook.highdim (random directions and the law of their cosine).
The Chapter 2 figures are tested in test_figures.py.

Statistical tolerances. Every comparison of a sample statistic with its exact
value allows 6 standard errors, computed from the exact moments (never fitted
to a seed): for a roughly normal statistic that fails with probability about
2e-9, so the tests hold for any seed, including the ones hypothesis draws.
Kolmogorov–Smirnov tests run at fixed seeds and require p > 1e-3: under the
null hypothesis the p-value is uniform on [0, 1], so a correct sampler fails
with probability 1e-3 per test for a random seed, and never for the fixed one;
a wrong law (e.g. the dimension off by one) gives p far below 1e-3 at these
sample sizes, which ``test_ks_detects_wrong_dimension`` checks.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, stats
from support import DEVICES, DEVICES_F64, F64

from dotbook import highdim
from dotbook.device import generator

SLOW = settings(max_examples=15, deadline=None)
FAST = settings(max_examples=60, deadline=None)


density = highdim.cosine_density  # float in, float out (for scipy.integrate.quad)


# ------------------------------------------------------------ random directions
@FAST
@given(m=st.integers(1, 40), n=st.integers(2, 300), seed=st.integers(0, 2**31 - 1))
def test_random_directions_are_unit_vectors(m: int, n: int, seed: int) -> None:
    u = highdim.random_directions(m, n, generator=generator(seed))
    assert u.shape == (m, n) and u.dtype == F64
    torch.testing.assert_close(torch.linalg.vector_norm(u, dim=1), torch.ones(m, dtype=F64))


def test_random_directions_reproducible_and_dtype() -> None:
    a = highdim.random_directions(5, 7, generator=generator(3))
    b = highdim.random_directions(5, 7, generator=generator(3))
    assert torch.equal(a, b)
    c = highdim.random_directions(5, 7, generator=generator(3), dtype=torch.float32)
    assert c.dtype == torch.float32


@pytest.mark.parametrize("device", DEVICES_F64)
def test_samplers_stay_on_device(device: str) -> None:
    g = generator(0, device)
    assert highdim.random_directions(4, 3, generator=g).device.type == device
    assert highdim.cosine_samples(10, 3, generator=g).device.type == device
    assert highdim.cosine_samples_naive(10, 3, device=device).device.type == device
    t = torch.linspace(-1, 1, 5, dtype=F64, device=device)
    assert highdim.cosine_density(t, 4).device.type == device
    assert highdim.cosine_cdf(t, 4).device.type == device
    assert 0 <= highdim.max_abs_cosine(10, 5, generator=g) <= 1


@pytest.mark.parametrize("device", DEVICES)
def test_float32_samplers_run_on_every_device(device: str) -> None:
    g = generator(0, device)
    f32 = dict(generator=g, dtype=torch.float32)
    for sample in (highdim.random_directions(4, 3, **f32), highdim.cosine_samples(10, 3, **f32),
                   highdim.cosine_samples_naive(10, 3, **f32)):
        assert sample.device.type == device and sample.dtype == torch.float32


def test_fast_sampler_is_seeded_by_the_torch_generator() -> None:
    """Same seed, same samples; the generator advances, so a second draw differs."""
    g = generator(5)
    first, second = highdim.cosine_samples(100, 7, generator=g), highdim.cosine_samples(100, 7,
                                                                                        generator=g)
    assert torch.equal(first, highdim.cosine_samples(100, 7, generator=generator(5)))
    assert not torch.equal(first, second)
    torch.manual_seed(3)
    a = highdim.cosine_samples(50, 7)  # no generator: torch's global one, seeded
    torch.manual_seed(3)
    assert torch.equal(a, highdim.cosine_samples(50, 7))


def test_random_directions_are_rotation_invariant() -> None:
    """Uniform on the sphere: the mean is 0 and the second moment matrix is I/n."""
    n, num = 4, 200_000
    u = highdim.random_directions(num, n, generator=generator(11))  # (num, n)
    second = u.T @ u / num  # (n, n), E[u uᵀ] = I/n
    # each entry of u uᵀ is bounded by 1, so its standard error is at most 1/√num
    tol = 6 / math.sqrt(num)
    assert torch.allclose(u.mean(0), torch.zeros(n, dtype=F64), atol=tol)
    assert torch.allclose(second, torch.eye(n, dtype=F64) / n, atol=tol)


# ------------------------------------------------------------ mean and variance
@SLOW
@given(n=st.integers(2, 5000), seed=st.integers(0, 2**31 - 1))
def test_mean_zero_and_variance_one_over_n(n: int, seed: int) -> None:
    num = 20_000
    c = highdim.cosine_samples(num, n, generator=generator(seed))
    # E[c] = 0, Var(c) = 1/n  →  SE(mean) = 1/√(n·num)
    assert abs(float(c.mean())) <= 6 / math.sqrt(n * num)
    # E[c²] = 1/n, Var(c²) = E[c⁴] − 1/n² = 3/(n(n+2)) − 1/n²
    var_c2 = highdim.cosine_moment(4, n) - highdim.cosine_moment(2, n) ** 2
    assert abs(float((c * c).mean()) - 1 / n) <= 6 * math.sqrt(var_c2 / num)
    assert highdim.cosine_variance(n) == 1 / n


def test_std_times_sqrt_n_is_one_across_n() -> None:
    rows = highdim.std_table((2, 10, 100, 1000, 10_000), 100_000, generator=generator(5))
    assert [r["n"] for r in rows] == [2, 10, 100, 1000, 10_000]
    for row in rows:
        assert abs(row["scaled_std"] - 1) <= 6 * row["scaled_se"] + 1e-3, row
        assert abs(row["mean"]) <= 6 / math.sqrt(row["n"] * 100_000)


@pytest.mark.parametrize("n", [2, 3, 10, 1000])
def test_delta_method_standard_error_matches_repeated_sampling(n: int) -> None:
    """The spread of √n·std over 200 repeats agrees with the delta-method SE (±25 %)."""
    num, g = 2000, generator(n)
    scaled = torch.tensor([float(highdim.cosine_samples(num, n, generator=g).std())
                           for _ in range(200)], dtype=F64) * math.sqrt(n)
    se = highdim.scaled_std_standard_error(n, num)
    assert se == pytest.approx(math.sqrt((n - 1) / (2 * (n + 2) * num)), rel=1e-12)
    assert float(scaled.std()) == pytest.approx(se, rel=0.25)


def test_sampled_tails_agree_with_the_exact_tail_and_are_reproducible() -> None:
    ns = (2, 10, 100, 1000)
    rows = highdim.sampled_tails(0.1, ns, 50_000, generator=generator(9))
    assert rows == highdim.sampled_tails(0.1, ns, 50_000, generator=generator(9))
    for row in rows:
        exact = highdim.tail_probability(0.1, row["n"])
        assert row["se"] == pytest.approx(math.sqrt(row["p"] * (1 - row["p"]) / 50_000))
        assert abs(row["p"] - exact) <= 6 * math.sqrt(exact * (1 - exact) / 50_000)
    far = highdim.sampled_tails(0.9, (1000,), 1000, generator=generator(9))
    assert far == [{"n": 1000, "p": 0.0, "se": 0.0}]  # nothing that far out


@pytest.mark.parametrize("device", DEVICES_F64)
def test_tables_draw_on_the_generators_device(device: str) -> None:
    g = generator(1, device)
    rows = highdim.std_table((5,), 1000, generator=g, device=device)
    assert rows[0]["n"] == 5 and math.isfinite(rows[0]["scaled_std"])
    assert highdim.sampled_tails(0.2, (5,), 1000, generator=generator(1, device),
                                 device=device)[0]["n"] == 5


@pytest.mark.parametrize("n", [2, 3, 4, 7, 50, 1000])
def test_moments_match_the_density(n: int) -> None:
    for k in (1, 2, 3, 4, 6):
        val, _ = integrate.quad(lambda t, k=k: t**k * density(t, n), -1, 1, points=[0],
                                limit=200)
        assert math.isclose(val, highdim.cosine_moment(k, n), rel_tol=1e-7, abs_tol=1e-12)
    assert highdim.cosine_moment(2, n) == pytest.approx(1 / n, rel=1e-15)
    assert highdim.cosine_moment(4, n) == pytest.approx(3 / (n * (n + 2)), rel=1e-15)


# ------------------------------------------------------------ the exact density
@SLOW
@given(n=st.integers(2, 20_000))
def test_density_integrates_to_one(n: int) -> None:
    # the endpoint singularity for n = 2 is integrable; QUADPACK's QAGS handles it
    total, _ = integrate.quad(lambda t: density(t, n), -1, 1, points=[0], limit=400)
    assert total == pytest.approx(1.0, abs=1e-8)


def test_density_integrates_to_one_with_the_singular_weight_exact() -> None:
    """Integrate (1−t)^α(1+t)^α as QUADPACK's algebraic weight: no singularity left.
    (QAWS loses digits for very large α, so this covers small and moderate n.)"""
    for n in (2, 3, 4, 5, 30, 100):
        alpha = (n - 3) / 2
        const = density(0.0, n)
        total, _ = integrate.quad(lambda t, c=const: c, -1, 1, weight="alg",
                                  wvar=(alpha, alpha))
        assert total == pytest.approx(1.0, rel=1e-10)


def test_density_special_cases() -> None:
    t = torch.linspace(-0.99, 0.99, 101, dtype=F64)
    torch.testing.assert_close(highdim.cosine_density(t, 2), 1 / (math.pi * torch.sqrt(1 - t * t)))
    torch.testing.assert_close(highdim.cosine_density(t, 3), torch.full_like(t, 0.5))
    ends = torch.tensor([-1.0, 1.0], dtype=F64)
    assert torch.isinf(highdim.cosine_density(ends, 2)).all()
    torch.testing.assert_close(highdim.cosine_density(ends, 3), torch.full_like(ends, 0.5))
    assert torch.equal(highdim.cosine_density(ends, 4), torch.zeros_like(ends))
    outside = torch.tensor([-1.5, 1.0001, 7.0], dtype=F64)
    for n in (2, 3, 10):
        assert torch.equal(highdim.cosine_density(outside, n), torch.zeros_like(outside))


@FAST
@given(n=st.integers(2, 3000), t=st.floats(-0.999, 0.999))
def test_density_is_the_beta_law(n: int, t: float) -> None:
    a = (n - 1) / 2
    expected = stats.beta.pdf((1 + t) / 2, a, a) / 2  # change of variables x = (1+t)/2
    assert density(t, n) == pytest.approx(expected, rel=1e-9, abs=1e-300)
    assert density(-t, n) == density(t, n)


def test_density_keeps_shape_and_dtype() -> None:
    t = torch.zeros(2, 3, dtype=torch.float32)
    out = highdim.cosine_density(t, 5)
    assert out.shape == (2, 3) and out.dtype == torch.float32


@FAST
@given(n=st.integers(2, 2000), t=st.floats(-0.95, 0.95))
def test_cdf_is_the_integral_of_the_density(n: int, t: float) -> None:
    integral, _ = integrate.quad(lambda s: density(s, n), -1, t, limit=200)
    cdf = float(highdim.cosine_cdf(torch.tensor(t, dtype=F64), n))
    assert cdf == pytest.approx(integral, abs=1e-8)


# ------------------------------------------------------------ samples follow the law
def _ks(samples: torch.Tensor, n: int) -> float:
    return highdim.ks_test(samples, n).pvalue


@pytest.mark.parametrize("n", [2, 3, 5, 10, 100, 1000, 10_000])
def test_ks_fast_sampler_against_exact_cdf(n: int) -> None:
    c = highdim.cosine_samples(50_000, n, generator=generator(1000 + n))
    assert _ks(c, n) > 1e-3


@pytest.mark.parametrize("n", [2, 3, 10, 200])
def test_ks_naive_sampler_and_first_coordinate_against_exact_cdf(n: int) -> None:
    c = highdim.cosine_samples_naive(20_000, n, generator=generator(2000 + n))
    assert _ks(c, n) > 1e-3
    u = highdim.random_directions(20_000, n, generator=generator(3000 + n))
    assert _ks(u[:, 0], n) > 1e-3  # the first coordinate of a uniform direction


def test_ks_detects_wrong_dimension() -> None:
    """The KS test has the power to see a dimension off by one or two."""
    c = highdim.cosine_samples(50_000, 10, generator=generator(5))
    assert _ks(c, 12) < 1e-6
    assert _ks(c, 8) < 1e-6


@pytest.mark.parametrize("n", [2, 3, 10, 300])
def test_naive_and_fast_samplers_have_the_same_distribution(n: int) -> None:
    fast = highdim.cosine_samples(20_000, n, generator=generator(4000 + n))
    naive = highdim.cosine_samples_naive(20_000, n, generator=generator(5000 + n))
    assert stats.ks_2samp(fast.numpy(), naive.numpy()).pvalue > 1e-3


def test_float32_samples_are_in_range() -> None:
    c = highdim.cosine_samples(10_000, 2, generator=generator(0), dtype=torch.float32)
    assert c.dtype == torch.float32 and bool((c.abs() <= 1).all())


# ------------------------------------------------------------ tails
@pytest.mark.parametrize("eps, n", [(0.5, 3), (0.1, 10), (0.1, 100), (0.05, 1000),
                                    (0.02, 3000), (0.3, 30), (0.9, 2)])
def test_exact_tail_matches_sampled_tail(eps: float, n: int) -> None:
    num = 200_000
    c = highdim.cosine_samples(num, n, generator=generator(int(1e4 * eps) + n))
    sampled = float((c.abs() > eps).double().mean())
    exact = highdim.tail_probability(eps, n)
    assert abs(sampled - exact) <= 6 * math.sqrt(exact * (1 - exact) / num) + 1e-12


@FAST
@given(n=st.integers(2, 5000), eps=st.floats(0.0, 1.0))
def test_tail_is_one_minus_central_mass(n: int, eps: float) -> None:
    central, _ = integrate.quad(lambda t: density(t, n), -eps, eps, points=[0] if eps else None,
                                limit=200)
    assert highdim.tail_probability(eps, n) == pytest.approx(1 - central, abs=1e-8)


@FAST
@given(n=st.integers(2, 100_000), eps=st.floats(0.0, 1.0))
def test_tail_is_below_the_cap_bound(n: int, eps: float) -> None:
    assert highdim.tail_probability(eps, n) <= highdim.tail_bound(eps, n) * (1 + 1e-12)


def test_tail_special_values() -> None:
    for n in (2, 3, 50):
        assert highdim.tail_probability(0.0, n) == 1.0
        assert highdim.tail_probability(1.0, n) == 0.0
    assert highdim.tail_probability(0.25, 3) == pytest.approx(0.75)  # uniform on [-1, 1]
    # n = 2: θ uniform, P(|cos θ| > ε) = 1 − (2/π)·arcsin(ε)
    assert highdim.tail_probability(0.5, 2) == pytest.approx(1 - 2 / math.pi * math.asin(0.5))


@pytest.mark.parametrize("n", [2, 3, 5, 10, 30, 100, 1000, 3000, 10_000])
def test_tail_threshold_agrees_with_a_root_finder(n: int) -> None:
    for p in (0.999, 0.5, 0.1, 1e-2, 1e-4, 1e-8, 1e-12):
        root = optimize.brentq(lambda e, p=p: highdim.tail_probability(e, n) - p, 0.0, 1.0,
                               xtol=1e-15, rtol=1e-15, maxiter=500)
        assert abs(highdim.tail_threshold(p, n) - root) <= 1e-14, (n, p)


@FAST
@given(n=st.integers(2, 10**4), p=st.floats(1e-12, 1.0))
def test_tail_threshold_inverts_the_tail(n: int, p: float) -> None:
    """Within one rounding step of eps the tail passes through p (near eps = 1 a float64
    step is coarse: for n = 2 the tail at 1 − 2⁻⁵³ is still about 1e-8)."""
    eps = highdim.tail_threshold(p, n)
    assert 0.0 <= eps <= 1.0
    below, above = math.nextafter(eps, 0.0), min(1.0, math.nextafter(eps, 2.0))
    assert highdim.tail_probability(below, n) >= p * (1 - 1e-8)
    assert highdim.tail_probability(above, n) <= p * (1 + 1e-8)
    if 1e-6 < eps < 1 - 1e-6:
        assert highdim.tail_probability(eps, n) == pytest.approx(p, rel=1e-8)


def test_tail_threshold_special_values() -> None:
    assert highdim.tail_threshold(1.0, 50) == 0.0
    assert highdim.tail_threshold(0.25, 3) == pytest.approx(0.75)  # uniform on [-1, 1]
    with pytest.raises(ValueError, match="p must be > 0"):
        highdim.tail_threshold(0.0, 5)


def test_normal_approximation() -> None:
    t = torch.linspace(-0.2, 0.2, 11, dtype=F64)
    expected = torch.from_numpy(stats.norm.pdf(t.numpy(), scale=1 / math.sqrt(100)))
    torch.testing.assert_close(highdim.normal_density(t, 100), expected)
    assert highdim.normal_tail_probability(0.1, 100) == pytest.approx(2 * stats.norm.sf(1.0))
    # the normal law is a large-n approximation: tails agree to O(1/n) on the √n scale
    for n in (1000, 10_000):
        worst = max(abs(highdim.tail_probability(x / math.sqrt(n), n)
                        - highdim.normal_tail_probability(x / math.sqrt(n), n))
                    for x in (0.5, 1.0, 2.0, 3.0))
        assert worst < 1 / n


@pytest.mark.parametrize("n", [10, 30, 100, 1000, 10_000])
def test_normal_tail_errs_low_near_the_centre_and_high_beyond(n: int) -> None:
    """exact / normal tail > 1 inside ε ≈ √3/√n, < 1 beyond; at most 8.6% high (n = 10)."""
    def ratio(x: float) -> float:
        return (highdim.tail_probability(x / math.sqrt(n), n)
                / highdim.normal_tail_probability(x / math.sqrt(n), n))

    assert all(1 < ratio(x) < 1.087 for x in (0.25, 0.5, 1.0, 1.5, 1.6))
    assert all(ratio(x) < 1 for x in (1.75, 2.0, 3.0) if x < math.sqrt(n))


# ------------------------------------------------------------ many directions
def test_max_abs_cosine_equals_brute_force_loop() -> None:
    m, n = 9, 6
    fast = highdim.max_abs_cosine(m, n, generator=generator(7))
    u = highdim.random_directions(m, n, generator=generator(7))
    assert fast == pytest.approx(highdim.max_abs_pairwise_cosine_loop(u), abs=1e-14)


@FAST
@given(m=st.integers(2, 25), n=st.integers(1, 8), seed=st.integers(0, 2**31 - 1),
       chunk=st.sampled_from([1, 7, 40, 1 << 22]))
def test_pairwise_max_matches_loop_with_any_chunking(m: int, n: int, seed: int,
                                                     chunk: int) -> None:
    u = torch.randn(m, n, generator=generator(seed), dtype=F64) + 0.1
    loop = highdim.max_abs_pairwise_cosine_loop(u)
    assert highdim.max_abs_pairwise_cosine(u, chunk=chunk) == pytest.approx(loop, abs=1e-12)
    running = highdim.running_max_abs_cosine(u, chunk=chunk)
    assert float(running[-1]) == pytest.approx(loop, abs=1e-12)
    for k in range(1, m):
        assert float(running[k]) == pytest.approx(
            highdim.max_abs_pairwise_cosine_loop(u[: k + 1]), abs=1e-12)


def test_exactly_orthogonal_means_at_most_n() -> None:
    """n orthonormal directions reach max |cos| = 0; any n + 1 vectors cannot."""
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=generator(1), dtype=F64))
    assert highdim.max_abs_pairwise_cosine(q.T) < 1e-12
    extra = torch.cat([q.T, torch.randn(1, 6, generator=generator(2), dtype=F64)])
    assert highdim.max_abs_pairwise_cosine(extra) > 0.1  # pigeonhole: ≥ 1/√6 for one row


def test_union_bound_holds_empirically() -> None:
    m, n, delta, trials = 30, 20, 0.2, 400
    eps = highdim.union_bound_epsilon(m, n, delta)
    g = generator(9)
    exceed = sum(highdim.max_abs_cosine(m, n, generator=g) > eps for _ in range(trials))
    # P(max > eps) ≤ delta; allow 6 binomial standard errors
    assert exceed / trials <= delta + 6 * math.sqrt(delta * (1 - delta) / trials)


@FAST
@given(m=st.integers(2, 10**6), n=st.integers(2, 10**4), delta=st.floats(1e-6, 1.0))
def test_union_bound_epsilon_properties(m: int, n: int, delta: float) -> None:
    eps = highdim.union_bound_epsilon(m, n, delta)
    assert 0 <= eps <= 1
    assert eps <= math.sqrt(2 * math.log(m * m / delta) / n) + 1e-9  # via the cap bound
    if eps > 0:
        pairs = m * (m - 1) / 2
        assert pairs * highdim.tail_probability(min(1.0, eps + 1e-9), n) <= delta * (1 + 1e-6)


def test_many_more_than_n_directions_are_nearly_orthogonal() -> None:
    n, m = 200, 2000
    worst = highdim.max_abs_cosine(m, n, generator=generator(4))
    assert worst < highdim.union_bound_epsilon(m, n, 1e-6)
    assert worst < 0.5


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize("call, error, match", [
    (lambda: highdim.random_directions(3, 1), ValueError, "n must be an int >= 2"),
    (lambda: highdim.random_directions(3, 0), ValueError, "n must be an int >= 2"),
    (lambda: highdim.random_directions(3, 2.5), TypeError, "n must be an int"),
    (lambda: highdim.random_directions(3, True), TypeError, "n must be an int"),
    (lambda: highdim.random_directions(0, 3), ValueError, "m must be an int >= 1"),
    (lambda: highdim.random_directions(3.0, 3), TypeError, "m must be an int"),
    (lambda: highdim.random_directions(3, 3, dtype=torch.int64), TypeError,
     "floating-point torch dtype"),
    (lambda: highdim.random_directions(3, 3, generator=7), TypeError, "torch.Generator"),
    (lambda: highdim.random_directions(3, 3, generator=generator(0), device="meta"),
     ValueError, "same device"),
    (lambda: highdim.cosine_samples(0, 3), ValueError, "num must be an int >= 1"),
    (lambda: highdim.cosine_samples(10, 1), ValueError, "n must be an int >= 2"),
    (lambda: highdim.cosine_samples_naive(10, "3"), TypeError, "n must be an int"),
    (lambda: highdim.cosine_density(torch.tensor([0, 1]), 3), TypeError, "floating-point"),
    (lambda: highdim.cosine_density([0.0], 3), TypeError, "torch.Tensor"),
    (lambda: highdim.cosine_density(torch.zeros(2, dtype=F64), 1), ValueError, "n must be"),
    (lambda: highdim.cosine_cdf(torch.tensor([1]), 3), TypeError, "floating-point"),
    (lambda: highdim.normal_density(torch.tensor([1]), 3), TypeError, "floating-point"),
    (lambda: highdim.tail_probability(-0.1, 3), ValueError, r"eps must lie in \[0.0, 1.0\]"),
    (lambda: highdim.tail_probability(1.5, 3), ValueError, r"eps must lie in \[0.0, 1.0\]"),
    (lambda: highdim.tail_probability(math.nan, 3), ValueError, "eps must lie"),
    (lambda: highdim.tail_probability("0.1", 3), TypeError, "eps must be a number"),
    (lambda: highdim.tail_probability(0.1, 1), ValueError, "n must be an int >= 2"),
    (lambda: highdim.tail_bound(2.0, 3), ValueError, "eps must lie"),
    (lambda: highdim.normal_tail_probability(0.1, 2.0), TypeError, "n must be an int"),
    (lambda: highdim.cosine_moment(0, 3), ValueError, "k must be an int >= 1"),
    (lambda: highdim.max_abs_cosine(1, 3), ValueError, "m must be an int >= 2"),
    (lambda: highdim.max_abs_cosine(5, 1), ValueError, "n must be an int >= 2"),
    (lambda: highdim.max_abs_pairwise_cosine(torch.ones(1, 3, dtype=F64)), ValueError,
     "rows m of u must be an int >= 2"),
    (lambda: highdim.max_abs_pairwise_cosine(torch.ones(3, dtype=F64)), ValueError,
     r"shape \(m, n\)"),
    (lambda: highdim.max_abs_pairwise_cosine(torch.ones(2, 3, dtype=torch.int64)), TypeError,
     "floating-point"),
    (lambda: highdim.max_abs_pairwise_cosine(torch.zeros(2, 3, dtype=F64)), ValueError,
     "zero vector"),
    (lambda: highdim.running_max_abs_cosine(torch.zeros(2, 3, dtype=F64)), ValueError,
     "zero vector"),
    (lambda: highdim.union_bound_epsilon(10, 5, 0.0), ValueError, "delta must be > 0"),
    (lambda: highdim.union_bound_epsilon(10, 5, 1.5), ValueError, "delta must lie"),
    (lambda: highdim.union_bound_epsilon(1, 5), ValueError, "m must be an int >= 2"),
])
def test_bad_input_is_refused_clearly(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize(("call", "words"), [
    (lambda: highdim.cosine_moment(10**12, 5), "k = 1000000000000 is too large"),
    (lambda: highdim.random_directions(10**12, 3), "m = 1000000000000 is too large"),
    (lambda: highdim.random_directions(10**5, 10**5), "numbers drawn"),
    (lambda: highdim.cosine_samples(10**12, 3), "num = 1000000000000 is too large"),
    (lambda: highdim.max_abs_cosine(10**12, 3), "m = 1000000000000 is too large"),
    (lambda: highdim.std_table((3,), 10**12), "num = 1000000000000 is too large"),
    (lambda: highdim.sampled_tails(0.1, (3,), 10**12), "num = 1000000000000 is too large"),
])
def test_huge_requests_fail_fast_naming_the_argument(call, words):
    with pytest.raises(ValueError, match=words):
        call()


def test_cosine_moment_of_a_high_order_is_bounded_and_right():
    # E[cos^(2j)] = Γ(j + 1/2) Γ(n/2) / (Γ(1/2) Γ(j + n/2)); j = 500,000 steps run in well under 1 s
    j, n = 500_000, 5
    exact = math.exp(math.lgamma(j + 0.5) + math.lgamma(n / 2) - math.lgamma(0.5)
                     - math.lgamma(j + n / 2))
    assert highdim.cosine_moment(2 * j, n) == pytest.approx(exact, rel=1e-9)
    assert highdim.cosine_moment(4, 5) == pytest.approx(3 / 35)
