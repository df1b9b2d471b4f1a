"""A large organization's idea births in parallel blocks, with the very same results
(session 12): the selection of meetings and creators, the ideas' dimensions and their
registration equal the one-pass path on the same state."""

from __future__ import annotations

import numpy as np
import pytest

from model import OrganizationModel, Parameters
from model.ideas import NEVER
from model.processes.generation import ROW_BLOCK, _kept, dims_of, generate_ideas


@pytest.mark.parametrize("count", [0, 1, ROW_BLOCK - 1, ROW_BLOCK, 3 * ROW_BLOCK + 17])
@pytest.mark.parametrize("product", [False, True])
def test_kept_items_are_the_plain_selection_in_order(count, product):
    rng = np.random.default_rng(count + 7 * product)
    n = 5_000
    items = rng.choice(n, size=count, replace=False).astype(np.int64)
    draws = rng.random(count)
    chance, factor = rng.random(n), rng.random(n)
    wanted = chance[items] * factor[items] if product else chance[items]
    kept = _kept(items, draws, chance, factor, product)
    assert kept.dtype == np.int64
    np.testing.assert_array_equal(kept, items[draws < wanted])


@pytest.mark.parametrize("rows", [0, 1, ROW_BLOCK + 5, 3 * ROW_BLOCK])
@pytest.mark.parametrize("scope", [1, 3, 24])
def test_dimensions_in_blocks_are_numpys_argsort(rows, scope):
    draws = np.random.default_rng(rows + scope).random((rows, 24))
    expected = np.argsort(draws, axis=1)[:, :scope]
    np.testing.assert_array_equal(dims_of(draws, scope, True), expected)
    np.testing.assert_array_equal(dims_of(draws, scope, False), expected)


def test_dimensions_in_blocks_with_a_tie_are_numpys_order():
    draws = np.random.default_rng(3).random((2 * ROW_BLOCK + 1, 8))
    draws[ROW_BLOCK + 2, 5] = draws[ROW_BLOCK + 2, 1]  # a tie in the second block
    expected = np.argsort(draws, axis=1)[:, :8]
    np.testing.assert_array_equal(dims_of(draws, 8, True), expected)


def births_state(model: OrganizationModel) -> list:
    """Everything a step's births write or draw."""
    reg, people = model.ideas, model.people
    return [reg.n, model.generation.rng.random(4),
            *(getattr(reg, name).copy() for name in reg.FIELDS),
            *(array.copy() for array in model.beliefs.state()),
            people.latest_idea.copy(), people.last_idea_step.copy()]


def births(seed: int, threads: int, room: int, **values) -> tuple:
    """One step's births on a model 6 steps in, along the given path: (born, creators left
    waiting, the state after)."""
    model = OrganizationModel(Parameters(n_employees=400, steps=20, **values), rng=seed)
    model.run(6)
    model.steps += 1
    gen, reg = model.generation, model.ideas
    bundle = gen._arrays_now(room)
    born, waiting = generate_ideas(gen.rng, bundle, reg.n, reg.n + room, model.steps,
                                   model.p.idea_scope, NEVER, threads)
    reg.n += born if not len(waiting) else 0
    return born, waiting.copy(), births_state(model)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("values", [{}, {"customer_problem_rate": 0.9, "idea_scope": 1},
                                    {"customer_facing_share": 0.05}])
def test_births_in_parallel_blocks_equal_births_in_one_pass(seed, values):
    born, waiting, state = births(seed, 1, 1_000, **values)
    born_large, waiting_large, state_large = births(seed, 2, 1_000, **values)
    assert born == born_large and not len(waiting) and not len(waiting_large)
    for a, b in zip(state, state_large, strict=True):
        np.testing.assert_array_equal(a, b)


def test_creators_wait_alike_when_the_registry_lacks_room():
    values = {"customer_problem_rate": 0.9}
    born, waiting, state = births(1, 1, 0, **values)
    born_large, waiting_large, state_large = births(1, 2, 0, **values)
    assert born == born_large > 0
    np.testing.assert_array_equal(waiting, waiting_large)
    for a, b in zip(state, state_large, strict=True):
        np.testing.assert_array_equal(a, b)
