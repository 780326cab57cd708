"""Rating fits, parameter files and the backtest on synthetic history with known truth."""

from __future__ import annotations

import dataclasses
import json

import jax
import msgspec
import numpy as np
import pytest

from core.calibration import (
    FORMAT,
    SCORE_KEYS,
    RatingSettings,
    backtest,
    dnf_prior_strength,
    fit_before,
    fit_ratings,
    forecast,
    load_params,
    params_content,
    race_key,
    write_params,
)
from core.calibration._concentration import LEAD_GRID
from core.errors import InvalidInput
from core.history import HistoricalRace, RaceEntry
from core.sim import DEFAULT_PARAMS

N_DRIVERS = 10
TRUE_STRENGTH = np.linspace(2.0, -2.0, N_DRIVERS)  # driver 0 is the best
CRASHER = 9  # crashes four times as often as the others


def synthetic_history(
    n_races: int,
    seed: int = 0,
    archetype: str = "intermediate",
    team_shock: float = 0.0,
    tracks: tuple[tuple[str, float, float], ...] = (("synthetic", 1.0, 0.1),),
    start_weight: float = 0.0,
    rulebook_every: int = 0,
    dnf_start_slope: float = 0.0,
) -> list[HistoricalRace]:
    """Races drawn from a known Plackett-Luce model from the back, with one crash-prone driver
    (and, with team_shock, a normal pace shock per race that each team's five cars share).
    Races take turns at `tracks`: (track_id, scale on the strengths, DNF rate of the others).
    Start positions are random; `start_weight` gives the pole that much pace over the last
    starter, except in every `rulebook_every`-th race, whose lineup the rulebook set (no start
    effect); a car's DNF rate is multiplied by exp(dnf_start_slope x (its start fraction - 0.5))."""
    rng = np.random.default_rng(seed)
    grids = np.random.default_rng((seed, 1))  # start positions: a stream of their own
    races = []
    for k in range(n_races):
        season, number = 2020 + k // 36, k % 36 + 1
        track_id, scale, dnf_rate = tracks[k % len(tracks)]
        starts = grids.permutation(N_DRIVERS) + 1
        fraction = (starts - 1) / (N_DRIVERS - 1)
        rulebook = rulebook_every > 0 and k % rulebook_every == 0
        dnf_p = np.where(np.arange(N_DRIVERS) == CRASHER, 4 * dnf_rate, dnf_rate)
        dnf = rng.random(N_DRIVERS) < dnf_p * np.exp(dnf_start_slope * (fraction - 0.5))
        # Reverse Plackett-Luce: sort ascending by -strength + Gumbel, i.e. descending by strength - Gumbel.
        pace = scale * TRUE_STRENGTH - rng.gumbel(size=N_DRIVERS)
        pace += 0.0 if rulebook else start_weight * (1 - fraction)
        if team_shock > 0:
            pace += team_shock * np.repeat(rng.normal(size=2), N_DRIVERS // 2)
        exit_lap = rng.integers(1, 200, N_DRIVERS)
        key = np.where(dnf, -1000.0 + exit_lap, pace)
        order = np.argsort(-key)
        finish = np.empty(N_DRIVERS, int)
        finish[order] = np.arange(1, N_DRIVERS + 1)
        led = np.zeros(N_DRIVERS, int)
        led[order[0]] = 150
        led[order[1]] = 50
        entries = tuple(
            sorted(
                (
                    RaceEntry(
                        driver=f"Driver {i}",
                        driver_key=f"driver {i}",
                        start=int(starts[i]),
                        finish=int(finish[i]),
                        laps_completed=int(exit_lap[i]) if dnf[i] else 200,
                        laps_led=int(led[i]),
                        fastest_laps=int(20 * (finish[i] <= 3)),
                        status="accident" if dnf[i] else "running",
                        dnf=bool(dnf[i]),
                        team="Fast Racing" if i < N_DRIVERS // 2 else "Slow Racing",
                    )
                    for i in range(N_DRIVERS)
                ),
                key=lambda e: e.finish,
            )
        )
        races.append(
            HistoricalRace(
                race_id=f"{season}-{number:02d}",
                season=season,
                race_number=number,
                date=None,
                track="Synthetic Speedway",
                track_id=track_id,
                archetype=archetype,  # type: ignore[arg-type]
                laps=200,
                exhibition=False,
                entries=entries,
                rulebook_lineup=rulebook,
            )
        )
    return races


@pytest.fixture(scope="module")
def history() -> list[HistoricalRace]:
    return synthetic_history(60)


@pytest.fixture(scope="module")
def table(history):
    return fit_ratings(history, (2022, 1))


def test_fitted_strength_recovers_the_true_order(table) -> None:
    fitted = [table.ratings(f"driver {i}", "intermediate").strength for i in range(N_DRIVERS)]
    assert np.corrcoef(fitted, TRUE_STRENGTH)[0, 1] > 0.95
    assert fitted[0] > fitted[-1] + 2.0


def test_dnf_ratio_finds_the_crash_prone_driver(table) -> None:
    ratios = {i: table.drivers[f"driver {i}"].dnf_ratio for i in range(N_DRIVERS)}
    # Four times the base rate, shrunk toward it with a one-season half-life.
    assert ratios[CRASHER] > 1.5
    assert max(r for i, r in ratios.items() if i != CRASHER) < ratios[CRASHER] - 0.3
    rate = table.ratings(f"driver {CRASHER}", "intermediate").dnf_rate
    assert 0.2 < rate < 0.5


def test_dominance_follows_laps_led_beyond_finishing_position(table) -> None:
    # Every car led in proportion to its finishing position, so nobody is much of an outlier.
    assert all(abs(v) < 0.5 for d in table.drivers.values() for v in d.dominance.values())


# (history column, the same count for every car, fitted field, kernel default, flattest fit)
CONCENTRATIONS = [
    ("fastest_laps", 6, "fastest_lap_concentration", "fastest_lap_concentration", 0.0),
    ("laps_led", 10, "lead_concentration", "dominance", float(LEAD_GRID[0])),
]


@pytest.mark.parametrize("concentrated", [True, False])
@pytest.mark.parametrize(("column", "even", "fitted", "default", "flattest"), CONCENTRATIONS)
def test_concentration_follows_how_the_data_spreads_the_laps(
    history, concentrated, column, even, fitted, default, flattest
) -> None:
    """Fastest laps to the first three finishers only, every lap led by the first two: steeper
    than the kernel's default; the same count for every car: the flattest value the grid has,
    whatever the pace."""

    def spread(race: HistoricalRace) -> HistoricalRace:
        entries = tuple(dataclasses.replace(e, **{column: even}) for e in race.entries)
        return dataclasses.replace(race, entries=entries)

    races = history if concentrated else [spread(r) for r in history]
    value = getattr(fit_ratings(races, (2022, 1)).archetypes["intermediate"], fitted)
    assert value is not None
    if concentrated:
        assert value > getattr(DEFAULT_PARAMS["intermediate"], default)
    else:
        assert value == flattest


def test_unknown_driver_gets_the_rookie_prior(table) -> None:
    rookie = table.ratings("never raced", "short")
    assert rookie.strength == pytest.approx(table.settings.sharpness * table.rookie_strength["short"])
    assert rookie.dominance == 0.0 and rookie.speed == 0.0
    assert rookie.dnf_rate == table.archetypes["short"].dnf_rate


def test_a_rookie_in_a_strong_team_starts_above_one_in_a_weak_team(table) -> None:
    fast = table.ratings("never raced", "intermediate", team="Fast Racing").strength
    slow = table.ratings("never raced", "intermediate", team="Slow Racing").strength
    unknown = table.ratings("never raced", "intermediate", team="Nobody Racing").strength
    assert fast > unknown > slow
    assert table.drivers["driver 0"].team == "Fast Racing"


def test_team_shock_is_found_where_teammates_share_pace_and_not_elsewhere(table) -> None:
    shared = fit_ratings(synthetic_history(150, seed=3, team_shock=1.0), (2025, 1))
    assert 0.5 < shared.archetypes["intermediate"].team_shock < 1.5
    assert table.archetypes["intermediate"].team_shock < 0.4
    assert shared.archetype_params("intermediate").team_shock == shared.archetypes["intermediate"].team_shock
    assert shared.ratings("driver 0", "intermediate").team == "Fast Racing"


def test_tracks_get_their_own_scale_and_dnf_rate() -> None:
    """Races alternate between a track whose results follow form closely and few cars retire, and
    one where form matters half as much and three times as many cars retire."""
    tracks = (("orderly", 1.5, 0.05), ("wild", 0.75, 0.15))
    table = fit_ratings(synthetic_history(144, seed=2, tracks=tracks), (2024, 1))
    orderly, wild = table.track("orderly", "intermediate"), table.track("wild", "intermediate")
    assert orderly.scale > 1.1 and wild.scale < 0.9
    assert 1.5 < orderly.scale / wild.scale < 3.0  # truly 2
    assert wild.dnf_rate > 1.5 * orderly.dnf_rate  # truly 3, shrunk toward the archetype
    unknown = table.track("nowhere", "intermediate")
    assert unknown.scale == 1.0 and unknown.dnf_rate == table.archetypes["intermediate"].dnf_rate
    assert table.track("wild", "road").scale == 1.0  # raced only as an intermediate
    strong = table.ratings("driver 0", "intermediate", track_id="orderly").strength
    assert strong == pytest.approx(
        orderly.scale / wild.scale * table.ratings("driver 0", "intermediate", track_id="wild").strength
    )
    assert table.archetype_params("intermediate", "orderly").start_weight == pytest.approx(
        orderly.scale * table.archetypes["intermediate"].start_weight
    )


def test_dnf_rate_rises_toward_the_back_where_history_shows_it(table) -> None:
    settings = RatingSettings(half_life_seasons=10.0)  # every race counts about the same
    sloped = fit_ratings(synthetic_history(180, seed=4, dnf_start_slope=1.5), (2025, 1), settings)
    slope = sloped.archetypes["intermediate"].dnf_start_slope
    assert 0.9 < slope < 2.1  # truly 1.5
    assert abs(table.archetypes["intermediate"].dnf_start_slope) < 0.8  # truly 0
    pole = sloped.ratings("driver 3", "intermediate", start_fraction=0.0).dnf_rate
    last = sloped.ratings("driver 3", "intermediate", start_fraction=1.0).dnf_rate
    assert last / pole == pytest.approx(np.exp(slope))
    assert sloped.ratings("never raced", "intermediate", start_fraction=1.0).dnf_rate > (
        sloped.ratings("never raced", "intermediate", start_fraction=0.0).dnf_rate
    )
    flat = fit_ratings(
        synthetic_history(36, seed=4, dnf_start_slope=1.5), (2021, 1), RatingSettings(dnf_by_start=False)
    )
    assert flat.archetypes["intermediate"].dnf_start_slope == 0.0


@pytest.mark.parametrize("spread", [0.05, 0.3])
def test_dnf_prior_strength_measures_how_much_drivers_differ(spread: float) -> None:
    """400 drivers whose DNF ratios are Gamma with variance spread^2 (mean 1), each with 3-20
    expected DNFs: the fitted prior strength a (variance 1 / a) finds the spread."""
    rng = np.random.default_rng(7)
    a = 1 / spread**2
    expected = rng.uniform(3, 20, 400)
    observed = rng.poisson(rng.gamma(a, 1 / a, 400) * expected).astype(float)
    fitted = dnf_prior_strength(observed, expected)
    if spread < 0.1:  # drivers barely differ: Poisson noise explains the counts, a is large
        assert fitted > 50
    else:
        assert 1 / np.sqrt(fitted) == pytest.approx(spread, rel=0.2)


def test_a_rulebook_lineup_gets_its_own_start_effect() -> None:
    """Qualified lineups give the pole 1.5 of pace; every third lineup is set by the rulebook and
    gives none."""
    races = synthetic_history(144, seed=6, start_weight=1.5, rulebook_every=3)
    table = fit_ratings(races, (2024, 1))
    fit = table.archetypes["intermediate"]
    assert fit.start_weight > 1.0
    assert fit.rulebook_start_weight is not None and abs(fit.rulebook_start_weight) < 0.6
    assert table.archetype_params("intermediate", rulebook_lineup=True).start_weight == pytest.approx(
        fit.rulebook_start_weight
    )
    assert table.archetype_params("intermediate").start_weight == pytest.approx(fit.start_weight)
    pooled = fit_ratings(races, (2024, 1), RatingSettings(rulebook_start=False)).archetypes["intermediate"]
    assert pooled.rulebook_start_weight is None
    assert fit.rulebook_start_weight < pooled.start_weight < fit.start_weight  # one effect for both


def test_fit_refuses_a_race_on_or_after_as_of(history) -> None:
    with pytest.raises(ValueError, match="strictly before"):
        fit_ratings(history, (history[10].season, history[10].race_number))


def test_forward_and_reverse_fits_differ(history) -> None:
    forward = fit_ratings(history, (2022, 1), RatingSettings(reverse_order=False))
    reverse = fit_ratings(history, (2022, 1), RatingSettings(reverse_order=True))
    a = forward.drivers["driver 0"].strength_by_archetype["intermediate"]
    b = reverse.drivers["driver 0"].strength_by_archetype["intermediate"]
    assert a != pytest.approx(b, abs=1e-3)


def with_running_order_reversed(races: list[HistoricalRace]) -> list[HistoricalRace]:
    """Give every car an average running position that is its finish turned upside down."""
    return [
        dataclasses.replace(
            race,
            entries=tuple(
                dataclasses.replace(e, avg_position=float(len(race.entries) + 1 - e.finish))
                for e in race.entries
            ),
        )
        for race in races
    ]


@pytest.mark.parametrize(("archetype", "counts"), [("intermediate", True), ("superspeedway", False)])
def test_running_order_counts_except_at_superspeedways(archetype: str, counts: bool) -> None:
    races = with_running_order_reversed(synthetic_history(30, archetype=archetype))
    default = fit_ratings(races, (2022, 1))
    finish_only = fit_ratings(races, (2022, 1), RatingSettings(running_order_weight=0.0))
    a = default.drivers["driver 0"].strength_by_archetype[archetype]
    b = finish_only.drivers["driver 0"].strength_by_archetype[archetype]
    assert (a != pytest.approx(b, abs=1e-3)) is counts


def test_fitted_strengths_are_on_the_scale_of_the_finishing_order(table) -> None:
    """The synthetic finishes are Plackett-Luce with exactly TRUE_STRENGTH: a converged fit finds
    strengths of the same spread (a fit whose scale and prior trade off, or whose optimiser
    stalls, gives another)."""
    fitted = [table.drivers[f"driver {i}"].strength_by_archetype["intermediate"] for i in range(N_DRIVERS)]
    team = table.archetypes["intermediate"].form_scale * np.repeat(
        [table.team_strength["Fast Racing"], table.team_strength["Slow Racing"]], N_DRIVERS // 2
    )
    slope = np.polyfit(TRUE_STRENGTH, np.asarray(fitted) + team, 1)[0]
    assert 0.75 < slope < 1.15
    assert table.archetypes["intermediate"].form_scale == 1.0  # the scale strengths are measured on


def with_sharper_running_order(
    races: list[HistoricalRace], noise: float, seed: int = 5
) -> list[HistoricalRace]:
    """Give every car an average running position: the order of its true strength plus Gumbel
    noise times `noise` (below 1, a sharper view of pace than the finish)."""
    rng = np.random.default_rng(seed)
    out = []
    for race in races:
        pace = {e.driver_key: TRUE_STRENGTH[int(e.driver_key.split()[-1])] for e in race.entries}
        noisy = {k: v - noise * rng.gumbel() for k, v in pace.items()}
        rank = {k: i + 1 for i, k in enumerate(sorted(noisy, key=lambda k: -noisy[k]))}
        entries = tuple(dataclasses.replace(e, avg_position=float(rank[e.driver_key])) for e in race.entries)
        out.append(dataclasses.replace(race, entries=entries))
    return out


def test_running_order_scale_measures_how_sharp_the_running_order_is(history) -> None:
    sharp = fit_ratings(with_sharper_running_order(history, noise=0.5), (2022, 1))
    scale = sharp.archetypes["intermediate"].running_scale
    assert 1.5 < scale < 2.6  # half the noise: about twice the scale
    fixed = fit_ratings(
        with_sharper_running_order(history, noise=0.5), (2022, 1), RatingSettings(running_order_scale=False)
    )
    assert fixed.archetypes["intermediate"].running_scale == 1.0

    def spread(t):
        return np.ptp(
            [t.drivers[f"driver {i}"].strength_by_archetype["intermediate"] for i in range(N_DRIVERS)]
        )

    # Without its own scale, the sharp running order stretches the strengths a finish is drawn from.
    assert spread(fixed) > spread(sharp) + 0.5


def test_params_file_round_trip_and_tamper_check(table, tmp_path) -> None:
    names = {f"driver {i}": f"Driver {i}" for i in range(N_DRIVERS)}
    path = write_params(params_content(table, names, source="synthetic"), tmp_path)
    loaded = load_params(path)
    assert loaded.version == path.stem and loaded.version.startswith("cup-2022-01-")
    again = write_params(params_content(table, names, source="synthetic"), tmp_path)
    assert again == path  # the same fit gives the same version
    original = table.ratings("driver 3", "road")
    assert loaded.table.ratings("driver 3", "road").strength == pytest.approx(original.strength, abs=1e-5)
    data = json.loads(path.read_text())
    data["content"]["drivers"]["driver 3"]["strength"]["road"] += 1.0
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidInput, match="content hash"):
        load_params(path)
    # An older format (its parameters mean something else) is refused, not misread.
    old = msgspec.structs.replace(params_content(table, names, source="synthetic"), format=FORMAT - 1)
    with pytest.raises(InvalidInput, match=f"format {FORMAT - 1}; this version reads format {FORMAT}"):
        load_params(write_params(old, tmp_path))


def test_no_leakage_a_changed_result_changes_no_forecast_up_to_that_race(history) -> None:
    """Swap the winner and the last car of race k: forecasts of races <= k are bitwise unchanged,
    and a later race's forecast moves (so the comparison can fail)."""
    settings = RatingSettings()
    key = jax.random.key(3)
    k = 40
    changed = list(history)
    entries = list(changed[k].entries)
    first, last = entries[0], entries[-1]
    entries[0] = dataclasses.replace(last, finish=1, dnf=False, status="running", laps_completed=200)
    entries[-1] = dataclasses.replace(first, finish=N_DRIVERS, dnf=True, status="engine", laps_completed=3)
    changed[k] = dataclasses.replace(changed[k], entries=tuple(entries))

    def forecast_of(races: list[HistoricalRace], i: int) -> np.ndarray:
        race = races[i]
        table = fit_before(races, race, settings)
        scenarios = forecast(race, table, "model", key=race_key(key, race), n_scenarios=256)
        return np.asarray(scenarios.points)

    for i in (k - 1, k):
        np.testing.assert_array_equal(forecast_of(history, i), forecast_of(changed, i))
    assert not np.array_equal(forecast_of(history, k + 1), forecast_of(changed, k + 1))


def test_backtest_report_has_every_key_and_beats_uniform(history) -> None:
    report = backtest(history, (2021, 2021), n_scenarios=256, seed=1)
    summary = report.summary()
    assert set(summary["overall"]) == set(SCORE_KEYS)
    for block in (summary["overall"], summary["baselines"]["uniform"], summary["baselines"]["start_only"]):
        assert set(SCORE_KEYS) <= set(block)
        assert block["n_races"] == 24
    assert set(summary["by_archetype"]) == {"intermediate"}
    assert "params_version" in summary
    model, uniform = summary["overall"], summary["baselines"]["uniform"]
    assert set(summary["baselines"]["uniform"]["by_archetype"]["intermediate"]) == set(SCORE_KEYS)
    assert model["crps_finish"] < uniform["crps_finish"] - 0.3
    assert model["winner_log_loss"] < uniform["winner_log_loss"]
    # Uniform over 10 cars: CRPS of a uniform position is (n^2 - 1) / (6 n) = 1.65 on average.
    assert uniform["crps_finish"] == pytest.approx((N_DRIVERS**2 - 1) / (6 * N_DRIVERS), abs=0.15)
    assert 0.0 < model["coverage_50"] < model["coverage_80"] < model["coverage_95"] <= 1.0
    assert sum(summary["pit_deciles"]) == pytest.approx(1.0, abs=1e-3)
    # The DNF shares: observed is the races' own, the same for every model; the fit forecasts it.
    scored = [r for r in history if r.season == 2021 and not r.exhibition]
    observed = sum(e.dnf for r in scored for e in r.entries) / sum(len(r.entries) for r in scored)
    for block in (model, uniform, summary["baselines"]["start_only"]):
        assert block["dnf_observed"] == pytest.approx(observed, abs=1e-4)
    assert model["dnf_forecast"] == pytest.approx(observed, abs=0.03)
