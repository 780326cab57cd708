"""The race model for one scenario (docs/race-model.md), batched with vmap.

Every random number of scenario k comes from fold_in(key, k), so a scenario does not depend on
the batch it is drawn in. Integer bookkeeping is exact by construction: laps led are blocks that
tile the race, fastest laps are green laps split by systematic sampling (floors of a cumulative
sum that ends at exactly 1), and the kernel re-checks every axiom and reports violations as data.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from ..scoring import ScoringRules, fantasy_points
from ._params import MAX_CAUTIONS, ArchetypeParams, DriverInputs
from ._types import Key

GAMMA_TRIES = 6  # candidates of the chaos factor's rejection sampler (see _draw_gamma)
GAMMA_WORDS = 2 * GAMMA_TRIES + 1  # a normal and an acceptance uniform per try, one boost uniform
# On CPU, vmapping a whole chunk at once streams every per-driver intermediate through memory;
# sub-batches of this many scenarios keep them in cache. Accelerators take the whole chunk in one
# vmap. Measurements: docs/race-model.md, "Implementation notes".
CPU_SUB_BATCH = 4096
# XLA splits every reduction over more than 32 elements into a windowed pre-reduction and a
# reduce (its tree reduction rewriter, which keeps long float sums accurate). The kernel only
# reduces over drivers (at most 50), where those generic window loops run slowly on CPU and buy
# no accuracy; every result is the same bit for bit without them. Measurements:
# docs/race-model.md, "Implementation notes".
COMPILER_OPTIONS = {"xla_disable_hlo_passes": "tree_reduction_rewriter"}
_LOG_FACTORIALS = np.cumsum(np.log(np.maximum(np.arange(MAX_CAUTIONS + 1), 1))).astype(np.float32)

AXIOMS = (
    "finish_positions_are_a_permutation",
    "laps_led_sum_to_race_length",
    "no_lead_or_fastest_lap_after_leaving",
    "fastest_laps_sum_to_counted_laps",
    "dnf_behind_running_cars",
    "winner_ran_every_lap_and_led",
)


class Race(NamedTuple):
    """One scenario (or, batched, a chunk of them): per-driver outcomes and per-race facts."""

    finish_position: Int[Array, "*scenarios drivers"]
    laps_led: Int[Array, "*scenarios drivers"]
    fastest_laps: Int[Array, "*scenarios drivers"]
    laps_completed: Int[Array, "*scenarios drivers"]
    dnf: Bool[Array, "*scenarios drivers"]
    points: Float[Array, "*scenarios drivers"]
    regime: Int[Array, "*scenarios"]
    cautions: Int[Array, "*scenarios"]
    green_laps: Int[Array, "*scenarios"]
    violations: Int[Array, "*scenarios"]  # bit i set: AXIOMS[i] broken
    # Per-race sums behind the diagnostics, taken while the race is in cache.
    lap_leader_laps: Int[Array, "*scenarios"]  # laps led by the car that led most
    position_change: Int[Array, "*scenarios"]  # sum over drivers of |start - finish|


def _unit_interval(bits: Array, n_bits: int) -> Float[Array, ...]:
    """Uniforms strictly inside (0, 1) from the top n_bits of each word (exact in float32)."""
    scale = 2.0**-n_bits
    return (bits >> (32 - n_bits)).astype(jnp.float32) * scale + scale / 2


def _draw_regime(params: ArchetypeParams, u: Float[Array, ""]) -> Int[Array, ""]:
    cumulative = jnp.cumsum(jnp.asarray(params.regime_probs, jnp.float32))
    return jnp.minimum(jnp.sum(cumulative <= u * cumulative[-1]), len(params.regime_probs) - 1)


def _draw_gamma(shape: Float[Array, ""], bits: Int[Array, gamma_words]) -> Float[Array, ""]:
    """Gamma(shape, 1) by Marsaglia and Tsang's squeeze-free method, with GAMMA_TRIES candidates
    drawn at once instead of a rejection loop (a loop under vmap runs until the slowest scenario
    of the batch accepts). Shapes below 1 use Gamma(shape + 1) * U^(1/shape).

    Each candidate is accepted with probability at least 0.95 for every shape, so all of them are
    rejected with probability below 0.05^GAMMA_TRIES (2e-8); the chaos factor is then the
    distribution's mode-like value d = shape - 1/3 (shape >= 1) instead of a further draw.
    """
    u = _unit_interval(bits, 23)
    boosted = shape < 1.0
    d = jnp.where(boosted, shape + 1.0, shape) - 1.0 / 3.0
    c = 1.0 / jnp.sqrt(9.0 * d)
    half = GAMMA_TRIES // 2  # Box-Muller: two normals from each pair of uniforms
    radius = jnp.sqrt(-2.0 * jnp.log(u[:half]))
    angle = 2.0 * jnp.pi * u[half : 2 * half]
    x = jnp.concatenate([radius * jnp.cos(angle), radius * jnp.sin(angle)])
    v = (1.0 + c * x) ** 3
    log_v = jnp.log(jnp.maximum(v, 1e-30))
    accept = (v > 0) & (jnp.log(u[2 * half : 2 * half + GAMMA_TRIES]) < 0.5 * x**2 + d - d * v + d * log_v)
    first = jnp.argmax(accept)
    draw = jnp.where(jnp.any(accept), d * v[first], d)
    return jnp.where(boosted, draw * u[-1] ** (1.0 / shape), draw)


def _draw_cautions(rate: Float[Array, ""], u: Float[Array, ""]) -> Int[Array, ""]:
    """Poisson(rate) by inverse CDF over a fixed support: no data-dependent loop."""
    counts = jnp.arange(MAX_CAUTIONS + 1, dtype=jnp.float32)
    log_pmf = counts * jnp.log(jnp.maximum(rate, 1e-6)) - rate - _LOG_FACTORIALS
    return jnp.sum(_prefix_sum(jnp.exp(log_pmf)) < u).astype(jnp.int32)


def _ranks(order_key: Float[Array, drivers]) -> Int[Array, drivers]:
    """1-based rank by descending key, ties to the lower index: always a permutation.

    D^2 comparisons summed in int8 vectorise far better on CPU than a per-row sort; the sum runs
    along the last axis (a car's row of rivals), which XLA's CPU loops handle best.
    """
    n = order_key.shape[0]
    ahead_on_ties = jnp.arange(n)[None, :] < jnp.arange(n)[:, None]  # [i, j]: j listed before i
    mine, theirs = order_key[:, None], order_key[None, :]
    beats = (theirs > mine) | ((theirs == mine) & ahead_on_ties)
    return 1 + jnp.sum(beats, axis=1, dtype=jnp.int8).astype(jnp.int32)


def _finish_positions(
    running: Bool[Array, drivers], pace: Float[Array, drivers], exit_lap: Int[Array, drivers]
) -> Int[Array, drivers]:
    """Running cars by pace, then retired cars by exit lap (later is better), then by pace.

    Retired keys sit at least half a unit below the slowest running car: exit laps are whole
    units apart and the pace tie-break adds less than half a unit.
    """
    floor = jnp.min(pace) - 1.0
    retired_key = (
        floor - (jnp.max(exit_lap) - exit_lap).astype(jnp.float32) - 0.5 + 0.5 * jax.nn.sigmoid(pace)
    )
    return _ranks(jnp.where(running, pace, retired_key))


def _block_ends(spacings: Float[Array, blocks], laps: Int[Array, ""]) -> Int[Array, blocks]:
    """End laps of blocks with random lengths that tile the race; the last block has >= 1 lap."""
    cumulative = _prefix_sum(spacings)
    ends = jnp.floor(laps.astype(jnp.float32) * cumulative / cumulative[-1]).astype(jnp.int32)
    return jnp.minimum(ends, laps - 1).at[-1].set(laps)


def _cumulative_share(weights: Float[Array, drivers]) -> Float[Array, drivers]:
    """Cumulative share of the weights; the last entry is exactly 1 (cumsum[-1] / cumsum[-1])."""
    cumulative = _prefix_sum(weights)
    return cumulative / cumulative[-1]


def _prefix_sum(x: Float[Array, n]) -> Float[Array, n]:
    """Cumulative sum along the last axis as a product with an upper-triangular matrix of ones:
    on CPU a small matrix product is far cheaper than XLA's windowed cumsum."""
    n = x.shape[-1]
    upper = jnp.asarray(np.triu(np.ones((n, n), np.float32)))
    return jnp.matmul(x, upper, precision=jax.lax.Precision.HIGHEST)


def _draw(share: Float[Array, drivers], u: Float[Array, blocks]) -> Int[Array, blocks]:
    """Inverse CDF: the first driver whose cumulative share exceeds u (never one of weight zero).

    Counts the shares at or below u (blocks x drivers comparisons summed in int8), which
    vectorises well under vmap on CPU; a binary search is a loop of gathers, which does not.
    """
    return jnp.sum(share[None, :] <= u[:, None], axis=1, dtype=jnp.int8).astype(jnp.int32)


def _laps_led(
    lead_weight: Float[Array, drivers],
    u_lead: Float[Array, blocks],
    block_end: Int[Array, blocks],
    exit_lap: Int[Array, drivers],
    running: Bool[Array, drivers],
    winner: Bool[Array, drivers],
    laps: Int[Array, ""],
) -> Int[Array, drivers]:
    """Each block but the last goes to a car drawn by lead weight. If that car had retired before
    the block ended, the block is redrawn among the cars that finish the race, reusing where u fell
    inside the retired car's interval (a fresh uniform). The winner leads the last block; laps sum
    to the race length exactly."""
    share = _cumulative_share(lead_weight)
    u = u_lead[:-1]
    drawn = _draw(share, u)
    below = jnp.where(drawn > 0, share[jnp.maximum(drawn - 1, 0)], 0.0)
    within = jnp.clip((u - below) / jnp.maximum(share[drawn] - below, 1e-30), 0.0, 1.0 - 2.0**-24)
    finisher_share = _cumulative_share(lead_weight * running)
    leader = jnp.where(exit_lap[drawn] >= block_end[:-1], drawn, _draw(finisher_share, within))
    block_laps = jnp.diff(block_end, prepend=0)[:-1]
    led = jnp.zeros(lead_weight.shape[0], jnp.int32).at[leader].add(block_laps)
    return led + jnp.where(winner, laps - jnp.sum(led), 0)


def _counted_laps(green_laps: Int[Array, ""], share: float) -> Int[Array, ""]:
    """The green laps that count as someone's fastest lap (all of them at share 1)."""
    return jnp.floor(green_laps.astype(jnp.float32) * share + 0.5).astype(jnp.int32)


def _fastest_laps(
    speed_weight: Float[Array, drivers],
    u_phase: Float[Array, ""],
    exit_lap: Int[Array, drivers],
    winner: Bool[Array, drivers],
    green_laps: Int[Array, ""],
    laps: Int[Array, ""],
) -> Int[Array, drivers]:
    """The counted green laps (`green_laps` here) split by systematic sampling, weighted by
    speed x share of the race run.

    A retired car keeps at most the counted laps it was on track for (its exit lap's pro-rata
    share, never more than its laps run); what a cap removes goes to the winner, who ran every
    lap, so the total stays exactly the counted-lap count.
    """
    on_track = exit_lap / laps
    share = _cumulative_share(speed_weight * on_track)
    upper = jnp.floor(green_laps * share + u_phase).astype(jnp.int32)
    split = jnp.diff(upper, prepend=0)
    cap = (exit_lap * green_laps) // laps
    capped = jnp.minimum(split, cap)
    return capped + jnp.where(winner, green_laps - jnp.sum(capped), 0)


def _check_axioms(
    race_length: Int[Array, ""],
    counted_laps: Int[Array, ""],
    finish: Int[Array, drivers],
    laps_led: Int[Array, drivers],
    fastest: Int[Array, drivers],
    completed: Int[Array, drivers],
    running: Bool[Array, drivers],
) -> Int[Array, ""]:
    n = finish.shape[0]
    # Positions are a permutation iff n values in 1..n cover all n bits (two words for n <= 64).
    low = jnp.where(finish <= 32, jnp.uint32(1) << (finish - 1).astype(jnp.uint32), 0)
    high = jnp.where(finish > 32, jnp.uint32(1) << (finish - 33).astype(jnp.uint32), 0)
    in_range = jnp.all((finish >= 1) & (finish <= n))
    covered = (jnp.bitwise_or.reduce(low) == _bits_below(min(n, 32))) & (
        jnp.bitwise_or.reduce(high) == _bits_below(max(n - 32, 0))
    )
    winner = finish == 1
    last_running = jnp.max(jnp.where(running, finish, 0))
    first_retired = jnp.min(jnp.where(running, n + 1, finish))
    broken = jnp.stack(
        [
            ~(in_range & covered),
            jnp.sum(laps_led) != race_length,
            jnp.any((laps_led > completed) | (fastest > completed) | (laps_led < 0) | (fastest < 0)),
            jnp.sum(fastest) != counted_laps,
            last_running >= first_retired,
            ~jnp.any(winner & running & (completed == race_length) & (laps_led >= 1)),
        ]
    )
    return jnp.sum(broken.astype(jnp.int32) << jnp.arange(len(AXIOMS), dtype=jnp.int32))


def _bits_below(k: int) -> Array:
    return jnp.asarray((1 << k) - 1, dtype=jnp.uint32)


def simulate_race(
    drivers: DriverInputs,
    params: ArchetypeParams,
    race_length: Int[Array, ""],
    scoring: ScoringRules,
    *,
    key: Key,
) -> Race:
    """One race. `key` is the scenario's own key (fold_in of the run key and its index)."""
    n = drivers.strength.shape[0]
    n_blocks = params.n_blocks
    laps = jnp.asarray(race_length, jnp.int32)
    # Pace and the chaos factor need full-precision uniforms (Gumbel and normal tails); everything
    # else uses 16-bit halves.
    n_halves = n + 2 * n_blocks + 3
    n_words = (n_halves + 1) // 2
    bits = jax.random.bits(key, (n + n_words + GAMMA_WORDS,), jnp.uint32)
    words = bits[n : n + n_words]
    halves = jnp.concatenate([words >> 16, words & 0xFFFF])[:n_halves]
    u_pace = _unit_interval(bits[:n], 23)
    u_lead_noise = _unit_interval(bits[:n] << 23, 9)  # the 9 bits pace leaves unused
    u_dnf, u_spacing, u_lead, (u_regime, u_cautions, u_phase) = jnp.split(
        _unit_interval(halves << 16, 16), np.cumsum([n, n_blocks, n_blocks])
    )

    # 1. Regime. 2. Chaos (Gamma, mean 1) -> cautions (Poisson) -> caution laps.
    regime = _draw_regime(params, u_regime)
    shape = jnp.asarray(params.chaos_shape, jnp.float32)
    gamma = _draw_gamma(shape, bits[n + n_words :]) / shape
    chaos = jnp.asarray(params.regime_chaos)[regime] * gamma
    cautions = _draw_cautions(params.cautions_per_100_laps * laps / 100.0 * chaos, u_cautions)
    caution_laps = jnp.minimum(
        jnp.floor(cautions * params.laps_per_caution + 0.5).astype(jnp.int32), laps // 2
    )
    green_laps = laps - caution_laps

    # 3. DNFs; the conditional uniform u / p gives the exit lap. At least one car finishes.
    p_dnf = -jnp.expm1(-drivers.dnf_hazard * chaos)
    dnf = u_dnf < p_dnf
    exit_lap = jnp.minimum(jnp.floor(u_dnf / p_dnf * laps), laps - 1).astype(jnp.int32)
    exit_lap = jnp.where(dnf, exit_lap, laps)
    dnf = dnf & (jnp.any(~dnf) | (jnp.arange(n) != jnp.argmax(exit_lap)))
    running = ~dnf
    exit_lap = jnp.where(running, laps, exit_lap)

    # 4. Finishing order: Plackett-Luce by Gumbel perturbation of strength + start effect.
    start_score = 1.0 - (drivers.start_position - 1) / (n - 1)
    strength = drivers.strength + params.start_weight * start_score
    # Reverse Plackett-Luce negates the Gumbel noise; drawing it from 1 - u keeps it distributed
    # as a Gumbel for the minimum.
    reverse = jnp.asarray(params.reverse_order)
    gumbel = -jnp.log(-jnp.log(jnp.where(reverse, 1.0 - u_pace, u_pace)))
    pace = strength / jnp.asarray(params.regime_order_noise)[regime] + jnp.where(reverse, -gumbel, gumbel)
    if drivers.team_members is not None:  # teammates share a shock, drawn from a stream of its own
        n_teams = drivers.team_members.shape[1]
        shocks = params.team_shock * jax.random.normal(jax.random.fold_in(key, 2), (n_teams,))
        pace = pace + drivers.team_members @ shocks
    finish = _finish_positions(running, pace, exit_lap)
    winner = finish == 1

    # 5. Laps led: the lead score mixes this race's pace (coupling to the result) with the car's
    # strength and its own noise (dominant cars that do not win). 6. Fastest laps follow pace.
    coupling = params.lead_pace_coupling
    lead_score = coupling * pace + (1 - coupling) * (strength - jnp.log(-jnp.log(u_lead_noise)))
    dominance = params.dominance * jnp.asarray(params.regime_dominance)[regime]
    lead_weight = jnp.exp(dominance * (lead_score - jnp.max(lead_score)) + drivers.lead_bias)
    relative_pace = pace - jnp.max(pace)
    block_end = _block_ends(-jnp.log(u_spacing), laps)
    laps_led = _laps_led(lead_weight, u_lead, block_end, exit_lap, running, winner, laps)
    speed_weight = jnp.exp(params.fastest_lap_concentration * relative_pace + drivers.speed_bias)
    counted_laps = _counted_laps(green_laps, params.fastest_lap_share)
    fastest_laps = _fastest_laps(speed_weight, u_phase, exit_lap, winner, counted_laps, laps)

    # Laps completed: retired cars stop at their exit lap, running cars lose laps toward the back.
    depth = (finish - 1) / (n - 1)
    laps_down = jnp.floor(params.lapped_fraction * laps * depth**3).astype(jnp.int32)
    on_track = jnp.maximum(laps - laps_down, jnp.maximum(laps_led, fastest_laps))
    laps_completed = jnp.where(running, on_track, exit_lap)

    points = fantasy_points(
        scoring,
        finish_position=finish,
        start_position=drivers.start_position,
        laps_led=laps_led,
        fastest_laps=fastest_laps,
        laps_completed=laps_completed,
    )
    violations = _check_axioms(laps, counted_laps, finish, laps_led, fastest_laps, laps_completed, running)
    return Race(
        finish_position=finish.astype(jnp.int8),
        laps_led=laps_led.astype(jnp.int16),
        fastest_laps=fastest_laps.astype(jnp.int16),
        laps_completed=laps_completed.astype(jnp.int16),
        dnf=dnf,
        points=points.astype(jnp.float32),
        regime=regime.astype(jnp.int8),
        cautions=cautions.astype(jnp.int16),
        green_laps=green_laps.astype(jnp.int16),
        violations=violations.astype(jnp.uint8),
        lap_leader_laps=jnp.max(laps_led).astype(jnp.int16),
        position_change=jnp.sum(jnp.abs(drivers.start_position - finish)).astype(jnp.int16),
    )


@partial(jax.jit, static_argnames=("scoring", "sub_batch"), compiler_options=COMPILER_OPTIONS)
def simulate_chunk(
    drivers: DriverInputs,
    params: ArchetypeParams,
    race_length: Int[Array, ""],
    scenario_index: Int[Array, scenarios],
    *,
    key: Key,
    scoring: ScoringRules,
    sub_batch: int | None = None,
) -> Race:
    """Races for the given scenario indices; scenario k always uses fold_in(key, k).

    sub_batch: vmap this many scenarios at a time in a loop (None: the whole chunk at once). It
    changes speed only: every scenario is computed by the same per-scenario program.

    It carries XLA options (COMPILER_OPTIONS), so call it at the top level, not inside another
    jit; to build your own batched program, vmap `simulate_race`.
    """

    def one(index: Int[Array, ""]) -> Race:
        return simulate_race(drivers, params, race_length, scoring, key=jax.random.fold_in(key, index))

    if sub_batch is None or sub_batch >= scenario_index.shape[0]:
        return jax.vmap(one)(scenario_index)
    return cast(Race, jax.lax.map(one, scenario_index, batch_size=sub_batch))


def sub_batch_for(devices: Sequence[jax.Device]) -> int | None:
    """The sub-batch simulate_chunk should use on these devices (one CPU: CPU_SUB_BATCH)."""
    return CPU_SUB_BATCH if len(devices) == 1 and devices[0].platform == "cpu" else None
