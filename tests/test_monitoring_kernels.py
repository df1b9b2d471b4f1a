"""Monitoring's draws in parallel blocks equal its draws one employee after another."""

import numpy as np
import pytest

from model.employees import DETECTED, HIDDEN, NEVER, WORKING
from model.parallel import PARALLEL_MIN
from model.processes.monitoring import _follow_up, _monitor_in_order, _observe_in_blocks
from model.rng import RandomStreams


@pytest.mark.parametrize(("n", "coasting_share"), [(1, 1.0), (5000, 0.3), (5000, 0.0),
                                                   (PARALLEL_MIN + 30_001, 0.1)])
def test_monitoring_in_blocks_equals_the_pass_in_order(n, coasting_share):
    """Some employees without a manager or without unit colleagues (no draw), some seen by
    a conversation partner (no peer draw), some coasting (one or two sanction draws), in
    every coasting state: the observations in parallel blocks and their follow-up give
    what the one pass in order gives, every array, count and the stream included."""
    rng = np.random.default_rng(n)
    witnessed = rng.random(n) < 0.3
    by_manager = np.where(rng.random(n) < 0.1, -1.0, rng.random(n))
    by_peer = np.where(rng.random(n) < 0.1, -1.0, rng.random(n))
    effort = np.where(rng.random(n) < coasting_share, 0.1, 0.6)
    manager_power = np.where(rng.random(n) < 0.2, 0.0, rng.random(n))
    peer_power = np.where(rng.random(n) < 0.2, 0.0, rng.random(n))
    coast_state = rng.choice(np.array([WORKING, HIDDEN, DETECTED], np.int8), n)
    hidden_since = np.where(coast_state == HIDDEN, rng.integers(0, 30, n), NEVER)
    start = (rng.random(n), rng.random(n), coast_state, hidden_since)
    step, learning, threshold, loss = 30, 0.2, 0.25, 0.1
    streams = (RandomStreams(2)["monitoring"], RandomStreams(2)["monitoring"])
    outcomes = []
    for in_order, stream in zip((True, False), streams, strict=True):
        seen = np.full(n, -1, np.int8)
        sanctioned = np.zeros(n, np.bool_)
        watch_belief, commitment, state, since = (a.copy() for a in start)
        arrays = (watch_belief, commitment, state, since, sanctioned)
        tail = (manager_power, peer_power, learning, threshold, loss, step)
        if in_order:
            counts = _monitor_in_order(stream, seen, witnessed, by_manager, by_peer, effort,
                                       *arrays, *tail)
        else:
            _observe_in_blocks(stream, seen, witnessed, by_manager, by_peer, effort,
                               manager_power, peer_power, threshold)
            counts = _follow_up(seen, effort, *arrays, *tail)
        outcomes.append((seen, *arrays, counts))
    for a, b in zip(*outcomes, strict=True):
        np.testing.assert_array_equal(a, b)
    seen, _, commitment, state, _, sanctioned, counts = outcomes[0]
    assert (seen >= 0).all()
    if n > 1 and coasting_share:  # the cases occur
        assert sanctioned.any() and counts[0] > 0 and counts[2] > 0
        assert (commitment < start[1]).any() and (state == HIDDEN).any()
    assert streams[0].random() == streams[1].random()  # as many draws taken
