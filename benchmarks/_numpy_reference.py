"""The race model of docs/race-model.md in vectorised NumPy: a yardstick for the JAX kernel.

It follows core/sim/_kernel.py step by step (regime, Gamma chaos, Poisson cautions, caution laps,
DNFs with exit laps, Plackett-Luce order by Gumbel perturbation, laps led by blocks with a retired
car's block redrawn among the finishers, fastest laps by systematic sampling with the cap rule,
laps completed, fantasy points) but draws its random numbers from np.random.Generator(PCG64), so
it gives the same distribution, not the same scenarios. Work is vectorised over a chunk of
scenarios (no Python loop per scenario) and chunks bound the temporaries. Benchmarks use it for a
speed comparison and a distribution sanity check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.scoring import ScoringRules, fantasy_points
from core.sim import REGIMES, ArchetypeParams, DriverInputs

MAX_CAUTIONS = 63  # the kernel's Poisson support ends here
DEFAULT_CHUNK_SIZE = 4_096  # fits in cache: faster than larger chunks on CPU


@dataclass(frozen=True, slots=True)
class ReferenceRaces:
    """Scenarios x drivers host arrays with the names and dtypes of core.sim.ScenarioSet."""

    start_position: np.ndarray
    race_length: int
    points: np.ndarray
    finish_position: np.ndarray
    laps_led: np.ndarray
    fastest_laps: np.ndarray
    laps_completed: np.ndarray
    dnf: np.ndarray
    regime: np.ndarray
    cautions: np.ndarray
    green_laps: np.ndarray

    @property
    def n_scenarios(self) -> int:
        return int(self.points.shape[0])


def simulate_reference(
    drivers: DriverInputs,
    params: ArchetypeParams,
    *,
    race_length: int,
    scoring: ScoringRules,
    n_scenarios: int,
    seed: int,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> ReferenceRaces:
    """n_scenarios races, chunk by chunk, into preallocated host arrays (as generate_scenarios)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    inputs = _Inputs.from_driver_inputs(drivers, params)
    n = inputs.strength.shape[0]
    out = {
        "points": np.empty((n_scenarios, n), np.float32),
        "finish_position": np.empty((n_scenarios, n), np.int8),
        "laps_led": np.empty((n_scenarios, n), np.int16),
        "fastest_laps": np.empty((n_scenarios, n), np.int16),
        "laps_completed": np.empty((n_scenarios, n), np.int16),
        "dnf": np.empty((n_scenarios, n), np.bool_),
        "regime": np.empty(n_scenarios, np.int8),
        "cautions": np.empty(n_scenarios, np.int16),
        "green_laps": np.empty(n_scenarios, np.int16),
    }
    for first in range(0, n_scenarios, chunk_size):
        size = min(chunk_size, n_scenarios - first)
        chunk = _simulate_chunk(inputs, params, race_length, scoring, size, rng)
        for name, values in chunk.items():
            out[name][first : first + size] = values
    return ReferenceRaces(inputs.start_position.astype(np.int16), race_length, **out)


@dataclass(frozen=True, slots=True)
class _Inputs:
    start_position: np.ndarray
    strength: np.ndarray  # with the start-position effect added
    lead_bias: np.ndarray
    speed_bias: np.ndarray
    dnf_hazard: np.ndarray

    @classmethod
    def from_driver_inputs(cls, drivers: DriverInputs, params: ArchetypeParams) -> _Inputs:
        start = np.asarray(drivers.start_position, np.int64)
        n = start.shape[0]
        start_score = 1.0 - (start - 1) / (n - 1)
        return cls(
            start_position=start,
            strength=np.asarray(drivers.strength, np.float64) + params.start_weight * start_score,
            lead_bias=np.asarray(drivers.lead_bias, np.float64),
            speed_bias=np.asarray(drivers.speed_bias, np.float64),
            dnf_hazard=np.asarray(drivers.dnf_hazard, np.float64),
        )


def _simulate_chunk(
    inputs: _Inputs,
    params: ArchetypeParams,
    laps: int,
    scoring: ScoringRules,
    s: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    n = inputs.strength.shape[0]
    rows = np.arange(s)

    # 1. Regime. 2. Chaos (Gamma, mean 1) -> cautions (Poisson, capped) -> caution laps.
    cumulative = np.cumsum(params.regime_probs)
    u_regime = rng.random(s)
    regime = (cumulative[None, :] <= u_regime[:, None] * cumulative[-1]).sum(axis=1)
    regime = np.minimum(regime, len(REGIMES) - 1)
    gamma = rng.standard_gamma(params.chaos_shape, s) / params.chaos_shape
    chaos = np.asarray(params.regime_chaos)[regime] * gamma
    cautions = np.minimum(rng.poisson(params.cautions_per_100_laps * laps / 100.0 * chaos), MAX_CAUTIONS)
    caution_laps = np.minimum(np.floor(cautions * params.laps_per_caution + 0.5).astype(np.int64), laps // 2)
    green_laps = laps - caution_laps

    # 3. DNFs, exit lap from the conditional uniform u / p; at least one car finishes (the one
    # with the latest exit lap is kept running).
    u_dnf = rng.random((s, n))
    p_dnf = -np.expm1(-inputs.dnf_hazard[None, :] * chaos[:, None])
    dnf = u_dnf < p_dnf
    exit_lap = np.where(dnf, np.minimum(np.floor(u_dnf / p_dnf * laps), laps - 1), laps).astype(np.int64)
    all_out = np.flatnonzero(dnf.all(axis=1))
    dnf[all_out, exit_lap[all_out].argmax(axis=1)] = False
    running = ~dnf
    exit_lap = np.where(running, laps, exit_lap)

    # 4. Finishing order: running cars by Gumbel-perturbed pace (Plackett-Luce), then retired cars
    # by exit lap (later is better), ties by pace.
    noise = np.asarray(params.regime_order_noise)[regime]
    pace = inputs.strength[None, :] / noise[:, None] + rng.gumbel(size=(s, n))
    floor = pace.min(axis=1, keepdims=True) - 1.0
    latest = exit_lap.max(axis=1, keepdims=True)
    retired_key = floor - (latest - exit_lap) - 0.5 + 0.5 / (1.0 + np.exp(-pace))
    order = np.argsort(-np.where(running, pace, retired_key), axis=1, kind="stable")
    finish = np.empty((s, n), np.int64)
    np.put_along_axis(finish, order, np.arange(1, n + 1)[None, :], axis=1)
    winner = order[:, 0]

    # 5. Laps led by blocks; blocks of retired cars are redrawn among the finishers.
    coupling = params.lead_pace_coupling
    lead_score = coupling * pace + (1 - coupling) * (inputs.strength[None, :] + rng.gumbel(size=(s, n)))
    dominance = params.dominance * np.asarray(params.regime_dominance)[regime]
    lead_score -= lead_score.max(axis=1, keepdims=True)
    lead_weight = np.exp(dominance[:, None] * lead_score + inputs.lead_bias[None, :])
    block_end = _block_ends(rng.standard_exponential((s, params.n_blocks)), laps)
    u_lead = rng.random((s, params.n_blocks - 1))
    laps_led = _laps_led(lead_weight, u_lead, block_end, exit_lap, running, winner, laps)

    # 6. Fastest laps by systematic sampling, capped by the share of the race each car ran.
    speed_weight = np.exp(
        params.fastest_lap_concentration * (pace - pace.max(axis=1, keepdims=True)) + inputs.speed_bias
    )
    share = _cumulative_share(speed_weight * (exit_lap / laps))
    upper = np.floor(green_laps[:, None] * share + rng.random(s)[:, None]).astype(np.int64)
    split = np.diff(upper, axis=1, prepend=0)
    fastest = np.minimum(split, exit_lap * green_laps[:, None] // laps)
    fastest[rows, winner] += green_laps - fastest.sum(axis=1)

    # Laps completed: retired cars stop at their exit lap, running cars lose laps toward the back.
    depth = (finish - 1) / (n - 1)
    laps_down = np.floor(params.lapped_fraction * laps * depth**3).astype(np.int64)
    on_track = np.maximum(laps - laps_down, np.maximum(laps_led, fastest))
    completed = np.where(running, on_track, exit_lap)
    points = fantasy_points(
        scoring,
        finish_position=finish,
        start_position=inputs.start_position[None, :],
        laps_led=laps_led,
        fastest_laps=fastest,
        laps_completed=completed,
    )
    return {
        "points": points,
        "finish_position": finish,
        "laps_led": laps_led,
        "fastest_laps": fastest,
        "laps_completed": completed,
        "dnf": dnf,
        "regime": regime,
        "cautions": cautions,
        "green_laps": green_laps,
    }


def _cumulative_share(weights: np.ndarray) -> np.ndarray:
    cumulative = np.cumsum(weights, axis=1)
    return cumulative / cumulative[:, -1:]


def _block_ends(spacings: np.ndarray, laps: int) -> np.ndarray:
    """End laps of blocks that tile the race; the last block ends at the last lap."""
    ends = np.floor(laps * _cumulative_share(spacings)).astype(np.int64)
    ends = np.minimum(ends, laps - 1)
    ends[:, -1] = laps
    return ends


def _draw(share: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse CDF per row: the first driver whose cumulative share exceeds u.

    One searchsorted for all rows: row r's shares live in (r, r + 1], its draws in (r, r + 1).
    """
    s, n = share.shape
    offsets = np.arange(s, dtype=np.float64)[:, None]
    found = np.searchsorted((share + offsets).ravel(), (u + offsets).ravel(), side="right")
    return np.minimum(found.reshape(u.shape) - np.arange(s)[:, None] * n, n - 1)


def _laps_led(
    lead_weight: np.ndarray,
    u_lead: np.ndarray,
    block_end: np.ndarray,
    exit_lap: np.ndarray,
    running: np.ndarray,
    winner: np.ndarray,
    laps: int,
) -> np.ndarray:
    """Every block but the last goes to a car drawn by lead weight; a car that retired before the
    block ended hands it to a car redrawn among the finishers, reusing where u fell inside the
    retired car's interval. The winner leads the last block and every lap not given away, so each
    row sums to `laps` exactly."""
    s, n = lead_weight.shape
    rows = np.arange(s)[:, None]
    share = _cumulative_share(lead_weight)
    drawn = _draw(share, u_lead)
    below = np.where(drawn > 0, np.take_along_axis(share, np.maximum(drawn - 1, 0), axis=1), 0.0)
    width = np.maximum(np.take_along_axis(share, drawn, axis=1) - below, 1e-30)
    within = np.clip((u_lead - below) / width, 0.0, 1.0 - 2.0**-24)
    redrawn = _draw(_cumulative_share(lead_weight * running), within)
    stayed = np.take_along_axis(exit_lap, drawn, axis=1) >= block_end[:, :-1]
    leader = np.where(stayed, drawn, redrawn)
    block_laps = np.diff(block_end, axis=1, prepend=0)[:, :-1]
    flat = (rows * n + leader).ravel()
    led = np.bincount(flat, weights=block_laps.ravel(), minlength=s * n).reshape(s, n).astype(np.int64)
    led[rows[:, 0], winner] += laps - led.sum(axis=1)
    return led


def race_statistics(races: object) -> dict[str, float]:
    """The archetype-target statistics (and a few more) of any object with ScenarioSet's arrays.

    Applied to both the JAX scenario set and ReferenceRaces, so differences come from the
    models, not from the statistics code.
    """
    led = np.asarray(races.laps_led, np.int32)  # type: ignore[attr-defined]
    finish = np.asarray(races.finish_position)  # type: ignore[attr-defined]
    dnf = np.asarray(races.dnf)  # type: ignore[attr-defined]
    start = np.asarray(races.start_position, np.float64)  # type: ignore[attr-defined]
    laps = int(races.race_length)  # type: ignore[attr-defined]
    n_drivers = led.shape[1]
    top = led.max(axis=1)
    unique_top = (led == top[:, None]).sum(axis=1) == 1
    winner = np.argmin(finish, axis=1)
    dnf_counts = dnf.sum(axis=1)
    p = dnf_counts.mean() / n_drivers
    binomial_variance = n_drivers * p * (1 - p)
    d = finish.astype(np.float64) - start[None, :]
    spearman = 1.0 - 6.0 * (d**2).sum(axis=1) / (n_drivers * (n_drivers**2 - 1))
    pole = int(np.argmin(start))
    regimes = np.bincount(np.asarray(races.regime, np.int64), minlength=len(REGIMES))  # type: ignore[attr-defined]
    stats = {
        "top1_share_laps_led": float((top / laps).mean()),
        "leaders_per_race": float((led > 0).sum(axis=1).mean()),
        "p_most_laps_wins": float((unique_top & (np.argmax(led, axis=1) == winner)).mean()),
        "dnf_rate": float(p),
        "dnf_dispersion": float(dnf_counts.var() / binomial_variance) if binomial_variance else 0.0,
        "spearman_start_finish": float(spearman.mean()),
        "pole_win_rate": float((winner == pole).mean()),
        "mean_cautions": float(np.mean(races.cautions)),  # type: ignore[attr-defined]
        "mean_green_laps": float(np.mean(races.green_laps)),  # type: ignore[attr-defined]
        "mean_fastest_laps_top1": float(np.asarray(races.fastest_laps).max(axis=1).mean()),  # type: ignore[attr-defined]
        "mean_points": float(np.mean(races.points)),  # type: ignore[attr-defined]
        "mean_points_top1": float(np.asarray(races.points).max(axis=1).mean()),  # type: ignore[attr-defined]
    }
    shares = regimes / led.shape[0]
    stats |= {f"regime_share_{name}": float(share) for name, share in zip(REGIMES, shares, strict=True)}
    return stats
