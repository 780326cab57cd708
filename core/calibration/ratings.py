"""Driver ratings fitted from past races: strength, dominance, speed and DNF propensity.

Everything is fitted from the races it is given, weighted by age (a half-life in seasons), and
nothing else, so the backtest can fit on "races strictly before this one" and know that no later
result leaks in.

* strength: a Plackett-Luce model of the order of the cars that were running at the end, with a
  per-archetype start-position effect and a per-archetype offset for each driver. Each driver's
  strength is shrunk toward a prior that depends on experience (`theta0 + theta1 * log1p(starts)`),
  so a driver with no Cup starts gets the fitted rookie prior, not the field average.
* dnf: the driver's age-weighted DNFs over the DNFs expected from the archetypes raced, shrunk
  toward 1 with `dnf_pseudo` expected DNFs; a race's DNF rate is archetype base rate x that ratio.
* dominance and speed: log of laps led (fastest laps) over what the driver's finishing positions
  would give an average car, shrunk toward 0; the kernel adds them to the lead (speed) log-weight.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.scipy.optimize import minimize

from ..sim import ArchetypeParams, default_params
from ..slate import ARCHETYPES, Archetype, FittedRatings

RACES_PER_SEASON = 36.0


class EntryLike(Protocol):
    @property
    def driver_key(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def finish(self) -> int: ...
    @property
    def laps_led(self) -> int: ...
    @property
    def fastest_laps(self) -> int | None: ...
    @property
    def dnf(self) -> bool: ...


class RaceLike(Protocol):
    @property
    def season(self) -> int: ...
    @property
    def race_number(self) -> int: ...
    @property
    def archetype(self) -> Archetype: ...
    @property
    def laps(self) -> int: ...
    @property
    def entries(self) -> Sequence[EntryLike]: ...


@dataclass(frozen=True, slots=True)
class RatingSettings:
    """Hyperparameters of the fits; chosen on seasons before the ones a backtest reports."""

    half_life_seasons: float = 1.0
    window_seasons: float = 6.0  # races older than this carry weight < 2**-6 and are skipped
    strength_precision: float = 1.0  # L2 precision of a driver's strength around its prior
    archetype_precision: float = 4.0  # L2 precision of a driver's per-archetype offset
    dnf_pseudo: float = 3.0  # pseudo expected DNFs behind the archetype base rate
    lead_pseudo: float = 0.05  # pseudo race shares of laps led (fastest laps) behind "average"
    dnf_pseudo_races: float = 20.0  # pseudo races behind each archetype's base rate
    reverse_order: bool = True  # fit (and simulate) Plackett-Luce from the back of the field


@dataclass(frozen=True, slots=True)
class DriverRating:
    """One driver's fitted ratings (archetype offsets included in `strength_by_archetype`)."""

    driver_key: str
    strength_by_archetype: Mapping[Archetype, float]
    dominance: float
    speed: float
    dnf_ratio: float
    starts: int  # Cup starts in the fit window

    def for_archetype(self, archetype: Archetype, base_dnf_rate: float) -> FittedRatings:
        return FittedRatings(
            strength=self.strength_by_archetype[archetype],
            dominance=self.dominance,
            speed=self.speed,
            dnf_rate=min(base_dnf_rate * self.dnf_ratio, 0.95),
        )


@dataclass(frozen=True, slots=True)
class ArchetypeFit:
    """What the history says about one archetype (age-weighted)."""

    start_weight: float  # Plackett-Luce log-weight of the pole sitter over the last starter
    dnf_rate: float  # DNF rate of an average car


@dataclass(frozen=True, slots=True)
class RatingTable:
    """Fitted ratings for every driver seen, plus the prior for drivers never seen."""

    settings: RatingSettings
    as_of: tuple[int, int]  # (season, race_number) of the first race NOT in the fit
    drivers: Mapping[str, DriverRating]
    archetypes: Mapping[Archetype, ArchetypeFit]
    rookie_strength: Mapping[Archetype, float]
    n_races: int

    def archetype_params(self, archetype: Archetype) -> ArchetypeParams:
        """The archetype's kernel parameters with the fitted start effect and ordering direction."""
        return dataclasses.replace(
            default_params(archetype),
            start_weight=self.archetypes[archetype].start_weight,
            reverse_order=self.settings.reverse_order,
        )

    def ratings(self, driver_key: str, archetype: Archetype) -> FittedRatings:
        """Ratings for a driver at an archetype; an unknown driver gets the rookie prior."""
        base = self.archetypes[archetype].dnf_rate
        rating = self.drivers.get(driver_key)
        if rating is None:
            strength = self.rookie_strength[archetype]
            return FittedRatings(strength=strength, dominance=0.0, speed=0.0, dnf_rate=base)
        return rating.for_archetype(archetype, base)


@dataclass
class _Design:
    """Padded arrays of the running cars of each race, in finishing order."""

    driver_index: np.ndarray  # [races, slots] index into drivers (0 where padded)
    start_score: np.ndarray  # [races, slots]
    mask: np.ndarray  # [races, slots] 1 for a running car
    archetype: np.ndarray  # [races]
    weight: np.ndarray  # [races]
    keys: list[str] = field(default_factory=list)
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0))


def race_time(season: int, race_number: int) -> float:
    """A race's time in seasons, for age weights."""
    return season + (race_number - 1) / RACES_PER_SEASON


def age_weights(races: Sequence[RaceLike], as_of: tuple[int, int], half_life: float) -> np.ndarray:
    now = race_time(*as_of)
    ages = np.asarray([now - race_time(r.season, r.race_number) for r in races])
    return np.power(0.5, ages / half_life)


def fit_ratings(
    races: Sequence[RaceLike], as_of: tuple[int, int], settings: RatingSettings | None = None
) -> RatingTable:
    """Fit every rating from `races` (all strictly before `as_of`, in any order)."""
    settings = settings or RatingSettings()
    if any((r.season, r.race_number) >= as_of for r in races):
        raise ValueError("fit_ratings got a race that is not strictly before as_of")
    now = race_time(*as_of)
    races = [r for r in races if now - race_time(r.season, r.race_number) <= settings.window_seasons]
    weights = age_weights(races, as_of, settings.half_life_seasons)
    design = _design(races, weights)
    strengths, start_weights, rookie = _fit_strength(design, settings)
    base_dnf = _base_dnf_rates(races, weights, settings)
    dnf_ratio = _dnf_ratios(races, weights, base_dnf, settings)
    dominance = _excess_share(races, weights, settings, "laps_led")
    speed = _excess_share(races, weights, settings, "fastest_laps")
    drivers = {
        key: DriverRating(
            driver_key=key,
            strength_by_archetype={a: float(strengths[i, k]) for k, a in enumerate(ARCHETYPES)},
            dominance=dominance.get(key, 0.0),
            speed=speed.get(key, 0.0),
            dnf_ratio=dnf_ratio.get(key, 1.0),
            starts=int(design.starts[i]),
        )
        for i, key in enumerate(design.keys)
    }
    archetypes = {
        a: ArchetypeFit(start_weight=float(start_weights[k]), dnf_rate=base_dnf[a])
        for k, a in enumerate(ARCHETYPES)
    }
    return RatingTable(
        settings=settings,
        as_of=as_of,
        drivers=drivers,
        archetypes=archetypes,
        rookie_strength={a: float(rookie[k]) for k, a in enumerate(ARCHETYPES)},
        n_races=len(races),
    )


def _design(races: Sequence[RaceLike], weights: np.ndarray) -> _Design:
    keys = sorted({e.driver_key for r in races for e in r.entries})
    index = {k: i for i, k in enumerate(keys)}
    starts = np.zeros(len(keys))
    for r in races:
        for e in r.entries:
            starts[index[e.driver_key]] += 1
    n_races = _bucket(len(races), 64)
    n_slots = _bucket(max((len(r.entries) for r in races), default=1), 8)
    driver_index = np.zeros((n_races, n_slots), np.int32)
    start_score = np.zeros((n_races, n_slots), np.float32)
    mask = np.zeros((n_races, n_slots), np.float32)
    archetype = np.zeros(n_races, np.int32)
    weight = np.zeros(n_races, np.float32)
    for row, race in enumerate(races):
        field_size = len(race.entries)
        running = sorted((e for e in race.entries if not e.dnf), key=lambda e: e.finish)
        for slot, e in enumerate(running):
            driver_index[row, slot] = index[e.driver_key]
            start_score[row, slot] = 1.0 - (e.start - 1) / max(field_size - 1, 1)
            mask[row, slot] = 1.0
        archetype[row] = ARCHETYPES.index(race.archetype)
        weight[row] = weights[row]
    return _Design(driver_index, start_score, mask, archetype, weight, keys, starts)


def _bucket(n: int, size: int) -> int:
    """Round up to a multiple of size so that jitted fits see few distinct shapes."""
    return max(size, -(-n // size) * size)


def _fit_strength(design: _Design, settings: RatingSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_drivers = _bucket(len(design.keys), 32)
    experience = np.zeros(n_drivers, np.float32)
    experience[: len(design.keys)] = np.log1p(design.starts)
    present = np.zeros(n_drivers, np.float32)
    present[: len(design.keys)] = 1.0
    n_params = n_drivers * (1 + len(ARCHETYPES)) + 2 * len(ARCHETYPES) + 2
    solution = _minimise(
        jnp.zeros(n_params, jnp.float32),
        jnp.asarray(design.driver_index),
        jnp.asarray(design.start_score),
        jnp.asarray(design.mask),
        jnp.asarray(design.archetype),
        jnp.asarray(design.weight),
        jnp.asarray(experience),
        jnp.asarray(present),
        settings.strength_precision,
        settings.archetype_precision,
        reverse=settings.reverse_order,
    )
    base, offsets, start_weights, theta, scale = _unpack(np.asarray(solution), n_drivers)
    strengths = base[:, None] * scale[None, :] + offsets
    return strengths[: len(design.keys)], start_weights, theta[0] * scale


def _unpack(x: Any, n_drivers: int) -> tuple[Any, Any, Any, Any, Any]:
    """Split the parameter vector: base strengths, per-archetype offsets, start effects, the
    experience prior (intercept, slope) and each archetype's scale of the base strength."""
    n_arch = len(ARCHETYPES)
    base = x[:n_drivers]
    offsets = x[n_drivers : n_drivers * (1 + n_arch)].reshape(n_drivers, n_arch)
    rest = x[n_drivers * (1 + n_arch) :]
    start_weights, theta, scale = rest[:n_arch], rest[n_arch : n_arch + 2], 1.0 + rest[n_arch + 2 :]
    return base, offsets, start_weights, theta, scale


@partial(jax.jit, static_argnames=("reverse",))
def _minimise(
    x0: Array,
    driver_index: Array,
    start_score: Array,
    mask: Array,
    archetype: Array,
    weight: Array,
    experience: Array,
    present: Array,
    prec_s: float,
    prec_a: float,
    *,
    reverse: bool,
) -> Array:
    """Maximum penalised likelihood of the strengths, offsets, start effects and prior (BFGS)."""
    n_drivers = experience.shape[0]

    def loss(x: Array) -> Array:
        base, offsets, start_weights, theta, scale = _unpack(x, n_drivers)
        # How much a driver's form carries over differs by archetype (little at superspeedways).
        strength = scale[archetype][:, None] * base[driver_index] + offsets[driver_index, archetype[:, None]]
        utility = strength + start_weights[archetype][:, None] * start_score
        if reverse:
            # From the back: each running car is slower than every car ahead of it.
            utility = jnp.where(mask > 0, -utility, -1e9)
            rest = jax.lax.cumlogsumexp(utility, axis=1)
        else:
            # From the front: each running car beats every running car behind it.
            utility = jnp.where(mask > 0, utility, -1e9)
            rest = jax.lax.cumlogsumexp(utility, axis=1, reverse=True)
        log_lik = jnp.sum(jnp.where(mask > 0, utility - rest, 0.0), axis=1)
        prior_mean = theta[0] + theta[1] * experience
        penalty = 0.5 * prec_s * jnp.sum(present * (base - prior_mean) ** 2)
        penalty += 0.5 * prec_a * jnp.sum(offsets**2)
        return (-jnp.sum(weight * log_lik) + penalty) / jnp.sum(weight)

    return minimize(loss, x0, method="BFGS", options={"maxiter": 500}).x


def _base_dnf_rates(
    races: Sequence[RaceLike], weights: np.ndarray, settings: RatingSettings
) -> dict[Archetype, float]:
    dnfs: dict[str, float] = defaultdict(float)
    cars: dict[str, float] = defaultdict(float)
    for race, w in zip(races, weights, strict=True):
        dnfs[race.archetype] += w * sum(e.dnf for e in race.entries)
        cars[race.archetype] += w * len(race.entries)
    total = sum(dnfs.values()) / max(sum(cars.values()), 1e-9) if cars else 0.12
    pseudo_cars = settings.dnf_pseudo_races * 38
    return {a: (dnfs[a] + pseudo_cars * total) / (cars[a] + pseudo_cars) for a in ARCHETYPES}


def _dnf_ratios(
    races: Sequence[RaceLike], weights: np.ndarray, base: Mapping[Archetype, float], settings: RatingSettings
) -> dict[str, float]:
    observed: dict[str, float] = defaultdict(float)
    expected: dict[str, float] = defaultdict(float)
    for race, w in zip(races, weights, strict=True):
        for e in race.entries:
            observed[e.driver_key] += w * e.dnf
            expected[e.driver_key] += w * base[race.archetype]
    k = settings.dnf_pseudo
    return {key: (observed[key] + k) / (expected[key] + k) for key in expected}


def _excess_share(
    races: Sequence[RaceLike], weights: np.ndarray, settings: RatingSettings, column: str
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


def iter_keys(races: Iterable[RaceLike]) -> set[str]:
    return {e.driver_key for r in races for e in r.entries}
