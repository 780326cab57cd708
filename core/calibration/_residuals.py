"""Per-driver residuals of a backtest and their model-based null.

The finishing order can be calibrated over the field while one driver's laps led or fastest
laps run high race after race: a lineup is six particular drivers, so the check is per (driver,
archetype). For each group with at least MIN_RACES races, the mean residual (forecast mean minus
actual) and its t-statistic; the number of groups with |t| > T_THRESHOLD is compared with the
same count when each race's real result is replaced by one of that race's own simulated
scenarios (N_NULL_DRAWS times). Small means and skewed counts make |t| > 2 far from a 5% event
(a backmarker forecast 0.05 laps led who never leads has a tiny, steady residual), so only this
null, not the normal tail, says how many groups a calibrated model shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from ..sim import Key, ScenarioSet

STATS = ("dk_points", "fastest_laps", "laps_led")
MIN_RACES = 5
N_NULL_DRAWS = 200
T_THRESHOLD = 2.0


@dataclass(frozen=True, slots=True)
class RaceResiduals:
    """One race's forecast means, its actual outcomes and its null outcomes, per driver."""

    archetype: str
    driver_keys: tuple[str, ...]
    forecast: np.ndarray  # [stats, drivers] mean over the scenarios
    actual: np.ndarray  # [stats, drivers]; NaN where the race lacks the stat (no fastest laps)
    null: np.ndarray  # [draws, stats, drivers]: one of the race's scenarios per draw


def race_residuals(
    archetype: str,
    driver_keys: Sequence[str],
    scenarios: ScenarioSet,
    actual: np.ndarray,
    *,
    key: Key,
    n_draws: int = N_NULL_DRAWS,
) -> RaceResiduals:
    """`actual` is [stats, drivers] in STATS order (NaN rows where unknown); the null draws
    scenarios with replacement, the same scenario for every driver of a draw."""
    outcomes = np.stack([scenarios.points, scenarios.fastest_laps, scenarios.laps_led]).astype(
        np.float64
    )  # [stats, scenarios, drivers]
    picks = np.asarray(jax.random.randint(key, (n_draws,), 0, scenarios.n_scenarios))
    null = np.transpose(outcomes[:, picks, :], (1, 0, 2))
    unknown = np.isnan(actual)
    return RaceResiduals(
        archetype=archetype,
        driver_keys=tuple(driver_keys),
        forecast=outcomes.mean(axis=1),
        actual=actual,
        null=np.where(unknown[None], np.nan, null),
    )


def t_statistics(residuals: np.ndarray, group: np.ndarray, n_groups: int) -> tuple[np.ndarray, ...]:
    """Mean residual, t-statistic and count of each group along the last axis of `residuals`
    (leading axes are null draws). A group whose residuals are all equal has t = +-inf (0 when
    they are all 0)."""
    lead = residuals.shape[:-1]
    flat = residuals.reshape(-1, residuals.shape[-1])
    count = np.bincount(group, minlength=n_groups).astype(np.float64)
    sums = np.stack([np.bincount(group, weights=row, minlength=n_groups) for row in flat])
    squares = np.stack([np.bincount(group, weights=row**2, minlength=n_groups) for row in flat])
    mean = sums / np.maximum(count, 1)
    variance = np.maximum(squares - count * mean**2, 0.0) / np.maximum(count - 1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = mean / np.sqrt(variance / np.maximum(count, 1))
    t = np.where(np.abs(mean) < 1e-12, 0.0, t)
    return mean.reshape(*lead, n_groups), t.reshape(*lead, n_groups), count


def residual_diagnostics(races: Sequence[RaceResiduals]) -> dict[str, Any]:
    """The JSON section: per stat, the |t| > 2 counts against the null (median, 95th
    percentile) per archetype and overall, and every (driver, archetype) group's residuals."""
    report: dict[str, Any] = {
        "min_races": MIN_RACES,
        "n_null_draws": min((r.null.shape[0] for r in races), default=0),
        "threshold": T_THRESHOLD,
    }
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for s, stat in enumerate(STATS):
        report[stat] = _stat_counts(races, s, groups)
    report["groups"] = [
        {"driver": driver, "archetype": archetype, **values}
        for (driver, archetype), values in sorted(groups.items())
    ]
    return report


def _stat_counts(
    races: Sequence[RaceResiduals], s: int, groups: dict[tuple[str, str], dict[str, Any]]
) -> dict[str, Any]:
    """Counts of one stat; fills `groups` with each qualifying group's mean residual and t."""
    labels, rows, null_rows = [], [], []
    n_draws = min((r.null.shape[0] for r in races), default=0)
    for race in races:
        known = ~np.isnan(race.actual[s])
        labels += [(k, race.archetype) for k, ok in zip(race.driver_keys, known, strict=True) if ok]
        rows.append((race.forecast[s] - race.actual[s])[known])
        null_rows.append((race.forecast[s][None] - race.null[:n_draws, s])[:, known])
    if not labels:
        return {"overall": _counts(np.zeros(0), np.zeros((n_draws, 0)))}
    names = sorted(set(labels))
    index = {label: i for i, label in enumerate(names)}
    group = np.asarray([index[label] for label in labels])
    mean, t, count = t_statistics(np.concatenate(rows), group, len(names))
    _, null_t, _ = t_statistics(np.concatenate(null_rows, axis=1), group, len(names))
    kept = count >= MIN_RACES
    for g in np.flatnonzero(kept):
        entry = groups.setdefault(names[g], {"n_races": int(count[g])})
        entry[STATS[s]] = {"mean_residual": round(float(mean[g]), 3), "t": round(float(t[g]), 2)}
    archetype = np.asarray([a for _, a in names])
    by_archetype = {
        a: _counts(t[kept & (archetype == a)], null_t[:, kept & (archetype == a)])
        for a in sorted(set(archetype[kept]))
    }
    return {"overall": _counts(t[kept], null_t[:, kept]), "by_archetype": by_archetype}


def _counts(t: np.ndarray, null_t: np.ndarray) -> dict[str, float | int]:
    """Observed |t| > 2 count of the groups and the null's median and 95th percentile of it."""
    null = np.sum(np.abs(null_t) > T_THRESHOLD, axis=-1)
    return {
        "n_groups": int(t.shape[0]),
        "observed": int(np.sum(np.abs(t) > T_THRESHOLD)),
        "null_median": float(np.median(null)) if null.size else 0.0,
        "null_p95": round(float(np.percentile(null, 95)), 1) if null.size else 0.0,
    }
