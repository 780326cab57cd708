"""Hand-built cases where the two engines must agree, each aimed at one rule or definition."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import Infeasible, InvalidInput
from core.opt import build_portfolio, compile_rules
from core.slate import DRAFTKINGS, FANDUEL
from tests.opt_helpers import cvar, random_points


def test_floor_is_the_mean_of_the_worst_ceil_tail_scenarios_in_both_engines() -> None:
    """Six scenarios, tail 0.2: the worst ceil(1.2) = 2. Drivers 2..5 score 200 always, so only the
    rosters without driver 0 (worst totals 10, 100 above 800: CVaR 855) and without driver 1
    (30, 30: CVaR 830) matter. A Rockafellar-Uryasev model dividing by tail x S = 1.2 instead of 2
    weighs them as (10 + 0.2 x 100) / 1.2 = 25 < 30 and picks the wrong roster."""
    points = np.full((6, 6), 200.0)
    points[:, 0] = [30, 30, 200, 200, 200, 200]  # in the roster that leaves driver 1 out
    points[:, 1] = [10, 100, 200, 200, 200, 200]  # in the roster that leaves driver 0 out
    rules = compile_rules(FANDUEL, [f"d{i}" for i in range(6)], [5_000] * 6)
    want = (1, 2, 3, 4, 5)
    assert cvar(points[:, list(want)].sum(axis=1)) == pytest.approx(855.0)
    for engine in ("enumeration", "milp"):
        lineup = build_portfolio(points, rules, objective="floor", engine=engine).lineups[0]
        assert lineup.drivers == want, engine


def test_upside_portfolio_keeps_exposure_caps_from_the_first_lineup() -> None:
    """max_exposure 0.25 of 2 lineups is 0: the driver may not appear at all, first lineup included."""
    ids = [f"d{i}" for i in range(8)]
    points = random_points(np.linspace(60, 10, 8), 100, seed=2)
    rules = compile_rules(DRAFTKINGS, ids, [4_000] * 8, max_exposure={"d0": 0.25})
    for engine in ("enumeration", "milp"):
        portfolio = build_portfolio(points, rules, objective="upside", n_lineups=2, engine=engine)
        assert all(0 not in lineup.drivers for lineup in portfolio.lineups), engine


def test_exposure_caps_that_leave_too_few_drivers_raise_infeasible_in_both_engines() -> None:
    """Three of eight drivers capped to 0 lineups of 2 leave five for a six-driver roster."""
    ids = [f"d{i}" for i in range(8)]
    points = random_points(np.linspace(60, 10, 8), 100, seed=2)
    rules = compile_rules(DRAFTKINGS, ids, [4_000] * 8, max_exposure={"d0": 0.25, "d1": 0.25, "d2": 0.25})
    for engine in ("enumeration", "milp"):
        for objective in ("mean", "upside", "floor"):
            with pytest.raises(Infeasible):
                build_portfolio(points, rules, objective=objective, n_lineups=2, engine=engine)  # type: ignore[arg-type]


def test_default_target_ignores_portfolio_exposure_caps() -> None:
    """The default target is the 99th percentile of the mean-optimal lineup; a 50% cap over two
    lineups still lets the best driver into that lineup."""
    ids = [f"d{i}" for i in range(9)]
    points = random_points(np.linspace(60, 10, 9), 100, seed=4)
    plain = build_portfolio(points, compile_rules(DRAFTKINGS, ids, [4_000] * 9), n_lineups=1)
    capped = compile_rules(DRAFTKINGS, ids, [4_000] * 9, max_exposure={"d0": 0.5})
    assert 0 in plain.lineups[0].drivers
    for engine in ("enumeration", "milp"):
        portfolio = build_portfolio(points, capped, objective="upside", n_lineups=2, engine=engine)
        assert portfolio.target == pytest.approx(plain.target), engine


def test_the_model_refuses_a_smoothed_upside_and_both_engines_count_plain_hits_by_default() -> None:
    """The model counts plain hits; asked for a smoothed upside it says so instead of silently
    optimising another objective. Smoothing 0 is the default, the same in both engines."""
    ids = [f"d{i}" for i in range(9)]
    points = random_points(np.linspace(60, 10, 9), 200, seed=5)
    rules = compile_rules(DRAFTKINGS, ids, [4_000] * 9)
    with pytest.raises(InvalidInput, match="smoothing"):
        build_portfolio(points, rules, objective="upside", engine="milp", smoothing=0.3)
    with pytest.raises(InvalidInput, match="smoothing"):
        build_portfolio(points, rules, objective="upside", smoothing=-1.0)
    plain = [
        build_portfolio(points, rules, objective="upside", engine=e).lineups[0] for e in ("milp", "auto")
    ]
    assert plain[0].p_beat_target == plain[1].p_beat_target
    assert plain[0].mean == pytest.approx(plain[1].mean, abs=1e-9)  # ties go to the higher mean in both
