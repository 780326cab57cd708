"""The `axiom` command: demo, simulate (optimize, backtest and serve arrive with their issues)."""

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
    SimulationResult,
    load_slate,
    run_simulation,
    sample_slate_path,
)
from core.sim import driver_summaries, race_statistics

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
    demo.set_defaults(handler=_demo)

    simulate = commands.add_parser("simulate", help="simulate a slate and summarise each driver")
    simulate.add_argument("--slate", type=Path, required=True, help="drivers CSV (see data/samples/)")
    simulate.add_argument("--track", required=True, help="track id from data/tracks.csv, e.g. bristol")
    simulate.add_argument("--n-scenarios", type=int, default=10_000)
    simulate.add_argument("--seed", type=int, required=True)
    simulate.add_argument("--site", choices=("draftkings", "fanduel"), default="draftkings")
    simulate.add_argument("--race-length", type=int, default=None, help="laps (default: the track's)")
    simulate.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    simulate.set_defaults(handler=_simulate)
    return parser


def _demo(args: argparse.Namespace) -> int:
    path = sample_slate_path()
    console.print(f"[bold]Axiom demo[/]: DraftKings Cup slate, Bristol 2026 ({path.name})")
    return _simulate(
        argparse.Namespace(
            slate=path, track="bristol", n_scenarios=args.n_scenarios, seed=args.seed,
            site="draftkings", race_length=None, json=None,
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
