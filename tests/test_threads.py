"""Parallel kernels: the same seed gives the same run on one thread and on two."""

import numba
import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_model

pytestmark = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                                reason="numba has a single thread here")


def run_on_threads(threads: int, setting: str | None, **overrides):
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        return run_model(5, setting, n_employees=3000, steps=30, **overrides)
    finally:
        numba.set_num_threads(before)


@pytest.mark.parametrize("setting, overrides", [
    ("hierarchical", {}),
    ("shared_authority", {"conversations_per_step": 2, "turnover_rate": 0.01}),
])
def test_one_and_two_threads_give_identical_runs(setting, overrides):
    one, two = (run_on_threads(k, setting, **overrides) for k in (1, 2))
    pd.testing.assert_frame_equal(one.results.to_frame(), two.results.to_frame())
    for name in ("effort", "commitment", "watch_belief", "reputation", "coast_state"):
        np.testing.assert_array_equal(getattr(one.people, name), getattr(two.people, name))
    np.testing.assert_array_equal(one.beliefs.practice, two.beliefs.practice)
    np.testing.assert_array_equal(one.network.strength, two.network.strength)
