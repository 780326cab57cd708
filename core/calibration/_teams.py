"""Team shocks: how much more teammates' results move together than other pairs', read as the
size of a pace shock a team's cars share in a race."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from ..history import HistoricalRace
from ..slate import ARCHETYPES, Archetype

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
