"""A deep copy of a model mid-run (a snapshot to run on from, or to branch from) runs on
as the original does, and the two share nothing."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from model import OrganizationModel, Parameters
from scenarios.settings import load_setting

STEPS = 40


def plain() -> OrganizationModel:
    return OrganizationModel(Parameters(n_employees=150, steps=STEPS), rng=11)


def client_with_roadmap() -> OrganizationModel:
    setting = load_setting("scenarios/company/acme_roadmap.toml")
    p = setting.parameters({"steps": STEPS})
    return OrganizationModel(p, rng=11, chart=setting.chart, roadmap=setting.roadmap(p))


def complex_contagion() -> OrganizationModel:
    return OrganizationModel(Parameters(n_employees=150, steps=STEPS, adoption_threshold=2),
                             rng=11)


@pytest.mark.parametrize("make", [plain, client_with_roadmap, complex_contagion])
def test_a_copy_mid_run_and_its_original_both_end_as_an_uncopied_run(make):
    expected = make().run(STEPS).results.to_frame()
    original = make().run(7)
    twin = copy.deepcopy(original)
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
