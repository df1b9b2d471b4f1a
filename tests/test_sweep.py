"""Running sweeps: tidy Parquet output, identical results at any worker count, resume."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import run
from experiments.sweep import MANIFEST, run_sweep, summary_table, timeseries_table
from experiments.sweep_spec import load_sweep
from model.analysis import summarize
from model.organization import OrganizationModel
from model.parameters import ParameterError, Parameters
from tests.sweep_helpers import TINY, sorted_rows, sweep_file

RUNS = 2 * 3 * TINY["replications"]
RECORDED_STEPS = 4  # steps 0, 10, 20, 30


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny sweep run uninterrupted in this process (1 worker)."""
    folder = tmp_path_factory.mktemp("reference")
    sweep = load_sweep(sweep_file(folder))
    run_sweep(sweep, folder / "out", workers=1)
    return sweep, folder / "out"


def test_dataset_is_tidy_and_complete(reference):
    sweep, out = reference
    rows = pd.read_parquet(out)  # the whole directory: data only (manifest is not Parquet)
    n_metrics = len(TINY["metrics"]) + len(TINY["timeseries"]) * RECORDED_STEPS
    assert len(rows) == RUNS * n_metrics
    assert list(rows.columns) == ["run_id", "point_id", "span_of_control", "work_visibility",
                                  "replication", "seed", "step", "metric", "value"]
    assert not rows.duplicated(["run_id", "step", "metric"]).any()
    assert sorted(rows["run_id"].unique()) == list(range(RUNS))
    assert set(rows.loc[rows.step.notna(), "step"]) == {0, 10, 20, 30}
    saved = json.loads((out / MANIFEST).read_text())
    assert saved["hash"] == sweep.digest and len(saved["runs"]["rows"]) == RUNS
    design = {row[0]: row for row in saved["runs"]["rows"]}
    for run_id, part in rows.groupby("run_id"):
        assert part["seed"].nunique() == 1 and part["seed"].iloc[0] == design[run_id][3]


def test_rows_equal_a_direct_run_with_the_recorded_seed(reference):
    sweep, out = reference
    runs = summary_table(out)
    row = runs.iloc[7]
    point = sweep.points[int(row.point_id)]
    params = Parameters(**{**sweep.base, **point})
    model = OrganizationModel(params, rng=int(row.seed)).run()
    assert params.n_employees == 60 and params.steps == 30
    expected = summarize(model)
    assert row["output"] == expected["output"]
    assert row["hidden_coasting_share"] == expected["hidden_coasting_share"]
    series = timeseries_table(out)
    mine = series[series.run_id == row.run_id].set_index("step")["mean_effort"]
    frame = model.results.to_frame().set_index("step")
    np.testing.assert_array_equal(mine.to_numpy(), frame.loc[[0, 10, 20, 30], "mean_effort"])


@pytest.mark.parametrize(("workers", "chunk_size"), [(2, 1), (2, 5), (1, 4)])
def test_identical_at_any_worker_count_and_chunking(reference, tmp_path, workers, chunk_size):
    sweep, out = reference
    run_sweep(sweep, tmp_path / "out", workers=workers, chunk_size=chunk_size)
    pd.testing.assert_frame_equal(sorted_rows(tmp_path / "out"), sorted_rows(out), check_exact=True)
    assert len(list((tmp_path / "out").glob("part-*.parquet"))) == -(-RUNS // chunk_size)


def test_resume_runs_only_missing_runs(reference, tmp_path):
    sweep, out = reference
    target = tmp_path / "out"
    run_sweep(sweep, target, workers=1, chunk_size=2)
    parts = sorted(target.glob("part-*.parquet"))
    for part in parts[1::2]:  # lose half of the chunks
        part.unlink()
    (target / ".part-00000099-00000099.parquet.tmp").write_bytes(b"half-written")
    outcome = run_sweep(sweep, target, workers=2, resume=True)
    assert outcome.skipped == 2 * len(parts[0::2]) and outcome.ran == RUNS - outcome.skipped
    assert not list(target.glob(".part-*"))
    pd.testing.assert_frame_equal(sorted_rows(target), sorted_rows(out), check_exact=True)
    again = run_sweep(sweep, target, workers=2, resume=True)
    assert again.ran == 0 and again.parts == 0


def test_existing_output_is_never_overwritten(reference, tmp_path):
    sweep, out = reference
    before = sorted_rows(out)
    with pytest.raises(ParameterError, match="already holds a sweep"):
        run_sweep(sweep, out)
    changed = load_sweep(sweep_file(tmp_path, seed=12))  # (more replications: a growth)
    with pytest.raises(ParameterError, match="field 'seed' .* changed"):
        run_sweep(changed, out, resume=True)
    pd.testing.assert_frame_equal(sorted_rows(out), before)


def test_cli_sweep_and_errors(tmp_path, capsys):
    path = sweep_file(tmp_path, replications=1, vary={"work_visibility": [0.1, 0.3]})
    out = tmp_path / "cli"
    assert run.main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 0
    assert "2 runs" in capsys.readouterr().out
    assert summary_table(out)["work_visibility"].tolist() == [0.1, 0.3]
    assert run.main(["sweep", str(path), "--out", str(out)]) == 2
    assert "already holds a sweep" in capsys.readouterr().err
    assert run.main(["sweep", str(path), "--out", str(out), "--resume"]) == 0
    assert run.main(["sweep", str(path), "--dry-run", "--out", str(tmp_path / "dry")]) == 0
    assert "grid design, 2 points x 1 replications = 2 runs" in capsys.readouterr().out
    assert not (tmp_path / "dry").exists()
    bad = sweep_file(tmp_path, name="bad", vary={"span_of_control": [0]})
    assert run.main(["sweep", str(bad), "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {bad}: field 'vary.span_of_control': value 0 is below the minimum "
                   "2 of span_of_control"]
    assert not (tmp_path / "bad").exists()


def test_dask_is_imported_only_when_used():
    code = ("import sys, run, experiments.sweep, experiments.sensitivity, dashboards.sweep_plots; "
            "sys.exit('distributed' in sys.modules or 'dask' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
