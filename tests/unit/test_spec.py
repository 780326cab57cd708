"""ConstraintSpec is canonical (order never matters) and its hash changes with every value."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from typing import Any

import pytest

from core.sim import PARAMS_VERSION
from core.slate import Driver, Track
from core.spec import ConstraintSpec, LapsLed, RunConfig


def conditions_for(drivers: list[Driver]) -> dict[str, LapsLed]:
    """Conditions on the two smallest ids, so a shuffled field gets the same ones."""
    first, second = sorted(d.driver_id for d in drivers)[:2]
    return {first: LapsLed(min_laps_led=3), second: LapsLed(max_laps_led=40)}


def base_spec(drivers: list[Driver], track: Track, **overrides: Any) -> ConstraintSpec:
    options: dict[str, Any] = {"n_scenarios": 1000, "conditions": conditions_for(drivers)} | overrides
    return ConstraintSpec.compile(drivers, track, **options)


def bump(drivers: list[Driver], **changes: Any) -> list[Driver]:
    return [dataclasses.replace(drivers[0], **changes), *drivers[1:]]


def test_hash_ignores_driver_order(field12: list[Driver], short_track: Track) -> None:
    shuffled = list(field12)
    random.Random(3).shuffle(shuffled)
    assert shuffled != field12
    assert base_spec(shuffled, short_track).hash == base_spec(field12, short_track).hash


def test_hash_ignores_condition_order(field12: list[Driver], short_track: Track) -> None:
    forward = conditions_for(field12)
    backward = dict(reversed(list(forward.items())))
    assert list(forward) != list(backward)
    assert base_spec(field12, short_track, conditions=backward).hash == base_spec(field12, short_track).hash


def test_hash_ignores_int_versus_float_inputs(field12: list[Driver], short_track: Track) -> None:
    as_int = bump(field12, skill=1)
    as_float = bump(field12, skill=1.0)
    assert base_spec(as_int, short_track).hash == base_spec(as_float, short_track).hash


def test_hash_is_sha256_hex(field12: list[Driver], short_track: Track) -> None:
    digest = base_spec(field12, short_track).hash
    assert len(digest) == 64 and int(digest, 16) >= 0


def changed_condition(drivers: list[Driver], **bounds: int) -> dict[str, LapsLed]:
    conditions = conditions_for(drivers)
    first = min(conditions)
    return conditions | {first: LapsLed(**({"min_laps_led": 3} | bounds))}


CHANGES: dict[str, Callable[[list[Driver], Track], ConstraintSpec]] = {
    "salary+1": lambda d, t: base_spec(bump(d, salary=d[0].salary + 1), t),
    "skill+1e-6": lambda d, t: base_spec(bump(d, skill=d[0].skill + 1e-6), t),
    "aggression": lambda d, t: base_spec(bump(d, aggression=d[0].aggression / 2), t),
    "name": lambda d, t: base_spec(bump(d, name="Someone Else"), t),
    "condition min": lambda d, t: base_spec(d, t, conditions=changed_condition(d, min_laps_led=4)),
    "condition max": lambda d, t: base_spec(d, t, conditions=changed_condition(d, max_laps_led=41)),
    "condition dropped": lambda d, t: base_spec(d, t, conditions={}),
    "site": lambda d, t: base_spec(d, t, site="fanduel"),
    "n_scenarios": lambda d, t: base_spec(d, t, n_scenarios=1001),
    "race_length": lambda d, t: base_spec(d, t, race_length=199),
    "calibration": lambda d, t: base_spec(d, t, calibration_enabled=True),
    "min_acceptance": lambda d, t: base_spec(d, t, min_acceptance=0.01),
    "track": lambda d, t: base_spec(d, dataclasses.replace(t, track_id="other-short")),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_hash_changes_with_every_value(field12: list[Driver], short_track: Track, change: str) -> None:
    assert CHANGES[change](field12, short_track).hash != base_spec(field12, short_track).hash


def test_spec_lists_drivers_by_id(field12: list[Driver], short_track: Track) -> None:
    spec = base_spec(field12, short_track)
    ids = [d.driver_id for d in spec.drivers]
    assert ids == sorted(d.driver_id for d in field12)
    assert [d.driver_id for d in spec.field()] == ids
    by_id = {d.driver_id: d for d in field12}
    assert all(d == by_id[d.driver_id] for d in spec.field())


def test_conditions_compile_to_per_driver_bounds(field12: list[Driver], short_track: Track) -> None:
    spec = base_spec(field12, short_track)
    bounds = [(d.min_laps_led, d.max_laps_led) for d in spec.drivers]
    assert bounds[:3] == [(3, 200), (0, 40), (0, 200)]
    assert all(b == (0, 200) for b in bounds[2:])


def test_run_config_carries_hash_seed_and_versions(field12: list[Driver], short_track: Track) -> None:
    spec = base_spec(field12, short_track)
    config = RunConfig.for_spec(spec, seed=17)
    assert config.spec_hash == spec.hash
    assert config.seed == 17
    assert config.n_scenarios == 1000
    assert config.params_version == PARAMS_VERSION
    assert {"jax", "numpy", "msgspec"} <= set(config.package_versions)


def test_a_custom_site_rule_set_is_the_one_the_lineup_model_uses(field12: list[Driver], short_track) -> None:
    """A SiteRules given to compile (here five drivers under a $40,000 cap, on DraftKings scoring)
    is stored in the spec, hashed, and is what every lineup is built under."""
    from core import DRAFTKINGS, LineupSettings, run_optimization
    from core.run import lineup_rules

    custom = dataclasses.replace(DRAFTKINGS, roster_size=5, salary_cap=40_000)
    settings = LineupSettings(n_lineups=3, max_overlap=4)
    spec = ConstraintSpec.compile(field12, short_track, site=custom, n_scenarios=200, lineups=settings)
    standard = ConstraintSpec.compile(field12, short_track, n_scenarios=200, lineups=settings)
    assert spec.hash != standard.hash
    assert spec.site.rules() == custom
    rules = lineup_rules(spec)
    assert (rules.roster_size, rules.salary_cap) == (5, 40_000)
    portfolio = run_optimization(spec, seed=4).portfolio
    salary = {d.driver_id: d.salary for d in spec.drivers}
    for lineup in portfolio.lineups:
        assert len(lineup.drivers) == 5
        assert lineup.salary == sum(salary[spec.drivers[i].driver_id] for i in lineup.drivers) <= 40_000
