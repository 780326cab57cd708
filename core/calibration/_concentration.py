"""The fastest-lap concentration per archetype (how steeply the kernel's fastest laps follow a
race's pace) and the scale of drivers' speed ratings there, fitted by the likelihood of the
fastest laps the loop data credits (docs/methods.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..history import HistoricalRace
from ..sim import default_params
from ..slate import ARCHETYPES, Archetype
from ._design import Design
from ._strength import StrengthFit

# The concentrations tried (the kernel's log-weight of a fastest lap per unit of relative pace).
GRID = np.round(np.arange(0.0, 2.01, 0.05), 2)
SCALES = np.round(np.arange(0.25, 1.51, 0.125), 3)  # the speed effect's scales tried
_DRAWS = 64  # pace draws per race (common to every concentration, so the likelihood is smooth)


def fastest_lap_concentrations(
    races: Sequence[HistoricalRace],
    weights: np.ndarray,
    strength: StrengthFit,
    design: Design,
    speed: Mapping[str, Mapping[Archetype, float]],
    team_shock: Mapping[Archetype, float],
) -> dict[Archetype, tuple[float, float]]:
    """Per archetype, (c, b): the concentration and the speed ratings' scale that maximise the
    age-weighted multinomial likelihood of each race's fastest laps, driver i's probability being
    his expected share E[w_i / sum w] over pace draws: w = exp(c x pace + b x speed) x the share
    of the race the car ran (as it happened), pace as the kernel draws it for the forecast
    (fitted strength with the team's, plus the start effect, times the track's scale, over the
    regime's noise; the team's shock; reversed Gumbel noise). The kernel's default (and b = 1)
    stays where an archetype has no race with fastest laps."""
    index = {k: i for i, k in enumerate(design.keys)}
    team_index = {t: j for j, t in enumerate(design.teams) if t}
    rng = np.random.default_rng(0)
    fitted: dict[Archetype, tuple[float, float]] = {}
    for k, archetype in enumerate(ARCHETYPES):
        rows = [
            (race, w)
            for race, w in zip(races, weights, strict=True)
            if race.archetype == archetype and not race.exhibition and race.has_fastest_laps and w > 0
        ]
        if not rows:
            fitted[archetype] = (default_params(archetype).fastest_lap_concentration, 1.0)
            continue
        width = max(len(race.entries) for race, _ in rows)
        strengths = np.zeros((len(rows), width))
        teams = np.zeros((len(rows), width), np.int64)
        speeds = np.zeros((len(rows), width))
        on_track = np.full((len(rows), width), -np.inf)  # log; padding: weight 0
        counts = np.zeros((len(rows), width))
        for r, (race, _) in enumerate(rows):
            n = len(race.entries)
            scale = strength.track_scale.get((race.track_id, archetype), 1.0)
            labels = {e.team or f"\0{j}": None for j, e in enumerate(race.entries)}
            local = {label: m for m, label in enumerate(labels)}
            for j, e in enumerate(race.entries):
                start_score = 1.0 - (e.start - 1) / max(n - 1, 1)
                team = strength.teams[team_index[e.team]] if e.team in team_index else 0.0
                strengths[r, j] = scale * (
                    strength.strengths[index[e.driver_key], k]
                    + strength.scale[k] * team
                    + strength.start_weights[k] * start_score
                )
                teams[r, j] = local[e.team or f"\0{j}"]
                ran = min(max(e.laps_completed, 0) / max(race.laps, 1), 1.0)
                speeds[r, j] = speed.get(e.driver_key, {}).get(archetype, 0.0)
                on_track[r, j] = np.log(max(ran, 1e-6))
                counts[r, j] = e.fastest_laps or 0
        params = default_params(archetype)
        regime = rng.choice(len(params.regime_probs), size=_DRAWS, p=params.regime_probs)
        noise = np.asarray(params.regime_order_noise)[regime][:, None, None]
        gumbel = -np.log(-np.log(rng.uniform(1e-12, 1.0 - 1e-12, (_DRAWS, *strengths.shape))))
        shocks = team_shock.get(archetype, 0.0) * rng.standard_normal((_DRAWS, len(rows), width))
        shared = np.take_along_axis(shocks, np.broadcast_to(teams, shocks.shape), axis=2)
        pace = strengths[None] / noise - gumbel + shared  # reversed Plackett-Luce: Gumbel negated
        pace -= pace.max(axis=2, keepdims=True)
        race_weights = np.asarray([w for _, w in rows])
        scores = [
            (_log_likelihood(c, b, pace, speeds, on_track, counts, race_weights), c, b)
            for c in GRID
            for b in SCALES
        ]
        best = max(scores)
        fitted[archetype] = (float(best[1]), float(best[2]))
    return fitted


def _log_likelihood(
    c: float,
    b: float,
    pace: np.ndarray,
    speeds: np.ndarray,
    on_track: np.ndarray,
    counts: np.ndarray,
    race_weights: np.ndarray,
) -> float:
    log_w = c * pace + (b * speeds + on_track)[None]
    log_w -= log_w.max(axis=2, keepdims=True)
    w = np.exp(log_w)
    share = (w / w.sum(axis=2, keepdims=True)).mean(axis=0)
    per_race = np.sum(np.where(counts > 0, counts * np.log(np.maximum(share, 1e-300)), 0.0), axis=1)
    return float(race_weights @ per_race)
