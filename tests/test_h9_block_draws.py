"""Draws keyed by blocks of employees (model.rng.jumped_states): the exchange of
conversations and the adoption rule give the same draws and results on one thread and on
several, those of a reference written with numpy's own Generators (block b's jumped
b * BLOCK_STRIDE draws on), and in an organization of one block those of one pass in
order from one Generator (the scheme before blocks)."""

import copy
import math

import numpy as np
import pytest

from model.parallel import PARALLEL_MIN
from model.processes.adoption import expose_in_random_order, new_exposure_memory
from model.processes.conversations import exchange
from model.rng import BLOCK_STRIDE, DRAW_BLOCK, Stream


def _block_generators(seed_state: dict, blocks: int) -> list[np.random.Generator]:
    """numpy Generators: block b's starts at ``seed_state`` jumped b * BLOCK_STRIDE draws on
    (numpy's advance drops a buffered 32-bit half; block 0 keeps it)."""
    generators = []
    for b in range(blocks):
        bit_generator = np.random.PCG64()
        bit_generator.state = seed_state
        if b:
            bit_generator.advance(b * BLOCK_STRIDE)
        generators.append(np.random.Generator(bit_generator))
    return generators


# --- the exchange of conversations --------------------------------------------------------

def _conversations(n, seed=5):
    """A reporting tree (span 4), ideas in use by about half the employees, and one or two
    conversations started by each employee with a random colleague or their manager."""
    rng = np.random.default_rng(seed)
    m, n_ideas, scope = 24, 60, 3
    manager = np.arange(n) // 4 - 1
    manager[0] = -1
    level = np.zeros(n, np.int64)
    for i in range(1, n):
        level[i] = level[manager[i]] + 1 if manager[i] >= 0 else 0
    unit = np.maximum(manager, 0)
    dims = np.stack([rng.permutation(m)[:scope] for _ in range(n_ideas)]).astype(np.int64)
    source = np.where(rng.random((n, m)) < 0.3, rng.integers(0, n_ideas, (n, m)), -1)
    latest = np.where(rng.random(n) < 0.5, rng.integers(0, n_ideas, n), -1)
    users = latest >= 0
    source[users, dims[latest[users], 0]] = latest[users]  # most still use their newest
    source[rng.random(n) < 0.2, :] = -1
    source = source.astype(np.int32)
    starts = rng.integers(1, 3, n)
    initiators = np.repeat(np.arange(n), starts)
    partners = (initiators + rng.integers(1, n, len(initiators))) % n
    upward = (rng.random(len(initiators)) < 0.2) & (manager[initiators] >= 0)
    partners[upward] = manager[initiators[upward]]  # some talk to their manager
    people = {"manager": manager, "level": level, "unit": unit,
              "effort": rng.random(n), "commitment": rng.random(n),
              "latest": latest.astype(np.int64), "visibility": rng.uniform(0.05, 0.6, n),
              "power_distance": rng.uniform(0.0, 0.9, n),
              "approval_levels": rng.integers(0, 2, n).astype(np.int64),
              "source": source, "dims": dims, "sanctioned": rng.random(n_ideas) < 0.3}
    return initiators, partners, people


def _run_exchange(threads, initiators, partners, p, seed=9):
    """(exposures, submissions, conversations across units, heard, effort and commitment
    seen, work witnessed, stream state) of the exchange on ``threads`` ranges (1: its
    serial kernels; more: its parallel ones, from PARALLEL_MIN conversations)."""
    n = len(p["manager"])
    rng = Stream(np.random.PCG64(seed))
    heard, seen_effort, seen_commit = np.full(n, 7), np.ones(n), np.ones(n)  # (cleared)
    witnessed = np.ones(n, np.bool_)
    exposures = np.zeros((3, 2 * len(initiators)), np.int64)
    submissions = np.zeros_like(exposures)
    n_exp, n_sub, n_cross = exchange(
        rng, initiators, partners, (p["manager"], p["level"], p["unit"]),
        (p["effort"], p["commitment"], seen_effort, seen_commit, heard, witnessed,
         p["latest"]),
        (p["visibility"], p["power_distance"], p["approval_levels"]), p["source"],
        p["dims"], p["sanctioned"], exposures, submissions, threads)
    return (exposures[:, :n_exp], submissions[:, :n_sub], n_cross, heard, seen_effort,
            seen_commit, witnessed, rng.bit_generator.state["state"])


def _reference_exchange(initiators, partners, p, seed=9):
    """The directions in order, each speaker's draws from its block's numpy Generator:
    (exposures, submissions, work witnessed, stream state after the last block)."""
    n = len(p["manager"])
    blocks = -(-n // DRAW_BLOCK)
    generators = _block_generators(np.random.PCG64(seed).state, blocks)
    manager, level, latest, source, dims = (p["manager"], p["level"], p["latest"],
                                            p["source"], p["dims"])
    witnessed = np.zeros(n, np.bool_)
    exposures, submissions = [], []
    for a, b in zip(initiators.tolist(), partners.tolist(), strict=True):
        for s, lis in ((a, b), (b, a)):
            draw = generators[s // DRAW_BLOCK].random
            if manager[s] != lis and not witnessed[s]:
                witnessed[s] = draw() < p["visibility"][s]
            k = latest[s]
            if k < 0 or source[s, dims[k, 0]] != k or source[lis, dims[k, 0]] == k:
                continue
            passes = draw() >= p["power_distance"][s] if level[lis] < level[s] else True
            if passes and manager[s] == lis and p["approval_levels"][s] > 0 and (
                    not p["sanctioned"][k]):
                submissions.append((k, lis, s))
            elif passes:
                exposures.append((lis, s, k))
    as_rows = lambda rows: np.array(rows, np.int64).reshape(-1, 3).T  # noqa: E731
    return (as_rows(exposures), as_rows(submissions), witnessed,
            generators[-1].bit_generator.state["state"])


@pytest.mark.parametrize("n", [3000, 5 * DRAW_BLOCK + 123])
def test_exchange_draws_per_speakers_block_as_numpys_generators(n):
    """One block (3,000 employees): one pass in order from one Generator; six blocks: each
    speaker's draws from its block's jumped Generator."""
    initiators, partners, p = _conversations(n)
    exposures, submissions, _, _, _, _, witnessed, state = _run_exchange(
        1, initiators, partners, p)
    want_exp, want_sub, want_witnessed, want_state = _reference_exchange(
        initiators, partners, p)
    assert exposures.shape[1] > 100 and submissions.shape[1] > 5  # both kinds occur
    np.testing.assert_array_equal(exposures, want_exp)
    np.testing.assert_array_equal(submissions, want_sub)
    np.testing.assert_array_equal(witnessed, want_witnessed)
    assert state == want_state


@pytest.mark.parametrize("threads", [2, 3])
def test_parallel_exchange_equals_the_serial_pass_over_several_blocks(threads):
    """The parallel kernels (employees in ranges of whole blocks, one thread each; the
    exposures merged in parallel chunks) give every output of the serial ones, the stream
    included, over 25 blocks and enough conversations for the parallel path."""
    initiators, partners, p = _conversations(PARALLEL_MIN + 77, seed=6)
    assert len(initiators) >= PARALLEL_MIN
    serial = _run_exchange(1, initiators, partners, p)
    parallel = _run_exchange(threads, initiators, partners, p)
    assert serial[0].shape[1] > 1000 and serial[1].shape[1] > 100
    for a, b in zip(serial, parallel, strict=True):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b


# --- the adoption rule --------------------------------------------------------------------

def _adoption_case(n, count, seed=3):
    """Beliefs, ideas, people and parameters of ``n`` employees, and ``count`` exposures
    (listener, speaker, idea) with repeats of one listener and idea."""
    rng = np.random.default_rng(seed)
    m, n_ideas, scope = 24, 80, 3
    need = rng.choice(np.array([-1, 1], np.int8), m)
    practice = rng.integers(-1, 2, (n, m)).astype(np.int8)
    dims = np.stack([rng.permutation(m)[:scope] for _ in range(n_ideas)]).astype(np.int64)
    values = rng.choice(np.array([-1, 1], np.int8), (n_ideas, scope))
    source = np.where(rng.random((n, m)) < 0.1, rng.integers(0, n_ideas, (n, m)), -1)
    beliefs = (practice, source.astype(np.int32), (practice == need).sum(1).astype(np.int64),
               (source >= 0).sum(1).astype(np.int64), need)
    adopters = np.zeros(n_ideas, np.int64)
    for k in range(n_ideas):
        adopters[k] = np.count_nonzero(beliefs[1][:, dims[k, 0]] == k)
    ideas = (dims, values, adopters, rng.random(n_ideas) < 0.4, np.zeros(n_ideas, np.int64),
             np.zeros(n_ideas), rng.random(n_ideas),
             np.where(rng.random(n_ideas) < 0.2, rng.integers(0, 3, n_ideas), -1))
    people = (rng.random(n), rng.integers(-1, n_ideas, n).astype(np.int64),
              rng.integers(0, 3, n).astype(np.int64))
    listeners = rng.integers(0, n, count)
    listeners[count // 2:count // 2 + 200] = listeners[:200]  # repeats: adopted earlier
    heard = rng.integers(0, n_ideas, count)
    heard[count // 2:count // 2 + 200] = heard[:200]
    speakers = (listeners + rng.integers(1, n, count)) % n
    return listeners, speakers, heard, beliefs, ideas, people, rng.uniform(0.0, 1.0, n)


def _run_adoption(case, threads, threshold=1, noise_sd=0.3, seed=12):
    """(adoptions, every state array after, stream state) of expose_in_random_order."""
    listeners, speakers, heard, beliefs, ideas, people, risk = copy.deepcopy(case)
    prm = (-1.0, 2.0, noise_sd, 0.5, risk, np.int64(threshold), np.int64(4))
    rng = Stream(np.random.PCG64(seed))
    rng.integers(0, 5, dtype=np.uint32)  # leave an upper half buffered
    memory = new_exposure_memory()
    adopted = expose_in_random_order(listeners, speakers, heard, beliefs, ideas, people, prm,
                                     rng, memory, np.int64(3), threads)
    return adopted, [*beliefs, *ideas, *people], rng.bit_generator.state


def _reference_adoption(case, noise_sd=0.3, seed=12):
    """Each block of listeners: numpy's permutation of its exposures, then the adoption
    rule on each in that order, from the block's Generator: (adoptions as (listener,
    idea) in the blocks' order, newest ideas, stream state after the last block)."""
    listeners, speakers, heard, beliefs, ideas, people, risk = case
    practice, source, _, _, need = beliefs
    dims, values, _, sanctioned, _, _, _, idea_market = ideas
    influence, latest, market = people[0], people[1].copy(), people[2]
    start = Stream(np.random.PCG64(seed))
    start.integers(0, 5, dtype=np.uint32)
    blocks = -(-len(influence) // DRAW_BLOCK)
    generators = _block_generators(start.bit_generator.state, blocks)
    taken, adoptions = set(), []
    for b, gen in enumerate(generators):
        members = np.flatnonzero(listeners // DRAW_BLOCK == b)
        for y in gen.permutation(len(members)):
            x = members[y]
            lis, s, k = int(listeners[x]), int(speakers[x]), int(heard[x])
            if source[lis, dims[k, 0]] == k or 0 <= idea_market[k] != market[lis]:
                continue
            if lis in taken and latest[lis] == k:
                continue
            gain = sum(int(values[k, j] == need[d]) - int(practice[lis, d] == need[d])
                       for j, d in enumerate(dims[k]))
            seen = gain / dims.shape[1]
            seen += noise_sd * gen.standard_normal()
            appeal = -1.0 + 2.0 * seen + 0.5 * (influence[s] - influence[lis])
            appeal -= 0.0 if sanctioned[k] else risk[lis]
            if gen.random() < 1.0 / (1.0 + math.exp(-appeal)):
                taken.add(lis)
                latest[lis] = k
                adoptions.append((lis, k))
    return adoptions, latest, generators[-1].bit_generator.state


@pytest.mark.parametrize("n", [2000, 3 * DRAW_BLOCK + 5])
def test_adoption_weighs_each_listeners_block_as_numpys_generators(n):
    """One block: numpy's permutation of all exposures, then each in that order, from one
    Generator (the scheme before blocks); four blocks: the same within each block, from
    its jumped Generator; the stream left as the last block's (its buffered half too)."""
    case = _adoption_case(n, 3000)
    adopted, arrays, state = _run_adoption(case, threads=1)
    want, want_latest, want_state = _reference_adoption(case)
    assert adopted == len(want) > 100
    np.testing.assert_array_equal(arrays[-2], want_latest)
    counts = np.bincount([k for _, k in want], minlength=len(arrays[9]))
    np.testing.assert_array_equal(arrays[9], counts)  # adoptions per idea
    assert state == want_state


@pytest.mark.parametrize("threshold", [1, 2])
def test_parallel_adoption_equals_the_serial_blocks(threshold):
    """Enough exposures in a large organization for the parallel appraisal and blocks
    (complex contagion keeps its shared memory serial): every array and the stream alike."""
    case = _adoption_case(PARALLEL_MIN + 3_000, PARALLEL_MIN // 5)
    serial = _run_adoption(case, threads=1, threshold=threshold)
    parallel = _run_adoption(case, threads=2, threshold=threshold)
    assert serial[0] == parallel[0] > (1000 if threshold == 1 else 20)  # (2: repeats only)
    for a, b in zip(serial[1], parallel[1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert serial[2] == parallel[2]
