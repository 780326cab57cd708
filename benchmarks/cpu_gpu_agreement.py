"""Does the GPU draw the CPU's scenarios? The same spec and seed on both backends, array by array.

Run on a machine with a GPU (never by the test suite):

    python benchmarks/cpu_gpu_agreement.py --n-scenarios 20000 --out /tmp/agreement.json

Each backend runs in its own process (JAX_PLATFORMS=cpu, then cuda), simulating the shipped
Bristol sample. The random numbers are the same on both (threefry is integer arithmetic); the
float arithmetic around them (exp, log, sums) may round differently, so a near tie in the
finishing order can resolve the other way. The report says how often that happens and what it does
to the statistics a user reads (win and top-5 rates, mean points).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ARRAYS = ("points", "finish_position", "laps_led", "fastest_laps", "laps_completed", "dnf")

CHILD = """
import sys, jax, numpy as np
from core import ConstraintSpec, load_slate, run_simulation, sample_slate_path
slate = load_slate(sample_slate_path(), "bristol")
spec = ConstraintSpec.compile(slate.drivers, slate.track, n_scenarios=int(sys.argv[1]))
s = run_simulation(spec, seed=int(sys.argv[2])).scenarios
np.savez(sys.argv[3], device=str(jax.devices()[0]), **{name: getattr(s, name) for name in sys.argv[4:]})
"""


def simulate_on(platform: str, n_scenarios: int, seed: int, out: Path) -> dict[str, np.ndarray]:
    env = {**os.environ, "JAX_PLATFORMS": platform, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")]
    )}  # fmt: skip
    subprocess.run(
        [sys.executable, "-c", CHILD, str(n_scenarios), str(seed), str(out), *ARRAYS], env=env, check=True
    )
    with np.load(out) as saved:
        return {name: saved[name] for name in saved.files}


def compare(cpu: dict[str, np.ndarray], gpu: dict[str, np.ndarray]) -> dict[str, Any]:
    same_scenario = np.ones(cpu["points"].shape[0], dtype=bool)
    cells = {}
    for name in ARRAYS:
        equal = cpu[name] == gpu[name]
        cells[name] = float(equal.mean())
        same_scenario &= equal.all(axis=1)
    win_cpu, win_gpu = (cpu["finish_position"] == 1).mean(axis=0), (gpu["finish_position"] == 1).mean(axis=0)
    top5_cpu, top5_gpu = (
        (cpu["finish_position"] <= 5).mean(axis=0),
        (gpu["finish_position"] <= 5).mean(axis=0),
    )
    return {
        "devices": [str(cpu["device"]), str(gpu["device"])],
        "n_scenarios": int(cpu["points"].shape[0]),
        "scenarios_identical": float(same_scenario.mean()),
        "cells_identical": cells,
        "max_abs_points_diff": float(np.abs(cpu["points"] - gpu["points"]).max()),
        "max_abs_mean_points_diff": float(np.abs(cpu["points"].mean(0) - gpu["points"].mean(0)).max()),
        "max_abs_win_rate_diff": float(np.abs(win_cpu - win_gpu).max()),
        "max_abs_top5_rate_diff": float(np.abs(top5_cpu - top5_gpu).max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n-scenarios", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [simulate_on(p, args.n_scenarios, args.seed, Path(tmp) / f"{p}.npz") for p in ("cpu", "cuda")]
    report = compare(*runs)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
