"""Calibration throughput and the 2-worker speed-up.

    .venv/bin/python benchmarks/bench_calibration.py [--budget 64] [--employees 120]
                                                     [--steps 52] [--repeats 1]

Runs the same calibration (calibrations/gallup_example.toml's targets and priors at the
given size, 2 runs per point) on 1 and on 2 local worker processes, each into a fresh
directory, and prints the runs per second (simulations, not points), the wall time, the
overhead over the same simulations run bare one after another, the speed-up of 2 workers
over 1 (the results are identical: checked) and the load average
before and after (the machine's cores may be shared: timings are noisy).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from experiments.calibration import DEFAULT_REPLICATIONS, calibrate, observable_names
from experiments.targets import parse_targets
from scenarios.settings import read_toml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "calibrations" / "gallup_example.toml"


def targets(budget: int, employees: int, steps: int):
    content = read_toml(EXAMPLE)
    content["calibration"] = {**content.get("calibration", {}), "budget": budget,
                              "employees": employees, "steps": steps}
    return parse_targets(content, str(EXAMPLE), observable_names())


def timed(workers: int, budget: int, employees: int, steps: int) -> tuple[float, pd.DataFrame]:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        fit, _ = calibrate("hierarchical", targets(budget, employees, steps), Path(tmp) / "o",
                           workers=workers)
        return time.perf_counter() - start, fit.trials.drop(columns="trial")


def bare(budget: int, employees: int, steps: int) -> float:
    """The same points' simulations, one after another, without the calibration around them
    (no Optuna study, no likelihoods, no outputs)."""
    from experiments.calibration import PointTask, point_seeds, resolve_points, simulate_point
    from scenarios.settings import load_setting

    chosen = targets(budget, employees, steps)
    base = load_setting("hierarchical").parameters({"n_employees": employees, "steps": steps})
    reps = chosen.option("replications", DEFAULT_REPLICATIONS)
    start = time.perf_counter()
    for k, params in enumerate(resolve_points(base, chosen, budget)):
        simulate_point(PointTask(k, params, point_seeds(chosen.option("seed", 2026), k, reps),
                                 (0.7, 0.5)))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=64)
    parser.add_argument("--employees", type=int, default=120)
    parser.add_argument("--steps", type=int, default=52)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    runs = args.budget * targets(args.budget, args.employees, args.steps).option(
        "replications", DEFAULT_REPLICATIONS)
    load = os.getloadavg()[0]
    timed(1, 2, args.employees, args.steps)  # warm up: imports, compiled kernels
    seconds: dict[int, list[float]] = {0: [], 1: [], 2: []}
    frames = {}
    for _ in range(args.repeats):
        seconds[0].append(bare(args.budget, args.employees, args.steps))
        for workers in (1, 2):
            took, frames[workers] = timed(workers, args.budget, args.employees, args.steps)
            seconds[workers].append(took)
    pd.testing.assert_frame_equal(frames[1], frames[2])  # same result on any workers
    median = {w: statistics.median(s) for w, s in seconds.items()}
    print(f"calibration of {args.budget} points x {runs // args.budget} runs = {runs} runs of "
          f"{args.employees} employees x {args.steps} steps (median of {args.repeats})")
    print(f"  bare runs, one after another: {median[0]:.1f} s, {runs / median[0]:.1f} runs/s")
    print(f"  calibration overhead on 1 worker: {median[1] / median[0] - 1:+.1%}")
    for workers in (1, 2):
        print(f"  {workers} worker{'s' if workers > 1 else ''}: {median[workers]:.1f} s, "
              f"{runs / median[workers]:.1f} runs/s")
    print(f"  speed-up of 2 workers: {median[1] / median[2]:.2f}x (results identical)")
    print(f"  load average (1 min) before {load:.2f}, after {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
