"""DraftKings and FanDuel player lists and upload files (core.sitefiles).

Fixtures in tests/data: `FanDuel-nascar-players.csv` is the header and 13 rows, copied verbatim, of
a real FanDuel Cup export (darrenw53/NASCAR_Sim, data/weekly/fan_duel/week_players.csv at commit
06953c1a). `DKSalaries-nascar.csv` follows the DraftKings lineup-builder export layout (upload grid
and instructions first, player table from column H) with the real 2026 Bristol Cup names and
salaries; its IDs and average points are made up.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from core.errors import InvalidInput
from core.sitefiles import (
    SitePlayer,
    match_players,
    player_list_site,
    read_draftkings_salaries,
    read_draftkings_upload,
    read_drivers_csv,
    read_fanduel_players,
    read_fanduel_upload,
    read_site_players,
    write_draftkings_upload,
    write_fanduel_upload,
)

DATA = Path(__file__).resolve().parents[1] / "data"
DK_FILE = DATA / "DKSalaries-nascar.csv"
FD_FILE = DATA / "FanDuel-nascar-players.csv"
DK_HEADER_LINE = 8  # 1-based line of the player-table header in DK_FILE


def dk_variant(tmp_path: Path, edit: dict[int, str] | None = None, drop_preamble: bool = False) -> Path:
    """A copy of DK_FILE with some 1-based lines replaced, optionally without the preamble."""
    lines = DK_FILE.read_text(encoding="utf-8").splitlines()
    for number, text in (edit or {}).items():
        lines[number - 1] = text
    if drop_preamble:
        lines = [line[len(",,,,,,,") :] for line in lines[DK_HEADER_LINE - 1 :]]
    path = tmp_path / "DKSalaries.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def dk_line(number: int) -> str:
    return DK_FILE.read_text(encoding="utf-8").splitlines()[number - 1]


def fd_variant(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "fanduel.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- DraftKings player list ------------------------------------------------------------------


def test_draftkings_salaries_parse_past_the_preamble_and_offset_header() -> None:
    players = read_draftkings_salaries(DK_FILE)
    assert len(players) == 12
    assert players[0] == SitePlayer(
        site="draftkings",
        site_id="42617301",
        name="Kyle Larson",
        salary=11500,
        avg_points=52.43,
        team=None,
        game_info="BRI @ BRI 04/12/2026 03:00PM ET",
    )
    last = players[-1]
    assert (last.site_id, last.name, last.salary, last.avg_points) == (
        "42617331",
        "Ricky Stenhouse Jr",
        5500,
        28.43,
    )
    assert [p.salary for p in players[:4]] == [11500, 11000, 10700, 10500]
    assert "Shane Van Gisbergen" in {p.name for p in players}


def test_draftkings_plain_export_without_preamble_reads_the_same(tmp_path: Path) -> None:
    plain = read_draftkings_salaries(dk_variant(tmp_path, drop_preamble=True))
    assert plain == read_draftkings_salaries(DK_FILE)


def test_draftkings_rows_without_player_cells_are_skipped(tmp_path: Path) -> None:
    """Entry-grid rows and blank lines below the header, as in DKEntries.csv, are not players."""
    path = dk_variant(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[DK_HEADER_LINE:DK_HEADER_LINE] = ["", "Kyle Larson (42617301),,,,,,,"]
    lines.append(",,,,,,,,,,,,,,,,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert read_draftkings_salaries(path) == read_draftkings_salaries(DK_FILE)


def test_draftkings_columns_are_found_by_name_in_any_order(tmp_path: Path) -> None:
    path = tmp_path / "reordered.csv"
    path.write_text(
        "Salary,ID,Name,Position\n7800,42617314,Kyle Busch,D\n7500,42617315,Bubba Wallace,D\n",
        encoding="utf-8",
    )
    players = read_draftkings_salaries(path)
    assert [(p.site_id, p.name, p.salary) for p in players] == [
        ("42617314", "Kyle Busch", 7800),
        ("42617315", "Bubba Wallace", 7500),
    ]
    assert players[0].avg_points is None
    assert players[0].game_info is None


def test_draftkings_missing_salary_column_names_it_and_the_file(tmp_path: Path) -> None:
    header = dk_line(DK_HEADER_LINE).replace(",Salary,", ",Pay,")
    path = dk_variant(tmp_path, {DK_HEADER_LINE: header})
    with pytest.raises(InvalidInput) as caught:
        read_draftkings_salaries(path)
    assert caught.value.field == "file"
    assert "missing column(s) Salary (" in caught.value.message  # only Salary: Name and ID are there
    assert str(path) in caught.value.message


def test_draftkings_bad_salary_names_the_line(tmp_path: Path) -> None:
    line = DK_HEADER_LINE + 3  # Ryan Blaney
    path = dk_variant(tmp_path, {line: dk_line(line).replace(",10700,", ",10.7k,")})
    with pytest.raises(InvalidInput) as caught:
        read_draftkings_salaries(path)
    assert caught.value.field == f"line {line}.Salary"
    assert "10.7k" in caught.value.message


def test_draftkings_negative_salary_is_refused(tmp_path: Path) -> None:
    line = DK_HEADER_LINE + 1
    path = dk_variant(tmp_path, {line: dk_line(line).replace(",11500,", ",-11500,")})
    with pytest.raises(InvalidInput) as caught:
        read_draftkings_salaries(path)
    assert caught.value.field == f"line {line}.Salary"
    assert "negative" in caught.value.message


def test_draftkings_duplicate_id_is_refused(tmp_path: Path) -> None:
    line = DK_HEADER_LINE + 2  # Denny Hamlin, given Kyle Larson's ID
    path = dk_variant(tmp_path, {line: dk_line(line).replace("42617302", "42617301")})
    with pytest.raises(InvalidInput) as caught:
        read_draftkings_salaries(path)
    assert "42617301" in caught.value.message
    assert "Kyle Larson" in caught.value.message and "Denny Hamlin" in caught.value.message


def test_draftkings_duplicate_normalised_name_is_refused(tmp_path: Path) -> None:
    line = DK_HEADER_LINE + 2
    row = dk_line(line).replace("Denny Hamlin", "Kyle Larson.")
    path = dk_variant(tmp_path, {line: row})
    with pytest.raises(InvalidInput) as caught:
        read_draftkings_salaries(path)
    assert "'Kyle Larson'" in caught.value.message and "'Kyle Larson.'" in caught.value.message


@pytest.mark.parametrize("text", ["", "\n\n,,,\n"])
def test_empty_file_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(text, encoding="utf-8")
    for reader in (read_draftkings_salaries, read_fanduel_players):
        with pytest.raises(InvalidInput) as caught:
            reader(path)
        assert caught.value.field == "file"
        assert "empty" in caught.value.message


def test_header_without_rows_is_refused(tmp_path: Path) -> None:
    path = dk_variant(tmp_path, drop_preamble=True)
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="no rows"):
        read_draftkings_salaries(path)


# --- FanDuel player list ---------------------------------------------------------------------


def test_fanduel_players_parse_the_real_export() -> None:
    players = read_fanduel_players(FD_FILE)
    assert len(players) == 13
    first = players[0]
    assert first.site == "fanduel"
    assert (first.site_id, first.name, first.salary) == ("129058-82888", "Kyle Larson", 14000)
    assert first.avg_points == pytest.approx(55.47999877929688)
    assert (first.team, first.game_info) == (None, None)  # the export leaves Team and Game empty
    by_name = {p.name: p for p in players}
    assert by_name["John Hunter Nemechek"].site_id == "129058-118091"
    assert by_name["Ricky Stenhouse Jr."].salary == 3800
    assert by_name["Shane van Gisbergen"].avg_points == pytest.approx(49.86000061035156)
    assert by_name["Cole Custer"].salary == by_name["Cody Ware"].salary == 2000


def test_fanduel_name_falls_back_to_first_and_last(tmp_path: Path) -> None:
    lines = FD_FILE.read_text(encoding="utf-8").splitlines()
    lines[9] = lines[9].replace(",John Hunter Nemechek,", ",,")
    players = read_fanduel_players(fd_variant(tmp_path, lines))
    assert players[8].name == "John Hunter Nemechek"
    assert players[8].site_id == "129058-118091"


def test_fanduel_extra_unnamed_columns_do_not_shift_fields(tmp_path: Path) -> None:
    lines = [line + ",," for line in FD_FILE.read_text(encoding="utf-8").splitlines()]
    lines.insert(1, ",,,,,,,,,,,,,,,,,,")  # a blank row of commas inside the table
    players = read_fanduel_players(fd_variant(tmp_path, lines))
    assert players == read_fanduel_players(FD_FILE)


def test_fanduel_bad_salary_names_the_line(tmp_path: Path) -> None:
    lines = FD_FILE.read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4].replace(",12500,", ",$12500,")  # Tyler Reddick, line 5
    with pytest.raises(InvalidInput) as caught:
        read_fanduel_players(fd_variant(tmp_path, lines))
    assert caught.value.field == "line 5.Salary"


def test_fanduel_missing_id_column(tmp_path: Path) -> None:
    lines = FD_FILE.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace("Id,", "Player,", 1)
    path = fd_variant(tmp_path, lines)
    with pytest.raises(InvalidInput) as caught:
        read_fanduel_players(path)
    assert caught.value.field == "file"
    assert "missing column(s) Id " in caught.value.message
    assert str(path) in caught.value.message


def test_fanduel_duplicate_id_is_refused(tmp_path: Path) -> None:
    lines = FD_FILE.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("129058-82878", "129058-82888")
    with pytest.raises(InvalidInput, match="129058-82888"):
        read_fanduel_players(fd_variant(tmp_path, lines))


def test_match_players_across_sites_and_spellings() -> None:
    fanduel = read_fanduel_players(FD_FILE)
    names = ["Ricky Stenhouse Jr", "Shane Van Gisbergen", "A.J. Allmendinger", "Daniel Suárez", "Ryan Blaney"]
    matched = match_players(fanduel, names)
    assert list(matched) == names
    assert {name: p.site_id for name, p in matched.items()} == {
        "Ricky Stenhouse Jr": "129058-82900",
        "Shane Van Gisbergen": "129058-188888",
        "A.J. Allmendinger": "129058-82854",
        "Daniel Suárez": "129058-82901",
        "Ryan Blaney": "129058-82858",
    }


def test_match_players_lists_every_unmatched_name_with_suggestions() -> None:
    players = read_draftkings_salaries(DK_FILE)
    with pytest.raises(InvalidInput) as caught:
        match_players(players, ["Kyle Larson", "Denny Hamlim", "Chase Eliot", "Carl Edwards"])
    message = caught.value.message
    assert caught.value.field == "drivers"
    assert "3 name(s)" in message
    assert "'Denny Hamlim' (closest: 'Denny Hamlin')" in message
    assert "'Chase Eliot' (closest: 'Chase Elliott')" in message
    assert "'Carl Edwards' (closest: none)" in message
    assert "'Kyle Larson'" not in message


def test_match_players_name_matching_two_players_is_refused() -> None:
    twins = [
        SitePlayer("draftkings", "1", "A.J. Allmendinger", 6600),
        SitePlayer("draftkings", "2", "AJ Allmendinger", 6500),
    ]
    with pytest.raises(InvalidInput) as caught:
        match_players(twins, ["AJ Allmendinger"])
    assert "'A.J. Allmendinger' (1)" in caught.value.message
    assert "'AJ Allmendinger' (2)" in caught.value.message


def test_match_players_two_names_for_one_player_is_refused() -> None:
    players = read_draftkings_salaries(DK_FILE)
    with pytest.raises(InvalidInput, match="'Daniel Suarez' and 'Daniel Suárez' both match"):
        match_players(players, ["Daniel Suarez", "Daniel Suárez"])


# --- uploads ---------------------------------------------------------------------------------


def test_draftkings_upload_round_trip(tmp_path: Path) -> None:
    players = read_draftkings_salaries(DK_FILE)
    lineups = [players[:6], players[6:], [players[i] for i in (11, 0, 5, 3, 8, 9)]]
    path = tmp_path / "dk-upload.csv"
    write_draftkings_upload(path, lineups)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "D,D,D,D,D,D"
    assert lines[1].split(",")[0] == "Kyle Larson (42617301)"
    assert len(lines) == 4
    assert read_draftkings_upload(path) == [[p.site_id for p in lineup] for lineup in lineups]


def test_fanduel_upload_round_trip_through_a_file_object(tmp_path: Path) -> None:
    players = read_fanduel_players(FD_FILE)
    lineups = [players[:5], [players[i] for i in (12, 7, 0, 9, 10)]]
    buffer = io.StringIO(newline="")
    write_fanduel_upload(buffer, lineups)
    text = buffer.getvalue()
    assert text.splitlines()[:2] == [
        "D,D,D,D,D",
        "129058-82888,129058-82878,129058-118521,129058-102623,129058-82858",
    ]
    path = tmp_path / "fd-upload.csv"
    path.write_text(text, encoding="utf-8", newline="")
    assert read_fanduel_upload(path) == [[p.site_id for p in lineup] for lineup in lineups]


def test_upload_reader_accepts_bare_draftkings_ids(tmp_path: Path) -> None:
    path = tmp_path / "bare.csv"
    path.write_text("D,D,D,D,D,D\n1,2,3,4,5,Ty Gibbs (6)\n", encoding="utf-8")
    assert read_draftkings_upload(path) == [["1", "2", "3", "4", "5", "6"]]


@pytest.mark.parametrize("size", [5, 7])
def test_draftkings_upload_refuses_wrong_lineup_size(tmp_path: Path, size: int) -> None:
    players = read_draftkings_salaries(DK_FILE)
    path = tmp_path / "dk-upload.csv"
    with pytest.raises(InvalidInput) as caught:
        write_draftkings_upload(path, [players[:6], players[:size]])
    assert caught.value.field == "lineups[1]"
    assert f"got {size}" in caught.value.message
    assert not path.exists()  # nothing written when any lineup is bad


def test_fanduel_upload_refuses_wrong_size_and_foreign_players() -> None:
    fanduel = read_fanduel_players(FD_FILE)
    draftkings = read_draftkings_salaries(DK_FILE)
    with pytest.raises(InvalidInput, match="exactly 5 drivers, got 6"):
        write_fanduel_upload(io.StringIO(), [fanduel[:6]])
    with pytest.raises(InvalidInput, match="is a draftkings player"):
        write_fanduel_upload(io.StringIO(), [[*fanduel[:4], draftkings[0]]])
    with pytest.raises(InvalidInput, match="same driver twice"):
        write_fanduel_upload(io.StringIO(), [[*fanduel[:4], fanduel[0]]])


def test_upload_reader_refuses_short_rows_and_wrong_header(tmp_path: Path) -> None:
    path = tmp_path / "upload.csv"
    path.write_text("D,D,D,D,D\na,b,c,d\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        read_fanduel_upload(path)
    assert caught.value.field == "line 2"
    with pytest.raises(InvalidInput) as caught:
        read_draftkings_upload(path)
    assert caught.value.field == "line 1"


# --- drivers CSV rows ------------------------------------------------------------------------

SAMPLE_SLATE = Path(__file__).resolve().parents[2] / "data" / "samples" / "draftkings-bristol-2026.csv"


def slate_variant(tmp_path: Path, edit: dict[int, str]) -> Path:
    """A copy of the shipped sample slate with some 1-based lines replaced."""
    lines = SAMPLE_SLATE.read_text(encoding="utf-8").splitlines()
    for number, text in edit.items():
        lines[number - 1] = text
    path = tmp_path / "slate.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        (
            "denny-hamlin,Denny Hamlin,11000,5,0.921",
            "line 3.aggression",
            "the row has 5 cells, so no aggression",
        ),
        ("denny-hamlin,Denny Hamlin", "line 3.salary", "the row has 2 cells"),
        ("denny-hamlin,Denny Hamlin,11k,5,0.921,0.579,0.268", "line 3.salary", "not a number: '11k'"),
        (",Denny Hamlin,11000,5,0.921,0.579,0.268", "line 3.driver_id", "empty"),
        ("denny-hamlin,Denny Hamlin,11000,5,0.921,high,0.268", "line 3.aggression", "not a number: 'high'"),
    ],
)
def test_drivers_csv_bad_row_names_the_file_line_and_column(
    tmp_path: Path, row: str, field: str, message: str
) -> None:
    path = slate_variant(tmp_path, {3: row})
    with pytest.raises(InvalidInput) as caught:
        read_drivers_csv(path)
    assert caught.value.field == field
    assert message in caught.value.message and str(path) in caught.value.message


def test_drivers_csv_line_numbers_count_blank_lines_and_blank_rows_are_skipped(tmp_path: Path) -> None:
    lines = SAMPLE_SLATE.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "slate.csv"
    path.write_text("\n".join([lines[0], "", *lines[1:3], "bad-row", *lines[3:]]) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        read_drivers_csv(path)
    assert caught.value.field == "line 5.name"  # the header, a blank line, two drivers, then the bad row
    path.write_text("\n".join([lines[0], "", *lines[1:], ",,,,,,"]) + "\n", encoding="utf-8")
    assert read_drivers_csv(path) == read_drivers_csv(SAMPLE_SLATE)


def test_drivers_csv_missing_column_names_it(tmp_path: Path) -> None:
    path = slate_variant(tmp_path, {1: "driver_id,name,salary,start_position,skill,aggression"})
    with pytest.raises(InvalidInput, match=r"missing columns \['shadow_risk'\]"):
        read_drivers_csv(path)


# --- which site a file is for ----------------------------------------------------------------


def test_player_list_site_tells_the_sites_apart() -> None:
    assert player_list_site(DK_FILE) == "draftkings"
    assert player_list_site(FD_FILE) == "fanduel"
    assert player_list_site(SAMPLE_SLATE) is None
    assert player_list_site(DATA / "DKEntries-nascar.csv") == "draftkings"  # it carries the player table
    assert player_list_site(DATA / "FanDuel-nascar-entries.csv") == "fanduel"


def test_reading_one_sites_list_as_the_others_says_which_it_is() -> None:
    with pytest.raises(InvalidInput) as caught:
        read_site_players(FD_FILE, "draftkings")
    assert caught.value.field == "site"
    assert "looks like a FanDuel player list, not a DraftKings one" in caught.value.message
    with pytest.raises(InvalidInput, match="looks like a DraftKings player list"):
        read_site_players(DK_FILE, "fanduel")
    assert read_site_players(FD_FILE, "fanduel") == read_fanduel_players(FD_FILE)
