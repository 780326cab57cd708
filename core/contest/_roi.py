"""The `roi` objective: the portfolio with the most expected profit against a simulated field.

Candidates come from the exact enumeration path: every lineup the rules allow, shortlisted by
mean points, by upside (mean + 2 sd, a normal approximation) and by upside against ownership
(leverage: lineups the field rarely plays). Each candidate is then scored exactly against the
field in every scenario. Lineups are added one at a time, each with the largest marginal
expected profit given the earlier ones: its own prize against the field and the lineups
already in, less what it takes from those it beats or ties, so the portfolio does not pay for
competing with itself. Marginals hardly ever grow as lineups are added, so the last computed
marginal bounds a candidate's current one and only the leaders are recomputed (lazy greedy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import Infeasible
from ..opt import LineupRules, check_feasible, check_portfolio, enumerate_lineups
from ..progress import Progress
from ._field import Field
from ._ownership import Ownership
from ._payouts import PayoutTable
from ._simulate import pay, place

DEFAULT_CANDIDATES = 3_000
BLOCK = 64  # candidates whose marginal is recomputed at once


@dataclass(frozen=True, slots=True)
class Contest:
    """What the roi objective plays against."""

    field: Field
    payouts: PayoutTable
    ownership: Ownership


@dataclass(frozen=True, slots=True)
class RoiPortfolio:
    lineups: tuple[tuple[int, ...], ...]  # driver indices, ascending, in the order picked
    marginal_profit: tuple[float, ...]  # each lineup's expected profit added when picked (dollars)
    n_candidates: int

    @property
    def expected_profit(self) -> float:
        """The in-sample expected profit of the whole portfolio (the sum of the marginals)."""
        return float(sum(self.marginal_profit))


def build_roi_portfolio(
    points: np.ndarray,
    rules: LineupRules,
    contest: Contest,
    *,
    n_lineups: int = 1,
    n_candidates: int = DEFAULT_CANDIDATES,
    driver_ids: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> RoiPortfolio:
    """Pick n_lineups lineups for the most expected profit in `contest` (module docstring)."""
    ids = tuple(driver_ids or (str(i) for i in range(rules.n_drivers)))
    check_feasible(rules, ids, n_lineups)
    points = np.asarray(points, dtype=np.float64)
    minimum, _ = rules.exposure_counts(n_lineups)
    required = [int(d) for d in np.flatnonzero(minimum > 0) if d not in rules.locks]
    rows = shortlist(points, rules, contest.ownership, n_candidates, required=required)
    placings = place(points, rows, contest.field)
    state = _Greedy(rows, placings.field_above, placings.field_tied, placings.scores, contest.payouts)
    picked, gains = state.run(rules, n_lineups, progress)
    if len(picked) < n_lineups:
        raise Infeasible(
            f"the {len(rows):,} roi candidates hold only {len(picked)} lineups the rules allow together, "
            f"{n_lineups} asked for (max_overlap={rules.overlap_limit}; exposure limits)"
        )
    lineups = [tuple(int(d) for d in rows[i]) for i in picked]
    check_portfolio(rules, lineups)
    return RoiPortfolio(tuple(lineups), tuple(gains), len(rows))


def shortlist(
    points: np.ndarray,
    rules: LineupRules,
    ownership: Ownership,
    size: int,
    *,
    required: Sequence[int] = (),
) -> np.ndarray:
    """(K, R) ascending driver rows: the best size/3 lineups by mean, by upside and by leverage;
    and as many again among the lineups holding each `required` driver (a minimum exposure), so
    that a minimum the best lineups rarely meet can still be met."""
    lineups = enumerate_lineups(rules)
    if len(lineups) == 0:
        raise Infeasible("no lineup fits the salary cap, floor, locks and excludes")
    rows = lineups.rows.astype(np.int64)
    mean = lineups.totals(points.mean(axis=0))
    covariance = np.cov(points, rowvar=False)
    variance = np.zeros(rows.shape[0])
    for a in range(rows.shape[1]):
        for b in range(rows.shape[1]):
            variance += covariance[rows[:, a], rows[:, b]]
    upside = mean + 2.0 * np.sqrt(np.maximum(variance, 0.0))
    chalk = lineups.totals(np.log(np.maximum(ownership.shares(), 1e-9)))
    leverage = _standard(upside) - _standard(chalk)
    each = max(1, size // 3)
    pools = [np.arange(rows.shape[0])]
    pools += [np.flatnonzero((lineups.masks >> np.uint64(d)) & np.uint64(1)) for d in required]
    chosen = np.unique(
        np.concatenate(
            [pool[_top(score[pool], each)] for pool in pools for score in (mean, upside, leverage)]
        )
    )
    return np.sort(rows[chosen], axis=1)


class _Greedy:
    """The lazy greedy over candidates, with per-scenario placings of the lineups picked so far."""

    def __init__(self, rows: np.ndarray, field_above: np.ndarray, field_tied: np.ndarray,
                 scores: np.ndarray, payouts: PayoutTable) -> None:  # fmt: skip
        self.rows, self.field_above, self.field_tied, self.scores = rows, field_above, field_tied, scores
        self.fee = payouts.entry_fee
        self.payouts = payouts
        bits = np.left_shift(np.uint64(1), rows.astype(np.uint64))
        self.masks = np.bitwise_or.reduce(bits, axis=1)
        self.picked: list[int] = []
        n_scenarios = scores.shape[0]
        self.above = np.zeros((n_scenarios, 0), np.int64)  # picked lineups: entries above, tied
        self.tied = np.zeros((n_scenarios, 0), np.int64)
        self.board: _Board | None = None

    def prize(self, above: np.ndarray, tied: np.ndarray) -> np.ndarray:
        return pay(self.payouts, above, tied)

    def run(
        self, rules: LineupRules, n_lineups: int, progress: Progress | None
    ) -> tuple[list[int], list[float]]:
        minimum, maximum = rules.exposure_counts(n_lineups)
        counts = np.zeros(rules.n_drivers, np.int64)
        bound = (self.prize(self.field_above, self.field_tied + 1) - self.fee).mean(axis=0)
        allowed = np.ones(self.rows.shape[0], bool)
        gains: list[float] = []
        while len(self.picked) < n_lineups:
            must = np.flatnonzero(minimum - counts >= n_lineups - len(self.picked))
            forced = _bits(must)
            ok = allowed & ((self.masks & forced) == forced)
            if not ok.any():
                break
            best, gain = self._best(ok, bound)
            self._add(best)
            gains.append(gain)
            counts[self.rows[best]] += 1
            allowed &= np.bitwise_count(self.masks & self.masks[best]) <= rules.overlap_limit
            allowed &= (self.masks & _bits(np.flatnonzero(counts >= maximum))) == 0
            if progress is not None:
                progress(len(self.picked), n_lineups)
        return self.picked, gains

    def _best(self, ok: np.ndarray, bound: np.ndarray) -> tuple[int, float]:
        order = np.flatnonzero(ok)
        order = order[np.lexsort((order, -bound[order]))]
        size = BLOCK
        while True:
            head, rest = order[:size], order[size:]
            bound[head] = self.marginal(head)
            best = head[np.lexsort((head, -bound[head]))][0]
            if rest.size == 0 or bound[best] >= bound[rest].max():
                return int(best), float(bound[best])
            size *= 4

    def marginal(self, candidates: np.ndarray) -> np.ndarray:
        """Expected profit each candidate adds to the lineups picked so far: its own prize, plus
        the change to the prizes of the picked lineups it beats (one place lower) or ties."""
        x = self.scores[:, candidates].astype(np.int64)
        own_above = self.field_above[:, candidates].astype(np.int64)
        own_tied = self.field_tied[:, candidates].astype(np.int64) + 1
        gain = np.zeros(x.shape)
        if self.picked:
            board = self._board()
            below, at_most = board.count(x, "left"), board.count(x, "right")  # picked < x, <= x
            own_above += len(self.picked) - at_most
            own_tied += at_most - below
            gain += np.take_along_axis(board.beaten, below, axis=1)
            gain += np.take_along_axis(board.shared, at_most, axis=1) - np.take_along_axis(
                board.shared, below, axis=1
            )
        gain += self.prize(own_above, own_tied) - self.fee
        marginal: np.ndarray = gain.mean(axis=0)
        return marginal

    def _board(self) -> _Board:
        """The picked lineups sorted by score in each scenario, with running sums of what each
        loses when beaten or tied once more (rebuilt after each pick)."""
        if self.board is None:
            mine = self.scores[:, self.picked].astype(np.int64)
            base = self.prize(self.above, self.tied)
            order = np.argsort(mine, axis=1, kind="stable")
            beaten = np.take_along_axis(self.prize(self.above + 1, self.tied) - base, order, axis=1)
            shared = np.take_along_axis(self.prize(self.above, self.tied + 1) - base, order, axis=1)
            zero = np.zeros((mine.shape[0], 1))
            self.board = _Board(
                np.take_along_axis(mine, order, axis=1),
                np.concatenate([zero, np.cumsum(beaten, axis=1)], axis=1),
                np.concatenate([zero, np.cumsum(shared, axis=1)], axis=1),
            )
        return self.board

    def _add(self, candidate: int) -> None:
        x = self.scores[:, candidate : candidate + 1]
        if self.picked:
            mine = self.scores[:, self.picked]
            self.above = self.above + (x > mine)
            self.tied = self.tied + (x == mine)
            own_above = self.field_above[:, candidate] + (mine > x).sum(axis=1)
            own_tied = self.field_tied[:, candidate] + (mine == x).sum(axis=1) + 1
        else:
            own_above = self.field_above[:, candidate]
            own_tied = self.field_tied[:, candidate] + 1
        self.above = np.concatenate([self.above, own_above[:, None].astype(np.int64)], axis=1)
        self.tied = np.concatenate([self.tied, own_tied[:, None].astype(np.int64)], axis=1)
        self.picked.append(candidate)
        self.board = None


@dataclass(frozen=True, slots=True)
class _Board:
    """Per scenario (rows): the picked lineups' scores ascending, and the running sums (a leading
    zero) of their prize changes when beaten, and when tied, in that order."""

    scores: np.ndarray
    beaten: np.ndarray
    shared: np.ndarray

    def count(self, x: np.ndarray, side: Literal["left", "right"]) -> np.ndarray:
        """Per row, how many picked scores are below each x (side left) or at most x (right): one
        binary search over all rows, row r offset by r x span so the flattened rows stay sorted."""
        low = min(int(self.scores.min()), int(x.min()))
        span = max(int(self.scores.max()), int(x.max())) - low + 1
        rows = np.arange(x.shape[0], dtype=np.int64)[:, None]
        flat = (self.scores - low + rows * span).ravel()
        found: np.ndarray = (
            np.searchsorted(flat, x - low + rows * span, side=side) - rows * self.scores.shape[1]
        )
        return found


def _bits(drivers: np.ndarray) -> np.uint64:
    bits = np.left_shift(np.uint64(1), np.asarray(drivers, dtype=np.uint64))
    return np.uint64(np.bitwise_or.reduce(bits, initial=np.uint64(0)))


def _top(score: np.ndarray, count: int) -> np.ndarray:
    if score.size <= count:
        return np.arange(score.size)
    top: np.ndarray = np.argpartition(-score, count - 1)[:count]
    return top


def _standard(values: np.ndarray) -> np.ndarray:
    standard: np.ndarray = (values - values.mean()) / max(float(values.std()), 1e-12)
    return standard
