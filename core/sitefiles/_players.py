"""The sites' player lists: DraftKings' `DKSalaries.csv` and FanDuel's player export, and the
matching of slate driver names to site players across spelling differences."""

from __future__ import annotations

import csv
import difflib
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput
from ..names import normalise_name
from ..slate import SiteName

PathLike = str | os.PathLike[str]

_INTEGER = re.compile(r"-?\d+")


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
        raise InvalidInput("drivers", unknown_names(unmatched, display, "the site player list"))
    return matched


def unknown_names(names: Sequence[str], display: Mapping[str, str], where: str) -> str:
    """The message for names not found in `where`: each with the closest known names.

    Args:
        names: the names not found, as given.
        display: every known name, by its normalised key.
        where: what was searched, for the message ("the site player list").
    """
    described = []
    for name in names:
        close = difflib.get_close_matches(normalise_name(name), list(display), n=3, cutoff=0.6)
        hint = ", ".join(repr(display[key]) for key in close) if close else "none"
        described.append(f"{name!r} (closest: {hint})")
    return f"{len(names)} name(s) not in {where}: {'; '.join(described)}"


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
    players = []
    for row in _player_rows(path, DK_REQUIRED):
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
    players = []
    for row in _player_rows(path, FD_REQUIRED):
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


def player_list_site(path: PathLike) -> SiteName | None:
    """Which site's player list a file is, by its header row (a DraftKings entries file holds
    DraftKings' player table, a FanDuel entries template FanDuel's); None for neither."""
    lines = read_csv(path)
    if find_header(lines, FD_REQUIRED) is not None:
        return "fanduel"
    if find_header(lines, DK_REQUIRED) is not None:
        return "draftkings"
    return None


def read_site_players(path: PathLike, site: SiteName) -> list[SitePlayer]:
    """The players of `site`'s player list (see read_draftkings_salaries, read_fanduel_players).

    Raises:
        InvalidInput: field "site" when the file is the other site's player list, else as the
            site's reader.
    """
    found = player_list_site(path)
    if found is not None and found != site:
        raise InvalidInput(
            "site", f"{path} looks like a {SITE_NAMES[found]} player list, not a {SITE_NAMES[site]} one"
        )
    return read_draftkings_salaries(path) if site == "draftkings" else read_fanduel_players(path)


SITE_NAMES: Mapping[SiteName, str] = {"draftkings": "DraftKings", "fanduel": "FanDuel"}


def _player_rows(path: PathLike, required: Sequence[str]) -> Iterator[PlayerRow]:
    """The rows of a player list below its header row (the first row holding every required
    column, wherever it starts), skipping rows blank in those columns: the lineup-builder
    export's empty upload grid and blank lines below the table."""
    lines = read_csv(path)
    found = find_header(lines, required)
    if found is None:
        raise _missing_columns(path, lines, required)
    header_at, columns = found
    for line, cells in lines[header_at + 1 :]:
        row = PlayerRow(path, line, cells, columns)
        if not row.is_blank(required):
            yield row


class PlayerRow:
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


def read_csv(path: PathLike) -> list[tuple[int, list[str]]]:
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


def find_header(
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
