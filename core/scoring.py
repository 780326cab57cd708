"""Fantasy points from race components, one rule set per site (docs/race-model.md, "Scoring rules").

The functions work on NumPy arrays, JAX arrays (also inside jit) and Python ints alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

MAX_POSITIONS = 50


def _draftkings_finish_points() -> tuple[float, ...]:
    # 1st 45, 2nd 42, 3rd..10th 41..34, 11th..20th 32..23, 21st..30th 21..12, 31st..40th 10..1.
    table = [45, 42, *range(41, 33, -1), *range(32, 22, -1), *range(21, 11, -1), *range(10, 0, -1)]
    return tuple(float(p) for p in table + [0] * (MAX_POSITIONS - len(table)))


def _fanduel_finish_points() -> tuple[float, ...]:
    # 1st 43, 2nd 40, 3rd 38, then 41 - position down to 1 point for 40th.
    table = [43, 40, 38, *(41 - p for p in range(4, 41))]
    return tuple(float(p) for p in table + [0] * (MAX_POSITIONS - len(table)))


@dataclass(frozen=True, slots=True)
class ScoringRules:
    """A site's scoring as data: points per finishing position and per race component."""

    name: str
    finish_points: tuple[float, ...]
    place_differential: float
    per_lap_led: float
    per_fastest_lap: float
    per_lap_completed: float


DRAFTKINGS_SCORING = ScoringRules(
    name="draftkings-classic",
    finish_points=_draftkings_finish_points(),
    place_differential=1.0,
    per_lap_led=0.25,
    per_fastest_lap=0.45,
    per_lap_completed=0.0,
)

# Sources disagree on FanDuel's place-differential weight (0.5 or 1.0); 0.5 is the default here
# and the weight is a named field so a caller can build the other rule set with
# dataclasses.replace(FANDUEL_SCORING, place_differential=1.0).
FANDUEL_SCORING = ScoringRules(
    name="fanduel",
    finish_points=_fanduel_finish_points(),
    place_differential=0.5,
    per_lap_led=0.1,
    per_fastest_lap=0.0,
    per_lap_completed=0.1,
)


def fantasy_points(
    rules: ScoringRules,
    *,
    finish_position: Any,
    start_position: Any,
    laps_led: Any,
    fastest_laps: Any = 0,
    laps_completed: Any = 0,
) -> Any:
    """Points under `rules`; positions are 1-based. Returns float32 under JAX, float64 in NumPy."""
    traced = any(
        isinstance(x, jax.Array)
        for x in (finish_position, start_position, laps_led, fastest_laps, laps_completed)
    )
    xp: Any = jnp if traced else np
    dtype = xp.float32 if traced else xp.float64
    table = xp.asarray(rules.finish_points, dtype=dtype)
    finish = xp.asarray(finish_position)
    points = table[xp.clip(finish - 1, 0, MAX_POSITIONS - 1)]
    points = points + rules.place_differential * (xp.asarray(start_position) - finish).astype(dtype)
    points = points + rules.per_lap_led * xp.asarray(laps_led).astype(dtype)
    points = points + rules.per_fastest_lap * xp.asarray(fastest_laps).astype(dtype)
    return points + rules.per_lap_completed * xp.asarray(laps_completed).astype(dtype)


def draftkings_points(*, finish_position: Any, start_position: Any, laps_led: Any, fastest_laps: Any) -> Any:
    """DraftKings Classic NASCAR points."""
    return fantasy_points(
        DRAFTKINGS_SCORING,
        finish_position=finish_position,
        start_position=start_position,
        laps_led=laps_led,
        fastest_laps=fastest_laps,
    )


def fanduel_points(*, finish_position: Any, start_position: Any, laps_led: Any, laps_completed: Any) -> Any:
    """FanDuel NASCAR points (no fastest-lap points)."""
    return fantasy_points(
        FANDUEL_SCORING,
        finish_position=finish_position,
        start_position=start_position,
        laps_led=laps_led,
        laps_completed=laps_completed,
    )
