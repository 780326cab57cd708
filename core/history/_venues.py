"""Where a race was run: its track id and archetype, from data/tracks.csv, its aliases (a track
under a new name) and what the results row and the track's name say."""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput
from ..slate import ARCHETYPES, DATA_DIR, Archetype
from ._archetypes import archetype_if_known

TRACKS_FILE = "tracks.csv"
ALIASES_FILE = "track_aliases.csv"  # columns alias,track_id: a known track under another name


@dataclass(frozen=True, slots=True)
class KnownTrack:
    """One row of data/tracks.csv: a layout, its archetype as raced now and its length."""

    track_id: str
    name: str
    archetype: Archetype
    miles: float


@dataclass(frozen=True, slots=True)
class Venues:
    """The known tracks by every name they have raced under (names matched case-insensitively)."""

    by_name: Mapping[str, KnownTrack]

    def known(self, track: str) -> KnownTrack | None:
        """The known track of this name or alias, or None."""
        return self.by_name.get(_name_key(track))

    def track_id(self, track: str) -> str:
        """The known track's id, else a slug of the name (`Rockingham Speedway` -> `rockingham-speedway`)."""
        known = self.known(track)
        if known is not None:
            return known.track_id
        text = unicodedata.normalize("NFKD", track).encode("ascii", "ignore").decode("ascii")
        return re.sub(r"[^a-z0-9]+", "-", text.lower().replace(".", "")).strip("-")

    def archetype(
        self, track: str, surface: str | None, miles: float | None, season: int
    ) -> Archetype | None:
        """The race's archetype by the rule of data/README.md (`race_archetype`).

        A known track (by name or alias) is classed under its data/tracks.csv name, and what the
        row lacks comes from there: its length, and a surface that is road for a road course. An
        unknown track is classed by its row and its name alone; None when they cannot tell.
        """
        known = self.known(track)
        if known is None:
            return archetype_if_known(track, surface, miles, season)
        if surface is None:
            surface = "road" if known.archetype == "road" else "paved"
        return archetype_if_known(known.name, surface, known.miles if miles is None else miles, season)


def _name_key(track: str) -> str:
    return " ".join(track.lower().split())


def read_venues(directory: Path) -> Venues:
    """The tracks of `directory`/tracks.csv under their names and the aliases of track_aliases.csv
    (absent: no aliases)."""
    with (directory / TRACKS_FILE).open(newline="", encoding="utf-8") as handle:
        tracks = [
            KnownTrack(row["track_id"], row["name"], _archetype(row["archetype"]), float(row["miles"]))
            for row in csv.DictReader(handle)
        ]
    by_id = {t.track_id: t for t in tracks}
    by_name = {_name_key(t.name): t for t in tracks}
    aliases = directory / ALIASES_FILE
    if aliases.is_file():
        with aliases.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["track_id"] not in by_id:
                    message = f"alias {row['alias']!r} of unknown track {row['track_id']!r}"
                    raise InvalidInput(ALIASES_FILE, message)
                by_name.setdefault(_name_key(row["alias"]), by_id[row["track_id"]])
    return Venues(by_name)


def _archetype(name: str) -> Archetype:
    if name not in ARCHETYPES:
        raise InvalidInput(TRACKS_FILE, f"unknown archetype {name!r}")
    return name


@functools.cache
def shipped_venues() -> Venues:
    """The venues of the shipped data/tracks.csv and data/track_aliases.csv (read once)."""
    return read_venues(DATA_DIR)
