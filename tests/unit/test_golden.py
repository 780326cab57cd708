"""Golden outputs: seeded runs whose results must not change when code moves.

Each case recomputes a seeded result (scenario hashes, lineups, a backtest, an API response) and
compares it with the JSON under tests/golden/, recorded before a refactor: scenarios bitwise,
lineups and scores exactly. A change of the model that is meant to change results re-records
them (`python tests/unit/test_golden.py --record`) and says so in its commit.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
SHARED_DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

from core import ConstraintSpec, LapsLed, LineupSettings, get_track, run_optimization, run_simulation  # noqa: E402
from core.slate import Driver  # noqa: E402
from tests.fields import driver_body, make_field  # noqa: E402

SCENARIO_ARRAYS = (
    "start_position",
    "points",
    "finish_position",
    "laps_led",
    "fastest_laps",
    "laps_completed",
    "dnf",
    "regime",
    "cautions",
    "green_laps",
)


def _field(n_drivers: int, seed: int) -> list[Driver]:
    """make_field's drivers in the order it made them (it returns them shuffled): the recorded
    cases put their condition and lock on the first ones."""
    return sorted(make_field(n_drivers, seed=seed), key=lambda d: int(d.name.split()[1]))


def _bristol() -> tuple[tuple[Driver, ...], Any]:
    from core import load_slate, sample_slate_path

    slate = load_slate(sample_slate_path(), "bristol")
    return slate.drivers, slate.track


def _scenario_digest(scenarios: Any) -> dict[str, Any]:
    digest = {}
    for name in SCENARIO_ARRAYS:
        array = np.ascontiguousarray(getattr(scenarios, name))
        text = f"{array.dtype.str}{array.shape}".encode() + array.tobytes()
        digest[name] = hashlib.sha256(text).hexdigest()
    digest["driver_ids"] = list(scenarios.driver_ids)
    diagnostics = scenarios.diagnostics
    digest["diagnostics"] = {
        "n_scenarios_generated": diagnostics.n_scenarios_generated,
        "n_valid": diagnostics.n_valid,
        "rejections_by_reason": dict(diagnostics.rejections_by_reason),
    }
    return digest


def simulation_raw() -> dict[str, Any]:
    spec = ConstraintSpec.compile(_field(12, seed=3), get_track("martinsville"), n_scenarios=700)
    result = run_simulation(spec, seed=11)
    return {"spec_hash": spec.hash, **_scenario_digest(result.scenarios)}


def simulation_raw_fanduel_conditioned() -> dict[str, Any]:
    drivers = _field(14, seed=4)
    spec = ConstraintSpec.compile(
        drivers,
        get_track("charlotte-roval"),
        site="fanduel",
        n_scenarios=600,
        conditions={drivers[0].driver_id: LapsLed(min_laps_led=5)},
    )
    result = run_simulation(spec, seed=2**40 + 3, chunk_size=256)
    return {"spec_hash": spec.hash, **_scenario_digest(result.scenarios)}


def simulation_calibrated() -> dict[str, Any]:
    drivers, track = _bristol()
    spec = ConstraintSpec.compile(drivers, track, n_scenarios=800, calibration_enabled=True)
    result = run_simulation(spec, seed=5)
    return {"spec_hash": spec.hash, **_scenario_digest(result.scenarios)}


def _portfolio(objective: str, **settings: Any) -> dict[str, Any]:
    drivers, track = _bristol()
    lineups = LineupSettings(objective=objective, n_lineups=4, max_overlap=4, **settings)
    spec = ConstraintSpec.compile(
        drivers, track, n_scenarios=1_000, calibration_enabled=True, lineups=lineups
    )
    result = run_optimization(spec, seed=9)
    portfolio = result.portfolio
    return {
        "spec_hash": spec.hash,
        "engine": portfolio.engine,
        "target": portfolio.target,
        "p_any_beats_target": portfolio.p_any_beats_target,
        "lineups": [
            {
                "drivers": [spec.drivers[i].driver_id for i in lineup.drivers],
                "salary": lineup.salary,
                "mean": lineup.mean,
                "std": lineup.std,
                "p10": lineup.p10,
                "p99": lineup.p99,
                "p_beat_target": lineup.p_beat_target,
            }
            for lineup in portfolio.lineups
        ],
    }


def optimization_mean() -> dict[str, Any]:
    drivers, _ = _bristol()
    priciest = max(drivers, key=lambda d: (d.salary, d.driver_id)).driver_id
    return _portfolio("mean", excludes=(priciest,))


def optimization_upside() -> dict[str, Any]:
    return _portfolio("upside")


def optimization_floor() -> dict[str, Any]:
    return _portfolio("floor", salary_floor=48_000)


def optimization_min_exposure() -> dict[str, Any]:
    drivers, _ = _bristol()
    cheap = sorted(drivers, key=lambda d: (d.salary, d.driver_id))[5].driver_id
    return _portfolio("mean", min_exposure={cheap: 0.5})


def backtest_one_season() -> dict[str, Any]:
    from core.calibration import backtest
    from core.history import load_history

    history = load_history(
        SHARED_DATA / "nascar_data_r" / "cup_series_results_1972_2024.csv",
        SHARED_DATA / "zaxlab_race_logs" / "race-logs-2019-2024.csv",
        first_season=2021,
        last_season=2022,
    )
    # The 2021 season to fit on and the first eight races of 2022 to forecast (each race is a fit).
    history = tuple(r for r in history if r.season == 2021 or r.race_number <= 8)
    report = backtest(history, (2022, 2022), n_scenarios=64, seed=3)
    return json.loads(json.dumps(report.summary()))


def api_result() -> dict[str, Any]:
    """A run through the real app and one worker process; the server-side seed and run id aside."""
    import tempfile

    from litestar.testing import TestClient

    from service.app import create_app
    from service.settings import Settings

    drivers = [
        driver_body(d) | ({"min_laps_led": 3} if i == 0 else {}) | ({"locked": True} if i == 1 else {})
        for i, d in enumerate(_field(10, seed=10))
    ]
    body = {
        "slate_id": "golden",
        "drivers": drivers,
        "scenario_config": {"track_id": "martinsville", "n_scenarios": 300},
        "objective": "upside",
        "n_lineups": 3,
        "max_overlap": 4,
        "random_seed": 7,
    }
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database=Path(tmp) / "runs.db", workers=1, cache_dir=REPO / ".pytest_cache", poll_interval=0.02
        )
        with TestClient(create_app(settings), timeout=60) as client:
            run_id = client.post("/api/v1/optimize/", json=body).json()["run_id"]
            deadline = time.monotonic() + 120
            while client.get(f"/api/v1/optimize/{run_id}/status").json()["status"] in ("pending", "running"):
                assert time.monotonic() < deadline, "the run did not finish in time"
                time.sleep(0.05)
            response = client.get(f"/api/v1/optimize/{run_id}/result").json()
            csv_text = client.get(f"/api/v1/optimize/{run_id}/lineups.csv").text
    response.pop("run_id")
    response["run_config"].pop("package_versions")
    return {"response": response, "lineups_csv": csv_text}


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "simulation_raw": simulation_raw,
    "simulation_raw_fanduel_conditioned": simulation_raw_fanduel_conditioned,
    "simulation_calibrated": simulation_calibrated,
    "optimization_mean": optimization_mean,
    "optimization_upside": optimization_upside,
    "optimization_floor": optimization_floor,
    "optimization_min_exposure": optimization_min_exposure,
    "api_result": api_result,
    "backtest_one_season": backtest_one_season,
}
NEEDS_SHARED = {"backtest_one_season"}


def _same(found: Any, expected: Any, where: str = "") -> None:
    """Exact equality, with NaN equal to NaN (JSON writes it as NaN) and the first difference named."""
    if isinstance(expected, dict):
        assert isinstance(found, dict) and set(found) == set(expected), f"{where}: keys differ"
        for key in expected:
            _same(found[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(found, list) and len(found) == len(expected), f"{where}: lengths differ"
        for i, (a, b) in enumerate(zip(found, expected, strict=True)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(expected, float) and math.isnan(expected):
        assert isinstance(found, float) and math.isnan(found), f"{where}: {found!r} != NaN"
    else:
        assert found == expected, f"{where}: {found!r} != {expected!r}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_output_is_unchanged(name: str) -> None:
    if name in NEEDS_SHARED and not SHARED_DATA.is_dir():
        pytest.skip(f"needs the shared data folder {SHARED_DATA} (../shared/data beside the checkout)")
    expected = json.loads((GOLDEN / f"{name}.json").read_text())
    _same(json.loads(json.dumps(CASES[name]())), expected, name)


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python tests/unit/test_golden.py --record  (rewrites tests/golden/*.json)")
    GOLDEN.mkdir(exist_ok=True)
    for name, case in CASES.items():
        started = time.perf_counter()
        (GOLDEN / f"{name}.json").write_text(json.dumps(case(), indent=1, sort_keys=True) + "\n")
        print(f"{name}: {time.perf_counter() - started:.1f} s")
