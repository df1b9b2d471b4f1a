"""Bulk draws from a Stream's PCG64 state (model.rng: serial and in parallel blocks) equal
numpy's own, and leave the stream where numpy's would."""

import numpy as np
import pytest

from model.parallel import PARALLEL_MIN
from model.rng import RandomStreams, standard_normals, uniforms


@pytest.mark.parametrize("count", [0, 1, 7, 40_000, PARALLEL_MIN + 70_001])
def test_bulk_uniforms_equal_numpys_draws_serial_and_in_parallel_blocks(count):
    ours, theirs = RandomStreams(3)["x"], RandomStreams(3)["x"]
    theirs.integers(0, 2)  # a buffered 32-bit half must survive untouched
    ours.integers(0, 2)
    np.testing.assert_array_equal(uniforms(ours, count), theirs.random(count))
    assert ours.integers(0, 2, 50).tolist() == theirs.integers(0, 2, 50).tolist()
    assert ours.random() == theirs.random()


@pytest.mark.parametrize("count", [0, 1, 5000, PARALLEL_MIN + 1_000_000])
def test_normals_equal_numpys_ziggurat_draws_and_leave_the_stream_alike(count):
    """Over a million draws reach the ziggurat's rejections and its tail."""
    ours, theirs = RandomStreams(4)["effort"], RandomStreams(4)["effort"]
    out = np.empty(count)
    standard_normals(ours, out)
    np.testing.assert_array_equal(out, theirs.standard_normal(count))
    assert ours.random() == theirs.random()
