"""A sweep killed with SIGKILL at any moment, then resumed, loses and duplicates nothing."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from experiments.sweep import finished_runs, run_sweep
from experiments.sweep_spec import load_sweep
from tests.sweep_helpers import sorted_rows, sweep_file

ROOT = Path(__file__).resolve().parent.parent
VARY = {"span_of_control": [4, 6, 8, 10], "work_visibility": [0.05, 0.1, 0.2, 0.3, 0.4]}
TOTAL = 4 * 5 * 2


def start_sweep(path: Path, out: Path, resume: bool) -> subprocess.Popen:
    args = [sys.executable, "run.py", "sweep", str(path), "--out", str(out), "--workers", "2",
            "--chunk-size", "1"] + (["--resume"] if resume else [])
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def kill_when(process: subprocess.Popen, out: Path, parts: int) -> int:
    """SIGKILL the sweep (and its worker processes) once ``parts`` part files exist."""
    while len(list(out.glob("part-*.parquet"))) < parts and process.poll() is None:
        time.sleep(0.005)
    with contextlib.suppress(ProcessLookupError):  # it may have finished meanwhile
        os.killpg(process.pid, signal.SIGKILL)  # the sweep's own session: parent and workers
    process.wait()
    return len(finished_runs(out))


def test_killed_sweeps_resume_to_the_uninterrupted_result(tmp_path):
    path = sweep_file(tmp_path, steps=60, vary=VARY)
    reference = tmp_path / "reference"
    run_sweep(load_sweep(path), reference, workers=1)
    out = tmp_path / "killed"
    finished = [kill_when(start_sweep(path, out, resume=False), out, 1)]
    for more in (2, 5):
        finished.append(kill_when(start_sweep(path, out, resume=True), out,
                                  len(list(out.glob("part-*.parquet"))) + more))
    assert 1 <= finished[0] < TOTAL  # really killed mid-sweep
    assert finished == sorted(finished)  # never lost a finished chunk
    resumed = start_sweep(path, out, resume=True)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()
    rows = sorted_rows(out)
    assert not rows.duplicated(["run_id", "step", "metric"]).any()
    assert rows["run_id"].nunique() == TOTAL
    pd.testing.assert_frame_equal(rows, sorted_rows(reference), check_exact=True)
