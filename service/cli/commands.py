"""The `axiom` command's subcommands: each reads its arguments, calls core, and renders."""

from __future__ import annotations

import argparse
import dataclasses
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
from rich.markup import escape

from core import (
    ConstraintSpec,
    InvalidInput,
    run_contest,
    run_optimization,
    run_simulation,
    sample_slate_path,
)
from core.calibration import RatingSettings, fit_ratings, load_params, params_content, write_params
from core.calibration import backtest as run_backtest
from core.history import DataWarning, load_history, shared_logs_path, shared_results_path
from core.sitefiles import SITE_NAMES, EntriesFile, is_site_player_list, read_entries, write_entries

from ..contracts import ENCODER
from ..mapping import has_site_ids, to_response, upload_rows, write_lineups_csv
from .contest import contest_report, contest_settings, print_contest, read_lineups
from .inputs import RaceWeek, assumed_teams, lineup_settings, read_race_week, rookies, site_players
from .plots import plot_backtest, plot_contest
from .render import (
    console,
    errors,
    phased_progress,
    print_backtest,
    print_diagnostics,
    print_drivers,
    print_exposures,
    print_lineups,
    print_race_week,
    progress_bar,
    simulation_report,
)

LOCAL_RUN_ID = "local"  # the run_id of a result computed by the CLI rather than the service


def demo(args: argparse.Namespace) -> int:
    path = sample_slate_path()
    console.print(f"[bold]Axiom demo[/]: DraftKings Cup slate, Bristol 2026 ({path.name})")
    common = {"slate": path, "track": "bristol", "n_scenarios": args.n_scenarios, "seed": args.seed,
              "site": "draftkings", "starts": None, "teams": None, "json": None,
              "calibration": True}  # fmt: skip
    simulate(argparse.Namespace(**common, race_length=None))
    console.print("\n[bold]Tournament lineups[/] (upside objective, at most 4 drivers shared)")
    return optimize(
        argparse.Namespace(
            **common, n_lineups=10, objective="upside", max_overlap=4, lock=[], exclude=[],
            min_exposure=[], max_exposure=[], salary_floor=0, target=None, salaries=None, entries=None,
            out=args.out, field_size=None, entry_fee=None, payouts="gpp", ownership=None,
        )
    )  # fmt: skip


def _compile(args: argparse.Namespace, week: RaceWeek, **options: Any) -> ConstraintSpec:
    """The spec of the slate, site, scenarios and ratings the command was given, after printing
    what the run assumes (the site it found, a guessed grid, drivers rated as rookies, teams
    taken from history)."""
    spec = ConstraintSpec.compile(
        week.slate.drivers,
        week.slate.track,
        site=week.site,
        n_scenarios=args.n_scenarios,
        calibration_enabled=args.calibration,
        **options,
    )
    print_race_week(week, spec, rookies(spec), assumed_teams(week, spec))
    return spec


def simulate(args: argparse.Namespace) -> int:
    spec = _compile(args, read_race_week(args), race_length=args.race_length)
    started = time.perf_counter()
    with progress_bar("simulating", spec.scenarios.n_scenarios) as advance:
        result = run_simulation(spec, seed=args.seed, progress=advance)
    elapsed = time.perf_counter() - started
    names = {d.driver_id: d.name for d in spec.drivers}
    print_drivers(result, names)
    print_diagnostics(result, elapsed)
    if args.json is not None:
        report = msgspec.json.encode(simulation_report(result, names, elapsed))
        args.json.write_bytes(msgspec.json.format(report) + b"\n")
        console.print(f"wrote {args.json}")
    return 0


def optimize(args: argparse.Namespace) -> int:
    if args.entries is not None and args.out is None:
        raise InvalidInput("out", "--entries needs --out FILE, where the filled entries file is written")
    week = read_race_week(args)
    entries = None if args.entries is None else read_entries(args.entries, week.site)
    n_lineups = args.n_lineups or (1 if entries is None else len(entries.entries))
    if entries is not None and n_lineups > len(entries.entries):
        raise InvalidInput(
            "n_lineups",
            f"{args.entries} holds {len(entries.entries)} entries, fewer than the {n_lineups} lineups "
            f"asked for: ask for at most {len(entries.entries)} (or reserve more entries and download "
            "the file again)",
        )
    spec = _compile(args, week, lineups=lineup_settings(args, week.slate.drivers, n_lineups))
    salaries = args.salaries
    if salaries is None and is_site_player_list(args.slate):
        salaries = args.slate  # a player list's ids are the upload ids
    players = site_players(salaries, week.site, [d.name for d in spec.drivers], entries)
    if entries is not None and players is None:
        raise InvalidInput(
            "entries",
            f"{args.entries} has no player table, so no player IDs: give the slate's --salaries file",
        )
    settings = contest_settings(args)
    started = time.perf_counter()
    with phased_progress(spec) as advance:
        result = run_optimization(spec, seed=args.seed, progress=advance, contest=settings)
    elapsed = time.perf_counter() - started
    print_lineups(result)
    if len(result.portfolio.lineups) > 1:
        print_exposures(result)
    if result.contest is not None and result.contest_result is not None:
        points = result.scenarios.points
        print_contest(result.contest_result, spec.field(), result.contest.ownership, points)
    console.print(f"{len(result.portfolio.lineups)} lineups in {elapsed:.2f} s (scenarios and solve)")
    site_ids = None if players is None else {d.driver_id: players[d.name].site_id for d in spec.drivers}
    response = to_response(LOCAL_RUN_ID, result, site_ids)
    if entries is not None:
        write_entries(args.out, entries, upload_rows(response))
        console.print(_filled(args.out, entries, len(response.lineups)))
    elif args.out is not None:
        if not has_site_ids(response):
            errors.print(
                "[yellow]note:[/] no --salaries file, so the upload CSV carries Axiom driver ids, "
                "not the site's player IDs"
            )
        write_lineups_csv(args.out, response)
        console.print(f"wrote {args.out} ({week.site} upload format)")
    if args.json is not None:
        args.json.write_bytes(msgspec.json.format(ENCODER.encode(response)) + b"\n")
        console.print(f"wrote {args.json} (the API's result shape)")
    return 0


def contest(args: argparse.Namespace) -> int:
    settings = contest_settings(args)
    assert settings is not None
    spec = _compile(args, read_race_week(args))
    lineups = read_lineups(args.lineups, spec, args.slate)
    started = time.perf_counter()
    with progress_bar("simulating, then the contest", spec.scenarios.n_scenarios) as advance:
        run = run_contest(
            spec, lineups, settings, seed=args.seed, progress=lambda _phase, d, t: advance(d, t)
        )
    elapsed = time.perf_counter() - started
    drivers, points, ownership = spec.field(), run.simulation.scenarios.points, run.contest.ownership
    print_contest(run.result, drivers, ownership, points)
    console.print(
        f"{len(lineups)} lineups against {run.contest.field.n_entries:,} entries in {elapsed:.1f} s"
    )
    if args.json is not None:
        report = msgspec.json.encode(contest_report(run.result, drivers, ownership))
        args.json.write_bytes(msgspec.json.format(report) + b"\n")
        console.print(f"wrote {args.json}")
    if args.plot is not None:
        plot_contest(run.result, drivers, ownership, points, args.plot)
        console.print(f"wrote {args.plot}")
    return 0


def _filled(path: Path, entries: EntriesFile, n_lineups: int) -> str:
    filled = entries.entries[:n_lineups]
    replaced = sum(not entry.is_reserved for entry in filled)
    line = f"wrote {path}: {n_lineups} of {len(entries.entries)} {SITE_NAMES[entries.site]} entries filled"
    if replaced:
        line += f" ({replaced} had a lineup, now replaced)"
    left = len(entries.entries) - n_lineups
    if left:
        line += f"; the other {left} are left out of the file and keep what they have on the site"
    return line + "; upload it on the site's edit entries page"


def backtest(args: argparse.Namespace) -> int:
    settings = rating_settings(dict(args.overrides))
    results = args.results or shared_results_path()
    if results is None:
        raise InvalidInput("results", "no --results file given and ../shared/data is not beside the checkout")
    logs = args.logs or (shared_logs_path() if args.results is None else None)
    with warnings.catch_warnings(record=True) as skipped:
        warnings.simplefilter("always", DataWarning)  # every skipped race, however often loaded
        history = load_history(results, logs, last_season=args.seasons[1])
    for warning in skipped:
        errors.print(f"[yellow]warning:[/] {escape(str(warning.message))}")
    n_races = sum(args.seasons[0] <= r.season <= args.seasons[1] for r in history)
    if n_races == 0:
        raise InvalidInput("seasons", f"{results} has no races in {args.seasons[0]}-{args.seasons[1]}")
    started = time.perf_counter()
    with progress_bar("backtest", n_races) as progress:
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
    print_backtest(summary, time.perf_counter() - started)
    if "settings_changed" in summary:
        changed = summary["settings_changed"].items()
        console.print("settings changed: " + " ".join(f"{name}={value}" for name, value in changed))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(summary)) + b"\n")
    if args.plot is not None:
        plot_backtest(report, args.plot)
    return 0


def seasons(text: str) -> tuple[int, int]:
    """`--seasons`: one season (2025) or an inclusive range (2022-2024)."""
    first, _, last = text.partition("-")
    try:
        span = (int(first), int(last or first))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a season (2025) or a range (2022-2024), got {text!r}"
        ) from None
    if span[0] > span[1]:
        raise argparse.ArgumentTypeError(f"the range {text!r} runs backwards")
    return span


def setting(text: str) -> tuple[str, str]:
    """`--set NAME=VALUE`, split (the value is parsed by `rating_settings`)."""
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def rating_settings(overrides: Mapping[str, str]) -> RatingSettings:
    """The default rating settings with some fields replaced by values written as text; an
    unknown name or a value that does not parse raises InvalidInput naming the setting."""
    defaults = RatingSettings()
    known = [f.name for f in dataclasses.fields(defaults)]
    values: dict[str, float | bool] = {}
    for name, text in overrides.items():
        if name not in known:
            raise InvalidInput(f"settings.{name}", f"no such setting (known: {', '.join(known)})")
        values[name] = _setting_value(name, text, type(getattr(defaults, name)))
    return dataclasses.replace(defaults, **values)  # type: ignore[arg-type]


def _setting_value(name: str, text: str, kind: type) -> float | bool:
    if kind is bool:
        word = text.strip().lower()
        if word not in {"true", "false", "1", "0"}:
            raise InvalidInput(f"settings.{name}", f"expected true or false, got {text!r}")
        return word in {"true", "1"}
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"settings.{name}", f"expected a number, got {text!r}") from None
