"""Roadmaps: interventions that change parameters at step boundaries (process 0).

A :class:`Roadmap` holds validated :class:`Intervention` objects (read and checked by
scenarios/roadmap.py; nothing here reads a file or evaluates a string). The roadmap
process runs first in every step, before any other process draws: an intervention at
week ``t`` changes the parameters from step ``t`` on, so rows 0..t-1 are untouched, and
it draws no random number, so every other process sees the same draws as without it
(common random numbers; a roadmap that sets the current values changes nothing).

- ``at``: fires at the start of step ``at``; ``when``: fires at the start of the first
  step after the metric was above (below) the threshold in the last ``for`` recorded
  steps; ``until`` (same form) switches the values back once it holds after firing. A
  ``when`` with an ``until`` re-arms on switching back: it fires again once its
  condition holds for ``for`` steps recorded after the switch back, as often as that
  happens (each firing and each switch back is a row of the log, saying why).
- ``ramp``: numeric values move linearly over that many steps (the last reaches the
  target; whole-number parameters are rounded).
- ``where``: a mask of positions (the chart's units or levels). Only parameters declared
  ``per_unit`` in model/parameters.py may be scoped; the others' values are untouched,
  and a later change of the whole organization keeps a pilot's own value.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from model.processes.base import Process

if TYPE_CHECKING:
    from model.organization import OrganizationModel


@dataclass(frozen=True)
class Trigger:
    """A structured condition on a recorded per-step metric (never an expression)."""

    metric: str
    threshold: float
    above: bool  # True: metric > threshold; False: metric < threshold
    steps: int = 1  # consecutive recorded steps it must hold

    def holds(self, model: OrganizationModel, since: int = 0) -> bool:
        results = model.results
        last = results.rows  # rows recorded so far (steps 0..last-1)
        if last - self.steps < since:
            return False
        column = results.names.index(self.metric)
        window = results.values[last - self.steps:last, column]
        return bool((window > self.threshold).all() if self.above
                    else (window < self.threshold).all())

    def describe(self) -> str:
        side = "above" if self.above else "below"
        return f"{self.metric} {side} {self.threshold:g} for {self.steps} steps"


@dataclass(frozen=True, eq=False)
class Intervention:
    """One change of the roadmap."""

    index: int  # position in the roadmap (1-based, as the user counts)
    values: dict[str, Any]
    at: int | None = None
    when: Trigger | None = None
    until: Trigger | None = None
    ramp: int = 0
    where: tuple[str | int, ...] = ()  # names as written; empty = the whole organization
    mask: np.ndarray | None = None  # positions in scope (None = all)

    @property
    def scope(self) -> str:
        return "all" if not self.where else "; ".join(map(str, self.where))


@dataclass(frozen=True)
class Roadmap:
    interventions: tuple[Intervention, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.interventions)


class LocalValues:
    """Per-position values of per-unit parameters set by a scoped intervention (NaN =
    the organization-wide value applies)."""

    def __init__(self, n: int):
        self.n = n
        self.values: dict[str, np.ndarray] = {}
        self.version = 0  # bumped on every change of any parameter by a roadmap

    def array(self, name: str) -> np.ndarray:
        if name not in self.values:
            self.values[name] = np.full(self.n, np.nan)
        return self.values[name]

    def by_position(self, name: str, base: float) -> np.ndarray:
        local = self.values.get(name)
        return np.full(self.n, float(base)) if local is None else np.where(
            np.isnan(local), float(base), local)


@dataclass
class _State:
    fired_at: int | None = None  # None: armed (waiting for ``at`` or ``when``)
    reverted: bool = False
    armed_since: int = 0  # first recorded step a ``when`` may look at
    firings: int = 0
    old_global: dict[str, Any] = field(default_factory=dict)
    old_local: dict[str, np.ndarray] = field(default_factory=dict)
    ramp_until: int = -1


class RoadmapProcess(Process):
    """Applies the roadmap's interventions at the start of each step; keeps the log."""

    name = "roadmap"

    def __init__(self, model: OrganizationModel):
        super().__init__(model)
        self.states = [_State() for _ in model.roadmap.interventions]
        self.log: list[dict[str, Any]] = []

    def step(self) -> None:
        if not self.states:  # no roadmap
            return
        m, t = self.model, self.model.steps
        for item, state in zip(self.model.roadmap.interventions, self.states, strict=True):
            if state.fired_at is None:
                due = (item.at == t if item.when is None
                       else item.when.holds(m, since=state.armed_since))
                if due:
                    self._fire(item, state, t)
            elif t <= state.ramp_until and not state.reverted:
                self._apply(item, state, t)
            elif (item.until is not None and not state.reverted
                  and item.until.holds(m, since=state.fired_at)):
                self._revert(item, state, t)

    def idle_for(self) -> int:
        """For how many coming steps :meth:`step` changes nothing (sys.maxsize: none
        ever): until the next week an intervention is due; none while a trigger is
        watched or a ramp moves."""
        t, quiet = self.model.steps + 1, sys.maxsize
        for item, state in zip(self.model.roadmap.interventions, self.states, strict=True):
            if state.fired_at is None:
                if item.when is not None:
                    return 0
                if item.at is not None and item.at >= t:
                    quiet = min(quiet, item.at - t)
            elif not state.reverted and (t <= state.ramp_until or item.until is not None):
                return 0
        return quiet

    def apply_now(self, values: dict[str, Any], why: str) -> None:
        """Change organization-wide values from the next step on (a student's change mid-
        run), logged like an intervention (number 0). Values are validated by the caller."""
        week = self.model.steps + 1
        for name, new in values.items():
            self.log.append({"week": week, "intervention": 0, "parameter": name,
                             "old": getattr(self.model.p, name), "new": new, "where": "all",
                             "why": why})
        self._set(dict(values))

    def _fire(self, item: Intervention, state: _State, t: int) -> None:
        p, local = self.model.p, self.model.local
        state.fired_at = t
        state.firings += 1
        state.ramp_until = t + max(item.ramp, 1) - 1
        for name in item.values:
            state.old_global[name] = getattr(p, name)
            if item.mask is not None:
                state.old_local[name] = local.array(name)[item.mask].copy()
        why = f"week {item.at}" if item.when is None else f"when {item.when.describe()}"
        if state.firings > 1:
            why += f" (again: firing {state.firings})"
        for name, new in item.values.items():
            ramp = f" over {item.ramp} weeks" if item.ramp > 1 else ""
            self.log.append({"week": t, "intervention": item.index, "parameter": name,
                             "old": state.old_global[name], "new": new, "where": item.scope,
                             "why": why + ramp})
        self._apply(item, state, t)

    def _apply(self, item: Intervention, state: _State, t: int) -> None:
        fraction = min(1.0, (t - state.fired_at + 1) / max(item.ramp, 1))
        updates = {}
        for name, new in item.values.items():
            old = state.old_global[name]
            if item.mask is not None:
                local = self.model.local.array(name)
                before = state.old_local[name]
                start = np.where(np.isnan(before), float(old), before)
                local[item.mask] = _between(start, new, fraction)
            else:
                updates[name] = _between(old, new, fraction) if fraction < 1 else new
        self._set(updates)

    def _revert(self, item: Intervention, state: _State, t: int) -> None:
        """Switch back to the values before firing; a ``when`` re-arms (from step t)."""
        state.reverted = True
        updates = {}
        for name, old in state.old_global.items():
            if item.mask is not None:
                self.model.local.array(name)[item.mask] = state.old_local[name]
            else:
                updates[name] = old
            self.log.append({"week": t, "intervention": item.index, "parameter": name,
                             "old": item.values[name], "new": old, "where": item.scope,
                             "why": f"until {item.until.describe()}"})
        self._set(updates)
        if item.when is not None:
            state.fired_at, state.reverted, state.armed_since = None, False, t

    def _set(self, updates: dict[str, Any]) -> None:
        m = self.model
        if updates:
            m.p = m.p.model_copy(update=updates)
        m.local.version += 1


def _between(old: Any, new: Any, fraction: float) -> Any:
    """``old`` moved ``fraction`` of the way to ``new`` (whole numbers stay whole)."""
    if isinstance(new, bool) or isinstance(new, str) or fraction >= 1:
        return new
    value = old + (new - old) * fraction
    if isinstance(new, int) and isinstance(old, int):
        return np.rint(value).astype(np.int64) if isinstance(value, np.ndarray) else round(value)
    return value
