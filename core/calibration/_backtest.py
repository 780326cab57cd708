"""Sequential out-of-sample backtest: for each race, fit on the races before it, simulate, score.

Three forecasts are made for every race from the same scenario key, so they differ only in what
they know:

* `model`: fitted ratings (strength, dominance, speed, DNF propensity) and archetype parameters;
* `start_only`: identical cars, only the fitted start-position effect;
* `uniform`: identical cars, no start effect (every finishing order equally likely).

Before a race only its entry list, start positions and scheduled length are used; its results
are only read to score it. Scores are averaged over driver rows (CRPS, RPS, coverage) or over
races (winner log-loss); DraftKings-points CRPS only covers races with fastest laps.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from ..history import HistoricalRace
from ..scoring import DRAFTKINGS_SCORING, draftkings_points
from ..sim import ArchetypeParams, Key, ScenarioSet, driver_inputs, generate_scenarios, run_key
from ..slate import MAX_LAPS, MIN_LAPS, Driver, FittedRatings
from ._fit import fit_ratings
from ._metrics import (
    crps_samples,
    interval_coverage,
    log_score,
    outcome_probabilities,
    pit,
    pit_histogram,
    ranked_probability_score,
)
from ._residuals import RaceResiduals, race_residuals, residual_diagnostics
from ._settings import RatingSettings
from ._table import RatingTable, grid_fraction

Model = Literal["model", "start_only", "uniform"]
MODELS: tuple[Model, ...] = ("model", "start_only", "uniform")
LEVELS = (0.5, 0.8, 0.95)
WIN_PRIOR = 0.5  # pseudo-count per driver when turning sampled wins into probabilities
TOP_N = 10  # the reliability curve is for the forecast probability of a top-10 finish
SCORE_KEYS = (
    "crps_finish",
    "crps_dk_points",
    "crps_laps_led",
    "winner_log_loss",
    "rps",
    "coverage_50",
    "coverage_80",
    "coverage_95",
    "dnf_forecast",
    "dnf_observed",
    "n_races",
)


@dataclass(frozen=True, slots=True)
class RaceScore:
    """One forecast of one race, scored: per-driver arrays, summed over drivers where it says so."""

    race_id: str
    archetype: str
    model: Model
    n_drivers: int
    crps_finish: float  # sums over drivers
    crps_dk_points: float  # NaN when the race has no fastest laps
    crps_laps_led: float
    rps: float
    covered: tuple[int, int, int]  # drivers inside the 50/80/95% intervals
    winner_log_loss: float
    pit: np.ndarray  # randomised PIT of each driver's finishing position
    top_probability: np.ndarray  # forecast P(top-10 finish) per driver
    top_outcome: np.ndarray  # whether it happened
    dnf_forecast: float  # forecast DNF probabilities, summed over drivers
    dnf_observed: int  # cars that retired
    residuals: RaceResiduals | None = None  # per-driver residuals and their null (the model only)


@dataclass(frozen=True, slots=True)
class BacktestReport:
    seasons: tuple[int, int]
    n_scenarios: int
    seed: int
    settings: RatingSettings
    params_version: str
    scores: tuple[RaceScore, ...]

    def summary(self) -> dict[str, Any]:
        """The JSON report: overall and by archetype for the model, and for both baselines."""
        report: dict[str, Any] = {
            "seasons": list(self.seasons),
            "n_scenarios": self.n_scenarios,
            "seed": self.seed,
            "params_version": self.params_version,
        }
        changed = changed_settings(self.settings)
        if changed:
            report["settings_changed"] = changed
        report.update(summarise([s for s in self.scores if s.model == "model"]))
        report["baselines"] = {}
        for name in ("uniform", "start_only"):
            baseline = summarise(self.of(name))
            report["baselines"][name] = {**baseline["overall"], "by_archetype": baseline["by_archetype"]}
        report["pit_deciles"] = [round(float(x), 4) for x in pit_deciles(self.of("model"))]
        report["driver_residuals"] = residual_diagnostics(
            [s.residuals for s in self.of("model") if s.residuals is not None]
        )
        return report

    def of(self, model: Model, archetype: str | None = None) -> list[RaceScore]:
        return [s for s in self.scores if s.model == model and archetype in (None, s.archetype)]


def summarise(scores: Sequence[RaceScore]) -> dict[str, Any]:
    archetypes = sorted({s.archetype for s in scores})
    return {
        "overall": aggregate(scores),
        "by_archetype": {a: aggregate([s for s in scores if s.archetype == a]) for a in archetypes},
    }


def aggregate(scores: Sequence[RaceScore]) -> dict[str, float | int]:
    """Driver-row means (CRPS, RPS, coverage, forecast and observed DNF shares) and the race mean
    of the winner log-loss."""
    rows = sum(s.n_drivers for s in scores)
    with_points = [s for s in scores if not math.isnan(s.crps_dk_points)]
    point_rows = sum(s.n_drivers for s in with_points)

    def mean(total: float, count: int) -> float:
        return round(total / count, 4) if count else float("nan")

    result: dict[str, float | int] = {
        "crps_finish": mean(sum(s.crps_finish for s in scores), rows),
        "crps_dk_points": mean(sum(s.crps_dk_points for s in with_points), point_rows),
        "crps_laps_led": mean(sum(s.crps_laps_led for s in scores), rows),
        "winner_log_loss": mean(sum(s.winner_log_loss for s in scores), len(scores)),
        "rps": mean(sum(s.rps for s in scores), rows),
    }
    for i, level in enumerate(LEVELS):
        result[f"coverage_{round(level * 100)}"] = mean(sum(s.covered[i] for s in scores), rows)
    result["dnf_forecast"] = mean(sum(s.dnf_forecast for s in scores), rows)
    result["dnf_observed"] = mean(sum(s.dnf_observed for s in scores), rows)
    result["n_races"] = len(scores)
    return result


def pit_deciles(scores: Sequence[RaceScore], n_bins: int = 10) -> np.ndarray:
    """Share of driver-races in each PIT bin (all zero when there are none)."""
    if not scores:
        return np.zeros(n_bins)
    return np.asarray(pit_histogram(jnp.asarray(np.concatenate([s.pit for s in scores])), n_bins))


def starting_grid(race: HistoricalRace) -> HistoricalRace:
    """The race with its entries in starting order (ties in old data broken by driver key).

    Forecasts list drivers in this order, which is known before the race; listing them by finish
    would let the result decide which random numbers each driver gets.
    """
    entries = sorted(race.entries, key=lambda e: (e.start, e.driver_key))
    return dataclasses.replace(race, entries=tuple(entries))


def race_field(
    race: HistoricalRace, table: RatingTable, model: Model
) -> tuple[list[Driver], ArchetypeParams]:
    """The race's drivers with ratings, and the archetype parameters, as the forecast sees them."""
    fit = table.archetypes[race.archetype]
    drivers = []
    for start, entry in enumerate(starting_grid(race).entries, start=1):
        if model == "model":
            # The car's team is known before the race (a driver may have changed teams).
            ratings = table.ratings(
                entry.driver_key,
                race.archetype,
                team=entry.team or None,
                track_id=race.track_id,
                start_fraction=grid_fraction(start, len(race.entries)),
            )
        else:
            ratings = FittedRatings(strength=0.0, dominance=0.0, speed=0.0, dnf_rate=fit.dnf_rate)
        drivers.append(Driver(entry.driver_key, entry.driver, 0, int(start), 0.5, 0.5, 0.5, ratings))
    params = table.archetype_params(
        race.archetype, race.track_id if model == "model" else None, rulebook_lineup=race.rulebook_lineup
    )
    if model != "model":  # the baselines know no teams
        params = dataclasses.replace(params, team_shock=0.0)
    if model == "uniform":
        params = dataclasses.replace(params, start_weight=0.0)
    return drivers, params


def race_length(race: HistoricalRace) -> int:
    return min(max(race.laps, MIN_LAPS), MAX_LAPS)


def forecast(
    race: HistoricalRace, table: RatingTable, model: Model, *, key: Key, n_scenarios: int
) -> ScenarioSet:
    drivers, params = race_field(race, table, model)
    return generate_scenarios(
        driver_inputs(drivers, params, use_ratings=True),
        params,
        key=key,
        n_scenarios=n_scenarios,
        race_length=race_length(race),
        scoring=DRAFTKINGS_SCORING,
        driver_ids=[d.driver_id for d in drivers],
    )


def score_race(race: HistoricalRace, scenarios: ScenarioSet, model: Model, *, key: Key) -> RaceScore:
    """Score one forecast against the race's result."""
    actual = starting_grid(race).arrays()
    n = len(race.entries)
    starts = np.arange(1, n + 1)
    finish = jnp.asarray(scenarios.finish_position.T, jnp.int32)  # drivers x samples
    observed = jnp.asarray(actual.finish)
    probabilities = outcome_probabilities(finish, n)
    winner = int(np.argmin(actual.finish))
    wins = np.asarray(probabilities[:, 0])  # P(finish 1st) per driver
    win_share = (wins * scenarios.n_scenarios + WIN_PRIOR) / (scenarios.n_scenarios + WIN_PRIOR * n)
    covered = tuple(int(jnp.sum(interval_coverage(finish, observed, level))) for level in LEVELS)
    points = np.full(n, np.nan)
    if race.has_fastest_laps:
        points = np.asarray(
            draftkings_points(
                finish_position=actual.finish,
                start_position=starts,
                laps_led=actual.laps_led,
                fastest_laps=actual.fastest_laps,
            ),
            np.float64,
        )
        crps_points = float(jnp.sum(crps_samples(jnp.asarray(scenarios.points.T), jnp.asarray(points))))
    else:
        crps_points = float("nan")
    fastest = np.where(actual.fastest_laps >= 0, actual.fastest_laps, np.nan)
    residuals = None
    if model == "model":
        residuals = race_residuals(
            race.archetype,
            [e.driver_key for e in starting_grid(race).entries],
            scenarios,
            np.stack([points, fastest, actual.laps_led.astype(np.float64)]),
            key=jax.random.fold_in(key, 2),
        )
    u = jax.random.uniform(key, (n,))
    return RaceScore(
        race_id=race.race_id,
        archetype=race.archetype,
        model=model,
        n_drivers=n,
        crps_finish=float(jnp.sum(crps_samples(finish, observed))),
        crps_dk_points=crps_points,
        crps_laps_led=float(
            jnp.sum(crps_samples(jnp.asarray(scenarios.laps_led.T), jnp.asarray(actual.laps_led)))
        ),
        rps=float(jnp.sum(ranked_probability_score(probabilities, observed, normalise=True))),
        covered=covered,  # type: ignore[arg-type]
        winner_log_loss=float(log_score(jnp.asarray(win_share), winner)),
        pit=np.asarray(pit(finish, observed, u)),
        top_probability=np.asarray(jnp.sum(probabilities[:, :TOP_N], axis=1)),
        top_outcome=actual.finish <= TOP_N,
        dnf_forecast=float(np.sum(np.mean(scenarios.dnf, axis=0))),
        dnf_observed=int(np.sum(actual.dnf)),
        residuals=residuals,
    )


Progress = Callable[[int, int, str], None]


def changed_settings(settings: RatingSettings) -> dict[str, float | bool]:
    """The settings that differ from the defaults, by name (empty for the defaults)."""
    default = RatingSettings()
    return {
        f.name: getattr(settings, f.name)
        for f in dataclasses.fields(settings)
        if getattr(settings, f.name) != getattr(default, f.name)
    }


def settings_version(settings: RatingSettings) -> str:
    """The label of forecasts refitted before every race with these settings."""
    digest = hashlib.sha256(repr(dataclasses.astuple(settings)).encode()).hexdigest()[:12]
    return f"per-race-fit-{digest}"


def fit_before(
    history: Sequence[HistoricalRace], race: HistoricalRace, settings: RatingSettings
) -> RatingTable:
    """Ratings from the points races strictly before `race`: all a forecast of it may know."""
    as_of = (race.season, race.race_number)
    past = [r for r in history if (r.season, r.race_number) < as_of and not r.exhibition]
    return fit_ratings(past, as_of, settings)


def race_key(key: Key, race: HistoricalRace) -> Key:
    """A race's own key, so its forecast does not depend on which other races are scored."""
    return jax.random.fold_in(key, race.season * 1000 + race.race_number)


def backtest(
    history: Sequence[HistoricalRace],
    seasons: tuple[int, int],
    *,
    n_scenarios: int,
    seed: int,
    settings: RatingSettings | None = None,
    params_version: str = "",
    progress: Progress | None = None,
) -> BacktestReport:
    """Forecast and score every points race of `seasons` (inclusive) from the races before it."""
    settings = settings or RatingSettings()
    params_version = params_version or settings_version(settings)
    targets = sorted(
        (r for r in history if seasons[0] <= r.season <= seasons[1] and not r.exhibition),
        key=lambda r: (r.season, r.race_number),
    )
    key = run_key(seed)
    scores: list[RaceScore] = []
    for done, race in enumerate(targets):
        if progress is not None:
            progress(done, len(targets), race.race_id)
        table = fit_before(history, race, settings)
        own_key = race_key(key, race)
        for model in MODELS:
            scenarios = forecast(race, table, model, key=own_key, n_scenarios=n_scenarios)
            scores.append(score_race(race, scenarios, model, key=jax.random.fold_in(own_key, 1)))
    if progress is not None:
        progress(len(targets), len(targets), "")
    return BacktestReport(
        seasons=seasons,
        n_scenarios=n_scenarios,
        seed=seed,
        settings=settings,
        params_version=params_version,
        scores=tuple(scores),
    )
