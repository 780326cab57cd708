"""How much drivers' DNF rates differ, as the rating fit measures it at the start of each season.

The fit shrinks each driver's DNF ratio (DNFs over those expected from the tracks raced and the
places started) toward 1 by a Gamma(a, a) prior whose strength a it fits on the window
(core.calibration.fit_ratings, `dnf_pseudo_fitted`). 1 / sqrt(a) is the standard deviation of the
drivers' true ratios: how far a driver's DNF rate really strays from the field's beyond chance.

    PYTHONPATH=. .venv/bin/python scripts/dnf_prior.py --seasons 2019-2025
"""

from __future__ import annotations

import argparse
import math

from core.calibration import fit_ratings
from core.history import load_history, shared_logs_path, shared_results_path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seasons", default="2019-2025", help="fit as of the first race of each: FIRST-LAST")
    args = parser.parse_args()
    first, last = (int(part) for part in args.seasons.split("-"))
    results = shared_results_path()
    if results is None:
        raise SystemExit("needs ../shared/data beside the checkout")
    history = [r for r in load_history(results, shared_logs_path(), last_season=last - 1) if not r.exhibition]
    print(f"{'fit as of':>10} {'races':>6} {'prior a':>8} {'sd of ratios':>13}")
    for season in range(first, last + 1):
        table = fit_ratings([r for r in history if r.season < season], (season, 1))
        a = table.dnf_prior_strength
        if a is None:
            raise SystemExit("the fit used the fixed DNF prior (dnf_pseudo_fitted=false)")
        print(f"{season:>7}-01 {table.n_races:>6} {a:>8.1f} {1 / math.sqrt(a):>13.2f}")


if __name__ == "__main__":
    main()
