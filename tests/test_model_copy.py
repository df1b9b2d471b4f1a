"""A deep copy of a model mid-run (a snapshot to run on from, or to branch from), or a
pickled one loaded again (in this process or another), runs on as the original does, and
the two share nothing."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model import OrganizationModel, Parameters
from model.parallel import PARALLEL_MIN
from model.results import METRICS, Metric, Tally
from scenarios.settings import load_setting

STEPS = 40


def plain() -> OrganizationModel:
    return OrganizationModel(Parameters(n_employees=150, steps=STEPS), rng=11)


def client_with_roadmap() -> OrganizationModel:
    setting = load_setting("scenarios/company/acme_roadmap.toml")
    p = setting.parameters({"steps": STEPS})
    return OrganizationModel(p, rng=11, chart=setting.chart, roadmap=setting.roadmap(p))


def large() -> OrganizationModel:
    """An organization that steps process by process, each with its own bundle."""
    return OrganizationModel(Parameters(n_employees=PARALLEL_MIN, steps=STEPS), rng=11)


def complex_contagion() -> OrganizationModel:
    return OrganizationModel(Parameters(n_employees=150, steps=STEPS, adoption_threshold=2),
                             rng=11)


def pickled(model: OrganizationModel) -> OrganizationModel:
    """``model`` pickled and loaded again."""
    return pickle.loads(pickle.dumps(model))


@pytest.mark.parametrize("copier", [copy.deepcopy, pickled])
@pytest.mark.parametrize("make", [plain, client_with_roadmap, complex_contagion, large])
def test_a_copy_mid_run_and_its_original_both_end_as_an_uncopied_run(make, copier):
    expected = make().run(STEPS).results.to_frame()
    original = make().run(7)
    twin = copier(original)
    # interleaved, so a compiled bundle or array the two shared would show in both
    for chunk in (3, 10, 1, 19):
        twin.run(chunk)
        original.step() if chunk == 1 else original.run(chunk)
    for model in (original, twin):
        assert model.steps == STEPS
        got = model.results.to_frame()
        assert got.equals(expected), got.compare(expected).head()
    assert not np.shares_memory(original.people.effort, twin.people.effort)
    assert not np.shares_memory(original.network.strength, twin.network.strength)


def test_a_change_to_the_copy_leaves_the_original_alone():
    original = plain().run(5)
    twin = copy.deepcopy(original)
    twin.intervene({"power_distance": 0.95})
    twin.run(20)
    original.run(20)
    untouched = plain().run(25)
    assert original.results.to_frame().equals(untouched.results.to_frame())
    assert not twin.results.to_frame().equals(untouched.results.to_frame())


def test_a_model_pickled_mid_run_runs_on_in_another_process(tmp_path):
    expected = client_with_roadmap().run(STEPS).results.to_frame()
    snapshot = tmp_path / "week7.pickle"
    model = client_with_roadmap().run(7)
    model.datacollector.model_reporters  # noqa: B018 (the reporters are made on first use)
    snapshot.write_bytes(pickle.dumps(model))
    out = tmp_path / "rest.parquet"
    script = ("import pickle, sys; from pathlib import Path; "
              "m = pickle.loads(Path(sys.argv[1]).read_bytes()); "
              f"m.run({STEPS - 7}); m.results.to_frame().to_parquet(sys.argv[2])")
    subprocess.run([sys.executable, "-c", script, str(snapshot), str(out)], check=True,
                   cwd=Path(__file__).parents[1], timeout=600)
    got = pd.read_parquet(out)
    assert got.equals(expected), got.compare(expected).head()


def test_a_loaded_model_keeps_its_agents_reporters_and_metrics():
    original = plain().run(9)
    twin = pickled(original)
    assert [a.unique_id for a in twin.agents] == [a.unique_id for a in original.agents]
    assert [a.effort for a in twin.agents] == [a.effort for a in original.agents]
    assert all(a.model is twin for a in twin.agents)
    reporters = pickled(original).datacollector.model_reporters
    assert reporters["mean_effort"](twin) == original.results.to_frame()["mean_effort"].iloc[-1]
    # the built-in metrics load as the very objects of METRICS: their row stays compiled
    assert all(a is b for a, b in zip(twin.results.metrics, METRICS, strict=True))
    assert twin.results.fills_builtin


def _double_effort(model: OrganizationModel, tally: Tally) -> float:
    return 2 * tally.effort_sum / tally.n


class WithOwnMetric(OrganizationModel):
    step_metrics = (*METRICS, Metric("double_effort", "Twice the mean effort.", _double_effort))


def test_a_model_with_its_own_metric_pickles_and_runs_on():
    expected = WithOwnMetric(Parameters(n_employees=120, steps=20), rng=4).run(20)
    model = pickled(WithOwnMetric(Parameters(n_employees=120, steps=20), rng=4).run(6)).run(14)
    frame = model.results.to_frame()
    assert frame.equals(expected.results.to_frame())
    assert np.allclose(frame["double_effort"], 2 * frame["mean_effort"])
