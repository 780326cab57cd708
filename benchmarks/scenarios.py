"""Scenario throughput: the JAX kernel through generate_scenarios vs an RNG floor and NumPy.

Run by `just bench` or directly (never by the test suite):

    .venv/bin/python benchmarks/scenarios.py                       # 1M scenarios (10M on a GPU)
    .venv/bin/python benchmarks/scenarios.py --n-scenarios 200000 --out /tmp/s.json

What is timed:
- jax: core.sim.generate_scenarios, the real chunked path that fills host arrays, exactly what a
  user gets; one warm-up call (compiles), then the median of --repeats calls.
- kernel alone: simulate_chunk on the same chunks, waited for but not copied out (reported apart,
  so that the cost of the host arrays is visible).
- rng floor: only the random numbers the kernel draws for one scenario (fold_in(key, k), then
  jax.random.bits with the kernel's word count, which include the chaos factor's Gamma candidates),
  vmapped and jitted over the same chunk size and sub-batch: the kernel cannot be faster than this.
- numpy: benchmarks/_numpy_reference.py, the same model vectorised in NumPy (maybe on fewer
  scenarios, see numpy_n_scenarios), plus a side-by-side of race statistics of both models.

Results go to benchmarks/results/scenarios.json; a short table is printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks._numpy_reference import race_statistics, simulate_reference  # noqa: E402
from core.scoring import DRAFTKINGS_SCORING  # noqa: E402
from core.sim import (  # noqa: E402
    DEFAULT_CHUNK_SIZE,
    ArchetypeParams,
    DriverInputs,
    default_params,
    driver_inputs,
    generate_scenarios,
    simulate_chunk,
    simulate_race,
    sub_batch_for,
)
from core.slate import Driver  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "scenarios.json"
ARCHETYPE = "intermediate"
MIN_RATE = 250_000.0
MIN_FRACTION_OF_FLOOR = 0.5
MAX_PEAK_RSS_MIB = 2048.0


def synthetic_field(n_drivers: int) -> list[Driver]:
    """A realistic field: skill falls with starting position, plus fixed jitter (seeded)."""
    rng = np.random.default_rng(0)
    rank = np.arange(n_drivers) / max(n_drivers - 1, 1)
    skill = np.clip(0.9 - 0.75 * rank + rng.normal(0.0, 0.08, n_drivers), 0.0, 1.0)
    aggression = np.clip(0.5 + rng.normal(0.0, 0.18, n_drivers), 0.0, 1.0)
    shadow_risk = np.clip(0.3 + 0.4 * rank + rng.normal(0.0, 0.12, n_drivers), 0.0, 1.0)
    salary = np.round((11_000 - 6_000 * rank + rng.normal(0.0, 400.0, n_drivers)) / 100) * 100
    return [
        Driver(
            driver_id=f"driver-{i + 1:02d}",
            name=f"Driver {i + 1}",
            salary=int(salary[i]),
            start_position=i + 1,
            skill=float(skill[i]),
            aggression=float(aggression[i]),
            shadow_risk=float(shadow_risk[i]),
        )
        for i in range(n_drivers)
    ]


def rng_words_per_scenario(drivers: DriverInputs, params: ArchetypeParams, laps: int) -> int:
    """The uint32 word count of the kernel's jax.random.bits call, read from its jaxpr."""
    jaxpr = jax.make_jaxpr(
        lambda key: simulate_race(drivers, params, jnp.int32(laps), DRAFTKINGS_SCORING, key=key)
    )(jax.random.key(0))
    shapes = [eqn.params["shape"] for eqn in _equations(jaxpr.jaxpr) if eqn.primitive.name == "random_bits"]
    # The largest draw is the kernel's own (team shocks, drawn only for fitted teams, are smaller).
    return int(max(np.prod(shape) for shape in shapes))


def _equations(jaxpr: Any) -> list[Any]:
    found = []
    for eqn in jaxpr.eqns:
        found.append(eqn)
        for value in eqn.params.values():
            for sub in value if isinstance(value, list | tuple) else [value]:
                inner = getattr(sub, "jaxpr", None)
                if inner is not None:
                    found.extend(_equations(getattr(inner, "jaxpr", inner)))
    return found


def make_rng_floor(n_words: int, sub_batch: int | None) -> Callable[[jax.Array, jax.Array], Any]:
    """Vmapped like the kernel: in sub-batches of the kernel's size (faster here too)."""

    @jax.jit
    def draw(key: jax.Array, index: jax.Array) -> jax.Array:
        def one(k: jax.Array) -> jax.Array:
            return jax.random.bits(jax.random.fold_in(key, k), (n_words,), jnp.uint32)

        if sub_batch is None or sub_batch >= index.shape[0]:
            return jax.vmap(one)(index)
        return jax.lax.map(one, index, batch_size=sub_batch)

    return draw


def time_calls(call: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """(seconds of the first call, seconds of each of `repeats` further calls)."""
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        runs.append(time.perf_counter() - start)
    return first, runs


def peak_rss_mib() -> float:
    """Peak resident set of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def device_name() -> str:
    device = jax.devices()[0]
    kind = str(device.device_kind)
    return device.platform if kind.lower() == device.platform else f"{device.platform} ({kind})"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    on_gpu = jax.default_backend() == "gpu"
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n-scenarios", type=int, default=10_000_000 if on_gpu else 1_000_000)
    parser.add_argument("--n-drivers", type=int, default=40)
    parser.add_argument("--laps", type=int, default=267)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    parser.add_argument("--numpy-scenarios", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    console = Console()

    field = synthetic_field(args.n_drivers)
    params = default_params(ARCHETYPE)
    drivers = driver_inputs(field, params, use_ratings=False)
    ids = [d.driver_id for d in field]
    key = jax.random.key(args.seed)
    load_before = os.getloadavg()

    # JAX: the user-facing path, host arrays and axiom checks included.
    def run_jax() -> object:
        return generate_scenarios(
            drivers,
            params,
            key=key,
            n_scenarios=args.n_scenarios,
            race_length=args.laps,
            scoring=DRAFTKINGS_SCORING,
            driver_ids=ids,
            chunk_size=args.chunk_size,
        )

    # Compile time of one chunk shape on its own (generate_scenarios may compile two: the full
    # chunk and a smaller power of two for the tail).
    chunk = min(args.chunk_size, args.n_scenarios)
    index = jnp.arange(1 << (chunk - 1).bit_length(), dtype=jnp.uint32)
    start = time.perf_counter()
    simulate_chunk.lower(
        drivers, params, jnp.int32(args.laps), index, key=key, scoring=DRAFTKINGS_SCORING
    ).compile()
    compile_chunk_s = time.perf_counter() - start
    jax.clear_caches()  # so that the first generate_scenarios call below compiles, as a user's would

    console.print(f"jax: {args.n_scenarios:,} scenarios, warm-up + {args.repeats} runs ...")
    jax_first, jax_runs = time_calls(run_jax, args.repeats)
    jax_median = statistics.median(jax_runs)
    rss_after_jax = peak_rss_mib()

    # RNG floor: the same chunks, only the random numbers.
    n_words = rng_words_per_scenario(drivers, params, args.laps)
    sub_batch = sub_batch_for(jax.devices())
    floor_fn = make_rng_floor(n_words, sub_batch)

    def run_floor() -> None:
        for first in range(0, args.n_scenarios, chunk):
            index = jnp.arange(first, first + chunk, dtype=jnp.uint32)
            jax.block_until_ready(floor_fn(key, index))

    console.print(f"rng floor: {n_words} words per scenario ...")
    _, floor_runs = time_calls(run_floor, args.repeats)
    n_floor = -(-args.n_scenarios // chunk) * chunk
    floor_median = statistics.median(floor_runs)

    # The kernel alone on the same chunks: what generate_scenarios adds is the copy into host
    # arrays (fresh memory, so page faults too) and the diagnostics.
    def run_kernel() -> None:
        for first in range(0, args.n_scenarios, chunk):
            index = jnp.arange(first, first + chunk, dtype=jnp.uint32)
            race = simulate_chunk(
                drivers, params, jnp.int32(args.laps), index, key=key, scoring=DRAFTKINGS_SCORING,
                sub_batch=sub_batch,
            )  # fmt: skip
            jax.block_until_ready(race)

    console.print("jax kernel alone, no host arrays ...")
    _, kernel_runs = time_calls(run_kernel, args.repeats)
    kernel_median = statistics.median(kernel_runs)

    # NumPy reference on numpy_scenarios.
    n_numpy = min(args.numpy_scenarios, args.n_scenarios)
    console.print(f"numpy: {n_numpy:,} scenarios x {args.repeats} runs ...")
    numpy_runs = []
    for repeat in range(args.repeats):
        start = time.perf_counter()
        reference = simulate_reference(
            drivers,
            params,
            race_length=args.laps,
            scoring=DRAFTKINGS_SCORING,
            n_scenarios=n_numpy,
            seed=args.seed + repeat,
        )
        numpy_runs.append(time.perf_counter() - start)
    numpy_median = statistics.median(numpy_runs)

    # Distribution check on equal scenario counts (printed, not asserted).
    sample = run_jax_sample(drivers, params, key, n_numpy, args.laps, ids, args.chunk_size)
    jax_stats, numpy_stats = race_statistics(sample), race_statistics(reference)

    jax_rate = args.n_scenarios / jax_median
    floor_rate = n_floor / floor_median
    numpy_rate = n_numpy / numpy_median
    targets = {
        "min_scenarios_per_s": MIN_RATE,
        "min_fraction_of_rng_floor": MIN_FRACTION_OF_FLOOR,
        "faster_than_numpy": True,
        "max_peak_rss_mib": MAX_PEAK_RSS_MIB,
    }
    meets = {
        "min_scenarios_per_s": jax_rate >= MIN_RATE,
        "min_fraction_of_rng_floor": jax_rate >= MIN_FRACTION_OF_FLOOR * floor_rate,
        "faster_than_numpy": jax_rate > numpy_rate,
        "max_peak_rss_mib": rss_after_jax < MAX_PEAK_RSS_MIB,
    }
    result: dict[str, Any] = {
        "device": device_name(),
        "n_devices": jax.device_count(),
        "n_drivers": args.n_drivers,
        "laps": args.laps,
        "archetype": ARCHETYPE,
        "n_scenarios": args.n_scenarios,
        "chunk_size": args.chunk_size,
        "sub_batch": sub_batch,
        "jax_scenarios_per_s": jax_rate,
        "jax_runs_s": jax_runs,
        "jax_first_call_s": jax_first,
        "compile_s": max(jax_first - jax_median, 0.0),
        "compile_chunk_s": compile_chunk_s,
        "kernel_scenarios_per_s": n_floor / kernel_median,
        "kernel_runs_s": kernel_runs,
        "rng_floor_scenarios_per_s": floor_rate,
        "rng_floor_runs_s": floor_runs,
        "rng_words_per_scenario": n_words,
        "jax_fraction_of_rng_floor": jax_rate / floor_rate,
        "numpy_scenarios_per_s": numpy_rate,
        "numpy_n_scenarios": n_numpy,
        "numpy_runs_s": numpy_runs,
        "jax_speedup_over_numpy": jax_rate / numpy_rate,
        "peak_rss_mib": rss_after_jax,
        "peak_rss_mib_end": peak_rss_mib(),
        "rss_mib_end": psutil.Process().memory_info().rss / 2**20,
        "targets": targets,
        "meets": meets,
        "race_statistics": {"jax": jax_stats, "numpy": numpy_stats, "n_scenarios": n_numpy},
        "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()),
        "jax_version": jax.__version__,
        "numpy_version": np.__version__,
        "cpu_count": os.cpu_count(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print_summary(console, result)
    console.print(f"wrote {args.out}")
    return result


def run_jax_sample(
    drivers: DriverInputs,
    params: ArchetypeParams,
    key: jax.Array,
    n_scenarios: int,
    laps: int,
    ids: list[str],
    chunk_size: int,
) -> object:
    return generate_scenarios(
        drivers,
        params,
        key=key,
        n_scenarios=n_scenarios,
        race_length=laps,
        scoring=DRAFTKINGS_SCORING,
        driver_ids=ids,
        chunk_size=chunk_size,
    )


def print_summary(console: Console, r: dict[str, Any]) -> None:
    table = Table(title=f"Scenario throughput ({r['device']}, {r['n_drivers']} drivers, {r['laps']} laps)")
    table.add_column("path")
    table.add_column("scenarios", justify="right")
    table.add_column("scenarios/s", justify="right")
    table.add_column("vs jax", justify="right")
    jax_rate = r["jax_scenarios_per_s"]
    for name, n, rate in (
        ("jax generate_scenarios", r["n_scenarios"], jax_rate),
        ("jax kernel alone (no host arrays)", r["n_scenarios"], r["kernel_scenarios_per_s"]),
        ("jax rng floor", r["n_scenarios"], r["rng_floor_scenarios_per_s"]),
        ("numpy reference", r["numpy_n_scenarios"], r["numpy_scenarios_per_s"]),
    ):
        table.add_row(name, f"{n:,}", f"{rate:,.0f}", f"{rate / jax_rate:.2f}x")
    console.print(table)
    console.print(
        f"compile {r['compile_s']:.2f} s, peak RSS {r['peak_rss_mib']:.0f} MiB, "
        f"load {r['load_average_before'][0]:.2f} -> {r['load_average_after'][0]:.2f}"
    )
    targets = Table(title="Targets")
    targets.add_column("target")
    targets.add_column("wanted", justify="right")
    targets.add_column("met")
    for name, wanted in r["targets"].items():
        met = r["meets"][name]
        targets.add_row(name, str(wanted), "[green]yes[/]" if met else "[red]no[/]")
    console.print(targets)
    stats = r["race_statistics"]
    check = Table(title=f"Race statistics, {stats['n_scenarios']:,} scenarios each (not asserted)")
    for column in ("statistic", "jax", "numpy", "diff"):
        check.add_column(column, justify="left" if column == "statistic" else "right")
    for name, value in stats["jax"].items():
        other = stats["numpy"][name]
        check.add_row(name, f"{value:.4f}", f"{other:.4f}", f"{value - other:+.4f}")
    console.print(check)


if __name__ == "__main__":
    main()
