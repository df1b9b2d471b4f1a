"""A model's fixed costs cut without changing what it builds (issue 19): cached structures,
compiled network building, cheap streams. Each shortcut is checked against the long way."""

from __future__ import annotations

import ctypes
from dataclasses import fields

import numpy as np
import pytest

from model import OrganizationModel, Parameters
from model.chart import OrgChart
from model.rng import RandomStreams
from model.structure import (
    FormalStructure,
    _generate,
    _structure_template,
    build_chart_structure,
    build_formal_structure,
    build_small_world,
    tie_network,
)


def _arrays(structure: FormalStructure) -> dict[str, np.ndarray]:
    return {f.name: getattr(structure, f.name) for f in fields(structure)}


def _assert_same(a: FormalStructure, b: FormalStructure) -> None:
    for name, array in _arrays(a).items():
        other = getattr(b, name)
        assert array.dtype == other.dtype, name
        np.testing.assert_array_equal(array, other, err_msg=name)


# --- the generated structure: a read-only template, copied into each model ------------------
@pytest.mark.parametrize("kind", ["tree", "teams", "none"])
@pytest.mark.parametrize("n,span", [(2, 6), (7, 6), (100, 6), (257, 3)])
def test_a_cached_structure_equals_a_fresh_one_and_its_template_is_read_only(kind, n, span):
    p = Parameters(n_employees=n, formal_structure=kind, span_of_control=span,
                   informal_degree=0)
    built = build_formal_structure(p)
    _assert_same(built, _generate(kind, n, span))
    template = _structure_template(kind, n, span)
    for name, array in _arrays(template).items():
        assert not array.flags.writeable, name
        assert not np.shares_memory(getattr(built, name), array), name
    with pytest.raises(ValueError):
        template.parent[0] = 5


def test_models_built_with_different_seeds_share_no_array():
    a = OrganizationModel(Parameters(n_employees=60, steps=3), rng=1)
    b = OrganizationModel(Parameters(n_employees=60, steps=3), rng=2)
    for name, array in _arrays(a.structure).items():
        assert array.flags.writeable, name
        assert not np.shares_memory(array, getattr(b.structure, name)), name
    for owner_a, owner_b in ((a.people, b.people), (a.beliefs, b.beliefs),
                             (a.network, b.network)):
        for name, array in vars(owner_a).items():
            if isinstance(array, np.ndarray):
                assert not np.shares_memory(array, getattr(owner_b, name)), name


def test_changing_one_models_arrays_mid_run_leaves_another_models_run_unchanged():
    p = Parameters(n_employees=80, steps=12)
    untouched = OrganizationModel(p, rng=4).run().results.to_frame()
    meddled = OrganizationModel(p, rng=9)
    meddled.run(5)
    meddled.structure.authority[:] = 0.0  # what a user might do to one model
    meddled.structure.unit_size[:] = 1
    meddled.run()
    again = OrganizationModel(p, rng=4).run().results.to_frame()
    assert again.equals(untouched)
    np.testing.assert_array_equal(OrganizationModel(p, rng=4).structure.authority,
                                  _generate("tree", 80, p.span_of_control).authority)


# --- an imported chart: its structure made once, copied into each model --------------------
def _chart(parent: list[int]) -> OrgChart:
    n = len(parent)
    return OrgChart(parent=np.array(parent, np.int64), pseudonym=tuple(f"p{i}" for i in range(n)),
                    unit=tuple("ab"[i % 2] for i in range(n)),
                    level=tuple("L" for _ in range(n)))


def test_a_charts_structure_is_made_once_copied_and_remade_after_its_parents_change():
    chart = _chart([-1, 0, 0, 1, 1, 2])
    first, second = chart.structure(), chart.structure()
    _assert_same(first, build_chart_structure(np.array(chart.parent)))
    assert first.parent is not second.parent and first.parent is not chart.parent
    first.parent[:] = -1  # a model's copy: the chart and the next copy keep theirs
    _assert_same(second, chart.structure())
    assert chart.parent.flags.writeable and chart.parent[1] == 0
    np.testing.assert_array_equal(chart.unit_codes(), [0, 1, 0, 1, 0, 1])
    chart.parent[5] = 1  # changed in place: made again
    _assert_same(chart.structure(), build_chart_structure(np.array(chart.parent)))


# --- the small world and its CSR: the numbers of the long (numpy) way -----------------------
def _small_world_long_way(n, degree, rewiring, strength, rng):
    """The network as it was built before its compiled kernels (numpy calls only)."""
    half = degree // 2
    u = np.repeat(np.arange(n), half)
    v = (u + np.tile(np.arange(1, half + 1), n)) % n
    rewire = rng.random(len(u)) < rewiring
    if rewire.any():
        new = rng.integers(0, n - 1, rewire.sum())
        new += new >= u[rewire]
        v = v.copy()
        v[rewire] = new
    src, dst = np.concatenate([u, v]), np.concatenate([v, u])
    tie = np.concatenate([np.arange(len(u)), np.arange(len(u))])
    order = np.argsort(src, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return u, v, np.full(len(u), strength), indptr, dst[order], tie[order]


@pytest.mark.parametrize("n,degree,rewiring", [(2, 2, 0.5), (10, 4, 0.0), (100, 6, 0.1),
                                               (1000, 8, 1.0), (501, 5, 0.3)])
def test_the_compiled_small_world_is_the_long_ways_to_the_draw(n, degree, rewiring):
    for seed in range(3):
        fast_rng, slow_rng = np.random.default_rng(seed), np.random.default_rng(seed)
        net = build_small_world(n, degree, rewiring, 0.4, fast_rng)
        expected = _small_world_long_way(n, degree, rewiring, 0.4, slow_rng)
        for got, want in zip((net.u, net.v, net.strength, net.indptr, net.target, net.tie),
                             expected, strict=True):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
        assert fast_rng.random() == slow_rng.random()  # the same draws were taken


def test_a_tie_network_of_arbitrary_ties_keeps_each_employees_half_edges_in_tie_order():
    rng = np.random.default_rng(3)
    u, v = rng.integers(0, 30, 200), rng.integers(0, 30, 200)
    net = tie_network(30, u.astype(np.int32), v, np.ones(200))
    order = np.argsort(np.concatenate([u, v]), kind="stable")
    np.testing.assert_array_equal(net.target, np.concatenate([v, u])[order])
    np.testing.assert_array_equal(net.tie, np.concatenate([np.arange(200)] * 2)[order])
    np.testing.assert_array_equal(np.diff(net.indptr), np.bincount(np.concatenate([u, v]),
                                                                   minlength=30))


# --- streams: the pointers compiled calls read are numpy's own -------------------------------
def test_a_streams_pointers_are_those_of_numpys_ctypes_interface():
    streams = RandomStreams(12)
    for name in ("conversations", "network", "x"):
        stream = streams[name]
        interface = stream.bit_generator.ctypes

        def address(function):
            return ctypes.cast(function, ctypes.c_void_p).value

        assert stream._pointers == (interface.state_address, interface.state.value,
                                    address(interface.next_double),
                                    address(interface.next_uint64),
                                    address(interface.next_uint32))
        assert streams[name] is stream


# --- the summary: the same numbers, the costly ones only when asked --------------------------
@pytest.fixture(scope="module")
def finished() -> list[OrganizationModel]:
    """Finished runs: a tracer planted early, a short run, one shorter than the window."""
    return [OrganizationModel(Parameters(n_employees=120, steps=70, probe_idea_step=5),
                              rng=3).run(),
            OrganizationModel(Parameters(n_employees=60, steps=30), rng=8).run(),
            OrganizationModel(Parameters(n_employees=40, steps=4, summary_window=10),
                              rng=1).run()]


def test_summary_tail_means_are_each_columns_own_mean(finished):
    from model.analysis import TAIL_MEANS, summarize

    for model in finished:
        r = model.results
        first = max(1, r.rows - model.p.summary_window)
        summary = summarize(model)
        for name in TAIL_MEANS:
            assert summary[name] == float(r.values[first:r.rows, r.names.index(name)].mean())


def test_the_tracers_curve_is_its_adopters_over_staff_step_by_step(finished):
    from model.analysis import probe_curve

    model = finished[0]
    reg = model.ideas
    k = int(np.flatnonzero(reg.is_probe[:reg.n])[0])
    curve = probe_curve(model)
    expected = np.asarray([h[k] for h in reg.history[int(reg.birth[k]):]], float) / 120
    assert curve.dtype == np.float64 and len(curve) == 66
    np.testing.assert_array_equal(curve, expected)


def test_a_sweep_asking_for_neither_network_metric_gets_neither_and_the_rest_unchanged(finished):
    from model.analysis import NETWORK_METRICS, summarize

    model = finished[1]
    full = summarize(model)
    lean = summarize(model, ["coasting_share", "mean_fit"])
    assert set(full) - set(lean) == {*NETWORK_METRICS, "bass_p", "bass_q"}
    assert all(lean[k] == full[k] for k in lean)
    one = summarize(model, ["realized_centralization"])
    assert all(one[k] == full[k] for k in NETWORK_METRICS)
    assert 0 <= full["realized_clustering"] <= 1


def test_the_datacollectors_reporters_read_the_last_row_when_first_asked_for(finished):
    model = finished[1]
    reporters = model.datacollector.model_reporters
    assert list(reporters) == model.results.names
    last = model.results.values[model.results.rows - 1]
    assert [reporters[name](model) for name in model.results.names] == last.tolist()
    assert model.datacollector.model_reporters is reporters
