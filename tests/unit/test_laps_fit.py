"""Dominance and speed per archetype, shrunk toward the driver's value on ovals or road courses,
and the fitted share of green laps credited as fastest laps."""

from __future__ import annotations

import numpy as np
import pytest

from core.calibration import RatingSettings
from core.calibration._laps import excess_share, fastest_lap_shares
from core.history import HistoricalRace, RaceEntry
from core.sim import DEFAULT_PARAMS, expected_green_laps

N_DRIVERS = 10


def race(number: int, archetype: str, fastest: list[int]) -> HistoricalRace:
    """Driver i finishes i + 1th; `fastest` are their fastest laps (laps led alike)."""
    entries = tuple(
        RaceEntry(
            driver=f"Driver {i}", driver_key=f"driver {i}", start=i + 1, finish=i + 1,
            laps_completed=200, laps_led=fastest[i], fastest_laps=fastest[i], status="running", dnf=False,
        )
        for i in range(N_DRIVERS)
    )  # fmt: skip
    return HistoricalRace(
        race_id=f"2024-{number:02d}", season=2024, race_number=number, date=None, track="T",
        track_id=f"t-{archetype}", archetype=archetype, laps=200, exhibition=False, entries=entries,  # type: ignore[arg-type]
    )  # fmt: skip


def fastest_by_position(road_star: bool) -> list[int]:
    """Fastest laps falling with finishing position; driver 9 (last) runs 40 of them at road courses."""
    laps = [40, 30, 25, 20, 15, 10, 8, 6, 4, 2]
    if road_star:
        laps[-1] = 40
    return laps


@pytest.fixture(scope="module")
def speed() -> dict[str, dict[str, float]]:
    races = [race(n, "road", fastest_by_position(True)) for n in range(1, 9)]
    races += [race(n, "intermediate", fastest_by_position(False)) for n in range(9, 25)]
    races += [race(25, "short", fastest_by_position(False))]
    return excess_share(races, np.ones(len(races)), RatingSettings(), "fastest_laps")


def test_a_road_course_specialist_keeps_his_speed_off_the_ovals(speed) -> None:
    star = speed["driver 9"]
    assert star["road"] > 0.8  # 40 fastest laps from last place, race after race
    # On ovals his shares are his position's average there: his value stays near 0.
    assert abs(star["intermediate"]) < 0.25
    assert star["road"] - star["intermediate"] > 0.7
    # One short-track race: his value there is mostly his ovals' value, not his road courses'.
    gap = star["road"] - star["intermediate"]
    assert abs(star["short"] - star["intermediate"]) < 0.25 * gap
    # Never at a superspeedway: his oval value.
    assert abs(star["superspeedway"] - star["intermediate"]) < 0.25 * gap


def test_without_a_prior_an_archetype_stands_alone() -> None:
    races = [race(1, "road", fastest_by_position(True)), race(2, "short", fastest_by_position(False))]
    weak = excess_share(races, np.ones(2), RatingSettings(archetype_lead_pseudo=0.0), "fastest_laps")
    strong = excess_share(races, np.ones(2), RatingSettings(archetype_lead_pseudo=100.0), "fastest_laps")
    assert weak["driver 9"]["road"] - weak["driver 9"]["short"] > 2.0
    assert abs(strong["driver 9"]["road"] - strong["driver 9"]["short"]) < 0.05


def test_fastest_lap_share_matches_the_credited_laps() -> None:
    races = [race(n, "short", fastest_by_position(False)) for n in range(1, 4)]
    credited = sum(fastest_by_position(False))
    share = fastest_lap_shares(races, np.ones(3))
    assert share["short"] == pytest.approx(credited / expected_green_laps(DEFAULT_PARAMS["short"], 200))
    assert share["road"] == 1.0  # no race with fastest laps there


def test_expected_green_laps_is_the_kernel_mean() -> None:
    import jax

    from core.scoring import DRAFTKINGS_SCORING
    from core.sim import driver_inputs, generate_scenarios
    from tests.fields import make_field

    params = DEFAULT_PARAMS["road"]
    scenarios = generate_scenarios(
        driver_inputs(make_field(12), params, use_ratings=False), params, key=jax.random.key(0),
        n_scenarios=20_000, race_length=90, scoring=DRAFTKINGS_SCORING, driver_ids=list("abcdefghijkl"),
    )  # fmt: skip
    simulated = scenarios.green_laps.mean()
    assert simulated == pytest.approx(
        expected_green_laps(params, 90), abs=4 * scenarios.green_laps.std() / 140
    )


def test_a_share_is_read_against_its_own_archetype() -> None:
    """At superspeedways the draft spreads fastest laps over the field: a backmarker's even share
    there is what any car at his position gets, not speed. Read against the average share of his
    position over all tracks (the intermediates' falling shares pull it down), it would be."""
    even = [10] * N_DRIVERS
    races = [race(n, "superspeedway", even) for n in range(1, 13)]
    races += [race(n, "intermediate", fastest_by_position(False)) for n in range(13, 25)]
    own = excess_share(races, np.ones(len(races)), RatingSettings(), "fastest_laps")
    pooled = excess_share(races, np.ones(len(races)), RatingSettings(lead_by_archetype=False), "fastest_laps")
    assert abs(own["driver 9"]["superspeedway"]) < 0.05
    assert abs(own["driver 0"]["superspeedway"]) < 0.05
    assert pooled["driver 9"]["superspeedway"] > 0.3  # 10% of the laps against 5.6% over all tracks
    assert pooled["driver 0"]["superspeedway"] < -0.3
