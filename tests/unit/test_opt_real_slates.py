"""Both engines against an exhaustive scoring of every salary-feasible lineup, on real-size slates.

The slates are the shipped Bristol sample (37 drivers), the same drivers at Talladega (a
superspeedway: pack racing, wrecks, fat tails) and the 40-driver benchmark slate, each with 1,000
scenarios from the real kernel (calibrated, as the CLI and the service run it). Every roster of
six is listed by itertools and scored with NumPy, independently of core.opt; far above the
4,096 lineups at which the enumeration engine starts to shortlist by a normal approximation. A
salary floor (most real entries spend at least 48,000 of 50,000) keeps the exhaustive scoring of
the upside and floor portfolios to a few seconds; the single-lineup tests use the whole slate.
Upside is checked twice: with plain hits (smoothing 0) and with the default ramp (levels
floor(255 x clip((p - target) / h + 1/2, 0, 1)), see tests/opt_helpers.py).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pytest

from benchmarks.optimizer import forty_driver_field
from core.opt import DEFAULT_SMOOTHING, LineupRules, Portfolio, build_portfolio, compile_rules
from core.run import run_simulation
from core.sitefiles import load_slate
from core.slate import DRAFTKINGS, get_track, sample_slate_path
from core.spec import ConstraintSpec
from tests.opt_helpers import LEVELS, ramp_levels

N_SCENARIOS = 1_000
TAIL = 0.2
ROSTER = DRAFTKINGS.roster_size
MAX_OVERLAP = 4
N_LINEUPS = 8


@dataclass(frozen=True)
class RealSlate:
    ids: tuple[str, ...]
    salaries: np.ndarray
    points: np.ndarray  # scenarios x drivers

    def rules(self, **extra: object) -> LineupRules:
        return compile_rules(DRAFTKINGS, self.ids, self.salaries.tolist(), **extra)  # type: ignore[arg-type]

    def rosters(self, salary_floor: int = 0) -> np.ndarray:
        """(L, 6) every salary-feasible roster, ascending indices, lexicographic order."""
        n = len(self.ids)
        flat = itertools.chain.from_iterable(itertools.combinations(range(n), ROSTER))
        rows = np.fromiter(flat, np.int64, count=math.comb(n, ROSTER) * ROSTER).reshape(-1, ROSTER)
        salary = self.salaries[rows].sum(axis=1)
        keep: np.ndarray = rows[(salary <= DRAFTKINGS.salary_cap) & (salary >= salary_floor)]
        return keep


def simulate(track_id: str, *, forty: bool = False, seed: int = 7) -> RealSlate:
    slate = load_slate(sample_slate_path(), "bristol")
    drivers = forty_driver_field() if forty else list(slate.drivers)
    spec = ConstraintSpec.compile(
        drivers, get_track(track_id), site="draftkings", n_scenarios=N_SCENARIOS, calibration_enabled=True
    )
    scenarios = run_simulation(spec, seed=seed).scenarios
    salary = {d.driver_id: d.salary for d in drivers}
    ids = scenarios.driver_ids
    return RealSlate(ids, np.array([salary[i] for i in ids]), np.asarray(scenarios.points, np.float64))


@dataclass(frozen=True)
class Scores:
    """Each roster's exact scores: mean points, hits of the target, tail mean, packed hits and
    ramp levels."""

    means: np.ndarray  # (L,)
    hits: np.ndarray  # (L,) scenarios reaching the target
    floors: np.ndarray | None  # (L,) mean of the worst ceil(TAIL x S) scenarios
    packed: np.ndarray | None  # (L, words) uint64: bit s set when the roster reaches the target in s
    levels: np.ndarray | None = None  # (L, S) uint8 ramp levels of width `width`
    width: float = 0.0


def score(
    points: np.ndarray, rosters: np.ndarray, target: float, *, full: bool, chunk: int = 16_384
) -> Scores:
    """Every roster scored on every scenario, chunk by chunk (never the whole L x S float matrix);
    with `full` also the ramp levels at the default smoothing (a byte per roster and scenario)."""
    n_rosters, n_scenarios = rosters.shape[0], points.shape[0]
    means = points.mean(axis=0)[rosters].sum(axis=1)
    width = DEFAULT_SMOOTHING * float(points[:, rosters[int(np.argmax(means))]].sum(axis=1).std())
    levels = np.empty((n_rosters, n_scenarios), np.uint8) if full else None
    worst = math.ceil(TAIL * n_scenarios - 1e-9)
    hits = np.empty(n_rosters, np.int64)
    floors = np.empty(n_rosters) if full else None
    words = -(-n_scenarios // 64)
    packed = np.empty((n_rosters, words * 8), np.uint8) if full else None
    for start in range(0, n_rosters, chunk):
        rows = rosters[start : start + chunk]
        onehot = np.zeros((rows.shape[0], points.shape[1]))
        np.put_along_axis(onehot, rows, 1.0, axis=1)
        totals = onehot @ points.T  # (chunk, S)
        reached = totals >= target
        hits[start : start + chunk] = reached.sum(axis=1)
        if floors is not None and packed is not None and levels is not None:
            levels[start : start + chunk] = ramp_levels(totals, target, width)
            floors[start : start + chunk] = np.partition(totals, worst - 1, axis=1)[:, :worst].mean(axis=1)
            padded = np.zeros((rows.shape[0], words * 64), bool)
            padded[:, :n_scenarios] = reached
            packed[start : start + chunk] = np.packbits(padded, axis=1)
    packed_hits = None if packed is None else packed.view(np.uint64)
    return Scores(means, hits, floors, packed_hits, levels, width)


def exact_totals(points: np.ndarray, lineup: tuple[int, ...]) -> np.ndarray:
    return points[:, list(lineup)].sum(axis=1)


def cvar(totals: np.ndarray) -> float:
    worst = math.ceil(TAIL * totals.shape[0] - 1e-9)
    return float(np.sort(totals)[:worst].mean())


def drivers_of(portfolio: Portfolio) -> list[tuple[int, ...]]:
    return [lineup.drivers for lineup in portfolio.lineups]


# --- one lineup, the whole slate ---------------------------------------------------------------------


SALARY_FLOOR = {"bristol": 48_000, "talladega": 48_000, "forty": 49_000}


@pytest.fixture(scope="module", params=["bristol", "talladega", "forty"])
def case(request: pytest.FixtureRequest) -> tuple[RealSlate, LineupRules, np.ndarray, float, Scores]:
    """(slate, rules, every roster, upside target, exact scores of every roster)."""
    name = request.param
    slate = simulate("bristol", forty=True) if name == "forty" else simulate(name)
    rules = slate.rules(salary_floor=SALARY_FLOOR[name], max_overlap=MAX_OVERLAP)
    rosters = slate.rosters(SALARY_FLOOR[name])
    assert rosters.shape[0] > 100_000  # far past the 4,096 where a shortlist once started
    target = build_portfolio(slate.points, rules, driver_ids=slate.ids).target
    return slate, rules, rosters, target, score(slate.points, rosters, target, full=True)


def greedy_floor(rosters: np.ndarray, floors: np.ndarray, n_lineups: int) -> list[float]:
    """The floor sequence by brute force: best tail mean first, each within the overlap limit."""
    picked: list[set[int]] = []
    values = []
    for i in np.lexsort((np.arange(floors.size), -floors)):
        roster = set(rosters[i].tolist())
        if all(len(roster & other) <= MAX_OVERLAP for other in picked):
            picked.append(roster)
            values.append(float(floors[i]))
            if len(picked) == n_lineups:
                break
    return values


def greedy_coverage(rosters: np.ndarray, exact: Scores, n_lineups: int) -> list[int]:
    """The upside sequence by brute force: each lineup the most new scenarios reaching the target
    (ties: the higher mean), within the overlap limit of the earlier ones."""
    assert exact.packed is not None
    open_bits = np.full(exact.packed.shape[1], np.uint64(2**64 - 1))
    allowed = np.ones(rosters.shape[0], bool)
    gained = []
    for _ in range(n_lineups):
        gain = np.where(allowed, np.bitwise_count(exact.packed & open_bits).sum(axis=1, dtype=np.int64), -1)
        tied = np.flatnonzero(gain == gain.max())
        best = int(tied[np.argmax(exact.means[tied])])
        gained.append(int(gain[best]))
        open_bits &= ~exact.packed[best]
        shared = (rosters[:, :, None] == rosters[best][None, None, :]).any(axis=2).sum(axis=1)
        allowed &= shared <= MAX_OVERLAP
    return gained


def greedy_ramp(rosters: np.ndarray, exact: Scores, n_lineups: int, chunk: int = 16_384) -> list[int]:
    """The smoothed upside sequence by brute force: each lineup the largest sum over scenarios of
    its ramp level x the open level (255, then floor(open x (255 - level) / 255) after each
    lineup; ties: the higher mean), within the overlap limit of the earlier ones."""
    assert exact.levels is not None
    open_levels = np.full(exact.levels.shape[1], LEVELS, np.int64)
    allowed = np.ones(rosters.shape[0], bool)
    gained = []
    for _ in range(n_lineups):
        gain = np.empty(rosters.shape[0], np.int64)
        for start in range(0, rosters.shape[0], chunk):
            gain[start : start + chunk] = exact.levels[start : start + chunk].astype(np.int64) @ open_levels
        gain[~allowed] = -1
        tied = np.flatnonzero(gain == gain.max())
        best = int(tied[np.argmax(exact.means[tied])])
        gained.append(int(gain[best]))
        open_levels = open_levels * (LEVELS - exact.levels[best].astype(np.int64)) // LEVELS
        shared = (rosters[:, :, None] == rosters[best][None, None, :]).any(axis=2).sum(axis=1)
        allowed &= shared <= MAX_OVERLAP
    return gained


def ramp_gains(points: np.ndarray, portfolio: Portfolio, width: float) -> list[int]:
    open_levels = np.full(points.shape[0], LEVELS, np.int64)
    gained = []
    for lineup in portfolio.lineups:
        levels = ramp_levels(exact_totals(points, lineup.drivers), portfolio.target, width)
        gained.append(int(levels @ open_levels))
        open_levels = open_levels * (LEVELS - levels) // LEVELS
    return gained


def coverage_gains(points: np.ndarray, portfolio: Portfolio) -> list[int]:
    reached = np.zeros(points.shape[0], bool)
    gained = []
    for lineup in portfolio.lineups:
        hits = exact_totals(points, lineup.drivers) >= portfolio.target
        gained.append(int((hits & ~reached).sum()))
        reached |= hits
    return gained


Case = tuple[RealSlate, LineupRules, np.ndarray, float, Scores]


def test_enumeration_portfolios_are_the_exhaustive_greedy_sequences(case: Case) -> None:
    """The best lineup by mean; then N_LINEUPS lineups sharing at most MAX_OVERLAP drivers: lineup
    for lineup, the enumeration engine's tail means and upside gains (plain hits, and the default
    ramp) are the brute-force sequence's (the first of each: the best tail mean, the most hits of
    the target, the largest sum of ramp levels)."""
    slate, rules, rosters, target, exact = case
    assert exact.floors is not None
    best = build_portfolio(slate.points, rules, driver_ids=slate.ids).lineups[0]
    assert best.mean == pytest.approx(exact.means.max(), abs=1e-6)
    options = {"driver_ids": slate.ids, "target": target, "tail": TAIL, "n_lineups": N_LINEUPS}
    floor = build_portfolio(slate.points, rules, objective="floor", **options)  # type: ignore[arg-type]
    got = [cvar(exact_totals(slate.points, lineup.drivers)) for lineup in floor.lineups]
    np.testing.assert_allclose(got, greedy_floor(rosters, exact.floors, N_LINEUPS), atol=1e-6)
    plain = build_portfolio(slate.points, rules, objective="upside", smoothing=0.0, **options)  # type: ignore[arg-type]
    assert coverage_gains(slate.points, plain) == greedy_coverage(rosters, exact, N_LINEUPS)
    ramp = build_portfolio(slate.points, rules, objective="upside", **options)  # type: ignore[arg-type]
    assert ramp_gains(slate.points, ramp, exact.width) == greedy_ramp(rosters, exact, N_LINEUPS)


MODEL_SCENARIOS = 30  # the upside model needs over a minute at 100 scenarios on 37 drivers


def test_the_model_and_the_enumeration_engine_agree_with_the_brute_force() -> None:
    """The Bristol sample on its first MODEL_SCENARIOS scenarios, every roster: both engines reach
    the brute force's best mean and tail mean, and build the same upside sequences (the same hits,
    or with the default ramp the same sums of levels, ties to the higher mean), lineup for lineup."""
    slate = simulate("bristol")
    points = slate.points[:MODEL_SCENARIOS]
    rules = slate.rules(salary_floor=SALARY_FLOOR["bristol"], max_overlap=MAX_OVERLAP)
    rosters = slate.rosters(SALARY_FLOOR["bristol"])
    target = build_portfolio(points, rules, driver_ids=slate.ids).target
    exact = score(points, rosters, target, full=True)
    assert exact.floors is not None
    gains, ramped = greedy_coverage(rosters, exact, 2), greedy_ramp(rosters, exact, 2)
    for engine in ("enumeration", "milp"):
        options = {
            "driver_ids": slate.ids,
            "engine": engine,
            "target": target,
            "tail": TAIL,
            "time_limit": 600.0,
        }
        mean = build_portfolio(points, rules, **options).lineups[0]  # type: ignore[arg-type]
        assert mean.mean == pytest.approx(exact.means.max(), abs=1e-6), engine
        floor = build_portfolio(points, rules, objective="floor", **options).lineups[0]  # type: ignore[arg-type]
        assert cvar(exact_totals(points, floor.drivers)) == pytest.approx(exact.floors.max(), abs=1e-6), (
            engine
        )
        plain = build_portfolio(points, rules, objective="upside", n_lineups=2, smoothing=0.0, **options)  # type: ignore[arg-type]
        assert coverage_gains(points, plain) == gains, engine
        ramp = build_portfolio(points, rules, objective="upside", n_lineups=2, **options)  # type: ignore[arg-type]
        assert ramp_gains(points, ramp, exact.width) == ramped, engine
