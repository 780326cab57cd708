"""The `axiom` command end to end on the shipped Bristol slate (small scenario counts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core import InvalidInput
from core.calibration import RatingSettings
from service.cli import main
from service.cli.commands import rating_settings

REPO = Path(__file__).resolve().parents[2]
SLATE = REPO / "data" / "samples" / "draftkings-bristol-2026.csv"
DRIVER_KEYS = {
    "mean_points", "p90_points", "win_rate", "top5_rate", "mean_laps_led", "mean_fastest_laps", "dnf_rate",
}  # fmt: skip


@pytest.fixture(autouse=True)
def test_compilation_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI points JAX's cache at $AXIOM_CACHE_DIR/jax: keep it on the test run's cache."""
    monkeypatch.setenv("AXIOM_CACHE_DIR", str(REPO / ".pytest_cache"))


def simulate_args(out: Path, *extra: str) -> list[str]:
    return [
        "simulate", "--slate", str(SLATE), "--track", "bristol", "--n-scenarios", "500",
        "--seed", "3", "--json", str(out), *extra,
    ]  # fmt: skip


def test_simulate_writes_a_json_report(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    assert main(simulate_args(out)) == 0
    report = json.loads(out.read_text())
    drivers = report["drivers"]
    assert len(drivers) == 37
    for row in drivers:
        assert DRIVER_KEYS <= set(row)
        assert 0.0 <= row["win_rate"] <= row["top5_rate"] <= 1.0
        assert 0.0 <= row["dnf_rate"] <= 1.0
    assert abs(sum(row["win_rate"] for row in drivers) - 1.0) < 1e-9
    assert abs(sum(row["top5_rate"] for row in drivers) - 5.0) < 1e-9
    assert abs(sum(row["mean_laps_led"] for row in drivers) - 500.0) < 1e-6  # Bristol: 500 laps
    means = [row["mean_points"] for row in drivers]
    assert means == sorted(means, reverse=True)
    diagnostics = report["diagnostics"]
    assert diagnostics["axiom_violations"] == 0
    assert diagnostics["n_valid"] == diagnostics["n_scenarios_generated"] == 500
    assert report["run_config"]["seed"] == 3
    assert report["run_config"]["spec_hash"] == report["spec_hash"]


def test_simulate_is_reproducible_from_the_seed(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert main(simulate_args(first)) == 0
    assert main(simulate_args(second)) == 0
    assert json.loads(first.read_text())["drivers"] == json.loads(second.read_text())["drivers"]


def test_unknown_track_exits_2_with_the_message_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = simulate_args(tmp_path / "out.json")
    args[args.index("bristol")] = "nowhere-raceway"
    assert main(args) == 2
    captured = capsys.readouterr()
    assert "unknown track" in captured.err and "nowhere-raceway" in captured.err
    assert not (tmp_path / "out.json").exists()


def test_missing_slate_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = simulate_args(tmp_path / "out.json")
    args[args.index(str(SLATE))] = str(tmp_path / "missing.csv")
    assert main(args) == 2
    assert "missing.csv" in capsys.readouterr().err


def test_demo_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--n-scenarios", "300"]) == 0
    out = capsys.readouterr().out
    assert "axiom violations: 0" in out
    assert "300 valid of 300 generated" in out


HISTORY = REPO / "tests" / "data" / "history"


def test_backtest_writes_json_plot_and_versioned_params(tmp_path: Path) -> None:
    out, plot, params = tmp_path / "bt.json", tmp_path / "bt.png", tmp_path / "params"
    args = [
        "backtest", "--results", str(HISTORY / "results.csv"), "--logs", str(HISTORY / "logs.csv"),
        "--seasons", "2022", "--n-scenarios", "200", "--seed", "1",
        "--json", str(out), "--plot", str(plot), "--write-params", str(params),
    ]  # fmt: skip
    assert main(args) == 0
    report = json.loads(out.read_text())
    keys = {"crps_finish", "crps_dk_points", "crps_laps_led", "winner_log_loss", "rps"}
    keys |= {"coverage_50", "coverage_80", "coverage_95", "dnf_forecast", "dnf_observed", "n_races"}
    assert set(report["overall"]) == keys
    assert report["overall"]["n_races"] == 5
    assert keys <= set(report["baselines"]["uniform"]) and keys <= set(report["baselines"]["start_only"])
    assert report["params_version"].startswith("cup-2023-01-")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (written,) = params.glob("cup-*.json")
    assert written.stem == report["params_version"]


def test_backtest_set_changes_the_settings_it_fits_and_records(tmp_path: Path) -> None:
    def run(*overrides: str) -> tuple[dict[str, Any], dict[str, Any]]:
        out, params = tmp_path / f"bt{len(overrides)}.json", tmp_path / f"params{len(overrides)}"
        args = [
            "backtest", "--results", str(HISTORY / "results.csv"), "--seasons", "2022",
            "--n-scenarios", "200", "--seed", "1", "--json", str(out), "--write-params", str(params),
        ]  # fmt: skip
        assert main(args + [a for o in overrides for a in ("--set", o)]) == 0
        (written,) = params.glob("cup-*.json")
        return json.loads(out.read_text()), json.loads(written.read_text())["content"]

    default, default_params = run()
    changed, changed_params = run("strength_precision=30", "reverse_order=false")
    assert changed_params["settings"]["strength_precision"] == 30.0
    assert changed_params["settings"]["reverse_order"] is False
    assert default_params["settings"]["strength_precision"] == 3.0
    assert changed["params_version"] != default["params_version"]
    assert changed["settings_changed"] == {"strength_precision": 30.0, "reverse_order": False}
    assert "settings_changed" not in default
    assert changed["overall"]["crps_finish"] != default["overall"]["crps_finish"]


@pytest.mark.parametrize(
    ("setting", "message"), [("half_life=1", "no such setting"), ("sharpness=0", "must be > 0")]
)
def test_backtest_bad_set_exits_2_naming_the_setting(
    setting: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["backtest", "--results", str(HISTORY / "results.csv"), "--seasons", "2022", "--set", setting]
    assert main(args) == 2
    error = " ".join(capsys.readouterr().err.split())  # rich wraps lines
    assert f"settings.{setting.split('=')[0]}" in error and message in error


def test_backtest_set_needs_name_equals_value(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["backtest", "--results", str(HISTORY / "results.csv"), "--set", "sharpness"])
    assert "expected NAME=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize("seasons", ["2024-2022", "twenty"])
def test_backtest_rejects_bad_seasons(seasons: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["backtest", "--results", str(HISTORY / "results.csv"), "--seasons", seasons])
    assert "--seasons" in capsys.readouterr().err


def test_backtest_without_races_in_the_seasons_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--results", str(HISTORY / "results.csv"), "--seasons", "1999"]) == 2
    assert "no races in 1999-1999" in " ".join(capsys.readouterr().err.split())  # rich wraps lines


def test_settings_overrides_parse_text_by_the_field_type() -> None:
    settings = rating_settings({"half_life_seasons": "0.6", "reverse_order": "false"})
    assert settings.half_life_seasons == 0.6 and settings.reverse_order is False
    assert settings.strength_precision == RatingSettings().strength_precision  # the rest unchanged


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"half_life": "1"}, "settings.half_life", "no such setting"),
        ({"sharpness": "sharp"}, "settings.sharpness", "expected a number"),
        ({"reverse_order": "maybe"}, "settings.reverse_order", "expected true or false"),
        ({"dnf_pseudo": "-1"}, "settings.dnf_pseudo", ">= 0"),
        ({"track_precision": "nan"}, "settings.track_precision", ">= 0"),
        ({"half_life_seasons": "0"}, "settings.half_life_seasons", "> 0"),
    ],
)
def test_bad_settings_name_the_field(overrides: dict[str, str], field: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as error:
        rating_settings(overrides)
    assert error.value.field == field


def test_backtest_goes_on_past_races_it_cannot_read_and_names_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A newer season's file (a renamed track, a new road course, races with missing lengths and
    bad rows) is backtested; each race left out is named on stderr."""
    out = tmp_path / "bt.json"
    args = [
        "backtest", "--results", str(HISTORY / "results_2025.csv"), "--seasons", "2025",
        "--n-scenarios", "50", "--seed", "0", "--json", str(out),
    ]  # fmt: skip
    assert main(args) == 0
    error = " ".join(capsys.readouterr().err.split())
    for race in ("2025-06", "2025-07", "2025-08"):
        assert race in error
    assert json.loads(out.read_text())["overall"]["n_races"] > 0
