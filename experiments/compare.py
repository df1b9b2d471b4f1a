"""Scenario comparison: replications under common random numbers, run on local cores.

Replication k of every compared setting gets the same seed (common random numbers);
inside a run each mechanism draws from its own named stream (model/rng.py), so two
settings differ only through their mechanisms. :func:`run_comparison` returns tidy
tables; :func:`write_comparison` stores them (Parquet and CSV) with a manifest, from which
``run.py report DIR`` rebuilds the report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.outputs import check_memory, run_bytes, run_seconds
from experiments.plugins import load_model_class
from experiments.provenance import model_version, provenance
from experiments.runner import atomic_write, available_cores, process_pool, replication_seeds
from model.analysis import chart_breakdown, employee_table, interventions_table, network_edges
from model.chart import OrgChart
from model.parameters import ParameterError, Parameters
from model.roadmap import Roadmap
from scenarios.settings import (
    files_beyond_parameters,
    load_setting,
    parameters_toml,
    resolve_settings,
    setting_inputs,
    stored_setting,
)

TABLES = ("runs", "timeseries", "employees", "network")
OPTIONAL_TABLES = ("breakdown", "interventions")  # imported charts, roadmaps


@dataclass(frozen=True)
class RunTask:
    """One simulation of a comparison: a setting's parameters under one seed."""

    setting: str
    parameters: Parameters
    replication: int
    seed: int
    keep_network: bool
    model: str = ""  # "module:Class" of an extension ("" = OrganizationModel)
    chart: OrgChart | None = None  # an imported organization
    roadmap: Roadmap | None = None  # the setting's interventions


@dataclass
class Comparison:
    """Tidy tables of every setting x replication, plus what is needed to reproduce them."""

    settings: dict[str, Parameters]
    seeds: list[int]
    root_seed: int
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    command: str = ""
    model: str = ""  # "module:Class" of an extension ("" = OrganizationModel)
    focus: list[str] = field(default_factory=list)  # measures the client asks about first
    # setting files that hold a chart or a roadmap (their stored copies hold parameters only)
    setting_files: dict[str, str] = field(default_factory=dict)
    posterior: str = ""  # the calibration whose posterior gave each replication's parameters
    # settings/ files of each setting (stored_setting: chart, network and roadmap included)
    stored_settings: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def replications(self) -> int:
        return len(self.seeds)


def simulate(task: RunTask) -> dict[str, pd.DataFrame]:
    """Run one task and return its rows for each table (worker entry point)."""
    model = load_model_class(task.model)(task.parameters, rng=task.seed, chart=task.chart,
                                         roadmap=task.roadmap).run()
    keys = {"setting": task.setting, "replication": task.replication, "seed": task.seed}
    summary = model.summary()
    summary.pop("seed")
    tables = {
        "runs": pd.DataFrame([{**keys, **summary}]),
        "timeseries": model.results.to_frame(),
        "employees": employee_table(model),
        "network": network_edges(model) if task.keep_network else None,
        "breakdown": chart_breakdown(model) if task.chart is not None else None,
        "interventions": interventions_table(model) if task.roadmap else None,
    }
    for name, frame in tables.items():
        if frame is not None and name != "runs":
            for i, (key, value) in enumerate(keys.items()):
                frame.insert(i, key, value)
    return {name: frame for name, frame in tables.items() if frame is not None}


def _tasks(settings: dict[str, Parameters], seeds: list[int], model: str = "",
           inputs: dict[str, tuple] | None = None,
           draws: list[dict[str, Any]] | None = None) -> list[RunTask]:
    """One task per replication and setting; ``inputs``: each setting's chart and roadmap;
    ``draws``: replication k's parameters drawn from a calibration's posterior
    (experiments/calibration.py, compare --posterior)."""
    inputs = inputs or {}

    def drawn(params: Parameters, k: int) -> Parameters:
        from experiments.calibration import with_draw

        return with_draw(params, draws, k) if draws else params

    return [RunTask(name, drawn(params, k), k, seed, keep_network=(k == 0), model=model,
                    chart=inputs.get(name, (None, None))[0],
                    roadmap=inputs.get(name, (None, None))[1])
            for k, seed in enumerate(seeds) for name, params in settings.items()]


def _execute(tasks: list[RunTask], workers: int,
             progress: Callable[[], None] | None) -> list[dict[str, pd.DataFrame]]:
    """Run tasks in-process (1 worker) or on a process pool; results in task order."""
    results: list[dict[str, pd.DataFrame] | None] = [None] * len(tasks)
    if workers <= 1 or len(tasks) == 1:
        for i, task in enumerate(tasks):
            results[i] = simulate(task)
            if progress:
                progress()
        return results  # type: ignore[return-value]
    with process_pool(min(workers, len(tasks))) as pool:
        futures = {pool.submit(simulate, task): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if progress:
                progress()
    return results  # type: ignore[return-value]


def default_workers() -> int:
    return available_cores()


def run_comparison(settings: dict[str, Parameters], replications: int, seed: int,
                   workers: int | None = None, progress: Callable[[], None] | None = None,
                   seeds: list[int] | None = None, model: str = "",
                   inputs: dict[str, tuple] | None = None,
                   draws: list[dict[str, Any]] | None = None) -> Comparison:
    """Run every setting ``replications`` times; replication k shares seed k across settings.

    ``seeds`` overrides the common seeds (e.g. independent seeds, to measure what common
    random numbers gain). Results do not depend on ``workers`` or completion order.
    """
    seeds = replication_seeds(seed, replications) if seeds is None else list(seeds)
    outputs = _execute(_tasks(settings, seeds, model, inputs, draws),
                       workers or default_workers(),
                       progress)
    order = {name: i for i, name in enumerate(settings)}
    tables = {}
    for name in TABLES + OPTIONAL_TABLES:
        frames = [out[name] for out in outputs if name in out
                  and (name in TABLES or not out[name].empty)]
        if not frames:
            continue  # an optional table no run made (no chart, no intervention fired)
        table = (_rows(frames) if name == "runs"  # one row per run, some keys all missing
                 else pd.concat(frames, ignore_index=True))
        table["setting"] = pd.Categorical(table["setting"], categories=list(order))
        tables[name] = table.sort_values(["setting", "replication"], kind="stable",
                                         ignore_index=True)
    return Comparison(dict(settings), seeds, seed, tables, model=model)


def _rows(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One-row frames stacked from their records: dtypes come from all values together (a
    concat would warn where a key is missing in some runs and drop its dtype). Each row's
    values come out as Python scalars, as ``to_dict("records")`` gives them."""
    return pd.DataFrame.from_records([dict(zip(f.columns, row, strict=True))
                                      for f in frames for row in f.to_numpy(object).tolist()])


# --- storage -----------------------------------------------------------------
def write_comparison(comparison: Comparison, out: Path) -> None:
    """Store tables (Parquet + CSV), each setting's resolved parameters and a manifest."""
    (out / "settings").mkdir(parents=True, exist_ok=True)
    for name, table in comparison.tables.items():
        atomic_write(out / f"{name}.parquet", lambda p, t=table: t.to_parquet(p, index=False))
        atomic_write(out / f"{name}.csv", lambda p, t=table: t.to_csv(p, index=False))
    for name, params in comparison.settings.items():
        files = comparison.stored_settings.get(name) or {
            f"{name}.toml": parameters_toml(params, comparison.descriptions.get(name, ""))}
        for file_name, text in files.items():
            atomic_write(out / "settings" / file_name,
                         lambda p, t=text: p.write_text(t, encoding="utf-8"))
    first = next(iter(comparison.settings.values()))
    manifest = {
        "settings": list(comparison.settings),
        "descriptions": comparison.descriptions,
        "replications": comparison.replications,
        "root_seed": comparison.root_seed,
        "seeds": comparison.seeds,
        "employees": first.n_employees,
        "sizes": {name: p.n_employees for name, p in comparison.settings.items()},
        "steps": first.steps,
        "model_version": model_version(),
        "provenance": provenance(),
        **({"model": comparison.model} if comparison.model else {}),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": comparison.command,
        "focus": comparison.focus,
        **({"setting_files": comparison.setting_files} if comparison.setting_files else {}),
        # settings/ holds each setting whole (chart, network and roadmap): reruns from there
        **({"settings_self_contained": True} if comparison.stored_settings else {}),
        **({"posterior": comparison.posterior} if comparison.posterior else {}),
    }
    atomic_write(out / "manifest.json",
                 lambda p: p.write_text(json.dumps(manifest, indent=2) + "\n"))


def read_comparison(out: Path) -> tuple[dict, dict[str, pd.DataFrame], dict[str, str]]:
    """Manifest, tables and settings' parameter files of a stored comparison."""
    manifest_path = out / "manifest.json"
    if not manifest_path.is_file():
        raise ParameterError(f"{out}: not a comparison directory (no manifest.json)")
    try:
        manifest = json.loads(_inside(out, manifest_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ParameterError(f"{manifest_path}: unreadable manifest ({err})") from None
    check_manifest(manifest, manifest_path)
    tables = {}
    for name in TABLES + OPTIONAL_TABLES:
        path = out / f"{name}.parquet"
        if name in OPTIONAL_TABLES and not path.is_file():
            continue  # no imported chart, or no intervention fired
        if not path.is_file():
            raise ParameterError(f"{out}: missing data file {path.name}")
        try:
            tables[name] = pd.read_parquet(_inside(out, path))
        except (OSError, ValueError) as err:  # pyarrow's errors are both
            raise ParameterError(f"{path}: unreadable data file ({str(err).splitlines()[0]})"
                                 ) from None
        if "setting" not in tables[name] or (name == "runs" and "replication" not in
                                             tables[name]):
            raise ParameterError(f"{path}: not a comparison table (no setting column)")
        tables[name]["setting"] = pd.Categorical(tables[name]["setting"].astype(str),
                                                 categories=manifest["settings"])
    parameter_files = {}
    for name in manifest["settings"]:
        path = out / "settings" / f"{name}.toml"
        if path.is_file():
            try:
                parameter_files[name] = _inside(out, path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                raise ParameterError(f"{path}: unreadable ({err})") from None
    return manifest, tables, parameter_files


SETTING_NAME = re.compile(r"[^./\\\x00-\x1f][^/\\\x00-\x1f]{0,199}")  # a file name, not a path
MANIFEST_INTEGERS = ("replications", "root_seed", "employees", "steps")


def check_manifest(manifest: Any, path: Path) -> None:
    """A stored manifest's shape: every value the report uses, of the right type."""
    if not isinstance(manifest, dict):
        raise ParameterError(f"{path}: manifest is not a JSON object")
    settings = manifest.get("settings")
    if not isinstance(settings, list) or not settings:
        raise ParameterError(f"{path}: field 'settings': value {settings!r} must be a "
                             "non-empty list of setting names")
    for name in settings:
        if not isinstance(name, str) or not SETTING_NAME.fullmatch(name):
            raise ParameterError(f"{path}: field 'settings': value {name!r} is not a setting "
                                 "name (a file name: no '/' and no leading '.')")
    for key in MANIFEST_INTEGERS:
        value = manifest.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ParameterError(f"{path}: field '{key}': value {value!r} must be a "
                                 "non-negative integer")
    seeds = manifest.get("seeds")
    if not isinstance(seeds, list) or not all(isinstance(s, int) and not isinstance(s, bool)
                                              for s in seeds):
        raise ParameterError(f"{path}: field 'seeds': value {seeds!r} must be a list of "
                             "integers")
    descriptions = manifest.get("descriptions", {})
    if not isinstance(descriptions, dict) or not all(isinstance(v, str)
                                                     for v in descriptions.values()):
        raise ParameterError(f"{path}: field 'descriptions': must map names to strings")
    files = manifest.get("setting_files", {})
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise ParameterError(f"{path}: field 'setting_files': must map names to paths")
    if not isinstance(manifest.get("settings_self_contained", True), bool):
        raise ParameterError(f"{path}: field 'settings_self_contained': must be true or false")
    focus = manifest.get("focus", [])
    if not isinstance(focus, list) or not all(isinstance(f, str) for f in focus):
        raise ParameterError(f"{path}: field 'focus': value {focus!r} must be a list of "
                             "measure names")
    for key in ("command", "model_version", "created", "model", "posterior"):
        if not isinstance(manifest.get(key, ""), str):
            raise ParameterError(f"{path}: field '{key}': value {manifest[key]!r} must be a "
                                 "string")


def _inside(out: Path, path: Path) -> Path:
    """``path`` if it lies inside ``out`` once links are resolved; the report reads nothing
    else."""
    if not path.resolve().is_relative_to(Path(out).resolve()):
        raise ParameterError(f"{path}: points outside {out}; refusing to read it")
    return path


def independent_seeds(seed: int, settings: int, replications: int) -> list[list[int]]:
    """Seeds that differ between settings (for measuring the gain of common random numbers)."""
    children = np.random.SeedSequence(seed).spawn(settings)
    return [[int(s) for s in child.generate_state(replications, dtype=np.uint32)]
            for child in children]


# --- the compare workflow ------------------------------------------------------
def is_comparison(out: Path) -> bool:
    """Whether ``out`` holds a stored comparison (so --force may replace it)."""
    return (out / "manifest.json").is_file()


EMPLOYEE_ROW_BYTES = 400  # one employee's final state in the employees table (+ CSV copy)
STEP_ROW_BYTES = 1200  # one step of one run in the timeseries table (+ CSV copy)


def check_comparison_memory(params: dict[str, Parameters], replications: int,
                            workers: int) -> None:
    """Refuse a comparison whose runs or stored tables cannot fit in memory."""
    runs = replications * len(params)
    largest = max(params.values(), key=lambda p: p.n_employees * p.steps)
    n, steps = largest.n_employees, largest.steps
    per_run = run_bytes(n, steps)
    stored = runs * (n * EMPLOYEE_ROW_BYTES + (steps + 1) * STEP_ROW_BYTES + 2000)
    what = (f"--replications {replications} x {len(params)} settings of {n} employees"
            if stored > per_run * min(workers, runs) else f"n_employees = {n} (x {steps} steps)")
    check_memory(per_run * min(workers, runs) + stored, what,
                 run_seconds(n, steps, runs, min(workers, runs)))


def next_free_directory(root: Path, stem: str = "compare") -> Path:
    """root/stem-001, -002, ...: the first that does not exist yet."""
    k = 1
    while (root / f"{stem}-{k:03d}").exists():
        k += 1
    return root / f"{stem}-{k:03d}"


def prepare_output(out: Path, force: bool) -> None:
    """Refuse to overwrite an earlier comparison without ``force``; check ``out`` is writable."""
    earlier = [name for name in ("report.html", "manifest.json") if (out / name).exists()]
    if earlier and not force:
        raise ParameterError(f"--out {str(out)!r}: holds an earlier comparison ({earlier[0]}); "
                             "use --force to replace it or choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ParameterError(f"--out {str(out)!r}: not writable ({err.strerror})") from None


def compare_settings(names: list[str], replications: int, seed: int, out: Path,
                     sets: list[str] | None = None, common: dict[str, Any] | None = None,
                     workers: int | None = None, force: bool = False, command: str = "",
                     progress: Callable[[int], Callable[[], None]] | None = None,
                     explain_by: str | None = None, explain_replications: int | None = None,
                     explain_progress: Callable[[int], Callable[[], None]] | None = None,
                     focus: list[str] | None = None, model: str = "",
                     posterior: Path | None = None) -> Comparison:
    """Check everything, run the replications and store the tidy data in ``out``
    (``model``: an extension's "module:Class"; ``posterior``: a calibration directory whose
    posterior gives each replication's fitted parameters).

    ``explain_by`` ('auto', 'parameter' or 'group'): also run the variants that split each
    difference among the levers that differ (experiments/attribution.py), on the first
    ``explain_replications`` seeds (default: all)."""
    if replications < 2:
        raise ParameterError(f"--replications {replications}: intervals need at least 2")
    block = load_model_class(model).parameters_class
    params, descriptions = resolve_settings(names, sets, common or {}, block)
    inputs = setting_inputs(names, params, block)
    loaded = {s.name: s for s in (load_setting(name, block) for name in names)}
    plan = None
    if explain_by is not None:
        from experiments.attribution import plan_explanation

        if explain_replications is not None and explain_replications > replications:
            raise ParameterError(f"--explain-replications {explain_replications}: at most "
                                 f"--replications ({replications})")
        if posterior is not None:
            raise ParameterError("--explain with --posterior: the variants would not carry "
                                 "the posterior draws; use one or the other")
        plan = plan_explanation(params, explain_replications or replications, explain_by,
                                settings=loaded)
    draws = None
    if posterior is not None:  # each replication's fitted parameters, checked before runs
        from experiments.calibration import replication_draws

        draws = replication_draws(posterior, list(params.values()), replications, seed)
    check_comparison_memory(params, replications, workers or default_workers())
    prepare_output(out, force)
    tick = progress(replications * len(params)) if progress else None
    comparison = run_comparison(params, replications, seed, workers, tick, model=model,
                                inputs=inputs, draws=draws)
    comparison.descriptions = descriptions
    comparison.command = command
    comparison.focus = list(focus or [])
    comparison.setting_files = files_beyond_parameters(names, block)
    comparison.stored_settings = {
        name: stored_setting(params[name], descriptions[name], loaded[name], stem=name,
                             prefix=f"{name}_") for name in params}
    comparison.posterior = str(Path(posterior).resolve()) if posterior is not None else ""
    write_comparison(comparison, out)
    if plan is not None:
        from experiments.attribution import run_explanation, write_explanation

        tick = explain_progress(plan.extra_runs) if explain_progress else None
        variant_runs = run_explanation(plan, comparison.tables["runs"], comparison.seeds,
                                       workers, tick, model=model)
        write_explanation(plan, variant_runs, out)
    if draws:
        from experiments.calibration import write_draws

        write_draws(out, comparison.seeds, draws)
    return comparison
