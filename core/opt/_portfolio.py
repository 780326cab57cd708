"""Portfolios of lineups against a points matrix (scenarios x drivers), by objective.

A portfolio is a sequence: each lineup the best by the objective's score (mean points, the
floor's tail mean, the upside's gain in coverage) among those the rules allow after the earlier
ones. Its objective is the sum of those scores. Two engines build it: the enumeration path scores
every salary-feasible lineup at once (fast) and the CVXPY/HiGHS model is the reference; they give
the same lineups. A minimum exposure is met late in both: a driver enters every remaining lineup
once its minimum needs them all, and a joint model takes over when that leaves no lineup. Those
forced last lineups cost points, so for mean and floor the enumeration path also walks sequences
with prices on the drivers it had to force and keeps the best portfolio by the objective: never
worse than the model's, which is the unpriced sequence (price_rounds=0 gives it exactly).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import Infeasible, InvalidInput, SolverFailed
from ..progress import Progress, ShouldCancel
from ._by_model import by_milp, joint_fallback
from ._context import Context
from ._enumerate import LineupSet, Picks, best_first, driver_bits, enumerate_lineups, overlaps, pick_in_order
from ._milp import Objective
from ._ramp import LEVELS
from ._rules import LineupRules, check_feasible, check_portfolio
from ._scores import approximation, cover, first_gains, gains, tail_means, upside_hits

Engine = Literal["auto", "enumeration", "milp"]

DEFAULT_TAIL = 0.2  # floor: mean of the worst 20% of scenarios
DEFAULT_SMOOTHING = 1.0  # upside: a ramp one standard deviation of the mean lineup wide (build_portfolio)
TARGET_QUANTILE = 0.99  # upside: default target, a quantile of the mean-optimal lineup's points
MIN_CANDIDATES = 4_096
# Lineups x scenarios scored exactly (upside, floor): every lineup of a 37-driver slate with a
# 48,000 salary floor over 1,000 scenarios; a shortlist of 26,843 lineups over 10,000. Upside
# keeps them as bits (plain hits, 32 MiB) or ramp levels of a byte each (256 MiB).
EXACT_BUDGET = 2**28
PRICE_ROUNDS = 5  # priced sequences tried after the unpriced one (minimum exposures; mean, floor)
PRICE_STEP = 0.4  # a round moves a price by up to this share of the scores' spread


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
    price_rounds: int = PRICE_ROUNDS,
) -> Portfolio:
    """Pick n_lineups lineups for `objective` and describe each one over the scenarios.

    Each objective is one stated score that both engines maximise, lineup after lineup, among
    the lineups the rules allow after the earlier ones (ties: the higher mean points, then the
    engine's own order). mean: mean points. floor: the mean of the lineup's worst ceil(tail x S)
    scenarios. upside: the marginal gain in a smoothed P(at least one lineup reaches `target`).
    A lineup scoring p reaches it by k(p) = clip((p - target) / h + 1/2, 0, 1), a linear ramp of
    width h = smoothing x the standard deviation over the scenarios of the mean-optimal lineup's
    points (exposure limits aside: the lineup default_target uses); smoothing 0 is the plain hit,
    p >= target. Each scenario keeps an open share, 1 until a lineup reaches it, then times
    (1 - k) for each lineup picked; a lineup's score is the sum over scenarios of k x the open
    share. Both hold k and the open share as whole 1/255ths, rounded down (see _ramp), so both
    engines maximise the same integer. The ramp keeps a handful of lucky fitting scenarios, just
    over the target, from deciding the lineup. `p_beat_target` still reports plain hits.

    `engine="auto"` is always the enumeration engine, minimum exposures included. With minimum
    exposures the enumeration engine also tries up to `price_rounds` sequences with prices on
    under-exposed drivers (mean and floor) and keeps the one with the highest sum of scores; 0
    gives the MILP engine's sequence.
    """
    ids = driver_ids or tuple(str(i) for i in range(rules.n_drivers))
    check_feasible(rules, ids, n_lineups)
    points = np.asarray(points, dtype=np.float64)
    if not 0 <= smoothing:
        raise InvalidInput("smoothing", f"must be at least 0, got {smoothing}")
    chosen_engine = _choose_engine(engine)
    lineups = _enumerate(rules) if chosen_engine == "enumeration" else None
    width = 0.0
    if target is None or (objective == "upside" and smoothing > 0):
        reference = _mean_lineup_points(points, rules, time_limit, lineups)
        target = _quantile_target(reference) if target is None else target
        width = smoothing * float(reference.std()) if objective == "upside" else 0.0
    context = Context(
        points, rules, n_lineups, target, tail, time_limit, progress, should_cancel,
        width=width, driver_ids=ids, price_rounds=price_rounds,
    )  # fmt: skip
    picked = by_milp(context, objective) if lineups is None else _by_enumeration(context, objective, lineups)
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
    return _quantile_target(_mean_lineup_points(np.asarray(points, np.float64), rules, time_limit, lineups))


def _quantile_target(reference: np.ndarray) -> float:
    return float(np.quantile(reference, TARGET_QUANTILE))


def _mean_lineup_points(
    points: np.ndarray, rules: LineupRules, time_limit: float, lineups: LineupSet | None
) -> np.ndarray:
    """(S,) the points of the mean-optimal lineup, exposure limits aside: the reference for the
    default target and the upside ramp's width, the same lineup in both engines."""
    single = dataclasses.replace(rules, min_exposure=None, max_exposure=None)
    context = Context(points, single, 1, 0.0, DEFAULT_TAIL, time_limit, None, None)
    if lineups is None:
        best = by_milp(context, "mean")[0]
    else:
        best = tuple(int(i) for i in lineups.rows[int(np.argmax(lineups.totals(points.mean(axis=0))))])
    totals: np.ndarray = points[:, list(best)].sum(axis=1)
    return totals


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


def _choose_engine(engine: Engine) -> Engine:
    """auto is the enumeration engine whatever the rules: the engine never changes the objective."""
    return "enumeration" if engine == "auto" else engine


# --- enumeration engine ----------------------------------------------------------------------


def _enumerate(rules: LineupRules) -> LineupSet:
    lineups = enumerate_lineups(rules)
    if len(lineups) == 0:
        raise Infeasible("no lineup fits the salary cap, floor, locks and excludes")
    return lineups


def _by_enumeration(c: Context, objective: Objective, lineups: LineupSet) -> list[tuple[int, ...]]:
    pools = _Pools(c, objective, lineups)
    first = _sequence(c, pools, np.zeros(c.rules.n_drivers), on_pick=c.step)
    best = first if objective == "upside" else _priced(c, pools, first)
    if first.picks.full or not c.rules.has_min_exposure():
        return best.picks.lineups
    return _after_stuck(c, objective, first.picks, best)


def _after_stuck(c: Context, objective: Objective, stuck: Picks, best: _Sequence) -> list[tuple[int, ...]]:
    """The unpriced sequence found no next lineup. The model turns to the joint model there, and so
    does this engine, keeping a complete priced sequence where it scores higher or the joint model
    has no answer."""
    try:
        joint = joint_fallback(c, objective, stuck.must_hold(), len(stuck.lineups))
    except (Infeasible, SolverFailed):
        if best.picks.full:
            return best.picks.lineups
        raise
    mean = c.points.mean(axis=0)
    joint_value = float(sum(mean[list(lineup)].sum() for lineup in joint))
    if best.picks.full and best.value > joint_value + 1e-9 * abs(joint_value):
        return best.picks.lineups
    return joint


@dataclass(frozen=True, slots=True)
class _Pool:
    lineups: LineupSet
    scores: np.ndarray  # mean, floor: one per lineup; upside: hits (lineups, scenarios), see upside_hits
    means: np.ndarray  # mean points per lineup (upside breaks ties by them)


class _Pools:
    """The lineups a sequence walks while some drivers are forced into every lineup, by those
    drivers: every lineup that holds them (mean), or for upside and floor those _candidates
    keeps (all of them up to EXACT_BUDGET), scored exactly."""

    def __init__(self, c: Context, objective: Objective, lineups: LineupSet) -> None:
        self.c, self.objective, self.lineups = c, objective, lineups
        self.mean = lineups.totals(c.points.mean(axis=0))
        self.locked = driver_bits(np.asarray(sorted(c.rules.locks), dtype=np.int64))  # in every lineup
        self.approximation: np.ndarray | None = None
        self.tail_means = np.full(len(lineups), np.nan)  # floor: each lineup's score, once computed
        self.cache: dict[int, _Pool] = {}

    def holding(self, forced: np.uint64) -> _Pool:
        key = int(forced & ~self.locked)
        pool = self.cache.get(key)
        if pool is None:
            pool = self._build(np.uint64(key))
            if self.objective != "upside":  # an upside pool's hits (lineups x scenarios) are big to keep
                self.cache[key] = pool
        return pool

    def refill(self, picks: Picks) -> _Pool | None:
        """A fresh pool from the lineups the rules still allow, for a pool of the best few thousand
        that ran dry (a mean pool holds every lineup already); None when no lineup is left."""
        if self.objective == "mean":
            return None
        index = np.flatnonzero(picks.allowed(self.lineups.masks))
        return self._scored(self._candidates(index)) if index.size else None

    def _build(self, forced: np.uint64) -> _Pool:
        masks = self.lineups.masks
        index = np.arange(len(self.lineups)) if forced == 0 else np.flatnonzero((masks & forced) == forced)
        if self.objective == "mean":
            subset = _subset(self.lineups, index)
            scores = self.mean if subset is self.lineups else self.mean[index]
            return _Pool(subset, scores, scores)
        return self._scored(self._candidates(index))

    def _scored(self, index: np.ndarray) -> _Pool:
        subset = _subset(self.lineups, index)
        if self.objective == "floor":
            new = index[np.isnan(self.tail_means[index])]  # pools overlap: score each lineup once
            self.tail_means[new] = tail_means(self.c, _subset(self.lineups, new))
            return _Pool(subset, self.tail_means[index], self.mean[index])
        return _Pool(subset, upside_hits(self.c, subset), self.mean[index])

    def _candidates(self, index: np.ndarray) -> np.ndarray:
        """Lineups to score exactly on every scenario: all of them while lineups x scenarios stays
        within EXACT_BUDGET (then the engine is exact), else a shortlist of that size (at least
        MIN_CANDIDATES and 40 per lineup asked for) ranked by a normal approximation."""
        n_scenarios = self.c.points.shape[0]
        size = max(MIN_CANDIDATES, 40 * self.c.n_lineups, EXACT_BUDGET // n_scenarios)
        if index.size <= size:
            return index
        if self.approximation is None:
            self.approximation = approximation(self.c, self.lineups, self.mean, self.objective)
        return index[np.sort(np.argpartition(-self.approximation[index], size)[:size])]


def _subset(lineups: LineupSet, index: np.ndarray) -> LineupSet:
    if index.size == len(lineups):
        return lineups
    return LineupSet(lineups.rows[index], lineups.masks[index])


@dataclass(frozen=True, slots=True)
class _Sequence:
    picks: Picks
    value: float  # the portfolio objective: the sum of the lineups' scores, prices left out


def _sequence(c: Context, pools: _Pools, prices: np.ndarray, *, on_pick: Callable[[int], None]) -> _Sequence:
    """Lineups one after another, each the best by its score plus the prices of its drivers among
    those the rules allow after the earlier ones, walking the pool of the drivers forced in."""
    minimum, maximum = c.rules.exposure_counts(c.n_lineups)
    picks = Picks(c.n_lineups, c.rules.overlap_limit, minimum, maximum)
    open_levels = np.full(c.points.shape[0], LEVELS, np.int64)  # upside: how far no lineup reached it
    value = 0.0
    pool: _Pool | None = pools.holding(picks.forced())
    while pool is not None:
        forced = picks.forced()
        if pools.objective == "upside":
            value += _greedy_coverage(pool, picks, open_levels, on_pick)
        else:
            found = pick_in_order(
                pool.lineups, best_first(_with_prices(pool, prices)), picks, on_pick=on_pick
            )
            value += float(pool.scores[found].sum())
        if picks.full:
            break
        # Either a minimum now forces a driver in, or the pool ran dry.
        pool = pools.holding(picks.forced()) if picks.forced() != forced else pools.refill(picks)
    return _Sequence(picks, value)


def _with_prices(pool: _Pool, prices: np.ndarray) -> np.ndarray:
    """Each lineup's score plus the prices of the drivers it holds."""
    priced = pool.scores
    for driver in np.flatnonzero(prices):
        priced = priced + prices[driver] * ((pool.lineups.masks >> np.uint64(driver)) & np.uint64(1))
    return priced


def _priced(c: Context, pools: _Pools, unpriced: _Sequence) -> _Sequence:
    """The best of the unpriced sequence and up to c.price_rounds sequences with prices on the
    drivers it met a minimum exposure for by forcing them in.

    Forced drivers fill the last lineups, which then share them and score the least; a price (points
    added to every lineup holding the driver) brings it in earlier, where it costs less. Each round
    moves a price by the driver's shortfall: the share of its minimum that was forced, or, below
    zero, its appearances beyond the minimum. A sequence only counts if it is complete, and every
    sequence keeps every rule, so the answer is never worse than the unpriced one.
    """
    minimum, _ = c.rules.exposure_counts(c.n_lineups)
    priced = (minimum > 0) & (minimum < c.n_lineups)  # a minimum of every lineup is forced from the start
    if not priced.any():
        return unpriced
    scale = _spread(pools.holding(np.uint64(0)).scores, c.n_lineups)
    prices = np.zeros(c.rules.n_drivers)
    best = last = unpriced
    for round_ in range(c.price_rounds):
        c.check_cancel(len(unpriced.picks.lineups))  # once a round: a caller's check can cost a query
        free = last.picks.counts - last.picks.forced_counts
        shortfall = (minimum - free) / np.maximum(minimum, 1)
        step = PRICE_STEP * scale / (1 + round_ / 3)
        moved = np.where(priced, np.maximum(prices + step * shortfall, 0.0), 0.0)
        if np.array_equal(moved, prices):
            break
        prices = moved
        last = _sequence(c, pools, prices, on_pick=lambda done: None)
        if last.picks.full and (not best.picks.full or last.value > best.value + 1e-9 * abs(best.value)):
            best = last
    return best


def _spread(scores: np.ndarray, n_lineups: int) -> float:
    """The best score less the n_lineups-th best: the range a sequence spans, the scale of a price."""
    rank = scores.size - 1 - min(n_lineups, scores.size - 1)
    ranked = np.partition(scores, [rank, scores.size - 1])
    return max(float(ranked[-1] - ranked[rank]), 1e-9)


def _greedy_coverage(
    pool: _Pool, picks: Picks, open_levels: np.ndarray, on_pick: Callable[[int], None]
) -> float:
    """Add the lineup with the largest marginal gain in (smoothed) P(at least one lineup reaches
    the target), until the portfolio is full, no lineup is allowed or a minimum forces a driver
    in; returns the gains. `open_levels` (per scenario, how far no lineup has reached it, in
    levels of _ramp) is updated in place.

    A lineup's gain is the sum over scenarios of its ramp level times the open level (plain hits:
    its hits in scenarios no earlier lineup reached), an integer, the score the model maximises.
    Gains only shrink as lineups are added (the objective is submodular), so old gains bound new
    ones and only the leaders are recomputed. Ties go to the higher mean, then the lower index.
    """
    hit, masks = pool.scores, pool.lineups.masks
    bound = first_gains(hit)
    allowed = picks.allowed(masks)
    forced = picks.forced()
    gained = 0.0
    while not picks.full and allowed.any():
        best = _best_gain(hit, open_levels, bound, pool.means, allowed)
        gained += float(bound[best])
        cover(open_levels, hit[best])
        picks.add(pool.lineups.rows[best], masks[best])
        on_pick(len(picks.lineups))
        if picks.forced() != forced:
            break
        allowed &= overlaps(masks, masks[best]) <= picks.overlap_limit
        allowed &= (masks & picks.saturated()) == 0
    return gained


def _best_gain(
    hit: np.ndarray, open_levels: np.ndarray, bound: np.ndarray, mean: np.ndarray, allowed: np.ndarray
) -> int:
    """The allowed lineup with the largest current gain. `bound` holds gains from earlier steps
    (upper bounds now); recompute the best-bounded ones until no other bound can beat them."""
    order = np.flatnonzero(allowed)
    order = order[np.lexsort((order, -mean[order], -bound[order]))]
    size, current = 64, 0  # order[:current] hold this step's gains already
    while True:
        head, rest, new = order[:size], order[size:], order[current:size]
        bound[new] = gains(hit[new], open_levels)
        current = size
        best_gain = bound[head].max()
        if rest.size == 0 or best_gain > bound[rest[0]]:
            top = head[np.lexsort((head, -mean[head], -bound[head]))]
            return int(top[0])
        size *= 4
