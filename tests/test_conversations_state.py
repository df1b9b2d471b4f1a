"""The compiled step of conversations: its cached state and its own permutation."""

import numpy as np
import pytest

from model import OrganizationModel
from model.processes.adoption import permutation
from model.processes.conversations import contact_weights, formal_weights
from model.rng import RandomStreams
from scenarios.settings import load_setting


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000, 70_000])
def test_permutation_draws_numpys_permutation(n):
    ours, numpys = RandomStreams(3)["x"], RandomStreams(3)["x"]
    assert (permutation(ours, n) == numpys.permutation(n)).all()
    assert ours.random() == numpys.random()  # the stream is left where numpy leaves it


def _run(setting: str, overrides: dict, fresh_state_each_step: bool) -> tuple:
    s = load_setting(setting)
    p = s.parameters()
    p = type(p)(**{**p.model_dump(), **overrides})
    model = OrganizationModel(p, rng=6, roadmap=s.roadmap(p), chart=s.chart)
    conv = model.conversations
    builds = []
    build = conv._build_state
    conv._build_state = lambda: builds.append(model.steps) or build()
    for _ in range(p.steps):
        if fresh_state_each_step:
            conv._state = None
        model.step()
    arrays = (model.beliefs.practice, model.people.effort, model.network.strength,
              model.ideas.adoptions[: model.ideas.n], conv.sought)
    return model.results.to_frame(), arrays, builds


@pytest.mark.parametrize("setting, overrides", [
    ("shared_authority", {"n_employees": 200, "steps": 40, "adoption_threshold": 2}),
    ("scenarios/company/acme.toml", {"steps": 30}),  # a roadmap changes parameters
])
def test_cached_state_sees_elections_roadmaps_and_registry_growth(setting, overrides):
    """A run that keeps its compiled state between steps equals one that rebuilds it
    before every step, and the state was rebuilt when arrays were replaced."""
    cached, cached_arrays, builds = _run(setting, overrides, fresh_state_each_step=False)
    fresh, fresh_arrays, _ = _run(setting, overrides, fresh_state_each_step=True)
    assert 1 < len(builds) < overrides["steps"]  # rebuilt on change only
    assert cached.equals(fresh)
    for a, b in zip(cached_arrays, fresh_arrays, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("setting, steps", [("hierarchical", 0),
                                            ("scenarios/company/acme.toml", 30)])
def test_contact_weights_equal_the_models_contact_factor(setting, steps):
    """The compiled contact weights (one call) equal the model's own numpy constraint
    factors of every informal half-edge and the formal weights, bit for bit, also once a
    roadmap has changed per-unit values and elections have changed roles."""
    s = load_setting(setting)
    p = s.parameters()
    model = OrganizationModel(p, rng=4, roadmap=s.roadmap(p), chart=s.chart)
    model.run(steps)
    m, st, net = model, model.structure, model.network
    power_distance = m.per_employee("power_distance")
    factor, w_formal, prefix = contact_weights(
        net.indptr, net.target, m._unit, m._manager, m._level,
        m.per_employee("lateral_openness"), power_distance, m.people.position, st.parent,
        st.unit_start, st.unit_size, st.n_children, float(p.formal_tie_strength))
    source = np.repeat(np.arange(m.people.n), np.diff(net.indptr))
    want = m.contact_factor(source, net.target)
    assert len(np.unique(want)) >= 2  # some contacts constrained
    np.testing.assert_array_equal(factor, want)
    np.testing.assert_array_equal(w_formal, formal_weights(
        m.people.position, st.parent, st.unit_start, st.unit_size, st.n_children,
        float(p.formal_tie_strength), power_distance))
    assert len(prefix) == max(1, np.diff(net.indptr).max())
