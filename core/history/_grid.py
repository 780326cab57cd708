"""Starting lineups set by the rulebook rather than by qualifying speed."""

from __future__ import annotations

import numpy as np

from ._races import HistoricalRace

RULEBOOK_CORRELATION = 0.8
MIN_COMMON_DRIVERS = 10


def rulebook_lineup(race: HistoricalRace, previous: HistoricalRace) -> bool:
    """Whether `race`'s starting lineup follows `previous`'s finishing order (lineup_correlation
    >= RULEBOOK_CORRELATION): a lineup set by the rulebook (the 2020-2021 formula of the last
    race's finish and owner points, or the owner-points order when rain cancels qualifying),
    which says nothing about this weekend's speed. `scripts/grid_effects.py` prints how
    qualified and rulebook lineups fall on either side.
    """
    correlation = lineup_correlation(race, previous)
    return correlation is not None and correlation >= RULEBOOK_CORRELATION


def lineup_correlation(race: HistoricalRace, previous: HistoricalRace) -> float | None:
    """Spearman correlation of `race`'s start positions with `previous`'s finishing positions
    over the drivers in both (None for fewer than MIN_COMMON_DRIVERS)."""
    finish = {e.driver_key: e.finish for e in previous.entries}
    pairs = np.asarray([(e.start, finish[e.driver_key]) for e in race.entries if e.driver_key in finish])
    if len(pairs) < MIN_COMMON_DRIVERS:
        return None
    ranks = np.argsort(np.argsort(pairs, axis=0), axis=0).astype(float)
    return float(np.corrcoef(ranks[:, 0], ranks[:, 1])[0, 1])
