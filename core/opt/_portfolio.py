"""Portfolios of lineups against a points matrix (scenarios x drivers), by objective.

Two engines give the same answers where both apply: the enumeration path scores every
salary-feasible lineup at once (fast; covers caps, floors, locks, excludes, overlap and maximum
exposure), and the CVXPY/HiGHS model handles every rule, minimum exposures included.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import Cancelled, Infeasible
from ..progress import Progress, ShouldCancel
from ._enumerate import LineupSet, best_first, enumerate_lineups, pick_in_order
from ._milp import LineupProblem, Objective, build_lineup_problem, solve_joint_portfolio, tail_count
from ._rules import LineupRules, check_feasible, check_portfolio

Engine = Literal["auto", "enumeration", "milp"]

DEFAULT_TAIL = 0.2  # floor: mean of the worst 20% of scenarios
DEFAULT_SMOOTHING = 0.3  # upside: logistic width of a hit, as a share of a lineup's spread
TARGET_QUANTILE = 0.99  # upside: default target, a quantile of the mean-optimal lineup's points
MIN_CANDIDATES = 4_096


@dataclass(frozen=True, slots=True)
class LineupStats:
    drivers: tuple[int, ...]  # indices into the points matrix's columns, ascending
    salary: int
    mean: float
    std: float
    p10: float
    p50: float
    p90: float
    p99: float
    p_beat_target: float  # share of scenarios where the lineup scores at least the target


@dataclass(frozen=True, slots=True)
class Portfolio:
    objective: Objective
    engine: str
    target: float
    lineups: tuple[LineupStats, ...]
    p_any_beats_target: float  # share of scenarios where at least one lineup reaches the target


def build_portfolio(
    points: np.ndarray,
    rules: LineupRules,
    *,
    objective: Objective = "mean",
    n_lineups: int = 1,
    target: float | None = None,
    tail: float = DEFAULT_TAIL,
    smoothing: float = DEFAULT_SMOOTHING,
    engine: Engine = "auto",
    time_limit: float = 60.0,
    driver_ids: tuple[str, ...] | None = None,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
) -> Portfolio:
    """Pick n_lineups lineups for `objective` and describe each one over the scenarios.

    mean: the MILP sequence (best lineup, then the best one within the overlap limit of all
    earlier ones, ...). upside: each lineup adds the most scenarios in which no earlier lineup
    reached the target (the marginal gain in P(at least one lineup beats the target)). floor:
    like mean, ranking lineups by the mean of their worst `tail` share of scenarios.
    """
    ids = driver_ids or tuple(str(i) for i in range(rules.n_drivers))
    check_feasible(rules, ids, n_lineups)
    points = np.asarray(points, dtype=np.float64)
    chosen_engine = _choose_engine(rules, engine)
    lineups = _enumerate(rules) if chosen_engine == "enumeration" else None
    if target is None:
        target = default_target(points, rules, time_limit=time_limit, lineups=lineups)
    context = _Context(points, rules, n_lineups, target, tail, time_limit, progress, should_cancel, smoothing)
    picked = _by_milp(context, objective) if lineups is None else _by_enumeration(context, objective, lineups)
    if len(picked) < n_lineups:
        raise Infeasible(
            f"the rules allow only {len(picked)} lineups, {n_lineups} asked for "
            f"(max_overlap={rules.overlap_limit}; exposure limits)"
        )
    check_portfolio(rules, picked)
    return Portfolio(
        objective=objective,
        engine=chosen_engine,
        target=target,
        lineups=tuple(lineup_stats(points, rules, lineup, target) for lineup in picked),
        p_any_beats_target=_p_any(points, picked, target),
    )


def default_target(
    points: np.ndarray, rules: LineupRules, *, time_limit: float = 60.0, lineups: LineupSet | None = None
) -> float:
    """The 99th percentile of the mean-optimal lineup's points (by MILP unless lineups are given).

    Portfolio exposure limits do not apply to this single reference lineup.
    """
    single = dataclasses.replace(rules, min_exposure=None, max_exposure=None)
    context = _Context(points, single, 1, 0.0, DEFAULT_TAIL, time_limit, None, None)
    if lineups is None:
        best = _by_milp(context, "mean")[0]
    else:
        best = tuple(int(i) for i in lineups.rows[int(np.argmax(lineups.totals(points.mean(axis=0))))])
    return float(np.quantile(points[:, best].sum(axis=1), TARGET_QUANTILE))


def lineup_stats(
    points: np.ndarray, rules: LineupRules, lineup: tuple[int, ...], target: float
) -> LineupStats:
    totals = points[:, list(lineup)].sum(axis=1)
    p10, p50, p90, p99 = np.quantile(totals, [0.1, 0.5, 0.9, 0.99])
    return LineupStats(
        drivers=tuple(sorted(lineup)),
        salary=int(rules.salaries[list(lineup)].sum()),
        mean=float(totals.mean()),
        std=float(totals.std()),
        p10=float(p10),
        p50=float(p50),
        p90=float(p90),
        p99=float(p99),
        p_beat_target=float(np.mean(totals >= target)),
    )


def _p_any(points: np.ndarray, lineups: list[tuple[int, ...]], target: float) -> float:
    hit = np.zeros(points.shape[0], bool)
    for lineup in lineups:
        hit |= points[:, list(lineup)].sum(axis=1) >= target
    return float(hit.mean())


def _choose_engine(rules: LineupRules, engine: Engine) -> Engine:
    if engine == "auto":
        return "milp" if rules.has_min_exposure() else "enumeration"
    if engine == "enumeration" and rules.has_min_exposure():
        raise Infeasible("minimum exposures need the MILP engine (engine='milp' or 'auto')")
    return engine


@dataclass(frozen=True)
class _Context:
    points: np.ndarray
    rules: LineupRules
    n_lineups: int
    target: float
    tail: float
    time_limit: float
    progress: Progress | None
    should_cancel: ShouldCancel | None
    smoothing: float = 0.0

    def step(self, done: int) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise Cancelled(f"cancelled after {done} of {self.n_lineups} lineups")
        if self.progress is not None:
            self.progress(done, self.n_lineups)


# --- enumeration engine ----------------------------------------------------------------------


def _enumerate(rules: LineupRules) -> LineupSet:
    lineups = enumerate_lineups(rules)
    if len(lineups) == 0:
        raise Infeasible("no lineup fits the salary cap, floor, locks and excludes")
    return lineups


def _by_enumeration(c: _Context, objective: Objective, lineups: LineupSet) -> list[tuple[int, ...]]:
    mean = lineups.totals(c.points.mean(axis=0))
    _, max_counts = c.rules.exposure_counts(c.n_lineups)
    if objective == "mean":
        scores = mean
        pool = np.arange(len(lineups))
    else:
        pool = _candidates(c, lineups, mean, objective)
        scores = _exact_scores(c, lineups, pool, objective)
    subset = lineups if pool.size == len(lineups) else LineupSet(lineups.rows[pool], lineups.masks[pool])
    if objective == "upside":
        picked = _greedy_coverage(c, subset, scores, max_counts)
    else:
        windows = best_first(scores)
        picked = pick_in_order(
            subset, windows, c.n_lineups, overlap_limit=c.rules.overlap_limit, max_counts=max_counts,
            on_pick=c.step,
        )  # fmt: skip
    return [tuple(int(i) for i in subset.rows[p]) for p in picked]


def _candidates(c: _Context, lineups: LineupSet, mean: np.ndarray, objective: Objective) -> np.ndarray:
    """Lineups worth scoring exactly on every scenario, ranked by a normal approximation of the
    objective (all of them when there are few)."""
    size = max(MIN_CANDIDATES, 40 * c.n_lineups)
    if len(lineups) <= size:
        return np.arange(len(lineups))
    std = np.sqrt(np.maximum(_lineup_variance(lineups, np.cov(c.points, rowvar=False)), 1e-12))
    if objective == "upside":
        approx = (mean - c.target) / std  # P(beat) = Phi(approx) under normality
    else:
        z = _normal_quantile(c.tail)
        approx = mean - std * math.exp(-z * z / 2) / math.sqrt(2 * math.pi) / c.tail
    return np.sort(np.argpartition(-approx, size)[:size])


def _lineup_variance(lineups: LineupSet, covariance: np.ndarray) -> np.ndarray:
    rows = lineups.rows.astype(np.int64)
    variance = np.zeros(rows.shape[0])
    for a in range(rows.shape[1]):
        variance += covariance[rows[:, a], rows[:, a]]
        for b in range(a):
            variance += 2 * covariance[rows[:, a], rows[:, b]]
    return variance


def _normal_quantile(p: float) -> float:
    """Inverse standard normal CDF by bisection (stdlib only; called once)."""
    low, high = -10.0, 10.0
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if 0.5 * math.erfc(-mid / math.sqrt(2)) < p else (low, mid)
    return (low + high) / 2


def _candidate_points(c: _Context, lineups: LineupSet, pool: np.ndarray) -> np.ndarray:
    """Points of each candidate lineup in each scenario: (candidates, scenarios)."""
    onehot = np.zeros((pool.size, c.rules.n_drivers))
    np.put_along_axis(onehot, lineups.rows[pool].astype(np.int64), 1.0, axis=1)
    totals: np.ndarray = onehot @ c.points.T
    return totals


def _exact_scores(c: _Context, lineups: LineupSet, pool: np.ndarray, objective: Objective) -> np.ndarray:
    totals = _candidate_points(c, lineups, pool)
    if objective == "upside":
        return totals
    worst = tail_count(c.tail, totals.shape[1])
    tail_mean: np.ndarray = np.partition(totals, worst - 1, axis=1)[:, :worst].mean(axis=1)
    return tail_mean


def _greedy_coverage(
    c: _Context, lineups: LineupSet, totals: np.ndarray, max_counts: np.ndarray
) -> list[int]:
    """Add the lineup with the largest marginal gain in P(at least one lineup reaches the target).

    A scenario's hit is smoothed with a logistic kernel of width h = smoothing x the mean spread
    of the candidates' points (h = 0: the plain 0/1 hit the MILP counts), so that a handful of
    tail scenarios do not decide the lineup. Gains only shrink as lineups are added (the
    objective is submodular), so old gains bound new ones and only the leaders are recomputed.
    Ties go to the higher mean, then the lower index.
    """
    hit = _soft_hits(totals, c.target, c.smoothing * float(totals.std(axis=1).mean()))
    mean = totals.mean(axis=1)
    open_share = np.ones(totals.shape[1], np.float32)  # per scenario: P(no lineup reached the target)
    bound = hit.sum(axis=1, dtype=np.float64)
    allowed = ~np.isin(lineups.rows, np.flatnonzero(max_counts <= 0)).any(axis=1)
    counts = np.zeros_like(max_counts)
    picked: list[int] = []
    while len(picked) < c.n_lineups and allowed.any():
        best = _best_gain(hit, open_share, bound, mean, np.asarray(allowed))
        picked.append(best)
        open_share *= 1.0 - hit[best]
        counts[lineups.rows[best]] += 1
        full = np.flatnonzero(counts >= max_counts)
        allowed &= np.bitwise_count(lineups.masks & lineups.masks[best]) <= c.rules.overlap_limit
        allowed &= ~np.isin(lineups.rows, full).any(axis=1)
        c.step(len(picked))
    return picked


def _soft_hits(totals: np.ndarray, target: float, width: float) -> np.ndarray:
    if width <= 0:
        return (totals >= target).astype(np.float32)
    return (1.0 / (1.0 + np.exp(-(totals - target) / width))).astype(np.float32)


def _best_gain(
    hit: np.ndarray, open_share: np.ndarray, bound: np.ndarray, mean: np.ndarray, allowed: np.ndarray
) -> int:
    """The allowed lineup with the largest current gain. `bound` holds gains from earlier steps
    (upper bounds now); recompute the best-bounded ones until no other bound can beat them."""
    order = np.flatnonzero(allowed)
    order = order[np.lexsort((order, -mean[order], -bound[order]))]
    size = 64
    while True:
        head, rest = order[:size], order[size:]
        bound[head] = hit[head] @ open_share
        best_gain = bound[head].max()
        if rest.size == 0 or best_gain > bound[rest[0]]:
            top = head[np.lexsort((head, -mean[head], -bound[head]))]
            return int(top[0])
        size *= 4


# --- MILP engine ---------------------------------------------------------------------------


def _by_milp(c: _Context, objective: Objective) -> list[tuple[int, ...]]:
    points = None if objective == "mean" else c.points
    problem = build_lineup_problem(c.rules, objective, n_cuts=c.n_lineups, points=points, tail=c.tail)
    if objective == "mean":
        problem.weights.value = c.points.mean(axis=0)
    if objective == "upside":
        assert problem.target is not None
        problem.target.value = c.target
        problem.weights.value = np.ones(c.points.shape[0])
    minimum, maximum = c.rules.exposure_counts(c.n_lineups)
    counts = np.zeros(c.rules.n_drivers, np.int64)
    picked: list[tuple[int, ...]] = []
    for k in range(c.n_lineups):
        _set_bounds(problem, minimum - counts >= c.n_lineups - k, counts >= maximum)
        try:
            lineup = tuple(int(i) for i in problem.solve(c.time_limit))
        except Infeasible:
            if k == 0:
                raise
            if c.rules.has_min_exposure():
                return _joint_fallback(c, objective)
            break
        picked.append(lineup)
        counts[list(lineup)] += 1
        _add_cut(problem, k, lineup, c.rules.overlap_limit)
        if objective == "upside":
            reached = c.points[:, list(lineup)].sum(axis=1) >= c.target
            problem.weights.value = np.where(reached, 0.0, np.asarray(problem.weights.value))
        c.step(len(picked))
    return picked


JOINT_LIMIT = 200_000  # pairs x drivers: the joint model's size limit


def _joint_fallback(c: _Context, objective: Objective) -> list[tuple[int, ...]]:
    size = c.n_lineups * (c.n_lineups - 1) // 2 * c.rules.n_drivers
    if objective != "mean" or size > JOINT_LIMIT:
        raise Infeasible(
            "the lineup-by-lineup solve could not meet the minimum exposures (an earlier lineup left "
            "later ones no way to reach them); the joint model covers only the mean objective for "
            f"small portfolios ({c.n_lineups} lineups here)"
        )
    return solve_joint_portfolio(c.rules, c.points.mean(axis=0), c.n_lineups, c.time_limit)


def _set_bounds(problem: LineupProblem, forced: np.ndarray, saturated: np.ndarray) -> None:
    problem.lower.value = forced.astype(float)
    problem.upper.value = (~saturated).astype(float)


def _add_cut(problem: LineupProblem, row: int, lineup: tuple[int, ...], limit: int) -> None:
    cuts, cut_limit = np.array(problem.cuts.value), np.array(problem.cut_limit.value)
    cuts[row, list(lineup)] = 1.0
    cut_limit[row] = limit
    problem.cuts.value, problem.cut_limit.value = cuts, cut_limit
