"""The job registry: runs are submitted, polled, cancelled and listed through `JobRegistry`.

The embedded backend (`EmbeddedJobRegistry`) keeps runs and results in SQLite (`store.RunStore`)
and computes them in long-lived worker processes (`worker.worker_main`), started with the "spawn"
method so that no process is ever forked after JAX has started.

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
import logging
import multiprocessing
import os
import secrets
import sqlite3
import time
from collections.abc import Callable
from multiprocessing.context import SpawnProcess
from typing import Protocol, TypeVar, runtime_checkable

import msgspec
from litestar.stores.base import Store

from core import Infeasible, InvalidInput
from core.run import lineup_rules

from ..contracts import ENCODER, Health, OptimizationStatus, OptimizeRequest
from ..mapping import contest_settings, to_spec
from ..settings import Settings
from .store import NewRun, RunStore, StoredResult, StoreUnavailable
from .worker import worker_main

T = TypeVar("T")

log = logging.getLogger("axiom.service")

# Seconds a client's write (submit, cancel) waits for another process's write lock before the
# client gets 503 with Retry-After: long enough for any write of ours, short enough to answer.
REQUEST_WRITE_TIMEOUT = 2.0
RETRY_AFTER = 5  # seconds a client is told to wait when the database cannot take its write
SUPERVISE_INTERVAL = 0.25  # seconds between the supervisor's looks at its workers
MAX_SUPERVISE_BACKOFF = 5.0  # seconds, at most, between its retries while the database fails


@runtime_checkable
class JobRegistry(Protocol):
    """What the routes need from a job backend. The embedded one is SQLite + worker processes; a
    backend on a distributed queue implements the same methods."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def submit(self, request: OptimizeRequest, owner: str, client: str) -> OptimizationStatus:
        """Validate the request (raising InvalidInput naming the field) and queue it for `owner`;
        QueueFull when `client` has too many runs queued, StoreUnavailable when it cannot be stored."""
        ...

    async def status(self, run_id: str, owner: str) -> OptimizationStatus | None:
        """The run's status, None when there is no such run or it is not `owner`'s."""
        ...

    async def result(self, run_id: str, owner: str) -> StoredResult | None: ...

    async def cancel(self, run_id: str, owner: str) -> OptimizationStatus | None: ...

    async def list(self, limit: int, owner: str) -> list[OptimizationStatus]: ...

    async def health(self) -> Health: ...

    def shared_store(self) -> Store | None:
        """Where the submission limit keeps its counts when API processes share them; None: each
        process keeps its own (one process serves an embedded database)."""
        return None


class EmbeddedJobRegistry:
    """SQLite (WAL) for runs and results; `settings.workers` spawned worker processes.

    The event loop never sleeps in SQLite's busy handler. Writes (submit, cancel, failing a dead
    worker's run) go through a second connection whose busy timeout is 0: while a worker holds
    the write lock (for a progress write, and is then descheduled: workers run at a lower
    priority, so that happens exactly when the machine is busy) the write fails at once and is
    retried after an asyncio sleep, so every other request goes on meanwhile (a busy handler
    would block the event loop, and with it every client, for as long as the lock is held).
    Reads (status, result, lists) never wait for a writer in WAL mode and use the first
    connection.

    A worker process that dies is replaced and its run requeued (up to `settings.max_attempts`
    computations); the supervisor that does it survives any error, and retries what it could not
    write, with backoff, until the database takes it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store: RunStore | None = None  # reads, and the recovery at start
        self._writes: RunStore | None = None  # the server's writes, through _write only
        self.workers: dict[int, SpawnProcess] = {}
        self._context = multiprocessing.get_context("spawn")
        self._stop = self._context.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._dead: dict[int, str] = {}  # pid -> cause, of dead workers whose runs are not released yet

    @property
    def _db(self) -> RunStore:
        if self.store is None:
            raise RuntimeError("the job registry is not started")
        return self.store

    async def _write(self, call: Callable[[RunStore], T], timeout: float = REQUEST_WRITE_TIMEOUT) -> T:
        """`call` on the writing connection; while another process holds the write lock, it is
        retried with the loop free, for up to `timeout` seconds. Raises StoreUnavailable when the
        lock outlasts that or the database cannot be written (read-only, full, failing)."""
        if self._writes is None:
            raise RuntimeError("the job registry is not started")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = 0.0005
        while True:
            try:
                return call(self._writes)
            except sqlite3.Error as error:
                if self._writes.db.in_transaction:  # never leave a half-done write behind
                    with contextlib.suppress(sqlite3.Error):
                        self._writes.db.rollback()
                if not _is_busy(error) or loop.time() > deadline:
                    raise StoreUnavailable(_unavailable(error)) from error
            await asyncio.sleep(delay)
            delay = min(2 * delay, 0.01)

    async def start(self) -> None:
        self.store = RunStore(self.settings.database)
        self.store.recover(self.settings.max_attempts)
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
        """Replace every worker that died and release its run, whatever goes wrong: an error (the
        database locked, read-only or full) is logged and the next round tries again, later."""
        delay = SUPERVISE_INTERVAL
        while not self._stop.is_set():
            await asyncio.sleep(delay)
            try:
                self._replace_dead_workers()
                await self._release_dead_runs()
                delay = SUPERVISE_INTERVAL
            except Exception:
                log.warning("worker supervision failed; retrying in %.1f s", delay, exc_info=True)
                delay = min(2 * delay, MAX_SUPERVISE_BACKOFF)

    def _replace_dead_workers(self) -> None:
        for slot, process in list(self.workers.items()):
            if process.is_alive() or self._stop.is_set():
                continue
            self._dead[process.pid or -1] = f"the worker computing it stopped (exit code {process.exitcode})"
            self._spawn(slot)

    async def _release_dead_runs(self) -> None:
        for pid, cause in list(self._dead.items()):
            release = functools.partial(
                RunStore.release_worker_runs, pid=pid, cause=cause, max_attempts=self.settings.max_attempts
            )
            released = await self._write(release)
            del self._dead[pid]
            if released:
                log.warning("a worker stopped while computing; its run went back to the queue or failed")

    async def submit(self, request: OptimizeRequest, owner: str, client: str) -> OptimizationStatus:
        run = new_run(request, self.settings, owner, client)
        return await self._write(
            functools.partial(RunStore.insert, run=run, max_queued=self.settings.max_queued)
        )

    async def status(self, run_id: str, owner: str) -> OptimizationStatus | None:
        return self._db.status(run_id, owner)

    async def result(self, run_id: str, owner: str) -> StoredResult | None:
        return self._db.result(run_id, owner)

    async def cancel(self, run_id: str, owner: str) -> OptimizationStatus | None:
        return await self._write(functools.partial(RunStore.cancel, run_id=run_id, owner=owner))

    async def list(self, limit: int, owner: str) -> list[OptimizationStatus]:
        return self._db.recent(limit, owner)

    async def health(self) -> Health:
        devices = self._db.devices()
        device = "gpu" if "gpu" in devices else "cpu" if devices else installed_device()
        alive = sum(process.is_alive() for process in self.workers.values())
        status = "ok" if alive >= self.settings.workers else "degraded"
        return Health(status=status, device=device, workers=alive, queue=self._db.counts())  # type: ignore[arg-type]

    def shared_store(self) -> Store | None:
        return None


def new_run(request: OptimizeRequest, settings: Settings, owner: str, client: str) -> NewRun:
    """A submission validated (InvalidInput naming the field) and given its id and seed."""
    limit = settings.max_scenarios
    if request.scenario_config.n_scenarios > limit:
        raise InvalidInput("scenario_config.n_scenarios", f"must be at most {limit:,} on this server")
    spec = to_spec(request)
    contest = contest_settings(request)
    if contest is not None:
        contest.payout_table()  # a table the presets or the fees refuse is a 400, not a failed run
    with contextlib.suppress(Infeasible):  # an infeasible slate fails its run, with the reason
        lineup_rules(spec)
    seed = secrets.randbelow(2**63) if request.random_seed is None else request.random_seed
    stored = msgspec.structs.replace(request, random_seed=seed)
    return NewRun(
        run_id=secrets.token_hex(16),
        request=ENCODER.encode(stored),
        seed=seed,
        spec_hash=spec.hash,
        owner=owner,
        client=client,
    )


def _unavailable(error: sqlite3.Error) -> str:
    """What a client is told: why the database cannot take its write, never the raw error."""
    if _is_busy(error):
        return "the database is busy (another process holds its lock); retry shortly"
    return "the database cannot be written now; retry shortly"


def _is_busy(error: sqlite3.Error) -> bool:
    """SQLITE_BUSY (any extended code): another connection holds the lock; nothing was written."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


def installed_device() -> str:
    """Before any worker has started JAX: gpu when a CUDA plugin for jaxlib is installed."""
    plugins = ("jax_cuda12_plugin", "jax_cuda13_plugin", "jax_plugins.xla_cuda12")
    return "gpu" if any(_has_module(name) for name in plugins) else "cpu"


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False
