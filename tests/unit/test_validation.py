"""Bad input raises InvalidInput naming the field; impossible conditions raise Infeasible."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from core.errors import Infeasible, InvalidInput
from core.run import run_simulation
from core.slate import Driver, FittedRatings, Track, get_track
from core.spec import ConstraintSpec, LapsLed, RunConfig


def with_driver(drivers: list[Driver], index: int, **changes: Any) -> list[Driver]:
    changed = list(drivers)
    changed[index] = dataclasses.replace(changed[index], **changes)
    return changed


def field_error(make: Callable[[], object]) -> str:
    with pytest.raises(InvalidInput) as caught:
        make()
    return caught.value.field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"skill": float("nan")}, "drivers[3].skill"),
        ({"skill": 1.5}, "drivers[3].skill"),
        ({"aggression": -0.1}, "drivers[3].aggression"),
        ({"shadow_risk": float("inf")}, "drivers[3].shadow_risk"),
        ({"salary": -1}, "drivers[3].salary"),
        ({"driver_id": "  "}, "drivers[3].driver_id"),
        (
            {"ratings": FittedRatings(strength=1000.0, dominance=0.0, speed=0.0, dnf_rate=0.1)},
            "drivers[3].ratings.strength",
        ),
        (
            {"ratings": FittedRatings(strength=0.0, dominance=float("nan"), speed=0.0, dnf_rate=0.1)},
            "drivers[3].ratings.dominance",
        ),
        (
            {"ratings": FittedRatings(strength=0.0, dominance=0.0, speed=0.0, dnf_rate=1.0)},
            "drivers[3].ratings.dnf_rate",
        ),
    ],
)
def test_bad_driver_value_names_the_driver_and_field(
    field12: list[Driver], short_track: Track, changes: dict[str, Any], field: str
) -> None:
    drivers = with_driver(field12, 3, **changes)
    assert field_error(lambda: ConstraintSpec.compile(drivers, short_track)) == field


def test_duplicate_driver_id_names_the_second_copy(field12: list[Driver], short_track: Track) -> None:
    drivers = with_driver(field12, 7, driver_id=field12[2].driver_id)
    assert field_error(lambda: ConstraintSpec.compile(drivers, short_track)) == "drivers[7].driver_id"


def test_start_positions_must_be_a_permutation(field12: list[Driver], short_track: Track) -> None:
    repeated = field12[0].start_position
    drivers = with_driver(field12, 1, start_position=repeated)
    assert field_error(lambda: ConstraintSpec.compile(drivers, short_track)) == "drivers.start_position"


def test_start_positions_beyond_the_field_are_rejected(field12: list[Driver], short_track: Track) -> None:
    last = next(i for i, d in enumerate(field12) if d.start_position == len(field12))
    drivers = with_driver(field12, last, start_position=len(field12) + 1)
    assert field_error(lambda: ConstraintSpec.compile(drivers, short_track)) == "drivers.start_position"


def test_too_few_drivers(field_factory, short_track: Track) -> None:
    five = field_factory(5)
    assert field_error(lambda: ConstraintSpec.compile(five, short_track)) == "drivers"


@pytest.mark.parametrize("laps", [49, 501])
def test_race_length_outside_50_to_500(field12: list[Driver], short_track: Track, laps: int) -> None:
    assert (
        field_error(lambda: ConstraintSpec.compile(field12, short_track, race_length=laps)) == "race_length"
    )


@pytest.mark.parametrize("laps", [50, 500])
def test_race_length_bounds_are_inclusive(field12: list[Driver], short_track: Track, laps: int) -> None:
    assert ConstraintSpec.compile(field12, short_track, race_length=laps).scenarios.race_length == laps


def test_unknown_track_id() -> None:
    assert field_error(lambda: get_track("no-such-speedway")) == "track_id"


def test_unknown_site(field12: list[Driver], short_track: Track) -> None:
    assert field_error(lambda: ConstraintSpec.compile(field12, short_track, site="yahoo")) == "site"


def test_negative_seed_in_run_config_and_run_simulation(field12: list[Driver], short_track: Track) -> None:
    spec = ConstraintSpec.compile(field12, short_track, n_scenarios=256)
    assert field_error(lambda: RunConfig.for_spec(spec, seed=-1)) == "seed"
    assert field_error(lambda: run_simulation(spec, seed=-1, chunk_size=256)) == "seed"


def test_seed_too_large_for_a_key_is_rejected(field12: list[Driver], short_track: Track) -> None:
    """jax.random.key cannot take 2**64; that must be a clean InvalidInput, not an OverflowError."""
    spec = ConstraintSpec.compile(field12, short_track, n_scenarios=256)
    assert field_error(lambda: run_simulation(spec, seed=2**64, chunk_size=256)) == "seed"


def test_seeds_that_differ_above_32_bits_do_not_collide(field12: list[Driver], short_track: Track) -> None:
    """Two seeds RunConfig accepts as different must not silently give the same scenarios."""
    spec = ConstraintSpec.compile(field12, short_track, n_scenarios=256)
    low = run_simulation(spec, seed=5, chunk_size=256)
    try:
        high = run_simulation(spec, seed=2**32 + 5, chunk_size=256)
    except InvalidInput as error:  # rejecting seeds of more than 32 bits is a fine fix too
        assert error.field == "seed"
        return
    assert high.run_config.seed != low.run_config.seed
    same = np.array_equal(high.scenarios.finish_position, low.scenarios.finish_position)
    assert not same, "seeds 5 and 2**32 + 5 gave bitwise identical scenarios"


def test_n_scenarios_must_be_positive(field12: list[Driver], short_track: Track) -> None:
    assert field_error(lambda: ConstraintSpec.compile(field12, short_track, n_scenarios=0)) == "n_scenarios"


def test_condition_on_unknown_driver(field12: list[Driver], short_track: Track) -> None:
    conditions = {"nobody": LapsLed(min_laps_led=1)}
    assert (
        field_error(lambda: ConstraintSpec.compile(field12, short_track, conditions=conditions))
        == "conditions"
    )


def test_min_laps_led_beyond_race_length(field12: list[Driver], short_track: Track) -> None:
    driver_id = field12[0].driver_id
    conditions = {driver_id: LapsLed(min_laps_led=201)}
    spec = lambda: ConstraintSpec.compile(field12, short_track, conditions=conditions)  # noqa: E731
    assert field_error(spec) == f"conditions[{driver_id}].min_laps_led"


def test_max_laps_led_below_min(field12: list[Driver], short_track: Track) -> None:
    driver_id = field12[0].driver_id
    conditions = {driver_id: LapsLed(min_laps_led=30, max_laps_led=29)}
    spec = lambda: ConstraintSpec.compile(field12, short_track, conditions=conditions)  # noqa: E731
    assert field_error(spec) == f"conditions[{driver_id}].max_laps_led"


def test_unsatisfiable_conditions_raise_infeasible_naming_the_condition(
    field12: list[Driver], short_track: Track
) -> None:
    weakest = min(field12, key=lambda d: d.skill).driver_id
    strongest = max(field12, key=lambda d: d.skill).driver_id
    conditions = {weakest: LapsLed(min_laps_led=200), strongest: LapsLed(min_laps_led=1)}
    spec = ConstraintSpec.compile(field12, short_track, n_scenarios=256, conditions=conditions)
    with pytest.raises(Infeasible, match=f"min_laps_led >= 200 for {weakest}"):
        run_simulation(spec, seed=0, chunk_size=256)
