"""Read a setting's roadmap: ``[[intervention]]`` tables, checked into a model Roadmap.

    [[intervention]]
    at = 26                                   # week (or `when`, a structured trigger)
    set = { autonomy = 0.8, monitoring_capacity = 1.0 }
    ramp = 8                                  # optional: weeks over which values move
    where = ["Operations"]                    # optional: units or levels of the chart,
                                              # or level numbers (0 = top)
    [[intervention]]
    when = { metric = "hidden_coasting_share", above = 0.10, for = 4 }
    until = { metric = "hidden_coasting_share", below = 0.05, for = 4 }
    set = { peer_sanction_power = 0.4 }

Nothing is evaluated: a trigger is a table naming a recorded per-step metric. Every
mistake is one line naming the setting file, the intervention and the value.
"""

from __future__ import annotations

from typing import Any

from model.chart import OrgChart
from model.errors import ParameterError
from model.parameters import (
    FIXED_DURING_RUN,
    Parameters,
    check_types,
    make_parameters,
    per_unit_parameters,
)
from model.results import METRICS
from model.roadmap import Intervention, Roadmap, Trigger

INTERVENTION_KEYS = {"at", "set", "ramp", "where", "when", "until"}
TRIGGER_KEYS = {"metric", "above", "below", "for"}


def build_roadmap(tables: list[Any], source: str, params: Parameters,
                  chart: OrgChart | None = None, metrics: list[str] | None = None,
                  parameters_class: type[Parameters] | None = None) -> Roadmap:
    """The checked roadmap of a setting's ``[[intervention]]`` tables."""
    if not isinstance(tables, list):
        raise ParameterError(f"{source}: intervention must be an array of tables "
                             "([[intervention]])")
    metrics = metrics or [m.name for m in METRICS]
    items = [_intervention(k + 1, table, source, params, chart, metrics, parameters_class)
             for k, table in enumerate(tables)]
    _check_overlaps(items, source)
    return Roadmap(tuple(items))


def _intervention(index: int, table: Any, source: str, params: Parameters,
                  chart: OrgChart | None, metrics: list[str],
                  parameters_class: type[Parameters] | None) -> Intervention:
    where_am_i = f"{source}: intervention {index}"
    if not isinstance(table, dict):
        raise ParameterError(f"{where_am_i}: must be a table")
    unknown = sorted(set(table) - INTERVENTION_KEYS)
    if unknown:
        raise ParameterError(f"{where_am_i}: unknown key '{unknown[0]}' (keys: "
                             f"{', '.join(sorted(INTERVENTION_KEYS))})")
    values = table.get("set")
    if not isinstance(values, dict) or not values:
        raise ParameterError(f"{where_am_i}: set = {values!r}: give a table of parameter "
                             "values, e.g. set = { autonomy = 0.8 }")
    fields = (parameters_class or Parameters).model_fields
    for name in values:
        if name not in fields:
            raise ParameterError(f"{where_am_i}: unknown parameter '{name}'")
        if name in FIXED_DURING_RUN:
            raise ParameterError(f"{where_am_i}: {name} is fixed when the organization is "
                                 "built and cannot change during a run")
    check_types(values, where_am_i, parameters_class)
    make_parameters({**params.model_dump(), **values}, where_am_i,
                    parameters_class=parameters_class)  # bounds and cross-field checks
    at, when = table.get("at"), table.get("when")
    if (at is None) == (when is None):
        raise ParameterError(f"{where_am_i}: give either at (a week) or when (a trigger)")
    if at is not None:
        if not isinstance(at, int) or isinstance(at, bool) or at < 1:
            raise ParameterError(f"{where_am_i}: at = {at!r}: must be a week >= 1")
        if at > params.steps:
            raise ParameterError(f"{where_am_i}: at = {at}: beyond the run (steps = "
                                 f"{params.steps})")
    if "until" in table and when is None:
        raise ParameterError(f"{where_am_i}: until needs when (a triggered intervention)")
    ramp = table.get("ramp", 0)
    if not isinstance(ramp, int) or isinstance(ramp, bool) or ramp < 0:
        raise ParameterError(f"{where_am_i}: ramp = {ramp!r}: must be a whole number of weeks")
    if ramp > 1 and any(isinstance(v, str) for v in values.values()):
        raise ParameterError(f"{where_am_i}: ramp = {ramp}: only numeric values can ramp")
    where, mask = _where(table.get("where"), where_am_i, values, chart, parameters_class)
    return Intervention(
        index=index, values=dict(values), at=at, ramp=ramp, where=where, mask=mask,
        when=None if when is None else _trigger(when, f"{where_am_i}: when", metrics),
        until=(None if "until" not in table
               else _trigger(table["until"], f"{where_am_i}: until", metrics)))


def _where(where: Any, where_am_i: str, values: dict[str, Any], chart: OrgChart | None,
           parameters_class: type[Parameters] | None):
    if where is None:
        return (), None
    where = [where] if isinstance(where, str | int) else where
    if not isinstance(where, list) or not where or not all(
            isinstance(w, str | int) and not isinstance(w, bool) for w in where):
        raise ParameterError(f"{where_am_i}: where = {where!r}: give unit or level names, "
                             "or level numbers")
    if chart is None:
        raise ParameterError(f"{where_am_i}: where = {where!r}: needs an imported chart "
                             "([organization] chart = ...)")
    scoped = per_unit_parameters(parameters_class)
    for name in values:
        if name not in scoped:
            raise ParameterError(f"{where_am_i}: {name} cannot differ by unit (per-unit "
                                 f"parameters: {', '.join(scoped)})")
    known = set(chart.unit) | set(chart.level)
    for name in where:
        if isinstance(name, str) and name not in known:
            raise ParameterError(f"{where_am_i}: where = {name!r}: no such unit or level in "
                                 f"the chart (units: {', '.join(sorted(set(chart.unit)))}; "
                                 f"levels: {', '.join(sorted(set(chart.level)))})")
    mask = chart.positions_in(where)
    if not mask.any():
        raise ParameterError(f"{where_am_i}: where = {where!r}: selects nobody")
    return tuple(where), mask


def _trigger(table: Any, where_am_i: str, metrics: list[str]) -> Trigger:
    if not isinstance(table, dict):
        raise ParameterError(f"{where_am_i} = {table!r}: must be a table such as "
                             "{ metric = \"hidden_coasting_share\", above = 0.1, for = 4 }")
    unknown = sorted(set(table) - TRIGGER_KEYS)
    if unknown:
        raise ParameterError(f"{where_am_i}: unknown key '{unknown[0]}' (keys: metric, "
                             "above or below, for)")
    metric = table.get("metric")
    if metric not in metrics:
        raise ParameterError(f"{where_am_i}: metric = {metric!r}: unknown metric (per-step "
                             f"metrics: {', '.join(metrics)})")
    if ("above" in table) == ("below" in table):
        raise ParameterError(f"{where_am_i}: give one of above or below")
    side = "above" if "above" in table else "below"
    threshold = table[side]
    if not isinstance(threshold, int | float) or isinstance(threshold, bool):
        raise ParameterError(f"{where_am_i}: {side} = {threshold!r}: must be a number")
    steps = table.get("for", 1)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ParameterError(f"{where_am_i}: for = {steps!r}: must be a whole number of "
                             "steps >= 1")
    return Trigger(metric, float(threshold), side == "above", steps)


def _check_overlaps(items: list[Intervention], source: str) -> None:
    """Two interventions that set one parameter to different values for overlapping
    people at overlapping times contradict each other."""
    for k, a in enumerate(items):
        for b in items[k + 1:]:
            for name in set(a.values) & set(b.values):
                if a.values[name] == b.values[name]:
                    continue
                people = (a.mask is None or b.mask is None or bool((a.mask & b.mask).any()))
                if not people:
                    continue
                if a.at is not None and b.at is not None:
                    a_end, b_end = a.at + max(a.ramp, 1) - 1, b.at + max(b.ramp, 1) - 1
                    if a_end < b.at or b_end < a.at:
                        continue
                    when = "at overlapping weeks"
                else:
                    when = "and one of them is triggered (their timing may overlap)"
                raise ParameterError(
                    f"{source}: interventions {a.index} and {b.index} contradict each other: "
                    f"{name} = {a.values[name]!r} vs {b.values[name]!r} for overlapping "
                    f"people {when}")
