"""DraftKings and FanDuel files: reading player lists and writing lineup-upload CSVs.

Reads `DKSalaries.csv` (plain, or the lineup-builder export whose player table sits below and to
the right of an empty upload grid) and FanDuel's player-list export, matches slate driver names to
site players across spelling differences, and writes the sites' NASCAR upload files.
"""

from __future__ import annotations

import csv
import difflib
import math
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

from .errors import InvalidInput
from .slate import Driver

SiteName = Literal["draftkings", "fanduel"]
PathLike = str | os.PathLike[str]

DRAFTKINGS_ROSTER_SIZE = 6
FANDUEL_ROSTER_SIZE = 5
UPLOAD_SLOT = "D"

_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii"})
_DROPPED_CHARS = str.maketrans("", "", ".'\u2019")
_SEPARATORS = re.compile(r"[\s,\-\u2010-\u2015]+")
_INTEGER = re.compile(r"-?\d+")
_DK_CELL = re.compile(r".*\((\d+)\)|(\d+)")


@dataclass(frozen=True, slots=True)
class SitePlayer:
    """One entry of a site's player list. `site_id` is the id the site's upload file expects."""

    site: SiteName
    site_id: str
    name: str
    salary: int
    avg_points: float | None = None
    team: str | None = None
    game_info: str | None = None


# --- slates from player lists -----------------------------------------------------------------

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


# --- names -----------------------------------------------------------------------------------


def normalise_name(name: str) -> str:
    """A spelling-insensitive key for a driver name.

    Lowercase, accents stripped, periods and apostrophes dropped, whitespace, commas and hyphens
    collapsed to single spaces, and a trailing "jr", "sr", "ii" or "iii" dropped, so that
    "A.J. Allmendinger", "Ricky Stenhouse Jr." and "Daniel Suárez" meet their plain spellings.
    """
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = _SEPARATORS.sub(" ", plain.casefold().translate(_DROPPED_CHARS)).split()
    while len(words) > 1 and words[-1] in _NAME_SUFFIXES:
        words.pop()
    return " ".join(words)


def match_players(players: Sequence[SitePlayer], names: Sequence[str]) -> dict[str, SitePlayer]:
    """Map each slate driver name to the site player with the same normalised name.

    Raises:
        InvalidInput: field "drivers", when any name has no site player (every unmatched name is
            listed with the closest site names), matches two site players, or when two names
            match the same site player.
    """
    by_key: dict[str, list[SitePlayer]] = {}
    for player in players:
        by_key.setdefault(normalise_name(player.name), []).append(player)

    matched: dict[str, SitePlayer] = {}
    claimed_by: dict[tuple[str, str], str] = {}
    unmatched: list[str] = []
    for name in names:
        candidates = by_key.get(normalise_name(name), [])
        if not candidates:
            unmatched.append(name)
            continue
        if len(candidates) > 1:
            listed = ", ".join(f"{p.name!r} ({p.site_id})" for p in candidates)
            raise InvalidInput("drivers", f"{name!r} matches more than one site player: {listed}")
        player = candidates[0]
        owner = claimed_by.setdefault((player.site, player.site_id), name)
        if owner != name:
            raise InvalidInput(
                "drivers", f"{owner!r} and {name!r} both match site player {player.name!r} ({player.site_id})"
            )
        matched[name] = player

    if unmatched:
        display = {key: group[0].name for key, group in by_key.items()}
        described = []
        for name in unmatched:
            close = difflib.get_close_matches(normalise_name(name), list(display), n=3, cutoff=0.6)
            hint = ", ".join(repr(display[key]) for key in close) if close else "none"
            described.append(f"{name!r} (closest: {hint})")
        raise InvalidInput(
            "drivers", f"{len(unmatched)} name(s) not in the site player list: {'; '.join(described)}"
        )
    return matched


# --- player lists ----------------------------------------------------------------------------

DK_REQUIRED = ("Name", "ID", "Salary")
FD_REQUIRED = ("Id", "First Name", "Last Name", "Salary")


def read_draftkings_salaries(path: PathLike) -> list[SitePlayer]:
    """Read a DraftKings `DKSalaries.csv`, with or without the lineup-builder preamble.

    The header is the first row holding Name, ID and Salary, wherever it starts; columns are
    found by name. TeamAbbrev, AvgPointsPerGame and Game Info are read when present.

    Raises:
        InvalidInput: an empty or unreadable file, a missing column, a bad value (field
            "line N.Column"), or duplicate IDs or names.
    """
    lines = _read_csv(path)
    found = _find_header(lines, DK_REQUIRED)
    if found is None:
        raise _missing_columns(path, lines, DK_REQUIRED)
    header_at, columns = found
    players = []
    for line, cells in lines[header_at + 1 :]:
        row = _Row(path, line, cells, columns)
        if row.is_blank(DK_REQUIRED):
            continue  # preamble grid rows or blank lines below the table
        players.append(
            SitePlayer(
                site="draftkings",
                site_id=row.text("ID"),
                name=row.text("Name"),
                salary=row.salary("Salary"),
                avg_points=row.number("AvgPointsPerGame"),
                team=row.optional("TeamAbbrev"),
                game_info=row.optional("Game Info"),
            )
        )
    return _checked(path, players, "ID")


def read_fanduel_players(path: PathLike) -> list[SitePlayer]:
    """Read a FanDuel player-list export (`Id, Position, First Name, Nickname, ...`).

    The name is Nickname when it is filled, else "First Last"; Id (like "126412-92349") is kept
    as text. FPPG, Team and Game are read when present; unnamed columns are ignored.

    Raises:
        InvalidInput: as read_draftkings_salaries.
    """
    lines = _read_csv(path)
    found = _find_header(lines, FD_REQUIRED)
    if found is None:
        raise _missing_columns(path, lines, FD_REQUIRED)
    header_at, columns = found
    players = []
    for line, cells in lines[header_at + 1 :]:
        row = _Row(path, line, cells, columns)
        if row.is_blank(FD_REQUIRED):
            continue
        full_name = f"{row.optional('First Name') or ''} {row.optional('Last Name') or ''}".strip()
        players.append(
            SitePlayer(
                site="fanduel",
                site_id=row.text("Id"),
                name=row.optional("Nickname") or row.checked_name(full_name),
                salary=row.salary("Salary"),
                avg_points=row.number("FPPG"),
                team=row.optional("Team"),
                game_info=row.optional("Game"),
            )
        )
    return _checked(path, players, "Id")


class _Row:
    """One data row of a player list, with its cells looked up by header name."""

    def __init__(self, path: PathLike, line: int, cells: list[str], columns: Mapping[str, int]) -> None:
        self.path, self.line, self.cells, self.columns = path, line, cells, columns

    def optional(self, column: str) -> str | None:
        index = self.columns.get(column)
        if index is None or index >= len(self.cells):
            return None
        return self.cells[index].strip() or None

    def is_blank(self, columns: Sequence[str]) -> bool:
        return all(self.optional(c) is None for c in columns)

    def text(self, column: str) -> str:
        value = self.optional(column)
        if value is None:
            raise InvalidInput(f"line {self.line}.{column}", f"{self.path}: empty")
        return value

    def checked_name(self, name: str) -> str:
        if not name:
            raise InvalidInput(f"line {self.line}.Nickname", f"{self.path}: no name in the row")
        return name

    def salary(self, column: str) -> int:
        raw = self.optional(column) or ""
        if not _INTEGER.fullmatch(raw):
            raise InvalidInput(f"line {self.line}.{column}", f"{self.path}: not an integer: {raw!r}")
        value = int(raw)
        if value < 0:
            raise InvalidInput(f"line {self.line}.{column}", f"{self.path}: negative salary {value}")
        return value

    def number(self, column: str) -> float | None:
        raw = self.optional(column)
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise InvalidInput(f"line {self.line}.{column}", f"{self.path}: not a finite number: {raw!r}")
        return value


def _read_csv(path: PathLike) -> list[tuple[int, list[str]]]:
    """Every row of a CSV file with the line it ends on (1-based)."""
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            lines = [(reader.line_num, cells) for cells in reader]
    except UnicodeDecodeError as error:
        raise InvalidInput("file", f"{path}: not UTF-8 text ({error.reason})") from None
    except csv.Error as error:
        raise InvalidInput("file", f"{path}: not a readable CSV file ({error})") from None
    if not any(cell.strip() for _, cells in lines for cell in cells):
        raise InvalidInput("file", f"{path}: the file is empty")
    return lines


def _find_header(
    lines: Sequence[tuple[int, list[str]]], required: Sequence[str]
) -> tuple[int, dict[str, int]] | None:
    """The position of the first row holding every required column, and its column indices."""
    for at, (_, cells) in enumerate(lines):
        names = [cell.strip() for cell in cells]
        if all(column in names for column in required):
            columns: dict[str, int] = {}
            for index, name in enumerate(names):
                if name:
                    columns.setdefault(name, index)
            return at, columns
    return None


def _missing_columns(
    path: PathLike, lines: Sequence[tuple[int, list[str]]], required: Sequence[str]
) -> InvalidInput:
    """The error for a file with no header row: names the columns the likeliest header lacks."""
    headers = [{cell.strip() for cell in cells} for _, cells in lines]
    present = max(headers, key=lambda names: sum(column in names for column in required))
    missing = [column for column in required if column not in present]
    return InvalidInput("file", f"{path}: missing column(s) {', '.join(missing)} (no header row has them)")


def _checked(path: PathLike, players: list[SitePlayer], id_column: str) -> list[SitePlayer]:
    """Players unless two share an id or a normalised name."""
    if not players:
        raise InvalidInput("file", f"{path}: the player table has no rows")
    by_id: dict[str, SitePlayer] = {}
    by_name: dict[str, SitePlayer] = {}
    for player in players:
        first = by_id.setdefault(player.site_id, player)
        if first is not player:
            raise InvalidInput(
                "file",
                f"{path}: duplicate {id_column} {player.site_id!r} ({first.name!r} and {player.name!r})",
            )
        first = by_name.setdefault(normalise_name(player.name), player)
        if first is not player:
            raise InvalidInput(
                "file",
                f"{path}: duplicate player name: {first.name!r} ({first.site_id}) "
                f"and {player.name!r} ({player.site_id})",
            )
    return players


# --- uploads ---------------------------------------------------------------------------------


def write_draftkings_upload(path_or_file: PathLike | TextIO, lineups: Sequence[Sequence[SitePlayer]]) -> None:
    """Write a DraftKings NASCAR Classic upload: header `D,D,D,D,D,D`, cells `Name (ID)`.

    Raises:
        InvalidInput: a lineup without exactly 6 distinct DraftKings players (nothing is written).
    """
    _check_lineups(lineups, "draftkings", DRAFTKINGS_ROSTER_SIZE)
    rows = [[f"{p.name} ({p.site_id})" for p in lineup] for lineup in lineups]
    _write_upload(path_or_file, DRAFTKINGS_ROSTER_SIZE, rows)


def write_fanduel_upload(path_or_file: PathLike | TextIO, lineups: Sequence[Sequence[SitePlayer]]) -> None:
    """Write a FanDuel NASCAR upload: header `D,D,D,D,D`, cells the FanDuel player Id.

    Raises:
        InvalidInput: a lineup without exactly 5 distinct FanDuel players (nothing is written).
    """
    _check_lineups(lineups, "fanduel", FANDUEL_ROSTER_SIZE)
    _write_upload(path_or_file, FANDUEL_ROSTER_SIZE, [[p.site_id for p in lineup] for lineup in lineups])


def read_draftkings_upload(path: PathLike) -> list[list[str]]:
    """The player ids of each lineup in a DraftKings upload (cells `Name (ID)` or bare IDs)."""
    ids = []
    for line, cells in _read_upload(path, DRAFTKINGS_ROSTER_SIZE):
        row = []
        for cell in cells:
            found = _DK_CELL.fullmatch(cell)
            if found is None:
                raise InvalidInput(f"line {line}", f"{path}: not 'Name (ID)' or an ID: {cell!r}")
            row.append(found.group(1) or found.group(2))
        ids.append(row)
    return ids


def read_fanduel_upload(path: PathLike) -> list[list[str]]:
    """The player ids of each lineup in a FanDuel upload."""
    return [cells for _, cells in _read_upload(path, FANDUEL_ROSTER_SIZE)]


def _check_lineups(lineups: Sequence[Sequence[SitePlayer]], site: SiteName, size: int) -> None:
    for i, lineup in enumerate(lineups):
        if len(lineup) != size:
            raise InvalidInput(f"lineups[{i}]", f"must hold exactly {size} drivers, got {len(lineup)}")
        for player in lineup:
            if player.site != site:
                raise InvalidInput(
                    f"lineups[{i}]", f"{player.name!r} is a {player.site} player, not a {site} one"
                )
        if len({p.site_id for p in lineup}) != size:
            raise InvalidInput(f"lineups[{i}]", "holds the same driver twice")


def _write_upload(path_or_file: PathLike | TextIO, size: int, rows: Sequence[Sequence[str]]) -> None:
    with _text_output(path_or_file) as handle:
        writer = csv.writer(handle)
        writer.writerow([UPLOAD_SLOT] * size)
        writer.writerows(rows)


@contextmanager
def _text_output(path_or_file: PathLike | TextIO) -> Iterator[TextIO]:
    """A path is opened (and closed) here; a file object is written to and left open."""
    if isinstance(path_or_file, str | os.PathLike):
        with Path(path_or_file).open("w", newline="", encoding="utf-8") as handle:
            yield handle
    else:
        yield path_or_file


def _read_upload(path: PathLike, size: int) -> list[tuple[int, list[str]]]:
    """The lineup rows of an upload file, after checking its `D,...` header, trailing blanks cut."""
    lines = [(line, _trimmed(cells)) for line, cells in _read_csv(path)]
    lines = [(line, cells) for line, cells in lines if cells]
    header_line, header = lines[0]
    if header != [UPLOAD_SLOT] * size:
        raise InvalidInput(
            f"line {header_line}", f"{path}: header must be {','.join([UPLOAD_SLOT] * size)}, got {header}"
        )
    for line, cells in lines[1:]:
        if len(cells) != size or not all(cells):
            raise InvalidInput(f"line {line}", f"{path}: a lineup needs {size} players, got {cells}")
    return lines[1:]


def _trimmed(cells: list[str]) -> list[str]:
    cells = [cell.strip() for cell in cells]
    while cells and not cells[-1]:
        cells.pop()
    return cells
