"""Engine throughput benchmark: OrganizationModel against idiomatic Mesa baselines.

Measures agent-steps per second (employees x steps / wall seconds of ``model.run``)
with all mechanisms on at default parameters, at 1,000, 10,000 and 100,000
employees, and the same at 1,000 and 10,000 for two one-object-per-agent Mesa models
(benchmarks/mesa_baseline.py), each with one conversation per employee per step
through ``shuffle_do``:

- ``lean``: a toy conversation (uniform partner, copy norms, pass an idea with a
  fixed chance): the least work a Mesa conversation can do;
- ``same rules``: this model's own conversation and adoption rule (docs/ODD.md
  7.3-7.4: weighted partner choice under constraints, norms, work seen, voice,
  the logistic adoption trial, tie reinforcement and decay), and nothing else.

Construction time is timed separately. Each figure is the median of several repeats
(the machine is shared). Numba kernels are warmed up before any timing.

Run from the repository root::

    .venv/bin/python benchmarks/bench_engine.py              # full table (a few minutes)
    .venv/bin/python benchmarks/bench_engine.py --quick      # smoke run
    .venv/bin/python benchmarks/bench_engine.py --million    # plus 1M x 100 steps

Targets: >= 5M agent-steps/s at 10,000 employees, >= 25x the baseline, and
1,000,000 employees x 100 steps in <= 60 s and <= 2 GB peak memory, >= 1.6x faster on
two threads than on one (numba's parallel loops), with identical results.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.mesa_baseline import BaselineModel, ConversationBaselineModel  # noqa: E402
from model import OrganizationModel, Parameters  # noqa: E402

TARGET_RATE_10K = 5_000_000
TARGET_RATIO = 25.0
TARGET_MILLION_SECONDS = 60.0
TARGET_MILLION_MB = 2048.0
TARGET_THREAD_SPEEDUP = 1.6
MILLION_THREADS = (1, 2)
MILLION = 1_000_000
MILLION_STEPS = 100


@dataclass
class Timing:
    """Median construction and run seconds of one engine at one size."""

    n: int
    steps: int
    build_s: float
    run_s: float

    @property
    def rate(self) -> float:
        return self.n * self.steps / self.run_s


def log(message: str) -> None:
    print(message, flush=True)


def build_ours(n: int, steps: int, seed: int) -> OrganizationModel:
    return OrganizationModel(Parameters(n_employees=n, steps=steps), rng=seed)


def build_lean(n: int, steps: int, seed: int) -> BaselineModel:
    return BaselineModel(n, rng=seed)


def build_same_rules(n: int, steps: int, seed: int) -> ConversationBaselineModel:
    return ConversationBaselineModel(n, rng=seed)


BASELINES = {"lean": build_lean, "same rules": build_same_rules}


def warm_up() -> float:
    """Load or compile the numba kernels on a tiny model; return the seconds it took."""
    start = time.perf_counter()
    build_ours(300, 60, seed=0).run()
    return time.perf_counter() - start


def time_once(build: Callable, n: int, steps: int, seed: int) -> tuple[float, float]:
    """Seconds to construct one model and to run it ``steps`` steps."""
    gc.collect()
    start = time.perf_counter()
    model = build(n, steps, seed)
    built = time.perf_counter()
    model.run(steps)
    done = time.perf_counter()
    return built - start, done - built


def measure(engines: dict[str, Callable], n: int, steps: int,
            repeats: int) -> dict[str, Timing]:
    """Median timings per engine over ``repeats`` fresh models each, logging every repeat.

    Engines alternate within each repeat so that both see the same machine load.
    """
    builds: dict[str, list[float]] = {name: [] for name in engines}
    runs: dict[str, list[float]] = {name: [] for name in engines}
    for k in range(repeats):
        for name, build in engines.items():
            build_s, run_s = time_once(build, n, steps, seed=k + 1)
            builds[name].append(build_s)
            runs[name].append(run_s)
            log(f"  {name:10s} n={n:>9,} repeat {k + 1}/{repeats}: build {build_s:7.3f} s, "
                f"run {run_s:7.3f} s, {n * steps / run_s:>12,.0f} agent-steps/s")
    return {name: Timing(n, steps, statistics.median(builds[name]),
                         statistics.median(runs[name])) for name in engines}


def machine_load() -> str:
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.2f} (1 min) {five:.2f} (5 min)"


def repeats_for(n: int, quick: bool) -> int:
    if quick:
        return 1
    return 5 if n <= 10_000 else 3


def print_table(ours: dict[int, Timing], base: dict[str, dict[int, Timing]]) -> None:
    """Throughput table: sizes as rows; ours, then each baseline with our ratio to it."""
    log("")
    log("agent-steps/s = employees x steps / wall seconds of run(); medians")
    header = f"{'employees':>10} {'ours':>12}"
    for name in base:
        header += f" {name + ' baseline':>20} {'ratio':>7}"
    log(header + f" {'ours build s':>13}")
    for n in sorted(ours):
        row = f"{n:>10,} {fmt_rate(ours[n]):>12}"
        for timings in base.values():
            b = timings.get(n)
            row += f" {fmt_rate(b):>20} {f'{ours[n].rate / b.rate:.1f}x' if b else '-':>7}"
        log(row + f" {ours[n].build_s:>13.3f}")


def fmt_rate(t: Timing | None) -> str:
    return f"{t.rate:,.0f}" if t else "-"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_targets(ours: dict[int, Timing], base: dict[str, dict[int, Timing]]) -> None:
    log("")
    if 10_000 in ours:
        rate = ours[10_000].rate
        log(f"target >= {TARGET_RATE_10K:,} agent-steps/s at 10,000: {rate:,.0f}  "
            f"[{verdict(rate >= TARGET_RATE_10K)}]")
    for name, timings in base.items():
        for n in sorted(ours.keys() & timings.keys()):
            ratio = ours[n].rate / timings[n].rate
            log(f"target >= {TARGET_RATIO:.0f}x the {name} baseline at {n:,}: {ratio:.1f}x  "
                f"[{verdict(ratio >= TARGET_RATIO)}]")


def threading_layer() -> str:
    """numba's threading layer, or "none" if no parallel loop ran."""
    import numba

    try:
        return numba.threading_layer()
    except ValueError:
        return "none"


def run_child(n: int, steps: int, threads: int) -> None:
    """Subprocess body for --million: on ``threads`` numba threads, warm up, build, run,
    print a JSON line of results (with a digest of the result table)."""
    import numba

    numba.set_num_threads(threads)
    warm_up()
    gc.collect()
    start = time.perf_counter()
    model = build_ours(n, steps, seed=1)
    built = time.perf_counter()
    model.run(steps)
    done = time.perf_counter()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    digest = hashlib.sha256(model.results.values[: model.results.rows].tobytes()).hexdigest()
    print(json.dumps({"build_s": built - start, "run_s": done - built, "peak_mb": peak_kb / 1024,
                      "threads": numba.get_num_threads(), "layer": threading_layer(),
                      "digest": digest[:16]}))


def million_run(n: int, steps: int, threads: int) -> dict:
    """Run the ``n`` x ``steps`` job on ``threads`` threads in a fresh interpreter and
    return its JSON report."""
    log(f"\n--million: {n:,} employees x {steps} steps on {threads} thread(s) "
        "in a fresh subprocess ...")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(n),
                           "--steps", str(steps), "--threads", str(threads)],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        log(proc.stderr)
        raise SystemExit(f"million run failed (exit {proc.returncode})")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    report["process_s"] = wall
    return report


def print_million(report: dict, n: int, steps: int) -> None:
    run_s, peak = report["run_s"], report["peak_mb"]
    log(f"{n:,} x {steps} steps on {report['threads']} thread(s) ({report['layer']}): build "
        f"{report['build_s']:.1f} s, run {run_s:.1f} s ({n * steps / run_s:,.0f} agent-steps/s), "
        f"whole subprocess {report['process_s']:.1f} s, peak RSS {peak:,.0f} MB, "
        f"results digest {report['digest']}")
    ok = verdict(run_s <= TARGET_MILLION_SECONDS)
    log(f"target run <= {TARGET_MILLION_SECONDS:.0f} s: [{ok}]"
        f"   target peak <= {TARGET_MILLION_MB:,.0f} MB: [{verdict(peak <= TARGET_MILLION_MB)}]")


def print_thread_speedup(reports: list[dict]) -> None:
    """Run time on one thread over run time on the most threads, and whether results match."""
    one, most = reports[0], reports[-1]
    speedup = one["run_s"] / most["run_s"]
    same = len({r["digest"] for r in reports}) == 1
    log(f"\nspeed-up on {most['threads']} threads over 1: {speedup:.2f}x "
        f"(run {one['run_s']:.1f} s vs {most['run_s']:.1f} s)  "
        f"[{verdict(speedup >= TARGET_THREAD_SPEEDUP)} target >= {TARGET_THREAD_SPEEDUP}x]; "
        f"identical results: {'yes' if same else 'NO'}  [{verdict(same)}]")
    log(f"(wall-clock ratio: meaningful only while no other job holds the cores; {machine_load()})")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1,000 and 10,000 employees, 1 repeat, 20 steps")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per timed run (default 100; 20 with --quick)")
    parser.add_argument("--million", action="store_true",
                        help=f"also run {MILLION:,} employees x {MILLION_STEPS} steps "
                             "in a subprocess (slow)")
    parser.add_argument("--million-steps", type=int, default=MILLION_STEPS,
                        help=f"steps of the --million runs (default {MILLION_STEPS})")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        run_child(args.child, args.steps or MILLION_STEPS, args.threads)
        return
    steps = args.steps or (20 if args.quick else 100)
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    baseline_sizes = [1_000, 10_000]

    log(f"machine: {machine_load()}")
    log(f"warm-up (numba kernels): {warm_up():.2f} s")
    log(f"timing {steps} steps per run; medians of repeats")
    ours: dict[int, Timing] = {}
    base: dict[str, dict[int, Timing]] = {name: {} for name in BASELINES}
    for n in sizes:
        engines = {"ours": build_ours, **(BASELINES if n in baseline_sizes else {})}
        timings = measure(engines, n, steps, repeats_for(n, args.quick))
        ours[n] = timings.pop("ours")
        for name, timing in timings.items():
            base[name][n] = timing
    print_table(ours, base)
    print_targets(ours, base)
    log(f"machine at end: {machine_load()}")
    if args.million:
        reports = []
        for threads in MILLION_THREADS:
            reports.append(million_run(MILLION, args.million_steps, threads))
            print_million(reports[-1], MILLION, args.million_steps)
        print_thread_speedup(reports)


if __name__ == "__main__":
    main()
