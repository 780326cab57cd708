"""Fitted parameters as versioned files (data/params/<version>.json) with a content hash.

A file holds everything `calibration_enabled=true` needs: the rating settings; per archetype the
fitted start effects, scale of form, team shock, DNF base rate and its slope over the grid; per
track its scale and DNF rate; every driver's ratings keyed by normalised name (with the display
name); the team strengths and the rookie prior; and the backtest scores of the model that
produced it. The version is `cup-<season>-<race>-<first 12 hex of the SHA-256 of the canonical
content>`; loading recomputes the hash, so an edited file is refused rather than silently used.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import msgspec

from ..errors import InvalidInput
from ..slate import ARCHETYPES, DATA_DIR, Archetype
from ._settings import RatingSettings
from ._table import ArchetypeFit, DriverRating, RatingTable, TrackFit

PARAMS_DIR = DATA_DIR / "params"
# The format this version writes and reads. A file of any other format is refused, not converted:
# its fields, or what they mean, differ (docs/methods.md, "Parameter file format").
FORMAT = 8
_DIGITS = 5


class DriverEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    strength: dict[str, float]
    dominance: dict[str, float]
    speed: dict[str, float]
    dnf_ratio: float
    starts: int
    team: str


class ArchetypeEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    start_weight: float
    dnf_rate: float
    form_scale: float
    team_shock: float
    running_scale: float  # reported; forecasts do not use it
    rulebook_start_weight: float | None  # start effect of a lineup the rulebook set (None: as qualified)
    dnf_start_slope: float  # log DNF rate of the last starter over the pole sitter's
    fastest_lap_share: float  # share of green laps credited as someone's fastest lap
    fastest_lap_concentration: float | None  # how steeply fastest laps follow pace (None: default)
    speed_scale: float  # multiplies drivers' speed
    lead_concentration: float | None  # how steeply laps led follow the lead score (None: default)


class TrackEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    archetype: str
    scale: float
    dnf_rate: float


class ParamsContent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    format: int
    as_of: tuple[int, int]
    n_races: int
    source: str
    settings: dict[str, Any]
    rookie_strength: dict[str, float]
    team_strength: dict[str, float]
    archetypes: dict[str, ArchetypeEntry]
    drivers: dict[str, DriverEntry]
    tracks: dict[str, TrackEntry]
    backtest: dict[str, Any] | None = None


class ParamsFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    version: str
    content: ParamsContent


class CalibratedParams(msgspec.Struct, frozen=True, kw_only=True):
    """A loaded parameter file: its version, the rating table and the backtest scores."""

    version: str
    table: RatingTable
    names: Mapping[str, str]  # driver_key -> display name
    backtest: Mapping[str, Any] | None


def content_hash(content: ParamsContent) -> str:
    return hashlib.sha256(msgspec.json.encode(content, order="sorted")).hexdigest()


def params_content(
    table: RatingTable, names: Mapping[str, str], *, source: str, backtest: Mapping[str, Any] | None = None
) -> ParamsContent:
    """The serialisable form of a fit (floats rounded so files diff cleanly)."""
    return ParamsContent(
        format=FORMAT,
        as_of=table.as_of,
        n_races=table.n_races,
        source=source,
        settings=asdict(table.settings),
        rookie_strength={a: _rounded(v) for a, v in table.rookie_strength.items()},
        team_strength={t: _rounded(v) for t, v in sorted(table.team_strength.items())},
        archetypes={
            a: ArchetypeEntry(
                start_weight=_rounded(f.start_weight),
                dnf_rate=_rounded(f.dnf_rate),
                form_scale=_rounded(f.form_scale),
                team_shock=_rounded(f.team_shock),
                running_scale=_rounded(f.running_scale),
                rulebook_start_weight=None
                if f.rulebook_start_weight is None
                else _rounded(f.rulebook_start_weight),
                dnf_start_slope=_rounded(f.dnf_start_slope),
                fastest_lap_share=_rounded(f.fastest_lap_share),
                fastest_lap_concentration=None
                if f.fastest_lap_concentration is None
                else _rounded(f.fastest_lap_concentration),
                speed_scale=_rounded(f.speed_scale),
                lead_concentration=None if f.lead_concentration is None else _rounded(f.lead_concentration),
            )
            for a, f in table.archetypes.items()
        },
        drivers={
            key: DriverEntry(
                name=names.get(key, key),
                strength={a: _rounded(v) for a, v in r.strength_by_archetype.items()},
                dominance={a: _rounded(v) for a, v in r.dominance.items()},
                speed={a: _rounded(v) for a, v in r.speed.items()},
                dnf_ratio=_rounded(r.dnf_ratio),
                starts=r.starts,
                team=r.team,
            )
            for key, r in sorted(table.drivers.items())
        },
        tracks={
            t: TrackEntry(archetype=f.archetype, scale=_rounded(f.scale), dnf_rate=_rounded(f.dnf_rate))
            for t, f in sorted(table.tracks.items())
        },
        backtest=None if backtest is None else dict(backtest),
    )


def _rounded(value: float) -> float:
    return round(float(value), _DIGITS)


def version_of(content: ParamsContent) -> str:
    season, race = content.as_of
    return f"cup-{season}-{race:02d}-{content_hash(content)[:12]}"


def write_params(content: ParamsContent, directory: str | Path = PARAMS_DIR) -> Path:
    """Write the content as <version>.json in `directory`; returns the path."""
    version = version_of(content)
    path = Path(directory) / f"{version}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = msgspec.json.format(
        msgspec.json.encode(ParamsFile(version=version, content=content), order="sorted")
    )
    path.write_bytes(data + b"\n")
    return path


def default_params_path(directory: str | Path = PARAMS_DIR) -> Path:
    """The newest parameter file in `directory`: the latest as-of race in its name, and of files
    with the same as-of race (refits on more races of a season, or with other settings) the one
    written last."""
    files = list(Path(directory).glob("cup-*.json"))
    if not files:
        raise InvalidInput("params", f"no fitted parameter files in {directory}")
    return max(files, key=_recency)


def _recency(path: Path) -> tuple[int, int, int, str]:
    """Sort key of a parameter file: (season, race) of its name's as-of race, then when written."""
    season, race = (path.name.split("-") + ["", ""])[1:3]
    as_of = (int(season), int(race)) if season.isdigit() and race.isdigit() else (0, 0)
    return (*as_of, path.stat().st_mtime_ns, path.name)


def load_params(path: str | Path | None = None) -> CalibratedParams:
    """Load and verify a parameter file (default: the newest shipped one)."""
    path = Path(path) if path is not None else default_params_path()
    try:
        stat = path.stat()
    except OSError as exc:
        raise InvalidInput("params", f"cannot read parameter file {path}: {exc}") from exc
    # Every calibrated request compiles a spec; the file is read and verified once per version
    # of it on disk (a changed file has a new mtime or size and is read again).
    return _load_verified(path.resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load_verified(path: Path, mtime_ns: int, size: int) -> CalibratedParams:
    try:
        file = msgspec.json.decode(path.read_bytes(), type=ParamsFile)
    except (OSError, msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidInput("params", f"cannot read parameter file {path}: {exc}") from exc
    if version_of(file.content) != file.version:
        raise InvalidInput("params", f"{path}: content hash does not match version {file.version}")
    if file.content.format != FORMAT:
        raise InvalidInput(
            "params",
            f"{path} has format {file.content.format}; this version reads format {FORMAT} "
            "(write a new file with `axiom backtest --write-params`)",
        )
    return CalibratedParams(
        version=file.version,
        table=_table(file.content),
        names={key: d.name for key, d in file.content.drivers.items()},
        backtest=file.content.backtest,
    )


def _table(content: ParamsContent) -> RatingTable:
    missing = [a for a in ARCHETYPES if a not in content.archetypes]
    if missing:
        raise InvalidInput("params", f"parameter file lacks archetypes {missing}")
    return RatingTable(
        settings=RatingSettings(**content.settings),
        as_of=content.as_of,
        drivers={
            key: DriverRating(
                driver_key=key,
                strength_by_archetype={_archetype(a): v for a, v in d.strength.items()},
                dominance={_archetype(a): v for a, v in d.dominance.items()},
                speed={_archetype(a): v for a, v in d.speed.items()},
                dnf_ratio=d.dnf_ratio,
                starts=d.starts,
                team=d.team,
            )
            for key, d in content.drivers.items()
        },
        archetypes={
            _archetype(a): ArchetypeFit(
                start_weight=f.start_weight,
                dnf_rate=f.dnf_rate,
                form_scale=f.form_scale,
                team_shock=f.team_shock,
                running_scale=f.running_scale,
                rulebook_start_weight=f.rulebook_start_weight,
                dnf_start_slope=f.dnf_start_slope,
                fastest_lap_share=f.fastest_lap_share,
                fastest_lap_concentration=f.fastest_lap_concentration,
                speed_scale=f.speed_scale,
                lead_concentration=f.lead_concentration,
            )
            for a, f in content.archetypes.items()
        },
        rookie_strength={_archetype(a): v for a, v in content.rookie_strength.items()},
        team_strength=dict(content.team_strength),
        n_races=content.n_races,
        tracks={
            t: TrackFit(archetype=_archetype(f.archetype), scale=f.scale, dnf_rate=f.dnf_rate)
            for t, f in content.tracks.items()
        },
    )


def _archetype(name: str) -> Archetype:
    if name not in ARCHETYPES:
        raise InvalidInput("params", f"unknown archetype {name!r}")
    return name


def backtest_scores(
    version: str, archetype: str, directory: str | Path = PARAMS_DIR
) -> dict[str, float] | None:
    """The archetype's backtest scores recorded in the parameter file `version` (None when the
    version is not a fitted file there or the file has no backtest)."""
    path = Path(directory) / f"{version}.json"
    if not path.is_file():
        return None
    backtest = load_params(path).backtest
    if not backtest:
        return None
    scores = backtest.get("by_archetype", {}).get(archetype)
    return None if scores is None else {k: float(v) for k, v in scores.items()}
