"""compare --explain on settings with an imported chart or a roadmap (issue 17): the roadmap
and the organization chart are levers beside the parameters that differ."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.attribution import attribution_table, read_explanation
from experiments.compare import RunTask, compare_settings, simulate
from model.errors import ParameterError
from scenarios.make_example_company import write_company
from scenarios.settings import load_setting

ROADMAP = "[[intervention]]\nat = 4\nwhere = [2]\nset = { peer_sanction_power = 0.7 }\n"


def _write(folder: Path, name: str, chart: str | None, parameters: str, roadmap: str = ""
           ) -> str:
    organization = (f'[organization]\nchart = "{chart}/chart.csv"\n'
                    f'network = "{chart}/ties.csv"\n' if chart else "")
    path = folder / f"{name}.toml"
    path.write_text(f'description = "{name}"\n{organization}[parameters]\nsteps = 12\n'
                    f"{parameters}\n{roadmap}")
    return str(path)


@pytest.fixture(scope="module")
def charts(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("explain_org")
    for name, n, seed in (("one", 120, 3), ("two", 100, 4)):
        (root / name).mkdir()
        write_company(root / name, n, seed=seed)
    return root


def _explained(root: Path, a: str, b: str, out: str) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    compare_settings([a, b], 2, 7, root / out, workers=1, explain_by="parameter")
    meta, variant_runs = read_explanation(root / out)
    return meta, variant_runs, attribution_table(meta, variant_runs)


def _assert_efficient(table: pd.DataFrame, runs: pd.DataFrame, a: str, b: str) -> None:
    """Shapley efficiency: per metric the levers' contributions add up to B minus A."""
    assert not table.empty
    for metric, rows in table.groupby("metric"):
        by_setting = runs.groupby("setting", observed=True)[metric].mean()
        assert rows["contribution"].sum() == pytest.approx(rows["difference"].iloc[0],
                                                           abs=1e-9)
        assert rows["difference"].iloc[0] == pytest.approx(by_setting[b] - by_setting[a],
                                                           abs=1e-9)


def test_explain_splits_a_difference_between_a_parameter_and_the_roadmap(charts):
    a = _write(charts, "a", "one", "autonomy = 0.4")
    b = _write(charts, "b", "one", "autonomy = 0.7", ROADMAP)
    meta, variant_runs, table = _explained(charts, a, b, "same_chart")
    assert [lv["label"] for lv in meta["levers"]] == ["autonomy", "the roadmap"]
    assert sorted(variant_runs["variant"].unique()) == [0, 1, 2, 3]
    runs = pd.read_parquet(charts / "same_chart" / "runs.parquet")
    _assert_efficient(table, runs, "a", "b")
    # variant 2 (the roadmap alone from b) is a's parameters under b's roadmap
    setting_a, setting_b = load_setting(a), load_setting(b)
    params = setting_a.parameters()
    row = variant_runs[(variant_runs["variant"] == 2) & (variant_runs["replication"] == 0)]
    seed = int(row["seed"].iloc[0])
    direct = simulate(RunTask("x", params, 0, seed, False, chart=setting_a.chart,
                              roadmap=setting_b.roadmap(params)))["runs"]
    own_a = variant_runs[(variant_runs["variant"] == 0) & (variant_runs["replication"] == 0)]
    for metric in ("mean_effort", "hidden_coasting_share", "mean_commitment"):
        assert row[metric].iloc[0] == direct[metric].iloc[0]
    assert any(row[m].iloc[0] != own_a[m].iloc[0] for m in ("mean_effort", "mean_commitment"))


def test_explain_treats_differing_charts_as_one_lever(charts):
    a = _write(charts, "c", "one", "autonomy = 0.4")
    b = _write(charts, "d", "two", "autonomy = 0.7")
    meta, variant_runs, table = _explained(charts, a, b, "two_charts")
    levers = {lv["label"]: lv["parameters"] for lv in meta["levers"]}
    assert levers == {"autonomy": ["autonomy"], "the organization chart": ["n_employees"]}
    runs = pd.read_parquet(charts / "two_charts" / "runs.parquet")
    _assert_efficient(table, runs, "c", "d")
    chart_only = variant_runs[variant_runs["variant"] == 2]
    assert np.isfinite(chart_only["mean_effort"]).all() and len(chart_only) == 2


def test_explain_refuses_in_one_line_a_variant_that_cannot_exist(charts):
    a = _write(charts, "e", None, "n_employees = 120")
    b = _write(charts, "f", "one", "", ROADMAP)
    with pytest.raises(ParameterError) as err:
        compare_settings([a, b], 2, 7, charts / "impossible", workers=1, explain_by="parameter")
    message = str(err.value)
    assert "\n" not in message and "--explain: e with the roadmap from f" in message
    assert "needs an imported chart" in message
    assert not (charts / "impossible" / "manifest.json").exists()
