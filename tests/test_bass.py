"""Stylized fact: fully mixed, no approval, constant rates -> the Bass (1969) curve.

Mapping from mechanism to Bass rates: an employee reads the forum with chance r and
adopts an idea heard with chance a (value, influence and risk weights set to 0), so
the innovation rate is p = -ln(1 - r a) per step. Each employee starts c conversations
and is chosen as partner about c times, hearing an adopter with chance F each time, so
the imitation rate is q = 2 c a. With small per-step rates the discrete-time process
tracks the continuous closed form; 4 x 10,000 employees keep sampling noise near 0.003.
"""

import numpy as np

from model import OrganizationModel
from model.analysis import bass_cdf, fit_bass, probe_curve

C, A, R = 1, 0.02, 0.05


def bass_parameters(n: int, steps: int) -> dict:
    return dict(
        n_employees=n, steps=steps, formal_structure="none", formal_tie_strength=0.0,
        informal_network="fully_mixed", lateral_openness=1.0, power_distance=0.0,
        conversations_per_step=C, adoption_propensity=A, value_weight=0.0,
        influence_weight=0.0, unsanctioned_risk=0.0, approval_levels=0,
        customer_problem_rate=0.0, need_drift=0.0, socialization_rate=0.0,
        codification_rate=0.0, idea_forum_reach=R, forum_memory=100_000, probe_idea_step=0)


def test_mean_adoption_curve_follows_bass_closed_form():
    curves = [probe_curve(OrganizationModel(rng=seed, **bass_parameters(10_000, 400)).run())
              for seed in range(4)]
    mean = np.mean(curves, axis=0)
    p, q = -np.log(1 - R * A), 2 * C * A
    expected = bass_cdf(np.arange(len(mean)), p, q)
    assert np.abs(mean - expected).max() < 0.02
    fitted = fit_bass(mean)
    assert abs(fitted["q"] - q) / q < 0.1
    assert abs(fitted["p"] - p) / p < 0.2


def test_bass_fit_recovers_known_coefficients():
    t = np.arange(120)
    fitted = fit_bass(0.8 * bass_cdf(t, 0.01, 0.3))
    assert abs(fitted["p"] - 0.01) < 1e-4 and abs(fitted["q"] - 0.3) < 1e-3
    assert abs(fitted["m"] - 0.8) < 1e-3
