"""Sweep overhead and parallel speed-up, measured in one process.

    .venv/bin/python benchmarks/bench_sweep.py [--quick] [--repeats 3]
    .venv/bin/python benchmarks/bench_sweep.py --small   # 1,000 runs of 100 x 50 steps

For the same runs (a small grid x replications, default 500 employees x 200 steps):

- baseline: each run's bare ``run_once(parameters, seed)`` timed one after another (its
  tables beyond the model and its summary are printed too);
- sweep, 1 worker: ``run_sweep`` in this process (chunking, tidy frames, Parquet files);
- sweep, 2 workers: ``run_sweep`` on a pool of 2 processes.

Prints medians over repeats, the sweep overhead (1-worker sweep vs the baselines, and
inside one sweep: wall time vs time in the model runs; target <= 10%), the 2- vs
1-worker speed-up (target >= 1.8x) and the load average before and after. The
machine's cores may be shared: timings are noisy, ratios are measured back to back in the
same process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from experiments import sweep as sweep_module  # noqa: E402
from experiments.runner import run_once  # noqa: E402
from experiments.sweep import run_sweep  # noqa: E402
from experiments.sweep_spec import Sweep, resolve_sweep  # noqa: E402
from model.analysis import summarize  # noqa: E402
from model.organization import OrganizationModel  # noqa: E402
from model.parameters import Parameters  # noqa: E402


def bench_sweep(employees: int, steps: int, replications: int) -> Sweep:
    return resolve_sweep({
        "setting": "hierarchical", "seed": 7, "replications": replications, "steps": steps,
        "parameters": {"n_employees": employees},
        "timeseries": ["coasting_share", "hidden_coasting_share"], "record_every": 10,
        "vary": {"span_of_control": [6, 10], "work_visibility": [0.1, 0.3]},
    }, "benchmark")


def bare_model(params: Parameters, seed: int) -> None:
    """Exactly the model work a sweep run does: build, run, summarize."""
    summarize(OrganizationModel(params, rng=seed).run())


def time_baseline(sweep: Sweep, run: Callable[[Parameters, int], object]) -> float:
    """Sum of bare run times over the sweep's runs."""
    total = 0.0
    for item in sweep.runs:
        params = Parameters(**{**sweep.base, **sweep.points[item.point_id]})
        start = time.perf_counter()
        run(params, item.seed)
        total += time.perf_counter() - start
    return total


def time_sweep(sweep: Sweep, workers: int) -> float:
    """Wall time of a sweep."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        run_sweep(sweep, Path(folder) / "out", workers=workers)
        return time.perf_counter() - start


def inside_overhead(sweep: Sweep) -> float:
    """1-worker sweep wall time over the time spent inside its model runs, minus 1.

    Both are measured during the same sweep, so other load on the machine affects them
    alike; this isolates the sweep's own work (chunks, tidy frames, Parquet writes)."""
    inside = [0.0]
    original = sweep_module.observe_run

    def timed(*args):
        start = time.perf_counter()
        result = original(*args)
        inside[0] += time.perf_counter() - start
        return result

    sweep_module.observe_run = timed
    try:
        wall = time_sweep(sweep, 1)
    finally:
        sweep_module.observe_run = original
    return wall / inside[0] - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 employees x 100 steps")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--replications", type=int, default=16,
                        help="per grid point (4 points; default 64 runs)")
    parser.add_argument("--small", action="store_true",
                        help="small organizations: 1,000 runs (250 per point) of 100 x 50 steps")
    args = parser.parse_args()
    employees, steps = (200, 100) if args.quick else (500, 200)
    if args.small:
        employees, steps, args.replications = 100, 50, 250
    sweep = bench_sweep(employees, steps, args.replications)
    time_baseline(bench_sweep(60, 5, 1), run_once)  # warm up compiled kernels
    load_before = os.getloadavg()[0]
    inside: list[float] = []
    times: dict[str, list[float]] = {"run_once": [], "model": [], "sweep_1": [], "sweep_2": []}
    for _ in range(args.repeats):
        times["run_once"].append(time_baseline(sweep, run_once))
        times["model"].append(time_baseline(sweep, bare_model))
        times["sweep_1"].append(time_sweep(sweep, 1))
        times["sweep_2"].append(time_sweep(sweep, 2))
        inside.append(inside_overhead(sweep))
    median = {name: statistics.median(values) for name, values in times.items()}
    runs = len(sweep.runs)
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {runs} runs of {employees} employees x "
          f"{steps} steps, median of {args.repeats}; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs (other work shares them)")
    for name, label in (("run_once", "bare run_once, one after another"),
                        ("model", "bare model run + summarize"),
                        ("sweep_1", "run_sweep, 1 worker"), ("sweep_2", "run_sweep, 2 workers")):
        print(f"  {label:34s} {median[name]:7.2f} s  ({median[name] / runs:.3f} s per run)  "
              f"all: {', '.join(f'{t:.2f}' for t in times[name])}")
    for name, label in (("run_once", "bare run_once"), ("model", "bare model + summarize")):
        overhead = median["sweep_1"] / median[name] - 1
        print(f"sweep overhead, 1 worker vs {label:24s} {overhead:+6.1%}  (target <= +10%)")
    print(f"run_once's tables (timeseries, ideas, adoption curves) beyond model + summarize: "
          f"{(median['run_once'] - median['model']) / runs * 1e3:+.2f} ms per run "
          f"({median['run_once'] / median['model'] - 1:+.1%})")
    print(f"sweep overhead inside one sweep (wall vs time in model runs): "
          f"{statistics.median(inside):+.1%}  (all: {', '.join(f'{x:+.1%}' for x in inside)})")
    print(f"speed-up, 2 workers over 1 worker: {median['sweep_1'] / median['sweep_2']:.2f}x  "
          "(target >= 1.8x)")
    print(f"2-worker sweep vs bare model runs: {median['model'] / median['sweep_2']:.2f}x")


if __name__ == "__main__":
    main()
