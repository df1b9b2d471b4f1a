"""Command-line start-up benchmark: what a user waits for after pressing Enter.

Each command runs as its own process, end to end (interpreter start, imports, output),
interleaved with the baseline ``python -c "import typer, numpy"`` so that load on a
shared machine hits both alike. Prints medians and the ratio to the baseline; the
target is at most 2.5x for ``--help``, ``settings`` and ``parameters``.

    .venv/bin/python benchmarks/bench_cli.py [--repeats 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ("baseline: import typer, numpy", ["-c", "import typer, numpy"])
TARGETED = {"run.py --help": ["run.py", "--help"], "run.py settings": ["run.py", "settings"],
            "run.py parameters": ["run.py", "parameters"]}
REPORTED = {"run.py run nosuch (error)": ["run.py", "run", "nosuch"],
            "run.py compare --replications x (error)": ["run.py", "compare", "-r", "x"]}
TARGET_RATIO = 2.5


def wall_time(args: list[str]) -> float:
    """Seconds from process start to exit."""
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def measure(commands: dict[str, list[str]], repeats: int) -> dict[str, float]:
    """Median wall time of each command, runs interleaved round by round."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _name, args in commands.items():  # warm the file cache once
        wall_time(args)
    for _ in range(repeats):
        for name, args in commands.items():
            times[name].append(wall_time(args))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    medians = measure({BASELINE[0]: BASELINE[1], **TARGETED, **REPORTED}, args.repeats)
    base = medians[BASELINE[0]]
    print(f"median of {args.repeats} runs each, interleaved (python {sys.version.split()[0]})")
    print(f"{'command':42} {'seconds':>8} {'x baseline':>11}  target")
    failed = []
    for name, seconds in medians.items():
        ratio = seconds / base
        verdict = ""
        if name in TARGETED:
            verdict = f"<= {TARGET_RATIO}x " + ("PASS" if ratio <= TARGET_RATIO else "FAIL")
            failed += [name] if ratio > TARGET_RATIO else []
        print(f"{name:42} {seconds:8.3f} {ratio:10.2f}x  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
