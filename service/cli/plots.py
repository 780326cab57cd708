"""Backtest figure: the PIT histogram of finishing positions, a reliability curve per archetype and
the per-driver residual check against its model-based null."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.calibration import TOP_N, BacktestReport, pit_deciles, reliability_curve
from core.slate import ARCHETYPES


def plot_backtest(report: BacktestReport, path: Path) -> None:
    """Write a PNG: left, the PIT histogram (model and start-only baseline); right, for each
    archetype, the forecast probability of a top-10 finish against how often it happened; third,
    per archetype, the (driver, archetype) groups whose mean residual has |t| > 2 against the
    null's median and 95th percentile."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (pit_axes, reliability_axes, residual_axes) = plt.subplots(1, 3, figsize=(16, 4.5), dpi=110)
    n_bins = 10
    centres = (np.arange(n_bins) + 0.5) / n_bins
    for offset, (model, label) in enumerate((("model", "Axiom"), ("start_only", "start-only"))):
        shares = pit_deciles(report.of(model), n_bins)
        pit_axes.bar(centres + (offset - 0.5) * 0.04, shares, width=0.04, label=label)
    pit_axes.axhline(1 / n_bins, color="black", linewidth=1)
    for bound in (0.8, 1.2):
        pit_axes.axhline(bound / n_bins, color="grey", linestyle=":", linewidth=1)
    pit_axes.set(
        title="PIT of finishing position (flat = calibrated; dotted: +-20%)",
        xlabel="PIT",
        ylabel="share of driver-races",
        xlim=(0, 1),
    )
    pit_axes.legend(loc="lower center")

    reliability_axes.plot([0, 1], [0, 1], color="black", linewidth=1)
    for archetype in ARCHETYPES:
        scores = report.of("model", archetype)
        if not scores:
            continue
        forecast = np.concatenate([s.top_probability for s in scores])
        happened = np.concatenate([s.top_outcome for s in scores])
        mean_forecast, frequency, counts = (np.asarray(x) for x in reliability_curve(forecast, happened))
        shown = counts > 0
        reliability_axes.plot(mean_forecast[shown], frequency[shown], marker="o", label=archetype)
    reliability_axes.set(
        title=f"Reliability of P(top-{TOP_N} finish)",
        xlabel="forecast probability",
        ylabel="observed frequency",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    reliability_axes.legend()
    _residual_panel(residual_axes, report.summary()["driver_residuals"])
    seasons = report.seasons
    figure.suptitle(
        f"Backtest {seasons[0]}-{seasons[1]}, params {report.params_version or 'fitted per race'}"
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def plot_contest(result: Any, drivers: Any, ownership: Any, points: Any, path: Path) -> None:
    """The portfolio's profit distribution, and each driver's ownership against mean points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from core.names import surname

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    profit = result.profit.sum(axis=1)
    left.hist(profit, bins=80, color="#3b6ea5")
    left.axvline(profit.mean(), color="black", linestyle="--", label=f"mean ${profit.mean():,.0f}")
    left.set_xlabel("portfolio profit per scenario ($)")
    left.set_ylabel("scenarios")
    left.set_yscale("log")
    left.legend()
    means = np.asarray(points).mean(axis=0)
    right.scatter(means, ownership.percent, color="#c0504d")
    for i, driver in enumerate(drivers):
        right.annotate(surname(driver.name), (means[i], ownership.percent[i]), fontsize=7)
    right.set_xlabel("mean points")
    right.set_ylabel(f"{ownership.source} ownership (%)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _residual_panel(axes: Any, residuals: dict[str, Any]) -> None:
    """Observed |t| > 2 counts (bars) per stat and archetype, the null's median (tick) and 95th
    percentile (top of the grey line): a bar above the line is a miscalibrated stat."""
    stats = ("fastest_laps", "laps_led", "dk_points")
    width = 0.8 / len(stats)
    for k, stat in enumerate(stats):
        counts = residuals[stat].get("by_archetype", {})
        x = np.arange(len(ARCHETYPES)) + (k - 1) * width
        observed = [counts.get(a, {}).get("observed", 0) for a in ARCHETYPES]
        axes.bar(x, observed, width=width * 0.9, label=stat.replace("_", " "))
        for xi, a in zip(x, ARCHETYPES, strict=True):
            null = counts.get(a)
            if null is not None:
                axes.plot([xi, xi], [0, null["null_p95"]], color="grey", linewidth=1)
                axes.plot([xi - width / 3, xi + width / 3], [null["null_median"]] * 2, color="black")
    axes.set_xticks(np.arange(len(ARCHETYPES)), ARCHETYPES)
    axes.set(
        title="Drivers with |t| > 2 (bars) vs null median (tick), p95 (line)",
        ylabel="(driver, archetype) groups",
    )
    axes.legend()
