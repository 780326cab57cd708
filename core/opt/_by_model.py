"""The model engine: the portfolio as a sequence of CVXPY/HiGHS solves (the reference), and the
joint model that looks for any portfolio meeting the minimum exposures when a sequence is stuck."""

from __future__ import annotations

import numpy as np

from ..errors import Infeasible
from ._context import Context
from ._milp import LineupProblem, Objective, build_lineup_problem, mean_tie_break, solve_joint_portfolio
from ._ramp import LEVELS, ramp_levels, uncover


def by_milp(c: Context, objective: Objective) -> list[tuple[int, ...]]:
    points = None if objective == "mean" else c.points
    problem = build_lineup_problem(
        c.rules, objective, n_cuts=c.n_lineups, points=points, tail=c.tail, width=c.width
    )
    if objective == "mean":
        problem.weights.value = c.points.mean(axis=0)
    open_levels = np.full(c.points.shape[0], LEVELS, np.int64)  # upside: no scenario reached yet
    if objective == "upside":
        assert problem.target is not None and problem.tie_break is not None
        problem.target.value = c.target
        problem.weights.value = _upside_weights(open_levels, c.width)
        problem.tie_break.value = mean_tie_break(c.points.mean(axis=0), c.rules.roster_size)
    minimum, maximum = c.rules.exposure_counts(c.n_lineups)
    counts = np.zeros(c.rules.n_drivers, np.int64)
    picked: list[tuple[int, ...]] = []
    for k in range(c.n_lineups):
        _set_bounds(problem, minimum - counts >= c.n_lineups - k, counts >= maximum)
        try:
            lineup = tuple(int(i) for i in problem.solve(c.time_limit))
        except Infeasible:
            if c.rules.has_min_exposure():
                return joint_fallback(c, objective, minimum - counts >= c.n_lineups - k, k)
            if k == 0:
                raise
            break
        picked.append(lineup)
        counts[list(lineup)] += 1
        _add_cut(problem, k, lineup, c.rules.overlap_limit)
        if objective == "upside":
            uncover(open_levels, ramp_levels(c.points[:, list(lineup)].sum(axis=1), c.target, c.width))
            problem.weights.value = _upside_weights(open_levels, c.width)
        c.step(len(picked))
    return picked


def _upside_weights(open_levels: np.ndarray, width: float) -> np.ndarray:
    """Each scenario's weight in the model: its open level, so that the goal is the integer sum of
    level x open level. The plain-hit model's levels are 0/1 hits and its weights 0/1 too (open
    levels are 0 or LEVELS there), a count of hits. Either way one step of the goal outweighs the
    tie break (under 1/2)."""
    weights: np.ndarray = open_levels / LEVELS if width == 0 else open_levels.astype(np.float64)
    return weights


JOINT_LIMIT = 200_000  # pairs x drivers: the joint model's size limit


def joint_fallback(
    c: Context, objective: Objective, forced: np.ndarray, n_picked: int
) -> list[tuple[int, ...]]:
    """The sequence found no lineup the rules allow after its first n_picked, with the drivers in
    `forced` (D,) bool needed in every remaining lineup: the joint model looks for any portfolio
    that meets the minimums (the mean objective, small portfolios)."""
    stuck = _stuck_reason(c, forced, n_picked)
    size = c.n_lineups * (c.n_lineups - 1) // 2 * c.rules.n_drivers
    if objective != "mean" or size > JOINT_LIMIT:
        raise Infeasible(
            f"{stuck}; the joint model, which would look for another portfolio, covers only the mean "
            f"objective for small portfolios ({c.n_lineups} lineups here)"
        )
    try:
        return solve_joint_portfolio(c.rules, c.points.mean(axis=0), c.n_lineups, c.time_limit)
    except Infeasible:
        raise Infeasible(f"{stuck}, and no portfolio of {c.n_lineups} lineups keeps every rule") from None


def _stuck_reason(c: Context, forced: np.ndarray, n_picked: int) -> str:
    assert c.rules.min_exposure is not None
    held = c.names(np.flatnonzero(forced & (c.rules.min_exposure > 0)))
    if not held:
        return (
            f"no lineup the rules allow follows lineup {n_picked} (max_overlap={c.rules.overlap_limit}; "
            "exposure limits) while minimum exposures are still unmet"
        )
    return (
        f"the lineup-by-lineup sequence cannot meet the minimum exposures of {held}: from lineup "
        f"{n_picked + 1} on they need every lineup, and no lineup the rules allow after the earlier "
        "ones holds them all"
    )


def _set_bounds(problem: LineupProblem, forced: np.ndarray, saturated: np.ndarray) -> None:
    problem.lower.value = forced.astype(float)
    problem.upper.value = (~saturated).astype(float)


def _add_cut(problem: LineupProblem, row: int, lineup: tuple[int, ...], limit: int) -> None:
    cuts, cut_limit = np.array(problem.cuts.value), np.array(problem.cut_limit.value)
    cuts[row, list(lineup)] = 1.0
    cut_limit[row] = limit
    problem.cuts.value, problem.cut_limit.value = cuts, cut_limit
