"""The shipped parameter file (data/params) is what `axiom backtest --write-params` fits from the
shared results, it carries the committed backtest report's scores, and it is the one loaded."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import msgspec
import pytest

from core.calibration import (
    RatingSettings,
    backtest_scores,
    default_params_path,
    fit_ratings,
    load_params,
    params_content,
)
from core.history import load_history
from core.slate import ARCHETYPES

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "docs" / "backtest-2022-2024.json"  # `just backtest`, the run that wrote the file
# The strength fit (L-BFGS on a float32 loss) stops where float32 rounding hides further gains, a
# point that moves with the CPU's arithmetic: refitted on a 2-core AMD EPYC, the shipped file's
# strengths differ by at most 0.021 (a team of 40 starts), 0.002 in root mean square, where
# strength_precision 3.3 for 3.0 would move them by 0.013. Everything else (DNF rates, dominance,
# speed, team shocks) refits to the same digits.
STRENGTH_FIT = {"strength", "team_strength", "scale", "start_weight", "rulebook_start_weight"}
STRENGTH_FIT |= {"form_scale", "running_scale"}
STRENGTH_TOLERANCE = 0.05  # largest difference
STRENGTH_RMS_TOLERANCE = 0.005  # root mean square of the differences


def shipped_content() -> dict[str, Any]:
    content: dict[str, Any] = json.loads(default_params_path().read_text())["content"]
    return content


def differences(found: Any, expected: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], float]]:
    """(path, |difference|) of every number of the strength fit; anything else must be equal."""
    if isinstance(expected, dict):
        assert isinstance(found, dict) and set(found) == set(expected), f"{path}: keys differ"
        return [d for key in expected for d in differences(found[key], expected[key], (*path, key))]
    if isinstance(expected, float) and STRENGTH_FIT & set(path):
        return [(path, abs(found - expected))]
    assert found == expected, f"{'.'.join(path)}: refitted {found!r}, shipped {expected!r}"
    return []


@pytest.mark.shared
def test_shipped_params_are_the_fit_of_the_shared_results(shared_data: Path) -> None:
    shipped = shipped_content()
    settings = RatingSettings(**shipped["settings"])
    assert settings == RatingSettings()  # fitted with the defaults that the backtest report used
    # As `axiom backtest --seasons 2022-2024 --write-params data/params` does, from the seasons the
    # fit can see (older races weigh nothing, and rulebook lineups are told within a season).
    as_of = (2025, 1)  # the season after the file's last: (last.season + 1, 1)
    history = load_history(
        shared_data / "nascar_data_r" / "cup_series_results_1972_2024.csv",
        shared_data / "zaxlab_race_logs" / "race-logs-2019-2024.csv",
        first_season=as_of[0] - math.ceil(settings.window_seasons),
        last_season=2024,
    )
    assert max((r.season, r.race_number) for r in history) == (2024, 36)
    table = fit_ratings(list(history), as_of, settings)
    names = {e.driver_key: e.driver for r in history for e in r.entries}
    refit = params_content(
        table, names, source="cup_series_results_1972_2024.csv", backtest=shipped["backtest"]
    )
    found = json.loads(msgspec.json.encode(refit))  # as the file writes it
    diffs = differences(found, shipped)  # asserts every other key and value equal
    worst = max(diffs, key=lambda d: d[1])
    assert worst[1] <= STRENGTH_TOLERANCE, f"{'.'.join(worst[0])} differs by {worst[1]:.4f}"
    rms = math.sqrt(sum(d * d for _, d in diffs) / len(diffs))
    assert len(diffs) > 500 and rms <= STRENGTH_RMS_TOLERANCE


def test_shipped_params_carry_the_committed_backtest_report() -> None:
    report = json.loads(REPORT.read_text())
    shipped = load_params()
    assert report["params_version"] == shipped.version  # the report of the run that wrote the file
    assert shipped.backtest is not None
    # The file keeps the report as the backtest produced it, before the file had a version.
    assert {**shipped.backtest, "params_version": report["params_version"]} == report
    assert shipped.backtest["params_version"].startswith("per-race-fit-")
    assert (report["seasons"], report["n_scenarios"], report["seed"]) == ([2022, 2024], 1000, 0)
    for archetype in ARCHETYPES:  # what the service serves as `calibration_metrics`
        assert backtest_scores(shipped.version, archetype) == report["by_archetype"][archetype]


def test_the_newest_parameter_file_is_the_one_loaded(tmp_path: Path) -> None:
    shipped = default_params_path()
    assert shipped.parent == ROOT / "data" / "params" and load_params().version == shipped.stem
    text = shipped.read_text()

    def write(name: str, written: int) -> Path:
        path = tmp_path / f"{name}.json"
        path.write_text(text)
        os.utime(path, ns=(written, written))
        return path

    write("cup-2025-01-ffffffffffff", 3)
    write("cup-2025-12-000000000000", 1)  # fitted through race 11 of 2025
    assert default_params_path(tmp_path).name == "cup-2025-12-000000000000.json"
    # Refits through the same race (more races of the season, other settings): the last written.
    latest = write("cup-2026-01-000000000000", 2)
    write("cup-2026-01-ffffffffffff", 1)
    assert default_params_path(tmp_path) == latest
    write("cup-2026-01-aaaaaaaaaaaa", 3)
    assert default_params_path(tmp_path).name == "cup-2026-01-aaaaaaaaaaaa.json"
