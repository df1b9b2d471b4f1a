"""Calibration throughput and the speed-up of 2 workers, local and on a Dask cluster.

    .venv/bin/python benchmarks/bench_calibration.py [--budget 64] [--population 32]
                                                     [--employees 120] [--steps 52]
                                                     [--repeats 1]

Runs the same calibration (calibrations/gallup_example.toml's targets and priors at the
given size, 2 runs per point, 2 generations of the adaptive search by default) in this
process (1 worker), on 2 local worker processes, and on a local Dask cluster of worker
processes (distributed.LocalCluster, processes=True, one thread each) with 1 and with 2
workers, each into a fresh directory. Prints the runs per second (simulations, not
points), the wall time, the overhead over the same simulations run bare one after another,
the speed-ups of 2 workers over 1 (the results are identical everywhere: checked) and the
load average before and after (the machine's cores may be shared: timings are noisy).
"""

from __future__ import annotations

import argparse
import contextlib
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


def targets(budget: int, population: int, employees: int, steps: int):
    content = read_toml(EXAMPLE)
    content["calibration"] = {**content.get("calibration", {}), "budget": budget,
                              "population": population, "employees": employees,
                              "steps": steps}
    return parse_targets(content, str(EXAMPLE), observable_names())


def timed(mode: str, args: argparse.Namespace) -> tuple[float, pd.DataFrame]:
    """Seconds of one calibration on ``mode`` ("local-1", "local-2", "dask-1", "dask-2")
    and its trials (the cluster's start and its workers' first runs, which import and
    compile the engine, are not timed)."""
    kind, workers = mode.split("-")
    chosen = targets(args.budget, args.population, args.employees, args.steps)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        scheduler = None
        if kind == "dask":
            from distributed import LocalCluster

            cluster = stack.enter_context(LocalCluster(
                n_workers=int(workers), threads_per_worker=1, processes=True,
                dashboard_address=None))
            scheduler = cluster.scheduler_address
            warm = targets(2 * int(workers), 2 * int(workers), args.employees, args.steps)
            calibrate("hierarchical", warm, Path(tmp) / "warm", scheduler=scheduler)
        start = time.perf_counter()
        fit, _ = calibrate("hierarchical", chosen, Path(tmp) / "o",
                           workers=int(workers) if kind == "local" else 1,
                           scheduler=scheduler)
        return time.perf_counter() - start, fit.trials.drop(columns="trial")


def bare(trials: pd.DataFrame, args: argparse.Namespace) -> float:
    """The same points' simulations, one after another, without the calibration around them
    (no Optuna study, no proposals, no likelihoods, no outputs)."""
    import json

    from experiments.calibration import PointTask, simulate_point
    from scenarios.settings import load_setting

    chosen = targets(args.budget, args.population, args.employees, args.steps)
    base = load_setting("hierarchical").parameters({"n_employees": args.employees,
                                                    "steps": args.steps})
    names = [p.name for p in chosen.priors]
    start = time.perf_counter()
    for row in trials.to_dict("records"):
        params = type(base)(**{**base.model_dump(), **{n: row[n] for n in names}})
        simulate_point(PointTask(row["point"], params, tuple(json.loads(row["seeds"])),
                                 (0.7, 0.5)))
    return time.perf_counter() - start


MODES = ("local-1", "local-2", "dask-1", "dask-2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=64)
    parser.add_argument("--population", type=int, default=32)
    parser.add_argument("--employees", type=int, default=120)
    parser.add_argument("--steps", type=int, default=52)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    runs = args.budget * targets(args.budget, args.population, args.employees,
                                 args.steps).option("replications", DEFAULT_REPLICATIONS)
    load = os.getloadavg()[0]
    warm = argparse.Namespace(**{**vars(args), "budget": 4, "population": 2})
    timed("local-1", warm)  # warm up: imports (pyabc), compiled kernels
    seconds: dict[str, list[float]] = {m: [] for m in ("bare", *MODES)}
    frames = {}
    for _ in range(args.repeats):
        for mode in MODES:
            took, frames[mode] = timed(mode, args)
            seconds[mode].append(took)
        seconds["bare"].append(bare(frames["local-1"], args))
    for mode in MODES[1:]:
        pd.testing.assert_frame_equal(frames["local-1"], frames[mode])  # same everywhere
    median = {m: statistics.median(s) for m, s in seconds.items()}
    print(f"calibration of {args.budget} points ({args.population} a generation) x "
          f"{runs // args.budget} runs = {runs} runs of {args.employees} employees x "
          f"{args.steps} steps (median of {args.repeats})")
    print(f"  bare runs, one after another: {median['bare']:.1f} s, "
          f"{runs / median['bare']:.1f} runs/s")
    print(f"  calibration overhead on 1 worker: {median['local-1'] / median['bare'] - 1:+.1%}")
    for mode in MODES:
        print(f"  {mode}: {median[mode]:.1f} s, {runs / median[mode]:.1f} runs/s")
    print(f"  speed-up of 2 workers: local processes {median['local-1'] / median['local-2']:.2f}x"
          f", Dask cluster {median['dask-1'] / median['dask-2']:.2f}x (results identical)")
    print(f"  load average (1 min) before {load:.2f}, after {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
