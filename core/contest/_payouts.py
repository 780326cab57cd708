"""Payout tables: entry fee, number of entries and places -> prize, from a CSV or a preset.

Presets follow the public shape of DraftKings NASCAR contests (DESIGN.md section 7; 2015-2026
lobbies): a tournament (`gpp`) pays about 20% of the field, first place takes about 12% of the
pool, prizes fall steeply at the top and flatten towards a min-cash of twice the fee, rake 15%.
A `single-entry gpp` pays 22% with a flatter top (first 8%), rake 15%. A `double-up` pays 45% of
the field twice the fee (rake 10%); a `50-50` pays half the field 1.8 times the fee (rake 10%);
`head-to-head` is two entries, the winner takes 1.8 times the fee.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InvalidInput

PRESETS = ("gpp", "single-entry gpp", "double-up", "50-50", "head-to-head")
MAX_ENTRIES = 500_000


@dataclass(frozen=True, slots=True)
class PayoutRow:
    """Places place_from..place_to (1-based, inclusive) each pay `prize`."""

    place_from: int
    place_to: int
    prize: float


@dataclass(frozen=True, slots=True)
class PayoutTable:
    """A contest's prizes. Validated on construction: places ascending and inside the field, no
    prize negative, and prizes adding up to no more than the entry fees collected."""

    entry_fee: float
    n_entries: int
    rows: tuple[PayoutRow, ...]

    def __post_init__(self) -> None:
        if not (math.isfinite(self.entry_fee) and self.entry_fee >= 0):
            raise InvalidInput("entry_fee", f"must be a non-negative number, got {self.entry_fee!r}")
        if not 2 <= self.n_entries <= MAX_ENTRIES:
            raise InvalidInput("field_size", f"must be in [2, {MAX_ENTRIES:,}], got {self.n_entries}")
        last = 0
        for row in self.rows:
            if not last < row.place_from <= row.place_to <= self.n_entries:
                raise InvalidInput(
                    "payouts",
                    f"places {row.place_from}-{row.place_to} must follow place {last} and stay within "
                    f"the {self.n_entries:,} entries",
                )
            if not (math.isfinite(row.prize) and row.prize >= 0):
                raise InvalidInput(
                    "payouts", f"prize of places {row.place_from}-{row.place_to} is {row.prize!r}"
                )
            last = row.place_to
        collected = self.entry_fee * self.n_entries
        if self.total_prizes > collected * (1 + 1e-9) + 1e-6:
            raise InvalidInput(
                "payouts",
                f"prizes add up to ${self.total_prizes:,.2f}, more than the ${collected:,.2f} of entry fees "
                f"collected ({self.n_entries:,} entries x ${self.entry_fee:,.2f})",
            )

    @property
    def total_prizes(self) -> float:
        return float(sum((row.place_to - row.place_from + 1) * row.prize for row in self.rows))

    @property
    def n_paid(self) -> int:
        return self.rows[-1].place_to if self.rows else 0

    def prizes(self) -> np.ndarray:
        """(n_paid,) the prize of each place, first place first."""
        out = np.zeros(self.n_paid)
        for row in self.rows:
            out[row.place_from - 1 : row.place_to] = row.prize
        return out

    def cumulative(self) -> np.ndarray:
        """(n_paid + 1,) float64: entry k is the prize money of places 1..k, so a tie block's split
        prize is one difference."""
        return np.concatenate([[0.0], np.cumsum(self.prizes())])


def payout_table(preset: str, n_entries: int, entry_fee: float) -> PayoutTable:
    """A preset's table for a field size and fee (module docstring: the shapes)."""
    if preset not in PRESETS:
        raise InvalidInput("payouts", f"unknown preset {preset!r}; expected one of {PRESETS} or a CSV file")
    if preset == "head-to-head":
        if n_entries != 2:
            raise InvalidInput("field_size", f"a head-to-head has 2 entries, got {n_entries}")
        return _flat(n_entries, entry_fee, 1, 1.8)
    if preset == "double-up":
        return _flat(n_entries, entry_fee, max(1, int(0.45 * n_entries)), 2.0)
    if preset == "50-50":
        return _flat(n_entries, entry_fee, max(1, n_entries // 2), 1.8)
    paid_share, top_share = (0.20, 0.12) if preset == "gpp" else (0.22, 0.08)
    return _tournament(n_entries, entry_fee, paid_share, top_share, rake=0.15)


def read_payouts(path: str | Path, n_entries: int, entry_fee: float) -> PayoutTable:
    """A table from a CSV of `place_from,place_to,prize` (the open GPP simulators' format)."""
    rows = []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"place_from", "place_to", "prize"} - set(reader.fieldnames or ())
        if missing:
            raise InvalidInput("payouts", f"{path}: missing columns {sorted(missing)}")
        for line, record in enumerate(reader, start=2):
            try:
                rows.append(
                    PayoutRow(int(record["place_from"]), int(record["place_to"]), float(record["prize"]))
                )
            except (TypeError, ValueError):
                raise InvalidInput("payouts", f"{path} line {line}: not a number in {record}") from None
    return PayoutTable(entry_fee=entry_fee, n_entries=n_entries, rows=tuple(rows))


def _flat(n_entries: int, entry_fee: float, n_paid: int, multiple: float) -> PayoutTable:
    return PayoutTable(entry_fee, n_entries, (PayoutRow(1, n_paid, round(multiple * entry_fee, 2)),))


def _tournament(
    n_entries: int, entry_fee: float, paid_share: float, top_share: float, rake: float
) -> PayoutTable:
    """prize(k) = min_cash + A (k^-alpha - M^-alpha) over M paid places: first place takes
    top_share of the pool, the last paid place the min-cash, and alpha (by bisection) makes the
    prizes add up to the pool."""
    pool = n_entries * entry_fee * (1 - rake)
    n_paid = max(1, int(paid_share * n_entries))
    if n_paid == 1:
        return PayoutTable(entry_fee, n_entries, (PayoutRow(1, 1, round(pool, 2)),))
    min_cash = min(2 * entry_fee, 0.5 * pool / n_paid)
    top = min(max(top_share * pool, 2 * min_cash), pool - (n_paid - 1) * min_cash)
    places = np.arange(1, n_paid + 1, dtype=np.float64)

    def prizes(alpha: float) -> np.ndarray:
        shape = places**-alpha - n_paid**-alpha
        curve: np.ndarray = min_cash + (top - min_cash) * shape / shape[0]
        return curve

    low, high = 1e-3, 20.0  # the total falls as alpha rises
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if prizes(mid).sum() > pool else (low, mid)
    cents = np.floor(prizes(high) * 100) / 100  # rounding down keeps the total within the pool
    return PayoutTable(entry_fee, n_entries, _rows(cents))


def _rows(prizes: np.ndarray) -> tuple[PayoutRow, ...]:
    """Places grouped into runs of equal prize."""
    rows: list[PayoutRow] = []
    start = 0
    for k in range(1, prizes.size + 1):
        if k == prizes.size or prizes[k] != prizes[start]:
            rows.append(PayoutRow(start + 1, k, float(prizes[start])))
            start = k
    return tuple(rows)
