"""A real `axiom serve` process on a bad day: the database read-only for a while, a lock held by
another process, a worker killed mid-run, and a client spoofing X-Forwarded-For."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .test_server import Server, free_port, request_body

RUNS = "/api/v1/optimize"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path, free_port(), AXIOM_MAX_ATTEMPTS="2")
    running.start()
    yield running
    running.stop()


def slow_body(seed: int, field_factory: Any) -> dict[str, Any]:
    """A run that computes for several seconds (a million scenarios), reporting progress."""
    body = request_body(seed, field_factory)
    return body | {"scenario_config": body["scenario_config"] | {"n_scenarios": 1_000_000}}


def submit(server: Server, body: dict[str, Any]) -> str:
    response = httpx.post(f"{server.url}{RUNS}", json=body, timeout=30)
    assert response.status_code == 202, response.text
    return str(response.json()["run_id"])


def status(server: Server, run_id: str) -> dict[str, Any]:
    return dict(httpx.get(f"{server.url}{RUNS}/{run_id}/status", timeout=10).json())


def wait_for(what: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


def wait_final(server: Server, run_id: str, timeout: float = 180) -> dict[str, Any]:
    wait_for(
        lambda: status(server, run_id)["status"] in ("completed", "failed", "cancelled"), timeout, run_id
    )
    return status(server, run_id)


def running(server: Server, run_id: str) -> Callable[[], bool]:
    """Whether the run is computing (and has reported progress); an error once it has ended."""

    def computing() -> bool:
        now = status(server, run_id)
        assert now["status"] in ("pending", "running"), f"the run ended before the fault: {now}"
        return now["status"] == "running" and now["progress"] > 0

    return computing


def worker_pid(server: Server) -> int:
    assert server.process is not None
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    workers = [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(workers) == 1, children
    return workers[0]


def result(server: Server, run_id: str) -> dict[str, Any]:
    response = httpx.get(f"{server.url}{RUNS}/{run_id}/result", timeout=10).json()
    response.pop("run_id")
    return dict(response)


def test_a_killed_worker_is_replaced_and_its_run_retried_then_failed(
    server: Server, field_factory: Any
) -> None:
    """AXIOM_MAX_ATTEMPTS=2: a run whose worker is killed once completes, identical to the same
    request computed undisturbed; a run whose worker is killed twice fails, saying why."""
    undisturbed = submit(server, slow_body(1, field_factory))
    assert wait_final(server, undisturbed)["status"] == "completed"

    retried = submit(server, slow_body(1, field_factory))
    wait_for(running(server, retried), 120, "the run never started")
    os.kill(worker_pid(server), 9)
    assert wait_final(server, retried)["status"] == "completed"
    assert result(server, retried) == result(server, undisturbed)  # the seed makes the repeat identical

    doomed = submit(server, slow_body(2, field_factory))
    for _ in range(2):
        wait_for(running(server, doomed), 120, "the run never started")
        os.kill(worker_pid(server), 9)
        time.sleep(1.0)
    final = wait_final(server, doomed)
    assert final["status"] == "failed" and "2 time(s)" in final["error"] and "pid" not in final["error"]
    health = httpx.get(f"{server.url}/health").json()
    assert health["status"] == "ok" and health["workers"] == 1


def _chattr(flag: str, paths: list[Path]) -> None:
    subprocess.run(["chattr", flag, *map(str, paths)], check=True, capture_output=True)


def test_a_read_only_database_stalls_runs_until_it_is_writable(server: Server, field_factory: Any) -> None:
    files = [server.tmp_path / name for name in ("runs.db", "runs.db-wal", "runs.db-shm")]
    if shutil.which("chattr") is None or os.geteuid() != 0:
        pytest.skip("needs root and chattr to make the database read-only (chmod does not stop root)")
    try:
        _chattr("+i", files[:1])
        _chattr("-i", files[:1])
    except subprocess.CalledProcessError as error:
        pytest.skip(f"this file system does not take chattr +i: {error.stderr!r}")
    run_id = submit(server, slow_body(3, field_factory))
    wait_for(running(server, run_id), 120, "the run never started")
    _chattr("+i", files)
    try:
        started = time.monotonic()
        refused = httpx.post(f"{server.url}{RUNS}", json=slow_body(4, field_factory), timeout=30)
        assert refused.status_code == 503 and refused.headers["retry-after"]
        assert time.monotonic() - started < 5 and "retry" in refused.json()["detail"]
        time.sleep(8)
        health = httpx.get(f"{server.url}/health").json()
        assert health["workers"] == 1 and health["status"] == "ok"
    finally:
        _chattr("-i", files)
    assert wait_final(server, run_id)["status"] == "completed"
    after = submit(server, slow_body(5, field_factory))
    assert wait_final(server, after)["status"] == "completed"


def test_a_long_lock_is_503_for_clients_and_waited_out_by_the_worker(
    server: Server, field_factory: Any
) -> None:
    run_id = submit(server, slow_body(6, field_factory))
    wait_for(running(server, run_id), 120, "the run never started")
    held = threading.Event()

    def hold_lock(seconds: float) -> None:
        other = sqlite3.connect(server.tmp_path / "runs.db", isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        held.set()
        time.sleep(seconds)
        other.execute("COMMIT")
        other.close()

    holder = threading.Thread(target=hold_lock, args=(12.0,))
    holder.start()
    held.wait(10)
    started = time.monotonic()
    refused = httpx.post(f"{server.url}{RUNS}", json=slow_body(7, field_factory), timeout=30)
    assert refused.status_code == 503 and refused.headers["retry-after"]
    assert time.monotonic() - started < 5
    assert status(server, run_id)["status"] == "running"  # reads go on under the lock
    holder.join()
    assert wait_final(server, run_id)["status"] == "completed"


def test_a_spoofed_forwarded_address_does_not_reset_the_limit(tmp_path: Path, field_factory: Any) -> None:
    limited = Server(tmp_path, free_port(), AXIOM_RATE_LIMIT="3", AXIOM_WORKERS="0")
    limited.start()
    try:
        codes = [
            httpx.post(
                f"{limited.url}{RUNS}",
                json=request_body(i, field_factory),
                headers={"X-Forwarded-For": f"198.51.100.{i}"},
            ).status_code
            for i in range(5)
        ]
    finally:
        limited.stop()
    assert codes == [202, 202, 202, 429, 429]
