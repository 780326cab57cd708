"""The field: opponent lineups drawn the way people build them, pick by pick.

Each pick is a driver not yet in the lineup, drawn with weight proportional to its pick weight
among the drivers that still fit the cap (with the cheapest completion) and can still reach the
salary floor (with the dearest completion); when none can reach the floor, the floor is dropped
for that pick, never the cap. Drawing without replacement makes a driver's share of lineups
differ from its weight, so the weights are first fitted (iterative proportional fitting on a
pilot field) until the pilot's realised ownership matches the target. Each simulated contest
draws its own ownership vector from a Dirichlet around the target (the field's ownership is
uncertain; `concentration` sets how much) and scales the fitted weights by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ..errors import InvalidInput
from ..opt import LineupRules
from ._ownership import Ownership, field_floor

DEFAULT_CONCENTRATION = 300.0
MAX_FIELD = 500_000
PILOT_ENTRIES = 16_384
BLOCK = 8_192  # entries drawn per compiled call (one shape whatever the field size)
FIT_ROUNDS = 10


@dataclass(frozen=True, slots=True)
class Field:
    """Opponent lineups: (contests, entries, roster) driver indices, each row ascending."""

    lineups: np.ndarray
    salary_floor: int
    concentration: float | None

    @property
    def n_contests(self) -> int:
        return int(self.lineups.shape[0])

    @property
    def n_entries(self) -> int:
        return int(self.lineups.shape[1])

    def masks(self) -> np.ndarray:
        """(contests, entries) uint64: one bit per driver, so equal masks are duplicate lineups."""
        bits = np.left_shift(np.uint64(1), self.lineups.astype(np.uint64))
        masks: np.ndarray = np.bitwise_or.reduce(bits, axis=2)
        return masks

    def ownership(self) -> np.ndarray:
        """(contests, drivers) realised ownership in percent."""
        n_drivers = int(self.lineups.max()) + 1
        counts = np.stack([np.bincount(c.ravel(), minlength=n_drivers) for c in self.lineups])
        share: np.ndarray = 100.0 * counts / self.n_entries
        return share


def simulate_field(
    ownership: Ownership,
    rules: LineupRules,
    n_entries: int,
    *,
    key: Array,
    salary_floor: int | None = None,
    concentration: float | None = DEFAULT_CONCENTRATION,
    n_contests: int = 1,
) -> Field:
    """Draw n_contests fields of n_entries lineups each (module docstring: the method).

    Args:
        ownership: the target share of lineups per driver (drivers in the rules' order).
        rules: roster size, salary cap and salaries (the field ignores our locks and excludes).
        salary_floor: the least most entries spend; default 96% of the cap.
        concentration: Dirichlet concentration of each contest's ownership around the target;
            None: every contest uses the target exactly.
    """
    if not 1 <= n_entries <= MAX_FIELD:
        raise InvalidInput("field_size", f"must be in [1, {MAX_FIELD:,}], got {n_entries}")
    if concentration is not None and not concentration > 0:
        raise InvalidInput("concentration", f"must be positive, got {concentration}")
    target = ownership.shares()
    if target.shape[0] != rules.n_drivers:
        raise InvalidInput("ownership", f"has {target.shape[0]} drivers, the slate {rules.n_drivers}")
    floor = field_floor(rules, salary_floor)
    salaries = jnp.asarray(rules.salaries, jnp.int32)
    fit_key, draw_key = jax.random.split(key)
    log_weight = fit_weights(target, salaries, rules, floor, key=fit_key)
    contests = []
    for contest in range(n_contests):
        contest_key = jax.random.fold_in(draw_key, contest)
        share_key, pick_key = jax.random.split(contest_key)
        tilt = jnp.zeros_like(log_weight)
        if concentration is not None:
            drawn = jax.random.dirichlet(share_key, concentration * jnp.asarray(target, jnp.float32))
            tilt = jnp.log(jnp.maximum(drawn, 1e-30)) - jnp.log(jnp.asarray(target, jnp.float32))
        lineups, _ = draw(
            pick_key, log_weight + tilt, salaries, rules.salary_cap, floor, rules.roster_size, n_entries
        )
        contests.append(lineups)
    lineups = np.sort(np.stack([np.asarray(c) for c in contests]), axis=2).astype(np.int16)
    return Field(lineups=lineups, salary_floor=floor, concentration=concentration)


def fit_weights(target: np.ndarray, salaries: Array, rules: LineupRules, floor: int, *, key: Array) -> Array:
    """Log pick weights whose pilot field's ownership matches `target` (shares summing to 1).

    The pilot's ownership is the mean over its lineups of each pick's probabilities (not its
    realised picks): the same expectation with far less noise, so a small pilot fits closely.
    """
    goal = jnp.asarray(np.maximum(target, 1e-9), jnp.float32)
    log_weight = jnp.log(goal)
    for round_ in range(FIT_ROUNDS):
        _, chances = draw(jax.random.fold_in(key, round_), log_weight, salaries, rules.salary_cap, floor,
                          rules.roster_size, PILOT_ENTRIES)  # fmt: skip
        realised = chances / rules.roster_size
        log_weight = log_weight + jnp.log(goal / jnp.maximum(realised, 1e-9))
        log_weight = jnp.clip(log_weight - log_weight.max(), -60.0, 0.0)
    return log_weight


def draw(
    key: Array, log_weight: Array, salaries: Array, cap: int, floor: int, roster_size: int, n_entries: int
) -> tuple[np.ndarray, Array]:
    """n_entries lineups (entry e from fold_in(key, e), so blocks do not change the field), and
    each driver's mean pick probability summed over the picks."""
    lineups, chances = [], jnp.zeros(salaries.shape)
    for start in range(0, n_entries, BLOCK):
        block, block_chances = _draw_block(
            key, jnp.int32(start), log_weight, salaries, cap, floor, roster_size
        )
        lineups.append(np.asarray(block)[: n_entries - start])
        chances = chances + block_chances[: n_entries - start].sum(axis=0)
    return np.concatenate(lineups), chances / n_entries


@partial(jax.jit, static_argnames=("roster_size",))
def _draw_block(
    key: Array,
    start: Array,
    log_weight: Float[Array, " drivers"],
    salaries: Int[Array, " drivers"],
    cap: int,
    floor: int,
    roster_size: int,
) -> tuple[Int[Array, "entries roster"], Float[Array, "entries drivers"]]:
    order = jnp.argsort(salaries)
    keys = jax.vmap(lambda e: jax.random.fold_in(key, e))(start + jnp.arange(BLOCK))

    def one(k: Array) -> tuple[Array, Array]:
        return _one_lineup(k, log_weight, salaries, order, cap, floor, roster_size)

    drawn: tuple[Array, Array] = jax.vmap(one)(keys)
    return drawn


def _one_lineup(
    key: Array,
    log_weight: Float[Array, " drivers"],
    salaries: Int[Array, " drivers"],
    order: Int[Array, " drivers"],
    cap: int,
    floor: int,
    roster_size: int,
) -> tuple[Int[Array, " roster"], Float[Array, " drivers"]]:
    taken = jnp.zeros(salaries.shape, bool)
    chances = jnp.zeros(salaries.shape, jnp.float32)
    spent = jnp.int32(0)
    picks = []
    by_salary = salaries[order]
    for pick, pick_key in enumerate(jax.random.split(key, roster_size)):
        slots = roster_size - pick  # this pick and the ones after it
        free = ~taken[order]
        up = jnp.cumsum(free)  # rank among free drivers, cheapest first
        down = free.sum() - up + 1  # dearest first
        # The cheapest (dearest) completion of the slots after this one, without driver i: the
        # `slots` cheapest less i when i is among them, else the `slots - 1` cheapest.
        low = _completion(salaries, by_salary, free & (up <= slots), free & (up <= slots - 1), cheaper=True)
        high = _completion(
            salaries, by_salary, free & (down <= slots), free & (down <= slots - 1), cheaper=False
        )
        fits = ~taken & (spent + salaries + low <= cap)
        reaches = fits & (spent + salaries + high >= floor)
        allowed = jnp.where(reaches.any(), reaches, fits)
        logits = jnp.where(allowed, log_weight, -jnp.inf)
        chances = chances + jax.nn.softmax(logits)
        choice = jnp.argmax(logits + jax.random.gumbel(pick_key, salaries.shape))
        picks.append(choice)
        taken = taken.at[choice].set(True)
        spent = spent + salaries[choice]
    return jnp.stack(picks), chances


def _completion(
    salaries: Array, by_salary: Array, first_slots: Array, first_fewer: Array, *, cheaper: bool
) -> Array:
    with_i = jnp.where(first_slots, by_salary, 0).sum()
    without = jnp.where(first_fewer, by_salary, 0).sum()
    edge = jnp.where(first_slots, by_salary, 0 if cheaper else 2**30)
    edge = edge.max() if cheaper else edge.min()  # the slots-th cheapest (dearest) free salary
    among = salaries <= edge if cheaper else salaries >= edge
    return jnp.where(among, with_i - salaries, without)
