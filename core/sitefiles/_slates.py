"""Slates from files: Axiom's drivers CSV (the format of data/samples/) or a site's player list."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import InvalidInput
from ..names import normalise_name
from ..slate import Driver, Slate, get_track
from ._players import PathLike, SitePlayer, read_draftkings_salaries, read_fanduel_players

SLATE_COLUMNS = (
    "driver_id",
    "name",
    "salary",
    "start_position",
    "skill",
    "aggression",
    "shadow_risk",
)


def read_drivers_csv(path: PathLike) -> tuple[Driver, ...]:
    """Read a slate file with the columns of SLATE_COLUMNS (the format of data/samples/)."""
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in SLATE_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise InvalidInput("slate", f"{path}: missing columns {missing}")
        return tuple(_driver_from_row(row, line) for line, row in enumerate(reader, start=2))


def _driver_from_row(row: Mapping[str, str], line: int) -> Driver:
    def number(name: str, kind: type[int] | type[float]) -> int | float:
        try:
            return kind(row[name])
        except ValueError:
            raise InvalidInput(f"line {line}.{name}", f"not a number: {row[name]!r}") from None

    return Driver(
        driver_id=row["driver_id"].strip(),
        name=row["name"].strip(),
        salary=int(number("salary", int)),
        start_position=int(number("start_position", int)),
        skill=float(number("skill", float)),
        aggression=float(number("aggression", float)),
        shadow_risk=float(number("shadow_risk", float)),
    )


def load_slate(path: PathLike, track_id: str, slate_id: str | None = None) -> Slate:
    """A slate from a drivers file (the format of data/samples/) or from a site's player list
    (DKSalaries.csv or a FanDuel player export: names and salaries only, see
    `core.sitefiles.drivers_from_players`), and a known track."""
    drivers = read_site_drivers(path) if is_site_player_list(path) else read_drivers_csv(path)
    return Slate(drivers, get_track(track_id), slate_id or Path(path).stem)


def is_site_player_list(path: PathLike) -> bool:
    """Whether a slate file is a site's player list rather than a drivers file (no `skill` column)."""
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        return "skill" not in next(csv.reader(handle), [])


NEUTRAL_INPUT = 0.5  # skill, aggression and shadow_risk of a driver known only by name and salary


def drivers_from_players(
    players: Sequence[SitePlayer], start_positions: Mapping[str, int] | None = None
) -> tuple[Driver, ...]:
    """Drivers for a slate known only by names and salaries (a real DKSalaries.csv).

    Their model inputs come from history: compile the spec with `calibration_enabled=True` and
    each driver gets its fitted ratings by normalised name (the rookie prior when history has
    never seen the name). The raw inputs are neutral (0.5). Start positions come from
    `start_positions` (by name, any spelling) when qualifying is known; before it, the field is
    lined up by salary, highest first, as the site prices expected pace.
    """
    given = {normalise_name(name): p for name, p in (start_positions or {}).items()}
    by_salary = sorted(players, key=lambda p: (-p.salary, normalise_name(p.name)))
    drivers = []
    for rank, player in enumerate(by_salary, start=1):
        start = given.get(normalise_name(player.name), rank if not given else None)
        if start is None:
            raise InvalidInput("start_positions", f"no start position for {player.name!r}")
        drivers.append(
            Driver(
                driver_id=player.site_id,
                name=player.name,
                salary=player.salary,
                start_position=start,
                skill=NEUTRAL_INPUT,
                aggression=NEUTRAL_INPUT,
                shadow_risk=NEUTRAL_INPUT,
            )
        )
    return tuple(drivers)


def read_site_drivers(path: PathLike) -> tuple[Driver, ...]:
    """Drivers from a DraftKings or FanDuel player list, whichever the file is."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        text = handle.read(65_536)
    players = read_fanduel_players(path) if "First Name" in text else read_draftkings_salaries(path)
    return drivers_from_players(players)
