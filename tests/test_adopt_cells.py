"""The parallel cell writer of large adoptions equals the cell-by-cell writer."""

import numpy as np

from model.beliefs import assign_cells, assign_in_row_ranges


def test_writes_by_row_ranges_equal_the_cell_by_cell_writer_with_recurring_cells():
    """Cells in adoption order (unsorted), rows and cells recurring: every practice,
    source, count and adopter count comes out as the plain writer leaves it."""
    rng = np.random.default_rng(5)
    n, m, n_ideas, cells = 3_001, 24, 40, 50_000
    dims = np.stack([rng.permutation(m)[:3] for _ in range(n_ideas)]).astype(np.int64)
    rows = rng.integers(0, n, cells)
    cols = rng.integers(0, m, cells)
    rows[1::7], cols[1::7] = rows[::7][: len(rows[1::7])], cols[::7][: len(cols[1::7])]
    values = rng.integers(-1, 2, cells).astype(np.int8)
    sources = rng.integers(-1, n_ideas, cells).astype(np.int64)

    def state():
        r = np.random.default_rng(6)
        practice = r.integers(-1, 2, (n, m)).astype(np.int8)
        source = r.integers(-1, n_ideas, (n, m)).astype(np.int32)
        need = r.choice(np.array([-1, 1], np.int8), m)
        return (practice, source, (practice == need).sum(axis=1).astype(np.int64),
                (source >= 0).sum(axis=1).astype(np.int64), need), np.full(n_ideas, 10**6)

    plain, plain_adopters = state()
    assign_cells(plain, dims, plain_adopters, rows, cols, values, sources)
    fast, fast_adopters = state()
    assign_in_row_ranges(fast, dims, fast_adopters, rows, cols, values, sources)
    for a, b in zip(plain, fast, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(plain_adopters, fast_adopters)
    assert (plain_adopters != 10**6).any()
