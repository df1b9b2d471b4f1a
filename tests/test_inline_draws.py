"""Draws taken inline from a Stream's PCG64 state equal numpy's own, and leave the stream
where numpy's would."""

import numpy as np
import pytest
from numba import njit

from model.parallel import PARALLEL_MIN
from model.processes.generation import (
    pcg_double,
    pcg_jump,
    pcg_state,
    pcg_step,
    pcg_store,
    standard_normals,
    uniforms,
)
from model.rng import RandomStreams


@pytest.mark.parametrize("count", [0, 1, 7, 40_000, PARALLEL_MIN + 70_001])
def test_bulk_uniforms_equal_numpys_draws_serial_and_in_parallel_blocks(count):
    ours, theirs = RandomStreams(3)["x"], RandomStreams(3)["x"]
    theirs.integers(0, 2)  # a buffered 32-bit half must survive untouched
    ours.integers(0, 2)
    np.testing.assert_array_equal(uniforms(ours, count), theirs.random(count))
    assert ours.integers(0, 2, 50).tolist() == theirs.integers(0, 2, 50).tolist()
    assert ours.random() == theirs.random()


@njit
def _inline(rng, count):
    words, high, low, inc_high, inc_low = pcg_state(rng)
    out = np.empty(count)
    for x in range(count):
        high, low = pcg_step(high, low, inc_high, inc_low)
        out[x] = pcg_double(high, low)
    pcg_store(words, high, low)
    return out


def test_inline_steps_and_jumps_follow_the_stream():
    ours, theirs = RandomStreams(8)["y"], RandomStreams(8)["y"]
    np.testing.assert_array_equal(_inline(ours, 1000), theirs.random(1000))
    state = theirs.bit_generator.state["state"]
    mask = 2**64 - 1
    for steps in (0, 1, 2, 3, 1000, 2**40 + 12345):
        high, low = pcg_jump(np.uint64(state["state"] >> 64), np.uint64(state["state"] & mask),
                             np.uint64(state["inc"] >> 64), np.uint64(state["inc"] & mask),
                             steps)
        jumped = np.random.PCG64()
        jumped.state = theirs.bit_generator.state
        jumped.advance(steps)
        assert (int(high) << 64 | int(low)) == jumped.state["state"]["state"]


@pytest.mark.parametrize("count", [0, 1, 5000, PARALLEL_MIN + 1_000_000])
def test_normals_equal_numpys_ziggurat_draws_and_leave_the_stream_alike(count):
    """Over a million draws reach the ziggurat's rejections and its tail."""
    ours, theirs = RandomStreams(4)["effort"], RandomStreams(4)["effort"]
    out = np.empty(count)
    standard_normals(ours, out)
    np.testing.assert_array_equal(out, theirs.standard_normal(count))
    assert ours.random() == theirs.random()
