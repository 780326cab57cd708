"""Per-driver residual diagnostics: a model checked on its own simulated races lands inside its
null band, and a model whose drivers' speeds are wrong does not."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest

from core.calibration import RaceResiduals, race_residuals, residual_diagnostics
from core.scoring import DRAFTKINGS_SCORING
from core.sim import DEFAULT_PARAMS, DriverInputs, ScenarioSet, driver_inputs, generate_scenarios
from tests.fields import make_field

N_RACES = 30
N_SCENARIOS = 300
LENGTH = 300


def _races(truth: DriverInputs, forecast: DriverInputs) -> list[RaceResiduals]:
    """Each race's result is one scenario of `truth`; its forecast, scenarios of `forecast`."""
    ids = [f"d{i}" for i in range(truth.strength.shape[0])]
    races = []
    for race in range(N_RACES):
        key = jax.random.key(race)
        result = _simulate(truth, ids, key=jax.random.fold_in(key, 1))
        actual = np.stack([result.points[0], result.fastest_laps[0], result.laps_led[0]]).astype(float)
        scenarios = _simulate(forecast, ids, key=jax.random.fold_in(key, 0))
        races.append(race_residuals("short", ids, scenarios, actual, key=jax.random.fold_in(key, 2)))
    return races


def _simulate(inputs: DriverInputs, ids: list[str], *, key: jax.Array) -> ScenarioSet:
    return generate_scenarios(
        inputs,
        DEFAULT_PARAMS["short"],
        key=key,
        n_scenarios=N_SCENARIOS,
        race_length=LENGTH,
        scoring=DRAFTKINGS_SCORING,
        driver_ids=ids,
    )


@pytest.fixture(scope="module")
def field_inputs() -> DriverInputs:
    return driver_inputs(make_field(14, seed=4), DEFAULT_PARAMS["short"], use_ratings=False)


def test_model_checked_on_its_own_races_lands_inside_its_null_band(field_inputs) -> None:
    report = residual_diagnostics(_races(field_inputs, field_inputs))
    assert report["n_null_draws"] == 200
    assert len(report["groups"]) == 14 and all(g["n_races"] == N_RACES for g in report["groups"])
    for stat in ("dk_points", "fastest_laps", "laps_led"):
        counts = report[stat]["by_archetype"]["short"]
        assert counts["n_groups"] == 14
        assert counts["observed"] <= counts["null_p95"], (stat, counts)
        assert counts["null_median"] <= counts["null_p95"] < 14


def test_wrong_driver_speeds_show_above_the_null_band(field_inputs) -> None:
    # The forecast gives half the field +1.5 and half -1.5 of log-weight for fastest laps.
    shift = np.where(np.arange(14) % 2 == 0, 1.5, -1.5).astype(np.float32)
    wrong = field_inputs._replace(speed_bias=field_inputs.speed_bias + shift)
    report = residual_diagnostics(_races(field_inputs, wrong))
    counts = report["fastest_laps"]["overall"]
    assert counts["observed"] > counts["null_p95"], counts
    by_driver = {g["driver"]: g["fastest_laps"]["mean_residual"] for g in report["groups"]}
    assert by_driver["d0"] > 0 > by_driver["d1"]  # forecast too many, too few


def test_races_without_fastest_laps_count_only_laps_led(field_inputs) -> None:
    races = _races(field_inputs, field_inputs)[:6]
    blind = [dataclasses.replace(r, actual=r.actual * np.asarray([[np.nan], [np.nan], [1.0]])) for r in races]
    report = residual_diagnostics(blind)
    assert report["fastest_laps"]["overall"]["n_groups"] == 0
    assert report["laps_led"]["overall"]["n_groups"] == 14
