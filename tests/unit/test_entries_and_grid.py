"""Starting grids and the sites' entries files (core.sitefiles); fixtures described in test_sitefiles."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from core.errors import InvalidInput
from core.sitefiles import (
    drivers_from_players,
    entries_site,
    find_drivers,
    read_draftkings_salaries,
    read_entries,
    read_fanduel_players,
    read_start_positions,
    with_start_positions,
    write_entries,
)

DATA = Path(__file__).resolve().parents[1] / "data"
DK_ENTRIES = DATA / "DKEntries-nascar.csv"
FD_ENTRIES = DATA / "FanDuel-nascar-entries.csv"
STARTS = DATA / "starts-bristol.csv"
DK_PLAYERS = read_draftkings_salaries(DATA / "DKSalaries-nascar.csv")
DRIVERS = drivers_from_players(DK_PLAYERS)  # lined up by salary: Larson 1st ... Stenhouse 12th


def write(tmp_path: Path, text: str, name: str = "file.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the starting grid -----------------------------------------------------------------------


def test_grid_file_sets_every_start_matching_names_across_spellings() -> None:
    grid = read_start_positions(STARTS)
    assert (grid[0].line, grid[0].driver, grid[0].start_position) == (2, "Denny Hamlin", 1)
    drivers = with_start_positions(DRIVERS, grid, STARTS)
    starts = {d.name: d.start_position for d in drivers}
    assert starts["Denny Hamlin"] == 1 and starts["Kyle Larson"] == 4
    assert starts["AJ Allmendinger"] == 6  # "A.J. Allmendinger" in the grid file
    assert starts["Ricky Stenhouse Jr"] == 9 and starts["Daniel Suarez"] == 12  # "Jr.", "Suárez"
    assert [d.driver_id for d in drivers] == [d.driver_id for d in DRIVERS]  # nothing else changes
    assert {d.salary for d in drivers} == {d.salary for d in DRIVERS}


def test_grid_without_header_and_with_ids_and_a_qualifying_export(tmp_path: Path) -> None:
    rows = [(d.driver_id if i % 2 else d.name, 12 - i) for i, d in enumerate(DRIVERS)]
    plain = write(tmp_path, "".join(f"{driver},{start}\n" for driver, start in rows))
    drivers = with_start_positions(DRIVERS, read_start_positions(plain), plain)
    assert [d.start_position for d in drivers] == [12 - i for i in range(12)]
    export = write(
        tmp_path, "Pos,Car,Driver,Time\n" + "".join(f"{s},{i},{d},15.1\n" for i, (d, s) in enumerate(rows))
    )
    assert with_start_positions(DRIVERS, read_start_positions(export), export) == drivers


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("driver,start\nKyle Larson\n", "line 2.start", "the row has 1 cell(s), so no start"),
        ("driver,start\nKyle Larson,pole\n", "line 2.start", "not a start position (1, 2, ...): 'pole'"),
        ("driver,start\nKyle Larson,0\n", "line 2.start", "'0'"),
        ("driver,start\n,3\n", "line 2.driver", "empty"),
        ("car,time\n5,15.1\n", "starts", "no column named driver or name or driver name"),
        ("driver,start\n", "starts", "no start positions"),
    ],
)
def test_bad_grid_rows_name_the_line(tmp_path: Path, text: str, field: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InvalidInput) as caught:
        read_start_positions(path)
    assert caught.value.field == field
    assert message in caught.value.message and str(path) in caught.value.message


def grid_text(edit: dict[str, str | None]) -> str:
    """The fixture grid with some drivers renamed (None: left out)."""
    lines = STARTS.read_text(encoding="utf-8").splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        name, start = line.rsplit(",", 1)
        if edit.get(name, name) is not None:
            out.append(f"{edit.get(name, name)},{start}")
    return "\n".join(out) + "\n"


def test_grid_name_not_in_the_slate_lists_the_closest(tmp_path: Path) -> None:
    path = write(tmp_path, grid_text({"Denny Hamlin": "Denny Hamlim", "Chase Elliott": "Carl Edwards"}))
    with pytest.raises(InvalidInput) as caught:
        with_start_positions(DRIVERS, read_start_positions(path), path)
    assert caught.value.field == "starts"
    assert "2 name(s) not in the slate" in caught.value.message
    assert "'Denny Hamlim' (closest: 'Denny Hamlin')" in caught.value.message
    assert "'Carl Edwards' (closest: none)" in caught.value.message


def test_grid_must_place_every_driver_once_on_1_to_n(tmp_path: Path) -> None:
    missing = write(tmp_path, grid_text({"Ty Gibbs": None}))
    with pytest.raises(InvalidInput, match="no start position for 1 driver.*Ty Gibbs"):
        with_start_positions(DRIVERS, read_start_positions(missing), missing)
    twice = write(tmp_path, grid_text({}) + "Kyle Busch,13\nKyle Larson,14\n")
    with pytest.raises(InvalidInput, match="'Kyle Busch'"):  # not in this 12-car slate
        with_start_positions(DRIVERS, read_start_positions(twice), twice)
    twice = write(tmp_path, grid_text({}) + "kyle larson,13\n")
    with pytest.raises(InvalidInput) as caught:
        with_start_positions(DRIVERS, read_start_positions(twice), twice)
    assert caught.value.field == "line 14"
    assert "'Kyle Larson' is on the grid twice (lines 5 and 14)" in caught.value.message
    same_start = write(tmp_path, grid_text({}).replace("Ty Gibbs,7", "Ty Gibbs,6"))
    with pytest.raises(InvalidInput, match=r"start 6 given twice \(lines 7 and 8\)"):
        with_start_positions(DRIVERS, read_start_positions(same_start), same_start)
    beyond = write(tmp_path, grid_text({}).replace("Ty Gibbs,7", "Ty Gibbs,40"))
    with pytest.raises(InvalidInput, match=r"must run 1..12, got \[40\]"):
        with_start_positions(DRIVERS, read_start_positions(beyond), beyond)


def test_find_drivers_by_id_or_any_spelling_of_the_name() -> None:
    found = find_drivers(["42617301", "denny hamlin", "Ricky Stenhouse Jr."], DRIVERS, "lock")
    assert [d.name for d in found] == ["Kyle Larson", "Denny Hamlin", "Ricky Stenhouse Jr"]
    with pytest.raises(InvalidInput) as caught:
        find_drivers(["Kyle Larsen", "42617301"], DRIVERS, "exclude")
    assert caught.value.field == "exclude"
    assert "1 name(s) not in the slate: 'Kyle Larsen' (closest: 'Kyle Larson')" in caught.value.message


# --- entries files ---------------------------------------------------------------------------


def test_draftkings_entries_file_reads_entries_and_its_player_table() -> None:
    assert entries_site(DK_ENTRIES) == "draftkings"
    entries = read_entries(DK_ENTRIES, "draftkings")
    assert entries.columns == ("Entry ID", "Contest Name", "Contest ID", "Entry Fee", *["D"] * 6)
    assert [e.entry_id for e in entries.entries] == ["4712345001", "4712345002", "4712345003"]
    first = entries.entries[0]
    assert first.cells == (
        "4712345001",
        "NASCAR $50K Bristol Bump [$10K to 1st, 20 Entry Max]",
        "187650001",
        "$5",
    )
    assert first.is_reserved and first.lineup == ("",) * 6
    assert not entries.entries[2].is_reserved
    assert entries.entries[2].lineup[0] == "Kyle Larson (42617301)"
    assert entries.players == tuple(DK_PLAYERS)


def test_fanduel_entries_template_reads_entries_and_players() -> None:
    assert entries_site(FD_ENTRIES) == "fanduel"
    entries = read_entries(FD_ENTRIES, "fanduel")
    assert entries.columns == ("entry_id", "contest_id", "contest_name", "entry_fee", *["D"] * 5)
    assert [e.cells for e in entries.entries] == [
        ("3670015043", "129058-279208572", "NASCAR $20K Sprint", "3"),
        ("3670015044", "129058-279208573", "NASCAR $1K Head-to-Head", "1"),
    ]
    assert entries.players is not None
    assert [(p.site_id, p.name, p.salary) for p in entries.players] == [
        (p.site_id, p.name, p.salary) for p in read_fanduel_players(DATA / "FanDuel-nascar-players.csv")
    ]


def test_entries_beside_the_player_table_are_read_and_tables_without_entries_are_not(tmp_path: Path) -> None:
    """With more entries than instruction rows, entry rows carry player-table cells to the right."""
    lines = DK_ENTRIES.read_text(encoding="utf-8").splitlines()
    table = [line for line in lines if line.startswith(",,,,,,,,,,,") and "(" in line]
    extra = [f"47123451{i:02},NASCAR $1 Lug Nut,187650003,$1,,,,,,,{row[10:]}" for i, row in enumerate(table)]
    path = write(tmp_path, "\n".join(lines[: -len(table)] + extra) + "\n")
    entries = read_entries(path, "draftkings")
    assert len(entries.entries) == 3 + len(table)
    assert entries.entries[-1].cells == ("4712345111", "NASCAR $1 Lug Nut", "187650003", "$1")
    assert entries.players == tuple(DK_PLAYERS)
    assert entries_site(DATA / "DKSalaries-nascar.csv") is None


def test_a_reservation_row_cut_short_by_a_spreadsheet_is_a_reservation(tmp_path: Path) -> None:
    path = write(tmp_path, "Entry ID,Contest Name,Contest ID,Entry Fee,D,D,D,D,D,D\n7,A,1,$1\n8,A,1,$1,9\n")
    entries = read_entries(path, "draftkings")
    assert [e.lineup for e in entries.entries] == [("",) * 6, ("9", "", "", "", "", "")]
    assert entries.entries[0].is_reserved and not entries.entries[1].is_reserved


DK_HEAD = "Entry ID,Contest Name,Contest ID,Entry Fee,"
SLOTS_6 = "D,D,D,D,D,D"


@pytest.mark.parametrize(
    ("text", "site", "field", "message"),
    [
        (f"{DK_HEAD}{SLOTS_6}\n", "fanduel", "site", "looks like a DraftKings entries file"),
        ("Name,ID,Salary\nKyle Larson,1,9000\n", "draftkings", "file", "not an entries file"),
        (
            f"{DK_HEAD}QB,RB,RB,WR,WR,WR,TE,FLEX,DST\n1,NFL,2,$1\n",
            "draftkings",
            "file",
            "9 lineup slots (QB,RB,RB,WR,WR,WR,TE,FLEX,DST) where a DraftKings NASCAR lineup has 6",
        ),
        (f"{DK_HEAD}{SLOTS_6},,Instructions\n,,,,,,,,,,,1. Column A\n", "draftkings", "file", "no entries"),
        (
            f"{DK_HEAD}{SLOTS_6}\n7,A,1\n",
            "draftkings",
            "line 2.Entry Fee",
            "the entry row has 3 cells, too few",
        ),
        (
            "entry_id,contest_id,contest_name,entry_fee,D,D,D,D,D\n7,1,A,1,,,,,\n7,1,A,1,,,,,\n",
            "fanduel",
            "file",
            "entry 7 appears twice (lines 2 and 3)",
        ),
    ],
)
def test_bad_entries_files_say_what_is_wrong(
    tmp_path: Path, text: str, site: str, field: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InvalidInput) as caught:
        read_entries(path, site)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert message in caught.value.message


def test_write_entries_fills_the_first_entries_in_order_and_round_trips(tmp_path: Path) -> None:
    entries = read_entries(DK_ENTRIES, "draftkings")
    lineups = [DK_PLAYERS[:6], DK_PLAYERS[6:]]
    path = tmp_path / "filled.csv"
    write_entries(path, entries, lineups)
    rows = list(csv.reader(path.open(newline="", encoding="utf-8")))
    assert rows[0] == list(entries.columns)
    assert len(rows) == 3  # two lineups fill the first two of three entries; the third is left out
    assert rows[1][:4] == list(entries.entries[0].cells)  # the contest name with its comma survives
    assert rows[1][4:] == [f"{p.name} ({p.site_id})" for p in DK_PLAYERS[:6]]
    assert rows[2][4:] == [f"{p.name} ({p.site_id})" for p in DK_PLAYERS[6:]]
    again = read_entries(path, "draftkings")  # the written file reads as an entries file again
    assert [e.lineup for e in again.entries] == [tuple(row[4:]) for row in rows[1:]]
    assert again.players is None


def test_write_entries_refuses_more_lineups_than_entries_and_other_slates_players(tmp_path: Path) -> None:
    entries = read_entries(DK_ENTRIES, "draftkings")
    path = tmp_path / "filled.csv"
    with pytest.raises(InvalidInput, match="4 lineups for 3 entries"):
        write_entries(path, entries, [DK_PLAYERS[:6]] * 4)
    stranger = [*DK_PLAYERS[:5], DK_PLAYERS[5].__class__("draftkings", "99999999", "Kyle Busch", 7800)]
    with pytest.raises(InvalidInput, match=r"another slate\?\): \['Kyle Busch'\]"):
        write_entries(path, entries, [stranger])
    with pytest.raises(InvalidInput, match="exactly 6 drivers, got 5"):
        write_entries(path, entries, [DK_PLAYERS[:5]])
    assert not path.exists()


def test_write_fanduel_entries_carries_bare_ids() -> None:
    entries = read_entries(FD_ENTRIES, "fanduel")
    players = read_fanduel_players(DATA / "FanDuel-nascar-players.csv")
    buffer = io.StringIO()
    write_entries(buffer, entries, [players[:5], players[5:10]])
    assert buffer.getvalue().splitlines() == [
        "entry_id,contest_id,contest_name,entry_fee,D,D,D,D,D",
        "3670015043,129058-279208572,NASCAR $20K Sprint,3," + ",".join(p.site_id for p in players[:5]),
        "3670015044,129058-279208573,NASCAR $1K Head-to-Head,1," + ",".join(p.site_id for p in players[5:10]),
    ]
