"""`load_history`: the results races, with fastest laps and dates joined from the race logs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..errors import InvalidInput
from ..slate import known_tracks
from ._files import EventKey, LogRow, read_logs, read_results
from ._grid import rulebook_lineup
from ._matching import exhibitions, log_rows, log_track_names, match_events, points_race
from ._order import order_keys
from ._races import HistoricalRace


def load_history(
    results: str | Path,
    logs: str | Path | None = None,
    *,
    first_season: int | None = None,
    last_season: int | None = None,
    include_exhibitions: bool = False,
) -> tuple[HistoricalRace, ...]:
    """Load Cup races from the results file, with fastest laps and dates joined from the logs.

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
        InvalidInput: a file is missing, lacks a required column (named), or has a row that does
            not parse (its line is named); first_season > last_season; or include_exhibitions
            without logs.
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

    track_ids = {track.name: track.track_id for track in known_tracks().values()}
    matched_event = {race_key: event_key for event_key, race_key in matches.items()}
    races: list[HistoricalRace] = []
    for race_key in sorted(parsed.races):
        table = parsed.races[race_key]
        event_key = matched_event.get(race_key)
        logged = log_rows(events[event_key]) if event_key is not None else {}
        race = points_race(race_key, table, logged, event_key, track_ids)
        if races and races[-1].season == race.season:
            race = dataclasses.replace(race, rulebook_lineup=rulebook_lineup(race, races[-1]))
        races.append(race)

    if include_exhibitions:
        log_tracks = log_track_names(matches, parsed.races)
        races.extend(exhibitions(events, matches, parsed, log_tracks, track_ids))
        order = order_keys(races)
        races = [race for _, race in sorted(zip(order, races, strict=True), key=lambda kr: kr[0])]
    return tuple(races)
