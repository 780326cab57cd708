"""Ownership: each driver's share of the field's lineups, in percent, summing to 100 x roster size
(600% on DraftKings, 500% on FanDuel). Supplied by the user, or projected from the scenarios.

The projection asks what lineups people who trust a projection build: the projection is the
drivers' mean points over a small subsample of scenarios (as noisy as a public projection), the
lineups built are the best few by those means under the cap that also spend the field's salary
floor (an ownership the simulated field, which spends it, can hold), and a driver's ownership is
how often it appears in them over many subsamples. A temperature above 1 flattens the result (a
contrarian field), below 1 sharpens it (a chalky one).
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np

from ..errors import InvalidInput
from ..names import normalise_name
from ..opt import LineupRules, enumerate_lineups
from ..sitefiles import unknown_names

FLOOR_SHARE = 0.96  # most DraftKings entries spend at least 48,000 of the 50,000 cap
DEFAULT_TEMPERATURE = 1.0
N_SUBSAMPLES = 128
SUBSAMPLE_SIZE = 40  # scenarios behind one subsample's projection
TOP_LINEUPS = 20  # lineups built per subsample
N_CANDIDATES = 50_000  # the best lineups by mean points, where subsamples look for theirs
MIN_PERCENT = 0.2  # every driver is someone's pick
DRIVER_COLUMNS = ("driver", "name", "player", "driver_id", "id", "site_id")
PERCENT_COLUMNS = ("ownership", "own", "own%", "ownership%", "percent", "projected ownership")


@dataclass(frozen=True, slots=True)
class Ownership:
    """Percent of lineups holding each driver, drivers in the slate's (canonical) order."""

    driver_ids: tuple[str, ...]
    percent: np.ndarray  # (D,), sums to 100 x roster_size
    roster_size: int
    source: str  # "projected" or "supplied"
    note: str = ""  # what was filled in, for the user

    def shares(self) -> np.ndarray:
        """(D,) shares of all roster spots, summing to 1."""
        shares: np.ndarray = self.percent / (100.0 * self.roster_size)
        return shares

    def by_driver(self) -> dict[str, float]:
        return {d: float(p) for d, p in zip(self.driver_ids, self.percent, strict=True)}


def project_ownership(
    points: np.ndarray,
    rules: LineupRules,
    driver_ids: Sequence[str],
    *,
    key: jax.Array,
    temperature: float = DEFAULT_TEMPERATURE,
    salary_floor: int | None = None,
) -> Ownership:
    """The field's ownership as the appearance rate in subsample-optimal lineups (module doc),
    among the lineups spending at least `salary_floor` (default: FLOOR_SHARE of the cap, the
    field's own floor; see simulate_field)."""
    if not 0.05 <= temperature <= 20:
        raise InvalidInput("temperature", f"must be in [0.05, 20], got {temperature}")
    points = np.asarray(points, dtype=np.float64)
    rows = field_lineups(rules, field_floor(rules, salary_floor))
    means = points.mean(axis=0)[rows].sum(axis=1)
    keep = min(N_CANDIDATES, len(rows))
    rows = rows[np.argpartition(-means, keep - 1)[:keep]]
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())
    counts = np.zeros(rules.n_drivers)
    size = min(SUBSAMPLE_SIZE, points.shape[0])
    top = min(TOP_LINEUPS, keep)
    for _ in range(N_SUBSAMPLES):
        projection = points[rng.integers(0, points.shape[0], size)].mean(axis=0)
        totals = projection[rows].sum(axis=1)
        best = rows[np.argpartition(-totals, top - 1)[:top]]
        counts += np.bincount(best.ravel(), minlength=rules.n_drivers)
    rate = counts / counts.sum()
    sharpened = np.maximum(rate, 1e-6) ** (1.0 / temperature)
    percent = scale_percent(sharpened, rules.roster_size)
    note = f"projected from {N_SUBSAMPLES} subsamples of {size} scenarios (temperature {temperature:g})"
    return Ownership(tuple(driver_ids), percent, rules.roster_size, "projected", note)


def field_lineups(rules: LineupRules, floor: int) -> np.ndarray:
    """(lineups, roster) every lineup an opponent may enter: under the cap, our locks and excludes
    not theirs, spending at least `floor`, or as much as any lineup can where none reaches it
    (the field, too, drops a floor it cannot reach)."""
    open_rules = dataclasses.replace(
        rules, locks=frozenset(), excludes=frozenset(), salary_floor=0, min_exposure=None, max_exposure=None
    )
    rows = enumerate_lineups(open_rules).rows.astype(np.int64)
    spent = rules.salaries[rows].sum(axis=1)
    kept: np.ndarray = rows[spent >= min(floor, int(spent.max()))]
    return kept


def field_floor(rules: LineupRules, salary_floor: int | None) -> int:
    """The least an opponent's lineup spends: `salary_floor`, or FLOOR_SHARE of the cap."""
    return int(FLOOR_SHARE * rules.salary_cap) if salary_floor is None else salary_floor


def supplied_ownership(
    supplied: Mapping[str, float],
    driver_ids: Sequence[str],
    names: Sequence[str],
    roster_size: int,
    projection: np.ndarray,
) -> Ownership:
    """Ownership the user gave, by driver id or name; the drivers left out share what is left of
    100 x roster_size in proportion to `projection` (for example projected ownership)."""
    index = {d: i for i, d in enumerate(driver_ids)}
    by_name = {normalise_name(n): i for i, n in enumerate(names)}
    percent = np.full(len(driver_ids), np.nan)
    unknown = []
    for who, value in supplied.items():
        i = index.get(who, by_name.get(normalise_name(who)))
        if i is None:
            unknown.append(who)
            continue
        if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= 100):
            raise InvalidInput(f"ownership[{who}]", f"must be a percent in [0, 100], got {value!r}")
        percent[i] = value
    if unknown:
        display = {normalise_name(n): n for n in names}
        raise InvalidInput("ownership", unknown_names(unknown, display, "the slate"))
    total = 100.0 * roster_size
    given = float(np.nansum(percent))
    missing = np.isnan(percent)
    if given > total + 1e-6:
        raise InvalidInput(
            "ownership", f"adds up to {given:.1f}%, over {total:.0f}% for a roster of {roster_size}"
        )
    note = f"{int((~missing).sum())} drivers supplied"
    if missing.any():
        weight = np.maximum(np.asarray(projection, np.float64)[missing], 1e-9)
        percent[missing] = (total - given) * weight / weight.sum()
        note += (
            f"; {int(missing.sum())} drivers left out share the remaining {total - given:.1f}% by projection"
        )
    elif abs(given - total) > 1e-6:
        percent = percent * total / given
        note += f"; scaled from {given:.1f}% to {total:.0f}%"
    return Ownership(tuple(driver_ids), percent, roster_size, "supplied", note)


def read_ownership(path: str | Path) -> dict[str, float]:
    """A CSV with a driver column (name or id) and an ownership column in percent ("23.5" or
    "23.5%"), by the first of DRIVER_COLUMNS and PERCENT_COLUMNS its header holds."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = {name.strip().lower(): name for name in reader.fieldnames or ()}
        driver = next((header[c] for c in DRIVER_COLUMNS if c in header), None)
        share = next((header[c] for c in PERCENT_COLUMNS if c in header), None)
        if driver is None or share is None:
            raise InvalidInput(
                "ownership",
                f"{path}: needs a driver column {DRIVER_COLUMNS} and a percent column {PERCENT_COLUMNS}",
            )
        out = {}
        for line, record in enumerate(reader, start=2):
            text = (record[share] or "").strip().rstrip("%")
            try:
                out[record[driver].strip()] = float(text)
            except ValueError:
                raise InvalidInput("ownership", f"{path} line {line}: {text!r} is not a percent") from None
    return out


def scale_percent(weight: np.ndarray, roster_size: int) -> np.ndarray:
    """Weights scaled to sum to 100 x roster_size, no driver above 100% (the excess goes to the
    others in proportion) and none below MIN_PERCENT."""
    total = 100.0 * roster_size
    percent = np.asarray(weight, np.float64) * total / weight.sum()
    for _ in range(100):
        percent = np.clip(percent, MIN_PERCENT, 100.0)
        excess = percent.sum() - total
        if abs(excess) < 1e-9:
            break
        free = (percent > MIN_PERCENT) & (percent < 100.0) if excess > 0 else percent < 100.0
        percent[free] -= excess * percent[free] / percent[free].sum()
    scaled: np.ndarray = percent
    return scaled
