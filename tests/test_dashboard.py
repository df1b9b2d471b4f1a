"""The dashboard without a browser: controls, the Classroom model and each component,
rendered virtually with ``solara.render``."""

from __future__ import annotations

import json
import re

import ipyvuetify as v
import numpy as np
import plotly.graph_objects as go
import pytest
import solara

from dashboards import app, figures
from dashboards.inspector import describe, unit_colleagues
from dashboards.lessons import Lesson, lessons
from dashboards.session import (
    KEY_GROUP,
    KEY_LEVERS,
    MAIN_GROUPS,
    WITHOUT_CHANGES,
    Classroom,
    controls,
    controls_by_group,
    try_classroom,
)
from dashboards.widgets import PlotlyView
from model.parameters import ParameterError, Parameters, parameter_specs
from scenarios.settings import load_setting

SMALL = {"n_employees": 120}


def render(component):
    box, rc = solara.render(component, handle_error=False)
    return rc


@solara.component
def FullPage():
    with solara.AppLayout():
        app.Page()


def texts(rc) -> str:
    return " ".join(str(c) for w in rc.find(v.Html).widgets for c in w.children)


# --- controls ----------------------------------------------------------------------
def test_every_parameter_has_one_control_within_its_declared_range():
    specs = {s.name: s for s in parameter_specs()}
    made = controls()
    assert sorted(c.name for c in made) == sorted(specs)
    for c in made:
        spec = specs[c.name]
        assert c.meaning == spec.meaning
        assert c.group == (KEY_GROUP if c.name in KEY_LEVERS else spec.group)
        if spec.choices:
            assert c.choices == spec.choices
            continue
        assert spec.minimum <= c.minimum < c.maximum <= spec.maximum
        assert c.minimum <= spec.default <= c.maximum


def test_controls_come_grouped_key_levers_then_the_four_main_groups():
    grouped = controls_by_group()
    assert list(grouped)[:5] == [KEY_GROUP, *MAIN_GROUPS]
    assert len(grouped[KEY_GROUP]) == len(KEY_LEVERS) == 8
    assert all(c.group == g for g, items in grouped.items() for c in items)


# --- the Classroom model -----------------------------------------------------------
def test_comparison_steps_both_sides_together_with_the_same_seed():
    room = Classroom("hierarchical", dict(SMALL), compare_with=WITHOUT_CHANGES, seed=3)
    for _ in range(5):
        room.step()
    left, right = (r.model for r in room.runs)
    assert left.steps == right.steps == 5
    # without changes other than size, both sides are the same run
    np.testing.assert_array_equal(left.results.to_frame(), right.results.to_frame())


def test_comparison_with_another_setting_keeps_the_size_and_seed():
    room = Classroom("hierarchical", dict(SMALL), compare_with="shared_authority", seed=3)
    left, right = (r.model for r in room.runs)
    assert right.p.n_employees == left.p.n_employees == SMALL["n_employees"]
    assert right.p.formal_structure == load_setting("shared_authority").values[
        "formal_structure"]
    assert left.seed == right.seed == 3


def test_invalid_changes_fall_back_to_the_setting_with_a_message():
    room = Classroom("hierarchical", {"idea_scope": 40, "n_dimensions": 10})
    assert "idea_scope" in room.message
    assert room.main.p == load_setting("hierarchical").parameters()


def test_a_failed_step_leaves_a_message_and_stops_play():
    room = Classroom("hierarchical", dict(SMALL))

    def broken():
        raise FloatingPointError("boom")

    room.runs[0].model.step = broken
    room.step()
    assert not room.running and "boom" in room.message
    rc = render(app.Messages(room, None))
    assert "boom" in rc.find(v.Alert).widget.children[0]


def _show_group(rc, group: str) -> None:
    """Show a group's controls: the key levers always show; others behind the switch."""
    if group == KEY_GROUP:
        return
    rc.find(v.Switch, class_="advanced-switch").widget.v_model = True
    picker = rc.find(v.BtnToggle, class_="group-picker").widget
    picker.v_model = [g for g in controls_by_group() if g != KEY_GROUP].index(group)


def _control(rc, name: str):
    """The input of parameter ``name`` (its group shown; inside its tooltip's activator)."""
    _show_group(rc, next(c.group for c in controls() if c.name == name))
    for tooltip in rc.find(v.Tooltip).widgets:
        for holder in tooltip.v_slots[0]["children"]:
            if f"control-{name}" in holder.class_.split():
                return holder.children[0]
    raise LookupError(f"no control for {name}")


# --- components, rendered virtually --------------------------------------------------
@pytest.fixture(scope="module")
def compared() -> Classroom:
    room = Classroom("hierarchical", dict(SMALL), compare_with="shared_authority", seed=5)
    for _ in range(8):
        room.step()
    return room


@pytest.mark.parametrize("key", list(figures.CHARTS))
def test_each_chart_shows_every_step_of_both_sides_and_its_sentence(compared, key):
    rc = render(app.Chart(compared, key))
    fig = rc.find(PlotlyView).widget.shown()
    lines = [t for t in fig.data if t.mode == "lines" and t.fill is None]
    assert {t.name.split(":")[0] for t in lines} == {r.label for r in compared.runs}
    assert all(len(t.x) == compared.step_count + 1 for t in lines if "idea " not in t.name)
    assert figures.CHARTS[key][1] in texts(rc)


def _node_traces(fig):
    return [t for t in fig.data if t.customdata is not None]


def test_networks_draw_every_employee_of_each_side(compared):
    rc = render(app.Networks(compared, lambda picked: None))
    widgets = [w.shown() for w in rc.find(PlotlyView).widgets]
    assert len(widgets) == 2
    for fig, run in zip(widgets, compared.runs, strict=True):
        ids = np.concatenate([np.asarray(t.customdata)[:, 0] for t in _node_traces(fig)])
        assert sorted(ids.astype(int)) == list(range(run.model.people.n))


def test_clicked_points_map_back_to_employees(compared):
    view = figures.NetworkView(compared.main)
    fig = go.Figure(view.figure("x"))
    for trace, node in enumerate(fig.data):
        if node.customdata is None:
            assert view.employee_at(trace, 0) is None
            continue
        for point in (0, len(node.x) - 1):
            assert view.employee_at(trace, point) == int(node.customdata[point][0])


def test_large_networks_are_sampled():
    room = Classroom("hierarchical", {"n_employees": figures.MAX_NODES * 2})
    fig = go.Figure(figures.NetworkView(room.main).figure("big"))
    assert sum(len(t.x) for t in _node_traces(fig)) == figures.MAX_NODES
    assert "sample" in fig.layout.title.text


def test_node_colours_follow_coasting_state_and_shapes_follow_roles(compared):
    model = compared.main
    view = figures.NetworkView(model)
    assert np.array_equal(view.node_colours("coasting"), model.people.coast_state)
    groups = {name: view.shown[index] for name, _, index in view.role_groups()}
    leaders = model.structure.is_manager[model.people.position]
    assert leaders[groups["managers/coordinators"]].all()
    assert model.people.hero[groups["HEROes"]].all() and not leaders[groups["HEROes"]].any()
    assert sum(len(g) for g in groups.values()) == model.people.n


def test_live_view_sends_a_figure_only_when_it_changed_and_shows_new_data(compared):
    view = figures.NetworkView(compared.main)
    widget = PlotlyView()
    sent = []
    widget.observe(lambda change: sent.append(change["new"]), names="figure")
    widget.show(view.figure("x", "coasting"))
    widget.show(view.figure("x", "coasting"))
    assert len(sent) == 1  # the same picture is not sent again
    saved = compared.main.people.coast_state.copy()
    try:
        compared.main.people.coast_state[:] = 1
        widget.show(view.figure("x", "coasting"))
        assert len(sent) == 2
        colours = np.concatenate([t.marker.color for t in _node_traces(widget.shown())])
        assert set(colours) == {1}
    finally:
        compared.main.people.coast_state[:] = saved
    assert "NaN" not in widget.figure  # gaps between tie segments travel as null (JSON)


def test_live_view_offers_no_upload_to_a_cloud_service():
    config = json.loads(PlotlyView().config)
    assert "sendDataToCloud" in config["modeBarButtonsToRemove"]
    assert config["displaylogo"] is False


def test_inspector_shows_traits_state_ideas_and_observers(compared):
    model = compared.runs[0].model
    employee = int(np.flatnonzero(model.manager_of(np.arange(model.people.n)) >= 0)[0])
    rc = render(app.Inspector(compared, (0, employee)))
    shown = texts(rc)
    for title in describe(model, employee):
        assert title in shown
    boss = int(model.manager_of(np.array([employee]))[0])
    assert f"manager {boss}: sees the work" in shown
    assert f"{len(unit_colleagues(model, employee))} unit colleagues" in shown
    assert employee not in unit_colleagues(model, employee)


def test_inspector_invites_a_click_when_nothing_is_picked(compared):
    rc = render(app.Inspector(compared, None))
    assert "Click an employee" in rc.find(v.Alert).widget.children[0]


def test_parameter_controls_show_each_group_with_meanings_as_tooltips():
    values = Parameters().model_dump()
    rc = render(app.ParameterControls(values, lambda name, value: None))
    seen = []
    levers = controls_by_group()[KEY_GROUP]
    assert len(rc.find(v.Tooltip).widgets) == len(levers)  # advanced ones hidden at first
    for group, items in controls_by_group().items():
        _show_group(rc, group)
        tips = [str(w.children[0]) for w in rc.find(v.Tooltip).widgets]
        shown = levers if group == KEY_GROUP else [*levers, *items]
        assert len(tips) == len(shown)
        assert all(c.meaning in tip for c, tip in zip(shown, tips, strict=True))
        seen += [_control(rc, c.name) for c in items]
    assert len(seen) == len(controls())
    assert all(c.plain and c.plain != c.name for c in levers)  # plain words up front


def test_setting_picker_lists_every_setting():
    kwargs = solara.reactive(app.start_kwargs())
    rc = render(app.SettingPicker(kwargs, lambda change: None))
    picker = rc.find(v.Select, label="Setting").widget
    assert "hierarchical" in picker.items and "shared_authority" in picker.items


# --- the whole page ------------------------------------------------------------------
def _slider(rc, name: str):
    return _control(rc, name)


def _step_text(rc) -> str:
    return rc.find(v.Html, class_="step-counter").widget.children[0]


def _model_of(rc) -> Classroom:
    """The running Classroom, read back through the page's changes line."""
    return rc.find(v.Html, class_="changes").widget.children[0]


def test_page_slider_changes_the_model_and_step_and_reset_work():
    rc = render(FullPage())
    _slider(rc, "autonomy").v_model = 0.55
    assert "autonomy = 0.55" in _model_of(rc)
    assert _slider(rc, "autonomy").label.endswith(": 0.55")
    rc.find(v.Btn, children=["Step"]).widget.click()
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert _step_text(rc) == "Week 2"
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert _step_text(rc) == "Week 0"
    assert "autonomy = 0.55" in _model_of(rc)  # reset keeps the student's changes


def test_play_beyond_the_servers_limit_says_the_server_is_busy(monkeypatch):
    monkeypatch.setattr(app.CONDUCTOR, "limit", 0)
    rc = render(FullPage())
    rc.find(v.Btn, children=["▶"]).widget.click()
    warning = rc.find(v.Alert, class_="server-busy")
    warning.assert_single()
    assert "server is busy" in warning.widget.children[0]
    assert "--max-playing" in warning.widget.children[0]
    rc.find(v.Btn, children=["▶"]).assert_single()  # not playing
    rc.find(v.Btn, children=["Step"]).widget.click()  # stepping still works
    assert _step_text(rc) == "Week 1"
    monkeypatch.setattr(app.CONDUCTOR, "limit", 5)
    rc.find(v.Btn, children=["▶"]).widget.click()
    rc.find(v.Btn, children=["❚❚"]).assert_single()
    rc.find(v.Alert, class_="server-busy").assert_empty()
    rc.find(v.Btn, children=["❚❚"]).widget.click()


def test_page_setting_picker_updates_the_controls():
    rc = render(FullPage())
    rc.find(v.Select, label="Setting").widget.v_model = "shared_authority"
    wanted = load_setting("shared_authority").values["autonomy"]
    assert _slider(rc, "autonomy").v_model == pytest.approx(wanted)
    assert "shared_authority as defined" in _model_of(rc)


def test_page_shows_a_message_for_an_invalid_combination_and_keeps_working():
    rc = render(FullPage())
    _slider(rc, "n_dimensions").v_model = 1  # below idea_scope = 3
    assert "idea_scope" in rc.find(v.Alert, class_="control-error").widget.children[0]
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert _step_text(rc) == "Week 1"


def _alerts(rc) -> list[str]:
    return [str(w.children[0]) for w in rc.find(v.Alert).widgets if w.type == "error"]


def _redraw(room: Classroom) -> None:
    """What the page draws after a step: every chart and every network."""
    runs = [(r.label, r.model) for r in room.runs]
    for build in figures.CHART_BUILDERS.values():
        build(runs)
    for run in room.runs:
        figures.NetworkView(run.model).figure(run.label, "ideas in use")


@pytest.mark.parametrize("control", controls(), ids=lambda c: c.name)
def test_extreme_values_of_every_control_build_step_and_draw_or_explain(control):
    """Each control at its ends: the organization runs and draws, or a message says why."""
    ends = control.choices if control.kind == "choice" else (control.minimum, control.maximum)
    size = {} if control.name == "n_employees" else {"n_employees": 60}
    for value in ends:
        room, problem = try_classroom({"setting": "hierarchical", "compare_with":
                                       "shared_authority", "seed": 1,
                                       "overrides": {**size, control.name: value}})
        if room is None:
            assert control.name in problem or "=" in problem, problem
            continue
        for _ in range(2):
            room.step()
        assert room.message is None, room.message
        _redraw(room)


def test_page_survives_extreme_controls_and_keeps_stepping():
    rc = render(FullPage())
    step = rc.find(v.Btn, children=["Step"]).widget
    for name, value in (("n_employees", 5_000), ("n_employees", 2), ("span_of_control", 2),
                        ("informal_degree", 60), ("formal_structure", "none"),
                        ("leader_selection", "elected"), ("motive_mean", 0.0)):
        _control(rc, name).v_model = value
        step.click()
        applied = _control(rc, name).v_model == value
        assert applied or any(name in a for a in _alerts(rc)), (name, value)
        assert re.fullmatch(r"Week \d+", _step_text(rc))
    rc.find(v.Btn, children=["Reset"]).widget.click()
    step.click()
    assert _step_text(rc) == "Week 1"


# --- the serve command -----------------------------------------------------------------
def test_serve_binds_to_this_machine_by_default_and_rejects_a_bad_port(capsys, monkeypatch):
    import run
    from dashboards import server

    started = []
    monkeypatch.setattr(server, "serve", lambda *args: started.append(args))
    assert run.main(["serve"]) == 0
    assert started == [("127.0.0.1", 8765, None, "", [])]
    assert run.main(["serve", "--max-playing", "3"]) == 0
    assert started[-1] == ("127.0.0.1", 8765, 3, "", [])
    assert server.server_env(3)["ORGSELF_MAX_PLAYING"] == "3"
    assert run.main(["serve", "--port", "70000"]) == 2
    assert "70000" in capsys.readouterr().err
    assert run.main(["serve", "--max-playing", "0"]) == 2
    assert "--max-playing" in capsys.readouterr().err
    command = server.server_command("127.0.0.1", 8765)
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert server.server_env()["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "false"


# --- guided experiments --------------------------------------------------------------
def test_every_lesson_loads_runs_both_sides_for_its_weeks_and_reads_live_numbers():
    assert 4 <= len(lessons()) <= 6
    for lesson in lessons():
        choices = {**lesson.page_choices(), "seed": 3}
        choices["overrides"] = {**choices["overrides"], "n_employees": 60}
        room, problem = try_classroom(choices)
        assert room is not None, (lesson.title, problem)
        assert len(room.runs) == 2
        assert all(run.model.p.steps == lesson.weeks for run in room.runs)
        assert set(lesson.read) <= set(figures.MONITOR_LABELS)


def test_a_lesson_asks_for_a_prediction_before_it_runs_then_explains():
    lesson = lessons()[0]
    choices = {**lesson.page_choices(), "seed": 4}
    choices["overrides"] = {**choices["overrides"], "n_employees": 60, "steps": 3}
    room, _ = try_classroom(choices)
    prediction = solara.reactive(None)
    rc = render(app.LessonPanel(lesson, room, prediction, lambda: None, solara.reactive(False)))
    run = rc.find(v.Btn, children=[f"Run {lesson.weeks} weeks"]).widget
    assert run.disabled and "Make a prediction first." in texts(rc)
    prediction.value = lesson.predictions[-1]
    assert not rc.find(v.Btn, children=[f"Run {lesson.weeks} weeks"]).widget.disabled
    short = Lesson(**{**lesson.__dict__, "weeks": 3})
    while room.running:
        room.step()
    rc = render(app.LessonPanel(short, room, prediction, lambda: None, solara.reactive(False)))
    shown = texts(rc)
    assert f"You predicted: {lesson.predictions[-1]}" in shown
    assert lesson.why in shown
    for label in lesson.read:
        assert label in shown


def test_page_loads_a_lesson_from_its_button(monkeypatch):
    rc = render(FullPage())
    lesson = lessons()[1]
    rc.find(v.Btn, children=[lesson.title]).widget.click()
    assert lesson.question in texts(rc)
    assert "approval_levels = 0" in _model_of(rc)
    rc.find(v.Btn, children=["Step"]).widget.click()  # a change of one's own ends it
    _slider(rc, "autonomy").v_model = 0.55
    assert lesson.question not in texts(rc)


@pytest.mark.parametrize("bad, named", [
    ('title = "x"\nquestion = "q"\npredictions = ["a"]\nsetting = "hierarchical"\n'
     'compare_with = "without changes"\nweeks = 5\nread = []\nwhy = "w"\nextra = 1', "extra"),
    ('title = "x"\nquestion = "q"\npredictions = ["a"]\nsetting = "hierarchical"\n'
     'compare_with = "without changes"\nweeks = 5\nread = []\nwhy = "w"\n'
     '[lesson.changes]\nspan = 3', "changes.span"),
    ('title = "x"\nquestion = "q"\npredictions = ["a"]\nsetting = "nowhere"\n'
     'compare_with = "without changes"\nweeks = 5\nread = []\nwhy = "w"', "nowhere"),
    ('title = "x"\nquestion = "q"\npredictions = ["a"]\nsetting = "hierarchical"\n'
     'compare_with = "without changes"\nweeks = 0\nread = []\nwhy = "w"', "weeks 0"),
])
def test_a_malformed_lesson_is_named_with_its_key(tmp_path, bad, named):
    path = tmp_path / "lessons.toml"
    path.write_text("[[lesson]]\n" + bad + "\n")
    with pytest.raises(ParameterError, match="lesson 1") as err:
        lessons(path)
    assert named in str(err.value)
