"""The starting grid from a qualifying file, and drivers referred to by id or by name."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InvalidInput
from ..names import normalise_name
from ..slate import Driver
from ._players import PathLike, read_csv, unknown_names

# Header names (casefolded) of a grid file's two columns; a file without a header is driver, start.
DRIVER_COLUMNS = ("driver", "name", "driver name", "driver_id", "id", "player")
START_COLUMNS = (
    "start",
    "start_position",
    "start position",
    "starting position",
    "pos",
    "position",
    "qualifying",
)

_WHOLE = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class GridSlot:
    """One row of a grid file: a driver (name or id, as written) and where it starts."""

    line: int
    driver: str
    start_position: int


def read_start_positions(path: PathLike) -> list[GridSlot]:
    """Read a starting grid: a CSV of driver (name or id) and start position, one row a car.

    A header row is optional; with one, the columns are found by name (driver, name or id; start,
    start_position, pos or position), so a qualifying results export with more columns reads too.

    Raises:
        InvalidInput: field "starts" for a file without rows or without those columns; "line
            N.driver" or "line N.start" for a short row, an empty driver or a bad position.
    """
    lines = [(line, cells) for line, cells in read_csv(path) if any(cell.strip() for cell in cells)]
    first = [cell.strip().casefold() for cell in lines[0][1]]
    driver_at, start_at = 0, 1
    if len(first) < 2 or not _WHOLE.fullmatch(first[1]):  # a header row
        driver_at, start_at = (_column(path, first, names) for names in (DRIVER_COLUMNS, START_COLUMNS))
        lines = lines[1:]
    if not lines:
        raise InvalidInput("starts", f"{path}: no start positions in the file")
    grid = []
    for line, cells in lines:
        if len(cells) <= max(driver_at, start_at):
            column = "driver" if len(cells) <= driver_at else "start"
            raise InvalidInput(
                f"line {line}.{column}", f"{path}: the row has {len(cells)} cell(s), so no {column}"
            )
        driver, start = cells[driver_at].strip(), cells[start_at].strip()
        if not driver:
            raise InvalidInput(f"line {line}.driver", f"{path}: empty")
        if not _WHOLE.fullmatch(start) or int(start) < 1:
            raise InvalidInput(f"line {line}.start", f"{path}: not a start position (1, 2, ...): {start!r}")
        grid.append(GridSlot(line=line, driver=driver, start_position=int(start)))
    return grid


def _column(path: PathLike, header: Sequence[str], names: Sequence[str]) -> int:
    for index, cell in enumerate(header):
        if cell in names:
            return index
    raise InvalidInput("starts", f"{path}: no column named {' or '.join(names[:3])} in the header {header}")


def find_drivers(references: Sequence[str], drivers: Sequence[Driver], field: str) -> list[Driver]:
    """The driver each reference names: its driver_id, or its name in any spelling.

    Raises:
        InvalidInput: `field`, listing every reference no driver matches with the closest names.
    """
    by_id = {d.driver_id: d for d in drivers}
    by_key = {normalise_name(d.name): d for d in drivers}
    found, unknown = [], []
    for reference in references:
        driver = by_id.get(reference.strip()) or by_key.get(normalise_name(reference))
        if driver is None:
            unknown.append(reference)
        else:
            found.append(driver)
    if unknown:
        display = {key: d.name for key, d in by_key.items()}
        raise InvalidInput(field, unknown_names(unknown, display, "the slate"))
    return found


def with_start_positions(
    drivers: Sequence[Driver], grid: Sequence[GridSlot], source: PathLike
) -> tuple[Driver, ...]:
    """The drivers with the grid's start positions (the grid read from `source`, for messages).

    Raises:
        InvalidInput: field "starts" when a grid driver is not in the slate (with the closest
            names), a slate driver has no start, or the starts are not 1..N; "line N" when a
            driver or a position appears twice.
    """
    matched = find_drivers([slot.driver for slot in grid], drivers, "starts")
    by_driver: dict[str, GridSlot] = {}
    by_start: dict[int, GridSlot] = {}
    for slot, driver in zip(grid, matched, strict=True):
        first = by_driver.setdefault(driver.driver_id, slot)
        if first is not slot:
            raise InvalidInput(
                f"line {slot.line}",
                f"{source}: {driver.name!r} is on the grid twice (lines {first.line} and {slot.line})",
            )
        first = by_start.setdefault(slot.start_position, slot)
        if first is not slot:
            raise InvalidInput(
                f"line {slot.line}.start",
                f"{source}: start {slot.start_position} given twice (lines {first.line} and {slot.line})",
            )
    missing = [d.name for d in drivers if d.driver_id not in by_driver]
    if missing:
        raise InvalidInput(
            "starts",
            f"{source}: no start position for {len(missing)} driver(s) of the slate: {', '.join(missing)}",
        )
    beyond = sorted(start for start in by_start if start > len(drivers))
    if beyond:
        raise InvalidInput("starts", f"{source}: start positions must run 1..{len(drivers)}, got {beyond}")
    return tuple(
        dataclasses.replace(d, start_position=by_driver[d.driver_id].start_position) for d in drivers
    )
