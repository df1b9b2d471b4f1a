"""The students' dashboard page: ``solara run dashboards/app.py`` or ``run.py serve``.

Mesa's SolaraViz pieces drive the model (``ModelController``: reset, play/pause, step;
``update_counter``: redraw after a step). Around them: a setting picker, controls
generated from the parameter declarations (grouped, meanings as tooltips), a comparison
of two settings with the same seed, live plotly charts, the network and an inspector.
"""

from __future__ import annotations

from typing import Any

import solara
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import update_counter

from dashboards import figures
from dashboards.inspector import describe
from dashboards.session import (
    DEFAULT_SEED,
    DEFAULT_SETTING,
    MAIN_GROUPS,
    WITHOUT_CHANGES,
    Classroom,
    Control,
    changed_overrides,
    controls_by_group,
    setting_names,
    try_classroom,
)
from dashboards.widgets import PLOTLY_BUNDLE_DIR, SharedFigureWidget, sync_widget
from experiments.outputs import SEED_MAX
from scenarios.settings import load_setting

NOTHING = "nothing"

try:  # no telemetry calls to outside hosts; plotly's widget code served as a cached asset
    from solara.server import settings as _server_settings

    _server_settings.telemetry.mixpanel_enable = False
    if str(PLOTLY_BUNDLE_DIR) not in _server_settings.assets.extra_locations:
        _server_settings.assets.extra_locations.append(str(PLOTLY_BUNDLE_DIR))
except ImportError:  # rendered without a server (tests)
    pass

TITLE = "How constraints and power shape what emerges"


def start_kwargs() -> dict[str, Any]:
    """The Classroom arguments the page starts with."""
    return {"setting": DEFAULT_SETTING, "overrides": {}, "compare_with": None,
            "seed": DEFAULT_SEED}


# --- controls ------------------------------------------------------------------------
@solara.component
def ControlInput(control: Control, value: Any, on_value):
    """One generated input with the parameter's meaning as its tooltip."""
    tip = f"{control.meaning}" + (f" [{control.unit}]" if control.unit else "")
    label = f"{control.label}: {value:g}" if control.kind != "choice" else control.label
    with solara.Tooltip(tip):
        with solara.Column(gap="0px", classes=[f"control-{control.name}"]):
            if control.kind == "choice":
                solara.Select(label, values=list(control.choices), value=value,
                              on_value=on_value)
            elif control.kind == "int":
                solara.SliderInt(label, value=int(value), min=int(control.minimum),
                                 max=int(control.maximum), step=1, on_value=on_value,
                                 thumb_label=True)
            else:
                solara.SliderFloat(label, value=float(value), min=control.minimum,
                                   max=control.maximum, step=control.step, on_value=on_value,
                                   thumb_label=True)


@solara.component
def ParameterControls(values: dict[str, Any], on_change):
    """Controls of one group at a time (structure, constraints, power relations, ...)."""
    grouped = controls_by_group()
    group = solara.use_reactive(MAIN_GROUPS[0])
    solara.ToggleButtonsSingle(value=group, values=list(grouped), dense=True,
                               style={"flex-wrap": "wrap", "height": "auto"},
                               classes=["group-picker"])
    for control in grouped[group.value]:
        def change(value, name=control.name, control=control):
            on_change(name, control.clip(value))

        ControlInput(control, control.clip(values[control.name]), change)


@solara.component
def SettingPicker(kwargs: solara.Reactive[dict], on_choose):
    """Setting, comparison and seed."""
    current = kwargs.value
    solara.Select("Setting", values=setting_names(), value=current["setting"],
                  on_value=lambda name: on_choose({"setting": name, "overrides": {}}))
    solara.Text(load_setting(current["setting"]).description, style={"font-style": "italic"})
    compare = current["compare_with"] or NOTHING
    solara.Select("Compare side by side with", values=[NOTHING, WITHOUT_CHANGES,
                                                       *setting_names()],
                  value=compare, on_value=lambda name: on_choose(
                      {"compare_with": None if name == NOTHING else name}))
    solara.InputInt("Seed (the same for both sides)", value=current["seed"],
                    on_value=lambda seed: on_choose({"seed": min(max(0, int(seed or 0)),
                                                                   SEED_MAX)}))


@solara.component
def StepCounter(room: Classroom):
    update_counter.get()
    solara.Text(f"Step {room.step_count}", classes=["step-counter"],
                style={"font-size": "1.3em", "font-weight": "bold"})


@solara.component
def Changes(room: Classroom):
    """The student's changes to the setting, read back from the running model."""
    if not room.overrides:
        solara.Text(f"Running {room.setting} as defined.", classes=["changes"])
        return
    shown = ", ".join(f"{k} = {getattr(room.main.p, k)}" for k in sorted(room.overrides))
    solara.Text(f"Running {room.setting} with {shown}.", classes=["changes"])


@solara.component
def LiveFigure(fig, on_click=None):
    """A plotly widget kept in sync with ``fig`` (data updated in place after a step)."""
    def points(data):
        if data and data.get("event_type") == "plotly_click" and on_click:
            on_click(data)

    element = SharedFigureWidget.element(on__js2py_pointsCallback=points)

    def update():
        sync_widget(solara.get_widget(element), fig)

    solara.use_effect(update, [fig])
    return element


# --- main area -----------------------------------------------------------------------
@solara.component
def Messages(room: Classroom, control_error: str | None):
    update_counter.get()
    if control_error:
        solara.Error(control_error, classes=["control-error"])
    if room.message:
        solara.Error(room.message, classes=["model-error"])


@solara.component
def Chart(room: Classroom, key: str):
    """One live chart and the sentence saying what it shows."""
    update_counter.get()
    runs = [(r.label, r.model) for r in room.runs]
    with solara.Card(margin=0, classes=[f"chart-{key}"]):
        LiveFigure(figures.CHART_BUILDERS[key](runs))
        solara.Text(figures.CHARTS[key][1], style={"font-size": "0.85em"})


@solara.component
def Charts(room: Classroom):
    with solara.GridFixed(columns=2):
        for key in figures.CHARTS:
            Chart(room, key)


@solara.component
def Network(view: figures.NetworkView, label: str, colour_by: str, width: int, on_pick):
    update_counter.get()

    def clicked(data):
        points = data.get("points", {})
        for trace, index in zip(points.get("trace_indexes", []),
                                points.get("point_indexes", []), strict=False):
            employee = view.employee_at(trace, index)
            if employee is not None:
                on_pick(employee)
                return

    with solara.Card(margin=0, classes=["network"]):
        LiveFigure(view.figure(label, colour_by, width), on_click=clicked)


@solara.component
def Networks(room: Classroom, on_pick):
    colour_by = solara.use_reactive("coasting")
    views = solara.use_memo(lambda: [figures.NetworkView(r.model) for r in room.runs], [room])
    solara.ToggleButtonsSingle(value=colour_by, values=list(figures.COLOUR_MODES))
    solara.Text("Squares: managers or coordinators; diamonds: HEROes. Dark lines: formal "
                "ties; green lines: strong informal ties. Click an employee to inspect.",
                style={"font-size": "0.85em"})
    with solara.Columns([1] * len(views)):
        for side, (run, view) in enumerate(zip(room.runs, views, strict=True)):
            Network(view, run.label, colour_by.value, 1090 // len(views),
                    lambda employee, side=side: on_pick((side, employee)))


@solara.component
def Inspector(room: Classroom, picked: tuple[int, int] | None):
    update_counter.get()
    if picked is None or picked[0] >= len(room.runs):
        solara.Info("Click an employee in the network to see their traits, effort, "
                    "commitment, ideas and who can see their work.")
        return
    side, employee = picked
    run = room.runs[side]
    with solara.Card(f"Employee {employee} ({run.label})", classes=["inspector"]):
        with solara.Columns([1, 1, 1]):
            for title, lines in describe(run.model, employee).items():
                with solara.Column(gap="2px"):
                    solara.Text(title, style={"font-weight": "bold"})
                    for line in lines:
                        solara.Text(line, style={"font-size": "0.9em"})


# --- the page ------------------------------------------------------------------------
@solara.component
def Page():
    kwargs = solara.use_reactive(start_kwargs())
    first = solara.use_memo(lambda: Classroom(**start_kwargs()), [])
    model = solara.use_reactive(first)
    play_interval = solara.use_reactive(150)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)
    control_error = solara.use_reactive(None)
    picked = solara.use_reactive(None)
    room: Classroom = model.value

    def rebuild(changes: dict[str, Any]) -> None:
        """New organization(s) from the page's choices; invalid choices leave a message."""
        new = {**kwargs.value, **changes}
        room, problem = try_classroom(new)
        if room is None:
            control_error.value = problem
            return
        control_error.value = None
        kwargs.value = new
        picked.value = None
        model.value = room

    def change_parameter(name: str, value: Any) -> None:
        values = {**room.main.p.model_dump(), name: value}
        rebuild({"overrides": changed_overrides(kwargs.value["setting"],
                                                {**kwargs.value["overrides"],
                                                 name: values[name]})})

    solara.Title("orgself dashboard")
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    with solara.Sidebar():
        with solara.Card("Setting"):
            SettingPicker(kwargs, rebuild)
        with solara.Card("Run"):
            StepCounter(room)
            ModelController(model, model_parameters=kwargs, play_interval=play_interval,
                            render_interval=render_interval, use_threads=use_threads)
            solara.SliderInt("Speed: ms between steps", value=play_interval, min=1, max=1000,
                             step=10)
            solara.SliderInt("Steps per redraw", value=render_interval, min=1, max=20)
        with solara.Card("Parameters (hover for meaning)"):
            Changes(room)
            ParameterControls(room.main.p.model_dump(), change_parameter)
    Messages(room, control_error.value)
    Charts(room)
    Networks(room, picked.set)
    Inspector(room, picked.value)
