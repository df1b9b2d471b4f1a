"""A small run's one-off costs made cheaper, with the very same results (session 11)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from model import OrganizationModel, Parameters
from model.processes.generation import _register
from model.rng import ENGINE_STREAMS, RandomStreams


def plant_probe_in_python(model: OrganizationModel) -> None:
    """The tracer as it was planted before :func:`plant_tracer`: numpy's ``choice`` for the
    originator, ``argsort`` of uniform draws for its dimensions, then the registry."""
    gen = model.generation
    facing = model.customer_facing_employees()
    pool = facing if len(facing) else np.arange(model.people.n)
    originator = gen.probe_rng.choice(pool, size=1)
    dims = np.argsort(gen.probe_rng.random((1, model.beliefs.m)), axis=1)[:, :model.p.idea_scope]
    model.beliefs.drift(dims[0])
    gen.born_this_step += 1
    model.ideas.reserve(1)
    _register(gen.kernel_arrays(), model.ideas.n, model.steps, originator.astype(np.int64),
              np.ascontiguousarray(dims, np.int64), model.beliefs.need[dims].astype(np.int8),
              gen._forum_until(), True)
    model.ideas.n += 1


def tracer_state(model: OrganizationModel) -> list:
    """Everything planting the tracer writes or draws."""
    reg = model.ideas
    return [model.generation.born_this_step, reg.n, model.streams["probe"].random(4),
            *(getattr(reg, name).copy() for name in reg.FIELDS),
            *(array.copy() for array in model.beliefs.state())]


def facing_only(model: OrganizationModel, keep: int) -> None:
    """Leave ``keep`` customer-facing positions (the first ones)."""
    facing = np.flatnonzero(model.customer_facing_position)
    model.customer_facing_position[facing[keep:]] = False
    model.refresh_roles()


@pytest.mark.parametrize(("n", "dims", "scope", "facing"), [
    (100, 24, 3, None), (7, 24, 3, None), (100, 24, 3, 1), (100, 24, 3, 0), (3, 5, 5, None),
    (300, 9, 9, None), (300, 9, 9, 0), (5000, 24, 1, None), (40, 2, 1, 1)])
def test_tracer_planted_in_one_call_as_numpy_plants_it(n, dims, scope, facing):
    """The compiled tracer draws numpy's originator and dimensions and writes the same
    registry, beliefs and stream state, for many seeds: one customer-facing employee, none
    (everyone is the pool), scope = number of dimensions, three employees."""
    p = Parameters(n_employees=n, n_dimensions=dims, idea_scope=scope, steps=30,
                   informal_degree=min(6, n - 1) // 2 * 2,
                   probe_idea_step=25)
    originators = set()
    for seed in range(25):
        models = []
        for plant in (plant_probe_in_python, lambda m: m.generation.plant_probe()):
            model = OrganizationModel(p, rng=seed)
            model.run(3)
            if facing is not None:
                facing_only(model, facing)
            model.streams["probe"].integers(0, 7, size=seed % 3)  # any buffered half of 32 bits
            plant(model)
            models.append(tracer_state(model))
        old, new = models
        assert len(old) == len(new)
        for a, b in zip(old, new, strict=True):
            np.testing.assert_array_equal(a, b)
        originators.add(int(model.ideas.origin[model.ideas.n - 1]))
    if n > 7 and facing != 1:
        assert len(originators) > 5  # (the draws do vary)


@pytest.mark.parametrize("seed", [0, 1, 7, 2**32 - 1, 2**32, 2**63 - 1, 2**64 + 3, 2**130 + 11,
                                  123456789])
def test_streams_seeded_together_as_numpy_seeds_each(seed):
    """Every engine stream, whichever is made first, and any other name draw what
    ``SeedSequence(seed, spawn_key=(crc32(name),))`` seeds; streams of two seeds differ."""
    names = (*ENGINE_STREAMS, "an extension's", "")
    for order in (names, names[::-1]):
        streams = RandomStreams(seed)
        for name in order:
            numpy_way = np.random.Generator(np.random.PCG64(
                np.random.SeedSequence(seed, spawn_key=(zlib.crc32(name.encode()),))))
            np.testing.assert_array_equal(streams[name].random(3), numpy_way.random(3))
            assert streams[name] is streams[name]
    assert RandomStreams(seed)["ideas"].random() != RandomStreams(seed + 1)["ideas"].random()


def test_models_built_twice_share_no_arrays():
    """Arrays made in blocks (the idea registry's) are rows of a block of one model's own:
    two models share none, and within a model no two attributes overlap."""
    def arrays_of(model):
        reg, people = model.ideas, model.people
        return ([getattr(reg, name) for name in reg.FIELDS]
                + [value for value in vars(people).values() if isinstance(value, np.ndarray)])

    p = Parameters(n_employees=50, steps=5)
    first, second = OrganizationModel(p, rng=3), OrganizationModel(p, rng=3)
    ours, theirs = arrays_of(first), arrays_of(second)
    for k, a in enumerate(ours):
        assert not any(np.shares_memory(a, b) for b in theirs)
        assert not any(np.shares_memory(a, b) for b in ours[k + 1:])
    first.ideas.origin[:] = 7
    first.ideas.is_probe[:] = True
    assert (second.ideas.origin == -1).all() and not second.ideas.is_probe.any()
    assert (first.ideas.birth == -1).all() and not first.ideas.squashed.any()
