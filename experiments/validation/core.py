"""The shape of a validation experiment: checks, tidy results, a figure, seeds and workers.

An experiment sets parameters (never outcomes), runs replications with seeds derived
from one root seed, and returns an :class:`Outcome`: one :class:`Check` per published
target (target, what the model gives, tolerance, pass or fail), a tidy table, a plotly
figure, the parameters used and the sources.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Plan:
    """How to run: quick (CI) or full (docs), root seed, worker processes."""

    quick: bool = True
    seed: int = 2026
    workers: int = 1

    def pick(self, quick: Any, full: Any) -> Any:
        return quick if self.quick else full


@dataclass(frozen=True)
class Check:
    """One published target against what the model gives.

    ``passed`` is None for a reported comparison that is not a pass/fail criterion.
    """

    name: str
    target: str
    model: str
    tolerance: str
    passed: bool | None

    @property
    def verdict(self) -> str:
        return "info" if self.passed is None else ("PASS" if self.passed else "FAIL")


@dataclass
class Outcome:
    """Everything an experiment reports."""

    name: str
    title: str
    sources: list[str]
    checks: list[Check]
    table: pd.DataFrame
    figure: Any
    parameters: dict[str, Any]
    design: str
    notes: str = ""
    seeds: list[int] = field(default_factory=list)
    extra_tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed is not False for c in self.checks)


@dataclass(frozen=True)
class Experiment:
    """A named validation experiment."""

    name: str
    title: str
    run: Callable[[Plan], Outcome]


def experiment_seeds(root: int, name: str, count: int) -> list[int]:
    """Replication seeds of one experiment: the root seed and the experiment's name."""
    sequence = np.random.SeedSequence(root, spawn_key=(zlib.crc32(name.encode()),))
    return [int(s) for s in sequence.generate_state(count, dtype=np.uint32)]


def _call(job: tuple[Callable[..., dict], dict[str, Any]]) -> dict[str, Any]:
    fn, kwargs = job
    return fn(**kwargs)


def replicate(fn: Callable[..., dict], points: list[dict[str, Any]], seeds: list[int],
              workers: int = 1) -> pd.DataFrame:
    """Run ``fn(**point, seed=s)`` for every point and seed; one tidy row per run.

    Every point uses the same seeds (common random numbers across conditions).
    """
    jobs = [(fn, {**point, "seed": s}) for point in points for s in seeds]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_call, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
    else:
        results = [_call(job) for job in jobs]
    rows = []
    for (_, kwargs), result in zip(jobs, results, strict=True):
        seed = kwargs["seed"]
        point = {k: v for k, v in kwargs.items() if k != "seed"}
        rows.append({**point, "replication": seeds.index(seed), "seed": seed, **result})
    return pd.DataFrame(rows)


def within(value: float, target: float, tolerance: float) -> bool:
    return bool(abs(value - target) <= tolerance)


def fmt(value: float, digits: int = 3) -> str:
    return "never" if value is None or value != value else f"{value:.{digits}f}"


def markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A pipe table of a small frame (floats to ``digits`` decimals)."""
    def cell(value: Any) -> str:
        text = f"{value:.{digits}f}" if isinstance(value, float) else str(value)
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in frame.itertuples(index=False)]
    return "\n".join(lines)
