"""Array type aliases with their shapes (jaxtyping), kept in one place."""

from __future__ import annotations

from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray, UInt8

DriverFloats = Float[Array, "drivers"]
DriverInts = Int[Array, "drivers"]
DriverBools = Bool[Array, "drivers"]
ScenarioFloats = Float[Array, "scenarios drivers"]
ScenarioInts = Int[Array, "scenarios drivers"]
ScenarioFlags = UInt8[Array, "scenarios"]
Key = PRNGKeyArray

__all__ = [
    "DriverBools",
    "DriverFloats",
    "DriverInts",
    "Key",
    "ScenarioFlags",
    "ScenarioFloats",
    "ScenarioInts",
]
