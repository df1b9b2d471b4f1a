"""Shortcuts of the step against the plain computations they replace: the results row
filled by one compiled call, arguments of compiled calls cached between steps, and the
datacollector's lazily copied rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model import OrganizationModel
from model.analysis import (
    clustering_and_centralization,
    realized_clustering_and_centralization,
    realized_network,
)
from model.results import METRICS, SORT_BELOW, Metric


class ReportedRow(OrganizationModel):
    """Every metric through its reporter (copies of the built-in metrics are not taken
    for them, so the row is not filled by the compiled call)."""

    step_metrics = tuple(Metric(mt.name, mt.meaning, mt.reporter) for mt in METRICS)


class Uncached(OrganizationModel):
    """Arguments of compiled calls rebuilt at every step."""

    def kernel_version(self) -> tuple:
        return (object(),)


@pytest.mark.parametrize(("n", "steps", "overrides"), [
    (100, 30, {}),
    (SORT_BELOW + 900, 8, {}),  # commitment quantiles from counted buckets
    (300, 30, {"leader_selection": "elected", "rotation_period": 4}),
])
def test_the_compiled_row_equals_the_reporters_bit_for_bit(n, steps, overrides):
    fast = OrganizationModel(rng=5, n_employees=n, steps=steps, **overrides).run()
    slow = ReportedRow(rng=5, n_employees=n, steps=steps, **overrides).run()
    assert fast.results._extra == () and len(slow.results._extra) == len(METRICS)
    np.testing.assert_array_equal(fast.results.values, slow.results.values)


def _run_with_change(model_class, change: dict | None):
    model = model_class(rng=3, n_employees=200, steps=16, leader_selection="elected",
                        rotation_period=3)
    for _ in range(6):
        model.step()
    if change:
        model.intervene(change)
    while model.running:
        model.step()
    return model.results.to_frame()


CHANGE = {"work_visibility": 0.9, "autonomy": 0.9, "manager_support": 0.1,
          "reputation_learning": 0.5, "coasting_threshold": 0.5, "effort_noise": 0.3,
          "need_drift": 0.2, "peer_sanction_power": 0.8, "power_distance": 0.9}


def test_a_change_mid_run_reaches_the_next_step_as_with_arguments_rebuilt_every_step():
    cached = _run_with_change(OrganizationModel, CHANGE)
    pd.testing.assert_frame_equal(cached, _run_with_change(Uncached, CHANGE))
    unchanged = _run_with_change(OrganizationModel, None)
    assert not cached.iloc[7:].equals(unchanged.iloc[7:])  # the change does alter results
    pd.testing.assert_frame_equal(cached.iloc[:7], unchanged.iloc[:7])


def test_the_datacollector_read_mid_run_holds_every_collected_row():
    model = OrganizationModel(rng=2, n_employees=100, steps=12)
    seen = []
    while model.running:
        model.step()
        seen.append(len(model.datacollector.model_vars["mean_effort"]))
    assert seen == list(range(2, 14))  # the initial row and one per step, when read
    frame = model.datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(frame, model.results.to_frame().drop(columns="step"),
                                  check_dtype=False)
    assert model.datacollector._collection_steps == list(np.arange(13.0))


@pytest.mark.parametrize(("n", "overrides"), [
    (120, {}), (400, {"informal_network": "fully_mixed"}), (300, {"metric_window": 1})])
def test_realized_clustering_from_the_pairs_equals_that_of_the_sparse_network(n, overrides):
    model = OrganizationModel(rng=8, n_employees=n, steps=20, **overrides).run()
    expected = clustering_and_centralization(realized_network(model))
    assert expected[0] > 0  # triangles exist, so the comparison can fail
    assert realized_clustering_and_centralization(model) == expected


def test_degrees_and_triangles_of_dense_pairs_equal_the_sparse_products():
    """Long neighbour lists (sorted another way) and repeated pairs, against scipy."""
    import scipy.sparse as sp

    from model.analysis import _clustering_of, _degrees_and_triangles

    rng = np.random.default_rng(3)
    n = 60
    a, b = rng.integers(0, n, 3000), rng.integers(0, n, 3000)
    adj = sp.coo_matrix((np.ones(2 * len(a)), (np.concatenate([a, b]), np.concatenate([b, a]))),
                        shape=(n, n)).tocsr()
    adj.data[:] = 1.0
    adj.setdiag(0)
    adj.eliminate_zeros()
    degree, twice = _degrees_and_triangles(n, a, b)
    assert degree.max() > 32
    assert _clustering_of(degree.astype(np.float64), twice / 2.0) == \
        clustering_and_centralization(adj)
