"""The `axiom` command's arguments: one subparser per command, each with its handler, a help line
per option with its default, and a worked example."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, get_args

from core.slate import SiteName
from core.spec import OBJECTIVES

from . import commands as handlers
from . import hosting
from .contest import add_contest_arguments
from .inputs import exposure


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the examples' line breaks; adds "(default: X)" where an option has a real default
    (options whose default is None, empty or off say what happens in their own help)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        unset = action.default is None or action.default is False or action.default == []
        if action.required or unset or action.default == argparse.SUPPRESS or "default" in text:
            return text
        return super()._get_help_string(action) or text


EXAMPLES = {
    "demo": "axiom demo --n-scenarios 5000 --out lineups.csv",
    "simulate": (
        "axiom simulate --slate DKSalaries.csv --starts qualifying.csv --track bristol --seed 7 \\\n"
        "               --n-scenarios 10000 --json bristol.json"
    ),
    "optimize": (
        "axiom optimize --slate DKSalaries.csv --starts qualifying.csv --track bristol --seed 7 \\\n"
        "               --objective upside --max-overlap 4 --max-exposure 0.6 --lock 'Kyle Larson' \\\n"
        "               --entries DKEntries.csv --out filled.csv"
    ),
    "contest": (
        "axiom contest --slate data/samples/draftkings-bristol-2026.csv --track bristol --seed 7 \\\n"
        "              --lineups lineups.csv --field-size 20000 --entry-fee 20 --plot contest.png"
    ),
    "backtest": "axiom backtest --seasons 2022-2024 --n-scenarios 1000 --seed 0 --json bt.json --plot bt.png",
    "serve": "axiom serve --host 127.0.0.1 --port 8000",
    "worker": "AXIOM_DATABASE=postgresql://axiom@db-host/axiom axiom worker --concurrency 2",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="axiom", description="NASCAR DFS scenarios and lineups.")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=help,
            description=help,
            epilog=f"example:\n  {EXAMPLES[name]}",
            formatter_class=HelpFormatter,
        )

    demo = command("demo", "simulate the shipped DraftKings Bristol 2026 slate, then build 10 lineups")
    demo.add_argument(
        "--n-scenarios", type=int, default=20_000, metavar="N", help="race scenarios to simulate"
    )
    demo.add_argument("--seed", type=int, default=2026, help="random seed (the same seed, the same output)")
    demo.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the lineups' upload CSV here (default: none)",
    )
    demo.set_defaults(handler=handlers.demo)

    simulate = command("simulate", "simulate a slate and summarise each driver")
    _slate_arguments(simulate)
    simulate.add_argument(
        "--race-length", type=int, default=None, metavar="LAPS", help="laps (default: the track's)"
    )
    simulate.add_argument(
        "--json", type=Path, default=None, help="also write the results as JSON (default: none)"
    )
    simulate.set_defaults(handler=handlers.simulate)

    optimize = command("optimize", "simulate a slate, then build lineups against it")
    _slate_arguments(optimize)
    _lineup_arguments(optimize)
    add_contest_arguments(optimize, required=False)
    optimize.set_defaults(handler=handlers.optimize)

    contest = command("contest", "play your lineups in a contest against a simulated field")
    _slate_arguments(contest)
    contest.add_argument(
        "--lineups", type=Path, required=True, metavar="FILE",
        help="your lineups: the upload CSV `optimize --out` writes, or a DKEntries.csv with lineups",
    )  # fmt: skip
    add_contest_arguments(contest, required=True)
    contest.add_argument(
        "--json", type=Path, default=None, help="also write the results as JSON (default: none)"
    )
    contest.add_argument(
        "--plot", type=Path, default=None,
        help="write the profit distribution and ownership vs mean points, PNG (default: none)",
    )  # fmt: skip
    contest.set_defaults(handler=handlers.contest)

    backtest = command(
        "backtest", "forecast past races from the races before each one and score the forecasts"
    )
    backtest.add_argument(
        "--results",
        type=Path,
        default=None,
        help="season results CSV (default: ../shared/data's, if present)",
    )
    backtest.add_argument(
        "--logs", type=Path, default=None,
        help="loop-data race logs CSV, for fastest laps (default: ../shared/data's without --results)",
    )  # fmt: skip
    backtest.add_argument(
        "--seasons",
        type=handlers.seasons,
        default=(2022, 2024),
        help="one season (2025) or a range (2022-2024)",
    )
    backtest.add_argument("--n-scenarios", type=int, default=2_000, help="scenarios per race")
    backtest.add_argument("--seed", type=int, default=0, help="random seed")
    backtest.add_argument("--json", type=Path, default=None, help="write the scores as JSON (default: none)")
    backtest.add_argument(
        "--plot", type=Path, default=None, help="write the PIT / reliability figure, PNG (default: none)"
    )
    backtest.add_argument(
        "--write-params", type=Path, default=None, metavar="DIR",
        help="also fit on every race in the file and write the versioned parameters with these scores "
        "(default: none)",
    )  # fmt: skip
    backtest.add_argument(
        "--set", dest="overrides", type=handlers.setting, action="append", default=[], metavar="NAME=VALUE",
        help="change one rating setting for this run (repeatable), for example half_life_seasons=0.6; "
        "the fields of core.calibration.RatingSettings (default: none changed)",
    )  # fmt: skip
    backtest.set_defaults(handler=handlers.backtest)

    serve = command("serve", "run the REST service (settings from AXIOM_* variables)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument(
        "--workers", type=int, default=None, metavar="N",
        help="worker processes this server starts (default: AXIOM_WORKERS, else 1 on an embedded database "
        "and none on a postgresql:// one, whose workers are `axiom worker` processes)",
    )  # fmt: skip
    serve.set_defaults(handler=hosting.serve)

    worker = command(
        "worker", "compute runs from a shared PostgreSQL queue (AXIOM_DATABASE=postgresql://...)"
    )
    worker.add_argument(
        "--concurrency", type=_at_least_one, default=1, metavar="N", help="runs computed at once"
    )
    worker.add_argument(
        "--threads", type=_at_least_one, default=None, metavar="N",
        help="CPU threads of the worker's computations (default: one per core it may use); with several "
        "workers on one host, give each its share of the cores",
    )  # fmt: skip
    worker.add_argument(
        "--device", default=None, metavar="IDS",
        help="the GPUs this worker may use, as CUDA_VISIBLE_DEVICES (default: all it can see)",
    )  # fmt: skip
    worker.add_argument(
        "--memory-fraction", type=float, default=None, metavar="F",
        help="reserve this fraction of the GPU's memory up front (default: none reserved, each worker "
        "takes what it uses, so several can share a GPU)",
    )  # fmt: skip
    worker.set_defaults(handler=hosting.worker)
    return parser


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _slate_arguments(command: argparse.ArgumentParser) -> None:
    """What simulate and optimize share: the slate, the grid, the race, the scenarios and the ratings."""
    command.add_argument(
        "--slate", type=Path, required=True, metavar="FILE",
        help="a drivers CSV (the columns of data/samples/), a DraftKings DKSalaries.csv (or DKEntries.csv) "
        "or a FanDuel player list, as downloaded",
    )  # fmt: skip
    command.add_argument("--track", required=True, help="track id from data/tracks.csv, e.g. bristol")
    command.add_argument(
        "--starts", type=Path, default=None, metavar="FILE",
        help="the starting grid: a CSV of driver (name or ID) and start position, header optional "
        "(default: a drivers CSV's start_position; a site player list lines up by salary until qualifying)",
    )  # fmt: skip
    command.add_argument(
        "--teams", type=Path, default=None, metavar="FILE",
        help="this week's teams: a CSV of driver (name or ID) and team, header optional (calibrated runs; "
        "default: a drivers CSV's team column, else each driver's latest team in history)",
    )  # fmt: skip
    command.add_argument(
        "--n-scenarios", type=int, default=10_000, metavar="N", help="race scenarios to simulate"
    )
    command.add_argument(
        "--seed", type=int, required=True, help="random seed (the same seed, the same output)"
    )
    command.add_argument(
        "--site", choices=get_args(SiteName), default=None,
        help="the site whose scoring and roster rules apply (default: the site of the slate, --salaries or "
        "--entries file when one is a site's file, else draftkings)",
    )  # fmt: skip
    command.add_argument(
        "--calibration", action=argparse.BooleanOptionalAction, default=True,
        help="rate drivers from history (data/params; a name history has never seen is rated as a rookie); "
        "--no-calibration uses the slate's skill/aggression/shadow_risk",
    )  # fmt: skip


def _lineup_arguments(optimize: argparse.ArgumentParser) -> None:
    """optimize's own options: the portfolio, its rules and where it goes."""
    optimize.add_argument(
        "--n-lineups", type=int, default=None, metavar="N",
        help="lineups to build (default: one per entry with --entries, else 1)",
    )  # fmt: skip
    optimize.add_argument(
        "--objective", choices=OBJECTIVES, default="mean",
        help="mean points, upside (a smoothed chance of reaching --target), floor (mean of the worst 20%%) "
        "or roi (expected profit in the contest of --field-size and --entry-fee)",
    )  # fmt: skip
    optimize.add_argument(
        "--max-overlap",
        type=int,
        default=None,
        metavar="K",
        help="most drivers two lineups share (default: no limit)",
    )
    driver: dict[str, Any] = {"nargs": "+", "action": "extend", "default": [], "metavar": "DRIVER"}
    optimize.add_argument("--lock", **driver, help="drivers (name or ID) in every lineup (default: none)")
    optimize.add_argument("--exclude", **driver, help="drivers (name or ID) in no lineup (default: none)")
    share: dict[str, Any] = {"type": exposure, "action": "append", "default": []}
    optimize.add_argument(
        "--min-exposure", **share, metavar="DRIVER=SHARE",
        help="least share of the lineups holding a driver (name or ID), e.g. 'Kyle Larson=0.3' or "
        "'Kyle Larson=30%%'; repeatable (default: none)",
    )  # fmt: skip
    optimize.add_argument(
        "--max-exposure", **share, metavar="[DRIVER=]SHARE",
        help="most share of the lineups holding a driver; DRIVER=SHARE caps one driver, a bare SHARE every "
        "driver without a lock, minimum or cap of its own; repeatable (default: no cap)",
    )  # fmt: skip
    optimize.add_argument(
        "--salary-floor", type=int, default=0, metavar="USD", help="least salary a lineup spends"
    )
    optimize.add_argument(
        "--target", type=float, default=None, metavar="PTS",
        help="score to beat (default: the 99th percentile of the mean-optimal lineup)",
    )  # fmt: skip
    optimize.add_argument(
        "--salaries", type=Path, default=None, metavar="FILE",
        help="the site's player list (DKSalaries.csv or FanDuel players) for the upload's player IDs "
        "(default: the slate when it is one, else the --entries file's player table)",
    )  # fmt: skip
    optimize.add_argument(
        "--entries", type=Path, default=None, metavar="FILE",
        help="the site's entries file (DKEntries.csv, FanDuel's entries template): the lineups fill its "
        "entries in order and --out gets the file to upload; more lineups than entries is refused, fewer "
        "fill the first ones (default: none)",
    )  # fmt: skip
    optimize.add_argument(
        "--out", type=Path, default=None, metavar="FILE",
        help="write the site's upload CSV here, or the filled entries file with --entries (default: none)",
    )  # fmt: skip
    optimize.add_argument(
        "--json", type=Path, default=None, metavar="FILE",
        help="also write the result as JSON, the API's result shape (default: none)",
    )  # fmt: skip
