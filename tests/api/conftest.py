"""Fixtures for the API tests: a fresh app per test on a temporary database, the real core.

Every test runs against both backends: the embedded one (a temporary SQLite file) and the
networked one (a fresh database on the session's PostgreSQL server, tests/servers.py), unless it
is marked `embedded_only` (it looks inside the embedded backend). `settings_for` gives the
backend of the test being run.

Tests that compute share one shape (10 drivers, 200 scenarios, Martinsville) so the kernel
compiles once per worker process (and once ever, with the persistent JAX cache).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.settings import Settings
from tests.fields import driver_body

REPO = Path(__file__).resolve().parents[2]
N_DRIVERS = 10
TRACK = "martinsville"

MakeBody = Callable[..., dict[str, Any]]


@pytest.fixture
def make_body(field_factory: Callable[..., list[Any]]) -> MakeBody:
    """A valid OptimizeRequest body; keyword arguments override top-level fields."""

    def build(**overrides: Any) -> dict[str, Any]:
        drivers = [driver_body(d) for d in field_factory(N_DRIVERS, seed=N_DRIVERS)]
        body: dict[str, Any] = {
            "slate_id": "test-slate",
            "drivers": drivers,
            "scenario_config": {"track_id": TRACK, "n_scenarios": 200},
            "random_seed": 7,
        }
        body.update(overrides)
        return body

    return build


BACKENDS = ("embedded", "networked")
# The networked database of the test being run ("" while it runs on the embedded backend).
_networked_url = ""
# Seconds of silence before a networked worker's run goes to another: short, so tests of a lost
# worker are quick.
TEST_HEARTBEAT = 2


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("embedded_only") is not None
        metafunc.parametrize("backend", BACKENDS[:1] if only else BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The backend this test runs on; on the networked one, a fresh database for it."""
    global _networked_url
    if request.param == "networked":
        _networked_url = request.getfixturevalue("postgres").new_database()
    try:
        yield str(request.param)
    finally:
        _networked_url = ""


def settings_for(tmp_path: Path, **changes: Any) -> Settings:
    base: dict[str, Any] = {
        "database": tmp_path / "runs.db",
        "database_url": _networked_url,
        "workers": 0,
        "cache_dir": REPO / ".pytest_cache",
        "poll_interval": 0.02,
        "heartbeat": TEST_HEARTBEAT,
    }
    return Settings(**(base | changes))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """An app with no workers: runs are queued and stay pending (validation, limits, schema)."""
    with TestClient(create_app(settings_for(tmp_path))) as test_client:
        yield test_client


@pytest.fixture
def computing_client(tmp_path: Path) -> Iterator[TestClient]:
    """An app with one worker process computing runs with the real core."""
    with TestClient(create_app(settings_for(tmp_path, workers=1)), timeout=30) as test_client:
        yield test_client


def wait_until(
    client: TestClient, run_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 90.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/api/v1/optimize/{run_id}/status").json()
        if done(status) or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def wait_final(client: TestClient, run_id: str, timeout: float = 90.0) -> dict[str, Any]:
    return wait_until(client, run_id, lambda s: s["status"] in ("completed", "failed", "cancelled"), timeout)
