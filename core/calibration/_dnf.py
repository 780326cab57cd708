"""DNF rates: each archetype's base rate, each track's shrunk toward it, each driver's ratio to
what the tracks raced and the places started predict, and the slope of the rate over the grid."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
import scipy.optimize
from scipy.special import gammaln

from ..history import HistoricalRace
from ..slate import ARCHETYPES, Archetype
from ._settings import RatingSettings
from ._table import TrackFit, grid_dnf_factor, grid_fraction


def base_dnf_rates(
    races: Sequence[HistoricalRace], weights: np.ndarray, settings: RatingSettings
) -> dict[Archetype, float]:
    dnfs: dict[str, float] = defaultdict(float)
    cars: dict[str, float] = defaultdict(float)
    for race, w in zip(races, weights, strict=True):
        dnfs[race.archetype] += w * sum(e.dnf for e in race.entries)
        cars[race.archetype] += w * len(race.entries)
    total = sum(dnfs.values()) / max(sum(cars.values()), 1e-9) if cars else 0.12
    pseudo_cars = settings.dnf_pseudo_races * 38
    return {a: float((dnfs[a] + pseudo_cars * total) / (cars[a] + pseudo_cars)) for a in ARCHETYPES}


def track_fits(
    races: Sequence[HistoricalRace],
    weights: np.ndarray,
    scales: Mapping[tuple[str, Archetype], float],
    base: Mapping[Archetype, float],
    settings: RatingSettings,
) -> dict[str, TrackFit]:
    """Each track as raced in its latest archetype: its fitted scale (1 where the fit has none)
    and its DNF rate, shrunk toward the archetype's with `dnf_track_pseudo_races` races."""
    latest = {r.track_id: r.archetype for r in sorted(races, key=lambda r: (r.season, r.race_number))}
    dnfs: dict[str, float] = defaultdict(float)
    cars: dict[str, float] = defaultdict(float)
    for race, w in zip(races, weights, strict=True):
        if race.archetype == latest[race.track_id]:
            dnfs[race.track_id] += w * sum(e.dnf for e in race.entries)
            cars[race.track_id] += w * len(race.entries)
    pseudo_cars = settings.dnf_track_pseudo_races * 38
    return {
        track: TrackFit(
            archetype=archetype,
            scale=scales.get((track, archetype), 1.0),
            dnf_rate=float((dnfs[track] + pseudo_cars * base[archetype]) / (cars[track] + pseudo_cars)),
        )
        for track, archetype in latest.items()
    }


def dnf_ratios(
    races: Sequence[HistoricalRace],
    weights: np.ndarray,
    base: Mapping[Archetype, float],
    tracks: Mapping[str, TrackFit],
    settings: RatingSettings,
    start_slopes: Mapping[Archetype, float],
) -> tuple[dict[str, float], float | None]:
    """Each driver's age-weighted DNFs over those expected from the tracks raced and the places
    started (a driver is not crash-prone for racing at Daytona, or from the back), shrunk toward 1;
    and the prior's fitted strength (None with the fixed prior)."""
    observed: dict[str, float] = defaultdict(float)
    expected: dict[str, float] = defaultdict(float)
    weight: dict[str, float] = defaultdict(float)
    weight_squared: dict[str, float] = defaultdict(float)
    for race, w in zip(races, weights, strict=True):
        track = tracks.get(race.track_id)
        rate = (
            track.dnf_rate
            if track is not None and track.archetype == race.archetype
            else base[race.archetype]
        )
        slope = start_slopes.get(race.archetype, 0.0)
        for e in race.entries:
            observed[e.driver_key] += w * e.dnf
            expected[e.driver_key] += (
                w * rate * float(grid_dnf_factor(slope, grid_fraction(e.start, len(race.entries))))
            )
            weight[e.driver_key] += w
            weight_squared[e.driver_key] += w * w
    keys = list(expected)
    # Age-weighted sums count a race as less than one: c = sum(w) / sum(w^2) races per unit of
    # weight turns them back into effective counts (c x observed DNFs, c x expected).
    c = np.asarray([weight[key] / weight_squared[key] for key in keys])
    dnfs = np.asarray([observed[key] for key in keys])
    due = np.asarray([expected[key] for key in keys])
    fitted = dnf_prior_strength(c * dnfs, c * due) if settings.dnf_pseudo_fitted else None
    k = np.full_like(c, settings.dnf_pseudo) if fitted is None else fitted / c  # in weighted units
    return {key: float((dnfs[i] + k[i]) / (due[i] + k[i])) for i, key in enumerate(keys)}, fitted


def dnf_prior_strength(observed: np.ndarray, expected: np.ndarray) -> float:
    """How much drivers' DNF propensities really differ, from the data (empirical Bayes): each
    driver's ratio is Gamma(a, a) (mean 1, variance 1 / a) and their DNFs Poisson(ratio x expected),
    so the counts are negative binomial; a maximises their likelihood."""

    def loss(log_a: float) -> float:
        a = math.exp(log_a)
        terms = gammaln(observed + a) - gammaln(a) + a * math.log(a) - (observed + a) * np.log(expected + a)
        return -float(np.sum(terms))

    fit = scipy.optimize.minimize_scalar(loss, bounds=(math.log(0.1), math.log(1000.0)), method="bounded")
    return math.exp(float(fit.x))


def dnf_start_slopes(
    races: Sequence[HistoricalRace],
    weights: np.ndarray,
    tracks: Mapping[str, TrackFit],
    dnf_ratio: Mapping[str, float],
) -> dict[Archetype, float]:
    """Per archetype, the slope g of log DNF rate on the start fraction (0 pole, 1 last) that
    maximises the age-weighted Bernoulli likelihood of the DNFs, with each car's rate the track's
    x the driver's ratio x exp(g (fraction - 0.5)) (a weak prior holds g near 0)."""
    rows: dict[Archetype, list[tuple[float, float, float, float]]] = defaultdict(list)
    for race, w in zip(races, weights, strict=True):
        track = tracks.get(race.track_id)
        if track is None or track.archetype != race.archetype:
            continue
        for e in race.entries:
            fraction = grid_fraction(e.start, len(race.entries))
            rows[race.archetype].append(
                (w, float(e.dnf), track.dnf_rate * dnf_ratio.get(e.driver_key, 1.0), fraction)
            )
    slopes = {}
    for archetype, data in rows.items():
        w, d, rate, fraction = np.asarray(data).T
        fit = scipy.optimize.minimize_scalar(
            _dnf_slope_loss, bounds=(-3, 3), method="bounded", args=(w, d, rate, fraction)
        )
        slopes[archetype] = float(fit.x)
    return slopes


def _dnf_slope_loss(g: float, w: np.ndarray, d: np.ndarray, rate: np.ndarray, fraction: np.ndarray) -> float:
    """The weighted negative Bernoulli log-likelihood of DNFs `d` at slope g, plus g^2 / 2."""
    p = np.clip(rate * grid_dnf_factor(g, fraction), 1e-6, 0.95)
    return float(-np.sum(w * (d * np.log(p) + (1 - d) * np.log1p(-p))) + 0.5 * g * g)
