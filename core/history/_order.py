"""Race order: points races by number, exhibitions before the next points race they precede."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence

from ._races import HistoricalRace

_OrderKey = tuple[int, int, int, int, str]


def races_before(history: Sequence[HistoricalRace], race: HistoricalRace) -> tuple[HistoricalRace, ...]:
    """Every race of `history` strictly earlier than `race`, in race order: the data to fit on.

    Points races are ordered by (season, race_number); an exhibition sits before the first points
    race of its season dated after it (dates come from the logs), as in `load_history`.
    """
    pool = list(history)
    if not any(r.race_id == race.race_id for r in pool):
        pool.append(race)
    keys = order_keys(pool)
    target = keys[next(i for i, r in enumerate(pool) if r.race_id == race.race_id)]
    earlier = sorted(
        ((key, i) for i, key in enumerate(keys[: len(history)]) if key < target), key=lambda ki: ki[0]
    )
    return tuple(pool[i] for _, i in earlier)


def order_keys(races: Sequence[HistoricalRace]) -> list[_OrderKey]:
    """Sort keys for race order: (season, race_number) for points races; an exhibition takes the
    number of the first points race of its season dated after it and sorts just before that race."""
    dated: dict[int, list[tuple[datetime.date, int]]] = defaultdict(list)
    for race in races:
        if not race.exhibition and race.date is not None:
            dated[race.season].append((race.date, race.race_number))
    keys: list[_OrderKey] = []
    for race in races:
        if not race.exhibition:
            keys.append((race.season, race.race_number, 1, 0, race.race_id))
            continue
        day = race.date or datetime.date(race.season, 1, 1)
        later = [number for date, number in dated.get(race.season, ()) if date > day]
        slot = min(later) if later else 1 << 30
        keys.append((race.season, slot, 0, day.toordinal(), race.race_id))
    return keys
