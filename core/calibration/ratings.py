"""Driver ratings fitted from past races: strength, dominance, speed and DNF propensity.

Everything is fitted from the races it is given, weighted by age (a half-life in seasons), and
nothing else, so the backtest can fit on "races strictly before this one" and know that no later
result leaks in.

* strength: a Plackett-Luce model, drawn from the back of the field (the last car first, which is
  how real results behave: the back is predictable, the front is not), of two orders per race:
  the running cars by finish and, with weight `running_order_weight`, every car by average
  running position where the loop data has it (pace that a late wreck does not erase; not at
  superspeedways, where the running order is drafting strategy more than pace). A car's
  utility is `scale[archetype] * (driver + team) + offset[driver, archetype] + start effect`,
  with scale 1 at intermediates (the unit strengths are measured in). A running order shows pace
  through less noise than a finish, so its utilities are multiplied by a fitted running scale
  per archetype, and its start effect has a fitted extra (the early laps are run where the cars
  started); strengths stay on the finish's scale, the one forecasts draw finishes on.
  Races at some tracks follow form more closely than others (Phoenix, Richmond) and some less
  (Daytona, Bristol): each track has a scale on the utilities of its races, centred within the
  archetype and shrunk toward 1 (`track_precision`); a forecast multiplies strengths and the
  start effect by its track's scale.
  Drivers are shrunk toward a prior that depends on experience (`theta0 + theta1 * log1p(starts)`),
  so a driver with no Cup starts gets the fitted rookie prior, not the field average; teams and
  per-archetype offsets are shrunk toward 0. A lineup the rulebook set (no qualifying: the
  2020-2021 formula, rain-outs; `history.rulebook_lineup`) ranks cars by recent results rather
  than by this weekend's speed, so its start effect is a parameter of its own. All parameters
  are fitted at once by L-BFGS.
* dnf: an archetype's base rate, and each track's rate shrunk toward it; a race's DNF rate is the
  track's rate x the driver's DNF ratio x the grid factor exp(slope x (grid fraction - 0.5)) /
  its mean over the grid (`grid_dnf_factor`: the grid moves DNFs from one end of the field to the
  other without changing the field's rate), with the slope per archetype fitted by likelihood
  before the drivers' ratios and again after them. A driver's DNF ratio is the driver's
  age-weighted DNFs over those expected from the tracks raced and the places started, shrunk
  toward 1 by a Gamma prior whose strength is fitted on the window (empirical Bayes: how much
  drivers' DNF rates really differ beyond Poisson noise; `dnf_pseudo_fitted`).
* dominance and speed: log of laps led (fastest laps) over what the driver's finishing positions
  would give an average car, shrunk toward 0; the kernel adds them to the lead (speed) log-weight.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize
from jax import Array
from scipy.special import gammaln

from ..errors import InvalidInput
from ..history import HistoricalRace, RaceEntry
from ..sim import ArchetypeParams, default_params
from ..slate import ARCHETYPES, Archetype, FittedRatings

RACES_PER_SEASON = 36.0
MAX_ITERATIONS = 1000  # of L-BFGS; the fits of 2022-2024 converge in about 100


@dataclass(frozen=True, slots=True)
class RatingSettings:
    """Hyperparameters of the fits, chosen on the 2022-2024 backtest (README: Calibration); the
    2019-2021 backtest, which played no part in choosing them, is the check that they carry over."""

    half_life_seasons: float = 1.0
    window_seasons: float = 6.0  # races older than this carry weight < 2**-6 and are skipped
    strength_precision: float = 3.0  # L2 precision of a driver's strength around its prior
    archetype_precision: float = 8.0  # L2 precision of a driver's per-archetype offset
    team_precision: float = 0.5  # L2 precision of a team's strength (its cars share equipment)
    # Weight of the order by average running position (loop data), a less noisy view of pace
    # than the finish, as a second Plackett-Luce ranking of the same race (0: finish only).
    running_order_weight: float = 1.0
    # At superspeedways the running order is drafting strategy (riding at the back until the end)
    # more than pace, so by default those races' running orders stay out of the fit.
    running_order_at_superspeedways: bool = False
    # The running order is a sharper view of pace than the finish: fit a scale per archetype on
    # its utilities (strengths stay on the finish's scale, which is what forecasts need).
    running_order_scale: bool = True
    # Multiplies fitted strengths in forecasts: the kernel adds regime noise and DNFs that the
    # fit does not see, and a sharpness below 1 keeps the forecast from being over-confident.
    sharpness: float = 1.0
    # L2 precision of the log of a track's scale (how predictable its races are within the
    # archetype; 0: every track of an archetype alike).
    track_precision: float = 4.0
    # A lineup set by the rulebook (history.rulebook_lineup) orders cars by recent results, not
    # by this weekend's speed: its start effect is fitted apart from qualified lineups'.
    rulebook_start: bool = True
    # A car's DNF rate rises toward the back of the grid (slow cars break, the back of the pack
    # wrecks more): fit a log-slope on the start position per archetype.
    dnf_by_start: bool = True
    # A driver's DNF ratio is shrunk toward 1 by a Gamma prior whose strength is fitted (how much
    # drivers' DNF rates differ, measured on the window); false: a fixed `dnf_pseudo` pseudo
    # expected DNFs (age-weighted) instead.
    dnf_pseudo_fitted: bool = True
    dnf_pseudo: float = 3.0
    lead_pseudo: float = 0.05  # pseudo race shares of laps led (fastest laps) behind "average"
    dnf_pseudo_races: float = 2.0  # pseudo races behind each archetype's base rate
    dnf_track_pseudo_races: float = 3.0  # pseudo races (at the archetype's rate) behind a track's
    reverse_order: bool = True  # fit (and simulate) Plackett-Luce from the back of the field

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                continue
            if not math.isfinite(value) or value < 0:
                raise InvalidInput(f"settings.{f.name}", f"must be a finite number >= 0, got {value!r}")
        for name in ("half_life_seasons", "window_seasons", "sharpness"):
            if getattr(self, name) <= 0:
                raise InvalidInput(f"settings.{name}", f"must be > 0, got {getattr(self, name)!r}")

    def with_overrides(self, overrides: Mapping[str, str]) -> RatingSettings:
        """These settings with some fields replaced by values written as text (NAME=VALUE on the
        command line); an unknown name or a value that does not parse raises InvalidInput."""
        known = [f.name for f in dataclasses.fields(self)]
        values: dict[str, float | bool] = {}
        for name, text in overrides.items():
            if name not in known:
                raise InvalidInput(f"settings.{name}", f"no such setting (known: {', '.join(known)})")
            values[name] = _parse_setting(name, text, type(getattr(self, name)))
        return dataclasses.replace(self, **values)  # type: ignore[arg-type]


def _parse_setting(name: str, text: str, kind: type) -> float | bool:
    if kind is bool:
        word = text.strip().lower()
        if word not in {"true", "false", "1", "0"}:
            raise InvalidInput(f"settings.{name}", f"expected true or false, got {text!r}")
        return word in {"true", "1"}
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"settings.{name}", f"expected a number, got {text!r}") from None


@dataclass(frozen=True, slots=True)
class DriverRating:
    """One driver's fitted ratings (archetype offsets included in `strength_by_archetype`)."""

    driver_key: str
    strength_by_archetype: Mapping[Archetype, float]
    dominance: float
    speed: float
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
            team_shock=self.archetypes[archetype].team_shock,
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
            dominance=rating.dominance,
            speed=rating.speed,
            dnf_rate=min(track.dnf_rate * rating.dnf_ratio * by_start, 0.95),
            team=team,
        )


@dataclass
class _Design:
    """Padded arrays of the rankings the strength fit explains (one row per ranking, best first)."""

    driver_index: np.ndarray  # [races, slots] index into drivers (0 where padded)
    team_index: np.ndarray  # [races, slots] index into teams (0: unknown)
    start_score: np.ndarray  # [races, slots]
    mask: np.ndarray  # [races, slots] 1 for a running car
    archetype: np.ndarray  # [races]
    weight: np.ndarray  # [races]
    running_order: np.ndarray  # [races] 1 for a ranking by running position, 0 for a finish
    track_index: np.ndarray  # [races] index into tracks (0: none)
    rulebook: np.ndarray  # [races] 1 for a race whose lineup the rulebook set
    tracks: list[str] = field(default_factory=list)  # [0] unused
    keys: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    latest_team: dict[str, str] = field(default_factory=dict)


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


def race_time(season: int, race_number: int) -> float:
    """A race's time in seasons, for age weights."""
    return season + (race_number - 1) / RACES_PER_SEASON


def age_weights(races: Sequence[HistoricalRace], as_of: tuple[int, int], half_life: float) -> np.ndarray:
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
    design = _design(races, weights, settings)
    fit = _fit_strength(design, settings)
    base_dnf = _base_dnf_rates(races, weights, settings)
    tracks = _track_fits(races, weights, fit.track_scale, base_dnf, settings)
    # The grid's share of DNFs first, so that a driver who starts at the back is not also
    # counted crash-prone for it; then the slope again, given the drivers' ratios.
    dnf_slope = _dnf_start_slopes(races, weights, tracks, {}) if settings.dnf_by_start else {}
    dnf_ratio, dnf_prior = _dnf_ratios(races, weights, base_dnf, tracks, settings, dnf_slope)
    dominance = _excess_share(races, weights, settings, "laps_led")
    speed = _excess_share(races, weights, settings, "fastest_laps")
    team_shock = team_shocks(races, weights)
    if settings.dnf_by_start:
        dnf_slope = _dnf_start_slopes(races, weights, tracks, dnf_ratio)
    drivers = {
        key: DriverRating(
            driver_key=key,
            strength_by_archetype={a: float(fit.strengths[i, k]) for k, a in enumerate(ARCHETYPES)},
            dominance=dominance.get(key, 0.0),
            speed=speed.get(key, 0.0),
            dnf_ratio=dnf_ratio.get(key, 1.0),
            starts=int(design.starts[i]),
            team=design.latest_team.get(key, ""),
        )
        for i, key in enumerate(design.keys)
    }
    archetypes = {
        a: ArchetypeFit(
            start_weight=float(fit.start_weights[k]),
            dnf_rate=base_dnf[a],
            form_scale=float(fit.scale[k]),
            team_shock=team_shock[a],
            running_scale=float(fit.running_scale[k]),
            dnf_start_slope=dnf_slope.get(a, 0.0),
            rulebook_start_weight=None
            if fit.rulebook_start_weights is None
            else float(fit.rulebook_start_weights[k]),
        )
        for k, a in enumerate(ARCHETYPES)
    }
    return RatingTable(
        settings=settings,
        as_of=as_of,
        drivers=drivers,
        archetypes=archetypes,
        rookie_strength={a: float(fit.rookie[k]) for k, a in enumerate(ARCHETYPES)},
        team_strength={team: float(fit.teams[j]) for j, team in enumerate(design.teams) if team},
        n_races=len(races),
        tracks=tracks,
        dnf_prior_strength=dnf_prior,
    )


def _rankings(
    races: Sequence[HistoricalRace], weights: np.ndarray, settings: RatingSettings
) -> list[tuple[HistoricalRace, list[RaceEntry], float, bool]]:
    """The orders the strength fit explains, with their weights: each race's running cars by
    finish and, where the race logs have it, every car by average running position."""
    rankings = []
    for race, weight in zip(races, weights, strict=True):
        rankings.append(
            (race, sorted((e for e in race.entries if not e.dnf), key=lambda e: e.finish), weight, False)
        )
        if _running_order_counts(race, settings):
            by_pace = sorted(race.entries, key=lambda e: (e.avg_position, e.finish))
            rankings.append((race, by_pace, weight * settings.running_order_weight, True))
    return rankings


def _running_order_counts(race: HistoricalRace, settings: RatingSettings) -> bool:
    if settings.running_order_weight <= 0 or any(e.avg_position is None for e in race.entries):
        return False
    return settings.running_order_at_superspeedways or race.archetype != "superspeedway"


def _design(races: Sequence[HistoricalRace], weights: np.ndarray, settings: RatingSettings) -> _Design:
    ordered = sorted(races, key=lambda r: (r.season, r.race_number))
    keys = sorted({e.driver_key for r in races for e in r.entries})
    teams = [""] + sorted({e.team for r in races for e in r.entries} - {""})
    index = {k: i for i, k in enumerate(keys)}
    team_index = {t: j for j, t in enumerate(teams)}
    starts = np.zeros(len(keys))
    latest_team = {e.driver_key: e.team for r in ordered for e in r.entries}
    for r in races:
        for e in r.entries:
            starts[index[e.driver_key]] += 1
    rankings = _rankings(races, weights, settings)
    tracks = [""] + (sorted({r.track_id for r in races}) if settings.track_precision > 0 else [])
    track_of = {t: i for i, t in enumerate(tracks)}
    n_races = _bucket(len(rankings), 64)
    n_slots = _bucket(max((len(r.entries) for r in races), default=1), 8)
    shape = (n_races, n_slots)
    design = _Design(
        driver_index=np.zeros(shape, np.int32),
        team_index=np.zeros(shape, np.int32),
        start_score=np.zeros(shape, np.float32),
        mask=np.zeros(shape, np.float32),
        archetype=np.zeros(n_races, np.int32),
        weight=np.zeros(n_races, np.float32),
        running_order=np.zeros(n_races, np.float32),
        track_index=np.zeros(n_races, np.int32),
        rulebook=np.zeros(n_races, np.float32),
        tracks=tracks,
        keys=keys,
        teams=teams,
        starts=starts,
        latest_team=latest_team,
    )
    for row, (race, ranking, weight, by_pace) in enumerate(rankings):
        field_size = len(race.entries)
        for slot, e in enumerate(ranking):
            design.driver_index[row, slot] = index[e.driver_key]
            design.team_index[row, slot] = team_index[e.team]
            design.start_score[row, slot] = 1.0 - (e.start - 1) / max(field_size - 1, 1)
            design.mask[row, slot] = 1.0
        design.archetype[row] = ARCHETYPES.index(race.archetype)
        design.weight[row] = weight
        design.track_index[row] = track_of.get(race.track_id, 0)
        design.running_order[row] = by_pace and settings.running_order_scale
        design.rulebook[row] = race.rulebook_lineup and settings.rulebook_start
    return design


def _bucket(n: int, size: int) -> int:
    """Round up to a multiple of size so that jitted fits see few distinct shapes."""
    return max(size, -(-n // size) * size)


class _StrengthFit(NamedTuple):
    strengths: np.ndarray  # [drivers, archetypes]: scale x base + offset (team not included)
    teams: np.ndarray  # [teams]; 0 for the unknown team
    start_weights: np.ndarray  # [archetypes]
    rookie: np.ndarray  # [archetypes]: the prior of a driver with no starts
    scale: np.ndarray  # [archetypes]
    running_scale: np.ndarray  # [archetypes]
    rulebook_start_weights: np.ndarray | None  # [archetypes]; None where no rulebook lineup was fitted
    track_scale: dict[tuple[str, Archetype], float]


class _Sizes(NamedTuple):
    drivers: int
    teams: int
    tracks: int


def _fit_strength(design: _Design, settings: RatingSettings) -> _StrengthFit:
    sizes = _Sizes(
        _bucket(len(design.keys), 32), _bucket(len(design.teams), 16), _bucket(len(design.tracks), 16)
    )
    experience = np.zeros(sizes.drivers, np.float32)
    experience[: len(design.keys)] = np.log1p(design.starts)
    present = np.zeros(sizes.drivers, np.float32)
    present[: len(design.keys)] = 1.0
    known_team = np.zeros(sizes.teams, np.float32)
    known_team[1 : len(design.teams)] = 1.0
    solution = _minimise(
        np.zeros(_n_parameters(sizes)),
        design=tuple(
            jnp.asarray(a)
            for a in (
                design.driver_index,
                design.team_index,
                design.start_score,
                design.mask,
                design.archetype,
                design.weight,
                design.running_order,
                design.track_index,
                design.rulebook,
                experience,
                present,
                known_team,
            )
        ),
        precisions=jnp.asarray(
            [
                settings.strength_precision,
                settings.archetype_precision,
                settings.team_precision,
                settings.track_precision,
            ],
            jnp.float32,
        ),
        sizes=sizes,
        reverse=settings.reverse_order,
    )
    p = _unpack(solution, sizes)
    strengths = p.base[:, None] * p.scale[None, :] + p.offsets
    return _StrengthFit(
        strengths=strengths[: len(design.keys)],
        teams=(p.teams * known_team)[: len(design.teams)],
        start_weights=p.start_weights,
        rookie=p.theta[0] * p.scale,
        scale=p.scale,
        running_scale=np.exp(p.log_running_scale),
        rulebook_start_weights=p.start_weights + p.rulebook_start if design.rulebook.any() else None,
        track_scale=_track_scales(p.log_track_scale, design),
    )


# Strengths are measured on the intermediate scale: the scale of form there is 1, not a parameter
# (a free scale in every archetype would let the scales grow while the base strengths, and with
# them their prior's penalty, shrink toward 0, so the prior would not regularise anything).
_FREE_SCALE = np.asarray([a != "intermediate" for a in ARCHETYPES], np.float32)


class _Parameters(NamedTuple):
    """The strength fit's parameter vector, split into its parts."""

    base: Any  # [drivers] form of each driver
    offsets: Any  # [drivers, archetypes] archetype-specific offsets
    teams: Any  # [teams] form of each team
    start_weights: Any  # [archetypes] start effect in finishing orders
    theta: Any  # [2] the experience prior: intercept, slope on log1p(starts)
    scale: Any  # [archetypes] how much form carries to each archetype (1 at intermediates)
    log_running_scale: Any  # [archetypes] log of how much sharper a running order is than a finish
    running_start: Any  # [archetypes] extra start effect in running orders (early laps start there)
    rulebook_start: Any  # [archetypes] extra start effect of a lineup the rulebook set
    log_track_scale: Any  # [tracks] log of each track's scale on utilities (track 0, none: 0)


def _track_scales(log_track_scale: np.ndarray, design: _Design) -> dict[tuple[str, Archetype], float]:
    """The fitted scale of each (track, archetype) raced in the window, centred as in the fit."""
    centred = np.asarray(
        _centred(np.asarray(log_track_scale), design.track_index, design.archetype, design.weight)
    )
    scales = {}
    for row in np.flatnonzero(design.track_index):  # every row of a (track, archetype) has one value
        key = (design.tracks[design.track_index[row]], ARCHETYPES[design.archetype[row]])
        scales[key] = float(np.exp(centred[row]))
    return scales


def _part_sizes(sizes: _Sizes) -> list[int]:
    """The lengths of _Parameters' parts in the parameter vector, in order."""
    n_arch = len(ARCHETYPES)
    return [
        sizes.drivers,
        sizes.drivers * n_arch,
        sizes.teams,
        n_arch,
        2,
        n_arch,
        n_arch,
        n_arch,
        n_arch,
        sizes.tracks,
    ]


def _unpack(x: Any, sizes: _Sizes) -> _Parameters:
    n_arch = len(ARCHETYPES)
    parts = np.split(np.arange(len(x)), np.cumsum(_part_sizes(sizes))[:-1])
    (
        base,
        offsets,
        teams,
        start_weights,
        theta,
        scale,
        log_running_scale,
        running_start,
        rulebook_start,
        tracks,
    ) = (x[i] for i in parts)
    return _Parameters(
        base=base,
        offsets=offsets.reshape(sizes.drivers, n_arch),
        teams=teams,
        start_weights=start_weights,
        # Plackett-Luce utilities are defined up to a shift: the prior's intercept is pinned at 0,
        # so strengths are relative to a rookie in average equipment.
        theta=theta * np.asarray([0.0, 1.0], np.float32),
        scale=1.0 + scale * _FREE_SCALE,
        log_running_scale=log_running_scale,
        running_start=running_start,
        rulebook_start=rulebook_start,
        log_track_scale=tracks * (np.arange(len(tracks)) > 0),  # track 0 (no track) keeps scale 1
    )


def _n_parameters(sizes: _Sizes) -> int:
    return sum(_part_sizes(sizes))


def _minimise(
    x0: np.ndarray, *, design: tuple[Array, ...], precisions: Array, sizes: _Sizes, reverse: bool
) -> np.ndarray:
    """Maximum penalised likelihood of every strength parameter at once (L-BFGS on the jitted
    loss and gradient; scipy's line search is robust where float32 BFGS stalls)."""

    def loss_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = _loss_and_grad(
            jnp.asarray(x, jnp.float32), design=design, precisions=precisions, sizes=sizes, reverse=reverse
        )
        return float(value), np.asarray(grad, np.float64)

    result = scipy.optimize.minimize(
        loss_and_grad, x0, jac=True, method="L-BFGS-B", options={"maxiter": MAX_ITERATIONS, "maxcor": 30}
    )
    return np.asarray(result.x)


def _centred(log_track_scale: Any, track_index: Any, archetype: Any, weight: Any) -> Any:
    """Each ranking's log track scale minus the weighted mean of its archetype's rankings (so the
    archetype's own scale and start effect keep their meaning, and the prior on strengths still
    binds)."""
    n_arch = len(ARCHETYPES)
    row = log_track_scale[track_index]
    total = jax.ops.segment_sum(weight * row, archetype, n_arch)
    mean = total / jnp.maximum(jax.ops.segment_sum(weight, archetype, n_arch), 1e-9)
    return row - mean[archetype]


def _loss(x: Array, *, design: tuple[Array, ...], precisions: Array, sizes: _Sizes, reverse: bool) -> Array:
    """The negative penalised log-likelihood of the rankings, per unit of ranking weight."""
    (
        driver_index,
        team_index,
        start_score,
        mask,
        archetype,
        weight,
        running_order,
        track_index,
        rulebook,
        experience,
        present,
        known_team,
    ) = design
    p = _unpack(x, sizes)
    # Form (driver + team) carries over between archetypes by a per-archetype scale (little
    # at superspeedways); each driver also has a small archetype-specific offset.
    form = p.base[driver_index] + (p.teams * known_team)[team_index]
    strength = p.scale[archetype][:, None] * form + p.offsets[driver_index, archetype[:, None]]
    # A running order sees the same pace through less noise than a finish (its utilities are
    # scaled up), and its early laps are run where the cars started (a start effect of its own).
    start_weight = p.start_weights[archetype] + running_order * p.running_start[archetype]
    start_weight += rulebook * p.rulebook_start[archetype]
    utility = strength + start_weight[:, None] * start_score
    utility = utility * jnp.exp(running_order * p.log_running_scale[archetype])[:, None]
    utility = utility * jnp.exp(_centred(p.log_track_scale, track_index, archetype, weight))[:, None]
    if reverse:
        # From the back: each running car is slower than every car ahead of it.
        utility = jnp.where(mask > 0, -utility, -1e9)
        rest = jax.lax.cumlogsumexp(utility, axis=1)
    else:
        # From the front: each running car beats every running car behind it.
        utility = jnp.where(mask > 0, utility, -1e9)
        rest = jax.lax.cumlogsumexp(utility, axis=1, reverse=True)
    log_lik = jnp.sum(jnp.where(mask > 0, utility - rest, 0.0), axis=1)
    prior_mean = p.theta[0] + p.theta[1] * experience
    penalty = precisions[0] * jnp.sum(present * (p.base - prior_mean) ** 2)
    penalty += precisions[1] * jnp.sum(p.offsets**2) + precisions[2] * jnp.sum((p.teams * known_team) ** 2)
    penalty += precisions[3] * jnp.sum(p.log_track_scale**2)
    # Weak: holds an archetype without running orders at scale 1 and no extra start effect, and
    # keeps a short history (whose orders a start effect, a scale of form or, when every driver
    # has about as many starts, the experience slope could explain perfectly or shift at no
    # cost) from running off to infinity.
    penalty += jnp.sum(p.log_running_scale**2) + jnp.sum(p.running_start**2) + jnp.sum(p.rulebook_start**2)
    penalty += jnp.sum(p.start_weights**2) + jnp.sum((p.scale - 1.0) ** 2) + jnp.sum(p.theta**2)
    return (-jnp.sum(weight * log_lik) + 0.5 * penalty) / jnp.sum(weight)


_loss_and_grad = jax.jit(jax.value_and_grad(_loss), static_argnames=("sizes", "reverse"))


def _base_dnf_rates(
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


def _track_fits(
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


def _dnf_ratios(
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
    fitted = _dnf_prior_strength(c * dnfs, c * due) if settings.dnf_pseudo_fitted else None
    k = np.full_like(c, settings.dnf_pseudo) if fitted is None else fitted / c  # in weighted units
    return {key: float((dnfs[i] + k[i]) / (due[i] + k[i])) for i, key in enumerate(keys)}, fitted


def _dnf_prior_strength(observed: np.ndarray, expected: np.ndarray) -> float:
    """How much drivers' DNF propensities really differ, from the data (empirical Bayes): each
    driver's ratio is Gamma(a, a) (mean 1, variance 1 / a) and their DNFs Poisson(ratio x expected),
    so the counts are negative binomial; a maximises their likelihood."""

    def loss(log_a: float) -> float:
        a = math.exp(log_a)
        terms = gammaln(observed + a) - gammaln(a) + a * math.log(a) - (observed + a) * np.log(expected + a)
        return -float(np.sum(terms))

    fit = scipy.optimize.minimize_scalar(loss, bounds=(math.log(0.1), math.log(1000.0)), method="bounded")
    return math.exp(float(fit.x))


def _dnf_start_slopes(
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


def _excess_share(
    races: Sequence[HistoricalRace], weights: np.ndarray, settings: RatingSettings, column: str
) -> dict[str, float]:
    """log((share + k) / (expected share + k)), where the expected share is the average share of
    the same finishing position over all races (races without the column are skipped)."""
    by_position: dict[int, list[float]] = defaultdict(list)
    rows: list[tuple[str, float, int, float]] = []
    for race, w in zip(races, weights, strict=True):
        values = [getattr(e, column) for e in race.entries]
        if any(v is None for v in values):
            continue
        total = max(sum(values), 1)
        for e, v in zip(race.entries, values, strict=True):
            share = v / total
            by_position[e.finish].append(share)
            rows.append((e.driver_key, w, e.finish, share))
    average = {p: float(np.mean(s)) for p, s in by_position.items()}
    actual: dict[str, float] = defaultdict(float)
    expected: dict[str, float] = defaultdict(float)
    for key, w, finish, share in rows:
        actual[key] += w * share
        expected[key] += w * average[finish]
    k = settings.lead_pseudo
    return {key: math.log((actual[key] + k) / (expected[key] + k)) for key in actual}


MAX_TEAM_CORRELATION = 0.5


def teammate_correlations(
    races: Sequence[HistoricalRace], weights: np.ndarray
) -> dict[Archetype, tuple[float, float] | None]:
    """Per archetype, (teammates, other pairs): the age-weighted correlation of running cars'
    finish residuals within a race (None where an archetype has no pairs of either kind).

    A residual is the finish minus the driver's age-weighted mean finish, centred per race. Other
    pairs correlate negatively just because ranks sum to a constant; the teammates' excess over
    them is what a shared shock explains.
    """
    finishes: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for race, w in zip(races, weights, strict=True):
        for e in race.entries:
            finishes[e.driver_key].append((w, e.finish))
    mean = {k: np.average([f for _, f in v], weights=[w for w, _ in v]) for k, v in finishes.items()}
    sums = {a: np.zeros((2, 3)) for a in ARCHETYPES}  # [others, teammates] x [sum r_i r_j, r_i^2, r_j^2]
    for race, w in zip(races, weights, strict=True):
        running = [e for e in race.entries if not e.dnf]
        if len(running) < 3:
            continue
        residual = np.asarray([e.finish - mean[e.driver_key] for e in running])
        residual -= residual.mean()
        teams = np.asarray([e.team or f"\0{i}" for i, e in enumerate(running)])
        i, j = np.triu_indices(len(running), 1)
        same = (teams[i] == teams[j]).astype(int)
        products = np.stack([residual[i] * residual[j], residual[i] ** 2, residual[j] ** 2], axis=1)
        np.add.at(sums[race.archetype], same, w * products)
    correlations: dict[Archetype, tuple[float, float] | None] = {}
    for a, ((other, other_i, other_j), (mates, mates_i, mates_j)) in sums.items():
        if mates_i <= 0 or other_i <= 0:
            correlations[a] = None
        else:
            correlations[a] = (mates / math.sqrt(mates_i * mates_j), other / math.sqrt(other_i * other_j))
    return correlations


def team_shocks(races: Sequence[HistoricalRace], weights: np.ndarray) -> dict[Archetype, float]:
    """Per archetype, the sd of a team's shared pace shock that gives teammates the correlation
    history shows: the teammates' excess correlation rho (teammate_correlations) is read as the
    correlation of their pace, which a shock of variance rho / (1 - rho) x pi^2 / 6 (the Gumbel
    noise's variance) gives. An archetype without teammate pairs gets 0.
    """
    correlations = teammate_correlations(races, weights)
    return {a: 0.0 if pair is None else shock_for(pair[0] - pair[1]) for a, pair in correlations.items()}


def shock_for(excess_correlation: float) -> float:
    """The sd of a shared normal shock that gives Gumbel pace noise (variance pi^2 / 6) this
    correlation (clipped to [0, MAX_TEAM_CORRELATION])."""
    rho = min(max(excess_correlation, 0.0), MAX_TEAM_CORRELATION)
    return math.sqrt(rho / (1 - rho) * math.pi**2 / 6)
