"""The archetype of one race by the rule of data/README.md (scripts/derive_data.py imports it)."""

from __future__ import annotations

import re
import unicodedata

from ..slate import Archetype

SHORT_TRACK_MAX_MILES = 1.3  # ovals strictly shorter than this are "short"
ATLANTA_RECONFIGURED = 2022  # Atlanta races as a drafting track from this season on
# Words in a lowercased track name that mark a drafting oval, with the first season it drafted.
_DRAFTING_OVALS: tuple[tuple[str, int | None], ...] = (
    ("daytona", None),
    ("talladega", None),
    ("alabama international", None),  # Talladega's name until 1989
    ("atlanta", ATLANTA_RECONFIGURED),
    ("echopark", ATLANTA_RECONFIGURED),  # Atlanta's name from 2025
)
# Words of an ASCII-folded, lowercased track name that say what it is when the results row does
# not: a road or street course, or an oval. Every Cup track name of 1972-2024 that has one of
# these words has the matching `Surface` (tests/unit/test_history.py checks it).
_ROAD_WORDS = re.compile(r"\b(road|street|circuit|autodromo|grand prix)\b")
_OVAL_WORDS = re.compile(r"\b(speedway|superspeedway|oval)\b")


def race_archetype(track: str, surface: str, miles: float, season: int) -> Archetype:
    """The archetype of one race by the rule of data/README.md, applied per race.

    `road` when the surface is road; `superspeedway` for the Daytona oval, Talladega, and Atlanta
    from its 2022 reconfiguration on; `short` for other ovals under 1.3 miles; else `intermediate`.

    Args:
        track: the track's name (as in the results file).
        surface: the results file's `Surface` (`paved`, `dirt`, `road`).
        miles: the track length.
        season: the race's season (Atlanta changed class in 2022).
    """
    archetype = archetype_if_known(track, surface, miles, season)
    assert archetype is not None  # with the surface and the length given, the rule always decides
    return archetype


def archetype_if_known(track: str, surface: str | None, miles: float | None, season: int) -> Archetype | None:
    """`race_archetype` for a race whose surface or length may be unknown (None).

    An unknown surface is read from the track's name where the name says it (`surface_from_name`);
    a drafting oval needs no length. None when what is known does not decide the archetype (an
    oval of unknown length, or a track whose name and row say nothing of its surface).
    """
    surface = surface.strip().lower() if surface is not None else surface_from_name(track)
    if surface is None:
        return None
    if surface == "road":
        return "road"
    name = track.lower()
    for word, since in _DRAFTING_OVALS:
        if word in name and (since is None or season >= since):
            return "superspeedway"
    if miles is None:
        return None
    if miles < SHORT_TRACK_MAX_MILES:
        return "short"
    return "intermediate"


def surface_from_name(track: str) -> str | None:
    """`road` for a name that says road or street course (`Chicago Street Course`, `Circuit of the
    Americas`, `Autodromo Hermanos Rodriguez`), `paved` for one that says oval (`... Speedway`),
    None when the name does not say (`Sonoma Raceway`, `Phoenix Raceway`)."""
    name = unicodedata.normalize("NFKD", track).encode("ascii", "ignore").decode("ascii").lower()
    if _ROAD_WORDS.search(name):
        return "road"
    if _OVAL_WORDS.search(name):
        return "paved"
    return None
