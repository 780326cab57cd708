"""Test fields and request bodies, shared by the fixtures, the golden outputs and the e2e tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.slate import Driver


def make_field(n_drivers: int, *, seed: int = 0) -> list[Driver]:
    """A random valid field: inputs in [0, 1], start positions a permutation, ids not in list order."""
    rng = np.random.default_rng(seed)
    starts = rng.permutation(n_drivers) + 1
    inputs = rng.random((n_drivers, 3))
    drivers = [
        Driver(
            driver_id=f"car-{(7 * i) % 101:03d}",
            name=f"Driver {i}",
            salary=int(5_000 + 100 * rng.integers(0, 60)),
            start_position=int(starts[i]),
            skill=float(inputs[i, 0]),
            aggression=float(inputs[i, 1]),
            shadow_risk=float(inputs[i, 2]),
        )
        for i in range(n_drivers)
    ]
    return [drivers[i] for i in rng.permutation(n_drivers)]


def driver_body(driver: Driver) -> dict[str, Any]:
    """A driver as the REST API's request takes it."""
    return {
        "driver_id": driver.driver_id,
        "name": driver.name,
        "salary": driver.salary,
        "start_position": driver.start_position,
        "skill": driver.skill,
        "aggression": driver.aggression,
        "shadow_risk": driver.shadow_risk,
    }
