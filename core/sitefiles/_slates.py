"""Slates from files: Axiom's drivers CSV (the format of data/samples/) or a site's player list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import InvalidInput
from ..names import normalise_name
from ..slate import Driver, Slate, get_track
from ._players import PathLike, SitePlayer, player_list_site, read_csv, read_site_players

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
    """Read a slate file with the columns of SLATE_COLUMNS (the format of data/samples/) and an
    optional `team` column (empty: unknown).

    Raises:
        InvalidInput: field "slate" for a missing column; "line N.column" for a row without that
            cell (a short row), an empty driver_id or name, or a cell that is not a number.
    """
    lines = [(line, cells) for line, cells in read_csv(path) if any(cell.strip() for cell in cells)]
    header = [cell.strip() for cell in lines[0][1]]
    missing = [c for c in SLATE_COLUMNS if c not in header]
    if missing:
        raise InvalidInput("slate", f"{path}: missing columns {missing}")
    columns = {name: header.index(name) for name in (*SLATE_COLUMNS, "team") if name in header}
    return tuple(_driver_from_row(path, line, cells, columns) for line, cells in lines[1:])


def _driver_from_row(path: PathLike, line: int, cells: Sequence[str], columns: Mapping[str, int]) -> Driver:
    def cell(name: str) -> str:
        index = columns[name]
        if index >= len(cells):
            raise InvalidInput(
                f"line {line}.{name}",
                f"{path}: the row has {len(cells)} cells, so no {name} (column {index + 1})",
            )
        return cells[index].strip()

    def text(name: str) -> str:
        value = cell(name)
        if not value:
            raise InvalidInput(f"line {line}.{name}", f"{path}: empty")
        return value

    def number(name: str, kind: type[int] | type[float]) -> int | float:
        raw = cell(name)
        try:
            return kind(raw)
        except ValueError:
            raise InvalidInput(f"line {line}.{name}", f"{path}: not a number: {raw!r}") from None

    return Driver(
        driver_id=text("driver_id"),
        name=text("name"),
        salary=int(number("salary", int)),
        start_position=int(number("start_position", int)),
        skill=float(number("skill", float)),
        aggression=float(number("aggression", float)),
        shadow_risk=float(number("shadow_risk", float)),
        team=cell("team") if "team" in columns and columns["team"] < len(cells) else "",
    )


def load_slate(path: PathLike, track_id: str, slate_id: str | None = None) -> Slate:
    """A slate from a drivers file (the format of data/samples/) or from a site's player list
    (DKSalaries.csv or a FanDuel player export: names and salaries only, see
    `core.sitefiles.drivers_from_players`), and a known track."""
    drivers = read_site_drivers(path) if is_site_player_list(path) else read_drivers_csv(path)
    return Slate(drivers, get_track(track_id), slate_id or Path(path).stem)


def is_site_player_list(path: PathLike) -> bool:
    """Whether a slate file is a site's player list rather than a drivers file (no `skill` column)."""
    first = next(cells for _, cells in read_csv(path) if any(cell.strip() for cell in cells))
    return "skill" not in [cell.strip() for cell in first]


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
    return drivers_from_players(read_site_players(path, player_list_site(path) or "draftkings"))
