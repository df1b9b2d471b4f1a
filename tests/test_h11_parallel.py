"""Session 11's parallel paths: the choice of partners and the exchange give the serial
pass's results bit for bit on any number of numba threads and ranges, and the threading
layer is TBB wherever it loads (the fallback, workqueue, only without it)."""

import multiprocessing
import os

import numba
import numpy as np
import pytest

from model.parallel import PARALLEL_MIN, tbb_loadable
from model.rng import Stream, uniforms
from tests.test_choose_blocks import choose_both_ways
from tests.test_h9_block_draws import _conversations, _run_exchange


@pytest.fixture
def numba_threads():
    """Set numba's thread count for a test; restored afterwards."""
    before = numba.get_num_threads()
    yield numba.set_num_threads
    numba.set_num_threads(before)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("blocks_extra", [1, 4_095])
def test_parallel_choice_equals_the_serial_pass_on_any_thread_count(numba_threads, threads,
                                                                     blocks_extra):
    """Blocks of 4,096 employees, the last one nearly empty or nearly full, some employees
    with no contact weight (a second pass): the very conversations and stream of the one
    pass in order, on one numba thread and on two."""
    numba_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    n = PARALLEL_MIN + 4_096 * 3 + blocks_extra
    out, chosen, count, serial_state, parallel_state = choose_both_ways(n, 1, 0.7, 991, 12)
    assert 0 < count < n  # some employees start none
    for serial, parallel in zip(out, chosen, strict=True):
        np.testing.assert_array_equal(serial, parallel)
    assert serial_state == parallel_state


@pytest.mark.parametrize("threads", [1, 2])
def test_exchange_in_ranges_equals_the_serial_pass_on_any_thread_count(numba_threads,
                                                                        threads):
    """The exchange split into 2, 4 and 7 ranges of blocks, run on one numba thread and on
    two: every output of the one pass in order, the stream included."""
    numba_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    initiators, partners, p = _conversations(PARALLEL_MIN + 8_000, seed=11)
    serial = _run_exchange(1, initiators, partners, p)
    assert serial[0].shape[1] > 1000 and serial[1].shape[1] > 100  # both kinds occur
    for ranges in (2, 4, 7):
        parallel = _run_exchange(ranges, initiators, partners, p)
        for a, b in zip(serial, parallel, strict=True):
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b)
            else:
                assert a == b


def test_threading_layer_is_tbb_where_it_loads():
    """After a parallel loop, numba runs on TBB if it loads here, else on workqueue (unless
    NUMBA_THREADING_LAYER chose)."""
    uniforms(np.random.Generator(np.random.PCG64(1)), PARALLEL_MIN)  # a parallel loop
    chosen = os.environ.get("NUMBA_THREADING_LAYER")
    if chosen and chosen not in ("tbb", "workqueue"):
        pytest.skip(f"NUMBA_THREADING_LAYER={chosen} lets numba choose")
    expected = chosen or ("tbb" if tbb_loadable() else "workqueue")
    assert numba.threading_layer() == expected


def _forked_draws(queue):
    queue.put(uniforms(Stream(np.random.PCG64(4)), PARALLEL_MIN + 3).sum())


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_process_that_ran_parallel_loops_forks_workers_that_run_them():
    """On TBB, a process whose threads ran parallel loops forks workers that run parallel
    loops on several threads too, and draw what the parent draws (numba's workqueue pool
    does not survive that: its forked workers run on one thread)."""
    uniforms(Stream(np.random.PCG64(4)), PARALLEL_MIN)  # (starts the threading layer)
    if numba.threading_layer() != "tbb":
        pytest.skip("the workqueue pool's forked workers run on one thread")
    here = uniforms(Stream(np.random.PCG64(4)), PARALLEL_MIN + 3).sum()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_forked_draws, args=(queue,))
    child.start()
    got = queue.get(timeout=120)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert got == here
