"""The contest: in each scenario our lineups and the field are scored from the same points, ranked
together, and paid by the table, ties splitting the prizes of the places they share.

Scenario s plays simulated contest s x n_contests // n_scenarios (contiguous blocks). Points are
rounded to hundredths (the sites score to two decimals) and summed as integers, so equal lineups
(ours or the field's) always tie exactly. Within a chunk of scenarios, a table over the range of
our scores tells each field lineup how many of ours it beats and whether it ties one, so the
field is never sorted: O(entries + range) per scenario, memory bounded by the chunk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from jaxtyping import Array

from ..errors import InvalidInput
from ..progress import Progress
from ._field import Field
from ._payouts import PayoutTable

CHUNK_ELEMENTS = 1 << 23  # scenario x entry scores held at once (32 MiB of float32)
MAX_CHUNK = 1024
TOP_SHARE = 0.01  # "top-1 %": finishing within the best 1% of the entries


@dataclass(frozen=True, slots=True)
class ContestMetrics:
    """Money and placings of one lineup or a whole entry set, over the scenarios."""

    expected_profit: float  # dollars: expected prize less the entry fees
    roi: float  # expected profit / fees paid
    win: float  # expected share of first place (a tie for first counts 1/tied)
    top_1: float  # P(finishing in the best 1% of the entries); a set: at least one lineup
    cash: float  # P(a prize); a set: at least one lineup
    duplicates: float  # expected identical field lineups; a set: their sum
    profit_p5: float
    profit_p50: float
    profit_p95: float
    standard_error: float  # of expected_profit, over scenarios


@dataclass(frozen=True, slots=True)
class ContestResult:
    payouts: PayoutTable
    lineups: tuple[tuple[int, ...], ...]  # driver indices, ascending
    per_lineup: tuple[ContestMetrics, ...]
    portfolio: ContestMetrics
    profit: np.ndarray  # (scenarios, lineups) dollars


@dataclass(frozen=True, slots=True)
class Placings:
    """Per scenario and lineup (int32, (scenarios, lineups)): field entries that beat it and that
    tie it; our lineups that beat it and that tie it (itself included); and its score."""

    field_above: np.ndarray
    field_tied: np.ndarray
    ours_above: np.ndarray
    ours_tied: np.ndarray
    scores: np.ndarray  # hundredths of a point


def simulate_contest(
    points: np.ndarray | Array,
    lineups: Sequence[Sequence[int]],
    field: Field,
    payouts: PayoutTable,
    *,
    progress: Progress | None = None,
) -> ContestResult:
    """Enter `lineups` (driver indices into the points' columns) into the contest against the
    field in every scenario (module docstring: ranking and ties) and summarise the money."""
    rows = _as_rows(lineups, field)
    placings = place(points, rows, field, progress=progress)
    better = placings.field_above + placings.ours_above
    tied = placings.field_tied + placings.ours_tied
    prize = pay(payouts, better, tied)
    profit = prize - payouts.entry_fee
    first = np.where(better == 0, 1.0 / tied, 0.0)
    top: np.ndarray = better + 1 <= math.ceil(TOP_SHARE * payouts.n_entries)
    cashed: np.ndarray = prize > 0
    dupes = duplicates(rows, field)
    per_lineup = tuple(
        _metrics(profit[:, i], payouts.entry_fee, first[:, i], top[:, i], cashed[:, i], float(dupes[i]))
        for i in range(rows.shape[0])
    )
    portfolio = _metrics(
        profit.sum(axis=1), payouts.entry_fee * rows.shape[0], first.sum(axis=1),
        np.any(top, axis=1), np.any(cashed, axis=1), float(dupes.sum()),
    )  # fmt: skip
    return ContestResult(
        payouts, tuple(tuple(int(d) for d in r) for r in rows), per_lineup, portfolio, profit
    )


def place(
    points: np.ndarray | Array, rows: np.ndarray, field: Field, *, progress: Progress | None = None
) -> Placings:
    """Rank our lineups (rows, (L, R) ascending driver indices) against the field and each other
    in every scenario, chunking the scenario axis so memory stays bounded."""
    hundredths = scores_grid(points)
    n_scenarios = hundredths.shape[0]
    if n_scenarios == 0:
        raise InvalidInput("points", "no scenarios")
    chunk = max(1, min(MAX_CHUNK, CHUNK_ELEMENTS // max(field.n_entries, rows.shape[0])))
    ours = incidence(rows, hundredths.shape[1])
    parts: list[tuple[np.ndarray, ...]] = []
    for contest in range(field.n_contests):
        start, stop = (
            contest * n_scenarios // field.n_contests,
            (contest + 1) * n_scenarios // field.n_contests,
        )
        distinct, copies = np.unique(field.lineups[contest], axis=0, return_counts=True)
        opponents = incidence(distinct, hundredths.shape[1])
        for low in range(start, stop, chunk):
            block = hundredths[low : min(low + chunk, stop)]
            mine = lineup_scores(block, ours)
            counted = rank_chunk(lineup_scores(block, opponents), copies, mine)
            parts.append((*counted, mine))
            if progress is not None:
                progress(min(low + chunk, stop), n_scenarios)
    columns = [np.concatenate([p[k] for p in parts]) for k in range(5)]
    return Placings(*columns)


def scores_grid(points: np.ndarray | Array) -> np.ndarray:
    """Driver points in hundredths of a point, as float32 integers: the sites score to two
    decimals, and integer sums are exact, so equal lineups tie exactly whatever the order."""
    grid: np.ndarray = np.rint(np.asarray(points, dtype=np.float64) * 100.0).astype(np.float32)
    if grid.size and np.abs(grid).max() * 8 > 2**24:
        raise InvalidInput("points", "a driver's points exceed what float32 sums hold exactly")
    return grid


def incidence(rows: np.ndarray, n_drivers: int) -> np.ndarray:
    """(drivers, lineups) 0/1 float32: a lineup's score is one column of points @ incidence."""
    out = np.zeros((n_drivers, rows.shape[0]), np.float32)
    out[rows.T.astype(np.int64), np.arange(rows.shape[0])] = 1.0
    return out


def lineup_scores(hundredths: np.ndarray, lineups: np.ndarray) -> np.ndarray:
    """(scenarios, lineups) int32 scores in hundredths (exact: integer-valued float32 products)."""
    scores: np.ndarray = (hundredths @ lineups).astype(np.int32)
    return scores


def rank_chunk(field_scores: np.ndarray, copies: np.ndarray, mine: np.ndarray) -> tuple[np.ndarray, ...]:
    """For each scenario (row) and each of our lineups: field entries above it and tied with it,
    our lineups above it and tied with it (itself included). int32, (scenarios, lineups).

    field_scores holds the field's distinct lineups, `copies` how many entries play each. Scores
    are integers, so a table over each row's range of our scores gives, for any value, how many
    of ours are below it and how many equal it; every field lineup then needs two table look-ups
    and a weighted count, without sorting the field. Scores outside our range clip to its ends.
    """
    n_rows, n_ours = mine.shape
    rows = np.arange(n_rows, dtype=np.int32)[:, None]
    low = mine.min(axis=1, keepdims=True) - 1
    width = int((mine.max(axis=1, keepdims=True) - low).max()) + 2
    at_value = np.bincount((rows * width + (mine - low)).ravel(), minlength=n_rows * width).astype(np.int32)
    below = (
        np.cumsum(at_value.reshape(n_rows, width), axis=1, dtype=np.int32) - at_value.reshape(n_rows, width)
    ).ravel()
    index = rows * width + np.clip(field_scores - low, 0, width - 1)
    ranks = (rows * (n_ours + 1) + below[index]).ravel()  # ours below each field lineup
    weights = np.broadcast_to(copies, field_scores.shape).ravel()
    size = n_rows * (n_ours + 1)
    by_rank = np.bincount(ranks, weights, minlength=size).reshape(n_rows, n_ours + 1)
    equal_at = np.bincount(ranks, weights * (at_value[index.ravel()] > 0), minlength=size).reshape(n_rows, -1)
    at_least = np.cumsum(by_rank[:, ::-1], axis=1)[:, ::-1]  # at_least[r, j]: entries with rank >= j
    mine_index = rows * width + (mine - low)
    left = below[mine_index]  # ours strictly below each of ours
    tied = at_value[mine_index]
    right = left + tied
    # An entry beats our lineup v exactly when every one of ours <= v is below it.
    field_above = np.take_along_axis(at_least, right, axis=1)
    field_tied = np.take_along_axis(equal_at, left, axis=1)
    return (np.rint(field_above).astype(np.int32), np.rint(field_tied).astype(np.int32),
            (n_ours - right).astype(np.int32), tied)  # fmt: skip


def pay(payouts: PayoutTable, above: np.ndarray, tied: np.ndarray) -> np.ndarray:
    """Each entry's prize: the places above+1..above+tied shared equally (float64 dollars)."""
    cumulative = payouts.cumulative()
    paid = cumulative.size - 1
    top = cumulative[np.minimum(above + tied, paid)]
    prize: np.ndarray = (top - cumulative[np.minimum(above, paid)]) / tied
    return prize


def duplicates(rows: np.ndarray, field: Field) -> np.ndarray:
    """(L,) mean number of field lineups identical to each of ours, over the contests."""
    ours = np.bitwise_or.reduce(np.left_shift(np.uint64(1), rows.astype(np.uint64)), axis=1)
    total = np.zeros(rows.shape[0])
    for masks in field.masks():
        unique, counts = np.unique(masks, return_counts=True)
        at = np.minimum(np.searchsorted(unique, ours), unique.size - 1)
        total += np.where(unique[at] == ours, counts[at], 0)
    dupes: np.ndarray = total / field.n_contests
    return dupes


def _as_rows(lineups: Sequence[Sequence[int]], field: Field) -> np.ndarray:
    rows = np.sort(np.asarray([list(lineup) for lineup in lineups], dtype=np.int64), axis=1)
    if rows.ndim != 2 or rows.shape[0] == 0:
        raise InvalidInput("lineups", "no lineups to enter")
    if rows.shape[1] != field.lineups.shape[2]:
        raise InvalidInput(
            "lineups", f"lineups of {rows.shape[1]} drivers, the field's have {field.lineups.shape[2]}"
        )
    return rows


def _metrics(
    profit: np.ndarray, fees: float, first: np.ndarray, top: np.ndarray, cashed: np.ndarray, dupes: float
) -> ContestMetrics:
    p5, p50, p95 = np.quantile(profit, [0.05, 0.5, 0.95])
    expected = float(profit.mean())
    return ContestMetrics(
        expected_profit=expected,
        roi=expected / fees if fees > 0 else 0.0,
        win=float(first.mean()),
        top_1=float(top.mean()),
        cash=float(cashed.mean()),
        duplicates=dupes,
        profit_p5=float(p5),
        profit_p50=float(p50),
        profit_p95=float(p95),
        standard_error=float(profit.std(ddof=1) / math.sqrt(profit.size)) if profit.size > 1 else 0.0,
    )
