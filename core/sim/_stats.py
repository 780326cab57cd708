"""Race-level statistics of a scenario set: the quantities of the archetype targets in docs/race-model.md."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ._scenarios import ScenarioSet


@dataclass(frozen=True, slots=True)
class RaceStatistics:
    top1_share_laps_led: float  # mean share of the race led by its lap leader
    leaders_per_race: float  # drivers leading >= 1 lap
    p_most_laps_wins: float  # the driver with the most laps led wins (ties count as not)
    dnf_rate: float
    dnf_dispersion: float  # variance of the DNF count / binomial variance
    spearman_start_finish: float  # mean over races

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def race_statistics(scenarios: ScenarioSet) -> RaceStatistics:
    led = scenarios.laps_led.astype(np.int32)
    n_scenarios, n_drivers = led.shape
    top = led.max(axis=1)
    unique_top = (led == top[:, None]).sum(axis=1) == 1
    winner = np.argmin(scenarios.finish_position, axis=1)
    most_laps_wins = unique_top & (np.argmax(led, axis=1) == winner)
    dnf_counts = scenarios.dnf.sum(axis=1)
    p = dnf_counts.mean() / n_drivers
    binomial_variance = n_drivers * p * (1 - p)
    return RaceStatistics(
        top1_share_laps_led=float((top / scenarios.race_length).mean()),
        leaders_per_race=float((led > 0).sum(axis=1).mean()),
        p_most_laps_wins=float(most_laps_wins.mean()),
        dnf_rate=float(p),
        dnf_dispersion=float(dnf_counts.var() / binomial_variance) if binomial_variance else 0.0,
        spearman_start_finish=_mean_spearman(scenarios.start_position, scenarios.finish_position),
    )


def _mean_spearman(start: np.ndarray, finish: np.ndarray) -> float:
    """Spearman's rho per race (both are permutations of 1..D, so no ties), averaged."""
    n = start.shape[0]  # drivers
    d = finish.astype(np.float64) - start[None, :].astype(np.float64)
    return float(np.mean(1.0 - 6.0 * (d**2).sum(axis=1) / (n * (n**2 - 1))))


@dataclass(frozen=True, slots=True)
class DriverSummary:
    driver_id: str
    mean_points: float
    p90_points: float
    win_rate: float
    top5_rate: float
    mean_laps_led: float
    mean_fastest_laps: float
    dnf_rate: float


def driver_summaries(scenarios: ScenarioSet) -> list[DriverSummary]:
    """Per-driver summary over the scenarios, sorted by mean points (best first)."""
    points = scenarios.points
    finish = scenarios.finish_position
    rows = [
        DriverSummary(
            driver_id=driver_id,
            mean_points=float(points[:, i].mean()),
            p90_points=float(np.quantile(points[:, i], 0.9)),
            win_rate=float((finish[:, i] == 1).mean()),
            top5_rate=float((finish[:, i] <= 5).mean()),
            mean_laps_led=float(scenarios.laps_led[:, i].mean()),
            mean_fastest_laps=float(scenarios.fastest_laps[:, i].mean()),
            dnf_rate=float(scenarios.dnf[:, i].mean()),
        )
        for i, driver_id in enumerate(scenarios.driver_ids)
    ]
    return sorted(rows, key=lambda row: -row.mean_points)
