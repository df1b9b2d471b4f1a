"""The benchmark's Mesa yardsticks do the work they claim (a broken one would flatter us)."""

import numpy as np

from benchmarks.mesa_baseline import BaselineModel, ConversationBaselineModel


def test_same_rules_baseline_talks_spreads_ideas_and_moves_ties():
    model = ConversationBaselineModel(400, rng=3)
    people = list(model.agents)
    holders = sum(p.idea is not None for p in people)
    norms = np.array([p.effort_norm for p in people])
    model.run(30)
    assert sum(p.idea is not None for p in people) > 2 * holders
    assert not np.allclose(norms, [p.effort_norm for p in people])
    strengths = [s for p in people for s in p.ties.values()]
    assert max(strengths) > 0.6 and min(strengths) < 0.4  # reinforced and faded
    # constraints at work: a contact up the hierarchy is damped by power distance
    boss, report = people[0], people[1]
    assert report.constraint(boss) == 1.0 - model.p.power_distance


def test_lean_baseline_moves_norms_and_passes_ideas():
    model = BaselineModel(400, rng=3)
    before = sum(p.has_idea for p in model.agents)
    efforts = np.array([p.effort for p in model.agents])
    model.run(20)
    assert sum(p.has_idea for p in model.agents) > before
    assert np.std([p.effort for p in model.agents]) < np.std(efforts)
