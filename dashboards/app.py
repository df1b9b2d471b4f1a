"""The students' dashboard page: ``solara run dashboards/app.py`` or ``run.py serve``.

A :class:`~dashboards.player.PlayLoop` plays the model in a background thread and asks
for one redraw at a time (``FRAME``); Reset, Step and Play/Pause sit beside it. Around
them: a setting picker, controls generated from the parameter declarations (grouped,
meanings as tooltips), a comparison of two settings with the same seed, live numbers,
live plotly charts (redrawn in place, keyed by the frame, never compared as figures),
the network and an inspector. One step is one week. A setting with an imported chart
(``run.py serve --setting FILE``) adds its units and levels, by unit, and its roadmap; a
change made mid-run may apply to the whole organization, one unit or one level, and each
one is logged and marked on the time charts.
"""

from __future__ import annotations

import logging
import time
from html import escape
from typing import Any

import solara

from dashboards import figures
from dashboards.inspector import describe
from dashboards.lessons import Lesson, lessons
from dashboards.player import CONDUCTOR, PlayLoop, busy_message
from dashboards.scopes import (
    WHOLE,
    WHOLE_LABEL,
    Scope,
    parameters_with_own_values,
    scope_from_label,
    scoped_parameters,
    scopes,
    unit_breakdown,
    value_in,
)
from dashboards.session import (
    DEFAULT_SEED,
    KEY_GROUP,
    MAIN_GROUPS,
    WITHOUT_CHANGES,
    Classroom,
    Control,
    changed_overrides,
    controls_by_group,
    page_setting,
    setting_names,
    start_setting,
    try_classroom,
)
from dashboards.widgets import PLOTLY_BUNDLE_DIR, DrawGate, PlotlyView
from model.parameters import FIXED_DURING_RUN, ParameterError

NOTHING = "nothing"

try:  # no telemetry calls to outside hosts; plotly's widget code served as a cached asset
    from solara.server import settings as _server_settings

    _server_settings.telemetry.mixpanel_enable = False
    if str(PLOTLY_BUNDLE_DIR) not in _server_settings.assets.extra_locations:
        _server_settings.assets.extra_locations.append(str(PLOTLY_BUNDLE_DIR))
except ImportError:  # rendered without a server (tests)
    pass

TITLE = "How constraints and power shape what emerges"
# Bumped once per drawn frame; the live parts of the page read it (kernel-scoped: one
# value per browser page).
FRAME = solara.reactive(0)
# The page's DrawGate: live views report what they sent and what the browser has drawn.
DRAW_GATE = solara.create_context(None)


def redraw() -> None:
    FRAME.value += 1


class PlayState:
    """Whether a page plays, and why Play was refused ("" if it was not). The page holds
    it but never reads it: only the play button and a guided experiment's run button do,
    so a Pause re-renders those, not the whole page."""

    def __init__(self):
        self.playing = solara.reactive(False)
        self.refused = solara.reactive("")

    def start(self, loop: PlayLoop) -> None:
        """Play, unless the server already plays as many pages as it may (then say so)."""
        self.playing.value = True  # before the loop starts: its end has the last word
        if loop.play():
            self.refused.value = ""
        else:
            self.playing.value = False
            self.refused.value = busy_message(CONDUCTOR.limit)


logger = logging.getLogger(__name__)
RECONNECT_GRACE = 10.0  # seconds a disconnected page may take to come back while playing


def page_alive():
    """A check that turns False once this browser page is closed or disconnected (always
    True where no server holds the page, as in virtual renders)."""
    try:
        from solara.server import kernel_context

        context = kernel_context.get_current_context()
    except Exception:  # noqa: BLE001 - rendered without a server
        return lambda: True
    status = kernel_context.PageStatus
    last_connected = [time.monotonic()]

    def alive() -> bool:
        """Closed: stop now. Disconnected (a network blip, a busy server): stop only if no
        page has come back within ``RECONNECT_GRACE`` seconds."""
        statuses = list(context.page_status.values())
        if context.closed_event.is_set() or (statuses and all(
                s == status.CLOSED for s in statuses)):
            return False
        if not statuses or any(s == status.CONNECTED for s in statuses):
            last_connected[0] = time.monotonic()
        return time.monotonic() - last_connected[0] < RECONNECT_GRACE

    return alive


def start_kwargs() -> dict[str, Any]:
    """The Classroom arguments the page starts with."""
    return {"setting": start_setting(), "overrides": {}, "compare_with": None,
            "seed": DEFAULT_SEED}


# --- controls ------------------------------------------------------------------------
@solara.component
def ControlInput(control: Control, value: Any, on_value, disabled: bool = False):
    """One generated input with the parameter's meaning as its tooltip (``disabled``: it
    cannot change where the mid-run change would apply)."""
    tip = f"{control.meaning}" + (f" [{control.unit}]" if control.unit else "")
    if disabled:
        tip += " (the same across the organization: cannot change in one unit or level)"
    label = f"{control.label}: {value:g}" if control.kind != "choice" else control.label
    classes = [f"control-{control.name}"] + (["control-disabled"] if disabled else [])
    with solara.Tooltip(tip):
        with solara.Column(gap="0px", classes=classes):
            if control.kind == "choice":
                solara.Select(label, values=list(control.choices), value=value,
                              on_value=on_value, disabled=disabled)
            elif control.kind == "int":
                solara.SliderInt(label, value=int(value), min=int(control.minimum),
                                 max=int(control.maximum), step=1, on_value=on_value,
                                 thumb_label=True, disabled=disabled)
            else:
                solara.SliderFloat(label, value=float(value), min=control.minimum,
                                   max=control.maximum, step=control.step, on_value=on_value,
                                   thumb_label=True, disabled=disabled)


@solara.component
def ParameterControls(values: dict[str, Any], on_change,
                      only: frozenset[str] | None = None):
    """The key levers in plain words; behind a switch, every other parameter, one group
    at a time (structure, constraints, power relations, ...). ``only``: the parameters
    that may change (the others are shown disabled); None = all."""
    grouped = controls_by_group()
    levers = grouped.pop(KEY_GROUP)
    advanced = solara.use_reactive(False)
    group = solara.use_reactive(MAIN_GROUPS[0])

    def show(control: Control) -> None:
        def change(value, name=control.name, control=control):
            on_change(name, control.clip(value))

        ControlInput(control, control.clip(values[control.name]), change,
                     disabled=only is not None and control.name not in only)

    for control in levers:
        show(control)
    solara.Switch(label="Every parameter (advanced)", value=advanced,
                  classes=["advanced-switch"])
    if not advanced.value:
        return
    solara.ToggleButtonsSingle(value=group, values=list(grouped), dense=True,
                               style={"flex-wrap": "wrap", "height": "auto"},
                               classes=["group-picker"])
    for control in grouped[group.value]:
        show(control)


@solara.component
def SettingPicker(kwargs: solara.Reactive[dict], on_choose):
    """Setting, comparison and seed."""
    current = kwargs.value
    solara.Select("Setting", values=setting_names(), value=current["setting"],
                  on_value=lambda name: on_choose({"setting": name, "overrides": {}}))
    solara.Text(page_setting(current["setting"]).description, style={"font-style": "italic"})
    compare = current["compare_with"] or NOTHING
    solara.Select("Compare side by side with", values=[NOTHING, WITHOUT_CHANGES,
                                                       *setting_names()],
                  value=compare, on_value=lambda name: on_choose(
                      {"compare_with": None if name == NOTHING else name}))
    solara.InputInt("Seed (the same for both sides)", value=current["seed"],
                    on_value=lambda seed: on_choose({"seed": int(seed or 0)}))


@solara.component
def StepCounter(room: Classroom, frame: int = 0):
    solara.Text(f"Week {room.step_count}", classes=["step-counter"],
                style={"font-size": "1.3em", "font-weight": "bold"})
    if not room.running and room.message is None:
        solara.Text(f"Reached the last week ({room.main.p.steps}); raise 'steps' to go on.",
                    classes=["run-ended"], style={"font-size": "0.85em"})


@solara.component
def RunControls(model: solara.Reactive[Classroom], kwargs: solara.Reactive[dict],
                loop: PlayLoop, state: PlayState):
    """Reset, Step and Play/Pause; Step waits while playing."""
    gate = solara.use_context(DRAW_GATE) or DrawGate()
    playing = state.playing

    def toggle() -> None:
        if loop.playing:
            loop.stop()
            playing.value = False
        else:
            state.start(loop)

    def step() -> None:
        model.value.step()
        redraw()

    def reset() -> None:
        loop.stop()
        gate.forget()
        playing.value = False
        room, problem = try_classroom(kwargs.value)
        if room is not None:
            model.value = room
        redraw()

    with solara.Row(gap="6px"):
        solara.Button("Reset", on_click=reset, outlined=True)
        solara.Button("Step", on_click=step, outlined=True,
                      disabled=playing.value or not model.value.running)
        solara.Button("❚❚" if playing.value else "▶", on_click=toggle, color="primary",
                      disabled=not playing.value and not model.value.running)
    if state.refused.value and not playing.value:
        solara.Warning(state.refused.value, classes=["server-busy"], dense=True)


@solara.component
def Changes(room: Classroom, applied: int = 0):
    """The student's changes to the setting, read back from the running model, and those
    applied mid-run (with their week and where; ``applied`` counts them, so the page
    re-renders this part after each)."""
    mid_run = [r for r in room.main.roadmap_log if r["intervention"] == 0]
    if mid_run:
        solara.Text("Changed mid-run: " + "; ".join(
            f"week {r['week']}: {r['parameter']} {_shown(r['old'])} -> {_shown(r['new'])}"
            + ("" if r["where"] == "all" else f" in {r['where']}") for r in mid_run),
            classes=["mid-run-changes"])
    if not room.overrides:
        solara.Text(f"Running {room.setting} as defined.", classes=["changes"])
        return
    shown = ", ".join(f"{k} = {getattr(room.main.p, k)}" for k in sorted(room.overrides))
    solara.Text(f"Running {room.setting} with {shown}.", classes=["changes"])


def _shown(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


@solara.component
def MidRunScope(room: Classroom, where: solara.Reactive[str]):
    """Where a mid-run change applies: the whole organization, a unit or a level; says
    which parameters can change in one unit or level (read from the declarations)."""
    labels = [s.label for s in scopes(room.main)]
    if where.value not in labels:
        where.value = WHOLE_LABEL
    solara.Select("Where mid-run changes apply", values=labels, value=where,
                  classes=["mid-run-where"])
    if where.value != WHOLE_LABEL:
        allowed = ", ".join(sorted(scoped_parameters(room.main)))
        solara.Text(f"In one unit or level only these can change: {allowed}; the other "
                    "controls are disabled.", classes=["mid-run-scope-note"],
                    style={"font-size": "0.8em", "font-style": "italic"})
    own = parameters_with_own_values(room.main)
    if where.value == WHOLE_LABEL and own:
        solara.Text(f"Where a unit or level was given its own {', '.join(own)}, it keeps "
                    "it: a change to the whole organization applies everywhere else.",
                    classes=["mid-run-local-note"],
                    style={"font-size": "0.8em", "font-style": "italic"})


@solara.component
def LiveFigure(build, version: tuple, on_click=None):
    """A plotly widget redrawn in place from ``build()`` whenever ``version`` changes.

    The version (organization, frame, view options) is compared, never the figures: a
    figure comparison costs as much as drawing it."""
    def clicked(data):
        if data and on_click:
            on_click(data)

    element = PlotlyView.element(on_click=clicked)
    gate = solara.use_context(DRAW_GATE)

    def update():
        view = solara.get_widget(element)
        if gate is not None:
            view.attach(gate)
        view.show(build())

    solara.use_effect(update, [version])
    return element


# --- main area -----------------------------------------------------------------------
@solara.component
def Messages(room: Classroom, control_error: str | None, frame: int = 0):
    if control_error:
        solara.Error(control_error, classes=["control-error"])
    if room.message:
        solara.Error(room.message, classes=["model-error"])


@solara.component
def Chart(room: Classroom, key: str, frame: int = 0):
    """One live chart and the sentence saying what it shows."""
    runs = [(r.label, r.model) for r in room.runs]
    with solara.Card(margin=0, classes=[f"chart-{key}"], style={"min-width": "0"}):
        LiveFigure(lambda: figures.CHART_BUILDERS[key](runs), (id(room), frame))
        solara.Text(figures.CHARTS[key][1], style={"font-size": "0.85em"})


@solara.component
def Charts(room: Classroom, frame: int = 0):
    with solara.ColumnsResponsive(12, large=6):
        for key in figures.CHARTS:
            Chart(room, key, frame)


@solara.component
def Monitors(room: Classroom, frame: int = 0):
    """The numbers to read, now, for each organization on the page."""
    with solara.Row(gap="12px", classes=["monitors"], style={"flex-wrap": "wrap"}):
        for run in room.runs:
            with solara.Card(margin=0, style={"min-width": "220px", "flex": "1"}):
                solara.Text(run.label, style={"font-weight": "bold"})
                solara.Text(f"this one run (n = 1, same seed on both sides), week "
                            f"{room.step_count}; shares of all {run.model.people.n:,} "
                            "employees", classes=["monitor-basis"],
                            style={"font-size": "0.75em", "font-style": "italic"})
                for name, value in figures.monitor_values(run.model):
                    with solara.Row(justify="space-between"):
                        solara.Text(name, style={"font-size": "0.9em"})
                        solara.Text(value, style={"font-size": "0.9em",
                                                  "font-weight": "bold"})


@solara.component
def Network(view: figures.NetworkView, label: str, colour_by: str, on_pick, frame: int = 0):

    def clicked(data):
        employee = view.employee_at(int(data.get("trace", -1)), int(data.get("point", -1)))
        if employee is not None:
            on_pick(employee)

    with solara.Card(margin=0, classes=["network"], style={"min-width": "0"}):
        LiveFigure(lambda: view.figure(label, colour_by), (id(view), frame, colour_by, label),
                   on_click=clicked)


@solara.component
def Networks(room: Classroom, on_pick, frame: int = 0):
    colour_by = solara.use_reactive("coasting")
    views = solara.use_memo(lambda: [figures.NetworkView(r.model) for r in room.runs], [room])
    solara.ToggleButtonsSingle(value=colour_by, values=list(figures.COLOUR_MODES))
    solara.Text("Squares: managers or coordinators; diamonds: HEROes. Dark lines: formal "
                "ties; green lines: strong informal ties. Click an employee to inspect.",
                style={"font-size": "0.85em"})
    with solara.ColumnsResponsive(12, large=12 // len(views)):
        for side, (run, view) in enumerate(zip(room.runs, views, strict=True)):
            Network(view, run.label, colour_by.value,
                    lambda employee, side=side: on_pick((side, employee)), frame)


@solara.component
def OrganizationPanel(room: Classroom, frame: int = 0):
    """An imported chart's summary and its units now (people, levels, hidden coasting, own
    parameter values where a change applied to one unit or level); the roadmap planned."""
    model = room.main
    setting = page_setting(room.setting)
    if model.chart is None and not model.roadmap:
        return
    with solara.Card("The organization's chart and roadmap", margin=0,
                     classes=["organization-panel"]):
        if setting.chart_summary:
            solara.Text(setting.chart_summary, classes=["chart-summary"],
                        style={"font-size": "0.8em"})
        rows = scopes_table(model)
        if rows:
            solara.HTML(tag="table", unsafe_innerHTML=rows, classes=["unit-table"],
                        style="font-size: 0.85em; text-align: left; border-spacing: 8px 0")
        for item in model.roadmap.interventions:
            when = f"week {item.at}" if item.when is None else f"when {item.when.describe()}"
            where = "" if not item.where else f" in {item.scope}"
            values = ", ".join(f"{k} = {v}" for k, v in item.values.items())
            solara.Text(f"Roadmap #{item.index}: {when}{where}: {values}"
                        + (f" (over {item.ramp} weeks)" if item.ramp > 1 else ""),
                        classes=["roadmap-item"], style={"font-size": "0.85em"})


def scopes_table(model) -> str:
    """The chart's units now as the rows of an HTML table (names escaped: they come from
    the client's file); empty without a chart."""
    rows = unit_breakdown(model)
    if not rows:
        return ""
    own = [name for name, _ in rows[0].own_values]
    head = ["unit", "employees", "levels", "hidden coasting (share, this run, n = 1)",
            *[f"{name} here" for name in own]]
    lines = ["<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead>",
             "<tbody>"]
    for row in rows:
        cells = [row.unit, f"{row.employees:,}", str(row.levels),
                 f"{row.hidden_coasting_share:.1%}", *[f"{v:.3g}" for _, v in row.own_values]]
        lines.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    return "".join([*lines, "</tbody>"])


@solara.component
def InterventionsLog(room: Classroom, frame: int = 0):
    """Every change of the running organization's parameters so far, one line each: the
    roadmap's (#1, #2, ...) and the student's mid-run changes (#0), with week and where."""
    log = room.main.roadmap_log
    if not log:
        return
    with solara.Card("Interventions so far (each marked on the time charts)", margin=0,
                     classes=["interventions-log"]):
        for r in log:
            where = "whole organization" if r["where"] == "all" else r["where"]
            solara.Text(f"week {r['week']} · #{r['intervention']} · {r['parameter']} "
                        f"{_shown(r['old'])} -> {_shown(r['new'])} · {where} · {r['why']}",
                        classes=["intervention-row"], style={"font-size": "0.85em"})


@solara.component
def Inspector(room: Classroom, picked: tuple[int, int] | None, frame: int = 0):
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


# --- teaching ------------------------------------------------------------------------
ABOUT = (
    ("What it is", "Employees of one organization talk with a few colleagues every week. "
     "Management does not decide what comes of those conversations: it sets constraints "
     "(who may talk to whom, what needs approval, how much autonomy people have, how "
     "visible work is) and power relations (whose word counts, who may sanction, how "
     "leaders are chosen). Watch which patterns emerge: ideas spreading or being squashed, "
     "and coasting that nobody who could act notices."),
    ("How it works", "Each week (one step): customer needs drift; customer-facing staff "
     "meet customer problems and some create an idea, the resourceful few (HEROes) most "
     "often; everyone talks with a few colleagues along their ties, passing on ideas, "
     "seeing each other's work and picking up norms of effort; where approval is required, "
     "managers approve or squash ideas; the playbook records what is sanctioned; each "
     "person chooses effort from commitment, what peers do, its cost and the sanction they "
     "expect; managers and peers notice coasting when they see it, and act if they may."),
    ("Things to notice", "Red is coasting nobody able to act has noticed, orange coasting "
     "that was noticed. The dotted green line is one good idea born in week 20. In the "
     "network, squares are managers or coordinators, diamonds HEROes, green lines the "
     "informal ties that conversations made strong."),
    ("Things to try", "Start with a guided experiment. Then change one key lever at a time "
     "and compare side by side with the same setting without your changes (same seed, so "
     "only your change differs). Try a larger organization, or another seed: does what you "
     "saw still hold?"),
    ("How to extend", "Every parameter is declared once (model/parameters.py); each "
     "mechanism is a small unit in model/processes/; settings are TOML files in scenarios/ "
     "and lessons in dashboards/lessons.toml. docs/ODD.md describes the whole model."),
)


@solara.component
def About():
    """What the model is, how it works, what to notice and try, how to extend it."""
    shown = solara.use_reactive(False)
    solara.Button("About this model" if not shown.value else "Hide", text=True,
                  on_click=lambda: shown.set(not shown.value), classes=["about-button"])
    if shown.value:
        with solara.Card(margin=0, classes=["about"]):
            for title, text in ABOUT:
                solara.Text(title, style={"font-weight": "bold"})
                solara.Text(text, style={"font-size": "0.9em"})


@solara.component
def LessonPicker(on_load):
    """One button per guided experiment."""
    for index, lesson in enumerate(lessons()):
        solara.Button(lesson.title, on_click=lambda index=index: on_load(index), text=True,
                      classes=["lesson-button"],
                      style={"text-transform": "none", "justify-content": "flex-start"})


@solara.component
def LessonPanel(lesson: Lesson, room: Classroom, prediction: solara.Reactive,
                on_run, playing: solara.Reactive[bool], frame: int = 0):
    """The question, a prediction before the run, then the numbers to read and why."""
    with solara.Card(lesson.title, margin=0, classes=["lesson"]):
        solara.Text(lesson.question)
        solara.ToggleButtonsSingle(value=prediction, values=list(lesson.predictions),
                                   dense=True, classes=["prediction"], mandatory=False,
                                   style={"flex-wrap": "wrap", "height": "auto"})
        if room.step_count < lesson.weeks:
            solara.Button(f"Run {lesson.weeks} weeks", on_click=on_run, color="primary",
                          disabled=prediction.value is None or playing.value,
                          classes=["lesson-run"])
            if prediction.value is None:
                solara.Text("Make a prediction first.", style={"font-style": "italic"})
            return
        solara.Text(f"You predicted: {prediction.value}. Read the numbers:",
                    classes=["lesson-done"], style={"font-weight": "bold"})
        for run in room.runs:
            shown = dict(figures.monitor_values(run.model))
            read = "; ".join(f"{label} {shown[label]}" for label in lesson.read)
            solara.Text(f"{run.label}: {read}", style={"font-size": "0.9em"})
        solara.Text(f"Why: {lesson.why}", style={"font-size": "0.9em"})
        solara.Text("One run of each side with the same seed: change the seed and run again "
                    "to see whether it holds.", style={"font-size": "0.8em",
                                                       "font-style": "italic"})


@solara.component
def LiveArea(room: Classroom, control_error: str | None, picked: solara.Reactive,
             lesson: Lesson | None = None, prediction: solara.Reactive | None = None,
             on_run=None, playing: solara.Reactive[bool] | None = None):
    """Everything that changes as the organization runs: the only reader of ``FRAME``,
    so a frame is one render of this part of the page, not of the controls."""
    frame = FRAME.get()
    StepCounter(room, frame)
    if lesson is not None:
        LessonPanel(lesson, room, prediction, on_run,
                    solara.reactive(False) if playing is None else playing, frame)
    Messages(room, control_error, frame)
    Monitors(room, frame)
    OrganizationPanel(room, frame)
    InterventionsLog(room, frame)
    Charts(room, frame)
    Networks(room, picked.set, frame)
    Inspector(room, picked.value, frame)


# --- the page ------------------------------------------------------------------------
def chosen_scope(room: Classroom, label: str) -> Scope:
    """The scope the chooser names, or the whole organization if this organization has no
    such unit or level (another setting was chosen since)."""
    try:
        return scope_from_label(room.main, label)
    except ParameterError:
        return WHOLE


def shown_values(room: Classroom, scope: Scope) -> dict[str, Any]:
    """The controls' values: the organization's or, for a unit or level, the values its
    per-unit parameters have there (the organization's where they differ within it)."""
    values = room.main.p.model_dump()
    if scope == WHOLE:
        return values
    for name in scoped_parameters(room.main):
        here = value_in(room.main, name, scope)
        if not isinstance(here, str):
            values[name] = here
    return values


@solara.component
def Page():
    kwargs = solara.use_reactive(start_kwargs())
    first = solara.use_memo(lambda: Classroom(**start_kwargs()), [])
    model = solara.use_reactive(first)
    state = solara.use_memo(PlayState, [])
    playing = state.playing  # never read here: a Pause must not re-render the whole page
    control_error = solara.use_reactive(None)
    picked = solara.use_reactive(None)
    lesson_index = solara.use_reactive(None)
    prediction = solara.use_reactive(None)
    room: Classroom = model.value

    def make_loop() -> PlayLoop:
        def step() -> bool:
            current = model.value
            current.step()
            if not current.running:
                logger.warning("week %s of %s: %s", current.step_count, current.main.p.steps,
                               current.message or "last week reached")
            return current.running

        return PlayLoop(step, redraw, page_alive(), on_stop=lambda: playing.set(False),
                        ready=gate.idle, conductor=CONDUCTOR)

    gate = solara.use_memo(DrawGate, [])
    DRAW_GATE.provide(gate)
    loop = solara.use_memo(make_loop, [])
    solara.use_effect(lambda: loop.stop, [])  # the page is going away: stop playing
    speed = solara.use_reactive(150)
    per_frame = solara.use_reactive(1)
    loop.interval = speed.value / 1000
    loop.steps_per_frame = per_frame.value

    def rebuild(changes: dict[str, Any], lesson: int | None = None) -> None:
        """New organization(s) from the page's choices; invalid choices leave a message.
        A change of the student's own ends a guided experiment."""
        new = {**kwargs.value, **changes}
        room, problem = try_classroom(new)
        if room is None:
            control_error.value = problem
            return
        lesson_index.value = lesson
        prediction.value = None
        loop.stop()
        gate.forget()
        playing.value = False
        control_error.value = None
        kwargs.value = new
        picked.value = None
        model.value = room

    mid_run = solara.use_reactive(False)
    where = solara.use_reactive(WHOLE_LABEL)  # where a mid-run change applies
    applied = solara.use_reactive(0)  # mid-run changes made: the sidebar shows them
    scope = chosen_scope(room, where.value) if mid_run.value else WHOLE
    scoped = scope != WHOLE

    def change_parameter(name: str, value: Any) -> None:
        if mid_run.value and room.step_count > 0 and name not in FIXED_DURING_RUN:
            try:  # the running organization changes from next week on; nothing restarts
                loop.between_steps(lambda: room.apply_now(name, value, scope))
                control_error.value = None
                applied.value += 1
            except ParameterError as err:
                control_error.value = str(err)
            redraw()
            return
        values = {**room.main.p.model_dump(), name: value}
        rebuild({"overrides": changed_overrides(kwargs.value["setting"],
                                                {**kwargs.value["overrides"],
                                                 name: values[name]})})

    def load_lesson(index: int) -> None:
        rebuild(lessons()[index].page_choices(), lesson=index)

    def run_lesson() -> None:
        state.start(loop)

    solara.Title("orgself dashboard")
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    with solara.Sidebar():
        with solara.Card("Setting"):
            SettingPicker(kwargs, rebuild)
        with solara.Card("Run"):
            RunControls(model, kwargs, loop, state)
            solara.SliderInt("Speed: ms between frames", value=speed, min=10, max=1000,
                             step=10)
            solara.SliderInt("Weeks per frame", value=per_frame, min=1, max=20)
        with solara.Card("Guided experiments"):
            LessonPicker(load_lesson)
        with solara.Card("Key levers (hover for meaning)"):
            Changes(room, applied.value)
            solara.Switch(label="Apply changes mid-run (from next week, no restart)",
                          value=mid_run, classes=["mid-run-switch"])
            if mid_run.value:
                MidRunScope(room, where)
            ParameterControls(shown_values(room, scope),
                              change_parameter,
                              only=scoped_parameters(room.main) if scoped else None)
    About()
    lesson = None if lesson_index.value is None else lessons()[lesson_index.value]
    LiveArea(room, control_error.value, picked, lesson, prediction, run_lesson, playing)
