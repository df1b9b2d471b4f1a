"""Cached argument bundles of the compiled kernels (model/bundle.py) never go stale: a run
whose bundles are rebuilt every call equals the cached run, through registry growth,
elections and changes of per-unit parameters mid-run."""

import numpy as np
import pytest

import model.bundle
from model import OrganizationModel
from model.bundle import BundleCache, entry_point
from scenarios.settings import load_setting

REGISTRY = ("origin", "birth", "dims", "values", "adopters", "peak", "adoptions",
            "approvals", "sanctioned", "sanctioned_step", "squashed", "squashed_step",
            "reviewer", "adopted_value_sum", "step_half", "step_wide", "market", "audience")
CHANGES = {  # week -> mid-run change of parameters the kernels read per employee
    6: {"customer_problem_rate": 0.6, "customer_insight": 0.9},
    9: {"review_time": 1.0, "review_noise": 0.05, "approval_tolerance": 0.5},
    12: {"approval_levels": 0, "codify_share": 0.02},
    15: {"socialization_rate": 0.3, "idea_forum_reach": 0.2},
}


def run(setting: str, *, grow_at: int | None = None, steps: int = 24) -> OrganizationModel:
    """A fixed-seed run with the mid-run changes; ``grow_at``: replace the registry's
    arrays (a growth) before that week."""
    values = {**load_setting(setting).values, "n_employees": 240, "steps": steps}
    model = OrganizationModel(rng=3, **values)
    for week in range(1, steps + 1):
        if week in CHANGES:
            model.intervene(CHANGES[week])
        if week == grow_at:
            version = model.ideas.version
            model.ideas.reserve(model.ideas.capacity - model.ideas.n + 1)
            assert model.ideas.version == version + 1  # the arrays were replaced
        model.step()
    return model


def fingerprint(model: OrganizationModel) -> list[np.ndarray]:
    reg = model.ideas
    return [model.results.values[: model.results.rows], model.beliefs.practice,
            model.beliefs.source, model.beliefs.code, *(getattr(reg, f)[: reg.n] for f in
                                                         REGISTRY), *reg.history]


def assert_same(a: OrganizationModel, b: OrganizationModel) -> None:
    fa, fb = fingerprint(a), fingerprint(b)
    assert len(fa) == len(fb)
    for x, y in zip(fa, fb, strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.fixture
def uncached(monkeypatch):
    """Bundles rebuilt on every call (the slow path)."""
    original = BundleCache.get

    def rebuilt(self, key):
        self._key = ()
        return original(self, key)

    monkeypatch.setattr(BundleCache, "get", rebuilt)


@pytest.mark.parametrize("setting", ["heroes_programme", "hierarchical"])
def test_cached_bundles_equal_bundles_rebuilt_every_call(setting, request):
    cached = run(setting, grow_at=4)
    request.getfixturevalue("uncached")
    rebuilt = run(setting, grow_at=4)
    assert cached.ideas.n > 20 and cached.ideas.approvals[: cached.ideas.n].any()
    assert_same(cached, rebuilt)


def test_a_growth_of_the_registry_mid_run_changes_nothing():
    grown = run("heroes_programme", grow_at=8)
    plain = run("heroes_programme")
    assert_same(grown, plain)


def test_a_change_of_rates_mid_run_reaches_the_kernels():
    model = run("heroes_programme", steps=8)
    born = model.results.to_frame()["ideas_born"].to_numpy()
    model.intervene({"customer_problem_rate": 0.0})
    for _ in range(4):
        model.step()
    after = model.results.to_frame()["ideas_born"].to_numpy()[len(born):]
    assert born[1:].sum() > 0 and (after == 0).all()


SETTINGS = ("hierarchical", "shared_authority", "heroes_programme", "inverted_pyramid",
            "purpose_driven")


@pytest.mark.parametrize("setting", SETTINGS)
def test_every_call_through_an_entry_point_passes_the_types_it_was_bound_for(setting,
                                                                            monkeypatch):
    """Kernels called through their entry points skip numba's typing: with every such
    call checked (through registry growth and mid-run changes), none passes another
    type than it was bound for, and the run equals the unchecked one."""
    plain = run(setting, grow_at=4)
    monkeypatch.setattr(model.bundle, "CHECK_ENTRY_TYPES", True)
    checked = run(setting, grow_at=4)
    assert_same(plain, checked)


def test_a_checked_entry_refuses_arguments_of_other_types(monkeypatch):
    from numba import njit

    @njit
    def total(values):
        return values.sum()

    monkeypatch.setattr(model.bundle, "CHECK_ENTRY_TYPES", True)
    call = entry_point(total, np.ones(3))
    assert call(np.arange(4.0)) == 6.0
    with pytest.raises(TypeError, match="total bound for"):
        call(np.arange(4))  # int64: unchecked, the entry would read its bytes as floats
