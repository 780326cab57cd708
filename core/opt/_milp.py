"""The general engine: a CVXPY lineup model solved by HiGHS, built once per slate and re-solved.

The problem is a function of data shapes only; every value that changes between solves (the
objective's weights, forced and forbidden drivers, overlap cuts against earlier lineups, the
target) is a cvxpy Parameter, so a portfolio re-solves one compiled problem.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cvxpy as cp
import numpy as np

from ..errors import Infeasible, SolverFailed
from ._ramp import LEVELS
from ._rules import LineupRules

Objective = Literal["mean", "upside", "floor"]
SOLVED = (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)


@dataclass(frozen=True)
class LineupProblem:
    """A compiled lineup MILP and the parameters a caller sets before each solve."""

    problem: cp.Problem
    x: cp.Variable  # one binary per driver
    lower: cp.Parameter  # 1 forces a driver in (locks, exposure minimums)
    upper: cp.Parameter  # 0 keeps a driver out (excludes, exposure maximums)
    cuts: cp.Parameter  # rows: earlier lineups (0/1); unused rows are all zero
    cut_limit: cp.Parameter  # per row: at most this many shared drivers
    weights: cp.Parameter  # mean: points per driver; upside: value per scenario; floor: unused
    target: cp.Parameter | None  # upside only
    tie_break: cp.Parameter | None = None  # upside only: per driver, a lineup's sum stays under 1/2

    def solve(self, time_limit: float) -> np.ndarray:
        """Solve; return the chosen driver indices. Raises Infeasible or SolverFailed."""
        try:
            # mip_rel_gap=0: the default 1e-4 gap lets HiGHS stop at a slightly worse lineup, and
            # the engines must agree exactly. A tight integrality tolerance keeps an upside
            # indicator of 1 - 1e-6 from counting a total (target + big_m) x 1e-6 short of the target.
            self.problem.solve(
                solver=cp.HIGHS, time_limit=time_limit, mip_rel_gap=0.0, mip_feasibility_tolerance=1e-9
            )
        except cp.error.SolverError as error:
            raise SolverFailed(f"HiGHS failed: {error}") from error
        status = self.problem.status
        if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            raise Infeasible("no lineup satisfies the rules (solver: infeasible)")
        if status not in SOLVED or self.x.value is None:
            raise SolverFailed(f"HiGHS stopped with status {status!r}")
        return np.flatnonzero(np.round(self.x.value) > 0.5)


def tail_count(tail: float, n_scenarios: int) -> int:
    """How many worst scenarios the floor objective averages: ceil(tail x S), at least 1."""
    return max(1, math.ceil(tail * n_scenarios - 1e-9))


def build_lineup_problem(
    rules: LineupRules,
    objective: Objective,
    *,
    n_cuts: int,
    points: np.ndarray | None = None,
    tail: float = 0.2,
    width: float = 0.0,
) -> LineupProblem:
    """Build the MILP for one slate.

    Args:
        rules: roster size, salaries, cap and floor (fixed for the slate).
        objective: "mean" (expected points), "upside" (the sum over scenarios of the lineup's
            ramp level times a weight, the scenario's open level: LEVELS for one lineup, less
            where earlier lineups reached it; ties go to the higher mean points through
            `tie_break`, as in the enumeration engine), or
            "floor" (lower-tail CVaR: the mean of the lineup's worst tail_count(tail, S) scenarios,
            as max_t t - sum((t - points_s)+) / k).
        n_cuts: room for overlap cuts against earlier lineups.
        points: scenarios x drivers, for "upside" and "floor".
        width: upside: the ramp's width h in points (0: plain hits; see _ramp).
    """
    n = rules.n_drivers
    x = cp.Variable(n, boolean=True)
    lower, upper = cp.Parameter(n, nonneg=True), cp.Parameter(n, nonneg=True)
    cuts, cut_limit = cp.Parameter((max(n_cuts, 1), n), nonneg=True), cp.Parameter(max(n_cuts, 1))
    salaries = rules.salaries.astype(float)
    constraints = [
        cp.sum(x) == rules.roster_size,
        salaries @ x <= rules.salary_cap,
        salaries @ x >= rules.salary_floor,
        x >= lower,
        x <= upper,
        cuts @ x <= cut_limit,
    ]
    target = tie_break = None
    if objective == "mean":
        weights = cp.Parameter(n)
        goal = weights @ x
    elif objective == "upside":
        assert points is not None
        weights, target = cp.Parameter(points.shape[0], nonneg=True), cp.Parameter()
        tie_break = cp.Parameter(n)
        levels, level_rows = _ramp_levels(points @ x, target, width, points, rules.roster_size)
        constraints += level_rows
        goal = weights @ levels + tie_break @ x
    else:
        assert points is not None
        n_scenarios = points.shape[0]
        weights = cp.Parameter(1)  # unused; keeps one shape for every objective
        threshold = cp.Variable()
        shortfall = cp.Variable(n_scenarios, nonneg=True)
        constraints.append(shortfall >= threshold - points @ x)
        goal = threshold - cp.sum(shortfall) / tail_count(tail, n_scenarios)
    problem = cp.Problem(cp.Maximize(goal), constraints)
    lower.value, upper.value = np.zeros(n), np.ones(n)
    cuts.value, cut_limit.value = np.zeros(cuts.shape), np.full(cuts.shape[0], rules.roster_size)
    return LineupProblem(problem, x, lower, upper, cuts, cut_limit, weights, target, tie_break)


def _ramp_levels(
    totals: cp.Expression, target: cp.Parameter, width: float, points: np.ndarray, roster_size: int
) -> tuple[cp.Expression, list[cp.Constraint]]:
    """Per scenario the lineup's ramp level (0..LEVELS, see _ramp) and the rows that bound it.

    reached[s] = 0 holds scenario s's level at 0 and relaxes its row to the lowest total any
    lineup can score there (its roster_size worst drivers): a big-M per scenario, far tighter than
    one for all of them, which speeds up the ramp's model (more scenarios near the target).
    Plain hits (width 0): the level is reached itself, 1 only where the total reaches the target
    (a count of hits, weighted 0/1). Ramp: an integer level with total >= target - h/2 +
    (h / LEVELS) x level; maximising picks the largest, floor(LEVELS x k(total)), as the
    enumeration engine counts it.
    """
    n_scenarios = totals.shape[0]
    reached = cp.Variable(n_scenarios, boolean=True)
    lowest = np.sort(points, axis=1)[:, :roster_size].sum(axis=1)
    relaxed = lowest - cp.multiply(lowest, reached)  # the lowest total where not reached, else 0
    if width == 0:
        return reached, [totals >= cp.multiply(target, reached) + relaxed]
    levels = cp.Variable(n_scenarios, integer=True)
    edge = cp.multiply(target - width / 2, reached) + (width / LEVELS) * levels
    return levels, [levels >= 0, levels <= LEVELS * reached, totals >= edge + relaxed]


def mean_tie_break(mean_points: np.ndarray, roster_size: int) -> np.ndarray:
    """Per-driver weights that order lineups by mean points but whose sums differ by under 1/2
    between any two lineups: added to a count of scenarios, they break only its ties."""
    spread = roster_size * float(np.ptp(mean_points))
    weights: np.ndarray = 0.5 * (mean_points - mean_points.min()) / (spread + 1.0)
    return weights


def solve_joint_portfolio(
    rules: LineupRules, mean_points: np.ndarray, n_lineups: int, time_limit: float
) -> list[tuple[int, ...]]:
    """All lineups in one MILP (most total mean points), for minimum exposures the lineup-by-lineup
    sequence cannot meet: an early lineup can leave later ones no affordable way to reach them.

    Overlap between lineups a and b is linearised with shared[a, b, i] >= x[a, i] + x[b, i] - 1.
    The model has n_lineups^2 / 2 x drivers continuous variables, so it is for small portfolios.
    """
    n = rules.n_drivers
    x = cp.Variable((n_lineups, n), boolean=True)
    minimum, maximum = rules.exposure_counts(n_lineups)
    salaries = rules.salaries.astype(float)
    constraints = [
        cp.sum(x, axis=1) == rules.roster_size,
        x @ salaries <= rules.salary_cap,
        x @ salaries >= rules.salary_floor,
        cp.sum(x, axis=0) >= minimum,
        cp.sum(x, axis=0) <= maximum,
    ]
    for a in range(n_lineups):
        for b in range(a):
            shared = cp.Variable(n, nonneg=True)
            constraints += [shared >= x[a] + x[b] - 1, cp.sum(shared) <= rules.overlap_limit]
    problem = cp.Problem(cp.Maximize(cp.sum(x @ mean_points)), constraints)
    try:
        problem.solve(solver=cp.HIGHS, time_limit=time_limit, mip_rel_gap=0.0)
    except cp.error.SolverError as error:
        raise SolverFailed(f"HiGHS failed: {error}") from error
    if problem.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise Infeasible("no portfolio meets the minimum exposures with these rules")
    if problem.status not in SOLVED or x.value is None:
        raise SolverFailed(f"HiGHS stopped with status {problem.status!r}")
    chosen = np.round(x.value) > 0.5
    lineups = [tuple(int(i) for i in np.flatnonzero(row)) for row in chosen]
    return sorted(lineups, key=lambda lineup: -float(mean_points[list(lineup)].sum()))
