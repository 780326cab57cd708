"""The history's records: one race (`HistoricalRace`) and one driver's result in it (`RaceEntry`)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from ..slate import Archetype


@dataclass(frozen=True, slots=True)
class RaceEntry:
    """One driver's result in one race."""

    driver: str  # the name as spelled in the results file (the logs, for exhibitions)
    driver_key: str  # core.names.driver_key(driver): the join key across sources and seasons
    start: int
    finish: int
    laps_completed: int
    laps_led: int
    fastest_laps: int | None  # from the race logs; None where unknown
    status: str  # lowercased, stripped
    dnf: bool  # did not finish running
    team: str = ""  # the car's team (results file `Team`, optional column); "" where unknown
    avg_position: float | None = None  # average running position (race logs `avg`); None unknown


class RaceArrays(NamedTuple):
    """One race's entries as numpy columns, one element per driver in `entries` order."""

    start: npt.NDArray[np.int32]
    finish: npt.NDArray[np.int32]
    laps_completed: npt.NDArray[np.int32]
    laps_led: npt.NDArray[np.int32]
    fastest_laps: npt.NDArray[np.int32]  # -1 where unknown
    dnf: npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class HistoricalRace:
    """One Cup race (points race or exhibition) with its entries sorted by finish."""

    race_id: str  # f"{season}-{race_number:02d}"; exhibitions f"{season}-x{k:02d}"
    season: int
    race_number: int  # as in the results file; 0 for exhibitions
    date: datetime.date | None  # from the matched log event; None without one
    track: str  # the results file's track name
    track_id: str  # as in data/tracks.csv where the name or an alias is there, else a slug of the name
    archetype: Archetype
    laps: int  # scheduled length (plus overtime) = the winner's laps completed
    exhibition: bool
    entries: tuple[RaceEntry, ...]
    # The starting lineup was set by the rulebook (qualifying not held: the 2020-2021 formula,
    # rain-outs), not by speed: see `rulebook_lineup`.
    rulebook_lineup: bool = False

    @property
    def has_fastest_laps(self) -> bool:
        """Whether every entry has a fastest-lap count."""
        return all(e.fastest_laps is not None for e in self.entries)

    def arrays(self) -> RaceArrays:
        """The entries as numpy columns (int32; fastest laps -1 where unknown; dnf bool)."""
        entries = self.entries
        n = len(entries)

        def column(values: Iterator[int]) -> npt.NDArray[np.int32]:
            return np.fromiter(values, dtype=np.int32, count=n)

        return RaceArrays(
            start=column(e.start for e in entries),
            finish=column(e.finish for e in entries),
            laps_completed=column(e.laps_completed for e in entries),
            laps_led=column(e.laps_led for e in entries),
            fastest_laps=column(-1 if e.fastest_laps is None else e.fastest_laps for e in entries),
            dnf=np.fromiter((e.dnf for e in entries), dtype=np.bool_, count=n),
        )
