"""Integer seeds at the edge, PRNG keys inside: the one conversion between them."""

from __future__ import annotations

import jax

from ..errors import InvalidInput
from ._types import Key

MAX_SEED = 2**63 - 1  # fits a signed 64-bit integer in every client and database


def check_seed(seed: int) -> None:
    """Raise InvalidInput unless seed is an integer in [0, MAX_SEED]."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidInput("seed", f"must be an integer in [0, 2**63 - 1], got {seed!r}")


def run_key(seed: int) -> Key:
    """The run's PRNG key from an integer seed of up to 63 bits; seeds below 2**32 give key(seed)."""
    check_seed(seed)
    key = jax.random.key(seed & 0xFFFF_FFFF)
    return key if seed < 2**32 else jax.random.fold_in(key, seed >> 32)
