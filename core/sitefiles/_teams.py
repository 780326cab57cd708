"""Teams from a file: which team each car of a slate drives for this week."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ..errors import InvalidInput
from ..slate import Driver
from ._grid import DRIVER_COLUMNS, find_drivers
from ._players import PathLike, read_csv

TEAM_COLUMNS = ("team", "team name", "owner", "organization")


def read_teams(path: PathLike) -> list[tuple[int, str, str]]:
    """(line, driver as written, team) of each row of a CSV of driver (name or id) and team; a
    header row is optional (with one, the columns are found by name).

    Raises:
        InvalidInput: field "teams" for a file without rows or without those columns; "line
            N.driver" or "line N.team" for a short row or an empty cell.
    """
    lines = [(line, cells) for line, cells in read_csv(path) if any(cell.strip() for cell in cells)]
    if not lines:
        raise InvalidInput("teams", f"{path}: no teams in the file")
    first = [cell.strip().casefold() for cell in lines[0][1]]
    driver_at, team_at = 0, 1
    if any(cell in DRIVER_COLUMNS for cell in first) and any(cell in TEAM_COLUMNS for cell in first):
        driver_at = next(i for i, cell in enumerate(first) if cell in DRIVER_COLUMNS)
        team_at = next(i for i, cell in enumerate(first) if cell in TEAM_COLUMNS)
        lines = lines[1:]
    rows = []
    for line, cells in lines:
        for column, index in (("driver", driver_at), ("team", team_at)):
            if len(cells) <= index or not cells[index].strip():
                raise InvalidInput(f"line {line}.{column}", f"{path}: no {column} in the row")
        rows.append((line, cells[driver_at].strip(), cells[team_at].strip()))
    return rows


def with_teams(drivers: Sequence[Driver], rows: Sequence[tuple[int, str, str]]) -> tuple[Driver, ...]:
    """The drivers with the teams of `rows` (drivers the file does not name keep theirs).

    Raises:
        InvalidInput: field "teams" naming every driver of the file that is not in the slate.
    """
    matched = find_drivers([driver for _, driver, _ in rows], drivers, "teams")
    team_of = {d.driver_id: team for d, (_, _, team) in zip(matched, rows, strict=True)}
    return tuple(dataclasses.replace(d, team=team_of.get(d.driver_id, d.team)) for d in drivers)
