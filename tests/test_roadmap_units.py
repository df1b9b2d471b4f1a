"""Per-unit parameters, the chart's units and re-armed triggers (issue 17).

Every parameter declared ``per_unit`` is checked the same way, by iterating over the
declaration: a pilot in one unit leaves everyone else's value untouched, and the same
change scoped to every unit gives exactly the results of the change made to the whole
organization (so each process reads the per-position value, not the organization-wide
one), while it does change the results (so the parameter acts in the setting tested).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from dashboards.inspector import unit_colleagues, who_sees_work
from model import OrganizationModel
from model.parameters import Parameters, parameter_specs, per_unit_parameters
from model.results import METRICS, Results
from model.roadmap import Intervention, LocalValues, Roadmap, RoadmapProcess, Trigger
from scenarios.make_example_company import write_company
from scenarios.settings import load_setting

STEPS = 16
# every mechanism a per-unit parameter acts on is switched on
BASE = {"steps": STEPS, "approval_levels": 1, "idea_forum_reach": 0.1, "turnover_rate": 0.01,
        "peer_sanction_power": 0.3, "customer_problem_rate": 0.3, "lateral_openness": 0.5}
PER_UNIT = per_unit_parameters()


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("units")
    write_company(root, 200, seed=9)
    return root


def _toml(values: dict) -> str:
    return "\n".join(f"{k} = {v!r}" for k, v in values.items())


def _setting(company: Path, name: str, roadmap: str = ""):
    path = company / f"{name}.toml"
    path.write_text('description = "units"\n[organization]\nchart = "chart.csv"\n'
                    f'network = "ties.csv"\n[parameters]\n{_toml(BASE)}\n{roadmap}')
    return load_setting(str(path))


def _run(setting, seed: int = 3) -> OrganizationModel:
    params = setting.parameters()
    return OrganizationModel(params, rng=seed, chart=setting.chart,
                             roadmap=setting.roadmap(params)).run()


def _other_value(name: str):
    """A value far from the tested one, inside the declared bounds."""
    spec = next(s for s in parameter_specs() if s.name == name)
    base = BASE.get(name, spec.default)
    lo, hi = spec.minimum, spec.maximum
    value = lo + (0.9 if base < (lo + hi) / 2 else 0.1) * (hi - lo)
    return round(value) if spec.kind is int else round(value, 4)


def _change(name: str, value, where: list[str] | None = None) -> str:
    scope = f"where = {where!r}\n" if where else ""
    return f"[[intervention]]\nat = 3\n{scope}set = {{ {name} = {value!r} }}\n"


@pytest.fixture(scope="module")
def status_quo(company) -> pd.DataFrame:
    return _run(_setting(company, "none")).results.to_frame()


def test_the_declared_per_unit_parameters_cover_the_levers_of_every_process():
    assert {"autonomy", "manager_support", "monitoring_capacity", "manager_sanction_power",
            "peer_sanction_power", "work_visibility", "lateral_openness", "approval_levels",
            "review_time", "approval_tolerance", "review_noise", "power_distance",
            "customer_problem_rate", "customer_insight", "idea_forum_reach",
            "turnover_rate", "unsanctioned_risk", "socialization_rate"} <= set(PER_UNIT)


@pytest.mark.parametrize("name", PER_UNIT)
def test_a_pilot_in_one_unit_leaves_the_other_units_untouched(company, name):
    value = _other_value(name)
    setting = _setting(company, f"pilot_{name}", _change(name, value, ["Sales"]))
    model = _run(setting)
    units = np.array(setting.chart.unit)[model.people.position]
    local = model.per_employee(name)
    base = getattr(setting.parameters(), name)
    assert (units == "Sales").any() and (units != "Sales").any()
    assert (local[units == "Sales"] == value).all()
    assert (local[units != "Sales"] == base).all()
    assert getattr(model.p, name) == base


@pytest.mark.parametrize("name", PER_UNIT)
def test_every_process_reads_the_per_unit_value(company, status_quo, name):
    value = _other_value(name)
    everywhere = sorted(set(_setting(company, "all").chart.unit))
    scoped = _run(_setting(company, f"scoped_{name}", _change(name, value, everywhere)))
    whole = _run(_setting(company, f"whole_{name}", _change(name, value)))
    assert getattr(scoped.p, name) != value and getattr(whole.p, name) == value
    pd.testing.assert_frame_equal(scoped.results.to_frame(), whole.results.to_frame())
    assert not whole.results.to_frame().equals(status_quo)  # the parameter acts here


def test_the_inspector_shows_the_values_of_the_employees_own_unit(company):
    model = _run(_setting(company, "inspect", _change("work_visibility", 0.85, ["Sales"])))
    units = np.array(model.chart.unit)[model.people.position]
    with_colleagues = [e for e in range(model.people.n) if len(unit_colleagues(model, e))]
    inside = next(e for e in with_colleagues if units[e] == "Sales")
    outside = next(e for e in with_colleagues if units[e] != "Sales")
    assert "each sees the work with chance 0.85 per step" in " ".join(
        who_sees_work(model, inside))
    assert "each sees the work with chance 0.20 per step" in " ".join(
        who_sees_work(model, outside))


def test_a_roadmap_changes_socialization_with_slow_learners_too(company, tmp_path):
    slow = {"slow_learner_share": 0.5}
    for name, roadmap in (("slow_none", ""), ("slow_change", _change("socialization_rate", 0.9))):
        path = company / f"{name}.toml"
        path.write_text('description = "slow"\n[organization]\nchart = "chart.csv"\n'
                        f'[parameters]\n{_toml({**BASE, **slow})}\n{roadmap}')
    none, changed = (_run(load_setting(str(company / f"{n}.toml"))).results.to_frame()
                     for n in ("slow_none", "slow_change"))
    pd.testing.assert_frame_equal(none.iloc[:3], changed.iloc[:3])
    assert changed["mean_fit"].iloc[-1] != none["mean_fit"].iloc[-1]


# --- the chart's units --------------------------------------------------------
CHART = """id,manager_id,unit
boss,,HQ
sales_head,boss,Sales
ops_head,boss,Ops
s1,sales_head,Sales
s2,sales_head,Sales
o1,ops_head,Ops
s1a,s1,Sales
s2a,s2,Sales
o1a,o1,Ops
"""
TIES = "source,target\ns1a,s2a\ns1a,o1a\n"


@pytest.fixture
def small_chart(tmp_path) -> Path:
    (tmp_path / "chart.csv").write_text(CHART)
    (tmp_path / "ties.csv").write_text(TIES)
    path = tmp_path / "small.toml"
    path.write_text('description = "small"\n[organization]\nchart = "chart.csv"\n'
                    'network = "ties.csv"\n[parameters]\nsteps = 30\nlateral_openness = 0.0\n'
                    "formal_tie_strength = 0.0\n")
    return path


def _ids(setting) -> dict[str, int]:
    """Employee of each original id (employee i starts in position i, in file order here)."""
    return {name: k for k, name in enumerate(line.split(",")[0]
                                             for line in CHART.splitlines()[1:])}


def test_same_unit_and_other_unit_are_the_charts_units(small_chart):
    setting = load_setting(str(small_chart))
    model = OrganizationModel(setting.parameters(), rng=1, chart=setting.chart)
    e = _ids(setting)
    assert [setting.chart.unit[e[k]] for k in ("s1a", "s2a", "o1a")] == ["Sales", "Sales", "Ops"]

    def crosses(a: str, b: str) -> bool:
        return bool(model.crosses_units(np.array([e[a]]), np.array([e[b]]))[0])

    # different managers (work groups), one division: not across units
    assert not crosses("s1a", "s2a")
    # one work group (the top's reports), two divisions: across units
    assert crosses("sales_head", "ops_head")
    assert crosses("s1a", "o1a")
    assert not crosses("s1", "s1a")  # a reporting line is never across units


def test_lateral_openness_closes_the_ties_across_the_charts_units(small_chart):
    setting = load_setting(str(small_chart))
    model = OrganizationModel(setting.parameters(), rng=1, chart=setting.chart).run()
    e = _ids(setting)
    talked = set()
    for initiators, partners in model.conversations.recent:
        talked |= set(zip(initiators.tolist(), partners.tolist(), strict=True))
    assert (e["s1a"], e["s2a"]) in talked  # a tie inside Sales, across work groups
    assert (e["s1a"], e["o1a"]) not in talked and (e["o1a"], e["s1a"]) not in talked


# --- triggers re-armed by until -------------------------------------------------
def _stub_model(series: np.ndarray, item: Intervention) -> SimpleNamespace:
    results = Results(len(series), METRICS)
    column = results.names.index("hidden_coasting_share")
    results.values[: len(series), column] = series
    model = SimpleNamespace(p=Parameters(), local=LocalValues(4), steps=0, results=results,
                            roadmap=Roadmap((item,)), streams={"roadmap": None})
    return model


def test_a_trigger_with_until_fires_again_each_time_its_condition_recurs():
    # recorded metric: high for 3 weeks, low for 3 weeks, again and again
    series = np.array([0.9 if r % 6 < 3 else 0.1 for r in range(30)])
    item = Intervention(1, {"peer_sanction_power": 0.6},
                        when=Trigger("hidden_coasting_share", 0.5, above=True, steps=2),
                        until=Trigger("hidden_coasting_share", 0.5, above=False, steps=2))
    model = _stub_model(series, item)
    process = RoadmapProcess(model)
    seen = []
    for t in range(1, 25):
        model.steps, model.results.rows = t, t  # rows 0..t-1 are recorded at step t
        process.step()
        seen.append(model.p.peer_sanction_power)
    # fires once rows t-2, t-1 (recorded after arming) are high, switches back once
    # they are low: 2 (rows 0-1) back at 5 (rows 3-4), again at 8 (rows 6-7), ...
    assert [(r["week"], r["new"]) for r in process.log] == [
        (2, 0.6), (5, 0.1), (8, 0.6), (11, 0.1), (14, 0.6), (17, 0.1), (20, 0.6), (23, 0.1)]
    assert [r["why"].split(" (")[0] for r in process.log[:2]] == [
        "when hidden_coasting_share above 0.5 for 2 steps",
        "until hidden_coasting_share below 0.5 for 2 steps"]
    assert "firing 4" in process.log[6]["why"]
    assert seen[1] == 0.6 and seen[4] == 0.1 and seen[-1] == 0.1


def test_a_trigger_without_until_fires_once():
    series = np.array([0.9 if r % 6 < 3 else 0.1 for r in range(30)])
    item = Intervention(1, {"peer_sanction_power": 0.6},
                        when=Trigger("hidden_coasting_share", 0.5, above=True, steps=2))
    model = _stub_model(series, item)
    process = RoadmapProcess(model)
    for t in range(1, 25):
        model.steps, model.results.rows = t, t
        process.step()
    assert [(r["week"], r["new"]) for r in process.log] == [(2, 0.6)]
