"""Mistakes and faults through run.py: one line on stderr, exit 2, nothing computed lost."""

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

import run
from experiments import outputs
from experiments.outputs import output_lock
from scenarios.settings import SCENARIO_DIR

SMALL = ["-n", "30", "-t", "10"]


def cli(args, capsys):
    code = run.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_line(code, err, *words):
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    for word in words:
        assert word in err, err


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "c"
    assert run.main(["compare", "hierarchical", "shared_authority", "-r", "2", *SMALL, "-w",
                     "1", "--out", str(out)]) == 0
    return out


def copy_of(comparison, tmp_path) -> Path:
    out = tmp_path / "c"
    shutil.copytree(comparison, out)
    return out


# --- options anywhere, seeds ------------------------------------------------------------
def test_options_before_the_command_reach_it(tmp_path, capsys):
    out = tmp_path / "r"
    code, _, err = cli([*SMALL, "-s", "5", "run", "hierarchical", "--out", out], capsys)
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["employees"], summary["steps"], summary["seed"]) == (30, 10, 5)


def test_options_a_command_does_not_take_are_refused(capsys):
    assert_one_line(*cli(["-r", "3", "run", "hierarchical"], capsys)[::2], "-r")


@pytest.mark.parametrize("command", [["run", "hierarchical"],
                                     ["compare", "hierarchical", "shared_authority"],
                                     ["validate", "--quick"]])
def test_seeds_beyond_2_to_the_63_are_refused_before_simulating(command, capsys):
    code, _, err = cli([*command, "--seed", str(2**64)], capsys)
    assert_one_line(code, err, "--seed", "18446744073709551616", "9223372036854775807")


# --- outputs: non-empty, empty path, force, locks ---------------------------------------------
def test_run_refuses_a_non_empty_out_and_replaces_its_own_with_force(tmp_path, capsys):
    out = tmp_path / "r"
    assert cli(["run", "hierarchical", *SMALL, "--out", out], capsys)[0] == 0
    first = (out / "summary.json").read_text()
    assert_one_line(*cli(["run", "hierarchical", *SMALL, "-s", "9", "--out", out],
                         capsys)[::2], "not empty", "--force")
    assert (out / "summary.json").read_text() == first
    assert cli(["run", "hierarchical", *SMALL, "-s", "9", "--out", out, "--force"],
               capsys)[0] == 0
    assert json.loads((out / "summary.json").read_text())["seed"] == 9


def test_force_never_replaces_a_directory_of_other_files(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    for command in (["run", "hierarchical"], ["compare", "hierarchical", "-r", "2"]):
        code, _, err = cli([*command, *SMALL, "--out", out, "--force"], capsys)
        assert_one_line(code, err, "does not hold")
    assert (out / "thesis.tex").read_text() == "years of work"


@pytest.mark.parametrize("args", [["run", "hierarchical", "--out", ""],
                                  ["compare", "hierarchical", "--out="],
                                  ["validate", "--quick", "--docs", ""]])
def test_an_empty_path_is_refused(args, capsys):
    assert_one_line(*cli(args, capsys)[::2], "empty path")


def test_a_locked_out_gets_the_holders_pid(tmp_path, capsys):
    out = tmp_path / "r"
    with output_lock(out):
        code, _, err = cli(["run", "hierarchical", *SMALL, "--out", out], capsys)
    assert_one_line(code, err, "in use", f"pid {os.getpid()}")
    assert not out.exists()


def test_two_resumed_sweeps_never_both_run(tmp_path, capsys):
    sweep = tmp_path / "s.toml"
    sweep.write_text("steps = 5\n[parameters]\nn_employees = 20\n[vary]\n"
                     "work_visibility = [0.1, 0.2]\n")
    out = tmp_path / "sw"
    with output_lock(out):
        code, _, err = cli(["sweep", sweep, "--out", out, "--resume", "-w", "1"], capsys)
    assert_one_line(code, err, "in use", f"pid {os.getpid()}")


def test_a_sweep_refuses_a_non_empty_out_without_a_sweep(tmp_path, capsys):
    sweep = tmp_path / "s.toml"
    sweep.write_text("steps = 5\n[parameters]\nn_employees = 20\n[vary]\n"
                     "work_visibility = [0.1, 0.2]\n")
    out = tmp_path / "sw"
    out.mkdir()
    (out / "notes.txt").write_text("x")
    assert_one_line(*cli(["sweep", sweep, "--out", out, "-w", "1"], capsys)[::2],
                    "not empty")


# --- limits ----------------------------------------------------------------------------
def test_jobs_that_cannot_fit_in_memory_are_refused_naming_the_cause(monkeypatch, capsys):
    monkeypatch.setattr(outputs, "available_memory", lambda: 4e9)
    code, _, err = cli(["run", "hierarchical", "-n", "20000000"], capsys)
    assert_one_line(code, err, "n_employees = 20000000", "GB of memory", "available")
    code, _, err = cli(["compare", "hierarchical", "shared_authority", "-r", "50000000"],
                       capsys)
    assert_one_line(code, err, "--replications 50000000", "B of memory")


def test_a_sweep_range_is_sized_before_it_is_allocated(tmp_path, capsys):
    sweep = tmp_path / "s.toml"
    sweep.write_text("[vary]\nwork_visibility = { start = 0.0, stop = 1.0, step = 1e-9 }\n")
    code, _, err = cli(["sweep", sweep, "--dry-run"], capsys)
    assert_one_line(code, err, "vary.work_visibility", "1e+09 values")


# --- strict types and files --------------------------------------------------------------------
@pytest.mark.parametrize("text, words", [
    ('[parameters]\nn_employees = "500"\n', ["n_employees = '500'", "integer", "string"]),
    ("[parameters]\nhero_share = true\n", ["hero_share = True", "not a boolean"]),
    ("[parameters]\nhero_share = nan\n", ["hero_share = nan", "NaN is not a number"]),
    ("[parameters]\nsteps = 20.0\n", ["steps = 20.0", "integer"]),
    ("", ["empty setting file"]),
])
def test_setting_files_have_strict_types(text, words, tmp_path, capsys):
    setting = tmp_path / "mine.toml"
    setting.write_text(text)
    assert_one_line(*cli(["run", setting, "--out", tmp_path / "o"], capsys)[::2], *words)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("item, words", [("hero_share=true", ["not a boolean"]),
                                         ('n_employees="500"', ["integer", "string"]),
                                         ("hero_share=nan", ["NaN is not a number"])])
def test_set_has_strict_types(item, words, capsys):
    assert_one_line(*cli(["run", "hierarchical", "--set", item], capsys)[::2], *words)


def test_a_fifo_is_not_a_regular_file(tmp_path, capsys):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    assert_one_line(*cli(["run", str(fifo)], capsys)[::2], "FIFO", "not a regular file")
    assert_one_line(*cli(["sweep", str(fifo)], capsys)[::2], "FIFO", "not a regular file")


def test_validate_docs_names_docs(tmp_path, capsys):
    file = tmp_path / "file"
    file.write_text("x")
    assert_one_line(*cli(["validate", "bass", "--quick", "--docs", file], capsys)[::2],
                    "--docs", "not a directory")


# --- report: escaping, containment, corrupt directories -------------------------------------------
def rewrite_manifest(out: Path, change) -> None:
    path = out / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(change(manifest)))


def test_report_escapes_stored_values(comparison, tmp_path, capsys):
    out = copy_of(comparison, tmp_path)

    def hostile(m):
        m.update(model_version="<script>alert(1)</script>", created="<b>x</b>",
                 command="<img src=x onerror=alert(2)>")
        m["descriptions"] = {name: "<script>alert(3)</script>" for name in m["settings"]}
        return m

    rewrite_manifest(out, hostile)
    code, _, err = cli(["report", out, "--force"], capsys)
    assert code == 0, err
    page = (out / "report.html").read_text()
    for raw in ("<script>alert", "<b>x</b>", "<img src=x"):
        assert raw not in page
    assert "&lt;script&gt;alert(1)" in page


@pytest.mark.parametrize("change, words", [
    (lambda m: [], ["manifest is not a JSON object"]),
    (lambda m: {k: v for k, v in m.items() if k != "settings"}, ["field 'settings'"]),
    (lambda m: {**m, "settings": ["../../x"]}, ["'../../x'", "not a setting name"]),
    (lambda m: {**m, "employees": "<script>"}, ["field 'employees'", "<script>"]),
    (lambda m: {**m, "root_seed": True}, ["field 'root_seed'"]),
])
def test_report_refuses_a_corrupt_manifest_and_keeps_the_old_report(change, words, comparison,
                                                                    tmp_path, capsys):
    out = copy_of(comparison, tmp_path)
    before = (out / "report.html").read_bytes()
    rewrite_manifest(out, change)
    assert_one_line(*cli(["report", out], capsys)[::2], *words)
    assert (out / "report.html").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".c.lock", "c"]


def test_report_refuses_a_truncated_table_and_a_bad_setting_file(comparison, tmp_path, capsys):
    out = copy_of(comparison, tmp_path)
    before = (out / "report.html").read_bytes()
    data = (out / "runs.parquet").read_bytes()
    (out / "runs.parquet").write_bytes(data[: len(data) // 2])
    assert_one_line(*cli(["report", out], capsys)[::2], "runs.parquet", "unreadable")
    (out / "runs.parquet").write_bytes(data)
    (out / "settings" / "hierarchical.toml").write_text("[parameters\n")
    assert_one_line(*cli(["report", out, "--force"], capsys)[::2], "hierarchical.toml",
                    "malformed")
    assert (out / "report.html").read_bytes() == before
    assert not list(out.glob("report-*.html"))


def test_report_reads_nothing_outside_its_directory(comparison, tmp_path, capsys):
    out = copy_of(comparison, tmp_path)
    outside = tmp_path / "secret.toml"
    outside.write_text((out / "settings" / "hierarchical.toml").read_text())
    (out / "settings" / "hierarchical.toml").unlink()
    (out / "settings" / "hierarchical.toml").symlink_to(outside)
    assert_one_line(*cli(["report", out], capsys)[::2], "outside")


def test_a_user_setting_named_like_a_person_would_reports(tmp_path, capsys):
    mine = tmp_path / "my client (v2).toml"
    mine.write_text((SCENARIO_DIR / "hierarchical.toml").read_text())
    out = tmp_path / "c"
    code, _, err = cli(["compare", mine, "shared_authority", "-r", "2", *SMALL, "-w", "1",
                        "--out", out], capsys)
    assert code == 0, err
    assert cli(["report", out, "--force"], capsys)[0] == 0
    assert "my client (v2)" in (out / "report.html").read_text()


def test_report_rebuild_is_whole_and_keeps_data(comparison, tmp_path, capsys):
    out = copy_of(comparison, tmp_path)
    runs = pd.read_parquet(out / "runs.parquet")
    code, _, err = cli(["report", out], capsys)
    assert code == 0, err
    assert len(list(out.glob("report-*.html"))) == 1
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), runs)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".c.lock", "c"]


# --- serve ------------------------------------------------------------------------------
def test_serve_on_a_remote_host_needs_allow_remote(monkeypatch, capsys):
    import dashboards.server as server

    served = []
    monkeypatch.setattr(server, "serve", lambda host, port, *rest: served.append((host, port)))
    assert_one_line(*cli(["serve", "--host", "0.0.0.0"], capsys)[::2], "--allow-remote")
    assert not served
    code, _, err = cli(["serve", "--host", "0.0.0.0", "--allow-remote"], capsys)
    assert code == 0 and "warning" in err and served == [("0.0.0.0", 8765)]
    code, _, err = cli(["serve", "--host", "127.0.0.1"], capsys)
    assert code == 0 and not err


# --- sensitivity/plot and validate --docs -------------------------------------------------
def test_plot_is_refused_while_its_analysis_folder_is_locked(tmp_path, capsys):
    sweep = tmp_path / "s.toml"
    sweep.write_text("steps = 5\n[parameters]\nn_employees = 20\n[vary]\n"
                     "work_visibility = [0.1, 0.2]\n")
    out = tmp_path / "sw"
    assert cli(["sweep", sweep, "--out", out, "-w", "1"], capsys)[0] == 0
    with output_lock(out / "_analysis"):
        code, _, err = cli(["plot", out, "-m", "hidden_coasting_share"], capsys)
    assert_one_line(code, err, "in use", f"pid {os.getpid()}")
    code, _, err = cli(["plot", out, "-m", "hidden_coasting_share"], capsys)
    assert code == 0, err
    assert [p.name for p in (out / "_analysis").iterdir()] == [
        "plot_hidden_coasting_share_work_visibility.html"]


def test_validation_pages_are_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    import dashboards.validation_report as pages
    from experiments.validation.core import Plan

    docs = tmp_path / "docs"
    (docs / "validation").mkdir(parents=True)
    (docs / "validation" / "bass.csv").write_text("old")
    (docs / "VALIDATION.md").write_text("old")

    def half_then_fail(outcome, figures):
        (figures / "bass.csv").write_text("new")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pages, "write_outputs", half_then_fail)
    with pytest.raises(outputs.OutputError, match="--docs .*No space left"):
        pages.write_report([object()], Plan(), docs)
    assert (docs / "validation" / "bass.csv").read_text() == "old"
    assert (docs / "VALIDATION.md").read_text() == "old"
    assert sorted(p.name for p in docs.iterdir()) == ["VALIDATION.md", "validation"]


def test_a_report_that_fails_keeps_the_simulated_data(tmp_path, capsys, monkeypatch):
    import dashboards.report

    def broken(*args, **kwargs):
        raise RuntimeError("chart library gone")

    monkeypatch.setattr(dashboards.report, "build_report", broken)
    out = tmp_path / "cmp"
    code, _, err = cli(["compare", "hierarchical", "shared_authority", "-r", "2", "-n", "40",
                        "-t", "6", "--out", out, "-w", "1"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "chart library gone" in err and "run.py report" in err
    assert len(pd.read_parquet(out / "runs.parquet")) == 4  # every run kept
    monkeypatch.undo()
    assert cli(["report", out], capsys)[0] == 0  # and the report can be rebuilt from them
    assert (out / "report.html").is_file()
