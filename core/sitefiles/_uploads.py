"""The sites' NASCAR lineup-upload files: written from site players, read back as player ids.

Every cell written goes through `upload_cell`, which keeps a spreadsheet from reading it as a
formula (OWASP's CSV-injection rule: a cell that starts with `=`, `+`, `-` or `@` gets a leading
single quote, numbers excepted); a name or id with a control character is refused.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from ..errors import InvalidInput
from ..slate import DRAFTKINGS, FANDUEL, SiteName
from ._players import PathLike, SitePlayer, read_csv

UPLOAD_SLOT = "D"

_DK_CELL = re.compile(r".*\((\d+)\)|(\d+)")
_FORMULA_START = ("=", "+", "-", "@")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc: NUL, TAB, LF, CR, DEL, C1


def write_draftkings_upload(path_or_file: PathLike | TextIO, lineups: Sequence[Sequence[SitePlayer]]) -> None:
    """Write a DraftKings NASCAR Classic upload: header `D,D,D,D,D,D`, cells `Name (ID)`.

    Raises:
        InvalidInput: a lineup without exactly 6 distinct DraftKings players (nothing is written).
    """
    check_lineups(lineups, "draftkings", DRAFTKINGS.roster_size)
    _write_upload(
        path_or_file, DRAFTKINGS.roster_size, [[upload_cell(p) for p in lineup] for lineup in lineups]
    )


def write_fanduel_upload(path_or_file: PathLike | TextIO, lineups: Sequence[Sequence[SitePlayer]]) -> None:
    """Write a FanDuel NASCAR upload: header `D,D,D,D,D`, cells the FanDuel player Id.

    Raises:
        InvalidInput: a lineup without exactly 5 distinct FanDuel players (nothing is written).
    """
    check_lineups(lineups, "fanduel", FANDUEL.roster_size)
    _write_upload(path_or_file, FANDUEL.roster_size, [[upload_cell(p) for p in lineup] for lineup in lineups])


def write_upload(
    path_or_file: PathLike | TextIO, site: SiteName, lineups: Sequence[Sequence[SitePlayer]]
) -> None:
    """Write the upload file of `site` (see write_draftkings_upload and write_fanduel_upload)."""
    (write_draftkings_upload if site == "draftkings" else write_fanduel_upload)(path_or_file, lineups)


def read_draftkings_upload(path: PathLike) -> list[list[str]]:
    """The player ids of each lineup in a DraftKings upload (cells `Name (ID)` or bare IDs)."""
    ids = []
    for line, cells in _read_upload(path, DRAFTKINGS.roster_size):
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
    return [cells for _, cells in _read_upload(path, FANDUEL.roster_size)]


def upload_cell(player: SitePlayer) -> str:
    """A player as an upload file's cell: DraftKings `Name (ID)`, FanDuel the bare Id; a cell a
    spreadsheet would take for a formula (`=HYPERLINK(...)`) starts with a single quote."""
    cell = f"{player.name} ({player.site_id})" if player.site == "draftkings" else player.site_id
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def check_lineups(lineups: Sequence[Sequence[SitePlayer]], site: SiteName, size: int) -> None:
    for i, lineup in enumerate(lineups):
        if len(lineup) != size:
            raise InvalidInput(f"lineups[{i}]", f"must hold exactly {size} drivers, got {len(lineup)}")
        for player in lineup:
            if player.site != site:
                raise InvalidInput(
                    f"lineups[{i}]", f"{player.name!r} is a {player.site} player, not a {site} one"
                )
            if _CONTROL.search(player.name + player.site_id):  # it would end or split the file's line
                raise InvalidInput(
                    f"lineups[{i}]", f"{player.name!r} ({player.site_id!r}) holds a control character"
                )
        if len({p.site_id for p in lineup}) != size:
            raise InvalidInput(f"lineups[{i}]", "holds the same driver twice")


def _write_upload(path_or_file: PathLike | TextIO, size: int, rows: Sequence[Sequence[str]]) -> None:
    with text_output(path_or_file) as handle:
        writer = csv.writer(handle)
        writer.writerow([UPLOAD_SLOT] * size)
        writer.writerows(rows)


@contextmanager
def text_output(path_or_file: PathLike | TextIO) -> Iterator[TextIO]:
    """A path is opened (and closed) here; a file object is written to and left open."""
    if isinstance(path_or_file, str | os.PathLike):
        with Path(path_or_file).open("w", newline="", encoding="utf-8") as handle:
            yield handle
    else:
        yield path_or_file


def _read_upload(path: PathLike, size: int) -> list[tuple[int, list[str]]]:
    """The lineup rows of an upload file, after checking its `D,...` header, trailing blanks cut."""
    lines = [(line, _trimmed(cells)) for line, cells in read_csv(path)]
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
