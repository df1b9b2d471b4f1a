"""Dask engine: a LocalCluster of 2 workers, one killed mid-sweep, gives the local result."""

import os
import signal

import pandas as pd
import pytest

from experiments.sweep import run_sweep
from experiments.sweep_spec import load_sweep
from tests.sweep_helpers import sorted_rows, sweep_file

distributed = pytest.importorskip("distributed")

VARY = {"span_of_control": [4, 6, 8, 10], "work_visibility": [0.05, 0.1, 0.2, 0.3, 0.4]}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local:
        yield local


def test_worker_killed_mid_sweep_loses_nothing(cluster, tmp_path):
    sweep = load_sweep(sweep_file(tmp_path, steps=60, vary=VARY))
    run_sweep(sweep, tmp_path / "local", workers=1)
    with distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
    assert len(pids) == 2
    killed = []

    def kill_one_worker(done: int, total: int) -> None:
        if done >= 2 and not killed:
            victim = sorted(pids.values())[0]
            os.kill(victim, signal.SIGKILL)  # the worker process dies; its nanny restarts it
            killed.append((victim, done, total))

    outcome = run_sweep(sweep, tmp_path / "dask", scheduler=cluster.scheduler_address,
                        chunk_size=1, progress=kill_one_worker)
    assert killed and killed[0][1] < killed[0][2]  # killed mid-sweep
    assert outcome.ran == len(sweep.runs) == 40
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0][0], 0)
    rows = sorted_rows(tmp_path / "dask")
    assert not rows.duplicated(["run_id", "step", "metric"]).any()
    pd.testing.assert_frame_equal(rows, sorted_rows(tmp_path / "local"), check_exact=True)


def test_bad_scheduler_is_one_clear_line_and_writes_nothing(tmp_path, monkeypatch):
    from experiments import sweep as sweep_module
    from model.parameters import ParameterError

    monkeypatch.setattr(sweep_module, "CONNECT_TIMEOUT", "1s")
    sweep = load_sweep(sweep_file(tmp_path, replications=1))
    with pytest.raises(ParameterError, match="--scheduler 'tcp://127.0.0.1:9': cannot connect"):
        run_sweep(sweep, tmp_path / "x", scheduler="tcp://127.0.0.1:9")
    assert not (tmp_path / "x").exists()
