"""run.py end to end: outputs, listings, the main job, and one-line errors with exit 2."""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

import run
from dashboards.report import read_report_data
from model.parameters import Parameters

ROOT = Path(__file__).resolve().parent.parent


def cli(args, capsys):
    code = run.main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_run_writes_all_outputs(tmp_path, capsys):
    out = tmp_path / "h"
    code, stdout, err = cli(["run", "hierarchical", "-n", "150", "-t", "30", "--seed", "3",
                             "--set", "span_of_control=5", "--out", str(out)], capsys)
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    for key in ("coasting_share", "hidden_coasting_share", "mean_time_hidden",
                "ideas_generated", "ideas_adopted_widely_share", "ideas_squashed_share",
                "time_to_50pct_adoption", "mean_adopted_idea_value", "mean_commitment",
                "output", "cross_unit_conversation_share", "informal_leader_overlap",
                "probe_share_26w", "probe_share_52w", "probe_adoption_auc",
                "probe_reached_half", "ideas_per_employee_year"):
        assert key in summary
    series = pd.read_parquet(out / "timeseries.parquet")
    assert len(series) == 31 and (series["setting"] == "hierarchical").all()
    pd.testing.assert_frame_equal(series, pd.read_csv(out / "timeseries.csv"),
                                  check_dtype=False)
    resolved = tomllib.loads((out / "parameters.toml").read_text())["parameters"]
    assert resolved["span_of_control"] == 5 and resolved["n_employees"] == 150
    assert Parameters(**resolved).steps == 30
    assert "hidden_coasting_share" in stdout


def test_parameters_file_reproduces_the_run(tmp_path, capsys):
    first, second = tmp_path / "a", tmp_path / "b"
    assert cli(["run", "shared_authority", "-n", "120", "-t", "20", "--out", str(first)],
               capsys)[0] == 0
    assert cli(["run", str(first / "parameters.toml"), "--out", str(second)], capsys)[0] == 0
    a = pd.read_parquet(first / "timeseries.parquet").drop(columns="setting")
    b = pd.read_parquet(second / "timeseries.parquet").drop(columns="setting")
    pd.testing.assert_frame_equal(a, b)


def test_settings_and_parameters_listings(capsys):
    code, stdout, _ = cli(["settings"], capsys)
    assert code == 0 and "hierarchical" in stdout and "shared_authority" in stdout
    code, stdout, _ = cli(["parameters"], capsys)
    assert code == 0 and "span_of_control" in stdout
    lines = {line.split()[0]: line for line in stdout.splitlines() if " = " in line}
    assert lines["autonomy"].endswith("[roadmap: per unit]")
    assert lines["span_of_control"].endswith("[fixed during a run]")
    assert "[" not in lines["effort_cost"]  # may change for everyone, not per unit


def test_main_job_compares_reference_settings(tmp_path, capsys):
    out = tmp_path / "main"
    code, stdout, err = cli(["--replications", "2", "-n", "120", "-t", "25", "--out", str(out)],
                            capsys)
    assert code == 0, err
    summary = read_report_data(out / "report.html")["summary"]
    assert "Summary" in stdout and summary
    assert " ".join(summary[0]["sentence"].split()[:6]) in " ".join(stdout.split())
    runs = pd.read_parquet(out / "runs.parquet")
    assert sorted(runs["setting"].unique()) == ["hierarchical", "shared_authority"]
    assert (out / "report.html").is_file()


@pytest.mark.parametrize("args, words", [
    (["run", "nonsense"], "unknown setting 'nonsense'"),
    (["run", "hierarchical", "--set", "span_of_control=0"], "span_of_control = 0"),
    (["run", "hierarchical", "--set", "bogus=1"], "unknown parameter 'bogus'"),
    (["run", "hierarchical", "--set", "autonomy"], "expected name=value"),
    (["run", "hierarchical", "--set", "autonomy=high"], "autonomy = 'high'"),
    (["run", "hierarchical", "--employees", "1"], "n_employees = 1"),
    (["run", "hierarchical", "--steps", "many"], "many"),
    (["run", "hierarchical", "--set", "formal_structure=none",
      "--set", "leader_selection=elected"], "elected"),
    (["run", "missing.toml"], "no such setting file"),
    (["frobnicate"], "frobnicate"),
])
def test_user_mistakes_get_one_line_and_exit_2(args, words, capsys):
    code, stdout, err = cli(args, capsys)
    assert code == 2
    assert words in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + stdout


def test_malformed_setting_file(tmp_path, capsys):
    bad = tmp_path / "client.toml"
    bad.write_text("description = 'x'\n[parameters]\nautonomy = \n")
    code, _, err = cli(["run", str(bad)], capsys)
    assert code == 2 and "malformed TOML" in err and str(bad) in err


def test_unwritable_out_loses_nothing(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    code, _, err = cli(["run", "hierarchical", "-n", "50", "-t", "2", "--out",
                        str(blocker / "sub")], capsys)
    assert code == 2 and "--out" in err
    assert blocker.read_text() == "keep me"


def test_script_entry_point_exit_code():
    done = subprocess.run([sys.executable, "run.py", "run", "nonsense"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: unknown setting")
