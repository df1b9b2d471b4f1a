"""Compiled shortcuts against the plain computations they replace."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from model import OrganizationModel
from model.results import SORT_BELOW, linear_quantiles, top_k_overlap

QUANTILES = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=4).map(tuple)
VALUES = st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 0.25, 0.5, 1.0]))


@settings(max_examples=300, deadline=None)
@given(arrays(np.float64, st.integers(1, 400), elements=VALUES), QUANTILES)
def test_linear_quantiles_equal_numpy_bit_for_bit(x, qs):
    assert linear_quantiles(x, qs) == tuple(np.quantile(x, qs))


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.integers(SORT_BELOW, 3 * SORT_BELOW), elements=VALUES), QUANTILES)
def test_linear_quantiles_of_large_arrays_equal_numpy_bit_for_bit(x, qs):
    """Above SORT_BELOW values the order statistics come from counted buckets."""
    assert linear_quantiles(x, qs) == tuple(np.quantile(x, qs))


def test_top_k_overlap_without_ties_is_the_plain_top_k():
    rng = np.random.default_rng(1)
    score = rng.permutation(500)
    member = rng.random(500) < 0.2
    top = np.argsort(-score)[:37]
    assert top_k_overlap(score, member, 37) == member[top].mean()


def test_top_k_overlap_shares_ties_at_the_cut_evenly():
    """Mean over random tie-breaking orders (Monte Carlo, 4,000 orders) of the top-k share."""
    rng = np.random.default_rng(2)
    score = rng.integers(0, 4, 300)  # heavy ties
    member = rng.random(300) < 0.3
    k = 50
    shares = [member[np.lexsort((rng.random(300), -score))[:k]].mean() for _ in range(4000)]
    sd = np.std(shares) / np.sqrt(len(shares))
    assert abs(top_k_overlap(score, member, k) - np.mean(shares)) < 4 * sd + 1e-12
    assert top_k_overlap(np.zeros(300, np.int64), member, k) == member.mean()


def test_socialization_reaches_every_row_and_only_differing_cells():
    model = OrganizationModel(rng=0, n_employees=4000, n_dimensions=20, socialization_rate=0.05)
    b = model.beliefs
    b.code[:] = b.need
    b.code[:5] = 0  # the playbook holds no belief on the first five dimensions
    before = b.practice.copy()
    model.playbook.socialize()
    changed = b.practice != before
    assert not changed[:, :5].any()
    assert (b.practice[changed] == np.broadcast_to(b.code, changed.shape)[changed]).all()
    differing = (before != b.code) & (b.code != 0)
    rates = [changed[half].sum() / differing[half].sum() for half in (slice(0, 2000),
                                                                        slice(2000, 4000))]
    # each half holds ~20,000 differing cells: sd of a rate ~0.0015; 5 sd apart at most
    assert abs(rates[0] - rates[1]) < 0.0075
    assert abs(np.mean(rates) - 0.05) < 0.005


def test_parallel_write_of_distinct_cells_equals_the_cell_by_cell_writer():
    """Rows straddle the fixed blocks of the parallel writer; every count must come out
    as the plain writer leaves it (ideas' adopters via their anchor cells included)."""
    from model.beliefs import assign_cells, assign_distinct_cells
    from model.parallel import PARALLEL_MIN

    rng = np.random.default_rng(3)
    n, m, n_ideas = 10_000, 24, 40
    dims = np.stack([rng.permutation(m)[:3] for _ in range(n_ideas)]).astype(np.int64)
    cells = np.sort(rng.choice(n * m, size=PARALLEL_MIN + 10_000, replace=False))
    rows, cols = cells // m, cells % m
    values = rng.integers(-1, 2, len(cells)).astype(np.int8)
    sources = rng.integers(-1, n_ideas, len(cells)).astype(np.int64)

    def state():
        r = np.random.default_rng(4)
        practice = r.integers(-1, 2, (n, m)).astype(np.int8)
        source = r.integers(-1, n_ideas, (n, m)).astype(np.int32)
        need = r.choice(np.array([-1, 1], np.int8), m)
        return (practice, source, (practice == need).sum(axis=1).astype(np.int64),
                (source >= 0).sum(axis=1).astype(np.int64), need), np.full(n_ideas, 10**6)

    plain, plain_adopters = state()
    assign_cells(plain, dims, plain_adopters, rows, cols, values, sources)
    fast, fast_adopters = state()
    assign_distinct_cells(fast, dims, fast_adopters, rows, cols, values, sources)
    for a, b in zip(plain, fast, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(plain_adopters, fast_adopters)
    assert (plain_adopters != 10**6).any()


def test_compiled_kernels_are_cached_by_a_digest_of_every_engine_source(tmp_path):
    """A change in any engine file (also one a kernel merely calls into) moves the numba
    cache to a new directory, so stale machine code is never loaded."""
    import os
    import shutil

    import model
    from model import compiled_cache_dir

    engine = tmp_path / "model"
    shutil.copytree(model.ENGINE, engine, ignore=shutil.ignore_patterns("__pycache__"))
    before = compiled_cache_dir(engine)
    assert compiled_cache_dir(engine) == before  # stable
    callee = engine / "rng.py"
    callee.write_text(callee.read_text() + "\n# changed\n")
    assert compiled_cache_dir(engine) != before
    assert before.parent == tmp_path / ".numba_cache"
    assert os.environ["NUMBA_CACHE_DIR"] == str(compiled_cache_dir())


def test_widely_used_ideas_found_in_parallel_blocks_are_those_of_the_rule_in_order():
    """The playbook's scan of many ideas (>= PARALLEL_MIN: fixed blocks, in parallel)
    finds exactly the ideas the rule names, in ascending order."""
    from model.processes.playbook import _widely_used_blocks

    rng = np.random.default_rng(3)
    n = 250_000
    audience = rng.integers(1, 200, n)
    adopters = rng.integers(0, 200, n)
    sanctioned, squashed = rng.random(n) < 0.2, rng.random(n) < 0.1
    origin = rng.integers(0, 1000, n)
    needs_approval = rng.random(1000) < 0.3
    found = _widely_used_blocks(adopters, audience, sanctioned, squashed, origin,
                                needs_approval, 0.5, n)
    rule = (adopters >= 0.5 * audience) & ~sanctioned & ~squashed & ~needs_approval[origin]
    np.testing.assert_array_equal(found, np.flatnonzero(rule))
    assert 0 < len(found) < n


def test_formal_partner_stays_among_the_ties_that_have_weight():
    """x = r / formal tie strength can reach up + down + side by rounding (a tiny strength:
    a randomized test found 5e-324 at two employees); the partner found is then still the
    manager or a report, never a position past the unit (an out-of-bounds read)."""
    from model.processes.conversations import _formal_partner

    boss, start, first_child, kids = 0, 9, 7, 2  # alone in a unit of one at position 9
    with_reports = (1.0, 2.0, 0.0, 9, 10)  # (up, down, side, skip_lo, skip_hi)
    for x in (0.0, 0.5, 1.0, 2.5, np.nextafter(3.0, 0.0), 3.0, 3.5):
        assert _formal_partner(x, with_reports, boss, start, first_child, kids) in (0, 7, 8)
    manager_only = (1.0, 0.0, 0.0, 9, 10)
    for x in (0.5, 1.0, 1.5):
        assert _formal_partner(x, manager_only, boss, start, first_child, 0) == boss


def test_a_formal_tie_strength_at_the_smallest_double_runs_every_step():
    """The randomized test's case: two employees, only formal ties, strength 5e-324."""
    model = OrganizationModel(n_employees=2, steps=12, formal_tie_strength=5e-324,
                              informal_degree=0, span_of_control=2, rng=0).run()
    partners = np.concatenate([pair[1] for pair in model.conversations.recent])
    assert ((partners >= 0) & (partners < 2)).all()
    assert np.isfinite(model.results.to_frame().to_numpy()).all()
