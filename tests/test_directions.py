"""Direction tests: raise one parameter, its mechanism's metric moves the expected way.

Each case runs 3 replications at low and high values with common seeds; the expected
difference must exceed a margin well above the replication noise seen for that metric.
"""

import numpy as np
import pytest

from tests.conftest import mean_summary, run_model

SEEDS = range(3)
BASE = dict(n_employees=400, steps=100)
HIER = dict(BASE, formal_structure="tree", span_of_control=8, approval_levels=2,
            review_time=2.0, power_distance=0.6, peer_sanction_power=0.0)

CASES = [
    # (parameter, low, high, metric, sign, base)
    ("need_drift", 0.0, 0.05, "mean_fit", -1, BASE),
    ("customer_problem_rate", 0.01, 0.1, "ideas_generated", +1, BASE),
    ("hero_share", 0.0, 0.8, "ideas_generated", +1, BASE),
    ("customer_insight", 0.0, 1.0, "mean_born_idea_value", +1, BASE),
    ("lateral_openness", 0.05, 1.0, "cross_unit_conversation_share", +1, BASE),
    ("informal_rewiring", 0.0, 1.0, "cross_unit_conversation_share", +1, BASE),
    ("approval_tolerance", 0.1, 0.9, "ideas_squashed_share", -1, HIER),
    ("approval_levels", 0, 3, "ideas_squashed_share", +1, BASE),
    ("monitoring_capacity", 0.2, 4.0, "hidden_coasting_share", -1, HIER),
    ("work_visibility", 0.0, 0.8, "hidden_coasting_share", -1, HIER),
    ("effort_cost", 0.1, 0.4, "coasting_share", +1, BASE),
    ("sanction_severity", 0.0, 2.0, "coasting_share", -1, HIER),
    ("autonomy", 0.1, 0.9, "mean_commitment", +1, BASE),
    ("manager_support", 0.0, 1.0, "mean_commitment", +1, dict(BASE, autonomy=0.2)),
    ("motive_mean", 0.3, 0.9, "mean_effort", +1, BASE),
    ("idea_forum_reach", 0.0, 0.3, "probe_final_share", +1,
     dict(BASE, probe_idea_step=85, customer_problem_rate=0.0)),
    ("adoption_threshold", 1, 3, "probe_final_share", -1, dict(BASE, probe_idea_step=60)),
    ("unsanctioned_risk", 0.0, 4.0, "probe_final_share", -1, dict(BASE, probe_idea_step=60)),
    ("socialization_rate", 0.0, 0.3, "mean_fit", +1, dict(BASE, need_drift=0.0, steps=30)),
]


@pytest.mark.parametrize("name, low, high, metric, sign, base", CASES,
                         ids=[f"{c[0]}->{c[3]}" for c in CASES])
def test_parameter_moves_its_metric(name, low, high, metric, sign, base):
    lo = mean_summary(SEEDS, **{**base, name: low})[metric]
    hi = mean_summary(SEEDS, **{**base, name: high})[metric]
    scale = max(abs(lo), abs(hi), 1e-9)
    assert sign * (hi - lo) > 0.1 * scale, f"{name}: {metric} {lo:.4f} -> {hi:.4f}"


def test_elected_coordinators_are_the_reputable_ones():
    def leader_reputation_gap(selection: str) -> float:
        gaps = []
        for seed in SEEDS:
            m = run_model(seed, **BASE, formal_structure="teams", rotation_period=5,
                          leader_selection=selection)
            leaders = np.zeros(m.people.n, dtype=bool)
            leaders[m.formal_leaders()] = True
            gaps.append(m.people.reputation[leaders].mean() - m.people.reputation[~leaders].mean())
        return float(np.mean(gaps))

    assert leader_reputation_gap("elected") > leader_reputation_gap("appointed") + 0.05


def test_power_distance_damps_upward_voice_and_talk():
    low = mean_summary(SEEDS, **{**HIER, "power_distance": 0.0})
    high = mean_summary(SEEDS, **{**HIER, "power_distance": 0.95})
    assert high["ideas_sanctioned_share"] < low["ideas_sanctioned_share"]
