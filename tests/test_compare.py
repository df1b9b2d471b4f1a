"""The consultants' workflow: compare settings, statistics, findings, report, CRN gain."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import run
from dashboards.report import read_report_data
from experiments.compare import independent_seeds, run_comparison
from experiments.statistics import (
    METRIC_BY_NAME,
    findings,
    fmt,
    fmt_unit,
    paired_difference,
    pairwise_differences,
    welch_difference,
    with_derived_metrics,
)
from scenarios.settings import load_setting

SMALL = ["-n", "120", "-t", "60", "--seed", "5"]


def cli(args, capsys):
    code = run.main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """One small comparison of three settings, made through the CLI."""
    out = tmp_path_factory.mktemp("compare") / "c"
    code = run.main(["compare", "hierarchical", "shared_authority", "heroes_programme",
                     "--replications", "4", *SMALL, "--workers", "2",
                     "--set", "hierarchical:span_of_control=4", "--out", str(out)])
    assert code == 0
    return out


def test_outputs_are_tidy_and_complete(compared):
    runs = pd.read_parquet(compared / "runs.parquet")
    assert len(runs) == 3 * 4 and not runs.duplicated(["setting", "replication"]).any()
    # common random numbers: replication k has the same seed under every setting
    assert (runs.groupby("replication")["seed"].nunique() == 1).all()
    series = pd.read_parquet(compared / "timeseries.parquet")
    assert len(series) == 3 * 4 * 61
    pd.testing.assert_frame_equal(series, pd.read_csv(compared / "timeseries.csv"),
                                  check_dtype=False, check_categorical=False)
    employees = pd.read_parquet(compared / "employees.parquet")
    assert len(employees) == 3 * 4 * 120
    network = pd.read_parquet(compared / "network.parquet")
    assert set(network["replication"]) == {0} and (network["source"] < network["target"]).all()
    manifest = json.loads((compared / "manifest.json").read_text())
    assert manifest["replications"] == 4 and manifest["settings"][0] == "hierarchical"
    assert "--set hierarchical:span_of_control=4" in manifest["command"]


def test_scoped_override_applies_to_one_setting_only(compared):
    span = {name: load_setting(str(compared / "settings" / f"{name}.toml")).values[
        "span_of_control"] for name in ("hierarchical", "shared_authority")}
    assert span["hierarchical"] == 4
    assert span["shared_authority"] == load_setting("shared_authority").parameters(
        {}).span_of_control


def test_report_numbers_equal_those_from_the_tidy_data(compared):
    """Recompute every interval and paired difference from runs.parquet with scipy."""
    runs = with_derived_metrics(pd.read_parquet(compared / "runs.parquet"))
    data = read_report_data(compared / "report.html")
    page = (compared / "report.html").read_text()
    for row in data["intervals"]:
        values = pd.to_numeric(runs.loc[runs.setting == row["setting"], row["metric"]],
                               errors="coerce").dropna().to_numpy(dtype=float)
        if len(values) < 2:
            continue
        low, high = _expected_interval(row["metric"], values)
        assert row["mean"] == pytest.approx(values.mean(), abs=1e-12)
        assert row["ci_low"] == pytest.approx(low, abs=1e-9)
        assert row["ci_high"] == pytest.approx(high, abs=1e-9)
        info = METRIC_BY_NAME[row["metric"]]
        assert f"{fmt_unit(values.mean(), info)} [{fmt(low, info.kind)}, " \
               f"{fmt(high, info.kind)}] ({len(values)} runs)" in page
    paired = [r for r in data["differences"] if r["paired"]]
    assert paired
    for row in paired:
        wide = runs.pivot(index="replication", columns="setting", values=row["metric"])
        a, b = wide[row["setting_a"]].astype(float), wide[row["setting_b"]].astype(float)
        assert row["difference"] == pytest.approx((b - a).mean(), abs=1e-12)
        if (b - a).std() > 0:
            interval = stats.ttest_rel(b, a).confidence_interval(0.95)
            floor = -1.0 if METRIC_BY_NAME[row["metric"]].kind == "share" else -np.inf
            assert row["ci_low"] == pytest.approx(max(interval.low, floor), abs=1e-9)
            assert row["clear"] == bool(interval.low > 0 or interval.high < 0)
    # every sentence in the page's findings is the one generated from these numbers
    metrics = list(dict.fromkeys(r["metric"] for r in data["intervals"]))
    recomputed = pairwise_differences(runs, metrics)
    # the time to half the staff leads, one Kaplan-Meier sentence per pair of settings
    km = [f for f in data["findings"] if f["metric"] == "time_to_half_km"]
    rest = [f for f in data["findings"] if f["metric"] != "time_to_half_km"]
    assert data["findings"][: len(km)] == km and len(km) == 3
    assert all("Kaplan-Meier median" in f["sentence"] for f in km)
    assert len(recomputed) == len(data["differences"]) == len(rest)
    expected = findings(recomputed)
    assert [f["sentence"] for f in rest] == list(expected["sentence"])
    for sentence in expected["sentence"]:
        assert sentence.replace("'", "&#x27;") in page


def _expected_interval(metric, values):
    """The interval each kind of metric should get, computed here independently."""
    info = METRIC_BY_NAME[metric]
    n, mean = len(values), values.mean()
    if info.binary:  # Wilson's score interval
        ci = stats.binomtest(int(values.sum()), n).proportion_ci(0.95, method="wilson")
        return ci.low, ci.high
    if values.std() == 0:
        return mean, mean
    t = stats.t.ppf(0.975, n - 1)
    if info.kind == "share":  # t interval of the logit of the mean (delta method)
        half = t * stats.sem(values) / (mean * (1 - mean))
        logit = np.log(mean / (1 - mean))
        return 1 / (1 + np.exp(-(logit - half))), 1 / (1 + np.exp(-(logit + half)))
    low, high = stats.t.interval(0.95, n - 1, loc=mean, scale=stats.sem(values))
    return max(low, 0.0), high


def test_paired_and_welch_intervals_match_scipy():
    rng = np.random.default_rng(0)
    a = rng.normal(1.0, 0.2, 12)
    b = a + rng.normal(0.3, 0.05, 12)
    paired = paired_difference(a, b)
    interval = stats.ttest_rel(b, a).confidence_interval(0.95)
    assert (paired["ci_low"], paired["ci_high"]) == pytest.approx((interval.low, interval.high))
    assert paired["se_common"] < paired["se_independent"]  # positively correlated pairs
    welch = welch_difference(a, np.append(b, np.nan))
    interval = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert (welch["ci_low"], welch["ci_high"]) == pytest.approx((interval.low, interval.high))


def _runs(values_a, values_b, metric="hidden_coasting_share"):
    n = len(values_a)
    return pd.DataFrame({"setting": pd.Categorical(["A"] * n + ["B"] * n, ["A", "B"]),
                         "replication": list(range(n)) * 2,
                         metric: list(values_a) + list(values_b)})


def test_findings_say_clear_and_unclear_differences():
    rng = np.random.default_rng(3)
    base = rng.normal(0.10, 0.01, 10)
    clear = pairwise_differences(_runs(base * 3.1, base), ["hidden_coasting_share"]).iloc[0]
    from experiments.statistics import finding

    sentence = finding(clear)
    # B minus A, and the sentence reads B first: "lower under B than under A"
    assert clear["clear"] and sentence.startswith(
        "Hidden coasting is lower under B than under A: 9.9% under B vs 30.7% under A; B minus "
        "A: -20.8 points (95% CI"), sentence
    assert "B / A = 0.32" in sentence
    noise = pairwise_differences(_runs(base, base + rng.normal(0, 0.01, 10)),
                                 ["hidden_coasting_share"]).iloc[0]
    assert not noise["clear"] and "no clear difference" in finding(noise)


def test_common_random_numbers_reduce_the_variance_of_differences():
    """Differences hierarchical -> heroes_programme: same seeds vs independent seeds.

    One-sided F-test of the variance of 30 paired differences against 30 independent
    ones, at the 1% level, for headline metrics.
    """
    replications = 30
    settings = {name: load_setting(name).parameters({"n_employees": 150, "steps": 80})
                for name in ("hierarchical", "heroes_programme")}
    common = run_comparison(settings, replications, seed=11, workers=1).tables["runs"]
    seeds_a, seeds_b = independent_seeds(11, 2, replications)
    alone_a = run_comparison({"hierarchical": settings["hierarchical"]}, replications, 0,
                             workers=1, seeds=seeds_a).tables["runs"]
    alone_b = run_comparison({"heroes_programme": settings["heroes_programme"]}, replications,
                             0, workers=1, seeds=seeds_b).tables["runs"]
    for metric in ("mean_commitment", "coasting_share", "mean_effort"):
        paired = (common.loc[common.setting == "heroes_programme", metric].to_numpy()
                  - common.loc[common.setting == "hierarchical", metric].to_numpy())
        independent = alone_b[metric].to_numpy() - alone_a[metric].to_numpy()
        ratio = paired.var(ddof=1) / independent.var(ddof=1)
        assert stats.f.cdf(ratio, replications - 1, replications - 1) < 0.01, (metric, ratio)
    # the report's own estimate (from the common-seed runs alone) shows the gain too
    estimate = pairwise_differences(common, ["mean_commitment"]).iloc[0]
    assert estimate["se_common"] < 0.5 * estimate["se_independent"]


def test_results_do_not_depend_on_workers():
    settings = {name: load_setting(name).parameters({"n_employees": 80, "steps": 20})
                for name in ("hierarchical", "shared_authority")}
    one = run_comparison(settings, 3, seed=9, workers=1).tables
    two = run_comparison(settings, 3, seed=9, workers=2).tables
    for name in one:
        pd.testing.assert_frame_equal(one[name], two[name])


def test_report_rebuilds_from_the_data_and_keeps_the_earlier_one(compared, capsys):
    before = read_report_data(compared / "report.html")
    for _ in range(2):  # twice within a second: two distinct kept copies
        code, stdout, err = cli(["report", str(compared)], capsys)
        assert code == 0, err
        assert "kept the earlier report" in stdout
    kept = list(compared.glob("report-*.html"))
    assert len(kept) == 2
    assert read_report_data(compared / "report.html") == before
    for path in kept:
        path.unlink()


@pytest.mark.parametrize("args, words", [
    (["compare", "hierarchical", "nonsense"], "unknown setting 'nonsense'"),
    (["compare", "hierarchical", "hierarchical"], "given twice"),
    (["compare", "hierarchical", "--set", "bogus=1"], "unknown parameter 'bogus'"),
    (["compare", "hierarchical", "--set", "purpose_driven:autonomy=0.5"],
     "'purpose_driven' is not one of the compared settings"),
    (["compare", "hierarchical", "--set", "hierarchical:autonomy=7"], "autonomy = 7"),
    (["compare", "hierarchical", "shared_authority", "--replications", "1"],
     "--replications 1: intervals need at least 2"),
])
def test_compare_mistakes_get_one_line_and_exit_2(args, words, capsys, tmp_path):
    code, stdout, err = cli([*args, "--out", str(tmp_path / "x")], capsys)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x" / "report.html").exists()


def test_unwritable_out_and_existing_report(compared, capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, _, err = cli(["compare", "hierarchical", "shared_authority", "-r", "2", *SMALL,
                        "--out", str(blocker / "sub")], capsys)
    assert code == 2 and "not writable" in err
    report = compared / "report.html"
    before = report.read_bytes()
    code, _, err = cli(["compare", "hierarchical", "shared_authority", "-r", "2", *SMALL,
                        "--out", str(compared)], capsys)
    assert code == 2 and "--force" in err and len(err.strip().splitlines()) == 1
    assert report.read_bytes() == before
    code, _, err = cli(["report", str(tmp_path)], capsys)
    assert code == 2 and "not a comparison directory" in err


def test_force_replaces_an_earlier_report(tmp_path, capsys):
    out = tmp_path / "c"
    args = ["compare", "hierarchical", "shared_authority", "-r", "2", "-n", "60", "-t", "15",
            "--workers", "1", "--out", str(out)]
    assert cli(args, capsys)[0] == 0
    first = (out / "runs.parquet").read_bytes()
    assert cli([*args, "--seed", "99", "--force"], capsys)[0] == 0
    assert (out / "runs.parquet").read_bytes() != first
    assert re.search(r"--seed 99", json.loads((out / "manifest.json").read_text())["command"])


def test_a_single_setting_gets_intervals_and_no_pairs(tmp_path, capsys):
    out = tmp_path / "one"
    code, _, err = cli(["compare", "hierarchical", "-r", "2", "-n", "60", "-t", "10",
                        "--workers", "1", "--out", str(out)], capsys)
    assert code == 0, err
    data = read_report_data(out / "report.html")
    assert data["findings"] == [] and data["differences"] == []
    assert {row["setting"] for row in data["intervals"]} == {"hierarchical"}


def test_kaplan_meier_median_against_a_hand_computed_case():
    """Durations 2, 3, 4+, 5, 6, 10+, 10+, 10+ (+ = censored): S(2) = 7/8, S(3) = 3/4,
    S(5) = 3/4 x 4/5 = 0.6, S(6) = 0.6 x 3/4 = 0.45, so the median is 6; a mean over the runs
    that got there would say 4."""
    from experiments.statistics import kaplan_meier_median, time_to_half_km

    durations = np.array([2, 3, 4, 5, 6, 10, 10, 10], dtype=float)
    events = np.array([1, 1, 0, 1, 1, 0, 0, 0])
    median, low, high = kaplan_meier_median(durations, events)
    assert median == 6.0
    assert low <= 6.0 and high == np.inf  # the band's upper curve never falls to one half
    # as runs: the censored ones never reached half within steps - born = their duration
    runs = pd.DataFrame({"setting": "x", "replication": range(8), "steps": 20 + durations,
                         "probe_born_step": 20,
                         "time_to_50pct_adoption": np.where(events == 1, durations, np.nan)})
    km = time_to_half_km(runs).iloc[0]
    assert (km["median"], km["reached"], km["censored"], km["runs"]) == (6.0, 4, 4, 8)
    # never reached in most runs: the median is not reached either (inf), never a mean
    assert kaplan_meier_median(np.array([3, 9, 9, 9.]), np.array([1, 0, 0, 0]))[0] == np.inf


def test_replication_adequacy_flags_a_settled_spread():
    from experiments.statistics import replication_adequacy

    rng = np.random.default_rng(1)
    runs = pd.DataFrame({"setting": "x", "replication": range(40),
                         "m": rng.normal(10, 1, 40), "zero": 0.0})
    row = replication_adequacy(runs, ["m", "zero"]).set_index("metric")
    assert row.loc["m", "stable"] and row.loc["m", "cv_drift"] < 0.2
    assert row.loc["m", "relative_half_width"] == pytest.approx(
        stats.t.ppf(0.975, 39) * runs["m"].std() / np.sqrt(40) / runs["m"].mean())
    assert row.loc["zero", "stable"] and row.loc["zero", "cv"] == 0.0
    few = replication_adequacy(runs.head(4), ["m"]).iloc[0]
    assert not few["stable"]  # too few runs to tell whether the spread has settled
