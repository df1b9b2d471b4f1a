"""The glue of a small organization's step: the fused step (model.fused.FusedSteps,
the built-in processes' kernels in one compiled call) equals the processes stepped one by
one, bit for bit, through everything that sends work back to Python mid-step; and
``run()`` without Mesa's event machinery equals Mesa's ``run_for``."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import model.organization
from model import OrganizationModel
from model.fused import FusedSteps
from model.ideas import IdeaRegistry
from model.processes.base import Process, insert_after
from model.processes.monitoring import Monitoring
from scenarios.settings import load_setting

CASES = {  # each sends some work back to Python mid-step, or to another path
    "default": {},
    "approval and squashes": {"approval_levels": 1, "review_time": 1.0, "review_noise": 0.3,
                              "approval_tolerance": 0.3},
    "forum and turnover": {"idea_forum_reach": 0.3, "turnover_rate": 0.02},
    "elections": {"leader_selection": "elected", "rotation_period": 3},
    "slow learners": {"slow_learner_share": 0.3},
    "actions": {"code_learning_basis": "actions"},
    "complex contagion": {"adoption_threshold": 2, "exposure_memory": 3},
    "fully mixed": {"informal_network": "fully_mixed"},
    "early tracer": {"probe_idea_step": 1},
}


def fingerprint(model: OrganizationModel) -> list[np.ndarray]:
    """Everything a step writes that a later step or a summary reads."""
    reg, people, conv, mon = model.ideas, model.people, model.conversations, model.monitoring
    arrays = [model.results.values[: model.results.rows], model.beliefs.practice,
              model.beliefs.source, model.beliefs.code, model.beliefs.need,
              *(getattr(reg, f)[: reg.n] for f in reg.FIELDS), *reg.history,
              people.effort, people.commitment, people.watch_belief, people.reputation,
              people.position, model.network.strength, conv.sought,
              *(a for pair in conv.recent for a in pair)]
    scalars = [reg.n, conv.adoptions, conv.n_cross, conv.per_employee, conv.cross_unit_share,
               mon.noticed_share, mon.hidden_time_total, mon.hidden_spells,
               model.generation.born_this_step, len(reg.history), model.results.rows]
    return [*arrays, np.array(scalars, dtype=float)]


def assert_same(a: OrganizationModel, b: OrganizationModel) -> None:
    fa, fb = fingerprint(a), fingerprint(b)
    assert len(fa) == len(fb)
    for x, y in zip(fa, fb, strict=True):
        np.testing.assert_array_equal(x, y)


def plain(model: OrganizationModel) -> OrganizationModel:
    """``model`` stepped one process at a time (the path of large organizations)."""
    model._fused = None
    return model


def build(overrides: dict, *, cls=OrganizationModel, **kwargs) -> OrganizationModel:
    values = {**load_setting("hierarchical").values, "n_employees": 150, "steps": 24,
              **overrides}
    return cls(rng=12, **values, **kwargs)


@pytest.mark.parametrize("case", list(CASES))
def test_the_fused_step_equals_the_processes_stepped_one_by_one(case):
    fused = build(CASES[case])
    assert fused._fused is not None
    fused.run()
    one_by_one = plain(build(CASES[case])).run()
    assert fused.ideas.n > 10
    assert_same(fused, one_by_one)


def test_the_cases_reach_what_they_are_meant_to():
    """The cases above exercise the paths they name (not vacuous)."""
    squashing = build(CASES["approval and squashes"]).run()
    assert squashing.ideas.squashed[: squashing.ideas.n].any()
    assert squashing.ideas.sanctioned[: squashing.ideas.n].any()
    elected = build(CASES["elections"]).run()
    assert elected.roles_version > 1  # elections changed who leads
    leaving = build(CASES["forum and turnover"]).run()
    assert leaving.processes[2].leavers > 0
    assert not build(CASES["slow learners"]).playbook.fusable()
    assert not build(CASES["actions"]).playbook.fusable()
    assert build({}).playbook.fusable()


def test_a_registry_growing_inside_steps_changes_nothing(monkeypatch):
    usual = build({})
    monkeypatch.setattr(model.organization, "IdeaRegistry",
                        functools.partial(IdeaRegistry, capacity=2))
    grown = build({})
    assert grown.ideas.capacity == 2
    grown.run()
    assert grown.ideas.version > 4  # grew inside steps (ideas waiting), several times
    assert_same(grown, plain(build({})).run())
    assert_same(grown, usual.run())


def test_a_run_past_the_declared_steps_and_mid_run_changes_equal_the_plain_path():
    models = [build({}), plain(build({}))]
    for org in models:
        org.run(10)
        org.intervene({"customer_problem_rate": 0.5, "socialization_rate": 0.3})
        org.run(20)  # 30 steps: past the 24 declared, so the table grows
    assert models[0].results.rows == 31
    assert_same(*models)


def test_a_roadmap_and_a_chart_equal_the_plain_path():
    setting = load_setting("scenarios/company/acme.toml")
    p = setting.parameters()
    p = type(p)(**{**p.model_dump(), "steps": 20})

    def company() -> OrganizationModel:
        return OrganizationModel(p, rng=9, roadmap=setting.roadmap(p), chart=setting.chart)

    fused = company()
    assert fused._fused is not None
    assert_same(fused.run(), plain(company()).run())


class Audit(Process):
    """An extension's process between two built-in ones: notes what it sees."""

    name = "audit"

    def __init__(self, model):
        super().__init__(model)
        self.seen: list[float] = []

    def step(self) -> None:
        self.seen.append(float(self.model.people.effort.sum() + self.rng.random()))


class Audited(OrganizationModel):
    def build_processes(self) -> list[Process]:
        self.audit = Audit(self)
        return insert_after(super().build_processes(), "effort", self.audit)


class OwnMonitoring(Monitoring):
    """A replaced built-in process: the model steps one process at a time."""


class Replaced(OrganizationModel):
    def build_processes(self) -> list[Process]:
        processes = super().build_processes()
        self.monitoring = OwnMonitoring(self)
        return [self.monitoring if p.name == "monitoring" else p for p in processes]


def test_an_extension_between_built_in_processes_sees_the_state_of_its_place():
    fused = build({}, cls=Audited)
    assert fused._fused is not None
    fused.run()
    one_by_one = plain(build({}, cls=Audited)).run()
    assert len(fused.audit.seen) == 24
    assert fused.audit.seen == one_by_one.audit.seen  # effort chosen before, and only
    assert_same(fused, one_by_one)


class Unfused(OrganizationModel):
    fuse_steps = False


def test_a_replaced_built_in_process_or_the_switch_turns_the_fused_step_off():
    assert FusedSteps.of(build({}, cls=Replaced)) is None
    assert build({}, cls=Replaced)._fused is None
    unfused = build({}, cls=Unfused)
    assert unfused._fused is None
    assert_same(unfused.run(), build({}).run())


def test_run_without_mesas_machinery_equals_mesas_run_for():
    direct = build({})
    direct.run(12)
    mesa = build({})
    mesa.run_for(12)
    assert_same(direct, mesa)
    assert (direct.time, direct.steps) == (mesa.time, mesa.steps) == (12.0, 12)
    assert direct.datacollector._collection_steps == mesa.datacollector._collection_steps
    assert direct._default_schedule.next_scheduled_time == 13.0
    assert direct._default_schedule.execution_count == 12
    direct.step()  # Mesa's own step goes on from there
    assert (direct.time, direct.steps) == (13.0, 13)


class Scheduling(OrganizationModel):
    """Schedules an event from inside its third step."""

    fired: list

    def step(self):
        super().step()
        if self.steps == 3:
            self.schedule_event(self.note, at=5.5)

    def note(self):
        self.fired.append((self.time, self.steps))


def test_an_event_scheduled_before_or_during_a_run_fires_at_its_time():
    model = build({}, cls=Scheduling)
    model.fired = []
    model.run(1)
    model.schedule_event(model.note, at=1.5)
    model.run(7)  # Mesa's machinery (an event pending), then ours, then Mesa's again
    assert model.fired == [(1.5, 1), (5.5, 5)]
    assert (model.time, model.steps) == (8.0, 8)
    assert model._default_schedule.next_scheduled_time == 9.0
    assert_same(model, build({}).run(8))


def test_processes_replaced_after_the_build_are_stepped_one_by_one():
    model = build({})
    calls = []

    class Counting(Process):
        name = "counting"

        def step(self):
            calls.append(self.model.steps)

    model.processes = (*model.processes, Counting(model))
    model.run(3)
    assert calls == [1, 2, 3]
    assert_same(model, plain(build({})).run(3))


@pytest.mark.parametrize("n", [3, 64, 65, 130, 700])
def test_triangles_from_bitsets_equal_those_from_neighbour_lists(n):
    """The summary's realized network: degrees and triangles counted on bitsets (small
    organizations) equal the neighbour lists' count, with repeats and self-pairs."""
    from model.analysis import _degrees_and_triangles_bits, _degrees_and_triangles_lists

    rng = np.random.default_rng(n)
    for pairs in (n // 2, 4 * n, 40 * n):
        a, b = rng.integers(0, n, pairs), rng.integers(0, n, pairs)
        bits, lists = _degrees_and_triangles_bits(n, a, b), _degrees_and_triangles_lists(n, a, b)
        np.testing.assert_array_equal(bits[0], lists[0])
        np.testing.assert_array_equal(bits[1], lists[1])
    assert lists[1].sum() > 0  # triangles exist, so the comparison can fail


def test_with_mesas_step_log_on_a_run_goes_through_mesa_and_logs_every_step(caplog):
    with caplog.at_level("INFO", logger="MESA.mesa.model"):
        logged = build({}).run(4)
    steps = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Step ")]
    assert steps == [f"Step {k} at time {float(k)}" for k in range(1, 5)]
    assert_same(logged, build({}).run(4))
