"""Requests the API must refuse or answer without computing: validation, limits, unknown runs,
cancelling queued runs, health, CORS and the offline docs page. No worker runs here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from service.app import API_VERSION, create_app

from .conftest import MakeBody, settings_for


def _driver(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body["drivers"][0].update(changes)
    return body


INVALID: list[tuple[str, Any, str, str]] = [
    # (case, change to a valid body, field named, words of the rule)
    ("salary type", lambda b: _driver(b, salary="x"), "drivers[0].salary", "Expected `int | null`"),
    ("skill above 1", lambda b: _driver(b, skill=1.5), "drivers[0].skill", "<= 1.0"),
    ("shadow risk below 0", lambda b: _driver(b, shadow_risk=-0.1), "drivers[0].shadow_risk", ">= 0.0"),
    ("unknown field", lambda b: b | {"colour": "red"}, "colour", "unknown field"),
    ("too few drivers", lambda b: b | {"drivers": b["drivers"][:5]}, "drivers", "length >= 6"),
    (
        "duplicate id",
        lambda b: _driver(b, driver_id=b["drivers"][1]["driver_id"]),
        "drivers[1].driver_id",
        "duplicate",
    ),
    (
        "start positions",
        lambda b: _driver(b, start_position=b["drivers"][1]["start_position"]),
        "drivers.start_position",
        "permutation",
    ),  # fmt: skip
    (
        "laps led order",
        lambda b: _driver(b, min_laps_led=100, max_laps_led=50),
        "drivers[0].max_laps_led",
        "at least min_laps_led",
    ),  # fmt: skip
    (
        "laps led over race",
        lambda b: (
            _driver(b, max_laps_led=150)
            | {"scenario_config": {"track_id": "martinsville", "race_length": 100}}
        ),
        "drivers[0].max_laps_led",
        "race length 100",
    ),
    ("nested unknown field", lambda b: _driver(b, colour="red"), "drivers[0].colour", "unknown field"),
    ("locked and excluded", lambda b: _driver(b, locked=True, excluded=True), "drivers[0].locked", "both"),
    (
        "exposure order",
        lambda b: _driver(b, min_exposure=0.8, max_exposure=0.2),
        "drivers[0].max_exposure",
        "min_exposure",
    ),  # fmt: skip
    (
        "unknown track",
        lambda b: b | {"scenario_config": {"track_id": "mars"}},
        "scenario_config.track_id",
        "unknown track",
    ),  # fmt: skip
    (
        "scenarios not a multiple of 10",
        lambda b: b | {"scenario_config": {"track_id": "martinsville", "n_scenarios": 15}},
        "scenario_config.n_scenarios",
        "multiple of 10",
    ),  # fmt: skip
    (
        "field size",
        lambda b: b | {"scenario_config": {"track_id": "martinsville", "field_size": 12}},
        "scenario_config.field_size",
        "number of drivers (10)",
    ),  # fmt: skip
    (
        "race length",
        lambda b: b | {"scenario_config": {"track_id": "martinsville", "race_length": 20}},
        "scenario_config.race_length",
        ">= 50",
    ),  # fmt: skip
    ("site", lambda b: b | {"site": "yahoo"}, "site", "Invalid enum value"),
    ("objective", lambda b: b | {"objective": "max"}, "objective", "Invalid enum value"),
    ("salary cap", lambda b: b | {"salary_cap": 5_000}, "salary_cap", ">= 10000"),
    ("too many lineups", lambda b: b | {"n_lineups": 501}, "n_lineups", "<= 500"),
    ("negative seed", lambda b: b | {"random_seed": -1}, "random_seed", ">= 0"),
    ("roi without a contest", lambda b: b | {"objective": "roi"}, "contest", "needs a contest"),
    (
        "contest field size",
        lambda b: b | {"contest": {"field_size": 500_001, "entry_fee": 5}},
        "contest.field_size",
        "<= 500000",
    ),
    (
        "payouts over the fees",
        lambda b: (
            b
            | {
                "contest": {
                    "field_size": 100,
                    "entry_fee": 5,
                    "payouts": [{"place_from": 1, "place_to": 10, "prize": 60}],
                }
            }
        ),
        "contest.payouts",
        "more than the 500.00 of entry fees",
    ),  # fmt: skip
    (
        "ownership of an unknown driver",
        lambda b: b | {"contest": {"field_size": 100, "entry_fee": 5, "ownership": {"nobody": 10}}},
        "contest.ownership",
        "unknown driver_ids",
    ),
    (
        "overlap above the roster",
        lambda b: b | {"site": "fanduel", "max_overlap": 6},
        "max_overlap",
        "[0, 5]",
    ),
]


@pytest.mark.parametrize(("change", "field", "rule"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_input_is_a_400_naming_the_field_and_rule(
    client: TestClient, make_body: MakeBody, change: Any, field: str, rule: str
) -> None:
    response = client.post("/api/v1/optimize", json=change(make_body()))
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert rule in response.json()["detail"]
    assert client.get("/api/v1/optimize").json() == []  # nothing was queued


def test_server_scenario_limit(tmp_path: Path, make_body: MakeBody) -> None:
    with TestClient(create_app(settings_for(tmp_path, max_scenarios=500))) as client:
        body = make_body(scenario_config={"track_id": "martinsville", "n_scenarios": 510})
        response = client.post("/api/v1/optimize", json=body)
        assert response.status_code == 400
        assert response.json() == {
            "field": "scenario_config.n_scenarios",
            "detail": "must be at most 500 on this server",
        }
        body["scenario_config"]["n_scenarios"] = 500
        assert client.post("/api/v1/optimize", json=body).status_code == 202


def test_malformed_json_and_oversized_body(client: TestClient) -> None:
    response = client.post(
        "/api/v1/optimize", content=b'{"slate_id": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and "malformed" in response.json()["detail"]
    response = client.post(
        "/api/v1/optimize", content=b"[" * 2_000_000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_unknown_run_is_404_everywhere(client: TestClient) -> None:
    for path in ("status", "result", "lineups.csv"):
        response = client.get(f"/api/v1/optimize/no-such-run/{path}")
        assert response.status_code == 404 and "no-such-run" in response.json()["detail"]
    assert client.delete("/api/v1/optimize/no-such-run").status_code == 404


def test_queued_run_polls_as_pending_and_cancels_at_once(client: TestClient, make_body: MakeBody) -> None:
    submitted = client.post("/api/v1/optimize", json=make_body())
    assert submitted.status_code == 202 and submitted.json()["status"] == "pending"
    run_id = submitted.json()["run_id"]
    status = client.get(f"/api/v1/optimize/{run_id}/status").json()
    assert status == submitted.json()
    pending = client.get(f"/api/v1/optimize/{run_id}/result")
    assert pending.status_code == 202 and pending.json()["status"] == "pending"
    cancelled = client.delete(f"/api/v1/optimize/{run_id}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    result = client.get(f"/api/v1/optimize/{run_id}/result")
    assert result.status_code == 409 and result.json()["status"] == "cancelled"
    assert client.get("/health").json()["queue"]["cancelled"] == 1


def test_list_is_newest_first_and_limited(client: TestClient, make_body: MakeBody) -> None:
    ids = [client.post("/api/v1/optimize", json=make_body()).json()["run_id"] for _ in range(3)]
    assert [r["run_id"] for r in client.get("/api/v1/optimize", params={"limit": 2}).json()] == ids[::-1][:2]
    assert client.get("/api/v1/optimize", params={"limit": 0}).status_code == 400


def test_health_reports_device_and_queue(client: TestClient, make_body: MakeBody) -> None:
    client.post("/api/v1/optimize", json=make_body())
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["device"] in ("cpu", "gpu") and health["workers"] == 0
    assert health["queue"] == {"pending": 1, "running": 0, "completed": 0, "failed": 0, "cancelled": 0}


def test_docs_page_and_schema_need_no_internet(client: TestClient) -> None:
    page = client.get("/schema")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    external = re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page.text)
    assert external == [] and "<script src" not in page.text and "<link" not in page.text
    assert "/api/v1/optimize/{run_id}/result" in page.text  # the schema is embedded in the page
    schema = client.get("/schema/openapi.json").json()
    components = schema["components"]["schemas"]
    for name in (
        "OptimizeRequest",
        "OptimizeResponse",
        "OptimizationStatus",
        "ScenarioDiagnostics",
        "Lineup",
    ):
        assert name in components
    assert "backtest" in str(components["ScenarioDiagnostics"]["properties"]["calibration_metrics"])
    assert schema["info"]["version"] == API_VERSION


def test_the_seed_clients_paths_serve_the_schema_and_docs(client: TestClient) -> None:
    """The API's first clients read the schema at /openapi.json and the docs at /api/v1/docs."""
    assert client.get("/openapi.json").json() == client.get("/schema/openapi.json").json()
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/api/v1/optimize/{run_id}/result" in page.text and 'href="/openapi.json"' in page.text
    assert re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page.text) == []


def test_cors_origins_come_from_settings(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, cors_origins=("https://lineups.example",))
    with TestClient(create_app(settings)) as client:
        allowed = client.get("/health", headers={"Origin": "https://lineups.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://lineups.example"
        other = client.get("/health", headers={"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers


def seed_request() -> dict[str, Any]:
    """The example request the API was specified with, exactly as its clients send it."""
    return {
        "slate_id": "test_slate",
        "drivers": [
            {
                "driver_id": f"d{i}",
                "skill": 0.5,
                "aggression": 0.5,
                "shadow_risk": 0.5,
                "min_laps_led": 0,
                "max_laps_led": 100,
            }
            for i in range(1, 7)
        ],  # fmt: skip
        "scenario_config": {"track_id": "daytona", "n_scenarios": 100},
        "salary_cap": 50000,
        "random_seed": 42,
    }


def test_the_seed_request_is_accepted_as_written(client: TestClient) -> None:
    response = client.post("/api/v1/optimize", json=seed_request())
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"


def _seed_driver(change: dict[str, Any], index: int = 0) -> dict[str, Any]:
    body = seed_request()
    body["drivers"][index].update(change)
    return body


SEED_INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    # (case, body, field named, words of the rule)
    ("skill above 1", _seed_driver({"skill": 1.5}), "drivers[0].skill", "<= 1.0"),
    ("duplicate id", _seed_driver({"driver_id": "d1"}, 1), "drivers[1].driver_id", "duplicate"),
    (
        "scenarios not a multiple of 10",
        seed_request() | {"scenario_config": {"track_id": "daytona", "n_scenarios": 105}},
        "scenario_config.n_scenarios",
        "multiple of 10",
    ),
    (
        "min laps led above max",
        _seed_driver({"min_laps_led": 60, "max_laps_led": 50}),
        "drivers[0].max_laps_led",
        "at least min_laps_led",
    ),
    ("one salary of six", _seed_driver({"salary": 9_000}, 2), "drivers[0].salary", "every driver"),
    (
        "a salary missing",
        {
            **seed_request(),
            "drivers": [d | {"salary": 9_000} for d in seed_request()["drivers"][:5]]
            + [seed_request()["drivers"][5]],
        },
        "drivers[5].salary",
        "every driver",
    ),  # fmt: skip
    ("one start of six", _seed_driver({"start_position": 1}, 3), "drivers[0].start_position", "every driver"),
]


@pytest.mark.parametrize(("case", "body", "field", "rule"), SEED_INVALID, ids=[c[0] for c in SEED_INVALID])
def test_seed_shaped_bad_requests_are_400_naming_the_field(
    client: TestClient, case: str, body: dict[str, Any], field: str, rule: str
) -> None:
    response = client.post("/api/v1/optimize", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["field"] == field and rule in error["detail"], (case, error)
