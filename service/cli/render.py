"""What the `axiom` command shows: progress bars, tables, and the simulate command's JSON report."""

from __future__ import annotations

import dataclasses
import statistics
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from core import ConstraintSpec, OptimizationResult, SimulationResult
from core.calibration import SCORE_KEYS
from core.names import surname
from core.sim import driver_summaries, race_statistics
from core.sitefiles import SITE_NAMES

from .inputs import RaceWeek, Rookie

console = Console(stderr=False, width=None if sys.stdout.isatty() else 110)
errors = Console(stderr=True)


@contextmanager
def progress_bar(label: str, total: int) -> Iterator[Any]:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=errors, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done, _total: bar.update(task, completed=done)


@contextmanager
def phased_progress(spec: ConstraintSpec) -> Iterator[Any]:
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    assert spec.lineups is not None
    with Progress(*columns, console=errors, transient=True) as bar:
        tasks = {
            "simulating": bar.add_task("simulating", total=spec.scenarios.n_scenarios),
            "optimizing": bar.add_task("optimizing", total=spec.lineups.n_lineups),
        }
        yield lambda phase, done, _total: bar.update(tasks[phase], completed=done)


def print_drivers(result: SimulationResult, names: dict[str, str]) -> None:
    spec = result.spec
    table = Table(title=f"{spec.track.name}: {spec.scenarios.race_length} laps, {spec.site.site} points")
    table.add_column("driver", no_wrap=True, min_width=18)
    for header in ("salary", "start", "pts", "p90", "win%", "top5%", "led", "fast", "dnf%"):
        table.add_column(header, justify="right", no_wrap=True)
    salary = {d.driver_id: d for d in spec.drivers}
    for row in driver_summaries(result.scenarios):
        d = salary[row.driver_id]
        table.add_row(
            names[row.driver_id], f"{d.salary:,}", str(d.start_position),
            f"{row.mean_points:.1f}", f"{row.p90_points:.1f}", f"{100 * row.win_rate:.1f}",
            f"{100 * row.top5_rate:.1f}", f"{row.mean_laps_led:.1f}", f"{row.mean_fastest_laps:.1f}",
            f"{100 * row.dnf_rate:.1f}",
        )  # fmt: skip
    console.print(table)


def print_diagnostics(result: SimulationResult, elapsed: float) -> None:
    d = result.scenarios.diagnostics
    regimes = ", ".join(f"{name} {share:.0%}" for name, share in d.regime_shares.items())
    lines = [
        f"scenarios: {d.n_valid:,} valid of {d.n_scenarios_generated:,} generated "
        f"(rejection rate {d.rejection_rate:.1%}) in {elapsed:.2f} s",
        f"axiom violations: {d.axiom_violations}",
        f"lap leader leads {d.avg_laps_led:.1f} laps on average; {d.avg_leaders:.1f} drivers lead a lap",
        f"mean |start - finish|: {d.avg_position_differential:.2f}; cautions {d.avg_cautions:.1f}; "
        f"DNF rate {d.dnf_rate:.1%}",
        f"regimes: {regimes}",
        f"spec {result.run_config.spec_hash[:16]}…  seed {result.run_config.seed}  "
        f"params {result.run_config.params_version}",
    ]
    for reason, count in d.rejections_by_reason.items():
        lines.append(f"rejected {count:,}: {reason}")
    console.print("\n".join(lines))


def print_lineups(result: OptimizationResult) -> None:
    portfolio, drivers = result.portfolio, result.spec.drivers
    title = (
        f"{portfolio.objective} lineups ({portfolio.engine}); target {portfolio.target:.1f} pts, "
        f"P(any lineup reaches it) {portfolio.p_any_beats_target:.1%}"
    )
    table = Table(title=title)
    table.add_column("#", justify="right")
    table.add_column("drivers")
    for header in ("salary", "mean", "std", "p10", "p50", "p90", "p99", "P(≥target)"):
        table.add_column(header, justify="right", no_wrap=True)
    for k, lineup in enumerate(portfolio.lineups, start=1):
        names = ", ".join(surname(drivers[i].name) for i in lineup.drivers)
        table.add_row(
            str(k), names, f"{lineup.salary:,}", f"{lineup.mean:.1f}", f"{lineup.std:.1f}",
            f"{lineup.p10:.1f}", f"{lineup.p50:.1f}", f"{lineup.p90:.1f}", f"{lineup.p99:.1f}",
            f"{lineup.p_beat_target:.2%}",
        )  # fmt: skip
    console.print(table)


def print_race_week(
    week: RaceWeek,
    spec: ConstraintSpec,
    rookies: Sequence[Rookie],
    assumed_teams: Sequence[tuple[str, str]] = (),
) -> None:
    """Notes on what the run assumed: the site it found, a guessed grid, drivers rated as rookies,
    teams taken from history."""
    notes = []
    if week.site_shown_by is not None:
        notes.append(f"site: {SITE_NAMES[week.site]} ({week.site_shown_by})")
    if week.grid_guessed:
        notes.append(
            "grid: a guess until qualifying: without --starts the field lines up by salary, highest "
            "first (place differential depends on it: give --starts FILE once the grid is set)"
        )
    if rookies:
        strengths = sorted(d.ratings.strength for d in spec.drivers if d.ratings is not None)
        listed = ", ".join(
            f"{r.name} ({_ordinal(r.rank)} of {len(strengths)}{', ' + r.team if r.team else ''})"
            for r in rookies
        )
        notes.append(
            f"new to history: {len(rookies)} driver(s) rated as rookies, the parameter file's rookie prior "
            f"at {spec.track.archetype} tracks in average equipment where the team is unknown (strength "
            f"{rookies[0].strength:+.2f}; the field's median {statistics.median(strengths):+.2f}): {listed}"
        )
    if assumed_teams:
        listed = ", ".join(f"{name} ({team})" for name, team in assumed_teams)
        notes.append(
            f"teams: {len(assumed_teams)} driver(s) given no team drive for their latest team in history "
            f"(a driver who changed teams needs --teams FILE or a team column): {listed}"
        )
    for note in notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def print_exposures(result: OptimizationResult) -> None:
    """Each driver's share of the portfolio's lineups, most used first."""
    portfolio, drivers = result.portfolio, result.spec.drivers
    n_lineups = len(portfolio.lineups)
    counts = Counter(i for lineup in portfolio.lineups for i in lineup.drivers)
    table = Table(title=f"exposure: each driver's share of the {n_lineups} lineups")
    table.add_column("driver", no_wrap=True, min_width=18)
    for header in ("salary", "lineups", "share"):
        table.add_column(header, justify="right", no_wrap=True)
    for i, count in sorted(counts.items(), key=lambda item: (-item[1], -drivers[item[0]].salary, item[0])):
        table.add_row(drivers[i].name, f"{drivers[i].salary:,}", str(count), f"{count / n_lineups:.0%}")
    console.print(table)


def print_backtest(summary: dict[str, Any], elapsed: float) -> None:
    columns = {"Axiom": summary["overall"], **summary["baselines"]}
    for archetype, scores in summary["by_archetype"].items():
        columns[f"Axiom {archetype}"] = scores
    table = Table(title=f"Backtest {summary['seasons'][0]}-{summary['seasons'][1]} ({elapsed:.0f} s)")
    table.add_column("score")
    for name in columns:
        table.add_column(name, justify="right")
    for key in SCORE_KEYS:
        table.add_row(key, *(f"{c[key]:.3f}" if key != "n_races" else str(c[key]) for c in columns.values()))
    console.print(table)
    console.print("PIT deciles: " + " ".join(f"{x:.3f}" for x in summary["pit_deciles"]))


def simulation_report(result: SimulationResult, names: dict[str, str], elapsed: float) -> dict[str, Any]:
    return {
        "run_config": result.run_config,
        "spec_hash": result.spec.hash,
        "track": result.spec.track,
        "site": result.spec.site.site,
        "race_length": result.spec.scenarios.race_length,
        "elapsed_s": elapsed,
        "drivers": [
            {"name": names[row.driver_id], **dataclasses.asdict(row)}
            for row in driver_summaries(result.scenarios)
        ],
        "diagnostics": dataclasses.asdict(result.scenarios.diagnostics),
        "race_statistics": race_statistics(result.scenarios).as_dict(),
    }
