"""fit_ratings: every rating from the races before a given one, weighted by age, assembled into a
RatingTable; dominance and speed are fitted here, the rest in _strength, _dnf and _teams
(docs/methods.md describes the model)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..history import HistoricalRace
from ..slate import ARCHETYPES, Archetype
from ._concentration import fastest_lap_concentrations, lead_concentrations
from ._design import Design, build_design
from ._dnf import base_dnf_rates, dnf_ratios, dnf_start_slopes, track_fits
from ._laps import excess_share, fastest_lap_shares
from ._settings import RatingSettings
from ._strength import StrengthFit, fit_strength
from ._table import ArchetypeFit, DriverRating, RatingTable
from ._teams import team_shocks

RACES_PER_SEASON = 36.0
_AVERAGE = dict.fromkeys(ARCHETYPES, 0.0)  # dominance and speed of a driver with no laps data


def race_time(season: int, race_number: int) -> float:
    """A race's time in seasons, for age weights."""
    return season + (race_number - 1) / RACES_PER_SEASON


def age_weights(races: Sequence[HistoricalRace], as_of: tuple[int, int], half_life: float) -> np.ndarray:
    """Each race's weight: one half per `half_life` seasons of age at `as_of`."""
    now = race_time(*as_of)
    ages = np.asarray([now - race_time(r.season, r.race_number) for r in races])
    return np.power(0.5, ages / half_life)


def fit_ratings(
    races: Sequence[HistoricalRace], as_of: tuple[int, int], settings: RatingSettings | None = None
) -> RatingTable:
    """Fit every rating from `races` (all strictly before `as_of`, in any order)."""
    settings = settings or RatingSettings()
    if any((r.season, r.race_number) >= as_of for r in races):
        raise ValueError("fit_ratings got a race that is not strictly before as_of")
    now = race_time(*as_of)
    races = [r for r in races if now - race_time(r.season, r.race_number) <= settings.window_seasons]
    weights = age_weights(races, as_of, settings.half_life_seasons)
    design = build_design(races, weights, settings)
    strength = fit_strength(design, settings)
    base_dnf = base_dnf_rates(races, weights, settings)
    tracks = track_fits(races, weights, strength.track_scale, base_dnf, settings)
    # The grid's share of DNFs first, so that a driver who starts at the back is not also
    # counted crash-prone for it; then the slope again, given the drivers' ratios.
    dnf_slope = dnf_start_slopes(races, weights, tracks, {}) if settings.dnf_by_start else {}
    dnf_ratio, dnf_prior = dnf_ratios(races, weights, base_dnf, tracks, settings, dnf_slope)
    if settings.dnf_by_start:
        dnf_slope = dnf_start_slopes(races, weights, tracks, dnf_ratio)
    speed = excess_share(races, weights, settings, "fastest_laps")
    dominance = excess_share(races, weights, settings, "laps_led")
    team_shock = team_shocks(races, weights)
    concentration = (
        fastest_lap_concentrations(races, weights, strength, design, speed, team_shock)
        if settings.fit_fastest_lap_concentration
        else {}
    )
    lead = (
        lead_concentrations(races, weights, strength, design, dominance, team_shock)
        if settings.fit_lead_concentration
        else {}
    )
    return RatingTable(
        settings=settings,
        as_of=as_of,
        drivers=_driver_ratings(design, strength, dnf_ratio, dominance, speed),
        archetypes=_archetype_fits(
            races, weights, strength, base_dnf, dnf_slope, team_shock, concentration, lead
        ),
        rookie_strength={a: float(strength.rookie[k]) for k, a in enumerate(ARCHETYPES)},
        team_strength={team: float(strength.teams[j]) for j, team in enumerate(design.teams) if team},
        n_races=len(races),
        tracks=tracks,
        dnf_prior_strength=dnf_prior,
    )


def _driver_ratings(
    design: Design,
    strength: StrengthFit,
    dnf_ratio: Mapping[str, float],
    dominance: Mapping[str, Mapping[Archetype, float]],
    speed: Mapping[str, Mapping[Archetype, float]],
) -> dict[str, DriverRating]:
    return {
        key: DriverRating(
            driver_key=key,
            strength_by_archetype={a: float(strength.strengths[i, k]) for k, a in enumerate(ARCHETYPES)},
            dominance=dominance.get(key, _AVERAGE),
            speed=speed.get(key, _AVERAGE),
            dnf_ratio=dnf_ratio.get(key, 1.0),
            starts=int(design.starts[i]),
            team=design.latest_team.get(key, ""),
        )
        for i, key in enumerate(design.keys)
    }


def _archetype_fits(
    races: Sequence[HistoricalRace],
    weights: np.ndarray,
    strength: StrengthFit,
    base_dnf: Mapping[Archetype, float],
    dnf_slope: Mapping[Archetype, float],
    team_shock: Mapping[Archetype, float],
    concentration: Mapping[Archetype, tuple[float, float]],
    lead: Mapping[Archetype, float],
) -> dict[Archetype, ArchetypeFit]:
    fastest_lap_share = fastest_lap_shares(races, weights)
    return {
        a: ArchetypeFit(
            start_weight=float(strength.start_weights[k]),
            dnf_rate=base_dnf[a],
            form_scale=float(strength.scale[k]),
            team_shock=team_shock[a],
            fastest_lap_share=fastest_lap_share[a],
            fastest_lap_concentration=concentration[a][0] if a in concentration else None,
            speed_scale=concentration[a][1] if a in concentration else 1.0,
            lead_concentration=lead.get(a),
            running_scale=float(strength.running_scale[k]),
            dnf_start_slope=dnf_slope.get(a, 0.0),
            rulebook_start_weight=None
            if strength.rulebook_start_weights is None
            else float(strength.rulebook_start_weights[k]),
        )
        for k, a in enumerate(ARCHETYPES)
    }
