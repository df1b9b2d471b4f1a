"""Same seed, same result; another seed, another result; mechanisms draw from own streams."""

import numpy as np
import pandas as pd

from model import OrganizationModel
from model.rng import RandomStreams, normalize_seed
from tests.conftest import run_model


def test_same_seed_gives_identical_series():
    a = run_model(11, "shared_authority", n_employees=300, steps=50).results.to_frame()
    b = run_model(11, "shared_authority", n_employees=300, steps=50).results.to_frame()
    pd.testing.assert_frame_equal(a, b)


def test_other_seed_gives_different_series():
    a = run_model(11, "hierarchical", n_employees=300, steps=50).results.to_frame()
    b = run_model(12, "hierarchical", n_employees=300, steps=50).results.to_frame()
    assert not a.equals(b)


def test_generator_seed_is_normalised_once():
    seed = normalize_seed(np.random.default_rng(5))
    assert seed == normalize_seed(np.random.default_rng(5))
    a = OrganizationModel(rng=np.random.default_rng(5), n_employees=100, steps=5).run()
    b = OrganizationModel(rng=seed, n_employees=100, steps=5).run()
    pd.testing.assert_frame_equal(a.results.to_frame(), b.results.to_frame())


def test_streams_are_independent_and_named():
    s = RandomStreams(3)
    first = s["conversations"].random(3)
    other = RandomStreams(3)
    other["effort"].random(1000)  # draws elsewhere do not shift this stream
    np.testing.assert_array_equal(first, other["conversations"].random(3))
    assert not np.array_equal(first, s["effort"].random(3))


def test_common_random_numbers_keep_initial_population_across_settings():
    a = OrganizationModel(rng=9, n_employees=200, autonomy=0.1)
    b = OrganizationModel(rng=9, n_employees=200, autonomy=0.9, power_distance=0.9)
    np.testing.assert_array_equal(a.people.motive, b.people.motive)
    np.testing.assert_array_equal(a.beliefs.practice, b.beliefs.practice)


def test_stream_gives_compiled_kernels_the_draws_of_a_plain_generator():
    from numba import njit

    @njit
    def draws(rng, n):
        out = np.empty(n)
        for i in range(n):
            out[i] = rng.random() + rng.standard_normal()
        return out

    stream = RandomStreams(4)["effort"]
    plain = np.random.Generator(np.random.PCG64())
    plain.bit_generator.state = stream.bit_generator.state
    np.testing.assert_array_equal(draws(stream, 50), draws(plain, 50))
    assert stream.random() == plain.random()  # the kernel advanced the stream's own state


def test_a_copied_stream_draws_on_its_own_state():
    import copy

    stream = RandomStreams(4)["effort"]
    stream.random()
    twin = copy.deepcopy(stream)
    assert type(twin) is type(stream)
    np.testing.assert_array_equal(twin.random(5), stream.random(5))
    expected = copy.deepcopy(stream).random(2)
    twin.random(3)  # the twin's draws leave the original's state alone
    np.testing.assert_array_equal(stream.random(2), expected)


def test_each_stream_is_seeded_as_numpys_seed_sequence_would_seed_it():
    """The worked-out seeding (model.rng.seed_sequence_state) equals
    SeedSequence(seed, spawn_key=(crc32(name),)) for seeds of one, two and three 32-bit
    words and any name: every stream's draws are numpy's."""
    import zlib

    drawn = np.random.default_rng(0).integers(0, 2**63, 40)
    seeds = [0, 1, 2**32 - 1, 2**32, 2**63 - 1, 2**70 + 5, *drawn]
    for seed in map(int, seeds):
        for name in ("conversations", "population", "", "a longer stream name"):
            key = (zlib.crc32(name.encode()),)
            numpys = np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key))
            assert RandomStreams(seed)[name].bit_generator.state == numpys.state, (seed, name)
