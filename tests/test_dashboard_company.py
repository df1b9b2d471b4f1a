"""The dashboard with a client's setting (imported chart, roadmap) and mid-run changes
scoped to a unit or level, without a browser (issue 17)."""

from __future__ import annotations

import math
from pathlib import Path

import ipyvuetify as v
import numpy as np
import pandas as pd
import pytest
import solara

import run
from dashboards import app, figures, server
from dashboards.scopes import (
    WHOLE,
    WHOLE_LABEL,
    Scope,
    scope_mask,
    scoped_parameters,
    scopes,
    unit_breakdown,
)
from dashboards.session import (
    SETTINGS_ENV,
    WITHOUT_CHANGES,
    Classroom,
    page_setting,
    setting_files,
    setting_names,
    start_setting,
)
from model.parameters import FIXED_DURING_RUN, ParameterError, Parameters, per_unit_parameters
from scenarios.make_example_company import write_company

HEAD = ('description = "a client"\n[organization]\nchart = "chart.csv"\nnetwork = "ties.csv"\n'
        '[parameters]\nsteps = 30\nautonomy = 0.4\n')
ROADMAP = '[[intervention]]\nat = 3\nwhere = ["Customer Service"]\nset = { autonomy = 0.7 }\n'


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("client")
    write_company(root, 200, seed=9)
    (root / "client.toml").write_text(HEAD)
    (root / "client_roadmap.toml").write_text(HEAD + ROADMAP)
    return root


@pytest.fixture
def served(company, monkeypatch) -> Path:
    """The page as ``run.py serve --setting <company>`` starts it."""
    files = setting_files([str(company)])
    monkeypatch.setenv(SETTINGS_ENV, ":".join(map(str, files)))
    return company


def _units(company: Path) -> pd.Series:
    return pd.read_csv(company / "chart.csv")["unit"].value_counts()


# --- settings given to serve --------------------------------------------------------
def test_a_directory_adds_its_settings_after_the_built_in_ones_and_the_page_opens_on_them(
        served):
    names = setting_names()
    assert names[-2:] == ["client", "client_roadmap"]
    assert "hierarchical" in names  # the students' settings stay
    assert start_setting() == "client"
    assert app.start_kwargs()["setting"] == "client"


def test_without_settings_the_page_opens_on_the_built_in_default(monkeypatch):
    monkeypatch.delenv(SETTINGS_ENV, raising=False)
    assert start_setting() == "hierarchical"
    assert "client" not in setting_names()


@pytest.mark.parametrize(("row", "named"), [
    ("e1,e1,Sales,L1,false", "its own manager"),
    ("e1,nobody,Sales,L1,false", "manager_id 'nobody'"),
])
def test_bad_chart_data_is_one_line_and_exit_2_before_the_server_starts(
        company, tmp_path, capsys, monkeypatch, row, named):
    (tmp_path / "chart.csv").write_text("id,manager_id,unit,level,customer_facing\n"
                                        f"boss,,Top,L0,false\n{row}\n")
    (tmp_path / "ties.csv").write_text("source,target\nboss,e1\n")
    (tmp_path / "bad.toml").write_text(HEAD)
    started = []
    monkeypatch.setattr(server, "serve", lambda *args: started.append(args))
    assert run.main(["serve", "--setting", str(company / "client.toml"),
                     "--setting", str(tmp_path / "bad.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "chart.csv: line 3" in err[0] and named in err[0]
    assert started == []


def test_serve_passes_the_checked_files_and_refuses_a_built_in_name(company, tmp_path,
                                                                     capsys, monkeypatch):
    started = []
    monkeypatch.setattr(server, "serve", lambda *args: started.append(args))
    assert run.main(["serve", "--setting", str(company / "client.toml")]) == 0
    assert started[-1][4] == [str((company / "client.toml").resolve())]
    env = server.server_env(None, started[-1][4])
    assert env[SETTINGS_ENV] == str((company / "client.toml").resolve())
    (tmp_path / "hierarchical.toml").write_text('description = "x"\n')
    assert run.main(["serve", "--setting", str(tmp_path / "hierarchical.toml")]) == 2
    assert "built-in" in capsys.readouterr().err
    assert run.main(["serve", "--setting", str(tmp_path / "nothing-here")]) == 2


def test_a_setting_file_is_read_once_per_version(served):
    first = page_setting("client")
    assert page_setting("client") is first
    path = served / "client.toml"
    path.write_text(HEAD.replace("autonomy = 0.4", "autonomy = 0.45"))
    try:
        assert page_setting("client").values["autonomy"] == 0.45
    finally:
        path.write_text(HEAD)


# --- the organization the page plays -----------------------------------------------
def test_the_page_plays_the_imported_chart_and_its_roadmap(served):
    room = Classroom("client_roadmap", seed=3)
    assert room.main.chart is not None and room.main.p.n_employees == 200
    for _ in range(4):
        room.step()
    log = room.main.roadmap_log
    assert [(r["week"], r["intervention"], r["where"]) for r in log] == [
        (3, 1, "Customer Service")]
    shapes = figures.CHART_BUILDERS["coasting"]([(r.label, r.model) for r in room.runs])[
        "layout"]["shapes"]
    assert [s["x0"] for s in shapes] == [3]


def test_comparing_a_client_with_a_built_in_setting_keeps_the_charts_size(served):
    room = Classroom("client", compare_with="hierarchical", seed=3)
    assert room.runs[1].model.chart is None
    assert room.runs[1].model.p.n_employees == room.main.p.n_employees == 200
    room.step()
    assert room.step_count == 1 and room.message is None
    with pytest.raises(ParameterError, match="fixes it at 200"):
        page_setting("client").parameters({"n_employees": 150}, strict=False)


def test_the_unit_breakdown_counts_every_unit_of_the_chart(served):
    room = Classroom("client", seed=3)
    rows = unit_breakdown(room.main)
    assert {r.unit: r.employees for r in rows} == _units(served).to_dict()
    assert all(0 <= r.hidden_coasting_share <= 1 and r.levels >= 1 for r in rows)
    assert unit_breakdown(Classroom("hierarchical", {"n_employees": 100}).main) == []


# --- scoped mid-run changes -------------------------------------------------------------
def test_scopes_are_the_whole_organization_the_charts_units_and_its_levels(served):
    model = Classroom("client", seed=3).main
    found = scopes(model)
    assert found[0] == WHOLE
    assert {s.name for s in found if s.kind == "unit"} == set(_units(served).index)
    assert {s.name for s in found if s.kind == "level"} == set(model.chart.level)
    generated = Classroom("hierarchical", {"n_employees": 100}).main
    assert [s.kind for s in scopes(generated)] == ["all"] + ["level"] * (
        int(generated.structure.level.max()) + 1)


def test_a_change_in_one_unit_changes_only_that_units_values_from_next_week(served):
    room = Classroom("client", compare_with=WITHOUT_CHANGES, seed=3)
    for _ in range(4):
        room.step()
    sales = Scope("unit", "Sales")
    room.apply_now("autonomy", 0.9, sales)
    for _ in range(6):
        room.step()
    model, twin = room.main, room.runs[1].model
    in_sales = scope_mask(model, sales)[model.people.position]
    values = model.per_employee("autonomy")
    assert np.all(values[in_sales] == 0.9) and np.all(values[~in_sales] == 0.4)
    assert model.p.autonomy == 0.4  # the organization-wide value is untouched
    assert model.roadmap_log == [{"week": 5, "intervention": 0, "parameter": "autonomy",
                                  "old": 0.4, "new": 0.9, "where": "Sales",
                                  "why": "applied by the student"}]
    a, b = twin.results.to_frame(), model.results.to_frame()
    pd.testing.assert_frame_equal(a.iloc[:5], b.iloc[:5])  # weeks 0-4: nothing changed
    assert not a.iloc[5:].equals(b.iloc[5:])
    sales_row = next(r for r in unit_breakdown(model) if r.unit == "Sales")
    other = next(r for r in unit_breakdown(model) if r.unit != "Sales")
    assert dict(sales_row.own_values) == {"autonomy": pytest.approx(0.9)}
    assert dict(other.own_values) == {"autonomy": pytest.approx(0.4)}


def test_only_parameters_declared_per_unit_can_change_in_one_unit(served):
    room = Classroom("client", seed=3)
    room.step()
    assert scoped_parameters(room.main) == set(per_unit_parameters())
    fixed_or_scoped = set(per_unit_parameters()) | FIXED_DURING_RUN
    other = next(n for n, f in Parameters.model_fields.items()
                 if n not in fixed_or_scoped and f.annotation is float)
    with pytest.raises(ParameterError, match=f"{other} cannot differ by unit"):
        room.apply_now(other, getattr(room.main.p, other), Scope("unit", "Sales"))
    with pytest.raises(ParameterError, match="autonomy"):
        room.apply_now("autonomy", 2.0, Scope("unit", "Sales"))
    assert room.main.roadmap_log == []


def test_a_change_at_one_level_of_a_generated_structure():
    room = Classroom("hierarchical", {"n_employees": 100}, seed=3)
    room.step()
    room.apply_now("peer_sanction_power", 0.6, Scope("level", "L1"))
    room.step()
    model = room.main
    at_level = model.structure.level[model.people.position] == 1
    values = model.per_employee("peer_sanction_power")
    assert np.all(values[at_level] == 0.6)
    assert model.p.peer_sanction_power != 0.6
    assert np.all(values[~at_level] == model.p.peer_sanction_power)


# --- the page, rendered virtually ---------------------------------------------------
@solara.component
def FullPage():
    with solara.AppLayout():
        app.Page()


def _input(rc, name: str):
    """The input of a key lever ``name`` (always shown)."""
    for tooltip in rc.find(v.Tooltip).widgets:
        for holder in tooltip.v_slots[0]["children"]:
            if f"control-{name}" in holder.class_.split():
                return holder.children[0]
    raise LookupError(name)


def _rows(rc, css: str) -> list[str]:
    return [w.children[0] for w in rc.find(v.Html, class_=css).widgets]


def _unit_table(rc) -> str:
    """The organization panel's table of units (its HTML)."""
    return rc.find(solara.widgets.HTML, tag="table").widget.unsafe_innerHTML


def test_the_page_shows_the_units_and_applies_a_scoped_change_with_a_logged_marker(served):
    box, rc = solara.render(FullPage(), handle_error=False)
    summary = rc.find(v.Html, class_="chart-summary").widget.children[0]
    assert "200 employees" in summary
    assert all(unit in _unit_table(rc) for unit in _units(served).index)
    for _ in range(3):
        rc.find(v.Btn, children=["Step"]).widget.click()
    rc.find(v.Switch, class_="mid-run-switch").widget.v_model = True
    where = rc.find(v.Select, label="Where mid-run changes apply").widget
    assert where.items[0] == "whole organization" and "unit: Sales" in where.items
    where.v_model = "unit: Sales"
    assert _input(rc, "span_of_control").disabled  # not declared per_unit
    assert not _input(rc, "autonomy").disabled
    note = rc.find(v.Html, class_="mid-run-scope-note").widget.children[0]
    assert all(name in note for name in per_unit_parameters())
    _input(rc, "autonomy").v_model = 0.65
    changed = rc.find(v.Html, class_="mid-run-changes").widget.children[0]
    assert "week 4: autonomy 0.4 -> 0.65 in Sales" in changed
    assert _rows(rc, "intervention-row") == [
        "week 4 · #0 · autonomy 0.4 -> 0.65 · Sales · applied by the student"]
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert "autonomy here" in _unit_table(rc)
    assert _input(rc, "autonomy").v_model == pytest.approx(0.65)  # Sales' own value
    rc.find(v.Select, label="Where mid-run changes apply").widget.v_model = WHOLE_LABEL
    assert _input(rc, "autonomy").v_model == pytest.approx(0.4)  # elsewhere unchanged
    assert not _input(rc, "span_of_control").disabled
    kept = rc.find(v.Html, class_="mid-run-local-note").widget.children[0]
    assert "own autonomy, it keeps it" in kept
    rc.close()


def test_shares_shown_by_unit_stay_within_zero_and_one(served):
    room = Classroom("client", seed=3)
    for _ in range(5):
        room.step()
    table = app.scopes_table(room.main)
    shares = [float(row.split("<td>")[4].split("</td>")[0].rstrip("%")) / 100
              for row in table.split("<tr>")[2:]]
    assert len(shares) == len(unit_breakdown(room.main))
    assert all(0 <= s <= 1 and not math.isnan(s) for s in shares)


def test_unit_names_from_the_clients_file_are_shown_as_text_never_as_markup(monkeypatch):
    from dashboards.scopes import UnitRow

    name = "<img src=x onerror=alert(1)>"
    monkeypatch.setattr(app, "unit_breakdown", lambda model: [UnitRow(name, 3, 1, 0.0, ())])
    table = app.scopes_table(None)
    assert "<img" not in table and "&lt;img src=x" in table


def test_the_panel_lists_the_roadmap_and_a_built_in_setting_shows_no_panel(served):
    room = Classroom("client_roadmap", seed=3)
    box, rc = solara.render(app.OrganizationPanel(room), handle_error=False)
    assert [w.children[0] for w in rc.find(v.Html, class_="roadmap-item").widgets] == [
        "Roadmap #1: week 3 in Customer Service: autonomy = 0.7"]
    rc.close()
    box, rc = solara.render(app.OrganizationPanel(Classroom("hierarchical", {"n_employees": 100})),
                            handle_error=False)
    rc.find(v.Card).assert_empty()
    rc.close()
