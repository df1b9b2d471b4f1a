"""Compiled PCG64 draws (model.rng) are numpy's own: the same numbers, the same stream."""

import numpy as np
import pytest
from numba import njit

from model.parallel import PARALLEL_MIN
from model.processes.adoption import permutation
from model.rng import (
    Stream,
    pcg_address,
    pcg_advance,
    pcg_below,
    pcg_half,
    pcg_load,
    pcg_normal,
    pcg_store,
    pcg_store_half,
    pcg_uniform,
    uniforms_into,
)


def _compiled_draws(draw):
    """A compiled function filling an array with ``draw(state, inc)``, in order."""
    @njit
    def fill(rng, count):
        address = pcg_address(rng)
        state, inc = pcg_load(address)
        out = np.empty(count)
        for x in range(count):
            state, out[x] = draw(state, inc)
        pcg_store(address, state)
        return out
    return fill


_uniforms = _compiled_draws(pcg_uniform)
_normals = _compiled_draws(pcg_normal)


@njit
def _permutation(rng, n):
    address = pcg_address(rng)
    state, inc = pcg_load(address)
    has, half = pcg_half(address)
    has_half = has != 0
    order = np.arange(n)
    for i in range(n - 1, 0, -1):
        state, half, has_half, j = pcg_below(state, inc, half, has_half, i)
        order[i], order[np.intp(j)] = order[np.intp(j)], order[i]
    pcg_store(address, state)
    pcg_store_half(address, np.uint32(has_half), half)
    return order


@njit
def _advance(rng, delta):
    address = pcg_address(rng)
    state, inc = pcg_load(address)
    pcg_store(address, pcg_advance(state, inc, delta))


def _pair(seed):
    return Stream(np.random.PCG64(seed)), Stream(np.random.PCG64(seed))


@pytest.mark.parametrize("seed", [0, 7, 2026])
def test_compiled_uniforms_and_normals_equal_numpys(seed):
    ours, numpys = _pair(seed)
    assert np.array_equal(_uniforms(ours, 1000), numpys.random(1000))
    # 200,000 normals take the ziggurat's rare paths too (tail and wedges)
    assert np.array_equal(_normals(ours, 200_000), numpys.standard_normal(200_000))
    assert ours.bit_generator.state == numpys.bit_generator.state


@pytest.mark.parametrize("seed", [1, 5])
def test_compiled_bounded_draws_keep_numpys_buffered_half(seed):
    ours, numpys = _pair(seed)
    for rng in (ours, numpys):  # leave an upper half buffered, as the permutation finds it
        rng.integers(0, 5, dtype=np.uint32)
    assert np.array_equal(_permutation(ours, 999), numpys.permutation(999))
    assert np.array_equal(_permutation(ours, 1000), permutation(numpys, 1000))
    assert ours.bit_generator.state == numpys.bit_generator.state


@pytest.mark.parametrize("delta", [0, 1, 6, 12_345, 2**40 + 3])
def test_advance_equals_numpys(delta):
    ours, numpys = _pair(3)
    _advance(ours, delta)
    numpys.bit_generator.advance(delta)
    assert ours.bit_generator.state["state"] == numpys.bit_generator.state["state"]


@pytest.mark.parametrize("count", [0, 5, PARALLEL_MIN - 1, PARALLEL_MIN, 3 * PARALLEL_MIN + 17])
def test_uniforms_into_equals_numpys_random_on_both_paths(count):
    ours, numpys = _pair(11)
    out = np.empty(count)
    uniforms_into(ours, out)
    assert np.array_equal(out, numpys.random(count))
    assert ours.bit_generator.state == numpys.bit_generator.state
    assert ours.random() == numpys.random()  # the stream goes on where numpy's does


def test_a_stream_needs_pcg64():
    with pytest.raises(TypeError, match="PCG64"):
        _ = Stream(np.random.MT19937(1))._pointers
