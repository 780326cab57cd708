"""Reading the results table and the race logs (CSV), and finding them in ../shared/data."""

from __future__ import annotations

import csv
import datetime
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput
from ..names import driver_key
from ._races import RaceEntry

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
RESULTS_FILE = "nascar_data_r/cup_series_results_1972_2024.csv"
LOGS_FILE = "zaxlab_race_logs/race-logs-2019-2024.csv"

RESULTS_COLUMNS = (
    "Season",
    "Race",
    "Track",
    "Length",
    "Surface",
    "Finish",
    "Start",
    "Driver",
    "Laps",
    "Led",
    "Status",
)
LOG_COLUMNS = (
    "driver_name",
    "race_date",
    "series",
    "track_name",
    "start",
    "finish",
    "fastest_lap",
    "laps_led",
    "laps",
    "status",
)
LOG_SERIES = "cup"

RaceKey = tuple[int, int]  # (season, race number)
EventKey = tuple[datetime.date, str]  # a log event: (race date, log track name)


def shared_results_path() -> Path | None:
    """The results file in ../shared/data beside the repository checkout, or None if absent."""
    path = SHARED_DATA / RESULTS_FILE
    return path if path.is_file() else None


def shared_logs_path() -> Path | None:
    """The race-logs file in ../shared/data beside the repository checkout, or None if absent."""
    path = SHARED_DATA / LOGS_FILE
    return path if path.is_file() else None


@dataclass(slots=True)
class ResultsRace:
    """One race of the results file: its track and its entries in file order.

    `surface` and `miles` are None where the race's rows leave them empty (or `Length` is not a
    number) and no other race at the track in the file gives them. `problem` is the line of the
    race's first row that could not be read and what is wrong with it (None when every row reads):
    such a race is not loaded, but its other rows are read so that its log event still matches it.
    """

    track: str
    surface: str | None
    miles: float | None
    entries: list[RaceEntry]
    line: int  # the race's first line in the file
    problem: tuple[int, str] | None = None


@dataclass(slots=True)
class Results:
    """The results file as read: the races of the seasons asked for, and every track's latest race."""

    races: dict[RaceKey, ResultsRace]
    # Track name -> (season, surface, miles) of its latest race in the whole file that gives both,
    # for exhibitions.
    tracks: dict[str, tuple[int, str, float]]


@dataclass(frozen=True, slots=True)
class LogRow:
    """One Cup row of the race logs."""

    driver: str
    key: str
    start: int
    finish: int
    fastest_laps: int | None
    laps_led: int
    laps: int
    status: str
    avg_position: float | None = None


@contextmanager
def _table(path: Path, field: str, required: Sequence[str]) -> Iterator[tuple[dict[str, int], _Reader]]:
    """Open a CSV file, check its header, and yield (column index, reader of the rows below it)."""
    if not path.is_file():
        raise InvalidInput(field, f"file not found: {path}")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None) or []
        index = {name.strip(): i for i, name in enumerate(header)}
        missing = [column for column in required if column not in index]
        if missing:
            raise InvalidInput(field, f"{path}: missing columns {missing}")

        yield index, _Reader(reader, len(header), field, path)


class _Reader:
    """The data rows of a CSV file: skips blank lines, rejects rows of the wrong width by line."""

    def __init__(self, reader: Iterator[list[str]], width: int, field: str, path: Path) -> None:
        self._reader = reader
        self._width = width
        self._field = field
        self._path = path
        self.line = 1

    def __iter__(self) -> Iterator[list[str]]:
        reader, width = self._reader, self._width
        for row in reader:
            self.line = reader.line_num  # type: ignore[attr-defined]
            if len(row) != width:
                if not row:
                    continue
                raise InvalidInput(
                    f"{self._field} line {self.line}",
                    f"{self._path}: {len(row)} fields where the header has {width}",
                )
            yield row


def _bad_value(row: list[str], index: Mapping[str, int], columns: Sequence[str]) -> str:
    """What is wrong with a row with an unparseable number: the first bad column and its value."""
    for column in columns:
        value = row[index[column]]
        try:
            int(value)
        except ValueError:
            return f"{column} is not a number: {value!r}"
    return "unparseable row"


def read_results(
    path: Path, first_season: int | None, last_season: int | None, keys: dict[str, str]
) -> Results:
    """Parse the results file into races keyed by (season, race number).

    A row whose season or race number does not parse raises InvalidInput (it belongs to no race);
    a race with another unparseable row is kept with its `problem`, for the caller to report.
    """
    races: dict[RaceKey, ResultsRace] = {}
    tracks: dict[str, tuple[int, str, float]] = {}
    entry_columns = ("Finish", "Start", "Laps", "Led")
    with _table(path, "results", RESULTS_COLUMNS) as (index, rows):
        i_season, i_race, i_track, i_length, i_surface, i_finish = (
            index[c] for c in ("Season", "Race", "Track", "Length", "Surface", "Finish")
        )
        i_start, i_driver, i_laps, i_led, i_status = (
            index[c] for c in ("Start", "Driver", "Laps", "Led", "Status")
        )
        i_team = index.get("Team")
        for row in rows:
            try:
                season = int(row[i_season])
            except ValueError:
                raise _invalid_row(path, rows.line, _bad_value(row, index, ["Season"])) from None
            miles = _length(row[i_length])
            track, surface = row[i_track].strip(), row[i_surface].strip().lower() or None
            if surface is not None and miles is not None:
                if track not in tracks or season >= tracks[track][0]:
                    tracks[track] = (season, surface, miles)
            if (first_season is not None and season < first_season) or (
                last_season is not None and season > last_season
            ):
                continue
            try:
                race_key = (season, int(row[i_race]))
            except ValueError:
                raise _invalid_row(path, rows.line, _bad_value(row, index, ["Race"])) from None
            table = races.get(race_key)
            if table is None:
                table = races[race_key] = ResultsRace(track, surface, miles, [], rows.line)
            table.surface = table.surface or surface  # the race's first row with each one
            table.miles = miles if table.miles is None else table.miles
            driver = row[i_driver].strip()
            try:
                start, finish = int(row[i_start]), int(row[i_finish])
                laps, led = int(row[i_laps]), int(row[i_led])
            except ValueError:
                table.problem = table.problem or (rows.line, _bad_value(row, index, entry_columns))
                continue  # the race's other rows are still read: log events match it by them
            if not driver:
                table.problem = table.problem or (rows.line, "Driver is empty")
                continue
            key = keys.get(driver)
            if key is None:
                key = keys[driver] = driver_key(driver)
            status = row[i_status].strip().lower()
            team = row[i_team].strip() if i_team is not None else ""
            entry = RaceEntry(driver, key, start, finish, laps, led, None, status, status != "running", team)
            table.entries.append(entry)
    for table in races.values():  # a race that lacks them: the track's latest race that gives them
        if (table.surface is None or table.miles is None) and table.track in tracks:
            _, surface, miles = tracks[table.track]
            table.surface = table.surface or surface
            table.miles = miles if table.miles is None else table.miles
    return Results(races, tracks)


def _invalid_row(path: Path, line: int, message: str) -> InvalidInput:
    return InvalidInput(f"results line {line}", f"{path}: {message}")


def _parse_date(text: str) -> datetime.date:
    """A log date: YYYY/MM/DD (YYYY-MM-DD also accepted)."""
    return datetime.date.fromisoformat(text.strip().replace("/", "-"))


def read_logs(
    path: Path, first_season: int | None, last_season: int | None, keys: dict[str, str]
) -> dict[EventKey, list[LogRow]]:
    """The Cup rows of the race logs, grouped into events by (date, track name)."""
    events: dict[EventKey, list[LogRow]] = defaultdict(list)
    numeric = ("start", "finish", "laps_led", "laps")
    with _table(path, "logs", LOG_COLUMNS) as (index, rows):
        i_series, i_date, i_track, i_driver = (
            index[c] for c in ("series", "race_date", "track_name", "driver_name")
        )
        i_start, i_finish, i_fastest, i_led, i_laps = (
            index[c] for c in ("start", "finish", "fastest_lap", "laps_led", "laps")
        )
        i_status, i_avg = index["status"], index.get("avg")
        for row in rows:
            if row[i_series].strip().lower() != LOG_SERIES:
                continue
            try:
                date = _parse_date(row[i_date])
            except ValueError:
                raise InvalidInput(
                    f"logs line {rows.line}", f"{path}: race_date is not a YYYY/MM/DD date: {row[i_date]!r}"
                ) from None
            if (first_season is not None and date.year < first_season) or (
                last_season is not None and date.year > last_season
            ):
                continue
            fastest_text = row[i_fastest].strip()
            try:
                start, finish = int(row[i_start]), int(row[i_finish])
                led, laps = int(row[i_led]), int(row[i_laps])
                fastest = int(fastest_text) if fastest_text else None
            except ValueError:
                message = _bad_value(row, index, (*numeric, "fastest_lap"))
                raise InvalidInput(f"logs line {rows.line}", f"{path}: {message}") from None
            driver = row[i_driver].strip()
            key = keys.get(driver)
            if key is None:
                key = keys[driver] = driver_key(driver)
            status = row[i_status].strip().lower()
            events[(date, row[i_track].strip())].append(
                LogRow(driver, key, start, finish, fastest, led, laps, status, _optional_float(row, i_avg))
            )
    return dict(events)


def _length(text: str) -> float | None:
    """A track length in miles; None when empty, not a number or not a positive finite one."""
    try:
        miles = float(text)
    except ValueError:
        return None
    return miles if math.isfinite(miles) and miles > 0 else None


def _optional_float(row: Sequence[str], column: int | None) -> float | None:
    """A float cell of an optional column; None when the column or the value is missing."""
    if column is None:
        return None
    try:
        return float(row[column])
    except ValueError:
        return None
