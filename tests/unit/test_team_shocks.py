"""Teammates share a pace shock per race (ArchetypeParams.team_shock, fitted from history).

A shared shock cancels out of a teammate pair's comparison and widens every other pair's, so the
exact statement is about pairwise orders: with no DNFs and no regime noise, teammates i and j keep
the Plackett-Luce odds P(i ahead of j) = logistic(score_i - score_j), while drivers of different
teams get P(score_i - score_j + L + Z > 0) with L logistic and Z normal of variance 2 x shock^2.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from core.scoring import DRAFTKINGS_SCORING
from core.sim import DEFAULT_PARAMS, DriverInputs, driver_inputs, generate_scenarios
from core.sim._params import team_members
from core.slate import Driver, FittedRatings

N_SCENARIOS = 40_000
STRENGTH = np.array([1.0, 0.0, -0.5, 0.8, -0.2, 0.3])
TEAMS = ["A", "A", "A", "B", "B", ""]  # driver 5 has no known team: a team of its own
SHOCK = 1.0
PARAMS = dataclasses.replace(
    DEFAULT_PARAMS["superspeedway"],
    regime_order_noise=(1.0, 1.0, 1.0, 1.0),
    start_weight=0.0,
    team_shock=SHOCK,
)


def finishes(members: jax.Array | None, params=PARAMS) -> np.ndarray:
    zeros = jnp.zeros(len(STRENGTH), jnp.float32)
    inputs = DriverInputs(
        start_position=jnp.arange(1, len(STRENGTH) + 1, dtype=jnp.int32),
        strength=jnp.asarray(STRENGTH, jnp.float32),
        lead_bias=zeros,
        speed_bias=zeros,
        dnf_hazard=zeros,
        team_members=members,
    )
    scenarios = generate_scenarios(
        inputs,
        params,
        key=jax.random.key(7),
        n_scenarios=N_SCENARIOS,
        race_length=200,
        scoring=DRAFTKINGS_SCORING,
        driver_ids=[f"d{i}" for i in range(len(STRENGTH))],
        chunk_size=8192,
    )
    return scenarios.finish_position


@pytest.fixture(scope="module")
def shocked() -> np.ndarray:
    return finishes(team_members(TEAMS))


def p_ahead(difference: float, shock: float) -> float:
    """P(difference + L + Z > 0), L standard logistic, Z ~ N(0, 2 shock^2)."""
    if shock == 0:
        return float(1 / (1 + np.exp(-difference)))
    sd = np.sqrt(2) * shock
    integrand = lambda z: stats.norm.pdf(z, scale=sd) / (1 + np.exp(-(difference + z)))  # noqa: E731
    return float(integrate.quad(integrand, -12 * sd, 12 * sd)[0])


def z_score(ahead: np.ndarray, p: float) -> float:
    return float((ahead.sum() - ahead.size * p) / np.sqrt(ahead.size * p * (1 - p)))


@pytest.mark.parametrize(("i", "j"), [(0, 1), (0, 2), (3, 4)])
def test_teammates_keep_plackett_luce_pairwise_odds(shocked: np.ndarray, i: int, j: int) -> None:
    ahead = shocked[:, i] < shocked[:, j]
    assert abs(z_score(ahead, p_ahead(STRENGTH[i] - STRENGTH[j], 0.0))) < 4.5


@pytest.mark.parametrize(("i", "j"), [(0, 3), (1, 4), (3, 5), (2, 5)])
def test_other_pairs_get_the_shocks_of_both_teams(shocked: np.ndarray, i: int, j: int) -> None:
    ahead = shocked[:, i] < shocked[:, j]
    difference = STRENGTH[i] - STRENGTH[j]
    assert abs(z_score(ahead, p_ahead(difference, SHOCK))) < 4.5
    if abs(difference) > 0.5:  # the test has power: the shock-free odds are clearly rejected
        assert abs(z_score(ahead, p_ahead(difference, 0.0))) > 6


def test_teammates_finishes_correlate_more_and_a_zero_shock_changes_nothing(shocked: np.ndarray) -> None:
    calm_params = dataclasses.replace(PARAMS, team_shock=0.0)
    calm = finishes(None, calm_params)
    np.testing.assert_array_equal(finishes(team_members(TEAMS), calm_params), calm)
    with_shocks, without = np.corrcoef(shocked.T), np.corrcoef(calm.T)
    for i, j in [(0, 1), (0, 2), (3, 4)]:
        assert with_shocks[i, j] > without[i, j] + 0.05
    for i, j in [(0, 3), (1, 5)]:
        assert with_shocks[i, j] < without[i, j]


def test_team_members_are_one_hot_with_unknown_teams_alone() -> None:
    members = np.asarray(team_members(["A", "", "B", "A", ""]))
    assert members.shape == (5, 5)  # a column per driver: shapes depend on the field size only
    np.testing.assert_array_equal(members.sum(axis=1), 1)
    np.testing.assert_array_equal(members.sum(axis=0), [2, 1, 1, 1, 0])
    assert (members[0] == members[3]).all() and not (members[1] == members[4]).all()


def test_driver_inputs_use_teams_only_from_fitted_ratings_with_a_positive_shock() -> None:
    def driver(i: int, team: str) -> Driver:
        ratings = FittedRatings(strength=0.0, dominance=0.0, speed=0.0, dnf_rate=0.1, team=team)
        return Driver(f"d{i}", f"D {i}", 5000, i + 1, 0.5, 0.5, 0.5, ratings)

    field = [driver(0, "A"), driver(1, "A"), driver(2, "")]
    assert np.asarray(driver_inputs(field, PARAMS, use_ratings=True).team_members).sum(axis=0).tolist() == [
        2,
        1,
        0,
    ]
    assert driver_inputs(field, PARAMS, use_ratings=False).team_members is None
    assert (
        driver_inputs(field, dataclasses.replace(PARAMS, team_shock=0.0), use_ratings=True).team_members
        is None
    )
    nobody = [driver(i, "") for i in range(3)]
    assert driver_inputs(nobody, PARAMS, use_ratings=True).team_members is None
