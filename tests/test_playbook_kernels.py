"""The playbook's socialization kernels against the plain computation they replace:
every differing cell found, the ranks drawn one by one, the cells taught one by one."""

import numpy as np
import pytest
from numba import njit

from model.beliefs import assign_cells
from model.parallel import PARALLEL_MIN
from model.processes.playbook import socialize_cells
from model.rng import RandomStreams


@njit
def _reference_ranks(rng, total, p1):
    """The draws of the original geometric skips, one list entry per cell taken."""
    taken = []
    log_q = np.log1p(-p1) if p1 < 1.0 else -np.inf
    cell = -1
    while True:
        skip = 0.0 if p1 >= 1.0 else np.log(1.0 - rng.random()) / log_q
        if cell + 1 + skip >= total:
            break
        cell += 1 + int(skip)
        taken.append(cell)
    return np.array(taken, np.int64)


def _reference(rng, state, code, code_source, dims, adopters, p1, gradual):
    practice = state[0]
    differing = np.flatnonzero((code != 0) & (practice != code))  # row-major cells
    ranks = _reference_ranks(rng, len(differing), p1)
    rows, cols = np.divmod(differing[ranks], practice.shape[1])
    values, sources = code[cols].copy(), code_source[cols].copy()
    if gradual:
        moved = practice[rows, cols] != 0
        values[moved], sources[moved] = 0, -1
    assign_cells(state, dims, adopters, rows, cols, values, sources)


def _organization(n, m, seed):
    rng = np.random.default_rng(seed)
    n_ideas = 500
    dims = rng.integers(0, m, (n_ideas, 3))
    practice = rng.integers(-1, 2, (n, m)).astype(np.int8)
    source = np.where(rng.random((n, m)) < 0.3, rng.integers(0, n_ideas, (n, m)), -1)
    need = rng.choice(np.array([-1, 1], np.int8), m)
    matches = (practice == need).sum(axis=1).astype(np.int64)
    in_use = (source >= 0).sum(axis=1).astype(np.int64)
    adopters = np.zeros(n_ideas, np.int64)
    anchored = (source >= 0) & (dims[source.clip(0), 0] == np.arange(m))  # an idea's anchor
    np.add.at(adopters, source[anchored], 1)
    code = rng.integers(-1, 2, m).astype(np.int8)
    code_source = np.where(rng.random(m) < 0.5, rng.integers(0, n_ideas, m), -1)
    state = (practice, source.astype(np.int32), matches, in_use, need)
    return state, code, code_source.astype(np.int64), dims, adopters


@pytest.mark.parametrize("n", [3000, PARALLEL_MIN + 20_000])
@pytest.mark.parametrize(("m", "p1", "gradual"), [
    (24, 0.05, False), (24, 0.3, True), (20, 0.05, False), (64, 0.02, True), (70, 0.05, False),
    (8, 1.0, False), (16, 1e-9, False)])
def test_socialization_equals_cell_by_cell_teaching_of_the_drawn_ranks(n, m, p1, gradual):
    """Words of 8 dimensions (m a multiple of 8), dimension by dimension (20), the general
    path (> 64 dimensions), every cell (p1 = 1, no draw), almost none; serial and parallel
    (>= PARALLEL_MIN employees): the same cells, counts and the same draws."""
    ours = _organization(n, m, seed=n + m)
    theirs = _organization(n, m, seed=n + m)
    rng_ours, rng_theirs = RandomStreams(5)["playbook"], RandomStreams(5)["playbook"]
    state, code, code_source, dims, adopters = ours
    socialize_cells(rng_ours, state, code, code_source, dims, adopters, p1, gradual)
    state2, code2, code_source2, dims2, adopters2 = theirs
    _reference(rng_theirs, state2, code2, code_source2, dims2, adopters2, p1, gradual)
    for a, b in zip(state, state2, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(adopters, adopters2)
    assert rng_ours.random() == rng_theirs.random()  # as many draws taken
    assert (state[0] != _organization(n, m, seed=n + m)[0][0]).any() == (p1 > 1e-6)
