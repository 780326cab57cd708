"""The networked backend for real: two `axiom serve` processes and two `axiom worker` processes
on one PostgreSQL server; a worker killed mid-run; the database stopped under load.

Every run ends identical to the same request computed the embedded way (the same function a
worker of the embedded backend calls, with the same seed): at-least-once execution is safe.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psycopg
import pytest

from service.contracts import ENCODER, REQUEST_DECODER
from service.jobs.postgres import PgRunStore, connection_pool
from service.jobs.queue_worker import JOB_FUNCTION, connect_queue, run_queue
from service.jobs.store import NewRun, QueueFull
from service.jobs.worker import compute
from service.settings import Settings
from tests.servers import PostgresServer, free_port, start_postgres

from .test_server import REPO, Server, request_body

HEARTBEAT = "2"  # seconds: a killed worker's run is back in the queue within seconds
KEYS = [f"networked-client-{n:02d}-key" for n in range(8)]  # one client per key: 3 runs each at most
FINAL = ("completed", "failed", "cancelled")


class Worker:
    """An `axiom worker` process against `database`."""

    def __init__(self, tmp_path: Path, database: str, name: str, **extra: str) -> None:
        env = (
            os.environ
            | {
                "AXIOM_DATABASE": database,
                "AXIOM_HEARTBEAT": HEARTBEAT,
                "AXIOM_CACHE_DIR": str(REPO / ".pytest_cache"),
                "PYTHONPATH": str(REPO),
            }
            | extra
        )
        log = (tmp_path / f"{name}.log").open("wb")
        command = [sys.executable, "-m", "service.cli", "worker", "--concurrency", "1"]
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def api(tmp_path: Path, database: str, **env: str) -> Server:
    settings = {"AXIOM_DATABASE": database, "AXIOM_WORKERS": "0", "AXIOM_HEARTBEAT": HEARTBEAT}
    folder = tmp_path / f"api-{free_port()}"
    folder.mkdir()
    return Server(folder, free_port(), **(settings | env))


@pytest.fixture
def database(postgres: PostgresServer) -> str:
    """An empty database: the processes of a test migrate it themselves, at once."""
    return postgres.new_database(migrated=False)


def submit(server: Server, body: dict[str, Any], key: str) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/optimize", json=body, headers={"X-API-Key": key}, timeout=15)


def wait_all_final(servers: list[Server], runs: dict[str, str], timeout: float) -> dict[str, dict[str, Any]]:
    """Poll every run (by its key, through alternate servers) until all are final; a 503 (the
    database is coming back) is asked again, anything else but 200 fails."""
    deadline = time.monotonic() + timeout
    final: dict[str, dict[str, Any]] = {}
    while len(final) < len(runs) and time.monotonic() < deadline:
        for n, (run_id, key) in enumerate(runs.items()):
            if run_id in final:
                continue
            url = f"{servers[n % len(servers)].url}/api/v1/optimize/{run_id}/status"
            answer = httpx.get(url, headers={"X-API-Key": key}, timeout=15)
            if answer.status_code == 503:  # the database is coming back: ask again
                continue
            assert answer.status_code == 200, answer.text
            if answer.json()["status"] in FINAL:
                final[run_id] = answer.json()
        time.sleep(0.2)
    return final


def embedded_result(body: dict[str, Any], run_id: str) -> dict[str, Any]:
    """What the embedded backend computes for this request and seed (its worker's own function)."""
    request = REQUEST_DECODER.decode(msgspec.json.encode(body))
    outcome = compute(run_id, ENCODER.encode(request), body["random_seed"], lambda *_: None, lambda: False)
    assert outcome.status == "completed" and outcome.result is not None, outcome
    return msgspec.json.decode(outcome.result)


def running_on(database: str, pid: int) -> str | None:
    with psycopg.connect(database, autocommit=True) as db:
        row = db.execute(
            "SELECT run_id FROM axiom_runs WHERE status = 'running' AND worker LIKE %s", (f"%:{pid}",)
        ).fetchone()
    return None if row is None else str(row[0])


def test_two_apis_two_workers_one_killed_every_run_completes_identically(
    tmp_path: Path, database: str, field_factory: Any
) -> None:
    servers = [api(tmp_path, database, AXIOM_API_KEYS=",".join(KEYS), AXIOM_RATE_LIMIT="3") for _ in range(2)]
    workers: list[Worker] = []
    try:
        for server in servers:  # one after the other: the first creates the tables
            server.start()
        workers = [Worker(tmp_path, database, f"worker-{n}") for n in range(2)]
        bodies = [request_body(seed % 6, field_factory) for seed in range(20)]
        for slow in bodies[:2]:  # seconds of computing each: a kill lands mid-run
            slow["scenario_config"]["n_scenarios"] = 200_000
            slow["random_seed"] += 100
        runs: dict[str, str] = {}
        bodies_of: dict[str, dict[str, Any]] = {}
        for n, body in enumerate(bodies):
            key = KEYS[n % 7]
            response = submit(servers[n % 2], body, key)
            assert response.status_code == 202, response.text
            runs[response.json()["run_id"]] = key
            bodies_of[response.json()["run_id"]] = body

        deadline = time.monotonic() + 90
        victim = workers[0].process.pid
        while (killed_run := running_on(database, victim)) is None:
            assert time.monotonic() < deadline, "worker 0 never took a run"
            time.sleep(0.05)
        workers[0].process.send_signal(signal.SIGKILL)
        workers[0].process.wait(10)

        final = wait_all_final(servers, runs, timeout=240)
        assert len(final) == len(runs), f"{len(runs) - len(final)} runs never finished"
        assert all(status["status"] == "completed" for status in final.values()), final
        with psycopg.connect(database, autocommit=True) as db:
            attempts = dict(db.execute("SELECT run_id, attempt FROM axiom_runs").fetchall())
        assert attempts[killed_run] >= 2  # computed again by the other worker
        for n, (run_id, key) in enumerate(runs.items()):
            got = httpx.get(
                f"{servers[n % 2].url}/api/v1/optimize/{run_id}/result",
                headers={"X-API-Key": key},
                timeout=15,
            )
            assert got.status_code == 200
            assert got.json() == embedded_result(bodies_of[run_id], run_id), run_id

        # The limit (3 a minute here) holds per client across both API processes.
        codes = [submit(servers[n % 2], bodies[2], KEYS[7]).status_code for n in range(5)]
        assert codes == [202, 202, 202, 429, 429]
        refused = [submit(server, bodies[2], KEYS[7]) for server in servers]
        assert all(r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 for r in refused)
    finally:
        for worker in workers:
            worker.stop()
        for server in servers:
            server.stop()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A server of this test's own: it is stopped and started again."""
    server = start_postgres()
    yield server
    server.destroy()


def test_the_api_answers_503_while_the_database_is_down_and_every_run_completes_after(
    tmp_path: Path, own_postgres: PostgresServer, field_factory: Any
) -> None:
    database = own_postgres.new_database(migrated=False)
    server = api(tmp_path, database, AXIOM_RATE_LIMIT="1000")
    worker: Worker | None = None
    try:
        server.start()
        worker = Worker(tmp_path, database, "worker")
        run_ids = [
            httpx.post(f"{server.url}/api/v1/optimize", json=request_body(seed, field_factory)).json()[
                "run_id"
            ]
            for seed in range(6)
        ]
        wait_all_final([server], dict.fromkeys(run_ids[:1], ""), timeout=90)  # the worker is at work
        own_postgres.stop()
        seen: set[int] = set()
        down_until = time.monotonic() + 10
        while time.monotonic() < down_until:
            for path in (f"/api/v1/optimize/{run_ids[0]}/status", "/health", "/api/v1/optimize"):
                started = time.monotonic()
                answer = httpx.get(f"{server.url}{path}", timeout=15)
                assert time.monotonic() - started < 8, f"{path} took too long"
                assert answer.status_code == 503, (path, answer.status_code, answer.text)
                assert "database" in answer.json()["detail"] and answer.headers["Retry-After"]
                seen.add(answer.status_code)
            submitted = httpx.post(
                f"{server.url}/api/v1/optimize", json=request_body(9, field_factory), timeout=15
            )
            assert submitted.status_code == 503, submitted.text
        own_postgres.restart()
        final = wait_all_final([server], dict.fromkeys(run_ids, ""), timeout=120)
        assert [final[r]["status"] for r in run_ids] == ["completed"] * 6, final
        assert httpx.get(f"{server.url}/health", timeout=15).json()["backend"] == "networked"
    finally:
        if worker is not None:
            worker.stop()
        server.stop()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://%zz@127.0.0.1/axiom", "not a valid PostgreSQL URL"),
        ("postgresql://axiom@127.0.0.1:notaport/axiom", 'invalid integer value "notaport"'),
        (f"postgresql://axiom@127.0.0.1:{free_port()}/axiom", "cannot reach the database"),
    ],
    ids=["malformed", "bad port", "unreachable"],
)
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_a_bad_database_url_saying_why(
    url: str, says: str, command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from service.cli import main

    monkeypatch.setenv("AXIOM_DATABASE", url)
    started = time.monotonic()
    assert main([command]) == 2
    assert time.monotonic() - started < 10
    message = " ".join(capsys.readouterr().err.split())
    assert "AXIOM_DATABASE" in message and says in message, message


def test_a_stale_worker_never_overwrites_a_stored_result(database: str) -> None:
    """Two computations of one run (the first worker was presumed lost): the first result stored
    stays; the other's result, failure or requeue changes nothing."""

    async def race() -> None:
        pool = connection_pool(database)
        await pool.open(wait=True, timeout=10)
        try:
            store = PgRunStore(pool)
            await store.create_schema()
            run = NewRun(run_id="r1", request=b"{}", seed=1, spec_hash="h", owner="", client="c")
            await store.insert(run, max_queued=5)
            stale = await store.start("r1", "host-a:1")
            fresh = await store.start("r1", "host-b:2")  # the sweep gave the run to another worker
            assert stale is not None and fresh is not None and fresh.attempt == stale.attempt + 1
            assert await store.finish("r1", "completed", None, b'{"lineups": "A"}')
            assert not await store.finish("r1", "completed", None, b'{"lineups": "B"}')
            assert not await store.finish("r1", "failed", "lost", None)
            await store.requeue("r1", stale.attempt)
            assert await store.start("r1", "host-c:3") is None  # finished: nothing to compute
            stored = await store.result("r1", "")
            assert stored is not None and stored.status.status == "completed"
            assert stored.result == b'{"lineups": "A"}' and stored.status.progress == 1.0
        finally:
            await pool.close()

    asyncio.run(race())


def test_a_submission_is_stored_and_queued_together_or_not_at_all(database: str) -> None:
    """The run's row and its SAQ job go in one transaction: a run the queue cap refuses leaves no
    job behind, and an accepted one's job is the one SAQ itself reads back."""

    async def submit() -> None:
        pool = connection_pool(database)
        await pool.open(wait=True, timeout=10)
        try:
            store, queue = PgRunStore(pool), run_queue(pool)
            await store.create_schema()
            await connect_queue(queue)
            settings = Settings(database_url=database)
            for run_id in ("r1", "r2"):
                run = NewRun(run_id=run_id, request=b"{}", seed=1, spec_hash="h", owner="", client="c")
                try:
                    await store.insert(run, 1, queue.run_job(run_id, settings))
                except QueueFull:
                    assert run_id == "r2"
            job = await queue.job("r1")
            assert job is not None and job.function == JOB_FUNCTION and job.kwargs == {"run_id": "r1"}
            assert job.heartbeat == settings.heartbeat and job.retries == settings.max_attempts + 1
            assert await queue.job("r2") is None
            async with pool.connection() as db:
                cursor = await db.execute("SELECT count(*) FROM axiom_runs")
                assert (await cursor.fetchone()) == (1,)
        finally:
            await pool.close()

    asyncio.run(submit())


def test_the_queue_cap_holds_for_submissions_racing_through_two_api_processes(database: str) -> None:
    """One client's 40 submissions at once through two pools (two API processes' connections):
    exactly the cap's 7 runs are queued, each with its job; the other 33 are refused."""

    async def race() -> None:
        pools = [connection_pool(database), connection_pool(database)]
        for pool in pools:
            await pool.open(wait=True, timeout=10)
        try:
            stores, queue = [PgRunStore(pool) for pool in pools], run_queue(pools[0])
            await stores[0].create_schema()
            await connect_queue(queue)
            settings = Settings(database_url=database)

            async def submit(k: int) -> bool:
                run = NewRun(run_id=f"r{k}", request=b"{}", seed=k, spec_hash="h", owner="", client="c")
                try:
                    await stores[k % 2].insert(run, 7, queue.run_job(run.run_id, settings))
                except QueueFull:
                    return False
                return True

            accepted = await asyncio.gather(*(submit(k) for k in range(40)))
            assert sum(accepted) == 7
            async with pools[0].connection() as db:
                cursor = await db.execute("SELECT count(*) FROM axiom_runs WHERE client = 'c'")
                assert (await cursor.fetchone()) == (7,)
                cursor = await db.execute("SELECT count(*) FROM saq_jobs")
                assert (await cursor.fetchone()) == (7,)
        finally:
            for pool in pools:
                await pool.close()

    asyncio.run(race())


def test_workers_stopped_on_purpose_spend_no_attempt(
    tmp_path: Path, database: str, field_factory: Any
) -> None:
    """With one attempt allowed, a run whose worker is stopped (SIGTERM) twice mid-run still
    completes on the third: a stop puts the run back and loses nothing."""
    limit = {"AXIOM_MAX_ATTEMPTS": "1"}
    server = api(tmp_path, database, **limit)
    workers: list[Worker] = []
    try:
        server.start()
        body = request_body(1, field_factory)
        body["scenario_config"]["n_scenarios"] = 200_000  # seconds of computing: a stop lands mid-run
        response = submit(server, body, "")
        assert response.status_code == 202, response.text
        run_id = response.json()["run_id"]
        for n in range(2):
            workers.append(Worker(tmp_path, database, f"stopped-{n}", **limit))
            deadline = time.monotonic() + 90
            while running_on(database, workers[-1].process.pid) != run_id:
                assert time.monotonic() < deadline, "the run never started"
                time.sleep(0.1)
            workers[-1].stop()
        workers.append(Worker(tmp_path, database, "last", **limit))
        final = wait_all_final([server], {run_id: ""}, timeout=120)
        assert final[run_id]["status"] == "completed", final
    finally:
        for worker in workers:
            worker.stop()
        server.stop()
