"""The parallel choice of partners (blocks drawing from jumped copies of the stream) makes
the very conversations and draws of the one-pass serial choice."""

import numpy as np
import pytest

from model.parallel import PARALLEL_MIN
from model.processes.conversations import _along_ties_serial, choose_partners_along_ties
from model.rng import Stream


def _organization(n, isolated_every):
    """Formal units of three in the first half, alone in the second; two informal ties
    each, none for every ``isolated_every``-th employee of the second half (no contact
    weight at all: they start no conversation and take no draw)."""
    rng = np.random.default_rng(8)
    p = np.arange(n)
    half = (n // 2) // 3 * 3
    unit_start = np.where(p < half, p // 3 * 3, p)
    unit_size = np.where(p < half, 3, 1)
    parent = np.full(n, -1)
    child_start, n_children = np.zeros(n, np.int64), np.zeros(n, np.int64)
    degree = np.where((p >= half) & (p % isolated_every == 0), 0, 2)
    indptr = np.concatenate([[0], np.cumsum(degree)])
    target = (np.repeat(p, degree) + rng.integers(1, n, indptr[-1])) % n
    tie = np.arange(indptr[-1])
    strength = rng.uniform(0.05, 1.0, indptr[-1])
    factor = rng.uniform(0.0, 1.0, indptr[-1])
    power_distance = rng.uniform(0.0, 0.6, n)
    return (parent, unit_start, unit_size, child_start, n_children, p, p.copy(), indptr,
            target, tie, strength, factor, power_distance)


def choose_both_ways(n, per_person, formal_strength, isolated_every, seed=3):
    """(serial conversations, parallel conversations, count, serial and parallel stream
    states) of the one-pass and the parallel choice on :func:`_organization`."""
    (parent, unit_start, unit_size, child_start, n_children, position, occupant, indptr,
     target, tie, strength, factor, power_distance) = _organization(n, isolated_every)
    serial_rng, parallel_rng = Stream(np.random.PCG64(seed)), Stream(np.random.PCG64(seed))
    w_formal = np.array([formal_strength * float(unit_size[i] - 1) for i in range(n)])
    out = [np.empty(n * per_person, np.int64) for _ in range(3)]
    count = _along_ties_serial(serial_rng, per_person, parent, unit_start, unit_size,
                               child_start, n_children, position, occupant, indptr, target,
                               tie, strength, factor, w_formal, formal_strength,
                               power_distance, np.empty(2), *out)
    chosen = choose_partners_along_ties(
        parallel_rng, per_person,
        (parent, unit_start, unit_size, child_start, n_children),
        (position, occupant), (indptr, target, tie, strength, factor),
        (formal_strength, power_distance, w_formal, np.empty(2)))
    return ([x[:count] for x in out], chosen, count, serial_rng.bit_generator.state,
            parallel_rng.bit_generator.state)


@pytest.mark.parametrize("isolated_every", [10**9, 997])
def test_parallel_blocks_choose_as_the_serial_pass(isolated_every):
    n, per_person = PARALLEL_MIN + 5_003, 2
    out, chosen, count, serial_state, parallel_state = choose_both_ways(
        n, per_person, 0.8, isolated_every)
    for serial, parallel in zip(out, chosen, strict=True):
        np.testing.assert_array_equal(serial, parallel)
    assert serial_state == parallel_state
    assert count < n * per_person if isolated_every == 997 else count == n * per_person
