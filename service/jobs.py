"""The job registry: runs are submitted, polled, cancelled and listed through `JobRegistry`.

The embedded backend keeps runs and results in SQLite (WAL) and computes them in long-lived
worker processes (service.worker), started with the "spawn" method so that no process is ever
forked after JAX has started. The database is the queue: a worker claims the oldest pending run
in one UPDATE, reports progress into its row, checks the row's cancel flag between chunks and
solves, and stores the result as msgspec JSON. Each claim bumps the row's `attempt`, and every
later write of the worker names that attempt, so a stale worker can never overwrite a newer one.

Nothing is lost: completed results stay in the database; on start, runs left `running` by a
previous server are put back to `pending` and computed again from their stored request and seed
(the same request and seed give the same result). A worker that dies fails its run with the
reason and is replaced. One server owns a database at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import multiprocessing
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable

import msgspec

from core.errors import Infeasible, InvalidInput
from core.run import lineup_rules

from .contracts import ENCODER, FINAL_STATUSES, Health, OptimizationStatus, OptimizeRequest, QueueCounts
from .settings import Settings
from .worker import to_spec, worker_main

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    request BLOB NOT NULL,
    seed INTEGER NOT NULL,
    spec_hash TEXT NOT NULL,
    result BLOB,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    attempt INTEGER NOT NULL DEFAULT 0,
    worker_pid INTEGER
);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, seq);
CREATE TABLE IF NOT EXISTS workers (
    pid INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    started_at TEXT NOT NULL
);
"""

T = TypeVar("T")

WRITE_LOCK_TIMEOUT = 30.0  # seconds a server write waits for another process's write lock

_STATUS_COLUMNS = "run_id, status, progress, error, created_at, started_at, finished_at"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class Claim:
    run_id: str
    attempt: int
    seed: int
    request: bytes


@dataclass(frozen=True, slots=True)
class StoredResult:
    status: OptimizationStatus
    result: bytes | None  # the OptimizeResponse as JSON, once completed


class RunStore:
    """SQLite access shared by the server and its workers (one connection per process)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- the server's side ---

    def insert(self, run_id: str, request: bytes, seed: int, spec_hash: str) -> OptimizationStatus:
        created = now()
        self.db.execute(
            "INSERT INTO runs (run_id, status, created_at, request, seed, spec_hash) "
            "VALUES (?, 'pending', ?, ?, ?, ?)",
            (run_id, created, request, seed, spec_hash),
        )
        return OptimizationStatus(run_id=run_id, status="pending", progress=0.0, created_at=created)

    def status(self, run_id: str) -> OptimizationStatus | None:
        row = self.db.execute(f"SELECT {_STATUS_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else _status(row)

    def result(self, run_id: str) -> StoredResult | None:
        row = self.db.execute(
            f"SELECT {_STATUS_COLUMNS}, result FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        return None if row is None else StoredResult(_status(row[:7]), row[7])

    def request(self, run_id: str) -> bytes | None:
        row = self.db.execute("SELECT request FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def cancel(self, run_id: str) -> OptimizationStatus | None:
        """Pending runs are cancelled at once; running ones are flagged for their worker."""
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET status = 'cancelled', error = 'cancelled before it started', "
                "finished_at = ? WHERE run_id = ? AND status = 'pending'",
                (now(), run_id),
            )
            db.execute(
                "UPDATE runs SET cancel_requested = 1 WHERE run_id = ? AND status = 'running'", (run_id,)
            )
        return self.status(run_id)

    def recent(self, limit: int) -> list[OptimizationStatus]:
        rows = self.db.execute(f"SELECT {_STATUS_COLUMNS} FROM runs ORDER BY seq DESC LIMIT ?", (limit,))
        return [_status(row) for row in rows]

    def counts(self) -> QueueCounts:
        rows = self.db.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall()
        return QueueCounts(**dict(rows))

    def devices(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT device FROM workers")]

    def recover(self) -> int:
        """Put runs a previous server left running back in the queue; forget its workers."""
        with self.transaction() as db:
            db.execute("DELETE FROM workers")
            cursor = db.execute(
                "UPDATE runs SET status = 'pending', progress = 0, worker_pid = NULL WHERE status = 'running'"
            )
        return cursor.rowcount

    def fail_worker_runs(self, pid: int, reason: str) -> int:
        with self.transaction() as db:
            db.execute("DELETE FROM workers WHERE pid = ?", (pid,))
            cursor = db.execute(
                "UPDATE runs SET status = 'failed', error = ?, finished_at = ? "
                "WHERE status = 'running' AND worker_pid = ?",
                (reason, now(), pid),
            )
        return cursor.rowcount

    # --- a worker's side ---

    def register_worker(self, pid: int, device: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO workers (pid, device, started_at) VALUES (?, ?, ?)", (pid, device, now())
        )

    def claim(self, pid: int) -> Claim | None:
        """Take the oldest pending run, or None."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT run_id, attempt, seed, request FROM runs "
                "WHERE status = 'pending' ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            run_id, attempt, seed, request = row
            db.execute(
                "UPDATE runs SET status = 'running', started_at = ?, progress = 0, attempt = ?, "
                "worker_pid = ? WHERE run_id = ?",
                (now(), attempt + 1, pid, run_id),
            )
        return Claim(run_id, attempt + 1, seed, bytes(request))

    def cancel_requested(self, run_id: str) -> bool:
        row = self.db.execute("SELECT cancel_requested FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return bool(row and row[0])

    def report_progress(self, claim: Claim, progress: float) -> None:
        self.db.execute(
            "UPDATE runs SET progress = ? WHERE run_id = ? AND attempt = ? AND status = 'running'",
            (progress, claim.run_id, claim.attempt),
        )

    def finish(
        self, claim: Claim, status: str, *, error: str | None = None, result: bytes | None = None
    ) -> None:
        progress = 1.0 if status == "completed" else None
        self.db.execute(
            "UPDATE runs SET status = ?, error = ?, result = ?, finished_at = ?, "
            "progress = COALESCE(?, progress) WHERE run_id = ? AND attempt = ? AND status = 'running'",
            (status, error, result, now(), progress, claim.run_id, claim.attempt),
        )

    def requeue(self, claim: Claim) -> None:
        self.db.execute(
            "UPDATE runs SET status = 'pending', progress = 0, worker_pid = NULL "
            "WHERE run_id = ? AND attempt = ? AND status = 'running'",
            (claim.run_id, claim.attempt),
        )


def _status(row: tuple[object, ...]) -> OptimizationStatus:
    run_id, status, progress, error, created, started, finished = row
    return OptimizationStatus(
        run_id=str(run_id),
        status=status,  # type: ignore[arg-type]
        progress=float(progress),  # type: ignore[arg-type]
        error=error,  # type: ignore[arg-type]
        created_at=str(created),
        started_at=started,  # type: ignore[arg-type]
        finished_at=finished,  # type: ignore[arg-type]
    )


@runtime_checkable
class JobRegistry(Protocol):
    """What the routes need from a job backend. The embedded one is SQLite + worker processes; a
    backend on a distributed queue implements the same methods."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def submit(self, request: OptimizeRequest) -> OptimizationStatus:
        """Validate the request (raising InvalidInput naming the field) and queue it."""
        ...

    async def status(self, run_id: str) -> OptimizationStatus | None: ...

    async def result(self, run_id: str) -> StoredResult | None: ...

    async def request(self, run_id: str) -> OptimizeRequest | None: ...

    async def cancel(self, run_id: str) -> OptimizationStatus | None: ...

    async def list(self, limit: int) -> list[OptimizationStatus]: ...

    async def health(self) -> Health: ...


class EmbeddedJobRegistry:
    """SQLite (WAL) for runs and results; `settings.workers` spawned worker processes.

    The event loop never sleeps in SQLite's busy handler. Writes (submit, cancel, failing a dead
    worker's run) go through a second connection whose busy timeout is 0: while a worker holds
    the write lock (for a progress write, and is then descheduled: workers run at a lower
    priority, so that happens exactly when the machine is busy) the write fails at once and is
    retried after an asyncio sleep, and every other request goes on meanwhile; with one
    connection and a 30 s busy timeout, the whole server waited. Reads (status, result, lists)
    never wait for a writer in WAL mode and use the first connection."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store: RunStore | None = None  # reads, and the recovery at start
        self._writes: RunStore | None = None  # the server's writes, through _write only
        self.workers: dict[int, SpawnProcess] = {}
        self._context = multiprocessing.get_context("spawn")
        self._stop = self._context.Event()
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def _db(self) -> RunStore:
        if self.store is None:
            raise RuntimeError("the job registry is not started")
        return self.store

    async def _write(self, call: Callable[[RunStore], T]) -> T:
        """`call` on the writing connection; while another process holds the write lock, it is
        retried with the loop free, for up to WRITE_LOCK_TIMEOUT seconds."""
        if self._writes is None:
            raise RuntimeError("the job registry is not started")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WRITE_LOCK_TIMEOUT
        delay = 0.0005
        while True:
            try:
                return call(self._writes)
            except sqlite3.OperationalError as error:
                if self._writes.db.in_transaction:  # never leave a half-done write behind
                    self._writes.db.rollback()
                if not _is_busy(error) or loop.time() > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(2 * delay, 0.01)

    async def start(self) -> None:
        self.store = RunStore(self.settings.database)
        self.store.recover()
        self._writes = RunStore(self.settings.database)
        self._writes.db.execute("PRAGMA busy_timeout=0")  # SQLITE_BUSY at once: see _write
        self._stop.clear()
        for slot in range(self.settings.workers):
            self._spawn(slot)
        if self.settings.workers:
            self._supervisor = asyncio.create_task(self._supervise())

    async def stop(self) -> None:
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await asyncio.to_thread(self._join_workers, 10.0)
        for store in (self.store, self._writes):
            if store is not None:
                store.close()
        self.store = self._writes = None

    def _join_workers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for process in self.workers.values():
            process.join(max(0.0, deadline - time.monotonic()))
        for process in self.workers.values():
            if process.is_alive():
                process.kill()
                process.join(5.0)
        self.workers.clear()

    def _spawn(self, slot: int) -> None:
        s = self.settings
        process = self._context.Process(
            target=worker_main,
            args=(str(s.database), str(s.jax_cache_dir), s.poll_interval, os.getpid(), self._stop),
            name=f"axiom-worker-{slot}",
            daemon=True,
        )
        process.start()
        self.workers[slot] = process

    async def _supervise(self) -> None:
        """Fail the run of a worker that died, and start a new worker in its place."""
        while not self._stop.is_set():
            await asyncio.sleep(0.25)
            for slot, process in list(self.workers.items()):
                if process.is_alive() or self._stop.is_set():
                    continue
                pid = process.pid or -1
                reason = (
                    f"the worker process {pid} died (exit code {process.exitcode}) while computing this run"
                )
                await self._write(functools.partial(RunStore.fail_worker_runs, pid=pid, reason=reason))
                self._spawn(slot)

    async def submit(self, request: OptimizeRequest) -> OptimizationStatus:
        limit = self.settings.max_scenarios
        if request.scenario_config.n_scenarios > limit:
            raise InvalidInput("scenario_config.n_scenarios", f"must be at most {limit:,} on this server")
        spec = to_spec(request)
        with contextlib.suppress(Infeasible):  # an infeasible slate fails its run, with the reason
            lineup_rules(spec)
        seed = secrets.randbelow(2**63) if request.random_seed is None else request.random_seed
        stored = msgspec.structs.replace(request, random_seed=seed)
        run_id = secrets.token_hex(16)
        raw = ENCODER.encode(stored)
        return await self._write(
            functools.partial(RunStore.insert, run_id=run_id, request=raw, seed=seed, spec_hash=spec.hash)
        )

    async def status(self, run_id: str) -> OptimizationStatus | None:
        return self._db.status(run_id)

    async def result(self, run_id: str) -> StoredResult | None:
        return self._db.result(run_id)

    async def request(self, run_id: str) -> OptimizeRequest | None:
        raw = self._db.request(run_id)
        return None if raw is None else msgspec.json.decode(raw, type=OptimizeRequest)

    async def cancel(self, run_id: str) -> OptimizationStatus | None:
        return await self._write(functools.partial(RunStore.cancel, run_id=run_id))

    async def list(self, limit: int) -> list[OptimizationStatus]:
        return self._db.recent(limit)

    async def health(self) -> Health:
        devices = self._db.devices()
        device = "gpu" if "gpu" in devices else "cpu" if devices else _installed_device()
        alive = sum(process.is_alive() for process in self.workers.values())
        status = "ok" if alive >= self.settings.workers else "degraded"
        return Health(status=status, device=device, workers=alive, queue=self._db.counts())  # type: ignore[arg-type]


def _is_busy(error: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY (any extended code): another connection holds the lock; nothing was written."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


def _installed_device() -> str:
    """Before any worker has started JAX: gpu when a CUDA plugin for jaxlib is installed."""
    plugins = ("jax_cuda12_plugin", "jax_cuda13_plugin", "jax_plugins.xla_cuda12")
    return "gpu" if any(_has_module(name) for name in plugins) else "cpu"


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def is_final(status: OptimizationStatus) -> bool:
    return status.status in FINAL_STATUSES
