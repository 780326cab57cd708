"""Laps led and fastest laps: each driver's dominance and speed, and the share of green laps that
the loop data credits as someone's fastest lap (docs/methods.md describes the fits)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..history import HistoricalRace
from ..sim import default_params, expected_green_laps
from ..slate import ARCHETYPES, MAX_LAPS, MIN_LAPS, Archetype
from ._settings import RatingSettings

# [archetypes, families]: road courses are one family, the ovals (every other archetype) another.
_FAMILY = np.asarray([[a == "road", a != "road"] for a in ARCHETYPES], np.float64)
_MIN_CELL = 10  # entries at a finishing position of an archetype for its own average share


def fastest_lap_shares(races: Sequence[HistoricalRace], weights: np.ndarray) -> dict[Archetype, float]:
    """Per archetype, the age-weighted fastest laps the data credits over the green laps the
    kernel runs in races of the same lengths (1 where no race has fastest laps): the kernel
    hands out this share of its green laps, so its totals match history on average."""
    credited: dict[Archetype, float] = defaultdict(float)
    green: dict[Archetype, float] = defaultdict(float)
    for race, w in zip(races, weights, strict=True):
        if race.exhibition or not race.has_fastest_laps:
            continue
        length = min(max(race.laps, MIN_LAPS), MAX_LAPS)
        credited[race.archetype] += w * sum(e.fastest_laps or 0 for e in race.entries)
        green[race.archetype] += w * expected_green_laps(default_params(race.archetype), length)
    return {a: min(credited[a] / green[a], 1.0) if green[a] > 0 else 1.0 for a in ARCHETYPES}


def excess_share(
    races: Sequence[HistoricalRace], weights: np.ndarray, settings: RatingSettings, column: str
) -> dict[str, dict[Archetype, float]]:
    """Each driver's log-weight for laps led or fastest laps, per archetype.

    Overall, log((share + k) / (expected share + k)), where the expected share is the average
    share of the same finishing position at the same archetype (see lap_shares; races without
    the column are skipped) and k is lead_pseudo. Per family of tracks (road courses, ovals),
    the same ratio with the overall one R as a prior worth m = archetype_lead_pseudo expected
    shares, (share_f + m R) / (expected_f + m); per archetype, the same again with the family's
    ratio as the prior. A driver with few races of an archetype keeps his family's value, one
    with few races of the family his overall value, and one with many gets his own (m sets how
    far a road racer's speed carries to the ovals). m = 0 gives the archetype's races alone.
    """
    actual: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(ARCHETYPES)))
    expected: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(ARCHETYPES)))
    for s in lap_shares(races, weights, column, settings.lead_by_archetype):
        actual[s.driver_key][s.archetype] += s.weight * s.share
        expected[s.driver_key][s.archetype] += s.weight * s.average
    k, m = settings.lead_pseudo, max(settings.archetype_lead_pseudo, 1e-9)  # m -> 0: no prior
    ratings = {}
    for key in actual:
        overall = (actual[key].sum() + k) / (expected[key].sum() + k)
        # Ovals and road courses first (a road racer's speed is not an oval racer's), then the
        # archetype within them.
        family = _FAMILY @ ((_FAMILY.T @ actual[key] + m * overall) / (_FAMILY.T @ expected[key] + m))
        by_archetype = (actual[key] + m * family) / (expected[key] + m)
        ratings[key] = {a: math.log(float(v)) for a, v in zip(ARCHETYPES, by_archetype, strict=True)}
    return ratings


class LapShare(NamedTuple):
    """One entry's share of its race's laps led (fastest laps), and what its finish averages."""

    driver_key: str
    archetype: int  # index in ARCHETYPES
    weight: float  # the race's age weight
    finish: int
    share: float  # of the race's total
    average: float  # the average share of that finishing position (see lap_shares)


def lap_shares(
    races: Sequence[HistoricalRace], weights: np.ndarray, column: str, by_archetype: bool
) -> list[LapShare]:
    """Every entry's LapShare, in the races that have the column.

    The average is the archetype's own where `by_archetype` and the archetype has at least
    _MIN_CELL entries at that position: at superspeedways the draft spreads fastest laps over
    the field, so an average over all tracks would read a backmarker's share there as speed.
    """
    pooled: dict[int, list[float]] = defaultdict(list)
    cells: dict[tuple[int, int], list[float]] = defaultdict(list)
    rows: list[tuple[str, int, float, int, float]] = []  # LapShare without its average
    for race, w in zip(races, weights, strict=True):
        values = [getattr(e, column) for e in race.entries]
        if any(v is None for v in values):
            continue
        total = max(sum(values), 1)
        a = ARCHETYPES.index(race.archetype)
        for e, v in zip(race.entries, values, strict=True):
            pooled[e.finish].append(v / total)
            cells[a, e.finish].append(v / total)
            rows.append((e.driver_key, a, float(w), e.finish, v / total))
    average = {p: float(np.mean(s)) for p, s in pooled.items()}
    if by_archetype:
        average_at = {c: float(np.mean(s)) for c, s in cells.items() if len(s) >= _MIN_CELL}
    else:
        average_at = {}
    return [LapShare(*row, average_at.get((row[1], row[3]), average[row[3]])) for row in rows]
