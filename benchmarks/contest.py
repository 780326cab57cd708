"""Contest speed: fields, contest metrics and roi portfolios on the 40-driver benchmark slate.

Run directly (never by the test suite):

    .venv/bin/python benchmarks/contest.py                 # 10,000 scenarios, 3 repeats
    .venv/bin/python benchmarks/contest.py --repeats 1 --out /tmp/c.json

The slate is benchmarks/optimizer.py's (the Bristol sample plus three synthetic backmarkers);
its scenarios come from the real kernel, simulated once and left out of the timings. Ownership is
projected from the scenarios. Every timing is the median of --repeats runs after one warm-up run
(whose extra time, JAX compilation mostly, is reported apart as *_compile_s):

- field_100k_s: simulate_field, 100,000 entries (one contest, Dirichlet on);
- roi_150_vs_20k_s: simulate_contest, 150 lineups (the mean portfolio, max_overlap 4) against a
  20,000-entry field (4 simulated contests) over 10,000 scenarios, gpp payouts;
- reference_s: the same contest by a straightforward NumPy implementation (per scenario: score
  the field, sort it, binary-search each lineup, split tied prizes); reference_matches says
  whether its profits equal simulate_contest's to the cent;
- roi_portfolio_150_s: build_roi_portfolio, 150 lineups, max_overlap 4, the same contest;
- peak_rss_gib: the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.optimizer import forty_driver_field  # noqa: E402
from core.contest import (  # noqa: E402
    Contest,
    build_roi_portfolio,
    payout_table,
    project_ownership,
    simulate_contest,
    simulate_field,
)
from core.opt import build_portfolio, compile_rules  # noqa: E402
from core.run import run_simulation  # noqa: E402
from core.slate import DRAFTKINGS, get_track  # noqa: E402
from core.spec import ConstraintSpec  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "contest.json"


def reference_profit(points: np.ndarray, lineups: np.ndarray, field: Any, payouts: Any) -> np.ndarray:
    """The contest the obvious way, one scenario at a time (profits, (scenarios, lineups))."""
    prizes = np.concatenate([[0.0], np.cumsum(payouts.prizes())])
    paid = prizes.size - 1
    hundredths = np.rint(points.astype(np.float64) * 100).astype(np.int64)
    n_scenarios = points.shape[0]
    profit = np.empty((n_scenarios, lineups.shape[0]))
    for s in range(n_scenarios):
        opponents = field.lineups[s * field.n_contests // n_scenarios].astype(np.int64)
        theirs = np.sort(hundredths[s, opponents].sum(axis=1))
        mine = hundredths[s, lineups].sum(axis=1)
        mine_sorted = np.sort(mine)
        above = theirs.size - np.searchsorted(theirs, mine, "right")
        above += mine.size - np.searchsorted(mine_sorted, mine, "right")
        tied = np.searchsorted(theirs, mine, "right") - np.searchsorted(theirs, mine, "left")
        tied += np.searchsorted(mine_sorted, mine, "right") - np.searchsorted(mine_sorted, mine, "left")
        won = (prizes[np.minimum(above + tied, paid)] - prizes[np.minimum(above, paid)]) / tied
        profit[s] = won - payouts.entry_fee
    return profit


def timings(call: Any, repeats: int) -> tuple[float, float, Any]:
    """(median seconds of `repeats` runs, warm-up run's extra seconds, last value)."""
    start = time.perf_counter()
    value = call()
    first = time.perf_counter() - start
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        value = call()
        runs.append(time.perf_counter() - start)
    median = statistics.median(runs)
    return median, max(0.0, first - median), value


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n-scenarios", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--roi-repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    drivers = forty_driver_field()
    spec = ConstraintSpec.compile(drivers, get_track("bristol"), n_scenarios=args.n_scenarios)
    points = np.asarray(run_simulation(spec, seed=2026).scenarios.points)
    ids = [d.driver_id for d in spec.drivers]
    rules = compile_rules(DRAFTKINGS, ids, [d.salary for d in spec.drivers])
    ownership = project_ownership(points, rules, ids, key=jax.random.key(0))
    payouts = payout_table("gpp", 20_150, 20.0)

    field_s, field_compile_s, _ = timings(
        lambda: simulate_field(ownership, rules, 100_000, key=jax.random.key(1)), args.repeats
    )
    field = simulate_field(ownership, rules, 20_000, key=jax.random.key(2), n_contests=4)
    rules4 = compile_rules(DRAFTKINGS, ids, [d.salary for d in spec.drivers], max_overlap=4)
    mean = build_portfolio(points, rules4, objective="mean", n_lineups=150)
    lineups = [lineup.drivers for lineup in mean.lineups]
    contest_s, contest_compile_s, result = timings(
        lambda: simulate_contest(points, lineups, field, payouts), args.repeats
    )
    start = time.perf_counter()
    reference = reference_profit(points, np.asarray(lineups, np.int64), field, payouts)
    reference_s = time.perf_counter() - start
    matches = bool(np.allclose(reference, result.profit, atol=0.005))
    contest = Contest(field, payouts, ownership)
    roi_s, roi_compile_s, roi = timings(
        lambda: build_roi_portfolio(points, rules4, contest, n_lineups=150), args.roi_repeats
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    record = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPU cores, shared with other "
        f"engineers' test runs while measured (load average {os.getloadavg()[0]:.1f} at the end)",
        "jax_backend": jax.default_backend(),
        "slate": "data/samples/draftkings-bristol-2026.csv + 3 synthetic backmarkers (40 drivers)",
        "n_scenarios": args.n_scenarios,
        "repeats": args.repeats,
        "field_100k_s": round(field_s, 3),
        "field_100k_compile_s": round(field_compile_s, 3),
        "roi_150_vs_20k_s": round(contest_s, 3),
        "roi_150_vs_20k_first_call_extra_s": round(contest_compile_s, 3),
        "reference_s": round(reference_s, 3),
        "reference_matches": matches,
        "roi_portfolio_150_s": round(roi_s, 3),
        "roi_portfolio_150_first_call_extra_s": round(roi_compile_s, 3),
        "roi_portfolio_candidates": roi.n_candidates,
        "mean_150_expected_profit": round(result.portfolio.expected_profit, 2),
        "roi_150_in_sample_expected_profit": round(roi.expected_profit, 2),
        "peak_rss_gib": round(peak, 3),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    for name, value in record.items():
        print(f"{name:40s} {value}")
    return record


if __name__ == "__main__":
    main()
