"""Every LineupStats and Portfolio number equals a NumPy recomputation from the points matrix."""

from __future__ import annotations

import numpy as np
import pytest

from core.opt import build_portfolio, compile_rules
from core.slate import DRAFTKINGS
from tests.opt_helpers import random_points

IDS = tuple(f"d{i:02d}" for i in range(11))
SALARIES = (11_200, 10_400, 9_900, 9_300, 8_800, 8_100, 7_600, 7_000, 6_300, 5_700, 5_000)
POINTS = random_points(np.linspace(45, 12, 11), 257, seed=11)


@pytest.mark.parametrize("objective", ["mean", "upside", "floor"])
@pytest.mark.parametrize("engine", ["enumeration", "milp"])
def test_stats_match_a_recomputation(objective: str, engine: str) -> None:
    rules = compile_rules(DRAFTKINGS, IDS, SALARIES, max_overlap=4)
    portfolio = build_portfolio(POINTS, rules, objective=objective, n_lineups=5, engine=engine)  # type: ignore[arg-type]
    best_mean = max(
        (POINTS[:, list(lineup.drivers)].sum(axis=1) for lineup in portfolio.lineups), key=lambda t: t.mean()
    )
    hit = np.zeros(POINTS.shape[0], bool)
    for lineup in portfolio.lineups:
        assert list(lineup.drivers) == sorted(lineup.drivers)
        totals = POINTS[:, list(lineup.drivers)].sum(axis=1)
        assert lineup.salary == sum(SALARIES[i] for i in lineup.drivers)
        assert lineup.mean == pytest.approx(totals.mean(), abs=1e-9)
        assert lineup.std == pytest.approx(totals.std(), abs=1e-9)
        for name, q in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            assert getattr(lineup, name) == pytest.approx(np.quantile(totals, q), abs=1e-9), name
        assert lineup.p_beat_target == np.mean(totals >= portfolio.target)
        hit |= totals >= portfolio.target
    assert portfolio.p_any_beats_target == hit.mean()
    assert 0 < portfolio.p_any_beats_target < 1
    if objective == "mean":  # the default target: the mean lineup's 99th percentile
        assert portfolio.target == pytest.approx(np.quantile(best_mean, 0.99), abs=1e-9)
