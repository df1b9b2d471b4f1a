"""Process 4c, the playbook: March's (1991) organizational code.

- Codification of ideas: ideas approved, and (where nothing needs approval) ideas used
  by at least ``codify_share`` of the employees they apply to, are sanctioned. The
  playbook is organization-wide: only an idea that applies everywhere (the tracer) is
  written into it; an idea of one market, once sanctioned, is used there without risk.
- Learning from the best (March's p2): on each dimension where the employees who fit
  needs better than the playbook hold a majority belief different from it, the
  playbook takes that belief with chance 1 - (1 - p2)^k, k being the majority margin.
  What it learns this way is attributed to practice, not to any one idea.
- Socialization (March's p1): each employee takes the playbook's belief on each
  dimension where it differs (and is not 0) with chance p1; an idea the playbook
  holds spreads this way down to everyone. With ``slow_learner_share`` > 0, that share
  of employees (drawn once, stream ``learners``) learn at ``slow_socialization_rate``.
- Options recovered from March's original program (Christensen 2015), off by default:
  ``socialization_mode = "gradual"`` moves a belief one step (an opposite belief first
  becomes 0); ``code_learning_basis = "actions"`` judges employees and the playbook by
  actions (a coin flip where no belief is held) scored as matches minus mismatches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from llvmlite import ir
from numba import njit, prange
from numba.core import types as nbtypes
from numba.core.extending import intrinsic

from model.beliefs import OWN, assign_cells, assign_distinct_cells
from model.bundle import BundleCache, Entry
from model.parallel import PARALLEL_MIN, serial_twin
from model.processes.base import Process
from model.rng import coin_signs, pcg_address, pcg_load, pcg_store, pcg_uniform, uniforms

if TYPE_CHECKING:
    pass


BLOCK = 4096  # employees per block of a parallel count (fixed: results never depend on threads)
RANK_BLOCK = 4096  # cells per block when locating the cells socialization takes
IDEA_BLOCK = 16384  # ideas per block of a parallel search of the registry


@njit(cache=True, parallel=True)
def superior_beliefs(practice, matches, code_matches):
    """Counts of +1 and -1 beliefs per dimension among employees who fit needs better
    than the playbook, and how many such employees there are (counted in fixed blocks
    of employees in parallel, then added up)."""
    n, m = practice.shape
    blocks = (n + BLOCK - 1) // BLOCK
    plus_by_block = np.zeros((blocks, m), np.int64)
    minus_by_block = np.zeros((blocks, m), np.int64)
    superior_by_block = np.zeros(blocks, np.int64)
    for b in prange(blocks):
        superior_by_block[b] = _count_superior(practice, matches, code_matches, b * BLOCK,
                                               min(n, (b + 1) * BLOCK), plus_by_block[b],
                                               minus_by_block[b])
    return plus_by_block.sum(axis=0), minus_by_block.sum(axis=0), superior_by_block.sum()


@njit(cache=True)
def _count_superior(practice, matches, code_matches, start, stop, plus, minus):
    """Into ``plus`` and ``minus``, the +1 and -1 beliefs of employees start..stop who fit
    needs better than the playbook; returns how many they are."""
    superior = 0
    for i in range(start, stop):
        if matches[i] > code_matches:
            superior += 1
            for d in range(practice.shape[1]):
                plus[d] += practice[i, d] == 1
                minus[d] += practice[i, d] == -1
    return superior


@njit(cache=True)
def learn_code(plus, minus, code, code_source, draws, p2, own):
    """On each dimension where the better performers' majority belief differs from the
    playbook's, the playbook takes it with chance 1 - (1 - p2)^margin (``draws``: one
    uniform draw per dimension)."""
    for d in range(len(code)):
        majority = np.int8(np.sign(plus[d] - minus[d]))
        if majority != 0 and majority != code[d]:  # (the chance worked out only then)
            if draws[d] < 1.0 - (1.0 - p2) ** np.float64(abs(plus[d] - minus[d])):
                code[d] = majority
                code_source[d] = own


@njit(cache=True)
def teach(state, dims, adopters, rows, cols, code, code_source, gradual):
    """Move the chosen cells (distinct, sorted by row) to the playbook's belief: at once,
    or (gradual) one step, an opposite belief becoming 0 (no belief) first."""
    values = code[cols].copy()
    sources = code_source[cols].copy()
    if gradual:
        practice = state[0]
        for x in range(len(rows)):
            if practice[rows[x], cols[x]] != 0:
                values[x] = 0
                sources[x] = -1
    if len(rows) >= PARALLEL_MIN:
        assign_distinct_cells(state, dims, adopters, rows, cols, values, sources)
    else:  # the same result, cell by cell (distinct cells: the order does not matter)
        assign_cells(state, dims, adopters, rows, cols, values, sources)


@njit(cache=True, parallel=True)
def differing_cells(practice, code):
    """Per employee, the dimensions where the playbook holds a belief (not 0) they do not."""
    n, m = practice.shape
    counts = np.empty(n, np.int64)
    for i in prange(n):
        c = 0
        for d in range(m):
            c += (code[d] != 0) & (practice[i, d] != code[d])
        counts[i] = c
    return counts


differing_cells_serial = serial_twin(differing_cells)


@njit(cache=True)
def _fill_ranks(rng, taken, count, cell, total, log_q, always):
    """Ranks drawn into ``taken`` from ``count`` on, after rank ``cell``, until it is full
    or the draws pass ``total``; returns (count, last rank, whether they passed it)."""
    address = pcg_address(rng)  # the stream's draws, inline
    state, inc = pcg_load(address)
    done = False
    while count < len(taken):
        skip = 0.0
        if not always:  # a geometric gap
            state, u = pcg_uniform(state, inc)
            skip = np.log(1.0 - u) / log_q
        if cell + 1 + skip >= total:
            done = True
            break
        cell += 1 + int(skip)
        taken[count] = cell
        count += 1
    pcg_store(address, state)
    return count, cell, done


@njit(cache=True)
def geometric_ranks(rng, total, p1):
    """Ranks (ascending) of the cells taken among ``total`` cells, each with chance p1, by
    geometric skips: one draw per cell taken, and one more."""
    capacity = int(total * p1 + 6.0 * np.sqrt(total * p1) + 16)
    taken = np.empty(capacity, np.int64)  # ranks of the cells taken among the differing cells
    log_q = np.log1p(-p1) if p1 < 1.0 else -np.inf
    count, cell, done = _fill_ranks(rng, taken, 0, -1, total, log_q, p1 >= 1.0)
    while not done:  # (grown outside the drawing loop: no reference counts in it)
        taken = np.concatenate((taken, np.empty(capacity, np.int64)))
        count, cell, done = _fill_ranks(rng, taken, count, cell, total, log_q, p1 >= 1.0)
    return taken[:count]


@njit(cache=True)
def socialize_cells(rng, state, code, code_source, dims, adopters, p1, gradual):
    """Each (employee, dimension) cell takes the playbook's belief with chance p1 where the
    playbook holds a belief (not 0) that differs. Only such cells are visited, in row-major
    order by geometric skips (one draw per cell taken, not per cell): the draws pick the
    cells' ranks among the differing cells, one after another; finding and teaching the
    cells runs in parallel in large organizations."""
    m = state[0].shape[1]
    if m % 8 == 0 and m <= 64:
        _socialize_rows(rng, state, code, code_source, dims, adopters, p1, gradual)
    else:
        _socialize_wide(rng, state, code, code_source, dims, adopters, p1, gradual)


@njit(cache=True)
def _socialize_wide(rng, state, code, code_source, dims, adopters, p1, gradual):
    """:func:`socialize_cells` for any number of dimensions: differing cells counted, the
    ranks drawn, the cells located, then taught."""
    practice = state[0]
    if len(practice) >= PARALLEL_MIN:
        counts = differing_cells(practice, code)
    else:
        counts = differing_cells_serial(practice, code)
    taken = geometric_ranks(rng, counts.sum(), p1)
    if len(taken) >= PARALLEL_MIN:
        rows, cols = _locate_cells(practice, code, counts, taken)
    else:
        rows, cols = _locate_cells_in_order(practice, code, counts, taken)
    teach(state, dims, adopters, rows, cols, code, code_source, gradual)


@intrinsic
def _popcount(typingctx, word):
    """How many bits of a uint64 are set (one machine instruction)."""
    if word != nbtypes.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return nbtypes.uint64(nbtypes.uint64), codegen


@intrinsic
def _lowest_bit(typingctx, word):
    """Index of the lowest set bit of a (non-zero) uint64 (one machine instruction)."""
    if word != nbtypes.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))

    return nbtypes.uint64(nbtypes.uint64), codegen


_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_GATHER = np.uint64(0x0102040810204080)  # the high bits of 8 bytes -> the 8 bits of one byte


@njit(cache=True)
def _code_words(practice, code):
    """Employees' beliefs and the playbook as words of 8 dimensions (m a multiple of 8),
    and per word the high bit of each byte where the playbook holds a belief."""
    n, m = practice.shape
    words = practice.reshape(-1).view(np.uint64).reshape(n, m // 8)
    code_set = np.zeros(m // 8, np.uint64)
    for d in range(m):
        if code[d] != 0:
            code_set[d // 8] |= np.uint64(0x80) << np.uint64(8 * (d % 8))
    return words, code.view(np.uint64), code_set


_ONES = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)
_SELECT = np.array([[([b for b in range(8) if byte >> b & 1] + [0] * 8)[r] for r in range(8)]
                    for byte in range(256)], np.uint64)  # the set bit of each rank in a byte


@njit(cache=True, inline="always")
def _nth_bit(mask, rank):
    """Index of the set bit of the given rank (0: the lowest) of ``mask``, without a branch:
    the bits set in bytes 0..j summed for all bytes j at once, the byte holding the bit
    found by comparing all eight sums with the rank, the bit within it looked up."""
    b = mask - ((mask >> np.uint64(1)) & np.uint64(0x5555555555555555))
    b = (b & np.uint64(0x3333333333333333)) + ((b >> np.uint64(2))
                                               & np.uint64(0x3333333333333333))
    sums = ((b + (b >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)) * _ONES
    r = np.uint64(rank)
    byte = _popcount((((r * _ONES) | _HIGHS) - sums) & _HIGHS)  # bytes with sums <= rank
    shift = np.uint64(8) * byte
    before = ((sums << np.uint64(8)) >> shift) & np.uint64(0xFF)
    return np.int64(_SELECT[(mask >> shift) & np.uint64(0xFF), r - before] + shift)


@njit(cache=True, parallel=True)
def _count_rows(practice, code):
    """Differing cells of each employee (m <= 64, a multiple of 8) and of each fixed block
    of BLOCK employees (in parallel)."""
    n = len(practice)
    words, code_words, code_set = _code_words(practice, code)
    counts = np.empty(n, np.uint8)
    blocks = (n + BLOCK - 1) // BLOCK
    by_block = np.zeros(blocks, np.int64)
    for b in prange(blocks):
        total = 0
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            c = np.uint64(0)
            for k in range(len(code_words)):  # differing bytes' high bits, counted
                x = words[i, k] ^ code_words[k]
                c += _popcount((((x & _LOW7) + _LOW7) | x) & code_set[k])
            counts[i] = np.uint8(c)
            total += np.int64(c)
        by_block[b] = total
    return counts, by_block


@njit(cache=True, parallel=True)
def _teach_rows(practice, source, matches, ideas_in_use, need, dims, code, code_source,
                counts, by_block, ranks, gradual):
    """Teach the differing cells of the given ascending ranks (row-major), each fixed block
    of employees by one thread (its rows only); returns per cell the ideas whose anchor
    cell is given up and taken (-1: none). ``counts``, ``by_block``: :func:`_count_rows`."""
    words, code_words, code_set = _code_words(practice, code)
    dropped = np.empty(len(ranks), np.int64)
    gained = np.empty(len(ranks), np.int64)
    starts = np.cumsum(by_block) - by_block  # differing cells before each block
    for b in prange(len(by_block)):
        x = np.searchsorted(ranks, starts[b])
        stop = starts[b] + by_block[b]
        i, before = b * BLOCK, starts[b]  # differing cells before row i
        row, mask = -1, np.uint64(0)  # the row whose mask is at hand
        while x < len(ranks) and ranks[x] < stop:
            while before + counts[i] <= ranks[x]:
                before += counts[i]
                i += 1
            if row != i:  # bit d: the playbook holds a belief that i's differs from
                row, mask = i, np.uint64(0)
                for k in range(len(code_words)):
                    w = words[i, k] ^ code_words[k]
                    high = (((w & _LOW7) + _LOW7) | w) & code_set[k]  # differing bytes
                    mask |= ((((high >> np.uint64(7)) * _GATHER) >> np.uint64(56))
                             << np.uint64(8 * k))
            d = _nth_bit(mask, ranks[x] - before)
            # the cell taught as :func:`teach` does (written out: a helper taking these
            # arrays costs reference counts per cell), selects for random outcomes
            value, src = code[d], code_source[d]
            old_value, old_src = practice[i, d], np.int64(source[i, d])
            if gradual and old_value != 0:
                value, src = np.int8(0), np.int64(-1)
            matches[i] += np.int64(value == need[d]) - np.int64(old_value == need[d])
            ideas_in_use[i] += np.int64(src >= 0) - np.int64(old_src >= 0)
            dropped[x] = old_src if (old_src >= 0) & (dims[max(old_src, 0), 0] == d) else -1
            gained[x] = src if (src >= 0) & (dims[max(src, 0), 0] == d) else -1
            practice[i, d] = value
            source[i, d] = src
            x += 1
    return dropped, gained


_count_rows_serial = serial_twin(_count_rows)
_teach_rows_serial = serial_twin(_teach_rows)


@njit(cache=True)
def _socialize_rows(rng, state, code, code_source, dims, adopters, p1, gradual):
    """:func:`socialize_cells` for up to 64 dimensions, a multiple of 8: each employee's
    differing cells counted 8 dimensions at a time (in parallel in a large organization),
    the ranks taken drawn in order (:func:`geometric_ranks`), the cells located and taught
    by blocks of employees (in parallel), then the adopter counts moved (integers: the
    result does not depend on the thread count)."""
    practice, source, matches, ideas_in_use, need = state
    large = len(practice) >= PARALLEL_MIN
    counts, by_block = _count_rows(practice, code) if large else _count_rows_serial(
        practice, code)
    ranks = geometric_ranks(rng, by_block.sum(), p1)
    args = (practice, source, matches, ideas_in_use, need, dims, code, code_source, counts,
            by_block, ranks, gradual)
    dropped, gained = _teach_rows(*args) if large else _teach_rows_serial(*args)
    for idea in dropped:
        if idea >= 0:
            adopters[idea] -= 1
    for idea in gained:
        if idea >= 0:
            adopters[idea] += 1


@njit(cache=True, inline="always")
def _differing_column(practice, code, i, rank):
    """The dimension of employee i's differing cell of the given rank (0: the first)."""
    for d in range(practice.shape[1]):
        if code[d] != 0 and practice[i, d] != code[d]:
            if rank == 0:
                return d
            rank -= 1
    return -1


@njit(cache=True)
def _locate_cells_in_order(practice, code, counts, ranks):
    """:func:`_locate_cells` in one serial walk over the employees."""
    rows = np.empty(len(ranks), np.int64)
    cols = np.empty(len(ranks), np.int64)
    i, before = 0, 0  # differing cells of the employees before i
    for x in range(len(ranks)):
        while before + counts[i] <= ranks[x]:
            before += counts[i]
            i += 1
        rows[x], cols[x] = i, _differing_column(practice, code, i, ranks[x] - before)
    return rows, cols


@njit(cache=True, parallel=True)
def _locate_cells(practice, code, counts, ranks):
    """(employee, dimension) of the differing cells of the given ascending ranks
    (row-major), in fixed blocks of ranks: each block finds its first row, then walks on."""
    before = np.cumsum(counts) - counts  # differing cells of the employees before each
    rows = np.empty(len(ranks), np.int64)
    cols = np.empty(len(ranks), np.int64)
    blocks = (len(ranks) + RANK_BLOCK - 1) // RANK_BLOCK
    for b in prange(blocks):
        start, stop = b * RANK_BLOCK, min(len(ranks), (b + 1) * RANK_BLOCK)
        i = np.searchsorted(before, ranks[start], side="right") - 1
        for x in range(start, stop):
            while before[i] + counts[i] <= ranks[x]:
                i += 1
            rows[x], cols[x] = i, _differing_column(practice, code, i, ranks[x] - before[i])
    return rows, cols


@njit(cache=True)
def socialize_by_rate(rng, state, code, code_source, dims, adopters, rates, gradual):
    """Like :func:`socialize_cells`, with each employee's own rate (one draw per cell)."""
    practice = state[0]
    n, m = practice.shape
    rows = np.empty(n * m, np.int64)
    cols = np.empty(n * m, np.int64)
    count = 0
    for i in range(n):
        for d in range(m):
            if rng.random() < rates[i] and code[d] != 0 and practice[i, d] != code[d]:
                rows[count], cols[count] = i, d
                count += 1
    teach(state, dims, adopters, rows[:count], cols[:count], code, code_source, gradual)


@njit(cache=True)
def codify_ideas(registry, ideas, code, code_source, step):
    """Sanction the given ideas not sanctioned yet (in order) and write the beliefs of those
    that apply everywhere into the playbook (``registry``:
    :meth:`IdeaRegistry.kernel_arrays`)."""
    (origin, birth, sanctioned_step, squashed_step, reviewer, approvals, adopters, peak,
     step_half, step_wide, step_90, adoptions, forum_until, market, audience, value_at_birth,
     adopted_value_sum, sanctioned, squashed, is_probe, dims, values) = registry
    for k in ideas:
        if sanctioned[k]:
            continue
        sanctioned[k] = True
        sanctioned_step[k] = step
        if market[k] < 0:  # the playbook holds what applies everywhere
            for j in range(dims.shape[1]):
                code[dims[k, j]] = values[k, j]
                code_source[dims[k, j]] = k


@njit(cache=True, parallel=True)
def _widely_used_blocks(adopters, audience, sanctioned, squashed, origin, needs_approval,
                        codify_share, n_ideas):
    """The ids of :func:`widely_used`, found in fixed blocks of ideas in parallel (counted,
    then written at each block's offset: ascending ids on any number of threads)."""
    blocks = (n_ideas + IDEA_BLOCK - 1) // IDEA_BLOCK
    found = np.zeros(blocks + 1, np.int64)
    for b in prange(blocks):
        found[b + 1] = _scan_ideas(adopters, audience, sanctioned, squashed, origin,
                                   needs_approval, codify_share, b * IDEA_BLOCK,
                                   min(n_ideas, (b + 1) * IDEA_BLOCK), found[:0])
    offsets = np.cumsum(found)
    wide = np.empty(offsets[-1], np.int64)
    for b in prange(blocks):
        _scan_ideas(adopters, audience, sanctioned, squashed, origin, needs_approval,
                    codify_share, b * IDEA_BLOCK, min(n_ideas, (b + 1) * IDEA_BLOCK),
                    wide[offsets[b]:offsets[b + 1]])
    return wide


@njit(cache=True)
def _scan_ideas(adopters, audience, sanctioned, squashed, origin, needs_approval,
                codify_share, start, stop, found):
    """How many of ideas start..stop are widely used; their ids written into ``found``
    unless it is empty."""
    count = 0
    for k in range(start, stop):  # the rarest condition first: most ideas are used by few
        # (written out: a helper taking these arrays cost ~60 ns an idea in reference counts)
        if (adopters[k] >= codify_share * audience[k] and not sanctioned[k] and not squashed[k]
                and not needs_approval[origin[k]]):
            if len(found):
                found[count] = k
            count += 1
    return count


@njit(cache=True)
def widely_used(registry, n_ideas, codify_share, needs_approval):
    """Live ideas used by at least ``codify_share`` of their audience, neither sanctioned
    nor squashed, whose originator needs no approval (ascending ids)."""
    (origin, birth, sanctioned_step, squashed_step, reviewer, approvals, adopters, peak,
     step_half, step_wide, step_90, adoptions, forum_until, market, audience, value_at_birth,
     adopted_value_sum, sanctioned, squashed, is_probe, dims, values) = registry
    if n_ideas >= PARALLEL_MIN:
        return _widely_used_blocks(adopters, audience, sanctioned, squashed, origin,
                                   needs_approval, codify_share, n_ideas)
    wide = np.empty(n_ideas, np.int64)
    count = _scan_ideas(adopters, audience, sanctioned, squashed, origin, needs_approval,
                        codify_share, 0, n_ideas, wide)
    return wide[:count]


@njit(cache=True)
def learn_from_superior(rng, state, code, code_source, p2):
    """March's p2: the playbook learns from the employees who fit needs better (one draw
    per dimension, taken only if there are any)."""
    practice, source, matches, ideas_in_use, need = state
    code_matches = 0
    for d in range(len(code)):
        code_matches += code[d] == need[d]
    if len(practice) >= PARALLEL_MIN:
        plus, minus, superior = superior_beliefs(practice, matches, code_matches)
    else:
        plus = np.zeros(len(code), np.int64)  # integer counts: one block counts the same
        minus = np.zeros(len(code), np.int64)
        superior = _count_superior(practice, matches, code_matches, 0, len(practice), plus,
                                   minus)
    if superior == 0:
        return
    learn_code(plus, minus, code, code_source, uniforms(rng, len(code)), p2, OWN)


@njit(cache=True)
def playbook_step(rng, bundle, n_ideas, step, codify_share, p2, p1, gradual):
    """One step of the playbook in one call: codify widely used ideas (where some need no
    approval), learn from the best (p2 > 0), socialize at one rate p1 (p1 > 0)."""
    playbook_from(rng, bundle.arrays, n_ideas, step, codify_share, p2, p1, gradual)


@njit(cache=True)
def playbook_from(rng, arrays, n_ideas, step, codify_share, p2, p1, gradual):
    """:func:`playbook_step` on the bundle's arrays (:meth:`Playbook.kernel_arrays`)."""
    registry, state, code, code_source, needs_approval, codify = arrays
    dims, adopters = registry[20], registry[6]
    if codify[0]:
        codify_ideas(registry, widely_used(registry, n_ideas, codify_share, needs_approval),
                     code, code_source, step)
    if p2 > 0:
        learn_from_superior(rng, state, code, code_source, p2)
    if p1 > 0:
        socialize_cells(rng, state, code, code_source, dims, adopters, p1, gradual)


def learner_rates(n: int, slow_share: float, fast: float, slow: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Socialization rate of each employee: round(slow_share * n) random slow learners."""
    rates = np.full(n, fast)
    rates[rng.permutation(n)[: round(slow_share * n)]] = slow
    return rates


class Playbook(Process):
    """Codifies ideas, learns from the best performers, and socializes employees."""

    name = "playbook"

    def __init__(self, model):
        super().__init__(model)
        p = model.p
        self.gradual = p.socialization_mode == "gradual"
        self.slow = None  # who learns at slow_socialization_rate (None: nobody)
        if p.slow_learner_share > 0:
            self.slow = learner_rates(p.n_employees, p.slow_learner_share, 0.0, 1.0,
                                      model.streams["learners"]) == 1.0
        self._arrays = BundleCache(self.kernel_arrays)
        self._step = Entry(playbook_step)
        self._one_rate: float | None = None  # everyone's socialization rate, if all share one
        self._fusable: tuple = (None, None, False)  # (parameters, local version, fusable)

    def kernel_arrays(self) -> tuple:
        """(registry, beliefs, code, code_source, needs approval, [codify?]) for the kernels;
        also notes whether everyone socializes at one rate."""
        m = self.model
        self._one_rate = self.one_rate()
        needs_approval = m.per_employee("approval_levels") > 0  # by originator
        return (m.ideas.kernel_arrays(), m.beliefs.state(), m.beliefs.code, m.beliefs.code_source,
                needs_approval, np.array([not needs_approval.all()]))

    def fused_arrays(self) -> tuple:
        """(:meth:`kernel_arrays`, (codify_share, p2, p1, gradual)) for the fused step
        (model.organization); only while :meth:`fusable`."""
        p, arrays = self.model.p, self.kernel_arrays()
        p1 = -1.0 if self._one_rate is None else float(self._one_rate)  # (None: not fusable)
        return arrays, (float(p.codify_share), float(p.codification_rate), p1, self.gradual)

    def fusable(self) -> bool:
        """Whether this step runs in one compiled call (:func:`playbook_step`): everyone
        socializes at one rate and the playbook learns from beliefs."""
        m = self.model
        if self._fusable[0] is not m.p or self._fusable[1] != m.local.version:
            ok = m.p.code_learning_basis != "actions" and self.one_rate() is not None
            self._fusable = (m.p, m.local.version, ok)
        return self._fusable[2]

    def _key(self) -> tuple:
        m = self.model
        return m.p, m.local.version, m.roles_version, m.ideas.version

    def codify(self, ideas: np.ndarray) -> None:
        """Sanction ideas and write their beliefs into the playbook."""
        m = self.model
        codify_ideas(m.ideas.kernel_arrays(), np.ascontiguousarray(ideas, np.int64),
                     m.beliefs.code, m.beliefs.code_source, m.steps)

    def codify_widely_used(self) -> None:
        m = self.model
        self._arrays.get(self._key())
        registry, _, code, code_source, needs_approval, codify = self._arrays.arrays
        if codify[0]:
            codify_ideas(registry, widely_used(registry, m.ideas.n, m.p.codify_share,
                                               needs_approval), code, code_source, m.steps)

    def learn_from_best(self) -> None:
        b, p2 = self.model.beliefs, self.model.p.codification_rate
        if p2 <= 0:
            return
        if self.model.p.code_learning_basis != "actions":
            learn_from_superior(self.rng, b.state(), b.code, b.code_source, float(p2))
            return
        plus, minus, superior = self.superior_actions()
        if superior == 0:
            return
        learn_code(plus, minus, b.code, b.code_source, self.rng.random(b.m), float(p2),
                   np.int64(OWN))

    def superior_actions(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Like :func:`superior_beliefs`, on actions: where one holds no belief one acts on a
        coin flip; actions and the playbook are scored as matches minus mismatches."""
        b = self.model.beliefs
        coin = coin_signs(self.rng, b.practice.shape)
        acts = np.where(b.practice != 0, b.practice, coin)
        score = (acts.astype(np.int64) * b.need).sum(axis=1)
        superior = score > int((b.code.astype(np.int64) * b.need).sum())
        chosen = acts[superior]
        return ((chosen == 1).sum(axis=0), (chosen == -1).sum(axis=0), int(superior.sum()))

    @property
    def rates(self) -> np.ndarray:
        """Each employee's socialization rate now: slow learners at
        ``slow_socialization_rate``, everyone else at their per-unit ``socialization_rate``."""
        m = self.model
        rates = m.per_employee("socialization_rate")
        return rates if self.slow is None else np.where(self.slow, m.p.slow_socialization_rate,
                                                        rates)

    def one_rate(self) -> float | None:
        """Everyone's socialization rate if all share one (None: slow learners, or a
        roadmap's per-unit values that differ)."""
        m = self.model
        if self.slow is not None:
            return None
        if "socialization_rate" not in m.local.values:
            return float(m.p.socialization_rate)
        rates = self.rates
        return None if (rates != rates[0]).any() else float(rates[0])

    def socialize(self) -> None:
        """Each learner at their own rate (slow learners, or a roadmap's per-unit values);
        where all share one rate, cell by cell at that rate (the same law, fewer draws)."""
        b, reg = self.model.beliefs, self.model.ideas
        p1 = self.one_rate()
        if p1 is None:
            socialize_by_rate(self.rng, b.state(), b.code, b.code_source, reg.dims, reg.adopters,
                              self.rates, self.gradual)
        elif p1 > 0:
            socialize_cells(self.rng, b.state(), b.code, b.code_source, reg.dims, reg.adopters,
                            p1, self.gradual)

    def step(self) -> None:
        m = self.model
        bundle = self._arrays.get(self._key())
        if self._one_rate is None or m.p.code_learning_basis == "actions":
            self.codify_widely_used()
            self.learn_from_best()
            self.socialize()
            return
        self._step(bundle, self.rng, bundle, m.ideas.n, m.steps, float(m.p.codify_share),
                   float(m.p.codification_rate), self._one_rate, self.gradual)
