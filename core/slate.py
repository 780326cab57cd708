"""Drivers, tracks, slates and site rules: the frozen domain data everything else consumes."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from .errors import InvalidInput
from .scoring import DRAFTKINGS_SCORING, FANDUEL_SCORING, ScoringRules

Archetype = Literal["superspeedway", "intermediate", "short", "road"]
ARCHETYPES: tuple[Archetype, ...] = ("superspeedway", "intermediate", "short", "road")
SiteName = Literal["draftkings", "fanduel"]

MIN_LAPS, MAX_LAPS = 50, 500
MIN_FIELD, MAX_FIELD = 6, 50

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True, slots=True)
class SiteRules:
    """Roster rules and scoring of one DFS contest type."""

    site: SiteName
    roster_size: int
    salary_cap: int
    scoring: ScoringRules


DRAFTKINGS = SiteRules(site="draftkings", roster_size=6, salary_cap=50_000, scoring=DRAFTKINGS_SCORING)
FANDUEL = SiteRules(site="fanduel", roster_size=5, salary_cap=50_000, scoring=FANDUEL_SCORING)
SITES: Mapping[str, SiteRules] = {"draftkings": DRAFTKINGS, "fanduel": FANDUEL}


def site_rules(site: str) -> SiteRules:
    """The rules of a site by name (`draftkings` or `fanduel`)."""
    try:
        return SITES[site]
    except KeyError:
        raise InvalidInput("site", f"unknown site {site!r}; expected one of {sorted(SITES)}") from None


MAX_LOG_WEIGHT = 25.0  # of fitted strengths, dominance and speed (real fits stay within about 5)


@dataclass(frozen=True, slots=True)
class FittedRatings:
    """Ratings fitted from history (see core.calibration); replace the raw inputs when present.

    strength is a Plackett-Luce log-weight, dominance and speed are log-weights for laps led and
    fastest laps, dnf_rate is a per-race probability.
    """

    strength: float
    dominance: float
    speed: float
    dnf_rate: float
    team: str = ""  # the car's team: teammates share a pace shock in each race ("" unknown)

    def validate(self, where: str = "ratings") -> None:
        """Raise InvalidInput naming the first field that breaks a rule. Log-weights are bounded:
        beyond MAX_LOG_WEIGHT float32 weights underflow, and the kernel's draws would not hold."""
        for name in ("strength", "dominance", "speed"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or abs(value) > MAX_LOG_WEIGHT:
                raise InvalidInput(
                    f"{where}.{name}",
                    f"must be a finite number in [-{MAX_LOG_WEIGHT}, {MAX_LOG_WEIGHT}], got {value!r}",
                )
        if not isinstance(self.dnf_rate, int | float) or not 0 <= self.dnf_rate < 1:
            raise InvalidInput(f"{where}.dnf_rate", f"must be a probability in [0, 1), got {self.dnf_rate!r}")


@dataclass(frozen=True, slots=True)
class Driver:
    """One car in the field with its salary, starting spot and model inputs (each in [0, 1])."""

    driver_id: str
    name: str
    salary: int
    start_position: int
    skill: float
    aggression: float
    shadow_risk: float
    ratings: FittedRatings | None = None
    # The car's team this week ("" unknown: a calibrated run assumes the driver's latest team in
    # the fitted history). It picks the team strength and the team's shared pace shock.
    team: str = ""

    def validate(self, where: str = "driver") -> None:
        """Raise InvalidInput naming the first field that breaks a rule."""
        if not self.driver_id or not self.driver_id.strip():
            raise InvalidInput(f"{where}.driver_id", "must be a non-empty string")
        if not isinstance(self.salary, int) or self.salary < 0:
            raise InvalidInput(f"{where}.salary", f"must be a non-negative integer, got {self.salary!r}")
        if not isinstance(self.start_position, int) or self.start_position < 1:
            raise InvalidInput(
                f"{where}.start_position", f"must be an integer >= 1, got {self.start_position!r}"
            )
        for name in ("skill", "aggression", "shadow_risk"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or not 0 <= value <= 1:
                raise InvalidInput(f"{where}.{name}", f"must be a finite number in [0, 1], got {value!r}")
        if self.ratings is not None:
            self.ratings.validate(f"{where}.ratings")


@dataclass(frozen=True, slots=True)
class Track:
    """A track layout: its slug, archetype and typical scheduled laps."""

    track_id: str
    name: str
    archetype: Archetype
    laps: int

    def __post_init__(self) -> None:
        if self.archetype not in ARCHETYPES:
            raise InvalidInput("track.archetype", f"must be one of {ARCHETYPES}, got {self.archetype!r}")
        check_race_length(self.laps, "track.laps")


def check_race_length(laps: int, where: str = "race_length") -> None:
    """Raise InvalidInput unless laps is an integer in the supported range."""
    if isinstance(laps, bool) or not isinstance(laps, int) or not MIN_LAPS <= laps <= MAX_LAPS:
        raise InvalidInput(where, f"must be an integer in [{MIN_LAPS}, {MAX_LAPS}], got {laps!r}")


@dataclass(frozen=True, slots=True)
class Slate:
    """A field of drivers for one race at one track."""

    drivers: tuple[Driver, ...]
    track: Track
    slate_id: str = "slate"
    ids: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        validate_field(self.drivers)
        object.__setattr__(self, "ids", tuple(d.driver_id for d in self.drivers))

    @property
    def n_drivers(self) -> int:
        return len(self.drivers)


def validate_field(drivers: Sequence[Driver]) -> None:
    """Check a whole field: size, each driver, unique ids, start positions a permutation."""
    if not MIN_FIELD <= len(drivers) <= MAX_FIELD:
        raise InvalidInput("drivers", f"must hold {MIN_FIELD}..{MAX_FIELD} drivers, got {len(drivers)}")
    seen: set[str] = set()
    for i, driver in enumerate(drivers):
        driver.validate(f"drivers[{i}]")
        if driver.driver_id in seen:
            raise InvalidInput(f"drivers[{i}].driver_id", f"duplicate driver_id {driver.driver_id!r}")
        seen.add(driver.driver_id)
    starts = sorted(d.start_position for d in drivers)
    if starts != list(range(1, len(drivers) + 1)):
        raise InvalidInput(
            "drivers.start_position",
            f"must be a permutation of 1..{len(drivers)} (each start position exactly once)",
        )


@cache
def known_tracks() -> Mapping[str, Track]:
    """The track table shipped in data/tracks.csv, keyed by track_id."""
    with (DATA_DIR / "tracks.csv").open(newline="") as handle:
        return {
            row["track_id"]: Track(row["track_id"], row["name"], row["archetype"], int(row["laps"]))  # type: ignore[arg-type]
            for row in csv.DictReader(handle)
        }


def get_track(track_id: str) -> Track:
    """A known track by its slug, or InvalidInput listing the choices."""
    tracks = known_tracks()
    if track_id not in tracks:
        raise InvalidInput("track_id", f"unknown track {track_id!r}; known: {', '.join(sorted(tracks))}")
    return tracks[track_id]


def sample_slate_path() -> Path:
    """The real DraftKings slate the demo runs on."""
    return DATA_DIR / "samples" / "draftkings-bristol-2026.csv"
