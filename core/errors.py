"""The one error family of core. The service maps each class to an HTTP status in one place."""

from __future__ import annotations


class AxiomError(Exception):
    """Base class of every error core raises on purpose."""


class InvalidInput(AxiomError, ValueError):
    """Input that breaks a documented rule. `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class Infeasible(AxiomError):
    """A request that no scenario or lineup can satisfy (for example a condition almost nothing
    meets, or locks over the salary cap)."""


class SolverFailed(AxiomError):
    """The solver stopped without a usable answer (time limit, numerical failure)."""


class Cancelled(AxiomError):
    """The caller asked to stop; raised between chunks or solves, never mid-computation."""


class AxiomViolation(AxiomError):
    """A generated scenario broke a conservation law. This is a bug in the kernel, never the
    caller's fault; nothing computed from such a batch is returned."""
