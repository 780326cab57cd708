"""Hand-built cases where the two engines must agree, each aimed at one rule or definition."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import Infeasible, InvalidInput
from core.opt import DEFAULT_SMOOTHING, build_portfolio, compile_rules
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


def test_both_engines_optimise_the_smoothed_upside_and_refuse_negative_smoothing() -> None:
    """The default smoothing (a ramp around the target) and plain hits: the same lineups in both
    engines, lineup after lineup; a negative smoothing is refused."""
    ids = [f"d{i}" for i in range(9)]
    points = random_points(np.linspace(60, 10, 9), 200, seed=5)
    rules = compile_rules(DRAFTKINGS, ids, [4_000] * 9, max_overlap=4)
    with pytest.raises(InvalidInput, match="smoothing"):
        build_portfolio(points, rules, objective="upside", smoothing=-1.0)
    assert DEFAULT_SMOOTHING > 0
    for smoothing in (DEFAULT_SMOOTHING, 0.0):
        built = [
            build_portfolio(points, rules, objective="upside", n_lineups=3, engine=e, smoothing=smoothing)
            for e in ("milp", "auto")
        ]
        assert [lu.drivers for lu in built[0].lineups] == [lu.drivers for lu in built[1].lineups], smoothing
        assert built[0].lineups[0].mean == pytest.approx(built[1].lineups[0].mean, abs=1e-9)


def test_the_ramp_prefers_many_near_misses_to_a_few_lucky_hits() -> None:
    """Two rosters, hand-built (drivers 0..3 locked, scoring 0; driver 4 or 5 completes the
    roster), target 100 over 10 scenarios. A (driver 4) reaches it exactly in 2 scenarios and
    scores 0 in the rest; B (driver 5) scores 97 in 6, 0 in 4. Plain hits pick A (2 hits to 0).
    The ramp's width is smoothing x the standard deviation of the mean-optimal roster B's points,
    h = smoothing x 97 x sqrt(0.24): at smoothing 0.5 A's levels are 2 x floor(255 / 2) = 254 and
    B's 6 x floor(255 x (1/2 - 3 / h)) = 6 x 95 = 570, so B; both engines agree."""
    points = np.zeros((10, 6))
    points[:2, 4] = 100.0
    points[:6, 5] = 97.0
    ids = [f"d{i}" for i in range(6)]
    rules = compile_rules(FANDUEL, ids, [5_000] * 6, locks=ids[:4])
    width = 0.5 * 97.0 * np.sqrt(0.24)
    assert [np.floor(255 * (0.5 + (p - 100.0) / width)) for p in (100.0, 97.0)] == [127, 95]
    for engine in ("milp", "enumeration"):
        for smoothing, want in ((0.0, 4), (0.5, 5), (DEFAULT_SMOOTHING, 5)):
            built = build_portfolio(
                points, rules, objective="upside", target=100.0, smoothing=smoothing, engine=engine
            )
            assert built.lineups[0].drivers == (0, 1, 2, 3, want), (engine, smoothing)
