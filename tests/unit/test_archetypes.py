"""The default archetype parameters reproduce the archetype targets on a realistic field.

The targets and where they come from: docs/race-model.md, "Archetype targets (Cup results
2017-2024)".

Reference field: the shipped Bristol slate (37 drivers, raw inputs, no ratings), run at each
archetype's median race length. scripts/tune_archetypes.py prints the full comparison.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import pytest

from core.scoring import DRAFTKINGS_SCORING
from core.sim import DEFAULT_PARAMS, driver_inputs, generate_scenarios, race_statistics
from core.sim._params import ArchetypeParams
from core.sitefiles import read_drivers_csv
from core.slate import Driver

SLATE = Path(__file__).resolve().parents[2] / "data/samples/draftkings-bristol-2026.csv"
N_SCENARIOS = 10_000
SEED = 0

# The spec: docs/race-model.md, "Archetype targets (Cup results 2017-2024)".
TABLE = {
    "short": {
        "median_laps": 400, "top1_share_laps_led": 0.45, "leaders_per_race": 7.3,
        "p_most_laps_wins": 0.37, "dnf_rate": 0.11, "dnf_dispersion": 2.0,
        "spearman_start_finish": 0.58,
    },
    "intermediate": {
        "median_laps": 267, "top1_share_laps_led": 0.46, "leaders_per_race": 9.1,
        "p_most_laps_wins": 0.47, "dnf_rate": 0.12, "dnf_dispersion": 2.8,
        "spearman_start_finish": 0.50,
    },
    "road": {
        "median_laps": 90, "top1_share_laps_led": 0.47, "leaders_per_race": 7.3,
        "p_most_laps_wins": 0.63, "dnf_rate": 0.10, "dnf_dispersion": 2.4,
        "spearman_start_finish": 0.49,
    },
    "superspeedway": {
        "median_laps": 191, "top1_share_laps_led": 0.29, "leaders_per_race": 16.3,
        "p_most_laps_wins": 0.23, "dnf_rate": 0.31, "dnf_dispersion": 3.9,
        "spearman_start_finish": 0.13,
    },
}  # fmt: skip

# (kind, size): "abs" is an absolute tolerance, "rel" a fraction of the target.
TOLERANCE = {
    "top1_share_laps_led": ("abs", 0.06),
    "p_most_laps_wins": ("abs", 0.06),
    "spearman_start_finish": ("abs", 0.06),
    "dnf_rate": ("abs", 0.025),
    "leaders_per_race": ("rel", 0.15),
    "dnf_dispersion": ("rel", 0.35),
}


@pytest.fixture(scope="module")
def drivers() -> list[Driver]:
    return read_drivers_csv(SLATE)


def simulate(drivers: list[Driver], params: ArchetypeParams, race_length: int) -> dict[str, float]:
    scenarios = generate_scenarios(
        driver_inputs(drivers, params, use_ratings=False),
        params,
        key=jax.random.key(SEED),
        n_scenarios=N_SCENARIOS,
        race_length=race_length,
        scoring=DRAFTKINGS_SCORING,
        driver_ids=[d.driver_id for d in drivers],
    )
    return race_statistics(scenarios).as_dict()


def misses(archetype: str, stats: dict[str, float]) -> list[str]:
    """Statistics outside their tolerance, as messages."""
    out = []
    for stat, (kind, size) in TOLERANCE.items():
        target, value = TABLE[archetype][stat], stats[stat]
        allowed = size * target if kind == "rel" else size
        if abs(value - target) > allowed:
            out.append(f"{stat}: {value:.3f} vs {target} (tolerance {allowed:.3f})")
    return out


@pytest.mark.parametrize("archetype", list(TABLE))
def test_defaults_reproduce_design_table(archetype: str, drivers: list[Driver]) -> None:
    stats = simulate(drivers, DEFAULT_PARAMS[archetype], TABLE[archetype]["median_laps"])
    assert misses(archetype, stats) == []


def test_a_clearly_wrong_value_fails(drivers: list[Driver]) -> None:
    """The check has teeth: doubling the DNF hazard breaks the intermediate table."""
    params = dataclasses.replace(DEFAULT_PARAMS["intermediate"], dnf_hazard=0.25)
    stats = simulate(drivers, params, TABLE["intermediate"]["median_laps"])
    assert any(m.startswith("dnf_rate") for m in misses("intermediate", stats))
