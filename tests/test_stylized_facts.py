"""Stylized facts that must emerge from the mechanisms (parameters set, outcomes never)."""

import numpy as np

from tests.conftest import mean_summary, summaries

# social loafing: managers watch one report per step; little else is visible
LOAFING = dict(n_employees=1000, steps=120, formal_structure="tree", monitoring_capacity=1.0,
               work_visibility=0.02, peer_sanction_power=0.0, manager_sanction_power=0.9)
SEEDS = range(3)


def test_hidden_coasting_rises_with_span_of_control_at_fixed_monitoring():
    hidden = [mean_summary(SEEDS, **LOAFING, span_of_control=s)["hidden_coasting_share"]
              for s in (3, 6, 12, 24)]
    assert np.all(np.diff(hidden) > 0.01), hidden
    assert hidden[-1] > 2 * hidden[0]


def test_hidden_coasting_near_zero_when_all_work_is_visible():
    visible = mean_summary(SEEDS, **{**LOAFING, "work_visibility": 1.0}, span_of_control=12)
    assert visible["hidden_coasting_share"] < 0.005
    assert visible["coasting_share"] < 0.02  # identifiable coasting is rare


REFERENCE = dict(n_employees=500, steps=200)
REF_SEEDS = range(5)


def test_hierarchy_hides_more_coasting_and_slows_a_good_idea():
    h = summaries(REF_SEEDS, "hierarchical", **REFERENCE)
    s = summaries(REF_SEEDS, "shared_authority", **REFERENCE)
    assert h["hidden_coasting_share"].mean() > 0.05
    assert h["hidden_coasting_share"].mean() > 5 * s["hidden_coasting_share"].mean() + 0.02
    # a good idea (the tracer, born at step 20) reaches half the organization later, if at
    # all (runs where it never does are censored at the end of the run), and half a year
    # after its birth fewer use it; since ideas compete only within their market and the
    # sanctioned tracer is taught from the playbook, the gap is no longer twofold
    censored = REFERENCE["steps"] - 20
    t_h = h["time_to_50pct_adoption"].fillna(censored).median()
    t_s = s["time_to_50pct_adoption"].fillna(censored).median()
    assert t_s < censored
    assert t_h > t_s
    assert s["probe_share_26w"].mean() > h["probe_share_26w"].mean() + 0.05
