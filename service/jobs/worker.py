"""A worker process: claims queued runs from the store and computes them with core.run.

A worker is started with multiprocessing's "spawn" method and lives as long as its server: it
imports JAX once, keeps compiled kernels in memory (and in the persistent compilation cache),
and exits when the server asks it to or when the server process is gone.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.synchronize import Event
from pathlib import Path

import jax

from core import AxiomError, Cancelled
from core.run import run_optimization

from ..contracts import ENCODER, REQUEST_DECODER
from ..mapping import response_for, to_spec
from ..settings import enable_compilation_cache
from .store import Claim, RunStore

SIMULATION_SHARE = 0.9  # of a run's progress; the lineup solves take the rest
PROGRESS_INTERVAL = 0.1  # seconds between progress writes
WORKER_NICENESS = 10  # computing yields the CPU to the server's event loop: polls stay fast


def worker_main(
    database: str, jax_cache_dir: str, poll_interval: float, parent_pid: int, stop: Event
) -> None:
    """A worker's whole life: start JAX once, then claim and compute runs until told to stop."""
    _die_with_parent()
    os.nice(WORKER_NICENESS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server, which stops us
    enable_compilation_cache(Path(jax_cache_dir))
    store = RunStore(Path(database))
    store.register_worker(os.getpid(), "gpu" if jax.default_backend() in ("gpu", "cuda", "rocm") else "cpu")

    def orphaned() -> bool:
        return os.getppid() != parent_pid

    while not stop.is_set() and not orphaned():
        claim = store.claim(os.getpid())
        if claim is None:
            stop.wait(poll_interval)
            continue
        _compute(store, claim, lambda: stop.is_set() or orphaned())
    store.close()


def _compute(store: RunStore, claim: Claim, stopping: Callable[[], bool]) -> None:
    last_write = 0.0

    def progress(phase: str, done: int, total: int) -> None:
        nonlocal last_write
        share = done / max(total, 1)
        value = (
            SIMULATION_SHARE * share
            if phase == "simulating"
            else SIMULATION_SHARE + (1 - SIMULATION_SHARE) * share
        )
        if time.monotonic() - last_write >= PROGRESS_INTERVAL:
            store.report_progress(claim, min(value, 0.99))
            last_write = time.monotonic()

    def should_cancel() -> bool:
        return stopping() or store.cancel_requested(claim.run_id)

    try:
        request = REQUEST_DECODER.decode(claim.request)
        result = run_optimization(
            to_spec(request), seed=claim.seed, progress=progress, should_cancel=should_cancel
        )
        response = response_for(claim.run_id, request, result)
        store.finish(claim, "completed", result=ENCODER.encode(response))
    except Cancelled as error:
        if store.cancel_requested(claim.run_id):
            store.finish(claim, "cancelled", error=str(error))
        else:  # the server is stopping: the run goes back to the queue
            store.requeue(claim)
    except AxiomError as error:
        store.finish(claim, "failed", error=f"{type(error).__name__}: {error}")
    except Exception as error:  # a bug: the run fails with the reason, the worker carries on
        store.finish(claim, "failed", error=f"internal error: {type(error).__name__}: {error}")


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this worker when the server process dies (even by SIGKILL)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass  # the parent-pid check in the loop still ends an orphaned worker
