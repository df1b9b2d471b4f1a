"""Where a student's mid-run change applies, and what the page shows by unit.

A scope is the whole organization, one of the imported chart's units, or one level (the
chart's level labels; a generated structure's depths, ``L0`` = the top). Only parameters
declared ``per_unit`` (model/parameters.py) may differ by unit or level: the list is read
from the declarations, never written here. A scoped change sets those positions' own
values (``model.local``, as a roadmap's ``where`` does) from next week on and is logged in
the model's interventions log (intervention 0, with where).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from model.employees import HIDDEN
from model.organization import OrganizationModel
from model.parameters import ParameterError, make_parameters, per_unit_parameters


@dataclass(frozen=True)
class Scope:
    """One choice of where a change applies."""

    kind: str  # "all", "unit" or "level"
    name: str = ""  # the unit's or level's label ("" for the whole organization)

    @property
    def label(self) -> str:
        return WHOLE_LABEL if self.kind == "all" else f"{self.kind}: {self.name}"

    @property
    def where(self) -> str:
        """As the interventions log writes it."""
        return "all" if self.kind == "all" else self.name


WHOLE_LABEL = "whole organization"
WHOLE = Scope("all")


def position_labels(model: OrganizationModel, kind: str) -> np.ndarray:
    """Each position's unit or level label (a generated structure has levels only)."""
    chart = model.chart
    if chart is not None:
        return np.asarray(chart.unit if kind == "unit" else chart.level, dtype=object)
    if kind == "unit":
        return np.full(model.structure.n, "all", dtype=object)
    return np.array([f"L{d}" for d in model.structure.level], dtype=object)


def scopes(model: OrganizationModel) -> list[Scope]:
    """The whole organization, then each unit of the chart, then each level (top first)."""
    found = [WHOLE]
    if model.chart is not None:
        found += [Scope("unit", name) for name in sorted(set(model.chart.unit))]
    levels = position_labels(model, "level")
    depth = model.structure.level
    first_depth = {}
    for label, d in zip(levels.tolist(), depth.tolist(), strict=True):
        first_depth[label] = min(d, first_depth.get(label, d))
    found += [Scope("level", name) for name in sorted(first_depth,
                                                       key=lambda n: (first_depth[n], n))]
    return found


def scope_from_label(model: OrganizationModel, label: str) -> Scope:
    """The scope a chooser label names (ParameterError if the organization has no such)."""
    for scope in scopes(model):
        if scope.label == label:
            return scope
    raise ParameterError(f"where = {label!r}: no such unit or level in this organization")


def scope_mask(model: OrganizationModel, scope: Scope) -> np.ndarray | None:
    """Bool mask of the positions in ``scope`` (None = everyone)."""
    if scope.kind == "all":
        return None
    return position_labels(model, scope.kind) == scope.name


def scoped_parameters(model: OrganizationModel) -> frozenset[str]:
    """Parameters that may differ by unit or level (declared ``per_unit``)."""
    return frozenset(per_unit_parameters(model.parameters_class))


def parameters_with_own_values(model: OrganizationModel) -> list[str]:
    """Per-unit parameters some unit or level holds its own value of (a later change to
    the whole organization leaves those values in place)."""
    return sorted(name for name, values in model.local.values.items()
                  if not np.all(np.isnan(values)))


def apply_change(model: OrganizationModel, name: str, value: Any, scope: Scope,
                 why: str) -> None:
    """Change ``name`` to ``value`` in ``scope`` from next week on, logged with where.
    ParameterError if the value is out of bounds or the parameter cannot be scoped."""
    if scope.kind == "all":
        model.intervene({name: value}, why=why)
        return
    allowed = scoped_parameters(model)
    if name not in allowed:
        raise ParameterError(f"{name} cannot differ by unit or level; choose the whole "
                             f"organization (per-unit parameters: {', '.join(sorted(allowed))})")
    checked = make_parameters({**model.p.model_dump(), name: value},
                              source=f"mid-run change in {scope.label}",
                              parameters_class=model.parameters_class)
    new = getattr(checked, name)
    mask = scope_mask(model, scope)
    before = model.local.by_position(name, getattr(model.p, name))[mask]
    old = float(before[0]) if np.all(before == before[0]) else "varied"
    model.roadmap_log.append({"week": model.steps + 1, "intervention": 0, "parameter": name,
                              "old": old, "new": new, "where": scope.where, "why": why})
    model.local.array(name)[mask] = new
    model.local.version += 1


def value_in(model: OrganizationModel, name: str, scope: Scope) -> float | str:
    """The value ``name`` has in ``scope`` now ("varied" if it differs within it)."""
    mask = scope_mask(model, scope)
    values = model.local.by_position(name, getattr(model.p, name))
    values = values if mask is None else values[mask]
    return float(values[0]) if np.all(values == values[0]) else "varied"


@dataclass(frozen=True)
class UnitRow:
    """One unit now: head count, levels, hidden coasting and its own parameter values."""

    unit: str
    employees: int
    levels: int
    hidden_coasting_share: float
    own_values: tuple[tuple[str, float], ...]  # per-unit parameters set differently here


def unit_breakdown(model: OrganizationModel) -> list[UnitRow]:
    """The chart's units (largest first) as the model holds them now; empty without a
    chart. Own values: the unit's mean of each per-unit parameter a change has scoped."""
    if model.chart is None:
        return []
    units = position_labels(model, "unit")[model.people.position]
    levels = position_labels(model, "level")[model.people.position]
    names, code = np.unique(units, return_inverse=True)
    counts = np.bincount(code, minlength=len(names))
    hidden = np.bincount(code, weights=(model.people.coast_state == HIDDEN),
                         minlength=len(names))
    level_count = [len(set(levels[code == k].tolist())) for k in range(len(names))]
    scoped = [n for n in sorted(model.local.values)
              if not np.all(np.isnan(model.local.values[n]))]
    own = {n: np.bincount(code, weights=model.per_employee(n), minlength=len(names)) / counts
           for n in scoped}
    rows = [UnitRow(str(names[k]), int(counts[k]), level_count[k],
                    float(hidden[k] / counts[k]),
                    tuple((n, float(own[n][k])) for n in scoped))
            for k in range(len(names))]
    return sorted(rows, key=lambda r: (-r.employees, r.unit))
