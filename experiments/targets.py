"""TARGETS.toml: what a client or the literature has measured, and the priors to fit.

A targets file is read as TOML (never executed) and checked completely before any run;
every mistake is one line naming the file, the field and the value. Layout::

    description = "Acme 2026: engagement survey, idea system, HR attrition"

    [calibration]             # all optional
    replications = 2          # runs per parameter point (their likelihoods averaged)
    budget = 200              # parameter points tried (run.py calibrate --budget overrides)
    population = 50           # points per generation of the adaptive search
    seed = 2026
    employees = 120           # overrides the setting's size (smaller = faster)
    steps = 52

    [parameters]              # the parameters fitted, each with a uniform prior range
    motive_mean = { low = 0.4, high = 0.9 }
    customer_problem_rate = { low = 0.02, high = 0.3, log = true }   # log-uniform

    [survey]                  # engagement survey (Gallup-style shares, sum to 1)
    engaged = 0.23
    not_engaged = 0.62
    actively_disengaged = 0.15
    respondents = 400
    concentration = 100       # optional: Dirichlet-multinomial concentration (default 100)

    [ideas]                   # the idea funnel over `years` of the idea system
    employees = 300
    years = 1.0
    submitted = 412           # Poisson: ideas per employee per year
    approved = 120            # optional; of submitted (beta-binomial)
    implemented = 40          # optional; of submitted (beta-binomial)

    [attrition]               # HR: leavers over `years` among `employees` (Poisson)
    leavers = 36
    employees = 300
    years = 1.0

    [[metric]]                # any summary metric (run.py run lists them) with mean and sd
    name = "hidden_coasting_share"
    mean = 0.10
    sd = 0.03

How each target maps onto the model is declared in :data:`MAPPINGS` (docs: README,
"Calibration").
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from model.errors import ParameterError
from model.parameters import Parameters, parameter_specs

# --- the declared map from the model to what a client measures ----------------------------
# Engagement survey: an employee's final commitment (0-1, model/processes/effort.py) puts
# them in one of Gallup's three categories.
ENGAGED_AT = 0.7  # commitment >= this: engaged
DISENGAGED_BELOW = 0.5  # commitment < this: actively disengaged; between: not engaged
SURVEY_CATEGORIES = ("engaged", "not_engaged", "actively_disengaged")
SHARE_TOLERANCE = 0.01  # survey shares must sum to 1 within this
DEFAULT_SURVEY_CONCENTRATION = 100.0
DEFAULT_FUNNEL_CONCENTRATION = 50.0
MAPPINGS = {
    "survey": "engaged: final commitment >= 0.7; actively disengaged: < 0.5; else not "
              "engaged (share of employees, last step)",
    "ideas.submitted": "ideas_per_employee_year x employees x years (Poisson)",
    "ideas.approved": "ideas_sanctioned_share: ideas sanctioned (codified) / ideas born "
                      "(beta-binomial of submitted)",
    "ideas.implemented": "ideas_adopted_widely_share: ideas used by >= wide_adoption_share of "
                         "staff / ideas born (beta-binomial of submitted)",
    "attrition": "attrition_per_year: leavers (turnover process) per employee per 52 steps "
                 "x employees x years (Poisson)",
    "metric": "the run summary's value (of each run; a point's likelihood is the mean of "
              "its runs'), normal with sd",
}
TOP_KEYS = {"description", "calibration", "parameters", "survey", "ideas", "attrition",
            "metric"}
CALIBRATION_KEYS = {"replications": (1, 100), "budget": (2, 1_000_000),
                    "population": (2, 1_000_000),
                    "seed": (0, 2**63 - 1), "employees": (2, 20_000_000),
                    "steps": (1, 1_000_000)}


@dataclass(frozen=True)
class Prior:
    """A fitted parameter: uniform (or log-uniform) between low and high."""

    name: str
    low: float
    high: float
    log: bool
    integer: bool


@dataclass(frozen=True)
class Target:
    """One measured quantity and its likelihood.

    kind: "survey" (counts of the three categories, Dirichlet-multinomial), "poisson"
    (count with exposure: expected = observable x exposure), "betabinomial" (successes of
    trials) or "normal" (mean, sd)."""

    name: str
    kind: str
    observables: tuple[str, ...]
    data: dict[str, float]


@dataclass(frozen=True)
class Targets:
    source: str
    description: str
    content: dict[str, Any]
    digest: str
    priors: tuple[Prior, ...]
    targets: tuple[Target, ...]
    options: dict[str, int] = field(default_factory=dict)

    def option(self, name: str, default: int | None) -> int | None:
        return self.options.get(name, default)

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(t.observables[0] for t in self.targets if t.kind == "normal")


def _bad(source: str, where: str, value: Any, problem: str) -> ParameterError:
    return ParameterError(f"{source}: {where} = {value!r}: {problem}")


def _number(source: str, where: str, value: Any, *, minimum: float = 0.0,
            positive: bool = False, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(source, where, value, "must be a number")
    if not math.isfinite(value):
        raise _bad(source, where, value, "must be finite")
    if integer and (not isinstance(value, int) and not float(value).is_integer()):
        raise _bad(source, where, value, "must be a whole number (a count)")
    if value < minimum or (positive and value <= 0):
        problem = "must be positive" if positive else (
            "is negative (a count or share cannot be)" if minimum == 0 else f"must be >= "
                                                                          f"{minimum:g}")
        raise _bad(source, where, value, problem)
    return float(value)


def _table(source: str, data: dict, key: str, allowed: set[str]) -> dict[str, Any]:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise _bad(source, f"[{key}]", table, "must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ParameterError(f"{source}: [{key}] unknown key '{unknown[0]}' (allowed: "
                             f"{', '.join(sorted(allowed))})")
    return table


def read_priors(source: str, table: dict[str, Any],
                parameters_class: type[Parameters] | None = None) -> tuple[Prior, ...]:
    """The [parameters] table: each a declared numeric parameter, its range inside bounds."""
    if not table:
        raise ParameterError(f"{source}: [parameters] is empty (name at least one parameter "
                             "to fit, e.g. motive_mean = {{ low = 0.4, high = 0.9 }})")
    specs = {s.name: s for s in parameter_specs(parameters_class)}
    priors = []
    for name, value in table.items():
        where = f"[parameters] {name}"
        spec = specs.get(name)
        if spec is None:
            raise ParameterError(f"{source}: {where}: not a declared parameter (see "
                                 "`run.py parameters`)")
        if spec.choices or spec.kind not in (int, float):
            raise ParameterError(f"{source}: {where}: a choice, not a number; only numeric "
                                 "parameters can be fitted")
        if isinstance(value, list) and len(value) == 2:
            value = {"low": value[0], "high": value[1]}
        if not isinstance(value, dict) or set(value) - {"low", "high", "log"} or not {
                "low", "high"} <= set(value):
            raise _bad(source, where, value, "must be { low = ..., high = ... } (optional "
                       "log = true)")
        low = _number(source, f"{where}.low", value["low"], minimum=-math.inf)
        high = _number(source, f"{where}.high", value["high"], minimum=-math.inf)
        log = value.get("log", False)
        if not isinstance(log, bool):
            raise _bad(source, f"{where}.log", log, "must be true or false")
        if low >= high:
            raise ParameterError(f"{source}: {where}: low = {low:g} must be below high = "
                                 f"{high:g}")
        for end, bound, below in ((low, spec.minimum, True), (high, spec.maximum, False)):
            if bound is not None and ((end < bound) if below else (end > bound)):
                raise ParameterError(f"{source}: {where}: prior range {low:g}..{high:g} "
                                     f"outside the parameter's bounds {spec.minimum:g}.."
                                     f"{spec.maximum:g}")
        if log and low <= 0:
            raise _bad(source, f"{where}.low", low, "a log-uniform prior needs low > 0")
        integer = spec.kind is int
        if integer and not (float(low).is_integer() and float(high).is_integer()):
            raise ParameterError(f"{source}: {where}: an integer parameter needs whole "
                                 f"numbers (got {low:g}..{high:g})")
        for end in (low, high):  # strict bounds (gt/lt) and cross-field checks
            try:
                (parameters_class or Parameters)(**{name: int(end) if integer else end})
            except ValidationError as err:
                first = err.errors()[0]["msg"]
                raise ParameterError(f"{source}: {where}: prior end {end:g} outside the "
                                     f"parameter's bounds ({first})") from None
        priors.append(Prior(name, low, high, log, integer))
    return tuple(priors)


def _survey(source: str, table: dict[str, Any]) -> Target:
    shares = {}
    for name in SURVEY_CATEGORIES:
        if name not in table:
            raise ParameterError(f"{source}: [survey] missing '{name}' (give the shares "
                                 f"{', '.join(SURVEY_CATEGORIES)})")
        shares[name] = _number(source, f"[survey] {name}", table[name])
        if shares[name] > 1:
            raise _bad(source, f"[survey] {name}", table[name], "a share must be at most 1")
    total = sum(shares.values())
    if abs(total - 1) > SHARE_TOLERANCE:
        raise ParameterError(f"{source}: [survey] shares sum to {total:.4g}, not 1 ("
                             + " + ".join(f"{k} {v:g}" for k, v in shares.items()) + ")")
    if "respondents" not in table:
        raise ParameterError(f"{source}: [survey] missing 'respondents' (the survey's sample "
                             "size)")
    n = _number(source, "[survey] respondents", table["respondents"], integer=True,
                positive=True)
    concentration = _number(source, "[survey] concentration",
                            table.get("concentration", DEFAULT_SURVEY_CONCENTRATION),
                            positive=True)
    engaged_at = _number(source, "[survey] engaged_at", table.get("engaged_at", ENGAGED_AT))
    below = _number(source, "[survey] disengaged_below",
                    table.get("disengaged_below", DISENGAGED_BELOW))
    if not 0 < below < engaged_at <= 1:
        raise ParameterError(f"{source}: [survey] disengaged_below = {below:g} and engaged_at "
                             f"= {engaged_at:g}: need 0 < disengaged_below < engaged_at <= 1")
    counts = _rounded_counts([shares[k] / total for k in SURVEY_CATEGORIES], int(n))
    data = {**{f"count_{k}": float(c) for k, c in zip(SURVEY_CATEGORIES, counts, strict=True)},
            "respondents": n, "concentration": concentration, **shares,
            "engaged_at": engaged_at, "disengaged_below": below}
    return Target("survey", "survey", tuple(f"{k}_share" for k in SURVEY_CATEGORIES), data)


def _rounded_counts(shares: list[float], n: int) -> list[int]:
    """Whole counts summing to n, nearest to shares x n (largest remainders)."""
    raw = [s * n for s in shares]
    counts = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: counts[i] - raw[i])
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def _exposure(source: str, key: str, table: dict[str, Any]) -> tuple[float, float]:
    for name in ("employees", "years"):
        if name not in table:
            raise ParameterError(f"{source}: [{key}] missing '{name}'")
    return (_number(source, f"[{key}] employees", table["employees"], positive=True),
            _number(source, f"[{key}] years", table["years"], positive=True))


def _ideas(source: str, table: dict[str, Any]) -> list[Target]:
    employees, years = _exposure(source, "ideas", table)
    if "submitted" not in table:
        raise ParameterError(f"{source}: [ideas] missing 'submitted' (ideas counted over the "
                             "years)")
    submitted = _number(source, "[ideas] submitted", table["submitted"], integer=True)
    concentration = _number(source, "[ideas] concentration",
                            table.get("concentration", DEFAULT_FUNNEL_CONCENTRATION),
                            positive=True)
    found = [Target("ideas.submitted", "poisson", ("ideas_per_employee_year",),
                    {"count": submitted, "exposure": employees * years})]
    for key, observable in (("approved", "ideas_sanctioned_share"),
                            ("implemented", "ideas_adopted_widely_share")):
        if key in table:
            k = _number(source, f"[ideas] {key}", table[key], integer=True)
            if k > submitted:
                raise _bad(source, f"[ideas] {key}", table[key],
                           f"more than submitted = {submitted:g}")
            found.append(Target(f"ideas.{key}", "betabinomial", (observable,),
                                {"successes": k, "trials": submitted,
                                 "concentration": concentration}))
    return found


def _attrition(source: str, table: dict[str, Any]) -> Target:
    employees, years = _exposure(source, "attrition", table)
    if "leavers" not in table:
        raise ParameterError(f"{source}: [attrition] missing 'leavers'")
    leavers = _number(source, "[attrition] leavers", table["leavers"], integer=True)
    return Target("attrition", "poisson", ("attrition_per_year",),
                  {"count": leavers, "exposure": employees * years})


def _metrics(source: str, items: Any, known: set[str] | None) -> list[Target]:
    if not isinstance(items, list):
        raise _bad(source, "[[metric]]", items, "must be an array of tables")
    found = []
    for i, item in enumerate(items):
        where = f"[[metric]] {i + 1}"
        if not isinstance(item, dict) or set(item) != {"name", "mean", "sd"}:
            raise _bad(source, where, item, "must hold exactly name, mean and sd")
        name = item["name"]
        if not isinstance(name, str) or (known is not None and name not in known):
            raise ParameterError(f"{source}: {where} name = {name!r}: unknown metric (one of "
                                 f"the run summary's: {', '.join(sorted(known or []))})")
        mean = _number(source, f"{where} mean", item["mean"], minimum=-math.inf)
        sd = _number(source, f"{where} sd", item["sd"], positive=True)
        found.append(Target(f"metric.{name}", "normal", (name,), {"mean": mean, "sd": sd}))
    return found


def read_targets(path: Path, known_metrics: set[str] | None = None,
                 parameters_class: type[Parameters] | None = None) -> Targets:
    """Read and check a targets file; ``known_metrics``: the summary's metric names."""
    from scenarios.settings import read_toml

    return parse_targets(read_toml(Path(path)), str(path), known_metrics, parameters_class)


def parse_targets(data: dict[str, Any], source: str, known_metrics: set[str] | None = None,
                  parameters_class: type[Parameters] | None = None) -> Targets:
    """Check a targets file's content (``source`` names it in errors)."""
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise ParameterError(f"{source}: unknown key '{unknown[0]}' (a targets file holds "
                             f"{', '.join(sorted(TOP_KEYS))})")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _bad(source, "description", description, "must be a string")
    options = {}
    for key, value in _table(source, data, "calibration", set(CALIBRATION_KEYS)).items():
        lo, hi = CALIBRATION_KEYS[key]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise _bad(source, f"[calibration] {key}", value, f"must be a whole number in "
                       f"{lo}..{hi}")
        options[key] = value
    fitted = data.get("parameters", {})
    if not isinstance(fitted, dict):
        raise _bad(source, "[parameters]", fitted, "must be a table")
    priors = read_priors(source, fitted, parameters_class)
    targets: list[Target] = []
    if "survey" in data:
        targets.append(_survey(source, _table(source, data, "survey", {
            *SURVEY_CATEGORIES, "respondents", "concentration", "engaged_at",
            "disengaged_below"})))
    if "ideas" in data:
        targets += _ideas(source, _table(source, data, "ideas", {
            "employees", "years", "submitted", "approved", "implemented", "concentration"}))
    if "attrition" in data:
        targets.append(_attrition(source, _table(source, data, "attrition",
                                                 {"employees", "years", "leavers"})))
    targets += _metrics(source, data.get("metric", []), known_metrics)
    if not targets:
        raise ParameterError(f"{source}: no targets (give [survey], [ideas], [attrition] or "
                             "[[metric]])")
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return Targets(source, description, data, digest, priors, tuple(targets), options)
