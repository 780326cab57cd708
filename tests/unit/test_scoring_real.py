"""DraftKings and FanDuel points for real Cup finishes, computed by hand.

Source rows: ../shared/data/zaxlab_race_logs/race-logs-2019-2024.csv (the only source with
reliable fastest-lap counts), copied here as literals so the test never reads ../shared.
All four rows are from the same race: 2024/03/17, Bristol Motor Speedway (Food City 500,
500 laps).

Rules (docs/race-model.md, "Scoring rules"):
  DraftKings Classic: finish points (1st 45, 2nd 42, 3rd..10th 41..34, 11th..20th 32..23,
    21st..30th 21..12, 31st..40th 10..1, below 40th 0) + (start - finish)
    + 0.25 per lap led + 0.45 per fastest lap.
  FanDuel: finish points (1st 43, 2nd 40, 3rd 38, then 41 - position, 40th 1, below 40th 0)
    + 0.5 * (start - finish) + 0.1 per lap led + 0.1 per lap completed; no fastest laps.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.scoring import draftkings_points, fanduel_points

# Each case: driver, start, finish, laps led, fastest laps, laps completed, status,
# expected DraftKings points, expected FanDuel points.
REAL_FINISHES = [
    # Race winner. Source row: Denny Hamlin, 2024/03/17, Bristol Motor Speedway,
    #   start 3, finish 1, laps_led 163, fastest_lap 49, laps 500, status running.
    # DK: 45 (1st) + (3 - 1) = 2 + 0.25 * 163 = 40.75 + 0.45 * 49 = 22.05
    #     = 45 + 2 + 40.75 + 22.05 = 109.80
    # FD: 43 (1st) + 0.5 * (3 - 1) = 1 + 0.1 * 163 = 16.3 + 0.1 * 500 = 50
    #     = 43 + 1 + 16.3 + 50 = 110.30
    ("Denny Hamlin", 3, 1, 163, 49, 500, "running", 109.80, 110.30),
    # Top-10 dominator. Source row: Ty Gibbs, 2024/03/17, Bristol Motor Speedway,
    #   start 19, finish 9, laps_led 137, fastest_lap 45, laps 499, status running.
    # DK: 35 (9th: 3rd 41, 4th 40, ..., 9th 35) + (19 - 9) = 10 + 0.25 * 137 = 34.25
    #     + 0.45 * 45 = 20.25  = 35 + 10 + 34.25 + 20.25 = 99.50
    # FD: 41 - 9 = 32 + 0.5 * 10 = 5 + 0.1 * 137 = 13.7 + 0.1 * 499 = 49.9
    #     = 32 + 5 + 13.7 + 49.9 = 100.60
    ("Ty Gibbs", 19, 9, 137, 45, 499, "running", 99.50, 100.60),
    # Mid-pack finisher who lost places. Source row: Joey Logano, 2024/03/17,
    #   Bristol Motor Speedway, start 4, finish 22, laps_led 5, fastest_lap 3, laps 498,
    #   status running.
    # DK: 20 (22nd: 21st 21, 22nd 20) + (4 - 22) = -18 + 0.25 * 5 = 1.25 + 0.45 * 3 = 1.35
    #     = 20 - 18 + 1.25 + 1.35 = 4.60
    # FD: 41 - 22 = 19 + 0.5 * (-18) = -9 + 0.1 * 5 = 0.5 + 0.1 * 498 = 49.8
    #     = 19 - 9 + 0.5 + 49.8 = 60.30
    ("Joey Logano", 4, 22, 5, 3, 498, "running", 4.60, 60.30),
    # DNF. Source row: Zane Smith, 2024/03/17, Bristol Motor Speedway, start 16, finish 36,
    #   laps_led 0, fastest_lap 3, laps 192, status engine.
    # DK: 5 (36th: 31st 10, 32nd 9, ..., 36th 5) + (16 - 36) = -20 + 0 + 0.45 * 3 = 1.35
    #     = 5 - 20 + 1.35 = -13.65
    # FD: 41 - 36 = 5 + 0.5 * (-20) = -10 + 0 + 0.1 * 192 = 19.2
    #     = 5 - 10 + 19.2 = 14.20
    ("Zane Smith", 16, 36, 0, 3, 192, "engine", -13.65, 14.20),
]

CASE_IDS = [case[0] for case in REAL_FINISHES]

# DraftKings finish points for positions 1..45, written out from the rule by hand.
DK_FINISH_POINTS = [
    45, 42,  # 1st, 2nd
    41, 40, 39, 38, 37, 36, 35, 34,  # 3rd..10th
    32, 31, 30, 29, 28, 27, 26, 25, 24, 23,  # 11th..20th
    21, 20, 19, 18, 17, 16, 15, 14, 13, 12,  # 21st..30th
    10, 9, 8, 7, 6, 5, 4, 3, 2, 1,  # 31st..40th
    0, 0, 0, 0, 0,  # 41st..45th
]  # fmt: skip

# FanDuel finish points for positions 1..45: 43, 40, 38, then 41 - position, 0 below 40th.
FD_FINISH_POINTS = [
    43, 40, 38,  # 1st..3rd
    37, 36, 35, 34, 33, 32, 31,  # 4th..10th
    30, 29, 28, 27, 26, 25, 24, 23, 22, 21,  # 11th..20th
    20, 19, 18, 17, 16, 15, 14, 13, 12, 11,  # 21st..30th
    10, 9, 8, 7, 6, 5, 4, 3, 2, 1,  # 31st..40th
    0, 0, 0, 0, 0,  # 41st..45th
]  # fmt: skip


@pytest.mark.parametrize(
    ("driver", "start", "finish", "led", "fastest", "completed", "status", "dk", "fd"),
    REAL_FINISHES,
    ids=CASE_IDS,
)
def test_draftkings_real_finish(driver, start, finish, led, fastest, completed, status, dk, fd):
    points = draftkings_points(
        finish_position=finish, start_position=start, laps_led=led, fastest_laps=fastest
    )
    assert float(np.asarray(points)) == pytest.approx(dk, abs=1e-4)


@pytest.mark.parametrize(
    ("driver", "start", "finish", "led", "fastest", "completed", "status", "dk", "fd"),
    REAL_FINISHES,
    ids=CASE_IDS,
)
def test_fanduel_real_finish(driver, start, finish, led, fastest, completed, status, dk, fd):
    points = fanduel_points(
        finish_position=finish, start_position=start, laps_led=led, laps_completed=completed
    )
    assert float(np.asarray(points)) == pytest.approx(fd, abs=1e-4)


def test_real_finishes_vectorised():
    """The same four rows scored as arrays give the same points, in order."""
    start, finish, led, fastest, completed = (
        np.array([case[i] for case in REAL_FINISHES]) for i in (1, 2, 3, 4, 5)
    )
    dk = draftkings_points(finish_position=finish, start_position=start, laps_led=led, fastest_laps=fastest)
    fd = fanduel_points(finish_position=finish, start_position=start, laps_led=led, laps_completed=completed)
    assert np.asarray(dk, dtype=float).tolist() == pytest.approx(
        [case[7] for case in REAL_FINISHES], abs=1e-4
    )
    assert np.asarray(fd, dtype=float).tolist() == pytest.approx(
        [case[8] for case in REAL_FINISHES], abs=1e-4
    )


def test_draftkings_finish_points_table():
    """start == finish and no laps: the points are the finish points alone."""
    assert len(DK_FINISH_POINTS) == 45
    positions = np.arange(1, 46)
    zeros = np.zeros(45, dtype=int)
    points = draftkings_points(
        finish_position=positions, start_position=positions, laps_led=zeros, fastest_laps=zeros
    )
    assert np.asarray(points, dtype=float).tolist() == pytest.approx(DK_FINISH_POINTS, abs=1e-4)


def test_fanduel_finish_points_table():
    """start == finish and no laps: the points are the finish points alone."""
    assert len(FD_FINISH_POINTS) == 45
    positions = np.arange(1, 46)
    zeros = np.zeros(45, dtype=int)
    points = fanduel_points(
        finish_position=positions, start_position=positions, laps_led=zeros, laps_completed=zeros
    )
    assert np.asarray(points, dtype=float).tolist() == pytest.approx(FD_FINISH_POINTS, abs=1e-4)
