"""The upload writer's cells are safe to open in a spreadsheet: a cell that would be read as a
formula starts with a single quote (OWASP CSV injection), numbers stay numbers, and a name or id
with a control character is refused before anything is written (core.sitefiles)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from core.errors import InvalidInput
from core.sitefiles import (
    SitePlayer,
    read_draftkings_upload,
    read_fanduel_upload,
    write_draftkings_upload,
    write_fanduel_upload,
)

HOSTILE_NAMES = ['=HYPERLINK("http://x.example","click")', "+SUM(1,2)", "-2+3", "@SUM(A1:A2)"]


def _draftkings(names: list[str]) -> list[SitePlayer]:
    return [SitePlayer("draftkings", str(1000 + i), name, 9000) for i, name in enumerate(names)]


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_draftkings_formula_names_become_text_and_still_read_back(tmp_path: Path) -> None:
    players = _draftkings([*HOSTILE_NAMES, "Kyle Busch", "Chase Elliott"])
    path = tmp_path / "dk.csv"
    write_draftkings_upload(path, [players])
    cells = _rows(path.read_text(encoding="utf-8"))[1]
    assert cells == [
        '\'=HYPERLINK("http://x.example","click") (1000)',
        "'+SUM(1,2) (1001)",
        "'-2+3 (1002)",
        "'@SUM(A1:A2) (1003)",
        "Kyle Busch (1004)",
        "Chase Elliott (1005)",
    ]
    assert read_draftkings_upload(path) == [[p.site_id for p in players]]


def test_fanduel_ids_that_are_numbers_are_left_alone_and_formulas_are_not() -> None:
    ids = ["-5", "+7", "129058-82888", "=1+1", "@A1"]
    players = [SitePlayer("fanduel", site_id, f"Driver {i}", 9000) for i, site_id in enumerate(ids)]
    buffer = io.StringIO(newline="")
    write_fanduel_upload(buffer, [players])
    assert _rows(buffer.getvalue())[1] == ["-5", "+7", "129058-82888", "'=1+1", "'@A1"]


def test_ordinary_files_are_unchanged(tmp_path: Path) -> None:
    players = _draftkings(["Daniel Suárez", "A.J. Allmendinger", "Ricky Stenhouse Jr.", "Ty Gibbs", "B", "C"])
    path = tmp_path / "dk.csv"
    write_draftkings_upload(path, [players])
    assert path.read_text(encoding="utf-8").splitlines()[1] == ",".join(
        f"{p.name} ({p.site_id})" for p in players
    )
    fanduel = [SitePlayer("fanduel", f"129058-{i}", f"D{i}", 9000) for i in range(5)]
    path = tmp_path / "fd.csv"
    write_fanduel_upload(path, [fanduel])
    assert read_fanduel_upload(path) == [[p.site_id for p in fanduel]]


@pytest.mark.parametrize("bad", ["\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\x85"])
@pytest.mark.parametrize("where", ["name", "site_id"])
def test_control_characters_are_refused_and_nothing_is_written(tmp_path: Path, bad: str, where: str) -> None:
    players = _draftkings(["A", "B", "C", "D", "E", "F"])
    player = players[3]
    players[3] = SitePlayer(
        "draftkings",
        f"10{bad}03" if where == "site_id" else player.site_id,
        f"Dale{bad}Earnhardt" if where == "name" else player.name,
        9000,
    )
    path = tmp_path / "dk.csv"
    with pytest.raises(InvalidInput, match="control character") as caught:
        write_draftkings_upload(path, [_draftkings(["a", "b", "c", "d", "e", "f"]), players])
    assert caught.value.field == "lineups[1]"
    assert not path.exists()
