"""Real NASCAR Cup history as one canonical table: races in race order, one entry per driver.

Two sources, both described in ../shared/data/PROVENANCE.md:

* the season results table (R package nascaR.data): every Cup points race since 1972 in the
  official order, with start, finish, laps completed, laps led and status, but no dates and no
  fastest laps. It is the primary source: every `HistoricalRace` of a points race comes from it.
* the loop-data race logs (2019 on): the only source of fastest laps. Rows carry a date (sometimes
  one day late) and a track name but no race number, and they include exhibitions (Clash, Duels,
  All-Star) that are not points races.

`load_history` groups the logs' Cup rows into events by (date, track) and matches each event to
at most one results race of the same season by driver overlap: the share of (driver, start
position) pairs the two have in common, with track-name similarity as a tie-breaker. Fastest laps
are copied onto the results entries by driver key (never by finish, which differs where a result
was changed after the race, as at Pocono 2022), and the race takes the event's date. Events that
match no race are exhibitions; they are built from the log rows only when asked for.

Driver names go through `driver_key`, the one join key for both sources.

Typical use::

    from core.history import load_history, races_before, shared_logs_path, shared_results_path
    history = load_history(shared_results_path(), shared_logs_path(), first_season=2022)
    for race in history:
        past = races_before(history, race)  # fit on these, score on `race`
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import difflib
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from .errors import InvalidInput
from .sitefiles import normalise_name
from .slate import Archetype, known_tracks

__all__ = [
    "GENERATIONAL_NAMES",
    "HistoricalRace",
    "NAME_ALIASES",
    "RaceArrays",
    "RaceEntry",
    "driver_key",
    "load_history",
    "race_archetype",
    "races_before",
    "shared_logs_path",
    "shared_results_path",
]

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS_FILE = "nascar_data_r/cup_series_results_1972_2024.csv"
LOGS_FILE = "zaxlab_race_logs/race-logs-2019-2024.csv"

RESULTS_COLUMNS = (
    "Season",
    "Race",
    "Track",
    "Length",
    "Surface",
    "Finish",
    "Start",
    "Driver",
    "Laps",
    "Led",
    "Status",
)
LOG_COLUMNS = (
    "driver_name",
    "race_date",
    "series",
    "track_name",
    "start",
    "finish",
    "fastest_lap",
    "laps_led",
    "laps",
    "status",
)
LOG_SERIES = "cup"

# --- archetype rule (data/README.md; scripts/derive_data.py imports it) -----------------------
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
# Exhibition venues the results file never raced at: (surface, miles).
_EXHIBITION_VENUES: Mapping[str, tuple[str, float]] = {"Los Angeles Memorial Coliseum": ("paved", 0.25)}

# --- names -------------------------------------------------------------------------------------
# Spellings that differ beyond what normalise_name folds (normalised key -> normalised key).
NAME_ALIASES: Mapping[str, str] = {"john h nemechek": "john hunter nemechek"}
# Keys that two generations share in the results file (Dale Earnhardt and Dale Earnhardt Jr. raced
# in the same 53 races); for these the key keeps the "jr"/"sr" that normalise_name drops.
GENERATIONAL_NAMES = frozenset(
    {"dale earnhardt", "bobby hamilton", "ron hornaday", "johnny benson", "wally dallenbach", "al unser"}
)
_GENERATION_SUFFIX = re.compile(r"[\s,]+(jr|sr|ii|iii)\W*$", re.IGNORECASE)

# --- joining logs to results -------------------------------------------------------------------
MIN_OVERLAP = 0.5  # share of (driver, start) pairs two tables must share to be one race
_FRAGMENT_OVERLAP = 0.8  # an unmatched event this much inside a points race is a piece of it
_TRACK_WEIGHT = 0.1  # track-name similarity only breaks near-ties between candidate races
_STAGE_WINNER = re.compile(r"stage \d+ winner")  # logs' status for cars that transferred, running

_RaceKey = tuple[int, int]
_EventKey = tuple[datetime.date, str]
_OrderKey = tuple[int, int, int, int, str]


@dataclass(frozen=True, slots=True)
class RaceEntry:
    """One driver's result in one race."""

    driver: str  # the name as spelled in the results file (the logs, for exhibitions)
    driver_key: str  # driver_key(driver): the join key across sources and seasons
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
    track_id: str  # slug as in data/tracks.csv where the name is there, else a slug of the name
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


# --- public helpers ----------------------------------------------------------------------------

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


def driver_key(name: str) -> str:
    """The join key of a driver name in every source: `normalise_name` plus two fixes.

    `normalise_name` folds case, accents, periods and a trailing "Jr." ("A.J. Allmendinger" ==
    "AJ Allmendinger", "Daniel Suárez" == "Daniel Suarez"). On top of that, NAME_ALIASES joins
    spellings that differ in more than that ("John H. Nemechek" -> "john hunter nemechek"), and
    for the father-and-son names in GENERATIONAL_NAMES the suffix is kept ("Dale Earnhardt Jr."
    -> "dale earnhardt jr", "Dale Earnhardt" -> "dale earnhardt").
    """
    key = normalise_name(name)
    key = NAME_ALIASES.get(key, key)
    if key in GENERATIONAL_NAMES:
        suffix = _GENERATION_SUFFIX.search(name.strip())
        if suffix is not None:
            return f"{key} {suffix.group(1).lower()}"
    return key


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


def shared_results_path() -> Path | None:
    """The results file in ../shared/data beside the repository checkout, or None if absent."""
    path = SHARED_DATA / RESULTS_FILE
    return path if path.is_file() else None


def shared_logs_path() -> Path | None:
    """The race-logs file in ../shared/data beside the repository checkout, or None if absent."""
    path = SHARED_DATA / LOGS_FILE
    return path if path.is_file() else None


def races_before(history: Sequence[HistoricalRace], race: HistoricalRace) -> tuple[HistoricalRace, ...]:
    """Every race of `history` strictly earlier than `race`, in race order: the data to fit on.

    Points races are ordered by (season, race_number); an exhibition sits before the first points
    race of its season dated after it (dates come from the logs), as in `load_history`.
    """
    pool = list(history)
    if not any(r.race_id == race.race_id for r in pool):
        pool.append(race)
    keys = _order_keys(pool)
    target = keys[next(i for i, r in enumerate(pool) if r.race_id == race.race_id)]
    earlier = sorted(
        ((key, i) for i, key in enumerate(keys[: len(history)]) if key < target), key=lambda ki: ki[0]
    )
    return tuple(pool[i] for _, i in earlier)


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
    parsed = _read_results(Path(results), first_season, last_season, keys)
    events: dict[_EventKey, list[_LogRow]] = {}
    if logs is not None:
        events = _read_logs(Path(logs), first_season, last_season, keys)
    matches = _match_events(events, parsed.races)

    track_ids = {track.name: track.track_id for track in known_tracks().values()}
    matched_event = {race_key: event_key for event_key, race_key in matches.items()}
    races: list[HistoricalRace] = []
    for race_key in sorted(parsed.races):
        table = parsed.races[race_key]
        event_key = matched_event.get(race_key)
        logged = _log_rows(events[event_key]) if event_key is not None else {}
        race = _points_race(race_key, table, logged, event_key, track_ids)
        if races and races[-1].season == race.season:
            race = dataclasses.replace(race, rulebook_lineup=rulebook_lineup(race, races[-1]))
        races.append(race)

    if include_exhibitions:
        log_tracks = _log_track_names(matches, parsed.races)
        exhibitions = _exhibitions(events, matches, parsed, log_tracks, track_ids)
        races.extend(exhibitions)
        order = _order_keys(races)
        races = [race for _, race in sorted(zip(order, races, strict=True), key=lambda kr: kr[0])]
    return tuple(races)


# --- reading -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _ResultsRace:
    track: str
    surface: str
    miles: float
    entries: list[RaceEntry]


@dataclass(slots=True)
class _Results:
    races: dict[_RaceKey, _ResultsRace]
    # Track name -> (season, surface, miles) of its latest race in the whole file, for exhibitions.
    tracks: dict[str, tuple[int, str, float]]


@dataclass(frozen=True, slots=True)
class _LogRow:
    driver: str
    key: str
    start: int
    finish: int
    fastest_laps: int | None
    laps_led: int
    laps: int
    status: str
    avg_position: float | None = None


@contextmanager
def _table(path: Path, field: str, required: Sequence[str]) -> Iterator[tuple[dict[str, int], _Reader]]:
    """Open a CSV file, check its header, and yield (column index, reader of the rows below it)."""
    if not path.is_file():
        raise InvalidInput(field, f"file not found: {path}")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None) or []
        index = {name.strip(): i for i, name in enumerate(header)}
        missing = [column for column in required if column not in index]
        if missing:
            raise InvalidInput(field, f"{path}: missing columns {missing}")

        yield index, _Reader(reader, len(header), field, path)


class _Reader:
    """The data rows of a CSV file: skips blank lines, rejects rows of the wrong width by line."""

    def __init__(self, reader: Iterator[list[str]], width: int, field: str, path: Path) -> None:
        self._reader = reader
        self._width = width
        self._field = field
        self._path = path
        self.line = 1

    def __iter__(self) -> Iterator[list[str]]:
        reader, width = self._reader, self._width
        for row in reader:
            self.line = reader.line_num  # type: ignore[attr-defined]
            if len(row) != width:
                if not row:
                    continue
                raise InvalidInput(
                    f"{self._field} line {self.line}",
                    f"{self._path}: {len(row)} fields where the header has {width}",
                )
            yield row


def _bad_row(
    field: str, path: Path, line: int, row: list[str], index: Mapping[str, int], columns: Sequence[str]
) -> InvalidInput:
    """The error for a row with an unparseable number, naming the line and the first bad column."""
    for column in columns:
        value = row[index[column]]
        try:
            float(value) if column == "Length" else int(value)
        except ValueError:
            return InvalidInput(f"{field} line {line}", f"{path}: {column} is not a number: {value!r}")
    return InvalidInput(f"{field} line {line}", f"{path}: unparseable row")


def _read_results(
    path: Path, first_season: int | None, last_season: int | None, keys: dict[str, str]
) -> _Results:
    """Parse the results file into races keyed by (season, race number)."""
    races: dict[_RaceKey, _ResultsRace] = {}
    tracks: dict[str, tuple[int, str, float]] = {}
    numeric = ("Season", "Race", "Length", "Finish", "Start", "Laps", "Led")
    with _table(path, "results", RESULTS_COLUMNS) as (index, rows):
        i_season, i_race, i_track, i_length, i_surface, i_finish = (
            index[c] for c in ("Season", "Race", "Track", "Length", "Surface", "Finish")
        )
        i_start, i_driver, i_laps, i_led, i_status = (
            index[c] for c in ("Start", "Driver", "Laps", "Led", "Status")
        )
        i_team = index.get("Team")
        for row in rows:
            try:
                season, miles = int(row[i_season]), float(row[i_length])
                track, surface = row[i_track].strip(), row[i_surface].strip().lower()
                if track not in tracks or season >= tracks[track][0]:
                    tracks[track] = (season, surface, miles)
                if (first_season is not None and season < first_season) or (
                    last_season is not None and season > last_season
                ):
                    continue
                race_key = (season, int(row[i_race]))
                start, finish = int(row[i_start]), int(row[i_finish])
                laps, led = int(row[i_laps]), int(row[i_led])
            except ValueError:
                raise _bad_row("results", path, rows.line, row, index, numeric) from None
            driver = row[i_driver].strip()
            if not driver:
                raise InvalidInput(f"results line {rows.line}", f"{path}: Driver is empty")
            key = keys.get(driver)
            if key is None:
                key = keys[driver] = driver_key(driver)
            status = row[i_status].strip().lower()
            team = row[i_team].strip() if i_team is not None else ""
            entry = RaceEntry(driver, key, start, finish, laps, led, None, status, status != "running", team)
            table = races.get(race_key)
            if table is None:
                table = races[race_key] = _ResultsRace(track, surface, miles, [])
            table.entries.append(entry)
    return _Results(races, tracks)


def _parse_date(text: str) -> datetime.date:
    """A log date: YYYY/MM/DD (YYYY-MM-DD also accepted)."""
    return datetime.date.fromisoformat(text.strip().replace("/", "-"))


def _read_logs(
    path: Path, first_season: int | None, last_season: int | None, keys: dict[str, str]
) -> dict[_EventKey, list[_LogRow]]:
    """The Cup rows of the race logs, grouped into events by (date, track name)."""
    events: dict[_EventKey, list[_LogRow]] = defaultdict(list)
    numeric = ("start", "finish", "laps_led", "laps")
    with _table(path, "logs", LOG_COLUMNS) as (index, rows):
        i_series, i_date, i_track, i_driver = (
            index[c] for c in ("series", "race_date", "track_name", "driver_name")
        )
        i_start, i_finish, i_fastest, i_led, i_laps = (
            index[c] for c in ("start", "finish", "fastest_lap", "laps_led", "laps")
        )
        i_status, i_avg = index["status"], index.get("avg")
        for row in rows:
            if row[i_series].strip().lower() != LOG_SERIES:
                continue
            try:
                date = _parse_date(row[i_date])
            except ValueError:
                raise InvalidInput(
                    f"logs line {rows.line}", f"{path}: race_date is not a YYYY/MM/DD date: {row[i_date]!r}"
                ) from None
            if (first_season is not None and date.year < first_season) or (
                last_season is not None and date.year > last_season
            ):
                continue
            fastest_text = row[i_fastest].strip()
            try:
                start, finish = int(row[i_start]), int(row[i_finish])
                led, laps = int(row[i_led]), int(row[i_laps])
                fastest = int(fastest_text) if fastest_text else None
            except ValueError:
                raise _bad_row("logs", path, rows.line, row, index, (*numeric, "fastest_lap")) from None
            driver = row[i_driver].strip()
            key = keys.get(driver)
            if key is None:
                key = keys[driver] = driver_key(driver)
            status = row[i_status].strip().lower()
            events[(date, row[i_track].strip())].append(
                _LogRow(driver, key, start, finish, fastest, led, laps, status, _optional_float(row, i_avg))
            )
    return dict(events)


# --- joining -----------------------------------------------------------------------------------


def _track_similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio()


def _match_events(
    events: Mapping[_EventKey, Sequence[_LogRow]], races: Mapping[_RaceKey, _ResultsRace]
) -> dict[_EventKey, _RaceKey]:
    """Match log events to results races of the same season: each to at most one, best first."""
    by_season: dict[int, list[_RaceKey]] = defaultdict(list)
    for race_key in races:
        by_season[race_key[0]].append(race_key)
    seasons = {event_key[0].year for event_key in events}
    pairs = {
        key: {(e.driver_key, e.start) for e in race.entries}
        for key, race in races.items()
        if key[0] in seasons
    }
    candidates: list[tuple[float, _EventKey, _RaceKey]] = []
    for event_key, rows in events.items():
        event_pairs = {(r.key, r.start) for r in rows}
        for race_key in by_season.get(event_key[0].year, ()):
            race_pairs = pairs[race_key]
            overlap = len(event_pairs & race_pairs) / max(len(event_pairs), len(race_pairs))
            if overlap >= MIN_OVERLAP:
                score = overlap + _TRACK_WEIGHT * _track_similarity(event_key[1], races[race_key].track)
                candidates.append((-score, event_key, race_key))
    candidates.sort()
    matches: dict[_EventKey, _RaceKey] = {}
    taken: set[_RaceKey] = set()
    for _, event_key, race_key in candidates:
        if event_key not in matches and race_key not in taken:
            matches[event_key] = race_key
            taken.add(race_key)
    return matches


def _optional_float(row: Sequence[str], column: int | None) -> float | None:
    """A float cell of an optional column; None when the column or the value is missing."""
    if column is None:
        return None
    try:
        return float(row[column])
    except ValueError:
        return None


def _log_rows(rows: Sequence[_LogRow]) -> dict[str, _LogRow]:
    """Log rows by driver key; a key logged twice in one event is ambiguous and left out."""
    counts = Counter(r.key for r in rows)
    return {r.key: r for r in rows if counts[r.key] == 1}


def _track_id(track: str, track_ids: Mapping[str, str]) -> str:
    if track in track_ids:
        return track_ids[track]
    text = unicodedata.normalize("NFKD", track).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace(".", "")).strip("-")


def _points_race(
    race_key: _RaceKey,
    table: _ResultsRace,
    logged: Mapping[str, _LogRow],
    event_key: _EventKey | None,
    track_ids: Mapping[str, str],
) -> HistoricalRace:
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
        track_id=_track_id(table.track, track_ids),
        archetype=race_archetype(table.track, table.surface, table.miles, season),
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


def _log_track_names(
    matches: Mapping[_EventKey, _RaceKey], races: Mapping[_RaceKey, _ResultsRace]
) -> dict[str, str]:
    """Log track name -> the results name it most often matched ('ISM Raceway' -> 'Phoenix Raceway')."""
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    for (_, log_track), race_key in matches.items():
        seen[log_track][races[race_key].track] += 1
    return {log_track: names.most_common(1)[0][0] for log_track, names in seen.items()}


def _exhibitions(
    events: Mapping[_EventKey, Sequence[_LogRow]],
    matches: Mapping[_EventKey, _RaceKey],
    results: _Results,
    log_tracks: Mapping[str, str],
    track_ids: Mapping[str, str],
) -> list[HistoricalRace]:
    """The unmatched log events that are whole races, numbered by date within their season."""
    seasons = {event_key[0].year for event_key in events}
    pairs_by_season: dict[int, list[set[tuple[str, int]]]] = defaultdict(list)
    for (season, _), race in results.races.items():
        if season in seasons:
            pairs_by_season[season].append({(e.driver_key, e.start) for e in race.entries})
    kept: list[tuple[_EventKey, Sequence[_LogRow]]] = []
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
                track_id=_track_id(track, track_ids),
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
    lowered = track.lower()
    surface = "road" if "road course" in lowered or "street" in lowered else "paved"
    return surface, SHORT_TRACK_MAX_MILES  # unknown length: classed as an intermediate oval


# --- race order --------------------------------------------------------------------------------


def _order_keys(races: Sequence[HistoricalRace]) -> list[_OrderKey]:
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
