#!/usr/bin/env python3
"""Derive the small data files Axiom ships from the raw NASCAR data in ../shared/data.

Writes (relative to the repository root):

* ``data/tracks.csv`` -- one row per Cup track layout raced since 2015.
* ``data/track_aliases.csv`` -- other names of those layouts (``EchoPark Speedway`` is Atlanta).
* ``data/samples/draftkings-bristol-2026.csv`` -- the real DraftKings Cup slate for
  Bristol 2026-04-12 with model inputs derived from 2022-2024 Cup history.

The derivation rules are documented in ``data/README.md``. Apart from the per-race archetype
rule (``core.history``) and the driver-name key (``core.names``), imported so that the shipped
files and the history loader cannot disagree, only the standard library is used (csv,
statistics, ...). Output is deterministic: re-running gives byte-identical files.

Usage::

    .venv/bin/python scripts/derive_data.py                # (re)write the files
    .venv/bin/python scripts/derive_data.py --check        # exit 1 if shipped files differ
    .venv/bin/python scripts/derive_data.py --shared DIR   # read the raw data from DIR
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import statistics
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.history import ATLANTA_RECONFIGURED
from core.history import race_archetype as archetype_of_race
from core.names import driver_key
from core.sitefiles import SLATE_COLUMNS

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

RESULTS_FILE = "nascar_data_r/cup_series_results_1972_2024.csv"
SALARIES_FILE = "crummypicks_dfs_hub/dk_salaries_2026_bristol.csv"

TRACKS_OUT = "data/tracks.csv"
ALIASES_OUT = "data/track_aliases.csv"
SLATE_OUT = "data/samples/draftkings-bristol-2026.csv"

TRACK_COLUMNS = [
    "track_id",
    "name",
    "archetype",
    "laps",
    "miles",
    "n_races",
    "first_season",
    "last_season",
]

# --- track table rules -------------------------------------------------------------------------
TRACKS_SINCE = 2015
# The archetype rule (road / drafting ovals / short under 1.3 miles) and ATLANTA_RECONFIGURED
# (Atlanta laps use only races from that season on) live in core.history.

TRACK_SLUGS = {
    "Atlanta Motor Speedway": "atlanta",
    "Auto Club Speedway": "auto-club",
    "Bristol Motor Speedway": "bristol",
    "Bristol Motor Speedway Dirt Track": "bristol-dirt",
    "Charlotte Motor Speedway": "charlotte",
    "Charlotte Motor Speedway Road Course": "charlotte-roval",
    "Chicago Street Course": "chicago-street",
    "Chicagoland Speedway": "chicagoland",
    "Circuit of the Americas": "cota",
    "Darlington Raceway": "darlington",
    "Daytona International Speedway": "daytona",
    "Daytona International Speedway Road Course": "daytona-road",
    "Dover International Speedway": "dover",
    "Homestead-Miami Speedway": "homestead",
    "Indianapolis Motor Speedway": "indianapolis",
    "Indianapolis Motor Speedway Road Course": "indianapolis-road",
    "Iowa Speedway": "iowa",
    "Kansas Speedway": "kansas",
    "Kentucky Speedway": "kentucky",
    "Las Vegas Motor Speedway": "las-vegas",
    "Martinsville Speedway": "martinsville",
    "Michigan International Speedway": "michigan",
    "Nashville Superspeedway": "nashville",
    "New Hampshire Motor Speedway": "new-hampshire",
    "Phoenix Raceway": "phoenix",
    "Pocono Raceway": "pocono",
    "Richmond Raceway": "richmond",
    "Road America": "road-america",
    "Sonoma Raceway": "sonoma",
    "Talladega Superspeedway": "talladega",
    "Texas Motor Speedway": "texas",
    "Watkins Glen International": "watkins-glen",
    "World Wide Technology Raceway at Gateway": "gateway",
}

ALIAS_COLUMNS = ["alias", "track_id"]
# Names a layout of tracks.csv races under that the raw results (through 2024) do not use yet;
# core.history resolves a race under an alias to the layout, so a newer season's file needs no
# edit. Atlanta Motor Speedway races as EchoPark Speedway from 2025.
TRACK_ALIASES = {"EchoPark Speedway": "atlanta"}

# --- slate rules -------------------------------------------------------------------------------
SLATE_SERIES = "cup"
SLATE_DATE = "2026-04-12"
HISTORY_SEASONS = (2022, 2023, 2024)  # skill, aggression, shadow_risk
START_SEASONS = (2023, 2024)  # start-position proxy
DECAY_REFERENCE = 2025.0  # race "time" = season + (race - 1) / races_in_season
HALF_LIFE_SEASONS = 1.0
SHORT_TRACK_WEIGHT = 2.0
PSEUDO_RACES = 5.0
SKILL_PRIOR = 0.35
SCALED_RANGE = (0.05, 0.95)
NO_HISTORY = {"skill": 0.3, "aggression": 0.5, "shadow_risk": 0.5}
CRASH_STATUSES = {"accident", "dvp"}  # DVP = damaged vehicle policy (crash damage)


@dataclass(frozen=True)
class Entry:
    """One driver's row in one Cup race."""

    season: int
    race: int
    track: str
    miles: str
    surface: str
    finish: int
    start: int
    driver: str
    laps: int
    led: int
    status: str


@dataclass(frozen=True)
class Race:
    """One Cup race: its entries plus race-level facts."""

    season: int
    race: int
    track: str
    miles: str
    surface: str
    entries: tuple[Entry, ...]

    @property
    def winner_laps(self) -> int:
        """Laps completed by the winner (= scheduled laps plus any overtime)."""
        return next(e.laps for e in self.entries if e.finish == 1)

    @property
    def field_size(self) -> int:
        """Number of cars that started the race."""
        return len(self.entries)


# --- generic helpers ---------------------------------------------------------------------------


def ascii_fold(text: str) -> str:
    """Strip accents: 'Suárez' -> 'Suarez'."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def slugify(name: str) -> str:
    """Driver id: 'Ricky Stenhouse Jr.' -> 'ricky-stenhouse-jr'."""
    text = ascii_fold(name).lower().replace(".", "")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def fmt(value: float) -> str:
    """Format a model input with 3 decimals."""
    return f"{value:.3f}"


def min_max_scale(values: dict[str, float], lo: float, hi: float) -> dict[str, float]:
    """Linearly map values onto [lo, hi] (all -> midpoint when they are equal)."""
    vmin, vmax = min(values.values()), max(values.values())
    if vmax == vmin:
        return {k: (lo + hi) / 2 for k in values}
    return {k: lo + (hi - lo) * (v - vmin) / (vmax - vmin) for k, v in values.items()}


def percentile_ranks(values: dict[str, float]) -> dict[str, float]:
    """Rank percentile in [0, 1]: lowest -> 0, highest -> 1, ties share their mean rank."""
    ordered = sorted(values.values())
    n = len(ordered)
    if n == 1:
        return {k: 0.5 for k in values}
    first: dict[float, int] = {}
    last: dict[float, int] = {}
    for i, v in enumerate(ordered):
        first.setdefault(v, i)
        last[v] = i
    return {k: (first[v] + last[v]) / 2 / (n - 1) for k, v in values.items()}


def shrink(successes: float, trials: float, prior: float, pseudo: float = PSEUDO_RACES) -> float:
    """Beta-style shrinkage of a rate toward ``prior`` with ``pseudo`` pseudo-observations."""
    return (successes + pseudo * prior) / (trials + pseudo)


def to_csv(columns: Sequence[str], rows: list[dict[str, object]]) -> str:
    """Render rows as CSV text with '\\n' line endings."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


# --- loading -----------------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    """Read a CSV file into a list of dicts."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_races(shared: Path, first_season: int) -> list[Race]:
    """Load Cup races from ``first_season`` on, ordered by (season, race)."""
    grouped: dict[tuple[int, int], list[Entry]] = defaultdict(list)
    for row in read_csv(shared / RESULTS_FILE):
        season = int(row["Season"])
        if season < first_season:
            continue
        entry = Entry(
            season=season,
            race=int(row["Race"]),
            track=row["Track"],
            miles=row["Length"],
            surface=row["Surface"],
            finish=int(row["Finish"]),
            start=int(row["Start"]),
            driver=row["Driver"],
            laps=int(row["Laps"]),
            led=int(row["Led"]),
            status=row["Status"].strip().lower(),
        )
        grouped[(season, entry.race)].append(entry)
    races = []
    for (season, number), entries in sorted(grouped.items()):
        head = entries[0]
        races.append(Race(season, number, head.track, head.miles, head.surface, tuple(entries)))
    return races


def load_slate(shared: Path) -> list[dict[str, str]]:
    """The Cup DraftKings salary rows for Bristol 2026-04-12."""
    rows = read_csv(shared / SALARIES_FILE)
    return [
        r
        for r in rows
        if r["series"] == SLATE_SERIES and r["race_date"] == SLATE_DATE and r["platform"] == "DraftKings"
    ]


# --- tracks ------------------------------------------------------------------------------------


def track_slug(track_name: str) -> str:
    """Short slug for a track; unknown tracks get the slug of their first word."""
    if track_name in TRACK_SLUGS:
        return TRACK_SLUGS[track_name]
    if track_name in TRACK_ALIASES:
        return TRACK_ALIASES[track_name]
    return slugify(track_name.split()[0])


def typical_laps(races: list[Race]) -> int:
    """Upper median of the winners' laps completed.

    The upper median is always an observed race length, so a track hosting two race distances
    (Daytona: 200 and 160 laps) gets one of them rather than their meaningless midpoint.
    """
    return statistics.median_high(sorted(r.winner_laps for r in races))


def race_archetype(race: Race) -> str:
    """Archetype of one race by the rule in data/README.md (core.history.race_archetype)."""
    return archetype_of_race(race.track, race.surface, float(race.miles), race.season)


def track_rows(races: list[Race]) -> list[dict[str, object]]:
    """One row per layout raced since TRACKS_SINCE, sorted by track_id."""
    by_slug: dict[str, list[Race]] = defaultdict(list)
    for race in races:
        if race.season >= TRACKS_SINCE:
            by_slug[track_slug(race.track)].append(race)
    rows = []
    for slug, group in sorted(by_slug.items()):
        latest = group[-1]  # races are in (season, race) order; latest length wins
        lap_races = [r for r in group if slug != "atlanta" or r.season >= ATLANTA_RECONFIGURED]
        rows.append(
            {
                "track_id": slug,
                "name": latest.track,
                "archetype": race_archetype(latest),  # a layout is classed as it races now
                "laps": typical_laps(lap_races),
                "miles": latest.miles,
                "n_races": len(group),
                "first_season": group[0].season,
                "last_season": latest.season,
            }
        )
    return rows


def alias_rows(races: list[Race], tracks: list[dict[str, object]]) -> list[dict[str, object]]:
    """Every name other than its row's under which a layout raced since TRACKS_SINCE, and
    TRACK_ALIASES; sorted by alias."""
    names = {row["name"] for row in tracks}
    aliases = {
        r.track: track_slug(r.track) for r in races if r.season >= TRACKS_SINCE and r.track not in names
    }
    aliases.update((alias, slug) for alias, slug in TRACK_ALIASES.items() if alias not in names)
    unknown = sorted(set(aliases.values()) - {row["track_id"] for row in tracks})
    if unknown:
        raise SystemExit(f"TRACK_ALIASES names tracks that are not in {TRACKS_OUT}: {unknown}")
    return [{"alias": alias, "track_id": slug} for alias, slug in sorted(aliases.items())]


# --- slate -------------------------------------------------------------------------------------


def decay_weights(races: list[Race]) -> dict[tuple[int, int], float]:
    """Time-decay weight per race: 0.5 ** (age in seasons / half-life), age from DECAY_REFERENCE."""
    per_season: dict[int, int] = defaultdict(int)
    for race in races:
        per_season[race.season] = max(per_season[race.season], race.race)
    weights = {}
    for race in races:
        when = race.season + (race.race - 1) / per_season[race.season]
        weights[(race.season, race.race)] = 0.5 ** ((DECAY_REFERENCE - when) / HALF_LIFE_SEASONS)
    return weights


def entries_by_driver(races: list[Race]) -> dict[str, list[tuple[Race, Entry]]]:
    """Group (race, entry) pairs by driver key (core.names.driver_key)."""
    grouped: dict[str, list[tuple[Race, Entry]]] = defaultdict(list)
    for race in races:
        for entry in race.entries:
            grouped[driver_key(entry.driver)].append((race, entry))
    return grouped


def raw_skill(history: list[tuple[Race, Entry]], weights: dict[tuple[int, int], float]) -> float:
    """Decayed, short-track-weighted mean finish score, shrunk toward SKILL_PRIOR."""
    total = weight_sum = 0.0
    for race, entry in history:
        w = weights[(race.season, race.race)]
        if race_archetype(race) == "short":
            w *= SHORT_TRACK_WEIGHT
        total += w * (1.0 - (entry.finish - 1) / (race.field_size - 1))
        weight_sum += w
    return (total + PSEUDO_RACES * SKILL_PRIOR) / (weight_sum + PSEUDO_RACES)


def mean_led_share(history: list[tuple[Race, Entry]]) -> float:
    """Sum over races of laps led / race laps (divide by race count for the mean)."""
    return sum(entry.led / race.winner_laps for race, entry in history)


def field_base_rates(races: list[Race]) -> dict[str, float]:
    """Per-entry base rates over all entries: led share, crash-DNF rate, DNF rate."""
    entries = [(race, e) for race in races for e in race.entries]
    n = len(entries)
    return {
        "led_share": mean_led_share(entries) / n,
        "crash": sum(e.status in CRASH_STATUSES for _, e in entries) / n,
        "dnf": sum(e.status != "running" for _, e in entries) / n,
    }


def mean_start(
    history: list[tuple[Race, Entry]], weights: dict[tuple[int, int], float], prior: float
) -> float:
    """Time-decayed mean start position, shrunk toward ``prior`` with PSEUDO_RACES weight."""
    total = sum(weights[(r.season, r.race)] * e.start for r, e in history)
    weight_sum = sum(weights[(r.season, r.race)] for r, _ in history)
    return (total + PSEUDO_RACES * prior) / (weight_sum + PSEUDO_RACES)


def model_inputs(keys: list[str], races: list[Race]) -> dict[str, dict[str, float]]:
    """skill, aggression, shadow_risk per slate driver key (prior values for no history)."""
    history_races = [r for r in races if r.season in HISTORY_SEASONS]
    weights = decay_weights(history_races)
    history = entries_by_driver(history_races)
    base = field_base_rates(history_races)
    known = [k for k in keys if k in history]
    skill, led, crash, dnf = {}, {}, {}, {}
    for key in known:
        rows = history[key]
        n = len(rows)
        skill[key] = raw_skill(rows, weights)
        led[key] = shrink(mean_led_share(rows), n, base["led_share"])
        crash[key] = shrink(sum(e.status in CRASH_STATUSES for _, e in rows), n, base["crash"])
        dnf[key] = shrink(sum(e.status != "running" for _, e in rows), n, base["dnf"])
    skill = min_max_scale(skill, *SCALED_RANGE)
    shadow = min_max_scale(dnf, *SCALED_RANGE)
    led_pr, crash_pr = percentile_ranks(led), percentile_ranks(crash)
    out = {key: dict(NO_HISTORY) for key in keys}
    for key in known:
        out[key] = {
            "skill": skill[key],
            "aggression": 0.5 * led_pr[key] + 0.5 * crash_pr[key],
            "shadow_risk": shadow[key],
        }
    return out


def start_positions(slate: list[dict[str, str]], races: list[Race]) -> dict[str, int]:
    """Proxy grid 1..N: shrunk decayed mean start in START_SEASONS; no-history drivers last.

    Ties, and the order among drivers without START_SEASONS history, go by salary descending,
    then name.
    """
    start_races = [r for r in races if r.season in START_SEASONS]
    weights = decay_weights(start_races)
    history = entries_by_driver(start_races)
    all_starts = [e.start for race in start_races for e in race.entries]
    prior = sum(all_starts) / len(all_starts)

    def order_key(row: dict[str, str]) -> tuple[int, float, int, str]:
        key = driver_key(row["driver"])
        if key in history:
            return (
                0,
                round(mean_start(history[key], weights, prior), 9),
                -int(row["salary"]),
                row["driver"],
            )
        return (1, 0.0, -int(row["salary"]), row["driver"])

    ordered = sorted(slate, key=order_key)
    return {row["driver"]: i for i, row in enumerate(ordered, start=1)}


def slate_rows(slate: list[dict[str, str]], races: list[Race]) -> list[dict[str, object]]:
    """The shipped slate: salary descending, then name."""
    keys = [driver_key(r["driver"]) for r in slate]
    inputs = model_inputs(keys, races)
    grid = start_positions(slate, races)
    ordered = sorted(zip(slate, keys, strict=True), key=lambda rk: (-int(rk[0]["salary"]), rk[0]["driver"]))
    rows: list[dict[str, object]] = []
    for row, key in ordered:
        rows.append(
            {
                "driver_id": slugify(row["driver"]),
                "name": row["driver"],
                "salary": int(row["salary"]),
                "start_position": grid[row["driver"]],
                "skill": fmt(inputs[key]["skill"]),
                "aggression": fmt(inputs[key]["aggression"]),
                "shadow_risk": fmt(inputs[key]["shadow_risk"]),
            }
        )
    return rows


# --- driver ------------------------------------------------------------------------------------


def derive(shared: Path) -> dict[str, str]:
    """All shipped files as {relative path: text}."""
    races = load_races(shared, TRACKS_SINCE)
    slate = load_slate(shared)
    if not slate:
        raise SystemExit(f"no Cup DraftKings rows for {SLATE_DATE} in {shared / SALARIES_FILE}")
    tracks = track_rows(races)
    return {
        TRACKS_OUT: to_csv(TRACK_COLUMNS, tracks),
        ALIASES_OUT: to_csv(ALIAS_COLUMNS, alias_rows(races, tracks)),
        SLATE_OUT: to_csv(SLATE_COLUMNS, slate_rows(slate, races)),
    }


def write_files(files: dict[str, str], root: Path) -> None:
    """Write each derived file under ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
        print(f"wrote {rel}")


def check_files(files: dict[str, str], root: Path) -> int:
    """0 if every shipped file equals its re-derivation, else 1 (and names the stale ones)."""
    stale = []
    for rel, text in files.items():
        path = root / rel
        if not path.exists() or path.read_bytes() != text.encode("utf-8"):
            stale.append(rel)
    for rel in stale:
        print(f"stale: {rel} differs from its derivation", file=sys.stderr)
    if not stale:
        print("ok: shipped data files match their derivation")
    return 1 if stale else 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="raw data folder")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    missing = [name for name in (RESULTS_FILE, SALARIES_FILE) if not (args.shared / name).is_file()]
    if missing:
        parser.error(f"raw data not found under {args.shared}: {', '.join(missing)} (use --shared DIR)")
    files = derive(args.shared)
    if args.check:
        return check_files(files, REPO_ROOT)
    write_files(files, REPO_ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
