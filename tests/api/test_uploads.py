"""One writer of site uploads: the CLI's `--out` and the API's lineups.csv give the same file for
the same slate, settings and seed (drivers in slot order: salary descending, then driver_id), and
the CLI's `--json` is the API's result shape."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from litestar.testing import TestClient

from core.sitefiles import SLATE_COLUMNS
from service.cli import main

from .conftest import REPO, TRACK, MakeBody, wait_final


@pytest.fixture(autouse=True)
def test_compilation_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AXIOM_CACHE_DIR", str(REPO / ".pytest_cache"))


def test_cli_upload_and_json_equal_the_apis(
    computing_client: TestClient, make_body: MakeBody, tmp_path: Path
) -> None:
    body = make_body(n_lineups=4, max_overlap=4, objective="upside")
    run_id = computing_client.post("/api/v1/optimize", json=body).json()["run_id"]
    assert wait_final(computing_client, run_id)["status"] == "completed"
    api_csv = computing_client.get(f"/api/v1/optimize/{run_id}/lineups.csv").text
    api_result = computing_client.get(f"/api/v1/optimize/{run_id}/result").json()

    slate = tmp_path / "slate.csv"
    with slate.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SLATE_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(body["drivers"])
    out, report = tmp_path / "lineups.csv", tmp_path / "result.json"
    args = [
        "optimize", "--slate", str(slate), "--track", TRACK, "--seed", str(body["random_seed"]),
        "--n-scenarios", str(body["scenario_config"]["n_scenarios"]), "--n-lineups", "4",
        "--max-overlap", "4", "--objective", "upside", "--out", str(out), "--json", str(report),
    ]  # fmt: skip
    assert main(args) == 0

    assert out.read_bytes().decode() == api_csv
    rows = list(csv.reader(api_csv.splitlines()))
    salary = {d["driver_id"]: d["salary"] for d in body["drivers"]}
    for row in rows[1:]:
        ids = [cell.rsplit("(", 1)[1].rstrip(")") for cell in row]
        assert [salary[i] for i in ids] == sorted((salary[i] for i in ids), reverse=True)
    cli_result = json.loads(report.read_text())
    assert cli_result.pop("run_id") == "local" and api_result.pop("run_id") == run_id
    for result in (cli_result, api_result):
        result["run_config"].pop("package_versions")
    assert cli_result == api_result
