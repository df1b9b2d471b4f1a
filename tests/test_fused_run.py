"""Several steps of a small organization in one compiled call (``OrganizationModel.run``,
model.fused.FusedSteps.run_steps) equal the same steps taken one ``model.step()`` at a
time and the processes stepped one by one (``fuse_steps = False``), bit for bit: results
and idea tables, summaries, and the state a later step, a summary or Mesa reads."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

import model.fused
import model.organization
from model import OrganizationModel
from model.analysis import idea_table
from model.ideas import IdeaRegistry
from scenarios.roadmap import build_roadmap
from scenarios.settings import load_setting
from tests.test_step_glue import Audited, fingerprint

SETTINGS = ("hierarchical", "shared_authority", "heroes_programme", "inverted_pyramid",
            "purpose_driven")
CASES = {
    "default": {},
    "complex contagion": {"adoption_threshold": 2, "exposure_memory": 3},
    "elections": {"leader_selection": "elected", "rotation_period": 4},
    "turnover": {"turnover_rate": 0.02},
    "forum": {"idea_forum_reach": 0.3},
    "tracer at step 1": {"probe_idea_step": 1},
    "tracer after the run": {"probe_idea_step": 500},
    "short window": {"metric_window": 2},
}
#: A roadmap: a change at week 5, another over 4 weeks from week 12.
ROADMAP = [{"at": 5, "set": {"customer_problem_rate": 0.4}},
           {"at": 12, "ramp": 4, "set": {"socialization_rate": 0.3, "autonomy": 0.7}}]
#: A roadmap watching a recorded metric until it fires.
TRIGGERED = [{"when": {"metric": "mean_effort", "above": 0.0, "for": 3},
              "set": {"customer_problem_rate": 0.4}}]
#: ... and after, for a switch back that never comes (watched every step).
WATCHED = [{**TRIGGERED[0], "until": {"metric": "mean_effort", "below": 0.0, "for": 1}}]


class Unfused(OrganizationModel):
    """Every process steps on its own."""

    fuse_steps = False


class UnfusedAudited(Audited):
    """An extension's process (never idle) between built-in ones, every process on its own."""

    fuse_steps = False


def build(cls=OrganizationModel, setting: str = "hierarchical", roadmap=None, seed=12,
          **overrides) -> OrganizationModel:
    s = load_setting(setting)
    p = s.parameters()
    p = type(p)(**{**p.model_dump(), "n_employees": 120, "steps": 30, **overrides})
    plan = build_roadmap(roadmap, "test", p) if roadmap else s.roadmap(p)
    return cls(p, rng=seed, roadmap=plan, chart=s.chart)


def by_hand(org: OrganizationModel, steps: int) -> OrganizationModel:
    """``steps`` calls of ``model.step()`` (a dashboard's, Mesa's batch_run's)."""
    for _ in range(steps):
        org.step()
    return org


def state(org: OrganizationModel) -> list:
    """What a later step, a summary or Mesa reads, as comparable values."""
    collector = org.datacollector
    schedule = org._default_schedule
    return [org.steps, org.time, org.running, org.results.values.shape,
            list(collector._collection_steps), collector.get_model_vars_dataframe(),
            schedule.execution_count, schedule.next_scheduled_time,
            org.conversations.recent.maxlen, len(org.conversations.recent),
            org.roadmap_log, org.processes[2].leavers, org.p]


def assert_same(a: OrganizationModel, b: OrganizationModel) -> None:
    for x, y in zip(fingerprint(a), fingerprint(b), strict=True):
        np.testing.assert_array_equal(x, y)
    pd.testing.assert_frame_equal(a.results.to_frame(), b.results.to_frame())
    pd.testing.assert_frame_equal(idea_table(a), idea_table(b))
    assert a.summary() == b.summary()
    for x, y in zip(state(a), state(b), strict=True):
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y)
        else:
            assert x == y


@pytest.fixture
def calls(monkeypatch) -> list[tuple[int, int]]:
    """(first step, steps asked) of each call of the compiled run of several steps."""
    seen = []
    kernel = model.fused.fused_run

    def counted(*args):
        seen.append((args[2], args[3]))
        return kernel(*args)

    monkeypatch.setattr(model.fused, "fused_run", counted)
    return seen


def three_ways(cls=OrganizationModel, unfused=Unfused, steps=None, **kwargs):
    """The same model run by ``run()``, by ``step()`` by hand and unfused."""
    ran = build(cls, **kwargs)
    steps = ran.p.steps if steps is None else steps
    ran.run(steps)
    return ran, by_hand(build(cls, **kwargs), steps), build(unfused, **kwargs).run(steps)


@pytest.mark.parametrize("setting", SETTINGS)
def test_each_built_in_setting_runs_the_same_in_one_call(setting, calls):
    ran, stepped, unfused = three_ways(setting=setting)
    assert bool(calls) == (ran.p.idea_forum_reach == 0)  # (a forum's readers: step by step)
    assert_same(ran, stepped)
    assert_same(ran, unfused)


@pytest.mark.parametrize("case", list(CASES))
def test_each_case_runs_the_same_in_one_call(case, calls):
    ran, stepped, unfused = three_ways(**CASES[case])
    assert ran.ideas.n > 10
    assert_same(ran, stepped)
    assert_same(ran, unfused)


def test_an_organization_drawing_by_blocks_runs_the_same_in_one_call(calls):
    """Above 4,096 employees conversations draw per block of employees (jumped streams)."""
    ran, stepped, unfused = three_ways(n_employees=5000, steps=6, probe_idea_step=3)
    assert calls[:2] == [(1, 6), (5, 2)]  # the tracer planted at 3, the registry grows at 5
    assert_same(ran, stepped)
    assert_same(ran, unfused)


def test_what_each_case_runs_in_one_call(calls):
    """Steps run in one call where nothing in Python must run between them: stopping
    where elections are due or a roadmap intervenes (the tracer is planted within)."""
    build().run()  # tracer at step 20
    assert calls == [(1, 30)]
    calls.clear()
    build(probe_idea_step=500).run()
    assert calls == [(1, 30)]
    calls.clear()
    build(leader_selection="elected", rotation_period=4, probe_idea_step=500).run(10)
    assert calls == [(1, 3), (5, 3), (9, 2)]  # elections at 4 and 8 step on their own
    calls.clear()
    build(roadmap=ROADMAP, probe_idea_step=500).run()
    assert calls == [(1, 4), (6, 6), (16, 15)]  # weeks 5 and 12-15 step on their own
    for overrides in ({"turnover_rate": 0.02}, {"idea_forum_reach": 0.3}):
        calls.clear()
        build(**overrides).run()
        assert calls == []


def test_a_roadmap_runs_the_same_in_one_call(calls):
    ran, stepped, unfused = three_ways(roadmap=ROADMAP)
    assert calls and len(ran.roadmap_log) == 3  # each value set once, the ramp's logged once
    assert_same(ran, stepped)
    assert_same(ran, unfused)
    for roadmap in (TRIGGERED, WATCHED):
        calls.clear()
        ran, stepped, unfused = three_ways(roadmap=roadmap)
        fired = ran.roadmap_log[0]["week"]
        assert fired < 10
        # stepped one by one while watched; after firing, in one call unless watched still
        assert [first for first, _ in calls] == ([fired + 1] if roadmap is TRIGGERED else [])
        assert_same(ran, stepped)
        assert_same(ran, unfused)


def test_the_client_company_with_its_roadmap_runs_the_same_in_one_call():
    setting = load_setting("scenarios/company/acme.toml")
    p = setting.parameters()
    p = type(p)(**{**p.model_dump(), "steps": 20})

    def company(cls=OrganizationModel) -> OrganizationModel:
        return cls(p, rng=9, roadmap=setting.roadmap(p), chart=setting.chart)

    ran = company().run()
    assert_same(ran, by_hand(company(), 20))
    assert_same(ran, company(Unfused).run())


def test_an_extensions_process_steps_between_calls_of_one_step(calls):
    ran, stepped, unfused = three_ways(Audited, UnfusedAudited)
    assert not calls
    assert ran.audit.seen == stepped.audit.seen == unfused.audit.seen
    assert_same(ran, stepped)
    assert_same(ran, unfused)


def test_a_run_in_pieces_past_the_declared_steps_equals_one_run(calls):
    pieces = build()
    for steps in (1, 7, 3, 12, 20, 4):  # 47 steps of 30 declared: the table grows
        pieces.run(steps)
        assert pieces.running == (pieces.steps < 30)
    assert pieces.results.rows == 48
    assert max(n for _, n in calls) > 1
    assert_same(pieces, build().run(47))
    assert_same(pieces, by_hand(build(), 47))
    assert_same(pieces, build(Unfused).run(47))


def test_steps_by_hand_between_runs_and_a_mid_run_change(calls):
    mixed = build()
    mixed.run(6)
    by_hand(mixed, 3)
    mixed.intervene({"customer_problem_rate": 0.5, "socialization_rate": 0.3})
    mixed.run(10)
    by_hand(mixed, 2)
    mixed.run(15)
    unfused = build(Unfused)
    unfused.run(9)
    unfused.intervene({"customer_problem_rate": 0.5, "socialization_rate": 0.3})
    unfused.run(27)
    assert_same(mixed, unfused)
    assert len(calls) >= 3


def test_a_registry_growing_inside_a_run_changes_nothing(monkeypatch, calls):
    usual = build().run()
    monkeypatch.setattr(model.organization, "IdeaRegistry",
                        functools.partial(IdeaRegistry, capacity=2))
    grown = build()
    grown.run()
    assert grown.ideas.version > 4  # grew inside runs of steps, several times
    assert len(calls) > 5  # each growth ends a call; the step goes on in the next
    assert_same(grown, usual)
    assert_same(grown, by_hand(build(), 30))


def test_mesas_batch_run_gets_the_same_rows():
    import mesa

    rows = mesa.batch_run(OrganizationModel, {"n_employees": 60, "steps": 12}, rng=[3],
                          max_steps=12, number_processes=1, data_collection_period=1,
                          display_progress=False)
    ran = OrganizationModel(n_employees=60, steps=12, rng=3).run()
    frame = ran.results.to_frame()
    assert len(rows) == 13
    for row in rows:
        assert row["mean_effort"] == frame["mean_effort"][row["Step"]]


def test_a_process_idle_for_some_steps_does_nothing_in_them():
    """What the roadmap and elections say of their coming steps holds."""
    org = build(Unfused, roadmap=ROADMAP, leader_selection="elected", rotation_period=4)
    roadmap, leadership = org.roadmap_process, org.processes[10]
    quiet = []
    for _ in range(30):
        idle = (roadmap.idle_for(), leadership.idle_for())
        before = (org.local.version, org.p, len(roadmap.log), org.roles_version)
        org.step()
        quiet.append(idle)
        if idle[0] > 0:
            assert (org.local.version, org.p, len(roadmap.log)) == before[:3]
        if idle[1] > 0:
            assert org.steps % 4 and org.roles_version == before[3]
    assert [q for q, _ in quiet[:6]] == [4, 3, 2, 1, 0, 6]
    assert [q for _, q in quiet[:5]] == [3, 2, 1, 0, 3]
    assert quiet[-1][0] > 10**9  # nothing left to do
