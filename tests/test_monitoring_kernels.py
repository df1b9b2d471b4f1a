"""Monitoring's draws in parallel blocks equal its draws one employee after another."""

import numpy as np
import pytest

from model.parallel import PARALLEL_MIN
from model.processes.monitoring import _observe_in_blocks, _observe_in_order
from model.rng import RandomStreams


@pytest.mark.parametrize(("n", "coasting_share"), [(1, 1.0), (5000, 0.3), (5000, 0.0),
                                                   (PARALLEL_MIN + 30_001, 0.1)])
def test_observations_in_blocks_equal_those_in_order(n, coasting_share):
    """Some employees without a manager or without unit colleagues (no draw), some seen by
    a conversation partner (no peer draw), some coasting (one or two sanction draws)."""
    rng = np.random.default_rng(n)
    witnessed = rng.random(n) < 0.3
    by_manager = np.where(rng.random(n) < 0.1, -1.0, rng.random(n))
    by_peer = np.where(rng.random(n) < 0.1, -1.0, rng.random(n))
    effort = np.where(rng.random(n) < coasting_share, 0.1, 0.6)
    manager_power, peer_power = rng.random(n), rng.random(n)
    seen = []
    streams = (RandomStreams(2)["monitoring"], RandomStreams(2)["monitoring"])
    for observe, stream in zip((_observe_in_order, _observe_in_blocks), streams, strict=True):
        seen.append(np.full(n, -1, np.int8))
        observe(stream, seen[-1], witnessed, by_manager, by_peer, effort, manager_power,
                peer_power, 0.25)
    np.testing.assert_array_equal(seen[0], seen[1])
    assert (seen[0] >= 0).all()
    assert streams[0].random() == streams[1].random()  # as many draws taken
