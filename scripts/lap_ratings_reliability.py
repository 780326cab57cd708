"""Do drivers' fastest laps and laps led measure one trait across track types, or several?

Per archetype, each driver's log ratio of his share of a race's fastest laps (laps led) over the
average share of his finishing position at the archetype (the ratio behind the fitted speed and
dominance, core.calibration.lap_shares; pseudo-count 0.05 each side) is computed twice, from his
odd and his even races there. Their correlation over drivers, stepped up to the full count of
races (Spearman-Brown), is the reliability of that archetype's ratio: how much of its spread over
drivers is the driver rather than chance. The correlation of two archetypes' ratios over the
drivers with enough races at both, divided by the square root of the two reliabilities, is the
correlation of the drivers' true values there (disattenuated): near 1, one trait that a fit may
pool; near 0, two traits that it must keep apart.

    PYTHONPATH=. .venv/bin/python scripts/lap_ratings_reliability.py --seasons 2019-2024
"""

from __future__ import annotations

import argparse
import itertools
from collections import defaultdict

import numpy as np

from core.calibration import lap_shares
from core.history import load_history, shared_logs_path, shared_results_path
from core.slate import ARCHETYPES

PSEUDO = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seasons", default="2019-2024", help="FIRST-LAST")
    parser.add_argument("--min-races", type=int, default=16, help="a driver's races at an archetype to count")
    args = parser.parse_args()
    first, last = (int(part) for part in args.seasons.split("-"))
    results = shared_results_path()
    if results is None:
        raise SystemExit("needs ../shared/data beside the checkout")
    history = load_history(results, shared_logs_path(), first_season=first, last_season=last)
    races = [r for r in history if not r.exhibition]
    for column in ("fastest_laps", "laps_led"):
        report(column, *halves(races, column), args.min_races)


def halves(races: list, column: str) -> tuple[dict, dict, dict]:
    """Per driver, [archetype, half] sums of actual and expected shares, and races per archetype."""
    actual: dict[str, np.ndarray] = defaultdict(lambda: np.zeros((len(ARCHETYPES), 2)))
    expected: dict[str, np.ndarray] = defaultdict(lambda: np.zeros((len(ARCHETYPES), 2)))
    counts: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(ARCHETYPES), int))
    for key, a, _, share, average in lap_shares(races, np.ones(len(races)), column, True):
        half = counts[key][a] % 2
        actual[key][a, half] += share
        expected[key][a, half] += average
        counts[key][a] += 1
    return actual, expected, counts


def log_ratio(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    return np.log((actual + PSEUDO) / (expected + PSEUDO))


def report(column: str, actual: dict, expected: dict, counts: dict, min_races: int) -> None:
    reliability = {}
    print(f"{column}: reliability (drivers)")
    for a, name in enumerate(ARCHETYPES):
        keys = [k for k in counts if counts[k][a] >= min_races]
        odd, even = (np.array([log_ratio(actual[k][a, h], expected[k][a, h]) for k in keys]) for h in (0, 1))
        r = float(np.corrcoef(odd, even)[0, 1])
        reliability[a] = 2 * r / (1 + r)
        print(f"  {name:<14} {reliability[a]:.2f} ({len(keys)})")
    print(f"{column}: correlation between archetypes, raw and disattenuated (drivers)")
    for a, b in itertools.combinations(range(len(ARCHETYPES)), 2):
        keys = [k for k in counts if counts[k][a] >= min_races and counts[k][b] >= min_races]
        x, y = (np.array([log_ratio(actual[k][i].sum(), expected[k][i].sum()) for k in keys]) for i in (a, b))
        r = float(np.corrcoef(x, y)[0, 1])
        true = r / np.sqrt(reliability[a] * reliability[b])
        print(f"  {ARCHETYPES[a]:<14} {ARCHETYPES[b]:<14} {r:5.2f} {true:5.2f} ({len(keys)})")


if __name__ == "__main__":
    main()
