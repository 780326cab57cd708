"""The networked backend: runs in PostgreSQL (`postgres.PgRunStore`), dispatched through SAQ's
Postgres queue to `axiom worker` processes on any host (`queue_worker`).

Any number of API processes share the database: a submission is stored and queued as an SAQ job
keyed by its run id in one transaction (one round trip); status, results and lists read the runs
table; a cancel sets the run's flag (which its worker reads between chunks and solves, on
whatever host) and asks SAQ to abort the job (a queued one never starts; a running one is
stopped by its worker). The submission limit's counts live in the same database
(`shared_store.DatabaseStore`), so it holds across processes.

`settings.workers` worker processes are spawned beside the API only when asked (`axiom serve
--workers N`); otherwise workers are started on their own, anywhere (`axiom worker`).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
from multiprocessing.context import SpawnProcess

from litestar.stores.base import Store

from ..contracts import Health, OptimizationStatus, OptimizeRequest
from ..settings import Settings
from .postgres import PgRunStore, connection_pool, reachable
from .queue_worker import connect_queue, run_queue, spawned_worker
from .registry import installed_device, new_run
from .shared_store import DatabaseStore
from .store import StoredResult, StoreUnavailable

log = logging.getLogger("axiom.service")

START_TIMEOUT = 10.0  # seconds the API waits for its first connections at start
ABORT_TTL = 5  # seconds SAQ keeps an aborted job's record before the sweep may delete it
# Connections an API process keeps open. The pool adds connections one at a time, as requests
# wait: opened on demand, a burst of submissions (50 clients at once in benchmarks/api.py)
# waited up to 90 ms for connections being made.
API_CONNECTIONS = 10


class NetworkedJobRegistry:
    """`JobRegistry` on a PostgreSQL server shared by API processes and workers on many hosts."""

    def __init__(self, settings: Settings) -> None:
        # SAQ logs every enqueue at INFO: a line per submission in every API process's log,
        # written while the client waits, that no reader needs (the runs table has it all).
        logging.getLogger("saq").setLevel(logging.WARNING)
        self.settings = settings
        self.pool = connection_pool(settings.database_url, min_size=API_CONNECTIONS)
        self.store = PgRunStore(self.pool)
        self.queue = run_queue(self.pool)
        self.limits = DatabaseStore(self.pool)
        self.workers: list[SpawnProcess] = []

    async def start(self) -> None:
        try:
            await self.pool.open(wait=True, timeout=START_TIMEOUT)
        except Exception as error:
            raise StoreUnavailable(f"the database cannot be reached: {error}") from error
        await self.store.create_schema()
        await connect_queue(self.queue)
        context = multiprocessing.get_context("spawn")  # never fork a process that may run JAX
        for slot in range(self.settings.workers):
            process = context.Process(
                target=spawned_worker, args=(self.settings, 1), name=f"axiom-worker-{slot}", daemon=True
            )
            process.start()
            self.workers.append(process)

    async def stop(self) -> None:
        for process in self.workers:
            process.terminate()  # SIGTERM: the worker requeues what it computes, then exits
        for process in self.workers:
            process.join(10.0)
            if process.is_alive():
                process.kill()
        self.workers.clear()
        with contextlib.suppress(Exception):
            await self.queue.disconnect()
        await self.pool.close()

    async def submit(self, request: OptimizeRequest, owner: str, client: str) -> OptimizationStatus:
        run = new_run(request, self.settings, owner, client)
        job = self.queue.run_job(run.run_id, self.settings)
        return await self.store.insert(run, self.settings.max_queued, job)

    async def status(self, run_id: str, owner: str) -> OptimizationStatus | None:
        return await self.store.status(run_id, owner)

    async def result(self, run_id: str, owner: str) -> StoredResult | None:
        return await self.store.result(run_id, owner)

    async def cancel(self, run_id: str, owner: str) -> OptimizationStatus | None:
        status = await self.store.cancel(run_id, owner)
        if status is not None and status.status in ("cancelled", "running"):
            async with reachable():
                job = await self.queue.job(run_id)
                if job is not None and not job.completed:
                    await self.queue.abort(job, "cancelled", ttl=ABORT_TTL)
        return status

    async def list(self, limit: int, owner: str) -> list[OptimizationStatus]:
        return await self.store.recent(limit, owner)

    async def health(self) -> Health:
        counts = await self.store.counts()
        async with reachable():
            info = await self.queue.info()
        devices = [str((worker.get("metadata") or {}).get("device")) for worker in info["workers"].values()]
        device = "gpu" if "gpu" in devices else "cpu" if devices else installed_device()
        alive = len(info["workers"])
        status = "ok" if alive >= self.settings.workers else "degraded"
        return Health(
            status=status,  # type: ignore[arg-type]
            device=device,  # type: ignore[arg-type]
            workers=alive,
            queue=counts,
            backend="networked",
        )

    def shared_store(self) -> Store | None:
        return self.limits
