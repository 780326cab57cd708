"""`load_history`: the results races, with fastest laps and dates joined from the race logs."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

from ..errors import InvalidInput
from ._files import EventKey, LogRow, RaceKey, ResultsRace, read_logs, read_results
from ._grid import rulebook_lineup
from ._matching import exhibitions, log_rows, log_track_names, match_events, points_race
from ._order import order_keys
from ._races import HistoricalRace
from ._venues import shipped_venues
from ._warnings import SkippedRace


def load_history(
    results: str | Path,
    logs: str | Path | None = None,
    *,
    first_season: int | None = None,
    last_season: int | None = None,
    include_exhibitions: bool = False,
) -> tuple[HistoricalRace, ...]:
    """Load Cup races from the results file, with fastest laps and dates joined from the logs.

    A race that cannot be used is left out with a `SkippedRace` warning naming it, its line and
    why, and the load goes on: a race with a row whose finish, start, laps or laps led is not a
    number (or whose driver is empty), and a race whose archetype is unknown. A race's `Length` or
    `Surface` may be empty (as in newer seasons of the public file): a track of data/tracks.csv
    or data/track_aliases.csv (a known track under a new name) takes what is missing from there,
    another track is classed by what its row and its name say (`Autodromo ...` is a road course),
    and it is skipped only when they cannot tell.

    Args:
        results: the season results table (columns of RESULTS_COLUMNS, more allowed).
        logs: the loop-data race logs (columns of LOG_COLUMNS), or None for no fastest laps.
        first_season: drop races of earlier seasons (None: no lower bound).
        last_season: drop races of later seasons (None: no upper bound).
        include_exhibitions: also build the log events that match no points race (Clash, All-Star)
            as exhibition races; an event whose finishes are not a permutation (the two Daytona
            Duels logged under one date) is skipped. Needs `logs`; never on by default.

    Returns:
        The races sorted by (season, race_number); exhibitions, when included, sit before the
        first points race of their season dated after them.

    Raises:
        InvalidInput: a file is missing, lacks a required column (named), or has a row of the
            wrong width or whose season or race number does not parse (its line is named); a log
            row that does not parse; first_season > last_season; or include_exhibitions without
            logs.
    """
    if first_season is not None and last_season is not None and first_season > last_season:
        raise InvalidInput("first_season", f"must be <= last_season, got {first_season} > {last_season}")
    if include_exhibitions and logs is None:
        raise InvalidInput("include_exhibitions", "exhibitions come only from the race logs; pass `logs`")
    keys: dict[str, str] = {}  # raw name -> driver key; a few thousand names over 70k rows
    parsed = read_results(Path(results), first_season, last_season, keys)
    events: dict[EventKey, list[LogRow]] = {}
    if logs is not None:
        events = read_logs(Path(logs), first_season, last_season, keys)
    matches = match_events(events, parsed.races)

    venues = shipped_venues()
    matched_event = {race_key: event_key for event_key, race_key in matches.items()}
    races: list[HistoricalRace] = []
    for race_key in sorted(parsed.races):
        table = parsed.races[race_key]
        archetype = venues.archetype(table.track, table.surface, table.miles, race_key[0])
        if table.problem is not None or archetype is None:
            warnings.warn(_skipped(race_key, table, str(results)), stacklevel=2)
            continue
        event_key = matched_event.get(race_key)
        logged = log_rows(events[event_key]) if event_key is not None else {}
        venue = (venues.track_id(table.track), archetype)
        race = points_race(race_key, table, logged, event_key, venue)
        previous = races[-1] if races else None
        if previous is not None and (previous.season, previous.race_number + 1) == race_key:
            race = dataclasses.replace(race, rulebook_lineup=rulebook_lineup(race, previous))
        races.append(race)

    if include_exhibitions:
        log_tracks = log_track_names(matches, parsed.races)
        races.extend(exhibitions(events, matches, parsed, log_tracks, venues))
        order = order_keys(races)
        races = [race for _, race in sorted(zip(order, races, strict=True), key=lambda kr: kr[0])]
    return tuple(races)


def _skipped(race_key: RaceKey, table: ResultsRace, file: str) -> SkippedRace:
    """The warning for a race that is not loaded: a row that does not parse, else a track of
    unknown archetype."""
    race_id = f"{race_key[0]}-{race_key[1]:02d}"
    if table.problem is not None:
        return SkippedRace(race_id, table.track, file, *table.problem)
    missing = [c for c, v in (("Length", table.miles), ("Surface", table.surface)) if v is None]
    reason = (
        f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing, and neither "
        "data/tracks.csv (with data/track_aliases.csv) nor the track's name tells its archetype"
    )
    return SkippedRace(race_id, table.track, file, table.line, reason)
