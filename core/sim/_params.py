"""Per-archetype parameters of the race model and the mapping from drivers to kernel inputs."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats
from jaxtyping import Array, Float

from ..slate import Archetype, Driver
from ._types import DriverFloats, DriverInts

MAX_CAUTIONS = 63  # the kernel's Poisson draw covers 0..MAX_CAUTIONS cautions

REGIMES = ("standard", "dominator", "chaos", "fuel_mileage")
PARAMS_VERSION = "defaults-2026.11.3"


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class ArchetypeParams:
    """Everything the race model needs to know about a kind of track.

    The first group feeds the kernel; the second maps a driver's raw inputs (skill, aggression,
    shadow_risk) to kernel inputs. n_blocks fixes array shapes, so it is static.
    """

    # Regimes: probabilities and how each scales chaos, dominance and finishing-order noise.
    regime_probs: tuple[float, float, float, float]
    regime_chaos: tuple[float, float, float, float]
    regime_dominance: tuple[float, float, float, float]
    regime_order_noise: tuple[float, float, float, float]
    chaos_shape: float  # Gamma shape of the chaos factor (mean 1); smaller -> more over-dispersion
    cautions_per_100_laps: float
    laps_per_caution: float
    start_weight: float  # Plackett-Luce log-weight of the pole sitter over the last starter
    dominance: float  # concentration of laps led on the best lead scores
    lead_pace_coupling: float  # 1: laps led follow this race's pace (and so the result); 0: not
    fastest_lap_concentration: float  # same for fastest laps (flatter)
    lapped_fraction: float  # laps down of the last running car, as a fraction of the race
    # Raw-input mapping.
    skill_weight: float
    dnf_hazard: float  # per-race DNF hazard of an average car at chaos 1
    dnf_shadow_weight: float
    dnf_aggression_weight: float
    lead_aggression_weight: float
    # False: Plackett-Luce from the front (the winner is drawn first); True: from the back (the
    # last running car is drawn first), which is sharp at the back of the field and loose at the
    # front, as real results are. Fitted ratings say which one they were fitted for.
    reverse_order: bool = False
    # Standard deviation of a normal pace shock that a team's cars share in a race (same equipment,
    # same set-up, drafting partners), in units of the finishing-order noise. It applies to drivers
    # whose fitted ratings name a team (see driver_inputs); 0 leaves drivers independent.
    team_shock: float = 0.0
    # Share of the green-flag laps that count as someone's fastest lap. Loop data credits fewer
    # fastest laps than a race has green laps (laps under green after a restart, timing gaps):
    # fitted per archetype from history (core.calibration); 1 credits every green lap.
    fastest_lap_share: float = 1.0
    n_blocks: int = dataclasses.field(default=20, metadata={"static": True})


# Tuned so that a realistic field reproduces the archetype targets of docs/race-model.md
# (tests/unit/test_archetypes.py measures each statistic; scripts/tune_archetypes.py prints the
# full comparison).
DEFAULT_PARAMS: dict[Archetype, ArchetypeParams] = {
    "intermediate": ArchetypeParams(
        regime_probs=(0.55, 0.2, 0.15, 0.1),
        regime_chaos=(1.0, 0.8, 1.9, 0.8),
        regime_dominance=(1.0, 1.6, 0.7, 1.0),
        regime_order_noise=(1.0, 0.9, 1.4, 1.6),
        chaos_shape=3.0,
        cautions_per_100_laps=2.6,
        laps_per_caution=5.5,
        start_weight=1.4,
        lead_pace_coupling=0.58,
        dominance=1.4,
        fastest_lap_concentration=0.6,
        lapped_fraction=0.02,
        skill_weight=3.0,
        dnf_hazard=0.125,
        dnf_shadow_weight=1.0,
        dnf_aggression_weight=0.5,
        lead_aggression_weight=0.5,
        n_blocks=26,
    ),
    "short": ArchetypeParams(
        regime_probs=(0.55, 0.2, 0.15, 0.1),
        regime_chaos=(1.0, 0.8, 1.9, 0.8),
        regime_dominance=(1.0, 1.6, 0.7, 1.0),
        regime_order_noise=(1.0, 0.9, 1.4, 1.6),
        chaos_shape=5.0,
        cautions_per_100_laps=1.8,
        laps_per_caution=7.0,
        start_weight=2.3,
        lead_pace_coupling=0.49,
        dominance=1.2,
        fastest_lap_concentration=0.6,
        lapped_fraction=0.03,
        skill_weight=3.0,
        dnf_hazard=0.115,
        dnf_shadow_weight=1.0,
        dnf_aggression_weight=0.5,
        lead_aggression_weight=0.5,
        n_blocks=16,
    ),
    "road": ArchetypeParams(
        regime_probs=(0.55, 0.2, 0.15, 0.1),
        regime_chaos=(1.0, 0.8, 1.9, 0.8),
        regime_dominance=(1.0, 1.6, 0.7, 1.0),
        regime_order_noise=(1.0, 0.9, 1.4, 1.6),
        chaos_shape=3.5,
        cautions_per_100_laps=4.0,
        laps_per_caution=3.0,
        start_weight=1.1,
        lead_pace_coupling=0.82,
        dominance=1.15,
        fastest_lap_concentration=0.6,
        lapped_fraction=0.02,
        skill_weight=3.0,
        dnf_hazard=0.10,
        dnf_shadow_weight=1.0,
        dnf_aggression_weight=0.5,
        lead_aggression_weight=0.5,
        n_blocks=18,
    ),
    "superspeedway": ArchetypeParams(
        regime_probs=(0.55, 0.1, 0.25, 0.1),
        regime_chaos=(1.0, 0.8, 1.8, 0.8),
        regime_dominance=(1.0, 1.2, 0.9, 1.0),
        regime_order_noise=(1.0, 0.9, 1.3, 1.3),
        chaos_shape=5.0,
        cautions_per_100_laps=3.5,
        laps_per_caution=5.0,
        start_weight=0.3,
        lead_pace_coupling=0.4,
        dominance=1.15,
        fastest_lap_concentration=0.3,
        lapped_fraction=0.01,
        skill_weight=1.0,
        dnf_hazard=0.35,
        dnf_shadow_weight=0.6,
        dnf_aggression_weight=0.4,
        lead_aggression_weight=0.5,
        n_blocks=46,
    ),
}


def default_params(archetype: Archetype) -> ArchetypeParams:
    return DEFAULT_PARAMS[archetype]


class DriverInputs(NamedTuple):
    """Kernel inputs, one entry per driver, in slate order."""

    start_position: DriverInts
    strength: DriverFloats  # Plackett-Luce log-weight before the start-position effect
    lead_bias: DriverFloats  # extra log-weight for leading laps
    speed_bias: DriverFloats  # extra log-weight for fastest laps
    dnf_hazard: DriverFloats  # per-race DNF hazard at chaos 1
    # drivers x teams, one 1 per row: the team whose pace shock each driver shares (a driver of
    # no known team is a team of one). None: no team shocks (the shape is part of the program).
    team_members: Float[Array, "drivers teams"] | None = None


def driver_inputs(drivers: Sequence[Driver], params: ArchetypeParams, *, use_ratings: bool) -> DriverInputs:
    """Map drivers to kernel inputs: fitted ratings where asked for and present, else raw inputs.

    Team shocks need both a positive params.team_shock and fitted ratings that name teams.
    """
    rows = [_driver_row(d, params, use_ratings=use_ratings) for d in drivers]
    columns = np.asarray(rows, dtype=np.float64).T
    teams = [d.ratings.team if use_ratings and d.ratings is not None else "" for d in drivers]
    return DriverInputs(
        start_position=jnp.asarray([d.start_position for d in drivers], dtype=jnp.int32),
        strength=jnp.asarray(columns[0], dtype=jnp.float32),
        lead_bias=jnp.asarray(columns[1], dtype=jnp.float32),
        speed_bias=jnp.asarray(columns[2], dtype=jnp.float32),
        dnf_hazard=jnp.asarray(columns[3], dtype=jnp.float32),
        team_members=team_members(teams) if params.team_shock > 0 and any(teams) else None,
    )


def team_members(teams: Sequence[str]) -> Float[Array, "drivers teams"]:
    """One-hot team membership; every driver with no team ("") is a team of its own.

    There are as many columns as drivers (the unused ones all zero), so the kernel's shapes depend
    on the field size alone and a new mix of teams never costs a compilation.
    """
    labels = [team or f"\0{i}" for i, team in enumerate(teams)]
    columns = {label: j for j, label in enumerate(dict.fromkeys(labels))}
    members = np.zeros((len(teams), len(teams)), np.float32)
    members[np.arange(len(teams)), [columns[label] for label in labels]] = 1.0
    return jnp.asarray(members)


def dnf_hazard_for(rate: float, params: ArchetypeParams) -> float:
    """The hazard at chaos 1 that retires a car with probability `rate` on average over the chaos
    factor (regime mix x Gamma): the kernel's DNF probability is 1 - exp(-hazard x chaos), so the
    plain -log(1 - rate) would miss the fitted rate by the chaos factor's mean and spread.

    With chaos = c x Gamma(k) / k, E[exp(-h x chaos)] = (1 + h c / k) ** -k; the mixture over
    regimes falls as h grows, so bisection finds h.
    """
    probs = np.asarray(params.regime_probs, np.float64)
    scales = np.asarray(params.regime_chaos, np.float64) / params.chaos_shape

    def survival(hazard: float) -> float:
        return float(np.sum(probs * (1.0 + hazard * scales) ** -params.chaos_shape))

    low, high = 0.0, 1.0
    while survival(high) > 1.0 - rate:
        high *= 2.0
    for _ in range(60):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if survival(middle) > 1.0 - rate else (low, middle)
    return 0.5 * (low + high)


def expected_green_laps(params: ArchetypeParams, race_length: int) -> float:
    """The kernel's mean green laps in a race of `race_length` laps.

    Cautions are Poisson given the chaos factor c x Gamma(k) / k, so over the Gamma they are
    negative binomial (mean mu = rate x c, shape k); each caution takes laps_per_caution laps
    (rounded), at most half the race.
    """
    rate = params.cautions_per_100_laps * race_length / 100.0
    counts = np.arange(MAX_CAUTIONS + 1)
    caution_laps = np.minimum(np.floor(counts * params.laps_per_caution + 0.5), race_length // 2)
    k = params.chaos_shape
    expected = 0.0
    for probability, chaos in zip(params.regime_probs, params.regime_chaos, strict=True):
        pmf = scipy.stats.nbinom.pmf(counts, k, k / (k + rate * chaos))
        pmf[-1] += 1.0 - pmf.sum()  # the kernel's support ends at MAX_CAUTIONS
        expected += probability * float(np.sum(pmf * caution_laps))
    return race_length - expected


def _driver_row(driver: Driver, params: ArchetypeParams, *, use_ratings: bool) -> tuple[float, ...]:
    if use_ratings and driver.ratings is not None:
        r = driver.ratings
        return (r.strength, r.dominance, r.speed, dnf_hazard_for(min(r.dnf_rate, 0.99), params))
    centred_risk = driver.shadow_risk - 0.5
    centred_aggression = driver.aggression - 0.5
    log_hazard = params.dnf_shadow_weight * centred_risk + params.dnf_aggression_weight * centred_aggression
    return (
        params.skill_weight * driver.skill,
        params.lead_aggression_weight * centred_aggression,
        0.0,
        params.dnf_hazard * float(np.exp(log_hazard)),
    )
