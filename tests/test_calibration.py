"""Calibration (run.py calibrate): bad targets refused before any run, likelihoods, outputs,
the same result on any number of workers and after kill -9, compare --posterior, and a
quick parameter recovery. Tiny organizations (60 employees x 30 steps), small budgets."""

from __future__ import annotations

import json
import os
import signal
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import run
from experiments.calibration import (
    DEFAULT_REPLICATIONS,
    calibrate,
    mean_observables,
    observable_names,
    open_study,
    point_logliks,
    posterior_overrides,
    target_loglik,
    with_draw,
)
from experiments.targets import parse_targets, read_targets
from scenarios.settings import load_setting

TINY = """
description = "tiny"
[calibration]
replications = 2
budget = 8
population = 4
seed = 7
employees = 60
steps = 30

[parameters]
motive_mean = { low = 0.5, high = 0.9 }
customer_problem_rate = { low = 0.03, high = 0.3, log = true }

[survey]
engaged = 0.2
not_engaged = 0.6
actively_disengaged = 0.2
respondents = 200

[ideas]
employees = 60
years = 0.5769
submitted = 20
approved = 3

[attrition]
employees = 60
years = 1
leavers = 0

[[metric]]
name = "hidden_coasting_share"
mean = 0.1
sd = 0.05
"""


def targets_file(tmp_path: Path, text: str = TINY, name: str = "targets.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory) -> tuple[Path, Path]:
    """A finished tiny calibration (8 points x 2 runs) and its targets file."""
    tmp = tmp_path_factory.mktemp("calibration")
    path = targets_file(tmp)
    out = tmp / "out"
    assert run.main(["calibrate", "hierarchical", str(path), "--out", str(out)]) == 0
    return out, path


BAD = {
    "shares": (("actively_disengaged = 0.2", "actively_disengaged = 0.3"),
               "[survey] shares sum to 1.1, not 1"),
    "negative count": (("leavers = 0", "leavers = -4"), "[attrition] leavers = -4"),
    "prior outside bounds": (("high = 0.9 }", "high = 1.2 }"),
                             "motive_mean: prior range 0.5..1.2 outside the parameter's "
                             "bounds 0..1"),
    "undeclared": (("motive_mean = {", "motive_level = {"),
                   "[parameters] motive_level: not a declared parameter"),
    "unknown metric": (('name = "hidden_coasting_share"', 'name = "happiness"'),
                       "name = 'happiness': unknown metric"),
    "approved above submitted": (("approved = 3", "approved = 30"),
                                 "[ideas] approved = 30: more than submitted = 20"),
    "low above high": (("low = 0.03, high = 0.3", "low = 0.3, high = 0.03"),
                       "customer_problem_rate: low = 0.3 must be below high = 0.03"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_targets_get_one_line_and_exit_2_before_any_run(tmp_path, capsys, case):
    (old, new), message = BAD[case]
    assert old in TINY
    path = targets_file(tmp_path, TINY.replace(old, new))
    out = tmp_path / "out"
    assert run.main(["calibrate", "hierarchical", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not out.exists()  # nothing ran, nothing was written


def test_likelihoods_prefer_the_measured_values(tmp_path):
    targets = read_targets(targets_file(tmp_path), observable_names())
    by_name = {t.name: t for t in targets.targets}
    near = {"engaged_share": 0.2, "not_engaged_share": 0.6, "actively_disengaged_share": 0.2}
    far = {"engaged_share": 0.6, "not_engaged_share": 0.3, "actively_disengaged_share": 0.1}
    assert target_loglik(by_name["survey"], near) > target_loglik(by_name["survey"], far) + 5
    rate = 20 / (60 * 0.5769)
    submitted = by_name["ideas.submitted"]
    assert target_loglik(submitted, {"ideas_per_employee_year": rate}) > target_loglik(
        submitted, {"ideas_per_employee_year": 2 * rate}) + 3
    approved = by_name["ideas.approved"]
    assert target_loglik(approved, {"ideas_sanctioned_share": 0.15}) > target_loglik(
        approved, {"ideas_sanctioned_share": 0.6})
    metric = by_name["metric.hidden_coasting_share"]
    assert target_loglik(metric, {"hidden_coasting_share": 0.1}) > target_loglik(
        metric, {"hidden_coasting_share": 0.3})
    survey = by_name["survey"].data  # 200 respondents: shares become whole counts
    assert (survey["count_engaged"], survey["count_not_engaged"],
            survey["count_actively_disengaged"]) == (40, 120, 40)


def _hand_loglik(targets, run_observables: list[dict[str, float]]) -> float:
    """log of the mean over runs of exp(sum over targets of the run's log-likelihood)."""
    totals = [sum(target_loglik(t, r) for t in targets.targets) for r in run_observables]
    top = max(totals)
    return top + float(np.log(np.mean([np.exp(v - top) for v in totals])))


def test_a_points_likelihood_averages_its_runs_likelihoods(tmp_path):
    """Two runs on either side of the survey's shares: the point's likelihood is the mean
    of the two runs' likelihoods (hand computed), not that of their mean observables
    (which sits exactly on the data and would be far higher)."""
    text = TINY.split("[ideas]")[0]  # the survey alone
    targets = read_targets(targets_file(tmp_path, text), observable_names())
    low = {"engaged_share": 0.1, "not_engaged_share": 0.6, "actively_disengaged_share": 0.3}
    high = {"engaged_share": 0.3, "not_engaged_share": 0.6, "actively_disengaged_share": 0.1}
    survey = targets.targets[0]
    a, b = target_loglik(survey, low), target_loglik(survey, high)
    expected = float(np.log((np.exp(a) + np.exp(b)) / 2))
    total, by_target, per_run = point_logliks(targets, [low, high])
    assert total == pytest.approx(expected, abs=1e-9)
    assert per_run == pytest.approx([a, b]) and by_target["survey"] == pytest.approx(expected)
    of_the_mean = target_loglik(survey, mean_observables([low, high]))  # the former method
    assert of_the_mean > total + 3  # -6.4 against -10.1
    assert point_logliks(targets, [low])[0] == pytest.approx(a)  # one run: its own


def test_each_points_stored_likelihood_is_the_mean_of_its_runs(calibrated):
    """In a finished calibration (2 runs per point), every point's log-likelihood is the
    log-mean-exp of its runs' log-likelihoods of all the targets, computed by hand from the
    runs' stored observables; the manifest says which likelihood was used."""
    out, path = calibrated
    targets = read_targets(path)
    study = open_study(out)
    checked = 0
    for trial in study.get_trials(deepcopy=False):
        if trial.value is None:
            continue
        runs = trial.user_attrs["runs"]
        assert len(runs) == 2 and runs[0] != runs[1]
        assert trial.value == pytest.approx(_hand_loglik(targets, runs), abs=1e-9)
        checked += 1
    assert checked == 8
    manifest = json.loads((out / "manifest.json").read_text())
    assert "log-mean-exp" in manifest["likelihood"] and manifest["replications"] == 2
    assert "log-mean-exp" in (out / "fit.html").read_text()


def test_a_calibration_with_another_likelihood_is_not_resumed(tmp_path, calibrated, capsys):
    import shutil

    out, path = calibrated
    former = tmp_path / "former"
    shutil.copytree(out, former)
    inputs = json.loads((former / "_inputs.json").read_text())
    inputs["likelihood"] = "mean observables"
    (former / "_inputs.json").write_text(json.dumps(inputs))
    assert run.main(["calibrate", "hierarchical", str(path), "--out", str(former)]) == 2
    assert "holds a calibration of other likelihood (mean observables)" in (
        capsys.readouterr().err)


def test_calibration_writes_a_usable_setting_posterior_page_and_manifest(calibrated):
    out, path = calibrated
    targets = read_targets(path)
    setting = load_setting(str(out / "calibrated.toml"))  # usable by run/compare/sweep
    manifest = json.loads((out / "manifest.json").read_text())
    for prior in targets.priors:
        value = setting.values[prior.name]
        assert prior.low <= value <= prior.high
        assert value == pytest.approx(manifest["calibrated"][prior.name])
    assert setting.values["n_employees"] == 60 and setting.values["steps"] == 30
    draws = pd.read_parquet(out / "posterior.parquet")
    assert len(draws) == 1000
    assert draws["motive_mean"].between(0.5, 0.9).all()
    trials = pd.read_parquet(out / "trials.parquet")
    assert len(trials) == 8 and trials["weight"].sum() == pytest.approx(1)
    assert manifest["points"] == 8 and len(manifest["seeds"]) == 8
    assert manifest["provenance"]["packages"]["numpy"] == np.__version__
    page = (out / "fit.html").read_text()
    for name in ("survey: engaged_share", "ideas.submitted", "ideas.approved", "attrition",
                 "metric.hidden_coasting_share", "posterior of motive_mean",
                 "pair: motive_mean x customer_problem_rate", "n = 8 points x 2 runs"):
        assert name in page, name
    assert "<script src=" not in page  # offline: plotly.js is embedded
    # the adaptive search: ESS per generation, and the warning when it is low (8 points)
    generations = pd.read_csv(out / "generations.csv")
    assert list(generations["generation"]) == [0, 1] and list(generations["points"]) == [4, 4]
    assert manifest["generations"][-1]["posterior_ess"] == pytest.approx(
        manifest["effective_sample_size"])
    assert manifest["effective_sample_size"] < 50 and not manifest["trustworthy"]
    assert "not trustworthy" in manifest["warning"]
    assert "the 90% intervals are not trustworthy" in page
    assert "Adaptive search, per generation" in page
    assert list(trials["generation"]) == [0] * 4 + [1] * 4


def test_targets_table_sets_the_measured_values_beside_the_fitted_models(calibrated):
    out, _ = calibrated
    table = pd.read_csv(out / "targets.csv")
    trials = pd.read_parquet(out / "trials.parquet")
    assert list(table["observable"]) == [
        "engaged_share", "not_engaged_share", "actively_disengaged_share",
        "ideas_per_employee_year", "ideas_sanctioned_share", "attrition_per_year",
        "hidden_coasting_share"]
    measured = dict(zip(table["observable"], table["measured"], strict=True))
    assert measured["engaged_share"] == 0.2 and measured["ideas_sanctioned_share"] == 3 / 20
    assert measured["ideas_per_employee_year"] == pytest.approx(20 / (60 * 0.5769))
    assert measured["attrition_per_year"] == 0 and measured["hidden_coasting_share"] == 0.1
    for row in table.itertuples():
        model = trials[f"model:{row.observable}"]
        assert row.prior_mean == pytest.approx(model[trials["generation"] == 0].mean())
        assert row.posterior_mean == pytest.approx(np.average(model, weights=trials["weight"]))
        assert model.min() <= row.posterior_q05 <= row.posterior_mean <= row.posterior_q95
        assert row.posterior_q95 <= model.max()
        if row.observable.endswith("_share"):
            assert 0 <= row.posterior_q05 and row.posterior_q95 <= 1
    assert (table["prior_points"] == 4).all() and (table["runs_per_point"] == 2).all()
    assert table["posterior_points"].between(1, 8).all()
    ess = json.loads((out / "manifest.json").read_text())["effective_sample_size"]
    assert table["posterior_ess"].to_numpy() == pytest.approx([ess] * len(table))
    page = (out / "fit.html").read_text()
    assert "Targets: measured and modelled" in page and "Also in targets.csv" in page


def test_same_result_on_two_workers_and_a_rerun_resumes_nothing(tmp_path, calibrated):
    out, path = calibrated
    two = tmp_path / "two"
    calibrate("hierarchical", read_targets(path), two, workers=2)
    columns = lambda frame: frame.drop(columns="trial")  # noqa: E731
    pd.testing.assert_frame_equal(columns(pd.read_parquet(out / "trials.parquet")),
                                  columns(pd.read_parquet(two / "trials.parquet")))
    pd.testing.assert_frame_equal(pd.read_parquet(out / "posterior.parquet"),
                                  pd.read_parquet(two / "posterior.parquet"))
    before = len(open_study(two).trials)
    fit, _ = calibrate("hierarchical", read_targets(path), two, workers=1)  # all done
    assert len(fit.trials) == 8 and fit.requeued == 0
    assert len(open_study(two).trials) == before == 8  # no point ran again


def _complete_and_running(out: Path) -> tuple[int, int]:
    """Points finished, and points started but not finished (Optuna's journal states:
    0 running, 1 complete, 3 failed)."""
    journal = out / "optuna.journal"
    if not journal.is_file():
        return 0, 0
    text = journal.read_text(errors="replace")
    complete = text.count('"state":1,')
    return complete, text.count('"state":0,') - complete - text.count('"state":3,')


def test_killed_calibration_resumes_to_the_uninterrupted_result(tmp_path, calibrated):
    """SIGKILL mid-calibration (a forked process: no second interpreter to start), then the
    same calibration again: the uninterrupted result, points left running run again."""
    import multiprocessing

    path = targets_file(tmp_path, TINY.replace("budget = 8", "budget = 12"))
    reference = tmp_path / "reference"
    calibrate("hierarchical", read_targets(path), reference)
    killed = tmp_path / "killed"
    child = multiprocessing.get_context("fork").Process(
        target=calibrate, args=("hierarchical", read_targets(path), killed))
    with warnings.catch_warnings():  # the forked child only runs the calibration
        warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
        child.start()
    deadline = time.time() + 120
    while child.is_alive() and time.time() < deadline:
        complete, running = _complete_and_running(killed)
        if complete >= 2 and running >= 1:  # killed with a point in flight
            break
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert child.exitcode == -signal.SIGKILL
    assert not (killed / "posterior.parquet").exists()  # really killed before the end
    assert run.main(["calibrate", "hierarchical", str(path), "--out", str(killed)]) == 0
    columns = lambda frame: frame.drop(columns="trial")  # noqa: E731
    pd.testing.assert_frame_equal(columns(pd.read_parquet(reference / "trials.parquet")),
                                  columns(pd.read_parquet(killed / "trials.parquet")))
    assert json.loads((killed / "manifest.json").read_text())["resumed_points"] >= 1


def test_a_larger_budget_extends_the_same_points(tmp_path, calibrated):
    import shutil

    out, path = calibrated
    grown = tmp_path / "grown"
    shutil.copytree(out, grown)
    fit, _ = calibrate("hierarchical", read_targets(path), grown, budget=10)
    old = pd.read_parquet(out / "trials.parquet").drop(columns=["trial", "weight"])
    new = fit.trials.drop(columns=["trial", "weight"])
    assert list(new["point"]) == list(range(10))
    pd.testing.assert_frame_equal(new.head(8), old)  # the first 8 points, not run again
    assert len(open_study(grown).trials) == 10


def test_a_rerun_with_other_targets_is_refused(tmp_path, calibrated, capsys):
    out, _ = calibrated
    other = targets_file(tmp_path, TINY.replace("respondents = 200", "respondents = 201"))
    assert run.main(["calibrate", "hierarchical", str(other), "--out", str(out)]) == 2
    assert "holds a calibration of other targets" in capsys.readouterr().err


def test_compare_posterior_draws_each_replication_from_the_posterior(tmp_path, calibrated):
    out, _ = calibrated
    draws = posterior_overrides(out, 6, seed=3)
    assert draws == posterior_overrides(out, 6, seed=3)  # seeded
    posterior = pd.read_parquet(out / "posterior.parquet")
    for draw in draws:
        assert set(draw) == {"motive_mean", "customer_problem_rate"}
        match = posterior[(posterior["motive_mean"] == draw["motive_mean"])]
        assert len(match)  # a draw of the posterior, not a new value
    base = load_setting("shared_authority").parameters({"n_employees": 60, "steps": 30})
    assert with_draw(base, draws, 2).motive_mean == draws[2]["motive_mean"]
    assert with_draw(base, None, 2) == base
    assert run.main(["compare", "hierarchical", "shared_authority", "-r", "2", "-n", "60",
                     "-t", "30", "-w", "1", "--posterior", str(out), "--out",
                     str(tmp_path / "cmp")]) == 0
    runs = pd.read_parquet(tmp_path / "cmp" / "runs.parquet")
    table = pd.read_csv(tmp_path / "cmp" / "posterior_draws.csv")
    assert list(table["replication"]) == [0, 1] and len(runs) == 4
    assert table["motive_mean"].tolist() == pytest.approx(
        [d["motive_mean"] for d in posterior_overrides(out, 2, 2026)])
    manifest = json.loads((tmp_path / "cmp" / "manifest.json").read_text())
    assert manifest["posterior"] == str(out.resolve())
    page = (tmp_path / "cmp" / "report.html").read_text()
    assert "draw of fitted parameters" in page and f"--posterior {out.resolve()}" in page


def test_parse_targets_needs_a_target_and_a_parameter():
    from model.errors import ParameterError

    with pytest.raises(ParameterError, match="no targets"):
        parse_targets({"parameters": {"motive_mean": [0.5, 0.9]}}, "t.toml")
    with pytest.raises(ParameterError, match=r"\[parameters\] is empty"):
        parse_targets({"metric": [{"name": "output", "mean": 1.0, "sd": 0.1}]}, "t.toml")
    assert DEFAULT_REPLICATIONS == 2


def test_quick_parameter_recovery_and_its_report_section(tmp_path):
    """CI version of docs/VALIDATION.md's recovery (`run.py validate recovery`: 10 trials of
    three parameters, 8 generations of 40 points x 2 runs of 120 employees x 52 steps): 4
    trials, 4 generations of 16 points x 1 run of 60 x 30, a survey of 80. Pooled over
    trials and parameters, 9 of 12 true values must lie inside their 90% intervals (a
    calibrated posterior fails that with probability 2.6%). Its report section replaces
    the old one and keeps the other experiments' sections."""
    from dashboards.validation_report import write_report
    from experiments.validation import EXPERIMENTS, Plan

    plan = Plan(quick=True, seed=2026, workers=1)
    outcome = EXPERIMENTS["recovery"].run(plan)
    table = outcome.table
    assert len(table) == 12 and (table["q05"] <= table["q95"]).all()
    assert set(table["parameter"]) == {"motive_mean", "customer_problem_rate", "turnover_rate"}
    assert (table["points"] == 64).all() and (table["ess"] > 1).all()
    assert outcome.checks[0].passed, table.to_string()
    old = ("# Validation\n\n## Bass (1969) diffusion curve (`bass`): passes\n\nkept text\n"
           "\n| a | PASS |\n\n## Calibration: parameter recovery (`recovery`): FAILS\n\nold\n")
    (tmp_path / "VALIDATION.md").write_text(old)
    text = write_report([outcome], plan, tmp_path).read_text()
    assert "kept text" in text and "\nold\n" not in text
    assert text.index("(`bass`)") < text.index("(`recovery`)")
    assert "| bass | 1 | 0 | 0 |" in text.replace("  ", " ")


def test_a_dask_cluster_of_processes_gives_the_local_result(tmp_path, calibrated):
    """Two Dask worker processes (as on a real cluster: the tasks and the model travel
    pickled), the result of one local process."""
    import distributed
    out, path = calibrated
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        calibrate("hierarchical", read_targets(path), tmp_path / "dask",
                  scheduler=cluster.scheduler_address)
    columns = lambda frame: frame.drop(columns="trial")  # noqa: E731
    pd.testing.assert_frame_equal(columns(pd.read_parquet(out / "trials.parquet")),
                                  columns(pd.read_parquet(tmp_path / "dask" / "trials.parquet")))


def test_a_setting_with_a_client_chart_and_roadmap_calibrates(tmp_path):
    """A client's own chart (80 people, their ties) and roadmap: each point runs on them
    (a point's observables are those of the chart run with its seeds), and calibrated.toml
    keeps the chart and the roadmap (usable by run, compare and sweep)."""
    from experiments.calibration import observe
    from model.organization import OrganizationModel
    from scenarios.make_example_company import write_company

    write_company(tmp_path, 80, seed=9)
    (tmp_path / "client.toml").write_text(
        'description = "client"\n[organization]\nchart = "chart.csv"\nnetwork = "ties.csv"\n'
        '[parameters]\nsteps = 12\n[[intervention]]\nat = 4\nset = { autonomy = 0.8 }\n')
    targets = (TINY.replace("budget = 8", "budget = 4").replace("population = 4",
                                                                 "population = 2")
               .replace("employees = 60\nsteps = 30\n", "steps = 12\n"))
    path = targets_file(tmp_path, targets)
    out = tmp_path / "out"
    assert run.main(["calibrate", str(tmp_path / "client.toml"), str(path), "--out",
                     str(out)]) == 0
    trials = pd.read_parquet(out / "trials.parquet")
    assert list(trials["generation"]) == [0, 0, 1, 1]
    setting = load_setting(str(tmp_path / "client.toml"))
    first = trials.iloc[0]
    params = setting.parameters({"motive_mean": float(first["motive_mean"]),
                                 "customer_problem_rate": float(first["customer_problem_rate"])})
    runs = [observe(OrganizationModel(params, rng=seed, chart=setting.chart,
                                      roadmap=setting.roadmap(params)).run(), 0.7, 0.5)
            for seed in json.loads(first["seeds"])]  # the point's 2 runs: their mean
    assert first["model:engaged_share"] == pytest.approx(
        np.mean([r["engaged_share"] for r in runs]))
    assert first["model:ideas_per_employee_year"] == pytest.approx(
        np.mean([r["ideas_per_employee_year"] for r in runs]))
    calibrated = load_setting(str(out / "calibrated.toml"))
    assert calibrated.chart is not None and calibrated.chart.n == 80
    assert calibrated.interventions == [{"at": 4, "set": {"autonomy": 0.8}}]
    assert "survey: engaged_share" in (out / "fit.html").read_text()


def test_calibrate_fits_an_extension_parameter_with_model(tmp_path, monkeypatch, capsys):
    """--model module:Class: the extension's own parameter can be fitted, and each point
    runs the extension (its observables are those of the extension's run); without
    --model that parameter is refused before any run."""
    from experiments.calibration import observe
    from experiments.plugins import load_model_class

    monkeypatch.chdir(Path(__file__).resolve().parent.parent)  # docs.extending importable
    spec = "docs.extending.recognition:RecognitionModel"
    text = (TINY.replace("budget = 8", "budget = 2").replace("population = 4", "population = 2")
            .replace("motive_mean = { low = 0.5, high = 0.9 }",
                     "recognition_rate = { low = 0.1, high = 0.9 }"))
    path = targets_file(tmp_path, text)
    out = tmp_path / "out"
    assert run.main(["calibrate", "hierarchical", str(path), "--out", str(out)]) == 2
    assert "recognition_rate: not a declared parameter" in capsys.readouterr().err
    assert run.main(["calibrate", "hierarchical", str(path), "--out", str(out), "--model",
                     spec]) == 0
    first = pd.read_parquet(out / "trials.parquet").iloc[0]
    model_class = load_model_class(spec)
    params = load_setting("hierarchical", model_class.parameters_class).parameters(
        {"n_employees": 60, "steps": 30, "recognition_rate": float(first["recognition_rate"]),
         "customer_problem_rate": float(first["customer_problem_rate"])},
        parameters_class=model_class.parameters_class)
    runs = [observe(model_class(params, rng=seed).run(), 0.7, 0.5)
            for seed in json.loads(first["seeds"])]  # the point's 2 runs: their mean
    assert first["model:engaged_share"] == pytest.approx(
        np.mean([r["engaged_share"] for r in runs]))
    manifest = json.loads((out / "manifest.json").read_text())
    assert f"--model {spec}" in manifest["command"]
    assert 0.1 <= load_setting(str(out / "calibrated.toml"), model_class.parameters_class
                               ).values["recognition_rate"] <= 0.9


def test_the_shipped_example_simulates_the_client_at_the_size_its_data_describe():
    """calibrations/gallup_example.toml reads cleanly and runs the organization at the
    head count its idea and attrition counts were measured over (300), with more than one
    run per point (so its likelihood averages over the model's run-to-run spread)."""
    example = Path(__file__).resolve().parents[1] / "calibrations" / "gallup_example.toml"
    targets = read_targets(example, observable_names())
    sizes = {int(t.data["exposure"]) for t in targets.targets if t.kind == "poisson"}
    assert sizes == {targets.option("employees", None)} == {300}
    assert targets.option("replications", None) >= 2


def test_a_point_computes_only_what_its_targets_compare_and_the_same_values():
    """The Bass fit (the costliest summary number) is skipped unless a target names
    bass_p or bass_q; every observable a target compares is the same either way."""
    from experiments.calibration import DISENGAGED_BELOW, ENGAGED_AT, PointTask, simulate_point
    from model import Parameters

    params = Parameters(n_employees=60, steps=30)
    kept = ("engaged_share", "mean_commitment", "attrition_per_year")
    full = PointTask(0, params, (5, 6), (ENGAGED_AT, DISENGAGED_BELOW))
    lean = PointTask(0, params, (5, 6), (ENGAGED_AT, DISENGAGED_BELOW), observables=kept)
    _, every = simulate_point(full)
    _, some = simulate_point(lean)
    assert all("bass_p" in run for run in every) and not any("bass_p" in run for run in some)
    assert [{k: r[k] for k in kept} for r in every] == [{k: r[k] for k in kept} for r in some]
    _, asked = simulate_point(PointTask(0, params, (5,), (ENGAGED_AT, DISENGAGED_BELOW),
                                        observables=("bass_q",)))
    assert asked[0]["bass_q"] == every[0]["bass_q"]
