"""A real `axiom serve` process on loopback: 20 concurrent runs, SIGKILL mid-flight, restart on
the same database; every run completes and results that had completed are unchanged."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fields import driver_body

REPO = Path(__file__).resolve().parents[2]
N_RUNS = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, tmp_path: Path, port: int, **env: str) -> None:
        self.tmp_path, self.port, self.env = tmp_path, port, env
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        env = (
            os.environ
            | {
                "AXIOM_DATABASE": str(self.tmp_path / "runs.db"),
                "AXIOM_WORKERS": "1",
                "AXIOM_RATE_LIMIT": "1000",
                "AXIOM_CACHE_DIR": str(REPO / ".pytest_cache"),
                "PYTHONPATH": str(REPO),
            }
            | self.env
        )
        self.starts += 1
        log = (self.tmp_path / f"server-{self.starts}.log").open("wb")
        command = [
            sys.executable,
            "-m",
            "service.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.tmp_path / f"server-{self.starts}.log").read_text()
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("the server did not come up in 60 s")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path, free_port())
    yield running
    running.stop()


def request_body(seed: int, field_factory: Any) -> dict[str, Any]:
    drivers = [
        driver_body(d) | {"min_exposure": 0.5 if i == 0 else None}  # a minimum exposure: the priced path
        for i, d in enumerate(field_factory(10, seed=10))
    ]
    return {
        "slate_id": f"e2e-{seed}",
        "drivers": drivers,
        "scenario_config": {"track_id": "martinsville", "n_scenarios": 200},
        "n_lineups": 2,
        "random_seed": seed,
    }


def statuses(server: Server, run_ids: list[str]) -> dict[str, str]:
    return {r: httpx.get(f"{server.url}/api/v1/optimize/{r}/status").json()["status"] for r in run_ids}


def test_runs_survive_a_killed_server(server: Server, field_factory: Any) -> None:
    started = time.monotonic()
    server.start()
    with ThreadPoolExecutor(N_RUNS) as pool:
        submitted = list(
            pool.map(
                lambda seed: httpx.post(
                    f"{server.url}/api/v1/optimize", json=request_body(seed, field_factory)
                ),
                range(N_RUNS),
            )
        )
    assert [r.status_code for r in submitted] == [202] * N_RUNS
    run_ids = [r.json()["run_id"] for r in submitted]
    assert len(set(run_ids)) == N_RUNS

    deadline = time.monotonic() + 120
    while httpx.get(f"{server.url}/health").json()["queue"]["completed"] < 2:
        assert time.monotonic() < deadline, "no run completed in 120 s"
        time.sleep(0.05)
    server.kill()  # SIGKILL: no shutdown hook runs; the worker dies with its parent
    after_kill = statuses_from_db(server.tmp_path / "runs.db", run_ids)
    done_before = [r for r in run_ids if after_kill[r] == "completed"]
    in_flight = [r for r in run_ids if after_kill[r] in ("pending", "running")]
    assert done_before and in_flight, after_kill

    print(f"killed after {time.monotonic() - started:.1f} s with {len(in_flight)} runs in flight")
    server.start()
    before = {r: httpx.get(f"{server.url}/api/v1/optimize/{r}/result").json() for r in done_before}
    deadline = time.monotonic() + 120
    while set(statuses(server, run_ids).values()) != {"completed"}:
        assert time.monotonic() < deadline, statuses(server, run_ids)
        time.sleep(0.2)
    print(f"all done after {time.monotonic() - started:.1f} s")
    results = {r: httpx.get(f"{server.url}/api/v1/optimize/{r}/result") for r in run_ids}
    assert all(response.status_code == 200 for response in results.values())
    for run_id, result in before.items():
        assert results[run_id].json() == result
    seeds = [results[r].json()["run_config"]["seed"] for r in run_ids]
    assert seeds == list(range(N_RUNS))
    assert len({results[r].json()["constraint_spec_hash"] for r in run_ids}) == 1  # one problem, 20 seeds
    assert len({str(results[r].json()["scenario_diagnostics"]) for r in run_ids}) == N_RUNS


def statuses_from_db(database: Path, run_ids: list[str]) -> dict[str, str]:
    import sqlite3

    with sqlite3.connect(database) as db:
        return dict(db.execute("SELECT run_id, status FROM runs").fetchall())
