"""core.history: loading Cup results, joining fastest laps from the race logs, race order.

The first part runs on the synthetic fixture in tests/data/history (see its README.md); the tests
marked `shared` run on the real files in ../shared/data and skip, with the reason, without them.
"""

from __future__ import annotations

import csv
import datetime
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from core.errors import InvalidInput
from core.history import (
    DataWarning,
    HistoricalRace,
    RaceEntry,
    SkippedRace,
    lineup_correlation,
    load_history,
    race_archetype,
    races_before,
    rulebook_lineup,
    shared_logs_path,
    shared_results_path,
)
from core.history._archetypes import surface_from_name
from core.names import driver_key

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "history"
RESULTS = FIXTURE / "results.csv"
LOGS = FIXTURE / "logs.csv"
NEWER = FIXTURE / "results_2025.csv"  # a newer season's rows: empty Length and Surface, bad numbers


def by_id(history: tuple[HistoricalRace, ...]) -> dict[str, HistoricalRace]:
    return {race.race_id: race for race in history}


def fastest_by_driver(race: HistoricalRace) -> dict[str, int | None]:
    return {e.driver: e.fastest_laps for e in race.entries}


def rewrite(path: Path, out: Path, edit: dict[str, str] | None = None, drop: str | None = None) -> Path:
    """Copy a fixture CSV, replacing text in every line and optionally dropping a column."""
    text = path.read_text(encoding="utf-8")
    for old, new in (edit or {}).items():
        text = text.replace(old, new)
    if drop is not None:
        rows = list(csv.reader(text.splitlines()))
        keep = [i for i, name in enumerate(rows[0]) if name != drop]
        text = "\n".join(",".join(row[i] for i in keep) for row in rows) + "\n"
    out.write_text(text, encoding="utf-8")
    return out


# --- synthetic fixture -------------------------------------------------------------------------


def test_results_become_races_in_race_order() -> None:
    history = load_history(RESULTS, LOGS)
    assert [r.race_id for r in history] == [
        "2021-01",
        "2021-02",
        "2022-01",
        "2022-02",
        "2022-03",
        "2022-04",
        "2022-05",
    ]
    races = by_id(history)
    daytona = races["2022-01"]
    assert (daytona.season, daytona.race_number, daytona.track, daytona.track_id) == (
        2022,
        1,
        "Daytona International Speedway",
        "daytona",
    )
    assert daytona.laps == 201 and not daytona.exhibition
    assert [e.finish for e in daytona.entries] == list(range(1, 8))
    assert daytona.entries[0].driver == "Ricky Stenhouse Jr."  # results spelling, not the logs'
    assert races["2021-02"].track_id == "rockingham-speedway"  # not in data/tracks.csv
    assert races["2021-01"].entries[-1].status == "engine" and races["2021-01"].entries[-1].dnf
    assert (
        not races["2022-02"].entries[-1].status == "running" and races["2022-02"].entries[-1].status == "dvp"
    )


def test_archetype_is_decided_per_race() -> None:
    races = by_id(load_history(RESULTS, LOGS))
    assert races["2021-01"].archetype == "intermediate"  # Atlanta before its reconfiguration
    assert races["2022-02"].archetype == "superspeedway"
    assert races["2021-01"].track_id == races["2022-02"].track_id == "atlanta"
    assert races["2022-01"].archetype == "superspeedway"
    assert races["2022-03"].archetype == "short"
    assert races["2022-04"].archetype == "road"


def test_fastest_laps_join_across_spellings() -> None:
    races = by_id(load_history(RESULTS, LOGS))
    daytona = fastest_by_driver(races["2022-01"])
    assert daytona == {
        "Ricky Stenhouse Jr.": 9,  # logged as "Ricky Stenhouse Jr"
        "John Hunter Nemechek": 14,  # "John H. Nemechek"
        "Denny Hamlin": 20,
        "A.J. Allmendinger": 6,  # "AJ Allmendinger"
        "Daniel Suarez": 11,  # "Daniel Suárez"
        "Kyle Larson": 3,
        "Shane van Gisbergen": 1,  # "Shane Van Gisbergen"
    }
    assert races["2022-01"].has_fastest_laps
    allmendinger = next(e for e in races["2022-01"].entries if e.driver == "A.J. Allmendinger")
    assert allmendinger.avg_position == 5.5  # the log's average running position joins too
    assert allmendinger.team  # the results file's Team column
    # the Xfinity rows at Daytona (A.J. Allmendinger ran 50 fastest laps there) are not Cup
    assert all(e.fastest_laps != 50 for race in races.values() for e in race.entries)


def test_date_comes_from_the_matched_log_event() -> None:
    races = by_id(load_history(RESULTS, LOGS))
    assert races["2022-01"].date == datetime.date(2022, 2, 21)  # as logged, one day late
    assert races["2022-04"].date == datetime.date(2022, 6, 12)
    assert races["2021-01"].date is None  # no log event for 2021
    assert not races["2021-01"].has_fastest_laps
    assert all(e.fastest_laps is None for e in races["2021-01"].entries)


def test_two_races_at_one_track_are_told_apart_by_start_positions() -> None:
    races = by_id(load_history(RESULTS, LOGS))
    assert races["2022-03"].date == datetime.date(2022, 4, 10)
    assert races["2022-05"].date == datetime.date(2022, 10, 30)
    assert fastest_by_driver(races["2022-05"])["Denny Hamlin"] == 120


def test_disqualified_order_joins_by_name_not_by_finish() -> None:
    race = by_id(load_history(RESULTS, LOGS))["2022-03"]
    hamlin = race.entries[-1]
    assert (hamlin.driver, hamlin.finish, hamlin.fastest_laps) == ("Denny Hamlin", 6, 90)  # first on track
    assert race.entries[0].driver == "John Hunter Nemechek" and race.entries[0].fastest_laps == 40


def test_driver_without_a_log_row_has_unknown_fastest_laps() -> None:
    race = by_id(load_history(RESULTS, LOGS))["2022-03"]
    assert fastest_by_driver(race)["Kyle Larson"] is None
    assert not race.has_fastest_laps
    arrays = race.arrays()
    assert arrays.fastest_laps.tolist() == [40, 35, 20, -1, 15, 90]


def test_arrays_are_numpy_columns_in_entry_order() -> None:
    race = by_id(load_history(RESULTS, LOGS))["2022-01"]
    arrays = race.arrays()
    for column in ("start", "finish", "laps_completed", "laps_led", "fastest_laps"):
        assert getattr(arrays, column).dtype == np.int32
    assert arrays.dnf.dtype == np.bool_
    assert arrays.start.tolist() == [5, 2, 1, 7, 3, 4, 6]
    assert arrays.finish.tolist() == list(range(1, 8))
    assert arrays.laps_completed.tolist() == [201, 201, 201, 201, 201, 190, 150]
    assert int(arrays.laps_led.sum()) == race.laps
    assert arrays.dnf.tolist() == [False] * 5 + [True, True]


def test_logs_are_optional() -> None:
    history = load_history(RESULTS)
    assert len(history) == 7
    assert all(r.date is None and not r.has_fastest_laps for r in history)
    with pytest.raises(InvalidInput, match="include_exhibitions"):
        load_history(RESULTS, include_exhibitions=True)


def test_exhibitions_are_left_out_by_default() -> None:
    history = load_history(RESULTS, LOGS)
    assert not any(r.exhibition for r in history)
    assert all(r.race_number >= 1 for r in history)


def test_exhibitions_when_included_are_flagged_and_placed_by_date() -> None:
    history = load_history(RESULTS, LOGS, include_exhibitions=True)
    assert [r.race_id for r in history] == [
        "2021-01",
        "2021-02",
        "2022-x01",  # the Clash, 2022-02-06
        "2022-01",
        "2022-02",
        "2022-03",
        "2022-x02",  # the All-Star Open, 2022-05-22
        "2022-04",
        "2022-05",
    ]
    races = by_id(history)
    clash = races["2022-x01"]
    assert clash.exhibition and clash.race_number == 0 and clash.season == 2022
    assert clash.date == datetime.date(2022, 2, 6)
    assert (clash.track_id, clash.archetype, clash.laps) == ("los-angeles-memorial-coliseum", "short", 151)
    assert [e.driver for e in clash.entries][:4] == [
        "Kyle Larson",
        "Denny Hamlin",
        "Ricky Stenhouse Jr",
        "AJ Allmendinger",
    ]
    assert clash.entries[0].driver_key == driver_key("Kyle Larson")
    assert clash.has_fastest_laps
    # the Duels (two races under one date, finishes 1..4 twice) are not a race
    assert not any(r.date == datetime.date(2022, 2, 18) for r in history)
    open_race = races["2022-x02"]
    assert (open_race.track_id, open_race.archetype) == ("texas", "intermediate")
    stage_winner = next(e for e in open_race.entries if e.status == "stage 1 winner")
    assert not stage_winner.dnf  # it transferred to the main event, running
    assert [e.dnf for e in open_race.entries] == [False, False, False, True]


def test_a_points_race_logged_over_two_dates_is_not_an_exhibition(tmp_path: Path) -> None:
    # Two of Sonoma's six rows logged a day later: the four still match, the two are a fragment.
    lines = LOGS.read_text(encoding="utf-8").splitlines()
    moved = [
        line.replace("2022/06/12", "2022/06/13")
        if "2022/06/12" in line and ("Kyle Larson" in line or "Denny Hamlin" in line)
        else line
        for line in lines
    ]
    logs = tmp_path / "logs.csv"
    logs.write_text("\n".join(moved) + "\n", encoding="utf-8")
    races = by_id(load_history(RESULTS, logs, include_exhibitions=True))
    assert races["2022-04"].date == datetime.date(2022, 6, 12)
    assert fastest_by_driver(races["2022-04"])["Kyle Larson"] is None
    assert fastest_by_driver(races["2022-04"])["Shane van Gisbergen"] == 30
    assert sorted(r.race_id for r in races.values() if r.exhibition) == ["2022-x01", "2022-x02"]


def test_season_filter() -> None:
    assert [r.race_id for r in load_history(RESULTS, LOGS, first_season=2022, last_season=2022)] == [
        "2022-01",
        "2022-02",
        "2022-03",
        "2022-04",
        "2022-05",
    ]
    assert [r.race_id for r in load_history(RESULTS, LOGS, last_season=2021)] == ["2021-01", "2021-02"]
    assert load_history(RESULTS, LOGS, first_season=2030) == ()
    only_2022 = load_history(RESULTS, LOGS, first_season=2022, include_exhibitions=True)
    assert [r.race_id for r in only_2022 if r.exhibition] == ["2022-x01", "2022-x02"]
    with pytest.raises(InvalidInput, match="first_season"):
        load_history(RESULTS, first_season=2023, last_season=2022)


def test_any_season_loads(tmp_path: Path) -> None:
    results = rewrite(RESULTS, tmp_path / "results.csv", {"\n2022,": "\n2025,"})
    logs = rewrite(LOGS, tmp_path / "logs.csv", {",2022/": ",2025/"})
    history = load_history(results, logs, include_exhibitions=True)
    races = by_id(history)
    assert races["2025-01"].date == datetime.date(2025, 2, 21)
    assert races["2025-02"].archetype == "superspeedway"
    assert fastest_by_driver(races["2025-05"])["Denny Hamlin"] == 120
    assert history[2].race_id == "2025-x01"


def test_races_before_is_strictly_earlier() -> None:
    history = load_history(RESULTS, LOGS, include_exhibitions=True)
    races = by_id(history)
    assert races_before(history, history[0]) == ()
    assert [r.race_id for r in races_before(history, races["2022-01"])] == ["2021-01", "2021-02", "2022-x01"]
    assert [r.race_id for r in races_before(history, races["2022-x02"])] == [
        "2021-01",
        "2021-02",
        "2022-x01",
        "2022-01",
        "2022-02",
        "2022-03",
    ]
    # order of the input does not matter; the answer comes back in race order
    shuffled = tuple(reversed(history))
    assert races_before(shuffled, races["2022-04"]) == races_before(history, races["2022-04"])
    # a race that is not in the history is placed by its key
    points_only = tuple(r for r in history if r.race_id != "2022-03")
    assert [r.race_id for r in races_before(points_only, races["2022-03"])][-1] == "2022-02"


def grid_race(starts: list[int], keys: list[str] | None = None) -> HistoricalRace:
    """A race whose i-th car (driver `keys[i]`, default `d{i}`) started starts[i] and finished i + 1."""
    keys = keys or [f"d{i}" for i in range(len(starts))]
    entries = tuple(
        RaceEntry(
            driver=k,
            driver_key=k,
            start=s,
            finish=i + 1,
            laps_completed=100,
            laps_led=0,
            fastest_laps=None,
            status="running",
            dnf=False,
        )
        for i, (k, s) in enumerate(zip(keys, starts, strict=True))
    )
    return HistoricalRace(
        race_id="2021-02",
        season=2021,
        race_number=2,
        date=None,
        track="T",
        track_id="t",
        archetype="intermediate",
        laps=100,
        exhibition=False,
        entries=entries,
    )


def test_a_lineup_that_follows_the_last_finish_was_set_by_the_rulebook() -> None:
    n = 20
    previous = grid_race(list(range(1, n + 1)))
    # The next race's car i started where it finished last time, give or take a few swaps.
    grid = list(range(1, n + 1))
    grid[0], grid[3], grid[10], grid[12] = grid[3], grid[0], grid[12], grid[10]
    assert rulebook_lineup(grid_race(grid), previous)
    assert 0.9 < (lineup_correlation(grid_race(grid), previous) or 0.0) < 1.0
    qualified = (np.random.default_rng(0).permutation(n) + 1).tolist()
    assert not rulebook_lineup(grid_race(qualified), previous)
    # Too few drivers in both races to tell.
    others = [f"new{i}" for i in range(n - 9)] + [f"d{i}" for i in range(9)]
    assert not rulebook_lineup(grid_race(list(range(1, n + 1)), others), previous)
    assert lineup_correlation(grid_race(list(range(1, n + 1)), others), previous) is None


@pytest.mark.parametrize(
    ("track", "surface", "miles", "season", "expected"),
    [
        ("Daytona International Speedway", "paved", 2.5, 2024, "superspeedway"),
        ("Daytona International Speedway Road Course", "road", 3.61, 2021, "road"),
        ("Talladega Superspeedway", "paved", 2.66, 1990, "superspeedway"),
        ("Atlanta Motor Speedway", "paved", 1.54, 2021, "intermediate"),
        ("Atlanta Motor Speedway", "paved", 1.54, 2022, "superspeedway"),
        ("EchoPark Speedway", "paved", 1.54, 2025, "superspeedway"),
        ("Bristol Motor Speedway Dirt Track", "dirt", 0.533, 2022, "short"),
        ("World Wide Technology Raceway at Gateway", "paved", 1.25, 2023, "short"),
        ("Nashville Superspeedway", "paved", 1.333, 2023, "intermediate"),
        ("Darlington Raceway", "paved", 1.366, 2023, "intermediate"),
        ("Watkins Glen International", "Road", 2.45, 2023, "road"),
    ],
)
def test_race_archetype_rule(track: str, surface: str, miles: float, season: int, expected: str) -> None:
    assert race_archetype(track, surface, miles, season) == expected


def test_missing_file_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="file not found") as raised:
        load_history(tmp_path / "nope.csv")
    assert raised.value.field == "results"
    with pytest.raises(InvalidInput, match="file not found") as raised:
        load_history(RESULTS, tmp_path / "nope.csv")
    assert raised.value.field == "logs"


def test_missing_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"missing columns \['Led'\]"):
        load_history(rewrite(RESULTS, tmp_path / "results.csv", drop="Led"))
    with pytest.raises(InvalidInput, match=r"missing columns \['fastest_lap'\]"):
        load_history(RESULTS, rewrite(LOGS, tmp_path / "logs.csv", drop="fastest_lap"))


def test_a_race_with_an_unparseable_row_is_skipped_with_a_warning(tmp_path: Path) -> None:
    lines = RESULTS.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(",paved,3,2,", ",paved,3,two,")  # line 4: Start of Daniel Suarez
    bad = tmp_path / "results.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.warns(SkippedRace, match="Start is not a number: 'two'") as caught:
        history = load_history(bad, LOGS)
    assert [(w.message.race_id, w.message.line) for w in caught.list] == [("2021-01", 4)]
    assert f"{bad} line 4: race 2021-01 (Atlanta Motor Speedway) skipped" in str(caught.list[0].message)
    assert [r.race_id for r in history] == [r.race_id for r in load_history(RESULTS, LOGS)][1:]


def test_unparseable_rows_name_their_line(tmp_path: Path) -> None:
    lines = RESULTS.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("2021,1,", "2021,one,", 1)  # line 4: no race to leave out
    bad = tmp_path / "results.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="Race is not a number: 'one'") as raised:
        load_history(bad)
    assert raised.value.field == "results line 4"

    lines = LOGS.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].replace(",2022/", ",22/", 1)
    bad_logs = tmp_path / "logs.csv"
    bad_logs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="race_date") as raised:
        load_history(RESULTS, bad_logs)
    assert raised.value.field == "logs line 6"

    short = tmp_path / "short.csv"
    short.write_text(RESULTS.read_text(encoding="utf-8") + "2022,6,Kansas Speedway\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="3 fields") as raised:
        load_history(short)
    assert raised.value.field == "results line 45"


def test_a_newer_season_resolves_renamed_and_new_tracks() -> None:
    with pytest.warns(SkippedRace):
        races = by_id(load_history(NEWER))
    # (track_id, archetype) of each race whose Length or Surface is empty
    assert {race_id: (races[race_id].track_id, races[race_id].archetype) for race_id in races} == {
        "2024-01": ("rockingham-speedway", "short"),
        "2025-01": ("daytona", "superspeedway"),
        "2025-02": ("atlanta", "superspeedway"),  # EchoPark Speedway: data/track_aliases.csv
        "2025-03": ("sonoma", "road"),  # no Surface: data/tracks.csv says road course
        "2025-04": ("autodromo-hermanos-rodriguez", "road"),  # a new track whose name says road
        "2025-05": ("rockingham-speedway", "short"),  # the file's own 2024 race gives the length
        "2025-09": ("kansas", "intermediate"),
    }
    assert races["2025-02"].track == "EchoPark Speedway" and races["2025-02"].laps == 260
    assert [e.driver for e in races["2025-04"].entries][:2] == ["Chase Elliott", "William Byron"]


def test_races_of_a_newer_season_that_cannot_be_used_are_skipped_with_a_warning() -> None:
    with pytest.warns(SkippedRace) as caught:
        history = load_history(NEWER, first_season=2025)
    skipped = [w.message for w in caught.list]
    assert all(isinstance(w, SkippedRace) and isinstance(w, DataWarning) for w in skipped)
    assert [(w.race_id, w.track, w.line) for w in skipped] == [
        ("2025-06", "Bowman Gray Stadium", 26),  # the race's first line
        ("2025-07", "Martinsville Speedway", 32),  # the row itself
        ("2025-08", "Phoenix Raceway", 35),
    ]
    assert "Length and Surface are missing" in str(skipped[0])
    assert "Finish is not a number: ''" in str(skipped[1])
    assert "Start is not a number: 'NA'" in str(skipped[2])
    assert [r.race_id for r in history] == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-09"]
    # The 2024 race gives Rockingham's length though its season is not loaded.
    assert all(w.message.race_id != "2025-05" for w in caught.list)


def test_a_newer_season_without_the_earlier_rows_skips_a_track_of_unknown_length(tmp_path: Path) -> None:
    lines = NEWER.read_text(encoding="utf-8").splitlines()
    only_2025 = tmp_path / "results.csv"
    only_2025.write_text("\n".join(line for line in lines if not line.startswith("2024,")) + "\n")
    with pytest.warns(SkippedRace) as caught:
        history = load_history(only_2025)
    assert [w.message.race_id for w in caught.list] == ["2025-05", "2025-06", "2025-07", "2025-08"]
    assert "Length and Surface are missing" in str(caught.list[0].message)
    assert [r.race_id for r in history] == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-09"]


def test_shared_paths_point_at_the_real_files() -> None:
    results, logs = shared_results_path(), shared_logs_path()
    for path, name in ((results, "cup_series_results_1972_2024.csv"), (logs, "race-logs-2019-2024.csv")):
        assert path is None or (path.is_file() and path.name == name and path.parents[2].name == "shared")


# --- real data (../shared/data) ----------------------------------------------------------------


@pytest.fixture(scope="module")
def real_files(shared_data: Path) -> tuple[Path, Path]:
    return (
        shared_data / "nascar_data_r" / "cup_series_results_1972_2024.csv",
        shared_data / "zaxlab_race_logs" / "race-logs-2019-2024.csv",
    )


@pytest.fixture(scope="module")
def real_history(real_files: tuple[Path, Path]) -> tuple[HistoricalRace, ...]:
    return load_history(*real_files, include_exhibitions=True)


def real_points_races(history: tuple[HistoricalRace, ...], first: int, last: int) -> list[HistoricalRace]:
    return [r for r in history if not r.exhibition and first <= r.season <= last]


@pytest.mark.shared
def test_real_spellings_meet_the_results_names(real_files: tuple[Path, Path], shared_data: Path) -> None:
    results, logs = real_files
    with results.open(newline="", encoding="utf-8") as handle:
        result_names = {row["Driver"] for row in csv.DictReader(handle) if int(row["Season"]) >= 2019}
    with logs.open(newline="", encoding="utf-8") as handle:
        log_names = {row["driver_name"] for row in csv.DictReader(handle) if row["series"] == "Cup"}
    dfs = shared_data / "crummypicks_dfs_hub" / "race_results_2022_2024.csv"
    with dfs.open(newline="", encoding="utf-8") as handle:
        dfs_names = {
            r["driver"] for r in csv.DictReader(handle) if r["series"] == "cup" and int(r["season"]) <= 2024
        }
    for ours, theirs in [
        ("A.J. Allmendinger", "AJ Allmendinger"),
        ("Shane van Gisbergen", "Shane Van Gisbergen"),
        ("B.J. McLeod", "BJ McLeod"),
        ("J.J. Yeley", "JJ Yeley"),
        ("Ricky Stenhouse Jr.", "Ricky Stenhouse Jr"),
        ("Daniel Suarez", "Daniel Suárez"),
        ("John Hunter Nemechek", "John H. Nemechek"),
    ]:
        assert ours in result_names and theirs in log_names | dfs_names
        assert driver_key(ours) == driver_key(theirs)
    result_keys = {driver_key(n) for n in result_names}
    # Ryan Truex ran only the 2019 Duels (an exhibition), never a 2019-2024 points race.
    assert {driver_key(n) for n in log_names} - result_keys == {"ryan truex"}
    assert {driver_key(n) for n in dfs_names} <= result_keys


@pytest.mark.shared
def test_real_2022_2024_races_are_whole(real_history: tuple[HistoricalRace, ...]) -> None:
    races = real_points_races(real_history, 2022, 2024)
    assert Counter(r.season for r in races) == {2022: 36, 2023: 36, 2024: 36}
    for race in races:
        arrays = race.arrays()
        n = len(race.entries)
        assert Counter(arrays.finish.tolist())[1] == 1, race.race_id
        assert sorted(arrays.finish.tolist()) == list(range(1, n + 1)), race.race_id
        assert sorted(arrays.start.tolist()) == list(range(1, n + 1)), race.race_id
        # two races in the file are off by one lap (Atlanta 2023-19, Sonoma 2024-16)
        assert abs(int(arrays.laps_led.sum()) - race.laps) <= 1, race.race_id
        assert race.has_fastest_laps, race.race_id
        assert 0.5 * race.laps <= int(arrays.fastest_laps.sum()) <= race.laps, race.race_id
        assert race.date is not None and race.date.year == race.season
        assert not arrays.dnf[0] and race.entries[0].laps_completed == race.laps
    for season in (2022, 2023, 2024):
        dates = [r.date for r in races if r.season == season]
        assert dates == sorted(dates) and len(set(dates)) == len(dates)


@pytest.mark.shared
def test_real_fastest_laps_join_every_2019_2024_race(real_history: tuple[HistoricalRace, ...]) -> None:
    races = real_points_races(real_history, 2019, 2024)
    assert len(races) == 216
    assert sum(r.has_fastest_laps for r in races) == 216
    assert all(e.avg_position is not None and e.team for r in races for e in r.entries)
    assert all(r.date is None for r in real_points_races(real_history, 1972, 2018))


@pytest.mark.shared
def test_real_pocono_2022_keeps_the_official_order(real_history: tuple[HistoricalRace, ...]) -> None:
    pocono = next(r for r in real_history if r.season == 2022 and r.track_id == "pocono")
    assert pocono.entries[0].driver == "Chase Elliott"
    last_two = {e.driver: e for e in pocono.entries[-2:]}
    assert set(last_two) == {"Denny Hamlin", "Kyle Busch"}  # disqualified after finishing 1-2
    assert all(e.status == "running" and (e.fastest_laps or 0) > 0 for e in last_two.values())


@pytest.mark.shared
def test_real_driver_keys_are_unique_within_every_race(real_history: tuple[HistoricalRace, ...]) -> None:
    assert [r.season for r in real_history if not r.exhibition][0] == 1972
    assert {r.season for r in real_history} == set(range(1972, 2025))
    for race in real_history:
        keys = [e.driver_key for e in race.entries]
        assert len(set(keys)) == len(keys), race.race_id  # Dale Earnhardt and Jr. raced together
        assert sum(e.finish == 1 for e in race.entries) == 1, race.race_id


@pytest.mark.shared
def test_real_exhibitions(real_files: tuple[Path, Path], real_history: tuple[HistoricalRace, ...]) -> None:
    assert not any(r.exhibition for r in load_history(*real_files, first_season=2019))
    exhibitions = [r for r in real_history if r.exhibition]
    assert exhibitions and all(r.race_number == 0 and "-x" in r.race_id for r in exhibitions)
    for race in exhibitions:
        assert sorted(e.finish for e in race.entries) == list(range(1, len(race.entries) + 1))
    for season in range(2019, 2025):
        in_season = [r for r in real_history if r.season == season]
        clash, first_points = in_season[0], next(r for r in in_season if not r.exhibition)
        assert clash.exhibition and first_points.race_number == 1, season
        assert clash.date is not None and first_points.date is not None
        assert clash.date.month == 2 and clash.date < first_points.date
        # the Duels (two races logged under one date) are skipped: the Clash is the only one before
        assert in_season[1] is first_points, season


@pytest.mark.shared
def test_real_season_filter(real_files: tuple[Path, Path]) -> None:
    history = load_history(*real_files, first_season=2023, last_season=2023)
    assert [r.race_id for r in history] == [f"2023-{n:02d}" for n in range(1, 37)]
    assert all(r.has_fastest_laps for r in history)
    assert {r.season for r in load_history(real_files[0], last_season=1975)} == {1972, 1973, 1974, 1975}


@pytest.mark.shared
def test_real_atlanta_changes_archetype_in_2022(real_history: tuple[HistoricalRace, ...]) -> None:
    atlanta = [r for r in real_history if r.track_id == "atlanta" and r.season in (2021, 2022)]
    assert {(r.season, r.archetype) for r in atlanta} == {(2021, "intermediate"), (2022, "superspeedway")}
    assert Counter(r.season for r in atlanta) == {2021: 2, 2022: 2}


@pytest.mark.shared
def test_real_races_before(real_history: tuple[HistoricalRace, ...]) -> None:
    points = tuple(r for r in real_history if not r.exhibition)
    target = next(r for r in points if r.race_id == "2023-10")
    earlier = races_before(points, target)
    assert len(earlier) == points.index(target)
    assert earlier[-1].race_id == "2023-09" and earlier[0].race_id == "1972-01"


@pytest.mark.shared
def test_real_rulebook_lineups_are_the_2020_2021_formula_and_rain_outs(
    real_history: tuple[HistoricalRace, ...],
) -> None:
    flagged = Counter(r.season for r in real_history if r.rulebook_lineup)
    assert flagged[2021] >= 20  # qualifying was held at a handful of 2021 races
    assert flagged[2020] >= 8
    assert all(flagged[season] <= 4 for season in (2016, 2017, 2018, 2019, 2022, 2023, 2024))
    assert not any(r.rulebook_lineup for r in real_history if r.race_number == 1 or r.exhibition)


@pytest.mark.shared
def test_real_races_without_length_and_surface_resolve_as_before(
    real_files: tuple[Path, Path], real_history: tuple[HistoricalRace, ...], tmp_path: Path
) -> None:
    # Every row as newer seasons of the public file give the new tracks: no Length, no Surface.
    blank = tmp_path / "results.csv"
    with real_files[0].open(newline="", encoding="utf-8") as source, blank.open("w", newline="") as out:
        rows = csv.DictReader(source)
        writer = csv.DictWriter(out, fieldnames=list(rows.fieldnames or []))
        writer.writeheader()
        writer.writerows({**row, "Length": "", "Surface": ""} for row in rows)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkippedRace)
        resolved = by_id(load_history(blank))
    skipped = {w.message.race_id for w in caught if isinstance(w.message, SkippedRace)}
    points = [r for r in real_history if not r.exhibition]
    assert {r.race_id for r in points} == set(resolved) | skipped
    # Since 2015 (the layouts of data/tracks.csv) every race is classed as with its row.
    recent = [r for r in points if r.season >= 2015]
    assert not skipped & {r.race_id for r in recent}
    assert all(
        (resolved[r.race_id].track_id, resolved[r.race_id].archetype) == (r.track_id, r.archetype)
        for r in recent
    )
    # Before, a race at a layout of data/tracks.csv is classed by it (a road course stays one);
    # the others are skipped, as no name says an oval's length.
    older = [r for r in points if r.season < 2015]
    assert all(
        (resolved[r.race_id].archetype == "road") == (r.archetype == "road")
        for r in older
        if r.race_id in resolved
    )
    assert "1981-01" in skipped  # Riverside International Raceway: its name does not say road course
    # A name that says road course or oval never says the wrong one, on every Cup track since 1972.
    for track, road in {(r.track, r.archetype == "road") for r in points}:
        assert surface_from_name(track) in (None, "road" if road else "paved"), track
