"""The one pipeline: spec -> scenarios -> lineups -> result.

The CLI, the service's job workers and researchers all call run_simulation / run_optimization;
nothing else re-implements these steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import jax
import numpy as np

from .contest import (
    DEFAULT_CONCENTRATION,
    DEFAULT_TEMPERATURE,
    Contest,
    ContestResult,
    PayoutTable,
    build_roi_portfolio,
    payout_table,
    project_ownership,
    simulate_contest,
    simulate_field,
    supplied_ownership,
)
from .errors import InvalidInput
from .opt import (
    LineupRules,
    Objective,
    Portfolio,
    build_portfolio,
    check_lineup,
    compile_rules,
    default_target,
    enumerate_lineups,
    lineup_stats,
)
from .progress import Progress, ShouldCancel
from .sim import (
    DEFAULT_CHUNK_SIZE,
    ArchetypeParams,
    LapsLedConditions,
    ScenarioSet,
    default_params,
    driver_inputs,
    generate_scenarios,
    run_key,
)
from .spec import ConstraintSpec, RunConfig


@dataclass(frozen=True, slots=True)
class SimulationResult:
    spec: ConstraintSpec
    run_config: RunConfig
    scenarios: ScenarioSet


def archetype_params(spec: ConstraintSpec) -> ArchetypeParams:
    """The kernel parameters of the spec's track: the defaults, with the fitted values when the
    spec was compiled with calibration enabled."""
    params = default_params(spec.track_value().archetype)
    settings = spec.scenarios
    if settings.start_weight is None:
        return params
    return dataclasses.replace(
        params,
        start_weight=settings.start_weight,
        reverse_order=settings.reverse_order,
        team_shock=settings.team_shock,
        fastest_lap_share=settings.fastest_lap_share,
        fastest_lap_concentration=params.fastest_lap_concentration
        if settings.fastest_lap_concentration is None
        else settings.fastest_lap_concentration,
        dominance=params.dominance if settings.lead_concentration is None else settings.lead_concentration,
    )


def run_simulation(
    spec: ConstraintSpec,
    *,
    seed: int,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> SimulationResult:
    """Simulate the spec's race. Drivers come out in the spec's canonical (driver_id) order.

    The integer seed becomes the run key here, at the edge; the same spec and seed give the same
    scenarios bitwise, whatever the chunk size.
    """
    config = RunConfig.for_spec(spec, seed=seed)
    drivers = spec.field()
    params = archetype_params(spec)
    laps = spec.scenarios.race_length
    conditions = LapsLedConditions(
        min_laps_led=np.asarray([d.min_laps_led for d in spec.drivers], np.int32),
        max_laps_led=np.asarray([d.max_laps_led for d in spec.drivers], np.int32),
    )
    scenarios = generate_scenarios(
        driver_inputs(drivers, params, use_ratings=spec.scenarios.calibration_enabled),
        params,
        key=run_key(seed),
        n_scenarios=spec.scenarios.n_scenarios,
        race_length=laps,
        scoring=spec.site.rules().scoring,
        driver_ids=[d.driver_id for d in drivers],
        conditions=conditions,
        chunk_size=chunk_size,
        min_acceptance=spec.scenarios.min_acceptance,
        progress=progress,
        should_cancel=should_cancel,
    )
    return SimulationResult(spec=spec, run_config=config, scenarios=scenarios)


@dataclass(frozen=True, slots=True)
class OptimizationResult:
    spec: ConstraintSpec
    run_config: RunConfig
    scenarios: ScenarioSet
    rules: LineupRules
    portfolio: Portfolio
    contest: Contest | None = None  # with a contest: the field it was played against
    contest_result: ContestResult | None = None


PhaseProgress = Callable[[str, int, int], None]  # (phase: "simulating" | "optimizing", done, total)


def lineup_rules(spec: ConstraintSpec) -> LineupRules:
    """The spec's lineup settings as rules over its drivers (canonical order)."""
    if spec.lineups is None:
        raise InvalidInput("lineups", "the spec has no lineup settings (compile it with lineups=...)")
    settings = spec.lineups
    return compile_rules(
        spec.site.rules(),
        [d.driver_id for d in spec.drivers],
        [d.salary for d in spec.drivers],
        salary_cap=settings.salary_cap,
        salary_floor=settings.salary_floor,
        locks=settings.locks,
        excludes=settings.excludes,
        max_overlap=settings.max_overlap,
        min_exposure=settings.min_exposure,
        max_exposure=settings.max_exposure,
    )


def run_optimization(
    spec: ConstraintSpec,
    *,
    seed: int,
    progress: PhaseProgress | None = None,
    should_cancel: ShouldCancel | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    contest: ContestSettings | None = None,
) -> OptimizationResult:
    """Simulate the spec's race, then build its portfolio of lineups against those scenarios.

    With a contest the portfolio is also played in it (each lineup's money, and the whole
    entry's); the `roi` objective needs one and builds the portfolio for it.
    """
    rules = lineup_rules(spec)  # fail on bad lineup rules before simulating
    settings = spec.lineups
    assert settings is not None
    if settings.objective == "roi" and contest is None:
        raise InvalidInput("contest", "the roi objective needs a contest (field size, entry fee, payouts)")
    if contest is not None:
        contest.payout_table()  # fail on a bad table before simulating

    def phase(name: str) -> Progress | None:
        return None if progress is None else (lambda done, total: progress(name, done, total))

    simulation = run_simulation(
        spec, seed=seed, progress=phase("simulating"), should_cancel=should_cancel, chunk_size=chunk_size
    )
    played = (
        None
        if contest is None
        else prepare_contest(simulation, contest, seed=seed, n_ours=settings.n_lineups)
    )
    if settings.objective == "roi":
        assert played is not None
        portfolio = roi_portfolio(simulation, rules, played, progress=phase("optimizing"))
        return _played(
            OptimizationResult(spec, simulation.run_config, simulation.scenarios, rules, portfolio), played
        )
    portfolio = build_portfolio(
        simulation.scenarios.points,
        rules,
        objective=settings.objective,
        n_lineups=settings.n_lineups,
        target=settings.target,
        tail=settings.tail,
        smoothing=settings.smoothing,
        driver_ids=simulation.scenarios.driver_ids,
        progress=phase("optimizing"),
        should_cancel=should_cancel,
    )
    result = OptimizationResult(spec, simulation.run_config, simulation.scenarios, rules, portfolio)
    return result if played is None else _played(result, played)


def _played(result: OptimizationResult, contest: Contest) -> OptimizationResult:
    lineups = [lineup.drivers for lineup in result.portfolio.lineups]
    played = simulate_contest(result.scenarios.points, lineups, contest.field, contest.payouts)
    return dataclasses.replace(result, contest=contest, contest_result=played)


# --- contests ----------------------------------------------------------------------------------

CONTEST_STREAM = 0xC0  # the field's key: fold_in(run key, CONTEST_STREAM), apart from the scenarios'


@dataclass(frozen=True, slots=True)
class ContestSettings:
    """A contest to play our lineups in: its size and fee, its payouts (a preset name or a table)
    and the field's ownership (percent by driver id or name; None: projected from the scenarios,
    drivers left out of a partial one share the rest by the projection)."""

    field_size: int
    entry_fee: float
    payouts: str | PayoutTable = "gpp"
    ownership: Mapping[str, float] | None = None
    concentration: float | None = DEFAULT_CONCENTRATION
    temperature: float = DEFAULT_TEMPERATURE
    n_contests: int = 4  # simulated contests, each with its own draw of the field's ownership

    def payout_table(self) -> PayoutTable:
        if isinstance(self.payouts, PayoutTable):
            if self.payouts.n_entries != self.field_size or self.payouts.entry_fee != self.entry_fee:
                raise InvalidInput("payouts", "the payout table's entries and fee must be the contest's")
            return self.payouts
        return payout_table(self.payouts, self.field_size, self.entry_fee)


@dataclass(frozen=True, slots=True)
class ContestRun:
    simulation: SimulationResult
    contest: Contest
    result: ContestResult


def field_rules(spec: ConstraintSpec) -> LineupRules:
    """The site's roster and cap over the spec's drivers: what the field's lineups keep."""
    cap = None if spec.lineups is None else spec.lineups.salary_cap
    return compile_rules(spec.site.rules(), [d.driver_id for d in spec.drivers],
                         [d.salary for d in spec.drivers], salary_cap=cap)  # fmt: skip


def prepare_contest(
    simulation: SimulationResult, settings: ContestSettings, *, seed: int, n_ours: int
) -> Contest:
    """Ownership, payouts and a simulated field of field_size - n_ours opponents."""
    payouts = settings.payout_table()
    if n_ours >= settings.field_size:
        raise InvalidInput(
            "field_size", f"must exceed the {n_ours} lineups entered, got {settings.field_size}"
        )
    spec = simulation.spec
    rules = field_rules(spec)
    ids = [d.driver_id for d in spec.drivers]
    key = jax.random.fold_in(run_key(seed), CONTEST_STREAM)
    ownership = project_ownership(
        simulation.scenarios.points, rules, ids, key=key, temperature=settings.temperature
    )
    if settings.ownership:
        names = [d.name for d in spec.drivers]
        ownership = supplied_ownership(settings.ownership, ids, names, rules.roster_size, ownership.percent)
    field = simulate_field(
        ownership, rules, settings.field_size - n_ours, key=key,
        concentration=settings.concentration, n_contests=settings.n_contests,
    )  # fmt: skip
    return Contest(field, payouts, ownership)


def run_contest(
    spec: ConstraintSpec,
    lineups: Sequence[Sequence[str]],
    settings: ContestSettings,
    *,
    seed: int,
    progress: PhaseProgress | None = None,
) -> ContestRun:
    """Simulate the race, then play `lineups` (driver ids) in the contest: `axiom contest`."""
    index = {d.driver_id: i for i, d in enumerate(spec.drivers)}
    rows = []
    for k, lineup in enumerate(lineups):
        unknown = [d for d in lineup if d not in index]
        if unknown:
            raise InvalidInput(f"lineups[{k}]", f"drivers not in the slate: {unknown}")
        rows.append([index[d] for d in lineup])
        check_lineup(field_rules(spec), rows[-1])
    simulation = run_simulation(
        spec, seed=seed, progress=None if progress is None else (lambda d, t: progress("simulating", d, t))
    )
    contest = prepare_contest(simulation, settings, seed=seed, n_ours=len(rows))
    result = simulate_contest(
        simulation.scenarios.points, rows, contest.field, contest.payouts,
        progress=None if progress is None else (lambda d, t: progress("contest", d, t)),
    )  # fmt: skip
    return ContestRun(simulation, contest, result)


def roi_portfolio(
    simulation: SimulationResult, rules: LineupRules, contest: Contest, *, progress: Progress | None = None
) -> Portfolio:
    """The roi objective's portfolio, described like the other objectives' (lineup statistics)."""
    settings = simulation.spec.lineups
    assert settings is not None
    points = np.asarray(simulation.scenarios.points, dtype=np.float64)
    built = build_roi_portfolio(
        points, rules, contest, n_lineups=settings.n_lineups,
        driver_ids=simulation.scenarios.driver_ids, progress=progress,
    )  # fmt: skip
    if settings.target is None:  # the enumeration's answer, the MILP's: no solver run needed
        target = default_target(points, rules, lineups=enumerate_lineups(rules))
    else:
        target = settings.target
    stats = tuple(lineup_stats(points, rules, lineup, target) for lineup in built.lineups)
    hit = np.zeros(points.shape[0], bool)
    for lineup in built.lineups:
        hit |= points[:, list(lineup)].sum(axis=1) >= target
    # Portfolio.objective names core.opt's objectives; "roi" is this layer's (LineupObjective).
    objective = cast(Objective, "roi")
    return Portfolio(objective, "enumeration", target, stats, float(hit.mean()))
