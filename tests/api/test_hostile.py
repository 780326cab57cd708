"""Hostile and careless input: bodies nested to exhaust the decoder, values of the wrong JSON type,
text that would break or weaponise lineups.csv, an empty body, HEAD probes, and error details
that would name the server's classes. Each gets a 4xx that says what is wrong, and never a
traceback in the log."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from core.errors import Cancelled, Infeasible, SolverFailed
from service.app import create_app
from service.jobs import JobRegistry

from .conftest import MakeBody, settings_for, wait_final
from .test_requests import seed_request

SUBMIT = "/api/v1/optimize"
JSON = {"content-type": "application/json"}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(f"{r.levelname} {r.getMessage()} {r.exc_info}" for r in self.records)


@contextmanager
def _logged() -> Iterator[_Records]:
    """Every record the app logs meanwhile (pytest's caplog does not see them: the app's logging
    config replaces the root logger's handlers when it starts)."""
    handler = _Records()
    loggers = [logging.getLogger(), logging.getLogger("litestar")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def _seed_with(change: dict[str, Any], driver: dict[str, Any] | None = None) -> dict[str, Any]:
    body = seed_request() | change
    body["drivers"] = [d | {"salary": 9_000} for d in body["drivers"]]
    body["drivers"][0].update(driver or {})
    return body


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 1000 + b"]" * 1000,
        b'{"slate_id": ' + b"[" * 1000 + b"]" * 1000 + b"}",
        b'{"drivers": [' + b'{"x": ' * 1000 + b"1" + b"}" * 1000 + b"]}",
    ],
    ids=["top level", "in a string field", "in a driver"],
)
def test_json_nested_a_thousand_deep_is_a_400_without_a_traceback(client: TestClient, body: bytes) -> None:
    with _logged() as logged:
        response = client.post(SUBMIT, content=body, headers=JSON)
    assert response.status_code == 400, response.text
    assert response.json() == {"field": None, "detail": "malformed JSON: nested too deeply"}
    assert logged.records  # httpx logs the request: the capture works
    assert [r for r in logged.records if r.exc_info or r.levelno >= logging.WARNING] == [], logged.text()
    assert client.get(SUBMIT).json() == []


WRONG_TYPES: list[tuple[str, dict[str, Any], dict[str, Any], str, str]] = [
    # (case, top-level change, change to drivers[0], field named, words of the rule)
    ("salary as a string", {}, {"salary": "5000"}, "drivers[0].salary", "got `str`"),
    ("skill as a string", {}, {"skill": "0.5"}, "drivers[0].skill", "got `str`"),
    ("locked as a string", {}, {"locked": "true"}, "drivers[0].locked", "got `str`"),
    ("locked as a number", {}, {"locked": 1}, "drivers[0].locked", "got `int`"),
    ("seed as a string", {"random_seed": "42"}, {}, "random_seed", "got `str`"),
    ("cap as null text", {"salary_cap": "null"}, {}, "salary_cap", "got `str`"),
    ("salary with a fraction", {}, {"salary": 5000.5}, "drivers[0].salary", "got `float`"),
    (
        "calibration as a number",
        {"scenario_config": {"track_id": "daytona", "n_scenarios": 100, "calibration_enabled": 0}},
        {},
        "scenario_config.calibration_enabled",
        "got `int`",
    ),
]


@pytest.mark.parametrize(
    ("change", "driver", "field", "rule"), [c[1:] for c in WRONG_TYPES], ids=[c[0] for c in WRONG_TYPES]
)
def test_a_string_is_not_a_number_nor_a_number_a_boolean(
    client: TestClient, change: dict[str, Any], driver: dict[str, Any], field: str, rule: str
) -> None:
    response = client.post(SUBMIT, json=_seed_with(change, driver))
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field and rule in response.json()["detail"]
    assert client.get(SUBMIT).json() == []  # nothing was queued


def test_whole_numbers_written_as_floats_are_still_integers(client: TestClient) -> None:
    """JSON has one number type: 5000.0 is an integer to JSON Schema, and was always accepted."""
    body = _seed_with({"salary_cap": 50000.0, "random_seed": 42.0}, {"salary": 9000.0, "skill": 1})
    body["scenario_config"]["n_scenarios"] = 100.0
    response = client.post(SUBMIT, json=body)
    assert response.status_code == 202, response.text


CONTROL = ["\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\x85"]
TEXT_FIELDS: list[tuple[str, str]] = [
    ("slate_id", "slate_id"),
    ("driver_id", "drivers[0].driver_id"),
    ("name", "drivers[0].name"),
    ("site_player_id", "drivers[0].site_player_id"),
]


@pytest.mark.parametrize("char", CONTROL, ids=[f"U+{ord(c):04X}" for c in CONTROL])
@pytest.mark.parametrize(("key", "field"), TEXT_FIELDS, ids=[k for k, _ in TEXT_FIELDS])
def test_control_characters_in_ids_and_names_are_refused(
    client: TestClient, key: str, field: str, char: str
) -> None:
    value = f"Kyle{char}Busch"
    body = _seed_with({"slate_id": value}) if key == "slate_id" else _seed_with({}, {key: value})
    response = client.post(SUBMIT, json=body)
    assert response.status_code == 400, response.text
    assert response.json() == {
        "field": field,
        "detail": f"must not contain control characters (found U+{ord(char):04X})",
    }


def test_names_in_any_script_are_still_accepted(client: TestClient) -> None:
    body = _seed_with(
        {"slate_id": "Daytona 500 — 2026 🏁"}, {"name": "Daniel Suárez", "site_player_id": "=1"}
    )
    assert client.post(SUBMIT, json=body).status_code == 202


def test_lineups_csv_neutralises_formula_names(computing_client: TestClient, make_body: MakeBody) -> None:
    formulas = ['=HYPERLINK("http://x.example/{}","win")', "+SUM({},2)", "-2+{}", "@SUM(A{})", "={}+1"]
    body = make_body()
    for i, driver in enumerate(body["drivers"]):
        driver["name"] = formulas[i % len(formulas)].format(i)
        driver["site_player_id"] = str(40_000 + i)
    run_id = computing_client.post(SUBMIT, json=body).json()["run_id"]
    assert wait_final(computing_client, run_id)["status"] == "completed"
    text = computing_client.get(f"{SUBMIT}/{run_id}/lineups.csv").text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    cells = [cell for row in rows[1:] for cell in row]
    assert len(cells) == 6 and all(cell.startswith("'") for cell in cells), cells
    names = {d["site_player_id"]: d["name"] for d in body["drivers"]}
    for cell in cells:
        site_id = cell.rsplit("(", 1)[1].rstrip(")")
        assert cell == f"'{names[site_id]} ({site_id})"


def test_an_empty_body_says_so(client: TestClient) -> None:
    response = client.post(SUBMIT, content=b"", headers=JSON)
    assert response.status_code == 400
    assert response.json() == {"field": None, "detail": "request body is empty"}


def test_head_health_answers_like_get_without_a_body(client: TestClient) -> None:
    got = client.get("/health")
    head = client.head("/health")
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"] == "application/json"
    assert int(head.headers["content-length"]) == len(got.content)


class _Refusing(JobRegistry):
    """A job backend whose every submission raises `error` (what core raises inside a run)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def submit(self, *_: object) -> Any:
        raise self.error


@pytest.mark.embedded_only  # its own registry: the backend does not matter
@pytest.mark.parametrize(
    ("error", "status"),
    [
        (Infeasible("no lineup fits the salary cap, floor, locks and excludes"), 409),
        (Cancelled("cancelled after 3 of 10 lineups"), 409),
        (SolverFailed("HiGHS stopped with status 'time limit'"), 503),
    ],
    ids=["infeasible", "cancelled", "solver failed"],
)
def test_error_details_say_what_happened_not_which_class_raised_it(
    tmp_path: Path, error: Exception, status: int
) -> None:
    app = create_app(settings_for(tmp_path), registry=_Refusing(error))
    with TestClient(app) as client, _logged() as logged:
        response = client.post(SUBMIT, json=seed_request())
    assert response.status_code == status
    assert response.json() == {"field": None, "detail": str(error)}
    assert type(error).__name__ in logged.text()  # the class is the log's
