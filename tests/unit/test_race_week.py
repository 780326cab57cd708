"""A DFS player's race week from the command line: the grid, drivers history has never seen, the
API's lineup rules by name, the site a file is for, entries files, help and bad slate rows."""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from core.sitefiles import read_draftkings_salaries, read_entries
from service.cli import main
from service.cli.inputs import read_race_week
from service.cli.parser import build_parser

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
SLATE = REPO / "data" / "samples" / "draftkings-bristol-2026.csv"
DK_PLAYERS, FD_PLAYERS = DATA / "DKSalaries-nascar.csv", DATA / "FanDuel-nascar-players.csv"
DK_ENTRIES, FD_ENTRIES = DATA / "DKEntries-nascar.csv", DATA / "FanDuel-nascar-entries.csv"
STARTS = DATA / "starts-bristol.csv"
FAST = ["--track", "bristol", "--seed", "3", "--n-scenarios", "200"]


@pytest.fixture(autouse=True)
def test_compilation_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AXIOM_CACHE_DIR", str(REPO / ".pytest_cache"))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The exit code, stdout and stderr (rich's line wrapping undone) of one command."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, " ".join(captured.out.split()), " ".join(captured.err.split())


def week_of(*args: str) -> Any:
    return read_race_week(build_parser().parse_args(["simulate", *args, "--track", "bristol", "--seed", "1"]))


def lineups_of(report: Path) -> list[list[dict[str, Any]]]:
    return [lineup["drivers"] for lineup in json.loads(report.read_text())["lineups"]]


# --- qualifying ------------------------------------------------------------------------------


def test_starts_set_the_grid_of_a_player_list_which_is_otherwise_lined_up_by_salary() -> None:
    guessed = week_of("--slate", str(DK_PLAYERS))
    assert guessed.grid_guessed
    by_salary = sorted(guessed.slate.drivers, key=lambda d: d.start_position)
    assert [d.salary for d in by_salary] == sorted((d.salary for d in by_salary), reverse=True)
    week = week_of("--slate", str(DK_PLAYERS), "--starts", str(STARTS))
    assert not week.grid_guessed
    starts = {d.name: d.start_position for d in week.slate.drivers}
    assert starts["Denny Hamlin"] == 1 and starts["Kyle Larson"] == 4 and starts["Daniel Suarez"] == 12


def test_starts_replace_a_drivers_csvs_start_column(tmp_path: Path) -> None:
    drivers = list(csv.DictReader(SLATE.open()))
    starts = tmp_path / "starts.csv"
    starts.write_text(
        "".join(f"{d['driver_id']},{len(drivers) - int(d['start_position']) + 1}\n" for d in drivers)
    )
    week = week_of("--slate", str(SLATE), "--starts", str(starts))
    assert not week.grid_guessed and not week_of("--slate", str(SLATE)).grid_guessed
    flipped = {d.driver_id: d.start_position for d in week.slate.drivers}
    assert all(flipped[d["driver_id"]] == len(drivers) + 1 - int(d["start_position"]) for d in drivers)


def test_output_says_the_grid_is_a_guess_until_starts_are_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "simulate", "--slate", str(DK_PLAYERS), *FAST)
    assert code == 0
    assert "grid: a guess until qualifying" in out and "lines up by salary" in out
    code, out, _ = run(capsys, "simulate", "--slate", str(DK_PLAYERS), "--starts", str(STARTS), *FAST)
    assert code == 0 and "grid:" not in out
    code, out, _ = run(capsys, "simulate", "--slate", str(SLATE), *FAST)
    assert code == 0 and "grid:" not in out  # a drivers CSV has its own start column


def test_a_misspelt_grid_name_exits_2_with_the_closest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    starts = tmp_path / "starts.csv"
    starts.write_text(STARTS.read_text().replace("Kyle Larson", "Kyle Larsen"))
    code, _, err = run(capsys, "simulate", "--slate", str(DK_PLAYERS), "--starts", str(starts), *FAST)
    assert code == 2
    assert "starts: 1 name(s) not in the slate: 'Kyle Larsen' (closest: 'Kyle Larson')" in err


# --- drivers history has never seen ----------------------------------------------------------


def test_drivers_new_to_history_are_named_with_their_rookie_rating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slate = tmp_path / "slate.csv"
    slate.write_text(SLATE.read_text().replace("Kyle Larson", "Zed Newcomer"))
    code, out, _ = run(capsys, "simulate", "--slate", str(slate), *FAST)
    assert code == 0
    # The sample slate's Connor Zilisch is new to the shipped parameter file too.
    assert "new to history: 2 driver(s) rated as rookies" in out
    assert "rookie prior at short tracks" in out
    assert "Zed Newcomer (" in out and "Connor Zilisch (" in out and "of 37" in out
    assert "Kyle Larson" not in out.split("new to history")[1].split("┏")[0]
    code, out, _ = run(capsys, "simulate", "--slate", str(slate), *FAST, "--no-calibration")
    assert code == 0 and "new to history" not in out


# --- the API's lineup rules, by name ---------------------------------------------------------


def test_exposures_locks_and_excludes_by_name_or_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "result.json"
    code, out, _ = run(
        capsys, "optimize", "--slate", str(SLATE), *FAST, "--n-lineups", "4",
        "--min-exposure", "kyle larson=75%", "--max-exposure", "0.5", "--max-exposure", "Denny Hamlin=0",
        "--lock", "Chase Elliott", "--exclude", "ryan-blaney", "--json", str(report),
    )  # fmt: skip
    assert code == 0
    lineups = lineups_of(report)
    assert len(lineups) == 4
    counts: dict[str, int] = {}
    for lineup in lineups:
        for driver in lineup:
            counts[driver["driver_id"]] = counts.get(driver["driver_id"], 0) + 1
    assert counts.get("kyle-larson", 0) >= 3  # at least 75%
    assert counts["chase-elliott"] == 4  # locked: the bare cap does not apply to it, nor to Larson's minimum
    assert "denny-hamlin" not in counts and "ryan-blaney" not in counts
    assert all(n <= 2 for driver_id, n in counts.items() if driver_id not in {"kyle-larson", "chase-elliott"})
    table = out.split("exposure: each driver's share of the 4 lineups")[1]
    assert re.search(r"Chase Elliott │ [\d,]+ │ 4 │ 100%", table)
    shares = [int(share) for share in re.findall(r"(\d+)% ┃?│", table)]
    assert shares == sorted(shares, reverse=True) and len(shares) == len(counts)  # most used first
    assert "Denny Hamlin" not in table


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            ["--lock", "Kyle Larsen"],
            "lock: 1 name(s) not in the slate: 'Kyle Larsen' (closest: 'Kyle Larson')",
        ),
        (
            ["--exclude", "Chase Eliot"],
            "exclude: 1 name(s) not in the slate: 'Chase Eliot' (closest: 'Chase Elliott', 'Chase Briscoe')",
        ),
        (["--max-exposure", "Dennis Hamlin=0.2"], "max_exposure: 1 name(s) not in the slate"),
        (["--min-exposure", "0.3"], "a minimum exposure names its driver"),
    ],
)
def test_unknown_driver_names_exit_2_with_the_closest(
    option: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "optimize", "--slate", str(SLATE), *FAST, *option)
    assert code == 2
    assert message in err


@pytest.mark.parametrize("share", ["1.5", "x=", "Kyle Larson=lots", "=0.3"])
def test_bad_exposure_shares_are_usage_errors(share: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["optimize", "--slate", str(SLATE), *FAST, "--max-exposure", share])
    assert exited.value.code == 2
    assert "--max-exposure" in capsys.readouterr().err


# --- which site a file is for ----------------------------------------------------------------


def test_a_fanduel_player_list_without_site_is_detected_and_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "sim.json"
    code, out, _ = run(capsys, "simulate", "--slate", str(FD_PLAYERS), *FAST, "--json", str(report))
    assert code == 0
    assert json.loads(report.read_text())["site"] == "fanduel"
    assert "site: FanDuel (FanDuel-nascar-players.csv is a FanDuel player list)" in out


FD_AS_DK = "looks like a FanDuel player list: use --site fanduel"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slate", str(FD_PLAYERS), "--site", "draftkings"], FD_AS_DK),
        (
            ["--slate", str(DK_PLAYERS), "--site", "fanduel"],
            "looks like a DraftKings player list: use --site",
        ),
        (["--slate", str(SLATE), "--salaries", str(FD_PLAYERS), "--site", "draftkings"], FD_AS_DK),
        (["--slate", str(DK_PLAYERS), "--salaries", str(FD_PLAYERS)], "give one site's files"),
        (
            ["--slate", str(SLATE), "--entries", str(FD_ENTRIES), "--out", "x.csv", "--site", "draftkings"],
            "looks like a FanDuel entries file: use --site fanduel",
        ),
    ],
)
def test_a_site_file_for_the_other_site_says_so(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "optimize", *args, *FAST)
    assert code == 2
    assert message in err
    assert "missing column" not in err


# --- entries files ---------------------------------------------------------------------------


def test_optimize_fills_a_draftkings_entries_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    filled, report = tmp_path / "filled.csv", tmp_path / "result.json"
    code, out, _ = run(
        capsys, "optimize", "--slate", str(DK_PLAYERS), "--starts", str(STARTS), *FAST,
        "--entries", str(DK_ENTRIES), "--out", str(filled), "--json", str(report),
    )  # fmt: skip
    assert code == 0
    assert f"wrote {filled}: 3 of 3 DraftKings entries filled (1 had a lineup, now replaced)" in out
    rows = list(csv.reader(filled.open(newline="")))
    entries = read_entries(DK_ENTRIES, "draftkings")
    assert rows[0] == ["Entry ID", "Contest Name", "Contest ID", "Entry Fee", *["D"] * 6]
    assert [row[:4] for row in rows[1:]] == [list(e.cells) for e in entries.entries]  # one lineup an entry
    names = {p.site_id: p.name for p in read_draftkings_salaries(DK_PLAYERS)}
    expected = [
        [f"{names[d['site_player_id']]} ({d['site_player_id']})" for d in lineup]
        for lineup in lineups_of(report)
    ]
    assert [row[4:] for row in rows[1:]] == expected


def test_fewer_lineups_fill_the_first_entries_and_more_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    filled = tmp_path / "filled.csv"
    base = ["optimize", "--slate", str(DK_ENTRIES), *FAST, "--entries", str(DK_ENTRIES), "--out", str(filled)]
    code, out, _ = run(capsys, *base, "--n-lineups", "2")
    assert code == 0
    assert "2 of 3 DraftKings entries filled; the other 1 are left out of the file" in out
    assert [row[0] for row in csv.reader(filled.open(newline=""))] == ["Entry ID", "4712345001", "4712345002"]
    filled.unlink()
    code, _, err = run(capsys, *base, "--n-lineups", "4")
    assert code == 2
    assert "holds 3 entries, fewer than the 4 lineups asked for: ask for at most 3" in err
    assert not filled.exists()
    code, _, err = run(capsys, *base[:-2])
    assert code == 2 and "--entries needs --out FILE" in err


def test_optimize_fills_a_fanduel_entries_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    filled = tmp_path / "filled.csv"
    code, out, _ = run(
        capsys,
        "optimize",
        "--slate",
        str(FD_PLAYERS),
        *FAST,
        "--entries",
        str(FD_ENTRIES),
        "--out",
        str(filled),
    )
    assert code == 0 and "2 of 2 FanDuel entries filled" in out
    rows = list(csv.reader(filled.open(newline="")))
    assert rows[0] == ["entry_id", "contest_id", "contest_name", "entry_fee", *["D"] * 5]
    assert [row[0] for row in rows[1:]] == ["3670015043", "3670015044"]
    assert all(cell.startswith("129058-") for row in rows[1:] for cell in row[4:])


# --- help ------------------------------------------------------------------------------------


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


@pytest.mark.parametrize("name", ["demo", "simulate", "optimize", "backtest", "serve"])
def test_every_option_has_help_with_its_default_and_each_command_an_example(name: str) -> None:
    command = subcommands()[name]
    text = " ".join(command.format_help().split())
    for action in command._actions:
        if action.dest == "help":
            continue
        assert action.help, f"{name} {action.option_strings} has no help"
        if not action.required:
            formatted = command._get_formatter()._get_help_string(action) % vars(action)
            assert "default" in formatted, f"{name} {action.option_strings}: no default in {formatted!r}"
    assert text.split("example:")[-1].strip().startswith(f"axiom {name} ")


def test_slate_help_names_the_files_it_takes() -> None:
    for name in ("simulate", "optimize"):
        text = " ".join(subcommands()[name].format_help().split())
        slate_help = text.split("--slate FILE")[-1].split("--track")[0]
        assert (
            "drivers CSV" in slate_help
            and "DKSalaries.csv" in slate_help
            and "FanDuel player list" in slate_help
        )


# --- bad slate rows --------------------------------------------------------------------------


def test_a_short_drivers_csv_row_exits_2_naming_file_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = SLATE.read_text().splitlines()
    lines[3] = ",".join(lines[3].split(",")[:5])
    slate = tmp_path / "slate.csv"
    slate.write_text("\n".join(lines) + "\n")
    code, _, err = run(capsys, "simulate", "--slate", str(slate), *FAST)
    assert code == 2
    assert f"line 4.aggression: {slate}: the row has 5 cells, so no aggression" in err
    assert "Traceback" not in err


def test_a_slate_that_is_not_text_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    slate = tmp_path / "DKSalaries.xlsx"
    slate.write_bytes(b"PK\x03\x04\xff\xfe binary")
    code, _, err = run(capsys, "simulate", "--slate", str(slate), *FAST)
    assert code == 2
    assert f"{slate}: not UTF-8 text" in err
