"""Worker processes: claim queued runs from the database and compute them with core.run.

A worker is started with multiprocessing's "spawn" method and lives as long as its server: it
imports JAX once, keeps compiled kernels in memory (and in the persistent compilation cache),
and exits when the server asks it to or when the server process is gone.

Also here: the two translations every run needs, request -> ConstraintSpec (used by the server
to validate a submission, and by the worker to run it) and OptimizationResult -> response.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import TYPE_CHECKING

from core.calibration.params import backtest_scores
from core.errors import AxiomError, Cancelled
from core.slate import Driver, get_track
from core.spec import ConstraintSpec, LapsLed, LineupSettings

from .contracts import (
    ENCODER,
    REQUEST_DECODER,
    DriverSelection,
    Lineup,
    OptimizeRequest,
    OptimizeResponse,
    ScenarioDiagnostics,
)

if TYPE_CHECKING:
    from core.run import OptimizationResult

    from .jobs import Claim, RunStore

SIMULATION_SHARE = 0.9  # of a run's progress; the lineup solves take the rest
PROGRESS_INTERVAL = 0.1  # seconds between progress writes
WORKER_NICENESS = 10  # computing yields the CPU to the server's event loop: polls stay fast


def to_spec(request: OptimizeRequest) -> ConstraintSpec:
    """The run's ConstraintSpec. Raises InvalidInput naming the field."""
    config = request.scenario_config
    drivers = [
        Driver(d.driver_id, d.name, d.salary, d.start_position, d.skill, d.aggression, d.shadow_risk)
        for d in request.drivers
    ]
    conditions = {
        d.driver_id: LapsLed(min_laps_led=d.min_laps_led, max_laps_led=d.max_laps_led)
        for d in request.drivers
        if d.min_laps_led > 0 or d.max_laps_led is not None
    }
    settings = LineupSettings(
        objective=request.objective,
        n_lineups=request.n_lineups,
        salary_cap=request.salary_cap,
        locks=tuple(d.driver_id for d in request.drivers if d.locked),
        excludes=tuple(d.driver_id for d in request.drivers if d.excluded),
        max_overlap=request.max_overlap,
        min_exposure={d.driver_id: d.min_exposure for d in request.drivers if d.min_exposure is not None},
        max_exposure={d.driver_id: d.max_exposure for d in request.drivers if d.max_exposure is not None},
        target=request.target_score,
    )
    return ConstraintSpec.compile(
        drivers,
        get_track(config.track_id),
        site=request.site,
        n_scenarios=config.n_scenarios,
        race_length=config.race_length,
        calibration_enabled=config.calibration_enabled,
        conditions=conditions,
        lineups=settings,
    )


def to_response(run_id: str, request: OptimizeRequest, result: OptimizationResult) -> OptimizeResponse:
    """The response of a completed run. Within a lineup, drivers are in slot order: salary
    descending, then driver_id; `position` is that slot (1-based)."""
    drivers = result.spec.drivers
    mean_points = result.scenarios.points.mean(axis=0, dtype="float64")
    lineups = []
    for stats in result.portfolio.lineups:
        slots = sorted(stats.drivers, key=lambda i: (-drivers[i].salary, drivers[i].driver_id))
        lineups.append(
            Lineup(
                drivers=[
                    DriverSelection(
                        driver_id=drivers[i].driver_id,
                        name=drivers[i].name,
                        salary=drivers[i].salary,
                        projected_points=float(mean_points[i]),
                        position=slot,
                    )
                    for slot, i in enumerate(slots, start=1)
                ],
                total_projected_points=stats.mean,
                total_salary=stats.salary,
                std=stats.std,
                p10=stats.p10,
                p50=stats.p50,
                p90=stats.p90,
                p99=stats.p99,
                p_beat_target=stats.p_beat_target,
            )
        )
    d = result.scenarios.diagnostics
    diagnostics = ScenarioDiagnostics(
        n_scenarios_generated=d.n_scenarios_generated,
        n_valid=d.n_valid,
        rejection_rate=d.rejection_rate,
        rejections_by_reason=dict(d.rejections_by_reason),
        avg_laps_led=d.avg_laps_led,
        avg_position_differential=d.avg_position_differential,
        regime_shares=dict(d.regime_shares),
        calibration_metrics=backtest_scores(
            result.spec.scenarios.params_version, result.spec.track.archetype
        ),
    )
    best = lineups[0]
    return OptimizeResponse(
        run_id=run_id,
        status="completed",
        lineup=best,
        lineups=lineups,
        total_projected_points=best.total_projected_points,
        total_salary=best.total_salary,
        site=request.site,
        objective=request.objective,
        target_score=result.portfolio.target,
        scenario_diagnostics=diagnostics,
        constraint_spec_hash=result.spec.hash,
        run_config=result.run_config,
    )


def worker_main(
    database: str, jax_cache_dir: str, poll_interval: float, parent_pid: int, stop: Event
) -> None:
    """A worker's whole life: start JAX once, then claim and compute runs until told to stop."""
    _die_with_parent()
    os.nice(WORKER_NICENESS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server, which stops us
    import jax

    jax.config.update("jax_compilation_cache_dir", jax_cache_dir)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    from .jobs import RunStore

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


def _compute(store: RunStore, claim: Claim, stopping: object) -> None:
    from core.run import run_optimization

    assert callable(stopping)
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
        return bool(stopping()) or store.cancel_requested(claim.run_id)

    try:
        request = REQUEST_DECODER.decode(claim.request)
        result = run_optimization(
            to_spec(request), seed=claim.seed, progress=progress, should_cancel=should_cancel
        )
        response = to_response(claim.run_id, request, result)
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
