"""Conversations against the whole step: time per step of the conversations process.

    .venv/bin/python benchmarks/bench_conversations.py [--sizes 100 10000] [--steps 50]
                                                       [--repeats 3]

For each size it steps fresh models (one per repeat), timing every process of every
step, and prints the conversations' median microseconds per step (and nanoseconds per
employee), the whole step's, and their ratio: the share of a step spent in
conversations, measured in the same steps, so that machine load cancels out of it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model import OrganizationModel, Parameters  # noqa: E402


def time_steps(n: int, steps: int, seed: int) -> tuple[list[float], list[float]]:
    """Seconds per step of the conversations process and of all processes."""
    model = OrganizationModel(Parameters(n_employees=n, steps=steps), rng=seed)
    conversations, whole = [], []
    for _ in range(steps):
        model.steps += 1  # what Mesa's step wrapper does before step()
        total = 0.0
        for process in model.processes:
            start = time.perf_counter()
            process.step()
            took = time.perf_counter() - start
            total += took
            if process is model.conversations:
                conversations.append(took)
        whole.append(total)
    return conversations, whole


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    OrganizationModel(Parameters(n_employees=200, steps=3), rng=1).run()  # compile/load
    print(f"{'employees':>10} {'conversations us/step':>22} {'ns/employee':>12} "
          f"{'step us':>9} {'share':>6}  ({args.repeats} runs x {args.steps} steps)")
    for n in args.sizes:
        conversations, whole = [], []
        for r in range(args.repeats):
            c, w = time_steps(n, args.steps, seed=100 + r)
            conversations += c
            whole += w
        conv_us = statistics.median(conversations) * 1e6
        step_us = statistics.median(whole) * 1e6
        print(f"{n:>10,} {conv_us:>22.1f} {conv_us * 1e3 / n:>12.1f} {step_us:>9.1f} "
              f"{conv_us / step_us:>6.2f}")


if __name__ == "__main__":
    main()
