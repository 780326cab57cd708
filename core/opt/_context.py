"""What one portfolio build works with: the points, the rules, the settings and the caller's hooks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import Cancelled
from ..progress import Progress, ShouldCancel
from ._rules import LineupRules


@dataclass(frozen=True)
class Context:
    points: np.ndarray
    rules: LineupRules
    n_lineups: int
    target: float
    tail: float
    time_limit: float
    progress: Progress | None
    should_cancel: ShouldCancel | None
    width: float = 0.0  # upside: the ramp's width in points (0: plain hits)
    driver_ids: tuple[str, ...] = ()
    price_rounds: int = 0

    def step(self, done: int) -> None:
        self.check_cancel(done)
        if self.progress is not None:
            self.progress(done, self.n_lineups)

    def check_cancel(self, done: int) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise Cancelled(f"cancelled after {done} of {self.n_lineups} lineups")

    def names(self, drivers: np.ndarray) -> list[str]:
        return [self.driver_ids[int(i)] for i in drivers]
