"""Requests no portfolio can meet raise Infeasible naming the cause; bad settings raise InvalidInput;
a solver stopped by its time limit raises SolverFailed (core/errors.py)."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import Infeasible, InvalidInput, SolverFailed
from core.opt import build_portfolio, compile_rules
from core.slate import DRAFTKINGS, FANDUEL
from tests.opt_helpers import random_points

IDS = tuple(f"d{i:02d}" for i in range(12))
SALARIES = (11_000, 10_500, 10_000, 9_500, 9_000, 8_500, 8_000, 7_500, 7_000, 6_500, 6_000, 5_500)
POINTS = random_points(np.linspace(50, 10, 12), 200, seed=7)


def rules(**options: object):  # type: ignore[no-untyped-def]
    return compile_rules(DRAFTKINGS, IDS, SALARIES, **options)  # type: ignore[arg-type]


def test_locks_over_the_cap() -> None:
    with pytest.raises(
        Infeasible, match=r"locked drivers cost \$55,500 at least, over the salary cap \$50,000"
    ):
        rules(locks=IDS[:5])  # 50,000 for five, plus the cheapest sixth (5,500)


def test_more_locks_than_roster_slots() -> None:
    with pytest.raises(Infeasible, match="7 locks for a roster of 6"):
        rules(locks=IDS[5:], salary_cap=100_000)


def test_locked_and_excluded() -> None:
    with pytest.raises(Infeasible, match=r"both locked and excluded: \['d03'\]"):
        rules(locks=["d03"], excludes=["d03", "d04"])


def test_exposure_minimums_that_cannot_all_be_met() -> None:
    settings = rules(salary_cap=100_000, min_exposure={d: 1.0 for d in IDS[:7]})
    with pytest.raises(Infeasible, match="minimum exposures need 7 roster spots; 1 lineups have 6"):
        build_portfolio(POINTS, settings, n_lineups=1, driver_ids=IDS)


def test_exposure_minimums_are_checked_against_the_portfolio_size() -> None:
    settings = rules(salary_cap=100_000, min_exposure={d: 0.8 for d in IDS[:5]} | {"d05": 0.5})
    build_portfolio(POINTS, settings, n_lineups=2, driver_ids=IDS)  # 2 x 1 + 1 = 11 spots of 12
    too_many = rules(salary_cap=100_000, min_exposure={d: 0.8 for d in IDS[:7]} | {"d08": 0.9})
    with pytest.raises(Infeasible, match="minimum exposures need 65 roster spots; 10 lineups have 60"):
        build_portfolio(POINTS, too_many, n_lineups=10, driver_ids=IDS)


def test_many_small_exposure_minimums_are_feasible() -> None:
    """Seven drivers at 10% each need 7 of 60 roster spots in 10 lineups; compile_rules must not
    judge them as if the portfolio had one lineup."""
    settings = rules(salary_cap=100_000, min_exposure={d: 0.1 for d in IDS[:7]})
    portfolio = build_portfolio(POINTS, settings, n_lineups=10, driver_ids=IDS)
    for i in range(7):
        assert sum(i in lineup.drivers for lineup in portfolio.lineups) >= 1


def test_max_overlap_too_strict_for_the_lineups_asked() -> None:
    settings = rules(salary_cap=100_000, max_overlap=0)  # 12 drivers make two disjoint rosters
    for engine in ("enumeration", "milp"):
        with pytest.raises(Infeasible, match=r"the rules allow only 2 lineups, 10 asked for \(max_overlap=0"):
            build_portfolio(POINTS, settings, n_lineups=10, engine=engine, driver_ids=IDS)


def test_salary_floor_above_any_roster() -> None:
    # The five dearest FanDuel drivers cost 50,000.
    with pytest.raises(Infeasible, match=r"no roster reaches the salary floor \$50,100 \(at most \$50,000\)"):
        compile_rules(FANDUEL, IDS, SALARIES, salary_cap=60_000, salary_floor=50_100)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"locks": ["d00", "nobody"]}, "locks"),
        ({"excludes": ["nobody"]}, "excludes"),
        ({"min_exposure": {"nobody": 0.5}}, "min_exposure"),
        ({"max_exposure": {"d01": 1.5}}, "max_exposure[d01]"),
        ({"min_exposure": {"d01": -0.1}}, "min_exposure[d01]"),
        ({"max_exposure": {"d01": float("nan")}}, "max_exposure[d01]"),
        ({"max_overlap": -1}, "max_overlap"),
        ({"max_overlap": 7}, "max_overlap"),
        ({"salary_floor": 60_000}, "salary_floor"),
    ],
)
def test_invalid_settings_name_the_field(options: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules(**options)
    assert caught.value.field == field


@pytest.mark.filterwarnings("ignore:Solution may be inaccurate")
def test_time_limit_raises_solver_failed() -> None:
    """HiGHS stopped by its time limit: cvxpy reports the status with or without an incumbent
    (observed with HiGHS 1.16: 'user_limit', with x.value set); the code accepts only OPTIMAL and
    OPTIMAL_INACCURATE, so a time limit is SolverFailed, never an unproven lineup."""
    ids = tuple(f"x{i:02d}" for i in range(30))
    salaries = tuple(int(s) for s in np.random.default_rng(3).integers(40, 121, 30) * 100)
    points = random_points(np.random.default_rng(4).uniform(5, 60, 30), 3_000, seed=5)
    settings = compile_rules(DRAFTKINGS, ids, salaries)
    with pytest.raises(SolverFailed, match="HiGHS stopped with status"):
        build_portfolio(points, settings, objective="upside", target=300.0, engine="milp", time_limit=1e-3)
