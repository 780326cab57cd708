"""The networked backend's worker: an SAQ worker on any host, computing runs from the shared queue.

`axiom worker` runs one (and `axiom serve --workers N` spawns N) against the database in
AXIOM_DATABASE. The process lives long: JAX starts once and compiled kernels stay warm across runs
(and in the persistent compilation cache). A run computes in a thread of this process, never in
a forked child, while the event loop goes on heartbeating SAQ's job, writing progress and
reading the run's cancel flag.

At-least-once: SAQ leases each job to one worker; a worker that stops heartbeating (killed, host
gone) is found by another worker's sweep and its job is retried, so the run is computed again
from its stored request and seed, with the same result bit for bit. Whichever computation stores
it first wins; a later (stale) one finds the run finished and writes nothing (PgRunStore.finish).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jax
from psycopg_pool import AsyncConnectionPool
from saq import Worker
from saq.job import Job, Status
from saq.queue.postgres import PostgresQueue
from saq.utils import now as saq_now
from saq.utils import now_seconds

from ..settings import Settings, enable_compilation_cache
from .postgres import Companion, PgRunStore, connection_pool, reachable
from .store import StoreUnavailable
from .worker import Outcome, compute, die_with_parent, for_every_thread, run_progress, yield_cpu

log = logging.getLogger("axiom.worker")

QUEUE_NAME = "axiom-runs"
JOB_FUNCTION = "compute_run"
# SAQ's defaults (a 10 s timeout, no heartbeat) suit short web tasks, not a run of a million
# scenarios. A timeout of an hour stops a runaway computation without ever cutting a real one
# short (the largest run allowed takes minutes on a CPU); the heartbeat (AXIOM_HEARTBEAT) is what
# finds a lost worker, within seconds of it going silent rather than an hour.
JOB_TIMEOUT = 3600
# SAQ keeps a finished job's record this long, for inspection only: the run's result lives in
# axiom_runs, for good.
JOB_TTL = 86_400
BEATS_PER_HEARTBEAT = (
    4  # a worker touches its job this often per heartbeat window: one late beat is not a loss
)
PROGRESS_INTERVAL = 0.25  # seconds between progress writes (and looks at the cancel flag)
DEQUEUE_POLL = 0.05  # seconds an idle worker waits between looks at the queue
MAX_BACKOFF = 2.0  # seconds, at most, between retries of a result write the database refused


def job_options(settings: Settings) -> dict[str, Any]:
    """SAQ's settings for a run's job. One retry more than AXIOM_MAX_ATTEMPTS: that last attempt
    only records that the run failed (a job SAQ gives up on would leave the run `running`)."""
    return {
        "timeout": JOB_TIMEOUT,
        "heartbeat": settings.heartbeat,
        "retries": settings.max_attempts + 1,
        "ttl": JOB_TTL,
    }


def sweep_interval(settings: Settings) -> int:
    """Seconds between sweeps for jobs whose worker went silent: half a heartbeat window, so a
    lost run is back in the queue within about 1.5 windows (plus SAQ's 5 s wait for an abort)."""
    return max(1, settings.heartbeat // 2)


class RunQueue(PostgresQueue):
    """SAQ's Postgres queue, with one way in for a worker's jobs: its own dequeue.

    On Postgres, SAQ's "schedule" timer dequeues too (for cron jobs, which we have none of). Run
    beside a worker's own dequeue, it could take a second job while the worker's only slot was
    being filled: that job then sat in the busy worker's memory, marked active, while idle
    workers waited (measured: two runs on two workers computed one after the other). The
    worker's own dequeue already honours a job's scheduled time (retry delays)."""

    async def schedule(self, lock: int = 1) -> list[str]:
        return []

    def run_job(self, run_id: str, settings: Settings) -> Companion:
        """Run `run_id`'s job as the row SAQ's `enqueue` would write (SAQ's Job and serialisation,
        its table's columns), for the submission's own transaction: stored and queued in one round
        trip, where `enqueue` after the insert took two more (its insert, then a NOTIFY that our
        workers, which poll, never listen for). The pinned SAQ minor version fixes the table."""
        job = Job(
            function=JOB_FUNCTION,
            kwargs={"run_id": run_id},
            key=run_id,
            queue=self,
            status=Status.QUEUED,
            queued=saq_now(),
            **job_options(settings),
        )
        values = {
            "key": job.key,
            "job": self.serialize(job),
            "queue": self.name,
            "status": job.status,
            "priority": job.priority,
            "group_key": job.group_key,
            "scheduled": int(now_seconds()),
        }
        return Companion(self.jobs_table, values)


def run_queue(pool: AsyncConnectionPool) -> RunQueue:
    """The runs' SAQ queue, on the caller's pool (which the caller opens and closes)."""
    return RunQueue(pool=pool, name=QUEUE_NAME, manage_pool_lifecycle=False)


async def connect_queue(queue: PostgresQueue) -> None:
    """SAQ creates its tables under a lock that a process starting at the same time skips: wait
    until they exist, so that neither process queries them too early."""
    async with reachable():
        await queue.connect()
        for _ in range(100):
            async with queue.pool.connection() as db:
                cursor = await db.execute("SELECT to_regclass('saq_jobs') IS NOT NULL")
                row = await cursor.fetchone()
            if row and row[0]:
                return
            await asyncio.sleep(0.1)
    raise StoreUnavailable("the queue's tables were not created; is another process still migrating?")


@dataclass(frozen=True, slots=True)
class WorkerState:
    """What every job of this worker shares."""

    store: PgRunStore
    settings: Settings
    worker_id: str


def run_worker(settings: Settings, concurrency: int, threads: int | None = None) -> None:
    """A worker's whole life, until SIGINT or SIGTERM (which requeue the runs it is computing);
    its computations use `threads` CPU threads (None: one per core it may run on)."""
    enable_compilation_cache(settings.jax_cache_dir)
    if threads is not None:
        start_jax_with_threads(threads)
    asyncio.run(_work(settings, concurrency))


def start_jax_with_threads(threads: int) -> None:
    """Start JAX's CPU backend with `threads` threads for its computations.

    XLA sizes its thread pool by the cores the process may run on when the backend starts (JAX
    has no setting for it), so the backend starts while this thread may run on `threads` cores,
    and every thread gets all of them back after: the pool is smaller, not pinned. It matters
    where workers outnumber the host's cores: four workers of two threads each on 2 cores spent
    20% more CPU a run than two did (the workers' CPU time from /proc around benchmarks/api.py's
    throughput batches)."""
    try:
        allowed = os.sched_getaffinity(0)
        os.sched_setaffinity(0, sorted(allowed)[:threads])
    except (AttributeError, OSError):
        log.warning("--threads is not supported here: computations use a thread per core")
        return
    try:
        jax.devices()
    finally:
        for_every_thread(lambda thread: os.sched_setaffinity(thread, allowed))


def spawned_worker(settings: Settings, concurrency: int) -> None:
    """`axiom serve --workers N`'s workers: they stop when the server does, and yield the CPU to
    its event loop (and to the database's processes, when they share the machine)."""
    die_with_parent()
    yield_cpu()
    run_worker(settings, concurrency)


async def _work(settings: Settings, concurrency: int) -> None:
    pool = connection_pool(settings.database_url, max_size=concurrency + 4)
    await pool.open(wait=True, timeout=30)
    try:
        store = PgRunStore(pool)
        await store.create_schema()
        queue = run_queue(pool)
        await connect_queue(queue)
        worker_id = f"{socket.gethostname()}:{os.getpid()}"
        device = "gpu" if jax.default_backend() in ("gpu", "cuda", "rocm") else "cpu"
        worker = Worker(
            queue,
            functions=[(JOB_FUNCTION, compute_run)],
            id=worker_id,
            concurrency=concurrency,
            timers={"sweep": sweep_interval(settings), "abort": 1, "worker_info": 5, "schedule": 60},
            poll_interval=DEQUEUE_POLL,  # polling survives a database restart; LISTEN would not
            metadata={"device": device, "host": socket.gethostname()},
        )
        worker.context["axiom"] = WorkerState(store, settings, worker_id)
        log.info("worker %s (%s) takes runs from the queue, %d at a time", worker_id, device, concurrency)
        await worker.start()
    finally:
        await pool.close()


async def compute_run(ctx: dict[str, Any], *, run_id: str) -> None:
    """SAQ's job: compute one run (in a thread) and store its outcome."""
    job: Job = ctx["job"]
    state: WorkerState = ctx["axiom"]
    limit = state.settings.max_attempts
    if job.attempts > limit:
        error = f"the worker computing this run was lost {limit} time(s); it is not retried again"
        await _until_stored(lambda: state.store.finish(run_id, "failed", error, None))
        return
    start = await state.store.start(run_id, state.worker_id)
    if start is None:
        return  # finished already: completed by an earlier attempt, or cancelled while queued
    cancel = threading.Event()
    progress = [0.0]

    def on_progress(phase: str, done: int, total: int) -> None:
        progress[0] = run_progress(phase, done, total)

    computing = asyncio.ensure_future(
        asyncio.to_thread(compute, run_id, start.request, start.seed, on_progress, cancel.is_set)
    )
    interrupted = False
    try:
        await _watch(computing, job, state, run_id, start.attempt, progress, cancel)
    except asyncio.CancelledError:  # SAQ aborts the job (a cancel), times it out, or the worker stops
        interrupted = True
        cancel.set()
        await _settle(computing)
    # Stored whatever happens to this task meanwhile: an abort arriving during the write must not
    # leave the run `running` with no job behind it.
    await _settle(asyncio.ensure_future(_store_outcome(state, run_id, start.attempt, computing.result())))
    if interrupted:
        if ctx["worker"].event.is_set():
            # The worker is stopping on purpose (SIGTERM, Ctrl-C) and put the run back: nothing was
            # lost, so it spends no attempt (SAQ saves the job with this count as it requeues it).
            # Else a few restarts of the workers would fail a run as "lost".
            job.attempts -= 1
        raise asyncio.CancelledError


async def _store_outcome(state: WorkerState, run_id: str, attempt: int, outcome: Outcome) -> None:
    """The run's outcome into its row; a computation stopped without a cancel from its owner
    (the worker is stopping, SAQ's timeout) puts the run back in the queue instead."""
    if outcome.status == "cancelled" and not await _cancel_requested(state.store, run_id):
        with contextlib.suppress(StoreUnavailable):  # else SAQ's retry finds it `running`: fine
            await state.store.requeue(run_id, attempt)
        return
    written = await _until_stored(
        lambda: state.store.finish(
            run_id, outcome.status, outcome.error or _cancelled(outcome), outcome.result
        )
    )
    if not written:
        log.info("run %s was already finished by another computation; this one is dropped", run_id)


def _cancelled(outcome: Outcome) -> str | None:
    return "cancelled while running" if outcome.status == "cancelled" else None


async def _watch(
    computing: asyncio.Future[Any],
    job: Job,
    state: WorkerState,
    run_id: str,
    attempt: int,
    progress: list[float],
    cancel: threading.Event,
) -> None:
    """While the run computes: progress into its row, its cancel flag into `cancel`, and SAQ's
    heartbeat, so that the sweep knows this worker is alive."""
    loop = asyncio.get_running_loop()
    beat_every = state.settings.heartbeat / BEATS_PER_HEARTBEAT
    last_beat = loop.time()
    written = -1.0
    while not computing.done():
        await asyncio.wait({computing}, timeout=PROGRESS_INTERVAL)
        try:
            if progress[0] != written:
                await state.store.report_progress(run_id, attempt, progress[0])
                written = progress[0]
            if await state.store.cancel_requested(run_id):
                cancel.set()
        except StoreUnavailable:
            pass  # progress is a courtesy; the computation goes on
        if loop.time() - last_beat >= beat_every:
            try:
                await job.update()  # SAQ's heartbeat: touches the job's lease
                last_beat = loop.time()
            except Exception:  # the database is away; the next beat tries again
                log.warning("heartbeat for run %s failed", run_id, exc_info=True)


async def _settle(computing: asyncio.Future[Any]) -> None:
    """Wait for the computing thread to stop (at its next chunk or solve, now that it is asked
    to), however often this task is cancelled meanwhile."""
    while not computing.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(computing)


async def _cancel_requested(store: PgRunStore, run_id: str) -> bool:
    try:
        return await store.cancel_requested(run_id)
    except StoreUnavailable:
        return False  # then the run is requeued, and its next worker sees the flag


async def _until_stored(write: Callable[[], Awaitable[bool]]) -> bool:
    """A store write, retried with backoff until the database takes it: a computed result is
    never dropped because the database was away for a while."""
    delay = 0.05
    while True:
        try:
            return await write()
        except StoreUnavailable:
            log.warning("the database refused a write; retrying in %.1f s", delay)
            await asyncio.sleep(delay)
            delay = min(2 * delay, MAX_BACKOFF)
