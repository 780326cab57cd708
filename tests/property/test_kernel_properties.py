"""Properties of the scenario kernel over random fields (docs/race-model.md: draws, random numbers, axioms).

Every distinct (field size, archetype) pair is a new compilation of seconds, so most tests draw
fields in four shapes, one per archetype (and one test draws a few from every size 6..50):
6 drivers (the minimum) at a superspeedway, where all-DNF races happen; 12 at a short track (the
shape the unit tests share); 33 (past the kernel's first 32-bit mask word) on a road course; 50
(the maximum) at an intermediate. Everything else is random.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from core.run import run_simulation
from core.scoring import DRAFTKINGS_SCORING, FANDUEL_SCORING, fantasy_points
from core.sim import (
    DEFAULT_PARAMS,
    LapsLedConditions,
    ScenarioSet,
    driver_inputs,
    generate_scenarios,
    simulate_chunk,
)
from core.slate import Driver, Track
from core.spec import ConstraintSpec

FIELD_SHAPES = ((6, "superspeedway"), (12, "short"), (33, "road"), (50, "intermediate"))
ANY_SHAPE = tuple((n, archetype) for n in range(6, 51) for archetype in DEFAULT_PARAMS)
CHUNK = 256
N_SCENARIOS = 300  # two chunks of 256: the second is cut short
ARRAYS = (
    "points", "finish_position", "laps_led", "fastest_laps", "laps_completed", "dnf",
    "regime", "cautions", "green_laps",
)  # fmt: skip


class RaceCase(NamedTuple):
    drivers: list[Driver]
    archetype: str
    race_length: int
    seed: int


@st.composite
def race_cases(draw: st.DrawFn, shapes: tuple[tuple[int, str], ...] = FIELD_SHAPES) -> RaceCase:
    n, archetype = draw(st.sampled_from(shapes))
    unit = st.floats(0.0, 1.0)
    inputs = draw(st.lists(st.tuples(unit, unit, unit), min_size=n, max_size=n))
    starts = draw(st.permutations(range(1, n + 1)))
    drivers = [Driver(f"d{i:02d}", f"Driver {i}", 5_000 + 100 * i, starts[i], *inputs[i]) for i in range(n)]
    return RaceCase(
        drivers=drivers,
        archetype=archetype,
        race_length=draw(st.integers(50, 500)),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def simulate(
    case: RaceCase,
    *,
    n_scenarios: int = N_SCENARIOS,
    seed: int | None = None,
    conditions: LapsLedConditions | None = None,
    fastest_lap_share: float = 1.0,
) -> ScenarioSet:
    params = dataclasses.replace(DEFAULT_PARAMS[case.archetype], fastest_lap_share=fastest_lap_share)
    return generate_scenarios(
        driver_inputs(case.drivers, params, use_ratings=False),
        params,
        key=jax.random.key(case.seed if seed is None else seed),
        n_scenarios=n_scenarios,
        race_length=case.race_length,
        scoring=DRAFTKINGS_SCORING,
        driver_ids=[d.driver_id for d in case.drivers],
        conditions=conditions,
        chunk_size=CHUNK,
    )


def assert_axioms_hold(s: ScenarioSet, fastest_lap_share: float = 1.0) -> None:
    """An independent NumPy re-check of every axiom (docs/race-model.md, "Axioms")."""
    finish = s.finish_position.astype(np.int64)
    led = s.laps_led.astype(np.int64)
    fastest = s.fastest_laps.astype(np.int64)
    completed = s.laps_completed.astype(np.int64)
    green = s.green_laps.astype(np.int64)
    n_scenarios, n_drivers = finish.shape
    length = s.race_length

    permutation = np.broadcast_to(np.arange(1, n_drivers + 1), (n_scenarios, n_drivers))
    np.testing.assert_array_equal(np.sort(finish, axis=1), permutation)
    np.testing.assert_array_equal(led.sum(axis=1), length)
    assert (led >= 0).all() and (fastest >= 0).all()
    assert (led <= completed).all() and (fastest <= completed).all()
    assert (completed <= length).all()
    assert (completed[s.dnf] < length).all(), "a DNF car completed the whole race"
    assert ((green >= length - length // 2) & (green <= length)).all()
    counted = np.floor(green.astype(np.float32) * np.float32(fastest_lap_share) + np.float32(0.5)).astype(
        np.int64
    )
    np.testing.assert_array_equal(fastest.sum(axis=1), counted)

    last_running = np.where(s.dnf, 0, finish).max(axis=1)
    first_retired = np.where(s.dnf, finish, n_drivers + 1).min(axis=1)
    assert (last_running < first_retired).all(), "a DNF finished ahead of a running car"
    # Retired cars are ordered by exit lap: a later exit is never classified behind an earlier one.
    for row in np.flatnonzero(s.dnf.sum(axis=1) >= 2):
        out = np.flatnonzero(s.dnf[row])
        by_finish = out[np.argsort(finish[row, out])]
        assert (np.diff(completed[row, by_finish]) <= 0).all()

    winner = finish == 1
    assert (~s.dnf[winner]).all()
    np.testing.assert_array_equal(completed[winner], length)
    assert (led[winner] >= 1).all()


@settings(max_examples=10)
@given(case=race_cases())
def test_every_axiom_holds_in_kernel_and_in_numpy_recheck(case: RaceCase) -> None:
    params = DEFAULT_PARAMS[case.archetype]
    inputs = driver_inputs(case.drivers, params, use_ratings=False)
    key = jax.random.key(case.seed)
    raw = simulate_chunk(
        inputs, params, jnp.int32(case.race_length), jnp.arange(CHUNK, dtype=jnp.uint32),
        key=key, scoring=DRAFTKINGS_SCORING,
    )  # fmt: skip
    assert int(np.count_nonzero(np.asarray(raw.violations))) == 0

    s = simulate(case)
    assert s.points.shape == (N_SCENARIOS, len(case.drivers))
    assert s.diagnostics.axiom_violations == 0
    # The set's first chunk is exactly the raw kernel output (scenario k = fold_in(key, k)).
    np.testing.assert_array_equal(s.finish_position[:CHUNK], np.asarray(raw.finish_position))
    np.testing.assert_array_equal(s.laps_led[:CHUNK], np.asarray(raw.laps_led))
    assert_axioms_hold(s)
    assert set(np.unique(s.regime)) <= {0, 1, 2, 3}

    expected = fantasy_points(
        DRAFTKINGS_SCORING,
        finish_position=s.finish_position.astype(np.int64),
        start_position=s.start_position.astype(np.int64)[None, :],
        laps_led=s.laps_led.astype(np.int64),
        fastest_laps=s.fastest_laps.astype(np.int64),
        laps_completed=s.laps_completed.astype(np.int64),
    )
    np.testing.assert_allclose(s.points, expected, rtol=0, atol=1e-4)


def _bounds(case: RaceCase, data: st.DataObject, reference: ScenarioSet) -> LapsLedConditions:
    """One or two laps-led conditions, each holding in at least ~30% of unconditioned scenarios."""
    n, length = len(case.drivers), case.race_length
    lower, upper = np.zeros(n, np.int32), np.full(n, length, np.int32)
    chosen = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=2, unique=True), label="drivers")
    for i in chosen:
        q = data.draw(st.floats(0.3, 0.8), label="quantile")
        led = reference.laps_led[:, i]
        if data.draw(st.booleans(), label="use max"):
            upper[i] = int(np.floor(np.quantile(led, q)))
        else:
            lower[i] = int(np.ceil(np.quantile(led, 1.0 - q)))
    # Each bound alone holds often; two min bounds on rival dominators may never hold together.
    joint = ((reference.laps_led >= lower) & (reference.laps_led <= upper)).all(axis=1).mean()
    assume(joint >= 0.02)
    return LapsLedConditions(min_laps_led=lower, max_laps_led=upper)


@settings(max_examples=4)
@given(case=race_cases(shapes=ANY_SHAPE))
def test_axioms_hold_for_any_field_size_and_archetype(case: RaceCase) -> None:
    """Few examples (each new shape compiles), but drawn from every size 6..50 and archetype."""
    s = simulate(case)
    assert s.diagnostics.axiom_violations == 0
    assert_axioms_hold(s)


@settings(max_examples=4)
@given(case=race_cases(), share=st.floats(0.85, 1.0))
def test_fastest_laps_sum_to_the_counted_share_of_green_laps(case: RaceCase, share: float) -> None:
    s = simulate(case, fastest_lap_share=share)
    assert s.diagnostics.axiom_violations == 0
    assert_axioms_hold(s, fastest_lap_share=share)
    assert s.fastest_laps.sum() <= s.green_laps.sum()


@settings(max_examples=8)
@given(case=race_cases(), data=st.data())
def test_conditions_hold_and_rejections_are_counted(case: RaceCase, data: st.DataObject) -> None:
    conditions = _bounds(case, data, simulate(case, n_scenarios=CHUNK))
    kept = simulate(case, conditions=conditions)
    assert kept.n_scenarios == N_SCENARIOS
    assert (kept.laps_led >= conditions.min_laps_led).all()
    assert (kept.laps_led <= conditions.max_laps_led).all()

    d = kept.diagnostics
    # Accepted scenarios are exactly the unconditioned ones that meet the conditions, in order.
    everything = simulate(case, n_scenarios=d.n_scenarios_generated)
    below = everything.laps_led < conditions.min_laps_led
    above = everything.laps_led > conditions.max_laps_led
    meets = ~(below | above).any(axis=1)
    assert meets[-1], "generation stopped after a rejected scenario"
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(kept, name), getattr(everything, name)[meets], err_msg=name)

    rejected = int((~meets).sum())
    event("some scenarios rejected" if rejected else "nothing rejected")
    assert d.n_scenarios_generated - d.n_valid == rejected
    assert d.rejection_rate == pytest.approx(rejected / d.n_scenarios_generated)
    assert bool(d.rejections_by_reason) == (rejected > 0)
    assert sum(d.rejections_by_reason.values()) >= rejected
    for i, driver in enumerate(case.drivers):
        if below[:, i].any():
            reason = f"min_laps_led >= {conditions.min_laps_led[i]} for {driver.driver_id}"
            assert d.rejections_by_reason[reason] == int(below[:, i].sum())
        if above[:, i].any():
            reason = f"max_laps_led <= {conditions.max_laps_led[i]} for {driver.driver_id}"
            assert d.rejections_by_reason[reason] == int(above[:, i].sum())


@settings(max_examples=6)
@given(case=race_cases())
def test_same_key_gives_bitwise_same_scenarios_and_another_key_differs(case: RaceCase) -> None:
    first, again = simulate(case), simulate(case)
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name), err_msg=name)
    assert first.diagnostics == again.diagnostics

    other = simulate(case, seed=(case.seed + 1) % 2**32)
    assert not np.array_equal(first.finish_position, other.finish_position)
    assert not np.array_equal(first.points, other.points)


@settings(max_examples=6)
@given(case=race_cases(shapes=((12, "short"),)), data=st.data())
def test_spec_canonicalises_driver_order_so_results_follow_driver_ids(
    case: RaceCase, data: st.DataObject
) -> None:
    track = Track("test-track", "Test Track", case.archetype, case.race_length)  # type: ignore[arg-type]
    order = data.draw(st.permutations(range(len(case.drivers))), label="order")
    shuffled = [case.drivers[i] for i in order]
    specs = [ConstraintSpec.compile(field, track, n_scenarios=CHUNK) for field in (case.drivers, shuffled)]
    results = [run_simulation(spec, seed=case.seed, chunk_size=CHUNK) for spec in specs]
    ids = sorted(d.driver_id for d in case.drivers)
    by_id = {d.driver_id: d for d in case.drivers}
    for result in results:
        assert result.scenarios.driver_ids == tuple(ids)
        np.testing.assert_array_equal(result.scenarios.start_position, [by_id[i].start_position for i in ids])
    assert results[0].run_config.spec_hash == results[1].run_config.spec_hash
    for name in ARRAYS:
        np.testing.assert_array_equal(
            getattr(results[0].scenarios, name), getattr(results[1].scenarios, name), err_msg=name
        )


def _mean_and_se(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return values.mean(axis=0), values.std(axis=0, ddof=1) / np.sqrt(values.shape[0])


def test_kernel_is_permutation_equivariant_in_distribution(field_factory) -> None:
    """Random numbers are drawn per driver slot, so a permuted field gives other draws; the
    per-driver distribution must still follow the driver (means within 4.5 standard errors)."""
    drivers = field_factory(12, seed=5)
    perm = np.random.default_rng(5).permutation(12)
    case = RaceCase(drivers, "short", 200, seed=11)
    base = simulate(case, n_scenarios=2_000)
    permuted = simulate(case._replace(drivers=[drivers[i] for i in perm]), n_scenarios=2_000, seed=12)
    assert permuted.driver_ids == tuple(drivers[i].driver_id for i in perm)
    for name in ("finish_position", "laps_led", "points"):
        mean, se = _mean_and_se(getattr(base, name).astype(np.float64))
        mean_p, se_p = _mean_and_se(getattr(permuted, name).astype(np.float64))
        z = (mean[perm] - mean_p) / np.sqrt(se[perm] ** 2 + se_p**2 + 1e-12)
        assert np.abs(z).max() < 4.5, (name, z)
    # The test has power: the field is not exchangeable, so a mislabelled output would show.
    spread = base.finish_position.mean(axis=0)
    assert spread.max() - spread.min() > 3.0


def test_fanduel_points_count_laps_completed(field12: list[Driver], short_track: Track) -> None:
    spec = ConstraintSpec.compile(field12, short_track, site="fanduel", n_scenarios=CHUNK)
    s = run_simulation(spec, seed=4, chunk_size=CHUNK).scenarios
    assert_axioms_hold(s)
    expected = fantasy_points(
        FANDUEL_SCORING,
        finish_position=s.finish_position.astype(np.int64),
        start_position=s.start_position.astype(np.int64)[None, :],
        laps_led=s.laps_led.astype(np.int64),
        laps_completed=s.laps_completed.astype(np.int64),
    )
    np.testing.assert_allclose(s.points, expected, rtol=0, atol=1e-4)
    assert s.points.max() > 43.0  # the win alone is 43: laps led and completed must add on top
