"""Roadmaps: interventions over time, scoped to units, triggered by metrics (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import run
from dashboards.markers import mark_time_charts
from experiments.compare import compare_settings
from model import OrganizationModel
from model.errors import ParameterError
from scenarios.make_example_company import write_company
from scenarios.settings import load_setting

STEPS = 24
HEAD = ('description = "client"\n[organization]\nchart = "chart.csv"\nnetwork = "ties.csv"\n'
        f'[parameters]\nsteps = {STEPS}\nautonomy = 0.4\n')


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("roadmap")
    write_company(root, 200, seed=9)
    return root


def _setting(company: Path, roadmap: str, name: str = "s"):
    path = company / f"{name}.toml"
    path.write_text(HEAD + roadmap)
    return load_setting(str(path))


def _run(setting, seed: int = 4, **overrides) -> OrganizationModel:
    params = setting.parameters(overrides or None)
    return OrganizationModel(params, rng=seed, chart=setting.chart,
                             roadmap=setting.roadmap(params)).run()


@pytest.fixture(scope="module")
def status_quo(company) -> OrganizationModel:
    return _run(_setting(company, "", "none"))


def test_a_roadmap_of_the_current_values_gives_byte_identical_results(company, status_quo):
    same = _run(_setting(company, """
[[intervention]]
at = 5
ramp = 4
set = { autonomy = 0.4, power_distance = 0.3 }
[[intervention]]
at = 8
where = ["Sales", 2]
set = { monitoring_capacity = 2.0 }
""", "same"))
    assert same.roadmap_log  # it did fire
    a = status_quo.results.to_frame().to_csv().encode()
    b = same.results.to_frame().to_csv().encode()
    assert a == b
    np.testing.assert_array_equal(status_quo.people.effort, same.people.effort)


def test_an_intervention_at_week_t_changes_nothing_before_t(company, status_quo):
    changed = _run(_setting(company, """
[[intervention]]
at = 10
set = { autonomy = 0.95, manager_sanction_power = 0.1 }
""", "at10"))
    a, b = status_quo.results.to_frame(), changed.results.to_frame()
    pd.testing.assert_frame_equal(a.iloc[:10], b.iloc[:10])
    assert not a.iloc[10:].equals(b.iloc[10:])
    assert (b["mean_commitment"].iloc[-1] > a["mean_commitment"].iloc[-1])
    log = changed.roadmap_log
    assert [(r["week"], r["parameter"], r["old"], r["new"]) for r in log] == [
        (10, "autonomy", 0.4, 0.95), (10, "manager_sanction_power", 0.8, 0.1)]


def test_a_unit_scoped_change_leaves_the_other_units_untouched(company):
    setting = _setting(company, """
[[intervention]]
at = 3
where = ["Sales"]
set = { autonomy = 0.9 }
""", "pilot")
    model = _run(setting)
    units = np.array(setting.chart.unit)[model.people.position]
    autonomy = model.per_employee("autonomy")
    assert (autonomy[units == "Sales"] == 0.9).all()
    assert (autonomy[units != "Sales"] == 0.4).all() and (units != "Sales").any()
    assert model.p.autonomy == 0.4
    sales = model.people.opportunity[units == "Sales"]
    assert sales.min() >= 0.9


def test_a_ramp_moves_values_linearly_and_rounds_whole_numbers(company):
    setting = _setting(company, """
[[intervention]]
at = 4
ramp = 4
set = { autonomy = 0.8, approval_levels = 4 }
""", "ramp")
    params = setting.parameters()
    model = OrganizationModel(params, rng=1, chart=setting.chart,
                              roadmap=setting.roadmap(params))
    seen = []
    for _ in range(9):
        model.step()
        seen.append((round(model.p.autonomy, 6), model.p.approval_levels))
    assert seen == [(0.4, 0), (0.4, 0), (0.4, 0), (0.5, 1), (0.6, 2), (0.7, 3), (0.8, 4),
                    (0.8, 4), (0.8, 4)]


def test_a_trigger_fires_and_switches_back_when_until_holds_and_re_arms(company, status_quo):
    model = _run(_setting(company, """
[[intervention]]
when = { metric = "mean_commitment", above = 0.0, for = 2 }
until = { metric = "mean_commitment", below = 2.0, for = 3 }
set = { peer_sanction_power = 0.6 }
""", "trigger"))
    weeks = [(r["week"], r["new"]) for r in model.roadmap_log]
    # both conditions always hold (commitment is in [0, 1]): fired after 2 recorded steps,
    # back 3 later, re-armed: again 2 steps after each switch back, until the run ends
    assert weeks == [(2, 0.6), (5, 0.1), (7, 0.6), (10, 0.1), (12, 0.6), (15, 0.1),
                     (17, 0.6), (20, 0.1), (22, 0.6)]
    assert "when mean_commitment above 0 for 2 steps" in model.roadmap_log[0]["why"]
    assert "firing 2" in model.roadmap_log[2]["why"]
    assert "until mean_commitment below 2 for 3 steps" in model.roadmap_log[1]["why"]
    assert model.p.peer_sanction_power == 0.6
    a, b = status_quo.results.to_frame(), model.results.to_frame()
    pd.testing.assert_frame_equal(a.iloc[:2], b.iloc[:2])
    assert not a.equals(b)


def test_a_trigger_that_never_holds_changes_nothing(company, status_quo):
    model = _run(_setting(company, """
[[intervention]]
when = { metric = "hidden_coasting_share", above = 0.99, for = 1 }
set = { peer_sanction_power = 0.6 }
""", "off"))
    assert model.roadmap_log == []
    pd.testing.assert_frame_equal(status_quo.results.to_frame(), model.results.to_frame())


ERRORS = {
    "unknown parameter": ("at = 3\nset = { autonomyy = 0.5 }", "unknown parameter 'autonomyy'"),
    "unknown unit": ('at = 3\nwhere = ["Marketing"]\nset = { autonomy = 0.5 }',
                     "where = 'Marketing': no such unit or level"),
    "unknown metric": ('when = { metric = "happiness", above = 0.1 }\nset = { autonomy = 0.5 }',
                       "metric = 'happiness': unknown metric"),
    "at beyond the run": ("at = 99\nset = { autonomy = 0.5 }", "at = 99: beyond the run"),
    "not per unit": ('at = 3\nwhere = ["Sales"]\nset = { effort_cost = 0.1 }',
                     "effort_cost cannot differ by unit"),
    "fixed": ("at = 3\nset = { n_employees = 9 }", "n_employees is fixed"),
    "out of bounds": ("at = 3\nset = { autonomy = 1.5 }", "autonomy = 1.5"),
    "string": ('at = 3\nset = { autonomy = "high" }', "must be a number"),
    "at and when": ('at = 3\nwhen = { metric = "output", above = 1 }\nset = { autonomy = 0.5 }',
                    "either at (a week) or when"),
    "an expression": ('when = "hidden_coasting_share > 0.1"\nset = { autonomy = 0.5 }',
                      "must be a table"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_a_bad_intervention_is_one_line(case, company):
    body, piece = ERRORS[case]
    with pytest.raises(ParameterError) as err:
        _setting(company, f"[[intervention]]\n{body}\n", "bad")
    message = str(err.value)
    assert "\n" not in message and "bad.toml: intervention 1" in message and piece in message


def _autonomy_at(at: int, value: float, where: str = "", ramp: int = 0) -> str:
    scope = f'where = ["{where}"]\n' if where else ""
    return f"[[intervention]]\nat = {at}\nramp = {ramp}\n{scope}set = {{ autonomy = {value} }}\n"


def test_contradictory_overlapping_interventions_are_refused(company):
    with pytest.raises(ParameterError, match=r"interventions 1 and 2 contradict each other: "
                       r"autonomy = 0.8 vs 0.6 for overlapping people at overlapping weeks"):
        _setting(company, _autonomy_at(5, 0.8, "Sales", ramp=6) + _autonomy_at(8, 0.6), "clash")
    _setting(company, _autonomy_at(5, 0.8, "Sales") + _autonomy_at(5, 0.6, "Finance")
             + _autonomy_at(12, 0.6), "fine")  # other people, or later: no contradiction


def test_at_beyond_a_shortened_run_is_refused_on_the_command_line(company, tmp_path, capsys):
    _setting(company, "[[intervention]]\nat = 20\nset = { autonomy = 0.5 }\n", "late")
    assert run.main(["run", str(company / "late.toml"), "-t", "10",
                     "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "at = 20: beyond the run (steps = 10)" in err


def test_example_company_compared_with_and_without_its_roadmap(tmp_path):
    company = Path(__file__).resolve().parent.parent / "scenarios" / "company"
    out = tmp_path / "cmp"
    out.mkdir()
    compare_settings([str(company / "acme.toml"), str(company / "acme_roadmap.toml")], 2, 2026,
                     out, common={"steps": 40}, workers=1)
    series = pd.read_parquet(out / "timeseries.parquet")
    log = pd.read_csv(out / "interventions.csv")
    assert set(log["setting"]) == {"acme_roadmap"}
    assert sorted(set(zip(log["week"], log["where"], strict=True))) == [
        (13, "Customer Service"), (39, "all")]
    for k in (0, 1):  # common random numbers: identical until the first intervention
        a = series[(series.setting == "acme") & (series.replication == k)]
        b = series[(series.setting == "acme_roadmap") & (series.replication == k)]
        cols = [c for c in a.columns if c not in ("setting",)]
        pd.testing.assert_frame_equal(a[cols].iloc[:13].reset_index(drop=True),
                                      b[cols].iloc[:13].reset_index(drop=True))
        assert not a[cols].iloc[13:].reset_index(drop=True).equals(
            b[cols].iloc[13:].reset_index(drop=True))
    breakdown = pd.read_csv(out / "breakdown.csv")
    assert {"Customer Service", "Operations"} <= set(breakdown["unit"])
    assert "Staff" in set(breakdown["level"])
    assert json.loads((out / "manifest.json").read_text())["employees"] == 1200
    fig = go.Figure(go.Scatter(x=series["step"], y=series["output"]))
    mark_time_charts(out, [fig])
    assert sorted((s.x0, s.line.dash) for s in fig.layout.shapes) == [(13, "dot"), (39, "dot")]


def test_a_change_applied_mid_run_acts_from_the_next_week_under_common_random_numbers(
        company, status_quo):
    setting = _setting(company, "", "none")
    model = OrganizationModel(setting.parameters(), rng=4, chart=setting.chart)
    model.run(8)
    with pytest.raises(ParameterError, match="span_of_control is fixed"):
        model.intervene({"span_of_control": 3})
    with pytest.raises(ParameterError, match="autonomy"):
        model.intervene({"autonomy": 2.0})
    model.intervene({"autonomy": 0.95})
    model.run(STEPS - 8)
    assert model.roadmap_log == [{"week": 9, "intervention": 0, "parameter": "autonomy",
                                  "old": 0.4, "new": 0.95, "where": "all",
                                  "why": "applied mid-run"}]
    a, b = status_quo.results.to_frame(), model.results.to_frame()
    pd.testing.assert_frame_equal(a.iloc[:9], b.iloc[:9])
    assert not a.iloc[9:].equals(b.iloc[9:])


def test_the_dashboard_applies_a_change_mid_run_and_marks_it_on_every_chart():
    from dashboards import figures
    from dashboards.session import WITHOUT_CHANGES, Classroom

    room = Classroom("hierarchical", {"n_employees": 120, "steps": 20},
                     compare_with=WITHOUT_CHANGES, seed=3)
    for _ in range(5):
        room.step()
    room.apply_now("autonomy", 0.9)
    for _ in range(5):
        room.step()
    assert room.main.p.autonomy == 0.9 and room.runs[1].model.p.autonomy != 0.9
    assert room.runs[0].label.endswith("+ changes mid-run")
    runs = [(r.label, r.model) for r in room.runs]
    for key, build in figures.CHART_BUILDERS.items():
        shapes = build(runs)["layout"].get("shapes", [])
        assert [s["x0"] for s in shapes] == [6], key
    with pytest.raises(ParameterError):
        room.apply_now("n_employees", 10)


def _sweep_file(company: Path, vary: str, name: str = "sweep") -> Path:
    _setting(company, "[[intervention]]\nat = 6\nwhere = [\"Sales\"]\n"
             "set = { autonomy = 0.9 }\n[[intervention]]\n"
             "when = { metric = \"output\", above = 5.0 }\nset = { peer_sanction_power = 0.5 }\n",
             "swept")
    path = company / f"{name}.toml"
    path.write_text(f'setting = "{company / "swept.toml"}"\nseeds = "common"\nreplications = 1\n'
                    'steps = 16\nmetrics = ["mean_commitment"]\ntimeseries = ["mean_commitment"]\n'
                    f'record_every = 1\n[vary]\n{vary}\n')
    return path


def test_a_sweep_varies_an_interventions_week_and_value_under_common_seeds(company, tmp_path):
    from experiments.sweep import run_sweep, timeseries_table
    from experiments.sweep_spec import load_sweep

    sweep = load_sweep(_sweep_file(company, '"intervention.1.at" = [4, 10]\n'
                                            '"intervention.1.set.autonomy" = [0.4, 0.9]'))
    assert len(sweep.runs) == 4 and len({r.seed for r in sweep.runs}) == 1
    run_sweep(sweep, tmp_path / "out")
    series = timeseries_table(tmp_path / "out").sort_values("step")
    curve = {(int(p["intervention.1.at"]), float(p["intervention.1.set.autonomy"])):
             part["mean_commitment"].to_numpy()
             for _, part in series.groupby("point_id") for p in [part.iloc[0]]}
    same = curve[(4, 0.4)]  # autonomy 0.4 is the status quo: the week cannot matter
    np.testing.assert_array_equal(same, curve[(10, 0.4)])
    np.testing.assert_array_equal(same[:4], curve[(4, 0.9)][:4])
    assert not np.array_equal(same[4:], curve[(4, 0.9)][4:])
    np.testing.assert_array_equal(same[:10], curve[(10, 0.9)][:10])
    assert not np.array_equal(same[10:], curve[(10, 0.9)][10:])


def test_a_sweep_keeps_its_setting_whole_and_the_copy_reruns_it(company, tmp_path):
    """_setting/ holds the base setting with the chart, ties and roadmap: a sweep of the
    copy, with the client's files gone, gives the very same data."""
    from experiments.sweep import run_sweep, timeseries_table
    from experiments.sweep_spec import load_sweep

    vary = '"intervention.1.set.autonomy" = [0.4, 0.9]'
    run_sweep(load_sweep(_sweep_file(company, vary, "kept")), tmp_path / "out")
    copy = tmp_path / "out" / "_setting"
    assert sorted(p.name for p in copy.iterdir()) == ["chart.csv", "setting.toml", "ties.csv"]
    moved = tmp_path / "moved"
    copy.rename(moved)  # away from the output (and from the client's own files)
    text = (company / "kept.toml").read_text().replace(str(company / "swept.toml"),
                                                       str(moved / "setting.toml"))
    (tmp_path / "again.toml").write_text(text)
    run_sweep(load_sweep(tmp_path / "again.toml"), tmp_path / "again")
    first, second = (timeseries_table(tmp_path / d).sort_values(["point_id", "step"])
                     .reset_index(drop=True) for d in ("out", "again"))
    pd.testing.assert_frame_equal(first, second)
    charts = [pd.read_csv(d / "chart.csv") for d in (moved, tmp_path / "again" / "_setting")]
    pd.testing.assert_frame_equal(*(c.drop(columns=["id", "manager_id"]) for c in charts))
    assert not set(charts[0]["id"]) & set(pd.read_csv(company / "chart.csv")["id"])  # pseudonyms


@pytest.mark.parametrize(("vary", "piece"), [
    ('"intervention.1.at" = [4, 30]', "value 30 is above the maximum 16 of intervention.1.at"),
    ('"intervention.1.set.peer_sanction_power" = [0.5, 0.7]', "design point 1 ("),
    ('"intervention.3.at" = [4, 5]', "the setting has 2 interventions"),
    ('"intervention.2.at" = [4, 5]', "is triggered (when)"),
    ('"intervention.1.when" = [4, 5]', "a roadmap factor is intervention.K.at"),
    ('"intervention.1.set.autonomy" = [0.5, 1.5]', "above the maximum 1 of autonomy"),
])
def test_a_bad_roadmap_factor_is_one_line(company, vary, piece):
    from experiments.sweep_spec import load_sweep

    with pytest.raises(ParameterError) as err:
        load_sweep(_sweep_file(company, vary, "bad_sweep"))
    assert "\n" not in str(err.value) and piece in str(err.value)


def test_the_report_of_a_roadmap_comparison_marks_logs_and_breaks_down_by_chart_unit(
        tmp_path):
    """End to end through the command line: the example company with and without its
    roadmap; the report marks the intervention weeks on its time charts, lists what changed
    (in how many runs) and shows the chart's own units."""
    company = Path(__file__).resolve().parents[1] / "scenarios" / "company"
    out = tmp_path / "acme"
    assert run.main(["compare", str(company / "acme.toml"), str(company / "acme_roadmap.toml"),
                     "-r", "2", "-t", "40", "--out", str(out), "-w", "1"]) == 0
    page = (out / "report.html").read_text()
    assert "<table id=\"roadmap\">" in page and "2 of 2" in page  # fired in both runs
    assert '<table id="chart-units">' in page
    units = set(pd.read_parquet(out / "breakdown.parquet")["unit"])
    assert {"Customer Service", "Engineering"} <= units
    for unit in units:
        assert f"<td>{unit}</td>" in page
    assert page.count('"x0":13') + page.count('"x0": 13') >= 2  # a marker on two time charts
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["setting_files"] == {
        "acme": str((company / "acme.toml").resolve()),
        "acme_roadmap": str((company / "acme_roadmap.toml").resolve())}
    assert str(out / "settings" / "acme_roadmap.toml") in page  # the reproduce command
    stored = (out / "settings" / "acme_roadmap.toml").read_text()
    assert 'chart = "acme_roadmap_chart.csv"' in stored and "[[intervention]]" in stored
    assert b"@acme.example" not in (out / "settings" / "acme_roadmap_chart.csv").read_bytes()
