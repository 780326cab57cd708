"""Exact per-lineup scores over the scenarios, and the normal approximation that ranks lineups
before they are scored (the shortlist of the enumeration engine, for upside and floor)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ._context import Context
from ._enumerate import LineupSet
from ._milp import Objective, tail_count

CHUNK = 2_048  # lineups scored at once: 2,048 x 10,000 scenarios of float64 is 164 MB


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


def lineup_spread(c: Context, lineups: LineupSet) -> float:
    """The mean over lineups of the standard deviation of their points (the smoothing's scale)."""
    total = sum(float(totals.std(axis=1).sum()) for _, totals in candidate_points(c, lineups))
    return total / max(len(lineups), 1)


def upside_hits(c: Context, lineups: LineupSet, width: float) -> np.ndarray:
    """Hits of the target: packed bits (lineups, words) uint64 for plain hits (width 0), else
    (lineups, scenarios) float32 logistic hits of that width."""
    n_scenarios = c.points.shape[0]
    if width > 0:
        soft = np.empty((len(lineups), n_scenarios), np.float32)
        for part, totals in candidate_points(c, lineups):
            soft[part] = 1.0 / (1.0 + np.exp(-(totals - c.target) / width))
        return soft
    words = -(-n_scenarios // 64)
    packed = np.zeros((len(lineups), words * 8), np.uint8)
    for part, totals in candidate_points(c, lineups):
        packed[part, : -(-n_scenarios // 8)] = np.packbits(totals >= c.target, axis=1)
    return packed.view(np.uint64)


def hit_counts(hits: np.ndarray) -> np.ndarray:
    """(lineups,) float64: each lineup's hits over every scenario."""
    if hits.dtype == np.uint64:
        packed_counts: np.ndarray = np.bitwise_count(hits).sum(axis=1, dtype=np.float64)
        return packed_counts
    counts: np.ndarray = hits.sum(axis=1, dtype=np.float64)
    return counts


def gains(hits: np.ndarray, open_share: np.ndarray) -> np.ndarray:
    """(rows,) each lineup's hits in the scenarios no earlier lineup reached (weighted by
    open_share, P(no earlier lineup reached the target), which plain hits keep at 0 or 1)."""
    if hits.dtype == np.uint64:
        open_bits = np.zeros(hits.shape[1] * 64, bool)
        open_bits[: open_share.size] = open_share > 0.5
        packed = np.packbits(open_bits).view(np.uint64)
        open_gains: np.ndarray = np.bitwise_count(hits & packed).sum(axis=1, dtype=np.float64)
        return open_gains
    weighted: np.ndarray = hits @ open_share
    return weighted


def cover(open_share: np.ndarray, hit: np.ndarray) -> None:
    """Mark one lineup's hits as reached, in place."""
    if hit.dtype == np.uint64:
        reached = np.unpackbits(hit.view(np.uint8))[: open_share.size].astype(bool)
        open_share[reached] = 0.0
    else:
        open_share *= 1.0 - hit
