"""API keys, who sees which runs, and limits a client cannot dodge (the app, no worker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from litestar.testing import TestClient

from service.access import Access
from service.app import create_app
from service.settings import Settings

from .conftest import MakeBody, settings_for

ALICE = "alice-key-0123456789abcdef"
BOB = "bob-key-0123456789abcdef00"
RUNS = "/api/v1/optimize"


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(tmp_path, api_keys=(ALICE, BOB)))) as client:
        yield client


def as_key(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def test_without_a_valid_key_every_runs_request_is_401(keyed: TestClient, make_body: MakeBody) -> None:
    for headers in ({}, as_key("not-a-key-0123456789"), {"Authorization": "Bearer wrong-0123456789abc"}):
        for response in (
            keyed.post(RUNS, json=make_body(), headers=headers),
            keyed.get(RUNS, headers=headers),
            keyed.get(f"{RUNS}/some-run/status", headers=headers),
            keyed.delete(f"{RUNS}/some-run", headers=headers),
        ):
            assert response.status_code == 401, response.text
            assert response.headers["www-authenticate"] == "Bearer"
            assert "API key" in response.json()["detail"]
    health = keyed.get("/health").json()  # liveness stays open for load balancers
    assert health["auth"] == "api_keys" and health["queue"]["pending"] == 0


def test_runs_belong_to_the_key_that_made_them(keyed: TestClient, make_body: MakeBody) -> None:
    mine = keyed.post(RUNS, json=make_body(), headers=as_key(ALICE)).json()["run_id"]
    bearer = {"Authorization": f"Bearer {ALICE}"}
    assert keyed.get(f"{RUNS}/{mine}/status", headers=bearer).json()["status"] == "pending"
    theirs = keyed.post(RUNS, json=make_body(), headers=as_key(BOB)).json()["run_id"]
    for path in ("status", "result", "lineups.csv"):
        response = keyed.get(f"{RUNS}/{theirs}/{path}", headers=as_key(ALICE))
        assert response.status_code == 404  # not 403: another key's run is not confirmed to exist
    assert keyed.delete(f"{RUNS}/{theirs}", headers=as_key(ALICE)).status_code == 404
    assert keyed.get(f"{RUNS}/{theirs}/status", headers=as_key(BOB)).json()["status"] == "pending"
    assert [run["run_id"] for run in keyed.get(RUNS, headers=as_key(ALICE)).json()] == [mine]
    assert [run["run_id"] for run in keyed.get(RUNS, headers=as_key(BOB)).json()] == [theirs]


def test_with_no_keys_the_api_is_open_and_says_so(client: TestClient, make_body: MakeBody) -> None:
    run_id = client.post(RUNS, json=make_body()).json()["run_id"]
    assert client.get(f"{RUNS}/{run_id}/status").status_code == 200
    assert client.get("/health").json()["auth"] == "open"


def test_keys_come_from_the_environment_or_a_file(tmp_path: Path) -> None:
    assert Settings.from_env({"AXIOM_API_KEYS": f" {ALICE} ,{BOB}"}).api_keys == (ALICE, BOB)
    keys = tmp_path / "keys.txt"
    keys.write_text(f"# operators\n{ALICE}\n\n{BOB}\n")
    assert Settings.from_env({"AXIOM_API_KEYS": f"@{keys}"}).api_keys == (ALICE, BOB)
    with pytest.raises(Exception, match="at least 16") as error:
        Settings.from_env({"AXIOM_API_KEYS": "short"})
    assert "short" not in str(error.value)  # a key never appears in a message
    with pytest.raises(Exception, match="cannot read the key file"):
        Settings.from_env({"AXIOM_API_KEYS": f"@{tmp_path / 'missing.txt'}"})


def test_a_forwarded_address_does_not_change_who_is_counted(tmp_path: Path, make_body: MakeBody) -> None:
    settings = settings_for(tmp_path, rate_limit=3)
    with TestClient(create_app(settings)) as client:
        codes = [
            client.post(RUNS, json=make_body(), headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
            for i in range(5)
        ]
    assert codes == [202, 202, 202, 429, 429]


def test_refused_submissions_do_not_use_up_the_quota(tmp_path: Path, make_body: MakeBody) -> None:
    with TestClient(create_app(settings_for(tmp_path, rate_limit=3))) as client:
        bad = make_body(n_lineups=0)
        assert [client.post(RUNS, json=bad).status_code for _ in range(6)] == [400] * 6
        codes = [client.post(RUNS, json=make_body()).status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]


def test_the_limit_counts_each_key_apart(tmp_path: Path, make_body: MakeBody) -> None:
    settings = settings_for(tmp_path, rate_limit=2, api_keys=(ALICE, BOB))
    with TestClient(create_app(settings)) as client:
        alice = [client.post(RUNS, json=make_body(), headers=as_key(ALICE)).status_code for _ in range(3)]
        bob = [client.post(RUNS, json=make_body(), headers=as_key(BOB)).status_code for _ in range(2)]
    assert alice == [202, 202, 429] and bob == [202, 202]


def test_one_client_cannot_fill_the_queue(tmp_path: Path, make_body: MakeBody) -> None:
    with TestClient(create_app(settings_for(tmp_path, max_queued=2, api_keys=(ALICE, BOB)))) as client:
        codes = [client.post(RUNS, json=make_body(), headers=as_key(ALICE)).status_code for _ in range(3)]
        full = client.post(RUNS, json=make_body(), headers=as_key(ALICE))
        other = client.post(RUNS, json=make_body(), headers=as_key(BOB))
        first = client.get(RUNS, headers=as_key(ALICE)).json()[-1]["run_id"]
        client.delete(f"{RUNS}/{first}", headers=as_key(ALICE))  # a slot frees up
        again = client.post(RUNS, json=make_body(), headers=as_key(ALICE))
    assert codes == [202, 202, 429] and full.status_code == 429
    assert "at most 2 runs" in full.json()["detail"] and full.headers["retry-after"]
    assert other.status_code == 202 and again.status_code == 202


def _connection(peer: str, forwarded: str = "") -> Any:
    headers = {"x-forwarded-for": forwarded} if forwarded else {}
    return SimpleNamespace(client=SimpleNamespace(host=peer), headers=headers)


@pytest.mark.parametrize(
    ("proxies", "peer", "forwarded", "address"),
    [
        ((), "127.0.0.1", "203.0.113.9", "127.0.0.1"),  # no proxy trusted: the socket's peer
        (("10.0.0.0/8",), "192.0.2.7", "203.0.113.9", "192.0.2.7"),  # an untrusted peer's header
        (("10.0.0.0/8",), "10.1.2.3", "203.0.113.9", "203.0.113.9"),  # a trusted proxy's client
        (("10.0.0.0/8",), "10.1.2.3", "198.51.100.1, 203.0.113.9, 10.4.4.4", "203.0.113.9"),
        (("10.0.0.0/8",), "10.1.2.3", "", "10.1.2.3"),
    ],
)
def test_only_trusted_proxies_name_the_client(
    proxies: tuple[str, ...], peer: str, forwarded: str, address: str
) -> None:
    access = Access.from_settings(Settings(trusted_proxies=proxies))
    assert access.address(_connection(peer, forwarded)) == address
