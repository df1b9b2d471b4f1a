"""The organization model: a Mesa model whose state lives in numpy arrays.

``OrganizationModel.step`` runs the processes of ../shared/MODEL.md in order (nine
stages, eleven units: turnover shares stage 1; approval, forum and playbook share
stage 4), after a roadmap's interventions (model/roadmap.py, stage 0, no random draws),
each a small unit updating whole arrays, then records one row of results. Below
``PARALLEL_MIN`` employees the built-in processes that follow one another run in one
compiled call a step (:class:`FusedSteps`: the same kernels, draws and order, without
the Python around each). The structure is generated from the parameters or imported
(``chart``, model/chart.py).
Mesa ``Employee`` agents are thin handles over the arrays, made on first use of
``model.agents`` so that a million employees stay cheap.

Mesa-native: ``model.datacollector`` is a ``mesa.DataCollector`` whose model reporters
read the row just recorded, ``running`` turns False once the ``steps`` parameter is
reached, and the keyword constructor makes ``mesa.batch_run(OrganizationModel, ...)``
work. Extending: a subclass sets ``parameters_class`` (its own parameter block) and
overrides :meth:`OrganizationModel.build_processes` (docs/extending/EXTENDING.md); an
added process runs its own step between fused calls, and a replaced built-in process
turns the fused step off.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, ClassVar

import mesa
import numpy as np

from model.beliefs import Beliefs
from model.chart import OrgChart
from model.employees import Employees
from model.errors import ParameterError
from model.fused import FusedSteps
from model.ideas import IdeaRegistry
from model.parallel import STEPPING
from model.parameters import FIXED_DURING_RUN, Parameters, make_parameters
from model.processes.adoption import (
    exposure_memory_from,
    exposure_records,
    new_exposure_memory,
)
from model.processes.approval import Approval
from model.processes.base import Process
from model.processes.conversations import Conversations
from model.processes.effort import EffortChoice
from model.processes.environment import NeedDrift
from model.processes.forum import IdeaForum
from model.processes.generation import IdeaGeneration
from model.processes.leadership import Leadership
from model.processes.monitoring import Monitoring
from model.processes.performance import Performance
from model.processes.playbook import Playbook
from model.processes.turnover import Turnover
from model.results import METRICS, Metric, Results, top_k_overlap
from model.rng import RandomStreams, normalize_seed
from model.roadmap import LocalValues, Roadmap, RoadmapProcess
from model.structure import (
    build_formal_structure,
    build_markets,
    build_small_world,
    empty_network,
    tie_network,
)

#: Fewer coming steps than this run one by one (a call of several unboxes its arrays).
WHOLE_STEPS_MIN = 2
_MESA_LOG = logging.getLogger("MESA.mesa.model")  # Mesa's step log (each step, at INFO)


@dataclass(frozen=True)
class LastRowReporter:
    """A metric's model reporter (Mesa's): its value in the last collected row."""

    column: int

    def __call__(self, model: OrganizationModel) -> float:
        return float(model.results.values[model.results.rows - 1, self.column])


class ResultsCollector(mesa.DataCollector):
    """A Mesa DataCollector of every recorded metric, fed from the engine's result table:
    each collection notes the row just recorded (no second computation); ``model_vars``
    copies the noted rows when read. ``get_model_vars_dataframe()`` equals
    ``model.results.to_frame()`` without its step column. Its model reporters read the
    same row, for code that calls them directly (made on first use of ``model_reporters``)."""

    def __init__(self, results: Results):
        self._results = results
        self._pending: list[int] = []  # rows of results collected, not yet in model_vars
        super().__init__()
        self._reporters: dict | None = None  # the metrics' reporters, made on first use
        self._model_vars = {name: [] for name in results.names}
        self._columns = list(self._model_vars.values())

    @property
    def model_reporters(self) -> dict:
        """Each metric's model reporter (Mesa's), then any added since."""
        if self._reporters is None:
            self._reporters = {name: LastRowReporter(k)
                               for k, name in enumerate(self._results.names)}
        return self._reporters

    @model_reporters.setter
    def model_reporters(self, value: dict) -> None:
        self._reporters = value

    @property
    def model_vars(self) -> dict[str, list]:
        """Each metric's collected values (Mesa's layout: one list per metric)."""
        if self._pending:
            rows = self._results.values[self._pending].T.tolist()
            self._pending.clear()
            for column, values in zip(self._columns, rows, strict=True):
                column.extend(values)
        return self._model_vars

    @model_vars.setter
    def model_vars(self, value: dict[str, list]) -> None:
        self._model_vars = value

    def collect(self, model: OrganizationModel) -> None:
        self._collection_steps.append(model.time)
        self._pending.append(model.results.rows - 1)

    def collect_rows(self, times: list[float], first_row: int) -> None:
        """What :meth:`collect` notes after each of several steps: rows ``first_row``..
        recorded at ``times``."""
        self._collection_steps.extend(times)
        self._pending.extend(range(first_row, first_row + len(times)))


class OrganizationModel(mesa.Model):
    """Employees self-organizing through local conversations under constraints and power.

    Args:
        parameters: a validated :class:`Parameters` (defaults if omitted).
        rng: root seed (int) or numpy Generator; each mechanism gets its own stream.
        **overrides: parameter values replacing those in ``parameters``.
    """

    #: The parameter block of this model: a subclass adds its own parameters by
    #: subclassing :class:`Parameters` and naming it here.
    parameters_class: ClassVar[type[Parameters]] = Parameters
    #: The per-step metrics recorded (results, datacollector, sweeps' timeseries): a
    #: subclass may add its own, ``(*METRICS, Metric(name, meaning, reporter))``.
    step_metrics: ClassVar[tuple[Metric, ...]] = METRICS
    #: Whether a small organization's built-in processes run fused (:class:`FusedSteps`);
    #: False steps every process on its own (the same results; per-process profiling).
    fuse_steps: ClassVar[bool] = True

    def __init__(self, parameters: Parameters | None = None, *,
                 rng: int | np.random.Generator | None = None, chart: OrgChart | None = None,
                 roadmap: Roadmap | None = None, **overrides: Any):
        cls = self.parameters_class
        p = parameters or cls()
        if overrides or not isinstance(p, cls):
            p = make_parameters({**p.model_dump(), **overrides}, parameters_class=cls)
        seed = normalize_seed(rng)
        super().__init__(rng=seed)
        self.p = p
        self.seed = seed
        self.streams = RandomStreams(seed)
        self.roles_version = 0
        self.chart = chart
        self.roadmap = roadmap or Roadmap(())
        self.local = LocalValues(p.n_employees)  # per-unit parameter values (roadmaps)
        self._per_employee: dict[str, np.ndarray] = {}
        self._per_employee_key: tuple = (None, None, None)  # (parameters, versions)
        self._handles_made = False
        self._exposures = None
        self._leader_mask: tuple = (None, None, 0)  # (roles version, is leader, how many)
        self._facing: tuple = (None, None)  # (roles version, customer-facing employees)
        self._build_organization()
        self.processes = tuple(self.build_processes())
        self._fused = FusedSteps.of(self) if self.fuse_steps else None
        if p.probe_idea_step == 0:
            self.generation.plant_probe()
        self.ideas.record_step(0, p.wide_adoption_share)
        self.results = Results(p.steps, self.step_metrics)
        with STEPPING:  # its tally runs parallel loops in a large organization
            self.results.collect(self)
        self.datacollector = ResultsCollector(self.results)
        self.datacollector.collect(self)

    def build_processes(self) -> list[Process]:
        """The processes in step order. A subclass adds one by overriding this and
        placing it with :func:`model.processes.base.insert_after` (each process draws
        from its own named stream, so the others' draws do not change)."""
        self.generation = IdeaGeneration(self)
        self.conversations = Conversations(self)
        self.approval = Approval(self)
        self.playbook = Playbook(self)
        self.monitoring = Monitoring(self)
        self.roadmap_process = RoadmapProcess(self)
        return [self.roadmap_process, NeedDrift(self), Turnover(self), self.generation,
                self.conversations, self.approval, IdeaForum(self), self.playbook,
                EffortChoice(self), self.monitoring, Leadership(self), Performance(self)]

    def _build_organization(self) -> None:
        p, chart = self.p, self.chart
        if chart is not None and chart.n != p.n_employees:
            raise ParameterError(f"n_employees = {p.n_employees}: the imported chart has "
                                 f"{chart.n} employees")
        self.structure = build_formal_structure(p) if chart is None else chart.structure()
        self.occupant = np.arange(p.n_employees)
        self.people = Employees(p, self.streams["population"])
        facing = self.streams["positions"].random(p.n_employees) < p.customer_facing_share
        self.customer_facing_position = self.structure.front_line & facing
        if chart is not None and chart.customer_facing is not None:
            self.customer_facing_position = chart.customer_facing.copy()
        self.unit_of_position = self.structure.unit if chart is None else chart.unit_codes()
        self.refresh_roles()
        self.market = build_markets(p.n_employees, p.market_size)
        self.market_sizes = np.bincount(self.market)
        self.ideas = IdeaRegistry(p.idea_scope)
        self.beliefs = Beliefs(p.n_employees, p.n_dimensions, self.ideas,
                               self.streams["beliefs"])
        if chart is not None and chart.tie_u is not None:
            self.network = tie_network(p.n_employees, chart.tie_u, chart.tie_v,
                                       chart.tie_strengths(p.initial_tie_strength))
        elif p.informal_network == "small_world" and p.informal_degree > 0:
            self.network = build_small_world(p.n_employees, p.informal_degree,
                                             p.informal_rewiring, p.initial_tie_strength,
                                             self.streams["network"])
        else:
            self.network = empty_network(p.n_employees)

    @property
    def exposures(self):
        """Exposure records of complex contagion (model/processes/adoption.py), made on
        first use: simple contagion (``adoption_threshold`` = 1) never needs them."""
        if self._exposures is None:
            self._exposures = new_exposure_memory()
        return self._exposures

    def __getstate__(self) -> dict:
        """A copy (``copy.deepcopy``: a snapshot to run on from) makes its own fused step
        once it is whole (the fused step holds compiled bundles of this model's arrays),
        and carries complex contagion's exposure records as arrays."""
        state = {**self.__dict__, "_fused": None}
        if self._exposures is not None:
            state["_exposures"] = exposure_records(self._exposures)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self._exposures is not None:
            self._exposures = exposure_memory_from(*self._exposures)
        self._fused = FusedSteps.of(self) if self.fuse_steps else None

    # --- stepping ----------------------------------------------------------------
    def step(self) -> None:
        """One step: the processes in their documented order, then data collection (under
        numba's workqueue layer one organization at a time per process, collection
        included: see :data:`model.parallel.STEPPING`); fused where it applies
        (:class:`FusedSteps`)."""
        with STEPPING:
            fused = self._fused
            if fused is not None and fused.processes is self.processes:
                fused.step()
            else:
                for process in self.processes:
                    process.step()
                self.ideas.record_step(self.steps, self.p.wide_adoption_share)
                self.results.collect(self)
        self.datacollector.collect(self)
        if self.steps >= self.p.steps:
            self.running = False  # the run length is reached (Mesa's batch_run stops here)

    @property
    def roadmap_log(self) -> list[dict[str, Any]]:
        """What the roadmap changed: week, intervention, parameter, old, new, where, why."""
        return self.roadmap_process.log

    def intervene(self, values: dict[str, Any], why: str = "applied mid-run") -> None:
        """Change parameter values from the next step on, as a roadmap would (no random
        draw; logged in ``roadmap_log``). A ParameterError names what cannot change."""
        fixed = sorted(set(values) & FIXED_DURING_RUN)
        if fixed:
            raise ParameterError(f"{fixed[0]} is fixed when the organization is built and "
                                 "cannot change during a run")
        checked = make_parameters({**self.p.model_dump(), **values}, source="mid-run change",
                                  parameters_class=self.parameters_class)
        self.roadmap_process.apply_now({k: getattr(checked, k) for k in values}, why)

    def run(self, steps: int | None = None) -> OrganizationModel:
        """Run ``steps`` (default: the ``steps`` parameter) and return self: Mesa's
        ``run_for``, the same steps as calling ``step`` that often, in one call."""
        steps = self.p.steps if steps is None else steps
        if steps > 0 and not self._run_steps(steps):
            self.run_for(steps)
        return self

    def _run_steps(self, steps: int) -> bool:
        """``run_for(steps)`` without Mesa's event machinery (~14 us a step), where its
        only event is the next step of the default schedule and Mesa does not log steps:
        the same steps, times and schedule afterwards. False (nothing run) otherwise.
        Where nothing in Python runs between them (:meth:`FusedSteps.coming_steps`), a
        small organization runs several steps in one compiled call."""
        schedule = getattr(self, "_default_schedule", None)
        events = getattr(getattr(self, "_event_list", None), "_events", None)
        event = getattr(schedule, "_current_event", None)
        if (event is None or events is None or len(events) != 1 or events[0] is not event
                or event.CANCELED or event.time != self.time + 1 or schedule._paused
                or self._simulator is not None or schedule.schedule.interval != 1.0
                or schedule.schedule.count is not None or schedule.schedule.end is not None
                or schedule.function() is None or _MESA_LOG.isEnabledFor(logging.INFO)):
            return False
        events.clear()
        time, step = self.time, self._user_step
        fused = self._fused
        if (fused is None or getattr(step, "__func__", None) is not OrganizationModel.step
                or type(self.datacollector) is not ResultsCollector):
            fused = None  # (a step of its own, or another collector: step by step)
        k = 0
        while k < steps:
            run = fused.coming_steps(steps - k) if fused is not None else 0
            if run >= WHOLE_STEPS_MIN:
                with STEPPING:
                    time = fused.run_steps(run, time)
                schedule._execution_count += run
                k += run
                continue
            time += 1.0
            self.time = time
            self.steps += 1
            step()
            schedule._execution_count += 1
            k += 1
            if events:  # a step scheduled an event: Mesa's machinery runs the rest
                schedule._schedule_next(time + 1.0)
                self.run_for(steps - k)
                return True
        schedule._schedule_next(time + 1.0)
        return True

    def summary(self, metrics: Collection[str] | None = None) -> dict[str, Any]:
        """The run's headline numbers (what sweeps keep); with ``metrics`` (a sweep's list),
        costly ones not named may be left out. A subclass may add its own."""
        from model.analysis import summarize

        return summarize(self, metrics)

    # --- roles and relations (vectorized look-ups) ------------------------------
    def refresh_roles(self) -> None:
        """Recompute employee-indexed role arrays after positions change (elections)."""
        s, pos = self.structure, self.people.position
        parent = s.parent[pos]
        self._manager = np.where(parent >= 0, self.occupant[np.maximum(parent, 0)], -1)
        self._level = s.level[pos]
        self._unit = self.unit_of_position[pos]
        self.roles_version += 1

    def per_employee(self, name: str) -> np.ndarray:
        """Each employee's value of a ``per_unit`` parameter: the value of the position
        they hold (a roadmap may scope it to units or levels; model/roadmap.py)."""
        key = self._per_employee_key
        if key[0] is not self.p or key[1] != self.local.version or key[2] != self.roles_version:
            self._per_employee.clear()
            self._per_employee_key = (self.p, self.local.version, self.roles_version)
        values = self._per_employee.get(name)
        if values is None:
            if name in self.local.values:
                values = self.local.by_position(name, getattr(self.p, name))[
                    self.people.position]
            else:  # one value everywhere (what by_position gives, in any order)
                values = np.full(self.people.n, float(getattr(self.p, name)))
            self._per_employee[name] = values
        return values

    def kernel_version(self) -> tuple:
        """What cached arguments of compiled calls depend on: the parameters (replaced on
        every change), per-unit values and roles. Equal keys: nothing they read changed."""
        return (self.local.version, self.roles_version, self.p)

    def highest(self, name: str) -> float:
        """The largest value of a ``per_unit`` parameter anywhere (O(1) unless a roadmap
        scoped it): a mechanism that is off where it is 0 runs if it is on anywhere."""
        if name not in self.local.values:
            return getattr(self.p, name)
        return float(self.per_employee(name).max())

    def manager_of(self, employees: np.ndarray) -> np.ndarray:
        """Each employee's formal manager (employee id), -1 if none."""
        return self._manager[employees]

    def level_of(self, employees: np.ndarray) -> np.ndarray:
        return self._level[employees]

    def unit_of(self, employees: np.ndarray) -> np.ndarray:
        return self._unit[employees]

    def crosses_units(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """True where a and b share neither a unit nor a reporting line. A unit is the
        chart's own (its ``unit`` column: division, department) where a chart is imported,
        else a work group of the generated structure (``unit_of_position``)."""
        return ((self.unit_of(a) != self.unit_of(b)) & (self.manager_of(a) != b)
                & (self.manager_of(b) != a))

    def contact_factor(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Constraint weight of a contact from a to b: lateral permission, upward damping
        (both as they hold for the initiator ``a``, per-unit parameters)."""
        lateral = np.where(self.crosses_units(a, b), self.per_employee("lateral_openness")[a],
                           1.0)
        upward = np.where(self.level_of(b) < self.level_of(a),
                          1.0 - self.per_employee("power_distance")[a], 1.0)
        return lateral * upward

    def team_members(self, managers: np.ndarray, tags: np.ndarray) -> tuple[np.ndarray,
                                                                            np.ndarray]:
        """Each manager and their direct reports (employee ids), paired with the tag."""
        s = self.structure
        pos = self.people.position[managers]
        n_ch = s.n_children[pos]
        offset = np.arange(n_ch.sum()) - np.repeat(np.cumsum(n_ch) - n_ch, n_ch)
        reports = self.occupant[np.repeat(s.child_start[pos], n_ch) + offset]
        return (np.concatenate([managers, reports]),
                np.concatenate([tags, np.repeat(tags, n_ch)]))

    def customer_facing_employees(self) -> np.ndarray:
        if self._facing[0] != self.roles_version:  # who holds the positions changes with elections
            self._facing = (self.roles_version,
                            self.occupant[np.flatnonzero(self.customer_facing_position)])
        return self._facing[1]

    def formal_leaders(self) -> np.ndarray:
        """Employees holding a manager or coordinator position."""
        return self.occupant[np.flatnonzero(self.structure.is_manager)]

    def leader_mask(self) -> tuple[np.ndarray, int]:
        """Whether each employee holds a formal leader role, and how many do."""
        if self._leader_mask[0] != self.roles_version:  # who leads changes with elections
            leaders = self.formal_leaders()
            is_leader = np.zeros(self.people.n, dtype=np.bool_)
            is_leader[leaders] = True
            self._leader_mask = (self.roles_version, is_leader, len(leaders))
        return self._leader_mask[1], self._leader_mask[2]

    def informal_leader_overlap(self) -> float:
        """Share of the k most sought-after employees holding one of the k formal leader roles
        (ties at the k-th place shared out evenly, so the figure does not hang on their order)."""
        is_leader, k = self.leader_mask()
        return top_k_overlap(self.conversations.sought, is_leader, k) if k else 0.0

    # --- Mesa agents as thin handles -------------------------------------------
    @property
    def agents(self):  # noqa: D401 - Mesa property
        """Mesa AgentSet of Employee handles (made on first access)."""
        if not self._handles_made:
            self._handles_made = True
            from agents.employee import Employee

            self._handles = [Employee(self, i) for i in range(self.people.n)]
        return super().agents

    def employee(self, index: int):
        """The Mesa handle of employee ``index``."""
        self.agents  # noqa: B018 - makes the handles on first use
        return self._handles[index]
