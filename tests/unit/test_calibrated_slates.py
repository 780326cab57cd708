"""calibration_enabled: a slate gets fitted ratings from the shipped parameter file by name."""

from __future__ import annotations

import math
from pathlib import Path

import jax
import numpy as np
import pytest

from core import ConstraintSpec, get_track, load_slate, run_simulation, sample_slate_path
from core.calibration import default_params_path, grid_fraction, load_params
from core.names import driver_key
from core.scoring import DRAFTKINGS_SCORING
from core.sim import DEFAULT_PARAMS, PARAMS_VERSION, driver_inputs, generate_scenarios
from core.sitefiles import drivers_from_players, read_draftkings_salaries
from core.slate import Driver, FittedRatings

DK_FILE = Path(__file__).resolve().parents[1] / "data" / "DKSalaries-nascar.csv"


@pytest.fixture(scope="module")
def shipped():
    return load_params()


def test_shipped_parameter_file_loads_with_its_hash_and_has_every_archetype(shipped) -> None:
    assert shipped.version == default_params_path().stem
    assert set(shipped.table.archetypes) == {"superspeedway", "intermediate", "short", "road"}
    assert len(shipped.table.drivers) > 60


def test_calibrated_spec_uses_fitted_ratings_by_normalised_name(shipped) -> None:
    slate = load_slate(sample_slate_path(), "bristol")
    raw = ConstraintSpec.compile(slate.drivers, slate.track, calibration_enabled=False)
    fitted = ConstraintSpec.compile(slate.drivers, slate.track, calibration_enabled=True)
    assert raw.scenarios.params_version == PARAMS_VERSION and raw.scenarios.start_weight is None
    assert fitted.scenarios.params_version == shipped.version
    assert fitted.scenarios.reverse_order == shipped.table.settings.reverse_order
    assert all(d.ratings is None for d in raw.drivers)
    by_name = {d.name: d.ratings for d in fitted.drivers}
    name = next(n for n in by_name if driver_key(n) == "kyle larson")
    expected = shipped.table.ratings("kyle larson", "short", track_id=slate.track.track_id)  # Bristol's scale
    assert expected.strength != pytest.approx(shipped.table.ratings("kyle larson", "short").strength)
    assert by_name[name].strength == pytest.approx(expected.strength)
    assert raw.hash != fitted.hash
    # The DNF rate depends on where the car starts (the archetype's fitted slope over the grid).
    start = next(d.start_position for d in fitted.drivers if d.name == name)
    on_grid = shipped.table.ratings(
        "kyle larson", "short", track_id="bristol", start_fraction=grid_fraction(start, len(slate.drivers))
    )
    assert by_name[name].dnf_rate == pytest.approx(on_grid.dnf_rate)
    pole, last = (
        shipped.table.ratings("kyle larson", "short", track_id="bristol", start_fraction=f).dnf_rate
        for f in (0.0, 1.0)
    )
    assert last / pole == pytest.approx(math.exp(shipped.table.archetypes["short"].dnf_start_slope))
    assert last > pole


def test_calibrated_run_is_reproducible_and_strong_drivers_finish_better() -> None:
    slate = load_slate(sample_slate_path(), "bristol")
    spec = ConstraintSpec.compile(slate.drivers, slate.track, n_scenarios=2000, calibration_enabled=True)
    first = run_simulation(spec, seed=5)
    again = run_simulation(spec, seed=5)
    assert (first.scenarios.points == again.scenarios.points).all()
    assert first.run_config.params_version == spec.scenarios.params_version
    strength = [d.ratings.strength for d in spec.drivers]
    mean_finish = first.scenarios.finish_position.mean(axis=0)
    best, worst = strength.index(max(strength)), strength.index(min(strength))
    assert mean_finish[best] < mean_finish[worst] - 10


def test_names_and_salaries_alone_make_a_calibrated_slate(shipped) -> None:
    players = read_draftkings_salaries(DK_FILE)
    drivers = drivers_from_players(players)
    assert sorted(d.start_position for d in drivers) == list(range(1, len(drivers) + 1))
    top_salary = max(drivers, key=lambda d: d.salary)
    assert top_salary.start_position == 1  # before qualifying the field lines up by salary
    spec = ConstraintSpec.compile(drivers, get_track("bristol"), calibration_enabled=True)
    known = [d for d in spec.drivers if driver_key(d.name) in shipped.table.drivers]
    assert len(known) >= len(drivers) // 2
    unknown = [d for d in spec.drivers if driver_key(d.name) not in shipped.table.drivers]
    rookie = shipped.table.ratings("no such driver", "short").strength
    assert all(d.ratings.strength == pytest.approx(rookie) for d in unknown)
    assert rookie == pytest.approx(shipped.table.settings.sharpness * shipped.table.rookie_strength["short"])


def test_load_slate_reads_a_site_player_list() -> None:
    slate = load_slate(DK_FILE, "bristol")
    assert {d.driver_id for d in slate.drivers} == {p.site_id for p in read_draftkings_salaries(DK_FILE)}


def test_given_start_positions_must_cover_every_driver() -> None:
    players = read_draftkings_salaries(DK_FILE)
    starts = {p.name: i for i, p in enumerate(players[:-1], start=1)}
    with pytest.raises(Exception, match="no start position"):
        drivers_from_players(players, starts)


@pytest.mark.parametrize("archetype", ["short", "superspeedway"])
def test_kernel_retires_each_car_at_its_fitted_dnf_rate(archetype: str) -> None:
    # The kernel's DNF probability is 1 - exp(-hazard x chaos) and the chaos factor's mean is
    # above 1 in some regimes, so the hazard is solved for: on average over scenarios each car
    # retires at the rate the fit gave it (the plain -log(1 - rate) retired up to 7.5% more cars,
    # 16% at superspeedways: the chaos factor's means).
    rates = [0.02, 0.08, 0.15, 0.3, 0.5, 0.12, 0.1, 0.25]
    drivers = [
        Driver(f"d{i}", f"Driver {i}", 0, i + 1, 0.5, 0.5, 0.5, FittedRatings(0.0, 0.0, 0.0, rate))
        for i, rate in enumerate(rates)
    ]
    params = DEFAULT_PARAMS[archetype]
    n = 40_000
    scenarios = generate_scenarios(
        driver_inputs(drivers, params, use_ratings=True),
        params,
        key=jax.random.key(7),
        n_scenarios=n,
        race_length=200,
        scoring=DRAFTKINGS_SCORING,
        driver_ids=[d.driver_id for d in drivers],
    )
    rate = np.asarray(rates)
    z = (scenarios.dnf.mean(axis=0) - rate) / np.sqrt(rate * (1 - rate) / n)
    assert np.all(np.abs(z) < 4.5), z
