"""The `axiom` command: demo, simulate, optimize, backtest, serve."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from core import (
    AxiomError,
    ConstraintSpec,
    LineupSettings,
    OptimizationResult,
    SimulationResult,
    load_slate,
    run_optimization,
    run_simulation,
    sample_slate_path,
)
from core.calibration.backtest import SCORE_KEYS
from core.sim import driver_summaries, race_statistics
from core.sitefiles import (
    SitePlayer,
    match_players,
    read_draftkings_salaries,
    read_fanduel_players,
    write_draftkings_upload,
    write_fanduel_upload,
)
from core.slate import is_site_player_list

console = Console(stderr=False, width=None if sys.stdout.isatty() else 110)
errors = Console(stderr=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _enable_compilation_cache()
    try:
        return int(args.handler(args))
    except AxiomError as error:
        errors.print(f"[bold red]error:[/] {error}")
        return 2
    except FileNotFoundError as error:
        errors.print(f"[bold red]error:[/] file not found: {error.filename}")
        return 2


def _enable_compilation_cache() -> None:
    """Keep compiled kernels across runs (the first compile of a shape takes seconds)."""
    import jax

    cache = Path(os.environ.get("AXIOM_CACHE_DIR", Path.home() / ".cache" / "axiom")) / "jax"
    jax.config.update("jax_compilation_cache_dir", str(cache))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="axiom", description="NASCAR DFS scenarios and lineups.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="simulate the shipped DraftKings Bristol 2026 slate")
    demo.add_argument("--n-scenarios", type=int, default=20_000)
    demo.add_argument("--seed", type=int, default=2026)
    demo.add_argument("--out", type=Path, default=None, help="write the lineups' upload CSV here")
    demo.set_defaults(handler=_demo)

    simulate = commands.add_parser("simulate", help="simulate a slate and summarise each driver")
    simulate.add_argument("--slate", type=Path, required=True, help="drivers CSV (see data/samples/)")
    simulate.add_argument("--track", required=True, help="track id from data/tracks.csv, e.g. bristol")
    simulate.add_argument("--n-scenarios", type=int, default=10_000)
    simulate.add_argument("--seed", type=int, required=True)
    simulate.add_argument("--site", choices=("draftkings", "fanduel"), default="draftkings")
    simulate.add_argument("--race-length", type=int, default=None, help="laps (default: the track's)")
    simulate.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    simulate.add_argument(
        "--calibration",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="drivers without ratings get fitted ratings from history (data/params); --no-calibration "
        "uses the slate's skill/aggression/shadow_risk",
    )
    simulate.set_defaults(handler=_simulate)

    optimize = commands.add_parser("optimize", help="simulate a slate, then build lineups against it")
    optimize.add_argument("--slate", type=Path, required=True, help="drivers CSV (see data/samples/)")
    optimize.add_argument("--track", required=True, help="track id from data/tracks.csv")
    optimize.add_argument("--n-lineups", type=int, default=1)
    optimize.add_argument("--objective", choices=("mean", "upside", "floor"), default="mean")
    optimize.add_argument("--seed", type=int, required=True)
    optimize.add_argument("--n-scenarios", type=int, default=10_000)
    optimize.add_argument("--site", choices=("draftkings", "fanduel"), default="draftkings")
    optimize.add_argument("--max-overlap", type=int, default=None, help="most drivers two lineups share")
    optimize.add_argument("--lock", nargs="+", default=[], metavar="ID", help="driver ids in every lineup")
    optimize.add_argument("--exclude", nargs="+", default=[], metavar="ID", help="driver ids in none")
    optimize.add_argument("--salary-floor", type=int, default=0)
    optimize.add_argument("--target", type=float, default=None, help="score to beat (default: p99 of best)")
    optimize.add_argument(
        "--salaries", type=Path, default=None,
        help="the site's player list (DKSalaries.csv or FanDuel players) for the upload IDs",
    )  # fmt: skip
    optimize.add_argument("--out", type=Path, default=None, help="write the site's upload CSV here")
    optimize.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    optimize.add_argument(
        "--calibration",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="drivers without ratings get fitted ratings from history (data/params); --no-calibration "
        "uses the slate's skill/aggression/shadow_risk",
    )
    optimize.set_defaults(handler=_optimize)

    backtest = commands.add_parser(
        "backtest", help="forecast past races from the races before each one and score the forecasts"
    )
    backtest.add_argument(
        "--results",
        type=Path,
        default=None,
        help="season results CSV (default: ../shared/data's, if present)",
    )
    backtest.add_argument("--logs", type=Path, default=None, help="loop-data race logs CSV (fastest laps)")
    backtest.add_argument(
        "--seasons", type=_seasons, default=(2022, 2024), help="one season (2025) or a range"
    )
    backtest.add_argument("--n-scenarios", type=int, default=2_000)
    backtest.add_argument("--seed", type=int, default=0)
    backtest.add_argument("--json", type=Path, default=None, help="write the scores as JSON")
    backtest.add_argument("--plot", type=Path, default=None, help="write the PIT / reliability figure (PNG)")
    backtest.add_argument(
        "--write-params",
        type=Path,
        default=None,
        metavar="DIR",
        help="also fit on every race in the file and write the versioned parameters with these scores",
    )
    backtest.add_argument(
        "--set",
        dest="overrides",
        type=_setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change one rating setting for this run (repeatable), for example half_life_seasons=0.6; "
        "the fields of core.calibration.RatingSettings",
    )
    backtest.set_defaults(handler=_backtest)

    serve = commands.add_parser("serve", help="run the REST service (settings from AXIOM_* variables)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=_serve)
    return parser


def _seasons(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    try:
        seasons = (int(first), int(last or first))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a season (2025) or a range (2022-2024), got {text!r}"
        ) from None
    if seasons[0] > seasons[1]:
        raise argparse.ArgumentTypeError(f"the range {text!r} runs backwards")
    return seasons


def _setting(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def _backtest(args: argparse.Namespace) -> int:
    from core.calibration import backtest as run_backtest
    from core.calibration.params import load_params, params_content, write_params
    from core.calibration.ratings import RatingSettings, fit_ratings
    from core.errors import InvalidInput
    from core.history import load_history, shared_logs_path, shared_results_path

    settings = RatingSettings().with_overrides(dict(args.overrides))
    results = args.results or shared_results_path()
    if results is None:
        raise InvalidInput("results", "no --results file given and ../shared/data is not beside the checkout")
    logs = args.logs or (shared_logs_path() if args.results is None else None)
    history = load_history(results, logs, last_season=args.seasons[1])
    n_races = sum(args.seasons[0] <= r.season <= args.seasons[1] for r in history)
    if n_races == 0:
        raise InvalidInput("seasons", f"{results} has no races in {args.seasons[0]}-{args.seasons[1]}")
    started = time.perf_counter()
    with _progress_bar("backtest", n_races) as progress:
        report = run_backtest(
            history,
            args.seasons,
            n_scenarios=args.n_scenarios,
            seed=args.seed,
            settings=settings,
            progress=lambda done, total, race_id: progress(done, total),
        )
    summary = report.summary()
    if args.write_params is not None:
        last = max(history, key=lambda r: (r.season, r.race_number))
        table = fit_ratings(list(history), (last.season + 1, 1), report.settings)
        names = {e.driver_key: e.driver for r in history for e in r.entries}
        content = params_content(table, names, source=Path(results).name, backtest=summary)
        path = write_params(content, args.write_params)
        summary["params_version"] = load_params(path).version
        console.print(f"wrote {path}")
    _print_backtest(summary, time.perf_counter() - started)
    if "settings_changed" in summary:
        changed = summary["settings_changed"].items()
        console.print("settings changed: " + " ".join(f"{name}={value}" for name, value in changed))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(summary)) + b"\n")
    if args.plot is not None:
        from .plots import plot_backtest

        plot_backtest(report, args.plot)
    return 0


def _print_backtest(summary: dict[str, Any], elapsed: float) -> None:
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


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")
    return 0


def _demo(args: argparse.Namespace) -> int:
    path = sample_slate_path()
    console.print(f"[bold]Axiom demo[/]: DraftKings Cup slate, Bristol 2026 ({path.name})")
    common = {"slate": path, "track": "bristol", "n_scenarios": args.n_scenarios, "seed": args.seed,
              "site": "draftkings", "json": None, "calibration": True}  # fmt: skip
    _simulate(argparse.Namespace(**common, race_length=None))
    console.print("\n[bold]Tournament lineups[/] (upside objective, at most 4 drivers shared)")
    return _optimize(
        argparse.Namespace(
            **common, n_lineups=10, objective="upside", max_overlap=4, lock=[], exclude=[],
            salary_floor=0, target=None, salaries=None, out=args.out,
        )
    )  # fmt: skip


def _simulate(args: argparse.Namespace) -> int:
    slate = load_slate(args.slate, args.track)
    spec = ConstraintSpec.compile(
        slate.drivers,
        slate.track,
        site=args.site,
        n_scenarios=args.n_scenarios,
        race_length=args.race_length,
        calibration_enabled=args.calibration,
    )
    started = time.perf_counter()
    with _progress_bar("simulating", spec.scenarios.n_scenarios) as advance:
        result = run_simulation(spec, seed=args.seed, progress=advance)
    elapsed = time.perf_counter() - started
    names = {d.driver_id: d.name for d in spec.drivers}
    _print_drivers(result, names)
    _print_diagnostics(result, elapsed)
    if args.json is not None:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(_report(result, names, elapsed))))
        console.print(f"wrote {args.json}")
    return 0


def _optimize(args: argparse.Namespace) -> int:
    slate = load_slate(args.slate, args.track)
    settings = LineupSettings(
        objective=args.objective,
        n_lineups=args.n_lineups,
        salary_floor=args.salary_floor,
        locks=tuple(args.lock),
        excludes=tuple(args.exclude),
        max_overlap=args.max_overlap,
        target=args.target,
    )
    spec = ConstraintSpec.compile(
        slate.drivers,
        slate.track,
        site=args.site,
        n_scenarios=args.n_scenarios,
        calibration_enabled=args.calibration,
        lineups=settings,
    )
    salaries = args.salaries
    if salaries is None and is_site_player_list(args.slate):
        salaries = args.slate  # a player list's ids are the upload ids
    players = _site_players(salaries, args.site, [d.name for d in spec.drivers])
    started = time.perf_counter()
    with _phased_progress(spec) as advance:
        result = run_optimization(spec, seed=args.seed, progress=advance)
    elapsed = time.perf_counter() - started
    _print_lineups(result)
    console.print(f"{len(result.portfolio.lineups)} lineups in {elapsed:.2f} s (scenarios and solve)")
    if args.out is not None:
        _write_upload(args.out, result, players)
        console.print(f"wrote {args.out} ({args.site} upload format)")
    if args.json is not None:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(_optimize_report(result, elapsed))))
        console.print(f"wrote {args.json}")
    return 0


def _site_players(path: Path | None, site: str, names: list[str]) -> dict[str, SitePlayer] | None:
    if path is None:
        return None
    players = read_draftkings_salaries(path) if site == "draftkings" else read_fanduel_players(path)
    return match_players(players, names)


def _write_upload(path: Path, result: OptimizationResult, players: dict[str, SitePlayer] | None) -> None:
    drivers = result.spec.drivers
    if players is None:
        errors.print(
            "[yellow]note:[/] no --salaries file, so the upload CSV carries Axiom driver ids, "
            "not the site's player IDs"
        )
    site = result.spec.site.site

    def player(i: int) -> SitePlayer:
        d = drivers[i]
        fallback = SitePlayer(site=site, site_id=d.driver_id, name=d.name, salary=d.salary)  # type: ignore[arg-type]
        return fallback if players is None else players[d.name]

    lineups = [[player(i) for i in lineup.drivers] for lineup in result.portfolio.lineups]
    (write_draftkings_upload if site == "draftkings" else write_fanduel_upload)(path, lineups)


@contextmanager
def _phased_progress(spec: ConstraintSpec) -> Iterator[Any]:
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    assert spec.lineups is not None
    with Progress(*columns, console=errors, transient=True) as bar:
        tasks = {
            "simulating": bar.add_task("simulating", total=spec.scenarios.n_scenarios),
            "optimizing": bar.add_task("optimizing", total=spec.lineups.n_lineups),
        }
        yield lambda phase, done, _total: bar.update(tasks[phase], completed=done)


def _print_lineups(result: OptimizationResult) -> None:
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
        names = ", ".join(_surname(drivers[i].name) for i in lineup.drivers)
        table.add_row(
            str(k), names, f"{lineup.salary:,}", f"{lineup.mean:.1f}", f"{lineup.std:.1f}",
            f"{lineup.p10:.1f}", f"{lineup.p50:.1f}", f"{lineup.p90:.1f}", f"{lineup.p99:.1f}",
            f"{lineup.p_beat_target:.2%}",
        )  # fmt: skip
    console.print(table)


def _surname(name: str) -> str:
    parts = [p for p in name.split() if p.rstrip(".").lower() not in {"jr", "sr", "ii", "iii"}]
    return parts[-1] if parts else name


def _optimize_report(result: OptimizationResult, elapsed: float) -> dict[str, Any]:
    drivers = result.spec.drivers
    mean_points = result.scenarios.points.mean(axis=0)
    portfolio = result.portfolio
    return {
        "run_config": result.run_config,
        "spec_hash": result.spec.hash,
        "objective": portfolio.objective,
        "engine": portfolio.engine,
        "target": portfolio.target,
        "p_any_beats_target": portfolio.p_any_beats_target,
        "elapsed_s": elapsed,
        "lineups": [
            {
                "drivers": [
                    {
                        "driver_id": drivers[i].driver_id,
                        "name": drivers[i].name,
                        "salary": drivers[i].salary,
                        "mean_points": float(mean_points[i]),
                    }  # fmt: skip
                    for i in lineup.drivers
                ],
                **{k: v for k, v in dataclasses.asdict(lineup).items() if k != "drivers"},
            }
            for lineup in portfolio.lineups
        ],
        "diagnostics": dataclasses.asdict(result.scenarios.diagnostics),
    }


@contextmanager
def _progress_bar(label: str, total: int) -> Iterator[Any]:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=errors, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done, _total: bar.update(task, completed=done)


def _print_drivers(result: SimulationResult, names: dict[str, str]) -> None:
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


def _print_diagnostics(result: SimulationResult, elapsed: float) -> None:
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


def _report(result: SimulationResult, names: dict[str, str], elapsed: float) -> dict[str, Any]:
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


if __name__ == "__main__":
    sys.exit(main())
