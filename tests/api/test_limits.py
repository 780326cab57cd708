"""The submission rate limit (Litestar's RateLimitConfig) and a schema-driven fuzz: no input,
however bad, gets a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.testing import TestClient
from schemathesis.core import NotSet

from service.app import create_app

from .conftest import MakeBody, settings_for


def test_submissions_are_rate_limited_and_polls_are_not(tmp_path: Path, make_body: MakeBody) -> None:
    with TestClient(create_app(settings_for(tmp_path, rate_limit=3))) as client:
        for _ in range(5):
            assert client.get("/health").status_code == 200  # polls spend none of the budget
        accepted = [client.post("/api/v1/optimize", json=make_body()) for _ in range(3)]
        assert [r.status_code for r in accepted] == [202] * 3
        assert accepted[-1].headers["ratelimit-remaining"] == "0"
        refused = client.post("/api/v1/optimize", json=make_body())
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "Retry-After" in refused.json()["detail"]
        run_id = accepted[0].json()["run_id"]
        for path in ("status", "result"):
            for _ in range(10):
                assert client.get(f"/api/v1/optimize/{run_id}/{path}").status_code in (200, 202)
        assert client.get("/api/v1/optimize").status_code == 200
        assert client.delete(f"/api/v1/optimize/{run_id}").status_code == 200


def test_default_limit_is_ten_a_minute(tmp_path: Path, make_body: MakeBody) -> None:
    with TestClient(create_app(settings_for(tmp_path))) as client:
        codes = [client.post("/api/v1/optimize", json=make_body()).status_code for _ in range(11)]
        assert codes == [202] * 10 + [429]


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = settings_for(tmp_path_factory.mktemp("fuzz"), rate_limit=1_000_000)
    with TestClient(create_app(settings)) as client:
        yield client


schema = schemathesis.openapi.from_dict(
    create_app(settings_for(Path("/nonexistent"))).openapi_schema.to_schema()  # no startup: no database
)
# valid and invalid requests alike (bodies of the wrong type, out-of-range values, missing fields)
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)


@pytest.mark.embedded_only  # a module-wide app; the same routes and contracts on both backends
@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gets_a_5xx(case: schemathesis.Case, fuzz_client: TestClient) -> None:
    kwargs = {"params": case.query or None, "headers": {"content-type": "application/json"}}
    if isinstance(case.body, bytes | str):
        kwargs["content"] = case.body
    elif not isinstance(case.body, NotSet):
        kwargs["json"] = case.body
    response = fuzz_client.request(case.method, case.formatted_path, **kwargs)
    assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text)
    if response.status_code == 400:
        assert response.json()["detail"]
