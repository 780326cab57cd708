"""The archetype of one race by the rule of data/README.md (scripts/derive_data.py imports it)."""

from __future__ import annotations

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
    if surface.strip().lower() == "road":
        return "road"
    name = track.lower()
    for word, since in _DRAFTING_OVALS:
        if word in name and (since is None or season >= since):
            return "superspeedway"
    if miles < SHORT_TRACK_MAX_MILES:
        return "short"
    return "intermediate"
