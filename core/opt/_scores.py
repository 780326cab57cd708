"""Exact per-lineup scores over the scenarios, and the normal approximation that ranks lineups
before they are scored (the shortlist of the enumeration engine, for upside and floor)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ._context import Context
from ._enumerate import LineupSet
from ._milp import Objective, tail_count
from ._ramp import LEVELS, ramp_levels, uncover

CHUNK = 2_048  # lineups scored at once: 2,048 x 10,000 scenarios of float64 is 164 MB
GAIN_ROWS = 2**22  # ramp levels widened to int64 at once for a gain: 32 MiB


def approximation(c: Context, lineups: LineupSet, mean: np.ndarray, objective: Objective) -> np.ndarray:
    """Each lineup's objective under a normal approximation of its points."""
    std = np.sqrt(np.maximum(_lineup_variance(lineups, np.cov(c.points, rowvar=False)), 1e-12))
    if objective == "upside":
        approx: np.ndarray = (mean - c.target) / std  # P(beat) = Phi(approx) under normality
        return approx
    z = _normal_quantile(c.tail)
    tail_mean: np.ndarray = mean - std * math.exp(-z * z / 2) / math.sqrt(2 * math.pi) / c.tail
    return tail_mean


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


def candidate_points(c: Context, lineups: LineupSet) -> Iterator[tuple[slice, np.ndarray]]:
    """Points of each lineup in each scenario, CHUNK lineups at a time: (slice, (chunk, scenarios)).

    Chunks keep memory flat: a pool can hold hundreds of thousands of lineups."""
    rows = lineups.rows.astype(np.int64)
    for start in range(0, rows.shape[0], CHUNK):
        part = slice(start, min(start + CHUNK, rows.shape[0]))
        onehot = np.zeros((part.stop - start, c.rules.n_drivers))
        np.put_along_axis(onehot, rows[part], 1.0, axis=1)
        yield part, onehot @ c.points.T


def tail_means(c: Context, lineups: LineupSet) -> np.ndarray:
    worst = tail_count(c.tail, c.points.shape[0])
    tail_mean = np.empty(len(lineups))
    for part, totals in candidate_points(c, lineups):
        totals.partition(worst - 1, axis=1)  # in place: the chunk is used once
        tail_mean[part] = totals[:, :worst].mean(axis=1)
    return tail_mean


def upside_hits(c: Context, lineups: LineupSet) -> np.ndarray:
    """Hits of the target: packed bits (lineups, words) uint64 for plain hits (c.width 0), else
    (lineups, scenarios) uint8 ramp levels (see _ramp): a byte per lineup and scenario."""
    n_scenarios = c.points.shape[0]
    if c.width > 0:
        levels = np.empty((len(lineups), n_scenarios), np.uint8)
        for part, totals in candidate_points(c, lineups):
            levels[part] = ramp_levels(totals, c.target, c.width, overwrite=True)
        return levels
    words = -(-n_scenarios // 64)
    packed = np.zeros((len(lineups), words * 8), np.uint8)
    for part, totals in candidate_points(c, lineups):
        packed[part, : -(-n_scenarios // 8)] = np.packbits(totals >= c.target, axis=1)
    return packed.view(np.uint64)


def first_gains(hits: np.ndarray) -> np.ndarray:
    """(lineups,) float64: each lineup's score before any lineup is picked (every scenario open)."""
    if hits.dtype == np.uint64:
        packed_counts: np.ndarray = np.bitwise_count(hits).sum(axis=1, dtype=np.float64)
        return packed_counts
    counts: np.ndarray = LEVELS * hits.sum(axis=1, dtype=np.int64).astype(np.float64)
    return counts


def gains(hits: np.ndarray, open_levels: np.ndarray) -> np.ndarray:
    """(rows,) each lineup's score given the open levels (int64, per scenario: LEVELS while no
    earlier lineup reached it). Plain hits: the hits in still open scenarios; ramp levels: the sum
    of level x open level, an integer (int64 sums, a few rows at a time: NumPy widens each row)."""
    if hits.dtype == np.uint64:
        open_bits = np.zeros(hits.shape[1] * 64, bool)
        open_bits[: open_levels.size] = open_levels > 0
        packed = np.packbits(open_bits).view(np.uint64)
        open_gains: np.ndarray = np.bitwise_count(hits & packed).sum(axis=1, dtype=np.float64)
        return open_gains
    rows = max(1, GAIN_ROWS // max(open_levels.size, 1))
    weighted = np.empty(hits.shape[0])
    for start in range(0, hits.shape[0], rows):
        weighted[start : start + rows] = hits[start : start + rows] @ open_levels  # int64, exact
    return weighted


def cover(open_levels: np.ndarray, hit: np.ndarray) -> None:
    """Mark one lineup's hits as reached, in place."""
    if hit.dtype == np.uint64:
        reached = np.unpackbits(hit.view(np.uint8))[: open_levels.size].astype(bool)
        open_levels[reached] = 0
    else:
        uncover(open_levels, hit)
