"""Replications in threads (experiments.runner.replicate): the same table on any number of
threads, and small organizations' stretches of steps free of the GIL so threads overlap."""

import threading

import numpy as np
import pandas as pd
import pytest

from experiments.runner import replicate
from model import OrganizationModel, Parameters
from model.fused import fused_run
from model.parallel import STEPPING
from scenarios.settings import load_setting

SEEDS = [31, 7, 1_000_003, 7, 12]  # unsorted, one repeated: rows follow this order


@pytest.fixture(scope="module")
def params() -> Parameters:
    # the forum and turnover run between compiled stretches: Python and compiled code mix
    return load_setting("shared_authority").parameters({"n_employees": 80, "steps": 30})


@pytest.fixture(scope="module")
def alone(params) -> pd.DataFrame:
    """Each seed's summary from a model run on its own, in this thread."""
    return pd.DataFrame([OrganizationModel(params, rng=s).run().summary() for s in SEEDS])


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_replicate_matches_runs_alone_on_any_thread_count(params, alone, threads):
    runs = replicate(params, SEEDS, threads=threads)
    assert runs["seed"].tolist() == SEEDS
    pd.testing.assert_frame_equal(runs, alone)


def test_replicate_counts_progress_and_keeps_only_asked_costly_metrics(params):
    ticks = []
    runs = replicate(params, SEEDS[:3], threads=2, metrics=["coasting_share"],
                     progress=lambda: ticks.append(1))
    assert len(ticks) == 3 and len(runs) == 3
    assert "bass_p" not in runs.columns and "coasting_share" in runs.columns


def test_threads_stepping_at_once_give_the_results_of_runs_alone(params):
    """Several organizations stepping in threads at the same time, as a class's pages on
    one server: each run's whole series is that of the run alone."""
    seeds = [3, 4, 5, 6]
    expected = [OrganizationModel(params, rng=s).run().results.to_frame() for s in seeds]
    got: dict[int, pd.DataFrame] = {}
    start = threading.Barrier(len(seeds))

    def run(k: int) -> None:
        model = OrganizationModel(params, rng=seeds[k])
        start.wait()
        for _ in range(3):  # stretches and single steps interleave with the other threads
            model.run(5)
            model.step()
        model.run(params.steps - model.steps)
        got[k] = model.results.to_frame()

    workers = [threading.Thread(target=run, args=(k,)) for k in range(len(seeds))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for k in range(len(seeds)):
        pd.testing.assert_frame_equal(got[k], expected[k])


def test_stretches_of_steps_release_the_gil_and_tbb_needs_no_lock():
    assert fused_run.targetoptions.get("nogil") is True
    import numba

    if numba.config.THREADING_LAYER == "tbb":  # thread-safe: organizations step at once
        assert not hasattr(STEPPING, "acquire")
    else:  # numba's workqueue aborts on parallel loops launched from two threads
        assert hasattr(STEPPING, "acquire")


def test_replicate_a_client_company_with_its_roadmap():
    """The chart and the roadmap are shared by the threads' models, read only."""
    company = load_setting("scenarios/company/acme_roadmap.toml")
    params = company.parameters({"steps": 40})  # the pilot at week 13, the rollout from 39
    roadmap = company.roadmap(params)
    alone = pd.DataFrame([OrganizationModel(params, rng=s, chart=company.chart,
                                            roadmap=roadmap).run().summary() for s in (5, 6)])
    runs = replicate(params, [5, 6], threads=2, chart=company.chart, roadmap=roadmap)
    pd.testing.assert_frame_equal(runs, alone)


def test_replicate_of_no_seeds_is_an_empty_table(params):
    assert replicate(params, [], threads=2).empty


def test_replicate_seeds_are_independent(params):
    runs = replicate(params, [1, 2], threads=2)
    assert not np.array_equal(runs.iloc[0].to_numpy(), runs.iloc[1].to_numpy())
