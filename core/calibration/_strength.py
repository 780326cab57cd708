"""The strength fit: a Plackett-Luce likelihood of the rankings (see _design) with penalties that
shrink drivers toward an experience prior, minimised over every parameter at once by L-BFGS."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize
from jax import Array

from ..slate import ARCHETYPES, Archetype
from ._design import Design, bucket
from ._settings import RatingSettings

MAX_ITERATIONS = 1000  # of L-BFGS; the fits of 2022-2024 converge in about 100


class StrengthFit(NamedTuple):
    strengths: np.ndarray  # [drivers, archetypes]: scale x base + offset (team not included)
    teams: np.ndarray  # [teams]; 0 for the unknown team
    start_weights: np.ndarray  # [archetypes]
    rookie: np.ndarray  # [archetypes]: the prior of a driver with no starts
    scale: np.ndarray  # [archetypes]
    running_scale: np.ndarray  # [archetypes]
    rulebook_start_weights: np.ndarray | None  # [archetypes]; None where no rulebook lineup was fitted
    track_scale: dict[tuple[str, Archetype], float]


class _Sizes(NamedTuple):
    drivers: int
    teams: int
    tracks: int


def fit_strength(design: Design, settings: RatingSettings) -> StrengthFit:
    """Every strength parameter at the penalised-likelihood optimum, as ratings."""
    sizes = _Sizes(
        bucket(len(design.keys), 32), bucket(len(design.teams), 16), bucket(len(design.tracks), 16)
    )
    experience, present, known_team = _padded_priors(design, sizes)
    arrays = (
        design.driver_index,
        design.team_index,
        design.start_score,
        design.mask,
        design.archetype,
        design.weight,
        design.running_order,
        design.track_index,
        design.rulebook,
        experience,
        present,
        known_team,
    )
    solution = _minimise(
        np.zeros(_n_parameters(sizes)),
        arrays=_Arrays(*(jnp.asarray(a) for a in arrays)),
        precisions=jnp.asarray(
            [
                settings.strength_precision,
                settings.archetype_precision,
                settings.team_precision,
                settings.track_precision,
            ],
            jnp.float32,
        ),
        sizes=sizes,
        reverse=settings.reverse_order,
    )
    p = _unpack(solution, sizes)
    strengths = p.base[:, None] * p.scale[None, :] + p.offsets
    return StrengthFit(
        strengths=strengths[: len(design.keys)],
        teams=(p.teams * known_team)[: len(design.teams)],
        start_weights=p.start_weights,
        rookie=p.theta[0] * p.scale,
        scale=p.scale,
        running_scale=np.exp(p.log_running_scale),
        rulebook_start_weights=p.start_weights + p.rulebook_start if design.rulebook.any() else None,
        track_scale=_track_scales(p.log_track_scale, design),
    )


def _padded_priors(design: Design, sizes: _Sizes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log1p(starts) and 1 for each driver, 1 for each known team; 0 in the padding (and for the
    unknown team, which has no strength)."""
    experience = np.zeros(sizes.drivers, np.float32)
    experience[: len(design.keys)] = np.log1p(design.starts)
    present = np.zeros(sizes.drivers, np.float32)
    present[: len(design.keys)] = 1.0
    known_team = np.zeros(sizes.teams, np.float32)
    known_team[1 : len(design.teams)] = 1.0
    return experience, present, known_team


class _Arrays(NamedTuple):
    """What the jitted loss reads: the design's arrays and the padded priors."""

    driver_index: Array
    team_index: Array
    start_score: Array
    mask: Array
    archetype: Array
    weight: Array
    running_order: Array
    track_index: Array
    rulebook: Array
    experience: Array
    present: Array
    known_team: Array


# Strengths are measured on the intermediate scale: the scale of form there is 1, not a parameter
# (a free scale in every archetype would let the scales grow while the base strengths, and with
# them their prior's penalty, shrink toward 0, so the prior would not regularise anything).
_FREE_SCALE = np.asarray([a != "intermediate" for a in ARCHETYPES], np.float32)


class _Parameters(NamedTuple):
    """The strength fit's parameter vector, split into its parts."""

    base: Any  # [drivers] form of each driver
    offsets: Any  # [drivers, archetypes] archetype-specific offsets
    teams: Any  # [teams] form of each team
    start_weights: Any  # [archetypes] start effect in finishing orders
    theta: Any  # [2] the experience prior: intercept, slope on log1p(starts)
    scale: Any  # [archetypes] how much form carries to each archetype (1 at intermediates)
    log_running_scale: Any  # [archetypes] log of how much sharper a running order is than a finish
    running_start: Any  # [archetypes] extra start effect in running orders (early laps start there)
    rulebook_start: Any  # [archetypes] extra start effect of a lineup the rulebook set
    log_track_scale: Any  # [tracks] log of each track's scale on utilities (track 0, none: 0)


def _track_scales(log_track_scale: np.ndarray, design: Design) -> dict[tuple[str, Archetype], float]:
    """The fitted scale of each (track, archetype) raced in the window, centred as in the fit."""
    centred = np.asarray(
        _centred(np.asarray(log_track_scale), design.track_index, design.archetype, design.weight)
    )
    scales = {}
    for row in np.flatnonzero(design.track_index):  # every row of a (track, archetype) has one value
        key = (design.tracks[design.track_index[row]], ARCHETYPES[design.archetype[row]])
        scales[key] = float(np.exp(centred[row]))
    return scales


def _part_sizes(sizes: _Sizes) -> list[int]:
    """The lengths of _Parameters' parts in the parameter vector, in order."""
    n_arch = len(ARCHETYPES)
    return [
        sizes.drivers,
        sizes.drivers * n_arch,
        sizes.teams,
        n_arch,
        2,
        n_arch,
        n_arch,
        n_arch,
        n_arch,
        sizes.tracks,
    ]


def _unpack(x: Any, sizes: _Sizes) -> _Parameters:
    n_arch = len(ARCHETYPES)
    parts = np.split(np.arange(len(x)), np.cumsum(_part_sizes(sizes))[:-1])
    (
        base,
        offsets,
        teams,
        start_weights,
        theta,
        scale,
        log_running_scale,
        running_start,
        rulebook_start,
        tracks,
    ) = (x[i] for i in parts)
    return _Parameters(
        base=base,
        offsets=offsets.reshape(sizes.drivers, n_arch),
        teams=teams,
        start_weights=start_weights,
        # Plackett-Luce utilities are defined up to a shift: the prior's intercept is pinned at 0,
        # so strengths are relative to a rookie in average equipment.
        theta=theta * np.asarray([0.0, 1.0], np.float32),
        scale=1.0 + scale * _FREE_SCALE,
        log_running_scale=log_running_scale,
        running_start=running_start,
        rulebook_start=rulebook_start,
        log_track_scale=tracks * (np.arange(len(tracks)) > 0),  # track 0 (no track) keeps scale 1
    )


def _n_parameters(sizes: _Sizes) -> int:
    return sum(_part_sizes(sizes))


def _minimise(
    x0: np.ndarray, *, arrays: _Arrays, precisions: Array, sizes: _Sizes, reverse: bool
) -> np.ndarray:
    """Maximum penalised likelihood of every strength parameter at once (L-BFGS on the jitted
    loss and gradient; scipy's line search is robust where float32 BFGS stalls)."""

    def loss_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = _loss_and_grad(
            jnp.asarray(x, jnp.float32), arrays=arrays, precisions=precisions, sizes=sizes, reverse=reverse
        )
        return float(value), np.asarray(grad, np.float64)

    result = scipy.optimize.minimize(
        loss_and_grad, x0, jac=True, method="L-BFGS-B", options={"maxiter": MAX_ITERATIONS, "maxcor": 30}
    )
    return np.asarray(result.x)


def _centred(log_track_scale: Any, track_index: Any, archetype: Any, weight: Any) -> Any:
    """Each ranking's log track scale minus the weighted mean of its archetype's rankings (so the
    archetype's own scale and start effect keep their meaning, and the prior on strengths still
    binds)."""
    n_arch = len(ARCHETYPES)
    row = log_track_scale[track_index]
    total = jax.ops.segment_sum(weight * row, archetype, n_arch)
    mean = total / jnp.maximum(jax.ops.segment_sum(weight, archetype, n_arch), 1e-9)
    return row - mean[archetype]


def _loss(x: Array, *, arrays: _Arrays, precisions: Array, sizes: _Sizes, reverse: bool) -> Array:
    """The negative penalised log-likelihood of the rankings, per unit of ranking weight."""
    p = _unpack(x, sizes)
    log_lik = _log_likelihood(p, arrays, reverse)
    penalty = _penalty(p, arrays, precisions)
    return (-jnp.sum(arrays.weight * log_lik) + 0.5 * penalty) / jnp.sum(arrays.weight)


def _log_likelihood(p: _Parameters, arrays: _Arrays, reverse: bool) -> Array:
    """The Plackett-Luce log-likelihood of each ranking."""
    driver_index, archetype, running_order = arrays.driver_index, arrays.archetype, arrays.running_order
    mask = arrays.mask
    # Form (driver + team) carries over between archetypes by a per-archetype scale (little
    # at superspeedways); each driver also has a small archetype-specific offset.
    form = p.base[driver_index] + (p.teams * arrays.known_team)[arrays.team_index]
    strength = p.scale[archetype][:, None] * form + p.offsets[driver_index, archetype[:, None]]
    # A running order sees the same pace through less noise than a finish (its utilities are
    # scaled up), and its early laps are run where the cars started (a start effect of its own).
    start_weight = p.start_weights[archetype] + running_order * p.running_start[archetype]
    start_weight += arrays.rulebook * p.rulebook_start[archetype]
    utility = strength + start_weight[:, None] * arrays.start_score
    utility = utility * jnp.exp(running_order * p.log_running_scale[archetype])[:, None]
    track_scale = _centred(p.log_track_scale, arrays.track_index, archetype, arrays.weight)
    utility = utility * jnp.exp(track_scale)[:, None]
    if reverse:
        # From the back: each running car is slower than every car ahead of it.
        utility = jnp.where(mask > 0, -utility, -1e9)
        rest = jax.lax.cumlogsumexp(utility, axis=1)
    else:
        # From the front: each running car beats every running car behind it.
        utility = jnp.where(mask > 0, utility, -1e9)
        rest = jax.lax.cumlogsumexp(utility, axis=1, reverse=True)
    return jnp.sum(jnp.where(mask > 0, utility - rest, 0.0), axis=1)


def _penalty(p: _Parameters, arrays: _Arrays, precisions: Array) -> Array:
    """The priors: drivers around the experience prior, offsets, teams and track scales around 0."""
    experience, present, known_team = arrays.experience, arrays.present, arrays.known_team
    prior_mean = p.theta[0] + p.theta[1] * experience
    penalty = precisions[0] * jnp.sum(present * (p.base - prior_mean) ** 2)
    penalty += precisions[1] * jnp.sum(p.offsets**2) + precisions[2] * jnp.sum((p.teams * known_team) ** 2)
    penalty += precisions[3] * jnp.sum(p.log_track_scale**2)
    # Weak: holds an archetype without running orders at scale 1 and no extra start effect, and
    # keeps a short history (whose orders a start effect, a scale of form or, when every driver
    # has about as many starts, the experience slope could explain perfectly or shift at no
    # cost) from running off to infinity.
    penalty += jnp.sum(p.log_running_scale**2) + jnp.sum(p.running_start**2) + jnp.sum(p.rulebook_start**2)
    penalty += jnp.sum(p.start_weights**2) + jnp.sum((p.scale - 1.0) ** 2) + jnp.sum(p.theta**2)
    return penalty


_loss_and_grad = jax.jit(jax.value_and_grad(_loss), static_argnames=("sizes", "reverse"))
