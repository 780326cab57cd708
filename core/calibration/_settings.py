"""RatingSettings: the hyperparameters of the rating fits (docs/methods.md describes the fits)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ..errors import InvalidInput


@dataclass(frozen=True, slots=True)
class RatingSettings:
    """Hyperparameters of the fits, chosen on the 2022-2024 backtest (README: Calibration); the
    2019-2021 backtest, which played no part in choosing them, is the check that they carry over."""

    half_life_seasons: float = 1.0
    window_seasons: float = 6.0  # races older than this carry weight < 2**-6 and are skipped
    strength_precision: float = 3.0  # L2 precision of a driver's strength around its prior
    archetype_precision: float = 8.0  # L2 precision of a driver's per-archetype offset
    team_precision: float = 0.5  # L2 precision of a team's strength (its cars share equipment)
    # Weight of the order by average running position (loop data), a less noisy view of pace
    # than the finish, as a second Plackett-Luce ranking of the same race (0: finish only).
    running_order_weight: float = 1.0
    # At superspeedways the running order is drafting strategy (riding at the back until the end)
    # more than pace, so by default those races' running orders stay out of the fit.
    running_order_at_superspeedways: bool = False
    # The running order is a sharper view of pace than the finish: fit a scale per archetype on
    # its utilities (strengths stay on the finish's scale, which is what forecasts need).
    running_order_scale: bool = True
    # Multiplies fitted strengths in forecasts: the kernel adds regime noise and DNFs that the
    # fit does not see, and a sharpness below 1 keeps the forecast from being over-confident.
    sharpness: float = 1.0
    # L2 precision of the log of a track's scale (how predictable its races are within the
    # archetype; 0: every track of an archetype alike).
    track_precision: float = 4.0
    # A lineup set by the rulebook (history.rulebook_lineup) orders cars by recent results, not
    # by this weekend's speed: its start effect is fitted apart from qualified lineups'.
    rulebook_start: bool = True
    # A car's DNF rate rises toward the back of the grid (slow cars break, the back of the pack
    # wrecks more): fit a log-slope on the start position per archetype.
    dnf_by_start: bool = True
    # A driver's DNF ratio is shrunk toward 1 by a Gamma prior whose strength is fitted (how much
    # drivers' DNF rates differ, measured on the window); false: a fixed `dnf_pseudo` pseudo
    # expected DNFs (age-weighted) instead.
    dnf_pseudo_fitted: bool = True
    dnf_pseudo: float = 3.0
    lead_pseudo: float = 0.05  # pseudo race shares of laps led (fastest laps) behind "average"
    # Pseudo expected race shares behind a driver's overall dominance (speed) in his value on
    # ovals or road courses, and behind that value in his value at an archetype (see _laps).
    archetype_lead_pseudo: float = 0.25
    # Read a driver's share against the average share of his finishing position at the same
    # archetype (false: over all races).
    lead_by_archetype: bool = True
    # Fit how steeply fastest laps follow a race's pace, per archetype (false: kernel defaults).
    fit_fastest_lap_concentration: bool = True
    # The same for laps led (false: the kernel's `dominance` and drivers' dominance as fitted).
    fit_lead_concentration: bool = True
    dnf_pseudo_races: float = 2.0  # pseudo races behind each archetype's base rate
    dnf_track_pseudo_races: float = 3.0  # pseudo races (at the archetype's rate) behind a track's
    reverse_order: bool = True  # fit (and simulate) Plackett-Luce from the back of the field

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                continue
            if not math.isfinite(value) or value < 0:
                raise InvalidInput(f"settings.{f.name}", f"must be a finite number >= 0, got {value!r}")
        for name in ("half_life_seasons", "window_seasons", "sharpness"):
            if getattr(self, name) <= 0:
                raise InvalidInput(f"settings.{name}", f"must be > 0, got {getattr(self, name)!r}")
