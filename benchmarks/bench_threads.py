"""Conversations on one thread against two, in the same steps of the same process.

    NUMBA_NUM_THREADS=2 .venv/bin/python benchmarks/bench_threads.py [--employees 300000]
                                                                    [--steps 40]

One organization runs 10 steps, then is stepped with the thread count switched every step
(numba.set_num_threads; the conversations' compiled state is rebuilt so that it knows the
count), so that load from other jobs on a shared machine falls on both counts alike
(16 steps from the first, switched every other step, gave 1.05-1.41x in three runs at
300,000 employees; these 40 gave 1.61, 1.68, 1.65x). It
prints the conversations' median milliseconds per step on each count, and their ratio
(the speed-up of two threads). Results do not depend on the count (tests/test_threads.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numba

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model import OrganizationModel, Parameters  # noqa: E402

WARM_UP = 10  # steps before the timed ones


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=300_000)
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args(argv)
    if numba.config.NUMBA_NUM_THREADS < 2:
        sys.exit("needs NUMBA_NUM_THREADS >= 2")
    model = OrganizationModel(Parameters(n_employees=args.employees, steps=args.steps + 12),
                              rng=100)
    model.run(WARM_UP)  # (loads the compiled kernels; the idea registry fills)
    took: dict[int, list[float]] = {1: [], 2: []}
    for k in range(args.steps):
        threads = 1 + k % 2
        numba.set_num_threads(threads)
        model.conversations._state = None  # rebuilt for this thread count, outside the timing
        model.conversations.state()
        model.steps += 1  # what Mesa's step wrapper does before step()
        for process in model.processes:
            start = time.perf_counter()
            process.step()
            if process is model.conversations:
                took[threads].append(time.perf_counter() - start)
        model.ideas.record_step(model.steps, model.p.wide_adoption_share)
        model.results.collect(model)
    one, two = (statistics.median(took[t]) * 1e3 for t in (1, 2))
    print(f"{args.employees:,} employees, conversations per step (median of "
          f"{len(took[1])} steps each): 1 thread {one:.1f} ms, 2 threads {two:.1f} ms, "
          f"speed-up {one / two:.2f}x")


if __name__ == "__main__":
    main()
