"""A small organization's run with less fixed cost per step, the same results bit for bit:
the tracer planted inside the compiled run of several steps (model.fused.fused_run), and
the leaders' overlap counted in one serial pass below PARALLEL_MIN employees."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import model.fused
import model.organization
from model.ideas import IdeaRegistry
from model.results import _score_counts, _score_tallies, top_k_overlap
from tests.test_fused_run import Unfused, assert_same, build, by_hand


@pytest.fixture
def calls(monkeypatch) -> list[tuple[int, int]]:
    """(first step, steps asked) of each call of the compiled run of several steps."""
    seen, kernel = [], model.fused.fused_run
    monkeypatch.setattr(model.fused, "fused_run", lambda *a: seen.append(a[2:4]) or kernel(*a))
    return seen


def tracer_id(org) -> int:
    """The tracer's slot in the registry: how many ideas were born before it."""
    return int(np.flatnonzero(org.ideas.is_probe[:org.ideas.n])[0])


@pytest.mark.parametrize("probe_step", [1, 2, 20, 30])
def test_the_tracer_is_planted_inside_one_call(probe_step, calls):
    ran = build(probe_idea_step=probe_step).run()
    assert calls == [(1, 30)]  # no call ends where the tracer is planted
    assert ran.ideas.birth[tracer_id(ran)] == probe_step
    assert_same(ran, by_hand(build(probe_idea_step=probe_step), 30))
    assert_same(ran, build(Unfused, probe_idea_step=probe_step).run())


@pytest.mark.parametrize("seed", range(4))
def test_a_tracer_planted_in_a_run_in_pieces_equals_one_run(seed, calls):
    pieces = build(seed=seed, probe_idea_step=7)
    for steps in (3, 4, 1, 22):  # the tracer's step the first of a piece, then the last
        pieces.run(steps)
    assert_same(pieces, build(seed=seed, probe_idea_step=7).run())


@pytest.mark.parametrize("seed", range(3))
def test_a_registry_full_at_the_tracers_step_grows_then_the_call_goes_on(
        seed, monkeypatch, calls):
    usual = build(seed=seed).run()
    full = tracer_id(usual)  # births of the tracer's step fill a registry of this size
    monkeypatch.setattr(model.organization, "IdeaRegistry",
                        functools.partial(IdeaRegistry, capacity=full))
    calls.clear()
    grown = build(seed=seed)
    grown.run()
    assert grown.ideas.version >= 1
    assert calls[:2] == [(1, 30), (20, 11)]  # stopped at the tracer's step, then its rest
    assert_same(grown, usual)


def test_no_ideas_and_no_tracer_run_in_one_call(calls):
    ran = build(customer_problem_rate=0.0, probe_idea_step=500).run()
    assert calls == [(1, 30)] and ran.ideas.n == 0
    assert_same(ran, build(Unfused, customer_problem_rate=0.0, probe_idea_step=500).run())


def test_the_serial_tally_of_scores_equals_the_blocked_one():
    rng = np.random.default_rng(5)
    for n in (1, 2, 3, 7, 100, 999):
        for top in (0, 1, 5, 40):
            score = rng.integers(0, top + 1, n)
            member = rng.random(n) < 0.3
            blocks = _score_counts(score, member)
            counts, members = _score_tallies(score, member)
            np.testing.assert_array_equal(counts, blocks[0].sum(axis=0))
            np.testing.assert_array_equal(members, blocks[1].sum(axis=0))


def test_top_k_overlap_of_a_small_organization_is_the_expected_share():
    """Against the definition: members among the k highest scores, the tied scores at the
    k-th place sharing the places left in proportion."""
    rng = np.random.default_rng(8)
    for _ in range(300):
        n = int(rng.integers(2, 200))
        score = rng.integers(0, int(rng.integers(1, 12)), n)
        member = rng.random(n) < rng.random()
        k = int(rng.integers(1, n))
        ordered = np.sort(score)[::-1]
        cut = ordered[k - 1]
        above = score > cut
        tied = score == cut
        expected = (member[above].sum() + member[tied].sum() * (k - above.sum()) / tied.sum()) / k
        assert top_k_overlap(score, member, k) == pytest.approx(expected, rel=1e-12)
