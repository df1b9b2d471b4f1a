"""Inline draws against numba's Generator calls: throughput of the same numbers.

    .venv/bin/python benchmarks/bench_draws.py [--count 300000] [--repeats 7]

Times, in one process, ``count`` uniform draws and ``count`` standard normal draws taken
one call at a time through a Stream (numba's Generator methods: a call through numpy's
function pointer each) and taken inline from the PCG64 state
(model/processes/generation.py: ``uniforms``, ``standard_normals``; parallel blocks from
PARALLEL_MIN draws on, so NUMBA_NUM_THREADS matters). Prints the medians in nanoseconds
per draw and the ratio; checks first that both give the very same numbers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.rng import (  # noqa: E402
    RandomStreams,  # noqa: E402
    standard_normals,
    uniforms,
)


@njit(cache=True)
def _called_uniforms(rng, out):
    for i in range(len(out)):
        out[i] = rng.random()


@njit(cache=True)
def _called_normals(rng, out):
    for i in range(len(out)):
        out[i] = rng.standard_normal()


def _inline_uniforms(rng, out):
    out[:] = uniforms(rng, len(out))


def median_ns(kernel, count: int, repeats: int) -> float:
    """Median nanoseconds per draw of ``kernel`` over ``repeats`` timed calls."""
    out = np.empty(count)
    stream = RandomStreams(1)["bench"]
    kernel(stream, out)  # compile / load
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        kernel(stream, out)
        times.append(time.perf_counter() - start)
    return statistics.median(times) / count * 1e9


def same_numbers(count: int) -> bool:
    ours, theirs = np.empty(count), np.empty(count)
    standard_normals(RandomStreams(2)["check"], ours)
    _called_normals(RandomStreams(2)["check"], theirs)
    return (np.array_equal(uniforms(RandomStreams(3)["check"], count),
                           RandomStreams(3)["check"].random(count))
            and np.array_equal(ours, theirs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if not same_numbers(args.count):
        sys.exit("inline draws differ from the Generator's")
    print(f"{'draws':10s} {'called ns':>10s} {'inline ns':>10s} {'ratio':>6s}   "
          f"({args.count:,} draws, median of {args.repeats})")
    for name, called, inline in (("uniform", _called_uniforms, _inline_uniforms),
                                 ("normal", _called_normals, standard_normals)):
        a = median_ns(called, args.count, args.repeats)
        b = median_ns(inline, args.count, args.repeats)
        print(f"{name:10s} {a:10.2f} {b:10.2f} {a / b:6.2f}")


if __name__ == "__main__":
    main()
