"""A client's own chart and network: import, checks, privacy, round trip (issue 17)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import run
from experiments.runner import run_once, write_run
from model import OrganizationModel
from model.analysis import export_chart
from model.errors import ParameterError
from scenarios.make_example_company import write_company
from scenarios.organization import pseudonym, read_chart
from scenarios.settings import load_setting

SHIPPED = Path(__file__).resolve().parent.parent / "scenarios" / "company"


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> Path:
    """A generated 240-person company (chart, ties and a setting using them)."""
    root = tmp_path_factory.mktemp("company")
    write_company(root, 240, seed=5)
    (root / "client.toml").write_text(
        'description = "client"\n[organization]\nchart = "chart.csv"\nnetwork = "ties.csv"\n'
        'salt = "test"\n[parameters]\nsteps = 12\n')
    return root


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_round_trip_generated_chart_model_exported_chart_is_the_same_tree(company):
    rows = _rows(company / "chart.csv")
    setting = load_setting(str(company / "client.toml"))
    model = OrganizationModel(setting.parameters(), rng=1, chart=setting.chart)
    exported = export_chart(model)
    expected = {pseudonym(r["id"], "test"): (pseudonym(r["manager_id"], "test")
                                             if r["manager_id"] else "", r["unit"], r["level"],
                                             r["customer_facing"] == "true") for r in rows}
    got = {r.id: (r.manager_id, r.unit, r.level, bool(r.customer_facing))
           for r in exported.itertuples()}
    assert got == expected
    # the engine's reporting lines are the chart's: depth and spans as given
    depth = model.structure.level
    assert 3 <= depth.max() <= 7 and len(set(depth.tolist())) == depth.max() + 1
    spans = model.structure.n_children[model.structure.n_children > 0]
    assert spans.min() >= 2 and spans.max() <= 15 and len(set(spans.tolist())) > 4


def test_shipped_example_company_is_uneven_and_realistic():
    chart, summary = read_chart(SHIPPED / "acme_chart.csv", SHIPPED / "acme_ties.csv")
    assert chart.n == 1200 and "1 top" in summary and "4681 ties" in summary
    divisions = set(chart.unit) - {"Executive"}
    assert len(divisions) == 6
    from model.structure import build_chart_structure
    s = build_chart_structure(chart.parent)
    deepest = {u: s.level[np.array(chart.unit) == u].max() for u in divisions}
    assert min(deepest.values()) == 3 and max(deepest.values()) == 7
    spans = s.n_children[s.n_children > 0]
    assert spans.min() == 2 and spans.max() == 15


def test_units_are_contiguous_and_reports_follow_their_manager(company):
    setting = load_setting(str(company / "client.toml"))
    s = OrganizationModel(setting.parameters(), rng=1, chart=setting.chart).structure
    for pos in np.flatnonzero(s.parent >= 0):
        assert s.child_start[s.parent[pos]] <= pos < s.child_start[s.parent[pos]] + \
            s.n_children[s.parent[pos]]
        assert s.unit_start[pos] <= pos < s.unit_start[pos] + s.unit_size[pos]


def test_outputs_carry_pseudonyms_never_the_original_ids(company, tmp_path):
    setting = load_setting(str(company / "client.toml"))
    params = setting.parameters()
    result = run_once(params, 3, "client", chart=setting.chart)
    write_run(result, tmp_path, setting=setting)
    assert (tmp_path / "chart.csv").is_file() and (tmp_path / "ties.csv").is_file()
    exported = export_chart(OrganizationModel(params, rng=3, chart=setting.chart))
    exported.to_csv(tmp_path / "chart_export.csv", index=False)
    assert (tmp_path / "breakdown.csv").is_file()
    for path in tmp_path.iterdir():
        assert b"@acme.example" not in path.read_bytes(), path.name
    assert set(result.breakdown["unit"]) == set(setting.chart.unit)


def test_imported_ties_seed_the_informal_network_with_scaled_strengths(company):
    setting = load_setting(str(company / "client.toml"))
    model = OrganizationModel(setting.parameters(), rng=1, chart=setting.chart)
    ties = _rows(company / "ties.csv")
    assert model.network.n_ties == len(ties)
    assert model.network.strength.max() == 1.0
    heaviest = max(ties, key=lambda r: int(r["weight"]))
    assert int(heaviest["weight"]) == max(int(r["weight"]) for r in ties)


def test_several_tops_form_one_top_team_and_the_summary_says_so(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("id,manager_id\na,\nb,\nc,a\nd,a\ne,b\nf,b\n")
    chart, summary = read_chart(path)
    assert "2 tops (no common manager: joined as one top team" in summary
    assert "levels from depth" in summary and "units inferred" in summary
    from model.structure import build_chart_structure
    s = build_chart_structure(chart.parent)
    assert s.unit_start[0] == s.unit_start[1] == 0 and s.unit_size[0] == 2
    assert (s.parent == [-1, -1, 0, 0, 1, 1]).all()


def test_a_gexf_network_is_read(tmp_path):
    (tmp_path / "c.csv").write_text("id,manager_id\na,\nb,a\nc,a\n")
    (tmp_path / "n.gexf").write_text(
        '<?xml version="1.0"?><gexf xmlns="http://gexf.net/1.3"><graph><edges>'
        '<edge source="b" target="c" weight="3"/><edge source="a" target="b"/></edges>'
        '</graph></gexf>')
    chart, summary = read_chart(tmp_path / "c.csv", tmp_path / "n.gexf")
    assert sorted(zip(chart.tie_u.tolist(), chart.tie_v.tolist(), strict=True)) == [
        (0, 1), (1, 2)]
    assert "2 ties" in summary


CHART_CASES = {  # file text, expected pieces of the one-line message
    "missing column": ("id,boss\na,\n", ["line 1", "missing column 'manager_id'"]),
    "duplicate id": ("id,manager_id\na,\nb,a\nb,a\n", ["line 4", "duplicate id 'b'",
                                                       "line 3"]),
    "unknown manager": ("id,manager_id\na,\nb,zed\n", ["line 3", "'zed'",
                                                       "not an employee id"]),
    "self-management": ("id,manager_id\na,\nb,b\n", ["line 3", "'b' is its own manager"]),
    "cycle": ("id,manager_id\na,\nb,c\nc,d\nd,b\n", ["line 3", "cycle", "'b' -> 'c' -> 'd' "
                                                     "-> 'b'"]),
    "no top": ("id,manager_id\na,b\nb,a\n", ["cycle", "no top"]),
    "empty file": ("", ["empty file"]),
    "header only": ("id,manager_id\n", ["empty file", "no rows"]),
    "bad customer_facing": ("id,manager_id,customer_facing\na,,maybe\n",
                            ["line 2", "customer_facing = 'maybe'"]),
    "empty id": ("id,manager_id\n,a\na,\n", ["line 2", "empty id"]),
}


@pytest.mark.parametrize("case", sorted(CHART_CASES))
def test_chart_data_quality_problem_is_one_line_naming_file_line_and_value(case, tmp_path):
    text, pieces = CHART_CASES[case]
    path = tmp_path / "chart.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParameterError) as err:
        read_chart(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path))
    for piece in pieces:
        assert piece in message


def test_non_utf8_chart_names_the_line_and_byte(tmp_path):
    path = tmp_path / "chart.csv"
    path.write_bytes("id,manager_id\na,\nb\xe9,a\n".encode("latin-1"))
    with pytest.raises(ParameterError, match=r"chart.csv: line 3: not UTF-8 text \(byte 0xe9\)"):
        read_chart(path)


NETWORK_CASES = {
    "unknown id": ("source,target\na,b\nb,zed\n", ["line 3", "target 'zed'"]),
    "negative weight": ("source,target,weight\na,b,-2\n", ["line 2", "weight = '-2'",
                                                           "negative"]),
    "weight not a number": ("source,target,weight\na,b,lots\n", ["line 2", "'lots'"]),
    "self tie": ("source,target\nb,b\n", ["line 2", "to itself"]),
    "missing column": ("from,to\na,b\n", ["missing column 'source'"]),
    "empty file": ("\n\n", ["empty file"]),
}


@pytest.mark.parametrize("case", sorted(NETWORK_CASES))
def test_network_data_quality_problem_is_one_line(case, tmp_path):
    text, pieces = NETWORK_CASES[case]
    (tmp_path / "chart.csv").write_text("id,manager_id\na,\nb,a\nc,a\n")
    path = tmp_path / "ties.csv"
    path.write_text(text)
    with pytest.raises(ParameterError) as err:
        read_chart(tmp_path / "chart.csv", path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path))
    for piece in pieces:
        assert piece in message


def test_cli_exits_2_with_one_line_and_refuses_a_different_size(company, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    (tmp_path / "c.csv").write_text("id,manager_id\na,\nb,a\nb,a\n")
    bad.write_text('description = "x"\n[organization]\nchart = "c.csv"\n')
    assert run.main(["run", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "duplicate id 'b'" in err
    assert run.main(["run", str(company / "client.toml"), "-n", "100",
                     "--out", str(tmp_path / "o")]) == 2
    assert "the imported chart fixes it at 240" in capsys.readouterr().err


def test_the_checked_export_reads_back_as_the_same_tree(company, tmp_path, capsys):
    export = tmp_path / "checked.csv"
    assert run.main(["organization", str(company / "client.toml"), "--export", str(export)]) == 0
    assert "240 employees" in capsys.readouterr().out
    assert b"@acme.example" not in export.read_bytes()
    first = load_setting(str(company / "client.toml")).chart
    again, _ = read_chart(export)
    np.testing.assert_array_equal(first.parent, again.parent)
    assert first.unit == again.unit and first.level == again.level
    np.testing.assert_array_equal(first.customer_facing, again.customer_facing)


def test_a_gexf_edge_to_an_unknown_id_is_named_by_its_number(tmp_path):
    (tmp_path / "c.csv").write_text("id,manager_id\na,\nb,a\n")
    (tmp_path / "n.gexf").write_text(
        '<gexf><graph><edges><edge source="a" target="b"/><edge source="b" target="q"/>'
        '</edges></graph></gexf>')
    with pytest.raises(ParameterError, match=r"n.gexf: edge 2: target 'q' is not an employee"):
        read_chart(tmp_path / "c.csv", tmp_path / "n.gexf")


def test_a_runs_stored_setting_reruns_it_identically(company, tmp_path):
    (company / "rerun.toml").write_text(
        (company / "client.toml").read_text()
        + '\n[[intervention]]\nat = 3\nwhere = [1]\nset = { autonomy = 0.9 }\n'
        '[[intervention]]\nwhen = { metric = "mean_commitment", above = 0.0, for = 2 }\n'
        'until = { metric = "mean_commitment", below = 2.0, for = 2 }\n'
        'set = { peer_sanction_power = 0.5 }\n')
    first, second = tmp_path / "first", tmp_path / "second"
    assert run.main(["run", str(company / "rerun.toml"), "-t", "12", "--seed", "5",
                     "--out", str(first)]) == 0
    stored = first / "parameters.toml"
    assert run.main(["run", str(stored), "--seed", "5", "--out", str(second)]) == 0
    for name in ("timeseries.csv", "ideas.csv", "breakdown.csv", "interventions.csv"):
        a, b = (pd.read_csv(out / name, dtype=str).drop(columns="setting", errors="ignore")
                for out in (first, second))  # the setting's name is the file's stem
        pd.testing.assert_frame_equal(a, b, obj=name)
    assert len(pd.read_csv(first / "interventions.csv")) > 2  # the roadmap did act
    for name in ("chart.csv", "ties.csv", "parameters.toml"):
        assert b"@acme.example" not in (first / name).read_bytes(), name


def test_a_comparisons_stored_settings_rerun_it_identically(company, tmp_path):
    (company / "plan.toml").write_text(
        (company / "client.toml").read_text()
        + '\n[[intervention]]\nat = 4\nwhere = [2]\nset = { work_visibility = 0.6 }\n')
    first, second = tmp_path / "first", tmp_path / "second"
    names = [str(company / "client.toml"), str(company / "plan.toml")]
    assert run.main(["compare", *names, "-r", "2", "-t", "10", "-w", "1", "--set",
                     "plan:autonomy=0.7", "--out", str(first)]) == 0
    stored = [str(first / "settings" / f"{name}.toml") for name in ("client", "plan")]
    assert run.main(["compare", *stored, "-r", "2", "-t", "10", "-w", "1",
                     "--out", str(second)]) == 0
    for table in ("runs", "timeseries", "interventions", "breakdown"):
        pd.testing.assert_frame_equal(pd.read_parquet(first / f"{table}.parquet"),
                                      pd.read_parquet(second / f"{table}.parquet"), obj=table)
    for path in (first / "settings").iterdir():
        assert b"@acme.example" not in path.read_bytes(), path.name
