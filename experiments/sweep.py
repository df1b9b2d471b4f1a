"""Run a sweep in chunks, on local processes or a Dask cluster, into a resumable Parquet dataset.

Output directory layout (``pandas.read_parquet(DIR)`` loads all the data and nothing else,
since pyarrow skips names starting with '.' or '_'):

- ``part-<first run>-<last run>.parquet``: one file per finished chunk, written
  atomically (a '.'-prefixed temporary file, fsync, then ``os.replace``). Tidy rows, one
  per observation: run_id, point_id, the varied parameters, replication, seed, step
  (null for the run summary, else the recorded step), metric, value.
- ``_manifest.json``: the sweep's resolved content and its hash, the factors, the
  design matrix (every run with its point, replication and seed) and the provenance
  (model version, commit, package versions, Python, platform; a resume under other
  versions is refused unless allowed, and then recorded under "resumes").
- ``_analysis/``: tables and charts written by ``sensitivity`` and ``plot``.
- ``_setting/``: the setting every point starts from, whole: ``setting.toml`` (the base
  parameters, the ``[organization]`` and ``[[intervention]]`` tables) and, on an imported
  organization, ``chart.csv`` and ``ties.csv`` by pseudonym, so the sweep's organization
  is kept with its data (its digest is in the manifest) even if the client's files change.

A chunk is the unit of work and of saving: the parent process writes each chunk as it
finishes, so a sweep killed at any moment keeps every finished chunk, and ``resume``
runs exactly the runs not yet in a part file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from experiments.outputs import (
    check_memory,
    check_output_path,
    disk_error,
    output_lock,
    run_bytes,
    run_seconds,
)
from experiments.plugins import load_model_class, metric_values
from experiments.provenance import provenance, version_change
from experiments.runner import process_pool
from experiments.sweep_spec import (
    Factor,
    Run,
    Sweep,
    canonical_json,
    point_parameters,
    point_roadmap,
)
from model.chart import OrgChart
from model.parameters import ParameterError, make_parameters
from scenarios.settings import Setting, stored_setting

MANIFEST = "_manifest.json"
ANALYSIS_DIR = "_analysis"
PART_GLOB = "part-*.parquet"
ID_COLUMNS = ("run_id", "point_id", "replication", "seed")
MAX_AUTO_CHUNK = 25
CHUNKS_PER_WORKER = 8
CONNECT_TIMEOUT = "20s"

Progress = Callable[[int, int], None]  # (runs done, runs in total)


@dataclass(frozen=True)
class Chunk:
    """A batch of runs sent to one worker in one message."""

    base: dict[str, Any]
    factors: tuple[Factor, ...]
    runs: tuple[Run, ...]
    points: tuple[dict[str, Any], ...]  # one per run
    metrics: tuple[str, ...]
    timeseries: tuple[str, ...]
    record_every: int
    model: str = ""  # "module:Class" of a model subclass ("" = OrganizationModel)
    chart: OrgChart | None = None  # the setting's imported organization
    interventions: tuple[dict[str, Any], ...] = ()  # its roadmap (varied by roadmap factors)
    source: str = ""  # the sweep file (named by a roadmap's errors)


# --- one run and one chunk (executed on workers) -------------------------------------------
def observe_run(chunk: Chunk, point: dict[str, Any],
                seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run one point; return the observations as (step, metric, value) arrays (step -1 = run)."""
    model_class = load_model_class(chunk.model, "sweep field 'model' (where the runs happen)")
    params = model_class.parameters_class(**{**chunk.base, **point_parameters(point)})
    roadmap = (point_roadmap(chunk.source, chunk.interventions, point, params, chunk.chart,
                             model_class.parameters_class,
                             [m.name for m in model_class.step_metrics])
               if chunk.interventions else None)
    model = model_class(params, rng=seed, chart=chunk.chart, roadmap=roadmap).run()
    steps = [np.full(len(chunk.metrics), -1)]
    names = [np.asarray(chunk.metrics, dtype=object)]
    values = [np.array(metric_values(model, chunk.metrics), dtype=float)]
    if chunk.timeseries:
        results = model.results
        rows = np.arange(results.rows)
        rows = rows[(rows % chunk.record_every == 0) | (rows == results.rows - 1)]
        cols = [results.names.index(m) for m in chunk.timeseries]
        block = results.values[np.ix_(rows, cols)]
        steps.append(np.repeat(rows, len(cols)))
        names.append(np.tile(np.asarray(chunk.timeseries, dtype=object), len(rows)))
        values.append(block.ravel())
    return np.concatenate(steps), np.concatenate(names), np.concatenate(values)


@dataclass(frozen=True)
class RunRows:
    """One run's observations, before they are joined into a chunk's table."""

    run: Run
    point: dict[str, Any]
    steps: np.ndarray  # -1 for the run's summary values
    metrics: np.ndarray
    values: np.ndarray


def run_chunk(chunk: Chunk) -> pd.DataFrame:
    """Run every run of a chunk; one tidy frame of observations."""
    return chunk_frame(chunk.factors, [RunRows(run, point, *observe_run(chunk, point, run.seed))
                                       for run, point in zip(chunk.runs, chunk.points,
                                                             strict=True)])


def chunk_frame(factors: tuple[Factor, ...], rows: list[RunRows]) -> pd.DataFrame:
    """Join runs' observations into the dataset's fixed schema (same dtypes in every file)."""
    sizes = [len(r.steps) for r in rows]

    def per_run(values: list, dtype: Any) -> np.ndarray:
        return np.repeat(np.array(values, dtype=dtype), sizes)

    columns: dict[str, Any] = {"run_id": per_run([r.run.run_id for r in rows], np.int64),
                               "point_id": per_run([r.run.point_id for r in rows], np.int64)}
    for factor in factors:
        dtype = {"int": np.int64, "float": np.float64, "str": object}[factor.kind]
        columns[factor.name] = per_run([r.point[factor.name] for r in rows], dtype)
    columns["replication"] = per_run([r.run.replication for r in rows], np.int64)
    columns["seed"] = per_run([r.run.seed for r in rows], np.int64)
    steps = np.concatenate([r.steps for r in rows])
    columns["step"] = pd.array(np.where(steps < 0, 0, steps), dtype="Int64")
    columns["step"][steps < 0] = pd.NA
    columns["metric"] = np.concatenate([r.metrics for r in rows])
    columns["value"] = np.concatenate([r.values for r in rows]).astype(np.float64)
    return pd.DataFrame(columns)


# --- output directory ----------------------------------------------------------------------
def manifest(sweep: Sweep) -> dict[str, Any]:
    """The manifest: resolved content, hash, factors and the full design matrix."""
    saved = {
        "format": 1,
        "hash": sweep.digest,
        "source": sweep.source,
        "sweep": sweep.content,
        "factors": [{"name": f.name, "kind": f.kind} for f in sweep.factors],
        "points": list(sweep.points),
        "samples": [list(row) for row in sweep.samples],
        "runs": {"columns": list(ID_COLUMNS),
                 "rows": [[r.run_id, r.point_id, r.replication, r.seed] for r in sweep.runs]},
    }
    if sweep.skipped:  # points not run (a constraint, or refused by the model)
        saved["skipped"] = list(sweep.skipped)
    return saved


def read_manifest(out: Path) -> dict[str, Any]:
    path = Path(out) / MANIFEST
    if not path.is_file():
        raise ParameterError(f"{out}: not a sweep directory (no {MANIFEST})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ParameterError(f"{path}: unreadable manifest ({err})") from None


def open_output(sweep: Sweep, out: Path, resume: bool,
                allow_version_change: bool = False) -> set[int]:
    """Prepare ``out`` for the sweep; return the ids of runs already finished there."""
    out = Path(out)
    has_manifest = (out / MANIFEST).is_file()
    if has_manifest and not resume:
        raise ParameterError(f"--out {str(out)!r}: already holds a sweep (use --resume to "
                             "continue it, or choose another --out)")
    if not has_manifest and out.exists() and any(out.glob(PART_GLOB)):
        raise ParameterError(f"--out {str(out)!r}: holds part files but no {MANIFEST}")
    if not has_manifest and out.is_dir() and any(out.iterdir()):
        raise ParameterError(f"--out {str(out)!r}: not empty (holds "
                             f"{sorted(p.name for p in out.iterdir())[0]}) and holds no sweep; "
                             "choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ParameterError(f"--out {str(out)!r}: not writable ({err.strerror})") from None
    if has_manifest:
        saved = read_manifest(out)
        _check_same_sweep(sweep, saved, out)
        if check_versions(saved, out, allow_version_change):
            saved.setdefault("resumes", []).append(provenance())
            atomic_write_bytes(out / MANIFEST, (json.dumps(saved, indent=1) + "\n").encode())
    else:
        written = {**manifest(sweep), "provenance": provenance()}
        atomic_write_bytes(out / MANIFEST, (json.dumps(written, indent=1) + "\n").encode())
    write_setting_copy(sweep, out)
    for stale in out.glob(".part-*"):
        stale.unlink()  # temporary files of a chunk never finished (we hold the lock)
    return finished_runs(out)


SETTING_DIR = "_setting"


def write_setting_copy(sweep: Sweep, out: Path) -> None:
    """``out/_setting/``: the base setting whole (see the module docstring), written once
    (a resume of an older sweep adds it; the sweep's hash guarantees it is the same)."""
    folder = out / SETTING_DIR
    if (folder / "setting.toml").is_file():
        return
    parameters_class = load_model_class(sweep.content.get("model")).parameters_class
    setting = Setting(sweep.content["setting"], sweep.content["description"], sweep.base,
                      chart=sweep.chart, interventions=list(sweep.interventions))
    files = stored_setting(make_parameters(sweep.base, parameters_class=parameters_class),
                           sweep.content["description"], setting, stem="setting")
    folder.mkdir(exist_ok=True)
    for name in sorted(files, key=lambda n: n == "setting.toml"):  # the toml last: complete
        atomic_write_bytes(folder / name, files[name].encode())


def _check_same_sweep(sweep: Sweep, saved: dict[str, Any], out: Path) -> None:
    if saved.get("hash") == sweep.digest:
        if saved["runs"]["rows"] != manifest(sweep)["runs"]["rows"]:
            raise ParameterError(f"{out}: the design matrix differs from {MANIFEST} although "
                                 "the sweep file is the same (another SALib/numpy version?)")
        return
    old = saved.get("sweep", {})
    changed = next((k for k in sorted(set(old) | set(sweep.content))
                    if canonical_json(old.get(k)) != canonical_json(sweep.content.get(k))),
                   "content")
    raise ParameterError(f"--resume {str(out)!r}: field '{changed}' of {sweep.source} changed "
                         f"since the sweep started (hash {saved.get('hash', '?')[:12]} != "
                         f"{sweep.digest[:12]}); use a new --out")


def check_versions(saved: dict[str, Any], out: Path, allow: bool) -> bool:
    """Refuse to resume under another model or package version unless ``allow``; True if
    the versions differ (and the resume was allowed)."""
    changed = version_change(saved.get("provenance"), provenance())
    if changed and not allow:
        raise ParameterError(f"--resume {str(out)!r}: started under other versions ({changed}"
                             "); results would mix versions: use a new --out, or "
                             "--allow-version-change")
    return changed is not None


def finished_runs(out: Path) -> set[int]:
    """Run ids present in the part files (each file is complete: written atomically)."""
    done: set[int] = set()
    for path in sorted(Path(out).glob(PART_GLOB)):
        done.update(pq.read_table(path, columns=["run_id"]).column(0).unique().to_pylist())
    return done


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise disk_error(err, path.parent, "--out") from None


def write_part(frame: pd.DataFrame, out: Path) -> Path:
    """Write one finished chunk atomically: temp file, fsync, rename."""
    ids = frame["run_id"]
    final = Path(out) / f"part-{ids.min():08d}-{ids.max():08d}.parquet"
    tmp = final.with_name(f".{final.name}.tmp")
    try:
        frame.to_parquet(tmp, index=False)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise ParameterError(f"--out {str(out)!r}: writing a chunk failed ({err.strerror or err}"
                             "); finished chunks are kept, temporary files removed; continue "
                             "with --resume") from None
    return final


def check_sweep_memory(sweep: Sweep, workers: int) -> None:
    """Refuse a sweep whose runs cannot fit in memory side by side."""
    n, steps = sweep.base["n_employees"], sweep.base["steps"]
    if isinstance(n, int):
        sizes = [p.get("n_employees", n) for p in sweep.points] or [n]
        n = max(sizes)
    check_memory(run_bytes(n, steps) * max(1, min(workers, len(sweep.runs))),
                 f"{sweep.source}: n_employees = {n} (x {steps} steps, {workers} workers)",
                 run_seconds(n, steps, len(sweep.runs), workers))


# --- planning and execution ----------------------------------------------------------------
def auto_chunk_size(pending: int, workers: int) -> int:
    """About CHUNKS_PER_WORKER chunks per worker, at most MAX_AUTO_CHUNK runs each."""
    return max(1, min(MAX_AUTO_CHUNK, math.ceil(pending / (workers * CHUNKS_PER_WORKER))))


def pending_chunks(sweep: Sweep, finished: set[int], size: int) -> list[Chunk]:
    """The runs not finished yet, in run-id order, cut into chunks of ``size``."""
    todo = [r for r in sweep.runs if r.run_id not in finished]
    return [Chunk(sweep.base, sweep.factors, tuple(batch),
                  tuple(sweep.points[r.point_id] for r in batch), sweep.metrics,
                  sweep.timeseries, sweep.record_every, sweep.content.get("model", ""),
                  sweep.chart, sweep.interventions, sweep.source)
            for batch in (todo[i:i + size] for i in range(0, len(todo), size))]


def run_local(chunks: list[Chunk], workers: int) -> Iterator[pd.DataFrame]:
    """Chunk results as they finish, in this process (1 worker) or a process pool."""
    if workers == 1:
        yield from map(run_chunk, chunks)
        return
    with process_pool(workers) as pool:
        futures = [pool.submit(run_chunk, chunk) for chunk in chunks]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:  # on an error or Ctrl-C: start nothing new, keep what was written
            pool.shutdown(wait=False, cancel_futures=True)


def connect(scheduler: str) -> Any:
    """A Dask client of the scheduler at ``scheduler`` (Dask is imported only here)."""
    try:
        from distributed import Client
    except ImportError:
        raise ParameterError("--scheduler: Dask is not installed (pip install "
                             "'orgself[cluster]')") from None
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise ParameterError(f"--scheduler {scheduler!r}: cannot connect ({err})") from None


def cluster_slots(client: Any) -> int:
    """Threads of the Dask workers connected now (at least 1)."""
    workers = client.scheduler_info().get("workers", {})
    return max(1, sum(w.get("nthreads", 1) for w in workers.values()))


def run_dask(chunks: list[Chunk], client: Any) -> Iterator[pd.DataFrame]:
    """Chunk results as they finish on a Dask cluster (lost workers' tasks are retried)."""
    from distributed import as_completed as dask_completed

    futures = client.map(run_chunk, chunks, pure=False)
    for future in dask_completed(futures, loop=client.loop):
        try:
            frame = future.result()
        except ModuleNotFoundError as err:
            raise ParameterError(f"--scheduler: a Dask worker cannot import {err.name!r}: "
                                 "install this project in the workers' environment") from None
        future.release()
        yield frame


@dataclass(frozen=True)
class SweepOutcome:
    total: int
    skipped: int
    ran: int
    parts: int


def run_sweep(sweep: Sweep, out: Path, *, workers: int = 1, resume: bool = False,
              scheduler: str | None = None, chunk_size: int | None = None,
              progress: Progress | None = None,
              allow_version_change: bool = False) -> SweepOutcome:
    """Run every unfinished run of ``sweep`` into ``out``, saving each chunk as it finishes
    (a resume under other model or package versions only if ``allow_version_change``)."""
    if workers < 1:
        raise ParameterError(f"--workers {workers}: must be at least 1")
    out = check_output_path(Path(out))
    with contextlib.ExitStack() as stack:
        stack.enter_context(output_lock(out))  # one writer: two --resume never both run
        client = stack.enter_context(connect(scheduler)) if scheduler else None
        if resume and (out / MANIFEST).is_file():  # a larger design: see experiments.grow
            from experiments.grow import grow_onto

            saved = read_manifest(out)
            check_versions(saved, out, allow_version_change)  # before the design may grow
            sweep = grow_onto(sweep, saved, out)
        finished = open_output(sweep, out, resume, allow_version_change)
        pending = len(sweep.runs) - len(finished)
        slots = cluster_slots(client) if client else workers
        chunks = pending_chunks(sweep, finished, chunk_size or auto_chunk_size(pending, slots))
        done = len(finished)
        if progress:
            progress(done, len(sweep.runs))
        for frame in run_dask(chunks, client) if client else run_local(chunks, workers):
            write_part(frame, out)
            done += frame["run_id"].nunique()
            if progress:
                progress(done, len(sweep.runs))
    return SweepOutcome(len(sweep.runs), len(finished), pending, len(chunks))


# --- reading results -----------------------------------------------------------------------
def observations(out: Path, run_level: bool) -> pd.DataFrame:
    """Tidy rows of a sweep: run-level summaries (step null) or recorded steps."""
    out = Path(out)
    read_manifest(out)
    if not any(out.glob(PART_GLOB)):
        raise ParameterError(f"{out}: no finished runs yet")
    step = ds.field("step")
    table = ds.dataset(out, format="parquet").to_table(
        filter=step.is_null() if run_level else step.is_valid())
    return table.to_pandas()


def summary_table(out: Path) -> pd.DataFrame:
    """One row per finished run: ids, varied parameters and one column per summary metric."""
    return _wide(observations(out, run_level=True), out, with_step=False)


def timeseries_table(out: Path) -> pd.DataFrame:
    """One row per finished run and recorded step, one column per recorded metric."""
    return _wide(observations(out, run_level=False), out, with_step=True)


def _wide(rows: pd.DataFrame, out: Path, with_step: bool) -> pd.DataFrame:
    saved = read_manifest(out)
    factors = [f["name"] for f in saved["factors"]]
    keys = ["run_id", "point_id", *factors, "replication", "seed"]
    keys += ["step"] if with_step else []
    order = saved["sweep"]["timeseries" if with_step else "metrics"]
    try:
        wide = rows.set_index([*keys, "metric"])["value"].unstack("metric")
    except ValueError:  # only if part files were copied in by hand: one writer at a time
        raise ParameterError(f"{out}: some runs appear in more than one part file "
                             "(duplicate rows)") from None
    wide = wide.reindex(columns=[m for m in order if m in wide.columns])
    wide.columns.name = None
    return wide.reset_index().sort_values(keys, ignore_index=True)
