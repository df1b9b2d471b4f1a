"""What the dashboard runs: one organization, or two stepped together, as one Mesa model.

:class:`Classroom` is the Mesa model the page plays, steps and resets: it
holds the organization built from the chosen setting and the student's changes and,
when comparing, a second organization under another setting with the same seed.
A step that fails is caught and reported, so the page stays usable.
Controls are read from :func:`model.parameters.parameter_specs`; nothing is declared here.
The page plays the built-in model, or the extension ``run.py serve --model module:Class``
names (passed to the server as the environment variable ORGSELF_MODEL), with a control
for each of its own parameters too. ``run.py serve --setting FILE`` adds a client's setting
files (an imported chart, a roadmap) to the built-in ones (ORGSELF_SETTINGS); the page
starts on the first of them.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import mesa

from dashboards.scopes import WHOLE, Scope, apply_change
from dashboards.server import SETTINGS_ENV
from experiments.outputs import SEED_MAX
from experiments.plugins import load_model_class
from model.organization import OrganizationModel
from model.parameters import ParameterError, Parameters, parameter_specs
from scenarios.settings import Setting, available_settings, load_setting

logger = logging.getLogger(__name__)
DEFAULT_SETTING = "hierarchical"
DEFAULT_SEED = 2026
# The levers a student meets first, in plain words; every other parameter is one switch
# away, by group. Each parameter still has exactly one control.
KEY_GROUP = "key levers"
KEY_LEVERS = {
    "span_of_control": "Direct reports per manager (team size)",
    "approval_levels": "Levels of approval an idea needs",
    "autonomy": "Freedom to act without asking",
    "work_visibility": "How often colleagues see each other's work",
    "lateral_openness": "Freedom to talk across units",
    "power_distance": "How much rank counts (power distance)",
    "peer_sanction_power": "Colleagues may hold a coaster to account",
    "idea_forum_reach": "Open idea forum: weekly chance to read it",
}
# Groups shown first, then the rest, in this order.
MAIN_GROUPS = ("structure", "constraints", "power relations", "environment")
MORE_GROUPS = ("population", "behaviour", "observation")
# Practical slider ceilings for a browser: the declared range still bounds every value.
SLIDER_CEILING = {"n_employees": 20_000, "steps": 2_000}
WITHOUT_CHANGES = "(the same setting without my changes)"
MODEL_ENV = "ORGSELF_MODEL"  # "module:Class" of an extension to play (empty: built-in)


def page_model() -> type[OrganizationModel]:
    """The model class the page plays (ORGSELF_MODEL, else OrganizationModel)."""
    return load_model_class(os.environ.get(MODEL_ENV, ""), MODEL_ENV)


@dataclass(frozen=True)
class Control:
    """One generated input: a slider (int or float) or a choice, with its meaning."""

    name: str
    group: str
    kind: str  # "int", "float" or "choice"
    meaning: str
    unit: str
    minimum: float = 0.0
    maximum: float = 1.0
    step: float = 1.0
    choices: tuple[str, ...] = ()
    plain: str = ""  # plain words for a key lever

    @property
    def label(self) -> str:
        return self.plain or self.name.replace("_", " ")

    def clip(self, value: Any) -> Any:
        """The value moved into the slider's range (choices pass through)."""
        if self.kind == "choice":
            return value
        value = min(max(value, self.minimum), self.maximum)
        return int(round(value)) if self.kind == "int" else float(value)


def _slider_range(default: float, lo: float | None, hi: float | None) -> tuple[float, float]:
    lo = 0.0 if lo is None else lo
    hi = max(10 * abs(default), 1.0) if hi is None else hi
    if hi - lo > 100 and default < hi / 10:  # a very wide range: ten times the default
        hi = max(10 * default, lo + 10)
    return lo, hi


@cache
def controls(parameters_class: type[Parameters] | None = None) -> tuple[Control, ...]:
    """One control per parameter, from the declaration (bounds, meaning, choices); an
    extension's ``parameters_class`` adds a control for each of its own parameters."""
    made = []
    for spec in parameter_specs(parameters_class):
        if spec.choices:
            made.append(Control(spec.name, spec.group, "choice", spec.meaning, spec.unit,
                                choices=spec.choices))
            continue
        lo, hi = _slider_range(spec.default, spec.minimum, spec.maximum)
        if spec.name in SLIDER_CEILING:
            hi = min(spec.maximum, SLIDER_CEILING[spec.name])
        if spec.kind is int:
            made.append(Control(spec.name, spec.group, "int", spec.meaning, spec.unit,
                                int(lo), int(hi), 1))
        else:
            step = 10 ** math.floor(math.log10((hi - lo) / 100)) if hi > lo else 0.01
            made.append(Control(spec.name, spec.group, "float", spec.meaning, spec.unit,
                                float(lo), float(hi), step))
    return tuple(Control(**{**c.__dict__, "group": KEY_GROUP, "plain": KEY_LEVERS[c.name]})
                 if c.name in KEY_LEVERS else c for c in made)


def controls_by_group() -> dict[str, list[Control]]:
    """Controls in display order: the key levers, the four main groups, then the others."""
    grouped: dict[str, list[Control]] = {g: [] for g in (KEY_GROUP, *MAIN_GROUPS,
                                                         *MORE_GROUPS)}
    for control in controls(page_model().parameters_class):
        grouped.setdefault(control.group, []).append(control)
    return grouped


def extra_settings() -> dict[str, str]:
    """Setting files added with ``run.py serve --setting``, by name (the file's stem)."""
    paths = [p for p in os.environ.get(SETTINGS_ENV, "").split(os.pathsep) if p]
    return {Path(p).stem: p for p in paths}


def setting_files(items: list[str], parameters_class: type[Parameters] | None = None
                  ) -> list[Path]:
    """The setting files ``--setting`` names (a directory: its .toml files), each read and
    checked now (chart, network, roadmap; an extension's ``parameters_class``), so bad data
    stops the server before it starts: a ParameterError names the file, line and value."""
    found: list[Path] = []
    for item in items:
        path = Path(item)
        found += sorted(path.glob("*.toml")) if path.is_dir() else [path]
    if items and not found:
        raise ParameterError(f"--setting {items[0]!r}: no .toml setting files there")
    seen: dict[str, Path] = {}
    for path in found:
        if path.stem in available_settings():
            raise ParameterError(f"--setting {str(path)!r}: the name '{path.stem}' is a "
                                 "built-in setting's (rename the file)")
        if path.stem in seen and seen[path.stem].resolve() != path.resolve():
            raise ParameterError(f"--setting {str(path)!r}: the name '{path.stem}' is also "
                                 f"{str(seen[path.stem])!r} (setting names must differ)")
        seen[path.stem] = path
        load_setting(str(path), parameters_class)
    return [path.resolve() for path in seen.values()]


def setting_names() -> list[str]:
    """The chooser's settings: the built-in ones, then those added with --setting."""
    return [*available_settings(), *extra_settings()]


def start_setting() -> str:
    """The setting the page opens on: the first one added with --setting, else the
    default built-in one."""
    return next(iter(extra_settings()), DEFAULT_SETTING)


@lru_cache(maxsize=32)
def _read_setting(source: str, stamp: tuple[int, int],
                  parameters_class: type[Parameters] | None) -> Setting:
    return load_setting(source, parameters_class)


def page_setting(setting: str) -> Setting:
    """The setting a name in the chooser (or a path) stands for, read once per version of
    its file (a 1,200-person chart is not parsed again on every click)."""
    source = extra_settings().get(setting, setting)
    path = Path(source) if source.endswith(".toml") else available_settings().get(source)
    try:
        info = path.stat() if path is not None else None
    except OSError:
        info = None
    stamp = (info.st_mtime_ns, info.st_size) if info is not None else (0, 0)
    return _read_setting(source, stamp, page_model().parameters_class)


def resolve_parameters(setting: str, overrides: dict[str, Any]) -> Parameters:
    """The setting's parameters with the student's changes (ParameterError if invalid)."""
    block = page_model().parameters_class
    return page_setting(setting).parameters(overrides, strict=False, parameters_class=block)


def build_model(setting: str, params: Parameters, seed: int) -> OrganizationModel:
    """The page's model of ``setting``: its imported chart and roadmap, if it has them."""
    chosen = page_setting(setting)
    model_class = page_model()
    return model_class(params, rng=seed, chart=chosen.chart,
                       roadmap=chosen.roadmap(params, model_class.parameters_class))


def comparison_parameters(setting: str, overrides: dict[str, Any],
                          compare_with: str) -> Parameters:
    """The other side of a comparison: another setting (or the same one without the
    student's changes), as large and as long as the main organization."""
    keep = {k: overrides[k] for k in ("n_employees", "steps") if k in overrides}
    other = setting if compare_with == WITHOUT_CHANGES else compare_with
    if page_setting(other).chart is not None:  # its chart fixes its size
        keep.pop("n_employees", None)
    elif page_setting(setting).chart is not None:  # a generated one as large as the chart
        keep["n_employees"] = page_setting(setting).chart.n
    return resolve_parameters(other, keep)


def changed_overrides(setting: str, values: dict[str, Any]) -> dict[str, Any]:
    """Only the values that differ from the setting's (so a loaded setting shows clean)."""
    base = resolve_parameters(setting, {}).model_dump()
    return {k: v for k, v in values.items() if base.get(k) != v}


@dataclass
class Run:
    """One organization on the page: its label and model."""

    label: str
    model: OrganizationModel


class Classroom(mesa.Model):
    """One organization, or two under different settings with the same seed, stepped together.

    Args:
        setting: name of the setting the controls start from.
        overrides: the student's changes to that setting.
        compare_with: another setting name, ``WITHOUT_CHANGES``, or None.
        seed: root seed shared by both organizations.
    """

    def __init__(self, setting: str = DEFAULT_SETTING, overrides: dict | None = None,
                 compare_with: str | None = None, seed: int = DEFAULT_SEED, rng=None):
        super().__init__(rng=seed)
        self.setting = setting
        self.overrides = dict(overrides or {})
        self.compare_with = compare_with
        self.seed = seed
        self.message: str | None = None
        try:
            params = resolve_parameters(setting, self.overrides)
        except ParameterError as err:  # keep the page alive: fall back to the setting
            self.message = f"{err} (kept the setting's own values)"
            self.overrides = {}
            params = resolve_parameters(setting, {})
        self.runs = [Run(self._label(setting, self.overrides),
                         build_model(setting, params, seed))]
        if compare_with:
            other = comparison_parameters(setting, self.overrides, compare_with)
            other_setting = setting if compare_with == WITHOUT_CHANGES else compare_with
            label = (f"{setting} (as defined)" if compare_with == WITHOUT_CHANGES
                     else compare_with)
            self.runs.append(Run(label, build_model(other_setting, other, seed)))

    def apply_now(self, name: str, value: Any, scope: Scope = WHOLE) -> None:
        """A student's change applied to the running organization from next week on, in
        ``scope`` (the whole organization, a unit or a level); the side-by-side one, if
        any, goes on without it: same seed, so the difference from that week is the
        change's. ParameterError if it cannot change mid-run (or there)."""
        apply_change(self.main, name, value, scope, why="applied by the student")
        self.runs[0].label = f"{self.runs[0].label.removesuffix(' + changes mid-run')}" \
            " + changes mid-run"

    @staticmethod
    def _label(setting: str, overrides: dict) -> str:
        return f"{setting} + my changes" if overrides else setting

    @property
    def main(self) -> OrganizationModel:
        return self.runs[0].model

    @property
    def step_count(self) -> int:
        return int(self.main.steps)

    def step(self) -> None:
        """Step every organization once; play ends after the setting's ``steps`` weeks,
        and a failure stops play and leaves a message."""
        if not self.running:
            return
        try:
            for run in self.runs:
                run.model.step()
        except Exception as err:  # noqa: BLE001 - shown on the page instead of crashing it
            logger.exception("step %s failed", self.step_count)
            self.message = (f"step {self.step_count} failed ({type(err).__name__}: {err}); "
                            "press Reset to start again")
            self.running = False
            return
        self.running = self.step_count < self.main.p.steps


def try_classroom(kwargs: dict[str, Any]) -> tuple[Classroom | None, str | None]:
    """A Classroom from the page's choices, or None and a one-line reason (never raises)."""
    seed = kwargs.get("seed", DEFAULT_SEED)
    if not 0 <= seed <= SEED_MAX:
        return None, f"seed {seed}: must be a whole number from 0 to {SEED_MAX}"
    try:
        resolve_parameters(kwargs["setting"], kwargs.get("overrides") or {})
        return Classroom(**kwargs), None
    except ParameterError as err:
        return None, str(err)
    except Exception as err:  # noqa: BLE001 - an engine failure must not take the page down
        return None, f"could not build the organization: {type(err).__name__}: {err}"
