"""How steeply the kernel's fastest laps and laps led follow a race's pace, per archetype, and
the scale of drivers' speed and dominance ratings there, fitted by the likelihood of the laps the
history credits (docs/methods.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..history import HistoricalRace
from ..sim import default_params
from ..slate import ARCHETYPES, Archetype
from ._design import Design
from ._strength import StrengthFit

# The concentrations tried (the kernel's log-weight of a fastest lap per unit of relative pace).
GRID = np.round(np.arange(0.0, 2.01, 0.05), 2)
SCALES = np.round(np.arange(0.25, 1.51, 0.125), 3)  # the rating effect's scales tried
# The laps-led concentrations tried (the kernel's `dominance`, before its regime multiplier).
LEAD_GRID = np.round(np.arange(0.2, 3.01, 0.1), 2)
_ONE = np.ones(1)  # a scale held at 1
_DRAWS = 64  # pace draws per race (common to every concentration, so the likelihood is smooth)

Ratings = Mapping[str, Mapping[Archetype, float]]


@dataclass(frozen=True, slots=True)
class _Races:
    """One archetype's races as padded arrays, with pace drawn as the kernel draws it."""

    # [draws, races, cars]: the kernel's log-weight per unit of concentration, relative to the
    # race's best (fastest laps: pace; laps led: the regime's multiplier x the lead score).
    score: np.ndarray
    on_track: np.ndarray  # [races, cars]: log share of the race the car ran (-inf: padding)
    ratings: np.ndarray  # [races, cars]: the driver's speed or dominance at the archetype
    counts: np.ndarray  # [races, cars]: fastest laps or laps led
    weights: np.ndarray  # [races]


def fastest_lap_concentrations(
    races: Sequence[HistoricalRace],
    weights: np.ndarray,
    strength: StrengthFit,
    design: Design,
    speed: Ratings,
    team_shock: Mapping[Archetype, float],
) -> dict[Archetype, tuple[float, float]]:
    """Per archetype, (c, b): the concentration and the speed ratings' scale that maximise the
    age-weighted multinomial likelihood of each race's fastest laps, driver i's probability being
    his expected share E[w_i / sum w] over pace draws: w = exp(c x pace + b x speed) x the share
    of the race the car ran (as it happened), pace as the kernel draws it for the forecast
    (fitted strength with the team's, plus the start effect, times the track's scale, over the
    regime's noise; the team's shock; reversed Gumbel noise). The kernel's default (and b = 1)
    stays where an archetype has no race with fastest laps."""

    def fit(data: _Races) -> tuple[float, float]:
        return _best(GRID, lambda c, b: _log_likelihood(c * data.score, b, data))

    return _per_archetype(
        races, weights, strength, design, speed, team_shock, "fastest_laps", fit,
        lambda a: (default_params(a).fastest_lap_concentration, 1.0),
    )  # fmt: skip


def lead_concentrations(
    races: Sequence[HistoricalRace],
    weights: np.ndarray,
    strength: StrengthFit,
    design: Design,
    dominance: Ratings,
    team_shock: Mapping[Archetype, float],
) -> dict[Archetype, float]:
    """Per archetype, the kernel's laps-led concentration d that maximises the likelihood of each
    race's laps led, as for fastest laps: w = exp(d x the regime's multiplier x lead score +
    dominance) x the share of the race run, the lead score mixing pace with the car's strength
    and its own noise as the kernel does. The dominance ratings keep their scale: fitted on the
    same races, a free scale read their in-sample fit as signal (1.25-1.5 through 2024) and
    forecast laps led worse out of sample."""

    def fit(data: _Races) -> tuple[float, float]:
        return _best(LEAD_GRID, lambda d, b: _log_likelihood(d * data.score, b, data), _ONE)

    fitted = _per_archetype(
        races, weights, strength, design, dominance, team_shock, "laps_led", fit,
        lambda a: (default_params(a).dominance, 1.0),
    )  # fmt: skip
    return {a: d for a, (d, _) in fitted.items()}


def _per_archetype(
    races: Sequence[HistoricalRace],
    weights: np.ndarray,
    strength: StrengthFit,
    design: Design,
    ratings: Ratings,
    team_shock: Mapping[Archetype, float],
    column: str,
    fit: Callable[[_Races], tuple[float, float]],
    default: Callable[[Archetype], tuple[float, float]],
) -> dict[Archetype, tuple[float, float]]:
    rng = np.random.default_rng(0)
    fitted: dict[Archetype, tuple[float, float]] = {}
    for k, archetype in enumerate(ARCHETYPES):
        rows = [
            (race, w)
            for race, w in zip(races, weights, strict=True)
            if race.archetype == archetype
            and not race.exhibition
            and w > 0
            and all(getattr(e, column) is not None for e in race.entries)
        ]
        if rows:
            data = _draw(rows, k, strength, design, ratings, team_shock.get(archetype, 0.0), column, rng)
            fitted[archetype] = fit(data)
        else:
            fitted[archetype] = default(archetype)
    return fitted


def _draw(
    rows: Sequence[tuple[HistoricalRace, float]],
    k: int,
    strength: StrengthFit,
    design: Design,
    ratings: Ratings,
    team_shock: float,
    column: str,
    rng: np.random.Generator,
) -> _Races:
    archetype = ARCHETYPES[k]
    index = {key: i for i, key in enumerate(design.keys)}
    team_index = {t: j for j, t in enumerate(design.teams) if t}
    shape = (len(rows), max(len(race.entries) for race, _ in rows))
    strengths, rated, counts = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    teams = np.zeros(shape, np.int64)
    on_track = np.full(shape, -np.inf)  # log; padding: weight 0
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
            rated[r, j] = ratings.get(e.driver_key, {}).get(archetype, 0.0)
            on_track[r, j] = np.log(max(ran, 1e-6))
            counts[r, j] = getattr(e, column) or 0
    params = default_params(archetype)
    regime = rng.choice(len(params.regime_probs), size=_DRAWS, p=params.regime_probs)
    noise = np.asarray(params.regime_order_noise)[regime][:, None, None]
    gumbel = -np.log(-np.log(rng.uniform(1e-12, 1.0 - 1e-12, (_DRAWS, *shape))))
    shocks = team_shock * rng.standard_normal((_DRAWS, *shape))
    shared = np.take_along_axis(shocks, np.broadcast_to(teams, shocks.shape), axis=2)
    score = strengths[None] / noise - gumbel + shared  # pace; reversed Plackett-Luce: Gumbel negated
    if column == "laps_led":
        # The lead score's own noise from a stream of its own: the fastest-lap fit's draws stay
        # as they were before laps led were fitted.
        own = np.random.default_rng([1, k]).uniform(1e-12, 1.0 - 1e-12, (_DRAWS, *shape))
        coupling = params.lead_pace_coupling
        score = coupling * score + (1 - coupling) * (strengths[None] - np.log(-np.log(own)))
    score = np.where(np.isinf(on_track)[None], -1e9, score)  # padding never leads the race
    score -= score.max(axis=2, keepdims=True)
    if column == "laps_led":
        score *= np.asarray(params.regime_dominance)[regime][:, None, None]
    return _Races(
        score=score,
        on_track=on_track,
        ratings=rated,
        counts=counts,
        weights=np.asarray([w for _, w in rows]),
    )


def _best(
    grid: np.ndarray, log_likelihood: Callable[[float, float], float], scales: np.ndarray = SCALES
) -> tuple[float, float]:
    """The (concentration, scale) of the grids with the highest log-likelihood."""
    best = max((log_likelihood(c, b), c, b) for c in grid for b in scales)
    return float(best[1]), float(best[2])


def _log_likelihood(log_pace_weight: np.ndarray, b: float, data: _Races) -> float:
    log_w = log_pace_weight + (b * data.ratings + data.on_track)[None]
    log_w -= log_w.max(axis=2, keepdims=True)
    w = np.exp(log_w)
    share = (w / w.sum(axis=2, keepdims=True)).mean(axis=0)
    counts = data.counts
    per_race = np.sum(np.where(counts > 0, counts * np.log(np.maximum(share, 1e-300)), 0.0), axis=1)
    return float(data.weights @ per_race)
