"""Sweep files: read, check and resolve a TOML sweep into a design of runs.

A sweep file names a base setting, fixed parameter values, the factors to vary, a
design (full grid, Latin hypercube, Sobol/Saltelli or Morris from SALib), replications,
the metrics to keep, how often to record the time series, and a root seed::

    setting = "hierarchical"
    replications = 3
    seed = 2026
    metrics = ["hidden_coasting_share", "time_to_50pct_adoption"]
    timeseries = ["coasting_share"]
    record_every = 10
    steps = 100

    [parameters]            # held fixed on top of the setting
    n_employees = 200

    [vary]                  # grid: lists or ranges; samplers: {low, high}
    span_of_control = [4, 8, 16]
    work_visibility = { start = 0.0, stop = 0.4, num = 5 }

    [design]
    method = "grid"         # grid | lhs | sobol | morris
    # dummy = true          # morris/sobol (default): an inert factor, the noise floor

    [[constraint]]          # points breaking it are skipped and counted, not run
    left = "idea_scope"
    op = "<="               # < <= > >= == !=
    right = "n_dimensions"  # a parameter name or a number

An extension is swept by naming its class, ``model = "pkg.mod:Class"`` (its own
parameters may then be fixed or varied), and a metric may be a function,
``metrics = ["pkg.mod:function"]`` (experiments/plugins.py).

Every mistake is a :class:`ParameterError` naming the file, the field and the value.
``seeds = "independent"`` (the default of grid and lhs designs): each run's seed derives
from (root seed, the point's canonical JSON, replication) via ``numpy.random.SeedSequence``.
``seeds = "common"`` (the default of morris and sobol): common random numbers, replication
k has the same seed at every point, so differences between points are the factors' effects
and not the noise of different random streams. Either way a seed never depends on run
order, chunking or workers. Points that break a constraint, or that the model refuses
(a ParameterError, e.g. idea_scope > n_dimensions), are skipped: no runs, listed with their
reason in ``Sweep.skipped``.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import operator
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from experiments.outputs import SEED_MAX, check_memory
from experiments.plugins import is_named, load_metric, load_model_class
from model.chart import OrgChart
from model.parameters import (
    ParameterError,
    Parameters,
    ParameterSpec,
    make_parameters,
    parameter_specs,
)
from model.roadmap import Roadmap
from scenarios.roadmap import build_roadmap
from scenarios.settings import load_setting, read_toml, regular_file

TOP_KEYS = ("description", "model", "setting", "seed", "seeds", "replications", "steps",
            "metrics", "timeseries", "record_every", "parameters", "vary", "design",
            "constraint")
DESIGN_KEYS = ("method", "samples", "levels", "second_order", "dummy")
SEED_MODES = ("common", "independent")
COMMON_DEFAULT = ("morris", "sobol")  # designs whose analysis differences points
DUMMY = "dummy"  # the inert factor of morris/sobol designs: in the samples, not the model
OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
             "==": operator.eq, "!=": operator.ne}
CONSTRAINT_KEYS = ("left", "op", "right")
METHODS = ("grid", "lhs", "sobol", "morris")
SAMPLERS = METHODS[1:]
RANGE_KEYS = ({"start", "stop", "num"}, {"start", "stop", "step"})
BOUND_KEYS = {"low", "high"}
MAX_RUNS = 10_000_000
ROADMAP_PREFIX = "intervention."  # factors intervention.K.at / .ramp / .set.NAME
MAX_GRID_VALUES = 100_000
RUN_RECORD_BYTES = 600  # one run of the design: its point, ids, seed and manifest rows


@dataclass(frozen=True)
class Factor:
    """One varied parameter: grid values, or sampler bounds."""

    name: str
    kind: str  # "int", "float" or "str"
    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Run:
    """One row of the design matrix."""

    run_id: int
    point_id: int
    replication: int
    seed: int


@dataclass(frozen=True)
class Sweep:
    """A resolved sweep: what to run and what to keep, plus its design matrix."""

    source: str
    content: dict[str, Any]  # resolved, canonical content (hashed for --resume)
    base: dict[str, Any]  # full validated parameters every point starts from
    factors: tuple[Factor, ...]
    points: tuple[dict[str, Any], ...]
    runs: tuple[Run, ...]
    samples: tuple[tuple[float, ...], ...] = ()  # sampler matrix before rounding (SALib's X)
    skipped: tuple[dict[str, Any], ...] = ()  # points not run: point_id, reason
    chart: OrgChart | None = None  # the setting's imported organization
    interventions: tuple[dict[str, Any], ...] = ()  # the setting's [[intervention]] tables

    @property
    def seeds(self) -> str:
        return self.content.get("seeds", "independent")

    @property
    def dummy(self) -> bool:
        """Whether the samples' last column is the inert dummy factor."""
        return bool(self.content["design"].get("dummy"))

    @property
    def method(self) -> str:
        return self.content["design"]["method"]

    @property
    def replications(self) -> int:
        return self.content["replications"]

    @property
    def seed(self) -> int:
        return self.content["seed"]

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(self.content["metrics"])

    @property
    def timeseries(self) -> tuple[str, ...]:
        return tuple(self.content["timeseries"])

    @property
    def record_every(self) -> int:
        return self.content["record_every"]

    @property
    def digest(self) -> str:
        return content_hash(self.content)


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a sweep's resolved content (description aside)."""
    relevant = {k: v for k, v in content.items() if k != "description"}
    return hashlib.sha256(canonical_json(relevant).encode()).hexdigest()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def run_seed(root: int, point: dict[str, Any], replication: int) -> int:
    """Seed of one run from the root seed, the parameter point and the replication."""
    key = zlib.crc32(canonical_json(point).encode())
    state = np.random.SeedSequence([root, key, replication]).generate_state(1, dtype=np.uint32)
    return int(state[0])


def common_seed(root: int, replication: int) -> int:
    """Seed of replication k at every point (common random numbers)."""
    state = np.random.SeedSequence([root, replication]).generate_state(1, dtype=np.uint32)
    return int(state[0])


@functools.cache
def summary_metric_names(model: str = "") -> tuple[str, ...]:
    """Numeric keys of the run summary of ``model`` ("module:Class", "" for the built-in
    one), found from a tiny run, so never out of date."""
    tiny = load_model_class(model)(rng=0, n_employees=20, steps=2, informal_degree=4).run()
    return tuple(k for k in tiny.summary() if k not in ("steps", "employees", "seed"))


# --- reading -------------------------------------------------------------------------
def load_sweep(path: str | Path) -> Sweep:
    """Read, check and resolve a sweep file; a ParameterError names any bad field."""
    path = Path(path)
    source = str(path)
    regular_file(path, "sweep file")
    return resolve_sweep(read_toml(path), source)


def resolve_sweep(data: dict[str, Any], source: str = "sweep") -> Sweep:
    """Check a parsed sweep file and build its design matrix."""
    model = _Checker(source).typed(data, "model", str, "")
    parameters_class = load_model_class(model, f"{source}: field 'model'").parameters_class
    check = _Checker(source, parameters_class)
    check.known_keys(data, TOP_KEYS, "")
    setting = check.typed(data, "setting", str, "hierarchical")
    fixed = dict(check.typed(data, "parameters", dict, {}))
    if "steps" in data:
        if "steps" in fixed:
            raise ParameterError(f"{source}: field 'steps': also given in [parameters]")
        fixed["steps"] = data["steps"]
    base, chosen = _base_parameters(setting, fixed, source, parameters_class)
    check = _Checker(source, parameters_class, tuple(chosen.interventions), base["steps"])
    design = _design_options(check, check.typed(data, "design", dict, {}))
    vary = check.typed(data, "vary", dict, None)
    if not vary:
        raise ParameterError(f"{source}: field 'vary': missing or empty (name at least one "
                             "parameter to vary)")
    factors = tuple(_factor(check, name, entry, design["method"], fixed)
                    for name, entry in vary.items())
    step_metrics = tuple(m.name for m in load_model_class(model).step_metrics)
    timeseries = _metric_list(check, data, "timeseries", step_metrics, ())
    constraints = _constraints(check, data.get("constraint"), base)
    content = {
        **({"model": model} if model else {}),  # absent for the built-in model (same hash)
        "description": check.typed(data, "description", str, ""),
        "setting": setting,
        "seed": check.integer(data, "seed", 0, SEED_MAX, 2026),
        "replications": check.integer(data, "replications", 1, 1_000_000, 1),
        "metrics": _metric_list(check, data, "metrics", summary_metric_names(model),
                                summary_metric_names(model)),
        "timeseries": timeseries,
        "record_every": check.integer(data, "record_every", 1, 1_000_000,
                                      10 if timeseries else 1),
        "parameters": base,
        "vary": {f.name: _factor_content(f) for f in factors},
        "design": design,
    }
    seeds = check.typed(data, "seeds", str,
                        "common" if design["method"] in COMMON_DEFAULT else "independent")
    if seeds not in SEED_MODES:
        raise check.fail("seeds", seeds, f"is not one of {', '.join(SEED_MODES)}")
    if seeds != "independent":  # absent = independent: older sweeps keep their hash
        content["seeds"] = seeds
    if constraints:
        content["constraints"] = constraints
    if chosen.chart is not None:  # absent without one: older sweeps keep their hash
        content["organization"] = chart_digest(chosen.chart)
    if chosen.interventions:
        content["interventions"] = list(chosen.interventions)
    if not content["metrics"] and not timeseries:
        raise ParameterError(f"{source}: field 'metrics': value [] (and no timeseries): keep "
                             "at least one metric")
    reps, size = content["replications"], design_size(factors, design)
    if size * reps > MAX_RUNS:
        raise ParameterError(f"{source}: {size} points x {reps} replications: more than "
                             f"{MAX_RUNS} runs")
    check_memory(size * reps * RUN_RECORD_BYTES,
                 f"{source}: design of {size} points x {reps} replications")
    sweep = replace(build_design(source, content, base, factors), chart=chosen.chart,
                    interventions=tuple(chosen.interventions))
    check_roadmaps(sweep, parameters_class, load_model_class(model).step_metrics)
    if not sweep.runs:
        first = sweep.skipped[0]
        raise ParameterError(f"{source}: every design point is skipped (point 0: "
                             f"{first['reason']})")
    return sweep


def build_design(source: str, content: dict[str, Any], base: dict[str, Any],
                 factors: tuple[Factor, ...]) -> Sweep:
    """The design matrix of resolved content: points, skipped points and runs with seeds."""
    design, reps, root = content["design"], content["replications"], content["seed"]
    samples = (() if design["method"] == "grid" else
               tuple(map(tuple, sample_matrix(factors, design, root % 2**32).tolist())))
    points = design_points(factors, design, samples)
    parameters_class = load_model_class(content.get("model", "")).parameters_class
    skipped = _skipped_points(points, base, content.get("constraints", ()), parameters_class)
    refused = {s["point_id"] for s in skipped}
    common = content.get("seeds") == "common"
    keys = ([{**point, DUMMY: row[-1]} for point, row in zip(points, samples, strict=True)]
            if design.get("dummy") else points)  # the dummy's value changes an independent seed
    runs = tuple(Run(p * reps + r, p, r,
                     common_seed(root, r) if common else run_seed(root, keys[p], r))
                 for p in range(len(points)) if p not in refused for r in range(reps))
    return Sweep(source, content, base, factors, tuple(points), runs, samples, tuple(skipped))


def with_size(sweep: Sweep, replications: int | None = None,
              samples: int | None = None) -> Sweep:
    """The same sweep with more (or fewer) replications or samples: a new design matrix
    whose seeds of shared (point, replication) pairs are those of ``sweep``."""
    content = json.loads(canonical_json(sweep.content))
    if replications is not None:
        content["replications"] = replications
    if samples is not None:
        content["design"]["samples"] = samples
    size = design_size(sweep.factors, content["design"]) * content["replications"]
    if size > MAX_RUNS:
        raise ParameterError(f"{sweep.source}: {size} runs: more than {MAX_RUNS}")
    return replace(build_design(sweep.source, content, sweep.base, sweep.factors),
                   chart=sweep.chart, interventions=sweep.interventions)


def chart_digest(chart: OrgChart) -> str:
    """A stable fingerprint of an imported organization (pseudonyms, lines, ties)."""
    digest = hashlib.sha256("\n".join(chart.pseudonym).encode())
    for part in (chart.parent, chart.tie_u, chart.tie_v, chart.tie_weight):
        digest.update(b"|" if part is None else np.ascontiguousarray(part).tobytes())
    digest.update("\n".join(chart.unit + chart.level).encode())
    return digest.hexdigest()[:16]


def point_parameters(point: dict[str, Any]) -> dict[str, Any]:
    """The parameter values of a design point (without its roadmap factors)."""
    return {k: v for k, v in point.items() if not k.startswith(ROADMAP_PREFIX)}


def point_roadmap(sweep_source: str, interventions: tuple[dict[str, Any], ...],
                  point: dict[str, Any], params: Parameters, chart: OrgChart | None,
                  parameters_class: type | None, metrics: list[str]) -> Roadmap:
    """The setting's roadmap with a design point's roadmap factors applied."""
    tables = [dict(t, set=dict(t.get("set") or {})) for t in interventions]
    for name, value in point.items():
        if name.startswith(ROADMAP_PREFIX):
            parts = name.split(".")
            table = tables[int(parts[1]) - 1]
            if parts[2] == "set":
                table["set"][parts[3]] = value
            else:
                table[parts[2]] = value
    return build_roadmap(tables, sweep_source, params, chart, metrics, parameters_class)


def check_roadmaps(sweep: Sweep, parameters_class: type | None, step_metrics) -> None:
    """Every point's roadmap is valid (e.g. no `at` beyond the run), or one line naming it."""
    if not sweep.interventions:
        return
    refused = {s["point_id"] for s in sweep.skipped}
    metrics = [m.name for m in step_metrics]
    for index, point in enumerate(sweep.points):
        if index in refused:
            continue
        params = make_parameters({**sweep.base, **point_parameters(point)},
                                 parameters_class=parameters_class)
        point_roadmap(f"{sweep.source}: design point {index} ({canonical_json(point)})",
                      sweep.interventions, point, params, sweep.chart, parameters_class,
                      metrics)


def _roadmap_spec(check: _Checker, name: str) -> ParameterSpec:
    """What a roadmap factor may take: intervention.K.at / .ramp (weeks) or .set.NAME."""
    parts = name.split(".")
    field = f"vary.{name}"
    if not (len(parts) == 3 and parts[2] in ("at", "ramp")) and not (
            len(parts) == 4 and parts[2] == "set"):
        raise ParameterError(f"{check.source}: field '{field}': a roadmap factor is "
                             "intervention.K.at, intervention.K.ramp or intervention.K.set.NAME")
    if not parts[1].isdigit() or not 1 <= int(parts[1]) <= len(check.interventions):
        raise ParameterError(f"{check.source}: field '{field}': the setting has "
                             f"{len(check.interventions)} interventions")
    table = check.interventions[int(parts[1]) - 1]
    if parts[2] == "set":
        spec = _spec(parts[3], check.parameters_class)
        if spec is None:
            raise ParameterError(f"{check.source}: field '{field}': unknown parameter "
                                 f"'{parts[3]}'")
        return spec
    if parts[2] == "at" and "at" not in table:
        raise ParameterError(f"{check.source}: field '{field}': intervention {parts[1]} is "
                             "triggered (when), it has no week to vary")
    low = 1 if parts[2] == "at" else 0
    return ParameterSpec(name, "roadmap", table.get(parts[2], low), low, check.steps, "weeks",
                         f"{parts[2]} of intervention {parts[1]}", None, int)


def _base_parameters(setting: str, fixed: dict[str, Any], source: str,
                     parameters_class: type) -> tuple[dict[str, Any], Any]:
    try:
        chosen = load_setting(setting, parameters_class)
    except ParameterError as err:
        raise ParameterError(f"{source}: field 'setting': {err}") from None
    merged = {**chosen.values, **fixed}
    if chosen.chart is not None and merged["n_employees"] != chosen.chart.n:
        raise ParameterError(f"{source}: n_employees = {merged['n_employees']!r}: the "
                             f"setting's chart fixes it at {chosen.chart.n}")
    return make_parameters(merged, source=f"{source}: [parameters]", strict=True,
                           parameters_class=parameters_class).model_dump(), chosen


def _design_options(check: _Checker, design: dict[str, Any]) -> dict[str, Any]:
    check.known_keys(design, DESIGN_KEYS, "design.")
    method = check.typed(design, "method", str, "grid", "design.")
    if method not in METHODS:
        raise ParameterError(f"{check.source}: field 'design.method': value {method!r} is not "
                             f"one of {', '.join(METHODS)}")
    options: dict[str, Any] = {"method": method}
    if method == "grid":
        for key in ("samples", "levels", "second_order"):
            if key in design:
                raise ParameterError(f"{check.source}: field 'design.{key}': value "
                                     f"{design[key]!r} does not apply to a grid")
        return options
    options["samples"] = check.integer(design, "samples", 1, 1_000_000, None, "design.")
    if method == "sobol":
        n = options["samples"]
        if n & (n - 1):
            raise ParameterError(f"{check.source}: field 'design.samples': value {n} must be a "
                                 "power of 2 for a Sobol design")
        options["second_order"] = check.typed(design, "second_order", bool, False, "design.")
    elif "second_order" in design:
        raise ParameterError(f"{check.source}: field 'design.second_order': only for sobol")
    if method in COMMON_DEFAULT:
        if check.typed(design, "dummy", bool, True, "design."):
            options["dummy"] = True  # absent = no dummy: older sweeps keep their hash
    elif "dummy" in design:
        raise ParameterError(f"{check.source}: field 'design.dummy': only for morris and sobol "
                             "(lhs and grid analyses add their own dummy column)")
    if method == "morris":
        options["levels"] = check.integer(design, "levels", 2, 1000, 4, "design.")
        if options["levels"] % 2:
            raise ParameterError(f"{check.source}: field 'design.levels': value "
                                 f"{options['levels']} must be even for a Morris design")
    elif "levels" in design:
        raise ParameterError(f"{check.source}: field 'design.levels': only for morris")
    return options


def _spec(name: str, parameters_class: type | None = None) -> ParameterSpec | None:
    return next((s for s in parameter_specs(parameters_class) if s.name == name), None)


def _factor(check: _Checker, name: str, entry: Any, method: str,
            fixed: dict[str, Any]) -> Factor:
    field = f"vary.{name}"
    spec = (_roadmap_spec(check, name) if name.startswith(ROADMAP_PREFIX)
            else _spec(name, check.parameters_class))
    if spec is None:
        raise ParameterError(f"{check.source}: field '{field}': unknown parameter '{name}' "
                             "(see `run.py parameters`)")
    if name in fixed:
        raise ParameterError(f"{check.source}: field '{field}': also fixed in [parameters]")
    kind = "str" if spec.choices else ("int" if spec.kind is int else "float")
    if method == "grid":
        values = _grid_values(check, field, entry, kind)
        if not values:
            raise ParameterError(f"{check.source}: field '{field}': value {entry!r} gives no "
                                 "values")
        for value in values:
            check.in_bounds(field, value, spec)
        if len(set(values)) != len(values):
            raise ParameterError(f"{check.source}: field '{field}': value {entry!r} repeats a "
                                 "value")
        return Factor(name, kind, tuple(values))
    if kind == "str":
        raise ParameterError(f"{check.source}: field '{field}': categorical parameter cannot "
                             f"be sampled by {method} (use a grid, or fix it in [parameters])")
    if not isinstance(entry, dict) or set(entry) != BOUND_KEYS:
        raise ParameterError(f"{check.source}: field '{field}': value {entry!r} must be "
                             f"{{ low = ..., high = ... }} for a {method} design")
    low, high = (check.number(field + "." + k, entry[k], kind) for k in ("low", "high"))
    if not low < high:
        raise ParameterError(f"{check.source}: field '{field}': low = {low!r} must be below "
                             f"high = {high!r}")
    check.in_bounds(field, low, spec)
    check.in_bounds(field, high, spec)
    return Factor(name, kind, (), float(low), float(high))


def _grid_values(check: _Checker, field: str, entry: Any, kind: str) -> list[Any]:
    if isinstance(entry, list):
        return [check.number(field, v, kind) if kind != "str" else check.choice(field, v)
                for v in entry]
    if isinstance(entry, dict) and set(entry) in RANGE_KEYS and kind != "str":
        start, stop = (check.number(f"{field}.{k}", entry[k], kind) for k in ("start", "stop"))
        if "num" in entry:
            num = check.integer(entry, "num", 1, MAX_GRID_VALUES, None, field + ".")
            values = np.linspace(start, stop, num)
        else:
            step = check.number(f"{field}.step", entry["step"], kind)
            if step <= 0 or stop < start:
                raise ParameterError(f"{check.source}: field '{field}': value {entry!r} needs "
                                     "start <= stop and step > 0")
            count = math.floor((stop - start) / step + 1e-9) + 1  # before allocating them
            if count > MAX_GRID_VALUES:
                raise ParameterError(f"{check.source}: field '{field}': value {entry!r} gives "
                                     f"{count:.4g} values (at most {MAX_GRID_VALUES} per "
                                     "factor)")
            values = np.arange(math.floor((stop - start) / step + 1e-9) + 1) * step + start
        values = [round(float(v), 12) for v in values]
        if kind == "int":
            if any(v != round(v) for v in values):
                raise ParameterError(f"{check.source}: field '{field}': value {entry!r} gives "
                                     "non-integer values for an integer parameter")
            values = [int(round(v)) for v in values]
        return values
    expected = "a list" if kind == "str" else ("a list, { start, stop, num } or "
                                               "{ start, stop, step }")
    raise ParameterError(f"{check.source}: field '{field}': value {entry!r} must be {expected} "
                         "for a grid")


def _factor_content(factor: Factor) -> dict[str, Any]:
    if factor.values:
        return {"kind": factor.kind, "values": list(factor.values)}
    return {"kind": factor.kind, "low": factor.low, "high": factor.high}


def _metric_list(check: _Checker, data: dict[str, Any], key: str, allowed: tuple[str, ...],
                 default: tuple[str, ...]) -> list[str]:
    value = data.get(key, list(default))
    if value == "all":
        return list(allowed)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ParameterError(f"{check.source}: field '{key}': value {value!r} must be a list "
                             "of metric names or \"all\"")
    for name in value:
        if key == "metrics" and is_named(name):
            load_metric(name, f"{check.source}: field '{key}'")
        elif name not in allowed:
            raise ParameterError(f"{check.source}: field '{key}': unknown metric {name!r} "
                                 f"(choose from {', '.join(allowed)})")
    if len(set(value)) != len(value):
        raise ParameterError(f"{check.source}: field '{key}': value {value!r} repeats a metric")
    return list(value)


# --- design ----------------------------------------------------------------------------
def salib_problem(factors: tuple[Factor, ...]) -> dict[str, Any]:
    """The SALib problem of sampled factors (names and bounds)."""
    return {"num_vars": len(factors), "names": [f.name for f in factors],
            "bounds": [[f.low, f.high] for f in factors]}


def design_size(factors: tuple[Factor, ...], design: dict[str, Any]) -> int:
    """Number of points a design will have (computed before building it)."""
    d, method = len(factors) + bool(design.get("dummy")), design["method"]
    if method == "grid":
        return math.prod(len(f.values) for f in factors)
    if method == "sobol":
        return design["samples"] * ((2 * d + 2) if design["second_order"] else (d + 2))
    return design["samples"] * ((d + 1) if method == "morris" else 1)


def design_points(factors: tuple[Factor, ...], design: dict[str, Any],
                  samples: tuple[tuple[float, ...], ...]) -> list[dict[str, Any]]:
    """Parameter points of the design, in design order (sampled integers rounded)."""
    if design["method"] == "grid":
        return [dict(zip([f.name for f in factors], combo, strict=True))
                for combo in itertools.product(*(f.values for f in factors))]
    return [{f.name: (int(round(x)) if f.kind == "int" else float(x))
             for f, x in zip(factors, row[:len(factors)], strict=True)} for row in samples]


def sample_matrix(factors: tuple[Factor, ...], design: dict[str, Any],
                  seed: int) -> np.ndarray:
    """SALib sample matrix (rows = points) for lhs, sobol or morris."""
    from SALib.sample import latin, morris, sobol

    if design.get("dummy"):  # the last column: an inert factor on [0, 1]
        factors = (*factors, Factor(DUMMY, "float", (), 0.0, 1.0))
    problem = salib_problem(factors)
    n, method = design["samples"], design["method"]
    if method == "lhs":
        return latin.sample(problem, n, seed=seed)
    if method == "sobol":
        return sobol.sample(problem, n, calc_second_order=design["second_order"], seed=seed)
    return morris.sample(problem, n, num_levels=design["levels"], seed=seed)


def _skipped_points(points: list[dict[str, Any]], base: dict[str, Any],
                    constraints: list[dict[str, Any]] | tuple,
                    parameters_class: type | None = None) -> list[dict]:
    """Points that break a constraint or that the Parameters model refuses (checked before
    anything runs): point_id and reason of each."""
    skipped = []
    for index, point in enumerate(points):
        values = {**base, **point_parameters(point)}
        broken = next((c for c in constraints if not _holds(c, values)), None)
        if broken:
            skipped.append({"point_id": index, "reason": "constraint " + _describe(broken)})
            continue
        try:
            make_parameters(values, source="point", parameters_class=parameters_class)
        except ParameterError as err:
            skipped.append({"point_id": index, "reason": str(err).removeprefix("point: ")})
    return skipped


def _holds(constraint: dict[str, Any], values: dict[str, Any]) -> bool:
    right = constraint["right"]
    right = values[right] if isinstance(right, str) else right
    return OPERATORS[constraint["op"]](values[constraint["left"]], right)


def _describe(constraint: dict[str, Any]) -> str:
    return f"{constraint['left']} {constraint['op']} {constraint['right']}"


def _constraints(check: _Checker, entries: Any, base: dict[str, Any]) -> list[dict[str, Any]]:
    """``[[constraint]]`` tables: {left = NAME, op = OP, right = NAME or number}."""
    if entries is None:
        return []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise check.fail("constraint", entries, "must be tables [[constraint]] with left, op "
                                                "and right")
    result = []
    for k, entry in enumerate(entries):
        field = f"constraint[{k}]"
        check.known_keys(entry, CONSTRAINT_KEYS, field + ".")
        missing = [key for key in CONSTRAINT_KEYS if key not in entry]
        if missing:
            raise ParameterError(f"{check.source}: field '{field}.{missing[0]}': missing")
        left, op, right = (entry[key] for key in CONSTRAINT_KEYS)
        if not isinstance(left, str) or left not in base:
            raise check.fail(field + ".left", left, "is not a parameter (see `run.py "
                                                    "parameters`)")
        if op not in OPERATORS:
            raise check.fail(field + ".op", op, f"is not one of {' '.join(OPERATORS)}")
        if isinstance(right, str):
            if right not in base:
                raise check.fail(field + ".right", right, "is neither a parameter nor a number")
        elif isinstance(right, bool) or not isinstance(right, int | float):
            raise check.fail(field + ".right", right, "must be a parameter name or a number")
        if isinstance(base[left], str) != isinstance(base[right] if isinstance(right, str)
                                                     else right, str):
            raise check.fail(field, entry, "compares text with a number")
        result.append({"left": left, "op": op, "right": right})
    return result


# --- field checks ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Checker:
    """Small typed getters whose errors name the file, the field and the value."""

    source: str
    parameters_class: type | None = None  # an extension's parameter block
    interventions: tuple[dict[str, Any], ...] = ()  # the setting's roadmap (roadmap factors)
    steps: int = 0

    def fail(self, field: str, value: Any, problem: str) -> ParameterError:
        return ParameterError(f"{self.source}: field '{field}': value {value!r} {problem}")

    def known_keys(self, data: dict[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
        for key in data:
            if key not in allowed:
                raise ParameterError(f"{self.source}: field '{prefix}{key}': unknown (allowed: "
                                     f"{', '.join(allowed)})")

    def typed(self, data: dict[str, Any], key: str, kind: type, default: Any,
              prefix: str = "") -> Any:
        value = data.get(key, default)
        if key in data and (not isinstance(value, kind) or (kind is not bool
                                                            and isinstance(value, bool))):
            raise self.fail(prefix + key, value, f"must be a {_kind_name(kind)}")
        return value

    def integer(self, data: dict[str, Any], key: str, low: int, high: int, default: int | None,
                prefix: str = "") -> int:
        if key not in data and default is None:
            raise ParameterError(f"{self.source}: field '{prefix}{key}': missing")
        value = data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(prefix + key, value, "must be an integer")
        if not low <= value <= high:
            raise self.fail(prefix + key, value, f"must be between {low} and {high}")
        return value

    def number(self, field: str, value: Any, kind: str) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(field, value, "must be a number")
        if kind == "int" and value != int(value):
            raise self.fail(field, value, "must be an integer")
        return int(value) if kind == "int" else float(value)

    def choice(self, field: str, value: Any) -> str:
        spec = _spec(field.split(".")[-1], self.parameters_class)
        if value not in (spec.choices if spec else ()):
            raise self.fail(field, value, f"is not one of {', '.join(spec.choices)}")
        return value

    def in_bounds(self, field: str, value: Any, spec: ParameterSpec) -> None:
        if spec.choices:
            return
        if spec.minimum is not None and value < spec.minimum:
            raise self.fail(field, value, f"is below the minimum {spec.minimum:g} of "
                                          f"{spec.name}")
        if spec.maximum is not None and value > spec.maximum:
            raise self.fail(field, value, f"is above the maximum {spec.maximum:g} of "
                                          f"{spec.name}")


def _kind_name(kind: type) -> str:
    return {str: "string", dict: "table", bool: "boolean", list: "list"}.get(kind, kind.__name__)
