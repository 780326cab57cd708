"""The strength fit's design: the rankings it explains, as padded arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..history import HistoricalRace, RaceEntry
from ..slate import ARCHETYPES
from ._settings import RatingSettings
from ._table import grid_fraction


@dataclass
class Design:
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


def build_design(races: Sequence[HistoricalRace], weights: np.ndarray, settings: RatingSettings) -> Design:
    """The rankings of `races` (age weights `weights`), padded to a few shapes for the jitted fit."""
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
    n_races = bucket(len(rankings), 64)
    n_slots = bucket(max((len(r.entries) for r in races), default=1), 8)
    shape = (n_races, n_slots)
    design = Design(
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
            design.start_score[row, slot] = 1.0 - grid_fraction(e.start, field_size)
            design.mask[row, slot] = 1.0
        design.archetype[row] = ARCHETYPES.index(race.archetype)
        design.weight[row] = weight
        design.track_index[row] = track_of.get(race.track_id, 0)
        design.running_order[row] = by_pace and settings.running_order_scale
        design.rulebook[row] = race.rulebook_lineup and settings.rulebook_start
    return design


def bucket(n: int, size: int) -> int:
    """Round up to a multiple of size so that jitted fits see few distinct shapes."""
    return max(size, -(-n // size) * size)
