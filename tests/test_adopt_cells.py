"""The parallel cell writer of large adoptions equals the cell-by-cell writer."""

import numpy as np

from model import OrganizationModel, Parameters
from model.beliefs import assign_cells, assign_in_row_ranges


def test_writes_by_row_ranges_equal_the_cell_by_cell_writer_with_recurring_cells():
    """Cells in adoption order (unsorted), rows and cells recurring, on an organization's
    beliefs after a few steps: every practice, source, count and adopter count comes out
    as the plain writer leaves it."""
    model = OrganizationModel(Parameters(n_employees=3_001, steps=5), rng=4).run()
    beliefs, ideas = model.beliefs, model.ideas
    n, m = beliefs.practice.shape
    rng = np.random.default_rng(5)
    cells = 50_000
    rows, cols = rng.integers(0, n, cells), rng.integers(0, m, cells)
    rows[1::7], cols[1::7] = rows[:-1:7][: len(rows[1::7])], cols[:-1:7][: len(cols[1::7])]
    values = rng.integers(-1, 2, cells).astype(np.int8)
    sources = rng.integers(-1, ideas.n, cells).astype(np.int64)
    dims = ideas.dims

    def copies():
        return tuple(a.copy() for a in beliefs.state()), ideas.adopters.copy()

    plain, plain_adopters = copies()
    assign_cells(plain, dims, plain_adopters, rows, cols, values, sources)
    fast, fast_adopters = copies()
    assign_in_row_ranges(fast, dims, fast_adopters, rows, cols, values, sources)
    for a, b in zip(plain, fast, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(plain_adopters, fast_adopters)
    assert (plain_adopters != ideas.adopters).any()
    assert (plain[0] != beliefs.practice).any()
