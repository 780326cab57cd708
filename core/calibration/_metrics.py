"""Probabilistic forecast scores: sampled outcomes from the scenario kernel against what happened.

Every function is pure JAX under one `jax.jit`. Sample arrays carry the M samples on their last
axis and any leading batch axes (for example `[races, drivers, M]` with observations
`[races, drivers]`); observations broadcast against the leading axes. Results are float32 for
float32 or integer input (float64 input stays float64 when x64 is on).

Sums are written as sums of non-negative terms where the textbook form would subtract large
numbers (the CRPS spread term), so float32 keeps its relative precision at large M.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float, Int, Real

from ..errors import InvalidInput

LOG_FLOOR = 1e-12
"""Probabilities are floored here before the log, so the log score stays finite."""


def _floating(x: Array) -> Array:
    """`x` as float32, or as its own float type when that is wider."""
    return x.astype(jnp.promote_types(x.dtype, jnp.float32))


@jax.jit
def crps_samples(
    samples: Real[Array, "*batch samples"], observed: Real[ArrayLike, "*#batch"]
) -> Float[Array, "*batch"]:
    """CRPS of the empirical distribution of the samples (the energy, "nrg", estimator).

    CRPS = mean_i |x_i - y| - 1/(2 M^2) sum_ij |x_i - x_j|. It is computed exactly, after an
    O(M log M) sort, as the integral of (F(x) - 1{y <= x})^2 over the pieces between the sorted
    samples x_(1) <= ... <= x_(M) and y:

        sum_{k=1}^{M-1} [(c_k - x_(k)) (k/M)^2 + (x_(k+1) - c_k) (1 - k/M)^2]
        + max(x_(1) - y, 0) + max(y - x_(M), 0),    c_k = clip(y, x_(k), x_(k+1)).

    Every term is non-negative, so no precision is lost to cancellation.

    Args:
        samples: M samples per forecast on the last axis.
        observed: The outcome, broadcastable to the batch shape.

    Returns:
        The CRPS per forecast, in the units of the samples (0 only for a point mass at y).
    """
    x = jnp.sort(_floating(samples), axis=-1)
    y = jnp.asarray(observed, x.dtype)[..., None]
    n_samples = x.shape[-1]
    below = jnp.arange(1, n_samples, dtype=x.dtype) / n_samples  # F between x_(k) and x_(k+1)
    lo, hi = x[..., :-1], x[..., 1:]
    cut = jnp.clip(y, lo, hi)
    inside = jnp.sum((cut - lo) * below**2 + (hi - cut) * (1 - below) ** 2, axis=-1)
    tails = jnp.maximum(x[..., 0] - y[..., 0], 0) + jnp.maximum(y[..., 0] - x[..., -1], 0)
    return inside + tails


@partial(jax.jit, static_argnames=("n_outcomes",))
def outcome_probabilities(
    samples: Int[Array, "*batch samples"], n_outcomes: int, *, prior: float | Float[Array, ""] = 0.0
) -> Float[Array, "*batch outcomes"]:
    """Smoothed sample frequency of each integer outcome 1..n_outcomes (a finishing position).

    p_k = (count_k + prior) / (M + prior * n_outcomes), k = 1..n_outcomes. Samples outside
    1..n_outcomes are not counted, so the probabilities then sum to less than 1.

    Args:
        samples: M integer samples per forecast on the last axis.
        n_outcomes: The number of outcomes K (static).
        prior: Additive (Laplace) smoothing per outcome; 0 gives raw frequencies.

    Returns:
        Probabilities with outcome k at index k - 1 of the last axis.
    """
    n_samples = samples.shape[-1]
    values = samples.astype(jnp.int32)
    # Out-of-range samples point one past the end and are dropped by the scatter.
    index = jnp.where((values >= 1) & (values <= n_outcomes), values - 1, n_outcomes)
    flat = index.reshape(-1, n_samples)

    def count(row: Int[Array, " samples"]) -> Int[Array, " outcomes"]:
        return jnp.zeros(n_outcomes, jnp.int32).at[row].add(1, mode="drop")

    counts = jax.vmap(count)(flat).reshape(*samples.shape[:-1], n_outcomes)
    return (counts + prior) / (n_samples + prior * n_outcomes)


@jax.jit
def log_score(
    probabilities: Float[Array, "*batch outcomes"], observed_index: Int[ArrayLike, "*#batch"]
) -> Float[Array, "*batch"]:
    """Logarithmic score -log p[observed] (natural log; lower is better).

    The probability is floored at `LOG_FLOOR` (1e-12) so an outcome the forecast ruled out
    scores about 27.6 rather than infinity.

    Args:
        probabilities: Probability of each outcome on the last axis (for the winner: each
            driver's probability of winning).
        observed_index: 0-based index on the last axis of the outcome that happened (for
            `outcome_probabilities`, pass the finishing position minus 1).

    Returns:
        The log score per forecast; NaN where the index is K or more.
    """
    p = _floating(probabilities)
    index = jnp.broadcast_to(jnp.asarray(observed_index, jnp.int32), p.shape[:-1])
    observed_p = jnp.take_along_axis(p, index[..., None], axis=-1)[..., 0]
    return -jnp.log(jnp.maximum(observed_p, LOG_FLOOR))


@partial(jax.jit, static_argnames=("normalise",))
def ranked_probability_score(
    probabilities: Float[Array, "*batch outcomes"],
    observed: Int[ArrayLike, "*#batch"],
    *,
    normalise: bool = False,
) -> Float[Array, "*batch"]:
    """Ranked probability score for ordered outcomes 1..K (lower is better).

    RPS = sum_{k=1}^{K} (F(k) - 1{observed <= k})^2 with F(k) = p_1 + ... + p_k, the same sum as
    scoringrules' `rps_score`. With `normalise=True` it is divided by K - 1, the number of terms
    that can be non-zero when the probabilities sum to 1, which puts it on [0, 1].

    Args:
        probabilities: Probability of outcome k at index k - 1 of the last axis.
        observed: The outcome that happened, 1..K.
        normalise: Divide by K - 1 (static).

    Returns:
        The RPS per forecast.

    Raises:
        InvalidInput: `normalise` with a single outcome (K - 1 = 0).
    """
    p = _floating(probabilities)
    n_outcomes = p.shape[-1]
    if normalise and n_outcomes < 2:
        raise InvalidInput("probabilities", "normalise=True needs at least 2 outcomes")
    cumulative = jnp.cumsum(p, axis=-1)
    outcomes = jnp.arange(1, n_outcomes + 1)
    happened = jnp.asarray(observed)[..., None] <= outcomes
    rps = jnp.sum((cumulative - happened) ** 2, axis=-1)
    return rps / (n_outcomes - 1) if normalise else rps


def _check_level(level: float) -> None:
    if not 0.0 <= level <= 1.0:
        raise InvalidInput("level", f"must be in [0, 1], got {level}")


def _quantile_rank(n_samples: int, probability: float) -> int:
    """1-based rank of the smallest sorted sample with F >= probability (inverted CDF).

    The product is rounded to 9 decimals first so that float noise in `level` does not move a
    bound by one sample: for level 0.95 and M = 40, M (1 - level)/2 = 1.0000000000000009, which
    must give rank 1 (NumPy's own `inverted_cdf` gives 2 there).
    """
    return min(max(math.ceil(round(n_samples * probability, 9)), 1), n_samples)


@partial(jax.jit, static_argnames=("level",))
def central_interval(
    samples: Real[Array, "*batch samples"], level: float
) -> tuple[Real[Array, "*batch"], Real[Array, "*batch"]]:
    """Central `level` interval of the empirical distribution, by inverted-CDF quantiles.

    lower = the smallest sample x with F(x) >= (1 - level)/2 and upper = the smallest sample x
    with F(x) >= (1 + level)/2 (NumPy's `quantile(method="inverted_cdf")`); both bounds are
    samples, so integer samples give integer bounds. The interval is read as inclusive,
    [lower, upper]: if the outcome really follows F, P(y < lower) <= (1 - level)/2 and
    P(y > upper) <= (1 - level)/2, so the coverage is at least `level`, and above it for
    discrete outcomes such as finishing positions, where F jumps past the nominal levels.

    Args:
        samples: M samples per forecast on the last axis.
        level: Nominal coverage in [0, 1] (static); 1 gives [min, max].

    Returns:
        (lower, upper), each with the batch shape and the samples' dtype.

    Raises:
        InvalidInput: `level` outside [0, 1].
    """
    _check_level(level)
    n_samples = samples.shape[-1]
    ordered = jnp.sort(samples, axis=-1)
    lower = ordered[..., _quantile_rank(n_samples, (1.0 - level) / 2) - 1]
    upper = ordered[..., _quantile_rank(n_samples, (1.0 + level) / 2) - 1]
    return lower, upper


@partial(jax.jit, static_argnames=("level",))
def interval_coverage(
    samples: Real[Array, "*batch samples"], observed: Real[ArrayLike, "*#batch"], level: float
) -> Bool[Array, "*batch"]:
    """Whether the outcome lies in the inclusive central interval: lower <= y <= upper.

    Args:
        samples: M samples per forecast on the last axis.
        observed: The outcome, broadcastable to the batch shape.
        level: Nominal coverage in [0, 1] (static); see `central_interval`.

    Returns:
        True where the interval covers the outcome; its mean over calibrated forecasts is at
        least `level`.
    """
    lower, upper = central_interval(samples, level)
    y = jnp.asarray(observed)
    return jnp.logical_and(lower <= y, y <= upper)


@jax.jit
def pit(
    samples: Real[Array, "*batch samples"],
    observed: Real[ArrayLike, "*#batch"],
    u: Float[ArrayLike, "*#batch"],
) -> Float[Array, "*batch"]:
    """Randomised probability integral transform: F(y-) + u (F(y) - F(y-)).

    F is the empirical CDF of the samples, F(y-) the fraction of samples < y and F(y) the
    fraction <= y. With u ~ Uniform(0, 1) the PIT of a calibrated discrete forecast is exactly
    uniform; for continuous samples (no sample equal to y) it is the usual PIT F(y).

    Args:
        samples: M samples per forecast on the last axis.
        observed: The outcome, broadcastable to the batch shape.
        u: Uniform(0, 1) draws, broadcastable to the batch shape; the caller draws them from a
            key (`jax.random.uniform(key, batch_shape)`).

    Returns:
        PIT values in [0, 1].
    """
    y = jnp.asarray(observed)[..., None]
    n_samples = samples.shape[-1]
    dtype = jnp.promote_types(jnp.result_type(u), jnp.float32)
    below = jnp.sum(samples < y, axis=-1).astype(dtype) / n_samples
    at_most = jnp.sum(samples <= y, axis=-1).astype(dtype) / n_samples
    return below + jnp.asarray(u, dtype) * (at_most - below)


def _bin_index(values: Array, n_bins: int) -> Int[Array, "*values"]:
    """Equal-width bins on [0, 1]: bin i is [i/n, (i+1)/n), the last one also holds 1."""
    return jnp.clip(jnp.floor(values * n_bins).astype(jnp.int32), 0, n_bins - 1)


@partial(jax.jit, static_argnames=("n_bins",))
def pit_histogram(pit_values: Float[Array, "*values"], n_bins: int = 10) -> Float[Array, " bins"]:
    """Fraction of PIT values in each of `n_bins` equal-width bins of [0, 1].

    All values are pooled, whatever their shape. Bin i holds [i/n, (i+1)/n); 1.0 goes in the
    last bin. A calibrated forecast gives about 1/n in every bin.

    Args:
        pit_values: Values in [0, 1], for example from `pit`.
        n_bins: The number of bins (static).

    Returns:
        The fraction of values per bin, summing to 1.
    """
    values = _floating(pit_values).ravel()
    counts = jnp.bincount(_bin_index(values, n_bins), length=n_bins)
    return counts.astype(values.dtype) / values.shape[0]


@partial(jax.jit, static_argnames=("n_bins",))
def reliability_curve(
    probabilities: Float[Array, "*forecasts"], outcomes: Bool[Array, "*forecasts"], n_bins: int = 10
) -> tuple[Float[Array, " bins"], Float[Array, " bins"], Int[Array, " bins"]]:
    """Binned reliability diagram of binary-event forecasts (for example "finishes top 10").

    Forecasts are pooled over all axes and binned by probability into `n_bins` equal-width
    bins of [0, 1] (bin i holds [i/n, (i+1)/n), 1.0 goes in the last bin). A calibrated forecast
    has the observed frequency of each bin close to its mean forecast.

    Args:
        probabilities: Forecast probabilities of the event, in [0, 1].
        outcomes: Whether each event happened (same shape).
        n_bins: The number of bins (static).

    Returns:
        (mean forecast, observed frequency, count) per bin; the means are NaN in empty bins.
    """
    p = _floating(probabilities).ravel()
    hit = jnp.asarray(outcomes).ravel().astype(p.dtype)
    index = _bin_index(p, n_bins)
    count = jnp.bincount(index, length=n_bins)
    forecast_sum = jax.ops.segment_sum(p, index, num_segments=n_bins)
    hit_sum = jax.ops.segment_sum(hit, index, num_segments=n_bins)
    filled = count > 0
    safe_count = jnp.maximum(count, 1).astype(p.dtype)
    mean_forecast = jnp.where(filled, forecast_sum / safe_count, jnp.nan)
    observed_frequency = jnp.where(filled, hit_sum / safe_count, jnp.nan)
    return mean_forecast, observed_frequency, count.astype(jnp.int32)
