"""The adaptive search of calibration (experiments/smc.py) on a known posterior, without the
engine: a sharp Gaussian likelihood over a uniform and a log-uniform prior, whose posterior
is (to within the prior's truncation, 10 sd away) the Gaussian itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments import smc
from experiments.calibration import prior_latents, weighted_quantile
from experiments.targets import Prior

PRIORS = (Prior("a", 0.0, 1.0, False, False), Prior("b", 0.01, 1.0, True, False))
CENTRE = np.array([0.6, np.log(0.1)])  # in (a, log b)
SD = np.array([0.03, 0.1])
POPULATION, GENERATIONS, SEED = 60, 8, 11


def loglik(point: dict) -> float:
    x = np.array([point["a"], np.log(point["b"])])
    return float(-0.5 * np.sum(((x - CENTRE) / SD) ** 2))


def table(latents: np.ndarray, start: int = 0) -> pd.DataFrame:
    rows = []
    for k, z in enumerate(latents, start=start):
        point = smc.from_latent(PRIORS, z)
        rows.append({"point": k, **point, **dict(zip(smc.latent_names(PRIORS), z,
                                                     strict=True)), "loglik": loglik(point)})
    return pd.DataFrame(rows)


def search(generations: int = GENERATIONS, population: int = POPULATION) -> pd.DataFrame:
    """The calibration's generation loop, in memory: the same functions choose the points."""
    trials = table(prior_latents(PRIORS, population, SEED))
    for g in range(1, generations):
        start = g * population
        z = smc.next_latents(trials, PRIORS, population, start, start + population, SEED)
        trials = pd.concat([trials, table(z, start)], ignore_index=True)
    return trials


@pytest.fixture(scope="module")
def adaptive() -> pd.DataFrame:
    return search()


def test_adaptive_search_recovers_a_known_posterior_with_a_high_ess(adaptive):
    w, schedule = smc.posterior_weights(adaptive, PRIORS, POPULATION)
    ess = 1 / np.sum(w ** 2)
    # the same budget drawn from the prior alone: the posterior covers ~0.5% of the prior
    bank = table(prior_latents(PRIORS, POPULATION * GENERATIONS, SEED))
    w0, _ = smc.posterior_weights(bank.assign(point=0), PRIORS, len(bank))
    assert ess > 100 > 10 > 1 / np.sum(w0 ** 2), (ess, 1 / np.sum(w0 ** 2))
    assert schedule.temperatures[0] == 0 and schedule.temperatures[-1] == 1
    assert np.all(np.diff(schedule.temperatures) >= 0)
    a = adaptive["a"].to_numpy()
    log_b = np.log(adaptive["b"].to_numpy())
    # With ESS > 100, a weighted mean is within ~3 se = 3 sd / 10 of the truth and a 90%
    # interval's ends within ~0.35 sd of +-1.645 sd (tolerances below: 0.3 and 0.4 sd).
    for x, centre, sd in ((a, CENTRE[0], SD[0]), (log_b, CENTRE[1], SD[1])):
        assert np.sum(w * x) == pytest.approx(centre, abs=0.3 * sd)
        assert weighted_quantile(x, w, 0.05) == pytest.approx(centre - 1.645 * sd, abs=0.4 * sd)
        assert weighted_quantile(x, w, 0.95) == pytest.approx(centre + 1.645 * sd, abs=0.4 * sd)


def test_generation_table_reports_a_rising_posterior_ess(adaptive):
    _, schedule = smc.posterior_weights(adaptive, PRIORS, POPULATION)
    rows = smc.generation_table(adaptive, PRIORS, POPULATION, schedule)
    assert list(rows["generation"]) == list(range(GENERATIONS))
    assert (rows["points"] == POPULATION).all()
    assert rows["posterior_ess"].iloc[-1] > 5 * rows["posterior_ess"].iloc[0]


def test_proposals_depend_on_the_point_index_only(adaptive):
    """Proposing a generation's points in any order, or a subset, gives the same points."""
    earlier = adaptive[adaptive["point"] < 2 * POPULATION]
    start = 2 * POPULATION
    whole = smc.next_latents(earlier, PRIORS, POPULATION, start, start + POPULATION, SEED)
    tail = smc.next_latents(earlier, PRIORS, POPULATION, start + 7, start + POPULATION, SEED)
    np.testing.assert_array_equal(whole[7:], tail)
    shuffled = earlier.sample(frac=1.0, random_state=3)  # finished in another order
    np.testing.assert_array_equal(
        whole, smc.next_latents(shuffled.sort_values("point"), PRIORS, POPULATION, start,
                                start + POPULATION, SEED))
    values = [smc.from_latent(PRIORS, z) for z in whole]
    assert all(0 <= v["a"] <= 1 and 0.01 <= v["b"] <= 1 for v in values)  # inside the priors


def test_latent_map_covers_integer_and_log_priors():
    priors = (Prior("k", 2, 5, False, True), Prior("r", 0.001, 0.1, True, False))
    z = smc.to_latent(np.array([[0.0, 0.0], [0.26, 0.5], [0.999, 1.0]]))
    values = [smc.from_latent(priors, row) for row in z]
    assert [v["k"] for v in values] == [2, 3, 5]
    assert values[1]["r"] == pytest.approx(0.01)
    assert values[0]["r"] == pytest.approx(0.001) and values[2]["r"] == pytest.approx(0.1)
