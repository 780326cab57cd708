"""Minimum exposures on the enumeration engine: the model's portfolio without prices, one at least as
good with them, and Infeasible naming the drivers whose minimums the lineups cannot meet."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import Cancelled, Infeasible
from core.opt import Portfolio, build_portfolio, compile_rules
from core.slate import DRAFTKINGS
from tests.opt_helpers import random_points

MAX_GAP = 0.001  # the enumeration engine's objective is never below the model's by more than this share

# A 40-driver DraftKings slate (3.6 million rosters, as the benchmark's): three of the best drivers
# the plain 12-lineup portfolio leaves out get a 30% minimum (4 lineups), and its three most used
# drivers a 20% maximum (2 lineups).
_RNG = np.random.default_rng(40)
IDS = tuple(f"d{i:02d}" for i in range(40))
SALARIES = tuple(int(s) for s in np.sort(_RNG.integers(45, 116, 40))[::-1] * 100)
POINTS = random_points(np.asarray(SALARIES) / 1000 * 4.6 + _RNG.normal(0, 3, 40), 400, seed=41)
MIN_EXPOSURE = {"d03": 0.3, "d05": 0.3, "d06": 0.3}
MAX_EXPOSURE = {"d18": 0.2, "d04": 0.2, "d38": 0.2}
N_LINEUPS = 12


def total_mean(portfolio: Portfolio) -> float:
    """The mean portfolio's objective: the sum of its lineups' mean points."""
    return float(sum(POINTS[:, list(lineup.drivers)].sum(axis=1).mean() for lineup in portfolio.lineups))


def exposure_counts(portfolio: Portfolio, n_drivers: int) -> np.ndarray:
    return np.bincount([i for lineup in portfolio.lineups for i in lineup.drivers], minlength=n_drivers)


def keeps_every_rule(portfolio: Portfolio) -> None:
    """Checked here from the slate's numbers, not by core's own checker."""
    sets = [set(lineup.drivers) for lineup in portfolio.lineups]
    assert len(sets) == N_LINEUPS
    for members in sets:
        assert len(members) == 6 and sum(SALARIES[i] for i in members) <= 50_000
    assert all(len(a & b) <= 4 for k, a in enumerate(sets) for b in sets[:k])
    counts = exposure_counts(portfolio, len(IDS))
    for driver, share in MIN_EXPOSURE.items():
        assert counts[IDS.index(driver)] >= np.ceil(share * N_LINEUPS), (driver, counts)
    for driver, share in MAX_EXPOSURE.items():
        assert counts[IDS.index(driver)] <= np.floor(share * N_LINEUPS), (driver, counts)


def test_forty_driver_slate_meets_the_model_within_the_gap() -> None:
    rules = compile_rules(
        DRAFTKINGS, IDS, SALARIES, max_overlap=4, min_exposure=MIN_EXPOSURE, max_exposure=MAX_EXPOSURE
    )
    model = build_portfolio(POINTS, rules, n_lineups=N_LINEUPS, engine="milp", driver_ids=IDS)
    unpriced = build_portfolio(POINTS, rules, n_lineups=N_LINEUPS, price_rounds=0, driver_ids=IDS)
    fast = build_portfolio(POINTS, rules, n_lineups=N_LINEUPS, driver_ids=IDS)
    assert fast.engine == unpriced.engine == "enumeration"
    for portfolio in (model, unpriced, fast):
        keeps_every_rule(portfolio)
    assert [lineup.drivers for lineup in unpriced.lineups] == [lineup.drivers for lineup in model.lineups]
    assert total_mean(fast) >= (1 - MAX_GAP) * total_mean(model)
    # The model meets the minimums in its last lineups (the last three hold all three drivers);
    # prices spread them over the portfolio, for more points in all (3,914.8 against 3,870.2 when
    # written).
    assert total_mean(fast) > total_mean(model) + 10


IDS_12 = tuple(f"d{i:02d}" for i in range(12))
SALARIES_12 = (11_000, 10_500, 10_000, 9_500, 9_000, 8_500, 8_000, 7_500, 7_000, 6_500, 6_000, 5_500)
POINTS_12 = random_points(np.linspace(50, 10, 12), 200, seed=7)
D08_HALF = compile_rules(DRAFTKINGS, IDS_12, SALARIES_12, max_overlap=4, min_exposure={"d08": 0.5})


def test_minimums_no_portfolio_can_meet_name_their_drivers() -> None:
    """Under a $45,000 cap d00 and d01 never share a lineup (46,500 with the four cheapest), yet 60%
    of 5 lineups each needs 6 of them; d05's 20% is not to blame."""
    rules = compile_rules(
        DRAFTKINGS, IDS_12, SALARIES_12, salary_cap=45_000, min_exposure={"d00": 0.6, "d01": 0.6, "d05": 0.2}
    )
    for engine in ("enumeration", "milp"):
        with pytest.raises(Infeasible, match=r"minimum exposures of \['d00', 'd01'\]") as caught:
            build_portfolio(POINTS_12, rules, n_lineups=5, engine=engine, driver_ids=IDS_12)  # type: ignore[arg-type]
        assert "no portfolio of 5 lineups keeps every rule" in str(caught.value), engine


def test_minimums_the_sequence_cannot_meet_in_a_large_portfolio_name_their_drivers() -> None:
    """150 lineups of 20 drivers are past the joint model's size; d00 and d01 again never share a
    lineup (46,100 with the four cheapest), and 60% each needs 180 of 150 lineups."""
    ids = tuple(f"d{i:02d}" for i in range(20))
    salaries = (11_000, 10_500, *range(9_000, 5_400, -200))
    rules = compile_rules(DRAFTKINGS, ids, salaries, salary_cap=45_000, min_exposure={"d00": 0.6, "d01": 0.6})
    points = random_points(np.linspace(50, 10, 20), 100, seed=8)
    with pytest.raises(Infeasible, match=r"minimum exposures of \['d00', 'd01'\]: from lineup \d+ on"):
        build_portfolio(points, rules, n_lineups=150, driver_ids=ids)


def test_prices_bring_a_minimum_in_early_where_it_costs_less() -> None:
    """Without prices a driver under its minimum enters only the last lineups; priced, it comes in
    earlier, in lineups where it costs less: the same exposure, more points."""
    unpriced = build_portfolio(POINTS_12, D08_HALF, n_lineups=8, price_rounds=0, driver_ids=IDS_12)
    priced = build_portfolio(POINTS_12, D08_HALF, n_lineups=8, driver_ids=IDS_12)
    assert [8 in lineup.drivers for lineup in unpriced.lineups] == [False] * 4 + [True] * 4
    holds = [8 in lineup.drivers for lineup in priced.lineups]
    assert sum(holds) == 4 and any(holds[:4])
    assert sum(lineup.mean for lineup in priced.lineups) > sum(lineup.mean for lineup in unpriced.lineups) + 5
    assert build_portfolio(POINTS_12, D08_HALF, n_lineups=8, driver_ids=IDS_12) == priced


def test_a_cancel_stops_the_priced_rounds() -> None:
    """The unpriced sequence asks once a lineup; each priced round after it asks again."""
    asked = []

    def should_cancel() -> bool:
        asked.append(True)
        return len(asked) > 9

    with pytest.raises(Cancelled, match="cancelled after 8 of 8 lineups"):
        build_portfolio(POINTS_12, D08_HALF, n_lineups=8, driver_ids=IDS_12, should_cancel=should_cancel)
