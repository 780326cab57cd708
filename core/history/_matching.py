"""Joining race-log events to results races, and building the unmatched events as exhibitions."""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

from ..slate import Archetype
from ._archetypes import SHORT_TRACK_MAX_MILES, race_archetype, surface_from_name
from ._files import EventKey, LogRow, RaceKey, Results, ResultsRace
from ._races import HistoricalRace, RaceEntry
from ._venues import Venues

MIN_OVERLAP = 0.5  # share of (driver, start) pairs two tables must share to be one race
_TRACK_WEIGHT = 0.1  # track-name similarity only breaks near-ties between candidate races
_STAGE_WINNER = re.compile(r"stage \d+ winner")  # logs' status for cars that transferred, running
# Exhibition venues the results file never raced at: (surface, miles).
_EXHIBITION_VENUES: Mapping[str, tuple[str, float]] = {"Los Angeles Memorial Coliseum": ("paved", 0.25)}


def _track_similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio()


def match_events(
    events: Mapping[EventKey, Sequence[LogRow]], races: Mapping[RaceKey, ResultsRace]
) -> dict[EventKey, RaceKey]:
    """Match log events to results races of the same season: each to at most one, best first."""
    by_season: dict[int, list[RaceKey]] = defaultdict(list)
    for race_key in races:
        by_season[race_key[0]].append(race_key)
    seasons = {event_key[0].year for event_key in events}
    pairs = {
        key: {(e.driver_key, e.start) for e in race.entries}
        for key, race in races.items()
        if key[0] in seasons
    }
    candidates: list[tuple[float, EventKey, RaceKey]] = []
    for event_key, rows in events.items():
        event_pairs = {(r.key, r.start) for r in rows}
        for race_key in by_season.get(event_key[0].year, ()):
            race_pairs = pairs[race_key]
            overlap = len(event_pairs & race_pairs) / max(len(event_pairs), len(race_pairs))
            if overlap >= MIN_OVERLAP:
                score = overlap + _TRACK_WEIGHT * _track_similarity(event_key[1], races[race_key].track)
                candidates.append((-score, event_key, race_key))
    candidates.sort()
    matches: dict[EventKey, RaceKey] = {}
    taken: set[RaceKey] = set()
    for _, event_key, race_key in candidates:
        if event_key not in matches and race_key not in taken:
            matches[event_key] = race_key
            taken.add(race_key)
    return matches


def log_rows(rows: Sequence[LogRow]) -> dict[str, LogRow]:
    """Log rows by driver key; a key logged twice in one event is ambiguous and left out."""
    counts = Counter(r.key for r in rows)
    return {r.key: r for r in rows if counts[r.key] == 1}


def points_race(
    race_key: RaceKey,
    table: ResultsRace,
    logged: Mapping[str, LogRow],
    event_key: EventKey | None,
    venue: tuple[str, Archetype],
) -> HistoricalRace:
    """The results race with the log event's fastest laps, average positions and date joined, at
    `venue` (its track id and archetype)."""
    season, number = race_key
    entries = tuple(sorted(table.entries, key=lambda e: (e.finish, e.start)))
    if logged:
        counts = Counter(e.driver_key for e in entries)
        rows = {
            e.driver_key: logged.get(e.driver_key) if counts[e.driver_key] == 1 else None for e in entries
        }
        entries = tuple(
            dataclasses.replace(
                e,
                fastest_laps=None if (row := rows[e.driver_key]) is None else row.fastest_laps,
                avg_position=None if row is None else row.avg_position,
            )
            for e in entries
        )
    return HistoricalRace(
        race_id=f"{season}-{number:02d}",
        season=season,
        race_number=number,
        date=event_key[0] if event_key is not None else None,
        track=table.track,
        track_id=venue[0],
        archetype=venue[1],
        laps=_winner_laps(entries),
        exhibition=False,
        entries=entries,
    )


def _winner_laps(entries: Sequence[RaceEntry]) -> int:
    """The winner's laps completed (the most laps by anyone if no entry finished first)."""
    for entry in entries:
        if entry.finish == 1:
            return entry.laps_completed
    return max((e.laps_completed for e in entries), default=0)


def log_track_names(
    matches: Mapping[EventKey, RaceKey], races: Mapping[RaceKey, ResultsRace]
) -> dict[str, str]:
    """Log track name -> the results name it most often matched ('ISM Raceway' -> 'Phoenix Raceway')."""
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    for (_, log_track), race_key in matches.items():
        seen[log_track][races[race_key].track] += 1
    return {log_track: names.most_common(1)[0][0] for log_track, names in seen.items()}


def exhibitions(
    events: Mapping[EventKey, Sequence[LogRow]],
    matches: Mapping[EventKey, RaceKey],
    results: Results,
    log_tracks: Mapping[str, str],
    venues: Venues,
) -> list[HistoricalRace]:
    """The unmatched log events that are whole races, numbered by date within their season."""
    seasons = {event_key[0].year for event_key in events}
    pairs_by_season: dict[int, list[set[tuple[str, int]]]] = defaultdict(list)
    for (season, _), race in results.races.items():
        if season in seasons:
            pairs_by_season[season].append({(e.driver_key, e.start) for e in race.entries})
    kept: list[tuple[EventKey, Sequence[LogRow]]] = []
    for event_key, rows in sorted(events.items()):
        if event_key in matches:
            continue
        if sorted(r.finish for r in rows) != list(range(1, len(rows) + 1)):
            continue  # two races under one date (the Duels) or an incomplete event
        event_pairs = {(r.key, r.start) for r in rows}
        if any(
            len(event_pairs & p) >= MIN_OVERLAP * len(event_pairs) for p in pairs_by_season[event_key[0].year]
        ):
            continue  # a fragment of a points race logged under a second date, not an exhibition
        kept.append((event_key, rows))

    numbers: Counter[int] = Counter()
    races = []
    for (date, log_track), rows in kept:
        season = date.year
        numbers[season] += 1
        track = log_tracks.get(log_track, log_track)
        surface, miles = _venue(track, results.tracks)
        entries = tuple(
            sorted(
                (
                    RaceEntry(
                        r.driver,
                        r.key,
                        r.start,
                        r.finish,
                        r.laps,
                        r.laps_led,
                        r.fastest_laps,
                        r.status,
                        r.status != "running" and _STAGE_WINNER.fullmatch(r.status) is None,
                    )
                    for r in rows
                ),
                key=lambda e: e.finish,
            )
        )
        races.append(
            HistoricalRace(
                race_id=f"{season}-x{numbers[season]:02d}",
                season=season,
                race_number=0,
                date=date,
                track=track,
                track_id=venues.track_id(track),
                archetype=race_archetype(track, surface, miles, season),
                laps=_winner_laps(entries),
                exhibition=True,
                entries=entries,
            )
        )
    return races


def _venue(track: str, tracks: Mapping[str, tuple[int, str, float]]) -> tuple[str, float]:
    """(surface, miles) of a track from its latest results race, else from _EXHIBITION_VENUES."""
    if track in tracks:
        _, surface, miles = tracks[track]
        return surface, miles
    if track in _EXHIBITION_VENUES:
        return _EXHIBITION_VENUES[track]
    surface = surface_from_name(track) or "paved"
    return surface, SHORT_TRACK_MAX_MILES  # unknown length: classed as an intermediate oval
