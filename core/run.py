"""The one pipeline: spec -> scenarios -> lineups -> result.

The CLI, the service's job workers and researchers all call run_simulation / run_optimization;
nothing else re-implements these steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import InvalidInput
from .opt import LineupRules, Portfolio, build_portfolio, compile_rules
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
) -> OptimizationResult:
    """Simulate the spec's race, then build its portfolio of lineups against those scenarios."""
    rules = lineup_rules(spec)  # fail on bad lineup rules before simulating
    settings = spec.lineups
    assert settings is not None

    def phase(name: str) -> Progress | None:
        return None if progress is None else (lambda done, total: progress(name, done, total))

    simulation = run_simulation(
        spec, seed=seed, progress=phase("simulating"), should_cancel=should_cancel, chunk_size=chunk_size
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
    return OptimizationResult(spec, simulation.run_config, simulation.scenarios, rules, portfolio)
