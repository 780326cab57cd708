"""What simulate and optimize read from the command line: the site, the slate and its starting
grid, the site's player list and entries file, and drivers named by id or by name."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core import ConstraintSpec, Driver, InvalidInput, LineupSettings, Slate, load_slate
from core.calibration import load_params
from core.names import driver_key
from core.sitefiles import (
    SITE_NAMES,
    EntriesFile,
    SitePlayer,
    entries_site,
    find_drivers,
    is_site_player_list,
    match_players,
    player_list_site,
    read_site_players,
    read_start_positions,
    read_teams,
    with_start_positions,
    with_teams,
)
from core.slate import SiteName

DEFAULT_SITE: SiteName = "draftkings"


@dataclass(frozen=True, slots=True)
class RaceWeek:
    """The slate a command runs on, the site it is for, and what the output should say about
    them: where the site came from (None: --site or the default) and whether the grid is a
    guess (a site player list without --starts: lined up by salary)."""

    slate: Slate
    site: SiteName
    site_shown_by: str | None
    grid_guessed: bool


@dataclass(frozen=True, slots=True)
class Rookie:
    """A driver history has never seen, rated with the rookie prior."""

    name: str
    strength: float
    rank: int  # by strength in this field, 1 the strongest
    team: str  # "" unknown


def read_race_week(args: argparse.Namespace) -> RaceWeek:
    """The slate (with --starts applied), its site and the notes about both.

    Raises:
        InvalidInput: a site file for another site than --site, files for two sites, or a
            bad grid (see core.sitefiles.with_start_positions).
    """
    site, shown_by = _site(args)
    slate = load_slate(args.slate, args.track)
    player_list = is_site_player_list(args.slate)
    if args.starts is not None:
        drivers = with_start_positions(slate.drivers, read_start_positions(args.starts), args.starts)
        slate = Slate(drivers, slate.track, slate.slate_id)
    if getattr(args, "teams", None) is not None:
        slate = Slate(with_teams(slate.drivers, read_teams(args.teams)), slate.track, slate.slate_id)
    return RaceWeek(slate, site, shown_by, grid_guessed=player_list and args.starts is None)


def _site(args: argparse.Namespace) -> tuple[SiteName, str | None]:
    """--site, checked against the site files given; without it, the site those files show."""
    files = [args.slate] if is_site_player_list(args.slate) else []
    files += [path for path in (getattr(args, "salaries", None), getattr(args, "entries", None)) if path]
    shown: list[tuple[Path, SiteName, str]] = []
    for path in files:
        site, kind = entries_site(path), "entries file"
        if site is None:
            site, kind = player_list_site(path), "player list"
        if site is not None:
            shown.append((path, site, kind))
    for path, site, kind in shown:
        if args.site is not None and site != args.site:
            raise InvalidInput(
                "site",
                f"{path} looks like a {SITE_NAMES[site]} {kind}: use --site {site}, not {args.site}",
            )
        if args.site is None and site != shown[0][1]:
            first = shown[0]
            raise InvalidInput(
                "site",
                f"{first[0]} is a {SITE_NAMES[first[1]]} {first[2]} but {path} a {SITE_NAMES[site]} {kind}: "
                "give one site's files",
            )
    if args.site is not None:
        return args.site, None
    if shown:
        path, site, kind = shown[0]
        return site, f"{path.name} is a {SITE_NAMES[site]} {kind}"
    return DEFAULT_SITE, None


def lineup_settings(args: argparse.Namespace, drivers: Sequence[Driver], n_lineups: int) -> LineupSettings:
    """The lineup settings of optimize's options, drivers named by id or by name.

    A bare --max-exposure SHARE caps every driver without a rule of its own: a lock, a
    --min-exposure or a --max-exposure DRIVER=SHARE.
    """
    locks = _ids(args.lock, drivers, "lock")
    min_exposure = _exposures(args.min_exposure, drivers, "min_exposure")
    max_exposure = _exposures(args.max_exposure, drivers, "max_exposure")
    for reference, share in args.max_exposure:
        if reference is None:
            ruled = {*locks, *min_exposure, *max_exposure}
            max_exposure |= {d.driver_id: share for d in drivers if d.driver_id not in ruled}
    return LineupSettings(
        objective=args.objective,
        n_lineups=n_lineups,
        salary_floor=args.salary_floor,
        locks=tuple(locks),
        excludes=tuple(_ids(args.exclude, drivers, "exclude")),
        max_overlap=args.max_overlap,
        min_exposure=min_exposure,
        max_exposure=max_exposure,
        target=args.target,
    )


def _ids(references: Sequence[str], drivers: Sequence[Driver], field: str) -> list[str]:
    return [d.driver_id for d in find_drivers(references, drivers, field)]


def _exposures(
    values: Sequence[tuple[str | None, float]], drivers: Sequence[Driver], field: str
) -> dict[str, float]:
    named = [(reference, share) for reference, share in values if reference is not None]
    if len(named) < len(values) and field == "min_exposure":
        raise InvalidInput(field, "a minimum exposure names its driver: --min-exposure DRIVER=SHARE")
    found = find_drivers([reference for reference, _ in named], drivers, field)
    return {driver.driver_id: share for driver, (_, share) in zip(found, named, strict=True)}


def exposure(text: str) -> tuple[str | None, float]:
    """`--min-exposure` / `--max-exposure`: DRIVER=SHARE or a bare SHARE (0.3 or 30%)."""
    reference, equals, value = text.rpartition("=")
    if equals and not reference.strip():
        raise argparse.ArgumentTypeError(f"expected DRIVER=SHARE or SHARE, got {text!r}")
    try:
        share = float(value[:-1]) / 100 if value.strip().endswith("%") else float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share (0.3 or 30%), got {value!r}") from None
    if not 0 <= share <= 1:
        raise argparse.ArgumentTypeError(f"a share is between 0 and 1 (0% and 100%), got {value!r}")
    return (reference.strip() if equals else None), share


def site_players(
    path: Path | None, site: SiteName, names: Sequence[str], entries: EntriesFile | None = None
) -> dict[str, SitePlayer] | None:
    """The site's players by slate driver name: from the player list at `path`, else from the
    entries file's player table (None: neither, so the run has no site player IDs)."""
    if path is not None:
        players = read_site_players(path, site)
    elif entries is not None and entries.players is not None:
        players = list(entries.players)
    else:
        return None
    return match_players(players, names)


def rookies(spec: ConstraintSpec) -> list[Rookie]:
    """The drivers of a calibrated spec that the parameter file has never seen (rated as rookies:
    its rookie prior at the track's archetype, plus their team's strength when the team is known)."""
    if not spec.scenarios.calibration_enabled:
        return []
    known = load_params().table.drivers
    strengths = sorted((d.ratings.strength for d in spec.drivers if d.ratings is not None), reverse=True)
    return [
        Rookie(d.name, d.ratings.strength, strengths.index(d.ratings.strength) + 1, d.ratings.team)
        for d in spec.drivers
        if d.ratings is not None and driver_key(d.name) not in known
    ]


def assumed_teams(week: RaceWeek, spec: ConstraintSpec) -> list[tuple[str, str]]:
    """(name, team) of the drivers of a calibrated spec given no team, whose latest team in the
    fitted history the run assumed."""
    if not spec.scenarios.calibration_enabled:
        return []
    given = {d.driver_id for d in week.slate.drivers if d.team}
    return [
        (d.name, d.ratings.team)
        for d in spec.drivers
        if d.ratings is not None and d.ratings.team and d.driver_id not in given
    ]
