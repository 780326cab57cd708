"""Where the team shock comes from, and whether its estimator can be trusted.

1. History: per archetype, the correlation of running cars' finish residuals for teammates and
   for other pairs (core.calibration.teammate_correlations, unweighted over the seasons
   asked for), and the shock the fit would read from their difference.
2. Recovery: races simulated by the kernel from the calibrated Bristol sample with a known team
   shock, fed back to the same estimator.

    PYTHONPATH=. .venv/bin/python scripts/team_shocks.py --seasons 2019-2024 --races 400
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence

import jax
import numpy as np

from core.calibration import shock_for, team_shocks, teammate_correlations
from core.history import HistoricalRace, RaceEntry, load_history, shared_logs_path, shared_results_path
from core.run import archetype_params
from core.scoring import DRAFTKINGS_SCORING
from core.sim import driver_inputs, generate_scenarios
from core.sitefiles import load_slate
from core.slate import sample_slate_path
from core.spec import ConstraintSpec

RECOVERY_TRACK = "bristol"  # short: the archetype with the largest fitted shock
RECOVERY_SHOCKS = (0.0, 0.56, 1.0)


def history_table(first: int, last: int) -> None:
    results = shared_results_path()
    if results is None:
        raise SystemExit("needs ../shared/data beside the checkout")
    races = load_history(results, shared_logs_path(), first_season=first, last_season=last)
    print(f"history {first}-{last} ({len(races)} races): residual correlation of running cars")
    print(f"{'archetype':15} {'teammates':>10} {'others':>8} {'excess':>8} {'shock':>7}")
    for archetype, pair in teammate_correlations(races, np.ones(len(races))).items():
        if pair is None:
            print(f"{archetype:15} no pairs")
            continue
        excess = pair[0] - pair[1]
        print(f"{archetype:15} {pair[0]:10.3f} {pair[1]:8.3f} {excess:8.3f} {shock_for(excess):7.3f}")


def simulated_races(shock: float, n_races: int, seed: int) -> list[HistoricalRace]:
    slate = load_slate(sample_slate_path(), RECOVERY_TRACK)
    spec = ConstraintSpec.compile(slate.drivers, slate.track, n_scenarios=n_races, calibration_enabled=True)
    params = dataclasses.replace(archetype_params(spec), team_shock=shock)
    drivers = spec.field()
    laps = slate.track.laps
    scenarios = generate_scenarios(
        driver_inputs(drivers, params, use_ratings=True),
        params,
        key=jax.random.key(seed),
        n_scenarios=n_races,
        race_length=laps,
        scoring=DRAFTKINGS_SCORING,
        driver_ids=[d.driver_id for d in drivers],
    )
    races = []
    for k in range(n_races):
        entries = tuple(
            RaceEntry(
                driver=d.name,
                driver_key=d.driver_id,
                start=d.start_position,
                finish=int(scenarios.finish_position[k, i]),
                laps_completed=int(scenarios.laps_completed[k, i]),
                laps_led=int(scenarios.laps_led[k, i]),
                fastest_laps=int(scenarios.fastest_laps[k, i]),
                status="dnf" if scenarios.dnf[k, i] else "running",
                dnf=bool(scenarios.dnf[k, i]),
                team=d.ratings.team if d.ratings is not None else "",
            )
            for i, d in enumerate(drivers)
        )
        season, number = 2000 + k // 36, k % 36 + 1
        races.append(
            HistoricalRace(
                f"{season}-{number:02d}",
                season,
                number,
                None,
                slate.track.name,
                slate.track.track_id,
                slate.track.archetype,
                laps,
                False,
                entries,
            )  # fmt: skip
        )
    return races


def recovery_table(n_races: int, seed: int) -> None:
    print(f"\nrecovery: {n_races} kernel races of the calibrated {RECOVERY_TRACK} sample per shock")
    for shock in RECOVERY_SHOCKS:
        races = simulated_races(shock, n_races, seed)
        estimate = team_shocks(races, np.ones(len(races)))[races[0].archetype]
        print(f"true shock {shock:4.2f}  estimated {estimate:5.3f}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seasons", default="2019-2024", help="FIRST-LAST seasons of history")
    parser.add_argument("--races", type=int, default=400, help="simulated races per recovery check")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    first, _, last = args.seasons.partition("-")
    history_table(int(first), int(last or first))
    recovery_table(args.races, args.seed)


if __name__ == "__main__":
    main()
