"""The upside objective's smoothed hit, in whole levels that both engines count alike.

A lineup scoring p points in a scenario hits the target t by k(p) = clip((p - t) / h + 1/2, 0, 1),
a linear ramp of width h (h = 0: the plain hit, p >= t). Both engines keep it as an integer level
floor(LEVELS x k(p)) and each scenario's open share (how far no earlier lineup reached it) as an
integer level too, so a lineup's score, the sum over scenarios of level x open level, is an integer
in both: the same number, whatever the order of the sums, and ties break the same way. Levels fit
in a byte, which bounds the enumeration engine's memory at one byte per lineup and scenario.
"""

from __future__ import annotations

import numpy as np

LEVELS = 255  # a full hit, and a scenario no lineup has reached yet


def ramp_levels(totals: np.ndarray, target: float, width: float, *, overwrite: bool = False) -> np.ndarray:
    """floor(LEVELS x k(p)) for every lineup total p, uint8, same shape; `overwrite` lets it use
    `totals` (float64) as its scratch space, which keeps a chunk of lineups to one float array.

    The MILP's levels are the largest integers with p >= t - h/2 + (h / LEVELS) x level, the same
    numbers (up to the solver's feasibility tolerance, 1e-7 points, at a level's edge).
    """
    if width == 0:
        plain: np.ndarray = np.where(totals >= target, LEVELS, 0).astype(np.uint8)
        return plain
    scaled = np.subtract(totals, target, out=totals if overwrite else None)
    scaled *= LEVELS / width
    scaled += LEVELS / 2
    np.clip(scaled, 0, LEVELS, out=scaled)
    levels: np.ndarray = scaled.astype(np.uint8)  # truncation: the floor, once clipped at 0
    return levels


def uncover(open_levels: np.ndarray, levels: np.ndarray) -> None:
    """A lineup with these levels reached each scenario that far: open <- floor(open x (LEVELS -
    level) / LEVELS), in place, in integers (open_levels int64)."""
    open_levels *= LEVELS - levels.astype(np.int64)
    open_levels //= LEVELS
