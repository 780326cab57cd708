"""The upside objective really targets the tail: judged on FRESH scenarios (the real kernel).

Lineups are fitted on 4,000 scenarios (seed 1) and judged on 100,000 others (seed 2) against the
same target, so a lineup that only overfits the fitting scenarios' lucky draws gains nothing.
The slate is calibrated (the CLI's and the service's default): fitted ratings, and teammates who
share a pace shock in each race, which is what gives some lineups fatter upper tails than others.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.opt import LineupRules, Portfolio, build_portfolio, compile_rules
from core.run import run_simulation
from core.sitefiles import load_slate
from core.slate import DRAFTKINGS, sample_slate_path
from core.spec import ConstraintSpec
from tests.opt_helpers import cvar

MAX_OVERLAP = 3
N_LINEUPS = 20


@pytest.fixture(scope="module")
def fitted() -> tuple[np.ndarray, np.ndarray, LineupRules]:
    """(fitting points, fresh points, rules) for the shipped Bristol slate on DraftKings."""
    slate = load_slate(sample_slate_path(), "bristol")

    def simulate(n_scenarios: int, seed: int) -> tuple[tuple[str, ...], np.ndarray]:
        spec = ConstraintSpec.compile(
            slate.drivers, slate.track, site="draftkings", n_scenarios=n_scenarios, calibration_enabled=True
        )
        scenarios = run_simulation(spec, seed=seed).scenarios
        return scenarios.driver_ids, scenarios.points

    ids, fit = simulate(4_000, 1)
    fresh_ids, fresh = simulate(100_000, 2)
    assert fresh_ids == ids
    salary = {d.driver_id: d.salary for d in slate.drivers}
    rules = compile_rules(DRAFTKINGS, ids, [salary[i] for i in ids], max_overlap=MAX_OVERLAP)
    return fit, fresh, rules


def fresh_hits(fresh: np.ndarray, portfolio: Portfolio) -> np.ndarray:
    """(lineups, scenarios): whether each lineup reaches the portfolio's target in each fresh scenario."""
    return np.stack(
        [fresh[:, list(lineup.drivers)].sum(axis=1) >= portfolio.target for lineup in portfolio.lineups]
    )


def test_upside_lineup_beats_the_target_more_often_and_holds_on_fresh_scenarios(
    fitted: tuple[np.ndarray, np.ndarray, LineupRules],
) -> None:
    fit, fresh, rules = fitted
    mean = build_portfolio(fit, rules, objective="mean")
    upside = build_portfolio(fit, rules, objective="upside")
    assert upside.target == mean.target  # both default to the mean lineup's 99th percentile
    assert mean.lineups[0].p_beat_target == pytest.approx(0.01, abs=1e-3)
    mean_hits, upside_hits = fresh_hits(fresh, mean)[0], fresh_hits(fresh, upside)[0]
    mean_rate, upside_rate = mean_hits.mean(), upside_hits.mean()
    paired_se = np.sqrt(np.mean((upside_hits.astype(float) - mean_hits) ** 2) / len(mean_hits))
    # On the fitting scenarios the upside lineup reaches the target clearly more often; on fresh
    # ones it must be no worse. (The fit sees Bristol as one of the least predictable tracks, so
    # the best tail lineups are close on fresh scenarios: 0.0148 vs 0.0149 with the default ramp.
    # Plain hits, smoothing 0, overfit the 4,000 fitting scenarios: 0.0132, 3.6 standard errors
    # below; scripts/upside_smoothing.py gives every figure. The portfolio test below keeps the
    # strict claim on fresh ones.)
    assert upside.lineups[0].p_beat_target > mean.lineups[0].p_beat_target + 0.003
    assert upside_rate - mean_rate > -paired_se, (
        f"fresh P(reach {upside.target:.1f}): upside lineup {upside_rate:.4f} {upside.lineups[0].drivers}, "
        f"mean lineup {mean_rate:.4f} {mean.lineups[0].drivers} (fitted: "
        f"{upside.lineups[0].p_beat_target:.4f} vs {mean.lineups[0].p_beat_target:.4f})"
    )


def test_upside_portfolio_covers_more_fresh_scenarios_than_the_mean_portfolio(
    fitted: tuple[np.ndarray, np.ndarray, LineupRules],
) -> None:
    fit, fresh, rules = fitted
    mean = build_portfolio(fit, rules, objective="mean", n_lineups=N_LINEUPS)
    upside = build_portfolio(fit, rules, objective="upside", n_lineups=N_LINEUPS, target=mean.target)
    mean_rate = fresh_hits(fresh, mean).any(axis=0).mean()
    upside_rate = fresh_hits(fresh, upside).any(axis=0).mean()
    assert upside.p_any_beats_target >= mean.p_any_beats_target  # greedy coverage, on the fitting set
    assert upside_rate > mean_rate, (
        f"fresh P(any of {N_LINEUPS} reaches {mean.target:.1f}), max_overlap {MAX_OVERLAP}: upside "
        f"{upside_rate:.4f}, mean {mean_rate:.4f} (fitted: {upside.p_any_beats_target:.4f} vs "
        f"{mean.p_any_beats_target:.4f})"
    )


def test_floor_lineup_has_the_higher_fresh_lower_tail(
    fitted: tuple[np.ndarray, np.ndarray, LineupRules],
) -> None:
    fit, fresh, rules = fitted
    floor = build_portfolio(fit, rules, objective="floor").lineups[0]
    upside = build_portfolio(fit, rules, objective="upside").lineups[0]
    floor_cvar = float(cvar(fresh[:, list(floor.drivers)].sum(axis=1)))
    upside_cvar = float(cvar(fresh[:, list(upside.drivers)].sum(axis=1)))
    assert floor_cvar > upside_cvar, (
        f"fresh CVaR(20%): floor lineup {floor_cvar:.2f} {floor.drivers}, "
        f"upside {upside_cvar:.2f} {upside.drivers}"
    )
