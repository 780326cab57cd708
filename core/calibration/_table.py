"""The fitted ratings as forecasts read them: the rating table and the grid's DNF factor."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..sim import ArchetypeParams, default_params
from ..slate import Archetype, FittedRatings
from ._settings import RatingSettings


@dataclass(frozen=True, slots=True)
class DriverRating:
    """One driver's fitted ratings (archetype offsets included in `strength_by_archetype`;
    dominance and speed per archetype, shrunk toward the driver's overall value)."""

    driver_key: str
    strength_by_archetype: Mapping[Archetype, float]
    dominance: Mapping[Archetype, float]
    speed: Mapping[Archetype, float]
    dnf_ratio: float
    starts: int  # Cup starts in the fit window
    team: str  # the team of the driver's latest race ("" unknown)


@dataclass(frozen=True, slots=True)
class ArchetypeFit:
    """What the history says about one archetype (age-weighted)."""

    start_weight: float  # Plackett-Luce log-weight of the pole sitter over the last starter
    dnf_rate: float  # DNF rate of an average car
    form_scale: float  # how much of a driver's (and team's) overall strength carries to the archetype
    team_shock: float = 0.0  # sd of the pace shock a team's cars share in a race (see team_shocks)
    running_scale: float = 1.0  # how much sharper a running order shows pace than a finish does
    rulebook_start_weight: float | None = None  # start effect of a rulebook lineup (None: as qualified)
    dnf_start_slope: float = 0.0  # log DNF rate of the last starter over the pole sitter's
    fastest_lap_share: float = 1.0  # share of green laps credited as a fastest lap (see _laps)
    # How steeply fastest laps follow a race's pace (see _concentration); None: the kernel default.
    fastest_lap_concentration: float | None = None
    speed_scale: float = 1.0  # multiplies drivers' speed (see _concentration)
    # How steeply laps led follow the lead score (the kernel's `dominance`; see _concentration);
    # None: the kernel default.
    lead_concentration: float | None = None


@dataclass(frozen=True, slots=True)
class TrackFit:
    """What the history says about one track, as raced in its latest archetype (age-weighted)."""

    archetype: Archetype
    scale: float  # multiplies strengths and the start effect: how predictable its races are
    dnf_rate: float  # DNF rate of an average car, shrunk toward the archetype's


@dataclass(frozen=True, slots=True)
class RatingTable:
    """Fitted ratings for every driver seen, plus the prior for drivers never seen."""

    settings: RatingSettings
    as_of: tuple[int, int]  # (season, race_number) of the first race NOT in the fit
    drivers: Mapping[str, DriverRating]
    archetypes: Mapping[Archetype, ArchetypeFit]
    rookie_strength: Mapping[Archetype, float]
    team_strength: Mapping[str, float]
    n_races: int
    tracks: Mapping[str, TrackFit] = field(default_factory=dict)  # by track_id
    # The fitted strength a of the Gamma(a, a) prior on drivers' DNF ratios (None: not fitted here,
    # a fixed prior or a table read from a parameter file). Reported, not used by forecasts.
    dnf_prior_strength: float | None = None

    def track(self, track_id: str | None, archetype: Archetype) -> TrackFit:
        """The track's fit; a track never seen in this archetype is the archetype's average."""
        fit = self.tracks.get(track_id or "")
        if fit is None or fit.archetype != archetype:
            return TrackFit(archetype=archetype, scale=1.0, dnf_rate=self.archetypes[archetype].dnf_rate)
        return fit

    def archetype_params(
        self, archetype: Archetype, track_id: str | None = None, rulebook_lineup: bool = False
    ) -> ArchetypeParams:
        """The archetype's kernel parameters with the fitted start effect (times the track's scale;
        the rulebook lineups' where the lineup was not set by qualifying) and ordering direction."""
        track = self.track(track_id, archetype)
        fit = self.archetypes[archetype]
        start_weight = fit.start_weight
        if rulebook_lineup and fit.rulebook_start_weight is not None:
            start_weight = fit.rulebook_start_weight
        return dataclasses.replace(
            default_params(archetype),
            start_weight=start_weight * track.scale,
            reverse_order=self.settings.reverse_order,
            team_shock=fit.team_shock,
            fastest_lap_share=fit.fastest_lap_share,
            fastest_lap_concentration=default_params(archetype).fastest_lap_concentration
            if fit.fastest_lap_concentration is None
            else fit.fastest_lap_concentration,
            dominance=default_params(archetype).dominance
            if fit.lead_concentration is None
            else fit.lead_concentration,
        )

    def ratings(
        self,
        driver_key: str,
        archetype: Archetype,
        team: str | None = None,
        track_id: str | None = None,
        start_fraction: float = 0.5,
    ) -> FittedRatings:
        """Ratings for a driver at an archetype, driving for `team` (None: the driver's latest
        team). A driver never seen gets the rookie prior; a team never seen counts as average."""
        fit = self.archetypes[archetype]
        track = self.track(track_id, archetype)
        sharpness = self.settings.sharpness * track.scale
        by_start = float(grid_dnf_factor(fit.dnf_start_slope, start_fraction))
        rating = self.drivers.get(driver_key)
        if rating is None:
            team_strength = self.team_strength.get(team or "", 0.0)
            strength = self.rookie_strength[archetype] + fit.form_scale * team_strength
            return FittedRatings(
                strength=sharpness * strength,
                dominance=0.0,
                speed=0.0,
                dnf_rate=min(track.dnf_rate * by_start, 0.95),
                team=team or "",
            )
        team = rating.team if team is None else team
        team_strength = self.team_strength.get(team, 0.0)
        return FittedRatings(
            strength=sharpness * (rating.strength_by_archetype[archetype] + fit.form_scale * team_strength),
            dominance=rating.dominance[archetype],
            speed=fit.speed_scale * rating.speed[archetype],
            dnf_rate=min(track.dnf_rate * rating.dnf_ratio * by_start, 0.95),
            team=team,
        )


def grid_fraction(start: int, field_size: int) -> float:
    """Where a car starts on the grid: 0 on the pole, 1 last."""
    return (start - 1) / max(field_size - 1, 1)


def grid_dnf_factor(slope: Any, fraction: Any) -> Any:
    """How a car's DNF rate scales with where it starts: exp(slope x (fraction - 0.5)), divided
    by that factor's mean over a grid (sinh(slope / 2) / (slope / 2), fractions uniform on
    [0, 1]), so that the field as a whole keeps the track's rate whatever the slope."""
    half = np.asarray(slope, np.float64) / 2
    safe = np.where(half == 0, 1.0, half)
    mean = np.where(half == 0, 1.0, np.sinh(safe) / safe)
    return np.exp(slope * (np.asarray(fraction, np.float64) - 0.5)) / mean
