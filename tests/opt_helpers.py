"""Brute-force references for the lineup tests: every roster by itertools, scored with NumPy.

Nothing here calls core.opt, so the tests compare core's answers with an independent computation.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

TAIL = 0.2


@dataclass(frozen=True)
class Slate:
    """A random small slate: salaries, driver ids and a points matrix (scenarios x drivers)."""

    salaries: tuple[int, ...]
    points: np.ndarray

    @property
    def n_drivers(self) -> int:
        return len(self.salaries)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(f"d{i:02d}" for i in range(self.n_drivers))


def random_points(means: Sequence[float], n_scenarios: int, seed: int) -> np.ndarray:
    """Skewed, correlated points: a per-driver mean, a shared race factor and gamma noise."""
    rng = np.random.default_rng(seed)
    n = len(means)
    spread = rng.uniform(2.0, 15.0, n)
    common = rng.normal(size=(n_scenarios, 1)) * rng.uniform(0.0, 6.0, n)
    noise = (rng.standard_gamma(rng.uniform(0.5, 4.0, n), size=(n_scenarios, n)) - 1.0) * spread
    return np.asarray(means, dtype=np.float64) + common + noise


def feasible_lineups(
    salaries: Sequence[int],
    roster_size: int,
    cap: int,
    *,
    floor: int = 0,
    locks: frozenset[int] = frozenset(),
    excludes: frozenset[int] = frozenset(),
) -> list[tuple[int, ...]]:
    """Every roster (ascending indices) that meets the size, cap, floor, locks and excludes."""
    return [
        combo
        for combo in itertools.combinations(range(len(salaries)), roster_size)
        if floor <= sum(salaries[i] for i in combo) <= cap
        and locks <= set(combo)
        and not excludes & set(combo)
    ]


def totals(points: np.ndarray, lineups: Sequence[Sequence[int]]) -> np.ndarray:
    """(lineups, scenarios) points of each lineup in each scenario."""
    onehot = np.zeros((len(lineups), points.shape[1]))
    for row, lineup in enumerate(lineups):
        onehot[row, list(lineup)] = 1.0
    out: np.ndarray = onehot @ points.T
    return out


def cvar(lineup_totals: np.ndarray, tail: float = TAIL) -> np.ndarray:
    """Mean of the worst ceil(tail * S) totals, per row (the lower-tail CVaR of a lineup)."""
    n_scenarios = lineup_totals.shape[-1]
    worst = max(1, -(-round(tail * 1000) * n_scenarios // 1000))  # exact ceil for tails in 1/1000s
    out: np.ndarray = np.sort(lineup_totals, axis=-1)[..., :worst].mean(axis=-1)
    return out


def best(values: np.ndarray, lineups: Sequence[tuple[int, ...]]) -> tuple[float, tuple[int, ...] | None]:
    """The best value and its lineup, or None for the lineup when another is within 1e-6 of it."""
    order = np.argsort(-values, kind="stable")
    top = float(values[order[0]])
    unique = len(values) == 1 or float(values[order[1]]) < top - 1e-6
    return top, (lineups[int(order[0])] if unique else None)


LEVELS = 255  # the upside ramp's levels (core/opt/_ramp.py), restated here


def ramp_levels(lineup_totals: np.ndarray, target: float, width: float) -> np.ndarray:
    """floor(255 x clip((p - target) / width + 1/2, 0, 1)) per total p, as integers (width > 0)."""
    levels = np.floor((lineup_totals - target) * (LEVELS / width) + LEVELS / 2)
    out: np.ndarray = np.clip(levels, 0, LEVELS).astype(np.int64)
    return out


def ramp_width(points: np.ndarray, lineups: Sequence[Sequence[int]], smoothing: float) -> float:
    """smoothing x the standard deviation of the points of the lineup with the most mean points."""
    means = points.mean(axis=0)
    best_lineup = max(lineups, key=lambda lineup: float(means[list(lineup)].sum()))
    return smoothing * float(points[:, list(best_lineup)].sum(axis=1).std())


def near_a_level_edge(lineup_totals: np.ndarray, target: float, width: float, within: float = 1e-5) -> bool:
    """Whether a total lies within `within` points of an edge between two ramp levels, where the
    solver's feasibility tolerance may count it on the other side."""
    scaled = (lineup_totals - target) * (LEVELS / width) + LEVELS / 2
    inside = (scaled > -1) & (scaled < LEVELS + 1)
    return bool(np.any(inside & (np.abs(scaled - np.round(scaled)) * width / LEVELS < within)))
