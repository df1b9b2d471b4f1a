"""Small against large organizations: per-employee throughput end to end, in one process.

    .venv/bin/python benchmarks/bench_small.py [--repeats 7] [--quick]

For each size (100 employees x 50 steps, 500 x 200, 10,000 x 100), alternating sizes
within each repeat so all see the same machine load, it times:

- build: constructing the model (structure, employees, network);
- run: ``model.run()``, the model alone;
- summary: the run's summary as a sweep keeping the default headline numbers without
  the Bass coefficients asks for it (``summarize(model, metrics)``), and, separately,
  the Bass fit a sweep keeping ``bass_p`` or ``bass_q`` adds;
- end to end: build + run + summary.

It prints medians of the repeats as agent-steps per second (employees x steps / seconds)
and the ratio of the smallest size's end-to-end throughput to the largest's (target
>= 0.5: a small organization runs at least half as fast per employee as a large one).
The machine is shared: the ratio, measured back to back in the same process, is the
figure to read; absolute rates move with the load. Each small run above follows a large
one and a forced garbage collection, with cold caches; it also prints the small size end
to end as a sweep's worker meets it: BACK_TO_BACK runs one after another (a median of the
repeats, each run's seconds the batch's mean), and that figure's ratio to the large size;
and batched: BATCH replications in one call of ``experiments.runner.replicate``, on threads
as many as the cores (a small run's stretch of steps releases the GIL), with that figure's
ratio to the large size, the verdict, and the ratio per core: the large size runs on one
core (parallel loops start at model.parallel.PARALLEL_MIN items), so the batch's gain is
the cores it adds, not cheaper steps.

``--paths`` prints instead, for each size, the microseconds a step of ``model.run()``
takes with stretches of steps in one compiled call (model.fused.FusedSteps.run_steps)
and with one call a step (``model.organization.WHOLE_STEPS_MIN`` set out of reach), the
two alternating on the same seeds, and their ratio.

``--stages`` prints instead what one step of the fused step (model.fused.FusedSteps)
costs by stage at each size: each stage run alone, repeatedly, on a model 25 steps in,
less the cost of a call running no stage (its glue: arguments, results, Python).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from experiments.runner import available_cores, replicate  # noqa: E402
from model import OrganizationModel, Parameters  # noqa: E402
from model.analysis import summarize  # noqa: E402

SIZES = ((100, 50), (500, 200), (10_000, 100))
TARGET_RATIO = 0.5
BASS = ("bass_p", "bass_q")
BACK_TO_BACK = 20  # small organizations timed one after another, as in a sweep
BATCH = 40  # small organizations timed as one batch of replications on every core


def headline_metrics() -> tuple[str, ...]:
    """The summary's numbers a default sweep keeps, less the Bass coefficients."""
    tiny = OrganizationModel(Parameters(n_employees=20, steps=2), rng=0).run()
    return tuple(k for k in summarize(tiny) if k not in ("steps", "employees", "seed", *BASS))


def time_back_to_back(n: int, steps: int, seed: int, metrics: tuple[str, ...],
                      runs: int = BACK_TO_BACK) -> float:
    """Seconds a run, end to end, of ``runs`` organizations built, run and summarized one
    after another, as a sweep's worker takes them (no collection forced between them)."""
    gc.collect()
    start = time.perf_counter()
    for k in range(runs):
        model = OrganizationModel(Parameters(n_employees=n, steps=steps), rng=seed * runs + k)
        model.run()
        summarize(model, metrics)
    return (time.perf_counter() - start) / runs


def time_batched(n: int, steps: int, seed: int, metrics: tuple[str, ...],
                 runs: int = BATCH) -> float:
    """Seconds a run, end to end, of ``runs`` replications of one organization built, run
    and summarized in one batch on every core (experiments.runner.replicate: threads)."""
    gc.collect()
    start = time.perf_counter()
    replicate(Parameters(n_employees=n, steps=steps), range(seed * runs, (seed + 1) * runs),
              metrics=metrics)
    return (time.perf_counter() - start) / runs


def time_once(n: int, steps: int, seed: int, metrics: tuple[str, ...]) -> dict[str, float]:
    """Seconds to build, run and summarize one model, and to fit its Bass curve."""
    gc.collect()
    start = time.perf_counter()
    model = OrganizationModel(Parameters(n_employees=n, steps=steps), rng=seed)
    built = time.perf_counter()
    model.run()
    ran = time.perf_counter()
    summarize(model, metrics)
    summarized = time.perf_counter()
    summarize(model, BASS)
    fitted = time.perf_counter()
    return {"build": built - start, "run": ran - built, "summary": summarized - ran,
            "bass": fitted - summarized, "end_to_end": summarized - start}


STAGES = ("ENV", "GEN", "CONV", "REVIEW", "PLAYBOOK", "EFFORT", "MONITOR", "PERFORM", "COLLECT")


def stage_costs(n: int, repeats: int, calls: int = 200) -> dict[str, float]:
    """Microseconds per call of the fused step's stages (and of its glue, "none")."""
    import model.fused as organization

    times: dict[str, list[float]] = {name: [] for name in ("none", *STAGES)}
    for seed in range(repeats):
        model = OrganizationModel(Parameters(n_employees=n, steps=400), rng=seed)
        model.run(25)
        model._fused.run(0)  # (run() took no step by step: the step's entry is bound here)
        for name in times:
            stage = 0 if name == "none" else getattr(organization, name)
            start = time.perf_counter()
            for _ in range(calls):
                model._fused.run(stage)
            times[name].append((time.perf_counter() - start) / calls * 1e6)
    glue = statistics.median(times.pop("none"))
    return {"glue of a call": glue,
            **{name: statistics.median(t) - glue for name, t in times.items()}}


def print_stages(repeats: int) -> None:
    sizes = (SIZES[0][0], SIZES[-1][0])
    costs = {n: stage_costs(n, repeats) for n in sizes}
    print(f"fused step by stage, us per step (median of {repeats} models each)")
    print(f"{'stage':>15}" + "".join(f"{f'{n:,} employees':>18}" for n in sizes))
    for name in costs[sizes[0]]:
        print(f"{name:>15}" + "".join(f"{costs[n][name]:18.1f}" for n in sizes))


def time_paths(n: int, steps: int, seed: int) -> dict[str, float]:
    """Microseconds a step of ``run()`` (build excluded) along the two paths."""
    import model.organization as organization

    usual = organization.WHOLE_STEPS_MIN
    times = {}
    for path, least in (("steps in one call", usual), ("one call a step", sys.maxsize)):
        organization.WHOLE_STEPS_MIN = least
        try:
            gc.collect()
            model = OrganizationModel(Parameters(n_employees=n, steps=steps), rng=seed)
            start = time.perf_counter()
            model.run()
            times[path] = (time.perf_counter() - start) / steps * 1e6
        finally:
            organization.WHOLE_STEPS_MIN = usual
    return times


def print_paths(repeats: int) -> None:
    for n, steps in SIZES:  # warm up
        time_paths(n, min(steps, 10), 0)
    runs = {size: [time_paths(*size, k + 1) for k in range(repeats)] for size in SIZES}
    print(f"us per step of run(), median of {repeats} alternating pairs "
          f"(load average {os.getloadavg()[0]:.1f})")
    print(f"{'size':>14} {'steps in one call':>18} {'one call a step':>16} {'ratio':>6}")
    for (n, steps), pairs in runs.items():
        many = statistics.median(p["steps in one call"] for p in pairs)
        one = statistics.median(p["one call a step"] for p in pairs)
        ratio = statistics.median(p["steps in one call"] / p["one call a step"] for p in pairs)
        print(f"{f'{n:,} x {steps}':>14} {many:18.1f} {one:16.1f} {ratio:6.2f}")


def rate(n: int, steps: int, seconds: float) -> str:
    return f"{n * steps / seconds / 1e6:.3f}M"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 repeats")
    parser.add_argument("--paths", action="store_true",
                        help="steps in one call against one call a step instead")
    parser.add_argument("--stages", action="store_true",
                        help="the fused step's cost by stage instead")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    if args.stages:
        print_stages(repeats)
        return
    if args.paths:
        print_paths(repeats)
        return
    metrics = headline_metrics()
    for n, steps in SIZES:  # warm up: load compiled kernels, first-touch allocations
        time_once(n, min(steps, 10), 0, metrics)
    load_before = os.getloadavg()[0]
    times = {size: [] for size in SIZES}
    in_a_row, batched = [], []
    for k in range(repeats):
        for n, steps in SIZES:
            times[(n, steps)].append(time_once(n, steps, k + 1, metrics))
        in_a_row.append(time_back_to_back(*SIZES[0], k + 1, metrics))
        batched.append(time_batched(*SIZES[0], k + 1, metrics))
    med = {size: {part: statistics.median(t[part] for t in runs) for part in runs[0]}
           for size, runs in times.items()}
    print(f"median of {repeats} repeats; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs (shared)")
    print(f"{'size':>14} {'build ms':>9} {'run ms':>8} {'summary ms':>11} {'Bass fit ms':>12} "
          f"{'end to end':>11} {'model alone':>12}   (agent-steps/s)")
    for (n, steps), m in med.items():
        print(f"{f'{n:,} x {steps}':>14} {1e3 * m['build']:9.1f} {1e3 * m['run']:8.1f} "
              f"{1e3 * m['summary']:11.1f} {1e3 * m['bass']:12.1f} "
              f"{rate(n, steps, m['end_to_end']):>11} {rate(n, steps, m['run']):>12}")
    (sn, ss), (ln, ls) = SIZES[0], SIZES[-1]
    ratio = (sn * ss / med[SIZES[0]]["end_to_end"]) / (ln * ls / med[SIZES[-1]]["end_to_end"])
    alone = (sn * ss / med[SIZES[0]]["run"]) / (ln * ls / med[SIZES[-1]]["run"])
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    print(f"small/large per-employee throughput, end to end ({sn} x {ss} over {ln:,} x {ls}): "
          f"{ratio:.2f}  (target >= {TARGET_RATIO}) [{verdict}]")
    print(f"small/large per-employee throughput, model alone: {alone:.2f}")
    row = statistics.median(in_a_row)
    print(f"{sn} x {ss} end to end, {BACK_TO_BACK} runs one after another as in a sweep: "
          f"{1e3 * row:.2f} ms a run = {rate(sn, ss, row)} agent-steps/s; over "
          f"{ln:,} x {ls}: {(sn * ss / row) / (ln * ls / med[SIZES[-1]]['end_to_end']):.2f}")
    batch = statistics.median(batched)
    ratio = (sn * ss / batch) / (ln * ls / med[SIZES[-1]]["end_to_end"])
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    cores = min(available_cores(), BATCH)
    print(f"{sn} x {ss} end to end, batched: {BATCH} replications on {cores} threads "
          f"(experiments.runner.replicate): {1e3 * batch:.2f} ms a run = "
          f"{rate(sn, ss, batch)} agent-steps/s; over {ln:,} x {ls}: {ratio:.2f}  "
          f"(target >= {TARGET_RATIO}) [{verdict}]; per core ({ln:,} x {ls} runs on one): "
          f"{ratio / cores:.2f}")


if __name__ == "__main__":
    main()
