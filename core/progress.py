"""The hooks a long computation takes from its caller: progress reports and a cancel check.

The scenario generator and the portfolio builder call them between chunks and solves, never in
the middle of one, so a caller (the CLI's progress bar, a job worker) sees steady progress and a
cancel takes effect within one chunk or solve.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None]  # (units done, units wanted): scenarios, lineups
ShouldCancel = Callable[[], bool]  # True: stop at the next chunk or solve with core.Cancelled
