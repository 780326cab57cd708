"""Chunked scenario generation: bounded memory, conditions by rejection, progress, cancellation.

Scenario k is always drawn from fold_in(key, k) and accepted scenarios are kept in index order,
so the result is bitwise the same for any chunk size or number of devices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import cast

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ..errors import AxiomViolation, Cancelled, Infeasible, InvalidInput
from ..progress import Progress, ShouldCancel
from ..scoring import ScoringRules
from ..slate import check_race_length
from ._kernel import AXIOMS, Race, simulate_chunk, sub_batch_for
from ._params import REGIMES, ArchetypeParams, DriverInputs
from ._types import Key

DEFAULT_CHUNK_SIZE = 65_536
MIN_CHUNK_SIZE = 256
DEFAULT_MIN_ACCEPTANCE = 0.001


@dataclass(frozen=True, slots=True)
class LapsLedConditions:
    """Per-driver bounds on laps led; a scenario is kept only if every bound holds."""

    min_laps_led: np.ndarray
    max_laps_led: np.ndarray

    @classmethod
    def none(cls, n_drivers: int, race_length: int) -> LapsLedConditions:
        return cls(np.zeros(n_drivers, np.int32), np.full(n_drivers, race_length, np.int32))

    def active(self, race_length: int) -> bool:
        return bool(np.any(self.min_laps_led > 0) or np.any(self.max_laps_led < race_length))


@dataclass(frozen=True, slots=True)
class Diagnostics:
    """How the scenarios were made and what they look like in aggregate."""

    n_scenarios_generated: int
    n_valid: int
    rejection_rate: float
    rejections_by_reason: dict[str, int]
    avg_laps_led: float  # laps led by each scenario's lap leader (most laps led), averaged
    avg_leaders: float  # drivers leading at least one lap
    avg_position_differential: float  # mean |start - finish| over drivers and scenarios
    avg_cautions: float
    dnf_rate: float
    regime_shares: dict[str, float]
    axiom_violations: int  # always 0 in a returned set: a violation raises AxiomViolation


@dataclass(frozen=True, slots=True)
class ScenarioSet:
    """Accepted scenarios as host arrays (scenarios x drivers, drivers in input order)."""

    driver_ids: tuple[str, ...]
    start_position: np.ndarray
    race_length: int
    points: np.ndarray
    finish_position: np.ndarray
    laps_led: np.ndarray
    fastest_laps: np.ndarray
    laps_completed: np.ndarray
    dnf: np.ndarray
    regime: np.ndarray
    cautions: np.ndarray
    green_laps: np.ndarray
    diagnostics: Diagnostics = field(repr=False)

    @property
    def n_scenarios(self) -> int:
        return int(self.points.shape[0])


_PER_DRIVER = ("points", "finish_position", "laps_led", "fastest_laps", "laps_completed", "dnf")
_PER_RACE = ("regime", "cautions", "green_laps")
_SUMMARIES = ("lap_leader_laps", "position_change")  # per-race sums for the diagnostics


def generate_scenarios(
    drivers: DriverInputs,
    params: ArchetypeParams,
    *,
    key: Key,
    n_scenarios: int,
    race_length: int,
    scoring: ScoringRules,
    driver_ids: Sequence[str],
    conditions: LapsLedConditions | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    min_acceptance: float = DEFAULT_MIN_ACCEPTANCE,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
) -> ScenarioSet:
    """Draw scenarios until n_scenarios satisfy the conditions.

    Raises:
        InvalidInput: bad counts or shapes.
        Infeasible: the first chunk accepts fewer than min_acceptance of its scenarios; the
            message names the condition that is hardest to meet.
        Cancelled: should_cancel() returned True between chunks.
        AxiomViolation: a scenario broke a conservation law (a kernel bug).
    """
    n_drivers = len(driver_ids)
    check_race_length(race_length)
    if n_scenarios < 1:
        raise InvalidInput("n_scenarios", f"must be at least 1, got {n_scenarios}")
    if chunk_size < MIN_CHUNK_SIZE:
        raise InvalidInput("chunk_size", f"must be at least {MIN_CHUNK_SIZE}, got {chunk_size}")
    conditions = conditions or LapsLedConditions.none(n_drivers, race_length)
    filtering = conditions.active(race_length)
    size = _chunk_size(n_scenarios, chunk_size, filtering, min_acceptance)
    run_chunk = partial(_dispatch, drivers, params, race_length, scoring, key, size=size)
    out = _allocate(n_scenarios, n_drivers)
    rejections: dict[str, int] = {}
    start = np.asarray(drivers.start_position, np.int16)
    totals = _Totals(n_drivers)
    n_valid = next_index = 0
    pending: Race | None = run_chunk(0)
    while n_valid < n_scenarios:
        if should_cancel is not None and should_cancel():
            raise Cancelled(f"cancelled after {n_valid} of {n_scenarios} scenarios")
        current, pending = cast(Race, pending), None
        if not filtering and next_index + size < n_scenarios:
            pending = run_chunk(next_index + size)  # computes while this chunk is copied out
        race = _to_host(current, next_index)
        valid, broken = _accept(race, conditions, filtering)
        if next_index == 0 and filtering:
            _check_acceptance(valid, broken, driver_ids, conditions, min_acceptance)
        kept = (
            np.flatnonzero(valid)[: n_scenarios - n_valid] if filtering else slice(0, n_scenarios - n_valid)
        )
        n_kept = len(race["points"][kept])
        examined = size if n_valid + n_kept < n_scenarios else _last(kept, n_kept) + 1
        _count_rejections(rejections, broken, examined, driver_ids, conditions)
        rows = {}
        for name in (*_PER_DRIVER, *_PER_RACE):
            rows[name] = out[name][n_valid : n_valid + n_kept]
            rows[name][...] = race[name][kept]
        totals.add(rows, {name: race[name][kept] for name in _SUMMARIES})
        n_valid += n_kept
        next_index += examined
        if next_index > n_scenarios / min_acceptance:
            raise Infeasible(f"conditions accepted only {n_valid} of {next_index} scenarios")
        if progress is not None:
            progress(n_valid, n_scenarios)
        if pending is None and n_valid < n_scenarios:
            pending = run_chunk(next_index)
    diagnostics = totals.diagnostics(n_scenarios, next_index, rejections)
    return ScenarioSet(tuple(driver_ids), start, race_length, diagnostics=diagnostics, **out)


def _allocate(n_scenarios: int, n_drivers: int) -> dict[str, np.ndarray]:
    dtypes = {
        "points": np.float32, "finish_position": np.int8, "laps_led": np.int16,
        "fastest_laps": np.int16, "laps_completed": np.int16, "dnf": np.bool_,
    }  # fmt: skip
    shape = (n_scenarios, n_drivers)
    out: dict[str, np.ndarray] = {name: np.empty(shape, dtype) for name, dtype in dtypes.items()}
    out |= {"regime": np.empty(n_scenarios, np.int8), "cautions": np.empty(n_scenarios, np.int16)}
    out["green_laps"] = np.empty(n_scenarios, np.int16)
    return out


def _chunk_size(n_scenarios: int, chunk_size: int, filtering: bool, min_acceptance: float) -> int:
    """One chunk shape per run (one compilation): the whole run when it fits in a chunk, rounded
    up to a power of two so that nearby counts share a shape. With conditions, enough scenarios
    to measure the acceptance rate against min_acceptance in the first chunk."""
    wanted = max(2 * n_scenarios, math.ceil(4 / min_acceptance)) if filtering else n_scenarios
    if wanted >= chunk_size:
        return chunk_size
    return max(MIN_CHUNK_SIZE, 1 << (wanted - 1).bit_length())


def _last(kept: np.ndarray | slice, n_kept: int) -> int:
    return int(kept[-1]) if isinstance(kept, np.ndarray) else n_kept - 1


def _dispatch(
    drivers: DriverInputs,
    params: ArchetypeParams,
    race_length: int,
    scoring: ScoringRules,
    key: Key,
    first_index: int,
    *,
    size: int,
) -> Race:
    """Start a chunk on the device(s) and return at once (JAX dispatches asynchronously)."""
    index = jnp.arange(first_index, first_index + size, dtype=jnp.uint32)
    devices = jax.devices()
    if len(devices) > 1 and size % len(devices) == 0:
        mesh = Mesh(np.asarray(devices), ("scenarios",))
        spec = PartitionSpec("scenarios")  # type: ignore[no-untyped-call]
        index = jax.device_put(index, NamedSharding(mesh, spec))
    chunk = simulate_chunk(
        drivers, params, jnp.int32(race_length), index, key=key, scoring=scoring,
        sub_batch=sub_batch_for(devices),
    )  # fmt: skip
    # Queue the copies to host memory now: on a GPU they run as soon as the chunk is computed,
    # while the host is still filling in the previous one (on a CPU there is nothing to copy).
    jax.copy_to_host_async(chunk)  # type: ignore[no-untyped-call]
    return cast(Race, chunk)


def _to_host(race: Race, first_index: int) -> dict[str, np.ndarray]:
    host = {name: np.asarray(value) for name, value in race._asdict().items()}
    if np.any(host["violations"]):
        broken = [name for bit, name in enumerate(AXIOMS) if np.any(host["violations"] & (1 << bit))]
        last = first_index + len(host["violations"]) - 1
        raise AxiomViolation(f"scenarios {first_index}..{last} broke {broken}")
    return host


def _accept(
    race: dict[str, np.ndarray], conditions: LapsLedConditions, filtering: bool
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    laps_led = race["laps_led"]
    if not filtering:
        return np.ones(laps_led.shape[0], bool), None
    below = laps_led < conditions.min_laps_led
    above = laps_led > conditions.max_laps_led
    valid = np.logical_not(below.any(axis=1) | above.any(axis=1))
    return np.asarray(valid), (below, above)


def _condition_names(driver_ids: Sequence[str], conditions: LapsLedConditions) -> list[str]:
    lower = zip(driver_ids, conditions.min_laps_led, strict=True)
    upper = zip(driver_ids, conditions.max_laps_led, strict=True)
    return [f"min_laps_led >= {m} for {d}" for d, m in lower] + [
        f"max_laps_led <= {m} for {d}" for d, m in upper
    ]


def _count_rejections(
    rejections: dict[str, int],
    broken: tuple[np.ndarray, np.ndarray] | None,
    examined: int,
    driver_ids: Sequence[str],
    conditions: LapsLedConditions,
) -> None:
    if broken is None:
        return
    counts = np.concatenate([b[:examined].sum(axis=0) for b in broken])
    for name, count in zip(_condition_names(driver_ids, conditions), counts, strict=True):
        if count:
            rejections[name] = rejections.get(name, 0) + int(count)


def _check_acceptance(
    valid: np.ndarray,
    broken: tuple[np.ndarray, np.ndarray] | None,
    driver_ids: Sequence[str],
    conditions: LapsLedConditions,
    min_acceptance: float,
) -> None:
    rate = float(valid.mean())
    if rate >= min_acceptance or broken is None:
        return
    held = 1.0 - np.concatenate([b.mean(axis=0) for b in broken])
    hardest = int(np.argmin(held))
    name = _condition_names(driver_ids, conditions)[hardest]
    raise Infeasible(
        f"condition '{name}' holds in {held[hardest]:.3%} of scenarios; all conditions together "
        f"hold in {rate:.3%} of {valid.size}, below the minimum acceptance rate {min_acceptance:.3%}"
    )


@dataclass(slots=True)
class _Totals:
    """Integer sums behind the diagnostics, taken chunk by chunk while the rows are in cache."""

    n_drivers: int
    lap_leader_laps: int = 0
    leaders: int = 0
    position_change: int = 0
    cautions: int = 0
    dnfs: int = 0
    regimes: np.ndarray = field(default_factory=lambda: np.zeros(len(REGIMES), np.int64))

    def add(self, rows: dict[str, np.ndarray], summaries: dict[str, np.ndarray]) -> None:
        self.lap_leader_laps += int(summaries["lap_leader_laps"].sum(dtype=np.int64))
        self.leaders += int(np.count_nonzero(rows["laps_led"]))
        self.position_change += int(summaries["position_change"].sum(dtype=np.int64))
        self.cautions += int(rows["cautions"].sum(dtype=np.int64))
        self.dnfs += int(np.count_nonzero(rows["dnf"]))
        self.regimes += np.bincount(rows["regime"].astype(np.int64), minlength=len(REGIMES))

    def diagnostics(self, n: int, generated: int, rejections: dict[str, int]) -> Diagnostics:
        cells = n * self.n_drivers
        return Diagnostics(
            n_scenarios_generated=generated,
            n_valid=n,
            rejection_rate=1.0 - n / generated,
            rejections_by_reason=dict(sorted(rejections.items(), key=lambda kv: -kv[1])),
            avg_laps_led=self.lap_leader_laps / n,
            avg_leaders=self.leaders / n,
            avg_position_differential=self.position_change / cells,
            avg_cautions=self.cautions / n,
            dnf_rate=self.dnfs / cells,
            regime_shares={name: int(k) / n for name, k in zip(REGIMES, self.regimes, strict=True)},
            axiom_violations=0,
        )
