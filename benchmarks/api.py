"""REST latency under load: submits and status polls from 50 concurrent clients on loopback while
two optimizations compute.

Run directly (never by the test suite):

    .venv/bin/python benchmarks/api.py
    .venv/bin/python benchmarks/api.py --clients 50 --polls 40 --submits 4 --out /tmp/api.json
    .venv/bin/python benchmarks/api.py --database postgresql://axiom@db-host/bench  # a server of yours

Both backends are measured in the same run: the embedded one (SQLite) and the networked one
(PostgreSQL: a throwaway server started by tests/servers.py unless --database names one; each
measurement gets a fresh database on it). The networked backend is also measured for throughput:
--throughput-runs small runs (1,000 scenarios each) through 1, 2 and 4 `axiom worker` processes,
sharing the cores (`--threads` cores / workers, as the README runs several on one host), and
again with every worker on a thread per core (the default).

What is timed: `axiom serve` (uvicorn, 2 workers, AXIOM_RATE_LIMIT raised so nothing is refused)
runs in a subprocess on a temporary database. Two slow optimizations (three million scenarios each)
are submitted first and the benchmark waits until both are running. API keys are on
(AXIOM_API_KEYS, every request sends X-API-Key; --open measures without them). Then --clients
asyncio clients (one httpx connection each) poll GET .../status --polls times each, all at once,
with --interval seconds of (jittered) think time between a client's requests, as real pollers
have; then each submits --submits small runs, each client with its own API key (50 users; the
same submissions with one key shared by all are recorded under "one_client"). The same load is
then run again with no think time (every client in a tight loop), recorded under "saturated":
there latency is bounded by clients / throughput of a 2-core machine shared by server, workers
and load generator. Every latency is the wall time of one request as the client sees it
(connection reuse on). Each backend is measured --repeats times, each time on a fresh server and
database; the figures are the medians over the repeats (each repeat's are kept under "repeats").
Results go to benchmarks/results/api.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import json
import os
import platform
import random
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TARGETS_MS = {"status_p99": 50.0, "submit_p99": 100.0}
API_KEY = "benchmark-key-0123456789abcdef"
HEADERS: dict[str, str] = {}  # X-API-Key while keys are on (main sets it)
# Each submitting client is its own user, with its own key (the service's "client": its own
# submission limit and queue cap). `one_client` in api.json repeats the paced submissions with
# every client on API_KEY: one user's 50 scripts, which take turns on that user's queue-cap lock
# and quota row (measured, no target).
CLIENT_KEYS = [f"benchmark-client-{c:03d}-0123456789" for c in range(1000)]


def field(n_drivers: int = 10, seed: int = 10) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    starts = rng.permutation(n_drivers) + 1
    inputs = rng.random((n_drivers, 3))
    return [
        {
            "driver_id": f"car-{i:03d}",
            "name": f"Driver {i}",
            "salary": int(5_000 + 100 * rng.integers(0, 60)),
            "start_position": int(starts[i]),
            "skill": float(inputs[i, 0]),
            "aggression": float(inputs[i, 1]),
            "shadow_risk": float(inputs[i, 2]),
        }
        for i in range(n_drivers)
    ]


def body(seed: int, *, slow: bool) -> dict[str, Any]:
    """A small run, or a slow one (3M scenarios: both workers busy through the measurement)."""
    return {
        "slate_id": "bench",
        "drivers": field(),
        "scenario_config": {"track_id": "martinsville", "n_scenarios": 3_000_000 if slow else 200},
        "n_lineups": 1,
        "random_seed": seed,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1000
    return {
        "n": len(samples),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
        "mean_ms": round(float(ms.mean()), 2),
    }


async def pause(interval: float, jitter: random.Random) -> None:
    """A client's think time between requests: interval x U(0.5, 1.5) (none when 0)."""
    if interval > 0:
        await asyncio.sleep(interval * jitter.uniform(0.5, 1.5))


async def client_polls(
    client: httpx.AsyncClient,
    run_ids: list[str],
    n: int,
    out: list[float],
    interval: float,
    jitter: random.Random,
) -> None:
    for k in range(n):
        await pause(interval, jitter)
        started = time.perf_counter()
        response = await client.get(f"/api/v1/optimize/{run_ids[k % len(run_ids)]}/status")
        out.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text


async def client_submits(
    client: httpx.AsyncClient,
    n: int,
    seed: int,
    out: list[float],
    queued: list[tuple[str, dict[str, str]]],
    interval: float,
) -> None:
    jitter = random.Random(seed)
    for k in range(n):
        await pause(interval, jitter)
        payload = body(seed * 1000 + k, slow=False)
        started = time.perf_counter()
        response = await client.post("/api/v1/optimize", json=payload)
        out.append(time.perf_counter() - started)
        assert response.status_code == 202, response.text
        queued.append((response.json()["run_id"], dict(client.headers)))


async def measure(
    url: str, slow_ids: list[str], clients: int, polls: int, submits: int, interval: float
) -> dict[str, Any]:
    """The three loads, with this process's garbage collector off while they run: its full
    collections (of the clients' and responses' objects) took 100-170 ms, and one that fell in
    a load was added to every request in flight, the server's latency or not (it was the
    networked submit p99's 150-235 ms outliers, one repeat in three)."""
    gc.collect()
    gc.disable()
    try:
        paced = await _load(url, slow_ids, clients, polls, submits, interval)
        saturated = await _load(url, slow_ids, clients, polls, submits, 0.0)
        one_client = await _load(url, slow_ids, clients, 0, submits, interval, own_keys=False)
    finally:
        gc.enable()
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=HEADERS) as client:
        running = [(await client.get(f"/api/v1/optimize/{r}/status")).json()["status"] for r in slow_ids]
        queued = [*paced.pop("queued"), *saturated.pop("queued"), *one_client.pop("queued")]
        for run_id, headers in [*queued, *((r, HEADERS) for r in slow_ids)]:
            await client.delete(f"/api/v1/optimize/{run_id}", headers=headers)
    return {
        **paced,
        "saturated": {**saturated, "interval_s": 0.0},
        "one_client": {"submit": one_client["submit"], "interval_s": interval},
        "slow_runs_at_end": running,
    }


async def _load(
    url: str,
    slow_ids: list[str],
    clients: int,
    polls: int,
    submits: int,
    interval: float,
    own_keys: bool = True,
) -> dict[str, Any]:
    """All clients poll, then all submit; each waits `interval` (jittered) between requests.
    Polls read the two slow runs, so they carry their owner's key (a poll takes no per-client
    lock: whose key it is does not change its cost); submissions carry each client's own key
    (`own_keys`), else all the one key.

    The clients are built before anything is timed, on one shared SSL context: building an
    httpx client creates an SSL context (~30 ms of CPU each), and 50 of them built while other
    clients' requests are in flight block the load generator's own event loop for over a second,
    which showed up as the tail of the server's latency. Connections are still opened lazily, so
    each client's first request includes its TCP connect, as a real poller's does."""
    poll_times: list[float] = []
    async with _clients(url, clients, own_keys=False) as pollers:
        await asyncio.gather(
            *(
                client_polls(client, slow_ids, polls, poll_times, interval, random.Random(c))
                for c, client in enumerate(pollers)
            )
        )
    submit_times: list[float] = []
    queued: list[tuple[str, dict[str, str]]] = []
    async with _clients(url, clients, own_keys) as submitters:  # new connections, as new submitters have
        await asyncio.gather(
            *(
                client_submits(client, submits, c, submit_times, queued, interval)
                for c, client in enumerate(submitters)
            )
        )
    polled = {"status": percentiles(poll_times)} if poll_times else {}
    return {**polled, "submit": percentiles(submit_times), "queued": queued}


@contextlib.asynccontextmanager
async def _clients(url: str, n: int, own_keys: bool) -> AsyncIterator[list[httpx.AsyncClient]]:
    context = ssl.create_default_context()  # unused on http://, but httpx builds one per client
    keys = [{"X-API-Key": CLIENT_KEYS[c]} if own_keys and HEADERS else HEADERS for c in range(n)]
    async with contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, timeout=30, verify=context, headers=headers)
            )
            for headers in keys
        ]


def wait_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit("the server did not start")
        time.sleep(0.1)


@contextlib.contextmanager
def serving(root: Path, env: dict[str, str], *extra: str) -> Iterator[str]:
    """`axiom serve` (with `extra` arguments) on a free port, its URL, stopped at the end."""
    port = free_port()
    command = [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += extra
    server = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_up(f"http://127.0.0.1:{port}", server)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(server)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def server_env(root: Path, database: str, open_api: bool) -> dict[str, str]:
    return (
        dict(os.environ)
        | {
            "AXIOM_DATABASE": database,
            "AXIOM_RATE_LIMIT": "1000000",
            "AXIOM_MAX_QUEUED": "1000000",
            "AXIOM_MAX_SCENARIOS": "3000000",
            "PYTHONPATH": str(root),
        }
        | ({} if open_api else {"AXIOM_API_KEYS": ",".join([API_KEY, *CLIENT_KEYS])})
    )


def latency(args: argparse.Namespace, database: str) -> dict[str, Any]:
    """Polls and submits under load while two slow runs compute on the server's 2 workers."""
    with serving(args.root, server_env(args.root, database, args.open), "--workers", "2") as url:
        slow_ids = []
        for s in (1, 2):
            response = httpx.post(f"{url}/api/v1/optimize", json=body(s, slow=True), headers=HEADERS)
            if response.status_code != 202:
                raise SystemExit(f"the slow run was refused: {response.status_code} {response.text}")
            slow_ids.append(response.json()["run_id"])
        deadline = time.monotonic() + 120
        while True:  # both computing (simulating), not just claimed
            progress = [
                httpx.get(f"{url}/api/v1/optimize/{r}/status", headers=HEADERS).json() for r in slow_ids
            ]
            if all(p["status"] == "running" and p["progress"] > 0 for p in progress):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"the slow runs did not start on {database}: {progress}")
            time.sleep(0.2)
        health = httpx.get(f"{url}/health").json()
        load_before = os.getloadavg()
        results = asyncio.run(measure(url, slow_ids, args.clients, args.polls, args.submits, args.interval))
    return {
        "device": health["device"],
        "backend": health["backend"],
        "server": "uvicorn (axiom serve --workers 2), loopback",
        # the 1/5/15-minute load averages as the measurement began and ended: on a shared
        # machine, other processes' load is in every latency below
        "load_average": {"before": load_before, "after": os.getloadavg()},
        **results,
        "meets_targets": {
            "status_p99": results["status"]["p99_ms"] < TARGETS_MS["status_p99"],
            "submit_p99": results["submit"]["p99_ms"] < TARGETS_MS["submit_p99"],
        },
    }


def repeated(args: argparse.Namespace, new_database: Callable[[], str]) -> dict[str, Any]:
    """`latency` --repeats times; each statistic the median over the repeats."""
    runs = [latency(args, new_database()) for _ in range(args.repeats)]
    summary = {name: _median_stats([run[name] for run in runs]) for name in ("status", "submit")}
    variants = {
        variant: {
            **runs[0][variant],
            **{
                name: _median_stats([run[variant][name] for run in runs])
                for name in ("status", "submit")
                if name in runs[0][variant]
            },
        }
        for variant in ("saturated", "one_client")
    }
    return {
        **{key: runs[0][key] for key in ("device", "backend", "server")},
        **summary,
        **variants,
        "meets_targets": {
            "status_p99": summary["status"]["p99_ms"] < TARGETS_MS["status_p99"],
            "submit_p99": summary["submit"]["p99_ms"] < TARGETS_MS["submit_p99"],
        },
        "repeats": [
            {
                key: value
                for key, value in run.items()
                if key not in ("device", "backend", "server", "meets_targets")
            }
            for run in runs
        ],
    }


def _median_stats(stats: list[dict[str, float]]) -> dict[str, float]:
    """The median of each statistic; `n` is the samples per repeat."""
    return {
        key: stats[0][key] if key == "n" else float(np.median([s[key] for s in stats])) for key in stats[0]
    }


def throughput(args: argparse.Namespace, database: str, n_workers: int, split: bool) -> dict[str, Any]:
    """Runs per second through `n_workers` `axiom worker` processes, warm (each has computed one
    run first): from the first submission until the last run finished (the runs' own
    `finished_at`, not when a poll noticed it). With `split`, the workers share the cores as the
    README says to run several on one host (`--threads` cores / workers, at least 1); else each
    has a thread per core (the default)."""
    threads = max(1, (os.cpu_count() or 1) // n_workers) if split else None
    env = server_env(args.root, database, args.open)
    with serving(args.root, env | {"AXIOM_WORKERS": "0"}) as url:
        command = [sys.executable, "-m", "service.cli", "worker"]
        command += [] if threads is None else ["--threads", str(threads)]
        workers = [
            subprocess.Popen(
                command, cwd=args.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            for _ in range(n_workers)
        ]
        try:
            submit_all(url, n_workers, seed=10_000)  # warm-up: every worker has started JAX
            times = [
                submit_all(url, args.throughput_runs, seed=repeat * args.throughput_runs)
                for repeat in range(args.throughput_repeats)
            ]
        finally:
            for worker in workers:
                stop(worker)
    elapsed = float(np.median(times))
    return {
        "workers": n_workers,
        "threads_per_worker": threads or os.cpu_count(),
        "runs": args.throughput_runs,
        "seconds": round(elapsed, 3),
        "runs_per_s": round(args.throughput_runs / elapsed, 2),
        "seconds_per_repeat": [round(t, 3) for t in times],
    }


def submit_all(url: str, n: int, seed: int) -> float:
    """Submit `n` small runs (1,000 scenarios), wait until every one has completed; the seconds
    from the first submission until the last run finished."""
    with httpx.Client(base_url=url, headers=HEADERS, timeout=30) as client:
        before = client.get("/health").json()["queue"]["completed"]
        started = dt.datetime.now(dt.UTC)
        run_ids = set()
        for k in range(n):
            payload = body(seed + k, slow=False)
            payload["scenario_config"]["n_scenarios"] = 1_000
            response = client.post("/api/v1/optimize", json=payload)
            assert response.status_code == 202, response.text
            run_ids.add(response.json()["run_id"])
        deadline = time.monotonic() + 900
        # Seldom: the time is read from the runs, and each look is five queries (/health's
        # counts and SAQ's) that take the machine's CPU from the runs being timed.
        while client.get("/health").json()["queue"]["completed"] < before + n:
            if time.monotonic() > deadline:
                raise SystemExit("the throughput runs did not complete in 15 minutes")
            time.sleep(0.5)
        listed = client.get("/api/v1/optimize", params={"limit": n}).json()
        runs = [r for r in listed if r["run_id"] in run_ids]
    assert len(runs) == n and all(r["status"] == "completed" for r in runs), "a run is missing or failed"
    finished = max(dt.datetime.fromisoformat(r["finished_at"]) for r in runs)
    return (finished - started).total_seconds()


@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[Callable[[], str]]:
    """A maker of fresh databases: on the server at `url`, else on a throwaway local server."""
    if url is not None:
        yield lambda: url
        return
    sys.path.insert(0, str(ROOT))
    from tests.servers import start_postgres

    server = start_postgres()
    try:
        yield server.new_database
    finally:
        server.destroy()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--polls", type=int, default=40, help="status polls per client")
    parser.add_argument("--submits", type=int, default=4, help="submissions per client")
    parser.add_argument(
        "--interval", type=float, default=0.2,
        help="a client's think time between requests, seconds (jittered x0.5-1.5); the run also "
        "measures interval 0 (every client in a tight loop: a throughput limit) under 'saturated'",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "api.json")
    parser.add_argument(
        "--root", type=Path, default=ROOT,
        help="the source tree whose service is served (A/B against a copy of another version)",
    )  # fmt: skip
    parser.add_argument("--open", action="store_true", help="no API keys (AXIOM_API_KEYS unset)")
    parser.add_argument("--database", default=None, help="a postgresql:// URL (default: a throwaway server)")
    parser.add_argument(
        "--repeats", type=int, default=3,
        help="latency measurements per backend, each on a fresh server and database; the figures "
        "reported are the medians over them, each repeat's are kept too",
    )  # fmt: skip
    parser.add_argument("--throughput-runs", type=int, default=200, metavar="N")
    parser.add_argument(
        "--throughput-repeats", type=int, default=5, metavar="K",
        help="timed batches of --throughput-runs per worker count (the median is reported)",
    )  # fmt: skip
    parser.add_argument("--worker-counts", default="1,2,4", help="worker processes for the throughput runs")
    args = parser.parse_args()
    if not args.open:
        HEADERS["X-API-Key"] = API_KEY

    with tempfile.TemporaryDirectory() as tmp, postgres(args.database) as new_database:
        sqlite_files = (str(Path(tmp) / f"runs-{k}.db") for k in range(args.repeats))
        backends = {
            "embedded": repeated(args, lambda: next(sqlite_files)),
            "networked": repeated(args, new_database),
        }
        counts = [int(n) for n in args.worker_counts.split(",")]
        scaling = [throughput(args, new_database(), n, split=True) for n in counts]
        default_threads = [throughput(args, new_database(), n, split=False) for n in counts if n > 1]

    report = {
        "benchmark": "api",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "api_keys": not args.open,
        "clients": args.clients,
        "polls_per_client": args.polls,
        "submits_per_client": args.submits,
        "think_time_s": args.interval,
        "computing_during_measurement": 2,
        "targets_ms": TARGETS_MS,
        "backends": backends,
        "networked_throughput": scaling,
        "networked_throughput_default_threads": default_threads,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for backend, results in backends.items():
        for name in ("status", "submit"):
            r = results[name]
            print(
                f"{backend:>9} {name:>6}: n={r['n']}  p50 {r['p50_ms']:.1f} ms  p95 {r['p95_ms']:.1f}  "
                f"p99 {r['p99_ms']:.1f}  max {r['max_ms']:.1f}"
            )
            for variant in ("saturated", "one_client"):
                if name not in results[variant]:
                    continue
                r = results[variant][name]
                print(
                    f"{'':>16}  {variant}: p50 {r['p50_ms']:.1f} ms  p95 {r['p95_ms']:.1f}  "
                    f"p99 {r['p99_ms']:.1f}  max {r['max_ms']:.1f}"
                )
    for row in [*scaling, *default_threads]:
        runs = f"{row['runs']} runs in {row['seconds']} s, {row['runs_per_s']}/s"
        print(f"throughput: {row['workers']} worker(s) of {row['threads_per_worker']} thread(s): {runs}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
