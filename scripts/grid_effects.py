"""What the starting grid says in real history (the numbers behind the README's grid changes).

1. Rulebook lineups: per season, how many points races have a lineup that follows the previous
   race's finish (core.history.rulebook_lineup), and the range of that correlation
   (core.history.lineup_correlation) for the flagged races and for the others.
2. DNFs by place on the grid: per archetype, the share of cars that retired, by starting
   position, in the seasons asked for.

    PYTHONPATH=. .venv/bin/python scripts/grid_effects.py --seasons 2022-2024
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from core.history import (
    HistoricalRace,
    lineup_correlation,
    load_history,
    shared_logs_path,
    shared_results_path,
)
from core.slate import ARCHETYPES

GRID_BUCKETS = ((1, 10), (11, 20), (21, 30), (31, 43))


def rulebook_table(races: list[HistoricalRace]) -> None:
    print("season  rulebook/races  correlation: rulebook        others")
    for season in sorted({r.season for r in races}):
        in_season = [r for r in races if r.season == season]
        flagged: list[float] = []
        others: list[float] = []
        for previous, race in zip(in_season, in_season[1:], strict=False):
            correlation = lineup_correlation(race, previous)
            if correlation is not None:
                (flagged if race.rulebook_lineup else others).append(correlation)
        print(
            f"{season}  {sum(r.rulebook_lineup for r in in_season):>8}/{len(in_season):<6}"
            f"  {_span(flagged):>22}  {_span(others):>12}"
        )


def _span(values: list[float]) -> str:
    return f"{min(values):.2f} to {max(values):.2f}" if values else "-"


def dnf_table(races: list[HistoricalRace]) -> None:
    counts: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for race in races:
        for e in race.entries:
            bucket = next(i for i, (lo, hi) in enumerate(GRID_BUCKETS) if lo <= e.start <= hi)
            for key in ((race.archetype, bucket), ("all", bucket)):
                counts[key][0] += e.dnf
                counts[key][1] += 1
    print("DNF share by start: " + "  ".join(f"{lo}-{hi}" for lo, hi in GRID_BUCKETS))
    for archetype in (*ARCHETYPES, "all"):
        shares = [counts[archetype, b][0] / max(counts[archetype, b][1], 1) for b in range(len(GRID_BUCKETS))]
        print(f"{archetype:15} " + "  ".join(f"{share:5.3f}" for share in shares))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seasons", default="2022-2024", help="seasons of the DNF table, e.g. 2022-2024")
    parser.add_argument("--from-season", type=int, default=2016, help="first season of the rulebook table")
    args = parser.parse_args()
    results = shared_results_path()
    if results is None:
        raise SystemExit("needs ../shared/data beside the checkout")
    first, _, last = args.seasons.partition("-")
    first_season, last_season = int(first), int(last or first)
    races = [
        r
        for r in load_history(results, shared_logs_path(), first_season=args.from_season)
        if not r.exhibition
    ]
    rulebook_table(races)
    print()
    dnf_table([r for r in races if first_season <= r.season <= last_season])
    print(f"(points races {first_season}-{last_season})")


if __name__ == "__main__":
    main()
