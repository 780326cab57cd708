"""ConstraintSpec: the frozen, canonical form of everything that determines a run, and its hash.

Canonical means the same spec hashes the same whatever the order drivers or conditions were
given in; any change of a value changes the hash. RunConfig adds what is not part of the
problem itself: the seed, the parameter version and the package versions.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Literal, get_args

import msgspec

from .calibration import CalibratedParams, grid_fraction, load_params
from .errors import InvalidInput
from .names import driver_key
from .opt import DEFAULT_SMOOTHING, DEFAULT_TAIL, Objective
from .scoring import ScoringRules
from .sim import DEFAULT_MIN_ACCEPTANCE, PARAMS_VERSION, check_seed
from .slate import (
    Driver,
    FittedRatings,
    SiteRules,
    Track,
    check_race_length,
    site_rules,
    validate_field,
)

MAX_SCENARIOS = 10_000_000

LineupObjective = Objective | Literal["roi"]  # roi: against a simulated field (core.contest)
OBJECTIVES: tuple[str, ...] = (*get_args(Objective), "roi")


class LapsLed(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A scenario condition: the driver leads between min_laps_led and max_laps_led laps."""

    min_laps_led: int = 0
    max_laps_led: int | None = None  # None: the race length


class DriverSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    driver_id: str
    name: str
    salary: int
    start_position: int
    skill: float
    aggression: float
    shadow_risk: float
    ratings: FittedRatingsSpec | None
    min_laps_led: int
    max_laps_led: int

    def to_driver(self) -> Driver:
        ratings = None if self.ratings is None else FittedRatings(**msgspec.structs.asdict(self.ratings))
        return Driver(
            self.driver_id, self.name, self.salary, self.start_position,
            self.skill, self.aggression, self.shadow_risk, ratings,
        )  # fmt: skip


class FittedRatingsSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    strength: float
    dominance: float
    speed: float
    dnf_rate: float
    team: str = ""


class TrackSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    track_id: str
    name: str
    archetype: str
    laps: int


class SiteSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    site: str
    roster_size: int
    salary_cap: int
    scoring: str
    place_differential: float
    per_lap_led: float
    per_fastest_lap: float
    per_lap_completed: float
    finish_points: tuple[float, ...]

    def rules(self) -> SiteRules:
        """The site rules this spec was compiled with (a custom rule set included)."""
        scoring = ScoringRules(
            name=self.scoring,
            finish_points=tuple(self.finish_points),
            place_differential=self.place_differential,
            per_lap_led=self.per_lap_led,
            per_fastest_lap=self.per_fastest_lap,
            per_lap_completed=self.per_lap_completed,
        )
        return SiteRules(
            site=self.site,  # type: ignore[arg-type]
            roster_size=self.roster_size,
            salary_cap=self.salary_cap,
            scoring=scoring,
        )


class ScenarioSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    n_scenarios: int
    race_length: int
    calibration_enabled: bool
    min_acceptance: float
    # The model parameters: a fitted file's version and its archetype values when calibration is
    # enabled, else the built-in defaults (start_weight None).
    params_version: str
    start_weight: float | None
    reverse_order: bool
    team_shock: float = 0.0  # sd of the pace shock teammates share (fitted; 0 without calibration)
    fastest_lap_share: float = 1.0  # share of green laps credited as a fastest lap (fitted; 1 without)
    # How steeply fastest laps follow pace (fitted; None without calibration: the kernel default).
    fastest_lap_concentration: float | None = None
    # How steeply laps led follow the lead score (fitted; None without calibration: the default).
    lead_concentration: float | None = None


MAX_LINEUPS = 500


class LineupSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the lineup model is asked for; driver sets are canonical (sorted) when compiled."""

    objective: LineupObjective = "mean"
    n_lineups: int = 1
    salary_cap: int | None = None  # None: the site's cap
    salary_floor: int = 0
    locks: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    max_overlap: int | None = None
    min_exposure: dict[str, float] = {}
    max_exposure: dict[str, float] = {}
    target: float | None = None  # None: the 99th percentile of the mean-optimal lineup's points
    tail: float = DEFAULT_TAIL  # floor: the lower-tail share whose mean is maximised
    smoothing: float = DEFAULT_SMOOTHING  # upside: the ramp width, in sd of the mean lineup (core.opt)

    def canonical(self, known: set[str], roster_size: int) -> LineupSettings:
        """Validated, with sorted driver sets. Raises InvalidInput naming the field."""
        if self.objective not in OBJECTIVES:
            raise InvalidInput("objective", f"must be one of {OBJECTIVES}, got {self.objective!r}")
        if not 1 <= self.n_lineups <= MAX_LINEUPS:
            raise InvalidInput("n_lineups", f"must be in [1, {MAX_LINEUPS}], got {self.n_lineups}")
        if self.max_overlap is not None and not 0 <= self.max_overlap <= roster_size:
            raise InvalidInput("max_overlap", f"must be in [0, {roster_size}], got {self.max_overlap}")
        if not 0 < self.tail <= 1:
            raise InvalidInput("tail", f"must be in (0, 1], got {self.tail}")
        if not 0 <= self.smoothing <= 10:
            raise InvalidInput("smoothing", f"must be in [0, 10], got {self.smoothing}")
        for name in ("locks", "excludes", "min_exposure", "max_exposure"):
            unknown = sorted(set(getattr(self, name)) - known)
            if unknown:
                raise InvalidInput(name, f"unknown driver ids {unknown}")
        return msgspec.structs.replace(
            self,
            locks=tuple(sorted(set(self.locks))),
            excludes=tuple(sorted(set(self.excludes))),
            min_exposure=dict(sorted(self.min_exposure.items())),
            max_exposure=dict(sorted(self.max_exposure.items())),
        )


class ConstraintSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Drivers (sorted by id) with inputs and conditions, track, site rules, scenario settings,
    and, for an optimisation, the lineup settings."""

    drivers: tuple[DriverSpec, ...]
    track: TrackSpec
    site: SiteSpec
    scenarios: ScenarioSettings
    lineups: LineupSettings | None = None

    @classmethod
    def compile(
        cls,
        drivers: Sequence[Driver],
        track: Track,
        *,
        site: str | SiteRules = "draftkings",
        n_scenarios: int = 1000,
        race_length: int | None = None,
        calibration_enabled: bool = False,
        conditions: Mapping[str, LapsLed] | None = None,
        min_acceptance: float = DEFAULT_MIN_ACCEPTANCE,
        lineups: LineupSettings | None = None,
        params: CalibratedParams | None = None,
    ) -> ConstraintSpec:
        """Validate and canonicalise a run's inputs. Raises InvalidInput naming the field.

        With calibration_enabled, drivers without ratings get them from the fitted parameter
        file (`params`, default the newest in data/params) by normalised name; drivers it has
        never seen get its rookie prior.
        """
        validate_field(drivers)
        laps = track.laps if race_length is None else race_length
        check_race_length(laps)
        if isinstance(n_scenarios, bool) or not 1 <= n_scenarios <= MAX_SCENARIOS:
            raise InvalidInput("n_scenarios", f"must be in [1, {MAX_SCENARIOS:,}], got {n_scenarios}")
        if not 0 < min_acceptance <= 1:
            raise InvalidInput("min_acceptance", f"must be in (0, 1], got {min_acceptance}")
        rules = site_rules(site) if isinstance(site, str) else site
        conditions = dict(conditions or {})
        known = {d.driver_id for d in drivers}
        for driver_id in conditions:
            if driver_id not in known:
                raise InvalidInput("conditions", f"no driver {driver_id!r} in the field")
        params_version, start_weight, reverse_order, team_shock, share = PARAMS_VERSION, None, False, 0.0, 1.0
        concentration: float | None = None
        lead_concentration: float | None = None
        if calibration_enabled:
            params = params or load_params()
            drivers = [_with_ratings(d, params, track, len(drivers)) for d in drivers]
            fitted = params.table.archetype_params(track.archetype, track.track_id)
            params_version, start_weight, reverse_order, team_shock, share = (
                params.version,
                fitted.start_weight,
                fitted.reverse_order,
                fitted.team_shock,
                fitted.fastest_lap_share,
            )
            concentration = fitted.fastest_lap_concentration
            lead_concentration = fitted.dominance
        specs = sorted((_driver_spec(d, conditions.get(d.driver_id), laps) for d in drivers), key=_by_id)
        return cls(
            drivers=tuple(specs),
            track=TrackSpec(
                track_id=track.track_id, name=track.name, archetype=track.archetype, laps=track.laps
            ),
            site=_site_spec(rules),
            scenarios=ScenarioSettings(
                n_scenarios=n_scenarios,
                race_length=laps,
                calibration_enabled=calibration_enabled,
                min_acceptance=min_acceptance,
                params_version=params_version,
                start_weight=start_weight,
                reverse_order=reverse_order,
                team_shock=team_shock,
                fastest_lap_share=share,
                fastest_lap_concentration=concentration,
                lead_concentration=lead_concentration,
            ),
            lineups=None if lineups is None else lineups.canonical(known, rules.roster_size),
        )

    def canonical_json(self) -> bytes:
        return msgspec.json.encode(self, order="sorted")

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON, hex."""
        return hashlib.sha256(self.canonical_json()).hexdigest()

    def field(self) -> tuple[Driver, ...]:
        """The drivers in canonical (driver_id) order, the order every output uses."""
        return tuple(d.to_driver() for d in self.drivers)

    def track_value(self) -> Track:
        t = self.track
        return Track(t.track_id, t.name, t.archetype, t.laps)  # type: ignore[arg-type]


class RunConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What, beyond the spec, fixes a run's output."""

    seed: int
    n_scenarios: int
    params_version: str
    package_versions: dict[str, str]
    spec_hash: str

    @classmethod
    def for_spec(cls, spec: ConstraintSpec, *, seed: int) -> RunConfig:
        check_seed(seed)
        return cls(
            seed=seed,
            n_scenarios=spec.scenarios.n_scenarios,
            params_version=spec.scenarios.params_version,
            package_versions=package_versions(),
            spec_hash=spec.hash,
        )


def package_versions() -> dict[str, str]:
    names = ("axiom-dfs", "jax", "jaxlib", "numpy", "msgspec", "cvxpy", "highspy")
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _by_id(spec: DriverSpec) -> str:
    return spec.driver_id


def _with_ratings(driver: Driver, params: CalibratedParams, track: Track, field_size: int) -> Driver:
    if driver.ratings is not None:
        return driver
    ratings = params.table.ratings(
        driver_key(driver.name),
        track.archetype,
        team=driver.team or None,  # None: the driver's latest team in the fitted history
        track_id=track.track_id,
        start_fraction=grid_fraction(driver.start_position, field_size),
    )
    return dataclasses.replace(driver, ratings=ratings)


def _driver_spec(driver: Driver, condition: LapsLed | None, laps: int) -> DriverSpec:
    condition = condition or LapsLed()
    upper = laps if condition.max_laps_led is None else condition.max_laps_led
    where = f"conditions[{driver.driver_id}]"
    if not 0 <= condition.min_laps_led <= laps:
        raise InvalidInput(f"{where}.min_laps_led", f"must be in [0, {laps}], got {condition.min_laps_led}")
    if not condition.min_laps_led <= upper <= laps:
        raise InvalidInput(
            f"{where}.max_laps_led",
            f"must be in [min_laps_led={condition.min_laps_led}, {laps}], got {upper}",
        )
    ratings = None
    if driver.ratings is not None:
        r = driver.ratings
        ratings = FittedRatingsSpec(
            strength=r.strength, dominance=r.dominance, speed=r.speed, dnf_rate=r.dnf_rate, team=r.team
        )
    return DriverSpec(
        driver_id=driver.driver_id,
        name=driver.name,
        salary=driver.salary,
        start_position=driver.start_position,
        skill=float(driver.skill),
        aggression=float(driver.aggression),
        shadow_risk=float(driver.shadow_risk),
        ratings=ratings,
        min_laps_led=condition.min_laps_led,
        max_laps_led=upper,
    )


def _site_spec(rules: SiteRules) -> SiteSpec:
    s = rules.scoring
    return SiteSpec(
        site=rules.site,
        roster_size=rules.roster_size,
        salary_cap=rules.salary_cap,
        scoring=s.name,
        place_differential=s.place_differential,
        per_lap_led=s.per_lap_led,
        per_fastest_lap=s.per_fastest_lap,
        per_lap_completed=s.per_lap_completed,
        finish_points=s.finish_points,
    )
