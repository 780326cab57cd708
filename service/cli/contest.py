"""`axiom contest` and the contest options `optimize` shares: a user's lineups played against a
simulated field on the same scenarios, with the money each one makes."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from core import ConstraintSpec, ContestSettings, Driver, InvalidInput
from core.contest import PRESETS, ContestMetrics, ContestResult, Ownership, read_ownership, read_payouts
from core.names import surname
from core.sitefiles import (
    entries_site,
    find_drivers,
    is_site_player_list,
    read_entries,
    read_site_players,
)

from .render import console

_CELL = re.compile(r".*\(([^()]+)\)\s*|(.+)")  # "Name (ID)" or a bare ID


def add_contest_arguments(command: argparse.ArgumentParser, *, required: bool) -> None:
    """The contest: size, fee, payouts and ownership (optimize: needed with --objective roi)."""
    unset = "" if required else " (default: no contest)"
    command.add_argument(
        "--field-size", type=int, required=required, default=None, metavar="N",
        help=f"entries in the contest, ours included (up to 500,000){unset}",
    )  # fmt: skip
    command.add_argument(
        "--entry-fee", type=float, required=required, default=None, metavar="USD",
        help=f"the fee of one entry{unset}",
    )  # fmt: skip
    command.add_argument(
        "--payouts", default="gpp", metavar="PRESET|FILE",
        help=f"a preset ({', '.join(PRESETS)}) or a CSV of place_from,place_to,prize",
    )  # fmt: skip
    command.add_argument(
        "--ownership", type=Path, default=None, metavar="FILE",
        help="the field's ownership: a CSV of driver (name or ID) and percent; drivers left out share the "
        "rest by Axiom's projection (default: projected from the scenarios)",
    )  # fmt: skip


def contest_settings(args: argparse.Namespace) -> ContestSettings | None:
    if args.field_size is None and args.entry_fee is None:
        return None
    if args.field_size is None or args.entry_fee is None:
        raise InvalidInput("field_size", "a contest needs both --field-size and --entry-fee")
    payouts: Any = args.payouts
    if payouts not in PRESETS:
        if not Path(payouts).is_file():
            raise InvalidInput("payouts", f"{payouts!r} is neither a preset {PRESETS} nor a file")
        payouts = read_payouts(payouts, args.field_size, args.entry_fee)
    ownership = None if args.ownership is None else read_ownership(args.ownership)
    return ContestSettings(
        field_size=args.field_size, entry_fee=args.entry_fee, payouts=payouts, ownership=ownership
    )


def read_lineups(path: Path, spec: ConstraintSpec, slate: Path) -> list[list[str]]:
    """Driver ids of each lineup in an upload CSV (`optimize --out`) or a site's entries file;
    cells are the site's player IDs (matched through the slate when it is a player list), Axiom
    driver ids, or names."""
    site = spec.site.site
    if entries_site(path) is not None:
        cells = [list(e.lineup) for e in read_entries(path, site).entries if not e.is_reserved]  # type: ignore[arg-type]
        references = [[_reference(cell) for cell in row] for row in cells]
    else:
        references = _upload_references(path, spec.site.roster_size)
    if not references:
        raise InvalidInput("lineups", f"{path} holds no lineups")
    drivers = spec.field()
    names = {}
    if is_site_player_list(slate):
        names = {p.site_id: p.name for p in read_site_players(slate, site)}  # type: ignore[arg-type]
    return [[d.driver_id for d in _drivers(row, names, drivers, k)] for k, row in enumerate(references)]


def _upload_references(path: Path, roster_size: int) -> list[list[str]]:
    """The first roster_size cells of each row after the header: the site's upload layout, whose
    cells may carry Axiom driver ids (an upload written without the site's player list)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)][1:]
    short = [
        k for k, row in enumerate(rows) if len([c for c in row[:roster_size] if c.strip()]) < roster_size
    ]
    if short:
        raise InvalidInput("lineups", f"{path}: row {short[0] + 2} has fewer than {roster_size} drivers")
    return [[_reference(cell) for cell in row[:roster_size]] for row in rows]


def _reference(cell: str) -> str:
    found = _CELL.fullmatch(cell.strip())
    return "" if found is None else (found.group(1) or found.group(2) or "").strip()


def _drivers(row: Sequence[str], names: dict[str, str], drivers: Sequence[Driver], k: int) -> list[Driver]:
    return find_drivers([names.get(reference, reference) for reference in row], drivers, f"lineups[{k}]")


def print_contest(
    result: ContestResult, drivers: Sequence[Driver], ownership: Ownership, points: Any
) -> None:
    payouts = result.payouts
    console.print(
        f"contest: {payouts.n_entries:,} entries at ${payouts.entry_fee:,.2f}, {payouts.n_paid:,} paid, "
        f"first ${payouts.prizes()[0]:,.2f}; ownership {ownership.source} ({ownership.note})"
    )
    table = Table(title="Contest results per lineup (expected over the scenarios and simulated contests)")
    table.add_column("#", justify="right")
    table.add_column("drivers")
    for header in ("pts", "profit $", "ROI %", "win %", "top-1 %", "cash %", "dupes", "p5 $", "p95 $"):
        table.add_column(header, justify="right", no_wrap=True)
    means = np.asarray(points).mean(axis=0)
    for k, (lineup, metrics) in enumerate(zip(result.lineups, result.per_lineup, strict=True), start=1):
        names = " ".join(surname(drivers[i].name) for i in lineup)
        table.add_row(str(k), names, f"{means[list(lineup)].sum():.1f}", *_cells(metrics))
    table.add_row("all", f"{len(result.lineups)} lineups", "", *_cells(result.portfolio), style="bold")
    console.print(table)


def _cells(m: ContestMetrics) -> list[str]:
    return [
        f"{m.expected_profit:,.2f}",
        f"{100 * m.roi:.1f}",
        f"{100 * m.win:.3f}",
        f"{100 * m.top_1:.2f}",
        f"{100 * m.cash:.1f}",
        f"{m.duplicates:.1f}",
        f"{m.profit_p5:,.0f}",
        f"{m.profit_p95:,.0f}",
    ]


def contest_report(result: ContestResult, drivers: Sequence[Driver], ownership: Ownership) -> dict[str, Any]:
    payouts = result.payouts
    return {
        "field_size": payouts.n_entries,
        "entry_fee": payouts.entry_fee,
        "payouts": [dataclasses.asdict(row) for row in payouts.rows],
        "ownership": {
            d.driver_id: round(float(p), 3) for d, p in zip(drivers, ownership.percent, strict=True)
        },
        "ownership_source": ownership.source,
        "lineups": [
            {"drivers": [drivers[i].driver_id for i in lineup], **dataclasses.asdict(metrics)}
            for lineup, metrics in zip(result.lineups, result.per_lineup, strict=True)
        ],
        "portfolio": dataclasses.asdict(result.portfolio),
    }
