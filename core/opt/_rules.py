"""Lineup rules in index form, their validation, and the check every returned lineup passes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import Infeasible, InvalidInput, SolverFailed
from ..slate import SiteRules


@dataclass(frozen=True, slots=True)
class LineupRules:
    """Everything a lineup or a portfolio must satisfy, with drivers as indices 0..D-1."""

    roster_size: int
    salary_cap: int
    salaries: np.ndarray  # (D,) int
    salary_floor: int = 0
    locks: frozenset[int] = frozenset()
    excludes: frozenset[int] = frozenset()
    max_overlap: int | None = None  # at most this many drivers shared by any two lineups
    min_exposure: np.ndarray | None = None  # (D,) fractions of the portfolio
    max_exposure: np.ndarray | None = None
    n_drivers: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_drivers", int(self.salaries.shape[0]))

    @property
    def overlap_limit(self) -> int:
        """Lineups in a portfolio always differ; max_overlap can only tighten that."""
        limit = self.roster_size - 1
        return limit if self.max_overlap is None else min(limit, self.max_overlap)

    def exposure_counts(self, n_lineups: int) -> tuple[np.ndarray, np.ndarray]:
        """(minimum, maximum) number of lineups each driver appears in."""
        low = np.zeros(self.n_drivers) if self.min_exposure is None else self.min_exposure
        high = np.ones(self.n_drivers) if self.max_exposure is None else self.max_exposure
        # A small tolerance so that 0.1 * 150 counts as 15, not 15.000000000000002 -> 16.
        minimum = np.ceil(low * n_lineups - 1e-9).astype(np.int64)
        maximum = np.floor(high * n_lineups + 1e-9).astype(np.int64)
        for i in self.locks:
            minimum[i] = n_lineups
        for i in self.excludes:
            maximum[i] = 0
        return minimum, maximum

    def has_min_exposure(self) -> bool:
        return self.min_exposure is not None and bool(np.any(self.min_exposure > 0))


def compile_rules(
    site: SiteRules,
    driver_ids: Sequence[str],
    salaries: Sequence[int],
    *,
    salary_cap: int | None = None,
    salary_floor: int = 0,
    locks: Sequence[str] = (),
    excludes: Sequence[str] = (),
    max_overlap: int | None = None,
    min_exposure: Mapping[str, float] | None = None,
    max_exposure: Mapping[str, float] | None = None,
) -> LineupRules:
    """Validate lineup settings given by driver id and turn them into LineupRules."""
    index = {driver_id: i for i, driver_id in enumerate(driver_ids)}

    def indices(ids: Sequence[str], name: str) -> frozenset[int]:
        unknown = [d for d in ids if d not in index]
        if unknown:
            raise InvalidInput(name, f"unknown driver ids {unknown}")
        return frozenset(index[d] for d in ids)

    def exposures(values: Mapping[str, float] | None, name: str, default: float) -> np.ndarray | None:
        if not values:
            return None
        out = np.full(len(driver_ids), default)
        for driver_id, value in values.items():
            if driver_id not in index:
                raise InvalidInput(name, f"unknown driver id {driver_id!r}")
            if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= 1):
                raise InvalidInput(f"{name}[{driver_id}]", f"must be a fraction in [0, 1], got {value!r}")
            out[index[driver_id]] = value
        return out

    cap = site.salary_cap if salary_cap is None else salary_cap
    if not 0 <= salary_floor <= cap:
        raise InvalidInput("salary_floor", f"must be in [0, salary_cap={cap}], got {salary_floor}")
    if max_overlap is not None and not 0 <= max_overlap <= site.roster_size:
        raise InvalidInput("max_overlap", f"must be in [0, {site.roster_size}], got {max_overlap}")
    rules = LineupRules(
        roster_size=site.roster_size,
        salary_cap=cap,
        salaries=np.asarray(salaries, dtype=np.int64),
        salary_floor=salary_floor,
        locks=indices(locks, "locks"),
        excludes=indices(excludes, "excludes"),
        max_overlap=max_overlap,
        min_exposure=exposures(min_exposure, "min_exposure", 0.0),
        max_exposure=exposures(max_exposure, "max_exposure", 1.0),
    )
    check_feasible(rules, driver_ids, n_lineups=None)
    return rules


def check_feasible(rules: LineupRules, driver_ids: Sequence[str], n_lineups: int | None) -> None:
    """Raise Infeasible naming the cause for requests no lineup can meet (before any solve).

    Exposure counts depend on the portfolio size; with n_lineups None they are not checked.
    """
    both = rules.locks & rules.excludes
    if both:
        raise Infeasible(f"drivers both locked and excluded: {sorted(driver_ids[i] for i in both)}")
    if len(rules.locks) > rules.roster_size:
        raise Infeasible(f"{len(rules.locks)} locks for a roster of {rules.roster_size} drivers")
    out = set(rules.excludes)
    if n_lineups is not None:
        out |= {int(i) for i in np.flatnonzero(rules.exposure_counts(n_lineups)[1] <= 0)}
    available = rules.n_drivers - len(out)
    if available < rules.roster_size:
        raise Infeasible(
            f"only {available} drivers left after excludes and zero exposure caps for a roster of "
            f"{rules.roster_size}"
        )
    locked_salary = int(sum(rules.salaries[i] for i in rules.locks))
    free = sorted(rules.salaries[i] for i in range(rules.n_drivers) if i not in rules.locks | out)
    open_slots = rules.roster_size - len(rules.locks)
    cheapest = locked_salary + int(sum(free[:open_slots]))
    if cheapest > rules.salary_cap:
        cause = "locked drivers cost" if len(rules.locks) else "the cheapest roster costs"
        raise Infeasible(f"{cause} ${cheapest:,} at least, over the salary cap ${rules.salary_cap:,}")
    dearest = locked_salary + int(sum(free[len(free) - open_slots :])) if open_slots else locked_salary
    if dearest < rules.salary_floor:
        raise Infeasible(f"no roster reaches the salary floor ${rules.salary_floor:,} (at most ${dearest:,})")
    if n_lineups is None:
        return
    minimum, maximum = rules.exposure_counts(n_lineups)
    over = [driver_ids[int(i)] for i in np.flatnonzero(minimum > maximum)]
    if over:
        raise Infeasible(f"minimum exposure above maximum exposure for {over}")
    if int(minimum.sum()) > n_lineups * rules.roster_size:
        named = [driver_ids[int(i)] for i in np.flatnonzero(minimum > 0)]
        raise Infeasible(
            f"minimum exposures need {int(minimum.sum())} roster spots; {n_lineups} lineups have "
            f"{n_lineups * rules.roster_size} (drivers with a minimum or a lock: {named})"
        )


def check_lineup(rules: LineupRules, lineup: Sequence[int]) -> None:
    """The last guard before a lineup is returned: SolverFailed if it breaks any rule."""
    members = set(lineup)
    salary = int(sum(rules.salaries[i] for i in members))
    problems = []
    if len(members) != rules.roster_size or len(lineup) != rules.roster_size:
        problems.append(f"{len(members)} distinct drivers, roster size {rules.roster_size}")
    if not rules.salary_floor <= salary <= rules.salary_cap:
        problems.append(f"salary {salary} outside [{rules.salary_floor}, {rules.salary_cap}]")
    if not rules.locks <= members:
        problems.append("a locked driver is missing")
    if rules.excludes & members:
        problems.append("an excluded driver is in")
    if problems:
        raise SolverFailed(f"lineup {sorted(members)} breaks the rules: {'; '.join(problems)}")


def check_portfolio(rules: LineupRules, lineups: Sequence[Sequence[int]]) -> None:
    for lineup in lineups:
        check_lineup(rules, lineup)
    sets = [frozenset(lineup) for lineup in lineups]
    for a in range(len(sets)):
        for b in range(a):
            if len(sets[a] & sets[b]) > rules.overlap_limit:
                raise SolverFailed(f"lineups {b} and {a} share {len(sets[a] & sets[b])} drivers")
    counts = np.zeros(rules.n_drivers, np.int64)
    for lineup in lineups:
        counts[list(lineup)] += 1
    minimum, maximum = rules.exposure_counts(len(lineups))
    if np.any(counts < minimum) or np.any(counts > maximum):
        raise SolverFailed("an exposure limit is broken")
