"""The translations between the API's shapes and core's: request -> ConstraintSpec, result ->
response, and a response's lineups -> the site's upload rows (used by the route and the CLI)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TextIO

from core import (
    ConstraintSpec,
    ContestSettings,
    Driver,
    LapsLed,
    LineupSettings,
    OptimizationResult,
    get_track,
)
from core.calibration import backtest_scores
from core.contest import PayoutRow, PayoutTable
from core.sitefiles import PathLike, SitePlayer, write_upload

from .contracts import (
    ContestMetrics,
    ContestSummary,
    DriverSelection,
    Lineup,
    OptimizeRequest,
    OptimizeResponse,
    ScenarioDiagnostics,
)

NO_SALARIES = "no driver has a salary: lineups were chosen without a salary constraint"
ASSUMED_TEAMS = (
    "teams: drivers given no `team` drive for their latest team in the fitted history (a driver who "
    "changed teams needs `team`):"
)
AXIOM_IDS = (
    "lineups.csv carries Axiom's driver_ids, not the site's player IDs (give each driver its "
    "site_player_id for a file the site accepts)"
)


def to_spec(request: OptimizeRequest) -> ConstraintSpec:
    """The run's ConstraintSpec. Raises InvalidInput naming the field.

    A driver's name defaults to its driver_id and its start to the order the drivers were given
    in; without salaries every driver costs 0, so the salary cap never binds."""
    config = request.scenario_config
    drivers = [
        Driver(
            driver_id=d.driver_id,
            name=d.driver_id if d.name is None else d.name,
            salary=0 if d.salary is None else d.salary,
            start_position=order if d.start_position is None else d.start_position,
            skill=d.skill,
            aggression=d.aggression,
            shadow_risk=d.shadow_risk,
            team=d.team or "",
        )
        for order, d in enumerate(request.drivers, start=1)
    ]
    conditions = {
        d.driver_id: LapsLed(min_laps_led=d.min_laps_led, max_laps_led=d.max_laps_led)
        for d in request.drivers
        if d.min_laps_led > 0 or d.max_laps_led is not None
    }
    settings = LineupSettings(
        objective=request.objective,
        n_lineups=request.n_lineups,
        salary_cap=request.salary_cap,
        locks=tuple(d.driver_id for d in request.drivers if d.locked),
        excludes=tuple(d.driver_id for d in request.drivers if d.excluded),
        max_overlap=request.max_overlap,
        min_exposure={d.driver_id: d.min_exposure for d in request.drivers if d.min_exposure is not None},
        max_exposure={d.driver_id: d.max_exposure for d in request.drivers if d.max_exposure is not None},
        target=request.target_score,
    )
    return ConstraintSpec.compile(
        drivers,
        get_track(config.track_id),
        site=request.site,
        n_scenarios=config.n_scenarios,
        race_length=config.race_length,
        calibration_enabled=config.calibration_enabled,
        conditions=conditions,
        lineups=settings,
    )


def contest_settings(request: OptimizeRequest) -> ContestSettings | None:
    """The request's contest as core takes it (None: no contest)."""
    contest = request.contest
    if contest is None:
        return None
    payouts: str | PayoutTable = contest.payouts if isinstance(contest.payouts, str) else PayoutTable(
        contest.entry_fee, contest.field_size,
        tuple(PayoutRow(p.place_from, p.place_to, p.prize) for p in contest.payouts),
    )  # fmt: skip
    return ContestSettings(contest.field_size, contest.entry_fee, payouts, contest.ownership)


def _contest_summary(result: OptimizationResult) -> ContestSummary | None:
    if result.contest is None or result.contest_result is None:
        return None
    payouts, ownership = result.contest.payouts, result.contest.ownership
    return ContestSummary(
        field_size=payouts.n_entries,
        entry_fee=payouts.entry_fee,
        n_paid=payouts.n_paid,
        first_prize=float(payouts.prizes()[0]) if payouts.n_paid else 0.0,
        ownership={d: round(p, 4) for d, p in ownership.by_driver().items()},
        ownership_source=ownership.source,  # type: ignore[arg-type]
        portfolio=ContestMetrics(**dataclasses.asdict(result.contest_result.portfolio)),
    )


def response_for(run_id: str, request: OptimizeRequest, result: OptimizationResult) -> OptimizeResponse:
    """The response of a run the service computed for `request`."""
    site_ids = {d.driver_id: d.site_player_id for d in request.drivers if d.site_player_id is not None}
    salaries = request.drivers[0].salary is not None  # the contract has every driver's or none
    given = {d.driver_id for d in request.drivers if d.team is not None}
    assumed = [
        f"{d.name} ({d.ratings.team})"
        for d in result.spec.drivers
        if d.ratings is not None and d.ratings.team and d.driver_id not in given
    ]
    notes = [f"{ASSUMED_TEAMS} {', '.join(assumed)}"] if assumed else []
    return to_response(run_id, result, site_ids, salary_constrained=salaries, notes=notes)


def to_response(
    run_id: str,
    result: OptimizationResult,
    site_ids: Mapping[str, str] | None = None,
    *,
    salary_constrained: bool = True,
    notes: Sequence[str] = (),
) -> OptimizeResponse:
    """The response of a completed run. Within a lineup, drivers are in slot order: salary
    descending, then driver_id; `position` is that slot (1-based), the order of the upload file.
    `site_ids` maps driver_id to the site's player ID where it is known."""
    site_ids = site_ids or {}
    spec = result.spec
    assert spec.lineups is not None
    mean_points = result.scenarios.points.mean(axis=0, dtype="float64")
    lineups = []
    played = None if result.contest_result is None else result.contest_result.per_lineup
    for k, stats in enumerate(result.portfolio.lineups):
        drivers = spec.drivers
        slots = sorted(stats.drivers, key=lambda i: (-drivers[i].salary, drivers[i].driver_id))
        lineups.append(
            Lineup(
                drivers=[
                    DriverSelection(
                        driver_id=drivers[i].driver_id,
                        name=drivers[i].name,
                        salary=drivers[i].salary,
                        projected_points=float(mean_points[i]),
                        position=slot,
                        site_player_id=site_ids.get(drivers[i].driver_id),
                    )
                    for slot, i in enumerate(slots, start=1)
                ],
                total_projected_points=stats.mean,
                total_salary=stats.salary,
                std=stats.std,
                p10=stats.p10,
                p50=stats.p50,
                p90=stats.p90,
                p99=stats.p99,
                p_beat_target=stats.p_beat_target,
                contest=None if played is None else ContestMetrics(**dataclasses.asdict(played[k])),
            )
        )
    d = result.scenarios.diagnostics
    diagnostics = ScenarioDiagnostics(
        n_scenarios_generated=d.n_scenarios_generated,
        n_valid=d.n_valid,
        rejection_rate=d.rejection_rate,
        rejections_by_reason=dict(d.rejections_by_reason),
        avg_laps_led=d.avg_laps_led,
        avg_position_differential=d.avg_position_differential,
        regime_shares=dict(d.regime_shares),
        calibration_metrics=backtest_scores(spec.scenarios.params_version, spec.track.archetype),
    )
    best = lineups[0]
    chosen = {d.driver_id for lineup in lineups for d in lineup.drivers}
    upload_ids = "site" if chosen <= set(site_ids) else "axiom"
    notes = [
        note
        for note, applies in ((NO_SALARIES, not salary_constrained), (AXIOM_IDS, upload_ids == "axiom"))
        if applies
    ] + list(notes)
    return OptimizeResponse(
        run_id=run_id,
        status="completed",
        lineup=best.drivers,
        total_projected_points=best.total_projected_points,
        total_salary=best.total_salary,
        lineups=lineups,
        salary_constrained=salary_constrained,
        upload_ids=upload_ids,
        notes=notes,
        site=spec.site.site,  # type: ignore[arg-type]
        objective=spec.lineups.objective,
        target_score=result.portfolio.target,
        scenario_diagnostics=diagnostics,
        constraint_spec_hash=spec.hash,
        run_config=result.run_config,
        contest=_contest_summary(result),
    )


def upload_rows(response: OptimizeResponse) -> list[list[SitePlayer]]:
    """Each lineup's drivers as site players, in slot order (`DriverSelection.position`), with the
    site's player ID where the run knows it and Axiom's driver_id where it does not."""

    def player(d: DriverSelection) -> SitePlayer:
        site_id = d.driver_id if d.site_player_id is None else d.site_player_id
        return SitePlayer(site=response.site, site_id=site_id, name=d.name, salary=d.salary)

    return [[player(d) for d in sorted(lineup.drivers, key=_slot)] for lineup in response.lineups]


def has_site_ids(response: OptimizeResponse) -> bool:
    """Whether every driver in the run's lineups carries the site's player ID (else the upload
    file holds Axiom's driver ids, which the site will not accept)."""
    return response.upload_ids == "site"


def write_lineups_csv(target: PathLike | TextIO, response: OptimizeResponse) -> None:
    """Write the site's upload CSV of a run's lineups (a path, or an open text file)."""
    write_upload(target, response.site, upload_rows(response))


def _slot(selection: DriverSelection) -> int:
    return selection.position


__all__ = [
    "contest_settings",
    "has_site_ids",
    "response_for",
    "to_response",
    "to_spec",
    "upload_rows",
    "write_lineups_csv",
]
