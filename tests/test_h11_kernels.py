"""Kernels of a small organization's step, reworked to cut their fixed cost per step,
against the plain computations they replace: the same numbers, the same draws."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numba import njit

from model.beliefs import flip_needs
from model.processes.effort import choose_effort
from model.processes.environment import drift_needs
from model.processes.generation import coin_index
from model.processes.playbook import (
    BLOCK,
    _count_superior,
    learn_code,
    learn_from_superior,
    superior_beliefs,
)
from model.results import TALLY_BLOCK, _count_blocks, _counts, _ranks_in_range, selected_ranks
from model.rng import (
    Stream,
    pcg_address,
    pcg_half,
    pcg_load,
    pcg_store,
    pcg_store_half,
    pcg_uniform,
)

VALUES = st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 0.25, 0.5, 1.0]))


def _ranks(n, draws):
    """Ascending distinct ranks of n values, as the quantile plan asks for them."""
    return np.array(sorted({int(d * n) % n for d in draws}), np.int64)


@settings(max_examples=300, deadline=None)
@given(arrays(np.float64, st.integers(1, 600), elements=VALUES),
       st.lists(st.floats(0.0, 1.0, exclude_max=True), min_size=1, max_size=5))
def test_selected_ranks_equal_sorted_values(x, draws):
    ranks = _ranks(len(x), draws)
    kept = x.copy()
    assert np.array_equal(selected_ranks(x, ranks), np.sort(x)[ranks])
    assert np.array_equal(x, kept)  # (selects on a copy)


@pytest.mark.parametrize("order", ["sorted", "reversed", "equal", "two values"])
def test_selected_ranks_of_ordered_and_tied_values(order):
    n = 1001
    x = {"sorted": np.arange(n) / n, "reversed": np.arange(n)[::-1] / n,
         "equal": np.full(n, 0.3), "two values": np.arange(n) % 2 * 1.0}[order]
    ranks = np.array([0, 99, 100, 900, 901, n - 1], np.int64)
    assert np.array_equal(selected_ranks(x, ranks), np.sort(x)[ranks])


def test_ranks_of_values_holding_a_nan_are_numpys():
    x = np.array([0.5, np.nan, 0.1, 0.9, 0.3])
    ranks = np.array([0, 1, 4], np.int64)
    got = _ranks_in_range(x, ranks, np.nan, np.nan)
    assert np.array_equal(got, np.sort(x)[ranks], equal_nan=True)


def _employees(n, seed):
    rng = np.random.default_rng(seed)
    return (rng.random(n), rng.integers(0, 3, n).astype(np.int8), rng.random(n) < 0.1,
            rng.integers(0, 3, n), rng.integers(0, 24, n), rng.random(n) < 0.2,
            rng.integers(-1, 30, n))


@pytest.mark.parametrize("n", [1, 100, 2 * TALLY_BLOCK + 7])
def test_counts_in_one_pass_equal_counts_by_block(n):
    """Below PARALLEL_MIN employees the counts are taken in one pass: the same integers
    as the fixed blocks of the parallel pass, added up."""
    args = (*_employees(n, n), 0.4, 12)
    assert np.array_equal(_counts(*args), _count_blocks(*args).sum(axis=0))
    assert _counts(*args)[0] == np.count_nonzero(args[0] < 0.4)


def _beliefs(n, m, seed):
    rng = np.random.default_rng(seed)
    practice = rng.integers(-1, 2, (n, m)).astype(np.int8)
    need = np.where(rng.random(m) < 0.5, -1, 1).astype(np.int8)
    return practice, (practice == need).sum(axis=1).astype(np.int64), need


@pytest.mark.parametrize("n", [1, 100, 3 * BLOCK + 5])
def test_superior_beliefs_in_one_pass_equal_counts_by_block(n):
    practice, matches, _ = _beliefs(n, 24, n)
    for code_matches in (-1, 8, 24):
        plus, minus = np.zeros(24, np.int64), np.zeros(24, np.int64)
        count = _count_superior(practice, matches, code_matches, 0, n, plus, minus)
        by_block = superior_beliefs(practice, matches, code_matches)
        assert (count, plus.tolist(), minus.tolist()) == (
            by_block[2], by_block[0].tolist(), by_block[1].tolist())
        superior = practice[matches > code_matches]
        assert plus.tolist() == (superior == 1).sum(axis=0).tolist()


def _learn_code_reference(plus, minus, code, code_source, draws, p2, own):
    """The playbook's learning as first written: the chance worked out on every dimension."""
    for d in range(len(code)):
        majority = np.int8(np.sign(plus[d] - minus[d]))
        chance = 1.0 - (1.0 - p2) ** np.float64(abs(plus[d] - minus[d]))
        if majority != 0 and majority != code[d] and draws[d] < chance:
            code[d] = majority
            code_source[d] = own


@pytest.mark.parametrize("p2", [0.0, 0.05, 0.5, 1.0])
def test_learn_code_equals_the_chance_worked_out_everywhere(p2):
    rng = np.random.default_rng(3)
    for _ in range(50):
        m = int(rng.integers(1, 40))
        plus, minus = rng.integers(0, 4, m), rng.integers(0, 4, m)  # ties: no majority
        code = rng.integers(-1, 2, m).astype(np.int8)
        source = rng.integers(-1, 9, m)
        draws = rng.random(m)
        want_code, want_source = code.copy(), source.copy()
        _learn_code_reference(plus, minus, want_code, want_source, draws, p2, -1)
        learn_code(plus, minus, code, source, draws, p2, -1)
        assert np.array_equal(code, want_code) and np.array_equal(source, want_source)


@pytest.mark.parametrize("n", [50, 700])
def test_learn_from_superior_draws_one_uniform_per_dimension(n):
    practice, matches, need = _beliefs(n, 24, 5)
    state = (practice, np.full((n, 24), -1, np.int32), matches, np.zeros(n, np.int64), need)
    code, code_source = np.zeros(24, np.int8), np.full(24, 7, np.int64)
    rng, twin = Stream(np.random.PCG64(11)), np.random.Generator(np.random.PCG64(11))
    learn_from_superior(rng, state, code, code_source, 0.3)
    plus, minus = np.zeros(24, np.int64), np.zeros(24, np.int64)
    _count_superior(practice, matches, 0, 0, n, plus, minus)
    want_code, want_source = np.zeros(24, np.int8), np.full(24, 7, np.int64)
    _learn_code_reference(plus, minus, want_code, want_source, twin.random(24), 0.3, -1)
    assert np.array_equal(code, want_code) and np.array_equal(code_source, want_source)
    assert (code != 0).any()
    assert rng.random() == twin.random()  # the stream moved on by 24 draws


@pytest.mark.parametrize("drift", [0.0, 0.1, 1.0])
def test_drift_needs_flips_where_numpys_draws_fall_below_the_drift(drift):
    n, m = 200, 24
    practice, matches, need = _beliefs(n, m, 9)
    want_matches, want_need = matches.copy(), need.copy()
    rng, twin = Stream(np.random.PCG64(4)), np.random.Generator(np.random.PCG64(4))
    drift_needs(rng, drift, practice, need, matches, np.empty(m, np.int64))
    flip_needs(practice, want_need, want_matches, np.flatnonzero(twin.random(m) < drift))
    assert np.array_equal(need, want_need) and np.array_equal(matches, want_matches)
    assert np.array_equal(matches, (practice == need).sum(axis=1))
    assert rng.random() == twin.random()


@njit
def _numbas_draws(rng, uniform):
    """numba's own ``rng.random()`` and ``rng.integers(0, 2)``, in the given order."""
    out = np.empty(len(uniform))
    for t in range(len(uniform)):
        out[t] = rng.random() if uniform[t] else rng.integers(0, 2)
    return out


@njit
def _inline_draws(rng, uniform):
    """The same draws inline: pcg_uniform and coin_index (keeping numpy's buffered half)."""
    address = pcg_address(rng)
    state, inc = pcg_load(address)
    has, half = pcg_half(address)
    has_half = has != 0
    out = np.empty(len(uniform))
    for t in range(len(uniform)):
        if uniform[t]:
            state, out[t] = pcg_uniform(state, inc)
        else:
            state, half, has_half, coin = coin_index(state, inc, half, has_half)
            out[t] = coin
    pcg_store(address, state)
    pcg_store_half(address, np.uint32(has_half), half)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coin_index_draws_numbas_integers(seed):
    uniform = np.random.default_rng(seed).random(400) < 0.4  # coins in runs and alone
    rng, twin = Stream(np.random.PCG64(seed)), Stream(np.random.PCG64(seed))
    coins = _inline_draws(rng, uniform)
    assert np.array_equal(coins, _numbas_draws(twin, uniform))
    assert set(coins[~uniform].tolist()) == {0.0, 1.0}
    after = np.array([True, False, False, True, False])
    assert np.array_equal(_numbas_draws(rng, after), _numbas_draws(twin, after))


@pytest.mark.parametrize("n", [1, 100])
def test_effort_noise_is_numpys_standard_normals(n):
    rng, twin = Stream(np.random.PCG64(8)), np.random.Generator(np.random.PCG64(8))
    noise, zeros = np.empty(n), np.zeros(n)
    choose_effort(rng, noise, zeros.copy(), zeros, zeros.copy(), zeros, zeros, zeros, 0.0,
                  0.0, 0.0, 0.0, 1.0)
    assert np.array_equal(noise, twin.standard_normal(n))
    assert rng.random() == twin.random()
