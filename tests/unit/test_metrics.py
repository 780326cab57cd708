"""Forecast scores of core.calibration: scoringrules as the reference, hand cases, NumPy references.

scoringrules is only needed by the reference tests (the `sr` fixture skips them without it).
Shapes are kept few and small so that the whole file compiles and runs in a few seconds.
"""

from __future__ import annotations

from types import ModuleType

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from core.calibration import (
    LOG_FLOOR,
    central_interval,
    crps_samples,
    interval_coverage,
    log_score,
    outcome_probabilities,
    pit,
    pit_histogram,
    ranked_probability_score,
    reliability_curve,
)
from core.errors import InvalidInput


@pytest.fixture(scope="module")
def sr() -> ModuleType:
    return pytest.importorskip("scoringrules")


def positions(rng: np.random.Generator, probs: np.ndarray, n_samples: int) -> np.ndarray:
    """Integer outcomes 1..K, n_samples per row of `probs` [rows, K], by inverse CDF."""
    cumulative = np.cumsum(probs, axis=-1)
    u = rng.random((probs.shape[0], n_samples))
    index = (u[..., None] >= cumulative[:, None, :]).sum(-1)
    return np.minimum(index, probs.shape[-1] - 1) + 1


def crps_reference(samples: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """The energy form in float64 with the sorted O(M log M) spread term."""
    x = np.sort(samples.astype(np.float64), axis=-1)
    m = x.shape[-1]
    weights = 2 * np.arange(1, m + 1) - m - 1
    spread = 2 * np.sum(weights * x, axis=-1) / (2 * m**2)
    return np.mean(np.abs(x - observed[..., None]), axis=-1) - spread


# CRPS ----------------------------------------------------------------------------------------


def test_crps_matches_scoringrules_energy_estimator(sr: ModuleType) -> None:
    rng = np.random.default_rng(0)
    fct = rng.normal(30.0, 10.0, (4, 6, 64)).astype(np.float32)
    obs = rng.normal(30.0, 12.0, (4, 6)).astype(np.float32)
    fct[0, 0] = 7.0  # a point mass
    obs[1, 1] = 200.0  # far outside the samples
    ref = sr.crps_ensemble(obs.astype(np.float64), fct.astype(np.float64), estimator="nrg", backend="numpy")
    got = np.asarray(crps_samples(jnp.asarray(fct), jnp.asarray(obs)))
    assert got.shape == (4, 6) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=2e-6, atol=2e-5)


def test_crps_of_positions_matches_scoringrules_with_ties(sr: ModuleType) -> None:
    rng = np.random.default_rng(1)
    fct = rng.integers(1, 41, (3, 40, 100)).astype(np.int8)
    obs = rng.integers(1, 41, (3, 40))
    ref = sr.crps_ensemble(obs.astype(np.float64), fct.astype(np.float64), estimator="nrg", backend="numpy")
    np.testing.assert_allclose(np.asarray(crps_samples(jnp.asarray(fct), obs)), ref, rtol=2e-6, atol=1e-5)


def test_crps_relation_to_scoringrules_fair_estimator(sr: ModuleType) -> None:
    """scoringrules' "fair" (and "pwm") estimator divides the spread by M(M-1), not M^2:
    fair = nrg - (mean|X - y| - nrg) / (M - 1)."""
    rng = np.random.default_rng(2)
    fct = rng.normal(size=(8, 20))
    obs = rng.normal(size=8)
    ours = np.asarray(crps_samples(jnp.asarray(fct, jnp.float32), jnp.asarray(obs, jnp.float32)))
    mean_abs = np.mean(np.abs(fct - obs[:, None]), axis=-1)
    fair = sr.crps_ensemble(obs, fct, estimator="fair", backend="numpy")
    np.testing.assert_allclose(ours - (mean_abs - ours) / 19, fair, rtol=1e-5, atol=1e-6)
    assert np.all(fair < ours)


@pytest.mark.parametrize(
    ("samples", "observed", "expected"),
    [
        ([1.0, 2.0, 3.0], 2.0, 2 / 3 - 8 / 18),
        ([3.0, 1.0, 2.0], 2.0, 2 / 3 - 8 / 18),  # order does not matter
        ([1.0, 2.0, 3.0], 10.0, 8 - 8 / 18),  # above every sample
        ([1.0, 2.0, 3.0], -1.0, 3 - 8 / 18),  # below every sample
        ([4.0, 4.0, 4.0, 4.0], 1.5, 2.5),  # a point mass scores |x - y|
        ([4.0, 4.0, 4.0, 4.0], 4.0, 0.0),
        ([0.0, 0.0, 10.0, 10.0], 5.0, 5.0 - 2.5),
    ],
)
def test_crps_hand_cases(samples: list[float], observed: float, expected: float) -> None:
    assert float(crps_samples(jnp.asarray(samples), observed)) == pytest.approx(expected, abs=1e-6)


def test_crps_float32_keeps_precision_at_large_m() -> None:
    """Tight samples far from zero: the textbook sum of (2i - M - 1) x_(i) cancels badly in
    float32, the non-negative decomposition does not."""
    rng = np.random.default_rng(3)
    fct = (250.0 + rng.normal(0.0, 0.5, (2, 50_000))).astype(np.float32)
    obs = np.array([250.2, 251.5], np.float32)
    ref = crps_reference(fct, obs.astype(np.float64))
    np.testing.assert_allclose(np.asarray(crps_samples(jnp.asarray(fct), jnp.asarray(obs))), ref, rtol=1e-6)


# Outcome probabilities, log score, RPS ----------------------------------------------------------


def test_outcome_probabilities_hand_case_and_prior() -> None:
    samples = jnp.asarray([1, 1, 2, 3, 3, 3], jnp.int8)
    np.testing.assert_allclose(outcome_probabilities(samples, 4), [2 / 6, 1 / 6, 3 / 6, 0.0], atol=1e-7)
    np.testing.assert_allclose(
        outcome_probabilities(samples, 4, prior=1.0), [3 / 10, 2 / 10, 4 / 10, 1 / 10], atol=1e-7
    )


def test_outcome_probabilities_match_bincount_in_batches() -> None:
    rng = np.random.default_rng(4)
    samples = rng.integers(1, 13, (3, 12, 200)).astype(np.int8)
    got = np.asarray(outcome_probabilities(jnp.asarray(samples), 12, prior=0.5))
    assert got.shape == (3, 12, 12)
    for race in range(3):
        for driver in range(12):
            counts = np.bincount(samples[race, driver].astype(int) - 1, minlength=12)
            np.testing.assert_allclose(got[race, driver], (counts + 0.5) / (200 + 0.5 * 12), rtol=1e-6)
    np.testing.assert_allclose(got.sum(-1), 1.0, rtol=1e-6)


def test_outcome_probabilities_edge_cases() -> None:
    all_equal = jnp.full((5,), 2)
    np.testing.assert_array_equal(outcome_probabilities(all_equal, 3), [0.0, 1.0, 0.0])
    # Outside 1..K is not counted, so the frequencies no longer sum to 1.
    np.testing.assert_allclose(outcome_probabilities(jnp.asarray([0, 1, 4]), 3), [1 / 3, 0.0, 0.0])


def test_log_score_matches_scoringrules_binary_form(sr: ModuleType) -> None:
    rng = np.random.default_rng(5)
    probs = rng.dirichlet(np.ones(20), size=(3, 4)).astype(np.float32)
    winner = rng.integers(0, 20, (3, 4))
    # scoringrules scores the event "this outcome happened" (obs=1) with its probability.
    p_winner = np.take_along_axis(probs, winner[..., None], -1)[..., 0].astype(np.float64)
    ref = sr.log_score(np.ones_like(p_winner), p_winner, backend="numpy")
    np.testing.assert_allclose(np.asarray(log_score(jnp.asarray(probs), winner)), ref, rtol=1e-5)


def test_log_score_hand_cases_and_floor() -> None:
    probs = jnp.asarray([0.5, 0.25, 0.25, 0.0])
    assert float(log_score(probs, 0)) == pytest.approx(np.log(2.0), rel=1e-6)
    assert float(log_score(probs, 1)) == pytest.approx(np.log(4.0), rel=1e-6)
    ruled_out = float(log_score(probs, 3))
    assert np.isfinite(ruled_out) and ruled_out == pytest.approx(-np.log(LOG_FLOOR), rel=1e-5)
    assert float(log_score(jnp.asarray([0.0, 1.0]), 1)) == 0.0
    assert np.isnan(float(log_score(probs, 4)))  # no such outcome: NaN, not a silent clamp


def test_rps_matches_scoringrules(sr: ModuleType) -> None:
    rng = np.random.default_rng(6)
    probs = rng.dirichlet(np.ones(12), size=(5, 7))
    obs = rng.integers(1, 13, (5, 7))
    ref = sr.rps_score(obs, probs, backend="numpy")  # un-normalised, categories 1..K
    p32 = jnp.asarray(probs, jnp.float32)
    np.testing.assert_allclose(np.asarray(ranked_probability_score(p32, obs)), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        np.asarray(ranked_probability_score(p32, obs, normalise=True)), ref / 11, rtol=1e-5, atol=1e-7
    )


def test_rps_hand_cases() -> None:
    probs = jnp.asarray([0.1, 0.2, 0.3, 0.4])
    # F = .1 .3 .6 1; obs 3: .01 + .09 + .16 + 0 = .26 (scoringrules' documented example).
    assert float(ranked_probability_score(probs, 3)) == pytest.approx(0.26, abs=1e-6)
    assert float(ranked_probability_score(probs, 3, normalise=True)) == pytest.approx(0.26 / 3, abs=1e-6)
    assert float(ranked_probability_score(jnp.asarray([0.0, 0.0, 1.0, 0.0]), 3)) == 0.0
    worst = jnp.asarray([1.0, 0.0, 0.0, 0.0])
    assert float(ranked_probability_score(worst, 4)) == pytest.approx(3.0)
    assert float(ranked_probability_score(worst, 4, normalise=True)) == pytest.approx(1.0)


def test_rps_normalise_needs_two_outcomes() -> None:
    assert float(ranked_probability_score(jnp.asarray([1.0]), 1)) == 0.0
    with pytest.raises(InvalidInput, match="probabilities"):
        ranked_probability_score(jnp.asarray([1.0]), 1, normalise=True)


def test_rps_of_sample_frequencies_equals_crps_of_integer_samples() -> None:
    """On unit-spaced outcomes 1..K the CRPS integral is the RPS sum, piece by piece."""
    rng = np.random.default_rng(7)
    samples = jnp.asarray(rng.integers(1, 11, (6, 300)), jnp.int32)
    obs = jnp.asarray(rng.integers(1, 11, 6))
    rps = ranked_probability_score(outcome_probabilities(samples, 10), obs)
    np.testing.assert_allclose(np.asarray(rps), np.asarray(crps_samples(samples, obs)), rtol=1e-5, atol=1e-6)


# Central intervals -------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [0.5, 0.8, 0.9])
def test_central_interval_matches_numpy_inverted_cdf(level: float) -> None:
    rng = np.random.default_rng(8)
    floats = rng.gamma(2.0, 15.0, (3, 7, 101)).astype(np.float32)
    ints = rng.integers(1, 41, (3, 7, 100)).astype(np.int8)
    for samples in (floats, ints):
        lower, upper = central_interval(jnp.asarray(samples), level)
        assert lower.dtype == samples.dtype and lower.shape == (3, 7)
        ref = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2], axis=-1, method="inverted_cdf")
        np.testing.assert_array_equal(np.asarray(lower), ref[0])
        np.testing.assert_array_equal(np.asarray(upper), ref[1])


def test_central_interval_hand_cases() -> None:
    one_to_twenty = jnp.arange(1, 21)
    assert tuple(map(int, central_interval(one_to_twenty, 0.9))) == (1, 19)  # F(1) = .05, F(19) = .95
    assert tuple(map(int, central_interval(one_to_twenty, 1.0))) == (1, 20)
    assert tuple(map(int, central_interval(one_to_twenty, 0.0))) == (10, 10)  # the lower median
    # M (1 - level)/2 = 1.0000000000000009 in floats; F(1) = 1/40 already reaches 0.025.
    assert tuple(map(int, central_interval(jnp.arange(1, 41), 0.95))) == (1, 39)
    assert tuple(map(int, central_interval(jnp.full((9,), 7), 0.5))) == (7, 7)


def test_interval_coverage_hand_cases() -> None:
    samples = jnp.broadcast_to(jnp.arange(1, 21), (6, 20))
    observed = jnp.asarray([0, 1, 10, 19, 20, 25])
    np.testing.assert_array_equal(
        np.asarray(interval_coverage(samples, observed, 0.9)), [False, True, True, True, False, False]
    )
    point_mass = jnp.full((2, 5), 3.0)
    np.testing.assert_array_equal(
        np.asarray(interval_coverage(point_mass, jnp.asarray([3.0, 3.5]), 0.8)), [True, False]
    )


def test_level_outside_unit_interval_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="level"):
        central_interval(jnp.arange(5), 1.5)
    with pytest.raises(InvalidInput, match="level"):
        interval_coverage(jnp.arange(5), 2, -0.1)


@pytest.mark.parametrize("level", [0.5, 0.8, 0.9])
def test_inclusive_intervals_cover_at_least_the_level_for_discrete_outcomes(level: float) -> None:
    """With samples whose frequencies are exactly the forecast, the inclusive interval holds at
    least `level` of the forecast's probability (strictly more, as F jumps past the levels)."""
    rng = np.random.default_rng(9)
    n_samples, n_outcomes = 1000, 12
    counts = rng.multinomial(n_samples, rng.dirichlet(np.ones(n_outcomes)), size=200)
    samples = np.stack([np.repeat(np.arange(1, n_outcomes + 1), row) for row in counts])
    lower, upper = (np.asarray(bound) for bound in central_interval(jnp.asarray(samples), level))
    outcomes = np.arange(1, n_outcomes + 1)
    inside = (outcomes >= lower[:, None]) & (outcomes <= upper[:, None])
    held = (counts * inside).sum(-1) / n_samples
    assert held.min() >= level
    assert held.mean() > level + 0.02


# PIT ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observed", "u", "expected"),
    [
        (2.0, 0.0, 0.25),
        (2.0, 0.5, 0.5),
        (2.0, 1.0, 0.75),
        (2.5, 0.3, 0.75),  # no tie: the plain PIT F(y)
        (0.0, 0.7, 0.0),
        (9.0, 0.7, 1.0),
    ],
)
def test_pit_hand_cases(observed: float, u: float, expected: float) -> None:
    samples = jnp.asarray([1.0, 2.0, 2.0, 3.0])
    assert float(pit(samples, observed, u)) == pytest.approx(expected, abs=1e-7)


def test_pit_of_continuous_samples_is_the_plain_pit() -> None:
    rng = np.random.default_rng(10)
    samples = rng.normal(size=(50, 40)).astype(np.float32)
    obs = rng.normal(size=50).astype(np.float32)
    u = rng.random(50).astype(np.float32)
    np.testing.assert_allclose(np.asarray(pit(samples, obs, u)), np.mean(samples <= obs[:, None], axis=-1))


def test_pit_point_mass_is_u() -> None:
    u = jnp.asarray([0.1, 0.6, 0.9])
    np.testing.assert_allclose(np.asarray(pit(jnp.full((3, 8), 5), jnp.asarray([5, 5, 5]), u)), u)


def test_pit_of_calibrated_discrete_forecasts_is_flat() -> None:
    rng = np.random.default_rng(11)
    n_forecasts, n_outcomes = 4000, 8
    probs = rng.dirichlet(np.full(n_outcomes, 2.0), size=n_forecasts)
    samples = jnp.asarray(positions(rng, probs, 500), jnp.int8)
    obs = jnp.asarray(positions(rng, probs, 1)[:, 0])
    u = jax.random.uniform(jax.random.key(0), (n_forecasts,))
    hist = np.asarray(pit_histogram(pit(samples, obs, u), n_bins=10))
    assert hist.sum() == pytest.approx(1.0)
    assert stats.chisquare(hist * n_forecasts).pvalue > 0.01
    # Controls that the check can fail: no randomisation, and a forecast shifted one place.
    unrandomised = np.asarray(pit_histogram(pit(samples, obs, jnp.ones(n_forecasts)), n_bins=10))
    assert stats.chisquare(unrandomised * n_forecasts).pvalue < 1e-6
    shifted = np.asarray(pit_histogram(pit(samples + 1, obs, u), n_bins=10))
    assert stats.chisquare(shifted * n_forecasts).pvalue < 1e-6


def test_pit_histogram_bins() -> None:
    values = jnp.asarray([0.0, 0.05, 0.15, 0.99, 1.0])
    expected = np.zeros(10)
    expected[[0, 1, 9]] = [0.4, 0.2, 0.4]
    np.testing.assert_allclose(np.asarray(pit_histogram(values)), expected, atol=1e-7)
    pooled = pit_histogram(jnp.asarray([[0.0, 0.25], [0.6, 1.0]]), n_bins=4)
    np.testing.assert_allclose(np.asarray(pooled), [0.25, 0.25, 0.25, 0.25])


# Reliability -------------------------------------------------------------------------------------


def test_reliability_curve_hand_case() -> None:
    probs = jnp.asarray([0.05, 0.15, 0.12, 1.0])
    hit = jnp.asarray([False, True, False, True])
    mean_forecast, frequency, count = reliability_curve(probs, hit, n_bins=5)
    np.testing.assert_array_equal(np.asarray(count), [3, 0, 0, 0, 1])
    np.testing.assert_allclose(np.asarray(mean_forecast)[[0, 4]], [0.32 / 3, 1.0], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(frequency)[[0, 4]], [1 / 3, 1.0], rtol=1e-6)
    assert np.isnan(np.asarray(mean_forecast)[1:4]).all() and np.isnan(np.asarray(frequency)[1:4]).all()


def test_reliability_curve_matches_numpy_and_calibrated_forecasts_lie_on_the_diagonal() -> None:
    rng = np.random.default_rng(12)
    probs = rng.beta(0.6, 1.5, (40, 500)).astype(np.float32)
    hit = rng.random((40, 500)) < probs
    mean_forecast, frequency, count = (np.asarray(a) for a in reliability_curve(probs, hit, n_bins=10))
    index = np.minimum((probs.ravel() * 10).astype(int), 9)
    ref_count = np.bincount(index, minlength=10)
    np.testing.assert_array_equal(count, ref_count)
    assert count.sum() == probs.size
    for b in range(10):
        np.testing.assert_allclose(mean_forecast[b], probs.ravel()[index == b].mean(), rtol=1e-5)
        np.testing.assert_allclose(frequency[b], hit.ravel()[index == b].mean(), rtol=1e-5)
    standard_error = np.sqrt(mean_forecast * (1 - mean_forecast) / count)
    assert np.all(np.abs(frequency - mean_forecast) < 4 * standard_error + 1e-3)


# Batching ----------------------------------------------------------------------------------------


def test_batched_calls_equal_per_row_calls() -> None:
    rng = np.random.default_rng(13)
    samples = rng.integers(1, 9, (2, 3, 30)).astype(np.int32)
    obs = rng.integers(1, 9, (2, 3)).astype(np.int32)
    u = rng.random((2, 3)).astype(np.float32)
    probs = np.asarray(outcome_probabilities(samples, 8, prior=0.1))

    def scores(s: np.ndarray, y: np.ndarray, v: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
        lower, upper = central_interval(s, 0.8)
        named = {
            "probs": outcome_probabilities(s, 8, prior=0.1),
            "crps": crps_samples(s, y),
            "pit": pit(s, y, v),
            "coverage": interval_coverage(s, y, 0.8),
            "lower": lower,
            "upper": upper,
            "log": log_score(p, y - 1),
            "rps": ranked_probability_score(p, y),
        }
        return {name: np.asarray(value) for name, value in named.items()}

    batched = scores(samples, obs, u, probs)
    assert all(value.shape[:2] == (2, 3) for value in batched.values())
    for i in range(2):
        for j in range(3):
            row = scores(samples[i, j], obs[i, j], u[i, j], probs[i, j])
            for name, value in row.items():
                np.testing.assert_allclose(batched[name][i, j], value, rtol=1e-6, err_msg=name)
    # vmap over the leading axis gives the same as the batched call.
    np.testing.assert_allclose(np.asarray(jax.vmap(crps_samples)(samples, obs)), batched["crps"])
    # A scalar observation broadcasts over the batch.
    np.testing.assert_allclose(
        np.asarray(crps_samples(samples, 4)), np.asarray(crps_samples(samples, np.full((2, 3), 4)))
    )
