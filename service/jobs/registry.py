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
import multiprocessing
import os
import secrets
import sqlite3
import time
from collections.abc import Callable
from multiprocessing.context import SpawnProcess
from typing import Protocol, TypeVar, runtime_checkable

import msgspec

from core import Infeasible, InvalidInput
from core.run import lineup_rules

from ..contracts import ENCODER, Health, OptimizationStatus, OptimizeRequest
from ..mapping import to_spec
from ..settings import Settings
from .store import RunStore, StoredResult
from .worker import worker_main

T = TypeVar("T")

WRITE_LOCK_TIMEOUT = 30.0  # seconds a server write waits for another process's write lock


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

    async def cancel(self, run_id: str) -> OptimizationStatus | None: ...

    async def list(self, limit: int) -> list[OptimizationStatus]: ...

    async def health(self) -> Health: ...


class EmbeddedJobRegistry:
    """SQLite (WAL) for runs and results; `settings.workers` spawned worker processes.

    The event loop never sleeps in SQLite's busy handler. Writes (submit, cancel, failing a dead
    worker's run) go through a second connection whose busy timeout is 0: while a worker holds
    the write lock (for a progress write, and is then descheduled: workers run at a lower
    priority, so that happens exactly when the machine is busy) the write fails at once and is
    retried after an asyncio sleep, so every other request goes on meanwhile (a busy handler
    would block the event loop, and with it every client, for as long as the lock is held).
    Reads (status, result, lists) never wait for a writer in WAL mode and use the first
    connection."""

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
