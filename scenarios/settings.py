"""Settings: a description plus parameter values, read from TOML (never executed).

A setting is named by a file in scenarios/ (``hierarchical``) or by a path to any
TOML file. Overrides (``--set name=value``) are parsed as TOML values.
"""

from __future__ import annotations

import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from model.chart import OrgChart
from model.parameters import ParameterError, Parameters, check_types, make_parameters
from model.roadmap import Roadmap

SCENARIO_DIR = Path(__file__).resolve().parent
SETTING_KEYS = {"description", "parameters", "organization", "intervention"}


@dataclass(frozen=True)
class Setting:
    """A named set of parameter values (nothing more)."""

    name: str
    description: str
    values: dict[str, Any] = field(default_factory=dict)
    source: str = "<defaults>"
    chart: OrgChart | None = None  # an imported organization ([organization])
    chart_summary: str = ""  # one line: what was read and what was inferred
    interventions: list[Any] = field(default_factory=list)  # [[intervention]] tables

    def roadmap(self, parameters: Parameters,
                parameters_class: type[Parameters] | None = None) -> Roadmap:
        """The checked roadmap for these (final) parameters (empty without one)."""
        if not self.interventions:
            return Roadmap(())
        from scenarios.roadmap import build_roadmap  # reads the engine's metric names

        return build_roadmap(self.interventions, self.source, parameters, self.chart,
                             parameters_class=parameters_class)

    def parameters(self, overrides: dict[str, Any] | None = None, strict: bool = True,
                   parameters_class: type[Parameters] | None = None) -> Parameters:
        """Validated parameters: defaults, then the setting's values, then overrides.

        The file's values always have strict types; overrides too unless ``strict`` is
        False (the dashboard's sliders give floats for whole numbers). An extension's
        ``parameters_class`` also accepts its own parameters."""
        check_types(self.values, self.source, parameters_class)
        source = self.source if not overrides else f"{self.source} with --set"
        if self.chart is not None and (overrides or {}).get("n_employees", self.chart.n
                                                            ) != self.chart.n:
            raise ParameterError(f"{source}: n_employees = {overrides['n_employees']!r}: the "
                                 f"imported chart fixes it at {self.chart.n}")
        if strict:
            check_types(overrides or {}, source, parameters_class)
        return make_parameters({**self.values, **(overrides or {})}, source=source,
                               parameters_class=parameters_class)


def available_settings() -> dict[str, Path]:
    """Built-in settings by name."""
    return {path.stem: path for path in sorted(SCENARIO_DIR.glob("*.toml"))}


def resolve(name_or_path: str) -> Path:
    """The TOML file of a setting name or path, or a ParameterError naming the choices."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        regular_file(path, "setting file")
        return path
    builtin = available_settings()
    if name_or_path not in builtin:
        raise ParameterError(f"unknown setting '{name_or_path}' (choose from "
                             f"{', '.join(builtin)}, or give a path to a .toml file)")
    return builtin[name_or_path]


def regular_file(path: Path, what: str) -> None:
    """Refuse a missing path, a directory, a FIFO or a device (reading those may block)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ParameterError(f"{path}: no such {what}") from None
    except OSError as err:
        raise ParameterError(f"{path}: cannot read {what} ({err.strerror})") from None
    if not stat.S_ISREG(mode):
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "a device")
        raise ParameterError(f"{path}: is {kind}, not a regular file ({what})")


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file (never executed); a ParameterError names the file on failure."""
    regular_file(path, "TOML file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ParameterError(f"{path}: malformed TOML: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ParameterError(f"{path}: cannot read: {err}") from None


def load_setting(name_or_path: str, parameters_class: type[Parameters] | None = None) -> Setting:
    """Read and check a setting file (structure, keys and values; an extension's
    ``parameters_class`` also accepts its own parameters)."""
    path = resolve(name_or_path)
    source = str(path)
    data = read_toml(path)
    if not data:
        raise ParameterError(f"{source}: empty setting file (give a description and "
                             "[parameters])")
    unknown = sorted(set(data) - SETTING_KEYS)
    if unknown:
        raise ParameterError(f"{source}: unknown key '{unknown[0]}' (a setting holds only "
                             "'description', [parameters], [organization] and "
                             "[[intervention]])")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ParameterError(f"{source}: description = {description!r}: must be a string")
    values = data.get("parameters", {})
    if not isinstance(values, dict):
        raise ParameterError(f"{source}: parameters = {values!r}: must be a table")
    chart, summary = _organization(data.get("organization"), path, values)
    if chart is not None:
        values = {**values, "n_employees": chart.n}
    setting = Setting(path.stem, description, values, source, chart, summary,
                      data.get("intervention", []))
    params = setting.parameters(parameters_class=parameters_class)  # validate now
    setting.roadmap(params, parameters_class)
    return setting


def _organization(table: Any, path: Path, values: dict[str, Any]
                  ) -> tuple[OrgChart | None, str]:
    """The chart an ``[organization]`` table names (paths relative to the setting file)."""
    if table is None:
        return None, ""
    from scenarios.organization import ORGANIZATION_KEYS, read_chart

    if not isinstance(table, dict) or not isinstance(table.get("chart"), str):
        raise ParameterError(f"{path}: [organization] needs chart = \"<file>.csv\"")
    unknown = sorted(set(table) - ORGANIZATION_KEYS)
    if unknown:
        raise ParameterError(f"{path}: [organization]: unknown key '{unknown[0]}' (keys: "
                             "chart, network, salt)")
    for key in ("network", "salt"):
        if key in table and not isinstance(table[key], str):
            raise ParameterError(f"{path}: [organization] {key} = {table[key]!r}: must be a "
                                 "string")
    chart, summary = read_chart(path.parent / table["chart"],
                                path.parent / table["network"] if "network" in table
                                else None, table.get("salt"))
    if "n_employees" in values and values["n_employees"] != chart.n:
        raise ParameterError(f"{path}: n_employees = {values['n_employees']!r}: the chart has "
                             f"{chart.n} employees (leave n_employees out)")
    if "network" in table and values.get("informal_network") == "fully_mixed":
        raise ParameterError(f"{path}: informal_network = 'fully_mixed' contradicts the "
                             "imported network (leave informal_network out)")
    return chart, summary


def parse_override(text: str, parameters_class: type[Parameters] | None = None
                   ) -> tuple[str, Any]:
    """Parse ``name=value`` with a TOML value (bare words are taken as strings)."""
    name, sep, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not name or not raw:
        raise ParameterError(f"--set {text!r}: expected name=value")
    if name not in (parameters_class or Parameters).model_fields:
        raise ParameterError(f"--set {text!r}: unknown parameter '{name}'")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return name, value


def parse_overrides(items: list[str] | None,
                    parameters_class: type[Parameters] | None = None) -> dict[str, Any]:
    return dict(parse_override(item, parameters_class) for item in items or [])


def parse_scoped_overrides(items: list[str] | None, settings: list[str],
                           parameters_class: type[Parameters] | None = None
                           ) -> dict[str, dict[str, Any]]:
    """Overrides per setting: ``name=value`` applies to all, ``SETTING:name=value`` to one."""
    scoped: dict[str, dict[str, Any]] = {name: {} for name in settings}
    for item in items or []:
        target, colon, rest = item.partition("=")[0].partition(":")
        if colon:
            if target not in scoped:
                raise ParameterError(f"--set {item!r}: '{target}' is not one of the compared "
                                     f"settings ({', '.join(settings)})")
            name, value = parse_override(item.split(":", 1)[1], parameters_class)
            scoped[target][name] = value
        else:
            name, value = parse_override(item, parameters_class)
            for values in scoped.values():
                values.setdefault(name, value)
    return scoped


def parameters_toml(parameters: Parameters, description: str = "") -> str:
    """The exact resolved parameters as a setting file that reproduces the run."""
    return tomli_w.dumps({"description": description, "parameters": parameters.model_dump()})


def stored_setting(parameters: Parameters, description: str = "",
                   setting: Setting | None = None, stem: str = "parameters",
                   prefix: str = "") -> dict[str, str]:
    """A self-contained copy of a run's setting, file name -> text: ``<stem>.toml`` (the
    exact parameters, and the setting's ``[organization]`` and ``[[intervention]]``
    tables) and, on an imported chart, ``<prefix>chart.csv`` and ``<prefix>ties.csv``
    beside it, by pseudonym (never an original id; read back, they give the same
    positions and ties, so the copy reruns the run identically)."""
    data: dict[str, Any] = {"description": description, "parameters": parameters.model_dump()}
    files = {}
    if setting is not None and setting.chart is not None:
        from scenarios.organization import chart_csv, ties_csv

        files[f"{prefix}chart.csv"] = chart_csv(setting.chart)
        data["organization"] = {"chart": f"{prefix}chart.csv"}
        ties = ties_csv(setting.chart)
        if ties is not None:
            files[f"{prefix}ties.csv"] = ties
            data["organization"]["network"] = f"{prefix}ties.csv"
    if setting is not None and setting.interventions:
        data["intervention"] = setting.interventions
    return {f"{stem}.toml": tomli_w.dumps(data), **files}


def resolve_settings(names: list[str], sets: list[str] | None, common: dict[str, Any],
                     parameters_class: type[Parameters] | None = None
                     ) -> tuple[dict[str, Parameters], dict[str, str]]:
    """Validated parameters and descriptions of each named setting, with its overrides
    (an extension's ``parameters_class`` also accepts its own parameters)."""
    loaded = [load_setting(name, parameters_class) for name in names]
    seen = [s.name for s in loaded]
    duplicate = next((n for n in seen if seen.count(n) > 1), None)
    if duplicate:
        raise ParameterError(f"setting '{duplicate}' is given twice (compare distinct settings)")
    scoped = parse_scoped_overrides(sets, seen, parameters_class)
    params = {s.name: s.parameters({**common, **scoped[s.name]},
                                   parameters_class=parameters_class) for s in loaded}
    return params, {s.name: s.description for s in loaded}


def setting_inputs(names: list[str], params: dict[str, Parameters],
                   parameters_class: type[Parameters] | None = None
                   ) -> dict[str, tuple[OrgChart | None, Roadmap]]:
    """Each setting's imported chart and checked roadmap (for its final parameters)."""
    inputs = {}
    for name in names:
        setting = load_setting(name, parameters_class)
        inputs[setting.name] = (setting.chart,
                                setting.roadmap(params[setting.name], parameters_class))
    return inputs


def files_beyond_parameters(names: list[str],
                            parameters_class: type[Parameters] | None = None) -> dict[str, str]:
    """The setting files of settings that hold more than parameter values (a chart or a
    roadmap), by setting name: a stored parameters copy alone would not rerun them."""
    found = {}
    for name in names:
        setting = load_setting(name, parameters_class)
        if setting.chart is not None or setting.interventions:
            found[setting.name] = str(Path(setting.source).resolve())
    return found
