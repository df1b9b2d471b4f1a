"""Mesa-native use: model.datacollector, running, and mesa.batch_run."""

from __future__ import annotations

import multiprocessing
import warnings

import mesa
import numpy as np
import pandas as pd
import pytest

from model.organization import OrganizationModel

SMALL = {"n_employees": 100, "steps": 30}


@pytest.fixture()
def keep_start_method():
    """batch_run forces the 'spawn' start method for the whole process; put it back."""
    previous = multiprocessing.get_start_method(allow_none=True)
    yield
    multiprocessing.set_start_method(previous, force=True)


def test_datacollector_holds_the_recorded_results_and_running_ends_with_the_run():
    model = OrganizationModel(rng=4, **SMALL)
    assert model.running
    while model.running:
        model.step()
    assert model.steps == SMALL["steps"]
    frame = model.datacollector.get_model_vars_dataframe()
    expected = model.results.to_frame().drop(columns="step")
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    reporter = model.datacollector.model_reporters["coasting_share"]
    assert reporter(model) == frame["coasting_share"].iloc[-1]


def test_batch_run_with_seeds_reproduces_the_engine(keep_start_method):
    results = mesa.batch_run(OrganizationModel, parameters={**SMALL, "autonomy": [0.2, 0.8]},
                             rng=[1, 2], max_steps=1000, display_progress=False)
    table = pd.DataFrame(results)
    assert len(table) == 4 and (table["Step"] == SMALL["steps"]).all()  # stopped by running
    row = table[(table["autonomy"] == 0.8) & (table["rng"] == 2)].iloc[0]
    direct = OrganizationModel(rng=2, autonomy=0.8, **SMALL).run()
    assert row["coasting_share"] == direct.results.to_frame()["coasting_share"].iloc[-1]
    assert table.groupby("autonomy")["mean_commitment"].mean().diff().iloc[-1] > 0


def test_batch_run_with_iterations_and_every_step(keep_start_method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Mesa prefers rng=[...]
        results = mesa.batch_run(OrganizationModel, parameters=SMALL, iterations=2,
                                 max_steps=10, data_collection_period=1,
                                 display_progress=False)
    table = pd.DataFrame(results)
    assert sorted(table["iteration"].unique()) == [0, 1]
    assert list(table[table["iteration"] == 0]["Step"]) == list(np.arange(11.0))
