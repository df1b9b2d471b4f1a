"""The open engine: an extension declares a process and its parameters once (docs/extending/);
they reach setting files, --set, sweeps, the dashboard's controls and the docs."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import tomli_w

import run
from experiments.plugins import load_metric, load_model_class
from experiments.sweep import run_sweep, summary_table, timeseries_table
from experiments.sweep_spec import load_sweep
from model.organization import OrganizationModel
from model.parameters import ParameterError, parameter_specs
from scenarios.settings import load_setting, parse_override

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "docs.extending.recognition:RecognitionModel"
METRIC = "docs.extending.recognition:recognized_commitment_gain"
SMALL = {"n_employees": 100, "steps": 30}


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # the example is imported as docs.extending.recognition


@pytest.fixture()
def model_class():
    return load_model_class(EXAMPLE)


def cli(args, capsys):
    code = run.main([str(a) for a in args])
    return code, capsys.readouterr().err


def test_the_extension_is_off_by_default_and_draws_nothing_from_the_others(model_class):
    base = OrganizationModel(rng=3, **SMALL).run()
    extended = model_class(rng=3, **SMALL).run()
    assert [p.name for p in extended.processes].index("recognition") == (
        [p.name for p in extended.processes].index("monitoring") + 1)
    shared = len(base.results.names)
    assert extended.results.names[:shared] == base.results.names
    assert (base.results.values == extended.results.values[:, :shared]).all()


def test_a_setting_file_sets_the_new_parameter_and_it_changes_the_outcome(model_class,
                                                                          tmp_path):
    path = tmp_path / "recognizing.toml"
    path.write_text(tomli_w.dumps({"description": "x", "parameters": {
        **SMALL, "recognition_rate": 0.5}}))
    with pytest.raises(ParameterError, match="unknown parameter 'recognition_rate'"):
        load_setting(str(path))  # the built-in model still refuses the name
    params = load_setting(str(path), model_class.parameters_class).parameters(
        parameters_class=model_class.parameters_class)
    assert params.recognition_rate == 0.5
    on = model_class(params, rng=3).run().summary()
    off = model_class(params.model_copy(update={"recognition_rate": 0.0}), rng=3).run().summary()
    assert on["mean_commitment"] > off["mean_commitment"] + 0.1
    assert on["coasting_share"] < off["coasting_share"]


def test_set_reaches_the_new_parameter_and_unknown_names_stay_refused(model_class, tmp_path,
                                                                      capsys):
    block = model_class.parameters_class
    assert parse_override("recognition_rate=0.3", block) == ("recognition_rate", 0.3)
    with pytest.raises(ParameterError, match="unknown parameter 'recognition_rat'"):
        parse_override("recognition_rat=0.3", block)
    with pytest.raises(ParameterError, match="unknown parameter 'bogus'"):
        model_class(rng=1, bogus=1)
    code, err = cli(["run", "hierarchical", "-n", 100, "-t", 30, "--model", EXAMPLE, "--set",
                     "recognition_rate=2", "--out", tmp_path / "r"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "recognition_rate = 2" in err and "less than or equal to 1" in err
    code, err = cli(["run", "hierarchical", "-n", 100, "-t", 30, "--model", EXAMPLE, "--set",
                     "recognition_rate=0.5", "--out", tmp_path / "r"], capsys)
    assert code == 0, err
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["model"] == EXAMPLE
    assert "recognition_rate = 0.5" in (tmp_path / "r" / "parameters.toml").read_text()


@pytest.mark.parametrize("spec, words", [
    ("docs.extending.recognition:Nope", "has no attribute 'Nope'"),
    ("no_such_module_xyz:Model", "no module named 'no_such_module_xyz'"),
    ("model.parameters:Parameters", "not a subclass of"),
    ("import os", "must be 'module:attribute'"),
])
def test_a_bad_model_name_is_one_line(spec, words, tmp_path, capsys):
    code, err = cli(["run", "hierarchical", "--model", spec, "--out", tmp_path / "r"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and words in err, err


def test_the_new_parameters_reach_specs_controls_and_docs(model_class):
    from dashboards.parameter_docs import extension_table
    from dashboards.session import controls

    names = [s.name for s in parameter_specs(model_class.parameters_class)]
    assert names[-2:] == ["recognition_rate", "recognition_boost"]
    assert "recognition_rate" not in [s.name for s in parameter_specs()]
    slider = next(c for c in controls(model_class.parameters_class)
                  if c.name == "recognition_rate")
    assert (slider.kind, slider.minimum, slider.maximum) == ("float", 0.0, 1.0)
    table = extension_table(model_class.parameters_class)
    assert "`recognition_boost`" in table and "`n_employees`" not in table
    text = (ROOT / "docs" / "extending" / "EXTENDING.md").read_text()
    assert table in text  # the example's table is generated, never edited by hand


def test_a_sweep_of_a_module_class_with_a_module_function_metric(tmp_path):
    sweep = load_sweep(ROOT / "docs" / "extending" / "recognition_sweep.toml")
    assert sweep.content["model"] == EXAMPLE and METRIC in sweep.metrics
    run_sweep(sweep, tmp_path / "out")
    table = summary_table(tmp_path / "out").groupby("recognition_rate").mean()
    assert table.loc[0.5, METRIC] > table.loc[0.0, METRIC] + 0.1
    assert table.loc[0.5, "coasting_share"] < table.loc[0.0, "coasting_share"]
    steps = timeseries_table(tmp_path / "out")  # the extension's own per-step metric
    late = steps[steps["step"] > 0].groupby("recognition_rate")["recognized_share"].mean()
    assert late.loc[0.0] == 0 and 0.2 < late.loc[0.5] < 0.5


def test_the_extensions_step_metric_reaches_the_datacollector(model_class):
    model = model_class(rng=2, recognition_rate=0.5, **SMALL).run()
    frame = model.datacollector.get_model_vars_dataframe()
    assert frame["recognized_share"].iloc[0] == 0 and frame["recognized_share"].iloc[1:].gt(
        0.2).all()


@pytest.mark.parametrize("changes, words", [
    ({"model": "docs.extending.recognition:Missing"}, "field 'model'"),
    ({"model": 3}, "field 'model'"),
    ({"metrics": ["docs.extending.recognition:missing"]}, "field 'metrics'"),
    ({"metrics": ["docs.extending.recognition:RecognitionModel"]}, "not a function"),
    ({"model": None, "vary": {"recognition_rate": [0.0, 0.5]}}, "unknown parameter"),
])
def test_bad_models_and_metrics_in_a_sweep_file_are_named(changes, words, tmp_path):
    source = (ROOT / "docs" / "extending" / "recognition_sweep.toml").read_text()
    content = {**tomllib.loads(source), **changes}
    content = {k: v for k, v in content.items() if v is not None}
    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(content))
    with pytest.raises(ParameterError, match=words):
        load_sweep(path)


def test_a_metric_function_must_return_a_number(model_class):
    from experiments.plugins import metric_values

    model = model_class(rng=1, n_employees=40, steps=3, informal_degree=4).run()
    assert metric_values(model, (METRIC,))[0] == load_metric(METRIC)(model)
    with pytest.raises(ParameterError, match="not a number"):
        metric_values(model, ("builtins:repr",))


def test_the_dashboard_plays_an_extension_with_a_control_for_its_parameter(monkeypatch,
                                                                            capsys):
    from dashboards.session import MODEL_ENV, Classroom, controls_by_group

    monkeypatch.setenv(MODEL_ENV, EXAMPLE)
    names = {c.name for group in controls_by_group().values() for c in group}
    assert {"recognition_rate", "recognition_boost"} <= names
    room = Classroom(overrides={"recognition_rate": 0.5, **SMALL})
    assert room.message is None and room.main.p.recognition_rate == 0.5
    assert "recognition" in [p.name for p in room.main.processes]
    room.step()
    monkeypatch.delenv(MODEL_ENV)
    assert "recognition_rate" not in {c.name for g in controls_by_group().values() for c in g}
    code, err = cli(["serve", "--model", "docs.extending.recognition:Nope"], capsys)
    assert code == 2 and "has no attribute 'Nope'" in err


def test_compare_runs_an_extension_with_its_parameter_per_setting(tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "c"
    code, err = cli(["compare", "hierarchical", "shared_authority", "-r", 2, "-n", 100, "-t",
                     30, "-w", 1, "--model", EXAMPLE, "--set",
                     "hierarchical:recognition_rate=0.5", "--out", out], capsys)
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"] == EXAMPLE and f"--model {EXAMPLE}" in manifest["command"]
    assert "recognition_rate = 0.5" in (out / "settings" / "hierarchical.toml").read_text()
    steps = pd.read_parquet(out / "timeseries.parquet")
    late = steps[steps["step"] > 0].groupby("setting", observed=True)["recognized_share"].mean()
    assert late["shared_authority"] == 0 and late["hierarchical"] > 0.2
    assert "<td>recognition rate</td>" in (out / "report.html").read_text()
