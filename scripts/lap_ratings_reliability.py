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

First it prints the average share of some finishing positions at each archetype, the yardstick
of the ratios; with `--driver NAME`, that driver's races: his share, and his position's average
over all tracks and at the race's archetype.

    PYTHONPATH=. .venv/bin/python scripts/lap_ratings_reliability.py --seasons 2019-2024 \
        --driver "Shane van Gisbergen"
"""

from __future__ import annotations

import argparse
import itertools
from collections import defaultdict

import numpy as np

from core.calibration import lap_shares
from core.history import load_history, shared_logs_path, shared_results_path
from core.names import driver_key
from core.slate import ARCHETYPES

PSEUDO = 0.05
POSITIONS = (1, 5, 10, 20, 28, 35)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seasons", default="2019-2024", help="FIRST-LAST")
    parser.add_argument("--min-races", type=int, default=16, help="a driver's races at an archetype to count")
    parser.add_argument("--driver", default=None, help="list this driver's races")
    args = parser.parse_args()
    first, last = (int(part) for part in args.seasons.split("-"))
    results = shared_results_path()
    if results is None:
        raise SystemExit("needs ../shared/data beside the checkout")
    history = load_history(results, shared_logs_path(), first_season=first, last_season=last)
    races = [r for r in history if not r.exhibition]
    for column in ("fastest_laps", "laps_led"):
        yardstick(races, column, None if args.driver is None else driver_key(args.driver))
        report(column, *halves(races, column), args.min_races)


def yardstick(races: list, column: str, driver: str | None) -> None:
    """The average share of some finishing positions per archetype, and the driver's races."""
    weights = np.ones(len(races))
    own = lap_shares(races, weights, column, True)
    pooled = lap_shares(races, weights, column, False)
    average = {(s.archetype, s.finish): s.average for s in own}
    print(f"{column}: average share of a finishing position, %  ({' / '.join(map(str, POSITIONS))})")
    for a, name in enumerate(ARCHETYPES):
        print(f"  {name:<14} " + " / ".join(f"{100 * average.get((a, p), np.nan):.1f}" for p in POSITIONS))
    listed = [(s, p) for s, p in zip(own, pooled, strict=True) if s.driver_key == driver]
    if listed:
        print(f"  {driver}: archetype, finish, share %, average % over all tracks, at the archetype")
    for s, p in listed:
        print(f"    {ARCHETYPES[s.archetype]:<14} {s.finish:>3} {100 * s.share:5.1f} {100 * p.average:5.1f}"
              f" {100 * s.average:5.1f}")  # fmt: skip


def halves(races: list, column: str) -> tuple[dict, dict, dict]:
    """Per driver, [archetype, half] sums of actual and expected shares, and races per archetype."""
    actual: dict[str, np.ndarray] = defaultdict(lambda: np.zeros((len(ARCHETYPES), 2)))
    expected: dict[str, np.ndarray] = defaultdict(lambda: np.zeros((len(ARCHETYPES), 2)))
    counts: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(ARCHETYPES), int))
    for s in lap_shares(races, np.ones(len(races)), column, True):
        half = counts[s.driver_key][s.archetype] % 2
        actual[s.driver_key][s.archetype, half] += s.share
        expected[s.driver_key][s.archetype, half] += s.average
        counts[s.driver_key][s.archetype] += 1
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
