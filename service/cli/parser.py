"""The `axiom` command's arguments: one subparser per command, each with its handler."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import get_args

from core.opt import Objective
from core.slate import SiteName

from . import commands as handlers


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="axiom", description="NASCAR DFS scenarios and lineups.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="simulate the shipped DraftKings Bristol 2026 slate")
    demo.add_argument("--n-scenarios", type=int, default=20_000)
    demo.add_argument("--seed", type=int, default=2026)
    demo.add_argument("--out", type=Path, default=None, help="write the lineups' upload CSV here")
    demo.set_defaults(handler=handlers.demo)

    simulate = commands.add_parser("simulate", help="simulate a slate and summarise each driver")
    _slate_arguments(simulate)
    simulate.add_argument("--race-length", type=int, default=None, help="laps (default: the track's)")
    simulate.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    simulate.set_defaults(handler=handlers.simulate)

    optimize = commands.add_parser("optimize", help="simulate a slate, then build lineups against it")
    _slate_arguments(optimize)
    optimize.add_argument("--n-lineups", type=int, default=1)
    optimize.add_argument("--objective", choices=get_args(Objective), default="mean")
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
    optimize.add_argument(
        "--json", type=Path, default=None, help="also write the result as JSON (the API's result shape)"
    )
    optimize.set_defaults(handler=handlers.optimize)

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
        "--seasons", type=handlers.seasons, default=(2022, 2024), help="one season (2025) or a range"
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
        type=handlers.setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change one rating setting for this run (repeatable), for example half_life_seasons=0.6; "
        "the fields of core.calibration.RatingSettings",
    )
    backtest.set_defaults(handler=handlers.backtest)

    serve = commands.add_parser("serve", help="run the REST service (settings from AXIOM_* variables)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=handlers.serve)
    return parser


def _slate_arguments(command: argparse.ArgumentParser) -> None:
    """What simulate and optimize share: the slate, the race, the scenarios and the ratings."""
    command.add_argument(
        "--slate", type=Path, required=True,
        help="drivers CSV (see data/samples/) or the site's player list (DKSalaries.csv, FanDuel)",
    )  # fmt: skip
    command.add_argument("--track", required=True, help="track id from data/tracks.csv, e.g. bristol")
    command.add_argument("--n-scenarios", type=int, default=10_000)
    command.add_argument("--seed", type=int, required=True)
    command.add_argument("--site", choices=get_args(SiteName), default="draftkings")
    command.add_argument(
        "--calibration",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="drivers without ratings get fitted ratings from history (data/params); --no-calibration "
        "uses the slate's skill/aggression/shadow_risk",
    )
