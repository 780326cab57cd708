"""A worker process: claims queued runs from the store and computes them with core.run.

A worker is started with multiprocessing's "spawn" method and lives as long as its server: it
imports JAX once, keeps compiled kernels in memory (and in the persistent compilation cache),
and exits when the server asks it to or when the server process is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import NamedTuple

import jax

from core import AxiomError, Cancelled
from core.run import run_optimization

from ..contracts import ENCODER, REQUEST_DECODER
from ..mapping import contest_settings, response_for, to_spec
from ..settings import enable_compilation_cache
from .store import Claim, RunStore

log = logging.getLogger("axiom.worker")

SIMULATION_SHARE = 0.9  # of a run's progress; the lineup solves take the rest
PROGRESS_INTERVAL = 0.1  # seconds between progress writes
WORKER_NICENESS = 10  # where SCHED_IDLE is missing (yield_cpu)
MAX_BACKOFF = 2.0  # seconds, at most, between retries of a write the database refused
# Seconds a write waits for another process's lock before it is retried (a long lock stalls a
# progress write at most this long, and a result write retries until the lock goes).
BUSY_TIMEOUT = 5.0


def yield_cpu() -> None:
    """Let this process compute only on CPU time that the server and the database do not want.

    On Linux every thread of it (and every thread it starts later: they inherit it) runs under
    SCHED_IDLE, which any waking thread of normal priority preempts at once. A nice value was
    not enough: a niced computation still holds a core for a time slice after the event loop
    wakes with a request to answer, and with two computing workers that wait showed in every
    request (networked submit p50 83-118 ms under the API benchmark's load, 23-32 ms with this).
    Elsewhere, or where a sandbox refuses the policy, the process is niced."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(WORKER_NICENESS)
        return
    for_every_thread(lambda thread: os.sched_setscheduler(thread, os.SCHED_IDLE, os.sched_param(0)))


def for_every_thread(apply: Callable[[int], object]) -> None:
    """`apply` to the id of every thread of this process (Linux), skipping threads that end
    meanwhile: what a process sets for its calling thread alone, it sets for all this way."""
    for thread in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):
            apply(int(thread))


def worker_main(
    database: str, jax_cache_dir: str, poll_interval: float, parent_pid: int, stop: Event
) -> None:
    """A worker's whole life: start JAX once, then claim and compute runs until told to stop.

    No database error ends it: a write the database refuses (locked by another process for
    longer than the busy timeout, read-only, full) is retried with backoff until it is taken, so
    runs go on when the database recovers and a computed result is never dropped."""
    die_with_parent()
    yield_cpu()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server, which stops us
    enable_compilation_cache(Path(jax_cache_dir))

    def stopping() -> bool:
        return stop.is_set() or os.getppid() != parent_pid

    store = RunStore(Path(database), busy_timeout=BUSY_TIMEOUT)
    device = "gpu" if jax.default_backend() in ("gpu", "cuda", "rocm") else "cpu"
    _until_written(lambda: store.register_worker(os.getpid(), device), stopping)
    idle = poll_interval
    while not stopping():
        try:
            claim = store.claim(os.getpid())
        except sqlite3.Error:
            log.warning("the worker could not claim a run; retrying in %.1f s", idle, exc_info=True)
            stop.wait(idle)
            idle = min(2 * idle, MAX_BACKOFF)
            continue
        idle = poll_interval
        if claim is None:
            stop.wait(poll_interval)
            continue
        _compute(store, claim, stopping)
    store.close()


class Outcome(NamedTuple):
    """How a computation ended: completed (with the response's JSON), failed (with the reason) or
    cancelled (its should_cancel said so)."""

    status: str
    error: str | None = None
    result: bytes | None = None


def run_progress(phase: str, done: int, total: int) -> float:
    """A run's progress in [0, 0.99] from core's phases: scenarios first, then the solves."""
    share = done / max(total, 1)
    if phase == "simulating":
        return min(SIMULATION_SHARE * share, 0.99)
    return min(SIMULATION_SHARE + (1 - SIMULATION_SHARE) * share, 0.99)


def compute(
    run_id: str,
    request: bytes,
    seed: int,
    progress: Callable[[str, int, int], None],
    should_cancel: Callable[[], bool],
) -> Outcome:
    """One run, from its stored request and seed to its outcome (both backends compute here)."""
    try:
        decoded = REQUEST_DECODER.decode(request)
        result = run_optimization(
            to_spec(decoded),
            seed=seed,
            progress=progress,
            should_cancel=should_cancel,
            contest=contest_settings(decoded),
        )
        return Outcome("completed", result=ENCODER.encode(response_for(run_id, decoded, result)))
    except Cancelled as error:
        return Outcome("cancelled", error=str(error))
    except AxiomError as error:
        return Outcome("failed", error=f"{_kind(error)}: {error}")
    except Exception:  # a bug: the run fails, the worker carries on, the log has the traceback
        log.exception("internal error computing run %s", run_id)
        return Outcome("failed", error="internal error; the server log has the details")


def _compute(store: RunStore, claim: Claim, stopping: Callable[[], bool]) -> None:
    last_write = 0.0

    def progress(phase: str, done: int, total: int) -> None:
        nonlocal last_write
        if time.monotonic() - last_write >= PROGRESS_INTERVAL:
            last_write = time.monotonic()
            with contextlib.suppress(sqlite3.Error):  # progress is a courtesy; the result is not
                store.report_progress(claim, run_progress(phase, done, total))

    def cancel_requested() -> bool:
        try:
            return store.cancel_requested(claim.run_id)
        except sqlite3.Error:
            return False  # ask again at the next chunk

    outcome = compute(
        claim.run_id, claim.request, claim.seed, progress, lambda: stopping() or cancel_requested()
    )
    if outcome.status == "cancelled" and not cancel_requested():
        _until_written(lambda: store.requeue(claim), stopping)  # the server is stopping: back to the queue
        return
    _until_written(
        lambda: store.finish(claim, outcome.status, error=outcome.error, result=outcome.result), stopping
    )


def _until_written(write: Callable[[], object], stopping: Callable[[], bool]) -> bool:
    """Run a database write until it is taken (True), or until the worker must stop (False: the
    run is still `running`, and the next server start requeues it)."""
    delay = 0.05
    while True:
        try:
            write()
            return True
        except sqlite3.Error:
            if stopping():
                return False
            log.warning("the database refused a write; retrying in %.1f s", delay, exc_info=True)
            time.sleep(delay)
            delay = min(2 * delay, MAX_BACKOFF)


def _kind(error: AxiomError) -> str:
    """The kind of a core error in words (Infeasible -> "infeasible", SolverFailed -> "solver
    failed"), for a client who should not see Python's class names."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", type(error).__name__).lower()


def die_with_parent() -> None:
    """On Linux, have the kernel kill this worker when the server process dies (even by SIGKILL)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass  # the parent-pid check in the loop still ends an orphaned worker
