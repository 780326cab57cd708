"""Compare simulated race statistics with the archetype targets (docs/race-model.md), per archetype.

Runs the reference field (the shipped Bristol slate, raw inputs, no ratings) at each archetype's
median race length and prints simulated vs target for every statistic. With --search it also runs
a small deterministic coordinate search over the float parameters and prints suggested values;
it never edits files.

    PYTHONPATH=. .venv/bin/python scripts/tune_archetypes.py --n-scenarios 20000 --seed 1
    PYTHONPATH=. .venv/bin/python scripts/tune_archetypes.py --archetype road --search
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import jax

from core.scoring import DRAFTKINGS_SCORING
from core.sim import DEFAULT_PARAMS, driver_inputs, generate_scenarios, race_statistics
from core.sim._params import ArchetypeParams
from core.sitefiles import read_drivers_csv
from core.slate import Driver

REFERENCE_SLATE = Path(__file__).resolve().parents[1] / "data/samples/draftkings-bristol-2026.csv"
ARCHETYPES = ("short", "intermediate", "road", "superspeedway")
MEDIAN_LAPS = {"short": 400, "intermediate": 267, "road": 90, "superspeedway": 191}
# docs/race-model.md, "Archetype targets (Cup results 2017-2024)".
TARGETS = {
    "top1_share_laps_led": {"short": 0.45, "intermediate": 0.46, "road": 0.47, "superspeedway": 0.29},
    "leaders_per_race": {"short": 7.3, "intermediate": 9.1, "road": 7.3, "superspeedway": 16.3},
    "p_most_laps_wins": {"short": 0.37, "intermediate": 0.47, "road": 0.63, "superspeedway": 0.23},
    "dnf_rate": {"short": 0.11, "intermediate": 0.12, "road": 0.10, "superspeedway": 0.31},
    "dnf_dispersion": {"short": 2.0, "intermediate": 2.8, "road": 2.4, "superspeedway": 3.9},
    "spearman_start_finish": {
        "short": 0.58, "intermediate": 0.50, "road": 0.49, "superspeedway": 0.13,
    },
}  # fmt: skip
# Tolerances of tests/unit/test_archetypes.py: ("abs", x) or ("rel", fraction of the target).
TOLERANCES = {
    "top1_share_laps_led": ("abs", 0.06),
    "leaders_per_race": ("rel", 0.15),
    "p_most_laps_wins": ("abs", 0.06),
    "dnf_rate": ("abs", 0.025),
    "dnf_dispersion": ("rel", 0.35),
    "spearman_start_finish": ("abs", 0.06),
}
# Float parameters the search may move, with the multipliers it tries at each step.
SEARCH_FIELDS = (
    "dominance",
    "lead_pace_coupling",
    "dnf_hazard",
    "chaos_shape",
    "start_weight",
    "skill_weight",
)
SEARCH_STEPS = (0.8, 0.9, 1.1, 1.25)


def measure(
    drivers: Sequence[Driver], params: ArchetypeParams, archetype: str, n_scenarios: int, seed: int
) -> dict[str, float]:
    """Table statistics of n_scenarios races of the reference field with these parameters."""
    scenarios = generate_scenarios(
        driver_inputs(drivers, params, use_ratings=False),
        params,
        key=jax.random.key(seed),
        n_scenarios=n_scenarios,
        race_length=MEDIAN_LAPS[archetype],
        scoring=DRAFTKINGS_SCORING,
        driver_ids=[d.driver_id for d in drivers],
    )
    return race_statistics(scenarios).as_dict()


def tolerance(stat: str, archetype: str) -> float:
    """Absolute tolerance of one statistic for one archetype."""
    kind, size = TOLERANCES[stat]
    return size * TARGETS[stat][archetype] if kind == "rel" else size


def loss(stats: dict[str, float], archetype: str) -> float:
    """Sum of squared deviations from the table, each in units of its tolerance."""
    return sum(((stats[s] - TARGETS[s][archetype]) / tolerance(s, archetype)) ** 2 for s in TARGETS)


def format_rows(stats: dict[str, float], archetype: str) -> list[str]:
    """One line per statistic: simulated, target, deviation in tolerances, pass mark."""
    rows = []
    for stat, by_archetype in TARGETS.items():
        target = by_archetype[archetype]
        z = (stats[stat] - target) / tolerance(stat, archetype)
        mark = "ok" if abs(z) <= 1.0 else "OUT"
        rows.append(f"  {stat:<24}{stats[stat]:>9.3f}{target:>9.3f}{z:>+8.2f}  {mark}")
    return rows


def report(archetype: str, stats: dict[str, float], label: str = "") -> None:
    """Print the comparison table of one archetype."""
    header = f"  {'statistic':<24}{'sim':>9}{'target':>9}{'dev/tol':>8}"
    title = f"{archetype}{label} ({MEDIAN_LAPS[archetype]} laps)"
    print(f"{title}, loss {loss(stats, archetype):.2f}")
    print("\n".join([header, *format_rows(stats, archetype)]))


def search(
    drivers: Sequence[Driver], archetype: str, n_scenarios: int, seed: int, rounds: int
) -> ArchetypeParams:
    """Greedy coordinate search: per field, keep the multiplier that lowers the loss most."""
    best = DEFAULT_PARAMS[archetype]
    best_loss = loss(measure(drivers, best, archetype, n_scenarios, seed), archetype)
    for _ in range(rounds):
        improved = False
        for name in SEARCH_FIELDS:
            for step in SEARCH_STEPS:
                value = round(getattr(best, name) * step, 4)
                if name == "lead_pace_coupling" and not 0.0 <= value <= 1.0:
                    continue
                trial = dataclasses.replace(best, **{name: value})
                trial_loss = loss(measure(drivers, trial, archetype, n_scenarios, seed), archetype)
                if trial_loss < best_loss:
                    best, best_loss, improved = trial, trial_loss, True
        if not improved:
            break
    return best


def print_suggestion(archetype: str, params: ArchetypeParams) -> None:
    """Print the searched fields that differ from the defaults."""
    default = DEFAULT_PARAMS[archetype]
    changed = {n: getattr(params, n) for n in SEARCH_FIELDS if getattr(params, n) != getattr(default, n)}
    print(f"  suggested for {archetype}: {changed or 'no change'}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-scenarios", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--archetype", choices=ARCHETYPES, action="append")
    parser.add_argument("--search", action="store_true", help="coordinate search; prints values")
    parser.add_argument("--rounds", type=int, default=2, help="search rounds over all fields")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the comparison (and, with --search, suggested values) for each archetype."""
    args = parse_args(argv)
    drivers = read_drivers_csv(REFERENCE_SLATE)
    for archetype in args.archetype or ARCHETYPES:
        params = DEFAULT_PARAMS[archetype]
        report(archetype, measure(drivers, params, archetype, args.n_scenarios, args.seed))
        if args.search:
            found = search(drivers, archetype, args.n_scenarios, args.seed, args.rounds)
            stats = measure(drivers, found, archetype, args.n_scenarios, args.seed)
            report(archetype, stats, label=", searched")
            print_suggestion(archetype, found)
        print()


if __name__ == "__main__":
    main()
