"""roi against the mean and upside portfolios out of sample, at any size: the setup of
tests/unit/test_contest.py::test_roi_portfolio_beats_mean_and_upside_out_of_sample (which calls
out_of_sample_profits at 2,000 / 2,000, seed 1) with the choosing and judging scenario counts as
arguments (the README's Contests section quotes it).

    python scripts/roi_out_of_sample.py talladega 8000 8000 [SEED]
"""

from __future__ import annotations

import math
import sys

import jax
import numpy as np

from core import ConstraintSpec, load_slate, run_simulation, sample_slate_path
from core.contest import (
    Contest,
    build_roi_portfolio,
    payout_table,
    project_ownership,
    simulate_contest,
    simulate_field,
)
from core.opt import build_portfolio, compile_rules
from core.slate import DRAFTKINGS

N_LINEUPS, ENTRIES, FEE = 10, 5_000, 20.0


def out_of_sample_profits(track: str, n_choose: int, n_judge: int, seed: int) -> dict[str, np.ndarray]:
    """Per judging scenario, the profit of the roi, mean and upside portfolios (10 lineups each),
    chosen on the first n_choose scenarios and one field, judged on the next n_judge and a field
    drawn with another key."""
    slate = load_slate(sample_slate_path(), track)
    spec = ConstraintSpec.compile(slate.drivers, slate.track, n_scenarios=n_choose + n_judge)
    points = np.asarray(run_simulation(spec, seed=seed).scenarios.points)
    choose, judge = points[:n_choose], points[n_choose:]
    ids = [d.driver_id for d in spec.field()]
    rules = compile_rules(DRAFTKINGS, ids, [d.salary for d in spec.field()])
    ownership = project_ownership(choose, rules, ids, key=jax.random.key(0))
    payouts = payout_table("gpp", ENTRIES, FEE)
    fields = [
        simulate_field(ownership, rules, ENTRIES - N_LINEUPS, key=jax.random.key(k), n_contests=4)
        for k in (1, 2)
    ]
    roi = build_roi_portfolio(choose, rules, Contest(fields[0], payouts, ownership), n_lineups=N_LINEUPS)
    portfolios = {"roi": list(roi.lineups)}
    for objective in ("mean", "upside"):
        built = build_portfolio(choose, rules, objective=objective, n_lineups=N_LINEUPS)
        portfolios[objective] = [lineup.drivers for lineup in built.lineups]
    return {
        name: simulate_contest(judge, rows, fields[1], payouts).profit.sum(axis=1)
        for name, rows in portfolios.items()
    }


def main(track: str, n_choose: int, n_judge: int, seed: int) -> None:
    profit = out_of_sample_profits(track, n_choose, n_judge, seed)
    for name, value in profit.items():
        print(f"{track} choose {n_choose} judge {n_judge} seed {seed}: {name} portfolio {value.mean():+.1f}")
    for baseline in ("mean", "upside"):
        gain = profit["roi"] - profit[baseline]
        se = gain.std(ddof=1) / math.sqrt(gain.size)
        print(
            f"{track} choose {n_choose} judge {n_judge} seed {seed}: "
            f"roi - {baseline} {gain.mean():+.1f} ± {se:.1f}"
        )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 1)
