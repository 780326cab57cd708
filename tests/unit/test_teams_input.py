"""This week's teams: a drivers CSV's team column, --teams FILE, the REST driver's `team`; without
one a calibrated run assumes the driver's latest team in history and says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import ConstraintSpec, InvalidInput, load_slate, sample_slate_path
from core.calibration import load_params
from core.sitefiles import read_drivers_csv, read_teams, with_teams
from service.cli import main
from service.contracts import OptimizeRequest
from service.mapping import to_spec

REPO = Path(__file__).resolve().parents[2]


def test_teams_file_with_or_without_header_sets_teams_by_name_or_id(tmp_path: Path) -> None:
    drivers = load_slate(sample_slate_path(), "bristol").drivers
    plain, headed = tmp_path / "plain.csv", tmp_path / "headed.csv"
    plain.write_text("KYLE LARSON,Spire Motorsports\nchase-elliott,Legacy Motor Club\n")
    headed.write_text("car,Driver,Team\n5,Kyle Larson,Spire Motorsports\n")
    moved = {d.name: d.team for d in with_teams(drivers, read_teams(plain))}
    assert moved["Kyle Larson"] == "Spire Motorsports" and moved["Chase Elliott"] == "Legacy Motor Club"
    assert moved["Denny Hamlin"] == ""
    assert {d.name: d.team for d in with_teams(drivers, read_teams(headed))}[
        "Kyle Larson"
    ] == "Spire Motorsports"
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("Kyle Larsen,Spire Motorsports\nNobody Atall,X\n")
    with pytest.raises(InvalidInput) as error:
        with_teams(drivers, read_teams(unknown))
    assert error.value.field == "teams" and "Nobody Atall" in str(error.value)


def test_drivers_csv_reads_an_optional_team_column(tmp_path: Path) -> None:
    lines = sample_slate_path().read_text().splitlines()
    path = tmp_path / "slate.csv"
    path.write_text("\n".join([lines[0] + ",team", lines[1] + ",Spire Motorsports", lines[2] + ","]) + "\n")
    drivers = read_drivers_csv(path)
    assert [d.team for d in drivers] == ["Spire Motorsports", ""]


def test_a_given_team_replaces_the_latest_team_in_a_calibrated_spec() -> None:
    import dataclasses

    slate = load_slate(sample_slate_path(), "bristol")
    table = load_params().table
    latest = table.drivers["kyle larson"].team
    other = min((t for t in table.team_strength if t != latest), key=lambda t: table.team_strength[t])
    moved = [dataclasses.replace(d, team=other) if d.name == "Kyle Larson" else d for d in slate.drivers]
    specs = [
        ConstraintSpec.compile(field, slate.track, calibration_enabled=True)
        for field in (slate.drivers, moved)
    ]
    before, after = ({d.name: d.ratings for d in s.drivers} for s in specs)
    assert before["Kyle Larson"].team == latest and after["Kyle Larson"].team == other
    expected = table.ratings("kyle larson", "short", team=other, track_id="bristol")
    assert after["Kyle Larson"].strength == pytest.approx(expected.strength)
    assert after["Kyle Larson"].strength < before["Kyle Larson"].strength  # the weakest team
    assert after["Denny Hamlin"] == before["Denny Hamlin"]


def test_rest_driver_team_is_optional_and_reaches_the_spec() -> None:
    import msgspec

    driver = {"driver_id": "a", "skill": 0.5, "aggression": 0.5, "shadow_risk": 0.5}
    body = {"slate_id": "s", "scenario_config": {"track_id": "bristol", "n_scenarios": 100}}
    drivers = [driver | {"driver_id": f"d{i}"} for i in range(8)]
    drivers[0] = drivers[0] | {"team": "Spire Motorsports"}
    request = msgspec.convert(body | {"drivers": drivers}, OptimizeRequest)
    assert request.drivers[0].team == "Spire Motorsports" and request.drivers[1].team is None
    to_spec(request)  # raw: the team has no effect, and no error


def test_cli_says_which_teams_it_assumed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    teams = tmp_path / "teams.csv"
    teams.write_text("driver,team\nKyle Larson,Spire Motorsports\n")
    args = ["simulate", "--slate", str(sample_slate_path()), "--track", "bristol", "--n-scenarios", "200"]
    assert main([*args, "--seed", "1", "--teams", str(teams)]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the console wraps long notes
    note = out[out.index("teams:") :]
    assert "35 driver(s)" in note and "Denny Hamlin (Joe Gibbs Racing)" in note
    assert "Kyle Larson (" not in note


def test_a_refit_takes_each_drivers_team_from_his_latest_race() -> None:
    import dataclasses

    from core.calibration import fit_ratings
    from tests.unit.test_laps_fit import fastest_by_position, race

    races = [race(n, "short", fastest_by_position(False)) for n in range(1, 5)]
    teams = ["Old Racing"] * 3 + ["New Racing"]
    races = [
        dataclasses.replace(r, entries=tuple(dataclasses.replace(e, team=team) for e in r.entries))
        for r, team in zip(races, teams, strict=True)
    ]
    table = fit_ratings(races, (2025, 1))
    assert table.drivers["driver 0"].team == "New Racing"
