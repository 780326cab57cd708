"""The upside tests' setup at any smoothing: tests/unit/test_opt_upside.py (Bristol sample,
calibrated, DraftKings; fitted on 4,000 scenarios, judged on 100,000 fresh ones) for each
smoothing value given, so the default's choice in the README comes from a committed command.

    python scripts/upside_smoothing.py 0 0.1 0.2 0.3 0.5 [--fit-seed 1]

Per value: the single upside lineup against the mean lineup (P(reach the target) fitted and
fresh, the paired difference and its standard error), 20 lineups (overlap at most 3) against 20
mean lineups (fresh P(any reaches it)), and the fresh CVaR(20%) of the floor and upside lineups.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from core.opt import LineupRules, Portfolio, build_portfolio, compile_rules
from core.run import run_simulation
from core.sitefiles import load_slate
from core.slate import DRAFTKINGS, sample_slate_path
from core.spec import ConstraintSpec

N_FIT, N_FRESH, FIT_SEED, FRESH_SEED = 4_000, 100_000, 1, 2
N_LINEUPS, MAX_OVERLAP, TAIL = 20, 3, 0.2


def simulate(fit_seed: int) -> tuple[np.ndarray, np.ndarray, LineupRules]:
    slate = load_slate(sample_slate_path(), "bristol")
    points = []
    for n_scenarios, seed in ((N_FIT, fit_seed), (N_FRESH, FRESH_SEED)):
        spec = ConstraintSpec.compile(
            slate.drivers, slate.track, site="draftkings", n_scenarios=n_scenarios, calibration_enabled=True
        )
        scenarios = run_simulation(spec, seed=seed).scenarios
        points.append(np.asarray(scenarios.points, np.float64))
    salary = {d.driver_id: d.salary for d in slate.drivers}
    ids = scenarios.driver_ids
    rules = compile_rules(DRAFTKINGS, ids, [salary[i] for i in ids], max_overlap=MAX_OVERLAP)
    return points[0], points[1], rules


def reached(fresh: np.ndarray, portfolio: Portfolio) -> np.ndarray:
    """(lineups, fresh scenarios): plain hits of the portfolio's target."""
    return np.stack(
        [fresh[:, list(lineup.drivers)].sum(axis=1) >= portfolio.target for lineup in portfolio.lineups]
    )


def cvar(fresh: np.ndarray, drivers: tuple[int, ...]) -> float:
    totals = np.sort(fresh[:, list(drivers)].sum(axis=1))
    return float(totals[: math.ceil(TAIL * totals.size - 1e-9)].mean())


def report(fit: np.ndarray, fresh: np.ndarray, rules: LineupRules, smoothing: float) -> None:
    mean = build_portfolio(fit, rules, objective="mean")
    upside = build_portfolio(fit, rules, objective="upside", smoothing=smoothing)
    mean_hits, upside_hits = reached(fresh, mean)[0], reached(fresh, upside)[0]
    diff = upside_hits.astype(float) - mean_hits
    paired_se = math.sqrt(float(np.mean(diff**2)) / diff.size)
    many = {
        name: build_portfolio(
            fit, rules, objective=name, n_lineups=N_LINEUPS, target=mean.target, smoothing=smoothing
        )  # type: ignore[arg-type]
        for name in ("mean", "upside")
    }
    floor = build_portfolio(fit, rules, objective="floor").lineups[0]
    print(
        f"smoothing {smoothing}: lineup {upside.lineups[0].drivers} "
        f"fitted {upside.lineups[0].p_beat_target:.4f} "
        f"(mean lineup {mean.lineups[0].p_beat_target:.4f}); fresh {upside_hits.mean():.4f} vs "
        f"{mean_hits.mean():.4f}, difference {diff.mean():+.4f} ± {paired_se:.4f} "
        f"({diff.mean() / max(paired_se, 1e-12):+.1f} SE); {N_LINEUPS} lineups fresh P(any) "
        f"{reached(fresh, many['upside']).any(axis=0).mean():.4f} vs mean "
        f"{reached(fresh, many['mean']).any(axis=0).mean():.4f} (fitted "
        f"{many['upside'].p_any_beats_target:.4f} vs {many['mean'].p_any_beats_target:.4f}); fresh "
        f"CVaR floor {cvar(fresh, floor.drivers):.2f} vs upside {cvar(fresh, upside.lineups[0].drivers):.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("smoothing", type=float, nargs="*", default=[0.0, 0.1, 0.2, 0.3, 0.5])
    parser.add_argument("--fit-seed", type=int, default=FIT_SEED, help="the tests' 1; the fresh seed is 2")
    args = parser.parse_args()
    fit, fresh, rules = simulate(args.fit_seed)
    for smoothing in args.smoothing:
        report(fit, fresh, rules, smoothing)


if __name__ == "__main__":
    main()
