"""The fast exact path: every salary-feasible lineup as a row of driver indices and a bit mask.

A DraftKings slate of 40 drivers has at most C(40, 6) = 3.8 million rosters; building them all
with NumPy takes well under a second, and every per-lineup score is then a vectorised sum.
Portfolios are picked from this set under the same rules as the MILP (tests prove the answers
equal on random slates).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from ._rules import LineupRules

WINDOW = 16_384


@dataclass(frozen=True, slots=True)
class LineupSet:
    """All feasible lineups: rows (L, R) of driver indices (locks last) and (L,) uint64 masks."""

    rows: np.ndarray
    masks: np.ndarray

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def totals(self, per_driver: np.ndarray) -> np.ndarray:
        """Per-lineup sums of a per-driver quantity (for example mean points)."""
        sums: np.ndarray = per_driver[self.rows].sum(axis=1)
        return sums


def enumerate_lineups(rules: LineupRules) -> LineupSet:
    """Every roster meeting the roster size, cap, floor, locks and excludes, in lexicographic order."""
    locked = np.asarray(sorted(rules.locks), dtype=np.int64)
    free = np.asarray(
        [i for i in range(rules.n_drivers) if i not in rules.locks and i not in rules.excludes], np.int64
    )
    open_slots = rules.roster_size - len(locked)
    budget = rules.salary_cap - int(rules.salaries[locked].sum())
    combos, spent = _combinations(rules.salaries[free], open_slots, budget)
    keep = spent >= rules.salary_floor - int(rules.salaries[locked].sum())
    if not keep.all():
        combos = combos[keep]
    columns = [free.astype(np.int16)[combos[:, j]] for j in range(open_slots)]
    columns += [np.full(combos.shape[0], i, np.int16) for i in locked]
    masks = np.zeros(combos.shape[0], np.uint64)
    for column in columns:
        masks |= np.left_shift(np.uint64(1), column.astype(np.uint64))
    rows = np.stack(columns, axis=1) if columns else np.zeros((combos.shape[0], 0), np.int16)
    return LineupSet(rows=rows, masks=masks)


def _combinations(salaries: np.ndarray, k: int, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """k-subsets of range(n) in lexicographic order whose salaries fit the budget, with their sums.

    Grown one position at a time (one int8 column per position); a partial subset is dropped as
    soon as even the cheapest completion would break the budget.
    """
    n = salaries.shape[0]
    if k == 0:
        return np.zeros((1, 0), np.int8), np.zeros(1, np.int64)
    cheapest = np.sort(salaries).astype(np.int64)
    columns = [np.arange(n, dtype=np.int8)]
    spent = salaries.astype(np.int64)
    for depth in range(1, k):
        remaining = k - depth
        last = columns[-1].astype(np.int64)
        counts = np.maximum(n - remaining - last, 0)  # the next element leaves room for the rest
        parent = np.repeat(np.arange(last.size), counts)
        offset = np.arange(parent.size) - np.repeat(np.cumsum(counts) - counts, counts)
        following = last[parent] + 1 + offset
        spent = spent[parent] + salaries[following]
        fits = spent + cheapest[: remaining - 1].sum() <= budget
        parent, spent = parent[fits], spent[fits]
        columns = [column[parent] for column in columns] + [following[fits].astype(np.int8)]
    fits = spent <= budget
    return np.stack(columns, axis=1)[fits], spent[fits]


def best_first(scores: np.ndarray, head: int = 65_536) -> Iterator[np.ndarray]:
    """Indices by descending score (ties by index), in windows; sorts the tail only if reached."""
    if scores.size <= head:
        yield from _windows(np.lexsort((np.arange(scores.size), -scores)))
        return
    top = np.argpartition(-scores, head)[:head]
    top = top[np.lexsort((top, -scores[top]))]
    yield from _windows(top)
    rest = np.setdiff1d(np.arange(scores.size), top, assume_unique=True)
    yield from _windows(rest[np.lexsort((rest, -scores[rest]))])


def overlaps(masks: np.ndarray, mask: np.uint64) -> np.ndarray:
    """Number of drivers each lineup shares with one lineup."""
    shared: np.ndarray = np.bitwise_count(masks & mask)
    return shared


def driver_bits(drivers: np.ndarray) -> np.uint64:
    """One mask with the bit of each driver index set."""
    bits = np.left_shift(np.uint64(1), np.asarray(drivers).astype(np.uint64))
    return np.uint64(np.bitwise_or.reduce(bits, initial=np.uint64(0)))


@dataclass
class Picks:
    """The lineups a portfolio holds so far, and what they leave the next one.

    The next lineup shares at most overlap_limit drivers with each earlier one, holds no driver
    at its maximum exposure, and holds every driver whose minimum needs all the lineups still to
    come (the MILP engine's rule: a minimum is met late, never early).
    """

    n_lineups: int
    overlap_limit: int
    min_counts: np.ndarray  # (D,) lineups each driver must appear in
    max_counts: np.ndarray
    lineups: list[tuple[int, ...]] = field(default_factory=list)
    masks: list[np.uint64] = field(default_factory=list)
    counts: np.ndarray = field(init=False)
    forced_counts: np.ndarray = field(init=False)  # (D,) lineups that held a driver because it was forced

    def __post_init__(self) -> None:
        self.counts = np.zeros_like(self.max_counts)
        self.forced_counts = np.zeros_like(self.max_counts)

    @property
    def full(self) -> bool:
        return len(self.lineups) >= self.n_lineups

    def must_hold(self) -> np.ndarray:
        """(D,) bool: drivers the next lineup must hold."""
        must: np.ndarray = self.min_counts - self.counts >= self.n_lineups - len(self.lineups)
        return must

    def forced(self) -> np.uint64:
        return driver_bits(np.flatnonzero(self.must_hold()))

    def saturated(self) -> np.uint64:
        return driver_bits(np.flatnonzero(self.counts >= self.max_counts))

    def allowed(self, masks: np.ndarray) -> np.ndarray:
        """Which of these lineups may come next."""
        forced = self.forced()
        allowed: np.ndarray = ((masks & self.saturated()) == 0) & ((masks & forced) == forced)
        for mask in self.masks:
            allowed &= overlaps(masks, mask) <= self.overlap_limit
        return allowed

    def add(self, row: np.ndarray, mask: np.uint64) -> None:
        self.forced_counts += self.must_hold()
        self.lineups.append(tuple(int(i) for i in row))
        self.masks.append(mask)
        self.counts[row] += 1


def pick_in_order(
    lineups: LineupSet,
    windows: Iterator[np.ndarray],
    picks: Picks,
    *,
    on_pick: Callable[[int], None] | None = None,
) -> list[int]:
    """Walk lineups window by window (best first), adding to `picks` each one the rules allow after
    those picked so far: the greedy sequence the MILP produces when re-solved with an overlap cut
    per earlier lineup.

    Stops when the portfolio is full, when the windows run out, or when a minimum exposure starts
    to force a driver into every remaining lineup (the caller then walks the lineups that hold it).
    Returns the indices into `lineups` picked here.
    """
    found: list[int] = []
    forced = picks.forced()
    for window in windows:
        masks = lineups.masks[window]
        allowed = picks.allowed(masks)
        position = 0
        while not picks.full:
            free = np.flatnonzero(allowed[position:])
            if free.size == 0:
                break
            position += int(free[0])
            choice = int(window[position])
            found.append(choice)
            picks.add(lineups.rows[choice], lineups.masks[choice])
            if on_pick is not None:
                on_pick(len(picks.lineups))
            if picks.forced() != forced:
                return found
            allowed &= overlaps(masks, lineups.masks[choice]) <= picks.overlap_limit
            allowed &= (masks & picks.saturated()) == 0
        if picks.full:
            break
    return found


def _windows(order: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, order.size, WINDOW):
        yield order[start : start + WINDOW]
