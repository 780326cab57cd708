"""Runs computed by a real worker process with the real core: results, reproducibility, failures,
cancellation and a worker that dies."""

from __future__ import annotations

import csv
import io
import os
import signal

import pytest
from litestar.testing import TestClient

from .conftest import MakeBody, wait_final, wait_until


def slow_body(make_body: MakeBody) -> dict:
    """A run that simulates for seconds (a million scenarios), reporting progress as it goes."""
    return make_body(scenario_config={"track_id": "martinsville", "n_scenarios": 1_000_000})


def simulating(status: dict) -> bool:
    return status["status"] == "running" and 0 < status["progress"] < 0.5


def test_completed_run_serves_lineups_csv_and_listing(
    computing_client: TestClient, make_body: MakeBody
) -> None:
    body = make_body(n_lineups=3, max_overlap=4)
    submitted = computing_client.post("/api/v1/optimize", json=body)
    assert submitted.status_code == 202
    run_id = submitted.json()["run_id"]
    assert submitted.headers["location"] == f"/api/v1/optimize/{run_id}/status"

    assert wait_final(computing_client, run_id)["status"] == "completed"
    result = computing_client.get(f"/api/v1/optimize/{run_id}/result")
    assert result.status_code == 200
    response = result.json()
    assert response["run_id"] == run_id and response["status"] == "completed"
    assert len(response["lineups"]) == 3 and response["lineup"] == response["lineups"][0]["drivers"]
    best = response["lineups"][0]
    assert response["total_projected_points"] == best["total_projected_points"]
    assert response["total_salary"] == best["total_salary"]
    assert response["salary_constrained"] is True and response["upload_ids"] == "axiom"
    salaries = {d["driver_id"]: d["salary"] for d in body["drivers"]}
    for lineup in response["lineups"]:
        ids = [d["driver_id"] for d in lineup["drivers"]]
        assert len(set(ids)) == 6
        assert lineup["total_salary"] == sum(salaries[i] for i in ids) <= 50_000
        assert [d["position"] for d in lineup["drivers"]] == [1, 2, 3, 4, 5, 6]
        projected = sum(d["projected_points"] for d in lineup["drivers"])
        assert lineup["total_projected_points"] == pytest.approx(projected, rel=1e-6)
        assert lineup["p10"] <= lineup["p50"] <= lineup["p90"] <= lineup["p99"]
    first, second = ({d["driver_id"] for d in lu["drivers"]} for lu in response["lineups"][:2])
    assert len(first & second) <= 4
    means = [lu["total_projected_points"] for lu in response["lineups"]]
    assert means == sorted(means, reverse=True)  # the mean objective picks the best lineup first
    diagnostics = response["scenario_diagnostics"]
    assert diagnostics["n_valid"] == 200
    # Calibration is on by default: the fitted parameter file and its backtest scores are used.
    assert response["run_config"]["params_version"].startswith("cup-")
    metrics = diagnostics["calibration_metrics"]
    assert metrics["n_races"] > 0 and 3.0 < metrics["crps_finish"] < 7.0
    assert sum(diagnostics["regime_shares"].values()) == pytest.approx(1.0)
    assert response["run_config"]["seed"] == 7
    assert response["constraint_spec_hash"] == response["run_config"]["spec_hash"]

    upload = computing_client.get(f"/api/v1/optimize/{run_id}/lineups.csv")
    assert upload.status_code == 200 and upload.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(upload.text)))
    assert rows[0] == ["D"] * 6
    names = {d["driver_id"]: d["name"] for d in body["drivers"]}
    assert rows[1] == [f"{names[d['driver_id']]} ({d['driver_id']})" for d in response["lineup"]]
    assert upload.headers["x-axiom-upload-ids"] == "axiom" and "driver_ids" in upload.headers["warning"]
    assert len(rows) == 4

    listed = computing_client.get("/api/v1/optimize", params={"limit": 5}).json()
    assert [run["run_id"] for run in listed] == [run_id]
    health = computing_client.get("/health").json()
    assert health["queue"]["completed"] == 1 and health["device"] in ("cpu", "gpu")


def test_same_request_and_seed_give_the_same_lineups(
    computing_client: TestClient, make_body: MakeBody
) -> None:
    body = make_body(n_lineups=2, objective="upside", random_seed=None)
    first = computing_client.post("/api/v1/optimize", json=body).json()["run_id"]
    assert wait_final(computing_client, first)["status"] == "completed"
    chosen = computing_client.get(f"/api/v1/optimize/{first}/result").json()
    seed = chosen["run_config"]["seed"]
    assert 0 <= seed < 2**63  # the server picked one and reported it

    again = computing_client.post("/api/v1/optimize", json=body | {"random_seed": seed}).json()["run_id"]
    other = computing_client.post("/api/v1/optimize", json=body | {"random_seed": seed ^ 1}).json()["run_id"]
    assert wait_final(computing_client, again)["status"] == "completed"
    assert wait_final(computing_client, other)["status"] == "completed"
    repeated = computing_client.get(f"/api/v1/optimize/{again}/result").json()
    different = computing_client.get(f"/api/v1/optimize/{other}/result").json()
    assert repeated["lineups"] == chosen["lineups"]
    assert repeated["scenario_diagnostics"] == chosen["scenario_diagnostics"]
    assert repeated["constraint_spec_hash"] == chosen["constraint_spec_hash"]
    assert different["scenario_diagnostics"] != chosen["scenario_diagnostics"]


def test_infeasible_slate_and_unmeetable_condition_fail_their_runs(
    computing_client: TestClient, make_body: MakeBody
) -> None:
    over_cap = make_body(salary_cap=10_000)  # six drivers cost at least 30,000
    impossible = make_body()
    for driver in impossible["drivers"][:2]:
        driver["min_laps_led"] = 500  # two drivers cannot both lead every lap
    runs = [
        computing_client.post("/api/v1/optimize", json=b).json()["run_id"] for b in (over_cap, impossible)
    ]
    for run_id, expected in zip(runs, ("salary", "condition"), strict=True):
        status = wait_final(computing_client, run_id)
        assert status["status"] == "failed"
        assert status["error"].startswith("infeasible: ") and expected in status["error"]
        result = computing_client.get(f"/api/v1/optimize/{run_id}/result")
        assert result.status_code == 409
        assert result.json() == {"run_id": run_id, "status": "failed", "detail": status["error"]}
        assert computing_client.get(f"/api/v1/optimize/{run_id}/lineups.csv").status_code == 409


def test_cancel_a_running_run_between_chunks(computing_client: TestClient, make_body: MakeBody) -> None:
    run_id = computing_client.post("/api/v1/optimize", json=slow_body(make_body)).json()["run_id"]
    running = wait_until(computing_client, run_id, simulating)
    assert running["status"] == "running"
    assert computing_client.delete(f"/api/v1/optimize/{run_id}").status_code == 200
    status = wait_final(computing_client, run_id, timeout=30)
    assert status["status"] == "cancelled" and "scenarios" in status["error"]
    assert status["progress"] < 1.0
    assert computing_client.get(f"/api/v1/optimize/{run_id}/result").status_code == 409
    # the worker carries on with the next run
    follow = computing_client.post("/api/v1/optimize", json=make_body()).json()["run_id"]
    assert wait_final(computing_client, follow)["status"] == "completed"


@pytest.mark.embedded_only  # embedded worker processes; the networked one: tests/e2e/test_networked.py
def test_a_worker_that_dies_is_replaced_and_its_run_computed_again(
    computing_client: TestClient, make_body: MakeBody
) -> None:
    """The run of a killed worker goes back to the queue and its replacement computes it (the
    seed makes the repeat identical; tests/e2e/test_faults.py checks that, and the attempt cap)."""
    run_id = computing_client.post("/api/v1/optimize", json=slow_body(make_body)).json()["run_id"]
    wait_until(computing_client, run_id, simulating)
    registry = computing_client.app.state.registry
    (worker,) = registry.workers.values()
    os.kill(worker.pid, signal.SIGKILL)
    status = wait_final(computing_client, run_id, timeout=120)
    assert status["status"] == "completed", status
    (replacement,) = registry.workers.values()
    assert replacement.pid != worker.pid and replacement.is_alive()
    assert computing_client.get("/health").json()["workers"] == 1


def test_the_seed_request_completes_with_a_six_driver_lineup(computing_client: TestClient) -> None:
    from .test_requests import seed_request

    body = seed_request()
    run_id = computing_client.post("/api/v1/optimize", json=body).json()["run_id"]
    assert wait_final(computing_client, run_id)["status"] == "completed"
    response = computing_client.get(f"/api/v1/optimize/{run_id}/result").json()
    lineup = response["lineup"]
    assert sorted(d["driver_id"] for d in lineup) == [f"d{i}" for i in range(1, 7)]
    assert [d["name"] for d in lineup] == [d["driver_id"] for d in lineup]  # names default to the ids
    assert response["total_salary"] == 0 and response["salary_constrained"] is False
    assert any("without a salary constraint" in note for note in response["notes"])
    assert response["total_projected_points"] == pytest.approx(sum(d["projected_points"] for d in lineup))
    diagnostics = response["scenario_diagnostics"]
    assert diagnostics["n_scenarios_generated"] >= diagnostics["n_valid"] == 100
    assert 0.0 <= diagnostics["rejection_rate"] < 1.0
    assert response["run_config"]["seed"] == 42 and response["constraint_spec_hash"]


def test_lineups_csv_carries_the_site_player_ids_given(
    computing_client: TestClient, make_body: MakeBody
) -> None:
    body = make_body(n_lineups=2, max_overlap=4)
    for i, driver in enumerate(body["drivers"]):
        driver["site_player_id"] = str(41_000_000 + i)
    site_id = {d["driver_id"]: d["site_player_id"] for d in body["drivers"]}
    run_id = computing_client.post("/api/v1/optimize", json=body).json()["run_id"]
    assert wait_final(computing_client, run_id)["status"] == "completed"
    response = computing_client.get(f"/api/v1/optimize/{run_id}/result").json()
    assert response["upload_ids"] == "site" and response["notes"] == []
    upload = computing_client.get(f"/api/v1/optimize/{run_id}/lineups.csv")
    assert upload.headers["x-axiom-upload-ids"] == "site" and "warning" not in upload.headers
    rows = list(csv.reader(io.StringIO(upload.text)))
    for row, lineup in zip(rows[1:], response["lineups"], strict=True):
        assert row == [f"{d['name']} ({site_id[d['driver_id']]})" for d in lineup["drivers"]]


def test_a_roi_run_carries_contest_money_per_lineup_and_for_the_run(
    computing_client: TestClient, make_body: MakeBody
) -> None:
    contest = {"field_size": 300, "entry_fee": 3, "payouts": "gpp", "ownership": {}}
    body = make_body(objective="roi", n_lineups=2, contest=contest)
    body["contest"]["ownership"] = {body["drivers"][0]["driver_id"]: 50.0}
    run_id = computing_client.post("/api/v1/optimize", json=body).json()["run_id"]
    assert wait_final(computing_client, run_id)["status"] == "completed"
    response = computing_client.get(f"/api/v1/optimize/{run_id}/result").json()
    assert response["objective"] == "roi"
    summary = response["contest"]
    assert summary["field_size"] == 300 and summary["ownership_source"] == "supplied"
    assert summary["ownership"][body["drivers"][0]["driver_id"]] == pytest.approx(50.0)
    assert sum(summary["ownership"].values()) == pytest.approx(600.0, abs=0.01)
    total = sum(lineup["contest"]["expected_profit"] for lineup in response["lineups"])
    assert summary["portfolio"]["expected_profit"] == pytest.approx(total)
    for lineup in response["lineups"]:
        assert 0.0 <= lineup["contest"]["cash"] <= 1.0
