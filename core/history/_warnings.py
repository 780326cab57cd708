"""Warnings about the data: a load that goes on without part of a file says what it left out."""

from __future__ import annotations


class DataWarning(UserWarning):
    """The data was not all usable; what could be used was loaded. Issued with `warnings.warn`,
    so that a caller may print, record or escalate them (`warnings.simplefilter("error",
    DataWarning)` turns them into errors)."""


class SkippedRace(DataWarning):
    """A race of the results file that `load_history` left out, and why.

    Attributes:
        race_id: the race (`2025-20`).
        track: its track, as the file names it.
        path: the results file, as it was given.
        line: the line of the file that shows the problem (the race's first line when the
            problem is the race's, such as a track of unknown archetype).
        reason: what is wrong.
    """

    def __init__(self, race_id: str, track: str, path: str, line: int, reason: str) -> None:
        self.race_id = race_id
        self.track = track
        self.path = path
        self.line = line
        self.reason = reason
        super().__init__(f"{path} line {line}: race {race_id} ({track}) skipped: {reason}")

    def __reduce__(self) -> tuple[type[SkippedRace], tuple[str, str, str, int, str]]:
        # Rebuilt from its fields (pickle, copy): the base class would pass the message alone.
        return type(self), (self.race_id, self.track, self.path, self.line, self.reason)
