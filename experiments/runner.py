"""Library entry points behind run.py: run one setting, replicate, compare, write outputs."""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import warnings
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.outputs import atomic_write, die_with_parent
from experiments.provenance import provenance
from model.analysis import chart_breakdown, idea_adoption_curves, idea_table, interventions_table
from model.chart import OrgChart
from model.organization import OrganizationModel
from model.parameters import Parameters
from model.roadmap import Roadmap
from scenarios.settings import Setting, stored_setting

MANAGER_JOIN_SECONDS = 30.0  # the pool's own thread stops within this after shutdown


@dataclass
class RunResult:
    """Everything one run produces."""

    setting: str
    seed: int
    parameters: Parameters
    timeseries: pd.DataFrame
    summary: dict[str, Any]
    ideas: pd.DataFrame
    adoption_curves: pd.DataFrame
    breakdown: pd.DataFrame | None = None  # by the chart's unit and level
    interventions: pd.DataFrame | None = None  # the roadmap's log


def run_once(parameters: Parameters, seed: int, setting: str = "custom",
             model_class: type[OrganizationModel] | None = None, chart: OrgChart | None = None,
             roadmap: Roadmap | None = None) -> RunResult:
    """Build, run and summarize one organization (of ``model_class``, e.g. an extension),
    on an imported ``chart`` and with a ``roadmap`` if given."""
    model = (model_class or OrganizationModel)(parameters, rng=seed, chart=chart,
                                               roadmap=roadmap).run()
    frame = model.results.to_frame()
    frame.insert(0, "seed", seed)
    frame.insert(0, "setting", setting)
    return RunResult(setting, seed, parameters, frame, model.summary(), idea_table(model),
                     idea_adoption_curves(model),
                     chart_breakdown(model) if chart is not None else None,
                     interventions_table(model) if roadmap else None)


def start_worker(parent: int, workers: int) -> None:
    """Worker initializer: die with ``parent``; with several workers, each runs numba's
    parallel loops on one thread, so that the workers do not fight over the cores."""
    die_with_parent(parent)
    if workers > 1:
        import numba

        numba.set_num_threads(1)


@contextmanager
def process_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of worker processes for independent runs.

    Forked on Linux (workers inherit the loaded model and compiled kernels: ~0.05 s to
    start instead of ~2 s each), spawned elsewhere. Python warns that forking a process
    with threads (pyarrow's pool, a progress bar) may deadlock; the workers only run the
    model and return plain data, so that warning is silenced here. Workers die with this
    process, even when it is killed with SIGKILL (:func:`experiments.outputs.die_with_parent`),
    and on an error or Ctrl+C/SIGTERM here nothing queued starts and running workers stop.
    """
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=start_worker,
                             initargs=(os.getpid(), workers)) as pool:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "This process .* is multi-threaded",
                                    DeprecationWarning)
            pool.submit(int).result()  # a forking pool starts all its workers at once
        workers_started = list((getattr(pool, "_processes", None) or {}).values())
        manager = getattr(pool, "_executor_manager_thread", None)
        try:
            yield pool
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            for worker in workers_started:
                worker.terminate()  # their results would be thrown away
            raise
        finally:  # the pool's thread closes its pipes; if Python's exit hook ran meanwhile,
            pool.shutdown(wait=False)  # it would write to a closed one (EBADF, a traceback)
            if manager is not None:
                manager.join(timeout=MANAGER_JOIN_SECONDS)


def replication_seeds(seed: int, replications: int) -> list[int]:
    """Seed of replication k: the same for every setting compared (common random numbers)."""
    children = np.random.SeedSequence(seed).generate_state(replications, dtype=np.uint32)
    return [int(s) for s in children]


def available_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def summarize_run(parameters: Parameters, seed: int, metrics: Collection[str] | None = None,
                  model_class: type[OrganizationModel] | None = None,
                  chart: OrgChart | None = None, roadmap: Roadmap | None = None
                  ) -> dict[str, Any]:
    """Build and run one organization (on an imported ``chart``, with a ``roadmap``); its
    summary (``metrics``: only the costly numbers named are computed, as in
    :meth:`OrganizationModel.summary`)."""
    return (model_class or OrganizationModel)(parameters, rng=seed, chart=chart,
                                              roadmap=roadmap).run().summary(metrics)


def replicate(parameters: Parameters, seeds: Sequence[int], *, threads: int | None = None,
              metrics: Collection[str] | None = None,
              model_class: type[OrganizationModel] | None = None,
              chart: OrgChart | None = None, roadmap: Roadmap | None = None,
              progress: Callable[[], None] | None = None) -> pd.DataFrame:
    """One organization per seed, built, run and summarized ``threads`` at a time in this
    process (default: one per core): a table with one row per run, in the order of
    ``seeds``, the same whatever ``threads`` is (each run draws only from its own seed).

    The batched mode for many replications of small organizations without worker
    processes (a notebook, a Dask worker's threads, a server): their stretches of steps
    are compiled calls that release the GIL (model.fused.fused_run), so on two cores two
    runs step at once while a third is built or summarized. Large organizations already
    use every core within a run."""
    threads = max(1, min(threads or available_cores(), len(seeds)))
    task = partial(summarize_run, parameters, metrics=metrics, model_class=model_class,
                   chart=chart, roadmap=roadmap)  # (read only: each model keeps its own state)
    rows: list[dict[str, Any]] = []
    with ThreadPoolExecutor(threads) if threads > 1 else nullcontext() as pool:
        for summary in (pool.map(task, seeds) if pool else map(task, seeds)):
            rows.append(summary)
            if progress:
                progress()
    return pd.DataFrame(rows)


def is_run_output(out: Path) -> bool:
    """Whether ``out`` holds what :func:`write_run` writes (so --force may replace it)."""
    return (out / "summary.json").is_file() and (out / "parameters.toml").is_file()


def write_run(result: RunResult, out: Path, description: str = "",
              model: str = "", setting: Setting | None = None) -> list[Path]:
    """Write timeseries (Parquet, CSV), ideas, summary.json (with the run's provenance and
    the extension ``model`` it ran, if any) and parameters.toml to ``out``; on a
    ``setting`` with a chart or a roadmap, parameters.toml holds them too (the chart and
    ties by pseudonym in chart.csv and ties.csv beside it), so it reruns the run."""
    made_by = {**({"model": model} if model else {}), "provenance": provenance()}
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "timeseries.parquet": lambda p: result.timeseries.to_parquet(p, index=False),
        "timeseries.csv": lambda p: result.timeseries.to_csv(p, index=False),
        "ideas.parquet": lambda p: result.ideas.to_parquet(p, index=False),
        "ideas.csv": lambda p: result.ideas.to_csv(p, index=False),
        "idea_adoption.parquet": lambda p: result.adoption_curves.to_parquet(p, index=False),
        "summary.json": lambda p: p.write_text(json.dumps(
            {"setting": result.setting, **result.summary, **made_by}, indent=2) + "\n"),
    }
    for name, text in stored_setting(result.parameters, description, setting).items():
        files[name] = lambda p, t=text: p.write_text(t, encoding="utf-8")
    for name, table in (("breakdown.csv", result.breakdown),
                        ("interventions.csv", result.interventions)):
        if table is not None:
            files[name] = lambda p, t=table: t.to_csv(p, index=False)
    written = []
    for name, write in files.items():
        atomic_write(out / name, write)
        written.append(out / name)
    return written
