"""The `axiom` command end to end on the shipped Bristol slate (small scenario counts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli import main

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
