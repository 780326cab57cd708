"""The sites' entries files: DraftKings' `DKEntries.csv` and FanDuel's entries upload template,
read, filled with lineups and written back for upload.

Both hold one row per entry (an entry already paid for, its lineup blank while it is only
reserved): four columns that say which entry it is, then one column per roster slot. Both carry
instructions and the slate's player table to the right of and below the entries; those are read
(the player table gives the site's player IDs) but not written back.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from ..errors import InvalidInput
from ..slate import SITES, SiteName
from ._players import (
    DK_REQUIRED,
    FD_REQUIRED,
    SITE_NAMES,
    PathLike,
    SitePlayer,
    find_header,
    read_csv,
    read_site_players,
)
from ._uploads import check_lineups, text_output, upload_cell

N_ENTRY_COLUMNS = 4  # the columns before the slots, which say which entry a row is
ENTRY_COLUMNS: Mapping[SiteName, tuple[str, ...]] = {
    "draftkings": ("Entry ID", "Contest Name", "Contest ID", "Entry Fee"),
    "fanduel": ("entry_id", "contest_id", "contest_name", "entry_fee"),
}


@dataclass(frozen=True, slots=True)
class SiteEntry:
    """One entry: its four identifying cells as the file has them and its slot cells (all
    empty for a reservation)."""

    line: int
    cells: tuple[str, ...]
    lineup: tuple[str, ...]

    @property
    def entry_id(self) -> str:
        return self.cells[0]

    @property
    def is_reserved(self) -> bool:
        """Whether the entry has no lineup yet."""
        return not any(self.lineup)


@dataclass(frozen=True, slots=True)
class EntriesFile:
    """A site's entries file: the entry and slot column names, the entries in file order, and
    the slate's players when the file carries its player table (None when it does not)."""

    site: SiteName
    columns: tuple[str, ...]
    entries: tuple[SiteEntry, ...]
    players: tuple[SitePlayer, ...] | None


def entries_site(path: PathLike) -> SiteName | None:
    """Which site's entries file a file is (by its entry columns), None when it is not one."""
    found = _entries_header(read_csv(path))
    return None if found is None else found[1]


def read_entries(path: PathLike, site: SiteName) -> EntriesFile:
    """Read a DraftKings `DKEntries.csv` or a FanDuel entries upload template.

    The header is the first row that starts with the site's four entry columns (DraftKings:
    Entry ID, Contest Name, Contest ID, Entry Fee; FanDuel: entry_id, contest_id, contest_name,
    entry_fee); the slot columns follow it up to the first empty header cell. Entry rows are the
    rows below with an entry id; the instructions and the player table beside and below them
    have none.

    Raises:
        InvalidInput: field "site" for the other site's entries file; "file" for a file with no
            entry header, with slots that are not a NASCAR roster, without entries or with an
            entry id twice; "line N.column" for an entry row without that cell.
    """
    lines = read_csv(path)
    found = _entries_header(lines)
    if found is None:
        raise InvalidInput(
            "file",
            f"{path}: not an entries file (no header row starting "
            f"{','.join(ENTRY_COLUMNS[site])}; download it from the site's upload or edit entries page)",
        )
    at, file_site = found
    if file_site != site:
        raise InvalidInput(
            "site", f"{path} looks like a {SITE_NAMES[file_site]} entries file, not a {SITE_NAMES[site]} one"
        )
    header = [cell.strip() for cell in lines[at][1]]
    slots = []
    for cell in header[N_ENTRY_COLUMNS:]:
        if not cell:
            break
        slots.append(cell)
    size = SITES[site].roster_size
    if len(slots) != size:
        raise InvalidInput(
            "file",
            f"{path}: {len(slots)} lineup slots ({','.join(slots)}) where a {SITE_NAMES[site]} NASCAR lineup "
            f"has {size}: is it a NASCAR contest's entries file?",
        )
    columns = tuple(header[: N_ENTRY_COLUMNS + size])
    entries = [_entry(path, line, cells, columns) for line, cells in lines[at + 1 :] if _has_id(cells)]
    _check_entries(path, entries)
    required = DK_REQUIRED if site == "draftkings" else FD_REQUIRED
    players = tuple(read_site_players(path, site)) if find_header(lines, required) is not None else None
    return EntriesFile(site=site, columns=columns, entries=tuple(entries), players=players)


def write_entries(
    path_or_file: PathLike | TextIO, entries: EntriesFile, lineups: Sequence[Sequence[SitePlayer]]
) -> None:
    """Write the entries file for upload with the lineups filled in, one lineup an entry in file
    order: the first len(lineups) entries (reserved or holding a lineup, which is replaced), and
    only those (the others keep what they have on the site). The header is the entry and slot
    columns; the instructions and the player table are left out.

    Raises:
        InvalidInput: field "lineups" when there are more lineups than entries (nothing is
            written), or a lineup the site would refuse (see write_upload).
    """
    if len(lineups) > len(entries.entries):
        raise InvalidInput(
            "lineups",
            f"{len(lineups)} lineups for {len(entries.entries)} entries: reserve more entries or build fewer",
        )
    check_lineups(lineups, entries.site, SITES[entries.site].roster_size)
    known = None if entries.players is None else {p.site_id for p in entries.players}
    for i, lineup in enumerate(lineups):
        foreign = [p.name for p in lineup if known is not None and p.site_id not in known]
        if foreign:
            raise InvalidInput(
                f"lineups[{i}]", f"not in the entries file's player list (another slate?): {foreign}"
            )
    with text_output(path_or_file) as handle:
        writer = csv.writer(handle)
        writer.writerow(entries.columns)
        for entry, lineup in zip(entries.entries, lineups, strict=False):
            writer.writerow([*entry.cells, *(upload_cell(p) for p in lineup)])


def _entries_header(lines: Sequence[tuple[int, list[str]]]) -> tuple[int, SiteName] | None:
    for at, (_, cells) in enumerate(lines):
        start = tuple(cell.strip() for cell in cells[:N_ENTRY_COLUMNS])
        for site, columns in ENTRY_COLUMNS.items():
            if start == columns:
                return at, site
    return None


def _has_id(cells: Sequence[str]) -> bool:
    return bool(cells) and bool(cells[0].strip())


def _entry(path: PathLike, line: int, cells: Sequence[str], columns: Sequence[str]) -> SiteEntry:
    """An entry row; slot cells past the row's end (trailing blanks cut by a spreadsheet) are empty."""
    if len(cells) < N_ENTRY_COLUMNS:
        raise InvalidInput(
            f"line {line}.{columns[len(cells)]}",
            f"{path}: the entry row has {len(cells)} cells, too few for "
            f"{', '.join(columns[:N_ENTRY_COLUMNS])}",
        )
    values = [cell.strip() for cell in cells[: len(columns)]]
    values += [""] * (len(columns) - len(values))
    return SiteEntry(line=line, cells=tuple(values[:N_ENTRY_COLUMNS]), lineup=tuple(values[N_ENTRY_COLUMNS:]))


def _check_entries(path: PathLike, entries: Sequence[SiteEntry]) -> None:
    if not entries:
        raise InvalidInput(
            "file", f"{path}: no entries (enter or reserve entries on the site, then download it again)"
        )
    seen: dict[str, SiteEntry] = {}
    for entry in entries:
        first = seen.setdefault(entry.entry_id, entry)
        if first is not entry:
            raise InvalidInput(
                "file", f"{path}: entry {entry.entry_id} appears twice (lines {first.line} and {entry.line})"
            )
