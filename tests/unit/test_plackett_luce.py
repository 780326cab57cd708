"""With no DNFs and no regime noise, the finishing order is exact Plackett-Luce (docs/race-model.md,
"Finishing order": running cars ordered by strength + start effect + Gumbel noise).

Six drivers at a superspeedway, 256-scenario chunks: the shape the property tests already compile.
P(i wins) = w_i / W with w_i = exp(strength_i + start_weight * (1 - (start_i - 1) / (D - 1))).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from core.scoring import DRAFTKINGS_SCORING
from core.sim import DEFAULT_PARAMS, DriverInputs, ScenarioSet, generate_scenarios

N_SCENARIOS = 40_000
STRENGTH = np.array([1.2, 0.8, 0.5, 0.0, -0.3, 0.3])
START = np.array([3, 1, 6, 2, 5, 4])
PARAMS = dataclasses.replace(DEFAULT_PARAMS["superspeedway"], regime_order_noise=(1.0, 1.0, 1.0, 1.0))


def pl_weights() -> np.ndarray:
    d = len(STRENGTH)
    score = STRENGTH + PARAMS.start_weight * (1.0 - (START - 1) / (d - 1))
    return np.exp(score)


@pytest.fixture(scope="module")
def pure_pl() -> ScenarioSet:
    zeros = jnp.zeros(len(STRENGTH), jnp.float32)
    inputs = DriverInputs(
        start_position=jnp.asarray(START, jnp.int32),
        strength=jnp.asarray(STRENGTH, jnp.float32),
        lead_bias=zeros,
        speed_bias=zeros,
        dnf_hazard=zeros,
    )
    return generate_scenarios(
        inputs,
        PARAMS,
        key=jax.random.key(20260),
        n_scenarios=N_SCENARIOS,
        race_length=200,
        scoring=DRAFTKINGS_SCORING,
        driver_ids=[f"pl-{i}" for i in range(len(STRENGTH))],
        chunk_size=256,
    )


def z_score(count: int, p: float, n: int) -> float:
    return (count - n * p) / np.sqrt(n * p * (1 - p))


def test_no_dnfs_when_hazard_is_zero(pure_pl: ScenarioSet) -> None:
    assert not pure_pl.dnf.any()


def test_win_frequencies_match_plackett_luce(pure_pl: ScenarioSet) -> None:
    w = pl_weights()
    expected = w / w.sum()
    wins = np.bincount(np.argmin(pure_pl.finish_position, axis=1), minlength=len(w))
    z = np.array([z_score(c, p, N_SCENARIOS) for c, p in zip(wins, expected, strict=True)])
    assert np.abs(z).max() < 4.5, (wins / N_SCENARIOS, expected)
    chi2 = stats.chisquare(wins, N_SCENARIOS * expected)
    assert chi2.pvalue > 1e-4


def test_win_frequencies_reject_the_start_free_model(pure_pl: ScenarioSet) -> None:
    """The start effect is visible: strength alone would be a clearly worse fit (the test has power)."""
    wrong = np.exp(STRENGTH) / np.exp(STRENGTH).sum()
    wins = np.bincount(np.argmin(pure_pl.finish_position, axis=1), minlength=len(STRENGTH))
    assert stats.chisquare(wins, N_SCENARIOS * wrong).pvalue < 1e-6


@pytest.mark.parametrize(("first", "second"), [(0, 3), (3, 5)])
def test_top_two_order_matches_plackett_luce(pure_pl: ScenarioSet, first: int, second: int) -> None:
    w = pl_weights()
    p = w[first] / w.sum() * w[second] / (w.sum() - w[first])
    finish = pure_pl.finish_position
    count = int(((finish[:, first] == 1) & (finish[:, second] == 2)).sum())
    assert abs(z_score(count, p, N_SCENARIOS)) < 4.5, (count / N_SCENARIOS, p)
