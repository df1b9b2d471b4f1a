"""Sensitivity analysis (known answers, as SALib's own tests) and sweep charts."""

import numpy as np
import pandas as pd
import pytest

import run
from dashboards.sweep_plots import (
    heatmap,
    levels,
    mean_band,
    plot_sweep,
    write_sensitivity_charts,
)
from experiments import sweep as sweep_module
from experiments.sensitivity import write_sensitivity
from experiments.sweep import run_sweep, summary_table
from experiments.sweep_spec import load_sweep
from model.parameters import ParameterError
from tests.sweep_helpers import sweep_file

BOUNDS = {"work_visibility": {"low": 0.0, "high": 0.5}, "autonomy": {"low": 0.1, "high": 0.9}}
SLOPES = {"work_visibility": 3.0, "autonomy": 1.0}


def linear_metric(chunk, point, seed):
    """Replaces the model: output = 3 x work_visibility + autonomy, no noise."""
    value = sum(SLOPES[name] * point[name] for name in SLOPES)
    return np.array([-1]), np.array(["output"], dtype=object), np.array([value])


@pytest.fixture
def known_function(monkeypatch):
    monkeypatch.setattr(sweep_module, "observe_run", linear_metric)


def sampled_sweep(tmp_path, design):
    path = sweep_file(tmp_path, replications=1, metrics=["output"], timeseries=[],
                      vary=BOUNDS, design=design)
    out = tmp_path / "out"
    run_sweep(load_sweep(path), out, workers=1)
    return out


def test_sobol_indices_match_the_analytic_answer(tmp_path, known_function):
    out = sampled_sweep(tmp_path, {"method": "sobol", "samples": 256})
    table, written = write_sensitivity(out, ["output"])
    written += write_sensitivity_charts(out, table)
    variance = {name: SLOPES[name] ** 2 * (b["high"] - b["low"]) ** 2 / 12
                for name, b in BOUNDS.items()}
    total = sum(variance.values())
    for name, share in variance.items():  # additive: S1 = ST = own variance share
        for index in ("S1", "ST"):
            row = table[(table.parameter == name) & (table["index"] == index)].iloc[0]
            assert abs(row.value - share / total) <= max(3 * row.conf, 0.01), (name, index)
    saved = pd.read_parquet(out / "_analysis" / "sensitivity_output.parquet")
    pd.testing.assert_frame_equal(saved, table)
    assert {p.suffix for p in written} == {".csv", ".parquet", ".html"}
    assert len(pd.read_parquet(out)) == 256 * (3 + 2)  # the analysis files stay out of the data
    dummy = table[table.parameter == "dummy"].set_index("index")  # in the design, not the model
    assert (dummy["value"].abs() < 1e-12).all() and (dummy["warning"] == "the noise floor").all()
    assert (table.loc[table.parameter != "dummy", "warning"] == "").all()


def test_second_order_indices_of_an_additive_function_are_zero(tmp_path, known_function):
    out = sampled_sweep(tmp_path, {"method": "sobol", "samples": 64, "second_order": True})
    table, _ = write_sensitivity(out, ["output"])
    pair = table[table["index"] == "S2"].iloc[0]
    assert pair.parameter == "work_visibility:autonomy"
    assert abs(pair.value) <= max(3 * pair.conf, 0.01)


def test_morris_effects_match_the_slopes(tmp_path, known_function):
    out = sampled_sweep(tmp_path, {"method": "morris", "samples": 10, "levels": 4})
    table, _ = write_sensitivity(out, ["output"])
    indices = table.set_index(["parameter", "index"])["value"]
    for name, bounds in BOUNDS.items():  # elementary effect = slope x range, everywhere
        effect = SLOPES[name] * (bounds["high"] - bounds["low"])
        assert indices[(name, "mu_star")] == pytest.approx(effect)
        assert indices[(name, "mu")] == pytest.approx(effect)
        assert indices[(name, "sigma")] == pytest.approx(0, abs=1e-9)


def test_sensitivity_cli_on_model_runs_and_refusals(tmp_path, capsys):
    path = sweep_file(tmp_path, replications=1, metrics=["output", "time_to_90pct_adoption"],
                      vary=BOUNDS, design={"method": "sobol", "samples": 4})
    out = tmp_path / "real"
    run_sweep(load_sweep(path), out, workers=2)
    assert run.main(["sensitivity", str(out), "--metric", "output"]) == 0
    shown = capsys.readouterr().out
    assert "work_visibility" in shown and "ST" in shown
    html = (out / "_analysis" / "sensitivity_output.html").read_text()
    assert "<script src=\"http" not in html and len(html) > 1_000_000  # plotly.js embedded
    with pytest.raises(ParameterError, match="no value at .* design points"):
        write_sensitivity(out, ["time_to_90pct_adoption"])
    with pytest.raises(ParameterError, match="not kept by this sweep"):
        write_sensitivity(out, ["mean_fit"])
    sorted(out.glob("part-*.parquet"))[0].unlink()
    with pytest.raises(ParameterError, match="runs are unfinished"):
        write_sensitivity(out, ["output"])
    grid = tmp_path / "grid"
    run_sweep(load_sweep(sweep_file(tmp_path, name="grid", replications=1)), grid)
    assert run.main(["sensitivity", str(grid), "--metric", "output"]) == 2
    assert "values at only 6 design points; RBD-FAST needs more than 20" in (
        capsys.readouterr().err)


def test_mean_band_is_the_95pct_interval_of_the_mean():
    frame = pd.DataFrame({"x": [1, 1, 1, 2, 2], "m": [1.0, 2.0, 6.0, 4.0, 4.0]})
    band = mean_band(frame, ["x"], "m").set_index("x")
    assert band.loc[1, "mean"] == 3.0
    assert band.loc[1, "high"] - 3.0 == pytest.approx(1.96 * np.std([1, 2, 6], ddof=1) / 3**0.5)
    assert band.loc[2, "low"] == band.loc[2, "high"] == 4.0


def test_sampled_values_are_binned_for_plots():
    few = pd.Series([0.1, 0.2, 0.1])
    pd.testing.assert_series_equal(levels(few), few)
    many = pd.Series(np.linspace(0.0, 1.0, 40))
    binned = levels(many)
    assert binned.nunique() == 10
    assert ((binned - many).abs() <= 0.05 + 1e-3).all()  # each value within half a bin width


def test_plots_of_a_grid_sweep(tmp_path):
    out = tmp_path / "out"
    run_sweep(load_sweep(sweep_file(tmp_path)), out, workers=1)
    runs = summary_table(out)
    figure = heatmap(runs, "span_of_control", "work_visibility", "output")
    expected = runs.groupby(["work_visibility", "span_of_control"])["output"].mean().unstack()
    np.testing.assert_allclose(figure.data[0].z, expected.to_numpy())
    lines = plot_sweep(out, "output", "work_visibility", by="span_of_control")
    assert lines.name == "plot_output_work_visibility_by_span_of_control.html"
    over_time = plot_sweep(out, "mean_effort")
    assert over_time.name == "plot_mean_effort_steps_by_span_of_control.html"
    assert "<script src=\"http" not in over_time.read_text()
    assert run.main(["plot", str(out), "--metric", "output", "--y", "work_visibility"]) == 0
    assert (out / "_analysis" / "plot_output_span_of_control_work_visibility.html").is_file()
    assert run.main(["plot", str(out), "--metric", "mean_effort", "--over-time", "--x",
                     "work_visibility"]) == 0
    assert (out / "_analysis" / "plot_mean_effort_steps_by_work_visibility.html").is_file()
    assert run.main(["plot", str(out), "--metric", "output", "--over-time"]) == 2
    assert run.main(["plot", str(out), "--metric", "output", "--x", "autonomy"]) == 2
    assert run.main(["plot", str(out), "--metric", "happiness"]) == 2
