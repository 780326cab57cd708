"""Chunk size changes memory use, never results: scenario k always comes from fold_in(key, k)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from core.errors import Cancelled
from core.run import SimulationResult, run_simulation
from core.scoring import DRAFTKINGS_SCORING
from core.sim import DEFAULT_PARAMS, driver_inputs, simulate_chunk
from core.slate import Driver, Track
from core.spec import ConstraintSpec, LapsLed

N_SCENARIOS = 600
CHUNK_SIZES = (256, 1024, 65_536)
SCENARIO_ARRAYS = (
    "start_position", "points", "finish_position", "laps_led", "fastest_laps", "laps_completed",
    "dnf", "regime", "cautions", "green_laps",
)  # fmt: skip


def strongest(drivers: list[Driver]) -> str:
    return max(drivers, key=lambda d: d.skill).driver_id


def compile_spec(drivers: list[Driver], track: Track, *, conditioned: bool) -> ConstraintSpec:
    # The strongest car leading at most 5 laps rejects most scenarios: several chunks of 256.
    conditions = {strongest(drivers): LapsLed(max_laps_led=5)} if conditioned else None
    return ConstraintSpec.compile(drivers, track, n_scenarios=N_SCENARIOS, conditions=conditions)


@pytest.mark.parametrize("conditioned", [False, True], ids=["plain", "laps-led-condition"])
def test_results_are_bitwise_identical_for_any_chunk_size(
    field12: list[Driver], short_track: Track, conditioned: bool
) -> None:
    spec = compile_spec(field12, short_track, conditioned=conditioned)
    runs = [run_simulation(spec, seed=99, chunk_size=size).scenarios for size in CHUNK_SIZES]
    if conditioned:
        assert runs[0].diagnostics.n_scenarios_generated > 2 * 256  # the small chunks really looped
    for other in runs[1:]:
        for name in SCENARIO_ARRAYS:
            np.testing.assert_array_equal(getattr(runs[0], name), getattr(other, name), err_msg=name)
        assert dataclasses.asdict(runs[0].diagnostics) == dataclasses.asdict(other.diagnostics)


@pytest.mark.parametrize("sub_batch", [4096, 3000], ids=["divides", "with-remainder"])
def test_sub_batches_change_no_bit(field12: list[Driver], sub_batch: int) -> None:
    """The CPU path vmaps sub-batches in a loop; every scenario must come out exactly as from one
    wide vmap, including a last sub-batch shorter than the others."""
    params = DEFAULT_PARAMS["short"]
    inputs = driver_inputs(field12, params, use_ratings=False)
    index = jnp.arange(8192, dtype=jnp.uint32)

    def chunk(sub: int | None) -> list[np.ndarray]:
        race = simulate_chunk(
            inputs, params, jnp.int32(200), index, key=jax.random.key(5), scoring=DRAFTKINGS_SCORING,
            sub_batch=sub,
        )  # fmt: skip
        return [np.asarray(value) for value in race]

    for whole, looped in zip(chunk(None), chunk(sub_batch), strict=True):
        np.testing.assert_array_equal(whole, looped)


def test_progress_counts_rise_to_the_scenarios_wanted(field12: list[Driver], short_track: Track) -> None:
    calls: list[tuple[int, int]] = []
    spec = compile_spec(field12, short_track, conditioned=True)
    run_simulation(spec, seed=1, chunk_size=256, progress=lambda done, total: calls.append((done, total)))
    done = [d for d, _ in calls]
    assert len(calls) >= 2
    assert all(total == N_SCENARIOS for _, total in calls)
    assert done == sorted(done)
    assert done[-1] == N_SCENARIOS


def test_cancel_before_the_first_chunk_raises_cancelled(field12: list[Driver], short_track: Track) -> None:
    calls: list[tuple[int, int]] = []
    spec = compile_spec(field12, short_track, conditioned=False)
    with pytest.raises(Cancelled):
        run_simulation(
            spec, seed=1, chunk_size=256, progress=lambda *a: calls.append(a), should_cancel=lambda: True
        )
    assert calls == []


def test_cancel_between_chunks_stops_after_the_chunks_done(field12: list[Driver], short_track: Track) -> None:
    calls: list[tuple[int, int]] = []
    asked = iter([False, True])
    spec = compile_spec(field12, short_track, conditioned=False)
    with pytest.raises(Cancelled, match="256 of 600"):
        run_simulation(
            spec,
            seed=1,
            chunk_size=256,
            progress=lambda *a: calls.append(a),
            should_cancel=lambda: next(asked),
        )
    assert calls == [(256, N_SCENARIOS)]


def test_result_carries_the_run_config(field12: list[Driver], short_track: Track) -> None:
    spec = compile_spec(field12, short_track, conditioned=False)
    result: SimulationResult = run_simulation(spec, seed=31, chunk_size=256)
    assert result.run_config.spec_hash == spec.hash
    assert result.run_config.seed == 31
    assert result.run_config.n_scenarios == result.scenarios.n_scenarios == N_SCENARIOS


@pytest.mark.parametrize("conditioned", [False, True], ids=["plain", "laps-led-condition"])
def test_diagnostics_describe_the_returned_scenarios(
    field12: list[Driver], short_track: Track, conditioned: bool
) -> None:
    """The kernel sums some diagnostics per race; over the kept scenarios (rejected ones left
    out) they must equal the same statistics computed from the returned arrays."""
    spec = compile_spec(field12, short_track, conditioned=conditioned)
    s = run_simulation(spec, seed=7, chunk_size=256).scenarios
    d = s.diagnostics
    assert d.avg_laps_led == pytest.approx(s.laps_led.max(axis=1).mean(), rel=1e-12)
    assert d.avg_leaders == pytest.approx(np.count_nonzero(s.laps_led, axis=1).mean(), rel=1e-12)
    change = np.abs(s.start_position.astype(int) - s.finish_position).mean()
    assert d.avg_position_differential == pytest.approx(change, rel=1e-12)
    assert d.avg_cautions == pytest.approx(s.cautions.mean(), rel=1e-12)
    assert d.dnf_rate == pytest.approx(s.dnf.mean(), rel=1e-12)
