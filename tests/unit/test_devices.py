"""Several devices shard the scenario axis and give bitwise the same scenarios as one device."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import hashlib, jax
from core import ConstraintSpec, load_slate, run_simulation, sample_slate_path
slate = load_slate(sample_slate_path(), "martinsville")
spec = ConstraintSpec.compile(slate.drivers, slate.track, n_scenarios=1000)
s = run_simulation(spec, seed=11, chunk_size=512).scenarios
digest = hashlib.sha256()
for array in (s.points, s.finish_position, s.laps_led, s.fastest_laps, s.laps_completed, s.dnf):
    digest.update(array.tobytes())
print(len(jax.devices()), digest.hexdigest())
"""


def _run(n_devices: int) -> tuple[int, str]:
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={n_devices}"}
    env["PYTHONPATH"] = str(ROOT)
    env["JAX_PLATFORMS"] = "cpu"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True, timeout=300
    )
    devices, digest = done.stdout.split()[-2:]
    return int(devices), digest


def test_two_devices_match_one_device() -> None:
    one = _run(1)
    two = _run(2)
    assert one[0] == 1 and two[0] == 2
    assert one[1] == two[1]


THREADS = """
import collections, os
from service.jobs.queue_worker import start_jax_with_threads
allowed = os.sched_getaffinity(0)
start_jax_with_threads(1)
threads = [int(t) for t in os.listdir("/proc/self/task")]
names = collections.Counter(open(f"/proc/self/task/{t}/comm").read().strip() for t in threads)
print(names["tf_XLAEigen"], all(os.sched_getaffinity(t) == allowed for t in threads))
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="thread affinity is Linux's")
def test_a_worker_given_one_thread_starts_jax_with_one_and_pins_nothing() -> None:
    """`axiom worker --threads 1`: XLA's CPU pool has one thread, and every thread of the process
    may still run on every core the process could before."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-c", THREADS], env=env, capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split()[-2:] == ["1", "True"], done
