"""Invariants: shares within [0, 1], no NaN, incremental counts equal recounts."""

import numpy as np
import pytest

from scenarios.settings import available_settings
from tests.conftest import assert_finite_shares, run_model

SETTINGS = sorted(available_settings())


@pytest.fixture(scope="module", params=SETTINGS + ["complex_contagion", "fully_mixed"])
def finished(request):
    extra = {"complex_contagion": {"adoption_threshold": 2},
             "fully_mixed": {"informal_network": "fully_mixed", "idea_forum_reach": 0.1}}
    if request.param in extra:
        return run_model(3, None, n_employees=400, steps=80, **extra[request.param])
    return run_model(3, request.param, n_employees=400, steps=80, rotation_period=10)


def test_timeseries_has_no_nan_and_shares_in_unit_interval(finished):
    frame = finished.results.to_frame()
    assert len(frame) == finished.p.steps + 1
    assert not frame.isna().any().any()
    assert_finite_shares(frame)


def test_fit_counts_equal_recount(finished):
    b = finished.beliefs
    np.testing.assert_array_equal(b.matches, (b.practice == b.need).sum(axis=1))
    np.testing.assert_array_equal(b.ideas_in_use, (b.source >= 0).sum(axis=1))


def test_idea_adopter_counts_equal_recount(finished):
    b, reg = finished.beliefs, finished.ideas
    anchors = reg.anchor[: reg.n]
    recount = np.array([(b.source[:, anchors[k]] == k).sum() for k in range(reg.n)])
    np.testing.assert_array_equal(reg.adopters[: reg.n], recount)
    assert (reg.peak[: reg.n] >= reg.adopters[: reg.n]).all()
    assert (reg.adopters[: reg.n] <= finished.people.n).all()


def test_positions_are_a_permutation(finished):
    people = finished.people
    np.testing.assert_array_equal(finished.occupant[people.position], np.arange(people.n))
    assert finished.structure.is_manager.sum() == len(finished.formal_leaders())


def test_idea_fates_are_consistent(finished):
    reg = finished.ideas
    live = slice(0, reg.n)
    assert not (reg.sanctioned[live] & reg.squashed[live]).any()
    assert (reg.birth[live] <= finished.steps).all()
    sanctioned_at = reg.sanctioned_step[live][reg.sanctioned[live]]
    assert (sanctioned_at >= reg.birth[live][reg.sanctioned[live]]).all()


def test_state_stays_in_bounds(finished):
    people = finished.people
    for name in ("effort", "commitment", "watch_belief", "reputation", "influence",
                 "opportunity"):
        values = getattr(people, name)
        assert np.isfinite(values).all(), name
        assert ((values >= 0) & (values <= 1)).all(), name
    strength = finished.network.strength
    assert ((strength >= 0) & (strength <= 1)).all()


@pytest.mark.parametrize("p1", [1e-300, 0.05, 0.5, 1.0])
def test_socialization_changes_cells_at_its_rate(p1):
    from model import OrganizationModel

    model = OrganizationModel(rng=0, n_employees=2000, n_dimensions=20, socialization_rate=p1)
    b = model.beliefs
    b.code[:] = b.need  # a playbook that holds a belief on every dimension
    differing = int((b.practice != b.code).sum())
    model.playbook.socialize()
    changed = differing - int((b.practice != b.code).sum())
    # binomial count: within 5 standard deviations of differing * p1
    assert abs(changed - differing * p1) <= 5 * np.sqrt(differing * p1 * (1 - p1)) + 1
    np.testing.assert_array_equal(b.matches, (b.practice == b.need).sum(axis=1))
